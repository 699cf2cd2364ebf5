/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-diagram-model"

#include "config.h"

#include "ms-diagram-model.h"
#include "gui-test-fixture.h"
#include "ms-trace-model.h"

/* Applies the events of `trace`, only those of `server` when it is given. */
static MsDiagramModel *
apply_all (MsTraceModel *trace,
           const char *server)
{
  MsDiagramModel *model = ms_diagram_model_new ();

  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      if (server == NULL || g_strcmp0 (event->server, server) == 0)
        ms_diagram_model_apply (model, event);
    }
  return model;
}

static guint
lane_index (MsDiagramModel *model,
            const char *name)
{
  GListModel *lanes = ms_diagram_model_get_lanes (model);

  for (guint i = 0; i < g_list_model_get_n_items (lanes); i++)
    {
      g_autoptr(MsLaneItem) lane = g_list_model_get_item (lanes, i);

      if (g_strcmp0 (ms_lane_item_get_name (lane), name) == 0)
        return i;
    }
  return G_MAXUINT;
}

static MsArrowItem *
arrow_at (MsDiagramModel *model,
          guint position)
{
  MsArrowItem *arrow = g_list_model_get_item (G_LIST_MODEL (model), position);

  g_assert_nonnull (arrow);
  g_object_unref (arrow);   /* the model keeps it */
  return arrow;
}

static void
test_lecture (void)
{
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("lecture.jsonl");
  g_autoptr(MsDiagramModel) model = apply_all (trace, NULL);
  guint alpha = lane_index (model, "alpha.test");
  guint beta = lane_index (model, "beta.test");
  guint alice = lane_index (model, "alice (127.0.0.1)");
  guint n_lines = 0;
  guint arrow = 0;
  gboolean saw_hop = FALSE;

  g_assert_cmpuint (alpha, !=, G_MAXUINT);
  g_assert_cmpuint (beta, !=, G_MAXUINT);
  g_assert_cmpuint (alice, !=, G_MAXUINT);
  /* alice's device and the two servers: no lane for an anonymous peer. */
  g_assert_cmpuint (g_list_model_get_n_items (ms_diagram_model_get_lanes (model)), ==, 3);

  /* Every line that a server saw is an arrow, in order; the relay client's
   * copy of the hop is not drawn twice. */
  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);
      gboolean from_client;
      MsArrowItem *item;
      guint server_lane, client_lane;

      if (event->kind != MS_EVENT_COMMAND && event->kind != MS_EVENT_REPLY
          && event->kind != MS_EVENT_DATA)
        continue;
      if (g_strcmp0 (ms_event_get_string (event, "direction"), "client") == 0)
        continue;
      n_lines++;
      item = arrow_at (model, arrow++);
      g_assert_cmpuint (ms_arrow_item_get_seq (item), ==, event->seq);
      g_assert_cmpstr (ms_arrow_item_get_text (item), ==, ms_event_get_string (event, "text"));
      g_assert_cmpstr (ms_arrow_item_get_server (item), ==, event->server);

      server_lane = g_str_equal (event->server, "alpha.test") ? alpha : beta;
      client_lane = g_str_equal (event->server, "alpha.test") ? alice : alpha;
      saw_hop |= server_lane == beta;
      from_client = event->kind != MS_EVENT_REPLY;
      g_assert_cmpuint (ms_arrow_item_get_from_lane (item), ==,
                        from_client ? client_lane : server_lane);
      g_assert_cmpuint (ms_arrow_item_get_to_lane (item), ==,
                        from_client ? server_lane : client_lane);
    }
  g_assert_true (saw_hop);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n_lines);
}

static void
test_classes (void)
{
  static const struct {
    const char *json;
    const char *kind;
    MsArrowClass klass;
  } cases[] = {
    { "\"kind\":\"command\",\"proto\":\"smtp\",\"text\":\"DATA\"", "command",
      MS_ARROW_CLASS_COMMAND },
    { "\"kind\":\"reply\",\"proto\":\"smtp\",\"code\":250", "reply", MS_ARROW_CLASS_OK },
    { "\"kind\":\"reply\",\"proto\":\"smtp\",\"code\":354", "reply", MS_ARROW_CLASS_CONTINUE },
    { "\"kind\":\"reply\",\"proto\":\"smtp\",\"code\":451", "reply", MS_ARROW_CLASS_TEMPFAIL },
    { "\"kind\":\"reply\",\"proto\":\"smtp\",\"code\":550", "reply", MS_ARROW_CLASS_PERMFAIL },
    { "\"kind\":\"reply\",\"proto\":\"pop3\",\"status\":\"+OK\"", "reply", MS_ARROW_CLASS_OK },
    { "\"kind\":\"reply\",\"proto\":\"pop3\",\"status\":\"-ERR\"", "reply",
      MS_ARROW_CLASS_PERMFAIL },
    { "\"kind\":\"reply\",\"proto\":\"pop3\",\"status\":\"+\"", "reply",
      MS_ARROW_CLASS_CONTINUE },
    { "\"kind\":\"reply\",\"proto\":\"pop3\",\"continuation\":true", "reply",
      MS_ARROW_CLASS_INFO },
    { "\"kind\":\"reply\",\"proto\":\"imap\",\"tag\":\"a1\",\"status\":\"OK\"", "reply",
      MS_ARROW_CLASS_OK },
    { "\"kind\":\"reply\",\"proto\":\"imap\",\"tag\":\"*\",\"status\":\"OK\"", "reply",
      MS_ARROW_CLASS_OK },
    { "\"kind\":\"reply\",\"proto\":\"imap\",\"tag\":\"a1\",\"status\":\"NO\"", "reply",
      MS_ARROW_CLASS_PERMFAIL },
    { "\"kind\":\"reply\",\"proto\":\"imap\",\"tag\":\"a1\",\"status\":\"BAD\"", "reply",
      MS_ARROW_CLASS_PERMFAIL },
    { "\"kind\":\"reply\",\"proto\":\"imap\",\"tag\":\"*\",\"status\":\"BYE\"", "reply",
      MS_ARROW_CLASS_PERMFAIL },
    { "\"kind\":\"reply\",\"proto\":\"imap\",\"tag\":\"+\",\"status\":\"+\"", "reply",
      MS_ARROW_CLASS_CONTINUE },
    { "\"kind\":\"reply\",\"proto\":\"imap\",\"tag\":\"*\",\"status\":\"EXISTS\"", "reply",
      MS_ARROW_CLASS_INFO },
    { "\"kind\":\"data\",\"proto\":\"smtp\",\"bytes\":3", "data", MS_ARROW_CLASS_INFO },
  };
  g_autoptr(MsDiagramModel) model = ms_diagram_model_new ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *json = g_strdup_printf (
        "{\"v\":1,\"seq\":%u,\"time\":\"2026-11-22T09:00:00.000001Z\",\"server\":\"s\","
        "\"session\":\"x-1\",%s}", i + 1, cases[i].json);
      g_autoptr(GError) error = NULL;
      g_autoptr(MsEvent) event = ms_event_from_json (json, -1, &error);
      MsArrowItem *arrow;

      g_assert_no_error (error);
      ms_diagram_model_apply (model, event);
      arrow = arrow_at (model, i);
      g_assert_cmpstr (ms_arrow_item_get_kind (arrow), ==, cases[i].kind);
      g_assert_cmpstr (ms_arrow_class_to_string (ms_arrow_item_get_class (arrow)), ==,
                       ms_arrow_class_to_string (cases[i].klass));
    }
}

