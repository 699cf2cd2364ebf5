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
 * wrapping the socket in an MsConn (plain, STARTTLS or implicit TLS), and
 * turning the dialog into trace events (direction "client",
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

struct _MsClientConn {
  char *host;
  guint16 port;
  gboolean implicit_tls;
  guint timeout_s;
  MsTraceBus *bus;            /* nullable, owned */
  char *trace_server;
  char *proto;
  void (*show) (char direction, const char *line, gpointer user_data);
  gpointer show_data;         /* borrowed */

  SSL_CTX *tls_ctx;           /* after ms_client_conn_prepare_tls() */
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
 * Must not be called while connecting. NULL is ignored. */
void ms_client_conn_free (MsClientConn *cc);

/* Makes the TLS client context. The demo servers use self-signed
 * certificates: no verification, but the subject is reported in the tls
 * event and on --show. FALSE with `error` set when OpenSSL fails. */
gboolean ms_client_conn_prepare_tls (MsClientConn *cc, GError **error);

/* Follows `cancellable` (may be NULL): when it fires, the connection is
 * closed (or the connect attempt cancelled) and cc->cancelled is TRUE.
 * Returns FALSE when it was already cancelled (cc->cancelled is then set
 * and nothing is watched). */
gboolean ms_client_conn_watch_cancellable (MsClientConn *cc, GCancellable *cancellable);

/* Called when connecting is over. Takes ownership of `task`. `connection`
 * is NULL on failure; then `error` is a sentence for the user ("cannot
 * connect to HOST:PORT: ...", "connecting to ... timed out after N s"),
 * or NULL when cc->cancelled. */
typedef void (*MsClientConnConnectedFunc) (GTask *task, GSocketConnection *connection,
                                           const char *error);

/* Connects to host:port under the timeout. Takes ownership of `task`
 * (whose task data owns `cc`) and hands it to `func`. */
void ms_client_conn_connect (MsClientConn *cc, GTask *task, MsClientConnConnectedFunc func);

/* Wraps the connected socket in cc->conn (a line limit of `max_line`, the
 * idle timeout of timeout_s), makes the session id and emits session-open.
 * Call ms_client_conn_start() after setting up the engine. */
void ms_client_conn_open (MsClientConn *cc, GSocketConnection *connection, gsize max_line,
                          const MsConnCallbacks *callbacks, gpointer user_data);
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
/* The TLS handshake finished: a --show note and a `tls` event. */
void ms_client_conn_tls_finished (MsClientConn *cc, gboolean ok, const char *error);
/* A `session-close` event with `reason`, `state` and `result` (nullable). */
void ms_client_conn_emit_session_close (MsClientConn *cc, const char *reason, const char *state,
                                        const char *result);

/* "no reply from HOST:PORT within N s (state S)". Free with g_free. */
char *ms_client_conn_idle_text (MsClientConn *cc, const char *state);
/* "the TLS handshake with HOST:PORT failed: ...". Free with g_free. */
char *ms_client_conn_tls_failed_text (MsClientConn *cc, const char *error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsClientConn, ms_client_conn_free)

G_END_DECLS
