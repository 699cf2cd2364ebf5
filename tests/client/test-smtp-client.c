/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-smtp-client"

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>

#include "ms-conn.h"
#include "ms-smtp-client.h"
#include "ms-smtp-sender.h"
#include "ms-tls.h"
#include "ms-trace-bus.h"

/* --- the sans-IO engine, driven from scripts ------------------------- */

typedef struct {
  GString *sent;
  guint start_tls_calls;
  MsSmtpSendResult *result;
  guint done_calls;
  GPtrArray *trace;        /* "C: ..." / "S: ..." / "C*: ..." (secret) / "D: ..." (data) */
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

static void
harness_done (MsSmtpSendResult *result,
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
               MsSmtpClientTraceFlags flags,
               gpointer user_data)
{
  Harness *h = user_data;

  g_assert_cmpuint (strlen (text), <=, len);
  if (flags & MS_SMTP_CLIENT_TRACE_DATA)
    g_ptr_array_add (h->trace, g_strdup_printf ("D: %s", text));
  else
    g_ptr_array_add (h->trace, g_strdup_printf ("%c%s: %s", direction,
                                                flags & MS_SMTP_CLIENT_TRACE_SECRET ? "*" : "", text));
}

static void
harness_state_changed (MsSmtpClientState old_state,
                       MsSmtpClientState new_state,
                       gpointer user_data)
{
  Harness *h = user_data;

  g_ptr_array_add (h->states, g_strdup (ms_smtp_client_state_to_string (new_state)));
}

static const MsSmtpClientOutput harness_output = {
  .send = harness_send,
  .start_tls = harness_start_tls,
  .done = harness_done,
  .trace = harness_trace,
  .state_changed = harness_state_changed,
};

static void
harness_init (Harness *h)
{
  h->sent = g_string_new (NULL);
  h->trace = g_ptr_array_new_with_free_func (g_free);
  h->states = g_ptr_array_new_with_free_func (g_free);
}

static void
harness_clear (Harness *h)
{
  g_string_free (h->sent, TRUE);
  g_ptr_array_unref (h->trace);
  g_ptr_array_unref (h->states);
  ms_smtp_send_result_free (h->result);
}

#define MAX_SCRIPT 48

typedef struct {
  const char *name;
  MsSmtpTlsMode tls;
  const char *username;
  const char *password;
  const char *mail_from;     /* NULL = "alice@alpha.test" */
  const char *rcpt[4];       /* NULL-terminated; empty = bob@beta.test */
  const char *message;       /* NULL = "Subject: hi\n\nHello\n" */
  gsize max_line_length;
  guint max_reply_lines;
  /* "S:line" is fed to the engine, "C:line" is what the engine must send
   * (CRLF is added), "C=bytes" is sent exactly as written, "TLS" expects
   * start_tls and completes the handshake, "TLS-FAIL" fails it,
   * "TLS-STARTED" expects start_tls and leaves the handshake going, "CLOSE"
   * reports the connection closed. */
  const char *script[MAX_SCRIPT];
  MsSmtpSendStatus status;
  gboolean tls_result;
} ScriptCase;

#define GREETING "S:220 beta.test ESMTP Mailscope"
#define EHLO "C:EHLO client.test"

static const ScriptCase script_cases[] = {
  {
    .name = "plain-delivery",
    .script = {
      GREETING, EHLO,
      "S:250-beta.test greets client.test", "S:250-PIPELINING", "S:250-SIZE 10240000",
      "S:250-8BITMIME", "S:250 ENHANCEDSTATUSCODES",
      "C:MAIL FROM:<alice@alpha.test> SIZE=22", "S:250 2.1.0 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 2.1.5 Ok",
      "C:DATA", "S:354 End data with <CR><LF>.<CR><LF>",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 2.0.0 Ok: queued as 42",
      "C:QUIT", "S:221 2.0.0 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
  },
  {
    /* RFC 5321 §4.5.2: a line starting with "." gets another; bare LF and
     * bare CR become CRLF; a missing final line end is added. SIZE counts
     * the normalised message without the stuffing (RFC 1870 §6). */
    .name = "dot-stuffing-and-crlf",
    .message = ".hidden\n..two\nmid.dle\r\n.\nbare\rcr\nend",
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250 SIZE",
      "C:MAIL FROM:<alice@alpha.test> SIZE=43", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=..hidden\r\n...two\r\nmid.dle\r\n..\r\nbare\r\ncr\r\nend\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
  },
  {
    .name = "null-sender-without-size",
    .mail_from = "",
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
  },
  {
    /* RFC 4954 §4 initial response; RFC 4616: base64 of "\0alice\0alicepw". */
    .name = "auth-plain",
    .username = "alice", .password = "alicepw",
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250-AUTH LOGIN PLAIN", "S:250 HELP",
      "C:AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", "S:235 2.7.0 Authentication successful",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
  },
  {
    .name = "auth-login-only",
    .username = "alice", .password = "alicepw",
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250 AUTH=LOGIN",
      "C:AUTH LOGIN", "S:334 VXNlcm5hbWU6",
      "C:YWxpY2U=", "S:334 UGFzc3dvcmQ6",
      "C:YWxpY2Vwdw==", "S:235 2.7.0 Authentication successful",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
  },
  {
    .name = "auth-refused",
    .username = "alice", .password = "wrong",
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250 AUTH PLAIN",
      "C:AUTH PLAIN AGFsaWNlAHdyb25n", "S:535 5.7.8 Authentication credentials invalid",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_AUTH_FAILURE,
  },
  {
    .name = "auth-not-offered",
    .username = "alice", .password = "alicepw",
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_AUTH_FAILURE,
  },
  {
    /* RFC 5321 §3.2: an old server answers EHLO with 5xx. */
    .name = "helo-fallback",
    .script = {
      GREETING, EHLO, "S:502 5.5.2 Command not recognised",
      "C:HELO client.test", "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
  },
  {
    .name = "rcpt-one-refused-partial",
    .rcpt = { "bob@beta.test", "nobody@beta.test", NULL },
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 2.1.5 Ok",
      "C:RCPT TO:<nobody@beta.test>", "S:550 5.1.1 <nobody@beta.test>: Recipient address rejected",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 2.0.0 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_PARTIAL,
  },
  {
    .name = "rcpt-one-deferred-partial",
    .rcpt = { "dave@beta.test", "bob@beta.test", NULL },
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<dave@beta.test>", "S:450 4.2.2 Mailbox full, try later",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_PARTIAL,
  },
  {
    .name = "rcpt-all-refused",
    .rcpt = { "x@beta.test", "y@beta.test", NULL },
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<x@beta.test>", "S:550 5.1.1 No such user",
      "C:RCPT TO:<y@beta.test>", "S:553 5.1.3 Bad address",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_PERM_FAILURE,
  },
  {
    .name = "rcpt-all-refused-one-temporary",
    .rcpt = { "x@beta.test", "y@beta.test", NULL },
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<x@beta.test>", "S:550 5.1.1 No such user",
      "C:RCPT TO:<y@beta.test>", "S:451 4.3.0 Try later",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_TEMP_FAILURE,
  },
  {
    .name = "mail-refused",
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:550 5.7.1 Relaying denied",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_PERM_FAILURE,
  },
  {
    .name = "data-refused",
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:554 5.5.1 No valid recipients",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_PERM_FAILURE,
  },
  {
    .name = "final-reply-temporary",
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:452 4.3.1 Insufficient system storage",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_TEMP_FAILURE,
  },
  {
    .name = "greeting-554",
    .script = {
      "S:554 5.3.2 No service for you", "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_PERM_FAILURE,
  },
  {
    /* RFC 5321 §3.8: after 421 the server closes; no QUIT. */
    .name = "421-at-greeting",
    .script = { "S:421 4.3.2 Too busy", },
    .status = MS_SMTP_SEND_STATUS_TEMP_FAILURE,
  },
  {
    .name = "421-at-rcpt",
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:421 4.4.2 Timeout, closing",
    },
    .status = MS_SMTP_SEND_STATUS_TEMP_FAILURE,
  },
  {
    .name = "421-multi-line-in-ehlo",
    .script = { GREETING, EHLO, "S:421-shutting down", "S:421 bye" },
    .status = MS_SMTP_SEND_STATUS_TEMP_FAILURE,
  },
  {
    .name = "garbage-reply",
    .script = { GREETING, EHLO, "S:hello there", "S:250 too late" },
    .status = MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "bad-separator",
    .script = { GREETING, EHLO, "S:250xbeta.test" },
    .status = MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "code-out-of-range",
    .script = { "S:199 hello" },
    .status = MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "multi-line-code-changes",
    .script = { GREETING, EHLO, "S:250-beta.test", "S:251 SIZE" },
    .status = MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "too-many-reply-lines",
    .max_reply_lines = 3,
    .script = { GREETING, EHLO, "S:250-beta.test", "S:250-A", "S:250-B", "S:250-C", "S:250 D" },
    .status = MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "over-long-line",
    .max_line_length = 20,
    .script = { "S:220 beta.test", EHLO, "S:250 0123456789abcdefg" },
    .status = MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "line-at-the-limit",
    .max_line_length = 20,
    .script = {
      "S:220 beta.test", EHLO, "S:250 0123456789abcdef",
      "C:MAIL FROM:<alice@alpha.test>", "S:421 bye",
    },
    .status = MS_SMTP_SEND_STATUS_TEMP_FAILURE,
  },
  {
    .name = "starttls-required",
    .tls = MS_SMTP_TLS_STARTTLS,
    .username = "alice", .password = "alicepw",
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250-STARTTLS", "S:250 SIZE 100",
      "C:STARTTLS", "S:220 2.0.0 Ready to start TLS",
      "TLS",
      /* RFC 3207 §4.2: capabilities are asked for again after TLS. */
      EHLO, "S:250-beta.test", "S:250 AUTH PLAIN",
      "C:AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", "S:235 Ok",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
    .tls_result = TRUE,
  },
  {
    .name = "starttls-required-not-offered",
    .tls = MS_SMTP_TLS_STARTTLS,
    .script = { GREETING, EHLO, "S:250 beta.test", "C:QUIT", "S:221 Bye" },
    .status = MS_SMTP_SEND_STATUS_TLS_FAILURE,
  },
  {
    .name = "starttls-required-refused",
    .tls = MS_SMTP_TLS_STARTTLS,
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250 STARTTLS",
      "C:STARTTLS", "S:454 4.7.0 TLS not available",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_TLS_FAILURE,
  },
  {
    .name = "starttls-handshake-fails",
    .tls = MS_SMTP_TLS_STARTTLS,
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250 STARTTLS",
      "C:STARTTLS", "S:220 go ahead", "TLS-FAIL",
    },
    .status = MS_SMTP_SEND_STATUS_TLS_FAILURE,
  },
  {
    /* RFC 3207 §4.2: plain text between 220 and the handshake is an attack. */
    .name = "line-during-tls-handshake",
    .tls = MS_SMTP_TLS_STARTTLS,
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250 STARTTLS",
      "C:STARTTLS", "S:220 go ahead", "TLS-STARTED", "S:250 injected",
    },
    .status = MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
  },
  {
    .name = "opportunistic-not-offered",
    .tls = MS_SMTP_TLS_OPPORTUNISTIC,
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
  },
  {
    .name = "opportunistic-refused",
    .tls = MS_SMTP_TLS_OPPORTUNISTIC,
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250 STARTTLS",
      "C:STARTTLS", "S:454 4.7.0 TLS not available",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
  },
  {
    .name = "implicit-tls",
    .tls = MS_SMTP_TLS_IMPLICIT,
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250 STARTTLS",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
    .tls_result = TRUE,
  },
  {
    /* RFC 1870 §5: do not send what the server already said it refuses. */
    .name = "size-over-limit",
    .script = {
      GREETING, EHLO, "S:250-beta.test", "S:250 SIZE 10",
      "C:QUIT", "S:221 Bye",
    },
    .status = MS_SMTP_SEND_STATUS_PERM_FAILURE,
  },
  {
    .name = "closed-mid-session",
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "CLOSE",
    },
    .status = MS_SMTP_SEND_STATUS_TEMP_FAILURE,
  },
  {
    /* The 250 after "." is what counts; a lost QUIT reply changes nothing. */
    .name = "closed-after-delivery",
    .script = {
      GREETING, EHLO, "S:250 beta.test",
      "C:MAIL FROM:<alice@alpha.test>", "S:250 Ok",
      "C:RCPT TO:<bob@beta.test>", "S:250 Ok",
      "C:DATA", "S:354 go ahead",
      "C=Subject: hi\r\n\r\nHello\r\n.\r\n", "S:250 Ok",
      "C:QUIT", "CLOSE",
    },
    .status = MS_SMTP_SEND_STATUS_ALL_DELIVERED,
  },
};

