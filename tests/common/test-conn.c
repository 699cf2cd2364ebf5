/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "ms-conn.h"

/* Every test runs real sockets on 127.0.0.1 and iterates the default main
 * context until what it waits for has happened, or fails after 10 s. */
#define ITERATE_UNTIL(cond)                                                     \
  G_STMT_START {                                                                \
    gint64 deadline_ = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;           \
    while (!(cond))                                                             \
      {                                                                         \
        g_assert_cmpint (g_get_monotonic_time (), <, deadline_);                \
        g_main_context_iteration (NULL, TRUE);                                  \
      }                                                                         \
  } G_STMT_END

/* Runs the main context for `ms` milliseconds, to show that something does
 * NOT happen. */
static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

/* Keeps blocking iterations from sleeping past a deadline. */
static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

typedef struct {
  GBytes *bytes;
  MsLineFlags flags;
} RecordedLine;

static void
recorded_line_free (gpointer data)
{
  RecordedLine *line = data;

  g_bytes_unref (line->bytes);
  g_free (line);
}

/* One end of a connection, driven by an MsConn, recording what arrives. */
typedef struct {
  MsConn *conn;
  GPtrArray *lines;             /* RecordedLine */
  GByteArray *raw;
  guint raw_chunks;
  guint raw_last;
  guint closed_count;
  guint lines_at_close;
  char *closed_reason;
  guint idle_count;
  /* Behaviour. */
  gboolean echo;
  gboolean pause_each_line;
  gboolean reply_on_idle;
} Peer;

static const char *
line_text (Peer *peer, guint i)
{
  RecordedLine *line = g_ptr_array_index (peer->lines, i);

  return g_bytes_get_data (line->bytes, NULL);
}

static MsLineFlags
line_flags (Peer *peer, guint i)
{
  RecordedLine *line = g_ptr_array_index (peer->lines, i);

  return line->flags;
}

static void
peer_line_cb (MsConn      *conn,
              const char  *line,
              gsize        len,
              MsLineFlags  flags,
              gpointer     user_data)
{
  Peer *peer = user_data;
  RecordedLine *recorded = g_new0 (RecordedLine, 1);

  /* The contract: NUL-terminated at line[len]. Keep the NUL in the copy. */
  g_assert_cmpint (line[len], ==, '\0');
  recorded->bytes = g_bytes_new (line, len + 1);
  recorded->flags = flags;
  g_ptr_array_add (peer->lines, recorded);

  if (g_str_has_prefix (line, "RAW "))
    ms_conn_read_bytes (conn, strtoul (line + 4, NULL, 10));
  else if (g_str_equal (line, "QUIT"))
    {
      ms_conn_write_line (conn, "221 bye");
      ms_conn_close_after_flush (conn);
    }
  else if (g_str_equal (line, "CLOSE"))
    ms_conn_close (conn);
  else if (peer->echo)
    {
      ms_conn_write (conn, line, len);
      ms_conn_write (conn, "\r\n", 2);
    }

  if (peer->pause_each_line)
    ms_conn_pause (conn);
}

static void
peer_bytes_cb (MsConn        *conn,
               const guint8  *data,
               gsize          len,
               gboolean       last,
               gpointer       user_data)
{
  Peer *peer = user_data;

  g_assert_cmpuint (len, >, 0);
  g_assert_cmpuint (peer->raw_last, ==, 0);
  g_byte_array_append (peer->raw, data, len);
  peer->raw_chunks++;
  if (last)
    peer->raw_last++;
}

static void
peer_idle_cb (MsConn   *conn,
              gpointer  user_data)
{
  Peer *peer = user_data;

  peer->idle_count++;
  if (peer->reply_on_idle)
    {
      ms_conn_write_line (conn, "421 idle too long");
      ms_conn_close_after_flush (conn);
    }
}

static void
peer_closed_cb (MsConn     *conn,
                const char *reason,
                gpointer    user_data)
{
  Peer *peer = user_data;

  g_assert_true (conn == peer->conn);
  peer->closed_count++;
  peer->lines_at_close = peer->lines->len;
  g_free (peer->closed_reason);
  peer->closed_reason = g_strdup (reason);
  /* The contract allows dropping the connection from its own callback. */
  g_clear_pointer (&peer->conn, ms_conn_unref);
}

