/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ms-agent-account.h"
#include "ms-pop3-fetch.h"

G_BEGIN_DECLS

/* MsDeviceMessage: one message a POP3 device holds in its local Maildir. */
#define MS_TYPE_DEVICE_MESSAGE (ms_device_message_get_type ())
G_DECLARE_FINAL_TYPE (MsDeviceMessage, ms_device_message, MS, DEVICE_MESSAGE, GObject)

/* "Alice <alice@alpha.test>", or "" when the message has no From. */
const char *ms_device_message_get_from (MsDeviceMessage *self);
/* Decoded (RFC 2047), or "" when there is none. */
const char *ms_device_message_get_subject (MsDeviceMessage *self);
guint64 ms_device_message_get_size (MsDeviceMessage *self);
/* The file's path. */
const char *ms_device_message_get_path (MsDeviceMessage *self);

/* MsPop3Page: the "POP3" page of the built-in user agents. The account's
 * device fetches its mail with ms_pop3_fetch_async() into a Maildir of its
 * own, <devices_dir>/<device slug>, keeping the mail on the server (the
 * UIDLs remembered, RFC 1939 §7) or deleting it (DELE, committed at QUIT,
 * RFC 1939 §6); then the page lists what the device holds. "List on
 * server" runs STAT, LIST and UIDL only. */
#define MS_TYPE_POP3_PAGE (ms_pop3_page_get_type ())
G_DECLARE_FINAL_TYPE (MsPop3Page, ms_pop3_page, MS, POP3_PAGE, GtkWidget)

GtkWidget *ms_pop3_page_new (const char *devices_dir);

/* The account and device that fetch (a reference is taken). The device's
 * Maildir is listed at once. A job that runs goes on with its account. */
void ms_pop3_page_set_account (MsPop3Page *self, MsAgentAccount *account);
MsAgentAccount *ms_pop3_page_get_account (MsPop3Page *self);

/* The device's Maildir, <devices_dir>/<slug>. Borrowed; NULL without an
 * account. */
const char *ms_pop3_page_get_device_path (MsPop3Page *self);

void ms_pop3_page_set_mode (MsPop3Page *self, MsPop3FetchMode mode);
MsPop3FetchMode ms_pop3_page_get_mode (MsPop3Page *self);

/* Start a job, as the buttons do. Nothing happens while one runs. */
void ms_pop3_page_fetch (MsPop3Page *self);
void ms_pop3_page_list_server (MsPop3Page *self);

/* Reads the device's Maildir again (new/ and cur/). */
void ms_pop3_page_refresh (MsPop3Page *self);
/* The device's messages (of MsDeviceMessage), oldest first. Borrowed. */
GListModel *ms_pop3_page_get_messages (MsPop3Page *self);

/* Property "busy" (gboolean, read only): a job is running. */
gboolean ms_pop3_page_get_busy (MsPop3Page *self);
/* The status line: the fetch summary, the server's listing, or what went
 * wrong. Borrowed. */
const char *ms_pop3_page_get_status (MsPop3Page *self);

/* The page's controls, borrowed, for tests. */
GtkButton *ms_pop3_page_get_fetch_button (MsPop3Page *self);
GtkButton *ms_pop3_page_get_list_button (MsPop3Page *self);
GtkCheckButton *ms_pop3_page_get_keep_check (MsPop3Page *self);
GtkCheckButton *ms_pop3_page_get_delete_check (MsPop3Page *self);
GtkColumnView *ms_pop3_page_get_column_view (MsPop3Page *self);

G_END_DECLS
