/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-trace-model"

#include "config.h"

#include <time.h>

/* Sanitizer builds run several times slower: the figures that count are the
 * normal build's, asserted there. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ms-trace-model.h"

#define N_BIG 100000

static guint
count_lines (const char *path)
{
  g_autofree char *contents = NULL;
  guint n = 0;

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  for (const char *p = contents; *p != '\0'; p++)
    n += *p == '\n';
  return n;
}

static void
count_changes_cb (GListModel *model,
                  guint position,
                  guint removed,
                  guint added,
                  gpointer user_data)
{
  guint *count = user_data;

  (*count)++;
}

static void
test_load (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", "lecture.jsonl", NULL);
  g_autoptr(MsTraceModel) model = ms_trace_model_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(MsEventItem) first = NULL;
  g_autofree char *kind = NULL;
  guint changes = 0;
  guint64 seq = 0;

  g_signal_connect (model, "items-changed", G_CALLBACK (count_changes_cb), &changes);
  g_assert_true (ms_trace_model_load_file (model, path, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, count_lines (path));
  g_assert_cmpuint (changes, ==, 1);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (model)) == MS_TYPE_EVENT_ITEM);

  first = g_list_model_get_item (G_LIST_MODEL (model), 0);
  g_object_get (first, "kind", &kind, "seq", &seq, NULL);
  g_assert_cmpstr (kind, ==, ms_event_kind_to_string (ms_trace_model_get_event (model, 0)->kind));
  g_assert_cmpuint (seq, ==, ms_trace_model_get_event (model, 0)->seq);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (model), count_lines (path)));

  /* The text and session of a command row are the event's. */
  for (guint i = 0; i < ms_trace_model_get_n_events (model); i++)
    {
      g_autoptr(MsEventItem) item = g_list_model_get_item (G_LIST_MODEL (model), i);

      if (ms_trace_model_get_event (model, i)->kind != MS_EVENT_COMMAND)
        continue;
      g_assert_cmpstr (ms_event_item_get_text (item), ==, "EHLO laptop.alpha.test");
      g_assert_cmpstr (ms_event_item_get_session (item), ==, "smtp-1");
      g_assert_cmpstr (ms_event_item_get_server (item), ==, "alpha.test");
      break;
    }
}

static char *
write_temp (const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = NULL;
  int fd = g_file_open_tmp ("ms-trace-XXXXXX.jsonl", &path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  return path;
}

static void
test_bad_line (void)
{
  static const struct {
    const char *third_line;
    const char *message;
  } cases[] = {
    { "{not json", ":4:" },
    { "{\"v\":99,\"seq\":3,\"time\":\"2026-11-22T09:00:00.000001Z\",\"kind\":\"state\"}",
      "version" },
    { "{\"v\":1,\"seq\":3,\"time\":\"2026-11-22T09:00:00.000001Z\",\"kind\":\"nonsense\"}",
      "kind" },
    { "[1,2]", "one JSON object" },
  };
  const char *good =
    "{\"v\":1,\"seq\":1,\"time\":\"2026-11-22T09:00:00.000001Z\",\"server\":\"a\","
    "\"kind\":\"session-open\",\"session\":\"smtp-1\"}\n"
    "\r\n"
    "{\"v\":1,\"seq\":2,\"time\":\"2026-11-22T09:00:00.000002Z\",\"server\":\"a\","
    "\"kind\":\"state\",\"session\":\"smtp-1\",\"from\":\"\",\"to\":\"connected\"}\r\n";

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *contents = g_strconcat (good, cases[i].third_line, "\n", good, NULL);
      g_autofree char *path = write_temp (contents);
      g_autoptr(MsTraceModel) model = ms_trace_model_new ();
      g_autoptr(GError) error = NULL;

      g_assert_false (ms_trace_model_load_file (model, path, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
      /* Line 4: the empty line (CRLF) counts as line 2. */
      g_assert_nonnull (strstr (error->message, ":4:"));
      g_assert_nonnull (strstr (error->message, cases[i].message));
      g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 2);
      g_unlink (path);
    }
}

static void
test_deep_line (void)
{
  const char *good =
    "{\"v\":1,\"seq\":1,\"time\":\"2026-11-22T09:00:00.000001Z\",\"server\":\"a\","
    "\"kind\":\"session-open\",\"session\":\"smtp-1\"}\n";
  g_autofree char *brackets = g_strnfill (200000, '[');
  g_autofree char *contents = g_strconcat (good, good, brackets, "\n", good, NULL);
  g_autofree char *path = write_temp (contents);
  g_autoptr(MsTraceModel) model = ms_trace_model_new ();
  g_autoptr(GError) error = NULL;

  g_test_summary ("A line nested deep enough to overflow json-glib's stack is a bad line.");
  g_assert_false (ms_trace_model_load_file (model, path, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA);
  g_assert_nonnull (strstr (error->message, ":3: nested deeper than"));
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 2);
  g_unlink (path);
}

static void
test_missing_file (void)
{
  g_autoptr(MsTraceModel) model = ms_trace_model_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (ms_trace_model_load_file (model, "/nonexistent/trace.jsonl", &error));
  g_assert_nonnull (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
}

static void
test_batching (void)
{
  g_autoptr(MsTraceModel) model = ms_trace_model_new ();
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  guint changes = 0;
  gint64 deadline;

  g_signal_connect (model, "items-changed", G_CALLBACK (count_changes_cb), &changes);
  ms_trace_model_attach_bus (model, bus);
  for (guint i = 0; i < 5000; i++)
    {
      MsEvent *event = ms_event_new (MS_EVENT_COMMAND, "alpha.test");

      ms_event_set_string (event, "session", "smtp-1");
      ms_event_set_string (event, "text", "NOOP");
      ms_trace_bus_emit (bus, event);
    }
  /* Nothing is announced until the batch runs. */
  g_assert_cmpuint (changes, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_list_model_get_n_items (G_LIST_MODEL (model)) < 5000
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 5000);
  g_assert_cmpuint (changes, ==, 1);
  g_assert_cmpuint (ms_trace_model_get_event (model, 4999)->seq, ==, 5000);

  /* flush() announces at once, and only what is pending. */
  ms_trace_bus_emit (bus, ms_event_new (MS_EVENT_STATE, "alpha.test"));
  ms_trace_model_flush (model);
  g_assert_cmpuint (changes, ==, 2);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 5001);
  ms_trace_model_flush (model);
  g_assert_cmpuint (changes, ==, 2);

  /* Detached: the bus no longer feeds it. */
  ms_trace_model_attach_bus (model, NULL);
  ms_trace_bus_emit (bus, ms_event_new (MS_EVENT_STATE, "alpha.test"));
  ms_trace_model_flush (model);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 5001);

  ms_trace_model_clear (model);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
  g_assert_cmpuint (changes, ==, 3);
}

