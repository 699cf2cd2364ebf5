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

typedef struct {
  gboolean demo;
  char *data_dir;
  char *domain;
  char **users;               /* "name:password" */
  char **routes;              /* "domain=host:port" */
  char **apop_secrets;        /* "name:secret" */
  char *listen;
  int ports[MS_N_LISTENERS];
  char *trace_file;
  int trace_port;             /* 0: off */
  char *trace_listen;
  char *trace_token;
  gboolean reveal_secrets;
  gboolean imap_login_needs_tls;
  gint64 max_message_size;
  int pop3_expire_days;
  int pop3_login_delay_s;
  gboolean version;
  char *password;             /* set-password */
} Options;

static gboolean
parse_port (const char *option,
            const char *text,
            int *port_r,
            GError **error)
{
  guint64 port;

  if (!g_ascii_string_to_unsigned (text, 10, 0, 65535, &port, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s needs a port number from 0 (off) to 65535, not \"%s\"", option, text);
      return FALSE;
    }
  *port_r = port;
  return TRUE;
}

static Options options = {
  .ports = { -1, -1, -1, -1, -1, -1, -1 },
};

static gboolean
smtp_port_cb (const char *name, const char *value, gpointer data, GError **error)
{
  return parse_port (name, value, &options.ports[MS_LISTENER_SMTP], error);
}

static gboolean
submission_port_cb (const char *name, const char *value, gpointer data, GError **error)
{
  return parse_port (name, value, &options.ports[MS_LISTENER_SUBMISSION], error);
}

static gboolean
smtps_port_cb (const char *name, const char *value, gpointer data, GError **error)
{
  return parse_port (name, value, &options.ports[MS_LISTENER_SMTPS], error);
}

static gboolean
pop3_port_cb (const char *name, const char *value, gpointer data, GError **error)
{
  return parse_port (name, value, &options.ports[MS_LISTENER_POP3], error);
}

static gboolean
pop3s_port_cb (const char *name, const char *value, gpointer data, GError **error)
{
  return parse_port (name, value, &options.ports[MS_LISTENER_POP3S], error);
}

static gboolean
imap_port_cb (const char *name, const char *value, gpointer data, GError **error)
{
  return parse_port (name, value, &options.ports[MS_LISTENER_IMAP], error);
}

static gboolean
imaps_port_cb (const char *name, const char *value, gpointer data, GError **error)
{
  return parse_port (name, value, &options.ports[MS_LISTENER_IMAPS], error);
}

static gboolean
trace_port_cb (const char *name, const char *value, gpointer data, GError **error)
{
  return parse_port (name, value, &options.trace_port, error);
}

