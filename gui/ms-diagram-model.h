/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-event.h"

G_BEGIN_DECLS

/* How an arrow is coloured: a command, or the class of a reply. */
typedef enum {
  MS_ARROW_CLASS_COMMAND,
  MS_ARROW_CLASS_OK,        /* 2xx, +OK, tagged or untagged OK (and PREAUTH) */
  MS_ARROW_CLASS_CONTINUE,  /* 3xx, "+" */
  MS_ARROW_CLASS_TEMPFAIL,  /* 4xx */
  MS_ARROW_CLASS_PERMFAIL,  /* 5xx, -ERR, NO, BAD, BYE */
  MS_ARROW_CLASS_INFO,      /* other untagged IMAP data, POP3 list lines, message data */
} MsArrowClass;

#define MS_TYPE_ARROW_CLASS (ms_arrow_class_get_type ())
GType ms_arrow_class_get_type (void);
/* "command", "ok", "continue", "tempfail", "permfail", "info". */
const char *ms_arrow_class_to_string (MsArrowClass klass);

/* A lane of the sequence diagram: a server, or a user agent. Properties:
 * name (notifies: a peer's lane takes its user's name once it logs in),
 * is-server. */
#define MS_TYPE_LANE_ITEM (ms_lane_item_get_type ())
G_DECLARE_FINAL_TYPE (MsLaneItem, ms_lane_item, MS, LANE_ITEM, GObject)

const char *ms_lane_item_get_name (MsLaneItem *self);
gboolean ms_lane_item_get_is_server (MsLaneItem *self);

/* One arrow: properties seq, server, session, from-lane, to-lane (positions
 * in get_lanes(); they notify when a session moves to its user's lane), text,
 * kind ("command", "reply", "data"), proto, class (MsArrowClass). */
#define MS_TYPE_ARROW_ITEM (ms_arrow_item_get_type ())
G_DECLARE_FINAL_TYPE (MsArrowItem, ms_arrow_item, MS, ARROW_ITEM, GObject)

guint64 ms_arrow_item_get_seq (MsArrowItem *self);
const char *ms_arrow_item_get_server (MsArrowItem *self);
const char *ms_arrow_item_get_session (MsArrowItem *self);
guint ms_arrow_item_get_from_lane (MsArrowItem *self);
guint ms_arrow_item_get_to_lane (MsArrowItem *self);
const char *ms_arrow_item_get_text (MsArrowItem *self);
const char *ms_arrow_item_get_kind (MsArrowItem *self);
const char *ms_arrow_item_get_proto (MsArrowItem *self);
MsArrowClass ms_arrow_item_get_class (MsArrowItem *self);

/* The sequence diagram: lanes (one per server, one per user agent) and the
 * arrows between them in event order, as a GListModel of the visible
 * MsArrowItem. A relay hop is drawn between the two servers' lanes: the
 * relay client's session (proto smtp-relay, direction client) and the
 * receiving server's session are matched by endpoints, and the receiving
 * side's lines are drawn, once. */
#define MS_TYPE_DIAGRAM_MODEL (ms_diagram_model_get_type ())
G_DECLARE_FINAL_TYPE (MsDiagramModel, ms_diagram_model, MS, DIAGRAM_MODEL, GObject)

MsDiagramModel *ms_diagram_model_new (void);
void ms_diagram_model_apply (MsDiagramModel *self, const MsEvent *event);
void ms_diagram_model_reset (MsDiagramModel *self);
/* Borrowed: a GListModel of MsLaneItem. Lanes are only ever added. */
GListModel *ms_diagram_model_get_lanes (MsDiagramModel *self);
/* Shows or hides the arrows of a session (of `server`); the model itself
 * (a GListModel of MsArrowItem) holds the visible arrows. */
void ms_diagram_model_set_session_visible (MsDiagramModel *self, const char *server,
                                           const char *session, gboolean visible);

G_END_DECLS
