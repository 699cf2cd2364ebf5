/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-pop3-session.h"

/* A fake backend: alice (password alicepw, APOP secret tanstaaf) has three
 * messages; bob (bobpw) has none. The fake keeps what the session asked of
 * it, so tests assert on marks, commits and lock releases. */

static const char message_1[] = "Subject: one\r\n\r\nhello\r\n";
/* Bare LF line ends, lines that begin with ".", and no final line end. */
static const char message_2[] = "Subject: two\n\n.dot line\n..two dots\nend";
static const char message_3[] = "Subject: three\r\nX: y\r\n\r\nl1\r\n.l2\r\nl3\r\n";

/* What the client must receive for each, byte-stuffed, and the octet
 * counts (CRLF line ends, stuffing not counted). */
static const char wire_2[] = "Subject: two\r\n\r\n..dot line\r\n...two dots\r\nend\r\n.\r\n";
#define SIZE_1 23
#define SIZE_2 44
#define SIZE_3 37

typedef struct {
  MsPop3Session *session;
  GString *output;
  gboolean closed;
  gboolean tls_started;
  GArray *holds;              /* of guint: the milliseconds of each hold */
  GString *marks;             /* "+2 -2 " */
  GArray *committed;          /* of guint32 */
  guint opens;
  guint closes;
  gboolean locked;            /* open_maildrop says IN_USE */
  gboolean login_delay;       /* open_maildrop says LOGIN_DELAY */
  gboolean store_broken;      /* open_maildrop and commit fail */
  gboolean big_message;       /* message 1 is 70000 bytes */
  guint expire_days;
  guint login_delay_s;
  MsTraceBus *bus;
  GPtrArray *events;
} Fixture;

static gboolean
fake_authenticate (gpointer data,
                   const char *user,
                   const char *password,
                   char **user_r)
{
  if ((g_ascii_strcasecmp (user, "alice") == 0 ||
       g_ascii_strcasecmp (user, "alice@alpha.test") == 0) &&
      strcmp (password, "alicepw") == 0)
    {
      *user_r = g_strdup ("alice");
      return TRUE;
    }
  if (strcmp (user, "bob") == 0 && strcmp (password, "bob pw") == 0)
    {
      *user_r = g_strdup ("bob");
      return TRUE;
    }
  return FALSE;
}

static char *
fake_apop_secret (gpointer data,
                  const char *user,
                  char **user_r)
{
  if (strcmp (user, "alice") != 0)
    return NULL;
  *user_r = g_strdup ("alice");
  return g_strdup ("tanstaaf");
}

static GBytes *
message_bytes (Fixture *fixture,
               guint32 uid)
{
  switch (uid)
    {
    case 11:
      if (fixture->big_message)
        {
          GString *big = g_string_new ("Subject: big\r\n\r\n");

          while (big->len < 70000)
            g_string_append (big, "0123456789012345678901234567890123456789\r\n");
          gsize len = big->len;

          return g_bytes_new_take (g_string_free (big, FALSE), len);
        }
      return g_bytes_new_static (message_1, strlen (message_1));
    case 12:
      return g_bytes_new_static (message_2, strlen (message_2));
    case 13:
      return g_bytes_new_static (message_3, strlen (message_3));
    default:
      return NULL;
    }
}

static GPtrArray *
fake_open_maildrop (gpointer data,
                    const char *user,
                    GError **error)
{
  Fixture *fixture = data;
  GPtrArray *messages;

  if (fixture->locked)
    {
      g_set_error_literal (error, MS_POP3_ERROR, MS_POP3_ERROR_IN_USE, "locked");
      return NULL;
    }
  if (fixture->login_delay)
    {
      g_set_error_literal (error, MS_POP3_ERROR, MS_POP3_ERROR_LOGIN_DELAY, "wait 5 seconds");
      return NULL;
    }
  if (fixture->store_broken)
    {
      g_set_error_literal (error, MS_POP3_ERROR, MS_POP3_ERROR_TEMP, "disk on fire");
      return NULL;
    }
  fixture->opens++;
  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_pop3_message_free);
  if (strcmp (user, "alice") != 0)
    return messages;
  for (guint32 uid = 11; uid <= 13; uid++)
    {
      g_autoptr(GBytes) bytes = message_bytes (fixture, uid);
      gsize len;
      const guint8 *bytes_data = g_bytes_get_data (bytes, &len);
      g_autofree char *uidl = g_strdup_printf ("1700000000.M%uP1.host", uid);

      g_ptr_array_add (messages, ms_pop3_message_new (uid, uidl,
                                                      ms_pop3_wire_size (bytes_data, len)));
    }
  return messages;
}

static GBytes *
fake_read_message (gpointer data,
                   const char *user,
                   guint32 uid,
                   GError **error)
{
  return message_bytes (data, uid);
}

static void
fake_mark (gpointer data,
           const char *user,
           guint32 uid,
           gboolean marked)
{
  Fixture *fixture = data;
  g_string_append_printf (fixture->marks, "%c%u ", marked ? '+' : '-', uid - 10);
}

