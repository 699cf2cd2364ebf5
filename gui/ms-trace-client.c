/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "ms-conn.h"
#include "ms-trace-client.h"

/* The port's own limits (server/ms-trace-port.c), checked here so that a
 * bad argument is refused before it is sent: a session id is "smtp-12345",
 * a verb "AUTHENTICATE", a token printable ASCII. */
#define MAX_SESSION_ID 64
#define MAX_TOKEN 256
#define SESSION_ID_CHARS \
  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_."
/* How much of a stranger's first line an error message quotes. */
#define MAX_QUOTE 60

/* What the MsConn's callbacks reach the client through. The connection
 * calls `closed` from an idle callback, possibly after the client is gone:
 * dispose() clears `client`, and `closed` frees the link. */
typedef struct {
  MsTraceClient *client;      /* borrowed; NULL once the client is disposed */
  MsConn *conn;               /* owned; dropped by the closed callback */
} Link;

struct _MsTraceClient
{
  GObject parent_instance;

  char *host_port;
  char *token;                /* NULL for none; wiped when freed */
  MsTraceBus *bus;            /* owned */

  /* Connecting: from connect_async() to the port's hello. */
  GTask *connect_task;
  gboolean connect_started;
  GCancellable *connect_cancellable;  /* ours: the caller's or the timeout cancels it */
  GCancellable *caller_cancellable;
  gulong cancelled_id;
  GSource *timeout;
  gboolean timed_out;
  gboolean cancelled;         /* by the caller's cancellable or disconnect() */

  Link *link;                 /* NULL when there is no connection */
  MsConn *conn;               /* borrowed from `link` */
  char *close_reason;         /* set when we close it ourselves */
  gboolean attached;
  GStrv servers;

  /* Stepper commands: the port answers each with one port-reply, in
   * order, so one is outstanding at a time and the rest wait here. */
  GQueue commands;            /* char *, lines without CRLF */
  gboolean awaiting_reply;
};

enum {
  SIGNAL_DISCONNECTED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void ms_trace_client_stepper_init (MsStepperInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MsTraceClient, ms_trace_client, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MS_TYPE_STEPPER,
                                                      ms_trace_client_stepper_init))

G_DEFINE_QUARK (ms-trace-client-error-quark, ms_trace_client_error)

/* ---- the connection ---- */

static void
close_conn (MsTraceClient *self,
            const char *reason)
{
  if (self->conn == NULL)
    return;
  if (reason != NULL && self->close_reason == NULL)
    self->close_reason = g_strdup (reason);
  ms_conn_close (self->conn);
}

static void
stop_connect_watch (MsTraceClient *self)
{
  if (self->timeout != NULL)
    {
      g_source_destroy (self->timeout);
      g_clear_pointer (&self->timeout, g_source_unref);
    }
  /* Never called from cancelled_cb(): disconnecting there would deadlock. */
  if (self->cancelled_id != 0)
    g_cancellable_disconnect (self->caller_cancellable, self->cancelled_id);
  self->cancelled_id = 0;
  g_clear_object (&self->caller_cancellable);
}

/* Ends the connect with `error` (taken). A connection that is open is
 * closed; its closed callback then finds neither a task nor an attached
 * stream and says nothing more. */
static void
connect_fail (MsTraceClient *self,
              GError *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

  g_assert (task != NULL);
  stop_connect_watch (self);
  close_conn (self, NULL);
  g_task_return_error (task, error);
}

/* The error for a connect that ended without an answer of its own. */
static GError *
connect_interrupted_error (MsTraceClient *self,
                           const char *why)
{
  if (self->cancelled)
    return g_error_new (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                        "attaching to %s was cancelled", self->host_port);
  if (self->timed_out)
    return g_error_new (MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_TIMEOUT,
                        "the trace port at %s did not answer within %d s",
                        self->host_port, MS_TRACE_CLIENT_TIMEOUT_S);
  return g_error_new (MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_CLOSED,
                      "%s closed the connection before the trace port's hello (%s)",
                      self->host_port, why);
}

/* A stranger's line, fit for an error message: valid UTF-8, no control
 * characters, at most MAX_QUOTE characters. */
