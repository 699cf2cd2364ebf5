/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pop3-load"

#include "config.h"

/* freeaddrinfo() is POSIX, hidden by -std=c17 unless asked for. */
#define _GNU_SOURCE

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "bench-net.h"

/* pop3-load: a POP3 download load generator for benchmarks.
 *
 * One thread, one poll() loop over C non-blocking sockets (as smtp-load), so
 * that on a small machine it takes little CPU from the server it measures.
 * Each session logs in with USER and PASS (RFC 1939 section 7), asks STAT and
 * a multi-line LIST for the size of every message, then RETRs every message
 * one after another, in lock step (no PIPELINING, RFC 2449), and QUITs. It
 * never sends DELE, so the maildrops stay as they were and the load can be
 * run again.
 *
 * Each RETR is checked: its octet count, once the byte-stuffing of RFC 1939
 * section 3 is undone, must equal what LIST said for that message (RFC 1939
 * section 11: the size is that of the message as sent, with CRLF line ends).
 *
 * With --fill-maildir it instead writes messages into a Maildir, so that a
 * benchmark can give any server the same maildrop without going through
 * SMTP. */

/* RFC 1939 section 3: a response line is at most 512 octets, CRLF included.
 * Status and LIST lines must fit this buffer; message lines may be longer,
 * since they are counted as they stream by, not held. */
#define INPUT_BUFFER_SIZE 65536
#define MAX_RESPONSE_LINE 4096
#define MAX_SESSIONS 1000
#define MAX_MESSAGES_PER_SESSION 10000000
/* RFC 5322 section 2.1.1: lines should be no longer than 78 characters. */
#define BODY_LINE_LENGTH 76
#define MAX_ERRORS_SHOWN 10

typedef enum {
  SESSION_STATE_CONNECTING,
  SESSION_STATE_GREETING,
  SESSION_STATE_USER,
  SESSION_STATE_PASS,
  SESSION_STATE_STAT,
  SESSION_STATE_LIST,
  SESSION_STATE_RETR,
  SESSION_STATE_QUIT,
  SESSION_STATE_CLOSED,
} SessionState;

static const char *
session_state_to_string (SessionState state)
{
  static const char *const names[] = {
    [SESSION_STATE_CONNECTING] = "connecting",
    [SESSION_STATE_GREETING] = "greeting",
    [SESSION_STATE_USER] = "user",
    [SESSION_STATE_PASS] = "pass",
    [SESSION_STATE_STAT] = "stat",
    [SESSION_STATE_LIST] = "list",
    [SESSION_STATE_RETR] = "retr",
    [SESSION_STATE_QUIT] = "quit",
    [SESSION_STATE_CLOSED] = "closed",
  };

  return names[state];
}

/* Where a multi-line response (RFC 1939 section 3) is in its reading. */
typedef enum {
  RESPONSE_STATUS,              /* waiting for the +OK / -ERR line */
  RESPONSE_LINES,               /* in the lines, before the terminating "." */
} ResponsePart;

typedef struct _Load Load;

typedef struct {
  BenchConn net;                /* first: the socket, its output */
  Load *load;                   /* borrowed */
  guint index;
  char *user;
  SessionState state;
  ResponsePart part;
  char in[INPUT_BUFFER_SIZE];
  gsize in_len;

  gint64 connect_us;
  guint stat_count;
  guint64 stat_octets;
  GArray *sizes;                /* guint64 per message, from LIST; [0] is message 1 */
  guint listed;
  guint to_retrieve;            /* min (listed, --messages) */
  guint next_message;           /* 1-based number of the RETR in flight */
  gboolean at_line_start;       /* in RESPONSE_LINES of a RETR */
  guint64 octets_received;      /* of the RETR in flight, un-stuffed */
  gint64 retr_sent_us;
} Session;

struct _Load {
  /* options */
  char *server;
  guint sessions;
  char *user;
  char *password;
  char *users_from;
  guint max_messages;           /* per session; 0: all */
  gint expect_messages;         /* per session; -1: anything */
  guint timeout_s;
  gboolean verbose;

  struct addrinfo *address;
  Session *conns;

  guint retrieved;
  guint64 octets;
  guint error_replies;          /* -ERR to anything but QUIT */
  guint size_mismatches;
  guint failed_sessions;
  guint completed_sessions;     /* got +OK to QUIT */
  guint64 expected_messages;    /* sum of what the sessions mean to RETR */
  guint errors_shown;
  GArray *retr_latencies_us;
  GArray *login_us;
  gint64 start_us;
  gint64 first_retr_us;
  gint64 last_retr_us;
  gint64 end_us;
};

