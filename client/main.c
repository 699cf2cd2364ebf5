/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-client"

#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ms-compose.h"
#include "ms-pop3-fetch.h"
#include "ms-smtp-sender.h"
#include "ms-trace-bus.h"
#include "ms-trace-recorder.h"

#define EXIT_USAGE 2
#define DEFAULT_SERVER "127.0.0.1:2587"
#define DEFAULT_SMTP_PORT 2587
#define DEFAULT_POP3_SERVER "127.0.0.1:2110"
#define DEFAULT_POP3_PORT 2110

static const char summary[] =
  "Commands:\n"
  "  send    Compose a message and send it over SMTP (submission)\n"
  "  pop3    List, peek at or download mail over POP3 (list | top N LINES | fetch)\n"
  "\n"
  "Run \"mailscope-client COMMAND --help\" for the options of a command.";

/* --- connection flags, shared by every command ----------------------- */

/* Filled by the option group of connection_options_new(). */
typedef struct {
  char *server;      /* "HOST:PORT" */
  char *user;
  char *password;
  gboolean starttls;
  gboolean tls;
  char *trace_path;
  gboolean show;
  int timeout_s;     /* 0 = the engine's default */
  char *server_help;  /* description of --server; GOption borrows it */
} ConnectionOptions;

/* What --user, --starttls and --tls mean for one protocol, for --help. */
typedef struct {
  const char *user;
  const char *starttls;
  const char *tls;
} ConnectionHelp;

static const ConnectionHelp smtp_help = {
  .user = "Log in as USER (AUTH PLAIN, or LOGIN)",
  .starttls = "Require STARTTLS (RFC 3207) before anything else; fail if it is not offered",
  .tls = "Use TLS from the first byte (implicit TLS, RFC 8314), e.g. to port 2465",
};

static const ConnectionHelp pop3_help = {
  .user = "Log in as USER (USER/PASS, or AUTH PLAIN with --auth plain; required)",
  .starttls = "Require STLS (RFC 2595) before logging in; fail if it is refused",
  .tls = "Use TLS from the first byte (implicit TLS, RFC 8314), e.g. to port 2995",
};

/* The parsed form, after connection_options_resolve(). */
typedef struct {
  char *host;
  guint16 port;
  MsSmtpTlsMode tls_mode;   /* POP3 and IMAP read NONE / STARTTLS / IMPLICIT the same way */
} ConnectionTarget;

static void
connection_options_clear (ConnectionOptions *options)
{
  g_clear_pointer (&options->server, g_free);
  g_clear_pointer (&options->user, g_free);
  if (options->password != NULL)
    memset (options->password, 0, strlen (options->password));
  g_clear_pointer (&options->password, g_free);
  g_clear_pointer (&options->trace_path, g_free);
  g_clear_pointer (&options->server_help, g_free);
}

/* Adds the options every command shares to the main group of `context`,
 * so that plain --help lists them: --server, --user, --password,
 * --starttls, --tls, --trace, --show. `default_server` is the command's
 * usual server ("127.0.0.1:2587" for submission, ":2110" for POP3, ...). */
static void
connection_options_add (GOptionContext *context,
                        ConnectionOptions *options,
                        const char *default_server,
                        const ConnectionHelp *help)
{
  /* GOption keeps pointers to the descriptions, so this one lives in `options`. */
  g_free (options->server_help);
  options->server_help = g_strdup_printf ("Server to connect to (default %s)", default_server);

  const GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &options->server, options->server_help, "HOST:PORT" },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &options->user, help->user, "USER" },
    { "password", 'p', 0, G_OPTION_ARG_STRING, &options->password, "Password for --user", "PASSWORD" },
    { "starttls", 0, 0, G_OPTION_ARG_NONE, &options->starttls, help->starttls, NULL },
    { "tls", 0, 0, G_OPTION_ARG_NONE, &options->tls, help->tls, NULL },
    { "trace", 0, 0, G_OPTION_ARG_FILENAME, &options->trace_path,
      "Record the session's events as JSON Lines in FILE", "FILE" },
    { "show", 0, 0, G_OPTION_ARG_NONE, &options->show,
      "Print the dialog as C:/S: lines (passwords masked)", NULL },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &options->timeout_s,
      "Give up after SECONDS without a reply (default 300)", "SECONDS" },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, NULL);
}

