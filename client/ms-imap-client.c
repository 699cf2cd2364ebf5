/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap-client"

#include "config.h"

#include <string.h>
#include <openssl/crypto.h>

#include "ms-imap-client.h"
#include "ms-imap-utf7.h"

/* RFC 7888 §4 (LITERAL-): a non-synchronising literal may be at most 4096
 * octets when only LITERAL- is offered. */
#define LITERAL_MINUS_MAX 4096
/* Longest response code we keep, name and arguments. */
#define CODE_MAX 1024

typedef struct {
  MsImapClientCommandKind kind;
  gboolean uid;
  char *mailbox;        /* already in modified UTF-7 */
  char *mailbox2;
  char *set;
  char *args;
  GBytes *message;
} QueuedCmd;

/* A parsed value of a response (RFC 3501 §4): atom (numbers too), string
 * (quoted or literal), NIL or a parenthesised list. */
typedef enum {
  VALUE_ATOM,
  VALUE_STRING,
  VALUE_NIL,
  VALUE_LIST,
} ValueKind;

typedef struct {
  ValueKind kind;
  char *data;           /* ATOM, STRING: NUL-terminated (it may hold NUL bytes) */
  gsize len;
  GPtrArray *items;     /* LIST: of Value* */
} Value;

struct _MsImapClient {
  MsImapClientState state;

  MsImapClientTlsMode tls_mode;
  MsImapClientAuth auth;
  char *username;
  char *password;        /* wiped in ms_imap_client_free() */
  gsize max_line_length;
  gsize max_literal_size;
  gsize max_response_size;
  guint max_depth;

  MsImapClientOutput output;
  gpointer user_data;    /* borrowed */

  /* Framing (RFC 3501 §4.3): the response being received, as on the wire,
   * lines and literals, CRLF included except the last. */
  GString *response;
  gsize line_start;      /* offset in `response` of the current line */
  gsize literal_left;    /* octets of a literal still to come */
  gsize literal_start;   /* offset in `response` of that literal */

  /* Inside feed: ms_imap_client_free() only marks, feed frees at the end. */
  gboolean feeding;
  gboolean free_pending;

  guint next_tag;
  char tag[16];          /* of the command in flight; "" when none */
  MsImapClientCommandKind tag_kind;
  gboolean internal;     /* the command in flight is our own (CAPABILITY, LOGIN, ...) */
  QueuedCmd *current;    /* the queued command in flight, or NULL */
  GQueue *queue;         /* of QueuedCmd*, not yet sent */
  gboolean logout_queued;
  gboolean pumping;
  gboolean ready_called;
  /* The state to go back to after IDLE or APPEND (AUTHENTICATED or SELECTED). */
  MsImapClientState rest_state;

  /* IDLE (RFC 2177): "+" came / DONE asked for / DONE sent. */
  gboolean idle_accepted;
  gboolean idle_done_wanted;
  gboolean idle_done_sent;

  GHashTable *capabilities; /* upper-case names */
  gboolean capa_known;
  /* A CAPABILITY came during the command in flight (untagged or as a code). */
  gboolean capa_seen;
  gboolean tls_active;

  MsImapClientResult *result;
  gboolean outcome_decided;
};

static const char * const state_names[] = {
  [MS_IMAP_CLIENT_STATE_GREETING] = "greeting",
  [MS_IMAP_CLIENT_STATE_CAPABILITY] = "capability",
  [MS_IMAP_CLIENT_STATE_STARTTLS] = "starttls",
  [MS_IMAP_CLIENT_STATE_TLS_HANDSHAKE] = "tls-handshake",
  [MS_IMAP_CLIENT_STATE_LOGIN] = "login",
  [MS_IMAP_CLIENT_STATE_AUTHENTICATE] = "authenticate",
  [MS_IMAP_CLIENT_STATE_AUTHENTICATED] = "authenticated",
  [MS_IMAP_CLIENT_STATE_SELECTED] = "selected",
  [MS_IMAP_CLIENT_STATE_APPEND_LITERAL] = "append-literal",
  [MS_IMAP_CLIENT_STATE_IDLE] = "idle",
  [MS_IMAP_CLIENT_STATE_LOGOUT] = "logout",
  [MS_IMAP_CLIENT_STATE_DONE] = "done",
};
G_STATIC_ASSERT (G_N_ELEMENTS (state_names) == MS_IMAP_CLIENT_N_STATES);

const char *
ms_imap_client_state_to_string (MsImapClientState state)
{
  if ((guint) state >= G_N_ELEMENTS (state_names))
    return "unknown";
  return state_names[state];
}

static const char * const command_names[] = {
  [MS_IMAP_CLIENT_CMD_CAPABILITY] = "CAPABILITY",
  [MS_IMAP_CLIENT_CMD_NOOP] = "NOOP",
  [MS_IMAP_CLIENT_CMD_LIST] = "LIST",
  [MS_IMAP_CLIENT_CMD_LSUB] = "LSUB",
  [MS_IMAP_CLIENT_CMD_CREATE] = "CREATE",
  [MS_IMAP_CLIENT_CMD_DELETE] = "DELETE",
  [MS_IMAP_CLIENT_CMD_RENAME] = "RENAME",
  [MS_IMAP_CLIENT_CMD_SUBSCRIBE] = "SUBSCRIBE",
  [MS_IMAP_CLIENT_CMD_UNSUBSCRIBE] = "UNSUBSCRIBE",
  [MS_IMAP_CLIENT_CMD_STATUS] = "STATUS",
  [MS_IMAP_CLIENT_CMD_SELECT] = "SELECT",
  [MS_IMAP_CLIENT_CMD_EXAMINE] = "EXAMINE",
  [MS_IMAP_CLIENT_CMD_FETCH] = "FETCH",
  [MS_IMAP_CLIENT_CMD_STORE] = "STORE",
  [MS_IMAP_CLIENT_CMD_COPY] = "COPY",
  [MS_IMAP_CLIENT_CMD_MOVE] = "MOVE",
  [MS_IMAP_CLIENT_CMD_EXPUNGE] = "EXPUNGE",
  [MS_IMAP_CLIENT_CMD_SEARCH] = "SEARCH",
  [MS_IMAP_CLIENT_CMD_APPEND] = "APPEND",
  [MS_IMAP_CLIENT_CMD_IDLE] = "IDLE",
  [MS_IMAP_CLIENT_CMD_CLOSE] = "CLOSE",
  [MS_IMAP_CLIENT_CMD_LOGOUT] = "LOGOUT",
};
G_STATIC_ASSERT (G_N_ELEMENTS (command_names) == MS_IMAP_CLIENT_N_COMMANDS);

const char *
ms_imap_client_command_to_string (MsImapClientCommandKind kind)
{
  if ((guint) kind >= G_N_ELEMENTS (command_names))
    return "unknown";
  return command_names[kind];
}

const char *
ms_imap_client_status_to_string (MsImapClientStatus status)
{
  switch (status)
    {
    case MS_IMAP_CLIENT_STATUS_OK: return "ok";
    case MS_IMAP_CLIENT_STATUS_TEMP_FAILURE: return "temp-failure";
    case MS_IMAP_CLIENT_STATUS_AUTH_FAILURE: return "auth-failure";
    case MS_IMAP_CLIENT_STATUS_SERVER_ERROR: return "server-error";
    case MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR: return "protocol-error";
    case MS_IMAP_CLIENT_STATUS_TLS_FAILURE: return "tls-failure";
    case MS_IMAP_CLIENT_STATUS_ABORTED: return "aborted";
    default: return "unknown";
    }
}

void
ms_imap_client_result_free (MsImapClientResult *result)
{
  if (result == NULL)
    return;
  g_free (result->text);
  g_free (result);
}

char *
ms_imap_client_mask_secret (const char *line,
                            const char *mask)
{
  g_auto(GStrv) words = NULL;

  g_return_val_if_fail (line != NULL, NULL);
  g_return_val_if_fail (mask != NULL, NULL);

  words = g_strsplit (line, " ", 4);
  /* "tag LOGIN user password": the password may hold spaces when quoted. */
  if (g_strv_length (words) == 4 && g_ascii_strcasecmp (words[1], "LOGIN") == 0)
    return g_strdup_printf ("%s %s %s %s", words[0], words[1], words[2], mask);
  /* "tag AUTHENTICATE PLAIN initial-response" (RFC 4959). */
  if (g_strv_length (words) == 4 && g_ascii_strcasecmp (words[1], "AUTHENTICATE") == 0)
    return g_strdup_printf ("%s %s %s %s", words[0], words[1], words[2], mask);
  return g_strdup (mask);
}

gboolean
ms_imap_client_append_quoted (GString *out,
                              const char *text)
{
  g_return_val_if_fail (out != NULL && text != NULL, FALSE);

  /* RFC 3501 §9: QUOTED-CHAR is any TEXT-CHAR (7-bit, no CR or LF), with
   * '"' and '\' escaped. */
  for (const char *p = text; *p != '\0'; p++)
    if (*p == '\r' || *p == '\n' || (guchar) *p >= 0x80)
      return FALSE;
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return TRUE;
}

