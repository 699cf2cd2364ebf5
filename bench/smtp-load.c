/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "smtp-load"

#include "config.h"

/* MSG_MORE and freeaddrinfo() are POSIX or Linux, hidden by -std=c17
 * unless asked for. */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "bench-net.h"

/* smtp-load: an SMTP load generator for benchmarks.
 *
 * One thread, one poll() loop over C non-blocking sockets, so that on a small
 * machine it takes as little CPU from the server under test as it can. Each
 * connection says EHLO (and AUTH PLAIN if asked), then runs transactions
 * MAIL, RCPT, DATA, message, "." one after another on the same connection
 * (RFC 5321 section 3.3: a new MAIL may follow the reply to the final dot
 * without RSET) until N messages in all have been accepted, then QUITs.
 * Commands go in lock step (no PIPELINING), as most clients send them. */

/* RFC 5321 section 4.5.3.1.5 allows reply lines of 512 octets; servers send
 * longer ones now and then, so a line may fill this buffer but not more. */
#define REPLY_BUFFER_SIZE 4096
#define MAX_CONNECTIONS 10000
/* RFC 5322 section 2.1.1: lines should be no longer than 78 characters. */
#define BODY_LINE_LENGTH 76
/* A server refusing everything should not flood the terminal. */
#define MAX_REFUSALS_SHOWN 10
/* After the last message, connections get this long to finish QUIT. */
#define QUIT_GRACE_US (5 * G_USEC_PER_SEC)

typedef enum {
  CONN_STATE_CONNECTING,
  CONN_STATE_GREETING,
  CONN_STATE_EHLO,
  CONN_STATE_AUTH,
  CONN_STATE_MAIL,
  CONN_STATE_RCPT,
  CONN_STATE_DATA,
  CONN_STATE_MESSAGE,
  CONN_STATE_RSET,
  CONN_STATE_QUIT,
  CONN_STATE_CLOSED,
} ConnState;

static const char *
conn_state_to_string (ConnState state)
{
  static const char *const names[] = {
    [CONN_STATE_CONNECTING] = "connecting",
    [CONN_STATE_GREETING] = "greeting",
    [CONN_STATE_EHLO] = "ehlo",
    [CONN_STATE_AUTH] = "auth",
    [CONN_STATE_MAIL] = "mail",
    [CONN_STATE_RCPT] = "rcpt",
    [CONN_STATE_DATA] = "data",
    [CONN_STATE_MESSAGE] = "message",
    [CONN_STATE_RSET] = "rset",
    [CONN_STATE_QUIT] = "quit",
    [CONN_STATE_CLOSED] = "closed",
  };

  return names[state];
}

typedef struct _Load Load;

typedef struct {
  BenchConn net;                /* first: the socket, its output */
  Load *load;                   /* borrowed */
  guint index;
  ConnState state;
  char in[REPLY_BUFFER_SIZE];
  gsize in_len;
  const char *body;             /* borrowed from Load: shared by all messages */
  gsize body_len;
  gsize body_sent;
  gboolean has_message;         /* holds one of the N message slots */
  gint64 mail_sent_us;
} Conn;

struct _Load {
  /* options */
  char *server;
  guint messages;
  guint connections;
  guint size;
  char *from;
  char *to;
  char *auth;
  guint timeout_s;
  guint max_refused;
  gboolean verbose;

  struct addrinfo *address;
  Conn *conns;
  char *auth_plain;             /* the base64 argument of AUTH PLAIN */
  char *date;                   /* RFC 5322 section 3.3 date-time */
  char *body;                   /* message body lines, then ".\r\n" */
  gsize body_len;
  gsize header_len;

  guint started;                /* message slots handed to connections */
  guint numbered;               /* messages sent so far, for unique Message-IDs */
  guint accepted;
  guint refused;
  guint error_replies;          /* any reply that is not 2xx or 3xx */
  guint failed_connections;
  gboolean stopping;
  gint64 quit_deadline_us;      /* once every message is done: QUIT's grace */
  GArray *latencies_us;
  gint64 first_mail_us;
  gint64 last_accept_us;
};

