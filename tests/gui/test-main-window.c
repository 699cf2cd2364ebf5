/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-main-window"

#include "config.h"

#include <adwaita.h>
#include <string.h>

#include "gui-test-fixture.h"
#include "ms-main-window-private.h"
#include "ms-sequence-view.h"

/* Lets the window lay out and its views bind their rows. */
static void
iterate (void)
{
  for (int i = 0; i < 200 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

typedef struct {
  MsMainWindow *window;   /* GTK holds it; destroyed in teardown */
  MsTraceModel *trace;    /* the same file, loaded apart, for the expected values */
} Fixture;

static void
fixture_setup (Fixture *fixture,
               gconstpointer data)
{
  const char *name = data;
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", name, NULL);
  g_autoptr(GError) error = NULL;

  fixture->window = ms_main_window_new_for_trace (NULL, path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->window);
  gtk_window_present (GTK_WINDOW (fixture->window));
  iterate ();
  fixture->trace = gui_test_load_fixture (name);
}

static void
fixture_teardown (Fixture *fixture,
                  gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  iterate ();
  g_clear_object (&fixture->trace);
}

static gboolean
is_line (MsEvent *event)
{
  /* What the diagram draws: every line a server saw; a client's own copy
   * of the relay hop is the same line seen from the other side. */
  return (event->kind == MS_EVENT_COMMAND || event->kind == MS_EVENT_REPLY
          || event->kind == MS_EVENT_DATA)
         && g_strcmp0 (ms_event_get_string (event, "direction"), "client") != 0;
}

static void
test_sessions (Fixture *fixture,
               gconstpointer data)
{
  GListModel *shown = G_LIST_MODEL (gtk_list_view_get_model (fixture->window->sessions_view));
  g_autoptr(GHashTable) users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  guint n_sessions = 0;

  for (guint i = 0; i < ms_trace_model_get_n_events (fixture->trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (fixture->trace, i);
      const char *session = ms_event_get_string (event, "session");

      if (event->kind == MS_EVENT_SESSION_OPEN)
        n_sessions++;
      else if (event->kind == MS_EVENT_AUTH && ms_event_get_bool (event, "success", FALSE))
        g_hash_table_insert (users, g_strdup_printf ("%s %s", event->server, session),
                             g_strdup (ms_event_get_string (event, "user")));
    }
  g_assert_cmpuint (n_sessions, >, 0);
  g_assert_cmpuint (g_hash_table_size (users), >, 0);
  g_assert_cmpuint (g_list_model_get_n_items (shown), ==, n_sessions);

  for (guint i = 0; i < g_list_model_get_n_items (shown); i++)
    {
      g_autoptr(MsSessionItem) item = g_list_model_get_item (shown, i);
      g_autofree char *key = g_strdup_printf ("%s %s", ms_session_item_get_server (item),
                                              ms_session_item_get_session (item));

      g_assert_cmpstr (ms_session_item_get_user (item), ==, g_hash_table_lookup (users, key));
      /* The lecture trace was recorded to its end: every session closed. */
      g_assert_false (ms_session_item_get_open (item));
    }
}

static void
test_arrows (Fixture *fixture,
             gconstpointer data)
{
  MsSequenceView *view = MS_SEQUENCE_VIEW (fixture->window->sequence_view);
  MsDiagramModel *diagram = ms_sequence_view_get_model (view);
  guint n_lines = 0;

  for (guint i = 0; i < ms_trace_model_get_n_events (fixture->trace); i++)
    n_lines += is_line (ms_trace_model_get_event (fixture->trace, i));
  g_assert_nonnull (diagram);
  g_assert_true (diagram == fixture->window->diagram);
  g_assert_cmpuint (n_lines, >, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (diagram)), ==, n_lines);
  g_assert_cmpuint (g_list_model_get_n_items (ms_diagram_model_get_lanes (diagram)), ==, 3);
}

static void
test_mailbox (Fixture *fixture,
              gconstpointer data)
{
  MsMailboxView *mailbox = fixture->window->mailbox_view;
  GListModel *rows;
  g_autoptr(GPtrArray) subjects = g_ptr_array_new ();

  for (guint i = 0; i < ms_trace_model_get_n_events (fixture->trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (fixture->trace, i);

      if (event->kind == MS_EVENT_STORE
          && g_strcmp0 (ms_event_get_string (event, "op"), "deliver") == 0
          && g_strcmp0 (ms_event_get_string (event, "user"), "bob") == 0)
        g_ptr_array_add (subjects, (gpointer) ms_event_get_string (event, "subject"));
    }
  g_assert_cmpuint (subjects->len, >, 0);

  g_assert_false (ms_mailbox_view_select_folder (mailbox, "beta.test", "bob", "Nope"));
  g_assert_true (ms_mailbox_view_select_folder (mailbox, "beta.test", "bob", "INBOX"));
  iterate ();
  rows = G_LIST_MODEL (gtk_column_view_get_model (ms_mailbox_view_get_column_view (mailbox)));
  g_assert_nonnull (rows);
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, subjects->len);
  for (guint i = 0; i < subjects->len; i++)
    {
      g_autoptr(MsMessageItem) item = g_list_model_get_item (rows, i);

      g_assert_cmpstr (ms_message_item_get_subject (item), ==, subjects->pdata[i]);
    }

  /* Alice's INBOX received nothing: the table empties. */
  g_assert_true (ms_mailbox_view_select_folder (mailbox, "alpha.test", "alice", "INBOX"));
  rows = G_LIST_MODEL (gtk_column_view_get_model (ms_mailbox_view_get_column_view (mailbox)));
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, 0);
}

static MsEvent *
find_command (MsTraceModel *trace,
              const char *server,
              const char *verb)
{
  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      if (event->kind == MS_EVENT_COMMAND && g_strcmp0 (event->server, server) == 0
          && g_strcmp0 (ms_event_get_string (event, "verb"), verb) == 0)
        return event;
    }
  g_assert_not_reached ();
}

