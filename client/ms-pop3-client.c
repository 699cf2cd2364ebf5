/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-pop3-client"

#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "ms-pop3-client.h"

/* RFC 5034 §4: the AUTH command with its initial response, CRLF included,
 * stays within the 255 octets of RFC 2449 §4; longer credentials go in a
 * second line after the server's "+" continuation. */
#define AUTH_COMMAND_MAX 255
/* RFC 1939 §7: a unique-id is 1 to 70 characters in 0x21-0x7E. */
#define UID_MAX 70
/* Longest response code we keep ("[SYS/TEMP]" is 10). */
#define RESP_CODE_MAX 64

typedef struct {
  MsPop3ClientCommand command;
  guint msg;
  guint lines;
} QueuedOp;

struct _MsPop3Client {
  MsPop3ClientState state;

  MsPop3ClientTlsMode tls_mode;
  MsPop3ClientAuth auth;
  char *username;
  char *password;        /* wiped in ms_pop3_client_free() */
  gboolean skip_capa;
  gsize max_line_length;
  gsize max_data_line_length;
  gsize max_message_size;

  MsPop3ClientOutput output;
  gpointer user_data;    /* borrowed */

  GQueue *queue;         /* of QueuedOp*, not yet sent */
  QueuedOp current;      /* the operation in flight, valid in its state */
  gboolean quit_queued;
  /* Inside `response` or `ready`: enqueue only queues, and the caller of
   * the callback moves the queue on afterwards. */
  gboolean pumping;
  /* `ready` was called since the last operation went out. */
  gboolean ready_called;

  /* A multi-line response being read (RFC 1939 §3). */
  gboolean in_body;
  char *status_text;     /* of its +OK line */
  char *resp_code;
  GString *body;         /* RETR/TOP: unstuffed, CRLF line ends */
  GArray *entries;       /* LIST/UIDL: of MsPop3ClientListEntry */
  GPtrArray *capa_lines; /* CAPA */
  gsize body_size;

  /* What CAPA said: upper-case tags, plus "SASL <MECH>" for each mechanism. */
  GHashTable *capabilities;
  gboolean capa_known;
  gboolean tls_active;

  MsPop3ClientResult *result;
  /* The outcome is known; what follows is only QUIT. */
  gboolean outcome_decided;
};

static const char * const state_names[] = {
  [MS_POP3_CLIENT_STATE_GREETING] = "greeting",
  [MS_POP3_CLIENT_STATE_CAPA] = "capa",
  [MS_POP3_CLIENT_STATE_STLS] = "stls",
  [MS_POP3_CLIENT_STATE_TLS_HANDSHAKE] = "tls-handshake",
  [MS_POP3_CLIENT_STATE_USER] = "user",
  [MS_POP3_CLIENT_STATE_PASS] = "pass",
  [MS_POP3_CLIENT_STATE_AUTH] = "auth",
  [MS_POP3_CLIENT_STATE_AUTH_RESPONSE] = "auth-response",
  [MS_POP3_CLIENT_STATE_TRANSACTION] = "transaction",
  [MS_POP3_CLIENT_STATE_STAT] = "stat",
  [MS_POP3_CLIENT_STATE_LIST] = "list",
  [MS_POP3_CLIENT_STATE_UIDL] = "uidl",
  [MS_POP3_CLIENT_STATE_TOP] = "top",
  [MS_POP3_CLIENT_STATE_RETR] = "retr",
  [MS_POP3_CLIENT_STATE_DELE] = "dele",
  [MS_POP3_CLIENT_STATE_NOOP] = "noop",
  [MS_POP3_CLIENT_STATE_RSET] = "rset",
  [MS_POP3_CLIENT_STATE_QUIT] = "quit",
  [MS_POP3_CLIENT_STATE_DONE] = "done",
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == MS_POP3_CLIENT_N_STATES);

const char *
ms_pop3_client_state_to_string (MsPop3ClientState state)
{
  if ((guint) state >= G_N_ELEMENTS (state_names))
    return "unknown";
  return state_names[state];
}

/* The verb and the state each operation puts the client in. */
static const struct {
  const char *verb;
  MsPop3ClientState state;
} commands[] = {
  [MS_POP3_CLIENT_CMD_STAT] = { "STAT", MS_POP3_CLIENT_STATE_STAT },
  [MS_POP3_CLIENT_CMD_LIST] = { "LIST", MS_POP3_CLIENT_STATE_LIST },
  [MS_POP3_CLIENT_CMD_UIDL] = { "UIDL", MS_POP3_CLIENT_STATE_UIDL },
  [MS_POP3_CLIENT_CMD_TOP] = { "TOP", MS_POP3_CLIENT_STATE_TOP },
  [MS_POP3_CLIENT_CMD_RETR] = { "RETR", MS_POP3_CLIENT_STATE_RETR },
  [MS_POP3_CLIENT_CMD_DELE] = { "DELE", MS_POP3_CLIENT_STATE_DELE },
  [MS_POP3_CLIENT_CMD_NOOP] = { "NOOP", MS_POP3_CLIENT_STATE_NOOP },
  [MS_POP3_CLIENT_CMD_RSET] = { "RSET", MS_POP3_CLIENT_STATE_RSET },
  [MS_POP3_CLIENT_CMD_QUIT] = { "QUIT", MS_POP3_CLIENT_STATE_QUIT },
};

const char *
ms_pop3_client_command_to_string (MsPop3ClientCommand command)
{
  if ((guint) command >= G_N_ELEMENTS (commands))
    return "unknown";
  return commands[command].verb;
}

