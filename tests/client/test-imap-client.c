/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-imap-client"

#include "config.h"

#include <string.h>

#include "ms-imap-client.h"

/* --- the sans-IO engine, driven from scripts ------------------------- */

typedef struct {
  MsImapClient *client;
  GString *sent;
  guint start_tls_calls;
  MsImapClientResult *result;
  guint done_calls;
  GString *events;         /* one line per untagged or tagged response, see describe_*() */
  GPtrArray *trace;        /* "C: ..." / "C*: ..." (secret) / "S: ..." / "SL: ..." (literal) */
} Harness;

static void
harness_send (const char *data,
              gsize len,
              gpointer user_data)
{
  Harness *h = user_data;

  g_string_append_len (h->sent, data, (gssize) len);
}

static void
harness_start_tls (gpointer user_data)
{
  Harness *h = user_data;

  h->start_tls_calls++;
}

static void
append_escaped (GString *text,
                const char *data,
                gsize len)
{
  g_autofree char *copy = g_strndup (data, len);
  g_autofree char *escaped = g_strescape (copy, NULL);

  g_string_append (text, escaped);
}

static void
describe_code (GString *text,
               const MsImapClientCode *code)
{
  if (code == NULL)
    return;
  g_string_append_printf (text, " [%s|%s]", code->name, code->args);
  if (code->number != 0)
    g_string_append_printf (text, " n=%u", code->number);
  if (code->uid != 0)
    g_string_append_printf (text, " uid=%u", code->uid);
  if (code->dest_set != NULL)
    g_string_append_printf (text, " src=%s dst=%s", code->source_set, code->dest_set);
}

static void
describe_names (GString *text,
                const char * const *names)
{
  g_autofree char *joined = g_strjoinv (",", (char **) names);

  g_string_append_printf (text, " (%s)", joined);
}

static void
harness_untagged (const MsImapClientUntagged *u,
                  gpointer user_data)
{
  Harness *h = user_data;
  GString *text = h->events;

  switch (u->kind)
    {
    case MS_IMAP_CLIENT_UNTAGGED_STATUS_RESPONSE:
      g_string_append_printf (text, "* %s", u->status);
      describe_code (text, u->code);
      g_string_append_printf (text, " %s", u->text);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_CAPABILITY:
      g_string_append (text, "* CAPABILITY");
      describe_names (text, u->names);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_LIST:
    case MS_IMAP_CLIENT_UNTAGGED_LSUB:
      g_string_append (text, u->kind == MS_IMAP_CLIENT_UNTAGGED_LIST ? "* LIST" : "* LSUB");
      describe_names (text, u->names);
      g_string_append_printf (text, " %c %s", u->delimiter ? u->delimiter : '0', u->mailbox);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_STATUS:
      g_string_append_printf (text, "* STATUS %s", u->mailbox);
      describe_names (text, u->status_items);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_FLAGS:
      g_string_append (text, "* FLAGS");
      describe_names (text, u->names);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_EXISTS:
      g_string_append_printf (text, "* EXISTS %u", u->number);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_RECENT:
      g_string_append_printf (text, "* RECENT %u", u->number);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_EXPUNGE:
      g_string_append_printf (text, "* EXPUNGE %u", u->number);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_FETCH:
      g_string_append_printf (text, "* FETCH %u", u->fetch->seq);
      if (u->fetch->uid != 0)
        g_string_append_printf (text, " uid=%u", u->fetch->uid);
      if (u->fetch->has_flags)
        describe_names (text, u->fetch->flags);
      if (u->fetch->has_size)
        g_string_append_printf (text, " size=%" G_GUINT64_FORMAT, u->fetch->size);
      if (u->fetch->internal_date != NULL)
        g_string_append_printf (text, " date=%s", u->fetch->internal_date);
      for (guint i = 0; i < u->fetch->sections->len; i++)
        {
          const MsImapClientSection *section = g_ptr_array_index (u->fetch->sections, i);
          gsize len = 0;
          const char *data = g_bytes_get_data (section->data, &len);

          g_string_append_printf (text, " %s=", section->name);
          append_escaped (text, data ? data : "", len);
        }
      break;
    case MS_IMAP_CLIENT_UNTAGGED_SEARCH:
      g_string_append (text, "* SEARCH");
      for (guint i = 0; i < u->numbers->len; i++)
        g_string_append_printf (text, " %u", g_array_index (u->numbers, guint32, i));
      break;
    case MS_IMAP_CLIENT_UNTAGGED_OTHER:
    default:
      g_string_append_printf (text, "* other %s", u->text);
      break;
    }
  g_string_append_c (text, '\n');
}

