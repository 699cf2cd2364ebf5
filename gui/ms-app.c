/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope"

#include "config.h"

#include <string.h>

#include "ms-app.h"
#include "ms-agent-panel.h"
#include "ms-main-window.h"
#include "ms-trace-client.h"
#include "ms-trace-port.h"
#include "ms-world-options.h"
#include "ms-world.h"

/* How long the window gets to lay out and fill its views before
 * --screenshot renders it: the trace model announces live events every
 * MS_TRACE_MODEL_BATCH_MS, and a first frame takes a few more. */
#define MS_APP_SCREENSHOT_DELAY_MS 1500

struct _MsApp
{
  AdwApplication parent_instance;

  MsWorldOptions *world_options;
  MsTracePort *trace_port;  /* --trace-port: other viewers of this world */
  gboolean show_agents;
  gboolean options_parsed;    /* the command line parsed (handle_local_options ran) */
  char *trace_file;
  char *attach;               /* HOST:PORT of a trace port */
  char *screenshot;
  gboolean presentation;
  int exit_status;

  MsTraceBus *bus;
  MsWorld *world;
  MsTraceClient *client;  /* --attach */
  GCancellable *cancellable;
  MsMainWindow *window;   /* borrowed: GTK holds it; a weak pointer */
};

G_DEFINE_FINAL_TYPE (MsApp, ms_app, ADW_TYPE_APPLICATION)

static const GOptionEntry entries[] = {
  { "trace-file", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    "Replay a recorded trace (JSON Lines, docs/trace-format.md) instead of running "
    "the demo world; read only", "FILE" },
  { "attach", 0, 0, G_OPTION_ARG_STRING, NULL,
    "Watch and step the servers of another process through its trace port "
    "(mailscope-server --trace-port N): 127.0.0.1:N, or [::1]:N. A port that needs a "
    "token gets --trace-token's, or $MAILSCOPE_TRACE_TOKEN's", "HOST:PORT" },
  { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    "Render the main window to a PNG once its views are filled, then quit", "FILE" },
  { "agents", 0, 0, G_OPTION_ARG_NONE, NULL,
    "Open the user agents panel at start (F8 toggles it)", NULL },
  { "presentation", 0, 0, G_OPTION_ARG_NONE, NULL,
    "Start in presentation mode: larger text, stronger contrast, a zoomed diagram "
    "(F11 toggles it)", NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version and exit", NULL },
  { NULL }
};

static int
ms_app_handle_local_options (GApplication *application,
                             GVariantDict *options)
{
  MsApp *self = MS_APP (application);
  g_autoptr(GError) error = NULL;

  self->options_parsed = TRUE;
  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("mailscope %s\n", PACKAGE_VERSION);
      return 0;
    }
  /* Filenames come as bytestrings. */
  g_variant_dict_lookup (options, "trace-file", "^ay", &self->trace_file);
  g_variant_dict_lookup (options, "screenshot", "^ay", &self->screenshot);
  g_variant_dict_lookup (options, "attach", "s", &self->attach);
  self->presentation = g_variant_dict_contains (options, "presentation");
  self->show_agents = g_variant_dict_contains (options, "agents");
  if (self->attach != NULL && self->trace_file != NULL)
    {
      g_printerr ("mailscope: --attach and --trace-file: choose one\n");
      return 2;
    }
  if (self->trace_file != NULL && ms_world_options_any_given (self->world_options))
    {
      g_printerr ("mailscope: a --trace-file replay runs no server: drop the server's "
                  "options (--data-dir, --config, --domain, ...)\n");
      return 2;
    }
  /* With --attach the world's options give only the token, if any. */
  if (self->trace_file == NULL && !ms_world_options_finish (self->world_options, &error))
    {
      g_printerr ("mailscope: %s\n", error->message);
      return 2;
    }
  return -1;
}

/* A command line GLib could not parse (an unknown flag, a bad port) ends
 * with status 2, as mailscope-server's and the app's own usage errors do;
 * GApplication would say 1. */
