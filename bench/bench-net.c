/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "bench"

#include "config.h"

/* SOCK_NONBLOCK, getaddrinfo and friends are POSIX or Linux, hidden by
 * -std=c17 unless asked for. */
#define _GNU_SOURCE

#include "bench-net.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

struct addrinfo *
bench_resolve_server (const char *text,
                      GError **error)
{
  g_autofree char *host = NULL;
  const char *colon = strrchr (text, ':');
  struct addrinfo hints = { .ai_socktype = SOCK_STREAM };
  struct addrinfo *result = NULL;
  int rc;

  if (colon == NULL || colon == text || colon[1] == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--server needs HOST:PORT, not \"%s\"", text);
      return NULL;
    }
  if (text[0] == '[' && colon[-1] == ']')
    host = g_strndup (text + 1, colon - text - 2);
  else
    host = g_strndup (text, colon - text);
  rc = getaddrinfo (host, colon + 1, &hints, &result);
  if (rc != 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "Cannot resolve %s: %s", text, gai_strerror (rc));
      return NULL;
    }
  return result;
}

int
bench_connect_start (const struct addrinfo *address,
                     gboolean nodelay,
                     const char **failed_call_r)
{
  int one = 1;
  int fd = socket (address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   address->ai_protocol);

  if (fd < 0)
    {
      *failed_call_r = "socket";
      return -1;
    }
  /* Lock-step commands are small writes waiting on a reply: Nagle would
   * add delay that is not the server's. */
  if (nodelay)
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect (fd, address->ai_addr, address->ai_addrlen) < 0 && errno != EINPROGRESS)
    {
      int saved = errno;

      close (fd);
      errno = saved;
      *failed_call_r = "connect";
      return -1;
    }
  return fd;
}

