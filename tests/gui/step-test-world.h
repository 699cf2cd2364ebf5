/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <string.h>

#include "ms-world.h"
#include "ms-test-util.h"

G_BEGIN_DECLS

/* What the stepper tests (test-trace-client.c, test-world-stepper.c)
 * share: a world of in-process servers on free loopback ports, on this
 * thread's main context, and a raw SMTP line client that never blocks it.
 * Header-only: each test program is one file. */

typedef struct {
  char *dir;
  MsTraceBus *bus;            /* the servers' bus */
  MsWorld *world;
} StepWorld;

/* Iterates the main context until `*flag` is set; fails after 10 s. */
static inline void
step_wait_for (const gboolean *flag)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!*flag)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
}

/* Iterates the main context for about `ms` milliseconds. */
static inline void
step_iterate (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
}

/* A world of `domains` (NULL-terminated), each with SMTP on a free port and
 * the user alice (alicepw). */
static inline StepWorld *
step_world_new (const char * const *domains)
{
  StepWorld *sw = g_new0 (StepWorld, 1);
  g_autoptr(GError) error = NULL;

  sw->dir = g_dir_make_tmp ("ms-test-step-XXXXXX", &error);
  g_assert_no_error (error);
  sw->bus = ms_trace_bus_new ();
  sw->world = ms_world_new (sw->bus);
  for (guint i = 0; domains[i] != NULL; i++)
    {
      g_autofree char *data_dir = g_build_filename (sw->dir, domains[i], NULL);
      MsServerConfig config = { .domain = domains[i], .data_dir = data_dir };
      MsServer *server;

      /* Not the demo's fixed ports: any free one, SMTP only. */
      config.ports[MS_LISTENER_SMTP] = MS_SERVER_PORT_ANY;
      server = ms_server_new (&config, sw->bus, &error);
      g_assert_no_error (error);
      g_assert_true (ms_server_set_password (server, "alice", "alicepw", &error));
      g_assert_no_error (error);
      ms_world_add_server (sw->world, server);
    }
  g_assert_true (ms_world_start (sw->world, &error));
  g_assert_no_error (error);
  return sw;
}

static inline MsServer *
step_world_server (StepWorld *sw,
                   guint index)
{
  return ms_world_get_servers (sw->world)->pdata[index];
}

static inline void
step_world_free (StepWorld *sw)
{
  ms_world_stop (sw->world);
  /* Let closed connections finish their callbacks. */
  step_iterate (20);
  ms_world_free (sw->world);
  ms_trace_bus_unref (sw->bus);
  ms_test_remove_tree (sw->dir);
  g_free (sw->dir);
  g_free (sw);
}

typedef struct {
  GSocketConnection *connection;
  GSocket *socket;
  GString *input;
} StepLineClient;

static inline StepLineClient *
step_line_client_connect (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  StepLineClient *lc = g_new0 (StepLineClient, 1);

  /* The kernel completes the handshake; the server accepts it later. */
  lc->connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  lc->socket = g_socket_connection_get_socket (lc->connection);
  g_socket_set_blocking (lc->socket, FALSE);
  lc->input = g_string_new (NULL);
  return lc;
}

static inline void
step_line_client_free (StepLineClient *lc)
{
  g_object_unref (lc->connection);
  g_string_free (lc->input, TRUE);
  g_free (lc);
}

static inline void
step_line_client_send (StepLineClient *lc,
                       const char *line)
{
  g_autofree char *data = g_strconcat (line, "\r\n", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_socket_send (lc->socket, data, strlen (data), NULL, &error), ==,
                   strlen (data));
  g_assert_no_error (error);
}

/* Takes what the server sent so far into lc->input. */
static inline void
step_line_client_pump (StepLineClient *lc)
{
  char buffer[4096];
  gssize n;

  while ((n = g_socket_receive (lc->socket, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_string_append_len (lc->input, buffer, n);
}

/* Reads one line (without CRLF), iterating the main context meanwhile. */
static inline char *
step_line_client_read (StepLineClient *lc)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  const char *crlf;
  char *line;

  while ((crlf = strstr (lc->input->str, "\r\n")) == NULL)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
      step_line_client_pump (lc);
    }
  line = g_strndup (lc->input->str, crlf - lc->input->str);
  g_string_erase (lc->input, 0, crlf - lc->input->str + 2);
  return line;
}

/* Sends `command` (unless NULL) and checks the start of the reply line. */
static inline void
step_line_client_expect (StepLineClient *lc,
                         const char *command,
                         const char *expected)
{
  g_autofree char *reply = NULL;

  if (command != NULL)
    step_line_client_send (lc, command);
  reply = step_line_client_read (lc);
  if (!g_str_has_prefix (reply, expected))
    g_error ("after \"%s\": expected \"%s...\", got \"%s\"",
             command != NULL ? command : "(nothing sent)", expected, reply);
}

/* Gives the server time to answer, then checks that not a byte came. */
static inline void
step_line_client_assert_silent (StepLineClient *lc)
{
  step_iterate (100);
  step_line_client_pump (lc);
  g_assert_cmpstr (lc->input->str, ==, "");
}

G_END_DECLS
