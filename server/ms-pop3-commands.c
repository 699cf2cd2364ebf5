/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-pop3"

#include "config.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <string.h>

#include "ms-pop3-session-private.h"

#define AUTHORIZATION MS_POP3_STATE_BIT (MS_POP3_STATE_AUTHORIZATION)
#define TRANSACTION   MS_POP3_STATE_BIT (MS_POP3_STATE_TRANSACTION)

/* RFC 1939 §3: at most 40 characters per argument; message numbers here
 * get at most 10 digits, enough for any 32-bit count. */
#define MAX_NUMBER_DIGITS 10
#define MAX_ARGS 3

/* Splits `args` at spaces into at most `max` words. Returns the number of
 * words, or -1 when there are more. The words point into `buffer`. */
static int
split_args (const char *args,
            char *buffer,
            gsize buffer_size,
            char **words,
            int max)
{
  int n = 0;
  char *p;

  g_strlcpy (buffer, args, buffer_size);
  p = buffer;
  for (;;)
    {
      while (*p == ' ')
        p++;
      if (*p == '\0')
        return n;
      if (n == max)
        return -1;
      words[n++] = p;
      while (*p != ' ' && *p != '\0')
        p++;
      if (*p == ' ')
        *p++ = '\0';
    }
}

/* A decimal number of 1 to 10 digits: no sign, no space, no hex. */
static gboolean
parse_number (const char *text,
              guint64 *value_r)
{
  gsize len = strlen (text);

  if (len == 0 || len > MAX_NUMBER_DIGITS || strspn (text, "0123456789") != len)
    return FALSE;
  return g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT64, value_r, NULL);
}

typedef enum {
  MSG_OK,
  MSG_SYNTAX,
  MSG_NO_SUCH,
  MSG_DELETED,
} MsgLookup;

/* RFC 1939 §5: a message number is 1 to the number of messages at login;
 * a message marked deleted may not be referred to. Replies to every case
 * but MSG_OK. */
static MsgLookup
lookup_message (MsPop3Session *session,
                const char *verb,
                const char *text,
                guint *index_r)
{
  guint64 number;

  if (!parse_number (text, &number))
    {
      _ms_pop3_bad_command (session, "syntax: %s takes a message number (1 to %u), not \"%s\"",
                            verb, session->messages->len, text);
      return MSG_SYNTAX;
    }
  if (number == 0 || number > session->messages->len)
    {
      _ms_pop3_reply (session, "-ERR", "no such message, only %u messages in maildrop",
                      session->messages->len);
      return MSG_NO_SUCH;
    }
  if (session->deleted[number - 1])
    {
      _ms_pop3_reply (session, "-ERR", "message %u already deleted", (guint) number);
      return MSG_DELETED;
    }
  *index_r = number - 1;
  return MSG_OK;
}

static MsPop3Message *
message_at (MsPop3Session *session,
            guint index)
{
  return session->messages->pdata[index];
}

/* The messages not marked deleted, and their size. */
static void
count_visible (MsPop3Session *session,
               guint *count_r,
               guint64 *size_r)
{
  *count_r = 0;
  *size_r = 0;
  for (guint i = 0; i < session->messages->len; i++)
    {
      if (session->deleted[i])
        continue;
      (*count_r)++;
      *size_r += message_at (session, i)->size;
    }
}

static const char *
plural (guint count)
{
  return count == 1 ? "" : "s";
}

static gboolean
no_args (MsPop3Session *session,
         const char *verb,
         const char *args)
{
  if (args[strspn (args, " ")] == '\0')
    return TRUE;
  _ms_pop3_bad_command (session, "syntax: %s takes no arguments", verb);
  return FALSE;
}

/* --- logging in --- */

