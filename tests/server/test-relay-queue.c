/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-relay-queue"

#include "config.h"

#include <string.h>

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gmime/gmime.h>

#include "ms-relay-queue.h"

/* ---- a scripted fake SMTP server on 127.0.0.1:0 ---- */

typedef struct {
  GSocketService *service;
  guint16 port;
  /* The script: replies to RCPT TO and to the final ".". */
  char *rcpt_reply;           /* for every recipient but `bad_rcpt` */
  char *bad_rcpt;             /* nullable */
  char *bad_rcpt_reply;
  char *data_reply;
  /* What it received. */
  GPtrArray *mail_from;       /* of char *, one per MAIL FROM */
  GPtrArray *rcpt_to;         /* of char *, every RCPT TO */
  GPtrArray *messages;        /* of GBytes *, unstuffed, CRLF line ends */
  guint n_sessions_open;
} FakeServer;

typedef struct {
  FakeServer *server;
  GSocketConnection *connection;
  GString *input;
  GString *data;              /* the message being received */
  gboolean in_data;
  char buffer[4096];
} FakeSession;

static void
fake_reply (FakeSession *session,
            const char  *line)
{
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (session->connection));
  g_autofree char *text = g_strconcat (line, "\r\n", NULL);

  /* Loopback, a few bytes: a blocking write cannot stall here. */
  g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL);
}

static char *
path_argument (const char *line)
{
  const char *open = strchr (line, '<');
  const char *close = open != NULL ? strchr (open, '>') : NULL;

  if (open == NULL || close == NULL)
    return g_strdup ("?");
  return g_strndup (open + 1, close - open - 1);
}

static void
fake_handle_line (FakeSession *session,
                  const char  *line)
{
  FakeServer *server = session->server;

  if (session->in_data)
    {
      if (strcmp (line, ".") == 0)
        {
          g_ptr_array_add (server->messages, g_bytes_new (session->data->str, session->data->len));
          g_string_truncate (session->data, 0);
          session->in_data = FALSE;
          fake_reply (session, server->data_reply);
          return;
        }
      /* RFC 5321 §4.5.2: remove the stuffed dot. */
      g_string_append (session->data, line[0] == '.' ? line + 1 : line);
      g_string_append (session->data, "\r\n");
      return;
    }

  if (g_ascii_strncasecmp (line, "EHLO", 4) == 0 || g_ascii_strncasecmp (line, "HELO", 4) == 0)
    fake_reply (session, "250 fake.test");
  else if (g_ascii_strncasecmp (line, "MAIL FROM:", 10) == 0)
    {
      g_ptr_array_add (server->mail_from, path_argument (line));
      fake_reply (session, "250 2.1.0 OK");
    }
  else if (g_ascii_strncasecmp (line, "RCPT TO:", 8) == 0)
    {
      g_autofree char *address = path_argument (line);

      if (g_strcmp0 (address, server->bad_rcpt) == 0)
        fake_reply (session, server->bad_rcpt_reply);
      else
        fake_reply (session, server->rcpt_reply);
      g_ptr_array_add (server->rcpt_to, g_steal_pointer (&address));
    }
  else if (g_ascii_strcasecmp (line, "DATA") == 0)
    {
      session->in_data = TRUE;
      fake_reply (session, "354 End data with <CR><LF>.<CR><LF>");
    }
  else if (g_ascii_strcasecmp (line, "QUIT") == 0)
    {
      fake_reply (session, "221 2.0.0 Bye");
      /* Half-close: the client sees EOF, closes, and our read ends. */
      g_socket_shutdown (g_socket_connection_get_socket (session->connection), FALSE, TRUE, NULL);
    }
  else if (g_ascii_strcasecmp (line, "RSET") == 0 || g_ascii_strcasecmp (line, "NOOP") == 0)
    fake_reply (session, "250 2.0.0 OK");
  else
    fake_reply (session, "502 5.5.1 Not implemented");
}

static void
fake_session_free (FakeSession *session)
{
  session->server->n_sessions_open--;
  g_io_stream_close (G_IO_STREAM (session->connection), NULL, NULL);
  g_object_unref (session->connection);
  g_string_free (session->input, TRUE);
  g_string_free (session->data, TRUE);
  g_free (session);
}

static void fake_read_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
fake_read_more (FakeSession *session)
{
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (session->connection));

  g_input_stream_read_async (in, session->buffer, sizeof session->buffer, G_PRIORITY_DEFAULT,
                             NULL, fake_read_cb, session);
}

