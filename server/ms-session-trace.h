/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* What every server session (SMTP, POP3, IMAP) needs to put its events on
 * the trace bus: the bus, the server's name, its own id and protocol. It is
 * a member of each session struct. */
typedef struct {
  MsTraceBus *bus;            /* owned reference; may be NULL */
  char *server_name;
  char *session_id;
  const char *proto;          /* static: "smtp", "pop3" */
} MsSessionTrace;

/* `bus` may be NULL; `server_name` and `session_id` are copied, `proto`
 * must be a static string. */
void ms_session_trace_init (MsSessionTrace *trace, MsTraceBus *bus, const char *server_name,
                            const char *session_id, const char *proto);
void ms_session_trace_clear (MsSessionTrace *trace);

/* TRUE when somebody listens: build events only then. */
gboolean ms_session_trace_is_active (const MsSessionTrace *trace);

/* A new event of this session, with `session` and `proto` set. */
MsEvent *ms_session_trace_event (const MsSessionTrace *trace, MsEventKind kind);

/* A `state` event; `from` is "" for the first state of a session. */
void ms_session_trace_state (const MsSessionTrace *trace, const char *from, const char *to);

/* An `auth` event: never the password. */
void ms_session_trace_auth (const MsSessionTrace *trace, const char *mechanism, const char *user,
                            gboolean success);

G_END_DECLS
