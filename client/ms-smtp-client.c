/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-smtp-client"

#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "ms-smtp-client.h"

/* One complete reply, possibly gathered from several lines. */
typedef struct {
  guint code;
  char *enhanced;     /* RFC 3463 code of the first line, or NULL */
  GPtrArray *lines;   /* text of each line after "ddd-" / "ddd ", enhanced code removed */
} MsSmtpReply;

/* What the server advertised in its EHLO reply (RFC 5321 §4.1.1.1). */
typedef struct {
  gboolean esmtp;     /* EHLO succeeded (not the HELO fallback) */
  gboolean starttls;
  gboolean auth_plain;
  gboolean auth_login;
  gboolean size;
  guint64 size_max;   /* 0 = no limit announced */
} MsSmtpCapabilities;

struct _MsSmtpClient {
  MsSmtpClientState state;

  char *helo_name;
  MsSmtpTlsMode tls_mode;
  char *username;
  char *password;     /* wiped in ms_smtp_client_free() */
  char *mail_from;
  GStrv rcpt_to;
  GBytes *message;
  gsize max_line_length;
  guint max_reply_lines;

  MsSmtpClientOutput output;
  gpointer user_data;   /* borrowed */

  /* The reply being gathered. */
  guint pending_code;
  GPtrArray *pending_lines;

  MsSmtpCapabilities caps;
  gboolean tls_active;
  guint rcpt_index;
  guint64 message_size;

  MsSmtpSendResult *result;
  /* The outcome is known (an error, or the final reply after "."); what
   * follows is only QUIT, whose reply changes nothing. */
  gboolean outcome_decided;
};

static const char * const state_names[] = {
  [MS_SMTP_CLIENT_STATE_GREETING] = "greeting",
  [MS_SMTP_CLIENT_STATE_EHLO] = "ehlo",
  [MS_SMTP_CLIENT_STATE_HELO] = "helo",
  [MS_SMTP_CLIENT_STATE_STARTTLS] = "starttls",
  [MS_SMTP_CLIENT_STATE_TLS_HANDSHAKE] = "tls-handshake",
  [MS_SMTP_CLIENT_STATE_AUTH_PLAIN] = "auth-plain",
  [MS_SMTP_CLIENT_STATE_AUTH_LOGIN] = "auth-login",
  [MS_SMTP_CLIENT_STATE_AUTH_LOGIN_USER] = "auth-login-user",
  [MS_SMTP_CLIENT_STATE_AUTH_LOGIN_PASS] = "auth-login-pass",
  [MS_SMTP_CLIENT_STATE_MAIL] = "mail",
  [MS_SMTP_CLIENT_STATE_RCPT] = "rcpt",
  [MS_SMTP_CLIENT_STATE_DATA] = "data",
  [MS_SMTP_CLIENT_STATE_BODY] = "body",
  [MS_SMTP_CLIENT_STATE_QUIT] = "quit",
  [MS_SMTP_CLIENT_STATE_DONE] = "done",
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == MS_SMTP_CLIENT_N_STATES);

const char *
ms_smtp_client_state_to_string (MsSmtpClientState state)
{
  if ((guint) state >= G_N_ELEMENTS (state_names))
    return "unknown";
  return state_names[state];
}

const char *
ms_smtp_send_status_to_string (MsSmtpSendStatus status)
{
  switch (status)
    {
    case MS_SMTP_SEND_STATUS_ALL_DELIVERED: return "all-delivered";
    case MS_SMTP_SEND_STATUS_PARTIAL: return "partial";
    case MS_SMTP_SEND_STATUS_TEMP_FAILURE: return "temp-failure";
    case MS_SMTP_SEND_STATUS_PERM_FAILURE: return "perm-failure";
    case MS_SMTP_SEND_STATUS_PROTOCOL_ERROR: return "protocol-error";
    case MS_SMTP_SEND_STATUS_TLS_FAILURE: return "tls-failure";
    case MS_SMTP_SEND_STATUS_AUTH_FAILURE: return "auth-failure";
    default: return "unknown";
    }
}

static void
recipient_result_free (gpointer data)
{
  MsSmtpRecipientResult *rcpt = data;

  g_free (rcpt->address);
  g_free (rcpt->enhanced);
  g_free (rcpt->text);
  g_free (rcpt);
}

void
ms_smtp_send_result_free (MsSmtpSendResult *result)
{
  if (result == NULL)
    return;
  g_free (result->text);
  g_clear_pointer (&result->recipients, g_ptr_array_unref);
  g_free (result->data_enhanced);
  g_free (result->data_text);
  g_free (result);
}

guint
ms_smtp_send_result_count_accepted (const MsSmtpSendResult *result)
{
  guint n = 0;

  g_return_val_if_fail (result != NULL, 0);

  for (guint i = 0; i < result->recipients->len; i++)
    {
      const MsSmtpRecipientResult *rcpt = g_ptr_array_index (result->recipients, i);
      if (rcpt->accepted)
        n++;
    }
  return n;
}

