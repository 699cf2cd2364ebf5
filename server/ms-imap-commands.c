/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ms-imap-session-private.h"
#include "ms-imap-utf7.h"

#define NOT_AUTHENTICATED MS_IMAP_STATE_BIT (MS_IMAP_STATE_NOT_AUTHENTICATED)
#define AUTHENTICATED     MS_IMAP_STATE_BIT (MS_IMAP_STATE_AUTHENTICATED)
#define SELECTED          MS_IMAP_STATE_BIT (MS_IMAP_STATE_SELECTED)
#define LOGGED_IN         (AUTHENTICATED | SELECTED)
#define ANY_STATE         (NOT_AUTHENTICATED | AUTHENTICATED | SELECTED)

/* LIST and LSUB patterns: the matcher is O(name x pattern). */
#define MAX_PATTERN 1024
/* The longest hold after a failed login, however many failures. */
#define MAX_FAILED_LOGIN_DELAY_MS 8000
#define FAILED_LOGIN_DELAY_MS 1000
/* RFC 2971 §3.3: at most 30 field-value pairs. */
#define MAX_ID_FIELDS 30

/* ---- small helpers ---- */

static gboolean
check_arg_count (MsImapSession *session,
                 const char *tag,
                 GPtrArray *args,
                 guint min,
                 guint max,
                 const char *usage)
{
  if (args->len >= min && args->len <= max)
    return TRUE;
  _ms_imap_bad (session, tag, "Syntax: %s", usage);
  return FALSE;
}

static const MsImapArg *
arg_at (GPtrArray *args,
        guint i)
{
  return args->pdata[i];
}

/* An astring argument (RFC 3501 §9), or NULL after a tagged BAD. */
static const char *
astring_arg (MsImapSession *session,
             const char *tag,
             GPtrArray *args,
             guint i,
             const char *usage)
{
  const char *text = ms_imap_arg_astring (arg_at (args, i));

  if (text == NULL || strlen (text) != arg_at (args, i)->len)
    {
      _ms_imap_bad (session, tag, "Syntax: %s", usage);
      return NULL;
    }
  return text;
}

/* A mailbox argument as a canonical folder name, or NULL after a reply. */
static char *
mailbox_arg (MsImapSession *session,
             const char *tag,
             GPtrArray *args,
             guint i,
             const char *usage)
{
  const char *wire = astring_arg (session, tag, args, i, usage);

  if (wire == NULL)
    return NULL;
  return _ms_imap_mailbox_from_wire (session, tag, wire);
}

/* The response code for a store error (RFC 5530 §3). */
static const char *
store_error_code (const GError *error)
{
  if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
    return "NONEXISTENT";
  if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_EXISTS))
    return "ALREADYEXISTS";
  if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME))
    return "CANNOT";
  if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_NO_SPACE))
    return "OVERQUOTA";
  return "SERVERBUG";
}

static void
store_failed (MsImapSession *session,
              const char *tag,
              const char *verb,
              const GError *error)
{
  const char *why = error->message;

  if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_IO))
    g_warning ("%s: %s failed: %s", session->trace.session_id, verb, error->message);
  else if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
    why = "mailbox does not exist";
  else if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_EXISTS))
    why = "mailbox already exists";
  _ms_imap_tagged (session, tag, "NO", "[%s] %s failed: %s", store_error_code (error), verb,
                   why);
}

/* Writes `uids` (ascending) as a compact UID set: "3:5,9". */
static void
append_uid_set (GString *out,
                const GArray *uids)
{
  guint i = 0;

  while (i < uids->len)
    {
      guint32 first = g_array_index (uids, guint32, i);
      guint32 last = first;

      while (i + 1 < uids->len && g_array_index (uids, guint32, i + 1) == last + 1)
        last = g_array_index (uids, guint32, ++i);
      if (out->len > 0 && out->str[out->len - 1] != ' ')
        g_string_append_c (out, ',');
      if (first == last)
        g_string_append_printf (out, "%u", first);
      else
        g_string_append_printf (out, "%u:%u", first, last);
      i++;
    }
}

static gboolean
login_allowed (MsImapSession *session)
{
  return !session->login_needs_tls || session->tls_active;
}

char *
_ms_imap_capability_string (MsImapSession *session)
{
  GString *out = g_string_new (MS_IMAP_CAPABILITIES);

  if (session->state == MS_IMAP_STATE_NOT_AUTHENTICATED)
    {
      /* RFC 3501 §6.2.1, §6.2.3; RFC 4959 (SASL-IR). */
      if (session->tls_available && !session->tls_active)
        g_string_append (out, " STARTTLS");
      if (login_allowed (session))
        g_string_append (out, " AUTH=PLAIN SASL-IR");
      else
        g_string_append (out, " LOGINDISABLED");
    }
  return g_string_free (out, FALSE);
}

/* ---- any state (RFC 3501 §6.1) ---- */

/* RFC 3501 §6.1.1 */
static void
imap_cmd_capability (MsImapSession *session,
                     const char *tag,
                     GPtrArray *args,
                     gboolean uid)
{
  g_autofree char *capability = NULL;

  if (!check_arg_count (session, tag, args, 0, 0, "CAPABILITY"))
    return;
  capability = _ms_imap_capability_string (session);
  _ms_imap_untagged (session, "CAPABILITY %s", capability);
  _ms_imap_tagged (session, tag, "OK", "CAPABILITY completed");
}

/* RFC 3501 §6.1.2: NOOP is how a client polls for updates, so it looks at
 * the store even when no change was signalled. */
static void
imap_cmd_noop (MsImapSession *session,
               const char *tag,
               GPtrArray *args,
               gboolean uid)
{
  if (!check_arg_count (session, tag, args, 0, 0, "NOOP"))
    return;
  session->mailbox_dirty = TRUE;
  _ms_imap_tagged (session, tag, "OK", "NOOP completed");
}

/* RFC 3501 §6.1.3: BYE, then the tagged OK, then close. */
static void
imap_cmd_logout (MsImapSession *session,
                 const char *tag,
                 GPtrArray *args,
                 gboolean uid)
{
  if (!check_arg_count (session, tag, args, 0, 0, "LOGOUT"))
    return;
  _ms_imap_set_state (session, MS_IMAP_STATE_LOGOUT);
  _ms_imap_untagged (session, "BYE %s Mailscope IMAP4rev1 server logging out",
                     session->hostname);
  _ms_imap_tagged (session, tag, "OK", "LOGOUT completed");
  _ms_imap_close (session);
}

