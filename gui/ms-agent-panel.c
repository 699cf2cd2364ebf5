/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-agent-panel"

#include "config.h"

#include "ms-agent-panel.h"
#include "ms-compose-page.h"
#include "ms-imap-page.h"
#include "ms-pop3-page.h"

/* Typing a device name should not open an IMAP session per keystroke. */
#define DEVICE_SETTLE_MS 600
/* RFC 1035 §2.3.4: a label is at most 63 octets. */
#define SLUG_MAX 63

struct _MsAgentPanel
{
  GtkWidget parent_instance;

  GtkDropDown *account_dropdown;
  GtkEntry *device_entry;
  GtkMenuButton *device_menu_button;
  GtkStack *stack;

  GtkWidget *compose_page;
  GtkWidget *pop3_page;
  GtkWidget *imap_page;

  GListModel *accounts;       /* of MsAgentAccount */
  char *devices_dir;
  MsAgentAccount *chosen;     /* borrowed from `accounts`, or NULL */
  MsAgentAccount *account;    /* `chosen` as the pages use it: the device applied */
  guint device_settle_id;
};

G_DEFINE_FINAL_TYPE (MsAgentPanel, ms_agent_panel, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ACCOUNTS,
  PROP_DEVICES_DIR,
  PROP_ACCOUNT,
  PROP_DEVICE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* --- shared by the pages --------------------------------------------- */

void
_ms_agent_status_show (GtkLabel *label,
                       MsAgentStatus status,
                       const char *text)
{
  gtk_label_set_text (label, text);
  gtk_widget_remove_css_class (GTK_WIDGET (label), "success");
  gtk_widget_remove_css_class (GTK_WIDGET (label), "error");
  if (status == MS_AGENT_STATUS_OK)
    gtk_widget_add_css_class (GTK_WIDGET (label), "success");
  else if (status == MS_AGENT_STATUS_ERROR)
    gtk_widget_add_css_class (GTK_WIDGET (label), "error");
}

GtkWidget *
_ms_agent_field_label (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_widget_add_css_class (label, "ms-agent-field");
  return label;
}

GtkWidget *
_ms_agent_status_label_new (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  gtk_widget_add_css_class (label, "ms-agent-status");
  return label;
}

void
_ms_agent_page_init (GtkWidget *page)
{
  GtkLayoutManager *layout = gtk_widget_get_layout_manager (page);

  gtk_orientable_set_orientation (GTK_ORIENTABLE (layout), GTK_ORIENTATION_VERTICAL);
  gtk_box_layout_set_spacing (GTK_BOX_LAYOUT (layout), 10);
  gtk_widget_add_css_class (page, "ms-agent-page");
}

GParamSpec *
_ms_agent_page_param_spec_busy (void)
{
  return g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                               G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY
                               | G_PARAM_STATIC_STRINGS);
}

void
_ms_agent_page_show_running (GtkSpinner *spinner,
                             gboolean running)
{
  gtk_spinner_set_spinning (spinner, running);
  gtk_widget_set_visible (GTK_WIDGET (spinner), running);
}

void
_ms_agent_page_dispose (GtkWidget *page,
                        GCancellable **cancellable_r)
{
  GtkWidget *child;

  if (*cancellable_r != NULL)
    g_cancellable_cancel (*cancellable_r);
  g_clear_object (cancellable_r);
  while ((child = gtk_widget_get_first_child (page)) != NULL)
    gtk_widget_unparent (child);
}

MsAgentJob *
_ms_agent_job_new (GtkWidget *page,
                   GCancellable *cancellable)
{
  MsAgentJob *job = g_new0 (MsAgentJob, 1);

  job->page = g_object_ref (page);
  job->cancellable = g_object_ref (cancellable);
  return job;
}

GtkWidget *
_ms_agent_job_get_page (MsAgentJob *job)
{
  /* Checked rather than the error: a job that finished just before the
   * page went away still has a result, for a page that has no widgets. */
  return g_cancellable_is_cancelled (job->cancellable) ? NULL : job->page;
}

void
_ms_agent_job_free (MsAgentJob *job)
{
  if (job == NULL)
    return;
  g_object_unref (job->page);
  g_object_unref (job->cancellable);
  g_free (job);
}

