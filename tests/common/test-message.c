/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-message"

#include "config.h"

#include <string.h>

#include "ms-message.h"

typedef struct {
  const char *name;
  const char *input;
  gssize input_len;             /* -1: strlen */
  gboolean ok;
  const char *subject;
  const char *from;
  gint64 date_unix;             /* 0: no date expected */
} SummaryCase;

static const SummaryCase summary_cases[] = {
  { "plain",
    "From: Alice <alice@alpha.test>\r\nTo: bob@beta.test\r\nSubject: Hello Bob\r\n"
    "Date: Sun, 22 Nov 2026 10:00:00 +0000\r\n\r\nBody line\r\n", -1,
    TRUE, "Hello Bob", "Alice <alice@alpha.test>", 1795341600 },
  { "lf-only",
    "Subject: Lunch\nFrom: carol@alpha.test\n\nbody\n", -1,
    TRUE, "Lunch", "carol@alpha.test", 0 },
  /* RFC 2047 section 4.1 (B) and 4.2 (Q) encoded-words. */
  { "encoded-word-b",
    "Subject: =?UTF-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\nFrom: a@b.test\r\n\r\n", -1,
    TRUE, "Grüße aus Köln", "a@b.test", 0 },
  { "encoded-word-q-latin1",
    "Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?=\r\n\r\n", -1,
    TRUE, "Café crème", NULL, 0 },
  { "encoded-display-name",
    "From: =?UTF-8?Q?Bj=C3=B6rn?= <bjorn@beta.test>\r\n\r\n", -1,
    TRUE, NULL, "Björn <bjorn@beta.test>", 0 },
  /* RFC 5322 section 2.2.3: a folded field is unfolded. */
  { "folded-subject",
    "Subject: part one\r\n part two\r\n\r\n", -1,
    TRUE, "part one part two", NULL, 0 },
  { "two-from-addresses",
    "From: a@x.test, \"B, Bee\" <b@x.test>\r\n\r\n", -1,
    TRUE, NULL, "a@x.test, \"B, Bee\" <b@x.test>", 0 },
  { "no-header",
    "\r\nJust a body, no header at all\r\n", -1,
    TRUE, NULL, NULL, 0 },
  { "no-body-no-empty-line",
    "Subject: cut short", -1,
    TRUE, "cut short", NULL, 0 },
  { "bad-date",
    "Date: yesterday-ish\r\nSubject: x\r\n\r\n", -1,
    TRUE, "x", NULL, 0 },
  { "empty-input", "", 0, FALSE, NULL, NULL, 0 },
  { "garbage",
    "\xff\xfe\x00\x01\x80\x81:\x00\r\n\x1b[31m\xc3\x28\n\n", 16,
    FALSE, NULL, NULL, 0 },
  { "raw-8bit-subject",
    "Subject: caf\xe9 \xff\r\n\r\n", -1,
    TRUE, NULL /* checked only for valid UTF-8 */, NULL, 0 },
};

static void
test_summary_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (summary_cases); i++)
    {
      const SummaryCase *c = &summary_cases[i];
      gsize len = c->input_len < 0 ? strlen (c->input) : (gsize) c->input_len;
      g_autofree char *subject = NULL;
      g_autofree char *from = NULL;
      g_autoptr(GDateTime) date = NULL;
      gboolean ok;

      g_test_message ("case %s", c->name);
      ok = ms_message_summary ((const guint8 *) c->input, len, &subject, &from, &date);

      if (c->ok)
        g_assert_true (ok);
      else
        g_assert_false (ok);

      if (g_str_equal (c->name, "raw-8bit-subject"))
        {
          g_assert_nonnull (subject);
          g_assert_true (g_utf8_validate (subject, -1, NULL));
          g_assert_true (g_str_has_prefix (subject, "caf"));
        }
      else
        g_assert_cmpstr (subject, ==, c->subject);
      g_assert_cmpstr (from, ==, c->from);

      if (subject != NULL)
        g_assert_true (g_utf8_validate (subject, -1, NULL));
      if (from != NULL)
        g_assert_true (g_utf8_validate (from, -1, NULL));

      if (c->date_unix != 0)
        {
          g_assert_nonnull (date);
          g_assert_cmpint (g_date_time_to_unix (date), ==, c->date_unix);
        }
      else
        g_assert_null (date);
    }
}

static void
test_summary_null_out_params (void)
{
  static const char msg[] = "Subject: s\r\nFrom: f@x.test\r\n\r\nbody";
  g_autofree char *from = NULL;

  g_assert_true (ms_message_summary ((const guint8 *) msg, strlen (msg), NULL, NULL, NULL));
  g_assert_true (ms_message_summary ((const guint8 *) msg, strlen (msg), NULL, &from, NULL));
  g_assert_cmpstr (from, ==, "f@x.test");
}

static void
test_summary_ignores_body (void)
{
  /* A Subject in the body must not be taken for the header's. */
  static const char msg[] = "From: f@x.test\r\n\r\nSubject: not a header\r\n";
  g_autofree char *subject = NULL;

  g_assert_true (ms_message_summary ((const guint8 *) msg, strlen (msg), &subject, NULL, NULL));
  g_assert_null (subject);
}

static void
test_summary_huge_header (void)
{
  g_autoptr(GString) msg = g_string_new ("Subject: big\r\n");
  g_autofree char *subject = NULL;

  g_test_summary ("A header longer than the limit is cut, not parsed whole.");
  while (msg->len < MS_MESSAGE_SUMMARY_MAX_HEADER * 2)
    g_string_append (msg, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
  g_string_append (msg, "\r\nbody\r\n");

  g_assert_true (ms_message_summary ((const guint8 *) msg->str, msg->len, &subject, NULL, NULL));
  g_assert_cmpstr (subject, ==, "big");
}

static void
test_summary_random_bytes (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (1234);

  g_test_summary ("Random bytes never crash and give valid UTF-8 or NULL.");
  for (guint round = 0; round < 500; round++)
    {
      guint8 buf[512];
      gsize len = g_rand_int_range (rand, 1, sizeof buf);
      g_autofree char *subject = NULL;
      g_autofree char *from = NULL;
      g_autoptr(GDateTime) date = NULL;

      for (gsize i = 0; i < len; i++)
        {
          /* Bias towards header-ish bytes so the parser gets somewhere. */
          static const char alphabet[] = "Subject:From=?UTF-8?B?Q?<>@,\"\r\n \t";
          guint32 r = g_rand_int (rand);

          buf[i] = (r & 1) ? (guint8) (r >> 8) : (guint8) alphabet[(r >> 8) % (sizeof alphabet - 1)];
        }

      ms_message_summary (buf, len, &subject, &from, &date);
      if (subject != NULL)
        g_assert_true (g_utf8_validate (subject, -1, NULL));
      if (from != NULL)
        g_assert_true (g_utf8_validate (from, -1, NULL));
    }
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/common/message/summary/table", test_summary_table);
  g_test_add_func ("/common/message/summary/null-out-params", test_summary_null_out_params);
  g_test_add_func ("/common/message/summary/ignores-body", test_summary_ignores_body);
  g_test_add_func ("/common/message/summary/huge-header", test_summary_huge_header);
  g_test_add_func ("/common/message/summary/random-bytes", test_summary_random_bytes);

  return g_test_run ();
}
