/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-agent-account"

#include "config.h"

#include <openssl/crypto.h>
#include <string.h>

#include "ms-agent-account.h"

struct _MsAgentAccount
{
  GObject parent_instance;

  MsTraceBus *bus;            /* owned ref; may be NULL */
  char *server;
  char *host;
  guint16 submission_port;
  guint16 pop3_port;
  guint16 imap_port;
  char *user;
  char *password;
  char *address;
  char *device;
};

G_DEFINE_FINAL_TYPE (MsAgentAccount, ms_agent_account, G_TYPE_OBJECT)

static void
ms_agent_account_finalize (GObject *object)
{
  MsAgentAccount *self = MS_AGENT_ACCOUNT (object);

  g_clear_pointer (&self->bus, ms_trace_bus_unref);
  g_free (self->server);
  g_free (self->host);
  g_free (self->user);
  /* A demo password, but wiped all the same, like every secret. */
  if (self->password != NULL)
    OPENSSL_cleanse (self->password, strlen (self->password));
  g_free (self->password);
  g_free (self->address);
  g_free (self->device);
  G_OBJECT_CLASS (ms_agent_account_parent_class)->finalize (object);
}

static void
ms_agent_account_class_init (MsAgentAccountClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ms_agent_account_finalize;
}

static void
ms_agent_account_init (MsAgentAccount *self)
{
}

MsAgentAccount *
ms_agent_account_new (MsTraceBus *bus,
                      const char *server,
                      const char *host,
                      guint16 submission_port,
                      guint16 pop3_port,
                      guint16 imap_port,
                      const char *user,
                      const char *password,
                      const char *device)
{
  MsAgentAccount *self;

  g_return_val_if_fail (server != NULL && *server != '\0', NULL);
  g_return_val_if_fail (user != NULL && *user != '\0', NULL);
  g_return_val_if_fail (password != NULL, NULL);

  self = g_object_new (MS_TYPE_AGENT_ACCOUNT, NULL);
  self->bus = bus != NULL ? ms_trace_bus_ref (bus) : NULL;
  self->server = g_strdup (server);
  self->host = g_strdup (host != NULL ? host : "127.0.0.1");
  self->submission_port = submission_port;
  self->pop3_port = pop3_port;
  self->imap_port = imap_port;
  self->user = g_strdup (user);
  self->password = g_strdup (password);
  self->address = g_strdup_printf ("%s@%s", user, server);
  self->device = device != NULL && *device != '\0' ? g_strdup (device)
                                                   : g_strdup_printf ("%s's device", user);
  return self;
}

MsTraceBus *
ms_agent_account_get_bus (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), NULL);
  return self->bus;
}

const char *
ms_agent_account_get_server (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), NULL);
  return self->server;
}

const char *
ms_agent_account_get_host (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), NULL);
  return self->host;
}

guint16
ms_agent_account_get_submission_port (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), 0);
  return self->submission_port;
}

guint16
ms_agent_account_get_pop3_port (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), 0);
  return self->pop3_port;
}

guint16
ms_agent_account_get_imap_port (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), 0);
  return self->imap_port;
}

const char *
ms_agent_account_get_user (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), NULL);
  return self->user;
}

const char *
ms_agent_account_get_password (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), NULL);
  return self->password;
}

const char *
ms_agent_account_get_address (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), NULL);
  return self->address;
}

const char *
ms_agent_account_get_device (MsAgentAccount *self)
{
  g_return_val_if_fail (MS_IS_AGENT_ACCOUNT (self), NULL);
  return self->device;
}