static const MsConnCallbacks peer_callbacks = {
  .line = peer_line_cb,
  .bytes = peer_bytes_cb,
  .idle = peer_idle_cb,
  .closed = peer_closed_cb,
};

static Peer *
peer_new (GSocketConnection  *connection,
          const MsConnLimits *limits)
{
  Peer *peer = g_new0 (Peer, 1);

  peer->lines = g_ptr_array_new_with_free_func (recorded_line_free);
  peer->raw = g_byte_array_new ();
  peer->conn = ms_conn_new (connection, limits, &peer_callbacks, peer);
  return peer;
}

static void
peer_free (Peer *peer)
{
  g_clear_pointer (&peer->conn, ms_conn_unref);
  g_ptr_array_unref (peer->lines);
  g_byte_array_unref (peer->raw);
  g_free (peer->closed_reason);
  g_free (peer);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Peer, peer_free)

/* Connects two TCP sockets over 127.0.0.1 on an ephemeral port. */
static void
make_socket_pair (GSocketConnection **server_r,
                  GSocketConnection **client_r)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  guint16 port;

  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_assert_cmpuint (port, >, 0);

  *client_r = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  *server_r = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);
  g_socket_listener_close (listener);
}

/* A server MsConn and a client MsConn, both started. */
static void
make_conn_pair (const MsConnLimits  *server_limits,
                Peer               **server_r,
                Peer               **client_r)
{
  g_autoptr(GSocketConnection) server_side = NULL;
  g_autoptr(GSocketConnection) client_side = NULL;

  make_socket_pair (&server_side, &client_side);
  *server_r = peer_new (server_side, server_limits);
  *client_r = peer_new (client_side, NULL);
  ms_conn_start ((*server_r)->conn);
  ms_conn_start ((*client_r)->conn);
}

/* A started server MsConn and a plain client socket the test writes to
 * directly, byte by byte where it wants. */
static void
make_raw_pair (const MsConnLimits  *server_limits,
               Peer               **server_r,
               GSocketConnection  **client_r)
{
  g_autoptr(GSocketConnection) server_side = NULL;

  make_socket_pair (&server_side, client_r);
  g_socket_set_option (g_socket_connection_get_socket (*client_r),
                       IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  *server_r = peer_new (server_side, server_limits);
  ms_conn_start ((*server_r)->conn);
}

static void
raw_send (GSocketConnection *client,
          const void        *data,
          gsize              len)
{
  GSocket *socket = g_socket_connection_get_socket (client);
  const char *p = data;

  while (len > 0)
    {
      g_autoptr(GError) error = NULL;
      gssize n = g_socket_send (socket, p, len, NULL, &error);

      g_assert_no_error (error);
      p += n;
      len -= n;
    }
}

/* Sends `data` in pieces of `piece` bytes and lets the other end read each
 * piece before the next, so the framing sees every split point. */
static void
raw_send_split (GSocketConnection *client,
                const void        *data,
                gsize              len,
                gsize              piece)
{
  const guint8 *p = data;

  for (gsize done = 0; done < len; done += piece)
    {
      raw_send (client, p + done, MIN (piece, len - done));
      g_usleep (100);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }
}

/* Reads from the plain client socket until `want` bytes arrived or EOF,
 * running the main context in between. Returns what arrived. */
static GByteArray *
raw_receive (GSocketConnection *client,
             gsize              want,
             gboolean          *eof_r)
{
  GSocket *socket = g_socket_connection_get_socket (client);
  GByteArray *received = g_byte_array_new ();
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  guint8 chunk[65536];

  g_socket_set_blocking (socket, FALSE);
  *eof_r = FALSE;
  while (received->len < want)
    {
      g_autoptr(GError) error = NULL;
      gssize n;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      while (g_main_context_iteration (NULL, FALSE))
        ;
      n = g_socket_receive (socket, (char *) chunk, sizeof chunk, NULL, &error);
      if (n == 0)
        {
          *eof_r = TRUE;
          break;
        }
      if (n < 0)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          g_socket_condition_timed_wait (socket, G_IO_IN, 2000, NULL, NULL);
          continue;
        }
      g_byte_array_append (received, chunk, n);
    }
  return received;
}