char *
ms_agent_panel_device_slug (const char *device)
{
  GString *slug = g_string_new (NULL);
  gboolean dash = FALSE;

  for (const char *p = device != NULL ? device : ""; *p != '\0' && slug->len < SLUG_MAX; p++)
    {
      if (g_ascii_isalnum (*p))
        {
          if (dash && slug->len > 0)
            g_string_append_c (slug, '-');
          dash = FALSE;
          g_string_append_c (slug, g_ascii_tolower (*p));
        }
      else if (*p != '\'')
        dash = TRUE;
    }
  if (slug->len == 0)
    g_string_append (slug, "device");
  return g_string_free (slug, FALSE);
}

/* --- accounts ---------------------------------------------------------- */

GListModel *
ms_agent_panel_new_demo_accounts (MsWorld *world,
                                  MsTraceBus *bus,
                                  const char *host)
{
  GListStore *accounts = g_list_store_new (MS_TYPE_AGENT_ACCOUNT);
  GPtrArray *servers;

  g_return_val_if_fail (world != NULL, NULL);

  servers = ms_world_get_servers (world);
  for (guint i = 0; i < servers->len; i++)
    for (guint d = 0; d < G_N_ELEMENTS (ms_demo_servers); d++)
      {
        const MsDemoServer *demo = &ms_demo_servers[d];
        MsServer *server = servers->pdata[i];

        if (g_strcmp0 (demo->domain, ms_server_get_domain (server)) != 0)
          continue;
        for (guint u = 0; demo->users[u] != NULL; u++)
          {
            g_autofree char *password = g_strconcat (demo->users[u], "pw", NULL);
            g_autofree char *device = g_strdup_printf ("%s's laptop", demo->users[u]);
            g_autoptr(MsAgentAccount) account =
              ms_agent_account_new (bus, demo->domain, host != NULL ? host : "127.0.0.1",
                                    ms_server_get_port (server, MS_LISTENER_SUBMISSION),
                                    ms_server_get_port (server, MS_LISTENER_POP3),
                                    ms_server_get_port (server, MS_LISTENER_IMAP),
                                    demo->users[u], password, device);

            g_list_store_append (accounts, account);
          }
      }
  return G_LIST_MODEL (accounts);
}

static char *
account_label_cb (MsAgentAccount *account)
{
  if (account == NULL)
    return g_strdup ("");
  return g_strdup_printf ("%s on %s — %s", ms_agent_account_get_user (account),
                          ms_agent_account_get_server (account),
                          ms_agent_account_get_device (account));
}

/* Someone on another server, so that the mail is relayed: alice on
 * alpha.test writes to bob@beta.test. */
static const char *
default_recipient (MsAgentPanel *self)
{
  for (guint i = 0; self->chosen != NULL && i < g_list_model_get_n_items (self->accounts); i++)
    {
      g_autoptr(MsAgentAccount) other = g_list_model_get_item (self->accounts, i);

      if (g_strcmp0 (ms_agent_account_get_server (other),
                     ms_agent_account_get_server (self->chosen)) != 0)
        return ms_agent_account_get_address (other);
    }
  return NULL;
}

static gboolean
imap_page_shown (MsAgentPanel *self)
{
  return gtk_stack_get_visible_child (self->stack) == self->imap_page;
}

/* The IMAP page opens a session whenever it gets an account, so it gets
 * one only while it is shown: the diagram stays quiet until a lecture
 * looks at IMAP. */
static void
update_imap_page (MsAgentPanel *self)
{
  MsImapPage *page = MS_IMAP_PAGE (self->imap_page);

  g_clear_handle_id (&self->device_settle_id, g_source_remove);
  if (imap_page_shown (self) && ms_imap_page_get_account (page) != self->account)
    ms_imap_page_set_account (page, self->account);
}

static gboolean
device_settled_cb (gpointer user_data)
{
  MsAgentPanel *self = user_data;

  self->device_settle_id = 0;
  update_imap_page (self);
  return G_SOURCE_REMOVE;
}

/* Makes the account the pages use: the chosen one, or a copy of it with
 * the device typed in. */
