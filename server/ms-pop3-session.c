/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-pop3"

#include "config.h"

#include <openssl/rand.h>
#include <string.h>
#include <unistd.h>

#include "ms-pop3-session-private.h"

/* A `data` event carries at most this much of a message's text. */
#define TRACE_DATA_LIMIT (64 * 1024)

G_DEFINE_QUARK (ms-pop3-error-quark, ms_pop3_error)

static const char * const state_names[MS_POP3_N_STATES] = {
  [MS_POP3_STATE_AUTHORIZATION] = "authorization",
  [MS_POP3_STATE_TLS] = "tls",
  [MS_POP3_STATE_TRANSACTION] = "transaction",
  [MS_POP3_STATE_UPDATE] = "update",
  [MS_POP3_STATE_CLOSED] = "closed",
};

const char *
ms_pop3_state_to_string (MsPop3State state)
{
  g_return_val_if_fail (state < MS_POP3_N_STATES, "unknown");
  return state_names[state];
}

MsPop3Message *
ms_pop3_message_new (guint32 uid,
                     const char *uidl,
                     guint64 size)
{
  MsPop3Message *message = g_new0 (MsPop3Message, 1);

  message->uid = uid;
  message->uidl = g_strdup (uidl);
  message->size = size;
  return message;
}

void
ms_pop3_message_free (MsPop3Message *message)
{
  if (message == NULL)
    return;
  g_free (message->uidl);
  g_free (message);
}

guint64
ms_pop3_wire_size (const guint8 *data,
                   gsize len)
{
  guint64 size = len;

  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
        size++;
    }
  if (len > 0 && data[len - 1] != '\n')
    size += 2;
  return size;
}

static MsEvent *
new_session_event (MsPop3Session *session,
                   MsEventKind kind)
{
  return ms_session_trace_event (&session->trace, kind);
}

MsPop3Session *
ms_pop3_session_new (const MsPop3SessionConfig *config,
                     const MsPop3Backend *backend,
                     gpointer backend_data,
                     const MsPop3Output *output,
                     gpointer output_data)
{
  MsPop3Session *session;

  g_return_val_if_fail (config != NULL && config->hostname != NULL, NULL);
  g_return_val_if_fail (backend != NULL && output != NULL, NULL);

  session = g_new0 (MsPop3Session, 1);
  session->state = MS_POP3_STATE_AUTHORIZATION;
  session->hostname = g_strdup (config->hostname);
  ms_session_trace_init (&session->trace, config->bus,
                         config->server_name != NULL ? config->server_name : config->hostname,
                         config->session_id, "pop3");
  session->tls_available = config->tls_available;
  session->tls_active = config->tls_active;
  session->expire_days = config->expire_days;
  session->login_delay_s = config->login_delay_s;
  session->max_bad_commands = config->max_bad_commands ? config->max_bad_commands : 10;
  session->max_failed_logins = config->max_failed_logins ? config->max_failed_logins : 3;
  session->failed_login_delay_ms = config->failed_login_delay_ms ? config->failed_login_delay_ms
                                                                 : 1000;
  session->backend = backend;
  session->backend_data = backend_data;
  session->output = output;
  session->output_data = output_data;

  if (config->apop_available)
    {
      guint8 random[8];
      g_autofree char *hex = NULL;

      /* RFC 1939 §7: the timestamp must differ for every greeting. The
       * random part also makes it unpredictable, so an APOP digest seen on
       * the wire cannot be replayed against a later greeting. */
      if (RAND_bytes (random, sizeof random) != 1)
        g_error ("RAND_bytes failed");
      hex = g_malloc (sizeof random * 2 + 1);
      for (guint i = 0; i < sizeof random; i++)
        g_snprintf (hex + 2 * i, 3, "%02x", random[i]);
      session->apop_timestamp = g_strdup_printf ("<%d.%" G_GINT64_FORMAT ".%s@%s>",
                                                 (int) getpid (),
                                                 g_get_real_time () / G_USEC_PER_SEC,
                                                 hex, session->hostname);
    }
  return session;
}

