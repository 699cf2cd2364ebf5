/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-imap-page"

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "ms-imap-page.h"
#include "ms-main-window.h"
#include "ms-server.h"
#include "ms-test-util.h"

#define DEVICE "alice's laptop"

/* An IMAP server in this process on a free loopback port, alice with
 * three messages in INBOX and two more folders, and the page on it in a
 * window: every operation is a real IMAP session over the main loop. */
typedef struct {
  char *dir;
  MsTraceBus *bus;
  MsServer *server;
  MsAgentAccount *account;
  GtkWindow *window;
  MsImapPage *page;          /* borrowed: the window's child */
  GPtrArray *device_lines;   /* the verbs of the commands the device sent */
  guint32 uids[3];
} Fixture;

static const struct {
  const char *subject;
  const char *body;
} messages[] = {
  { "Lecture notes", "See you at ten in room 4.\r\n" },
  { "Move me", "This one goes to Work.\r\n" },
  { "Delete me", "This one is expunged.\r\n" },
};

static void
event_cb (const MsEvent *event,
          gpointer user_data)
{
  Fixture *fixture = user_data;

  if (event->kind == MS_EVENT_COMMAND && g_strcmp0 (event->server, DEVICE) == 0 &&
      g_strcmp0 (ms_event_get_string (event, "direction"), "client") == 0 &&
      ms_event_get_string (event, "verb") != NULL)
    g_ptr_array_add (fixture->device_lines, g_strdup (ms_event_get_string (event, "verb")));
}

static void
load_css (void)
{
  static gboolean loaded;
  g_autoptr(GtkCssProvider) provider = NULL;

  if (loaded)
    return;
  provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider, "/org/mailscope/Mailscope/mailscope.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  loaded = TRUE;
}

static void
deliver (Fixture *fixture)
{
  MsStore *store = ms_server_get_store (fixture->server);
  g_autoptr(GError) error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (messages); i++)
    {
      g_autofree char *text = g_strdup_printf ("From: Bob <bob@beta.test>\r\n"
                                               "To: alice@alpha.test\r\n"
                                               "Subject: %s\r\n"
                                               "Date: Mon, 2 Nov 2026 10:0%zu:00 +0000\r\n"
                                               "\r\n"
                                               "%s",
                                               messages[i].subject, i, messages[i].body);

      g_assert_true (ms_store_deliver (store, "alice", "INBOX", (const guint8 *) text,
                                       strlen (text), NULL, 0, &fixture->uids[i], &error));
      g_assert_no_error (error);
    }
  g_assert_true (ms_store_create_folder (store, "alice", "Work", &error));
  g_assert_no_error (error);
  g_assert_true (ms_store_create_folder (store, "alice", "Trash", &error));
  g_assert_no_error (error);
}

static void
fixture_setup (Fixture *fixture,
               gconstpointer data)
{
  const char *password = data != NULL ? data : "alicepw";
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = NULL;
  MsServerConfig config = { .domain = "alpha.test" };

  load_css ();
  fixture->dir = g_dir_make_tmp ("ms-test-imap-page-XXXXXX", &error);
  g_assert_no_error (error);
  data_dir = g_build_filename (fixture->dir, "alpha.test", NULL);
  config.data_dir = data_dir;
  /* Not the demo's fixed ports: any free one, IMAP only. */
  config.ports[MS_LISTENER_IMAP] = MS_SERVER_PORT_ANY;
  fixture->bus = ms_trace_bus_new ();
  fixture->device_lines = g_ptr_array_new_with_free_func (g_free);
  ms_trace_bus_subscribe (fixture->bus, event_cb, fixture, NULL);
  fixture->server = ms_server_new (&config, fixture->bus, &error);
  g_assert_no_error (error);
  g_assert_true (ms_server_set_password (fixture->server, "alice", "alicepw", &error));
  g_assert_no_error (error);
  g_assert_true (ms_server_start (fixture->server, &error));
  g_assert_no_error (error);
  deliver (fixture);

  fixture->account = ms_agent_account_new (fixture->bus, "alpha.test", "127.0.0.1", 0, 0,
                                           ms_server_get_port (fixture->server,
                                                               MS_LISTENER_IMAP),
                                           "alice", password, DEVICE);
  fixture->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (fixture->window, 1280, 800);
  gtk_widget_add_css_class (GTK_WIDGET (fixture->window), "ms-main");
  fixture->page = MS_IMAP_PAGE (ms_imap_page_new (fixture->account));
  gtk_window_set_child (fixture->window, GTK_WIDGET (fixture->page));
  gtk_window_present (fixture->window);
}

