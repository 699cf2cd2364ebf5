/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

#include <stdarg.h>
#include <string.h>

#include "ms-imap-session-private.h"
#include "ms-imap-utf7.h"

/* A `data` event carries at most this much of a literal. */
#define TRACE_DATA_LIMIT (64 * 1024)
/* A sequence set may hold this many ranges (the line limit bounds it too). */
#define MAX_SET_RANGES 100000

static const char * const state_names[MS_IMAP_N_STATES] = {
  [MS_IMAP_STATE_NOT_AUTHENTICATED] = "not-authenticated",
  [MS_IMAP_STATE_TLS] = "tls",
  [MS_IMAP_STATE_AUTHENTICATED] = "authenticated",
  [MS_IMAP_STATE_SELECTED] = "selected",
  [MS_IMAP_STATE_LOGOUT] = "logout",
};

const char *
ms_imap_state_to_string (MsImapState state)
{
  g_return_val_if_fail (state < MS_IMAP_N_STATES, "unknown");
  return state_names[state];
}

MsImapSession *
ms_imap_session_new (const MsImapSessionConfig *config,
                     const MsImapBackend *backend,
                     gpointer backend_data,
                     const MsSessionOutput *output,
                     gpointer output_data)
{
  MsImapSession *session;

  g_return_val_if_fail (config != NULL && config->hostname != NULL, NULL);
  g_return_val_if_fail (config->store != NULL, NULL);
  g_return_val_if_fail (backend != NULL && output != NULL, NULL);

  session = g_new0 (MsImapSession, 1);
  session->state = MS_IMAP_STATE_NOT_AUTHENTICATED;
  session->hostname = g_strdup (config->hostname);
  ms_session_trace_init (&session->trace, config->bus,
                         config->server_name != NULL ? config->server_name : config->hostname,
                         config->session_id, "imap");
  session->store = config->store;
  session->tls_available = config->tls_available;
  session->tls_active = config->tls_active;
  session->login_needs_tls = config->login_needs_tls;
  session->max_line = config->max_line ? config->max_line : 64 * 1024;
  session->max_literal = config->max_literal ? config->max_literal : 64 * 1024;
  session->max_append = config->max_append ? config->max_append : 10 * 1024 * 1024;
  session->max_bad_commands = config->max_bad_commands ? config->max_bad_commands : 10;
  session->max_failed_logins = config->max_failed_logins ? config->max_failed_logins : 3;
  session->backend = backend;
  session->backend_data = backend_data;
  session->output = output;
  session->output_data = output_data;
  session->command = g_string_sized_new (256);
  return session;
}

void
ms_imap_session_free (MsImapSession *session)
{
  if (session == NULL)
    return;
  g_free (session->hostname);
  ms_session_trace_clear (&session->trace);
  if (session->command != NULL)
    {
      /* It may hold a password (LOGIN). */
      memset (session->command->str, 0, session->command->len);
      g_string_free (session->command, TRUE);
    }
  g_free (session->wait_tag);
  g_free (session->user);
  g_free (session->selected);
  g_clear_pointer (&session->view, ms_imap_view_free);
  g_free (session);
}

MsImapState
ms_imap_session_get_state (MsImapSession *session)
{
  g_return_val_if_fail (session != NULL, MS_IMAP_STATE_LOGOUT);
  return session->state;
}

gboolean
ms_imap_session_awaits_command (MsImapSession *session)
{
  g_return_val_if_fail (session != NULL, FALSE);
  return session->wait == MS_IMAP_WAIT_NONE && session->command->len == 0;
}

const char *
ms_imap_session_get_user (MsImapSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return session->user;
}

const char *
ms_imap_session_get_selected (MsImapSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return session->state == MS_IMAP_STATE_SELECTED ? session->selected : NULL;
}

void
_ms_imap_set_state (MsImapSession *session,
                    MsImapState state)
{
  MsImapState old = session->state;

  if (old == state)
    return;
  session->state = state;
  g_debug ("%s: %s -> %s", session->trace.session_id,
           ms_imap_state_to_string (old), ms_imap_state_to_string (state));
  ms_session_trace_state (&session->trace, ms_imap_state_to_string (old),
                          ms_imap_state_to_string (state));
}

/* ---- responses and their trace ---- */

static gboolean
reveal_secrets (MsImapSession *session)
{
  return ms_trace_bus_get_reveal_secrets (session->trace.bus);
}

/* The `status` of a reply event: "+" for a continuation, the tag's status
 * for a tagged or untagged status response (RFC 3501 §7.1), else the
 * response's name ("CAPABILITY", "EXISTS", "FETCH"). */
static char *
reply_status (const char *text,
              gsize len,
              const char **tag_r)
{
  const char *end = text + len;
  const char *p = text;
  const char *word;
  const char *tag_end;

  if (len >= 1 && text[0] == '+')
    {
      *tag_r = NULL;
      return g_strdup ("+");
    }
  tag_end = memchr (text, ' ', len);
  if (tag_end == NULL)
    tag_end = end;
  *tag_r = text;
  p = tag_end < end ? tag_end + 1 : end;
  word = p;
  while (p < end && *p != ' ')
    p++;
  if (p - word > 0 && g_ascii_isdigit (*word) && p < end)
    {
      /* "* 3 EXISTS", "* 1 FETCH (...)" */
      word = ++p;
      while (p < end && *p != ' ' && *p != '(')
        p++;
    }
  return g_ascii_strup (word, p - word);
}

