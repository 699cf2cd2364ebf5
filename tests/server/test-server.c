/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ms-server-private.h"
#include "ms-smtp-sender.h"
#include "ms-world.h"
#include "ms-test-util.h"
#include "server-test-util.h"

/* Two servers in this process, on free loopback ports, each routing to
 * the other: the lecture's alice-to-bob story without any other program. */
typedef struct {
  char *dir;
  MsTraceBus *bus;
  MsServer *alpha;
  MsServer *beta;
  MsSmtpSendResult *result;
  GPtrArray *relay_steps;
} Fixture;

static MsServer *
make_server (Fixture *fixture,
             const char *domain,
             const char *user)
{
  g_autofree char *data_dir = g_build_filename (fixture->dir, domain, NULL);
  g_autofree char *password = g_strconcat (user, "pw", NULL);
  g_autoptr(GError) error = NULL;
  MsServerConfig config = {
    .domain = domain,
    .data_dir = data_dir,
    .ports = { MS_SERVER_PORT_ANY, MS_SERVER_PORT_ANY, MS_SERVER_PORT_ANY,
               MS_SERVER_PORT_ANY, MS_SERVER_PORT_ANY, MS_SERVER_PORT_ANY },
  };
  MsServer *server = ms_server_new (&config, fixture->bus, &error);

  g_assert_no_error (error);
  g_assert_true (ms_server_set_password (server, user, password, &error));
  g_assert_no_error (error);
  g_assert_true (ms_server_start (server, &error));
  g_assert_no_error (error);
  return server;
}

static void
relay_cb (const MsEvent *event,
          gpointer user_data)
{
  Fixture *fixture = user_data;

  if (event->kind == MS_EVENT_RELAY)
    g_ptr_array_add (fixture->relay_steps, g_strdup (ms_event_get_string (event, "step")));
}