char *
ms_smtp_client_mask_secret (const char *line,
                            const char *mask)
{
  const char *space;

  g_return_val_if_fail (line != NULL, NULL);
  g_return_val_if_fail (mask != NULL, NULL);

  space = strrchr (line, ' ');
  if (space == NULL)
    return g_strdup (mask);
  return g_strdup_printf ("%.*s %s", (int) (space - line), line, mask);
}

/* --- replies --------------------------------------------------------- */

static void
reply_clear (MsSmtpReply *reply)
{
  g_clear_pointer (&reply->enhanced, g_free);
  g_clear_pointer (&reply->lines, g_ptr_array_unref);
}

/* The length of an RFC 3463 §2 enhanced status code at the start of `text`
 * ("class.subject.detail", class 2/4/5, 1-3 digits each), followed by a
 * space or the end; 0 when there is none. The class must match the reply's
 * first digit, or it is just text. */
static gsize
enhanced_code_length (const char *text,
                      guint code)
{
  const char *p = text;

  if (*p != '0' + (char) (code / 100) || (*p != '2' && *p != '4' && *p != '5'))
    return 0;
  p++;
  for (guint part = 0; part < 2; part++)
    {
      guint digits = 0;

      if (*p != '.')
        return 0;
      p++;
      while (g_ascii_isdigit (*p) && digits < 3)
        {
          p++;
          digits++;
        }
      if (digits == 0)
        return 0;
    }
  if (*p != '\0' && *p != ' ')
    return 0;
  return (gsize) (p - text);
}

/* The reply's text as one string, lines joined with `separator`. */
static char *
reply_join (const MsSmtpReply *reply,
            const char *separator)
{
  g_autoptr(GString) text = g_string_new (NULL);

  for (guint i = 0; i < reply->lines->len; i++)
    {
      if (i > 0)
        g_string_append (text, separator);
      g_string_append (text, g_ptr_array_index (reply->lines, i));
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* "550 5.1.1 No such user" for human messages. */
static char *
reply_describe (const MsSmtpReply *reply)
{
  g_autofree char *text = reply_join (reply, " ");

  if (reply->enhanced != NULL)
    return g_strdup_printf ("%u %s %s", reply->code, reply->enhanced, text);
  return g_strdup_printf ("%u %s", reply->code, text);
}

/* --- state and output ------------------------------------------------ */

static void
ms_smtp_client_set_state (MsSmtpClient *client,
                          MsSmtpClientState new_state)
{
  MsSmtpClientState old_state = client->state;

  if (old_state == new_state)
    return;
  g_debug ("state %s -> %s", ms_smtp_client_state_to_string (old_state),
           ms_smtp_client_state_to_string (new_state));
  client->state = new_state;
  if (client->output.state_changed != NULL)
    client->output.state_changed (old_state, new_state, client->user_data);
}

static void
send_line (MsSmtpClient *client,
           const char *line,
           MsSmtpClientTraceFlags flags)
{
  g_autofree char *wire = NULL;
  gsize len = strlen (line);

  if (client->output.trace != NULL)
    client->output.trace ('C', line, len, flags, client->user_data);
  wire = g_strconcat (line, "\r\n", NULL);
  client->output.send (wire, len + 2, client->user_data);
  if (flags & MS_SMTP_CLIENT_TRACE_SECRET)
    OPENSSL_cleanse (wire, len + 2);
}

static void send_linef (MsSmtpClient *client, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
send_linef (MsSmtpClient *client,
            const char *format,
            ...)
{
  g_autofree char *line = NULL;
  va_list args;

  va_start (args, format);
  line = g_strdup_vprintf (format, args);
  va_end (args);
  send_line (client, line, MS_SMTP_CLIENT_TRACE_NONE);
}

/* Calls done. Nothing may touch `client` afterwards: done may free it. */
static void
finish (MsSmtpClient *client)
{
  MsSmtpSendResult *result = g_steal_pointer (&client->result);

  g_assert (result != NULL);
  result->tls = client->tls_active;
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_DONE);
  g_debug ("done: %s: %s", ms_smtp_send_status_to_string (result->status), result->text);
  client->output.done (result, client->user_data);
}

static void
decide (MsSmtpClient *client,
        MsSmtpSendStatus status,
        char *text)
{
  g_assert (!client->outcome_decided);
  client->outcome_decided = TRUE;
  client->result->status = status;
  g_free (client->result->text);
  client->result->text = text;
}

static void decide_and_finish (MsSmtpClient *client, MsSmtpSendStatus status,
                               const char *format, ...) G_GNUC_PRINTF (3, 4);

/* For failures after which nothing more can be said to the server: protocol
 * errors, 421 (RFC 5321 §3.8: the server is closing the channel), TLS errors. */
static void
decide_and_finish (MsSmtpClient *client,
                   MsSmtpSendStatus status,
                   const char *format,
                   ...)
{
  va_list args;

  va_start (args, format);
  if (!client->outcome_decided)
    decide (client, status, g_strdup_vprintf (format, args));
  va_end (args);
  finish (client);
}

static void perform_quit (MsSmtpClient *client);

static void fail_and_quit (MsSmtpClient *client, MsSmtpSendStatus status,
                           const char *format, ...) G_GNUC_PRINTF (3, 4);

/* For refusals: the session is still sound, so end it politely with QUIT
 * (RFC 5321 §4.1.1.10) and finish on its reply. */
static void
fail_and_quit (MsSmtpClient *client,
               MsSmtpSendStatus status,
               const char *format,
               ...)
{
  va_list args;

  va_start (args, format);
  decide (client, status, g_strdup_vprintf (format, args));
  va_end (args);
  perform_quit (client);
}

static MsSmtpSendStatus
status_for_code (guint code)
{
  return code >= 500 ? MS_SMTP_SEND_STATUS_PERM_FAILURE : MS_SMTP_SEND_STATUS_TEMP_FAILURE;
}

static void
fail_reply_and_quit (MsSmtpClient *client,
                     const char *what,
                     const MsSmtpReply *reply)
{
  g_autofree char *described = reply_describe (reply);

  fail_and_quit (client, status_for_code (reply->code), "%s refused: %s", what, described);
}

/* --- perform_<cmd>: send a command and set the state ----------------- */

static void
perform_ehlo (MsSmtpClient *client)
{
  memset (&client->caps, 0, sizeof client->caps);
  send_linef (client, "EHLO %s", client->helo_name);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_EHLO);
}

static void
perform_helo (MsSmtpClient *client)
{
  send_linef (client, "HELO %s", client->helo_name);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_HELO);
}