/* RFC 2971 §3.1: the client's fields are only looked at for syntax. */
static void
imap_cmd_id (MsImapSession *session,
             const char *tag,
             GPtrArray *args,
             gboolean uid)
{
  const MsImapArg *list;

  if (!check_arg_count (session, tag, args, 1, 1, "ID (\"field\" \"value\" ...) or ID NIL"))
    return;
  list = arg_at (args, 0);
  if (list->type == MS_IMAP_ARG_LIST)
    {
      if (list->children->len % 2 != 0 || list->children->len > 2 * MAX_ID_FIELDS)
        {
          _ms_imap_bad (session, tag, "Syntax: ID takes at most 30 field-value pairs");
          return;
        }
      for (guint i = 0; i < list->children->len; i++)
        {
          const MsImapArg *item = list->children->pdata[i];

          if (item->type != MS_IMAP_ARG_STRING && item->type != MS_IMAP_ARG_NIL)
            {
              _ms_imap_bad (session, tag, "Syntax: ID fields and values are strings");
              return;
            }
        }
    }
  else if (list->type != MS_IMAP_ARG_NIL)
    {
      _ms_imap_bad (session, tag, "Syntax: ID (\"field\" \"value\" ...) or ID NIL");
      return;
    }
  _ms_imap_untagged (session, "ID (\"name\" \"Mailscope\" \"version\" \"%s\")",
                     PACKAGE_VERSION);
  _ms_imap_tagged (session, tag, "OK", "ID completed");
}

/* ---- NOT AUTHENTICATED (RFC 3501 §6.2) ---- */

/* RFC 3501 §6.2.1 */
static void
imap_cmd_starttls (MsImapSession *session,
                   const char *tag,
                   GPtrArray *args,
                   gboolean uid)
{
  if (!check_arg_count (session, tag, args, 0, 0, "STARTTLS"))
    return;
  if (session->tls_active)
    {
      _ms_imap_bad (session, tag, "TLS is already active");
      return;
    }
  if (!session->tls_available)
    {
      _ms_imap_bad (session, tag, "STARTTLS is not available");
      return;
    }
  _ms_imap_tagged (session, tag, "OK", "Begin TLS negotiation now");
  _ms_imap_set_state (session, MS_IMAP_STATE_TLS);
  session->wait = MS_IMAP_WAIT_TLS;
  session->output->start_tls (session->output_data);
}

static void
login_failed (MsImapSession *session,
              const char *tag,
              const char *mechanism,
              const char *user)
{
  guint delay = FAILED_LOGIN_DELAY_MS;

  ms_session_trace_auth (&session->trace, mechanism, user, FALSE);
  session->failed_logins++;
  /* Slow down password guessing: each failure waits longer. */
  for (guint i = 1; i < session->failed_logins && delay < MAX_FAILED_LOGIN_DELAY_MS; i++)
    delay *= 2;
  if (session->output->hold != NULL)
    session->output->hold (session->output_data, MIN (delay, MAX_FAILED_LOGIN_DELAY_MS));

  /* RFC 5530 §3 */
  _ms_imap_tagged (session, tag, "NO", "[AUTHENTICATIONFAILED] Authentication failed");
  if (session->failed_logins >= session->max_failed_logins)
    _ms_imap_bye (session, "Too many failed logins");
}

static void
check_password (MsImapSession *session,
                const char *tag,
                const char *mechanism,
                const char *user,
                const char *password)
{
  g_autofree char *canonical = NULL;
  g_autoptr(GError) error = NULL;

  if (!session->backend->authenticate (session->backend_data, user, password, &canonical))
    {
      login_failed (session, tag, mechanism, user);
      return;
    }
  ms_session_trace_auth (&session->trace, mechanism, canonical, TRUE);
  if (!ms_store_ensure_user (session->store, canonical, &error))
    {
      g_warning ("%s: cannot open the mail store of %s: %s", session->trace.session_id,
                 canonical, error->message);
      _ms_imap_tagged (session, tag, "NO", "[UNAVAILABLE] Cannot open your mailboxes");
      return;
    }
  session->user = g_steal_pointer (&canonical);
  session->failed_logins = 0;
  _ms_imap_set_state (session, MS_IMAP_STATE_AUTHENTICATED);
  {
    /* RFC 3501 §7.2.1: the capabilities may change after login. */
    g_autofree char *capability = _ms_imap_capability_string (session);

    _ms_imap_tagged (session, tag, "OK", "[CAPABILITY %s] Logged in", capability);
  }
}

static void
wipe_arg (const MsImapArg *arg)
{
  if (arg->data != NULL)
    OPENSSL_cleanse (arg->data, arg->len);
}

/* RFC 3501 §6.2.3 */
static void
imap_cmd_login (MsImapSession *session,
                const char *tag,
                GPtrArray *args,
                gboolean uid)
{
  const char *user;
  const char *password;

  if (!check_arg_count (session, tag, args, 2, 2, "LOGIN user password"))
    return;
  if (!login_allowed (session))
    {
      wipe_arg (arg_at (args, 1));
      /* RFC 3501 §6.2.3 (LOGINDISABLED), RFC 5530 §3 (PRIVACYREQUIRED). */
      _ms_imap_tagged (session, tag, "NO", "[PRIVACYREQUIRED] LOGIN is disabled until STARTTLS");
      return;
    }
  user = astring_arg (session, tag, args, 0, "LOGIN user password");
  password = user != NULL ? astring_arg (session, tag, args, 1, "LOGIN user password") : NULL;
  if (password != NULL)
    check_password (session, tag, "LOGIN", user, password);
  wipe_arg (arg_at (args, 1));
}

/* Strict base64 (RFC 4648 §4): g_base64_decode() skips bad characters, and
 * a client's mistake should be an error, not a different password. */
static GBytes *
decode_base64 (const char *text,
               gsize len)
{
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
  g_autofree char *copy = NULL;
  gsize out_len;
  guchar *out;

  if (len % 4 != 0)
    return NULL;
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '\0' || strchr (alphabet, text[i]) == NULL ||
          (text[i] == '=' && i + 2 < len))
        return NULL;
    }
  copy = g_strndup (text, len);
  out = g_base64_decode (copy, &out_len);
  OPENSSL_cleanse (copy, len);
  return g_bytes_new_take (out, out_len);
}

/* RFC 4616 §2: [authzid] NUL authcid NUL passwd. No proxy logins: an
 * authzid that is not the user fails. */
static void
auth_plain (MsImapSession *session,
            const char *tag,
            const char *response,
            gsize response_len)
{
  g_autoptr(GBytes) decoded = decode_base64 (response, response_len);
  const char *data;
  gsize len;
  const char *nul1;
  const char *nul2;
  g_autofree char *authzid = NULL;
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;

  if (decoded == NULL)
    {
      _ms_imap_bad (session, tag, "Cannot decode the PLAIN response (bad base64)");
      return;
    }
  data = g_bytes_get_data (decoded, &len);
  nul1 = len > 0 ? memchr (data, '\0', len) : NULL;
  nul2 = nul1 != NULL ? memchr (nul1 + 1, '\0', len - (nul1 + 1 - data)) : NULL;
  if (nul2 == NULL || memchr (nul2 + 1, '\0', len - (nul2 + 1 - data)) != NULL)
    {
      if (len > 0)
        OPENSSL_cleanse ((void *) data, len);
      _ms_imap_bad (session, tag, "Malformed PLAIN response: authzid NUL user NUL password");
      return;
    }
  authzid = g_strndup (data, nul1 - data);
  user = g_strndup (nul1 + 1, nul2 - nul1 - 1);
  password = g_strndup (nul2 + 1, len - (nul2 + 1 - data));
  OPENSSL_cleanse ((void *) data, len);

  if (*authzid != '\0' && strcmp (authzid, user) != 0)
    login_failed (session, tag, "PLAIN", user);
  else
    check_password (session, tag, "PLAIN", user, password);
  OPENSSL_cleanse (password, strlen (password));
}

