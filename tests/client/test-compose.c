/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-compose"

#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <gmime/gmime.h>

#include "ms-compose.h"

typedef struct {
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture *f,
                gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("ms-compose-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *f,
                   gconstpointer data)
{
  g_autoptr(GDir) dir = g_dir_open (f->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (f->dir, name, NULL);
      g_unlink (path);
    }
  g_rmdir (f->dir);
  g_free (f->dir);
}

static char *
write_file (Fixture *f,
            const char *name,
            const void *data,
            gsize len)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (f->dir, name, NULL);

  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

static GMimeMessage *
parse_message (GBytes *bytes)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (data, len);
  GMimeParser *parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);

  g_object_unref (parser);
  g_object_unref (stream);
  g_assert_nonnull (message);
  return message;
}

/* RFC 5322 §2.1: every line ends in CRLF; no bare CR or LF anywhere. */
static void
assert_crlf_only (GBytes *bytes)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (bytes, &len);

  g_assert_cmpuint (len, >, 2);
  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\n')
        g_assert_cmpint (i > 0 && data[i - 1] == '\r', ==, TRUE);
      if (data[i] == '\r')
        g_assert_cmpint (i + 1 < len && data[i + 1] == '\n', ==, TRUE);
    }
  g_assert_cmpint (data[len - 2], ==, '\r');
  g_assert_cmpint (data[len - 1], ==, '\n');
}

/* The decoded text with LF line ends: a quoted-printable decoder may turn
 * the wire's CRLF into LF (RFC 2045 §6.7 rule 4 leaves that to the system). */
static char *
text_part_text (GMimeObject *part)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_true (GMIME_IS_TEXT_PART (part));
  text = g_mime_text_part_get_text (GMIME_TEXT_PART (part));
  lines = g_strsplit (text, "\r\n", -1);
  return g_strjoinv ("\n", lines);
}

static GBytes *
part_bytes (GMimePart *part)
{
  GMimeDataWrapper *wrapper = g_mime_part_get_content (part);
  GMimeStream *stream = g_mime_stream_mem_new ();
  GByteArray *array;
  GBytes *bytes;

  g_mime_data_wrapper_write_to_stream (wrapper, stream);
  array = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (stream));
  bytes = g_bytes_new (array->data, array->len);
  g_object_unref (stream);
  return bytes;
}

static void
assert_mime_type (GMimeObject *object,
                  const char *expected)
{
  /* g_mime_content_type_get_mime_type() returns a new string. */
  g_autofree char *mime_type = g_mime_content_type_get_mime_type (g_mime_object_get_content_type (object));

  g_assert_cmpstr (mime_type, ==, expected);
}

static void
assert_address (GMimeMessage *message,
                GMimeAddressType type,
                guint index,
                const char *expected_addr)
{
  InternetAddressList *list = g_mime_message_get_addresses (message, type);
  InternetAddress *address;

  g_assert_cmpint (internet_address_list_length (list), >, (int) index);
  address = internet_address_list_get_address (list, (int) index);
  g_assert_true (INTERNET_ADDRESS_IS_MAILBOX (address));
  g_assert_cmpstr (internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address)), ==, expected_addr);
}

static void
test_plain_text (Fixture *f,
                 gconstpointer data)
{
  static const char * const to[] = { "bob@beta.test", NULL };
  MsComposeParams params = {
    .from = "Alice <alice@alpha.test>",
    .to = to,
    .subject = "Hello",
    .body = "Hi Bob,\n.a line with a dot\nBye\n",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = ms_compose_message (&params, &error);
  GMimeMessage *message;
  GMimeObject *body;
  g_autofree char *text = NULL;
  const char *id;

  g_assert_no_error (error);
  assert_crlf_only (bytes);
  message = parse_message (bytes);

  assert_address (message, GMIME_ADDRESS_TYPE_FROM, 0, "alice@alpha.test");
  assert_address (message, GMIME_ADDRESS_TYPE_TO, 0, "bob@beta.test");
  g_assert_cmpint (internet_address_list_length (g_mime_message_get_addresses (message, GMIME_ADDRESS_TYPE_CC)), ==, 0);
  g_assert_cmpstr (g_mime_message_get_subject (message), ==, "Hello");
  g_assert_nonnull (g_mime_message_get_date (message));
  id = g_mime_message_get_message_id (message);
  g_assert_nonnull (id);
  g_assert_true (g_str_has_suffix (id, "@alpha.test"));
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "MIME-Version"), ==, "1.0");

  /* Without attachments the body is the text part itself. */
  body = g_mime_message_get_mime_part (message);
  g_assert_true (GMIME_IS_TEXT_PART (body));
  assert_mime_type (body, "text/plain");
  text = text_part_text (body);
  g_assert_cmpstr (text, ==, "Hi Bob,\n.a line with a dot\nBye\n");
  g_object_unref (message);
}

