/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-server"

#include "config.h"

#include "ms-session-trace.h"

void
ms_session_trace_init (MsSessionTrace *trace,
                       MsTraceBus *bus,
                       const char *server_name,
                       const char *session_id,
                       const char *proto)
{
  g_return_if_fail (trace != NULL && proto != NULL);

  trace->bus = bus != NULL ? ms_trace_bus_ref (bus) : NULL;
  trace->server_name = g_strdup (server_name);
  trace->session_id = g_strdup (session_id != NULL ? session_id : proto);
  trace->proto = proto;
}

void
ms_session_trace_clear (MsSessionTrace *trace)
{
  g_return_if_fail (trace != NULL);

  g_clear_pointer (&trace->bus, ms_trace_bus_unref);
  g_clear_pointer (&trace->server_name, g_free);
  g_clear_pointer (&trace->session_id, g_free);
}

gboolean
ms_session_trace_is_active (const MsSessionTrace *trace)
{
  return ms_trace_bus_is_active (trace->bus);
}

MsEvent *
ms_session_trace_event (const MsSessionTrace *trace,
                        MsEventKind kind)
{
  MsEvent *event = ms_event_new (kind, trace->server_name);

  ms_event_set_string (event, "session", trace->session_id);
  ms_event_set_string (event, "proto", trace->proto);
  return event;
}

void
ms_session_trace_state (const MsSessionTrace *trace,
                        const char *from,
                        const char *to)
{
  MsEvent *event;

  if (!ms_session_trace_is_active (trace))
    return;
  event = ms_session_trace_event (trace, MS_EVENT_STATE);
  ms_event_set_string (event, "from", from);
  ms_event_set_string (event, "to", to);
  ms_trace_bus_emit (trace->bus, event);
}

void
ms_session_trace_auth (const MsSessionTrace *trace,
                       const char *mechanism,
                       const char *user,
                       gboolean success)
{
  MsEvent *event;

  if (!ms_session_trace_is_active (trace))
    return;
  event = ms_session_trace_event (trace, MS_EVENT_AUTH);
  ms_event_set_string (event, "mechanism", mechanism);
  ms_event_set_string (event, "user", user);
  ms_event_set_bool (event, "success", success);
  ms_trace_bus_emit (trace->bus, event);
}