static gboolean
fake_commit (gpointer data,
             const char *user,
             const guint32 *uids,
             guint n_uids,
             GError **error)
{
  Fixture *fixture = data;

  if (fixture->store_broken)
    {
      g_set_error_literal (error, MS_POP3_ERROR, MS_POP3_ERROR_TEMP, "disk on fire");
      return FALSE;
    }
  g_array_append_vals (fixture->committed, uids, n_uids);
  return TRUE;
}

static void
fake_close_maildrop (gpointer data,
                     const char *user)
{
  ((Fixture *) data)->closes++;
}

static const MsPop3Backend fake_backend = {
  fake_authenticate, fake_apop_secret, fake_open_maildrop, fake_read_message,
  fake_mark, fake_commit, fake_close_maildrop,
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
}

static void
out_hold (gpointer data,
          guint milliseconds)
{
  g_array_append_val (((Fixture *) data)->holds, milliseconds);
}

static const MsPop3Output fake_output = {
  out_send, out_start_tls, out_close, out_set_max_line, out_hold,
};

static void
collect_cb (const MsEvent *event,
            gpointer user_data)
{
  g_ptr_array_add (user_data, ms_event_ref ((MsEvent *) event));
}

typedef enum {
  START_PLAIN = 0,
  START_APOP = 1 << 0,
  START_NO_TLS = 1 << 1,
  START_TLS_ACTIVE = 1 << 2,
} StartFlags;

static void
fixture_start (Fixture *fixture,
               StartFlags flags)
{
  MsPop3SessionConfig config = {
    .hostname = "alpha.test",
    .tls_available = !(flags & START_NO_TLS),
    .tls_active = (flags & START_TLS_ACTIVE) != 0,
    .apop_available = (flags & START_APOP) != 0,
    .expire_days = fixture->expire_days,
    .login_delay_s = fixture->login_delay_s,
    .bus = fixture->bus,
    .server_name = "alpha.test",
    .session_id = "pop3-1",
  };

  g_clear_pointer (&fixture->session, ms_pop3_session_free);
  g_string_truncate (fixture->output, 0);
  fixture->closed = FALSE;
  fixture->session = ms_pop3_session_new (&config, &fake_backend, fixture,
                                          &fake_output, fixture);
  ms_pop3_session_start (fixture->session);
}

static void
fixture_set_up (Fixture *fixture,
                gconstpointer user_data)
{
  fixture->output = g_string_new (NULL);
  fixture->holds = g_array_new (FALSE, FALSE, sizeof (guint));
  fixture->marks = g_string_new (NULL);
  fixture->committed = g_array_new (FALSE, FALSE, sizeof (guint32));
  fixture->bus = ms_trace_bus_new ();
  fixture->events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  ms_trace_bus_subscribe (fixture->bus, collect_cb, fixture->events, NULL);
  fixture_start (fixture, GPOINTER_TO_INT (user_data));
}

static void
fixture_tear_down (Fixture *fixture,
                   gconstpointer user_data)
{
  g_clear_pointer (&fixture->session, ms_pop3_session_free);
  /* Every lock taken was released, however the session ended. */
  g_assert_cmpuint (fixture->opens, ==, fixture->closes);
  g_string_free (fixture->output, TRUE);
  g_array_unref (fixture->holds);
  g_string_free (fixture->marks, TRUE);
  g_array_unref (fixture->committed);
  ms_trace_bus_unref (fixture->bus);
  g_ptr_array_unref (fixture->events);
}

/* Feeds one line (without CRLF) and returns the reply bytes it produced. */
static char *
feed (Fixture *fixture,
      const char *line)
{
  g_string_truncate (fixture->output, 0);
  ms_pop3_session_feed_line (fixture->session, line, strlen (line), MS_LINE_FLAG_NONE);
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
login (Fixture *fixture)
{
  static const Exchange exchanges[] = {
    { "USER alice", "+OK " },
    { "PASS alicepw", "+OK alice has 3 messages (" },
  };

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==,
                   MS_POP3_STATE_TRANSACTION);
}

static void
test_wire_size (void)
{
  static const struct {
    const char *data;
    guint64 size;
  } cases[] = {
    { "", 0 },
    { "a\r\n", 3 },
    { "a\n", 3 },
    { "a", 3 },
    { "\n\n", 4 },
    { "a\r\nb\nc", 9 },
    { "a\r", 4 },
    { ".\r\n", 3 },
  };

  g_assert_cmpuint (SIZE_1 + SIZE_2 + SIZE_3, ==, 104);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    g_assert_cmpuint (ms_pop3_wire_size ((const guint8 *) cases[i].data, strlen (cases[i].data)),
                      ==, cases[i].size);
  g_assert_cmpuint (ms_pop3_wire_size ((const guint8 *) message_2, strlen (message_2)), ==,
                    SIZE_2);
  g_assert_cmpuint (strlen (wire_2) - 2 - 3, ==, SIZE_2);
}

