/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap-ops"

#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include <gmime/gmime.h>

#include "ms-client-conn.h"
#include "ms-imap-ops.h"

#define DEFAULT_TIMEOUT_S 300
/* RFC 2177 §3: a client should re-issue IDLE at least every 29 minutes,
 * before the server's 30-minute inactivity timer logs it out. */
#define REIDLE_S (29 * 60)

typedef struct {
  /* Copies of the parameters. */
  MsImapClientTlsMode tls;
  MsImapClientAuth auth;
  char *username;
  char *password;              /* wiped in ops_job_free() */
  MsImapOp op;
  char *folder;
  char *name;
  char *new_name;
  guint32 uid;
  gboolean peek;
  GBytes *message;
  GStrv flags;
  char *criteria;
  guint idle_timeout_s;
  GCancellable *stop;
  gulong stop_id;
  void (*change) (const char *text, gpointer user_data);
  gpointer change_data;        /* borrowed */

  MsClientConn *cc;
  MsImapClient *engine;
  MsImapOpsResult *result;

  guint step;                  /* the operation's next step */
  gboolean failed;             /* a step was refused: LOGOUT next */
  gboolean logout_queued;
  gboolean stop_requested;
  gboolean fetched;            /* FETCH, FLAG, UNFLAG: the message answered */
  guint32 exists;              /* IDLE: the last EXISTS */
  gint64 idle_started;         /* IDLE: monotonic time of the first IDLE */
  GSource *idle_timer;
  gboolean idle_again;         /* the timer ended an IDLE to re-issue it */
} OpsJob;

static void
folder_free (gpointer data)
{
  MsImapOpsFolder *folder = data;

  g_free (folder->name);
  g_strfreev (folder->attributes);
  g_free (folder);
}

static void
message_free (gpointer data)
{
  MsImapOpsMessage *message = data;

  g_strfreev (message->flags);
  g_free (message->internal_date);
  g_free (message->date);
  g_free (message->from);
  g_free (message->subject);
  g_free (message);
}

void
ms_imap_ops_result_free (MsImapOpsResult *result)
{
  if (result == NULL)
    return;
  g_free (result->text);
  g_free (result->refusal);
  g_clear_pointer (&result->folders, g_ptr_array_unref);
  g_strfreev (result->status_items);
  g_clear_pointer (&result->messages, g_ptr_array_unref);
  g_clear_pointer (&result->body, g_bytes_unref);
  g_strfreev (result->flags);
  g_free (result->dest_uids);
  g_clear_pointer (&result->uids, g_array_unref);
  g_free (result);
}

static void
idle_timer_stop (OpsJob *job)
{
  if (job->idle_timer != NULL)
    {
      g_source_destroy (job->idle_timer);
      g_clear_pointer (&job->idle_timer, g_source_unref);
    }
}

static void
ops_job_free (gpointer data)
{
  OpsJob *job = data;

  idle_timer_stop (job);
  if (job->stop_id != 0)
    g_cancellable_disconnect (job->stop, job->stop_id);
  g_clear_object (&job->stop);
  g_free (job->username);
  if (job->password != NULL)
    OPENSSL_cleanse (job->password, strlen (job->password));
  g_free (job->password);
  g_free (job->folder);
  g_free (job->name);
  g_free (job->new_name);
  g_clear_pointer (&job->message, g_bytes_unref);
  g_strfreev (job->flags);
  g_free (job->criteria);
  g_clear_pointer (&job->engine, ms_imap_client_free);
  g_clear_pointer (&job->cc, ms_client_conn_free);
  g_clear_pointer (&job->result, ms_imap_ops_result_free);
  g_free (job);
}

/* --- trace events and --show ----------------------------------------- */

static const char *
engine_state_name (gpointer data)
{
  OpsJob *job = data;

  return ms_imap_client_state_to_string (ms_imap_client_get_state (job->engine));
}

/* A literal or APPEND message on --show, line by line, and as one `data`
 * event. */
static void
trace_literal (OpsJob *job,
               char direction,
               const char *text,
               gsize len)
{
  if (job->cc->show != NULL)
    {
      const char *p = text;
      const char *end = text + len;

      while (p < end)
        {
          const char *lf = memchr (p, '\n', (gsize) (end - p));
          gsize line_len = lf ? (gsize) (lf - p) : (gsize) (end - p);
          g_autofree char *line = NULL;

          if (line_len > 0 && p[line_len - 1] == '\r')
            line_len--;
          line = g_utf8_make_valid (p, (gssize) line_len);
          ms_client_conn_show (job->cc, direction, line);
          p = lf ? lf + 1 : end;
        }
    }
  ms_client_conn_emit_data (job->cc, text, len, engine_state_name (job));
}

/* The status word of a response line for the `reply` event: "OK", "NO",
 * "BAD", "BYE", "PREAUTH" (tagged or untagged), or "+". */