/* Checks the flags and splits --server. Returns FALSE with a message for
 * the user in `error`. */
static gboolean
connection_options_resolve (const ConnectionOptions *options,
                            const char *default_server,
                            guint16 default_port,
                            ConnectionTarget *target,
                            GError **error)
{
  g_autoptr(GSocketConnectable) address = NULL;
  const char *server = options->server ? options->server : default_server;
  guint port;

  if (options->starttls && options->tls)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--starttls and --tls exclude each other");
      return FALSE;
    }
  if (options->timeout_s < 0 || options->timeout_s > 3600)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--timeout takes 1 to 3600 seconds");
      return FALSE;
    }
  if (options->user != NULL && options->password == NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--user needs --password");
      return FALSE;
    }
  if (options->password != NULL && options->user == NULL)
    {
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           "--password needs --user");
      return FALSE;
    }

  /* Parses "host", "host:port" and "[v6]:port" without any lookup. */
  address = g_network_address_parse (server, default_port, NULL);
  if (address == NULL)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--server \"%s\" is not HOST:PORT", server);
      return FALSE;
    }
  port = g_network_address_get_port (G_NETWORK_ADDRESS (address));
  if (port == 0 || port > G_MAXUINT16)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--server \"%s\" has no valid port", server);
      return FALSE;
    }
  target->host = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (address)));
  target->port = (guint16) port;
  target->tls_mode = options->tls ? MS_SMTP_TLS_IMPLICIT
                   : options->starttls ? MS_SMTP_TLS_STARTTLS
                   : MS_SMTP_TLS_NONE;
  return TRUE;
}

/* --show: a textbook transcript on stdout. */
static void
show_line_cb (char direction,
              const char *line,
              gpointer user_data)
{
  if (direction == 'C' || direction == 'S')
    g_print ("%c: %s\n", direction, line);
  else
    g_print ("*  %s\n", line);
}

/* --- send ------------------------------------------------------------ */

typedef struct {
  GMainLoop *loop;
  MsSmtpSendResult *result;
  GError *error;
} SendRun;

static void
send_done_cb (GObject *source,
              GAsyncResult *res,
              gpointer user_data)
{
  SendRun *run = user_data;

  run->result = ms_smtp_send_finish (res, &run->error);
  g_main_loop_quit (run->loop);
}

static char *
read_all_stdin (GError **error)
{
  g_autoptr(GString) text = g_string_new (NULL);
  char buffer[8192];
  size_t n;

  while ((n = fread (buffer, 1, sizeof buffer, stdin)) > 0)
    g_string_append_len (text, buffer, (gssize) n);
  if (ferror (stdin))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "cannot read the body from stdin");
      return NULL;
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* The bare address out of "Alice <alice@alpha.test>" for the envelope. */
static char *
envelope_address (const char *text)
{
  const char *open = strrchr (text, '<');
  const char *close = open ? strchr (open, '>') : NULL;

  if (open != NULL && close != NULL)
    return g_strndup (open + 1, (gsize) (close - open - 1));
  return g_strstrip (g_strdup (text));
}

static void
report_failure (const MsSmtpSendResult *result)
{
  g_printerr ("mailscope-client: %s\n", result->text);
  for (guint i = 0; i < result->recipients->len; i++)
    {
      const MsSmtpRecipientResult *rcpt = g_ptr_array_index (result->recipients, i);

      if (rcpt->accepted)
        continue;
      if (rcpt->code == 0)
        g_printerr ("  <%s>: not tried\n", rcpt->address);
      else
        g_printerr ("  <%s>: %u%s%s %s\n", rcpt->address, rcpt->code,
                    rcpt->enhanced ? " " : "", rcpt->enhanced ? rcpt->enhanced : "", rcpt->text);
    }
}

