/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "idle-conns"

#include "config.h"

/* SOCK_NONBLOCK, MSG_MORE, getaddrinfo and sigaction are POSIX or Linux,
 * hidden by -std=c17 unless asked for. */
#define _GNU_SOURCE

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

/* idle-conns: opens K connections to a server, reads each greeting, then
 * holds them open doing nothing, so that a script can measure what an idle
 * session costs the server (bench/run-smtp.sh reads its RSS and PSS).
 *
 * It prints one line starting with "READY" once every connection is greeted,
 * then holds until SIGTERM/SIGINT or --hold seconds, and reports how many the
 * server closed meanwhile (an idle timeout, a connection limit). */

/* A greeting is one reply; RFC 5321 section 4.5.3.1.5 bounds its lines at
 * 512 octets, and a multi-line one rarely has more than a few. */
#define GREETING_BUFFER_SIZE 2048
#define MAX_CONNECTIONS 60000

typedef enum {
  CONN_STATE_CONNECTING,
  CONN_STATE_GREETING,
  CONN_STATE_HELD,
  CONN_STATE_CLOSED,
} ConnState;

typedef struct {
  int fd;
  ConnState state;
  char in[GREETING_BUFFER_SIZE];
  gsize in_len;
} Conn;

static volatile sig_atomic_t stop_requested;

static void
stop_signal_handler (int signal_number)
{
  stop_requested = 1;
}

