/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* MsSmtpClient: the client side of one SMTP transaction (RFC 5321), with
 * STARTTLS (RFC 3207), AUTH PLAIN and LOGIN (RFC 4954, RFC 4616) and SIZE
 * (RFC 1870). It is sans-IO: the caller feeds it the server's reply lines
 * one at a time and it answers through the MsSmtpClientOutput vtable. It
 * never touches a socket, so tests drive it from tables of reply lines.
 * ms-smtp-sender.h runs it over a real connection. */
typedef struct _MsSmtpClient MsSmtpClient;

/* The state names are shown by the GUI and written into trace events. */
typedef enum {
  MS_SMTP_CLIENT_STATE_GREETING,        /* waiting for the 220 greeting */
  MS_SMTP_CLIENT_STATE_EHLO,            /* EHLO sent */
  MS_SMTP_CLIENT_STATE_HELO,            /* HELO sent after EHLO was refused */
  MS_SMTP_CLIENT_STATE_STARTTLS,        /* STARTTLS sent */
  MS_SMTP_CLIENT_STATE_TLS_HANDSHAKE,   /* 220 to STARTTLS received; waiting for tls_done */
  MS_SMTP_CLIENT_STATE_AUTH_PLAIN,      /* AUTH PLAIN with initial response sent */
  MS_SMTP_CLIENT_STATE_AUTH_LOGIN,      /* AUTH LOGIN sent */
  MS_SMTP_CLIENT_STATE_AUTH_LOGIN_USER, /* user name sent */
  MS_SMTP_CLIENT_STATE_AUTH_LOGIN_PASS, /* password sent */
  MS_SMTP_CLIENT_STATE_MAIL,            /* MAIL FROM sent */
  MS_SMTP_CLIENT_STATE_RCPT,            /* a RCPT TO sent */
  MS_SMTP_CLIENT_STATE_DATA,            /* DATA sent, waiting for 354 */
  MS_SMTP_CLIENT_STATE_BODY,            /* message and "." sent, waiting for the final reply */
  MS_SMTP_CLIENT_STATE_QUIT,            /* QUIT sent */
  MS_SMTP_CLIENT_STATE_DONE,            /* finished; the done callback has run */
  MS_SMTP_CLIENT_N_STATES
} MsSmtpClientState;

/* "greeting", "ehlo", "auth-login-user", ... Static strings. */
const char *ms_smtp_client_state_to_string (MsSmtpClientState state);

typedef enum {
  MS_SMTP_TLS_NONE,
  MS_SMTP_TLS_STARTTLS,      /* STARTTLS is required: fail when it is not offered */
  MS_SMTP_TLS_OPPORTUNISTIC, /* STARTTLS when offered, plain text otherwise */
  MS_SMTP_TLS_IMPLICIT,      /* the connection is TLS from the start (port 465) */
} MsSmtpTlsMode;

typedef enum {
  MS_SMTP_SEND_STATUS_ALL_DELIVERED, /* every recipient accepted, 2xx after "." */
  MS_SMTP_SEND_STATUS_PARTIAL,       /* 2xx after ".", but some recipients refused */
  MS_SMTP_SEND_STATUS_TEMP_FAILURE,  /* 4xx, 421, connection failure: worth retrying */
  MS_SMTP_SEND_STATUS_PERM_FAILURE,  /* 5xx: do not retry */
  MS_SMTP_SEND_STATUS_PROTOCOL_ERROR, /* the server broke RFC 5321 reply syntax */
  MS_SMTP_SEND_STATUS_TLS_FAILURE,   /* TLS required but not offered, refused or failed */
  MS_SMTP_SEND_STATUS_AUTH_FAILURE,  /* AUTH refused (5xx) or not offered */
} MsSmtpSendStatus;

/* "all-delivered", "partial", ... Static strings. */
const char *ms_smtp_send_status_to_string (MsSmtpSendStatus status);

typedef struct {
  char *address;   /* as given, without angle brackets */
  guint code;      /* the reply to RCPT TO; 0 when RCPT TO was never sent */
  char *enhanced;  /* RFC 3463 code such as "2.1.5", or NULL */
  char *text;      /* reply text without codes, lines joined with '\n'; NULL when code is 0 */
  gboolean accepted; /* RCPT TO got 2xx. Delivered means accepted and a 2xx data_code */
} MsSmtpRecipientResult;

typedef struct {
  MsSmtpSendStatus status;
  char *text;        /* one human sentence saying what happened, with the server's reply */
  GPtrArray *recipients; /* of MsSmtpRecipientResult*, in the order given */
  /* The reply that ended the data phase: the refusal of DATA, or the reply
   * after the final "." (RFC 5321 §4.1.1.4). 0 / NULL when not reached. */
  guint data_code;
  char *data_enhanced;
  char *data_text;
  gboolean tls;      /* the mail went over TLS (STARTTLS or implicit) */
  gboolean authenticated;
} MsSmtpSendResult;

void ms_smtp_send_result_free (MsSmtpSendResult *result);
/* Counts recipients with accepted set. */
guint ms_smtp_send_result_count_accepted (const MsSmtpSendResult *result);

