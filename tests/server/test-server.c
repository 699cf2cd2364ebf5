/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ms-server.h"
#include "ms-smtp-sender.h"
#include "ms-world.h"

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
    .ports = { MS_SERVER_PORT_ANY, MS_SERVER_PORT_ANY, MS_SERVER_PORT_ANY },
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
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
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
  remove_tree (fixture->dir);
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

static guint
wait_for_messages (MsServer *server,
                   const char *user,
                   guint count)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GPtrArray) messages = ms_store_list (ms_server_get_store (server), user,
                                                     "INBOX", NULL);

      if ((messages != NULL && messages->len >= count) || g_get_monotonic_time () > deadline)
        return messages != NULL ? messages->len : 0;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
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

  g_assert_cmpuint (wait_for_messages (fixture->beta, "bob", 1), ==, 1);
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

  g_assert_cmpuint (wait_for_messages (fixture->alpha, "alice", 1), ==, 1);
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
  g_assert_cmpuint (wait_for_messages (servers->pdata[1], "bob", 1), ==, 1);
  describe = ms_world_describe (world, TRUE);
  g_assert_nonnull (strstr (describe, "bob@beta.test (password bobpw)"));
  ms_world_free (world);

  /* Opening it again keeps what is there and seeds nothing twice. */
  world = ms_world_new_demo (dir, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (wait_for_messages (ms_world_get_servers (world)->pdata[1], "bob", 1), ==, 1);
  ms_world_free (world);
  remove_tree (dir);
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
  g_test_add_func ("/server/world/demo", test_demo_world);

  return g_test_run ();
}
