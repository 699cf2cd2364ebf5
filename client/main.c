/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-client"

#include "config.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

#include <glib-unix.h>

#include "ms-compose.h"
#include "ms-imap-ops.h"
#include "ms-pop3-fetch.h"
#include "ms-smtp-sender.h"
#include "ms-trace-bus.h"
#include "ms-trace-recorder.h"

#define EXIT_USAGE 2
#define DEFAULT_SERVER "127.0.0.1:2587"
#define DEFAULT_SMTP_PORT 2587
#define DEFAULT_POP3_SERVER "127.0.0.1:2110"
#define DEFAULT_POP3_PORT 2110
/* The demo world's alpha.test: IMAP like 143, IMAPS like 993. */
#define DEFAULT_IMAP_PORT 2143
#define DEFAULT_IMAPS_PORT 2993

static const char summary[] =
  "Commands:\n"
  "  send    Compose a message and send it over SMTP (submission)\n"
  "  pop3    List, peek at or download mail over POP3 (list | top N LINES | fetch)\n"
  "  imap    Work with folders and messages over IMAP (folders, list, fetch, idle, ...)\n"
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

static const ConnectionHelp imap_help = {
  .user = "Log in as USER (LOGIN, or AUTHENTICATE PLAIN with --auth plain; required)",
  .starttls = "Require STARTTLS (RFC 3501 §6.2.1) before logging in; fail if it is refused",
  .tls = "Use TLS from the first byte (implicit TLS, RFC 8314), port 2993 by default",
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

/* --- imap ------------------------------------------------------------ */

typedef struct {
  GMainLoop *loop;
  MsImapOpsResult *result;
  GError *error;
  GCancellable *stop;       /* SIGINT during idle: DONE and LOGOUT */
  GCancellable *cancel;     /* a second SIGINT: drop the connection */
} ImapRun;

static void
imap_done_cb (GObject *source,
              GAsyncResult *res,
              gpointer user_data)
{
  ImapRun *run = user_data;

  run->result = ms_imap_ops_finish (res, &run->error);
  g_main_loop_quit (run->loop);
}

static gboolean
imap_sigint_cb (gpointer user_data)
{
  ImapRun *run = user_data;

  if (!g_cancellable_is_cancelled (run->stop))
    {
      g_printerr ("mailscope-client imap: stopping (DONE, LOGOUT); Ctrl-C again to drop the connection\n");
      g_cancellable_cancel (run->stop);
    }
  else
    g_cancellable_cancel (run->cancel);
  return G_SOURCE_CONTINUE;
}

static void
imap_change_cb (const char *text,
                gpointer user_data)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *stamp = g_date_time_format (now, "%H:%M:%S");

  g_print ("%s %s\n", stamp, text);
}

/* "seen" -> "\\Seen": the system flags of RFC 3501 §2.3.2 by their
 * plain names; anything else (a keyword, "$Label") as typed. */
static char *
imap_flag_name (const char *word)
{
  static const char * const system_flags[] = { "Seen", "Answered", "Flagged", "Deleted", "Draft" };

  for (guint i = 0; i < G_N_ELEMENTS (system_flags); i++)
    if (g_ascii_strcasecmp (word, system_flags[i]) == 0 ||
        (word[0] == '\\' && g_ascii_strcasecmp (word + 1, system_flags[i]) == 0))
      return g_strconcat ("\\", system_flags[i], NULL);
  return g_strdup (word);
}

static GStrv
imap_flag_names (char **words)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; words != NULL && words[i] != NULL; i++)
    {
      g_autofree char *name = imap_flag_name (words[i]);
      g_strv_builder_add (builder, name);
    }
  return g_strv_builder_end (builder);
}

/* The special-use attributes of RFC 6154 §2. */
static gboolean
imap_is_special_use (const char *attribute)
{
  static const char * const names[] = { "\\All", "\\Archive", "\\Drafts", "\\Flagged",
                                         "\\Junk", "\\Sent", "\\Trash" };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_ascii_strcasecmp (attribute, names[i]) == 0)
      return TRUE;
  return FALSE;
}