static char *
quote_line (const char *line,
            gsize len)
{
  g_autofree char *valid = g_utf8_make_valid (line, len);
  GString *out = g_string_new (NULL);
  guint n = 0;

  for (const char *p = valid; *p != '\0' && n < MAX_QUOTE; p = g_utf8_next_char (p), n++)
    {
      gunichar c = g_utf8_get_char (p);

      g_string_append_unichar (out, g_unichar_iscntrl (c) ? '?' : c);
    }
  if (g_utf8_strlen (valid, -1) > MAX_QUOTE)
    g_string_append (out, "…");
  return g_string_free (out, FALSE);
}

/* Parses a port line (port-hello, port-reply, or an event of a kind this
 * build does not know). NULL when it is not one JSON object. */
static JsonObject *
parse_object (JsonParser *parser,
              const char *line,
              gsize len,
              GError **error)
{
  JsonNode *root;

  if (!json_parser_load_from_data (parser, line, len, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "a line must be one JSON object");
      return NULL;
    }
  return json_node_get_object (root);
}

/* Members of a port line, read without trusting their types: the default
 * when the member is missing or holds another type. */
static JsonNode *
member_value (JsonObject *object,
              const char *name,
              GType type)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != type)
    return NULL;
  return node;
}

static const char *
member_string (JsonObject *object,
               const char *name,
               const char *default_value)
{
  JsonNode *node = member_value (object, name, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : default_value;
}

static gboolean
member_bool (JsonObject *object,
             const char *name,
             gboolean default_value)
{
  JsonNode *node = member_value (object, name, G_TYPE_BOOLEAN);

  return node != NULL ? json_node_get_boolean (node) : default_value;
}

static gint64
member_int (JsonObject *object,
            const char *name)
{
  JsonNode *node = member_value (object, name, G_TYPE_INT64);

  return node != NULL ? json_node_get_int (node) : 0;
}

static void send_next_command (MsTraceClient *self);

static void
take_servers (MsTraceClient *self,
              JsonObject *hello)
{
  GPtrArray *names = g_ptr_array_new ();
  JsonNode *node = json_object_get_member (hello, "servers");

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (JSON_NODE_HOLDS_VALUE (element)
              && json_node_get_value_type (element) == G_TYPE_STRING)
            g_ptr_array_add (names, g_strdup (json_node_get_string (element)));
        }
    }
  g_ptr_array_add (names, NULL);
  g_strfreev (self->servers);
  self->servers = (GStrv) g_ptr_array_free (names, FALSE);
}

/* The first line decides (docs/trace-format.md, "Handshake"): the port's
 * hello, its refusal (a port-reply with ok false: a wrong or missing
 * token, too many viewers), or anything else, which means we reached some
 * other program. */
static void
handle_hello (MsTraceClient *self,
              const char *line,
              gsize len)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonObject *object = parse_object (parser, line, len, NULL);
  const char *kind = NULL;
  g_autoptr(GTask) task = NULL;

  if (object != NULL)
    kind = member_string (object, "kind", NULL);

  if (g_strcmp0 (kind, "port-reply") == 0
      && !member_bool (object, "ok", TRUE))
    {
      connect_fail (self, g_error_new (MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_REFUSED,
                                       "the trace port at %s refused: %s", self->host_port,
                                       member_string (object, "text",
                                                     "no reason given")));
      return;
    }
  if (g_strcmp0 (kind, "port-hello") != 0
      || !member_bool (object, "ok", FALSE))
    {
      g_autofree char *quoted = quote_line (line, len);

      connect_fail (self, g_error_new (MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_NOT_A_PORT,
                                       "%s is not a Mailscope trace port: it said \"%s\"",
                                       self->host_port, quoted));
      return;
    }
  if (member_int (object, "v") != MS_TRACE_FORMAT_VERSION)
    {
      connect_fail (self, g_error_new (MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_NOT_A_PORT,
                                       "the trace port at %s speaks trace format version %"
                                       G_GINT64_FORMAT "; this build reads %d",
                                       self->host_port,
                                       member_int (object, "v"),
                                       MS_TRACE_FORMAT_VERSION));
      return;
    }

  take_servers (self, object);
  task = g_steal_pointer (&self->connect_task);
  stop_connect_watch (self);
  self->attached = TRUE;
  /* From here a line may be a snapshot of every mailbox. */
  ms_conn_set_max_line (self->conn, MS_TRACE_CLIENT_MAX_LINE);
  send_next_command (self);
  g_debug ("attached to the trace port at %s", self->host_port);
  /* Last: the callback may drop the client. */
  g_task_return_boolean (task, TRUE);
}