static void
trace_reply (MsImapSession *session,
             const char *text,
             gsize len)
{
  MsEvent *event;
  g_autofree char *status = NULL;
  const char *tag = NULL;
  const char *tag_end;

  if (!ms_session_trace_is_active (&session->trace))
    return;
  status = reply_status (text, len, &tag);
  event = ms_session_trace_event (&session->trace, MS_EVENT_REPLY);
  ms_event_set_bytes_text (event, "text", text, len);
  if (tag == NULL)
    ms_event_set_string (event, "tag", "+");
  else
    {
      tag_end = memchr (text, ' ', len);
      ms_event_set_bytes_text (event, "tag", text, tag_end != NULL ? (gsize) (tag_end - text)
                                                                   : len);
    }
  ms_event_set_string (event, "status", status);
  ms_event_set_string (event, "state", ms_imap_state_to_string (session->state));
  ms_trace_bus_emit (session->trace.bus, event);
}

/* A `data` event for a literal of `len` bytes, of which `shown` are in
 * `data`. */
static void
trace_data (MsImapSession *session,
            const char *data,
            gsize shown,
            gsize len,
            gboolean secret)
{
  MsEvent *event;

  if (!ms_session_trace_is_active (&session->trace))
    return;
  event = ms_session_trace_event (&session->trace, MS_EVENT_DATA);
  ms_event_set_int (event, "bytes", len);
  if (secret && !reveal_secrets (session))
    {
      ms_event_set_bool (event, "secret", TRUE);
      ms_event_set_string (event, "text", ms_trace_bus_mask (session->trace.bus, ""));
    }
  else
    {
      ms_event_set_bytes_text (event, "text", data, MIN (shown, TRACE_DATA_LIMIT));
      if (len > MIN (shown, TRACE_DATA_LIMIT))
        ms_event_set_bool (event, "truncated", TRUE);
    }
  ms_trace_bus_emit (session->trace.bus, event);
}

/* Sends one line (CRLF added) and traces it. */
static void
send_line (MsImapSession *session,
           GString *line)
{
  if (session->closed)
    return;
  trace_reply (session, line->str, line->len);
  g_string_append_len (line, "\r\n", 2);
  session->output->send (session->output_data, line->str, line->len);
}

static void
send_status_line (MsImapSession *session,
                  const char *tag,
                  const char *status,
                  const char *format,
                  va_list args)
{
  g_autoptr(GString) line = g_string_sized_new (128);

  g_string_append_printf (line, "%s %s ", tag != NULL ? tag : "*", status);
  g_string_append_vprintf (line, format, args);
  send_line (session, line);
}

/* The tagged reply ends the command: the sync first (see the header). */
static void
finish_command (MsImapSession *session)
{
  if (session->in_command && session->state == MS_IMAP_STATE_SELECTED)
    {
      gboolean allow_expunge = !(session->command_flags & MS_IMAP_COMMAND_NO_EXPUNGE) ||
                               session->command_uid;

      _ms_imap_sync_mailbox (session, allow_expunge);
    }
  session->in_command = FALSE;
}

void
_ms_imap_tagged (MsImapSession *session,
                 const char *tag,
                 const char *status,
                 const char *format,
                 ...)
{
  va_list args;

  finish_command (session);
  va_start (args, format);
  send_status_line (session, tag, status, format, args);
  va_end (args);
}

void
_ms_imap_untagged (MsImapSession *session,
                   const char *format,
                   ...)
{
  g_autoptr(GString) line = g_string_sized_new (128);
  va_list args;

  g_string_append (line, "* ");
  va_start (args, format);
  g_string_append_vprintf (line, format, args);
  va_end (args);
  send_line (session, line);
}

void
_ms_imap_continuation (MsImapSession *session,
                       const char *text)
{
  g_autoptr(GString) line = g_string_sized_new (64);

  g_string_append_printf (line, "+ %s", text);
  send_line (session, line);
}

void
_ms_imap_close (MsImapSession *session)
{
  if (session->closed)
    return;
  _ms_imap_set_state (session, MS_IMAP_STATE_LOGOUT);
  session->wait = MS_IMAP_WAIT_NONE;
  session->in_command = FALSE;
  session->closed = TRUE;
  session->output->close (session->output_data);
}

void
_ms_imap_bye (MsImapSession *session,
              const char *text)
{
  if (session->closed)
    return;
  /* RFC 3501 §7.1.5 */
  _ms_imap_set_state (session, MS_IMAP_STATE_LOGOUT);
  _ms_imap_untagged (session, "BYE %s", text);
  _ms_imap_close (session);
}

static void
count_bad (MsImapSession *session)
{
  /* RFC 3501 gives no limit; like Dovecot we stop talking to a client that
   * keeps sending nonsense. */
  if (++session->bad_commands >= session->max_bad_commands)
    _ms_imap_bye (session, "Too many bad commands");
}

void
_ms_imap_bad (MsImapSession *session,
              const char *tag,
              const char *format,
              ...)
{
  va_list args;

  if (tag != NULL)
    finish_command (session);
  session->in_command = FALSE;
  va_start (args, format);
  send_status_line (session, tag, "BAD", format, args);
  va_end (args);
  count_bad (session);
}

/* ---- MsImapResponse ---- */

void
_ms_imap_response_init (MsImapResponse *response)
{
  response->wire = g_string_sized_new (256);
  response->text = g_string_sized_new (256);
  response->literals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  response->literal_sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
}

void
_ms_imap_response_clear (MsImapResponse *response)
{
  if (response->wire != NULL)
    g_string_free (g_steal_pointer (&response->wire), TRUE);
  if (response->text != NULL)
    g_string_free (g_steal_pointer (&response->text), TRUE);
  g_clear_pointer (&response->literals, g_ptr_array_unref);
  g_clear_pointer (&response->literal_sizes, g_array_unref);
}

