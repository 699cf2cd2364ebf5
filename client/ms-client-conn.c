/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-client-conn"

#include "config.h"

#include <string.h>

#include "ms-client-conn.h"
#include "ms-tls.h"

/* A `data` event carries at most this much of the message text. */
#define TRACE_DATA_MAX 65536

MsClientConn *
ms_client_conn_new (const MsClientConnParams *params)
{
  MsClientConn *cc;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (params->timeout_s > 0, NULL);

  cc = g_new0 (MsClientConn, 1);
  cc->host = g_strdup (params->host);
  cc->port = params->port;
  cc->tls = params->tls;
  cc->implicit_tls = params->implicit_tls;
  cc->timeout_s = params->timeout_s;
  cc->bus = params->bus ? ms_trace_bus_ref (params->bus) : NULL;
  cc->trace_server = g_strdup (params->trace_server);
  cc->proto = g_strdup (params->proto);
  cc->show = params->show;
  cc->show_data = params->show_data;
  return cc;
}

void
ms_client_conn_free (MsClientConn *cc)
{
  if (cc == NULL)
    return;
  g_assert (cc->task == NULL && cc->connect_timeout == NULL);
  if (cc->cancelled_id != 0)
    g_cancellable_disconnect (cc->cancellable, cc->cancelled_id);
  g_clear_object (&cc->cancellable);
  g_clear_object (&cc->connect_cancellable);
  g_free (cc->host);
  g_clear_pointer (&cc->bus, ms_trace_bus_unref);
  g_free (cc->trace_server);
  g_free (cc->proto);
  g_clear_pointer (&cc->tls_ctx, SSL_CTX_free);
  g_clear_pointer (&cc->conn, ms_conn_unref);
  g_free (cc->session_id);
  g_free (cc);
}

/* --- trace events and --show ----------------------------------------- */

gboolean
ms_client_conn_tracing (MsClientConn *cc)
{
  return cc->session_id != NULL && ms_trace_bus_is_active (cc->bus);
}

MsEvent *
ms_client_conn_new_event (MsClientConn *cc,
                          MsEventKind kind)
{
  MsEvent *event = ms_event_new (kind, cc->trace_server);

  ms_event_set_string (event, "session", cc->session_id);
  ms_event_set_string (event, "proto", cc->proto);
  ms_event_set_string (event, "direction", "client");
  return event;
}

void
ms_client_conn_emit (MsClientConn *cc,
                     MsEvent *event)
{
  ms_trace_bus_emit (cc->bus, event);
}

void
ms_client_conn_show (MsClientConn *cc,
                     char direction,
                     const char *line)
{
  if (cc->show != NULL)
    cc->show (direction, line, cc->show_data);
}

void
ms_client_conn_show_note (MsClientConn *cc,
                          const char *format,
                          ...)
{
  g_autofree char *text = NULL;
  va_list args;

  if (cc->show == NULL)
    return;
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  cc->show ('*', text, cc->show_data);
}

void
ms_client_conn_trace_command (MsClientConn *cc,
                              const char *text,
                              gboolean secret,
                              MsClientConnMaskFunc mask,
                              gboolean has_verb,
                              gboolean tagged,
                              const char *state)
{
  g_autofree char *masked = NULL;
  const char *shown = text;

  if (secret)
    {
      /* A bus started with reveal-secrets shows them, in events and
       * --show alike (a lab about base64); otherwise the bus's mask. */
      if (cc->bus != NULL && ms_trace_bus_get_reveal_secrets (cc->bus))
        masked = g_strdup (text);
      else
        masked = mask (text, cc->bus ? ms_trace_bus_mask (cc->bus, "") : "********");
      shown = masked;
    }
  ms_client_conn_show (cc, 'C', shown);

  if (ms_client_conn_tracing (cc))
    {
      MsEvent *event = ms_client_conn_new_event (cc, MS_EVENT_COMMAND);

      ms_event_set_string (event, "text", shown);
      if (has_verb)
        {
          const char *start = text;
          g_autofree char *verb = NULL;
          g_autofree char *upper = NULL;

          if (tagged)
            {
              start += strcspn (start, " ");
              start += *start == ' ';
            }
          verb = g_strndup (start, strcspn (start, " "));
          /* "UID FETCH", as the server's events name it (RFC 3501 §6.4.8;
           * docs/trace-format.md). */
          if (tagged && g_ascii_strcasecmp (verb, "UID") == 0 && start[3] == ' ')
            {
              g_free (verb);
              verb = g_strndup (start, 4 + strcspn (start + 4, " "));
            }
          upper = g_ascii_strup (verb, -1);
          ms_event_set_string (event, "verb", upper);
        }
      if (secret)
        ms_event_set_bool (event, "secret", TRUE);
      ms_event_set_string (event, "state", state);
      ms_trace_bus_emit (cc->bus, event);
    }
}