static void session_fail (Session *session, const char *format, ...) G_GNUC_PRINTF (2, 3);
static void session_error (Session *session, const char *format, ...) G_GNUC_PRINTF (2, 3);

/* "bench1..bench10": one user per session, in order. */
static char **
expand_user_range (const char *range,
                   guint sessions,
                   GError **error)
{
  g_autofree char *prefix = NULL;
  guint first_number, last_number;

  if (!bench_parse_user_range (range, &prefix, &first_number, &last_number) ||
      last_number < first_number)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--users-from needs PREFIX<first>..PREFIX<last> (bench1..bench10), not \"%s\"",
                   range);
      return NULL;
    }
  /* RFC 1939 section 8: a server may (and most do) lock the maildrop, so
   * two sessions on one user would fail or wait: refuse before starting. */
  if (last_number - first_number + 1 < sessions)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--users-from %s names %u users, fewer than the %u sessions",
                   range, last_number - first_number + 1, sessions);
      return NULL;
    }
  return bench_user_names (prefix, first_number, sessions);
}

static void
session_close (gpointer conn)
{
  Session *session = conn;

  bench_conn_close (&session->net);
  session->state = SESSION_STATE_CLOSED;
}

/* The session cannot go on: it is counted as failed and closed. */
static void
session_fail (Session *session,
              const char *format,
              ...)
{
  va_list args;
  g_autofree char *reason = NULL;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("pop3-load: session %u (%s, %s): %s\n", session->index, session->user,
              session_state_to_string (session->state), reason);
  session->load->failed_sessions++;
  session_close (session);
}

/* Something went wrong with one message; the session goes on. */
static void
session_error (Session *session,
               const char *format,
               ...)
{
  Load *load = session->load;
  va_list args;
  g_autofree char *reason = NULL;

  if (load->errors_shown >= MAX_ERRORS_SHOWN)
    return;
  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  load->errors_shown++;
  g_printerr ("pop3-load: session %u (%s, %s): %s%s\n", session->index, session->user,
              session_state_to_string (session->state), reason,
              load->errors_shown == MAX_ERRORS_SHOWN ? " (further errors not shown)" : "");
}

static void
session_send (Session *session,
              SessionState next_state,
              const char *line)
{
  g_string_append (session->net.out, line);
  g_string_append (session->net.out, "\r\n");
  session->state = next_state;
  session->part = RESPONSE_STATUS;
}

static void
session_send_next_retr (Session *session)
{
  Load *load = session->load;
  char command[32];

  if (session->next_message >= session->to_retrieve)
    {
      session_send (session, SESSION_STATE_QUIT, "QUIT");
      return;
    }
  session->next_message++;
  g_snprintf (command, sizeof command, "RETR %u", session->next_message);
  session_send (session, SESSION_STATE_RETR, command);
  session->octets_received = 0;
  session->retr_sent_us = g_get_monotonic_time ();
  if (load->first_retr_us == 0)
    load->first_retr_us = session->retr_sent_us;
}

/* Parses "+OK nn mm" (STAT, RFC 1939 section 5) or a LIST line "nn mm". */
static gboolean
parse_two_numbers (const char *text,
                   guint64 *first_r,
                   guint64 *second_r)
{
  char *end;

  if (!g_ascii_isdigit (*text))
    return FALSE;
  *first_r = g_ascii_strtoull (text, &end, 10);
  if (*end != ' ')
    return FALSE;
  text = end + 1;
  if (!g_ascii_isdigit (*text))
    return FALSE;
  *second_r = g_ascii_strtoull (text, &end, 10);
  return *end == '\0' || *end == ' ';
}

/* The status line (+OK / -ERR) of the response to the command the state
 * says was sent. */