static void
fixture_teardown (Fixture *fixture,
                  gconstpointer data)
{
  if (fixture->window != NULL)
    gtk_window_destroy (fixture->window);
  g_clear_object (&fixture->account);
  ms_server_stop (fixture->server);
  /* Let closed connections finish their callbacks. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_clear_pointer (&fixture->server, ms_server_free);
  ms_trace_bus_unref (fixture->bus);
  g_ptr_array_unref (fixture->device_lines);
  ms_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the main loop until the page is idle (at most 20 s), then lets the
 * views bind their rows. */
static void
wait_idle (MsImapPage *page)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint tick = g_timeout_add (20, tick_cb, NULL);

  while (ms_imap_page_get_busy (page) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  for (int i = 0; i < 20; i++)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick);
  g_assert_false (ms_imap_page_get_busy (page));
}

typedef gboolean (*WidgetTest) (GtkWidget *widget, const char *value);

/* The first widget at or below `widget`, depth first, that passes. */
static GtkWidget *
find_widget (GtkWidget *widget,
             WidgetTest test,
             const char *value)
{
  if (test (widget, value))
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_widget (child, test, value);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
is_button_for (GtkWidget *widget,
               const char *action)
{
  return GTK_IS_BUTTON (widget) &&
         g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), action) == 0;
}

static gboolean
is_label_of (GtkWidget *widget,
             const char *text)
{
  return GTK_IS_LABEL (widget) && g_strcmp0 (gtk_label_get_text (GTK_LABEL (widget)), text) == 0;
}

static GtkWidget *
find_button (GtkWidget *widget,
             const char *action)
{
  return find_widget (widget, is_button_for, action);
}

/* The cell of the message table that shows `text`. */
static GtkWidget *
find_label (GtkWidget *widget,
            const char *text)
{
  return find_widget (widget, is_label_of, text);
}

static GtkWidget *
subject_cell (Fixture *fixture,
              const char *subject)
{
  GtkWidget *cell = find_label (GTK_WIDGET (ms_imap_page_get_message_view (fixture->page)),
                                subject);

  g_assert_nonnull (cell);
  return cell;
}

/* The file of the message with Maildir base name `base` in the folder's
 * directory ("" for INBOX, ".Work"), searched in cur/ and new/: the
 * name after the directory, or NULL when there is none. */
static char *
find_file (Fixture *fixture,
           const char *folder_dir,
           const char *base)
{
  const char * const subdirs[] = { "cur", "new" };

  for (gsize i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *path = g_build_filename (fixture->dir, "alpha.test", "mail", "alice",
                                                folder_dir, subdirs[i], NULL);
      g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_prefix (name, base) &&
            (name[strlen (base)] == '\0' || name[strlen (base)] == ':'))
          return g_build_filename (subdirs[i], name, NULL);
    }
  return NULL;
}

/* The Maildir base names of INBOX's messages, in UID order. */
static GPtrArray *
store_bases (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = ms_store_list (ms_server_get_store (fixture->server), "alice",
                                             "INBOX", &error);
  GPtrArray *bases = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  for (guint i = 0; i < list->len; i++)
    g_ptr_array_add (bases, g_strdup (((MsStoreMessage *) list->pdata[i])->name));
  return bases;
}

static gboolean
select_uid (Fixture *fixture,
            guint32 uid)
{
  GtkSingleSelection *selection = ms_imap_page_get_message_selection (fixture->page);
  GListModel *rows = G_LIST_MODEL (selection);

  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(MsImapPageMessage) row = g_list_model_get_item (rows, i);

      if (ms_imap_page_message_get_uid (row) == uid)
        {
          gtk_single_selection_set_selected (selection, i);
          return TRUE;
        }
    }
  return FALSE;
}

