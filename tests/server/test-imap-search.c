/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ms-imap-parser.h"
#include "ms-imap-search.h"
#include "ms-imap-session.h"
#include "ms-store.h"
#include "ms-test-util.h"

/* ---- Compiling ---- */

typedef enum {
  COMPILES,
  PARSE_FAILS,          /* ms_imap_parse_command() refuses it already */
  SYNTAX,
  BADCHARSET,
  LIMIT,
} Outcome;

typedef struct {
  const char *criteria;
  Outcome outcome;
} CompileCase;

/* Parses "t SEARCH <criteria>" with the real parser and compiles its
 * arguments; *outcome_r says how far it got. */
static MsImapSearch *
compile_criteria (const char *criteria,
                  guint32 max_seq,
                  guint32 max_uid,
                  Outcome *outcome_r,
                  GError **error)
{
  g_autofree char *line = g_strdup_printf ("t SEARCH%s%s", *criteria != '\0' ? " " : "",
                                           criteria);
  g_autoptr(MsImapCommand) command = NULL;
  g_autofree char *tag = NULL;
  g_autoptr(GError) parse_error = NULL;
  MsImapSearch *search;

  command = ms_imap_parse_command (line, strlen (line), NULL, &tag, &parse_error);
  if (command == NULL)
    {
      *outcome_r = PARSE_FAILS;
      return NULL;
    }
  search = ms_imap_search_compile (command->args, 0, max_seq, max_uid, error);
  if (search != NULL)
    *outcome_r = COMPILES;
  else if (g_error_matches (*error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_BADCHARSET))
    *outcome_r = BADCHARSET;
  else if (g_error_matches (*error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_LIMIT))
    *outcome_r = LIMIT;
  else
    {
      g_assert_error (*error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX);
      *outcome_r = SYNTAX;
    }
  return search;
}

static const CompileCase compile_cases[] = {
  { "ALL", COMPILES },
  { "seen unseen Flagged", COMPILES },
  { "1:*", COMPILES },
  { "*", COMPILES },
  { "2,4:3,7", COMPILES },
  { "UID 1:*", COMPILES },
  { "CHARSET UTF-8 ALL", COMPILES },
  { "charset us-ascii SUBJECT x", COMPILES },
  { "CHARSET \"UTF-8\" TEXT \"two words\"", COMPILES },
  { "SUBJECT NIL", COMPILES },
  { "HEADER X-Priority \"\"", COMPILES },
  { "SINCE 1-Feb-1994 BEFORE \"01-Mar-1994\" ON 29-Feb-2024", COMPILES },
  { "SENTSINCE 1-Feb-1994 SENTBEFORE 2-Feb-1994 SENTON 3-Feb-1994", COMPILES },
  { "LARGER 0 SMALLER 4294967295", COMPILES },
  { "KEYWORD $Forwarded UNKEYWORD $Junk", COMPILES },
  { "NOT SEEN", COMPILES },
  { "OR SEEN (FLAGGED DELETED)", COMPILES },
  { "(OR (SEEN) NOT (1:3)) NEW OLD RECENT", COMPILES },
  { "FROM {5}\r\nalice", COMPILES },
  /* The innermost key is at depth 32: the limit. */
  { "NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT "
    "NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT ALL", COMPILES },

  { "FOO", SYNTAX },
  { "SEEN BOGUS", SYNTAX },
  { "SUBJECT", SYNTAX },
  { "FROM (a b)", SYNTAX },
  { "\"SEEN\"", SYNTAX },
  { "HEADER", SYNTAX },
  { "HEADER X-Priority", SYNTAX },
  { "HEADER \"bad field\" x", SYNTAX },
  { "HEADER \"X:Y\" x", SYNTAX },
  { "SINCE", SYNTAX },
  { "SINCE 32-Jan-2024", SYNTAX },
  { "SINCE yesterday", SYNTAX },
  { "BEFORE 1-Foo-2024", SYNTAX },
  { "ON NIL", SYNTAX },
  { "LARGER", SYNTAX },
  { "LARGER abc", SYNTAX },
  { "SMALLER 99999999999", SYNTAX },
  { "UID", SYNTAX },
  { "UID 1:x", SYNTAX },
  { "UID (1)", SYNTAX },
  { "1:x", SYNTAX },
  { "0", SYNTAX },
  { "3,,4", SYNTAX },
  { "()", SYNTAX },
  { "NOT", SYNTAX },
  { "OR SEEN", SYNTAX },
  { "OR", SYNTAX },
  { "KEYWORD", SYNTAX },
  { "KEYWORD (a)", SYNTAX },
  { "CHARSET", SYNTAX },
  { "CHARSET UTF-8", SYNTAX },
  { "CHARSET (UTF-8) ALL", SYNTAX },
  { "", SYNTAX },

  { "CHARSET KOI8-R ALL", BADCHARSET },
  { "CHARSET ISO-8859-1 SUBJECT x", BADCHARSET },

  { "NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT "
    "NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT NOT ALL", LIMIT },

  /* The parser catches these before SEARCH sees them. */
  { "(SEEN", PARSE_FAILS },
  { "SEEN)", PARSE_FAILS },
};