static void
queued_cmd_free (gpointer data)
{
  QueuedCmd *cmd = data;

  if (cmd == NULL)
    return;
  g_free (cmd->mailbox);
  g_free (cmd->mailbox2);
  g_free (cmd->set);
  g_free (cmd->args);
  g_clear_pointer (&cmd->message, g_bytes_unref);
  g_free (cmd);
}

static void
value_free (gpointer data)
{
  Value *value = data;

  if (value == NULL)
    return;
  g_free (value->data);
  g_clear_pointer (&value->items, g_ptr_array_unref);
  g_free (value);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Value, value_free)

/* --- state and output ------------------------------------------------ */

static void
ms_imap_client_set_state (MsImapClient *client,
                          MsImapClientState new_state)
{
  MsImapClientState old_state = client->state;

  if (old_state == new_state)
    return;
  client->state = new_state;
  g_debug ("state %s -> %s", ms_imap_client_state_to_string (old_state),
           ms_imap_client_state_to_string (new_state));
  if (client->output.state_changed != NULL)
    client->output.state_changed (old_state, new_state, client->user_data);
}

static void
send_raw (MsImapClient *client,
          const char *data,
          gsize len,
          MsImapClientTraceFlags flags)
{
  if (client->output.trace != NULL)
    client->output.trace ('C', data, len, flags, client->user_data);
  client->output.send (data, len, client->user_data);
}

/* Sends `line` + CRLF. The trace sees the line without CRLF. */
static void
send_line (MsImapClient *client,
           const char *line,
           MsImapClientTraceFlags flags)
{
  gsize len = strlen (line);
  g_autofree char *wire = g_strconcat (line, "\r\n", NULL);

  if (client->output.trace != NULL)
    client->output.trace ('C', line, len, flags, client->user_data);
  client->output.send (wire, len + 2, client->user_data);
  if (flags & MS_IMAP_CLIENT_TRACE_SECRET)
    OPENSSL_cleanse (wire, len + 2);
}

/* Starts a tagged command: "aN " + the rest. Returns the line to send. */
static GString *
begin_command (MsImapClient *client,
               MsImapClientCommandKind kind,
               gboolean internal)
{
  GString *line = g_string_new (NULL);

  g_snprintf (client->tag, sizeof client->tag, "a%u", ++client->next_tag);
  client->tag_kind = kind;
  client->internal = internal;
  client->capa_seen = FALSE;
  g_string_append_printf (line, "%s ", client->tag);
  return line;
}

static void
finish (MsImapClient *client)
{
  MsImapClientResult *result = g_steal_pointer (&client->result);

  g_assert (result != NULL);
  result->tls = client->tls_active;
  ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_DONE);
  g_debug ("done: %s: %s", ms_imap_client_status_to_string (result->status), result->text);
  client->output.done (result, client->user_data);
}

static void
decide (MsImapClient *client,
        MsImapClientStatus status,
        char *text)
{
  g_assert (!client->outcome_decided);
  client->outcome_decided = TRUE;
  client->result->status = status;
  g_free (client->result->text);
  client->result->text = text;
}

static void decide_and_finish (MsImapClient *client, MsImapClientStatus status,
                               const char *format, ...) G_GNUC_PRINTF (3, 4);

/* For failures after which nothing more can be said to the server. */
static void
decide_and_finish (MsImapClient *client,
                   MsImapClientStatus status,
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

static void perform_logout (MsImapClient *client);

static void fail_and_logout (MsImapClient *client, MsImapClientStatus status,
                             const char *format, ...) G_GNUC_PRINTF (3, 4);

/* For refusals before login: the session is sound, so end it with LOGOUT. */
static void
fail_and_logout (MsImapClient *client,
                 MsImapClientStatus status,
                 const char *format,
                 ...)
{
  va_list args;

  va_start (args, format);
  decide (client, status, g_strdup_vprintf (format, args));
  va_end (args);
  perform_logout (client);
}

static void protocol_error (MsImapClient *client, const char *format, ...) G_GNUC_PRINTF (2, 3);

static void
protocol_error (MsImapClient *client,
                const char *format,
                ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  decide_and_finish (client, MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR,
                     "protocol error in state %s: %s",
                     ms_imap_client_state_to_string (client->state), text);
}

/* --- parsing values (RFC 3501 §4, §9) -------------------------------- */

typedef struct {
  const char *p;
  const char *end;
  guint depth;
  guint max_depth;
  const char *error;     /* static text, set on the first error */
} Parser;

static gboolean
parser_fail (Parser *parser,
             const char *error)
{
  if (parser->error == NULL)
    parser->error = error;
  return FALSE;
}

static gboolean
at_end (Parser *parser)
{
  return parser->p >= parser->end;
}

static gboolean
expect_space (Parser *parser)
{
  if (at_end (parser) || *parser->p != ' ')
    return parser_fail (parser, "a space is missing");
  parser->p++;
  return TRUE;
}

/* ATOM-CHAR (RFC 3501 §9) with '\\' and '*' for flags; ']' only inside
 * brackets, so "BODY[HEADER.FIELDS (DATE)]" reads as one name. */
static gboolean
is_atom_char (char c)
{
  return (guchar) c > 0x20 && (guchar) c < 0x7F && strchr ("(){\"%]", c) == NULL;
}

static char *
parse_atom (Parser *parser,
            gsize *len_r)
{
  const char *start = parser->p;
  guint brackets = 0;

  while (!at_end (parser))
    {
      char c = *parser->p;

      if (c == '[')
        brackets++;
      else if (c == ']' && brackets > 0)
        brackets--;
      else if (brackets > 0)
        {
          /* Inside a section: any printable text, spaces and parens too. */
          if ((guchar) c < 0x20 || (guchar) c >= 0x7F)
            break;
        }
      else if (!is_atom_char (c))
        break;
      parser->p++;
    }
  if (brackets > 0)
    {
      parser_fail (parser, "an unclosed '[' in a name");
      return NULL;
    }
  if (parser->p == start)
    {
      parser_fail (parser, "an atom was expected");
      return NULL;
    }
  *len_r = (gsize) (parser->p - start);
  return g_strndup (start, *len_r);
}

/* A number (RFC 3501 §9: number = 1*DIGIT, an unsigned 32-bit integer). */
static gboolean
parse_u32 (const char *text,
           guint32 *value_r)
{
  guint64 value = 0;

  if (text == NULL || !g_ascii_isdigit (*text))
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    {
      if (!g_ascii_isdigit (*p))
        return FALSE;
      value = value * 10 + (guint) (*p - '0');
      if (value > G_MAXUINT32)
        return FALSE;
    }
  *value_r = (guint32) value;
  return TRUE;
}

static Value *parse_value (Parser *parser);

static Value *
parse_list (Parser *parser)
{
  g_autoptr(Value) value = g_new0 (Value, 1);

  if (parser->depth >= parser->max_depth)
    {
      parser_fail (parser, "lists are nested too deep");
      return NULL;
    }
  parser->depth++;
  parser->p++;     /* '(' */
  value->kind = VALUE_LIST;
  value->items = g_ptr_array_new_with_free_func (value_free);
  for (;;)
    {
      Value *item;

      if (at_end (parser))
        {
          parser_fail (parser, "a list is not closed");
          return NULL;
        }
      if (*parser->p == ')')
        {
          parser->p++;
          break;
        }
      if (value->items->len > 0 && !expect_space (parser))
        return NULL;
      item = parse_value (parser);
      if (item == NULL)
        return NULL;
      g_ptr_array_add (value->items, item);
    }
  parser->depth--;
  return g_steal_pointer (&value);
}

static Value *
parse_quoted (Parser *parser)
{
  g_autoptr(GString) text = g_string_new (NULL);
  Value *value;

  parser->p++;     /* '"' */
  for (;;)
    {
      char c;

      if (at_end (parser))
        {
          parser_fail (parser, "a quoted string is not closed");
          return NULL;
        }
      c = *parser->p++;
      if (c == '"')
        break;
      if (c == '\r' || c == '\n' || c == '\0')
        {
          parser_fail (parser, "a quoted string holds CR, LF or NUL");
          return NULL;
        }
      if (c == '\\')
        {
          if (at_end (parser) || (*parser->p != '"' && *parser->p != '\\'))
            {
              parser_fail (parser, "a bad escape in a quoted string");
              return NULL;
            }
          c = *parser->p++;
        }
      g_string_append_c (text, c);
    }
  value = g_new0 (Value, 1);
  value->kind = VALUE_STRING;
  value->len = text->len;
  value->data = g_string_free (g_steal_pointer (&text), FALSE);
  return value;
}

/* "{n}" CRLF and n octets. The framing already checked n against the limit
 * and that the octets are there; this checks again, as it reads. */
static Value *
parse_literal (Parser *parser)
{
  guint64 n = 0;
  Value *value;

  parser->p++;     /* '{' */
  if (at_end (parser) || !g_ascii_isdigit (*parser->p))
    {
      parser_fail (parser, "a literal without a size");
      return NULL;
    }
  while (!at_end (parser) && g_ascii_isdigit (*parser->p))
    {
      n = n * 10 + (guint) (*parser->p++ - '0');
      if (n > G_MAXUINT32)
        {
          parser_fail (parser, "a literal size is too large");
          return NULL;
        }
    }
  if (parser->end - parser->p < 3 || memcmp (parser->p, "}\r\n", 3) != 0)
    {
      parser_fail (parser, "a literal size is not followed by \"}\" and CRLF");
      return NULL;
    }
  parser->p += 3;
  if ((guint64) (parser->end - parser->p) < n)
    {
      parser_fail (parser, "a literal is shorter than its size");
      return NULL;
    }
  value = g_new0 (Value, 1);
  value->kind = VALUE_STRING;
  value->len = (gsize) n;
  value->data = g_malloc (value->len + 1);
  memcpy (value->data, parser->p, value->len);
  value->data[value->len] = '\0';
  parser->p += value->len;
  return value;
}

static Value *
parse_value (Parser *parser)
{
  Value *value;
  gsize len = 0;
  char *atom;

  if (at_end (parser))
    {
      parser_fail (parser, "the response ends too early");
      return NULL;
    }
  switch (*parser->p)
    {
    case '(':
      return parse_list (parser);
    case '"':
      return parse_quoted (parser);
    case '{':
      return parse_literal (parser);
    default:
      break;
    }
  atom = parse_atom (parser, &len);
  if (atom == NULL)
    return NULL;
  value = g_new0 (Value, 1);
  if (g_ascii_strcasecmp (atom, "NIL") == 0)
    {
      value->kind = VALUE_NIL;
      g_free (atom);
    }
  else
    {
      value->kind = VALUE_ATOM;
      value->data = atom;
      value->len = len;
    }
  return value;
}

/* A word up to the next space or the end (a tag, a keyword). */
static char *
parse_word (Parser *parser)
{
  const char *start = parser->p;

  while (!at_end (parser) && *parser->p != ' ')
    parser->p++;
  return g_strndup (start, (gsize) (parser->p - start));
}

static const char *
value_string (const Value *value)
{
  return value != NULL && (value->kind == VALUE_ATOM || value->kind == VALUE_STRING)
         ? value->data : NULL;
}

/* A list of atoms (flags, attributes) as a NULL-terminated array. */
static GPtrArray *
names_from_list (const Value *list)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; list != NULL && list->kind == VALUE_LIST && i < list->items->len; i++)
    {
      const Value *item = g_ptr_array_index (list->items, i);

      if (item->kind == VALUE_ATOM || item->kind == VALUE_STRING)
        g_ptr_array_add (names, g_strdup (item->data));
    }
  g_ptr_array_add (names, NULL);
  return names;
}

