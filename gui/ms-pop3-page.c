/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-pop3-page"

#include "config.h"

#include <errno.h>
#include <glib/gstdio.h>

#include "ms-agent-panel.h"
#include "ms-message.h"
#include "ms-pop3-page.h"

/* A fetch of a lecture's mailbox takes a second; a dead server should be
 * reported while the class still looks. */
#define POP3_TIMEOUT_S 20
/* The device's table shows at most this many messages (a demo Maildir). */
#define MAX_LISTED 1000
/* The server's listing in the status line names at most this many. */
#define MAX_LISTING_NAMED 8

/* --- MsDeviceMessage ------------------------------------------------- */

struct _MsDeviceMessage
{
  GObject parent_instance;

  char *path;
  char *from;
  char *subject;
  guint64 size;
};

G_DEFINE_FINAL_TYPE (MsDeviceMessage, ms_device_message, G_TYPE_OBJECT)

static void
ms_device_message_finalize (GObject *object)
{
  MsDeviceMessage *self = MS_DEVICE_MESSAGE (object);

  g_free (self->path);
  g_free (self->from);
  g_free (self->subject);
  G_OBJECT_CLASS (ms_device_message_parent_class)->finalize (object);
}

static void
ms_device_message_class_init (MsDeviceMessageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ms_device_message_finalize;
}

static void
ms_device_message_init (MsDeviceMessage *self)
{
}

/* Reads the header of the Maildir file at `path`: only its header block,
 * and no more than MS_MESSAGE_SUMMARY_MAX_HEADER of it. NULL when the file
 * cannot be read (it went away meanwhile, say). */
static MsDeviceMessage *
ms_device_message_new_for_file (const char *path)
{
  g_autoptr(GMappedFile) file = g_mapped_file_new (path, FALSE, NULL);
  MsDeviceMessage *self;
  const guint8 *data;
  gsize len;

  if (file == NULL)
    return NULL;
  self = g_object_new (MS_TYPE_DEVICE_MESSAGE, NULL);
  self->path = g_strdup (path);
  data = (const guint8 *) g_mapped_file_get_contents (file);
  len = g_mapped_file_get_length (file);
  self->size = len;
  if (data != NULL && len > 0)
    {
      gsize header = ms_message_header_length (data, MIN (len, MS_MESSAGE_SUMMARY_MAX_HEADER));

      ms_message_summary (data, header, &self->subject, &self->from, NULL);
    }
  if (self->from == NULL)
    self->from = g_strdup ("");
  if (self->subject == NULL)
    self->subject = g_strdup ("");
  return self;
}

const char *
ms_device_message_get_from (MsDeviceMessage *self)
{
  g_return_val_if_fail (MS_IS_DEVICE_MESSAGE (self), NULL);
  return self->from;
}

const char *
ms_device_message_get_subject (MsDeviceMessage *self)
{
  g_return_val_if_fail (MS_IS_DEVICE_MESSAGE (self), NULL);
  return self->subject;
}

guint64
ms_device_message_get_size (MsDeviceMessage *self)
{
  g_return_val_if_fail (MS_IS_DEVICE_MESSAGE (self), 0);
  return self->size;
}

const char *
ms_device_message_get_path (MsDeviceMessage *self)
{
  g_return_val_if_fail (MS_IS_DEVICE_MESSAGE (self), NULL);
  return self->path;
}

/* --- MsPop3Page ------------------------------------------------------ */

struct _MsPop3Page
{
  GtkWidget parent_instance;

  GtkLabel *device_label;
  GtkCheckButton *keep_check;
  GtkCheckButton *delete_check;
  GtkCheckButton *tls_check;
  GtkButton *fetch_button;
  GtkButton *list_button;
  GtkSpinner *spinner;
  GtkLabel *status_label;
  GtkColumnView *column_view;

  char *devices_dir;
  MsAgentAccount *account;
  char *device_path;          /* <devices_dir>/<slug of the account's device> */
  GListStore *messages;       /* of MsDeviceMessage */
  GCancellable *cancellable;  /* the running job, or NULL */
  MsPop3FetchJob job;         /* what the running job does */
  MsPop3FetchMode job_mode;
};

