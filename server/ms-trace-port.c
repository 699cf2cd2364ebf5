/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-trace-port"

#include "config.h"

#include <string.h>

#include "ms-conn.h"
#include "ms-trace-port.h"

/* The longest session id and breakpoint verb a command may name: ids are
 * "smtp-12345", verbs "AUTHENTICATE"; anything longer is not one. */
#define MAX_SESSION_ID 64

struct _MsTracePort {
  MsWorld *world;             /* borrowed */
  MsTraceBus *bus;            /* borrowed */
  GSocketService *service;
  guint16 port;
  char *token;                /* NULL when none is needed */
  /* Every connected viewer, before and after HELLO (MsTraceViewer *, not
   * owned: a viewer is freed by its `closed` callback). */
  GPtrArray *viewers;
};

typedef struct {
  MsTracePort *port;          /* borrowed; NULL once the port is freed */
  MsConn *conn;
  guint subscription;         /* the bus subscription; 0 before HELLO */
  gsize snapshot_bytes;       /* snapshot bytes queued that may still be waiting */
} MsTraceViewer;

G_DEFINE_QUARK (ms-trace-port-error-quark, ms_trace_port_error)

/* ---- output ---- */

/* Queues one line (a JSON object and "\n") unless the viewer already has
 * more than MS_TRACE_PORT_MAX_OUTPUT bytes of events waiting: a viewer that
 * does not read is closed, so that neither the server blocks nor its memory
 * grows (docs/trace-format.md, "Limits"). Snapshots do not count against
 * that bound, up to MS_TRACE_PORT_MAX_SNAPSHOT_OUTPUT of them: a big store's
 * is larger than the bound all by itself, and every viewer gets one when
 * another attaches. */
static void
viewer_send (MsTraceViewer *viewer,
             const char *json,
             gboolean snapshot)
{
  gsize len = strlen (json);
  gsize pending;
  g_autofree char *line = NULL;

  if (ms_conn_is_closed (viewer->conn))
    return;
  pending = ms_conn_get_pending_output (viewer->conn);
  /* What was queued has gone out from the front: the snapshots first. */
  viewer->snapshot_bytes = MIN (viewer->snapshot_bytes, pending);
  if (len + 1 > MS_TRACE_PORT_MAX_EVENT_LINE
      || (snapshot && viewer->snapshot_bytes + len + 1 > MS_TRACE_PORT_MAX_SNAPSHOT_OUTPUT)
      || (!snapshot && pending - viewer->snapshot_bytes + len + 1 > MS_TRACE_PORT_MAX_OUTPUT))
    {
      g_message ("trace port: viewer %s does not read (over %d bytes waiting); disconnected",
                 ms_conn_get_peer (viewer->conn), MS_TRACE_PORT_MAX_OUTPUT);
      ms_conn_close (viewer->conn);
      return;
    }
  if (snapshot)
    viewer->snapshot_bytes += len + 1;
  line = g_strconcat (json, "\n", NULL);
  ms_conn_write (viewer->conn, line, len + 1);
}

/* A port line: not a trace event (no `seq`, no `server`), told apart by its
 * `kind`, which no trace event uses. */
static void
viewer_send_port_line (MsTraceViewer *viewer,
                       const char *kind,
                       gboolean ok,
                       const char *text,
                       MsWorld *servers_of)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *json = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "v");
  json_builder_add_int_value (builder, MS_TRACE_FORMAT_VERSION);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, kind);
  json_builder_set_member_name (builder, "ok");
  json_builder_add_boolean_value (builder, ok);
  json_builder_set_member_name (builder, "text");
  json_builder_add_string_value (builder, text);
  if (servers_of != NULL)
    {
      GPtrArray *servers = ms_world_get_servers (servers_of);

      json_builder_set_member_name (builder, "servers");
      json_builder_begin_array (builder);
      for (guint i = 0; i < servers->len; i++)
        json_builder_add_string_value (builder, ms_server_get_domain (servers->pdata[i]));
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json = json_to_string (root, FALSE);
  viewer_send (viewer, json, FALSE);
}

