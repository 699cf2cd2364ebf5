/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-smtp-session.h"

/* A fake backend: alpha.test has alice and carol; beta.test is routed;
 * anything else has no route. alice's password is alicepw. */
typedef struct {
  MsSmtpSession *session;
  GString *output;
  gboolean closed;
  gboolean tls_started;
  gsize max_line;
  GPtrArray *accepted;        /* of char *: messages handed to the backend */
  GPtrArray *envelopes;       /* of char *: "from|rcpt,rcpt|auth" */
  gboolean fail_delivery;
  MsTraceBus *bus;
  GPtrArray *events;
} Fixture;

static MsSmtpRcptKind
fake_classify (gpointer data,
               const char *address)
{
  const char *at = strrchr (address, '@');

  if (g_ascii_strcasecmp (at + 1, "alpha.test") == 0)
    {
      if (g_ascii_strncasecmp (address, "alice@", 6) == 0 ||
          g_ascii_strncasecmp (address, "carol@", 6) == 0)
        return MS_SMTP_RCPT_LOCAL;
      return MS_SMTP_RCPT_NO_SUCH_USER;
    }
  if (g_ascii_strcasecmp (at + 1, "beta.test") == 0)
    return MS_SMTP_RCPT_REMOTE;
  return MS_SMTP_RCPT_NO_ROUTE;
}

static gboolean
fake_authenticate (gpointer data,
                   const char *user,
                   const char *password)
{
  return strcmp (user, "alice") == 0 && strcmp (password, "alicepw") == 0;
}

static gboolean
fake_accept (gpointer data,
             const MsSmtpEnvelope *envelope,
             const char *message,
             gsize len,
             GError **error)
{
  Fixture *fixture = data;
  g_autofree char *rcpts = NULL;

  if (fixture->fail_delivery)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "disk full");
      return FALSE;
    }
  g_ptr_array_add (envelope->rcpt_to, NULL);
  rcpts = g_strjoinv (",", (char **) envelope->rcpt_to->pdata);
  g_ptr_array_remove_index (envelope->rcpt_to, envelope->rcpt_to->len - 1);
  g_ptr_array_add (fixture->envelopes,
                   g_strdup_printf ("%s|%s|%s", envelope->mail_from, rcpts,
                                    envelope->auth_user ? envelope->auth_user : ""));
  g_ptr_array_add (fixture->accepted, g_strndup (message, len));
  return TRUE;
}

static const MsSmtpBackend fake_backend = {
  fake_classify, fake_authenticate, fake_accept,
};

static void
out_send (gpointer data,
          const char *bytes,
          gsize len)
{
  Fixture *fixture = data;

  g_assert_false (fixture->closed);
  g_string_append_len (fixture->output, bytes, len);
}

static void
out_start_tls (gpointer data)
{
  ((Fixture *) data)->tls_started = TRUE;
}

static void
out_close (gpointer data)
{
  ((Fixture *) data)->closed = TRUE;
}

static void
out_set_max_line (gpointer data,
                  gsize max_line)
{
  ((Fixture *) data)->max_line = max_line;
}

static const MsSmtpOutput fake_output = {
  out_send, out_start_tls, out_close, out_set_max_line,
};

static void
collect_cb (const MsEvent *event,
            gpointer user_data)
{
  g_ptr_array_add (user_data, ms_event_ref ((MsEvent *) event));
}

static void
fixture_start (Fixture *fixture,
               MsSmtpPortKind port_kind,
               gboolean tls_available)
{
  MsSmtpSessionConfig config = {
    .hostname = "alpha.test",
    .port_kind = port_kind,
    .tls_available = tls_available,
    .peer = "127.0.0.1:40000",
    .max_message_size = 1000,
    .max_recipients = 3,
    .bus = fixture->bus,
    .server_name = "alpha.test",
    .session_id = "smtp-1",
  };

  fixture->session = ms_smtp_session_new (&config, &fake_backend, fixture,
                                          &fake_output, fixture);
  ms_smtp_session_start (fixture->session);
}

static void
fixture_set_up (Fixture *fixture,
                gconstpointer user_data)
{
  fixture->output = g_string_new (NULL);
  fixture->accepted = g_ptr_array_new_with_free_func (g_free);
  fixture->envelopes = g_ptr_array_new_with_free_func (g_free);
  fixture->bus = ms_trace_bus_new ();
  fixture->events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  ms_trace_bus_subscribe (fixture->bus, collect_cb, fixture->events, NULL);
  fixture_start (fixture, GPOINTER_TO_INT (user_data), TRUE);
}