static const char *
reply_status (const char *text)
{
  static const char * const words[] = { "OK", "NO", "BAD", "BYE", "PREAUTH" };
  const char *space;

  if (text[0] == '+')
    return "+";
  space = strchr (text, ' ');
  if (space == NULL)
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (words); i++)
    {
      gsize n = strlen (words[i]);

      if (g_ascii_strncasecmp (space + 1, words[i], n) == 0 && (space[1 + n] == ' ' || space[1 + n] == '\0'))
        return words[i];
    }
  return NULL;
}

static void
engine_trace_cb (char direction,
                 const char *text,
                 gsize len,
                 MsImapClientTraceFlags flags,
                 gpointer user_data)
{
  OpsJob *job = user_data;

  if (flags & MS_IMAP_CLIENT_TRACE_LITERAL)
    trace_literal (job, direction, text, len);
  else if (direction == 'S')
    {
      MsEvent *event = NULL;
      const char *status;

      ms_client_conn_trace_reply (job->cc, text, len, engine_state_name (job), &event);
      if (event == NULL)
        return;
      status = reply_status (text);
      if (status != NULL)
        ms_event_set_string (event, "status", status);
      ms_client_conn_emit (job->cc, event);
    }
  else
    /* A SASL line after "+" (RFC 3501 §6.2.2) has no tag and no verb. */
    ms_client_conn_trace_command (job->cc, text, (flags & MS_IMAP_CLIENT_TRACE_SECRET) != 0,
                                  ms_imap_client_mask_secret,
                                  (flags & MS_IMAP_CLIENT_TRACE_TAGGED) || g_str_equal (text, "DONE"),
                                  (flags & MS_IMAP_CLIENT_TRACE_TAGGED) != 0, engine_state_name (job));
}

static void
engine_state_changed_cb (MsImapClientState old_state,
                         MsImapClientState new_state,
                         gpointer user_data)
{
  OpsJob *job = user_data;

  ms_client_conn_emit_state (job->cc, ms_imap_client_state_to_string (old_state),
                             ms_imap_client_state_to_string (new_state));
  /* RFC 2177: during IDLE silence is normal; our timer decides instead. */
  if (job->cc->conn != NULL && !ms_conn_is_closed (job->cc->conn))
    {
      if (new_state == MS_IMAP_CLIENT_STATE_IDLE)
        ms_conn_set_idle_timeout (job->cc->conn, 0);
      else if (old_state == MS_IMAP_CLIENT_STATE_IDLE)
        ms_conn_set_idle_timeout (job->cc->conn, job->cc->timeout_s);
    }
}

/* --- the operations -------------------------------------------------- */

char *
ms_imap_ops_header_value (const char *header,
                          gsize len,
                          const char *name)
{
  gsize name_len = strlen (name);
  const char *p = header;
  const char *end = header + len;

  while (p < end)
    {
      const char *lf = memchr (p, '\n', (gsize) (end - p));
      const char *line_end = lf ? lf : end;

      if ((gsize) (line_end - p) > name_len && g_ascii_strncasecmp (p, name, name_len) == 0 &&
          p[name_len] == ':')
        {
          g_autoptr(GString) value = g_string_new (NULL);
          const char *q = p + name_len + 1;

          /* RFC 5322 §2.2.3: unfold the continuation lines. */
          for (;;)
            {
              const char *e = memchr (q, '\n', (gsize) (end - q));
              const char *stop = e ? e : end;

              g_string_append_len (value, q, stop - q);
              if (e == NULL || e + 1 >= end || (e[1] != ' ' && e[1] != '\t'))
                break;
              q = e + 1;
            }
          for (gsize i = 0; i < value->len; i++)
            if (value->str[i] == '\r' || value->str[i] == '\t')
              value->str[i] = ' ';
          g_strstrip (value->str);
          {
            g_autofree char *valid = g_utf8_make_valid (value->str, -1);

            g_mime_init ();
            return g_mime_utils_header_decode_text (NULL, valid);
          }
        }
      p = lf ? lf + 1 : end;
    }
  return NULL;
}

static const char *
folder (OpsJob *job)
{
  return job->folder ? job->folder : "INBOX";
}

static void
enqueue (OpsJob *job,
         MsImapClientCommandKind kind,
         gboolean uid,
         const char *mailbox,
         const char *set,
         const char *args)
{
  MsImapClientCommand command = { kind, uid, mailbox, NULL, set, args, NULL };

  ms_imap_client_enqueue (job->engine, &command);
}

static char *
flag_list (OpsJob *job)
{
  g_autofree char *joined = g_strjoinv (" ", job->flags);

  return g_strdup_printf ("(%s)", joined);
}

static void
idle_status_note (OpsJob *job,
                  const char *format,
                  ...) G_GNUC_PRINTF (2, 3);

