/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-agent-panel"

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "ms-agent-panel.h"
#include "ms-compose-page.h"
#include "ms-imap-page.h"
#include "ms-main-window.h"
#include "ms-pop3-page.h"
#include "ms-test-util.h"
#include "ms-world.h"

/* The built-in user agents against a world of two servers in this process,
 * on free loopback ports, each routing to the other: the panel is driven
 * through its widgets and the outcomes are checked where they land (the
 * recipient's Maildir, the device's Maildir, the events on the bus). */

#define WAIT_S 20

typedef struct {
  char *dir;
  char *devices_dir;
  MsTraceBus *bus;
  MsWorld *world;
  MsServer *alpha;            /* borrowed from the world */
  MsServer *beta;
  GListModel *accounts;
  GtkWindow *window;          /* GTK holds it; destroyed in teardown */
  MsAgentPanel *panel;        /* borrowed: the window's child */
  GPtrArray *events;          /* of MsEvent (refs) */
} Fixture;

static void
record_cb (const MsEvent *event,
           gpointer user_data)
{
  Fixture *fixture = user_data;

  g_ptr_array_add (fixture->events, ms_event_ref ((MsEvent *) event));
}

static MsServer *
make_server (Fixture *fixture,
             const char *domain,
             const char * const *users)
{
  g_autofree char *data_dir = g_build_filename (fixture->dir, domain, NULL);
  g_autoptr(GError) error = NULL;
  MsServerConfig config = {
    .domain = domain,
    .data_dir = data_dir,
  };
  MsServer *server;

  for (guint i = 0; i < MS_N_LISTENERS; i++)
    config.ports[i] = MS_SERVER_PORT_ANY;
  server = ms_server_new (&config, fixture->bus, &error);
  g_assert_no_error (error);
  for (guint i = 0; users[i] != NULL; i++)
    {
      g_autofree char *password = g_strconcat (users[i], "pw", NULL);

      g_assert_true (ms_server_set_password (server, users[i], password, &error));
      g_assert_no_error (error);
    }
  ms_world_add_server (fixture->world, server);
  return server;
}