static void
test_compile (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (compile_cases); i++)
    {
      const CompileCase *c = &compile_cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(MsImapSearch) search = NULL;
      Outcome outcome;

      g_test_message ("criteria: %s", c->criteria);
      search = compile_criteria (c->criteria, 10, 100, &outcome, &error);
      g_assert_cmpint (outcome, ==, c->outcome);
      if (outcome == COMPILES)
        g_assert_nonnull (search);
      else
        g_assert_null (search);
      /* Errors carry a message fit for the client's tagged reply. */
      if (error != NULL)
        g_assert_cmpuint (strlen (error->message), >, 0);
    }
}

static void
test_compile_messages (void)
{
  static const struct {
    const char *criteria;
    const char *message;
  } cases[] = {
    { "FOO", "Unknown search key FOO" },
    { "SUBJECT", "SUBJECT needs a string" },
    { "SINCE 32-Jan-2024", "SINCE needs a date such as 1-Feb-1994" },
    { "OR SEEN", "OR needs two search keys" },
    { "CHARSET KOI8-R ALL", "Charset KOI8-R is not supported" },
    /* Client text in a reply never holds CR, LF or 8-bit bytes. */
    { "CHARSET {7}\r\nA\r\n* OK ALL", "Charset A??* OK is not supported" },
    { "B\xc3\xa4" "d", NULL },
    { "1:2:3", "Bad sequence set 1:2:3" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsImapSearch) search = NULL;
      Outcome outcome;

      search = compile_criteria (cases[i].criteria, 10, 100, &outcome, &error);
      g_assert_null (search);
      /* NULL: the parser refuses it first. */
      if (cases[i].message == NULL)
        g_assert_cmpint (outcome, ==, PARSE_FAILS);
      else
        g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

/* ---- Matching against messages in memory ---- */

/* Message 1: CRLF, Date in -0500 late in the day (its UTC day is the next). */
static const char message_1[] =
  "From: Alice <alice@alpha.test>\r\n"
  "To: bob@beta.test\r\n"
  "Subject: Lunch plans\r\n"
  "Date: Wed, 10 Jan 2024 23:30:00 -0500\r\n"
  "\r\n"
  "Let's meet at noon.\r\n";

/* Message 2: bare LF, RFC 2047 encoded From and Subject ("Grüße"), a
 * quoted-printable UTF-8 body ("Schöne Grüße"). */
static const char message_2[] =
  "From: =?UTF-8?Q?J=C3=BCrgen?= <juergen@gamma.test>\n"
  "To: alice@alpha.test\n"
  "Cc: carol@delta.test\n"
  "Subject: =?UTF-8?B?R3LDvMOfZQ==?=\n"
  "Date: Thu, 11 Jan 2024 08:00:00 +0100\n"
  "MIME-Version: 1.0\n"
  "Content-Type: text/plain; charset=utf-8\n"
  "Content-Transfer-Encoding: quoted-printable\n"
  "\n"
  "Sch=C3=B6ne Gr=C3=BC=C3=9Fe\n";

/* Message 3: a folded Subject, multipart with a base64 text part. */
static const char message_3[] =
  "From: boss@alpha.test\r\n"
  "To: team@alpha.test\r\n"
  "Subject: Quarterly\r\n"
  " report\r\n"
  "X-Priority: 1\r\n"
  "Date: Fri, 12 Jan 2024 10:00:00 +0000\r\n"
  "MIME-Version: 1.0\r\n"
  "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
  "\r\n"
  "--b1\r\n"
  "Content-Type: text/plain\r\n"
  "Content-Transfer-Encoding: base64\r\n"
  "\r\n"
  "U2VlIHRoZSBxdWFydGVybHkgcmVwb3J0Lg==\r\n"
  "--b1\r\n"
  "Content-Type: application/octet-stream\r\n"
  "\r\n"
  "binary\r\n"
  "--b1--\r\n";

/* Message 4 is built by build_message_4(): no Subject, no Date, bare LF:
 * "X: y\n\n" and 100 lines "0123456789\n". Stored 6 + 1100 = 1106 bytes;
 * on the wire every LF is CRLF: 1106 + 102 = 1208 (RFC822.SIZE). */
#define MESSAGE_4_WIRE_SIZE 1208

static const char message_5[] =
  "From: Bob <bob@beta.test>\r\n"
  "To: \"Alice\" <alice@alpha.test>\r\n"
  "Bcc: dave@epsilon.test\r\n"
  "Subject: Re: Lunch plans\r\n"
  "Date: 1 Feb 2024 09:00:00 +0000\r\n"
  "\r\n"
  "Sounds good.\r\n";

typedef struct {
  guint32 uid;
  const char *flags;
  gboolean recent;
  const char *internal_date;   /* ISO 8601, UTC */
  const char *text;            /* NULL: message 4 */
} TestMessage;

static const TestMessage test_messages[] = {
  { 10, "S", FALSE, "2024-01-10T12:00:00Z", message_1 },
  { 11, "FR", TRUE, "2024-01-11T00:00:00Z", message_2 },
  { 12, "DT", TRUE, "2024-01-12T23:59:59Z", message_3 },
  { 14, "", FALSE, "2023-12-31T23:59:59Z", NULL },
  { 20, "S", TRUE, "2024-02-01T00:00:00Z", message_5 },
};

typedef struct {
  GPtrArray *texts;            /* of GBytes, one per test message */
  guint stats;
  guint header_reads;
  guint message_reads;
  guint summaries;
  gboolean with_summary;
} Loads;

static GBytes *
build_message_4 (void)
{
  GString *text = g_string_new ("X: y\n\n");

  for (int i = 0; i < 100; i++)
    g_string_append (text, "0123456789\n");
  return g_string_free_to_bytes (text);
}

static void
loads_init (Loads *loads)
{
  memset (loads, 0, sizeof *loads);
  loads->texts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  for (gsize i = 0; i < G_N_ELEMENTS (test_messages); i++)
    {
      const char *text = test_messages[i].text;

      g_ptr_array_add (loads->texts, text != NULL ? g_bytes_new_static (text, strlen (text))
                                                 : build_message_4 ());
    }
}

static void
loads_clear (Loads *loads)
{
  g_clear_pointer (&loads->texts, g_ptr_array_unref);
}

static GBytes *
text_of (Loads *loads,
         const MsImapSearchMessage *message)
{
  return loads->texts->pdata[message->seq - 1];
}

static gboolean
test_stat_cb (gpointer data,
              const MsImapSearchMessage *message,
              gint64 *internal_date_r,
              guint64 *size_r)
{
  Loads *loads = data;
  g_autoptr(GDateTime) date = NULL;

  loads->stats++;
  date = g_date_time_new_from_iso8601 (test_messages[message->seq - 1].internal_date, NULL);
  g_assert_nonnull (date);
  *internal_date_r = g_date_time_to_unix (date);
  *size_r = g_bytes_get_size (text_of (loads, message));
  return TRUE;
}

/* Hands out the whole text: the search must ignore what follows the
 * header itself. */
static GBytes *
test_read_header_cb (gpointer data,
                     const MsImapSearchMessage *message)
{
  Loads *loads = data;

  loads->header_reads++;
  return g_bytes_ref (text_of (loads, message));
}

static GBytes *
test_read_message_cb (gpointer data,
                      const MsImapSearchMessage *message)
{
  Loads *loads = data;

  loads->message_reads++;
  return g_bytes_ref (text_of (loads, message));
}

/* A summary cache that knows Subject and From in its own spelling, so a
 * test can tell which source the match used. */
static gboolean
test_summary_cb (gpointer data,
                 const MsImapSearchMessage *message,
                 char **subject_r,
                 char **from_r)
{
  Loads *loads = data;

  loads->summaries++;
  if (!loads->with_summary)
    return FALSE;
  *subject_r = g_strdup_printf ("Summary subject %u", message->uid);
  *from_r = g_strdup_printf ("Summary <from%u@cache.test>", message->uid);
  return TRUE;
}

static const MsImapSearchLoader test_loader = {
  .stat = test_stat_cb,
  .read_header = test_read_header_cb,
  .read_message = test_read_message_cb,
  .summary = test_summary_cb,
};

/* The sequence numbers (or UIDs) of the test messages that match, as
 * "1 3 5". */
static char *
run_search (const char *criteria,
            gboolean uid,
            Loads *loads)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsImapSearch) search = NULL;
  g_autoptr(GString) result = g_string_new (NULL);
  Outcome outcome;

  search = compile_criteria (criteria, G_N_ELEMENTS (test_messages), 20, &outcome, &error);
  g_assert_no_error (error);
  g_assert_cmpint (outcome, ==, COMPILES);

  for (gsize i = 0; i < G_N_ELEMENTS (test_messages); i++)
    {
      MsImapSearchMessage message;

      ms_imap_search_message_init (&message);
      message.seq = i + 1;
      message.uid = test_messages[i].uid;
      message.flags = test_messages[i].flags;
      message.recent = test_messages[i].recent;
      message.loader = &test_loader;
      message.loader_data = loads;
      if (ms_imap_search_matches (search, &message))
        g_string_append_printf (result, "%s%u", result->len > 0 ? " " : "",
                                uid ? message.uid : message.seq);
      ms_imap_search_message_clear (&message);
    }
  return g_string_free (g_steal_pointer (&result), FALSE);
}

