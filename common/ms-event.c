/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-event"

#include "config.h"

#include "ms-event.h"

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
static const char * const envelope_members[] = { "v", "seq", "time", "server", "kind" };

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

MsEvent *
ms_event_new (MsEventKind kind,
              const char *server)
{
  MsEvent *event;

  g_return_val_if_fail (kind < MS_EVENT_N_KINDS, NULL);

  event = g_new0 (MsEvent, 1);
  g_atomic_ref_count_init (&event->ref_count);
  event->kind = kind;
  event->server = g_strdup (server);
  event->fields = json_object_new ();
  return event;
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
  *time_us_r = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  return TRUE;
}

MsEvent *
ms_event_from_json (const char *line,
                    gssize len,
                    GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(MsEvent) event = NULL;
  JsonNode *root;
  JsonObject *object;
  MsEventKind kind;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;
  gint64 version;

  g_return_val_if_fail (line != NULL, NULL);

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

  version = json_object_get_int_member_with_default (object, "v", 0);
  if (version < 1 || version > MS_TRACE_FORMAT_VERSION)
    {
      g_set_error (error, MS_EVENT_ERROR, MS_EVENT_ERROR_VERSION,
                   "unsupported trace format version %" G_GINT64_FORMAT
                   " (this build reads 1 to %d)", version, MS_TRACE_FORMAT_VERSION);
      return NULL;
    }

  if (!ms_event_kind_from_string (json_object_get_string_member_with_default (object, "kind", NULL),
                                  &kind))
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "missing or unknown \"kind\"");
      return NULL;
    }

  event = ms_event_new (kind, json_object_get_string_member_with_default (object, "server", NULL));
  event->seq = json_object_get_int_member_with_default (object, "seq", 0);
  if (!parse_time (json_object_get_string_member_with_default (object, "time", NULL),
                   &event->time_us))
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "missing or malformed \"time\" (RFC 3339 expected)");
      return NULL;
    }

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      gboolean is_envelope = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (envelope_members); i++)
        is_envelope |= strcmp (name, envelope_members[i]) == 0;
      if (!is_envelope)
        json_object_set_member (event->fields, name, json_node_copy (value));
    }

  return g_steal_pointer (&event);
}