static void
test_greeting (Fixture *fixture,
               gconstpointer user_data)
{
  const char *timestamp;

  g_assert_cmpstr (fixture->output->str, ==, "+OK alpha.test Mailscope POP3 server ready\r\n");
  g_assert_null (ms_pop3_session_get_apop_timestamp (fixture->session));
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==,
                   MS_POP3_STATE_AUTHORIZATION);

  fixture_start (fixture, START_APOP);
  timestamp = ms_pop3_session_get_apop_timestamp (fixture->session);
  g_assert_nonnull (timestamp);
  /* RFC 1939 §7: a msg-id, with "@", last on the greeting line. */
  g_assert_true (g_str_has_prefix (timestamp, "<"));
  g_assert_true (g_str_has_suffix (timestamp, "@alpha.test>"));
  {
    g_autofree char *expected = g_strdup_printf ("+OK alpha.test Mailscope POP3 server ready %s\r\n",
                                                 timestamp);
    g_assert_cmpstr (fixture->output->str, ==, expected);
  }
}

static void
test_transaction (Fixture *fixture,
                  gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "USER alice@alpha.test", "+OK " },
    { "PASS alicepw", "+OK alice has 3 messages (104 octets)\r\n" },
    { "STAT", "+OK 3 104\r\n" },
    { "LIST", "+OK 3 messages (104 octets)\r\n1 23\r\n2 44\r\n3 37\r\n.\r\n" },
    { "LIST 2", "+OK 2 44\r\n" },
    { "list 3", "+OK 3 37\r\n" },
    { "UIDL", "+OK unique-id listing follows\r\n1 1700000000.M11P1.host\r\n"
              "2 1700000000.M12P1.host\r\n3 1700000000.M13P1.host\r\n.\r\n" },
    { "UIDL 1", "+OK 1 1700000000.M11P1.host\r\n" },
    { "NOOP", "+OK\r\n" },
    { "RETR 1", "+OK 23 octets\r\nSubject: one\r\n\r\nhello\r\n.\r\n" },
  };

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_cmpstr (ms_pop3_session_get_user (fixture->session), ==, "alice");
}

static void
test_retr_exact_bytes (Fixture *fixture,
                       gconstpointer user_data)
{
  g_autofree char *reply = NULL;
  g_autofree char *expected = g_strdup_printf ("+OK %d octets\r\n%s", SIZE_2, wire_2);

  login (fixture);
  reply = feed (fixture, "RETR 2");
  g_assert_cmpstr (reply, ==, expected);
  g_free (reply);
  reply = feed (fixture, "RETR 3");
  g_assert_cmpstr (reply, ==, "+OK 37 octets\r\n"
                              "Subject: three\r\nX: y\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n");
}

static void
test_top (Fixture *fixture,
          gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "TOP 1 0", "+OK top of message follows\r\nSubject: one\r\n\r\n.\r\n" },
    { "TOP 3 2", "+OK top of message follows\r\nSubject: three\r\nX: y\r\n\r\nl1\r\n..l2\r\n.\r\n" },
    { "TOP 2 1", "+OK top of message follows\r\nSubject: two\r\n\r\n..dot line\r\n.\r\n" },
    { "TOP 2 9999999999", "+OK top of message follows\r\nSubject: two\r\n\r\n..dot line\r\n"
                          "...two dots\r\nend\r\n.\r\n" },
    { "TOP 1", "-ERR syntax" },
    { "TOP 1 -1", "-ERR syntax" },
    { "TOP 1 x", "-ERR syntax" },
    { "TOP 4 1", "-ERR no such message" },
    { "TOP 1 1 1", "-ERR syntax" },
  };

  login (fixture);
  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
}

static void
test_dele_and_rset (Fixture *fixture,
                    gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "DELE 2", "+OK message 2 deleted\r\n" },
    { "DELE 2", "-ERR message 2 already deleted\r\n" },
    { "RETR 2", "-ERR message 2 already deleted\r\n" },
    { "TOP 2 0", "-ERR message 2 already deleted\r\n" },
    { "LIST 2", "-ERR message 2 already deleted\r\n" },
    { "UIDL 2", "-ERR message 2 already deleted\r\n" },
    /* Deleted messages are invisible; the others keep their numbers. */
    { "STAT", "+OK 2 60\r\n" },
    { "LIST", "+OK 2 messages (60 octets)\r\n1 23\r\n3 37\r\n.\r\n" },
    { "UIDL", "+OK unique-id listing follows\r\n1 1700000000.M11P1.host\r\n"
              "3 1700000000.M13P1.host\r\n.\r\n" },
    { "DELE 1", "+OK message 1 deleted\r\n" },
    { "RSET", "+OK maildrop has 3 messages (104 octets)\r\n" },
    { "RETR 2", "+OK 44 octets\r\n" },
    { "STAT", "+OK 3 104\r\n" },
  };

  login (fixture);
  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_cmpstr (fixture->marks->str, ==, "+2 +1 -1 -2 ");
  g_assert_cmpuint (fixture->committed->len, ==, 0);
}