static void
viewer_reply (MsTraceViewer *viewer,
              gboolean ok,
              const char *text)
{
  viewer_send_port_line (viewer, "port-reply", ok, text, NULL);
}

/* Before HELLO nothing but HELLO is taken: the error is said, then the
 * connection closes once it is sent. */
static void
viewer_refuse (MsTraceViewer *viewer,
               const char *text)
{
  viewer_reply (viewer, FALSE, text);
  ms_conn_close_after_flush (viewer->conn);
}

static void
event_cb (const MsEvent *event,
          gpointer user_data)
{
  MsTraceViewer *viewer = user_data;
  g_autofree char *json = NULL;

  if (ms_conn_is_closed (viewer->conn))
    return;
  json = ms_event_to_json (event);
  viewer_send (viewer, json, event->kind == MS_EVENT_SNAPSHOT);
}

/* ---- commands ---- */

static gboolean
is_session_id (const char *text)
{
  gsize len = strlen (text);

  if (len == 0 || len > MAX_SESSION_ID)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '-' && text[i] != '_' && text[i] != '.')
      return FALSE;
  return TRUE;
}

/* "*" means every session, including those that open later; NULL to the
 * step API. FALSE when `text` is neither "*" nor a session id. */
static gboolean
parse_target (const char *text,
              const char **session_r)
{
  if (strcmp (text, "*") == 0)
    {
      *session_r = NULL;
      return TRUE;
    }
  *session_r = text;
  return is_session_id (text);
}

static char *
target_text (const char *session)
{
  return session == NULL ? g_strdup ("every session")
                         : g_strdup_printf ("session %s", session);
}

typedef gboolean (*MsPortCommandFunc) (MsTracePort *port, char **args, char **text_r);

/* Session ids are unique in the process (they come from the one trace bus),
 * so a command about one session is given to every server: the server that
 * does not have it does nothing. */

/* STEPMODE OFF and CONTINUE are the same: ms_server_set_step_mode() off
 * releases what waits, as ms_server_continue() does. */
static gboolean
apply_step_mode (MsTracePort *port,
                 const char *target,
                 gboolean on,
                 char **text_r)
{
  GPtrArray *servers = ms_world_get_servers (port->world);
  g_autofree char *what = NULL;
  const char *session;

  if (!parse_target (target, &session))
    {
      *text_r = g_strdup ("not a session id or \"*\"");
      return FALSE;
    }
  for (guint i = 0; i < servers->len; i++)
    ms_server_set_step_mode (servers->pdata[i], session, on);
  what = target_text (session);
  *text_r = g_strdup_printf (on ? "step mode on for %s"
                                : "step mode off for %s; what waited is released", what);
  return TRUE;
}

static gboolean
cmd_stepmode (MsTracePort *port,
              char **args,
              char **text_r)
{
  if (g_ascii_strcasecmp (args[0], "ON") == 0)
    return apply_step_mode (port, args[1], TRUE, text_r);
  if (g_ascii_strcasecmp (args[0], "OFF") == 0)
    return apply_step_mode (port, args[1], FALSE, text_r);
  *text_r = g_strdup ("usage: STEPMODE ON|OFF <session|*>");
  return FALSE;
}

static gboolean
cmd_step (MsTracePort *port,
          char **args,
          char **text_r)
{
  GPtrArray *servers = ms_world_get_servers (port->world);

  if (!is_session_id (args[0]))
    {
      *text_r = g_strdup ("not a session id");
      return FALSE;
    }
  for (guint i = 0; i < servers->len; i++)
    if (ms_server_step (servers->pdata[i], args[0]))
      {
        *text_r = g_strdup_printf ("released the pending command of %s", args[0]);
        return TRUE;
      }
  *text_r = g_strdup_printf ("no command of %s is waiting", args[0]);
  return FALSE;
}

static gboolean
cmd_continue (MsTracePort *port,
              char **args,
              char **text_r)
{
  return apply_step_mode (port, args[0], FALSE, text_r);
}