void
_ms_imap_response_append_len (MsImapResponse *response,
                              const char *data,
                              gsize len)
{
  g_string_append_len (response->wire, data, len);
  g_string_append_len (response->text, data, len);
}

void
_ms_imap_response_append (MsImapResponse *response,
                          const char *format,
                          ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  _ms_imap_response_append_len (response, text, strlen (text));
}

void
_ms_imap_response_append_literal (MsImapResponse *response,
                                  const char *data,
                                  gsize len)
{
  /* RFC 3501 §4.3 */
  g_string_append_printf (response->wire, "{%" G_GSIZE_FORMAT "}\r\n", len);
  g_string_append_len (response->wire, data, len);
  g_string_append_printf (response->text, "{%" G_GSIZE_FORMAT "}", len);
  /* Only what a `data` event shows is kept: a large body is not copied
   * twice. */
  g_ptr_array_add (response->literals, g_bytes_new (data, MIN (len, TRACE_DATA_LIMIT)));
  g_array_append_val (response->literal_sizes, len);
}

void
_ms_imap_response_append_string (MsImapResponse *response,
                                  const char *data,
                                  gsize len)
{
  g_autoptr(GString) quoted = NULL;

  if (data == NULL)
    {
      _ms_imap_response_append_len (response, "NIL", 3);
      return;
    }
  quoted = g_string_sized_new (len + 2);
  ms_imap_append_string (quoted, data, len);
  if (quoted->len > 0 && quoted->str[0] == '{')
    _ms_imap_response_append_literal (response, data, len);
  else
    _ms_imap_response_append_len (response, quoted->str, quoted->len);
}

void
_ms_imap_response_send (MsImapSession *session,
                        MsImapResponse *response)
{
  if (!session->closed)
    {
      trace_reply (session, response->text->str, response->text->len);
      for (guint i = 0; i < response->literals->len; i++)
        {
          gsize shown;
          const char *data = g_bytes_get_data (response->literals->pdata[i], &shown);

          trace_data (session, data, shown,
                      g_array_index (response->literal_sizes, gsize, i), FALSE);
        }
      g_string_append_len (response->wire, "\r\n", 2);
      session->output->send (session->output_data, response->wire->str, response->wire->len);
    }
  _ms_imap_response_clear (response);
}

/* ---- flags ---- */

static const struct {
  char letter;
  const char *name;
} system_flags[] = {
  /* Maildir letters in ASCII order (ms-store.h), so the output is sorted. */
  { 'D', "\\Draft" },
  { 'F', "\\Flagged" },
  { 'R', "\\Answered" },
  { 'S', "\\Seen" },
  { 'T', "\\Deleted" },
};

static gboolean
flag_letter (const char *name,
             char *letter_r)
{
  for (guint i = 0; i < G_N_ELEMENTS (system_flags); i++)
    {
      if (g_ascii_strcasecmp (name, system_flags[i].name) == 0)
        {
          *letter_r = system_flags[i].letter;
          return TRUE;
        }
    }
  return FALSE;
}

gboolean
_ms_imap_parse_flags (const MsImapArg *arg,
                      char *letters_r,
                      gsize size)
{
  gboolean seen[G_N_ELEMENTS (system_flags)] = { FALSE, };
  const MsImapArg * const *items;
  guint n_items;
  gsize n = 0;

  g_return_val_if_fail (size >= G_N_ELEMENTS (system_flags) + 1, FALSE);

  if (arg->type == MS_IMAP_ARG_LIST)
    {
      items = (const MsImapArg * const *) arg->children->pdata;
      n_items = arg->children->len;
    }
  else
    {
      items = &arg;
      n_items = 1;
    }
  for (guint i = 0; i < n_items; i++)
    {
      char letter;

      if (items[i]->type != MS_IMAP_ARG_ATOM || !flag_letter (items[i]->data, &letter))
        return FALSE;
      for (guint f = 0; f < G_N_ELEMENTS (system_flags); f++)
        {
          if (system_flags[f].letter == letter)
            seen[f] = TRUE;
        }
    }
  for (guint f = 0; f < G_N_ELEMENTS (system_flags); f++)
    {
      if (seen[f])
        letters_r[n++] = system_flags[f].letter;
    }
  letters_r[n] = '\0';
  return TRUE;
}

/* ---- the view ---- */

static guint32
claim_recent (MsImapSession *session,
              guint32 uidnext)
{
  if (session->backend->claim_recent == NULL || session->read_only)
    return G_MAXUINT32;
  return session->backend->claim_recent (session->backend_data, session->user,
                                         session->selected, uidnext);
}

gboolean
_ms_imap_open_mailbox (MsImapSession *session,
                       const char *folder,
                       gboolean read_only,
                       GError **error)
{
  g_autoptr(GArray) messages = NULL;
  guint32 uidvalidity;
  guint32 uidnext;
  guint32 recent_from;

  g_assert (session->user != NULL);
  _ms_imap_unselect (session);

  /* One rescan for the messages and the UID numbers, so they agree; UIDs
   * and flag bits only, no string per message. */
  messages = ms_store_list_flags (session->store, session->user, folder, &uidvalidity,
                                  &uidnext, error);
  if (messages == NULL)
    return FALSE;

  session->selected = g_strdup (folder);
  session->read_only = read_only;
  session->uidvalidity = uidvalidity;
  if (messages->len > 0)
    uidnext = MAX (uidnext, g_array_index (messages, MsStoreMessageFlags,
                                           messages->len - 1).uid + 1);
  session->uidnext = uidnext;
  /* RFC 3501 §6.3.2: EXAMINE never changes the \Recent state. */
  recent_from = claim_recent (session, uidnext);

  /* Sized exactly: an idle session keeps its view (ms-imap-view.h). */
  session->view = ms_imap_view_new (messages->len);
  for (guint i = 0; i < messages->len; i++)
    {
      const MsStoreMessageFlags *message = &g_array_index (messages, MsStoreMessageFlags, i);
      guint8 bits = ms_imap_view_bits_from_store (message->flags);

      if (message->uid >= recent_from)
        bits |= MS_IMAP_VIEW_RECENT;
      ms_imap_view_append (session->view, message->uid, bits);
    }
  ms_imap_view_trim (session->view);
  session->mailbox_dirty = FALSE;
  _ms_imap_set_state (session, MS_IMAP_STATE_SELECTED);
  return TRUE;
}

