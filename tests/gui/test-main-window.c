/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-main-window"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gui-test-fixture.h"
#include "ms-main-window-private.h"
#include "ms-sequence-view.h"
#include "ms-test-util.h"
#include "ms-trace-client.h"
#include "ms-trace-port.h"

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
  /* What the diagram draws: every line a server saw, and each TLS
   * handshake; a client's own copy of the relay hop is the same line seen
   * from the other side. */
  return (event->kind == MS_EVENT_COMMAND || event->kind == MS_EVENT_REPLY
          || event->kind == MS_EVENT_DATA || event->kind == MS_EVENT_TLS)
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

  /* What a row says: protocol, user, peer and state. */
  iterate ();
  {
    g_autoptr(MsSessionItem) item = g_list_model_get_item (shown, 0);
    GtkWidget *row = _ms_main_window_get_session_row (fixture->window,
                                                      ms_session_item_get_server (item),
                                                      ms_session_item_get_session (item));
    GtkWidget *detail;
    const char *text;

    g_assert_nonnull (row);
    detail = gtk_widget_get_next_sibling (gtk_widget_get_first_child (row));
    text = gtk_label_get_text (GTK_LABEL (detail));
    g_test_message ("row: %s", text);
    g_assert_true (g_str_has_prefix (text, "SMTP"));
    g_assert_nonnull (strstr (text, ms_session_item_get_peer (item)));
    g_assert_nonnull (strstr (text, ms_session_item_get_state (item)));
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

  /* Nobody chose a folder yet: the view shows where the last delivery
   * landed, bob's INBOX on beta. */
  iterate ();
  rows = G_LIST_MODEL (gtk_column_view_get_model (ms_mailbox_view_get_column_view (mailbox)));
  g_assert_nonnull (rows);
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, subjects->len);

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