typedef struct {
  const char *criteria;
  const char *expected;        /* sequence numbers */
} MatchCase;

static const MatchCase match_cases[] = {
  { "ALL", "1 2 3 4 5" },
  /* Flags (RFC 3501 §2.3.2). */
  { "SEEN", "1 5" },
  { "UNSEEN", "2 3 4" },
  { "ANSWERED", "2" },
  { "UNANSWERED", "1 3 4 5" },
  { "FLAGGED", "2" },
  { "UNFLAGGED", "1 3 4 5" },
  { "DELETED", "3" },
  { "UNDELETED", "1 2 4 5" },
  { "DRAFT", "3" },
  { "UNDRAFT", "1 2 4 5" },
  { "RECENT", "2 3 5" },
  { "OLD", "1 4" },
  { "NEW", "2 3" },
  { "KEYWORD $Forwarded", "" },
  { "UNKEYWORD $Junk", "1 2 3 4 5" },
  /* Sequence sets and UIDs; "*" is the last message. */
  { "2:3", "2 3" },
  { "4:*", "4 5" },
  { "*", "5" },
  { "5,1", "1 5" },
  { "3:2", "2 3" },
  { "6:9", "" },
  { "UID 11:12", "2 3" },
  { "UID 13:*", "4 5" },
  { "UID *", "5" },
  { "UID 13", "" },
  /* Header fields: case-insensitive substrings, encoded words decoded. */
  { "FROM alice", "1" },
  { "FROM ALPHA.TEST", "1 3" },
  { "FROM {7}\r\nJürgen", "2" },
  { "SUBJECT {7}\r\nGrüße", "2" },
  { "SUBJECT lunch", "1 5" },
  { "SUBJECT \"quarterly report\"", "3" },
  { "SUBJECT \"\"", "1 2 3 5" },
  { "TO bob", "1" },
  { "TO alice", "2 5" },
  { "CC carol", "2" },
  { "BCC dave", "5" },
  { "HEADER X-Priority 1", "3" },
  { "HEADER x-priority \"\"", "3" },
  { "HEADER Content-Type multipart", "3" },
  { "HEADER X-Missing \"\"", "" },
  /* Bodies: decoded text parts (quoted-printable, base64). */
  { "BODY noon", "1" },
  { "BODY {7}\r\nschöne", "2" },
  { "BODY QUARTERLY", "3" },
  { "BODY 0123456789", "4" },
  { "BODY lunch", "" },
  { "BODY alice", "" },
  { "TEXT lunch", "1 5" },
  { "TEXT alice", "1 2 5" },
  { "TEXT \"quarterly report\"", "3" },
  { "TEXT noon", "1" },
  /* Internal dates by day (UTC). */
  { "SINCE 11-Jan-2024", "2 3 5" },
  { "BEFORE 11-Jan-2024", "1 4" },
  { "ON 12-Jan-2024", "3" },
  { "ON 31-Dec-2023", "4" },
  { "ON \"10-Jan-2024\"", "1" },
  /* Date: by the day written in it; a message without one never matches. */
  { "SENTON 10-Jan-2024", "1" },
  { "SENTON 11-Jan-2024", "2" },
  { "SENTSINCE 11-Jan-2024", "2 3 5" },
  { "SENTBEFORE 12-Jan-2024", "1 2" },
  { "NOT SENTBEFORE 12-Jan-2024", "3 4 5" },
  /* RFC822.SIZE with CRLF line ends. */
  { "LARGER 1207", "4" },
  { "LARGER 1208", "" },
  { "SMALLER 1209", "1 2 3 4 5" },
  { "SMALLER 1208", "1 2 3 5" },
  { "LARGER 100 SMALLER 200", "1 5" },
  /* Combinations. */
  { "SEEN SUBJECT lunch", "1 5" },
  { "SEEN NOT SUBJECT re", "1" },
  { "NOT SEEN", "2 3 4" },
  { "OR SEEN FLAGGED", "1 2 5" },
  { "OR (SEEN SUBJECT lunch) DELETED", "1 3 5" },
  { "NOT (OR RECENT SEEN)", "4" },
  { "(SEEN) (UNSEEN)", "" },
  { "OR OR 1 2 UID 20", "1 2 5" },
  { "NOT NOT NOT SEEN", "2 3 4" },
  { "CHARSET UTF-8 SUBJECT {7}\r\nGrüße", "2" },
  { "charset us-ascii ALL", "1 2 3 4 5" },
};