void
_ms_imap_unselect (MsImapSession *session)
{
  g_clear_pointer (&session->selected, g_free);
  g_clear_pointer (&session->view, ms_imap_view_free);
  session->read_only = FALSE;
  session->uidvalidity = 0;
  session->uidnext = 0;
  session->mailbox_dirty = FALSE;
  if (session->state == MS_IMAP_STATE_SELECTED)
    _ms_imap_set_state (session, MS_IMAP_STATE_AUTHENTICATED);
}

void
_ms_imap_view_set_flags (MsImapSession *session,
                         guint index,
                         const char *maildir_flags)
{
  g_return_if_fail (session->view != NULL && index < ms_imap_view_length (session->view));
  ms_imap_view_set_flags (session->view, index, ms_imap_view_bits_from_letters (maildir_flags));
}

static void
send_flags_fetch (MsImapSession *session,
                  guint index)
{
  g_autoptr(GString) line = g_string_sized_new (64);

  /* RFC 3501 §7.4.2; the UID too in a UID command (§6.4.8 asks for it in
   * UID FETCH and UID STORE, and it does no harm elsewhere). */
  g_string_append_printf (line, "* %u FETCH (", index + 1);
  if (session->command_uid)
    g_string_append_printf (line, "UID %u ", ms_imap_view_uid_at (session->view, index));
  g_string_append (line, "FLAGS ");
  ms_imap_view_append_flags (line, ms_imap_view_get_bits (session->view, index));
  g_string_append_c (line, ')');
  send_line (session, line);
}

/* Removes the view entries marked `expunged`, sending "* n EXPUNGE" for each
 * from the highest sequence number down, so every number sent is exact when
 * it is sent and the ones still to come do not move (RFC 3501 §7.4.1). */
static void
expunge_marked (MsImapSession *session)
{
  for (guint i = ms_imap_view_length (session->view); i > 0; i--)
    {
      if (ms_imap_view_get_bits (session->view, i - 1) & MS_IMAP_VIEW_EXPUNGED)
        _ms_imap_untagged (session, "%u EXPUNGE", i);
    }
  ms_imap_view_remove_expunged (session->view);
}

/* Compares the view with the store's list (both sorted by UID, so one
 * merge pass): messages gone are marked expunged, changed flags are noted in
 * `changed` (view indexes), new messages are appended with their \Recent.
 * Returns how many are new. */
static guint
merge_store_list (MsImapSession *session,
                  GArray *messages,
                  GArray *changed)
{
  MsImapView *view = session->view;
  guint old_len = ms_imap_view_length (view);
  guint32 last_uid = ms_imap_view_last_uid (view);
  MsImapViewIter iter;
  gboolean have_entry;
  guint i;
  guint32 uid;
  guint n_new = 0;
  guint j = 0;

  ms_imap_view_iter_init (&iter, view);
  have_entry = ms_imap_view_iter_next (&iter, &i, &uid);
  while (have_entry)
    {
      const MsStoreMessageFlags *message =
        j < messages->len ? &g_array_index (messages, MsStoreMessageFlags, j) : NULL;
      guint8 bits = ms_imap_view_get_bits (view, i);
      guint8 flags;

      if (message != NULL && message->uid < uid)
        {
          j++;                 /* an old UID we never showed: ignore it */
          continue;
        }
      if (message == NULL || message->uid > uid)
        {
          ms_imap_view_set_bits (view, i, bits | MS_IMAP_VIEW_EXPUNGED);
          have_entry = ms_imap_view_iter_next (&iter, &i, &uid);
          continue;
        }
      flags = ms_imap_view_bits_from_store (message->flags);
      if (!(bits & MS_IMAP_VIEW_EXPUNGED) && flags != (bits & MS_IMAP_VIEW_FLAG_MASK))
        {
          ms_imap_view_set_flags (view, i, flags);
          g_array_append_val (changed, i);
        }
      have_entry = ms_imap_view_iter_next (&iter, &i, &uid);
      j++;
    }

  /* New messages: UIDs above everything in the view. */
  for (; j < messages->len; j++)
    {
      const MsStoreMessageFlags *message = &g_array_index (messages, MsStoreMessageFlags, j);

      if (message->uid <= last_uid)
        continue;
      ms_imap_view_append (view, message->uid, ms_imap_view_bits_from_store (message->flags));
      n_new++;
    }
  if (n_new > 0)
    {
      guint32 recent_from;

      session->uidnext = MAX (session->uidnext, ms_imap_view_last_uid (view) + 1);
      recent_from = claim_recent (session, session->uidnext);
      for (guint k = old_len; k < ms_imap_view_length (view); k++)
        {
          if (ms_imap_view_uid_at (view, k) >= recent_from)
            ms_imap_view_set_bits (view, k, ms_imap_view_get_bits (view, k) | MS_IMAP_VIEW_RECENT);
        }
    }
  return n_new;
}