G_DEFINE_FINAL_TYPE (MsPop3Page, ms_pop3_page, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
update_sensitivity (MsPop3Page *self)
{
  gboolean can_run = self->cancellable == NULL && self->account != NULL;

  gtk_widget_set_sensitive (GTK_WIDGET (self->fetch_button), can_run);
  gtk_widget_set_sensitive (GTK_WIDGET (self->list_button), can_run);
}

static void
set_busy (MsPop3Page *self,
          GCancellable *cancellable)
{
  g_set_object (&self->cancellable, cancellable);
  update_sensitivity (self);
  _ms_agent_page_show_running (self->spinner, cancellable != NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Adds the messages of DIR/new and DIR/cur, oldest first: Maildir file
 * names begin with the delivery time. */
static void
list_maildir (const char *maildir,
              GPtrArray *paths)
{
  static const char * const subdirs[] = { "cur", "new" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir_path = g_build_filename (maildir, subdirs[i], NULL);
      g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL && paths->len < MAX_LISTED)
        {
          g_autofree char *path = g_build_filename (dir_path, name, NULL);

          /* Maildir hides nothing under a dot but editors' leftovers. */
          if (name[0] != '.' && g_file_test (path, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (paths, g_steal_pointer (&path));
        }
    }
}

static int
compare_basenames (gconstpointer a,
                   gconstpointer b)
{
  g_autofree char *name_a = g_path_get_basename (*(const char * const *) a);
  g_autofree char *name_b = g_path_get_basename (*(const char * const *) b);

  return g_strcmp0 (name_a, name_b);
}

void
ms_pop3_page_refresh (MsPop3Page *self)
{
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

  g_return_if_fail (MS_IS_POP3_PAGE (self));

  if (self->device_path != NULL)
    list_maildir (self->device_path, paths);
  g_ptr_array_sort (paths, compare_basenames);
  for (guint i = 0; i < paths->len; i++)
    {
      MsDeviceMessage *item = ms_device_message_new_for_file (paths->pdata[i]);

      if (item != NULL)
        g_ptr_array_add (items, item);
    }
  g_list_store_splice (self->messages, 0, g_list_model_get_n_items (G_LIST_MODEL (self->messages)),
                       items->pdata, items->len);
}

void
ms_pop3_page_set_account (MsPop3Page *self,
                          MsAgentAccount *account)
{
  g_autofree char *text = NULL;

  g_return_if_fail (MS_IS_POP3_PAGE (self));
  g_return_if_fail (account == NULL || MS_IS_AGENT_ACCOUNT (account));

  g_set_object (&self->account, account);
  g_clear_pointer (&self->device_path, g_free);
  if (account != NULL)
    {
      g_autofree char *slug = ms_agent_panel_device_slug (ms_agent_account_get_device (account));

      self->device_path = g_build_filename (self->devices_dir, slug, NULL);
      text = g_strdup_printf ("%s keeps its mail in %s", ms_agent_account_get_device (account),
                              self->device_path);
    }
  gtk_label_set_text (self->device_label, text != NULL ? text : "");
  update_sensitivity (self);
  ms_pop3_page_refresh (self);
}

MsAgentAccount *
ms_pop3_page_get_account (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), NULL);
  return self->account;
}

const char *
ms_pop3_page_get_device_path (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), NULL);
  return self->device_path;
}

void
ms_pop3_page_set_mode (MsPop3Page *self,
                       MsPop3FetchMode mode)
{
  g_return_if_fail (MS_IS_POP3_PAGE (self));
  gtk_check_button_set_active (mode == MS_POP3_FETCH_MODE_DELETE ? self->delete_check
                                                                 : self->keep_check, TRUE);
}

