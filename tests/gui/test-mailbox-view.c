/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The mailbox view (gui/ms-mailbox-view.c): rows built from recorded
 * traces, the marks that tie a change to its event, tooltips, and the
 * view kept in step with events applied one at a time. */

#include "config.h"

#include <string.h>

#include "gui-test-display.h"
#include "gui-test-fixture.h"
#include "ms-gui-resources.h"
#include "ms-mailbox-model.h"
#include "ms-mailbox-view.h"
#include "ms-trace-model.h"

/* Needs a display: the suite runs it under Xvfb (xvfb-run -a). */

#define WAIT_MS 5000

/* ---- The mailbox view: rows tied to events ---- */

typedef struct {
  MsTraceModel *trace;
  MsMailboxModel *model;
  GtkWidget *window;
  MsMailboxView *view;
  guint64 activated_seq;
  char *activated_server;
  guint n_activated;
} MailboxFixture;

static void
event_activated_cb (MsMailboxView *view,
                    guint64 seq,
                    const char *server,
                    MailboxFixture *f)
{
  f->activated_seq = seq;
  g_free (f->activated_server);
  f->activated_server = g_strdup (server);
  f->n_activated++;
}

static void
mailbox_set_up (MailboxFixture *f,
                const char *fixture)
{
  gboolean expired = FALSE;
  guint timeout;

  f->trace = gui_test_load_fixture (fixture);
  f->model = ms_mailbox_model_new ();
  f->view = MS_MAILBOX_VIEW (ms_mailbox_view_new ());
  /* Long enough not to end during a test, unless the test says so. */
  ms_mailbox_view_set_highlight_time (f->view, 60000);
  ms_mailbox_view_set_model (f->view, f->model);
  g_signal_connect (f->view, "event-activated", G_CALLBACK (event_activated_cb), f);
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), 1200, 500);
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->view));
  gtk_window_present (GTK_WINDOW (f->window));
  timeout = g_timeout_add (WAIT_MS, gui_test_timed_out, &expired);
  while (!expired && !gtk_widget_get_mapped (GTK_WIDGET (f->view)))
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timeout);
  g_assert_false (expired);
}

static void
mailbox_tear_down (MailboxFixture *f)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  gui_test_drain ();
  g_clear_object (&f->model);
  g_clear_object (&f->trace);
  g_clear_pointer (&f->activated_server, g_free);
}

/* Lets the view lay its rows out (its marks are applied in an idle). */
static void
mailbox_settle (MailboxFixture *f)
{
  for (int i = 0; i < 5; i++)
    {
      gui_test_drain ();
      g_usleep (10000);
    }
  gui_test_drain ();
}

/* The cells (boxes of class ms-cell) of every row on screen, in column
 * order, by UID: uid -> GPtrArray of GtkWidget. */
static void
collect_cells (GtkWidget *widget,
               GHashTable *rows)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (gtk_widget_has_css_class (child, "ms-cell"))
        {
          /* The cell's row holds the column cells in order: UID first. */
          GtkWidget *row = gtk_widget_get_parent (gtk_widget_get_parent (child));
          GtkWidget *first = gtk_widget_get_first_child (gtk_widget_get_first_child (row));
          const char *uid = gtk_label_get_text (GTK_LABEL (gtk_widget_get_first_child (first)));
          GPtrArray *cells;

          if (!gtk_widget_get_visible (row) || *uid == '\0')
            continue;
          cells = g_hash_table_lookup (rows, GUINT_TO_POINTER (atoi (uid)));
          if (cells == NULL)
            {
              cells = g_ptr_array_new ();
              g_hash_table_insert (rows, GUINT_TO_POINTER (atoi (uid)), cells);
            }
          g_ptr_array_add (cells, child);
          continue;
        }
      collect_cells (child, rows);
    }
}

static GHashTable *
rows_on_screen (MailboxFixture *f)
{
  GHashTable *rows = g_hash_table_new_full (NULL, NULL, NULL,
                                            (GDestroyNotify) g_ptr_array_unref);

  mailbox_settle (f);
  collect_cells (GTK_WIDGET (ms_mailbox_view_get_column_view (f->view)), rows);
  return rows;
}

/* The text a cell shows: its label's, or its button's label's. */
static const char *
cell_text (GtkWidget *cell)
{
  GtkWidget *content = gtk_widget_get_first_child (cell);

  if (GTK_IS_BUTTON (content))
    content = gtk_button_get_child (GTK_BUTTON (content));
  return gtk_label_get_text (GTK_LABEL (content));
}

