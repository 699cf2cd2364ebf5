/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-server"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "ms-breakpoint.h"
#include "ms-server-private.h"
#include "ms-tls.h"

G_DEFINE_QUARK (ms-server-error-quark, ms_server_error)

static const char * const listener_names[MS_N_LISTENERS] = {
  [MS_LISTENER_SMTP] = "smtp",
  [MS_LISTENER_SUBMISSION] = "submission",
  [MS_LISTENER_SMTPS] = "smtps",
  [MS_LISTENER_POP3] = "pop3",
  [MS_LISTENER_POP3S] = "pop3s",
  [MS_LISTENER_IMAP] = "imap",
  [MS_LISTENER_IMAPS] = "imaps",
};

/* Which protocol each listener speaks, and whether TLS comes first
 * (implicit TLS, RFC 8314 §3.3). */
static const struct {
  const MsProtocolOps *ops;
  gboolean implicit_tls;
} listener_protocols[MS_N_LISTENERS] = {
  [MS_LISTENER_SMTP] = { &_ms_server_smtp_ops, FALSE },
  [MS_LISTENER_SUBMISSION] = { &_ms_server_smtp_ops, FALSE },
  [MS_LISTENER_SMTPS] = { &_ms_server_smtp_ops, TRUE },
  [MS_LISTENER_POP3] = { &_ms_server_pop3_ops, FALSE },
  [MS_LISTENER_POP3S] = { &_ms_server_pop3_ops, TRUE },
  [MS_LISTENER_IMAP] = { &_ms_server_imap_ops, FALSE },
  [MS_LISTENER_IMAPS] = { &_ms_server_imap_ops, TRUE },
};

const char *
ms_listener_kind_to_string (MsListenerKind kind)
{
  g_return_val_if_fail (kind < MS_N_LISTENERS, "unknown");
  return listener_names[kind];
}

/* --- what every protocol's backend shares --- */

gboolean
_ms_server_split_address (const char *address,
                          char **local_r,
                          const char **domain_r)
{
  const char *at = strrchr (address, '@');

  if (at == NULL)
    return FALSE;
  /* User names are lower case in the store; addresses are matched without
   * regard to case, as almost every mail system does (RFC 5321 §2.4 allows it). */
  *local_r = g_ascii_strdown (address, at - address);
  *domain_r = at + 1;
  return TRUE;
}

gboolean
_ms_server_is_local_domain (gpointer data,
                            const char *domain)
{
  MsServer *server = data;
  return g_ascii_strcasecmp (domain, server->domain) == 0;
}

char *
_ms_server_canonical_user (MsServer *server,
                           const char *user)
{
  g_autofree char *local = NULL;
  const char *domain;

  /* Accept "alice" and "alice@alpha.test", not another domain's alice. */
  if (_ms_server_split_address (user, &local, &domain))
    return _ms_server_is_local_domain (server, domain) ? g_steal_pointer (&local) : NULL;
  return g_ascii_strdown (user, -1);
}

gboolean
_ms_server_authenticate (MsServer *server,
                         const char *user,
                         const char *password)
{
  g_autofree char *local = _ms_server_canonical_user (server, user);

  return local != NULL && ms_auth_verify (server->auth, local, password);
}

gboolean
_ms_server_login (MsServer *server,
                  const char *user,
                  const char *password,
                  char **user_r)
{
  g_autofree char *local = _ms_server_canonical_user (server, user);

  if (local == NULL || !ms_auth_verify (server->auth, local, password))
    return FALSE;
  *user_r = g_steal_pointer (&local);
  return TRUE;
}

gboolean
_ms_server_deliver_local (gpointer data,
                          const char *address,
                          const char *message,
                          gsize len,
                          GError **error)
{
  MsServer *server = data;
  g_autofree char *local = NULL;
  const char *domain;

  if (!_ms_server_split_address (address, &local, &domain) ||
      !ms_auth_has_user (server->auth, local))
    {
      g_set_error (error, MS_SERVER_ERROR, MS_SERVER_ERROR_CONFIG, "no local user %s", address);
      return FALSE;
    }
  return ms_store_ensure_user (server->store, local, error) &&
         ms_store_deliver (server->store, local, "INBOX", (const guint8 *) message, len,
                           NULL, 0, NULL, error);
}

/* --- connections --- */

MsEvent *
_ms_server_connection_event (MsServerConnection *connection,
                             MsEventKind kind)
{
  MsEvent *event = ms_event_new (kind, connection->server->domain);

  ms_event_set_string (event, "session", connection->session_id);
  ms_event_set_string (event, "proto", connection->ops->proto);
  return event;
}

static void gate_check_reply (MsServerConnection *connection, const char *bytes, gsize len);

