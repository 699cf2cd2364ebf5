/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <openssl/ssl.h>

#include "ms-event.h"

G_BEGIN_DECLS

/* MsConn: one non-blocking socket on the main context, with optional OpenSSL
 * TLS, CRLF line framing with hard limits, and a raw-byte mode for DATA and
 * IMAP literals. It knows nothing of protocols. Reference counted: it holds a
 * reference on itself while it calls a callback, so a callback may unref it. */
typedef struct _MsConn MsConn;

typedef enum {
  MS_LINE_FLAG_NONE = 0,
  /* The line ended in a bare LF rather than CRLF. */
  MS_LINE_FLAG_BARE_LF = 1 << 0,
  /* The line was longer than max_line: `line` holds its first max_line bytes
   * and the rest up to the next LF was discarded. */
  MS_LINE_FLAG_TOO_LONG = 1 << 1,
} MsLineFlags;

typedef struct {
  /* Longest line accepted, not counting CRLF. Default 4096. */
  gsize max_line;
  /* While more than this many bytes wait to be sent, no more input is read,
   * so a pipelining client cannot make us buffer without bound. Default 256 KiB. */
  gsize max_output;
  /* Seconds without input before the idle callback; 0 = never. */
  guint idle_timeout_s;
} MsConnLimits;

typedef struct {
  /* One line, without its line ending, NUL-terminated at line[len]; it may
   * contain NUL bytes. */
  void (*line) (MsConn *conn, const char *line, gsize len, MsLineFlags flags, gpointer user_data);
  /* Raw mode (ms_conn_read_bytes()): a chunk of the requested bytes; `last`
   * is TRUE on the chunk that completes the count, after which the
   * connection is back in line mode. */
  void (*bytes) (MsConn *conn, const guint8 *data, gsize len, gboolean last, gpointer user_data);
  /* The TLS handshake finished. On failure `error` says why, and the
   * connection closes after the callback returns. */
  void (*tls_done) (MsConn *conn, gboolean ok, const char *error, gpointer user_data);
  /* No input for idle_timeout_s seconds. The connection stays open; the
   * callback usually writes a reply and calls ms_conn_close_after_flush(). */
  void (*idle) (MsConn *conn, gpointer user_data);
  /* The connection is closed (peer closed, error, or our own close). Called
   * exactly once; nothing else is called after it. `reason` is human text,
   * e.g. "peer closed", "closed by server", "connection reset". */
  void (*closed) (MsConn *conn, const char *reason, gpointer user_data);
} MsConnCallbacks;

/* Fills unset (zero) members of `limits` with the defaults. */
void ms_conn_limits_init (MsConnLimits *limits);

/* Wraps a connected socket. Takes a reference on `connection`. Input is not
 * read until ms_conn_start(). `limits` may be NULL for the defaults. */
MsConn *ms_conn_new (GSocketConnection *connection, const MsConnLimits *limits,
                     const MsConnCallbacks *callbacks, gpointer user_data);
MsConn *ms_conn_ref (MsConn *conn);
void ms_conn_unref (MsConn *conn);

/* Starts reading (and arms the idle timer). */
void ms_conn_start (MsConn *conn);

/* Queues bytes to send; they go out as the socket accepts them. */
void ms_conn_write (MsConn *conn, const void *data, gsize len);
/* Queues `line` followed by CRLF. */
void ms_conn_write_line (MsConn *conn, const char *line);
void ms_conn_printf (MsConn *conn, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* Bytes queued and not yet sent. */
gsize ms_conn_get_pending_output (MsConn *conn);

/* Switches to raw mode for exactly `count` bytes (then back to line mode). */
void ms_conn_read_bytes (MsConn *conn, gsize count);
void ms_conn_set_max_line (MsConn *conn, gsize max_line);
void ms_conn_set_idle_timeout (MsConn *conn, guint seconds);

/* Stops and restarts delivery of input (lines stay buffered). Used by the
 * step gate and by handlers that wait for storage. */
void ms_conn_pause (MsConn *conn);
void ms_conn_resume (MsConn *conn);

/* Starts a TLS handshake over the connection, as the server or as the
 * client (`hostname` is used for SNI and may be NULL). Input already
 * buffered in plain text is discarded first (RFC 3207 §4 / RFC 2595 §3.1:
 * a client must not pipeline past STARTTLS). Calls tls_done when finished.
 * Output queued before this call is flushed in plain text first. */
void ms_conn_start_tls_server (MsConn *conn, SSL_CTX *ctx);
void ms_conn_start_tls_client (MsConn *conn, SSL_CTX *ctx, const char *hostname);
gboolean ms_conn_is_tls (MsConn *conn);
/* After the handshake: "TLSv1.3", the cipher name, and the peer certificate's
 * subject for a client (our own certificate's subject for a server). NULL
 * before TLS. Borrowed. */
const char *ms_conn_get_tls_version (MsConn *conn);
const char *ms_conn_get_tls_cipher (MsConn *conn);
const char *ms_conn_get_tls_subject (MsConn *conn);

/* "127.0.0.1:45678". Borrowed. */
const char *ms_conn_get_peer (MsConn *conn);
const char *ms_conn_get_local (MsConn *conn);

/* Trace fields from this connection, shared by every server and client
 * event that describes it (docs/trace-format.md): `peer` and `local` for a
 * session-open event; `success`, and `version`, `cipher`, `subject` or
 * `error`, for a tls event. */
void ms_conn_describe_endpoints (MsConn *conn, MsEvent *event);
void ms_conn_describe_tls (MsConn *conn, MsEvent *event, gboolean ok, const char *error);

/* Sends what is queued, then closes. No more input is delivered. */
void ms_conn_close_after_flush (MsConn *conn);
/* Closes at once; queued output is dropped. `closed` is called from an idle
 * callback, never from inside this call. */
void ms_conn_close (MsConn *conn);
gboolean ms_conn_is_closed (MsConn *conn);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsConn, ms_conn_unref)

G_END_DECLS
