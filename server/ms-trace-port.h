/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-trace-bus.h"
#include "ms-world.h"

G_BEGIN_DECLS

/* MsTracePort: the trace port (docs/trace-format.md, "The trace port"). A
 * TCP listener that sends every trace event of the bus, as JSON Lines, to
 * each viewer that said HELLO (with the token when one is set), and takes
 * the step-mode commands of the viewers (STEPMODE, STEP, CONTINUE, BREAK,
 * CLEAR) for the servers of the world. It lives on the thread-default main
 * context, like the servers. */
typedef struct _MsTracePort MsTracePort;

#define MS_TRACE_PORT_ERROR (ms_trace_port_error_quark ())
GQuark ms_trace_port_error_quark (void);
typedef enum {
  MS_TRACE_PORT_ERROR_CONFIG,
} MsTracePortError;

/* The most viewers attached at once; one more is told so and closed. */
#define MS_TRACE_PORT_MAX_VIEWERS 16
/* A viewer with more than this many bytes of events not yet sent to it is
 * disconnected: it does not read, and we never buffer without bound. */
#define MS_TRACE_PORT_MAX_OUTPUT (8 * 1024 * 1024)
/* Snapshots (a large store's is tens of MiB) are queued beyond that bound,
 * up to this much of them waiting per viewer; a line longer than a reader
 * takes (docs/trace-format.md: 64 MiB) is never sent. */
#define MS_TRACE_PORT_MAX_SNAPSHOT_OUTPUT (256u * 1024 * 1024)
#define MS_TRACE_PORT_MAX_EVENT_LINE (64u * 1024 * 1024)
/* The longest line a viewer may send (commands are short). */
#define MS_TRACE_PORT_MAX_LINE 1024
/* The longest token accepted. */
#define MS_TRACE_PORT_MAX_TOKEN 256

/* Listens on `address` (an IP address; NULL means 127.0.0.1) and `port` (0
 * picks a free one, see ms_trace_port_get_port()). A non-loopback address
 * needs a `token` (NULL or "" means none): without one this fails. A token
 * is printable ASCII without spaces, at most MS_TRACE_PORT_MAX_TOKEN bytes.
 * `world` and `bus` are borrowed and must outlive the port. */
MsTracePort *ms_trace_port_new (MsWorld *world, MsTraceBus *bus, const char *address,
                                guint16 port, const char *token, GError **error);
/* The port it listens on. */
guint16 ms_trace_port_get_port (MsTracePort *port);
/* The number of viewers that said HELLO and are still connected. */
guint ms_trace_port_get_viewer_count (MsTracePort *port);
/* Stops listening and closes every viewer. */
void ms_trace_port_free (MsTracePort *port);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsTracePort, ms_trace_port_free)

G_END_DECLS
