/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-server"

#include "config.h"

#include <glib-unix.h>
#include <locale.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "ms-trace-port.h"
#include "ms-trace-recorder.h"
#include "ms-world.h"
#include "ms-world-options.h"

/* The headless server's own flags; the world's are in ms-world-options.c,
 * shared with the GUI. */
static char *trace_file;
static char *new_password;      /* set-password */
static gboolean version;

static const GOptionEntry entries[] = {
  { "trace", 't', 0, G_OPTION_ARG_FILENAME, &trace_file,
    "Record every event as JSON Lines (see docs/trace-format.md)", "FILE" },
  { "password", 0, 0, G_OPTION_ARG_STRING, &new_password,
    "With set-password: the new password (default: read a line from stdin)", "PASSWORD" },
  { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
  { NULL }
};

static gboolean
quit_cb (gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_print ("Stopping.\n");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static int
set_password (const char *data_dir,
              const char *domain,
              const char *user)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsServer) server = NULL;
  g_autofree char *password = NULL;
  g_autofree char *server_dir = g_build_filename (data_dir, domain, NULL);
  MsServerConfig config = { 0 };

  config.domain = domain;
  config.data_dir = server_dir;
  server = ms_server_new (&config, NULL, &error);
  if (server == NULL)
    {
      g_printerr ("mailscope-server: %s\n", error->message);
      return 1;
    }

  if (new_password != NULL)
    password = g_strdup (new_password);
  else
    {
      char line[1024];

      if (fgets (line, sizeof line, stdin) == NULL)
        {
          g_printerr ("mailscope-server: no password on standard input\n");
          return 1;
        }
      line[strcspn (line, "\r\n")] = '\0';
      password = g_strdup (line);
    }
  if (*password == '\0')
    {
      g_printerr ("mailscope-server: the password must not be empty\n");
      return 1;
    }
  if (!ms_server_set_password (server, user, password, &error))
    {
      g_printerr ("mailscope-server: %s\n", error->message);
      return 1;
    }
  {
    g_autofree char *name = g_ascii_strdown (user, -1);

    g_print ("Password set for %s@%s (in %s/users.conf)\n", name, domain, server_dir);
  }
  return 0;
}

/* Usage errors (a bad flag, a bad config file) exit with 2, like the
 * option parser's; failures at run time (a port taken) with 1. */
static int
fail (const GError *error)
{
  g_printerr ("mailscope-server: %s\n", error->message);
  if (error->domain == G_OPTION_ERROR || error->domain == MS_WORLD_OPTIONS_ERROR)
    {
      if (error->domain == G_OPTION_ERROR || error->code == MS_WORLD_OPTIONS_ERROR_USAGE)
        g_printerr ("Try \"mailscope-server --help\".\n");
      return 2;
    }
  return 1;
}