static void
test_match (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (match_cases); i++)
    {
      Loads loads;
      g_autofree char *result = NULL;

      loads_init (&loads);
      g_test_message ("criteria: %s", match_cases[i].criteria);
      result = run_search (match_cases[i].criteria, FALSE, &loads);
      g_assert_cmpstr (result, ==, match_cases[i].expected);
      loads_clear (&loads);
    }
}

static void
test_match_uid (void)
{
  Loads loads;
  g_autofree char *all = NULL;
  g_autofree char *recent = NULL;

  loads_init (&loads);
  all = run_search ("ALL", TRUE, &loads);
  recent = run_search ("RECENT UID 12:*", TRUE, &loads);
  g_assert_cmpstr (all, ==, "10 11 12 14 20");
  g_assert_cmpstr (recent, ==, "12 20");
  loads_clear (&loads);
}

/* What each search may read: flags none of the files, header keys only the
 * headers, and the cheap keys of an AND go first. */
static void
test_loads (void)
{
  static const struct {
    const char *criteria;
    guint stats;
    guint header_reads;
    guint message_reads;
  } cases[] = {
    { "SEEN UNFLAGGED OR RECENT NOT DELETED 1:* UID 1:*", 0, 0, 0 },
    { "NOT OLD UNKEYWORD x", 0, 0, 0 },
    { "SINCE 1-Jan-2024", 5, 0, 0 },
    /* Settled by the stored size (all < 1000 < twice it only for none). */
    { "LARGER 5000", 5, 0, 0 },
    /* 1106 <= 1207 < 2212: message 4 must be read to count its LFs. */
    { "LARGER 1207", 5, 0, 1 },
    { "TO alice", 0, 5, 0 },
    { "HEADER X-Priority 1 SENTON 1-Jan-2024", 0, 5, 0 },
    { "BODY noon", 0, 0, 5 },
    /* The header is read once for both keys, the message once. */
    { "TO x OR CC y BODY z", 0, 5, 0 },
    { "OR TO x BODY z", 0, 5, 5 },
    /* Written body first, but the flag is tried first. */
    { "BODY noon SEEN", 0, 0, 2 },
    { "SUBJECT lunch FLAGGED", 0, 1, 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      Loads loads;
      g_autofree char *result = NULL;

      loads_init (&loads);
      g_test_message ("criteria: %s", cases[i].criteria);
      result = run_search (cases[i].criteria, FALSE, &loads);
      g_assert_cmpuint (loads.stats, ==, cases[i].stats);
      g_assert_cmpuint (loads.header_reads, ==, cases[i].header_reads);
      g_assert_cmpuint (loads.message_reads, ==, cases[i].message_reads);
      loads_clear (&loads);
    }
}

/* A summary cache answers FROM and SUBJECT without reading the header. */
static void
test_summary (void)
{
  Loads loads;
  g_autofree char *subject = NULL;
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;

  loads_init (&loads);
  loads.with_summary = TRUE;
  subject = run_search ("SUBJECT \"summary subject 12\"", FALSE, &loads);
  from = run_search ("FROM from20@CACHE", FALSE, &loads);
  g_assert_cmpstr (subject, ==, "3");
  g_assert_cmpstr (from, ==, "5");
  g_assert_cmpuint (loads.summaries, ==, 10);
  g_assert_cmpuint (loads.header_reads, ==, 0);
  g_assert_cmpuint (loads.message_reads, ==, 0);

  /* Other fields still come from the header. */
  to = run_search ("TO bob", FALSE, &loads);
  g_assert_cmpstr (to, ==, "1");
  g_assert_cmpuint (loads.header_reads, ==, 5);
  loads_clear (&loads);
}

/* A message that cannot be read (gone from the store) matches no key on
 * its text, but still its flags. */
static void
test_unreadable (void)
{
  static const MsImapSearchLoader empty_loader = { NULL };
  static const char *criteria[] = { "SUBJECT x", "BODY x", "SINCE 1-Jan-1970", "LARGER 0",
                                    "SENTBEFORE 1-Jan-2100", "HEADER Subject \"\"" };

  for (gsize i = 0; i < G_N_ELEMENTS (criteria); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsImapSearch) search = NULL;
      g_autoptr(MsImapSearch) negated = NULL;
      g_autofree char *not_criteria = g_strdup_printf ("NOT %s SEEN", criteria[i]);
      MsImapSearchMessage message;
      Outcome outcome;

      search = compile_criteria (criteria[i], 1, 1, &outcome, &error);
      g_assert_no_error (error);
      negated = compile_criteria (not_criteria, 1, 1, &outcome, &error);
      g_assert_no_error (error);

      ms_imap_search_message_init (&message);
      message.seq = 1;
      message.uid = 1;
      message.flags = "S";
      message.loader = &empty_loader;
      g_assert_false (ms_imap_search_matches (search, &message));
      g_assert_true (ms_imap_search_matches (negated, &message));
      ms_imap_search_message_clear (&message);
    }
}