/* --- response text and codes (RFC 3501 §7.1) ------------------------- */

typedef struct {
  MsImapClientCode code;
  gboolean has_code;
  char *name;
  char *args;
  char *source_set;
  char *dest_set;
  const char *text;      /* borrowed from the response */
} RespText;

static void
resp_text_clear (RespText *rt)
{
  g_free (rt->name);
  g_free (rt->args);
  g_free (rt->source_set);
  g_free (rt->dest_set);
}

/* resp-text = ["[" resp-text-code "]" SP] text. A bad code is taken as
 * plain text: it is for humans, and RFC 3501 §7.1 lets clients ignore
 * codes they do not know. */
static void
parse_resp_text (const char *text,
                 RespText *rt)
{
  const char *close;
  const char *space;

  rt->text = text;
  if (text[0] != '[')
    return;
  close = strchr (text, ']');
  if (close == NULL || close == text + 1 || close - text - 1 > CODE_MAX)
    return;
  space = memchr (text + 1, ' ', (gsize) (close - text - 1));
  rt->name = g_ascii_strup (text + 1, (space ? space : close) - text - 1);
  rt->args = space ? g_strndup (space + 1, (gsize) (close - space - 1)) : g_strdup ("");
  rt->text = close[1] == ' ' ? close + 2 : close + 1;
  rt->has_code = TRUE;
  rt->code.name = rt->name;
  rt->code.args = rt->args;

  if (g_str_equal (rt->name, "UIDVALIDITY") || g_str_equal (rt->name, "UIDNEXT") ||
      g_str_equal (rt->name, "UNSEEN"))
    parse_u32 (rt->args, &rt->code.number);
  else if (g_str_equal (rt->name, "APPENDUID") || g_str_equal (rt->name, "COPYUID"))
    {
      /* RFC 4315 §3: "APPENDUID" SP nz-number SP append-uid, and
       * "COPYUID" SP nz-number SP uid-set SP uid-set. */
      g_auto(GStrv) words = g_strsplit (rt->args, " ", 4);
      guint n = g_strv_length (words);

      if (n >= 2 && parse_u32 (words[0], &rt->code.number))
        {
          if (rt->name[0] == 'A' && n == 2)
            parse_u32 (words[1], &rt->code.uid);
          else if (rt->name[0] == 'C' && n == 3)
            {
              rt->source_set = g_strdup (words[1]);
              rt->dest_set = g_strdup (words[2]);
              rt->code.source_set = rt->source_set;
              rt->code.dest_set = rt->dest_set;
            }
        }
    }
}

static void
set_capabilities (MsImapClient *client,
                  const char *text)
{
  g_auto(GStrv) words = g_strsplit (text, " ", -1);

  g_hash_table_remove_all (client->capabilities);
  for (guint i = 0; words[i] != NULL; i++)
    if (words[i][0] != '\0')
      g_hash_table_add (client->capabilities, g_ascii_strup (words[i], -1));
  client->capa_known = TRUE;
  client->capa_seen = TRUE;
}

/* --- perform_<cmd>: send a command and set the state ----------------- */

static void
perform_capability (MsImapClient *client)
{
  g_autoptr(GString) line = begin_command (client, MS_IMAP_CLIENT_CMD_CAPABILITY, TRUE);

  g_string_append (line, "CAPABILITY");
  send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED);
  if (client->state != MS_IMAP_CLIENT_STATE_AUTHENTICATED)
    ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_CAPABILITY);
}

static void
perform_starttls (MsImapClient *client)
{
  g_autoptr(GString) line = begin_command (client, MS_IMAP_CLIENT_CMD_CAPABILITY, TRUE);

  g_string_append (line, "STARTTLS");
  send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED);
  ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_STARTTLS);
}

static void
perform_login (MsImapClient *client)
{
  g_autoptr(GString) line = begin_command (client, MS_IMAP_CLIENT_CMD_CAPABILITY, TRUE);

  /* RFC 3501 §6.2.3: LOGIN userid password, both astrings; quoted ones
   * here (8-bit names go through AUTHENTICATE PLAIN instead). */
  g_string_append (line, "LOGIN ");
  ms_imap_client_append_quoted (line, client->username);
  g_string_append_c (line, ' ');
  ms_imap_client_append_quoted (line, client->password);
  send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED | MS_IMAP_CLIENT_TRACE_SECRET);
  OPENSSL_cleanse (line->str, line->len);
  ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_LOGIN);
}

/* RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd. */
static char *
plain_credentials (MsImapClient *client)
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

/* RFC 3501 §6.2.2, with the initial response on the command line when the
 * server offers SASL-IR (RFC 4959 §3). */
static void
perform_authenticate (MsImapClient *client)
{
  g_autoptr(GString) line = begin_command (client, MS_IMAP_CLIENT_CMD_CAPABILITY, TRUE);

  g_string_append (line, "AUTHENTICATE PLAIN");
  if (ms_imap_client_has_capability (client, "SASL-IR"))
    {
      g_autofree char *encoded = plain_credentials (client);

      g_string_append_printf (line, " %s", encoded);
      OPENSSL_cleanse (encoded, strlen (encoded));
      send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED | MS_IMAP_CLIENT_TRACE_SECRET);
      OPENSSL_cleanse (line->str, line->len);
    }
  else
    send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED);
  ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_AUTHENTICATE);
}

static void
perform_logout (MsImapClient *client)
{
  g_autoptr(GString) line = begin_command (client, MS_IMAP_CLIENT_CMD_LOGOUT, TRUE);

  g_string_append (line, "LOGOUT");
  send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED);
  ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_LOGOUT);
}

static void
append_mailbox (GString *line,
                const char *utf7)
{
  /* Modified UTF-7 is printable ASCII, so it always fits a quoted string. */
  if (!ms_imap_client_append_quoted (line, utf7))
    g_assert_not_reached ();
}

/* RFC 7888: a non-synchronising literal "{n+}" needs no "+" from the
 * server; LITERAL- allows it only up to 4096 octets. */
static gboolean
can_send_literal_plus (MsImapClient *client,
                       gsize size)
{
  return ms_imap_client_has_capability (client, "LITERAL+") ||
         (ms_imap_client_has_capability (client, "LITERAL-") && size <= LITERAL_MINUS_MAX);
}

static void
send_literal_data (MsImapClient *client,
                   GBytes *message)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (message, &len);

  send_raw (client, data != NULL ? data : "", len, MS_IMAP_CLIENT_TRACE_LITERAL);
  /* The CRLF that ends the APPEND command line after the literal. */
  client->output.send ("\r\n", 2, client->user_data);
}