int
main (int argc,
      char **argv)
{
  g_autoptr(MsWorldOptions) options = ms_world_options_new ();
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsTraceBus) bus = NULL;
  g_autoptr(MsTraceRecorder) recorder = NULL;
  g_autoptr(MsWorld) world = NULL;
  g_autoptr(MsTracePort) trace_port = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *summary = NULL;
  const char *data_dir;
  gboolean demo;

  setlocale (LC_ALL, "");

  /* A POP3 reply holds a whole message for a moment. With glibc's defaults,
   * freeing it gives the top of the heap back to the kernel, and the next
   * reply faults it in again: on a 2-CPU VM that cost three times the copy
   * itself (bench/README.md). Keep up to 64 MiB of freed heap, and take
   * blocks up to 8 MiB from the heap rather than from a fresh mmap. */
  mallopt (M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  mallopt (M_MMAP_THRESHOLD, 8 * 1024 * 1024);

  context = g_option_context_new ("[set-password USER] - the Mailscope mail server");
  /* The world's flags are the main group, so that --help lists them all. */
  g_option_context_set_main_group (context, ms_world_options_get_group (options));
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Runs Mailscope's SMTP, POP3 and IMAP servers for one domain, the servers a config\n"
    "file describes (--config), or the demo world (--demo).\n"
    "\n"
    "  mailscope-server --demo\n"
    "      alpha.test (alice, carol) and beta.test (bob, dave), relaying to each other\n"
    "  mailscope-server --domain example.test --user alice:secret --trace trace.jsonl\n"
    "      one server for example.test\n"
    "  mailscope-server --config world.ini\n"
    "      every [server DOMAIN] of world.ini; flags given too win over the file\n"
    "  mailscope-server --domain example.test set-password alice\n"
    "      creates the user or changes its password (read from stdin or --password)");
  g_option_context_set_description (context,
    "The server listens on 127.0.0.1 unless told otherwise, and prints its ports.\n"
    "Stop it with Ctrl-C. Documentation: docs/configuration.md, docs/smtp.md,\n"
    "docs/pop3.md, docs/imap.md and docs/trace-format.md.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (error);
  if (version)
    {
      g_print ("mailscope-server %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (!ms_world_options_finish (options, &error))
    return fail (error);
  data_dir = ms_world_options_get_data_dir (options);
  demo = ms_world_options_is_demo (options);

  if (argc >= 2 && strcmp (argv[1], "set-password") == 0)
    {
      if (argc != 3 || demo || ms_world_options_get_domain (options) == NULL)
        {
          g_printerr ("mailscope-server: usage: mailscope-server [--data-dir DIR] "
                      "[--config FILE] [--domain DOMAIN] set-password USER\n");
          return 2;
        }
      return set_password (data_dir, ms_world_options_get_domain (options), argv[2]);
    }
  if (argc > 1)
    {
      g_printerr ("mailscope-server: unexpected argument \"%s\"\n"
                  "Try \"mailscope-server --help\".\n", argv[1]);
      return 2;
    }

  bus = ms_trace_bus_new ();
  if (trace_file != NULL)
    {
      recorder = ms_trace_recorder_new (bus, trace_file, &error);
      if (recorder == NULL)
        return fail (error);
    }

  world = ms_world_options_build_world (options, bus, &error);
  if (world == NULL)
    return fail (error);

  /* Before the servers listen, so that a bad --trace-listen or a missing
   * token stops us before anything is served. No viewer can attach before
   * the main loop runs. */
  if (ms_world_options_get_trace_port (options) > 0)
    {
      trace_port = ms_trace_port_new (world, bus, ms_world_options_get_trace_listen (options),
                                      ms_world_options_get_trace_port (options),
                                      ms_world_options_get_trace_token (options), &error);
      if (trace_port == NULL)
        return fail (error);
    }

  if (!ms_world_start (world, &error))
    return fail (error);

  /* The state of the world before any traffic (docs/trace-format.md,
   * `snapshot`), so that a viewer (the GUI, a replay) builds every mailbox
   * from the trace alone and then applies the `store` events that follow.
   * No connection has been accepted yet: the main loop has not run. */
  if (recorder != NULL)
    for (guint s = 0; s < ms_world_get_servers (world)->len; s++)
      ms_server_emit_snapshot (ms_world_get_servers (world)->pdata[s]);

  summary = ms_world_describe (world, demo);
  g_print ("Mailscope %s%s\n%s", PACKAGE_VERSION, demo ? " demo world" : "", summary);
  if (trace_file != NULL)
    g_print ("Recording the trace to %s%s\n", trace_file,
             ms_world_options_get_reveal_secrets (options) ? " (secrets revealed)" : "");
  if (trace_port != NULL)
    {
      const char *token = ms_world_options_get_trace_token (options);
      const char *listen = ms_world_options_get_trace_listen (options);

      g_print ("Trace port on %s:%u%s\n", listen != NULL ? listen : "127.0.0.1",
               ms_trace_port_get_port (trace_port),
               token != NULL && *token != '\0' ? " (token needed)" : "");
    }
  g_print ("Ready. Press Ctrl-C to stop.\n");

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_main_loop_run (loop);

  g_clear_pointer (&trace_port, ms_trace_port_free);
  ms_world_stop (world);
  /* Let the 421 replies go out before the sockets close. */
  for (int i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  return 0;
}