static int
command_send (int argc,
              char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  ConnectionOptions connection = { 0 };
  ConnectionTarget target = { 0 };
  g_autofree char *from = NULL;
  g_auto(GStrv) to = NULL;
  g_auto(GStrv) cc = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *body = NULL;
  g_autofree char *body_file = NULL;
  g_auto(GStrv) attach = NULL;
  g_autofree char *helo = NULL;
  g_autofree char *body_text = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GPtrArray) envelope_to = NULL;
  g_autofree char *envelope_from = NULL;
  g_autoptr(MsTraceBus) bus = NULL;
  g_autoptr(MsTraceRecorder) recorder = NULL;
  MsSmtpSendParams params = { 0 };
  SendRun run = { 0 };
  int status;
  const GOptionEntry entries[] = {
    { "from", 'f', 0, G_OPTION_ARG_STRING, &from, "Sender, e.g. \"Alice <alice@alpha.test>\" (required)", "ADDRESS" },
    { "to", 't', 0, G_OPTION_ARG_STRING_ARRAY, &to, "Recipient (repeat for more; at least one)", "ADDRESS" },
    { "cc", 'c', 0, G_OPTION_ARG_STRING_ARRAY, &cc, "Copy recipient (repeatable)", "ADDRESS" },
    { "subject", 'S', 0, G_OPTION_ARG_STRING, &subject, "Subject line", "TEXT" },
    { "body", 'b', 0, G_OPTION_ARG_STRING, &body, "Body text (default: read from stdin)", "TEXT" },
    { "body-file", 'B', 0, G_OPTION_ARG_FILENAME, &body_file, "Read the body text from FILE", "FILE" },
    { "attach", 'a', 0, G_OPTION_ARG_FILENAME_ARRAY, &attach, "Attach FILE (repeatable)", "FILE" },
    { "helo", 0, 0, G_OPTION_ARG_STRING, &helo, "Name to give in EHLO (default: localhost)", "NAME" },
    { NULL }
  };

  context = g_option_context_new ("- compose a message and send it over SMTP");
  g_option_context_set_summary (context,
    "Builds a MIME message (attachments as multipart/mixed) and submits it. The envelope\n"
    "recipients are the --to and --cc addresses. Exit status: 0 when every recipient was\n"
    "accepted, 1 when some or all were not (or the server could not be reached), 2 for\n"
    "usage errors.");
  g_option_context_add_main_entries (context, entries, NULL);
  connection_options_add (context, &connection, DEFAULT_SERVER, &smtp_help);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("mailscope-client send: %s\n", error->message);
      g_printerr ("Run \"mailscope-client send --help\" for the options.\n");
      connection_options_clear (&connection);
      return EXIT_USAGE;
    }

  status = EXIT_USAGE;
  if (argc > 1)
    g_printerr ("mailscope-client send: unexpected argument \"%s\"\n", argv[1]);
  else if (from == NULL)
    g_printerr ("mailscope-client send: --from is required\n");
  else if (to == NULL || to[0] == NULL)
    g_printerr ("mailscope-client send: at least one --to is required\n");
  else if ((body != NULL) + (body_file != NULL) > 1)
    g_printerr ("mailscope-client send: --body and --body-file exclude each other\n");
  else if (!connection_options_resolve (&connection, DEFAULT_SERVER, DEFAULT_SMTP_PORT, &target, &error))
    g_printerr ("mailscope-client send: %s\n", error->message);
  else
    status = 0;
  if (status != 0)
    goto out;

  /* The body: --body, --body-file or stdin. */
  if (body != NULL)
    body_text = g_strdup (body);
  else if (body_file != NULL)
    {
      if (!g_file_get_contents (body_file, &body_text, NULL, &error))
        {
          g_printerr ("mailscope-client send: %s\n", error->message);
          status = EXIT_USAGE;
          goto out;
        }
    }
  else
    {
      if (isatty (STDIN_FILENO))
        g_printerr ("Type the message body, then Ctrl-D.\n");
      body_text = read_all_stdin (&error);
      if (body_text == NULL)
        {
          g_printerr ("mailscope-client send: %s\n", error->message);
          status = 1;
          goto out;
        }
    }

  {
    MsComposeParams compose = {
      .from = from,
      .to = (const char * const *) to,
      .cc = (const char * const *) cc,
      .subject = subject,
      .body = body_text,
      .attachments = (const char * const *) attach,
    };

    message = ms_compose_message (&compose, &error);
    if (message == NULL)
      {
        g_printerr ("mailscope-client send: cannot compose the message: %s\n", error->message);
        status = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) ? EXIT_USAGE : 1;
        goto out;
      }
  }

  envelope_from = envelope_address (from);
  envelope_to = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; to[i] != NULL; i++)
    g_ptr_array_add (envelope_to, envelope_address (to[i]));
  for (guint i = 0; cc != NULL && cc[i] != NULL; i++)
    g_ptr_array_add (envelope_to, envelope_address (cc[i]));
  g_ptr_array_add (envelope_to, NULL);

  if (connection.trace_path != NULL)
    {
      bus = ms_trace_bus_new ();
      recorder = ms_trace_recorder_new (bus, connection.trace_path, &error);
      if (recorder == NULL)
        {
          g_printerr ("mailscope-client send: --trace: %s\n", error->message);
          status = 1;
          goto out;
        }
    }

  params.host = target.host;
  params.port = target.port;
  params.tls = target.tls_mode;
  params.helo_name = helo;
  params.username = connection.user;
  params.password = connection.password;
  params.mail_from = envelope_from;
  params.rcpt_to = (const char * const *) envelope_to->pdata;
  params.message = message;
  params.timeout_s = connection.timeout_s;
  params.bus = bus;
  params.trace_server = target.host;
  params.show = connection.show ? show_line_cb : NULL;

  run.loop = g_main_loop_new (NULL, FALSE);
  ms_smtp_send_async (&params, NULL, send_done_cb, &run);
  g_main_loop_run (run.loop);
  g_main_loop_unref (run.loop);

  if (run.result == NULL)
    {
      g_printerr ("mailscope-client send: %s\n", run.error->message);
      status = g_error_matches (run.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) ? EXIT_USAGE : 1;
      g_clear_error (&run.error);
      goto out;
    }
  if (run.result->status == MS_SMTP_SEND_STATUS_ALL_DELIVERED)
    {
      if (!connection.show)
        g_print ("%s\n", run.result->text);
      status = 0;
    }
  else
    {
      report_failure (run.result);
      status = 1;
    }
  g_clear_pointer (&run.result, ms_smtp_send_result_free);

  if (recorder != NULL && !ms_trace_recorder_flush (recorder, &error))
    {
      g_printerr ("mailscope-client send: --trace: %s\n", error->message);
      status = 1;
    }