static void
fixture_set_up (Fixture *fixture,
                gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("ms-test-server-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->bus = ms_trace_bus_new ();
  fixture->relay_steps = g_ptr_array_new_with_free_func (g_free);
  ms_trace_bus_subscribe (fixture->bus, relay_cb, fixture, NULL);
  fixture->alpha = make_server (fixture, "alpha.test", "alice");
  fixture->beta = make_server (fixture, "beta.test", "bob");
  ms_server_add_route (fixture->alpha, "beta.test", "127.0.0.1",
                       ms_server_get_port (fixture->beta, MS_LISTENER_SMTP));
  ms_server_add_route (fixture->beta, "alpha.test", "127.0.0.1",
                       ms_server_get_port (fixture->alpha, MS_LISTENER_SMTP));
}

static void
fixture_tear_down (Fixture *fixture,
                   gconstpointer user_data)
{
  g_clear_pointer (&fixture->alpha, ms_server_free);
  g_clear_pointer (&fixture->beta, ms_server_free);
  g_clear_pointer (&fixture->result, ms_smtp_send_result_free);
  /* Let closed connections finish their callbacks. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  ms_trace_bus_unref (fixture->bus);
  g_ptr_array_unref (fixture->relay_steps);
  ms_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static void
sent_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  Fixture *fixture = user_data;
  g_autoptr(GError) error = NULL;

  fixture->result = ms_smtp_send_finish (result, &error);
  g_assert_no_error (error);
}

static void
send_message (Fixture *fixture,
              guint16 port,
              MsSmtpTlsMode tls,
              const char *user,
              const char *password,
              const char * const *rcpt_to,
              const char *message)
{
  g_autoptr(GBytes) bytes = g_bytes_new_static (message, strlen (message));
  MsSmtpSendParams params = {
    .host = "127.0.0.1",
    .port = port,
    .tls = tls,
    .username = user,
    .password = password,
    .mail_from = "alice@alpha.test",
    .rcpt_to = rcpt_to,
    .message = bytes,
    .timeout_s = 10,
  };

  g_clear_pointer (&fixture->result, ms_smtp_send_result_free);
  ms_smtp_send_async (&params, NULL, sent_cb, fixture);
  while (fixture->result == NULL)
    g_main_context_iteration (NULL, TRUE);
}

static const char message_text[] =
  "From: alice@alpha.test\r\n"
  "To: bob@beta.test\r\n"
  "Subject: lecture\r\n"
  "\r\n"
  ".a line that begins with a dot\r\n"
  "end\r\n";

static void
test_relay_alice_to_bob (Fixture *fixture,
                         gconstpointer user_data)
{
  const char *rcpt[] = { "bob@beta.test", NULL };
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GBytes) stored = NULL;
  const char *data;
  const char *header_end;

  send_message (fixture, ms_server_get_port (fixture->alpha, MS_LISTENER_SUBMISSION),
                MS_SMTP_TLS_STARTTLS, "alice", "alicepw", rcpt, message_text);
  g_assert_cmpint (fixture->result->status, ==, MS_SMTP_SEND_STATUS_ALL_DELIVERED);
  g_assert_true (fixture->result->tls);

  g_assert_cmpuint (ms_test_wait_for_messages (fixture->beta, "bob", 1), ==, 1);
  messages = ms_store_list (ms_server_get_store (fixture->beta), "bob", "INBOX", NULL);
  stored = ms_store_read (ms_server_get_store (fixture->beta), "bob", "INBOX",
                          ((MsStoreMessage *) messages->pdata[0])->uid, NULL);
  data = g_bytes_get_data (stored, NULL);

  /* beta's Received: on top of alpha's, then the message as sent. */
  g_assert_true (g_str_has_prefix (data, "Received: from alpha.test (127.0.0.1)\r\n"
                                         "\tby beta.test (Mailscope) with ESMTPS"));
  header_end = strstr (data, "Received: from localhost (127.0.0.1)\r\n"
                             "\tby alpha.test (Mailscope) with ESMTPSA");
  g_assert_nonnull (header_end);
  header_end = strstr (header_end, "From: alice@alpha.test\r\n");
  g_assert_nonnull (header_end);
  g_assert_cmpmem (header_end, strlen (header_end), message_text, strlen (message_text));

  while (ms_relay_queue_get_length (ms_server_get_relay_queue (fixture->alpha)) > 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (fixture->relay_steps->len, >=, 4);
  g_assert_cmpstr (fixture->relay_steps->pdata[0], ==, "queued");
  g_assert_cmpstr (fixture->relay_steps->pdata[1], ==, "route");
  g_assert_cmpstr (fixture->relay_steps->pdata[2], ==, "attempt");
  g_assert_cmpstr (fixture->relay_steps->pdata[3], ==, "delivered");
}

static void
test_unknown_remote_user_bounces (Fixture *fixture,
                                  gconstpointer user_data)
{
  const char *rcpt[] = { "nobody@beta.test", NULL };
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GBytes) bounce = NULL;
  const char *data;

  send_message (fixture, ms_server_get_port (fixture->alpha, MS_LISTENER_SMTPS),
                MS_SMTP_TLS_IMPLICIT, "alice", "alicepw", rcpt, message_text);
  /* alpha cannot know beta's users: it accepts, then beta refuses. */
  g_assert_cmpint (fixture->result->status, ==, MS_SMTP_SEND_STATUS_ALL_DELIVERED);

  g_assert_cmpuint (ms_test_wait_for_messages (fixture->alpha, "alice", 1), ==, 1);
  messages = ms_store_list (ms_server_get_store (fixture->alpha), "alice", "INBOX", NULL);
  bounce = ms_store_read (ms_server_get_store (fixture->alpha), "alice", "INBOX",
                          ((MsStoreMessage *) messages->pdata[0])->uid, NULL);
  data = g_bytes_get_data (bounce, NULL);
  g_assert_nonnull (strstr (data, "MAILER-DAEMON@alpha.test"));
  g_assert_nonnull (strstr (data, "report-type=delivery-status"));
  g_assert_nonnull (strstr (data, "Final-Recipient: rfc822; nobody@beta.test"));
  g_assert_nonnull (strstr (data, "Status: 5.1.1"));
}

static void
test_mta_port_refuses_relay (Fixture *fixture,
                             gconstpointer user_data)
{
  const char *rcpt[] = { "bob@beta.test", NULL };

  send_message (fixture, ms_server_get_port (fixture->alpha, MS_LISTENER_SMTP),
                MS_SMTP_TLS_NONE, NULL, NULL, rcpt, message_text);
  g_assert_cmpint (fixture->result->status, ==, MS_SMTP_SEND_STATUS_PERM_FAILURE);
  g_assert_cmpuint (((MsSmtpRecipientResult *) fixture->result->recipients->pdata[0])->code,
                    ==, 550);
  g_assert_cmpstr (((MsSmtpRecipientResult *) fixture->result->recipients->pdata[0])->enhanced,
                   ==, "5.7.1");
  g_assert_cmpuint (ms_relay_queue_get_length (ms_server_get_relay_queue (fixture->alpha)), ==, 0);
}

static void
test_wrong_password (Fixture *fixture,
                     gconstpointer user_data)
{
  const char *rcpt[] = { "bob@beta.test", NULL };

  send_message (fixture, ms_server_get_port (fixture->alpha, MS_LISTENER_SUBMISSION),
                MS_SMTP_TLS_NONE, "alice", "wrong", rcpt, message_text);
  g_assert_cmpint (fixture->result->status, ==, MS_SMTP_SEND_STATUS_AUTH_FAILURE);
  /* Another domain's user cannot log in here either. */
  send_message (fixture, ms_server_get_port (fixture->alpha, MS_LISTENER_SUBMISSION),
                MS_SMTP_TLS_NONE, "bob@beta.test", "bobpw", rcpt, message_text);
  g_assert_cmpint (fixture->result->status, ==, MS_SMTP_SEND_STATUS_AUTH_FAILURE);
}

/* A small POP3 line client. The server runs on this thread's main context,
 * so the client never blocks: it iterates the context while it waits. */
typedef struct {
  GSocketConnection *connection;
  GSocket *socket;
  GString *input;
} LineClient;

static LineClient *
line_client_connect (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  LineClient *line_client = g_new0 (LineClient, 1);

  /* The kernel completes the handshake; the server accepts it later. */
  line_client->connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL,
                                                             &error);
  g_assert_no_error (error);
  line_client->socket = g_socket_connection_get_socket (line_client->connection);
  g_socket_set_blocking (line_client->socket, FALSE);
  line_client->input = g_string_new (NULL);
  return line_client;
}

static void
line_client_free (LineClient *line_client)
{
  g_object_unref (line_client->connection);
  g_string_free (line_client->input, TRUE);
  g_free (line_client);
}

static void
line_client_send (LineClient *line_client,
                  const char *line)
{
  g_autofree char *data = g_strconcat (line, "\r\n", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_socket_send (line_client->socket, data, strlen (data), NULL, &error), ==,
                   strlen (data));
  g_assert_no_error (error);
}

/* Reads one reply: a line, or with `multi_line` up to the "." line. */
static char *
line_client_read (LineClient *line_client,
                  gboolean multi_line)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      const char *input = line_client->input->str;
      const char *end = NULL;
      char buffer[4096];
      g_autoptr(GError) error = NULL;
      gssize n;

      if (multi_line && g_str_has_prefix (input, "+OK"))
        {
          const char *dot = strstr (input, "\r\n.\r\n");
          end = dot != NULL ? dot + 5 : NULL;
        }
      else
        {
          const char *crlf = strstr (input, "\r\n");
          end = crlf != NULL ? crlf + 2 : NULL;
        }
      if (end != NULL)
        {
          char *reply = g_strndup (input, end - input);

          g_string_erase (line_client->input, 0, end - input);
          return reply;
        }

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      n = g_socket_receive (line_client->socket, buffer, sizeof buffer, NULL, &error);
      if (n > 0)
        g_string_append_len (line_client->input, buffer, n);
      else if (n == 0)
        return g_string_free (g_string_new (line_client->input->str), FALSE);
      else
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          g_main_context_iteration (NULL, FALSE);
          g_usleep (500);
        }
    }
}

