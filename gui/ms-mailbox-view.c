/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-mailbox-view"

#include "config.h"

#include "ms-mailbox-view.h"

#define HIGHLIGHT_MS 5000

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

  GtkFilter *filter;      /* owned: which gone rows are shown */
  GtkFilterListModel *shown;  /* owned: the folder's rows through the filter */
  /* The marks (seq) of the gone rows the filter hid, since it last ran on
   * every row: only a new latest change among them can bring one back. */
  GHashTable *hidden_marks;
  GHashTable *cells;      /* bound cell widget -> MsMessageItem (borrowed) */

  /* Marks (server interned, seq 0 for none): the model's latest change,
   * the one flashing, and the event selected elsewhere. */
  const char *latest_server;
  guint64 latest_seq;
  const char *flash_server;
  guint64 flash_seq;
  const char *selected_server;
  guint64 selected_seq;
  gboolean flash_pending;  /* a new change: (re)start the flash */
  guint flash_id;          /* the one timeout that ends the flash */
  gint64 flash_end;        /* when the flash ends (monotonic, us) */
  gint64 flash_due;        /* when flash_id fires */
  guint refresh_id;        /* idle that re-applies the marks to the rows */
  guint highlight_ms;
};

G_DEFINE_FINAL_TYPE (MsMailboxView, ms_mailbox_view, GTK_TYPE_WIDGET)

