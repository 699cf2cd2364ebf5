/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-pop3-client.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* Runs one POP3 job against a server: connects with GSocketClient (plain,
 * STLS or implicit TLS), runs the MsPop3Client engine over an MsConn on the
 * thread-default main context, and reports an MsPop3FetchResult. It is what
 * `mailscope-client pop3` and the GUI's user agent use.
 *
 * Jobs:
 * - LIST: STAT, LIST and UIDL (UIDL may be refused: then no uids).
 * - TOP: the header and the first `top_lines` body lines of one message.
 * - FETCH: saves every message into a local Maildir (ms-local-maildir.h),
 *   each one durably BEFORE anything else happens to it on the server.
 *   KEEP mode leaves the mail on the server and remembers the UIDLs in the
 *   Maildir's state file, so the next run downloads only new mail. DELETE
 *   mode sends DELE for each message only after it is saved, and QUIT at
 *   the end commits (RFC 1939 §6). Until QUIT succeeds the saved UIDLs are
 *   in the state file too, so a run cut short (connection lost, disk
 *   error: the server removes nothing without QUIT) does not download them
 *   again next time, it only deletes them. */

typedef enum {
  MS_POP3_FETCH_JOB_LIST,
  MS_POP3_FETCH_JOB_TOP,
  MS_POP3_FETCH_JOB_FETCH,
} MsPop3FetchJob;

typedef enum {
  MS_POP3_FETCH_MODE_KEEP,
  MS_POP3_FETCH_MODE_DELETE,
} MsPop3FetchMode;

typedef struct {
  const char *host;
  guint16 port;
  MsPop3ClientTlsMode tls;
  MsPop3ClientAuth auth;
  const char *username;        /* required */
  const char *password;        /* required */
  MsPop3FetchJob job;
  guint top_msg;               /* TOP: message number, from 1 */
  guint top_lines;             /* TOP: body lines; 0 = the header only */
  MsPop3FetchMode mode;        /* FETCH */
  const char *maildir;         /* FETCH: the local Maildir; made when missing */
  gsize max_message_size;      /* 0 = MS_POP3_CLIENT_DEFAULT_MAX_MESSAGE_SIZE */
  guint timeout_s;             /* for connecting and for each response; 0 = 300 */
  MsTraceBus *bus;             /* nullable: emit events with direction "client" */
  const char *trace_server;    /* the `server` field of those events */
  /* Optional: each line of the dialog, 'C' or 'S', secrets masked; '*' for
   * a note that is not on the wire (TLS, a file saved). */
  void (*show) (char direction, const char *line, gpointer user_data);
  gpointer show_data;
} MsPop3FetchParams;

/* One message as LIST and UIDL describe it. */
typedef struct {
  guint msg;
  guint64 size;
  char *uid;                   /* NULL when UIDL was refused or did not list it */
} MsPop3FetchMessage;

typedef struct {
  /* The session: OK only when the job was done and QUIT got +OK. */
  MsPop3ClientStatus status;
  char *text;                  /* what went wrong, or the server's word on QUIT */
  gboolean tls;
  gboolean committed;          /* QUIT got +OK: the DELEs took effect */
  /* A local failure (the Maildir or the state file); the session was
   * aborted without QUIT, so the server removed nothing. NULL otherwise. */
  char *local_error;

  /* LIST and FETCH: STAT's figures and the listing (of MsPop3FetchMessage*). */
  guint count;
  guint64 total_size;
  GPtrArray *messages;
  gboolean have_uids;          /* UIDL worked */

  /* TOP: the lines, unstuffed, CRLF line ends. NULL unless TOP succeeded. */
  GBytes *top;
  char *top_error;             /* -ERR text of TOP (no such message, ...) */

  /* FETCH. */
  char *new_dir;               /* DIR/new */
  guint saved;                 /* messages written into new/ by this run */
  guint64 saved_bytes;         /* octets written */
  guint skipped;               /* already there from an earlier run */
  guint deleted;               /* DELE answered +OK (they are gone only if committed) */
  guint failed;                /* RETR or DELE refused with -ERR */
} MsPop3FetchResult;

void ms_pop3_fetch_result_free (MsPop3FetchResult *result);

/* Starts the job. Strings are copied, so `params` may go away at once.
 * Call ms_pop3_fetch_finish() from `callback`. Every outcome of the
 * conversation, a refused connection and a timeout included, is a result;
 * a GError is only for bad parameters (G_IO_ERROR_INVALID_ARGUMENT) and
 * for cancellation (G_IO_ERROR_CANCELLED). */
void ms_pop3_fetch_async (const MsPop3FetchParams *params,
                          GCancellable *cancellable,
                          GAsyncReadyCallback callback,
                          gpointer user_data);

MsPop3FetchResult *ms_pop3_fetch_finish (GAsyncResult *result, GError **error);

/* The one-line summary of a FETCH: "3 new messages saved to DIR/new (12345
 * bytes); 3 deleted on the server" / "...; kept on the server". Free with g_free. */
char *ms_pop3_fetch_result_summary (const MsPop3FetchResult *result, MsPop3FetchMode mode);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsPop3FetchResult, ms_pop3_fetch_result_free)

G_END_DECLS