static void
iterate (void)
{
  for (int i = 0; i < 200 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

static void
show_panel (Fixture *fixture,
            GListModel *accounts)
{
  fixture->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (fixture->window, 720, 640);
  fixture->panel = MS_AGENT_PANEL (ms_agent_panel_new (accounts, fixture->devices_dir));
  gtk_window_set_child (fixture->window, GTK_WIDGET (fixture->panel));
  gtk_window_present (fixture->window);
  iterate ();
}

static void
fixture_setup (Fixture *fixture,
               gconstpointer data)
{
  static const char * const alpha_users[] = { "alice", "carol", NULL };
  static const char * const beta_users[] = { "bob", "dave", NULL };
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("ms-test-agent-panel-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->devices_dir = g_build_filename (fixture->dir, "devices", NULL);
  fixture->bus = ms_trace_bus_new ();
  fixture->events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  ms_trace_bus_subscribe (fixture->bus, record_cb, fixture, NULL);
  fixture->world = ms_world_new (fixture->bus);
  fixture->alpha = make_server (fixture, "alpha.test", alpha_users);
  fixture->beta = make_server (fixture, "beta.test", beta_users);
  g_assert_true (ms_world_start (fixture->world, &error));
  g_assert_no_error (error);
  ms_server_add_route (fixture->alpha, "beta.test", "127.0.0.1",
                       ms_server_get_port (fixture->beta, MS_LISTENER_SMTP));
  ms_server_add_route (fixture->beta, "alpha.test", "127.0.0.1",
                       ms_server_get_port (fixture->alpha, MS_LISTENER_SMTP));
  fixture->accounts = ms_agent_panel_new_demo_accounts (fixture->world, fixture->bus, NULL);
  show_panel (fixture, fixture->accounts);
}

static void
fixture_teardown (Fixture *fixture,
                  gconstpointer data)
{
  if (fixture->window != NULL)
    gtk_window_destroy (fixture->window);
  iterate ();
  g_clear_object (&fixture->accounts);
  g_clear_pointer (&fixture->world, ms_world_free);
  /* Let closed connections finish their callbacks. */
  iterate ();
  g_ptr_array_unref (fixture->events);
  ms_trace_bus_unref (fixture->bus);
  ms_test_remove_tree (fixture->dir);
  g_free (fixture->devices_dir);
  g_free (fixture->dir);
}

typedef gboolean (*Condition) (gpointer data);

/* Runs the main loop until `done` holds; fails the test after WAIT_S. */
static void
wait_until (Condition done,
            gpointer data)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (!done (data))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      if (!done (data))
        g_usleep (1000);
    }
}

static gboolean
compose_idle (gpointer data)
{
  return !ms_compose_page_get_busy (data);
}

static gboolean
pop3_idle (gpointer data)
{
  return !ms_pop3_page_get_busy (data);
}

static gboolean
imap_idle (gpointer data)
{
  return !ms_imap_page_get_busy (data);
}

static gboolean
imap_has_panel_account (gpointer data)
{
  Fixture *fixture = data;
  MsImapPage *imap = MS_IMAP_PAGE (ms_agent_panel_get_imap_page (fixture->panel));

  return ms_imap_page_get_account (imap) == ms_agent_panel_get_account (fixture->panel);
}

static MsComposePage *
compose_page (Fixture *fixture)
{
  return MS_COMPOSE_PAGE (ms_agent_panel_get_compose_page (fixture->panel));
}

static MsPop3Page *
pop3_page (Fixture *fixture)
{
  return MS_POP3_PAGE (ms_agent_panel_get_pop3_page (fixture->panel));
}

static void
click (GtkButton *button)
{
  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (button)));
  g_signal_emit_by_name (button, "clicked");
}

/* Fills the Send page and clicks Send; returns when the send is over. */
static void
send_with_page (Fixture *fixture,
                const char *to,
                const char *subject)
{
  MsComposePage *page = compose_page (fixture);

  ms_agent_panel_show_page (fixture->panel, "send");
  if (to != NULL)
    gtk_editable_set_text (ms_compose_page_get_to_entry (page), to);
  gtk_editable_set_text (ms_compose_page_get_subject_entry (page), subject);
  click (ms_compose_page_get_send_button (page));
  g_assert_true (ms_compose_page_get_busy (page));
  /* Nobody can send twice at once. */
  g_assert_false (gtk_widget_get_sensitive (GTK_WIDGET (ms_compose_page_get_send_button (page))));
  wait_until (compose_idle, page);
  g_assert_true (gtk_widget_get_sensitive (GTK_WIDGET (ms_compose_page_get_send_button (page))));
}

static void
fetch_with_page (Fixture *fixture,
                 const char *device,
                 gboolean delete)
{
  MsPop3Page *page = pop3_page (fixture);

  ms_agent_panel_show_page (fixture->panel, "pop3");
  gtk_editable_set_text (ms_agent_panel_get_device_entry (fixture->panel), device);
  gtk_check_button_set_active (delete ? ms_pop3_page_get_delete_check (page)
                                      : ms_pop3_page_get_keep_check (page), TRUE);
  click (ms_pop3_page_get_fetch_button (page));
  g_assert_true (ms_pop3_page_get_busy (page));
  wait_until (pop3_idle, page);
}

/* The subjects of a user's INBOX on the server. */
static GPtrArray *
server_subjects (MsServer *server,
                 const char *user)
{
  MsStore *store = ms_server_get_store (server);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = ms_store_list (store, user, "INBOX", &error);
  GPtrArray *subjects = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  for (guint i = 0; i < messages->len; i++)
    {
      const MsStoreMessage *message = messages->pdata[i];
      char *subject = NULL;

      g_assert_true (ms_store_get_summary (store, user, "INBOX", message->uid, &subject, NULL,
                                           &error));
      g_assert_no_error (error);
      g_ptr_array_add (subjects, subject != NULL ? subject : g_strdup (""));
    }
  return subjects;
}

