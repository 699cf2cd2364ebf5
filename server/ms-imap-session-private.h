/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-imap-parser.h"
#include "ms-imap-session.h"
#include "ms-imap-view.h"
#include "ms-session-trace.h"

G_BEGIN_DECLS

/* Files:
 *   ms-imap-session.c      lifecycle, gathering lines and literals into
 *                          commands, dispatch, responses and their trace,
 *                          the selected mailbox's view and its sync
 *   ms-imap-commands.c     the command table and the smaller handlers
 *   ms-imap-cmd-fetch.c    FETCH and UID FETCH (RFC 3501 §6.4.5)
 *   ms-imap-cmd-store.c    STORE and UID STORE (§6.4.6)
 *   ms-imap-cmd-search.c   SEARCH and UID SEARCH (§6.4.4)
 *   ms-imap-envelope.c     ENVELOPE and BODYSTRUCTURE with GMime (§7.4.2)
 *   ms-imap-view.c         MsImapView: the selected mailbox as the client
 *                          knows it, in runs of UIDs and a byte a message */

/* The capabilities after the greeting and after TLS (RFC 3501 §7.2.1). */
#define MS_IMAP_CAPABILITIES \
  "IMAP4rev1 LITERAL+ IDLE MOVE UIDPLUS NAMESPACE UNSELECT SPECIAL-USE ID"

/* What the session waits for after a handler returned without a tagged
 * reply. */
typedef enum {
  MS_IMAP_WAIT_NONE,
  MS_IMAP_WAIT_AUTH,           /* AUTHENTICATE PLAIN: "+ " sent, the response line next */
  MS_IMAP_WAIT_IDLE,           /* IDLE: "+ idling" sent, "DONE" next (RFC 2177) */
  MS_IMAP_WAIT_TLS,            /* STARTTLS: the handshake */
  MS_IMAP_WAIT_LITERAL,        /* a literal's bytes (feed_bytes) */
} MsImapWait;

struct _MsImapSession {
  MsImapState state;
  MsSessionTrace trace;
  char *hostname;
  MsStore *store;              /* borrowed */
  gboolean tls_available;
  gboolean tls_active;
  gboolean login_needs_tls;
  gsize max_line;
  gsize max_literal;
  gsize max_append;
  guint max_bad_commands;
  guint bad_commands;
  guint max_failed_logins;
  guint failed_logins;

  const MsImapBackend *backend; /* borrowed */
  gpointer backend_data;        /* borrowed */
  const MsSessionOutput *output; /* borrowed */
  gpointer output_data;         /* borrowed */

  /* Gathering one command: its lines and literals as they came. */
  GString *command;
  gboolean command_is_append;  /* its literals may be up to max_append */
  guint64 literal_left;        /* bytes of the current literal still to come */
  MsImapWait wait;
  char *wait_tag;              /* the tag of the command that waits (AUTH, IDLE) */

  char *user;                  /* canonical; set once authenticated */

  /* SELECTED (RFC 3501 §6.3.1): the mailbox and this session's view of it. */
  char *selected;              /* canonical folder name */
  gboolean read_only;          /* EXAMINE */
  guint32 uidvalidity;
  guint32 uidnext;
  MsImapView *view;            /* as last told the client; index = sequence number - 1 */
  gboolean mailbox_dirty;      /* the store changed since the last sync */

  /* The command being run, from dispatch to its tagged reply (see
   * _ms_imap_tagged()). */
  gboolean in_command;
  gboolean command_uid;        /* "UID <verb>" */
  guint command_flags;         /* MsImapCommandFlags of its table entry */
  gboolean command_secret;     /* LOGIN, AUTHENTICATE: masked in the trace */
  gsize literal_start;         /* offset in `command` of the literal being read */
  gboolean closed;             /* output->close called: nothing more is sent */
};

/* A handler for one verb. `args` are the command's arguments after the verb
 * (after "UID <verb>" for UID commands: `uid` is TRUE then). The handler
 * sends the tagged reply itself, or sets session->wait and returns. It never
 * sees a command in a state its table entry does not allow. */
typedef void (*MsImapHandler) (MsImapSession *session, const char *tag, GPtrArray *args,
                               gboolean uid);