static MsEvent *
find_kind (MsTraceModel *trace,
           const char *server,
           MsEventKind kind)
{
  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      if (event->kind == kind && g_strcmp0 (event->server, server) == 0)
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

  /* beta's side of the relay's STARTTLS: the handshake, with its version,
   * cipher and certificate, and what it means. Its seq is also one of
   * alpha's: the server picks the arrow. */
  {
    MsEvent *tls = find_kind (fixture->trace, "beta.test", MS_EVENT_TLS);
    g_autofree char *tls_text = NULL;

    ms_sequence_view_select_event (view, "beta.test", tls->seq);
    shown = ms_inspector_get_event (inspector);
    g_assert_nonnull (shown);
    g_assert_cmpint (shown->kind, ==, MS_EVENT_TLS);
    g_assert_cmpstr (shown->server, ==, "beta.test");
    g_assert_cmpuint (shown->seq, ==, tls->seq);
    tls_text = ms_inspector_get_text (inspector);
    g_assert_nonnull (strstr (tls_text, "TLS handshake"));
    g_assert_nonnull (strstr (tls_text, "TLSv1.3, TLS_AES_256_GCM_SHA384"));
    g_assert_nonnull (strstr (tls_text, "server certificate: CN=beta.test"));
    g_assert_nonnull (strstr (tls_text, "RFC 3207"));
  }

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

/* --- step mode on a live world ------------------------------------------- */

typedef struct {
  char *dir;
  MsTraceBus *bus;
  MsWorld *world;
  MsServer *server;       /* borrowed: the world's */
  MsMainWindow *window;   /* GTK holds it */
} LiveFixture;

static void
live_setup (LiveFixture *fixture,
            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data_dir = NULL;
  MsServerConfig config = { .domain = "alpha.test" };

  fixture->dir = g_dir_make_tmp ("ms-test-gstep-XXXXXX", &error);
  g_assert_no_error (error);
  data_dir = g_build_filename (fixture->dir, "alpha.test", NULL);
  config.data_dir = data_dir;
  /* Not the demo's fixed ports: any free one, SMTP only. */
  config.ports[MS_LISTENER_SMTP] = MS_SERVER_PORT_ANY;
  fixture->bus = ms_trace_bus_new ();
  fixture->window = ms_main_window_new_for_bus (NULL, fixture->bus, "test world");
  fixture->server = ms_server_new (&config, fixture->bus, &error);
  g_assert_no_error (error);
  fixture->world = ms_world_new (fixture->bus);
  ms_world_add_server (fixture->world, fixture->server);
  g_assert_true (ms_world_start (fixture->world, &error));
  g_assert_no_error (error);
  ms_main_window_set_world (fixture->window, fixture->world);
  gtk_window_present (GTK_WINDOW (fixture->window));
  iterate ();
}

static void
live_teardown (LiveFixture *fixture,
               gconstpointer data)
{
  ms_main_window_set_world (fixture->window, NULL);
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  ms_world_stop (fixture->world);
  iterate ();
  g_clear_pointer (&fixture->world, ms_world_free);
  g_clear_pointer (&fixture->bus, ms_trace_bus_unref);
  ms_test_remove_tree (fixture->dir);
  g_clear_pointer (&fixture->dir, g_free);
}

/* Iterates the main context for `ms` milliseconds, reading what the server
 * sends into `received`; stops early once `until` (if not NULL) is in it
 * after offset `from`. */
static void
pump (GSocket *socket,
      GString *received,
      gsize from,
      const char *until,
      guint ms)
{
  gint64 deadline = g_get_monotonic_time () + ms * (G_USEC_PER_SEC / 1000);

  while (g_get_monotonic_time () < deadline
         && (until == NULL || strstr (received->str + from, until) == NULL))
    {
      char buffer[512];
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

      if (n > 0)
        g_string_append_len (received, buffer, n);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* A raw client on the server's SMTP port, its greeting read. */
static GSocketConnection *
connect_smtp (LiveFixture *fixture,
              GString *received)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection;
  GSocket *socket;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                ms_server_get_port (fixture->server,
                                                                    MS_LISTENER_SMTP),
                                                NULL, &error);
  g_assert_no_error (error);
  socket = g_socket_connection_get_socket (connection);
  g_socket_set_blocking (socket, FALSE);
  pump (socket, received, 0, "\r\n", 5000);
  g_assert_true (g_str_has_prefix (received->str, "220 "));
  return connection;
}

static guint
count_arrows (MsMainWindow *window,
              const char *text)
{
  GListModel *arrows = G_LIST_MODEL (window->diagram);
  guint n = 0;

  for (guint i = 0; i < g_list_model_get_n_items (arrows); i++)
    {
      g_autoptr(MsArrowItem) arrow = g_list_model_get_item (arrows, i);

      n += g_str_has_prefix (ms_arrow_item_get_text (arrow) ?: "", text);
    }
  return n;
}

static const char *
row_pending_text (MsMainWindow *window,
                  const char *session)
{
  GtkWidget *row = _ms_main_window_get_session_row (window, "alpha.test", session);

  g_assert_nonnull (row);
  if (!gtk_widget_get_visible (gtk_widget_get_last_child (row)))
    return NULL;
  return gtk_label_get_text (GTK_LABEL (gtk_widget_get_last_child (row)));
}

static void
test_step (LiveFixture *fixture,
           gconstpointer data)
{
  GtkWidget *widget = GTK_WIDGET (fixture->window);
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  GSocket *socket;
  const char *helo = "HELO x\r\n";
  gsize before;

  g_test_summary ("Step mode holds a live session's HELO (no reply, the session marked "
                  "pending, no arrow) until win.step releases it.");
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (fixture->window->step_button)));
  g_assert_true (gtk_widget_activate_action (widget, "win.step-mode", NULL));
  g_assert_true (ms_main_window_get_step_mode (fixture->window));
  g_assert_true (gtk_toggle_button_get_active (fixture->window->step_mode_button));
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (fixture->window->continue_button)));

  connection = connect_smtp (fixture, received);
  socket = g_socket_connection_get_socket (connection);
  before = received->len;

  g_assert_cmpint (g_socket_send (socket, helo, strlen (helo), NULL, &error), ==, strlen (helo));
  g_assert_no_error (error);
  /* Long enough for the batched trace to reach the window (50 ms batches). */
  pump (socket, received, 0, NULL, 400);
  g_assert_cmpuint (received->len, ==, before);
  g_assert_cmpstr (_ms_main_window_get_pending (fixture->window, "alpha.test", "smtp-1"), ==,
                   "pending: HELO");
  g_assert_cmpstr (row_pending_text (fixture->window, "smtp-1"), ==, "pending: HELO");
  g_assert_cmpuint (count_arrows (fixture->window, "HELO"), ==, 0);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (fixture->window->step_button)));

  g_assert_true (gtk_widget_activate_action (widget, "win.step", NULL));
  pump (socket, received, before, "250", 5000);
  g_assert_true (g_str_has_prefix (received->str + before, "250 "));
  pump (socket, received, 0, NULL, 300);
  g_assert_null (_ms_main_window_get_pending (fixture->window, "alpha.test", "smtp-1"));
  g_assert_null (row_pending_text (fixture->window, "smtp-1"));
  g_assert_cmpuint (count_arrows (fixture->window, "HELO"), ==, 1);
  g_assert_cmpuint (count_arrows (fixture->window, "250"), ==, 1);
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (fixture->window->step_button)));

  /* Still in step mode: the next command is held again; Continue lets it
   * through and leaves step mode. */
  before = received->len;
  g_assert_cmpint (g_socket_send (socket, "NOOP\r\n", 6, NULL, &error), ==, 6);
  pump (socket, received, 0, NULL, 300);
  g_assert_cmpuint (received->len, ==, before);
  g_assert_cmpstr (_ms_main_window_get_pending (fixture->window, "alpha.test", "smtp-1"), ==,
                   "pending: NOOP");
  g_assert_true (gtk_widget_activate_action (widget, "win.continue", NULL));
  pump (socket, received, before, "250", 5000);
  g_assert_true (g_str_has_prefix (received->str + before, "250 "));
  g_assert_false (ms_main_window_get_step_mode (fixture->window));
  g_assert_false (gtk_toggle_button_get_active (fixture->window->step_mode_button));
  pump (socket, received, 0, NULL, 200);
  g_assert_null (_ms_main_window_get_pending (fixture->window, "alpha.test", "smtp-1"));
}

