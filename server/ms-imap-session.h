/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-conn.h"
#include "ms-session-output.h"
#include "ms-store.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* MsImapSession: the server side of one IMAP connection (RFC 3501 IMAP4rev1,
 * with LITERAL+, IDLE, MOVE, UIDPLUS, NAMESPACE, UNSELECT, SPECIAL-USE and
 * ID), as a sans-IO state machine. It is fed lines and literal bytes and
 * emits responses through the shared MsSessionOutput. Mailboxes are the
 * user's folders in an MsStore; a unit test gives it a store in a temporary
 * directory, so what a test asserts is what is on disk. Users are checked
 * through MsImapBackend. */
typedef struct _MsImapSession MsImapSession;

typedef enum {
  MS_IMAP_STATE_NOT_AUTHENTICATED, /* greeting sent (RFC 3501 §3.1) */
  MS_IMAP_STATE_TLS,               /* STARTTLS accepted, handshake under way (§6.2.1) */
  MS_IMAP_STATE_AUTHENTICATED,     /* logged in, no mailbox selected (§3.2) */
  MS_IMAP_STATE_SELECTED,          /* a mailbox is selected (§3.3) */
  MS_IMAP_STATE_LOGOUT,            /* BYE sent; closing (§3.4) */
  MS_IMAP_N_STATES
} MsImapState;

const char *ms_imap_state_to_string (MsImapState state);

typedef struct {
  /* Checks a password. On success TRUE and the canonical user name (a new
   * string) in `user_r`. */
  gboolean (*authenticate) (gpointer backend_data, const char *user, const char *password,
                            char **user_r);
  /* RFC 3501 §2.3.2: a message is \Recent in exactly one session. Returns
   * the lowest UID that is recent for the caller in user's `folder`, and
   * moves the mailbox's mark to `uidnext` so no other session gets those
   * messages as recent. Optional: NULL means no message is ever recent. */
  guint32 (*claim_recent) (gpointer backend_data, const char *user, const char *folder,
                           guint32 uidnext);
} MsImapBackend;

typedef struct {
  const char *hostname;        /* in the greeting */
  MsStore *store;              /* borrowed; must outlive the session */
  gboolean tls_available;      /* a certificate is configured: offer STARTTLS */
  gboolean tls_active;         /* implicit TLS (IMAPS, RFC 8314) */
  gboolean login_needs_tls;    /* LOGINDISABLED and no AUTH= until TLS (RFC 3501 §6.2.3) */
  gsize max_line;              /* one line of a command; default 64 KiB */
  gsize max_literal;           /* a literal outside APPEND; default 64 KiB */
  gsize max_append;            /* an APPEND message literal; default 10 MiB (APPENDLIMIT) */
  guint max_bad_commands;      /* then "* BYE" and close; default 10 */
  guint max_failed_logins;     /* then "* BYE" and close; default 3 */
  /* Tracing: events go to `bus` as `server`, for session `session_id`. */
  MsTraceBus *bus;
  const char *server_name;
  const char *session_id;
} MsImapSessionConfig;

/* Copies what it needs from `config`. The backend and output tables, their
 * data and the store are borrowed and must outlive the session. */
MsImapSession *ms_imap_session_new (const MsImapSessionConfig *config,
                                    const MsImapBackend *backend, gpointer backend_data,
                                    const MsSessionOutput *output, gpointer output_data);
void ms_imap_session_free (MsImapSession *session);

/* Sends the greeting "* OK [CAPABILITY ...] ..." (RFC 3501 §7.1.1). */
void ms_imap_session_start (MsImapSession *session);
/* One line from the client, without CRLF. */
void ms_imap_session_feed_line (MsImapSession *session, const char *line, gsize len,
                                MsLineFlags flags);
/* Bytes of a literal the session asked for with MsSessionOutput.read_bytes;
 * `last` on the chunk that completes it. */
void ms_imap_session_feed_bytes (MsImapSession *session, const guint8 *data, gsize len,
                                 gboolean last);
/* The STARTTLS handshake finished. On success the session forgets its
 * capabilities and waits for a new command (RFC 3501 §6.2.1). */
void ms_imap_session_tls_done (MsImapSession *session, gboolean ok);
/* The client was idle too long: "* BYE" and close (RFC 3501 §5.4). */
void ms_imap_session_timeout (MsImapSession *session);
/* The server is shutting down: "* BYE" and close. */
void ms_imap_session_shutdown (MsImapSession *session);

/* The selected mailbox changed in the store (another session, a delivery).
 * In IDLE the session tells the client at once (RFC 2177); otherwise at the
 * end of its next command (RFC 3501 §5.2, §7). Cheap: it only marks the
 * session when not idling. */
void ms_imap_session_mailbox_changed (MsImapSession *session);

MsImapState ms_imap_session_get_state (MsImapSession *session);
/* TRUE when the next line from the client starts a new command: not a line
 * of a message, not the answer to a continuation request. The step gate
 * holds only such lines. */
gboolean ms_imap_session_awaits_command (MsImapSession *session);
/* The canonical user name once logged in, else NULL. Borrowed. */
const char *ms_imap_session_get_user (MsImapSession *session);
/* The selected mailbox's canonical name ("INBOX", "Work/2026"), else NULL. */
const char *ms_imap_session_get_selected (MsImapSession *session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsImapSession, ms_imap_session_free)

G_END_DECLS