/* Known values for the stat instead of a loader. */
static void
test_have_stat (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsImapSearch) search = NULL;
  MsImapSearchMessage message;
  Outcome outcome;

  search = compile_criteria ("ON 2-Jan-1970 LARGER 99", 1, 1, &outcome, &error);
  g_assert_no_error (error);
  ms_imap_search_message_init (&message);
  message.seq = 1;
  message.uid = 1;
  message.have_stat = TRUE;
  message.internal_date = 86400 + 3600;
  message.size = 200;   /* > 99 whatever its line ends */
  g_assert_true (ms_imap_search_matches (search, &message));
  message.internal_date = 86400 - 1;
  g_assert_false (ms_imap_search_matches (search, &message));
  ms_imap_search_message_clear (&message);
  g_assert_true (ms_imap_search_needs_loader (search));
}

static void
test_needs_loader (void)
{
  static const struct {
    const char *criteria;
    gboolean needs;
  } cases[] = {
    { "SEEN 1:3 UID 4 NOT RECENT", FALSE },
    { "OR SEEN SUBJECT x", TRUE },
    { "NOT BODY x", TRUE },
    { "SMALLER 5", TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsImapSearch) search = NULL;
      Outcome outcome;

      search = compile_criteria (cases[i].criteria, 5, 5, &outcome, &error);
      g_assert_no_error (error);
      g_assert_cmpint (ms_imap_search_needs_loader (search), ==, cases[i].needs);
    }
}

/* ---- Odd messages ---- */

static GBytes *
odd_read_cb (gpointer data,
             const MsImapSearchMessage *message)
{
  return g_bytes_ref (data);
}

static const MsImapSearchLoader odd_loader = {
  .read_message = odd_read_cb,
};

typedef struct {
  const char *text;
  const char *criteria;
  gboolean matches;
  gsize len;                   /* of `text`, when it holds a NUL; else 0 */
} OddCase;

static const char nul_body[] = "Subject: z\r\n\r\na\0b needle\r\n";

