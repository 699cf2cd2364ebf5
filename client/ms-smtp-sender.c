/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-smtp-sender"

#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "ms-conn.h"
#include "ms-event.h"
#include "ms-smtp-sender.h"
#include "ms-tls.h"

/* RFC 5321 §4.5.3.2.1: wait at least 5 minutes for the greeting. */
#define DEFAULT_TIMEOUT_S 300
/* A `data` event carries at most this much of the message text. */
#define TRACE_DATA_MAX 65536

typedef struct {
  /* Copies of the parameters. */
  char *host;
  guint16 port;
  MsSmtpTlsMode tls;
  char *helo_name;
  char *username;
  char *password;       /* wiped in send_job_free() */
  char *mail_from;
  GStrv rcpt_to;
  GBytes *message;
  guint timeout_s;
  MsTraceBus *bus;
  char *trace_server;
  char *trace_proto;
  void (*show) (char direction, const char *line, gpointer user_data);
  gpointer show_data;   /* borrowed */

  /* Held from the connection until the connection's closed callback; it
   * owns this job as its task data, a cycle broken by job_complete(). */
  GTask *task;
  GCancellable *cancellable;        /* the caller's, or NULL */
  gulong cancelled_id;
  gboolean cancelled;
  GCancellable *connect_cancellable;
  GSource *connect_timeout;         /* on the thread-default context */
  gboolean connect_timed_out;

  SSL_CTX *tls_ctx;
  MsConn *conn;
  MsSmtpClient *engine;
  MsSmtpSendResult *result;
  char *session_id;
} SendJob;

static void
send_job_free (gpointer data)
{
  SendJob *job = data;

  g_assert (job->task == NULL);
  g_assert (job->connect_timeout == NULL);
  if (job->cancelled_id != 0)
    g_cancellable_disconnect (job->cancellable, job->cancelled_id);
  g_clear_object (&job->cancellable);
  g_clear_object (&job->connect_cancellable);
  g_free (job->host);
  g_free (job->helo_name);
  g_free (job->username);
  if (job->password != NULL)
    OPENSSL_cleanse (job->password, strlen (job->password));
  g_free (job->password);
  g_free (job->mail_from);
  g_strfreev (job->rcpt_to);
  g_clear_pointer (&job->message, g_bytes_unref);
  g_clear_pointer (&job->bus, ms_trace_bus_unref);
  g_free (job->trace_server);
  g_free (job->trace_proto);
  g_clear_pointer (&job->tls_ctx, SSL_CTX_free);
  g_clear_pointer (&job->engine, ms_smtp_client_free);
  g_clear_pointer (&job->conn, ms_conn_unref);
  g_clear_pointer (&job->result, ms_smtp_send_result_free);
  g_free (job->session_id);
  g_free (job);
}

/* --- trace events and --show ----------------------------------------- */

static gboolean
tracing (SendJob *job)
{
  return job->session_id != NULL && ms_trace_bus_is_active (job->bus);
}

static MsEvent *
new_event (SendJob *job,
           MsEventKind kind)
{
  MsEvent *event = ms_event_new (kind, job->trace_server);

  ms_event_set_string (event, "session", job->session_id);
  ms_event_set_string (event, "proto", job->trace_proto);
  ms_event_set_string (event, "direction", "client");
  return event;
}

static const char *
engine_state_name (SendJob *job)
{
  return ms_smtp_client_state_to_string (ms_smtp_client_get_state (job->engine));
}

static void
show_line (SendJob *job,
           char direction,
           const char *line)
{
  if (job->show != NULL)
    job->show (direction, line, job->show_data);
}

