/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-compose"

#include "config.h"

#include <string.h>
#include <gmime/gmime.h>

#include "ms-compose.h"

/* GMime 3.2 declares no autoptr cleanups of its own. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMessage, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeObject, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimePart, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeTextPart, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeMultipart, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeStream, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GMimeDataWrapper, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (InternetAddressList, g_object_unref)

static void
ensure_gmime (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      g_mime_init ();
      g_once_init_leave (&initialised, 1);
    }
}

/* Parses `text` (one or more RFC 5322 addresses) and appends them. */
static gboolean
add_addresses (GMimeMessage *message,
               GMimeAddressType type,
               const char *text,
               GError **error)
{
  g_autoptr(InternetAddressList) parsed = internet_address_list_parse (NULL, text);

  if (parsed == NULL || internet_address_list_length (parsed) == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "\"%s\" is not an e-mail address", text);
      return FALSE;
    }
  internet_address_list_append (g_mime_message_get_addresses (message, type), parsed);
  return TRUE;
}

/* The domain of the first From mailbox, for the Message-ID (RFC 5322
 * §3.6.4 asks for a right side that makes the id unique). */
static char *
sender_domain (GMimeMessage *message)
{
  InternetAddressList *from = g_mime_message_get_addresses (message, GMIME_ADDRESS_TYPE_FROM);
  InternetAddress *first = internet_address_list_get_address (from, 0);
  const char *at;

  if (INTERNET_ADDRESS_IS_MAILBOX (first))
    {
      const char *addr = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (first));
      at = addr ? strrchr (addr, '@') : NULL;
      if (at != NULL && at[1] != '\0')
        return g_strdup (at + 1);
    }
  return g_strdup ("localhost");
}

/* Text with LF line ends: the final pass makes every line end CRLF, and a
 * CR left in the text would be quoted-printable encoded as "=0D". */
static char *
text_with_lf (const char *text)
{
  GString *out = g_string_sized_new (strlen (text));

  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '\r')
        {
          g_string_append_c (out, '\n');
          if (p[1] == '\n')
            p++;
        }
      else
        g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

static GMimeObject *
text_part_new (const char *body)
{
  g_autofree char *text = text_with_lf (body ? body : "");
  g_autoptr(GMimeTextPart) part = g_mime_text_part_new_with_subtype ("plain");
  g_autoptr(GMimeStream) stream = g_mime_stream_mem_new_with_buffer (text, strlen (text));
  g_autoptr(GMimeDataWrapper) content = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);

  g_mime_part_set_content (GMIME_PART (part), content);
  g_mime_text_part_set_charset (part, "utf-8");
  /* RFC 5321 §2.4: 7-bit is safe with every server, so 8-bit text goes
   * quoted-printable (or base64 when that is shorter). */
  g_mime_part_set_content_encoding (GMIME_PART (part),
                                    g_mime_part_get_best_content_encoding (GMIME_PART (part),
                                                                           GMIME_ENCODING_CONSTRAINT_7BIT));
  return GMIME_OBJECT (g_steal_pointer (&part));
}

static GMimeObject *
attachment_part_new (const char *path,
                     GError **error)
{
  g_autofree char *contents = NULL;
  gsize len = 0;
  g_autofree char *basename = g_path_get_basename (path);
  g_autofree char *content_type = NULL;
  g_autofree char *mime_type = NULL;
  g_auto(GStrv) type_parts = NULL;
  g_autoptr(GMimePart) part = NULL;
  g_autoptr(GMimeStream) stream = NULL;
  g_autoptr(GMimeDataWrapper) content = NULL;

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;

  content_type = g_content_type_guess (basename, (const guchar *) contents, len, NULL);
  mime_type = content_type ? g_content_type_get_mime_type (content_type) : NULL;
  if (mime_type == NULL || strchr (mime_type, '/') == NULL)
    {
      g_free (mime_type);
      mime_type = g_strdup ("application/octet-stream");
    }
  type_parts = g_strsplit (mime_type, "/", 2);

  part = g_mime_part_new_with_type (type_parts[0], type_parts[1]);
  stream = g_mime_stream_mem_new_with_buffer (contents, len);
  content = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);
  g_mime_part_set_content (part, content);
  g_mime_object_set_disposition (GMIME_OBJECT (part), GMIME_DISPOSITION_ATTACHMENT);
  g_mime_part_set_filename (part, basename);
  /* Base64 for every file, text or not: its bytes arrive unchanged
   * (RFC 2045 §6.8), even bare CRs and lines over 998 octets. */
  g_mime_part_set_content_encoding (part, GMIME_CONTENT_ENCODING_BASE64);
  return GMIME_OBJECT (g_steal_pointer (&part));
}