typedef enum {
  MS_IMAP_COMMAND_UID = 1 << 0,        /* also as "UID <verb>" (RFC 3501 §6.4.8) */
  MS_IMAP_COMMAND_UID_ONLY = 1 << 1,   /* only as "UID <verb>" (UID EXPUNGE, RFC 4315 §2.1) */
  MS_IMAP_COMMAND_SECRET = 1 << 2,     /* mask its arguments in the trace (LOGIN) */
  MS_IMAP_COMMAND_APPEND = 1 << 3,     /* its literals may be up to max_append */
  /* RFC 3501 §7.4.1: no untagged EXPUNGE while answering FETCH, STORE or
   * SEARCH (by sequence number); the sync after the command defers them. */
  MS_IMAP_COMMAND_NO_EXPUNGE = 1 << 4,
} MsImapCommandFlags;

typedef struct {
  const char *verb;
  MsImapHandler handler;
  guint allowed_states;        /* bit mask of MS_IMAP_STATE_BIT () */
  guint flags;                 /* MsImapCommandFlags */
} MsImapCommandSpec;

#define MS_IMAP_STATE_BIT(s) (1u << (s))

/* ---- ms-imap-commands.c ---- */
const MsImapCommandSpec *_ms_imap_lookup_command (const char *verb);
/* The capabilities for the session's state and TLS (RFC 3501 §7.2.1):
 * MS_IMAP_CAPABILITIES, plus STARTTLS, LOGINDISABLED or AUTH=PLAIN as they
 * apply. A new string. */
char *_ms_imap_capability_string (MsImapSession *session);
/* The response line to AUTHENTICATE PLAIN's "+ " (RFC 3501 §6.2.2). */
void _ms_imap_auth_continue (MsImapSession *session, const char *line, gsize len);
/* The line that ends IDLE ("DONE", RFC 2177 §3). */
void _ms_imap_idle_continue (MsImapSession *session, const char *line, gsize len);

/* ---- ms-imap-cmd-*.c ---- */
void _ms_imap_cmd_fetch (MsImapSession *session, const char *tag, GPtrArray *args, gboolean uid);
void _ms_imap_cmd_store (MsImapSession *session, const char *tag, GPtrArray *args, gboolean uid);
void _ms_imap_cmd_search (MsImapSession *session, const char *tag, GPtrArray *args,
                          gboolean uid);

/* ---- ms-imap-session.c ---- */

/* The only place `state` changes; traces a `state` event. */
void _ms_imap_set_state (MsImapSession *session, MsImapState state);

/* "tag OK text", "tag NO [CODE] text", "tag BAD text" (RFC 3501 §7.1).
 * `status` is "OK", "NO" or "BAD"; the text may start with a "[CODE]".
 *
 * The sync: while a command is in progress in SELECTED (from dispatch to
 * its first tagged reply), this calls _ms_imap_sync_mailbox() first, so the
 * untagged EXISTS, EXPUNGE and FETCH updates always precede the tagged
 * reply (RFC 3501 §5.2, §7) and no handler can forget them. EXPUNGE is
 * allowed unless the command's table entry has MS_IMAP_COMMAND_NO_EXPUNGE
 * and it was not a UID command (§7.4.1). A handler that changed the
 * mailbox itself (EXPUNGE, MOVE, CLOSE) or wants a fresh look (NOOP, CHECK)
 * sets session->mailbox_dirty before its tagged reply; the EXPUNGE
 * responses then come from the sync, with exact numbers. Commands that act
 * on messages (table flag MS_IMAP_COMMAND_UID) also get a sync without
 * EXPUNGE before the handler runs when the mailbox is dirty, so they see
 * current flags and new messages while sequence numbers stay put. */
void _ms_imap_tagged (MsImapSession *session, const char *tag, const char *status,
                      const char *format, ...) G_GNUC_PRINTF (4, 5);
/* "* " + text: one untagged response without literals. */
void _ms_imap_untagged (MsImapSession *session, const char *format, ...) G_GNUC_PRINTF (2, 3);
/* "+ " + text: a continuation request (RFC 3501 §7.5). */
void _ms_imap_continuation (MsImapSession *session, const char *text);
/* A bad command: "tag BAD text" (or "* BAD" without a tag), counted; after
 * max_bad_commands "* BYE Too many bad commands" and close. */
void _ms_imap_bad (MsImapSession *session, const char *tag, const char *format, ...)
  G_GNUC_PRINTF (3, 4);
/* "* BYE text" and close once it is sent; state LOGOUT. */
void _ms_imap_bye (MsImapSession *session, const char *text);
/* State LOGOUT and close once the replies are sent (after LOGOUT's tagged
 * OK). Nothing is sent after it. */
void _ms_imap_close (MsImapSession *session);