static void
output_send (gpointer data,
             const char *bytes,
             gsize len)
{
  MsServerConnection *connection = data;

  if (connection->held_output != NULL)
    g_string_append_len (connection->held_output, bytes, len);
  else
    ms_conn_write (connection->conn, bytes, len);
  /* Reply breakpoints cost nothing while there are none. */
  if (connection->server->reply_breakpoints->len > 0)
    gate_check_reply (connection, bytes, len);
}

static void
output_start_tls (gpointer data)
{
  MsServerConnection *connection = data;
  ms_conn_start_tls_server (connection->conn, connection->server->tls_server_ctx);
}

static void
output_close (gpointer data)
{
  MsServerConnection *connection = data;

  /* A close asked for during a hold happens when the hold ends. */
  connection->close_requested = TRUE;
  if (connection->held_output == NULL)
    ms_conn_close_after_flush (connection->conn);
}

static void
output_set_max_line (gpointer data,
                     gsize max_line)
{
  MsServerConnection *connection = data;
  ms_conn_set_max_line (connection->conn, max_line);
}

/* While held, what the session sends is kept and no input is read. */
static void
connection_hold (MsServerConnection *connection)
{
  g_assert (connection->held_output == NULL);
  connection->held_output = g_string_new (NULL);
  ms_conn_pause (connection->conn);
}

/* Ends a hold: sends what the session said meanwhile, then goes on. */
static void
connection_release (MsServerConnection *connection)
{
  g_autoptr(GString) held = g_steal_pointer (&connection->held_output);

  g_clear_handle_id (&connection->hold_source, g_source_remove);
  ms_conn_write (connection->conn, held->str, held->len);
  if (connection->close_requested)
    ms_conn_close_after_flush (connection->conn);
  else if (connection->step_line == NULL)
    ms_conn_resume (connection->conn);
}

static gboolean
hold_done_cb (gpointer data)
{
  MsServerConnection *connection = data;

  connection->hold_source = 0;
  connection_release (connection);
  return G_SOURCE_REMOVE;
}

static void
output_hold (gpointer data,
             guint milliseconds)
{
  MsServerConnection *connection = data;

  if (connection->held_output != NULL)
    return;
  connection_hold (connection);
  connection->hold_source = g_timeout_add (milliseconds, hold_done_cb, connection);
}

/* Group commit: the deliveries of every session that finished a message
 * since the last sync become durable with one fsync per directory, and
 * only then do their 250 replies go out. The idle priority runs it once
 * the ready sockets have been served, so a busy server syncs for many
 * messages at a time and an idle one at once. */
static gboolean
sync_store_cb (gpointer data)
{
  MsServer *server = data;
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&server->awaiting_sync);
  g_autoptr(GError) error = NULL;
  gboolean synced;

  server->sync_source = 0;
  server->awaiting_sync = g_ptr_array_new ();
  synced = ms_store_sync (server->store, &error);
  if (!synced)
    g_warning ("%s: %s", server->domain, error->message);

  for (guint i = 0; i < waiting->len; i++)
    {
      MsServerConnection *connection = waiting->pdata[i];

      /* Not durable, so not acknowledged: the client must try again. */
      if (!synced)
        g_string_assign (connection->held_output,
                         "451 4.3.0 Local error in processing; try again later\r\n");
      connection_release (connection);
    }
  return G_SOURCE_REMOVE;
}

gboolean
_ms_server_hold_until_synced (MsServerConnection *connection,
                              GError **error)
{
  MsServer *server = connection->server;

  /* Already held (a password delay): no batching, sync now. */
  if (connection->held_output != NULL)
    return ms_store_sync (server->store, error);

  connection_hold (connection);
  g_ptr_array_add (server->awaiting_sync, connection);
  if (server->sync_source == 0)
    server->sync_source = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, sync_store_cb, server, NULL);
  return TRUE;
}

static void
output_read_bytes (gpointer data,
                   gsize count)
{
  MsServerConnection *connection = data;
  ms_conn_read_bytes (connection->conn, count);
}

const MsSessionOutput _ms_server_session_output = {
  output_send,
  output_start_tls,
  output_close,
  output_set_max_line,
  output_hold,
  output_read_bytes,
};

/* --- the step gate (DESIGN.md "Step mode") --- */

#define STEP_VERB_MAX 32

/* The command's verb in upper case, or NULL if the line has none: the first
 * word, or for IMAP the word after the tag (RFC 3501 §2.2.1). */