static void
harness_response (const MsImapClientResponse *r,
                  gpointer user_data)
{
  Harness *h = user_data;

  g_string_append_printf (h->events, "%s %s %s", r->tag, ms_imap_client_command_to_string (r->kind),
                          r->status);
  describe_code (h->events, r->code);
  g_string_append_printf (h->events, " %s\n", r->text);
}

static void
harness_done (MsImapClientResult *result,
              gpointer user_data)
{
  Harness *h = user_data;

  h->done_calls++;
  g_assert_null (h->result);
  h->result = result;
}

static void
harness_trace (char direction,
               const char *text,
               gsize len,
               MsImapClientTraceFlags flags,
               gpointer user_data)
{
  Harness *h = user_data;

  g_ptr_array_add (h->trace, g_strdup_printf ("%c%s%s: %.*s", direction,
                                              flags & MS_IMAP_CLIENT_TRACE_SECRET ? "*" : "",
                                              flags & MS_IMAP_CLIENT_TRACE_LITERAL ? "L" : "",
                                              (int) len, text));
}

static const MsImapClientOutput harness_output = {
  .send = harness_send,
  .start_tls = harness_start_tls,
  .untagged = harness_untagged,
  .response = harness_response,
  .done = harness_done,
  .trace = harness_trace,
};

static void
harness_init (Harness *h,
              const MsImapClientParams *params)
{
  h->sent = g_string_new (NULL);
  h->events = g_string_new (NULL);
  h->trace = g_ptr_array_new_with_free_func (g_free);
  h->client = ms_imap_client_new (params, &harness_output, h);
  g_assert_nonnull (h->client);
}

static void
harness_clear (Harness *h)
{
  g_clear_pointer (&h->client, ms_imap_client_free);
  g_string_free (h->sent, TRUE);
  g_string_free (h->events, TRUE);
  g_ptr_array_unref (h->trace);
  g_clear_pointer (&h->result, ms_imap_client_result_free);
}

static void
harness_feed (Harness *h,
              const char *data,
              gboolean bytewise)
{
  gsize len = strlen (data);

  if (!bytewise)
    {
      ms_imap_client_feed (h->client, data, len);
      return;
    }
  for (gsize i = 0; i < len; i++)
    ms_imap_client_feed (h->client, data + i, 1);
}

/* --- the script table ------------------------------------------------ */

#define GREETING "* OK [CAPABILITY IMAP4rev1 LITERAL+ AUTH=PLAIN IDLE MOVE UIDPLUS] ready\r\n"
#define LOGGED_IN "a1 OK [CAPABILITY IMAP4rev1 LITERAL+ IDLE MOVE UIDPLUS] Logged in\r\n"
#define LOGIN "a1 LOGIN \"alice\" \"pw\"\r\n"
#define BYE_OK(tag) "* BYE bye\r\n" tag " OK Logout completed\r\n"

typedef struct {
  const char *name;
  MsImapClientTlsMode tls;
  MsImapClientAuth auth;
  const char *password;            /* NULL = "pw" */
  gsize max_line_length;
  gsize max_literal_size;
  guint max_depth;
  MsImapClientCommand commands[6]; /* queued before the greeting; kind 0 (CAPABILITY) ends */
  /* The server's bytes. "@idle_done" calls ms_imap_client_idle_done(),
   * "@tls_ok" ms_imap_client_tls_done(TRUE) (after checking start_tls ran). */
  const char *server[6];
  const char *sent;                /* every byte the client sent */
  const char *events;              /* untagged and tagged responses, see harness_*() */
  MsImapClientStatus status;
  const char *text;                /* a part of the result's text */
} ScriptCase;