static void
login_failed (MsPop3Session *session,
              const char *mechanism,
              const char *user)
{
  guint delay;

  _ms_pop3_trace_auth (session, mechanism, user, FALSE);
  session->failed_logins++;

  /* Slow down password guessing: the reply waits, longer after each
   * failure, and the connection reads nothing meanwhile. */
  delay = session->failed_login_delay_ms;
  for (guint i = 1; i < session->failed_logins && delay < MS_POP3_MAX_FAILED_LOGIN_DELAY_MS; i++)
    delay *= 2;
  if (session->output->hold != NULL)
    session->output->hold (session->output_data, MIN (delay, MS_POP3_MAX_FAILED_LOGIN_DELAY_MS));

  /* RFC 3206 §5: [AUTH] says the credentials were wrong, not the server. */
  if (session->failed_logins >= session->max_failed_logins)
    {
      _ms_pop3_reply_code (session, "AUTH",
                           "invalid user name or password; too many failures, "
                           "closing connection");
      _ms_pop3_close (session);
      return;
    }
  _ms_pop3_reply_code (session, "AUTH", "invalid user name or password");
}

/* RFC 1939 §4 and §8: a good password locks the maildrop and enters
 * TRANSACTION; a maildrop that cannot be locked keeps the session in
 * AUTHORIZATION. Takes `user` (canonical). */
static void
login_succeeded (MsPop3Session *session,
                 const char *mechanism,
                 char *user)
{
  g_autofree char *owned_user = user;
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;
  guint count;
  guint64 size;

  _ms_pop3_trace_auth (session, mechanism, user, TRUE);
  messages = session->backend->open_maildrop (session->backend_data, user, &error);
  if (messages == NULL)
    {
      if (g_error_matches (error, MS_POP3_ERROR, MS_POP3_ERROR_IN_USE))
        /* RFC 2449 §8.1.2 */
        _ms_pop3_reply_code (session, "IN-USE",
                             "maildrop already locked: another POP3 session of %s is open",
                             user);
      else if (g_error_matches (error, MS_POP3_ERROR, MS_POP3_ERROR_LOGIN_DELAY))
        /* RFC 2449 §8.1.1 */
        _ms_pop3_reply_code (session, "LOGIN-DELAY", "%s", error->message);
      else
        {
          g_warning ("%s: cannot open the maildrop of %s: %s", session->trace.session_id, user,
                     error != NULL ? error->message : "unknown error");
          /* RFC 3206 §4 */
          _ms_pop3_reply_code (session, "SYS/TEMP", "cannot open the maildrop; try again later");
        }
      return;
    }

  session->user = g_steal_pointer (&owned_user);
  session->messages = messages;
  session->deleted = g_new0 (gboolean, MAX (messages->len, 1));
  session->failed_logins = 0;
  count_visible (session, &count, &size);
  _ms_pop3_set_state (session, MS_POP3_STATE_TRANSACTION);
  _ms_pop3_reply (session, "+OK", "%s has %u message%s (%" G_GUINT64_FORMAT " octets)",
                  session->user, count, plural (count), size);
}

static void
check_password (MsPop3Session *session,
                const char *mechanism,
                const char *user,
                const char *password)
{
  char *canonical = NULL;

  if (session->backend->authenticate (session->backend_data, user, password, &canonical))
    login_succeeded (session, mechanism, canonical);
  else
    login_failed (session, mechanism, user);
}

/* RFC 1939 §7 (USER). Any name is accepted here, so that the reply does not
 * tell who has a mailbox; PASS decides. */
static void
pop3_cmd_user (MsPop3Session *session,
               const char *args)
{
  char buffer[MS_POP3_MAX_COMMAND_LINE + 1];
  char *words[MAX_ARGS];

  if (split_args (args, buffer, sizeof buffer, words, 1) != 1)
    {
      _ms_pop3_bad_command (session, "syntax: USER name");
      return;
    }
  g_free (session->user_given);
  session->user_given = g_strdup (words[0]);
  _ms_pop3_reply (session, "+OK", "send PASS");
}

