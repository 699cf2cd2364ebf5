/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ms-mailbox-model.h"

G_BEGIN_DECLS

/* MsMailboxView: one folder of the mailbox model at a time, chosen in a drop
 * down ("server / user / folder"), its messages in a table: UID, flags, size,
 * from, subject. A POP3 "marked for deletion" row, an IMAP \Deleted row and
 * a row that is gone each look different (CSS classes ms-pop3-marked,
 * ms-deleted-flag, ms-gone). */
#define MS_TYPE_MAILBOX_VIEW (ms_mailbox_view_get_type ())
G_DECLARE_FINAL_TYPE (MsMailboxView, ms_mailbox_view, MS, MAILBOX_VIEW, GtkWidget)

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
/* Borrowed: the table (for tests: its model holds the rows shown). */
GtkColumnView *ms_mailbox_view_get_column_view (MsMailboxView *self);

/* The CSS class of a row in that status, NULL for a present message. */
const char *ms_mailbox_view_status_class (MsMessageStatus status);

G_END_DECLS