const char *
ms_pop3_client_status_to_string (MsPop3ClientStatus status)
{
  switch (status)
    {
    case MS_POP3_CLIENT_STATUS_OK: return "ok";
    case MS_POP3_CLIENT_STATUS_TEMP_FAILURE: return "temp-failure";
    case MS_POP3_CLIENT_STATUS_AUTH_FAILURE: return "auth-failure";
    case MS_POP3_CLIENT_STATUS_SERVER_ERROR: return "server-error";
    case MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR: return "protocol-error";
    case MS_POP3_CLIENT_STATUS_TLS_FAILURE: return "tls-failure";
    case MS_POP3_CLIENT_STATUS_ABORTED: return "aborted";
    default: return "unknown";
    }
}

void
ms_pop3_client_result_free (MsPop3ClientResult *result)
{
  if (result == NULL)
    return;
  g_free (result->text);
  g_free (result->resp_code);
  g_free (result);
}

char *
ms_pop3_client_mask_secret (const char *line,
                            const char *mask)
{
  const char *space;

  g_return_val_if_fail (line != NULL, NULL);
  g_return_val_if_fail (mask != NULL, NULL);

  /* A password may hold spaces: everything after "PASS " is secret. */
  if (g_ascii_strncasecmp (line, "PASS ", 5) == 0)
    return g_strconcat ("PASS ", mask, NULL);
  if (g_ascii_strncasecmp (line, "AUTH ", 5) == 0 && (space = strchr (line + 5, ' ')) != NULL)
    return g_strdup_printf ("%.*s %s", (int) (space - line), line, mask);
  return g_strdup (mask);
}

static void
list_entry_clear (gpointer data)
{
  MsPop3ClientListEntry *entry = data;

  g_clear_pointer (&entry->uid, g_free);
}

static GArray *
list_entries_new (void)
{
  GArray *entries = g_array_new (FALSE, TRUE, sizeof (MsPop3ClientListEntry));

  g_array_set_clear_func (entries, list_entry_clear);
  return entries;
}

/* --- state and output ------------------------------------------------ */

static void
ms_pop3_client_set_state (MsPop3Client *client,
                          MsPop3ClientState new_state)
{
  MsPop3ClientState old_state = client->state;

  if (old_state == new_state)
    return;
  client->state = new_state;
  g_debug ("state %s -> %s", ms_pop3_client_state_to_string (old_state),
           ms_pop3_client_state_to_string (new_state));
  if (client->output.state_changed != NULL)
    client->output.state_changed (old_state, new_state, client->user_data);
}

static void
send_line (MsPop3Client *client,
           const char *line,
           MsPop3ClientTraceFlags flags)
{
  gsize len = strlen (line);
  g_autofree char *wire = NULL;

  if (client->output.trace != NULL)
    client->output.trace ('C', line, len, flags, client->user_data);
  wire = g_strconcat (line, "\r\n", NULL);
  client->output.send (wire, len + 2, client->user_data);
  if (flags & MS_POP3_CLIENT_TRACE_SECRET)
    OPENSSL_cleanse (wire, len + 2);
}

static void
body_reset (MsPop3Client *client)
{
  client->in_body = FALSE;
  client->body_size = 0;
  g_clear_pointer (&client->status_text, g_free);
  g_clear_pointer (&client->resp_code, g_free);
  if (client->body != NULL)
    g_string_free (g_steal_pointer (&client->body), TRUE);
  g_clear_pointer (&client->entries, g_array_unref);
  g_clear_pointer (&client->capa_lines, g_ptr_array_unref);
}

/* Calls done. Nothing may touch `client` afterwards: done may free it. */
static void
finish (MsPop3Client *client)
{
  MsPop3ClientResult *result = g_steal_pointer (&client->result);

  g_assert (result != NULL);
  result->tls = client->tls_active;
  body_reset (client);
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_DONE);
  g_debug ("done: %s: %s", ms_pop3_client_status_to_string (result->status), result->text);
  client->output.done (result, client->user_data);
}

static void
decide (MsPop3Client *client,
        MsPop3ClientStatus status,
        const char *resp_code,
        char *text)
{
  g_assert (!client->outcome_decided);
  client->outcome_decided = TRUE;
  client->result->status = status;
  g_free (client->result->text);
  client->result->text = text;
  g_free (client->result->resp_code);
  client->result->resp_code = g_strdup (resp_code);
}

static void decide_and_finish (MsPop3Client *client, MsPop3ClientStatus status,
                               const char *format, ...) G_GNUC_PRINTF (3, 4);

/* For failures after which nothing more can be said to the server:
 * protocol errors, TLS errors, a lost connection. No QUIT, so nothing
 * marked for deletion is removed (RFC 1939 §6). */
static void
decide_and_finish (MsPop3Client *client,
                   MsPop3ClientStatus status,
                   const char *format,
                   ...)
{
  va_list args;

  va_start (args, format);
  if (!client->outcome_decided)
    decide (client, status, NULL, g_strdup_vprintf (format, args));
  va_end (args);
  finish (client);
}

static void perform_quit (MsPop3Client *client);

static void fail_and_quit (MsPop3Client *client, MsPop3ClientStatus status, const char *resp_code,
                           const char *format, ...) G_GNUC_PRINTF (4, 5);

/* For refusals in the AUTHORIZATION state: the session is sound, so end it
 * with QUIT (RFC 1939 §4), which there removes nothing. */
