/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-explain.h"
#include "ms-imap-session.h"
#include "ms-pop3-session.h"
#include "ms-smtp-session.h"

/* ---- helpers ---- */

static MsExplain *
load_shipped (void)
{
  g_autoptr(GError) error = NULL;
  const char *path = g_test_get_filename (G_TEST_DIST, "..", "data", "explanations.json", NULL);
  MsExplain *explain = ms_explain_new_from_file (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (explain);
  return explain;
}

/* The text of server/`name` with comments and character constants blanked
 * out, so a scan sees only code and string literals: "[HEADER]" in a comment
 * is not a response code, and '"' would start a string that is not one. */
static char *
read_server_source (const char *name)
{
  const char *path = g_test_get_filename (G_TEST_DIST, "..", "server", name, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GRegex) comments = NULL;
  g_autoptr(GRegex) chars = NULL;
  g_autofree char *no_comments = NULL;
  char *result;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  comments = g_regex_new ("/\\*.*?\\*/", G_REGEX_DOTALL, 0, &error);
  g_assert_no_error (error);
  no_comments = g_regex_replace_literal (comments, contents, -1, 0, " ", 0, &error);
  g_assert_no_error (error);
  chars = g_regex_new ("'(?:[^'\\\\\\n]|\\\\.)'", 0, 0, &error);
  g_assert_no_error (error);
  result = g_regex_replace_literal (chars, no_comments, -1, 0, "0", 0, &error);
  g_assert_no_error (error);
  return result;
}

/* The server sources whose names match `glob` ("ms-smtp-*.c"). */
static GPtrArray *
server_sources (const char *glob)
{
  const char *dir = g_test_get_filename (G_TEST_DIST, "..", "server", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) handle = g_dir_open (dir, 0, &error);
  g_autoptr(GPatternSpec) spec = g_pattern_spec_new (glob);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_no_error (error);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      if (g_pattern_spec_match_string (spec, name))
        g_ptr_array_add (names, g_strdup (name));
    }
  g_assert_cmpuint (names->len, >, 0);
  return names;
}

/* Adds group `group` of every match of `pattern` in `text` to `found`,
 * remembering the first file it came from. */
static guint
scan (GHashTable *found,
      const char *text,
      const char *file,
      const char *pattern,
      guint group)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRegex) regex = g_regex_new (pattern, G_REGEX_DOTALL, 0, &error);
  g_autoptr(GMatchInfo) match = NULL;
  guint n = 0;

  g_assert_no_error (error);
  g_regex_match (regex, text, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *word = g_match_info_fetch (match, group);

      if (word != NULL && *word != '\0')
        {
          if (!g_hash_table_contains (found, word))
            g_hash_table_insert (found, g_strdup (word), g_strdup (file));
          n++;
        }
      g_match_info_next (match, &error);
      g_assert_no_error (error);
    }
  return n;
}

/* Scans every file matching one of `globs` (NULL-terminated). */
static void
scan_files (GHashTable *found,
            const char * const *globs,
            const char *pattern,
            guint group)
{
  for (guint g = 0; globs[g] != NULL; g++)
    {
      g_autoptr(GPtrArray) names = server_sources (globs[g]);

      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *text = read_server_source (names->pdata[i]);

          scan (found, text, names->pdata[i], pattern, group);
        }
    }
}