void
_ms_pop3_release_maildrop (MsPop3Session *session,
                           gboolean unmark)
{
  g_autofree char *user = NULL;

  if (session->user == NULL)
    return;
  user = g_steal_pointer (&session->user);
  if (unmark)
    {
      /* Marks live only in this session (RFC 1939 §6): say they are gone, so
       * a viewer built from events shows the messages unmarked again. */
      for (guint i = 0; i < session->messages->len; i++)
        {
          MsPop3Message *message = session->messages->pdata[i];

          if (session->deleted[i])
            session->backend->mark (session->backend_data, user, message->uid, FALSE);
        }
    }
  session->backend->close_maildrop (session->backend_data, user);
  g_clear_pointer (&session->messages, g_ptr_array_unref);
  g_clear_pointer (&session->deleted, g_free);
}

void
ms_pop3_session_free (MsPop3Session *session)
{
  if (session == NULL)
    return;

  /* The connection dropped without QUIT: nothing is removed. */
  _ms_pop3_release_maildrop (session, TRUE);
  g_free (session->hostname);
  ms_session_trace_clear (&session->trace);
  g_free (session->apop_timestamp);
  g_free (session->user_given);
  g_free (session);
}

MsPop3State
ms_pop3_session_get_state (MsPop3Session *session)
{
  g_return_val_if_fail (session != NULL, MS_POP3_STATE_CLOSED);
  return session->state;
}

gboolean
ms_pop3_session_awaits_command (MsPop3Session *session)
{
  g_return_val_if_fail (session != NULL, FALSE);
  return session->auth_step == MS_POP3_AUTH_NONE;
}

const char *
ms_pop3_session_get_user (MsPop3Session *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return session->user;
}

const char *
ms_pop3_session_get_apop_timestamp (MsPop3Session *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return session->apop_timestamp;
}

void
_ms_pop3_set_state (MsPop3Session *session,
                    MsPop3State state)
{
  MsPop3State old = session->state;

  if (old == state)
    return;
  session->state = state;
  g_debug ("%s: %s -> %s", session->trace.session_id,
           ms_pop3_state_to_string (old), ms_pop3_state_to_string (state));

  ms_session_trace_state (&session->trace, ms_pop3_state_to_string (old),
                          ms_pop3_state_to_string (state));
}

/* One reply line event. `status` is NULL for the lines after the first of
 * a multi-line reply. */
static void
trace_reply_line (MsPop3Session *session,
                  const char *status,
                  const char *resp_code,
                  const char *line,
                  gsize len)
{
  MsEvent *event;

  if (!ms_trace_bus_is_active (session->trace.bus))
    return;
  event = new_session_event (session, MS_EVENT_REPLY);
  ms_event_set_bytes_text (event, "text", line, len);
  if (status != NULL)
    ms_event_set_string (event, "status", status);
  else
    ms_event_set_bool (event, "continuation", TRUE);
  if (resp_code != NULL)
    ms_event_set_string (event, "resp_code", resp_code);
  ms_event_set_string (event, "state", ms_pop3_state_to_string (session->state));
  ms_trace_bus_emit (session->trace.bus, event);
}

static void
send_reply (MsPop3Session *session,
            const char *status,
            const char *resp_code,
            const char *text)
{
  g_autoptr(GString) line = g_string_sized_new (128);

  g_string_append (line, status);
  if (resp_code != NULL)
    g_string_append_printf (line, " [%s]", resp_code);
  if (*text != '\0' || strcmp (status, "+") == 0)
    g_string_append_printf (line, " %s", text);
  trace_reply_line (session, status, resp_code, line->str, line->len);
  g_string_append (line, "\r\n");
  session->output->send (session->output_data, line->str, line->len);
}

void
_ms_pop3_reply (MsPop3Session *session,
                const char *status,
                const char *format,
                ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  send_reply (session, status, NULL, text);
}

void
_ms_pop3_reply_code (MsPop3Session *session,
                     const char *resp_code,
                     const char *format,
                     ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  send_reply (session, "-ERR", resp_code, text);
}

