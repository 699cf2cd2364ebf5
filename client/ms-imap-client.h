/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* MsImapClient: the client side of one IMAP4rev1 session (RFC 3501), with
 * STARTTLS (§6.2.1), LOGIN (§6.2.3) or AUTHENTICATE PLAIN (RFC 4616, with
 * SASL-IR, RFC 4959, when offered), LITERAL+ (RFC 7888), IDLE (RFC 2177),
 * MOVE (RFC 6851) and UIDPLUS codes (RFC 4315). It is sans-IO: the caller
 * feeds it the server's bytes and it answers through MsImapClientOutput. It
 * never touches a socket, so tests drive it from tables of server bytes.
 * ms-imap-ops.h runs it over a connection.
 *
 * It frames the input itself (lines and literals, RFC 3501 §4.3), so bytes
 * may come in any chunks, one at a time too. Every limit is checked before
 * anything is kept; a server that breaks the syntax or a limit ends the
 * session with MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, never a crash.
 *
 * After the greeting, CAPABILITY, STARTTLS and login, the client runs a queue
 * of commands one at a time (no pipelining), each with a new tag (a1, a2,
 * ...). Untagged data is reported as it arrives through `untagged`, the
 * tagged completion through `response`. */
typedef struct _MsImapClient MsImapClient;

/* The states of RFC 3501 §3, plus the steps before login. The names are
 * written into trace events. */
typedef enum {
  MS_IMAP_CLIENT_STATE_GREETING,       /* waiting for "* OK" / "* PREAUTH" */
  MS_IMAP_CLIENT_STATE_CAPABILITY,     /* CAPABILITY sent (before login) */
  MS_IMAP_CLIENT_STATE_STARTTLS,       /* STARTTLS sent (§6.2.1) */
  MS_IMAP_CLIENT_STATE_TLS_HANDSHAKE,  /* OK to STARTTLS; waiting for tls_done */
  MS_IMAP_CLIENT_STATE_LOGIN,          /* LOGIN sent (§6.2.3) */
  MS_IMAP_CLIENT_STATE_AUTHENTICATE,   /* AUTHENTICATE PLAIN sent (§6.2.2) */
  MS_IMAP_CLIENT_STATE_AUTHENTICATED,  /* logged in, no mailbox selected (§3.2) */
  MS_IMAP_CLIENT_STATE_SELECTED,       /* a mailbox is selected (§3.3) */
  MS_IMAP_CLIENT_STATE_APPEND_LITERAL, /* APPEND sent; waiting for "+" to send the message */
  MS_IMAP_CLIENT_STATE_IDLE,           /* IDLE running (RFC 2177) */
  MS_IMAP_CLIENT_STATE_LOGOUT,         /* LOGOUT sent (§6.1.3) */
  MS_IMAP_CLIENT_STATE_DONE,           /* finished; the done callback has run */
  MS_IMAP_CLIENT_N_STATES
} MsImapClientState;

/* "greeting", "authenticated", "selected", ... Static strings. */
const char *ms_imap_client_state_to_string (MsImapClientState state);

typedef enum {
  MS_IMAP_CLIENT_TLS_NONE,
  MS_IMAP_CLIENT_TLS_STARTTLS, /* required: fail when it is not offered or refused */
  MS_IMAP_CLIENT_TLS_IMPLICIT, /* TLS from the first byte (port 993, RFC 8314) */
} MsImapClientTlsMode;

typedef enum {
  MS_IMAP_CLIENT_AUTH_LOGIN, /* LOGIN user password (RFC 3501 §6.2.3) */
  MS_IMAP_CLIENT_AUTH_PLAIN, /* AUTHENTICATE PLAIN; fail when AUTH=PLAIN is not offered */
  MS_IMAP_CLIENT_AUTH_ANY,   /* AUTHENTICATE PLAIN when offered, LOGIN otherwise */
} MsImapClientAuth;