static void
fake_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  FakeSession *session = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);
  char *newline;

  if (n <= 0)
    {
      fake_session_free (session);
      return;
    }
  g_string_append_len (session->input, session->buffer, n);
  while ((newline = memchr (session->input->str, '\n', session->input->len)) != NULL)
    {
      gsize line_len = newline - session->input->str;
      g_autofree char *line = g_strndup (session->input->str,
                                         line_len > 0 && newline[-1] == '\r' ? line_len - 1 : line_len);

      g_string_erase (session->input, 0, line_len + 1);
      fake_handle_line (session, line);
    }
  fake_read_more (session);
}

static gboolean
fake_incoming_cb (GSocketService    *service,
                  GSocketConnection *connection,
                  GObject           *source_object,
                  gpointer           user_data)
{
  FakeSession *session = g_new0 (FakeSession, 1);

  session->server = user_data;
  session->server->n_sessions_open++;
  session->connection = g_object_ref (connection);
  session->input = g_string_new (NULL);
  session->data = g_string_new (NULL);
  fake_reply (session, "220 fake.test ESMTP");
  fake_read_more (session);
  return TRUE;
}

static FakeServer *
fake_server_new (void)
{
  FakeServer *server = g_new0 (FakeServer, 1);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GError) error = NULL;

  server->rcpt_reply = g_strdup ("250 2.1.5 OK");
  server->bad_rcpt_reply = g_strdup ("550 5.1.1 No such user here");
  server->data_reply = g_strdup ("250 2.0.0 Queued");
  server->mail_from = g_ptr_array_new_with_free_func (g_free);
  server->rcpt_to = g_ptr_array_new_with_free_func (g_free);
  server->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);

  server->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (server->service), address,
                                 G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                 &effective, &error);
  g_assert_no_error (error);
  server->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (server->service, "incoming", G_CALLBACK (fake_incoming_cb), server);
  g_socket_service_start (server->service);
  return server;
}

