/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-conn.h"
#include "ms-session-output.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* MsSmtpSession: the server side of one SMTP connection (RFC 5321), as a
 * sans-IO state machine. It is fed lines and emits reply bytes through
 * MsSmtpOutput; it reaches users and mailboxes only through MsSmtpBackend.
 * So a test drives it from a table of lines, and so does a fuzzer. */
typedef struct _MsSmtpSession MsSmtpSession;

typedef enum {
  MS_SMTP_STATE_CONNECTED,    /* greeting sent, waiting for EHLO/HELO */
  MS_SMTP_STATE_READY,        /* greeted; no mail transaction */
  MS_SMTP_STATE_AUTH,         /* inside an AUTH exchange (RFC 4954) */
  MS_SMTP_STATE_MAIL,         /* MAIL accepted, no recipient yet */
  MS_SMTP_STATE_RCPT,         /* at least one recipient accepted */
  MS_SMTP_STATE_DATA,         /* reading the message (RFC 5321 §4.1.1.4) */
  MS_SMTP_STATE_TLS,          /* STARTTLS accepted, handshake under way */
  MS_SMTP_STATE_CLOSED,       /* QUIT, or closed by us */
  MS_SMTP_N_STATES
} MsSmtpState;

const char *ms_smtp_state_to_string (MsSmtpState state);

typedef enum {
  MS_SMTP_PORT_MTA,           /* like 25: mail for our domains, or from routes */
  MS_SMTP_PORT_SUBMISSION,    /* like 587: AUTH required, any recipient */
  MS_SMTP_PORT_SMTPS,         /* like 465: submission over implicit TLS */
} MsSmtpPortKind;

typedef enum {
  MS_SMTP_RCPT_LOCAL,         /* a user of ours */
  MS_SMTP_RCPT_NO_SUCH_USER,  /* our domain, but no such user */
  MS_SMTP_RCPT_REMOTE,        /* another domain with a route: relay it */
  MS_SMTP_RCPT_NO_ROUTE,      /* another domain we cannot reach */
} MsSmtpRcptKind;

typedef struct {
  char *mail_from;            /* reverse path without <>; "" for the null path */
  GPtrArray *rcpt_to;         /* of char *, accepted forward paths */
  char *helo;
  char *auth_user;            /* NULL unless authenticated */
  gboolean tls;
  gboolean body_8bit;
} MsSmtpEnvelope;

typedef struct {
  /* Classifies a recipient address (already syntax-checked, without <>). */
  MsSmtpRcptKind (*classify_rcpt) (gpointer backend_data, const char *address);
  /* Checks a user's password. `user` is what the client gave. */
  gboolean (*authenticate) (gpointer backend_data, const char *user, const char *password);
  /* Takes responsibility for the message: delivered to local mailboxes or
   * queued for relay, durably, before it returns TRUE. `message` is the
   * whole message with the Received: header, CRLF line endings, unstuffed. */
  gboolean (*accept_message) (gpointer backend_data, const MsSmtpEnvelope *envelope,
                              const char *message, gsize len, GError **error);
} MsSmtpBackend;

/* SMTP sessions act on their connection through the shared output table. */
typedef MsSessionOutput MsSmtpOutput;

typedef struct {
  const char *hostname;       /* our domain, in the greeting and Received: */
  MsSmtpPortKind port_kind;
  gboolean tls_available;     /* a certificate is configured: offer STARTTLS */
  gboolean tls_active;        /* implicit TLS (SMTPS) */
  const char *peer;           /* "127.0.0.1:45678", for Received: */
  gsize max_message_size;     /* SIZE (RFC 1870); default 10 MiB */
  guint max_recipients;       /* default 100 (RFC 5321 §4.5.3.1.8 minimum) */
  guint max_bad_commands;     /* then 421 and close; default 10 */
  /* Tracing: events go to `bus` as `server`, for session `session_id`. */
  MsTraceBus *bus;
  const char *server_name;
  const char *session_id;
} MsSmtpSessionConfig;

/* Copies what it needs from `config`. The backend and output tables and
 * their data are borrowed and must outlive the session. */
MsSmtpSession *ms_smtp_session_new (const MsSmtpSessionConfig *config,
                                    const MsSmtpBackend *backend, gpointer backend_data,
                                    const MsSmtpOutput *output, gpointer output_data);
void ms_smtp_session_free (MsSmtpSession *session);

/* Sends the 220 greeting (RFC 5321 §4.2). */
void ms_smtp_session_start (MsSmtpSession *session);
/* One line from the client, without CRLF. */
void ms_smtp_session_feed_line (MsSmtpSession *session, const char *line, gsize len,
                                MsLineFlags flags);
/* The STARTTLS handshake finished. On success the session forgets the
 * greeting and everything after it (RFC 3207 §4.2). */
void ms_smtp_session_tls_done (MsSmtpSession *session, gboolean ok);
/* The client was idle too long: 421 and close (RFC 5321 §4.5.3.2.7). */
void ms_smtp_session_timeout (MsSmtpSession *session);
/* The server is shutting down: 421 and close. */
void ms_smtp_session_shutdown (MsSmtpSession *session);

MsSmtpState ms_smtp_session_get_state (MsSmtpSession *session);
/* TRUE when the next line from the client starts a new command: not a line
 * of a message, not the answer to a continuation request. The step gate
 * holds only such lines. */
gboolean ms_smtp_session_awaits_command (MsSmtpSession *session);
/* NULL when not authenticated. Borrowed. */
const char *ms_smtp_session_get_auth_user (MsSmtpSession *session);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsSmtpSession, ms_smtp_session_free)

G_END_DECLS