static void
imap_print_folders (const MsImapOpsResult *result)
{
  g_print ("%-3s %-30s %s\n", "sub", "folder", "attributes");
  for (guint i = 0; i < result->folders->len; i++)
    {
      const MsImapOpsFolder *folder = g_ptr_array_index (result->folders, i);
      g_autoptr(GString) special = g_string_new (NULL);
      g_autoptr(GString) other = g_string_new (NULL);

      for (guint j = 0; folder->attributes != NULL && folder->attributes[j] != NULL; j++)
        {
          GString *to = imap_is_special_use (folder->attributes[j]) ? special : other;

          g_string_append_printf (to, "%s%s", to->len ? " " : "", folder->attributes[j]);
        }
      /* Pad by characters, not bytes, so UTF-8 names line up. */
      glong chars = g_utf8_strlen (folder->name, -1);
      int pad = (int) MAX (0, 30 - chars);

      g_print ("%-3s %s%*s %s%s%s%s\n", folder->subscribed ? "[S]" : "", folder->name, pad, "",
               special->len ? "special-use " : "", special->str,
               special->len && other->len ? "; " : "", other->str);
    }
  g_print ("%u folder%s; [S] = subscribed\n", result->folders->len,
           result->folders->len == 1 ? "" : "s");
}

static void
imap_print_status (const char *name,
                   const MsImapOpsResult *result)
{
  g_print ("%s:", name);
  for (guint i = 0; result->status_items != NULL && result->status_items[i] != NULL &&
                    result->status_items[i + 1] != NULL; i += 2)
    g_print (" %s %s%s", result->status_items[i], result->status_items[i + 1],
             result->status_items[i + 2] != NULL ? "," : "");
  g_print ("\n");
}

/* Flags as short letters for the listing: S(een) A(nswered) F(lagged)
 * D(eleted) d(raft), like mutt; keywords are left out. */
static char *
imap_flag_letters (GStrv flags)
{
  char letters[6] = "-----";

  for (guint i = 0; flags != NULL && flags[i] != NULL; i++)
    {
      if (g_ascii_strcasecmp (flags[i], "\\Seen") == 0)
        letters[0] = 'S';
      else if (g_ascii_strcasecmp (flags[i], "\\Answered") == 0)
        letters[1] = 'A';
      else if (g_ascii_strcasecmp (flags[i], "\\Flagged") == 0)
        letters[2] = 'F';
      else if (g_ascii_strcasecmp (flags[i], "\\Deleted") == 0)
        letters[3] = 'D';
      else if (g_ascii_strcasecmp (flags[i], "\\Draft") == 0)
        letters[4] = 'd';
    }
  return g_strdup (letters);
}

static void
imap_print_messages (const char *folder,
                     const MsImapOpsResult *result)
{
  g_print ("%u message%s in %s\n", result->messages->len, result->messages->len == 1 ? "" : "s",
           folder);
  if (result->messages->len == 0)
    return;
  g_print ("%6s %-5s %-31s %-28s %s\n", "UID", "flags", "date", "from", "subject");
  for (guint i = 0; i < result->messages->len; i++)
    {
      const MsImapOpsMessage *message = g_ptr_array_index (result->messages, i);
      g_autofree char *letters = imap_flag_letters (message->flags);

      g_print ("%6u %-5s %-31.31s %-28.28s %s\n", message->uid, letters,
               message->date ? message->date : "-", message->from ? message->from : "-",
               message->subject ? message->subject : "");
    }
}

