/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-compose-page"

#include "config.h"

#include <gmime/gmime.h>

#include "ms-agent-panel.h"
#include "ms-compose-page.h"
#include "ms-compose.h"
#include "ms-message.h"
#include "ms-smtp-sender.h"

/* A lecture's sends are short; a dead server should be reported while
 * the class still looks at the screen. */
#define SEND_TIMEOUT_S 20
/* Recipients in one message from the page: enough for a lecture. */
#define MAX_RECIPIENTS 20

struct _MsComposePage
{
  GtkWidget parent_instance;

  GtkLabel *from_label;
  GtkEditable *to_entry;
  GtkEditable *subject_entry;
  GtkTextView *body_view;
  GtkCheckButton *tls_check;
  GtkButton *send_button;
  GtkSpinner *spinner;
  GtkLabel *status_label;

  MsAgentAccount *account;
  char *default_to;           /* what To was filled with, to tell a user's edit */
  char *default_subject;
  GCancellable *cancellable;  /* the running send, or NULL */
};

G_DEFINE_FINAL_TYPE (MsComposePage, ms_compose_page, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
set_busy (MsComposePage *self,
          GCancellable *cancellable)
{
  gboolean busy = cancellable != NULL;

  g_set_object (&self->cancellable, cancellable);
  gtk_widget_set_sensitive (GTK_WIDGET (self->send_button), !busy && self->account != NULL);
  _ms_agent_page_show_running (self->spinner, busy);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Replaces `field`'s text when the user has not changed what was proposed
 * before (`*proposed_r`), and remembers the new proposal. */
static void
propose (GtkEditable *field,
         char **proposed_r,
         const char *proposal)
{
  const char *text = gtk_editable_get_text (field);

  if (*text == '\0' || g_strcmp0 (text, *proposed_r) == 0)
    gtk_editable_set_text (field, proposal != NULL ? proposal : "");
  g_free (*proposed_r);
  *proposed_r = g_strdup (proposal);
}

void
ms_compose_page_set_account (MsComposePage *self,
                             MsAgentAccount *account)
{
  g_autofree char *subject = NULL;

  g_return_if_fail (MS_IS_COMPOSE_PAGE (self));
  g_return_if_fail (account == NULL || MS_IS_AGENT_ACCOUNT (account));

  g_set_object (&self->account, account);
  gtk_label_set_text (self->from_label,
                      account != NULL ? ms_agent_account_get_address (account) : "");
  if (account != NULL)
    subject = g_strdup_printf ("Hello from %s", ms_agent_account_get_user (account));
  propose (self->subject_entry, &self->default_subject, subject);
  gtk_widget_set_sensitive (GTK_WIDGET (self->send_button),
                            self->cancellable == NULL && account != NULL);
}

MsAgentAccount *
ms_compose_page_get_account (MsComposePage *self)
{
  g_return_val_if_fail (MS_IS_COMPOSE_PAGE (self), NULL);
  return self->account;
}

void
ms_compose_page_set_default_to (MsComposePage *self,
                                const char *address)
{
  g_return_if_fail (MS_IS_COMPOSE_PAGE (self));
  propose (self->to_entry, &self->default_to, address);
}

/* The addr-specs of the To field ("Bob <bob@beta.test>, dave@beta.test"),
 * for RCPT TO (RFC 5321 §4.1.1.3), or NULL with `error` set. */
static GStrv
parse_recipients (const char *text,
                  GError **error)
{
  /* GMime 3.2 has no autoptr for it: a GObject all the same. */
  g_autoptr(GObject) list_object = NULL;
  InternetAddressList *list;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  int n;
  guint found = 0;

  ms_message_ensure_gmime ();
  list = internet_address_list_parse (NULL, text);
  list_object = G_OBJECT (list);
  n = list != NULL ? internet_address_list_length (list) : 0;
  for (int i = 0; i < n; i++)
    {
      InternetAddress *address = internet_address_list_get_address (list, i);
      const char *addr;

      /* A group ("friends: a@b, c@d;") is not something a lecture types. */
      if (!INTERNET_ADDRESS_IS_MAILBOX (address))
        continue;
      addr = internet_address_mailbox_get_addr (INTERNET_ADDRESS_MAILBOX (address));
      if (addr == NULL || strchr (addr, '@') == NULL)
        continue;
      if (++found > MAX_RECIPIENTS)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "at most %u recipients, please", MAX_RECIPIENTS);
          return NULL;
        }
      g_strv_builder_add (builder, addr);
    }
  if (found == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                           "To needs an address such as bob@beta.test");
      return NULL;
    }
  return g_strv_builder_end (builder);
}