/* Sends a command and checks that the reply starts with `expected`. */
static char *
pop3_exchange (LineClient *line_client,
               const char *command,
               gboolean multi_line,
               const char *expected)
{
  char *reply;

  line_client_send (line_client, command);
  reply = line_client_read (line_client, multi_line);
  if (!g_str_has_prefix (reply, expected))
    g_error ("after \"%s\": expected \"%s...\", got \"%s\"", command, expected, reply);
  return reply;
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  guint count = 0;

  while (handle != NULL && g_dir_read_name (handle) != NULL)
    count++;
  return count;
}

static void
test_pop3_retr_dele_quit (Fixture *fixture,
                          gconstpointer user_data)
{
  /* Stored with bare LF line ends: the wire has CRLF, and counts it. */
  static const char stored[] = "Subject: pop\n\n.dot line\nbody\n";
  static const char wire[] = "+OK 33 octets\r\nSubject: pop\r\n\r\n..dot line\r\nbody\r\n.\r\n";
  MsStore *store = ms_server_get_store (fixture->alpha);
  guint16 port = ms_server_get_port (fixture->alpha, MS_LISTENER_POP3);
  g_autofree char *inbox_new = g_build_filename (ms_server_get_data_dir (fixture->alpha), "mail",
                                                 "alice", "new", NULL);
  g_autofree char *inbox_cur = g_build_filename (ms_server_get_data_dir (fixture->alpha), "mail",
                                                 "alice", "cur", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) left = NULL;
  LineClient *first;
  LineClient *second;
  char *reply;

  g_assert_cmpuint (port, !=, 0);
  g_assert_cmpuint (ms_server_get_port (fixture->alpha, MS_LISTENER_POP3S), !=, 0);
  g_assert_true (ms_store_deliver (store, "alice", "INBOX", (const guint8 *) stored,
                                   strlen (stored), NULL, 0, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (inbox_new), ==, 1);

  first = line_client_connect (port);
  reply = line_client_read (first, FALSE);
  g_assert_true (g_str_has_prefix (reply, "+OK alpha.test Mailscope POP3 server ready"));
  g_free (reply);
  g_free (pop3_exchange (first, "USER alice", FALSE, "+OK "));
  g_free (pop3_exchange (first, "PASS alicepw", FALSE, "+OK alice has 1 message (33 octets)"));
  g_free (pop3_exchange (first, "LIST", TRUE, "+OK 1 message (33 octets)\r\n1 33\r\n.\r\n"));

  /* The maildrop is locked while the first session is in TRANSACTION. */
  second = line_client_connect (port);
  g_free (line_client_read (second, FALSE));
  g_free (pop3_exchange (second, "USER alice", FALSE, "+OK "));
  g_free (pop3_exchange (second, "PASS alicepw", FALSE, "-ERR [IN-USE] "));

  reply = pop3_exchange (first, "RETR 1", TRUE, "+OK ");
  g_assert_cmpstr (reply, ==, wire);
  g_free (reply);
  g_free (pop3_exchange (first, "DELE 1", FALSE, "+OK message 1 deleted"));
  g_free (pop3_exchange (first, "STAT", FALSE, "+OK 0 0\r\n"));
  /* Marked, not removed: the file is still there until QUIT. */
  g_assert_cmpuint (count_files (inbox_new) + count_files (inbox_cur), ==, 1);
  g_free (pop3_exchange (first, "QUIT", FALSE, "+OK alpha.test POP3 server signing off "
                                                "(maildrop empty)"));
  line_client_free (first);

  g_assert_cmpuint (count_files (inbox_new) + count_files (inbox_cur), ==, 0);
  left = ms_store_list (store, "alice", "INBOX", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 0);

  /* The lock went with the first session's QUIT. */
  g_free (pop3_exchange (second, "USER alice", FALSE, "+OK "));
  g_free (pop3_exchange (second, "PASS alicepw", FALSE, "+OK alice has 0 messages"));
  g_free (pop3_exchange (second, "QUIT", FALSE, "+OK "));
  line_client_free (second);
}

static void
test_pop3_drop_keeps_mail (Fixture *fixture,
                           gconstpointer user_data)
{
  static const char stored[] = "Subject: keep\r\n\r\nme\r\n";
  MsStore *store = ms_server_get_store (fixture->alpha);
  guint16 port = ms_server_get_port (fixture->alpha, MS_LISTENER_POP3);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) left = NULL;
  LineClient *client;
  LineClient *again;

  g_assert_true (ms_store_deliver (store, "alice", "INBOX", (const guint8 *) stored,
                                   strlen (stored), NULL, 0, NULL, &error));
  client = line_client_connect (port);
  g_free (line_client_read (client, FALSE));
  g_free (pop3_exchange (client, "USER alice", FALSE, "+OK "));
  g_free (pop3_exchange (client, "PASS alicepw", FALSE, "+OK "));
  g_free (pop3_exchange (client, "DELE 1", FALSE, "+OK "));
  /* The connection drops without QUIT: nothing is removed, and the lock
   * is released. */
  line_client_free (client);
  while (ms_server_get_connection_count (fixture->alpha) > 0)
    g_main_context_iteration (NULL, TRUE);

  left = ms_store_list (store, "alice", "INBOX", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 1);
  again = line_client_connect (port);
  g_free (line_client_read (again, FALSE));
  g_free (pop3_exchange (again, "USER alice", FALSE, "+OK "));
  g_free (pop3_exchange (again, "PASS alicepw", FALSE, "+OK alice has 1 message (21 octets)"));
  g_free (pop3_exchange (again, "QUIT", FALSE, "+OK "));
  line_client_free (again);
}