MsPop3FetchMode
ms_pop3_page_get_mode (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), MS_POP3_FETCH_MODE_KEEP);
  return gtk_check_button_get_active (self->delete_check) ? MS_POP3_FETCH_MODE_DELETE
                                                          : MS_POP3_FETCH_MODE_KEEP;
}

/* What went wrong in the session, in words; NULL when nothing did. */
static char *
describe_failure (const MsPop3FetchResult *result)
{
  static const char * const what[] = {
    [MS_POP3_CLIENT_STATUS_OK] = NULL,
    [MS_POP3_CLIENT_STATUS_TEMP_FAILURE] = "the server could not be reached or gave up",
    [MS_POP3_CLIENT_STATUS_AUTH_FAILURE] = "the login was refused",
    [MS_POP3_CLIENT_STATUS_SERVER_ERROR] = "the server refused",
    [MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR] = "the server broke the protocol",
    [MS_POP3_CLIENT_STATUS_TLS_FAILURE] = "encryption failed",
    [MS_POP3_CLIENT_STATUS_ABORTED] = "the device gave up",
  };
  const char *reason;

  if (result->local_error != NULL)
    return g_strdup_printf ("the device could not save the mail: %s", result->local_error);
  if (result->status == MS_POP3_CLIENT_STATUS_OK)
    return NULL;
  /* The client's text says it in words already ("the server refused the
   * login as bob: -ERR ..."); the general reason only stands in for it. */
  if (result->text != NULL && *result->text != '\0')
    return g_strdup (result->text);
  reason = result->status < G_N_ELEMENTS (what) && what[result->status] != NULL
           ? what[result->status] : "the session failed";
  return g_strdup (reason);
}

static char *
describe_listing (MsPop3Page *self,
                  const MsPop3FetchResult *result)
{
  g_autoptr(GString) text = g_string_new (NULL);
  g_autofree char *total = g_format_size (result->total_size);
  guint n = result->messages != NULL ? result->messages->len : 0;

  g_string_append_printf (text, "On %s, %s has %u message%s (%s)",
                          ms_agent_account_get_server (self->account),
                          ms_agent_account_get_user (self->account), result->count,
                          result->count == 1 ? "" : "s", total);
  for (guint i = 0; i < n && i < MAX_LISTING_NAMED; i++)
    {
      const MsPop3FetchMessage *message = result->messages->pdata[i];
      g_autofree char *size = g_format_size (message->size);

      g_string_append_printf (text, "%s#%u %s", i == 0 ? ": " : ", ", message->msg, size);
    }
  if (n > MAX_LISTING_NAMED)
    g_string_append_printf (text, ", … (%u more)", n - MAX_LISTING_NAMED);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
job_done_cb (GObject *source,
             GAsyncResult *res,
             gpointer user_data)
{
  g_autoptr(MsAgentJob) job = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsPop3FetchResult) result = ms_pop3_fetch_finish (res, &error);
  MsPop3Page *self = (MsPop3Page *) _ms_agent_job_get_page (job);
  g_autofree char *failure = NULL;
  g_autofree char *text = NULL;

  if (self == NULL)
    return;
  set_busy (self, NULL);
  if (result == NULL)
    {
      text = g_strdup_printf ("Nothing done: %s", error->message);
      _ms_agent_status_show (self->status_label, MS_AGENT_STATUS_ERROR, text);
      return;
    }

  failure = describe_failure (result);
  if (self->job == MS_POP3_FETCH_JOB_FETCH)
    {
      g_autofree char *summary = ms_pop3_fetch_result_summary (result, self->job_mode);

      /* Whatever was saved before a failure is on the device: show both. */
      ms_pop3_page_refresh (self);
      if (failure == NULL)
        text = g_strdup_printf ("Fetched: %s", summary);
      else if (result->saved > 0)
        text = g_strdup_printf ("Failed: %s. %s", failure, summary);
      else
        text = g_strdup_printf ("Failed: %s", failure);
    }
  else if (failure == NULL)
    text = describe_listing (self, result);
  else
    text = g_strdup_printf ("Failed: %s", failure);
  _ms_agent_status_show (self->status_label,
                         failure == NULL ? MS_AGENT_STATUS_OK : MS_AGENT_STATUS_ERROR, text);
}