static GHashTable *
new_set (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

typedef const MsExplainEntry *(*Lookup) (MsExplain *explain, const char *proto, const char *key);

/* Every key of `found` must have an entry; prints all that have none. */
static void
assert_explained (MsExplain *explain,
                  GHashTable *found,
                  const char *proto,
                  const char *what,
                  Lookup lookup,
                  guint minimum)
{
  GHashTableIter iter;
  gpointer key, file;
  guint missing = 0;

  g_test_message ("%s %s found in the sources: %u", proto, what, g_hash_table_size (found));
  /* A scan that finds nothing would pass trivially: the regexes must keep
   * up with the sources. */
  g_assert_cmpuint (g_hash_table_size (found), >=, minimum);
  g_hash_table_iter_init (&iter, found);
  while (g_hash_table_iter_next (&iter, &key, &file))
    {
      if (lookup (explain, proto, key) == NULL)
        {
          g_printerr ("# no explanation for %s %s \"%s\" (sent in server/%s)\n",
                      proto, what, (const char *) key, (const char *) file);
          missing++;
        }
    }
  g_assert_cmpuint (missing, ==, 0);
}

/* ---- the shipped file ---- */

static void
test_states (void)
{
  g_autoptr(MsExplain) explain = load_shipped ();

  for (int i = 0; i < MS_SMTP_N_STATES; i++)
    g_assert_nonnull (ms_explain_state (explain, "smtp", ms_smtp_state_to_string (i)));
  for (int i = 0; i < MS_POP3_N_STATES; i++)
    g_assert_nonnull (ms_explain_state (explain, "pop3", ms_pop3_state_to_string (i)));
  for (int i = 0; i < MS_IMAP_N_STATES; i++)
    g_assert_nonnull (ms_explain_state (explain, "imap", ms_imap_state_to_string (i)));
  g_assert_null (ms_explain_state (explain, "imap", "rcpt"));
}

/* The verbs of a command table: the string that opens each initialiser of
 * "static const ... commands[] = { ... };". */
static GHashTable *
table_verbs (const char *file,
             gboolean *has_uid_r)
{
  g_autofree char *text = read_server_source (file);
  g_autoptr(GHashTable) tables = new_set ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GRegex) regex = g_regex_new ("static const \\w+ commands\\[\\] = \\{(.*?)\\n\\};",
                                         G_REGEX_DOTALL, 0, &error);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *table = NULL;
  GHashTable *verbs = new_set ();

  g_assert_no_error (error);
  g_assert_true (g_regex_match (regex, text, 0, &match));
  table = g_match_info_fetch (match, 1);
  scan (verbs, table, file, "\\{\\s*\"([A-Z0-9]+)\"\\s*,", 1);
  if (has_uid_r != NULL)
    *has_uid_r = strstr (table, "MS_IMAP_COMMAND_UID") != NULL;
  return verbs;
}

static void
test_commands (void)
{
  g_autoptr(MsExplain) explain = load_shipped ();
  g_autoptr(GHashTable) smtp = table_verbs ("ms-smtp-commands.c", NULL);
  g_autoptr(GHashTable) pop3 = table_verbs ("ms-pop3-commands.c", NULL);
  g_autoptr(GHashTable) imap = NULL;
  gboolean has_uid = FALSE;

  imap = table_verbs ("ms-imap-commands.c", &has_uid);
  /* Not in the table, but commands all the same: the UID prefix of the
   * commands flagged MS_IMAP_COMMAND_UID (RFC 3501 §6.4.8), and the line
   * that ends IDLE (RFC 2177 §3). */
  g_assert_true (has_uid);
  g_hash_table_insert (imap, g_strdup ("UID"), g_strdup ("ms-imap-commands.c"));
  if (g_hash_table_contains (imap, "IDLE"))
    g_hash_table_insert (imap, g_strdup ("DONE"), g_strdup ("ms-imap-commands.c"));

  assert_explained (explain, smtp, "smtp", "command", ms_explain_command, 10);
  assert_explained (explain, pop3, "pop3", "command", ms_explain_command, 10);
  assert_explained (explain, imap, "imap", "command", ms_explain_command, 25);
}

#define ENHANCED "[245]\\.[0-9]{1,3}\\.[0-9]{1,3}"