static void
test_demo_world (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ms-test-world-XXXXXX", &error);
  g_autofree char *describe = NULL;
  MsWorld *world;
  GPtrArray *servers;

  world = ms_world_new_demo (dir, NULL, NULL, &error);
  g_assert_no_error (error);
  servers = ms_world_get_servers (world);
  g_assert_cmpuint (servers->len, ==, 2);
  g_assert_cmpstr (ms_server_get_domain (servers->pdata[0]), ==, "alpha.test");
  g_assert_cmpstr (ms_server_get_domain (servers->pdata[1]), ==, "beta.test");
  g_assert_true (ms_auth_verify (ms_server_get_auth (servers->pdata[0]), "alice", "alicepw"));
  g_assert_true (ms_auth_verify (ms_server_get_auth (servers->pdata[0]), "carol", "carolpw"));
  g_assert_true (ms_auth_verify (ms_server_get_auth (servers->pdata[1]), "bob", "bobpw"));
  g_assert_true (ms_auth_verify (ms_server_get_auth (servers->pdata[1]), "dave", "davepw"));
  g_assert_true (ms_relay_queue_has_route (ms_server_get_relay_queue (servers->pdata[0]),
                                           "beta.test"));
  g_assert_cmpuint (ms_test_wait_for_messages (servers->pdata[1], "bob", 1), ==, 1);
  describe = ms_world_describe (world, TRUE);
  g_assert_nonnull (strstr (describe, "bob@beta.test (password bobpw)"));
  ms_world_free (world);

  /* Opening it again keeps what is there and seeds nothing twice. */
  world = ms_world_new_demo (dir, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ms_test_wait_for_messages (ms_world_get_servers (world)->pdata[1], "bob", 1), ==, 1);
  ms_world_free (world);
  ms_test_remove_tree (dir);
}

/* Reads what the server sent on `socket` until a line ends, iterating the
 * main context so the in-process server can run. */
static char *
read_greeting (GSocket *socket)
{
  GString *text = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  g_socket_set_blocking (socket, FALSE);
  while (strchr (text->str, '\n') == NULL && g_get_monotonic_time () < deadline)
    {
      char buffer[256];
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

      if (n > 0)
        g_string_append_len (text, buffer, n);
      else if (n == 0)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return g_string_free (text, FALSE);
}

static void
test_too_many_connections (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ms-test-busy-XXXXXX", &error);
  g_autofree char *data_dir = g_build_filename (dir, "alpha.test", NULL);
  MsServerConfig config = {
    .domain = "alpha.test",
    .data_dir = data_dir,
    .ports = { MS_SERVER_PORT_ANY, 0, 0, MS_SERVER_PORT_ANY, 0 },
    .max_connections = 1,
  };
  MsServer *server = ms_server_new (&config, NULL, &error);
  const MsListenerKind kinds[] = { MS_LISTENER_SMTP, MS_LISTENER_POP3 };
  const char *refusals[] = { "421 4.7.0 Too many connections",
                              "-ERR [SYS/TEMP] Too many connections" };

  g_test_summary ("Past max_connections, each protocol refuses in its own words");
  g_assert_no_error (error);
  g_assert_true (ms_server_start (server, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) first = NULL;
      g_autoptr(GSocketConnection) second = NULL;
      g_autofree char *first_greeting = NULL;
      g_autofree char *second_greeting = NULL;
      guint16 port = ms_server_get_port (server, kinds[i]);

      first = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
      g_assert_no_error (error);
      first_greeting = read_greeting (g_socket_connection_get_socket (first));
      g_assert_false (g_str_has_prefix (first_greeting, refusals[i]));
      second = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
      g_assert_no_error (error);
      second_greeting = read_greeting (g_socket_connection_get_socket (second));
      g_assert_true (g_str_has_prefix (second_greeting, refusals[i]));

      /* Once the first goes, a new one is served again. */
      g_io_stream_close (G_IO_STREAM (first), NULL, NULL);
      g_io_stream_close (G_IO_STREAM (second), NULL, NULL);
      while (ms_server_get_connection_count (server) > 0)
        g_main_context_iteration (NULL, TRUE);
    }

  ms_server_free (server);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  ms_test_remove_tree (dir);
}

/* --- step mode --- */

/* What the bus says about the gate and the commands the sessions saw, one
 * string per event: "held smtp-1 RCPT", "released smtp-1 RCPT step",
 * "command smtp-1 RCPT". */
typedef struct {
  MsTraceBus *bus;            /* borrowed */
  guint subscription;
  GPtrArray *log;
  char *last_held_session;
  char *last_held_text;
  gboolean last_held_secret;
  guint n_held;
  /* `break` events: what reply stopped the session, and on which breakpoint. */
  char *last_break_text;
  char *last_break_reply;
  guint n_break;
} StepRecorder;

static void
step_recorder_cb (const MsEvent *event,
                  gpointer user_data)
{
  StepRecorder *recorder = user_data;
  const char *session = ms_event_get_string (event, "session");
  const char *verb = ms_event_get_string (event, "verb");

  if (event->kind == MS_EVENT_STEP)
    {
      const char *state = ms_event_get_string (event, "gate");
      const char *by = ms_event_get_string (event, "by");

      g_ptr_array_add (recorder->log, g_strdup_printf ("%s %s %s%s%s", state, session,
                                                       verb != NULL ? verb : "-",
                                                       by != NULL ? " " : "",
                                                       by != NULL ? by : ""));
      if (g_strcmp0 (state, "held") == 0)
        {
          g_free (recorder->last_held_session);
          recorder->last_held_session = g_strdup (session);
          g_free (recorder->last_held_text);
          recorder->last_held_text = g_strdup (ms_event_get_string (event, "text"));
          recorder->last_held_secret = ms_event_get_bool (event, "secret", FALSE);
          recorder->n_held++;
        }
      else if (g_strcmp0 (state, "break") == 0)
        {
          g_free (recorder->last_break_text);
          recorder->last_break_text = g_strdup (ms_event_get_string (event, "text"));
          g_free (recorder->last_break_reply);
          recorder->last_break_reply = g_strdup (ms_event_get_string (event, "reply"));
          recorder->n_break++;
        }
    }
  else if (event->kind == MS_EVENT_COMMAND)
    g_ptr_array_add (recorder->log, g_strdup_printf ("command %s %s", session,
                                                     verb != NULL ? verb : "-"));
}

static void
step_recorder_init (StepRecorder *recorder,
                    MsTraceBus *bus)
{
  *recorder = (StepRecorder) { .bus = bus, .log = g_ptr_array_new_with_free_func (g_free) };
  recorder->subscription = ms_trace_bus_subscribe (bus, step_recorder_cb, recorder, NULL);
}

static void
step_recorder_clear (StepRecorder *recorder)
{
  ms_trace_bus_unsubscribe (recorder->bus, recorder->subscription);
  g_ptr_array_unref (recorder->log);
  g_free (recorder->last_held_session);
  g_free (recorder->last_held_text);
  g_free (recorder->last_break_text);
  g_free (recorder->last_break_reply);
}

static gint
log_index (StepRecorder *recorder,
           const char *entry)
{
  guint index;

  return g_ptr_array_find_with_equal_func (recorder->log, entry, g_str_equal, &index)
         ? (gint) index : -1;
}

/* Waits until the gate holds one more line; returns its session (borrowed). */
static const char *
wait_for_held (StepRecorder *recorder,
               guint n_held_before)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (recorder->n_held == n_held_before)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
  return recorder->last_held_session;
}

