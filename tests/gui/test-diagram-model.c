/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-diagram-model"

#include "config.h"

#include <string.h>

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

/* An event of `server` from the members in `json` (without braces). */
static MsEvent *
event_new (const char *server,
           guint64 seq,
           const char *json)
{
  g_autofree char *line = g_strdup_printf (
    "{\"v\":1,\"seq\":%" G_GUINT64_FORMAT ",\"time\":\"2026-11-22T09:00:00.000001Z\","
    "\"server\":\"%s\",%s}", seq, server, json);
  g_autoptr(GError) error = NULL;
  MsEvent *event = ms_event_from_json (line, -1, &error);

  g_assert_no_error (error);
  return event;
}

/* Applies one event made by event_new(). */
static void
apply_json (MsDiagramModel *model,
            const char *server,
            const char *json)
{
  static guint64 seq;
  g_autoptr(MsEvent) event = event_new (server, ++seq, json);

  ms_diagram_model_apply (model, event);
}

/* What the diagram draws: every line a server saw and each TLS handshake;
 * a client's own copy of the relay hop is the same line from the other side. */
static gboolean
is_drawn (const MsEvent *event)
{
  return (event->kind == MS_EVENT_COMMAND || event->kind == MS_EVENT_REPLY
          || event->kind == MS_EVENT_DATA || event->kind == MS_EVENT_TLS)
         && g_strcmp0 (ms_event_get_string (event, "direction"), "client") != 0;
}

/* "[a] [b] [c]": the lanes' names in order. */
static char *
lane_names (MsDiagramModel *model)
{
  GListModel *lanes = ms_diagram_model_get_lanes (model);
  GString *names = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (lanes); i++)
    {
      g_autoptr(MsLaneItem) lane = g_list_model_get_item (lanes, i);

      g_string_append_printf (names, "%s[%s]", i > 0 ? " " : "", ms_lane_item_get_name (lane));
    }
  return g_string_free (names, FALSE);
}

static gboolean
lane_is_server (MsDiagramModel *model,
                guint position)
{
  g_autoptr(MsLaneItem) lane = g_list_model_get_item (ms_diagram_model_get_lanes (model),
                                                      position);

  g_assert_nonnull (lane);
  return ms_lane_item_get_is_server (lane);
}

/* Follows a GListModel's items-changed: how many signals, and the length
 * they add up to (which must be the model's own). */
typedef struct {
  guint n_signals;
  guint n_items;
} ChangeCount;

static void
count_changes_cb (GListModel *list,
                  guint position,
                  guint removed,
                  guint added,
                  ChangeCount *count)
{
  g_assert_cmpuint (position + removed, <=, count->n_items);
  count->n_signals++;
  count->n_items = count->n_items - removed + added;
  g_assert_cmpuint (count->n_items, ==, g_list_model_get_n_items (list));
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
  guint n_handshakes = 0;
  guint arrow = 0;
  gboolean saw_hop = FALSE;

  g_assert_cmpuint (alpha, !=, G_MAXUINT);
  g_assert_cmpuint (beta, !=, G_MAXUINT);
  g_assert_cmpuint (alice, !=, G_MAXUINT);
  /* alice's device and the two servers: no lane for an anonymous peer. */
  g_assert_cmpuint (g_list_model_get_n_items (ms_diagram_model_get_lanes (model)), ==, 3);
  /* alice's user agent on the outer side of her server, not between the
   * two servers. */
  {
    g_autofree char *names = lane_names (model);

    g_assert_cmpstr (names, ==, "[alice (127.0.0.1)] [alpha.test] [beta.test]");
  }

  /* Every line that a server saw is an arrow, in order, and so is each TLS
   * handshake (from the server's side); the relay client's copy of the hop
   * is not drawn twice. */
  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);
      gboolean from_client;
      MsArrowItem *item;
      guint server_lane, client_lane;

      if (!is_drawn (event))
        continue;
      n_lines++;
      item = arrow_at (model, arrow++);
      g_assert_cmpuint (ms_arrow_item_get_seq (item), ==, event->seq);
      if (event->kind == MS_EVENT_TLS)
        {
          n_handshakes++;
          g_assert_cmpstr (ms_arrow_item_get_kind (item), ==, "tls");
          g_assert_cmpstr (ms_arrow_item_get_text (item), ==,
                           "TLS handshake");
          g_assert_cmpint (ms_arrow_item_get_class (item), ==, MS_ARROW_CLASS_INFO);
        }
      else
        g_assert_cmpstr (ms_arrow_item_get_text (item), ==, ms_event_get_string (event, "text"));
      g_assert_cmpstr (ms_arrow_item_get_server (item), ==, event->server);

      server_lane = g_str_equal (event->server, "alpha.test") ? alpha : beta;
      client_lane = g_str_equal (event->server, "alpha.test") ? alice : alpha;
      saw_hop |= server_lane == beta;
      from_client = event->kind == MS_EVENT_COMMAND || event->kind == MS_EVENT_DATA;
      g_assert_cmpuint (ms_arrow_item_get_from_lane (item), ==,
                        from_client ? client_lane : server_lane);
      g_assert_cmpuint (ms_arrow_item_get_to_lane (item), ==,
                        from_client ? server_lane : client_lane);
    }
  g_assert_true (saw_hop);
  /* alpha's relay STARTTLS to beta: beta's side of the handshake. */
  g_assert_cmpuint (n_handshakes, ==, 1);
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