static void
fail_and_quit (MsPop3Client *client,
               MsPop3ClientStatus status,
               const char *resp_code,
               const char *format,
               ...)
{
  va_list args;

  va_start (args, format);
  decide (client, status, resp_code, g_strdup_vprintf (format, args));
  va_end (args);
  perform_quit (client);
}

static void protocol_error (MsPop3Client *client, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
protocol_error (MsPop3Client *client,
                const char *format,
                ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  decide_and_finish (client, MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR,
                     "protocol error in state %s: %s",
                     ms_pop3_client_state_to_string (client->state), text);
}

/* --- status lines ---------------------------------------------------- */

/* One parsed status line (RFC 1939 §3): "+OK text" or "-ERR text", with
 * an optional RFC 2449 §8 response code "[CODE/SUB]" at the start of the
 * text. Borrowed from the line; `resp_code` is owned. */
typedef struct {
  gboolean ok;
  const char *line;     /* the whole line, for messages */
  const char *text;
  char *resp_code;
} StatusLine;

static void
status_line_clear (StatusLine *status)
{
  g_clear_pointer (&status->resp_code, g_free);
}

/* RFC 2449 §8: resp-code = "[" resp-level *("/" resp-level) "]", with
 * resp-level = 1*rchar and rchar = %x20-2E / %x30-5C / %x5E-7F. */
static char *
parse_resp_code (const char *text)
{
  const char *end;

  if (text[0] != '[')
    return NULL;
  end = strchr (text, ']');
  if (end == NULL || end == text + 1 || (gsize) (end - text - 1) > RESP_CODE_MAX)
    return NULL;
  for (const char *p = text + 1; p < end; p++)
    if (*p <= 0x20 || *p > 0x7E)
      return NULL;
  return g_strndup (text + 1, (gsize) (end - text - 1));
}

/* Returns FALSE when the line is neither +OK nor -ERR. The indicators are
 * upper case in RFC 1939 §3; we accept any case, as most clients do. */
static gboolean
parse_status_line (const char *line,
                   StatusLine *status)
{
  gsize skip;

  if (g_ascii_strncasecmp (line, "+OK", 3) == 0)
    {
      status->ok = TRUE;
      skip = 3;
    }
  else if (g_ascii_strncasecmp (line, "-ERR", 4) == 0)
    {
      status->ok = FALSE;
      skip = 4;
    }
  else
    return FALSE;
  if (line[skip] != '\0' && line[skip] != ' ')
    return FALSE;
  status->line = line;
  status->text = line[skip] == ' ' ? line + skip + 1 : line + skip;
  status->resp_code = parse_resp_code (status->text);
  return TRUE;
}

/* A number as RFC 1939 writes them: 1*DIGIT, no sign; FALSE on overflow. */
static gboolean
parse_number (const char *text,
              const char **end_r,
              guint64 max,
              guint64 *value_r)
{
  guint64 value = 0;
  const char *p = text;

  if (!g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p))
    {
      guint digit = (guint) (*p - '0');

      if (value > (max - digit) / 10)
        return FALSE;
      value = value * 10 + digit;
      p++;
    }
  *end_r = p;
  *value_r = value;
  return TRUE;
}

/* "msg size" (LIST, RFC 1939 §5) or "msg uid" (UIDL, RFC 1939 §7). Extra
 * text after the size is allowed by §5 ("may be followed by"). */
static gboolean
parse_list_entry (const char *line,
                  gboolean want_uid,
                  MsPop3ClientListEntry *entry)
{
  const char *p;
  guint64 value;

  if (!parse_number (line, &p, G_MAXUINT, &value) || value == 0 || *p != ' ')
    return FALSE;
  entry->msg = (guint) value;
  p++;
  if (want_uid)
    {
      gsize len = strcspn (p, " ");

      if (len == 0 || len > UID_MAX)
        return FALSE;
      for (gsize i = 0; i < len; i++)
        if (p[i] < 0x21 || p[i] > 0x7E)
          return FALSE;
      entry->uid = g_strndup (p, len);
      return TRUE;
    }
  if (!parse_number (p, &p, G_MAXUINT64, &value) || (*p != '\0' && *p != ' '))
    return FALSE;
  entry->size = value;
  return TRUE;
}

/* --- perform_<cmd>: send a command and set the state ----------------- */

static void
perform_capa (MsPop3Client *client)
{
  g_hash_table_remove_all (client->capabilities);
  client->capa_known = FALSE;
  send_line (client, "CAPA", MS_POP3_CLIENT_TRACE_NONE);
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_CAPA);
}

static void
perform_stls (MsPop3Client *client)
{
  send_line (client, "STLS", MS_POP3_CLIENT_TRACE_NONE);
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_STLS);
}

static void
perform_user (MsPop3Client *client)
{
  g_autofree char *line = g_strconcat ("USER ", client->username, NULL);

  send_line (client, line, MS_POP3_CLIENT_TRACE_NONE);
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_USER);
}

static void
perform_pass (MsPop3Client *client)
{
  g_autofree char *line = g_strconcat ("PASS ", client->password, NULL);

  send_line (client, line, MS_POP3_CLIENT_TRACE_SECRET);
  OPENSSL_cleanse (line, strlen (line));
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_PASS);
}

/* RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. */
static char *
plain_credentials (MsPop3Client *client)
{
  gsize user_len = strlen (client->username);
  gsize pass_len = strlen (client->password);
  gsize len = 1 + user_len + 1 + pass_len;
  g_autofree guchar *plain = g_malloc (len);
  char *encoded;

  plain[0] = '\0';
  memcpy (plain + 1, client->username, user_len);
  plain[1 + user_len] = '\0';
  memcpy (plain + 2 + user_len, client->password, pass_len);
  encoded = g_base64_encode (plain, len);
  OPENSSL_cleanse (plain, len);
  return encoded;
}