static void
test_smtp_replies (void)
{
  static const char * const files[] = {
    "ms-smtp-*.c", "ms-relay-queue.c", "ms-server-smtp.c", "ms-server.c", NULL
  };
  g_autoptr(MsExplain) explain = load_shipped ();
  g_autoptr(GHashTable) codes = new_set ();
  g_autoptr(GHashTable) enhanced = new_set ();

  /* _ms_smtp_reply (session, 250, "2.1.0", ...), _reply_lines, _bad_command */
  scan_files (codes, files,
              "_ms_smtp_(?:reply|reply_lines|bad_command)\\s*\\(\\s*\\w+\\s*,\\s*([0-9]+)", 1);
  scan_files (enhanced, files,
              "_ms_smtp_(?:reply|bad_command)\\s*\\(\\s*\\w+\\s*,\\s*[0-9]+\\s*,\\s*\"([^\"]*)\"",
              1);
  /* Whole replies in string literals: the busy reply, "451 4.3.0 ..." */
  scan_files (codes, files, "\"([0-9]{3})[ -]", 1);
  /* Enhanced codes that open a literal: help lines, the relay's bounces. */
  scan_files (enhanced, files, "\"(?:[0-9]{3} )?(" ENHANCED ")[ \"]", 1);

  assert_explained (explain, codes, "smtp", "reply", ms_explain_reply, 15);
  assert_explained (explain, enhanced, "smtp", "enhanced code", ms_explain_code, 15);
}

static void
test_pop3_replies (void)
{
  static const char * const files[] = { "ms-pop3-*.c", "ms-server-pop3.c", NULL };
  g_autoptr(MsExplain) explain = load_shipped ();
  g_autoptr(GHashTable) statuses = new_set ();
  g_autoptr(GHashTable) codes = new_set ();

  scan_files (statuses, files, "(?:_ms_pop3_reply|send_reply)\\s*\\(\\s*\\w+\\s*,\\s*\"([^\"]*)\"",
              1);
  scan_files (statuses, files, "\"(\\+OK|-ERR)[ \"]", 1);
  scan_files (codes, files, "_ms_pop3_reply_code\\s*\\(\\s*\\w+\\s*,\\s*\"([^\"]*)\"", 1);
  scan_files (codes, files, "\"-ERR \\[([^]\"]*)\\]", 1);

  assert_explained (explain, statuses, "pop3", "reply", ms_explain_reply, 3);
  assert_explained (explain, codes, "pop3", "response code", ms_explain_code, 4);
}

/* IMAP response codes are written three ways: inside a literal ("OK
 * [UIDNEXT %u]"), returned by a function named *_code and put in with
 * "[%s]", or chosen by a ?: right after a "[%s]" format. Every "[%s]" must
 * be one of the last two, or the scan could miss a code. */
static void
scan_imap_codes (GHashTable *codes,
                 const char *file,
                 const char *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GRegex) literal = g_regex_new ("\"((?:[^\"\\\\\\n]|\\\\.)*)\"", 0, 0, &error);
  g_autoptr(GRegex) format = NULL;
  g_autoptr(GRegex) function = NULL;
  g_autoptr(GMatchInfo) match = NULL;

  g_assert_no_error (error);
  g_regex_match (literal, text, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *body = g_match_info_fetch (match, 1);

      /* "[" at the start or after a space or "(": a response code, not a
       * FETCH section such as BODY[HEADER]. */
      scan (codes, body, file, "(?:^|[ (])\\[([A-Z][A-Z0-9-]*)(?=[] ])", 1);
      g_match_info_next (match, &error);
    }
  g_clear_pointer (&match, g_match_info_free);

  /* The functions that return a code, and the ?: choices. */
  function = g_regex_new ("\\n(\\w+_code) \\([^)]*\\)\\s*\\{(.*?)\\n\\}", G_REGEX_DOTALL, 0,
                          &error);
  g_assert_no_error (error);
  g_regex_match (function, text, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *body = g_match_info_fetch (match, 2);

      scan (codes, body, file, "return \"([A-Z][A-Z0-9-]*)\";", 1);
      g_match_info_next (match, &error);
    }
  g_clear_pointer (&match, g_match_info_free);
#define TERNARY_FORMAT "\"\\[%s\\][^\"]*\"\\s*,\\s*\\w+\\s*\\?\\s*"
  scan (codes, text, file, TERNARY_FORMAT "\"([A-Z][A-Z0-9-]*)\"\\s*:\\s*\"[A-Z0-9-]+\"", 1);
  scan (codes, text, file, TERNARY_FORMAT "\"[A-Z0-9-]+\"\\s*:\\s*\"([A-Z][A-Z0-9-]*)\"", 1);