void
ms_client_conn_trace_reply (MsClientConn *cc,
                            const char *text,
                            gsize len,
                            const char *state,
                            MsEvent **event_r)
{
  if (cc->show != NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (text, (gssize) len);
      ms_client_conn_show (cc, 'S', valid);
    }
  if (event_r == NULL)
    return;
  *event_r = NULL;
  if (!ms_client_conn_tracing (cc))
    return;
  *event_r = ms_client_conn_new_event (cc, MS_EVENT_REPLY);
  ms_event_set_bytes_text (*event_r, "text", text, len);
  ms_event_set_string (*event_r, "state", state);
}

void
ms_client_conn_emit_data (MsClientConn *cc,
                          const char *data,
                          gsize len,
                          const char *state)
{
  MsEvent *event;

  if (!ms_client_conn_tracing (cc))
    return;
  event = ms_client_conn_new_event (cc, MS_EVENT_DATA);
  ms_event_set_int (event, "bytes", (gint64) len);
  ms_event_set_bytes_text (event, "text", data, MIN (len, TRACE_DATA_MAX));
  if (len > TRACE_DATA_MAX)
    ms_event_set_bool (event, "truncated", TRUE);
  ms_event_set_string (event, "state", state);
  ms_trace_bus_emit (cc->bus, event);
}

void
ms_client_conn_emit_state (MsClientConn *cc,
                           const char *from,
                           const char *to)
{
  MsEvent *event;

  if (!ms_client_conn_tracing (cc))
    return;
  event = ms_client_conn_new_event (cc, MS_EVENT_STATE);
  ms_event_set_string (event, "from", from);
  ms_event_set_string (event, "to", to);
  ms_trace_bus_emit (cc->bus, event);
}

/* The TLS handshake finished: a --show note and a `tls` event. */
static void
tls_finished (MsClientConn *cc,
              gboolean ok,
              const char *error)
{
  if (ok)
    {
      const char *version = ms_conn_get_tls_version (cc->conn);
      const char *cipher = ms_conn_get_tls_cipher (cc->conn);
      const char *subject = ms_conn_get_tls_subject (cc->conn);

      ms_client_conn_show_note (cc, "TLS handshake done: %s, %s, server certificate %s",
                                version ? version : "?", cipher ? cipher : "?",
                                subject ? subject : "(none)");
    }
  else
    ms_client_conn_show_note (cc, "TLS handshake failed: %s", error ? error : "unknown error");

  /* A failed handshake is an event too, as on the server side. */
  if (ms_client_conn_tracing (cc))
    {
      MsEvent *event = ms_client_conn_new_event (cc, MS_EVENT_TLS);

      ms_conn_describe_tls (cc->conn, event, ok, error);
      ms_trace_bus_emit (cc->bus, event);
    }
}

static void
emit_session_close (MsClientConn *cc,
                    const char *reason,
                    const char *state,
                    const char *result)
{
  MsEvent *event;

  if (!ms_client_conn_tracing (cc))
    return;
  event = ms_client_conn_new_event (cc, MS_EVENT_SESSION_CLOSE);
  ms_event_set_string (event, "reason", reason);
  ms_event_set_string (event, "state", state);
  if (result != NULL)
    ms_event_set_string (event, "result", result);
  ms_trace_bus_emit (cc->bus, event);
}

/* --- the job --------------------------------------------------------- */

/* Hands the result (or the cancellation) to the caller and drops the
 * reference on the task. That may free the job and `cc`: touch neither
 * after. */
static void
complete (MsClientConn *cc)
{
  g_autoptr(GTask) task = g_steal_pointer (&cc->task);
  gpointer *result_slot = G_STRUCT_MEMBER_P (cc->job, cc->engine->result_offset);
  gpointer result = g_steal_pointer (result_slot);

  g_assert (task != NULL);
  if (cc->cancelled)
    {
      g_clear_pointer (&result, cc->engine->result_free);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "%s",
                               cc->engine->cancelled_text);
    }
  else
    {
      g_assert (result != NULL);
      g_task_return_pointer (task, result, cc->engine->result_free);
    }
}

