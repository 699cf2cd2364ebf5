/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include "ms-session-model.h"

/* ---- MsSessionItem ---- */

enum {
  PROP_0,
  /* Strings first, in the order of MsSessionItem.strings. */
  PROP_SERVER,
  PROP_SESSION,
  PROP_PROTO,
  PROP_LISTENER,
  PROP_PEER,
  PROP_LOCAL,
  PROP_USER,
  PROP_STATE,
  PROP_CLOSE_REASON,
  N_STRING_PROPS,
  PROP_OPEN = N_STRING_PROPS,
  PROP_TLS,
  PROP_FIRST_SEQ,
  PROP_LAST_SEQ,
  PROP_N_COMMANDS,
  N_PROPS
};

#define STRING_INDEX(prop) ((prop) - PROP_SERVER)

struct _MsSessionItem
{
  GObject parent_instance;
  char *strings[N_STRING_PROPS - PROP_SERVER];
  gboolean open;
  gboolean tls;
  guint64 first_seq;
  guint64 last_seq;
  guint n_commands;
};

G_DEFINE_FINAL_TYPE (MsSessionItem, ms_session_item, G_TYPE_OBJECT)

static GParamSpec *item_properties[N_PROPS];

static void
ms_session_item_finalize (GObject *object)
{
  MsSessionItem *self = MS_SESSION_ITEM (object);

  for (guint i = 0; i < G_N_ELEMENTS (self->strings); i++)
    g_clear_pointer (&self->strings[i], g_free);
  G_OBJECT_CLASS (ms_session_item_parent_class)->finalize (object);
}