static void
perform_queued (MsImapClient *client,
                QueuedCmd *cmd)
{
  g_autoptr(GString) line = begin_command (client, cmd->kind, FALSE);

  client->current = cmd;
  client->ready_called = FALSE;
  if (cmd->uid)
    g_string_append (line, "UID ");
  g_string_append (line, command_names[cmd->kind]);
  switch (cmd->kind)
    {
    case MS_IMAP_CLIENT_CMD_LIST:
    case MS_IMAP_CLIENT_CMD_LSUB:
      /* RFC 3501 §6.3.8: LIST reference mailbox-pattern. */
      g_string_append (line, " \"\" ");
      append_mailbox (line, cmd->mailbox ? cmd->mailbox : "*");
      if (cmd->args != NULL)
        g_string_append_printf (line, " %s", cmd->args);
      break;
    case MS_IMAP_CLIENT_CMD_CREATE:
    case MS_IMAP_CLIENT_CMD_DELETE:
    case MS_IMAP_CLIENT_CMD_SUBSCRIBE:
    case MS_IMAP_CLIENT_CMD_UNSUBSCRIBE:
    case MS_IMAP_CLIENT_CMD_SELECT:
    case MS_IMAP_CLIENT_CMD_EXAMINE:
      g_string_append_c (line, ' ');
      append_mailbox (line, cmd->mailbox);
      break;
    case MS_IMAP_CLIENT_CMD_RENAME:
      g_string_append_c (line, ' ');
      append_mailbox (line, cmd->mailbox);
      g_string_append_c (line, ' ');
      append_mailbox (line, cmd->mailbox2);
      break;
    case MS_IMAP_CLIENT_CMD_STATUS:
      g_string_append_c (line, ' ');
      append_mailbox (line, cmd->mailbox);
      g_string_append_printf (line, " %s", cmd->args ? cmd->args : "(MESSAGES UNSEEN)");
      break;
    case MS_IMAP_CLIENT_CMD_FETCH:
    case MS_IMAP_CLIENT_CMD_STORE:
      g_string_append_printf (line, " %s %s", cmd->set, cmd->args);
      break;
    case MS_IMAP_CLIENT_CMD_COPY:
    case MS_IMAP_CLIENT_CMD_MOVE:
      g_string_append_printf (line, " %s ", cmd->set);
      append_mailbox (line, cmd->mailbox);
      break;
    case MS_IMAP_CLIENT_CMD_EXPUNGE:
      if (cmd->uid)
        g_string_append_printf (line, " %s", cmd->set);
      break;
    case MS_IMAP_CLIENT_CMD_SEARCH:
      g_string_append_printf (line, " %s", cmd->args);
      break;
    case MS_IMAP_CLIENT_CMD_APPEND:
      {
        gsize size = g_bytes_get_size (cmd->message);
        gboolean plus = can_send_literal_plus (client, size);

        /* RFC 3501 §6.3.11: APPEND mailbox [flag-list] [date-time] literal. */
        g_string_append_c (line, ' ');
        append_mailbox (line, cmd->mailbox);
        if (cmd->args != NULL)
          g_string_append_printf (line, " %s", cmd->args);
        g_string_append_printf (line, " {%" G_GSIZE_FORMAT "%s}", size, plus ? "+" : "");
        client->rest_state = client->state;
        send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED);
        if (plus)
          send_literal_data (client, cmd->message);
        else
          /* RFC 3501 §4.3: wait for the "+" before the octets. */
          ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_APPEND_LITERAL);
        return;
      }
    case MS_IMAP_CLIENT_CMD_IDLE:
      client->rest_state = client->state;
      client->idle_accepted = FALSE;
      client->idle_done_wanted = FALSE;
      client->idle_done_sent = FALSE;
      send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED);
      ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_IDLE);
      return;
    case MS_IMAP_CLIENT_CMD_LOGOUT:
      send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED);
      ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_LOGOUT);
      return;
    case MS_IMAP_CLIENT_CMD_CAPABILITY:
    case MS_IMAP_CLIENT_CMD_NOOP:
    case MS_IMAP_CLIENT_CMD_CLOSE:
    case MS_IMAP_CLIENT_N_COMMANDS:
    default:
      break;
    }
  send_line (client, line->str, MS_IMAP_CLIENT_TRACE_TAGGED);
}

static gboolean
at_rest (MsImapClient *client)
{
  return (client->state == MS_IMAP_CLIENT_STATE_AUTHENTICATED ||
          client->state == MS_IMAP_CLIENT_STATE_SELECTED) && client->tag[0] == '\0';
}

/* Sends the next queued command when nothing is outstanding; when the
 * queue is empty, asks the caller for more (once). */
static void
pump (MsImapClient *client)
{
  if (client->pumping)
    return;
  client->pumping = TRUE;
  while (at_rest (client))
    {
      QueuedCmd *cmd = g_queue_pop_head (client->queue);

      if (cmd != NULL)
        {
          perform_queued (client, cmd);
          continue;
        }
      if (client->ready_called || client->output.ready == NULL)
        break;
      client->ready_called = TRUE;
      client->output.ready (client->user_data);
      if (client->state == MS_IMAP_CLIENT_STATE_DONE)
        return;
    }
  client->pumping = FALSE;
}

/* --- login ----------------------------------------------------------- */

static void
enter_authenticated (MsImapClient *client)
{
  client->result->authenticated = TRUE;
  client->tag[0] = '\0';
  ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_AUTHENTICATED);
  pump (client);
}

static gboolean
is_8bit (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p >= 0x80)
      return TRUE;
  return FALSE;
}

/* After the greeting and CAPABILITY: STARTTLS when required, then log in. */
static void
proceed_login (MsImapClient *client)
{
  gboolean plain;

  if (!client->capa_known)
    {
      perform_capability (client);
      return;
    }
  if (client->tls_mode == MS_IMAP_CLIENT_TLS_STARTTLS && !client->tls_active)
    {
      if (!ms_imap_client_has_capability (client, "STARTTLS"))
        {
          fail_and_logout (client, MS_IMAP_CLIENT_STATUS_TLS_FAILURE,
                           "the server does not offer STARTTLS (RFC 3501 §6.2.1), "
                           "and it was required");
          return;
        }
      perform_starttls (client);
      return;
    }

  plain = client->auth == MS_IMAP_CLIENT_AUTH_PLAIN ||
          (client->auth == MS_IMAP_CLIENT_AUTH_ANY &&
           ms_imap_client_has_capability (client, "AUTH=PLAIN"));
  if (client->auth == MS_IMAP_CLIENT_AUTH_PLAIN && !ms_imap_client_has_capability (client, "AUTH=PLAIN"))
    {
      fail_and_logout (client, MS_IMAP_CLIENT_STATUS_AUTH_FAILURE,
                       "the server does not offer AUTHENTICATE PLAIN (no AUTH=PLAIN capability)");
      return;
    }
  if (!plain && ms_imap_client_has_capability (client, "LOGINDISABLED"))
    {
      /* RFC 3501 §6.2.3: LOGINDISABLED forbids LOGIN, usually until TLS. */
      fail_and_logout (client, MS_IMAP_CLIENT_STATUS_AUTH_FAILURE,
                       "the server refuses LOGIN here (LOGINDISABLED, RFC 3501 §6.2.3)%s",
                       client->tls_active ? "" : "; try --starttls or --tls");
      return;
    }
  if (!plain && (is_8bit (client->username) || is_8bit (client->password)))
    {
      fail_and_logout (client, MS_IMAP_CLIENT_STATUS_AUTH_FAILURE,
                       "a user name or password with 8-bit characters needs AUTHENTICATE PLAIN");
      return;
    }
  if (plain)
    perform_authenticate (client);
  else
    perform_login (client);
}

static void
greeting_resp (MsImapClient *client,
               const char *status,
               const RespText *rt)
{
  if (rt->has_code && g_str_equal (rt->name, "CAPABILITY"))
    set_capabilities (client, rt->args);

  if (g_str_equal (status, "OK"))
    proceed_login (client);
  else if (g_str_equal (status, "PREAUTH"))
    {
      /* RFC 3501 §7.1.4: already logged in, so STARTTLS is not possible. */
      if (client->tls_mode == MS_IMAP_CLIENT_TLS_STARTTLS)
        fail_and_logout (client, MS_IMAP_CLIENT_STATUS_TLS_FAILURE,
                         "the server greeted with PREAUTH, so STARTTLS is not possible");
      else
        enter_authenticated (client);
    }
  else if (g_str_equal (status, "BYE"))
    decide_and_finish (client, MS_IMAP_CLIENT_STATUS_TEMP_FAILURE,
                       "the server refused the connection: * BYE %s", rt->text);
  else
    protocol_error (client, "the greeting is \"* %s\", not OK, PREAUTH or BYE", status);
}

/* --- untagged responses (RFC 3501 §7) -------------------------------- */

static void
emit_untagged (MsImapClient *client,
               const MsImapClientUntagged *untagged)
{
  if (client->output.untagged != NULL)
    client->output.untagged (untagged, client->user_data);
}

static void
section_free (gpointer data)
{
  MsImapClientSection *section = data;

  g_free ((char *) section->name);
  g_bytes_unref (section->data);
  g_free (section);
}

