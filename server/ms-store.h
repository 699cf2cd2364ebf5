/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* The mail store: one Maildir++ tree per user (DESIGN.md "The mail store").
 *
 *   <root>/<user>/{cur,new,tmp}/           the INBOX
 *   <root>/<user>/.Work/{cur,new,tmp}/      folder "Work"
 *   <root>/<user>/.Work.2026/...            folder "Work/2026"
 *   <dir>/mailscope-uidlist                 UIDVALIDITY, UIDNEXT and "UID name" lines
 *   <root>/<user>/mailscope-uidvalidity     last UIDVALIDITY handed out for this user
 *
 * Folder names in this API use '/' as the hierarchy separator; "INBOX" in any
 * case is the INBOX. Messages are files named "<unique>" in new/ (no flags,
 * not yet seen by a client) or "<unique>:2,<flags>" in cur/. Flags are Maildir
 * letters in ASCII order: D (\Draft), F (\Flagged), P (passed), R (\Answered),
 * S (\Seen), T (\Deleted); lowercase letters are keywords.
 *
 * Every change emits a `store` event (kind MS_EVENT_STORE) on the trace bus.
 * All calls are synchronous file operations on the caller's thread. One
 * MsStore should own a root at a time: a second writer (another MsStore, or
 * another process) is noticed and reloaded from disk, but concurrent writes
 * are not locked against each other. Mail user agents (mutt) may read and
 * change the tree freely: messages they add get UIDs on the next list, and
 * files they rename or remove are found again by a rescan. */
typedef struct _MsStore MsStore;

/* One message as listed by ms_store_list(). */
typedef struct {
  guint32 uid;
  char *name;           /* the Maildir unique name without ":2,...": the POP3 UIDL */
  char *flags;          /* Maildir flag letters, sorted; "" for none; never NULL */
  guint64 size;         /* the exact file size in bytes, line ends as stored */
  gint64 internal_date; /* the file's mtime, Unix seconds (IMAP INTERNALDATE) */
} MsStoreMessage;

void ms_store_message_free (MsStoreMessage *message);

#define MS_STORE_ERROR (ms_store_error_quark ())
GQuark ms_store_error_quark (void);
typedef enum {
  MS_STORE_ERROR_NOT_FOUND,     /* no such user, folder or UID */
  MS_STORE_ERROR_EXISTS,        /* the folder already exists */
  MS_STORE_ERROR_INVALID_NAME,  /* bad user or folder name, or an operation INBOX refuses */
  MS_STORE_ERROR_INVALID_FLAGS, /* a flag that is not a Maildir letter */
  MS_STORE_ERROR_NO_SPACE,      /* disk full or quota (SMTP 452, RFC 5321 section 4.2.2) */
  MS_STORE_ERROR_IO,            /* any other file system failure */
} MsStoreError;

/* How many folder indexes stay loaded; the least recently used is dropped. */
#define MS_STORE_MAX_CACHED_FOLDERS 64

/* Opens the store at `root` (created, mode 0700, if missing; failure shows on
 * the first operation). `server_name` goes into every event. `bus` may be
 * NULL; otherwise the store keeps a reference. Never returns NULL. */
MsStore *ms_store_new (const char *root,
                       const char *server_name,
                       MsTraceBus *bus);
void ms_store_free (MsStore *store);

/* Borrowed; valid until ms_store_free(). */
const char *ms_store_get_root (MsStore *store);

/* Name rules. User names are 1-64 of [a-z0-9._-], not starting with '.'.
 * Folder names are '/'-separated components of valid UTF-8, at most 200
 * bytes; a component is not empty, does not contain '.' (the Maildir++
 * separator on disk, so "a.b" would be "a/b"), '\\', '*', '%' (IMAP LIST
 * wildcards) or control characters. */
gboolean ms_store_user_name_is_valid (const char *user);
gboolean ms_store_folder_name_is_valid (const char *folder);

/* Creates the user's INBOX Maildir if missing (emitting create-folder for
 * "INBOX"). TRUE when it exists afterwards. */
gboolean ms_store_ensure_user (MsStore    *store,
                               const char *user,
                               GError    **error);
gboolean ms_store_user_exists (MsStore    *store,
                               const char *user);
/* The users that have a Maildir, sorted. Free with g_ptr_array_unref(). */
GPtrArray *ms_store_list_users (MsStore *store);