static char *
line_verb (MsServerConnection *connection,
           const char *line,
           gsize len)
{
  const char *start = line;
  const char *end = line + len;
  const char *word_end;

  if (connection->ops == &_ms_server_imap_ops)
    {
      const char *space = memchr (line, ' ', len);

      if (space == NULL)
        return NULL;
      start = space + 1;
    }
  for (word_end = start; word_end < end && *word_end != ' '; word_end++)
    if (!g_ascii_isalpha (*word_end))
      return NULL;
  if (word_end == start || word_end - start > STEP_VERB_MAX)
    return NULL;
  return g_ascii_strup (start, word_end - start);
}

static gboolean
verb_is_secret (const char *verb)
{
  static const char * const secret_verbs[] = {
    "PASS", "APOP", "AUTH", "AUTHENTICATE", "LOGIN",
  };

  for (gsize i = 0; verb != NULL && i < G_N_ELEMENTS (secret_verbs); i++)
    if (strcmp (verb, secret_verbs[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
is_breakpoint (MsServer *server,
               const char *verb)
{
  for (guint i = 0; verb != NULL && i < server->breakpoints->len; i++)
    if (strcmp (verb, server->breakpoints->pdata[i]) == 0)
      return TRUE;
  return FALSE;
}

/* A `step` event with what every gate event has: `gate`, `state`, `by`. */
static MsEvent *
step_event_new (MsServerConnection *connection,
                const char *gate,
                const char *by)
{
  MsEvent *event = _ms_server_connection_event (connection, MS_EVENT_STEP);

  /* Not `state`: that member names the session's state in every event. */
  ms_event_set_string (event, "gate", gate);
  ms_event_set_string (event, "state", connection->ops->state_name (connection->session));
  if (by != NULL)
    ms_event_set_string (event, "by", by);
  return event;
}

/* The `step` event for the pending line. The gate masks more than the
 * sessions do: the whole text of a line that carries credentials (PASS,
 * APOP, AUTH, AUTHENTICATE, LOGIN), not only the arguments; the `verb`
 * member still names the command. */
static void
emit_step_event (MsServerConnection *connection,
                 const char *gate,
                 const char *by)
{
  MsTraceBus *bus = connection->server->bus;
  g_autofree char *verb = NULL;
  MsEvent *event;

  if (!ms_trace_bus_is_active (bus))
    return;
  verb = line_verb (connection, connection->step_line, connection->step_len);
  event = step_event_new (connection, gate, by);
  if (verb_is_secret (verb))
    {
      ms_event_set_bool (event, "secret", TRUE);
      if (ms_trace_bus_get_reveal_secrets (bus))
        ms_event_set_bytes_text (event, "text", connection->step_line, connection->step_len);
      else
        ms_event_set_string (event, "text", ms_trace_bus_mask (bus, connection->step_line));
    }
  else
    ms_event_set_bytes_text (event, "text", connection->step_line, connection->step_len);
  if (verb != NULL)
    ms_event_set_string (event, "verb", verb);
  ms_trace_bus_emit (bus, event);
}

gsize
_ms_server_line_length (const char *data,
                        gsize len)
{
  const char *newline = memchr (data, '\n', len);
  gsize line_len = newline != NULL ? (gsize) (newline - data) : len;

  return line_len > 0 && data[line_len - 1] == '\r' ? line_len - 1 : line_len;
}

gboolean
_ms_server_reply_word (const char *data,
                       gsize len,
                       gsize at,
                       const char * const *words,
                       MsReplyStatus *status_r)
{
  gsize line_len = _ms_server_line_length (data, len);

  for (guint i = 0; words[i] != NULL; i++)
    {
      gsize n = strlen (words[i]);

      if (at + n <= line_len && memcmp (data + at, words[i], n) == 0 &&
          (at + n == line_len || data[at + n] == ' '))
        {
          status_r->status = data + at;
          status_r->status_len = n;
          status_r->line = data;
          status_r->line_len = line_len;
          return TRUE;
        }
    }
  return FALSE;
}

/* The reply breakpoint that `status` meets, or NULL: the same status, or for
 * a class ("5xx") an SMTP code of that class (RFC 5321 §4.2.1). */
static const char *
reply_breakpoint_match (MsServer *server,
                        const MsReplyStatus *status)
{
  for (guint i = 0; i < server->reply_breakpoints->len; i++)
    {
      const char *breakpoint = server->reply_breakpoints->pdata[i];
      gboolean is_class = breakpoint[1] == 'x';

      if (strlen (breakpoint) != status->status_len)
        continue;
      if (is_class ? breakpoint[0] == status->status[0]
                   : memcmp (breakpoint, status->status, status->status_len) == 0)
        return breakpoint;
    }
  return NULL;
}

/* The longest reply line a `break` event carries: an SMTP reply line is at
 * most 512 octets (RFC 5321 §4.5.3.1.5); the others are ours and short. */
#define STEP_REPLY_TEXT_MAX 512

/* A reply the session sends meets a reply breakpoint: the session enters
 * step mode, so its next command waits in the gate. A session already in
 * step mode is left as it is, as a verb breakpoint leaves it. */
static void
gate_check_reply (MsServerConnection *connection,
                  const char *bytes,
                  gsize len)
{
  MsTraceBus *bus = connection->server->bus;
  MsReplyStatus status;
  const char *matched;
  MsEvent *event;

  if (connection->step_mode || !connection->ops->reply_status (bytes, len, &status))
    return;
  matched = reply_breakpoint_match (connection->server, &status);
  if (matched == NULL)
    return;
  connection->step_mode = TRUE;
  if (!ms_trace_bus_is_active (bus))
    return;
  event = step_event_new (connection, "break", "reply-breakpoint");
  ms_event_set_bytes_text (event, "text", status.line, MIN (status.line_len,
                                                            STEP_REPLY_TEXT_MAX));
  ms_event_set_string (event, "reply", matched);
  ms_trace_bus_emit (bus, event);
}

/* The protocol's idle timeout, as its glue set it at session_new. */
static guint
connection_idle_timeout (MsServerConnection *connection)
{
  MsServer *server = connection->server;

  if (connection->ops == &_ms_server_pop3_ops)
    return server->pop3_idle_timeout_s;
  if (connection->ops == &_ms_server_imap_ops)
    return server->imap_idle_timeout_s;
  return server->idle_timeout_s;
}

/* Whether the gate holds `line`: in step mode, or at a breakpoint (which
 * puts the session in step mode). Only commands are held: the lines of an
 * SMTP message (RFC 5321 §4.1.1.4) and a line that answers a continuation
 * request (an AUTH response, the rest of an IMAP command after a literal)
 * belong to the command already released, and pass. */
static gboolean
gate_should_hold (MsServerConnection *connection,
                  const char *line,
                  gsize len,
                  const char **by_r)
{
  MsServer *server = connection->server;
  g_autofree char *verb = NULL;

  if (!connection->step_mode && server->breakpoints->len == 0)
    return FALSE;
  if (!connection->ops->awaits_command (connection->session))
    return FALSE;
  if (connection->step_mode)
    {
      *by_r = NULL;
      return TRUE;
    }
  verb = line_verb (connection, line, len);
  if (!is_breakpoint (server, verb))
    return FALSE;
  connection->step_mode = TRUE;
  *by_r = "breakpoint";
  return TRUE;
}

static void
gate_hold (MsServerConnection *connection,
           const char *line,
           gsize len,
           MsLineFlags flags,
           const char *by)
{
  g_assert (connection->step_line == NULL);
  connection->step_line = g_memdup2 (line, len + 1);
  connection->step_len = len;
  connection->step_flags = flags;
  /* One line at a time: the socket buffers the rest, and the client waits. */
  ms_conn_pause (connection->conn);
  /* A lecturer may take minutes over a step: no autologout meanwhile. */
  ms_conn_set_idle_timeout (connection->conn, 0);
  emit_step_event (connection, "held", by);
}

/* Gives the pending line to the session. The `released` event comes first,
 * so the trace reads held, released, then the command, its store changes
 * and its reply. */
static void
gate_release (MsServerConnection *connection,
              const char *by)
{
  g_autofree char *line = NULL;

  g_assert (connection->step_line != NULL);
  emit_step_event (connection, "released", by);
  line = g_steal_pointer (&connection->step_line);
  ms_conn_set_idle_timeout (connection->conn, connection_idle_timeout (connection));
  connection->ops->feed_line (connection->session, line, connection->step_len,
                              connection->step_flags);
  /* A hold the command started (group commit, password delay) resumes
   * input when it ends; so does a close. */
  if (connection->held_output == NULL && !connection->close_requested)
    ms_conn_resume (connection->conn);
}

static void
conn_line_cb (MsConn *conn,
              const char *line,
              gsize len,
              MsLineFlags flags,
              gpointer user_data)
{
  MsServerConnection *connection = user_data;
  const char *by = NULL;

  if (gate_should_hold (connection, line, len, &by))
    {
      gate_hold (connection, line, len, flags, by);
      return;
    }
  connection->ops->feed_line (connection->session, line, len, flags);
}

static void
conn_bytes_cb (MsConn *conn,
               const guint8 *data,
               gsize len,
               gboolean last,
               gpointer user_data)
{
  MsServerConnection *connection = user_data;

  /* Only a session that asked for raw bytes gets them (read_bytes). */
  g_assert (connection->ops->feed_bytes != NULL);
  connection->ops->feed_bytes (connection->session, data, len, last);
}

static void
conn_tls_done_cb (MsConn *conn,
                  gboolean ok,
                  const char *error,
                  gpointer user_data)
{
  MsServerConnection *connection = user_data;

  if (ms_trace_bus_is_active (connection->server->bus))
    {
      MsEvent *event = _ms_server_connection_event (connection, MS_EVENT_TLS);

      ms_conn_describe_tls (conn, event, ok, error);
      ms_trace_bus_emit (connection->server->bus, event);
    }

  if (listener_protocols[connection->kind].implicit_tls)
    {
      /* Implicit TLS: the greeting comes after the handshake. */
      if (ok)
        connection->ops->start (connection->session);
      return;
    }
  connection->ops->tls_done (connection->session, ok);
}

static void
conn_idle_cb (MsConn *conn,
              gpointer user_data)
{
  MsServerConnection *connection = user_data;
  connection->ops->timeout (connection->session);
}

static void
connection_free (MsServerConnection *connection)
{
  if (connection->server != NULL && connection->server->awaiting_sync != NULL)
    g_ptr_array_remove_fast (connection->server->awaiting_sync, connection);
  g_clear_handle_id (&connection->hold_source, g_source_remove);
  if (connection->held_output != NULL)
    g_string_free (connection->held_output, TRUE);
  g_free (connection->step_line);
  if (connection->session != NULL)
    connection->ops->session_free (connection->session);
  g_clear_pointer (&connection->conn, ms_conn_unref);
  g_free (connection->session_id);
  g_free (connection);
}

static void
conn_closed_cb (MsConn *conn,
                const char *reason,
                gpointer user_data)
{
  MsServerConnection *connection = user_data;
  MsServer *server = connection->server;

  /* Orphaned by ms_server_free(): only the memory is left to free. */
  if (server == NULL)
    {
      connection_free (connection);
      return;
    }

  if (ms_trace_bus_is_active (server->bus))
    {
      MsEvent *event = _ms_server_connection_event (connection, MS_EVENT_SESSION_CLOSE);

      ms_event_set_string (event, "reason", reason);
      ms_event_set_string (event, "state", connection->ops->state_name (connection->session));
      ms_trace_bus_emit (server->bus, event);
    }
  /* Frees the connection, and with it the session and our conn reference. */
  g_hash_table_remove (server->connections, connection);
}

static const MsConnCallbacks conn_callbacks = {
  .line = conn_line_cb,
  .bytes = conn_bytes_cb,
  .tls_done = conn_tls_done_cb,
  .idle = conn_idle_cb,
  .closed = conn_closed_cb,
};

static gboolean
incoming_cb (GSocketService *service,
             GSocketConnection *socket_connection,
             GObject *source_object,
             gpointer user_data)
{
  MsServerListener *listener = user_data;
  MsServer *server = listener->server;
  MsListenerKind kind = listener->kind;
  const MsProtocolOps *ops = listener_protocols[kind].ops;
  MsServerConnection *connection;
  MsConnLimits limits = { 0 };
  GSocket *socket = g_socket_connection_get_socket (socket_connection);

  /* Replies are small and each waits on the client: do not let Nagle's
   * algorithm hold one back. */
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  limits.max_line = ops->max_line;
  limits.idle_timeout_s = server->idle_timeout_s;

  connection = g_new0 (MsServerConnection, 1);
  connection->server = server;
  connection->kind = kind;
  connection->ops = ops;
  connection->session_id = server->bus != NULL ? ms_trace_bus_new_session_id (server->bus,
                                                                               ops->proto)
                                               : g_strdup (ops->proto);
  connection->conn = ms_conn_new (socket_connection, &limits, &conn_callbacks, connection);
  connection->step_mode = server->step_all;
  g_hash_table_add (server->connections, connection);
  connection->session = ops->session_new (connection);

  if (ms_trace_bus_is_active (server->bus))
    {
      MsEvent *event = _ms_server_connection_event (connection, MS_EVENT_SESSION_OPEN);

      ms_conn_describe_endpoints (connection->conn, event);
      ms_event_set_string (event, "listener", ms_listener_kind_to_string (kind));
      ms_event_set_bool (event, "tls", listener_protocols[kind].implicit_tls);
      ms_trace_bus_emit (server->bus, event);
    }

  ms_conn_start (connection->conn);
  if (g_hash_table_size (server->connections) > server->max_connections)
    {
      /* Refuse at connect, in the protocol's own words (RFC 5321 §3.8, RFC 2449 §8). */
      ms_conn_write_line (connection->conn, ops->busy_reply);
      ms_conn_close_after_flush (connection->conn);
    }
  else if (listener_protocols[kind].implicit_tls)
    ms_conn_start_tls_server (connection->conn, server->tls_server_ctx);
  else
    ops->start (connection->session);
  return TRUE;
}

/* --- the server --- */

MsServer *
ms_server_new (const MsServerConfig *config,
               MsTraceBus *bus,
               GError **error)
{
  g_autoptr(MsServer) server = NULL;
  g_autofree char *auth_path = NULL;
  g_autofree char *mail_dir = NULL;
  g_autofree char *queue_dir = NULL;
  g_autofree char *tls_dir = NULL;
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  MsRelayQueueConfig relay_config = { 0 };

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (config->domain != NULL && config->data_dir != NULL, NULL);

  server = g_new0 (MsServer, 1);
  server->domain = g_ascii_strdown (config->domain, -1);
  server->data_dir = g_strdup (config->data_dir);
  server->listen_address = g_strdup (config->listen_address ? config->listen_address
                                                            : "127.0.0.1");
  memcpy (server->requested_ports, config->ports, sizeof server->requested_ports);
  server->max_message_size = config->max_message_size ? config->max_message_size
                                                      : 10 * 1024 * 1024;
  server->max_connections = config->max_connections ? config->max_connections : 1000;
  server->idle_timeout_s = config->idle_timeout_s ? config->idle_timeout_s : 300;
  /* RFC 1939 §3: a POP3 autologout timer must be at least 10 minutes. */
  server->pop3_idle_timeout_s = config->idle_timeout_s ? config->idle_timeout_s : 600;
  server->pop3_expire_days = config->pop3_expire_days;
  server->pop3_login_delay_s = config->pop3_login_delay_s;
  /* RFC 3501 §5.4: an IMAP autologout timer must be at least 30 minutes. */
  server->imap_idle_timeout_s = config->idle_timeout_s ? config->idle_timeout_s : 30 * 60;
  server->imap_login_needs_tls = config->imap_login_needs_tls;
  server->imap_recent = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  server->imap_changed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  server->pop3_locks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  server->pop3_last_login = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  server->bus = bus != NULL ? ms_trace_bus_ref (bus) : NULL;
  server->awaiting_sync = g_ptr_array_new ();
  server->breakpoints = g_ptr_array_new_with_free_func (g_free);
  server->reply_breakpoints = g_ptr_array_new_with_free_func (g_free);
  server->connections = g_hash_table_new_full (NULL, NULL,
                                               (GDestroyNotify) connection_free, NULL);
  for (guint i = 0; i < MS_N_LISTENERS; i++)
    {
      server->listeners[i].server = server;
      server->listeners[i].kind = i;
    }

  if (g_mkdir_with_parents (server->data_dir, 0700) != 0)
    {
      g_set_error (error, MS_SERVER_ERROR, MS_SERVER_ERROR_CONFIG,
                   "cannot create data directory %s: %s", server->data_dir, g_strerror (errno));
      return NULL;
    }

  auth_path = g_build_filename (server->data_dir, "users.conf", NULL);
  server->auth = ms_auth_new (auth_path, error);
  if (server->auth == NULL)
    return NULL;

  mail_dir = g_build_filename (server->data_dir, "mail", NULL);
  if (g_mkdir_with_parents (mail_dir, 0700) != 0)
    {
      g_set_error (error, MS_SERVER_ERROR, MS_SERVER_ERROR_CONFIG,
                   "cannot create %s: %s", mail_dir, g_strerror (errno));
      return NULL;
    }
  server->store = ms_store_new (mail_dir, server->domain, bus);
  ms_store_set_change_func (server->store, _ms_server_imap_store_changed, server);

  tls_dir = g_build_filename (server->data_dir, "tls", NULL);
  if (!ms_tls_ensure_self_signed (tls_dir, server->domain, &cert_path, &key_path, error))
    return NULL;
  server->tls_server_ctx = ms_tls_server_context_new (cert_path, key_path, error);
  if (server->tls_server_ctx == NULL)
    return NULL;

  queue_dir = g_build_filename (server->data_dir, "queue", NULL);
  relay_config.queue_dir = queue_dir;
  relay_config.hostname = server->domain;
  relay_config.bus = bus;
  relay_config.server_name = server->domain;
  relay_config.retry_intervals_s = config->retry_intervals_s;
  relay_config.n_retry_intervals = config->n_retry_intervals;
  relay_config.is_local_domain = _ms_server_is_local_domain;
  relay_config.deliver_local = _ms_server_deliver_local;
  relay_config.local_data = server;
  server->relay_queue = ms_relay_queue_new (&relay_config, error);
  if (server->relay_queue == NULL)
    return NULL;

  return g_steal_pointer (&server);
}

static gboolean
listener_start (MsServer *server,
                MsListenerKind kind,
                GError **error)
{
  MsServerListener *listener = &server->listeners[kind];
  guint requested = server->requested_ports[kind];
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;

  if (requested == 0)
    return TRUE;

  address = g_inet_address_new_from_string (server->listen_address);
  if (address == NULL)
    {
      g_set_error (error, MS_SERVER_ERROR, MS_SERVER_ERROR_CONFIG,
                   "not an IP address: %s", server->listen_address);
      return FALSE;
    }
  socket_address = g_inet_socket_address_new (address,
                                              requested == MS_SERVER_PORT_ANY ? 0 : requested);
  listener->service = g_socket_service_new ();
  /* The default backlog of 10 drops connections under a burst. */
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (listener->service), 1024);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (listener->service), socket_address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      &effective, error))
    {
      g_prefix_error (error, "%s: cannot listen on %s port %u: ", server->domain,
                      ms_listener_kind_to_string (listener->kind), requested);
      g_clear_object (&listener->service);
      return FALSE;
    }
  listener->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (listener->service, "incoming", G_CALLBACK (incoming_cb), listener);
  g_socket_service_start (listener->service);
  return TRUE;
}

gboolean
ms_server_start (MsServer *server,
                 GError **error)
{
  g_return_val_if_fail (server != NULL, FALSE);

  for (guint i = 0; i < MS_N_LISTENERS; i++)
    {
      if (!listener_start (server, i, error))
        {
          ms_server_stop (server);
          return FALSE;
        }
    }
  return TRUE;
}

void
ms_server_stop (MsServer *server)
{
  GHashTableIter iter;
  gpointer key;

  g_return_if_fail (server != NULL);

  for (guint i = 0; i < MS_N_LISTENERS; i++)
    {
      MsServerListener *listener = &server->listeners[i];

      if (listener->service == NULL)
        continue;
      g_socket_service_stop (listener->service);
      g_socket_listener_close (G_SOCKET_LISTENER (listener->service));
      g_signal_handlers_disconnect_by_data (listener->service, listener);
      g_clear_object (&listener->service);
      listener->port = 0;
    }

  g_hash_table_iter_init (&iter, server->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      MsServerConnection *connection = key;
      connection->ops->shutdown (connection->session);
    }
}

void
ms_server_free (MsServer *server)
{
  GHashTableIter iter;
  gpointer key;

  if (server == NULL)
    return;

  ms_server_stop (server);
  /* What waits for a sync is synced when the store is freed, below. */
  g_clear_handle_id (&server->sync_source, g_source_remove);
  g_clear_pointer (&server->awaiting_sync, g_ptr_array_unref);
  /* Sessions still open are dropped with the server; POP3 sessions release
   * their maildrop locks as they go. Each MsConn still owes its `closed`
   * callback (from an idle source that holds its own reference), so the
   * connection is orphaned rather than freed, and that callback frees it. */
  g_hash_table_iter_init (&iter, server->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      MsServerConnection *connection = key;

      g_clear_pointer (&connection->session, connection->ops->session_free);
      g_clear_handle_id (&connection->hold_source, g_source_remove);
      connection->server = NULL;
      ms_conn_close (connection->conn);
    }
  g_hash_table_steal_all (server->connections);
  g_hash_table_unref (server->connections);
  g_clear_pointer (&server->breakpoints, g_ptr_array_unref);
  g_clear_pointer (&server->reply_breakpoints, g_ptr_array_unref);
  g_clear_pointer (&server->pop3_locks, g_hash_table_unref);
  g_clear_pointer (&server->pop3_last_login, g_hash_table_unref);
  _ms_server_imap_clear (server);
  g_clear_pointer (&server->relay_queue, ms_relay_queue_free);
  g_clear_pointer (&server->store, ms_store_free);
  g_clear_pointer (&server->auth, ms_auth_free);
  g_clear_pointer (&server->tls_server_ctx, SSL_CTX_free);
  g_clear_pointer (&server->bus, ms_trace_bus_unref);
  g_free (server->domain);
  g_free (server->data_dir);
  g_free (server->listen_address);
  g_free (server);
}

const char *
ms_server_get_domain (MsServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);
  return server->domain;
}