static gboolean
cmd_break (MsTracePort *port,
           char **args,
           char **text_r)
{
  GPtrArray *servers = ms_world_get_servers (port->world);
  g_autofree char *verb = g_ascii_strup (args[0], -1);
  gboolean ok = TRUE;

  if (g_ascii_strcasecmp (args[0], "REPLY") == 0)
    {
      *text_r = g_strdup ("usage: BREAK REPLY <code>");
      return FALSE;
    }
  /* Every server takes the same verbs: the first to refuse one refuses it
   * before anything is added. */
  for (guint i = 0; ok && i < servers->len; i++)
    ok = ms_server_add_breakpoint (servers->pdata[i], args[0]);
  if (!ok)
    {
      *text_r = g_strdup ("a breakpoint is a command verb: letters only, like RCPT");
      return FALSE;
    }
  *text_r = g_strdup_printf ("breakpoint on %s", verb);
  return TRUE;
}

/* BREAK REPLY <code>: "550", "5xx", "-ERR", "NO", "BAD" (see
 * ms_server_add_reply_breakpoint()). Every server takes the same codes, so
 * the first one's answer is every one's. */
static gboolean
cmd_break_reply (MsTracePort *port,
                 char **args,
                 char **text_r)
{
  GPtrArray *servers = ms_world_get_servers (port->world);
  gboolean ok = TRUE;

  if (g_ascii_strcasecmp (args[0], "REPLY") != 0)
    {
      *text_r = g_strdup ("usage: BREAK <verb> or BREAK REPLY <code>");
      return FALSE;
    }
  for (guint i = 0; ok && i < servers->len; i++)
    ok = ms_server_add_reply_breakpoint (servers->pdata[i], args[1]);
  if (!ok)
    {
      *text_r = g_strdup ("a reply breakpoint is an SMTP code or class (550, 5xx), -ERR, NO "
                          "or BAD");
      return FALSE;
    }
  *text_r = g_strdup_printf ("breakpoint on reply %s", args[1]);
  return TRUE;
}

static gboolean
cmd_clear (MsTracePort *port,
           char **args,
           char **text_r)
{
  GPtrArray *servers = ms_world_get_servers (port->world);

  for (guint i = 0; i < servers->len; i++)
    ms_server_clear_breakpoints (servers->pdata[i]);
  *text_r = g_strdup ("breakpoints cleared");
  return TRUE;
}

static const struct {
  const char *verb;
  guint n_args;
  MsPortCommandFunc func;
  const char *usage;
} commands[] = {
  { "STEPMODE", 2, cmd_stepmode, "STEPMODE ON|OFF <session|*>" },
  { "STEP", 1, cmd_step, "STEP <session>" },
  { "CONTINUE", 1, cmd_continue, "CONTINUE <session|*>" },
  { "BREAK", 1, cmd_break, "BREAK <verb> or BREAK REPLY <code>" },
  { "BREAK", 2, cmd_break_reply, "BREAK <verb> or BREAK REPLY <code>" },
  { "CLEAR", 0, cmd_clear, "CLEAR" },
};

/* Compares without an early exit, so that the time taken does not tell how
 * much of a guess was right. */
static gboolean
token_equal (const char *expected,
             const char *given)
{
  gsize len = strlen (expected);
  gsize given_len = strlen (given);
  guint diff = given_len != len;

  for (gsize i = 0; i < len; i++)
    diff |= (guchar) expected[i] ^ (guchar) (i < given_len ? given[i] : '\0');
  return diff == 0;
}

static void
viewer_hello (MsTraceViewer *viewer,
              char **args,
              guint n_args)
{
  MsTracePort *port = viewer->port;
  GPtrArray *servers = ms_world_get_servers (port->world);

  if (n_args > 1)
    {
      viewer_refuse (viewer, "usage: HELLO [token]");
      return;
    }
  if (port->token != NULL && (n_args == 0 || !token_equal (port->token, args[0])))
    {
      g_message ("trace port: viewer %s refused: %s", ms_conn_get_peer (viewer->conn),
                 n_args == 0 ? "no token" : "wrong token");
      viewer_refuse (viewer, n_args == 0 ? "this port needs a token: HELLO <token>"
                                         : "wrong token");
      return;
    }

  viewer_send_port_line (viewer, "port-hello", TRUE, "Mailscope trace port", port->world);
  viewer->subscription = ms_trace_bus_subscribe (port->bus, event_cb, viewer, NULL);
  /* A viewer that attaches late needs the mailboxes as they are now
   * (docs/trace-format.md, `snapshot`). They go through the bus, so every
   * subscriber gets them; a later snapshot replaces what a reader knows of
   * that server, so the others lose nothing. */
  for (guint i = 0; i < servers->len; i++)
    ms_server_emit_snapshot (servers->pdata[i]);
  g_message ("trace port: viewer %s attached", ms_conn_get_peer (viewer->conn));
}

