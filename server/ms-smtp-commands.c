/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-smtp"

#include "config.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ms-smtp-session-private.h"

#define ANY_COMMAND_STATE \
  (MS_SMTP_STATE_BIT (MS_SMTP_STATE_CONNECTED) | MS_SMTP_STATE_BIT (MS_SMTP_STATE_READY) | \
   MS_SMTP_STATE_BIT (MS_SMTP_STATE_MAIL) | MS_SMTP_STATE_BIT (MS_SMTP_STATE_RCPT))
#define GREETED \
  (MS_SMTP_STATE_BIT (MS_SMTP_STATE_READY) | MS_SMTP_STATE_BIT (MS_SMTP_STATE_MAIL) | \
   MS_SMTP_STATE_BIT (MS_SMTP_STATE_RCPT))

static gboolean
is_submission (MsSmtpSession *session)
{
  return session->port_kind != MS_SMTP_PORT_MTA;
}

/* Address syntax (RFC 5321 §4.1.2), checked strictly enough that nothing
 * odd reaches the store or the relay queue: printable ASCII, one "@", a
 * local part of at most 64 octets and a domain of letters, digits, hyphens
 * and dots, or an address literal. SMTPUTF8 is not offered, so non-ASCII
 * is a syntax error (RFC 6531 §3.2). */
static gboolean
address_is_valid (const char *address)
{
  const char *at = strrchr (address, '@');
  gsize local_len;

  if (at == NULL || at == address || at[1] == '\0')
    return FALSE;
  local_len = at - address;
  if (local_len > 64 || strlen (at + 1) > 255)
    return FALSE;
  for (const char *p = address; p < at; p++)
    {
      if (*p <= ' ' || *p >= 127 || strchr ("<>()[],;:\\", *p) != NULL)
        return FALSE;
    }
  if (at[1] == '[')
    {
      gsize n = strlen (at + 1);
      return n > 2 && at[n] == ']' && strspn (at + 2, "0123456789.:abcdefABCDEFIPv") == n - 2;
    }
  for (const char *p = at + 1; *p != '\0'; p++)
    {
      if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.')
        return FALSE;
    }
  return at[1] != '.' && at[1] != '-';
}

/* Parses "<path> params" after "FROM:" or "TO:". Returns the path without
 * brackets (a source route "@a,@b:" is dropped, §4.1.2 and Appendix C), and
 * points `params_r` at what follows. A space after the colon is tolerated,
 * as most servers do. Returns NULL on a syntax error. */
static char *
parse_path (const char *args,
            const char *keyword,
            const char **params_r)
{
  gsize keyword_len = strlen (keyword);
  const char *start;
  const char *end;

  if (g_ascii_strncasecmp (args, keyword, keyword_len) != 0)
    return NULL;
  start = args + keyword_len;
  while (*start == ' ')
    start++;
  if (*start != '<')
    return NULL;
  end = strchr (start, '>');
  if (end == NULL || end - start - 1 > MS_SMTP_MAX_ADDRESS)
    return NULL;
  start++;
  if (*start == '@')
    {
      const char *colon = memchr (start, ':', end - start);
      if (colon == NULL)
        return NULL;
      start = colon + 1;
    }
  *params_r = end + 1;
  if (**params_r != '\0' && **params_r != ' ')
    return NULL;
  return g_strndup (start, end - start);
}

/* RFC 5321 §4.1.1.1 */
static void
smtp_cmd_helo (MsSmtpSession *session,
               const char *args)
{
  if (*args == '\0' || strchr (args, ' ') != NULL)
    {
      _ms_smtp_bad_command (session, 501, "5.5.4", "HELO requires your domain name");
      return;
    }
  _ms_smtp_reset_transaction (session);
  g_free (session->envelope.helo);
  session->envelope.helo = g_strdup (args);
  session->extended = FALSE;
  _ms_smtp_set_state (session, MS_SMTP_STATE_READY);
  _ms_smtp_reply (session, 250, NULL, "%s", session->hostname);
}