static void
fake_server_set (char      **field,
                 const char *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

static void
fake_server_free (FakeServer *server)
{
  g_socket_service_stop (server->service);
  g_socket_listener_close (G_SOCKET_LISTENER (server->service));
  g_object_unref (server->service);
  g_free (server->rcpt_reply);
  g_free (server->bad_rcpt);
  g_free (server->bad_rcpt_reply);
  g_free (server->data_reply);
  g_ptr_array_unref (server->mail_from);
  g_ptr_array_unref (server->rcpt_to);
  g_ptr_array_unref (server->messages);
  g_free (server);
}

/* ---- fixture ---- */

typedef struct {
  char *address;
  GBytes *message;
} LocalMail;

static void
local_mail_free (LocalMail *mail)
{
  g_free (mail->address);
  g_bytes_unref (mail->message);
  g_free (mail);
}

typedef struct {
  char *dir;
  MsTraceBus *bus;
  GPtrArray *events;          /* of MsEvent *, relay events only */
  GPtrArray *local_mail;      /* of LocalMail * */
  FakeServer *server;
  MsRelayQueue *queue;
} Fixture;

static const char test_message[] =
  "From: Alice <alice@alpha.test>\r\n"
  "To: Bob <bob@beta.test>\r\n"
  "Subject: Lunch\r\n"
  "Message-ID: <lunch-1@alpha.test>\r\n"
  "\r\n"
  "Shall we meet at noon?\r\n"
  ".A line that starts with a dot.\r\n"
  ".\r\n"
  "Alice\r\n";

static void
record_event_cb (const MsEvent *event,
                 gpointer       user_data)
{
  Fixture *f = user_data;

  if (event->kind == MS_EVENT_RELAY)
    g_ptr_array_add (f->events, ms_event_ref ((MsEvent *) event));
}

static gboolean
is_local_domain_cb (gpointer    data,
                    const char *domain)
{
  return g_strcmp0 (domain, "alpha.test") == 0;
}

static gboolean
deliver_local_cb (gpointer    data,
                  const char *address,
                  const char *message,
                  gsize       len,
                  GError    **error)
{
  Fixture *f = data;
  LocalMail *mail = g_new0 (LocalMail, 1);

  mail->address = g_strdup (address);
  mail->message = g_bytes_new (message, len);
  g_ptr_array_add (f->local_mail, mail);
  return TRUE;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  user_data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("ms-relay-XXXXXX", &error);
  g_assert_no_error (error);
  f->bus = ms_trace_bus_new ();
  f->events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  f->local_mail = g_ptr_array_new_with_free_func ((GDestroyNotify) local_mail_free);
  ms_trace_bus_subscribe (f->bus, record_event_cb, f, NULL);
  f->server = fake_server_new ();
}

/* Runs the main context for a while so that callbacks still under way
 * (cancelled sends, closing sessions) finish before the next test. */
static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
drain (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, set_flag_cb, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  user_data)
{
  g_clear_pointer (&f->queue, ms_relay_queue_free);
  drain (100);
  g_assert_cmpuint (f->server->n_sessions_open, ==, 0);
  fake_server_free (f->server);
  g_ptr_array_unref (f->events);
  g_ptr_array_unref (f->local_mail);
  ms_trace_bus_unref (f->bus);
  remove_tree (f->dir);
  g_free (f->dir);
}

static MsRelayQueue *
make_queue (Fixture     *f,
            const guint *intervals,
            guint        n_intervals)
{
  MsRelayQueueConfig config = {
    .queue_dir = f->dir,
    .hostname = "alpha.test",
    .bus = f->bus,
    .server_name = "alpha.test",
    .retry_intervals_s = intervals,
    .n_retry_intervals = n_intervals,
    .is_local_domain = is_local_domain_cb,
    .deliver_local = deliver_local_cb,
    .local_data = f,
  };
  g_autoptr(GError) error = NULL;
  MsRelayQueue *q = ms_relay_queue_new (&config, &error);

  g_assert_no_error (error);
  g_assert_nonnull (q);
  return q;
}

static guint
count_steps (Fixture    *f,
             const char *step)
{
  guint n = 0;

  for (guint i = 0; i < f->events->len; i++)
    if (g_strcmp0 (ms_event_get_string (g_ptr_array_index (f->events, i), "step"), step) == 0)
      n++;
  return n;
}

static const MsEvent *
last_step (Fixture    *f,
           const char *step)
{
  for (guint i = f->events->len; i > 0; i--)
    {
      const MsEvent *event = g_ptr_array_index (f->events, i - 1);

      if (g_strcmp0 (ms_event_get_string (event, "step"), step) == 0)
        return event;
    }
  return NULL;
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the main context until `n` events of `step` were seen. */
static void
wait_for_steps (Fixture    *f,
                const char *step,
                guint       n)
{
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  guint wake = g_timeout_add (50, wake_cb, NULL);

  while (count_steps (f, step) < n)
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting for %u '%s' event(s)", n, step);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (wake);
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  g_assert_nonnull (d);
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/* The path of the only .env in `dir`. */
static char *
find_env (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  char *found = NULL;

  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".env"))
      {
        g_assert_null (found);
        found = g_build_filename (dir, name, NULL);
      }
  return found;
}

static void
enqueue (Fixture            *f,
         const char         *from,
         const char * const *rcpt)
{
  g_autoptr(GError) error = NULL;
  gboolean ok = ms_relay_queue_enqueue (f->queue, from, rcpt, test_message,
                                        strlen (test_message), &error);

  g_assert_no_error (error);
  g_assert_true (ok);
}

/* Every line of `bytes` ends with CRLF. */
static void
assert_crlf (GBytes *bytes)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  g_assert_cmpuint (len, >, 0);
  for (gsize i = 0; i < len; i++)
    if (data[i] == '\n')
      g_assert_true (i > 0 && data[i - 1] == '\r');
  g_assert_cmpint (data[len - 1], ==, '\n');
}

/* Parses a report, checks its RFC 3464 structure, and returns the text of
 * its message/delivery-status part. */
