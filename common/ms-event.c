/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-event"

#include "config.h"

#include "ms-event.h"

#include <math.h>
#include <string.h>
#include <time.h>

G_DEFINE_QUARK (ms-event-error-quark, ms_event_error)

/* The names used in the `kind` member of docs/trace-format.md. */
static const char * const kind_names[MS_EVENT_N_KINDS] = {
  [MS_EVENT_SESSION_OPEN] = "session-open",
  [MS_EVENT_SESSION_CLOSE] = "session-close",
  [MS_EVENT_COMMAND] = "command",
  [MS_EVENT_REPLY] = "reply",
  [MS_EVENT_DATA] = "data",
  [MS_EVENT_STATE] = "state",
  [MS_EVENT_TLS] = "tls",
  [MS_EVENT_AUTH] = "auth",
  [MS_EVENT_STORE] = "store",
  [MS_EVENT_RELAY] = "relay",
  [MS_EVENT_STEP] = "step",
  [MS_EVENT_SNAPSHOT] = "snapshot",
};

/* Members every event carries; kind-specific fields may not reuse them. */
typedef enum {
  ENVELOPE_V,
  ENVELOPE_SEQ,
  ENVELOPE_TIME,
  ENVELOPE_SERVER,
  ENVELOPE_KIND,
  N_ENVELOPE_MEMBERS
} EnvelopeMember;

static const char * const envelope_members[N_ENVELOPE_MEMBERS] = {
  [ENVELOPE_V] = "v",
  [ENVELOPE_SEQ] = "seq",
  [ENVELOPE_TIME] = "time",
  [ENVELOPE_SERVER] = "server",
  [ENVELOPE_KIND] = "kind",
};

const char *
ms_event_kind_to_string (MsEventKind kind)
{
  g_return_val_if_fail (kind < MS_EVENT_N_KINDS, "unknown");
  return kind_names[kind];
}

gboolean
ms_event_kind_from_string (const char *name,
                           MsEventKind *kind_r)
{
  for (guint i = 0; i < MS_EVENT_N_KINDS; i++)
    {
      if (g_strcmp0 (name, kind_names[i]) == 0)
        {
          *kind_r = i;
          return TRUE;
        }
    }
  return FALSE;
}

/* Takes `server` and `fields`. */
static MsEvent *
event_new_take (MsEventKind kind,
                char *server,
                JsonObject *fields)
{
  MsEvent *event = g_new0 (MsEvent, 1);

  g_atomic_ref_count_init (&event->ref_count);
  event->kind = kind;
  event->server = server;
  event->fields = fields;
  return event;
}

MsEvent *
ms_event_new (MsEventKind kind,
              const char *server)
{
  g_return_val_if_fail (kind < MS_EVENT_N_KINDS, NULL);
  return event_new_take (kind, g_strdup (server), json_object_new ());
}

MsEvent *
ms_event_ref (MsEvent *event)
{
  g_return_val_if_fail (event != NULL, NULL);
  g_atomic_ref_count_inc (&event->ref_count);
  return event;
}

void
ms_event_unref (MsEvent *event)
{
  g_return_if_fail (event != NULL);

  if (!g_atomic_ref_count_dec (&event->ref_count))
    return;

  g_free (event->server);
  json_object_unref (event->fields);
  g_free (event);
}

void
ms_event_set_string (MsEvent *event,
                     const char *name,
                     const char *value)
{
  g_return_if_fail (event != NULL && name != NULL);

  if (value == NULL)
    return;
  if (!g_utf8_validate (value, -1, NULL))
    {
      ms_event_set_bytes_text (event, name, value, strlen (value));
      return;
    }
  json_object_set_string_member (event->fields, name, value);
}

void
ms_event_set_bytes_text (MsEvent *event,
                         const char *name,
                         const char *data,
                         gsize len)
{
  g_autofree char *valid = NULL;

  g_return_if_fail (event != NULL && name != NULL);

  /* Bytes from the network are not always UTF-8 (or even text); JSON strings
   * must be. g_utf8_make_valid() also maps NUL bytes to U+FFFD. */
  valid = g_utf8_make_valid (data, len);
  json_object_set_string_member (event->fields, name, valid);
}

void
ms_event_set_int (MsEvent *event,
                  const char *name,
                  gint64 value)
{
  g_return_if_fail (event != NULL && name != NULL);
  json_object_set_int_member (event->fields, name, value);
}