static MsImapPageMessage *
row_for_uid (Fixture *fixture,
             guint32 uid)
{
  GListModel *rows = G_LIST_MODEL (ms_imap_page_get_message_selection (fixture->page));

  for (guint i = 0; i < g_list_model_get_n_items (rows); i++)
    {
      g_autoptr(MsImapPageMessage) row = g_list_model_get_item (rows, i);

      if (ms_imap_page_message_get_uid (row) == uid)
        return g_steal_pointer (&row);
    }
  return NULL;
}

/* Runs the action, checks that the buttons are off while it runs, waits. */
static void
run_action (Fixture *fixture,
            const char *action,
            const char *target)
{
  GtkWidget *refresh = find_button (GTK_WIDGET (fixture->page), "imap.refresh");

  g_assert_nonnull (refresh);
  g_assert_true (gtk_widget_is_sensitive (refresh));
  if (target != NULL)
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), action, "s", target));
  else
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), action, NULL));
  g_assert_true (ms_imap_page_get_busy (fixture->page));
  g_assert_false (gtk_widget_is_sensitive (refresh));
  wait_idle (fixture->page);
  g_assert_cmpstr (ms_imap_page_get_error (fixture->page), ==, NULL);
  g_assert_true (gtk_widget_is_sensitive (refresh));
}