const char *
ms_server_get_data_dir (MsServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);
  return server->data_dir;
}

guint16
ms_server_get_port (MsServer *server,
                    MsListenerKind kind)
{
  g_return_val_if_fail (server != NULL && kind < MS_N_LISTENERS, 0);
  return server->listeners[kind].port;
}

guint
ms_server_get_connection_count (MsServer *server)
{
  g_return_val_if_fail (server != NULL, 0);
  return g_hash_table_size (server->connections);
}

MsStore *
ms_server_get_store (MsServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);
  return server->store;
}

MsAuth *
ms_server_get_auth (MsServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);
  return server->auth;
}

MsRelayQueue *
ms_server_get_relay_queue (MsServer *server)
{
  g_return_val_if_fail (server != NULL, NULL);
  return server->relay_queue;
}

void
ms_server_emit_snapshot (MsServer *server)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (server != NULL);

  /* Without it a viewer has the deltas but not what they change: say so. */
  if (!ms_store_emit_snapshot (server->store, &error))
    g_warning ("%s: no snapshot of the mailboxes in the trace: %s", server->domain,
               error->message);
}

void
ms_server_add_route (MsServer *server,
                     const char *domain,
                     const char *host,
                     guint16 port)
{
  g_return_if_fail (server != NULL);
  ms_relay_queue_add_route (server->relay_queue, domain, host, port);
}

