/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-conn.h"
#include "ms-session-output.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* MsPop3Session: the server side of one POP3 connection (RFC 1939, with the
 * extensions of RFC 2449, RFC 2595 and RFC 5034), as a sans-IO state machine.
 * It is fed lines and emits replies through MsPop3Output; it reaches users
 * and the maildrop only through MsPop3Backend. So a test drives it from a
 * table of lines, and so does a fuzzer. */
typedef struct _MsPop3Session MsPop3Session;

typedef enum {
  MS_POP3_STATE_AUTHORIZATION, /* greeting sent; who are you? (RFC 1939 §4) */
  MS_POP3_STATE_TLS,           /* STLS accepted, handshake under way (RFC 2595 §4) */
  MS_POP3_STATE_TRANSACTION,   /* logged in, maildrop locked (RFC 1939 §5) */
  MS_POP3_STATE_UPDATE,        /* QUIT: removing the marked messages (RFC 1939 §6) */
  MS_POP3_STATE_CLOSED,        /* QUIT done, or closed by us */
  MS_POP3_N_STATES
} MsPop3State;

const char *ms_pop3_state_to_string (MsPop3State state);

#define MS_POP3_ERROR (ms_pop3_error_quark ())
GQuark ms_pop3_error_quark (void);
typedef enum {
  MS_POP3_ERROR_IN_USE,       /* another session holds the maildrop (RFC 2449 §8.1.2) */
  MS_POP3_ERROR_LOGIN_DELAY,  /* logged in too recently (RFC 2449 §8.1.1) */
  MS_POP3_ERROR_TEMP,         /* the store failed; try later (RFC 3206 §4) */
} MsPop3Error;

/* One message of the maildrop, as the session lists it. */
typedef struct {
  guint32 uid;                /* the store's UID, passed back to the backend */
  char *uidl;                 /* the unique-id listing (RFC 1939 §7): 1-70 of 0x21..0x7E */
  guint64 size;               /* the exact size as sent: see ms_pop3_wire_size() */
} MsPop3Message;

/* `uidl` is copied. */
MsPop3Message *ms_pop3_message_new (guint32 uid, const char *uidl, guint64 size);
void ms_pop3_message_free (MsPop3Message *message);

/* The size of a message on the wire (RFC 1939 §11 and LIST): every line
 * ends in CRLF, so a bare LF counts as two octets, and a last line without a
 * line ending gets one. The byte-stuffing of lines that begin with "." is
 * not counted. */
guint64 ms_pop3_wire_size (const guint8 *data, gsize len);

/* What the session needs from users and storage. `backend_data` is the
 * per-session pointer given to ms_pop3_session_new(). User names passed to
 * the maildrop functions are the canonical ones that authenticate or
 * apop_secret returned. */
typedef struct {
  /* Checks a password. On success returns TRUE and the canonical user name
   * (a new string) in `user_r`. It should take as long for an unknown user
   * as for a known one. */
  gboolean (*authenticate) (gpointer backend_data, const char *user, const char *password,
                            char **user_r);
  /* The user's plain APOP secret (RFC 1939 §7), a new string the caller
   * wipes and frees, and the canonical name in `user_r`; NULL when the user
   * is unknown or has no secret. */
  char *(*apop_secret) (gpointer backend_data, const char *user, char **user_r);
  /* Takes the maildrop's exclusive lock (RFC 1939 §8) and returns a
   * snapshot of the INBOX: a new array of MsPop3Message (which frees its
   * elements), in UID order. On failure NULL with `error` in MS_POP3_ERROR
   * (IN_USE, LOGIN_DELAY or TEMP). */
  GPtrArray *(*open_maildrop) (gpointer backend_data, const char *user, GError **error);
  /* The message's stored bytes (line ends as stored), or NULL with `error`. */
  GBytes *(*read_message) (gpointer backend_data, const char *user, guint32 uid,
                           GError **error);
  /* DELE marked a message, or RSET unmarked it. Nothing changes in the
   * store; the backend reports it (pop3-mark/pop3-unmark store events). */
  void (*mark) (gpointer backend_data, const char *user, guint32 uid, gboolean marked);
  /* The UPDATE state: removes the marked messages. FALSE with `error` when
   * some could not be removed. */
  gboolean (*commit) (gpointer backend_data, const char *user, const guint32 *uids,
                      guint n_uids, GError **error);
  /* Releases the lock that open_maildrop took. Called exactly once for each
   * successful open_maildrop, however the session ends. */
  void (*close_maildrop) (gpointer backend_data, const char *user);
} MsPop3Backend;

