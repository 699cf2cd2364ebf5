/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-event.h"

G_BEGIN_DECLS

/* The trace bus: every component emits its events here, and the recorder,
 * the GUI and the lab engine subscribe. It numbers events with a gapless
 * counter per server and stamps the time. Not thread-safe: it lives on the
 * main context like everything else. */
typedef struct _MsTraceBus MsTraceBus;

/* `event` is borrowed for the duration of the call; ref it to keep it. */
typedef void (*MsTraceFunc) (const MsEvent *event, gpointer user_data);

MsTraceBus *ms_trace_bus_new (void);
MsTraceBus *ms_trace_bus_ref (MsTraceBus *bus);
void ms_trace_bus_unref (MsTraceBus *bus);

/* Returns an id for ms_trace_bus_unsubscribe(). `destroy` runs on unsubscribe
 * and when the bus is freed. */
guint ms_trace_bus_subscribe (MsTraceBus *bus, MsTraceFunc func, gpointer user_data,
                              GDestroyNotify destroy);
void ms_trace_bus_unsubscribe (MsTraceBus *bus, guint id);

/* TRUE when anybody listens: callers skip building events otherwise. A NULL
 * bus has no listeners. */
gboolean ms_trace_bus_is_active (MsTraceBus *bus);

/* Assigns seq and time, delivers to every subscriber, then drops the
 * caller's reference. Accepts a NULL bus (the event is just dropped). */
void ms_trace_bus_emit (MsTraceBus *bus, MsEvent *event);
/* Delivers an event that already has its seq and time (read from a trace
 * port, docs/trace-format.md) to every subscriber as it is, then drops the
 * caller's reference. The bus's own counters are not touched: a bus is fed
 * either by emit() or by deliver() for a given server, not both. Accepts a
 * NULL bus (the event is just dropped). */
void ms_trace_bus_deliver (MsTraceBus *bus, MsEvent *event);

/* Secrets (AUTH data, passwords) are masked in events unless this is set
 * (mailscope-server --reveal-secrets). */
void ms_trace_bus_set_reveal_secrets (MsTraceBus *bus, gboolean reveal);
gboolean ms_trace_bus_get_reveal_secrets (MsTraceBus *bus);

/* Returns `secret` itself when secrets are revealed, or a mask otherwise. */
const char *ms_trace_bus_mask (MsTraceBus *bus, const char *secret);

/* A new session id, unique within this bus: "smtp-1", "smtp-2", ... Free with g_free. */
char *ms_trace_bus_new_session_id (MsTraceBus *bus, const char *proto);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsTraceBus, ms_trace_bus_unref)

G_END_DECLS