static gboolean
ms_app_local_command_line (GApplication *application,
                           char ***arguments,
                           int *exit_status)
{
  MsApp *self = MS_APP (application);
  gboolean handled;

  handled = G_APPLICATION_CLASS (ms_app_parent_class)->local_command_line (application,
                                                                           arguments,
                                                                           exit_status);
  if (handled && *exit_status == 1 && !self->options_parsed)
    *exit_status = 2;
  return handled;
}

static void
fail (MsApp *self,
      const char *heading,
      const char *body)
{
  AdwMessageDialog *dialog;

  g_printerr ("mailscope: %s: %s\n", heading, body);
  self->exit_status = 1;
  if (self->screenshot != NULL || self->window == NULL)
    {
      g_application_quit (G_APPLICATION (self));
      return;
    }
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self->window), heading, body));
  adw_message_dialog_add_response (dialog, "close", "_Close");
  g_signal_connect_swapped (dialog, "response", G_CALLBACK (gtk_window_destroy), self->window);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* The built-in user agents, one account per demo user, on the same bus:
 * their sessions show in the diagram as devices beside the servers. */
static void
add_agents (MsApp *self)
{
  g_autoptr(GListModel) accounts = ms_agent_panel_new_demo_accounts (self->world, self->bus,
                                                                     NULL);
  g_autofree char *devices_dir =
    g_build_filename (ms_world_options_get_data_dir (self->world_options), "devices", NULL);

  ms_main_window_set_agents (self->window, ms_agent_panel_new (accounts, devices_dir));
}

/* The world of the options (the demo world unless they describe another)
 * runs in this process, on this main loop, and the window follows its bus. */
static gboolean
start_world (MsApp *self)
{
  MsWorldOptions *options = self->world_options;
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *body = NULL;
  g_autofree char *domains = g_strjoinv (" + ", (char **) ms_world_options_get_domains (options));
  g_autofree char *subtitle = NULL;
  GPtrArray *servers;

  subtitle = g_strdup_printf ("%s%s", ms_world_options_is_demo (options) ? "demo: " : "",
                              domains);
  self->bus = ms_trace_bus_new ();
  /* The window follows the bus before the world exists, so it sees the
   * folders the first run creates. */
  self->window = ms_main_window_new_for_bus (GTK_APPLICATION (self), self->bus, subtitle);
  g_object_add_weak_pointer (G_OBJECT (self->window), (gpointer *) &self->window);
  gtk_window_present (GTK_WINDOW (self->window));
  self->world = ms_world_options_build_world (options, self->bus, &error);
  if (self->world != NULL && ms_world_options_get_trace_port (options) > 0)
    self->trace_port = ms_trace_port_new (self->world, self->bus,
                                          ms_world_options_get_trace_listen (options),
                                          ms_world_options_get_trace_port (options),
                                          ms_world_options_get_trace_token (options), &error);
  if (self->world == NULL || (ms_world_options_get_trace_port (options) > 0
                              && self->trace_port == NULL)
      || !ms_world_start (self->world, &error))
    {
      body = g_strdup_printf ("%s\n\nIs another Mailscope running (mailscope, or "
                              "mailscope-server)? Stop it and start again, or "
                              "replay a recorded trace with --trace-file.", error->message);
      g_clear_pointer (&self->trace_port, ms_trace_port_free);
      g_clear_pointer (&self->world, ms_world_free);
      fail (self, "The mail servers could not start", body);
      return FALSE;
    }
  /* The state of every mailbox before any traffic (docs/trace-format.md,
   * `snapshot`): the mailbox view is built from it and the deltas after. */
  servers = ms_world_get_servers (self->world);
  for (guint i = 0; i < servers->len; i++)
    ms_server_emit_snapshot (servers->pdata[i]);
  /* Step mode and breakpoints act on the servers themselves. */
  ms_main_window_set_world (self->window, self->world);
  if (ms_world_options_is_demo (options))
    add_agents (self);
  summary = ms_world_describe (self->world, ms_world_options_is_demo (options));
  g_print ("Mailscope %s%s\n%s", PACKAGE_VERSION,
           ms_world_options_is_demo (options) ? " demo world" : "", summary);
  if (self->trace_port != NULL)
    g_print ("Trace port: %s:%u\n", ms_world_options_get_trace_listen (options) ?: "127.0.0.1",
             ms_world_options_get_trace_port (options));
  return TRUE;
}