static void
imap_print_outcome (MsImapOp op,
                    const MsImapOpsParams *params,
                    const MsImapOpsResult *result)
{
  const char *folder = params->folder ? params->folder : "INBOX";

  switch (op)
    {
    case MS_IMAP_OP_FOLDERS:
      imap_print_folders (result);
      break;
    case MS_IMAP_OP_CREATE:
      g_print ("created \"%s\"\n", params->name);
      break;
    case MS_IMAP_OP_RENAME:
      g_print ("renamed \"%s\" to \"%s\"\n", params->name, params->new_name);
      break;
    case MS_IMAP_OP_DELETE:
      g_print ("deleted \"%s\"\n", params->name);
      break;
    case MS_IMAP_OP_SUBSCRIBE:
      g_print ("subscribed to \"%s\"\n", params->name);
      break;
    case MS_IMAP_OP_UNSUBSCRIBE:
      g_print ("unsubscribed from \"%s\"\n", params->name);
      break;
    case MS_IMAP_OP_STATUS:
      imap_print_status (params->name, result);
      break;
    case MS_IMAP_OP_LIST:
      imap_print_messages (folder, result);
      break;
    case MS_IMAP_OP_FETCH:
      if (result->body != NULL)
        print_top (result->body);
      break;
    case MS_IMAP_OP_APPEND:
      if (result->new_uid != 0)
        g_print ("appended to %s as UID %u (UIDVALIDITY %u)\n", folder, result->new_uid,
                 result->uidvalidity);
      else
        g_print ("appended to %s\n", folder);
      break;
    case MS_IMAP_OP_FLAG:
    case MS_IMAP_OP_UNFLAG:
      {
        g_autofree char *flags = result->flags ? g_strjoinv (" ", result->flags) : g_strdup ("");

        g_print ("UID %u in %s: flags now %s\n", params->uid, folder, flags[0] ? flags : "(none)");
      }
      break;
    case MS_IMAP_OP_COPY:
    case MS_IMAP_OP_MOVE:
      g_print ("%s UID %u from %s to %s", op == MS_IMAP_OP_COPY ? "copied" : "moved", params->uid,
               folder, params->name);
      if (result->dest_uids != NULL)
        g_print (" (new UID %s)", result->dest_uids);
      if (op == MS_IMAP_OP_MOVE)
        g_print (result->used_move ? " with MOVE" : " with COPY, STORE \\Deleted and EXPUNGE");
      g_print ("\n");
      break;
    case MS_IMAP_OP_EXPUNGE:
      g_print ("expunged %u message%s from %s\n", result->expunged, result->expunged == 1 ? "" : "s",
               folder);
      break;
    case MS_IMAP_OP_SEARCH:
      if (result->uids->len == 0)
        g_print ("no message in %s matches\n", folder);
      else
        {
          g_print ("%u match%s in %s, UIDs:", result->uids->len, result->uids->len == 1 ? "" : "es",
                   folder);
          for (guint i = 0; i < result->uids->len; i++)
            g_print (" %u", g_array_index (result->uids, guint32, i));
          g_print ("\n");
        }
      break;
    case MS_IMAP_OP_IDLE:
    default:
      g_print ("stopped watching %s (%u change%s)\n", folder, result->changes,
               result->changes == 1 ? "" : "s");
      break;
    }
}

static const struct {
  const char *name;
  MsImapOp op;
  guint min_args;
  guint max_args;
  const char *usage;
} imap_jobs[] = {
  { "folders", MS_IMAP_OP_FOLDERS, 0, 0, "folders" },
  { "create", MS_IMAP_OP_CREATE, 1, 1, "create NAME" },
  { "rename", MS_IMAP_OP_RENAME, 2, 2, "rename OLD NEW" },
  { "delete", MS_IMAP_OP_DELETE, 1, 1, "delete NAME" },
  { "subscribe", MS_IMAP_OP_SUBSCRIBE, 1, 1, "subscribe NAME" },
  { "unsubscribe", MS_IMAP_OP_UNSUBSCRIBE, 1, 1, "unsubscribe NAME" },
  { "status", MS_IMAP_OP_STATUS, 1, 1, "status NAME" },
  { "list", MS_IMAP_OP_LIST, 0, 0, "list [--folder F]" },
  { "fetch", MS_IMAP_OP_FETCH, 1, 1, "fetch UID [--folder F] [--peek]" },
  { "append", MS_IMAP_OP_APPEND, 0, 1, "append FILE|- [--folder F] [--flags FLAG]..." },
  { "flag", MS_IMAP_OP_FLAG, 2, G_MAXUINT, "flag UID FLAG... [--folder F]" },
  { "unflag", MS_IMAP_OP_UNFLAG, 2, G_MAXUINT, "unflag UID FLAG... [--folder F]" },
  { "copy", MS_IMAP_OP_COPY, 2, 2, "copy UID DEST [--folder F]" },
  { "move", MS_IMAP_OP_MOVE, 2, 2, "move UID DEST [--folder F]" },
  { "expunge", MS_IMAP_OP_EXPUNGE, 0, 0, "expunge [--folder F]" },
  { "search", MS_IMAP_OP_SEARCH, 1, G_MAXUINT, "search CRITERIA... [--folder F]" },
  { "idle", MS_IMAP_OP_IDLE, 0, 0, "idle [--folder F] [--timeout-idle S]" },
};