/* RFC 5034 §4: AUTH with an initial response takes one round trip. */
static void
perform_auth_plain (MsPop3Client *client)
{
  g_autofree char *encoded = plain_credentials (client);
  g_autofree char *line = NULL;

  if (strlen ("AUTH PLAIN ") + strlen (encoded) + 2 > AUTH_COMMAND_MAX)
    {
      OPENSSL_cleanse (encoded, strlen (encoded));
      send_line (client, "AUTH PLAIN", MS_POP3_CLIENT_TRACE_NONE);
      ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_AUTH);
      return;
    }
  line = g_strconcat ("AUTH PLAIN ", encoded, NULL);
  OPENSSL_cleanse (encoded, strlen (encoded));
  send_line (client, line, MS_POP3_CLIENT_TRACE_SECRET);
  OPENSSL_cleanse (line, strlen (line));
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_AUTH_RESPONSE);
}

static void
perform_auth_plain_response (MsPop3Client *client)
{
  g_autofree char *encoded = plain_credentials (client);

  send_line (client, encoded, MS_POP3_CLIENT_TRACE_SECRET);
  OPENSSL_cleanse (encoded, strlen (encoded));
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_AUTH_RESPONSE);
}

static void
perform_quit (MsPop3Client *client)
{
  client->current = (QueuedOp) { .command = MS_POP3_CLIENT_CMD_QUIT };
  send_line (client, "QUIT", MS_POP3_CLIENT_TRACE_NONE);
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_QUIT);
}

/* Sends the head of the queue (RFC 1939 §5). */
static void
perform_next (MsPop3Client *client)
{
  g_autofree QueuedOp *op = g_queue_pop_head (client->queue);
  g_autofree char *line = NULL;

  g_assert (op != NULL);
  client->current = *op;
  client->ready_called = FALSE;
  switch (op->command)
    {
    case MS_POP3_CLIENT_CMD_TOP:
      line = g_strdup_printf ("TOP %u %u", op->msg, op->lines);
      break;
    case MS_POP3_CLIENT_CMD_RETR:
    case MS_POP3_CLIENT_CMD_DELE:
      line = g_strdup_printf ("%s %u", commands[op->command].verb, op->msg);
      break;
    case MS_POP3_CLIENT_CMD_LIST:
    case MS_POP3_CLIENT_CMD_UIDL:
      if (op->msg != 0)
        line = g_strdup_printf ("%s %u", commands[op->command].verb, op->msg);
      else
        line = g_strdup (commands[op->command].verb);
      break;
    case MS_POP3_CLIENT_CMD_QUIT:
      perform_quit (client);
      return;
    case MS_POP3_CLIENT_CMD_STAT:
    case MS_POP3_CLIENT_CMD_NOOP:
    case MS_POP3_CLIENT_CMD_RSET:
    default:
      line = g_strdup (commands[op->command].verb);
      break;
    }
  send_line (client, line, MS_POP3_CLIENT_TRACE_NONE);
  ms_pop3_client_set_state (client, commands[op->command].state);
}

/* In the TRANSACTION state with nothing in flight: send the next queued
 * operation, or ask the caller for more through `ready`. */
static void
pump (MsPop3Client *client)
{
  if (client->pumping)
    return;
  client->pumping = TRUE;
  while (client->state == MS_POP3_CLIENT_STATE_TRANSACTION)
    {
      if (!g_queue_is_empty (client->queue))
        {
          perform_next (client);
          break;
        }
      if (client->output.ready == NULL || client->ready_called)
        break;
      client->ready_called = TRUE;
      client->output.ready (client->user_data);
    }
  client->pumping = FALSE;
}

/* --- what comes after what ------------------------------------------- */

static void
proceed_login (MsPop3Client *client)
{
  gboolean plain_offered = g_hash_table_contains (client->capabilities, "SASL PLAIN");

  if (client->tls_mode == MS_POP3_CLIENT_TLS_STLS && !client->tls_active)
    {
      /* RFC 2595 §4: STLS is announced in CAPA. A server without CAPA may
       * still know it, so then we just try. */
      if (client->capa_known && !g_hash_table_contains (client->capabilities, "STLS"))
        {
          fail_and_quit (client, MS_POP3_CLIENT_STATUS_TLS_FAILURE, NULL,
                         "TLS is required but the server does not offer STLS (RFC 2595)");
          return;
        }
      perform_stls (client);
      return;
    }

  switch (client->auth)
    {
    case MS_POP3_CLIENT_AUTH_PLAIN:
      if (client->capa_known && !plain_offered)
        {
          fail_and_quit (client, MS_POP3_CLIENT_STATUS_AUTH_FAILURE, NULL,
                         "AUTH PLAIN was asked for but the server does not offer SASL PLAIN (RFC 5034)");
          return;
        }
      perform_auth_plain (client);
      break;
    case MS_POP3_CLIENT_AUTH_ANY:
      if (plain_offered)
        perform_auth_plain (client);
      else
        perform_user (client);
      break;
    case MS_POP3_CLIENT_AUTH_USER:
    default:
      /* RFC 2449 §6.2: without USER in CAPA the command may still work for
       * some users, so try it and let the server say. */
      perform_user (client);
      break;
    }
}