static void
perform_starttls (MsSmtpClient *client)
{
  send_line (client, "STARTTLS", MS_SMTP_CLIENT_TRACE_NONE);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_STARTTLS);
}

/* RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd, sent as
 * the initial response of RFC 4954 §4 so it takes one round trip. */
static void
perform_auth_plain (MsSmtpClient *client)
{
  gsize user_len = strlen (client->username);
  gsize pass_len = strlen (client->password);
  gsize len = 1 + user_len + 1 + pass_len;
  g_autofree guchar *plain = g_malloc (len);
  g_autofree char *encoded = NULL;
  g_autofree char *line = NULL;

  plain[0] = '\0';
  memcpy (plain + 1, client->username, user_len);
  plain[1 + user_len] = '\0';
  memcpy (plain + 2 + user_len, client->password, pass_len);
  encoded = g_base64_encode (plain, len);
  OPENSSL_cleanse (plain, len);

  line = g_strconcat ("AUTH PLAIN ", encoded, NULL);
  OPENSSL_cleanse (encoded, strlen (encoded));
  send_line (client, line, MS_SMTP_CLIENT_TRACE_SECRET);
  OPENSSL_cleanse (line, strlen (line));
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_AUTH_PLAIN);
}

/* The LOGIN mechanism (draft-murchison-sasl-login): the server asks for the
 * user name and the password with two 334 challenges. */
static void
perform_auth_login (MsSmtpClient *client)
{
  send_line (client, "AUTH LOGIN", MS_SMTP_CLIENT_TRACE_NONE);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_AUTH_LOGIN);
}

static void
perform_auth_login_user (MsSmtpClient *client)
{
  g_autofree char *encoded = g_base64_encode ((const guchar *) client->username,
                                              strlen (client->username));

  send_line (client, encoded, MS_SMTP_CLIENT_TRACE_NONE);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_AUTH_LOGIN_USER);
}

static void
perform_auth_login_pass (MsSmtpClient *client)
{
  g_autofree char *encoded = g_base64_encode ((const guchar *) client->password,
                                              strlen (client->password));

  send_line (client, encoded, MS_SMTP_CLIENT_TRACE_SECRET);
  OPENSSL_cleanse (encoded, strlen (encoded));
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_AUTH_LOGIN_PASS);
}

/* RFC 5321 §4.1.1.2, with SIZE=n from RFC 1870 §6 when advertised. */
static void
perform_mail (MsSmtpClient *client)
{
  if (client->caps.size)
    send_linef (client, "MAIL FROM:<%s> SIZE=%" G_GUINT64_FORMAT,
                client->mail_from, client->message_size);
  else
    send_linef (client, "MAIL FROM:<%s>", client->mail_from);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_MAIL);
}

