/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-session-model"

#include "config.h"

#include "ms-session-model.h"
#include "gui-test-fixture.h"
#include "ms-trace-model.h"

/* What the trace says of a session, counted independently of the model. */
static guint
count_commands (MsTraceModel *trace,
                const char *server,
                const char *session)
{
  guint n = 0;

  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      n += event->kind == MS_EVENT_COMMAND && g_strcmp0 (event->server, server) == 0
           && g_strcmp0 (ms_event_get_string (event, "session"), session) == 0
           && !ms_event_get_bool (event, "continuation", FALSE);
    }
  return n;
}

static MsSessionModel *
apply_all (MsTraceModel *trace)
{
  MsSessionModel *model = ms_session_model_new ();

  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    ms_session_model_apply (model, ms_trace_model_get_event (trace, i));
  return model;
}

static void
test_lecture (void)
{
  static const struct {
    const char *server;
    const char *session;
    const char *proto;
    const char *listener;
    const char *user;
    const char *state;
    gboolean tls;
  } expected[] = {
    /* Grouped by server, then in the order the sessions began. */
    { "alpha.test", "smtp-1", "smtp", "submission", "alice", "closed", FALSE },
    { "alpha.test", "smtp-relay-1", "smtp-relay", NULL, NULL, "done", TRUE },
    { "beta.test", "smtp-1", "smtp", "smtp", NULL, "closed", TRUE },
  };
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("lecture.jsonl");
  g_autoptr(MsSessionModel) model = apply_all (trace);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autoptr(MsSessionItem) item = g_list_model_get_item (G_LIST_MODEL (model), i);
      g_autofree char *user = NULL;
      gboolean open = TRUE;

      g_assert_cmpstr (ms_session_item_get_server (item), ==, expected[i].server);
      g_assert_cmpstr (ms_session_item_get_session (item), ==, expected[i].session);
      g_assert_cmpstr (ms_session_item_get_proto (item), ==, expected[i].proto);
      g_assert_cmpstr (ms_session_item_get_listener (item), ==, expected[i].listener);
      g_assert_cmpstr (ms_session_item_get_state (item), ==, expected[i].state);
      g_assert_cmpint (ms_session_item_get_tls (item), ==, expected[i].tls);
      g_assert_cmpstr (ms_session_item_get_close_reason (item), ==, "closed by server");
      g_assert_nonnull (ms_session_item_get_peer (item));
      g_assert_nonnull (ms_session_item_get_local (item));
      g_object_get (item, "user", &user, "open", &open, NULL);
      g_assert_cmpstr (user, ==, expected[i].user);
      g_assert_false (open);
      g_assert_cmpuint (ms_session_item_get_n_commands (item), ==,
                        count_commands (trace, expected[i].server, expected[i].session));
      g_assert_cmpuint (ms_session_item_get_n_commands (item), >, 0);
      g_assert_cmpuint (ms_session_item_get_first_seq (item), <,
                        ms_session_item_get_last_seq (item));
    }
  /* The relay's client and beta's session are one connection. */
  g_assert_cmpstr (ms_session_item_get_local (ms_session_model_lookup (model, "alpha.test",
                                                                       "smtp-relay-1")),
                   ==,
                   ms_session_item_get_peer (ms_session_model_lookup (model, "beta.test",
                                                                      "smtp-1")));
}

static void
count_notify_cb (GObject *object,
                 GParamSpec *pspec,
                 gpointer user_data)
{
  g_ptr_array_add (user_data, (gpointer) g_param_spec_get_name (pspec));
}

static void
test_notify (void)
{
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("pop3-delete.jsonl");
  g_autoptr(MsSessionModel) model = ms_session_model_new ();
  g_autoptr(GPtrArray) notified = g_ptr_array_new ();
  MsSessionItem *pop3 = NULL;
  guint user_notifies = 0;
  guint open_notifies = 0;
  gboolean was_open_in_transaction = FALSE;

  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      ms_session_model_apply (model, event);
      if (pop3 == NULL
          && (pop3 = ms_session_model_lookup (model, "beta.test", "pop3-1")) != NULL)
        g_signal_connect (pop3, "notify", G_CALLBACK (count_notify_cb), notified);
      if (pop3 != NULL && g_strcmp0 (ms_session_item_get_state (pop3), "transaction") == 0)
        was_open_in_transaction |= ms_session_item_get_open (pop3);
    }
  g_assert_nonnull (pop3);
  g_assert_true (was_open_in_transaction);
  for (guint i = 0; i < notified->len; i++)
    {
      user_notifies += g_str_equal (g_ptr_array_index (notified, i), "user");
      open_notifies += g_str_equal (g_ptr_array_index (notified, i), "open");
    }
  /* One successful login, one close; nothing notifies without a change. */
  g_assert_cmpuint (user_notifies, ==, 1);
  g_assert_cmpuint (open_notifies, ==, 1);
  g_assert_cmpstr (ms_session_item_get_user (pop3), ==, "bob");
  g_assert_cmpstr (ms_session_item_get_proto (pop3), ==, "pop3");
  g_assert_false (ms_session_item_get_open (pop3));

  ms_session_model_reset (model);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
}

static void
test_mid_session (void)
{
  g_autoptr(MsSessionModel) model = ms_session_model_new ();
  g_autoptr(MsEvent) late = ms_event_new (MS_EVENT_COMMAND, "beta.test");
  g_autoptr(MsEvent) early = ms_event_new (MS_EVENT_SESSION_OPEN, "beta.test");
  g_autoptr(MsEvent) other = ms_event_new (MS_EVENT_SESSION_OPEN, "alpha.test");
  g_autoptr(MsSessionItem) first = NULL;
  g_autoptr(MsSessionItem) last = NULL;

  g_test_summary ("A trace that begins inside a session still lists it, in seq order.");
  late->seq = 40;
  ms_event_set_string (late, "session", "imap-9");
  ms_event_set_string (late, "proto", "imap");
  ms_session_model_apply (model, late);
  early->seq = 12;
  ms_event_set_string (early, "session", "pop3-3");
  ms_session_model_apply (model, early);
  other->seq = 50;
  ms_event_set_string (other, "session", "smtp-1");
  ms_session_model_apply (model, other);

  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 3);
  first = g_list_model_get_item (G_LIST_MODEL (model), 0);
  last = g_list_model_get_item (G_LIST_MODEL (model), 2);
  g_assert_cmpstr (ms_session_item_get_server (first), ==, "alpha.test");
  g_assert_cmpstr (ms_session_item_get_session (last), ==, "imap-9");
  g_assert_cmpuint (ms_session_item_get_n_commands (last), ==, 1);
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gui/session-model/lecture", test_lecture);
  g_test_add_func ("/gui/session-model/notify", test_notify);
  g_test_add_func ("/gui/session-model/mid-session", test_mid_session);

  return g_test_run ();
}
