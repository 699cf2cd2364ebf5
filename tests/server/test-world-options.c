/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ms-smtp-sender.h"
#include "ms-world-options.h"
#include "ms-test-util.h"
#include "server-test-util.h"

/* The world's flags parsed from a fake argv through a GOptionContext, config
 * files written into a temporary directory, and worlds built from both on
 * free loopback ports. */

typedef struct {
  char *dir;
} Fixture;

static void
fixture_set_up (Fixture *fixture,
                gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("ms-test-world-options-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture,
                   gconstpointer user_data)
{
  /* Let closed connections finish their callbacks. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  ms_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

/* Parses `args` (NULL-terminated, no program name) as a command line into
 * new options; NULL with `error` set when the parse fails. */
static MsWorldOptions *
parse (const char * const *args,
       GError **error)
{
  g_autoptr(MsWorldOptions) options = ms_world_options_new ();
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;

  g_option_context_set_main_group (context, ms_world_options_get_group (options));
  g_strv_builder_add (builder, "test-world-options");
  g_strv_builder_addv (builder, (const char **) args);
  argv = g_strv_builder_end (builder);
  if (!g_option_context_parse_strv (context, &argv, error))
    return NULL;
  /* Every argument was an option. */
  g_assert_cmpuint (g_strv_length (argv), ==, 1);
  return g_steal_pointer (&options);
}

/* Parses and finishes; both must succeed. */
static MsWorldOptions *
parse_finished (const char * const *args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsWorldOptions) options = parse (args, &error);

  g_assert_no_error (error);
  ms_world_options_finish (options, &error);
  g_assert_no_error (error);
  return g_steal_pointer (&options);
}

/* Writes a config file readable by its owner only; returns its path. */
static char *
write_config (Fixture *fixture,
              const char *name,
              const char *contents)
{
  g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0600), ==, 0);
  return g_steal_pointer (&path);
}

/* `expected` with each "@FILE@" replaced by `path`. */
static char *
expand (const char *expected,
        const char *path)
{
  g_autoptr(GString) text = g_string_new (expected);

  g_string_replace (text, "@FILE@", path, 0);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* A loopback port that was free a moment ago and that this process has not
 * handed out before. */
static guint16
free_port (void)
{
  static GHashTable *given;

  if (given == NULL)
    given = g_hash_table_new (NULL, NULL);
  for (;;)
    {
      g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, NULL);
      g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
      g_autoptr(GSocketAddress) bound = NULL;
      g_autoptr(GError) error = NULL;
      guint16 port;

      g_socket_bind (socket, any, FALSE, &error);
      g_assert_no_error (error);
      bound = g_socket_get_local_address (socket, &error);
      g_assert_no_error (error);
      port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
      if (g_hash_table_add (given, GUINT_TO_POINTER (port)))
        return port;
    }
}

static MsServer *
world_server (MsWorld *world,
              const char *domain)
{
  GPtrArray *servers = ms_world_get_servers (world);

  for (guint i = 0; i < servers->len; i++)
    {
      if (strcmp (ms_server_get_domain (servers->pdata[i]), domain) == 0)
        return servers->pdata[i];
    }
  g_assert_not_reached ();
}

static void
test_flags_defaults (void)
{
  const char *args[] = { NULL };
  g_autoptr(MsWorldOptions) options = parse_finished (args);
  g_autofree char *data_dir = g_build_filename (g_get_user_data_dir (), "mailscope", "server",
                                                NULL);
  const char * const *domains = ms_world_options_get_domains (options);

  g_assert_false (ms_world_options_any_given (options));
  g_assert_false (ms_world_options_is_demo (options));
  g_assert_cmpstr (ms_world_options_get_domain (options), ==, "example.test");
  g_assert_cmpstr (ms_world_options_get_data_dir (options), ==, data_dir);
  g_assert_cmpuint (g_strv_length ((char **) domains), ==, 1);
  g_assert_cmpstr (domains[0], ==, "example.test");
  g_assert_cmpuint (ms_world_options_get_trace_port (options), ==, 0);
  g_assert_false (ms_world_options_get_reveal_secrets (options));
}