static void
trace_command (SendJob *job,
               const char *text,
               MsSmtpClientTraceFlags flags)
{
  MsSmtpClientState state = ms_smtp_client_get_state (job->engine);
  g_autofree char *masked = NULL;
  const char *shown = text;

  if (flags & MS_SMTP_CLIENT_TRACE_SECRET)
    {
      /* A bus started with reveal-secrets shows them, in events and
       * --show alike (a lab about base64); otherwise the bus's mask. */
      if (job->bus != NULL && ms_trace_bus_get_reveal_secrets (job->bus))
        masked = g_strdup (text);
      else
        masked = ms_smtp_client_mask_secret (text, job->bus ? ms_trace_bus_mask (job->bus, "")
                                                            : "********");
      shown = masked;
    }
  show_line (job, 'C', shown);

  if (tracing (job))
    {
      MsEvent *event = new_event (job, MS_EVENT_COMMAND);

      ms_event_set_string (event, "text", shown);
      /* SASL responses (RFC 4954 §4) are not commands and have no verb. */
      if (state != MS_SMTP_CLIENT_STATE_AUTH_LOGIN && state != MS_SMTP_CLIENT_STATE_AUTH_LOGIN_USER)
        {
          g_autofree char *verb = g_strndup (text, strcspn (text, " "));
          g_autofree char *upper = g_ascii_strup (verb, -1);
          ms_event_set_string (event, "verb", upper);
        }
      if (flags & MS_SMTP_CLIENT_TRACE_SECRET)
        ms_event_set_bool (event, "secret", TRUE);
      ms_event_set_string (event, "state", ms_smtp_client_state_to_string (state));
      ms_trace_bus_emit (job->bus, event);
    }
}

static void
trace_data (SendJob *job,
            const char *text,
            gsize len)
{
  if (job->show != NULL)
    {
      const char *p = text;
      const char *end = text + len;

      while (p < end)
        {
          const char *crlf = g_strstr_len (p, end - p, "\r\n");
          g_autofree char *line = g_strndup (p, crlf ? (gsize) (crlf - p) : (gsize) (end - p));

          show_line (job, 'C', line);
          p = crlf ? crlf + 2 : end;
        }
    }

  if (tracing (job))
    {
      MsEvent *event = new_event (job, MS_EVENT_DATA);

      ms_event_set_int (event, "bytes", (gint64) len);
      ms_event_set_bytes_text (event, "text", text, MIN (len, TRACE_DATA_MAX));
      if (len > TRACE_DATA_MAX)
        ms_event_set_bool (event, "truncated", TRUE);
      ms_event_set_string (event, "state", engine_state_name (job));
      ms_trace_bus_emit (job->bus, event);
    }
}