void
_ms_imap_auth_continue (MsImapSession *session,
                        const char *line,
                        gsize len)
{
  g_autofree char *tag = g_steal_pointer (&session->wait_tag);

  g_assert (session->wait == MS_IMAP_WAIT_AUTH);
  session->wait = MS_IMAP_WAIT_NONE;
  /* RFC 3501 §6.2.2: "*" cancels, and the server answers BAD. */
  if (len == 1 && line[0] == '*')
    {
      _ms_imap_bad (session, tag, "Authentication cancelled");
      return;
    }
  auth_plain (session, tag, line, len);
}

/* RFC 3501 §6.2.2 with PLAIN (RFC 4616) and an initial response (RFC
 * 4959). */
static void
imap_cmd_authenticate (MsImapSession *session,
                       const char *tag,
                       GPtrArray *args,
                       gboolean uid)
{
  const MsImapArg *initial;

  if (!check_arg_count (session, tag, args, 1, 2, "AUTHENTICATE PLAIN [initial-response]"))
    return;
  if (!ms_imap_arg_is_atom (arg_at (args, 0), "PLAIN"))
    {
      _ms_imap_tagged (session, tag, "NO", "Unsupported authentication mechanism; use PLAIN");
      return;
    }
  if (!login_allowed (session))
    {
      _ms_imap_tagged (session, tag, "NO", "[PRIVACYREQUIRED] Authentication is disabled "
                       "until STARTTLS");
      return;
    }
  if (args->len == 1)
    {
      /* An empty challenge: "+ " and nothing after it. */
      g_free (session->wait_tag);
      session->wait_tag = g_strdup (tag);
      session->wait = MS_IMAP_WAIT_AUTH;
      _ms_imap_continuation (session, "");
      return;
    }
  initial = arg_at (args, 1);
  if (initial->type != MS_IMAP_ARG_ATOM && initial->type != MS_IMAP_ARG_STRING)
    {
      _ms_imap_bad (session, tag, "Syntax: AUTHENTICATE PLAIN [initial-response]");
      return;
    }
  /* RFC 4959 §3: "=" is an empty initial response. */
  if (initial->len == 1 && initial->data[0] == '=')
    auth_plain (session, tag, "", 0);
  else
    auth_plain (session, tag, initial->data, initial->len);
  wipe_arg (initial);
}

/* ---- AUTHENTICATED (RFC 3501 §6.3) ---- */

static guint
first_unseen (MsImapSession *session)
{
  for (guint i = 0; i < ms_imap_view_length (session->view); i++)
    {
      if (!(ms_imap_view_get_bits (session->view, i) & MS_IMAP_VIEW_SEEN))
        return i + 1;
    }
  return 0;
}

/* RFC 3501 §6.3.1 (SELECT) and §6.3.2 (EXAMINE). */
static void
select_mailbox (MsImapSession *session,
                const char *tag,
                GPtrArray *args,
                gboolean read_only)
{
  const char *verb = read_only ? "EXAMINE" : "SELECT";
  g_autofree char *usage = g_strdup_printf ("%s mailbox", verb);
  g_autofree char *folder = NULL;
  g_autoptr(GError) error = NULL;
  guint unseen;

  if (!check_arg_count (session, tag, args, 1, 1, usage))
    return;
  /* §6.3.1: a SELECT, even a failed one, first leaves the mailbox. */
  _ms_imap_unselect (session);
  folder = mailbox_arg (session, tag, args, 0, usage);
  if (folder == NULL)
    return;
  if (!_ms_imap_open_mailbox (session, folder, read_only, &error))
    {
      store_failed (session, tag, verb, error);
      return;
    }

  _ms_imap_untagged (session, "FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)");
  /* Keywords are not kept, so no \* (§7.1). */
  if (read_only)
    _ms_imap_untagged (session, "OK [PERMANENTFLAGS ()] No permanent flags permitted");
  else
    _ms_imap_untagged (session, "OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
                       "\\Draft)] Limited");
  _ms_imap_untagged (session, "%u EXISTS", ms_imap_view_length (session->view));
  _ms_imap_untagged (session, "%u RECENT",
                     ms_imap_view_count_bits (session->view, MS_IMAP_VIEW_RECENT));
  unseen = first_unseen (session);
  if (unseen > 0)
    _ms_imap_untagged (session, "OK [UNSEEN %u] Message %u is first unseen", unseen, unseen);
  _ms_imap_untagged (session, "OK [UIDVALIDITY %u] UIDs valid", session->uidvalidity);
  _ms_imap_untagged (session, "OK [UIDNEXT %u] Predicted next UID", session->uidnext);
  _ms_imap_tagged (session, tag, "OK", "[%s] %s completed", read_only ? "READ-ONLY"
                                                                      : "READ-WRITE", verb);
}

static void
imap_cmd_select (MsImapSession *session,
                 const char *tag,
                 GPtrArray *args,
                 gboolean uid)
{
  select_mailbox (session, tag, args, FALSE);
}

static void
imap_cmd_examine (MsImapSession *session,
                  const char *tag,
                  GPtrArray *args,
                  gboolean uid)
{
  select_mailbox (session, tag, args, TRUE);
}

/* RFC 3501 §6.3.3: a trailing separator only says the client means to
 * create names below it. */
static void
imap_cmd_create (MsImapSession *session,
                 const char *tag,
                 GPtrArray *args,
                 gboolean uid)
{
  const char *wire;
  g_autofree char *trimmed = NULL;
  g_autofree char *folder = NULL;
  g_autoptr(GError) error = NULL;

  if (!check_arg_count (session, tag, args, 1, 1, "CREATE mailbox"))
    return;
  wire = astring_arg (session, tag, args, 0, "CREATE mailbox");
  if (wire == NULL)
    return;
  trimmed = g_strdup (wire);
  if (strlen (trimmed) > 1 && g_str_has_suffix (trimmed, "/"))
    trimmed[strlen (trimmed) - 1] = '\0';
  folder = _ms_imap_mailbox_from_wire (session, tag, trimmed);
  if (folder == NULL)
    return;
  if (strcmp (folder, "INBOX") == 0)
    {
      _ms_imap_tagged (session, tag, "NO", "[ALREADYEXISTS] INBOX always exists");
      return;
    }
  if (!ms_store_create_folder (session->store, session->user, folder, &error))
    {
      store_failed (session, tag, "CREATE", error);
      return;
    }
  _ms_imap_tagged (session, tag, "OK", "CREATE completed");
}