static void
test_flags_values (void)
{
  const char *args[] = {
    "--domain", "Alpha.TEST", "--data-dir", "rel/dir", "--trace-port", "4321",
    "--trace-listen", "127.0.0.2", "--trace-token", "s3cret", "--reveal-secrets", NULL
  };
  g_autoptr(MsWorldOptions) options = parse_finished (args);
  g_autofree char *data_dir = g_canonicalize_filename ("rel/dir", NULL);

  g_assert_true (ms_world_options_any_given (options));
  g_assert_false (ms_world_options_is_demo (options));
  g_assert_cmpstr (ms_world_options_get_domain (options), ==, "alpha.test");
  g_assert_cmpstr (ms_world_options_get_data_dir (options), ==, data_dir);
  g_assert_cmpuint (ms_world_options_get_trace_port (options), ==, 4321);
  g_assert_cmpstr (ms_world_options_get_trace_listen (options), ==, "127.0.0.2");
  g_assert_cmpstr (ms_world_options_get_trace_token (options), ==, "s3cret");
  g_assert_true (ms_world_options_get_reveal_secrets (options));
}

/* The GUI's default: the demo world unless a flag or a config describes
 * another. */
static void
test_flags_default_demo (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autofree char *config = write_config (fixture, "one.ini", "[server one.test]\n");
  g_autofree char *demo_dir = g_build_filename (g_get_user_data_dir (), "mailscope", "demo",
                                                NULL);
  const struct {
    const char *args[4];
    gboolean demo;
    const char *domain;
  } cases[] = {
    { { NULL }, TRUE, NULL },
    { { "--route", "x.test=127.0.0.1:9", NULL }, TRUE, NULL },
    { { "--reveal-secrets", NULL }, TRUE, NULL },
    { { "--domain", "gamma.test", NULL }, FALSE, "gamma.test" },
    { { "--user", "erin:erinpw", NULL }, FALSE, "example.test" },
    { { "--pop3-expire", "3", NULL }, FALSE, "example.test" },
    { { "--config", config, NULL }, FALSE, "one.test" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(MsWorldOptions) options = NULL;
      g_autoptr(GError) error = NULL;

      options = parse (cases[i].args, &error);
      g_assert_no_error (error);
      ms_world_options_set_default_demo (options, TRUE);
      ms_world_options_finish (options, &error);
      g_assert_no_error (error);
      g_assert_cmpint (ms_world_options_is_demo (options), ==, cases[i].demo);
      g_assert_cmpstr (ms_world_options_get_domain (options), ==, cases[i].domain);
      if (cases[i].demo)
        {
          const char * const *domains = ms_world_options_get_domains (options);

          g_assert_cmpstr (ms_world_options_get_data_dir (options), ==, demo_dir);
          g_assert_cmpuint (g_strv_length ((char **) domains), ==, 2);
          g_assert_cmpstr (domains[0], ==, ms_demo_servers[0].domain);
          g_assert_cmpstr (domains[1], ==, ms_demo_servers[1].domain);
        }
    }
}

/* A bad value fails the parse itself, naming the flag. */
static void
test_flags_bad_values (void)
{
  const struct {
    const char *args[3];
    const char *message;
  } cases[] = {
    { { "--smtp-port", "70000" },
      "--smtp-port needs a port number from 0 (off) to 65535, not \"70000\"" },
    { { "--imaps-port", "-1" },
      "--imaps-port needs a port number from 0 (off) to 65535, not \"-1\"" },
    { { "--trace-port", "http" },
      "--trace-port needs a port number from 0 (off) to 65535, not \"http\"" },
    { { "--pop3-expire", "-1" },
      "--pop3-expire needs a number from 0 to 2147483647, not \"-1\"" },
    { { "--pop3-login-delay", "5s" },
      "--pop3-login-delay needs a number from 0 to 2147483647, not \"5s\"" },
    { { "--max-message-size", "10MB" },
      "--max-message-size needs a number from 0 to 9223372036854775807, not \"10MB\"" },
    { { "--user", "alice" }, "--user needs NAME:PASSWORD, not \"alice\"" },
    { { "-u", "alice:" }, "--user needs NAME:PASSWORD, not \"alice:\"" },
    { { "--user", "al ice:pw" },
      "--user \"al ice\" is not a user name: use up to 64 letters, digits, '.', '_' and '-', "
      "not starting with '.'" },
    { { "--apop-secret", ":tanstaaf" }, "--apop-secret needs NAME:SECRET, not \":tanstaaf\"" },
    { { "--route", "beta.test=127.0.0.1" },
      "--route needs DOMAIN=HOST:PORT, not \"beta.test=127.0.0.1\"" },
    { { "--route", "beta.test=127.0.0.1:0" },
      "--route needs DOMAIN=HOST:PORT, not \"beta.test=127.0.0.1:0\"" },
    { { "--route", "=127.0.0.1:25" }, "--route needs DOMAIN=HOST:PORT, not \"=127.0.0.1:25\"" },
    { { "--route", "../x=127.0.0.1:25" }, "--route \"../x\" is not a domain name" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsWorldOptions) options = parse (cases[i].args, &error);

      g_assert_null (options);
      g_assert_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

/* Flags that parse but do not go together. */
static void
test_flags_usage_errors (void)
{
  const struct {
    const char *args[5];
    const char *message;
  } cases[] = {
    { { "--demo", "--domain", "x.test" },
      "--demo has its own domains, users and ports; "
      "drop --domain, --user, --apop-secret and the --*-port flags" },
    { { "--demo", "--user", "erin:pw" },
      "--demo has its own domains, users and ports; "
      "drop --domain, --user, --apop-secret and the --*-port flags" },
    { { "--demo", "--imaps-port", "0" },
      "--demo has its own domains, users and ports; "
      "drop --domain, --user, --apop-secret and the --*-port flags" },
    { { "--demo", "--pop3-expire", "3" },
      "--demo runs its servers with their defaults; drop --pop3-expire" },
    { { "--demo", "--imap-login-needs-tls" },
      "--demo runs its servers with their defaults; drop --imap-login-needs-tls" },
    { { "--demo", "--config", "world.ini" },
      "--demo is the built-in world; drop --config (data/demo.ini describes the same "
      "servers as a config)" },
    { { "--trace-token", "t" }, "--trace-listen and --trace-token need --trace-port" },
    { { "--trace-listen", "0.0.0.0", "--trace-port", "0" },
      "--trace-listen and --trace-token need --trace-port" },
    { { "--domain", "../etc" }, "--domain needs a domain name, not \"../etc\"" },
    { { "--domain", "a b" }, "--domain needs a domain name, not \"a b\"" },
    { { "--smtp-port", "2000", "--pop3-port", "2000" },
      "port 2000 is both example.test's smtp port and example.test's pop3 port; give each "
      "listener a port of its own (or 0 to turn it off)" },
    /* The defaults of the others: 2587 is submission's. */
    { { "--imap-port", "2587" },
      "port 2587 is both example.test's submission port and example.test's imap port; give "
      "each listener a port of its own (or 0 to turn it off)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsWorldOptions) options = parse (cases[i].args, &error);

      g_assert_no_error (error);
      g_assert_false (ms_world_options_finish (options, &error));
      g_assert_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_USAGE);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_config_good (Fixture *fixture,
                  gconstpointer user_data)
{
  g_autofree char *path = write_config (fixture, "world.ini",
    "# Two domains.\n"
    "[world]\n"
    "data-dir = data\n"
    "listen = 127.0.0.1\n"
    "trace-port = 4444\n"
    "trace-token = from\\sthe\\sfile\n"
    "reveal-secrets = true\n"
    "\n"
    "[server Alpha.test]\n"
    "smtp-port = 2525\n"
    "users = alice:alice\\;pw;carol:carolpw\n"
    "routes = beta.test=127.0.0.1:3525\n"
    "max-message-size = 1000\n"
    "pop3-expire = 0\n"
    "imap-login-needs-tls = false\n"
    "\n"
    "[server beta.test]\n"
    "smtp-port = 3525\n"
    "submission-port = 0\n"
    "smtps-port = 0\n"
    "pop3-port = 0\n"
    "pop3s-port = 0\n"
    "imap-port = 0\n"
    "imaps-port = 0\n"
    "users = bob:bobpw\n");
  const char *args[] = { "--config", path, NULL };
  g_autoptr(MsWorldOptions) options = NULL;
  g_autofree char *data_dir = g_build_filename (fixture->dir, "data", NULL);
  const char * const *domains;

  /* No token from the environment here: the file's is the one. */
  g_unsetenv ("MAILSCOPE_TRACE_TOKEN");
  options = parse_finished (args);
  domains = ms_world_options_get_domains (options);
  g_assert_false (ms_world_options_is_demo (options));
  /* Relative to the file, not to the working directory. */
  g_assert_cmpstr (ms_world_options_get_data_dir (options), ==, data_dir);
  g_assert_cmpuint (g_strv_length ((char **) domains), ==, 2);
  g_assert_cmpstr (domains[0], ==, "alpha.test");
  g_assert_cmpstr (domains[1], ==, "beta.test");
  /* Two servers and no --domain: the command line's server is none. */
  g_assert_null (ms_world_options_get_domain (options));
  g_assert_cmpuint (ms_world_options_get_trace_port (options), ==, 4444);
  g_assert_cmpstr (ms_world_options_get_trace_token (options), ==, "from the file");
  g_assert_cmpstr (ms_world_options_get_trace_listen (options), ==, NULL);
  g_assert_true (ms_world_options_get_reveal_secrets (options));
}

typedef struct {
  const char *contents;
  const char *message;        /* @FILE@ stands for the path; NULL: any message naming it */
} BadConfig;

static const BadConfig bad_configs[] = {
  { "[world]\nsmtp-port = 25\n", "@FILE@: [world] smtp-port: belongs in a [server DOMAIN] group" },
  { "[server a.test]\nlisten = 127.0.0.1\n", "@FILE@: [server a.test] listen: belongs in [world]" },
  { "[server a.test]\nsmtp_port = 25\n",
    "@FILE@: [server a.test] smtp_port: unknown key (did you mean smtp-port?)" },
  { "[server a.test]\ncolour = blue\n", "@FILE@: [server a.test] colour: unknown key" },
  { "[world]\nuser = alice:pw\n", "@FILE@: [world] user: unknown key" },
  { "[server a.test]\nsmtp-port[de] = 25\n", "@FILE@: [server a.test] smtp-port[de]: unknown key" },
  { "[servers a.test]\n", "@FILE@: [servers a.test]: unknown group; a config has a [world] "
                          "group and one [server DOMAIN] group per server" },
  { "[World]\n", "@FILE@: [World]: unknown group; a config has a [world] "
                 "group and one [server DOMAIN] group per server" },
  { "[server ../etc]\n", "@FILE@: [server ../etc]: \"../etc\" is not a domain name" },
  { "[server ]\n", "@FILE@: [server ]: \"\" is not a domain name" },
  { "[server A.test]\nsmtp-port = 1\n[server a.test]\nsmtp-port = 2\n",
    "@FILE@: [server a.test]: a second group for a.test" },
  { "[server a.test]\nsmtp-port = 99999\n",
    "@FILE@: [server a.test] smtp-port: needs a port number from 0 (off) to 65535, "
    "not \"99999\"" },
  { "[server a.test]\nsmtp-port =\n",
    "@FILE@: [server a.test] smtp-port: needs a port number from 0 (off) to 65535, not \"\"" },
  { "[world]\ntrace-port = -1\n",
    "@FILE@: [world] trace-port: needs a port number from 0 (off) to 65535, not \"-1\"" },
  { "[server a.test]\npop3-expire = -1\n",
    "@FILE@: [server a.test] pop3-expire: needs a number from 0 to 2147483647, not \"-1\"" },
  { "[server a.test]\nmax-message-size = 10MB\n",
    "@FILE@: [server a.test] max-message-size: needs a number from 0 to 9223372036854775807, "
    "not \"10MB\"" },
  { "[server a.test]\nimap-login-needs-tls = yes\n",
    "@FILE@: [server a.test] imap-login-needs-tls: needs true or false, not \"yes\"" },
  { "[world]\nreveal-secrets = maybe\n",
    "@FILE@: [world] reveal-secrets: needs true or false, not \"maybe\"" },
  { "[server a.test]\nusers = alice:alicepw;bob\n",
    "@FILE@: [server a.test] users: needs NAME:PASSWORD, not \"bob\"" },
  { "[server a.test]\nusers = .alice:pw\n",
    "@FILE@: [server a.test] users: \".alice\" is not a user name: use up to 64 letters, "
    "digits, '.', '_' and '-', not starting with '.'" },
  { "[server a.test]\napop-secrets = alice\n",
    "@FILE@: [server a.test] apop-secrets: needs NAME:SECRET, not \"alice\"" },
  { "[server a.test]\nroutes = b.test=127.0.0.1:99999\n",
    "@FILE@: [server a.test] routes: needs DOMAIN=HOST:PORT, not \"b.test=127.0.0.1:99999\"" },
  { "[world]\ndata-dir =\n", "@FILE@: [world] data-dir: needs a directory" },
  { "[server a.test]\n[server b.test]\n",
    "@FILE@: port 2525 is both a.test's smtp port and b.test's smtp port; give each listener "
    "a port of its own (or 0 to turn it off)" },
  /* GKeyFile's own complaints: the message is GLib's, after the path. */
  { "smtp-port = 25\n", NULL },
  { "[server a.test]\nthis line is no key\n", NULL },
  { "[server a.test]\nusers = alice:pw\\x\n", NULL },
};

static void
test_config_bad (Fixture *fixture,
                 gconstpointer user_data)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_configs); i++)
    {
      g_autofree char *name = g_strdup_printf ("bad-%u.ini", i);
      g_autofree char *path = write_config (fixture, name, bad_configs[i].contents);
      const char *args[] = { "--config", path, NULL };
      g_autoptr(GError) error = NULL;
      g_autoptr(MsWorldOptions) options = parse (args, &error);

      g_test_message ("config %u: %s", i, bad_configs[i].contents);
      g_assert_no_error (error);
      g_assert_false (ms_world_options_finish (options, &error));
      g_assert_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_CONFIG);
      if (bad_configs[i].message != NULL)
        {
          g_autofree char *expected = expand (bad_configs[i].message, path);

          g_assert_cmpstr (error->message, ==, expected);
        }
      else
        {
          g_autofree char *prefix = g_strconcat (path, ": ", NULL);

          g_assert_true (g_str_has_prefix (error->message, prefix));
          g_assert_cmpuint (strlen (error->message), >, strlen (prefix));
        }
    }
}

static void
test_config_missing (Fixture *fixture,
                     gconstpointer user_data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "nothere.ini", NULL);
  g_autofree char *expected = expand ("@FILE@: cannot read it: no such file", path);
  const char *args[] = { "--config", path, NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(MsWorldOptions) options = parse (args, &error);

  g_assert_no_error (error);
  g_assert_false (ms_world_options_finish (options, &error));
  g_assert_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_CONFIG);
  g_assert_cmpstr (error->message, ==, expected);
}

