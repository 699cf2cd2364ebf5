/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* MsPop3Client: the client side of one POP3 session (RFC 1939), with CAPA
 * (RFC 2449), STLS (RFC 2595 §4), AUTH PLAIN (RFC 5034, RFC 4616) and the
 * response codes of RFC 2449 §8 and RFC 3206. It is sans-IO: the caller
 * feeds it the server's lines one at a time and it answers through the
 * MsPop3ClientOutput vtable. It never touches a socket, so tests drive it
 * from tables of server lines. ms-pop3-fetch.h runs it over a connection.
 *
 * After the greeting, CAPA, STLS and login, the client runs a queue of
 * operations (STAT, LIST, UIDL, TOP, RETR, DELE, NOOP, RSET, QUIT), one at
 * a time (no pipelining), reporting each response through `response`. The
 * caller may queue operations at any time, also before the login is over
 * and from inside `response` and `ready`. */
typedef struct _MsPop3Client MsPop3Client;

/* The state names are shown by the GUI and written into trace events. */
typedef enum {
  MS_POP3_CLIENT_STATE_GREETING,      /* waiting for the +OK greeting */
  MS_POP3_CLIENT_STATE_CAPA,          /* CAPA sent (RFC 2449 §5) */
  MS_POP3_CLIENT_STATE_STLS,          /* STLS sent (RFC 2595 §4) */
  MS_POP3_CLIENT_STATE_TLS_HANDSHAKE, /* +OK to STLS received; waiting for tls_done */
  MS_POP3_CLIENT_STATE_USER,          /* USER sent (RFC 1939 §7) */
  MS_POP3_CLIENT_STATE_PASS,          /* PASS sent */
  MS_POP3_CLIENT_STATE_AUTH,          /* AUTH PLAIN sent without initial response; waiting for "+" */
  MS_POP3_CLIENT_STATE_AUTH_RESPONSE, /* the PLAIN credentials sent (RFC 5034 §4) */
  MS_POP3_CLIENT_STATE_TRANSACTION,   /* logged in, nothing outstanding (RFC 1939 §5) */
  MS_POP3_CLIENT_STATE_STAT,
  MS_POP3_CLIENT_STATE_LIST,
  MS_POP3_CLIENT_STATE_UIDL,
  MS_POP3_CLIENT_STATE_TOP,
  MS_POP3_CLIENT_STATE_RETR,
  MS_POP3_CLIENT_STATE_DELE,
  MS_POP3_CLIENT_STATE_NOOP,
  MS_POP3_CLIENT_STATE_RSET,
  MS_POP3_CLIENT_STATE_QUIT,          /* QUIT sent: the server enters UPDATE (RFC 1939 §6) */
  MS_POP3_CLIENT_STATE_DONE,          /* finished; the done callback has run */
  MS_POP3_CLIENT_N_STATES
} MsPop3ClientState;

/* "greeting", "capa", "tls-handshake", "retr", ... Static strings. */
const char *ms_pop3_client_state_to_string (MsPop3ClientState state);

typedef enum {
  MS_POP3_CLIENT_TLS_NONE,
  MS_POP3_CLIENT_TLS_STLS,     /* STLS is required: fail when it is refused */
  MS_POP3_CLIENT_TLS_IMPLICIT, /* the connection is TLS from the start (port 995, RFC 8314) */
} MsPop3ClientTlsMode;

typedef enum {
  MS_POP3_CLIENT_AUTH_USER,  /* USER and PASS (RFC 1939 §7) */
  MS_POP3_CLIENT_AUTH_PLAIN, /* AUTH PLAIN (RFC 5034); fail when SASL PLAIN is not offered */
  MS_POP3_CLIENT_AUTH_ANY,   /* AUTH PLAIN when CAPA offers it, USER and PASS otherwise */
} MsPop3ClientAuth;

/* The operations of the TRANSACTION state, and QUIT. */
typedef enum {
  MS_POP3_CLIENT_CMD_STAT,
  MS_POP3_CLIENT_CMD_LIST, /* msg 0: all (multi-line), else one message */
  MS_POP3_CLIENT_CMD_UIDL, /* msg 0: all (multi-line), else one message */
  MS_POP3_CLIENT_CMD_TOP,  /* msg and lines */
  MS_POP3_CLIENT_CMD_RETR,
  MS_POP3_CLIENT_CMD_DELE,
  MS_POP3_CLIENT_CMD_NOOP,
  MS_POP3_CLIENT_CMD_RSET,
  MS_POP3_CLIENT_CMD_QUIT,
} MsPop3ClientCommand;

