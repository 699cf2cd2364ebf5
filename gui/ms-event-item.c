/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include "ms-event-item.h"

struct _MsEventItem
{
  GObject parent_instance;
  MsEvent *event;
};

G_DEFINE_FINAL_TYPE (MsEventItem, ms_event_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_SEQ,
  PROP_KIND,
  PROP_SERVER,
  PROP_SESSION,
  PROP_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
ms_event_item_finalize (GObject *object)
{
  MsEventItem *self = MS_EVENT_ITEM (object);

  g_clear_pointer (&self->event, ms_event_unref);
  G_OBJECT_CLASS (ms_event_item_parent_class)->finalize (object);
}

static void
ms_event_item_get_property (GObject *object,
                            guint prop_id,
                            GValue *value,
                            GParamSpec *pspec)
{
  MsEventItem *self = MS_EVENT_ITEM (object);

  switch (prop_id)
    {
    case PROP_SEQ:
      g_value_set_uint64 (value, ms_event_item_get_seq (self));
      break;
    case PROP_KIND:
      g_value_set_string (value, ms_event_item_get_kind (self));
      break;
    case PROP_SERVER:
      g_value_set_string (value, ms_event_item_get_server (self));
      break;
    case PROP_SESSION:
      g_value_set_string (value, ms_event_item_get_session (self));
      break;
    case PROP_TEXT:
      g_value_set_string (value, ms_event_item_get_text (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_event_item_class_init (MsEventItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ms_event_item_finalize;
  object_class->get_property = ms_event_item_get_property;

  properties[PROP_SEQ] =
    g_param_spec_uint64 ("seq", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_KIND] =
    g_param_spec_string ("kind", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SERVER] =
    g_param_spec_string ("server", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_SESSION] =
    g_param_spec_string ("session", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_TEXT] =
    g_param_spec_string ("text", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
ms_event_item_init (MsEventItem *self)
{
}

MsEventItem *
ms_event_item_new (MsEvent *event)
{
  MsEventItem *self;

  g_return_val_if_fail (event != NULL, NULL);

  self = g_object_new (MS_TYPE_EVENT_ITEM, NULL);
  self->event = ms_event_ref (event);
  return self;
}

MsEvent *
ms_event_item_get_event (MsEventItem *self)
{
  g_return_val_if_fail (MS_IS_EVENT_ITEM (self), NULL);
  return self->event;
}

guint64
ms_event_item_get_seq (MsEventItem *self)
{
  g_return_val_if_fail (MS_IS_EVENT_ITEM (self), 0);
  return self->event->seq;
}

const char *
ms_event_item_get_kind (MsEventItem *self)
{
  g_return_val_if_fail (MS_IS_EVENT_ITEM (self), NULL);
  return ms_event_kind_to_string (self->event->kind);
}

const char *
ms_event_item_get_server (MsEventItem *self)
{
  g_return_val_if_fail (MS_IS_EVENT_ITEM (self), NULL);
  return self->event->server;
}

const char *
ms_event_item_get_session (MsEventItem *self)
{
  g_return_val_if_fail (MS_IS_EVENT_ITEM (self), NULL);
  return ms_event_get_string (self->event, "session");
}

const char *
ms_event_item_get_text (MsEventItem *self)
{
  g_return_val_if_fail (MS_IS_EVENT_ITEM (self), NULL);
  return ms_event_get_string (self->event, "text");
}