/* One IMAP connection of a built-in user agent ("alice's laptop") to
 * alpha.test, both sides recorded: S_ lines are the server's, C_ lines the
 * agent's copy (direction client). */
enum {
  S_OPEN, S_GREET, S_LOGIN, S_AUTH, S_LOGIN_OK, S_LOGOUT, S_BYE, S_LOGOUT_OK,
  C_OPEN, C_GREET, C_LOGIN, C_LOGIN_OK, C_LOGOUT, C_BYE, C_LOGOUT_OK,
  END = -1
};

#define UA_SERVER "\"session\":\"imap-1\",\"proto\":\"imap\","
#define UA_CLIENT "\"session\":\"imap-9\",\"proto\":\"imap\",\"direction\":\"client\","

static const struct {
  gboolean client;
  const char *json;
} ua_steps[] = {
  [S_OPEN] = { FALSE, "\"kind\":\"session-open\"," UA_SERVER "\"peer\":\"127.0.0.1:40001\","
                      "\"local\":\"127.0.0.1:2143\",\"listener\":\"imap\",\"tls\":false" },
  [S_GREET] = { FALSE, "\"kind\":\"reply\"," UA_SERVER "\"text\":\"* OK ready\",\"tag\":\"*\","
                       "\"status\":\"OK\"" },
  [S_LOGIN] = { FALSE, "\"kind\":\"command\"," UA_SERVER "\"text\":\"a1 LOGIN alice ****\","
                       "\"tag\":\"a1\",\"verb\":\"LOGIN\"" },
  [S_AUTH] = { FALSE, "\"kind\":\"auth\"," UA_SERVER "\"mechanism\":\"LOGIN\",\"user\":\"alice\","
                      "\"success\":true" },
  [S_LOGIN_OK] = { FALSE, "\"kind\":\"reply\"," UA_SERVER "\"text\":\"a1 OK LOGIN completed\","
                          "\"tag\":\"a1\",\"status\":\"OK\"" },
  [S_LOGOUT] = { FALSE, "\"kind\":\"command\"," UA_SERVER "\"text\":\"a2 LOGOUT\","
                        "\"tag\":\"a2\",\"verb\":\"LOGOUT\"" },
  [S_BYE] = { FALSE, "\"kind\":\"reply\"," UA_SERVER "\"text\":\"* BYE logging out\","
                     "\"tag\":\"*\",\"status\":\"BYE\"" },
  [S_LOGOUT_OK] = { FALSE, "\"kind\":\"reply\"," UA_SERVER "\"text\":\"a2 OK LOGOUT completed\","
                           "\"tag\":\"a2\",\"status\":\"OK\"" },
  [C_OPEN] = { TRUE, "\"kind\":\"session-open\"," UA_CLIENT "\"peer\":\"127.0.0.1:2143\","
                     "\"local\":\"127.0.0.1:40001\",\"tls\":false" },
  [C_GREET] = { TRUE, "\"kind\":\"reply\"," UA_CLIENT "\"text\":\"* OK ready\",\"tag\":\"*\","
                      "\"status\":\"OK\"" },
  [C_LOGIN] = { TRUE, "\"kind\":\"command\"," UA_CLIENT "\"text\":\"a1 LOGIN alice ****\","
                      "\"verb\":\"LOGIN\"" },
  [C_LOGIN_OK] = { TRUE, "\"kind\":\"reply\"," UA_CLIENT "\"text\":\"a1 OK LOGIN completed\","
                         "\"tag\":\"a1\",\"status\":\"OK\"" },
  [C_LOGOUT] = { TRUE, "\"kind\":\"command\"," UA_CLIENT "\"text\":\"a2 LOGOUT\","
                       "\"verb\":\"LOGOUT\"" },
  [C_BYE] = { TRUE, "\"kind\":\"reply\"," UA_CLIENT "\"text\":\"* BYE logging out\","
                    "\"tag\":\"*\",\"status\":\"BYE\"" },
  [C_LOGOUT_OK] = { TRUE, "\"kind\":\"reply\"," UA_CLIENT "\"text\":\"a2 OK LOGOUT completed\","
                          "\"tag\":\"a2\",\"status\":\"OK\"" },
};

