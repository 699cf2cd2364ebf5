/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The version of the trace format (docs/trace-format.md). Bump it on any change
 * that a reader of old files would notice. */
#define MS_TRACE_FORMAT_VERSION 1

/* The deepest nesting of arrays and objects ms_event_from_json() accepts. A
 * `snapshot` needs 7 levels; json-glib recurses once per level with no bound
 * of its own, so an untrusted line must not choose the depth. */
#define MS_EVENT_MAX_DEPTH 64

typedef enum {
  MS_EVENT_SESSION_OPEN,
  MS_EVENT_SESSION_CLOSE,
  MS_EVENT_COMMAND,
  MS_EVENT_REPLY,
  MS_EVENT_DATA,
  MS_EVENT_STATE,
  MS_EVENT_TLS,
  MS_EVENT_AUTH,
  MS_EVENT_STORE,
  MS_EVENT_RELAY,
  MS_EVENT_STEP,
  MS_EVENT_SNAPSHOT,
  MS_EVENT_N_KINDS
} MsEventKind;

/* One trace event. `seq` and `time_us` are assigned by the trace bus when the
 * event is emitted; everything kind-specific lives in `fields`, whose members
 * are the JSON members of docs/trace-format.md. Reference counted. */
typedef struct {
  /*< private >*/
  gatomicrefcount ref_count;
  /*< public >*/
  MsEventKind kind;
  guint64 seq;
  gint64 time_us;       /* microseconds since the Unix epoch, UTC */
  char *server;
  JsonObject *fields;
} MsEvent;

const char *ms_event_kind_to_string (MsEventKind kind);
/* Returns FALSE for a name that is not a kind. */
gboolean ms_event_kind_from_string (const char *name, MsEventKind *kind_r);

/* Returns a new event with no fields, seq 0 and time 0. `server` may be NULL. */
MsEvent *ms_event_new (MsEventKind kind, const char *server);
MsEvent *ms_event_ref (MsEvent *event);
void ms_event_unref (MsEvent *event);

/* Setters replace a member of the same name. A NULL string is not stored. */
void ms_event_set_string (MsEvent *event, const char *name, const char *value);
/* Stores a string that may hold any bytes: invalid UTF-8 is replaced with
 * U+FFFD so the JSON stays valid. */
void ms_event_set_bytes_text (MsEvent *event, const char *name, const char *data, gsize len);
void ms_event_set_int (MsEvent *event, const char *name, gint64 value);
void ms_event_set_bool (MsEvent *event, const char *name, gboolean value);
/* Takes ownership of `array` / `object`. */
void ms_event_set_array (MsEvent *event, const char *name, JsonArray *array);
void ms_event_set_object (MsEvent *event, const char *name, JsonObject *object);

/* Getters return the default when the member is missing or of another type.
 * Returned strings are borrowed from the event. */
const char *ms_event_get_string (const MsEvent *event, const char *name);
gint64 ms_event_get_int (const MsEvent *event, const char *name, gint64 default_value);
gboolean ms_event_get_bool (const MsEvent *event, const char *name, gboolean default_value);
gboolean ms_event_has (const MsEvent *event, const char *name);

/* One JSON object on one line, without the trailing newline. Free with g_free. */
char *ms_event_to_json (const MsEvent *event);
/* Parses one line of a trace file. Returns NULL and sets `error` on bad input:
 * MS_EVENT_ERROR for a line that is JSON but not an event (or nested deeper
 * than MS_EVENT_MAX_DEPTH), JSON_PARSER_ERROR for one that is not JSON.
 * Flat lines (every line but a `snapshot`) are read without JsonParser, several
 * times faster; the result is the same. Thread-safe. */
MsEvent *ms_event_from_json (const char *line, gssize len, GError **error);

#define MS_EVENT_ERROR (ms_event_error_quark ())
GQuark ms_event_error_quark (void);
typedef enum {
  MS_EVENT_ERROR_PARSE,
  MS_EVENT_ERROR_VERSION,
} MsEventError;

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsEvent, ms_event_unref)

G_END_DECLS