static const GOptionEntry entries[] = {
  { "demo", 0, 0, G_OPTION_ARG_NONE, &options.demo,
    "Run the demo world: alpha.test and beta.test, routing to each other", NULL },
  { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, &options.data_dir,
    "Where mailboxes, users, queue and certificates live "
    "(default: $XDG_DATA_HOME/mailscope/demo or .../mailscope/server)", "DIR" },
  { "domain", 0, 0, G_OPTION_ARG_STRING, &options.domain,
    "The mail domain this server is for (default: example.test; not with --demo)", "DOMAIN" },
  { "user", 'u', 0, G_OPTION_ARG_STRING_ARRAY, &options.users,
    "Add a user or set its password (repeatable; not with --demo)", "NAME:PASSWORD" },
  { "route", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options.routes,
    "Relay mail for DOMAIN to HOST:PORT, standing in for DNS MX (repeatable)",
    "DOMAIN=HOST:PORT" },
  { "listen", 0, 0, G_OPTION_ARG_STRING, &options.listen,
    "The IP address to listen on (default: 127.0.0.1)", "ADDR" },
  { "smtp-port", 0, 0, G_OPTION_ARG_CALLBACK, smtp_port_cb,
    "The MTA port, like 25 (default 2525; 0 turns it off)", "PORT" },
  { "submission-port", 0, 0, G_OPTION_ARG_CALLBACK, submission_port_cb,
    "The submission port with AUTH, like 587 (default 2587; 0 turns it off)", "PORT" },
  { "smtps-port", 0, 0, G_OPTION_ARG_CALLBACK, smtps_port_cb,
    "The implicit-TLS submission port, like 465 (default 2465; 0 turns it off)", "PORT" },
  { "pop3-port", 0, 0, G_OPTION_ARG_CALLBACK, pop3_port_cb,
    "The POP3 port, like 110 (default 2110; 0 turns it off)", "PORT" },
  { "pop3s-port", 0, 0, G_OPTION_ARG_CALLBACK, pop3s_port_cb,
    "The implicit-TLS POP3 port, like 995 (default 2995; 0 turns it off)", "PORT" },
  { "imap-port", 0, 0, G_OPTION_ARG_CALLBACK, imap_port_cb,
    "The IMAP port, like 143 (default 2143; 0 turns it off)", "PORT" },
  { "imaps-port", 0, 0, G_OPTION_ARG_CALLBACK, imaps_port_cb,
    "The implicit-TLS IMAP port, like 993 (default 2993; 0 turns it off)", "PORT" },
  { "imap-login-needs-tls", 0, 0, G_OPTION_ARG_NONE, &options.imap_login_needs_tls,
    "IMAP: advertise LOGINDISABLED and refuse logins until STARTTLS "
    "(the implicit-TLS port is already encrypted)", NULL },
  { "apop-secret", 0, 0, G_OPTION_ARG_STRING_ARRAY, &options.apop_secrets,
    "Give an existing user an APOP secret (RFC 1939 section 7; repeatable)", "NAME:SECRET" },
  { "pop3-login-delay", 0, 0, G_OPTION_ARG_INT, &options.pop3_login_delay_s,
    "Least seconds between two POP3 logins of a user, advertised as LOGIN-DELAY "
    "(default 0: none)", "SECONDS" },
  { "pop3-expire", 0, 0, G_OPTION_ARG_INT, &options.pop3_expire_days,
    "Advertise POP3 EXPIRE DAYS (RFC 2449); nothing is deleted yet (default 0: not advertised)", "DAYS" },
  { "max-message-size", 0, 0, G_OPTION_ARG_INT64, &options.max_message_size,
    "The largest message accepted, in bytes (default 10485760)", "BYTES" },
  { "trace", 't', 0, G_OPTION_ARG_FILENAME, &options.trace_file,
    "Record every event as JSON Lines (see docs/trace-format.md)", "FILE" },
  { "trace-port", 0, 0, G_OPTION_ARG_CALLBACK, trace_port_cb,
    "Serve the live trace and step controls to viewers on PORT "
    "(default 0: off; see docs/trace-format.md)", "PORT" },
  { "trace-listen", 0, 0, G_OPTION_ARG_STRING, &options.trace_listen,
    "The IP address of the trace port (default: 127.0.0.1); any other than a loopback "
    "address needs --trace-token", "ADDR" },
  { "trace-token", 0, 0, G_OPTION_ARG_STRING, &options.trace_token,
    "The token a viewer must give to attach (or set MAILSCOPE_TRACE_TOKEN). "
    "Not encryption: the trace port has no TLS", "TOKEN" },
  { "reveal-secrets", 0, 0, G_OPTION_ARG_NONE, &options.reveal_secrets,
    "Show AUTH data and passwords in the trace instead of masking them", NULL },
  { "password", 0, 0, G_OPTION_ARG_STRING, &options.password,
    "With set-password: the new password (default: read a line from stdin)", "PASSWORD" },
  { "version", 0, 0, G_OPTION_ARG_NONE, &options.version, "Print the version and exit", NULL },
  { NULL }
};

static char *
default_data_dir (gboolean demo)
{
  return g_build_filename (g_get_user_data_dir (), "mailscope", demo ? "demo" : "server", NULL);
}

static gboolean
quit_cb (gpointer user_data)
{
  GMainLoop *loop = user_data;

  g_print ("Stopping.\n");
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static gboolean
parse_route (const char *text,
             char **domain_r,
             char **host_r,
             guint16 *port_r,
             GError **error)
{
  const char *equals = strchr (text, '=');
  const char *colon = strrchr (text, ':');
  guint64 port;

  if (equals == NULL || colon == NULL || colon < equals || equals == text ||
      colon == equals + 1 ||
      !g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL))
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--route needs DOMAIN=HOST:PORT, not \"%s\"", text);
      return FALSE;
    }
  *domain_r = g_strndup (text, equals - text);
  *host_r = g_strndup (equals + 1, colon - equals - 1);
  *port_r = port;
  return TRUE;
}

