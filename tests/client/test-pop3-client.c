/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-pop3-client"

#include "config.h"

#include <string.h>

#include "ms-pop3-client.h"

/* --- the sans-IO engine, driven from scripts ------------------------- */

typedef struct {
  GString *sent;
  guint start_tls_calls;
  MsPop3ClientResult *result;
  guint done_calls;
  GPtrArray *responses;    /* one summary string per response, see describe_response() */
  GPtrArray *trace;        /* "C: ..." / "C*: ..." (secret) / "S: ..." / "SD: ..." (data) */
  GPtrArray *states;       /* state names in order */
} Harness;

static void
harness_send (const char *data,
              gsize len,
              gpointer user_data)
{
  Harness *h = user_data;

  g_string_append_len (h->sent, data, len);
}

static void
harness_start_tls (gpointer user_data)
{
  Harness *h = user_data;

  h->start_tls_calls++;
}

/* "RETR 1 +OK [CODE] text | count=.. size=.. | 1:size 2:size | msg=escaped". */
static char *
describe_response (const MsPop3ClientResponse *response)
{
  GString *text = g_string_new (ms_pop3_client_command_to_string (response->command));

  if (response->msg != 0)
    g_string_append_printf (text, " %u", response->msg);
  g_string_append (text, response->ok ? " +OK" : " -ERR");
  if (response->resp_code != NULL)
    g_string_append_printf (text, " [%s]", response->resp_code);
  if (response->command == MS_POP3_CLIENT_CMD_STAT && response->ok)
    g_string_append_printf (text, " count=%u size=%" G_GUINT64_FORMAT, response->count, response->size);
  if (response->entries != NULL)
    for (guint i = 0; i < response->entries->len; i++)
      {
        const MsPop3ClientListEntry *entry = &g_array_index (response->entries, MsPop3ClientListEntry, i);

        if (entry->uid != NULL)
          g_string_append_printf (text, " %u:%s", entry->msg, entry->uid);
        else
          g_string_append_printf (text, " %u:%" G_GUINT64_FORMAT, entry->msg, entry->size);
      }
  if (response->message != NULL)
    {
      gsize len = 0;
      const char *data = g_bytes_get_data (response->message, &len);
      g_autofree char *copy = g_strndup (data, len);
      g_autofree char *escaped = g_strescape (copy, NULL);

      g_string_append_printf (text, " msg=%s", escaped);
    }
  return g_string_free (text, FALSE);
}

static void
harness_response (const MsPop3ClientResponse *response,
                  gpointer user_data)
{
  Harness *h = user_data;

  g_ptr_array_add (h->responses, describe_response (response));
}

static void
harness_done (MsPop3ClientResult *result,
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
               MsPop3ClientTraceFlags flags,
               gpointer user_data)
{
  Harness *h = user_data;

  g_assert_cmpuint (strlen (text), <=, len);
  g_ptr_array_add (h->trace, g_strdup_printf ("%c%s%s: %s", direction,
                                              flags & MS_POP3_CLIENT_TRACE_SECRET ? "*" : "",
                                              flags & MS_POP3_CLIENT_TRACE_DATA ? "D" : "", text));
}

static void
harness_state_changed (MsPop3ClientState old_state,
                       MsPop3ClientState new_state,
                       gpointer user_data)
{
  Harness *h = user_data;

  g_ptr_array_add (h->states, g_strdup (ms_pop3_client_state_to_string (new_state)));
}

static const MsPop3ClientOutput harness_output = {
  .send = harness_send,
  .start_tls = harness_start_tls,
  .response = harness_response,
  .done = harness_done,
  .trace = harness_trace,
  .state_changed = harness_state_changed,
};

static void
harness_init (Harness *h)
{
  h->sent = g_string_new (NULL);
  h->responses = g_ptr_array_new_with_free_func (g_free);
  h->trace = g_ptr_array_new_with_free_func (g_free);
  h->states = g_ptr_array_new_with_free_func (g_free);
}

