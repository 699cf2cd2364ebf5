/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-conn"

#include "config.h"

#include "ms-conn.h"

#include <errno.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define MS_CONN_DEFAULT_MAX_LINE   4096
#define MS_CONN_DEFAULT_MAX_OUTPUT (256 * 1024)

/* One socket read goes into a stack buffer of this size. It is also the
 * largest TLS record payload (RFC 8446 §5.1), so one SSL_read fills it. */
#define MS_CONN_READ_CHUNK  16384
/* The most SSL_write is asked to send at once. */
#define MS_CONN_WRITE_CHUNK 16384
/* Buffers start this small and are freed when they empty after growing past
 * MS_CONN_KEEP_BUFFER, so an idle connection costs a few KiB at most (the
 * design's budget is 64 KiB per idle connection for the whole server). */
#define MS_CONN_MIN_BUFFER  1024
#define MS_CONN_KEEP_BUFFER 4096
/* Reads per socket event before we let other connections run. */
#define MS_CONN_READS_PER_EVENT 4
/* After close_after_flush, how long we read and drop the peer's input so
 * that our close does not send a reset that could destroy our last reply in
 * the peer's receive queue (the "lingering close" of Apache and nginx). */
#define MS_CONN_LINGER_MS 2000

typedef enum {
  MS_CONN_TLS_NONE,
  /* ms_conn_start_tls_*() was called; output queued before it still goes
   * out in plain text. */
  MS_CONN_TLS_FLUSHING,
  MS_CONN_TLS_HANDSHAKE,
  MS_CONN_TLS_ACTIVE,
} MsConnTlsState;

/* A growable byte buffer: bytes [pos, len) are waiting. */
typedef struct {
  guint8 *data;
  gsize pos;
  gsize len;
  gsize alloc;
} MsConnBuffer;

struct _MsConn {
  gint ref_count;

  GSocketConnection *connection;
  GSocket *socket;              /* borrowed from connection */
  GMainContext *context;
  MsConnLimits limits;
  MsConnCallbacks callbacks;
  gpointer user_data;           /* borrowed */
  char *peer;
  char *local;

  MsConnBuffer input;
  MsConnBuffer output;

  /* Bytes still wanted in raw mode; 0 = line mode. */
  gsize raw_remaining;
  /* An over-long line was delivered; drop input up to the next LF. */
  gboolean discarding;

  gboolean started;
  gboolean paused;
  /* Inside the line/bytes delivery loop; guards against re-entry. */
  gboolean delivering;
  /* close_after_flush, or the peer closed while output was queued. */
  gboolean closing;
  /* The socket is closed; only the `closed` callback is left to run. */
  gboolean closed;
  char *close_reason;

  MsConnTlsState tls_state;
  SSL *ssl;
  /* The last SSL call failed fatally; SSL_shutdown must not be called. */
  gboolean ssl_failed;
  /* What the handshake waits for: G_IO_IN or G_IO_OUT. */
  GIOCondition handshake_wants;
  gboolean read_wants_write;
  gboolean write_wants_read;
  /* Bytes at the head of `output` that go out before the TLS handshake. */
  gsize plain_remaining;
  char *tls_version;
  char *tls_cipher;
  char *tls_subject;

  GSource *in_source;
  GSource *out_source;
  GSource *input_idle;
  GSource *idle_timer;
  GSource *closed_idle;
  gint64 last_input_us;
};

static void update_sources (MsConn *conn);
static void schedule_input (MsConn *conn);
static void finish_close (MsConn *conn, const char *reason, gboolean graceful);

/* ---- buffers ---- */

static gsize
buffer_size (const MsConnBuffer *buffer)
{
  return buffer->len - buffer->pos;
}

static void
buffer_append (MsConnBuffer *buffer,
               const void   *data,
               gsize         len)
{
  gsize needed;

  if (len == 0)
    return;

  if (buffer->pos == buffer->len)
    buffer->pos = buffer->len = 0;

  if (buffer->alloc - buffer->len < len && buffer->pos > 0)
    {
      /* Compacting keeps the buffer at the size of what waits, not of
       * everything that ever passed through it. */
      memmove (buffer->data, buffer->data + buffer->pos, buffer->len - buffer->pos);
      buffer->len -= buffer->pos;
      buffer->pos = 0;
    }

  needed = buffer->len + len;
  if (needed > buffer->alloc)
    {
      gsize alloc = MAX (buffer->alloc, MS_CONN_MIN_BUFFER);

      while (alloc < needed)
        alloc *= 2;
      buffer->data = g_realloc (buffer->data, alloc);
      buffer->alloc = alloc;
    }

  memcpy (buffer->data + buffer->len, data, len);
  buffer->len += len;
}

static void
buffer_consume (MsConnBuffer *buffer,
                gsize         len)
{
  g_assert (len <= buffer_size (buffer));

  buffer->pos += len;
  if (buffer->pos == buffer->len)
    {
      buffer->pos = buffer->len = 0;
      if (buffer->alloc > MS_CONN_KEEP_BUFFER)
        {
          g_clear_pointer (&buffer->data, g_free);
          buffer->alloc = 0;
        }
    }
}

static void
buffer_clear (MsConnBuffer *buffer)
{
  g_clear_pointer (&buffer->data, g_free);
  buffer->pos = buffer->len = buffer->alloc = 0;
}

/* ---- helpers ---- */

