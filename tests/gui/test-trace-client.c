/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-trace-client.h"
#include "ms-trace-port.h"
#include "step-test-world.h"

/* A real server and its trace port in this process, and an MsTraceClient
 * attached to it with a bus of its own: what arrives on that bus is what
 * `mailscope --attach` shows. */
typedef struct {
  StepWorld *sw;
  MsTracePort *port;
  GPtrArray *server_events;   /* MsEvent, as the servers emitted them */
  MsTraceBus *bus;            /* the viewer's */
  GPtrArray *events;          /* MsEvent, as they arrived on the viewer's bus */
  MsTraceClient *client;
  GPtrArray *refusals;        /* char *, the "refused" texts */
  char *disconnected;         /* the "disconnected" reason */
  gboolean connect_done;
  GError *connect_error;
  /* A stand-in for a trace port (fake_port_*) */
  GSocketService *fake;
  guint16 fake_port;
  GBytes *fake_script;
  GPtrArray *fake_connections;
} Fixture;

static const char * const alpha_only[] = { "alpha.test", NULL };

static void
collect_cb (const MsEvent *event,
            gpointer user_data)
{
  g_ptr_array_add (user_data, ms_event_ref ((MsEvent *) event));
}

static void
fixture_set_up (Fixture *f,
                gconstpointer data)
{
  const char *token = data;
  g_autoptr(GError) error = NULL;

  f->sw = step_world_new (alpha_only);
  f->server_events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  ms_trace_bus_subscribe (f->sw->bus, collect_cb, f->server_events, NULL);
  f->port = ms_trace_port_new (f->sw->world, f->sw->bus, "127.0.0.1", 0, token, &error);
  g_assert_no_error (error);
  f->bus = ms_trace_bus_new ();
  f->events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  ms_trace_bus_subscribe (f->bus, collect_cb, f->events, NULL);
  f->refusals = g_ptr_array_new_with_free_func (g_free);
  f->fake_connections = g_ptr_array_new_with_free_func (g_object_unref);
}

/* Stops the stand-in for a trace port (fake_port_start()), if any. */
static void
fake_port_stop (Fixture *f)
{
  if (f->fake == NULL)
    return;
  g_socket_service_stop (f->fake);
  g_socket_listener_close (G_SOCKET_LISTENER (f->fake));
  g_clear_object (&f->fake);
  g_clear_pointer (&f->fake_script, g_bytes_unref);
  g_ptr_array_set_size (f->fake_connections, 0);
}

static void
fixture_tear_down (Fixture *f,
                   gconstpointer data)
{
  g_clear_object (&f->client);
  g_clear_pointer (&f->port, ms_trace_port_free);
  fake_port_stop (f);
  g_ptr_array_unref (f->fake_connections);
  step_world_free (f->sw);
  g_ptr_array_unref (f->server_events);
  ms_trace_bus_unref (f->bus);
  g_ptr_array_unref (f->events);
  g_ptr_array_unref (f->refusals);
  g_free (f->disconnected);
  g_clear_error (&f->connect_error);
}

static void
refused_cb (MsStepper *stepper,
            const char *text,
            gpointer user_data)
{
  Fixture *f = user_data;

  g_ptr_array_add (f->refusals, g_strdup (text));
}

static void
disconnected_cb (MsTraceClient *client,
                 const char *reason,
                 gpointer user_data)
{
  Fixture *f = user_data;

  g_assert_null (f->disconnected);
  f->disconnected = g_strdup (reason);
}

static void
connected_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  Fixture *f = user_data;

  ms_trace_client_connect_finish (MS_TRACE_CLIENT (source), result, &f->connect_error);
  f->connect_done = TRUE;
}

/* Makes the client and starts connecting it to `host_port`. */
static void
client_start (Fixture *f,
              const char *host_port,
              const char *token,
              GCancellable *cancellable)
{
  g_clear_object (&f->client);
  g_clear_error (&f->connect_error);
  f->connect_done = FALSE;
  f->client = ms_trace_client_new (host_port, token, f->bus);
  g_signal_connect (f->client, "refused", G_CALLBACK (refused_cb), f);
  g_signal_connect (f->client, "disconnected", G_CALLBACK (disconnected_cb), f);
  ms_trace_client_connect_async (f->client, cancellable, connected_cb, f);
}