/* Stores a message durably: tmp/<unique> is written and fsynced, renamed into
 * new/ (or cur/ when `flags` is non-NULL, even ""), then the directory and the
 * uid list are fsynced. When this returns TRUE the message is on disk and
 * `uid_r` (may be NULL) holds its UID. `internal_date` is Unix seconds for the
 * file's mtime, 0 for now. The folder must exist (NOT_FOUND otherwise). */
gboolean ms_store_deliver (MsStore      *store,
                           const char   *user,
                           const char   *folder,
                           const guint8 *data,
                           gsize         len,
                           const char   *flags,
                           gint64        internal_date,
                           guint32      *uid_r,
                           GError      **error);

/* Like ms_store_deliver() into `folder` with no flags, but the final fsync
 * of the folder's directory is left to ms_store_sync(), so a server can make
 * many deliveries durable with one fsync per directory (group commit). The
 * message is NOT durable, and must not be acknowledged, until
 * ms_store_sync() has returned TRUE. */
gboolean ms_store_deliver_unsynced (MsStore      *store,
                                    const char   *user,
                                    const char   *folder,
                                    const guint8 *data,
                                    gsize         len,
                                    guint32      *uid_r,
                                    GError      **error);

/* TRUE when deliveries wait for ms_store_sync(). */
gboolean ms_store_has_unsynced (MsStore *store);

/* Fsyncs every directory that unsynced deliveries renamed into. Returns
 * FALSE with `error` set if any fsync failed (the set is cleared either way). */
gboolean ms_store_sync (MsStore  *store,
                        GError  **error);

/* The messages of a folder, sorted by UID: a new array of MsStoreMessage
 * that frees its elements. Rescans new/ and cur/ first, so messages dropped in
 * by other programs get the next UIDs here. NULL with `error` set on failure. */
GPtrArray *ms_store_list (MsStore    *store,
                          const char *user,
                          const char *folder,
                          GError    **error);

/* ms_store_list() with the folder's UIDVALIDITY and UIDNEXT from the same
 * rescan (IMAP SELECT needs all three at one moment). Each out-parameter
 * may be NULL. */
GPtrArray *ms_store_list_with_status (MsStore    *store,
                                      const char *user,
                                      const char *folder,
                                      guint32    *uidvalidity_r,
                                      guint32    *uidnext_r,
                                      GError    **error);

/* A message's UID and its flags as bits, for callers that list large
 * folders often (an IMAP session's view): no string is copied. */
typedef struct {
  guint32 uid;
  guint32 flags;        /* MS_STORE_FLAG_BIT () of each upper-case Maildir letter */
} MsStoreMessageFlags;

#define MS_STORE_FLAG_BIT(letter) (1u << ((letter) - 'A'))

/* The bits of the upper-case letters in `letters`; keywords (lower case)
 * have no bit. */
guint32 ms_store_flag_bits (const char *letters);

/* Like ms_store_list_with_status(), as a GArray of MsStoreMessageFlags in
 * UID order. */
GArray *ms_store_list_flags (MsStore    *store,
                             const char *user,
                             const char *folder,
                             guint32    *uidvalidity_r,
                             guint32    *uidnext_r,
                             GError    **error);

/* One message, or NULL (NOT_FOUND). Free with ms_store_message_free(). Does
 * not rescan unless the message's file moved. */
MsStoreMessage *ms_store_get_message (MsStore    *store,
                                      const char *user,
                                      const char *folder,
                                      guint32     uid,
                                      GError    **error);

/* The whole file. Free with g_bytes_unref(). */
GBytes *ms_store_read (MsStore    *store,
                       const char *user,
                       const char *folder,
                       guint32     uid,
                       GError    **error);

/* The message's header block with the empty line that ends it (RFC 5322
 * §2.1), from at most the first `max` bytes of the file: a header longer
 * than that comes back cut at `max`. Reads no more than that. Free with
 * g_bytes_unref(). */
GBytes *ms_store_read_header (MsStore    *store,
                              const char *user,
                              const char *folder,
                              guint32     uid,
                              gsize       max,
                              GError    **error);

/* The decoded Subject and From of a message (see ms_message_summary());
 * cached in the index. Out-parameters may be NULL and are set to NULL when
 * the header lacks the field. Free with g_free(). */
gboolean ms_store_get_summary (MsStore    *store,
                               const char *user,
                               const char *folder,
                               guint32     uid,
                               char      **subject_r,
                               char      **from_r,
                               GError    **error);