static void
fixture_tear_down (Fixture *fixture,
                   gconstpointer user_data)
{
  g_clear_pointer (&fixture->session, ms_smtp_session_free);
  g_string_free (fixture->output, TRUE);
  g_ptr_array_unref (fixture->accepted);
  g_ptr_array_unref (fixture->envelopes);
  ms_trace_bus_unref (fixture->bus);
  g_ptr_array_unref (fixture->events);
}

/* Feeds one line (without CRLF) and returns the reply bytes it produced. */
static char *
feed (Fixture *fixture,
      const char *line)
{
  g_string_truncate (fixture->output, 0);
  ms_smtp_session_feed_line (fixture->session, line, strlen (line), MS_LINE_FLAG_NONE);
  return g_strdup (fixture->output->str);
}

typedef struct {
  const char *line;       /* what the client sends */
  const char *reply;      /* the reply must start with this */
} Exchange;

static void
run_exchanges (Fixture *fixture,
               const Exchange *exchanges,
               gsize n)
{
  for (gsize i = 0; i < n; i++)
    {
      g_autofree char *reply = feed (fixture, exchanges[i].line);

      if (!g_str_has_prefix (reply, exchanges[i].reply))
        g_error ("after \"%s\": expected \"%s...\", got \"%s\"", exchanges[i].line,
                 exchanges[i].reply, reply);
    }
}

static void
test_greeting_and_ehlo (Fixture *fixture,
                        gconstpointer user_data)
{
  g_autofree char *reply = NULL;

  g_assert_cmpstr (fixture->output->str, ==, "220 alpha.test ESMTP Mailscope ready\r\n");
  reply = feed (fixture, "EHLO client.example");
  g_assert_cmpstr (reply, ==,
                   "250-alpha.test greets client.example\r\n"
                   "250-PIPELINING\r\n"
                   "250-SIZE 1000\r\n"
                   "250-8BITMIME\r\n"
                   "250-ENHANCEDSTATUSCODES\r\n"
                   "250-STARTTLS\r\n"
                   "250-AUTH PLAIN LOGIN\r\n"
                   "250 HELP\r\n");
  g_assert_cmpint (ms_smtp_session_get_state (fixture->session), ==, MS_SMTP_STATE_READY);
}

static void
test_mta_delivery (Fixture *fixture,
                   gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "EHLO beta.test", "250-alpha.test" },
    { "MAIL FROM:<bob@beta.test> SIZE=100 BODY=8BITMIME", "250 2.1.0 " },
    { "RCPT TO:<alice@alpha.test>", "250 2.1.5 " },
    { "RCPT TO:<Carol@ALPHA.test>", "250 2.1.5 " },
    { "RCPT TO:<nobody@alpha.test>", "550 5.1.1 " },
    { "RCPT TO:<dave@beta.test>", "550 5.7.1 " },
    { "DATA", "354 " },
    { "Subject: hi", "" },
    { "", "" },
    { "..leading dot", "" },
    { ".", "250 2.0.0 Message accepted" },
    { "QUIT", "221 2.0.0 " },
  };
  const char *message;
  const char *body;

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_true (fixture->closed);
  g_assert_cmpuint (fixture->accepted->len, ==, 1);
  g_assert_cmpstr (fixture->envelopes->pdata[0], ==,
                   "bob@beta.test|alice@alpha.test,Carol@ALPHA.test|");
  message = fixture->accepted->pdata[0];
  g_assert_true (g_str_has_prefix (message, "Received: from beta.test (127.0.0.1)\r\n"
                                            "\tby alpha.test (Mailscope) with ESMTP id smtp-1.1;"));
  body = strstr (message, "\r\nSubject: hi\r\n");
  g_assert_nonnull (body);
  g_assert_cmpstr (body, ==, "\r\nSubject: hi\r\n\r\n.leading dot\r\n");
}