static void
harness_clear (Harness *h)
{
  g_string_free (h->sent, TRUE);
  g_ptr_array_unref (h->responses);
  g_ptr_array_unref (h->trace);
  g_ptr_array_unref (h->states);
  ms_pop3_client_result_free (h->result);
}

#define MAX_SCRIPT 48
#define MAX_OPS 8

typedef struct {
  MsPop3ClientCommand command;
  guint msg;
  guint lines;
} Op;

typedef struct {
  const char *name;
  MsPop3ClientTlsMode tls;
  MsPop3ClientAuth auth;
  const char *password;      /* NULL = "alicepw" */
  gsize max_line_length;
  gsize max_data_line_length;
  gsize max_message_size;
  /* Queued before the greeting; QUIT is added after them unless no_quit. */
  Op ops[MAX_OPS];
  guint n_ops;
  gboolean no_quit;
  /* "S:line" is fed, "C:line" must be sent (CRLF added), "TLS" expects
   * start_tls and completes the handshake, "TLS-FAIL" fails it, "CLOSE"
   * reports the connection closed. */
  const char *script[MAX_SCRIPT];
  const char *responses[MAX_OPS + 1]; /* describe_response() of each, in order */
  MsPop3ClientStatus status;
  gboolean committed;
  gboolean tls_result;
  const char *resp_code;
  const char *text_contains;
} ScriptCase;

#define GREETING "S:+OK POP3 server ready <1896.697170952@beta.test>"
#define CAPA_PLAIN "C:CAPA", "S:+OK Capability list follows", "S:TOP", "S:UIDL", "S:USER", "S:."
#define LOGIN "C:USER alice", "S:+OK", "C:PASS alicepw", "S:+OK maildrop has 2 messages"
#define QUIT_OK "C:QUIT", "S:+OK bye"

