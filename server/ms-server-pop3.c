/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-server"

#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "ms-pop3-session-private.h"
#include "ms-server-private.h"

/* The backend MsPop3Session sees: our users and their INBOX. Its data is
 * the MsServerConnection, so store events can name the session. POP3 sees
 * only the INBOX: RFC 1939 knows one maildrop per user, and folders are
 * IMAP's business. */

#define POP3_FOLDER "INBOX"

static gboolean
backend_authenticate (gpointer data,
                      const char *user,
                      const char *password,
                      char **user_r)
{
  MsServerConnection *connection = data;
  return _ms_server_login (connection->server, user, password, user_r);
}

static char *
backend_apop_secret (gpointer data,
                     const char *user,
                     char **user_r)
{
  MsServerConnection *connection = data;
  g_autofree char *canonical = _ms_server_canonical_user (connection->server, user);
  char *secret;

  if (canonical == NULL || !ms_store_user_name_is_valid (canonical))
    return NULL;
  secret = ms_auth_get_apop_secret (connection->server->auth, canonical);
  if (secret != NULL)
    *user_r = g_steal_pointer (&canonical);
  return secret;
}

/* RFC 1939 §7: a unique-id is 1 to 70 octets in 0x21..0x7E. Maildir unique
 * names normally are; one that is not (a file another program named) is
 * replaced by the MD5 of its name, which is as stable. */
static char *
make_uidl (const char *name)
{
  gsize len = strlen (name);
  gboolean valid = len > 0 && len <= MS_POP3_MAX_UIDL;
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  GString *hex;

  for (gsize i = 0; valid && i < len; i++)
    valid = name[i] >= 0x21 && name[i] <= 0x7e;
  if (valid)
    return g_strdup (name);
  if (EVP_Digest (name, len, digest, &digest_len, EVP_md5 (), NULL) != 1)
    return g_compute_checksum_for_string (G_CHECKSUM_SHA1, name, len);
  hex = g_string_new (NULL);
  for (unsigned int i = 0; i < digest_len; i++)
    g_string_append_printf (hex, "%02x", digest[i]);
  return g_string_free (hex, FALSE);
}

static MsEvent *
store_event (MsServerConnection *connection,
             const char *op,
             const char *user)
{
  MsEvent *event = ms_event_new (MS_EVENT_STORE, connection->server->domain);

  ms_event_set_string (event, "op", op);
  ms_event_set_string (event, "user", user);
  ms_event_set_string (event, "folder", POP3_FOLDER);
  ms_event_set_string (event, "session", connection->session_id);
  ms_event_set_string (event, "proto", "pop3");
  return event;
}