static void
viewer_line_cb (MsConn *conn,
                const char *line,
                gsize len,
                MsLineFlags flags,
                gpointer user_data)
{
  MsTraceViewer *viewer = user_data;
  g_auto(GStrv) words = NULL;
  g_autofree char *text = NULL;
  const char *usage = NULL;
  guint n = 0;

  if (viewer->port == NULL)
    return;
  if ((flags & MS_LINE_FLAG_TOO_LONG) || memchr (line, '\0', len) != NULL)
    {
      if (viewer->subscription == 0)
        viewer_refuse (viewer, "line too long or with a NUL byte");
      else
        viewer_reply (viewer, FALSE, "line too long or with a NUL byte");
      return;
    }

  /* Words are separated by spaces; runs of them count as one. The line is
   * at most MS_TRACE_PORT_MAX_LINE bytes, so the split is bounded. */
  words = g_strsplit (line, " ", -1);
  for (guint i = 0; words[i] != NULL; i++)
    {
      if (words[i][0] == '\0')
        g_free (words[i]);
      else
        words[n++] = words[i];
    }
  words[n] = NULL;

  if (n > 0 && g_ascii_strcasecmp (words[0], "HELLO") == 0)
    {
      if (viewer->subscription != 0)
        viewer_reply (viewer, FALSE, "HELLO was already said");
      else
        viewer_hello (viewer, words + 1, n - 1);
      return;
    }
  if (viewer->subscription == 0)
    {
      viewer_refuse (viewer, "say HELLO first");
      return;
    }
  if (n == 0)
    {
      viewer_reply (viewer, FALSE, "empty line");
      return;
    }

  /* A verb may have one entry per number of arguments (BREAK). */
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      gboolean ok;

      if (g_ascii_strcasecmp (words[0], commands[i].verb) != 0)
        continue;
      usage = commands[i].usage;
      if (n - 1 != commands[i].n_args)
        continue;
      ok = commands[i].func (viewer->port, words + 1, &text);
      viewer_reply (viewer, ok, text);
      return;
    }
  if (usage != NULL)
    {
      text = g_strdup_printf ("usage: %s", usage);
      viewer_reply (viewer, FALSE, text);
      return;
    }
  viewer_reply (viewer, FALSE,
                "unknown command; try STEPMODE, STEP, CONTINUE, BREAK or CLEAR");
}

static void
viewer_closed_cb (MsConn *conn,
                  const char *reason,
                  gpointer user_data)
{
  MsTraceViewer *viewer = user_data;

  if (viewer->port != NULL)
    {
      if (viewer->subscription != 0)
        ms_trace_bus_unsubscribe (viewer->port->bus, viewer->subscription);
      g_ptr_array_remove_fast (viewer->port->viewers, viewer);
      g_message ("trace port: viewer %s left: %s", ms_conn_get_peer (conn), reason);
    }
  ms_conn_unref (viewer->conn);
  g_free (viewer);
}

static const MsConnCallbacks viewer_callbacks = {
  .line = viewer_line_cb,
  .closed = viewer_closed_cb,
};

static gboolean
incoming_cb (GSocketService *service,
             GSocketConnection *connection,
             GObject *source_object,
             gpointer user_data)
{
  MsTracePort *port = user_data;
  MsConnLimits limits = {
    .max_line = MS_TRACE_PORT_MAX_LINE,
    .max_output = MS_TRACE_PORT_MAX_OUTPUT,
  };
  MsTraceViewer *viewer = g_new0 (MsTraceViewer, 1);

  viewer->port = port;
  viewer->conn = ms_conn_new (connection, &limits, &viewer_callbacks, viewer);
  g_ptr_array_add (port->viewers, viewer);
  ms_conn_start (viewer->conn);
  if (port->viewers->len > MS_TRACE_PORT_MAX_VIEWERS)
    viewer_refuse (viewer, "too many viewers");
  return TRUE;
}