/* ---- tests ---- */

static void
test_limits_init (void)
{
  MsConnLimits limits = { 0 };
  MsConnLimits custom = { .max_line = 100, .idle_timeout_s = 7 };

  ms_conn_limits_init (&limits);
  g_assert_cmpuint (limits.max_line, ==, 4096);
  g_assert_cmpuint (limits.max_output, ==, 256 * 1024);
  g_assert_cmpuint (limits.idle_timeout_s, ==, 0);

  ms_conn_limits_init (&custom);
  g_assert_cmpuint (custom.max_line, ==, 100);
  g_assert_cmpuint (custom.max_output, ==, 256 * 1024);
  g_assert_cmpuint (custom.idle_timeout_s, ==, 7);
}

typedef struct {
  const char *text;
  gsize len;                    /* 0: strlen (text) */
  MsLineFlags flags;
} ExpectedLine;

typedef struct {
  const char *name;
  const char *input;
  gsize input_len;              /* 0: strlen (input) */
  ExpectedLine expected[4];
} FramingCase;

#define TEST_MAX_LINE 8

static const FramingCase framing_cases[] = {
  { "crlf", "HELO a\r\n", 0, { { "HELO a", 0, 0 } } },
  { "bare-lf", "a\nb\r\n", 0, { { "a", 0, MS_LINE_FLAG_BARE_LF }, { "b", 0, 0 } } },
  { "empty", "\r\n\n", 0, { { "", 0, 0 }, { "", 0, MS_LINE_FLAG_BARE_LF } } },
  { "nul-inside", "x\0y\r\n", 5, { { "x\0y", 3, 0 } } },
  { "cr-inside", "a\rb\r\n", 0, { { "a\rb", 0, 0 } } },
  { "exactly-max", "12345678\r\nz\r\n", 0, { { "12345678", 0, 0 }, { "z", 0, 0 } } },
  { "exactly-max-bare-lf", "12345678\nz\r\n", 0,
    { { "12345678", 0, MS_LINE_FLAG_BARE_LF }, { "z", 0, 0 } } },
  { "one-too-long", "123456789\r\nok\r\n", 0,
    { { "12345678", 0, MS_LINE_FLAG_TOO_LONG }, { "ok", 0, 0 } } },
  { "too-long-cr-at-limit", "12345678\r9\r\nok\r\n", 0,
    { { "12345678", 0, MS_LINE_FLAG_TOO_LONG }, { "ok", 0, 0 } } },
  { "much-too-long", "abcdefghijklmnopqrstuvwxyz0123456789\r\nnext\n", 0,
    { { "abcdefgh", 0, MS_LINE_FLAG_TOO_LONG }, { "next", 0, MS_LINE_FLAG_BARE_LF } } },
  { "partial-last", "done\r\nno-end", 0, { { "done", 0, 0 } } },
};

static void
check_framing (const FramingCase *fc,
               gsize              piece)
{
  MsConnLimits limits = { .max_line = TEST_MAX_LINE };
  g_autoptr(Peer) server = NULL;
  g_autoptr(GSocketConnection) client = NULL;
  gsize input_len = fc->input_len ? fc->input_len : strlen (fc->input);
  guint n_expected = 0;

  while (n_expected < G_N_ELEMENTS (fc->expected) && fc->expected[n_expected].text != NULL)
    n_expected++;

  g_test_message ("case %s, pieces of %" G_GSIZE_FORMAT, fc->name, piece);
  make_raw_pair (&limits, &server, &client);
  raw_send_split (client, fc->input, input_len, piece);
  ITERATE_UNTIL (server->lines->len >= n_expected);
  /* Nothing more may come (a partial line stays partial). */
  spin (20);
  g_assert_cmpuint (server->lines->len, ==, n_expected);

  for (guint i = 0; i < n_expected; i++)
    {
      const ExpectedLine *want = &fc->expected[i];
      RecordedLine *got = g_ptr_array_index (server->lines, i);
      gsize want_len = want->len ? want->len : strlen (want->text);
      gsize got_len;
      const char *got_data = g_bytes_get_data (got->bytes, &got_len);

      g_assert_cmpmem (got_data, got_len - 1, want->text, want_len);
      g_assert_cmpint (got->flags, ==, want->flags);
    }
}