/* FETCH msg-att (RFC 3501 §7.4.2): a list of name value pairs. */
static gboolean
handle_fetch (MsImapClient *client,
              guint32 seq,
              Parser *parser)
{
  g_autoptr(Value) list = NULL;
  g_autoptr(GPtrArray) sections = g_ptr_array_new_with_free_func (section_free);
  g_autoptr(GPtrArray) flags = NULL;
  MsImapClientFetch fetch = { 0 };
  MsImapClientUntagged untagged = { 0 };

  if (!expect_space (parser))
    return FALSE;
  if (at_end (parser) || *parser->p != '(')
    return parser_fail (parser, "FETCH data is not a list");
  list = parse_value (parser);
  if (list == NULL)
    return FALSE;
  if (list->items->len % 2 != 0)
    return parser_fail (parser, "FETCH data is not name-value pairs");
  fetch.seq = seq;
  for (guint i = 0; i < list->items->len; i += 2)
    {
      const Value *name_value = g_ptr_array_index (list->items, i);
      const Value *value = g_ptr_array_index (list->items, i + 1);
      g_autofree char *name = NULL;

      if (name_value->kind != VALUE_ATOM)
        return parser_fail (parser, "a FETCH item name is not an atom");
      name = g_ascii_strup (name_value->data, -1);
      if (g_str_equal (name, "UID"))
        {
          if (!parse_u32 (value_string (value), &fetch.uid) || value->kind != VALUE_ATOM)
            return parser_fail (parser, "FETCH UID is not a number");
        }
      else if (g_str_equal (name, "FLAGS"))
        {
          if (value->kind != VALUE_LIST)
            return parser_fail (parser, "FETCH FLAGS is not a list");
          g_clear_pointer (&flags, g_ptr_array_unref);
          flags = names_from_list (value);
          fetch.has_flags = TRUE;
          fetch.flags = (const char * const *) flags->pdata;
        }
      else if (g_str_equal (name, "INTERNALDATE"))
        fetch.internal_date = value_string (value);
      else if (g_str_equal (name, "RFC822.SIZE"))
        {
          guint32 size;

          if (value->kind != VALUE_ATOM || !parse_u32 (value->data, &size))
            return parser_fail (parser, "FETCH RFC822.SIZE is not a number");
          fetch.size = size;
          fetch.has_size = TRUE;
        }
      else if (g_str_has_prefix (name, "BODY[") || g_str_has_prefix (name, "BINARY[") ||
               g_str_has_prefix (name, "RFC822"))
        {
          MsImapClientSection *section;

          if (value->kind != VALUE_STRING && value->kind != VALUE_NIL)
            return parser_fail (parser, "a FETCH body section is not a string");
          section = g_new0 (MsImapClientSection, 1);
          section->name = g_strdup (name);
          section->data = value->kind == VALUE_STRING ? g_bytes_new (value->data, value->len)
                                                      : g_bytes_new (NULL, 0);
          g_ptr_array_add (sections, section);
        }
      /* ENVELOPE, BODYSTRUCTURE, MODSEQ, ...: parsed, and not used here. */
    }
  fetch.sections = sections;
  untagged.kind = MS_IMAP_CLIENT_UNTAGGED_FETCH;
  untagged.number = seq;
  untagged.fetch = &fetch;
  emit_untagged (client, &untagged);
  return TRUE;
}

/* mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE /
 * nil) SP mailbox (RFC 3501 §9). */
static gboolean
handle_list (MsImapClient *client,
             MsImapClientUntaggedKind kind,
             Parser *parser)
{
  g_autoptr(Value) attrs = NULL;
  g_autoptr(Value) delim = NULL;
  g_autoptr(Value) name = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autofree char *utf8 = NULL;
  MsImapClientUntagged untagged = { 0 };

  if (!expect_space (parser) || at_end (parser) || *parser->p != '(')
    return parser_fail (parser, "LIST attributes are not a list");
  if ((attrs = parse_value (parser)) == NULL || !expect_space (parser) ||
      (delim = parse_value (parser)) == NULL || !expect_space (parser) ||
      (name = parse_value (parser)) == NULL)
    return FALSE;
  if (delim->kind != VALUE_NIL && (delim->kind != VALUE_STRING || delim->len != 1))
    return parser_fail (parser, "a LIST delimiter is not one quoted character or NIL");
  if (name->kind != VALUE_ATOM && name->kind != VALUE_STRING)
    return parser_fail (parser, "a LIST mailbox name is missing");
  if (memchr (name->data, '\0', name->len) != NULL)
    return parser_fail (parser, "a mailbox name holds a NUL byte");
  names = names_from_list (attrs);
  utf8 = ms_imap_utf7_decode (name->data);
  untagged.kind = kind;
  untagged.names = (const char * const *) names->pdata;
  untagged.delimiter = delim->kind == VALUE_NIL ? 0 : delim->data[0];
  untagged.mailbox = utf8 != NULL ? utf8 : name->data;
  emit_untagged (client, &untagged);
  return TRUE;
}

/* "STATUS" SP mailbox SP "(" [status-att-list] ")" (RFC 3501 §7.2.4). */
static gboolean
handle_status (MsImapClient *client,
               Parser *parser)
{
  g_autoptr(Value) name = NULL;
  g_autoptr(Value) items = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autofree char *utf8 = NULL;
  MsImapClientUntagged untagged = { 0 };

  if (!expect_space (parser) || (name = parse_value (parser)) == NULL ||
      !expect_space (parser) || (items = parse_value (parser)) == NULL)
    return FALSE;
  if ((name->kind != VALUE_ATOM && name->kind != VALUE_STRING) || items->kind != VALUE_LIST ||
      items->items->len % 2 != 0)
    return parser_fail (parser, "STATUS is not \"mailbox (name value ...)\"");
  names = names_from_list (items);
  if (names->len - 1 != items->items->len)
    return parser_fail (parser, "STATUS items are not atoms");
  utf8 = ms_imap_utf7_decode (name->data);
  untagged.kind = MS_IMAP_CLIENT_UNTAGGED_STATUS;
  untagged.mailbox = utf8 != NULL ? utf8 : name->data;
  untagged.status_items = (const char * const *) names->pdata;
  emit_untagged (client, &untagged);
  return TRUE;
}

static gboolean
handle_search (MsImapClient *client,
               Parser *parser)
{
  g_autoptr(GArray) numbers = g_array_new (FALSE, FALSE, sizeof (guint32));
  MsImapClientUntagged untagged = { 0 };

  /* "SEARCH" *(SP nz-number); Dovecot may add "(MODSEQ n)", ignored. */
  while (!at_end (parser))
    {
      g_autofree char *word = NULL;
      guint32 n;

      if (!expect_space (parser))
        return FALSE;
      if (!at_end (parser) && *parser->p == '(')
        {
          g_autoptr(Value) ignored = parse_value (parser);
          if (ignored == NULL)
            return FALSE;
          continue;
        }
      word = parse_word (parser);
      if (!parse_u32 (word, &n))
        return parser_fail (parser, "a SEARCH result is not a number");
      g_array_append_val (numbers, n);
    }
  untagged.kind = MS_IMAP_CLIENT_UNTAGGED_SEARCH;
  untagged.numbers = numbers;
  emit_untagged (client, &untagged);
  return TRUE;
}