static void
enter_transaction (MsPop3Client *client)
{
  client->result->authenticated = TRUE;
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_TRANSACTION);
  pump (client);
}

/* RFC 2449 §8.1 and RFC 3206 §4: IN-USE, LOGIN-DELAY and SYS/TEMP say
 * "try again later"; AUTH and the rest say the credentials are wrong. */
static gboolean
resp_code_is_temporary (const char *resp_code)
{
  return resp_code != NULL &&
    (g_ascii_strcasecmp (resp_code, "IN-USE") == 0 ||
     g_ascii_strcasecmp (resp_code, "LOGIN-DELAY") == 0 ||
     g_ascii_strncasecmp (resp_code, "SYS/TEMP", 8) == 0);
}

static void
auth_failed (MsPop3Client *client,
             const StatusLine *status)
{
  fail_and_quit (client,
                 resp_code_is_temporary (status->resp_code) ? MS_POP3_CLIENT_STATUS_TEMP_FAILURE
                                                            : MS_POP3_CLIENT_STATUS_AUTH_FAILURE,
                 status->resp_code,
                 "the server refused the login as %s: %s", client->username, status->line);
}

/* --- <state>_resp: handle a status line in each state ---------------- */

static void
greeting_resp (MsPop3Client *client,
               const StatusLine *status)
{
  if (!status->ok)
    {
      /* Not in RFC 1939, but servers that are full or shutting down do it. */
      decide (client, resp_code_is_temporary (status->resp_code) ? MS_POP3_CLIENT_STATUS_TEMP_FAILURE
                                                                  : MS_POP3_CLIENT_STATUS_SERVER_ERROR,
              status->resp_code, g_strdup_printf ("the server refused the connection: %s", status->line));
      finish (client);
      return;
    }
  if (client->skip_capa)
    proceed_login (client);
  else
    perform_capa (client);
}

static void
stls_resp (MsPop3Client *client,
           const StatusLine *status)
{
  if (status->ok)
    {
      ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_TLS_HANDSHAKE);
      client->output.start_tls (client->user_data);
    }
  else
    fail_and_quit (client, MS_POP3_CLIENT_STATUS_TLS_FAILURE, status->resp_code,
                   "STLS refused: %s", status->line);
}

/* RFC 2449 §5: each line is a tag and its arguments. Keep the tags in
 * upper case, and each SASL mechanism as "SASL <MECH>" (§6.3). */
static void
capa_done (MsPop3Client *client)
{
  for (guint i = 0; i < client->capa_lines->len; i++)
    {
      g_auto(GStrv) words = g_strsplit (g_ptr_array_index (client->capa_lines, i), " ", -1);

      if (words[0] == NULL || words[0][0] == '\0')
        continue;
      g_hash_table_add (client->capabilities, g_ascii_strup (words[0], -1));
      if (g_ascii_strcasecmp (words[0], "SASL") == 0)
        for (guint w = 1; words[w] != NULL; w++)
          if (words[w][0] != '\0')
            {
              g_autofree char *upper = g_ascii_strup (words[w], -1);
              g_hash_table_add (client->capabilities, g_strconcat ("SASL ", upper, NULL));
            }
    }
  client->capa_known = TRUE;
  body_reset (client);
  proceed_login (client);
}

static void
complete_operation (MsPop3Client *client,
                    MsPop3ClientResponse *response)
{
  ms_pop3_client_set_state (client, MS_POP3_CLIENT_STATE_TRANSACTION);
  if (client->output.response != NULL)
    {
      client->pumping = TRUE;
      client->output.response (response, client->user_data);
      client->pumping = FALSE;
    }
  if (client->state == MS_POP3_CLIENT_STATE_TRANSACTION)
    pump (client);
}

/* The end of a multi-line response: the "." line. */
static void
body_done (MsPop3Client *client)
{
  MsPop3ClientResponse response = { 0 };
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GArray) entries = NULL;
  g_autofree char *text = NULL;
  g_autofree char *resp_code = NULL;

  if (client->state == MS_POP3_CLIENT_STATE_CAPA)
    {
      capa_done (client);
      return;
    }

  if (client->body != NULL)
    message = g_string_free_to_bytes (g_steal_pointer (&client->body));
  entries = g_steal_pointer (&client->entries);
  text = g_steal_pointer (&client->status_text);
  resp_code = g_steal_pointer (&client->resp_code);
  body_reset (client);

  response.command = client->current.command;
  response.msg = client->current.msg;
  response.lines = client->current.lines;
  response.ok = TRUE;
  response.text = text;
  response.resp_code = resp_code;
  response.entries = entries;
  response.message = message;
  if (entries != NULL)
    response.count = entries->len;
  complete_operation (client, &response);
}

static void
start_body (MsPop3Client *client,
            const StatusLine *status)
{
  client->in_body = TRUE;
  client->body_size = 0;
  client->status_text = g_strdup (status->text);
  client->resp_code = g_strdup (status->resp_code);
  switch (client->state)
    {
    case MS_POP3_CLIENT_STATE_CAPA:
      client->capa_lines = g_ptr_array_new_with_free_func (g_free);
      break;
    case MS_POP3_CLIENT_STATE_LIST:
    case MS_POP3_CLIENT_STATE_UIDL:
      client->entries = list_entries_new ();
      break;
    default:
      client->body = g_string_new (NULL);
      break;
    }
}