static void
test_breakpoint (LiveFixture *fixture,
                 gconstpointer data)
{
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  GSocket *socket;
  gsize before;

  /* Not a verb: refused, nothing set. */
  gtk_editable_set_text (GTK_EDITABLE (fixture->window->break_entry), "RC PT");
  g_signal_emit_by_name (fixture->window->break_entry, "activate");
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (fixture->window->break_entry), "error"));
  g_assert_cmpstr (gtk_label_get_text (fixture->window->break_label), ==, "No breakpoints");
  gtk_editable_set_text (GTK_EDITABLE (fixture->window->break_entry), "noop");
  g_signal_emit_by_name (fixture->window->break_entry, "activate");
  g_assert_cmpstr (gtk_label_get_text (fixture->window->break_label), ==, "Break on: NOOP");

  connection = connect_smtp (fixture, received);
  socket = g_socket_connection_get_socket (connection);
  before = received->len;
  g_assert_cmpint (g_socket_send (socket, "HELO x\r\n", 8, NULL, &error), ==, 8);
  pump (socket, received, before, "250", 5000);
  before = received->len;
  g_assert_cmpint (g_socket_send (socket, "NOOP\r\n", 6, NULL, &error), ==, 6);
  pump (socket, received, 0, NULL, 400);
  g_assert_cmpuint (received->len, ==, before);
  g_assert_cmpstr (row_pending_text (fixture->window, "smtp-1"), ==, "pending: NOOP");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window),
                                             "win.clear-breakpoints", NULL));
  g_assert_cmpstr (gtk_label_get_text (fixture->window->break_label), ==, "No breakpoints");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.step", NULL));
  pump (socket, received, before, "250", 5000);
  g_assert_true (g_str_has_prefix (received->str + before, "250 "));
}

/* The row's header holds the title, then the step and the eye toggles. */
static GtkToggleButton *
row_toggle (MsMainWindow *window,
            const char *session,
            gboolean eye)
{
  GtkWidget *row = _ms_main_window_get_session_row (window, "alpha.test", session);
  GtkWidget *header;

  g_assert_nonnull (row);
  header = gtk_widget_get_first_child (row);
  return GTK_TOGGLE_BUTTON (eye ? gtk_widget_get_last_child (header)
                                : gtk_widget_get_next_sibling (gtk_widget_get_first_child (header)));
}