static void conn_fail (Conn *conn, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* Builds the shared body: lines of BODY_LINE_LENGTH characters (RFC 5322
 * section 2.1.1) so that header + blank line + body is `size` octets, then
 * the end-of-data line of RFC 5321 section 4.1.1.4. No body line starts with
 * "." so nothing needs dot-stuffing. */
static char *
make_body (gsize body_size,
           gsize *len_r)
{
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const gsize alphabet_len = sizeof alphabet - 1;
  const gsize full_line = BODY_LINE_LENGTH + 2;
  gsize n_full = body_size / full_line;
  gsize remainder = body_size % full_line;
  gsize last_full_length = BODY_LINE_LENGTH;
  GString *body = g_string_sized_new (body_size + 3);

  /* A remainder of one octet cannot be a line of its own (CRLF is two):
   * shorten the last full line by one and end with an empty line. */
  if (remainder == 1 && n_full > 0)
    {
      last_full_length = BODY_LINE_LENGTH - 1;
      remainder = 2;
    }

  for (gsize line = 0; line < n_full; line++)
    {
      gsize length = line + 1 == n_full ? last_full_length : BODY_LINE_LENGTH;

      for (gsize i = 0; i < length; i++)
        g_string_append_c (body, alphabet[(line + i) % alphabet_len]);
      g_string_append (body, "\r\n");
    }
  if (remainder >= 2)
    {
      for (gsize i = 0; i < remainder - 2; i++)
        g_string_append_c (body, alphabet[i % alphabet_len]);
      g_string_append (body, "\r\n");
    }
  g_string_append (body, ".\r\n");
  *len_r = body->len;
  return g_string_free (body, FALSE);
}

/* The header block of message `number`, ending in the blank line. The number
 * has a fixed width, so every header block has the same length. */
static void
append_header (Load *load,
               GString *out,
               guint number)
{
  g_string_append_printf (out,
                          "Date: %s\r\n"
                          "From: <%s>\r\n"
                          "To: <%s>\r\n"
                          "Subject: smtp-load message %010u\r\n"
                          "Message-ID: <%010u.%08x@smtp-load.invalid>\r\n"
                          "MIME-Version: 1.0\r\n"
                          "Content-Type: text/plain; charset=us-ascii\r\n"
                          "\r\n",
                          load->date, load->from, load->to, number, number,
                          (guint) getpid ());
}

static void
conn_close (gpointer data)
{
  Conn *conn = data;

  bench_conn_close (&conn->net);
  conn->state = CONN_STATE_CLOSED;
}

/* Gives the message slot back, so another connection sends that message. */
static void
conn_release_message (Conn *conn)
{
  if (conn->has_message)
    {
      conn->has_message = FALSE;
      conn->load->started--;
    }
}

static void
conn_fail (Conn *conn,
           const char *format,
           ...)
{
  va_list args;
  g_autofree char *reason = NULL;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("smtp-load: connection %u (%s): %s\n",
              conn->index, conn_state_to_string (conn->state), reason);
  conn->load->failed_connections++;
  conn_release_message (conn);
  conn_close (conn);
}

static void
conn_send (Conn *conn,
           ConnState next_state,
           const char *line)
{
  g_string_append (conn->net.out, line);
  g_string_append (conn->net.out, "\r\n");
  conn->state = next_state;
}

static void
conn_start_transaction (Conn *conn)
{
  Load *load = conn->load;
  g_autofree char *mail = NULL;

  if (load->stopping || load->started >= load->messages)
    {
      conn_send (conn, CONN_STATE_QUIT, "QUIT");
      return;
    }
  load->started++;
  conn->has_message = TRUE;
  mail = g_strdup_printf ("MAIL FROM:<%s>", load->from);
  conn_send (conn, CONN_STATE_MAIL, mail);
  conn->mail_sent_us = g_get_monotonic_time ();
  if (load->first_mail_us == 0)
    load->first_mail_us = conn->mail_sent_us;
}

static void
conn_refuse_message (Conn *conn,
                     const char *text)
{
  Load *load = conn->load;

  load->refused++;
  if (load->refused <= MAX_REFUSALS_SHOWN)
    g_printerr ("smtp-load: connection %u: message refused at %s: %s%s\n",
                conn->index, conn_state_to_string (conn->state), text,
                load->refused == MAX_REFUSALS_SHOWN ? " (further refusals not shown)" : "");
  conn_release_message (conn);
  if (load->refused >= load->max_refused)
    load->stopping = TRUE;
}

/* One complete reply (the last line of a multi-line reply, RFC 5321
 * section 4.2.1) for the command the connection's state says it sent. */
static void
conn_handle_reply (Conn *conn,
                   guint code,
                   const char *text)
{
  Load *load = conn->load;
  gboolean positive = code >= 200 && code < 400;

  if (!positive)
    load->error_replies++;
  if (load->verbose)
    g_printerr ("smtp-load: connection %u (%s) <- %s\n",
                conn->index, conn_state_to_string (conn->state), text);

  /* RFC 5321 section 3.8: 421 means the server is closing the channel. */
  if (code == 421 && conn->state != CONN_STATE_QUIT)
    {
      conn_fail (conn, "server closes: %s", text);
      return;
    }

  switch (conn->state)
    {
    case CONN_STATE_GREETING:
      if (code != 220)
        conn_fail (conn, "greeting refused: %s", text);
      else
        conn_send (conn, CONN_STATE_EHLO, "EHLO smtp-load.invalid");
      break;

    case CONN_STATE_EHLO:
      if (code != 250)
        conn_fail (conn, "EHLO refused: %s", text);
      else if (load->auth_plain != NULL)
        {
          g_autofree char *auth = g_strconcat ("AUTH PLAIN ", load->auth_plain, NULL);
          conn_send (conn, CONN_STATE_AUTH, auth);
        }
      else
        conn_start_transaction (conn);
      break;

    case CONN_STATE_AUTH:
      /* RFC 4954 section 6: 235 is the only success. */
      if (code != 235)
        conn_fail (conn, "AUTH refused: %s", text);
      else
        conn_start_transaction (conn);
      break;

    case CONN_STATE_MAIL:
      if (code != 250)
        {
          conn_refuse_message (conn, text);
          conn_send (conn, CONN_STATE_RSET, "RSET");
        }
      else
        {
          g_autofree char *rcpt = g_strdup_printf ("RCPT TO:<%s>", load->to);
          conn_send (conn, CONN_STATE_RCPT, rcpt);
        }
      break;

    case CONN_STATE_RCPT:
      /* RFC 5321 section 3.4: 251 forwards, still an acceptance. */
      if (code != 250 && code != 251)
        {
          conn_refuse_message (conn, text);
          conn_send (conn, CONN_STATE_RSET, "RSET");
        }
      else
        conn_send (conn, CONN_STATE_DATA, "DATA");
      break;

    case CONN_STATE_DATA:
      if (code != 354)
        {
          conn_refuse_message (conn, text);
          conn_send (conn, CONN_STATE_RSET, "RSET");
        }
      else
        {
          append_header (load, conn->net.out, ++load->numbered);
          conn->body = load->body;
          conn->body_len = load->body_len;
          conn->body_sent = 0;
          conn->state = CONN_STATE_MESSAGE;
        }
      break;

    case CONN_STATE_MESSAGE:
      /* RFC 5321 section 4.1.1.4: the reply to the final dot ends the
       * transaction either way, so the next MAIL needs no RSET. */
      if (code != 250)
        conn_refuse_message (conn, text);
      else
        {
          gint64 now = g_get_monotonic_time ();
          gint64 latency = now - conn->mail_sent_us;

          g_array_append_val (load->latencies_us, latency);
          load->accepted++;
          load->last_accept_us = now;
          conn->has_message = FALSE;
        }
      conn_start_transaction (conn);
      break;

    case CONN_STATE_RSET:
      if (code != 250)
        conn_fail (conn, "RSET refused: %s", text);
      else
        conn_start_transaction (conn);
      break;

    case CONN_STATE_QUIT:
      conn_close (conn);
      break;

    case CONN_STATE_CONNECTING:
    case CONN_STATE_CLOSED:
    default:
      conn_fail (conn, "unexpected reply: %s", text);
      break;
    }
}

/* Splits the input into reply lines; acts on the last line of each reply. */
static void
conn_process_input (Conn *conn)
{
  gsize start = 0;

  while (conn->state != CONN_STATE_CLOSED)
    {
      char *line = conn->in + start;
      char *newline = memchr (line, '\n', conn->in_len - start);
      gsize line_len;
      guint code;

      if (newline == NULL)
        break;
      line_len = newline - line;
      if (line_len > 0 && line[line_len - 1] == '\r')
        line_len--;
      line[line_len] = '\0';
      start = newline + 1 - conn->in;

      /* RFC 5321 section 4.2: three digits, then SP, "-" or the end. */
      if (line_len < 3 || !g_ascii_isdigit (line[0]) || !g_ascii_isdigit (line[1]) ||
          !g_ascii_isdigit (line[2]) ||
          (line_len > 3 && line[3] != ' ' && line[3] != '-'))
        {
          conn_fail (conn, "malformed reply line \"%s\"", line);
          return;
        }
      if (line_len > 3 && line[3] == '-')
        continue;
      code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
      conn_handle_reply (conn, code, line);
    }

  if (conn->state == CONN_STATE_CLOSED)
    return;
  memmove (conn->in, conn->in + start, conn->in_len - start);
  conn->in_len -= start;
  if (conn->in_len == sizeof conn->in)
    conn_fail (conn, "reply line longer than %d octets", REPLY_BUFFER_SIZE);
}

static void
conn_read (gpointer data)
{
  Conn *conn = data;

  for (;;)
    {
      gssize n = bench_recv (conn->net.fd, conn->in + conn->in_len, sizeof conn->in - conn->in_len);

      if (n > 0)
        {
          conn->in_len += n;
          conn_process_input (conn);
          if (conn->state == CONN_STATE_CLOSED)
            return;
          continue;
        }
      if (n == BENCH_RECV_AGAIN)
        return;
      if (conn->state == CONN_STATE_QUIT)
        conn_close (conn);
      else if (n == 0)
        conn_fail (conn, "server closed the connection");
      else
        conn_fail (conn, "recv: %s", g_strerror (errno));
      return;
    }
}

/* The header block in `out`, then the shared body. */
static gboolean
conn_wants_write (gpointer data)
{
  Conn *conn = data;

  return conn->net.connecting || conn->net.out_sent < conn->net.out->len ||
         conn->body_sent < conn->body_len;
}

static void
conn_write (gpointer user_data)
{
  Conn *conn = user_data;

  while (conn->net.out_sent < conn->net.out->len || conn->body_sent < conn->body_len)
    {
      const char *data;
      gsize len;
      gssize n;
      gboolean from_out = conn->net.out_sent < conn->net.out->len;

      if (from_out)
        {
          data = conn->net.out->str + conn->net.out_sent;
          len = conn->net.out->len - conn->net.out_sent;
        }
      else
        {
          data = conn->body + conn->body_sent;
          len = conn->body_len - conn->body_sent;
        }
      /* MSG_MORE: the header block and the body go out in one segment. */
      n = send (conn->net.fd, data, len,
                MSG_NOSIGNAL | (from_out && conn->body_sent < conn->body_len ? MSG_MORE : 0));
      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return;
          conn_fail (conn, "send: %s", g_strerror (errno));
          return;
        }
      if (from_out)
        conn->net.out_sent += n;
      else
        conn->body_sent += n;
    }
  g_string_truncate (conn->net.out, 0);
  conn->net.out_sent = 0;
  conn->body = NULL;
  conn->body_len = conn->body_sent = 0;
}

