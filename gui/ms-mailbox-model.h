/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-event.h"
#include "ms-trace-model.h"

G_BEGIN_DECLS

/* What became of a message, as the mailbox view shows it. */
typedef enum {
  MS_MESSAGE_STATUS_PRESENT,
  MS_MESSAGE_STATUS_POP3_MARKED,   /* DELE'd in a POP3 session, removed only at QUIT */
  MS_MESSAGE_STATUS_DELETED_FLAG,  /* IMAP \Deleted (Maildir flag T), removed at EXPUNGE */
  MS_MESSAGE_STATUS_GONE,          /* expunged: kept as a row until reset, struck through */
} MsMessageStatus;

#define MS_TYPE_MESSAGE_STATUS (ms_message_status_get_type ())
GType ms_message_status_get_type (void);
/* "present", "pop3-marked", "deleted-flag", "gone". */
const char *ms_message_status_to_string (MsMessageStatus status);

/* A folder of a user on a server: properties server, user, folder,
 * n-messages (rows not GONE), n-unseen (of those, the ones without S). */
#define MS_TYPE_FOLDER_ITEM (ms_folder_item_get_type ())
G_DECLARE_FINAL_TYPE (MsFolderItem, ms_folder_item, MS, FOLDER_ITEM, GObject)

const char *ms_folder_item_get_server (MsFolderItem *self);
const char *ms_folder_item_get_user (MsFolderItem *self);
const char *ms_folder_item_get_folder (MsFolderItem *self);
guint ms_folder_item_get_n_messages (MsFolderItem *self);
guint ms_folder_item_get_n_unseen (MsFolderItem *self);

/* A message of a folder: properties uid, flags (Maildir letters), size, from,
 * subject, status (MsMessageStatus), changed-seq (the seq of the event that
 * last changed it: the `store` event, or the `snapshot` it came from).
 *
 * Every row knows what last changed it, so the view can tie it to the
 * diagram both ways:
 * - the change itself: changed-seq and get_changed_server() (seq is counted
 *   per server), and get_changed_op(): the store op ("deliver", "flag",
 *   "expunge", "copy", "pop3-mark", "pop3-unmark", "rename-folder") or
 *   "snapshot";
 * - its cause: the protocol line that made the server change it, as far as
 *   the trace tells (a `store` event names no command): for POP3's ops the
 *   last command of their session; otherwise the last command line
 *   (IMAP continuation lines left out) or SMTP message data the server
 *   received before the store event. That is exact for one session at a
 *   time, as in a lecture; with sessions interleaving on one server it is
 *   the nearest line before the change. NULL for a snapshot.
 * - its mark: the event the row's "#N" stands for, an arrow of the diagram
 *   when there is one: the cause, else the store event; none for a row
 *   known only from a snapshot. */
#define MS_TYPE_MESSAGE_ITEM (ms_message_item_get_type ())
G_DECLARE_FINAL_TYPE (MsMessageItem, ms_message_item, MS, MESSAGE_ITEM, GObject)

guint ms_message_item_get_uid (MsMessageItem *self);
/* Borrowed; "" when none. */
const char *ms_message_item_get_flags (MsMessageItem *self);
guint64 ms_message_item_get_size (MsMessageItem *self);
/* Borrowed; NULL when no event told it. */
const char *ms_message_item_get_from (MsMessageItem *self);
const char *ms_message_item_get_subject (MsMessageItem *self);
MsMessageStatus ms_message_item_get_status (MsMessageItem *self);
guint64 ms_message_item_get_changed_seq (MsMessageItem *self);
/* Borrowed (interned): the server of changed-seq, which is the message's. */
const char *ms_message_item_get_changed_server (MsMessageItem *self);
/* Borrowed (interned): what the change was (see above). */
const char *ms_message_item_get_changed_op (MsMessageItem *self);
/* Borrowed: the `command` or `data` event that caused the change, or NULL. */
const MsEvent *ms_message_item_get_cause (MsMessageItem *self);
/* The row's mark (see above): TRUE and the event's server (borrowed) and
 * seq, or FALSE when the row has none. Either out pointer may be NULL. */
gboolean ms_message_item_get_mark (MsMessageItem *self, const char **server_r,
                                   guint64 *seq_r);
/* TRUE when the row's mark or its change is the event (`server`, `seq`). */
gboolean ms_message_item_changed_by (MsMessageItem *self, const char *server, guint64 seq);

/* The mailboxes of every server, built only from events: a `snapshot` (which
 * replaces what is known of its server), then `store` deltas. Messages first
 * seen in a delta are added as they come. */
#define MS_TYPE_MAILBOX_MODEL (ms_mailbox_model_get_type ())
G_DECLARE_FINAL_TYPE (MsMailboxModel, ms_mailbox_model, MS, MAILBOX_MODEL, GObject)

MsMailboxModel *ms_mailbox_model_new (void);
/* `snapshot` and `store` events change the mailboxes; `command` and `data`
 * events are noted as the causes of later changes; others are ignored. */
void ms_mailbox_model_apply (MsMailboxModel *self, const MsEvent *event);
/* Forgets everything. The list models from get_folders() and get_messages()
 * stay the same objects (emptied), so views bound to them stay bound. */
void ms_mailbox_model_reset (MsMailboxModel *self);
/* The mailboxes as they were at event `n`: reset, then apply events [0, n)
 * of `trace` (n is clamped to its length). */
void ms_mailbox_model_rebuild (MsMailboxModel *self, MsTraceModel *trace, guint n);

/* The mark (see MsMessageItem) of the last `store` event applied, so that a
 * view can show what the latest change did: TRUE and its server (borrowed)
 * and seq, FALSE when no store event was applied since the last reset or
 * since a snapshot of that server. Property "last-change-seq" (guint64, 0 for none) notifies
 * whenever the mark changes, its server included. */
gboolean ms_mailbox_model_get_last_change (MsMailboxModel *self, const char **server_r,
                                           guint64 *seq_r);

/* Borrowed: a GListModel of MsFolderItem, ordered by server, user, then
 * folder (INBOX first). */
GListModel *ms_mailbox_model_get_folders (MsMailboxModel *self);
/* Borrowed: a GListModel of MsMessageItem ordered by UID. A folder not known
 * yet gets an empty list that fills when the folder appears. */
GListModel *ms_mailbox_model_get_messages (MsMailboxModel *self, const char *server,
                                           const char *user, const char *folder);
/* Borrowed; NULL when that message is not known. */
MsMessageItem *ms_mailbox_model_lookup_message (MsMailboxModel *self, const char *server,
                                                const char *user, const char *folder,
                                                guint uid);

G_END_DECLS