void
_ms_imap_sync_mailbox (MsImapSession *session,
                       gboolean allow_expunge)
{
  g_autoptr(GArray) changed = g_array_new (FALSE, FALSE, sizeof (guint));
  gboolean any_expunged = FALSE;
  guint n_new = 0;

  if (session->state != MS_IMAP_STATE_SELECTED || session->closed)
    return;

  if (session->mailbox_dirty)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GArray) messages = ms_store_list_flags (session->store, session->user,
                                                        session->selected, NULL, NULL, &error);

      if (messages == NULL)
        {
          /* The mailbox went away under us (another session deleted it).
           * RFC 3501 §7.1.5 lets the server end the session then. */
          g_debug ("%s: cannot list %s: %s", session->trace.session_id, session->selected,
                   error->message);
          if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
            _ms_imap_bye (session, "The selected mailbox was deleted");
          return;
        }
      session->mailbox_dirty = FALSE;
      n_new = merge_store_list (session, messages, changed);
    }
  any_expunged = ms_imap_view_count_bits (session->view, MS_IMAP_VIEW_EXPUNGED) > 0;

  /* Flag changes first, while the sequence numbers are the ones the client
   * knows; then the EXPUNGEs; then the new messages (RFC 3501 §7.3.1, §7.4). */
  for (guint k = 0; k < changed->len; k++)
    send_flags_fetch (session, g_array_index (changed, guint, k));
  if (any_expunged && allow_expunge)
    expunge_marked (session);
  if (n_new > 0)
    {
      _ms_imap_untagged (session, "%u EXISTS", ms_imap_view_length (session->view));
      _ms_imap_untagged (session, "%u RECENT",
                         ms_imap_view_count_bits (session->view, MS_IMAP_VIEW_RECENT));
    }
}

void
ms_imap_session_mailbox_changed (MsImapSession *session)
{
  g_return_if_fail (session != NULL);

  if (session->state != MS_IMAP_STATE_SELECTED)
    return;
  session->mailbox_dirty = TRUE;
  /* RFC 2177 §3: while idling, updates go out as they happen. */
  if (session->wait == MS_IMAP_WAIT_IDLE)
    _ms_imap_sync_mailbox (session, TRUE);
}

/* ---- sequence sets ---- */

typedef struct {
  guint lo;                    /* view indexes, [lo, hi) */
  guint hi;
} Interval;

static int
compare_intervals (gconstpointer a,
                   gconstpointer b)
{
  const Interval *x = a;
  const Interval *y = b;

  return x->lo < y->lo ? -1 : x->lo > y->lo ? 1 : 0;
}

GArray *
_ms_imap_resolve_set (MsImapSession *session,
                      const char *tag,
                      const char *text,
                      gboolean uid)
{
  g_autoptr(GArray) ranges = NULL;
  g_autoptr(GArray) intervals = NULL;
  GArray *indexes;
  guint32 star;
  guint len;
  guint next = 0;

  g_return_val_if_fail (session->view != NULL, NULL);

  len = ms_imap_view_length (session->view);
  if (uid)
    star = ms_imap_view_last_uid (session->view);
  else
    star = len;
  ranges = ms_imap_parse_sequence_set (text, star, MAX_SET_RANGES);
  if (ranges == NULL)
    {
      _ms_imap_bad (session, tag, "Invalid sequence set \"%s\"", text);
      return NULL;
    }

  /* In an empty mailbox no sequence number is valid, "*" included: "1:*"
   * parses as 0:1 and is refused below, as Dovecot refuses it. UID sets
   * stay fine: a UID that does not exist is ignored. */
  intervals = g_array_sized_new (FALSE, FALSE, sizeof (Interval), ranges->len);
  for (guint r = 0; r < ranges->len; r++)
    {
      MsImapRange *range = &g_array_index (ranges, MsImapRange, r);
      Interval interval;

      if (uid)
        {
          /* RFC 3501 §6.4.8: UIDs that do not exist are ignored; "n:*"
           * always includes the highest UID even when n is above it. */
          interval.lo = ms_imap_view_lower_bound (session->view, range->min);
          interval.hi = range->max == G_MAXUINT32
                        ? len : ms_imap_view_lower_bound (session->view, range->max + 1);
        }
      else
        {
          /* §9 (seq-number): a number beyond the mailbox is an error. */
          if (range->min == 0 || range->max > len)
            {
              _ms_imap_bad (session, tag, "Invalid message sequence number (mailbox has %u)",
                            len);
              return NULL;
            }
          interval.lo = range->min - 1;
          interval.hi = range->max;
        }
      if (interval.lo < interval.hi)
        g_array_append_val (intervals, interval);
    }

  g_array_sort (intervals, compare_intervals);
  indexes = g_array_new (FALSE, FALSE, sizeof (guint));
  for (guint r = 0; r < intervals->len; r++)
    {
      Interval *interval = &g_array_index (intervals, Interval, r);

      for (guint k = MAX (interval->lo, next); k < interval->hi; k++)
        {
          if (!(ms_imap_view_get_bits (session->view, k) & MS_IMAP_VIEW_EXPUNGED))
            g_array_append_val (indexes, k);
        }
      next = MAX (next, interval->hi);
    }
  return indexes;
}

/* ---- mailbox names ---- */