/* Flags that name a server the config does not settle. */
static void
test_config_flag_errors (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autofree char *path = write_config (fixture, "two.ini",
    "[server a.test]\n"
    "[server b.test]\n"
    "smtp-port = 3525\nsubmission-port = 0\nsmtps-port = 0\npop3-port = 0\n"
    "pop3s-port = 0\nimap-port = 0\nimaps-port = 0\n");
  const struct {
    const char *args[3];
    const char *message;
  } cases[] = {
    { { "--user", "erin:erinpw" },
      "--user: @FILE@ describes 2 servers; say which one with --domain" },
    { { "--smtp-port", "2600" },
      "--smtp-port: @FILE@ describes 2 servers; say which one with --domain" },
    { { "--domain", "c.test" }, "--domain c.test: @FILE@ has no [server c.test] group" },
    { { "--domain", "b.test", }, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char *args[] = { "--config", path, cases[i].args[0], cases[i].args[1], NULL };
      g_autoptr(GError) error = NULL;
      g_autoptr(MsWorldOptions) options = parse (args, &error);
      g_autofree char *expected = NULL;

      g_assert_no_error (error);
      if (cases[i].message == NULL)
        {
          g_assert_true (ms_world_options_finish (options, &error));
          g_assert_no_error (error);
          g_assert_cmpstr (ms_world_options_get_domain (options), ==, "b.test");
          continue;
        }
      expected = expand (cases[i].message, path);
      g_assert_false (ms_world_options_finish (options, &error));
      g_assert_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_USAGE);
      g_assert_cmpstr (error->message, ==, expected);
    }
}