static void
idle_status_note (OpsJob *job,
                  const char *format,
                  ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  job->result->changes++;
  if (job->change != NULL)
    job->change (text, job->change_data);
}

static gboolean
idle_timer_cb (gpointer user_data)
{
  OpsJob *job = user_data;
  gint64 elapsed_s = (g_get_monotonic_time () - job->idle_started) / G_USEC_PER_SEC;

  g_clear_pointer (&job->idle_timer, g_source_unref);
  /* Either the user's --timeout-idle is over, or the 29 minutes of
   * RFC 2177 §3: end this IDLE, and start another unless time is up. */
  job->idle_again = job->idle_timeout_s == 0 || elapsed_s < (gint64) job->idle_timeout_s;
  ms_imap_client_idle_done (job->engine);
  return G_SOURCE_REMOVE;
}

static void
start_idle (OpsJob *job)
{
  guint wait_s = REIDLE_S;

  if (job->idle_started == 0)
    job->idle_started = g_get_monotonic_time ();
  if (job->idle_timeout_s > 0)
    {
      gint64 elapsed_s = (g_get_monotonic_time () - job->idle_started) / G_USEC_PER_SEC;
      gint64 left = (gint64) job->idle_timeout_s - elapsed_s;

      wait_s = (guint) CLAMP (left, 1, REIDLE_S);
    }
  job->idle_again = FALSE;
  idle_timer_stop (job);
  job->idle_timer = g_timeout_source_new_seconds (wait_s);
  g_source_set_callback (job->idle_timer, idle_timer_cb, job, NULL);
  g_source_attach (job->idle_timer, g_main_context_get_thread_default ());
  enqueue (job, MS_IMAP_CLIENT_CMD_IDLE, FALSE, NULL, NULL, NULL);
}

/* Queues the next step of the operation; FALSE when there is none. The
 * steps run one after the other, each after the previous one's OK. */