enum {
  SIGNAL_EVENT_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef enum {
  COLUMN_UID,
  COLUMN_FLAGS,
  COLUMN_STATUS,
  COLUMN_SIZE,
  COLUMN_FROM,
  COLUMN_SUBJECT,
  COLUMN_CHANGE,
  N_COLUMNS
} Column;

static const struct {
  const char *title;
  gboolean expand;
  float xalign;
} columns[N_COLUMNS] = {
  [COLUMN_UID] = { "UID", FALSE, 1.0 },
  [COLUMN_FLAGS] = { "Flags", FALSE, 0.0 },
  [COLUMN_STATUS] = { "Status", FALSE, 0.0 },
  [COLUMN_SIZE] = { "Size", FALSE, 1.0 },
  [COLUMN_FROM] = { "From", TRUE, 0.0 },
  [COLUMN_SUBJECT] = { "Subject", TRUE, 0.0 },
  [COLUMN_CHANGE] = { "Changed by", FALSE, 0.0 },
};

static const char * const status_classes[] = {
  [MS_MESSAGE_STATUS_PRESENT] = NULL,
  [MS_MESSAGE_STATUS_POP3_MARKED] = "ms-pop3-marked",
  [MS_MESSAGE_STATUS_DELETED_FLAG] = "ms-deleted-flag",
  [MS_MESSAGE_STATUS_GONE] = "ms-gone",
};

/* The status badge and what it means, with the RFC that says so. */
static const struct {
  const char *badge;
  const char *meaning;
} status_words[] = {
  [MS_MESSAGE_STATUS_PRESENT] = { "", NULL },
  [MS_MESSAGE_STATUS_POP3_MARKED] = {
    "marked · DELE",
    "Marked for deletion by POP3 DELE: still in the maildrop. QUIT removes it "
    "(the UPDATE state), RSET or a dropped connection unmarks it (RFC 1939 §5, §6)."
  },
  [MS_MESSAGE_STATUS_DELETED_FLAG] = {
    "\\Deleted",
    "IMAP \\Deleted flag (Maildir T): still in the folder until EXPUNGE, CLOSE or "
    "MOVE removes it (RFC 3501 §2.3.2, §6.4.3)."
  },
  [MS_MESSAGE_STATUS_GONE] = {
    "gone",
    "Gone from the folder: shown until the next change, so you can see it go."
  },
};

#define CELL_CLASS "ms-cell"
#define CHANGED_CLASS "ms-changed"
#define SELECTED_CLASS "ms-selected-change"

const char *
ms_mailbox_view_status_class (MsMessageStatus status)
{
  g_return_val_if_fail (status < G_N_ELEMENTS (status_classes), NULL);
  return status_classes[status];
}

static gboolean
mark_is (MsMessageItem *item,
         const char *server,
         guint64 seq)
{
  const char *mark_server;
  guint64 mark_seq;

  return seq != 0 && ms_message_item_get_mark (item, &mark_server, &mark_seq)
         && mark_seq == seq && g_strcmp0 (mark_server, server) == 0;
}

/* The cause in a few words: the command's verb, "message" for the data
 * after SMTP DATA, else the store op. */
static const char *
cause_word (MsMessageItem *item)
{
  const MsEvent *cause = ms_message_item_get_cause (item);
  const char *verb;

  if (cause == NULL)
    return ms_message_item_get_changed_op (item);
  if (cause->kind == MS_EVENT_DATA)
    return "message";
  verb = ms_event_get_string (cause, "verb");
  return verb != NULL ? verb : ms_message_item_get_changed_op (item);
}

static char *
change_text (MsMessageItem *item)
{
  guint64 seq;

  if (!ms_message_item_get_mark (item, NULL, &seq))
    return g_strdup ("snapshot");
  if (ms_message_item_get_status (item) == MS_MESSAGE_STATUS_GONE)
    return g_strdup_printf ("removed by #%" G_GUINT64_FORMAT " %s", seq, cause_word (item));
  return g_strdup_printf ("#%" G_GUINT64_FORMAT " %s", seq, cause_word (item));
}

/* The row's story, for its tooltip: which event changed it, and how. */
static char *
change_story (MsMessageItem *item)
{
  const MsEvent *cause = ms_message_item_get_cause (item);
  const char *server = ms_message_item_get_changed_server (item);
  guint64 seq = ms_message_item_get_changed_seq (item);
  const char *op = ms_message_item_get_changed_op (item);
  const char *flags = ms_message_item_get_flags (item);
  gboolean gone = ms_message_item_get_status (item) == MS_MESSAGE_STATUS_GONE;
  GString *story = g_string_new (NULL);

  if (op == NULL)
    return g_string_free (story, FALSE);
  if (g_strcmp0 (op, "snapshot") == 0)
    {
      g_string_printf (story, "Known from the snapshot of %s (event %" G_GUINT64_FORMAT
                       "): no change seen since.", server, seq);
      return g_string_free (story, FALSE);
    }
  if (cause != NULL)
    {
      const char *text = ms_event_get_string (cause, "text");
      const char *session = ms_event_get_string (cause, "session");

      g_string_printf (story, "%s by event %" G_GUINT64_FORMAT " on %s: ",
                       gone ? "Removed" : "Changed", cause->seq, cause->server);
      if (cause->kind == MS_EVENT_DATA)
        g_string_append_printf (story, "the message after DATA (%" G_GINT64_FORMAT " bytes)",
                                ms_event_get_int (cause, "bytes", 0));
      else
        g_string_append (story, text != NULL ? text : "?");
      if (session != NULL)
        g_string_append_printf (story, " (session %s)", session);
      g_string_append (story, ".\n");
    }
  g_string_append_printf (story, "Store event %" G_GUINT64_FORMAT " on %s: %s", seq, server, op);
  if (!gone)
    g_string_append_printf (story, ", flags now %s", *flags != '\0' ? flags : "none");
  g_string_append (story, ".");
  return g_string_free (story, FALSE);
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

        return g_strdup (*flags != '\0' ? flags : "–");
      }
    case COLUMN_STATUS:
      return g_strdup (status_words[ms_message_item_get_status (item)].badge);
    case COLUMN_SIZE:
      return g_format_size_full (ms_message_item_get_size (item), G_FORMAT_SIZE_DEFAULT);
    case COLUMN_FROM:
      return g_strdup (ms_message_item_get_from (item) ?: "");
    case COLUMN_SUBJECT:
      return g_strdup (ms_message_item_get_subject (item) ?: "");
    case COLUMN_CHANGE:
      return change_text (item);
    case N_COLUMNS:
    default:
      g_assert_not_reached ();
    }
}

static void
set_class (GtkWidget *widget,
           const char *name,
           gboolean on)
{
  if (on)
    gtk_widget_add_css_class (widget, name);
  else
    gtk_widget_remove_css_class (widget, name);
}