void
_ms_pop3_reply_lines (MsPop3Session *session,
                      const char *first,
                      const char * const *lines)
{
  g_autoptr(GString) out = g_string_sized_new (256);

  g_string_printf (out, "+OK %s\r\n", first);
  trace_reply_line (session, "+OK", NULL, out->str, out->len - 2);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gsize start = out->len;

      /* RFC 1939 §3: a line that begins with the termination octet is
       * byte-stuffed. */
      if (lines[i][0] == '.')
        g_string_append_c (out, '.');
      g_string_append (out, lines[i]);
      trace_reply_line (session, NULL, NULL, out->str + start, out->len - start);
      g_string_append (out, "\r\n");
    }
  trace_reply_line (session, NULL, NULL, ".", 1);
  g_string_append (out, ".\r\n");
  session->output->send (session->output_data, out->str, out->len);
}

static void
trace_data (MsPop3Session *session,
            const char *verb,
            guint number,
            const char *wire,
            gsize shown,
            gsize wire_len)
{
  MsEvent *event;

  if (!ms_trace_bus_is_active (session->trace.bus))
    return;
  event = new_session_event (session, MS_EVENT_DATA);
  ms_event_set_string (event, "verb", verb);
  ms_event_set_int (event, "message", number);
  ms_event_set_int (event, "bytes", wire_len);
  ms_event_set_bytes_text (event, "text", wire, shown);
  if (shown < wire_len)
    ms_event_set_bool (event, "truncated", TRUE);
  ms_trace_bus_emit (session->trace.bus, event);
}

/* Calls `func` for each line of `data` that goes on the wire: its content
 * without the line end. With TOP (`body_lines` >= 0), the header, the empty
 * line, then `body_lines` lines of the body (RFC 1939 §7). */
typedef void (*LineFunc) (const char *line, gsize len, gpointer user_data);

static void
for_each_wire_line (const char *data,
                    gsize len,
                    gint64 body_lines,
                    LineFunc func,
                    gpointer user_data)
{
  gboolean in_body = FALSE;
  gint64 body_sent = 0;
  gsize pos = 0;

  while (pos < len)
    {
      const char *lf = memchr (data + pos, '\n', len - pos);
      gsize end = lf != NULL ? (gsize) (lf - data) : len;
      gsize content_end = end;

      if (lf != NULL && end > pos && data[end - 1] == '\r')
        content_end--;
      if (body_lines >= 0 && in_body)
        {
          if (body_sent >= body_lines)
            break;
          body_sent++;
        }
      func (data + pos, content_end - pos, user_data);
      if (content_end == pos)
        in_body = TRUE;
      pos = lf != NULL ? end + 1 : len;
    }
}

static void
count_line_cb (const char *line,
               gsize len,
               gpointer user_data)
{
  *(gsize *) user_data += len + 2;
}

/* Byte-stuffing (RFC 1939 §3): a line that begins with "." gets another
 * one. It is not counted in the octet count. */
static void
stuff_line_cb (const char *line,
               gsize len,
               gpointer user_data)
{
  GString *out = user_data;

  if (len > 0 && line[0] == '.')
    g_string_append_c (out, '.');
  g_string_append_len (out, line, len);
  g_string_append_len (out, "\r\n", 2);
}

static void
unstuffed_line_cb (const char *line,
                   gsize len,
                   gpointer user_data)
{
  GString *text = user_data;

  /* Only what the trace shows: stop growing past its limit. */
  if (text->len < TRACE_DATA_LIMIT)
    {
      g_string_append_len (text, line, len);
      g_string_append_len (text, "\r\n", 2);
    }
}

void
_ms_pop3_send_message (MsPop3Session *session,
                       const char *verb,
                       guint number,
                       GBytes *bytes,
                       gint64 body_lines)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr(GString) out = NULL;
  gsize wire_len = 0;

  /* Each line ends in CRLF on the wire (RFC 1939 §3), whatever the file
   * holds. One pass counts, the next writes the reply itself: a large
   * message is copied once, not once per step. */
  for_each_wire_line (data, len, body_lines, count_line_cb, &wire_len);

  out = g_string_sized_new (wire_len + wire_len / 64 + 64);
  if (body_lines >= 0)
    g_string_append (out, "+OK top of message follows\r\n");
  else
    g_string_append_printf (out, "+OK %" G_GSIZE_FORMAT " octets\r\n", wire_len);
  trace_reply_line (session, "+OK", NULL, out->str, out->len - 2);

  if (ms_trace_bus_is_active (session->trace.bus))
    {
      g_autoptr(GString) text = g_string_sized_new (MIN (wire_len, TRACE_DATA_LIMIT) + 2);

      for_each_wire_line (data, len, body_lines, unstuffed_line_cb, text);
      trace_data (session, verb, number, text->str, MIN (text->len, TRACE_DATA_LIMIT), wire_len);
    }

  for_each_wire_line (data, len, body_lines, stuff_line_cb, out);
  g_string_append (out, ".\r\n");
  trace_reply_line (session, NULL, NULL, ".", 1);
  session->output->send (session->output_data, out->str, out->len);
}