static void
test_session_step (LiveFixture *fixture,
                   gconstpointer data)
{
  g_autoptr(GSocketConnection) first = NULL;
  g_autoptr(GSocketConnection) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) first_received = g_string_new (NULL);
  g_autoptr(GString) second_received = g_string_new (NULL);
  GSocket *first_socket, *second_socket;
  gsize first_before, second_before;

  g_test_summary ("The pause toggle of one session's row holds that session alone: "
                  "another session's HELO is answered at once.");
  first = connect_smtp (fixture, first_received);
  second = connect_smtp (fixture, second_received);
  first_socket = g_socket_connection_get_socket (first);
  second_socket = g_socket_connection_get_socket (second);
  pump (first_socket, first_received, 0, NULL, 300);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (row_toggle (fixture->window, "smtp-1",
                                                                   FALSE))));
  gtk_toggle_button_set_active (row_toggle (fixture->window, "smtp-1", FALSE), TRUE);
  g_assert_false (ms_main_window_get_step_mode (fixture->window));

  first_before = first_received->len;
  second_before = second_received->len;
  g_assert_cmpint (g_socket_send (first_socket, "HELO one\r\n", 10, NULL, &error), ==, 10);
  g_assert_cmpint (g_socket_send (second_socket, "HELO two\r\n", 10, NULL, &error), ==, 10);
  pump (second_socket, second_received, second_before, "250", 5000);
  g_assert_true (g_str_has_prefix (second_received->str + second_before, "250 "));
  pump (first_socket, first_received, 0, NULL, 300);
  g_assert_cmpuint (first_received->len, ==, first_before);
  g_assert_cmpstr (row_pending_text (fixture->window, "smtp-1"), ==, "pending: HELO");
  g_assert_null (row_pending_text (fixture->window, "smtp-2"));

  /* Off releases what waits. */
  gtk_toggle_button_set_active (row_toggle (fixture->window, "smtp-1", FALSE), FALSE);
  pump (first_socket, first_received, first_before, "250", 5000);
  g_assert_true (g_str_has_prefix (first_received->str + first_before, "250 "));
}

static void
test_session_filter (LiveFixture *fixture,
                     gconstpointer data)
{
  g_autoptr(GSocketConnection) first = NULL;
  g_autoptr(GSocketConnection) second = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) first_received = g_string_new (NULL);
  g_autoptr(GString) second_received = g_string_new (NULL);
  GSocket *first_socket, *second_socket;

  g_test_summary ("The eye toggle of a session's row takes its arrows out of the diagram "
                  "and puts them back; the other session's stay.");
  first = connect_smtp (fixture, first_received);
  second = connect_smtp (fixture, second_received);
  first_socket = g_socket_connection_get_socket (first);
  second_socket = g_socket_connection_get_socket (second);
  g_assert_cmpint (g_socket_send (first_socket, "HELO one\r\n", 10, NULL, &error), ==, 10);
  pump (first_socket, first_received, 0, "250", 5000);
  g_assert_cmpint (g_socket_send (second_socket, "HELO two\r\n", 10, NULL, &error), ==, 10);
  pump (second_socket, second_received, 0, "250", 5000);
  pump (first_socket, first_received, 0, NULL, 300);
  g_assert_cmpuint (count_arrows (fixture->window, "HELO one"), ==, 1);
  g_assert_cmpuint (count_arrows (fixture->window, "HELO two"), ==, 1);

  gtk_toggle_button_set_active (row_toggle (fixture->window, "smtp-1", TRUE), FALSE);
  g_assert_cmpuint (count_arrows (fixture->window, "HELO one"), ==, 0);
  g_assert_cmpuint (count_arrows (fixture->window, "HELO two"), ==, 1);
  /* Hidden it stays, also when the timeline rebuilds the diagram. */
  ms_main_window_set_timeline_position (fixture->window, 1);
  ms_main_window_set_timeline_position (fixture->window, G_MAXUINT);
  g_assert_cmpuint (count_arrows (fixture->window, "HELO one"), ==, 0);
  g_assert_cmpuint (count_arrows (fixture->window, "HELO two"), ==, 1);
  gtk_toggle_button_set_active (row_toggle (fixture->window, "smtp-1", TRUE), TRUE);
  g_assert_cmpuint (count_arrows (fixture->window, "HELO one"), ==, 1);
}

static void
test_reply_breakpoint (LiveFixture *fixture,
                       gconstpointer data)
{
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  const char *lines = "HELO x\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<nobody@alpha.test>\r\n";
  GSocket *socket;
  gsize before;

  g_test_summary ("A breakpoint on the reply class 5xx: after the 550 to an unknown "
                  "recipient the session's next command waits until Step.");
  gtk_editable_set_text (GTK_EDITABLE (fixture->window->break_entry), "5xx");
  g_signal_emit_by_name (fixture->window->break_entry, "activate");
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (fixture->window->break_entry),
                                            "error"));
  g_assert_cmpstr (gtk_label_get_text (fixture->window->break_label), ==, "Break on: reply 5xx");

  connection = connect_smtp (fixture, received);
  socket = g_socket_connection_get_socket (connection);
  g_assert_cmpint (g_socket_send (socket, lines, strlen (lines), NULL, &error), ==,
                   (gssize) strlen (lines));
  pump (socket, received, 0, "\r\n550", 5000);
  g_assert_nonnull (strstr (received->str, "\r\n550 "));
  before = received->len;
  g_assert_cmpint (g_socket_send (socket, "NOOP\r\n", 6, NULL, &error), ==, 6);
  pump (socket, received, 0, NULL, 400);
  g_assert_cmpuint (received->len, ==, before);
  g_assert_cmpstr (row_pending_text (fixture->window, "smtp-1"), ==, "pending: NOOP");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.step", NULL));
  pump (socket, received, before, "250", 5000);
  g_assert_true (g_str_has_prefix (received->str + before, "250 "));
}

