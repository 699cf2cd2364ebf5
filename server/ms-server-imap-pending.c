/* SPDX-License-Identifier: GPL-3.0-or-later */
/* TEMPORARY: stands in for ms-server-imap.c until the IMAP session links. */
#include "config.h"
#include "ms-server-private.h"

static gpointer pending_new (MsServerConnection *c) { return c; }
static void pending_free (gpointer s) { }
static void pending_start (gpointer s)
{
  MsServerConnection *c = s;
  ms_conn_write_line (c->conn, "* BYE [UNAVAILABLE] IMAP is not built yet");
  ms_conn_close_after_flush (c->conn);
}
static void pending_line (gpointer s, const char *l, gsize n, MsLineFlags f) { }
static void pending_tls (gpointer s, gboolean ok) { }
static void pending_void (gpointer s) { }
static const char *pending_state (gpointer s) { return "closed"; }

const MsProtocolOps _ms_server_imap_ops = {
  .proto = "imap", .max_line = 1024, .busy_reply = "* BYE busy",
  .session_new = pending_new, .session_free = pending_free, .start = pending_start,
  .feed_line = pending_line, .tls_done = pending_tls, .timeout = pending_void,
  .shutdown = pending_void, .state_name = pending_state,
};
void _ms_server_imap_store_changed (const char *u, const char *f, gpointer s) { }
void _ms_server_imap_clear (MsServer *server)
{
  g_clear_pointer (&server->imap_changed, g_hash_table_unref);
  g_clear_pointer (&server->imap_recent, g_hash_table_unref);
}