static void
test_user_agent (void)
{
  static const struct {
    const char *name;
    int steps[16];
    const char *lanes;
    const char *arrow_server;   /* whose lines are drawn */
  } cases[] = {
    /* The server greets before the agent's session opens (a temporary lane
     * for the peer, then the device's), and a login does not rename it. */
    { "server first",
      { S_OPEN, S_GREET, C_OPEN, C_GREET, C_LOGIN, S_LOGIN, S_AUTH, S_LOGIN_OK, C_LOGIN_OK,
        C_LOGOUT, S_LOGOUT, S_BYE, S_LOGOUT_OK, C_BYE, C_LOGOUT_OK, END },
      "[alice's laptop] [alpha.test]", "alpha.test" },
    { "client first",
      { C_OPEN, S_OPEN, S_GREET, C_GREET, C_LOGIN, S_LOGIN, S_AUTH, S_LOGIN_OK, C_LOGIN_OK,
        C_LOGOUT, S_LOGOUT, S_BYE, S_LOGOUT_OK, C_BYE, C_LOGOUT_OK, END },
      "[alice's laptop] [alpha.test]", "alpha.test" },
    /* The agent's lines come first: drawn, then hidden once matched. */
    { "client lines first",
      { C_OPEN, C_GREET, C_LOGIN, S_OPEN, S_GREET, S_LOGIN, S_AUTH, S_LOGIN_OK, C_LOGIN_OK,
        C_LOGOUT, S_LOGOUT, S_BYE, S_LOGOUT_OK, C_BYE, C_LOGOUT_OK, END },
      "[alice's laptop] [alpha.test]", "alpha.test" },
    /* Without the server's side (Dovecot): the agent's own lines, to a lane
     * named after the server's address. */
    { "agent alone",
      { C_OPEN, C_GREET, C_LOGIN, C_LOGIN_OK, C_LOGOUT, C_BYE, C_LOGOUT_OK, END },
      "[alice's laptop] [127.0.0.1:2143]", "alice's laptop" },
  };

  g_test_summary ("A built-in user agent's session and the server's are one connection, "
                  "whichever is seen first: the server's lines are drawn once, from the "
                  "device's lane; without the server, the agent's own lines are.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(MsDiagramModel) model = ms_diagram_model_new ();
      g_autofree char *names = NULL;
      guint n_lines = 0;
      guint n;
      guint device, server;

      g_test_message ("case: %s", cases[i].name);
      for (guint j = 0; cases[i].steps[j] != END; j++)
        {
          int step = cases[i].steps[j];
          gboolean line = !strstr (ua_steps[step].json, "session-open")
                          && !strstr (ua_steps[step].json, "\"auth\"");

          apply_json (model, ua_steps[step].client ? "alice's laptop" : "alpha.test",
                      ua_steps[step].json);
          n_lines += line && (ua_steps[step].client == g_str_equal (cases[i].arrow_server,
                                                                    "alice's laptop"));
        }

      names = lane_names (model);
      g_assert_cmpstr (names, ==, cases[i].lanes);
      device = lane_index (model, "alice's laptop");
      server = g_str_equal (cases[i].arrow_server, "alpha.test")
               ? lane_index (model, "alpha.test") : lane_index (model, "127.0.0.1:2143");
      g_assert_false (lane_is_server (model, device));
      g_assert_true (lane_is_server (model, server));

      n = g_list_model_get_n_items (G_LIST_MODEL (model));
      g_assert_cmpuint (n, ==, n_lines);
      for (guint j = 0; j < n; j++)
        {
          MsArrowItem *arrow = arrow_at (model, j);
          gboolean command = g_str_equal (ms_arrow_item_get_kind (arrow), "command");

          g_assert_cmpstr (ms_arrow_item_get_server (arrow), ==, cases[i].arrow_server);
          g_assert_cmpuint (ms_arrow_item_get_from_lane (arrow), ==, command ? device : server);
          g_assert_cmpuint (ms_arrow_item_get_to_lane (arrow), ==, command ? server : device);
          /* The BYE answers LOGOUT: a normal end, not a failure. */
          if (g_str_has_prefix (ms_arrow_item_get_text (arrow), "* BYE"))
            g_assert_cmpstr (ms_arrow_class_to_string (ms_arrow_item_get_class (arrow)), ==,
                             "ok");
        }
    }
}