static void
session_handle_status (Session *session,
                       const char *line)
{
  Load *load = session->load;
  gboolean ok = g_str_has_prefix (line, "+OK");

  if (load->verbose)
    g_printerr ("pop3-load: session %u (%s) <- %s\n", session->index,
                session_state_to_string (session->state), line);
  if (!ok && !g_str_has_prefix (line, "-ERR"))
    {
      session_fail (session, "not a POP3 status line: \"%s\"", line);
      return;
    }
  if (!ok && session->state != SESSION_STATE_GREETING)
    load->error_replies++;

  switch (session->state)
    {
    case SESSION_STATE_GREETING:
      if (!ok)
        session_fail (session, "greeting refused: %s", line);
      else
        {
          g_autofree char *user = g_strconcat ("USER ", session->user, NULL);
          session_send (session, SESSION_STATE_USER, user);
        }
      break;

    case SESSION_STATE_USER:
      if (!ok)
        session_fail (session, "USER refused: %s", line);
      else
        {
          g_autofree char *pass = g_strconcat ("PASS ", load->password, NULL);
          session_send (session, SESSION_STATE_PASS, pass);
          memset (pass, 0, strlen (pass));
        }
      break;

    case SESSION_STATE_PASS:
      if (!ok)
        session_fail (session, "PASS refused: %s", line);
      else
        {
          gint64 login = g_get_monotonic_time () - session->connect_us;

          g_array_append_val (load->login_us, login);
          session_send (session, SESSION_STATE_STAT, "STAT");
        }
      break;

    case SESSION_STATE_STAT:
      {
        guint64 count, octets;

        if (!ok || line[3] != ' ' || !parse_two_numbers (line + 4, &count, &octets) ||
            count > MAX_MESSAGES_PER_SESSION)
          {
            session_fail (session, "bad STAT reply: %s", line);
            break;
          }
        session->stat_count = (guint) count;
        session->stat_octets = octets;
        if (load->expect_messages >= 0 && count != (guint64) load->expect_messages)
          {
            session_fail (session, "the maildrop holds %u messages, not the %d expected",
                          session->stat_count, load->expect_messages);
            break;
          }
        session_send (session, SESSION_STATE_LIST, "LIST");
      }
      break;

    case SESSION_STATE_LIST:
      if (!ok)
        session_fail (session, "LIST refused: %s", line);
      else
        session->part = RESPONSE_LINES;
      break;

    case SESSION_STATE_RETR:
      if (!ok)
        {
          session_error (session, "RETR %u refused: %s", session->next_message, line);
          session_send_next_retr (session);
        }
      else
        {
          session->part = RESPONSE_LINES;
          session->at_line_start = TRUE;
        }
      break;

    case SESSION_STATE_QUIT:
      /* RFC 1939 section 6: +OK to QUIT; the server then closes. */
      if (ok)
        session->load->completed_sessions++;
      else
        session_error (session, "QUIT refused: %s", line);
      session_close (session);
      break;

    case SESSION_STATE_CONNECTING:
    case SESSION_STATE_CLOSED:
    default:
      session_fail (session, "unexpected line: %s", line);
      break;
    }
}

/* One line of the LIST response (RFC 1939 section 5): "msg-number size". */
static void
session_handle_list_line (Session *session,
                          const char *line)
{
  guint64 number, size;

  if (g_str_equal (line, "."))
    {
      session->listed = session->sizes->len;
      if (session->listed != session->stat_count)
        {
          session_fail (session, "LIST gave %u messages, STAT %u", session->listed,
                        session->stat_count);
          return;
        }
      session->to_retrieve = session->load->max_messages > 0
                             ? MIN (session->listed, session->load->max_messages)
                             : session->listed;
      session->load->expected_messages += session->to_retrieve;
      session->next_message = 0;
      session_send_next_retr (session);
      return;
    }
  /* Messages are numbered from 1 with none marked deleted in a fresh
   * session, so line k is message k. */
  if (!parse_two_numbers (line, &number, &size) || number != session->sizes->len + 1 ||
      number > MAX_MESSAGES_PER_SESSION)
    {
      session_fail (session, "bad LIST line \"%s\"", line);
      return;
    }
  g_array_append_val (session->sizes, size);
}

/* The terminating "." of a RETR: the octets must be LIST's. */
static void
session_finish_retr (Session *session)
{
  Load *load = session->load;
  guint64 listed = g_array_index (session->sizes, guint64, session->next_message - 1);
  gint64 now = g_get_monotonic_time ();
  gint64 latency = now - session->retr_sent_us;

  if (session->octets_received != listed)
    {
      load->size_mismatches++;
      session_error (session, "RETR %u gave %" G_GUINT64_FORMAT " octets, LIST said %"
                     G_GUINT64_FORMAT, session->next_message, session->octets_received, listed);
    }
  else
    {
      load->retrieved++;
      load->octets += session->octets_received;
      g_array_append_val (load->retr_latencies_us, latency);
      load->last_retr_us = now;
    }
  session_send_next_retr (session);
}