static gboolean
next_step (OpsJob *job)
{
  guint step = job->step++;
  MsImapClientCommand command = { 0 };
  char uid_text[16];

  g_snprintf (uid_text, sizeof uid_text, "%u", job->uid);
  switch (job->op)
    {
    case MS_IMAP_OP_FOLDERS:
      /* RFC 3501 §6.3.8 and §6.3.9: every folder, then the subscribed. */
      if (step == 0)
        enqueue (job, MS_IMAP_CLIENT_CMD_LIST, FALSE, "*", NULL, NULL);
      else if (step == 1)
        enqueue (job, MS_IMAP_CLIENT_CMD_LSUB, FALSE, "*", NULL, NULL);
      return step < 2;
    case MS_IMAP_OP_CREATE:
    case MS_IMAP_OP_DELETE:
    case MS_IMAP_OP_SUBSCRIBE:
    case MS_IMAP_OP_UNSUBSCRIBE:
      if (step > 0)
        return FALSE;
      enqueue (job, job->op == MS_IMAP_OP_CREATE ? MS_IMAP_CLIENT_CMD_CREATE
                    : job->op == MS_IMAP_OP_DELETE ? MS_IMAP_CLIENT_CMD_DELETE
                    : job->op == MS_IMAP_OP_SUBSCRIBE ? MS_IMAP_CLIENT_CMD_SUBSCRIBE
                    : MS_IMAP_CLIENT_CMD_UNSUBSCRIBE, FALSE, job->name, NULL, NULL);
      return TRUE;
    case MS_IMAP_OP_RENAME:
      if (step > 0)
        return FALSE;
      command.kind = MS_IMAP_CLIENT_CMD_RENAME;
      command.mailbox = job->name;
      command.mailbox2 = job->new_name;
      ms_imap_client_enqueue (job->engine, &command);
      return TRUE;
    case MS_IMAP_OP_STATUS:
      if (step > 0)
        return FALSE;
      enqueue (job, MS_IMAP_CLIENT_CMD_STATUS, FALSE, job->name, NULL,
               "(MESSAGES RECENT UNSEEN UIDNEXT UIDVALIDITY)");
      return TRUE;
    case MS_IMAP_OP_APPEND:
      if (step > 0)
        return FALSE;
      {
        g_autofree char *flags = job->flags ? flag_list (job) : NULL;

        command.kind = MS_IMAP_CLIENT_CMD_APPEND;
        command.mailbox = folder (job);
        command.args = flags;
        command.message = job->message;
        ms_imap_client_enqueue (job->engine, &command);
      }
      return TRUE;
    default:
      break;
    }

  /* The rest work in a selected folder; EXAMINE where nothing changes. */
  if (step == 0)
    {
      gboolean read_only = job->op == MS_IMAP_OP_LIST || job->op == MS_IMAP_OP_SEARCH ||
                           (job->op == MS_IMAP_OP_FETCH && job->peek);

      enqueue (job, read_only ? MS_IMAP_CLIENT_CMD_EXAMINE : MS_IMAP_CLIENT_CMD_SELECT, FALSE,
               folder (job), NULL, NULL);
      return TRUE;
    }
  switch (job->op)
    {
    case MS_IMAP_OP_LIST:
      if (step > 1)
        return FALSE;
      enqueue (job, MS_IMAP_CLIENT_CMD_FETCH, TRUE, NULL, "1:*",
               "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SUBJECT)])");
      return TRUE;
    case MS_IMAP_OP_FETCH:
      if (step > 1)
        return FALSE;
      enqueue (job, MS_IMAP_CLIENT_CMD_FETCH, TRUE, NULL, uid_text,
               job->peek ? "(UID FLAGS BODY.PEEK[])" : "(UID FLAGS BODY[])");
      return TRUE;
    case MS_IMAP_OP_FLAG:
    case MS_IMAP_OP_UNFLAG:
      if (step > 1)
        return FALSE;
      {
        /* RFC 3501 §6.4.6: not .SILENT, so the server says the new flags. */
        g_autofree char *list = flag_list (job);
        g_autofree char *args = g_strdup_printf ("%sFLAGS %s", job->op == MS_IMAP_OP_FLAG ? "+" : "-",
                                                 list);
        enqueue (job, MS_IMAP_CLIENT_CMD_STORE, TRUE, NULL, uid_text, args);
      }
      return TRUE;
    case MS_IMAP_OP_COPY:
      if (step > 1)
        return FALSE;
      enqueue (job, MS_IMAP_CLIENT_CMD_COPY, TRUE, job->name, uid_text, NULL);
      return TRUE;
    case MS_IMAP_OP_MOVE:
      if (step == 1 && ms_imap_client_has_capability (job->engine, "MOVE"))
        {
          /* RFC 6851 §3.1: one atomic command. */
          job->result->used_move = TRUE;
          enqueue (job, MS_IMAP_CLIENT_CMD_MOVE, TRUE, job->name, uid_text, NULL);
          job->step = 10;
          return TRUE;
        }
      /* RFC 6851 §1: without MOVE, COPY, mark \Deleted, and expunge. */
      if (step == 1)
        enqueue (job, MS_IMAP_CLIENT_CMD_COPY, TRUE, job->name, uid_text, NULL);
      else if (step == 2)
        enqueue (job, MS_IMAP_CLIENT_CMD_STORE, TRUE, NULL, uid_text, "+FLAGS.SILENT (\\Deleted)");
      else if (step == 3)
        {
          /* RFC 4315 §2.1: UID EXPUNGE leaves other \Deleted mail alone. */
          if (ms_imap_client_has_capability (job->engine, "UIDPLUS"))
            enqueue (job, MS_IMAP_CLIENT_CMD_EXPUNGE, TRUE, NULL, uid_text, NULL);
          else
            enqueue (job, MS_IMAP_CLIENT_CMD_EXPUNGE, FALSE, NULL, NULL, NULL);
        }
      return step <= 3;
    case MS_IMAP_OP_EXPUNGE:
      if (step > 1)
        return FALSE;
      enqueue (job, MS_IMAP_CLIENT_CMD_EXPUNGE, FALSE, NULL, NULL, NULL);
      return TRUE;
    case MS_IMAP_OP_SEARCH:
      if (step > 1)
        return FALSE;
      enqueue (job, MS_IMAP_CLIENT_CMD_SEARCH, TRUE, NULL, NULL, job->criteria);
      return TRUE;
    case MS_IMAP_OP_IDLE:
      if (job->stop_requested)
        return FALSE;
      if (step == 1 && !ms_imap_client_has_capability (job->engine, "IDLE"))
        {
          job->failed = TRUE;
          job->result->refusal = g_strdup ("the server does not offer IDLE (RFC 2177)");
          return FALSE;
        }
      if (step == 1 || job->idle_again)
        {
          if (step == 1 && job->change != NULL)
            job->change ("waiting for changes (IDLE)...", job->change_data);
          start_idle (job);
          return TRUE;
        }
      return FALSE;
    default:
      return FALSE;
    }
}

static void
engine_ready_cb (gpointer user_data)
{
  OpsJob *job = user_data;

  if (job->logout_queued)
    return;
  if (!job->failed && !job->stop_requested && next_step (job))
    return;
  if (!job->failed && !job->fetched &&
      (job->op == MS_IMAP_OP_FETCH || job->op == MS_IMAP_OP_FLAG || job->op == MS_IMAP_OP_UNFLAG))
    {
      job->failed = TRUE;
      job->result->refusal = g_strdup_printf ("there is no message with UID %u in %s",
                                              job->uid, folder (job));
    }
  /* RFC 4315 §3: with UIDPLUS a copy answers with COPYUID; an OK without
   * it (Dovecot: "No messages found") copied nothing. */
  if (!job->failed && job->result->dest_uids == NULL &&
      (job->op == MS_IMAP_OP_COPY || job->op == MS_IMAP_OP_MOVE) &&
      ms_imap_client_has_capability (job->engine, "UIDPLUS"))
    {
      job->failed = TRUE;
      job->result->refusal = g_strdup_printf ("there is no message with UID %u in %s",
                                              job->uid, folder (job));
    }
  job->logout_queued = TRUE;
  enqueue (job, MS_IMAP_CLIENT_CMD_LOGOUT, FALSE, NULL, NULL, NULL);
}