/* RFC 1939 §7 (PASS). The argument is the rest of the line: §7 lets a
 * password hold spaces. */
static void
pop3_cmd_pass (MsPop3Session *session,
               const char *args)
{
  g_autofree char *user = g_steal_pointer (&session->user_given);
  g_autofree char *password = NULL;

  if (user == NULL)
    {
      _ms_pop3_bad_command (session, "send USER first");
      return;
    }
  if (*args == '\0')
    {
      _ms_pop3_bad_command (session, "syntax: PASS password");
      return;
    }
  password = g_strdup (args);
  check_password (session, "USER", user, password);
  OPENSSL_cleanse (password, strlen (password));
}

/* RFC 1939 §7 (APOP): the digest is MD5 over the greeting's timestamp and
 * the shared secret, as 32 lower-case hex digits. */
static void
pop3_cmd_apop (MsPop3Session *session,
               const char *args)
{
  char buffer[MS_POP3_MAX_COMMAND_LINE + 1];
  char *words[MAX_ARGS];
  g_autofree char *secret = NULL;
  g_autofree char *canonical = NULL;
  g_autofree char *input = NULL;
  guint8 digest[EVP_MAX_MD_SIZE];
  unsigned int digest_len = 0;
  char expected[2 * 16 + 1];
  char given[2 * 16 + 1];
  gboolean ok = FALSE;

  if (session->apop_timestamp == NULL)
    {
      _ms_pop3_bad_command (session, "APOP is not available: no user has an APOP secret");
      return;
    }
  if (split_args (args, buffer, sizeof buffer, words, 2) != 2 || strlen (words[1]) != 32 ||
      strspn (words[1], "0123456789abcdefABCDEF") != 32)
    {
      _ms_pop3_bad_command (session, "syntax: APOP name digest (32 hex digits)");
      return;
    }
  for (guint i = 0; i < 32; i++)
    given[i] = g_ascii_tolower (words[1][i]);
  given[32] = '\0';

  secret = session->backend->apop_secret (session->backend_data, words[0], &canonical);
  if (secret != NULL)
    {
      input = g_strconcat (session->apop_timestamp, secret, NULL);
      if (EVP_Digest (input, strlen (input), digest, &digest_len, EVP_md5 (), NULL) == 1 &&
          digest_len == 16)
        {
          for (guint i = 0; i < 16; i++)
            g_snprintf (expected + 2 * i, 3, "%02x", digest[i]);
          ok = CRYPTO_memcmp (expected, given, 32) == 0;
        }
      OPENSSL_cleanse (secret, strlen (secret));
      OPENSSL_cleanse (input, strlen (input));
      OPENSSL_cleanse (expected, sizeof expected);
    }

  if (ok)
    login_succeeded (session, "APOP", g_steal_pointer (&canonical));
  else
    login_failed (session, "APOP", words[0]);
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

/* RFC 4616 §2: message = [authzid] NUL authcid NUL passwd. We log in as
 * authcid; an authzid naming somebody else is refused (no proxy logins). */
static void
auth_plain_response (MsPop3Session *session,
                     const char *response)
{
  g_autoptr(GBytes) decoded = decode_base64_strict (response);
  const char *data;
  gsize len;
  const char *nul1;
  const char *nul2;
  g_autofree char *authzid = NULL;
  g_autofree char *user = NULL;
  g_autofree char *password = NULL;

  session->auth_step = MS_POP3_AUTH_NONE;
  if (decoded == NULL)
    {
      _ms_pop3_bad_command (session, "cannot decode AUTH response (bad base64)");
      return;
    }
  data = g_bytes_get_data (decoded, &len);
  nul1 = memchr (data, '\0', len);
  nul2 = nul1 != NULL ? memchr (nul1 + 1, '\0', len - (nul1 + 1 - data)) : NULL;
  if (nul2 == NULL || memchr (nul2 + 1, '\0', len - (nul2 + 1 - data)) != NULL)
    {
      OPENSSL_cleanse ((void *) data, len);
      _ms_pop3_bad_command (session,
                            "malformed PLAIN response: expected authzid NUL user NUL password");
      return;
    }
  authzid = g_strndup (data, nul1 - data);
  user = g_strndup (nul1 + 1, nul2 - nul1 - 1);
  password = g_strndup (nul2 + 1, len - (nul2 + 1 - data));
  OPENSSL_cleanse ((void *) data, len);

  if (*authzid != '\0' && strcmp (authzid, user) != 0)
    login_failed (session, "PLAIN", user);
  else
    check_password (session, "PLAIN", user, password);
  OPENSSL_cleanse (password, strlen (password));
}

void
_ms_pop3_auth_continue (MsPop3Session *session,
                        const char *line)
{
  g_assert (session->auth_step == MS_POP3_AUTH_PLAIN);

  /* RFC 5034 §4: "*" cancels the exchange, and the server says -ERR. */
  if (strcmp (line, "*") == 0)
    {
      session->auth_step = MS_POP3_AUTH_NONE;
      _ms_pop3_reply (session, "-ERR", "authentication cancelled");
      return;
    }
  auth_plain_response (session, line);
}

/* RFC 5034 §4 (AUTH) with the PLAIN mechanism (RFC 4616). */
static void
pop3_cmd_auth (MsPop3Session *session,
               const char *args)
{
  char buffer[MS_POP3_MAX_AUTH_LINE + 1];
  char *words[MAX_ARGS];
  int n = split_args (args, buffer, sizeof buffer, words, 2);

  if (n == 0)
    {
      /* Not in RFC 5034, but what RFC 1734 servers and many clients
       * (Outlook, fetchmail) use to ask for the mechanisms. */
      static const char * const mechanisms[] = { "PLAIN", NULL };
      _ms_pop3_reply_lines (session, "SASL mechanisms follow", mechanisms);
      return;
    }
  if (n < 0)
    {
      _ms_pop3_bad_command (session, "syntax: AUTH mechanism [initial-response]");
      return;
    }
  if (g_ascii_strcasecmp (words[0], "PLAIN") != 0)
    {
      _ms_pop3_bad_command (session, "unsupported authentication mechanism; try AUTH PLAIN");
      return;
    }
  if (n == 1)
    {
      /* RFC 5034 §4: an empty challenge is "+ " with nothing after it. */
      session->auth_step = MS_POP3_AUTH_PLAIN;
      _ms_pop3_reply (session, "+", "%s", "");
      return;
    }
  /* RFC 5034 §4: "=" is an empty initial response. */
  session->auth_step = MS_POP3_AUTH_PLAIN;
  auth_plain_response (session, strcmp (words[1], "=") == 0 ? "" : words[1]);
  OPENSSL_cleanse (buffer, sizeof buffer);
}

/* RFC 2595 §4 (STLS) */
static void
pop3_cmd_stls (MsPop3Session *session,
               const char *args)
{
  if (!no_args (session, "STLS", args))
    return;
  if (session->tls_active)
    {
      _ms_pop3_bad_command (session, "TLS already active");
      return;
    }
  if (!session->tls_available)
    {
      _ms_pop3_bad_command (session, "STLS not available");
      return;
    }
  _ms_pop3_reply (session, "+OK", "Begin TLS negotiation");
  _ms_pop3_set_state (session, MS_POP3_STATE_TLS);
  session->output->start_tls (session->output_data);
}

/* RFC 2449 §5 (CAPA), with the capabilities of §6, RFC 2595 §4 (STLS),
 * RFC 5034 §3 (SASL) and RFC 3206 §5 (AUTH-RESP-CODE). */
static void
pop3_cmd_capa (MsPop3Session *session,
               const char *args)
{
  g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func (g_free);

  if (!no_args (session, "CAPA", args))
    return;
  g_ptr_array_add (lines, g_strdup ("TOP"));
  g_ptr_array_add (lines, g_strdup ("UIDL"));
  if (session->state == MS_POP3_STATE_AUTHORIZATION)
    {
      g_ptr_array_add (lines, g_strdup ("USER"));
      g_ptr_array_add (lines, g_strdup ("SASL PLAIN"));
    }
  g_ptr_array_add (lines, g_strdup ("RESP-CODES"));
  g_ptr_array_add (lines, g_strdup ("AUTH-RESP-CODE"));
  g_ptr_array_add (lines, g_strdup ("PIPELINING"));
  if (session->expire_days > 0)
    g_ptr_array_add (lines, g_strdup_printf ("EXPIRE %u", session->expire_days));
  if (session->login_delay_s > 0)
    g_ptr_array_add (lines, g_strdup_printf ("LOGIN-DELAY %u", session->login_delay_s));
  if (session->state == MS_POP3_STATE_AUTHORIZATION && session->tls_available &&
      !session->tls_active)
    g_ptr_array_add (lines, g_strdup ("STLS"));
  g_ptr_array_add (lines, g_strdup ("IMPLEMENTATION Mailscope-" PACKAGE_VERSION));
  g_ptr_array_add (lines, NULL);
  _ms_pop3_reply_lines (session, "Capability list follows", (const char * const *) lines->pdata);
}

/* --- the TRANSACTION state --- */

/* RFC 1939 §5 (STAT): count and size leave out messages marked deleted. */
static void
pop3_cmd_stat (MsPop3Session *session,
               const char *args)
{
  guint count;
  guint64 size;

  if (!no_args (session, "STAT", args))
    return;
  count_visible (session, &count, &size);
  _ms_pop3_reply (session, "+OK", "%u %" G_GUINT64_FORMAT, count, size);
}

/* RFC 1939 §5 (LIST) */
static void
pop3_cmd_list (MsPop3Session *session,
               const char *args)
{
  char buffer[MS_POP3_MAX_COMMAND_LINE + 1];
  char *words[MAX_ARGS];
  int n = split_args (args, buffer, sizeof buffer, words, 1);
  g_autoptr(GPtrArray) lines = NULL;
  g_autofree char *first = NULL;
  guint count;
  guint64 size;
  guint index;

  if (n < 0)
    {
      _ms_pop3_bad_command (session, "syntax: LIST [message number]");
      return;
    }
  if (n == 1)
    {
      if (lookup_message (session, "LIST", words[0], &index) == MSG_OK)
        _ms_pop3_reply (session, "+OK", "%u %" G_GUINT64_FORMAT, index + 1,
                        message_at (session, index)->size);
      return;
    }

  lines = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < session->messages->len; i++)
    {
      if (!session->deleted[i])
        g_ptr_array_add (lines, g_strdup_printf ("%u %" G_GUINT64_FORMAT, i + 1,
                                                 message_at (session, i)->size));
    }
  g_ptr_array_add (lines, NULL);
  count_visible (session, &count, &size);
  first = g_strdup_printf ("%u message%s (%" G_GUINT64_FORMAT " octets)", count, plural (count),
                           size);
  _ms_pop3_reply_lines (session, first, (const char * const *) lines->pdata);
}