static void
perform_rcpt (MsSmtpClient *client)
{
  send_linef (client, "RCPT TO:<%s>", client->rcpt_to[client->rcpt_index]);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_RCPT);
}

static void
perform_data (MsSmtpClient *client)
{
  send_line (client, "DATA", MS_SMTP_CLIENT_TRACE_NONE);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_DATA);
}

/* Sends the message after 354 (RFC 5321 §4.1.1.4). Every line ends in CRLF
 * (a bare LF or bare CR becomes CRLF: §2.3.8 forbids sending them), a line
 * that begins with "." gets one more "." (§4.5.2), and ".\r\n" ends it. */
static void
perform_body (MsSmtpClient *client)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (client->message, &len);
  g_autoptr(GString) wire = g_string_sized_new (client->message_size + client->message_size / 32 + 8);
  gboolean at_line_start = TRUE;

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (at_line_start && c == '.')
        g_string_append_c (wire, '.');
      if (c == '\r' || c == '\n')
        {
          g_string_append (wire, "\r\n");
          if (c == '\r' && i + 1 < len && data[i + 1] == '\n')
            i++;
          at_line_start = TRUE;
        }
      else
        {
          g_string_append_c (wire, c);
          at_line_start = FALSE;
        }
    }
  if (!at_line_start)
    g_string_append (wire, "\r\n");
  g_string_append (wire, ".\r\n");

  if (client->output.trace != NULL)
    client->output.trace ('C', wire->str, wire->len, MS_SMTP_CLIENT_TRACE_DATA, client->user_data);
  client->output.send (wire->str, wire->len, client->user_data);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_BODY);
}

static void
perform_quit (MsSmtpClient *client)
{
  send_line (client, "QUIT", MS_SMTP_CLIENT_TRACE_NONE);
  ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_QUIT);
}

/* The size that perform_body() sends, before dot-stuffing. */
static guint64
normalised_size (GBytes *message)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (message, &len);
  guint64 size = 0;
  gboolean at_line_start = TRUE;

  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\r' || data[i] == '\n')
        {
          size += 2;
          if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
            i++;
          at_line_start = TRUE;
        }
      else
        {
          size++;
          at_line_start = FALSE;
        }
    }
  if (!at_line_start)
    size += 2;
  return size;
}

/* --- what comes after what ------------------------------------------- */

/* After the greeting, EHLO/HELO, TLS or AUTH: the next step of the session. */
static void
proceed_after_hello (MsSmtpClient *client)
{
  gboolean want_tls = client->tls_mode == MS_SMTP_TLS_STARTTLS ||
                      client->tls_mode == MS_SMTP_TLS_OPPORTUNISTIC;

  if (want_tls && !client->tls_active)
    {
      if (client->caps.starttls)
        {
          perform_starttls (client);
          return;
        }
      if (client->tls_mode == MS_SMTP_TLS_STARTTLS)
        {
          fail_and_quit (client, MS_SMTP_SEND_STATUS_TLS_FAILURE,
                         "TLS is required but the server does not offer STARTTLS (RFC 3207)");
          return;
        }
    }

  if (client->username != NULL && !client->result->authenticated)
    {
      if (client->caps.auth_plain)
        perform_auth_plain (client);
      else if (client->caps.auth_login)
        perform_auth_login (client);
      else if (!client->caps.esmtp)
        fail_and_quit (client, MS_SMTP_SEND_STATUS_AUTH_FAILURE,
                       "a user name was given but the server does not speak ESMTP, so no AUTH (RFC 4954)");
      else
        fail_and_quit (client, MS_SMTP_SEND_STATUS_AUTH_FAILURE,
                       "a user name was given but the server offers neither AUTH PLAIN nor AUTH LOGIN");
      return;
    }

  /* RFC 1870 §5: do not send a message the server has said it will refuse. */
  if (client->caps.size && client->caps.size_max > 0 && client->message_size > client->caps.size_max)
    {
      fail_and_quit (client, MS_SMTP_SEND_STATUS_PERM_FAILURE,
                     "the message (%" G_GUINT64_FORMAT " octets) is larger than the server's SIZE limit "
                     "of %" G_GUINT64_FORMAT " octets (RFC 1870)",
                     client->message_size, client->caps.size_max);
      return;
    }

  perform_mail (client);
}