/* RFC 5321 §4.1.1.1, with the extensions of RFC 1870 (SIZE), RFC 6152
 * (8BITMIME), RFC 2920 (PIPELINING), RFC 2034 (ENHANCEDSTATUSCODES),
 * RFC 3207 (STARTTLS) and RFC 4954 (AUTH). */
static void
smtp_cmd_ehlo (MsSmtpSession *session,
               const char *args)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  if (*args == '\0' || strchr (args, ' ') != NULL)
    {
      _ms_smtp_bad_command (session, 501, "5.5.4", "EHLO requires your domain name");
      return;
    }
  _ms_smtp_reset_transaction (session);
  g_free (session->envelope.helo);
  session->envelope.helo = g_strdup (args);
  session->extended = TRUE;
  _ms_smtp_set_state (session, MS_SMTP_STATE_READY);

  g_ptr_array_add (lines, g_strdup_printf ("%s greets %s", session->hostname, args));
  g_ptr_array_add (lines, g_strdup ("PIPELINING"));
  g_ptr_array_add (lines, g_strdup_printf ("SIZE %" G_GSIZE_FORMAT, session->max_message_size));
  g_ptr_array_add (lines, g_strdup ("8BITMIME"));
  g_ptr_array_add (lines, g_strdup ("ENHANCEDSTATUSCODES"));
  if (session->tls_available && !session->tls_active)
    g_ptr_array_add (lines, g_strdup ("STARTTLS"));
  if (is_submission (session) && session->envelope.auth_user == NULL)
    g_ptr_array_add (lines, g_strdup ("AUTH PLAIN LOGIN"));
  g_ptr_array_add (lines, g_strdup ("HELP"));
  g_ptr_array_add (lines, NULL);
  _ms_smtp_reply_lines (session, 250, (const char * const *) lines->pdata);
}

static gboolean
parse_size (const char *value,
            guint64 *size_r)
{
  if (*value == '\0' || strlen (value) > 20 || strspn (value, "0123456789") != strlen (value))
    return FALSE;
  return g_ascii_string_to_unsigned (value, 10, 0, G_MAXUINT64, size_r, NULL);
}

/* RFC 5321 §4.1.1.2; SIZE= from RFC 1870 §6, BODY= from RFC 6152 §3. */
static void
smtp_cmd_mail (MsSmtpSession *session,
               const char *args)
{
  g_autofree char *path = NULL;
  g_auto(GStrv) params = NULL;
  const char *rest;
  gboolean body_8bit = FALSE;

  if (is_submission (session) && session->envelope.auth_user == NULL)
    {
      _ms_smtp_bad_command (session, 530, "5.7.0",
                            "Authentication required on the submission port");
      return;
    }

  path = parse_path (args, "FROM:", &rest);
  if (path == NULL || (*path != '\0' && !address_is_valid (path)))
    {
      _ms_smtp_bad_command (session, 501, "5.1.7",
                            "Syntax: MAIL FROM:<address> (bad sender address syntax)");
      return;
    }

  params = g_strsplit (rest, " ", 0);
  for (guint i = 0; params[i] != NULL; i++)
    {
      const char *param = params[i];

      if (*param == '\0')
        continue;
      if (g_ascii_strncasecmp (param, "SIZE=", 5) == 0)
        {
          guint64 size;

          if (!parse_size (param + 5, &size))
            {
              _ms_smtp_bad_command (session, 501, "5.5.4", "Syntax: SIZE=<number of bytes>");
              return;
            }
          if (size > session->max_message_size)
            {
              _ms_smtp_reply (session, 552, "5.3.4",
                              "Message size exceeds fixed maximum message size (%" G_GSIZE_FORMAT
                              " bytes)", session->max_message_size);
              return;
            }
        }
      else if (g_ascii_strcasecmp (param, "BODY=8BITMIME") == 0)
        body_8bit = TRUE;
      else if (g_ascii_strcasecmp (param, "BODY=7BIT") == 0)
        body_8bit = FALSE;
      else if (g_ascii_strncasecmp (param, "AUTH=", 5) == 0)
        ; /* RFC 4954 §5: we may ignore the AUTH parameter. */
      else
        {
          _ms_smtp_bad_command (session, 555, "5.5.4", "Unsupported MAIL parameter");
          return;
        }
    }

  session->envelope.mail_from = g_steal_pointer (&path);
  session->envelope.body_8bit = body_8bit;
  _ms_smtp_set_state (session, MS_SMTP_STATE_MAIL);
  _ms_smtp_reply (session, 250, "2.1.0", "Sender <%s> OK", session->envelope.mail_from);
}