static gboolean
is_multi_line (const QueuedOp *op)
{
  switch (op->command)
    {
    case MS_POP3_CLIENT_CMD_LIST:
    case MS_POP3_CLIENT_CMD_UIDL:
      return op->msg == 0;
    case MS_POP3_CLIENT_CMD_TOP:
    case MS_POP3_CLIENT_CMD_RETR:
      return TRUE;
    default:
      return FALSE;
    }
}

/* A status line in answer to a queued operation (RFC 1939 §5). */
static void
operation_resp (MsPop3Client *client,
                const StatusLine *status)
{
  MsPop3ClientResponse response = { 0 };
  g_autoptr(GArray) entries = NULL;

  if (status->ok && is_multi_line (&client->current))
    {
      start_body (client, status);
      return;
    }

  response.command = client->current.command;
  response.msg = client->current.msg;
  response.lines = client->current.lines;
  response.ok = status->ok;
  response.text = status->text;
  response.resp_code = status->resp_code;

  if (status->ok && response.command == MS_POP3_CLIENT_CMD_STAT)
    {
      /* RFC 1939 §5: "+OK nn mm", the count and the size in octets. */
      const char *p;
      guint64 count, size;

      if (!parse_number (status->text, &p, G_MAXUINT, &count) || *p != ' ' ||
          !parse_number (p + 1, &p, G_MAXUINT64, &size) || (*p != '\0' && *p != ' '))
        {
          protocol_error (client, "STAT answer is not \"+OK count size\": %s", status->line);
          return;
        }
      response.count = (guint) count;
      response.size = size;
    }
  else if (status->ok && (response.command == MS_POP3_CLIENT_CMD_LIST ||
                          response.command == MS_POP3_CLIENT_CMD_UIDL))
    {
      MsPop3ClientListEntry entry = { 0 };

      if (!parse_list_entry (status->text, response.command == MS_POP3_CLIENT_CMD_UIDL, &entry) ||
          entry.msg != response.msg)
        {
          list_entry_clear (&entry);
          protocol_error (client, "%s %u answer is not \"+OK %u %s\": %s",
                          commands[response.command].verb, response.msg, response.msg,
                          response.command == MS_POP3_CLIENT_CMD_UIDL ? "uid" : "size", status->line);
          return;
        }
      entries = list_entries_new ();
      g_array_append_val (entries, entry);
      response.entries = entries;
      response.count = 1;
      response.size = entry.size;
    }
  complete_operation (client, &response);
}

static void
quit_resp (MsPop3Client *client,
           const StatusLine *status)
{
  if (client->outcome_decided)
    {
      /* A failure already decided; QUIT in AUTHORIZATION commits nothing. */
      finish (client);
      return;
    }
  if (status->ok)
    {
      client->result->committed = client->result->authenticated;
      decide (client, MS_POP3_CLIENT_STATUS_OK, NULL, g_strdup_printf ("QUIT: %s", status->line));
    }
  else
    {
      /* RFC 1939 §6: -ERR means some marked messages were not removed. */
      decide (client, MS_POP3_CLIENT_STATUS_SERVER_ERROR, status->resp_code,
              g_strdup_printf ("QUIT failed; messages marked for deletion may still be there: %s",
                               status->line));
    }
  finish (client);
}

static void
dispatch_status (MsPop3Client *client,
                 const StatusLine *status)
{
  switch (client->state)
    {
    case MS_POP3_CLIENT_STATE_GREETING:
      greeting_resp (client, status);
      break;
    case MS_POP3_CLIENT_STATE_CAPA:
      if (status->ok)
        start_body (client, status);
      else
        {
          /* RFC 2449 §5: a server from before CAPA says -ERR; go on without. */
          client->capa_known = FALSE;
          proceed_login (client);
        }
      break;
    case MS_POP3_CLIENT_STATE_STLS:
      stls_resp (client, status);
      break;
    case MS_POP3_CLIENT_STATE_USER:
      if (status->ok)
        perform_pass (client);
      else
        auth_failed (client, status);
      break;
    case MS_POP3_CLIENT_STATE_PASS:
    case MS_POP3_CLIENT_STATE_AUTH:
    case MS_POP3_CLIENT_STATE_AUTH_RESPONSE:
      if (status->ok)
        enter_transaction (client);
      else
        auth_failed (client, status);
      break;
    case MS_POP3_CLIENT_STATE_STAT:
    case MS_POP3_CLIENT_STATE_LIST:
    case MS_POP3_CLIENT_STATE_UIDL:
    case MS_POP3_CLIENT_STATE_TOP:
    case MS_POP3_CLIENT_STATE_RETR:
    case MS_POP3_CLIENT_STATE_DELE:
    case MS_POP3_CLIENT_STATE_NOOP:
    case MS_POP3_CLIENT_STATE_RSET:
      operation_resp (client, status);
      break;
    case MS_POP3_CLIENT_STATE_QUIT:
      quit_resp (client, status);
      break;
    case MS_POP3_CLIENT_STATE_TRANSACTION:
      protocol_error (client, "a response came when no command was outstanding: %s", status->line);
      break;
    case MS_POP3_CLIENT_STATE_TLS_HANDSHAKE:
    case MS_POP3_CLIENT_STATE_DONE:
    case MS_POP3_CLIENT_N_STATES:
    default:
      g_assert_not_reached ();
    }
}

/* A line of a multi-line response (RFC 1939 §3): "." alone ends it; a
 * line that starts with "." has had one more "." put in front. */