/* After the last RCPT TO: DATA when anyone was accepted (RFC 5321 §3.3). */
static void
proceed_after_rcpt (MsSmtpClient *client)
{
  gboolean any_temporary = FALSE;
  g_autoptr(GString) refused = NULL;

  if (ms_smtp_send_result_count_accepted (client->result) > 0)
    {
      perform_data (client);
      return;
    }

  refused = g_string_new ("every recipient was refused:");
  for (guint i = 0; i < client->result->recipients->len; i++)
    {
      const MsSmtpRecipientResult *rcpt = g_ptr_array_index (client->result->recipients, i);

      if (rcpt->code < 500)
        any_temporary = TRUE;
      g_string_append_printf (refused, " <%s> %u%s%s %s;", rcpt->address, rcpt->code,
                              rcpt->enhanced ? " " : "", rcpt->enhanced ? rcpt->enhanced : "",
                              rcpt->text);
    }
  g_string_truncate (refused, refused->len - 1);
  /* Any 4xx is worth a retry for that recipient, so the whole is temporary. */
  fail_and_quit (client,
                 any_temporary ? MS_SMTP_SEND_STATUS_TEMP_FAILURE : MS_SMTP_SEND_STATUS_PERM_FAILURE,
                 "%s", refused->str);
}

/* --- <state>_resp: handle a complete reply in each state ------------- */

/* RFC 5321 §4.2: 220 opens the session; 554 refuses it, and then the
 * client should still send QUIT (§3.1). */
static void
greeting_resp (MsSmtpClient *client,
               const MsSmtpReply *reply)
{
  if (reply->code == 220)
    perform_ehlo (client);
  else if (reply->code / 100 == 4 || reply->code / 100 == 5)
    fail_reply_and_quit (client, "the connection", reply);
  else
    {
      g_autofree char *described = reply_describe (reply);
      decide_and_finish (client, MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
                         "unexpected greeting: %s", described);
    }
}

/* RFC 5321 §4.1.1.1: the first line names the server, each further line is
 * "keyword [params]". Keywords are case-insensitive. */
static void
parse_capabilities (MsSmtpClient *client,
                    const MsSmtpReply *reply)
{
  client->caps.esmtp = TRUE;
  for (guint i = 1; i < reply->lines->len; i++)
    {
      const char *line = g_ptr_array_index (reply->lines, i);
      g_auto(GStrv) words = g_strsplit_set (line, " =", -1);

      if (words[0] == NULL)
        continue;
      if (g_ascii_strcasecmp (words[0], "STARTTLS") == 0)
        client->caps.starttls = TRUE;
      else if (g_ascii_strcasecmp (words[0], "SIZE") == 0)
        {
          client->caps.size = TRUE;
          if (words[1] != NULL && g_ascii_isdigit (words[1][0]))
            client->caps.size_max = g_ascii_strtoull (words[1], NULL, 10);
        }
      /* "AUTH=PLAIN LOGIN" is the pre-standard form some servers still send. */
      else if (g_ascii_strcasecmp (words[0], "AUTH") == 0)
        {
          for (guint w = 1; words[w] != NULL; w++)
            {
              if (g_ascii_strcasecmp (words[w], "PLAIN") == 0)
                client->caps.auth_plain = TRUE;
              else if (g_ascii_strcasecmp (words[w], "LOGIN") == 0)
                client->caps.auth_login = TRUE;
            }
        }
    }
}

static void
ehlo_resp (MsSmtpClient *client,
           const MsSmtpReply *reply)
{
  if (reply->code / 100 == 2)
    {
      parse_capabilities (client, reply);
      proceed_after_hello (client);
    }
  /* RFC 5321 §3.2: a server that does not know EHLO answers 5xx; fall back
   * to HELO, without any extensions. */
  else if (reply->code / 100 == 5)
    perform_helo (client);
  else
    fail_reply_and_quit (client, "EHLO", reply);
}

static void
helo_resp (MsSmtpClient *client,
           const MsSmtpReply *reply)
{
  if (reply->code / 100 == 2)
    proceed_after_hello (client);
  else
    fail_reply_and_quit (client, "HELO", reply);
}

/* RFC 3207 §4: 220 means "go ahead with the handshake"; 454 (or 5xx) means
 * TLS is not available now. */
static void
starttls_resp (MsSmtpClient *client,
               const MsSmtpReply *reply)
{
  if (reply->code == 220)
    {
      ms_smtp_client_set_state (client, MS_SMTP_CLIENT_STATE_TLS_HANDSHAKE);
      client->output.start_tls (client->user_data);
    }
  else if (client->tls_mode == MS_SMTP_TLS_OPPORTUNISTIC)
    {
      /* Opportunistic: carry on in plain text, as the caller allowed. */
      client->caps.starttls = FALSE;
      proceed_after_hello (client);
    }
  else
    {
      g_autofree char *described = reply_describe (reply);
      fail_and_quit (client, MS_SMTP_SEND_STATUS_TLS_FAILURE,
                     "STARTTLS refused: %s", described);
    }
}

static void
auth_failed (MsSmtpClient *client,
             const MsSmtpReply *reply)
{
  g_autofree char *described = reply_describe (reply);

  /* RFC 4954 §6: 454 is a temporary failure; 535 and other 5xx are final. */
  fail_and_quit (client,
                 reply->code / 100 == 4 ? MS_SMTP_SEND_STATUS_TEMP_FAILURE
                                        : MS_SMTP_SEND_STATUS_AUTH_FAILURE,
                 "authentication as %s failed: %s", client->username, described);
}