void
ms_event_set_bool (MsEvent *event,
                   const char *name,
                   gboolean value)
{
  g_return_if_fail (event != NULL && name != NULL);
  json_object_set_boolean_member (event->fields, name, value);
}

void
ms_event_set_array (MsEvent *event,
                    const char *name,
                    JsonArray *array)
{
  g_return_if_fail (event != NULL && name != NULL && array != NULL);
  json_object_set_array_member (event->fields, name, array);
}

void
ms_event_set_object (MsEvent *event,
                     const char *name,
                     JsonObject *object)
{
  g_return_if_fail (event != NULL && name != NULL && object != NULL);
  json_object_set_object_member (event->fields, name, object);
}

static JsonNode *
lookup_value (const MsEvent *event,
              const char *name)
{
  JsonNode *node = json_object_get_member (event->fields, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  return node;
}

const char *
ms_event_get_string (const MsEvent *event,
                     const char *name)
{
  JsonNode *node;

  g_return_val_if_fail (event != NULL && name != NULL, NULL);

  node = lookup_value (event, name);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

gint64
ms_event_get_int (const MsEvent *event,
                  const char *name,
                  gint64 default_value)
{
  JsonNode *node;

  g_return_val_if_fail (event != NULL && name != NULL, default_value);

  node = lookup_value (event, name);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return default_value;
  return json_node_get_int (node);
}

gboolean
ms_event_get_bool (const MsEvent *event,
                   const char *name,
                   gboolean default_value)
{
  JsonNode *node;

  g_return_val_if_fail (event != NULL && name != NULL, default_value);

  node = lookup_value (event, name);
  if (node == NULL || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return default_value;
  return json_node_get_boolean (node);
}

gboolean
ms_event_has (const MsEvent *event,
              const char *name)
{
  g_return_val_if_fail (event != NULL && name != NULL, FALSE);
  return json_object_has_member (event->fields, name);
}

/* JSON text (RFC 8259 §7): the strings here are valid UTF-8 already, so
 * only the quote, the backslash and control characters need escaping. */
static void
append_json_string (GString *out,
                    const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      guchar c = *p;

      switch (c)
        {
        case '"':
          g_string_append (out, "\\\"");
          break;
        case '\\':
          g_string_append (out, "\\\\");
          break;
        case '\n':
          g_string_append (out, "\\n");
          break;
        case '\r':
          g_string_append (out, "\\r");
          break;
        case '\t':
          g_string_append (out, "\\t");
          break;
        default:
          if (c < 0x20)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, c);
        }
    }
  g_string_append_c (out, '"');
}

static void append_json_node (GString *out, JsonNode *node);

static void
append_json_object (GString *out,
                    JsonObject *object,
                    gboolean comma_first)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      if (comma_first)
        g_string_append_c (out, ',');
      comma_first = TRUE;
      append_json_string (out, name);
      g_string_append_c (out, ':');
      append_json_node (out, value);
    }
}

static void
append_json_node (GString *out,
                  JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      g_string_append_c (out, '{');
      append_json_object (out, json_node_get_object (node), FALSE);
      g_string_append_c (out, '}');
      break;
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        g_string_append_c (out, '[');
        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            append_json_node (out, json_array_get_element (array, i));
          }
        g_string_append_c (out, ']');
        break;
      }
    case JSON_NODE_VALUE:
      switch (json_node_get_value_type (node))
        {
        case G_TYPE_STRING:
          append_json_string (out, json_node_get_string (node));
          break;
        case G_TYPE_INT64:
          g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
          break;
        case G_TYPE_BOOLEAN:
          g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
          break;
        case G_TYPE_DOUBLE:
          {
            char buffer[G_ASCII_DTOSTR_BUF_SIZE];
            g_string_append (out, g_ascii_dtostr (buffer, sizeof buffer,
                                                  json_node_get_double (node)));
            break;
          }
        default:
          g_string_append (out, "null");
        }
      break;
    case JSON_NODE_NULL:
    default:
      g_string_append (out, "null");
    }
}

/* Written by hand rather than with JsonGenerator: a busy server records
 * tens of events per message, and this is several times faster. `time` is
 * RFC 3339 with microseconds, always UTC: 2026-11-22T07:15:42.123456Z */