static void
update_account (MsAgentPanel *self,
                gboolean settle_now)
{
  const char *device = gtk_editable_get_text (GTK_EDITABLE (self->device_entry));
  g_autoptr(MsAgentAccount) account = NULL;
  MsAgentAccount *chosen = self->chosen;

  if (chosen != NULL && *device != '\0'
      && g_strcmp0 (device, ms_agent_account_get_device (chosen)) != 0)
    account = ms_agent_account_new (ms_agent_account_get_bus (chosen),
                                    ms_agent_account_get_server (chosen),
                                    ms_agent_account_get_host (chosen),
                                    ms_agent_account_get_submission_port (chosen),
                                    ms_agent_account_get_pop3_port (chosen),
                                    ms_agent_account_get_imap_port (chosen),
                                    ms_agent_account_get_user (chosen),
                                    ms_agent_account_get_password (chosen),
                                    device);
  else if (chosen != NULL)
    account = g_object_ref (chosen);

  if (account == self->account)
    return;
  g_set_object (&self->account, account);
  ms_compose_page_set_account (MS_COMPOSE_PAGE (self->compose_page), account);
  ms_pop3_page_set_account (MS_POP3_PAGE (self->pop3_page), account);
  if (settle_now)
    update_imap_page (self);
  else
    {
      g_clear_handle_id (&self->device_settle_id, g_source_remove);
      self->device_settle_id = g_timeout_add (DEVICE_SETTLE_MS, device_settled_cb, self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCOUNT]);
}

/* The devices a lecture contrasts: a laptop that keeps the mail on the
 * server and a phone that deletes it, as the menu of the device entry. */
static void
update_device_menu (MsAgentPanel *self)
{
  g_autoptr(GMenu) menu = g_menu_new ();
  static const char * const kinds[] = { "laptop", "phone", "desktop" };

  if (self->chosen != NULL)
    {
      const char *user = ms_agent_account_get_user (self->chosen);
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) devices = NULL;

      g_strv_builder_add (builder, ms_agent_account_get_device (self->chosen));
      for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
        {
          g_autofree char *device = g_strdup_printf ("%s's %s", user, kinds[i]);

          g_strv_builder_add (builder, device);
        }
      devices = g_strv_builder_end (builder);
      for (guint i = 0; devices[i] != NULL; i++)
        {
          g_autoptr(GMenuItem) item = NULL;

          /* The account's own device is first; no name twice. */
          if (i > 0 && g_strcmp0 (devices[i], devices[0]) == 0)
            continue;
          item = g_menu_item_new (devices[i], NULL);
          g_menu_item_set_action_and_target_value (item, "agents.use-device",
                                                   g_variant_new_string (devices[i]));
          g_menu_append_item (menu, item);
        }
    }
  gtk_menu_button_set_menu_model (self->device_menu_button, G_MENU_MODEL (menu));
}

static void
choose_account (MsAgentPanel *self,
                MsAgentAccount *chosen)
{
  if (chosen == self->chosen && self->account != NULL)
    return;
  self->chosen = chosen;
  /* A new user starts on its own device. */
  g_signal_handlers_block_matched (self->device_entry, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL,
                                   self);
  gtk_editable_set_text (GTK_EDITABLE (self->device_entry),
                         chosen != NULL ? ms_agent_account_get_device (chosen) : "");
  g_signal_handlers_unblock_matched (self->device_entry, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL,
                                     self);
  update_device_menu (self);
  update_account (self, TRUE);
  ms_compose_page_set_default_to (MS_COMPOSE_PAGE (self->compose_page),
                                  default_recipient (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEVICE]);
}

static void
selected_account_cb (GtkDropDown *dropdown,
                     GParamSpec *pspec,
                     MsAgentPanel *self)
{
  choose_account (self, gtk_drop_down_get_selected_item (dropdown));
}

static void
device_changed_cb (GtkEditable *editable,
                   MsAgentPanel *self)
{
  update_account (self, FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEVICE]);
}

static void
device_activate_cb (GtkEntry *entry,
                    MsAgentPanel *self)
{
  update_imap_page (self);
}

static void
visible_page_cb (GtkStack *stack,
                 GParamSpec *pspec,
                 MsAgentPanel *self)
{
  update_imap_page (self);
}

static void
use_device_action (GtkWidget *widget,
                   const char *action_name,
                   GVariant *parameter)
{
  ms_agent_panel_set_device (MS_AGENT_PANEL (widget), g_variant_get_string (parameter, NULL));
}

/* --- public API -------------------------------------------------------- */

