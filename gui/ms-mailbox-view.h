/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ms-mailbox-model.h"

G_BEGIN_DECLS

/* MsMailboxView: one folder of the mailbox model at a time, chosen in a drop
 * down ("server / user / folder"), its messages in a table: UID, flags,
 * status, size, from, subject, and the event that last changed the row.
 *
 * Every cell of a row carries the CSS class "ms-cell" and the row's
 * classes:
 * - its status (ms_mailbox_view_status_class()): a POP3 "marked for
 *   deletion" row (ms-pop3-marked) and an IMAP \Deleted row
 *   (ms-deleted-flag) are struck through and dimmed, with a badge in the
 *   Status column ("marked · DELE", "\Deleted"); a row that is gone
 *   (ms-gone) is struck through and faded further, its badge "gone";
 * - "ms-changed" while it flashes: the rows the latest change touched (the
 *   model's last change, see ms_mailbox_model_get_last_change()) are
 *   tinted for the highlight time (5 s), then fade back;
 * - "ms-selected-change" while the event selected elsewhere
 *   (ms_mailbox_view_set_selected_event()) is the one that changed it.
 *
 * Gone rows: a message that is expunged, removed at POP3 QUIT or moved
 * away stays on screen as a gone row ("removed by #N ...") as long as the
 * change that removed it is the latest change of the model, or the event
 * selected elsewhere; the next change elsewhere hides it. So the class sees
 * it go, and sees it again whenever the timeline is moved back onto that
 * event (the window rebuilds the model there) or its arrow is selected,
 * but old removals do not pile up as rows that are not there.
 *
 * The last column, "Changed by", holds the row's mark: "#N VERB", the event
 * that caused its last change (see MsMessageItem), with the whole story in
 * its tooltip ("Changed by event 174 on beta.test: a3 UID STORE 5 +FLAGS
 * (\Deleted) (session imap-5)"). Clicking it, or activating the row
 * (double click, Enter), emits "event-activated". */
#define MS_TYPE_MAILBOX_VIEW (ms_mailbox_view_get_type ())
G_DECLARE_FINAL_TYPE (MsMailboxView, ms_mailbox_view, MS, MAILBOX_VIEW, GtkWidget)

/* Signal "event-activated" (guint64 seq, const char *server): the user
 * activated a row's mark; seq and server name the event (the window selects
 * it in the diagram and the inspector). */

GtkWidget *ms_mailbox_view_new (void);
/* The model is borrowed with a reference; NULL clears. */
void ms_mailbox_view_set_model (MsMailboxView *self, MsMailboxModel *model);

/* Chooses a folder; FALSE when the model has no such folder. */
gboolean ms_mailbox_view_select_folder (MsMailboxView *self, const char *server,
                                        const char *user, const char *folder);
/* A message changed in this folder (a store event). Until somebody chooses
 * a folder, the view follows the changes, so a lecture's delivery shows
 * where it lands; afterwards it stays where it was put. */
void ms_mailbox_view_show_change (MsMailboxView *self, const char *server, const char *user,
                                  const char *folder);
/* The event selected elsewhere (an arrow of the diagram): the rows it
 * changed (their mark or their store event is that event; see
 * ms_message_item_changed_by()) get "ms-selected-change", gone ones come
 * back as gone rows. When the folder shown has no such row and another
 * folder has, the view shows that folder. seq 0 (or server NULL) clears. */
void ms_mailbox_view_set_selected_event (MsMailboxView *self, const char *server, guint64 seq);
/* How long the latest change stays highlighted before it fades, in ms
 * (default 5000); 0 turns the highlight off. */
void ms_mailbox_view_set_highlight_time (MsMailboxView *self, guint ms);

/* Borrowed: the table (for tests: its model holds the rows shown). */
GtkColumnView *ms_mailbox_view_get_column_view (MsMailboxView *self);
/* The text of a cell's tooltip (a cell: a widget of class "ms-cell" in the
 * table), made when GTK asks for it (query-tooltip), not each time a row
 * changes: in the Status column the badge's meaning, elsewhere the row's
 * story. NULL for none, or for a cell not bound to a row. Free it. */
char *ms_mailbox_view_dup_cell_tooltip (MsMailboxView *self, GtkWidget *cell);

/* The CSS class of a row in that status, NULL for a present message. */
const char *ms_mailbox_view_status_class (MsMessageStatus status);

G_END_DECLS