/* A cell is a box (the row's tint, CELL_CLASS) holding its content: a
 * label, the status badge, or the change column's button. */
static GtkWidget *
cell_content (GtkWidget *cell)
{
  return gtk_widget_get_first_child (cell);
}

static GtkLabel *
cell_label (GtkWidget *cell)
{
  GtkWidget *content = cell_content (cell);

  return GTK_IS_BUTTON (content) ? GTK_LABEL (gtk_button_get_child (GTK_BUTTON (content)))
                                 : GTK_LABEL (content);
}

/* The marks of a row: does it flash, is it the selected event's change. */
static void
update_marks (MsMailboxView *self,
              GtkWidget *cell,
              MsMessageItem *item)
{
  set_class (cell, CHANGED_CLASS, mark_is (item, self->flash_server, self->flash_seq));
  set_class (cell, SELECTED_CLASS,
             self->selected_seq != 0
             && ms_message_item_changed_by (item, self->selected_server, self->selected_seq));
}

/* No tooltip text here: in GTK 4.8 on X11 every gtk_widget_set_tooltip_text()
 * asks the X server where the pointer is (a round trip), which made a busy
 * trace crawl. The cells build their tooltips when asked (query-tooltip). */
static void
update_cell (MsMailboxView *self,
             GtkWidget *cell,
             MsMessageItem *item)
{
  Column column = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (cell), "ms-column"));
  g_autofree char *text = cell_text (item, column);
  GtkWidget *content = cell_content (cell);
  MsMessageStatus status = ms_message_item_get_status (item);

  gtk_label_set_text (cell_label (cell), text);
  /* The status on the text (struck, dimmed) and the badge; the tint of the
   * change on the whole cell. The row's mark stays readable. */
  for (guint i = 0; i < G_N_ELEMENTS (status_classes); i++)
    if (status_classes[i] != NULL)
      {
        set_class (cell, status_classes[i], i == status);
        set_class (content, status_classes[i], i == status && column != COLUMN_CHANGE);
      }
  update_marks (self, cell, item);
  if (column == COLUMN_STATUS)
    gtk_widget_set_visible (content, status != MS_MESSAGE_STATUS_PRESENT);
  else if (column == COLUMN_CHANGE)
    gtk_widget_set_sensitive (content, ms_message_item_get_mark (item, NULL, NULL));
}

/* What a cell's tooltip says: the meaning of the status badge in the
 * Status column, the row's story in the others; NULL for none. */
static char *
cell_tooltip (GtkWidget *cell,
              MsMessageItem *item)
{
  Column column = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (cell), "ms-column"));
  char *story;

  if (column == COLUMN_STATUS)
    return g_strdup (status_words[ms_message_item_get_status (item)].meaning);
  story = change_story (item);
  if (*story == '\0')
    g_clear_pointer (&story, g_free);
  return story;
}

char *
ms_mailbox_view_dup_cell_tooltip (MsMailboxView *self,
                                  GtkWidget *cell)
{
  MsMessageItem *item;

  g_return_val_if_fail (MS_IS_MAILBOX_VIEW (self), NULL);
  g_return_val_if_fail (GTK_IS_WIDGET (cell), NULL);

  item = g_hash_table_lookup (self->cells, cell);
  return item != NULL ? cell_tooltip (cell, item) : NULL;
}