/* Every cell of the row has `css_class` (or, with `has` FALSE, none has). */
static void
assert_row_class (GPtrArray *cells,
                  const char *css_class,
                  gboolean has)
{
  g_assert_nonnull (cells);
  g_assert_cmpuint (cells->len, ==, 7);
  for (guint i = 0; i < cells->len; i++)
    g_assert_cmpint (gtk_widget_has_css_class (g_ptr_array_index (cells, i), css_class), ==,
                     has);
}

enum { CELL_UID, CELL_FLAGS, CELL_STATUS, CELL_SIZE, CELL_FROM, CELL_SUBJECT, CELL_CHANGE };

/* The cell's tooltip holds `part`. It is asked for (query-tooltip), never
 * set on the cell: setting one costs an X round trip per cell and change. */
static void
assert_tooltip (MsMailboxView *view,
                GtkWidget *cell,
                const char *part)
{
  g_autofree char *text = ms_mailbox_view_dup_cell_tooltip (view, cell);

  g_assert_nonnull (text);
  g_assert_nonnull (strstr (text, part));
  g_assert_true (gtk_widget_get_has_tooltip (cell));
  g_assert_null (gtk_widget_get_tooltip_text (cell));
  g_assert_true (g_signal_has_handler_pending (cell, g_signal_lookup ("query-tooltip",
                                                                      GTK_TYPE_WIDGET),
                                               0, FALSE));
}