static void
save_png (Fixture *fixture,
          const char *name)
{
  g_autofree char *png = g_build_filename (g_get_tmp_dir (), name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (ms_widget_save_png (GTK_WIDGET (fixture->page), png, &error));
  g_assert_no_error (error);
  g_test_message ("screenshot: %s", png);
}

static void
check_folders (Fixture *fixture)
{
  GListModel *folders = G_LIST_MODEL (ms_imap_page_get_folder_selection (fixture->page));
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = ms_store_list_folders (ms_server_get_store (fixture->server),
                                                      "alice", &error);
  gboolean saw_trash = FALSE;

  g_assert_no_error (error);
  g_assert_cmpuint (names->len, ==, 3);
  g_assert_cmpuint (g_list_model_get_n_items (folders), ==, names->len);
  for (guint i = 0; i < names->len; i++)
    {
      g_autoptr(MsImapPageFolder) folder = g_list_model_get_item (folders, i);
      const char *name = ms_imap_page_folder_get_name (folder);

      /* The store lists INBOX first and the others sorted; so does LIST. */
      g_assert_cmpstr (name, ==, names->pdata[i]);
      g_assert_true (ms_imap_page_folder_get_selectable (folder));
      if (g_str_equal (name, "Trash"))
        {
          g_assert_cmpstr (ms_imap_page_folder_get_special_use (folder), ==, "\\Trash");
          saw_trash = TRUE;
        }
      else
        g_assert_null (ms_imap_page_folder_get_special_use (folder));
    }
  g_assert_true (saw_trash);
  g_assert_cmpstr (ms_imap_page_get_shown_folder (fixture->page), ==, "INBOX");
  g_assert_cmpuint (gtk_single_selection_get_selected (
                      ms_imap_page_get_folder_selection (fixture->page)), ==, 0);
}

static void
check_rows (Fixture *fixture)
{
  GListModel *rows = G_LIST_MODEL (ms_imap_page_get_message_selection (fixture->page));
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = ms_store_list (ms_server_get_store (fixture->server), "alice",
                                             "INBOX", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, list->len);
  for (guint i = 0; i < list->len; i++)
    {
      MsStoreMessage *stored = list->pdata[i];
      g_autoptr(MsImapPageMessage) row = g_list_model_get_item (rows, i);
      g_autofree char *subject = NULL;
      g_autofree char *from = NULL;

      g_assert_true (ms_store_get_summary (ms_server_get_store (fixture->server), "alice",
                                           "INBOX", stored->uid, &subject, &from, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (ms_imap_page_message_get_uid (row), ==, stored->uid);
      g_assert_cmpstr (ms_imap_page_message_get_subject (row), ==, subject);
      g_assert_cmpstr (ms_imap_page_message_get_from (row), ==, from);
      g_assert_cmpuint (ms_imap_page_message_get_size (row), ==, stored->size);
      g_assert_cmpint (ms_imap_page_message_has_flag (row, "\\Seen"), ==,
                       strchr (stored->flags, 'S') != NULL);
    }
}

/* Whether the device sent a command `verb` ("UID MOVE"): the client's
 * `command` events name it as the server's do (docs/trace-format.md). */
static gboolean
sent_command (Fixture *fixture,
              const char *verb)
{
  for (guint i = 0; i < fixture->device_lines->len; i++)
    if (g_strcmp0 (fixture->device_lines->pdata[i], verb) == 0)
      return TRUE;
  g_test_message ("the device sent no %s", verb);
  return FALSE;
}

static void
test_browse (Fixture *fixture,
             gconstpointer data)
{
  g_autoptr(GPtrArray) bases = store_bases (fixture);
  g_autoptr(MsImapPageMessage) row = NULL;
  g_autofree char *file = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  const char * const expected_verbs[] = {
    "AUTHENTICATE", "LIST", "EXAMINE", "UID FETCH", "SELECT", "UID STORE", "UID MOVE", "EXPUNGE",
    "LOGOUT",
  };

  g_test_summary ("The IMAP browser lists alice's folders and messages from a live server, "
                  "and open, flag, move, delete and expunge change the Maildir on disk.");
  wait_idle (fixture->page);
  g_assert_cmpstr (ms_imap_page_get_error (fixture->page), ==, NULL);
  check_folders (fixture);
  check_rows (fixture);
  g_assert_true (gtk_widget_has_css_class (subject_cell (fixture, "Lecture notes"),
                                           "ms-imap-unseen"));

  /* Open: BODY[] sets \Seen (RFC 3501 §6.4.5); the file gets S. */
  g_assert_true (select_uid (fixture, fixture->uids[0]));
  run_action (fixture, "imap.open", NULL);
  text = ms_imap_page_get_message_text (fixture->page);
  g_assert_nonnull (strstr (text, "Subject: Lecture notes\n"));
  g_assert_nonnull (strstr (text, "See you at ten in room 4."));
  g_assert_null (strchr (text, '\r'));
  file = find_file (fixture, "", bases->pdata[0]);
  g_assert_nonnull (file);
  g_assert_true (g_str_has_suffix (file, ":2,S"));
  check_rows (fixture);
  g_assert_false (gtk_widget_has_css_class (subject_cell (fixture, "Lecture notes"),
                                            "ms-imap-unseen"));
  /* The reload kept the message chosen and the text shown. */
  row = row_for_uid (fixture, fixture->uids[0]);
  g_assert_true (gtk_single_selection_get_selected_item (
                   ms_imap_page_get_message_selection (fixture->page)) == row);
  g_clear_pointer (&text, g_free);
  text = ms_imap_page_get_message_text (fixture->page);
  g_assert_nonnull (strstr (text, "See you at ten"));
  g_clear_object (&row);
  save_png (fixture, "ms-imap-page-opened.png");

  /* Flag: \Flagged is F, and the row gets its star. */
  run_action (fixture, "imap.toggle-flagged", NULL);
  g_clear_pointer (&file, g_free);
  file = find_file (fixture, "", bases->pdata[0]);
  g_assert_true (g_str_has_suffix (file, ":2,FS"));
  row = row_for_uid (fixture, fixture->uids[0]);
  g_assert_true (ms_imap_page_message_has_flag (row, "\\Flagged"));
  g_assert_nonnull (find_label (GTK_WIDGET (ms_imap_page_get_message_view (fixture->page)),
                                "★"));
  g_clear_object (&row);

  /* Mark unread: -FLAGS (\Seen) takes the S away, the F stays. */
  run_action (fixture, "imap.toggle-seen", NULL);
  g_clear_pointer (&file, g_free);
  file = find_file (fixture, "", bases->pdata[0]);
  g_assert_true (g_str_has_suffix (file, ":2,F"));
  check_rows (fixture);

  /* Move: the file leaves INBOX for Work's Maildir, the row goes. */
  g_assert_true (select_uid (fixture, fixture->uids[1]));
  run_action (fixture, "imap.move", "Work");
  g_clear_pointer (&file, g_free);
  file = find_file (fixture, "", bases->pdata[1]);
  g_assert_null (file);
  {
    g_autoptr(GPtrArray) work = ms_store_list (ms_server_get_store (fixture->server), "alice",
                                               "Work", &error);
    g_autofree char *subject = NULL;

    g_assert_no_error (error);
    g_assert_cmpuint (work->len, ==, 1);
    file = find_file (fixture, ".Work", ((MsStoreMessage *) work->pdata[0])->name);
    g_assert_nonnull (file);
    g_assert_true (ms_store_get_summary (ms_server_get_store (fixture->server), "alice", "Work",
                                         ((MsStoreMessage *) work->pdata[0])->uid, &subject,
                                         NULL, &error));
    g_assert_cmpstr (subject, ==, "Move me");
  }
  g_assert_null (row_for_uid (fixture, fixture->uids[1]));
  check_rows (fixture);

  /* Delete: \Deleted is T; the message stays, struck through. */
  g_assert_true (select_uid (fixture, fixture->uids[2]));
  run_action (fixture, "imap.delete", NULL);
  g_clear_pointer (&file, g_free);
  file = find_file (fixture, "", bases->pdata[2]);
  g_assert_nonnull (file);
  g_assert_true (g_str_has_suffix (file, ":2,T"));
  row = row_for_uid (fixture, fixture->uids[2]);
  g_assert_nonnull (row);
  g_assert_true (ms_imap_page_message_has_flag (row, "\\Deleted"));
  g_assert_true (gtk_widget_has_css_class (subject_cell (fixture, "Delete me"),
                                           "ms-imap-deleted"));
  g_assert_false (gtk_widget_has_css_class (subject_cell (fixture, "Lecture notes"),
                                            "ms-imap-deleted"));
  g_clear_object (&row);
  check_rows (fixture);
  save_png (fixture, "ms-imap-page-deleted.png");

  /* Expunge: the struck-through message goes, file and row. */
  run_action (fixture, "imap.expunge", NULL);
  g_clear_pointer (&file, g_free);
  file = find_file (fixture, "", bases->pdata[2]);
  g_assert_null (file);
  g_assert_null (row_for_uid (fixture, fixture->uids[2]));
  check_rows (fixture);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (
                      ms_imap_page_get_message_selection (fixture->page))), ==, 1);

  /* The other side: the device's own commands, on the same bus. */
  for (gsize i = 0; i < G_N_ELEMENTS (expected_verbs); i++)
    g_assert_true (sent_command (fixture, expected_verbs[i]));
}

/* Choosing another folder lists it; the Move menu then offers INBOX. */
static void
test_choose_folder (Fixture *fixture,
                    gconstpointer data)
{
  GtkSingleSelection *folders;

  wait_idle (fixture->page);
  folders = ms_imap_page_get_folder_selection (fixture->page);
  gtk_single_selection_set_selected (folders, 2);
  g_assert_true (ms_imap_page_get_busy (fixture->page));
  wait_idle (fixture->page);
  g_assert_cmpstr (ms_imap_page_get_error (fixture->page), ==, NULL);
  g_assert_cmpstr (ms_imap_page_get_shown_folder (fixture->page), ==, "Work");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (
                      ms_imap_page_get_message_selection (fixture->page))), ==, 0);

  /* Back to INBOX, chosen while a refresh runs: listed when it ends. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->page), "imap.refresh", NULL));
  gtk_single_selection_set_selected (folders, 0);
  wait_idle (fixture->page);
  g_assert_cmpstr (ms_imap_page_get_shown_folder (fixture->page), ==, "INBOX");
  check_rows (fixture);
}

/* Opening a MIME message shows its text/plain part decoded, not the
 * multipart's raw body with the attachment's base64. */