static void
feed_body_line (MsPop3Client *client,
                const char *line,
                gsize len)
{
  gboolean data = client->body != NULL;
  gsize limit = data ? client->max_data_line_length : client->max_line_length;

  if (len == 1 && line[0] == '.')
    {
      body_done (client);
      return;
    }
  if (len > limit)
    {
      protocol_error (client, "line of %" G_GSIZE_FORMAT " octets in a multi-line response, longer than %"
                      G_GSIZE_FORMAT, len, limit);
      return;
    }
  if (line[0] == '.')
    {
      line++;
      len--;
    }
  /* Checked before anything is kept: the limit bounds our memory. */
  if (len + 2 > client->max_message_size - client->body_size)
    {
      protocol_error (client, "the response is larger than the limit of %" G_GSIZE_FORMAT " octets",
                      client->max_message_size);
      return;
    }
  client->body_size += len + 2;

  if (data)
    {
      g_string_append_len (client->body, line, (gssize) len);
      g_string_append (client->body, "\r\n");
      return;
    }
  if (memchr (line, '\0', len) != NULL)
    {
      protocol_error (client, "NUL byte in a listing line");
      return;
    }
  if (client->capa_lines != NULL)
    {
      g_ptr_array_add (client->capa_lines, g_strndup (line, len));
      return;
    }
  {
    MsPop3ClientListEntry entry = { 0 };
    gboolean want_uid = client->state == MS_POP3_CLIENT_STATE_UIDL;

    if (!parse_list_entry (line, want_uid, &entry))
      {
        g_autofree char *shown = g_strndup (line, MIN (len, 80));
        list_entry_clear (&entry);
        protocol_error (client, "not a %s line: \"%s\"", want_uid ? "UIDL" : "LIST", shown);
        return;
      }
    g_array_append_val (client->entries, entry);
  }
}

/* --- public ---------------------------------------------------------- */

MsPop3Client *
ms_pop3_client_new (const MsPop3ClientParams *params,
                    const MsPop3ClientOutput *output,
                    gpointer user_data)
{
  MsPop3Client *client;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (params->username != NULL && params->password != NULL, NULL);
  g_return_val_if_fail (strpbrk (params->username, "\r\n") == NULL, NULL);
  g_return_val_if_fail (strpbrk (params->password, "\r\n") == NULL, NULL);
  g_return_val_if_fail (output != NULL, NULL);
  g_return_val_if_fail (output->send != NULL && output->done != NULL, NULL);
  g_return_val_if_fail (output->start_tls != NULL || params->tls != MS_POP3_CLIENT_TLS_STLS, NULL);

  client = g_new0 (MsPop3Client, 1);
  client->state = MS_POP3_CLIENT_STATE_GREETING;
  client->tls_mode = params->tls;
  client->tls_active = params->tls == MS_POP3_CLIENT_TLS_IMPLICIT;
  client->auth = params->auth;
  client->username = g_strdup (params->username);
  client->password = g_strdup (params->password);
  client->skip_capa = params->skip_capa;
  client->max_line_length = params->max_line_length ? params->max_line_length
                                                    : MS_POP3_CLIENT_DEFAULT_MAX_LINE_LENGTH;
  client->max_data_line_length = params->max_data_line_length ? params->max_data_line_length
                                                              : MS_POP3_CLIENT_DEFAULT_MAX_DATA_LINE_LENGTH;
  client->max_message_size = params->max_message_size ? params->max_message_size
                                                      : MS_POP3_CLIENT_DEFAULT_MAX_MESSAGE_SIZE;
  client->output = *output;
  client->user_data = user_data;
  client->queue = g_queue_new ();
  client->capabilities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  client->result = g_new0 (MsPop3ClientResult, 1);
  client->result->status = MS_POP3_CLIENT_STATUS_TEMP_FAILURE;
  client->result->text = g_strdup ("the session did not finish");
  return client;
}

void
ms_pop3_client_free (MsPop3Client *client)
{
  if (client == NULL)
    return;
  if (client->password != NULL)
    OPENSSL_cleanse (client->password, strlen (client->password));
  g_free (client->password);
  g_free (client->username);
  g_queue_free_full (client->queue, g_free);
  body_reset (client);
  g_hash_table_unref (client->capabilities);
  ms_pop3_client_result_free (client->result);
  g_free (client);
}

void
ms_pop3_client_feed_line (MsPop3Client *client,
                          const char *line,
                          gsize len)
{
  StatusLine status = { 0 };
  g_autofree char *copy = NULL;

  g_return_if_fail (client != NULL);
  g_return_if_fail (line != NULL || len == 0);

  if (client->state == MS_POP3_CLIENT_STATE_DONE)
    return;

  /* A NUL-terminated copy that keeps any NUL bytes inside, so the parsers
   * below may look one byte past the end. */
  copy = g_malloc (len + 1);
  if (len > 0)
    memcpy (copy, line, len);
  copy[len] = '\0';
  line = copy;

  if (client->output.trace != NULL)
    {
      MsPop3ClientTraceFlags flags = MS_POP3_CLIENT_TRACE_NONE;

      if (client->in_body)
        {
          flags |= client->body != NULL ? MS_POP3_CLIENT_TRACE_DATA : MS_POP3_CLIENT_TRACE_LISTING;
          if (len == 1 && line[0] == '.')
            flags |= MS_POP3_CLIENT_TRACE_END;
        }
      client->output.trace ('S', line, len, flags, client->user_data);
    }

  /* RFC 2595 §4: nothing may come between +OK to STLS and the handshake;
   * plain text here would be an injection attempt. */
  if (client->state == MS_POP3_CLIENT_STATE_TLS_HANDSHAKE)
    {
      protocol_error (client, "the server sent a line before the TLS handshake");
      return;
    }
  if (client->in_body)
    {
      feed_body_line (client, line, len);
      return;
    }
  if (len > client->max_line_length)
    {
      protocol_error (client, "response line of %" G_GSIZE_FORMAT " octets, longer than %"
                      G_GSIZE_FORMAT " (RFC 2449 §4)", len, client->max_line_length);
      return;
    }
  if (memchr (line, '\0', len) != NULL)
    {
      protocol_error (client, "NUL byte in a response line");
      return;
    }

  /* RFC 5034 §4: "+" SP base64 is a SASL challenge. PLAIN has none, so the
   * first one (empty) asks for the credentials, and any other is wrong. */
  if (line[0] == '+' && (len == 1 || line[1] == ' '))
    {
      if (client->state == MS_POP3_CLIENT_STATE_AUTH)
        perform_auth_plain_response (client);
      else
        protocol_error (client, "unexpected continuation \"%s\"", line);
      return;
    }
  if (!parse_status_line (line, &status))
    {
      g_autofree char *shown = g_strndup (line, MIN (len, 40));
      protocol_error (client, "not a POP3 status line: \"%s\"", shown);
      return;
    }
  dispatch_status (client, &status);
  /* `client` may be freed now; only the local status is touched. */
  status_line_clear (&status);
}

