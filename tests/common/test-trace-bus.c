/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>

#include "ms-trace-bus.h"
#include "ms-trace-recorder.h"

static void
collect_cb (const MsEvent *event,
            gpointer user_data)
{
  g_ptr_array_add (user_data, ms_event_ref ((MsEvent *) event));
}

static void
test_seq_per_server (void)
{
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);

  g_assert_false (ms_trace_bus_is_active (bus));
  ms_trace_bus_subscribe (bus, collect_cb, events, NULL);
  g_assert_true (ms_trace_bus_is_active (bus));

  ms_trace_bus_emit (bus, ms_event_new (MS_EVENT_COMMAND, "alpha.test"));
  ms_trace_bus_emit (bus, ms_event_new (MS_EVENT_COMMAND, "beta.test"));
  ms_trace_bus_emit (bus, ms_event_new (MS_EVENT_REPLY, "alpha.test"));

  g_assert_cmpuint (events->len, ==, 3);
  g_assert_cmpuint (((MsEvent *) events->pdata[0])->seq, ==, 1);
  g_assert_cmpuint (((MsEvent *) events->pdata[1])->seq, ==, 1);
  g_assert_cmpuint (((MsEvent *) events->pdata[2])->seq, ==, 2);
  g_assert_cmpint (((MsEvent *) events->pdata[2])->time_us, >=,
                   ((MsEvent *) events->pdata[0])->time_us);
}

static void
test_deliver_keeps_seq (void)
{
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  g_autoptr(GPtrArray) events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  MsEvent *event = ms_event_new (MS_EVENT_COMMAND, "alpha.test");

  g_test_summary ("An event read from elsewhere keeps the seq and time it came with, and "
                  "does not move the bus's own counter.");
  ms_trace_bus_subscribe (bus, collect_cb, events, NULL);
  event->seq = 41;
  event->time_us = 1795597200000501;
  ms_trace_bus_deliver (bus, event);
  ms_trace_bus_deliver (NULL, ms_event_new (MS_EVENT_COMMAND, "alpha.test"));
  ms_trace_bus_emit (bus, ms_event_new (MS_EVENT_REPLY, "alpha.test"));

  g_assert_cmpuint (events->len, ==, 2);
  g_assert_cmpuint (((MsEvent *) events->pdata[0])->seq, ==, 41);
  g_assert_cmpint (((MsEvent *) events->pdata[0])->time_us, ==, 1795597200000501);
  g_assert_cmpuint (((MsEvent *) events->pdata[1])->seq, ==, 1);
}

static guint unsubscribe_id;

static void
unsubscribe_self_cb (const MsEvent *event,
                     gpointer user_data)
{
  MsTraceBus *bus = user_data;
  ms_trace_bus_unsubscribe (bus, unsubscribe_id);
}

static void
count_destroy (gpointer user_data)
{
  (*(int *) user_data)++;
}

static void
count_cb (const MsEvent *event,
          gpointer user_data)
{
  (*(int *) user_data) += 100;
}

static void
test_unsubscribe_during_emit (void)
{
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  int counter = 0;

  unsubscribe_id = ms_trace_bus_subscribe (bus, unsubscribe_self_cb, bus, NULL);
  ms_trace_bus_subscribe (bus, count_cb, &counter, count_destroy);
  ms_trace_bus_emit (bus, ms_event_new (MS_EVENT_STATE, "a"));
  ms_trace_bus_emit (bus, ms_event_new (MS_EVENT_STATE, "a"));
  g_assert_cmpint (counter, ==, 200);
  g_clear_pointer (&bus, ms_trace_bus_unref);
  g_assert_cmpint (counter, ==, 201);
}

static void
test_mask_and_session_ids (void)
{
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  g_autofree char *a = ms_trace_bus_new_session_id (bus, "smtp");
  g_autofree char *b = ms_trace_bus_new_session_id (bus, "smtp");
  g_autofree char *c = ms_trace_bus_new_session_id (bus, "pop3");

  g_assert_cmpstr (a, ==, "smtp-1");
  g_assert_cmpstr (b, ==, "smtp-2");
  g_assert_cmpstr (c, ==, "pop3-1");
  g_assert_cmpstr (ms_trace_bus_mask (bus, "alicepw"), !=, "alicepw");
  ms_trace_bus_set_reveal_secrets (bus, TRUE);
  g_assert_cmpstr (ms_trace_bus_mask (bus, "alicepw"), ==, "alicepw");
}

static void
test_recorder (void)
{
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ms-trace-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "trace.jsonl", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  MsTraceRecorder *recorder;

  g_assert_no_error (error);
  recorder = ms_trace_recorder_new (bus, path, &error);
  g_assert_no_error (error);

  for (int i = 0; i < 3; i++)
    {
      MsEvent *event = ms_event_new (MS_EVENT_REPLY, "alpha.test");
      ms_event_set_string (event, "text", "250 2.0.0 OK");
      ms_event_set_int (event, "code", 250);
      ms_trace_bus_emit (bus, event);
    }
  g_assert_cmpuint (ms_trace_recorder_get_count (recorder), ==, 3);
  ms_trace_recorder_free (recorder);
  g_assert_false (ms_trace_bus_is_active (bus));

  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  g_assert_cmpstr (lines[3], ==, "");
  for (int i = 0; i < 3; i++)
    {
      g_autoptr(MsEvent) event = ms_event_from_json (lines[i], -1, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (event->seq, ==, (guint64) i + 1);
      g_assert_cmpint (ms_event_get_int (event, "code", 0), ==, 250);
    }
  g_unlink (path);
  g_rmdir (dir);
}

static void
test_recorder_bad_path (void)
{
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  g_autoptr(GError) error = NULL;
  MsTraceRecorder *recorder = ms_trace_recorder_new (bus, "/nonexistent/dir/trace.jsonl", &error);

  g_assert_null (recorder);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/common/trace-bus/seq-per-server", test_seq_per_server);
  g_test_add_func ("/common/trace-bus/deliver-keeps-seq", test_deliver_keeps_seq);
  g_test_add_func ("/common/trace-bus/unsubscribe-during-emit", test_unsubscribe_during_emit);
  g_test_add_func ("/common/trace-bus/mask-and-session-ids", test_mask_and_session_ids);
  g_test_add_func ("/common/trace-bus/recorder", test_recorder);
  g_test_add_func ("/common/trace-bus/recorder-bad-path", test_recorder_bad_path);
  return g_test_run ();
}