/* RFC 5321 §4.1.1.3 */
static void
smtp_cmd_rcpt (MsSmtpSession *session,
               const char *args)
{
  g_autofree char *path = NULL;
  const char *rest;

  path = parse_path (args, "TO:", &rest);
  if (path == NULL || !address_is_valid (path))
    {
      _ms_smtp_bad_command (session, 501, "5.1.3",
                            "Syntax: RCPT TO:<address> (bad recipient address syntax)");
      return;
    }
  if (*rest != '\0' && strspn (rest, " ") != strlen (rest))
    {
      _ms_smtp_bad_command (session, 555, "5.5.4", "Unsupported RCPT parameter");
      return;
    }
  /* §4.5.3.1.8: at least 100 must be accepted; past our limit, 452 tells a
   * client to send the rest in another transaction (§4.5.3.1.10). */
  if (session->envelope.rcpt_to->len >= session->max_recipients)
    {
      _ms_smtp_reply (session, 452, "4.5.3", "Too many recipients");
      return;
    }

  switch (session->backend->classify_rcpt (session->backend_data, path))
    {
    case MS_SMTP_RCPT_LOCAL:
      break;
    case MS_SMTP_RCPT_NO_SUCH_USER:
      _ms_smtp_reply (session, 550, "5.1.1", "<%s>: no such user here", path);
      return;
    case MS_SMTP_RCPT_REMOTE:
      if (session->envelope.auth_user == NULL)
        {
          _ms_smtp_reply (session, 550, "5.7.1",
                          "<%s>: relaying denied; authenticate on the submission port", path);
          return;
        }
      break;
    case MS_SMTP_RCPT_NO_ROUTE:
    default:
      if (session->envelope.auth_user == NULL)
        _ms_smtp_reply (session, 550, "5.7.1",
                        "<%s>: relaying denied; authenticate on the submission port", path);
      else
        _ms_smtp_reply (session, 550, "5.1.2", "<%s>: no route to that domain", path);
      return;
    }

  g_ptr_array_add (session->envelope.rcpt_to, g_steal_pointer (&path));
  _ms_smtp_set_state (session, MS_SMTP_STATE_RCPT);
  _ms_smtp_reply (session, 250, "2.1.5", "Recipient <%s> OK",
                  (char *) g_ptr_array_index (session->envelope.rcpt_to,
                                              session->envelope.rcpt_to->len - 1));
}