static MsImapOpsFolder *
find_folder (OpsJob *job,
             const char *name)
{
  for (guint i = 0; i < job->result->folders->len; i++)
    {
      MsImapOpsFolder *f = g_ptr_array_index (job->result->folders, i);

      if (g_str_equal (f->name, name))
        return f;
    }
  return NULL;
}

static void
record_fetch (OpsJob *job,
              const MsImapClientFetch *fetch)
{
  MsImapOpsResult *result = job->result;

  if (job->op == MS_IMAP_OP_LIST)
    {
      MsImapOpsMessage *message = g_new0 (MsImapOpsMessage, 1);

      message->uid = fetch->uid;
      message->flags = fetch->has_flags ? g_strdupv ((char **) fetch->flags) : NULL;
      message->internal_date = g_strdup (fetch->internal_date);
      message->size = fetch->size;
      for (guint i = 0; i < fetch->sections->len; i++)
        {
          const MsImapClientSection *section = g_ptr_array_index (fetch->sections, i);
          gsize len = 0;
          const char *data = g_bytes_get_data (section->data, &len);

          if (!g_str_has_prefix (section->name, "BODY[HEADER.FIELDS"))
            continue;
          message->date = ms_imap_ops_header_value (data, len, "Date");
          message->from = ms_imap_ops_header_value (data, len, "From");
          message->subject = ms_imap_ops_header_value (data, len, "Subject");
        }
      g_ptr_array_add (result->messages, message);
      return;
    }
  /* FETCH, FLAG, UNFLAG: the one message (a FETCH for another one, from
   * another session's change, has another UID or none). */
  if (fetch->uid != job->uid)
    return;
  job->fetched = TRUE;
  if (fetch->has_flags)
    {
      g_strfreev (result->flags);
      result->flags = g_strdupv ((char **) fetch->flags);
    }
  for (guint i = 0; i < fetch->sections->len; i++)
    {
      const MsImapClientSection *section = g_ptr_array_index (fetch->sections, i);

      if (g_str_equal (section->name, "BODY[]"))
        {
          g_clear_pointer (&result->body, g_bytes_unref);
          result->body = g_bytes_ref (section->data);
        }
    }
}

static void
report_idle_change (OpsJob *job,
                    const MsImapClientUntagged *untagged)
{
  switch (untagged->kind)
    {
    case MS_IMAP_CLIENT_UNTAGGED_EXISTS:
      /* RFC 3501 §7.3.1: the new size of the mailbox. */
      if (untagged->number > job->exists)
        idle_status_note (job, "new mail: %u message%s arrived, %s now holds %u",
                          untagged->number - job->exists, untagged->number - job->exists == 1 ? "" : "s",
                          folder (job), untagged->number);
      else
        idle_status_note (job, "%s now holds %u message%s", folder (job), untagged->number,
                          untagged->number == 1 ? "" : "s");
      job->exists = untagged->number;
      break;
    case MS_IMAP_CLIENT_UNTAGGED_EXPUNGE:
      /* RFC 3501 §7.4.1: numbers above it move down by one. */
      idle_status_note (job, "message #%u was removed (expunged)", untagged->number);
      if (job->exists > 0)
        job->exists--;
      break;
    case MS_IMAP_CLIENT_UNTAGGED_FETCH:
      if (untagged->fetch->has_flags)
        {
          g_autofree char *flags = g_strjoinv (" ", (char **) untagged->fetch->flags);

          if (untagged->fetch->uid != 0)
            idle_status_note (job, "message #%u (UID %u) flags changed: %s", untagged->number,
                              untagged->fetch->uid, flags[0] ? flags : "(none)");
          else
            idle_status_note (job, "message #%u flags changed: %s", untagged->number,
                              flags[0] ? flags : "(none)");
        }
      break;
    case MS_IMAP_CLIENT_UNTAGGED_RECENT:
    default:
      break;
    }
}