static MsServer *
make_single_server (const char *data_dir,
                    MsTraceBus *bus,
                    GError **error)
{
  static const guint default_ports[MS_N_LISTENERS] = {
    2525, 2587, 2465, 2110, 2995, 2143, 2993
  };
  g_autofree char *domain = g_ascii_strdown (options.domain ? options.domain : "example.test", -1);
  g_autofree char *server_dir = g_build_filename (data_dir, domain, NULL);
  g_autoptr(MsServer) server = NULL;
  MsServerConfig config = { 0 };

  config.domain = domain;
  config.data_dir = server_dir;
  config.listen_address = options.listen;
  config.max_message_size = options.max_message_size;
  config.pop3_expire_days = options.pop3_expire_days;
  config.pop3_login_delay_s = options.pop3_login_delay_s;
  config.imap_login_needs_tls = options.imap_login_needs_tls;
  for (guint i = 0; i < MS_N_LISTENERS; i++)
    config.ports[i] = options.ports[i] >= 0 ? (guint) options.ports[i] : default_ports[i];

  server = ms_server_new (&config, bus, error);
  if (server == NULL)
    return NULL;

  for (guint i = 0; options.users != NULL && options.users[i] != NULL; i++)
    {
      const char *colon = strchr (options.users[i], ':');
      g_autofree char *name = NULL;

      if (colon == NULL || colon == options.users[i] || colon[1] == '\0')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--user needs NAME:PASSWORD, not \"%s\"", options.users[i]);
          return NULL;
        }
      name = g_strndup (options.users[i], colon - options.users[i]);
      if (!ms_server_set_password (server, name, colon + 1, error))
        return NULL;
    }

  for (guint i = 0; options.apop_secrets != NULL && options.apop_secrets[i] != NULL; i++)
    {
      const char *colon = strchr (options.apop_secrets[i], ':');
      g_autofree char *name = NULL;

      if (colon == NULL || colon == options.apop_secrets[i] || colon[1] == '\0')
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--apop-secret needs NAME:SECRET, not \"%s\"", options.apop_secrets[i]);
          return NULL;
        }
      name = g_strndup (options.apop_secrets[i], colon - options.apop_secrets[i]);
      if (!ms_server_set_apop_secret (server, name, colon + 1, error))
        {
          g_prefix_error (error, "--apop-secret %s: ", name);
          return NULL;
        }
    }
  return g_steal_pointer (&server);
}

static int
set_password (const char *data_dir,
              const char *user)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsServer) server = NULL;
  g_autofree char *password = NULL;
  g_autofree char *domain = g_ascii_strdown (options.domain ? options.domain : "example.test", -1);
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

  if (options.password != NULL)
    password = g_strdup (options.password);
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