/* Consumes RETR message lines from in[*pos]: counts their octets without
 * holding them. Returns FALSE when it needs more input to go on. */
static gboolean
session_consume_message (Session *session,
                         gsize *pos)
{
  while (*pos < session->in_len)
    {
      const char *data = session->in + *pos;
      gsize available = session->in_len - *pos;
      const char *lf;

      if (session->at_line_start && data[0] == '.')
        {
          /* RFC 1939 section 3: "." CRLF ends the response; any other
           * line starting with "." had one more "." put in front. */
          if (available < 2 || (data[1] == '\r' && available < 3))
            return FALSE;
          if (data[1] == '\n' || (data[1] == '\r' && data[2] == '\n'))
            {
              *pos += data[1] == '\n' ? 2 : 3;
              session_finish_retr (session);
              return TRUE;
            }
          *pos += 1;
          session->at_line_start = FALSE;
          continue;
        }
      lf = memchr (data, '\n', available);
      if (lf == NULL)
        {
          session->octets_received += available;
          session->at_line_start = FALSE;
          *pos += available;
          return FALSE;
        }
      session->octets_received += (gsize) (lf - data) + 1;
      session->at_line_start = TRUE;
      *pos += (gsize) (lf - data) + 1;
    }
  return FALSE;
}

/* Works through the input: status lines, LIST lines and message data. */
static void
session_process_input (Session *session)
{
  gsize pos = 0;

  while (session->state != SESSION_STATE_CLOSED && pos < session->in_len)
    {
      char *line;
      char *lf;
      gsize line_len;

      if (session->state == SESSION_STATE_RETR && session->part == RESPONSE_LINES)
        {
          if (!session_consume_message (session, &pos))
            break;
          continue;
        }

      line = session->in + pos;
      lf = memchr (line, '\n', session->in_len - pos);
      if (lf == NULL)
        {
          if (session->in_len - pos > MAX_RESPONSE_LINE)
            {
              session_fail (session, "response line longer than %d octets", MAX_RESPONSE_LINE);
              return;
            }
          break;
        }
      line_len = lf - line;
      pos += line_len + 1;
      if (line_len > 0 && line[line_len - 1] == '\r')
        line_len--;
      line[line_len] = '\0';

      if (session->state == SESSION_STATE_LIST && session->part == RESPONSE_LINES)
        session_handle_list_line (session, line);
      else
        session_handle_status (session, line);
    }

  if (session->state == SESSION_STATE_CLOSED)
    return;
  memmove (session->in, session->in + pos, session->in_len - pos);
  session->in_len -= pos;
}

static void
session_read (gpointer conn)
{
  Session *session = conn;

  for (;;)
    {
      gssize n = bench_recv (session->net.fd, session->in + session->in_len,
                             sizeof session->in - session->in_len);

      if (n > 0)
        {
          session->in_len += n;
          session_process_input (session);
          if (session->state == SESSION_STATE_CLOSED)
            return;
          continue;
        }
      if (n == BENCH_RECV_AGAIN)
        return;
      if (n == 0 && session->state == SESSION_STATE_RETR)
        session_fail (session, "the server closed the connection in RETR %u after %"
                      G_GUINT64_FORMAT " octets (short read)",
                      session->next_message, session->octets_received);
      else if (n == 0)
        session_fail (session, "the server closed the connection");
      else
        session_fail (session, "recv: %s", g_strerror (errno));
      return;
    }
}

static void
session_fail_cb (gpointer conn,
                 const char *reason)
{
  session_fail (conn, "%s", reason);
}

static void
session_connected (gpointer conn)
{
  Session *session = conn;

  session->state = SESSION_STATE_GREETING;
  session->part = RESPONSE_STATUS;
}

static gboolean
session_open (Session *session,
              const struct addrinfo *address)
{
  const char *failed_call;

  session->connect_us = g_get_monotonic_time ();
  if (!bench_conn_open (&session->net, address, TRUE, &failed_call))
    {
      g_printerr ("pop3-load: %s: %s\n", failed_call, g_strerror (errno));
      session_close (session);
      return FALSE;
    }
  session->state = SESSION_STATE_CONNECTING;
  return TRUE;
}

static const BenchConnClass session_class = {
  .fail = session_fail_cb,
  .connected = session_connected,
  .read = session_read,
  .close = session_close,
};