static char *
port_address (guint16 port)
{
  return g_strdup_printf ("127.0.0.1:%u", port);
}

/* Connects to the fixture's trace port and waits for the outcome. */
static void
attach (Fixture *f,
        const char *token)
{
  g_autofree char *address = port_address (ms_trace_port_get_port (f->port));

  client_start (f, address, token, NULL);
  step_wait_for (&f->connect_done);
}

/* The first event at or after `from` of `kind` whose `text` starts with
 * `text` (any, when NULL) and whose `gate` is `gate` (any, when NULL); -1
 * when none. */
static gint
find_event (GPtrArray *events,
            guint from,
            MsEventKind kind,
            const char *text,
            const char *gate)
{
  for (guint i = from; i < events->len; i++)
    {
      MsEvent *event = events->pdata[i];

      if (event->kind == kind
          && (text == NULL || g_str_has_prefix (ms_event_get_string (event, "text") ?: "", text))
          && (gate == NULL || g_strcmp0 (ms_event_get_string (event, "gate"), gate) == 0))
        return (gint) i;
    }
  return -1;
}

static MsEvent *
wait_for_event (GPtrArray *events,
                guint from,
                MsEventKind kind,
                const char *text,
                const char *gate)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gint index;

  while ((index = find_event (events, from, kind, text, gate)) < 0)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
  return events->pdata[index];
}

/* Waits until the port has answered every command sent so far: the port
 * answers in order, and STEP of a session that does not exist is refused,
 * last. */