/* RFC 3501 §6.3.4. Folders below stay (Maildir++ keeps them apart). */
static void
imap_cmd_delete (MsImapSession *session,
                 const char *tag,
                 GPtrArray *args,
                 gboolean uid)
{
  g_autofree char *folder = NULL;
  g_autoptr(GError) error = NULL;

  if (!check_arg_count (session, tag, args, 1, 1, "DELETE mailbox"))
    return;
  folder = mailbox_arg (session, tag, args, 0, "DELETE mailbox");
  if (folder == NULL)
    return;
  if (strcmp (folder, "INBOX") == 0)
    {
      _ms_imap_tagged (session, tag, "NO", "[CANNOT] INBOX cannot be deleted");
      return;
    }
  /* Simpler than telling the client its mailbox went away under it. */
  if (session->selected != NULL && strcmp (folder, session->selected) == 0)
    {
      _ms_imap_tagged (session, tag, "NO", "[INUSE] Close the mailbox before deleting it");
      return;
    }
  if (!ms_store_delete_folder (session->store, session->user, folder, &error))
    {
      store_failed (session, tag, "DELETE", error);
      return;
    }
  _ms_imap_tagged (session, tag, "OK", "DELETE completed");
}

/* RFC 3501 §6.3.5. Renaming INBOX (which moves its messages) is refused:
 * the store cannot do it in one step. */
static void
imap_cmd_rename (MsImapSession *session,
                 const char *tag,
                 GPtrArray *args,
                 gboolean uid)
{
  g_autofree char *from = NULL;
  g_autofree char *to = NULL;
  g_autoptr(GError) error = NULL;
  gsize from_len;

  if (!check_arg_count (session, tag, args, 2, 2, "RENAME mailbox new-name"))
    return;
  from = mailbox_arg (session, tag, args, 0, "RENAME mailbox new-name");
  if (from == NULL)
    return;
  to = mailbox_arg (session, tag, args, 1, "RENAME mailbox new-name");
  if (to == NULL)
    return;
  if (strcmp (from, "INBOX") == 0)
    {
      _ms_imap_tagged (session, tag, "NO", "[CANNOT] Renaming INBOX is not supported");
      return;
    }
  if (strcmp (to, "INBOX") == 0)
    {
      _ms_imap_tagged (session, tag, "NO", "[ALREADYEXISTS] INBOX already exists");
      return;
    }
  if (!ms_store_rename_folder (session->store, session->user, from, to, &error))
    {
      store_failed (session, tag, "RENAME", error);
      return;
    }
  /* The selected mailbox keeps its UIDs under its new name. */
  from_len = strlen (from);
  if (session->selected != NULL && strncmp (session->selected, from, from_len) == 0 &&
      (session->selected[from_len] == '\0' || session->selected[from_len] == '/'))
    {
      char *renamed = g_strconcat (to, session->selected + from_len, NULL);

      g_free (session->selected);
      session->selected = renamed;
    }
  _ms_imap_tagged (session, tag, "OK", "RENAME completed");
}

/* RFC 3501 §6.3.6 (SUBSCRIBE) and §6.3.7 (UNSUBSCRIBE). */
static void
set_subscribed (MsImapSession *session,
                const char *tag,
                GPtrArray *args,
                gboolean subscribed)
{
  const char *verb = subscribed ? "SUBSCRIBE" : "UNSUBSCRIBE";
  g_autofree char *usage = g_strdup_printf ("%s mailbox", verb);
  g_autofree char *folder = NULL;
  g_autoptr(GError) error = NULL;

  if (!check_arg_count (session, tag, args, 1, 1, usage))
    return;
  folder = mailbox_arg (session, tag, args, 0, usage);
  if (folder == NULL)
    return;
  if (!ms_store_set_subscribed (session->store, session->user, folder, subscribed, &error))
    {
      store_failed (session, tag, verb, error);
      return;
    }
  _ms_imap_tagged (session, tag, "OK", "%s completed", verb);
}

static void
imap_cmd_subscribe (MsImapSession *session,
                    const char *tag,
                    GPtrArray *args,
                    gboolean uid)
{
  set_subscribed (session, tag, args, TRUE);
}

static void
imap_cmd_unsubscribe (MsImapSession *session,
                      const char *tag,
                      GPtrArray *args,
                      gboolean uid)
{
  set_subscribed (session, tag, args, FALSE);
}

/* RFC 3501 §6.3.8: "*" matches anything, "%" anything but the hierarchy
 * separator. A table of which pattern prefixes match which name prefixes:
 * linear in each, no backtracking blow-up. */
static gboolean
pattern_matches (const char *pattern,
                 const char *name)
{
  gsize plen = strlen (pattern);
  gsize nlen = strlen (name);
  g_autofree gboolean *row = g_new0 (gboolean, nlen + 1);

  /* row[j]: pattern[0..i) matches name[0..j) */
  row[0] = TRUE;
  for (gsize i = 0; i < plen; i++)
    {
      char p = pattern[i];

      if (p == '*' || p == '%')
        {
          for (gsize j = 1; j <= nlen; j++)
            {
              if (!row[j] && row[j - 1] && (p == '*' || name[j - 1] != '/'))
                row[j] = TRUE;
            }
        }
      else
        {
          for (gsize j = nlen; j > 0; j--)
            row[j] = row[j - 1] && name[j - 1] == p;
          row[0] = FALSE;
        }
    }
  return row[nlen];
}

/* INBOX matches case-insensitively (RFC 3501 §5.1). */
static gboolean
name_matches (const char *pattern,
              const char *wire_name)
{
  if (strcmp (wire_name, "INBOX") == 0)
    {
      g_autofree char *upper = g_ascii_strup (pattern, -1);

      return pattern_matches (upper, wire_name);
    }
  return pattern_matches (pattern, wire_name);
}

static const char *
special_use (const char *folder)
{
  /* RFC 6154 §2 */
  static const char * const names[][2] = {
    { "Sent", "\\Sent" },
    { "Drafts", "\\Drafts" },
    { "Trash", "\\Trash" },
    { "Junk", "\\Junk" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      if (strcmp (folder, names[i][0]) == 0)
        return names[i][1];
    }
  return NULL;
}

/* For g_ptr_array_sort(): INBOX first, then by name. */
static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  const char *x = *(const char * const *) a;
  const char *y = *(const char * const *) b;
  gboolean x_inbox = strcmp (x, "INBOX") == 0;
  gboolean y_inbox = strcmp (y, "INBOX") == 0;

  if (x_inbox != y_inbox)
    return x_inbox ? -1 : 1;
  return strcmp (x, y);
}