/* RFC 5321 §4.1.1.4 */
static void
smtp_cmd_data (MsSmtpSession *session,
               const char *args)
{
  if (*args != '\0')
    {
      _ms_smtp_bad_command (session, 501, "5.5.4", "Syntax: DATA takes no arguments");
      return;
    }
  if (session->envelope.rcpt_to->len == 0)
    {
      /* §3.3: no valid recipients. */
      _ms_smtp_reply (session, 554, "5.5.1", "No valid recipients");
      return;
    }
  session->message = g_string_sized_new (4096);
  _ms_smtp_set_state (session, MS_SMTP_STATE_DATA);
  _ms_smtp_reply (session, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

static const char * const day_names[] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };
static const char * const month_names[] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* RFC 5322 §3.3 date-time, independent of the locale. */
static char *
format_rfc5322_date (GDateTime *dt)
{
  g_autofree char *zone = g_date_time_format (dt, "%z");

  return g_strdup_printf ("%s, %d %s %d %02d:%02d:%02d %s",
                          day_names[g_date_time_get_day_of_week (dt) - 1],
                          g_date_time_get_day_of_month (dt),
                          month_names[g_date_time_get_month (dt) - 1],
                          g_date_time_get_year (dt), g_date_time_get_hour (dt),
                          g_date_time_get_minute (dt), g_date_time_get_second (dt), zone);
}

/* RFC 5321 §4.4: the trace header, with the "with" protocol names of
 * RFC 3848 (ESMTP, ESMTPS with TLS, ESMTPA with AUTH, ESMTPSA with both). */
static char *
build_received (MsSmtpSession *session,
                const char *id)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = format_rfc5322_date (now);
  g_autofree char *peer_host = g_strdup (session->peer);
  char *colon = strrchr (peer_host, ':');
  const char *with;
  GString *header = g_string_new (NULL);

  if (colon != NULL)
    *colon = '\0';
  if (!session->extended)
    with = "SMTP";
  else if (session->tls_active && session->envelope.auth_user != NULL)
    with = "ESMTPSA";
  else if (session->tls_active)
    with = "ESMTPS";
  else if (session->envelope.auth_user != NULL)
    with = "ESMTPA";
  else
    with = "ESMTP";

  g_string_append_printf (header, "Received: from %s (%s)\r\n\tby %s (Mailscope) with %s id %s",
                          session->envelope.helo, peer_host, session->hostname, with, id);
  if (session->envelope.rcpt_to->len == 1)
    g_string_append_printf (header, "\r\n\tfor <%s>",
                            (char *) g_ptr_array_index (session->envelope.rcpt_to, 0));
  g_string_append_printf (header, "; %s\r\n", date);
  return g_string_free (header, FALSE);
}

void
_ms_smtp_data_finish (MsSmtpSession *session)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = NULL;
  g_autofree char *received = NULL;

  _ms_smtp_set_state (session, MS_SMTP_STATE_READY);

  if (session->message_bare_lf)
    _ms_smtp_reply (session, 550, "5.6.0",
                    "Message refused: bare LF line ending; lines must end with CRLF "
                    "(RFC 5321 section 2.3.8; with nc, use nc -C)");
  else if (session->message_too_big)
    _ms_smtp_reply (session, 552, "5.3.4",
                    "Message size exceeds fixed maximum message size (%" G_GSIZE_FORMAT " bytes)",
                    session->max_message_size);
  else if (session->message_line_too_long)
    _ms_smtp_reply (session, 554, "5.6.0", "Message refused: a line is longer than %d bytes",
                    MS_SMTP_MAX_DATA_LINE);
  else
    {
      id = g_strdup_printf ("%s.%u", session->trace.session_id, ++session->message_id_counter);
      received = build_received (session, id);
      g_string_prepend (session->message, received);
      session->envelope.tls = session->tls_active;
      if (session->backend->accept_message (session->backend_data, &session->envelope,
                                            session->message->str, session->message->len,
                                            &error))
        _ms_smtp_reply (session, 250, "2.0.0", "Message accepted for delivery, id %s", id);
      else
        {
          g_warning ("%s: message not accepted: %s", session->trace.session_id,
                     error != NULL ? error->message : "no reason given");
          _ms_smtp_reply (session, 451, "4.3.0", "Local error in processing; try again later");
        }
    }
  _ms_smtp_reset_transaction (session);
}

/* RFC 5321 §4.1.1.5 */
static void
smtp_cmd_rset (MsSmtpSession *session,
               const char *args)
{
  _ms_smtp_reset_transaction (session);
  if (session->state != MS_SMTP_STATE_CONNECTED)
    _ms_smtp_set_state (session, MS_SMTP_STATE_READY);
  _ms_smtp_reply (session, 250, "2.0.0", "Reset OK");
}