char *
ms_event_to_json (const MsEvent *event)
{
  GString *out = g_string_sized_new (256);
  time_t seconds;
  struct tm tm;
  char time_text[32];

  g_return_val_if_fail (event != NULL, NULL);

  seconds = (time_t) (event->time_us / G_USEC_PER_SEC);
  if (gmtime_r (&seconds, &tm) == NULL)
    memset (&tm, 0, sizeof tm);
  strftime (time_text, sizeof time_text, "%Y-%m-%dT%H:%M:%S", &tm);

  g_string_append_printf (out, "{\"v\":%d,\"seq\":%" G_GUINT64_FORMAT ",\"time\":\"%s.%06"
                          G_GINT64_FORMAT "Z\",\"server\":",
                          MS_TRACE_FORMAT_VERSION, event->seq, time_text,
                          event->time_us % G_USEC_PER_SEC);
  if (event->server != NULL)
    append_json_string (out, event->server);
  else
    g_string_append (out, "null");
  g_string_append (out, ",\"kind\":");
  append_json_string (out, ms_event_kind_to_string (event->kind));
  append_json_object (out, event->fields, TRUE);
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

static gboolean
parse_time (const char *text,
            gint64 *time_us_r)
{
  g_autoptr(GDateTime) dt = NULL;

  if (text == NULL)
    return FALSE;
  dt = g_date_time_new_from_iso8601 (text, NULL);
  if (dt == NULL)
    return FALSE;
  /* Events are stamped by a clock: a time before 1970 is no event's, and
   * ms_event_to_json() could not write it back in the same form. */
  if (g_date_time_to_unix (dt) < 0)
    return FALSE;
  *time_us_r = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

/* The envelope of a line, as the fast path reads it. */
typedef struct {
  gint64 version;
  const char *kind;     /* static, from kind_names[]; NULL when missing or unknown */
  gint64 seq;
  char *server;
  char *time;
} Envelope;

static void
envelope_clear (Envelope *envelope)
{
  g_clear_pointer (&envelope->server, g_free);
  g_clear_pointer (&envelope->time, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Envelope, envelope_clear)

/* The checks and messages of both paths, in one order, so that a bad line
 * gets the same error whichever path read it. First the version and kind: */
static gboolean
check_version_and_kind (gint64 version,
                        const char *kind_name,
                        MsEventKind *kind_r,
                        GError **error)
{
  if (version < 1 || version > MS_TRACE_FORMAT_VERSION)
    {
      g_set_error (error, MS_EVENT_ERROR, MS_EVENT_ERROR_VERSION,
                   "unsupported trace format version %" G_GINT64_FORMAT
                   " (this build reads 1 to %d)", version, MS_TRACE_FORMAT_VERSION);
      return FALSE;
    }
  if (!ms_event_kind_from_string (kind_name, kind_r))
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "missing or unknown \"kind\"");
      return FALSE;
    }
  return TRUE;
}

/* ... then the time. Takes `server` and `fields`. */
static MsEvent *
finish_event (MsEventKind kind,
              char *server,
              gint64 seq,
              const char *time,
              JsonObject *fields,
              GError **error)
{
  g_autofree char *owned_server = server;
  g_autoptr(JsonObject) owned_fields = fields;
  MsEvent *event;
  gint64 time_us;

  if (!parse_time (time, &time_us))
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "missing or malformed \"time\" (RFC 3339, from 1970 on, expected)");
      return NULL;
    }
  event = event_new_take (kind, g_steal_pointer (&owned_server), g_steal_pointer (&owned_fields));
  event->seq = seq;
  event->time_us = time_us;
  return event;
}

/* Returns N_ENVELOPE_MEMBERS for a kind-specific member. */
static EnvelopeMember
envelope_member_from_name (const char *name)
{
  EnvelopeMember member;

  for (member = 0; member < N_ENVELOPE_MEMBERS; member++)
    {
      if (strcmp (name, envelope_members[member]) == 0)
        break;
    }
  return member;
}

/* The value of the \uXXXX at line[at] (the backslash), or -1. */
static int
unicode_escape_at (const char *line,
                   gsize len,
                   gsize at)
{
  int value = 0;

  if (at + 6 > len || line[at] != '\\' || line[at + 1] != 'u')
    return -1;
  for (gsize k = at + 2; k < at + 6; k++)
    {
      int digit = g_ascii_xdigit_value (line[k]);

      if (digit < 0)
        return -1;
      value = value * 16 + digit;
    }
  return value;
}