/* reference + pattern (RFC 3501 §6.3.8), or NULL after a BAD. */
static char *
list_pattern (MsImapSession *session,
              const char *tag,
              GPtrArray *args,
              const char *usage)
{
  const char *reference;
  const char *pattern;

  if (!check_arg_count (session, tag, args, 2, 2, usage))
    return NULL;
  reference = astring_arg (session, tag, args, 0, usage);
  if (reference == NULL)
    return NULL;
  pattern = astring_arg (session, tag, args, 1, usage);
  if (pattern == NULL)
    return NULL;
  if (strlen (reference) + strlen (pattern) > MAX_PATTERN)
    {
      _ms_imap_bad (session, tag, "Pattern too long");
      return NULL;
    }
  return g_strconcat (reference, pattern, NULL);
}

static void
send_list_line (MsImapSession *session,
                const char *verb,
                const char *attributes,
                const char *wire_name)
{
  g_autoptr(GString) line = g_string_sized_new (64);

  g_string_append_printf (line, "%s (%s) \"/\" ", verb, attributes);
  ms_imap_append_astring (line, wire_name);
  _ms_imap_untagged (session, "%s", line->str);
}

/* RFC 3501 §6.3.8, with the child attributes of RFC 3348 and the special
 * uses of RFC 6154. */
static void
imap_cmd_list (MsImapSession *session,
               const char *tag,
               GPtrArray *args,
               gboolean uid)
{
  g_autofree char *pattern = NULL;
  g_autoptr(GPtrArray) folders = NULL;
  g_autoptr(GHashTable) existing = NULL;
  g_autoptr(GHashTable) parents = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;

  pattern = list_pattern (session, tag, args, "LIST reference pattern");
  if (pattern == NULL)
    return;
  if (*ms_imap_arg_astring (arg_at (args, 1)) == '\0')
    {
      /* §6.3.8: an empty pattern asks for the delimiter and the root. */
      _ms_imap_untagged (session, "LIST (\\Noselect) \"/\" \"\"");
      _ms_imap_tagged (session, tag, "OK", "LIST completed");
      return;
    }
  folders = ms_store_list_folders (session->store, session->user, &error);
  if (folders == NULL)
    {
      store_failed (session, tag, "LIST", error);
      return;
    }

  /* The names on the wire (modified UTF-7), and every parent level, which
   * is listed \Noselect when no folder has that name. */
  existing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  parents = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  names = g_ptr_array_new ();
  for (guint i = 0; i < folders->len; i++)
    {
      char *wire = ms_imap_utf7_encode (folders->pdata[i]);

      if (wire == NULL)
        continue;
      for (char *slash = strchr (wire, '/'); slash != NULL; slash = strchr (slash + 1, '/'))
        g_hash_table_add (parents, g_strndup (wire, slash - wire));
      if (g_hash_table_add (existing, wire))
        g_ptr_array_add (names, wire);
    }
  {
    GHashTableIter iter;
    gpointer key;

    g_hash_table_iter_init (&iter, parents);
    while (g_hash_table_iter_next (&iter, &key, NULL))
      {
        if (!g_hash_table_contains (existing, key))
          g_ptr_array_add (names, key);
      }
  }
  g_ptr_array_sort (names, compare_names);
  for (guint i = 0; i < names->len; i++)
    {
      const char *wire = names->pdata[i];
      g_autofree char *folder = NULL;
      g_autoptr(GString) attributes = g_string_new (NULL);
      const char *use;

      if (!name_matches (pattern, wire))
        continue;
      if (!g_hash_table_contains (existing, wire))
        g_string_append (attributes, "\\Noselect ");
      g_string_append (attributes, g_hash_table_contains (parents, wire) ? "\\HasChildren"
                                                                          : "\\HasNoChildren");
      folder = ms_imap_utf7_decode (wire);
      use = folder != NULL ? special_use (folder) : NULL;
      if (use != NULL)
        g_string_append_printf (attributes, " %s", use);
      send_list_line (session, "LIST", attributes->str, wire);
    }
  _ms_imap_tagged (session, tag, "OK", "LIST completed");
}

/* RFC 3501 §6.3.9 */
static void
imap_cmd_lsub (MsImapSession *session,
               const char *tag,
               GPtrArray *args,
               gboolean uid)
{
  g_autofree char *pattern = NULL;
  g_autoptr(GPtrArray) subscribed = NULL;
  g_autoptr(GError) error = NULL;

  pattern = list_pattern (session, tag, args, "LSUB reference pattern");
  if (pattern == NULL)
    return;
  subscribed = ms_store_list_subscriptions (session->store, session->user, &error);
  if (subscribed == NULL)
    {
      store_failed (session, tag, "LSUB", error);
      return;
    }
  for (guint i = 0; i < subscribed->len; i++)
    {
      g_autofree char *wire = ms_imap_utf7_encode (subscribed->pdata[i]);

      if (wire != NULL && name_matches (pattern, wire))
        send_list_line (session, "LSUB", "", wire);
    }
  _ms_imap_tagged (session, tag, "OK", "LSUB completed");
}

/* RFC 3501 §6.3.10. RECENT is this session's count when the mailbox is
 * selected here, else 0: claiming \Recent belongs to SELECT. */
static void
imap_cmd_status (MsImapSession *session,
                 const char *tag,
                 GPtrArray *args,
                 gboolean uid)
{
  static const char usage[] = "STATUS mailbox (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)";
  g_autofree char *folder = NULL;
  g_autofree char *wire = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) line = NULL;
  const MsImapArg *items;
  guint32 uidvalidity;
  guint32 uidnext;
  guint unseen = 0;
  guint recent = 0;

  if (!check_arg_count (session, tag, args, 2, 2, usage))
    return;
  items = arg_at (args, 1);
  if (items->type != MS_IMAP_ARG_LIST || items->children->len == 0)
    {
      _ms_imap_bad (session, tag, "Syntax: %s", usage);
      return;
    }
  for (guint i = 0; i < items->children->len; i++)
    {
      const MsImapArg *item = items->children->pdata[i];

      if (!ms_imap_arg_is_atom (item, "MESSAGES") && !ms_imap_arg_is_atom (item, "RECENT") &&
          !ms_imap_arg_is_atom (item, "UIDNEXT") && !ms_imap_arg_is_atom (item, "UIDVALIDITY") &&
          !ms_imap_arg_is_atom (item, "UNSEEN"))
        {
          _ms_imap_bad (session, tag, "Unknown STATUS item; use %s", usage + 15);
          return;
        }
    }
  folder = mailbox_arg (session, tag, args, 0, usage);
  if (folder == NULL)
    return;
  messages = ms_store_list_with_status (session->store, session->user, folder, &uidvalidity,
                                        &uidnext, &error);
  if (messages == NULL)
    {
      store_failed (session, tag, "STATUS", error);
      return;
    }
  for (guint i = 0; i < messages->len; i++)
    {
      MsStoreMessage *message = messages->pdata[i];

      if (strchr (message->flags, 'S') == NULL)
        unseen++;
    }
  if (session->selected != NULL && strcmp (session->selected, folder) == 0)
    recent = ms_imap_view_count_bits (session->view, MS_IMAP_VIEW_RECENT);

  wire = ms_imap_utf7_encode (folder);
  line = g_string_new ("STATUS ");
  ms_imap_append_astring (line, wire);
  g_string_append (line, " (");
  for (guint i = 0; i < items->children->len; i++)
    {
      const MsImapArg *item = items->children->pdata[i];

      if (i > 0)
        g_string_append_c (line, ' ');
      if (ms_imap_arg_is_atom (item, "MESSAGES"))
        g_string_append_printf (line, "MESSAGES %u", messages->len);
      else if (ms_imap_arg_is_atom (item, "RECENT"))
        g_string_append_printf (line, "RECENT %u", recent);
      else if (ms_imap_arg_is_atom (item, "UIDNEXT"))
        g_string_append_printf (line, "UIDNEXT %u", uidnext);
      else if (ms_imap_arg_is_atom (item, "UIDVALIDITY"))
        g_string_append_printf (line, "UIDVALIDITY %u", uidvalidity);
      else
        g_string_append_printf (line, "UNSEEN %u", unseen);
    }
  g_string_append_c (line, ')');
  _ms_imap_untagged (session, "%s", line->str);
  _ms_imap_tagged (session, tag, "OK", "STATUS completed");
}