void
_ms_pop3_close (MsPop3Session *session)
{
  /* A session closed by us (errors, timeout, shutdown) removes nothing. */
  _ms_pop3_release_maildrop (session, TRUE);
  _ms_pop3_set_state (session, MS_POP3_STATE_CLOSED);
  session->output->close (session->output_data);
}

void
_ms_pop3_bad_command (MsPop3Session *session,
                      const char *format,
                      ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  send_reply (session, "-ERR", NULL, text);
  if (++session->bad_commands >= session->max_bad_commands)
    {
      _ms_pop3_reply (session, "-ERR", "too many errors, closing connection");
      _ms_pop3_close (session);
    }
}

void
_ms_pop3_trace_auth (MsPop3Session *session,
                     const char *mechanism,
                     const char *user,
                     gboolean success)
{
  ms_session_trace_auth (&session->trace, mechanism, user, success);
}

void
ms_pop3_session_start (MsPop3Session *session)
{
  g_return_if_fail (session != NULL);

  ms_session_trace_state (&session->trace, "",
                          ms_pop3_state_to_string (session->state));
  /* RFC 1939 §4; the APOP timestamp goes last on the line (§7). */
  if (session->apop_timestamp != NULL)
    _ms_pop3_reply (session, "+OK", "%s Mailscope POP3 server ready %s", session->hostname,
                    session->apop_timestamp);
  else
    _ms_pop3_reply (session, "+OK", "%s Mailscope POP3 server ready", session->hostname);
}

