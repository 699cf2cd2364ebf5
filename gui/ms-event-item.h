/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "ms-event.h"

G_BEGIN_DECLS

/* One trace event as a list row: a GObject around an MsEvent (it holds a
 * reference), with read-only properties for what a row shows. */
#define MS_TYPE_EVENT_ITEM (ms_event_item_get_type ())
G_DECLARE_FINAL_TYPE (MsEventItem, ms_event_item, MS, EVENT_ITEM, GObject)

/* Takes a new reference on `event`. */
MsEventItem *ms_event_item_new (MsEvent *event);
/* Borrowed: valid as long as the item. */
MsEvent *ms_event_item_get_event (MsEventItem *self);
guint64 ms_event_item_get_seq (MsEventItem *self);
/* The kind's name (docs/trace-format.md), static. */
const char *ms_event_item_get_kind (MsEventItem *self);
/* Borrowed strings; NULL when the event has no such member. */
const char *ms_event_item_get_server (MsEventItem *self);
const char *ms_event_item_get_session (MsEventItem *self);
const char *ms_event_item_get_text (MsEventItem *self);

G_END_DECLS