/* Whether the \u escape at line[*i] names a character a string can hold
 * (RFC 8259 §7): not NUL, and a surrogate only as a high one followed by a
 * low one. json-glib would write a lone surrogate as bytes that are not
 * UTF-8. Moves *i to the last escape's 'u', so that the caller's step over
 * the escape's letter lands after it. */
static gboolean
unicode_escape_valid (const char *line,
                      gsize len,
                      gsize *i)
{
  int value = unicode_escape_at (line, len, *i);
  int low;

  /* A line that ends inside the escape: json-glib says it is cut short.
   * Anything else that is not four hex digits is refused here: json-glib
   * reads "\\ud83T" as some other character. */
  if (value < 0)
    return *i + 6 > len;
  if (value == 0 || (value >= 0xdc00 && value <= 0xdfff))
    return FALSE;
  if (value >= 0xd800 && value <= 0xdbff)
    {
      low = unicode_escape_at (line, len, *i + 6);
      if (low < 0xdc00 || low > 0xdfff)
        return FALSE;
      *i += 6;
    }
  return TRUE;
}

/* What json-glib 1.6 does not check itself: it has no nesting limit (a
 * line of 100,000 `[` overflows the stack), it leaks the first value of a
 * line with a second one after it (`{}{}`), and its scanner takes escapes
 * that JSON has not (`\333`, an octal byte, which can make a string that
 * is not UTF-8). RFC 8259 §7 allows `\"`, `\\`, `\/`, `\b`, `\f`, `\n`,
 * `\r`, `\t` and `\uXXXX` only. Depth is counted outside strings. */
static gboolean
json_text_check (const char *line,
                 gsize len,
                 GError **error)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  gboolean closed = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char c = line[i];

      if (closed && !g_ascii_isspace (c))
        {
          g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                               "text after the JSON object");
          return FALSE;
        }
      if (in_string)
        {
          if (c == '\\')
            {
              /* A line cut after the backslash: json-glib says so. */
              if (i + 1 < len && (strchr ("\"\\/bfnrtu", line[i + 1]) == NULL
                                  || line[i + 1] == '\0'
                                  || (line[i + 1] == 'u' && !unicode_escape_valid (line, len,
                                                                                   &i))))
                {
                  g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                                       "a string has an escape JSON does not know");
                  return FALSE;
                }
              i++;
            }
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if (c == '[' || c == '{')
        {
          if (++depth > MS_EVENT_MAX_DEPTH)
            {
              g_set_error (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "nested deeper than %d levels", MS_EVENT_MAX_DEPTH);
              return FALSE;
            }
        }
      else if ((c == ']' || c == '}') && depth > 0)
        closed = --depth == 0;
    }
  return TRUE;
}

/* json-glib reads 9e999 as infinity, which JSON cannot write back
 * (RFC 8259 §6). The depth is bounded by json_text_check(). */
static gboolean
json_numbers_finite (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_VALUE:
      return json_node_get_value_type (node) != G_TYPE_DOUBLE
             || isfinite (json_node_get_double (node));
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (!json_numbers_finite (json_array_get_element (array, i)))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, NULL, &member))
          if (!json_numbers_finite (member))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_NULL:
    default:
      return TRUE;
    }
}

/* The general path: any JSON, through json-glib. */
static MsEvent *
event_from_json_parser (const char *line,
                        gsize len,
                        GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  JsonNode *root;
  JsonObject *object;
  JsonObject *fields;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;
  MsEventKind kind;
  const char *server, *time;
  gint64 seq;

  if (!json_text_check (line, len, error))
    return NULL;
  if (!json_parser_load_from_data (parser, line, len, error))
    return NULL;

  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "a trace line must be one JSON object");
      return NULL;
    }
  object = json_node_get_object (root);
  if (!json_numbers_finite (root))
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "a number is too large");
      return NULL;
    }

  if (!check_version_and_kind (json_object_get_int_member_with_default (object, "v", 0),
                               json_object_get_string_member_with_default (object, "kind",
                                                                           NULL),
                               &kind, error))
    return NULL;

  fields = json_object_new ();
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      if (envelope_member_from_name (name) == N_ENVELOPE_MEMBERS)
        json_object_set_member (fields, name, json_node_copy (value));
    }
  server = json_object_get_string_member_with_default (object, "server", NULL);
  seq = json_object_get_int_member_with_default (object, "seq", 0);
  time = json_object_get_string_member_with_default (object, "time", NULL);
  return finish_event (kind, g_strdup (server), seq, time, fields, error);
}