/* RFC 5321 §4.1.1.6: we do not disclose who exists, and 252 says so. */
static void
smtp_cmd_vrfy (MsSmtpSession *session,
               const char *args)
{
  if (*args == '\0')
    {
      _ms_smtp_bad_command (session, 501, "5.5.4", "Syntax: VRFY <user or address>");
      return;
    }
  _ms_smtp_reply (session, 252, "2.5.0", "Cannot VRFY user, but will accept message and attempt delivery");
}

/* RFC 5321 §4.1.1.7 */
static void
smtp_cmd_expn (MsSmtpSession *session,
               const char *args)
{
  _ms_smtp_reply (session, 502, "5.5.1", "EXPN not available: there are no mailing lists here");
}

/* RFC 5321 §4.1.1.8 */
static void
smtp_cmd_help (MsSmtpSession *session,
               const char *args)
{
  static const char * const lines[] = {
    "2.0.0 Mailscope SMTP (RFC 5321). Commands:",
    "2.0.0   EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH",
    "2.0.0 A mail transaction: EHLO, MAIL FROM:<you>, RCPT TO:<them>, DATA,",
    "2.0.0   then the message, ended by a line holding a single \".\"",
    "2.0.0 End of HELP",
    NULL
  };

  _ms_smtp_reply_lines (session, 214, lines);
}

/* RFC 5321 §4.1.1.9 */
static void
smtp_cmd_noop (MsSmtpSession *session,
               const char *args)
{
  _ms_smtp_reply (session, 250, "2.0.0", "OK");
}

/* RFC 5321 §4.1.1.10 */
static void
smtp_cmd_quit (MsSmtpSession *session,
               const char *args)
{
  _ms_smtp_reply (session, 221, "2.0.0", "%s closing connection", session->hostname);
  _ms_smtp_close (session);
}

/* RFC 3207 §4 */
static void
smtp_cmd_starttls (MsSmtpSession *session,
                   const char *args)
{
  if (*args != '\0')
    {
      _ms_smtp_bad_command (session, 501, "5.5.4", "Syntax: STARTTLS takes no arguments");
      return;
    }
  if (session->tls_active)
    {
      _ms_smtp_bad_command (session, 503, "5.5.1", "TLS already active");
      return;
    }
  if (!session->tls_available)
    {
      _ms_smtp_bad_command (session, 502, "5.5.1", "STARTTLS not available");
      return;
    }
  _ms_smtp_reply (session, 220, "2.0.0", "Ready to start TLS");
  _ms_smtp_set_state (session, MS_SMTP_STATE_TLS);
  session->output->start_tls (session->output_data);
}

/* Strict base64 (RFC 4648 §4): g_base64_decode() skips invalid characters,
 * and a client's typo should be an error, not a different secret. */
static GBytes *
decode_base64_strict (const char *text)
{
  gsize len = strlen (text);
  gsize out_len;
  guchar *out;

  if (len % 4 != 0 ||
      strspn (text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != len)
    return NULL;
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '=' && i < len - 2)
        return NULL;
    }
  out = g_base64_decode (text, &out_len);
  return g_bytes_new_take (out, out_len);
}

static void
auth_finish (MsSmtpSession *session,
             const char *mechanism,
             const char *user,
             const char *password)
{
  gboolean ok;

  session->auth_step = MS_SMTP_AUTH_NONE;
  _ms_smtp_set_state (session, MS_SMTP_STATE_READY);

  ok = session->backend->authenticate (session->backend_data, user, password);
  _ms_smtp_trace_auth (session, mechanism, user, ok);
  if (!ok)
    {
      /* RFC 4954 §6: 535 5.7.8; repeated failures count as bad commands. */
      _ms_smtp_bad_command (session, 535, "5.7.8", "Authentication credentials invalid");
      return;
    }
  session->envelope.auth_user = g_strdup (user);
  _ms_smtp_reply (session, 235, "2.7.0", "Authentication successful");
}