/* One untagged response built in pieces, for those that carry literals
 * (FETCH BODY[], LIST of an 8-bit name never: names are UTF-7). The trace
 * gets one `reply` event whose text is the response with each literal's
 * bytes left out ("* 1 FETCH (UID 7 BODY[] {342})"), and one `data` event
 * per literal with its bytes. */
typedef struct {
  GString *wire;               /* what is sent */
  GString *text;               /* the trace text: `wire` without literal bytes */
  GPtrArray *literals;         /* of GBytes: each literal's first 64 KiB, for `data` events */
  GArray *literal_sizes;       /* of gsize: each literal's whole size */
} MsImapResponse;

void _ms_imap_response_init (MsImapResponse *response);
void _ms_imap_response_clear (MsImapResponse *response);
void _ms_imap_response_append (MsImapResponse *response, const char *format, ...)
  G_GNUC_PRINTF (2, 3);
void _ms_imap_response_append_len (MsImapResponse *response, const char *data, gsize len);
/* "{N}\r\n" + the bytes. */
void _ms_imap_response_append_literal (MsImapResponse *response, const char *data, gsize len);
/* A quoted string when `data` can be one (see ms_imap_append_string()),
 * else a literal; NIL for NULL. */
void _ms_imap_response_append_string (MsImapResponse *response, const char *data, gsize len);
/* Adds CRLF, sends it and traces it; `response` is cleared. */
void _ms_imap_response_send (MsImapSession *session, MsImapResponse *response);

/* IMAP flags <-> Maildir letters (ms-store.h): \Seen S, \Answered R,
 * \Flagged F, \Deleted T, \Draft D. Keywords are not kept: PERMANENTFLAGS
 * says so. The view's flags go out with ms_imap_view_append_flags(). */
/* A flag list (LIST of ATOM, or one ATOM) to sorted Maildir letters in
 * `letters_r` (at least 8 bytes). FALSE for anything but the five system
 * flags; \Recent is refused too (RFC 3501 §2.3.2: it cannot be stored). */
gboolean _ms_imap_parse_flags (const MsImapArg *arg, char *letters_r, gsize size);

/* The message set of a FETCH, STORE, SEARCH-free command: `text` is a
 * sequence set of sequence numbers, or of UIDs when `uid`. Returns a new
 * array of guint view indexes (0-based), ascending and without repeats.
 * Sequence numbers beyond the view are an error: NULL after a tagged BAD.
 * UIDs that are not in the view are skipped (RFC 3501 §6.4.8), so the array
 * may be empty. Messages marked expunged are left out. */
GArray *_ms_imap_resolve_set (MsImapSession *session, const char *tag, const char *text,
                              gboolean uid);

/* Brings the view in step with the store and sends what changed: "* n
 * EXPUNGE" (only when `allow_expunge`; otherwise the message stays in the
 * view marked expunged), "* n EXISTS", "* n RECENT", and "* n FETCH (FLAGS
 * (...))" for flags another session or program changed. Sequence numbers in
 * EXPUNGE are exact at the moment each is sent. Called after every command
 * in SELECTED and at once in IDLE. */
void _ms_imap_sync_mailbox (MsImapSession *session, gboolean allow_expunge);
/* The session changed a message's flags itself: update the view so the
 * next sync does not report it again. `maildir_flags` are the store's
 * letters (keywords are ignored); \Recent and the expunged mark stay. */
void _ms_imap_view_set_flags (MsImapSession *session, guint index, const char *maildir_flags);

/* Loads `folder` (canonical) as the selected mailbox: the view from the
 * store, UIDVALIDITY, UIDNEXT and \Recent (backend claim_recent); state
 * SELECTED. The caller sends the SELECT responses. FALSE with `error` set
 * (nothing selected) when the store fails. */
gboolean _ms_imap_open_mailbox (MsImapSession *session, const char *folder, gboolean read_only,
                                GError **error);
/* Leaves the selected mailbox (CLOSE, UNSELECT, a new SELECT): state
 * AUTHENTICATED, view freed. */
void _ms_imap_unselect (MsImapSession *session);

/* Mailbox names: the client's modified UTF-7 name to a canonical store
 * folder name ("INBOX" in any case is "INBOX"; hierarchy separator '/').
 * NULL after a tagged "NO [CANNOT]" or "BAD" when the name is not valid or
 * would leave the user's tree. */
char *_ms_imap_mailbox_from_wire (MsImapSession *session, const char *tag, const char *name);

G_END_DECLS