static void
client_disconnected_cb (MsTraceClient *client,
                        const char *reason,
                        MsApp *self)
{
  g_autofree char *body = g_strdup_printf ("%s\n\nThe window keeps what it saw; save it "
                                           "with Ctrl+S.", reason);

  if (self->window != NULL)
    ms_main_window_set_stepper (self->window, NULL);
  fail (self, "The trace port closed", body);
}

static void
attached_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  MsApp *self = user_data;
  g_autoptr(GError) error = NULL;

  if (!ms_trace_client_connect_finish (MS_TRACE_CLIENT (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        fail (self, "Could not attach", error->message);
      g_application_release (G_APPLICATION (self));
      return;
    }
  g_signal_connect (self->client, "disconnected", G_CALLBACK (client_disconnected_cb), self);
  if (self->window != NULL)
    ms_main_window_set_stepper (self->window, MS_STEPPER (self->client));
  g_print ("Attached to %s\n", self->attach);
  g_application_release (G_APPLICATION (self));
}

/* `--attach`: the window follows a bus that the trace client fills with
 * the remote servers' events, snapshot first (docs/trace-format.md, "The
 * trace port"); step mode goes back over the same connection. */
static void
start_attach (MsApp *self)
{
  g_autofree char *subtitle = g_strdup_printf ("attached: %s", self->attach);

  self->bus = ms_trace_bus_new ();
  self->window = ms_main_window_new_for_bus (GTK_APPLICATION (self), self->bus, subtitle);
  g_object_add_weak_pointer (G_OBJECT (self->window), (gpointer *) &self->window);
  gtk_window_present (GTK_WINDOW (self->window));
  self->client = ms_trace_client_new (self->attach,
                                      ms_world_options_get_trace_token (self->world_options),
                                      self->bus);
  self->cancellable = g_cancellable_new ();
  /* Held until the port answers, so --screenshot waits for nothing less. */
  g_application_hold (G_APPLICATION (self));
  ms_trace_client_connect_async (self->client, self->cancellable, attached_cb, self);
}

static void
save_screenshot (MsApp *self,
                 GtkWidget *widget,
                 const char *path)
{
  g_autoptr(GError) error = NULL;

  if (!ms_widget_save_png (widget, path, &error))
    {
      g_printerr ("mailscope: %s\n", error->message);
      self->exit_status = 1;
    }
  else
    g_print ("Saved %s (%d×%d)\n", path, gtk_widget_get_width (widget),
             gtk_widget_get_height (widget));
}

static gboolean
screenshot_cb (gpointer user_data)
{
  MsApp *self = user_data;
  GtkWidget *widget = GTK_WIDGET (self->window);

  if (widget == NULL)
    {
      /* Closed before the delay ran out: nothing to render. */
      self->exit_status = 1;
      g_application_quit (G_APPLICATION (self));
      return G_SOURCE_REMOVE;
    }
  save_screenshot (self, widget, self->screenshot);
  /* With --agents, their window too, as FILE-agents.png. */
  widget = ms_main_window_get_agents_window (self->window);
  if (self->show_agents && widget != NULL && gtk_widget_get_visible (widget))
    {
      g_autofree char *stem = g_strdup (self->screenshot);
      g_autofree char *path = NULL;

      if (g_str_has_suffix (stem, ".png"))
        stem[strlen (stem) - 4] = '\0';
      path = g_strdup_printf ("%s-agents.png", stem);
      save_screenshot (self, widget, path);
    }
  g_application_quit (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}

static void
ms_app_activate (GApplication *application)
{
  MsApp *self = MS_APP (application);

  if (self->window != NULL)
    {
      gtk_window_present (GTK_WINDOW (self->window));
      return;
    }
  if (self->trace_file != NULL)
    {
      g_autoptr(GError) error = NULL;

      self->window = ms_main_window_new_for_trace (GTK_APPLICATION (self), self->trace_file,
                                                   &error);
      if (self->window == NULL)
        {
          fail (self, "The trace could not be read", error->message);
          return;
        }
      g_object_add_weak_pointer (G_OBJECT (self->window), (gpointer *) &self->window);
      gtk_window_present (GTK_WINDOW (self->window));
    }
  else if (self->attach != NULL)
    start_attach (self);
  else if (!start_world (self))
    return;

  if (self->presentation)
    ms_main_window_set_presentation (self->window, TRUE);
  if (self->show_agents)
    ms_main_window_set_agents_visible (self->window, TRUE);

  if (self->screenshot != NULL)
    g_timeout_add (MS_APP_SCREENSHOT_DELAY_MS, screenshot_cb, self);
}

static void
ms_app_shutdown (GApplication *application)
{
  MsApp *self = MS_APP (application);

  if (self->window != NULL)
    ms_main_window_set_world (self->window, NULL);
  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->trace_port, ms_trace_port_free);
  if (self->client != NULL)
    g_signal_handlers_disconnect_by_func (self->client, client_disconnected_cb, self);
  if (self->world != NULL)
    {
      ms_world_stop (self->world);
      /* Let the 421 replies go out before the sockets close. */
      for (int i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
        ;
    }
  G_APPLICATION_CLASS (ms_app_parent_class)->shutdown (application);
}

static void
ms_app_finalize (GObject *object)
{
  MsApp *self = MS_APP (object);

  if (self->window != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->window), (gpointer *) &self->window);
  g_clear_pointer (&self->world, ms_world_free);
  g_clear_object (&self->client);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->bus);
  g_clear_pointer (&self->world_options, ms_world_options_free);
  g_free (self->trace_file);
  g_free (self->attach);
  g_free (self->screenshot);
  G_OBJECT_CLASS (ms_app_parent_class)->finalize (object);
}

