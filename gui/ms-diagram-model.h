/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-event.h"

G_BEGIN_DECLS

/* How an arrow is coloured: a command, or the class of a reply. */
typedef enum {
  MS_ARROW_CLASS_COMMAND,
  MS_ARROW_CLASS_OK,        /* 2xx, +OK, tagged or untagged OK (and PREAUTH), the BYE that
                             * answers the session's LOGOUT (RFC 3501 §6.1.3) */
  MS_ARROW_CLASS_CONTINUE,  /* 3xx, "+" */
  MS_ARROW_CLASS_TEMPFAIL,  /* 4xx */
  MS_ARROW_CLASS_PERMFAIL,  /* 5xx, -ERR, NO, BAD, a BYE the server sends on its own */
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

/* One arrow: properties seq, server, session, from-lane, to-lane, text,
 * kind ("command", "reply", "data"), proto, class (MsArrowClass).
 *
 * from-lane and to-lane are positions in get_lanes(), read when asked: they
 * notify when the arrow's session moves to another lane (to its user's
 * lane after a login, to the relaying server or the user agent's device
 * once the two sides of a connection are matched). When a lane is inserted
 * or removed, the lanes after it move and so do the positions of the
 * arrows that end there, without a notify per arrow: the lanes'
 * items-changed is the signal (see ms_diagram_model_get_lanes()).
 *
 * The strings are borrowed from the event the arrow was made of, which the
 * arrow keeps: they live as long as the arrow. */
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
 * MsArrowItem.
 *
 * Both sides of one connection. A session recorded by a client
 * (`direction: "client"`) and the server's session of the same connection
 * are matched by endpoints (the client's local endpoint is the server
 * session's peer), whichever of the two opens first; the server's side of
 * the lines is drawn, once, and the client's copy is hidden.
 * - A relay hop (proto smtp-relay) is drawn between the two servers' lanes.
 * - Any other client session is a user agent (the app's built-in agents
 *   record under their device's name, "alice's laptop"): the server
 *   session's client lane is the device's lane (named after the client's
 *   `server`, is-server FALSE), also after a login, which otherwise names
 *   the client lane after the user ("alice (127.0.0.1)").
 * A client whose server is not in the trace (a relay to a remote host, an
 * agent talking to Dovecot) draws its own lines, to a server lane named
 * after its peer endpoint ("127.0.0.1:1143").
 *
 * Lane order. Server lanes are added at the end in the order they are
 * first seen. The lane of a server's client (an anonymous peer, which
 * becomes the user's lane at login) and a user agent's device lane (added
 * when its first session is matched or draws its first arrow) go beside
 * the server lane of that session: on its left
 * when that server lane is the leftmost server lane, else on its right,
 * next to the server (a later device of the same server sits closer to
 * it). So alice's laptop on alpha and bob's phone on beta give
 * [alice's laptop] [alpha.test] [beta.test] [bob's phone]. A device lane
 * stays where it was put.
 *
 * Cost: apply() is O(1) amortised per event, whatever the length of the
 * trace (100,000 events in about 0.1 s of CPU). The exceptions are bounded
 * by what is recent: a lane inserted or removed renumbers the lanes after
 * it, and a session hidden, shown or matched after it drew arrows costs
 * the arrows since its first one. Apply many events (a rebuild: reset,
 * then apply from the start) in a batch, so that listeners hear one
 * items-changed, not one per event. */
#define MS_TYPE_DIAGRAM_MODEL (ms_diagram_model_get_type ())
G_DECLARE_FINAL_TYPE (MsDiagramModel, ms_diagram_model, MS, DIAGRAM_MODEL, GObject)

MsDiagramModel *ms_diagram_model_new (void);
void ms_diagram_model_apply (MsDiagramModel *self, const MsEvent *event);
/* Empties the model (arrows and lanes). */
void ms_diagram_model_reset (MsDiagramModel *self);

/* A batch: between begin and end, apply(), reset() and
 * set_session_visible() change the model at once but hold back its
 * items-changed signals (of the arrows and of the lanes); end_batch() emits
 * at most one for each, covering every change since begin_batch(). Batches
 * nest: the outermost end emits. Do not iterate the main loop inside a
 * batch (a listener could read the model before it hears of the change).
 * Lanes still notify "name", arrows "from-lane" and "to-lane" as they
 * change. */
void ms_diagram_model_begin_batch (MsDiagramModel *self);
void ms_diagram_model_end_batch (MsDiagramModel *self);
/* apply() for events[0, n) in one batch. */
void ms_diagram_model_apply_batch (MsDiagramModel *self, MsEvent *const *events, guint n);

/* Borrowed: a GListModel of MsLaneItem.
 *
 * Lanes are inserted (a device lane beside its server, see above) and
 * removed (a peer's temporary lane once its session moves to a user's,
 * a device's or a relaying server's lane). On the lanes' items-changed
 * (position, removed, added), every lane at or after `position` may have
 * moved, and with it the from-lane and to-lane of the arrows that end
 * there: a view must re-read the lanes it watches (for "name") and redraw
 * every arrow from their current from-lane and to-lane, not from
 * positions it kept. */
GListModel *ms_diagram_model_get_lanes (MsDiagramModel *self);

/* Shows or hides the arrows of a session (of `server`); the model itself
 * (a GListModel of MsArrowItem) holds the visible arrows. A session that
 * has not opened yet is remembered: hidden, its arrows stay hidden when
 * they come (until reset()). */
void ms_diagram_model_set_session_visible (MsDiagramModel *self, const char *server,
                                           const char *session, gboolean visible);

G_END_DECLS
