/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "idle-conns"

#include "config.h"

/* MSG_NOSIGNAL, freeaddrinfo() and sigaction are POSIX or Linux, hidden
 * by -std=c17 unless asked for. */
#define _GNU_SOURCE

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

#include "bench-net.h"

/* idle-conns: opens K connections to a server, reads each greeting, then
 * holds them open doing nothing, so that a script can measure what an idle
 * session costs the server (bench/run-smtp.sh and bench/run-imap.sh read its
 * RSS and PSS).
 *
 * With --imap the greeting is IMAP's "* OK" (RFC 3501 section 7.1.1), and
 * with --login and --select each connection first logs in and selects a
 * mailbox, so that what is held is a session as a mail client leaves it
 * between two checks (RFC 3501 sections 6.2.3 and 6.3.1).
 *
 * It prints one line starting with "READY" once every connection is greeted
 * (and logged in, and has its mailbox selected), then holds until
 * SIGTERM/SIGINT or --hold seconds, and reports how many the server closed
 * meanwhile (an idle timeout, a connection limit). */

/* Room for one response line. RFC 5321 section 4.5.3.1.5 bounds SMTP's at
 * 512 octets; IMAP's greeting and LOGIN reply carry a CAPABILITY list, a
 * few hundred octets with Dovecot. */
#define RESPONSE_BUFFER_SIZE 4096
#define MAX_CONNECTIONS 60000

typedef enum {
  CONN_STATE_CONNECTING,
  CONN_STATE_GREETING,
  CONN_STATE_LOGIN,             /* IMAP: "L LOGIN" sent */
  CONN_STATE_SELECT,            /* IMAP: "S SELECT" sent */
  CONN_STATE_HELD,
  CONN_STATE_CLOSED,
} ConnState;

typedef struct {
  int fd;
  ConnState state;
  guint index;
  char in[RESPONSE_BUFFER_SIZE];
  gsize in_len;
} Conn;

/* What every connection does before it is held. */
typedef struct {
  gboolean imap;
  char **users;                 /* IMAP LOGIN: connection i uses users[i % n_users] */
  guint n_users;
  const char *password;         /* borrowed */
  const char *mailbox;          /* borrowed; NULL: no SELECT */
} Setup;

static Setup setup;

static volatile sig_atomic_t stop_requested;

static void
stop_signal_handler (int signal_number)
{
  stop_requested = 1;
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
  const char *failed_call;

  conn->fd = bench_connect_start (address, FALSE, &failed_call);
  if (conn->fd < 0)
    {
      g_printerr ("idle-conns: %s: %s\n", failed_call, g_strerror (errno));
      conn_close (conn);
      return FALSE;
    }
  conn->state = CONN_STATE_CONNECTING;
  return TRUE;
}

static gboolean
conn_waiting (const Conn *conn)
{
  return conn->state != CONN_STATE_HELD && conn->state != CONN_STATE_CLOSED;
}

/* Sends one IMAP command of the set-up and moves to `next`. The socket is
 * new and its send buffer empty, so a short write means trouble. */