typedef enum {
  MS_SMTP_CLIENT_TRACE_NONE = 0,
  /* The line holds a secret (AUTH data) after its last space, or as a whole
   * when it has no space; see ms_smtp_client_mask_secret(). */
  MS_SMTP_CLIENT_TRACE_SECRET = 1 << 0,
  /* The text is the message as sent after DATA: CRLF line ends, dot-stuffed,
   * ending with the ".\r\n" terminator (RFC 5321 §4.5.2). It may be large. */
  MS_SMTP_CLIENT_TRACE_DATA = 1 << 1,
} MsSmtpClientTraceFlags;

typedef struct {
  /* Send these bytes to the server. Required. */
  void (*send) (const char *data, gsize len, gpointer user_data);
  /* The server said 220 to STARTTLS: start the TLS handshake now and call
   * ms_smtp_client_tls_done() when it finishes. Required when tls is
   * MS_SMTP_TLS_STARTTLS or MS_SMTP_TLS_OPPORTUNISTIC. */
  void (*start_tls) (gpointer user_data);
  /* The transaction is over (after the reply to QUIT, or at once on a
   * protocol error, 421, TLS failure or closed connection). Takes ownership
   * of `result`. The caller should close the connection. The client may be
   * freed from inside this callback. Required. */
  void (*done) (MsSmtpSendResult *result, gpointer user_data);
  /* Optional: each line sent ('C') or received ('S'), without CRLF, or the
   * whole message (MS_SMTP_CLIENT_TRACE_DATA). `text` is NUL-terminated at
   * text[len]. Called before the bytes are sent / before the reply is acted on. */
  void (*trace) (char direction, const char *text, gsize len,
                 MsSmtpClientTraceFlags flags, gpointer user_data);
  /* Optional: the state changed. */
  void (*state_changed) (MsSmtpClientState old_state, MsSmtpClientState new_state,
                         gpointer user_data);
} MsSmtpClientOutput;

typedef struct {
  const char *helo_name;   /* EHLO argument; NULL = "localhost" */
  MsSmtpTlsMode tls;
  const char *username;    /* NULL = no AUTH */
  const char *password;
  const char *mail_from;   /* reverse-path without brackets; "" for the null sender <> */
  const char * const *rcpt_to; /* at least one address */
  GBytes *message;         /* the message; LF or CRLF line ends */
  /* Limits. 0 = default. */
  gsize max_line_length;   /* longest reply line, without CRLF: 510 (RFC 5321 §4.5.3.1.5) */
  guint max_reply_lines;   /* lines in one multi-line reply: 100 */
} MsSmtpClientParams;

#define MS_SMTP_CLIENT_DEFAULT_MAX_LINE_LENGTH 510
#define MS_SMTP_CLIENT_DEFAULT_MAX_REPLY_LINES 100

/* Copies params (strings, the strv, a reference on the message). The client
 * starts in MS_SMTP_CLIENT_STATE_GREETING, waiting for the server's 220. */
MsSmtpClient *ms_smtp_client_new (const MsSmtpClientParams *params,
                                  const MsSmtpClientOutput *output,
                                  gpointer user_data);
/* Wipes the password. NULL is ignored. */
void ms_smtp_client_free (MsSmtpClient *client);

/* One reply line without its CRLF (it may contain NUL bytes, which are a
 * protocol error). Multi-line replies ("250-", ..., "250 ") are gathered
 * and acted on when their last line arrives. Lines after done are ignored. */
void ms_smtp_client_feed_line (MsSmtpClient *client, const char *line, gsize len);

/* The TLS handshake started by start_tls finished. On failure the client
 * finishes with MS_SMTP_SEND_STATUS_TLS_FAILURE (no QUIT: the stream is
 * unusable). On success it sends EHLO again (RFC 3207 §4.2). */
void ms_smtp_client_tls_done (MsSmtpClient *client, gboolean ok, const char *error);

/* The connection is gone (closed by the server, timed out, reset). Finishes
 * unless already done: a result already decided (say 250 after ".", with
 * the connection lost before the reply to QUIT) is kept; otherwise
 * TEMP_FAILURE with `reason`. */
void ms_smtp_client_connection_closed (MsSmtpClient *client, const char *reason);

/* Finishes at once with `status` and `text`, without QUIT (timeouts). */
void ms_smtp_client_abort (MsSmtpClient *client, MsSmtpSendStatus status, const char *text);

MsSmtpClientState ms_smtp_client_get_state (MsSmtpClient *client);
gboolean ms_smtp_client_is_done (MsSmtpClient *client);

/* The size announced with SIZE= (RFC 1870 §3): the message's octets after
 * CRLF normalisation, without dot-stuffing or the final ".". */
guint64 ms_smtp_client_get_message_size (MsSmtpClient *client);

/* Returns a copy of a MS_SMTP_CLIENT_TRACE_SECRET line with the secret
 * replaced by `mask`: "AUTH PLAIN AGFs..." -> "AUTH PLAIN <mask>". Free with g_free. */
char *ms_smtp_client_mask_secret (const char *line, const char *mask);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsSmtpClient, ms_smtp_client_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsSmtpSendResult, ms_smtp_send_result_free)

G_END_DECLS
