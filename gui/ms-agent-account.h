/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* MsAgentAccount: one demo user as a built-in user agent sees it: where
 * its server listens (on loopback), the login, and the device it plays.
 * The agents' sessions emit their client-side events on `bus` with
 * `server` set to the device name ("alice's laptop"), so the diagram draws
 * a lane for the device next to the server it talks to.
 *
 * An immutable GObject; its fields are read with the getters. */
#define MS_TYPE_AGENT_ACCOUNT (ms_agent_account_get_type ())
G_DECLARE_FINAL_TYPE (MsAgentAccount, ms_agent_account, MS, AGENT_ACCOUNT, GObject)

MsAgentAccount *ms_agent_account_new (MsTraceBus *bus,
                                      const char *server,     /* "alpha.test" */
                                      const char *host,       /* "127.0.0.1" */
                                      guint16 submission_port,
                                      guint16 pop3_port,
                                      guint16 imap_port,
                                      const char *user,       /* "alice" */
                                      const char *password,
                                      const char *device);    /* "alice's laptop" */

MsTraceBus *ms_agent_account_get_bus (MsAgentAccount *self);
const char *ms_agent_account_get_server (MsAgentAccount *self);
const char *ms_agent_account_get_host (MsAgentAccount *self);
guint16 ms_agent_account_get_submission_port (MsAgentAccount *self);
guint16 ms_agent_account_get_pop3_port (MsAgentAccount *self);
guint16 ms_agent_account_get_imap_port (MsAgentAccount *self);
const char *ms_agent_account_get_user (MsAgentAccount *self);
const char *ms_agent_account_get_password (MsAgentAccount *self);
/* "alice@alpha.test" */
const char *ms_agent_account_get_address (MsAgentAccount *self);
const char *ms_agent_account_get_device (MsAgentAccount *self);

G_END_DECLS