static gboolean
handle_untagged (MsImapClient *client,
                 Parser *parser,
                 const char *body)
{
  g_autofree char *word = parse_word (parser);
  g_autofree char *keyword = g_ascii_strup (word, -1);
  MsImapClientUntagged untagged = { 0 };
  guint32 number;

  if (parse_u32 (word, &number))
    {
      /* message-data = nz-number SP ("EXPUNGE" / ("FETCH" SP msg-att)),
       * mailbox-data = number SP "EXISTS" / number SP "RECENT". */
      g_autofree char *what_word = NULL;
      g_autofree char *what = NULL;

      if (!expect_space (parser))
        return FALSE;
      what_word = parse_word (parser);
      what = g_ascii_strup (what_word, -1);
      if (g_str_equal (what, "FETCH"))
        {
          /* parse_word stopped at the space before the list. */
          return handle_fetch (client, number, parser);
        }
      if (!at_end (parser))
        return parser_fail (parser, "text after a number response");
      if (g_str_equal (what, "EXISTS"))
        untagged.kind = MS_IMAP_CLIENT_UNTAGGED_EXISTS;
      else if (g_str_equal (what, "RECENT"))
        untagged.kind = MS_IMAP_CLIENT_UNTAGGED_RECENT;
      else if (g_str_equal (what, "EXPUNGE"))
        untagged.kind = MS_IMAP_CLIENT_UNTAGGED_EXPUNGE;
      else
        untagged.kind = MS_IMAP_CLIENT_UNTAGGED_OTHER;
      untagged.number = number;
      untagged.text = body;
      emit_untagged (client, &untagged);
      return TRUE;
    }

  if (g_str_equal (keyword, "OK") || g_str_equal (keyword, "NO") || g_str_equal (keyword, "BAD") ||
      g_str_equal (keyword, "BYE") || g_str_equal (keyword, "PREAUTH"))
    {
      RespText rt = { 0 };

      parse_resp_text (at_end (parser) ? "" : parser->p + 1, &rt);
      parser->p = parser->end;
      if (rt.has_code && g_str_equal (rt.name, "CAPABILITY"))
        set_capabilities (client, rt.args);
      if (client->state == MS_IMAP_CLIENT_STATE_GREETING)
        {
          greeting_resp (client, keyword, &rt);
          resp_text_clear (&rt);
          return TRUE;
        }
      untagged.kind = MS_IMAP_CLIENT_UNTAGGED_STATUS_RESPONSE;
      untagged.status = keyword;
      untagged.code = rt.has_code ? &rt.code : NULL;
      untagged.text = rt.text;
      emit_untagged (client, &untagged);
      if (g_str_equal (keyword, "BYE") && client->state != MS_IMAP_CLIENT_STATE_LOGOUT &&
          !client->outcome_decided)
        {
          /* RFC 3501 §7.1.5: the server is closing the connection. */
          decide (client, MS_IMAP_CLIENT_STATUS_TEMP_FAILURE,
                  g_strdup_printf ("the server closed the session: * BYE %s", rt.text));
        }
      resp_text_clear (&rt);
      return TRUE;
    }
  if (client->state == MS_IMAP_CLIENT_STATE_GREETING)
    return parser_fail (parser, "the greeting is not OK, PREAUTH or BYE");

  if (g_str_equal (keyword, "CAPABILITY"))
    {
      g_auto(GStrv) names = NULL;

      set_capabilities (client, at_end (parser) ? "" : parser->p + 1);
      names = g_strsplit (at_end (parser) ? "" : parser->p + 1, " ", -1);
      parser->p = parser->end;
      untagged.kind = MS_IMAP_CLIENT_UNTAGGED_CAPABILITY;
      untagged.names = (const char * const *) names;
      emit_untagged (client, &untagged);
      return TRUE;
    }
  if (g_str_equal (keyword, "LIST"))
    return handle_list (client, MS_IMAP_CLIENT_UNTAGGED_LIST, parser);
  if (g_str_equal (keyword, "LSUB"))
    return handle_list (client, MS_IMAP_CLIENT_UNTAGGED_LSUB, parser);
  if (g_str_equal (keyword, "STATUS"))
    return handle_status (client, parser);
  if (g_str_equal (keyword, "SEARCH"))
    return handle_search (client, parser);
  if (g_str_equal (keyword, "FLAGS"))
    {
      g_autoptr(Value) list = NULL;
      g_autoptr(GPtrArray) names = NULL;

      if (!expect_space (parser) || at_end (parser) || *parser->p != '(' ||
          (list = parse_value (parser)) == NULL)
        return parser_fail (parser, "FLAGS is not a list");
      names = names_from_list (list);
      untagged.kind = MS_IMAP_CLIENT_UNTAGGED_FLAGS;
      untagged.names = (const char * const *) names->pdata;
      emit_untagged (client, &untagged);
      return TRUE;
    }
  untagged.kind = MS_IMAP_CLIENT_UNTAGGED_OTHER;
  untagged.text = body;
  parser->p = parser->end;
  emit_untagged (client, &untagged);
  return TRUE;
}

/* --- tagged responses and continuations ------------------------------ */

static void
complete_queued (MsImapClient *client,
                 const char *status,
                 const RespText *rt)
{
  QueuedCmd *cmd = g_steal_pointer (&client->current);
  MsImapClientResponse response = { 0 };
  gboolean ok = g_str_equal (status, "OK");
  char tag[sizeof client->tag];

  g_strlcpy (tag, client->tag, sizeof tag);
  client->tag[0] = '\0';
  /* RFC 3501 §6.3.1: SELECT or EXAMINE, even failed, closes the selected
   * mailbox; CLOSE (§6.4.2) goes back to the authenticated state. */
  switch (cmd->kind)
    {
    case MS_IMAP_CLIENT_CMD_SELECT:
    case MS_IMAP_CLIENT_CMD_EXAMINE:
      ms_imap_client_set_state (client, ok ? MS_IMAP_CLIENT_STATE_SELECTED
                                           : MS_IMAP_CLIENT_STATE_AUTHENTICATED);
      break;
    case MS_IMAP_CLIENT_CMD_CLOSE:
      if (ok)
        ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_AUTHENTICATED);
      break;
    case MS_IMAP_CLIENT_CMD_IDLE:
    case MS_IMAP_CLIENT_CMD_APPEND:
      ms_imap_client_set_state (client, client->rest_state);
      break;
    default:
      break;
    }
  response.kind = cmd->kind;
  response.tag = tag;
  response.ok = ok;
  response.status = status;
  response.code = rt->has_code ? &rt->code : NULL;
  response.text = rt->text;
  client->pumping = TRUE;
  if (client->output.response != NULL)
    client->output.response (&response, client->user_data);
  queued_cmd_free (cmd);
  if (client->state == MS_IMAP_CLIENT_STATE_DONE)
    return;
  client->pumping = FALSE;
  pump (client);
}

static void
logout_resp (MsImapClient *client,
             const char *status,
             const RespText *rt)
{
  g_clear_pointer (&client->current, queued_cmd_free);
  if (!client->outcome_decided)
    {
      if (g_str_equal (status, "OK"))
        decide (client, MS_IMAP_CLIENT_STATUS_OK, g_strdup_printf ("LOGOUT: %s", rt->text));
      else
        decide (client, MS_IMAP_CLIENT_STATUS_SERVER_ERROR,
                g_strdup_printf ("LOGOUT refused: %s %s", status, rt->text));
    }
  finish (client);
}

static void
handle_tagged (MsImapClient *client,
               const char *tag,
               Parser *parser)
{
  g_autofree char *word = NULL;
  g_autofree char *status = NULL;
  RespText rt = { 0 };
  gboolean ok;

  if (client->tag[0] == '\0' || strcmp (tag, client->tag) != 0)
    {
      protocol_error (client, "a tagged response \"%s\" to no command in flight (expected \"%s\")",
                      tag, client->tag[0] ? client->tag : "none");
      return;
    }
  if (!expect_space (parser))
    {
      protocol_error (client, "a tagged response without a status");
      return;
    }
  word = parse_word (parser);
  status = g_ascii_strup (word, -1);
  if (!g_str_equal (status, "OK") && !g_str_equal (status, "NO") && !g_str_equal (status, "BAD"))
    {
      protocol_error (client, "a tagged response is \"%s\", not OK, NO or BAD", word);
      return;
    }
  ok = g_str_equal (status, "OK");
  parse_resp_text (at_end (parser) ? "" : parser->p + 1, &rt);
  if (rt.has_code && g_str_equal (rt.name, "CAPABILITY"))
    set_capabilities (client, rt.args);

  switch (client->state)
    {
    case MS_IMAP_CLIENT_STATE_CAPABILITY:
      client->tag[0] = '\0';
      if (!ok)
        fail_and_logout (client, MS_IMAP_CLIENT_STATUS_SERVER_ERROR,
                         "CAPABILITY refused: %s %s", status, rt.text);
      else if (!client->capa_known)
        protocol_error (client, "CAPABILITY answered OK without listing the capabilities");
      else
        proceed_login (client);
      break;
    case MS_IMAP_CLIENT_STATE_STARTTLS:
      client->tag[0] = '\0';
      if (!ok)
        fail_and_logout (client, MS_IMAP_CLIENT_STATUS_TLS_FAILURE,
                         "STARTTLS refused: %s %s", status, rt.text);
      else
        {
          ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_TLS_HANDSHAKE);
          client->output.start_tls (client->user_data);
        }
      break;
    case MS_IMAP_CLIENT_STATE_LOGIN:
    case MS_IMAP_CLIENT_STATE_AUTHENTICATE:
      client->tag[0] = '\0';
      if (!ok)
        fail_and_logout (client, MS_IMAP_CLIENT_STATUS_AUTH_FAILURE,
                         "the login was refused: %s %s", status, rt.text);
      else if (!client->capa_seen)
        {
          /* RFC 3501 §6.2.3: capabilities may change after login; ask
           * again unless the server said them with the OK. */
          client->result->authenticated = TRUE;
          g_hash_table_remove_all (client->capabilities);
          client->capa_known = FALSE;
          ms_imap_client_set_state (client, MS_IMAP_CLIENT_STATE_AUTHENTICATED);
          perform_capability (client);
          client->internal = TRUE;
        }
      else
        enter_authenticated (client);
      break;
    case MS_IMAP_CLIENT_STATE_LOGOUT:
      logout_resp (client, status, &rt);
      break;
    case MS_IMAP_CLIENT_STATE_AUTHENTICATED:
    case MS_IMAP_CLIENT_STATE_SELECTED:
    case MS_IMAP_CLIENT_STATE_APPEND_LITERAL:
    case MS_IMAP_CLIENT_STATE_IDLE:
      if (client->internal)
        {
          /* The CAPABILITY after login. */
          if (!client->capa_known)
            client->capa_known = TRUE;
          enter_authenticated (client);
        }
      else if (client->state == MS_IMAP_CLIENT_STATE_APPEND_LITERAL && ok)
        protocol_error (client, "APPEND was answered OK before its literal was sent");
      else
        complete_queued (client, status, &rt);
      break;
    case MS_IMAP_CLIENT_STATE_GREETING:
    case MS_IMAP_CLIENT_STATE_TLS_HANDSHAKE:
    case MS_IMAP_CLIENT_STATE_DONE:
    case MS_IMAP_CLIENT_N_STATES:
    default:
      protocol_error (client, "an unexpected tagged response");
      break;
    }
  resp_text_clear (&rt);
}