static void
engine_untagged_cb (const MsImapClientUntagged *untagged,
                    gpointer user_data)
{
  OpsJob *job = user_data;
  MsImapOpsResult *result = job->result;

  if (job->op == MS_IMAP_OP_IDLE && ms_imap_client_get_state (job->engine) == MS_IMAP_CLIENT_STATE_IDLE)
    {
      report_idle_change (job, untagged);
      return;
    }
  switch (untagged->kind)
    {
    case MS_IMAP_CLIENT_UNTAGGED_LIST:
      if (job->op == MS_IMAP_OP_FOLDERS && find_folder (job, untagged->mailbox) == NULL)
        {
          MsImapOpsFolder *f = g_new0 (MsImapOpsFolder, 1);

          f->name = g_strdup (untagged->mailbox);
          f->delimiter = untagged->delimiter;
          f->attributes = g_strdupv ((char **) untagged->names);
          g_ptr_array_add (result->folders, f);
        }
      break;
    case MS_IMAP_CLIENT_UNTAGGED_LSUB:
      if (job->op == MS_IMAP_OP_FOLDERS)
        {
          MsImapOpsFolder *f = find_folder (job, untagged->mailbox);

          if (f != NULL)
            f->subscribed = TRUE;
        }
      break;
    case MS_IMAP_CLIENT_UNTAGGED_STATUS:
      g_strfreev (result->status_items);
      result->status_items = g_strdupv ((char **) untagged->status_items);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_EXISTS:
      job->exists = untagged->number;
      break;
    case MS_IMAP_CLIENT_UNTAGGED_EXPUNGE:
      result->expunged++;
      break;
    case MS_IMAP_CLIENT_UNTAGGED_FETCH:
      record_fetch (job, untagged->fetch);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_SEARCH:
      g_array_append_vals (result->uids, untagged->numbers->data, untagged->numbers->len);
      break;
    case MS_IMAP_CLIENT_UNTAGGED_STATUS_RESPONSE:
      /* RFC 4315 §3: COPYUID comes with the tagged OK of COPY, but with
       * MOVE in an untagged OK before the expunges (RFC 6851 §4.3). */
      if (untagged->code != NULL && g_str_equal (untagged->code->name, "COPYUID") &&
          untagged->code->dest_set != NULL)
        {
          result->uidvalidity = untagged->code->number;
          g_free (result->dest_uids);
          result->dest_uids = g_strdup (untagged->code->dest_set);
        }
      break;
    default:
      break;
    }
}

static void
engine_response_cb (const MsImapClientResponse *response,
                    gpointer user_data)
{
  OpsJob *job = user_data;
  MsImapOpsResult *result = job->result;

  if (!response->ok)
    {
      const char *verb = ms_imap_client_command_to_string (response->kind);

      job->failed = TRUE;
      idle_timer_stop (job);
      if (result->refusal == NULL)
        {
          GString *text = g_string_new (NULL);

          g_string_append_printf (text, "%s: %s ", verb, response->status);
          if (response->code != NULL)
            g_string_append_printf (text, "[%s%s%s] ", response->code->name,
                                    response->code->args[0] ? " " : "", response->code->args);
          g_string_append (text, response->text);
          result->refusal = g_string_free (text, FALSE);
        }
      return;
    }
  if (response->code != NULL && g_str_equal (response->code->name, "APPENDUID"))
    {
      result->uidvalidity = response->code->number;
      result->new_uid = response->code->uid;
    }
  else if (response->code != NULL && g_str_equal (response->code->name, "COPYUID") &&
           response->code->dest_set != NULL)
    {
      result->uidvalidity = response->code->number;
      g_free (result->dest_uids);
      result->dest_uids = g_strdup (response->code->dest_set);
    }
  if (response->kind == MS_IMAP_CLIENT_CMD_IDLE && !job->idle_again)
    idle_timer_stop (job);
}

static void
engine_done_cb (MsImapClientResult *session,
                gpointer user_data)
{
  OpsJob *job = user_data;
  MsImapOpsResult *result = job->result;

  result->status = session->status;
  g_free (result->text);
  result->text = g_strdup (session->text);
  result->tls = session->tls;
  if (job->failed && result->status == MS_IMAP_CLIENT_STATUS_OK)
    {
      result->status = MS_IMAP_CLIENT_STATUS_SERVER_ERROR;
      g_free (result->text);
      result->text = g_strdup (result->refusal);
    }
  ms_imap_client_result_free (session);
  idle_timer_stop (job);
  ms_client_conn_finish (job->cc);
}

static void
engine_send_cb (const char *data,
                gsize len,
                gpointer user_data)
{
  OpsJob *job = user_data;

  ms_client_conn_send (job->cc, data, len);
}

static void
engine_start_tls_cb (gpointer user_data)
{
  OpsJob *job = user_data;

  ms_client_conn_start_tls (job->cc);
}

static const MsImapClientOutput engine_output = {
  .send = engine_send_cb,
  .start_tls = engine_start_tls_cb,
  .ready = engine_ready_cb,
  .untagged = engine_untagged_cb,
  .response = engine_response_cb,
  .done = engine_done_cb,
  .trace = engine_trace_cb,
  .state_changed = engine_state_changed_cb,
};

/* --- the job as MsClientConn runs it --------------------------------- */

