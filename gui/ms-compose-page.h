/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ms-agent-account.h"

G_BEGIN_DECLS

/* MsComposePage: the "Send" page of the built-in user agents. From (the
 * account's address, read only), To, Subject, a body and Send. The
 * message is built with ms_compose_message() and sent with
 * ms_smtp_send_async() to the account's submission port, with AUTH as the
 * account's user (RFC 4954), and STARTTLS first (RFC 3207) when the
 * "Encrypt" box is ticked. The client side of the dialog goes on the
 * account's bus under the account's device name, so the diagram draws the
 * device's lane. The outcome is shown in words in the status line. */
#define MS_TYPE_COMPOSE_PAGE (ms_compose_page_get_type ())
G_DECLARE_FINAL_TYPE (MsComposePage, ms_compose_page, MS, COMPOSE_PAGE, GtkWidget)

GtkWidget *ms_compose_page_new (void);

/* The account that sends (a reference is taken; NULL: nothing can be
 * sent). A send that is running goes on with the account it started with. */
void ms_compose_page_set_account (MsComposePage *self, MsAgentAccount *account);
MsAgentAccount *ms_compose_page_get_account (MsComposePage *self);

/* The recipient proposed for this account ("bob@beta.test" for alice): it
 * fills To while To is empty or still holds the previous proposal, so a
 * lecture can send with one click. */
void ms_compose_page_set_default_to (MsComposePage *self, const char *address);

/* Starts sending what the fields hold, as the Send button does. Does
 * nothing while a send runs or without an account. */
void ms_compose_page_send (MsComposePage *self);

/* Property "busy" (gboolean, read only): a send is running. */
gboolean ms_compose_page_get_busy (MsComposePage *self);
/* The status line's text ("Sent: ...", "Not sent: ..."). Borrowed. */
const char *ms_compose_page_get_status (MsComposePage *self);

/* The page's fields, borrowed, for tests and keyboard focus. */
GtkEditable *ms_compose_page_get_to_entry (MsComposePage *self);
GtkEditable *ms_compose_page_get_subject_entry (MsComposePage *self);
GtkTextView *ms_compose_page_get_body_view (MsComposePage *self);
GtkCheckButton *ms_compose_page_get_tls_check (MsComposePage *self);
GtkButton *ms_compose_page_get_send_button (MsComposePage *self);

G_END_DECLS