static void
test_agents_window (Fixture *fixture,
                    gconstpointer data)
{
  GtkWidget *widget = GTK_WIDGET (fixture->window);
  GtkWidget *agents;

  g_test_summary ("The user agents' panel lives in a window of its own that F8 (and the "
                  "header's button) shows and hides; a window without one has no button.");
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (fixture->window->agents_button)));
  g_assert_null (ms_main_window_get_agents_window (fixture->window));
  ms_main_window_set_agents (fixture->window, gtk_label_new ("agents"));
  agents = ms_main_window_get_agents_window (fixture->window);
  g_assert_nonnull (agents);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (fixture->window->agents_button)));
  g_assert_false (gtk_widget_get_visible (agents));
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (agents)) == GTK_WINDOW (widget));

  g_assert_true (gtk_widget_activate_action (widget, "win.toggle-agents", NULL));
  g_assert_true (gtk_widget_get_visible (agents));
  g_assert_true (gtk_toggle_button_get_active (fixture->window->agents_button));
  /* Closing it hides it; the button follows. */
  gtk_window_close (GTK_WINDOW (agents));
  g_assert_false (gtk_widget_get_visible (agents));
  g_assert_false (gtk_toggle_button_get_active (fixture->window->agents_button));
  gtk_toggle_button_set_active (fixture->window->agents_button, TRUE);
  g_assert_true (gtk_widget_get_visible (agents));

  ms_main_window_set_agents (fixture->window, NULL);
  g_assert_null (ms_main_window_get_agents_window (fixture->window));
  g_assert_false (gtk_widget_get_visible (GTK_WIDGET (fixture->window->agents_button)));
}

static void
attached_cb (GObject *source,
             GAsyncResult *result,
             gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (ms_trace_client_connect_finish (MS_TRACE_CLIENT (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

/* `mailscope --attach`: a second window, fed by a trace client on a bus of
 * its own, steps the live server through its trace port. */
static void
test_attach_step (LiveFixture *fixture,
                  gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  g_autoptr(MsTraceBus) viewer_bus = ms_trace_bus_new ();
  g_autoptr(MsTraceClient) client = NULL;
  g_autofree char *address = NULL;
  MsTracePort *port;
  MsMainWindow *viewer;
  GSocket *socket;
  gboolean attached = FALSE;
  gsize before;

  g_test_summary ("Attached through the trace port, the window's step mode holds a live "
                  "session's HELO until its Step: the controls work over the port.");
  port = ms_trace_port_new (fixture->world, fixture->bus, "127.0.0.1", 0, NULL, &error);
  g_assert_no_error (error);
  address = g_strdup_printf ("127.0.0.1:%u", ms_trace_port_get_port (port));
  viewer = ms_main_window_new_for_bus (NULL, viewer_bus, address);
  client = ms_trace_client_new (address, NULL, viewer_bus);
  ms_trace_client_connect_async (client, NULL, attached_cb, &attached);
  while (!attached)
    g_main_context_iteration (NULL, TRUE);
  ms_main_window_set_stepper (viewer, MS_STEPPER (client));
  gtk_window_present (GTK_WINDOW (viewer));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (viewer), "win.step-mode", NULL));
  connection = connect_smtp (fixture, received);
  socket = g_socket_connection_get_socket (connection);
  before = received->len;
  g_assert_cmpint (g_socket_send (socket, "HELO x\r\n", 8, NULL, &error), ==, 8);
  pump (socket, received, 0, NULL, 600);
  g_assert_cmpuint (received->len, ==, before);
  g_assert_cmpstr (_ms_main_window_get_pending (viewer, "alpha.test", "smtp-1"), ==,
                   "pending: HELO");

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (viewer), "win.step", NULL));
  pump (socket, received, before, "250", 5000);
  g_assert_true (g_str_has_prefix (received->str + before, "250 "));
  pump (socket, received, 0, NULL, 300);
  g_assert_null (_ms_main_window_get_pending (viewer, "alpha.test", "smtp-1"));
  g_assert_cmpuint (count_arrows (viewer, "HELO"), ==, 1);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (viewer), "win.continue", NULL));
  ms_main_window_set_stepper (viewer, NULL);
  gtk_window_destroy (GTK_WINDOW (viewer));
  ms_trace_client_disconnect (client);
  ms_trace_port_free (port);
}