static void
test_config_permissions (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autofree char *path = write_config (fixture, "open.ini", "[server a.test]\n");
  const char *args[] = { "--config", path, NULL };
  g_autofree char *pattern = g_strdup_printf ("%s can be read or changed by other users*",
                                              path);

  g_test_summary ("A config holds passwords in the clear: warn when others can read it, "
                  "and only then.");
  {
    g_autoptr(MsWorldOptions) options = parse_finished (args);

    g_assert_nonnull (options);
  }
  g_assert_cmpint (g_chmod (path, 0644), ==, 0);
  g_test_expect_message ("ms-world-options", G_LOG_LEVEL_WARNING, pattern);
  {
    g_autoptr(MsWorldOptions) options = parse_finished (args);

    g_assert_nonnull (options);
  }
  g_test_assert_expected_messages ();
}

/* Flags given on the command line win over the file; --user adds to the
 * file's users and overrides a password by name. */
static void
test_config_flags_win (Fixture *fixture,
                       gconstpointer user_data)
{
  guint16 file_port = free_port ();
  guint16 flag_port = free_port ();
  g_autofree char *contents = g_strdup_printf (
    "[world]\n"
    "data-dir = from-file\n"
    "trace-port = 1111\n"
    "[server one.test]\n"
    "smtp-port = %u\nsubmission-port = 0\nsmtps-port = 0\npop3-port = 0\n"
    "pop3s-port = 0\nimap-port = 0\nimaps-port = 0\n"
    "users = alice:filepw;carol:carolpw\n", file_port);
  g_autofree char *path = write_config (fixture, "one.ini", contents);
  g_autofree char *flag_dir = g_build_filename (fixture->dir, "from-flag", NULL);
  g_autofree char *port_text = g_strdup_printf ("%u", flag_port);
  const char *args[] = {
    "--config", path, "--data-dir", flag_dir, "--smtp-port", port_text, "--trace-port", "2222",
    "--user", "alice:flagpw", "--user", "erin:erinpw", NULL
  };
  g_autoptr(MsWorldOptions) options = parse_finished (args);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsWorld) world = NULL;
  g_autofree char *server_dir = g_build_filename (flag_dir, "one.test", NULL);
  MsServer *server;
  MsAuth *auth;

  g_assert_cmpstr (ms_world_options_get_data_dir (options), ==, flag_dir);
  g_assert_cmpuint (ms_world_options_get_trace_port (options), ==, 2222);
  g_assert_cmpstr (ms_world_options_get_domain (options), ==, "one.test");

  world = ms_world_options_build_world (options, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (ms_world_start (world, &error));
  g_assert_no_error (error);
  server = world_server (world, "one.test");
  g_assert_cmpstr (ms_server_get_data_dir (server), ==, server_dir);
  g_assert_cmpuint (ms_server_get_port (server, MS_LISTENER_SMTP), ==, flag_port);
  g_assert_cmpuint (ms_server_get_port (server, MS_LISTENER_POP3), ==, 0);
  auth = ms_server_get_auth (server);
  g_assert_true (ms_auth_verify (auth, "alice", "flagpw"));
  g_assert_false (ms_auth_verify (auth, "alice", "filepw"));
  g_assert_true (ms_auth_verify (auth, "carol", "carolpw"));
  g_assert_true (ms_auth_verify (auth, "erin", "erinpw"));
  ms_world_stop (world);
}