static void
fail_and_complete (MsClientConn *cc,
                   MsClientConnFailure failure,
                   const char *text)
{
  cc->engine->fail (cc->job, failure, text);
  complete (cc);
}

static void
cancelled_cb (GCancellable *cancellable,
              gpointer user_data)
{
  MsClientConn *cc = user_data;

  cc->cancelled = TRUE;
  if (cc->conn != NULL)
    ms_conn_close (cc->conn);
  else if (cc->connect_cancellable != NULL)
    g_cancellable_cancel (cc->connect_cancellable);
}

/* FALSE when `cancellable` was already cancelled (cc->cancelled is then
 * set and nothing is watched). */
static gboolean
watch_cancellable (MsClientConn *cc,
                   GCancellable *cancellable)
{
  if (cancellable == NULL)
    return TRUE;
  g_set_object (&cc->cancellable, cancellable);
  if (g_cancellable_is_cancelled (cancellable))
    {
      cc->cancelled = TRUE;
      return FALSE;
    }
  cc->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), cc, NULL);
  return TRUE;
}

static gboolean
connect_timeout_cb (gpointer user_data)
{
  MsClientConn *cc = user_data;

  g_clear_pointer (&cc->connect_timeout, g_source_unref);
  cc->connect_timed_out = TRUE;
  g_cancellable_cancel (cc->connect_cancellable);
  return G_SOURCE_REMOVE;
}

static void
connected_cb (GObject *source,
              GAsyncResult *res,
              gpointer user_data)
{
  MsClientConn *cc = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autofree char *text = NULL;

  if (cc->connect_timeout != NULL)
    {
      g_source_destroy (cc->connect_timeout);
      g_clear_pointer (&cc->connect_timeout, g_source_unref);
    }
  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), res, &error);
  if (cc->cancelled)
    complete (cc);
  else if (connection == NULL)
    {
      if (cc->connect_timed_out)
        text = g_strdup_printf ("connecting to %s:%u timed out after %u s",
                                cc->host, cc->port, cc->timeout_s);
      else
        text = g_strdup_printf ("cannot connect to %s:%u: %s", cc->host, cc->port, error->message);
      fail_and_complete (cc, MS_CLIENT_CONN_FAILURE_TEMP, text);
    }
  else
    cc->engine->connected (cc->job, connection);
}

/* Connects to host:port under the timeout. */
static void
connect_async (MsClientConn *cc)
{
  g_autoptr(GSocketClient) socket_client = NULL;
  g_autoptr(GSocketConnectable) address = NULL;

  g_clear_object (&cc->connect_cancellable);
  cc->connect_cancellable = g_cancellable_new ();
  cc->connect_timeout = g_timeout_source_new_seconds (cc->timeout_s);
  g_source_set_callback (cc->connect_timeout, connect_timeout_cb, cc, NULL);
  g_source_attach (cc->connect_timeout, g_main_context_get_thread_default ());
  socket_client = g_socket_client_new ();
  address = g_network_address_new (cc->host, cc->port);
  g_socket_client_connect_async (socket_client, address, cc->connect_cancellable,
                                 connected_cb, cc);
}

void
ms_client_conn_run (MsClientConn *cc,
                    GTask *task,
                    GCancellable *cancellable,
                    const MsClientConnEngine *engine,
                    gpointer job)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (cc != NULL && cc->task == NULL && cc->conn == NULL);
  g_return_if_fail (G_IS_TASK (task) && engine != NULL && job != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  cc->task = task;
  cc->engine = engine;
  cc->job = job;
  if (cc->tls)
    {
      /* The demo servers use self-signed certificates: no verification,
       * but the subject is reported in the tls event and on --show. */
      cc->tls_ctx = ms_tls_client_context_new (FALSE, &error);
      if (cc->tls_ctx == NULL)
        {
          g_autofree char *text = g_strdup_printf ("cannot set up TLS: %s", error->message);

          fail_and_complete (cc, MS_CLIENT_CONN_FAILURE_TLS, text);
          return;
        }
    }
  if (!watch_cancellable (cc, cancellable))
    {
      complete (cc);
      return;
    }
  connect_async (cc);
}

/* --- connection callbacks -------------------------------------------- */

static void
conn_line_cb (MsConn *conn,
              const char *line,
              gsize len,
              MsLineFlags flags,
              gpointer user_data)
{
  MsClientConn *cc = user_data;

  /* A truncated line arrives `max_line` long, which the drivers set one
   * octet over the engine's limit: the engine refuses it as too long
   * rather than take it silently cut. */
  cc->engine->feed_line (cc->job, line, len);
}