static void
test_open_mime (Fixture *fixture,
                gconstpointer data)
{
  static const char mime[] =
    "From: Carol <carol@alpha.test>\r\n"
    "Subject: =?UTF-8?Q?Caf=C3=A9?=\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
    "\r\n"
    "--b1\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "Un caf=C3=A9 apr=C3=A8s le cours ?\r\n"
    "--b1\r\n"
    "Content-Type: application/octet-stream\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "QkFTRTY0QVRUQUNITUVOVA==\r\n"
    "--b1--\r\n";
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(MsImapPageMessage) row = NULL;
  guint32 uid = 0;

  wait_idle (fixture->page);
  g_assert_true (ms_store_deliver (ms_server_get_store (fixture->server), "alice", "INBOX",
                                   (const guint8 *) mime, strlen (mime), NULL, 0, &uid,
                                   &error));
  g_assert_no_error (error);
  run_action (fixture, "imap.refresh", NULL);
  row = row_for_uid (fixture, uid);
  g_assert_nonnull (row);
  g_assert_cmpstr (ms_imap_page_message_get_subject (row), ==, "Café");
  g_assert_true (select_uid (fixture, uid));
  run_action (fixture, "imap.open", NULL);
  text = ms_imap_page_get_message_text (fixture->page);
  g_assert_nonnull (strstr (text, "Content-Type: multipart/mixed"));
  g_assert_nonnull (strstr (text, "Un café après le cours ?"));
  g_assert_null (strstr (text, "caf=C3=A9"));
  g_assert_null (strstr (text, "QkFTRTY0"));
}