typedef struct {
  const ScriptCase *script_case;
  gboolean step;   /* check the output after every line, not only at the end */
} ScriptRun;

static MsSmtpClient *
client_for_case (const ScriptCase *c,
                 Harness *h,
                 GBytes **message_r)
{
  MsSmtpClientParams params = { 0 };
  static const char * const default_rcpt[] = { "bob@beta.test", NULL };
  const char *message = c->message ? c->message : "Subject: hi\n\nHello\n";

  *message_r = g_bytes_new_static (message, strlen (message));
  params.helo_name = "client.test";
  params.tls = c->tls;
  params.username = c->username;
  params.password = c->password;
  params.mail_from = c->mail_from ? c->mail_from : "alice@alpha.test";
  params.rcpt_to = c->rcpt[0] ? c->rcpt : default_rcpt;
  params.message = *message_r;
  params.max_line_length = c->max_line_length;
  params.max_reply_lines = c->max_reply_lines;
  return ms_smtp_client_new (&params, &harness_output, h);
}

static void
test_script (gconstpointer data)
{
  const ScriptRun *run = data;
  const ScriptCase *c = run->script_case;
  Harness h = { 0 };
  g_autoptr(GString) expected = g_string_new (NULL);
  g_autoptr(GBytes) message = NULL;
  g_autoptr(MsSmtpClient) client = NULL;
  guint expected_tls_calls = 0;

  harness_init (&h);
  client = client_for_case (c, &h, &message);
  g_assert_nonnull (client);
  g_assert_cmpstr (ms_smtp_client_state_to_string (ms_smtp_client_get_state (client)), ==, "greeting");

  for (guint i = 0; i < MAX_SCRIPT && c->script[i] != NULL; i++)
    {
      const char *entry = c->script[i];

      if (g_str_has_prefix (entry, "C:"))
        g_string_append_printf (expected, "%s\r\n", entry + 2);
      else if (g_str_has_prefix (entry, "C="))
        g_string_append (expected, entry + 2);
      else
        {
          /* Before the next input, in step mode, everything expected so far
           * must have been sent, and nothing more. */
          if (run->step)
            g_assert_cmpstr (h.sent->str, ==, expected->str);

          if (g_str_has_prefix (entry, "S:"))
            ms_smtp_client_feed_line (client, entry + 2, strlen (entry + 2));
          else if (g_str_equal (entry, "TLS") || g_str_equal (entry, "TLS-FAIL"))
            {
              expected_tls_calls++;
              g_assert_cmpuint (h.start_tls_calls, ==, expected_tls_calls);
              g_assert_cmpint (ms_smtp_client_get_state (client), ==, MS_SMTP_CLIENT_STATE_TLS_HANDSHAKE);
              ms_smtp_client_tls_done (client, g_str_equal (entry, "TLS"), "handshake failure");
            }
          else if (g_str_equal (entry, "TLS-STARTED"))
            {
              expected_tls_calls++;
              g_assert_cmpuint (h.start_tls_calls, ==, expected_tls_calls);
            }
          else if (g_str_equal (entry, "CLOSE"))
            ms_smtp_client_connection_closed (client, "peer closed");
          else
            g_assert_not_reached ();
        }
    }

  g_assert_cmpstr (h.sent->str, ==, expected->str);
  g_assert_cmpuint (h.start_tls_calls, ==, expected_tls_calls);
  g_assert_cmpuint (h.done_calls, ==, 1);
  g_assert_nonnull (h.result);
  g_assert_cmpstr (ms_smtp_send_status_to_string (h.result->status), ==,
                   ms_smtp_send_status_to_string (c->status));
  g_assert_nonnull (h.result->text);
  g_assert_cmpint (h.result->tls, ==, c->tls_result);
  g_assert_true (ms_smtp_client_is_done (client));
  g_assert_cmpstr (g_ptr_array_index (h.states, h.states->len - 1), ==, "done");
  harness_clear (&h);
}