/* "HOST:PORT", "[V6ADDR]:PORT". */
static struct addrinfo *
resolve_server (const char *text,
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

static void
conn_close (Conn *conn)
{
  if (conn->fd >= 0)
    close (conn->fd);
  conn->fd = -1;
  conn->state = CONN_STATE_CLOSED;
}

static gboolean
conn_open (Conn *conn,
           const struct addrinfo *address)
{
  conn->fd = socket (address->ai_family, address->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                     address->ai_protocol);
  if (conn->fd < 0)
    {
      g_printerr ("idle-conns: socket: %s\n", g_strerror (errno));
      conn->state = CONN_STATE_CLOSED;
      return FALSE;
    }
  if (connect (conn->fd, address->ai_addr, address->ai_addrlen) < 0 && errno != EINPROGRESS)
    {
      g_printerr ("idle-conns: connect: %s\n", g_strerror (errno));
      conn_close (conn);
      return FALSE;
    }
  conn->state = CONN_STATE_CONNECTING;
  return TRUE;
}

/* Reads what is there. In GREETING, moves to HELD once the greeting's last
 * line (RFC 5321 section 4.2: "220 " or "220" then CRLF) is in; any other
 * reply code, overflow or EOF closes the connection. In HELD, input is only
 * drained: a server may send 421 before it closes an idle connection. */
static void
conn_read (Conn *conn)
{
  for (;;)
    {
      char scratch[512];
      char *buffer = conn->state == CONN_STATE_GREETING ? conn->in + conn->in_len : scratch;
      gsize room = conn->state == CONN_STATE_GREETING ? sizeof conn->in - conn->in_len
                                                      : sizeof scratch;
      gssize n = recv (conn->fd, buffer, room, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      if (n <= 0)
        {
          if (conn->state == CONN_STATE_GREETING)
            g_printerr ("idle-conns: connection closed before the greeting: %s\n",
                        n == 0 ? "EOF" : g_strerror (errno));
          conn_close (conn);
          return;
        }
      if (conn->state != CONN_STATE_GREETING)
        continue;

      conn->in_len += n;
      for (gsize start = 0; start < conn->in_len;)
        {
          char *line = conn->in + start;
          char *newline = memchr (line, '\n', conn->in_len - start);
          gsize line_len;

          if (newline == NULL)
            break;
          line_len = newline - line;
          start = newline + 1 - conn->in;
          if (line_len >= 4 && line[3] == '-')
            continue;
          if (line_len < 3 || strncmp (line, "220", 3) != 0)
            {
              g_printerr ("idle-conns: greeting refused: %.*s\n", (int) line_len, line);
              conn_close (conn);
              return;
            }
          conn->state = CONN_STATE_HELD;
          conn->in_len = 0;
          break;
        }
      if (conn->state == CONN_STATE_GREETING && conn->in_len == sizeof conn->in)
        {
          g_printerr ("idle-conns: greeting longer than %d octets\n", GREETING_BUFFER_SIZE);
          conn_close (conn);
          return;
        }
    }
}

static void
conn_finish_connect (Conn *conn)
{
  int error = 0;
  socklen_t len = sizeof error;

  if (getsockopt (conn->fd, SOL_SOCKET, SO_ERROR, &error, &len) < 0)
    error = errno;
  if (error != 0)
    {
      g_printerr ("idle-conns: connect: %s\n", g_strerror (error));
      conn_close (conn);
      return;
    }
  conn->state = CONN_STATE_GREETING;
}

/* One poll() round over every open connection; returns FALSE on a poll error. */
static gboolean
poll_round (Conn *conns,
            guint n_conns,
            struct pollfd *fds,
            guint *index_r,
            int timeout_ms)
{
  guint n = 0;
  int rc;

  for (guint i = 0; i < n_conns; i++)
    {
      if (conns[i].state == CONN_STATE_CLOSED)
        continue;
      fds[n].fd = conns[i].fd;
      fds[n].events = conns[i].state == CONN_STATE_CONNECTING ? POLLOUT : POLLIN;
      fds[n].revents = 0;
      index_r[n++] = i;
    }
  rc = poll (fds, n, timeout_ms);
  if (rc < 0)
    {
      if (errno == EINTR)
        return TRUE;
      g_printerr ("idle-conns: poll: %s\n", g_strerror (errno));
      return FALSE;
    }
  for (guint i = 0; i < n && rc > 0; i++)
    {
      Conn *conn = &conns[index_r[i]];

      if (fds[i].revents == 0)
        continue;
      if (conn->state == CONN_STATE_CONNECTING)
        {
          conn_finish_connect (conn);
          if (conn->state == CONN_STATE_CLOSED)
            continue;
        }
      if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
        conn_read (conn);
    }
  return TRUE;
}

static guint
count_state (const Conn *conns,
             guint n_conns,
             ConnState state)
{
  guint count = 0;

  for (guint i = 0; i < n_conns; i++)
    count += conns[i].state == state;
  return count;
}

int
main (int argc,
      char **argv)
{
  g_autofree char *server = NULL;
  gint connections = 500, hold_s = 0, parallel = 32, timeout_s = 60;
  const GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &server,
      "The server (required)", "HOST:PORT" },
    { "connections", 'k', 0, G_OPTION_ARG_INT, &connections,
      "Connections to open and hold (default 500)", "K" },
    { "hold", 0, 0, G_OPTION_ARG_INT, &hold_s,
      "Seconds to hold them once greeted (default 0: until SIGTERM or SIGINT)", "SECONDS" },
    { "parallel", 0, 0, G_OPTION_ARG_INT, &parallel,
      "Connections waiting for their greeting at one time (default 32)", "P" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
      "Seconds allowed to open and greet them all (default 60)", "SECONDS" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- hold idle connections open");
  g_autoptr (GError) error = NULL;
  struct addrinfo *address;
  struct sigaction action = { .sa_handler = stop_signal_handler };
  g_autofree Conn *conns = NULL;
  g_autofree struct pollfd *fds = NULL;
  g_autofree guint *indexes = NULL;
  guint opened = 0, greeted, still_open;
  gint64 start, deadline, held_since;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "Prints \"READY <n> <k>\" when n of k connections are greeted, then holds them.\n"
    "Exits 1 if not all were greeted or the server closed some while held.\n"
    "Example: idle-conns --server 127.0.0.1:2526 -k 500 --hold 30\n");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("idle-conns: %s\n", error->message);
      return 2;
    }
  if (server == NULL || connections < 1 || connections > MAX_CONNECTIONS || hold_s < 0 ||
      parallel < 1 || timeout_s < 1)
    {
      g_printerr ("idle-conns: needs --server HOST:PORT, --connections from 1 to %d, "
                  "--parallel and --timeout positive\n", MAX_CONNECTIONS);
      return 2;
    }
  address = resolve_server (server, &error);
  if (address == NULL)
    {
      g_printerr ("idle-conns: %s\n", error->message);
      return 2;
    }

  sigemptyset (&action.sa_mask);
  sigaction (SIGTERM, &action, NULL);
  sigaction (SIGINT, &action, NULL);

  conns = g_new0 (Conn, connections);
  fds = g_new0 (struct pollfd, connections);
  indexes = g_new0 (guint, connections);
  for (gint i = 0; i < connections; i++)
    {
      conns[i].fd = -1;
      conns[i].state = CONN_STATE_CLOSED;
    }

  /* Open them a few at a time, so a burst does not overflow the server's
   * accept backlog and time the SYN retransmits instead of the server. */
  start = g_get_monotonic_time ();
  deadline = start + (gint64) timeout_s * G_USEC_PER_SEC;
  while (!stop_requested && g_get_monotonic_time () < deadline)
    {
      guint waiting = count_state (conns, opened, CONN_STATE_CONNECTING) +
                      count_state (conns, opened, CONN_STATE_GREETING);

      while (opened < (guint) connections && waiting < (guint) parallel)
        {
          if (conn_open (&conns[opened], address))
            waiting++;
          opened++;
        }
      if (waiting == 0)
        break;
      if (!poll_round (conns, opened, fds, indexes, 100))
        break;
    }
  freeaddrinfo (address);

  greeted = count_state (conns, connections, CONN_STATE_HELD);
  /* Anything still waiting now missed the deadline. */
  for (gint i = 0; i < connections; i++)
    if (conns[i].state == CONN_STATE_CONNECTING || conns[i].state == CONN_STATE_GREETING)
      conn_close (&conns[i]);
  printf ("READY %u %d connections greeted and held (%s, %.2f s to open)\n",
          greeted, connections, server,
          (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC);
  fflush (stdout);

  held_since = g_get_monotonic_time ();
  while (!stop_requested)
    {
      gint64 now = g_get_monotonic_time ();

      if (hold_s > 0 && now - held_since >= (gint64) hold_s * G_USEC_PER_SEC)
        break;
      if (count_state (conns, connections, CONN_STATE_HELD) == 0)
        break;
      if (!poll_round (conns, connections, fds, indexes, 200))
        break;
    }

  still_open = count_state (conns, connections, CONN_STATE_HELD);
  printf ("idle-conns: %u of %u greeted connections still open after %.1f s held; "
          "the server closed %u\n",
          still_open, greeted, (g_get_monotonic_time () - held_since) / (double) G_USEC_PER_SEC,
          greeted - still_open);
  fflush (stdout);
  for (gint i = 0; i < connections; i++)
    conn_close (&conns[i]);
  return greeted == (guint) connections && still_open == greeted ? 0 : 1;
}
