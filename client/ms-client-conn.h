/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-conn.h"
#include "ms-event.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* MsClientConn: what every client driver (ms-smtp-sender.c, ms-pop3-fetch.c,
 * ms-imap-ops.c) does around its sans-IO engine, written once: connecting
 * with GSocketClient under a timeout, following the caller's GCancellable,
 * wrapping the socket in an MsConn (plain, STARTTLS or implicit TLS),
 * feeding the engine what the MsConn reads, completing the driver's GTask,
 * and turning the dialog into trace events (direction "client",
 * docs/trace-format.md) and `--show` lines.
 *
 * A plain struct owned by the driver's job. The members are read-only for
 * the driver; they are public so its callbacks can reach the MsConn. */
typedef struct _MsClientConn MsClientConn;

typedef struct {
  const char *host;
  guint16 port;
  gboolean tls;               /* TLS will be used (STARTTLS or implicit): make a context */
  gboolean implicit_tls;      /* TLS from the first byte (RFC 8314) */
  guint timeout_s;            /* for connecting and for each reply; must be > 0 */
  MsTraceBus *bus;            /* nullable */
  const char *trace_server;   /* the `server` field of the events */
  const char *proto;          /* "smtp", "pop3", "imap", "smtp-relay" */
  /* Optional: 'C' and 'S' for lines of the dialog, '*' for notes. */
  void (*show) (char direction, const char *line, gpointer user_data);
  gpointer show_data;
} MsClientConnParams;

/* Why the job stops before its engine is done. */
typedef enum {
  MS_CLIENT_CONN_FAILURE_TEMP,  /* cannot connect, or no reply in time */
  MS_CLIENT_CONN_FAILURE_TLS,   /* no TLS context, or the implicit TLS handshake failed */
} MsClientConnFailure;

/* A driver's job and engine as MsClientConn sees them. Each function gets
 * the `job` given to ms_client_conn_run(). */
typedef struct {
  /* The message of the G_IO_ERROR_CANCELLED the task returns when the
   * caller cancels. */
  const char *cancelled_text;
  /* The job's result: where the job keeps it (G_STRUCT_OFFSET of a
   * pointer member) and how to free it. The task returns it when the
   * connection is over; it may be NULL until then. */
  gsize result_offset;
  GDestroyNotify result_free;

  /* Connected: make the engine, then ms_client_conn_open() and
   * ms_client_conn_start(). `connection` is borrowed. */
  void (*connected) (gpointer job, GSocketConnection *connection);
  /* A line from the server without its line end. A line too long for
   * the MsConn arrives `max_line` long (see ms_client_conn_open()). */
  void (*feed_line) (gpointer job, const char *line, gsize len);
  /* Optional: octets the driver asked for with ms_conn_read_bytes(). */
  void (*feed_bytes) (gpointer job, const guint8 *data, gsize len, gboolean last);
  /* A TLS handshake finished: hands it to the engine when it waits for
   * one (STARTTLS) and returns TRUE; FALSE for implicit TLS. */
  gboolean (*tls_done) (gpointer job, gboolean ok, const char *error);
  /* The job fails: abort the engine, or without one (before it is made)
   * put the failure in the result. */
  void (*fail) (gpointer job, MsClientConnFailure failure, const char *text);
  /* The connection closed; the engine ignores it when it is done. */
  void (*connection_closed) (gpointer job, const char *reason);
  /* The engine's state name, for events and messages. */
  const char *(*state_name) (gpointer job);
  /* The result's status name for the session-close event, or NULL. */
  const char *(*result_status) (gpointer job);
} MsClientConnEngine;

struct _MsClientConn {
  char *host;
  guint16 port;
  gboolean tls;
  gboolean implicit_tls;
  guint timeout_s;
  MsTraceBus *bus;            /* nullable, owned */
  char *trace_server;
  char *proto;
  void (*show) (char direction, const char *line, gpointer user_data);
  gpointer show_data;         /* borrowed */

  /* From ms_client_conn_run() until the task is returned. The task's data
   * owns the job, which owns this: a cycle broken by completing. */
  GTask *task;
  const MsClientConnEngine *engine;
  gpointer job;               /* borrowed */

  SSL_CTX *tls_ctx;           /* when params.tls */
  MsConn *conn;               /* after ms_client_conn_open() */
  char *session_id;           /* set when there is a bus */