/* A replay has no server: nothing to step. */
static void
test_replay_read_only (Fixture *fixture,
                       gconstpointer data)
{
  GtkWidget *widget = GTK_WIDGET (fixture->window);

  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (fixture->window->step_mode_button)));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (fixture->window->step_button)));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (fixture->window->continue_button)));
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (fixture->window->break_button)));
  g_assert_false (gtk_widget_activate_action (widget, "win.step-mode", NULL) &&
                  ms_main_window_get_step_mode (fixture->window));
  g_assert_nonnull (strstr (gtk_widget_get_tooltip_text (
                              GTK_WIDGET (fixture->window->step_mode_button)), "read only"));
}

static void
test_presentation (Fixture *fixture,
                   gconstpointer data)
{
  GtkWidget *widget = GTK_WIDGET (fixture->window);
  MsSequenceView *view = MS_SEQUENCE_VIEW (fixture->window->sequence_view);
  int header, row, big_row;
  double zoom;

  ms_sequence_view_get_metrics (view, &header, &row);
  g_assert_cmpfloat (ms_sequence_view_get_zoom (view), ==, 1.0);
  g_assert_false (gtk_widget_has_css_class (widget, "ms-presentation"));

  g_assert_true (gtk_widget_activate_action (widget, "win.presentation", NULL));
  iterate ();
  g_assert_true (ms_main_window_get_presentation (fixture->window));
  g_assert_true (gtk_widget_has_css_class (widget, "ms-presentation"));
  g_assert_cmpfloat_with_epsilon (ms_sequence_view_get_zoom (view), 1.5, 1e-9);
  ms_sequence_view_get_metrics (view, &header, &big_row);
  g_assert_cmpint (big_row, >, row);

  zoom = ms_sequence_view_get_zoom (view);
  g_assert_true (gtk_widget_activate_action (widget, "win.zoom-in", NULL));
  g_assert_cmpfloat (ms_sequence_view_get_zoom (view), >, zoom);
  g_assert_true (gtk_widget_activate_action (widget, "win.zoom-out", NULL));
  g_assert_true (gtk_widget_activate_action (widget, "win.zoom-out", NULL));
  g_assert_cmpfloat (ms_sequence_view_get_zoom (view), <, zoom);
  g_assert_true (gtk_widget_activate_action (widget, "win.zoom-reset", NULL));
  g_assert_cmpfloat_with_epsilon (ms_sequence_view_get_zoom (view), zoom, 1e-9);

  g_assert_true (gtk_widget_activate_action (widget, "win.presentation", NULL));
  g_assert_false (gtk_widget_has_css_class (widget, "ms-presentation"));
  g_assert_cmpfloat_with_epsilon (ms_sequence_view_get_zoom (view), 1.0, 1e-9);
}

/* The status of every message of a user's INBOX, which must have some. */
static void
assert_inbox_status (MsMainWindow *window,
                     const char *server,
                     const char *user,
                     MsMessageStatus status)
{
  GListModel *messages = ms_mailbox_model_get_messages (window->mailboxes, server, user, "INBOX");

  g_assert_cmpuint (g_list_model_get_n_items (messages), >, 0);
  for (guint i = 0; i < g_list_model_get_n_items (messages); i++)
    {
      g_autoptr(MsMessageItem) item = g_list_model_get_item (messages, i);

      g_assert_cmpstr (ms_message_status_to_string (ms_message_item_get_status (item)), ==,
                       ms_message_status_to_string (status));
    }
}

/* Back to just before the POP3 QUIT: bob's messages are marked, not gone
 * yet, and the diagram ends there; at the end the QUIT has removed them. */
