/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-pop3-fetch"

#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include <glib/gstdio.h>

#include "ms-client-conn.h"
#include "ms-local-maildir.h"
#include "ms-pop3-fetch.h"

/* RFC 1939 §3 gives the server's autologout timer at least 10 minutes;
 * a client waiting 5 minutes for any one response is patient enough. */
#define DEFAULT_TIMEOUT_S 300

typedef struct {
  /* Copies of the parameters. */
  MsPop3ClientTlsMode tls;
  MsPop3ClientAuth auth;
  char *username;
  char *password;       /* wiped in fetch_job_free() */
  MsPop3FetchJob kind;
  guint top_msg;
  guint top_lines;
  MsPop3FetchMode mode;
  char *maildir_path;
  gsize max_message_size;

  MsClientConn *cc;
  MsPop3Client *engine;
  MsPop3FetchResult *result;
  /* A failure of the job itself, which wins over an OK session. */
  MsPop3ClientStatus job_status;
  char *job_error;

  /* FETCH. */
  MsLocalMaildir *maildir;
  char *account;
  GHashTable *known_uids;   /* in the state file: already in the Maildir */
  GHashTable *server_uids;  /* on the server now, from UIDL */
  GHashTable *deleted_uids; /* DELE answered +OK in this session */
  GHashTable *by_number;    /* message number -> MsPop3FetchMessage* (borrowed) */
  gboolean listed;          /* STAT, LIST and UIDL are answered */
  gboolean quit_queued;
  guint next_message;       /* index into result->messages */
} FetchJob;

static void
fetch_message_free (gpointer data)
{
  MsPop3FetchMessage *message = data;

  g_free (message->uid);
  g_free (message);
}

void
ms_pop3_fetch_result_free (MsPop3FetchResult *result)
{
  if (result == NULL)
    return;
  g_free (result->text);
  g_free (result->local_error);
  g_clear_pointer (&result->messages, g_ptr_array_unref);
  g_clear_pointer (&result->top, g_bytes_unref);
  g_free (result->top_error);
  g_free (result->new_dir);
  g_free (result);
}

char *
ms_pop3_fetch_result_summary (const MsPop3FetchResult *result,
                              MsPop3FetchMode mode)
{
  g_autoptr(GString) text = g_string_new (NULL);

  g_return_val_if_fail (result != NULL, NULL);

  g_string_append_printf (text, "%u new message%s saved to %s (%" G_GUINT64_FORMAT " bytes)",
                          result->saved, result->saved == 1 ? "" : "s",
                          result->new_dir ? result->new_dir : "?", result->saved_bytes);
  if (mode == MS_POP3_FETCH_MODE_DELETE)
    {
      if (result->committed)
        g_string_append_printf (text, "; %u deleted on the server", result->deleted);
      else
        g_string_append (text, "; nothing deleted on the server (no successful QUIT)");
    }
  else
    g_string_append (text, "; kept on the server");
  if (result->skipped > 0)
    g_string_append_printf (text, "; %u already here from an earlier run", result->skipped);
  if (result->failed > 0)
    g_string_append_printf (text, "; %u not fetched", result->failed);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
fetch_job_free (gpointer data)
{
  FetchJob *job = data;

  g_free (job->username);
  if (job->password != NULL)
    OPENSSL_cleanse (job->password, strlen (job->password));
  g_free (job->password);
  g_free (job->maildir_path);
  g_clear_pointer (&job->engine, ms_pop3_client_free);
  g_clear_pointer (&job->cc, ms_client_conn_free);
  g_clear_pointer (&job->result, ms_pop3_fetch_result_free);
  g_free (job->job_error);
  g_clear_pointer (&job->maildir, ms_local_maildir_free);
  g_free (job->account);
  g_clear_pointer (&job->known_uids, g_hash_table_unref);
  g_clear_pointer (&job->server_uids, g_hash_table_unref);
  g_clear_pointer (&job->deleted_uids, g_hash_table_unref);
  g_clear_pointer (&job->by_number, g_hash_table_unref);
  g_free (job);
}

/* --- trace events and --show ----------------------------------------- */

static const char *
engine_state_name (gpointer data)
{
  FetchJob *job = data;

  return ms_pop3_client_state_to_string (ms_pop3_client_get_state (job->engine));
}

#define show_note(job, ...) ms_client_conn_show_note ((job)->cc, __VA_ARGS__)

static void
trace_reply (FetchJob *job,
             const char *text,
             gsize len,
             MsPop3ClientTraceFlags flags)
{
  MsEvent *event = NULL;

  /* Message lines become one `data` event when the message is complete. */
  ms_client_conn_trace_reply (job->cc, text, len, engine_state_name (job),
                              (flags & MS_POP3_CLIENT_TRACE_DATA) ? NULL : &event);
  if (event == NULL)
    return;
  if (!(flags & MS_POP3_CLIENT_TRACE_LISTING))
    {
      if (len >= 3 && g_ascii_strncasecmp (text, "+OK", 3) == 0)
        ms_event_set_string (event, "status", "+OK");
      else if (len >= 4 && g_ascii_strncasecmp (text, "-ERR", 4) == 0)
        ms_event_set_string (event, "status", "-ERR");
      else if (len >= 1 && text[0] == '+')
        ms_event_set_string (event, "status", "+");
    }
  ms_client_conn_emit (job->cc, event);
}

static void
emit_data (FetchJob *job,
           GBytes *message)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (message, &len);

  ms_client_conn_emit_data (job->cc, data, len, engine_state_name (job));
}