static char *
body_text (MsComposePage *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->body_view);
  GtkTextIter start, end;

  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* What happened, in words for the class: the server's final reply when the
 * mail went, the reason when it did not. */
static char *
describe_result (const MsSmtpSendResult *result)
{
  switch (result->status)
    {
    case MS_SMTP_SEND_STATUS_ALL_DELIVERED:
      return g_strdup_printf ("Sent: %u %s%s%s", result->data_code,
                              result->data_enhanced != NULL ? result->data_enhanced : "",
                              result->data_enhanced != NULL ? " " : "",
                              result->data_text != NULL ? result->data_text : "");
    case MS_SMTP_SEND_STATUS_PARTIAL:
      return g_strdup_printf ("Sent, but not to everyone: %s", result->text);
    /* The client's text says what went wrong in words, with the reply
     * ("authentication as alice failed: 535 5.7.8 ..."). */
    case MS_SMTP_SEND_STATUS_AUTH_FAILURE:
    case MS_SMTP_SEND_STATUS_TLS_FAILURE:
    case MS_SMTP_SEND_STATUS_TEMP_FAILURE:
    case MS_SMTP_SEND_STATUS_PERM_FAILURE:
    case MS_SMTP_SEND_STATUS_PROTOCOL_ERROR:
    default:
      return g_strdup_printf ("Not sent: %s", result->text);
    }
}

static void
sent_cb (GObject *source,
         GAsyncResult *res,
         gpointer user_data)
{
  g_autoptr(MsAgentJob) job = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsSmtpSendResult) result = ms_smtp_send_finish (res, &error);
  MsComposePage *self = (MsComposePage *) _ms_agent_job_get_page (job);
  g_autofree char *text = NULL;
  gboolean sent;

  if (self == NULL)
    return;
  set_busy (self, NULL);
  if (result == NULL)
    {
      text = g_strdup_printf ("Not sent: %s", error->message);
      _ms_agent_status_show (self->status_label, MS_AGENT_STATUS_ERROR, text);
      return;
    }
  sent = result->status == MS_SMTP_SEND_STATUS_ALL_DELIVERED;
  text = describe_result (result);
  _ms_agent_status_show (self->status_label, sent ? MS_AGENT_STATUS_OK : MS_AGENT_STATUS_ERROR,
                         text);
}

