/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-stepper.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* MsTraceClient: the viewer's end of a trace port (docs/trace-format.md,
 * "The trace port"), for `mailscope --attach HOST:PORT`. It says HELLO,
 * then re-emits every event the port sends on a local MsTraceBus with the
 * seq, time and server the remote servers gave it, and implements MsStepper
 * with the port's commands, so that the window steps a server elsewhere as
 * it steps the demo world in this process. GIO only: it knows nothing of
 * the servers' code. Lives on the thread-default main context of
 * ms_trace_client_connect_async(). */
#define MS_TYPE_TRACE_CLIENT (ms_trace_client_get_type ())
G_DECLARE_FINAL_TYPE (MsTraceClient, ms_trace_client, MS, TRACE_CLIENT, GObject)

#define MS_TRACE_CLIENT_ERROR (ms_trace_client_error_quark ())
GQuark ms_trace_client_error_quark (void);
typedef enum {
  MS_TRACE_CLIENT_ERROR_INVALID,      /* not HOST:PORT, or a token that cannot be sent */
  MS_TRACE_CLIENT_ERROR_CONNECT,      /* refused, unreachable, no such host */
  MS_TRACE_CLIENT_ERROR_TIMEOUT,      /* no port-hello within MS_TRACE_CLIENT_TIMEOUT_S */
  MS_TRACE_CLIENT_ERROR_REFUSED,      /* the port said no: wrong or no token, too many viewers */
  MS_TRACE_CLIENT_ERROR_NOT_A_PORT,   /* something answered, but not a Mailscope trace port */
  MS_TRACE_CLIENT_ERROR_CLOSED,       /* closed before its port-hello */
} MsTraceClientError;

/* Connecting and the handshake together must finish within this. */
#define MS_TRACE_CLIENT_TIMEOUT_S 10
/* The longest line taken from the port, a `snapshot` included: the same
 * bound as for a trace file (MS_TRACE_MODEL_MAX_LINE), so what a file may
 * hold the port may send. A valid port never comes near it (it sends no
 * line over its 8 MiB output limit); a longer line is a bad stream and
 * ends the connection, so memory never grows past it. */
#define MS_TRACE_CLIENT_MAX_LINE (64u * 1024 * 1024)
/* Until the port has said hello, a line is at most this long: a program
 * that is not a trace port is not buffered for 64 MiB. */
#define MS_TRACE_CLIENT_MAX_HELLO_LINE (64u * 1024)

/* `host_port` is "127.0.0.1:7000", "[::1]:7000" or "host.example:7000";
 * `token` is the port's --trace-token, or NULL. Events go to `bus` (a
 * reference is taken); subscribe to it before connecting, as events may
 * arrive before the connect callback runs. Nothing happens until
 * ms_trace_client_connect_async(). */
MsTraceClient *ms_trace_client_new (const char *host_port, const char *token, MsTraceBus *bus);

/* Connects, says HELLO and waits for the port's hello. Fails (see
 * MsTraceClientError, or G_IO_ERROR_CANCELLED) with a message that names
 * the address and can be shown as is. On success the events flow, queued
 * stepper commands are sent, and the "disconnected" signal (const char
 * *reason) is emitted once when the connection later ends: the port
 * closed, the stream was bad, or ms_trace_client_disconnect(). May be
 * called once per client. */
void ms_trace_client_connect_async (MsTraceClient *self, GCancellable *cancellable,
                                    GAsyncReadyCallback callback, gpointer user_data);
gboolean ms_trace_client_connect_finish (MsTraceClient *self, GAsyncResult *result,
                                         GError **error);

/* Closes the connection: "disconnected" follows, from an idle callback,
 * when it was attached; a connect still running fails with
 * G_IO_ERROR_CANCELLED. */
void ms_trace_client_disconnect (MsTraceClient *self);

/* TRUE between the port's hello and the end of the connection. */
gboolean ms_trace_client_is_attached (MsTraceClient *self);
/* The servers the port's hello named ("alpha.test", ...), NULL-terminated;
 * empty before it. Borrowed. */
const char * const *ms_trace_client_get_servers (MsTraceClient *self);
/* The address given to ms_trace_client_new(). Borrowed. */
const char *ms_trace_client_get_address (MsTraceClient *self);

G_END_DECLS