/* APPEND's flag list: the system flags as Maildir letters. Keywords are
 * dropped (PERMANENTFLAGS has no \*); \Recent and unknown system flags are
 * an error. */
static gboolean
append_flags (const MsImapArg *list,
              char *letters_r,
              gsize size)
{
  GString *all = g_string_new (NULL);
  char one[8];

  for (guint i = 0; i < list->children->len; i++)
    {
      const MsImapArg *flag = list->children->pdata[i];

      if (flag->type != MS_IMAP_ARG_ATOM)
        {
          g_string_free (all, TRUE);
          return FALSE;
        }
      if (_ms_imap_parse_flags (flag, one, sizeof one))
        g_string_append (all, one);
      else if (flag->data[0] == '\\')
        {
          g_string_free (all, TRUE);
          return FALSE;
        }
    }
  /* Sort and drop repeats: the store wants letters in ASCII order. */
  {
    gsize n = 0;

    for (char c = 'A'; c <= 'Z' && n + 1 < size; c++)
      {
        if (memchr (all->str, c, all->len) != NULL)
          letters_r[n++] = c;
      }
    letters_r[n] = '\0';
  }
  g_string_free (all, TRUE);
  return TRUE;
}

/* RFC 3501 §6.3.11, with [APPENDUID] (RFC 4315 §3). */
static void
imap_cmd_append (MsImapSession *session,
                 const char *tag,
                 GPtrArray *args,
                 gboolean uid)
{
  static const char usage[] = "APPEND mailbox [(flags)] [\"date-time\"] {size}";
  g_autofree char *folder = NULL;
  g_autoptr(GError) error = NULL;
  const MsImapArg *message;
  char letters[16];
  gboolean have_flags = FALSE;
  gboolean have_date = FALSE;
  gint64 date = 0;
  guint32 uidvalidity;
  guint32 new_uid;

  if (!check_arg_count (session, tag, args, 2, 4, usage))
    return;
  message = arg_at (args, args->len - 1);
  if (message->type != MS_IMAP_ARG_STRING)
    {
      _ms_imap_bad (session, tag, "Syntax: %s", usage);
      return;
    }
  for (guint i = 1; i + 1 < args->len; i++)
    {
      const MsImapArg *arg = arg_at (args, i);

      if (arg->type == MS_IMAP_ARG_LIST && !have_flags && i == 1)
        {
          if (!append_flags (arg, letters, sizeof letters))
            {
              _ms_imap_bad (session, tag, "Invalid flag list (\\Seen \\Answered \\Flagged "
                            "\\Deleted \\Draft)");
              return;
            }
          have_flags = TRUE;
        }
      else if (arg->type != MS_IMAP_ARG_STRING || arg->literal || have_date ||
               !ms_imap_parse_date_time (arg->data, &date))
        {
          _ms_imap_bad (session, tag, "Syntax: %s", usage);
          return;
        }
      else
        have_date = TRUE;
    }
  folder = mailbox_arg (session, tag, args, 0, usage);
  if (folder == NULL)
    return;
  if (message->len == 0)
    {
      _ms_imap_tagged (session, tag, "NO", "Empty message");
      return;
    }
  if (!ms_store_folder_status (session->store, session->user, folder, &uidvalidity, NULL, NULL,
                               &error))
    {
      /* §6.3.11: TRYCREATE when the mailbox does not exist. */
      if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
        _ms_imap_tagged (session, tag, "NO", "[TRYCREATE] Mailbox does not exist");
      else
        store_failed (session, tag, "APPEND", error);
      return;
    }
  if (!ms_store_deliver (session->store, session->user, folder, (const guint8 *) message->data,
                         message->len, have_flags ? letters : NULL, date, &new_uid, &error))
    {
      store_failed (session, tag, "APPEND", error);
      return;
    }
  if (session->selected != NULL && strcmp (session->selected, folder) == 0)
    session->mailbox_dirty = TRUE;
  _ms_imap_tagged (session, tag, "OK", "[APPENDUID %u %u] APPEND completed", uidvalidity,
                   new_uid);
}

/* RFC 2342 §5: one personal namespace, no prefix, "/" separator. */
static void
imap_cmd_namespace (MsImapSession *session,
                    const char *tag,
                    GPtrArray *args,
                    gboolean uid)
{
  if (!check_arg_count (session, tag, args, 0, 0, "NAMESPACE"))
    return;
  _ms_imap_untagged (session, "NAMESPACE ((\"\" \"/\")) NIL NIL");
  _ms_imap_tagged (session, tag, "OK", "NAMESPACE completed");
}

/* RFC 2177 §3: "+ idling", updates as they come, "DONE" ends it. */
static void
imap_cmd_idle (MsImapSession *session,
               const char *tag,
               GPtrArray *args,
               gboolean uid)
{
  if (!check_arg_count (session, tag, args, 0, 0, "IDLE"))
    return;
  g_free (session->wait_tag);
  session->wait_tag = g_strdup (tag);
  session->wait = MS_IMAP_WAIT_IDLE;
  _ms_imap_continuation (session, "idling");
  if (session->state == MS_IMAP_STATE_SELECTED)
    {
      session->mailbox_dirty = TRUE;
      _ms_imap_sync_mailbox (session, TRUE);
    }
}