static void
test_order_enforced (Fixture *fixture,
                     gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "MAIL FROM:<a@b.test>", "503 5.5.1 Send HELO or EHLO first" },
    { "HELO client", "250 alpha.test" },
    { "RCPT TO:<alice@alpha.test>", "503 5.5.1 Need MAIL before RCPT" },
    { "DATA", "503 5.5.1 Need MAIL and RCPT before DATA" },
    { "MAIL FROM:<a@b.test>", "250 " },
    { "MAIL FROM:<a@b.test>", "503 5.5.1 Nested MAIL" },
    { "DATA", "554 5.5.1 No valid recipients" },
    { "RSET", "250 2.0.0" },
    { "RCPT TO:<alice@alpha.test>", "503 5.5.1" },
    { "NOOP", "250 2.0.0 OK" },
    { "VRFY alice", "252 2.5.0" },
    { "EXPN staff", "502 5.5.1" },
    { "HELP", "214-" },
    { "FOO bar", "500 5.5.2 Command not recognized" },
    { "MAILX FROM:<a@b>", "500 5.5.2" },
  };

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_false (fixture->closed);
}

static void
test_syntax_errors (Fixture *fixture,
                    gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "EHLO", "501 5.5.4" },
    { "EHLO x", "250-" },
    { "MAIL FROM:alice@alpha.test", "501 5.1.7" },
    { "MAIL FROM:<no-at-sign>", "501 5.1.7" },
    { "MAIL FROM:<a@b.test> SIZE=abc", "501 5.5.4" },
    { "MAIL FROM:<a@b.test> FOO=1", "555 5.5.4" },
    { "MAIL FROM:<>", "250 2.1.0" },
    { "RCPT TO:<>", "501 5.1.3" },
    { "RCPT TO:<caf\xc3\xa9@alpha.test>", "501 5.1.3" },
    { "RCPT TO:<x@nowhere.test>", "550 5.7.1" },
    { "RCPT TO:<@relay.test:alice@alpha.test>", "250 2.1.5" },
    { "DATA now", "501 5.5.4" },
  };

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
}

static void
test_too_many_recipients (Fixture *fixture,
                          gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "EHLO x", "250-" },
    { "MAIL FROM:<a@b.test>", "250 " },
    { "RCPT TO:<alice@alpha.test>", "250 " },
    { "RCPT TO:<alice@alpha.test>", "250 " },
    { "RCPT TO:<carol@alpha.test>", "250 " },
    { "RCPT TO:<carol@alpha.test>", "452 4.5.3 Too many recipients" },
  };

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
}

static void
test_size_limit (Fixture *fixture,
                 gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "EHLO x", "250-" },
    { "MAIL FROM:<a@b.test> SIZE=5000", "552 5.3.4" },
    { "MAIL FROM:<a@b.test>", "250 " },
    { "RCPT TO:<alice@alpha.test>", "250 " },
    { "DATA", "354 " },
  };
  g_autofree char *line = g_strnfill (200, 'x');
  g_autofree char *reply = NULL;

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  for (int i = 0; i < 10; i++)
    g_free (feed (fixture, line));
  reply = feed (fixture, ".");
  g_assert_true (g_str_has_prefix (reply, "552 5.3.4"));
  g_assert_cmpuint (fixture->accepted->len, ==, 0);
  g_assert_cmpint (ms_smtp_session_get_state (fixture->session), ==, MS_SMTP_STATE_READY);
}

static void
test_bare_lf_refused (Fixture *fixture,
                      gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "EHLO x", "250-" },
    { "MAIL FROM:<a@b.test>", "250 " },
    { "RCPT TO:<alice@alpha.test>", "250 " },
    { "DATA", "354 " },
  };

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  ms_smtp_session_feed_line (fixture->session, "Subject: x", 10, MS_LINE_FLAG_BARE_LF);
  ms_smtp_session_feed_line (fixture->session, "body", 4, MS_LINE_FLAG_NONE);
  g_string_truncate (fixture->output, 0);
  ms_smtp_session_feed_line (fixture->session, ".", 1, MS_LINE_FLAG_NONE);
  g_assert_true (g_str_has_prefix (fixture->output->str, "550 5.6.0"));
  g_assert_cmpuint (fixture->accepted->len, ==, 0);
  g_assert_false (fixture->closed);
}

/* "body<LF>.<CR><LF>MAIL FROM..." is one message to a sending server that
 * passes bare LF through; ending the message at that "." would run the
 * smuggled commands. */