static void
conn_fail_cb (gpointer data,
              const char *reason)
{
  conn_fail (data, "%s", reason);
}

static void
conn_connected (gpointer data)
{
  ((Conn *) data)->state = CONN_STATE_GREETING;
}

static gboolean
conn_open (Conn *conn,
           const struct addrinfo *address)
{
  const char *failed_call;

  if (!bench_conn_open (&conn->net, address, TRUE, &failed_call))
    {
      g_printerr ("smtp-load: %s: %s\n", failed_call, g_strerror (errno));
      conn_close (conn);
      return FALSE;
    }
  conn->state = CONN_STATE_CONNECTING;
  return TRUE;
}

static const BenchConnClass conn_class = {
  .fail = conn_fail_cb,
  .connected = conn_connected,
  .read = conn_read,
  .close = conn_close,
  .wants_write = conn_wants_write,
  .write = conn_write,
};

static void
report_timeout (gpointer user_data)
{
  Load *load = user_data;

  g_printerr ("smtp-load: timed out after %u s with %u of %u messages accepted\n",
              load->timeout_s, load->accepted, load->messages);
}

/* Once all work is handed out and done, QUIT gets a short grace. */
static gboolean
load_done (gpointer user_data,
           gint64 now_us)
{
  Load *load = user_data;

  if (load->quit_deadline_us == 0 && load->accepted >= load->messages)
    load->quit_deadline_us = now_us + QUIT_GRACE_US;
  return load->quit_deadline_us != 0 && now_us >= load->quit_deadline_us;
}