/* Gives the server time to answer, then checks that it did not. */
static void
assert_no_reply (LineClient *line_client)
{
  char buffer[256];
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 100; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
  g_assert_cmpuint (line_client->input->len, ==, 0);
  g_assert_cmpint (g_socket_receive (line_client->socket, buffer, sizeof buffer, NULL, &error),
                   ==, -1);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

/* Sends `command` (unless NULL) and checks the start of the one-line reply. */
static void
send_expect (LineClient *line_client,
             const char *command,
             const char *expected)
{
  g_autofree char *reply = NULL;

  if (command != NULL)
    line_client_send (line_client, command);
  reply = line_client_read (line_client, FALSE);
  if (!g_str_has_prefix (reply, expected))
    g_error ("after \"%s\": expected \"%s...\", got \"%s\"",
             command != NULL ? command : "(nothing sent)", expected, reply);
}

/* Sends a command the gate must hold: no reply until Step, then `expected`.
 * Returns the session id (owned). */
static char *
step_exchange (MsServer *server,
               StepRecorder *recorder,
               LineClient *line_client,
               const char *command,
               const char *expected)
{
  char *session;

  line_client_send (line_client, command);
  session = g_strdup (wait_for_held (recorder, recorder->n_held));
  assert_no_reply (line_client);
  g_assert_true (ms_server_step (server, session));
  /* One command was pending, and it is gone. */
  g_assert_false (ms_server_step (server, session));
  send_expect (line_client, NULL, expected);
  return session;
}

static void
smtp_send_body (LineClient *line_client)
{
  line_client_send (line_client, "Subject: step\r\n\r\nheld and released");
  send_expect (line_client, ".", "250 ");
  send_expect (line_client, "QUIT", "221 ");
}

static void
test_step_smtp (Fixture *fixture,
                gconstpointer user_data)
{
  MsServer *alpha = fixture->alpha;
  guint16 port = ms_server_get_port (alpha, MS_LISTENER_SMTP);
  StepRecorder recorder;
  g_autofree char *first_id = NULL;
  g_autofree char *held_rcpt = NULL;
  g_autofree char *released_rcpt = NULL;
  g_autofree char *command_rcpt = NULL;
  const char *second_id;
  LineClient *first;
  LineClient *second;

  g_test_summary ("Step mode holds each SMTP command, and nothing of it reaches the store "
                  "or the wire until Step; other sessions run on; Continue lets it run.");
  step_recorder_init (&recorder, fixture->bus);
  ms_server_set_step_mode (alpha, NULL, TRUE);
  first = line_client_connect (port);
  /* The greeting is the server's own: the gate holds only what comes in. */
  send_expect (first, NULL, "220 ");
  first_id = step_exchange (alpha, &recorder, first, "HELO client.test", "250 ");
  g_free (step_exchange (alpha, &recorder, first, "MAIL FROM:<bob@beta.test>", "250 "));

  /* RCPT waits: no reply, and the session has not seen it (no command event). */
  line_client_send (first, "RCPT TO:<alice@alpha.test>");
  g_assert_cmpstr (wait_for_held (&recorder, recorder.n_held), ==, first_id);
  g_assert_cmpstr (recorder.last_held_text, ==, "RCPT TO:<alice@alpha.test>");
  g_assert_false (recorder.last_held_secret);
  assert_no_reply (first);
  held_rcpt = g_strdup_printf ("held %s RCPT", first_id);
  released_rcpt = g_strdup_printf ("released %s RCPT step", first_id);
  command_rcpt = g_strdup_printf ("command %s RCPT", first_id);
  g_assert_cmpint (log_index (&recorder, held_rcpt), >=, 0);
  g_assert_cmpint (log_index (&recorder, command_rcpt), ==, -1);

  /* A second session, let go with Continue, delivers while the first waits. */
  second = line_client_connect (port);
  send_expect (second, NULL, "220 ");
  line_client_send (second, "HELO other.test");
  second_id = wait_for_held (&recorder, recorder.n_held);
  g_assert_cmpstr (second_id, !=, first_id);
  ms_server_continue (alpha, second_id);
  send_expect (second, NULL, "250 ");
  send_expect (second, "MAIL FROM:<bob@beta.test>", "250 ");
  send_expect (second, "RCPT TO:<alice@alpha.test>", "250 ");
  send_expect (second, "DATA", "354 ");
  smtp_send_body (second);
  line_client_free (second);
  g_assert_cmpuint (ms_test_wait_for_messages (alpha, "alice", 1), ==, 1);
  assert_no_reply (first);
  g_assert_cmpint (log_index (&recorder, command_rcpt), ==, -1);

  /* Step: the command, then its reply. */
  g_assert_true (ms_server_step (alpha, first_id));
  send_expect (first, NULL, "250 ");
  g_assert_cmpint (log_index (&recorder, held_rcpt), <, log_index (&recorder, released_rcpt));
  g_assert_cmpint (log_index (&recorder, released_rcpt), <, log_index (&recorder, command_rcpt));

  /* Continue: the rest runs without the gate, and the message lands. */
  ms_server_continue (alpha, first_id);
  send_expect (first, "DATA", "354 ");
  smtp_send_body (first);
  line_client_free (first);
  g_assert_cmpuint (ms_test_wait_for_messages (alpha, "alice", 2), ==, 2);

  step_recorder_clear (&recorder);
}

static void
test_step_breakpoint (Fixture *fixture,
                      gconstpointer user_data)
{
  MsServer *alpha = fixture->alpha;
  StepRecorder recorder;
  g_autofree char *held = NULL;
  g_autofree char *session = NULL;
  LineClient *client;

  g_test_summary ("A breakpoint on a verb holds that command of a session not in step mode "
                  "and puts the session in step mode.");
  step_recorder_init (&recorder, fixture->bus);
  ms_server_add_breakpoint (alpha, "rcpt");
  client = line_client_connect (ms_server_get_port (alpha, MS_LISTENER_SMTP));
  send_expect (client, NULL, "220 ");
  send_expect (client, "HELO client.test", "250 ");
  send_expect (client, "MAIL FROM:<bob@beta.test>", "250 ");
  g_assert_cmpuint (recorder.n_held, ==, 0);

  session = step_exchange (alpha, &recorder, client, "RCPT TO:<alice@alpha.test>", "250 ");
  held = g_strdup_printf ("held %s RCPT breakpoint", session);
  g_assert_cmpint (log_index (&recorder, held), >=, 0);
  /* Stepping on: the next command is held too. */
  g_free (step_exchange (alpha, &recorder, client, "DATA", "354 "));
  g_assert_cmpuint (ms_test_wait_for_messages (alpha, "alice", 0), ==, 0);

  /* Cleared, and out of step mode, a later RCPT runs straight through. */
  ms_server_clear_breakpoints (alpha);
  ms_server_continue (alpha, session);
  smtp_send_body (client);
  line_client_free (client);
  g_assert_cmpuint (ms_test_wait_for_messages (alpha, "alice", 1), ==, 1);
  g_assert_cmpuint (recorder.n_held, ==, 2);

  step_recorder_clear (&recorder);
}

static void
test_step_pop3 (Fixture *fixture,
                gconstpointer user_data)
{
  static const char stored[] = "Subject: step\r\n\r\ndelete me\r\n";
  MsServer *alpha = fixture->alpha;
  StepRecorder recorder;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) left = NULL;
  g_autofree char *session = NULL;
  LineClient *client;

  g_test_summary ("With step mode on, a POP3 QUIT waits in the gate and the deleted "
                  "message stays on disk until Step releases it.");
  step_recorder_init (&recorder, fixture->bus);
  g_assert_true (ms_store_deliver (ms_server_get_store (alpha), "alice", "INBOX",
                                   (const guint8 *) stored, strlen (stored), NULL, 0, NULL,
                                   &error));
  g_assert_no_error (error);
  ms_server_set_step_mode (alpha, NULL, TRUE);
  client = line_client_connect (ms_server_get_port (alpha, MS_LISTENER_POP3));
  g_free (line_client_read (client, FALSE));
  session = step_exchange (alpha, &recorder, client, "USER alice", "+OK ");

  /* The password is masked in the gate's event, as in the command event. */
  g_free (step_exchange (alpha, &recorder, client, "PASS alicepw", "+OK "));
  g_assert_true (recorder.last_held_secret);
  g_assert_null (strstr (recorder.last_held_text, "alicepw"));

  g_free (step_exchange (alpha, &recorder, client, "DELE 1", "+OK "));
  line_client_send (client, "QUIT");
  g_assert_cmpstr (wait_for_held (&recorder, recorder.n_held), ==, session);
  assert_no_reply (client);
  left = ms_store_list (ms_server_get_store (alpha), "alice", "INBOX", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 1);
  g_clear_pointer (&left, g_ptr_array_unref);

  g_assert_true (ms_server_step (alpha, session));
  send_expect (client, NULL, "+OK ");
  line_client_free (client);
  left = ms_store_list (ms_server_get_store (alpha), "alice", "INBOX", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (left->len, ==, 0);

  step_recorder_clear (&recorder);
}

/* --- reply breakpoints --- */

static void
test_reply_breakpoint_parse (void)
{
  static const struct {
    const char *given;
    const char *stored;         /* NULL: refused */
  } cases[] = {
    { "550", "550" }, { "421", "421" }, { "5xx", "5xx" }, { "5XX", "5xx" }, { "4xX", "4xx" },
    { "2xx", "2xx" }, { "-ERR", "-ERR" }, { "-err", "-ERR" }, { "NO", "NO" }, { "no", "NO" },
    { "BAD", "BAD" }, { "bad", "BAD" },
    { "", NULL }, { "55", NULL }, { "5500", NULL }, { "1xx", NULL }, { "6xx", NULL },
    { "160", NULL }, { "590", NULL }, { "5x", NULL }, { "x5x", NULL }, { "5xy", NULL },
    { "55x", NULL }, { "+OK", NULL }, { "ERR", NULL }, { "-ERR ", NULL }, { "OK", NULL },
    { "BYE", NULL }, { "* NO", NULL }, { "NOOP", NULL }, { "RCPT", NULL },
  };
  g_autofree char *dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsServer) server = NULL;
  MsServerConfig config = { .domain = "alpha.test" };

  dir = g_dir_make_tmp ("ms-test-server-XXXXXX", &error);
  g_assert_no_error (error);
  config.data_dir = dir;
  server = ms_server_new (&config, NULL, &error);
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint before = server->reply_breakpoints->len;
      gboolean added = ms_server_add_reply_breakpoint (server, cases[i].given);

      g_test_message ("breakpoint \"%s\"", cases[i].given);
      g_assert_cmpint (added, ==, cases[i].stored != NULL);
      if (cases[i].stored == NULL)
        {
          g_assert_cmpuint (server->reply_breakpoints->len, ==, before);
          continue;
        }
      g_assert_true (g_ptr_array_find_with_equal_func (server->reply_breakpoints,
                                                       cases[i].stored, g_str_equal, NULL));
    }
  /* Stored once each, normalised: 550 421 5xx 4xx 2xx -ERR NO BAD. */
  g_assert_cmpuint (server->reply_breakpoints->len, ==, 8);
  /* Verbs: letters only, stored once in upper case. */
  g_assert_true (ms_server_add_breakpoint (server, "RCPT"));
  g_assert_true (ms_server_add_breakpoint (server, "rcpt"));
  g_assert_false (ms_server_add_breakpoint (server, "RC PT"));
  g_assert_false (ms_server_add_breakpoint (server, "a1"));
  g_assert_false (ms_server_add_breakpoint (server, ""));
  g_assert_cmpuint (server->breakpoints->len, ==, 1);
  g_assert_cmpstr (server->breakpoints->pdata[0], ==, "RCPT");
  ms_server_clear_breakpoints (server);
  g_assert_cmpuint (server->reply_breakpoints->len, ==, 0);
  g_assert_cmpuint (server->breakpoints->len, ==, 0);

  g_clear_pointer (&server, ms_server_free);
  ms_test_remove_tree (dir);
}

