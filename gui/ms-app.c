/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope"

#include "config.h"

#include "ms-app.h"
#include "ms-main-window.h"
#include "ms-world.h"

/* How long the window gets to lay out and fill its views before
 * --screenshot renders it: the trace model announces live events every
 * MS_TRACE_MODEL_BATCH_MS, and a first frame takes a few more. */
#define MS_APP_SCREENSHOT_DELAY_MS 1500

struct _MsApp
{
  AdwApplication parent_instance;

  char *data_dir;
  char *trace_file;
  char *screenshot;
  gboolean presentation;
  int exit_status;

  MsTraceBus *bus;
  MsWorld *world;
  MsMainWindow *window;   /* borrowed: GTK holds it; a weak pointer */
};

G_DEFINE_FINAL_TYPE (MsApp, ms_app, ADW_TYPE_APPLICATION)

static const GOptionEntry entries[] = {
  { "data-dir", 'd', 0, G_OPTION_ARG_FILENAME, NULL,
    "Where the demo world's mailboxes, users and certificates live "
    "(default: $XDG_DATA_HOME/mailscope/demo, shared with mailscope-server --demo)", "DIR" },
  { "trace-file", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    "Replay a recorded trace (JSON Lines, docs/trace-format.md) instead of running "
    "the demo world; read only", "FILE" },
  { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    "Render the main window to a PNG once its views are filled, then quit", "FILE" },
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
  g_autofree char *data_dir = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("mailscope %s\n", PACKAGE_VERSION);
      return 0;
    }
  /* Filenames come as bytestrings. */
  if (g_variant_dict_lookup (options, "data-dir", "^ay", &data_dir))
    self->data_dir = g_canonicalize_filename (data_dir, NULL);
  else
    self->data_dir = g_build_filename (g_get_user_data_dir (), "mailscope", "demo", NULL);
  g_variant_dict_lookup (options, "trace-file", "^ay", &self->trace_file);
  g_variant_dict_lookup (options, "screenshot", "^ay", &self->screenshot);
  self->presentation = g_variant_dict_contains (options, "presentation");
  if (self->trace_file != NULL && data_dir != NULL)
    {
      g_printerr ("mailscope: --data-dir is for the demo world; a --trace-file replay "
                  "runs no server\n");
      return 2;
    }
  return -1;
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

static gboolean
start_demo (MsApp *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *body = NULL;
  GPtrArray *servers;

  self->bus = ms_trace_bus_new ();
  /* The window follows the bus before the world exists, so it sees the
   * folders the first run creates. */
  self->window = ms_main_window_new_for_bus (GTK_APPLICATION (self), self->bus,
                                             "demo: alpha.test + beta.test");
  g_object_add_weak_pointer (G_OBJECT (self->window), (gpointer *) &self->window);
  gtk_window_present (GTK_WINDOW (self->window));
  self->world = ms_world_new_demo (self->data_dir, NULL, self->bus, &error);
  if (self->world == NULL || !ms_world_start (self->world, &error))
    {
      body = g_strdup_printf ("%s\n\nIs another Mailscope running (mailscope, or "
                              "mailscope-server --demo)? Stop it and start again, or "
                              "replay a recorded trace with --trace-file.", error->message);
      g_clear_pointer (&self->world, ms_world_free);
      fail (self, "The demo world could not start", body);
      return FALSE;
    }
  /* The state of every mailbox before any traffic (docs/trace-format.md,
   * `snapshot`): the mailbox view is built from it and the deltas after. */
  servers = ms_world_get_servers (self->world);
  for (guint i = 0; i < servers->len; i++)
    ms_server_emit_snapshot (servers->pdata[i]);
  /* Step mode and breakpoints act on the servers themselves. */
  ms_main_window_set_world (self->window, self->world);
  summary = ms_world_describe (self->world, TRUE);
  g_print ("Mailscope %s demo world\n%s", PACKAGE_VERSION, summary);
  return TRUE;
}

static gboolean
screenshot_cb (gpointer user_data)
{
  MsApp *self = user_data;
  GtkWidget *widget = GTK_WIDGET (self->window);
  g_autoptr(GError) error = NULL;

  if (widget == NULL)
    {
      /* Closed before the delay ran out: nothing to render. */
      self->exit_status = 1;
      g_application_quit (G_APPLICATION (self));
      return G_SOURCE_REMOVE;
    }
  if (!ms_widget_save_png (widget, self->screenshot, &error))
    {
      g_printerr ("mailscope: %s\n", error->message);
      self->exit_status = 1;
    }
  else
    g_print ("Saved %s (%d×%d)\n", self->screenshot, gtk_widget_get_width (widget),
             gtk_widget_get_height (widget));
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
  else if (!start_demo (self))
    return;

  if (self->presentation)
    ms_main_window_set_presentation (self->window, TRUE);

  if (self->screenshot != NULL)
    g_timeout_add (MS_APP_SCREENSHOT_DELAY_MS, screenshot_cb, self);
}

static void
ms_app_shutdown (GApplication *application)
{
  MsApp *self = MS_APP (application);

  if (self->window != NULL)
    ms_main_window_set_world (self->window, NULL);
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
  g_clear_object (&self->bus);
  g_free (self->data_dir);
  g_free (self->trace_file);
  g_free (self->screenshot);
  G_OBJECT_CLASS (ms_app_parent_class)->finalize (object);
}

static void
ms_app_class_init (MsAppClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = ms_app_finalize;
  app_class->handle_local_options = ms_app_handle_local_options;
  app_class->activate = ms_app_activate;
  app_class->shutdown = ms_app_shutdown;
}

static void
ms_app_init (MsApp *self)
{
  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_parameter_string (G_APPLICATION (self),
                                                     "- watch mail protocols at work");
  g_application_set_option_context_summary (G_APPLICATION (self),
    "With no options, runs the demo world (alpha.test with alice and carol, beta.test\n"
    "with bob and dave; each password is the name followed by \"pw\") in this process\n"
    "and shows every command, reply and mailbox change live. The headless server is\n"
    "mailscope-server --demo; the same ports, so run one or the other.");
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