static void
test_utf8 (Fixture *f,
           gconstpointer data)
{
  static const char * const to[] = { "bob@beta.test", "Dave <dave@beta.test>", NULL };
  static const char * const cc[] = { "carol@alpha.test", NULL };
  MsComposeParams params = {
    .from = "alice@alpha.test",
    .to = to,
    .cc = cc,
    .subject = "Grüße aus Zürich",
    .body = "Schöne Grüße\r\n— Alice\r\n",
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = ms_compose_message (&params, &error);
  GMimeMessage *message;
  GMimeObject *body;
  g_autofree char *text = NULL;
  gsize len = 0;
  const guint8 *raw;

  g_assert_no_error (error);
  assert_crlf_only (bytes);
  /* RFC 2047 / RFC 2045: 7-bit on the wire. */
  raw = g_bytes_get_data (bytes, &len);
  for (gsize i = 0; i < len; i++)
    g_assert_cmpuint (raw[i], <, 0x80);

  message = parse_message (bytes);
  assert_address (message, GMIME_ADDRESS_TYPE_TO, 0, "bob@beta.test");
  assert_address (message, GMIME_ADDRESS_TYPE_TO, 1, "dave@beta.test");
  assert_address (message, GMIME_ADDRESS_TYPE_CC, 0, "carol@alpha.test");
  g_assert_cmpstr (g_mime_message_get_subject (message), ==, "Grüße aus Zürich");
  body = g_mime_message_get_mime_part (message);
  g_assert_cmpstr (g_mime_object_get_content_type_parameter (body, "charset"), ==, "utf-8");
  text = text_part_text (body);
  g_assert_cmpstr (text, ==, "Schöne Grüße\n— Alice\n");
  g_object_unref (message);
}

static void
test_attachments (Fixture *f,
                  gconstpointer data)
{
  static const guint8 binary[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 0x0d, 0xff, '\r', 0 };
  static const char notes[] = "line one\nline two\r\nbare\rcr\n";
  g_autofree char *png_path = write_file (f, "picture.png", binary, sizeof binary);
  g_autofree char *txt_path = write_file (f, "notes.txt", notes, strlen (notes));
  static const char * const to[] = { "bob@beta.test", NULL };
  const char *attachments[] = { png_path, txt_path, NULL };
  MsComposeParams params = {
    .from = "alice@alpha.test",
    .to = to,
    .subject = "Files",
    .body = "See attached.",
    .attachments = attachments,
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = ms_compose_message (&params, &error);
  GMimeMessage *message;
  GMimeObject *body;
  GMimeMultipart *multipart;
  GMimeObject *part;
  g_autofree char *text = NULL;
  g_autoptr(GBytes) png_bytes = NULL;
  g_autoptr(GBytes) txt_bytes = NULL;

  g_assert_no_error (error);
  assert_crlf_only (bytes);
  message = parse_message (bytes);
  body = g_mime_message_get_mime_part (message);
  g_assert_true (GMIME_IS_MULTIPART (body));
  assert_mime_type (body, "multipart/mixed");
  multipart = GMIME_MULTIPART (body);
  g_assert_cmpint (g_mime_multipart_get_count (multipart), ==, 3);

  part = g_mime_multipart_get_part (multipart, 0);
  g_assert_true (GMIME_IS_TEXT_PART (part));
  text = text_part_text (part);
  g_assert_cmpstr (text, ==, "See attached.");

  part = g_mime_multipart_get_part (multipart, 1);
  g_assert_true (GMIME_IS_PART (part));
  assert_mime_type (part, "image/png");
  g_assert_cmpstr (g_mime_part_get_filename (GMIME_PART (part)), ==, "picture.png");
  g_assert_cmpstr (g_mime_object_get_disposition (part), ==, "attachment");
  g_assert_cmpint (g_mime_part_get_content_encoding (GMIME_PART (part)), ==, GMIME_CONTENT_ENCODING_BASE64);
  png_bytes = part_bytes (GMIME_PART (part));
  g_assert_cmpmem (g_bytes_get_data (png_bytes, NULL), g_bytes_get_size (png_bytes), binary, sizeof binary);

  part = g_mime_multipart_get_part (multipart, 2);
  assert_mime_type (part, "text/plain");
  g_assert_cmpstr (g_mime_part_get_filename (GMIME_PART (part)), ==, "notes.txt");
  g_assert_cmpint (g_mime_part_get_content_encoding (GMIME_PART (part)), ==, GMIME_CONTENT_ENCODING_BASE64);
  /* Base64 keeps the file's own line ends, bare CR included. */
  txt_bytes = part_bytes (GMIME_PART (part));
  g_assert_cmpmem (g_bytes_get_data (txt_bytes, NULL), g_bytes_get_size (txt_bytes), notes, strlen (notes));
  g_object_unref (message);
}

static void
test_errors (Fixture *f,
             gconstpointer data)
{
  static const char * const to[] = { "bob@beta.test", NULL };
  static const char * const bad_to[] = { "", NULL };
  g_autofree char *missing = g_build_filename (f->dir, "missing.bin", NULL);
  const char *attachments[] = { missing, NULL };
  g_autoptr(GError) error = NULL;
  GBytes *bytes;
  MsComposeParams params = { .from = "alice@alpha.test", .to = bad_to, .body = "x" };

  bytes = ms_compose_message (&params, &error);
  g_assert_null (bytes);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  params.to = to;
  params.body = "\xff\xfe not UTF-8";
  bytes = ms_compose_message (&params, &error);
  g_assert_null (bytes);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  params.body = "x";
  params.attachments = attachments;
  bytes = ms_compose_message (&params, &error);
  g_assert_null (bytes);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

  g_test_add ("/client/compose/plain-text", Fixture, NULL, fixture_set_up, test_plain_text, fixture_tear_down);
  g_test_add ("/client/compose/utf8", Fixture, NULL, fixture_set_up, test_utf8, fixture_tear_down);
  g_test_add ("/client/compose/attachments", Fixture, NULL, fixture_set_up, test_attachments, fixture_tear_down);
  g_test_add ("/client/compose/errors", Fixture, NULL, fixture_set_up, test_errors, fixture_tear_down);

  return g_test_run ();
}