/* --- focused engine tests -------------------------------------------- */

static void
run_lines (MsSmtpClient *client,
           const char * const *lines)
{
  for (guint i = 0; lines[i] != NULL; i++)
    ms_smtp_client_feed_line (client, lines[i], strlen (lines[i]));
}

static void
test_recipient_results (void)
{
  static const char * const rcpt[] = { "bob@beta.test", "nobody@beta.test", "dave@beta.test", NULL };
  static const char * const lines[] = {
    "220 beta.test", "250-beta.test", "250 ENHANCEDSTATUSCODES", "250 2.1.0 Ok",
    "250 2.1.5 Ok",
    "550-5.1.1 <nobody@beta.test>: no such user", "550 5.1.1 see RFC 5321",
    "450 mailbox busy",
    "354 go ahead", "250 2.0.0 Ok: queued as 7", "221 Bye", NULL,
  };
  Harness h = { 0 };
  MsSmtpClientParams params = { 0 };
  g_autoptr(GBytes) message = g_bytes_new_static ("x\n", 2);
  g_autoptr(MsSmtpClient) client = NULL;
  const MsSmtpRecipientResult *r;

  g_test_summary ("Each recipient's reply is kept: code, RFC 3463 code, text of every line");
  harness_init (&h);
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  client = ms_smtp_client_new (&params, &harness_output, &h);
  run_lines (client, lines);

  g_assert_nonnull (h.result);
  g_assert_cmpint (h.result->status, ==, MS_SMTP_SEND_STATUS_PARTIAL);
  g_assert_cmpuint (h.result->recipients->len, ==, 3);
  g_assert_cmpuint (ms_smtp_send_result_count_accepted (h.result), ==, 1);

  r = g_ptr_array_index (h.result->recipients, 0);
  g_assert_cmpstr (r->address, ==, "bob@beta.test");
  g_assert_cmpuint (r->code, ==, 250);
  g_assert_cmpstr (r->enhanced, ==, "2.1.5");
  g_assert_cmpstr (r->text, ==, "Ok");
  g_assert_true (r->accepted);

  r = g_ptr_array_index (h.result->recipients, 1);
  g_assert_cmpstr (r->address, ==, "nobody@beta.test");
  g_assert_cmpuint (r->code, ==, 550);
  g_assert_cmpstr (r->enhanced, ==, "5.1.1");
  g_assert_cmpstr (r->text, ==, "<nobody@beta.test>: no such user\nsee RFC 5321");
  g_assert_false (r->accepted);

  r = g_ptr_array_index (h.result->recipients, 2);
  g_assert_cmpuint (r->code, ==, 450);
  g_assert_null (r->enhanced);
  g_assert_cmpstr (r->text, ==, "mailbox busy");
  g_assert_false (r->accepted);

  g_assert_cmpuint (h.result->data_code, ==, 250);
  g_assert_cmpstr (h.result->data_enhanced, ==, "2.0.0");
  g_assert_cmpstr (h.result->data_text, ==, "Ok: queued as 7");
  g_assert_nonnull (strstr (h.result->text, "1 of 3"));
  harness_clear (&h);
}

