/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-event.h"
#include "ms-event-item.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* The longest trace line load_file() accepts: a `snapshot` line holds every
 * message of a server, so it is allowed to be large, but not unbounded. */
#define MS_TRACE_MODEL_MAX_LINE (64u * 1024 * 1024)

/* Live appends are announced at most this often (items-changed), so that
 * thousands of events a second do not mean thousands of signals. */
#define MS_TRACE_MODEL_BATCH_MS 50

/* Every event of a trace in arrival order, as a GListModel of MsEventItem.
 * Items are made on demand by get_item(): the model itself keeps only the
 * events, so a trace of 100,000 events costs 100,000 references. */
#define MS_TYPE_TRACE_MODEL (ms_trace_model_get_type ())
G_DECLARE_FINAL_TYPE (MsTraceModel, ms_trace_model, MS, TRACE_MODEL, GObject)

MsTraceModel *ms_trace_model_new (void);

/* Adds `event` (a new reference is taken). items-changed follows within
 * MS_TRACE_MODEL_BATCH_MS on the default main context, or at flush(). */
void ms_trace_model_append (MsTraceModel *self, MsEvent *event);
/* Announces every pending append now (one items-changed). */
void ms_trace_model_flush (MsTraceModel *self);

/* Appends the events of a JSON Lines trace file (docs/trace-format.md) and
 * flushes. Stops at the first bad line: returns FALSE with an error that
 * names the file and the line number; the events before it stay. Empty lines
 * are skipped. */
gboolean ms_trace_model_load_file (MsTraceModel *self, const char *path, GError **error);

/* Follows a live bus: every event emitted on `bus` is appended. Replaces a
 * previous bus; NULL detaches. */
void ms_trace_model_attach_bus (MsTraceModel *self, MsTraceBus *bus);

/* Events announced so far (same as g_list_model_get_n_items()). */
guint ms_trace_model_get_n_events (MsTraceModel *self);
/* Borrowed; `position` < get_n_events(). */
MsEvent *ms_trace_model_get_event (MsTraceModel *self, guint position);

void ms_trace_model_clear (MsTraceModel *self);

G_END_DECLS