#undef TERNARY_FORMAT

  /* Every "[%s" is followed by a ?: of two literals or a *_code () call. */
  format = g_regex_new ("\"[^\"\\n]*\\[%s[^\"\\n]*\"\\s*,\\s*([^,;]*)", 0, 0, &error);
  g_assert_no_error (error);
  g_regex_match (format, text, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *argument = g_match_info_fetch (match, 1);

      if (!g_regex_match_simple ("^\\w+\\s*\\?\\s*\"[A-Z0-9-]+\"\\s*:\\s*\"[A-Z0-9-]+\"\\s*\\)?$",
                                 argument, 0, 0)
          && !g_regex_match_simple ("^\\w+_code \\(", argument, 0, 0))
        g_error ("server/%s: cannot tell which response code \"[%%s\" gets from \"%s\"",
                 file, argument);
      g_match_info_next (match, &error);
    }
}

static void
test_imap_replies (void)
{
  static const char * const files[] = { "ms-imap-*.c", "ms-server-imap.c", NULL };
  g_autoptr(MsExplain) explain = load_shipped ();
  g_autoptr(GHashTable) codes = new_set ();
  g_autoptr(GHashTable) replies = new_set ();

  for (guint g = 0; files[g] != NULL; g++)
    {
      g_autoptr(GPtrArray) names = server_sources (files[g]);

      for (guint i = 0; i < names->len; i++)
        {
          g_autofree char *text = read_server_source (names->pdata[i]);

          scan_imap_codes (codes, names->pdata[i], text);
        }
    }

  /* Status responses: tagged, BAD, and the busy reply "* BYE [...]". */
  scan_files (replies, files, "_ms_imap_tagged\\s*\\(\\s*\\w+\\s*,\\s*\\w+\\s*,\\s*\"([A-Z]+)\"",
              1);
  scan_files (replies, files, "send_status_line\\s*\\(\\s*\\w+\\s*,\\s*\\w+\\s*,\\s*\"([A-Z]+)\"",
              1);
  scan_files (replies, files, "\"\\* ([A-Z]+) ", 1);
  /* Untagged responses: "* CAPABILITY ...", "* %u EXISTS", built in a
   * GString ("SEARCH", "STATUS "), a response with literals ("* %u FETCH
   * ("), and LIST/LSUB lines. */
  scan_files (replies, files, "_ms_imap_untagged\\s*\\(\\s*\\w+\\s*,\\s*\"(?:%u )?([A-Z]+)\\b", 1);
  scan_files (replies, files, "\\bline = g_string_new \\(\"([A-Z]+)[ \"]", 1);
  scan_files (replies, files, "\"\\* %u ([A-Z]+)\\b", 1);
  scan_files (replies, files, "send_list_line\\s*\\(\\s*\\w+\\s*,\\s*\"([A-Z]+)\"", 1);
  /* Continuation requests (RFC 3501 §7.5). */
  scan_files (replies, files, "_ms_imap_(continuation)\\s*\\(\\s*\\w+\\s*,", 1);
  if (g_hash_table_remove (replies, "continuation"))
    g_hash_table_insert (replies, g_strdup ("+"), g_strdup ("ms-imap-session.c"));

  assert_explained (explain, codes, "imap", "response code", ms_explain_code, 15);
  assert_explained (explain, replies, "imap", "response", ms_explain_reply, 12);
}

/* ---- events ---- */

typedef struct {
  const char *name;
  MsEventKind kind;
  const char *proto;
  const char *verb;
  const char *text;
  const char *status;
  gint64 code;              /* SMTP; 0 for none */
  const char *extra_name;   /* "enhanced", "resp_code", "continuation", "status" */
  const char *extra_value;
  const char *expected[3];  /* rfc fields of the expected entries, in order */
} EventCase;