/* After a line, a literal may follow: read its octets raw (RFC 3501 §4.3),
 * so CRLFs inside it are not taken for line ends. */
static void
read_literal_if_any (OpsJob *job)
{
  gsize pending = ms_imap_client_get_literal_pending (job->engine);

  if (pending > 0 && !ms_conn_is_closed (job->cc->conn))
    ms_conn_read_bytes (job->cc->conn, pending);
}

static void
conn_line_cb (gpointer data,
              const char *line,
              gsize len)
{
  OpsJob *job = data;

  /* MsConn took the line end off; the engine frames again. */
  ms_imap_client_feed (job->engine, line, len);
  ms_imap_client_feed (job->engine, "\r\n", 2);
  read_literal_if_any (job);
}

static void
conn_bytes_cb (gpointer data,
               const guint8 *bytes,
               gsize len,
               gboolean last)
{
  OpsJob *job = data;

  ms_imap_client_feed (job->engine, (const char *) bytes, len);
  if (last)
    read_literal_if_any (job);
}

static gboolean
conn_tls_done_cb (gpointer data,
                  gboolean ok,
                  const char *error)
{
  OpsJob *job = data;

  if (ms_imap_client_get_state (job->engine) != MS_IMAP_CLIENT_STATE_TLS_HANDSHAKE)
    return FALSE;
  ms_imap_client_tls_done (job->engine, ok, error);
  return TRUE;
}

static void
conn_fail_cb (gpointer data,
              MsClientConnFailure failure,
              const char *text)
{
  OpsJob *job = data;
  MsImapClientStatus status = MS_IMAP_CLIENT_STATUS_TEMP_FAILURE;

  if (failure == MS_CLIENT_CONN_FAILURE_TLS)
    status = MS_IMAP_CLIENT_STATUS_TLS_FAILURE;
  if (job->engine != NULL)
    ms_imap_client_abort (job->engine, status, text);
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
  OpsJob *job = data;

  idle_timer_stop (job);
  ms_imap_client_connection_closed (job->engine, reason);
}

static const char *
result_status (gpointer data)
{
  OpsJob *job = data;

  return job->result ? ms_imap_client_status_to_string (job->result->status) : NULL;
}

static void
stop_cb (GCancellable *cancellable,
         gpointer user_data)
{
  OpsJob *job = user_data;

  job->stop_requested = TRUE;
  job->idle_again = FALSE;
  idle_timer_stop (job);
  if (job->engine != NULL)
    ms_imap_client_idle_done (job->engine);
}

static void
conn_connected_cb (gpointer data,
                   GSocketConnection *connection)
{
  OpsJob *job = data;
  MsImapClientParams engine_params = { 0 };

  engine_params.tls = job->tls;
  engine_params.auth = job->auth;
  engine_params.username = job->username;
  engine_params.password = job->password;
  job->engine = ms_imap_client_new (&engine_params, &engine_output, job);

  ms_client_conn_open (job->cc, connection, MS_IMAP_CLIENT_DEFAULT_MAX_LINE_LENGTH + 1);
  ms_client_conn_start (job->cc);
}

static const MsClientConnEngine conn_engine = {
  .cancelled_text = "the IMAP job was cancelled",
  .result_offset = G_STRUCT_OFFSET (OpsJob, result),
  .result_free = (GDestroyNotify) ms_imap_ops_result_free,
  .connected = conn_connected_cb,
  .feed_line = conn_line_cb,
  .feed_bytes = conn_bytes_cb,
  .tls_done = conn_tls_done_cb,
  .fail = conn_fail_cb,
  .connection_closed = conn_closed_cb,
  .state_name = engine_state_name,
  .result_status = result_status,
};

/* --- public ---------------------------------------------------------- */

static gboolean
safe_text (const char *text)
{
  return text == NULL || strpbrk (text, "\r\n") == NULL;
}