/* "STAT", "LIST", ... Static strings. */
const char *ms_pop3_client_command_to_string (MsPop3ClientCommand command);

/* One line of a LIST or UIDL listing (RFC 1939 §5, §7). */
typedef struct {
  guint msg;
  guint64 size;      /* LIST */
  char *uid;         /* UIDL: 1 to 70 characters 0x21-0x7E */
} MsPop3ClientListEntry;

/* The response to one queued operation. Borrowed for the duration of the
 * response callback; take references to keep parts of it. */
typedef struct {
  MsPop3ClientCommand command;
  guint msg;               /* the command's argument; 0 when it has none */
  guint lines;             /* TOP */
  gboolean ok;             /* +OK; for -ERR the fields below are unset */
  const char *text;        /* status line text after "+OK " / "-ERR " (may be "") */
  const char *resp_code;   /* RFC 2449 §8 code without brackets ("IN-USE", "SYS/TEMP"), or NULL */
  /* STAT, LIST n: the count (STAT) and the size in octets. */
  guint count;
  guint64 size;
  /* LIST, UIDL without argument: of MsPop3ClientListEntry, in the server's
   * order; UIDL n: one entry. NULL otherwise. */
  GArray *entries;
  /* RETR, TOP: the message as received, dot-unstuffed (RFC 1939 §3), with
   * the CRLF line ends of the wire. NULL otherwise. */
  GBytes *message;
} MsPop3ClientResponse;

typedef enum {
  MS_POP3_CLIENT_STATUS_OK,             /* the session ended with +OK to QUIT */
  MS_POP3_CLIENT_STATUS_TEMP_FAILURE,   /* connection lost, timeout, -ERR [IN-USE], [LOGIN-DELAY], [SYS/TEMP] */
  MS_POP3_CLIENT_STATUS_AUTH_FAILURE,   /* the login was refused, or no usable mechanism */
  MS_POP3_CLIENT_STATUS_SERVER_ERROR,   /* -ERR greeting, -ERR to QUIT, or a refusal the caller gave up on */
  MS_POP3_CLIENT_STATUS_PROTOCOL_ERROR, /* the server broke the syntax or a limit */
  MS_POP3_CLIENT_STATUS_TLS_FAILURE,    /* TLS required but refused, or the handshake failed */
  MS_POP3_CLIENT_STATUS_ABORTED,        /* the caller gave up (a local error), without QUIT */
} MsPop3ClientStatus;

/* "ok", "temp-failure", ... Static strings. */
const char *ms_pop3_client_status_to_string (MsPop3ClientStatus status);

typedef struct {
  MsPop3ClientStatus status;
  char *text;          /* one human sentence saying what happened, with the server's words */
  char *resp_code;     /* of the -ERR that ended the session, or NULL */
  gboolean tls;        /* the session ran over TLS (STLS or implicit) */
  gboolean authenticated;
  /* The server answered QUIT in the TRANSACTION state with +OK: it entered
   * UPDATE and removed the messages marked with DELE (RFC 1939 §6). Without
   * it, nothing was removed. */
  gboolean committed;
} MsPop3ClientResult;

void ms_pop3_client_result_free (MsPop3ClientResult *result);

typedef enum {
  MS_POP3_CLIENT_TRACE_NONE = 0,
  /* The line holds a secret: see ms_pop3_client_mask_secret(). */
  MS_POP3_CLIENT_TRACE_SECRET = 1 << 0,
  /* A line of a RETR or TOP message as on the wire (still dot-stuffed). */
  MS_POP3_CLIENT_TRACE_DATA = 1 << 1,
  /* A line of another multi-line response body (CAPA, LIST, UIDL). */
  MS_POP3_CLIENT_TRACE_LISTING = 1 << 2,
  /* The "." that ends a multi-line response. */
  MS_POP3_CLIENT_TRACE_END = 1 << 3,
} MsPop3ClientTraceFlags;