static void
handle_port_reply (MsTraceClient *self,
                   JsonObject *reply)
{
  gboolean ok = member_bool (reply, "ok", FALSE);
  const char *text = member_string (reply, "text", "");

  self->awaiting_reply = FALSE;
  send_next_command (self);
  /* Last: a handler may drop the client. */
  if (!ok)
    g_signal_emit_by_name (self, "refused", text);
}

/* A line that is not an event of a kind this build knows: a port-reply, an
 * event of a newer kind (skipped, as docs/trace-format.md asks of every
 * reader), or a bad stream, which ends the connection. */
static void
handle_other_line (MsTraceClient *self,
                   const char *line,
                   gsize len,
                   const GError *event_error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  JsonObject *object = parse_object (parser, line, len, &error);
  const char *kind;
  MsEventKind known;
  g_autofree char *reason = NULL;

  if (object == NULL)
    {
      reason = g_strdup_printf ("the trace port at %s sent a line that is not JSON (%s); "
                                "disconnected", self->host_port, error->message);
      close_conn (self, reason);
      return;
    }
  kind = member_string (object, "kind", NULL);
  if (g_strcmp0 (kind, "port-reply") == 0)
    {
      handle_port_reply (self, object);
      return;
    }
  if (kind != NULL && !ms_event_kind_from_string (kind, &known)
      && !g_error_matches (event_error, MS_EVENT_ERROR, MS_EVENT_ERROR_VERSION))
    {
      g_debug ("trace port %s: skipped an event of kind \"%s\"", self->host_port, kind);
      return;
    }
  reason = g_strdup_printf ("the trace port at %s sent a bad event (%s); disconnected",
                            self->host_port, event_error->message);
  close_conn (self, reason);
}

static void
deliver_line (MsTraceClient *self,
              const char *line,
              gsize len)
{
  g_autoptr(GError) error = NULL;
  MsEvent *event = ms_event_from_json (line, len, &error);

  if (event != NULL)
    {
      /* The bus is held for the call: a subscriber may drop the client. */
      g_autoptr(MsTraceBus) bus = ms_trace_bus_ref (self->bus);

      /* As the servers numbered it: seq, time and server stay. */
      ms_trace_bus_deliver (bus, event);
      return;
    }
  handle_other_line (self, line, len, error);
}

static void
conn_line_cb (MsConn *conn,
              const char *line,
              gsize len,
              MsLineFlags flags,
              gpointer user_data)
{
  Link *link = user_data;
  MsTraceClient *self = link->client;

  if (self == NULL || ms_conn_is_closed (conn))
    return;

  if (flags & MS_LINE_FLAG_TOO_LONG)
    {
      g_autofree char *reason = NULL;

      if (!self->attached)
        {
          connect_fail (self, g_error_new (MS_TRACE_CLIENT_ERROR,
                                           MS_TRACE_CLIENT_ERROR_NOT_A_PORT,
                                           "%s is not a Mailscope trace port: its first line is "
                                           "over %u bytes", self->host_port,
                                           MS_TRACE_CLIENT_MAX_HELLO_LINE));
          return;
        }
      reason = g_strdup_printf ("the trace port at %s sent a line over %u MiB; disconnected",
                                self->host_port, MS_TRACE_CLIENT_MAX_LINE / (1024 * 1024));
      close_conn (self, reason);
      return;
    }
  if (len == 0)
    return;
  if (!self->attached)
    handle_hello (self, line, len);
  else
    deliver_line (self, line, len);
}