static void apply_printf (MsDiagramModel *model, const char *server, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

/* apply_json() of a formatted string. */
static void
apply_printf (MsDiagramModel *model,
              const char *server,
              const char *format,
              ...)
{
  g_autofree char *json = NULL;
  va_list args;

  va_start (args, format);
  json = g_strdup_vprintf (format, args);
  va_end (args);
  apply_json (model, server, json);
}

/* A connection of the demo world, both sides: a user agent's (proto smtp,
 * pop3 or imap) or the relay's (smtp-relay), `client_server` being the
 * device or the relaying server. Both open, then one command and its
 * reply, the client's copy first. */
static void
apply_connection (MsDiagramModel *model,
                  const char *client_server,
                  const char *server,
                  const char *proto,
                  guint server_port,
                  guint client_port)
{
  static guint n;
  g_autofree char *id = g_strdup_printf ("%s-%u", proto, ++n);
  const char *server_proto = g_str_equal (proto, "smtp-relay") ? "smtp" : proto;
  g_autofree char *server_session = g_strdup_printf ("\"session\":\"%s\",\"proto\":\"%s\"",
                                                     id, server_proto);
  g_autofree char *client_session = g_strdup_printf ("\"session\":\"%s\",\"proto\":\"%s\","
                                                     "\"direction\":\"client\"", id, proto);

  apply_printf (model, server, "\"kind\":\"session-open\",%s,\"peer\":\"127.0.0.1:%u\","
                "\"local\":\"127.0.0.1:%u\"", server_session, client_port, server_port);
  apply_printf (model, client_server, "\"kind\":\"session-open\",%s,"
                "\"peer\":\"127.0.0.1:%u\",\"local\":\"127.0.0.1:%u\"",
                client_session, server_port, client_port);
  apply_printf (model, client_server,
                "\"kind\":\"command\",%s,\"text\":\"NOOP\",\"verb\":\"NOOP\"", client_session);
  apply_printf (model, server,
                "\"kind\":\"command\",%s,\"text\":\"NOOP\",\"verb\":\"NOOP\"", server_session);
  apply_printf (model, server, "\"kind\":\"reply\",%s,\"text\":\"OK\",\"status\":\"OK\"",
                server_session);
  apply_printf (model, client_server,
                "\"kind\":\"reply\",%s,\"text\":\"OK\",\"status\":\"OK\"", client_session);
}

static void
test_lane_order (void)
{
  static const struct {
    const char *name;
    /* client side, server side, proto; NULL ends */
    const char *connections[4][3];
    const char *lanes;
  } cases[] = {
    { "lecture",
      { { "alice's laptop", "alpha.test", "smtp" }, { "alpha.test", "beta.test", "smtp-relay" },
        { "bob's phone", "beta.test", "pop3" } },
      "[alice's laptop] [alpha.test] [beta.test] [bob's phone]" },
    { "bob first",
      { { "bob's phone", "beta.test", "imap" }, { "alice's laptop", "alpha.test", "smtp" } },
      "[bob's phone] [beta.test] [alpha.test] [alice's laptop]" },
    /* A second device of the first server: left of it too, next to it; the
     * server's arrows drawn before keep pointing at it. */
    { "two devices",
      { { "alice's laptop", "alpha.test", "imap" }, { "carol's desktop", "alpha.test", "pop3" },
        { "alice's laptop", "alpha.test", "smtp" } },
      "[alice's laptop] [carol's desktop] [alpha.test]" },
  };

  g_test_summary ("A user agent's lane sits on the outer side of the server it talks to.");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(MsDiagramModel) model = ms_diagram_model_new ();
      GListModel *lanes = ms_diagram_model_get_lanes (model);
      ChangeCount lane_changes = { 0 };
      g_autofree char *names = NULL;
      guint n_connections = 0;

      g_test_message ("case: %s", cases[i].name);
      g_signal_connect (lanes, "items-changed", G_CALLBACK (count_changes_cb), &lane_changes);
      for (guint j = 0; j < G_N_ELEMENTS (cases[i].connections); j++)
        {
          if (cases[i].connections[j][0] == NULL)
            break;
          apply_connection (model, cases[i].connections[j][0], cases[i].connections[j][1],
                            cases[i].connections[j][2], 2000 + j, 50000 + j);
          n_connections++;
        }
      names = lane_names (model);
      g_assert_cmpstr (names, ==, cases[i].lanes);
      g_assert_cmpuint (lane_changes.n_items, ==, g_list_model_get_n_items (lanes));

      /* Each connection drawn once, the server's side: its lane at the
       * server's end, the device's or the relaying server's at the other. */
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 2 * n_connections);
      for (guint j = 0; j < 2 * n_connections; j++)
        {
          MsArrowItem *arrow = arrow_at (model, j);
          gboolean command = g_str_equal (ms_arrow_item_get_kind (arrow), "command");
          guint server_end = command ? ms_arrow_item_get_to_lane (arrow)
                                     : ms_arrow_item_get_from_lane (arrow);
          guint client_end = command ? ms_arrow_item_get_from_lane (arrow)
                                     : ms_arrow_item_get_to_lane (arrow);
          const char *const *connection = cases[i].connections[j / 2];

          g_assert_cmpstr (ms_arrow_item_get_server (arrow), ==, connection[1]);
          g_assert_cmpuint (server_end, ==, lane_index (model, connection[1]));
          g_assert_cmpuint (client_end, ==, lane_index (model, connection[0]));
        }
    }
}