void
ms_pop3_client_tls_done (MsPop3Client *client,
                         gboolean ok,
                         const char *error)
{
  g_return_if_fail (client != NULL);
  g_return_if_fail (client->state == MS_POP3_CLIENT_STATE_TLS_HANDSHAKE);

  if (!ok)
    {
      decide_and_finish (client, MS_POP3_CLIENT_STATUS_TLS_FAILURE,
                         "the TLS handshake failed: %s", error ? error : "unknown error");
      return;
    }
  client->tls_active = TRUE;
  /* RFC 2595 §4: discard what CAPA said before, and ask again. */
  g_hash_table_remove_all (client->capabilities);
  client->capa_known = FALSE;
  if (client->skip_capa)
    proceed_login (client);
  else
    perform_capa (client);
}

void
ms_pop3_client_enqueue (MsPop3Client *client,
                        MsPop3ClientCommand command,
                        guint msg,
                        guint lines)
{
  QueuedOp *op;

  g_return_if_fail (client != NULL);
  g_return_if_fail ((guint) command < G_N_ELEMENTS (commands));
  g_return_if_fail (msg > 0 || (command != MS_POP3_CLIENT_CMD_TOP && command != MS_POP3_CLIENT_CMD_RETR &&
                                command != MS_POP3_CLIENT_CMD_DELE));

  if (client->state == MS_POP3_CLIENT_STATE_DONE || client->quit_queued ||
      client->state == MS_POP3_CLIENT_STATE_QUIT)
    {
      g_warning ("%s queued after QUIT or the end of the session; ignored", commands[command].verb);
      return;
    }
  op = g_new0 (QueuedOp, 1);
  op->command = command;
  op->msg = msg;
  op->lines = lines;
  g_queue_push_tail (client->queue, op);
  if (command == MS_POP3_CLIENT_CMD_QUIT)
    client->quit_queued = TRUE;
  pump (client);
}

guint
ms_pop3_client_get_queue_length (MsPop3Client *client)
{
  g_return_val_if_fail (client != NULL, 0);

  return g_queue_get_length (client->queue) +
         (client->state >= MS_POP3_CLIENT_STATE_STAT && client->state <= MS_POP3_CLIENT_STATE_QUIT);
}

void
ms_pop3_client_connection_closed (MsPop3Client *client,
                                  const char *reason)
{
  g_return_if_fail (client != NULL);

  if (client->state == MS_POP3_CLIENT_STATE_DONE)
    return;
  if (client->state == MS_POP3_CLIENT_STATE_QUIT && !client->outcome_decided)
    {
      /* RFC 1939 §6: the server may or may not have finished UPDATE. */
      decide_and_finish (client, MS_POP3_CLIENT_STATUS_TEMP_FAILURE,
                         "the connection closed before QUIT was answered (%s); "
                         "messages marked for deletion may or may not be gone",
                         reason ? reason : "closed");
      return;
    }
  decide_and_finish (client, MS_POP3_CLIENT_STATUS_TEMP_FAILURE,
                     "the connection closed in state %s: %s",
                     ms_pop3_client_state_to_string (client->state), reason ? reason : "closed");
}

void
ms_pop3_client_abort (MsPop3Client *client,
                      MsPop3ClientStatus status,
                      const char *text)
{
  g_return_if_fail (client != NULL);
  g_return_if_fail (text != NULL);

  if (client->state == MS_POP3_CLIENT_STATE_DONE)
    return;
  decide_and_finish (client, status, "%s", text);
}

MsPop3ClientState
ms_pop3_client_get_state (MsPop3Client *client)
{
  g_return_val_if_fail (client != NULL, MS_POP3_CLIENT_STATE_DONE);
  return client->state;
}

gboolean
ms_pop3_client_is_done (MsPop3Client *client)
{
  g_return_val_if_fail (client != NULL, TRUE);
  return client->state == MS_POP3_CLIENT_STATE_DONE;
}

gboolean
ms_pop3_client_has_capability (MsPop3Client *client,
                               const char *name)
{
  g_autofree char *upper = NULL;

  g_return_val_if_fail (client != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  upper = g_ascii_strup (name, -1);
  return g_hash_table_contains (client->capabilities, upper);
}