/* Replaces the message's flags with `flags` (Maildir letters in any order,
 * "" for none) and moves it to cur/: a client has now seen it. A rename, not
 * fsynced: after a crash the old flags may come back, never a lost message. */
gboolean ms_store_set_flags (MsStore    *store,
                             const char *user,
                             const char *folder,
                             guint32     uid,
                             const char *flags,
                             GError    **error);

/* Removes the message's file and its UID. */
gboolean ms_store_expunge (MsStore    *store,
                           const char *user,
                           const char *folder,
                           guint32     uid,
                           GError    **error);

/* Copies a message with its flags and internal date into `to_folder` (which
 * may be the same folder) under a new UID, returned in `new_uid_r` (may be
 * NULL). Durable like ms_store_deliver(). */
gboolean ms_store_copy (MsStore    *store,
                        const char *user,
                        const char *from_folder,
                        guint32     uid,
                        const char *to_folder,
                        guint32    *new_uid_r,
                        GError    **error);

/* Creates a folder and any missing parents (RFC 3501 section 6.3.3), each
 * with a new UIDVALIDITY. EXISTS when the folder itself exists. */
gboolean ms_store_create_folder (MsStore    *store,
                                 const char *user,
                                 const char *folder,
                                 GError    **error);

/* Renames a folder and all folders below it, keeping their UIDs and
 * UIDVALIDITY; missing parents of the new name are created. INBOX cannot be
 * renamed (INVALID_NAME), nor can a folder move below itself. One
 * rename-folder event per folder renamed. */
gboolean ms_store_rename_folder (MsStore    *store,
                                 const char *user,
                                 const char *folder,
                                 const char *new_name,
                                 GError    **error);

/* Deletes a folder and its messages. Folders below it stay (in Maildir++
 * they are separate directories; RFC 3501 section 6.3.4). Not INBOX. */
gboolean ms_store_delete_folder (MsStore    *store,
                                 const char *user,
                                 const char *folder,
                                 GError    **error);

/* The user's folder names: "INBOX" first, then the others sorted. Free with
 * g_ptr_array_unref(). NULL with NOT_FOUND for an unknown user. */
GPtrArray *ms_store_list_folders (MsStore    *store,
                                  const char *user,
                                  GError    **error);

/* UIDVALIDITY, UIDNEXT and message count after a rescan (as ms_store_list()).
 * Each out-parameter may be NULL. */
gboolean ms_store_folder_status (MsStore    *store,
                                 const char *user,
                                 const char *folder,
                                 guint32    *uidvalidity_r,
                                 guint32    *uidnext_r,
                                 guint      *count_r,
                                 GError    **error);

/* Emits one `snapshot` event (docs/trace-format.md) with every user, folder
 * and message of the store, so that a reader of the trace can build the
 * mailboxes without looking at the disk and then follow the `store` events.
 * Reads every folder (a rescan) and each message's header once. Does
 * nothing and returns TRUE when the bus has no listeners. Returns FALSE with
 * `error` set, and emits nothing, when a user or folder cannot be read. */
gboolean ms_store_emit_snapshot (MsStore  *store,
                                 GError  **error);

/* Called after every change to a folder's messages (deliver, flag, expunge,
 * copy into it, files found or gone in a rescan) and after folder
 * operations, with the user and the canonical folder name. IMAP sessions
 * that have the folder selected learn of changes through it (RFC 3501
 * §5.2). It runs inside the store call that made the change, so it must not
 * call back into the store: note the change and act later. */
typedef void (*MsStoreChangeFunc) (const char *user, const char *folder, gpointer user_data);

/* Sets (NULL clears) the one change function. */
void ms_store_set_change_func (MsStore          *store,
                               MsStoreChangeFunc func,
                               gpointer          user_data);

/* Subscriptions (RFC 3501 §6.3.6, §6.3.7): the folder names a user
 * subscribed to, kept in <root>/<user>/mailscope-subscriptions, one per
 * line. A name may be subscribed whether or not the folder exists. Sorted;
 * free with g_ptr_array_unref(). */
GPtrArray *ms_store_list_subscriptions (MsStore    *store,
                                        const char *user,
                                        GError    **error);
/* Adds or removes `folder` (a valid folder name; "INBOX" in any case is
 * INBOX). Written atomically. Removing a name that is not there is fine. */
gboolean ms_store_set_subscribed (MsStore    *store,
                                  const char *user,
                                  const char *folder,
                                  gboolean    subscribed,
                                  GError    **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsStore, ms_store_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsStoreMessage, ms_store_message_free)

G_END_DECLS