gboolean
ms_agent_panel_select_account (MsAgentPanel *self,
                               const char *address)
{
  g_return_val_if_fail (MS_IS_AGENT_PANEL (self), FALSE);
  g_return_val_if_fail (address != NULL, FALSE);

  for (guint i = 0; i < g_list_model_get_n_items (self->accounts); i++)
    {
      g_autoptr(MsAgentAccount) account = g_list_model_get_item (self->accounts, i);

      if (g_ascii_strcasecmp (ms_agent_account_get_address (account), address) == 0)
        {
          gtk_drop_down_set_selected (self->account_dropdown, i);
          return TRUE;
        }
    }
  return FALSE;
}

MsAgentAccount *
ms_agent_panel_get_account (MsAgentPanel *self)
{
  g_return_val_if_fail (MS_IS_AGENT_PANEL (self), NULL);
  return self->account;
}

void
ms_agent_panel_set_device (MsAgentPanel *self,
                           const char *device)
{
  g_return_if_fail (MS_IS_AGENT_PANEL (self));

  gtk_editable_set_text (GTK_EDITABLE (self->device_entry), device != NULL ? device : "");
  update_imap_page (self);
}

const char *
ms_agent_panel_get_device (MsAgentPanel *self)
{
  g_return_val_if_fail (MS_IS_AGENT_PANEL (self), NULL);
  return gtk_editable_get_text (GTK_EDITABLE (self->device_entry));
}

const char *
ms_agent_panel_get_devices_dir (MsAgentPanel *self)
{
  g_return_val_if_fail (MS_IS_AGENT_PANEL (self), NULL);
  return self->devices_dir;
}

void
ms_agent_panel_show_page (MsAgentPanel *self,
                          const char *name)
{
  g_return_if_fail (MS_IS_AGENT_PANEL (self));
  g_return_if_fail (name != NULL);
  gtk_stack_set_visible_child_name (self->stack, name);
}

GtkWidget *
ms_agent_panel_get_compose_page (MsAgentPanel *self)
{
  g_return_val_if_fail (MS_IS_AGENT_PANEL (self), NULL);
  return self->compose_page;
}

GtkWidget *
ms_agent_panel_get_pop3_page (MsAgentPanel *self)
{
  g_return_val_if_fail (MS_IS_AGENT_PANEL (self), NULL);
  return self->pop3_page;
}

GtkWidget *
ms_agent_panel_get_imap_page (MsAgentPanel *self)
{
  g_return_val_if_fail (MS_IS_AGENT_PANEL (self), NULL);
  return self->imap_page;
}

GtkDropDown *
ms_agent_panel_get_account_dropdown (MsAgentPanel *self)
{
  g_return_val_if_fail (MS_IS_AGENT_PANEL (self), NULL);
  return self->account_dropdown;
}

GtkEditable *
ms_agent_panel_get_device_entry (MsAgentPanel *self)
{
  g_return_val_if_fail (MS_IS_AGENT_PANEL (self), NULL);
  return GTK_EDITABLE (self->device_entry);
}

/* --- GObject ----------------------------------------------------------- */

static void
ms_agent_panel_constructed (GObject *object)
{
  MsAgentPanel *self = MS_AGENT_PANEL (object);

  G_OBJECT_CLASS (ms_agent_panel_parent_class)->constructed (object);

  if (self->accounts == NULL)
    self->accounts = G_LIST_MODEL (g_list_store_new (MS_TYPE_AGENT_ACCOUNT));
  if (self->devices_dir == NULL)
    self->devices_dir = g_build_filename (g_get_user_data_dir (), "mailscope", "devices", NULL);

  self->compose_page = ms_compose_page_new ();
  self->pop3_page = ms_pop3_page_new (self->devices_dir);
  self->imap_page = ms_imap_page_new (NULL);
  gtk_stack_add_titled (self->stack, self->compose_page, "send", "Send");
  gtk_stack_add_titled (self->stack, self->pop3_page, "pop3", "POP3");
  gtk_stack_add_titled (self->stack, self->imap_page, "imap", "IMAP");

  gtk_drop_down_set_model (self->account_dropdown, self->accounts);
  g_signal_connect (self->account_dropdown, "notify::selected-item",
                    G_CALLBACK (selected_account_cb), self);
  g_signal_connect (self->device_entry, "changed", G_CALLBACK (device_changed_cb), self);
  g_signal_connect (self->device_entry, "activate", G_CALLBACK (device_activate_cb), self);
  g_signal_connect (self->stack, "notify::visible-child", G_CALLBACK (visible_page_cb), self);
  choose_account (self, gtk_drop_down_get_selected_item (self->account_dropdown));
}