static void
report_timeout (gpointer user_data)
{
  Load *load = user_data;

  g_printerr ("pop3-load: timed out after %u s with %u messages retrieved\n",
              load->timeout_s, load->retrieved);
}

static void
run (Load *load)
{
  const BenchLoop loop = {
    .program = "pop3-load",
    .klass = &session_class,
    .conns = load->conns,
    .stride = sizeof (Session),
    .n_conns = load->sessions,
    .deadline_us = load->start_us + (gint64) load->timeout_s * G_USEC_PER_SEC,
    .report_timeout = report_timeout,
    .user_data = load,
  };

  bench_run_loop (&loop);
  load->end_us = g_get_monotonic_time ();
}

static guint
count_errors (Load *load)
{
  return load->error_replies + load->size_mismatches + load->failed_sessions;
}

static void
print_results (Load *load)
{
  double seconds = 0.0;
  double total_seconds = (load->end_us - load->start_us) / (double) G_USEC_PER_SEC;
  double rate = 0.0;
  double megabytes_rate = 0.0;
  double p50, p99, max, login_p50, login_max, user_s, system_s;

  bench_sort_us (load->retr_latencies_us);
  bench_sort_us (load->login_us);
  p50 = bench_percentile_ms (load->retr_latencies_us, 0.50);
  p99 = bench_percentile_ms (load->retr_latencies_us, 0.99);
  max = bench_percentile_ms (load->retr_latencies_us, 1.0);
  login_p50 = bench_percentile_ms (load->login_us, 0.50);
  login_max = bench_percentile_ms (load->login_us, 1.0);
  if (load->retrieved > 0 && load->last_retr_us > load->first_retr_us)
    {
      seconds = (load->last_retr_us - load->first_retr_us) / (double) G_USEC_PER_SEC;
      rate = load->retrieved / seconds;
      megabytes_rate = load->octets / seconds / 1e6;
    }
  bench_own_cpu (&user_s, &system_s);

  printf ("pop3-load: %s, %u sessions\n", load->server, load->sessions);
  printf ("  retrieved    %u of %" G_GUINT64_FORMAT " messages, %.2f MB, in %.3f s "
          "(first RETR to last message; %.3f s with logins and QUIT)\n",
          load->retrieved, load->expected_messages, load->octets / 1e6, seconds, total_seconds);
  printf ("  throughput   %.1f messages/s, %.2f MB/s (1 MB = 10^6 octets)\n",
          rate, megabytes_rate);
  printf ("  RETR latency p50 %.3f ms, p99 %.3f ms, max %.3f ms (RETR sent to final \".\")\n",
          p50, p99, max);
  printf ("  login        p50 %.2f ms, max %.2f ms over %u logins (connect to +OK after PASS)\n",
          login_p50, login_max, load->login_us->len);
  printf ("  errors       %u -ERR replies, %u size mismatches, %u of %u sessions failed\n",
          load->error_replies, load->size_mismatches, load->failed_sessions, load->sessions);
  printf ("  own CPU      user %.2f s, system %.2f s\n", user_s, system_s);
  /* One line for scripts. */
  printf ("RESULT retrieved=%u expected=%" G_GUINT64_FORMAT " octets=%" G_GUINT64_FORMAT
          " seconds=%.3f total_seconds=%.3f msgs_per_s=%.1f mb_per_s=%.2f p50_ms=%.3f"
          " p99_ms=%.3f max_ms=%.3f login_p50_ms=%.2f login_max_ms=%.2f errors=%u"
          " err_replies=%u size_mismatches=%u failed_sessions=%u sessions=%u\n",
          load->retrieved, load->expected_messages, load->octets, seconds, total_seconds,
          rate, megabytes_rate, p50, p99, max, login_p50, login_max, count_errors (load),
          load->error_replies, load->size_mismatches, load->failed_sessions, load->sessions);
  fflush (stdout);
}

/* ---- --fill-maildir ---- */

/* Message `number` of `size` octets as sent on the wire (CRLF line ends):
 * a valid RFC 5322 message like smtp-load's, with lines of
 * BODY_LINE_LENGTH characters. No line starts with "." so POP3 stuffs
 * nothing. With `lf`, lines end in a bare LF as Postfix's virtual(8)
 * writes Maildir files; the wire size is still `size`. */