out:
  g_free (target.host);
  connection_options_clear (&connection);
  return status;
}

/* --- pop3 ------------------------------------------------------------ */

typedef struct {
  GMainLoop *loop;
  MsPop3FetchResult *result;
  GError *error;
} Pop3Run;

static void
pop3_done_cb (GObject *source,
              GAsyncResult *res,
              gpointer user_data)
{
  Pop3Run *run = user_data;

  run->result = ms_pop3_fetch_finish (res, &run->error);
  g_main_loop_quit (run->loop);
}

/* A message number or line count: digits only, at least `min`. */
static gboolean
parse_count (const char *text,
             guint min,
             guint *value_r)
{
  guint64 value = 0;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, min, G_MAXINT, &value, NULL))
    return FALSE;
  *value_r = (guint) value;
  return TRUE;
}

static void
print_listing (const MsPop3FetchResult *result)
{
  g_print ("%u message%s, %" G_GUINT64_FORMAT " bytes\n",
           result->count, result->count == 1 ? "" : "s", result->total_size);
  if (result->messages->len == 0)
    return;
  g_print ("%5s %10s  %s\n", "#", "size", result->have_uids ? "UIDL" : "UIDL (not supported by the server)");
  for (guint i = 0; i < result->messages->len; i++)
    {
      const MsPop3FetchMessage *message = g_ptr_array_index (result->messages, i);

      g_print ("%5u %10" G_GUINT64_FORMAT "  %s\n", message->msg, message->size,
               message->uid ? message->uid : "-");
    }
}

