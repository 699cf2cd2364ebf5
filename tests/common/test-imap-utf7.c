/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ms-imap-utf7.h"

/* Mailbox names in modified UTF-7 (RFC 3501 §5.1.3). The encoded forms
 * below were worked out by hand from UTF-16BE and RFC 2045 BASE64 with ','
 * for '/' and no padding. */

typedef struct {
  const char *utf8;
  const char *utf7;
} RoundTrip;

static const RoundTrip round_trips[] = {
  { "", "" },
  { "INBOX", "INBOX" },
  { "Sent Items/2024 ~!#$%'()*+,-./:;<=>?@[\\]^_`{|}",
    "Sent Items/2024 ~!#$%'()*+,-./:;<=>?@[\\]^_`{|}" },
  { "&", "&-" },
  { "R&D & co", "R&-D &- co" },
  { "Entw\xc3\xbcrfe", "Entw&APw-rfe" },
  { "Bo\xc3\xaete d'envoi", "Bo&AO4-te d'envoi" },
  { "\xc3\xa4\xc3\xa4", "&AOQA5A-" },
  { "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "&ZeVnLIqe-" },
  /* U+1F600 needs the surrogate pair D83D DE00. */
  { "\xf0\x9f\x98\x80", "&2D3eAA-" },
  { "x\xf0\x9f\x98\x80y\xe2\x82\xacz", "x&2D3eAA-y&IKw-z" },
  { "a\xe6\x97\xa5" "b&c", "a&ZeU-b&-c" },
  /* Controls are not printable, so they go in BASE64 too. */
  { "\x01", "&AAE-" },
  { "tab\there", "tab&AAk-here" },
  /* RFC 3501 §5.1.3's example. */
  { "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
    "~peter/mail/&U,BTFw-/&ZeVnLIqe-" },
};

static void
test_round_trip (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (round_trips); i++)
    {
      g_autofree char *encoded = ms_imap_utf7_encode (round_trips[i].utf8);
      g_autofree char *decoded = ms_imap_utf7_decode (round_trips[i].utf7);
      g_autofree char *again = NULL;

      g_test_message ("case %u: %s", i, round_trips[i].utf7);
      g_assert_cmpstr (encoded, ==, round_trips[i].utf7);
      g_assert_cmpstr (decoded, ==, round_trips[i].utf8);
      again = ms_imap_utf7_decode (encoded);
      g_assert_cmpstr (again, ==, round_trips[i].utf8);
    }
}

static void
test_encode_invalid_utf8 (void)
{
  static const char * const bad[] = {
    "caf\xe9",                /* Latin-1 */
    "\xc3",                   /* cut short */
    "\xed\xa0\xbd",           /* a surrogate written as UTF-8 */
    "\xc0\xaf",               /* overlong */
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *encoded = ms_imap_utf7_encode (bad[i]);

      g_assert_null (encoded);
    }
}

/* Every form the header calls invalid. */
static void
test_decode_invalid (void)
{
  static const char * const bad[] = {
    /* A byte outside 0x20..0x7E. */
    "a\tb",
    "a\x7f",
    "caf\xc3\xa9",
    "\x01",
    /* An unterminated run. */
    "&",
    "a&",
    "&ZeVnLIqe",
    "&ZeVnLIqe&-",
    /* Bad BASE64: '/' is not modified BASE64, '=' padding is not used. */
    "&Ze/nLIqe-",
    "&APw=-",
    "&AP w-",
    "&AP*-",
    /* A run that encodes printable ASCII: 'a', '&', ' ', '~'. */
    "&AGE-",
    "&ACY-",
    "&ACA-",
    "&AH4-",
    "&APwAYQ-",
    /* Nonzero padding bits ("APw" is U+00FC with two zero bits). */
    "&APx-",
    "&APz-",
    /* A character too many: six or more bits left over. */
    "&APwA-",
    "&A-",
    "&AP-",
    /* Unpaired surrogates: high alone, low alone, high before a non-low. */
    "&2D0-",
    "&3gA-",
    "&2D0A5A-",
    "&3gDYPQ-",
    /* NUL. */
    "&AAA-",
    /* Two runs back to back: the one spelling is "&AOQA5A-". */
    "&AOQ-&AOQ-",
    "&2D0-&3gA-",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *decoded = ms_imap_utf7_decode (bad[i]);

      g_test_message ("case %u: %s", i, bad[i]);
      g_assert_null (decoded);
    }
}

/* Runs separated by printable text, and "&-" next to a run, are fine. */
static void
test_decode_adjacent (void)
{
  g_autofree char *a = ms_imap_utf7_decode ("&AOQ-x&AOQ-");
  g_autofree char *b = ms_imap_utf7_decode ("&AOQ-&-&AOQ-");
  g_autofree char *c = ms_imap_utf7_decode ("&-&-");

  g_assert_cmpstr (a, ==, "\xc3\xa4x\xc3\xa4");
  g_assert_cmpstr (b, ==, "\xc3\xa4&\xc3\xa4");
  g_assert_cmpstr (c, ==, "&&");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/common/imap-utf7/round-trip", test_round_trip);
  g_test_add_func ("/common/imap-utf7/encode-invalid-utf8", test_encode_invalid_utf8);
  g_test_add_func ("/common/imap-utf7/decode-invalid", test_decode_invalid);
  g_test_add_func ("/common/imap-utf7/decode-adjacent", test_decode_adjacent);

  return g_test_run ();
}