static const ScriptCase script_cases[] = {
  {
    .name = "list-and-uidl",
    .ops = { { MS_POP3_CLIENT_CMD_STAT }, { MS_POP3_CLIENT_CMD_LIST }, { MS_POP3_CLIENT_CMD_UIDL },
             { MS_POP3_CLIENT_CMD_LIST, 2 }, { MS_POP3_CLIENT_CMD_UIDL, 1 } },
    .n_ops = 5,
    .script = {
      GREETING, CAPA_PLAIN, LOGIN,
      "C:STAT", "S:+OK 2 320",
      "C:LIST", "S:+OK 2 messages (320 octets)", "S:1 120", "S:2 200", "S:.",
      "C:UIDL", "S:+OK", "S:1 whqtswO00WBw418f9t5JxYwZ", "S:2 QhdPYR:00WBw1Ph7x7", "S:.",
      "C:LIST 2", "S:+OK 2 200",
      "C:UIDL 1", "S:+OK 1 whqtswO00WBw418f9t5JxYwZ",
      QUIT_OK,
    },
    .responses = {
      "STAT +OK count=2 size=320", "LIST +OK 1:120 2:200",
      "UIDL +OK 1:whqtswO00WBw418f9t5JxYwZ 2:QhdPYR:00WBw1Ph7x7",
      "LIST 2 +OK 2:200", "UIDL 1 +OK 1:whqtswO00WBw418f9t5JxYwZ",
    },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    /* RFC 1939 §3: a line that starts with "." comes with one more. */
    .name = "retr-dot-unstuffing",
    .ops = { { MS_POP3_CLIENT_CMD_RETR, 1 }, { MS_POP3_CLIENT_CMD_DELE, 1 } },
    .n_ops = 2,
    .script = {
      GREETING, CAPA_PLAIN, LOGIN,
      "C:RETR 1", "S:+OK 120 octets",
      "S:Subject: hi", "S:", "S:..leading dot", "S:...", "S:.. ", "S:end.", "S:.",
      "C:DELE 1", "S:+OK message 1 deleted",
      QUIT_OK,
    },
    .responses = {
      "RETR 1 +OK msg=Subject: hi\\r\\n\\r\\n.leading dot\\r\\n..\\r\\n. \\r\\nend.\\r\\n",
      "DELE 1 +OK",
    },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    .name = "top-header-only",
    .ops = { { MS_POP3_CLIENT_CMD_TOP, 2, 0 } },
    .n_ops = 1,
    .script = {
      GREETING, CAPA_PLAIN, LOGIN,
      "C:TOP 2 0", "S:+OK", "S:Subject: two", "S:", "S:.",
      QUIT_OK,
    },
    .responses = { "TOP 2 +OK msg=Subject: two\\r\\n\\r\\n" },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    /* An -ERR to an operation is reported; the session goes on. */
    .name = "retr-refused-then-rset-noop",
    .ops = { { MS_POP3_CLIENT_CMD_RETR, 9 }, { MS_POP3_CLIENT_CMD_RSET }, { MS_POP3_CLIENT_CMD_NOOP } },
    .n_ops = 3,
    .script = {
      GREETING, CAPA_PLAIN, LOGIN,
      "C:RETR 9", "S:-ERR [SYS/PERM] no such message",
      "C:RSET", "S:+OK", "C:NOOP", "S:+OK",
      QUIT_OK,
    },
    .responses = { "RETR 9 -ERR [SYS/PERM]", "RSET +OK", "NOOP +OK" },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    /* RFC 2449 §5: a server from before CAPA; go on with USER/PASS. */
    .name = "capa-refused",
    .script = {
      GREETING, "C:CAPA", "S:-ERR unknown command", LOGIN, QUIT_OK,
    },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    /* RFC 2595 §4: after the handshake, CAPA again; STLS is gone from it. */
    .name = "stls",
    .tls = MS_POP3_CLIENT_TLS_STLS,
    .script = {
      GREETING, "C:CAPA", "S:+OK", "S:USER", "S:STLS", "S:.",
      "C:STLS", "S:+OK Begin TLS negotiation", "TLS",
      "C:CAPA", "S:+OK", "S:USER", "S:.",
      LOGIN, QUIT_OK,
    },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
    .tls_result = TRUE,
  },
  {
    .name = "stls-not-offered",
    .tls = MS_POP3_CLIENT_TLS_STLS,
    .script = { GREETING, CAPA_PLAIN, "C:QUIT", "S:+OK bye" },
    .status = MS_POP3_CLIENT_STATUS_TLS_FAILURE,
  },
  {
    .name = "stls-refused",
    .tls = MS_POP3_CLIENT_TLS_STLS,
    .script = { GREETING, "C:CAPA", "S:-ERR no", "C:STLS", "S:-ERR TLS not available", "C:QUIT", "S:+OK" },
    .status = MS_POP3_CLIENT_STATUS_TLS_FAILURE,
    .text_contains = "TLS not available",
  },
  {
    .name = "stls-handshake-fails",
    .tls = MS_POP3_CLIENT_TLS_STLS,
    .script = { GREETING, "C:CAPA", "S:+OK", "S:STLS", "S:.", "C:STLS", "S:+OK", "TLS-FAIL" },
    .status = MS_POP3_CLIENT_STATUS_TLS_FAILURE,
  },
  {
    /* RFC 2595 §4: plain text between +OK and the handshake is an attack. */
    .name = "line-before-handshake",
    .tls = MS_POP3_CLIENT_TLS_STLS,
    .script = { GREETING, "C:CAPA", "S:+OK", "S:STLS", "S:.", "C:STLS", "S:+OK", "S:+OK injected" },
    .status = MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "implicit-tls",
    .tls = MS_POP3_CLIENT_TLS_IMPLICIT,
    .script = { GREETING, CAPA_PLAIN, LOGIN, QUIT_OK },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
    .tls_result = TRUE,
  },
  {
    /* RFC 5034 §4 initial response; RFC 4616: base64 of "\0alice\0alicepw". */
    .name = "auth-plain",
    .auth = MS_POP3_CLIENT_AUTH_PLAIN,
    .script = {
      GREETING, "C:CAPA", "S:+OK", "S:SASL LOGIN PLAIN", "S:.",
      "C:AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", "S:+OK Logged in", QUIT_OK,
    },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    .name = "auth-any-takes-plain",
    .auth = MS_POP3_CLIENT_AUTH_ANY,
    .script = {
      GREETING, "C:CAPA", "S:+OK", "S:USER", "S:SASL plain", "S:.",
      "C:AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", "S:+OK Logged in", QUIT_OK,
    },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    .name = "auth-any-falls-back-to-user",
    .auth = MS_POP3_CLIENT_AUTH_ANY,
    .script = { GREETING, CAPA_PLAIN, LOGIN, QUIT_OK },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    .name = "auth-plain-not-offered",
    .auth = MS_POP3_CLIENT_AUTH_PLAIN,
    .script = { GREETING, CAPA_PLAIN, "C:QUIT", "S:+OK" },
    .status = MS_POP3_CLIENT_STATUS_AUTH_FAILURE,
  },
  {
    /* RFC 5034 §4: past 255 octets, the credentials go after "+". */
    .name = "auth-plain-long-credentials",
    .auth = MS_POP3_CLIENT_AUTH_PLAIN,
    .password = "0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789012345678901234567890123456789"
                "0123456789012345678901234567890123456789",
    .script = {
      GREETING, "C:CAPA", "S:+OK", "S:SASL PLAIN", "S:.",
      "C:AUTH PLAIN", "S:+ ",
      "C:AGFsaWNlADAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OT"
      "AxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3"
      "ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OQ==",
      "S:+OK Logged in", QUIT_OK,
    },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    /* RFC 2449 §8.1.1: the maildrop is locked by another session. */
    .name = "pass-in-use",
    .script = {
      GREETING, CAPA_PLAIN, "C:USER alice", "S:+OK", "C:PASS alicepw",
      "S:-ERR [IN-USE] Mailbox is locked by another POP3 session", "C:QUIT", "S:+OK",
    },
    .status = MS_POP3_CLIENT_STATUS_TEMP_FAILURE,
    .resp_code = "IN-USE",
    .text_contains = "-ERR [IN-USE] Mailbox is locked by another POP3 session",
  },
  {
    .name = "pass-wrong",
    .script = {
      GREETING, CAPA_PLAIN, "C:USER alice", "S:+OK", "C:PASS alicepw",
      "S:-ERR [AUTH] invalid user name or password", "C:QUIT", "S:+OK",
    },
    .status = MS_POP3_CLIENT_STATUS_AUTH_FAILURE,
    .resp_code = "AUTH",
  },
  {
    .name = "user-refused",
    .script = { GREETING, CAPA_PLAIN, "C:USER alice", "S:-ERR no", "C:QUIT", "S:+OK" },
    .status = MS_POP3_CLIENT_STATUS_AUTH_FAILURE,
  },
  {
    .name = "greeting-err",
    .script = { "S:-ERR [SYS/TEMP] too many connections" },
    .status = MS_POP3_CLIENT_STATUS_TEMP_FAILURE,
    .resp_code = "SYS/TEMP",
  },
  {
    .name = "garbage-greeting",
    .script = { "S:220 smtp.example ESMTP" },
    .status = MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "lowercase-ok-accepted",
    .script = { "S:+ok hi", CAPA_PLAIN, LOGIN, QUIT_OK },
    .status = MS_POP3_CLIENT_STATUS_OK,
    .committed = TRUE,
  },
  {
    .name = "garbage-listing-line",
    .ops = { { MS_POP3_CLIENT_CMD_LIST } },
    .n_ops = 1,
    .script = { GREETING, CAPA_PLAIN, LOGIN, "C:LIST", "S:+OK", "S:one 120" },
    .status = MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
  },
  {
    /* RFC 1939 §7: a unique-id is at most 70 characters. */
    .name = "uid-too-long",
    .ops = { { MS_POP3_CLIENT_CMD_UIDL } },
    .n_ops = 1,
    .script = {
      GREETING, CAPA_PLAIN, LOGIN, "C:UIDL", "S:+OK",
      "S:1 01234567890123456789012345678901234567890123456789012345678901234567890",
    },
    .status = MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "stat-garbage",
    .ops = { { MS_POP3_CLIENT_CMD_STAT } },
    .n_ops = 1,
    .script = { GREETING, CAPA_PLAIN, LOGIN, "C:STAT", "S:+OK lots" },
    .status = MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "over-long-status-line",
    .max_line_length = 20,
    .script = { GREETING "-------", },
    .status = MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "over-long-message-line",
    .max_data_line_length = 10,
    .ops = { { MS_POP3_CLIENT_CMD_RETR, 1 } },
    .n_ops = 1,
    .script = { GREETING, CAPA_PLAIN, LOGIN, "C:RETR 1", "S:+OK", "S:short", "S:01234567890" },
    .status = MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
  },
  {
    /* 4 lines of 5 + CRLF = 28 octets > 25. */
    .name = "message-over-size-limit",
    .max_message_size = 25,
    .ops = { { MS_POP3_CLIENT_CMD_RETR, 1 } },
    .n_ops = 1,
    .script = {
      GREETING, CAPA_PLAIN, LOGIN, "C:RETR 1", "S:+OK",
      "S:aaaaa", "S:bbbbb", "S:ccccc", "S:ddddd",
    },
    .status = MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
    .text_contains = "larger than the limit of 25",
  },
  {
    /* The connection drops in the middle of a message: nothing committed. */
    .name = "closed-during-retr",
    .ops = { { MS_POP3_CLIENT_CMD_DELE, 1 }, { MS_POP3_CLIENT_CMD_RETR, 2 } },
    .n_ops = 2,
    .script = {
      GREETING, CAPA_PLAIN, LOGIN, "C:DELE 1", "S:+OK", "C:RETR 2", "S:+OK", "S:Subject: x", "CLOSE",
    },
    .responses = { "DELE 1 +OK" },
    .status = MS_POP3_CLIENT_STATUS_TEMP_FAILURE,
  },
  {
    .name = "closed-before-quit-answered",
    .script = { GREETING, CAPA_PLAIN, LOGIN, "C:QUIT", "CLOSE" },
    .status = MS_POP3_CLIENT_STATUS_TEMP_FAILURE,
    .text_contains = "may or may not",
  },
  {
    /* RFC 1939 §6: -ERR to QUIT: some deletions did not happen. */
    .name = "quit-refused",
    .ops = { { MS_POP3_CLIENT_CMD_DELE, 1 } },
    .n_ops = 1,
    .script = { GREETING, CAPA_PLAIN, LOGIN, "C:DELE 1", "S:+OK", "C:QUIT", "S:-ERR some messages not removed" },
    .responses = { "DELE 1 +OK" },
    .status = MS_POP3_CLIENT_STATUS_SERVER_ERROR,
  },
  {
    .name = "unsolicited-response",
    .no_quit = TRUE,
    .script = { GREETING, CAPA_PLAIN, LOGIN, "S:+OK what" },
    .status = MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
  },
};