static void
trace_reply (SendJob *job,
             const char *text,
             gsize len)
{
  if (job->show != NULL)
    {
      g_autofree char *valid = g_utf8_make_valid (text, len);
      show_line (job, 'S', valid);
    }

  if (tracing (job))
    {
      MsEvent *event = new_event (job, MS_EVENT_REPLY);

      ms_event_set_bytes_text (event, "text", text, len);
      if (len >= 3 && g_ascii_isdigit (text[0]) && g_ascii_isdigit (text[1]) && g_ascii_isdigit (text[2]))
        ms_event_set_int (event, "code", (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
      ms_event_set_string (event, "state", engine_state_name (job));
      ms_trace_bus_emit (job->bus, event);
    }
}

static void
engine_trace_cb (char direction,
                 const char *text,
                 gsize len,
                 MsSmtpClientTraceFlags flags,
                 gpointer user_data)
{
  SendJob *job = user_data;

  if (direction == 'S')
    trace_reply (job, text, len);
  else if (flags & MS_SMTP_CLIENT_TRACE_DATA)
    trace_data (job, text, len);
  else
    trace_command (job, text, flags);
}

static void
engine_state_changed_cb (MsSmtpClientState old_state,
                         MsSmtpClientState new_state,
                         gpointer user_data)
{
  SendJob *job = user_data;
  MsEvent *event;

  if (!tracing (job))
    return;
  event = new_event (job, MS_EVENT_STATE);
  ms_event_set_string (event, "from", ms_smtp_client_state_to_string (old_state));
  ms_event_set_string (event, "to", ms_smtp_client_state_to_string (new_state));
  ms_trace_bus_emit (job->bus, event);
}

static void
emit_session_open (SendJob *job)
{
  MsEvent *event;

  if (!tracing (job))
    return;
  event = new_event (job, MS_EVENT_SESSION_OPEN);
  ms_conn_describe_endpoints (job->conn, event);
  ms_event_set_bool (event, "tls", job->tls == MS_SMTP_TLS_IMPLICIT);
  ms_trace_bus_emit (job->bus, event);
}

static void
emit_tls (SendJob *job,
          gboolean ok,
          const char *error)
{
  MsEvent *event;

  if (!tracing (job))
    return;
  event = new_event (job, MS_EVENT_TLS);
  ms_conn_describe_tls (job->conn, event, ok, error);
  ms_trace_bus_emit (job->bus, event);
}

static void
emit_session_close (SendJob *job,
                    const char *reason)
{
  MsEvent *event;

  if (!tracing (job))
    return;
  event = new_event (job, MS_EVENT_SESSION_CLOSE);
  ms_event_set_string (event, "reason", reason);
  ms_event_set_string (event, "state", engine_state_name (job));
  if (job->result != NULL)
    ms_event_set_string (event, "result", ms_smtp_send_status_to_string (job->result->status));
  ms_trace_bus_emit (job->bus, event);
}

/* --- completion ------------------------------------------------------ */

static void
recipient_free (gpointer data)
{
  MsSmtpRecipientResult *rcpt = data;

  g_free (rcpt->address);
  g_free (rcpt->enhanced);
  g_free (rcpt->text);
  g_free (rcpt);
}

/* A result made here, for failures before the engine ran: no recipient
 * was tried, so each has code 0. */
static MsSmtpSendResult *
early_result (SendJob *job,
              MsSmtpSendStatus status,
              char *text)
{
  MsSmtpSendResult *result = g_new0 (MsSmtpSendResult, 1);

  result->status = status;
  result->text = text;
  result->recipients = g_ptr_array_new_with_free_func (recipient_free);
  for (guint i = 0; job->rcpt_to[i] != NULL; i++)
    {
      MsSmtpRecipientResult *rcpt = g_new0 (MsSmtpRecipientResult, 1);
      rcpt->address = g_strdup (job->rcpt_to[i]);
      g_ptr_array_add (result->recipients, rcpt);
    }
  return result;
}

/* Hands the result (or the cancellation) to the caller and drops the
 * job's reference on its task. */
static void
job_complete (SendJob *job)
{
  g_autoptr(GTask) task = g_steal_pointer (&job->task);

  g_assert (task != NULL);
  if (job->cancelled)
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED, "sending was cancelled");
  else
    {
      g_assert (job->result != NULL);
      g_task_return_pointer (task, g_steal_pointer (&job->result),
                             (GDestroyNotify) ms_smtp_send_result_free);
    }
}

static void
job_complete_early (SendJob *job,
                    MsSmtpSendStatus status,
                    char *text)
{
  g_clear_pointer (&job->result, ms_smtp_send_result_free);
  job->result = early_result (job, status, text);
  job_complete (job);
}

/* --- engine output --------------------------------------------------- */

static void
engine_send_cb (const char *data,
                gsize len,
                gpointer user_data)
{
  SendJob *job = user_data;

  ms_conn_write (job->conn, data, len);
}

static void
engine_start_tls_cb (gpointer user_data)
{
  SendJob *job = user_data;

  ms_conn_start_tls_client (job->conn, job->tls_ctx, job->host);
}

static void
engine_done_cb (MsSmtpSendResult *result,
                gpointer user_data)
{
  SendJob *job = user_data;

  g_clear_pointer (&job->result, ms_smtp_send_result_free);
  job->result = result;
  /* After QUIT, or when the stream is no longer usable: we are finished
   * either way. The task completes in the closed callback. */
  if (!ms_conn_is_closed (job->conn))
    ms_conn_close_after_flush (job->conn);
}

static const MsSmtpClientOutput engine_output = {
  .send = engine_send_cb,
  .start_tls = engine_start_tls_cb,
  .done = engine_done_cb,
  .trace = engine_trace_cb,
  .state_changed = engine_state_changed_cb,
};

/* --- connection callbacks -------------------------------------------- */

static void
conn_line_cb (MsConn *conn,
              const char *line,
              gsize len,
              MsLineFlags flags,
              gpointer user_data)
{
  SendJob *job = user_data;

  /* A truncated line arrives MS_SMTP_CLIENT_DEFAULT_MAX_LINE_LENGTH + 1
   * long (see connected_cb), which the engine refuses as too long. */
  ms_smtp_client_feed_line (job->engine, line, len);
}

static void
conn_tls_done_cb (MsConn *conn,
                  gboolean ok,
                  const char *error,
                  gpointer user_data)
{
  SendJob *job = user_data;

  if (ok)
    {
      const char *version = ms_conn_get_tls_version (conn);
      const char *cipher = ms_conn_get_tls_cipher (conn);
      const char *subject = ms_conn_get_tls_subject (conn);
      g_autofree char *note = g_strdup_printf ("TLS handshake done: %s, %s, server certificate %s",
                                               version ? version : "?", cipher ? cipher : "?",
                                               subject ? subject : "(none)");
      show_line (job, '*', note);
    }
  else
    {
      g_autofree char *note = g_strdup_printf ("TLS handshake failed: %s", error ? error : "unknown error");
      show_line (job, '*', note);
    }
  /* A failed handshake is an event too, as on the server side. */
  emit_tls (job, ok, error);

  if (ms_smtp_client_get_state (job->engine) == MS_SMTP_CLIENT_STATE_TLS_HANDSHAKE)
    ms_smtp_client_tls_done (job->engine, ok, error);
  else if (!ok)
    {
      /* Implicit TLS (RFC 8314 §3.3): the handshake comes before the greeting. */
      g_autofree char *text = g_strdup_printf ("the TLS handshake with %s:%u failed: %s",
                                               job->host, job->port, error ? error : "unknown error");
      ms_smtp_client_abort (job->engine, MS_SMTP_SEND_STATUS_TLS_FAILURE, text);
    }
}

static void
conn_idle_cb (MsConn *conn,
              gpointer user_data)
{
  SendJob *job = user_data;
  g_autofree char *text = g_strdup_printf ("no reply from %s:%u within %u s (state %s)",
                                           job->host, job->port, job->timeout_s,
                                           engine_state_name (job));

  ms_smtp_client_abort (job->engine, MS_SMTP_SEND_STATUS_TEMP_FAILURE, text);
}

static void
conn_closed_cb (MsConn *conn,
                const char *reason,
                gpointer user_data)
{
  SendJob *job = user_data;

  if (!ms_smtp_client_is_done (job->engine))
    ms_smtp_client_connection_closed (job->engine, reason);
  emit_session_close (job, reason);
  job_complete (job);
}

static const MsConnCallbacks conn_callbacks = {
  .line = conn_line_cb,
  .tls_done = conn_tls_done_cb,
  .idle = conn_idle_cb,
  .closed = conn_closed_cb,
};

/* --- connecting ------------------------------------------------------ */

static gboolean
connect_timeout_cb (gpointer user_data)
{
  SendJob *job = user_data;

  g_clear_pointer (&job->connect_timeout, g_source_unref);
  job->connect_timed_out = TRUE;
  g_cancellable_cancel (job->connect_cancellable);
  return G_SOURCE_REMOVE;
}

static void
connected_cb (GObject *source,
              GAsyncResult *res,
              gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  SendJob *job = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  MsConnLimits limits = { 0 };
  MsSmtpClientParams engine_params = { 0 };

  if (job->connect_timeout != NULL)
    {
      g_source_destroy (job->connect_timeout);
      g_clear_pointer (&job->connect_timeout, g_source_unref);
    }
  connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), res, &error);
  job->task = g_steal_pointer (&task);

  if (job->cancelled)
    {
      job_complete (job);
      return;
    }
  if (connection == NULL)
    {
      if (job->connect_timed_out)
        job_complete_early (job, MS_SMTP_SEND_STATUS_TEMP_FAILURE,
                            g_strdup_printf ("connecting to %s:%u timed out after %u s",
                                             job->host, job->port, job->timeout_s));
      else
        job_complete_early (job, MS_SMTP_SEND_STATUS_TEMP_FAILURE,
                            g_strdup_printf ("cannot connect to %s:%u: %s",
                                             job->host, job->port, error->message));
      return;
    }

  engine_params.helo_name = job->helo_name;
  engine_params.tls = job->tls;
  engine_params.username = job->username;
  engine_params.password = job->password;
  engine_params.mail_from = job->mail_from;
  engine_params.rcpt_to = (const char * const *) job->rcpt_to;
  engine_params.message = job->message;
  job->engine = ms_smtp_client_new (&engine_params, &engine_output, job);

  /* One octet more than the engine accepts, so an over-long line reaches
   * the engine as too long rather than silently cut. */
  limits.max_line = MS_SMTP_CLIENT_DEFAULT_MAX_LINE_LENGTH + 1;
  limits.idle_timeout_s = job->timeout_s;
  job->conn = ms_conn_new (connection, &limits, &conn_callbacks, job);

  if (job->bus != NULL)
    job->session_id = ms_trace_bus_new_session_id (job->bus, job->trace_proto);
  emit_session_open (job);

  ms_conn_start (job->conn);
  if (job->tls == MS_SMTP_TLS_IMPLICIT)
    ms_conn_start_tls_client (job->conn, job->tls_ctx, job->host);
}