static void
retrieve (MsPop3Session *session,
          const char *verb,
          guint index,
          gint64 body_lines)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  bytes = session->backend->read_message (session->backend_data, session->user,
                                          message_at (session, index)->uid, &error);
  if (bytes == NULL)
    {
      g_warning ("%s: cannot read message %u of %s: %s", session->trace.session_id, index + 1,
                 session->user, error != NULL ? error->message : "unknown error");
      _ms_pop3_reply_code (session, "SYS/TEMP", "cannot read message %u", index + 1);
      return;
    }
  _ms_pop3_send_message (session, verb, index + 1, bytes, body_lines);
}

/* RFC 1939 §5 (RETR) */
static void
pop3_cmd_retr (MsPop3Session *session,
               const char *args)
{
  char buffer[MS_POP3_MAX_COMMAND_LINE + 1];
  char *words[MAX_ARGS];
  guint index;

  if (split_args (args, buffer, sizeof buffer, words, 1) != 1)
    {
      _ms_pop3_bad_command (session, "syntax: RETR message number");
      return;
    }
  if (lookup_message (session, "RETR", words[0], &index) == MSG_OK)
    retrieve (session, "RETR", index, -1);
}

/* RFC 1939 §7 (TOP): the header, the empty line, and n lines of the body. */
static void
pop3_cmd_top (MsPop3Session *session,
              const char *args)
{
  char buffer[MS_POP3_MAX_COMMAND_LINE + 1];
  char *words[MAX_ARGS];
  guint64 body_lines;
  guint index;

  if (split_args (args, buffer, sizeof buffer, words, 2) != 2)
    {
      _ms_pop3_bad_command (session, "syntax: TOP message number, number of lines");
      return;
    }
  if (!parse_number (words[1], &body_lines))
    {
      _ms_pop3_bad_command (session, "syntax: TOP's line count is a non-negative number, "
                            "not \"%s\"", words[1]);
      return;
    }
  if (lookup_message (session, "TOP", words[0], &index) == MSG_OK)
    retrieve (session, "TOP", index, (gint64) MIN (body_lines, (guint64) G_MAXINT64));
}