/* Masks what follows the first `keep` words of `line`. */
static char *
mask_after_words (MsPop3Session *session,
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

/* The command event. PASS and APOP carry credentials, and so do AUTH and
 * the lines of an AUTH exchange (in base64, which is an encoding, not
 * encryption): they are masked unless the bus reveals secrets. */
static void
trace_command (MsPop3Session *session,
               const char *line,
               gsize len,
               MsLineFlags flags,
               const char *verb)
{
  MsEvent *event = new_session_event (session, MS_EVENT_COMMAND);
  gboolean reveal = ms_trace_bus_get_reveal_secrets (session->trace.bus);
  guint keep = 0;

  if (verb == NULL)
    keep = 0;
  else if (strcmp (verb, "PASS") == 0)
    keep = 1;
  else if (strcmp (verb, "APOP") == 0 || strcmp (verb, "AUTH") == 0)
    keep = 2;

  if (verb == NULL || keep > 0)
    {
      ms_event_set_bool (event, "secret", TRUE);
      if (reveal)
        ms_event_set_bytes_text (event, "text", line, len);
      else if (keep == 0)
        ms_event_set_string (event, "text", ms_trace_bus_mask (session->trace.bus, line));
      else
        {
          g_autofree char *masked = mask_after_words (session, line, len, keep);
          ms_event_set_bytes_text (event, "text", masked, strlen (masked));
        }
    }
  else
    ms_event_set_bytes_text (event, "text", line, len);

  if (verb != NULL)
    ms_event_set_string (event, "verb", verb);
  ms_event_set_string (event, "state", ms_pop3_state_to_string (session->state));
  if (flags & MS_LINE_FLAG_BARE_LF)
    ms_event_set_bool (event, "bare_lf", TRUE);
  if (flags & MS_LINE_FLAG_TOO_LONG)
    ms_event_set_bool (event, "too_long", TRUE);
  ms_trace_bus_emit (session->trace.bus, event);
}

static gboolean
has_nul (const char *line,
         gsize len)
{
  return memchr (line, '\0', len) != NULL;
}

void
ms_pop3_session_feed_line (MsPop3Session *session,
                           const char *line,
                           gsize len,
                           MsLineFlags flags)
{
  char verb[16];
  gsize verb_len = 0;
  const char *args;
  const MsPop3Command *command;

  g_return_if_fail (session != NULL);
  g_return_if_fail (line != NULL);

  switch (session->state)
    {
    case MS_POP3_STATE_CLOSED:
    case MS_POP3_STATE_UPDATE:
    case MS_POP3_STATE_TLS:
      /* Nothing may follow QUIT, nor STLS in plain text (RFC 2595 §4). */
      return;
    case MS_POP3_STATE_AUTHORIZATION:
    case MS_POP3_STATE_TRANSACTION:
    case MS_POP3_N_STATES:
    default:
      break;
    }

  if (session->auth_step != MS_POP3_AUTH_NONE)
    {
      if (ms_trace_bus_is_active (session->trace.bus))
        trace_command (session, line, len, flags, NULL);
      if (flags & MS_LINE_FLAG_TOO_LONG || has_nul (line, len))
        {
          session->auth_step = MS_POP3_AUTH_NONE;
          _ms_pop3_bad_command (session, "cannot decode AUTH response");
          return;
        }
      _ms_pop3_auth_continue (session, line);
      return;
    }

  /* RFC 1939 §3: keywords are case-insensitive. */
  while (verb_len < len && line[verb_len] != ' ' && verb_len < sizeof verb - 1)
    {
      verb[verb_len] = g_ascii_toupper (line[verb_len]);
      verb_len++;
    }
  verb[verb_len] = '\0';

  if (ms_trace_bus_is_active (session->trace.bus))
    trace_command (session, line, len, flags, verb);

  if (flags & MS_LINE_FLAG_TOO_LONG ||
      (len > MS_POP3_MAX_COMMAND_LINE && strcmp (verb, "AUTH") != 0))
    {
      /* RFC 2449 §4: 255 octets with CRLF. */
      _ms_pop3_bad_command (session, "line too long (a command is at most 255 octets)");
      return;
    }
  if (has_nul (line, len))
    {
      _ms_pop3_bad_command (session, "syntax error: NUL byte in command");
      return;
    }

  command = _ms_pop3_lookup_command (verb);
  if (command == NULL || (verb_len < len && line[verb_len] != ' '))
    {
      _ms_pop3_bad_command (session, "unknown command");
      return;
    }
  if (!(command->allowed_states & MS_POP3_STATE_BIT (session->state)))
    {
      if (session->state == MS_POP3_STATE_AUTHORIZATION)
        _ms_pop3_bad_command (session, "%s is only valid after login; "
                              "log in with USER and PASS, APOP or AUTH first", verb);
      else
        _ms_pop3_bad_command (session, "%s is only valid before login", verb);
      return;
    }

  args = line + verb_len;
  if (*args == ' ')
    args++;
  command->handler (session, args);
}

void
ms_pop3_session_tls_done (MsPop3Session *session,
                          gboolean ok)
{
  g_return_if_fail (session != NULL);
  g_return_if_fail (session->state == MS_POP3_STATE_TLS);

  if (!ok)
    {
      /* The connection is gone with the failed handshake. */
      _ms_pop3_set_state (session, MS_POP3_STATE_CLOSED);
      return;
    }

  /* RFC 2595 §4: the client must discard what it knew about us, and we
   * forget what it said in plain text: a USER name given before STLS must
   * be given again. No new greeting is sent. */
  session->tls_active = TRUE;
  g_clear_pointer (&session->user_given, g_free);
  _ms_pop3_set_state (session, MS_POP3_STATE_AUTHORIZATION);
}

void
ms_pop3_session_timeout (MsPop3Session *session)
{
  g_return_if_fail (session != NULL);

  if (session->state == MS_POP3_STATE_CLOSED)
    return;
  /* RFC 1939 §3: an autologout timer closes without entering UPDATE. */
  _ms_pop3_reply (session, "-ERR", "autologout: idle for too long, closing connection");
  _ms_pop3_close (session);
}

void
ms_pop3_session_shutdown (MsPop3Session *session)
{
  g_return_if_fail (session != NULL);

  if (session->state == MS_POP3_STATE_CLOSED)
    return;
  _ms_pop3_reply_code (session, "SYS/TEMP", "server shutting down, closing connection");
  _ms_pop3_close (session);
}
