/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-trace-bus"

#include "config.h"

#include "ms-trace-bus.h"

typedef struct {
  guint id;
  MsTraceFunc func;
  gpointer user_data;
  GDestroyNotify destroy;
} Subscriber;

struct _MsTraceBus {
  gatomicrefcount ref_count;
  GArray *subscribers;        /* of Subscriber */
  GHashTable *next_seq;       /* server name -> guint64 *; gapless per server */
  GHashTable *session_counts; /* proto -> GUINT_TO_POINTER (last id) */
  guint next_subscriber_id;
  guint emitting;             /* nesting depth of ms_trace_bus_emit() */
  gboolean reveal_secrets;
};

MsTraceBus *
ms_trace_bus_new (void)
{
  MsTraceBus *bus = g_new0 (MsTraceBus, 1);

  g_atomic_ref_count_init (&bus->ref_count);
  bus->subscribers = g_array_new (FALSE, FALSE, sizeof (Subscriber));
  bus->next_seq = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  bus->session_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  bus->next_subscriber_id = 1;
  return bus;
}

MsTraceBus *
ms_trace_bus_ref (MsTraceBus *bus)
{
  g_return_val_if_fail (bus != NULL, NULL);
  g_atomic_ref_count_inc (&bus->ref_count);
  return bus;
}

static void
subscriber_clear (Subscriber *subscriber)
{
  if (subscriber->destroy != NULL)
    subscriber->destroy (subscriber->user_data);
}

void
ms_trace_bus_unref (MsTraceBus *bus)
{
  g_return_if_fail (bus != NULL);

  if (!g_atomic_ref_count_dec (&bus->ref_count))
    return;

  for (guint i = 0; i < bus->subscribers->len; i++)
    subscriber_clear (&g_array_index (bus->subscribers, Subscriber, i));
  g_array_unref (bus->subscribers);
  g_hash_table_unref (bus->next_seq);
  g_hash_table_unref (bus->session_counts);
  g_free (bus);
}

guint
ms_trace_bus_subscribe (MsTraceBus *bus,
                        MsTraceFunc func,
                        gpointer user_data,
                        GDestroyNotify destroy)
{
  Subscriber subscriber = { 0, func, user_data, destroy };

  g_return_val_if_fail (bus != NULL, 0);
  g_return_val_if_fail (func != NULL, 0);

  subscriber.id = bus->next_subscriber_id++;
  g_array_append_val (bus->subscribers, subscriber);
  return subscriber.id;
}

void
ms_trace_bus_unsubscribe (MsTraceBus *bus,
                          guint id)
{
  g_return_if_fail (bus != NULL);

  for (guint i = 0; i < bus->subscribers->len; i++)
    {
      Subscriber *subscriber = &g_array_index (bus->subscribers, Subscriber, i);

      if (subscriber->id != id)
        continue;

      /* Unsubscribing from inside a callback must not shift the array under
       * the loop in ms_trace_bus_emit(): mark it, and compact later. */
      if (bus->emitting > 0)
        {
          Subscriber dead = *subscriber;

          subscriber->func = NULL;
          subscriber->destroy = NULL;
          subscriber_clear (&dead);
        }
      else
        {
          Subscriber dead = *subscriber;

          g_array_remove_index (bus->subscribers, i);
          subscriber_clear (&dead);
        }
      return;
    }
  g_warning ("no trace subscriber with id %u", id);
}

gboolean
ms_trace_bus_is_active (MsTraceBus *bus)
{
  return bus != NULL && bus->subscribers->len > 0;
}

static void
compact_subscribers (MsTraceBus *bus)
{
  for (guint i = bus->subscribers->len; i > 0; i--)
    {
      if (g_array_index (bus->subscribers, Subscriber, i - 1).func == NULL)
        g_array_remove_index (bus->subscribers, i - 1);
    }
}

/* Gives `event` to every subscriber and drops the caller's reference. */
static void
deliver (MsTraceBus *bus,
         MsEvent *event)
{
  bus->emitting++;
  /* Subscribers added during delivery see the next event, not this one. */
  for (guint i = 0, n = bus->subscribers->len; i < n; i++)
    {
      Subscriber *subscriber = &g_array_index (bus->subscribers, Subscriber, i);

      if (subscriber->func != NULL)
        subscriber->func (event, subscriber->user_data);
    }
  if (--bus->emitting == 0)
    compact_subscribers (bus);
  ms_event_unref (event);
}

void
ms_trace_bus_emit (MsTraceBus *bus,
                   MsEvent *event)
{
  const char *server;
  guint64 *next;

  g_return_if_fail (event != NULL);

  if (bus == NULL)
    {
      ms_event_unref (event);
      return;
    }

  server = event->server != NULL ? event->server : "";
  next = g_hash_table_lookup (bus->next_seq, server);
  if (next == NULL)
    {
      next = g_new (guint64, 1);
      *next = 1;
      g_hash_table_insert (bus->next_seq, g_strdup (server), next);
    }
  event->seq = (*next)++;
  event->time_us = g_get_real_time ();
  deliver (bus, event);
}

void
ms_trace_bus_deliver (MsTraceBus *bus,
                      MsEvent *event)
{
  g_return_if_fail (event != NULL);

  if (bus == NULL)
    {
      ms_event_unref (event);
      return;
    }
  deliver (bus, event);
}

void
ms_trace_bus_set_reveal_secrets (MsTraceBus *bus,
                                 gboolean reveal)
{
  g_return_if_fail (bus != NULL);
  bus->reveal_secrets = !!reveal;
}

gboolean
ms_trace_bus_get_reveal_secrets (MsTraceBus *bus)
{
  return bus != NULL && bus->reveal_secrets;
}

const char *
ms_trace_bus_mask (MsTraceBus *bus,
                   const char *secret)
{
  if (ms_trace_bus_get_reveal_secrets (bus))
    return secret;
  /* A fixed mask: its length tells nothing about the secret's. */
  return "********";
}

char *
ms_trace_bus_new_session_id (MsTraceBus *bus,
                             const char *proto)
{
  guint last;

  g_return_val_if_fail (bus != NULL, NULL);
  g_return_val_if_fail (proto != NULL, NULL);

  last = GPOINTER_TO_UINT (g_hash_table_lookup (bus->session_counts, proto)) + 1;
  g_hash_table_insert (bus->session_counts, g_strdup (proto), GUINT_TO_POINTER (last));
  return g_strdup_printf ("%s-%u", proto, last);
}
