/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-mailbox-view"

#include "config.h"

#include "ms-mailbox-view.h"

struct _MsMailboxView
{
  GtkWidget parent_instance;

  GtkDropDown *folder_dropdown;
  GtkColumnView *messages_view;
  GtkLabel *legend;

  MsMailboxModel *model;
  MsFolderItem *folder;   /* borrowed: the model keeps it */
  /* Until somebody picks a folder, the chooser shows the first one (alpha's
   * alice's INBOX in the demo), however the folders arrive. */
  gboolean chosen;
  gboolean choosing;      /* the selection is being set here, not by a user */
  gboolean following;     /* showing where the last change happened */
};

G_DEFINE_FINAL_TYPE (MsMailboxView, ms_mailbox_view, GTK_TYPE_WIDGET)

typedef enum {
  COLUMN_UID,
  COLUMN_FLAGS,
  COLUMN_SIZE,
  COLUMN_FROM,
  COLUMN_SUBJECT,
  N_COLUMNS
} Column;

static const struct {
  const char *title;
  gboolean expand;
  float xalign;
} columns[N_COLUMNS] = {
  [COLUMN_UID] = { "UID", FALSE, 1.0 },
  [COLUMN_FLAGS] = { "Flags", FALSE, 0.0 },
  [COLUMN_SIZE] = { "Size", FALSE, 1.0 },
  [COLUMN_FROM] = { "From", TRUE, 0.0 },
  [COLUMN_SUBJECT] = { "Subject", TRUE, 0.0 },
};

static const char * const status_classes[] = {
  [MS_MESSAGE_STATUS_PRESENT] = NULL,
  [MS_MESSAGE_STATUS_POP3_MARKED] = "ms-pop3-marked",
  [MS_MESSAGE_STATUS_DELETED_FLAG] = "ms-deleted-flag",
  [MS_MESSAGE_STATUS_GONE] = "ms-gone",
};

const char *
ms_mailbox_view_status_class (MsMessageStatus status)
{
  g_return_val_if_fail (status < G_N_ELEMENTS (status_classes), NULL);
  return status_classes[status];
}

static char *
cell_text (MsMessageItem *item,
           Column column)
{
  switch (column)
    {
    case COLUMN_UID:
      return g_strdup_printf ("%u", ms_message_item_get_uid (item));
    case COLUMN_FLAGS:
      {
        const char *flags = ms_message_item_get_flags (item);

        /* The status in words: a class reads "marked" faster than a letter. */
        switch (ms_message_item_get_status (item))
          {
          case MS_MESSAGE_STATUS_POP3_MARKED:
            return g_strdup_printf ("%s DELE: removed at QUIT", flags);
          case MS_MESSAGE_STATUS_DELETED_FLAG:
            return g_strdup_printf ("%s \\Deleted", flags);
          case MS_MESSAGE_STATUS_GONE:
            return g_strdup_printf ("%s gone", flags);
          case MS_MESSAGE_STATUS_PRESENT:
          default:
            return g_strdup (*flags != '\0' ? flags : "–");
          }
      }
    case COLUMN_SIZE:
      return g_format_size_full (ms_message_item_get_size (item), G_FORMAT_SIZE_DEFAULT);
    case COLUMN_FROM:
      return g_strdup (ms_message_item_get_from (item) ?: "");
    case COLUMN_SUBJECT:
      return g_strdup (ms_message_item_get_subject (item) ?: "");
    case N_COLUMNS:
    default:
      g_assert_not_reached ();
    }
}

static void
update_cell (GtkLabel *label,
             MsMessageItem *item)
{
  Column column = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (label), "ms-column"));
  g_autofree char *text = cell_text (item, column);
  MsMessageStatus status = ms_message_item_get_status (item);

  gtk_label_set_text (label, text);
  for (guint i = 0; i < G_N_ELEMENTS (status_classes); i++)
    if (status_classes[i] != NULL)
      gtk_widget_remove_css_class (GTK_WIDGET (label), status_classes[i]);
  if (status_classes[status] != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (label), status_classes[status]);
}

static void
item_notify_cb (MsMessageItem *item,
                GParamSpec *pspec,
                GtkLabel *label)
{
  update_cell (label, item);
}