static void
test_bare_lf_dot_closes (Fixture *fixture,
                         gconstpointer user_data)
{
  static const struct {
    MsLineFlags body_flags;
    MsLineFlags dot_flags;
  } cases[] = {
    { MS_LINE_FLAG_BARE_LF, MS_LINE_FLAG_NONE },
    { MS_LINE_FLAG_NONE, MS_LINE_FLAG_BARE_LF },
    { MS_LINE_FLAG_BARE_LF, MS_LINE_FLAG_BARE_LF },
  };
  static const Exchange exchanges[] = {
    { "EHLO x", "250-" },
    { "MAIL FROM:<a@b.test>", "250 " },
    { "RCPT TO:<alice@alpha.test>", "250 " },
    { "DATA", "354 " },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_clear_pointer (&fixture->session, ms_smtp_session_free);
      fixture->closed = FALSE;
      fixture_start (fixture, MS_SMTP_PORT_MTA, TRUE);
      run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
      ms_smtp_session_feed_line (fixture->session, "body", 4, cases[i].body_flags);
      g_string_truncate (fixture->output, 0);
      ms_smtp_session_feed_line (fixture->session, ".", 1, cases[i].dot_flags);
      g_assert_true (g_str_has_prefix (fixture->output->str, "521 5.5.2"));
      g_assert_true (fixture->closed);
      g_string_truncate (fixture->output, 0);
      ms_smtp_session_feed_line (fixture->session, "MAIL FROM:<evil@b.test>", 23,
                                 MS_LINE_FLAG_NONE);
      g_assert_cmpstr (fixture->output->str, ==, "");
    }
  g_assert_cmpuint (fixture->accepted->len, ==, 0);
}

static void
test_nul_and_long_lines (Fixture *fixture,
                         gconstpointer user_data)
{
  g_string_truncate (fixture->output, 0);
  ms_smtp_session_feed_line (fixture->session, "HELO a\0b", 8, MS_LINE_FLAG_NONE);
  g_assert_true (g_str_has_prefix (fixture->output->str, "500 5.5.2"));
  g_string_truncate (fixture->output, 0);
  ms_smtp_session_feed_line (fixture->session, "HELO aaaa", 9, MS_LINE_FLAG_TOO_LONG);
  g_assert_true (g_str_has_prefix (fixture->output->str, "500 5.5.6 Line too long"));
}

static void
test_too_many_errors (Fixture *fixture,
                      gconstpointer user_data)
{
  for (int i = 0; i < 9; i++)
    {
      g_autofree char *reply = feed (fixture, "BOGUS");
      g_assert_true (g_str_has_prefix (reply, "500 "));
      g_assert_false (fixture->closed);
    }
  {
    g_autofree char *reply = feed (fixture, "BOGUS");
    g_assert_cmpstr (reply, ==, "500 5.5.2 Command not recognized\r\n"
                                "421 4.7.0 alpha.test Too many errors, closing connection\r\n");
  }
  g_assert_true (fixture->closed);
  g_assert_cmpint (ms_smtp_session_get_state (fixture->session), ==, MS_SMTP_STATE_CLOSED);
}

static void
test_submission_auth_plain (Fixture *fixture,
                            gconstpointer user_data)
{
  g_autofree char *good = g_base64_encode ((const guchar *) "\0alice\0alicepw", 14);
  g_autofree char *bad = g_base64_encode ((const guchar *) "\0alice\0wrong", 12);
  g_autofree char *good_cmd = g_strdup_printf ("AUTH PLAIN %s", good);
  g_autofree char *bad_cmd = g_strdup_printf ("AUTH PLAIN %s", bad);
  const Exchange exchanges[] = {
    { "EHLO x", "250-" },
    { "MAIL FROM:<alice@alpha.test>", "530 5.7.0" },
    { bad_cmd, "535 5.7.8" },
    { "AUTH PLAIN !!!!", "501 5.5.2" },
    { "AUTH CRAM-MD5", "504 5.5.4" },
    { "AUTH PLAIN", "334 " },
    { "*", "501 5.0.0 Authentication cancelled" },
    { good_cmd, "235 2.7.0" },
    { "AUTH PLAIN", "503 5.5.1 Already authenticated" },
    { "MAIL FROM:<alice@alpha.test>", "250 " },
    { "RCPT TO:<bob@beta.test>", "250 2.1.5" },
    { "RCPT TO:<x@nowhere.test>", "550 5.1.2" },
    { "DATA", "354 " },
    { "hello", "" },
    { ".", "250 2.0.0" },
  };
  gboolean masked = FALSE;

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_cmpstr (fixture->envelopes->pdata[0], ==, "alice@alpha.test|bob@beta.test|alice");
  g_assert_true (strstr (fixture->accepted->pdata[0],
                         "with ESMTPA id") != NULL);

  /* The secret never reaches the trace. */
  for (guint i = 0; i < fixture->events->len; i++)
    {
      MsEvent *event = fixture->events->pdata[i];
      const char *text = ms_event_get_string (event, "text");

      if (text == NULL)
        continue;
      g_assert_null (strstr (text, good));
      if (event->kind == MS_EVENT_COMMAND && g_str_has_prefix (text, "AUTH PLAIN ****"))
        masked = TRUE;
    }
  g_assert_true (masked);
}