static void
sent_cb (GObject *source,
         GAsyncResult *result,
         gpointer user_data)
{
  MsSmtpSendResult **result_r = user_data;
  g_autoptr(GError) error = NULL;

  *result_r = ms_smtp_send_finish (result, &error);
  g_assert_no_error (error);
}

/* A config of two domains routing to each other, as the demo world does:
 * alice submits to bob@beta.test and the mail crosses over. */
static void
test_build_two_servers (Fixture *fixture,
                        gconstpointer user_data)
{
  guint16 alpha_smtp = free_port ();
  guint16 alpha_submission = free_port ();
  guint16 beta_smtp = free_port ();
  g_autofree char *contents = g_strdup_printf (
    "[world]\n"
    "data-dir = data\n"
    "[server alpha.test]\n"
    "smtp-port = %u\nsubmission-port = %u\nsmtps-port = 0\npop3-port = 0\n"
    "pop3s-port = 0\nimap-port = 0\nimaps-port = 0\n"
    "users = alice:alicepw\n"
    "routes = beta.test=127.0.0.1:%u\n"
    "[server beta.test]\n"
    "smtp-port = %u\nsubmission-port = 0\nsmtps-port = 0\npop3-port = 0\n"
    "pop3s-port = 0\nimap-port = 0\nimaps-port = 0\n"
    "users = bob:bobpw;dave:davepw\n"
    "routes = alpha.test=127.0.0.1:%u\n",
    alpha_smtp, alpha_submission, beta_smtp, beta_smtp, alpha_smtp);
  g_autofree char *path = write_config (fixture, "two.ini", contents);
  const char *args[] = { "--config", path, NULL };
  g_autoptr(MsWorldOptions) options = parse_finished (args);
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  g_autoptr(MsWorld) world = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsSmtpSendResult) result = NULL;
  g_autoptr(GBytes) message = NULL;
  const char *rcpt[] = { "bob@beta.test", NULL };
  static const char text[] = "From: alice@alpha.test\r\nTo: bob@beta.test\r\n"
                             "Subject: across\r\n\r\nHello Bob.\r\n";
  MsServer *alpha;
  MsServer *beta;
  MsSmtpSendParams params = {
    .host = "127.0.0.1",
    .tls = MS_SMTP_TLS_STARTTLS,
    .username = "alice",
    .password = "alicepw",
    .mail_from = "alice@alpha.test",
    .rcpt_to = rcpt,
    .timeout_s = 10,
  };

  world = ms_world_options_build_world (options, bus, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ms_world_get_servers (world)->len, ==, 2);
  g_assert_true (ms_world_start (world, &error));
  g_assert_no_error (error);
  alpha = world_server (world, "alpha.test");
  beta = world_server (world, "beta.test");
  g_assert_cmpuint (ms_server_get_port (alpha, MS_LISTENER_SMTP), ==, alpha_smtp);
  g_assert_cmpuint (ms_server_get_port (beta, MS_LISTENER_SMTP), ==, beta_smtp);
  g_assert_cmpuint (ms_server_get_port (beta, MS_LISTENER_SUBMISSION), ==, 0);
  g_assert_true (ms_auth_verify (ms_server_get_auth (beta), "dave", "davepw"));
  g_assert_false (ms_auth_has_user (ms_server_get_auth (alpha), "bob"));

  message = g_bytes_new_static (text, strlen (text));
  params.port = alpha_submission;
  params.message = message;
  ms_smtp_send_async (&params, NULL, sent_cb, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpstr (ms_smtp_send_status_to_string (result->status), ==,
                   ms_smtp_send_status_to_string (MS_SMTP_SEND_STATUS_ALL_DELIVERED));
  /* Relayed on the route of the file, into beta's store. */
  g_assert_cmpuint (ms_test_wait_for_messages (beta, "bob", 1), ==, 1);
  ms_world_stop (world);
}