gboolean
ms_server_set_password (MsServer *server,
                        const char *user,
                        const char *password,
                        GError **error)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (server != NULL, FALSE);

  name = g_ascii_strdown (user, -1);
  return ms_auth_set_password (server->auth, name, password, error) &&
         ms_store_ensure_user (server->store, name, error);
}

gboolean
ms_server_set_apop_secret (MsServer *server,
                           const char *user,
                           const char *secret,
                           GError **error)
{
  g_autofree char *name = NULL;

  g_return_val_if_fail (server != NULL, FALSE);

  name = g_ascii_strdown (user, -1);
  return ms_auth_set_apop_secret (server->auth, name, secret, error);
}

/* --- step mode --- */

static MsServerConnection *
find_connection (MsServer *server,
                 const char *session_id)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, server->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      MsServerConnection *connection = key;

      if (strcmp (connection->session_id, session_id) == 0)
        return connection;
    }
  return NULL;
}

static void
connection_set_step_mode (MsServerConnection *connection,
                          gboolean on,
                          const char *by)
{
  connection->step_mode = on;
  if (!on && connection->step_line != NULL)
    gate_release (connection, by);
}

static void
set_step_mode (MsServer *server,
               const char *session_id,
               gboolean on,
               const char *by)
{
  GHashTableIter iter;
  gpointer key;

  if (session_id != NULL)
    {
      MsServerConnection *connection = find_connection (server, session_id);

      if (connection != NULL)
        connection_set_step_mode (connection, on, by);
      return;
    }

  server->step_all = on;
  /* Releasing feeds a session, which never frees a connection at once (MsConn
   * reports `closed` from an idle source), so the iteration stays valid. */
  g_hash_table_iter_init (&iter, server->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    connection_set_step_mode (key, on, by);
}

void
ms_server_set_step_mode (MsServer *server,
                         const char *session_id,
                         gboolean on)
{
  g_return_if_fail (server != NULL);
  set_step_mode (server, session_id, on, "continue");
}

gboolean
ms_server_step (MsServer *server,
                const char *session_id)
{
  MsServerConnection *connection;

  g_return_val_if_fail (server != NULL && session_id != NULL, FALSE);

  connection = find_connection (server, session_id);
  if (connection == NULL || connection->step_line == NULL)
    return FALSE;
  gate_release (connection, "step");
  return TRUE;
}

void
ms_server_continue (MsServer *server,
                    const char *session_id)
{
  g_return_if_fail (server != NULL);
  set_step_mode (server, session_id, FALSE, "continue");
}

gboolean
ms_server_add_breakpoint (MsServer *server,
                          const char *verb)
{
  g_autofree char *normal = NULL;

  g_return_val_if_fail (server != NULL && verb != NULL, FALSE);

  normal = ms_breakpoint_normalize (MS_BREAKPOINT_VERB, verb);
  if (normal == NULL)
    return FALSE;
  if (!g_ptr_array_find_with_equal_func (server->breakpoints, normal, g_str_equal, NULL))
    g_ptr_array_add (server->breakpoints, g_steal_pointer (&normal));
  return TRUE;
}

gboolean
ms_server_add_reply_breakpoint (MsServer *server,
                                const char *reply)
{
  g_autofree char *normal = NULL;

  g_return_val_if_fail (server != NULL && reply != NULL, FALSE);

  normal = ms_breakpoint_normalize (MS_BREAKPOINT_REPLY, reply);
  if (normal == NULL)
    return FALSE;
  if (!g_ptr_array_find_with_equal_func (server->reply_breakpoints, normal, g_str_equal, NULL))
    g_ptr_array_add (server->reply_breakpoints, g_steal_pointer (&normal));
  return TRUE;
}

void
ms_server_clear_breakpoints (MsServer *server)
{
  g_return_if_fail (server != NULL);
  g_ptr_array_set_size (server->breakpoints, 0);
  g_ptr_array_set_size (server->reply_breakpoints, 0);
}