static void
test_framing (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (framing_cases); i++)
    {
      check_framing (&framing_cases[i], G_MAXSIZE / 2);
      check_framing (&framing_cases[i], 1);
      check_framing (&framing_cases[i], 3);
    }
}

static void
test_long_line_stream (void)
{
  g_test_summary ("A line far longer than max_line, sent in many writes, is "
                  "reported once and cut; the next line arrives intact.");
  MsConnLimits limits = { .max_line = 100 };
  g_autoptr(Peer) server = NULL;
  g_autoptr(GSocketConnection) client = NULL;
  g_autofree char *junk = g_strnfill (300 * 1024, 'x');

  make_raw_pair (&limits, &server, &client);
  raw_send (client, "first\r\n", 7);
  raw_send_split (client, junk, strlen (junk), 7919);
  raw_send (client, "\r\nsecond\r\n", 10);
  ITERATE_UNTIL (server->lines->len >= 3);
  spin (20);

  g_assert_cmpuint (server->lines->len, ==, 3);
  g_assert_cmpstr (line_text (server, 0), ==, "first");
  g_assert_cmpuint (strlen (line_text (server, 1)), ==, 100);
  g_assert_cmpint (line_flags (server, 1), ==, MS_LINE_FLAG_TOO_LONG);
  g_assert_cmpstr (line_text (server, 2), ==, "second");
  g_assert_cmpint (line_flags (server, 2), ==, MS_LINE_FLAG_NONE);
}

static void
test_many_lines (void)
{
  g_autoptr(Peer) server = NULL;
  g_autoptr(GSocketConnection) client = NULL;
  g_autoptr(GString) input = g_string_new (NULL);
  const guint n_lines = 3000;

  for (guint i = 0; i < n_lines; i++)
    g_string_append_printf (input, "line %04u\r\n", i);

  make_raw_pair (NULL, &server, &client);
  /* One write, bigger than one 16 KiB read. */
  raw_send (client, input->str, input->len);
  ITERATE_UNTIL (server->lines->len == n_lines);

  for (guint i = 0; i < n_lines; i++)
    {
      g_autofree char *want = g_strdup_printf ("line %04u", i);
      g_assert_cmpstr (line_text (server, i), ==, want);
    }
}

static void
test_echo (void)
{
  g_autoptr(Peer) server = NULL;
  g_autoptr(Peer) client = NULL;
  const guint n_lines = 500;

  make_conn_pair (NULL, &server, &client);
  server->echo = TRUE;

  g_assert_true (g_str_has_prefix (ms_conn_get_peer (server->conn), "127.0.0.1:"));
  g_assert_true (g_str_has_prefix (ms_conn_get_local (server->conn), "127.0.0.1:"));
  g_assert_cmpstr (ms_conn_get_peer (server->conn), ==, ms_conn_get_local (client->conn));
  g_assert_cmpstr (ms_conn_get_local (server->conn), ==, ms_conn_get_peer (client->conn));
  g_assert_false (ms_conn_is_tls (server->conn));
  g_assert_null (ms_conn_get_tls_version (server->conn));

  for (guint i = 0; i < n_lines; i++)
    ms_conn_printf (client->conn, "echo %u\r\n", i);
  g_assert_cmpuint (ms_conn_get_pending_output (client->conn), >, 0);
  ITERATE_UNTIL (client->lines->len == n_lines);

  g_assert_cmpuint (server->lines->len, ==, n_lines);
  g_assert_cmpuint (ms_conn_get_pending_output (client->conn), ==, 0);
  for (guint i = 0; i < n_lines; i++)
    {
      g_autofree char *want = g_strdup_printf ("echo %u", i);
      g_assert_cmpstr (line_text (client, i), ==, want);
      g_assert_cmpint (line_flags (client, i), ==, MS_LINE_FLAG_NONE);
    }

  ms_conn_write_line (client->conn, "QUIT");
  ITERATE_UNTIL (client->closed_count == 1 && server->closed_count == 1);
  g_assert_cmpstr (line_text (client, n_lines), ==, "221 bye");
  g_assert_cmpstr (client->closed_reason, ==, "peer closed");
  g_assert_cmpstr (server->closed_reason, ==, "closed by server");
}