static gboolean
validate_params (const MsImapOpsParams *params,
                 GError **error)
{
  gboolean needs_name = params->op == MS_IMAP_OP_CREATE || params->op == MS_IMAP_OP_RENAME ||
                        params->op == MS_IMAP_OP_DELETE || params->op == MS_IMAP_OP_SUBSCRIBE ||
                        params->op == MS_IMAP_OP_UNSUBSCRIBE || params->op == MS_IMAP_OP_STATUS ||
                        params->op == MS_IMAP_OP_COPY || params->op == MS_IMAP_OP_MOVE;
  gboolean needs_uid = params->op == MS_IMAP_OP_FETCH || params->op == MS_IMAP_OP_FLAG ||
                       params->op == MS_IMAP_OP_UNFLAG || params->op == MS_IMAP_OP_COPY ||
                       params->op == MS_IMAP_OP_MOVE;

  if (params->host == NULL || params->host[0] == '\0' || params->port == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no server host or port given");
      return FALSE;
    }
  if (params->username == NULL || params->password == NULL || params->username[0] == '\0' ||
      !safe_text (params->username) || !safe_text (params->password))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "IMAP needs a user name and a password, and neither may hold a line break");
      return FALSE;
    }
  if ((needs_name && (params->name == NULL || params->name[0] == '\0')) ||
      (params->op == MS_IMAP_OP_RENAME && (params->new_name == NULL || params->new_name[0] == '\0')))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "a folder name is missing");
      return FALSE;
    }
  if (!g_utf8_validate (params->name ? params->name : "", -1, NULL) ||
      !g_utf8_validate (params->new_name ? params->new_name : "", -1, NULL) ||
      !g_utf8_validate (params->folder ? params->folder : "", -1, NULL) ||
      !safe_text (params->name) || !safe_text (params->new_name) || !safe_text (params->folder))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "a folder name must be UTF-8 without line breaks");
      return FALSE;
    }
  if (needs_uid && params->uid == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "UIDs start at 1");
      return FALSE;
    }
  if ((params->op == MS_IMAP_OP_FLAG || params->op == MS_IMAP_OP_UNFLAG) &&
      (params->flags == NULL || params->flags[0] == NULL))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no flag given");
      return FALSE;
    }
  for (guint i = 0; params->flags != NULL && params->flags[i] != NULL; i++)
    {
      const char *flag = params->flags[i];

      /* RFC 3501 §9: flag = "\" atom / atom (flag-keyword). */
      for (const char *p = flag[0] == '\\' ? flag + 1 : flag; ; p++)
        {
          if (*p == '\0' && p > flag + (flag[0] == '\\'))
            break;
          if (*p == '\0' || (guchar) *p <= 0x20 || (guchar) *p >= 0x7F || strchr ("(){\"%*]\\", *p))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "\"%s\" is not a flag (\\Seen, \\Flagged, $Label, ...)", flag);
              return FALSE;
            }
        }
    }
  if (params->op == MS_IMAP_OP_APPEND && params->message == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no message to append");
      return FALSE;
    }
  if (params->op == MS_IMAP_OP_SEARCH &&
      (params->criteria == NULL || params->criteria[0] == '\0' || !safe_text (params->criteria)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "no search criteria (e.g. ALL, UNSEEN, FROM alice)");
      return FALSE;
    }
  return TRUE;
}

void
ms_imap_ops_async (const MsImapOpsParams *params,
                   GCancellable *cancellable,
                   GAsyncReadyCallback callback,
                   gpointer user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  OpsJob *job;

  g_return_if_fail (params != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, ms_imap_ops_async);
  if (!validate_params (params, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  job = g_new0 (OpsJob, 1);
  job->tls = params->tls;
  job->auth = params->auth;
  job->username = g_strdup (params->username);
  job->password = g_strdup (params->password);
  job->op = params->op;
  job->folder = g_strdup (params->folder);
  job->name = g_strdup (params->name);
  job->new_name = g_strdup (params->new_name);
  job->uid = params->uid;
  job->peek = params->peek;
  job->message = params->message ? g_bytes_ref (params->message) : NULL;
  job->flags = params->flags ? g_strdupv ((char **) params->flags) : NULL;
  job->criteria = g_strdup (params->criteria);
  job->idle_timeout_s = params->idle_timeout_s;
  job->change = params->change;
  job->change_data = params->change_data;
  {
    MsClientConnParams conn_params = {
      .host = params->host,
      .port = params->port,
      .tls = params->tls != MS_IMAP_CLIENT_TLS_NONE,
      .implicit_tls = params->tls == MS_IMAP_CLIENT_TLS_IMPLICIT,
      .timeout_s = params->timeout_s ? params->timeout_s : DEFAULT_TIMEOUT_S,
      .bus = params->bus,
      .trace_server = params->trace_server,
      .proto = "imap",
      .show = params->show,
      .show_data = params->show_data,
    };
    job->cc = ms_client_conn_new (&conn_params);
  }
  job->result = g_new0 (MsImapOpsResult, 1);
  job->result->status = MS_IMAP_CLIENT_STATUS_TEMP_FAILURE;
  job->result->text = g_strdup ("the session did not finish");
  job->result->folders = g_ptr_array_new_with_free_func (folder_free);
  job->result->messages = g_ptr_array_new_with_free_func (message_free);
  job->result->uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_task_set_task_data (task, job, ops_job_free);

  if (params->stop != NULL)
    {
      job->stop = g_object_ref (params->stop);
      job->stop_id = g_cancellable_connect (job->stop, G_CALLBACK (stop_cb), job, NULL);
    }
  ms_client_conn_run (job->cc, g_steal_pointer (&task), cancellable, &conn_engine, job);
}

MsImapOpsResult *
ms_imap_ops_finish (GAsyncResult *result,
                    GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == ms_imap_ops_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