static gboolean
parse_uid (const char *text,
           guint32 *uid_r)
{
  guint64 value = 0;

  if (text == NULL || !g_ascii_string_to_unsigned (text, 10, 1, G_MAXUINT32, &value, NULL))
    return FALSE;
  *uid_r = (guint32) value;
  return TRUE;
}

/* APPEND's message: FILE, "-" for stdin, or composed from --from etc.
 * Line ends become CRLF (RFC 3501 §6.3.11 wants an RFC 5322 message). */
static GBytes *
imap_message_to_append (const char *file,
                        const MsComposeParams *compose,
                        GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  g_autoptr(GString) crlf = NULL;

  if (file == NULL)
    return ms_compose_message (compose, error);
  if (g_str_equal (file, "-"))
    {
      text = read_all_stdin (error);
      if (text == NULL)
        return NULL;
      len = strlen (text);
    }
  else if (!g_file_get_contents (file, &text, &len, error))
    return NULL;
  crlf = g_string_sized_new (len + len / 32);
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
        g_string_append_c (crlf, '\r');
      g_string_append_c (crlf, text[i]);
    }
  return g_string_free_to_bytes (g_steal_pointer (&crlf));
}

/* The search keys as one IMAP command argument list (RFC 3501 §6.4.4): each
 * command-line word is one token. A word that holds a space, a quote or a
 * backslash ("SUBJECT 'lunch plans'" gives the word "lunch plans") is sent
 * as a quoted string; keys, numbers, sets and parentheses go as they are. */
static char *
imap_search_criteria (char **words)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; words[i] != NULL; i++)
    {
      const char *word = words[i];

      if (i > 0)
        g_string_append_c (out, ' ');
      if (word[0] != '\0' && strpbrk (word, " \"\\") == NULL)
        {
          g_string_append (out, word);
          continue;
        }
      g_string_append_c (out, '"');
      for (const char *p = word; *p != '\0'; p++)
        {
          if (*p == '"' || *p == '\\')
            g_string_append_c (out, '\\');
          g_string_append_c (out, *p);
        }
      g_string_append_c (out, '"');
    }
  return g_string_free (out, FALSE);
}