char *
_ms_imap_mailbox_from_wire (MsImapSession *session,
                            const char *tag,
                            const char *name)
{
  g_autofree char *utf8 = NULL;
  const char *why = NULL;

  /* RFC 3501 §5.1: INBOX is case-insensitive; other names are not. */
  if (g_ascii_strcasecmp (name, "INBOX") == 0)
    return g_strdup ("INBOX");

  /* §5.1.3: names are modified UTF-7 on the wire. */
  utf8 = ms_imap_utf7_decode (name);
  if (utf8 == NULL)
    why = "not valid modified UTF-7 (RFC 3501 section 5.1.3)";
  else if (*utf8 == '\0')
    why = "empty";
  else if (utf8[0] == '/')
    why = "starts with the hierarchy separator";
  else if (strstr (utf8, "//") != NULL || g_str_has_suffix (utf8, "/"))
    why = "has an empty level";
  else if (strstr (utf8, "..") != NULL)
    why = "holds \"..\"";
  else if (strpbrk (utf8, "%*") != NULL)
    why = "holds a wildcard";
  else
    {
      for (const char *p = utf8; *p != '\0'; p++)
        {
          if ((guchar) *p < 0x20 || *p == 0x7f)
            {
              why = "holds a control character";
              break;
            }
        }
      if (why == NULL && !ms_store_folder_name_is_valid (utf8))
        why = "is not allowed here (no '.', '\\\\' or control characters; at most 200 bytes)";
    }
  if (why != NULL)
    {
      /* RFC 5530 §3: CANNOT. */
      _ms_imap_tagged (session, tag, "NO", "[CANNOT] Invalid mailbox name: it %s", why);
      return NULL;
    }
  return g_steal_pointer (&utf8);
}

/* ---- input: lines, literals, commands ---- */

/* Copies the first word of `text` (up to `max` bytes) upper-cased. */
static void
peek_word (const char *text,
           gsize len,
           gsize skip_words,
           char *word,
           gsize size)
{
  gsize p = 0;
  gsize n = 0;

  for (gsize w = 0; w < skip_words; w++)
    {
      while (p < len && text[p] != ' ')
        p++;
      if (p < len)
        p++;
    }
  while (p < len && text[p] != ' ' && n + 1 < size)
    word[n++] = g_ascii_toupper (text[p++]);
  word[n] = '\0';
}

/* Masks what follows the first `keep` words of `line`. */
static char *
mask_after_words (MsImapSession *session,
                  const char *line,
                  gsize len,
                  guint keep)
{
  gsize end = 0;

  for (guint word = 0; word < keep && end < len; word++)
    {
      while (end < len && line[end] == ' ')
        end++;
      while (end < len && line[end] != ' ')
        end++;
    }
  if (end >= len)
    return g_strndup (line, len);
  return g_strdup_printf ("%.*s %s", (int) end, line, ms_trace_bus_mask (session->trace.bus, ""));
}

/* The `command` event. LOGIN's password and the AUTHENTICATE exchange are
 * masked unless secrets are revealed: on the first line everything after
 * the third word ("a1 LOGIN alice"), on a line after a literal all of it. */
static void
trace_command (MsImapSession *session,
               const char *line,
               gsize len,
               MsLineFlags flags,
               gboolean continuation,
               gboolean secret,
               guint keep_words)
{
  MsEvent *event;
  char tag[65];
  char verb[32];

  if (!ms_session_trace_is_active (&session->trace))
    return;
  event = ms_session_trace_event (&session->trace, MS_EVENT_COMMAND);
  if (secret && !reveal_secrets (session))
    {
      g_autofree char *masked = keep_words > 0 ? mask_after_words (session, line, len,
                                                                   keep_words)
                                               : g_strdup (ms_trace_bus_mask (session->trace.bus,
                                                                              ""));

      ms_event_set_bool (event, "secret", TRUE);
      ms_event_set_bytes_text (event, "text", masked, strlen (masked));
    }
  else
    {
      if (secret)
        ms_event_set_bool (event, "secret", TRUE);
      ms_event_set_bytes_text (event, "text", line, len);
    }
  if (continuation)
    ms_event_set_bool (event, "continuation", TRUE);
  else if (session->wait == MS_IMAP_WAIT_NONE)
    {
      const char *space = memchr (line, ' ', len);

      ms_event_set_bytes_text (event, "tag", line, MIN (space != NULL ? (gsize) (space - line)
                                                                      : len, sizeof tag - 1));
      peek_word (line, len, 1, verb, sizeof verb);
      if (strcmp (verb, "UID") == 0)
        {
          char sub[24];

          peek_word (line, len, 2, sub, sizeof sub);
          g_snprintf (verb, sizeof verb, "UID %s", sub);
        }
      ms_event_set_string (event, "verb", verb);
    }
  ms_event_set_string (event, "state", ms_imap_state_to_string (session->state));
  if (flags & MS_LINE_FLAG_BARE_LF)
    ms_event_set_bool (event, "bare_lf", TRUE);
  if (flags & MS_LINE_FLAG_TOO_LONG)
    ms_event_set_bool (event, "too_long", TRUE);
  ms_trace_bus_emit (session->trace.bus, event);
}

static void
reset_command (MsImapSession *session)
{
  memset (session->command->str, 0, session->command->len);
  g_string_truncate (session->command, 0);
  session->command_is_append = FALSE;
  session->command_secret = FALSE;
  session->literal_left = 0;
  session->literal_start = 0;
}

/* The tag of the command being gathered, when it is readable: for replies
 * to a command that cannot be parsed. NULL otherwise. */
static char *
gathered_tag (const char *text,
              gsize len)
{
  gsize n = 0;

  while (n < len && n < 64 && text[n] != ' ' && g_ascii_isgraph (text[n]) &&
         strchr ("(){%*\"\\+", text[n]) == NULL)
    n++;
  if (n == 0 || (n < len && text[n] != ' ') || n == 64)
    return NULL;
  return g_strndup (text, n);
}