static void
test_end_of_session (void)
{
  static const struct {
    const char *name;
    const char *proto;
    const char *command;      /* NULL: none before the reply */
    const char *verb;
    const char *reply;        /* the members of the reply after text */
    MsArrowClass klass;
  } cases[] = {
    /* RFC 3501 §6.1.3: BYE, then the tagged OK, answer LOGOUT. */
    { "imap logout", "imap", "a5 LOGOUT", "LOGOUT", "\"tag\":\"*\",\"status\":\"BYE\"",
      MS_ARROW_CLASS_OK },
    { "imap logout ok", "imap", "a5 LOGOUT", "LOGOUT", "\"tag\":\"a5\",\"status\":\"OK\"",
      MS_ARROW_CLASS_OK },
    /* §7.1.5: a BYE of the server's own (autologout, shutdown). */
    { "imap autologout", "imap", "a5 NOOP", "NOOP", "\"tag\":\"*\",\"status\":\"BYE\"",
      MS_ARROW_CLASS_PERMFAIL },
    { "imap greeting bye", "imap", NULL, NULL, "\"tag\":\"*\",\"status\":\"BYE\"",
      MS_ARROW_CLASS_PERMFAIL },
    /* RFC 1939 §6, RFC 5321 §4.1.1.10. */
    { "pop3 quit", "pop3", "QUIT", "QUIT", "\"status\":\"+OK\"", MS_ARROW_CLASS_OK },
    { "smtp quit", "smtp", "QUIT", "QUIT", "\"code\":221", MS_ARROW_CLASS_OK },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(MsDiagramModel) model = ms_diagram_model_new ();
      guint n;

      g_test_message ("case: %s", cases[i].name);
      if (cases[i].command != NULL)
        apply_printf (model, "s", "\"kind\":\"command\",\"session\":\"s-1\",\"proto\":\"%s\","
                      "\"text\":\"%s\",\"verb\":\"%s\"", cases[i].proto, cases[i].command,
                      cases[i].verb);
      apply_printf (model, "s", "\"kind\":\"reply\",\"session\":\"s-1\",\"proto\":\"%s\","
                    "\"text\":\"bye\",%s", cases[i].proto, cases[i].reply);
      n = g_list_model_get_n_items (G_LIST_MODEL (model));
      g_assert_cmpuint (n, ==, cases[i].command != NULL ? 2 : 1);
      g_assert_cmpstr (ms_arrow_class_to_string (ms_arrow_item_get_class (arrow_at (model, n - 1))),
                       ==, ms_arrow_class_to_string (cases[i].klass));
    }
}

