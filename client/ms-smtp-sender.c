/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-smtp-sender"

#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "ms-client-conn.h"
#include "ms-smtp-sender.h"

/* RFC 5321 §4.5.3.2.1: wait at least 5 minutes for the greeting. */
#define DEFAULT_TIMEOUT_S 300

typedef struct {
  /* Copies of the parameters. */
  MsSmtpTlsMode tls;
  char *helo_name;
  char *username;
  char *password;       /* wiped in send_job_free() */
  char *mail_from;
  GStrv rcpt_to;
  GBytes *message;

  MsClientConn *cc;
  MsSmtpClient *engine;
  MsSmtpSendResult *result;
} SendJob;

static void
send_job_free (gpointer data)
{
  SendJob *job = data;

  g_free (job->helo_name);
  g_free (job->username);
  if (job->password != NULL)
    OPENSSL_cleanse (job->password, strlen (job->password));
  g_free (job->password);
  g_free (job->mail_from);
  g_strfreev (job->rcpt_to);
  g_clear_pointer (&job->message, g_bytes_unref);
  g_clear_pointer (&job->engine, ms_smtp_client_free);
  g_clear_pointer (&job->cc, ms_client_conn_free);
  g_clear_pointer (&job->result, ms_smtp_send_result_free);
  g_free (job);
}

/* --- trace events and --show ----------------------------------------- */

static const char *
engine_state_name (gpointer data)
{
  SendJob *job = data;

  return ms_smtp_client_state_to_string (ms_smtp_client_get_state (job->engine));
}

static void
trace_data (SendJob *job,
            const char *text,
            gsize len)
{
  if (job->cc->show != NULL)
    {
      const char *p = text;
      const char *end = text + len;

      while (p < end)
        {
          const char *crlf = g_strstr_len (p, end - p, "\r\n");
          g_autofree char *line = g_strndup (p, crlf ? (gsize) (crlf - p) : (gsize) (end - p));

          ms_client_conn_show (job->cc, 'C', line);
          p = crlf ? crlf + 2 : end;
        }
    }
  ms_client_conn_emit_data (job->cc, text, len, engine_state_name (job));
}

