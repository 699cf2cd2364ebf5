/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-auth.h"
#include "ms-relay-queue.h"
#include "ms-store.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* MsServer: one mail domain (alpha.test, say) with its listeners, users,
 * store and relay queue, all on the thread-default main context. Its files
 * live under `data_dir`:
 *   mail/<user>/    each user's Maildir++ (see ms-store.h)
 *   users.conf      users and salted password hashes (see ms-auth.h)
 *   queue/          the outbound relay queue (see ms-relay-queue.h)
 *   tls/            cert.pem and key.pem, self-signed on first run */
typedef struct _MsServer MsServer;

typedef enum {
  MS_LISTENER_SMTP,           /* like 25 */
  MS_LISTENER_SUBMISSION,     /* like 587 */
  MS_LISTENER_SMTPS,          /* like 465 */
  MS_LISTENER_POP3,           /* like 110 */
  MS_LISTENER_POP3S,          /* like 995: POP3 over implicit TLS (RFC 8314) */
  MS_LISTENER_IMAP,           /* like 143 */
  MS_LISTENER_IMAPS,          /* like 993: IMAP over implicit TLS (RFC 8314) */
  MS_N_LISTENERS
} MsListenerKind;

const char *ms_listener_kind_to_string (MsListenerKind kind);

#define MS_SERVER_PORT_ANY 65536

typedef struct {
  const char *domain;
  const char *data_dir;
  const char *listen_address;    /* default "127.0.0.1" */
  /* 0 turns a listener off; MS_SERVER_PORT_ANY picks a free port (tests). */
  guint ports[MS_N_LISTENERS];
  gsize max_message_size;        /* default 10 MiB */
  guint max_connections;         /* default 1000 */
  /* Default 300 (RFC 5321 §4.5.3.2.7); POP3 600 (RFC 1939 §3); IMAP 1800
   * (RFC 3501 §5.4). Set, it applies to every protocol. */
  guint idle_timeout_s;
  guint pop3_expire_days;        /* CAPA EXPIRE (RFC 2449 §6.7); 0 = not advertised */
  guint pop3_login_delay_s;      /* LOGIN-DELAY, advertised and enforced per user; 0 = none */
  gboolean imap_login_needs_tls; /* IMAP LOGINDISABLED until STARTTLS (RFC 3501 §6.2.3) */
  const guint *retry_intervals_s; /* relay backoff; NULL for the default */
  guint n_retry_intervals;
} MsServerConfig;

#define MS_SERVER_ERROR (ms_server_error_quark ())
GQuark ms_server_error_quark (void);
typedef enum {
  MS_SERVER_ERROR_CONFIG,
} MsServerError;

/* Opens (creating if needed) the server's files. `bus` may be NULL. */
MsServer *ms_server_new (const MsServerConfig *config, MsTraceBus *bus, GError **error);
/* Binds the listeners whose port is not 0. */
gboolean ms_server_start (MsServer *server, GError **error);
/* Closes the listeners and sends 421 to every open session. */
void ms_server_stop (MsServer *server);
void ms_server_free (MsServer *server);

const char *ms_server_get_domain (MsServer *server);
const char *ms_server_get_data_dir (MsServer *server);
guint16 ms_server_get_port (MsServer *server, MsListenerKind kind);
guint ms_server_get_connection_count (MsServer *server);
/* Borrowed. */
MsStore *ms_server_get_store (MsServer *server);
MsAuth *ms_server_get_auth (MsServer *server);
MsRelayQueue *ms_server_get_relay_queue (MsServer *server);
/* Emits a `snapshot` event of every mailbox of the server (see
 * ms_store_emit_snapshot()) when the bus has listeners. A failure to read
 * the store is logged with g_warning(), not returned: the server runs on. */
void ms_server_emit_snapshot (MsServer *server);

/* Mail for `domain` is relayed to host:port (our stand-in for DNS MX). */
void ms_server_add_route (MsServer *server, const char *domain, const char *host, guint16 port);
/* Creates the user or changes the password, and makes the user's INBOX. */
gboolean ms_server_set_password (MsServer *server, const char *user, const char *password,
                                 GError **error);
/* Sets (NULL removes) an existing user's APOP secret (RFC 1939 §7). The POP3
 * greeting offers APOP while some user has one. */
gboolean ms_server_set_apop_secret (MsServer *server, const char *user, const char *secret,
                                    GError **error);

/* Step mode (DESIGN.md "Step mode"). While a session is in step mode, each
 * command line it receives waits in the step gate, pending, and a `step`
 * event with state "held" is emitted (docs/trace-format.md); the session
 * sees the line only when it is released. Lines inside SMTP DATA and IMAP
 * literal bytes are not held. Other sessions run on; the idle timeout of a
 * session with a pending line is suspended.
 *
 * `session_id` is the trace's `session` ("smtp-1"); NULL means every
 * session, including those that open later. Turning step mode off releases
 * what waits, as ms_server_continue() does. */
void ms_server_set_step_mode (MsServer *server, const char *session_id, gboolean on);
/* Releases the pending command of that session to the session, which then
 * processes it and replies; the next command is held again. FALSE when no
 * command is pending (or there is no such session). */
gboolean ms_server_step (MsServer *server, const char *session_id);
/* Leaves step mode for that session (NULL: for all) and releases what waits. */
void ms_server_continue (MsServer *server, const char *session_id);
/* A breakpoint on a command verb ("RCPT", "DELE", "FETCH"; matched without
 * regard to case): a session not in step mode that receives such a command
 * enters step mode with it pending. FALSE, and nothing added, for anything
 * but a verb (letters only: ms_breakpoint_normalize()). */
gboolean ms_server_add_breakpoint (MsServer *server, const char *verb);
/* A breakpoint on a reply: an SMTP code ("550") or class ("5xx", "4xx"), a
 * POP3 status ("-ERR"), an IMAP tagged status ("NO", "BAD"). When a session
 * sends such a reply it enters step mode, so its next command waits
 * pending (a `step` event with `gate` "break" says which reply stopped it).
 * FALSE, and nothing added, for anything else. */
gboolean ms_server_add_reply_breakpoint (MsServer *server, const char *reply);
/* Removes every breakpoint, on verbs and on replies. */
void ms_server_clear_breakpoints (MsServer *server);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsServer, ms_server_free)

G_END_DECLS
