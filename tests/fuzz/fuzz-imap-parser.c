/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-imap-parser.h"
#include "ms-imap-utf7.h"

/* Fuzz target for the IMAP command parser: the input is one whole command
 * as the session gathers it (literal bytes included, no final CRLF). The
 * same bytes, cut at the first NUL, also go to the sequence-set, date and
 * modified UTF-7 parsers. Built for libFuzzer with -Dfuzzing=true, and as a
 * plain program that replays files (tests/fuzz/corpus) in the test suite. */

static void
check_arg (const MsImapArg *arg,
           guint depth,
           const MsImapLimits *limits)
{
  g_assert (depth <= limits->max_depth);
  switch (arg->type)
    {
    case MS_IMAP_ARG_ATOM:
      /* Atoms never hold NUL, 8-bit bytes or spaces outside a section. */
      g_assert (arg->len > 0 && strlen (arg->data) == arg->len);
      for (gsize i = 0; i < arg->len; i++)
        g_assert ((guchar) arg->data[i] >= 0x20 && (guchar) arg->data[i] < 0x7f);
      g_assert (ms_imap_arg_astring (arg) == arg->data);
      {
        guint32 number;

        (void) ms_imap_arg_number (arg, &number);
      }
      break;
    case MS_IMAP_ARG_STRING:
      g_assert (arg->data != NULL && arg->data[arg->len] == '\0');
      if (!arg->literal)
        g_assert (memchr (arg->data, '\r', arg->len) == NULL &&
                  memchr (arg->data, '\n', arg->len) == NULL &&
                  strlen (arg->data) == arg->len);
      break;
    case MS_IMAP_ARG_NIL:
      g_assert (arg->data == NULL && ms_imap_arg_astring (arg) == NULL);
      break;
    case MS_IMAP_ARG_LIST:
      g_assert (arg->children != NULL);
      for (guint i = 0; i < arg->children->len; i++)
        check_arg (g_ptr_array_index (arg->children, i), depth + 1, limits);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* What the server would write back for a string reads as the same string. */
static void
check_append (const char *text,
              gsize len)
{
  g_autoptr(GString) line = g_string_new ("t X ");
  g_autoptr(MsImapCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  const MsImapArg *arg;

  ms_imap_append_string (line, text, len);
  command = ms_imap_parse_command (line->str, line->len, NULL, NULL, &error);
  g_assert (command != NULL && command->args->len == 1);
  arg = g_ptr_array_index (command->args, 0);
  g_assert (arg->type == MS_IMAP_ARG_STRING && arg->len == len);
  g_assert (memcmp (arg->data, text, len) == 0);
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t size)
{
  g_autoptr(MsImapCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) ranges = NULL;
  g_autofree char *tag = NULL;
  g_autofree char *exact = g_memdup2 (data, size);
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_autofree char *decoded = NULL;
  MsImapLimits limits;
  guint64 literal_size;
  gboolean nonsync;
  gint64 time;

  /* Small limits, so the fuzzer reaches them. */
  ms_imap_limits_init (&limits);
  limits.max_depth = 4;
  limits.max_args = 64;
  limits.max_tag = 16;

  /* An exact-size copy, so a read past `size` trips ASan. */
  command = ms_imap_parse_command (size > 0 ? exact : "", size, &limits, &tag, &error);
  if (command != NULL)
    {
      g_assert (error == NULL && tag == NULL);
      g_assert (command->tag[0] != '\0' && strlen (command->tag) <= limits.max_tag);
      g_assert (command->verb[0] != '\0');
      g_assert (command->args->len <= limits.max_args);
      for (guint i = 0; i < command->args->len; i++)
        check_arg (g_ptr_array_index (command->args, i), 0, &limits);
    }
  else
    {
      g_assert (error != NULL && error->domain == MS_IMAP_PARSE_ERROR);
      g_assert ((tag == NULL) == (error->code == MS_IMAP_PARSE_ERROR_BAD_TAG));
    }
  if (ms_imap_line_literal (size > 0 ? exact : "", size, &literal_size, &nonsync))
    g_assert (size > 0 && exact[size - 1] == '}');

  ranges = ms_imap_parse_sequence_set (text, 1000, 16);
  if (ranges != NULL)
    {
      g_assert (ranges->len > 0 && ranges->len <= 16);
      g_assert (ms_imap_sequence_set_contains (ranges,
                                               g_array_index (ranges, MsImapRange, 0).max));
    }

  /* A date-time read back from its formatted form gives the same time. */
  if (ms_imap_parse_date_time (text, &time))
    {
      g_autofree char *formatted = ms_imap_format_date_time (time);
      gint64 again;

      g_assert (ms_imap_parse_date_time (formatted, &again) && again == time);
    }
  (void) ms_imap_parse_date (text, &time);

  /* One name, one spelling: a decoded name encodes back to the input. */
  decoded = ms_imap_utf7_decode (text);
  if (decoded != NULL)
    {
      g_autofree char *encoded = ms_imap_utf7_encode (decoded);

      g_assert (g_utf8_validate (decoded, -1, NULL));
      g_assert (g_strcmp0 (encoded, text) == 0);
    }
  else if (g_utf8_validate (text, -1, NULL))
    {
      g_autofree char *encoded = ms_imap_utf7_encode (text);
      g_autofree char *back = ms_imap_utf7_decode (encoded);

      g_assert (g_strcmp0 (back, text) == 0);
    }

  check_append (size > 0 ? exact : "", size);
  return 0;
}