static void
test_untried_recipients (void)
{
  static const char * const rcpt[] = { "bob@beta.test", NULL };
  static const char * const lines[] = { "220 beta.test", "250 beta.test", "550 5.7.1 no", "221 Bye", NULL };
  Harness h = { 0 };
  MsSmtpClientParams params = { 0 };
  g_autoptr(GBytes) message = g_bytes_new_static ("x\n", 2);
  g_autoptr(MsSmtpClient) client = NULL;
  const MsSmtpRecipientResult *r;

  harness_init (&h);
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  client = ms_smtp_client_new (&params, &harness_output, &h);
  run_lines (client, lines);

  g_assert_cmpint (h.result->status, ==, MS_SMTP_SEND_STATUS_PERM_FAILURE);
  g_assert_nonnull (strstr (h.result->text, "550 5.7.1 no"));
  r = g_ptr_array_index (h.result->recipients, 0);
  g_assert_cmpuint (r->code, ==, 0);
  g_assert_null (r->text);
  g_assert_false (r->accepted);
  g_assert_cmpuint (h.result->data_code, ==, 0);
  harness_clear (&h);
}

static void
test_trace_marks_secrets (void)
{
  static const char * const rcpt[] = { "bob@beta.test", NULL };
  static const char * const lines[] = {
    "220 beta.test", "250-beta.test", "250 AUTH LOGIN", "334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6",
    "235 ok", "250 ok", "250 ok", "354 go", "250 ok", "221 bye", NULL,
  };
  static const char * const expected_trace[] = {
    "S: 220 beta.test", "C: EHLO localhost", "S: 250-beta.test", "S: 250 AUTH LOGIN",
    "C: AUTH LOGIN", "S: 334 VXNlcm5hbWU6", "C: YWxpY2U=", "S: 334 UGFzc3dvcmQ6",
    "C*: YWxpY2Vwdw==", "S: 235 ok", "C: MAIL FROM:<alice@alpha.test>", "S: 250 ok",
    "C: RCPT TO:<bob@beta.test>", "S: 250 ok", "C: DATA", "S: 354 go",
    "D: ..x\r\n.\r\n", "S: 250 ok", "C: QUIT", "S: 221 bye", NULL,
  };
  static const char * const expected_states[] = {
    "ehlo", "auth-login", "auth-login-user", "auth-login-pass", "mail", "rcpt", "data",
    "body", "quit", "done", NULL,
  };
  Harness h = { 0 };
  MsSmtpClientParams params = { 0 };
  g_autoptr(GBytes) message = g_bytes_new_static (".x", 2);
  g_autoptr(MsSmtpClient) client = NULL;
  guint i;

  harness_init (&h);
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  params.username = "alice";
  params.password = "alicepw";
  client = ms_smtp_client_new (&params, &harness_output, &h);
  run_lines (client, lines);

  for (i = 0; expected_trace[i] != NULL; i++)
    {
      g_assert_cmpuint (i, <, h.trace->len);
      g_assert_cmpstr (g_ptr_array_index (h.trace, i), ==, expected_trace[i]);
    }
  g_assert_cmpuint (i, ==, h.trace->len);
  for (i = 0; expected_states[i] != NULL; i++)
    {
      g_assert_cmpuint (i, <, h.states->len);
      g_assert_cmpstr (g_ptr_array_index (h.states, i), ==, expected_states[i]);
    }
  g_assert_cmpuint (i, ==, h.states->len);
  g_assert_true (h.result->authenticated);
  harness_clear (&h);
}