typedef struct {
  const ScriptCase *script_case;
  gboolean step;   /* check the output before every input, not only at the end */
} ScriptRun;

static void
test_script (gconstpointer data)
{
  const ScriptRun *run = data;
  const ScriptCase *c = run->script_case;
  Harness h = { 0 };
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autoptr(MsPop3Client) client = NULL;
  MsPop3ClientParams params = { 0 };
  guint expected_tls_calls = 0;
  guint n_responses = 0;

  harness_init (&h);
  params.tls = c->tls;
  params.auth = c->auth;
  params.username = "alice";
  params.password = c->password ? c->password : "alicepw";
  params.max_line_length = c->max_line_length;
  params.max_data_line_length = c->max_data_line_length;
  params.max_message_size = c->max_message_size;
  client = ms_pop3_client_new (&params, &harness_output, &h);
  g_assert_nonnull (client);
  g_assert_cmpstr (ms_pop3_client_state_to_string (ms_pop3_client_get_state (client)), ==, "greeting");

  for (guint i = 0; i < c->n_ops; i++)
    ms_pop3_client_enqueue (client, c->ops[i].command, c->ops[i].msg, c->ops[i].lines);
  if (!c->no_quit)
    ms_pop3_client_enqueue (client, MS_POP3_CLIENT_CMD_QUIT, 0, 0);
  /* Nothing goes out before the greeting. */
  g_assert_cmpuint (h.sent->len, ==, 0);

  for (guint i = 0; i < MAX_SCRIPT && c->script[i] != NULL; i++)
    {
      const char *entry = c->script[i];

      if (g_str_has_prefix (entry, "C:"))
        {
          g_string_append_printf (expected, "%s\r\n", entry + 2);
          continue;
        }
      if (run->step)
        g_assert_cmpstr (h.sent->str, ==, expected->str);
      if (g_str_has_prefix (entry, "S:"))
        ms_pop3_client_feed_line (client, entry + 2, strlen (entry + 2));
      else if (g_str_equal (entry, "TLS") || g_str_equal (entry, "TLS-FAIL"))
        {
          expected_tls_calls++;
          g_assert_cmpuint (h.start_tls_calls, ==, expected_tls_calls);
          g_assert_cmpint (ms_pop3_client_get_state (client), ==, MS_POP3_CLIENT_STATE_TLS_HANDSHAKE);
          ms_pop3_client_tls_done (client, g_str_equal (entry, "TLS"), "handshake failure");
        }
      else if (g_str_equal (entry, "CLOSE"))
        ms_pop3_client_connection_closed (client, "peer closed");
      else
        g_assert_not_reached ();
    }

  g_assert_cmpstr (h.sent->str, ==, expected->str);
  g_assert_cmpuint (h.done_calls, ==, 1);
  g_assert_nonnull (h.result);
  g_assert_cmpstr (ms_pop3_client_status_to_string (h.result->status), ==,
                   ms_pop3_client_status_to_string (c->status));
  g_assert_cmpint (h.result->committed, ==, c->committed);
  g_assert_cmpint (h.result->tls, ==, c->tls_result);
  g_assert_cmpstr (h.result->resp_code, ==, c->resp_code);
  g_assert_nonnull (h.result->text);
  if (c->text_contains != NULL)
    g_assert_nonnull (strstr (h.result->text, c->text_contains));
  while (n_responses < G_N_ELEMENTS (c->responses) && c->responses[n_responses] != NULL)
    n_responses++;
  g_assert_cmpuint (h.responses->len, ==, n_responses);
  for (guint i = 0; i < n_responses; i++)
    g_assert_cmpstr (g_ptr_array_index (h.responses, i), ==, c->responses[i]);
  g_assert_true (ms_pop3_client_is_done (client));
  g_assert_cmpstr (g_ptr_array_index (h.states, h.states->len - 1), ==, "done");
  /* Lines after the end are ignored. */
  ms_pop3_client_feed_line (client, "+OK late", 8);
  g_assert_cmpuint (h.done_calls, ==, 1);
  harness_clear (&h);
}

