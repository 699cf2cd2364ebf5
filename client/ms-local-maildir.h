/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* MsLocalMaildir: the POP3 client's local copy of the mail (the "device"),
 * a plain Maildir that mutt or a file manager can read, and its memory of
 * what it already downloaded from each account (the state file
 * DIR/.mailscope-pop3-state).
 *
 * A message is written to tmp/, fsynced, moved into new/ under a unique
 * name, and new/ is fsynced: once ms_local_maildir_deliver() returns, the
 * message survives a crash, so only then may the server delete it. */
typedef struct _MsLocalMaildir MsLocalMaildir;

#define MS_LOCAL_MAILDIR_STATE_FILE ".mailscope-pop3-state"

/* Creates `path` and its tmp/, new/ and cur/ (mode 0700) when missing.
 * Returns NULL with `error` set when they cannot be made or `path` is
 * not a directory. */
MsLocalMaildir *ms_local_maildir_open (const char *path, GError **error);
void ms_local_maildir_free (MsLocalMaildir *maildir);

/* The directory, as given. Borrowed. */
const char *ms_local_maildir_get_path (MsLocalMaildir *maildir);

/* Saves one message received over the wire (CRLF line ends; they are
 * stored as LF, the local convention of Maildir). Returns the new file's
 * name inside new/ (free with g_free), and the octets written in `size_r`
 * (may be NULL). On failure nothing is left in new/ and the file in tmp/
 * is removed. */
char *ms_local_maildir_deliver (MsLocalMaildir *maildir, GBytes *message,
                                guint64 *size_r, GError **error);

/* The account key used in the state file: "user@host:port", with
 * anything unusual in user and host %-escaped. Free with g_free. */
char *ms_local_maildir_account_key (const char *user, const char *host, guint16 port);

/* The UIDLs (RFC 1939 §7) remembered for `account`, as a set of strings
 * (a GHashTable with the keys as values; free with g_hash_table_unref).
 * A missing state file is an empty set; a file that cannot be read is an
 * error. */
GHashTable *ms_local_maildir_load_uids (MsLocalMaildir *maildir, const char *account,
                                        GError **error);

/* Replaces the UIDLs remembered for `account` with `uids` (a set as
 * returned by ms_local_maildir_load_uids()), keeping other accounts'
 * lines. Atomic and durable: a new file is written, fsynced and renamed
 * over the old one, and the directory is fsynced. */
gboolean ms_local_maildir_save_uids (MsLocalMaildir *maildir, const char *account,
                                     GHashTable *uids, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsLocalMaildir, ms_local_maildir_free)

G_END_DECLS