static gboolean
cell_query_tooltip_cb (GtkWidget *cell,
                       int x,
                       int y,
                       gboolean keyboard_mode,
                       GtkTooltip *tooltip,
                       MsMailboxView *self)
{
  g_autofree char *text = ms_mailbox_view_dup_cell_tooltip (self, cell);

  if (text == NULL)
    return FALSE;
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

/* Only the flash and the selection changed: the cells on screen (a few
 * screens of rows at most, whatever the folder's size). */
static void
update_all_marks (MsMailboxView *self)
{
  GHashTableIter iter;
  gpointer cell, item;

  g_hash_table_iter_init (&iter, self->cells);
  while (g_hash_table_iter_next (&iter, &cell, &item))
    update_marks (self, cell, item);
}

static void
item_notify_cb (MsMessageItem *item,
                GParamSpec *pspec,
                GtkWidget *cell)
{
  MsMailboxView *self = g_object_get_data (G_OBJECT (cell), "ms-view");

  update_cell (self, cell, item);
}

static void
emit_mark (MsMailboxView *self,
           MsMessageItem *item)
{
  const char *server;
  guint64 seq;

  if (item != NULL && ms_message_item_get_mark (item, &server, &seq))
    g_signal_emit (self, signals[SIGNAL_EVENT_ACTIVATED], 0, seq, server);
}

static void
mark_clicked_cb (GtkButton *button,
                 MsMailboxView *self)
{
  emit_mark (self, g_hash_table_lookup (self->cells,
                                        gtk_widget_get_parent (GTK_WIDGET (button))));
}

static void
row_activate_cb (GtkColumnView *view,
                 guint position,
                 MsMailboxView *self)
{
  GListModel *rows = G_LIST_MODEL (gtk_column_view_get_model (view));
  g_autoptr(MsMessageItem) item = rows != NULL ? g_list_model_get_item (rows, position) : NULL;

  emit_mark (self, item);
}

static void
setup_cb (GtkSignalListItemFactory *factory,
          GtkListItem *list_item,
          MsMailboxView *self)
{
  Column column = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (factory), "ms-column"));
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *content = label;
  GtkWidget *cell = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);

  gtk_widget_set_hexpand (label, TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), columns[column].xalign);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (column == COLUMN_UID || column == COLUMN_SIZE)
    gtk_widget_add_css_class (label, "numeric");
  if (column == COLUMN_STATUS)
    {
      /* A badge, not a cell full of colour: it sits in the cell's middle. */
      gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_NONE);
      gtk_widget_set_hexpand (label, FALSE);
      gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (label, "ms-badge");
    }
  if (column == COLUMN_CHANGE)
    {
      content = gtk_button_new ();
      gtk_button_set_child (GTK_BUTTON (content), label);
      gtk_widget_set_valign (content, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (content, "flat");
      gtk_widget_add_css_class (content, "ms-change-mark");
      g_signal_connect (content, "clicked", G_CALLBACK (mark_clicked_cb), self);
    }
  gtk_box_append (GTK_BOX (cell), content);
  gtk_widget_add_css_class (cell, CELL_CLASS);
  g_object_set_data (G_OBJECT (cell), "ms-column", GINT_TO_POINTER (column));
  g_object_set_data (G_OBJECT (cell), "ms-view", self);
  gtk_widget_set_has_tooltip (cell, TRUE);
  g_signal_connect (cell, "query-tooltip", G_CALLBACK (cell_query_tooltip_cb), self);
  gtk_list_item_set_child (list_item, cell);
}

static void
bind_cb (GtkSignalListItemFactory *factory,
         GtkListItem *list_item,
         MsMailboxView *self)
{
  MsMessageItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *cell = gtk_list_item_get_child (list_item);

  g_hash_table_insert (self->cells, cell, item);
  update_cell (self, cell, item);
  /* A flag change or a POP3 mark changes the row in place. */
  g_signal_connect_object (item, "notify", G_CALLBACK (item_notify_cb), cell, 0);
}

static void
unbind_cb (GtkSignalListItemFactory *factory,
           GtkListItem *list_item,
           MsMailboxView *self)
{
  MsMessageItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *cell = gtk_list_item_get_child (list_item);

  g_hash_table_remove (self->cells, cell);
  if (item != NULL)
    g_signal_handlers_disconnect_by_func (item, item_notify_cb, cell);
}

/* Which rows are shown: all but the gone ones, except those the latest
 * change or the selected event removed (see the header). */
static gboolean
row_shown (gpointer object,
           gpointer user_data)
{
  MsMailboxView *self = user_data;
  MsMessageItem *item = object;
  guint64 seq;

  if (ms_message_item_get_status (item) != MS_MESSAGE_STATUS_GONE)
    return TRUE;
  if (mark_is (item, self->latest_server, self->latest_seq)
      || (self->selected_seq != 0
          && ms_message_item_changed_by (item, self->selected_server, self->selected_seq)))
    return TRUE;
  /* Keyed by seq alone: a seq of another server only costs a refilter. */
  if (ms_message_item_get_mark (item, NULL, &seq))
    g_hash_table_add (self->hidden_marks, GSIZE_TO_POINTER ((gsize) seq));
  return FALSE;
}