/* --- focused engine tests -------------------------------------------- */

static void
feed (MsPop3Client *client,
      const char * const *lines)
{
  for (guint i = 0; lines[i] != NULL; i++)
    ms_pop3_client_feed_line (client, lines[i], strlen (lines[i]));
}

static void
test_trace_marks_secrets (void)
{
  static const char * const lines[] = {
    "+OK hi", "+OK", "USER", ".", "+OK", "+OK in", "+OK 1 octets", "..x", ".", NULL,
  };
  Harness h = { 0 };
  MsPop3ClientParams params = { .username = "alice", .password = "two words" };
  g_autoptr(MsPop3Client) client = NULL;
  g_autofree char *masked = NULL;

  harness_init (&h);
  client = ms_pop3_client_new (&params, &harness_output, &h);
  ms_pop3_client_enqueue (client, MS_POP3_CLIENT_CMD_RETR, 1, 0);
  feed (client, lines);
  g_assert_cmpstr (h.sent->str, ==, "CAPA\r\nUSER alice\r\nPASS two words\r\nRETR 1\r\n");
  g_assert_cmpstr (g_ptr_array_index (h.trace, 7), ==, "C*: PASS two words");
  g_assert_cmpstr (g_ptr_array_index (h.trace, 5), ==, "C: USER alice");
  /* Message lines are traced as on the wire, still stuffed. */
  g_assert_cmpstr (g_ptr_array_index (h.trace, h.trace->len - 2), ==, "SD: ..x");
  g_assert_cmpstr (g_ptr_array_index (h.trace, h.trace->len - 1), ==, "SD: .");

  masked = ms_pop3_client_mask_secret ("PASS two words", "***");
  g_assert_cmpstr (masked, ==, "PASS ***");
  g_free (masked);
  masked = ms_pop3_client_mask_secret ("AUTH PLAIN AGFsaWNl", "***");
  g_assert_cmpstr (masked, ==, "AUTH PLAIN ***");
  g_free (masked);
  masked = ms_pop3_client_mask_secret ("AGFsaWNl", "***");
  g_assert_cmpstr (masked, ==, "***");

  ms_pop3_client_abort (client, MS_POP3_CLIENT_STATUS_ABORTED, "test over");
  g_assert_cmpint (h.result->status, ==, MS_POP3_CLIENT_STATUS_ABORTED);
  g_assert_false (h.result->committed);
  harness_clear (&h);
}

