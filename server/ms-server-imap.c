/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-server"

#include "config.h"

#include <string.h>

#include "ms-imap-session.h"
#include "ms-server-private.h"

/* IMAP over MsServer: the backend MsImapSession sees (our users, \Recent
 * bookkeeping), and the multi-device sync. Every change the store makes
 * (an SMTP delivery, another IMAP session's STORE or EXPUNGE, a POP3 QUIT)
 * comes through _ms_server_imap_store_changed(); once the store call is
 * over, each session that has that folder selected is told, and one in
 * IDLE tells its client at once (RFC 2177, RFC 3501 §5.2). */

/* The one-line key of a user's folder: user names hold no '/' or NUL. */
static char *
folder_key (const char *user,
            const char *folder)
{
  return g_strconcat (user, "/", folder, NULL);
}

static gboolean
backend_authenticate (gpointer data,
                      const char *user,
                      const char *password,
                      char **user_r)
{
  MsServerConnection *connection = data;
  MsServer *server = connection->server;

  if (!_ms_server_login (server, user, password, user_r))
    return FALSE;
  /* A user in users.conf may not have a Maildir yet (set-password makes
   * one, a hand-edited file may not). */
  return ms_store_ensure_user (server->store, *user_r, NULL);
}

/* RFC 3501 §2.3.2: a message is \Recent in the first session that sees it.
 * The mark lives as long as the server: after a restart every message is
 * old, which the RFC allows. */
static guint32
backend_claim_recent (gpointer data,
                      const char *user,
                      const char *folder,
                      guint32 uidnext)
{
  MsServerConnection *connection = data;
  GHashTable *marks = connection->server->imap_recent;
  g_autofree char *key = folder_key (user, folder);
  gpointer value;
  guint32 first_recent;

  if (!g_hash_table_lookup_extended (marks, key, NULL, &value))
    {
      /* First sight of this folder since the server started: what is
       * there now is not recent to anybody. */
      g_hash_table_insert (marks, g_steal_pointer (&key), GUINT_TO_POINTER (uidnext));
      return uidnext;
    }
  first_recent = GPOINTER_TO_UINT (value);
  if (uidnext > first_recent)
    g_hash_table_insert (marks, g_steal_pointer (&key), GUINT_TO_POINTER (uidnext));
  return first_recent;
}

static const MsImapBackend imap_backend = {
  .authenticate = backend_authenticate,
  .claim_recent = backend_claim_recent,
};

/* ---- multi-device sync ---- */

static gboolean
notify_cb (gpointer data)
{
  MsServer *server = data;
  g_autoptr(GHashTable) changed = g_steal_pointer (&server->imap_changed);
  GHashTableIter iter;
  gpointer key;

  server->imap_notify_source = 0;
  server->imap_changed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_hash_table_iter_init (&iter, server->connections);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      MsServerConnection *connection = key;
      const char *user;
      const char *selected;
      g_autofree char *selected_key = NULL;

      if (connection->ops != &_ms_server_imap_ops || connection->session == NULL)
        continue;
      user = ms_imap_session_get_user (connection->session);
      selected = ms_imap_session_get_selected (connection->session);
      if (user == NULL || selected == NULL)
        continue;
      selected_key = folder_key (user, selected);
      if (g_hash_table_contains (changed, selected_key))
        ms_imap_session_mailbox_changed (connection->session);
    }
  return G_SOURCE_REMOVE;
}

void
_ms_server_imap_store_changed (const char *user,
                               const char *folder,
                               gpointer data)
{
  MsServer *server = data;

  if (server->imap_changed == NULL)
    return;     /* the server is being freed */
  g_hash_table_add (server->imap_changed, folder_key (user, folder));
  /* After the store call, and after the ready sockets: a burst of changes
   * (an EXPUNGE of many messages) reaches an idling client as one batch. */
  if (server->imap_notify_source == 0)
    server->imap_notify_source = g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, notify_cb, server,
                                                  NULL);
}

void
_ms_server_imap_clear (MsServer *server)
{
  g_clear_handle_id (&server->imap_notify_source, g_source_remove);
  g_clear_pointer (&server->imap_changed, g_hash_table_unref);
  g_clear_pointer (&server->imap_recent, g_hash_table_unref);
}

/* ---- the protocol table MsServer drives IMAP sessions through ---- */

static gpointer
imap_session_new (MsServerConnection *connection)
{
  MsServer *server = connection->server;
  MsImapSessionConfig config = { 0 };

  config.hostname = server->domain;
  config.store = server->store;
  config.tls_available = server->tls_server_ctx != NULL;
  config.tls_active = connection->kind == MS_LISTENER_IMAPS;
  config.login_needs_tls = server->imap_login_needs_tls;
  config.max_append = server->max_message_size;
  config.bus = server->bus;
  config.server_name = server->domain;
  config.session_id = connection->session_id;
  ms_conn_set_idle_timeout (connection->conn, server->imap_idle_timeout_s);
  return ms_imap_session_new (&config, &imap_backend, connection, &_ms_server_session_output,
                              connection);
}

static void
imap_session_free (gpointer session)
{
  ms_imap_session_free (session);
}

static void
imap_start (gpointer session)
{
  ms_imap_session_start (session);
}

static void
imap_feed_line (gpointer session,
                const char *line,
                gsize len,
                MsLineFlags flags)
{
  ms_imap_session_feed_line (session, line, len, flags);
}

static void
imap_feed_bytes (gpointer session,
                 const guint8 *data,
                 gsize len,
                 gboolean last)
{
  ms_imap_session_feed_bytes (session, data, len, last);
}

static void
imap_tls_done (gpointer session,
               gboolean ok)
{
  ms_imap_session_tls_done (session, ok);
}

static void
imap_timeout (gpointer session)
{
  ms_imap_session_timeout (session);
}

static void
imap_shutdown (gpointer session)
{
  ms_imap_session_shutdown (session);
}

static gboolean
imap_awaits_command (gpointer session)
{
  return ms_imap_session_awaits_command (session);
}

/* A tagged status response: "<tag> OK|NO|BAD ..." (RFC 3501 §7.1). Untagged
 * ones ("* NO", "* BYE") and continuation requests ("+ ") do not end a
 * command, so they are not a command's reply status. A response sent with
 * literals is untagged: only its first line is looked at. */
static gboolean
imap_reply_status (const char *data,
                   gsize len,
                   MsReplyStatus *status_r)
{
  static const char * const statuses[] = { "OK", "NO", "BAD", NULL };
  const char *space = memchr (data, ' ', _ms_server_line_length (data, len));

  if (space == NULL || space == data || data[0] == '*' || data[0] == '+')
    return FALSE;
  return _ms_server_reply_word (data, len, space + 1 - data, statuses, status_r);
}

static const char *
imap_state_name (gpointer session)
{
  return ms_imap_state_to_string (ms_imap_session_get_state (session));
}

const MsProtocolOps _ms_server_imap_ops = {
  .proto = "imap",
  /* RFC 7162 §4 asks servers to take lines of at least 8192 octets; long
   * UID sets from synchronising clients (mbsync, offlineimap) need more. */
  .max_line = 64 * 1024,
  .busy_reply = "* BYE [UNAVAILABLE] Too many connections, try again later",
  .session_new = imap_session_new,
  .session_free = imap_session_free,
  .start = imap_start,
  .feed_line = imap_feed_line,
  .feed_bytes = imap_feed_bytes,
  .tls_done = imap_tls_done,
  .timeout = imap_timeout,
  .shutdown = imap_shutdown,
  .state_name = imap_state_name,
  .awaits_command = imap_awaits_command,
  .reply_status = imap_reply_status,
};