void
ms_compose_page_send (MsComposePage *self)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) recipients = NULL;
  g_autofree char *body = NULL;
  g_autofree char *status = NULL;
  g_autofree char *helo = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GCancellable) cancellable = NULL;
  MsAgentAccount *account;
  const char *subject;
  MsSmtpSendParams params = { 0 };

  g_return_if_fail (MS_IS_COMPOSE_PAGE (self));

  account = self->account;
  if (self->cancellable != NULL || account == NULL)
    return;

  recipients = parse_recipients (gtk_editable_get_text (self->to_entry), &error);
  if (recipients != NULL)
    {
      subject = gtk_editable_get_text (self->subject_entry);
      body = body_text (self);
      message = ms_compose_message (&(MsComposeParams) {
                                      .from = ms_agent_account_get_address (account),
                                      .to = (const char * const *) recipients,
                                      .subject = *subject != '\0' ? subject : NULL,
                                      .body = body,
                                    }, &error);
    }
  if (message == NULL)
    {
      status = g_strdup_printf ("Not sent: %s", error->message);
      _ms_agent_status_show (self->status_label, MS_AGENT_STATUS_ERROR, status);
      return;
    }

  /* RFC 6409 §4.3: the submission port wants AUTH; STARTTLS (RFC 3207)
   * first when asked, or else the password crosses the wire in the clear,
   * which is the lesson of leaving the box unticked. */
  params.host = ms_agent_account_get_host (account);
  params.port = ms_agent_account_get_submission_port (account);
  params.tls = gtk_check_button_get_active (self->tls_check) ? MS_SMTP_TLS_STARTTLS
                                                             : MS_SMTP_TLS_NONE;
  /* EHLO names the client (RFC 5321 §4.1.1.1): the device, as a host name. */
  helo = ms_agent_panel_device_slug (ms_agent_account_get_device (account));
  params.helo_name = helo;
  params.username = ms_agent_account_get_user (account);
  params.password = ms_agent_account_get_password (account);
  params.mail_from = ms_agent_account_get_address (account);
  params.rcpt_to = (const char * const *) recipients;
  params.message = message;
  params.timeout_s = SEND_TIMEOUT_S;
  params.bus = ms_agent_account_get_bus (account);
  params.trace_server = ms_agent_account_get_device (account);

  cancellable = g_cancellable_new ();
  set_busy (self, cancellable);
  status = g_strdup_printf ("Sending to %s:%u as %s…", params.host, params.port,
                            params.username);
  _ms_agent_status_show (self->status_label, MS_AGENT_STATUS_NONE, status);
  ms_smtp_send_async (&params, cancellable, sent_cb,
                      _ms_agent_job_new (GTK_WIDGET (self), cancellable));
}

gboolean
ms_compose_page_get_busy (MsComposePage *self)
{
  g_return_val_if_fail (MS_IS_COMPOSE_PAGE (self), FALSE);
  return self->cancellable != NULL;
}

const char *
ms_compose_page_get_status (MsComposePage *self)
{
  g_return_val_if_fail (MS_IS_COMPOSE_PAGE (self), NULL);
  return gtk_label_get_text (self->status_label);
}

GtkEditable *
ms_compose_page_get_to_entry (MsComposePage *self)
{
  g_return_val_if_fail (MS_IS_COMPOSE_PAGE (self), NULL);
  return self->to_entry;
}

GtkEditable *
ms_compose_page_get_subject_entry (MsComposePage *self)
{
  g_return_val_if_fail (MS_IS_COMPOSE_PAGE (self), NULL);
  return self->subject_entry;
}

GtkTextView *
ms_compose_page_get_body_view (MsComposePage *self)
{
  g_return_val_if_fail (MS_IS_COMPOSE_PAGE (self), NULL);
  return self->body_view;
}

GtkCheckButton *
ms_compose_page_get_tls_check (MsComposePage *self)
{
  g_return_val_if_fail (MS_IS_COMPOSE_PAGE (self), NULL);
  return self->tls_check;
}

GtkButton *
ms_compose_page_get_send_button (MsComposePage *self)
{
  g_return_val_if_fail (MS_IS_COMPOSE_PAGE (self), NULL);
  return self->send_button;
}

static void
send_clicked_cb (GtkButton *button,
                 MsComposePage *self)
{
  ms_compose_page_send (self);
}

/* Enter in To or Subject sends, as in a mail program. */
static void
entry_activate_cb (GtkEntry *entry,
                   MsComposePage *self)
{
  ms_compose_page_send (self);
}

static void
ms_compose_page_dispose (GObject *object)
{
  MsComposePage *self = MS_COMPOSE_PAGE (object);

  /* A job still running reports to nobody (see MsAgentJob). */
  _ms_agent_page_dispose (GTK_WIDGET (self), &self->cancellable);
  g_clear_object (&self->account);
  G_OBJECT_CLASS (ms_compose_page_parent_class)->dispose (object);
}

static void
ms_compose_page_finalize (GObject *object)
{
  MsComposePage *self = MS_COMPOSE_PAGE (object);

  g_free (self->default_to);
  g_free (self->default_subject);
  G_OBJECT_CLASS (ms_compose_page_parent_class)->finalize (object);
}