/* A trace of N_BIG events made from the lecture's lines, renumbered. */
static char *
write_big_trace (void)
{
  g_autofree char *src = g_test_build_filename (G_TEST_DIST, "fixtures", "lecture.jsonl", NULL);
  g_autoptr(MsTraceModel) lecture = ms_trace_model_new ();
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree char *path = NULL;
  guint n;

  g_assert_true (ms_trace_model_load_file (lecture, src, NULL));
  n = ms_trace_model_get_n_events (lecture);
  for (guint i = 0; i < N_BIG; i++)
    {
      g_autoptr(MsEvent) event = ms_event_ref (ms_trace_model_get_event (lecture, i % n));
      g_autofree char *line = NULL;
      guint64 seq = event->seq;

      event->seq = i + 1;
      line = ms_event_to_json (event);
      event->seq = seq;
      g_string_append (out, line);
      g_string_append_c (out, '\n');
    }
  path = write_temp (out->str);
  return g_steal_pointer (&path);
}

static void
test_open_big (void)
{
  g_autofree char *path = write_big_trace ();
  g_autoptr(MsTraceModel) model = ms_trace_model_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(MsEventItem) last = NULL;
  gint64 start;
  clock_t cpu_start;
  double seconds, cpu_seconds;

  g_test_summary ("Opening a trace of 100,000 events takes well under 2 s (issue 5).");
  start = g_get_monotonic_time ();
  cpu_start = clock ();
  g_assert_true (ms_trace_model_load_file (model, path, &error));
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  cpu_seconds = (clock () - cpu_start) / (double) CLOCKS_PER_SEC;
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, N_BIG);
  last = g_list_model_get_item (G_LIST_MODEL (model), N_BIG - 1);
  g_assert_cmpuint (ms_event_item_get_seq (last), ==, N_BIG);
  g_printerr ("# trace-model: opened %u events in %.3f s (%.3f s of CPU)\n", N_BIG, seconds,
              cpu_seconds);
  /* CPU time, not wall time: other processes on a loaded machine must not
   * fail the test; the wall time is printed for the record. */
  if (!SANITIZED)
    g_assert_cmpfloat (cpu_seconds, <, 2.0);
  g_unlink (path);
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gui/trace-model/load", test_load);
  g_test_add_func ("/gui/trace-model/bad-line", test_bad_line);
  g_test_add_func ("/gui/trace-model/deep-line", test_deep_line);
  g_test_add_func ("/gui/trace-model/missing-file", test_missing_file);
  g_test_add_func ("/gui/trace-model/batching", test_batching);
  g_test_add_func ("/gui/trace-model/open-100k", test_open_big);

  return g_test_run ();
}