static void
conn_closed_cb (MsConn *conn,
                const char *reason,
                gpointer user_data)
{
  Link *link = user_data;
  MsTraceClient *self = link->client;
  gboolean was_attached;
  g_autofree char *text = NULL;

  ms_conn_unref (link->conn);
  g_free (link);
  if (self == NULL)
    return;

  self->link = NULL;
  self->conn = NULL;
  was_attached = self->attached;
  self->attached = FALSE;
  self->awaiting_reply = FALSE;
  g_queue_clear_full (&self->commands, g_free);

  if (self->connect_task != NULL)
    {
      connect_fail (self, connect_interrupted_error (self, reason));
      return;
    }
  if (!was_attached)
    return;
  text = self->close_reason != NULL
         ? g_strdup (self->close_reason)
         : g_strdup_printf ("the trace port at %s closed the connection (%s)",
                            self->host_port, reason);
  g_message ("%s", text);
  g_signal_emit (self, signals[SIGNAL_DISCONNECTED], 0, text);
}

static const MsConnCallbacks conn_callbacks = {
  .line = conn_line_cb,
  .closed = conn_closed_cb,
};

static void
start_conn (MsTraceClient *self,
            GSocketConnection *connection)
{
  MsConnLimits limits = { .max_line = MS_TRACE_CLIENT_MAX_HELLO_LINE };
  g_autofree char *hello = NULL;

  self->link = g_new0 (Link, 1);
  self->link->client = self;
  self->link->conn = ms_conn_new (connection, &limits, &conn_callbacks, self->link);
  self->conn = self->link->conn;
  /* The viewer speaks first (docs/trace-format.md, "Handshake"). */
  hello = self->token != NULL ? g_strconcat ("HELLO ", self->token, NULL) : g_strdup ("HELLO");
  ms_conn_write_line (self->conn, hello);
  OPENSSL_cleanse (hello, strlen (hello));
  ms_conn_start (self->conn);
}

static void
connected_cb (GObject *source,
              GAsyncResult *result,
              gpointer user_data)
{
  g_autoptr(MsTraceClient) self = user_data;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;

  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (self->cancelled || self->timed_out)
    connect_fail (self, connect_interrupted_error (self, NULL));
  else if (connection == NULL)
    connect_fail (self, g_error_new (MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_CONNECT,
                                     "cannot attach to the trace port at %s: %s",
                                     self->host_port, error->message));
  else
    start_conn (self, connection);
}

static gboolean
timeout_cb (gpointer user_data)
{
  MsTraceClient *self = user_data;

  self->timed_out = TRUE;
  if (self->conn == NULL)
    {
      /* connected_cb() reports it. */
      g_cancellable_cancel (self->connect_cancellable);
      return G_SOURCE_REMOVE;
    }
  connect_fail (self, connect_interrupted_error (self, NULL));
  return G_SOURCE_REMOVE;
}

/* Runs where the caller cancels; the connect ends later, from connected_cb()
 * or conn_closed_cb(), never from here. */
static void
cancelled_cb (GCancellable *cancellable,
              gpointer user_data)
{
  MsTraceClient *self = user_data;

  self->cancelled = TRUE;
  if (self->conn != NULL)
    ms_conn_close (self->conn);
  else
    g_cancellable_cancel (self->connect_cancellable);
}

static gboolean
check_token (const char *token,
             GError **error)
{
  gsize len = strlen (token);
  gboolean printable = TRUE;

  for (gsize i = 0; i < len; i++)
    printable &= g_ascii_isgraph (token[i]);
  if (!printable || len > MAX_TOKEN)
    {
      /* A space or a line end would let the token say more than HELLO. */
      g_set_error (error, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_INVALID,
                   "a trace token is printable ASCII without spaces, at most %d bytes",
                   MAX_TOKEN);
      return FALSE;
    }
  return TRUE;
}