static void
send_idle_done (MsImapClient *client)
{
  client->idle_done_sent = TRUE;
  /* RFC 2177 §3: "DONE" ends the IDLE command. */
  send_line (client, "DONE", MS_IMAP_CLIENT_TRACE_NONE);
}

static void
handle_continuation (MsImapClient *client)
{
  switch (client->state)
    {
    case MS_IMAP_CLIENT_STATE_APPEND_LITERAL:
      send_literal_data (client, client->current->message);
      ms_imap_client_set_state (client, client->rest_state);
      break;
    case MS_IMAP_CLIENT_STATE_IDLE:
      if (client->idle_accepted)
        {
          protocol_error (client, "a second \"+\" during IDLE");
          return;
        }
      client->idle_accepted = TRUE;
      if (client->idle_done_wanted)
        send_idle_done (client);
      break;
    case MS_IMAP_CLIENT_STATE_AUTHENTICATE:
      {
        /* RFC 3501 §6.2.2: PLAIN has no challenge; the empty "+" asks for
         * the credentials, sent as one base64 line. */
        g_autofree char *encoded = plain_credentials (client);

        send_line (client, encoded, MS_IMAP_CLIENT_TRACE_SECRET);
        OPENSSL_cleanse (encoded, strlen (encoded));
      }
      break;
    default:
      protocol_error (client, "an unexpected continuation request \"+\"");
      break;
    }
}

/* One whole response: `data` is as on the wire without the final CRLF. */
static void
process_response (MsImapClient *client,
                  const char *data,
                  gsize len)
{
  Parser parser = { data, data + len, 0, client->max_depth, NULL };
  g_autofree char *first = NULL;

  if (client->state == MS_IMAP_CLIENT_STATE_TLS_HANDSHAKE)
    {
      /* RFC 3501 §6.2.1: nothing may come between OK and the handshake. */
      protocol_error (client, "the server sent data before the TLS handshake");
      return;
    }
  if (len >= 1 && data[0] == '+' && (len == 1 || data[1] == ' '))
    {
      handle_continuation (client);
      return;
    }
  if (memchr (data, '\0', len) != NULL && memchr (data, '{', len) == NULL)
    {
      protocol_error (client, "a NUL byte in a response line");
      return;
    }
  first = parse_word (&parser);
  if (g_str_equal (first, "*"))
    {
      const char *body = parser.p < parser.end ? parser.p + 1 : "";

      if (!expect_space (&parser) || !handle_untagged (client, &parser, body) ||
          (parser.error == NULL && !at_end (&parser) && client->state != MS_IMAP_CLIENT_STATE_DONE &&
           !parser_fail (&parser, "extra text after a response")))
        {
          g_autofree char *shown = g_strndup (data, MIN (len, 60));

          if (client->state != MS_IMAP_CLIENT_STATE_DONE)
            protocol_error (client, "%s: \"%s\"", parser.error ? parser.error : "bad response",
                            shown);
        }
      return;
    }
  if (first[0] == '\0')
    {
      protocol_error (client, "an empty response line");
      return;
    }
  handle_tagged (client, first, &parser);
}

/* --- framing (RFC 3501 §4.3: a line may end in "{n}", then n octets) --- */

/* The size of a literal announced at the end of a line, or -1. */
static gint64
literal_at_end (const char *line,
                gsize len)
{
  gsize i;
  guint64 n = 0;

  if (len < 3 || line[len - 1] != '}')
    return -1;
  i = len - 1;
  while (i > 0 && g_ascii_isdigit (line[i - 1]))
    i--;
  if (i == 0 || i == len - 1 || line[i - 1] != '{' || len - 1 - i > 10)
    return -1;
  for (gsize j = i; j < len - 1; j++)
    n = n * 10 + (guint) (line[j] - '0');
  if (n > G_MAXUINT32)
    return G_MAXINT64;
  return (gint64) n;
}

static void
response_reset (MsImapClient *client)
{
  g_string_truncate (client->response, 0);
  client->line_start = 0;
  client->literal_left = 0;
}

/* A line of the response is complete (without its CRLF, at line_start). */
static void
line_complete (MsImapClient *client)
{
  const char *line = client->response->str + client->line_start;
  gsize len = client->response->len - client->line_start;
  gint64 literal = literal_at_end (line, len);

  if (client->output.trace != NULL)
    client->output.trace ('S', line, len, MS_IMAP_CLIENT_TRACE_NONE, client->user_data);
  if (client->state == MS_IMAP_CLIENT_STATE_DONE)
    return;
  if (literal >= 0)
    {
      if ((guint64) literal > client->max_literal_size)
        {
          protocol_error (client, "a literal of %" G_GINT64_FORMAT " octets, over the limit of %"
                          G_GSIZE_FORMAT, literal, client->max_literal_size);
          return;
        }
      if ((guint64) literal + 2 > client->max_response_size - client->response->len)
        {
          protocol_error (client, "a response over the limit of %" G_GSIZE_FORMAT " octets",
                          client->max_response_size);
          return;
        }
      g_string_append (client->response, "\r\n");
      client->literal_left = (gsize) literal;
      client->literal_start = client->response->len;
      client->line_start = client->response->len;
      return;
    }
  {
    /* Copy out: the handlers may queue commands that reuse nothing of
     * ours, but the buffer is reset before they can feed again. */
    gsize total = client->response->len;
    g_autofree char *data = g_malloc (total + 1);

    memcpy (data, client->response->str, total + 1);
    response_reset (client);
    process_response (client, data, total);
  }
}

static void
literal_complete (MsImapClient *client)
{
  if (client->output.trace != NULL)
    client->output.trace ('S', client->response->str + client->literal_start,
                          client->response->len - client->literal_start,
                          MS_IMAP_CLIENT_TRACE_LITERAL, client->user_data);
  client->line_start = client->response->len;
}

/* Takes what it can of data[0..len) and returns how much it took. */
static gsize
feed_some (MsImapClient *client,
           const char *data,
           gsize len)
{
  const char *lf;
  gsize take;
  gsize line_len;

  if (client->literal_left > 0)
    {
      take = MIN (len, client->literal_left);
      g_string_append_len (client->response, data, (gssize) take);
      client->literal_left -= take;
      if (client->literal_left == 0)
        literal_complete (client);
      return take;
    }

  lf = memchr (data, '\n', len);
  take = lf ? (gsize) (lf - data) : len;
  line_len = client->response->len - client->line_start;
  /* +1: the CR before the LF is counted until it is stripped. */
  if (take > client->max_line_length + 1 - line_len)
    {
      protocol_error (client, "a response line longer than %" G_GSIZE_FORMAT " octets",
                      client->max_line_length);
      return len;
    }
  if (take > client->max_response_size - client->response->len)
    {
      protocol_error (client, "a response over the limit of %" G_GSIZE_FORMAT " octets",
                      client->max_response_size);
      return len;
    }
  g_string_append_len (client->response, data, (gssize) take);
  if (lf == NULL)
    return len;
  /* The LF ends the line; a CR before it is part of the line end. */
  if (client->response->len > client->line_start &&
      client->response->str[client->response->len - 1] == '\r')
    g_string_truncate (client->response, client->response->len - 1);
  if (client->response->len - client->line_start > client->max_line_length)
    {
      protocol_error (client, "a response line longer than %" G_GSIZE_FORMAT " octets",
                      client->max_line_length);
      return len;
    }
  line_complete (client);
  return take + 1;
}

/* --- public ---------------------------------------------------------- */

MsImapClient *
ms_imap_client_new (const MsImapClientParams *params,
                    const MsImapClientOutput *output,
                    gpointer user_data)
{
  MsImapClient *client;

  g_return_val_if_fail (params != NULL, NULL);
  g_return_val_if_fail (params->username != NULL && params->password != NULL, NULL);
  g_return_val_if_fail (strpbrk (params->username, "\r\n") == NULL, NULL);
  g_return_val_if_fail (strpbrk (params->password, "\r\n") == NULL, NULL);
  g_return_val_if_fail (output != NULL, NULL);
  g_return_val_if_fail (output->send != NULL && output->done != NULL, NULL);
  g_return_val_if_fail (output->start_tls != NULL || params->tls != MS_IMAP_CLIENT_TLS_STARTTLS, NULL);

  client = g_new0 (MsImapClient, 1);
  client->state = MS_IMAP_CLIENT_STATE_GREETING;
  client->tls_mode = params->tls;
  client->tls_active = params->tls == MS_IMAP_CLIENT_TLS_IMPLICIT;
  client->auth = params->auth;
  client->username = g_strdup (params->username);
  client->password = g_strdup (params->password);
  client->max_line_length = params->max_line_length ? params->max_line_length
                                                    : MS_IMAP_CLIENT_DEFAULT_MAX_LINE_LENGTH;
  client->max_literal_size = params->max_literal_size ? params->max_literal_size
                                                      : MS_IMAP_CLIENT_DEFAULT_MAX_LITERAL_SIZE;
  client->max_response_size = params->max_response_size ? params->max_response_size
                                                        : MS_IMAP_CLIENT_DEFAULT_MAX_RESPONSE_SIZE;
  client->max_depth = params->max_depth ? params->max_depth : MS_IMAP_CLIENT_DEFAULT_MAX_DEPTH;
  client->output = *output;
  client->user_data = user_data;
  client->response = g_string_new (NULL);
  client->queue = g_queue_new ();
  client->capabilities = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  client->result = g_new0 (MsImapClientResult, 1);
  client->result->status = MS_IMAP_CLIENT_STATUS_TEMP_FAILURE;
  client->result->text = g_strdup ("the session did not finish");
  return client;
}