static void
test_bad_message_numbers (Fixture *fixture,
                          gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "RETR abc", "-ERR syntax: RETR takes a message number" },
    { "RETR -1", "-ERR syntax" },
    { "RETR +1", "-ERR syntax" },
    { "RETR 0x1", "-ERR syntax" },
    { "RETR 1.0", "-ERR syntax" },
    { "RETR 0", "-ERR no such message, only 3 messages in maildrop\r\n" },
    { "RETR 4", "-ERR no such message" },
    { "RETR 4294967297", "-ERR no such message" },
    { "RETR 9999999999", "-ERR no such message" },
    { "RETR 99999999999", "-ERR syntax" },
    { "RETR", "-ERR syntax: RETR message number" },
    { "RETR 1 2", "-ERR syntax: RETR message number" },
    { "DELE", "-ERR syntax" },
    { "DELE x", "-ERR syntax" },
    { "DELE 0", "-ERR no such message" },
    { "LIST x", "-ERR syntax" },
    { "LIST 1 2", "-ERR syntax" },
    { "UIDL -3", "-ERR syntax" },
    { "STAT 1", "-ERR syntax: STAT takes no arguments" },
    { "NOOP x", "-ERR syntax" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (exchanges); i++)
    {
      g_autofree char *reply = NULL;

      /* Keep below the bad-command limit. */
      fixture_start (fixture, START_PLAIN);
      login (fixture);
      reply = feed (fixture, exchanges[i].line);
      if (!g_str_has_prefix (reply, exchanges[i].reply))
        g_error ("after \"%s\": expected \"%s...\", got \"%s\"", exchanges[i].line,
                 exchanges[i].reply, reply);
    }
  g_assert_cmpstr (fixture->marks->str, ==, "");
}

static void
test_wrong_state (Fixture *fixture,
                  gconstpointer user_data)
{
  static const char * const transaction_only[] = {
    "STAT", "LIST", "RETR 1", "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL",
  };
  static const char * const authorization_only[] = {
    "USER alice", "PASS alicepw", "APOP alice 0123456789abcdef0123456789abcdef",
    "AUTH PLAIN", "STLS",
  };

  for (guint i = 0; i < G_N_ELEMENTS (transaction_only); i++)
    {
      g_autofree char *reply = feed (fixture, transaction_only[i]);
      g_autofree char *verb = g_strndup (transaction_only[i], 4);
      g_autofree char *expected = g_strdup_printf ("-ERR %s is only valid after login",
                                                   g_strstrip (verb));

      g_assert_true (g_str_has_prefix (reply, expected));
    }
  /* Still not logged in, and nothing was opened. */
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==,
                   MS_POP3_STATE_AUTHORIZATION);
  g_assert_cmpuint (fixture->opens, ==, 0);

  fixture_start (fixture, START_APOP);
  login (fixture);
  for (guint i = 0; i < G_N_ELEMENTS (authorization_only); i++)
    {
      g_autofree char *reply = feed (fixture, authorization_only[i]);
      g_autofree char *verb = g_strndup (authorization_only[i], 4);
      g_autofree char *expected = g_strdup_printf ("-ERR %s is only valid before login", verb);

      g_assert_true (g_str_has_prefix (reply, expected));
    }
  g_assert_false (fixture->tls_started);
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==,
                   MS_POP3_STATE_TRANSACTION);
}

static void
test_user_pass (Fixture *fixture,
                gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "PASS alicepw", "-ERR send USER first\r\n" },
    { "USER", "-ERR syntax: USER name\r\n" },
    { "USER a b", "-ERR syntax: USER name\r\n" },
    { "USER bob", "+OK send PASS\r\n" },
    { "PASS", "-ERR syntax: PASS password\r\n" },
    /* The failed PASS above used up the USER: send it again. */
    { "PASS bob pw", "-ERR send USER first\r\n" },
    { "USER bob", "+OK " },
    /* §7: the password is the rest of the line, spaces and all. */
    { "pass bob pw", "+OK bob has 0 messages (0 octets)\r\n" },
    { "STAT", "+OK 0 0\r\n" },
    { "LIST", "+OK 0 messages (0 octets)\r\n.\r\n" },
    { "RETR 1", "-ERR no such message, only 0 messages in maildrop\r\n" },
    { "QUIT", "+OK alpha.test POP3 server signing off (maildrop empty)\r\n" },
  };

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_true (fixture->closed);
  g_assert_cmpuint (fixture->holds->len, ==, 0);
}

static void
test_quit_commits (Fixture *fixture,
                   gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "DELE 1", "+OK " },
    { "DELE 3", "+OK " },
    { "QUIT", "+OK alpha.test POP3 server signing off (1 message left)\r\n" },
  };
  g_autofree char *after = NULL;

  login (fixture);
  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_true (fixture->closed);
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==, MS_POP3_STATE_CLOSED);
  g_assert_cmpuint (fixture->committed->len, ==, 2);
  g_assert_cmpuint (g_array_index (fixture->committed, guint32, 0), ==, 11);
  g_assert_cmpuint (g_array_index (fixture->committed, guint32, 1), ==, 13);
  g_assert_cmpuint (fixture->closes, ==, 1);
  /* Commits are not unmarked. */
  g_assert_cmpstr (fixture->marks->str, ==, "+1 +3 ");

  after = feed (fixture, "STAT");
  g_assert_cmpstr (after, ==, "");
}