static GBytes *
static_bytes (const char *text)
{
  return g_bytes_new_static (text, strlen (text));
}

static const ScriptCase script_cases[] = {
  {
    "login-list-logout", .commands = {
      { MS_IMAP_CLIENT_CMD_LIST, .mailbox = "*" },
      { MS_IMAP_CLIENT_CMD_LOGOUT },
    },
    .server = {
      GREETING LOGGED_IN
      "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
      "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent \\\"Mail\\\"\"\r\n"
      "* LIST () \"/\" {9}\r\nEntw&APw-\r\n"
      "* LIST (\\Noselect) NIL Flat\r\n"
      "a2 OK List done\r\n" BYE_OK ("a3"),
    },
    .sent = LOGIN "a2 LIST \"\" \"*\"\r\na3 LOGOUT\r\n",
    .events = "* LIST (\\HasNoChildren) / INBOX\n"
              "* LIST (\\HasNoChildren,\\Sent) / Sent \"Mail\"\n"
              "* LIST () / Entwü\n"
              "* LIST (\\Noselect) 0 Flat\n"
              "a2 LIST OK List done\n"
              "* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK, .text = "Logout completed",
  },
  {
    "capability-asked-when-not-in-greeting", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = {
      "* OK hello\r\n"
      "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na1 OK done\r\n"
      "a2 OK Logged in\r\n"
      "* CAPABILITY IMAP4rev1 IDLE\r\na3 OK done\r\n"
      "a4 OK NOOP done\r\n",
    },
    .sent = "a1 CAPABILITY\r\na2 LOGIN \"alice\" \"pw\"\r\na3 CAPABILITY\r\na4 NOOP\r\n",
    .events = "* CAPABILITY (IMAP4rev1,AUTH=PLAIN)\n* CAPABILITY (IMAP4rev1,IDLE)\na4 NOOP OK NOOP done\n",
    .status = MS_IMAP_CLIENT_STATUS_TEMP_FAILURE, .text = "connection closed in state authenticated",
  },
  {
    "select-fetch-literals", .commands = {
      { MS_IMAP_CLIENT_CMD_SELECT, .mailbox = "INBOX" },
      { MS_IMAP_CLIENT_CMD_FETCH, .uid = TRUE, .set = "7", .args = "(UID FLAGS BODY[])" },
      { MS_IMAP_CLIENT_CMD_LOGOUT },
    },
    .server = {
      GREETING LOGGED_IN
      "* FLAGS (\\Answered \\Seen)\r\n* 3 EXISTS\r\n* 0 RECENT\r\n"
      "* OK [UIDVALIDITY 42] UIDs valid\r\n"
      "a2 OK [READ-WRITE] Select completed\r\n"
      "* 2 FETCH (UID 7 FLAGS (\\Seen) RFC822.SIZE 14 INTERNALDATE \"01-Jan-2024 10:00:00 +0000\" "
      "BODY[] {14}\r\nA: {5}\r\n\r\nhi\r\n BODY[HEADER.FIELDS (DATE FROM)] NIL)\r\n",
      "a3 OK Fetch completed\r\n" BYE_OK ("a4"),
    },
    .sent = LOGIN "a2 SELECT \"INBOX\"\r\na3 UID FETCH 7 (UID FLAGS BODY[])\r\na4 LOGOUT\r\n",
    .events = "* FLAGS (\\Answered,\\Seen)\n* EXISTS 3\n* RECENT 0\n"
              "* OK [UIDVALIDITY|42] n=42 UIDs valid\n"
              "a2 SELECT OK [READ-WRITE|] Select completed\n"
              "* FETCH 2 uid=7 (\\Seen) size=14 date=01-Jan-2024 10:00:00 +0000 "
              "BODY[]=A: {5}\\r\\n\\r\\nhi\\r\\n BODY[HEADER.FIELDS (DATE FROM)]=\n"
              "a3 FETCH OK Fetch completed\n* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK,
  },
  {
    "append-synchronising-literal", .commands = {
      { MS_IMAP_CLIENT_CMD_APPEND, .mailbox = "Drafts", .args = "(\\Seen)" },
      { MS_IMAP_CLIENT_CMD_LOGOUT },
    },
    .server = {
      "* OK [CAPABILITY IMAP4rev1] hi\r\na1 OK [CAPABILITY IMAP4rev1 UIDPLUS] in\r\n"
      "+ Ready for literal data\r\n"
      "a2 OK [APPENDUID 38505 3955] Append completed\r\n" BYE_OK ("a3"),
    },
    .sent = LOGIN "a2 APPEND \"Drafts\" (\\Seen) {9}\r\nSubject:\n\r\na3 LOGOUT\r\n",
    .events = "a2 APPEND OK [APPENDUID|38505 3955] n=38505 uid=3955 Append completed\n* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK,
  },
  {
    "append-literal-plus-and-copyuid", .commands = {
      { MS_IMAP_CLIENT_CMD_APPEND, .mailbox = "Entwürfe" },
      { MS_IMAP_CLIENT_CMD_COPY, .uid = TRUE, .set = "1:2", .mailbox = "Archive" },
      { MS_IMAP_CLIENT_CMD_LOGOUT },
    },
    .server = {
      GREETING LOGGED_IN "a2 OK appended\r\n"
      "a3 OK [COPYUID 7 1:2 10:11] Copy completed\r\n" BYE_OK ("a4"),
    },
    .sent = LOGIN "a2 APPEND \"Entw&APw-rfe\" {9+}\r\nSubject:\n\r\n"
            "a3 UID COPY 1:2 \"Archive\"\r\na4 LOGOUT\r\n",
    .events = "a2 APPEND OK appended\n"
              "a3 COPY OK [COPYUID|7 1:2 10:11] n=7 src=1:2 dst=10:11 Copy completed\n* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK,
  },
  {
    "status-search-expunge", .commands = {
      { MS_IMAP_CLIENT_CMD_STATUS, .mailbox = "INBOX", .args = "(MESSAGES UNSEEN)" },
      { MS_IMAP_CLIENT_CMD_SEARCH, .uid = TRUE, .args = "UNSEEN FROM \"bob\"" },
      { MS_IMAP_CLIENT_CMD_EXPUNGE },
      { MS_IMAP_CLIENT_CMD_LOGOUT },
    },
    .server = {
      GREETING LOGGED_IN
      "* STATUS \"INBOX\" (MESSAGES 3 UNSEEN 1)\r\na2 OK done\r\n"
      "* SEARCH 4 9\r\na3 OK done\r\n"
      "* 2 EXPUNGE\r\n* 2 EXPUNGE\r\na4 OK done\r\n" BYE_OK ("a5"),
    },
    .sent = LOGIN "a2 STATUS \"INBOX\" (MESSAGES UNSEEN)\r\na3 UID SEARCH UNSEEN FROM \"bob\"\r\n"
            "a4 EXPUNGE\r\na5 LOGOUT\r\n",
    .events = "* STATUS INBOX (MESSAGES,3,UNSEEN,1)\na2 STATUS OK done\n"
              "* SEARCH 4 9\na3 SEARCH OK done\n"
              "* EXPUNGE 2\n* EXPUNGE 2\na4 EXPUNGE OK done\n* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK,
  },
  {
    "refusal-keeps-the-session", .commands = {
      { MS_IMAP_CLIENT_CMD_CREATE, .mailbox = "Archive" },
      { MS_IMAP_CLIENT_CMD_LOGOUT },
    },
    .server = {
      GREETING LOGGED_IN "a2 NO [ALREADYEXISTS] Mailbox already exists\r\n" BYE_OK ("a3"),
    },
    .sent = LOGIN "a2 CREATE \"Archive\"\r\na3 LOGOUT\r\n",
    .events = "a2 CREATE NO [ALREADYEXISTS|] Mailbox already exists\n* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK,
  },
  {
    "idle-done", .commands = {
      { MS_IMAP_CLIENT_CMD_IDLE },
      { MS_IMAP_CLIENT_CMD_LOGOUT },
    },
    .server = {
      GREETING LOGGED_IN "+ idling\r\n* 4 EXISTS\r\n* 1 EXPUNGE\r\n"
      "* 3 FETCH (FLAGS (\\Seen \\Flagged))\r\n",
      "@idle_done",
      "a2 OK Idle completed\r\n" BYE_OK ("a3"),
    },
    .sent = LOGIN "a2 IDLE\r\nDONE\r\na3 LOGOUT\r\n",
    .events = "* EXISTS 4\n* EXPUNGE 1\n* FETCH 3 (\\Seen,\\Flagged)\na2 IDLE OK Idle completed\n* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK,
  },
  {
    "authenticate-plain-sasl-ir", .auth = MS_IMAP_CLIENT_AUTH_PLAIN, .commands = { { MS_IMAP_CLIENT_CMD_LOGOUT } },
    .server = { "* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN] hi\r\na1 OK [CAPABILITY IMAP4rev1] in\r\n"
                BYE_OK ("a2") },
    /* base64 of "\0alice\0pw" */
    .sent = "a1 AUTHENTICATE PLAIN AGFsaWNlAHB3\r\na2 LOGOUT\r\n",
    .events = "* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK,
  },
  {
    "authenticate-plain-continuation", .auth = MS_IMAP_CLIENT_AUTH_ANY, .commands = { { MS_IMAP_CLIENT_CMD_LOGOUT } },
    .server = { "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hi\r\n+ \r\na1 OK [CAPABILITY IMAP4rev1] in\r\n"
                BYE_OK ("a2") },
    .sent = "a1 AUTHENTICATE PLAIN\r\nAGFsaWNlAHB3\r\na2 LOGOUT\r\n",
    .events = "* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK,
  },
  {
    "login-refused", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING "a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n" BYE_OK ("a2") },
    .sent = LOGIN "a2 LOGOUT\r\n",
    .events = "* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_AUTH_FAILURE, .text = "Authentication failed",
  },
  {
    "logindisabled", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { "* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] hi\r\n" BYE_OK ("a1") },
    .sent = "a1 LOGOUT\r\n",
    .events = "* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_AUTH_FAILURE, .text = "LOGINDISABLED",
  },
  {
    "starttls", .tls = MS_IMAP_CLIENT_TLS_STARTTLS, .commands = { { MS_IMAP_CLIENT_CMD_LOGOUT } },
    .server = { "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] hi\r\na1 OK Begin TLS\r\n",
                "@tls_ok",
                "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\na2 OK done\r\na3 OK [CAPABILITY IMAP4rev1] in\r\n"
                BYE_OK ("a4") },
    .sent = "a1 STARTTLS\r\na2 CAPABILITY\r\na3 LOGIN \"alice\" \"pw\"\r\na4 LOGOUT\r\n",
    .events = "* CAPABILITY (IMAP4rev1,AUTH=PLAIN)\n* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_OK,
  },
  {
    "starttls-not-offered", .tls = MS_IMAP_CLIENT_TLS_STARTTLS, .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { "* OK [CAPABILITY IMAP4rev1] hi\r\n" BYE_OK ("a1") },
    .sent = "a1 LOGOUT\r\n",
    .events = "* BYE bye\n",
    .status = MS_IMAP_CLIENT_STATUS_TLS_FAILURE, .text = "STARTTLS",
  },
  {
    "bye-greeting", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { "* BYE too many connections\r\n" },
    .sent = "",
    .events = "",
    .status = MS_IMAP_CLIENT_STATUS_TEMP_FAILURE, .text = "too many connections",
  },
  {
    "bye-in-session", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING LOGGED_IN "* BYE Server shutting down\r\n" },
    .sent = LOGIN "a2 NOOP\r\n",
    .events = "* BYE Server shutting down\n",
    /* Not finished until the connection closes; the outcome is decided. */
    .status = MS_IMAP_CLIENT_STATUS_TEMP_FAILURE, .text = "shutting down",
  },
  /* Malformed responses: each ends the session as a protocol error. */
  {
    "bad-greeting", .server = { "HELLO there\r\n" },
    .sent = "", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "no command in flight",
  },
  {
    "unclosed-quoted", .commands = { { MS_IMAP_CLIENT_CMD_LIST, .mailbox = "*" } },
    .server = { GREETING LOGGED_IN "* LIST () \"/\" \"INBOX\r\n" },
    .sent = LOGIN "a2 LIST \"\" \"*\"\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "quoted string is not closed",
  },
  {
    "too-deep", .max_depth = 3, .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING LOGGED_IN "* 1 FETCH (BODYSTRUCTURE (((\"a\"))))\r\n" },
    .sent = LOGIN "a2 NOOP\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "nested too deep",
  },
  {
    "line-too-long", .max_line_length = 40, .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { "* OK [CAPABILITY IMAP4rev1] hi\r\n"
                "a1 OK [CAPABILITY IMAP4rev1] in\r\n"
                "* OK 123456789012345678901234567890123456789\r\n" },
    .sent = LOGIN "a2 NOOP\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "longer than 40",
  },
  {
    "literal-too-big", .max_literal_size = 10, .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING LOGGED_IN "* 1 FETCH (BODY[] {11}\r\n01234567890)\r\n" },
    .sent = LOGIN "a2 NOOP\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "over the limit of 10",
  },
  {
    "literal-size-overflow", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING LOGGED_IN "* 1 FETCH (BODY[] {99999999999})\r\n" },
    .sent = LOGIN "a2 NOOP\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "literal",
  },
  {
    "wrong-tag", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING LOGGED_IN "a7 OK what\r\n" },
    .sent = LOGIN "a2 NOOP\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "expected \"a2\"",
  },
  {
    "fetch-odd-pairs", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING LOGGED_IN "* 1 FETCH (UID)\r\n" },
    .sent = LOGIN "a2 NOOP\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "name-value pairs",
  },
  {
    "fetch-uid-not-a-number", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING LOGGED_IN "* 1 FETCH (UID x1)\r\n" },
    .sent = LOGIN "a2 NOOP\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "UID is not a number",
  },
  {
    "unexpected-continuation", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING LOGGED_IN "+ go on\r\n" },
    .sent = LOGIN "a2 NOOP\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "continuation",
  },
  {
    "junk-after-number", .commands = { { MS_IMAP_CLIENT_CMD_NOOP } },
    .server = { GREETING LOGGED_IN "* OK a\001b\r\n* 1 EXISTS junk\r\n" },
    .sent = LOGIN "a2 NOOP\r\n", .events = "* OK a\001b\n",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "text after a number",
  },
  {
    "data-before-tls", .tls = MS_IMAP_CLIENT_TLS_STARTTLS,
    .server = { "* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\na1 OK Begin TLS\r\n* OK injected\r\n" },
    .sent = "a1 STARTTLS\r\n", .events = "",
    .status = MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, .text = "before the TLS handshake",
  },
};