static void
test_capabilities (void)
{
  static const char * const lines[] = {
    "+OK hi", "+OK", "TOP", "uidl", "SASL PLAIN SCRAM-SHA-256", "IMPLEMENTATION Example 1.0", ".", NULL,
  };
  Harness h = { 0 };
  MsPop3ClientParams params = { .username = "alice", .password = "alicepw" };
  g_autoptr(MsPop3Client) client = NULL;

  harness_init (&h);
  client = ms_pop3_client_new (&params, &harness_output, &h);
  feed (client, lines);
  g_assert_true (ms_pop3_client_has_capability (client, "UIDL"));
  g_assert_true (ms_pop3_client_has_capability (client, "top"));
  g_assert_true (ms_pop3_client_has_capability (client, "SASL PLAIN"));
  g_assert_true (ms_pop3_client_has_capability (client, "SASL SCRAM-SHA-256"));
  g_assert_false (ms_pop3_client_has_capability (client, "STLS"));
  g_assert_false (ms_pop3_client_has_capability (client, "SASL LOGIN"));
  ms_pop3_client_abort (client, MS_POP3_CLIENT_STATUS_ABORTED, "test over");
  harness_clear (&h);
}

/* ready is called when logged in with nothing queued, and operations
 * queued from inside it and from response go out one at a time. */