void
_ms_imap_idle_continue (MsImapSession *session,
                        const char *line,
                        gsize len)
{
  g_autofree char *tag = g_steal_pointer (&session->wait_tag);

  g_assert (session->wait == MS_IMAP_WAIT_IDLE);
  session->wait = MS_IMAP_WAIT_NONE;
  if (len == 4 && g_ascii_strncasecmp (line, "DONE", 4) == 0)
    _ms_imap_tagged (session, tag, "OK", "IDLE terminated");
  else
    _ms_imap_bad (session, tag, "Expected DONE to end IDLE");
}

/* ---- SELECTED (RFC 3501 §6.4) ---- */

/* RFC 3501 §6.4.1: like NOOP here, every change is already on disk. */
static void
imap_cmd_check (MsImapSession *session,
                const char *tag,
                GPtrArray *args,
                gboolean uid)
{
  if (!check_arg_count (session, tag, args, 0, 0, "CHECK"))
    return;
  session->mailbox_dirty = TRUE;
  _ms_imap_tagged (session, tag, "OK", "CHECK completed");
}

/* Removes the messages that have \Deleted in the store, of those in
 * `only` (view indexes; NULL for all). Returns FALSE with `error` set when
 * the store fails; the ones removed so far stay removed. */
static gboolean
expunge_deleted (MsImapSession *session,
                 GArray *only,
                 GError **error)
{
  if (only == NULL)
    {
      g_autoptr(GPtrArray) messages = ms_store_list (session->store, session->user,
                                                     session->selected, error);

      if (messages == NULL)
        return FALSE;
      for (guint i = 0; i < messages->len; i++)
        {
          MsStoreMessage *message = messages->pdata[i];

          if (strchr (message->flags, 'T') != NULL &&
              !ms_store_expunge (session->store, session->user, session->selected,
                                 message->uid, error))
            return FALSE;
        }
      return TRUE;
    }
  for (guint i = 0; i < only->len; i++)
    {
      guint32 uid = ms_imap_view_uid_at (session->view, g_array_index (only, guint, i));
      g_autoptr(MsStoreMessage) message = ms_store_get_message (session->store, session->user,
                                                                session->selected, uid, NULL);

      if (message != NULL && strchr (message->flags, 'T') != NULL &&
          !ms_store_expunge (session->store, session->user, session->selected, uid, error))
        return FALSE;
    }
  return TRUE;
}

/* RFC 3501 §6.4.2: \Deleted messages go, and no EXPUNGE is sent. */
static void
imap_cmd_close (MsImapSession *session,
                const char *tag,
                GPtrArray *args,
                gboolean uid)
{
  g_autoptr(GError) error = NULL;

  if (!check_arg_count (session, tag, args, 0, 0, "CLOSE"))
    return;
  if (!session->read_only && !expunge_deleted (session, NULL, &error))
    g_warning ("%s: CLOSE could not expunge: %s", session->trace.session_id, error->message);
  _ms_imap_unselect (session);
  _ms_imap_tagged (session, tag, "OK", "CLOSE completed");
}

/* RFC 3691 §3: like CLOSE without the expunge. */
static void
imap_cmd_unselect (MsImapSession *session,
                   const char *tag,
                   GPtrArray *args,
                   gboolean uid)
{
  if (!check_arg_count (session, tag, args, 0, 0, "UNSELECT"))
    return;
  _ms_imap_unselect (session);
  _ms_imap_tagged (session, tag, "OK", "UNSELECT completed");
}

/* RFC 3501 §6.4.3 (EXPUNGE) and RFC 4315 §2.1 (UID EXPUNGE set). The
 * EXPUNGE responses come from the sync before the tagged OK. */
static void
imap_cmd_expunge (MsImapSession *session,
                  const char *tag,
                  GPtrArray *args,
                  gboolean uid)
{
  g_autoptr(GArray) only = NULL;
  g_autoptr(GError) error = NULL;

  if (!check_arg_count (session, tag, args, uid ? 1 : 0, uid ? 1 : 0,
                        uid ? "UID EXPUNGE uid-set" : "EXPUNGE"))
    return;
  if (uid)
    {
      const MsImapArg *set = arg_at (args, 0);

      if (set->type != MS_IMAP_ARG_ATOM)
        {
          _ms_imap_bad (session, tag, "Syntax: UID EXPUNGE uid-set");
          return;
        }
      only = _ms_imap_resolve_set (session, tag, set->data, TRUE);
      if (only == NULL)
        return;
    }
  if (session->read_only)
    {
      _ms_imap_tagged (session, tag, "NO", "[READ-ONLY] Mailbox is read-only (EXAMINE)");
      return;
    }
  session->mailbox_dirty = TRUE;
  if (!expunge_deleted (session, only, &error))
    {
      store_failed (session, tag, "EXPUNGE", error);
      return;
    }
  _ms_imap_tagged (session, tag, "OK", "EXPUNGE completed");
}

/* COPY and MOVE: copies the messages of the set to `dest`, all or none
 * (RFC 3501 §6.4.7: a failed COPY leaves the destination as it was).
 * Fills `source_uids` and `dest_uids`, and `uidvalidity_r` with the
 * destination's. FALSE after a tagged reply. */
static gboolean
copy_messages (MsImapSession *session,
               const char *tag,
               GPtrArray *args,
               gboolean uid,
               const char *verb,
               char **dest_r,
               GArray *source_uids,
               GArray *dest_uids,
               guint32 *uidvalidity_r)
{
  g_autofree char *usage = g_strdup_printf ("%s%s sequence-set mailbox", uid ? "UID " : "",
                                            verb);
  g_autofree char *dest = NULL;
  g_autoptr(GArray) indexes = NULL;
  g_autoptr(GError) error = NULL;
  const MsImapArg *set;

  if (!check_arg_count (session, tag, args, 2, 2, usage))
    return FALSE;
  set = arg_at (args, 0);
  if (set->type != MS_IMAP_ARG_ATOM)
    {
      _ms_imap_bad (session, tag, "Syntax: %s", usage);
      return FALSE;
    }
  indexes = _ms_imap_resolve_set (session, tag, set->data, uid);
  if (indexes == NULL)
    return FALSE;
  dest = mailbox_arg (session, tag, args, 1, usage);
  if (dest == NULL)
    return FALSE;
  if (!ms_store_folder_status (session->store, session->user, dest, uidvalidity_r, NULL, NULL,
                               &error))
    {
      if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
        _ms_imap_tagged (session, tag, "NO", "[TRYCREATE] Mailbox does not exist");
      else
        store_failed (session, tag, verb, error);
      return FALSE;
    }

  for (guint i = 0; i < indexes->len; i++)
    {
      guint32 source = ms_imap_view_uid_at (session->view, g_array_index (indexes, guint, i));
      guint32 copied;

      if (!ms_store_copy (session->store, session->user, session->selected, source, dest,
                          &copied, &error))
        {
          /* Undo: the destination gets none of them. */
          for (guint k = 0; k < dest_uids->len; k++)
            ms_store_expunge (session->store, session->user, dest,
                              g_array_index (dest_uids, guint32, k), NULL);
          g_array_set_size (dest_uids, 0);
          /* Another session expunged it meanwhile (§7.4.1 lets COPY fail). */
          if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
            {
              session->mailbox_dirty = TRUE;
              _ms_imap_tagged (session, tag, "NO", "[EXPUNGEISSUED] Some of the messages "
                               "no longer exist");
            }
          else
            store_failed (session, tag, verb, error);
          return FALSE;
        }
      g_array_append_val (source_uids, source);
      g_array_append_val (dest_uids, copied);
    }
  if (session->selected != NULL && strcmp (dest, session->selected) == 0)
    session->mailbox_dirty = TRUE;
  *dest_r = g_steal_pointer (&dest);
  return TRUE;
}