/* The relay client's lines all come before the receiving server's session
 * opens (the sending server's trace, then the receiving one's): matched
 * late, the client's copy is taken out of the arrows already shown. */
static void
test_relay_late_match (void)
{
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("lecture.jsonl");
  g_autoptr(MsDiagramModel) model = ms_diagram_model_new ();
  ChangeCount changes = { 0 };
  guint n_lines = 0;
  guint n;

  g_signal_connect (model, "items-changed", G_CALLBACK (count_changes_cb), &changes);
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
      {
        MsEvent *event = ms_trace_model_get_event (trace, i);

        if (g_str_equal (event->server, "alpha.test") != (pass == 0))
          continue;
        ms_diagram_model_apply (model, event);
        n_lines += is_drawn (event);
      }
  n = g_list_model_get_n_items (G_LIST_MODEL (model));
  g_assert_cmpuint (n, ==, n_lines);
  g_assert_cmpuint (changes.n_items, ==, n);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (ms_arrow_item_get_proto (arrow_at (model, i)), !=, "smtp-relay");
  g_assert_cmpuint (g_list_model_get_n_items (ms_diagram_model_get_lanes (model)), ==, 3);
}

static void
test_hide_before_open (void)
{
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("imap-move.jsonl");
  g_autoptr(MsDiagramModel) model = ms_diagram_model_new ();
  guint n;

  g_test_summary ("A session hidden before it opens (the window hides it again after a "
                  "rebuild) keeps its arrows hidden when they come.");
  ms_diagram_model_set_session_visible (model, "beta.test", "imap-2", FALSE);
  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    ms_diagram_model_apply (model, ms_trace_model_get_event (trace, i));
  n = g_list_model_get_n_items (G_LIST_MODEL (model));
  g_assert_cmpuint (n, >, 0);
  for (guint i = 0; i < n; i++)
    g_assert_cmpstr (ms_arrow_item_get_session (arrow_at (model, i)), !=, "imap-2");
  ms_diagram_model_set_session_visible (model, "beta.test", "imap-2", TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), >, n);
}

/* A copy of `event` as if recorded in the k-th replay of its trace: its
 * session ids and endpoints made unique (the host part stays, so a user's
 * lane is shared across replays). */