static void
dispatch (MsImapSession *session)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *tag = NULL;
  g_autoptr(MsImapCommand) command = NULL;
  g_autoptr(GPtrArray) sub_args = NULL;
  const MsImapCommandSpec *spec;
  GPtrArray *args;
  const char *verb;
  gboolean uid = FALSE;
  MsImapLimits limits;

  ms_imap_limits_init (&limits);
  command = ms_imap_parse_command (session->command->str, session->command->len, &limits, &tag,
                                   &error);
  reset_command (session);
  if (command == NULL)
    {
      /* RFC 3501 §7.1.3: BAD, tagged when the tag could be read. */
      if (g_error_matches (error, MS_IMAP_PARSE_ERROR, MS_IMAP_PARSE_ERROR_BAD_TAG))
        g_clear_pointer (&tag, g_free);
      _ms_imap_bad (session, tag, "Syntax error: %s", error->message);
      return;
    }

  verb = command->verb;
  args = command->args;
  if (strcmp (verb, "UID") == 0)
    {
      /* §6.4.8: "UID" then the command it applies to. */
      const MsImapArg *sub = args->len > 0 ? args->pdata[0] : NULL;

      if (sub == NULL || sub->type != MS_IMAP_ARG_ATOM)
        {
          _ms_imap_bad (session, command->tag, "UID needs a command (UID FETCH, UID STORE, ...)");
          return;
        }
      uid = TRUE;
      verb = sub->data;
      sub_args = g_ptr_array_sized_new (args->len);
      for (guint i = 1; i < args->len; i++)
        g_ptr_array_add (sub_args, args->pdata[i]);
      args = sub_args;
    }

  {
    g_autofree char *upper = g_ascii_strup (verb, -1);

    spec = _ms_imap_lookup_command (upper);
    if (spec == NULL || (uid && !(spec->flags & (MS_IMAP_COMMAND_UID |
                                                 MS_IMAP_COMMAND_UID_ONLY))) ||
        (!uid && (spec->flags & MS_IMAP_COMMAND_UID_ONLY)))
      {
        _ms_imap_bad (session, command->tag, "Unknown command %s%s", uid ? "UID " : "", upper);
        return;
      }
    if (!(spec->allowed_states & MS_IMAP_STATE_BIT (session->state)))
      {
        const char *hint = "";

        if (spec->allowed_states == MS_IMAP_STATE_BIT (MS_IMAP_STATE_NOT_AUTHENTICATED))
          hint = "; only before login";
        else if (spec->allowed_states == MS_IMAP_STATE_BIT (MS_IMAP_STATE_SELECTED))
          hint = "; select a mailbox first";
        else if (session->state == MS_IMAP_STATE_NOT_AUTHENTICATED)
          hint = "; log in first";
        _ms_imap_bad (session, command->tag, "%s%s not allowed in this state (%s)%s",
                      uid ? "UID " : "", upper, ms_imap_state_to_string (session->state), hint);
        return;
      }
  }

  session->in_command = TRUE;
  session->command_uid = uid;
  session->command_flags = spec->flags;
  /* A command on messages sees the store as it is now: flags another
   * session changed, messages that arrived. Never EXPUNGE here: the
   * client's sequence numbers must mean what they meant when it sent
   * them (RFC 3501 §7.4.1); gone messages are skipped until the sync
   * before the tagged reply. */
  if (session->state == MS_IMAP_STATE_SELECTED && session->mailbox_dirty &&
      (spec->flags & MS_IMAP_COMMAND_UID))
    _ms_imap_sync_mailbox (session, FALSE);
  spec->handler (session, command->tag, args, uid);
  if (session->wait == MS_IMAP_WAIT_NONE)
    session->in_command = FALSE;
}

/* A line that cannot be used: the command gathered so far is dropped. */
static void
line_too_long (MsImapSession *session,
               const char *line,
               gsize len)
{
  g_autofree char *tag = NULL;

  if (session->command->len > 0)
    tag = gathered_tag (session->command->str, session->command->len);
  else
    tag = gathered_tag (line, len);
  reset_command (session);
  _ms_imap_bad (session, tag, "Line too long (at most %" G_GSIZE_FORMAT " bytes)",
                session->max_line);
}

/* The most a whole command may hold: its lines and its literals. */
static guint64
command_limit (MsImapSession *session)
{
  return (guint64) session->max_line * 4 +
         (session->command_is_append ? session->max_append : session->max_literal);
}

/* A line announced a literal of `size` bytes (RFC 3501 §4.3, RFC 7888). */
static void
start_literal (MsImapSession *session,
               guint64 size,
               gboolean nonsync)
{
  guint64 limit = session->command_is_append ? session->max_append : session->max_literal;

  if (size > limit || session->command->len + 2 + size > command_limit (session))
    {
      g_autofree char *tag = gathered_tag (session->command->str, session->command->len);

      reset_command (session);
      if (nonsync)
        {
          /* RFC 7888 §4: the bytes are on their way and we cannot tell
           * where the next command starts. */
          _ms_imap_bye (session, "Literal too large; cannot resynchronise");
          return;
        }
      /* TOOBIG (RFC 4469, used so by RFC 7889): the client waits for "+" and sends nothing. */
      session->in_command = FALSE;
      _ms_imap_tagged (session, tag, "NO", "[TOOBIG] Literal too large (at most %"
                       G_GUINT64_FORMAT " bytes)", limit);
      count_bad (session);
      return;
    }

  if (size > 0 && session->output->read_bytes == NULL)
    {
      /* An output without raw reads cannot take literals at all. */
      reset_command (session);
      _ms_imap_bye (session, "Literals are not supported on this connection");
      return;
    }
  g_string_append_len (session->command, "\r\n", 2);
  session->literal_start = session->command->len;
  session->literal_left = size;
  if (!nonsync)
    _ms_imap_continuation (session, "Ready for literal data");
  if (size == 0)
    return;
  session->wait = MS_IMAP_WAIT_LITERAL;
  session->output->read_bytes (session->output_data, size);
}