static void
sync_port (Fixture *f)
{
  guint before = f->refusals->len;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  ms_stepper_step (MS_STEPPER (f->client), NULL, "smtp-999999");
  while (f->refusals->len == before
         || strstr (f->refusals->pdata[f->refusals->len - 1], "smtp-999999") == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
}

static void
wait_for_disconnected (Fixture *f)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (f->disconnected == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
}

static void
assert_same_event (const MsEvent *remote,
                   const MsEvent *local)
{
  g_autofree char *remote_json = ms_event_to_json (remote);
  g_autofree char *local_json = ms_event_to_json (local);

  g_assert_cmpstr (remote_json, ==, local_json);
}

/* A store whose snapshot alone is larger than the port's bound on what may
 * wait for a viewer (8 MiB): the viewer still gets it whole and stays. */
static void
test_attach_big_snapshot (Fixture *f,
                          gconstpointer data)
{
  MsStore *store = ms_server_get_store (step_world_server (f->sw, 0));
  g_autofree char *subject = g_strnfill (60000, 'x');
  g_autofree char *json = NULL;
  MsEvent *snapshot;
  const guint n_messages = 160;

  g_test_summary ("A snapshot over the 8 MiB bound on waiting events reaches the viewer "
                  "whole, and the viewer stays attached.");
  for (guint i = 0; i < n_messages; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *message = g_strdup_printf ("Subject: %u %s\r\n\r\nbody\r\n", i,
                                                  subject);

      g_assert_true (ms_store_deliver (store, "alice", "INBOX", (const guint8 *) message,
                                       strlen (message), NULL, 0, NULL, &error));
      g_assert_no_error (error);
    }
  attach (f, NULL);
  g_assert_no_error (f->connect_error);
  snapshot = wait_for_event (f->events, 0, MS_EVENT_SNAPSHOT, NULL, NULL);
  g_assert_cmpint (ms_event_get_int (snapshot, "messages", -1), ==, n_messages);
  json = ms_event_to_json (snapshot);
  g_test_message ("snapshot: %zu bytes", strlen (json));
  g_assert_cmpuint (strlen (json), >, MS_TRACE_PORT_MAX_OUTPUT);
  step_iterate (200);
  g_assert_true (ms_trace_client_is_attached (f->client));
  g_assert_cmpuint (ms_trace_port_get_viewer_count (f->port), ==, 1);
}

static void
test_attach_events (Fixture *f,
                    gconstpointer data)
{
  MsServer *alpha = step_world_server (f->sw, 0);
  const char * const *servers;
  StepLineClient *lc;
  MsEvent *remote;
  gint local;
  guint64 first_seq = 0;
  guint n = 0;

  g_test_summary ("An attached client gets the port's snapshot and then every event, with the "
                  "seq, time and server the servers gave them, on its own bus.");
  attach (f, NULL);
  g_assert_no_error (f->connect_error);
  g_assert_true (ms_trace_client_is_attached (f->client));
  servers = ms_trace_client_get_servers (f->client);
  g_assert_cmpstr (servers[0], ==, "alpha.test");
  g_assert_null (servers[1]);
  g_assert_cmpuint (ms_trace_port_get_viewer_count (f->port), ==, 1);

  remote = wait_for_event (f->events, 0, MS_EVENT_SNAPSHOT, NULL, NULL);
  local = find_event (f->server_events, 0, MS_EVENT_SNAPSHOT, NULL, NULL);
  g_assert_cmpint (local, >=, 0);
  assert_same_event (remote, f->server_events->pdata[local]);
  g_assert_cmpint (ms_event_get_int (remote, "messages", -1), ==, 0);

  lc = step_line_client_connect (ms_server_get_port (alpha, MS_LISTENER_SMTP));
  step_line_client_expect (lc, NULL, "220 ");
  step_line_client_expect (lc, "HELO client.test", "250 ");
  step_line_client_expect (lc, "QUIT", "221 ");
  step_line_client_free (lc);

  remote = wait_for_event (f->events, 0, MS_EVENT_COMMAND, "HELO client.test", NULL);
  local = find_event (f->server_events, 0, MS_EVENT_COMMAND, "HELO client.test", NULL);
  assert_same_event (remote, f->server_events->pdata[local]);
  remote = wait_for_event (f->events, 0, MS_EVENT_REPLY, "250 ", NULL);
  local = find_event (f->server_events, 0, MS_EVENT_REPLY, "250 ", NULL);
  assert_same_event (remote, f->server_events->pdata[local]);
  wait_for_event (f->events, 0, MS_EVENT_SESSION_CLOSE, NULL, NULL);

  /* Nothing lost on the way: per server, seq has no gaps. */
  for (guint i = 0; i < f->events->len; i++)
    {
      MsEvent *event = f->events->pdata[i];

      g_assert_cmpstr (event->server, ==, "alpha.test");
      if (n++ == 0)
        first_seq = event->seq;
      g_assert_cmpuint (event->seq, ==, first_seq + i);
    }
  g_assert_cmpuint (n, >=, 6);
  g_assert_cmpuint (f->refusals->len, ==, 0);
  g_assert_null (f->disconnected);
}

static void
test_step_mode (Fixture *f,
                gconstpointer data)
{
  MsStepper *stepper;
  MsServer *alpha = step_world_server (f->sw, 0);
  StepLineClient *lc;
  MsEvent *held;
  g_autofree char *session = NULL;
  guint mark;
  gint released;

  g_test_summary ("Step mode through the port: a command waits, no reply reaches the SMTP "
                  "client until Step; Step with nothing pending is refused; Continue and "
                  "verb and reply breakpoints do what they do in-process.");
  attach (f, NULL);
  g_assert_no_error (f->connect_error);
  stepper = MS_STEPPER (f->client);

  ms_stepper_set_step_mode (stepper, NULL, NULL, TRUE);
  sync_port (f);
  lc = step_line_client_connect (ms_server_get_port (alpha, MS_LISTENER_SMTP));
  step_line_client_expect (lc, NULL, "220 ");
  mark = f->events->len;
  step_line_client_send (lc, "HELO client.test");
  held = wait_for_event (f->events, mark, MS_EVENT_STEP, "HELO client.test", "held");
  session = g_strdup (ms_event_get_string (held, "session"));
  step_line_client_assert_silent (lc);
  g_assert_cmpint (find_event (f->events, mark, MS_EVENT_COMMAND, "HELO", NULL), ==, -1);

  ms_stepper_step (stepper, "alpha.test", session);
  step_line_client_expect (lc, NULL, "250 ");
  released = find_event (f->events, mark, MS_EVENT_STEP, "HELO", "released");
  g_assert_cmpint (released, >=, 0);
  g_assert_cmpstr (ms_event_get_string (f->events->pdata[released], "by"), ==, "step");
  g_assert_cmpint (released, <, find_event (f->events, mark, MS_EVENT_COMMAND, "HELO", NULL));

  /* Nothing waits now: refused, with the port's words. */
  ms_stepper_step (stepper, "alpha.test", session);
  sync_port (f);
  g_assert_cmpuint (f->refusals->len, ==, 3);
  g_assert_nonnull (strstr (f->refusals->pdata[1], session));

  /* Continue: the next command runs at once. */
  ms_stepper_continue (stepper, NULL, NULL);
  sync_port (f);
  step_line_client_expect (lc, "MAIL FROM:<bob@beta.test>", "250 ");

  /* A verb breakpoint holds RCPT; cleared, RCPT runs through. */
  g_assert_true (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_VERB, "rcpt"));
  sync_port (f);
  mark = f->events->len;
  step_line_client_send (lc, "RCPT TO:<alice@alpha.test>");
  held = wait_for_event (f->events, mark, MS_EVENT_STEP, "RCPT", "held");
  g_assert_cmpstr (ms_event_get_string (held, "by"), ==, "breakpoint");
  step_line_client_assert_silent (lc);
  ms_stepper_continue (stepper, "alpha.test", session);
  step_line_client_expect (lc, NULL, "250 ");
  ms_stepper_clear_breakpoints (stepper);
  sync_port (f);
  step_line_client_expect (lc, "RCPT TO:<alice@alpha.test>", "250 ");

  /* A reply breakpoint: after a 550, the next command waits. */
  mark = f->refusals->len;
  g_assert_true (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_REPLY, "5XX"));
  sync_port (f);
  g_assert_cmpuint (f->refusals->len, ==, mark + 1);
  step_line_client_expect (lc, "RCPT TO:<nobody@alpha.test>", "550 ");
  mark = f->events->len;
  step_line_client_send (lc, "RSET");
  wait_for_event (f->events, mark, MS_EVENT_STEP, "RSET", "held");
  step_line_client_assert_silent (lc);
  ms_stepper_continue (stepper, NULL, NULL);
  step_line_client_expect (lc, NULL, "250 ");
  ms_stepper_clear_breakpoints (stepper);
  step_line_client_expect (lc, "QUIT", "221 ");
  step_line_client_free (lc);

  /* Invalid arguments are refused here, without a word to the port. */
  g_assert_false (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_VERB, "UID FETCH"));
  g_assert_false (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_REPLY, "55"));
  mark = f->refusals->len;
  ms_stepper_step (stepper, NULL, "smtp-1\r\nCLEAR");
  g_assert_cmpuint (f->refusals->len, ==, mark + 1);
  g_assert_nonnull (strstr (f->refusals->pdata[mark], "not a session id"));
  g_assert_null (f->disconnected);
}