/* The TOP lines as they came, with local line ends. */
static void
print_top (GBytes *top)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (top, &len);

  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
        continue;
      putchar (data[i]);
    }
  fflush (stdout);
}

static int
command_pop3 (int argc,
              char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  ConnectionOptions connection = { 0 };
  ConnectionTarget target = { 0 };
  g_autofree char *mode = NULL;
  g_autofree char *into = NULL;
  g_autofree char *auth = NULL;
  g_autoptr(MsTraceBus) bus = NULL;
  g_autoptr(MsTraceRecorder) recorder = NULL;
  MsPop3FetchParams params = { 0 };
  Pop3Run run = { 0 };
  const char *job = NULL;
  int status = EXIT_USAGE;
  const GOptionEntry entries[] = {
    { "mode", 'm', 0, G_OPTION_ARG_STRING, &mode,
      "fetch: \"keep\" leaves the mail on the server and fetches only what is new (default); "
      "\"delete\" removes each message once it is saved", "keep|delete" },
    { "into", 'i', 0, G_OPTION_ARG_FILENAME, &into,
      "fetch: the local Maildir to save into (default ./Maildir; made when missing)", "DIR" },
    { "auth", 0, 0, G_OPTION_ARG_STRING, &auth,
      "How to log in: \"user\" (USER/PASS, default), \"plain\" (AUTH PLAIN, RFC 5034), "
      "\"any\" (AUTH PLAIN when offered)", "user|plain|any" },
    { NULL }
  };

  context = g_option_context_new ("list | top N LINES | fetch - read mail over POP3");
  g_option_context_set_summary (context,
    "  list          STAT, LIST and UIDL: each message's number, size and unique id.\n"
    "  top N LINES   The header and the first LINES body lines of message N (TOP;\n"
    "                LINES 0 for the header alone). Nothing changes on the server.\n"
    "  fetch         Save every message into a local Maildir (DIR/new), each one\n"
    "                written and synced to disk before anything else happens to it\n"
    "                on the server. --mode delete then marks it with DELE, and QUIT\n"
    "                at the end removes the marked messages (RFC 1939 §6); if the\n"
    "                session breaks first, nothing is removed. --mode keep leaves\n"
    "                the mail there; DIR/.mailscope-pop3-state remembers the UIDLs\n"
    "                already downloaded, so the next run fetches only new mail, and\n"
    "                another DIR (another \"device\") gets every message again.\n"
    "\n"
    "Exit status: 0 on success, 1 when the server or the transfer failed (a\n"
    "refused login, a lost connection, a disk error), 2 for usage errors.");
  g_option_context_add_main_entries (context, entries, NULL);
  connection_options_add (context, &connection, DEFAULT_POP3_SERVER, &pop3_help);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("mailscope-client pop3: %s\n", error->message);
      g_printerr ("Run \"mailscope-client pop3 --help\" for the options.\n");
      connection_options_clear (&connection);
      return EXIT_USAGE;
    }

  job = argc > 1 ? argv[1] : NULL;
  if (job == NULL)
    g_printerr ("mailscope-client pop3: say what to do: list, top N LINES or fetch\n");
  else if (g_str_equal (job, "list") || g_str_equal (job, "fetch"))
    {
      params.job = g_str_equal (job, "list") ? MS_POP3_FETCH_JOB_LIST : MS_POP3_FETCH_JOB_FETCH;
      if (argc > 2)
        g_printerr ("mailscope-client pop3 %s: unexpected argument \"%s\"\n", job, argv[2]);
      else
        status = 0;
    }
  else if (g_str_equal (job, "top"))
    {
      params.job = MS_POP3_FETCH_JOB_TOP;
      if (argc != 4)
        g_printerr ("mailscope-client pop3 top: give a message number and a line count: top N LINES\n");
      else if (!parse_count (argv[2], 1, &params.top_msg))
        g_printerr ("mailscope-client pop3 top: \"%s\" is not a message number (1, 2, ...)\n", argv[2]);
      else if (!parse_count (argv[3], 0, &params.top_lines))
        g_printerr ("mailscope-client pop3 top: \"%s\" is not a line count (0, 1, ...)\n", argv[3]);
      else
        status = 0;
    }
  else
    g_printerr ("mailscope-client pop3: unknown job \"%s\": list, top N LINES or fetch\n", job);
  if (status != 0)
    goto out;
  status = EXIT_USAGE;

  if ((mode != NULL || into != NULL) && params.job != MS_POP3_FETCH_JOB_FETCH)
    g_printerr ("mailscope-client pop3 %s: --mode and --into are for fetch\n", job);
  else if (mode != NULL && !g_str_equal (mode, "keep") && !g_str_equal (mode, "delete"))
    g_printerr ("mailscope-client pop3: --mode is keep or delete, not \"%s\"\n", mode);
  else if (auth != NULL && !g_str_equal (auth, "user") && !g_str_equal (auth, "plain") &&
           !g_str_equal (auth, "any"))
    g_printerr ("mailscope-client pop3: --auth is user, plain or any, not \"%s\"\n", auth);
  else if (!connection_options_resolve (&connection, DEFAULT_POP3_SERVER, DEFAULT_POP3_PORT, &target, &error))
    g_printerr ("mailscope-client pop3: %s\n", error->message);
  else if (connection.user == NULL)
    g_printerr ("mailscope-client pop3: --user and --password are required\n");
  else
    status = 0;
  if (status != 0)
    goto out;

  if (connection.trace_path != NULL)
    {
      bus = ms_trace_bus_new ();
      recorder = ms_trace_recorder_new (bus, connection.trace_path, &error);
      if (recorder == NULL)
        {
          g_printerr ("mailscope-client pop3: --trace: %s\n", error->message);
          status = 1;
          goto out;
        }
    }

  params.host = target.host;
  params.port = target.port;
  params.tls = target.tls_mode == MS_SMTP_TLS_IMPLICIT ? MS_POP3_CLIENT_TLS_IMPLICIT
             : target.tls_mode == MS_SMTP_TLS_STARTTLS ? MS_POP3_CLIENT_TLS_STLS
             : MS_POP3_CLIENT_TLS_NONE;
  params.auth = auth == NULL || g_str_equal (auth, "user") ? MS_POP3_CLIENT_AUTH_USER
              : g_str_equal (auth, "plain") ? MS_POP3_CLIENT_AUTH_PLAIN
              : MS_POP3_CLIENT_AUTH_ANY;
  params.username = connection.user;
  params.password = connection.password;
  params.mode = mode != NULL && g_str_equal (mode, "delete") ? MS_POP3_FETCH_MODE_DELETE
                                                             : MS_POP3_FETCH_MODE_KEEP;
  params.maildir = into != NULL ? into : "Maildir";
  params.timeout_s = connection.timeout_s;
  params.bus = bus;
  params.trace_server = target.host;
  params.show = connection.show ? show_line_cb : NULL;

  run.loop = g_main_loop_new (NULL, FALSE);
  ms_pop3_fetch_async (&params, NULL, pop3_done_cb, &run);
  g_main_loop_run (run.loop);
  g_main_loop_unref (run.loop);

  if (run.result == NULL)
    {
      g_printerr ("mailscope-client pop3: %s\n", run.error->message);
      status = g_error_matches (run.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) ? EXIT_USAGE : 1;
      g_clear_error (&run.error);
      goto out;
    }

  switch (params.job)
    {
    case MS_POP3_FETCH_JOB_LIST:
      if (run.result->status == MS_POP3_CLIENT_STATUS_OK)
        print_listing (run.result);
      break;
    case MS_POP3_FETCH_JOB_TOP:
      if (run.result->top != NULL)
        print_top (run.result->top);
      break;
    case MS_POP3_FETCH_JOB_FETCH:
    default:
      /* Also after a failure: what was saved is saved. */
      if (run.result->saved > 0 || run.result->status == MS_POP3_CLIENT_STATUS_OK)
        {
          g_autofree char *summary_text = ms_pop3_fetch_result_summary (run.result, params.mode);
          g_print ("%s\n", summary_text);
        }
      break;
    }

  status = run.result->status == MS_POP3_CLIENT_STATUS_OK && run.result->local_error == NULL ? 0 : 1;
  if (run.result->status != MS_POP3_CLIENT_STATUS_OK)
    g_printerr ("mailscope-client pop3: %s\n", run.result->text);
  if (run.result->local_error != NULL &&
      (run.result->text == NULL || strstr (run.result->text, run.result->local_error) == NULL))
    g_printerr ("mailscope-client pop3: %s\n", run.result->local_error);
  g_clear_pointer (&run.result, ms_pop3_fetch_result_free);

  if (recorder != NULL && !ms_trace_recorder_flush (recorder, &error))
    {
      g_printerr ("mailscope-client pop3: --trace: %s\n", error->message);
      status = 1;
    }