/* The fast path, for the lines a trace is made of: one flat object of
 * strings, integers, booleans and nulls (RFC 8259), read in one pass
 * straight into the event's fields. It reads a strict subset of JSON: on
 * anything else (nesting, a number with a fraction, a \u escape of a
 * surrogate or NUL, a repeated member, an envelope member of an unusual type,
 * a syntax error) it gives up and the line goes through json-glib, so
 * results and error messages stay json-glib's. */
typedef struct {
  const char *p;
  const char *end;
  /* Where flat_read_string() decodes a member's name and value. */
  GString *key;
  GString *value;
} FlatReader;

static void
flat_skip_space (FlatReader *r)
{
  while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\r' || *r->p == '\n'))
    r->p++;
}

static gboolean
flat_read_hex4 (const char *p,
                gunichar *value_r)
{
  gunichar value = 0;

  for (guint i = 0; i < 4; i++)
    {
      int digit = g_ascii_xdigit_value (p[i]);

      if (digit < 0)
        return FALSE;
      value = value * 16 + (gunichar) digit;
    }
  *value_r = value;
  return TRUE;
}

/* RFC 8259 §7. `r->p` is on the opening quote. */
static gboolean
flat_read_string (FlatReader *r,
                  GString *out)
{
  gboolean ascii = TRUE;
  const char *p = r->p + 1;

  g_string_truncate (out, 0);
  for (;;)
    {
      const char *run = p;

      while (p < r->end && *p != '"' && *p != '\\' && (guchar) *p >= 0x20)
        {
          ascii &= (guchar) *p < 0x80;
          p++;
        }
      g_string_append_len (out, run, p - run);
      if (p >= r->end || (guchar) *p < 0x20)
        return FALSE;
      if (*p == '"')
        break;
      if (r->end - p < 2)
        return FALSE;
      if (p[1] == 'u')
        {
          gunichar c;

          if (r->end - p < 6 || !flat_read_hex4 (p + 2, &c) || c == 0
              || (c >= 0xd800 && c <= 0xdfff))
            return FALSE;
          g_string_append_unichar (out, c);
          p += 4;
        }
      else
        {
          /* The two-character escapes, and what each stands for. */
          static const char letters[] = "\"\\/bfnrt";
          static const char meanings[] = "\"\\/\b\f\n\r\t";
          const char *letter = p[1] != '\0' ? strchr (letters, p[1]) : NULL;

          if (letter == NULL)
            return FALSE;
          g_string_append_c (out, meanings[letter - letters]);
        }
      p += 2;
    }
  r->p = p + 1;
  return ascii || g_utf8_validate (out->str, out->len, NULL);
}

/* RFC 8259 §6, integers only: at most 18 digits, so no overflow. */
static gboolean
flat_read_int (FlatReader *r,
               gint64 *value_r)
{
  gboolean negative = FALSE;
  gint64 value = 0;
  const char *digits;

  if (*r->p == '-')
    {
      negative = TRUE;
      r->p++;
    }
  digits = r->p;
  while (r->p < r->end && g_ascii_isdigit (*r->p))
    {
      if (r->p - digits == 18)
        return FALSE;
      value = value * 10 + (*r->p - '0');
      r->p++;
    }
  if (r->p == digits || (*digits == '0' && r->p - digits > 1))
    return FALSE;
  *value_r = negative ? -value : value;
  return TRUE;
}

static gboolean
flat_read_word (FlatReader *r,
                const char *word)
{
  gsize len = strlen (word);

  if ((gsize) (r->end - r->p) < len || memcmp (r->p, word, len) != 0)
    return FALSE;
  r->p += len;
  return TRUE;
}

/* Reads a value into a new node (sealed, as json_parser_new_immutable()
 * makes them), or NULL to give up. */