typedef struct {
  MsServer *server;
  const char *user;
  const char *subject;
} Arrival;

static gboolean
arrived (gpointer data)
{
  const Arrival *arrival = data;
  g_autoptr(GPtrArray) subjects = server_subjects (arrival->server, arrival->user);

  for (guint i = 0; i < subjects->len; i++)
    if (g_strcmp0 (subjects->pdata[i], arrival->subject) == 0)
      return TRUE;
  return FALSE;
}

static guint
count_files (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (handle != NULL && g_dir_read_name (handle) != NULL)
    n++;
  return n;
}

/* Client-side events the device emitted: `kind` with this verb (NULL: any). */
static guint
count_device_events (Fixture *fixture,
                     const char *device,
                     MsEventKind kind,
                     const char *verb)
{
  guint n = 0;

  for (guint i = 0; i < fixture->events->len; i++)
    {
      MsEvent *event = fixture->events->pdata[i];

      if (event->kind == kind && g_strcmp0 (event->server, device) == 0
          && g_strcmp0 (ms_event_get_string (event, "direction"), "client") == 0
          && (verb == NULL || g_strcmp0 (ms_event_get_string (event, "verb"), verb) == 0))
        n++;
    }
  return n;
}

static void
test_slug (void)
{
  static const struct {
    const char *device;
    const char *slug;
  } cases[] = {
    { "bob's laptop", "bobs-laptop" },
    { "Bob's Phone", "bobs-phone" },
    { "../../etc/passwd", "etc-passwd" },
    { ".hidden", "hidden" },
    { "a/b\\c", "a-b-c" },
    { "..", "device" },
    { "", "device" },
    { "  spaced   out  ", "spaced-out" },
    { "téléphone", "t-l-phone" },
    { "x123456789x123456789x123456789x123456789x123456789x123456789x1234567",
      "x123456789x123456789x123456789x123456789x123456789x123456789x12" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *slug = ms_agent_panel_device_slug (cases[i].device);

      g_assert_cmpstr (slug, ==, cases[i].slug);
      g_assert_cmpuint (strlen (slug), <=, 63);
    }
}

static void
test_accounts (Fixture *fixture,
               gconstpointer data)
{
  GtkDropDown *dropdown = ms_agent_panel_get_account_dropdown (fixture->panel);
  MsAgentAccount *account = ms_agent_panel_get_account (fixture->panel);
  MsImapPage *imap = MS_IMAP_PAGE (ms_agent_panel_get_imap_page (fixture->panel));

  /* Every demo user of both servers, on the servers' real ports. */
  g_assert_cmpuint (g_list_model_get_n_items (fixture->accounts), ==, 4);
  g_assert_nonnull (account);
  g_assert_cmpstr (ms_agent_account_get_address (account), ==, "alice@alpha.test");
  g_assert_cmpuint (ms_agent_account_get_submission_port (account), ==,
                    ms_server_get_port (fixture->alpha, MS_LISTENER_SUBMISSION));
  g_assert_cmpuint (ms_agent_account_get_pop3_port (account), ==,
                    ms_server_get_port (fixture->alpha, MS_LISTENER_POP3));
  g_assert_cmpuint (ms_agent_account_get_imap_port (account), ==,
                    ms_server_get_port (fixture->alpha, MS_LISTENER_IMAP));
  g_assert_cmpstr (ms_agent_panel_get_device (fixture->panel), ==, "alice's laptop");
  /* alice writes to someone on the other server by default. */
  g_assert_cmpstr (gtk_editable_get_text (ms_compose_page_get_to_entry (compose_page (fixture))),
                   ==, "bob@beta.test");

  /* Choosing bob in the drop down: his device, and alice as the recipient. */
  g_assert_true (ms_agent_panel_select_account (fixture->panel, "bob@beta.test"));
  g_assert_cmpuint (gtk_drop_down_get_selected (dropdown), ==, 2);
  account = ms_agent_panel_get_account (fixture->panel);
  g_assert_cmpstr (ms_agent_account_get_address (account), ==, "bob@beta.test");
  g_assert_cmpstr (ms_agent_panel_get_device (fixture->panel), ==, "bob's laptop");
  g_assert_cmpstr (gtk_editable_get_text (ms_compose_page_get_to_entry (compose_page (fixture))),
                   ==, "alice@alpha.test");
  g_assert_false (ms_agent_panel_select_account (fixture->panel, "nobody@alpha.test"));

  /* A device picked from the menu, or typed in, is the device the pages use. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->panel), "agents.use-device",
                                             "s", "bob's desktop"));
  g_assert_cmpstr (ms_agent_panel_get_device (fixture->panel), ==, "bob's desktop");
  g_assert_cmpstr (ms_agent_account_get_device (ms_agent_panel_get_account (fixture->panel)),
                   ==, "bob's desktop");
  gtk_editable_set_text (ms_agent_panel_get_device_entry (fixture->panel), "bob's phone");
  account = ms_agent_panel_get_account (fixture->panel);
  g_assert_cmpstr (ms_agent_account_get_device (account), ==, "bob's phone");
  g_assert_true (ms_pop3_page_get_account (pop3_page (fixture)) == account);
  g_assert_true (g_str_has_suffix (ms_pop3_page_get_device_path (pop3_page (fixture)),
                                   G_DIR_SEPARATOR_S "bobs-phone"));

  /* The IMAP page connects only once it is shown, and a device being
   * typed reaches it only when the typing settles. */
  g_assert_null (ms_imap_page_get_account (imap));
  ms_agent_panel_show_page (fixture->panel, "imap");
  g_assert_true (ms_imap_page_get_account (imap) == account);
  gtk_editable_set_text (ms_agent_panel_get_device_entry (fixture->panel), "bob's tablet");
  g_assert_true (ms_imap_page_get_account (imap) == account);
  wait_until (imap_has_panel_account, fixture);
  g_assert_cmpstr (ms_agent_account_get_device (ms_imap_page_get_account (imap)), ==,
                   "bob's tablet");
  wait_until (imap_idle, imap);
}

static void
test_send (Fixture *fixture,
           gconstpointer data)
{
  MsComposePage *page = compose_page (fixture);
  Arrival arrival = { fixture->beta, "bob", "Lecture 5: relayed" };
  const char *status;

  send_with_page (fixture, NULL, arrival.subject);
  status = ms_compose_page_get_status (page);
  g_test_message ("status: %s", status);
  g_assert_true (g_str_has_prefix (status, "Sent: 250"));

  /* alpha relays it to beta, into bob's INBOX. */
  wait_until (arrived, &arrival);

  /* The device's side of the dialog, as the diagram draws it. */
  g_assert_cmpuint (count_device_events (fixture, "alice's laptop", MS_EVENT_COMMAND, "EHLO"),
                    ==, 1);
  g_assert_cmpuint (count_device_events (fixture, "alice's laptop", MS_EVENT_COMMAND, "AUTH"),
                    ==, 1);
  g_assert_cmpuint (count_device_events (fixture, "alice's laptop", MS_EVENT_COMMAND, "DATA"),
                    ==, 1);
  g_assert_cmpuint (count_device_events (fixture, "alice's laptop", MS_EVENT_REPLY, NULL), >, 3);
}

static void
test_send_tls (Fixture *fixture,
               gconstpointer data)
{
  MsComposePage *page = compose_page (fixture);
  Arrival arrival = { fixture->beta, "dave", "Encrypted" };

  gtk_check_button_set_active (ms_compose_page_get_tls_check (page), TRUE);
  send_with_page (fixture, "Dave <dave@beta.test>", arrival.subject);
  g_test_message ("status: %s", ms_compose_page_get_status (page));
  g_assert_true (g_str_has_prefix (ms_compose_page_get_status (page), "Sent: 250"));
  wait_until (arrived, &arrival);
  g_assert_cmpuint (count_device_events (fixture, "alice's laptop", MS_EVENT_COMMAND,
                                         "STARTTLS"), ==, 1);
}

static void
test_send_bad_recipient (Fixture *fixture,
                         gconstpointer data)
{
  MsComposePage *page = compose_page (fixture);

  gtk_editable_set_text (ms_compose_page_get_to_entry (page), "not an address");
  click (ms_compose_page_get_send_button (page));
  /* Refused before any connection. */
  g_assert_false (ms_compose_page_get_busy (page));
  g_assert_true (g_str_has_prefix (ms_compose_page_get_status (page), "Not sent: "));
  g_assert_cmpuint (count_device_events (fixture, "alice's laptop", MS_EVENT_COMMAND, NULL),
                    ==, 0);
}

static const char *
device_row_subject (MsPop3Page *page,
                    guint position)
{
  g_autoptr(MsDeviceMessage) message = g_list_model_get_item (ms_pop3_page_get_messages (page),
                                                              position);

  return message != NULL ? ms_device_message_get_subject (message) : NULL;
}

static void
test_pop3_keep_then_delete (Fixture *fixture,
                            gconstpointer data)
{
  MsPop3Page *page = pop3_page (fixture);
  Arrival arrival = { fixture->beta, "bob", "For two devices" };
  g_autofree char *laptop_new = g_build_filename (fixture->devices_dir, "bobs-laptop", "new",
                                                  NULL);
  g_autofree char *phone_new = g_build_filename (fixture->devices_dir, "bobs-phone", "new",
                                                 NULL);
  g_autoptr(GPtrArray) subjects = NULL;
  GListModel *rows;

  send_with_page (fixture, NULL, arrival.subject);
  wait_until (arrived, &arrival);

  /* bob's laptop keeps the mail on the server. */
  g_assert_true (ms_agent_panel_select_account (fixture->panel, "bob@beta.test"));
  fetch_with_page (fixture, "bob's laptop", FALSE);
  g_test_message ("status: %s", ms_pop3_page_get_status (page));
  g_assert_true (g_str_has_prefix (ms_pop3_page_get_status (page), "Fetched: 1 new message"));
  g_assert_nonnull (strstr (ms_pop3_page_get_status (page), "kept on the server"));
  g_assert_cmpuint (count_files (laptop_new), ==, 1);
  subjects = server_subjects (fixture->beta, "bob");
  g_assert_cmpuint (subjects->len, ==, 1);
  g_clear_pointer (&subjects, g_ptr_array_unref);
  /* The table shows what the laptop holds. */
  rows = G_LIST_MODEL (gtk_column_view_get_model (ms_pop3_page_get_column_view (page)));
  g_assert_cmpuint (g_list_model_get_n_items (rows), ==, 1);
  g_assert_cmpstr (device_row_subject (page, 0), ==, arrival.subject);
  g_assert_cmpuint (count_device_events (fixture, "bob's laptop", MS_EVENT_COMMAND, "RETR"),
                    ==, 1);
  g_assert_cmpuint (count_device_events (fixture, "bob's laptop", MS_EVENT_COMMAND, "DELE"),
                    ==, 0);

  /* Again: the laptop remembers the UIDL and downloads nothing. */
  fetch_with_page (fixture, "bob's laptop", FALSE);
  g_assert_true (g_str_has_prefix (ms_pop3_page_get_status (page), "Fetched: 0 new messages"));
  g_assert_cmpuint (count_files (laptop_new), ==, 1);

  /* bob's phone deletes: the message moves to the phone and leaves the
   * server, while the laptop keeps its copy. */
  fetch_with_page (fixture, "bob's phone", TRUE);
  g_test_message ("status: %s", ms_pop3_page_get_status (page));
  g_assert_nonnull (strstr (ms_pop3_page_get_status (page), "1 deleted on the server"));
  g_assert_cmpuint (count_files (phone_new), ==, 1);
  g_assert_cmpuint (count_files (laptop_new), ==, 1);
  subjects = server_subjects (fixture->beta, "bob");
  g_assert_cmpuint (subjects->len, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (ms_pop3_page_get_messages (page)), ==, 1);
  g_assert_cmpstr (device_row_subject (page, 0), ==, arrival.subject);
  g_assert_cmpuint (count_device_events (fixture, "bob's phone", MS_EVENT_COMMAND, "DELE"),
                    ==, 1);

  /* Going back to the laptop lists the laptop's copy. */
  ms_agent_panel_set_device (fixture->panel, "bob's laptop");
  g_assert_cmpuint (g_list_model_get_n_items (ms_pop3_page_get_messages (page)), ==, 1);

  /* And the server has nothing left. */
  click (ms_pop3_page_get_list_button (page));
  wait_until (pop3_idle, page);
  g_test_message ("status: %s", ms_pop3_page_get_status (page));
  g_assert_true (g_str_has_prefix (ms_pop3_page_get_status (page),
                                   "On beta.test, bob has 0 messages"));
}

/* What the pages say when the job cannot be done: in words, not a crash. */
typedef struct {
  const char *password;
  gboolean server_down;       /* stop the world first: nothing listens */
  const char *sent;           /* the Send page's status begins so */
  const char *fetched;        /* the POP3 page's status begins so */
  const char *fetched_detail; /* and holds this */
} FailureCase;

static const FailureCase wrong_password = {
  "not-her-password", FALSE,
  "Not sent: authentication as alice failed: 535 ", "Failed: ", "-ERR [AUTH]",
};
static const FailureCase server_down = {
  "alicepw", TRUE, "Not sent: cannot connect to ", "Failed: cannot connect to ", "refused",
};

static void
test_failure (Fixture *fixture,
              gconstpointer data)
{
  const FailureCase *failure = data;
  g_autoptr(GListStore) accounts = g_list_store_new (MS_TYPE_AGENT_ACCOUNT);
  g_autoptr(MsAgentAccount) account = NULL;
  g_autofree char *device_dir = NULL;
  MsPop3Page *page;

  account = ms_agent_account_new (fixture->bus, "alpha.test", "127.0.0.1",
                                  ms_server_get_port (fixture->alpha, MS_LISTENER_SUBMISSION),
                                  ms_server_get_port (fixture->alpha, MS_LISTENER_POP3),
                                  ms_server_get_port (fixture->alpha, MS_LISTENER_IMAP),
                                  "alice", failure->password, "mallory's laptop");
  /* The ports were free when the servers took them; once stopped, nothing
   * listens there. */
  if (failure->server_down)
    ms_world_stop (fixture->world);
  g_list_store_append (accounts, account);
  gtk_window_destroy (fixture->window);
  show_panel (fixture, G_LIST_MODEL (accounts));

  send_with_page (fixture, "bob@beta.test", "Spoofed");
  g_test_message ("status: %s", ms_compose_page_get_status (compose_page (fixture)));
  g_assert_true (g_str_has_prefix (ms_compose_page_get_status (compose_page (fixture)),
                                   failure->sent));

  page = pop3_page (fixture);
  fetch_with_page (fixture, "mallory's laptop", TRUE);
  g_test_message ("status: %s", ms_pop3_page_get_status (page));
  g_assert_true (g_str_has_prefix (ms_pop3_page_get_status (page), failure->fetched));
  g_assert_nonnull (strstr (ms_pop3_page_get_status (page), failure->fetched_detail));
  g_assert_cmpuint (g_list_model_get_n_items (ms_pop3_page_get_messages (page)), ==, 0);
  /* Nothing reached the device. */
  device_dir = g_build_filename (fixture->devices_dir, "mallorys-laptop", "new", NULL);
  g_assert_cmpuint (count_files (device_dir), ==, 0);
}

/* The window goes away while a send and a fetch run: their callbacks come
 * later and must leave the gone pages alone. */
static void
test_dispose_while_running (Fixture *fixture,
                            gconstpointer data)
{
  MsComposePage *page = compose_page (fixture);
  gint64 until;

  click (ms_compose_page_get_send_button (page));
  click (ms_pop3_page_get_fetch_button (pop3_page (fixture)));
  g_assert_true (ms_compose_page_get_busy (page));
  gtk_window_destroy (fixture->window);
  fixture->window = NULL;
  until = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
}

static void
test_screenshot (Fixture *fixture,
                 gconstpointer data)
{
  const char *dir = g_getenv ("MS_SCREENSHOT_DIR");
  g_autoptr(GError) error = NULL;
  const char *pages[] = { "send", "pop3", "imap" };

  g_autoptr(GtkCssProvider) provider = gtk_css_provider_new ();

  if (dir == NULL)
    {
      g_test_skip ("set MS_SCREENSHOT_DIR to save screenshots");
      return;
    }
  /* As in the app's window: its style sheet and its larger font. */
  gtk_css_provider_load_from_resource (provider, "/org/mailscope/Mailscope/mailscope.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (),
                                              GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  gtk_widget_add_css_class (GTK_WIDGET (fixture->window), "ms-main");
  for (guint i = 0; i < G_N_ELEMENTS (pages); i++)
    {
      g_autofree char *name = g_strdup_printf ("agent-panel-%s.png", pages[i]);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      /* alice writes to bob; bob's laptop fetches it. */
      if (i == 0)
        {
          Arrival arrival = { fixture->beta, "bob", "Lecture 5: from alpha to beta" };

          send_with_page (fixture, NULL, arrival.subject);
          wait_until (arrived, &arrival);
        }
      else if (i == 1)
        {
          g_assert_true (ms_agent_panel_select_account (fixture->panel, "bob@beta.test"));
          fetch_with_page (fixture, "bob's laptop", FALSE);
        }
      else
        {
          MsImapPage *imap = MS_IMAP_PAGE (ms_agent_panel_get_imap_page (fixture->panel));

          ms_agent_panel_show_page (fixture->panel, pages[i]);
          g_assert_true (ms_imap_page_get_account (imap)
                         == ms_agent_panel_get_account (fixture->panel));
          wait_until (imap_idle, imap);
        }
      for (int j = 0; j < 20; j++)
        {
          iterate ();
          g_usleep (10000);
        }
      g_assert_true (ms_widget_save_png (GTK_WIDGET (fixture->panel), path, &error));
      g_assert_no_error (error);
    }
}

int
main (int argc,
      char **argv)
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();

  g_test_add_func ("/gui/agent-panel/slug", test_slug);
#define ADD_WITH(path, data, func) \
  g_test_add ("/gui/agent-panel/" path, Fixture, data, fixture_setup, func, fixture_teardown)
#define ADD(path, func) ADD_WITH (path, NULL, func)
  ADD ("accounts", test_accounts);
  ADD ("send", test_send);
  ADD ("send-tls", test_send_tls);
  ADD ("send-bad-recipient", test_send_bad_recipient);
  ADD ("pop3-keep-then-delete", test_pop3_keep_then_delete);
  ADD_WITH ("wrong-password", &wrong_password, test_failure);
  ADD_WITH ("server-down", &server_down, test_failure);
  ADD ("dispose-while-running", test_dispose_while_running);
  ADD ("screenshot", test_screenshot);
#undef ADD
#undef ADD_WITH
  return g_test_run ();
}
