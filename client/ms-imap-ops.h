/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-imap-client.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* Runs one IMAP operation against a server: connects (plain, STARTTLS or
 * implicit TLS) through MsClientConn, logs in with the MsImapClient engine,
 * does the operation, LOGOUTs, and reports an MsImapOpsResult. It is what
 * `mailscope-client imap` uses. */

typedef enum {
  MS_IMAP_OP_FOLDERS,     /* LIST and LSUB: every folder with its marks */
  MS_IMAP_OP_CREATE,      /* name */
  MS_IMAP_OP_RENAME,      /* name -> new_name */
  MS_IMAP_OP_DELETE,      /* name */
  MS_IMAP_OP_SUBSCRIBE,   /* name */
  MS_IMAP_OP_UNSUBSCRIBE, /* name */
  MS_IMAP_OP_STATUS,      /* name */
  MS_IMAP_OP_LIST,        /* folder: the headers of every message */
  MS_IMAP_OP_FETCH,       /* folder, uid, peek */
  MS_IMAP_OP_APPEND,      /* folder, message, flags */
  MS_IMAP_OP_FLAG,        /* folder, uid, flags */
  MS_IMAP_OP_UNFLAG,      /* folder, uid, flags */
  MS_IMAP_OP_COPY,        /* folder, uid -> name */
  MS_IMAP_OP_MOVE,        /* folder, uid -> name */
  MS_IMAP_OP_EXPUNGE,     /* folder */
  MS_IMAP_OP_SEARCH,      /* folder, criteria */
  MS_IMAP_OP_IDLE,        /* folder, idle_timeout_s, stop, change */
} MsImapOp;

typedef struct {
  const char *host;
  guint16 port;
  MsImapClientTlsMode tls;
  MsImapClientAuth auth;
  const char *username;        /* required */
  const char *password;        /* required */
  MsImapOp op;
  const char *folder;          /* NULL = INBOX */
  const char *name;
  const char *new_name;
  guint32 uid;
  gboolean peek;               /* FETCH: BODY.PEEK[] (the \Seen flag stays as it is) */
  GBytes *message;             /* APPEND */
  const char * const *flags;   /* APPEND, FLAG, UNFLAG: "\\Seen", "$Label", ... */
  const char *criteria;        /* SEARCH: IMAP search keys as typed, "FROM alice UNSEEN" */
  guint idle_timeout_s;        /* IDLE: 0 = until `stop` */
  /* IDLE: when it fires, end with DONE and LOGOUT (a clean stop, unlike
   * the cancellable of ms_imap_ops_async, which drops the connection). */
  GCancellable *stop;
  /* IDLE: each change in words, as it arrives. */
  void (*change) (const char *text, gpointer user_data);
  gpointer change_data;
  guint timeout_s;             /* connecting and each reply; 0 = 300 */
  MsTraceBus *bus;             /* nullable: events with direction "client" */
  const char *trace_server;
  void (*show) (char direction, const char *line, gpointer user_data);
  gpointer show_data;
} MsImapOpsParams;

typedef struct {
  char *name;                  /* UTF-8 */
  char delimiter;              /* 0 when flat */
  GStrv attributes;            /* "\\HasNoChildren", "\\Sent", ... */
  gboolean subscribed;         /* LSUB lists it */
} MsImapOpsFolder;

typedef struct {
  guint32 uid;
  GStrv flags;
  char *internal_date;
  guint64 size;
  char *date;                  /* header fields, unfolded, decoded; NULL when absent */
  char *from;
  char *subject;
} MsImapOpsMessage;

typedef struct {
  /* The session: OK when the operation was done and LOGOUT answered. */
  MsImapClientStatus status;
  char *text;                  /* what went wrong, or LOGOUT's answer */
  gboolean tls;
  /* The server's refusal of the operation ("CREATE: NO [ALREADYEXISTS]
   * Mailbox already exists"), or NULL. */
  char *refusal;

  GPtrArray *folders;          /* FOLDERS: of MsImapOpsFolder*, in LIST order */
  GStrv status_items;          /* STATUS: name, value, name, value, ... */
  GPtrArray *messages;         /* LIST: of MsImapOpsMessage* */
  GBytes *body;                /* FETCH: the message, CRLF line ends */
  GStrv flags;                 /* FETCH, FLAG, UNFLAG: the flags after */
  guint32 uidvalidity;         /* APPEND, COPY, MOVE: from APPENDUID/COPYUID, or 0 */
  guint32 new_uid;             /* APPEND */
  char *dest_uids;             /* COPY, MOVE: the new UIDs in the destination */
  gboolean used_move;          /* MOVE: the MOVE command (else COPY, STORE, EXPUNGE) */
  guint expunged;              /* EXPUNGE, MOVE: messages removed */
  GArray *uids;                /* SEARCH: guint32 */
  guint changes;               /* IDLE: changes reported */
} MsImapOpsResult;

void ms_imap_ops_result_free (MsImapOpsResult *result);

/* Starts the operation; strings are copied. Call ms_imap_ops_finish() from
 * `callback`. Every outcome of the conversation is a result; a GError is
 * only for bad parameters (G_IO_ERROR_INVALID_ARGUMENT) and cancellation. */
void ms_imap_ops_async (const MsImapOpsParams *params,
                        GCancellable *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer user_data);

MsImapOpsResult *ms_imap_ops_finish (GAsyncResult *result, GError **error);

/* A header field value for display: unfolded, RFC 2047 words decoded.
 * Free with g_free. */
char *ms_imap_ops_header_value (const char *header, gsize len, const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsImapOpsResult, ms_imap_ops_result_free)

G_END_DECLS