static void
engine_trace_cb (char direction,
                 const char *text,
                 gsize len,
                 MsPop3ClientTraceFlags flags,
                 gpointer user_data)
{
  FetchJob *job = user_data;
  MsPop3ClientState state = ms_pop3_client_get_state (job->engine);

  if (direction == 'S')
    trace_reply (job, text, len, flags);
  else
    /* The credentials after "+" (RFC 5034 §4) are not a command. */
    ms_client_conn_trace_command (job->cc, text, (flags & MS_POP3_CLIENT_TRACE_SECRET) != 0,
                                  ms_pop3_client_mask_secret,
                                  state != MS_POP3_CLIENT_STATE_AUTH, FALSE,
                                  ms_pop3_client_state_to_string (state));
}

static void
engine_state_changed_cb (MsPop3ClientState old_state,
                         MsPop3ClientState new_state,
                         gpointer user_data)
{
  FetchJob *job = user_data;

  ms_client_conn_emit_state (job->cc, ms_pop3_client_state_to_string (old_state),
                             ms_pop3_client_state_to_string (new_state));
}

/* --- completion ------------------------------------------------------ */

static void
job_quit (FetchJob *job)
{
  if (job->quit_queued)
    return;
  job->quit_queued = TRUE;
  ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_QUIT, 0, 0);
}

/* The job cannot go on, though the session is sound: say why, and QUIT.
 * In delete mode QUIT commits only DELEs of messages already saved. */
static void
job_fail_and_quit (FetchJob *job,
                   MsPop3ClientStatus status,
                   char *text)
{
  if (job->job_error == NULL)
    {
      job->job_status = status;
      job->job_error = text;
    }
  else
    g_free (text);
  job_quit (job);
}

/* A local failure (disk, state file): stop at once without QUIT, so the
 * server removes nothing (RFC 1939 §6). What is saved stays recorded in
 * the state file, so the next run neither loses nor duplicates. */
static void
job_abort_local (FetchJob *job,
                 const char *what,
                 const GError *error)
{
  g_autofree char *text = g_strdup_printf ("%s: %s", what, error->message);

  if (job->result->local_error == NULL)
    job->result->local_error = g_strdup (text);
  show_note (job, "local error: %s", text);
  ms_pop3_client_abort (job->engine, MS_POP3_CLIENT_STATUS_ABORTED, text);
}

/* --- the jobs -------------------------------------------------------- */

static MsPop3FetchMessage *
find_message (FetchJob *job,
              guint msg)
{
  return g_hash_table_lookup (job->by_number, GUINT_TO_POINTER (msg));
}