/* RFC 1939 §5 (DELE): only a mark; the message goes in the UPDATE state. */
static void
pop3_cmd_dele (MsPop3Session *session,
               const char *args)
{
  char buffer[MS_POP3_MAX_COMMAND_LINE + 1];
  char *words[MAX_ARGS];
  guint index;

  if (split_args (args, buffer, sizeof buffer, words, 1) != 1)
    {
      _ms_pop3_bad_command (session, "syntax: DELE message number");
      return;
    }
  if (lookup_message (session, "DELE", words[0], &index) != MSG_OK)
    return;
  session->deleted[index] = TRUE;
  session->backend->mark (session->backend_data, session->user,
                          message_at (session, index)->uid, TRUE);
  _ms_pop3_reply (session, "+OK", "message %u deleted", index + 1);
}

/* RFC 1939 §5 (NOOP) */
static void
pop3_cmd_noop (MsPop3Session *session,
               const char *args)
{
  if (no_args (session, "NOOP", args))
    _ms_pop3_reply (session, "+OK", "%s", "");
}

/* RFC 1939 §5 (RSET): every mark is undone. */
static void
pop3_cmd_rset (MsPop3Session *session,
               const char *args)
{
  guint count;
  guint64 size;

  if (!no_args (session, "RSET", args))
    return;
  for (guint i = 0; i < session->messages->len; i++)
    {
      if (!session->deleted[i])
        continue;
      session->deleted[i] = FALSE;
      session->backend->mark (session->backend_data, session->user,
                              message_at (session, i)->uid, FALSE);
    }
  count_visible (session, &count, &size);
  _ms_pop3_reply (session, "+OK", "maildrop has %u message%s (%" G_GUINT64_FORMAT " octets)",
                  count, plural (count), size);
}