/* RFC 4616 §2: message = [authzid] NUL authcid NUL passwd */
static void
auth_plain_response (MsSmtpSession *session,
                     const char *response)
{
  g_autoptr(GBytes) decoded = decode_base64_strict (response);
  const char *data;
  gsize len;
  const char *nul1;
  const char *nul2;
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;

  if (decoded == NULL)
    {
      session->auth_step = MS_SMTP_AUTH_NONE;
      _ms_smtp_set_state (session, MS_SMTP_STATE_READY);
      _ms_smtp_bad_command (session, 501, "5.5.2", "Cannot decode AUTH response (bad base64)");
      return;
    }
  data = g_bytes_get_data (decoded, &len);
  nul1 = memchr (data, '\0', len);
  nul2 = nul1 != NULL ? memchr (nul1 + 1, '\0', len - (nul1 + 1 - data)) : NULL;
  if (nul2 == NULL || memchr (nul2 + 1, '\0', len - (nul2 + 1 - data)) != NULL)
    {
      session->auth_step = MS_SMTP_AUTH_NONE;
      _ms_smtp_set_state (session, MS_SMTP_STATE_READY);
      _ms_smtp_bad_command (session, 501, "5.5.2",
                            "Malformed PLAIN response: expected authzid NUL user NUL password");
      return;
    }
  user = g_strndup (nul1 + 1, nul2 - nul1 - 1);
  password = g_strndup (nul2 + 1, len - (nul2 + 1 - data));
  auth_finish (session, "PLAIN", user, password);
  OPENSSL_cleanse (password, strlen (password));
  OPENSSL_cleanse ((void *) data, len);
}

static char *
decode_login_field (const char *response)
{
  g_autoptr(GBytes) decoded = decode_base64_strict (response);
  gsize len;
  const char *data;

  if (decoded == NULL)
    return NULL;
  data = g_bytes_get_data (decoded, &len);
  if (memchr (data, '\0', len) != NULL)
    return NULL;
  return g_strndup (data, len);
}

void
_ms_smtp_auth_continue (MsSmtpSession *session,
                        const char *line)
{
  g_autofree char *field = NULL;

  /* RFC 4954 §4: "*" cancels the exchange. */
  if (strcmp (line, "*") == 0)
    {
      session->auth_step = MS_SMTP_AUTH_NONE;
      g_clear_pointer (&session->auth_login_user, g_free);
      _ms_smtp_set_state (session, MS_SMTP_STATE_READY);
      _ms_smtp_reply (session, 501, "5.0.0", "Authentication cancelled");
      return;
    }

  switch (session->auth_step)
    {
    case MS_SMTP_AUTH_PLAIN:
      auth_plain_response (session, line);
      return;
    case MS_SMTP_AUTH_LOGIN_USER:
      field = decode_login_field (line);
      if (field == NULL)
        break;
      session->auth_login_user = g_steal_pointer (&field);
      session->auth_step = MS_SMTP_AUTH_LOGIN_PASSWORD;
      _ms_smtp_reply (session, 334, NULL, "UGFzc3dvcmQ6"); /* "Password:" */
      return;
    case MS_SMTP_AUTH_LOGIN_PASSWORD:
      {
        g_autofree char *user = g_steal_pointer (&session->auth_login_user);

        field = decode_login_field (line);
        if (field == NULL)
          break;
        auth_finish (session, "LOGIN", user, field);
        OPENSSL_cleanse (field, strlen (field));
        return;
      }
    case MS_SMTP_AUTH_NONE:
    default:
      g_assert_not_reached ();
    }

  session->auth_step = MS_SMTP_AUTH_NONE;
  g_clear_pointer (&session->auth_login_user, g_free);
  _ms_smtp_set_state (session, MS_SMTP_STATE_READY);
  _ms_smtp_bad_command (session, 501, "5.5.2", "Cannot decode AUTH response (bad base64)");
}

/* RFC 4954 §4 (AUTH), with PLAIN (RFC 4616) and LOGIN (the widely used
 * draft-murchison-sasl-login). */