typedef struct {
  const char *name;
  const char *input;
  gsize raw_len;
  const char *raw;
} RawCase;

static const RawCase raw_cases[] = {
  { "simple", "RAW 10\r\n0123456789LINE\r\n", 10, "0123456789" },
  /* Line endings inside raw bytes are data, not framing. */
  { "crlf-inside", "RAW 12\r\nab\r\n.\r\ncd\nefLINE\r\n", 12, "ab\r\n.\r\ncd\nef" },
  { "one-byte", "RAW 1\r\nZLINE\r\n", 1, "Z" },
};

static void
test_raw_mode (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (raw_cases); i++)
    {
      const gsize pieces[] = { 4096, 1, 5 };

      for (gsize p = 0; p < G_N_ELEMENTS (pieces); p++)
        {
          const RawCase *rc = &raw_cases[i];
          g_autoptr(Peer) server = NULL;
          g_autoptr(GSocketConnection) client = NULL;

          g_test_message ("case %s, pieces of %" G_GSIZE_FORMAT, rc->name, pieces[p]);
          make_raw_pair (NULL, &server, &client);
          raw_send_split (client, rc->input, strlen (rc->input), pieces[p]);
          ITERATE_UNTIL (server->lines->len == 2);

          g_assert_cmpuint (server->raw_last, ==, 1);
          g_assert_cmpmem (server->raw->data, server->raw->len, rc->raw, rc->raw_len);
          if (pieces[p] == 1 && rc->raw_len > 1)
            g_assert_cmpuint (server->raw_chunks, >, 1);
          g_assert_cmpstr (line_text (server, 1), ==, "LINE");
        }
    }
}

static void
test_raw_large (void)
{
  g_autoptr(Peer) server = NULL;
  g_autoptr(Peer) client = NULL;
  const gsize size = 1024 * 1024 + 17;
  g_autofree guint8 *payload = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    payload[i] = (guint8) (i * 7 + i / 251);

  make_conn_pair (NULL, &server, &client);
  ms_conn_printf (client->conn, "RAW %" G_GSIZE_FORMAT "\r\n", size);
  ms_conn_write (client->conn, payload, size);
  ms_conn_write_line (client->conn, "AFTER");
  ITERATE_UNTIL (server->lines->len == 2);

  g_assert_cmpuint (server->raw_last, ==, 1);
  g_assert_cmpmem (server->raw->data, server->raw->len, payload, size);
  g_assert_cmpstr (line_text (server, 1), ==, "AFTER");
}

static void
test_pause_resume (void)
{
  g_autoptr(Peer) server = NULL;
  g_autoptr(GSocketConnection) client = NULL;

  make_raw_pair (NULL, &server, &client);
  server->pause_each_line = TRUE;

  raw_send (client, "a\r\nb\r\nc\r\n", 9);
  ITERATE_UNTIL (server->lines->len == 1);
  spin (50);
  g_assert_cmpuint (server->lines->len, ==, 1);

  /* Buffered lines come from the main loop, not from inside resume. */
  ms_conn_resume (server->conn);
  g_assert_cmpuint (server->lines->len, ==, 1);
  ITERATE_UNTIL (server->lines->len == 2);
  spin (50);
  g_assert_cmpuint (server->lines->len, ==, 2);
  g_assert_cmpstr (line_text (server, 1), ==, "b");

  ms_conn_resume (server->conn);
  ITERATE_UNTIL (server->lines->len == 3);
  g_assert_cmpstr (line_text (server, 2), ==, "c");

  /* Paused with nothing buffered: new input waits in the socket. */
  raw_send (client, "d\r\n", 3);
  spin (50);
  g_assert_cmpuint (server->lines->len, ==, 3);
  ms_conn_resume (server->conn);
  ITERATE_UNTIL (server->lines->len == 4);
  g_assert_cmpstr (line_text (server, 3), ==, "d");

  /* Paused in the middle of a raw transfer. */
  server->pause_each_line = FALSE;
  ms_conn_resume (server->conn);
  raw_send (client, "RAW 4\r\nwxyz", 11);
  ITERATE_UNTIL (server->lines->len == 5);
  ITERATE_UNTIL (server->raw_last == 1);
  g_assert_cmpmem (server->raw->data, server->raw->len, "wxyz", 4);
}