static void
run (Load *load)
{
  const BenchLoop loop = {
    .program = "smtp-load",
    .klass = &conn_class,
    .conns = load->conns,
    .stride = sizeof (Conn),
    .n_conns = load->connections,
    .deadline_us = g_get_monotonic_time () + (gint64) load->timeout_s * G_USEC_PER_SEC,
    .report_timeout = report_timeout,
    .done = load_done,
    .user_data = load,
  };

  bench_run_loop (&loop);
}

static void
print_results (Load *load)
{
  double seconds = 0.0;
  double rate = 0.0;
  double p50, p99, max, user_s, system_s;

  bench_sort_us (load->latencies_us);
  p50 = bench_percentile_ms (load->latencies_us, 0.50);
  p99 = bench_percentile_ms (load->latencies_us, 0.99);
  max = bench_percentile_ms (load->latencies_us, 1.0);
  if (load->accepted > 0 && load->last_accept_us > load->first_mail_us)
    {
      seconds = (load->last_accept_us - load->first_mail_us) / (double) G_USEC_PER_SEC;
      rate = load->accepted / seconds;
    }
  bench_own_cpu (&user_s, &system_s);

  printf ("smtp-load: %s, %u connections, %u-octet messages\n",
          load->server, load->connections, load->size);
  printf ("  accepted     %u of %u messages in %.3f s (first MAIL to last 250)\n",
          load->accepted, load->messages, seconds);
  printf ("  throughput   %.1f messages/s\n", rate);
  printf ("  latency      p50 %.2f ms, p99 %.2f ms, max %.2f ms (MAIL sent to 250 after the dot)\n",
          p50, p99, max);
  printf ("  errors       %u non-2xx/3xx replies, %u messages refused, %u connections failed\n",
          load->error_replies, load->refused, load->failed_connections);
  printf ("  own CPU      user %.2f s, system %.2f s\n", user_s, system_s);
  /* One line for scripts. */
  printf ("RESULT accepted=%u messages=%u seconds=%.3f msgs_per_s=%.1f p50_ms=%.2f "
          "p99_ms=%.2f max_ms=%.2f errors=%u refused=%u failed_connections=%u\n",
          load->accepted, load->messages, seconds, rate, p50, p99, max,
          load->error_replies, load->refused, load->failed_connections);
  fflush (stdout);
}