static void
test_submission_auth_login (Fixture *fixture,
                            gconstpointer user_data)
{
  g_autofree char *user = g_base64_encode ((const guchar *) "alice", 5);
  g_autofree char *password = g_base64_encode ((const guchar *) "alicepw", 7);
  const Exchange exchanges[] = {
    { "EHLO x", "250-" },
    { "AUTH LOGIN", "334 VXNlcm5hbWU6" },
    { user, "334 UGFzc3dvcmQ6" },
    { password, "235 2.7.0" },
  };
  gboolean auth_event = FALSE;

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_cmpstr (ms_smtp_session_get_auth_user (fixture->session), ==, "alice");
  for (guint i = 0; i < fixture->events->len; i++)
    {
      MsEvent *event = fixture->events->pdata[i];

      if (event->kind == MS_EVENT_AUTH)
        {
          g_assert_cmpstr (ms_event_get_string (event, "mechanism"), ==, "LOGIN");
          g_assert_cmpstr (ms_event_get_string (event, "user"), ==, "alice");
          g_assert_true (ms_event_get_bool (event, "success", FALSE));
          auth_event = TRUE;
        }
      if (event->kind == MS_EVENT_COMMAND)
        g_assert_cmpstr (ms_event_get_string (event, "text"), !=, password);
    }
  g_assert_true (auth_event);
}

static void
test_auth_on_mta_port (Fixture *fixture,
                       gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "EHLO x", "250-" },
    { "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", "502 5.5.1" },
  };
  g_autofree char *ehlo = NULL;

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  ehlo = feed (fixture, "EHLO x");
  g_assert_null (strstr (ehlo, "AUTH"));
}

static void
test_starttls_resets (Fixture *fixture,
                      gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "STARTTLS", "503 5.5.1 Send HELO" },
    { "EHLO x", "250-" },
    { "MAIL FROM:<a@b.test>", "250 " },
    { "STARTTLS", "503 5.5.1" },
    { "RSET", "250 " },
    { "STARTTLS", "220 2.0.0 Ready to start TLS" },
  };
  g_autofree char *after = NULL;
  g_autofree char *ehlo = NULL;

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_true (fixture->tls_started);
  g_assert_cmpint (ms_smtp_session_get_state (fixture->session), ==, MS_SMTP_STATE_TLS);

  /* Plain-text input pipelined behind STARTTLS is ignored. */
  after = feed (fixture, "MAIL FROM:<a@b.test>");
  g_assert_cmpstr (after, ==, "");

  ms_smtp_session_tls_done (fixture->session, TRUE);
  g_assert_cmpint (ms_smtp_session_get_state (fixture->session), ==, MS_SMTP_STATE_CONNECTED);
  g_free (feed (fixture, "MAIL FROM:<a@b.test>"));
  g_assert_true (g_str_has_prefix (fixture->output->str, "503 5.5.1 Send HELO"));
  ehlo = feed (fixture, "EHLO x");
  g_assert_null (strstr (ehlo, "STARTTLS"));
}

static void
test_delivery_failure (Fixture *fixture,
                       gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "EHLO x", "250-" },
    { "MAIL FROM:<a@b.test>", "250 " },
    { "RCPT TO:<alice@alpha.test>", "250 " },
    { "DATA", "354 " },
    { "x", "" },
    { ".", "451 4.3.0" },
    { "MAIL FROM:<a@b.test>", "250 " },
  };

  fixture->fail_delivery = TRUE;
  g_test_expect_message ("ms-smtp", G_LOG_LEVEL_WARNING, "*disk full*");
  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_test_assert_expected_messages ();
}