/* Runs the filter on every row of the folder. */
static void
refilter (MsMailboxView *self)
{
  g_hash_table_remove_all (self->hidden_marks);
  gtk_filter_changed (self->filter, GTK_FILTER_CHANGE_DIFFERENT);
}

/* Whether a new latest change can show or hide a row, without looking at
 * every row (a folder may hold thousands; changes come by the thousand a
 * second): a gone row on screen may have to go; a hidden one comes back
 * only when its mark is the new latest change. The rows not gone are
 * counted by the folder (n-messages). A row that comes back from gone
 * (a trace that reuses an expunged UID) waits for the next full pass. */
static gboolean
refilter_needed (MsMailboxView *self)
{
  guint n_rows, n_shown;

  if (self->shown == NULL || self->folder == NULL)
    return FALSE;
  n_rows = g_list_model_get_n_items (gtk_filter_list_model_get_model (self->shown));
  n_shown = g_list_model_get_n_items (G_LIST_MODEL (self->shown));
  if (n_shown > ms_folder_item_get_n_messages (self->folder))
    return TRUE;
  return n_shown < n_rows && self->latest_seq != 0
         && g_hash_table_contains (self->hidden_marks,
                                   GSIZE_TO_POINTER ((gsize) self->latest_seq));
}

static gboolean
flash_done_cb (gpointer user_data)
{
  MsMailboxView *self = user_data;
  gint64 now = g_get_monotonic_time ();

  self->flash_id = 0;
  /* Newer changes moved the end on: wait for it with the same one timer,
   * rather than a timer per change. */
  if (self->flash_seq != 0 && now < self->flash_end)
    {
      self->flash_due = self->flash_end;
      self->flash_id = g_timeout_add ((self->flash_end - now + 999) / 1000, flash_done_cb, self);
      return G_SOURCE_REMOVE;
    }
  self->flash_server = NULL;
  self->flash_seq = 0;
  update_all_marks (self);
  return G_SOURCE_REMOVE;
}

/* The latest change flashes for highlight_ms from now. */
static void
start_flash (MsMailboxView *self)
{
  self->flash_server = self->latest_server;
  self->flash_seq = self->highlight_ms > 0 ? self->latest_seq : 0;
  if (self->flash_seq == 0)
    {
      g_clear_handle_id (&self->flash_id, g_source_remove);
      return;
    }
  self->flash_end = g_get_monotonic_time () + (gint64) self->highlight_ms * 1000;
  /* The timer already set fires before the end: it sets itself again. */
  if (self->flash_id != 0 && self->flash_due <= self->flash_end)
    return;
  g_clear_handle_id (&self->flash_id, g_source_remove);
  self->flash_due = self->flash_end;
  self->flash_id = g_timeout_add (self->highlight_ms, flash_done_cb, self);
}

/* Re-applies the marks: which gone rows show, which rows flash. Deferred to
 * an idle, so that rebuilding the mailboxes for the timeline (thousands of
 * changes) or a burst of live events costs one pass over the rows on
 * screen. `full` runs the filter on every row of the folder (a new
 * selection); otherwise only when refilter_needed() says so. */
static void
refresh (MsMailboxView *self,
         gboolean full)
{
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  if (self->flash_pending)
    {
      self->flash_pending = FALSE;
      start_flash (self);
    }
  if (full || refilter_needed (self))
    refilter (self);
  update_all_marks (self);
}

static gboolean
refresh_cb (gpointer user_data)
{
  MsMailboxView *self = user_data;

  self->refresh_id = 0;
  refresh (self, FALSE);
  return G_SOURCE_REMOVE;
}

static void
queue_refresh (MsMailboxView *self)
{
  if (self->refresh_id == 0)
    self->refresh_id = g_idle_add_full (G_PRIORITY_DEFAULT, refresh_cb, self, NULL);
}