static JsonNode *
flat_read_value (FlatReader *r)
{
  JsonNode *node;
  gint64 number;

  if (r->p >= r->end)
    return NULL;
  switch (*r->p)
    {
    case '"':
      if (!flat_read_string (r, r->value))
        return NULL;
      node = json_node_init_string (json_node_alloc (), r->value->str);
      break;
    case 't':
    case 'f':
      if (flat_read_word (r, "true"))
        node = json_node_init_boolean (json_node_alloc (), TRUE);
      else if (flat_read_word (r, "false"))
        node = json_node_init_boolean (json_node_alloc (), FALSE);
      else
        return NULL;
      break;
    case 'n':
      if (!flat_read_word (r, "null"))
        return NULL;
      node = json_node_init_null (json_node_alloc ());
      break;
    default:
      if (*r->p != '-' && !g_ascii_isdigit (*r->p))
        return NULL;
      if (!flat_read_int (r, &number))
        return NULL;
      node = json_node_init_int (json_node_alloc (), number);
    }
  json_node_seal (node);
  return node;
}

/* Keeps an envelope member out of the fields, as the general path does.
 * Returns FALSE for a repeated member or one of an unusual type. */
static gboolean
flat_take_envelope (EnvelopeMember member,
                    JsonNode *node,
                    guint *seen,
                    Envelope *envelope)
{
  GType type = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  MsEventKind kind;

  if ((*seen & (1u << member)) != 0)
    return FALSE;
  *seen |= 1u << member;

  if (member == ENVELOPE_V || member == ENVELOPE_SEQ)
    {
      if (type != G_TYPE_INT64)
        return FALSE;
      *(member == ENVELOPE_V ? &envelope->version : &envelope->seq) = json_node_get_int (node);
      return TRUE;
    }
  if (type != G_TYPE_STRING)
    return FALSE;
  if (member == ENVELOPE_TIME)
    envelope->time = json_node_dup_string (node);
  else if (member == ENVELOPE_SERVER)
    envelope->server = json_node_dup_string (node);
  else if (ms_event_kind_from_string (json_node_get_string (node), &kind))
    envelope->kind = kind_names[kind];
  /* else an unknown kind: it stays NULL, as a missing one, which gets the
   * same error. */
  return TRUE;
}

/* Returns FALSE to give the line to the general path. */
static gboolean
flat_read_line (FlatReader *r,
                JsonObject *fields,
                Envelope *envelope)
{
  guint seen = 0;

  flat_skip_space (r);
  if (r->p >= r->end || *r->p != '{')
    return FALSE;
  r->p++;
  flat_skip_space (r);
  if (r->p < r->end && *r->p == '}')
    r->p++;
  else
    {
      for (;;)
        {
          g_autoptr(JsonNode) node = NULL;
          EnvelopeMember member;

          if (r->p >= r->end || *r->p != '"' || !flat_read_string (r, r->key) || r->key->len == 0)
            return FALSE;
          flat_skip_space (r);
          if (r->p >= r->end || *r->p != ':')
            return FALSE;
          r->p++;
          flat_skip_space (r);
          node = flat_read_value (r);
          if (node == NULL)
            return FALSE;
          member = envelope_member_from_name (r->key->str);
          if (member != N_ENVELOPE_MEMBERS)
            {
              if (!flat_take_envelope (member, node, &seen, envelope))
                return FALSE;
            }
          else
            {
              if (json_object_has_member (fields, r->key->str))
                return FALSE;
              json_object_set_member (fields, r->key->str, g_steal_pointer (&node));
            }
          flat_skip_space (r);
          if (r->p < r->end && *r->p == ',')
            {
              r->p++;
              flat_skip_space (r);
              continue;
            }
          if (r->p < r->end && *r->p == '}')
            {
              r->p++;
              break;
            }
          return FALSE;
        }
    }
  flat_skip_space (r);
  return r->p == r->end;
}

MsEvent *
ms_event_from_json (const char *line,
                    gssize len,
                    GError **error)
{
  g_autoptr(GString) key = NULL;
  g_autoptr(GString) value = NULL;
  g_autoptr(JsonObject) fields = NULL;
  g_auto(Envelope) envelope = { 0, };
  FlatReader reader;

  g_return_val_if_fail (line != NULL, NULL);

  if (len < 0)
    len = strlen (line);
  key = g_string_sized_new (16);
  value = g_string_sized_new (128);
  reader = (FlatReader) { line, line + len, key, value };
  fields = json_object_new ();
  if (flat_read_line (&reader, fields, &envelope))
    {
      MsEventKind kind;

      if (!check_version_and_kind (envelope.version, envelope.kind, &kind, error))
        return NULL;
      return finish_event (kind, g_steal_pointer (&envelope.server), envelope.seq, envelope.time,
                           g_steal_pointer (&fields), error);
    }
  return event_from_json_parser (line, len, error);
}