/* POP3 sessions act on their connection through the shared output table. */
typedef MsSessionOutput MsPop3Output;

typedef struct {
  const char *hostname;        /* our domain, in the greeting and the APOP timestamp */
  gboolean tls_available;      /* a certificate is configured: offer STLS */
  gboolean tls_active;         /* implicit TLS (POP3S, RFC 8314) */
  gboolean apop_available;     /* some user has an APOP secret: timestamp in the greeting */
  guint expire_days;           /* CAPA EXPIRE (RFC 2449 §6.7); 0 = not advertised */
  guint login_delay_s;         /* CAPA LOGIN-DELAY (RFC 2449 §6.5); 0 = not advertised */
  guint max_bad_commands;      /* then -ERR and close; default 10 */
  guint max_failed_logins;     /* then -ERR and close; default 3 */
  guint failed_login_delay_ms; /* hold after the first failure, doubled after; default 1000 */
  /* Tracing: events go to `bus` as `server`, for session `session_id`. */
  MsTraceBus *bus;
  const char *server_name;
  const char *session_id;
} MsPop3SessionConfig;

/* Copies what it needs from `config`. The backend and output tables and
 * their data are borrowed and must outlive the session. */
MsPop3Session *ms_pop3_session_new (const MsPop3SessionConfig *config,
                                    const MsPop3Backend *backend, gpointer backend_data,
                                    const MsPop3Output *output, gpointer output_data);
/* Frees the session. A session still in TRANSACTION (the connection dropped
 * without QUIT) removes nothing: its marks are undone and the lock released
 * (RFC 1939 §6). */
void ms_pop3_session_free (MsPop3Session *session);

/* Sends the greeting (RFC 1939 §4), with the APOP timestamp when
 * apop_available. */
void ms_pop3_session_start (MsPop3Session *session);
/* One line from the client, without CRLF. */
void ms_pop3_session_feed_line (MsPop3Session *session, const char *line, gsize len,
                                MsLineFlags flags);
/* The STLS handshake finished. On success the session forgets what the
 * client said before it (RFC 2595 §4). */
void ms_pop3_session_tls_done (MsPop3Session *session, gboolean ok);
/* The client was idle too long: -ERR and close, removing nothing (RFC 1939 §3). */
void ms_pop3_session_timeout (MsPop3Session *session);
/* The server is shutting down: -ERR [SYS/TEMP] and close, removing nothing. */
void ms_pop3_session_shutdown (MsPop3Session *session);

MsPop3State ms_pop3_session_get_state (MsPop3Session *session);
/* TRUE when the next line from the client starts a new command: not a line
 * of a message, not the answer to a continuation request. The step gate
 * holds only such lines. */
gboolean ms_pop3_session_awaits_command (MsPop3Session *session);
/* The canonical user name once logged in, else NULL. Borrowed. */
const char *ms_pop3_session_get_user (MsPop3Session *session);
/* The greeting's APOP timestamp ("<...@host>"), or NULL. Borrowed. */
const char *ms_pop3_session_get_apop_timestamp (MsPop3Session *session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsPop3Session, ms_pop3_session_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsPop3Message, ms_pop3_message_free)

G_END_DECLS