static void
test_devices_and_filter (void)
{
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("imap-move.jsonl");
  g_autoptr(MsDiagramModel) model = apply_all (trace, NULL);
  guint bob = lane_index (model, "bob (127.0.0.1)");
  guint beta = lane_index (model, "beta.test");
  guint n = g_list_model_get_n_items (G_LIST_MODEL (model));
  guint n_imap2 = 0;
  guint n_smtp = 0;

  /* Four IMAP connections of bob from one host: one lane, bob's device. */
  g_assert_cmpuint (bob, !=, G_MAXUINT);
  for (guint i = 0; i < n; i++)
    {
      MsArrowItem *arrow = arrow_at (model, i);

      if (g_strcmp0 (ms_arrow_item_get_proto (arrow), "imap") != 0)
        continue;
      g_assert_true (ms_arrow_item_get_from_lane (arrow) == bob
                     || ms_arrow_item_get_to_lane (arrow) == bob);
      g_assert_true (ms_arrow_item_get_from_lane (arrow) == beta
                     || ms_arrow_item_get_to_lane (arrow) == beta);
      n_imap2 += g_str_equal (ms_arrow_item_get_session (arrow), "imap-2");
    }
  g_assert_cmpuint (n_imap2, >, 0);

  /* beta, bob's device, and one lane per anonymous SMTP client (the
   * deliveries): no lane left behind by an IMAP session before its login. */
  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      n_smtp += event->kind == MS_EVENT_SESSION_OPEN
                && g_strcmp0 (ms_event_get_string (event, "proto"), "smtp") == 0;
    }
  g_assert_cmpuint (n_smtp, >, 0);
  g_assert_cmpuint (g_list_model_get_n_items (ms_diagram_model_get_lanes (model)), ==, 2 + n_smtp);

  ms_diagram_model_set_session_visible (model, "beta.test", "imap-2", FALSE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n - n_imap2);
  for (guint i = 0; i < n - n_imap2; i++)
    g_assert_cmpstr (ms_arrow_item_get_session (arrow_at (model, i)), !=, "imap-2");
  ms_diagram_model_set_session_visible (model, "beta.test", "imap-2", TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n);

  ms_diagram_model_reset (model);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (ms_diagram_model_get_lanes (model)), ==, 0);
}

static void
test_relay_alone (void)
{
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("lecture.jsonl");
  g_autoptr(MsDiagramModel) model = apply_all (trace, "alpha.test");
  guint alpha = lane_index (model, "alpha.test");
  guint relay_arrows = 0;

  g_test_summary ("With only the sending server's trace, the relay client's own lines "
                  "draw the hop, to a lane named after the remote address.");
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (model)); i++)
    {
      MsArrowItem *arrow = arrow_at (model, i);
      g_autoptr(MsLaneItem) remote = NULL;

      if (g_strcmp0 (ms_arrow_item_get_proto (arrow), "smtp-relay") != 0)
        continue;
      relay_arrows++;
      if (g_str_equal (ms_arrow_item_get_kind (arrow), "command"))
        {
          g_assert_cmpuint (ms_arrow_item_get_from_lane (arrow), ==, alpha);
          remote = g_list_model_get_item (ms_diagram_model_get_lanes (model),
                                          ms_arrow_item_get_to_lane (arrow));
          g_assert_true (ms_lane_item_get_is_server (remote));
          g_assert_true (g_str_has_prefix (ms_lane_item_get_name (remote), "127.0.0.1:"));
        }
    }
  g_assert_cmpuint (relay_arrows, >, 0);
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gui/diagram-model/lecture", test_lecture);
  g_test_add_func ("/gui/diagram-model/classes", test_classes);
  g_test_add_func ("/gui/diagram-model/devices-and-filter", test_devices_and_filter);
  g_test_add_func ("/gui/diagram-model/relay-alone", test_relay_alone);

  return g_test_run ();
}