static void
ms_agent_panel_dispose (GObject *object)
{
  MsAgentPanel *self = MS_AGENT_PANEL (object);
  GtkWidget *child;

  g_clear_handle_id (&self->device_settle_id, g_source_remove);
  /* Taking the template apart changes the selection and the visible page:
   * nothing to follow any more. */
  if (self->stack != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->stack, self);
      g_signal_handlers_disconnect_by_data (self->account_dropdown, self);
      g_signal_handlers_disconnect_by_data (self->device_entry, self);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), MS_TYPE_AGENT_PANEL);
  /* The template's unnamed children too (the title, the header grid). */
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  self->compose_page = NULL;
  self->pop3_page = NULL;
  self->imap_page = NULL;
  self->chosen = NULL;
  g_clear_object (&self->account);
  g_clear_object (&self->accounts);
  G_OBJECT_CLASS (ms_agent_panel_parent_class)->dispose (object);
}

static void
ms_agent_panel_finalize (GObject *object)
{
  MsAgentPanel *self = MS_AGENT_PANEL (object);

  g_free (self->devices_dir);
  G_OBJECT_CLASS (ms_agent_panel_parent_class)->finalize (object);
}

static void
ms_agent_panel_get_property (GObject *object,
                             guint prop_id,
                             GValue *value,
                             GParamSpec *pspec)
{
  MsAgentPanel *self = MS_AGENT_PANEL (object);

  switch (prop_id)
    {
    case PROP_ACCOUNTS:
      g_value_set_object (value, self->accounts);
      break;
    case PROP_DEVICES_DIR:
      g_value_set_string (value, self->devices_dir);
      break;
    case PROP_ACCOUNT:
      g_value_set_object (value, self->account);
      break;
    case PROP_DEVICE:
      g_value_set_string (value, ms_agent_panel_get_device (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_agent_panel_set_property (GObject *object,
                             guint prop_id,
                             const GValue *value,
                             GParamSpec *pspec)
{
  MsAgentPanel *self = MS_AGENT_PANEL (object);

  switch (prop_id)
    {
    case PROP_ACCOUNTS:
      self->accounts = g_value_dup_object (value);
      break;
    case PROP_DEVICES_DIR:
      self->devices_dir = g_value_dup_string (value);
      break;
    case PROP_DEVICE:
      ms_agent_panel_set_device (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_agent_panel_class_init (MsAgentPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = ms_agent_panel_constructed;
  object_class->dispose = ms_agent_panel_dispose;
  object_class->finalize = ms_agent_panel_finalize;
  object_class->get_property = ms_agent_panel_get_property;
  object_class->set_property = ms_agent_panel_set_property;

  properties[PROP_ACCOUNTS] =
    g_param_spec_object ("accounts", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DEVICES_DIR] =
    g_param_spec_string ("devices-dir", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACCOUNT] =
    g_param_spec_object ("account", NULL, NULL, MS_TYPE_AGENT_ACCOUNT,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_DEVICE] =
    g_param_spec_string ("device", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "agents.use-device", "s", use_device_action);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailscope/Mailscope/ms-agent-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, MsAgentPanel, account_dropdown);
  gtk_widget_class_bind_template_child (widget_class, MsAgentPanel, device_entry);
  gtk_widget_class_bind_template_child (widget_class, MsAgentPanel, device_menu_button);
  gtk_widget_class_bind_template_child (widget_class, MsAgentPanel, stack);
  gtk_widget_class_set_css_name (widget_class, "agentpanel");
}

static void
ms_agent_panel_init (MsAgentPanel *self)
{
  GtkExpression *expression;

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_add_css_class (GTK_WIDGET (self), "ms-agent-panel");
  expression = gtk_cclosure_expression_new (G_TYPE_STRING, NULL, 0, NULL,
                                            G_CALLBACK (account_label_cb), NULL, NULL);
  gtk_drop_down_set_expression (self->account_dropdown, expression);
  gtk_expression_unref (expression);
}

GtkWidget *
ms_agent_panel_new (GListModel *accounts,
                    const char *devices_dir)
{
  g_return_val_if_fail (accounts == NULL || G_IS_LIST_MODEL (accounts), NULL);

  return g_object_new (MS_TYPE_AGENT_PANEL,
                       "accounts", accounts,
                       "devices-dir", devices_dir,
                       NULL);
}
