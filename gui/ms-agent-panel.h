/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ms-agent-account.h"
#include "ms-world.h"

G_BEGIN_DECLS

/* MsAgentPanel: the built-in user agents, so a lecture needs no terminal.
 * At the top, who acts ("alice on alpha.test — alice's laptop", a drop
 * down over the accounts) and on which device (editable: "bob's laptop"
 * keeps the mail on the server, "bob's phone" deletes it). Below, three
 * pages: Send (MsComposePage), POP3 (MsPop3Page) and IMAP (MsImapPage).
 *
 * The pages use the client engines on the main loop and emit their
 * client-side events on the account's bus with `server` set to the device
 * name, so the diagram shows the device's lane next to the server's. */
#define MS_TYPE_AGENT_PANEL (ms_agent_panel_get_type ())
G_DECLARE_FINAL_TYPE (MsAgentPanel, ms_agent_panel, MS, AGENT_PANEL, GtkWidget)

/* `accounts` is a list of MsAgentAccount (a reference is taken); the
 * first one is chosen. POP3 devices keep their mail in Maildirs under
 * `devices_dir` (the app passes <data-dir>/devices), one directory per
 * device name, made when needed. */
GtkWidget *ms_agent_panel_new (GListModel *accounts, const char *devices_dir);

/* The accounts of every demo user of `world` (ms_demo_servers, password
 * "<user>pw"), on its servers' actual ports at `host` ("127.0.0.1" when
 * NULL), each with the device "<user>'s laptop" and the bus `bus`. Full
 * transfer: a GListStore of MsAgentAccount. */
GListModel *ms_agent_panel_new_demo_accounts (MsWorld *world, MsTraceBus *bus,
                                              const char *host);

/* The device name as a host name (EHLO) and a directory name (its POP3
 * Maildir under devices_dir): ASCII letters and digits lowercased,
 * apostrophes dropped, any other run of characters one "-", none at either
 * end, at most 63 characters (RFC 1035 §2.3.4); "device" when nothing is
 * left. So never "/", "..", or a leading dot: "bob's laptop" ->
 * "bobs-laptop". Free with g_free. */
char *ms_agent_panel_device_slug (const char *device);

/* Chooses the account with this address ("bob@beta.test"). FALSE when
 * there is none. */
gboolean ms_agent_panel_select_account (MsAgentPanel *self, const char *address);

/* Property "account" (MsAgentAccount, read only): the chosen account as the
 * pages use it, with the device name of the "device" property. Borrowed;
 * NULL when there are no accounts. */
MsAgentAccount *ms_agent_panel_get_account (MsAgentPanel *self);

/* Property "device" (string): the device the agent plays. Empty means the
 * chosen account's own device. Choosing an account resets it. */
void ms_agent_panel_set_device (MsAgentPanel *self, const char *device);
const char *ms_agent_panel_get_device (MsAgentPanel *self);

/* Property "devices-dir" (string, construct only). */
const char *ms_agent_panel_get_devices_dir (MsAgentPanel *self);

/* Shows a page: "send", "pop3" or "imap". */
void ms_agent_panel_show_page (MsAgentPanel *self, const char *name);

/* The pages and the header's widgets, borrowed (tests, the app's focus). */
GtkWidget *ms_agent_panel_get_compose_page (MsAgentPanel *self);
GtkWidget *ms_agent_panel_get_pop3_page (MsAgentPanel *self);
GtkWidget *ms_agent_panel_get_imap_page (MsAgentPanel *self);
GtkDropDown *ms_agent_panel_get_account_dropdown (MsAgentPanel *self);
GtkEditable *ms_agent_panel_get_device_entry (MsAgentPanel *self);

/* --- shared by the panel's pages (not for other callers) --- */

typedef enum {
  MS_AGENT_STATUS_NONE,     /* plain text: idle, or a job running */
  MS_AGENT_STATUS_OK,
  MS_AGENT_STATUS_ERROR,
} MsAgentStatus;

/* Sets a page's status line, coloured by `status`. */
void _ms_agent_status_show (GtkLabel *label, MsAgentStatus status, const char *text);

/* A label for a form field ("To", "Device"). Floating. */
GtkWidget *_ms_agent_field_label (const char *text);
/* A page's status line (wrapping, selectable), showing `text`. Floating. */
GtkWidget *_ms_agent_status_label_new (const char *text);

/* Lays a page out as a column (its class uses GtkBoxLayout). */
void _ms_agent_page_init (GtkWidget *page);
/* The "busy" property of a page class (read only, explicit notify). */
GParamSpec *_ms_agent_page_param_spec_busy (void);
/* Shows or hides a page's spinner. */
void _ms_agent_page_show_running (GtkSpinner *spinner, gboolean running);
/* For a page's dispose: cancels the running job (its callback then does
 * nothing), clears `cancellable_r` and unparents the page's children. */
void _ms_agent_page_dispose (GtkWidget *page, GCancellable **cancellable_r);

/* A page's running job: the page (a reference) and the cancellable that
 * the page's dispose cancels, so a callback that comes later does nothing. */
typedef struct {
  GtkWidget *page;
  GCancellable *cancellable;
} MsAgentJob;

MsAgentJob *_ms_agent_job_new (GtkWidget *page, GCancellable *cancellable);
/* The page, or NULL when it was disposed (the job was cancelled). */
GtkWidget *_ms_agent_job_get_page (MsAgentJob *job);
void _ms_agent_job_free (MsAgentJob *job);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsAgentJob, _ms_agent_job_free)

G_END_DECLS