/* A wrong password: the page says so in words and stays usable. */
static void
test_refused (Fixture *fixture,
              gconstpointer data)
{
  const char *error;

  wait_idle (fixture->page);
  error = ms_imap_page_get_error (fixture->page);
  g_assert_nonnull (error);
  g_assert_true (g_str_has_prefix (error, "Could not list the folders: "));
  g_test_message ("error shown: %s", error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (
                      ms_imap_page_get_folder_selection (fixture->page))), ==, 0);
  g_assert_true (gtk_widget_is_sensitive (find_button (GTK_WIDGET (fixture->page),
                                                       "imap.refresh")));
}

/* The page goes while its session runs: the session's end must not touch
 * it (ASan would see). */
static void
test_gone (Fixture *fixture,
           gconstpointer data)
{
  gpointer page = fixture->page;
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  g_assert_true (ms_imap_page_get_busy (fixture->page));
  g_object_add_weak_pointer (G_OBJECT (page), &page);
  gtk_window_destroy (fixture->window);
  fixture->window = NULL;
  fixture->page = NULL;
  while (g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE);
  g_assert_null (page);
  g_assert_cmpuint (ms_server_get_connection_count (fixture->server), ==, 0);
}

/* Another account: what runs is dropped, the new one's folders come. */
static void
test_switch_account (Fixture *fixture,
                     gconstpointer data)
{
  g_autoptr(MsAgentAccount) again = NULL;

  g_assert_true (ms_imap_page_get_busy (fixture->page));
  again = ms_agent_account_new (fixture->bus, "alpha.test", "127.0.0.1", 0, 0,
                                ms_server_get_port (fixture->server, MS_LISTENER_IMAP),
                                "alice", "alicepw", DEVICE);
  ms_imap_page_set_account (fixture->page, again);
  g_assert_true (ms_imap_page_get_account (fixture->page) == again);
  wait_idle (fixture->page);
  g_assert_cmpstr (ms_imap_page_get_error (fixture->page), ==, NULL);
  check_folders (fixture);
  check_rows (fixture);

  ms_imap_page_set_account (fixture->page, NULL);
  g_assert_false (ms_imap_page_get_busy (fixture->page));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (
                      ms_imap_page_get_folder_selection (fixture->page))), ==, 0);
  g_assert_false (gtk_widget_is_sensitive (find_button (GTK_WIDGET (fixture->page),
                                                        "imap.refresh")));
}

int
main (int argc,
      char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add ("/gui/imap-page/browse", Fixture, NULL, fixture_setup, test_browse,
              fixture_teardown);
  g_test_add ("/gui/imap-page/choose-folder", Fixture, NULL, fixture_setup,
              test_choose_folder, fixture_teardown);
  g_test_add ("/gui/imap-page/open-mime", Fixture, NULL, fixture_setup, test_open_mime,
              fixture_teardown);
  g_test_add ("/gui/imap-page/refused", Fixture, "wrongpw", fixture_setup, test_refused,
              fixture_teardown);
  g_test_add ("/gui/imap-page/gone", Fixture, NULL, fixture_setup, test_gone,
              fixture_teardown);
  g_test_add ("/gui/imap-page/switch-account", Fixture, NULL, fixture_setup,
              test_switch_account, fixture_teardown);
  return g_test_run ();
}