static void
test_reply_status (void)
{
  static const struct {
    const MsProtocolOps *ops;
    const char *data;
    const char *status;         /* NULL: no status */
    const char *line;
  } cases[] = {
    { &_ms_server_smtp_ops, "550 5.1.1 No such user\r\n", "550", "550 5.1.1 No such user" },
    { &_ms_server_smtp_ops, "250\r\n", "250", "250" },
    { &_ms_server_smtp_ops, "550-first line\r\n", NULL, NULL },
    { &_ms_server_smtp_ops, "250-alpha.test\r\n250 SIZE 1000\r\n", "250", "250 SIZE 1000" },
    { &_ms_server_smtp_ops, "5x0 no\r\n", NULL, NULL },
    { &_ms_server_pop3_ops, "-ERR no such message\r\n", "-ERR", "-ERR no such message" },
    { &_ms_server_pop3_ops, "+OK\r\n", "+OK", "+OK" },
    { &_ms_server_pop3_ops, "+ \r\n", NULL, NULL },
    { &_ms_server_pop3_ops, "-ERRATA\r\n", NULL, NULL },
    /* A message line is not a status, whatever it says. */
    { &_ms_server_pop3_ops, "+OK 9 octets\r\n-ERR x\r\n.\r\n", "+OK", "+OK 9 octets" },
    { &_ms_server_imap_ops, "a3 NO [TRYCREATE] Mailbox does not exist\r\n", "NO",
      "a3 NO [TRYCREATE] Mailbox does not exist" },
    { &_ms_server_imap_ops, "A001 BAD\r\n", "BAD", "A001 BAD" },
    { &_ms_server_imap_ops, "a1 OK done\r\n", "OK", "a1 OK done" },
    { &_ms_server_imap_ops, "* NO [ALERT] disk full\r\n", NULL, NULL },
    { &_ms_server_imap_ops, "* BAD Missing tag\r\n", NULL, NULL },
    { &_ms_server_imap_ops, "* BYE logging out\r\n", NULL, NULL },
    { &_ms_server_imap_ops, "+ Ready\r\n", NULL, NULL },
    { &_ms_server_imap_ops, "a1 NOOP\r\n", NULL, NULL },
    { &_ms_server_imap_ops, "* 1 FETCH (BODY[] {8}\r\na1 NO x)\r\n", NULL, NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      MsReplyStatus status = { 0 };
      gboolean found = cases[i].ops->reply_status (cases[i].data, strlen (cases[i].data),
                                                   &status);

      g_test_message ("%s: %s", cases[i].ops->proto, cases[i].data);
      g_assert_cmpint (found, ==, cases[i].status != NULL);
      if (!found)
        continue;
      g_assert_cmpmem (status.status, status.status_len, cases[i].status,
                       strlen (cases[i].status));
      g_assert_cmpmem (status.line, status.line_len, cases[i].line, strlen (cases[i].line));
    }
}

/* After `command`, which gets a reply starting with `reply` at once: the
 * gate reports a `break` on `breakpoint`, and `next` waits until Step, then
 * gets `next_reply`. */
static void
expect_reply_break (MsServer *server,
                    StepRecorder *recorder,
                    LineClient *line_client,
                    const char *command,
                    const char *reply,
                    const char *breakpoint,
                    const char *next,
                    const char *next_reply)
{
  guint n_break = recorder->n_break;
  guint n_held = recorder->n_held;

  send_expect (line_client, command, reply);
  g_assert_cmpuint (recorder->n_break, ==, n_break + 1);
  g_assert_cmpuint (recorder->n_held, ==, n_held);
  g_assert_true (g_str_has_prefix (recorder->last_break_text, reply));
  g_assert_null (strchr (recorder->last_break_text, '\r'));
  g_assert_cmpstr (recorder->last_break_reply, ==, breakpoint);

  g_free (step_exchange (server, recorder, line_client, next, next_reply));
  g_assert_cmpuint (recorder->n_held, ==, n_held + 1);
}

static void
test_reply_breakpoint_smtp (Fixture *fixture,
                            gconstpointer user_data)
{
  MsServer *alpha = fixture->alpha;
  StepRecorder recorder;
  g_autofree char *held = NULL;
  LineClient *client;

  g_test_summary ("A 5xx breakpoint: the 550 for an unknown user goes out, and the "
                  "session's next command waits in the gate until Step.");
  step_recorder_init (&recorder, fixture->bus);
  g_assert_true (ms_server_add_reply_breakpoint (alpha, "5XX"));
  client = line_client_connect (ms_server_get_port (alpha, MS_LISTENER_SMTP));
  send_expect (client, NULL, "220 ");
  send_expect (client, "HELO client.test", "250 ");
  send_expect (client, "MAIL FROM:<bob@beta.test>", "250 ");
  g_assert_cmpuint (recorder.n_break, ==, 0);
  expect_reply_break (alpha, &recorder, client, "RCPT TO:<nobody@alpha.test>", "550 ", "5xx",
                      "RSET", "250 ");
  held = g_strdup_printf ("held %s RSET", recorder.last_held_session);
  g_assert_cmpint (log_index (&recorder, held), >=, 0);

  /* Continued and cleared, the same reply stops nothing. */
  ms_server_continue (alpha, recorder.last_held_session);
  ms_server_clear_breakpoints (alpha);
  send_expect (client, "MAIL FROM:<bob@beta.test>", "250 ");
  send_expect (client, "RCPT TO:<nobody@alpha.test>", "550 ");
  send_expect (client, "RSET", "250 ");
  send_expect (client, "QUIT", "221 ");
  line_client_free (client);
  g_assert_cmpuint (recorder.n_break, ==, 1);
  g_assert_cmpuint (recorder.n_held, ==, 1);

  step_recorder_clear (&recorder);
}

static void
test_reply_breakpoint_pop3 (Fixture *fixture,
                            gconstpointer user_data)
{
  MsServer *alpha = fixture->alpha;
  StepRecorder recorder;
  LineClient *client;

  g_test_summary ("A -ERR breakpoint holds the POP3 command after the -ERR; +OK does not.");
  step_recorder_init (&recorder, fixture->bus);
  g_assert_true (ms_server_add_reply_breakpoint (alpha, "-err"));
  client = line_client_connect (ms_server_get_port (alpha, MS_LISTENER_POP3));
  send_expect (client, NULL, "+OK ");
  send_expect (client, "USER alice", "+OK ");
  send_expect (client, "PASS alicepw", "+OK ");
  g_assert_cmpuint (recorder.n_break, ==, 0);
  expect_reply_break (alpha, &recorder, client, "RETR 9", "-ERR ", "-ERR", "NOOP", "+OK");

  ms_server_continue (alpha, recorder.last_held_session);
  send_expect (client, "QUIT", "+OK ");
  line_client_free (client);
  g_assert_cmpuint (recorder.n_break, ==, 1);

  step_recorder_clear (&recorder);
}

/* Sends an IMAP command and reads up to its tagged reply, which must start
 * with `expected`. */
static void
imap_expect (LineClient *line_client,
             const char *command,
             const char *expected)
{
  g_autofree char *tag = g_strndup (command, strcspn (command, " ") + 1);

  line_client_send (line_client, command);
  for (;;)
    {
      g_autofree char *reply = line_client_read (line_client, FALSE);

      if (!g_str_has_prefix (reply, "* "))
        {
          g_assert_true (g_str_has_prefix (reply, tag));
          if (!g_str_has_prefix (reply, expected))
            g_error ("after \"%s\": expected \"%s...\", got \"%s\"", command, expected, reply);
          return;
        }
    }
}

static void
test_reply_breakpoint_imap (Fixture *fixture,
                            gconstpointer user_data)
{
  MsServer *alpha = fixture->alpha;
  StepRecorder recorder;
  LineClient *client;

  g_test_summary ("NO and BAD breakpoints stop an IMAP session at a tagged NO; the untagged "
                  "* BAD (a line without a tag) and tagged OK stop nothing.");
  step_recorder_init (&recorder, fixture->bus);
  g_assert_true (ms_server_add_reply_breakpoint (alpha, "NO"));
  g_assert_true (ms_server_add_reply_breakpoint (alpha, "bad"));
  client = line_client_connect (ms_server_get_port (alpha, MS_LISTENER_IMAP));
  send_expect (client, NULL, "* OK ");
  send_expect (client, " NOOP", "* BAD ");
  imap_expect (client, "a1 NOOP", "a1 OK ");
  imap_expect (client, "a2 LOGIN alice alicepw", "a2 OK ");
  g_assert_cmpuint (recorder.n_break, ==, 0);
  expect_reply_break (alpha, &recorder, client, "a3 SELECT Nowhere", "a3 NO ", "NO",
                      "a4 NOOP", "a4 OK ");

  ms_server_continue (alpha, recorder.last_held_session);
  imap_expect (client, "a5 LOGOUT", "a5 OK ");
  line_client_free (client);
  g_assert_cmpuint (recorder.n_break, ==, 1);

  step_recorder_clear (&recorder);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/server/server/relay-alice-to-bob", Fixture, NULL,
              fixture_set_up, test_relay_alice_to_bob, fixture_tear_down);
  g_test_add ("/server/server/unknown-remote-user-bounces", Fixture, NULL,
              fixture_set_up, test_unknown_remote_user_bounces, fixture_tear_down);
  g_test_add ("/server/server/mta-port-refuses-relay", Fixture, NULL,
              fixture_set_up, test_mta_port_refuses_relay, fixture_tear_down);
  g_test_add ("/server/server/wrong-password", Fixture, NULL,
              fixture_set_up, test_wrong_password, fixture_tear_down);
  g_test_add ("/server/server/pop3-retr-dele-quit", Fixture, NULL,
              fixture_set_up, test_pop3_retr_dele_quit, fixture_tear_down);
  g_test_add ("/server/server/pop3-drop-keeps-mail", Fixture, NULL,
              fixture_set_up, test_pop3_drop_keeps_mail, fixture_tear_down);
  g_test_add ("/server/step/smtp-rcpt-held", Fixture, NULL,
              fixture_set_up, test_step_smtp, fixture_tear_down);
  g_test_add ("/server/step/breakpoint-verb", Fixture, NULL,
              fixture_set_up, test_step_breakpoint, fixture_tear_down);
  g_test_add ("/server/step/pop3-quit-held", Fixture, NULL,
              fixture_set_up, test_step_pop3, fixture_tear_down);
  g_test_add_func ("/server/step/reply-breakpoint-parse", test_reply_breakpoint_parse);
  g_test_add_func ("/server/step/reply-status", test_reply_status);
  g_test_add ("/server/step/reply-breakpoint-smtp", Fixture, NULL,
              fixture_set_up, test_reply_breakpoint_smtp, fixture_tear_down);
  g_test_add ("/server/step/reply-breakpoint-pop3", Fixture, NULL,
              fixture_set_up, test_reply_breakpoint_pop3, fixture_tear_down);
  g_test_add ("/server/step/reply-breakpoint-imap", Fixture, NULL,
              fixture_set_up, test_reply_breakpoint_imap, fixture_tear_down);
  g_test_add_func ("/server/world/demo", test_demo_world);
  g_test_add_func ("/server/server/too-many-connections", test_too_many_connections);

  return g_test_run ();
}