static const EventCase event_cases[] = {
  { "imap-no-trycreate", MS_EVENT_REPLY, "imap", NULL, "a1 NO [TRYCREATE] Mailbox does not exist",
    "NO", 0, NULL, NULL, { "RFC 3501 §7.1.2", "RFC 3501 §7.1", NULL } },
  { "imap-untagged-ok-code", MS_EVENT_REPLY, "imap", NULL, "* OK [UIDNEXT 8] Predicted next UID",
    "OK", 0, NULL, NULL, { "RFC 3501 §7.1.1", "RFC 3501 §7.1", NULL } },
  { "imap-busy-bye", MS_EVENT_REPLY, "imap", NULL, "* BYE [UNAVAILABLE] Too many connections",
    "BYE", 0, NULL, NULL, { "RFC 3501 §7.1.5", "RFC 5530 §3", NULL } },
  { "imap-exists", MS_EVENT_REPLY, "imap", NULL, "* 3 EXISTS", "EXISTS", 0, NULL, NULL,
    { "RFC 3501 §7.3.1", NULL } },
  { "imap-continuation", MS_EVENT_REPLY, "imap", NULL, "+ idling", "+", 0, NULL, NULL,
    { "RFC 3501 §7.5", NULL } },
  { "imap-uid-fetch", MS_EVENT_COMMAND, "imap", "UID FETCH", "a2 UID FETCH 1:* (FLAGS)", NULL,
    0, NULL, NULL, { "RFC 3501 §6.4.8", "RFC 3501 §6.4.5", NULL } },
  { "imap-done", MS_EVENT_COMMAND, "imap", NULL, "done", NULL, 0, NULL, NULL,
    { "RFC 2177 §3", NULL } },
  { "imap-literal-line", MS_EVENT_COMMAND, "imap", NULL, "DONE", NULL, 0, "continuation", "1",
    { NULL } },
  { "smtp-auth-failed", MS_EVENT_REPLY, "smtp", NULL, "535 5.7.8 Authentication failed", NULL,
    535, "enhanced", "5.7.8", { "RFC 4954 §6", "RFC 4954 §6", NULL } },
  { "smtp-greeting", MS_EVENT_REPLY, "smtp", NULL, "220 alpha.test ESMTP", NULL, 220, NULL, NULL,
    { "RFC 5321 §4.2.3", NULL } },
  { "smtp-command", MS_EVENT_COMMAND, "smtp", "EHLO", "EHLO laptop", NULL, 0, NULL, NULL,
    { "RFC 5321 §4.1.1.1", NULL } },
  { "smtp-auth-line", MS_EVENT_COMMAND, "smtp", NULL, "dXNlcg==", NULL, 0, NULL, NULL, { NULL } },
  { "smtp-relay-client", MS_EVENT_COMMAND, "smtp-relay", "STARTTLS", "STARTTLS", NULL, 0, NULL,
    NULL, { "RFC 3207 §4", NULL } },
  { "relay-bounce", MS_EVENT_RELAY, "smtp", NULL, "no such user", NULL, 550, "status", "5.1.1",
    { "RFC 5321 §4.2.3", "RFC 3463 §3.2", NULL } },
  { "pop3-in-use", MS_EVENT_REPLY, "pop3", NULL, "-ERR [IN-USE] maildrop locked", "-ERR", 0,
    "resp_code", "IN-USE", { "RFC 1939 §3", "RFC 2449 §8.1.2", NULL } },
  { "pop3-challenge", MS_EVENT_REPLY, "pop3", NULL, "+ ", "+", 0, NULL, NULL,
    { "RFC 5034 §4", NULL } },
  { "pop3-listing-line", MS_EVENT_REPLY, "pop3", NULL, "1 120", NULL, 0, "continuation", "1",
    { NULL } },
  { "pop3-dele", MS_EVENT_COMMAND, "pop3", "DELE", "DELE 1", NULL, 0, NULL, NULL,
    { "RFC 1939 §5", NULL } },
  { "unknown-verb", MS_EVENT_COMMAND, "smtp", "XYZZY", "XYZZY", NULL, 0, NULL, NULL, { NULL } },
  { "state-event", MS_EVENT_STATE, "smtp", NULL, NULL, NULL, 0, NULL, NULL, { NULL } },
};