static void
record_listing (FetchJob *job,
                const MsPop3ClientResponse *response)
{
  for (guint i = 0; i < response->entries->len; i++)
    {
      const MsPop3ClientListEntry *entry = &g_array_index (response->entries, MsPop3ClientListEntry, i);
      MsPop3FetchMessage *message = find_message (job, entry->msg);

      if (message == NULL)
        {
          message = g_new0 (MsPop3FetchMessage, 1);
          message->msg = entry->msg;
          g_ptr_array_add (job->result->messages, message);
          g_hash_table_insert (job->by_number, GUINT_TO_POINTER (entry->msg), message);
        }
      if (response->command == MS_POP3_CLIENT_CMD_LIST)
        message->size = entry->size;
      else
        {
          g_free (message->uid);
          message->uid = g_strdup (entry->uid);
          g_hash_table_add (job->server_uids, g_strdup (entry->uid));
        }
    }
}

/* FETCH: the message is saved; remember it before anything else happens
 * to it, then (delete mode) DELE it. */
static gboolean
save_message (FetchJob *job,
              const MsPop3FetchMessage *message,
              GBytes *content)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *name = NULL;
  guint64 size = 0;

  name = ms_local_maildir_deliver (job->maildir, content, &size, &error);
  if (name == NULL)
    {
      g_autofree char *what = g_strdup_printf ("cannot save message %u", message->msg);
      job_abort_local (job, what, error);
      return FALSE;
    }
  if (message->uid != NULL)
    {
      g_hash_table_add (job->known_uids, g_strdup (message->uid));
      if (!ms_local_maildir_save_uids (job->maildir, job->account, job->known_uids, &error))
        {
          /* Unrecorded, the file would be fetched again next time: take it
           * back out, so a rerun neither loses nor duplicates it. */
          g_autofree char *path = g_build_filename (job->result->new_dir, name, NULL);
          g_unlink (path);
          g_hash_table_remove (job->known_uids, message->uid);
          job_abort_local (job, "cannot record the download in the state file", error);
          return FALSE;
        }
    }
  job->result->saved++;
  job->result->saved_bytes += size;
  show_note (job, "message %u saved as %s/%s (%" G_GUINT64_FORMAT " bytes)",
             message->msg, job->result->new_dir, name, size);
  return TRUE;
}

/* FETCH: after the listing, each message in turn. Called from `ready`
 * whenever the queue is empty. */
static void
fetch_next (FetchJob *job)
{
  if (!job->listed || job->quit_queued)
    return;
  if (job->mode == MS_POP3_FETCH_MODE_KEEP && !job->result->have_uids &&
      job->result->messages->len > 0)
    {
      job_fail_and_quit (job, MS_POP3_CLIENT_STATUS_SERVER_ERROR,
                         g_strdup ("the server refused UIDL, and keep mode needs it to remember "
                                   "what was downloaded (RFC 1939 §7); nothing was fetched"));
      return;
    }

  while (job->next_message < job->result->messages->len)
    {
      MsPop3FetchMessage *message = g_ptr_array_index (job->result->messages, job->next_message++);
      gboolean known = message->uid != NULL && g_hash_table_contains (job->known_uids, message->uid);

      if (known)
        {
          job->result->skipped++;
          if (job->mode == MS_POP3_FETCH_MODE_DELETE)
            {
              /* Saved by an earlier run that did not reach QUIT. */
              show_note (job, "message %u (%s) is already here; only deleting it",
                         message->msg, message->uid);
              ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_DELE, message->msg, 0);
              return;
            }
          continue;
        }
      if (message->uid == NULL && job->mode == MS_POP3_FETCH_MODE_KEEP)
        {
          show_note (job, "message %u has no UIDL; not fetched", message->msg);
          job->result->failed++;
          continue;
        }
      if (message->size > job->max_message_size)
        {
          show_note (job, "message %u (%" G_GUINT64_FORMAT " bytes) is over the limit of %"
                     G_GSIZE_FORMAT " bytes; not fetched", message->msg, message->size,
                     job->max_message_size);
          job->result->failed++;
          continue;
        }
      ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_RETR, message->msg, 0);
      return;
    }

  job_quit (job);
}

static void
engine_ready_cb (gpointer user_data)
{
  FetchJob *job = user_data;

  if (job->kind == MS_POP3_FETCH_JOB_FETCH)
    fetch_next (job);
}