static void
cancelled_cb (GCancellable *cancellable,
              gpointer user_data)
{
  SendJob *job = user_data;

  job->cancelled = TRUE;
  if (job->conn != NULL)
    ms_conn_close (job->conn);
  else
    g_cancellable_cancel (job->connect_cancellable);
}

/* --- public ---------------------------------------------------------- */

/* A CR or LF would let an address smuggle in a second command; angle
 * brackets and spaces would break the path syntax (RFC 5321 §4.1.2). */
static gboolean
address_is_safe (const char *address)
{
  return strpbrk (address, "\r\n<> ") == NULL;
}

static gboolean
validate_params (const MsSmtpSendParams *params,
                 GError **error)
{
  if (params->host == NULL || params->host[0] == '\0' || params->port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no server host or port given");
      return FALSE;
    }
  if (params->mail_from == NULL || !address_is_safe (params->mail_from))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "the sender address is missing or not a plain address");
      return FALSE;
    }
  if (params->rcpt_to == NULL || params->rcpt_to[0] == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no recipient given");
      return FALSE;
    }
  for (guint i = 0; params->rcpt_to[i] != NULL; i++)
    if (params->rcpt_to[i][0] == '\0' || !address_is_safe (params->rcpt_to[i]))
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "recipient \"%s\" is not a plain address", params->rcpt_to[i]);
        return FALSE;
      }
  if (params->message == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no message given");
      return FALSE;
    }
  if (params->helo_name != NULL && (params->helo_name[0] == '\0' || strpbrk (params->helo_name, "\r\n ")))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad HELO name");
      return FALSE;
    }
  if (params->username != NULL &&
      (params->password == NULL || strpbrk (params->username, "\r\n") != NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a user name needs a password, and neither may hold a line break");
      return FALSE;
    }
  return TRUE;
}