static void
setup_cb (GtkSignalListItemFactory *factory,
          GtkListItem *list_item,
          gpointer user_data)
{
  Column column = GPOINTER_TO_INT (user_data);
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), columns[column].xalign);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  g_object_set_data (G_OBJECT (label), "ms-column", GINT_TO_POINTER (column));
  if (column == COLUMN_UID || column == COLUMN_SIZE)
    gtk_widget_add_css_class (label, "numeric");
  gtk_list_item_set_child (list_item, label);
}

static void
bind_cb (GtkSignalListItemFactory *factory,
         GtkListItem *list_item,
         gpointer user_data)
{
  MsMessageItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);

  update_cell (GTK_LABEL (label), item);
  /* A flag change or a POP3 mark changes the row in place. */
  g_signal_connect_object (item, "notify", G_CALLBACK (item_notify_cb), label, 0);
}

static void
unbind_cb (GtkSignalListItemFactory *factory,
           GtkListItem *list_item,
           gpointer user_data)
{
  MsMessageItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);

  if (item != NULL)
    g_signal_handlers_disconnect_by_func (item, item_notify_cb, label);
}

static char *
folder_label (MsFolderItem *item)
{
  if (item == NULL)
    return g_strdup ("");
  /* No message count: the expression is evaluated once per row, so a count
   * here would go stale as mail arrives. */
  return g_strdup_printf ("%s / %s / %s", ms_folder_item_get_server (item),
                          ms_folder_item_get_user (item), ms_folder_item_get_folder (item));
}

static void
show_folder (MsMailboxView *self,
             MsFolderItem *folder)
{
  g_autoptr(GtkNoSelection) selection = NULL;

  if (folder == self->folder && folder != NULL)
    return;
  self->folder = folder;
  if (folder != NULL && self->model != NULL)
    {
      GListModel *messages = ms_mailbox_model_get_messages (self->model,
                                                            ms_folder_item_get_server (folder),
                                                            ms_folder_item_get_user (folder),
                                                            ms_folder_item_get_folder (folder));
      selection = gtk_no_selection_new (g_object_ref (messages));
    }
  gtk_column_view_set_model (self->messages_view, GTK_SELECTION_MODEL (selection));
}

static void
selected_item_cb (GtkDropDown *dropdown,
                  GParamSpec *pspec,
                  MsMailboxView *self)
{
  if (!self->choosing)
    self->chosen = TRUE;
  show_folder (self, gtk_drop_down_get_selected_item (dropdown));
}

static void
select_index (MsMailboxView *self,
              guint index)
{
  self->choosing = TRUE;
  gtk_drop_down_set_selected (self->folder_dropdown, index);
  self->choosing = FALSE;
}

/* Connected before the drop-down's own selection model: what the selection
 * does while the folders change is not somebody choosing a folder. */
static void
folders_changing_cb (GListModel *folders,
                     guint position,
                     guint removed,
                     guint added,
                     MsMailboxView *self)
{
  self->choosing = TRUE;
}

static void
folders_changed_cb (GListModel *folders,
                    guint position,
                    guint removed,
                    guint added,
                    MsMailboxView *self)
{
  self->choosing = FALSE;
  if (!self->chosen && !self->following && g_list_model_get_n_items (folders) > 0)
    select_index (self, 0);
}

static void
disconnect_folders (MsMailboxView *self)
{
  GListModel *folders = ms_mailbox_model_get_folders (self->model);

  g_signal_handlers_disconnect_by_func (folders, folders_changing_cb, self);
  g_signal_handlers_disconnect_by_func (folders, folders_changed_cb, self);
}

void
ms_mailbox_view_set_model (MsMailboxView *self,
                           MsMailboxModel *model)
{
  g_return_if_fail (MS_IS_MAILBOX_VIEW (self));

  if (self->model == model)
    return;
  if (self->model != NULL)
    disconnect_folders (self);
  g_set_object (&self->model, model);
  self->folder = NULL;
  self->chosen = FALSE;
  self->following = FALSE;
  if (model != NULL)
    {
      GListModel *folders = ms_mailbox_model_get_folders (model);

      g_signal_connect (folders, "items-changed", G_CALLBACK (folders_changing_cb), self);
      g_signal_connect_after (folders, "items-changed", G_CALLBACK (folders_changed_cb), self);
    }
  self->choosing = TRUE;
  gtk_drop_down_set_model (self->folder_dropdown,
                           model != NULL ? ms_mailbox_model_get_folders (model) : NULL);
  self->choosing = FALSE;
  show_folder (self, gtk_drop_down_get_selected_item (self->folder_dropdown));
}