static void
conn_send (Conn *conn,
           ConnState next,
           const char *command)
{
  gsize len = strlen (command);
  gssize n;

  do
    n = send (conn->fd, command, len, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  if (n != (gssize) len)
    {
      g_printerr ("idle-conns: send: %s\n", n < 0 ? g_strerror (errno) : "short write");
      conn_close (conn);
      return;
    }
  conn->state = next;
}

/* After the IMAP greeting or LOGIN: the next set-up step, or HELD. */
static void
conn_imap_next (Conn *conn)
{
  g_autofree char *command = NULL;

  if (conn->state == CONN_STATE_GREETING && setup.n_users > 0)
    {
      /* Quoted strings (RFC 3501 section 4.3); main() refused '"' and '\'. */
      command = g_strdup_printf ("L LOGIN \"%s\" \"%s\"\r\n",
                                 setup.users[conn->index % setup.n_users], setup.password);
      conn_send (conn, CONN_STATE_LOGIN, command);
    }
  else if (conn->state != CONN_STATE_SELECT && setup.mailbox != NULL)
    {
      command = g_strdup_printf ("S SELECT \"%s\"\r\n", setup.mailbox);
      conn_send (conn, CONN_STATE_SELECT, command);
    }
  else
    conn->state = CONN_STATE_HELD;
  if (command != NULL)
    memset (command, 0, strlen (command));
}

/* One whole response line in a set-up state. FALSE if it closed the
 * connection. */
static gboolean
conn_handle_line (Conn *conn,
                  const char *line,
                  gsize line_len)
{
  if (conn->state == CONN_STATE_GREETING && !setup.imap)
    {
      /* RFC 5321 section 4.2: "220-" goes on, "220 " or "220" ends it. */
      if (line_len >= 4 && line[3] == '-')
        return TRUE;
      if (line_len < 3 || strncmp (line, "220", 3) != 0)
        goto refused;
      conn->state = CONN_STATE_HELD;
      return TRUE;
    }
  if (conn->state == CONN_STATE_GREETING)
    {
      /* RFC 3501 section 7.1: "* OK" to log in; PREAUTH and BYE are not
       * what is measured here. */
      if (line_len < 4 || strncmp (line, "* OK", 4) != 0)
        goto refused;
      conn_imap_next (conn);
      return conn->state != CONN_STATE_CLOSED;
    }
  /* LOGIN or SELECT: untagged data is skipped, the tagged reply ends it. */
  if (line_len >= 2 && strncmp (line, "* ", 2) == 0)
    return TRUE;
  if (line_len < 4 || strncmp (line + 1, " OK", 3) != 0 ||
      line[0] != (conn->state == CONN_STATE_LOGIN ? 'L' : 'S'))
    goto refused;
  conn_imap_next (conn);
  return conn->state != CONN_STATE_CLOSED;

refused:
  g_printerr ("idle-conns: %s refused: %.*s\n",
              conn->state == CONN_STATE_GREETING ? "greeting"
              : conn->state == CONN_STATE_LOGIN ? "LOGIN" : "SELECT",
              (int) MIN (line_len, 300), line);
  conn_close (conn);
  return FALSE;
}

/* Reads what is there. While the connection is set up (greeting, LOGIN,
 * SELECT), whole lines go to conn_handle_line(); any refusal, overflow or
 * EOF closes the connection. In HELD, input is only drained: a server may
 * send 421 or "* BYE" before it closes an idle connection. */
static void
conn_read (Conn *conn)
{
  for (;;)
    {
      char scratch[512];
      gboolean waiting = conn_waiting (conn);
      char *buffer = waiting ? conn->in + conn->in_len : scratch;
      gsize room = waiting ? sizeof conn->in - conn->in_len : sizeof scratch;
      gssize n = bench_recv (conn->fd, buffer, room);
      gsize start = 0;

      if (n == BENCH_RECV_AGAIN)
        return;
      if (n <= 0)
        {
          if (waiting)
            g_printerr ("idle-conns: connection closed before it was set up: %s\n",
                        n == 0 ? "EOF" : g_strerror (errno));
          conn_close (conn);
          return;
        }
      if (!waiting)
        continue;

      conn->in_len += n;
      while (conn_waiting (conn) && start < conn->in_len)
        {
          char *line = conn->in + start;
          char *newline = memchr (line, '\n', conn->in_len - start);
          gsize line_len;

          if (newline == NULL)
            break;
          line_len = newline - line;
          start = newline + 1 - conn->in;
          if (line_len > 0 && line[line_len - 1] == '\r')
            line_len--;
          if (!conn_handle_line (conn, line, line_len))
            return;
        }
      if (!conn_waiting (conn))
        {
          conn->in_len = 0;
          continue;
        }
      memmove (conn->in, conn->in + start, conn->in_len - start);
      conn->in_len -= start;
      if (conn->in_len == sizeof conn->in)
        {
          g_printerr ("idle-conns: a response line longer than %d octets\n",
                      RESPONSE_BUFFER_SIZE);
          conn_close (conn);
          return;
        }
    }
}

static void
conn_finish_connect (Conn *conn)
{
  int error = bench_connect_result (conn->fd);

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

static guint
count_waiting (const Conn *conns,
               guint n_conns)
{
  guint count = 0;

  for (guint i = 0; i < n_conns; i++)
    count += conn_waiting (&conns[i]);
  return count;
}

/* "bench1..bench20" into its names, or one name. */
static char **
expand_users (const char *text,
              GError **error)
{
  g_autofree char *prefix = NULL;
  guint first, last;

  if (strstr (text, "..") == NULL)
    {
      char **one = g_new0 (char *, 2);

      one[0] = g_strdup (text);
      return one;
    }
  if (!bench_parse_user_range (text, &prefix, &first, &last))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--login needs USER or PREFIX<first>..PREFIX<last>, not \"%s\"", text);
      return NULL;
    }
  return bench_user_names (prefix, first, last >= first ? last - first + 1 : 0);
}

