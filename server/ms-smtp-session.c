/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-smtp"

#include "config.h"

#include <string.h>

#include "ms-smtp-session-private.h"

/* A `data` event carries at most this much of a message's text. */
#define TRACE_DATA_LIMIT (64 * 1024)

static const char * const state_names[MS_SMTP_N_STATES] = {
  [MS_SMTP_STATE_CONNECTED] = "connected",
  [MS_SMTP_STATE_READY] = "ready",
  [MS_SMTP_STATE_AUTH] = "auth",
  [MS_SMTP_STATE_MAIL] = "mail",
  [MS_SMTP_STATE_RCPT] = "rcpt",
  [MS_SMTP_STATE_DATA] = "data",
  [MS_SMTP_STATE_TLS] = "tls",
  [MS_SMTP_STATE_CLOSED] = "closed",
};

const char *
ms_smtp_state_to_string (MsSmtpState state)
{
  g_return_val_if_fail (state < MS_SMTP_N_STATES, "unknown");
  return state_names[state];
}

static MsEvent *
new_session_event (MsSmtpSession *session,
                   MsEventKind kind)
{
  return ms_session_trace_event (&session->trace, kind);
}

MsSmtpSession *
ms_smtp_session_new (const MsSmtpSessionConfig *config,
                     const MsSmtpBackend *backend,
                     gpointer backend_data,
                     const MsSmtpOutput *output,
                     gpointer output_data)
{
  MsSmtpSession *session;

  g_return_val_if_fail (config != NULL && config->hostname != NULL, NULL);
  g_return_val_if_fail (backend != NULL && output != NULL, NULL);

  session = g_new0 (MsSmtpSession, 1);
  session->state = MS_SMTP_STATE_CONNECTED;
  session->port_kind = config->port_kind;
  session->hostname = g_strdup (config->hostname);
  session->peer = g_strdup (config->peer != NULL ? config->peer : "unknown");
  ms_session_trace_init (&session->trace, config->bus,
                         config->server_name != NULL ? config->server_name : config->hostname,
                         config->session_id, "smtp");
  session->tls_available = config->tls_available;
  session->tls_active = config->tls_active;
  session->max_message_size = config->max_message_size ? config->max_message_size
                                                       : MS_SMTP_DEFAULT_MAX_SIZE;
  session->max_recipients = config->max_recipients ? config->max_recipients : 100;
  session->max_bad_commands = config->max_bad_commands ? config->max_bad_commands : 10;
  session->backend = backend;
  session->backend_data = backend_data;
  session->output = output;
  session->output_data = output_data;
  session->envelope.rcpt_to = g_ptr_array_new_with_free_func (g_free);
  return session;
}

void
ms_smtp_session_free (MsSmtpSession *session)
{
  if (session == NULL)
    return;

  g_free (session->hostname);
  g_free (session->peer);
  ms_session_trace_clear (&session->trace);
  g_free (session->envelope.mail_from);
  g_ptr_array_unref (session->envelope.rcpt_to);
  g_free (session->envelope.helo);
  g_free (session->envelope.auth_user);
  g_free (session->auth_login_user);
  if (session->message != NULL)
    g_string_free (session->message, TRUE);
  g_free (session);
}

MsSmtpState
ms_smtp_session_get_state (MsSmtpSession *session)
{
  g_return_val_if_fail (session != NULL, MS_SMTP_STATE_CLOSED);
  return session->state;
}

gboolean
ms_smtp_session_awaits_command (MsSmtpSession *session)
{
  g_return_val_if_fail (session != NULL, FALSE);
  return session->state != MS_SMTP_STATE_DATA && session->auth_step == MS_SMTP_AUTH_NONE;
}

const char *
ms_smtp_session_get_auth_user (MsSmtpSession *session)
{
  g_return_val_if_fail (session != NULL, NULL);
  return session->envelope.auth_user;
}

void
_ms_smtp_set_state (MsSmtpSession *session,
                    MsSmtpState state)
{
  MsSmtpState old = session->state;

  if (old == state)
    return;
  session->state = state;
  g_debug ("%s: %s -> %s", session->trace.session_id,
           ms_smtp_state_to_string (old), ms_smtp_state_to_string (state));

  /* DATA lines are messages, not commands: they may be longer (§4.5.3.1.6). */
  if (session->output->set_max_line != NULL)
    session->output->set_max_line (session->output_data,
                                   state == MS_SMTP_STATE_DATA ? MS_SMTP_MAX_DATA_LINE
                                                               : MS_SMTP_MAX_COMMAND_LINE);

  ms_session_trace_state (&session->trace, ms_smtp_state_to_string (old),
                          ms_smtp_state_to_string (state));
}

