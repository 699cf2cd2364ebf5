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
  g_assert (cc->connect_timeout == NULL);
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

gboolean
ms_client_conn_prepare_tls (MsClientConn *cc,
                            GError **error)
{
  g_return_val_if_fail (cc != NULL, FALSE);

  if (cc->tls_ctx == NULL)
    cc->tls_ctx = ms_tls_client_context_new (FALSE, error);
  return cc->tls_ctx != NULL;
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

gboolean
ms_client_conn_watch_cancellable (MsClientConn *cc,
                                  GCancellable *cancellable)
{
  g_return_val_if_fail (cc != NULL, FALSE);

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

/* --- connecting ------------------------------------------------------ */

typedef struct {
  MsClientConn *cc;           /* borrowed: owned by the task's data */
  GTask *task;
  MsClientConnConnectedFunc func;
} ConnectOp;

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
  ConnectOp *op = user_data;
  MsClientConn *cc = op->cc;
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
    g_clear_object (&connection);
  else if (connection == NULL && cc->connect_timed_out)
    text = g_strdup_printf ("connecting to %s:%u timed out after %u s",
                            cc->host, cc->port, cc->timeout_s);
  else if (connection == NULL)
    text = g_strdup_printf ("cannot connect to %s:%u: %s", cc->host, cc->port, error->message);
  op->func (g_steal_pointer (&op->task), connection, text);
  g_free (op);
}

void
ms_client_conn_connect (MsClientConn *cc,
                        GTask *task,
                        MsClientConnConnectedFunc func)
{
  g_autoptr(GSocketClient) socket_client = NULL;
  g_autoptr(GSocketConnectable) address = NULL;
  ConnectOp *op;

  g_return_if_fail (cc != NULL && G_IS_TASK (task) && func != NULL);
  g_return_if_fail (cc->connect_timeout == NULL && cc->conn == NULL);

  op = g_new0 (ConnectOp, 1);
  op->cc = cc;
  op->task = task;
  op->func = func;
  g_clear_object (&cc->connect_cancellable);
  cc->connect_cancellable = g_cancellable_new ();
  cc->connect_timeout = g_timeout_source_new_seconds (cc->timeout_s);
  g_source_set_callback (cc->connect_timeout, connect_timeout_cb, cc, NULL);
  g_source_attach (cc->connect_timeout, g_main_context_get_thread_default ());
  socket_client = g_socket_client_new ();
  address = g_network_address_new (cc->host, cc->port);
  g_socket_client_connect_async (socket_client, address, cc->connect_cancellable,
                                 connected_cb, op);
}

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
                     gsize max_line,
                     const MsConnCallbacks *callbacks,
                     gpointer user_data)
{
  MsConnLimits limits = { 0 };

  g_return_if_fail (cc != NULL && cc->conn == NULL);
  g_return_if_fail (G_IS_SOCKET_CONNECTION (connection));

  limits.max_line = max_line;
  limits.idle_timeout_s = cc->timeout_s;
  cc->conn = ms_conn_new (connection, &limits, callbacks, user_data);
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

void
ms_client_conn_tls_finished (MsClientConn *cc,
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

void
ms_client_conn_emit_session_close (MsClientConn *cc,
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

char *
ms_client_conn_idle_text (MsClientConn *cc,
                          const char *state)
{
  return g_strdup_printf ("no reply from %s:%u within %u s (state %s)",
                          cc->host, cc->port, cc->timeout_s, state);
}

char *
ms_client_conn_tls_failed_text (MsClientConn *cc,
                                const char *error)
{
  /* Implicit TLS (RFC 8314 §3.3): the handshake comes before the greeting. */
  return g_strdup_printf ("the TLS handshake with %s:%u failed: %s",
                          cc->host, cc->port, error ? error : "unknown error");
}
