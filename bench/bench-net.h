/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <netdb.h>
#include <poll.h>

#include <glib.h>

/* What the load generators of bench/ share: one thread, one poll() loop over
 * C non-blocking sockets, so that on a small machine they take as little CPU
 * from the server under test as they can. */

G_BEGIN_DECLS

/* "HOST:PORT", "[V6ADDR]:PORT". Resolves once, before the clock starts. */
struct addrinfo *bench_resolve_server (const char *text,
                                       GError **error);

/* A non-blocking socket with connect() started. -1 on failure, with errno
 * set and *failed_call_r naming the call that failed ("socket" or
 * "connect"); the socket is closed then. With `nodelay`, TCP_NODELAY. */
int bench_connect_start (const struct addrinfo *address,
                         gboolean nodelay,
                         const char **failed_call_r);

/* Once poll() says a connecting socket is ready: 0 if connect() succeeded,
 * else its error number. */
int bench_connect_result (int fd);

/* recv() on a non-blocking socket, EINTR retried: the octets read, 0 at the
 * end of the stream, BENCH_RECV_AGAIN when nothing is there yet, -1 on an
 * error (errno set). */
#define BENCH_RECV_AGAIN (-2)
gssize bench_recv (int fd,
                   char *buffer,
                   gsize room);

/* Sends what is left of `out` from *sent on. 0 when all of it went (`out`
 * is then emptied) or the socket would block; else the error number. */
int bench_send_pending (int fd,
                        GString *out,
                        gsize *sent);

/* The socket side of one connection: the first member of each program's
 * connection struct, so that a pointer to either is a pointer to both. */
typedef struct {
  int fd;                       /* -1 while closed */
  gboolean connecting;          /* connect() started, not yet finished */
  GString *out;                 /* to send */
  gsize out_sent;
} BenchConn;

/* Starts a non-blocking connect() of `conn`; FALSE as bench_connect_start(). */
gboolean bench_conn_open (BenchConn *conn,
                          const struct addrinfo *address,
                          gboolean nodelay,
                          const char **failed_call_r);
/* Closes the socket, if open. */
void bench_conn_close (BenchConn *conn);

/* What bench_run_loop() needs of a program's connection (`conn` points to
 * its struct, which starts with a BenchConn). */
typedef struct {
  /* The connection cannot go on (connect or send failed, timed out):
   * counted as failed and closed. */
  void (*fail) (gpointer conn,
                const char *reason);
  /* connect() succeeded: now wait for the greeting. */
  void (*connected) (gpointer conn);
  void (*read) (gpointer conn);
  /* Closed, when `done` says so: not a failure. */
  void (*close) (gpointer conn);
  /* Optional: more to send than `out` (default: out, while connecting). */
  gboolean (*wants_write) (gpointer conn);
  /* Optional: sends it (default: `out` with bench_send_pending()). */
  void (*write) (gpointer conn);
} BenchConnClass;

typedef struct {
  const char *program;          /* for "PROGRAM: poll: ..." */
  const BenchConnClass *klass;
  gpointer conns;               /* an array of n_conns elements of `stride` octets */
  gsize stride;
  guint n_conns;
  gint64 deadline_us;
  /* Says why the load gave up, once, before the open connections time out. */
  void (*report_timeout) (gpointer user_data);
  /* Optional: TRUE to close every open connection and stop. */
  gboolean (*done) (gpointer user_data,
                    gint64 now_us);
  gpointer user_data;
} BenchLoop;

/* Polls the connections that are open until none is, or the deadline. */
void bench_run_loop (const BenchLoop *loop);

/* Nearest-rank percentile of sorted microseconds, in milliseconds. */
double bench_percentile_ms (GArray *sorted,
                            double fraction);
/* Sorts gint64 microseconds for bench_percentile_ms(). */
void bench_sort_us (GArray *values);

/* This process's CPU time so far, in seconds. */
void bench_own_cpu (double *user_s,
                    double *system_s);

/* "bench1..bench20": the common prefix and the two numbers (up to six
 * digits each). FALSE if `range` is not of that form; the order of the
 * numbers is not checked. */
gboolean bench_parse_user_range (const char *range,
                                 char **prefix_r,
                                 guint *first_r,
                                 guint *last_r);
/* `count` names: prefix + first, prefix + first + 1, ...; NULL-terminated. */
char **bench_user_names (const char *prefix,
                         guint first,
                         guint count);

/* Makes the Maildir `dir` (tmp/, new/, cur/) if missing. */
gboolean bench_make_maildir (const char *dir,
                             GError **error);
/* Writes a new file (O_EXCL), EINTR and short writes handled. */
gboolean bench_write_file (const char *path,
                           const char *data,
                           gsize len,
                           GError **error);

G_END_DECLS