static void
test_tokens (Fixture *f,
             gconstpointer data)
{
  g_test_summary ("A port with a token refuses a viewer without it or with a wrong one, with "
                  "a clear error, and takes the right one.");
  attach (f, NULL);
  g_assert_error (f->connect_error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_REFUSED);
  g_assert_nonnull (strstr (f->connect_error->message, "needs a token"));
  attach (f, "not-the-token");
  g_assert_error (f->connect_error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_REFUSED);
  g_assert_nonnull (strstr (f->connect_error->message, "wrong token"));
  g_assert_false (ms_trace_client_is_attached (f->client));
  g_assert_null (ms_trace_client_get_servers (f->client)[0]);
  attach (f, "s3cret-token");
  g_assert_no_error (f->connect_error);
  g_assert_true (ms_trace_client_is_attached (f->client));
  g_assert_cmpuint (ms_trace_port_get_viewer_count (f->port), ==, 1);
  g_assert_null (f->disconnected);
}

static void
test_bad_arguments (Fixture *f,
                    gconstpointer data)
{
  static const struct {
    const char *address;
    const char *token;
  } cases[] = {
    { "127.0.0.1", NULL },
    { "no port here", NULL },
    { "127.0.0.1:0", NULL },
    { "127.0.0.1:7000", "two words" },
    { "127.0.0.1:7000", "line\r\nCLEAR" },
  };
  g_autofree char *long_token = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      client_start (f, cases[i].address, cases[i].token, NULL);
      step_wait_for (&f->connect_done);
      g_assert_error (f->connect_error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_INVALID);
    }
  /* Longer than a port takes (MS_TRACE_PORT_MAX_TOKEN). */
  long_token = g_strnfill (MS_TRACE_PORT_MAX_TOKEN + 1, 'a');
  client_start (f, "127.0.0.1:7000", long_token, NULL);
  step_wait_for (&f->connect_done);
  g_assert_error (f->connect_error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_INVALID);
  /* A stepper that is not attached says so. */
  ms_stepper_set_step_mode (MS_STEPPER (f->client), NULL, NULL, TRUE);
  g_assert_cmpuint (f->refusals->len, ==, 1);
  g_assert_nonnull (strstr (f->refusals->pdata[0], "not attached"));
}