static void
engine_response_cb (const MsPop3ClientResponse *response,
                    gpointer user_data)
{
  FetchJob *job = user_data;
  MsPop3FetchResult *result = job->result;

  if (response->message != NULL)
    emit_data (job, response->message);

  switch (response->command)
    {
    case MS_POP3_CLIENT_CMD_STAT:
      if (response->ok)
        {
          result->count = response->count;
          result->total_size = response->size;
        }
      break;
    case MS_POP3_CLIENT_CMD_LIST:
      if (!response->ok)
        {
          job_fail_and_quit (job, MS_POP3_CLIENT_STATUS_SERVER_ERROR,
                             g_strdup_printf ("LIST refused: -ERR %s", response->text));
          return;
        }
      record_listing (job, response);
      break;
    case MS_POP3_CLIENT_CMD_UIDL:
      /* UIDL is optional (RFC 1939 §7); without it, no memory. */
      if (response->ok)
        {
          result->have_uids = TRUE;
          record_listing (job, response);
        }
      else
        show_note (job, "the server refused UIDL: %s", response->text);
      if (job->kind == MS_POP3_FETCH_JOB_FETCH)
        job->listed = TRUE;
      break;
    case MS_POP3_CLIENT_CMD_TOP:
      if (response->ok)
        result->top = g_bytes_ref (response->message);
      else
        {
          result->top_error = g_strdup (response->text);
          job_fail_and_quit (job, MS_POP3_CLIENT_STATUS_SERVER_ERROR,
                             g_strdup_printf ("TOP %u %u refused: -ERR %s",
                                              response->msg, response->lines, response->text));
        }
      break;
    case MS_POP3_CLIENT_CMD_RETR:
      {
        MsPop3FetchMessage *message = find_message (job, response->msg);

        g_assert (message != NULL);
        if (!response->ok)
          {
            /* Another session may have removed it; the rest still count. */
            show_note (job, "RETR %u refused: %s", response->msg, response->text);
            result->failed++;
            break;
          }
        if (!save_message (job, message, response->message))
          return;
        if (job->mode == MS_POP3_FETCH_MODE_DELETE)
          ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_DELE, response->msg, 0);
      }
      break;
    case MS_POP3_CLIENT_CMD_DELE:
      {
        MsPop3FetchMessage *message = find_message (job, response->msg);

        if (response->ok)
          {
            result->deleted++;
            if (message != NULL && message->uid != NULL)
              g_hash_table_add (job->deleted_uids, g_strdup (message->uid));
          }
        else
          {
            show_note (job, "DELE %u refused: %s", response->msg, response->text);
            result->failed++;
          }
      }
      break;
    case MS_POP3_CLIENT_CMD_NOOP:
    case MS_POP3_CLIENT_CMD_RSET:
    case MS_POP3_CLIENT_CMD_QUIT:
    default:
      break;
    }
}

/* After a committed FETCH: the state file keeps only what is still on the
 * server and was not deleted (the UIDLs of removed messages are no use). */
static void
prune_state (FetchJob *job)
{
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  gpointer key;

  if (job->kind != MS_POP3_FETCH_JOB_FETCH || !job->result->have_uids || job->maildir == NULL)
    return;
  g_hash_table_iter_init (&iter, job->known_uids);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!g_hash_table_contains (job->server_uids, key) || g_hash_table_contains (job->deleted_uids, key))
      g_hash_table_iter_remove (&iter);
  if (!ms_local_maildir_save_uids (job->maildir, job->account, job->known_uids, &error))
    {
      if (job->result->local_error == NULL)
        job->result->local_error = g_strdup_printf ("cannot update the state file: %s", error->message);
    }
}

static void
engine_done_cb (MsPop3ClientResult *session,
                gpointer user_data)
{
  FetchJob *job = user_data;
  MsPop3FetchResult *result = job->result;

  result->status = session->status;
  g_free (result->text);
  result->text = g_strdup (session->text);
  result->tls = session->tls;
  result->committed = session->committed;
  if (session->committed)
    prune_state (job);
  if (job->job_error != NULL && result->status == MS_POP3_CLIENT_STATUS_OK)
    {
      result->status = job->job_status;
      g_free (result->text);
      result->text = g_steal_pointer (&job->job_error);
    }
  ms_pop3_client_result_free (session);
  ms_client_conn_finish (job->cc);
}

static void
engine_send_cb (const char *data,
                gsize len,
                gpointer user_data)
{
  FetchJob *job = user_data;

  ms_client_conn_send (job->cc, data, len);
}