out:
  g_free (target.host);
  connection_options_clear (&connection);
  return status;
}

/* --- dispatch -------------------------------------------------------- */

typedef struct {
  const char *name;
  int (*run) (int argc, char **argv);
} Command;

static const Command commands[] = {
  { "send", command_send },
  { "pop3", command_pop3 },
};

int
main (int argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;

  setlocale (LC_ALL, "");

  if (argc >= 2 && argv[1][0] != '-')
    {
      for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
        if (g_str_equal (argv[1], commands[i].name))
          {
            g_autofree char *prgname = g_strdup_printf ("mailscope-client %s", commands[i].name);

            g_set_prgname (prgname);
            /* The command sees itself as argv[0]. */
            return commands[i].run (argc - 1, argv + 1);
          }
      g_printerr ("mailscope-client: unknown command \"%s\"\n\n%s\n", argv[1], summary);
      return EXIT_USAGE;
    }

  /* No command: only --help and --version make sense here. */
  {
    gboolean version = FALSE;
    const GOptionEntry entries[] = {
      { "version", 0, 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
      { NULL }
    };

    context = g_option_context_new ("COMMAND [OPTIONS...] - Mailscope's mail client");
    g_option_context_set_summary (context, summary);
    g_option_context_add_main_entries (context, entries, NULL);
    if (!g_option_context_parse (context, &argc, &argv, &error))
      {
        g_printerr ("mailscope-client: %s\n", error->message);
        return EXIT_USAGE;
      }
    if (version)
      {
        g_print ("mailscope-client %s\n", PACKAGE_VERSION);
        return 0;
      }
    g_printerr ("mailscope-client: no command given\n\n%s\n", summary);
    return EXIT_USAGE;
  }
}