void
ms_smtp_send_async (const MsSmtpSendParams *params,
                    GCancellable *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketClient) socket_client = NULL;
  g_autoptr(GSocketConnectable) address = NULL;
  SendJob *job;

  g_return_if_fail (params != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, ms_smtp_send_async);
  if (!validate_params (params, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  job = g_new0 (SendJob, 1);
  job->host = g_strdup (params->host);
  job->port = params->port;
  job->tls = params->tls;
  job->helo_name = g_strdup (params->helo_name);
  job->username = g_strdup (params->username);
  job->password = g_strdup (params->password);
  job->mail_from = g_strdup (params->mail_from);
  job->rcpt_to = g_strdupv ((char **) params->rcpt_to);
  job->message = g_bytes_ref (params->message);
  job->timeout_s = params->timeout_s ? params->timeout_s : DEFAULT_TIMEOUT_S;
  job->bus = params->bus ? ms_trace_bus_ref (params->bus) : NULL;
  job->trace_server = g_strdup (params->trace_server);
  job->trace_proto = g_strdup (params->trace_proto ? params->trace_proto : "smtp");
  job->show = params->show;
  job->show_data = params->show_data;
  g_task_set_task_data (task, job, send_job_free);

  if (job->tls != MS_SMTP_TLS_NONE)
    {
      /* Our demo servers use self-signed certificates: no verification,
       * but the subject is still reported in the tls event. */
      job->tls_ctx = ms_tls_client_context_new (FALSE, &error);
      if (job->tls_ctx == NULL)
        {
          job->task = g_steal_pointer (&task);
          job_complete_early (job, MS_SMTP_SEND_STATUS_TLS_FAILURE,
                              g_strdup_printf ("cannot set up TLS: %s", error->message));
          return;
        }
    }

  if (cancellable != NULL)
    {
      job->cancellable = g_object_ref (cancellable);
      if (g_cancellable_is_cancelled (cancellable))
        {
          job->cancelled = TRUE;
          job->task = g_steal_pointer (&task);
          job_complete (job);
          return;
        }
      job->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (cancelled_cb), job, NULL);
    }

  job->connect_cancellable = g_cancellable_new ();
  job->connect_timeout = g_timeout_source_new_seconds (job->timeout_s);
  g_source_set_callback (job->connect_timeout, connect_timeout_cb, job, NULL);
  g_source_attach (job->connect_timeout, g_main_context_get_thread_default ());
  socket_client = g_socket_client_new ();
  address = g_network_address_new (job->host, job->port);
  g_socket_client_connect_async (socket_client, address, job->connect_cancellable,
                                 connected_cb, g_steal_pointer (&task));
}

MsSmtpSendResult *
ms_smtp_send_finish (GAsyncResult *result,
                     GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ms_smtp_send_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