static void
test_timeline (Fixture *fixture,
               gconstpointer data)
{
  MsMainWindow *window = fixture->window;
  guint n = ms_trace_model_get_n_events (fixture->trace);
  guint n_arrows_end = g_list_model_get_n_items (G_LIST_MODEL (window->diagram));
  guint quit = n;
  const char *server = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *iso = NULL;
  g_autoptr(GDateTime) time = NULL;
  const char *label;

  for (guint i = 0; i < n && quit == n; i++)
    {
      MsEvent *event = ms_trace_model_get_event (fixture->trace, i);

      if (event->kind == MS_EVENT_COMMAND
          && g_strcmp0 (ms_event_get_string (event, "proto"), "pop3") == 0
          && g_strcmp0 (ms_event_get_string (event, "verb"), "QUIT") == 0)
        {
          quit = i;
          server = event->server;
        }
    }
  g_assert_cmpuint (quit, <, n);
  g_assert_cmpuint (ms_main_window_get_timeline_position (window), ==, n);
  assert_inbox_status (window, server, "bob", MS_MESSAGE_STATUS_GONE);

  /* As the user would: through the scale. */
  gtk_range_set_value (GTK_RANGE (window->timeline_scale), quit);
  iterate ();
  g_assert_cmpuint (ms_main_window_get_timeline_position (window), ==, quit);
  assert_inbox_status (window, server, "bob", MS_MESSAGE_STATUS_POP3_MARKED);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (window->diagram)), <, n_arrows_end);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (window->diagram)), >, 0);

  /* The label names the last event shown and its time (UTC). */
  time = g_date_time_new_from_unix_utc (
    ms_trace_model_get_event (fixture->trace, quit - 1)->time_us / G_USEC_PER_SEC);
  iso = g_date_time_format_iso8601 (time);
  expected = g_strdup_printf ("event %u of %u", quit, n);
  label = gtk_label_get_text (window->timeline_label);
  g_assert_true (g_str_has_prefix (label, expected));
  /* "2026-12-02T00:31:28Z": the label's time starts with the hour. */
  g_assert_nonnull (strchr (iso, 'T'));
  iso[strlen (iso) - 1] = '\0';
  g_assert_nonnull (strstr (label, strchr (iso, 'T') + 1));

  gtk_range_set_value (GTK_RANGE (window->timeline_scale), n);
  iterate ();
  g_assert_cmpuint (ms_main_window_get_timeline_position (window), ==, n);
  assert_inbox_status (window, server, "bob", MS_MESSAGE_STATUS_GONE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (window->diagram)), ==, n_arrows_end);
}

/* A temporary file's path, in a directory of its own; remove_temp() cleans up. */
static char *
temp_path (const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ms-export-XXXXXX", &error);

  g_assert_no_error (error);
  return g_build_filename (dir, name, NULL);
}