/* ---- public API ---- */

static gboolean
check_token (const char *token,
             GError **error)
{
  gsize len = strlen (token);

  if (len > MS_TRACE_PORT_MAX_TOKEN)
    {
      g_set_error (error, MS_TRACE_PORT_ERROR, MS_TRACE_PORT_ERROR_CONFIG,
                   "the trace token is longer than %d bytes", MS_TRACE_PORT_MAX_TOKEN);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isgraph (token[i]))
      {
        g_set_error_literal (error, MS_TRACE_PORT_ERROR, MS_TRACE_PORT_ERROR_CONFIG,
                             "the trace token must be printable ASCII without spaces");
        return FALSE;
      }
  return TRUE;
}

MsTracePort *
ms_trace_port_new (MsWorld *world,
                   MsTraceBus *bus,
                   const char *address,
                   guint16 port,
                   const char *token,
                   GError **error)
{
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  MsTracePort *self;

  g_return_val_if_fail (world != NULL && bus != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (address == NULL)
    address = "127.0.0.1";
  if (token != NULL && *token == '\0')
    token = NULL;
  inet = g_inet_address_new_from_string (address);
  if (inet == NULL)
    {
      g_set_error (error, MS_TRACE_PORT_ERROR, MS_TRACE_PORT_ERROR_CONFIG,
                   "the trace port needs an IP address, not \"%s\"", address);
      return NULL;
    }
  /* Anybody who reaches the port sees every command and reply (and can
   * hold sessions in step mode): beyond this machine, a token is needed. */
  if (!g_inet_address_get_is_loopback (inet) && token == NULL)
    {
      g_set_error (error, MS_TRACE_PORT_ERROR, MS_TRACE_PORT_ERROR_CONFIG,
                   "the trace port on %s, which is not a loopback address, needs a token "
                   "(--trace-token)", address);
      return NULL;
    }
  if (token != NULL && !check_token (token, error))
    return NULL;

  self = g_new0 (MsTracePort, 1);
  self->world = world;
  self->bus = bus;
  self->token = g_strdup (token);
  self->viewers = g_ptr_array_new ();
  self->service = g_socket_service_new ();
  socket_address = g_inet_socket_address_new (inet, port);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), socket_address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      &effective, error))
    {
      g_prefix_error (error, "cannot listen on trace port %s:%u: ", address, port);
      ms_trace_port_free (self);
      return NULL;
    }
  self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (self->service, "incoming", G_CALLBACK (incoming_cb), self);
  g_socket_service_start (self->service);
  return self;
}

guint16
ms_trace_port_get_port (MsTracePort *port)
{
  g_return_val_if_fail (port != NULL, 0);
  return port->port;
}

guint
ms_trace_port_get_viewer_count (MsTracePort *port)
{
  guint count = 0;

  g_return_val_if_fail (port != NULL, 0);
  for (guint i = 0; i < port->viewers->len; i++)
    if (((MsTraceViewer *) port->viewers->pdata[i])->subscription != 0)
      count++;
  return count;
}

void
ms_trace_port_free (MsTracePort *port)
{
  if (port == NULL)
    return;

  if (port->service != NULL)
    {
      g_socket_service_stop (port->service);
      g_socket_listener_close (G_SOCKET_LISTENER (port->service));
      g_signal_handlers_disconnect_by_data (port->service, port);
      g_clear_object (&port->service);
    }
  /* Each viewer is freed by its `closed` callback, which MsConn calls from
   * an idle source: it must no longer reach the port. */
  for (guint i = 0; i < port->viewers->len; i++)
    {
      MsTraceViewer *viewer = port->viewers->pdata[i];

      if (viewer->subscription != 0)
        ms_trace_bus_unsubscribe (port->bus, viewer->subscription);
      viewer->port = NULL;
      ms_conn_close (viewer->conn);
    }
  g_ptr_array_unref (port->viewers);
  g_free (port->token);
  g_free (port);
}