static int
command_imap (int argc,
              char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  ConnectionOptions connection = { 0 };
  ConnectionTarget target = { 0 };
  g_autofree char *folder = NULL;
  gboolean peek = FALSE;
  g_auto(GStrv) flags = NULL;
  g_auto(GStrv) flag_words = NULL;
  int idle_timeout = 0;
  g_autofree char *auth = NULL;
  g_autofree char *from = NULL;
  g_auto(GStrv) to = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *body = NULL;
  g_autofree char *criteria = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(MsTraceBus) bus = NULL;
  g_autoptr(MsTraceRecorder) recorder = NULL;
  g_autoptr(GCancellable) stop = g_cancellable_new ();
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  MsImapOpsParams params = { 0 };
  ImapRun run = { 0 };
  const char *job = NULL;
  guint job_index = G_N_ELEMENTS (imap_jobs);
  guint nargs;
  guint sigint_id = 0;
  int status = EXIT_USAGE;
  const GOptionEntry entries[] = {
    { "folder", 'f', 0, G_OPTION_ARG_STRING, &folder,
      "The folder to work in (default INBOX); UTF-8, sent in modified UTF-7", "F" },
    { "peek", 0, 0, G_OPTION_ARG_NONE, &peek,
      "fetch: read without setting \\Seen (BODY.PEEK[], folder opened with EXAMINE)", NULL },
    { "flags", 0, 0, G_OPTION_ARG_STRING_ARRAY, &flags,
      "append: give the new message this flag (repeatable: seen, flagged, draft, ...)", "FLAG" },
    { "from", 0, 0, G_OPTION_ARG_STRING, &from, "append without FILE: compose, with this sender", "ADDRESS" },
    { "to", 0, 0, G_OPTION_ARG_STRING_ARRAY, &to, "append without FILE: recipient (repeatable)", "ADDRESS" },
    { "subject", 0, 0, G_OPTION_ARG_STRING, &subject, "append without FILE: subject", "TEXT" },
    { "body", 0, 0, G_OPTION_ARG_STRING, &body, "append without FILE: body text", "TEXT" },
    { "timeout-idle", 0, 0, G_OPTION_ARG_INT, &idle_timeout,
      "idle: stop after S seconds (default: until Ctrl-C)", "S" },
    { "auth", 0, 0, G_OPTION_ARG_STRING, &auth,
      "How to log in: \"login\" (LOGIN, default), \"plain\" (AUTHENTICATE PLAIN), "
      "\"any\" (PLAIN when offered)", "login|plain|any" },
    { NULL }
  };

  context = g_option_context_new ("SUBCOMMAND [ARGS...] - work with mail folders over IMAP");
  g_option_context_set_summary (context,
    "  folders              List every folder: [S] when subscribed, the special-use\n"
    "                       mark (\\Sent, \\Trash, ... RFC 6154) and other attributes.\n"
    "  create NAME          Create a folder.\n"
    "  rename OLD NEW       Rename a folder.\n"
    "  delete NAME          Delete a folder.\n"
    "  subscribe NAME       Subscribe to a folder; unsubscribe NAME undoes it.\n"
    "  status NAME          Message, recent and unseen counts, UIDNEXT, UIDVALIDITY.\n"
    "  list                 UID, flags (S=seen A=answered F=flagged D=deleted d=draft),\n"
    "                       date, sender and subject of each message (headers only).\n"
    "  fetch UID            Print the message (this sets \\Seen, unless --peek).\n"
    "  append FILE          Store the message in FILE (\"-\" for stdin) in the folder;\n"
    "                       without FILE, compose one from --from, --to, --subject, --body.\n"
    "  flag UID FLAG...     Add flags: seen, answered, flagged, deleted, draft, or a\n"
    "                       keyword such as $Label1; unflag UID FLAG... removes them.\n"
    "  copy UID DEST        Copy the message to folder DEST.\n"
    "  move UID DEST        Move it (MOVE when offered, else COPY + \\Deleted + EXPUNGE).\n"
    "  expunge              Remove the messages marked \\Deleted from the folder.\n"
    "  search CRITERIA...   UIDs of the messages matching IMAP search keys, e.g.\n"
    "                       search UNSEEN FROM alice (RFC 3501 §6.4.4).\n"
    "  idle                 Print each change to the folder as it happens (IDLE, RFC 2177)\n"
    "                       until Ctrl-C (which ends with DONE and LOGOUT) or --timeout-idle.\n"
    "\n"
    "The default server is 127.0.0.1 port 2143 (alpha.test in the demo world), or\n"
    "port 2993 with --tls.\n"
    "Exit status: 0 on success, 1 when the server refused (its NO/BAD text is shown)\n"
    "or could not be reached, 2 for usage errors.");
  g_option_context_add_main_entries (context, entries, NULL);
  connection_options_add (context, &connection, "127.0.0.1:2143, or :2993 with --tls", &imap_help);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("mailscope-client imap: %s\n", error->message);
      g_printerr ("Run \"mailscope-client imap --help\" for the options.\n");
      connection_options_clear (&connection);
      return EXIT_USAGE;
    }

  job = argc > 1 ? argv[1] : NULL;
  nargs = argc > 2 ? (guint) argc - 2 : 0;
  for (guint i = 0; job != NULL && i < G_N_ELEMENTS (imap_jobs); i++)
    if (g_str_equal (job, imap_jobs[i].name))
      job_index = i;
  if (job == NULL)
    g_printerr ("mailscope-client imap: say what to do: folders, list, fetch UID, ... (see --help)\n");
  else if (job_index == G_N_ELEMENTS (imap_jobs))
    g_printerr ("mailscope-client imap: unknown subcommand \"%s\" (see --help)\n", job);
  else if (nargs < imap_jobs[job_index].min_args || nargs > imap_jobs[job_index].max_args)
    g_printerr ("mailscope-client imap: usage: %s\n", imap_jobs[job_index].usage);
  else
    status = 0;
  if (status != 0)
    goto out;
  status = EXIT_USAGE;

  params.op = imap_jobs[job_index].op;
  switch (params.op)
    {
    case MS_IMAP_OP_RENAME:
      params.new_name = argv[3];
      G_GNUC_FALLTHROUGH;
    case MS_IMAP_OP_CREATE:
    case MS_IMAP_OP_DELETE:
    case MS_IMAP_OP_SUBSCRIBE:
    case MS_IMAP_OP_UNSUBSCRIBE:
    case MS_IMAP_OP_STATUS:
      params.name = argv[2];
      break;
    case MS_IMAP_OP_COPY:
    case MS_IMAP_OP_MOVE:
      params.name = argv[3];
      G_GNUC_FALLTHROUGH;
    case MS_IMAP_OP_FETCH:
    case MS_IMAP_OP_FLAG:
    case MS_IMAP_OP_UNFLAG:
      if (!parse_uid (argv[2], &params.uid))
        {
          g_printerr ("mailscope-client imap %s: \"%s\" is not a UID (1, 2, ...; see \"list\")\n",
                      job, argv[2]);
          goto out;
        }
      if (params.op == MS_IMAP_OP_FLAG || params.op == MS_IMAP_OP_UNFLAG)
        {
          flag_words = imap_flag_names (argv + 3);
          params.flags = (const char * const *) flag_words;
        }
      break;
    case MS_IMAP_OP_SEARCH:
      criteria = imap_search_criteria (argv + 2);
      params.criteria = criteria;
      break;
    default:
      break;
    }

  if (peek && params.op != MS_IMAP_OP_FETCH)
    g_printerr ("mailscope-client imap %s: --peek is for fetch\n", job);
  else if (idle_timeout != 0 && params.op != MS_IMAP_OP_IDLE)
    g_printerr ("mailscope-client imap %s: --timeout-idle is for idle\n", job);
  else if (idle_timeout < 0)
    g_printerr ("mailscope-client imap: --timeout-idle takes a number of seconds\n");
  else if ((flags != NULL || from != NULL || to != NULL || subject != NULL || body != NULL) &&
           params.op != MS_IMAP_OP_APPEND)
    g_printerr ("mailscope-client imap %s: --flags, --from, --to, --subject and --body are for append\n", job);
  else if (params.op == MS_IMAP_OP_APPEND && nargs == 1 &&
           (from != NULL || to != NULL || subject != NULL || body != NULL))
    g_printerr ("mailscope-client imap append: give a FILE or --from/--to/..., not both\n");
  else if (params.op == MS_IMAP_OP_APPEND && nargs == 0 && (from == NULL || to == NULL))
    g_printerr ("mailscope-client imap append: give a FILE (\"-\" for stdin), or --from and --to to compose one\n");
  else if (auth != NULL && !g_str_equal (auth, "login") && !g_str_equal (auth, "plain") &&
           !g_str_equal (auth, "any"))
    g_printerr ("mailscope-client imap: --auth is login, plain or any, not \"%s\"\n", auth);
  else if (!connection_options_resolve (&connection, connection.tls ? "127.0.0.1:2993" : "127.0.0.1:2143",
                                        connection.tls ? DEFAULT_IMAPS_PORT : DEFAULT_IMAP_PORT, &target, &error))
    g_printerr ("mailscope-client imap: %s\n", error->message);
  else if (connection.user == NULL)
    g_printerr ("mailscope-client imap: --user and --password are required\n");
  else
    status = 0;
  if (status != 0)
    goto out;

  if (params.op == MS_IMAP_OP_APPEND)
    {
      MsComposeParams compose = {
        .from = from,
        .to = (const char * const *) to,
        .subject = subject,
        .body = body,
      };

      message = imap_message_to_append (nargs == 1 ? argv[2] : NULL, &compose, &error);
      if (message == NULL)
        {
          g_printerr ("mailscope-client imap append: %s\n", error->message);
          status = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) ? EXIT_USAGE : 1;
          goto out;
        }
      flag_words = imap_flag_names (flags);
      params.flags = flags != NULL ? (const char * const *) flag_words : NULL;
    }

  if (connection.trace_path != NULL)
    {
      bus = ms_trace_bus_new ();
      recorder = ms_trace_recorder_new (bus, connection.trace_path, &error);
      if (recorder == NULL)
        {
          g_printerr ("mailscope-client imap: --trace: %s\n", error->message);
          status = 1;
          goto out;
        }
    }

  params.host = target.host;
  params.port = target.port;
  params.tls = target.tls_mode == MS_SMTP_TLS_IMPLICIT ? MS_IMAP_CLIENT_TLS_IMPLICIT
             : target.tls_mode == MS_SMTP_TLS_STARTTLS ? MS_IMAP_CLIENT_TLS_STARTTLS
             : MS_IMAP_CLIENT_TLS_NONE;
  params.auth = auth == NULL || g_str_equal (auth, "login") ? MS_IMAP_CLIENT_AUTH_LOGIN
              : g_str_equal (auth, "plain") ? MS_IMAP_CLIENT_AUTH_PLAIN
              : MS_IMAP_CLIENT_AUTH_ANY;
  params.username = connection.user;
  params.password = connection.password;
  params.folder = folder;
  params.peek = peek;
  params.message = message;
  params.idle_timeout_s = (guint) idle_timeout;
  params.stop = stop;
  params.change = imap_change_cb;
  params.timeout_s = connection.timeout_s;
  params.bus = bus;
  params.trace_server = target.host;
  params.show = connection.show ? show_line_cb : NULL;

  run.loop = g_main_loop_new (NULL, FALSE);
  run.stop = stop;
  run.cancel = cancel;
  sigint_id = g_unix_signal_add (SIGINT, imap_sigint_cb, &run);
  ms_imap_ops_async (&params, cancel, imap_done_cb, &run);
  g_main_loop_run (run.loop);
  g_source_remove (sigint_id);
  g_main_loop_unref (run.loop);

  if (run.result == NULL)
    {
      g_printerr ("mailscope-client imap: %s\n", run.error->message);
      status = g_error_matches (run.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT) ? EXIT_USAGE : 1;
      g_clear_error (&run.error);
      goto out;
    }
  if (run.result->status == MS_IMAP_CLIENT_STATUS_OK)
    {
      imap_print_outcome (params.op, &params, run.result);
      status = 0;
    }
  else
    {
      g_printerr ("mailscope-client imap %s: %s\n", job, run.result->text);
      status = 1;
    }
  g_clear_pointer (&run.result, ms_imap_ops_result_free);

  if (recorder != NULL && !ms_trace_recorder_flush (recorder, &error))
    {
      g_printerr ("mailscope-client imap: --trace: %s\n", error->message);
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
  { "imap", command_imap },
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