static GString *
make_message (guint number,
              gsize size,
              const char *date,
              gboolean lf)
{
  static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const gsize alphabet_len = sizeof alphabet - 1;
  const char *eol = lf ? "\n" : "\r\n";
  GString *message = g_string_sized_new (size + 64);
  gsize wire = 0;
  gsize lines = 0;
  g_autofree char *header = g_strdup_printf (
    "Date: %s\nFrom: <loadgen@example.test>\nTo: <bench@example.test>\n"
    "Subject: pop3-load message %010u\nMessage-ID: <%010u.%08x@pop3-load.invalid>\n"
    "MIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n",
    date, number, number, (guint) getpid ());

  for (const char *p = header; *p != '\0'; p++)
    {
      if (*p == '\n')
        {
          g_string_append (message, eol);
          wire += 2;
        }
      else
        {
          g_string_append_c (message, *p);
          wire++;
        }
    }
  /* Body lines until the wire size is reached; the last line is shorter.
   * A remainder of one octet cannot be a line (CRLF is two): the line
   * before it gets one character fewer instead. */
  while (wire < size)
    {
      gsize left = size - wire;
      gsize length = MIN ((gsize) BODY_LINE_LENGTH, left - MIN (left, 2));

      if (left - (length + 2) == 1)
        length--;
      for (gsize i = 0; i < length; i++)
        g_string_append_c (message, alphabet[(lines + i) % alphabet_len]);
      g_string_append (message, eol);
      wire += length + 2;
      lines++;
    }
  return message;
}

/* Writes `count` messages into the Maildir `dir` (made if missing) as
 * another delivery agent would: each file into tmp/, then renamed into new/
 * under a unique name "<seconds>.M<usec>P<pid>Q<n>.<host>" (the Maildir
 * spec's form), the names sorting in message order. No fsync: this is the
 * set-up of a benchmark, not a delivery. */