static void
start_job (MsPop3Page *self,
           MsPop3FetchJob kind)
{
  g_autoptr(GCancellable) cancellable = NULL;
  g_autofree char *text = NULL;
  MsAgentAccount *account = self->account;
  MsPop3FetchParams params = { 0 };

  if (self->cancellable != NULL || account == NULL)
    return;

  if (kind == MS_POP3_FETCH_JOB_FETCH
      && g_mkdir_with_parents (self->devices_dir, 0700) != 0)
    {
      text = g_strdup_printf ("Failed: cannot make %s: %s", self->devices_dir,
                              g_strerror (errno));
      _ms_agent_status_show (self->status_label, MS_AGENT_STATUS_ERROR, text);
      return;
    }

  params.host = ms_agent_account_get_host (account);
  params.port = ms_agent_account_get_pop3_port (account);
  /* RFC 2595 §4: STLS before the password, when asked for. */
  params.tls = gtk_check_button_get_active (self->tls_check) ? MS_POP3_CLIENT_TLS_STLS
                                                             : MS_POP3_CLIENT_TLS_NONE;
  /* USER and PASS (RFC 1939 §7): the classic login, plain on the diagram. */
  params.auth = MS_POP3_CLIENT_AUTH_USER;
  params.username = ms_agent_account_get_user (account);
  params.password = ms_agent_account_get_password (account);
  params.job = kind;
  params.mode = ms_pop3_page_get_mode (self);
  params.maildir = self->device_path;
  params.timeout_s = POP3_TIMEOUT_S;
  params.bus = ms_agent_account_get_bus (account);
  params.trace_server = ms_agent_account_get_device (account);

  cancellable = g_cancellable_new ();
  /* The callback reports the job it ran, not what the buttons say then. */
  self->job = kind;
  self->job_mode = params.mode;
  set_busy (self, cancellable);
  text = g_strdup_printf ("%s %s at %s:%u…",
                          kind == MS_POP3_FETCH_JOB_FETCH ? "Fetching the mail of"
                                                          : "Listing the mail of",
                          params.username, params.host, params.port);
  _ms_agent_status_show (self->status_label, MS_AGENT_STATUS_NONE, text);
  ms_pop3_fetch_async (&params, cancellable, job_done_cb,
                       _ms_agent_job_new (GTK_WIDGET (self), cancellable));
}

void
ms_pop3_page_fetch (MsPop3Page *self)
{
  g_return_if_fail (MS_IS_POP3_PAGE (self));
  start_job (self, MS_POP3_FETCH_JOB_FETCH);
}

void
ms_pop3_page_list_server (MsPop3Page *self)
{
  g_return_if_fail (MS_IS_POP3_PAGE (self));
  start_job (self, MS_POP3_FETCH_JOB_LIST);
}

GListModel *
ms_pop3_page_get_messages (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), NULL);
  return G_LIST_MODEL (self->messages);
}

gboolean
ms_pop3_page_get_busy (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), FALSE);
  return self->cancellable != NULL;
}

const char *
ms_pop3_page_get_status (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), NULL);
  return gtk_label_get_text (self->status_label);
}

GtkButton *
ms_pop3_page_get_fetch_button (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), NULL);
  return self->fetch_button;
}

GtkButton *
ms_pop3_page_get_list_button (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), NULL);
  return self->list_button;
}

GtkCheckButton *
ms_pop3_page_get_keep_check (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), NULL);
  return self->keep_check;
}

GtkCheckButton *
ms_pop3_page_get_delete_check (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), NULL);
  return self->delete_check;
}

GtkColumnView *
ms_pop3_page_get_column_view (MsPop3Page *self)
{
  g_return_val_if_fail (MS_IS_POP3_PAGE (self), NULL);
  return self->column_view;
}

static void
fetch_clicked_cb (GtkButton *button,
                  MsPop3Page *self)
{
  ms_pop3_page_fetch (self);
}

