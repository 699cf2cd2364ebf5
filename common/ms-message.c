/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-message"

#include "config.h"

#include <string.h>
#include <gmime/gmime.h>

#include "ms-message.h"

static gpointer
init_gmime_once (gpointer data)
{
  g_mime_init ();
  return NULL;
}

void
ms_message_ensure_gmime (void)
{
  static GOnce gmime_once = G_ONCE_INIT;

  g_once (&gmime_once, init_gmime_once, NULL);
}

gsize
ms_message_header_length (const guint8 *data,
                          gsize         len)
{
  gsize i;

  /* A message that starts with an empty line has an empty header. */
  if (len >= 1 && data[0] == '\n')
    return 1;
  if (len >= 2 && data[0] == '\r' && data[1] == '\n')
    return 2;

  for (i = 0; i + 1 < len; i++)
    {
      if (data[i] != '\n')
        continue;
      if (data[i + 1] == '\n')
        return i + 2;
      if (data[i + 1] == '\r' && i + 2 < len && data[i + 2] == '\n')
        return i + 3;
    }

  return len;
}

static char *
make_valid_or_null (const char *text)
{
  if (text == NULL || *text == '\0')
    return NULL;
  return g_utf8_make_valid (text, -1);
}

gboolean
ms_message_summary (const guint8 *data,
                    gsize         len,
                    char        **subject_r,
                    char        **from_r,
                    GDateTime   **date_r)
{
  GMimeStream *stream;
  GMimeParser *parser;
  GMimeMessage *message;
  GByteArray *buffer;
  gsize header_len;

  if (subject_r != NULL)
    *subject_r = NULL;
  if (from_r != NULL)
    *from_r = NULL;
  if (date_r != NULL)
    *date_r = NULL;

  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (len == 0)
    return FALSE;

  ms_message_ensure_gmime ();

  /* Only the header is parsed: a summary of a 50 MB message must not read the
   * body. The copy is bounded by MS_MESSAGE_SUMMARY_MAX_HEADER. */
  header_len = ms_message_header_length (data, MIN (len, MS_MESSAGE_SUMMARY_MAX_HEADER));
  buffer = g_byte_array_sized_new (header_len + 2);
  g_byte_array_append (buffer, data, header_len);
  /* Terminate a header that was cut or had no empty line, so the parser sees
   * the end of the last field rather than an unterminated line. */
  if (header_len == 0 || data[header_len - 1] != '\n')
    g_byte_array_append (buffer, (const guint8 *) "\n", 1);
  g_byte_array_append (buffer, (const guint8 *) "\n", 1);

  /* GMime has no g_autoptr cleanups of its own, so these are released by
   * hand. The stream takes ownership of `buffer`; the parser refs the stream. */
  stream = g_mime_stream_mem_new_with_byte_array (buffer);
  parser = g_mime_parser_new_with_stream (stream);
  g_object_unref (stream);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  message = g_mime_parser_construct_message (parser, NULL);
  g_object_unref (parser);
  if (message == NULL)
    return FALSE;

  if (subject_r != NULL)
    *subject_r = make_valid_or_null (g_mime_message_get_subject (message));

  if (from_r != NULL)
    {
      InternetAddressList *from = g_mime_message_get_from (message);

      if (from != NULL && internet_address_list_length (from) > 0)
        {
          g_autofree char *text = internet_address_list_to_string (from, NULL, FALSE);

          *from_r = make_valid_or_null (text);
        }
    }

  if (date_r != NULL)
    {
      GDateTime *date = g_mime_message_get_date (message);

      if (date != NULL)
        *date_r = g_date_time_ref (date);
    }

  g_object_unref (message);
  return TRUE;
}