typedef enum {
  MS_IMAP_CLIENT_CMD_CAPABILITY,
  MS_IMAP_CLIENT_CMD_NOOP,
  MS_IMAP_CLIENT_CMD_LIST,        /* mailbox = pattern ("*"); args: optional "RETURN (...)" */
  MS_IMAP_CLIENT_CMD_LSUB,        /* mailbox = pattern */
  MS_IMAP_CLIENT_CMD_CREATE,
  MS_IMAP_CLIENT_CMD_DELETE,
  MS_IMAP_CLIENT_CMD_RENAME,      /* mailbox -> mailbox2 */
  MS_IMAP_CLIENT_CMD_SUBSCRIBE,
  MS_IMAP_CLIENT_CMD_UNSUBSCRIBE,
  MS_IMAP_CLIENT_CMD_STATUS,      /* args: the item list, "(MESSAGES UNSEEN ...)" */
  MS_IMAP_CLIENT_CMD_SELECT,
  MS_IMAP_CLIENT_CMD_EXAMINE,
  MS_IMAP_CLIENT_CMD_FETCH,       /* set + args (the items); `uid` for UID FETCH */
  MS_IMAP_CLIENT_CMD_STORE,       /* set + args ("+FLAGS.SILENT (\\Seen)") */
  MS_IMAP_CLIENT_CMD_COPY,        /* set -> mailbox */
  MS_IMAP_CLIENT_CMD_MOVE,        /* set -> mailbox (RFC 6851) */
  MS_IMAP_CLIENT_CMD_EXPUNGE,     /* with `uid` and a set: UID EXPUNGE (RFC 4315) */
  MS_IMAP_CLIENT_CMD_SEARCH,      /* args: the criteria */
  MS_IMAP_CLIENT_CMD_APPEND,      /* mailbox, flags (args, "(\\Seen)" or NULL), message */
  MS_IMAP_CLIENT_CMD_IDLE,        /* ended by ms_imap_client_idle_done() */
  MS_IMAP_CLIENT_CMD_CLOSE,
  MS_IMAP_CLIENT_CMD_LOGOUT,
  MS_IMAP_CLIENT_N_COMMANDS
} MsImapClientCommandKind;

/* "CAPABILITY", "LIST", ... Static strings. */
const char *ms_imap_client_command_to_string (MsImapClientCommandKind kind);

/* A command to queue. Strings are copied. Mailbox names are UTF-8: the
 * client writes them in modified UTF-7 (RFC 3501 §5.1.3). `set` and `args`
 * are IMAP syntax as is ("1:*", "4,7", "(FLAGS UID)"); neither may hold CR
 * or LF. */
typedef struct {
  MsImapClientCommandKind kind;
  gboolean uid;               /* UID FETCH / STORE / COPY / MOVE / SEARCH / EXPUNGE */
  const char *mailbox;
  const char *mailbox2;
  const char *set;
  const char *args;
  GBytes *message;            /* APPEND: CRLF line ends */
} MsImapClientCommand;

/* A response code (RFC 3501 §7.1), the text in brackets. Borrowed. */
typedef struct {
  const char *name;        /* upper case: "UIDVALIDITY", "APPENDUID", "ALERT", ... */
  const char *args;        /* what follows the name, "" when nothing */
  /* Parsed for the codes that carry numbers: UIDVALIDITY, UIDNEXT, UNSEEN,
   * APPENDUID and COPYUID (RFC 4315 §3) set `number` to their first number
   * (the UIDVALIDITY for APPENDUID/COPYUID); APPENDUID sets `uid`; COPYUID
   * sets `source_set` and `dest_set`. */
  guint32 number;
  guint32 uid;
  const char *source_set;
  const char *dest_set;
} MsImapClientCode;

/* One body section or other literal-valued item of a FETCH response. */
typedef struct {
  const char *name;        /* upper case as sent: "BODY[HEADER.FIELDS (DATE FROM)]", "RFC822" */
  GBytes *data;            /* NIL gives an empty GBytes */
} MsImapClientSection;

/* A FETCH response (RFC 3501 §7.4.2). Borrowed. */
typedef struct {
  guint32 seq;
  guint32 uid;             /* 0 when not sent */
  gboolean has_flags;
  const char * const *flags;
  const char *internal_date; /* NULL when not sent */
  guint64 size;            /* RFC822.SIZE; 0 when not sent */
  gboolean has_size;
  GPtrArray *sections;     /* of MsImapClientSection* */
} MsImapClientFetch;

typedef enum {
  MS_IMAP_CLIENT_UNTAGGED_STATUS_RESPONSE, /* "* OK/NO/BAD/BYE/PREAUTH [code] text" */
  MS_IMAP_CLIENT_UNTAGGED_CAPABILITY,
  MS_IMAP_CLIENT_UNTAGGED_LIST,
  MS_IMAP_CLIENT_UNTAGGED_LSUB,
  MS_IMAP_CLIENT_UNTAGGED_STATUS,
  MS_IMAP_CLIENT_UNTAGGED_FLAGS,
  MS_IMAP_CLIENT_UNTAGGED_EXISTS,
  MS_IMAP_CLIENT_UNTAGGED_RECENT,
  MS_IMAP_CLIENT_UNTAGGED_EXPUNGE,
  MS_IMAP_CLIENT_UNTAGGED_FETCH,
  MS_IMAP_CLIENT_UNTAGGED_SEARCH,
  MS_IMAP_CLIENT_UNTAGGED_OTHER,           /* ENABLED, ID, ...: `text` is the whole line */
} MsImapClientUntaggedKind;