static void
run_script (const ScriptCase *c,
            gboolean bytewise)
{
  MsImapClientParams params = {
    .tls = c->tls,
    .auth = c->auth,
    .username = "alice",
    .password = c->password ? c->password : "pw",
    .max_line_length = c->max_line_length,
    .max_literal_size = c->max_literal_size,
    .max_depth = c->max_depth,
  };
  Harness h = { 0 };

  harness_init (&h, &params);
  for (guint i = 0; i < G_N_ELEMENTS (c->commands); i++)
    {
      MsImapClientCommand command = c->commands[i];
      g_autoptr(GBytes) message = static_bytes ("Subject:\n");

      if (command.kind == MS_IMAP_CLIENT_CMD_CAPABILITY)
        break;
      if (command.kind == MS_IMAP_CLIENT_CMD_APPEND)
        command.message = message;
      g_assert_true (ms_imap_client_enqueue (h.client, &command));
    }
  g_assert_cmpstr (h.sent->str, ==, "");

  for (guint i = 0; i < G_N_ELEMENTS (c->server) && c->server[i] != NULL; i++)
    {
      if (g_str_equal (c->server[i], "@idle_done"))
        {
          g_assert_cmpstr (ms_imap_client_state_to_string (ms_imap_client_get_state (h.client)), ==, "idle");
          ms_imap_client_idle_done (h.client);
        }
      else if (g_str_equal (c->server[i], "@tls_ok"))
        {
          g_assert_cmpuint (h.start_tls_calls, ==, 1);
          ms_imap_client_tls_done (h.client, TRUE, NULL);
        }
      else
        harness_feed (&h, c->server[i], bytewise);
    }
  if (h.result == NULL)
    ms_imap_client_connection_closed (h.client, "test over");

  g_assert_cmpstr (h.sent->str, ==, c->sent);
  g_assert_cmpstr (h.events->str, ==, c->events);
  g_assert_cmpuint (h.done_calls, ==, 1);
  g_assert_nonnull (h.result);
  g_assert_cmpstr (ms_imap_client_status_to_string (h.result->status), ==,
                   ms_imap_client_status_to_string (c->status));
  if (c->text != NULL && strstr (h.result->text, c->text) == NULL)
    g_error ("result text \"%s\" lacks \"%s\"", h.result->text, c->text);
  /* Nothing after done: more bytes are ignored. */
  harness_feed (&h, "* 1 EXISTS\r\n", FALSE);
  g_assert_cmpuint (h.done_calls, ==, 1);
  harness_clear (&h);
}