static void
list_clicked_cb (GtkButton *button,
                 MsPop3Page *self)
{
  ms_pop3_page_list_server (self);
}

static void
ms_pop3_page_dispose (GObject *object)
{
  MsPop3Page *self = MS_POP3_PAGE (object);

  /* A job still running reports to nobody (see MsAgentJob). */
  _ms_agent_page_dispose (GTK_WIDGET (self), &self->cancellable);
  g_clear_object (&self->account);
  G_OBJECT_CLASS (ms_pop3_page_parent_class)->dispose (object);
}

static void
ms_pop3_page_finalize (GObject *object)
{
  MsPop3Page *self = MS_POP3_PAGE (object);

  g_free (self->devices_dir);
  g_free (self->device_path);
  g_clear_object (&self->messages);
  G_OBJECT_CLASS (ms_pop3_page_parent_class)->finalize (object);
}

static void
ms_pop3_page_get_property (GObject *object,
                           guint prop_id,
                           GValue *value,
                           GParamSpec *pspec)
{
  MsPop3Page *self = MS_POP3_PAGE (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, ms_pop3_page_get_busy (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_pop3_page_class_init (MsPop3PageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ms_pop3_page_dispose;
  object_class->finalize = ms_pop3_page_finalize;
  object_class->get_property = ms_pop3_page_get_property;

  properties[PROP_BUSY] = _ms_agent_page_param_spec_busy ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "pop3page");
}

/* --- the device's table ----------------------------------------------- */

typedef enum {
  COLUMN_FROM,
  COLUMN_SUBJECT,
  COLUMN_SIZE,
  N_COLUMNS
} Column;

static void
cell_setup_cb (GtkSignalListItemFactory *factory,
               GtkListItem *list_item,
               gpointer user_data)
{
  Column column = GPOINTER_TO_INT (user_data);
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), column == COLUMN_SIZE ? 1.0 : 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (column == COLUMN_SIZE)
    gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (list_item, label);
}

static void
cell_bind_cb (GtkSignalListItemFactory *factory,
              GtkListItem *list_item,
              gpointer user_data)
{
  MsDeviceMessage *message = gtk_list_item_get_item (list_item);
  GtkLabel *label = GTK_LABEL (gtk_list_item_get_child (list_item));
  g_autofree char *size = NULL;

  switch ((Column) GPOINTER_TO_INT (user_data))
    {
    case COLUMN_FROM:
      gtk_label_set_text (label, message->from);
      break;
    case COLUMN_SUBJECT:
      gtk_label_set_text (label, message->subject);
      break;
    case COLUMN_SIZE:
      size = g_format_size (message->size);
      gtk_label_set_text (label, size);
      break;
    case N_COLUMNS:
    default:
      g_assert_not_reached ();
    }
}

static GtkWidget *
new_table (MsPop3Page *self)
{
  static const struct {
    const char *title;
    gboolean expand;
  } columns[N_COLUMNS] = {
    [COLUMN_FROM] = { "From", TRUE },
    [COLUMN_SUBJECT] = { "Subject", TRUE },
    [COLUMN_SIZE] = { "Size", FALSE },
  };
  GtkNoSelection *selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->messages)));
  GtkWidget *scroller = gtk_scrolled_window_new ();

  self->column_view = GTK_COLUMN_VIEW (gtk_column_view_new (GTK_SELECTION_MODEL (selection)));
  gtk_column_view_set_show_row_separators (self->column_view, TRUE);
  for (Column column = 0; column < N_COLUMNS; column++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      g_autoptr(GtkColumnViewColumn) view_column = NULL;

      g_signal_connect (factory, "setup", G_CALLBACK (cell_setup_cb), GINT_TO_POINTER (column));
      g_signal_connect (factory, "bind", G_CALLBACK (cell_bind_cb), GINT_TO_POINTER (column));
      view_column = gtk_column_view_column_new (columns[column].title, factory);
      gtk_column_view_column_set_expand (view_column, columns[column].expand);
      gtk_column_view_column_set_resizable (view_column, TRUE);
      gtk_column_view_append_column (self->column_view, view_column);
    }
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->column_view));
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_widget_set_size_request (scroller, -1, 140);
  gtk_scrolled_window_set_has_frame (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_widget_add_css_class (scroller, "ms-agent-table");
  return scroller;
}

