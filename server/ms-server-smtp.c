/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-server"

#include "config.h"

#include <string.h>

#include "ms-server-private.h"
#include "ms-smtp-session.h"

/* The backend MsSmtpSession sees: our users, our store, our relay queue. */

/* The backend data is the MsServerConnection. */

static MsSmtpRcptKind
backend_classify_rcpt (gpointer data,
                       const char *address)
{
  MsServer *server = ((MsServerConnection *) data)->server;
  g_autofree char *local = NULL;
  const char *domain;

  if (!_ms_server_split_address (address, &local, &domain))
    return MS_SMTP_RCPT_NO_ROUTE;
  if (_ms_server_is_local_domain (server, domain))
    return ms_auth_has_user (server->auth, local) ? MS_SMTP_RCPT_LOCAL
                                                 : MS_SMTP_RCPT_NO_SUCH_USER;
  return ms_relay_queue_has_route (server->relay_queue, domain) ? MS_SMTP_RCPT_REMOTE
                                                               : MS_SMTP_RCPT_NO_ROUTE;
}

static gboolean
backend_authenticate (gpointer data,
                      const char *user,
                      const char *password)
{
  return _ms_server_authenticate (((MsServerConnection *) data)->server, user, password);
}

/* Into `user`'s INBOX, durable only after the next group commit. */
static gboolean
deliver_local_unsynced (MsServer *server,
                        const char *user,
                        const char *message,
                        gsize len,
                        GError **error)
{
  if (!ms_auth_has_user (server->auth, user))
    {
      g_set_error (error, MS_SERVER_ERROR, MS_SERVER_ERROR_CONFIG, "no local user %s", user);
      return FALSE;
    }
  return ms_store_ensure_user (server->store, user, error) &&
         ms_store_deliver_unsynced (server->store, user, "INBOX", (const guint8 *) message, len,
                                    NULL, error);
}

static gboolean
backend_accept_message (gpointer data,
                        const MsSmtpEnvelope *envelope,
                        const char *message,
                        gsize len,
                        GError **error)
{
  MsServerConnection *connection = data;
  MsServer *server = connection->server;
  g_autoptr(GPtrArray) remote = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  guint done = 0;

  for (guint i = 0; i < envelope->rcpt_to->len; i++)
    {
      const char *rcpt = g_ptr_array_index (envelope->rcpt_to, i);
      g_autofree char *local = NULL;
      g_autoptr(GError) local_error = NULL;
      const char *domain;

      /* RCPT TO:<Bob@beta.test> twice delivers once. */
      if (!g_hash_table_add (seen, g_ascii_strdown (rcpt, -1)))
        continue;
      if (!_ms_server_split_address (rcpt, &local, &domain))
        continue;
      if (!_ms_server_is_local_domain (server, domain))
        {
          g_ptr_array_add (remote, (gpointer) rcpt);
          continue;
        }
      if (deliver_local_unsynced (server, local, message, len, &local_error))
        {
          done++;
          continue;
        }
      /* Nothing delivered yet: a 451 lets the client retry the whole
       * message. Once one copy is on disk, a retry would duplicate it, so
       * the failed recipient gets a bounce instead. */
      if (done == 0)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      ms_relay_queue_bounce (server->relay_queue, envelope->mail_from, rcpt, "4.3.0",
                             local_error->message, NULL, message, len);
    }

  if (remote->len > 0)
    {
      g_ptr_array_add (remote, NULL);
      if (!ms_relay_queue_enqueue (server->relay_queue, envelope->mail_from,
                                   (const char * const *) remote->pdata, message, len,
                                   error))
        {
          if (done == 0)
            return FALSE;
          g_warning ("%s: cannot queue for relay after local delivery: %s", server->domain,
                     (*error)->message);
          g_clear_error (error);
        }
    }

  /* The 250 waits for the group commit that makes the local copies durable. */
  if (done > 0)
    return _ms_server_hold_until_synced (connection, error);
  return TRUE;
}

static const MsSmtpBackend smtp_backend = {
  backend_classify_rcpt,
  backend_authenticate,
  backend_accept_message,
};

/* The protocol table MsServer drives SMTP sessions through. */

static gpointer
smtp_session_new (MsServerConnection *connection)
{
  MsServer *server = connection->server;
  MsSmtpSessionConfig config = { 0 };

  config.hostname = server->domain;
  config.port_kind = connection->kind == MS_LISTENER_SMTP ? MS_SMTP_PORT_MTA
                     : connection->kind == MS_LISTENER_SUBMISSION ? MS_SMTP_PORT_SUBMISSION
                     : MS_SMTP_PORT_SMTPS;
  config.tls_available = server->tls_server_ctx != NULL;
  config.tls_active = connection->kind == MS_LISTENER_SMTPS;
  config.peer = ms_conn_get_peer (connection->conn);
  config.max_message_size = server->max_message_size;
  config.bus = server->bus;
  config.server_name = server->domain;
  config.session_id = connection->session_id;
  return ms_smtp_session_new (&config, &smtp_backend, connection, &_ms_server_session_output,
                              connection);
}

static void
smtp_session_free (gpointer session)
{
  ms_smtp_session_free (session);
}

static void
smtp_start (gpointer session)
{
  ms_smtp_session_start (session);
}

static void
smtp_feed_line (gpointer session,
                const char *line,
                gsize len,
                MsLineFlags flags)
{
  ms_smtp_session_feed_line (session, line, len, flags);
}

static void
smtp_tls_done (gpointer session,
               gboolean ok)
{
  ms_smtp_session_tls_done (session, ok);
}

static void
smtp_timeout (gpointer session)
{
  ms_smtp_session_timeout (session);
}

static void
smtp_shutdown (gpointer session)
{
  ms_smtp_session_shutdown (session);
}

static gboolean
smtp_awaits_command (gpointer session)
{
  return ms_smtp_session_awaits_command (session);
}

/* A reply's code is on its last line, "550 ..." and not "550-..." (RFC 5321
 * §4.2.1). The session sends a line at a time, but every line is looked at. */
static gboolean
smtp_reply_status (const char *data,
                   gsize len,
                   MsReplyStatus *status_r)
{
  const char *end = data + len;

  for (const char *line = data; line < end;)
    {
      gsize line_len = _ms_server_line_length (line, end - line);
      const char *next = memchr (line, '\n', end - line);

      if (line_len >= 3 && g_ascii_isdigit (line[0]) && g_ascii_isdigit (line[1]) &&
          g_ascii_isdigit (line[2]) && (line_len == 3 || line[3] == ' '))
        {
          status_r->status = line;
          status_r->status_len = 3;
          status_r->line = line;
          status_r->line_len = line_len;
          return TRUE;
        }
      line = next != NULL ? next + 1 : end;
    }
  return FALSE;
}

static const char *
smtp_state_name (gpointer session)
{
  return ms_smtp_state_to_string (ms_smtp_session_get_state (session));
}

const MsProtocolOps _ms_server_smtp_ops = {
  .proto = "smtp",
  /* RFC 4954 §4 lets an AUTH line reach 12288 octets. */
  .max_line = 12288,
  .busy_reply = "421 4.7.0 Too many connections, try again later",
  .session_new = smtp_session_new,
  .session_free = smtp_session_free,
  .start = smtp_start,
  .feed_line = smtp_feed_line,
  .tls_done = smtp_tls_done,
  .timeout = smtp_timeout,
  .shutdown = smtp_shutdown,
  .state_name = smtp_state_name,
  .awaits_command = smtp_awaits_command,
  .reply_status = smtp_reply_status,
};
