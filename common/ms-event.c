/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-event"

#include "config.h"

#include "ms-event.h"

#include <string.h>

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

/* `time` is RFC 3339 with microseconds, always UTC: 2026-11-22T07:15:42.123456Z */
char *
ms_event_to_json (const MsEvent *event)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *time = NULL;
  g_autoptr(GDateTime) dt = NULL;
  g_autofree char *seconds = NULL;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  g_return_val_if_fail (event != NULL, NULL);

  dt = g_date_time_new_from_unix_utc (event->time_us / G_USEC_PER_SEC);
  seconds = dt ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S") : g_strdup ("1970-01-01T00:00:00");
  time = g_strdup_printf ("%s.%06" G_GINT64_FORMAT "Z", seconds,
                          event->time_us % G_USEC_PER_SEC);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "v");
  json_builder_add_int_value (builder, MS_TRACE_FORMAT_VERSION);
  json_builder_set_member_name (builder, "seq");
  json_builder_add_int_value (builder, (gint64) event->seq);
  json_builder_set_member_name (builder, "time");
  json_builder_add_string_value (builder, time);
  json_builder_set_member_name (builder, "server");
  if (event->server != NULL)
    json_builder_add_string_value (builder, event->server);
  else
    json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "kind");
  json_builder_add_string_value (builder, ms_event_kind_to_string (event->kind));

  json_object_iter_init_ordered (&iter, event->fields);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      json_builder_set_member_name (builder, name);
      json_builder_add_value (builder, json_node_copy (value));
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
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