typedef struct {
  /* Send these bytes to the server. Required. */
  void (*send) (const char *data, gsize len, gpointer user_data);
  /* The server said +OK to STLS: start the TLS handshake now and call
   * ms_pop3_client_tls_done() when it finishes. Required with MS_POP3_CLIENT_TLS_STLS. */
  void (*start_tls) (gpointer user_data);
  /* Logged in with the queue empty, and again each time the queue runs
   * empty: queue more, or QUIT. Optional (without it the caller must keep
   * the queue going itself). */
  void (*ready) (gpointer user_data);
  /* The response to a queued operation, after it is complete. Optional. */
  void (*response) (const MsPop3ClientResponse *response, gpointer user_data);
  /* The session is over (after the reply to QUIT, or at once on a
   * protocol error, TLS failure, closed connection or abort). Takes
   * ownership of `result`. The caller should close the connection. The
   * client may be freed from inside this callback. Required. */
  void (*done) (MsPop3ClientResult *result, gpointer user_data);
  /* Optional: each line sent ('C') or received ('S'), without CRLF.
   * `text` is NUL-terminated at text[len] (it may hold NUL bytes in message
   * lines). Called before the bytes are sent / before the line is acted on. */
  void (*trace) (char direction, const char *text, gsize len,
                 MsPop3ClientTraceFlags flags, gpointer user_data);
  /* Optional: the state changed. */
  void (*state_changed) (MsPop3ClientState old_state, MsPop3ClientState new_state,
                         gpointer user_data);
} MsPop3ClientOutput;

typedef struct {
  MsPop3ClientTlsMode tls;
  MsPop3ClientAuth auth;
  const char *username;      /* required */
  const char *password;      /* required */
  gboolean skip_capa;        /* do not send CAPA (a server from before RFC 2449) */
  /* Limits. 0 = default. */
  gsize max_line_length;     /* status and listing lines without CRLF: 510 (RFC 2449 §4) */
  gsize max_data_line_length; /* lines of a RETR/TOP message: 65536 */
  gsize max_message_size;    /* one multi-line response, unstuffed: 64 MiB */
} MsPop3ClientParams;

#define MS_POP3_CLIENT_DEFAULT_MAX_LINE_LENGTH 510
#define MS_POP3_CLIENT_DEFAULT_MAX_DATA_LINE_LENGTH 65536
#define MS_POP3_CLIENT_DEFAULT_MAX_MESSAGE_SIZE (64 * 1024 * 1024)

/* Copies params. The client starts in MS_POP3_CLIENT_STATE_GREETING. */
MsPop3Client *ms_pop3_client_new (const MsPop3ClientParams *params,
                                  const MsPop3ClientOutput *output,
                                  gpointer user_data);
/* Wipes the password. NULL is ignored. */
void ms_pop3_client_free (MsPop3Client *client);

/* One line from the server without its CRLF. Lines after done are ignored. */
void ms_pop3_client_feed_line (MsPop3Client *client, const char *line, gsize len);

/* The TLS handshake started by start_tls finished. On failure the client
 * finishes with MS_POP3_CLIENT_STATUS_TLS_FAILURE. On success it asks CAPA
 * again (RFC 2595 §4: what was learnt in plain text is forgotten). */
void ms_pop3_client_tls_done (MsPop3Client *client, gboolean ok, const char *error);

/* Queues an operation. `msg` is the message number (0 = all for LIST and
 * UIDL, ignored by STAT, NOOP, RSET and QUIT), `lines` the TOP line count.
 * Nothing can be queued after QUIT or once done (ignored, with a warning). */
void ms_pop3_client_enqueue (MsPop3Client *client, MsPop3ClientCommand command,
                             guint msg, guint lines);
/* Operations queued and not yet answered, the one in flight included. */
guint ms_pop3_client_get_queue_length (MsPop3Client *client);

/* The connection is gone. Finishes unless already done, with
 * TEMP_FAILURE (or OK when QUIT was already answered). */
void ms_pop3_client_connection_closed (MsPop3Client *client, const char *reason);

/* Finishes at once with `status` and `text`, without QUIT (timeouts, local
 * errors that must not commit anything). */
void ms_pop3_client_abort (MsPop3Client *client, MsPop3ClientStatus status, const char *text);

MsPop3ClientState ms_pop3_client_get_state (MsPop3Client *client);
gboolean ms_pop3_client_is_done (MsPop3Client *client);

/* What CAPA said (after the last CAPA: a new one after STLS replaces it).
 * FALSE when CAPA was refused or not sent. `name` is a capability tag such
 * as "UIDL", "TOP", "STLS", "USER"; for SASL mechanisms ask "SASL PLAIN". */
gboolean ms_pop3_client_has_capability (MsPop3Client *client, const char *name);

/* Returns a copy of a MS_POP3_CLIENT_TRACE_SECRET line with the secret
 * replaced by `mask`: "PASS s3cret word" -> "PASS <mask>", "AUTH PLAIN
 * AGFs..." -> "AUTH PLAIN <mask>", and a bare SASL line -> "<mask>". */
char *ms_pop3_client_mask_secret (const char *line, const char *mask);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsPop3Client, ms_pop3_client_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsPop3ClientResult, ms_pop3_client_result_free)

G_END_DECLS