static gboolean
fill_maildir (const char *dir,
              guint count,
              gsize size,
              gboolean lf,
              GError **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%a, %d %b %Y %H:%M:%S %z");
  gint64 seconds = g_get_real_time () / G_USEC_PER_SEC;

  if (!bench_make_maildir (dir, error))
    return FALSE;

  for (guint number = 1; number <= count; number++)
    {
      g_autoptr(GString) message = make_message (number, size, date, lf);
      g_autofree char *unique = g_strdup_printf ("%" G_GINT64_FORMAT ".M%06uP%dQ%u.pop3-load",
                                                 seconds, number, (int) getpid (), number);
      g_autofree char *tmp_path = g_build_filename (dir, "tmp", unique, NULL);
      g_autofree char *new_path = g_build_filename (dir, "new", unique, NULL);

      if (!bench_write_file (tmp_path, message->str, message->len, error))
        return FALSE;
      if (g_rename (tmp_path, new_path) < 0)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                       "Cannot rename %s: %s", tmp_path, g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
}

int
main (int argc,
      char **argv)
{
  Load load = { .expect_messages = -1 };
  gint sessions = 10, max_messages = 0, expect_messages = -1, timeout_s = 300;
  gint fill_count = 1000, size = 2048;
  char *fill_dir = NULL;
  gboolean lf = FALSE;
  const GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &load.server,
      "The POP3 server (required unless --fill-maildir)", "HOST:PORT" },
    { "sessions", 'c', 0, G_OPTION_ARG_INT, &sessions,
      "Concurrent sessions (default 10)", "C" },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &load.user,
      "The user of every session (most servers lock a maildrop: see --users-from)", "USER" },
    { "password", 'p', 0, G_OPTION_ARG_STRING, &load.password,
      "The password of every user (default benchpw)", "PASS" },
    { "users-from", 0, 0, G_OPTION_ARG_STRING, &load.users_from,
      "One user per session, in order: bench1..bench10", "FIRST..LAST" },
    { "messages", 'n', 0, G_OPTION_ARG_INT, &max_messages,
      "RETR at most N messages per session (default 0: all of them)", "N" },
    { "expect-messages", 0, 0, G_OPTION_ARG_INT, &expect_messages,
      "Fail a session whose STAT does not say N messages", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
      "Give up after this many seconds (default 300)", "SECONDS" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &load.verbose,
      "Print every status line", NULL },
    { "fill-maildir", 0, 0, G_OPTION_ARG_FILENAME, &fill_dir,
      "Instead of a load: write --count messages into this Maildir's new/", "DIR" },
    { "count", 0, 0, G_OPTION_ARG_INT, &fill_count,
      "With --fill-maildir: how many messages (default 1000)", "N" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size,
      "With --fill-maildir: octets per message as sent, CRLF counted (default 2048)", "BYTES" },
    { "lf", 0, 0, G_OPTION_ARG_NONE, &lf,
      "With --fill-maildir: bare LF line ends in the files, as Postfix writes them", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- POP3 load generator");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) users = NULL;
  gboolean ok;
  int status = 2;               /* a usage error, until the load has run */

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Opens C sessions; each logs in, STATs, LISTs, RETRs every message of its\n"
    "maildrop (never DELE) and QUITs. Prints messages/s, MB/s and latencies.\n"
    "Exits 1 on any -ERR, failed session, or RETR whose size is not LIST's.\n"
    "Example: pop3-load --server 127.0.0.1:1110 -c 10 --users-from bench1..bench10 -p benchpw\n"
    "         pop3-load --fill-maildir DIR --count 1000 --size 2048 [--lf]\n");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("pop3-load: %s\n", error->message);
      goto usage;
    }

  if (fill_dir != NULL)
    {
      /* The header block alone is about 260 octets. */
      if (fill_count < 0 || size < 512)
        {
          g_printerr ("pop3-load: --count must be 0 or more, --size at least 512\n");
          return 2;
        }
      ok = fill_maildir (fill_dir, fill_count, size, lf, &error);
      if (!ok)
        g_printerr ("pop3-load: %s\n", error->message);
      g_free (fill_dir);
      return ok ? 0 : 1;
    }

  if (load.server == NULL)
    {
      g_printerr ("pop3-load: --server HOST:PORT is required\n");
      goto usage;
    }
  if (sessions < 1 || sessions > MAX_SESSIONS || max_messages < 0 || timeout_s < 1)
    {
      g_printerr ("pop3-load: --sessions from 1 to %d, --timeout positive, --messages 0 or more\n",
                  MAX_SESSIONS);
      goto usage;
    }
  if ((load.user == NULL) == (load.users_from == NULL))
    {
      g_printerr ("pop3-load: give --user or --users-from, one of them\n");
      goto usage;
    }
  load.sessions = sessions;
  load.max_messages = max_messages;
  load.expect_messages = expect_messages;
  load.timeout_s = timeout_s;
  if (load.password == NULL)
    load.password = g_strdup ("benchpw");
  if (load.users_from != NULL)
    {
      users = expand_user_range (load.users_from, load.sessions, &error);
      if (users == NULL)
        {
          g_printerr ("pop3-load: %s\n", error->message);
          goto usage;
        }
    }

  load.address = bench_resolve_server (load.server, &error);
  if (load.address == NULL)
    {
      g_printerr ("pop3-load: %s\n", error->message);
      goto usage;
    }

  load.retr_latencies_us = g_array_sized_new (FALSE, FALSE, sizeof (gint64), 10000);
  load.login_us = g_array_sized_new (FALSE, FALSE, sizeof (gint64), load.sessions);
  load.conns = g_new0 (Session, load.sessions);
  load.start_us = g_get_monotonic_time ();
  for (guint i = 0; i < load.sessions; i++)
    {
      Session *session = &load.conns[i];

      session->load = &load;
      session->index = i;
      session->user = g_strdup (users != NULL ? users[i] : load.user);
      session->net.fd = -1;
      session->state = SESSION_STATE_CLOSED;
      session->net.out = g_string_sized_new (64);
      session->sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
      if (!session_open (session, load.address))
        load.failed_sessions++;
    }

  run (&load);
  print_results (&load);
  ok = count_errors (&load) == 0 && load.completed_sessions == load.sessions &&
       load.retrieved == load.expected_messages;

  for (guint i = 0; i < load.sessions; i++)
    {
      Session *session = &load.conns[i];

      session_close (session);
      g_string_free (session->net.out, TRUE);
      g_array_unref (session->sizes);
      g_free (session->user);
    }
  g_free (load.conns);
  g_array_unref (load.retr_latencies_us);
  g_array_unref (load.login_us);
  freeaddrinfo (load.address);
  status = ok ? 0 : 1;

usage:
  if (load.password != NULL)
    memset (load.password, 0, strlen (load.password));
  g_free (load.password);
  g_free (load.user);
  g_free (load.users_from);
  g_free (load.server);
  return status;
}