static void
test_trace_events (Fixture *fixture,
                   gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "EHLO x", "250-" },
    { "MAIL FROM:<a@b.test>", "250 " },
    { "QUIT", "221 " },
  };
  guint commands = 0, replies = 0, states = 0;

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  for (guint i = 0; i < fixture->events->len; i++)
    {
      MsEvent *event = fixture->events->pdata[i];

      g_assert_cmpstr (event->server, ==, "alpha.test");
      g_assert_cmpstr (ms_event_get_string (event, "session"), ==, "smtp-1");
      g_assert_cmpuint (event->seq, ==, i + 1);
      switch (event->kind)
        {
        case MS_EVENT_COMMAND:
          commands++;
          g_assert_nonnull (ms_event_get_string (event, "verb"));
          break;
        case MS_EVENT_REPLY:
          replies++;
          g_assert_cmpint (ms_event_get_int (event, "code", 0), >=, 200);
          break;
        case MS_EVENT_STATE:
          states++;
          break;
        default:
          break;
        }
    }
  g_assert_cmpuint (commands, ==, 3);
  /* greeting + 7 EHLO lines (no AUTH on the MTA port) + MAIL + QUIT */
  g_assert_cmpuint (replies, ==, 10);
  /* initial, connected->ready, ready->mail, mail->closed */
  g_assert_cmpuint (states, ==, 4);
}

/* The step gate holds only lines that start a command: not the lines of a
 * message, not the answer to "334". */
static void
test_awaits_command (Fixture *fixture,
                     gconstpointer user_data)
{
  static const struct {
    const char *line;
    gboolean awaits;            /* after the line */
  } steps[] = {
    { "EHLO client.test", TRUE },
    { "AUTH LOGIN", FALSE },           /* 334: the user name comes next */
    { "YWxpY2U=", FALSE },             /* 334: the password comes next */
    { "YWxpY2Vwdw==", TRUE },          /* "alicepw": 235 */
    { "MAIL FROM:<alice@alpha.test>", TRUE },
    { "RCPT TO:<bob@beta.test>", TRUE },
    { "DATA", FALSE },                 /* 354: the message's lines come next */
    { "Subject: held?", FALSE },
    { ".", TRUE },
  };

  g_assert_true (ms_smtp_session_awaits_command (fixture->session));
  for (gsize i = 0; i < G_N_ELEMENTS (steps); i++)
    {
      g_autofree char *reply = feed (fixture, steps[i].line);

      g_test_message ("%s -> %s", steps[i].line, reply);
      g_assert_cmpint (reply[0], !=, '5');
      g_assert_cmpint (ms_smtp_session_awaits_command (fixture->session), ==, steps[i].awaits);
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, port) \
  g_test_add ("/server/smtp-session/" path, Fixture, GINT_TO_POINTER (port), \
              fixture_set_up, func, fixture_tear_down)

  ADD ("greeting-and-ehlo", test_greeting_and_ehlo, MS_SMTP_PORT_SUBMISSION);
  ADD ("mta-delivery", test_mta_delivery, MS_SMTP_PORT_MTA);
  ADD ("order-enforced", test_order_enforced, MS_SMTP_PORT_MTA);
  ADD ("syntax-errors", test_syntax_errors, MS_SMTP_PORT_MTA);
  ADD ("too-many-recipients", test_too_many_recipients, MS_SMTP_PORT_MTA);
  ADD ("size-limit", test_size_limit, MS_SMTP_PORT_MTA);
  ADD ("bare-lf-refused", test_bare_lf_refused, MS_SMTP_PORT_MTA);
  ADD ("bare-lf-dot-closes", test_bare_lf_dot_closes, MS_SMTP_PORT_MTA);
  ADD ("nul-and-long-lines", test_nul_and_long_lines, MS_SMTP_PORT_MTA);
  ADD ("too-many-errors", test_too_many_errors, MS_SMTP_PORT_MTA);
  ADD ("submission-auth-plain", test_submission_auth_plain, MS_SMTP_PORT_SUBMISSION);
  ADD ("submission-auth-login", test_submission_auth_login, MS_SMTP_PORT_SUBMISSION);
  ADD ("auth-on-mta-port", test_auth_on_mta_port, MS_SMTP_PORT_MTA);
  ADD ("starttls-resets", test_starttls_resets, MS_SMTP_PORT_MTA);
  ADD ("delivery-failure", test_delivery_failure, MS_SMTP_PORT_MTA);
  ADD ("trace-events", test_trace_events, MS_SMTP_PORT_MTA);
  ADD ("awaits-command", test_awaits_command, MS_SMTP_PORT_SUBMISSION);

  return g_test_run ();
}