void
ms_imap_session_feed_line (MsImapSession *session,
                           const char *line,
                           gsize len,
                           MsLineFlags flags)
{
  gboolean continuation;
  guint64 literal_size;
  gboolean nonsync;

  g_return_if_fail (session != NULL);
  g_return_if_fail (line != NULL);

  if (session->closed || session->state == MS_IMAP_STATE_LOGOUT ||
      session->state == MS_IMAP_STATE_TLS)
    return;

  switch (session->wait)
    {
    case MS_IMAP_WAIT_LITERAL:
    case MS_IMAP_WAIT_TLS:
      /* The connection gives bytes, not lines, while a literal is read. */
      return;
    case MS_IMAP_WAIT_AUTH:
      trace_command (session, line, len, flags, FALSE, TRUE, 0);
      if (flags & MS_LINE_FLAG_TOO_LONG)
        {
          g_autofree char *tag = g_steal_pointer (&session->wait_tag);

          session->wait = MS_IMAP_WAIT_NONE;
          _ms_imap_bad (session, tag, "Authentication response too long");
          return;
        }
      _ms_imap_auth_continue (session, line, len);
      if (session->wait == MS_IMAP_WAIT_NONE)
        session->in_command = FALSE;
      return;
    case MS_IMAP_WAIT_IDLE:
      trace_command (session, line, len, flags, FALSE, FALSE, 0);
      _ms_imap_idle_continue (session, line, len);
      if (session->wait == MS_IMAP_WAIT_NONE)
        session->in_command = FALSE;
      return;
    case MS_IMAP_WAIT_NONE:
    default:
      break;
    }

  continuation = session->command->len > 0;
  if (!continuation)
    {
      char verb[16];
      const MsImapCommandSpec *spec;

      /* The table says, before the first literal, how large its literals
       * may be and whether the trace must mask them. */
      peek_word (line, len, 1, verb, sizeof verb);
      spec = _ms_imap_lookup_command (verb);
      session->command_is_append = spec != NULL && (spec->flags & MS_IMAP_COMMAND_APPEND);
      session->command_secret = spec != NULL && (spec->flags & MS_IMAP_COMMAND_SECRET);
    }
  trace_command (session, line, len, flags, continuation, session->command_secret,
                 continuation ? 0 : 3);

  if (flags & MS_LINE_FLAG_TOO_LONG || len > session->max_line)
    {
      line_too_long (session, line, len);
      return;
    }
  if (session->command->len + len > command_limit (session))
    {
      g_autofree char *tag = gathered_tag (session->command->str, session->command->len);

      reset_command (session);
      /* A line announcing a literal gets no "+"; a non-synchronising one
       * would leave bytes we cannot tell from commands. */
      if (ms_imap_line_literal (line, len, &literal_size, &nonsync) && nonsync)
        _ms_imap_bye (session, "Command too long; cannot resynchronise");
      else
        _ms_imap_bad (session, tag, "Command too long");
      return;
    }

  g_string_append_len (session->command, line, len);
  if (ms_imap_line_literal (line, len, &literal_size, &nonsync))
    {
      start_literal (session, literal_size, nonsync);
      return;
    }
  dispatch (session);
}

void
ms_imap_session_feed_bytes (MsImapSession *session,
                            const guint8 *data,
                            gsize len,
                            gboolean last)
{
  gsize take;

  g_return_if_fail (session != NULL);
  g_return_if_fail (data != NULL || len == 0);

  if (session->closed || session->wait != MS_IMAP_WAIT_LITERAL)
    return;
  take = MIN (len, session->literal_left);
  g_string_append_len (session->command, (const char *) data, take);
  session->literal_left -= take;
  if (session->literal_left > 0 && !last)
    return;

  /* A short last chunk (the connection closed early) ends the literal as
   * it is: the command will then fail to parse or be cut. */
  session->literal_left = 0;
  session->wait = MS_IMAP_WAIT_NONE;
  trace_data (session, session->command->str + session->literal_start,
              session->command->len - session->literal_start,
              session->command->len - session->literal_start, session->command_secret);
}

void
ms_imap_session_start (MsImapSession *session)
{
  g_return_if_fail (session != NULL);

  ms_session_trace_state (&session->trace, "", ms_imap_state_to_string (session->state));
  session->output->set_max_line (session->output_data, session->max_line);
  /* RFC 3501 §7.1.1: the capabilities in the greeting save a round trip. */
  {
    g_autofree char *capability = _ms_imap_capability_string (session);

    _ms_imap_untagged (session, "OK [CAPABILITY %s] %s Mailscope IMAP4rev1 ready", capability,
                       session->hostname);
  }
}

void
ms_imap_session_tls_done (MsImapSession *session,
                          gboolean ok)
{
  g_return_if_fail (session != NULL);

  if (session->state != MS_IMAP_STATE_TLS)
    return;
  session->wait = MS_IMAP_WAIT_NONE;
  if (!ok)
    {
      /* The connection is gone with the failed handshake. */
      session->closed = TRUE;
      _ms_imap_set_state (session, MS_IMAP_STATE_LOGOUT);
      return;
    }
  /* RFC 3501 §6.2.1: the client discards what it knew; nothing is sent. */
  session->tls_active = TRUE;
  reset_command (session);
  _ms_imap_set_state (session, MS_IMAP_STATE_NOT_AUTHENTICATED);
}

void
ms_imap_session_timeout (MsImapSession *session)
{
  g_return_if_fail (session != NULL);

  /* RFC 3501 §5.4: the autologout timer. */
  _ms_imap_bye (session, "Autologout; idle for too long");
}

void
ms_imap_session_shutdown (MsImapSession *session)
{
  g_return_if_fail (session != NULL);

  _ms_imap_bye (session, "Server shutting down");
}
