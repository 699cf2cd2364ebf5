/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-trace-recorder"

#include "config.h"

#include "ms-trace-recorder.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdio.h>

#define FLUSH_INTERVAL_MS 200

struct _MsTraceRecorder {
  MsTraceBus *bus;
  guint subscription;
  FILE *file;
  char *path;
  guint flush_source;
  guint64 count;
  gboolean write_failed;
};

static gboolean
flush_cb (gpointer user_data)
{
  MsTraceRecorder *recorder = user_data;
  g_autoptr(GError) error = NULL;

  recorder->flush_source = 0;
  if (!ms_trace_recorder_flush (recorder, &error))
    g_warning ("%s", error->message);
  return G_SOURCE_REMOVE;
}

static void
record_cb (const MsEvent *event,
           gpointer user_data)
{
  MsTraceRecorder *recorder = user_data;
  g_autofree char *line = ms_event_to_json (event);

  /* stdio buffers the lines; a timer writes them out, so a busy server makes
   * one write(2) per batch rather than one per event. */
  if (fputs (line, recorder->file) == EOF || fputc ('\n', recorder->file) == EOF)
    {
      if (!recorder->write_failed)
        g_warning ("cannot write trace to %s: %s", recorder->path, g_strerror (errno));
      recorder->write_failed = TRUE;
      return;
    }
  recorder->count++;
  if (recorder->flush_source == 0)
    recorder->flush_source = g_timeout_add (FLUSH_INTERVAL_MS, flush_cb, recorder);
}

MsTraceRecorder *
ms_trace_recorder_new (MsTraceBus *bus,
                       const char *path,
                       GError **error)
{
  MsTraceRecorder *recorder;
  FILE *file;

  g_return_val_if_fail (bus != NULL, NULL);
  g_return_val_if_fail (path != NULL, NULL);

  file = g_fopen (path, "we");
  if (file == NULL)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot create trace file %s: %s", path, g_strerror (saved_errno));
      return NULL;
    }

  recorder = g_new0 (MsTraceRecorder, 1);
  recorder->bus = ms_trace_bus_ref (bus);
  recorder->file = file;
  recorder->path = g_strdup (path);
  recorder->subscription = ms_trace_bus_subscribe (bus, record_cb, recorder, NULL);
  return recorder;
}

gboolean
ms_trace_recorder_flush (MsTraceRecorder *recorder,
                         GError **error)
{
  g_return_val_if_fail (recorder != NULL, FALSE);

  if (fflush (recorder->file) != 0 || recorder->write_failed)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot write trace to %s: %s", recorder->path, g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

guint64
ms_trace_recorder_get_count (MsTraceRecorder *recorder)
{
  g_return_val_if_fail (recorder != NULL, 0);
  return recorder->count;
}

void
ms_trace_recorder_free (MsTraceRecorder *recorder)
{
  if (recorder == NULL)
    return;

  ms_trace_bus_unsubscribe (recorder->bus, recorder->subscription);
  g_clear_handle_id (&recorder->flush_source, g_source_remove);
  if (fclose (recorder->file) != 0)
    g_warning ("cannot write trace to %s: %s", recorder->path, g_strerror (errno));
  ms_trace_bus_unref (recorder->bus);
  g_free (recorder->path);
  g_free (recorder);
}