static void
test_event (gconstpointer data)
{
  const EventCase *c = data;
  g_autoptr(MsExplain) explain = load_shipped ();
  g_autoptr(MsEvent) event = ms_event_new (c->kind, "alpha.test");
  g_autoptr(GPtrArray) entries = NULL;
  guint n = 0;

  ms_event_set_string (event, "proto", c->proto);
  ms_event_set_string (event, "verb", c->verb);
  ms_event_set_string (event, "text", c->text);
  if (c->kind == MS_EVENT_REPLY)
    ms_event_set_string (event, "status", c->status);
  if (c->code != 0)
    ms_event_set_int (event, "code", c->code);
  if (g_strcmp0 (c->extra_name, "continuation") == 0)
    ms_event_set_bool (event, "continuation", TRUE);
  else if (c->extra_name != NULL)
    ms_event_set_string (event, c->extra_name, c->extra_value);

  entries = ms_explain_event (explain, event);
  while (n < G_N_ELEMENTS (c->expected) && c->expected[n] != NULL)
    n++;
  g_assert_cmpuint (entries->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      const MsExplainEntry *entry = entries->pdata[i];

      g_assert_cmpstr (entry->rfc, ==, c->expected[i]);
      g_assert_nonnull (entry->meaning);
    }
}

static void
test_lookup (void)
{
  g_autoptr(MsExplain) explain = load_shipped ();
  const MsExplainEntry *auth = ms_explain_command (explain, "smtp", "auth");

  g_assert_nonnull (auth);
  g_assert_cmpstr (auth->rfc, ==, "RFC 4954 §4");
  g_assert_nonnull (auth->lesson);
  g_assert_nonnull (strstr (auth->lesson, "base64"));
  g_assert_null (ms_explain_command (explain, "smtp", "STLS"));
  g_assert_nonnull (ms_explain_command (explain, "pop3", "STLS"));
  g_assert_null (ms_explain_command (explain, "nntp", "GROUP"));
  g_assert_null (ms_explain_command (explain, NULL, "EHLO"));
  g_assert_null (ms_explain_reply (explain, "smtp", "2.0.0"));
  g_assert_nonnull (ms_explain_code (explain, "smtp", "2.0.0"));
  g_assert_nonnull (ms_explain_code (explain, "pop3", "sys/temp"));
  g_assert_null (ms_explain_code (explain, "imap", NULL));
  g_assert_nonnull (ms_explain_reply (explain, "smtp-relay", "250"));
  g_assert_null (ms_explain_state (explain, "smtp", "READY"));
}

/* ---- malformed files ---- */

#define ENTRY "{\"meaning\": \"m.\", \"rfc\": \"RFC 1 §1\"}"
#define SECTIONS(codes) \
  "{\"commands\": {\"QUIT\": " ENTRY "}, \"replies\": {REPLY: " ENTRY "}, " \
  "\"" codes "\": {CODE: " ENTRY "}, \"states\": {\"ready\": " ENTRY "}}"
/* A minimal valid file once fill_keys() has run; the cases below each
 * break one thing in it. */
static const char minimal[] =
  "{\"smtp\": " SECTIONS ("enhanced") ", \"pop3\": " SECTIONS ("codes") ", "
  "\"imap\": " SECTIONS ("codes") "}";

typedef struct {
  const char *name;
  const char *find;     /* replaced, first occurrence only; NULL for none */
  const char *replace;
  int code;             /* an MsExplainError */
  const char *message;  /* a part of the error message */
} BadCase;