static const OddCase odd_cases[] = {
  /* An unparsable Date: is no date at all. */
  { "Date: garbage\r\nSubject: x\r\n\r\nbody\r\n", "SENTBEFORE 1-Jan-2100", FALSE },
  { "Date: garbage\r\nSubject: x\r\n\r\nbody\r\n", "NOT SENTSINCE 1-Jan-1970", TRUE },
  { "Date: garbage\r\nSubject: x\r\n\r\nbody\r\n", "SUBJECT x", TRUE },
  /* A header without the empty line, and no body. */
  { "Subject: no body", "SUBJECT \"no body\"", TRUE },
  { "Subject: no body", "BODY body", FALSE },
  /* Raw 8-bit Latin-1 in a header is read as Latin-1 (GMime's fallback). */
  { "Subject: Gr\xfc\xdf" "e\r\n\r\n", "SUBJECT {7}\r\ngr\xc3\xbc\xc3\x9f" "e", TRUE },
  /* Every occurrence of a field counts. */
  { "To: a@x.test\r\nTo: b@y.test\r\n\r\n", "TO b@y", TRUE },
  /* Folding with a tab; encoded words split over two lines. */
  { "Subject: =?UTF-8?Q?Gr=C3=BC?=\r\n\t=?UTF-8?Q?=C3=9Fe?= again\r\n\r\n",
    "SUBJECT {13}\r\ngr\xc3\xbc\xc3\x9f" "e again", TRUE },
  /* Lines without a colon are not fields. */
  { "junk line\r\nSubject: ok\r\n\r\n", "HEADER junk \"\"", FALSE },
  { "junk line\r\nSubject: ok\r\n\r\n", "SUBJECT ok", TRUE },
  /* Not a substring of a field name, nor across fields. */
  { "Subject: a\r\nX-B: c\r\n\r\n", "SUBJECT \"a x-b\"", FALSE },
  { "Subject: a\r\nX-B: c\r\n\r\n", "TEXT \"subject: a\"", TRUE },
  /* An empty message. */
  { "", "TEXT x", FALSE },
  { "", "NOT BODY x", TRUE },
  /* NUL bytes in the body do not end the search. */
  { nul_body, "BODY needle", TRUE, sizeof nul_body - 1 },
  /* Body charsets are converted to UTF-8; an unknown one is searched raw. */
  { "Content-Type: text/plain; charset=iso-8859-1\r\n\r\nGr\xfc\xdf" "e\r\n",
    "BODY {7}\r\ngr\xc3\xbc\xc3\x9f" "e", TRUE },
  { "Content-Type: text/plain; charset=x-nonsense\r\n\r\nplain words\r\n",
    "BODY WORDS", TRUE },
};

static void
test_odd_messages (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (odd_cases); i++)
    {
      const OddCase *c = &odd_cases[i];
      gsize len = c->len != 0 ? c->len : strlen (c->text);
      g_autoptr(GBytes) text = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(MsImapSearch) search = NULL;
      MsImapSearchMessage message;
      Outcome outcome;

      text = g_bytes_new_static (c->text, len);
      g_test_message ("criteria: %s", c->criteria);
      search = compile_criteria (c->criteria, 1, 1, &outcome, &error);
      g_assert_no_error (error);
      ms_imap_search_message_init (&message);
      message.seq = 1;
      message.uid = 1;
      message.loader = &odd_loader;
      message.loader_data = text;
      g_assert_cmpint (ms_imap_search_matches (search, &message), ==, c->matches);
      ms_imap_search_message_clear (&message);
    }
}

/* ---- SEARCH in a session over a real store ---- */

/* The INBOX holds the five test messages under UIDs 2 to 6 (UID 1 was
 * expunged before the session starts, so UIDs and sequence numbers
 * differ), with the test messages' flags and internal dates. UIDs 4 and up
 * are \Recent for the session. */
#define FIRST_RECENT_UID 4

typedef struct {
  char *root;
  MsStore *store;
  MsImapSession *session;
  GString *output;
  gsize literal_wanted;
} SessionFixture;

static gboolean
session_authenticate_cb (gpointer data,
                         const char *user,
                         const char *password,
                         char **user_r)
{
  if (strcmp (user, "alice") != 0 || strcmp (password, "alicepw") != 0)
    return FALSE;
  *user_r = g_strdup ("alice");
  return TRUE;
}

static guint32
session_claim_recent_cb (gpointer data,
                         const char *user,
                         const char *folder,
                         guint32 uidnext)
{
  return FIRST_RECENT_UID;
}

static const MsImapBackend session_backend = {
  .authenticate = session_authenticate_cb,
  .claim_recent = session_claim_recent_cb,
};

static void
out_send_cb (gpointer data,
             const char *bytes,
             gsize len)
{
  g_string_append_len (((SessionFixture *) data)->output, bytes, len);
}

static void
out_nothing_cb (gpointer data)
{
}

static void
out_set_max_line_cb (gpointer data,
                     gsize max_line)
{
}

static void
out_read_bytes_cb (gpointer data,
                   gsize count)
{
  ((SessionFixture *) data)->literal_wanted = count;
}

static const MsSessionOutput session_output = {
  .send = out_send_cb,
  .start_tls = out_nothing_cb,
  .close = out_nothing_cb,
  .set_max_line = out_set_max_line_cb,
  .read_bytes = out_read_bytes_cb,
};

/* Feeds one command: `line`, then when it announced a literal, `literal`
 * and the rest of the line `rest`. Returns what the session sent. */
static char *
session_run (SessionFixture *fixture,
             const char *line,
             const char *literal,
             const char *rest)
{
  g_string_truncate (fixture->output, 0);
  fixture->literal_wanted = 0;
  ms_imap_session_feed_line (fixture->session, line, strlen (line), 0);
  if (literal != NULL)
    {
      g_assert_cmpuint (fixture->literal_wanted, ==, strlen (literal));
      ms_imap_session_feed_bytes (fixture->session, (const guint8 *) literal,
                                  strlen (literal), TRUE);
      ms_imap_session_feed_line (fixture->session, rest, strlen (rest), 0);
    }
  return g_strdup (fixture->output->str);
}

static void
deliver (SessionFixture *fixture,
         GBytes *text,
         const char *flags,
         const char *iso_date)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDateTime) date = g_date_time_new_from_iso8601 (iso_date, NULL);
  gsize len;
  const guint8 *data = g_bytes_get_data (text, &len);

  g_assert_nonnull (date);
  ms_store_deliver (fixture->store, "alice", "INBOX", data, len, flags,
                    g_date_time_to_unix (date), NULL, &error);
  g_assert_no_error (error);
}