static void
last_change_cb (MsMailboxModel *model,
                GParamSpec *pspec,
                MsMailboxView *self)
{
  const char *server;
  guint64 seq;

  ms_mailbox_model_get_last_change (model, &server, &seq);
  self->latest_server = server != NULL ? g_intern_string (server) : NULL;
  self->latest_seq = seq;
  self->flash_pending = seq != 0;
  queue_refresh (self);
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
  g_clear_object (&self->shown);
  g_hash_table_remove_all (self->hidden_marks);
  if (folder != NULL && self->model != NULL)
    {
      GListModel *messages = ms_mailbox_model_get_messages (self->model,
                                                            ms_folder_item_get_server (folder),
                                                            ms_folder_item_get_user (folder),
                                                            ms_folder_item_get_folder (folder));

      self->shown = gtk_filter_list_model_new (g_object_ref (messages),
                                               g_object_ref (self->filter));
      selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->shown)));
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
disconnect_model (MsMailboxView *self)
{
  GListModel *folders = ms_mailbox_model_get_folders (self->model);

  g_signal_handlers_disconnect_by_func (folders, folders_changing_cb, self);
  g_signal_handlers_disconnect_by_func (folders, folders_changed_cb, self);
  g_signal_handlers_disconnect_by_func (self->model, last_change_cb, self);
}

void
ms_mailbox_view_set_model (MsMailboxView *self,
                           MsMailboxModel *model)
{
  g_return_if_fail (MS_IS_MAILBOX_VIEW (self));

  if (self->model == model)
    return;
  if (self->model != NULL)
    disconnect_model (self);
  g_set_object (&self->model, model);
  self->folder = NULL;
  self->chosen = FALSE;
  self->following = FALSE;
  self->latest_server = NULL;
  self->latest_seq = 0;
  if (model != NULL)
    {
      GListModel *folders = ms_mailbox_model_get_folders (model);

      g_signal_connect (folders, "items-changed", G_CALLBACK (folders_changing_cb), self);
      g_signal_connect_after (folders, "items-changed", G_CALLBACK (folders_changed_cb), self);
      g_signal_connect (model, "notify::last-change-seq", G_CALLBACK (last_change_cb), self);
      last_change_cb (model, NULL, self);
    }
  self->choosing = TRUE;
  gtk_drop_down_set_model (self->folder_dropdown,
                           model != NULL ? ms_mailbox_model_get_folders (model) : NULL);
  self->choosing = FALSE;
  show_folder (self, gtk_drop_down_get_selected_item (self->folder_dropdown));
}

static gboolean
folder_is (MsFolderItem *item,
           const char *server,
           const char *user,
           const char *folder)
{
  return g_strcmp0 (ms_folder_item_get_server (item), server) == 0
         && g_strcmp0 (ms_folder_item_get_user (item), user) == 0
         && g_strcmp0 (ms_folder_item_get_folder (item), folder) == 0;
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

      if (folder_is (item, server, user, folder))
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

  /* Called for every store event: a change in the folder shown (the usual
   * case in a burst) costs three string compares, no search. */
  if (self->chosen)
    return;
  if (self->following && self->folder != NULL && folder_is (self->folder, server, user, folder))
    return;
  position = find_folder (self, server, user, folder);
  if (position != G_MAXUINT)
    select_index (self, position);
  self->following = TRUE;
}

/* A folder with a row that (`server`, `seq`) changed, the shown one first;
 * NULL when none has. */
static MsFolderItem *
folder_changed_by (MsMailboxView *self,
                   const char *server,
                   guint64 seq)
{
  GListModel *folders = ms_mailbox_model_get_folders (self->model);
  guint n = g_list_model_get_n_items (folders);

  for (guint f = 0; f <= n; f++)
    {
      g_autoptr(MsFolderItem) folder = NULL;
      GListModel *messages;

      /* Round 0 is the folder shown; then the others, in order. */
      if (f == 0)
        folder = self->folder != NULL ? g_object_ref (self->folder) : NULL;
      else
        folder = g_list_model_get_item (folders, f - 1);
      if (folder == NULL || (f > 0 && folder == self->folder)
          || g_strcmp0 (ms_folder_item_get_server (folder), server) != 0)
        continue;
      messages = ms_mailbox_model_get_messages (self->model, ms_folder_item_get_server (folder),
                                                ms_folder_item_get_user (folder),
                                                ms_folder_item_get_folder (folder));
      for (guint i = 0; i < g_list_model_get_n_items (messages); i++)
        {
          g_autoptr(MsMessageItem) item = g_list_model_get_item (messages, i);

          if (ms_message_item_changed_by (item, server, seq))
            return folder;
        }
    }
  return NULL;
}