static void
ms_session_item_get_property (GObject *object,
                              guint prop_id,
                              GValue *value,
                              GParamSpec *pspec)
{
  MsSessionItem *self = MS_SESSION_ITEM (object);

  if (prop_id >= PROP_SERVER && prop_id < N_STRING_PROPS)
    {
      g_value_set_string (value, self->strings[STRING_INDEX (prop_id)]);
      return;
    }
  switch (prop_id)
    {
    case PROP_OPEN:
      g_value_set_boolean (value, self->open);
      break;
    case PROP_TLS:
      g_value_set_boolean (value, self->tls);
      break;
    case PROP_FIRST_SEQ:
      g_value_set_uint64 (value, self->first_seq);
      break;
    case PROP_LAST_SEQ:
      g_value_set_uint64 (value, self->last_seq);
      break;
    case PROP_N_COMMANDS:
      g_value_set_uint (value, self->n_commands);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_session_item_class_init (MsSessionItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  static const char *const string_names[] = {
    "server", "session", "proto", "listener", "peer", "local", "user", "state", "close-reason",
  };
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  G_STATIC_ASSERT (G_N_ELEMENTS (string_names) == N_STRING_PROPS - PROP_SERVER);

  object_class->finalize = ms_session_item_finalize;
  object_class->get_property = ms_session_item_get_property;

  for (guint i = 0; i < G_N_ELEMENTS (string_names); i++)
    item_properties[PROP_SERVER + i] = g_param_spec_string (string_names[i], NULL, NULL, NULL,
                                                            flags);
  item_properties[PROP_OPEN] = g_param_spec_boolean ("open", NULL, NULL, FALSE, flags);
  item_properties[PROP_TLS] = g_param_spec_boolean ("tls", NULL, NULL, FALSE, flags);
  item_properties[PROP_FIRST_SEQ] =
    g_param_spec_uint64 ("first-seq", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  item_properties[PROP_LAST_SEQ] =
    g_param_spec_uint64 ("last-seq", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  item_properties[PROP_N_COMMANDS] =
    g_param_spec_uint ("n-commands", NULL, NULL, 0, G_MAXUINT, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, item_properties);
}

static void
ms_session_item_init (MsSessionItem *self)
{
}

/* Sets a string property and notifies when it changed; NULL keeps the old value. */
static void
item_set_string (MsSessionItem *self,
                 guint prop_id,
                 const char *value)
{
  char **slot = &self->strings[STRING_INDEX (prop_id)];

  if (value == NULL || g_strcmp0 (*slot, value) == 0)
    return;
  g_free (*slot);
  *slot = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), item_properties[prop_id]);
}

static void
item_set_bool (MsSessionItem *self,
               guint prop_id,
               gboolean *slot,
               gboolean value)
{
  if (*slot == !!value)
    return;
  *slot = !!value;
  g_object_notify_by_pspec (G_OBJECT (self), item_properties[prop_id]);
}

#define DEFINE_STRING_GETTER(name, prop) \
  const char * \
  ms_session_item_get_##name (MsSessionItem *self) \
  { \
    g_return_val_if_fail (MS_IS_SESSION_ITEM (self), NULL); \
    return self->strings[STRING_INDEX (prop)]; \
  }

DEFINE_STRING_GETTER (server, PROP_SERVER)
DEFINE_STRING_GETTER (session, PROP_SESSION)
DEFINE_STRING_GETTER (proto, PROP_PROTO)
DEFINE_STRING_GETTER (listener, PROP_LISTENER)
DEFINE_STRING_GETTER (peer, PROP_PEER)
DEFINE_STRING_GETTER (local, PROP_LOCAL)
DEFINE_STRING_GETTER (user, PROP_USER)
DEFINE_STRING_GETTER (state, PROP_STATE)
DEFINE_STRING_GETTER (close_reason, PROP_CLOSE_REASON)

gboolean
ms_session_item_get_open (MsSessionItem *self)
{
  g_return_val_if_fail (MS_IS_SESSION_ITEM (self), FALSE);
  return self->open;
}

gboolean
ms_session_item_get_tls (MsSessionItem *self)
{
  g_return_val_if_fail (MS_IS_SESSION_ITEM (self), FALSE);
  return self->tls;
}

guint64
ms_session_item_get_first_seq (MsSessionItem *self)
{
  g_return_val_if_fail (MS_IS_SESSION_ITEM (self), 0);
  return self->first_seq;
}

guint64
ms_session_item_get_last_seq (MsSessionItem *self)
{
  g_return_val_if_fail (MS_IS_SESSION_ITEM (self), 0);
  return self->last_seq;
}

guint
ms_session_item_get_n_commands (MsSessionItem *self)
{
  g_return_val_if_fail (MS_IS_SESSION_ITEM (self), 0);
  return self->n_commands;
}

/* Folds one event of this session into the item, notifying what changed. */
static void
session_item_apply (MsSessionItem *self,
                    const MsEvent *event)
{
  GObject *object = G_OBJECT (self);

  g_object_freeze_notify (object);
  item_set_string (self, PROP_PROTO, ms_event_get_string (event, "proto"));
  if (event->seq > self->last_seq)
    {
      self->last_seq = event->seq;
      g_object_notify_by_pspec (object, item_properties[PROP_LAST_SEQ]);
    }

  switch (event->kind)
    {
    case MS_EVENT_SESSION_OPEN:
      item_set_string (self, PROP_LISTENER, ms_event_get_string (event, "listener"));
      item_set_string (self, PROP_PEER, ms_event_get_string (event, "peer"));
      item_set_string (self, PROP_LOCAL, ms_event_get_string (event, "local"));
      item_set_bool (self, PROP_TLS, &self->tls, ms_event_get_bool (event, "tls", FALSE));
      item_set_bool (self, PROP_OPEN, &self->open, TRUE);
      break;
    case MS_EVENT_SESSION_CLOSE:
      item_set_string (self, PROP_CLOSE_REASON, ms_event_get_string (event, "reason"));
      item_set_string (self, PROP_STATE, ms_event_get_string (event, "state"));
      item_set_bool (self, PROP_OPEN, &self->open, FALSE);
      break;
    case MS_EVENT_STATE:
      item_set_string (self, PROP_STATE, ms_event_get_string (event, "to"));
      break;
    case MS_EVENT_AUTH:
      if (ms_event_get_bool (event, "success", FALSE))
        item_set_string (self, PROP_USER, ms_event_get_string (event, "user"));
      break;
    case MS_EVENT_TLS:
      if (ms_event_get_bool (event, "success", FALSE))
        item_set_bool (self, PROP_TLS, &self->tls, TRUE);
      break;
    case MS_EVENT_COMMAND:
      /* The lines after an IMAP literal belong to the command before them. */
      if (!ms_event_get_bool (event, "continuation", FALSE))
        {
          self->n_commands++;
          g_object_notify_by_pspec (object, item_properties[PROP_N_COMMANDS]);
        }
      break;
    default:
      break;
    }
  g_object_thaw_notify (object);
}

/* ---- MsSessionModel ---- */

struct _MsSessionModel
{
  GObject parent_instance;
  GPtrArray *items;         /* MsSessionItem, owned, in list order */
  GHashTable *by_key;       /* "server\nsession" -> MsSessionItem (borrowed from items) */
};

static void ms_session_model_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MsSessionModel, ms_session_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      ms_session_model_list_model_init))