static void
send_reply_line (MsSmtpSession *session,
                 int code,
                 const char *enhanced,
                 const char *line,
                 gsize len)
{
  /* The event first, as POP3 and IMAP do: what sending the line causes (a
   * reply breakpoint's `break` event) comes after it in the trace. */
  if (ms_trace_bus_is_active (session->trace.bus))
    {
      MsEvent *event = new_session_event (session, MS_EVENT_REPLY);

      /* The trace carries the line without its CRLF. */
      ms_event_set_bytes_text (event, "text", line, len - 2);
      ms_event_set_int (event, "code", code);
      if (enhanced != NULL)
        ms_event_set_string (event, "enhanced", enhanced);
      ms_event_set_string (event, "state", ms_smtp_state_to_string (session->state));
      ms_trace_bus_emit (session->trace.bus, event);
    }
  session->output->send (session->output_data, line, len);
}

void
_ms_smtp_reply (MsSmtpSession *session,
                int code,
                const char *enhanced,
                const char *format,
                ...)
{
  g_autoptr(GString) line = g_string_sized_new (128);
  va_list args;

  /* RFC 2034 §4: with ENHANCEDSTATUSCODES, every reply but the greeting
   * and EHLO/HELO carries a status code after the reply code. */
  g_string_printf (line, "%03d ", code);
  if (enhanced != NULL)
    g_string_append_printf (line, "%s ", enhanced);
  va_start (args, format);
  g_string_append_vprintf (line, format, args);
  va_end (args);
  g_string_append (line, "\r\n");

  send_reply_line (session, code, enhanced, line->str, line->len);
}

void
_ms_smtp_reply_lines (MsSmtpSession *session,
                      int code,
                      const char * const *lines)
{
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autofree char *line = g_strdup_printf ("%03d%c%s\r\n", code,
                                               lines[i + 1] != NULL ? '-' : ' ', lines[i]);

      send_reply_line (session, code, NULL, line, strlen (line));
    }
}

void
_ms_smtp_close (MsSmtpSession *session)
{
  _ms_smtp_set_state (session, MS_SMTP_STATE_CLOSED);
  session->output->close (session->output_data);
}

void
_ms_smtp_bad_command (MsSmtpSession *session,
                      int code,
                      const char *enhanced,
                      const char *text)
{
  _ms_smtp_reply (session, code, enhanced, "%s", text);
  if (++session->bad_commands >= session->max_bad_commands)
    {
      _ms_smtp_reply (session, 421, "4.7.0", "%s Too many errors, closing connection",
                      session->hostname);
      _ms_smtp_close (session);
    }
}

void
_ms_smtp_reset_transaction (MsSmtpSession *session)
{
  g_clear_pointer (&session->envelope.mail_from, g_free);
  g_ptr_array_set_size (session->envelope.rcpt_to, 0);
  session->envelope.body_8bit = FALSE;
  if (session->message != NULL)
    {
      g_string_free (session->message, TRUE);
      session->message = NULL;
    }
  session->message_too_big = FALSE;
  session->message_bare_lf = FALSE;
  session->message_line_too_long = FALSE;
}

void
_ms_smtp_trace_auth (MsSmtpSession *session,
                     const char *mechanism,
                     const char *user,
                     gboolean success)
{
  ms_session_trace_auth (&session->trace, mechanism, user, success);
}

void
ms_smtp_session_start (MsSmtpSession *session)
{
  g_return_if_fail (session != NULL);

  ms_session_trace_state (&session->trace, "",
                          ms_smtp_state_to_string (session->state));
  /* RFC 5321 §4.2: the greeting carries no enhanced status code. */
  _ms_smtp_reply (session, 220, NULL, "%s ESMTP Mailscope ready", session->hostname);
}

/* The command event. AUTH lines and the lines of an AUTH exchange carry
 * credentials in base64, which is an encoding, not encryption: they are
 * masked unless the bus reveals secrets. */