static void
test_mailbox_imap_marks (void)
{
  MailboxFixture f = { 0 };
  guint flag = 0, expunge = 0;
  MsEvent *move = NULL, *store = NULL, *expunge_command = NULL;
  g_autoptr(GHashTable) rows = NULL;
  g_autofree char *move_mark = NULL, *store_mark = NULL, *expunge_mark = NULL;
  g_autofree char *tooltip = NULL;
  GPtrArray *cells;
  GtkWidget *button;

  mailbox_set_up (&f, "imap-move.jsonl");
  for (guint i = 0; i < ms_trace_model_get_n_events (f.trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (f.trace, i);
      const char *verb = ms_event_get_string (event, "verb");

      if (event->kind == MS_EVENT_STORE
          && g_strcmp0 (ms_event_get_string (event, "op"), "flag") == 0)
        flag = i;
      if (event->kind == MS_EVENT_STORE && flag != 0 && expunge == 0
          && g_strcmp0 (ms_event_get_string (event, "op"), "expunge") == 0)
        expunge = i;
      if (event->kind == MS_EVENT_COMMAND && g_strcmp0 (verb, "UID MOVE") == 0)
        move = event;
      if (event->kind == MS_EVENT_COMMAND && g_strcmp0 (verb, "UID STORE") == 0)
        store = event;
      if (event->kind == MS_EVENT_COMMAND && g_strcmp0 (verb, "EXPUNGE") == 0)
        expunge_command = event;
    }
  g_assert_nonnull (move);
  g_assert_nonnull (store);
  g_assert_nonnull (expunge_command);
  move_mark = g_strdup_printf ("removed by #%" G_GUINT64_FORMAT " UID MOVE", move->seq);
  store_mark = g_strdup_printf ("#%" G_GUINT64_FORMAT " UID STORE", store->seq);
  expunge_mark = g_strdup_printf ("removed by #%" G_GUINT64_FORMAT " EXPUNGE",
                                  expunge_command->seq);

  /* After STORE +FLAGS (\Deleted): the moved message is gone and not the
   * latest change, so not shown; the flagged one is marked and flashes. */
  ms_mailbox_model_rebuild (f.model, f.trace, flag + 1);
  g_assert_true (ms_mailbox_view_select_folder (f.view, "beta.test", "bob", "INBOX"));
  rows = rows_on_screen (&f);
  g_assert_cmpuint (g_hash_table_size (rows), ==, 1);
  cells = g_hash_table_lookup (rows, GUINT_TO_POINTER (5));
  assert_row_class (cells, "ms-deleted-flag", TRUE);
  assert_row_class (cells, "ms-changed", TRUE);
  assert_row_class (cells, "ms-gone", FALSE);
  assert_row_class (cells, "ms-selected-change", FALSE);
  g_assert_cmpstr (cell_text (g_ptr_array_index (cells, CELL_FLAGS)), ==, "T");
  g_assert_cmpstr (cell_text (g_ptr_array_index (cells, CELL_STATUS)), ==, "\\Deleted");
  g_assert_cmpstr (cell_text (g_ptr_array_index (cells, CELL_CHANGE)), ==, store_mark);
  assert_tooltip (f.view, g_ptr_array_index (cells, CELL_SUBJECT),
                  "a3 UID STORE 5 +FLAGS (\\Deleted) (session imap-5)");
  assert_tooltip (f.view, g_ptr_array_index (cells, CELL_STATUS), "RFC 3501 §2.3.2");

  /* Its mark, clicked: the event that changed it. */
  button = gtk_widget_get_first_child (g_ptr_array_index (cells, CELL_CHANGE));
  g_assert_true (GTK_IS_BUTTON (button));
  g_signal_emit_by_name (button, "clicked");
  g_assert_cmpuint (f.n_activated, ==, 1);
  g_assert_cmpuint (f.activated_seq, ==, store->seq);
  g_assert_cmpstr (f.activated_server, ==, "beta.test");

  /* The MOVE arrow selected: its gone row comes back, marked as selected;
   * the other row is not its change. */
  ms_mailbox_view_set_selected_event (f.view, "beta.test", move->seq);
  g_hash_table_unref (rows);
  rows = rows_on_screen (&f);
  g_assert_cmpuint (g_hash_table_size (rows), ==, 2);
  cells = g_hash_table_lookup (rows, GUINT_TO_POINTER (4));
  assert_row_class (cells, "ms-gone", TRUE);
  assert_row_class (cells, "ms-selected-change", TRUE);
  g_assert_cmpstr (cell_text (g_ptr_array_index (cells, CELL_STATUS)), ==, "gone");
  g_assert_cmpstr (cell_text (g_ptr_array_index (cells, CELL_CHANGE)), ==, move_mark);
  assert_row_class (g_hash_table_lookup (rows, GUINT_TO_POINTER (5)), "ms-selected-change",
                    FALSE);
  /* The same event on another server is another event. */
  ms_mailbox_view_set_selected_event (f.view, "alpha.test", move->seq);
  g_hash_table_unref (rows);
  rows = rows_on_screen (&f);
  g_assert_cmpuint (g_hash_table_size (rows), ==, 1);

  /* The MOVE's other half is in Lectures: selecting it from there shows
   * INBOX's gone row too (the folder shown has a row it changed). */
  g_assert_true (ms_mailbox_view_select_folder (f.view, "beta.test", "bob", "Lectures"));
  ms_mailbox_view_set_selected_event (f.view, "beta.test", move->seq);
  g_hash_table_unref (rows);
  rows = rows_on_screen (&f);
  cells = g_hash_table_lookup (rows, GUINT_TO_POINTER (1));
  assert_row_class (cells, "ms-selected-change", TRUE);
  assert_row_class (cells, "ms-gone", FALSE);
  /* A present row's badge is empty: no tooltip to explain it. */
  tooltip = ms_mailbox_view_dup_cell_tooltip (f.view, g_ptr_array_index (cells, CELL_STATUS));
  g_assert_null (tooltip);
  assert_tooltip (f.view, g_ptr_array_index (cells, CELL_UID), "UID MOVE");

  /* A change elsewhere: none here. The selection is cleared; on to the
   * end: the EXPUNGE is the latest change, its gone row shows in INBOX. */
  ms_mailbox_view_set_selected_event (f.view, NULL, 0);
  g_assert_true (ms_mailbox_view_select_folder (f.view, "beta.test", "bob", "INBOX"));
  ms_mailbox_model_rebuild (f.model, f.trace, G_MAXUINT);
  g_hash_table_unref (rows);
  rows = rows_on_screen (&f);
  g_assert_cmpuint (g_hash_table_size (rows), ==, 1);
  cells = g_hash_table_lookup (rows, GUINT_TO_POINTER (5));
  assert_row_class (cells, "ms-gone", TRUE);
  assert_row_class (cells, "ms-changed", TRUE);
  g_assert_cmpstr (cell_text (g_ptr_array_index (cells, CELL_CHANGE)), ==, expunge_mark);
  /* The tooltip is made when asked: it tells the row's story as it is now. */
  assert_tooltip (f.view, g_ptr_array_index (cells, CELL_FLAGS), "Removed by event");
  assert_tooltip (f.view, g_ptr_array_index (cells, CELL_FLAGS), "EXPUNGE");

  /* Double click or Enter on the row: the same as its mark. */
  g_signal_emit_by_name (ms_mailbox_view_get_column_view (f.view), "activate", 0);
  g_assert_cmpuint (f.n_activated, ==, 2);
  g_assert_cmpuint (f.activated_seq, ==, expunge_command->seq);

  mailbox_tear_down (&f);
}

static void
test_mailbox_pop3_marks (void)
{
  MailboxFixture f = { 0 };
  guint commit = 0, first_mark = 0;
  g_autoptr(GHashTable) rows = NULL;
  gboolean expired = FALSE;
  GtkWidget *first_cell;
  guint timeout;

  mailbox_set_up (&f, "pop3-delete.jsonl");
  for (guint i = 0; i < ms_trace_model_get_n_events (f.trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (f.trace, i);
      const char *op = ms_event_get_string (event, "op");

      if (event->kind == MS_EVENT_STORE && g_strcmp0 (op, "pop3-commit") == 0)
        commit = i;
      if (event->kind == MS_EVENT_STORE && g_strcmp0 (op, "pop3-mark") == 0 && first_mark == 0)
        first_mark = i;
    }
  g_assert_cmpuint (commit, >, 0);

  /* Before QUIT: three rows marked by DELE, each tied to its own DELE. */
  ms_mailbox_model_rebuild (f.model, f.trace, commit);
  g_assert_true (ms_mailbox_view_select_folder (f.view, "beta.test", "bob", "INBOX"));
  rows = rows_on_screen (&f);
  g_assert_cmpuint (g_hash_table_size (rows), ==, 3);
  for (guint uid = 1; uid <= 3; uid++)
    {
      GPtrArray *cells = g_hash_table_lookup (rows, GUINT_TO_POINTER (uid));
      g_autofree char *dele = g_strdup_printf ("DELE %u", uid);
      const char *mark = cell_text (g_ptr_array_index (cells, CELL_CHANGE));

      assert_row_class (cells, "ms-pop3-marked", TRUE);
      assert_row_class (cells, "ms-gone", FALSE);
      /* Only the latest DELE flashes. */
      assert_row_class (cells, "ms-changed", uid == 3);
      g_assert_cmpstr (cell_text (g_ptr_array_index (cells, CELL_STATUS)), ==, "marked · DELE");
      g_assert_true (g_str_has_prefix (mark, "#"));
      g_assert_true (g_str_has_suffix (mark, " DELE"));
      assert_tooltip (f.view, g_ptr_array_index (cells, CELL_FROM), dele);
      assert_tooltip (f.view, g_ptr_array_index (cells, CELL_STATUS), "RFC 1939");
    }

  /* The highlight fades: the class goes once the time is up. */
  ms_mailbox_view_set_highlight_time (f.view, 50);
  ms_mailbox_model_rebuild (f.model, f.trace, G_MAXUINT);
  g_hash_table_unref (rows);
  rows = rows_on_screen (&f);
  g_assert_cmpuint (g_hash_table_size (rows), ==, 3);
  for (guint uid = 1; uid <= 3; uid++)
    {
      GPtrArray *cells = g_hash_table_lookup (rows, GUINT_TO_POINTER (uid));

      assert_row_class (cells, "ms-gone", TRUE);
      assert_row_class (cells, "ms-pop3-marked", FALSE);
      g_assert_true (g_str_has_prefix (cell_text (g_ptr_array_index (cells, CELL_CHANGE)),
                                       "removed by #"));
      g_assert_true (g_str_has_suffix (cell_text (g_ptr_array_index (cells, CELL_CHANGE)),
                                       " QUIT"));
    }
  first_cell = g_ptr_array_index ((GPtrArray *) g_hash_table_lookup (rows, GUINT_TO_POINTER (1)),
                                  CELL_UID);
  timeout = g_timeout_add (WAIT_MS, gui_test_timed_out, &expired);
  while (!expired && gtk_widget_has_css_class (first_cell, "ms-changed"))
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timeout);
  g_assert_false (expired);
  /* Faded, not gone: the QUIT is still the latest change. */
  g_hash_table_unref (rows);
  rows = rows_on_screen (&f);
  g_assert_cmpuint (g_hash_table_size (rows), ==, 3);
  assert_row_class (g_hash_table_lookup (rows, GUINT_TO_POINTER (2)), "ms-changed", FALSE);

  mailbox_tear_down (&f);
}

static void
count_cb (guint *count)
{
  (*count)++;
}

/* The rows the header promises for the folder: every row not gone, and the
 * gone rows the model's latest change removed. */
static void
assert_rows_shown (MailboxFixture *f,
                   const char *server,
                   const char *user,
                   const char *folder,
                   guint step)
{
  GListModel *messages = ms_mailbox_model_get_messages (f->model, server, user, folder);
  GListModel *shown = G_LIST_MODEL (gtk_column_view_get_model (
                                      ms_mailbox_view_get_column_view (f->view)));
  const char *latest_server;
  guint64 latest_seq;
  guint n = 0;

  ms_mailbox_model_get_last_change (f->model, &latest_server, &latest_seq);
  g_assert_nonnull (shown);
  for (guint i = 0; i < g_list_model_get_n_items (messages); i++)
    {
      g_autoptr(MsMessageItem) item = g_list_model_get_item (messages, i);
      g_autoptr(MsMessageItem) row = NULL;
      const char *mark_server;
      guint64 mark_seq;

      if (ms_message_item_get_status (item) == MS_MESSAGE_STATUS_GONE
          && !(ms_message_item_get_mark (item, &mark_server, &mark_seq)
               && mark_seq == latest_seq && g_strcmp0 (mark_server, latest_server) == 0))
        continue;
      row = g_list_model_get_item (shown, n++);
      if (row != item)
        g_test_message ("event %u: UID %u not row %u", step, ms_message_item_get_uid (item),
                        n - 1);
      g_assert_true (row == item);
    }
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, n);
}