/* RFC 1939 §7 (UIDL) */
static void
pop3_cmd_uidl (MsPop3Session *session,
               const char *args)
{
  char buffer[MS_POP3_MAX_COMMAND_LINE + 1];
  char *words[MAX_ARGS];
  int n = split_args (args, buffer, sizeof buffer, words, 1);
  g_autoptr(GPtrArray) lines = NULL;
  guint index;

  if (n < 0)
    {
      _ms_pop3_bad_command (session, "syntax: UIDL [message number]");
      return;
    }
  if (n == 1)
    {
      if (lookup_message (session, "UIDL", words[0], &index) == MSG_OK)
        _ms_pop3_reply (session, "+OK", "%u %s", index + 1, message_at (session, index)->uidl);
      return;
    }
  lines = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < session->messages->len; i++)
    {
      if (!session->deleted[i])
        g_ptr_array_add (lines, g_strdup_printf ("%u %s", i + 1, message_at (session, i)->uidl));
    }
  g_ptr_array_add (lines, NULL);
  _ms_pop3_reply_lines (session, "unique-id listing follows",
                        (const char * const *) lines->pdata);
}

/* RFC 1939 §4 and §6 (QUIT). In TRANSACTION, the UPDATE state removes the
 * marked messages, then the lock is released. */