static GPtrArray *
backend_open_maildrop (gpointer data,
                       const char *user,
                       GError **error)
{
  MsServerConnection *connection = data;
  MsServer *server = connection->server;
  g_autoptr(GPtrArray) listed = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) local_error = NULL;
  gint64 now = g_get_monotonic_time ();
  gint64 *last_login;

  /* RFC 1939 §8: one session at a time holds the maildrop. */
  if (g_hash_table_contains (server->pop3_locks, user))
    {
      g_set_error (error, MS_POP3_ERROR, MS_POP3_ERROR_IN_USE, "maildrop of %s is locked", user);
      return NULL;
    }

  /* RFC 2449 §6.5: LOGIN-DELAY is the least time between two logins. */
  last_login = g_hash_table_lookup (server->pop3_last_login, user);
  if (server->pop3_login_delay_s > 0 && last_login != NULL &&
      now - *last_login < (gint64) server->pop3_login_delay_s * G_USEC_PER_SEC)
    {
      gint64 wait = (*last_login + (gint64) server->pop3_login_delay_s * G_USEC_PER_SEC - now +
                     G_USEC_PER_SEC - 1) / G_USEC_PER_SEC;

      g_set_error (error, MS_POP3_ERROR, MS_POP3_ERROR_LOGIN_DELAY,
                   "wait %" G_GINT64_FORMAT " more seconds: logins are at least %u seconds apart",
                   wait, server->pop3_login_delay_s);
      return NULL;
    }

  if (!ms_store_ensure_user (server->store, user, &local_error) ||
      (listed = ms_store_list (server->store, user, POP3_FOLDER, &local_error)) == NULL)
    {
      g_set_error (error, MS_POP3_ERROR, MS_POP3_ERROR_TEMP, "%s", local_error->message);
      return NULL;
    }

  messages = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_pop3_message_free);
  for (guint i = 0; i < listed->len; i++)
    {
      MsStoreMessage *stored = listed->pdata[i];
      g_autoptr(GBytes) bytes = NULL;
      g_autofree char *uidl = NULL;
      gsize len;
      const guint8 *bytes_data;

      /* The size a client sees is the size on the wire (CRLF line ends),
       * which only the bytes tell. A message that vanished since the list
       * (another program removed it) is left out. */
      bytes = ms_store_read (server->store, user, POP3_FOLDER, stored->uid, &local_error);
      if (bytes == NULL)
        {
          if (g_error_matches (local_error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
            {
              g_clear_error (&local_error);
              continue;
            }
          g_set_error (error, MS_POP3_ERROR, MS_POP3_ERROR_TEMP, "%s", local_error->message);
          return NULL;
        }
      bytes_data = g_bytes_get_data (bytes, &len);
      uidl = make_uidl (stored->name);
      g_ptr_array_add (messages, ms_pop3_message_new (stored->uid, uidl,
                                                      ms_pop3_wire_size (bytes_data, len)));
    }

  g_hash_table_add (server->pop3_locks, g_strdup (user));
  g_hash_table_insert (server->pop3_last_login, g_strdup (user), g_memdup2 (&now, sizeof now));
  return g_steal_pointer (&messages);
}

static GBytes *
backend_read_message (gpointer data,
                      const char *user,
                      guint32 uid,
                      GError **error)
{
  MsServerConnection *connection = data;
  return ms_store_read (connection->server->store, user, POP3_FOLDER, uid, error);
}

static void
backend_mark (gpointer data,
              const char *user,
              guint32 uid,
              gboolean marked)
{
  MsServerConnection *connection = data;
  MsEvent *event;

  /* Nothing changes on disk until QUIT; the event lets a viewer show the
   * message as marked. */
  if (!ms_trace_bus_is_active (connection->server->bus))
    return;
  event = store_event (connection, marked ? "pop3-mark" : "pop3-unmark", user);
  ms_event_set_int (event, "uid", uid);
  ms_trace_bus_emit (connection->server->bus, event);
}

static gboolean
backend_commit (gpointer data,
                const char *user,
                const guint32 *uids,
                guint n_uids,
                GError **error)
{
  MsServerConnection *connection = data;
  MsServer *server = connection->server;
  guint failed = 0;

  if (ms_trace_bus_is_active (server->bus))
    {
      MsEvent *event = store_event (connection, "pop3-commit", user);
      JsonArray *array = json_array_sized_new (n_uids);

      for (guint i = 0; i < n_uids; i++)
        json_array_add_int_element (array, uids[i]);
      ms_event_set_array (event, "uids", array);
      ms_event_set_int (event, "count", n_uids);
      ms_trace_bus_emit (server->bus, event);
    }

  /* Each expunge emits its own store event. */
  for (guint i = 0; i < n_uids; i++)
    {
      g_autoptr(GError) local_error = NULL;

      if (ms_store_expunge (server->store, user, POP3_FOLDER, uids[i], &local_error))
        continue;
      /* Gone already (a mail client removed it meanwhile): that is what we wanted. */
      if (g_error_matches (local_error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
        continue;
      g_warning ("%s: cannot remove UID %u of %s: %s", connection->session_id, uids[i], user,
                 local_error->message);
      failed++;
    }
  if (failed > 0)
    {
      g_set_error (error, MS_POP3_ERROR, MS_POP3_ERROR_TEMP, "%u of %u messages not removed",
                   failed, n_uids);
      return FALSE;
    }
  return TRUE;
}

static void
backend_close_maildrop (gpointer data,
                        const char *user)
{
  MsServerConnection *connection = data;
  g_hash_table_remove (connection->server->pop3_locks, user);
}

static const MsPop3Backend pop3_backend = {
  .authenticate = backend_authenticate,
  .apop_secret = backend_apop_secret,
  .open_maildrop = backend_open_maildrop,
  .read_message = backend_read_message,
  .mark = backend_mark,
  .commit = backend_commit,
  .close_maildrop = backend_close_maildrop,
};

/* The greeting carries an APOP timestamp only when APOP can succeed. */
static gboolean
some_user_has_apop_secret (MsServer *server)
{
  g_auto(GStrv) users = ms_auth_list_users (server->auth);

  for (guint i = 0; users[i] != NULL; i++)
    {
      char *secret = ms_auth_get_apop_secret (server->auth, users[i]);

      if (secret != NULL)
        {
          OPENSSL_cleanse (secret, strlen (secret));
          g_free (secret);
          return TRUE;
        }
    }
  return FALSE;
}

/* The protocol table MsServer drives POP3 sessions through. */

static gpointer
pop3_session_new (MsServerConnection *connection)
{
  MsServer *server = connection->server;
  MsPop3SessionConfig config = { 0 };

  config.hostname = server->domain;
  config.tls_available = server->tls_server_ctx != NULL;
  config.tls_active = connection->kind == MS_LISTENER_POP3S;
  config.apop_available = some_user_has_apop_secret (server);
  config.expire_days = server->pop3_expire_days;
  config.login_delay_s = server->pop3_login_delay_s;
  config.bus = server->bus;
  config.server_name = server->domain;
  config.session_id = connection->session_id;
  ms_conn_set_idle_timeout (connection->conn, server->pop3_idle_timeout_s);
  return ms_pop3_session_new (&config, &pop3_backend, connection, &_ms_server_session_output,
                              connection);
}

static void
pop3_session_free (gpointer session)
{
  ms_pop3_session_free (session);
}

static void
pop3_start (gpointer session)
{
  ms_pop3_session_start (session);
}

static void
pop3_feed_line (gpointer session,
                const char *line,
                gsize len,
                MsLineFlags flags)
{
  ms_pop3_session_feed_line (session, line, len, flags);
}

static void
pop3_tls_done (gpointer session,
               gboolean ok)
{
  ms_pop3_session_tls_done (session, ok);
}

static void
pop3_timeout (gpointer session)
{
  ms_pop3_session_timeout (session);
}

static void
pop3_shutdown (gpointer session)
{
  ms_pop3_session_shutdown (session);
}

static gboolean
pop3_awaits_command (gpointer session)
{
  return ms_pop3_session_awaits_command (session);
}

/* A reply's status indicator starts its first line (RFC 1939 §3); the lines
 * after it are a message or a listing, never a status. A SASL challenge
 * ("+ ") has none. */
static gboolean
pop3_reply_status (const char *data,
                   gsize len,
                   MsReplyStatus *status_r)
{
  static const char * const indicators[] = { "+OK", "-ERR", NULL };

  return _ms_server_reply_word (data, len, 0, indicators, status_r);
}

static const char *
pop3_state_name (gpointer session)
{
  return ms_pop3_state_to_string (ms_pop3_session_get_state (session));
}

const MsProtocolOps _ms_server_pop3_ops = {
  .proto = "pop3",
  /* AUTH lines may pass RFC 2449's 255 octets; the session holds every
   * other command to that. */
  .max_line = MS_POP3_MAX_AUTH_LINE,
  .busy_reply = "-ERR [SYS/TEMP] Too many connections, try again later",
  .session_new = pop3_session_new,
  .session_free = pop3_session_free,
  .start = pop3_start,
  .feed_line = pop3_feed_line,
  .tls_done = pop3_tls_done,
  .timeout = pop3_timeout,
  .shutdown = pop3_shutdown,
  .state_name = pop3_state_name,
  .awaits_command = pop3_awaits_command,
  .reply_status = pop3_reply_status,
};