static void
ms_app_class_init (MsAppClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = ms_app_finalize;
  app_class->local_command_line = ms_app_local_command_line;
  app_class->handle_local_options = ms_app_handle_local_options;
  app_class->activate = ms_app_activate;
  app_class->shutdown = ms_app_shutdown;
}

static void
ms_app_init (MsApp *self)
{
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  /* The server's own options (mailscope-server --help), listed by
   * --help-world: with none, the demo world. */
  self->world_options = ms_world_options_new ();
  ms_world_options_set_default_demo (self->world_options, TRUE);
  g_application_add_option_group (G_APPLICATION (self),
                                  ms_world_options_get_group (self->world_options));
  g_application_set_option_context_parameter_string (G_APPLICATION (self),
                                                     "- watch mail protocols at work");
  g_application_set_option_context_summary (G_APPLICATION (self),
    "With no options, runs the demo world (alpha.test with alice and carol, beta.test\n"
    "with bob and dave; each password is the name followed by \"pw\") in this process\n"
    "and shows every command, reply and mailbox change live. The headless server is\n"
    "mailscope-server --demo; the same ports, so run one or the other.\n"
    "\n"
    "The servers' options (--data-dir, --config FILE, --domain, --user, the ports,\n"
    "--trace-port, ...) work here as in mailscope-server: see --help-world, and\n"
    "docs/configuration.md for the config file.");
}

MsApp *
ms_app_new (void)
{
  /* Not unique: each instance runs its own world (or replay), and tests and
   * screenshots need no session bus. */
  return g_object_new (MS_TYPE_APP,
                       "application-id", MS_APP_ID,
                       "flags", G_APPLICATION_NON_UNIQUE,
                       NULL);
}

int
ms_app_run (MsApp *self,
            int argc,
            char **argv)
{
  int status = g_application_run (G_APPLICATION (self), argc, argv);

  return status != 0 ? status : self->exit_status;
}