/* data/demo.ini says what the built-in demo world is: the same domains,
 * ports, users and routes. */
static void
test_demo_ini (Fixture *fixture,
               gconstpointer user_data)
{
  g_autofree char *source = g_test_build_filename (G_TEST_DIST, "..", "data", "demo.ini", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(MsWorldOptions) options = NULL;
  g_autoptr(MsWorld) world = NULL;
  const char * const *domains;
  const char *args[] = { "--config", NULL, "--data-dir", fixture->dir, NULL };

  g_file_get_contents (source, &contents, NULL, &error);
  g_assert_no_error (error);
  /* A copy only its owner reads, so that no warning comes. */
  path = write_config (fixture, "demo.ini", contents);
  args[1] = path;
  options = parse_finished (args);
  domains = ms_world_options_get_domains (options);
  g_assert_cmpuint (g_strv_length ((char **) domains), ==, G_N_ELEMENTS (ms_demo_servers));

  g_key_file_load_from_data (file, contents, -1, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  world = ms_world_options_build_world (options, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (ms_demo_servers); i++)
    {
      const MsDemoServer *demo = &ms_demo_servers[i];
      const MsDemoServer *other = &ms_demo_servers[1 - i];
      g_autofree char *group = g_strconcat ("server ", demo->domain, NULL);
      g_autofree char *route = g_strdup_printf ("%s=127.0.0.1:%u", other->domain,
                                                other->ports[MS_LISTENER_SMTP]);
      g_auto(GStrv) routes = NULL;
      MsAuth *auth = ms_server_get_auth (world_server (world, demo->domain));

      g_assert_cmpstr (domains[i], ==, demo->domain);
      for (guint k = 0; k < MS_N_LISTENERS; k++)
        {
          g_autofree char *key = g_strconcat (ms_listener_kind_to_string (k), "-port", NULL);

          g_assert_cmpint (g_key_file_get_integer (file, group, key, &error), ==,
                           demo->ports[k]);
          g_assert_no_error (error);
        }
      for (guint u = 0; demo->users[u] != NULL; u++)
        {
          g_autofree char *password = g_strconcat (demo->users[u], "pw", NULL);

          g_assert_true (ms_auth_verify (auth, demo->users[u], password));
        }
      routes = g_key_file_get_string_list (file, group, "routes", NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (g_strv_length (routes), ==, 1);
      g_assert_cmpstr (routes[0], ==, route);
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/world-options/flags-defaults", test_flags_defaults);
  g_test_add_func ("/server/world-options/flags-values", test_flags_values);
  g_test_add ("/server/world-options/flags-default-demo", Fixture, NULL,
              fixture_set_up, test_flags_default_demo, fixture_tear_down);
  g_test_add_func ("/server/world-options/flags-bad-values", test_flags_bad_values);
  g_test_add_func ("/server/world-options/flags-usage-errors", test_flags_usage_errors);
  g_test_add ("/server/world-options/config-good", Fixture, NULL,
              fixture_set_up, test_config_good, fixture_tear_down);
  g_test_add ("/server/world-options/config-bad", Fixture, NULL,
              fixture_set_up, test_config_bad, fixture_tear_down);
  g_test_add ("/server/world-options/config-missing", Fixture, NULL,
              fixture_set_up, test_config_missing, fixture_tear_down);
  g_test_add ("/server/world-options/config-flag-errors", Fixture, NULL,
              fixture_set_up, test_config_flag_errors, fixture_tear_down);
  g_test_add ("/server/world-options/config-permissions", Fixture, NULL,
              fixture_set_up, test_config_permissions, fixture_tear_down);
  g_test_add ("/server/world-options/config-flags-win", Fixture, NULL,
              fixture_set_up, test_config_flags_win, fixture_tear_down);
  g_test_add ("/server/world-options/build-two-servers", Fixture, NULL,
              fixture_set_up, test_build_two_servers, fixture_tear_down);
  g_test_add ("/server/world-options/demo-ini", Fixture, NULL,
              fixture_set_up, test_demo_ini, fixture_tear_down);

  return g_test_run ();
}