void
ms_trace_client_connect_async (MsTraceClient *self,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocketConnectable) address = NULL;
  g_autoptr(GSocketClient) socket_client = NULL;
  g_autoptr(GError) error = NULL;

  g_return_if_fail (MS_IS_TRACE_CLIENT (self));
  g_return_if_fail (!self->connect_started);

  self->connect_started = TRUE;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, ms_trace_client_connect_async);
  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->token != NULL && !check_token (self->token, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  address = g_network_address_parse (self->host_port, 0, NULL);
  if (address == NULL || g_network_address_get_port (G_NETWORK_ADDRESS (address)) == 0)
    {
      g_task_return_new_error (task, MS_TRACE_CLIENT_ERROR, MS_TRACE_CLIENT_ERROR_INVALID,
                               "\"%s\" is not HOST:PORT (like 127.0.0.1:7000 or [::1]:7000)",
                               self->host_port);
      return;
    }

  self->connect_task = g_steal_pointer (&task);
  self->connect_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    {
      self->caller_cancellable = g_object_ref (cancellable);
      self->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb),
                                                  self, NULL);
    }
  /* One deadline for connecting and the handshake: a port that accepts
   * and never answers must not hang the window. */
  self->timeout = g_timeout_source_new_seconds (MS_TRACE_CLIENT_TIMEOUT_S);
  g_source_set_callback (self->timeout, timeout_cb, self, NULL);
  g_source_set_name (self->timeout, "[mailscope] trace client timeout");
  g_source_attach (self->timeout, g_main_context_get_thread_default ());

  socket_client = g_socket_client_new ();
  g_socket_client_connect_async (socket_client, address, self->connect_cancellable,
                                 connected_cb, g_object_ref (self));
}