static void
session_setup (SessionFixture *fixture,
               gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;
  MsImapSessionConfig config = { 0 };
  Loads texts;
  g_autofree char *login = NULL;
  g_autofree char *select = NULL;
  guint32 filler_uid = 0;

  fixture->root = g_dir_make_tmp ("ms-imap-search-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->store = ms_store_new (fixture->root, "test", NULL);
  fixture->output = g_string_new (NULL);
  ms_store_ensure_user (fixture->store, "alice", &error);
  g_assert_no_error (error);

  ms_store_deliver (fixture->store, "alice", "INBOX", (const guint8 *) "X: 1\r\n\r\n", 8,
                    NULL, 0, &filler_uid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (filler_uid, ==, 1);
  ms_store_expunge (fixture->store, "alice", "INBOX", filler_uid, &error);
  g_assert_no_error (error);

  loads_init (&texts);
  for (gsize i = 0; i < G_N_ELEMENTS (test_messages); i++)
    {
      /* An empty flag string still files the message in cur/; no flags at
       * all leaves it in new/. */
      const char *flags = test_messages[i].flags[0] != '\0' ? test_messages[i].flags : NULL;

      deliver (fixture, texts.texts->pdata[i], flags, test_messages[i].internal_date);
    }
  loads_clear (&texts);

  config.hostname = "imap.test";
  config.store = fixture->store;
  config.server_name = "test";
  config.session_id = "s1";
  fixture->session = ms_imap_session_new (&config, &session_backend, NULL,
                                          &session_output, fixture);
  ms_imap_session_start (fixture->session);
  login = session_run (fixture, "l LOGIN alice alicepw", NULL, NULL);
  g_assert_true (g_str_has_prefix (login, "l OK"));
  select = session_run (fixture, "s SELECT INBOX", NULL, NULL);
  g_assert_nonnull (strstr (select, "* 5 EXISTS\r\n"));
  g_assert_nonnull (strstr (select, "\r\ns OK"));
}

static void
session_teardown (SessionFixture *fixture,
                  gconstpointer user_data)
{
  g_clear_pointer (&fixture->session, ms_imap_session_free);
  g_clear_pointer (&fixture->store, ms_store_free);
  g_string_free (fixture->output, TRUE);
  ms_test_remove_tree (fixture->root);
  g_free (fixture->root);
}

typedef struct {
  const char *line;
  const char *literal;         /* after `line`, which announces it; or NULL */
  const char *reply;           /* the whole reply */
} SessionCase;

static const SessionCase session_cases[] = {
  { "a SEARCH SEEN", NULL, "* SEARCH 1 5\r\na OK SEARCH completed\r\n" },
  { "a UID SEARCH SEEN", NULL, "* SEARCH 2 6\r\na OK UID SEARCH completed\r\n" },
  { "a SEARCH UNSEEN", NULL, "* SEARCH 2 3 4\r\na OK SEARCH completed\r\n" },
  { "a SEARCH DELETED", NULL, "* SEARCH 3\r\na OK SEARCH completed\r\n" },
  { "a SEARCH RECENT", NULL, "* SEARCH 3 4 5\r\na OK SEARCH completed\r\n" },
  { "a SEARCH NEW", NULL, "* SEARCH 3 4\r\na OK SEARCH completed\r\n" },
  { "a SEARCH FLAGGED DELETED", NULL, "* SEARCH\r\na OK SEARCH completed\r\n" },
  { "a SEARCH FROM alice", NULL, "* SEARCH 1\r\na OK SEARCH completed\r\n" },
  { "a SEARCH FROM {7+}", "J\xc3\xbcrgen", "* SEARCH 2\r\na OK SEARCH completed\r\n" },
  { "a SEARCH SUBJECT lunch", NULL, "* SEARCH 1 5\r\na OK SEARCH completed\r\n" },
  { "a SEARCH CHARSET UTF-8 SUBJECT {7+}", "Gr\xc3\xbc\xc3\x9f" "e",
    "* SEARCH 2\r\na OK SEARCH completed\r\n" },
  { "a SEARCH TO alice NOT CC carol", NULL, "* SEARCH 5\r\na OK SEARCH completed\r\n" },
  { "a SEARCH HEADER X-Priority 1", NULL, "* SEARCH 3\r\na OK SEARCH completed\r\n" },
  { "a SEARCH BODY noon", NULL, "* SEARCH 1\r\na OK SEARCH completed\r\n" },
  { "a SEARCH TEXT quarterly", NULL, "* SEARCH 3\r\na OK SEARCH completed\r\n" },
  { "a SEARCH SINCE 11-Jan-2024", NULL, "* SEARCH 2 3 5\r\na OK SEARCH completed\r\n" },
  { "a SEARCH BEFORE 11-Jan-2024", NULL, "* SEARCH 1 4\r\na OK SEARCH completed\r\n" },
  { "a SEARCH ON 12-Jan-2024", NULL, "* SEARCH 3\r\na OK SEARCH completed\r\n" },
  { "a SEARCH SENTON 10-Jan-2024", NULL, "* SEARCH 1\r\na OK SEARCH completed\r\n" },
  { "a SEARCH LARGER 1207", NULL, "* SEARCH 4\r\na OK SEARCH completed\r\n" },
  { "a SEARCH LARGER 1208", NULL, "* SEARCH\r\na OK SEARCH completed\r\n" },
  { "a SEARCH SMALLER 1208", NULL, "* SEARCH 1 2 3 5\r\na OK SEARCH completed\r\n" },
  { "a UID SEARCH UID 3:5", NULL, "* SEARCH 3 4 5\r\na OK UID SEARCH completed\r\n" },
  { "a UID SEARCH 3:*", NULL, "* SEARCH 4 5 6\r\na OK UID SEARCH completed\r\n" },
  { "a SEARCH UID 5:*", NULL, "* SEARCH 4 5\r\na OK SEARCH completed\r\n" },
  { "a SEARCH OR SEEN FLAGGED", NULL, "* SEARCH 1 2 5\r\na OK SEARCH completed\r\n" },
  { "a SEARCH NOT (OR RECENT SEEN)", NULL, "* SEARCH 2\r\na OK SEARCH completed\r\n" },
  { "a SEARCH (OR SUBJECT lunch DELETED) UNSEEN", NULL,
    "* SEARCH 3\r\na OK SEARCH completed\r\n" },
  { "a SEARCH CHARSET KOI8-R ALL", NULL,
    "a NO [BADCHARSET (UTF-8 US-ASCII)] Charset KOI8-R is not supported\r\n" },
  { "a SEARCH FOO", NULL, "a BAD Unknown search key FOO\r\n" },
  { "a SEARCH SINCE 31-Feb-2024", NULL, "a BAD SINCE needs a date such as 1-Feb-1994\r\n" },
  { "a SEARCH OR SEEN", NULL, "a BAD OR needs two search keys\r\n" },
  { "a SEARCH", NULL, "a BAD SEARCH needs at least one search key\r\n" },
};

static void
test_session_search (SessionFixture *fixture,
                     gconstpointer user_data)
{
  for (gsize i = 0; i < G_N_ELEMENTS (session_cases); i++)
    {
      const SessionCase *c = &session_cases[i];
      g_autofree char *reply = NULL;

      g_test_message ("C: %s", c->line);
      reply = session_run (fixture, c->line, c->literal, "");
      g_assert_cmpstr (reply, ==, c->reply);
    }
}

/* A flag search works from the session's view alone: with every message
 * file gone from under the store it still answers, while a header search
 * finds nothing to read. */
static void
test_session_no_reads (SessionFixture *fixture,
                       gconstpointer user_data)
{
  static const char *const subdirs[] = { "cur", "new" };
  g_autofree char *seen = NULL;
  g_autofree char *from = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (fixture->root, "alice", subdirs[i], NULL);
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      g_assert_nonnull (dir);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *file = g_build_filename (path, name, NULL);

          g_assert_cmpint (g_unlink (file), ==, 0);
        }
    }

  seen = session_run (fixture, "a SEARCH SEEN UNDELETED", NULL, NULL);
  g_assert_true (g_str_has_prefix (seen, "* SEARCH 1 5\r\na OK SEARCH completed\r\n"));
  from = session_run (fixture, "b SEARCH BODY noon", NULL, NULL);
  g_assert_true (g_str_has_prefix (from, "* SEARCH\r\nb OK SEARCH completed\r\n"));
}