static void
trace_command (MsSmtpSession *session,
               const char *line,
               gsize len,
               MsLineFlags flags,
               const char *verb)
{
  MsEvent *event = new_session_event (session, MS_EVENT_COMMAND);
  gboolean secret = session->state == MS_SMTP_STATE_AUTH;

  if (verb != NULL && g_ascii_strcasecmp (verb, "AUTH") == 0)
    {
      const char *mechanism_end = line + 5;

      /* Keep "AUTH PLAIN", mask the initial response after it. */
      while (mechanism_end < line + len && *mechanism_end != ' ')
        mechanism_end++;
      if (mechanism_end < line + len && !ms_trace_bus_get_reveal_secrets (session->trace.bus))
        {
          g_autofree char *masked = g_strdup_printf ("%.*s %s", (int) (mechanism_end - line), line,
                                                     ms_trace_bus_mask (session->trace.bus, ""));
          ms_event_set_string (event, "text", masked);
        }
      else
        ms_event_set_bytes_text (event, "text", line, len);
      ms_event_set_bool (event, "secret", TRUE);
    }
  else if (secret && !ms_trace_bus_get_reveal_secrets (session->trace.bus))
    {
      ms_event_set_string (event, "text", ms_trace_bus_mask (session->trace.bus, line));
      ms_event_set_bool (event, "secret", TRUE);
    }
  else
    ms_event_set_bytes_text (event, "text", line, len);

  if (verb != NULL)
    ms_event_set_string (event, "verb", verb);
  ms_event_set_string (event, "state", ms_smtp_state_to_string (session->state));
  if (flags & MS_LINE_FLAG_BARE_LF)
    ms_event_set_bool (event, "bare_lf", TRUE);
  if (flags & MS_LINE_FLAG_TOO_LONG)
    ms_event_set_bool (event, "too_long", TRUE);
  ms_trace_bus_emit (session->trace.bus, event);
}

static void
trace_data (MsSmtpSession *session)
{
  MsEvent *event;
  gsize shown;

  if (!ms_trace_bus_is_active (session->trace.bus) || session->message == NULL)
    return;
  event = new_session_event (session, MS_EVENT_DATA);
  shown = MIN (session->message->len, TRACE_DATA_LIMIT);
  ms_event_set_int (event, "bytes", session->message->len);
  ms_event_set_bytes_text (event, "text", session->message->str, shown);
  if (shown < session->message->len || session->message_too_big)
    ms_event_set_bool (event, "truncated", TRUE);
  if (session->message_bare_lf)
    ms_event_set_bool (event, "bare_lf", TRUE);
  ms_trace_bus_emit (session->trace.bus, event);
}

/* RFC 5321 §4.1.1.4 and §4.5.2: the message ends with a line holding a
 * single ".", and a leading "." that the client doubled is removed. */
static void
feed_data_line (MsSmtpSession *session,
                const char *line,
                gsize len,
                MsLineFlags flags)
{
  gboolean bare_lf = (flags & MS_LINE_FLAG_BARE_LF) != 0;
  gboolean previous_bare_lf = session->last_line_bare_lf;

  session->last_line_bare_lf = bare_lf;

  /* §2.3.8: a bare LF is not a line ending. The message ends only at
   * CRLF "." CRLF. A "." next to a bare LF is ambiguous: a server that
   * ended the message there would run what follows as commands while the
   * sending server thought it was still the message ("SMTP smuggling").
   * So we refuse and close, as Postfix does; nothing after it is read. A
   * student typing into nc without -C gets this clear reply, not a hang. */
  if (len == 1 && line[0] == '.' && (bare_lf || previous_bare_lf))
    {
      trace_data (session);
      _ms_smtp_set_state (session, MS_SMTP_STATE_READY);
      _ms_smtp_reset_transaction (session);
      _ms_smtp_reply (session, 521, "5.5.2",
                      "Bare LF received next to the final \".\"; lines must end with CRLF "
                      "(RFC 5321 section 2.3.8; with nc, use nc -C). Closing connection");
      _ms_smtp_close (session);
      return;
    }
  if (len == 1 && line[0] == '.')
    {
      trace_data (session);
      _ms_smtp_data_finish (session);
      return;
    }

  /* Any other bare LF refuses the message when it ends (550 5.6.0). */
  if (bare_lf)
    session->message_bare_lf = TRUE;
  if (flags & MS_LINE_FLAG_TOO_LONG)
    session->message_line_too_long = TRUE;

  if (line[0] == '.')
    {
      line++;
      len--;
    }

  if (session->message_too_big)
    return;
  if (session->message->len + len + 2 > session->max_message_size)
    {
      /* Keep reading to the end of the data, but drop the content: §4.5.3.1.10. */
      session->message_too_big = TRUE;
      g_string_truncate (session->message, 0);
      return;
    }
  g_string_append_len (session->message, line, len);
  g_string_append_len (session->message, "\r\n", 2);
}

