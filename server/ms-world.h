/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-server.h"

G_BEGIN_DECLS

/* MsWorld: the mail servers one process runs, on one main context. The demo
 * world is alpha.test and beta.test, each routing to the other, with the
 * users and ports of DESIGN.md; a plain `mailscope-server` is a world of one. */
typedef struct _MsWorld MsWorld;

/* The demo users and their passwords: "alice" has "alicepw", and so on. */
typedef struct {
  const char *domain;
  guint ports[MS_N_LISTENERS];
  const char *users[3];
} MsDemoServer;

extern const MsDemoServer ms_demo_servers[2];

MsWorld *ms_world_new (MsTraceBus *bus);
/* Makes (on first run) or opens the demo world under `data_dir`: a
 * directory per domain, the demo users, a few seeded messages, and routes
 * between the two servers on `listen_address`. */
MsWorld *ms_world_new_demo (const char *data_dir, const char *listen_address, MsTraceBus *bus,
                            GError **error);
/* Takes ownership of `server`. */
void ms_world_add_server (MsWorld *world, MsServer *server);
GPtrArray *ms_world_get_servers (MsWorld *world);
/* Starts every server; on failure, none is left listening. */
gboolean ms_world_start (MsWorld *world, GError **error);
void ms_world_stop (MsWorld *world);
void ms_world_free (MsWorld *world);

/* A human summary: each server's listening ports and users. Free with g_free. */
char *ms_world_describe (MsWorld *world, gboolean with_demo_passwords);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsWorld, ms_world_free)

G_END_DECLS