static MsEvent *
replay_event (MsEvent *event,
              guint k,
              guint64 seq)
{
  static const char *const members[] = { "session", "peer", "local" };
  g_autofree char *json = ms_event_to_json (event);
  g_autoptr(GError) error = NULL;
  MsEvent *copy = ms_event_from_json (json, -1, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      const char *value = ms_event_get_string (copy, members[i]);

      if (value != NULL)
        {
          g_autofree char *renamed = g_strdup_printf ("%s-%u", value, k);

          ms_event_set_string (copy, members[i], renamed);
        }
    }
  copy->seq = seq;
  return copy;
}

#define LONG_TRACE_EVENTS 100000

static void
test_long_trace (void)
{
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("lecture.jsonl");
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  g_autoptr(MsDiagramModel) model = ms_diagram_model_new ();
  ChangeCount arrow_changes = { 0 };
  ChangeCount lane_changes = { 0 };
  guint n_trace = ms_trace_model_get_n_events (trace);
  guint n_lines = 0;
  gint64 start;

  g_test_summary ("100,000 events (the lecture replayed) apply in one batch, in time "
                  "linear in the trace, with one items-changed for the arrows and one for "
                  "the lanes; rebuilding gives the same diagram.");
  /* Whole replays, so that every relay hop is matched. */
  for (guint k = 0; events->len < LONG_TRACE_EVENTS; k++)
    for (guint i = 0; i < n_trace; i++)
      {
        MsEvent *event = ms_trace_model_get_event (trace, i);

        g_ptr_array_add (events, replay_event (event, k, events->len + 1));
        n_lines += is_drawn (event);
      }
  g_signal_connect (model, "items-changed", G_CALLBACK (count_changes_cb), &arrow_changes);
  g_signal_connect (ms_diagram_model_get_lanes (model), "items-changed",
                    G_CALLBACK (count_changes_cb), &lane_changes);
  for (guint round = 0; round < 2; round++)
    {
      arrow_changes.n_signals = lane_changes.n_signals = 0;
      start = g_get_monotonic_time ();
      ms_diagram_model_begin_batch (model);
      ms_diagram_model_reset (model);
      for (guint i = 0; i < events->len; i++)
        ms_diagram_model_apply (model, g_ptr_array_index (events, i));
      ms_diagram_model_end_batch (model);
      g_test_message ("round %u: reset and %u events applied in %.3f s", round, events->len,
                      (g_get_monotonic_time () - start) / 1e6);

      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n_lines);
      g_assert_cmpuint (arrow_changes.n_items, ==, n_lines);
      g_assert_cmpuint (arrow_changes.n_signals, ==, 1);
      g_assert_cmpuint (lane_changes.n_signals, ==, 1);
      /* alice's lane (one host for every replay) and the two servers. */
      g_assert_cmpuint (g_list_model_get_n_items (ms_diagram_model_get_lanes (model)), ==, 3);
    }

  /* Outside a batch, one signal per arrow. */
  ms_diagram_model_reset (model);
  arrow_changes.n_signals = 0;
  start = g_get_monotonic_time ();
  for (guint i = 0; i < events->len; i++)
    ms_diagram_model_apply (model, g_ptr_array_index (events, i));
  g_test_message ("without a batch: %u events applied in %.3f s", events->len,
                  (g_get_monotonic_time () - start) / 1e6);
  g_assert_cmpuint (arrow_changes.n_signals, ==, n_lines);
  g_assert_cmpuint (arrow_changes.n_items, ==, n_lines);

  ms_diagram_model_apply_batch (model, NULL, 0);
  g_assert_cmpuint (arrow_changes.n_signals, ==, n_lines);
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
  g_test_add_func ("/gui/diagram-model/relay-late-match", test_relay_late_match);
  g_test_add_func ("/gui/diagram-model/user-agent", test_user_agent);
  g_test_add_func ("/gui/diagram-model/lane-order", test_lane_order);
  g_test_add_func ("/gui/diagram-model/end-of-session", test_end_of_session);
  g_test_add_func ("/gui/diagram-model/hide-before-open", test_hide_before_open);
  g_test_add_func ("/gui/diagram-model/long-trace", test_long_trace);

  return g_test_run ();
}