  /* The caller's cancellable (or NULL) and whether it fired. */
  GCancellable *cancellable;
  gulong cancelled_id;
  gboolean cancelled;
  /* Connecting: cancelled by the caller's cancellable or by the timeout. */
  GCancellable *connect_cancellable;
  GSource *connect_timeout;   /* on the thread-default context */
  gboolean connect_timed_out;
};

/* Copies the strings and takes a reference on the bus. */
MsClientConn *ms_client_conn_new (const MsClientConnParams *params);
/* Disconnects from the cancellable, wipes nothing secret (it holds none).
 * Must not be called while the job runs. NULL is ignored. */
void ms_client_conn_free (MsClientConn *cc);

/* Runs the job: makes the TLS context (when params.tls; the demo servers'
 * certificates are self-signed, so nothing is verified, but the subject is
 * reported), follows `cancellable` (may be NULL), connects under the
 * timeout and calls engine->connected. Takes ownership of `task`, whose
 * task data owns `job`, which owns `cc`. The task returns the job's result
 * once the connection is closed, or at once when a step before fails (after
 * engine->fail) or the caller cancels (an error, G_IO_ERROR_CANCELLED). */
void ms_client_conn_run (MsClientConn *cc, GTask *task, GCancellable *cancellable,
                         const MsClientConnEngine *engine, gpointer job);

/* Wraps the connected socket in cc->conn (a line limit of `max_line`, the
 * idle timeout of timeout_s), makes the session id and emits session-open.
 * Call ms_client_conn_start() after setting up the engine. */
void ms_client_conn_open (MsClientConn *cc, GSocketConnection *connection, gsize max_line);
/* Starts reading, and with implicit TLS starts the handshake. */
void ms_client_conn_start (MsClientConn *cc);
/* The engine's start_tls: the STARTTLS handshake. */
void ms_client_conn_start_tls (MsClientConn *cc);
/* Queues bytes for the server. */
void ms_client_conn_send (MsClientConn *cc, const char *data, gsize len);
/* The engine is done: flush and close unless already closed. */
void ms_client_conn_finish (MsClientConn *cc);

/* --- trace events and --show --------------------------------------- */

/* An event is wanted: there is a session and the bus has listeners. */
gboolean ms_client_conn_tracing (MsClientConn *cc);
/* A new event with `session`, `proto` and `direction: "client"`. */
MsEvent *ms_client_conn_new_event (MsClientConn *cc, MsEventKind kind);
/* Emits and consumes `event`. */
void ms_client_conn_emit (MsClientConn *cc, MsEvent *event);

/* One line to --show (direction 'C', 'S' or '*'). */
void ms_client_conn_show (MsClientConn *cc, char direction, const char *line);
void ms_client_conn_show_note (MsClientConn *cc, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Masks a secret line: returns a newly allocated copy with the secret
 * replaced by `mask`. Each engine has one (ms_pop3_client_mask_secret...). */
typedef char *(*MsClientConnMaskFunc) (const char *line, const char *mask);

/* A command line the engine sent: --show and a `command` event. With
 * `secret`, the line is masked through `mask` (unless the bus reveals
 * secrets). With `has_verb`, the event's `verb` is the first word
 * (upper-cased), or for IMAP the second when `tagged` (after the tag).
 * `state` is the engine's state name. */
void ms_client_conn_trace_command (MsClientConn *cc, const char *text, gboolean secret,
                                   MsClientConnMaskFunc mask, gboolean has_verb,
                                   gboolean tagged, const char *state);

/* A line the server sent: --show (as valid UTF-8). When `event_r` is not
 * NULL and tracing is on, *event_r is a `reply` event with `text` and
 * `state` for the caller to complete (status, code) and emit; otherwise
 * *event_r is NULL. */
void ms_client_conn_trace_reply (MsClientConn *cc, const char *text, gsize len,
                                 const char *state, MsEvent **event_r);

/* A `data` event for a message in transit (at most 64 KiB of its text). */
void ms_client_conn_emit_data (MsClientConn *cc, const char *data, gsize len, const char *state);
/* A `state` event. */
void ms_client_conn_emit_state (MsClientConn *cc, const char *from, const char *to);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsClientConn, ms_client_conn_free)

G_END_DECLS
