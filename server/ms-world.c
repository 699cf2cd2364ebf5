/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-world"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ms-world.h"

/* DESIGN.md "The demo world": ports keep the standard number in their last
 * three digits. */
const MsDemoServer ms_demo_servers[2] = {
  { "alpha.test", { 2525, 2587, 2465, 2110, 2995, 2143, 2993 }, { "alice", "carol", NULL } },
  { "beta.test", { 3525, 3587, 3465, 3110, 3995, 3143, 3993 }, { "bob", "dave", NULL } },
};

struct _MsWorld {
  MsTraceBus *bus;            /* owned ref; may be NULL */
  GPtrArray *servers;         /* of MsServer (owned) */
};

MsWorld *
ms_world_new (MsTraceBus *bus)
{
  MsWorld *world = g_new0 (MsWorld, 1);

  world->bus = bus != NULL ? ms_trace_bus_ref (bus) : NULL;
  world->servers = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_server_free);
  return world;
}

void
ms_world_add_server (MsWorld *world,
                     MsServer *server)
{
  g_return_if_fail (world != NULL && server != NULL);
  g_ptr_array_add (world->servers, server);
}

GPtrArray *
ms_world_get_servers (MsWorld *world)
{
  g_return_val_if_fail (world != NULL, NULL);
  return world->servers;
}

static char *
demo_password (const char *user)
{
  return g_strconcat (user, "pw", NULL);
}

/* A few messages so the mailboxes are not empty in the first lecture. */
static gboolean
seed (MsServer *server,
      const MsDemoServer *demo,
      GError **error)
{
  MsStore *store = ms_server_get_store (server);
  const char *user = demo->users[0];
  g_autofree char *message = g_strdup_printf (
    "From: Mailscope <postmaster@%s>\r\n"
    "To: %s@%s\r\n"
    "Subject: Welcome to Mailscope\r\n"
    "Date: Sun, 22 Nov 2026 09:00:00 +0000\r\n"
    "Message-ID: <welcome.%s@%s>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "This message was put in your INBOX when the demo world was made.\r\n"
    "Its file is in mail/%s/new/ until a client reads it.\r\n",
    demo->domain, user, demo->domain, user, demo->domain, user);

  /* The folders IMAP clients look for (RFC 6154 SPECIAL-USE), subscribed
   * so that clients that show only subscribed folders show them. */
  static const char * const folders[] = { "Work", "Sent", "Drafts", "Trash", "Junk" };

  if (!ms_store_deliver (store, user, "INBOX", (const guint8 *) message, strlen (message),
                         NULL, 0, NULL, error))
    return FALSE;
  for (guint i = 0; demo->users[i] != NULL; i++)
    {
      if (!ms_store_ensure_user (store, demo->users[i], error) ||
          !ms_store_set_subscribed (store, demo->users[i], "INBOX", TRUE, error))
        return FALSE;
      for (guint j = 0; j < G_N_ELEMENTS (folders); j++)
        {
          if (!ms_store_create_folder (store, demo->users[i], folders[j], error) ||
              !ms_store_set_subscribed (store, demo->users[i], folders[j], TRUE, error))
            return FALSE;
        }
    }
  return TRUE;
}

MsWorld *
ms_world_new_demo (const char *data_dir,
                   const char *listen_address,
                   MsTraceBus *bus,
                   GError **error)
{
  g_autoptr(MsWorld) world = ms_world_new (bus);

  g_return_val_if_fail (data_dir != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (ms_demo_servers); i++)
    {
      const MsDemoServer *demo = &ms_demo_servers[i];
      g_autofree char *server_dir = g_build_filename (data_dir, demo->domain, NULL);
      g_autofree char *seeded_marker = g_build_filename (server_dir, ".seeded", NULL);
      MsServerConfig config = { 0 };
      MsServer *server;

      config.domain = demo->domain;
      config.data_dir = server_dir;
      config.listen_address = listen_address;
      memcpy (config.ports, demo->ports, sizeof config.ports);
      server = ms_server_new (&config, bus, error);
      if (server == NULL)
        return NULL;
      ms_world_add_server (world, server);

      for (guint u = 0; demo->users[u] != NULL; u++)
        {
          g_autofree char *password = demo_password (demo->users[u]);

          /* Keep a password somebody changed; make missing users. */
          if (!ms_auth_has_user (ms_server_get_auth (server), demo->users[u]) &&
              !ms_server_set_password (server, demo->users[u], password, error))
            return NULL;
        }

      if (!g_file_test (seeded_marker, G_FILE_TEST_EXISTS))
        {
          if (!seed (server, demo, error) ||
              !g_file_set_contents (seeded_marker, "", 0, error))
            return NULL;
        }
    }

  /* The routing table stands in for DNS MX records. */
  for (guint i = 0; i < G_N_ELEMENTS (ms_demo_servers); i++)
    {
      const MsDemoServer *other = &ms_demo_servers[1 - i];

      ms_server_add_route (world->servers->pdata[i], other->domain,
                           listen_address != NULL ? listen_address : "127.0.0.1",
                           other->ports[MS_LISTENER_SMTP]);
    }
  return g_steal_pointer (&world);
}

gboolean
ms_world_start (MsWorld *world,
                GError **error)
{
  g_return_val_if_fail (world != NULL, FALSE);

  for (guint i = 0; i < world->servers->len; i++)
    {
      if (!ms_server_start (world->servers->pdata[i], error))
        {
          ms_world_stop (world);
          return FALSE;
        }
    }
  return TRUE;
}

void
ms_world_stop (MsWorld *world)
{
  g_return_if_fail (world != NULL);

  for (guint i = 0; i < world->servers->len; i++)
    ms_server_stop (world->servers->pdata[i]);
}

void
ms_world_free (MsWorld *world)
{
  if (world == NULL)
    return;
  g_ptr_array_unref (world->servers);
  g_clear_pointer (&world->bus, ms_trace_bus_unref);
  g_free (world);
}

char *
ms_world_describe (MsWorld *world,
                   gboolean with_demo_passwords)
{
  GString *text = g_string_new (NULL);

  g_return_val_if_fail (world != NULL, NULL);

  for (guint i = 0; i < world->servers->len; i++)
    {
      MsServer *server = world->servers->pdata[i];
      g_auto(GStrv) users = ms_auth_list_users (ms_server_get_auth (server));

      g_string_append_printf (text, "%s  (data in %s)\n", ms_server_get_domain (server),
                              ms_server_get_data_dir (server));
      for (guint k = 0; k < MS_N_LISTENERS; k++)
        {
          guint16 port = ms_server_get_port (server, k);

          if (port != 0)
            g_string_append_printf (text, "  %-11s 127.0.0.1:%u\n",
                                    ms_listener_kind_to_string (k), port);
        }
      g_string_append (text, "  users:     ");
      for (guint u = 0; users != NULL && users[u] != NULL; u++)
        {
          g_autofree char *password = demo_password (users[u]);

          g_string_append_printf (text, "%s%s@%s", u > 0 ? ", " : "", users[u],
                                  ms_server_get_domain (server));
          if (with_demo_passwords)
            g_string_append_printf (text, " (password %s)", password);
        }
      g_string_append (text, users == NULL || users[0] == NULL ? "(none)\n" : "\n");
    }
  return g_string_free (text, FALSE);
}