static void
pop3_cmd_quit (MsPop3Session *session,
               const char *args)
{
  g_autoptr(GArray) uids = NULL;
  g_autoptr(GError) error = NULL;
  guint count;
  guint64 size;

  if (!no_args (session, "QUIT", args))
    return;
  if (session->state == MS_POP3_STATE_AUTHORIZATION)
    {
      _ms_pop3_reply (session, "+OK", "%s POP3 server signing off", session->hostname);
      _ms_pop3_close (session);
      return;
    }

  _ms_pop3_set_state (session, MS_POP3_STATE_UPDATE);
  uids = g_array_new (FALSE, FALSE, sizeof (guint32));
  for (guint i = 0; i < session->messages->len; i++)
    {
      if (session->deleted[i])
        g_array_append_val (uids, message_at (session, i)->uid);
    }
  count_visible (session, &count, &size);
  if (uids->len > 0 &&
      !session->backend->commit (session->backend_data, session->user,
                                 (const guint32 *) (gpointer) uids->data, uids->len, &error))
    {
      g_warning ("%s: UPDATE failed for %s: %s", session->trace.session_id, session->user,
                 error != NULL ? error->message : "unknown error");
      _ms_pop3_release_maildrop (session, FALSE);
      /* RFC 1939 §6 */
      _ms_pop3_reply_code (session, "SYS/TEMP", "some deleted messages not removed");
    }
  else
    {
      _ms_pop3_release_maildrop (session, FALSE);
      if (count == 0)
        _ms_pop3_reply (session, "+OK", "%s POP3 server signing off (maildrop empty)",
                        session->hostname);
      else
        _ms_pop3_reply (session, "+OK", "%s POP3 server signing off (%u message%s left)",
                        session->hostname, count, plural (count));
    }
  _ms_pop3_close (session);
}

static const MsPop3Command commands[] = {
  { "USER", pop3_cmd_user, AUTHORIZATION },
  { "PASS", pop3_cmd_pass, AUTHORIZATION },
  { "APOP", pop3_cmd_apop, AUTHORIZATION },
  { "AUTH", pop3_cmd_auth, AUTHORIZATION },
  { "STLS", pop3_cmd_stls, AUTHORIZATION },
  { "CAPA", pop3_cmd_capa, AUTHORIZATION | TRANSACTION },
  { "QUIT", pop3_cmd_quit, AUTHORIZATION | TRANSACTION },
  { "STAT", pop3_cmd_stat, TRANSACTION },
  { "LIST", pop3_cmd_list, TRANSACTION },
  { "RETR", pop3_cmd_retr, TRANSACTION },
  { "DELE", pop3_cmd_dele, TRANSACTION },
  { "NOOP", pop3_cmd_noop, TRANSACTION },
  { "RSET", pop3_cmd_rset, TRANSACTION },
  { "TOP", pop3_cmd_top, TRANSACTION },
  { "UIDL", pop3_cmd_uidl, TRANSACTION },
};

const MsPop3Command *
_ms_pop3_lookup_command (const char *verb)
{
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      if (strcmp (commands[i].verb, verb) == 0)
        return &commands[i];
    }
  return NULL;
}