static void
test_connection_refused (Fixture *f,
                         gconstpointer data)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *address = NULL;
  guint16 port;

  /* A port that was free a moment ago and has no listener now. */
  port = g_socket_listener_add_any_inet_port (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_listener_close (listener);
  address = port_address (port);
  client_start (f, address, NULL, NULL);
  step_wait_for (&f->connect_done);
  g_assert_error (f->connect_error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_CONNECT);
  g_assert_nonnull (strstr (f->connect_error->message, address));

  /* An IPv6 address in brackets is an address, not a bad argument. */
  g_free (address);
  address = g_strdup_printf ("[::1]:%u", port);
  client_start (f, address, NULL, NULL);
  step_wait_for (&f->connect_done);
  g_assert_error (f->connect_error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_CONNECT);
  g_assert_nonnull (strstr (f->connect_error->message, address));
  g_assert_null (f->disconnected);
}

static void
test_not_a_port (Fixture *f,
                 gconstpointer data)
{
  g_autofree char *address = NULL;

  g_test_summary ("An SMTP server is not a trace port: its greeting is quoted in the error.");
  address = port_address (ms_server_get_port (step_world_server (f->sw, 0), MS_LISTENER_SMTP));
  client_start (f, address, NULL, NULL);
  step_wait_for (&f->connect_done);
  g_assert_error (f->connect_error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_NOT_A_PORT);
  g_assert_nonnull (strstr (f->connect_error->message, "\"220 "));
}

static void
test_server_stops (Fixture *f,
                   gconstpointer data)
{
  g_test_summary ("The port going away ends the attach with \"disconnected\", once.");
  attach (f, NULL);
  g_assert_no_error (f->connect_error);
  g_clear_pointer (&f->port, ms_trace_port_free);
  wait_for_disconnected (f);
  g_assert_nonnull (strstr (f->disconnected, "closed the connection"));
  g_assert_false (ms_trace_client_is_attached (f->client));
  ms_stepper_step (MS_STEPPER (f->client), NULL, "smtp-1");
  g_assert_cmpuint (f->refusals->len, ==, 1);
  g_assert_nonnull (strstr (f->refusals->pdata[0], "not attached"));
}

static void
test_disconnect (Fixture *f,
                 gconstpointer data)
{
  attach (f, NULL);
  g_assert_no_error (f->connect_error);
  ms_trace_client_disconnect (f->client);
  wait_for_disconnected (f);
  g_assert_nonnull (strstr (f->disconnected, "disconnected from"));
  step_iterate (20);
  g_assert_cmpuint (ms_trace_port_get_viewer_count (f->port), ==, 0);
}

/* --- a stand-in for a trace port: says what a test gives it ------------ */

static gboolean
fake_incoming_cb (GSocketService *service,
                  GSocketConnection *connection,
                  GObject *source,
                  gpointer user_data)
{
  Fixture *f = user_data;

  /* Kept open: the client, not the stand-in, must end what it does not like. */
  g_ptr_array_add (f->fake_connections, g_object_ref (connection));
  if (f->fake_script != NULL)
    g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                     g_bytes_get_data (f->fake_script, NULL),
                                     g_bytes_get_size (f->fake_script), G_PRIORITY_DEFAULT,
                                     NULL, NULL, NULL);
  return TRUE;
}