static void
test_quit_commit_fails (Fixture *fixture,
                        gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "DELE 1", "+OK " },
    { "QUIT", "-ERR [SYS/TEMP] some deleted messages not removed\r\n" },
  };

  login (fixture);
  fixture->store_broken = TRUE;
  g_test_expect_message ("ms-pop3", G_LOG_LEVEL_WARNING, "*UPDATE failed*");
  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_test_assert_expected_messages ();
  g_assert_true (fixture->closed);
  g_assert_cmpuint (fixture->closes, ==, 1);
}

static void
test_drop_without_quit (Fixture *fixture,
                        gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "DELE 1", "+OK " },
    { "DELE 2", "+OK " },
  };

  login (fixture);
  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  /* The connection drops: MsServer frees the session. */
  g_clear_pointer (&fixture->session, ms_pop3_session_free);
  g_assert_cmpuint (fixture->committed->len, ==, 0);
  g_assert_cmpstr (fixture->marks->str, ==, "+1 +2 -1 -2 ");
  g_assert_cmpuint (fixture->closes, ==, 1);
}

static void
test_quit_before_login (Fixture *fixture,
                        gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "QUIT now", "-ERR syntax" },
    { "QUIT", "+OK alpha.test POP3 server signing off\r\n" },
  };

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_true (fixture->closed);
  g_assert_cmpuint (fixture->opens, ==, 0);
}

static char *
apop_digest (const char *timestamp,
             const char *secret)
{
  g_autofree char *input = g_strconcat (timestamp, secret, NULL);
  return g_compute_checksum_for_string (G_CHECKSUM_MD5, input, -1);
}

static void
test_apop (Fixture *fixture,
           gconstpointer user_data)
{
  const char *timestamp = ms_pop3_session_get_apop_timestamp (fixture->session);
  g_autofree char *good = apop_digest (timestamp, "tanstaaf");
  g_autofree char *bad = apop_digest (timestamp, "wrong");
  g_autofree char *good_upper = g_ascii_strup (good, -1);
  g_autofree char *good_cmd = g_strdup_printf ("APOP alice %s", good_upper);
  g_autofree char *bad_cmd = g_strdup_printf ("APOP alice %s", bad);
  g_autofree char *bob_cmd = g_strdup_printf ("APOP bob %s", good);
  const Exchange exchanges[] = {
    { "APOP alice", "-ERR syntax: APOP name digest" },
    { "APOP alice 1234", "-ERR syntax: APOP name digest" },
    { bad_cmd, "-ERR [AUTH] invalid user name or password\r\n" },
    { bob_cmd, "-ERR [AUTH] " },
    { good_cmd, "+OK alice has 3 messages (104 octets)\r\n" },
  };
  gboolean masked = FALSE;

  /* RFC 1939 §7's own example. */
  {
    g_autofree char *example = apop_digest ("<1896.697170952@dbc.mtview.ca.us>", "tanstaaf");
    g_assert_cmpstr (example, ==, "c4c9334bac560ecc979e58001b3e22fb");
  }

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==,
                   MS_POP3_STATE_TRANSACTION);
  g_assert_cmpuint (fixture->holds->len, ==, 2);

  for (guint i = 0; i < fixture->events->len; i++)
    {
      MsEvent *event = fixture->events->pdata[i];
      const char *text = ms_event_get_string (event, "text");

      if (text != NULL)
        g_assert_null (strstr (text, good_upper));
      if (event->kind == MS_EVENT_COMMAND && g_strcmp0 (text, "APOP alice ********") == 0)
        masked = TRUE;
    }
  g_assert_true (masked);
}

static void
test_apop_unavailable (Fixture *fixture,
                       gconstpointer user_data)
{
  g_autofree char *reply = feed (fixture, "APOP alice 0123456789abcdef0123456789abcdef");

  g_assert_true (g_str_has_prefix (reply, "-ERR APOP is not available"));
  g_assert_cmpuint (fixture->holds->len, ==, 0);
}