static char *
parse_report (GBytes     *bytes,
              const char *to)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (data, len);
  GMimeParser *parser = g_mime_parser_new_with_stream (stream);
  GMimeMessage *message = g_mime_parser_construct_message (parser, NULL);
  GMimeObject *body;
  GMimeMultipart *report;
  GMimeObject *part;
  GMimeContentType *type;
  InternetAddressList *from_list;
  g_autofree char *from = NULL;
  g_autofree char *headers = NULL;
  char *status;

  g_assert_nonnull (message);
  assert_crlf (bytes);

  from_list = g_mime_message_get_from (message);
  from = internet_address_list_to_string (from_list, NULL, FALSE);
  g_assert_nonnull (strstr (from, "MAILER-DAEMON@alpha.test"));
  g_assert_nonnull (strstr (from, "Mail Delivery System"));
  g_assert_cmpstr (g_mime_message_get_subject (message), ==, "Undelivered Mail Returned to Sender");
  g_assert_cmpstr (g_mime_object_get_header (GMIME_OBJECT (message), "Auto-Submitted"), ==,
                   "auto-replied");
  g_assert_nonnull (g_mime_message_get_message_id (message));
  g_assert_nonnull (g_mime_message_get_date (message));
  {
    g_autofree char *to_text =
      internet_address_list_to_string (g_mime_message_get_to (message), NULL, FALSE);

    g_assert_cmpstr (to_text, ==, to);
  }

  body = g_mime_message_get_mime_part (message);
  g_assert_true (GMIME_IS_MULTIPART (body));
  type = g_mime_object_get_content_type (body);
  g_assert_true (g_mime_content_type_is_type (type, "multipart", "report"));
  g_assert_cmpstr (g_mime_content_type_get_parameter (type, "report-type"), ==, "delivery-status");

  report = GMIME_MULTIPART (body);
  g_assert_cmpint (g_mime_multipart_get_count (report), ==, 3);

  part = g_mime_multipart_get_part (report, 0);
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (part), "text", "plain"));

  part = g_mime_multipart_get_part (report, 1);
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (part),
                                              "message", "delivery-status"));
  status = g_mime_object_to_string (part, NULL);

  part = g_mime_multipart_get_part (report, 2);
  g_assert_true (g_mime_content_type_is_type (g_mime_object_get_content_type (part),
                                              "text", "rfc822-headers"));
  headers = g_mime_object_to_string (part, NULL);
  /* The original header, and not its body. */
  g_assert_nonnull (strstr (headers, "Subject: Lunch"));
  g_assert_nonnull (strstr (headers, "Message-ID: <lunch-1@alpha.test>"));
  g_assert_null (strstr (headers, "Shall we meet"));

  g_object_unref (message);
  g_object_unref (parser);
  g_object_unref (stream);

  /* RFC 3464 §2.2: the per-message field that is required. */
  g_assert_nonnull (strstr (status, "Reporting-MTA: dns; alpha.test"));
  g_assert_nonnull (strstr (status, "Arrival-Date: "));
  return status;
}

/* ---- tests ---- */

static void
test_delivered (Fixture       *f,
                gconstpointer  user_data)
{
  const char *rcpt[] = { "bob@beta.test", "dave@beta.test", NULL };
  GBytes *received;

  f->queue = make_queue (f, NULL, 0);
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  g_assert_true (ms_relay_queue_has_route (f->queue, "BETA.test"));
  g_assert_false (ms_relay_queue_has_route (f->queue, "gamma.test"));

  enqueue (f, "alice@alpha.test", rcpt);
  /* Durable before enqueue returned: one .msg and one .env. */
  g_assert_cmpuint (count_files (f->dir), ==, 2);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 1);

  wait_for_steps (f, "delivered", 1);

  g_assert_cmpuint (f->server->messages->len, ==, 1);
  received = g_ptr_array_index (f->server->messages, 0);
  g_assert_cmpmem (g_bytes_get_data (received, NULL), g_bytes_get_size (received),
                   test_message, strlen (test_message));
  g_assert_cmpuint (f->server->mail_from->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (f->server->mail_from, 0), ==, "alice@alpha.test");
  g_assert_cmpuint (f->server->rcpt_to->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->server->rcpt_to, 0), ==, "bob@beta.test");
  g_assert_cmpstr (g_ptr_array_index (f->server->rcpt_to, 1), ==, "dave@beta.test");

  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
  g_assert_cmpuint (f->local_mail->len, ==, 0);
}

static void
test_events_in_order (Fixture       *f,
                      gconstpointer  user_data)
{
  const char *rcpt[] = { "bob@beta.test", NULL };
  const char *expected[] = { "queued", "route", "attempt", "delivered" };
  const MsEvent *event;

  f->queue = make_queue (f, NULL, 0);
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  enqueue (f, "alice@alpha.test", rcpt);
  wait_for_steps (f, "delivered", 1);

  g_assert_cmpuint (f->events->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      event = g_ptr_array_index (f->events, i);
      g_assert_cmpstr (ms_event_get_string (event, "step"), ==, expected[i]);
      g_assert_cmpstr (event->server, ==, "alpha.test");
      g_assert_cmpstr (ms_event_get_string (event, "domain"), ==, "beta.test");
      g_assert_cmpstr (ms_event_get_string (event, "from"), ==, "alice@alpha.test");
      g_assert_nonnull (ms_event_get_string (event, "id"));
      g_assert_cmpstr (ms_event_get_string (event, "id"), ==,
                       ms_event_get_string (g_ptr_array_index (f->events, 0), "id"));
    }

  event = last_step (f, "route");
  g_assert_cmpstr (ms_event_get_string (event, "host"), ==, "127.0.0.1");
  g_assert_cmpint (ms_event_get_int (event, "port", 0), ==, f->server->port);
  event = last_step (f, "attempt");
  g_assert_cmpint (ms_event_get_int (event, "attempt", 0), ==, 1);
  event = last_step (f, "delivered");
  g_assert_cmpint (ms_event_get_int (event, "code", 0), ==, 250);
}