int
main (int argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsTraceBus) bus = NULL;
  g_autoptr(MsTraceRecorder) recorder = NULL;
  g_autoptr(MsWorld) world = NULL;
  g_autoptr(MsTracePort) trace_port = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *summary = NULL;

  setlocale (LC_ALL, "");

  /* A POP3 reply holds a whole message for a moment. With glibc's defaults,
   * freeing it gives the top of the heap back to the kernel, and the next
   * reply faults it in again: on a 2-CPU VM that cost three times the copy
   * itself (bench/README.md). Keep up to 64 MiB of freed heap, and take
   * blocks up to 8 MiB from the heap rather than from a fresh mmap. */
  mallopt (M_TRIM_THRESHOLD, 64 * 1024 * 1024);
  mallopt (M_MMAP_THRESHOLD, 8 * 1024 * 1024);

  context = g_option_context_new ("[set-password USER] - the Mailscope mail server");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
    "Runs Mailscope's SMTP, POP3 and IMAP servers for one domain, or the demo world (--demo).\n"
    "\n"
    "  mailscope-server --demo\n"
    "      alpha.test (alice, carol) and beta.test (bob, dave), relaying to each other\n"
    "  mailscope-server --domain example.test --user alice:secret --trace trace.jsonl\n"
    "      one server for example.test\n"
    "  mailscope-server --domain example.test set-password alice\n"
    "      creates the user or changes its password (read from stdin or --password)");
  g_option_context_set_description (context,
    "The server listens on 127.0.0.1 unless told otherwise, and prints its ports.\n"
    "Stop it with Ctrl-C. Documentation: docs/smtp.md, docs/pop3.md, docs/imap.md and\n"
    "docs/trace-format.md.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("mailscope-server: %s\nTry \"mailscope-server --help\".\n", error->message);
      return 2;
    }
  if (options.version)
    {
      g_print ("mailscope-server %s\n", PACKAGE_VERSION);
      return 0;
    }

  data_dir = options.data_dir ? g_canonicalize_filename (options.data_dir, NULL)
                              : default_data_dir (options.demo);

  if (argc >= 2 && strcmp (argv[1], "set-password") == 0)
    {
      if (argc != 3 || options.demo)
        {
          g_printerr ("mailscope-server: usage: mailscope-server [--data-dir DIR] "
                      "[--domain DOMAIN] set-password USER\n");
          return 2;
        }
      return set_password (data_dir, argv[2]);
    }
  if (options.pop3_expire_days < 0 || options.pop3_login_delay_s < 0)
    {
      g_printerr ("mailscope-server: --pop3-expire and --pop3-login-delay cannot be negative\n");
      return 2;
    }
  if (argc > 1)
    {
      g_printerr ("mailscope-server: unexpected argument \"%s\"\n"
                  "Try \"mailscope-server --help\".\n", argv[1]);
      return 2;
    }
  if (options.demo && (options.domain != NULL || options.users != NULL ||
                       options.ports[MS_LISTENER_SMTP] >= 0 ||
                       options.ports[MS_LISTENER_SUBMISSION] >= 0 ||
                       options.ports[MS_LISTENER_SMTPS] >= 0 ||
                       options.ports[MS_LISTENER_POP3] >= 0 ||
                       options.ports[MS_LISTENER_POP3S] >= 0 ||
                       options.ports[MS_LISTENER_IMAP] >= 0 ||
                       options.ports[MS_LISTENER_IMAPS] >= 0 ||
                       options.apop_secrets != NULL))
    {
      g_printerr ("mailscope-server: --demo has its own domains, users and ports; "
                  "drop --domain, --user, --apop-secret and the --*-port flags\n");
      return 2;
    }

  bus = ms_trace_bus_new ();
  ms_trace_bus_set_reveal_secrets (bus, options.reveal_secrets);
  if (options.trace_file != NULL)
    {
      recorder = ms_trace_recorder_new (bus, options.trace_file, &error);
      if (recorder == NULL)
        {
          g_printerr ("mailscope-server: %s\n", error->message);
          return 1;
        }
    }

  if (options.demo)
    world = ms_world_new_demo (data_dir, options.listen, bus, &error);
  else
    {
      MsServer *server = make_single_server (data_dir, bus, &error);

      if (server != NULL)
        {
          world = ms_world_new (bus);
          ms_world_add_server (world, server);
        }
    }
  if (world == NULL)
    {
      g_printerr ("mailscope-server: %s\n", error->message);
      return 1;
    }

  for (guint i = 0; options.routes != NULL && options.routes[i] != NULL; i++)
    {
      g_autofree char *domain = NULL;
      g_autofree char *host = NULL;
      guint16 port;

      if (!parse_route (options.routes[i], &domain, &host, &port, &error))
        {
          g_printerr ("mailscope-server: %s\n", error->message);
          return 2;
        }
      for (guint s = 0; s < ms_world_get_servers (world)->len; s++)
        ms_server_add_route (ms_world_get_servers (world)->pdata[s], domain, host, port);
    }

  /* Before the servers listen, so that a bad --trace-listen or a missing
   * token stops us before anything is served. No viewer can attach before
   * the main loop runs. */
  if (options.trace_port > 0)
    {
      /* From the environment, the token stays out of `ps` listings. */
      if (options.trace_token == NULL)
        options.trace_token = g_strdup (g_getenv ("MAILSCOPE_TRACE_TOKEN"));
      trace_port = ms_trace_port_new (world, bus, options.trace_listen, options.trace_port,
                                      options.trace_token, &error);
      if (trace_port == NULL)
        {
          g_printerr ("mailscope-server: %s\n", error->message);
          return 1;
        }
    }
  else if (options.trace_listen != NULL || options.trace_token != NULL)
    {
      g_printerr ("mailscope-server: --trace-listen and --trace-token need --trace-port\n");
      return 2;
    }

  if (!ms_world_start (world, &error))
    {
      g_printerr ("mailscope-server: %s\n", error->message);
      return 1;
    }

  /* The state of the world before any traffic (docs/trace-format.md,
   * `snapshot`), so that a viewer (the GUI, a replay) builds every mailbox
   * from the trace alone and then applies the `store` events that follow.
   * No connection has been accepted yet: the main loop has not run. */
  if (recorder != NULL)
    for (guint s = 0; s < ms_world_get_servers (world)->len; s++)
      ms_server_emit_snapshot (ms_world_get_servers (world)->pdata[s]);

  summary = ms_world_describe (world, options.demo);
  g_print ("Mailscope %s%s\n%s", PACKAGE_VERSION, options.demo ? " demo world" : "", summary);
  if (options.trace_file != NULL)
    g_print ("Recording the trace to %s%s\n", options.trace_file,
             options.reveal_secrets ? " (secrets revealed)" : "");
  if (trace_port != NULL)
    g_print ("Trace port on %s:%u%s\n",
             options.trace_listen ? options.trace_listen : "127.0.0.1",
             ms_trace_port_get_port (trace_port),
             options.trace_token && *options.trace_token ? " (token needed)" : "");
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