static void
ms_compose_page_get_property (GObject *object,
                              guint prop_id,
                              GValue *value,
                              GParamSpec *pspec)
{
  MsComposePage *self = MS_COMPOSE_PAGE (object);

  switch (prop_id)
    {
    case PROP_BUSY:
      g_value_set_boolean (value, ms_compose_page_get_busy (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_compose_page_class_init (MsComposePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ms_compose_page_dispose;
  object_class->finalize = ms_compose_page_finalize;
  object_class->get_property = ms_compose_page_get_property;

  properties[PROP_BUSY] = _ms_agent_page_param_spec_busy ();
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BOX_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "composepage");
}

static GtkWidget *
new_entry (const char *placeholder)
{
  GtkWidget *entry = gtk_entry_new ();

  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), placeholder);
  gtk_widget_set_hexpand (entry, TRUE);
  return entry;
}

static void
ms_compose_page_init (MsComposePage *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GtkWidget *grid = gtk_grid_new ();
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *actions = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *status = _ms_agent_status_label_new ("Write a message and press Send.");

  _ms_agent_page_init (widget);

  gtk_grid_set_row_spacing (GTK_GRID (grid), 8);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  self->from_label = GTK_LABEL (gtk_label_new (""));
  gtk_label_set_xalign (self->from_label, 0);
  gtk_label_set_selectable (self->from_label, TRUE);
  self->to_entry = GTK_EDITABLE (new_entry ("bob@beta.test"));
  self->subject_entry = GTK_EDITABLE (new_entry ("Subject"));
  g_signal_connect (self->to_entry, "activate", G_CALLBACK (entry_activate_cb), self);
  g_signal_connect (self->subject_entry, "activate", G_CALLBACK (entry_activate_cb), self);
  gtk_grid_attach (GTK_GRID (grid), _ms_agent_field_label ("From"), 0, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->from_label), 1, 0, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), _ms_agent_field_label ("To"), 0, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->to_entry), 1, 1, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), _ms_agent_field_label ("Subject"), 0, 2, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->subject_entry), 1, 2, 1, 1);
  gtk_widget_set_parent (grid, widget);

  self->body_view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_text_view_set_wrap_mode (self->body_view, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (self->body_view, 8);
  gtk_text_view_set_right_margin (self->body_view, 8);
  gtk_text_view_set_top_margin (self->body_view, 6);
  gtk_text_view_set_bottom_margin (self->body_view, 6);
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->body_view),
                            "Hi,\n\nthis message went through the submission port.\n", -1);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->body_view));
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (scroller), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_widget_set_size_request (scroller, -1, 120);
  gtk_scrolled_window_set_has_frame (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_widget_add_css_class (scroller, "ms-agent-body");
  gtk_widget_set_parent (scroller, widget);

  self->tls_check = GTK_CHECK_BUTTON (gtk_check_button_new_with_label ("Encrypt (STARTTLS)"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->tls_check),
                               "Without it, AUTH sends the password in the clear");
  gtk_widget_set_hexpand (GTK_WIDGET (self->tls_check), TRUE);
  self->spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  self->send_button = GTK_BUTTON (gtk_button_new_with_label ("Send"));
  gtk_widget_add_css_class (GTK_WIDGET (self->send_button), "suggested-action");
  gtk_widget_set_sensitive (GTK_WIDGET (self->send_button), FALSE);
  g_signal_connect (self->send_button, "clicked", G_CALLBACK (send_clicked_cb), self);
  gtk_box_append (GTK_BOX (actions), GTK_WIDGET (self->tls_check));
  gtk_box_append (GTK_BOX (actions), GTK_WIDGET (self->spinner));
  gtk_box_append (GTK_BOX (actions), GTK_WIDGET (self->send_button));
  gtk_widget_set_parent (actions, widget);

  self->status_label = GTK_LABEL (status);
  gtk_widget_set_parent (status, widget);
}

GtkWidget *
ms_compose_page_new (void)
{
  return g_object_new (MS_TYPE_COMPOSE_PAGE, NULL);
}