static void
auth_done_resp (MsSmtpClient *client,
                const MsSmtpReply *reply)
{
  if (reply->code == 235)
    {
      client->result->authenticated = TRUE;
      proceed_after_hello (client);
    }
  else if (reply->code == 334)
    {
      /* We already sent everything the mechanism has: a further challenge
       * breaks RFC 4954 §4. */
      decide_and_finish (client, MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
                         "unexpected AUTH challenge after the credentials were sent");
    }
  else
    auth_failed (client, reply);
}

static void
auth_login_resp (MsSmtpClient *client,
                 const MsSmtpReply *reply)
{
  if (reply->code != 334)
    {
      auth_failed (client, reply);
      return;
    }
  if (client->state == MS_SMTP_CLIENT_STATE_AUTH_LOGIN)
    perform_auth_login_user (client);
  else
    perform_auth_login_pass (client);
}

static void
mail_resp (MsSmtpClient *client,
           const MsSmtpReply *reply)
{
  if (reply->code / 100 == 2)
    {
      client->rcpt_index = 0;
      perform_rcpt (client);
    }
  else
    fail_reply_and_quit (client, "MAIL FROM", reply);
}

static void
rcpt_resp (MsSmtpClient *client,
           const MsSmtpReply *reply)
{
  MsSmtpRecipientResult *rcpt = g_ptr_array_index (client->result->recipients, client->rcpt_index);

  rcpt->code = reply->code;
  rcpt->enhanced = g_strdup (reply->enhanced);
  rcpt->text = reply_join (reply, "\n");
  rcpt->accepted = reply->code / 100 == 2;

  client->rcpt_index++;
  if (client->rcpt_to[client->rcpt_index] != NULL)
    perform_rcpt (client);
  else
    proceed_after_rcpt (client);
}

static void
record_data_reply (MsSmtpClient *client,
                   const MsSmtpReply *reply)
{
  client->result->data_code = reply->code;
  client->result->data_enhanced = g_strdup (reply->enhanced);
  client->result->data_text = reply_join (reply, "\n");
}

static void
data_resp (MsSmtpClient *client,
           const MsSmtpReply *reply)
{
  if (reply->code == 354)
    perform_body (client);
  else
    {
      record_data_reply (client, reply);
      fail_reply_and_quit (client, "DATA", reply);
    }
}

static void
body_resp (MsSmtpClient *client,
           const MsSmtpReply *reply)
{
  g_autofree char *described = reply_describe (reply);
  guint accepted = ms_smtp_send_result_count_accepted (client->result);
  guint total = client->result->recipients->len;

  record_data_reply (client, reply);
  if (reply->code / 100 != 2)
    {
      fail_and_quit (client, status_for_code (reply->code),
                     "the message was refused after DATA: %s", described);
      return;
    }

  if (accepted == total)
    decide (client, MS_SMTP_SEND_STATUS_ALL_DELIVERED,
            g_strdup_printf ("delivered to %u of %u recipients: %s", accepted, total, described));
  else
    decide (client, MS_SMTP_SEND_STATUS_PARTIAL,
            g_strdup_printf ("delivered to %u of %u recipients (the others were refused): %s",
                             accepted, total, described));
  perform_quit (client);
}

static void
dispatch_reply (MsSmtpClient *client,
                const MsSmtpReply *reply)
{
  /* RFC 5321 §3.8: 421 may come in answer to anything and means the server
   * is closing the connection; QUIT would go nowhere. */
  if (reply->code == 421 && client->state != MS_SMTP_CLIENT_STATE_QUIT)
    {
      g_autofree char *described = reply_describe (reply);
      decide_and_finish (client, MS_SMTP_SEND_STATUS_TEMP_FAILURE,
                         "the server is closing the connection: %s", described);
      return;
    }

  switch (client->state)
    {
    case MS_SMTP_CLIENT_STATE_GREETING:
      greeting_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_EHLO:
      ehlo_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_HELO:
      helo_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_STARTTLS:
      starttls_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_AUTH_PLAIN:
    case MS_SMTP_CLIENT_STATE_AUTH_LOGIN_PASS:
      auth_done_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_AUTH_LOGIN:
    case MS_SMTP_CLIENT_STATE_AUTH_LOGIN_USER:
      auth_login_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_MAIL:
      mail_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_RCPT:
      rcpt_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_DATA:
      data_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_BODY:
      body_resp (client, reply);
      break;
    case MS_SMTP_CLIENT_STATE_QUIT:
      /* Whatever the reply to QUIT says, the outcome is already known. */
      finish (client);
      break;
    case MS_SMTP_CLIENT_STATE_TLS_HANDSHAKE:
    case MS_SMTP_CLIENT_STATE_DONE:
    case MS_SMTP_CLIENT_N_STATES:
    default:
      g_assert_not_reached ();
    }
}