void
ms_imap_client_free (MsImapClient *client)
{
  if (client == NULL)
    return;
  if (client->feeding)
    {
      client->free_pending = TRUE;
      return;
    }
  if (client->password != NULL)
    OPENSSL_cleanse (client->password, strlen (client->password));
  g_free (client->password);
  g_free (client->username);
  g_string_free (client->response, TRUE);
  g_queue_free_full (client->queue, queued_cmd_free);
  queued_cmd_free (client->current);
  g_hash_table_unref (client->capabilities);
  ms_imap_client_result_free (client->result);
  g_free (client);
}

void
ms_imap_client_feed (MsImapClient *client,
                     const char *data,
                     gsize len)
{
  g_return_if_fail (client != NULL);
  g_return_if_fail (data != NULL || len == 0);

  client->feeding = TRUE;
  while (len > 0 && client->state != MS_IMAP_CLIENT_STATE_DONE)
    {
      gsize took = feed_some (client, data, len);

      data += took;
      len -= took;
    }
  client->feeding = FALSE;
  if (client->free_pending)
    ms_imap_client_free (client);
}

gsize
ms_imap_client_get_literal_pending (MsImapClient *client)
{
  g_return_val_if_fail (client != NULL, 0);
  return client->state == MS_IMAP_CLIENT_STATE_DONE ? 0 : client->literal_left;
}

void
ms_imap_client_tls_done (MsImapClient *client,
                         gboolean ok,
                         const char *error)
{
  g_return_if_fail (client != NULL);
  g_return_if_fail (client->state == MS_IMAP_CLIENT_STATE_TLS_HANDSHAKE);

  if (!ok)
    {
      decide_and_finish (client, MS_IMAP_CLIENT_STATUS_TLS_FAILURE,
                         "the TLS handshake failed: %s", error ? error : "unknown error");
      return;
    }
  client->tls_active = TRUE;
  /* RFC 3501 §6.2.1: discard the capabilities learnt in plain text. */
  g_hash_table_remove_all (client->capabilities);
  client->capa_known = FALSE;
  perform_capability (client);
}

static char *
encode_mailbox (const char *name)
{
  if (name == NULL)
    return NULL;
  return ms_imap_utf7_encode (name);
}

static gboolean
has_line_break (const char *text)
{
  return text != NULL && strpbrk (text, "\r\n") != NULL;
}

gboolean
ms_imap_client_enqueue (MsImapClient *client,
                        const MsImapClientCommand *command)
{
  g_autoptr(GPtrArray) owned = NULL;
  QueuedCmd *cmd;
  gboolean needs_mailbox = FALSE;
  gboolean needs_set = FALSE;

  g_return_val_if_fail (client != NULL && command != NULL, FALSE);
  g_return_val_if_fail ((guint) command->kind < MS_IMAP_CLIENT_N_COMMANDS, FALSE);

  if (client->state == MS_IMAP_CLIENT_STATE_DONE || client->logout_queued ||
      client->state == MS_IMAP_CLIENT_STATE_LOGOUT)
    {
      g_warning ("%s queued after LOGOUT or the end of the session; ignored",
                 command_names[command->kind]);
      return FALSE;
    }
  switch (command->kind)
    {
    case MS_IMAP_CLIENT_CMD_CREATE:
    case MS_IMAP_CLIENT_CMD_DELETE:
    case MS_IMAP_CLIENT_CMD_RENAME:
    case MS_IMAP_CLIENT_CMD_SUBSCRIBE:
    case MS_IMAP_CLIENT_CMD_UNSUBSCRIBE:
    case MS_IMAP_CLIENT_CMD_STATUS:
    case MS_IMAP_CLIENT_CMD_SELECT:
    case MS_IMAP_CLIENT_CMD_EXAMINE:
    case MS_IMAP_CLIENT_CMD_APPEND:
      needs_mailbox = TRUE;
      break;
    case MS_IMAP_CLIENT_CMD_COPY:
    case MS_IMAP_CLIENT_CMD_MOVE:
      needs_mailbox = TRUE;
      needs_set = TRUE;
      break;
    case MS_IMAP_CLIENT_CMD_FETCH:
    case MS_IMAP_CLIENT_CMD_STORE:
      needs_set = TRUE;
      break;
    case MS_IMAP_CLIENT_CMD_EXPUNGE:
      needs_set = command->uid;
      break;
    default:
      break;
    }
  if ((needs_mailbox && command->mailbox == NULL) ||
      (command->kind == MS_IMAP_CLIENT_CMD_RENAME && command->mailbox2 == NULL) ||
      (needs_set && (command->set == NULL || command->set[0] == '\0')) ||
      ((command->kind == MS_IMAP_CLIENT_CMD_FETCH || command->kind == MS_IMAP_CLIENT_CMD_STORE ||
        command->kind == MS_IMAP_CLIENT_CMD_SEARCH) && command->args == NULL) ||
      (command->kind == MS_IMAP_CLIENT_CMD_APPEND && command->message == NULL))
    {
      g_warning ("%s queued without its arguments; ignored", command_names[command->kind]);
      return FALSE;
    }
  /* A CR or LF would end the command line early and smuggle in another. */
  if (has_line_break (command->set) || has_line_break (command->args) ||
      (command->set != NULL && strchr (command->set, ' ') != NULL))
    {
      g_warning ("%s: a set or argument holds a line break; ignored", command_names[command->kind]);
      return FALSE;
    }

  cmd = g_new0 (QueuedCmd, 1);
  cmd->kind = command->kind;
  cmd->uid = command->uid;
  cmd->mailbox = encode_mailbox (command->mailbox);
  cmd->mailbox2 = encode_mailbox (command->mailbox2);
  if ((command->mailbox != NULL && cmd->mailbox == NULL) ||
      (command->mailbox2 != NULL && cmd->mailbox2 == NULL))
    {
      queued_cmd_free (cmd);
      g_warning ("%s: a mailbox name is not valid UTF-8; ignored", command_names[command->kind]);
      return FALSE;
    }
  cmd->set = g_strdup (command->set);
  cmd->args = g_strdup (command->args);
  cmd->message = command->message ? g_bytes_ref (command->message) : NULL;
  g_queue_push_tail (client->queue, cmd);
  if (command->kind == MS_IMAP_CLIENT_CMD_LOGOUT)
    client->logout_queued = TRUE;
  pump (client);
  return TRUE;
}

guint
ms_imap_client_get_queue_length (MsImapClient *client)
{
  g_return_val_if_fail (client != NULL, 0);

  return g_queue_get_length (client->queue) + (client->current != NULL);
}

void
ms_imap_client_idle_done (MsImapClient *client)
{
  g_return_if_fail (client != NULL);

  if (client->state != MS_IMAP_CLIENT_STATE_IDLE || client->idle_done_sent)
    return;
  client->idle_done_wanted = TRUE;
  if (client->idle_accepted)
    send_idle_done (client);
}

void
ms_imap_client_connection_closed (MsImapClient *client,
                                  const char *reason)
{
  g_return_if_fail (client != NULL);

  if (client->state == MS_IMAP_CLIENT_STATE_DONE)
    return;
  if (client->state == MS_IMAP_CLIENT_STATE_LOGOUT && !client->outcome_decided)
    {
      /* RFC 3501 §6.1.3: after LOGOUT the server closes; some do so
       * before the tagged OK reaches us. Nothing is lost. */
      decide_and_finish (client, MS_IMAP_CLIENT_STATUS_OK, "LOGOUT: the server closed the connection");
      return;
    }
  decide_and_finish (client, MS_IMAP_CLIENT_STATUS_TEMP_FAILURE,
                     "the connection closed in state %s: %s",
                     ms_imap_client_state_to_string (client->state), reason ? reason : "closed");
}

void
ms_imap_client_abort (MsImapClient *client,
                      MsImapClientStatus status,
                      const char *text)
{
  g_return_if_fail (client != NULL);
  g_return_if_fail (text != NULL);

  if (client->state == MS_IMAP_CLIENT_STATE_DONE)
    return;
  decide_and_finish (client, status, "%s", text);
}

MsImapClientState
ms_imap_client_get_state (MsImapClient *client)
{
  g_return_val_if_fail (client != NULL, MS_IMAP_CLIENT_STATE_DONE);
  return client->state;
}

gboolean
ms_imap_client_is_done (MsImapClient *client)
{
  g_return_val_if_fail (client != NULL, TRUE);
  return client->state == MS_IMAP_CLIENT_STATE_DONE;
}

gboolean
ms_imap_client_has_capability (MsImapClient *client,
                               const char *name)
{
  g_autofree char *upper = NULL;

  g_return_val_if_fail (client != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  upper = g_ascii_strup (name, -1);
  return g_hash_table_contains (client->capabilities, upper);
}