static void
test_auth_plain (Fixture *fixture,
                 gconstpointer user_data)
{
  g_autofree char *good = g_base64_encode ((const guchar *) "\0alice\0alicepw", 14);
  g_autofree char *proxy = g_base64_encode ((const guchar *) "bob\0alice\0alicepw", 17);
  g_autofree char *good_cmd = g_strdup_printf ("AUTH PLAIN %s", good);
  g_autofree char *proxy_cmd = g_strdup_printf ("auth plain %s", proxy);
  const Exchange exchanges[] = {
    { "AUTH", "+OK SASL mechanisms follow\r\nPLAIN\r\n.\r\n" },
    { "AUTH CRAM-MD5", "-ERR unsupported authentication mechanism" },
    { "AUTH PLAIN !!!!", "-ERR cannot decode AUTH response (bad base64)\r\n" },
    { "AUTH PLAIN YWxpY2U=", "-ERR malformed PLAIN response" },
    { "AUTH PLAIN a b", "-ERR syntax" },
    { proxy_cmd, "-ERR [AUTH] " },
    { "AUTH PLAIN", "+ \r\n" },
    { "*", "-ERR authentication cancelled\r\n" },
    { "AUTH PLAIN", "+ \r\n" },
    { good, "+OK alice has 3 messages" },
  };
  gboolean masked = FALSE;
  guint auth_events = 0;

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==,
                   MS_POP3_STATE_TRANSACTION);
  for (guint i = 0; i < fixture->events->len; i++)
    {
      MsEvent *event = fixture->events->pdata[i];
      const char *text = ms_event_get_string (event, "text");

      if (text != NULL)
        g_assert_null (strstr (text, good));
      if (event->kind == MS_EVENT_COMMAND && ms_event_get_bool (event, "secret", FALSE) &&
          ms_event_get_string (event, "verb") == NULL)
        masked = TRUE;
      if (event->kind == MS_EVENT_AUTH)
        {
          g_assert_cmpstr (ms_event_get_string (event, "mechanism"), ==, "PLAIN");
          auth_events++;
        }
    }
  g_assert_true (masked);
  /* The proxy attempt and the good one. */
  g_assert_cmpuint (auth_events, ==, 2);

  /* With an initial response in one line. */
  fixture_start (fixture, START_PLAIN);
  g_free (feed (fixture, good_cmd));
  g_assert_true (g_str_has_prefix (fixture->output->str, "+OK alice has 3 messages"));
}

static void
test_three_wrong_passwords (Fixture *fixture,
                            gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "USER alice", "+OK " },
    { "PASS wrong", "-ERR [AUTH] invalid user name or password\r\n" },
    { "USER alice", "+OK " },
    { "PASS wrong", "-ERR [AUTH] invalid user name or password\r\n" },
    { "USER nobody", "+OK " },
    { "PASS alicepw", "-ERR [AUTH] invalid user name or password; too many failures, "
                      "closing connection\r\n" },
    { "USER alice", "" },
  };

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_true (fixture->closed);
  g_assert_cmpuint (fixture->holds->len, ==, 3);
  g_assert_cmpuint (g_array_index (fixture->holds, guint, 0), ==, 1000);
  g_assert_cmpuint (g_array_index (fixture->holds, guint, 1), ==, 2000);
  g_assert_cmpuint (g_array_index (fixture->holds, guint, 2), ==, 4000);
  g_assert_cmpuint (fixture->opens, ==, 0);
}

static void
test_in_use (Fixture *fixture,
             gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "USER alice", "+OK " },
    { "PASS alicepw", "-ERR [IN-USE] maildrop already locked" },
    { "STAT", "-ERR STAT is only valid after login" },
  };

  fixture->locked = TRUE;
  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==,
                   MS_POP3_STATE_AUTHORIZATION);
  /* The password was right: no failure delay. */
  g_assert_cmpuint (fixture->holds->len, ==, 0);
  g_assert_false (fixture->closed);

  /* Once the other session is gone, the same session can log in. */
  fixture->locked = FALSE;
  login (fixture);
}

static void
test_login_delay_and_temp (Fixture *fixture,
                           gconstpointer user_data)
{
  static const Exchange delay[] = {
    { "USER alice", "+OK " },
    { "PASS alicepw", "-ERR [LOGIN-DELAY] wait 5 seconds\r\n" },
  };
  static const Exchange temp[] = {
    { "USER alice", "+OK " },
    { "PASS alicepw", "-ERR [SYS/TEMP] cannot open the maildrop" },
  };

  fixture->login_delay = TRUE;
  run_exchanges (fixture, delay, G_N_ELEMENTS (delay));
  fixture->login_delay = FALSE;
  fixture->store_broken = TRUE;
  g_test_expect_message ("ms-pop3", G_LOG_LEVEL_WARNING, "*disk on fire*");
  run_exchanges (fixture, temp, G_N_ELEMENTS (temp));
  g_test_assert_expected_messages ();
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==,
                   MS_POP3_STATE_AUTHORIZATION);
}

static void
test_capa (Fixture *fixture,
           gconstpointer user_data)
{
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  fixture->expire_days = 31;
  fixture->login_delay_s = 900;
  fixture_start (fixture, START_PLAIN);
  before = feed (fixture, "CAPA");
  g_assert_cmpstr (before, ==,
                   "+OK Capability list follows\r\n"
                   "TOP\r\nUIDL\r\nUSER\r\nSASL PLAIN\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
                   "PIPELINING\r\nEXPIRE 31\r\nLOGIN-DELAY 900\r\nSTLS\r\n"
                   "IMPLEMENTATION Mailscope-" PACKAGE_VERSION "\r\n.\r\n");
  login (fixture);
  after = feed (fixture, "capa");
  g_assert_cmpstr (after, ==,
                   "+OK Capability list follows\r\n"
                   "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
                   "PIPELINING\r\nEXPIRE 31\r\nLOGIN-DELAY 900\r\n"
                   "IMPLEMENTATION Mailscope-" PACKAGE_VERSION "\r\n.\r\n");
}