static char *
fake_port_start (Fixture *f,
                 const char *script,
                 gsize len)
{
  g_autoptr(GError) error = NULL;

  f->fake = g_socket_service_new ();
  f->fake_port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (f->fake), NULL,
                                                      &error);
  g_assert_no_error (error);
  if (script != NULL)
    f->fake_script = g_bytes_new (script, len);
  g_signal_connect (f->fake, "incoming", G_CALLBACK (fake_incoming_cb), f);
  g_socket_service_start (f->fake);
  return port_address (f->fake_port);
}

#define HELLO_LINE \
  "{\"v\":1,\"kind\":\"port-hello\",\"ok\":true,\"text\":\"Mailscope trace port\"," \
  "\"servers\":[\"alpha.test\",7]}\n"
#define EVENT_LINE(seq) \
  "{\"v\":1,\"seq\":" #seq ",\"time\":\"2026-11-22T09:00:00.000501Z\",\"server\":\"alpha.test\"," \
  "\"kind\":\"state\",\"session\":\"smtp-1\",\"proto\":\"smtp\",\"from\":\"\",\"to\":\"ready\"}\n"

static void
test_stream (Fixture *f,
             gconstpointer data)
{
  static const struct {
    const char *script;
    guint n_events;           /* on the bus */
    const char *disconnected; /* in the reason, or NULL: still attached */
  } cases[] = {
    /* A kind this build does not know is skipped, as the contract asks. */
    { HELLO_LINE "{\"v\":1,\"kind\":\"port-news\",\"text\":\"hi\"}\n"
      "{\"v\":1,\"seq\":3,\"time\":\"2026-11-22T09:00:00Z\",\"server\":\"a\",\"kind\":\"x\"}\n"
      "\n" EVENT_LINE (7) EVENT_LINE (8), 2, NULL },
    { HELLO_LINE EVENT_LINE (7) "this is not JSON\n" EVENT_LINE (8), 1, "not JSON" },
    { HELLO_LINE "{\"v\":1,\"seq\":1,\"server\":\"a\",\"kind\":\"state\"}\n", 0, "bad event" },
    { HELLO_LINE "{\"v\":2,\"seq\":1,\"server\":\"a\",\"kind\":\"state\"}\n", 0, "version" },
    { HELLO_LINE "[1,2]\n", 0, "one JSON object" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *address = fake_port_start (f, cases[i].script, strlen (cases[i].script));
      const char * const *servers;

      g_test_message ("case %u", i);
      g_ptr_array_set_size (f->events, 0);
      g_clear_pointer (&f->disconnected, g_free);
      client_start (f, address, NULL, NULL);
      step_wait_for (&f->connect_done);
      g_assert_no_error (f->connect_error);
      /* The servers member keeps its strings only. */
      servers = ms_trace_client_get_servers (f->client);
      g_assert_cmpstr (servers[0], ==, "alpha.test");
      g_assert_null (servers[1]);
      step_iterate (50);
      g_assert_cmpuint (f->events->len, ==, cases[i].n_events);
      if (cases[i].n_events > 0)
        g_assert_cmpuint (((MsEvent *) f->events->pdata[0])->seq, ==, 7);
      if (cases[i].disconnected == NULL)
        g_assert_null (f->disconnected);
      else
        g_assert_nonnull (strstr (f->disconnected ?: "", cases[i].disconnected));

      g_clear_object (&f->client);
      fake_port_stop (f);
    }
}

static void
test_bad_hello (Fixture *f,
                gconstpointer data)
{
  static const char version_2[] =
    "{\"v\":2,\"kind\":\"port-hello\",\"ok\":true,\"text\":\"Mailscope trace port\"}\n";
  static const char not_ok[] = "{\"v\":1,\"kind\":\"port-hello\",\"ok\":\"yes\"}\n";
  gsize long_len = MS_TRACE_CLIENT_MAX_HELLO_LINE + 10;
  g_autofree char *long_line = g_malloc (long_len);
  const struct {
    const char *script;
    gsize len;
    const char *message;
  } cases[] = {
    { version_2, sizeof version_2 - 1, "version 2" },
    { not_ok, sizeof not_ok - 1, "not a Mailscope trace port" },
    { long_line, long_len, "first line is over" },
    { "\001\002\r\n", 4, "it said \"??\"" },
  };

  memset (long_line, '{', long_len);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *address = fake_port_start (f, cases[i].script, cases[i].len);

      g_test_message ("case %u", i);
      client_start (f, address, NULL, NULL);
      step_wait_for (&f->connect_done);
      g_assert_error (f->connect_error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_NOT_A_PORT);
      g_assert_nonnull (strstr (f->connect_error->message, cases[i].message));
      g_clear_object (&f->client);
      fake_port_stop (f);
    }
}