static void
engine_start_tls_cb (gpointer user_data)
{
  FetchJob *job = user_data;

  ms_client_conn_start_tls (job->cc);
}

static const MsPop3ClientOutput engine_output = {
  .send = engine_send_cb,
  .start_tls = engine_start_tls_cb,
  .ready = engine_ready_cb,
  .response = engine_response_cb,
  .done = engine_done_cb,
  .trace = engine_trace_cb,
  .state_changed = engine_state_changed_cb,
};

/* --- the job as MsClientConn runs it --------------------------------- */

static void
queue_job (FetchJob *job)
{
  switch (job->kind)
    {
    case MS_POP3_FETCH_JOB_LIST:
      ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_STAT, 0, 0);
      ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_LIST, 0, 0);
      ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_UIDL, 0, 0);
      job_quit (job);
      break;
    case MS_POP3_FETCH_JOB_TOP:
      /* RFC 1939 §7: TOP msg n, with n = 0 for the header alone. */
      ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_TOP, job->top_msg, job->top_lines);
      job_quit (job);
      break;
    case MS_POP3_FETCH_JOB_FETCH:
    default:
      /* The rest is decided in fetch_next() once these are answered. */
      ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_STAT, 0, 0);
      ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_LIST, 0, 0);
      ms_pop3_client_enqueue (job->engine, MS_POP3_CLIENT_CMD_UIDL, 0, 0);
      break;
    }
}

static void
conn_connected_cb (gpointer data,
                   GSocketConnection *connection)
{
  FetchJob *job = data;
  MsPop3ClientParams engine_params = { 0 };

  engine_params.tls = job->tls;
  engine_params.auth = job->auth;
  engine_params.username = job->username;
  engine_params.password = job->password;
  engine_params.max_message_size = job->max_message_size;
  job->engine = ms_pop3_client_new (&engine_params, &engine_output, job);

  /* One octet more than the engine accepts in a message line, so an
   * over-long line reaches the engine as too long rather than silently cut. */
  ms_client_conn_open (job->cc, connection, MS_POP3_CLIENT_DEFAULT_MAX_DATA_LINE_LENGTH + 1);
  queue_job (job);
  ms_client_conn_start (job->cc);
}

static void
conn_line_cb (gpointer data,
              const char *line,
              gsize len)
{
  FetchJob *job = data;

  ms_pop3_client_feed_line (job->engine, line, len);
}

static gboolean
conn_tls_done_cb (gpointer data,
                  gboolean ok,
                  const char *error)
{
  FetchJob *job = data;

  if (ms_pop3_client_get_state (job->engine) != MS_POP3_CLIENT_STATE_TLS_HANDSHAKE)
    return FALSE;
  ms_pop3_client_tls_done (job->engine, ok, error);
  return TRUE;
}

static void
conn_fail_cb (gpointer data,
              MsClientConnFailure failure,
              const char *text)
{
  FetchJob *job = data;
  MsPop3ClientStatus status = MS_POP3_CLIENT_STATUS_TEMP_FAILURE;

  if (failure == MS_CLIENT_CONN_FAILURE_TLS)
    status = MS_POP3_CLIENT_STATUS_TLS_FAILURE;
  if (job->engine != NULL)
    ms_pop3_client_abort (job->engine, status, text);
  else
    {
      job->result->status = status;
      g_free (job->result->text);
      job->result->text = g_strdup (text);
    }
}

static void
conn_closed_cb (gpointer data,
                const char *reason)
{
  FetchJob *job = data;

  ms_pop3_client_connection_closed (job->engine, reason);
}

static const char *
result_status (gpointer data)
{
  FetchJob *job = data;

  return job->result ? ms_pop3_client_status_to_string (job->result->status) : NULL;
}

static const MsClientConnEngine conn_engine = {
  .cancelled_text = "the POP3 job was cancelled",
  .result_offset = G_STRUCT_OFFSET (FetchJob, result),
  .result_free = (GDestroyNotify) ms_pop3_fetch_result_free,
  .connected = conn_connected_cb,
  .feed_line = conn_line_cb,
  .tls_done = conn_tls_done_cb,
  .fail = conn_fail_cb,
  .connection_closed = conn_closed_cb,
  .state_name = engine_state_name,
  .result_status = result_status,
};

/* --- public ---------------------------------------------------------- */