/* RFC 5322 §2.1 and RFC 5321 §2.3.8: lines end in CRLF on the wire. */
static GBytes *
bytes_with_crlf (const guint8 *data,
                 gsize len)
{
  GByteArray *out = g_byte_array_sized_new (len + len / 32 + 2);

  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
        g_byte_array_append (out, (const guint8 *) "\r", 1);
      g_byte_array_append (out, &data[i], 1);
    }
  return g_byte_array_free_to_bytes (out);
}

GBytes *
ms_compose_message (const MsComposeParams *params,
                    GError **error)
{
  g_autoptr(GMimeMessage) message = NULL;
  g_autoptr(GMimeObject) body = NULL;
  g_autoptr(GDateTime) now = NULL;
  g_autofree char *domain = NULL;
  g_autofree char *message_id = NULL;
  g_autoptr(GMimeStream) stream = NULL;
  GByteArray *array;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (params->from != NULL, NULL);
  g_return_val_if_fail (params->to != NULL && params->to[0] != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ensure_gmime ();

  if ((params->subject && !g_utf8_validate (params->subject, -1, NULL)) ||
      (params->body && !g_utf8_validate (params->body, -1, NULL)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the subject and the body must be UTF-8 text");
      return NULL;
    }

  message = g_mime_message_new (TRUE);
  if (!add_addresses (message, GMIME_ADDRESS_TYPE_FROM, params->from, error))
    return NULL;
  for (guint i = 0; params->to[i] != NULL; i++)
    if (!add_addresses (message, GMIME_ADDRESS_TYPE_TO, params->to[i], error))
      return NULL;
  for (guint i = 0; params->cc != NULL && params->cc[i] != NULL; i++)
    if (!add_addresses (message, GMIME_ADDRESS_TYPE_CC, params->cc[i], error))
      return NULL;
  if (params->subject != NULL)
    g_mime_message_set_subject (message, params->subject, "utf-8");

  /* RFC 5322 §3.6: Date and From are required; Message-ID should be there. */
  now = g_date_time_new_now_local ();
  g_mime_message_set_date (message, now);
  domain = sender_domain (message);
  message_id = g_mime_utils_generate_message_id (domain);
  g_mime_message_set_message_id (message, message_id);

  if (params->attachments != NULL && params->attachments[0] != NULL)
    {
      g_autoptr(GMimeMultipart) mixed = g_mime_multipart_new_with_subtype ("mixed");
      g_autoptr(GMimeObject) text = text_part_new (params->body);

      g_mime_multipart_add (mixed, text);
      for (guint i = 0; params->attachments[i] != NULL; i++)
        {
          g_autoptr(GMimeObject) attachment = attachment_part_new (params->attachments[i], error);

          if (attachment == NULL)
            return NULL;
          g_mime_multipart_add (mixed, attachment);
        }
      body = GMIME_OBJECT (g_steal_pointer (&mixed));
    }
  else
    body = text_part_new (params->body);
  g_mime_message_set_mime_part (message, body);
  /* RFC 2045 §4: a MIME message says so. */
  g_mime_object_set_header (GMIME_OBJECT (message), "MIME-Version", "1.0", NULL);

  stream = g_mime_stream_mem_new ();
  if (g_mime_object_write_to_stream (GMIME_OBJECT (message), NULL, stream) < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot write the message");
      return NULL;
    }
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  return bytes_with_crlf (array->data, array->len);
}