static void
test_script_whole (gconstpointer data)
{
  run_script (data, FALSE);
}

static void
test_script_bytewise (gconstpointer data)
{
  run_script (data, TRUE);
}

/* --- secrets, quoting, limits on commands ---------------------------- */

static void
test_mask_secret (void)
{
  static const struct {
    const char *line;
    const char *masked;
  } cases[] = {
    { "a1 LOGIN \"alice\" \"s3cret word\"", "a1 LOGIN \"alice\" ****" },
    { "a1 AUTHENTICATE PLAIN AGFsaWNlAHB3", "a1 AUTHENTICATE PLAIN ****" },
    { "AGFsaWNlAHB3", "****" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *masked = ms_imap_client_mask_secret (cases[i].line, "****");
      g_assert_cmpstr (masked, ==, cases[i].masked);
    }
}

static void
test_secret_traced (void)
{
  MsImapClientParams params = { .username = "alice", .password = "pw" };
  Harness h = { 0 };
  gboolean found = FALSE;

  harness_init (&h, &params);
  harness_feed (&h, GREETING, FALSE);
  for (guint i = 0; i < h.trace->len; i++)
    if (g_str_equal (g_ptr_array_index (h.trace, i), "C*: a1 LOGIN \"alice\" \"pw\""))
      found = TRUE;
  g_assert_true (found);
  harness_clear (&h);
}

static void
test_append_quoted (void)
{
  static const struct {
    const char *text;
    const char *quoted;     /* NULL: refused */
  } cases[] = {
    { "INBOX", "\"INBOX\"" },
    { "a \"b\" \\c", "\"a \\\"b\\\" \\\\c\"" },
    { "", "\"\"" },
    { "line\r\nbreak", NULL },
    { "8bit\xc3\xa9", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GString) out = g_string_new (NULL);
      gboolean ok = ms_imap_client_append_quoted (out, cases[i].text);

      g_assert_cmpint (ok, ==, cases[i].quoted != NULL);
      g_assert_cmpstr (out->str, ==, cases[i].quoted ? cases[i].quoted : "");
    }
}

static void
test_enqueue_refuses_line_breaks (void)
{
  MsImapClientParams params = { .username = "alice", .password = "pw" };
  MsImapClientCommand search = { MS_IMAP_CLIENT_CMD_SEARCH, .args = "ALL\r\na9 LOGOUT" };
  MsImapClientCommand create = { MS_IMAP_CLIENT_CMD_CREATE, .mailbox = "bad\xff" };
  MsImapClientCommand fetch = { MS_IMAP_CLIENT_CMD_FETCH, .set = "1 2", .args = "(UID)" };
  Harness h = { 0 };

  harness_init (&h, &params);
  g_test_expect_message ("ms-imap-client", G_LOG_LEVEL_WARNING, "*line break*");
  g_assert_false (ms_imap_client_enqueue (h.client, &search));
  g_test_expect_message ("ms-imap-client", G_LOG_LEVEL_WARNING, "*not valid UTF-8*");
  g_assert_false (ms_imap_client_enqueue (h.client, &create));
  g_test_expect_message ("ms-imap-client", G_LOG_LEVEL_WARNING, "*line break*");
  g_assert_false (ms_imap_client_enqueue (h.client, &fetch));
  g_test_assert_expected_messages ();
  g_assert_cmpuint (ms_imap_client_get_queue_length (h.client), ==, 0);
  harness_clear (&h);
}

/* The framing tells a line-reading driver how many raw octets to read. */
static void
test_literal_pending (void)
{
  MsImapClientParams params = { .username = "alice", .password = "pw" };
  MsImapClientCommand noop = { MS_IMAP_CLIENT_CMD_NOOP };
  Harness h = { 0 };

  harness_init (&h, &params);
  g_assert_true (ms_imap_client_enqueue (h.client, &noop));
  harness_feed (&h, GREETING LOGGED_IN "* 1 FETCH (BODY[] {5}\r\nab", FALSE);
  g_assert_cmpuint (ms_imap_client_get_literal_pending (h.client), ==, 3);
  harness_feed (&h, "c\r\n)\r\n", FALSE);
  g_assert_cmpuint (ms_imap_client_get_literal_pending (h.client), ==, 0);
  g_assert_cmpstr (h.events->str, ==, "* FETCH 1 BODY[]=abc\\r\\n\n");
  g_assert_null (h.result);
  harness_clear (&h);
}

static void
test_state_names (void)
{
  for (guint i = 0; i < MS_IMAP_CLIENT_N_STATES; i++)
    g_assert_cmpstr (ms_imap_client_state_to_string (i), !=, "unknown");
  g_assert_cmpstr (ms_imap_client_state_to_string (MS_IMAP_CLIENT_N_STATES), ==, "unknown");
  g_assert_cmpstr (ms_imap_client_state_to_string (MS_IMAP_CLIENT_STATE_APPEND_LITERAL), ==,
                   "append-literal");
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (script_cases); i++)
    {
      g_autofree char *whole = g_strdup_printf ("/client/imap-client/script/%s", script_cases[i].name);
      g_autofree char *bytes = g_strdup_printf ("/client/imap-client/script-bytewise/%s",
                                                script_cases[i].name);

      g_test_add_data_func (whole, &script_cases[i], test_script_whole);
      g_test_add_data_func (bytes, &script_cases[i], test_script_bytewise);
    }
  g_test_add_func ("/client/imap-client/mask-secret", test_mask_secret);
  g_test_add_func ("/client/imap-client/secret-traced", test_secret_traced);
  g_test_add_func ("/client/imap-client/append-quoted", test_append_quoted);
  g_test_add_func ("/client/imap-client/enqueue-refuses-line-breaks", test_enqueue_refuses_line_breaks);
  g_test_add_func ("/client/imap-client/literal-pending", test_literal_pending);
  g_test_add_func ("/client/imap-client/state-names", test_state_names);
  return g_test_run ();
}