/* The folder's position in the chooser, or G_MAXUINT. */
static guint
find_folder (MsMailboxView *self,
             const char *server,
             const char *user,
             const char *folder)
{
  GListModel *folders;

  if (self->model == NULL)
    return G_MAXUINT;
  folders = ms_mailbox_model_get_folders (self->model);
  for (guint i = 0; i < g_list_model_get_n_items (folders); i++)
    {
      g_autoptr(MsFolderItem) item = g_list_model_get_item (folders, i);

      if (g_strcmp0 (ms_folder_item_get_server (item), server) == 0
          && g_strcmp0 (ms_folder_item_get_user (item), user) == 0
          && g_strcmp0 (ms_folder_item_get_folder (item), folder) == 0)
        return i;
    }
  return G_MAXUINT;
}

gboolean
ms_mailbox_view_select_folder (MsMailboxView *self,
                               const char *server,
                               const char *user,
                               const char *folder)
{
  guint position;

  g_return_val_if_fail (MS_IS_MAILBOX_VIEW (self), FALSE);

  position = find_folder (self, server, user, folder);
  if (position == G_MAXUINT)
    return FALSE;
  gtk_drop_down_set_selected (self->folder_dropdown, position);
  self->chosen = TRUE;
  return TRUE;
}

void
ms_mailbox_view_show_change (MsMailboxView *self,
                             const char *server,
                             const char *user,
                             const char *folder)
{
  guint position;

  g_return_if_fail (MS_IS_MAILBOX_VIEW (self));

  if (self->chosen)
    return;
  position = find_folder (self, server, user, folder);
  if (position != G_MAXUINT)
    select_index (self, position);
  self->following = TRUE;
}

GtkColumnView *
ms_mailbox_view_get_column_view (MsMailboxView *self)
{
  g_return_val_if_fail (MS_IS_MAILBOX_VIEW (self), NULL);
  return self->messages_view;
}

static void
add_columns (MsMailboxView *self)
{
  for (Column column = 0; column < N_COLUMNS; column++)
    {
      GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
      g_autoptr(GtkColumnViewColumn) view_column = NULL;

      g_signal_connect (factory, "setup", G_CALLBACK (setup_cb), GINT_TO_POINTER (column));
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cb), GINT_TO_POINTER (column));
      g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cb), GINT_TO_POINTER (column));
      view_column = gtk_column_view_column_new (columns[column].title, factory);
      gtk_column_view_column_set_expand (view_column, columns[column].expand);
      gtk_column_view_column_set_resizable (view_column, TRUE);
      gtk_column_view_append_column (self->messages_view, view_column);
    }
}

static void
ms_mailbox_view_dispose (GObject *object)
{
  MsMailboxView *self = MS_MAILBOX_VIEW (object);
  GtkWidget *child;

  gtk_widget_dispose_template (GTK_WIDGET (self), MS_TYPE_MAILBOX_VIEW);
  /* The template's unnamed children too (the header row, the scroller). */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  self->folder = NULL;
  if (self->model != NULL)
    disconnect_folders (self);
  g_clear_object (&self->model);
  G_OBJECT_CLASS (ms_mailbox_view_parent_class)->dispose (object);
}

static void
ms_mailbox_view_class_init (MsMailboxViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ms_mailbox_view_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailscope/Mailscope/ms-mailbox-view.ui");
  gtk_widget_class_bind_template_child (widget_class, MsMailboxView, folder_dropdown);
  gtk_widget_class_bind_template_child (widget_class, MsMailboxView, messages_view);
  gtk_widget_class_bind_template_child (widget_class, MsMailboxView, legend);
  gtk_widget_class_set_css_name (widget_class, "mailboxview");
}

static void
ms_mailbox_view_init (MsMailboxView *self)
{
  GtkExpression *expression;

  gtk_widget_init_template (GTK_WIDGET (self));
  expression = gtk_cclosure_expression_new (G_TYPE_STRING, NULL, 0, NULL,
                                            G_CALLBACK (folder_label), NULL, NULL);
  gtk_drop_down_set_expression (self->folder_dropdown, expression);
  gtk_expression_unref (expression);
  g_signal_connect (self->folder_dropdown, "notify::selected-item",
                    G_CALLBACK (selected_item_cb), self);
  add_columns (self);
}

GtkWidget *
ms_mailbox_view_new (void)
{
  return g_object_new (MS_TYPE_MAILBOX_VIEW, NULL);
}