typedef struct {
  Harness h;
  MsPop3Client *client;
  guint ready_calls;
} ReadyHarness;

static void
ready_cb (gpointer user_data)
{
  ReadyHarness *r = user_data;

  r->ready_calls++;
  if (r->ready_calls == 1)
    ms_pop3_client_enqueue (r->client, MS_POP3_CLIENT_CMD_STAT, 0, 0);
  else
    ms_pop3_client_enqueue (r->client, MS_POP3_CLIENT_CMD_QUIT, 0, 0);
}

static void
ready_response_cb (const MsPop3ClientResponse *response,
                   gpointer user_data)
{
  ReadyHarness *r = user_data;

  harness_response (response, &r->h);
  if (response->command == MS_POP3_CLIENT_CMD_STAT)
    for (guint i = 1; i <= response->count; i++)
      ms_pop3_client_enqueue (r->client, MS_POP3_CLIENT_CMD_DELE, i, 0);
}

static void
ready_send_cb (const char *data, gsize len, gpointer user_data)
{
  harness_send (data, len, &((ReadyHarness *) user_data)->h);
}

static void
ready_done_cb (MsPop3ClientResult *result, gpointer user_data)
{
  harness_done (result, &((ReadyHarness *) user_data)->h);
}

static void
test_ready_drives_queue (void)
{
  static const MsPop3ClientOutput output = {
    .send = ready_send_cb, .ready = ready_cb, .response = ready_response_cb, .done = ready_done_cb,
  };
  static const char * const lines[] = {
    "+OK hi", "-ERR no CAPA", "+OK", "+OK in", "+OK 2 10", "+OK", "+OK", "+OK bye", NULL,
  };
  ReadyHarness r = { 0 };
  MsPop3ClientParams params = { .username = "alice", .password = "alicepw" };

  harness_init (&r.h);
  r.client = ms_pop3_client_new (&params, &output, &r);
  feed (r.client, lines);
  g_assert_cmpstr (r.h.sent->str, ==,
                   "CAPA\r\nUSER alice\r\nPASS alicepw\r\nSTAT\r\nDELE 1\r\nDELE 2\r\nQUIT\r\n");
  g_assert_cmpuint (r.ready_calls, ==, 2);
  g_assert_cmpint (r.h.result->status, ==, MS_POP3_CLIENT_STATUS_OK);
  g_assert_true (r.h.result->committed);
  g_assert_true (r.h.result->authenticated);
  ms_pop3_client_free (r.client);
  harness_clear (&r.h);
}