static void
trace_reply (SendJob *job,
             const char *text,
             gsize len)
{
  MsEvent *event = NULL;

  ms_client_conn_trace_reply (job->cc, text, len, engine_state_name (job), &event);
  if (event == NULL)
    return;
  if (len >= 3 && g_ascii_isdigit (text[0]) && g_ascii_isdigit (text[1]) && g_ascii_isdigit (text[2]))
    ms_event_set_int (event, "code", (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0'));
  ms_client_conn_emit (job->cc, event);
}

static void
engine_trace_cb (char direction,
                 const char *text,
                 gsize len,
                 MsSmtpClientTraceFlags flags,
                 gpointer user_data)
{
  SendJob *job = user_data;
  MsSmtpClientState state = ms_smtp_client_get_state (job->engine);

  if (direction == 'S')
    trace_reply (job, text, len);
  else if (flags & MS_SMTP_CLIENT_TRACE_DATA)
    trace_data (job, text, len);
  else
    /* SASL responses (RFC 4954 §4) are not commands and have no verb. */
    ms_client_conn_trace_command (job->cc, text, (flags & MS_SMTP_CLIENT_TRACE_SECRET) != 0,
                                  ms_smtp_client_mask_secret,
                                  state != MS_SMTP_CLIENT_STATE_AUTH_LOGIN &&
                                  state != MS_SMTP_CLIENT_STATE_AUTH_LOGIN_USER,
                                  FALSE, ms_smtp_client_state_to_string (state));
}

static void
engine_state_changed_cb (MsSmtpClientState old_state,
                         MsSmtpClientState new_state,
                         gpointer user_data)
{
  SendJob *job = user_data;

  ms_client_conn_emit_state (job->cc, ms_smtp_client_state_to_string (old_state),
                             ms_smtp_client_state_to_string (new_state));
}

/* --- early results --------------------------------------------------- */

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

/* --- engine output --------------------------------------------------- */

static void
engine_send_cb (const char *data,
                gsize len,
                gpointer user_data)
{
  SendJob *job = user_data;

  ms_client_conn_send (job->cc, data, len);
}

static void
engine_start_tls_cb (gpointer user_data)
{
  SendJob *job = user_data;

  ms_client_conn_start_tls (job->cc);
}

static void
engine_done_cb (MsSmtpSendResult *result,
                gpointer user_data)
{
  SendJob *job = user_data;

  g_clear_pointer (&job->result, ms_smtp_send_result_free);
  job->result = result;
  /* After QUIT, or when the stream is no longer usable: we are finished
   * either way. */
  ms_client_conn_finish (job->cc);
}

static const MsSmtpClientOutput engine_output = {
  .send = engine_send_cb,
  .start_tls = engine_start_tls_cb,
  .done = engine_done_cb,
  .trace = engine_trace_cb,
  .state_changed = engine_state_changed_cb,
};

/* --- the job as MsClientConn runs it --------------------------------- */

static void
conn_connected_cb (gpointer data,
                   GSocketConnection *connection)
{
  SendJob *job = data;
  MsSmtpClientParams engine_params = { 0 };

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
  ms_client_conn_open (job->cc, connection, MS_SMTP_CLIENT_DEFAULT_MAX_LINE_LENGTH + 1);
  ms_client_conn_start (job->cc);
}

static void
conn_line_cb (gpointer data,
              const char *line,
              gsize len)
{
  SendJob *job = data;

  ms_smtp_client_feed_line (job->engine, line, len);
}

static gboolean
conn_tls_done_cb (gpointer data,
                  gboolean ok,
                  const char *error)
{
  SendJob *job = data;

  if (ms_smtp_client_get_state (job->engine) != MS_SMTP_CLIENT_STATE_TLS_HANDSHAKE)
    return FALSE;
  ms_smtp_client_tls_done (job->engine, ok, error);
  return TRUE;
}

static void
conn_fail_cb (gpointer data,
              MsClientConnFailure failure,
              const char *text)
{
  SendJob *job = data;
  MsSmtpSendStatus status = MS_SMTP_SEND_STATUS_TEMP_FAILURE;

  if (failure == MS_CLIENT_CONN_FAILURE_TLS)
    status = MS_SMTP_SEND_STATUS_TLS_FAILURE;
  if (job->engine != NULL)
    ms_smtp_client_abort (job->engine, status, text);
  else
    {
      g_clear_pointer (&job->result, ms_smtp_send_result_free);
      job->result = early_result (job, status, g_strdup (text));
    }
}

static void
conn_closed_cb (gpointer data,
                const char *reason)
{
  SendJob *job = data;

  ms_smtp_client_connection_closed (job->engine, reason);
}

static const char *
result_status (gpointer data)
{
  SendJob *job = data;

  return job->result ? ms_smtp_send_status_to_string (job->result->status) : NULL;
}

static const MsClientConnEngine conn_engine = {
  .cancelled_text = "sending was cancelled",
  .result_offset = G_STRUCT_OFFSET (SendJob, result),
  .result_free = (GDestroyNotify) ms_smtp_send_result_free,
  .connected = conn_connected_cb,
  .feed_line = conn_line_cb,
  .tls_done = conn_tls_done_cb,
  .fail = conn_fail_cb,
  .connection_closed = conn_closed_cb,
  .state_name = engine_state_name,
  .result_status = result_status,
};

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
  job->tls = params->tls;
  job->helo_name = g_strdup (params->helo_name);
  job->username = g_strdup (params->username);
  job->password = g_strdup (params->password);
  job->mail_from = g_strdup (params->mail_from);
  job->rcpt_to = g_strdupv ((char **) params->rcpt_to);
  job->message = g_bytes_ref (params->message);
  {
    MsClientConnParams conn_params = {
      .host = params->host,
      .port = params->port,
      .tls = params->tls != MS_SMTP_TLS_NONE,
      .implicit_tls = params->tls == MS_SMTP_TLS_IMPLICIT,
      .timeout_s = params->timeout_s ? params->timeout_s : DEFAULT_TIMEOUT_S,
      .bus = params->bus,
      .trace_server = params->trace_server,
      .proto = params->trace_proto ? params->trace_proto : "smtp",
      .show = params->show,
      .show_data = params->show_data,
    };
    job->cc = ms_client_conn_new (&conn_params);
  }
  g_task_set_task_data (task, job, send_job_free);
  ms_client_conn_run (job->cc, g_steal_pointer (&task), cancellable, &conn_engine, job);
}

MsSmtpSendResult *
ms_smtp_send_finish (GAsyncResult *result,
                     GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ms_smtp_send_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