static void
test_inspector (Fixture *fixture,
                gconstpointer data)
{
  MsEvent *rcpt = find_command (fixture->trace, "alpha.test", "RCPT");
  MsEvent *auth = find_command (fixture->trace, "alpha.test", "AUTH");
  MsSequenceView *view = MS_SEQUENCE_VIEW (fixture->window->sequence_view);
  MsInspector *inspector = fixture->window->inspector;
  MsEvent *shown;
  g_autofree char *text = NULL;
  g_autofree char *raw = NULL;
  g_autofree char *auth_text = NULL;

  g_assert_null (ms_inspector_get_event (inspector));

  /* Choosing the arrow in the diagram fills the inspector. */
  ms_sequence_view_set_selected_seq (view, rcpt->seq);
  iterate ();
  g_assert_cmpuint (ms_main_window_get_selected_seq (fixture->window), ==, rcpt->seq);
  shown = ms_inspector_get_event (inspector);
  g_assert_nonnull (shown);
  g_assert_cmpuint (shown->seq, ==, rcpt->seq);
  g_assert_cmpstr (shown->server, ==, "alpha.test");
  text = ms_inspector_get_text (inspector);
  raw = g_strconcat (ms_event_get_string (rcpt, "text"), "␍␊", NULL);
  g_assert_nonnull (strstr (text, raw));
  g_assert_nonnull (strstr (text, "RFC 5321"));
  g_assert_nonnull (strstr (text, "alice (127.0.0.1) → alpha.test"));
  /* The state machine shows the session's state at that line: RCPT came in
   * state "mail" (the state event before it moved ready -> mail). */
  g_assert_cmpstr (ms_state_view_get_protocol (fixture->window->state_view), ==, "smtp");
  g_assert_cmpstr (ms_state_view_get_current (fixture->window->state_view), ==,
                   ms_event_get_string (rcpt, "state"));

  /* The AUTH line was masked when recorded: the inspector says so. */
  ms_main_window_set_selected_seq (fixture->window, auth->seq);
  g_assert_cmpuint (ms_sequence_view_get_selected_seq (view), ==, auth->seq);
  auth_text = ms_inspector_get_text (inspector);
  g_assert_nonnull (strstr (auth_text, "masked"));
  g_assert_nonnull (strstr (auth_text, "Base64 is not encryption"));
  g_assert_nonnull (strstr (auth_text, "RFC 4954"));

  g_assert_cmpstr (ms_state_view_get_current (fixture->window->state_view), ==,
                   ms_event_get_string (auth, "state"));

  ms_main_window_set_selected_seq (fixture->window, 0);
  g_assert_null (ms_inspector_get_event (inspector));
  g_assert_null (ms_state_view_get_protocol (fixture->window->state_view));
}

static void
test_decode_auth (void)
{
  static const struct {
    const char *line;
    const char *decoded;
  } cases[] = {
    { "AUTH PLAIN AGFsaWNlAGFsaWNlcHc=", "\\0alice\\0alicepw" },
    { "YWxpY2U=", "alice" },                       /* a line of AUTH LOGIN */
    { "AUTH PLAIN ********", NULL },                /* masked */
    { "AUTH PLAIN =", NULL },                       /* empty initial response */
    { "AUTH LOGIN", NULL },
    { "AUTH PLAIN abc", NULL },                     /* not a multiple of 4 */
    { "", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *decoded = ms_inspector_decode_auth (cases[i].line);

      g_assert_cmpstr (decoded, ==, cases[i].decoded);
    }
}

static void
test_status_classes (void)
{
  g_assert_null (ms_mailbox_view_status_class (MS_MESSAGE_STATUS_PRESENT));
  g_assert_cmpstr (ms_mailbox_view_status_class (MS_MESSAGE_STATUS_POP3_MARKED), ==,
                   "ms-pop3-marked");
  g_assert_cmpstr (ms_mailbox_view_status_class (MS_MESSAGE_STATUS_DELETED_FLAG), ==,
                   "ms-deleted-flag");
  g_assert_cmpstr (ms_mailbox_view_status_class (MS_MESSAGE_STATUS_GONE), ==, "ms-gone");
}

static void
test_bad_trace (void)
{
  g_autoptr(GError) error = NULL;
  MsMainWindow *window = ms_main_window_new_for_trace (NULL, "/nonexistent/trace.jsonl",
                                                       &error);

  g_assert_null (window);
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
}

int
main (int argc,
      char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add ("/gui/main-window/sessions", Fixture, "lecture.jsonl", fixture_setup,
              test_sessions, fixture_teardown);
  g_test_add ("/gui/main-window/arrows", Fixture, "lecture.jsonl", fixture_setup,
              test_arrows, fixture_teardown);
  g_test_add ("/gui/main-window/mailbox", Fixture, "lecture.jsonl", fixture_setup,
              test_mailbox, fixture_teardown);
  g_test_add ("/gui/main-window/inspector", Fixture, "lecture.jsonl", fixture_setup,
              test_inspector, fixture_teardown);
  g_test_add_func ("/gui/main-window/decode-auth", test_decode_auth);
  g_test_add_func ("/gui/main-window/status-classes", test_status_classes);
  g_test_add_func ("/gui/main-window/bad-trace", test_bad_trace);
  return g_test_run ();
}