static void
conn_bytes_cb (MsConn *conn,
               const guint8 *data,
               gsize len,
               gboolean last,
               gpointer user_data)
{
  MsClientConn *cc = user_data;

  /* Only a driver with feed_bytes asks for raw octets. */
  g_assert (cc->engine->feed_bytes != NULL);
  cc->engine->feed_bytes (cc->job, data, len, last);
}

static void
conn_tls_done_cb (MsConn *conn,
                  gboolean ok,
                  const char *error,
                  gpointer user_data)
{
  MsClientConn *cc = user_data;

  tls_finished (cc, ok, error);
  if (!cc->engine->tls_done (cc->job, ok, error) && !ok)
    {
      /* Implicit TLS (RFC 8314 §3.3): the handshake comes before the greeting. */
      g_autofree char *text = g_strdup_printf ("the TLS handshake with %s:%u failed: %s",
                                               cc->host, cc->port,
                                               error ? error : "unknown error");

      cc->engine->fail (cc->job, MS_CLIENT_CONN_FAILURE_TLS, text);
    }
}

static void
conn_idle_cb (MsConn *conn,
              gpointer user_data)
{
  MsClientConn *cc = user_data;
  g_autofree char *text = g_strdup_printf ("no reply from %s:%u within %u s (state %s)",
                                           cc->host, cc->port, cc->timeout_s,
                                           cc->engine->state_name (cc->job));

  cc->engine->fail (cc->job, MS_CLIENT_CONN_FAILURE_TEMP, text);
}

static void
conn_closed_cb (MsConn *conn,
                const char *reason,
                gpointer user_data)
{
  MsClientConn *cc = user_data;

  cc->engine->connection_closed (cc->job, reason);
  emit_session_close (cc, reason, cc->engine->state_name (cc->job),
                      cc->engine->result_status (cc->job));
  complete (cc);
}

static const MsConnCallbacks conn_callbacks = {
  .line = conn_line_cb,
  .bytes = conn_bytes_cb,
  .tls_done = conn_tls_done_cb,
  .idle = conn_idle_cb,
  .closed = conn_closed_cb,
};

static void
emit_session_open (MsClientConn *cc)
{
  MsEvent *event;

  if (!ms_client_conn_tracing (cc))
    return;
  event = ms_client_conn_new_event (cc, MS_EVENT_SESSION_OPEN);
  ms_conn_describe_endpoints (cc->conn, event);
  ms_event_set_bool (event, "tls", cc->implicit_tls);
  ms_trace_bus_emit (cc->bus, event);
}

void
ms_client_conn_open (MsClientConn *cc,
                     GSocketConnection *connection,
                     gsize max_line)
{
  MsConnLimits limits = { 0 };

  g_return_if_fail (cc != NULL && cc->conn == NULL && cc->engine != NULL);
  g_return_if_fail (G_IS_SOCKET_CONNECTION (connection));

  limits.max_line = max_line;
  limits.idle_timeout_s = cc->timeout_s;
  cc->conn = ms_conn_new (connection, &limits, &conn_callbacks, cc);
  if (cc->bus != NULL)
    cc->session_id = ms_trace_bus_new_session_id (cc->bus, cc->proto);
  emit_session_open (cc);
}

void
ms_client_conn_start (MsClientConn *cc)
{
  g_return_if_fail (cc != NULL && cc->conn != NULL);

  ms_conn_start (cc->conn);
  if (cc->implicit_tls)
    ms_conn_start_tls_client (cc->conn, cc->tls_ctx, cc->host);
}

void
ms_client_conn_start_tls (MsClientConn *cc)
{
  g_return_if_fail (cc != NULL && cc->conn != NULL && cc->tls_ctx != NULL);

  ms_conn_start_tls_client (cc->conn, cc->tls_ctx, cc->host);
}

void
ms_client_conn_send (MsClientConn *cc,
                     const char *data,
                     gsize len)
{
  g_return_if_fail (cc != NULL && cc->conn != NULL);

  ms_conn_write (cc->conn, data, len);
}

void
ms_client_conn_finish (MsClientConn *cc)
{
  g_return_if_fail (cc != NULL);

  /* The task completes in the connection's closed callback. */
  if (cc->conn != NULL && !ms_conn_is_closed (cc->conn))
    ms_conn_close_after_flush (cc->conn);
}
