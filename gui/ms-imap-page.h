/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ms-agent-account.h"

G_BEGIN_DECLS

/* MsImapPageFolder: one folder as IMAP LIST reported it (RFC 3501 §7.2.2).
 * Immutable; a reload makes new ones. */
#define MS_TYPE_IMAP_PAGE_FOLDER (ms_imap_page_folder_get_type ())
G_DECLARE_FINAL_TYPE (MsImapPageFolder, ms_imap_page_folder, MS, IMAP_PAGE_FOLDER, GObject)

/* The UTF-8 name, "INBOX", "Work/2026". Borrowed. */
const char *ms_imap_page_folder_get_name (MsImapPageFolder *self);
/* The special-use attribute (RFC 6154 §2: "\\Sent", "\\Trash", ...), or
 * NULL. Borrowed. */
const char *ms_imap_page_folder_get_special_use (MsImapPageFolder *self);
/* FALSE for a \Noselect folder (a name in the hierarchy with no messages). */
gboolean ms_imap_page_folder_get_selectable (MsImapPageFolder *self);

/* MsImapPageMessage: one message of the shown folder, as the last LIST
 * operation (UID FETCH 1:* of UID, FLAGS, size and three header fields)
 * reported it. Immutable; a reload makes new ones. */
#define MS_TYPE_IMAP_PAGE_MESSAGE (ms_imap_page_message_get_type ())
G_DECLARE_FINAL_TYPE (MsImapPageMessage, ms_imap_page_message, MS, IMAP_PAGE_MESSAGE, GObject)

guint32 ms_imap_page_message_get_uid (MsImapPageMessage *self);
/* The IMAP flags as the server sent them ("\\Seen", "$Label"); never NULL.
 * Borrowed. */
const char * const *ms_imap_page_message_get_flags (MsImapPageMessage *self);
/* Whether `flag` ("\\Deleted") is set; system flags match without regard
 * to case (RFC 3501 §2.3.2). */
gboolean ms_imap_page_message_has_flag (MsImapPageMessage *self, const char *flag);
/* Decoded header values, or NULL when absent. Borrowed. */
const char *ms_imap_page_message_get_from (MsImapPageMessage *self);
const char *ms_imap_page_message_get_subject (MsImapPageMessage *self);
guint64 ms_imap_page_message_get_size (MsImapPageMessage *self);

/* MsImapPage: an IMAP browser for one agent account, on the account's IMAP
 * port: the folders (INBOX first, special-use folders marked), the chosen
 * folder's messages (unseen bold, flagged starred, \Deleted struck through)
 * and, for the chosen message, open / read-unread / flag / move / delete
 * and, for the folder, expunge. Every operation is one IMAP session of
 * ms_imap_ops_async() on the thread-default main context, whose
 * client-side events go on the account's bus with `server` set to the
 * account's device, so the diagram shows both sides.
 *
 * Its actions (what the buttons run; tests may activate them):
 *   imap.refresh         FOLDERS, then LIST of the chosen folder
 *   imap.open            FETCH BODY[] of the chosen message (sets \Seen)
 *   imap.toggle-seen     FLAG or UNFLAG \Seen
 *   imap.toggle-flagged  FLAG or UNFLAG \Flagged
 *   imap.delete          FLAG \Deleted (UNFLAG when set: "Undelete")
 *   imap.move (s)        MOVE the chosen message to the folder named
 *   imap.expunge         EXPUNGE the chosen folder
 * Each but imap.refresh ends with a LIST of the folder. All are disabled
 * while an operation runs ("busy"). */
#define MS_TYPE_IMAP_PAGE (ms_imap_page_get_type ())
G_DECLARE_FINAL_TYPE (MsImapPage, ms_imap_page, MS, IMAP_PAGE, GtkWidget)

/* `account` may be NULL (an empty page). It loads the folders at once. */
GtkWidget *ms_imap_page_new (MsAgentAccount *account);
/* Cancels what runs, forgets the shown folders and messages, and loads
 * the folders of `account` (NULL: shows nothing). The page keeps a
 * reference. */
void ms_imap_page_set_account (MsImapPage *self, MsAgentAccount *account);
/* Borrowed, or NULL. */
MsAgentAccount *ms_imap_page_get_account (MsImapPage *self);

/* TRUE while an operation (or the reload after it) runs. Also the "busy"
 * property, notified on change. */
gboolean ms_imap_page_get_busy (MsImapPage *self);
/* What went wrong last, in words, or NULL when the last operation went
 * well. Borrowed. */
const char *ms_imap_page_get_error (MsImapPage *self);

/* Borrowed: the folder list's selection, of MsImapPageFolder. Choosing an
 * item lists that folder (after what runs now). */
GtkSingleSelection *ms_imap_page_get_folder_selection (MsImapPage *self);
/* Borrowed: the message table's selection, of MsImapPageMessage. */
GtkSingleSelection *ms_imap_page_get_message_selection (MsImapPage *self);
/* Borrowed: the message table (tests look at its cells). */
GtkColumnView *ms_imap_page_get_message_view (MsImapPage *self);
/* The name of the folder the message table shows, or NULL. Borrowed. */
const char *ms_imap_page_get_shown_folder (MsImapPage *self);
/* The opened message as shown: headers, an empty line, the body text.
 * Free with g_free. */
char *ms_imap_page_get_message_text (MsImapPage *self);

G_END_DECLS