void
ms_conn_limits_init (MsConnLimits *limits)
{
  g_return_if_fail (limits != NULL);

  if (limits->max_line == 0)
    limits->max_line = MS_CONN_DEFAULT_MAX_LINE;
  if (limits->max_output == 0)
    limits->max_output = MS_CONN_DEFAULT_MAX_OUTPUT;
}

static char *
address_to_string (GSocketAddress *address)
{
  g_autofree char *host = NULL;
  GInetAddress *inet;
  guint16 port;

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("unknown");

  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
  host = g_inet_address_to_string (inet);
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* The reason to report for an SSL call that failed with `ssl_error`. Takes
 * the oldest queued OpenSSL error and empties the queue. */
static char *
tls_failure_reason (int ssl_error)
{
  unsigned long code = ERR_peek_error ();
  char text[256];

  if (ssl_error == SSL_ERROR_SYSCALL && code == 0)
    {
      int saved_errno = errno;

      ERR_clear_error ();
      if (saved_errno == 0)
        return g_strdup ("peer closed");
      if (saved_errno == ECONNRESET || saved_errno == EPIPE)
        return g_strdup ("connection reset");
      return g_strdup_printf ("TLS error: %s", g_strerror (saved_errno));
    }

  if (code == 0)
    {
      ERR_clear_error ();
      return g_strdup_printf ("TLS error: SSL error %d", ssl_error);
    }

  ERR_error_string_n (code, text, sizeof text);
  ERR_clear_error ();
  return g_strdup_printf ("TLS error: %s", text);
}

static char *
io_failure_reason (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    return g_strdup ("connection reset");
  return g_strdup_printf ("I/O error: %s", error->message);
}

/* No more input is taken from the socket while this is TRUE. */
static gboolean
input_blocked (MsConn *conn)
{
  return !conn->started
    || conn->paused
    || conn->closing
    || conn->closed
    || conn->tls_state == MS_CONN_TLS_FLUSHING
    || conn->tls_state == MS_CONN_TLS_HANDSHAKE
    || buffer_size (&conn->output) > conn->limits.max_output;
}

static void
touch_input (MsConn *conn)
{
  conn->last_input_us = g_get_monotonic_time ();
}

/* ---- idle timer ---- */

static gboolean idle_timer_cb (gpointer user_data);

static void
arm_idle_timer (MsConn *conn,
                guint   seconds)
{
  clear_source (&conn->idle_timer);
  if (conn->closed || conn->limits.idle_timeout_s == 0)
    return;

  conn->idle_timer = g_timeout_source_new_seconds (MAX (seconds, 1));
  g_source_set_callback (conn->idle_timer, idle_timer_cb, conn, NULL);
  g_source_set_static_name (conn->idle_timer, "[mailscope] MsConn idle timer");
  g_source_attach (conn->idle_timer, conn->context);
}

/* Input only records its time; the timer checks it when it fires, so busy
 * connections do not re-create a timer source for every read. */
static gboolean
idle_timer_cb (gpointer user_data)
{
  MsConn *conn = user_data;
  gint64 timeout_us = (gint64) conn->limits.idle_timeout_s * G_USEC_PER_SEC;
  gint64 now = g_get_monotonic_time ();
  gint64 quiet_us = now - conn->last_input_us;

  g_clear_pointer (&conn->idle_timer, g_source_unref);

  if (quiet_us < timeout_us)
    {
      gint64 left_us = timeout_us - quiet_us;
      arm_idle_timer (conn, (guint) ((left_us + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC));
      return G_SOURCE_REMOVE;
    }

  /* The connection stays open; the next call comes a full period later. */
  conn->last_input_us = now;
  arm_idle_timer (conn, conn->limits.idle_timeout_s);

  if (conn->callbacks.idle != NULL)
    {
      ms_conn_ref (conn);
      conn->callbacks.idle (conn, conn->user_data);
      ms_conn_unref (conn);
    }
  return G_SOURCE_REMOVE;
}

/* ---- input ---- */

/* Hands `data` to the callbacks as lines or raw chunks until it runs out,
 * a partial line is left, or a callback blocks input (pause, close,
 * STARTTLS, too much output). Returns how many bytes were used. Writes a
 * NUL after each line in place, so `data` must be writable. */
static gsize
deliver (MsConn *conn,
         guint8 *data,
         gsize   len)
{
  gsize pos = 0;

  g_assert (!conn->delivering);
  conn->delivering = TRUE;

  while (pos < len && !input_blocked (conn))
    {
      guint8 *start = data + pos;
      gsize avail = len - pos;
      gsize max_line = conn->limits.max_line;
      guint8 *lf;

      if (conn->raw_remaining > 0)
        {
          gsize chunk = MIN (avail, conn->raw_remaining);

          conn->raw_remaining -= chunk;
          pos += chunk;
          if (conn->callbacks.bytes != NULL)
            conn->callbacks.bytes (conn, start, chunk, conn->raw_remaining == 0, conn->user_data);
          continue;
        }

      lf = memchr (start, '\n', avail);

      if (conn->discarding)
        {
          if (lf == NULL)
            {
              pos = len;
              break;
            }
          conn->discarding = FALSE;
          pos += lf - start + 1;
          continue;
        }

      if (lf == NULL)
        {
          /* A partial line may hold max_line bytes plus the CR of its CRLF. */
          if (avail > max_line + 1 || (avail == max_line + 1 && start[max_line] != '\r'))
            {
              conn->discarding = TRUE;
              pos = len;
              start[max_line] = '\0';
              if (conn->callbacks.line != NULL)
                conn->callbacks.line (conn, (const char *) start, max_line,
                                      MS_LINE_FLAG_TOO_LONG, conn->user_data);
            }
          break;
        }
      else
        {
          gsize line_len = lf - start;
          MsLineFlags flags = MS_LINE_FLAG_NONE;

          /* RFC 5321 §2.3.8 and RFC 3501 §2.2: lines end in CRLF. A bare LF
           * is accepted too, but flagged so a session can report it. */
          if (line_len > 0 && start[line_len - 1] == '\r')
            line_len--;
          else
            flags |= MS_LINE_FLAG_BARE_LF;

          if (line_len > max_line)
            {
              line_len = max_line;
              flags |= MS_LINE_FLAG_TOO_LONG;
            }

          pos += lf - start + 1;
          start[line_len] = '\0';
          if (conn->callbacks.line != NULL)
            conn->callbacks.line (conn, (const char *) start, line_len, flags, conn->user_data);
        }
    }

  conn->delivering = FALSE;
  return pos;
}

/* Drops input that must never be delivered: plain text read before a
 * STARTTLS handshake (RFC 3207 §4, RFC 2595 §3.1: it cannot count as
 * protected input), and anything after a close. While TLS starts we do not
 * read the socket, so any bytes at hand were read in plain text. */
static gboolean
maybe_drop_input (MsConn *conn)
{
  if (!conn->closing && !conn->closed
      && conn->tls_state != MS_CONN_TLS_FLUSHING
      && conn->tls_state != MS_CONN_TLS_HANDSHAKE)
    return FALSE;

  buffer_clear (&conn->input);
  conn->raw_remaining = 0;
  conn->discarding = FALSE;
  return TRUE;
}

/* Delivers what waits in the input buffer. */
static void
deliver_buffered (MsConn *conn)
{
  gsize used;

  if (buffer_size (&conn->input) == 0 || conn->delivering || input_blocked (conn))
    return;

  used = deliver (conn, conn->input.data + conn->input.pos, buffer_size (&conn->input));
  if (!maybe_drop_input (conn))
    buffer_consume (&conn->input, used);
}

/* Takes in fresh bytes from the socket. Complete lines are delivered
 * straight from `data`; only a partial line, or what is left when a callback
 * blocks input, is copied into the input buffer. */
static void
take_input (MsConn *conn,
            guint8 *data,
            gsize   len)
{
  deliver_buffered (conn);

  while (len > 0)
    {
      gsize used;

      if (maybe_drop_input (conn))
        return;

      if (input_blocked (conn))
        {
          /* At most one read chunk, as we stop reading while blocked. */
          buffer_append (&conn->input, data, len);
          return;
        }

      if (buffer_size (&conn->input) == 0)
        {
          used = deliver (conn, data, len);
          data += used;
          len -= used;
          if (maybe_drop_input (conn))
            return;
          if (len > 0 && (input_blocked (conn) || conn->raw_remaining == 0))
            {
              /* Blocked, or a partial line that deliver() judged short
               * enough to keep (at most max_line + 1 bytes). */
              buffer_append (&conn->input, data, len);
              return;
            }
          continue;
        }

      /* A partial line waits. Check the limit before appending: add only up
       * to its LF, and no more than one byte past what the limit allows, so
       * an over-long line is cut here and never grows the buffer. */
      {
        gsize waiting = buffer_size (&conn->input);
        gsize room = conn->limits.max_line + 2 > waiting ? conn->limits.max_line + 2 - waiting : 1;
        guint8 *lf = memchr (data, '\n', len);
        gsize take = lf != NULL ? (gsize) (lf - data) + 1 : len;

        take = MIN (take, room);
        buffer_append (&conn->input, data, take);
        data += take;
        len -= take;
        deliver_buffered (conn);
      }
    }
}

static void
handle_peer_eof (MsConn *conn)
{
  /* A half-closed peer (`nc -N`) still reads our replies, so queued output
   * goes out first. */
  if (buffer_size (&conn->output) > 0 && conn->tls_state != MS_CONN_TLS_HANDSHAKE)
    {
      conn->closing = TRUE;
      if (conn->close_reason == NULL)
        conn->close_reason = g_strdup ("peer closed");
      buffer_clear (&conn->input);
      return;
    }
  finish_close (conn, "peer closed", FALSE);
}

/* Reads what the socket (or OpenSSL) has, within a fair share. */
static void
read_input (MsConn *conn)
{
  guint8 chunk[MS_CONN_READ_CHUNK];

  for (guint round = 0; round < MS_CONN_READS_PER_EVENT
       || (conn->ssl != NULL && SSL_has_pending (conn->ssl)); round++)
    {
      gssize n;

      if (input_blocked (conn) || conn->delivering)
        return;

      if (conn->tls_state == MS_CONN_TLS_ACTIVE)
        {
          int ret;

          ERR_clear_error ();
          conn->read_wants_write = FALSE;
          ret = SSL_read (conn->ssl, chunk, sizeof chunk);
          if (ret <= 0)
            {
              int ssl_error = SSL_get_error (conn->ssl, ret);
              g_autofree char *reason = NULL;

              switch (ssl_error)
                {
                case SSL_ERROR_WANT_READ:
                  return;
                case SSL_ERROR_WANT_WRITE:
                  conn->read_wants_write = TRUE;
                  return;
                case SSL_ERROR_ZERO_RETURN:
                  handle_peer_eof (conn);
                  return;
                default:
                  conn->ssl_failed = TRUE;
                  reason = tls_failure_reason (ssl_error);
                  finish_close (conn, reason, FALSE);
                  return;
                }
            }
          n = ret;
        }
      else
        {
          g_autoptr(GError) error = NULL;

          n = g_socket_receive (conn->socket, (char *) chunk, sizeof chunk, NULL, &error);
          if (n < 0)
            {
              g_autofree char *reason = NULL;

              if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                return;
              reason = io_failure_reason (error);
              finish_close (conn, reason, FALSE);
              return;
            }
          if (n == 0)
            {
              handle_peer_eof (conn);
              return;
            }
        }

      touch_input (conn);
      take_input (conn, chunk, n);
    }
}

/* ---- output and TLS ---- */

static void
begin_handshake_if_flushed (MsConn *conn)
{
  if (conn->tls_state == MS_CONN_TLS_FLUSHING && conn->plain_remaining == 0 && !conn->closing)
    {
      conn->tls_state = MS_CONN_TLS_HANDSHAKE;
      /* The first step runs from the socket source, never from inside the
       * caller's ms_conn_start_tls_*(); the socket is writable at once. */
      conn->handshake_wants = G_IO_OUT;
    }
}

static void
consume_output (MsConn *conn,
                gsize   sent)
{
  gboolean was_over = buffer_size (&conn->output) > conn->limits.max_output;

  buffer_consume (&conn->output, sent);
  if (conn->tls_state == MS_CONN_TLS_FLUSHING)
    {
      conn->plain_remaining -= MIN (sent, conn->plain_remaining);
      begin_handshake_if_flushed (conn);
    }

  /* Backpressure is over: deliver what was held back and read again. */
  if (was_over && buffer_size (&conn->output) <= conn->limits.max_output)
    schedule_input (conn);
}

/* Sends queued output until the socket would block. */
static void
write_output (MsConn *conn)
{
  while (buffer_size (&conn->output) > 0 && !conn->closed)
    {
      const guint8 *data = conn->output.data + conn->output.pos;
      gsize avail = buffer_size (&conn->output);

      if (conn->tls_state == MS_CONN_TLS_HANDSHAKE)
        return;

      if (conn->tls_state == MS_CONN_TLS_ACTIVE)
        {
          int ret;

          /* After a WANT_WRITE, OpenSSL needs the retry to offer at least
           * as many bytes as before; ACCEPT_MOVING_WRITE_BUFFER lets the
           * buffer itself move. `avail` only grows until bytes are sent,
           * so MIN (avail, chunk) never shrinks between tries. */
          ERR_clear_error ();
          conn->write_wants_read = FALSE;
          ret = SSL_write (conn->ssl, data, (int) MIN (avail, MS_CONN_WRITE_CHUNK));
          if (ret <= 0)
            {
              int ssl_error = SSL_get_error (conn->ssl, ret);
              g_autofree char *reason = NULL;

              if (ssl_error == SSL_ERROR_WANT_WRITE)
                return;
              if (ssl_error == SSL_ERROR_WANT_READ)
                {
                  conn->write_wants_read = TRUE;
                  return;
                }
              conn->ssl_failed = TRUE;
              reason = tls_failure_reason (ssl_error);
              finish_close (conn, reason, FALSE);
              return;
            }
          consume_output (conn, ret);
        }
      else
        {
          g_autoptr(GError) error = NULL;
          gssize sent;

          /* Before a handshake, only the bytes queued before STARTTLS go
           * out in plain text (RFC 3207 §4: the 220 reply). */
          if (conn->tls_state == MS_CONN_TLS_FLUSHING)
            {
              if (conn->plain_remaining == 0)
                break;
              avail = MIN (avail, conn->plain_remaining);
            }

          sent = g_socket_send (conn->socket, (const char *) data, avail, NULL, &error);
          if (sent < 0)
            {
              g_autofree char *reason = NULL;

              if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
                return;
              reason = io_failure_reason (error);
              finish_close (conn, reason, FALSE);
              return;
            }
          consume_output (conn, sent);
        }
    }

  if (conn->closing && !conn->closed)
    {
      gboolean flushed = buffer_size (&conn->output) == 0
        || (conn->tls_state == MS_CONN_TLS_FLUSHING && conn->plain_remaining == 0);

      if (flushed)
        finish_close (conn, conn->close_reason, TRUE);
    }
}

static char *
describe_subject (X509 *cert)
{
  BIO *bio;
  char *data = NULL;
  long len;
  char *subject;

  if (cert == NULL)
    return NULL;

  bio = BIO_new (BIO_s_mem ());
  if (bio == NULL)
    return NULL;
  X509_NAME_print_ex (bio, X509_get_subject_name (cert), 0, XN_FLAG_RFC2253);
  len = BIO_get_mem_data (bio, &data);
  subject = g_strndup (data, len > 0 ? len : 0);
  BIO_free (bio);
  return subject;
}

static void
handshake_done (MsConn *conn)
{
  conn->tls_state = MS_CONN_TLS_ACTIVE;
  conn->tls_version = g_strdup (SSL_get_version (conn->ssl));
  conn->tls_cipher = g_strdup (SSL_get_cipher_name (conn->ssl));
  if (SSL_is_server (conn->ssl))
    {
      conn->tls_subject = describe_subject (SSL_get_certificate (conn->ssl));
    }
  else
    {
      X509 *peer_cert = SSL_get1_peer_certificate (conn->ssl);

      conn->tls_subject = describe_subject (peer_cert);
      X509_free (peer_cert);
    }

  g_debug ("%s: TLS established, %s %s", conn->peer, conn->tls_version, conn->tls_cipher);

  if (conn->callbacks.tls_done != NULL)
    conn->callbacks.tls_done (conn, TRUE, NULL, conn->user_data);

  /* The peer may have sent data right behind its last handshake message. */
  schedule_input (conn);
}

static void
step_handshake (MsConn *conn)
{
  g_autofree char *reason = NULL;
  int ret;
  int ssl_error;

  if (conn->ssl == NULL)
    {
      reason = g_strdup ("TLS error: cannot create a TLS session");
    }
  else
    {
      ERR_clear_error ();
      ret = SSL_do_handshake (conn->ssl);
      if (ret == 1)
        {
          handshake_done (conn);
          return;
        }

      ssl_error = SSL_get_error (conn->ssl, ret);
      switch (ssl_error)
        {
        case SSL_ERROR_WANT_READ:
          conn->handshake_wants = G_IO_IN;
          return;
        case SSL_ERROR_WANT_WRITE:
          conn->handshake_wants = G_IO_OUT;
          return;
        case SSL_ERROR_ZERO_RETURN:
          ERR_clear_error ();
          reason = g_strdup ("TLS error: peer closed during the handshake");
          break;
        default:
          reason = tls_failure_reason (ssl_error);
          if (g_str_equal (reason, "peer closed"))
            {
              g_free (reason);
              reason = g_strdup ("TLS error: peer closed during the handshake");
            }
          break;
        }
      conn->ssl_failed = TRUE;
    }

  g_debug ("%s: TLS handshake failed: %s", conn->peer, reason);
  /* Closed first, so a tls_done callback that closes or writes does not
   * change the reason; `closed` still comes later, from an idle source. */
  finish_close (conn, reason, FALSE);
  if (conn->callbacks.tls_done != NULL)
    conn->callbacks.tls_done (conn, FALSE, reason, conn->user_data);
}

/* ---- sources ---- */

static void
pump (MsConn *conn)
{
  if (conn->closed)
    return;
  /* SSL_read wanted to write (a TLS 1.3 KeyUpdate reply), but input is on
   * hold: let it wait for the next read rather than watch a writable
   * socket in a loop. */
  if (conn->read_wants_write && input_blocked (conn))
    conn->read_wants_write = FALSE;
  write_output (conn);
  if (!conn->closed && conn->tls_state == MS_CONN_TLS_HANDSHAKE)
    step_handshake (conn);
  if (!conn->closed)
    read_input (conn);
  /* The replies to what was just read go out now, together, instead of
   * after one more trip through poll() for a writable socket. */
  if (!conn->closed)
    write_output (conn);
}

static gboolean
socket_ready_cb (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  MsConn *conn = user_data;

  ms_conn_ref (conn);
  pump (conn);
  update_sources (conn);
  ms_conn_unref (conn);
  return G_SOURCE_CONTINUE;
}

static void
set_socket_source (MsConn       *conn,
                   GSource     **source,
                   GIOCondition  condition,
                   gboolean      wanted)
{
  if (!wanted)
    {
      clear_source (source);
      return;
    }
  if (*source != NULL)
    return;

  *source = g_socket_create_source (conn->socket, condition, NULL);
  g_source_set_callback (*source, (GSourceFunc) G_CALLBACK (socket_ready_cb), conn, NULL);
  g_source_set_static_name (*source, condition == G_IO_IN ? "[mailscope] MsConn input"
                                                          : "[mailscope] MsConn output");
  g_source_attach (*source, conn->context);
}

/* Watches for G_IO_IN only while input is wanted and G_IO_OUT only while
 * something waits to go out, so an idle connection costs one source. */
static void
update_sources (MsConn *conn)
{
  gboolean want_in = FALSE;
  gboolean want_out = FALSE;

  if (!conn->closed)
    {
      gboolean handshaking = conn->tls_state == MS_CONN_TLS_HANDSHAKE;

      want_in = (handshaking && conn->handshake_wants == G_IO_IN)
        || conn->write_wants_read
        || (!input_blocked (conn) && !conn->read_wants_write);
      want_out = (handshaking && conn->handshake_wants == G_IO_OUT)
        || conn->read_wants_write
        || (!handshaking && !conn->write_wants_read
            && (buffer_size (&conn->output) > 0 || conn->closing));
    }

  set_socket_source (conn, &conn->in_source, G_IO_IN, want_in);
  set_socket_source (conn, &conn->out_source, G_IO_OUT, want_out);
}

static gboolean
input_idle_cb (gpointer user_data)
{
  MsConn *conn = user_data;

  g_clear_pointer (&conn->input_idle, g_source_unref);

  ms_conn_ref (conn);
  if (!conn->closed && !conn->delivering)
    {
      deliver_buffered (conn);
      /* OpenSSL may hold decrypted bytes that no socket event announces. */
      read_input (conn);
    }
  update_sources (conn);
  ms_conn_unref (conn);
  return G_SOURCE_REMOVE;
}

/* Delivery restarts from the main loop, never inside the caller's call
 * (ms_conn_resume() from a line callback must not recurse). */
static void
schedule_input (MsConn *conn)
{
  if (conn->input_idle != NULL || conn->closed)
    return;

  conn->input_idle = g_idle_source_new ();
  /* Default priority, so busy sockets cannot starve a resumed session. */
  g_source_set_priority (conn->input_idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (conn->input_idle, input_idle_cb, conn, NULL);
  g_source_set_static_name (conn->input_idle, "[mailscope] MsConn resume");
  g_source_attach (conn->input_idle, conn->context);
}

/* ---- closing ---- */

/* After a graceful close we shut down our sending side, so the peer reads
 * everything and then EOF, and read and drop what the peer still sends for
 * a short while: closing a socket with unread input makes the kernel send a
 * reset, which can destroy our last reply before the peer reads it. The
 * linger owns the socket from then on; the MsConn is already closed. */
typedef struct {
  GSocketConnection *connection;
  GSource *read_source;
  GSource *timer;
} MsConnLinger;

static void
linger_free (MsConnLinger *linger)
{
  clear_source (&linger->read_source);
  clear_source (&linger->timer);
  g_io_stream_close (G_IO_STREAM (linger->connection), NULL, NULL);
  g_object_unref (linger->connection);
  g_free (linger);
}

static gboolean
linger_read_cb (GSocket      *socket,
                GIOCondition  condition,
                gpointer      user_data)
{
  MsConnLinger *linger = user_data;
  char sink[4096];

  for (guint round = 0; round < 16; round++)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_receive (socket, sink, sizeof sink, NULL, &error);

      if (n > 0)
        continue;
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return G_SOURCE_CONTINUE;
      /* EOF or error: the peer is done. */
      linger_free (linger);
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
linger_timeout_cb (gpointer user_data)
{
  linger_free (user_data);
  return G_SOURCE_REMOVE;
}

static void
linger_start (MsConn *conn)
{
  MsConnLinger *linger = g_new0 (MsConnLinger, 1);

  linger->connection = g_object_ref (conn->connection);
  g_socket_shutdown (conn->socket, FALSE, TRUE, NULL);

  linger->read_source = g_socket_create_source (conn->socket, G_IO_IN, NULL);
  g_source_set_callback (linger->read_source, (GSourceFunc) G_CALLBACK (linger_read_cb),
                         linger, NULL);
  g_source_set_static_name (linger->read_source, "[mailscope] MsConn linger");
  g_source_attach (linger->read_source, conn->context);

  linger->timer = g_timeout_source_new (MS_CONN_LINGER_MS);
  g_source_set_callback (linger->timer, linger_timeout_cb, linger, NULL);
  g_source_set_static_name (linger->timer, "[mailscope] MsConn linger timeout");
  g_source_attach (linger->timer, conn->context);
}

static gboolean
closed_idle_cb (gpointer user_data)
{
  MsConn *conn = user_data;

  g_clear_pointer (&conn->closed_idle, g_source_unref);
  if (conn->callbacks.closed != NULL)
    conn->callbacks.closed (conn, conn->close_reason, conn->user_data);
  return G_SOURCE_REMOVE;
}

/* Closes the socket now (gracefully: after our TLS close_notify and with a
 * lingering read) and schedules the one `closed` callback. */
static void
finish_close (MsConn     *conn,
              const char *reason,
              gboolean    graceful)
{
  if (conn->closed)
    return;

  conn->closed = TRUE;
  if (conn->close_reason == NULL)
    conn->close_reason = g_strdup (reason);

  clear_source (&conn->in_source);
  clear_source (&conn->out_source);
  clear_source (&conn->input_idle);
  clear_source (&conn->idle_timer);

  if (graceful)
    {
      /* RFC 8446 §6.1: send close_notify; we do not wait for the peer's. */
      if (conn->ssl != NULL && conn->tls_state == MS_CONN_TLS_ACTIVE && !conn->ssl_failed)
        SSL_shutdown (conn->ssl);
      ERR_clear_error ();
      linger_start (conn);
    }
  else
    {
      g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);
    }

  g_clear_pointer (&conn->ssl, SSL_free);
  /* A line callback that closes may be reading from the input buffer; the
   * delivery loop drops it when the callback returns. */
  if (!conn->delivering)
    buffer_clear (&conn->input);
  buffer_clear (&conn->output);

  g_debug ("%s: closed (%s)", conn->peer, conn->close_reason);

  conn->closed_idle = g_idle_source_new ();
  g_source_set_priority (conn->closed_idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (conn->closed_idle, closed_idle_cb, ms_conn_ref (conn),
                         (GDestroyNotify) ms_conn_unref);
  g_source_set_static_name (conn->closed_idle, "[mailscope] MsConn closed");
  g_source_attach (conn->closed_idle, conn->context);
}

/* ---- public API ---- */

MsConn *
ms_conn_new (GSocketConnection     *connection,
             const MsConnLimits    *limits,
             const MsConnCallbacks *callbacks,
             gpointer               user_data)
{
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GSocketAddress) local = NULL;
  MsConn *conn;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (connection), NULL);
  g_return_val_if_fail (callbacks != NULL, NULL);

  conn = g_new0 (MsConn, 1);
  conn->ref_count = 1;
  conn->connection = g_object_ref (connection);
  conn->socket = g_socket_connection_get_socket (connection);
  conn->context = g_main_context_ref_thread_default ();
  if (limits != NULL)
    conn->limits = *limits;
  ms_conn_limits_init (&conn->limits);
  conn->callbacks = *callbacks;
  conn->user_data = user_data;

  g_socket_set_blocking (conn->socket, FALSE);
  if (g_socket_get_family (conn->socket) != G_SOCKET_FAMILY_UNIX)
    {
      /* We already gather a whole reply per main-loop turn; Nagle would
       * only add a delayed-ACK stall to pipelined commands. */
      g_socket_set_option (conn->socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
    }

  remote = g_socket_connection_get_remote_address (connection, NULL);
  local = g_socket_connection_get_local_address (connection, NULL);
  conn->peer = remote != NULL ? address_to_string (remote) : g_strdup ("unknown");
  conn->local = local != NULL ? address_to_string (local) : g_strdup ("unknown");

  return conn;
}

MsConn *
ms_conn_ref (MsConn *conn)
{
  g_return_val_if_fail (conn != NULL, NULL);
  g_return_val_if_fail (conn->ref_count > 0, NULL);

  conn->ref_count++;
  return conn;
}

void
ms_conn_unref (MsConn *conn)
{
  g_return_if_fail (conn != NULL);
  g_return_if_fail (conn->ref_count > 0);

  if (--conn->ref_count > 0)
    return;

  clear_source (&conn->in_source);
  clear_source (&conn->out_source);
  clear_source (&conn->input_idle);
  clear_source (&conn->idle_timer);
  clear_source (&conn->closed_idle);
  if (!conn->closed)
    g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);

  g_clear_pointer (&conn->ssl, SSL_free);
  buffer_clear (&conn->input);
  buffer_clear (&conn->output);
  g_free (conn->close_reason);
  g_free (conn->tls_version);
  g_free (conn->tls_cipher);
  g_free (conn->tls_subject);
  g_free (conn->peer);
  g_free (conn->local);
  g_object_unref (conn->connection);
  g_main_context_unref (conn->context);
  g_free (conn);
}

void
ms_conn_start (MsConn *conn)
{
  g_return_if_fail (conn != NULL);

  if (conn->started || conn->closed)
    return;

  conn->started = TRUE;
  touch_input (conn);
  arm_idle_timer (conn, conn->limits.idle_timeout_s);
  update_sources (conn);
}

void
ms_conn_write (MsConn     *conn,
               const void *data,
               gsize       len)
{
  g_return_if_fail (conn != NULL);
  g_return_if_fail (data != NULL || len == 0);

  if (conn->closed || len == 0)
    return;

  /* Written from the output source on the next main-loop turn, so the
   * lines of one reply leave in one segment (or one TLS record). */
  buffer_append (&conn->output, data, len);
  update_sources (conn);
}

void
ms_conn_write_line (MsConn     *conn,
                    const char *line)
{
  g_return_if_fail (conn != NULL);
  g_return_if_fail (line != NULL);

  ms_conn_write (conn, line, strlen (line));
  ms_conn_write (conn, "\r\n", 2);
}

void
ms_conn_printf (MsConn     *conn,
                const char *format,
                ...)
{
  g_autofree char *text = NULL;
  va_list args;

  g_return_if_fail (conn != NULL);
  g_return_if_fail (format != NULL);

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  ms_conn_write (conn, text, strlen (text));
}

gsize
ms_conn_get_pending_output (MsConn *conn)
{
  g_return_val_if_fail (conn != NULL, 0);

  return buffer_size (&conn->output);
}

void
ms_conn_read_bytes (MsConn *conn,
                    gsize   count)
{
  g_return_if_fail (conn != NULL);
  g_return_if_fail (conn->raw_remaining == 0);

  /* A zero-length literal ({0}, RFC 3501 §4.3) has no bytes to deliver. */
  if (count == 0 || conn->closed)
    return;

  conn->raw_remaining = count;
  /* An explicit request wins over the tail of an over-long line. */
  conn->discarding = FALSE;
  if (!conn->delivering)
    schedule_input (conn);
}

void
ms_conn_set_max_line (MsConn *conn,
                      gsize   max_line)
{
  g_return_if_fail (conn != NULL);

  conn->limits.max_line = max_line > 0 ? max_line : MS_CONN_DEFAULT_MAX_LINE;
}

void
ms_conn_set_idle_timeout (MsConn *conn,
                          guint   seconds)
{
  g_return_if_fail (conn != NULL);

  conn->limits.idle_timeout_s = seconds;
  if (conn->started && !conn->closed)
    arm_idle_timer (conn, seconds);
}

void
ms_conn_pause (MsConn *conn)
{
  g_return_if_fail (conn != NULL);

  conn->paused = TRUE;
  update_sources (conn);
}

void
ms_conn_resume (MsConn *conn)
{
  g_return_if_fail (conn != NULL);

  if (!conn->paused)
    return;
  conn->paused = FALSE;
  schedule_input (conn);
  update_sources (conn);
}

static void
start_tls (MsConn     *conn,
           SSL_CTX    *ctx,
           gboolean    server,
           const char *hostname)
{
  if (conn->closed || conn->closing)
    return;

  ERR_clear_error ();
  conn->ssl = SSL_new (ctx);
  if (conn->ssl != NULL)
    {
      SSL_set_fd (conn->ssl, g_socket_get_fd (conn->socket));
      /* RELEASE_BUFFERS frees OpenSSL's two ~17 KiB record buffers while
       * the connection is idle. */
      SSL_set_mode (conn->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE
                               | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                               | SSL_MODE_RELEASE_BUFFERS);
      /* Mail clients often close without close_notify after QUIT/LOGOUT;
       * the protocols frame their own ends, so that is a normal close. */
      SSL_set_options (conn->ssl, SSL_OP_IGNORE_UNEXPECTED_EOF);
      if (server)
        {
          SSL_set_accept_state (conn->ssl);
        }
      else
        {
          SSL_set_connect_state (conn->ssl);
          if (hostname != NULL && g_hostname_is_ip_address (hostname))
            {
              /* RFC 6066 §3: SNI carries host names, never addresses. */
              X509_VERIFY_PARAM_set1_ip_asc (SSL_get0_param (conn->ssl), hostname);
            }
          else if (hostname != NULL)
            {
              SSL_set_tlsext_host_name (conn->ssl, hostname);
              SSL_set1_host (conn->ssl, hostname);
            }
        }
    }
  ERR_clear_error ();

  conn->tls_state = MS_CONN_TLS_FLUSHING;
  /* From a callback, the delivery loop drops the buffer when it returns. */
  if (!conn->delivering)
    maybe_drop_input (conn);

  conn->plain_remaining = buffer_size (&conn->output);
  conn->read_wants_write = FALSE;
  conn->write_wants_read = FALSE;
  begin_handshake_if_flushed (conn);
  update_sources (conn);
}

void
ms_conn_start_tls_server (MsConn  *conn,
                          SSL_CTX *ctx)
{
  g_return_if_fail (conn != NULL);
  g_return_if_fail (ctx != NULL);
  g_return_if_fail (conn->tls_state == MS_CONN_TLS_NONE);

  start_tls (conn, ctx, TRUE, NULL);
}

void
ms_conn_start_tls_client (MsConn     *conn,
                          SSL_CTX    *ctx,
                          const char *hostname)
{
  g_return_if_fail (conn != NULL);
  g_return_if_fail (ctx != NULL);
  g_return_if_fail (conn->tls_state == MS_CONN_TLS_NONE);

  start_tls (conn, ctx, FALSE, hostname);
}

gboolean
ms_conn_is_tls (MsConn *conn)
{
  g_return_val_if_fail (conn != NULL, FALSE);

  return conn->tls_state == MS_CONN_TLS_ACTIVE;
}

const char *
ms_conn_get_tls_version (MsConn *conn)
{
  g_return_val_if_fail (conn != NULL, NULL);

  return conn->tls_version;
}

const char *
ms_conn_get_tls_cipher (MsConn *conn)
{
  g_return_val_if_fail (conn != NULL, NULL);

  return conn->tls_cipher;
}

const char *
ms_conn_get_tls_subject (MsConn *conn)
{
  g_return_val_if_fail (conn != NULL, NULL);

  return conn->tls_subject;
}

const char *
ms_conn_get_peer (MsConn *conn)
{
  g_return_val_if_fail (conn != NULL, NULL);

  return conn->peer;
}

const char *
ms_conn_get_local (MsConn *conn)
{
  g_return_val_if_fail (conn != NULL, NULL);

  return conn->local;
}

void
ms_conn_close_after_flush (MsConn *conn)
{
  g_return_if_fail (conn != NULL);

  if (conn->closed || conn->closing)
    return;

  conn->closing = TRUE;
  if (conn->close_reason == NULL)
    conn->close_reason = g_strdup ("closed by server");
  if (!conn->delivering)
    buffer_clear (&conn->input);

  if (conn->tls_state == MS_CONN_TLS_HANDSHAKE)
    {
      /* Nothing sensible can be sent in the middle of a handshake. */
      finish_close (conn, conn->close_reason, FALSE);
      return;
    }

  /* The output source sends what is queued and then closes, on the next
   * main-loop turn: a reply written right after this call, by the code that
   * called the handler that decided to close, still goes out. */
  update_sources (conn);
}

void
ms_conn_close (MsConn *conn)
{
  g_return_if_fail (conn != NULL);

  finish_close (conn, "closed by server", FALSE);
}

gboolean
ms_conn_is_closed (MsConn *conn)
{
  g_return_val_if_fail (conn != NULL, TRUE);

  return conn->closed || conn->closing;
}

void
ms_conn_describe_endpoints (MsConn *conn,
                            MsEvent *event)
{
  g_return_if_fail (conn != NULL && event != NULL);

  ms_event_set_string (event, "peer", ms_conn_get_peer (conn));
  ms_event_set_string (event, "local", ms_conn_get_local (conn));
}

void
ms_conn_describe_tls (MsConn *conn,
                      MsEvent *event,
                      gboolean ok,
                      const char *error)
{
  g_return_if_fail (conn != NULL && event != NULL);

  ms_event_set_bool (event, "success", ok);
  if (ok)
    {
      ms_event_set_string (event, "version", ms_conn_get_tls_version (conn));
      ms_event_set_string (event, "cipher", ms_conn_get_tls_cipher (conn));
      ms_event_set_string (event, "subject", ms_conn_get_tls_subject (conn));
    }
  else
    ms_event_set_string (event, "error", error != NULL ? error : "unknown error");
}