/* One untagged response. Borrowed for the duration of the callback. */
typedef struct {
  MsImapClientUntaggedKind kind;
  /* STATUS_RESPONSE: "OK", "NO", "BAD", "BYE", "PREAUTH"; `code` may be
   * NULL; `text` is the human text. OTHER: `text` is the line after "* ". */
  const char *status;
  const MsImapClientCode *code;
  const char *text;
  /* EXISTS, RECENT, EXPUNGE: the number. */
  guint32 number;
  /* CAPABILITY: the capabilities as sent. FLAGS: the flags. LIST, LSUB:
   * the mailbox attributes ("\\HasNoChildren", "\\Sent", ...). */
  const char * const *names;
  /* LIST, LSUB, STATUS: the mailbox in UTF-8 (or as sent, when it is not
   * valid modified UTF-7), and the hierarchy delimiter (0 for NIL). */
  const char *mailbox;
  char delimiter;
  /* STATUS: alternating item names and values ("MESSAGES", "3", ...). */
  const char * const *status_items;
  /* FETCH. */
  const MsImapClientFetch *fetch;
  /* SEARCH: the numbers (guint32). */
  GArray *numbers;
} MsImapClientUntagged;

/* The tagged completion of one queued command. Borrowed. */
typedef struct {
  MsImapClientCommandKind kind;
  const char *tag;
  gboolean ok;             /* OK; else NO or BAD */
  const char *status;      /* "OK", "NO", "BAD" */
  const MsImapClientCode *code; /* or NULL */
  const char *text;
} MsImapClientResponse;

typedef enum {
  MS_IMAP_CLIENT_STATUS_OK,             /* the session ended with LOGOUT answered */
  MS_IMAP_CLIENT_STATUS_TEMP_FAILURE,   /* connection lost, timeout, BYE */
  MS_IMAP_CLIENT_STATUS_AUTH_FAILURE,   /* login refused, or no usable mechanism */
  MS_IMAP_CLIENT_STATUS_SERVER_ERROR,   /* a refusal the caller gave up on */
  MS_IMAP_CLIENT_STATUS_PROTOCOL_ERROR, /* the server broke the syntax or a limit */
  MS_IMAP_CLIENT_STATUS_TLS_FAILURE,    /* STARTTLS required but refused, or handshake failed */
  MS_IMAP_CLIENT_STATUS_ABORTED,        /* the caller gave up (a local error), without LOGOUT */
} MsImapClientStatus;

/* "ok", "temp-failure", ... Static strings. */
const char *ms_imap_client_status_to_string (MsImapClientStatus status);

typedef struct {
  MsImapClientStatus status;
  char *text;              /* one sentence saying what happened, with the server's words */
  gboolean tls;
  gboolean authenticated;
} MsImapClientResult;

void ms_imap_client_result_free (MsImapClientResult *result);

typedef enum {
  MS_IMAP_CLIENT_TRACE_NONE = 0,
  MS_IMAP_CLIENT_TRACE_SECRET = 1 << 0,   /* see ms_imap_client_mask_secret() */
  MS_IMAP_CLIENT_TRACE_LITERAL = 1 << 1,  /* the bytes of a literal, not a line */
  MS_IMAP_CLIENT_TRACE_TAGGED = 1 << 2,   /* a command line that starts with a tag */
} MsImapClientTraceFlags;

typedef struct {
  /* Send these bytes to the server. Required. */
  void (*send) (const char *data, gsize len, gpointer user_data);
  /* OK to STARTTLS: start the handshake, then call ms_imap_client_tls_done().
   * Required with MS_IMAP_CLIENT_TLS_STARTTLS. */
  void (*start_tls) (gpointer user_data);
  /* Logged in with the queue empty, and each time it runs empty again. */
  void (*ready) (gpointer user_data);
  /* Each untagged response, as it arrives. Optional. */
  void (*untagged) (const MsImapClientUntagged *untagged, gpointer user_data);
  /* The tagged completion of a queued command. Optional. */
  void (*response) (const MsImapClientResponse *response, gpointer user_data);
  /* The session is over. Takes ownership of `result`. The client may be
   * freed from inside. Required. */
  void (*done) (MsImapClientResult *result, gpointer user_data);
  /* Optional: each line sent ('C') or received ('S') without CRLF, and each
   * literal (flag LITERAL). NUL-terminated at text[len]. */
  void (*trace) (char direction, const char *text, gsize len,
                 MsImapClientTraceFlags flags, gpointer user_data);
  /* Optional. */
  void (*state_changed) (MsImapClientState old_state, MsImapClientState new_state,
                         gpointer user_data);
} MsImapClientOutput;