static void
test_close_after_flush (void)
{
  g_autoptr(Peer) server = NULL;
  g_autoptr(Peer) client = NULL;
  const guint n_lines = 2000;
  g_autofree char *padding = g_strnfill (90, 'p');

  make_conn_pair (NULL, &server, &client);

  for (guint i = 0; i < n_lines; i++)
    ms_conn_printf (server->conn, "%05u %s\r\n", i, padding);
  ms_conn_close_after_flush (server->conn);
  g_assert_true (ms_conn_is_closed (server->conn));
  /* Writes after close_after_flush still go before the close. */
  ms_conn_write_line (server->conn, "last");
  g_assert_cmpuint (server->closed_count, ==, 0);

  ITERATE_UNTIL (client->closed_count == 1 && server->closed_count == 1);
  g_assert_cmpuint (client->lines_at_close, ==, n_lines + 1);
  for (guint i = 0; i < n_lines; i++)
    {
      g_autofree char *want = g_strdup_printf ("%05u %s", i, padding);
      g_assert_cmpstr (line_text (client, i), ==, want);
    }
  g_assert_cmpstr (line_text (client, n_lines), ==, "last");
  g_assert_cmpstr (client->closed_reason, ==, "peer closed");
  g_assert_cmpstr (server->closed_reason, ==, "closed by server");

  spin (50);
  g_assert_cmpuint (client->closed_count, ==, 1);
  g_assert_cmpuint (server->closed_count, ==, 1);
}

static void
test_close_after_flush_eof (void)
{
  g_test_summary ("The peer reads every byte and then EOF, even when it had "
                  "sent more input we never read (no reset).");
  g_autoptr(Peer) server = NULL;
  g_autoptr(GSocketConnection) client = NULL;
  g_autoptr(GByteArray) received = NULL;
  g_autoptr(GString) want = g_string_new (NULL);
  gboolean eof = FALSE;

  make_raw_pair (NULL, &server, &client);
  for (guint i = 0; i < 1000; i++)
    g_string_append_printf (want, "reply %u\r\n", i);
  ms_conn_write (server->conn, want->str, want->len);
  g_string_append (want, "221 bye\r\n");

  /* QUIT, then more pipelined input the server never reads. */
  raw_send (client, "QUIT\r\nNOOP\r\nNOOP\r\n", 18);
  received = raw_receive (client, G_MAXSIZE, &eof);
  g_assert_true (eof);
  g_assert_cmpmem (received->data, received->len, want->str, want->len);
  ITERATE_UNTIL (server->closed_count == 1);
  g_assert_cmpuint (server->lines->len, ==, 1);
  g_assert_cmpstr (server->closed_reason, ==, "closed by server");
}

static void
test_peer_close (void)
{
  g_autoptr(Peer) server = NULL;
  g_autoptr(Peer) client = NULL;

  make_conn_pair (NULL, &server, &client);
  ms_conn_write_line (client->conn, "hello");
  ITERATE_UNTIL (server->lines->len == 1);

  ms_conn_close (client->conn);
  /* `closed` comes from an idle callback, never from inside close. */
  g_assert_cmpuint (client->closed_count, ==, 0);
  g_assert_true (ms_conn_is_closed (client->conn));
  /* Writes after close are dropped. */
  ms_conn_write_line (client->conn, "ignored");
  g_assert_cmpuint (ms_conn_get_pending_output (client->conn), ==, 0);

  ITERATE_UNTIL (client->closed_count == 1 && server->closed_count == 1);
  g_assert_cmpstr (client->closed_reason, ==, "closed by server");
  g_assert_cmpstr (server->closed_reason, ==, "peer closed");
  g_assert_cmpuint (server->lines->len, ==, 1);

  spin (50);
  g_assert_cmpuint (client->closed_count, ==, 1);
  g_assert_cmpuint (server->closed_count, ==, 1);
}

static void
test_close_in_callback (void)
{
  g_autoptr(Peer) server = NULL;
  g_autoptr(GSocketConnection) client = NULL;

  make_raw_pair (NULL, &server, &client);
  raw_send (client, "a\r\nCLOSE\r\nb\r\n", 13);
  ITERATE_UNTIL (server->closed_count == 1);
  spin (20);

  g_assert_cmpuint (server->lines->len, ==, 2);
  g_assert_cmpstr (line_text (server, 1), ==, "CLOSE");
  g_assert_cmpstr (server->closed_reason, ==, "closed by server");
  g_assert_cmpuint (server->closed_count, ==, 1);
}

