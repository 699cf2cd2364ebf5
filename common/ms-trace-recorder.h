/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* Writes every event of a bus to a JSON Lines file (docs/trace-format.md). */
typedef struct _MsTraceRecorder MsTraceRecorder;

/* Creates or truncates `path` and subscribes to `bus`. Lines are buffered and
 * written out at least every 200 ms and when the recorder is freed. */
MsTraceRecorder *ms_trace_recorder_new (MsTraceBus *bus, const char *path, GError **error);
/* Writes out what is buffered. Returns FALSE on a write error. */
gboolean ms_trace_recorder_flush (MsTraceRecorder *recorder, GError **error);
/* Flushes, unsubscribes and closes the file. */
void ms_trace_recorder_free (MsTraceRecorder *recorder);
/* Events recorded so far. */
guint64 ms_trace_recorder_get_count (MsTraceRecorder *recorder);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsTraceRecorder, ms_trace_recorder_free)

G_END_DECLS
