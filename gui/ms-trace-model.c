/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include <string.h>

#include "ms-trace-model.h"

struct _MsTraceModel
{
  GObject parent_instance;

  GPtrArray *events;        /* MsEvent, owned; may be ahead of n_announced */
  guint n_announced;        /* what get_n_items() says */
  guint batch_source;

  MsTraceBus *bus;          /* owned */
  guint bus_subscription;
};

static void ms_trace_model_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MsTraceModel, ms_trace_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      ms_trace_model_list_model_init))

static GType
ms_trace_model_get_item_type (GListModel *model)
{
  return MS_TYPE_EVENT_ITEM;
}

static guint
ms_trace_model_get_n_items (GListModel *model)
{
  return MS_TRACE_MODEL (model)->n_announced;
}

static gpointer
ms_trace_model_get_item (GListModel *model,
                         guint position)
{
  MsTraceModel *self = MS_TRACE_MODEL (model);

  if (position >= self->n_announced)
    return NULL;
  /* Made on demand: a view asks only for the rows on screen. */
  return ms_event_item_new (g_ptr_array_index (self->events, position));
}

static void
ms_trace_model_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = ms_trace_model_get_item_type;
  iface->get_n_items = ms_trace_model_get_n_items;
  iface->get_item = ms_trace_model_get_item;
}

static void
ms_trace_model_dispose (GObject *object)
{
  MsTraceModel *self = MS_TRACE_MODEL (object);

  ms_trace_model_attach_bus (self, NULL);
  g_clear_handle_id (&self->batch_source, g_source_remove);
  G_OBJECT_CLASS (ms_trace_model_parent_class)->dispose (object);
}

static void
ms_trace_model_finalize (GObject *object)
{
  MsTraceModel *self = MS_TRACE_MODEL (object);

  g_clear_pointer (&self->events, g_ptr_array_unref);
  G_OBJECT_CLASS (ms_trace_model_parent_class)->finalize (object);
}

static void
ms_trace_model_class_init (MsTraceModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = ms_trace_model_dispose;
  object_class->finalize = ms_trace_model_finalize;
}

static void
ms_trace_model_init (MsTraceModel *self)
{
  self->events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
}

MsTraceModel *
ms_trace_model_new (void)
{
  return g_object_new (MS_TYPE_TRACE_MODEL, NULL);
}

void
ms_trace_model_flush (MsTraceModel *self)
{
  guint added;

  g_return_if_fail (MS_IS_TRACE_MODEL (self));

  g_clear_handle_id (&self->batch_source, g_source_remove);
  added = self->events->len - self->n_announced;
  if (added == 0)
    return;
  self->n_announced = self->events->len;
  g_list_model_items_changed (G_LIST_MODEL (self), self->n_announced - added, 0, added);
}

static gboolean
batch_cb (gpointer user_data)
{
  MsTraceModel *self = user_data;

  self->batch_source = 0;
  ms_trace_model_flush (self);
  return G_SOURCE_REMOVE;
}

void
ms_trace_model_append (MsTraceModel *self,
                       MsEvent *event)
{
  g_return_if_fail (MS_IS_TRACE_MODEL (self));
  g_return_if_fail (event != NULL);

  g_ptr_array_add (self->events, ms_event_ref (event));
  if (self->batch_source == 0)
    {
      self->batch_source = g_timeout_add (MS_TRACE_MODEL_BATCH_MS, batch_cb, self);
      g_source_set_name_by_id (self->batch_source, "[mailscope] trace model batch");
    }
}

gboolean
ms_trace_model_load_file (MsTraceModel *self,
                          const char *path,
                          GError **error)
{
  g_autoptr(GMappedFile) mapped = NULL;
  const char *data;
  gsize size;
  gsize offset = 0;
  guint64 line_number = 0;
  gboolean ok = TRUE;

  g_return_val_if_fail (MS_IS_TRACE_MODEL (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  /* Mapped rather than read line by line: the lines are parsed in place and
   * their length is known before anything is copied. */
  mapped = g_mapped_file_new (path, FALSE, error);
  if (mapped == NULL)
    return FALSE;
  data = g_mapped_file_get_contents (mapped);
  size = g_mapped_file_get_length (mapped);

  while (offset < size)
    {
      const char *line = data + offset;
      const char *end = memchr (line, '\n', size - offset);
      gsize len = end != NULL ? (gsize) (end - line) : size - offset;
      g_autoptr(GError) local_error = NULL;
      g_autoptr(MsEvent) event = NULL;

      line_number++;
      offset += len + 1;
      if (len > 0 && line[len - 1] == '\r')
        len--;
      if (len == 0)
        continue;
      if (len > MS_TRACE_MODEL_MAX_LINE)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s:%" G_GUINT64_FORMAT ": line longer than %u bytes",
                       path, line_number, MS_TRACE_MODEL_MAX_LINE);
          ok = FALSE;
          break;
        }
      event = ms_event_from_json (line, len, &local_error);
      if (event == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s:%" G_GUINT64_FORMAT ": %s", path, line_number, local_error->message);
          ok = FALSE;
          break;
        }
      g_ptr_array_add (self->events, g_steal_pointer (&event));
    }

  ms_trace_model_flush (self);
  return ok;
}

static void
bus_event_cb (const MsEvent *event,
              gpointer user_data)
{
  ms_trace_model_append (MS_TRACE_MODEL (user_data), (MsEvent *) event);
}

void
ms_trace_model_attach_bus (MsTraceModel *self,
                           MsTraceBus *bus)
{
  g_return_if_fail (MS_IS_TRACE_MODEL (self));

  if (self->bus != NULL)
    {
      ms_trace_bus_unsubscribe (self->bus, self->bus_subscription);
      self->bus_subscription = 0;
      g_clear_pointer (&self->bus, ms_trace_bus_unref);
    }
  if (bus == NULL)
    return;
  /* The subscription holds no reference on the model: dispose() detaches. */
  self->bus = ms_trace_bus_ref (bus);
  self->bus_subscription = ms_trace_bus_subscribe (bus, bus_event_cb, self, NULL);
}

guint
ms_trace_model_get_n_events (MsTraceModel *self)
{
  g_return_val_if_fail (MS_IS_TRACE_MODEL (self), 0);
  return self->n_announced;
}

MsEvent *
ms_trace_model_get_event (MsTraceModel *self,
                          guint position)
{
  g_return_val_if_fail (MS_IS_TRACE_MODEL (self), NULL);
  g_return_val_if_fail (position < self->n_announced, NULL);
  return g_ptr_array_index (self->events, position);
}

void
ms_trace_model_clear (MsTraceModel *self)
{
  guint removed;

  g_return_if_fail (MS_IS_TRACE_MODEL (self));

  g_clear_handle_id (&self->batch_source, g_source_remove);
  removed = self->n_announced;
  g_ptr_array_set_size (self->events, 0);
  self->n_announced = 0;
  if (removed > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);
}