void
ms_mailbox_view_set_selected_event (MsMailboxView *self,
                                    const char *server,
                                    guint64 seq)
{
  MsFolderItem *folder;

  g_return_if_fail (MS_IS_MAILBOX_VIEW (self));

  if (server == NULL)
    seq = 0;
  self->selected_server = seq != 0 ? g_intern_string (server) : NULL;
  self->selected_seq = seq;
  if (seq != 0 && self->model != NULL
      && (folder = folder_changed_by (self, self->selected_server, seq)) != NULL
      && folder != self->folder)
    {
      guint position = find_folder (self, ms_folder_item_get_server (folder),
                                    ms_folder_item_get_user (folder),
                                    ms_folder_item_get_folder (folder));

      if (position != G_MAXUINT)
        select_index (self, position);
    }
  /* Now, not in an idle: the rows answer the selection right away. */
  refresh (self, TRUE);
}

void
ms_mailbox_view_set_highlight_time (MsMailboxView *self,
                                    guint ms)
{
  g_return_if_fail (MS_IS_MAILBOX_VIEW (self));
  self->highlight_ms = ms;
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

      g_object_set_data (G_OBJECT (factory), "ms-column", GINT_TO_POINTER (column));
      g_signal_connect (factory, "setup", G_CALLBACK (setup_cb), self);
      g_signal_connect (factory, "bind", G_CALLBACK (bind_cb), self);
      g_signal_connect (factory, "unbind", G_CALLBACK (unbind_cb), self);
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
    disconnect_model (self);
  g_clear_object (&self->model);
  g_clear_handle_id (&self->refresh_id, g_source_remove);
  g_clear_handle_id (&self->flash_id, g_source_remove);
  g_clear_object (&self->shown);
  g_clear_object (&self->filter);
  G_OBJECT_CLASS (ms_mailbox_view_parent_class)->dispose (object);
}

static void
ms_mailbox_view_finalize (GObject *object)
{
  MsMailboxView *self = MS_MAILBOX_VIEW (object);

  g_hash_table_unref (self->cells);
  g_hash_table_unref (self->hidden_marks);
  G_OBJECT_CLASS (ms_mailbox_view_parent_class)->finalize (object);
}

static void
ms_mailbox_view_class_init (MsMailboxViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ms_mailbox_view_dispose;
  object_class->finalize = ms_mailbox_view_finalize;

  signals[SIGNAL_EVENT_ACTIVATED] =
    g_signal_new ("event-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT64, G_TYPE_STRING);

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

  self->highlight_ms = HIGHLIGHT_MS;
  self->cells = g_hash_table_new (NULL, NULL);
  self->hidden_marks = g_hash_table_new (NULL, NULL);
  self->filter = GTK_FILTER (gtk_custom_filter_new (row_shown, self, NULL));
  gtk_widget_init_template (GTK_WIDGET (self));
  expression = gtk_cclosure_expression_new (G_TYPE_STRING, NULL, 0, NULL,
                                            G_CALLBACK (folder_label), NULL, NULL);
  gtk_drop_down_set_expression (self->folder_dropdown, expression);
  gtk_expression_unref (expression);
  g_signal_connect (self->folder_dropdown, "notify::selected-item",
                    G_CALLBACK (selected_item_cb), self);
  g_signal_connect (self->messages_view, "activate", G_CALLBACK (row_activate_cb), self);
  add_columns (self);
}

GtkWidget *
ms_mailbox_view_new (void)
{
  return g_object_new (MS_TYPE_MAILBOX_VIEW, NULL);
}