static void
test_stls (Fixture *fixture,
           gconstpointer user_data)
{
  static const Exchange exchanges[] = {
    { "STLS now", "-ERR syntax" },
    { "USER alice", "+OK " },
    { "STLS", "+OK Begin TLS negotiation\r\n" },
  };
  g_autofree char *ignored = NULL;
  g_autofree char *pass = NULL;
  g_autofree char *capa = NULL;
  g_autofree char *again = NULL;

  run_exchanges (fixture, exchanges, G_N_ELEMENTS (exchanges));
  g_assert_true (fixture->tls_started);
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==, MS_POP3_STATE_TLS);

  /* Plain text pipelined behind STLS is ignored (RFC 2595 §4). */
  ignored = feed (fixture, "PASS alicepw");
  g_assert_cmpstr (ignored, ==, "");

  ms_pop3_session_tls_done (fixture->session, TRUE);
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==,
                   MS_POP3_STATE_AUTHORIZATION);
  /* The USER given in plain text is forgotten; no new greeting. */
  g_assert_cmpstr (fixture->output->str, ==, "");
  pass = feed (fixture, "PASS alicepw");
  g_assert_cmpstr (pass, ==, "-ERR send USER first\r\n");
  capa = feed (fixture, "CAPA");
  g_assert_null (strstr (capa, "STLS"));
  again = feed (fixture, "STLS");
  g_assert_cmpstr (again, ==, "-ERR TLS already active\r\n");
  login (fixture);

  /* A failed handshake ends the session. */
  fixture_start (fixture, START_PLAIN);
  g_free (feed (fixture, "STLS"));
  ms_pop3_session_tls_done (fixture->session, FALSE);
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==, MS_POP3_STATE_CLOSED);
}

static void
test_stls_unavailable (Fixture *fixture,
                       gconstpointer user_data)
{
  g_autofree char *reply = feed (fixture, "STLS");
  g_autofree char *capa = NULL;

  g_assert_cmpstr (reply, ==, "-ERR STLS not available\r\n");
  capa = feed (fixture, "CAPA");
  g_assert_null (strstr (capa, "STLS"));

  /* On POP3S, TLS is already there. */
  fixture_start (fixture, START_TLS_ACTIVE);
  g_free (reply);
  reply = feed (fixture, "STLS");
  g_assert_cmpstr (reply, ==, "-ERR TLS already active\r\n");
}

static void
test_long_lines_and_nul (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autofree char *name_248 = g_strnfill (248, 'a');
  g_autofree char *long_user = g_strdup_printf ("USER %s", name_248);
  g_autofree char *too_long = g_strdup_printf ("USER %sb", name_248);
  g_autofree char *reply = NULL;
  g_autofree char *auth = NULL;
  g_autofree char *pad = g_strnfill (300, 'A');

  /* 253 octets plus CRLF is the most RFC 2449 §4 allows. */
  g_assert_cmpuint (strlen (long_user), ==, 253);
  reply = feed (fixture, long_user);
  g_assert_cmpstr (reply, ==, "+OK send PASS\r\n");
  g_free (reply);
  reply = feed (fixture, too_long);
  g_assert_true (g_str_has_prefix (reply, "-ERR line too long"));

  g_string_truncate (fixture->output, 0);
  ms_pop3_session_feed_line (fixture->session, "USER aaaa", 9, MS_LINE_FLAG_TOO_LONG);
  g_assert_true (g_str_has_prefix (fixture->output->str, "-ERR line too long"));
  g_string_truncate (fixture->output, 0);
  ms_pop3_session_feed_line (fixture->session, "USER a\0b", 8, MS_LINE_FLAG_NONE);
  g_assert_true (g_str_has_prefix (fixture->output->str, "-ERR syntax error: NUL"));

  /* An AUTH line may be longer (RFC 5034 §4): this one is read, and its
   * base64 is decoded (and found wrong), not refused for its length. */
  auth = g_strdup_printf ("AUTH PLAIN %s", pad);
  g_free (reply);
  reply = feed (fixture, auth);
  g_assert_true (g_str_has_prefix (reply, "-ERR malformed PLAIN response"));
}

static void
test_too_many_errors (Fixture *fixture,
                      gconstpointer user_data)
{
  for (int i = 0; i < 9; i++)
    {
      g_autofree char *reply = feed (fixture, "BOGUS");
      g_assert_cmpstr (reply, ==, "-ERR unknown command\r\n");
      g_assert_false (fixture->closed);
    }
  {
    g_autofree char *reply = feed (fixture, "STATX");
    g_assert_cmpstr (reply, ==, "-ERR unknown command\r\n"
                                "-ERR too many errors, closing connection\r\n");
  }
  g_assert_true (fixture->closed);
  g_assert_cmpint (ms_pop3_session_get_state (fixture->session), ==, MS_POP3_STATE_CLOSED);
}