static gboolean
has_nul (const char *line,
         gsize len)
{
  return memchr (line, '\0', len) != NULL;
}

void
ms_smtp_session_feed_line (MsSmtpSession *session,
                           const char *line,
                           gsize len,
                           MsLineFlags flags)
{
  char verb[16];
  gsize verb_len = 0;
  const char *args;
  const MsSmtpCommand *command;

  g_return_if_fail (session != NULL);
  g_return_if_fail (line != NULL);

  if (session->state != MS_SMTP_STATE_DATA)
    session->last_line_bare_lf = (flags & MS_LINE_FLAG_BARE_LF) != 0;

  switch (session->state)
    {
    case MS_SMTP_STATE_CLOSED:
    case MS_SMTP_STATE_TLS:
      /* Nothing may follow QUIT or STARTTLS in plain text (RFC 3207 §4). */
      return;
    case MS_SMTP_STATE_DATA:
      feed_data_line (session, line, len, flags);
      return;
    case MS_SMTP_STATE_AUTH:
      if (ms_trace_bus_is_active (session->trace.bus))
        trace_command (session, line, len, flags, NULL);
      if (flags & MS_LINE_FLAG_TOO_LONG || has_nul (line, len))
        {
          session->auth_step = MS_SMTP_AUTH_NONE;
          _ms_smtp_set_state (session, MS_SMTP_STATE_READY);
          _ms_smtp_bad_command (session, 501, "5.5.2", "Cannot decode AUTH response");
          return;
        }
      _ms_smtp_auth_continue (session, line);
      return;
    default:
      break;
    }

  while (verb_len < len && line[verb_len] != ' ' && verb_len < sizeof verb - 1)
    {
      verb[verb_len] = g_ascii_toupper (line[verb_len]);
      verb_len++;
    }
  verb[verb_len] = '\0';

  if (ms_trace_bus_is_active (session->trace.bus))
    trace_command (session, line, len, flags, verb);

  if (flags & MS_LINE_FLAG_TOO_LONG)
    {
      _ms_smtp_bad_command (session, 500, "5.5.6", "Line too long");
      return;
    }
  if (has_nul (line, len))
    {
      _ms_smtp_bad_command (session, 500, "5.5.2", "Syntax error: NUL byte in command");
      return;
    }

  command = _ms_smtp_lookup_command (verb);
  if (command == NULL || (verb_len < len && line[verb_len] != ' '))
    {
      _ms_smtp_bad_command (session, 500, "5.5.2", "Command not recognized");
      return;
    }
  if (!(command->allowed_states & MS_SMTP_STATE_BIT (session->state)))
    {
      /* RFC 5321 §4.1.4: commands out of order get 503. */
      _ms_smtp_bad_command (session, 503, "5.5.1",
                            session->state == MS_SMTP_STATE_CONNECTED
                              ? "Send HELO or EHLO first" : command->order_error);
      return;
    }

  args = line + verb_len;
  while (*args == ' ')
    args++;
  command->handler (session, args);
}

void
ms_smtp_session_tls_done (MsSmtpSession *session,
                          gboolean ok)
{
  g_return_if_fail (session != NULL);
  g_return_if_fail (session->state == MS_SMTP_STATE_TLS);

  if (!ok)
    {
      /* The connection is gone with the failed handshake. */
      _ms_smtp_set_state (session, MS_SMTP_STATE_CLOSED);
      return;
    }

  /* RFC 3207 §4.2: discard all knowledge obtained from the client; the
   * client must send EHLO again. */
  session->tls_active = TRUE;
  _ms_smtp_reset_transaction (session);
  g_clear_pointer (&session->envelope.helo, g_free);
  g_clear_pointer (&session->envelope.auth_user, g_free);
  session->envelope.tls = TRUE;
  session->extended = FALSE;
  _ms_smtp_set_state (session, MS_SMTP_STATE_CONNECTED);
}

void
ms_smtp_session_timeout (MsSmtpSession *session)
{
  g_return_if_fail (session != NULL);

  if (session->state == MS_SMTP_STATE_CLOSED)
    return;
  _ms_smtp_reply (session, 421, "4.4.2", "%s Idle timeout, closing connection",
                  session->hostname);
  _ms_smtp_close (session);
}

void
ms_smtp_session_shutdown (MsSmtpSession *session)
{
  g_return_if_fail (session != NULL);

  if (session->state == MS_SMTP_STATE_CLOSED)
    return;
  _ms_smtp_reply (session, 421, "4.3.2", "%s Service shutting down", session->hostname);
  _ms_smtp_close (session);
}