static char *
copyuid_code (guint32 uidvalidity,
              GArray *source_uids,
              GArray *dest_uids)
{
  GString *code;

  /* RFC 4315 §3: none when nothing was copied. */
  if (source_uids->len == 0)
    return g_strdup ("");
  code = g_string_new (NULL);
  g_string_append_printf (code, "[COPYUID %u ", uidvalidity);
  append_uid_set (code, source_uids);
  g_string_append_c (code, ' ');
  append_uid_set (code, dest_uids);
  g_string_append (code, "] ");
  return g_string_free (code, FALSE);
}

/* RFC 3501 §6.4.7 (COPY) with [COPYUID] (RFC 4315 §3). */
static void
imap_cmd_copy (MsImapSession *session,
               const char *tag,
               GPtrArray *args,
               gboolean uid)
{
  g_autoptr(GArray) source_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) dest_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autofree char *dest = NULL;
  g_autofree char *code = NULL;
  guint32 uidvalidity = 0;

  if (!copy_messages (session, tag, args, uid, "COPY", &dest, source_uids, dest_uids,
                      &uidvalidity))
    return;
  code = copyuid_code (uidvalidity, source_uids, dest_uids);
  _ms_imap_tagged (session, tag, "OK", "%sCOPY completed", code);
}

/* RFC 6851 §3.3: the COPYUID goes in an untagged OK before the EXPUNGEs
 * (which the sync before the tagged OK sends). */
static void
imap_cmd_move (MsImapSession *session,
               const char *tag,
               GPtrArray *args,
               gboolean uid)
{
  g_autoptr(GArray) source_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GArray) dest_uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  g_autoptr(GError) error = NULL;
  g_autofree char *dest = NULL;
  g_autofree char *code = NULL;
  guint32 uidvalidity = 0;

  if (session->read_only)
    {
      _ms_imap_tagged (session, tag, "NO", "[READ-ONLY] Mailbox is read-only (EXAMINE)");
      return;
    }
  if (!copy_messages (session, tag, args, uid, "MOVE", &dest, source_uids, dest_uids,
                      &uidvalidity))
    return;
  code = copyuid_code (uidvalidity, source_uids, dest_uids);
  if (*code != '\0')
    _ms_imap_untagged (session, "OK %sMoved", code);
  session->mailbox_dirty = TRUE;
  for (guint i = 0; i < source_uids->len; i++)
    {
      if (!ms_store_expunge (session->store, session->user, session->selected,
                             g_array_index (source_uids, guint32, i), &error))
        {
          g_warning ("%s: MOVE could not remove UID %u: %s", session->trace.session_id,
                     g_array_index (source_uids, guint32, i), error->message);
          g_clear_error (&error);
        }
    }
  _ms_imap_tagged (session, tag, "OK", "MOVE completed");
}

/* ---- the table ---- */

static const MsImapCommandSpec commands[] = {
  { "CAPABILITY", imap_cmd_capability, ANY_STATE, 0 },
  { "NOOP", imap_cmd_noop, ANY_STATE, 0 },
  { "LOGOUT", imap_cmd_logout, ANY_STATE, 0 },
  { "ID", imap_cmd_id, ANY_STATE, 0 },
  { "STARTTLS", imap_cmd_starttls, NOT_AUTHENTICATED, 0 },
  { "LOGIN", imap_cmd_login, NOT_AUTHENTICATED, MS_IMAP_COMMAND_SECRET },
  { "AUTHENTICATE", imap_cmd_authenticate, NOT_AUTHENTICATED, MS_IMAP_COMMAND_SECRET },
  { "SELECT", imap_cmd_select, LOGGED_IN, 0 },
  { "EXAMINE", imap_cmd_examine, LOGGED_IN, 0 },
  { "CREATE", imap_cmd_create, LOGGED_IN, 0 },
  { "DELETE", imap_cmd_delete, LOGGED_IN, 0 },
  { "RENAME", imap_cmd_rename, LOGGED_IN, 0 },
  { "SUBSCRIBE", imap_cmd_subscribe, LOGGED_IN, 0 },
  { "UNSUBSCRIBE", imap_cmd_unsubscribe, LOGGED_IN, 0 },
  { "LIST", imap_cmd_list, LOGGED_IN, 0 },
  { "LSUB", imap_cmd_lsub, LOGGED_IN, 0 },
  { "STATUS", imap_cmd_status, LOGGED_IN, 0 },
  { "APPEND", imap_cmd_append, LOGGED_IN, MS_IMAP_COMMAND_APPEND },
  { "NAMESPACE", imap_cmd_namespace, LOGGED_IN, 0 },
  { "IDLE", imap_cmd_idle, LOGGED_IN, 0 },
  { "CHECK", imap_cmd_check, SELECTED, 0 },
  { "CLOSE", imap_cmd_close, SELECTED, 0 },
  { "UNSELECT", imap_cmd_unselect, SELECTED, 0 },
  /* EXPUNGE, and UID EXPUNGE of RFC 4315 §2.1. */
  { "EXPUNGE", imap_cmd_expunge, SELECTED, MS_IMAP_COMMAND_UID },
  { "COPY", imap_cmd_copy, SELECTED, MS_IMAP_COMMAND_UID },
  { "MOVE", imap_cmd_move, SELECTED, MS_IMAP_COMMAND_UID },
  { "FETCH", _ms_imap_cmd_fetch, SELECTED, MS_IMAP_COMMAND_UID | MS_IMAP_COMMAND_NO_EXPUNGE },
  { "STORE", _ms_imap_cmd_store, SELECTED, MS_IMAP_COMMAND_UID | MS_IMAP_COMMAND_NO_EXPUNGE },
  { "SEARCH", _ms_imap_cmd_search, SELECTED, MS_IMAP_COMMAND_UID | MS_IMAP_COMMAND_NO_EXPUNGE },
};

const MsImapCommandSpec *
_ms_imap_lookup_command (const char *verb)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (commands[i].verb, verb) == 0)
        return &commands[i];
    }
  return NULL;
}