/* A long answer: every number on one line. */
static void
test_session_many (SessionFixture *fixture,
                   gconstpointer user_data)
{
  g_autoptr(GString) expected = g_string_new ("* SEARCH 2 3 4");
  g_autofree char *reply = NULL;
  g_autofree char *exists = NULL;
  const char text[] = "Subject: many\r\n\r\nx\r\n";

  /* Dropped into new/ as another program would (ms-store.h): much faster
   * than 2000 fsynced deliveries. */
  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *name = g_strdup_printf ("1700000000.M%uP1.test", i);
      g_autofree char *path = g_build_filename (fixture->root, "alice", "new", name, NULL);
      FILE *file = fopen (path, "w");

      g_assert_nonnull (file);
      g_assert_cmpuint (fwrite (text, 1, strlen (text), file), ==, strlen (text));
      g_assert_cmpint (fclose (file), ==, 0);
      g_string_append_printf (expected, " %u", 6 + i);
    }
  ms_imap_session_mailbox_changed (fixture->session);
  exists = session_run (fixture, "n NOOP", NULL, NULL);
  g_assert_nonnull (strstr (exists, "* 2005 EXISTS\r\n"));

  g_string_append (expected, "\r\na OK SEARCH completed\r\n");
  reply = session_run (fixture, "a SEARCH UNSEEN", NULL, NULL);
  g_assert_cmpstr (reply, ==, expected->str);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/imap-search/compile", test_compile);
  g_test_add_func ("/server/imap-search/compile-messages", test_compile_messages);
  g_test_add_func ("/server/imap-search/match", test_match);
  g_test_add_func ("/server/imap-search/match-uid", test_match_uid);
  g_test_add_func ("/server/imap-search/loads", test_loads);
  g_test_add_func ("/server/imap-search/summary", test_summary);
  g_test_add_func ("/server/imap-search/unreadable", test_unreadable);
  g_test_add_func ("/server/imap-search/have-stat", test_have_stat);
  g_test_add_func ("/server/imap-search/needs-loader", test_needs_loader);
  g_test_add_func ("/server/imap-search/odd-messages", test_odd_messages);
  g_test_add ("/server/imap-search/session/search", SessionFixture, NULL, session_setup,
              test_session_search, session_teardown);
  g_test_add ("/server/imap-search/session/no-reads", SessionFixture, NULL, session_setup,
              test_session_no_reads, session_teardown);
  g_test_add ("/server/imap-search/session/many", SessionFixture, NULL, session_setup,
              test_session_many, session_teardown);

  return g_test_run ();
}