typedef struct {
  MsImapClientTlsMode tls;
  MsImapClientAuth auth;
  const char *username;      /* required */
  const char *password;      /* required */
  /* Limits. 0 = default. */
  gsize max_line_length;     /* one line of a response, without CRLF: 64 KiB */
  gsize max_literal_size;    /* one literal: 64 MiB */
  gsize max_response_size;   /* one response, lines and literals: 80 MiB */
  guint max_depth;           /* parenthesised list nesting: 32 */
} MsImapClientParams;

#define MS_IMAP_CLIENT_DEFAULT_MAX_LINE_LENGTH 65536
#define MS_IMAP_CLIENT_DEFAULT_MAX_LITERAL_SIZE (64 * 1024 * 1024)
#define MS_IMAP_CLIENT_DEFAULT_MAX_RESPONSE_SIZE (80 * 1024 * 1024)
#define MS_IMAP_CLIENT_DEFAULT_MAX_DEPTH 32

/* Copies params. Starts in MS_IMAP_CLIENT_STATE_GREETING (with implicit TLS
 * the caller feeds nothing until its handshake is over). */
MsImapClient *ms_imap_client_new (const MsImapClientParams *params,
                                  const MsImapClientOutput *output,
                                  gpointer user_data);
/* Wipes the password. NULL is ignored. */
void ms_imap_client_free (MsImapClient *client);

/* Bytes from the server, in any chunks. Ignored after done. */
void ms_imap_client_feed (MsImapClient *client, const char *data, gsize len);

/* While a literal is being read: how many of its bytes are still to come
 * (a driver reading lines switches to raw bytes for them); 0 otherwise. */
gsize ms_imap_client_get_literal_pending (MsImapClient *client);

/* The handshake started by start_tls finished. On success the client asks
 * CAPABILITY again (RFC 3501 §6.2.1: what was learnt before is forgotten). */
void ms_imap_client_tls_done (MsImapClient *client, gboolean ok, const char *error);

/* Queues a command; its tag is chosen when it is sent. FALSE when it is
 * refused (after LOGOUT or the end, a CR or LF in an argument, a name that
 * is not UTF-8), with a warning. */
gboolean ms_imap_client_enqueue (MsImapClient *client, const MsImapClientCommand *command);
/* Commands queued and not yet answered, the one in flight included. */
guint ms_imap_client_get_queue_length (MsImapClient *client);

/* Ends a running IDLE with DONE (RFC 2177 §3); the IDLE command then gets
 * its tagged OK. Before the server's "+" the DONE waits for it. */
void ms_imap_client_idle_done (MsImapClient *client);

/* The connection is gone. Finishes unless already done. */
void ms_imap_client_connection_closed (MsImapClient *client, const char *reason);
/* Finishes at once, without LOGOUT. */
void ms_imap_client_abort (MsImapClient *client, MsImapClientStatus status, const char *text);

MsImapClientState ms_imap_client_get_state (MsImapClient *client);
gboolean ms_imap_client_is_done (MsImapClient *client);

/* What the last CAPABILITY said ("IDLE", "MOVE", "AUTH=PLAIN", ...); case
 * does not matter. */
gboolean ms_imap_client_has_capability (MsImapClient *client, const char *name);

/* A copy of a MS_IMAP_CLIENT_TRACE_SECRET line with the secret replaced
 * by `mask`: "a2 LOGIN alice s3cret" -> "a2 LOGIN alice <mask>",
 * "a2 AUTHENTICATE PLAIN AGFs..." -> "a2 AUTHENTICATE PLAIN <mask>", and a
 * bare SASL line -> "<mask>". */
char *ms_imap_client_mask_secret (const char *line, const char *mask);

/* Writes `text` as an IMAP quoted string (RFC 3501 §4.3) into `out`:
 * "\"" with '\\' and '"' escaped. FALSE (nothing written) when it holds a
 * CR, LF, NUL or 8-bit byte, which a quoted string cannot carry. */
gboolean ms_imap_client_append_quoted (GString *out, const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsImapClient, ms_imap_client_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsImapClientResult, ms_imap_client_result_free)

G_END_DECLS