static void
test_state_names (void)
{
  for (guint s = 0; s < MS_POP3_CLIENT_N_STATES; s++)
    {
      const char *name = ms_pop3_client_state_to_string (s);

      g_assert_nonnull (name);
      g_assert_cmpstr (name, !=, "unknown");
      for (guint t = 0; t < s; t++)
        g_assert_cmpstr (name, !=, ms_pop3_client_state_to_string (t));
    }
  g_assert_cmpstr (ms_pop3_client_state_to_string (MS_POP3_CLIENT_N_STATES), ==, "unknown");
  g_assert_cmpstr (ms_pop3_client_state_to_string (MS_POP3_CLIENT_STATE_TLS_HANDSHAKE), ==, "tls-handshake");
}

static void
test_nul_in_status (void)
{
  Harness h = { 0 };
  MsPop3ClientParams params = { .username = "alice", .password = "alicepw" };
  g_autoptr(MsPop3Client) client = NULL;

  harness_init (&h);
  client = ms_pop3_client_new (&params, &harness_output, &h);
  ms_pop3_client_feed_line (client, "+OK a\0b", 7);
  g_assert_cmpint (h.result->status, ==, MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR);
  g_assert_cmpuint (h.sent->len, ==, 0);
  harness_clear (&h);
}

/* A NUL byte in a message line is not a protocol error: mail is bytes. */
static void
test_nul_in_message (void)
{
  static const char * const lines[] = { "+OK hi", "-ERR", "+OK", "+OK in", "+OK", NULL };
  Harness h = { 0 };
  MsPop3ClientParams params = { .username = "alice", .password = "alicepw" };
  g_autoptr(MsPop3Client) client = NULL;

  harness_init (&h);
  client = ms_pop3_client_new (&params, &harness_output, &h);
  ms_pop3_client_enqueue (client, MS_POP3_CLIENT_CMD_RETR, 1, 0);
  feed (client, lines);
  ms_pop3_client_feed_line (client, "a\0b", 3);
  ms_pop3_client_feed_line (client, ".", 1);
  g_assert_cmpuint (h.responses->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (h.responses, 0), ==, "RETR 1 +OK msg=a");
  ms_pop3_client_abort (client, MS_POP3_CLIENT_STATUS_ABORTED, "test over");
  harness_clear (&h);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (script_cases); i++)
    for (guint step = 0; step < 2; step++)
      {
        ScriptRun *run = g_new0 (ScriptRun, 1);
        g_autofree char *path = NULL;

        run->script_case = &script_cases[i];
        run->step = step;
        path = g_strdup_printf ("/client/pop3-client/script/%s/%s", script_cases[i].name,
                                step ? "line-by-line" : "whole");
        g_test_add_data_func_full (path, run, test_script, g_free);
      }
  g_test_add_func ("/client/pop3-client/trace-marks-secrets", test_trace_marks_secrets);
  g_test_add_func ("/client/pop3-client/capabilities", test_capabilities);
  g_test_add_func ("/client/pop3-client/ready-drives-queue", test_ready_drives_queue);
  g_test_add_func ("/client/pop3-client/state-names", test_state_names);
  g_test_add_func ("/client/pop3-client/nul-in-status", test_nul_in_status);
  g_test_add_func ("/client/pop3-client/nul-in-message", test_nul_in_message);

  return g_test_run ();
}