static void
ms_pop3_page_init (MsPop3Page *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkWidget *modes = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 18);
  GtkWidget *actions = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *heading = gtk_label_new ("On this device");
  GtkWidget *status =
    _ms_agent_status_label_new ("Fetch copies the mail from the server to this device.");

  self->messages = g_list_store_new (MS_TYPE_DEVICE_MESSAGE);
  _ms_agent_page_init (widget);

  /* RFC 1939 §8: keeping the mail on the server lets several devices read
   * it; deleting it leaves it on the one device that fetched it. */
  self->keep_check = GTK_CHECK_BUTTON (gtk_check_button_new_with_label ("Keep on server"));
  self->delete_check = GTK_CHECK_BUTTON (gtk_check_button_new_with_label ("Delete from server"));
  gtk_check_button_set_group (self->delete_check, self->keep_check);
  gtk_check_button_set_active (self->keep_check, TRUE);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->keep_check),
                               "Other devices can fetch the same mail (UIDL remembers what "
                               "this one has)");
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->delete_check),
                               "DELE each message once saved; QUIT makes it final");
  gtk_box_append (GTK_BOX (modes), _ms_agent_field_label ("Mode"));
  gtk_box_append (GTK_BOX (modes), GTK_WIDGET (self->keep_check));
  gtk_box_append (GTK_BOX (modes), GTK_WIDGET (self->delete_check));
  gtk_widget_set_parent (modes, widget);

  self->tls_check = GTK_CHECK_BUTTON (gtk_check_button_new_with_label ("Encrypt (STLS)"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->tls_check),
                               "Without it, PASS sends the password in the clear");
  gtk_widget_set_hexpand (GTK_WIDGET (self->tls_check), TRUE);
  self->spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  self->list_button = GTK_BUTTON (gtk_button_new_with_label ("List on server"));
  self->fetch_button = GTK_BUTTON (gtk_button_new_with_label ("Fetch"));
  gtk_widget_add_css_class (GTK_WIDGET (self->fetch_button), "suggested-action");
  g_signal_connect (self->fetch_button, "clicked", G_CALLBACK (fetch_clicked_cb), self);
  g_signal_connect (self->list_button, "clicked", G_CALLBACK (list_clicked_cb), self);
  gtk_box_append (GTK_BOX (actions), GTK_WIDGET (self->tls_check));
  gtk_box_append (GTK_BOX (actions), GTK_WIDGET (self->spinner));
  gtk_box_append (GTK_BOX (actions), GTK_WIDGET (self->list_button));
  gtk_box_append (GTK_BOX (actions), GTK_WIDGET (self->fetch_button));
  gtk_widget_set_parent (actions, widget);

  self->status_label = GTK_LABEL (status);
  gtk_widget_set_parent (status, widget);

  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "ms-agent-heading");
  gtk_widget_set_parent (heading, widget);
  self->device_label = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_xalign (self->device_label, 0);
  gtk_label_set_wrap (self->device_label, TRUE);
  gtk_label_set_wrap_mode (self->device_label, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (self->device_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->device_label), "ms-agent-detail");
  gtk_widget_set_parent (GTK_WIDGET (self->device_label), widget);
  gtk_widget_set_parent (new_table (self), widget);
  update_sensitivity (self);
}

GtkWidget *
ms_pop3_page_new (const char *devices_dir)
{
  MsPop3Page *self;

  g_return_val_if_fail (devices_dir != NULL, NULL);

  self = g_object_new (MS_TYPE_POP3_PAGE, NULL);
  self->devices_dir = g_strdup (devices_dir);
  return GTK_WIDGET (self);
}