static void
smtp_cmd_auth (MsSmtpSession *session,
               const char *args)
{
  g_auto(GStrv) words = NULL;
  const char *initial;

  if (!is_submission (session))
    {
      _ms_smtp_bad_command (session, 502, "5.5.1",
                            "AUTH not available on this port; use the submission port");
      return;
    }
  if (!session->extended)
    {
      _ms_smtp_bad_command (session, 503, "5.5.1", "Send EHLO before AUTH");
      return;
    }
  if (session->envelope.auth_user != NULL)
    {
      _ms_smtp_bad_command (session, 503, "5.5.1", "Already authenticated");
      return;
    }

  words = g_strsplit (args, " ", 0);
  if (words[0] == NULL || *words[0] == '\0' || (words[1] != NULL && words[2] != NULL))
    {
      _ms_smtp_bad_command (session, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
      return;
    }
  initial = words[1];

  if (g_ascii_strcasecmp (words[0], "PLAIN") == 0)
    {
      _ms_smtp_set_state (session, MS_SMTP_STATE_AUTH);
      session->auth_step = MS_SMTP_AUTH_PLAIN;
      if (initial == NULL)
        _ms_smtp_reply (session, 334, NULL, " ");
      else
        /* "=" is an empty initial response (RFC 4954 §4). */
        auth_plain_response (session, strcmp (initial, "=") == 0 ? "" : initial);
    }
  else if (g_ascii_strcasecmp (words[0], "LOGIN") == 0)
    {
      _ms_smtp_set_state (session, MS_SMTP_STATE_AUTH);
      if (initial == NULL)
        {
          session->auth_step = MS_SMTP_AUTH_LOGIN_USER;
          _ms_smtp_reply (session, 334, NULL, "VXNlcm5hbWU6"); /* "Username:" */
        }
      else
        {
          session->auth_step = MS_SMTP_AUTH_LOGIN_USER;
          _ms_smtp_auth_continue (session, initial);
        }
    }
  else
    _ms_smtp_bad_command (session, 504, "5.5.4", "Unrecognized authentication mechanism");
}

static const MsSmtpCommand commands[] = {
  { "HELO", smtp_cmd_helo, ANY_COMMAND_STATE, NULL },
  { "EHLO", smtp_cmd_ehlo, ANY_COMMAND_STATE, NULL },
  { "MAIL", smtp_cmd_mail, MS_SMTP_STATE_BIT (MS_SMTP_STATE_READY),
    "Nested MAIL command: finish the transaction or send RSET first" },
  { "RCPT", smtp_cmd_rcpt,
    MS_SMTP_STATE_BIT (MS_SMTP_STATE_MAIL) | MS_SMTP_STATE_BIT (MS_SMTP_STATE_RCPT),
    "Need MAIL before RCPT" },
  { "DATA", smtp_cmd_data,
    MS_SMTP_STATE_BIT (MS_SMTP_STATE_MAIL) | MS_SMTP_STATE_BIT (MS_SMTP_STATE_RCPT),
    "Need MAIL and RCPT before DATA" },
  { "RSET", smtp_cmd_rset, ANY_COMMAND_STATE, NULL },
  { "NOOP", smtp_cmd_noop, ANY_COMMAND_STATE, NULL },
  { "QUIT", smtp_cmd_quit, ANY_COMMAND_STATE, NULL },
  { "VRFY", smtp_cmd_vrfy, ANY_COMMAND_STATE, NULL },
  { "EXPN", smtp_cmd_expn, ANY_COMMAND_STATE, NULL },
  { "HELP", smtp_cmd_help, ANY_COMMAND_STATE, NULL },
  { "STARTTLS", smtp_cmd_starttls, MS_SMTP_STATE_BIT (MS_SMTP_STATE_READY),
    "STARTTLS is not allowed during a mail transaction" },
  { "AUTH", smtp_cmd_auth, MS_SMTP_STATE_BIT (MS_SMTP_STATE_READY),
    "AUTH is not allowed during a mail transaction" },
};

const MsSmtpCommand *
_ms_smtp_lookup_command (const char *verb)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (commands[i].verb, verb) == 0)
        return &commands[i];
    }
  return NULL;
}