int
bench_connect_result (int fd)
{
  int error = 0;
  socklen_t len = sizeof error;

  if (getsockopt (fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
    error = errno;
  return error;
}

gssize
bench_recv (int fd,
            char *buffer,
            gsize room)
{
  for (;;)
    {
      gssize n = recv (fd, buffer, room, 0);

      if (n >= 0)
        return n;
      if (errno == EINTR)
        continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return BENCH_RECV_AGAIN;
      return -1;
    }
}

int
bench_send_pending (int fd,
                    GString *out,
                    gsize *sent)
{
  while (*sent < out->len)
    {
      gssize n = send (fd, out->str + *sent, out->len - *sent, MSG_NOSIGNAL);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
          return errno;
        }
      *sent += n;
    }
  g_string_truncate (out, 0);
  *sent = 0;
  return 0;
}

gboolean
bench_conn_open (BenchConn *conn,
                 const struct addrinfo *address,
                 gboolean nodelay,
                 const char **failed_call_r)
{
  conn->fd = bench_connect_start (address, nodelay, failed_call_r);
  conn->connecting = conn->fd >= 0;
  return conn->fd >= 0;
}

void
bench_conn_close (BenchConn *conn)
{
  if (conn->fd >= 0)
    close (conn->fd);
  conn->fd = -1;
}

static gboolean
conn_wants_write (const BenchConnClass *klass,
                  BenchConn *conn)
{
  if (klass->wants_write != NULL)
    return klass->wants_write (conn);
  return conn->connecting || conn->out_sent < conn->out->len;
}

static void
conn_write (const BenchConnClass *klass,
            BenchConn *conn)
{
  int error;

  if (klass->write != NULL)
    {
      klass->write (conn);
      return;
    }
  error = bench_send_pending (conn->fd, conn->out, &conn->out_sent);
  if (error != 0)
    {
      g_autofree char *reason = g_strdup_printf ("send: %s", g_strerror (error));

      klass->fail (conn, reason);
    }
}

static void
conn_finish_connect (const BenchConnClass *klass,
                     BenchConn *conn)
{
  int error = bench_connect_result (conn->fd);

  if (error != 0)
    {
      g_autofree char *reason = g_strdup_printf ("connect: %s", g_strerror (error));

      klass->fail (conn, reason);
      return;
    }
  conn->connecting = FALSE;
  klass->connected (conn);
}

void
bench_run_loop (const BenchLoop *loop)
{
  const BenchConnClass *klass = loop->klass;
  g_autofree struct pollfd *fds = g_new0 (struct pollfd, loop->n_conns);
  g_autofree BenchConn **polled = g_new0 (BenchConn *, loop->n_conns);

  for (;;)
    {
      gint64 now = g_get_monotonic_time ();
      guint n = 0;
      int rc;

      for (guint i = 0; i < loop->n_conns; i++)
        {
          BenchConn *conn = (BenchConn *) ((char *) loop->conns + (gsize) i * loop->stride);

          if (conn->fd < 0)
            continue;
          fds[n].fd = conn->fd;
          fds[n].events = POLLIN | (conn_wants_write (klass, conn) ? POLLOUT : 0);
          fds[n].revents = 0;
          polled[n++] = conn;
        }
      if (n == 0)
        break;
      if (now >= loop->deadline_us)
        {
          loop->report_timeout (loop->user_data);
          for (guint i = 0; i < n; i++)
            klass->fail (polled[i], "timed out");
          break;
        }
      if (loop->done != NULL && loop->done (loop->user_data, now))
        {
          for (guint i = 0; i < n; i++)
            klass->close (polled[i]);
          break;
        }

      rc = poll (fds, n, (int) MIN ((loop->deadline_us - now) / 1000 + 1, 1000));
      if (rc < 0)
        {
          if (errno == EINTR)
            continue;
          g_printerr ("%s: poll: %s\n", loop->program, g_strerror (errno));
          break;
        }

      for (guint i = 0; i < n; i++)
        {
          BenchConn *conn = polled[i];

          if (fds[i].revents == 0)
            continue;
          if (conn->connecting)
            {
              conn_finish_connect (klass, conn);
              if (conn->fd < 0)
                continue;
            }
          if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
            klass->read (conn);
          if (conn->fd >= 0 && conn_wants_write (klass, conn))
            conn_write (klass, conn);
        }
    }
}

static int
compare_gint64 (gconstpointer a,
                gconstpointer b)
{
  gint64 x = *(const gint64 *) a;
  gint64 y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

void
bench_sort_us (GArray *values)
{
  g_array_sort (values, compare_gint64);
}

double
bench_percentile_ms (GArray *sorted,
                     double fraction)
{
  gsize rank;

  if (sorted->len == 0)
    return 0.0;
  rank = (gsize) (fraction * sorted->len + 0.999999);
  rank = CLAMP (rank, 1, sorted->len);
  return g_array_index (sorted, gint64, rank - 1) / 1000.0;
}

void
bench_own_cpu (double *user_s,
               double *system_s)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  *user_s = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6;
  *system_s = usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/* "bench12": the length of "bench" and 12. FALSE without 1 to 6 trailing
 * digits. */
static gboolean
split_numbered_name (const char *name,
                     gsize len,
                     gsize *prefix_len_r,
                     guint *number_r)
{
  gsize digits = len;

  while (digits > 0 && g_ascii_isdigit (name[digits - 1]))
    digits--;
  if (digits == len || len - digits > 6)
    return FALSE;
  *prefix_len_r = digits;
  *number_r = (guint) g_ascii_strtoull (name + digits, NULL, 10);
  return TRUE;
}

gboolean
bench_parse_user_range (const char *range,
                        char **prefix_r,
                        guint *first_r,
                        guint *last_r)
{
  const char *dots = strstr (range, "..");
  const char *last;
  gsize first_prefix, last_prefix;

  if (dots == NULL)
    return FALSE;
  last = dots + 2;
  if (!split_numbered_name (range, dots - range, &first_prefix, first_r) ||
      !split_numbered_name (last, strlen (last), &last_prefix, last_r) ||
      first_prefix != last_prefix || strncmp (range, last, first_prefix) != 0)
    return FALSE;
  *prefix_r = g_strndup (range, first_prefix);
  return TRUE;
}

char **
bench_user_names (const char *prefix,
                  guint first,
                  guint count)
{
  char **users = g_new0 (char *, count + 1);

  for (guint i = 0; i < count; i++)
    users[i] = g_strdup_printf ("%s%u", prefix, first + i);
  return users;
}

gboolean
bench_make_maildir (const char *dir,
                    GError **error)
{
  static const char *const subdirs[] = { "tmp", "new", "cur" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (dir, subdirs[i], NULL);

      if (g_mkdir_with_parents (path, 0700) < 0)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                       "Cannot make %s: %s", path, g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
}

gboolean
bench_write_file (const char *path,
                  const char *data,
                  gsize len,
                  GError **error)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  gsize done = 0;

  if (fd < 0)
    goto fail;
  while (done < len)
    {
      gssize n = write (fd, data + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          close (fd);
          goto fail;
        }
      done += n;
    }
  if (close (fd) < 0)
    goto fail;
  return TRUE;

fail:
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
               "Cannot write %s: %s", path, g_strerror (errno));
  return FALSE;
}