static char *
encode_auth_plain (const char *user_pass)
{
  const char *colon = strchr (user_pass, ':');
  g_autofree char *user = NULL;
  GString *plain;
  char *encoded;

  if (colon == NULL)
    return NULL;
  user = g_strndup (user_pass, colon - user_pass);
  /* RFC 4616 section 2: [authzid] NUL authcid NUL passwd. */
  plain = g_string_new (NULL);
  g_string_append_c (plain, '\0');
  g_string_append (plain, user);
  g_string_append_c (plain, '\0');
  g_string_append (plain, colon + 1);
  encoded = g_base64_encode ((const guchar *) plain->str, plain->len);
  memset (plain->str, 0, plain->len);
  g_string_free (plain, TRUE);
  return encoded;
}

int
main (int argc,
      char **argv)
{
  Load load = {
    .messages = 1000,
    .connections = 10,
    .size = 1024,
    .timeout_s = 120,
    .max_refused = 100,
  };
  gint messages = 1000, connections = 10, size = 1024, timeout_s = 120, max_refused = 100;
  const GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &load.server,
      "The SMTP server (required)", "HOST:PORT" },
    { "messages", 'n', 0, G_OPTION_ARG_INT, &messages,
      "Messages to have accepted in all (default 1000)", "N" },
    { "connections", 'c', 0, G_OPTION_ARG_INT, &connections,
      "Concurrent connections (default 10)", "C" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size,
      "Size of each message in octets, header included (default 1024)", "BYTES" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &load.from,
      "Envelope and header sender (default loadgen@example.test)", "ADDR" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &load.to,
      "Envelope and header recipient (default bob@example.test)", "ADDR" },
    { "auth", 0, 0, G_OPTION_ARG_STRING, &load.auth,
      "AUTH PLAIN after EHLO with these credentials", "USER:PASS" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
      "Give up after this many seconds (default 120)", "SECONDS" },
    { "max-refused", 0, 0, G_OPTION_ARG_INT, &max_refused,
      "Stop after this many refused messages (default 100)", "N" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &load.verbose,
      "Print every reply", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- SMTP load generator");
  g_autoptr (GError) error = NULL;
  g_autoptr (GDateTime) now = NULL;
  gsize body_size;
  gboolean ok;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Opens C connections, sends MAIL/RCPT/DATA transactions on them until N\n"
    "messages were accepted, and prints messages/s and latency percentiles.\n"
    "Exits 1 if any message was refused or any connection failed.\n"
    "Example: smtp-load --server 127.0.0.1:2526 -n 5000 -c 20 --size 1024\n");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("smtp-load: %s\n", error->message);
      return 2;
    }
  if (load.server == NULL)
    {
      g_printerr ("smtp-load: --server HOST:PORT is required\n");
      return 2;
    }
  if (messages < 1 || connections < 1 || connections > MAX_CONNECTIONS || size < 1 ||
      timeout_s < 1 || max_refused < 1)
    {
      g_printerr ("smtp-load: --messages, --size, --timeout and --max-refused must be "
                  "positive, --connections from 1 to %d\n", MAX_CONNECTIONS);
      return 2;
    }
  load.messages = messages;
  load.connections = MIN ((guint) connections, load.messages);
  load.size = size;
  load.timeout_s = timeout_s;
  load.max_refused = max_refused;
  if (load.from == NULL)
    load.from = g_strdup ("loadgen@example.test");
  if (load.to == NULL)
    load.to = g_strdup ("bob@example.test");
  if (load.auth != NULL)
    {
      load.auth_plain = encode_auth_plain (load.auth);
      if (load.auth_plain == NULL)
        {
          g_printerr ("smtp-load: --auth needs USER:PASS\n");
          return 2;
        }
    }

  load.address = bench_resolve_server (load.server, &error);
  if (load.address == NULL)
    {
      g_printerr ("smtp-load: %s\n", error->message);
      return 2;
    }

  now = g_date_time_new_now_local ();
  load.date = g_date_time_format (now, "%a, %d %b %Y %H:%M:%S %z");
  {
    g_autoptr (GString) header = g_string_new (NULL);

    append_header (&load, header, 0);
    load.header_len = header->len;
  }
  body_size = load.size > load.header_len ? load.size - load.header_len : 0;
  if (load.size < load.header_len)
    g_printerr ("smtp-load: note: --size %u is below the header size %" G_GSIZE_FORMAT
                "; messages have headers only\n", load.size, load.header_len);
  load.body = make_body (body_size, &load.body_len);
  load.latencies_us = g_array_sized_new (FALSE, FALSE, sizeof (gint64), load.messages);

  load.conns = g_new0 (Conn, load.connections);
  for (guint i = 0; i < load.connections; i++)
    {
      Conn *conn = &load.conns[i];

      conn->load = &load;
      conn->index = i;
      conn->net.fd = -1;
      conn->state = CONN_STATE_CLOSED;
      conn->net.out = g_string_sized_new (512);
      if (!conn_open (conn, load.address))
        load.failed_connections++;
    }

  run (&load);
  print_results (&load);
  ok = load.accepted >= load.messages && load.refused == 0 && load.failed_connections == 0;

  for (guint i = 0; i < load.connections; i++)
    {
      conn_close (&load.conns[i]);
      g_string_free (load.conns[i].net.out, TRUE);
    }
  g_free (load.conns);
  g_array_unref (load.latencies_us);
  g_free (load.body);
  g_free (load.date);
  g_free (load.auth_plain);
  g_free (load.auth);
  g_free (load.from);
  g_free (load.to);
  g_free (load.server);
  freeaddrinfo (load.address);
  return ok ? 0 : 1;
}