static void
test_deferred_then_flush (Fixture       *f,
                          gconstpointer  user_data)
{
  static const guint intervals[] = { 3600 };
  const char *rcpt[] = { "bob@beta.test", NULL };
  g_autoptr(GKeyFile) env = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *env_path = NULL;
  g_autofree char *last_error = NULL;
  const MsEvent *event;
  gint64 next_attempt;

  fake_server_set (&f->server->rcpt_reply, "451 4.3.0 Try again later");
  f->queue = make_queue (f, intervals, G_N_ELEMENTS (intervals));
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  enqueue (f, "alice@alpha.test", rcpt);
  wait_for_steps (f, "deferred", 1);

  event = last_step (f, "deferred");
  g_assert_cmpint (ms_event_get_int (event, "attempt", 0), ==, 1);
  g_assert_cmpint (ms_event_get_int (event, "next_attempt", 0), ==, 3600);
  g_assert_cmpint (ms_event_get_int (event, "code", 0), ==, 451);
  g_assert_nonnull (strstr (ms_event_get_string (event, "text"), "Try again later"));
  g_assert_cmpuint (f->server->messages->len, ==, 0);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 1);

  /* The .env on disk says so too. */
  env_path = find_env (f->dir);
  g_assert_nonnull (env_path);
  g_key_file_load_from_file (env, env_path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_key_file_get_integer (env, "entry", "attempts", NULL), ==, 1);
  next_attempt = g_key_file_get_int64 (env, "entry", "next-attempt", NULL);
  g_assert_cmpint (next_attempt, >=, g_get_real_time () / G_USEC_PER_SEC + 3590);
  last_error = g_key_file_get_string (env, "entry", "last-error", NULL);
  g_assert_cmpstr (last_error, ==, "451 4.3.0 Try again later");
  g_assert_cmpuint (count_files (f->dir), ==, 2);

  /* The server recovers; flush ignores the hour of backoff. */
  fake_server_set (&f->server->rcpt_reply, "250 2.1.5 OK");
  ms_relay_queue_flush (f->queue);
  wait_for_steps (f, "delivered", 1);

  g_assert_cmpint (ms_event_get_int (last_step (f, "attempt"), "attempt", 0), ==, 2);
  g_assert_cmpuint (f->server->messages->len, ==, 1);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_bounce_5xx_local (Fixture       *f,
                       gconstpointer  user_data)
{
  const char *rcpt[] = { "bob@beta.test", "nobody@beta.test", NULL };
  g_autofree char *status = NULL;
  LocalMail *mail;
  const MsEvent *event;

  fake_server_set (&f->server->bad_rcpt, "nobody@beta.test");
  f->queue = make_queue (f, NULL, 0);
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  enqueue (f, "alice@alpha.test", rcpt);
  wait_for_steps (f, "bounced", 1);

  /* bob got it; nobody was refused and returned to alice. */
  g_assert_cmpuint (f->server->messages->len, ==, 1);
  g_assert_cmpuint (count_steps (f, "delivered"), ==, 1);
  g_assert_cmpuint (f->local_mail->len, ==, 1);
  mail = g_ptr_array_index (f->local_mail, 0);
  g_assert_cmpstr (mail->address, ==, "alice@alpha.test");

  status = parse_report (mail->message, "alice@alpha.test");
  g_assert_nonnull (strstr (status, "Final-Recipient: rfc822; nobody@beta.test"));
  g_assert_null (strstr (status, "bob@beta.test"));
  g_assert_nonnull (strstr (status, "Action: failed"));
  g_assert_nonnull (strstr (status, "Status: 5.1.1"));
  g_assert_nonnull (strstr (status, "Remote-MTA: dns; 127.0.0.1"));
  g_assert_nonnull (strstr (status, "Diagnostic-Code: smtp; 550 5.1.1 No such user here"));

  event = last_step (f, "bounced");
  g_assert_cmpstr (ms_event_get_string (event, "rcpt"), ==, "nobody@beta.test");
  g_assert_cmpstr (ms_event_get_string (event, "status"), ==, "5.1.1");

  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_bounce_remote_sender (Fixture       *f,
                           gconstpointer  user_data)
{
  const char *rcpt[] = { "nobody@beta.test", NULL };
  GBytes *report;
  g_autofree char *status = NULL;

  g_test_summary ("A report to a sender in another domain is queued with the "
                  "null reverse path (RFC 5321 §4.5.5) and relayed.");

  fake_server_set (&f->server->bad_rcpt, "nobody@beta.test");
  f->queue = make_queue (f, NULL, 0);
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  ms_relay_queue_add_route (f->queue, "gamma.test", "127.0.0.1", f->server->port);
  enqueue (f, "carol@gamma.test", rcpt);
  wait_for_steps (f, "delivered", 1);

  g_assert_cmpuint (f->local_mail->len, ==, 0);
  g_assert_cmpuint (f->server->mail_from->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (f->server->mail_from, 1), ==, "");
  g_assert_cmpstr (g_ptr_array_index (f->server->rcpt_to, 1), ==, "carol@gamma.test");
  g_assert_cmpuint (f->server->messages->len, ==, 1);
  report = g_ptr_array_index (f->server->messages, 0);
  status = parse_report (report, "carol@gamma.test");
  g_assert_nonnull (strstr (status, "Status: 5.1.1"));

  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_retries_exhausted (Fixture       *f,
                        gconstpointer  user_data)
{
  static const guint intervals[] = { 0, 0 };
  const char *rcpt[] = { "bob@beta.test", NULL };
  g_autofree char *status = NULL;
  LocalMail *mail;

  fake_server_set (&f->server->rcpt_reply, "451 4.3.0 Try again later");
  f->queue = make_queue (f, intervals, G_N_ELEMENTS (intervals));
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  enqueue (f, "alice@alpha.test", rcpt);
  wait_for_steps (f, "bounced", 1);

  /* The first attempt and one after each interval. */
  g_assert_cmpuint (count_steps (f, "attempt"), ==, 3);
  g_assert_cmpuint (count_steps (f, "deferred"), ==, 2);
  g_assert_cmpuint (f->local_mail->len, ==, 1);
  mail = g_ptr_array_index (f->local_mail, 0);
  status = parse_report (mail->message, "alice@alpha.test");
  g_assert_nonnull (strstr (status, "Final-Recipient: rfc822; bob@beta.test"));
  g_assert_nonnull (strstr (status, "Status: 4.4.7"));
  g_assert_nonnull (strstr (status, "Diagnostic-Code: smtp; 451 4.3.0 Try again later"));
  g_assert_cmpstr (ms_event_get_string (last_step (f, "bounced"), "status"), ==, "4.4.7");

  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_null_sender_not_bounced (Fixture       *f,
                              gconstpointer  user_data)
{
  const char *rcpt[] = { "nobody@beta.test", NULL };
  const MsEvent *event;

  g_test_summary ("A message with the null reverse path is never bounced "
                  "(RFC 5321 §4.5.5, §6.1).");

  fake_server_set (&f->server->bad_rcpt, "nobody@beta.test");
  f->queue = make_queue (f, NULL, 0);
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  enqueue (f, "", rcpt);
  wait_for_steps (f, "bounced", 1);

  event = last_step (f, "bounced");
  g_assert_cmpstr (ms_event_get_string (event, "note"), ==, "dropped: null sender");
  g_assert_cmpstr (ms_event_get_string (event, "from"), ==, "");
  g_assert_cmpuint (f->local_mail->len, ==, 0);
  g_assert_cmpuint (count_steps (f, "queued"), ==, 1);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
  g_assert_cmpuint (count_files (f->dir), ==, 0);

  /* The public call refuses too. */
  ms_relay_queue_bounce (f->queue, "", "x@beta.test", "5.1.1", "550 no", NULL,
                         test_message, strlen (test_message));
  g_assert_cmpuint (count_steps (f, "bounced"), ==, 2);
  g_assert_cmpuint (f->local_mail->len, ==, 0);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
}

static void
test_bounce_api (Fixture       *f,
                 gconstpointer  user_data)
{
  g_autofree char *status = NULL;
  LocalMail *mail;

  f->queue = make_queue (f, NULL, 0);
  ms_relay_queue_bounce (f->queue, "alice@alpha.test", "bob@beta.test", "5.2.2",
                         "552 5.2.2 Mailbox full", "mx.beta.test",
                         test_message, strlen (test_message));

  g_assert_cmpuint (f->local_mail->len, ==, 1);
  mail = g_ptr_array_index (f->local_mail, 0);
  status = parse_report (mail->message, "alice@alpha.test");
  g_assert_nonnull (strstr (status, "Final-Recipient: rfc822; bob@beta.test"));
  g_assert_nonnull (strstr (status, "Status: 5.2.2"));
  g_assert_nonnull (strstr (status, "Remote-MTA: dns; mx.beta.test"));
  g_assert_nonnull (strstr (status, "Diagnostic-Code: smtp; 552 5.2.2 Mailbox full"));
  g_assert_cmpuint (count_steps (f, "bounced"), ==, 1);
}

static void
test_no_route (Fixture       *f,
               gconstpointer  user_data)
{
  const char *rcpt[] = { "zed@nowhere.test", NULL };
  g_autofree char *status = NULL;
  LocalMail *mail;

  f->queue = make_queue (f, NULL, 0);
  enqueue (f, "alice@alpha.test", rcpt);
  wait_for_steps (f, "bounced", 1);

  g_assert_cmpuint (count_steps (f, "no-route"), ==, 1);
  g_assert_cmpuint (count_steps (f, "attempt"), ==, 0);
  g_assert_cmpuint (f->local_mail->len, ==, 1);
  mail = g_ptr_array_index (f->local_mail, 0);
  status = parse_report (mail->message, "alice@alpha.test");
  g_assert_nonnull (strstr (status, "Status: 5.4.4"));
  g_assert_null (strstr (status, "Remote-MTA:"));
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_one_entry_per_domain (Fixture       *f,
                           gconstpointer  user_data)
{
  const char *rcpt[] = { "bob@beta.test", "zed@gamma.test", "dave@BETA.test", NULL };
  const MsEvent *event;
  JsonArray *array;

  f->queue = make_queue (f, NULL, 0);
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  ms_relay_queue_add_route (f->queue, "gamma.test", "127.0.0.1", f->server->port);
  enqueue (f, "alice@alpha.test", rcpt);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 2);
  g_assert_cmpuint (count_files (f->dir), ==, 4);
  g_assert_cmpuint (count_steps (f, "queued"), ==, 2);

  event = g_ptr_array_index (f->events, 0);
  g_assert_cmpstr (ms_event_get_string (event, "domain"), ==, "beta.test");
  array = json_object_get_array_member (event->fields, "rcpt");
  g_assert_cmpuint (json_array_get_length (array), ==, 2);
  g_assert_cmpstr (json_array_get_string_element (array, 1), ==, "dave@BETA.test");

  wait_for_steps (f, "delivered", 2);
  g_assert_cmpuint (f->server->messages->len, ==, 2);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_concurrency_capped (Fixture       *f,
                         gconstpointer  user_data)
{
  const guint n_domains = MS_RELAY_QUEUE_MAX_CONCURRENT + 3;
  g_autoptr(GPtrArray) rcpt = g_ptr_array_new_with_free_func (g_free);
  gint in_flight = 0;
  gint max_in_flight = 0;

  f->queue = make_queue (f, NULL, 0);
  for (guint i = 0; i < n_domains; i++)
    {
      g_autofree char *domain = g_strdup_printf ("d%u.test", i);

      ms_relay_queue_add_route (f->queue, domain, "127.0.0.1", f->server->port);
      g_ptr_array_add (rcpt, g_strdup_printf ("user@%s", domain));
    }
  g_ptr_array_add (rcpt, NULL);
  enqueue (f, "alice@alpha.test", (const char * const *) rcpt->pdata);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, n_domains);
  wait_for_steps (f, "delivered", n_domains);

  /* Replay the events: an attempt starts a delivery, delivered ends it. */
  for (guint i = 0; i < f->events->len; i++)
    {
      const char *step = ms_event_get_string (g_ptr_array_index (f->events, i), "step");

      if (g_strcmp0 (step, "attempt") == 0)
        in_flight++;
      else if (g_strcmp0 (step, "delivered") == 0)
        in_flight--;
      max_in_flight = MAX (max_in_flight, in_flight);
    }
  g_assert_cmpint (max_in_flight, ==, MS_RELAY_QUEUE_MAX_CONCURRENT);
  g_assert_cmpint (in_flight, ==, 0);
  g_assert_cmpuint (f->server->messages->len, ==, n_domains);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_enqueue_invalid (Fixture       *f,
                      gconstpointer  user_data)
{
  const char *rcpt[] = { "bob@beta.test", "nodomain", NULL };
  const char *none[] = { NULL };
  g_autoptr(GError) error = NULL;

  f->queue = make_queue (f, NULL, 0);
  g_assert_false (ms_relay_queue_enqueue (f->queue, "alice@alpha.test", rcpt,
                                          test_message, strlen (test_message), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (ms_relay_queue_enqueue (f->queue, "alice@alpha.test", none,
                                          test_message, strlen (test_message), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_restart_resumes (Fixture       *f,
                      gconstpointer  user_data)
{
  const char *rcpt[] = { "bob@beta.test", NULL };
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) not_listening = NULL;
  g_autoptr(GError) error = NULL;
  guint16 dead_port;
  GBytes *received;

  g_test_summary ("Entries left on disk are delivered by the next queue on "
                  "the same directory.");

  /* A port that is bound but not listening: connections are refused. */
  not_listening = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (not_listening, any_port, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (not_listening, &error);
  g_assert_no_error (error);
  dead_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));

  f->queue = make_queue (f, NULL, 0);
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", dead_port);
  enqueue (f, "alice@alpha.test", rcpt);
  wait_for_steps (f, "deferred", 1);
  g_assert_cmpint (ms_event_get_int (last_step (f, "deferred"), "next_attempt", 0), ==, 5);
  g_assert_cmpuint (count_files (f->dir), ==, 2);
  g_clear_pointer (&f->queue, ms_relay_queue_free);
  g_assert_cmpuint (count_files (f->dir), ==, 2);

  /* The "restarted" server: same directory, the route now reachable. */
  f->queue = make_queue (f, NULL, 0);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 1);
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  wait_for_steps (f, "delivered", 1);

  /* The attempt count survived the restart. */
  g_assert_cmpint (ms_event_get_int (last_step (f, "attempt"), "attempt", 0), ==, 2);
  g_assert_cmpuint (f->server->messages->len, ==, 1);
  received = g_ptr_array_index (f->server->messages, 0);
  g_assert_cmpmem (g_bytes_get_data (received, NULL), g_bytes_get_size (received),
                   test_message, strlen (test_message));
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

static void
test_free_in_flight (Fixture       *f,
                     gconstpointer  user_data)
{
  const char *rcpt[] = { "bob@beta.test", NULL };

  /* Freed while the delivery is under way: nothing is lost or leaked, and
   * the entry stays for the next queue. */
  f->queue = make_queue (f, NULL, 0);
  ms_relay_queue_add_route (f->queue, "beta.test", "127.0.0.1", f->server->port);
  enqueue (f, "alice@alpha.test", rcpt);
  wait_for_steps (f, "attempt", 1);
  g_clear_pointer (&f->queue, ms_relay_queue_free);
  drain (200);
  g_assert_cmpuint (count_files (f->dir), ==, 2);
}

static void
test_incomplete_entry_removed (Fixture       *f,
                               gconstpointer  user_data)
{
  g_autofree char *msg = g_build_filename (f->dir, "0123456789abc-0001-deadbeef.msg", NULL);
  g_autofree char *tmp = g_build_filename (f->dir, "0123456789abc-0002-deadbeef.env.tmp", NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (msg, test_message, -1, &error);
  g_assert_no_error (error);
  g_file_set_contents (tmp, "[entry]\n", -1, &error);
  g_assert_no_error (error);

  f->queue = make_queue (f, NULL, 0);
  g_assert_cmpuint (ms_relay_queue_get_length (f->queue), ==, 0);
  g_assert_false (g_file_test (msg, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (tmp, G_FILE_TEST_EXISTS));
  g_assert_cmpuint (count_files (f->dir), ==, 0);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_mime_init ();

#define ADD(path, func) \
  g_test_add ("/server/relay-queue/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

  ADD ("delivered", test_delivered);
  ADD ("events-in-order", test_events_in_order);
  ADD ("one-entry-per-domain", test_one_entry_per_domain);
  ADD ("concurrency-capped", test_concurrency_capped);
  ADD ("enqueue-invalid", test_enqueue_invalid);
  ADD ("deferred-then-flush", test_deferred_then_flush);
  ADD ("bounce-5xx-local", test_bounce_5xx_local);
  ADD ("bounce-remote-sender", test_bounce_remote_sender);
  ADD ("bounce-api", test_bounce_api);
  ADD ("no-route", test_no_route);
  ADD ("retries-exhausted", test_retries_exhausted);
  ADD ("null-sender-not-bounced", test_null_sender_not_bounced);
  ADD ("restart-resumes", test_restart_resumes);
  ADD ("free-in-flight", test_free_in_flight);
  ADD ("incomplete-entry-removed", test_incomplete_entry_removed);

#undef ADD

  return g_test_run ();
}