static GType
ms_session_model_get_item_type (GListModel *model)
{
  return MS_TYPE_SESSION_ITEM;
}

static guint
ms_session_model_get_n_items (GListModel *model)
{
  return MS_SESSION_MODEL (model)->items->len;
}

static gpointer
ms_session_model_get_item (GListModel *model,
                           guint position)
{
  MsSessionModel *self = MS_SESSION_MODEL (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
ms_session_model_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = ms_session_model_get_item_type;
  iface->get_n_items = ms_session_model_get_n_items;
  iface->get_item = ms_session_model_get_item;
}

static void
ms_session_model_finalize (GObject *object)
{
  MsSessionModel *self = MS_SESSION_MODEL (object);

  g_clear_pointer (&self->by_key, g_hash_table_unref);
  g_clear_pointer (&self->items, g_ptr_array_unref);
  G_OBJECT_CLASS (ms_session_model_parent_class)->finalize (object);
}

static void
ms_session_model_class_init (MsSessionModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ms_session_model_finalize;
}

static void
ms_session_model_init (MsSessionModel *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
  self->by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

MsSessionModel *
ms_session_model_new (void)
{
  return g_object_new (MS_TYPE_SESSION_MODEL, NULL);
}

static char *
session_key (const char *server,
             const char *session)
{
  return g_strconcat (server != NULL ? server : "", "\n", session, NULL);
}

MsSessionItem *
ms_session_model_lookup (MsSessionModel *self,
                         const char *server,
                         const char *session)
{
  g_autofree char *key = NULL;

  g_return_val_if_fail (MS_IS_SESSION_MODEL (self), NULL);
  g_return_val_if_fail (session != NULL, NULL);

  key = session_key (server, session);
  return g_hash_table_lookup (self->by_key, key);
}

/* Where a new session goes: after every session of an earlier server, and
 * after the sessions of its server that began before it. New sessions are
 * usually the last of their server, so scan from the end. */
static guint
insert_position (MsSessionModel *self,
                 const char *server,
                 guint64 first_seq)
{
  guint position = self->items->len;

  while (position > 0)
    {
      MsSessionItem *before = g_ptr_array_index (self->items, position - 1);
      int order = g_strcmp0 (ms_session_item_get_server (before), server);

      if (order < 0 || (order == 0 && before->first_seq <= first_seq))
        break;
      position--;
    }
  return position;
}

void
ms_session_model_apply (MsSessionModel *self,
                        const MsEvent *event)
{
  const char *session;
  MsSessionItem *item;

  g_return_if_fail (MS_IS_SESSION_MODEL (self));
  g_return_if_fail (event != NULL);

  session = ms_event_get_string (event, "session");
  if (session == NULL)
    return;

  item = ms_session_model_lookup (self, event->server, session);
  if (item == NULL)
    {
      guint position;

      /* A trace may begin in the middle of a session: its first event, of
       * whatever kind, makes the row. */
      item = g_object_new (MS_TYPE_SESSION_ITEM, NULL);
      item->strings[STRING_INDEX (PROP_SERVER)] = g_strdup (event->server);
      item->strings[STRING_INDEX (PROP_SESSION)] = g_strdup (session);
      item->first_seq = event->seq;
      item->open = TRUE;
      position = insert_position (self, event->server, event->seq);
      g_ptr_array_insert (self->items, position, item);
      g_hash_table_insert (self->by_key, session_key (event->server, session), item);
      session_item_apply (item, event);
      g_list_model_items_changed (G_LIST_MODEL (self), position, 0, 1);
      return;
    }
  session_item_apply (item, event);
}

void
ms_session_model_reset (MsSessionModel *self)
{
  guint removed;

  g_return_if_fail (MS_IS_SESSION_MODEL (self));

  removed = self->items->len;
  g_hash_table_remove_all (self->by_key);
  g_ptr_array_set_size (self->items, 0);
  if (removed > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);
}
