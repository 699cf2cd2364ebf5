/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-event.h"

G_BEGIN_DECLS

/* One session (a connection) as the trace tells it. Read-only properties:
 * server, session, proto, listener, peer, local, user (after a successful
 * `auth`), state (the last `state` event's `to`), open, tls, close-reason,
 * first-seq, last-seq, n-commands. Each notifies when it changes. */
#define MS_TYPE_SESSION_ITEM (ms_session_item_get_type ())
G_DECLARE_FINAL_TYPE (MsSessionItem, ms_session_item, MS, SESSION_ITEM, GObject)

/* Borrowed strings; NULL when not known yet. */
const char *ms_session_item_get_server (MsSessionItem *self);
const char *ms_session_item_get_session (MsSessionItem *self);
const char *ms_session_item_get_proto (MsSessionItem *self);
const char *ms_session_item_get_listener (MsSessionItem *self);
const char *ms_session_item_get_peer (MsSessionItem *self);
const char *ms_session_item_get_local (MsSessionItem *self);
const char *ms_session_item_get_user (MsSessionItem *self);
const char *ms_session_item_get_state (MsSessionItem *self);
const char *ms_session_item_get_close_reason (MsSessionItem *self);
gboolean ms_session_item_get_open (MsSessionItem *self);
gboolean ms_session_item_get_tls (MsSessionItem *self);
guint64 ms_session_item_get_first_seq (MsSessionItem *self);
guint64 ms_session_item_get_last_seq (MsSessionItem *self);
guint ms_session_item_get_n_commands (MsSessionItem *self);

/* Every session seen in the events, as a GListModel of MsSessionItem ordered
 * by server, then by the seq of the session's first event: the sessions list
 * "grouped by server". */
#define MS_TYPE_SESSION_MODEL (ms_session_model_get_type ())
G_DECLARE_FINAL_TYPE (MsSessionModel, ms_session_model, MS, SESSION_MODEL, GObject)

MsSessionModel *ms_session_model_new (void);
/* Updates the model from one event; events without `session` are ignored. */
void ms_session_model_apply (MsSessionModel *self, const MsEvent *event);
/* Borrowed; NULL when the session is unknown. */
MsSessionItem *ms_session_model_lookup (MsSessionModel *self, const char *server,
                                        const char *session);
void ms_session_model_reset (MsSessionModel *self);

G_END_DECLS