static gboolean
validate_params (const MsPop3FetchParams *params,
                 GError **error)
{
  if (params->host == NULL || params->host[0] == '\0' || params->port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no server host or port given");
      return FALSE;
    }
  /* A CR or LF would smuggle in a second command (RFC 1939 §3). */
  if (params->username == NULL || params->password == NULL || params->username[0] == '\0' ||
      strpbrk (params->username, "\r\n") != NULL || strpbrk (params->password, "\r\n") != NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "POP3 needs a user name and a password, and neither may hold a line break");
      return FALSE;
    }
  if (params->job == MS_POP3_FETCH_JOB_TOP && params->top_msg == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "message numbers start at 1");
      return FALSE;
    }
  if (params->job == MS_POP3_FETCH_JOB_FETCH && (params->maildir == NULL || params->maildir[0] == '\0'))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no local Maildir given");
      return FALSE;
    }
  return TRUE;
}

/* FETCH: open the Maildir and read what was downloaded before, before
 * connecting, so a bad directory costs no session. */
static gboolean
open_maildir (FetchJob *job,
              GError **error)
{
  job->maildir = ms_local_maildir_open (job->maildir_path, error);
  if (job->maildir == NULL)
    return FALSE;
  job->account = ms_local_maildir_account_key (job->username, job->cc->host, job->cc->port);
  job->known_uids = ms_local_maildir_load_uids (job->maildir, job->account, error);
  if (job->known_uids == NULL)
    return FALSE;
  job->result->new_dir = g_build_filename (job->maildir_path, "new", NULL);
  return TRUE;
}

void
ms_pop3_fetch_async (const MsPop3FetchParams *params,
                     GCancellable *cancellable,
                     GAsyncReadyCallback callback,
                     gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  FetchJob *job;

  g_return_if_fail (params != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, ms_pop3_fetch_async);
  if (!validate_params (params, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  job = g_new0 (FetchJob, 1);
  job->tls = params->tls;
  job->auth = params->auth;
  job->username = g_strdup (params->username);
  job->password = g_strdup (params->password);
  job->kind = params->job;
  job->top_msg = params->top_msg;
  job->top_lines = params->top_lines;
  job->mode = params->mode;
  job->maildir_path = g_strdup (params->maildir);
  job->max_message_size = params->max_message_size ? params->max_message_size
                                                   : MS_POP3_CLIENT_DEFAULT_MAX_MESSAGE_SIZE;
  {
    MsClientConnParams conn_params = {
      .host = params->host,
      .port = params->port,
      .tls = params->tls != MS_POP3_CLIENT_TLS_NONE,
      .implicit_tls = params->tls == MS_POP3_CLIENT_TLS_IMPLICIT,
      .timeout_s = params->timeout_s ? params->timeout_s : DEFAULT_TIMEOUT_S,
      .bus = params->bus,
      .trace_server = params->trace_server,
      .proto = "pop3",
      .show = params->show,
      .show_data = params->show_data,
    };
    job->cc = ms_client_conn_new (&conn_params);
  }
  job->server_uids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  job->deleted_uids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  job->by_number = g_hash_table_new (g_direct_hash, g_direct_equal);
  job->result = g_new0 (MsPop3FetchResult, 1);
  job->result->status = MS_POP3_CLIENT_STATUS_TEMP_FAILURE;
  job->result->text = g_strdup ("the session did not finish");
  job->result->messages = g_ptr_array_new_with_free_func (fetch_message_free);
  g_task_set_task_data (task, job, fetch_job_free);

  if (job->kind == MS_POP3_FETCH_JOB_FETCH && !open_maildir (job, &error))
    {
      job->result->status = MS_POP3_CLIENT_STATUS_ABORTED;
      g_free (job->result->text);
      job->result->text = g_strdup_printf ("cannot use the local Maildir: %s", error->message);
      job->result->local_error = g_strdup (error->message);
      g_task_return_pointer (task, g_steal_pointer (&job->result),
                             (GDestroyNotify) ms_pop3_fetch_result_free);
      return;
    }
  ms_client_conn_run (job->cc, g_steal_pointer (&task), cancellable, &conn_engine, job);
}

MsPop3FetchResult *
ms_pop3_fetch_finish (GAsyncResult *result,
                      GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ms_pop3_fetch_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