/* --- public ---------------------------------------------------------- */

MsSmtpClient *
ms_smtp_client_new (const MsSmtpClientParams *params,
                    const MsSmtpClientOutput *output,
                    gpointer user_data)
{
  MsSmtpClient *client;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (params->mail_from != NULL, NULL);
  g_return_val_if_fail (params->rcpt_to != NULL && params->rcpt_to[0] != NULL, NULL);
  g_return_val_if_fail (params->message != NULL, NULL);
  g_return_val_if_fail (params->username == NULL || params->password != NULL, NULL);
  g_return_val_if_fail (output != NULL, NULL);
  g_return_val_if_fail (output->send != NULL && output->done != NULL, NULL);
  g_return_val_if_fail (output->start_tls != NULL ||
                        (params->tls != MS_SMTP_TLS_STARTTLS &&
                         params->tls != MS_SMTP_TLS_OPPORTUNISTIC), NULL);

  client = g_new0 (MsSmtpClient, 1);
  client->state = MS_SMTP_CLIENT_STATE_GREETING;
  client->helo_name = g_strdup (params->helo_name ? params->helo_name : "localhost");
  client->tls_mode = params->tls;
  client->tls_active = params->tls == MS_SMTP_TLS_IMPLICIT;
  client->username = g_strdup (params->username);
  client->password = g_strdup (params->password);
  client->mail_from = g_strdup (params->mail_from);
  client->rcpt_to = g_strdupv ((char **) params->rcpt_to);
  client->message = g_bytes_ref (params->message);
  client->message_size = normalised_size (params->message);
  client->max_line_length = params->max_line_length ? params->max_line_length
                                                    : MS_SMTP_CLIENT_DEFAULT_MAX_LINE_LENGTH;
  client->max_reply_lines = params->max_reply_lines ? params->max_reply_lines
                                                    : MS_SMTP_CLIENT_DEFAULT_MAX_REPLY_LINES;
  client->output = *output;
  client->user_data = user_data;
  client->pending_lines = g_ptr_array_new_with_free_func (g_free);

  client->result = g_new0 (MsSmtpSendResult, 1);
  client->result->status = MS_SMTP_SEND_STATUS_TEMP_FAILURE;
  client->result->text = g_strdup ("the session did not finish");
  client->result->recipients = g_ptr_array_new_with_free_func (recipient_result_free);
  for (guint i = 0; client->rcpt_to[i] != NULL; i++)
    {
      MsSmtpRecipientResult *rcpt = g_new0 (MsSmtpRecipientResult, 1);
      rcpt->address = g_strdup (client->rcpt_to[i]);
      g_ptr_array_add (client->result->recipients, rcpt);
    }
  return client;
}

void
ms_smtp_client_free (MsSmtpClient *client)
{
  if (client == NULL)
    return;
  if (client->password != NULL)
    OPENSSL_cleanse (client->password, strlen (client->password));
  g_free (client->password);
  g_free (client->username);
  g_free (client->helo_name);
  g_free (client->mail_from);
  g_strfreev (client->rcpt_to);
  g_bytes_unref (client->message);
  g_ptr_array_unref (client->pending_lines);
  ms_smtp_send_result_free (client->result);
  g_free (client);
}