/* Nothing that would need escaping in a quoted string (RFC 3501 section
 * 4.3), nor CR, LF or 8-bit. */
static gboolean
is_plain_quotable (const char *text)
{
  for (const guchar *p = (const guchar *) text; *p != '\0'; p++)
    if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
      return FALSE;
  return TRUE;
}

int
main (int argc,
      char **argv)
{
  g_autofree char *server = NULL;
  g_autofree char *login = NULL;
  g_autofree char *password = NULL;
  g_autofree char *mailbox = NULL;
  g_auto(GStrv) users = NULL;
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
    { "imap", 0, 0, G_OPTION_ARG_NONE, &setup.imap,
      "The server speaks IMAP: its greeting is \"* OK\"", NULL },
    { "login", 0, 0, G_OPTION_ARG_STRING, &login,
      "IMAP: log each in as USER, or round the users bench1..bench20", "USER|FIRST..LAST" },
    { "password", 0, 0, G_OPTION_ARG_STRING, &password,
      "IMAP: the password of every user (default benchpw)", "PASS" },
    { "select", 0, 0, G_OPTION_ARG_STRING, &mailbox,
      "IMAP: after LOGIN, SELECT this mailbox (INBOX)", "MAILBOX" },
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
    "Prints \"READY <n> <k>\" when n of k connections are greeted (with --imap and\n"
    "--login/--select: logged in, mailbox selected), then holds them.\n"
    "Exits 1 if not all were greeted or the server closed some while held.\n"
    "Example: idle-conns --server 127.0.0.1:2526 -k 500 --hold 30\n"
    "         idle-conns --server 127.0.0.1:1143 -k 1000 --imap --login bench1..bench20 "
    "--select INBOX\n");
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
  if ((login != NULL || mailbox != NULL) && !setup.imap)
    {
      g_printerr ("idle-conns: --login and --select need --imap\n");
      return 2;
    }
  if (mailbox != NULL && login == NULL)
    {
      g_printerr ("idle-conns: --select needs --login\n");
      return 2;
    }
  if (login != NULL)
    {
      users = expand_users (login, &error);
      if (users == NULL)
        {
          g_printerr ("idle-conns: %s\n", error->message);
          return 2;
        }
      setup.users = users;
      setup.n_users = g_strv_length (users);
      setup.password = password != NULL ? password : "benchpw";
      setup.mailbox = mailbox;
      for (guint i = 0; i < setup.n_users; i++)
        if (!is_plain_quotable (users[i]))
          setup.n_users = 0;
      if (setup.n_users == 0 || !is_plain_quotable (setup.password) ||
          (mailbox != NULL && !is_plain_quotable (mailbox)))
        {
          g_printerr ("idle-conns: users, password and mailbox must be printable ASCII "
                      "without '\"' or '\\'\n");
          return 2;
        }
    }
  address = bench_resolve_server (server, &error);
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
      conns[i].index = i;
    }

  /* Open them a few at a time, so a burst does not overflow the server's
   * accept backlog and time the SYN retransmits instead of the server. */
  start = g_get_monotonic_time ();
  deadline = start + (gint64) timeout_s * G_USEC_PER_SEC;
  while (!stop_requested && g_get_monotonic_time () < deadline)
    {
      guint waiting = count_waiting (conns, opened);

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
    if (conn_waiting (&conns[i]))
      conn_close (&conns[i]);
  printf ("READY %u %d connections %s and held (%s, %.2f s to open)\n",
          greeted, connections,
          setup.mailbox != NULL ? "greeted, logged in, mailbox selected"
          : setup.n_users > 0 ? "greeted and logged in" : "greeted", server,
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