/* What the client sent to the stand-in so far (the first connection). */
static char *
fake_received (Fixture *f)
{
  GSocket *socket;
  GString *received = g_string_new (NULL);
  char buffer[1024];
  gssize n;

  step_iterate (50);
  g_assert_cmpuint (f->fake_connections->len, ==, 1);
  socket = g_socket_connection_get_socket (f->fake_connections->pdata[0]);
  g_socket_set_blocking (socket, FALSE);
  while ((n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (received, buffer, n);
  return g_string_free (received, FALSE);
}

static void
fake_send (Fixture *f,
           const char *line)
{
  GOutputStream *out = g_io_stream_get_output_stream (f->fake_connections->pdata[0]);
  g_autoptr(GError) error = NULL;

  g_assert_true (g_output_stream_write_all (out, line, strlen (line), NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
test_commands (Fixture *f,
               gconstpointer data)
{
  g_autofree char *address = fake_port_start (f, HELLO_LINE, strlen (HELLO_LINE));
  g_autofree char *hello = NULL;
  g_autofree char *first = NULL;
  g_autofree char *second = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *none = NULL;
  MsStepper *stepper;

  g_test_summary ("Each stepper call is one port command; one at a time is outstanding and "
                  "the next goes when its port-reply comes; a reply with ok false is "
                  "\"refused\". The server argument is not sent.");
  client_start (f, address, "tok3n", NULL);
  stepper = MS_STEPPER (f->client);
  /* Given while connecting: they wait for the hello. */
  g_assert_true (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_REPLY, "5XX"));
  ms_stepper_set_step_mode (stepper, "alpha.test", "smtp-4", TRUE);
  step_wait_for (&f->connect_done);
  g_assert_no_error (f->connect_error);

  hello = fake_received (f);
  g_assert_cmpstr (hello, ==, "HELLO tok3n\r\nBREAK REPLY 5xx\r\n");
  fake_send (f, "{\"v\":1,\"kind\":\"port-reply\",\"ok\":false,"
                "\"text\":\"usage: BREAK <verb>\"}\n");
  first = fake_received (f);
  g_assert_cmpstr (first, ==, "STEPMODE ON smtp-4\r\n");
  g_assert_cmpuint (f->refusals->len, ==, 1);
  g_assert_cmpstr (f->refusals->pdata[0], ==, "usage: BREAK <verb>");

  ms_stepper_step (stepper, "beta.test", "smtp-4");
  ms_stepper_continue (stepper, NULL, NULL);
  ms_stepper_clear_breakpoints (stepper);
  g_assert_true (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_VERB, "dele"));
  ms_stepper_set_step_mode (stepper, NULL, NULL, FALSE);
  none = fake_received (f);
  g_assert_cmpstr (none, ==, "");
  fake_send (f, "{\"v\":1,\"kind\":\"port-reply\",\"ok\":true,\"text\":\"on\"}\n");
  second = fake_received (f);
  g_assert_cmpstr (second, ==, "STEP smtp-4\r\n");
  for (guint i = 0; i < 4; i++)
    fake_send (f, "{\"v\":1,\"kind\":\"port-reply\",\"ok\":true,\"text\":\"fine\"}\n");
  rest = fake_received (f);
  g_assert_cmpstr (rest, ==, "CONTINUE *\r\nCLEAR\r\nBREAK DELE\r\nSTEPMODE OFF *\r\n");
  g_assert_cmpuint (f->refusals->len, ==, 1);
  g_assert_null (f->disconnected);
}

static void
test_timeout_and_cancel (Fixture *f,
                         gconstpointer data)
{
  g_autofree char *address = fake_port_start (f, NULL, 0);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  gint64 start;

  g_test_summary ("A port that accepts and never says hello fails the connect after "
                  "MS_TRACE_CLIENT_TIMEOUT_S; the caller's cancellable ends it sooner.");
  client_start (f, address, NULL, cancellable);
  step_iterate (50);
  g_cancellable_cancel (cancellable);
  step_wait_for (&f->connect_done);
  g_assert_error (f->connect_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);

  start = g_get_monotonic_time ();
  client_start (f, address, NULL, NULL);
  while (!f->connect_done)
    {
      g_assert_cmpint (g_get_monotonic_time () - start, <,
                       (MS_TRACE_CLIENT_TIMEOUT_S + 5) * G_USEC_PER_SEC);
      g_main_context_iteration (NULL, TRUE);
    }
  g_assert_error (f->connect_error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=,
                   (MS_TRACE_CLIENT_TIMEOUT_S - 1) * G_USEC_PER_SEC);
  g_assert_null (f->disconnected);
}

static void
test_normalize_breakpoint (void)
{
  static const struct {
    MsBreakpointKind kind;
    const char *what;
    const char *expected;     /* NULL: not a breakpoint */
  } cases[] = {
    { MS_BREAKPOINT_VERB, "rcpt", "RCPT" },
    { MS_BREAKPOINT_VERB, "AUTHENTICATE", "AUTHENTICATE" },
    { MS_BREAKPOINT_VERB, "", NULL },
    { MS_BREAKPOINT_VERB, "UID FETCH", NULL },
    { MS_BREAKPOINT_VERB, "A001", NULL },
    { MS_BREAKPOINT_VERB, "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFG", NULL },
    { MS_BREAKPOINT_REPLY, "550", "550" },
    { MS_BREAKPOINT_REPLY, "5xx", "5xx" },
    { MS_BREAKPOINT_REPLY, "4XX", "4xx" },
    { MS_BREAKPOINT_REPLY, "-err", "-ERR" },
    { MS_BREAKPOINT_REPLY, "no", "NO" },
    { MS_BREAKPOINT_REPLY, "BAD", "BAD" },
    { MS_BREAKPOINT_REPLY, "221", "221" },
    { MS_BREAKPOINT_REPLY, "55", NULL },
    { MS_BREAKPOINT_REPLY, "650", NULL },
    { MS_BREAKPOINT_REPLY, "560", NULL },
    { MS_BREAKPOINT_REPLY, "1xx", NULL },
    { MS_BREAKPOINT_REPLY, "5x0", NULL },
    { MS_BREAKPOINT_REPLY, "x50", NULL },
    { MS_BREAKPOINT_REPLY, "5500", NULL },
    { MS_BREAKPOINT_REPLY, "OK", NULL },
    { MS_BREAKPOINT_REPLY, "+OK", NULL },
    { MS_BREAKPOINT_REPLY, "RCPT", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *normal = ms_breakpoint_normalize (cases[i].kind,
                                                                      cases[i].what);

      g_assert_cmpstr (normal, ==, cases[i].expected);
    }
}

#define ADD(path, func, token) \
  g_test_add ("/gui/trace-client/" path, Fixture, token, fixture_set_up, func, fixture_tear_down)

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gui/trace-client/normalize-breakpoint", test_normalize_breakpoint);
  ADD ("attach-events", test_attach_events, NULL);
  ADD ("attach-big-snapshot", test_attach_big_snapshot, NULL);
  ADD ("step-mode", test_step_mode, NULL);
  ADD ("commands", test_commands, NULL);
  ADD ("tokens", test_tokens, "s3cret-token");
  ADD ("bad-arguments", test_bad_arguments, NULL);
  ADD ("connection-refused", test_connection_refused, NULL);
  ADD ("not-a-port", test_not_a_port, NULL);
  ADD ("server-stops", test_server_stops, NULL);
  ADD ("disconnect", test_disconnect, NULL);
  ADD ("stream", test_stream, NULL);
  ADD ("bad-hello", test_bad_hello, NULL);
  ADD ("timeout-and-cancel", test_timeout_and_cancel, NULL);
  return g_test_run ();
}