static void
test_timeout_and_shutdown (Fixture *fixture,
                           gconstpointer user_data)
{
  login (fixture);
  g_free (feed (fixture, "DELE 1"));
  g_string_truncate (fixture->output, 0);
  ms_pop3_session_timeout (fixture->session);
  g_assert_true (g_str_has_prefix (fixture->output->str, "-ERR autologout"));
  g_assert_true (fixture->closed);
  g_assert_cmpuint (fixture->committed->len, ==, 0);
  g_assert_cmpuint (fixture->closes, ==, 1);

  fixture_start (fixture, START_PLAIN);
  login (fixture);
  ms_pop3_session_shutdown (fixture->session);
  g_assert_true (g_str_has_suffix (fixture->output->str,
                                   "-ERR [SYS/TEMP] server shutting down, closing connection\r\n"));
  g_assert_cmpuint (fixture->committed->len, ==, 0);
}

static void
test_trace_events (Fixture *fixture,
                   gconstpointer user_data)
{
  gboolean data_seen = FALSE;
  gboolean pass_masked = FALSE;
  guint continuation = 0;

  fixture->big_message = TRUE;
  login (fixture);
  g_free (feed (fixture, "RETR 1"));
  g_free (feed (fixture, "LIST"));
  for (guint i = 0; i < fixture->events->len; i++)
    {
      MsEvent *event = fixture->events->pdata[i];

      g_assert_cmpstr (event->server, ==, "alpha.test");
      g_assert_cmpstr (ms_event_get_string (event, "session"), ==, "pop3-1");
      g_assert_cmpstr (ms_event_get_string (event, "proto"), ==, "pop3");
      switch (event->kind)
        {
        case MS_EVENT_COMMAND:
          if (g_strcmp0 (ms_event_get_string (event, "verb"), "PASS") == 0)
            {
              g_assert_cmpstr (ms_event_get_string (event, "text"), ==, "PASS ********");
              g_assert_true (ms_event_get_bool (event, "secret", FALSE));
              pass_masked = TRUE;
            }
          break;
        case MS_EVENT_REPLY:
          if (ms_event_get_bool (event, "continuation", FALSE))
            continuation++;
          else
            g_assert_nonnull (ms_event_get_string (event, "status"));
          break;
        case MS_EVENT_DATA:
          g_assert_cmpstr (ms_event_get_string (event, "verb"), ==, "RETR");
          g_assert_cmpint (ms_event_get_int (event, "message", 0), ==, 1);
          g_assert_cmpint (ms_event_get_int (event, "bytes", 0), >, 70000);
          g_assert_true (ms_event_get_bool (event, "truncated", FALSE));
          g_assert_cmpuint (strlen (ms_event_get_string (event, "text")), ==, 64 * 1024);
          data_seen = TRUE;
          break;
        default:
          break;
        }
    }
  g_assert_true (data_seen);
  g_assert_true (pass_masked);
  /* RETR's "." and LIST's three lines and "." */
  g_assert_cmpuint (continuation, ==, 5);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func, flags) \
  g_test_add ("/server/pop3-session/" path, Fixture, GINT_TO_POINTER (flags), \
              fixture_set_up, func, fixture_tear_down)

  g_test_add_func ("/server/pop3-session/wire-size", test_wire_size);
  ADD ("greeting", test_greeting, START_PLAIN);
  ADD ("transaction", test_transaction, START_PLAIN);
  ADD ("retr-exact-bytes", test_retr_exact_bytes, START_PLAIN);
  ADD ("top", test_top, START_PLAIN);
  ADD ("dele-and-rset", test_dele_and_rset, START_PLAIN);
  ADD ("bad-message-numbers", test_bad_message_numbers, START_PLAIN);
  ADD ("wrong-state", test_wrong_state, START_PLAIN);
  ADD ("user-pass", test_user_pass, START_PLAIN);
  ADD ("quit-commits", test_quit_commits, START_PLAIN);
  ADD ("quit-commit-fails", test_quit_commit_fails, START_PLAIN);
  ADD ("drop-without-quit", test_drop_without_quit, START_PLAIN);
  ADD ("quit-before-login", test_quit_before_login, START_PLAIN);
  ADD ("apop", test_apop, START_APOP);
  ADD ("apop-unavailable", test_apop_unavailable, START_PLAIN);
  ADD ("auth-plain", test_auth_plain, START_PLAIN);
  ADD ("three-wrong-passwords", test_three_wrong_passwords, START_PLAIN);
  ADD ("in-use", test_in_use, START_PLAIN);
  ADD ("login-delay-and-temp", test_login_delay_and_temp, START_PLAIN);
  ADD ("capa", test_capa, START_PLAIN);
  ADD ("stls", test_stls, START_PLAIN);
  ADD ("stls-unavailable", test_stls_unavailable, START_NO_TLS);
  ADD ("long-lines-and-nul", test_long_lines_and_nul, START_PLAIN);
  ADD ("too-many-errors", test_too_many_errors, START_PLAIN);
  ADD ("timeout-and-shutdown", test_timeout_and_shutdown, START_PLAIN);
  ADD ("trace-events", test_trace_events, START_PLAIN);

  return g_test_run ();
}