static void
test_mask_secret (void)
{
  static const struct {
    const char *line;
    const char *masked;
  } cases[] = {
    { "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", "AUTH PLAIN ********" },
    { "YWxpY2Vwdw==", "********" },
    { "", "********" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *masked = ms_smtp_client_mask_secret (cases[i].line, "********");
      g_assert_cmpstr (masked, ==, cases[i].masked);
    }
}

static void
test_state_names (void)
{
  for (guint s = 0; s < MS_SMTP_CLIENT_N_STATES; s++)
    {
      const char *name = ms_smtp_client_state_to_string (s);

      g_assert_nonnull (name);
      g_assert_cmpstr (name, !=, "unknown");
      for (guint t = 0; t < s; t++)
        g_assert_cmpstr (ms_smtp_client_state_to_string (t), !=, name);
    }
  g_assert_cmpstr (ms_smtp_client_state_to_string (MS_SMTP_CLIENT_N_STATES), ==, "unknown");
}

static void
test_abort (void)
{
  static const char * const rcpt[] = { "bob@beta.test", NULL };
  Harness h = { 0 };
  MsSmtpClientParams params = { 0 };
  g_autoptr(GBytes) message = g_bytes_new_static ("x\n", 2);
  g_autoptr(MsSmtpClient) client = NULL;

  harness_init (&h);
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  client = ms_smtp_client_new (&params, &harness_output, &h);
  ms_smtp_client_abort (client, MS_SMTP_SEND_STATUS_TEMP_FAILURE, "timed out");
  g_assert_cmpstr (h.result->text, ==, "timed out");
  /* Nothing after done: lines are ignored and done is not called again. */
  ms_smtp_client_feed_line (client, "220 hello", 9);
  ms_smtp_client_connection_closed (client, "peer closed");
  g_assert_cmpuint (h.done_calls, ==, 1);
  g_assert_cmpuint (h.sent->len, ==, 0);
  harness_clear (&h);
}

static void
test_nul_in_reply (void)
{
  static const char * const rcpt[] = { "bob@beta.test", NULL };
  Harness h = { 0 };
  MsSmtpClientParams params = { 0 };
  g_autoptr(GBytes) message = g_bytes_new_static ("x\n", 2);
  g_autoptr(MsSmtpClient) client = NULL;

  harness_init (&h);
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  client = ms_smtp_client_new (&params, &harness_output, &h);
  ms_smtp_client_feed_line (client, "220 a\0b", 7);
  g_assert_cmpint (h.result->status, ==, MS_SMTP_SEND_STATUS_PROTOCOL_ERROR);
  g_assert_cmpuint (h.sent->len, ==, 0);
  harness_clear (&h);
}

/* --- the sender, against a scripted fake server ---------------------- */

/* A tiny server: answers each line it receives with the next reply of a
 * script, over MsConn, on 127.0.0.1:0. */
typedef struct {
  GSocketService *service;
  guint16 port;
  const char * const *greeting;  /* lines sent on connect */
  const char * const *replies;   /* one reply (may hold "\r\n") per command */
  guint next_reply;
  gboolean in_data;
  GString *received;
  MsConn *conn;
  gboolean closed;
  SSL_CTX *tls_ctx;              /* answer STARTTLS with 220 and a handshake */
  gboolean silent;               /* accept, then never say anything */
  GPtrArray *silent_connections;
} FakeServer;

static void
fake_line_cb (MsConn *conn,
              const char *line,
              gsize len,
              MsLineFlags flags,
              gpointer user_data)
{
  FakeServer *fake = user_data;

  g_string_append_len (fake->received, line, len);
  g_string_append (fake->received, "\r\n");
  if (fake->in_data)
    {
      if (len == 1 && line[0] == '.')
        fake->in_data = FALSE;
      else
        return;
    }
  else if (g_ascii_strcasecmp (line, "DATA") == 0)
    fake->in_data = TRUE;
  else if (fake->tls_ctx != NULL && g_ascii_strcasecmp (line, "STARTTLS") == 0)
    {
      /* RFC 3207 §4: 220, then the handshake. */
      ms_conn_write_line (conn, "220 2.0.0 Ready to start TLS");
      ms_conn_start_tls_server (conn, fake->tls_ctx);
      return;
    }

  if (fake->replies[fake->next_reply] != NULL)
    {
      const char *reply = fake->replies[fake->next_reply++];

      ms_conn_write_line (conn, reply);
      if (g_str_has_prefix (reply, "221") || g_str_has_prefix (reply, "421"))
        ms_conn_close_after_flush (conn);
    }
}

static void
fake_closed_cb (MsConn *conn,
                const char *reason,
                gpointer user_data)
{
  FakeServer *fake = user_data;

  fake->closed = TRUE;
}

static const MsConnCallbacks fake_callbacks = {
  .line = fake_line_cb,
  .closed = fake_closed_cb,
};

static gboolean
fake_incoming_cb (GSocketService *service,
                  GSocketConnection *connection,
                  GObject *source_object,
                  gpointer user_data)
{
  FakeServer *fake = user_data;

  if (fake->silent)
    {
      g_ptr_array_add (fake->silent_connections, g_object_ref (connection));
      return TRUE;
    }
  g_assert_null (fake->conn);
  fake->conn = ms_conn_new (connection, NULL, &fake_callbacks, fake);
  for (guint i = 0; fake->greeting[i] != NULL; i++)
    ms_conn_write_line (fake->conn, fake->greeting[i]);
  ms_conn_start (fake->conn);
  return TRUE;
}

static void
fake_server_start (FakeServer *fake)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;

  fake->received = g_string_new (NULL);
  fake->silent_connections = g_ptr_array_new_with_free_func (g_object_unref);
  fake->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (fake->service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  fake->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (fake->service, "incoming", G_CALLBACK (fake_incoming_cb), fake);
  g_socket_service_start (fake->service);
}

static void
fake_server_stop (FakeServer *fake)
{
  g_socket_service_stop (fake->service);
  g_socket_listener_close (G_SOCKET_LISTENER (fake->service));
  g_clear_object (&fake->service);
  if (fake->conn != NULL)
    {
      if (!fake->closed)
        ms_conn_close (fake->conn);
      while (!fake->closed)
        g_main_context_iteration (NULL, TRUE);
    }
  g_clear_pointer (&fake->conn, ms_conn_unref);
  g_string_free (fake->received, TRUE);
  g_ptr_array_unref (fake->silent_connections);
}

typedef struct {
  MsSmtpSendResult *result;
  GError *error;
  gboolean finished;
  GString *shown;
} SendOutcome;

static void
send_done_cb (GObject *source,
              GAsyncResult *res,
              gpointer user_data)
{
  SendOutcome *outcome = user_data;

  outcome->result = ms_smtp_send_finish (res, &outcome->error);
  outcome->finished = TRUE;
}

static void
show_cb (char direction,
         const char *line,
         gpointer user_data)
{
  SendOutcome *outcome = user_data;

  g_string_append_printf (outcome->shown, "%c: %s\n", direction, line);
}

static void
collect_event_cb (const MsEvent *event,
                  gpointer user_data)
{
  GPtrArray *events = user_data;

  g_ptr_array_add (events, ms_event_ref ((MsEvent *) event));
}

static void
test_sender_fake_server (void)
{
  static const char * const greeting[] = { "220 beta.test ESMTP fake", NULL };
  static const char * const replies[] = {
    "250-beta.test\r\n250-SIZE 1000\r\n250 AUTH PLAIN",
    "235 2.7.0 ok", "250 2.1.0 ok", "250 2.1.5 ok", "550 5.1.1 no such user",
    "354 go ahead", "250 2.0.0 queued", "221 2.0.0 bye", NULL,
  };
  static const char * const rcpt[] = { "bob@beta.test", "nobody@beta.test", NULL };
  FakeServer fake = { .greeting = greeting, .replies = replies };
  SendOutcome outcome = { 0 };
  MsSmtpSendParams params = { 0 };
  g_autoptr(GBytes) message = g_bytes_new_static ("Subject: t\n\n.dot\n", 17);
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  const MsEvent *first;
  guint n_commands = 0, n_replies = 0, n_data = 0;

  g_test_summary ("ms_smtp_send_async() over a real loopback socket to a scripted server");
  fake_server_start (&fake);
  outcome.shown = g_string_new (NULL);
  ms_trace_bus_subscribe (bus, collect_event_cb, events, NULL);

  params.host = "127.0.0.1";
  params.port = fake.port;
  params.helo_name = "client.test";
  params.username = "alice";
  params.password = "alicepw";
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  params.timeout_s = 10;
  params.bus = bus;
  params.trace_server = "alpha.test";
  params.show = show_cb;
  params.show_data = &outcome;
  ms_smtp_send_async (&params, NULL, send_done_cb, &outcome);
  while (!outcome.finished)
    g_main_context_iteration (NULL, TRUE);

  g_assert_no_error (outcome.error);
  g_assert_nonnull (outcome.result);
  g_assert_cmpint (outcome.result->status, ==, MS_SMTP_SEND_STATUS_PARTIAL);
  g_assert_cmpstr (fake.received->str, ==,
                   "EHLO client.test\r\n"
                   "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=\r\n"
                   "MAIL FROM:<alice@alpha.test> SIZE=20\r\n"
                   "RCPT TO:<bob@beta.test>\r\n"
                   "RCPT TO:<nobody@beta.test>\r\n"
                   "DATA\r\n"
                   "Subject: t\r\n\r\n..dot\r\n.\r\n"
                   "QUIT\r\n");
  g_assert_cmpstr (outcome.shown->str, ==,
                   "S: 220 beta.test ESMTP fake\n"
                   "C: EHLO client.test\n"
                   "S: 250-beta.test\n"
                   "S: 250-SIZE 1000\n"
                   "S: 250 AUTH PLAIN\n"
                   "C: AUTH PLAIN ********\n"
                   "S: 235 2.7.0 ok\n"
                   "C: MAIL FROM:<alice@alpha.test> SIZE=20\n"
                   "S: 250 2.1.0 ok\n"
                   "C: RCPT TO:<bob@beta.test>\n"
                   "S: 250 2.1.5 ok\n"
                   "C: RCPT TO:<nobody@beta.test>\n"
                   "S: 550 5.1.1 no such user\n"
                   "C: DATA\n"
                   "S: 354 go ahead\n"
                   "C: Subject: t\n"
                   "C: \n"
                   "C: ..dot\n"
                   "C: .\n"
                   "S: 250 2.0.0 queued\n"
                   "C: QUIT\n"
                   "S: 221 2.0.0 bye\n");

  g_assert_cmpuint (events->len, >, 0);
  first = g_ptr_array_index (events, 0);
  g_assert_cmpint (first->kind, ==, MS_EVENT_SESSION_OPEN);
  g_assert_cmpstr (first->server, ==, "alpha.test");
  g_assert_cmpstr (ms_event_get_string (first, "proto"), ==, "smtp");
  g_assert_cmpstr (ms_event_get_string (first, "direction"), ==, "client");
  g_assert_nonnull (ms_event_get_string (first, "session"));
  g_assert_cmpint (((const MsEvent *) g_ptr_array_index (events, events->len - 1))->kind, ==,
                   MS_EVENT_SESSION_CLOSE);
  for (guint i = 0; i < events->len; i++)
    {
      const MsEvent *event = g_ptr_array_index (events, i);

      g_assert_cmpstr (ms_event_get_string (event, "session"), ==,
                       ms_event_get_string (first, "session"));
      if (event->kind == MS_EVENT_COMMAND)
        {
          n_commands++;
          g_assert_null (strstr (ms_event_get_string (event, "text"), "AGFsaWNl"));
          g_assert_nonnull (ms_event_get_string (event, "verb"));
        }
      else if (event->kind == MS_EVENT_REPLY)
        {
          n_replies++;
          g_assert_cmpint (ms_event_get_int (event, "code", 0), >=, 200);
        }
      else if (event->kind == MS_EVENT_DATA)
        {
          n_data++;
          g_assert_cmpint (ms_event_get_int (event, "bytes", 0), ==, 24);
        }
    }
  g_assert_cmpuint (n_commands, ==, 7);
  g_assert_cmpuint (n_replies, ==, 11);
  g_assert_cmpuint (n_data, ==, 1);

  ms_smtp_send_result_free (outcome.result);
  g_string_free (outcome.shown, TRUE);
  fake_server_stop (&fake);
}

static void
test_sender_starttls (void)
{
  static const char * const greeting[] = { "220 beta.test ESMTP fake", NULL };
  static const char * const replies[] = {
    "250-beta.test\r\n250 STARTTLS",
    "250-beta.test\r\n250 AUTH LOGIN",
    "334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6", "235 2.7.0 ok",
    "250 ok", "250 ok", "354 go ahead", "250 2.0.0 queued", "221 bye", NULL,
  };
  static const char * const rcpt[] = { "bob@beta.test", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ms-smtp-sender-XXXXXX", &error);
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  FakeServer fake = { .greeting = greeting, .replies = replies };
  SendOutcome outcome = { 0 };
  MsSmtpSendParams params = { 0 };
  g_autoptr(GBytes) message = g_bytes_new_static ("Subject: t\n\nhi\n", 15);
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  gboolean saw_tls_event = FALSE;

  g_test_summary ("STARTTLS over a real handshake: EHLO again afterwards, AUTH LOGIN inside TLS");
  g_assert_no_error (error);
  g_assert_true (ms_tls_ensure_self_signed (dir, "beta.test", &cert, &key, &error));
  g_assert_no_error (error);
  fake.tls_ctx = ms_tls_server_context_new (cert, key, &error);
  g_assert_no_error (error);
  fake_server_start (&fake);
  outcome.shown = g_string_new (NULL);
  ms_trace_bus_subscribe (bus, collect_event_cb, events, NULL);

  params.host = "127.0.0.1";
  params.port = fake.port;
  params.tls = MS_SMTP_TLS_STARTTLS;
  params.username = "alice";
  params.password = "alicepw";
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  params.timeout_s = 10;
  params.bus = bus;
  params.trace_proto = "smtp-relay";
  params.show = show_cb;
  params.show_data = &outcome;
  ms_smtp_send_async (&params, NULL, send_done_cb, &outcome);
  while (!outcome.finished)
    g_main_context_iteration (NULL, TRUE);

  g_assert_no_error (outcome.error);
  g_assert_cmpint (outcome.result->status, ==, MS_SMTP_SEND_STATUS_ALL_DELIVERED);
  g_assert_true (outcome.result->tls);
  g_assert_true (outcome.result->authenticated);
  g_assert_cmpstr (fake.received->str, ==,
                   "EHLO localhost\r\n"
                   "STARTTLS\r\n"
                   "EHLO localhost\r\n"
                   "AUTH LOGIN\r\n"
                   "YWxpY2U=\r\n"
                   "YWxpY2Vwdw==\r\n"
                   "MAIL FROM:<alice@alpha.test>\r\n"
                   "RCPT TO:<bob@beta.test>\r\n"
                   "DATA\r\n"
                   "Subject: t\r\n\r\nhi\r\n.\r\n"
                   "QUIT\r\n");
  /* The password line is masked in --show; the user name line is not secret. */
  g_assert_nonnull (strstr (outcome.shown->str, "C: YWxpY2U=\n"));
  g_assert_null (strstr (outcome.shown->str, "YWxpY2Vwdw=="));
  g_assert_nonnull (strstr (outcome.shown->str, "*: TLS handshake done: TLSv1."));

  for (guint i = 0; i < events->len; i++)
    {
      const MsEvent *event = g_ptr_array_index (events, i);

      g_assert_cmpstr (ms_event_get_string (event, "proto"), ==, "smtp-relay");
      if (event->kind == MS_EVENT_TLS)
        {
          saw_tls_event = TRUE;
          g_assert_true (ms_event_get_bool (event, "success", FALSE));
          g_assert_true (g_str_has_prefix (ms_event_get_string (event, "version"), "TLSv1."));
          g_assert_nonnull (strstr (ms_event_get_string (event, "subject"), "beta.test"));
        }
      if (event->kind == MS_EVENT_COMMAND)
        {
          g_assert_null (strstr (ms_event_get_string (event, "text"), "YWxpY2Vwdw=="));
          /* The AUTH LOGIN password line is flagged as a secret. */
          if (strstr (ms_event_get_string (event, "text"), "****") != NULL)
            g_assert_true (ms_event_get_bool (event, "secret", FALSE));
        }
      if (event->kind == MS_EVENT_SESSION_CLOSE)
        g_assert_nonnull (ms_event_get_string (event, "state"));
    }
  g_assert_true (saw_tls_event);

  ms_smtp_send_result_free (outcome.result);
  g_string_free (outcome.shown, TRUE);
  fake_server_stop (&fake);
  SSL_CTX_free (fake.tls_ctx);
  g_unlink (cert);
  g_unlink (key);
  g_rmdir (dir);
}

static void
test_sender_timeout (void)
{
  static const char * const rcpt[] = { "bob@beta.test", NULL };
  FakeServer fake = { .silent = TRUE };
  SendOutcome outcome = { 0 };
  MsSmtpSendParams params = { 0 };
  g_autoptr(GBytes) message = g_bytes_new_static ("x\n", 2);

  g_test_summary ("A server that never greets: TEMP_FAILURE after timeout_s, not a GError");
  fake_server_start (&fake);
  params.host = "127.0.0.1";
  params.port = fake.port;
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  params.timeout_s = 1;
  ms_smtp_send_async (&params, NULL, send_done_cb, &outcome);
  while (!outcome.finished)
    g_main_context_iteration (NULL, TRUE);

  g_assert_no_error (outcome.error);
  g_assert_cmpint (outcome.result->status, ==, MS_SMTP_SEND_STATUS_TEMP_FAILURE);
  g_assert_nonnull (strstr (outcome.result->text, "no reply"));
  g_assert_nonnull (strstr (outcome.result->text, "greeting"));
  ms_smtp_send_result_free (outcome.result);
  fake_server_stop (&fake);
}

static gboolean
cancel_cb (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

static void
test_sender_cancel (void)
{
  static const char * const rcpt[] = { "bob@beta.test", NULL };
  FakeServer fake = { .silent = TRUE };
  SendOutcome outcome = { 0 };
  MsSmtpSendParams params = { 0 };
  g_autoptr(GBytes) message = g_bytes_new_static ("x\n", 2);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();

  fake_server_start (&fake);
  params.host = "127.0.0.1";
  params.port = fake.port;
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  params.timeout_s = 30;
  ms_smtp_send_async (&params, cancellable, send_done_cb, &outcome);
  g_timeout_add (100, cancel_cb, cancellable);
  while (!outcome.finished)
    g_main_context_iteration (NULL, TRUE);

  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (outcome.result);
  g_clear_error (&outcome.error);
  fake_server_stop (&fake);
}

static void
test_sender_connection_refused (void)
{
  static const char * const rcpt[] = { "bob@beta.test", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GBytes) message = g_bytes_new_static ("x\n", 2);
  SendOutcome outcome = { 0 };
  MsSmtpSendParams params = { 0 };
  const MsSmtpRecipientResult *r;

  /* A port that was just free: bind without listening, then close. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);

  params.host = "127.0.0.1";
  params.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  params.mail_from = "alice@alpha.test";
  params.rcpt_to = rcpt;
  params.message = message;
  params.timeout_s = 10;
  ms_smtp_send_async (&params, NULL, send_done_cb, &outcome);
  while (!outcome.finished)
    g_main_context_iteration (NULL, TRUE);

  g_assert_no_error (outcome.error);
  g_assert_cmpint (outcome.result->status, ==, MS_SMTP_SEND_STATUS_TEMP_FAILURE);
  g_assert_nonnull (strstr (outcome.result->text, "cannot connect to 127.0.0.1:"));
  g_assert_cmpuint (outcome.result->recipients->len, ==, 1);
  r = g_ptr_array_index (outcome.result->recipients, 0);
  g_assert_cmpstr (r->address, ==, "bob@beta.test");
  g_assert_cmpuint (r->code, ==, 0);
  ms_smtp_send_result_free (outcome.result);
}

static void
test_sender_bad_params (void)
{
  static const char * const bad_rcpt[] = { "bob@beta.test\r\nRSET", NULL };
  static const char * const no_rcpt[] = { NULL };
  g_autoptr(GBytes) message = g_bytes_new_static ("x\n", 2);
  const char * const *rcpts[] = { bad_rcpt, no_rcpt };

  for (guint i = 0; i < G_N_ELEMENTS (rcpts); i++)
    {
      SendOutcome outcome = { 0 };
      MsSmtpSendParams params = { 0 };

      params.host = "127.0.0.1";
      params.port = 25;
      params.mail_from = "alice@alpha.test";
      params.rcpt_to = rcpts[i];
      params.message = message;
      ms_smtp_send_async (&params, NULL, send_done_cb, &outcome);
      while (!outcome.finished)
        g_main_context_iteration (NULL, TRUE);
      g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_null (outcome.result);
      g_clear_error (&outcome.error);
    }
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
        path = g_strdup_printf ("/client/smtp-client/script/%s/%s", script_cases[i].name,
                                step ? "line-by-line" : "whole");
        g_test_add_data_func_full (path, run, test_script, g_free);
      }
  g_test_add_func ("/client/smtp-client/recipient-results", test_recipient_results);
  g_test_add_func ("/client/smtp-client/untried-recipients", test_untried_recipients);
  g_test_add_func ("/client/smtp-client/trace-marks-secrets", test_trace_marks_secrets);
  g_test_add_func ("/client/smtp-client/mask-secret", test_mask_secret);
  g_test_add_func ("/client/smtp-client/state-names", test_state_names);
  g_test_add_func ("/client/smtp-client/abort", test_abort);
  g_test_add_func ("/client/smtp-client/nul-in-reply", test_nul_in_reply);
  g_test_add_func ("/client/smtp-sender/fake-server", test_sender_fake_server);
  g_test_add_func ("/client/smtp-sender/starttls", test_sender_starttls);
  g_test_add_func ("/client/smtp-sender/timeout", test_sender_timeout);
  g_test_add_func ("/client/smtp-sender/cancel", test_sender_cancel);
  g_test_add_func ("/client/smtp-sender/connection-refused", test_sender_connection_refused);
  g_test_add_func ("/client/smtp-sender/bad-params", test_sender_bad_params);

  return g_test_run ();
}