static void protocol_error (MsSmtpClient *client, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
protocol_error (MsSmtpClient *client,
                const char *format,
                ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  decide_and_finish (client, MS_SMTP_SEND_STATUS_PROTOCOL_ERROR,
                     "protocol error in state %s: %s",
                     ms_smtp_client_state_to_string (client->state), text);
}

/* RFC 5321 §4.2: reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *   Reply-code [ SP textstring ] CRLF, with Reply-code = %x32-35 %x30-35 %x30-39. */
void
ms_smtp_client_feed_line (MsSmtpClient *client,
                          const char *line,
                          gsize len)
{
  guint code;
  gboolean last;

  g_return_if_fail (client != NULL);
  g_return_if_fail (line != NULL || len == 0);

  if (client->state == MS_SMTP_CLIENT_STATE_DONE)
    return;

  if (client->output.trace != NULL)
    {
      /* A NUL-terminated copy that keeps any NUL bytes inside. */
      g_autofree char *copy = g_malloc (len + 1);

      memcpy (copy, line, len);
      copy[len] = '\0';
      client->output.trace ('S', copy, len, MS_SMTP_CLIENT_TRACE_NONE, client->user_data);
    }

  /* RFC 3207 §4.2: nothing may arrive between 220 and the handshake; plain
   * text here would be an injection attempt. */
  if (client->state == MS_SMTP_CLIENT_STATE_TLS_HANDSHAKE)
    {
      protocol_error (client, "the server sent a line before the TLS handshake");
      return;
    }
  /* Checked before anything is kept: the limits bound our memory. */
  if (len > client->max_line_length)
    {
      protocol_error (client, "reply line of %" G_GSIZE_FORMAT " octets, longer than %" G_GSIZE_FORMAT
                      " (RFC 5321 §4.5.3.1.5)", len, client->max_line_length);
      return;
    }
  if (client->pending_lines->len >= client->max_reply_lines)
    {
      protocol_error (client, "multi-line reply of more than %u lines", client->max_reply_lines);
      return;
    }
  if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
      !g_ascii_isdigit (line[2]) || (len > 3 && line[3] != ' ' && line[3] != '-'))
    {
      g_autofree char *shown = g_strndup (line, MIN (len, 40));
      protocol_error (client, "not an SMTP reply line: \"%s\"", shown);
      return;
    }
  if (memchr (line, '\0', len) != NULL)
    {
      protocol_error (client, "NUL byte in a reply line");
      return;
    }

  code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
  last = len == 3 || line[3] == ' ';
  /* RFC 5321 §4.2.1: every line of a multi-line reply has the same code. */
  if (client->pending_lines->len > 0 && code != client->pending_code)
    {
      protocol_error (client, "multi-line reply changes its code from %u to %u",
                      client->pending_code, code);
      return;
    }
  client->pending_code = code;
  g_ptr_array_add (client->pending_lines, g_strndup (len > 3 ? line + 4 : "", len > 3 ? len - 4 : 0));

  if (last)
    {
      MsSmtpReply reply = { .code = code };
      const char *first;
      gsize enhanced_len;

      reply.lines = g_steal_pointer (&client->pending_lines);
      client->pending_lines = g_ptr_array_new_with_free_func (g_free);

      /* Keep the RFC 3463 code apart from the text, on every line that
       * repeats it. */
      first = g_ptr_array_index (reply.lines, 0);
      enhanced_len = enhanced_code_length (first, code);
      if (enhanced_len > 0)
        {
          reply.enhanced = g_strndup (first, enhanced_len);
          for (guint i = 0; i < reply.lines->len; i++)
            {
              char *text = g_ptr_array_index (reply.lines, i);

              if (strncmp (text, reply.enhanced, enhanced_len) == 0 &&
                  (text[enhanced_len] == ' ' || text[enhanced_len] == '\0'))
                memmove (text, text + enhanced_len + (text[enhanced_len] == ' '),
                         strlen (text + enhanced_len + (text[enhanced_len] == ' ')) + 1);
            }
        }
      dispatch_reply (client, &reply);
      /* `client` may be freed now; only the local reply is touched. */
      reply_clear (&reply);
    }
}

void
ms_smtp_client_tls_done (MsSmtpClient *client,
                         gboolean ok,
                         const char *error)
{
  g_return_if_fail (client != NULL);
  g_return_if_fail (client->state == MS_SMTP_CLIENT_STATE_TLS_HANDSHAKE);

  if (!ok)
    {
      decide_and_finish (client, MS_SMTP_SEND_STATUS_TLS_FAILURE,
                         "the TLS handshake failed: %s", error ? error : "unknown error");
      return;
    }
  /* RFC 3207 §4.2: forget everything learnt in plain text and ask again. */
  client->tls_active = TRUE;
  perform_ehlo (client);
}

void
ms_smtp_client_connection_closed (MsSmtpClient *client,
                                  const char *reason)
{
  g_return_if_fail (client != NULL);

  if (client->state == MS_SMTP_CLIENT_STATE_DONE)
    return;
  decide_and_finish (client, MS_SMTP_SEND_STATUS_TEMP_FAILURE,
                     "the connection closed in state %s: %s",
                     ms_smtp_client_state_to_string (client->state),
                     reason ? reason : "closed");
}

void
ms_smtp_client_abort (MsSmtpClient *client,
                      MsSmtpSendStatus status,
                      const char *text)
{
  g_return_if_fail (client != NULL);
  g_return_if_fail (text != NULL);

  if (client->state == MS_SMTP_CLIENT_STATE_DONE)
    return;
  decide_and_finish (client, status, "%s", text);
}

MsSmtpClientState
ms_smtp_client_get_state (MsSmtpClient *client)
{
  g_return_val_if_fail (client != NULL, MS_SMTP_CLIENT_STATE_DONE);
  return client->state;
}

gboolean
ms_smtp_client_is_done (MsSmtpClient *client)
{
  g_return_val_if_fail (client != NULL, TRUE);
  return client->state == MS_SMTP_CLIENT_STATE_DONE;
}

guint64
ms_smtp_client_get_message_size (MsSmtpClient *client)
{
  g_return_val_if_fail (client != NULL, 0);
  return client->message_size;
}