gboolean
ms_trace_client_connect_finish (MsTraceClient *self,
                                GAsyncResult *result,
                                GError **error)
{
  g_return_val_if_fail (MS_IS_TRACE_CLIENT (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

void
ms_trace_client_disconnect (MsTraceClient *self)
{
  g_autofree char *reason = NULL;

  g_return_if_fail (MS_IS_TRACE_CLIENT (self));

  if (self->connect_task != NULL)
    {
      cancelled_cb (NULL, self);
      return;
    }
  reason = g_strdup_printf ("disconnected from the trace port at %s", self->host_port);
  close_conn (self, reason);
}

gboolean
ms_trace_client_is_attached (MsTraceClient *self)
{
  g_return_val_if_fail (MS_IS_TRACE_CLIENT (self), FALSE);
  return self->attached;
}

const char * const *
ms_trace_client_get_servers (MsTraceClient *self)
{
  g_return_val_if_fail (MS_IS_TRACE_CLIENT (self), NULL);
  return (const char * const *) self->servers;
}

const char *
ms_trace_client_get_address (MsTraceClient *self)
{
  g_return_val_if_fail (MS_IS_TRACE_CLIENT (self), NULL);
  return self->host_port;
}

/* ---- the port's commands (docs/trace-format.md, "Commands and replies") ---- */

static void
refuse (MsTraceClient *self,
        const char *text)
{
  g_signal_emit_by_name (self, "refused", text);
}

static void
send_next_command (MsTraceClient *self)
{
  g_autofree char *line = NULL;

  if (!self->attached || self->awaiting_reply || ms_conn_is_closed (self->conn))
    return;
  line = g_queue_pop_head (&self->commands);
  if (line == NULL)
    return;
  ms_conn_write_line (self->conn, line);
  self->awaiting_reply = TRUE;
}

/* Takes `line`. Commands given while connecting wait for the hello. */
static void
queue_command (MsTraceClient *self,
               char *line)
{
  g_autofree char *owned = line;

  if (self->connect_task == NULL && (!self->attached || ms_conn_is_closed (self->conn)))
    {
      g_autofree char *text = g_strdup_printf ("not attached to a trace port: \"%s\" was not "
                                               "sent", owned);

      refuse (self, text);
      return;
    }
  g_queue_push_tail (&self->commands, g_steal_pointer (&owned));
  send_next_command (self);
}

/* NULL stands for "*", every session; else a session id of the trace. */
static gboolean
check_session (MsTraceClient *self,
               const char *session)
{
  gsize len;
  g_autofree char *text = NULL;

  if (session == NULL)
    return TRUE;
  len = strlen (session);
  if (len > 0 && len <= MAX_SESSION_ID && strspn (session, SESSION_ID_CHARS) == len)
    return TRUE;
  text = g_strdup_printf ("\"%s\" is not a session id", session);
  refuse (self, text);
  return FALSE;
}

/* `server` is not sent with any command: session ids are unique in the
 * remote process (one trace bus numbers them), and the port gives a
 * session's command to every server, of which the one that has the session
 * acts (docs/trace-format.md). A NULL session is "*": every server. */
static void
client_set_step_mode (MsStepper *stepper,
                      const char *server,
                      const char *session,
                      gboolean on)
{
  MsTraceClient *self = MS_TRACE_CLIENT (stepper);

  if (check_session (self, session))
    queue_command (self, g_strdup_printf ("STEPMODE %s %s", on ? "ON" : "OFF",
                                          session != NULL ? session : "*"));
}

static void
client_step (MsStepper *stepper,
             const char *server,
             const char *session)
{
  MsTraceClient *self = MS_TRACE_CLIENT (stepper);

  if (check_session (self, session))
    queue_command (self, g_strdup_printf ("STEP %s", session));
}

static void
client_continue (MsStepper *stepper,
                 const char *server,
                 const char *session)
{
  MsTraceClient *self = MS_TRACE_CLIENT (stepper);

  if (check_session (self, session))
    queue_command (self, g_strdup_printf ("CONTINUE %s", session != NULL ? session : "*"));
}

static gboolean
client_add_breakpoint (MsStepper *stepper,
                       MsBreakpointKind kind,
                       const char *what)
{
  MsTraceClient *self = MS_TRACE_CLIENT (stepper);
  g_autofree char *normal = ms_breakpoint_normalize (kind, what);

  if (normal == NULL)
    return FALSE;
  queue_command (self, g_strdup_printf (kind == MS_BREAKPOINT_REPLY ? "BREAK REPLY %s"
                                                                    : "BREAK %s", normal));
  return TRUE;
}

static void
client_clear_breakpoints (MsStepper *stepper)
{
  queue_command (MS_TRACE_CLIENT (stepper), g_strdup ("CLEAR"));
}

static void
ms_trace_client_stepper_init (MsStepperInterface *iface)
{
  iface->set_step_mode = client_set_step_mode;
  iface->step = client_step;
  iface->continue_all = client_continue;
  iface->add_breakpoint = client_add_breakpoint;
  iface->clear_breakpoints = client_clear_breakpoints;
}


/* ---- object ---- */

static void
ms_trace_client_dispose (GObject *object)
{
  MsTraceClient *self = MS_TRACE_CLIENT (object);

  /* A connect in flight holds a reference (its task's), so none runs here. */
  if (self->link != NULL)
    {
      self->link->client = NULL;
      ms_conn_close (self->conn);
      self->link = NULL;
      self->conn = NULL;
    }
  self->attached = FALSE;
  g_queue_clear_full (&self->commands, g_free);
  G_OBJECT_CLASS (ms_trace_client_parent_class)->dispose (object);
}

static void
ms_trace_client_finalize (GObject *object)
{
  MsTraceClient *self = MS_TRACE_CLIENT (object);

  if (self->token != NULL)
    OPENSSL_cleanse (self->token, strlen (self->token));
  g_free (self->token);
  g_free (self->host_port);
  g_clear_pointer (&self->bus, ms_trace_bus_unref);
  g_clear_object (&self->connect_cancellable);
  g_free (self->close_reason);
  g_strfreev (self->servers);
  G_OBJECT_CLASS (ms_trace_client_parent_class)->finalize (object);
}

static void
ms_trace_client_class_init (MsTraceClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ms_trace_client_dispose;
  object_class->finalize = ms_trace_client_finalize;

  /* The attached stream ended (const char *reason, a sentence for the
   * user); emitted once, never for a connect that failed. */
  signals[SIGNAL_DISCONNECTED] =
    g_signal_new ("disconnected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
ms_trace_client_init (MsTraceClient *self)
{
  g_queue_init (&self->commands);
  self->servers = g_new0 (char *, 1);
}

MsTraceClient *
ms_trace_client_new (const char *host_port,
                     const char *token,
                     MsTraceBus *bus)
{
  MsTraceClient *self;

  g_return_val_if_fail (host_port != NULL, NULL);
  g_return_val_if_fail (bus != NULL, NULL);

  self = g_object_new (MS_TYPE_TRACE_CLIENT, NULL);
  self->host_port = g_strdup (host_port);
  self->token = token != NULL && *token != '\0' ? g_strdup (token) : NULL;
  self->bus = ms_trace_bus_ref (bus);
  return self;
}