static void
remove_temp (const char *path)
{
  g_autofree char *dir = g_path_get_dirname (path);

  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Saved and loaded again: the same events, first to last. */
static void
test_save_trace (Fixture *fixture,
                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = temp_path ("saved.jsonl");
  g_autoptr(MsTraceModel) loaded = ms_trace_model_new ();
  guint n = ms_trace_model_get_n_events (fixture->trace);

  g_assert_true (ms_main_window_save_trace (fixture->window, path, &error));
  g_assert_no_error (error);
  g_assert_true (ms_trace_model_load_file (loaded, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n, >, 0);
  g_assert_cmpuint (ms_trace_model_get_n_events (loaded), ==, n);
  g_assert_cmpuint (ms_trace_model_get_event (loaded, 0)->seq, ==,
                    ms_trace_model_get_event (fixture->trace, 0)->seq);
  g_assert_cmpuint (ms_trace_model_get_event (loaded, n - 1)->seq, ==,
                    ms_trace_model_get_event (fixture->trace, n - 1)->seq);
  g_assert_cmpint (ms_trace_model_get_event (loaded, n - 1)->time_us, ==,
                   ms_trace_model_get_event (fixture->trace, n - 1)->time_us);
  remove_temp (path);
}

/* One session's transcript holds its command and reply lines, in order,
 * as C: and S: lines; the whole trace's has EHLO before its 250. */
static void
test_export_transcript (Fixture *fixture,
                        gconstpointer data)
{
  g_autofree char *path = temp_path ("transcript.txt");
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *contents = NULL;
  g_autofree char *header = NULL;
  g_auto(GStrv) lines = NULL;
  const char *server = NULL;
  const char *session = NULL;
  const char *ehlo;
  guint n_lines = 0;

  for (guint i = 0; i < ms_trace_model_get_n_events (fixture->trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (fixture->trace, i);

      if (session == NULL && (event->kind == MS_EVENT_COMMAND || event->kind == MS_EVENT_REPLY))
        {
          server = event->server;
          session = ms_event_get_string (event, "session");
        }
      if (session == NULL || g_strcmp0 (event->server, server) != 0
          || g_strcmp0 (ms_event_get_string (event, "session"), session) != 0)
        continue;
      if (event->kind == MS_EVENT_COMMAND || event->kind == MS_EVENT_REPLY)
        g_ptr_array_add (expected,
                         g_strdup_printf ("%s: %s", event->kind == MS_EVENT_COMMAND ? "C" : "S",
                                          ms_event_get_string (event, "text")));
    }
  g_assert_nonnull (session);
  g_assert_cmpuint (expected->len, >, 2);

  g_assert_true (ms_main_window_export_transcript (fixture->window, server, session, path,
                                                   &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  header = g_strdup_printf ("# server %s, session %s ", server, session);
  g_assert_nonnull (strstr (contents, header));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      if (!g_str_has_prefix (lines[i], "C: ") && !g_str_has_prefix (lines[i], "S: "))
        continue;
      if (g_str_has_suffix (lines[i], " bytes of data>"))
        continue;
      g_assert_cmpuint (n_lines, <, expected->len);
      g_assert_cmpstr (lines[i], ==, expected->pdata[n_lines]);
      n_lines++;
    }
  g_assert_cmpuint (n_lines, ==, expected->len);
  g_clear_pointer (&contents, g_free);

  /* Every session: the lecture's first SMTP exchange, in order. */
  g_assert_true (ms_main_window_export_transcript (fixture->window, NULL, NULL, path, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_no_error (error);
  ehlo = strstr (contents, "\nC: EHLO");
  g_assert_nonnull (ehlo);
  g_assert_nonnull (strstr (ehlo, "\nS: 250"));
  g_assert_nonnull (strstr (contents, "bytes of data>\n    "));
  remove_temp (path);
}

/* The diagram as a PNG of the view's size. */
static void
test_export_png (Fixture *fixture,
                 gconstpointer data)
{
  g_autofree char *path = temp_path ("diagram.png");
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  iterate ();
  g_assert_true (ms_main_window_export_png (fixture->window, path, &error));
  g_assert_no_error (error);
  texture = gdk_texture_new_from_filename (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_texture_get_width (texture), >, 0);
  g_assert_cmpint (gdk_texture_get_width (texture), ==,
                   gtk_widget_get_width (fixture->window->sequence_view));
  g_assert_cmpint (gdk_texture_get_height (texture), ==,
                   gtk_widget_get_height (fixture->window->sequence_view));
  remove_temp (path);
}

static const struct {
  const char *path;
  const char *fixture;
  void (*func) (Fixture *fixture, gconstpointer data);
} fixture_tests[] = {
  { "/gui/main-window/sessions", "lecture.jsonl", test_sessions },
  { "/gui/main-window/arrows", "lecture.jsonl", test_arrows },
  { "/gui/main-window/mailbox", "lecture.jsonl", test_mailbox },
  { "/gui/main-window/inspector", "lecture.jsonl", test_inspector },
  { "/gui/main-window/replay-read-only", "lecture.jsonl", test_replay_read_only },
  { "/gui/main-window/presentation", "lecture.jsonl", test_presentation },
  { "/gui/main-window/timeline", "pop3-delete.jsonl", test_timeline },
  { "/gui/main-window/save-trace", "lecture.jsonl", test_save_trace },
  { "/gui/main-window/export-transcript", "lecture.jsonl", test_export_transcript },
  { "/gui/main-window/export-png", "lecture.jsonl", test_export_png },
  { "/gui/main-window/agents-window", "lecture.jsonl", test_agents_window },
};

int
main (int argc,
      char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  for (gsize i = 0; i < G_N_ELEMENTS (fixture_tests); i++)
    g_test_add (fixture_tests[i].path, Fixture, fixture_tests[i].fixture, fixture_setup,
                fixture_tests[i].func, fixture_teardown);
  g_test_add ("/gui/main-window/step", LiveFixture, NULL, live_setup, test_step,
              live_teardown);
  g_test_add ("/gui/main-window/breakpoint", LiveFixture, NULL, live_setup, test_breakpoint,
              live_teardown);
  g_test_add ("/gui/main-window/attach-step", LiveFixture, NULL, live_setup,
              test_attach_step, live_teardown);
  g_test_add ("/gui/main-window/session-step", LiveFixture, NULL, live_setup,
              test_session_step, live_teardown);
  g_test_add ("/gui/main-window/session-filter", LiveFixture, NULL, live_setup,
              test_session_filter, live_teardown);
  g_test_add ("/gui/main-window/reply-breakpoint", LiveFixture, NULL, live_setup,
              test_reply_breakpoint, live_teardown);
  g_test_add_func ("/gui/main-window/decode-auth", test_decode_auth);
  g_test_add_func ("/gui/main-window/status-classes", test_status_classes);
  g_test_add_func ("/gui/main-window/bad-trace", test_bad_trace);
  return g_test_run ();
}