static const BadCase bad_cases[] = {
  { "valid", NULL, NULL, 0, NULL },
  { "missing-rfc", "{\"meaning\": \"m.\", \"rfc\": \"RFC 1 §1\"}", "{\"meaning\": \"m.\"}",
    MS_EXPLAIN_ERROR_INVALID, "$.smtp.commands[\"QUIT\"].rfc: missing" },
  { "missing-meaning", "{\"meaning\": \"m.\", ", "{", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp.commands[\"QUIT\"].meaning: missing" },
  { "bad-reply-code", "\"250\"", "\"25\"", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp.replies[\"25\"]: the key is not" },
  { "bad-enhanced-code", "\"2.0.0\"", "\"6.0.0\"", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp.enhanced[\"6.0.0\"]: the key is not" },
  { "lower-case-verb", "\"QUIT\"", "\"quit\"", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp.commands[\"quit\"]: the key is not" },
  { "bad-rfc", "\"RFC 1 §1\"", "\"rfc5321\"", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp.commands[\"QUIT\"].rfc: \"rfc5321\" is not of the form" },
  { "unknown-member", "\"m.\", ", "\"m.\", \"see\": \"x\", ", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp.commands[\"QUIT\"]: unexpected member \"see\"" },
  { "empty-lesson", "\"m.\", ", "\"m.\", \"lesson\": \"\", ", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp.commands[\"QUIT\"].lesson: empty" },
  { "rfc-not-string", "\"RFC 1 §1\"", "5321", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp.commands[\"QUIT\"].rfc: not a string" },
  { "missing-protocol", "\"smtp\": ", "\"lmtp\": ", MS_EXPLAIN_ERROR_INVALID,
    "$: unexpected member \"lmtp\"" },
  { "wrong-section", "\"enhanced\"", "\"codes\"", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp: unexpected member \"codes\"" },
  { "empty-section", "{\"QUIT\": " ENTRY "}", "{}", MS_EXPLAIN_ERROR_INVALID,
    "$.smtp.commands: no entries" },
  { "not-json", "}", "", MS_EXPLAIN_ERROR_PARSE, "not valid JSON" },
};

static char *
replace_first (const char *text,
               const char *find,
               const char *replace)
{
  const char *at = strstr (text, find);

  g_assert_nonnull (at);
  return g_strdup_printf ("%.*s%s%s", (int) (at - text), text, replace, at + strlen (find));
}

/* The placeholders REPLY and CODE get valid keys of each protocol. */
static char *
fill_keys (const char *text)
{
  static const char * const keys[][2] = {
    { "REPLY", "\"250\"" }, { "CODE", "\"2.0.0\"" },
    { "REPLY", "\"+OK\"" }, { "CODE", "\"IN-USE\"" },
    { "REPLY", "\"OK\"" }, { "CODE", "\"TRYCREATE\"" },
  };
  char *filled = g_strdup (text);

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      char *next = replace_first (filled, keys[i][0], keys[i][1]);

      g_free (filled);
      filled = next;
    }
  return filled;
}

static void
test_bad_file (gconstpointer data)
{
  const BadCase *c = data;
  g_autofree char *valid = fill_keys (minimal);
  g_autofree char *text = c->find != NULL ? replace_first (valid, c->find, c->replace)
                                          : g_strdup (valid);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsExplain) explain = ms_explain_new_from_data (text, -1, &error);

  if (c->message == NULL)
    {
      g_assert_no_error (error);
      g_assert_nonnull (explain);
      g_assert_nonnull (ms_explain_code (explain, "imap", "TRYCREATE"));
      return;
    }
  g_assert_null (explain);
  g_assert_error (error, MS_EXPLAIN_ERROR, c->code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, c->message));
}

static void
test_missing_file (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsExplain) explain = ms_explain_new_from_file ("/nonexistent/explanations.json",
                                                           &error);

  g_assert_null (explain);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/common/explain/states", test_states);
  g_test_add_func ("/common/explain/commands", test_commands);
  g_test_add_func ("/common/explain/smtp-replies", test_smtp_replies);
  g_test_add_func ("/common/explain/pop3-replies", test_pop3_replies);
  g_test_add_func ("/common/explain/imap-replies", test_imap_replies);
  g_test_add_func ("/common/explain/lookup", test_lookup);
  g_test_add_func ("/common/explain/missing-file", test_missing_file);
  for (guint i = 0; i < G_N_ELEMENTS (event_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/common/explain/event/%s", event_cases[i].name);

      g_test_add_data_func (path, &event_cases[i], test_event);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/common/explain/bad-file/%s", bad_cases[i].name);

      g_test_add_data_func (path, &bad_cases[i], test_bad_file);
    }
  return g_test_run ();
}