/* Events one at a time, as they come live, the view given the time to
 * catch up after each: the rows shown are right after every one (the view
 * does not look at every row at each change, so this checks its short
 * cuts), and following the changes swaps the table's model only when the
 * folder changes. */
static void
test_mailbox_live (void)
{
  const char *fixtures[] = { "pop3-delete.jsonl", "imap-move.jsonl" };

  for (guint x = 0; x < G_N_ELEMENTS (fixtures); x++)
    {
      MailboxFixture f = { 0 };
      GtkColumnView *table;
      guint n_swaps = 0, n_moves = 0, n_store = 0;
      g_autofree char *shown_key = NULL;

      mailbox_set_up (&f, fixtures[x]);
      table = ms_mailbox_view_get_column_view (f.view);
      for (guint i = 0; i < ms_trace_model_get_n_events (f.trace); i++)
        {
          MsEvent *event = ms_trace_model_get_event (f.trace, i);
          const char *user = ms_event_get_string (event, "user");
          const char *folder = ms_event_get_string (event, "to-folder") ?: ms_event_get_string (
            event, "folder");
          g_autofree char *key = NULL;

          ms_mailbox_model_apply (f.model, event);
          if (event->kind != MS_EVENT_STORE || user == NULL || folder == NULL
              || g_str_has_suffix (ms_event_get_string (event, "op"), "-folder"))
            continue;
          /* Counted from the first change: before it, the view shows the
           * first folder as the snapshots bring them. */
          if (n_store++ == 0)
            g_signal_connect_swapped (table, "notify::model", G_CALLBACK (count_cb), &n_swaps);
          ms_mailbox_view_show_change (f.view, event->server, user, folder);
          key = g_strjoin ("/", event->server, user, folder, NULL);
          if (g_strcmp0 (key, shown_key) != 0)
            {
              n_moves++;
              g_free (shown_key);
              shown_key = g_steal_pointer (&key);
            }
          gui_test_drain ();
          assert_rows_shown (&f, event->server, user, folder, i);
        }
      g_test_message ("%s: %u store events, %u folder moves, %u model swaps", fixtures[x],
                      n_store, n_moves, n_swaps);
      g_assert_cmpuint (n_store, >, n_moves);
      g_assert_cmpuint (n_swaps, <=, n_moves);
      mailbox_tear_down (&f);
    }
}

int
main (int argc,
      char *argv[])
{
  if (!gui_test_init_display (&argc, &argv, "/gui/mailbox-view/no-display"))
    return g_test_run ();
  /* The view's template is a resource of the app's library: a reference
   * links it in (its constructor registers it). */
  (void) ms_gui_get_resource ();
  g_test_add_func ("/gui/mailbox-view/imap-marks", test_mailbox_imap_marks);
  g_test_add_func ("/gui/mailbox-view/pop3-marks", test_mailbox_pop3_marks);
  g_test_add_func ("/gui/mailbox-view/live", test_mailbox_live);
  return g_test_run ();
}