static void
test_backpressure (void)
{
  g_test_summary ("A peer that never reads: output piles up past max_output, "
                  "and then the connection stops reading input.");
  MsConnLimits limits = { .max_output = 64 * 1024 };
  g_autoptr(Peer) server = NULL;
  g_autoptr(GSocketConnection) server_side = NULL;
  g_autoptr(GSocketConnection) client = NULL;
  g_autoptr(GByteArray) received = NULL;
  g_autofree char *block = g_strnfill (1022, 'b');
  const guint n_blocks = 2048;
  gboolean eof = FALSE;
  gsize pending;

  /* Small kernel buffers, so the kernel cannot swallow it all. */
  make_socket_pair (&server_side, &client);
  g_socket_set_option (g_socket_connection_get_socket (client),
                       SOL_SOCKET, SO_RCVBUF, 16 * 1024, NULL);
  g_socket_set_option (g_socket_connection_get_socket (server_side),
                       SOL_SOCKET, SO_SNDBUF, 16 * 1024, NULL);
  server = peer_new (server_side, &limits);
  ms_conn_start (server->conn);

  for (guint i = 0; i < n_blocks; i++)
    ms_conn_printf (server->conn, "%s\r\n", block);
  spin (200);
  pending = ms_conn_get_pending_output (server->conn);
  g_test_message ("pending output %" G_GSIZE_FORMAT, pending);
  g_assert_cmpuint (pending, >, limits.max_output);

  raw_send (client, "PING\r\n", 6);
  spin (200);
  g_assert_cmpuint (server->lines->len, ==, 0);

  /* Once the peer reads, output drains and input flows again. */
  received = raw_receive (client, n_blocks * 1024, &eof);
  g_assert_false (eof);
  g_assert_cmpuint (received->len, ==, n_blocks * 1024);
  ITERATE_UNTIL (server->lines->len == 1);
  g_assert_cmpstr (line_text (server, 0), ==, "PING");
  g_assert_cmpuint (ms_conn_get_pending_output (server->conn), ==, 0);
}

static void
test_idle (void)
{
  MsConnLimits limits = { .idle_timeout_s = 1 };
  g_autoptr(Peer) server = NULL;
  g_autoptr(Peer) client = NULL;
  gint64 start = g_get_monotonic_time ();

  make_conn_pair (&limits, &server, &client);
  server->reply_on_idle = TRUE;

  ITERATE_UNTIL (client->closed_count == 1);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, G_USEC_PER_SEC - 100000);
  g_assert_cmpuint (server->idle_count, ==, 1);
  g_assert_cmpuint (client->lines->len, ==, 1);
  g_assert_cmpstr (line_text (client, 0), ==, "421 idle too long");
  g_assert_cmpstr (client->closed_reason, ==, "peer closed");
  ITERATE_UNTIL (server->closed_count == 1);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_timeout_add (20, tick_cb, NULL);

  g_test_add_func ("/common/conn/limits-init", test_limits_init);
  g_test_add_func ("/common/conn/framing", test_framing);
  g_test_add_func ("/common/conn/long-line-stream", test_long_line_stream);
  g_test_add_func ("/common/conn/many-lines", test_many_lines);
  g_test_add_func ("/common/conn/echo", test_echo);
  g_test_add_func ("/common/conn/raw-mode", test_raw_mode);
  g_test_add_func ("/common/conn/raw-large", test_raw_large);
  g_test_add_func ("/common/conn/pause-resume", test_pause_resume);
  g_test_add_func ("/common/conn/close-after-flush", test_close_after_flush);
  g_test_add_func ("/common/conn/close-after-flush-eof", test_close_after_flush_eof);
  g_test_add_func ("/common/conn/peer-close", test_peer_close);
  g_test_add_func ("/common/conn/close-in-callback", test_close_in_callback);
  g_test_add_func ("/common/conn/backpressure", test_backpressure);
  g_test_add_func ("/common/conn/idle", test_idle);

  return g_test_run ();
}
