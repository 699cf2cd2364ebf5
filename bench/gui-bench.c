/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "gui-bench"

#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <adwaita.h>
#include <glib/gstdio.h>

#include "ms-main-window-private.h"
#include "ms-sequence-view.h"

/* gui-bench: how the main window copes with a big trace and a fast one
 * (issue 5: open 100,000 events in under 2 s, scroll smoothly, take in
 * 5,000 live events a second without falling behind).
 *
 * 1. open: writes a trace of N events (the recorded sessions of
 *    tests/fixtures/ over and over, with fresh seq numbers, session ids and
 *    UIDs), then times ms_main_window_new_for_trace() + present until the
 *    first frame is painted with every event in the models. Each run uses a
 *    fresh window.
 * 2. scroll: with that trace open, moves the diagram's and the sessions
 *    list's vadjustment from the top, a step per frame (a tick callback),
 *    and logs every frame: the interval between the ends of two paints and
 *    the work in one frame (first phase to the end of the paint).
 * 3. live: a window on a live MsTraceBus and a timer that emits the same
 *    sessions at RATE events/s for S seconds, in chunks every 10 ms on a
 *    wall-clock schedule (a slow main loop does not lower the offered
 *    rate). Event i is due at t0 + i / RATE; its lag is measured from then
 *    until the window has folded it into its models (n_applied) and until
 *    the next paint after that.
 *
 * Everything runs on the main thread, as in the app: the emitter's own
 * cost (making the events and the bus delivering them) is printed apart. */

#define EMIT_INTERVAL_MS 10
#define DRAIN_TIMEOUT_S 60.0
#define SETTLE_FRAMES 3
#define FRAME_BUDGET_US 16667
#define TWO_FRAMES_US 33333
/* The fixtures, in the order of their story: the lecture delivers bob's
 * first message, pop3-delete fetches and deletes it with two more, and
 * imap-move delivers two, moves one to Lectures and expunges both. Played
 * in this order, round after round, the mailboxes stay consistent. */
static const char *const fixture_names[] = {
  "lecture.jsonl", "pop3-delete.jsonl", "imap-move.jsonl",
};

static char *opt_fixtures;
static int opt_events = 100000;
static int opt_runs = 3;
static int opt_scroll_frames = 600;
static char *opt_rates;
static double opt_live_seconds = 10;
static char *opt_only;
static char *opt_trace;

static const GOptionEntry entries[] = {
  { "fixtures", 0, 0, G_OPTION_ARG_FILENAME, &opt_fixtures,
    "The recorded traces to repeat (default: tests/fixtures)", "DIR" },
  { "events", 'n', 0, G_OPTION_ARG_INT, &opt_events, "Events in the trace to open (100000)",
    "N" },
  { "runs", 'r', 0, G_OPTION_ARG_INT, &opt_runs, "Open runs; the median is shown (3)", "N" },
  { "scroll-frames", 0, 0, G_OPTION_ARG_INT, &opt_scroll_frames,
    "Frames per scrolling test (600)", "N" },
  { "rates", 0, 0, G_OPTION_ARG_STRING, &opt_rates,
    "Live rates, events/s (5000,10000,20000)", "R,R,..." },
  { "live-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt_live_seconds,
    "Seconds of each live run (10)", "S" },
  { "only", 0, 0, G_OPTION_ARG_STRING, &opt_only, "Parts to run (open,scroll,live)",
    "LIST" },
  { "trace", 0, 0, G_OPTION_ARG_FILENAME, &opt_trace,
    "Write the generated trace here and keep it (default: a temporary file)", "FILE" },
  { NULL }
};

static gint64
now_us (void)
{
  return g_get_monotonic_time ();
}

static gboolean
part_wanted (const char *part)
{
  g_auto(GStrv) parts = NULL;

  if (opt_only == NULL)
    return TRUE;
  parts = g_strsplit (opt_only, ",", -1);
  return g_strv_contains ((const char *const *) parts, part);
}

/* ---- Statistics ---- */

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

/* Nearest-rank percentile of `values` (sorted in place); 0 when empty. */
static double
percentile (GArray *values,
            double p)
{
  gsize rank;

  if (values->len == 0)
    return 0;
  g_array_sort (values, compare_doubles);
  rank = (gsize) ceil (p / 100.0 * values->len);
  rank = CLAMP (rank, 1, values->len);
  return g_array_index (values, double, rank - 1);
}

static guint
count_above (GArray *values,
             double limit)
{
  guint n = 0;

  for (guint i = 0; i < values->len; i++)
    if (g_array_index (values, double, i) > limit)
      n++;
  return n;
}

static double
median_of (double *values,
           guint n)
{
  g_autoptr(GArray) array = g_array_new (FALSE, FALSE, sizeof (double));

  g_array_append_vals (array, values, n);
  return percentile (array, 50);
}

/* Peak resident memory of this process (VmHWM), in KiB, or 0. */
static guint64
peak_rss_kib (void)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmHWM:");
  return line != NULL ? g_ascii_strtoull (line + strlen ("VmHWM:"), NULL, 10) : 0;
}

/* ---- The trace generator ---- */

typedef struct {
  GPtrArray *heads;           /* MsEvent: one snapshot per server, emitted first */
  GPtrArray *round;           /* MsEvent: the fixtures' other events, in order */
  GArray *file_of;            /* guint per round event: which fixture */
  GHashTable *uid_span;       /* "server\nuser\nfolder" -> highest UID in a round */
  GHashTable *session_ids;    /* "server\nsession" -> the id in this round and file */
  GHashTable *counters;       /* "server\nprefix" -> last session number given */
  guint n_heads_done;
  guint index;                /* next event of `round` */
  guint round_no;
  guint current_file;
} TraceGen;

static void
trace_gen_free (TraceGen *gen)
{
  g_ptr_array_unref (gen->heads);
  g_ptr_array_unref (gen->round);
  g_array_unref (gen->file_of);
  g_hash_table_unref (gen->uid_span);
  g_hash_table_unref (gen->session_ids);
  g_hash_table_unref (gen->counters);
  g_free (gen);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TraceGen, trace_gen_free)

static char *
folder_key (const MsEvent *event,
            const char *folder_member)
{
  return g_strdup_printf ("%s\n%s\n%s", event->server, ms_event_get_string (event, "user"),
                          ms_event_get_string (event, folder_member));
}

static void
note_uid (TraceGen *gen,
          const MsEvent *event,
          const char *folder_member,
          gint64 uid)
{
  g_autofree char *key = NULL;

  if (uid <= 0 || ms_event_get_string (event, folder_member) == NULL)
    return;
  key = folder_key (event, folder_member);
  if (uid > GPOINTER_TO_INT (g_hash_table_lookup (gen->uid_span, key)))
    g_hash_table_replace (gen->uid_span, g_steal_pointer (&key), GINT_TO_POINTER ((int) uid));
}

/* Reads one fixture. The first file's snapshots open the trace; the other
 * files' snapshots are skipped (the rounds before already made that state),
 * and so is a folder creation that precedes its server's snapshot. */
static gboolean
trace_gen_add_file (TraceGen *gen,
                    const char *path,
                    guint file_index,
                    GError **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GHashTable) snapshotted = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                              g_free, NULL);

  if (!g_file_get_contents (path, &contents, NULL, error))
    return FALSE;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(MsEvent) event = NULL;
      const char *op;

      if (*g_strstrip (lines[i]) == '\0')
        continue;
      event = ms_event_from_json (lines[i], -1, error);
      if (event == NULL)
        {
          g_prefix_error (error, "%s:%u: ", path, i + 1);
          return FALSE;
        }
      op = ms_event_get_string (event, "op");
      if (event->kind == MS_EVENT_SNAPSHOT)
        {
          g_hash_table_add (snapshotted, g_strdup (event->server));
          if (file_index == 0)
            g_ptr_array_add (gen->heads, g_steal_pointer (&event));
          continue;
        }
      if (event->kind == MS_EVENT_STORE && g_strcmp0 (op, "create-folder") == 0
          && !g_hash_table_contains (snapshotted, event->server))
        continue;
      if (event->kind == MS_EVENT_STORE)
        {
          note_uid (gen, event, "folder", ms_event_get_int (event, "uid", 0));
          note_uid (gen, event, "to-folder", ms_event_get_int (event, "new-uid", 0));
        }
      g_array_append_val (gen->file_of, file_index);
      g_ptr_array_add (gen->round, g_steal_pointer (&event));
    }
  return TRUE;
}

static TraceGen *
trace_gen_new (const char *dir,
               GError **error)
{
  g_autoptr(TraceGen) gen = g_new0 (TraceGen, 1);

  gen->heads = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  gen->round = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  gen->file_of = g_array_new (FALSE, FALSE, sizeof (guint));
  gen->uid_span = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gen->session_ids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gen->counters = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (fixture_names); i++)
    {
      g_autofree char *path = g_build_filename (dir, fixture_names[i], NULL);

      if (!trace_gen_add_file (gen, path, i, error))
        return NULL;
    }
  if (gen->heads->len == 0 || gen->round->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "%s: the fixtures hold no snapshot or no sessions", dir);
      return NULL;
    }
  return g_steal_pointer (&gen);
}

/* The session's id in this round: the same prefix ("smtp", "smtp-relay"),
 * the next number of that server. */
static const char *
round_session_id (TraceGen *gen,
                  const char *server,
                  const char *session)
{
  g_autofree char *key = g_strdup_printf ("%s\n%s", server, session);
  const char *dash = strrchr (session, '-');
  g_autofree char *prefix = g_strndup (session, dash != NULL ? (gsize) (dash - session)
                                                             : strlen (session));
  g_autofree char *counter_key = NULL;
  char *id = g_hash_table_lookup (gen->session_ids, key);
  guint number;

  if (id != NULL)
    return id;
  counter_key = g_strdup_printf ("%s\n%s", server, prefix);
  number = GPOINTER_TO_UINT (g_hash_table_lookup (gen->counters, counter_key)) + 1;
  g_hash_table_replace (gen->counters, g_steal_pointer (&counter_key), GUINT_TO_POINTER (number));
  id = g_strdup_printf ("%s-%u", prefix, number);
  /* The table owns `id`; it lives until the next file or round. */
  g_hash_table_replace (gen->session_ids, g_steal_pointer (&key), id);
  return id;
}

static gint64
shifted_uid (TraceGen *gen,
             const MsEvent *event,
             const char *folder_member,
             gint64 uid)
{
  g_autofree char *key = NULL;

  if (ms_event_get_string (event, folder_member) == NULL)
    return uid;
  key = folder_key (event, folder_member);
  return uid + (gint64) gen->round_no * GPOINTER_TO_INT (g_hash_table_lookup (gen->uid_span, key));
}

static void
copy_member_cb (JsonObject *object,
                const char *name,
                JsonNode *node,
                gpointer user_data)
{
  json_object_set_member (user_data, name, json_node_copy (node));
}

static MsEvent *
copy_event (const MsEvent *template)
{
  MsEvent *event = ms_event_new (template->kind, template->server);

  json_object_foreach_member (template->fields, copy_member_cb, event->fields);
  return event;
}

/* The next event (owned), seq and time unset. Round r is the fixtures
 * again, with UIDs moved up by r times what one round uses, fresh session
 * ids and relay ids; folders are created in the first round only. */
static MsEvent *
trace_gen_next (TraceGen *gen)
{
  const MsEvent *template;
  MsEvent *event;
  guint file;

  if (gen->n_heads_done < gen->heads->len)
    return copy_event (g_ptr_array_index (gen->heads, gen->n_heads_done++));
  for (;;)
    {
      if (gen->index == gen->round->len)
        {
          gen->index = 0;
          gen->round_no++;
        }
      template = g_ptr_array_index (gen->round, gen->index);
      file = g_array_index (gen->file_of, guint, gen->index);
      gen->index++;
      if (gen->round_no == 0 || template->kind != MS_EVENT_STORE
          || g_strcmp0 (ms_event_get_string (template, "op"), "create-folder") != 0)
        break;
    }
  if (file != gen->current_file || gen->index == 1)
    {
      g_hash_table_remove_all (gen->session_ids);
      gen->current_file = file;
    }

  event = copy_event (template);
  if (ms_event_get_string (template, "session") != NULL)
    ms_event_set_string (event, "session",
                         round_session_id (gen, template->server,
                                           ms_event_get_string (template, "session")));
  if (template->kind == MS_EVENT_RELAY && ms_event_get_string (template, "id") != NULL)
    {
      g_autofree char *id = g_strdup_printf ("%s-r%u", ms_event_get_string (template, "id"),
                                             gen->round_no);

      ms_event_set_string (event, "id", id);
    }
  if (template->kind == MS_EVENT_STORE)
    {
      JsonNode *uids_node = json_object_get_member (template->fields, "uids");
      JsonArray *uids = uids_node != NULL && JSON_NODE_HOLDS_ARRAY (uids_node)
                        ? json_node_get_array (uids_node) : NULL;

      if (ms_event_has (template, "uid"))
        ms_event_set_int (event, "uid",
                          shifted_uid (gen, template, "folder",
                                       ms_event_get_int (template, "uid", 0)));
      if (ms_event_has (template, "new-uid"))
        ms_event_set_int (event, "new-uid",
                          shifted_uid (gen, template, "to-folder",
                                       ms_event_get_int (template, "new-uid", 0)));
      if (uids != NULL)
        {
          JsonArray *moved = json_array_new ();

          for (guint i = 0; i < json_array_get_length (uids); i++)
            json_array_add_int_element (moved,
                                        shifted_uid (gen, template, "folder",
                                                     json_array_get_int_element (uids, i)));
          ms_event_set_array (event, "uids", moved);
        }
    }
  return event;
}

/* Writes `n` events as JSON Lines, 200 us apart (5,000 a second), with a
 * gapless seq per server, as the trace bus numbers them. */
static gboolean
write_trace (const char *fixtures,
             const char *path,
             guint n,
             GError **error)
{
  g_autoptr(TraceGen) gen = trace_gen_new (fixtures, error);
  g_autoptr(GHashTable) seqs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  gint64 start = g_get_real_time ();
  FILE *out;
  gboolean ok;

  if (gen == NULL)
    return FALSE;
  out = fopen (path, "w");
  if (out == NULL)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s: %s", path,
                   g_strerror (errno));
      return FALSE;
    }
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MsEvent) event = trace_gen_next (gen);
      g_autofree char *line = NULL;
      guint64 seq = GPOINTER_TO_SIZE (g_hash_table_lookup (seqs, event->server)) + 1;

      g_hash_table_replace (seqs, g_strdup (event->server), GSIZE_TO_POINTER (seq));
      event->seq = seq;
      event->time_us = start + (gint64) i * 200;
      line = ms_event_to_json (event);
      fputs (line, out);
      fputc ('\n', out);
    }
  ok = !ferror (out);
  if (fclose (out) != 0 || !ok)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: write failed", path);
      return FALSE;
    }
  return TRUE;
}

/* ---- Waiting on the main loop ---- */

static gboolean
set_flag_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Runs the default main context until *done or `seconds` pass; returns *done. */
static gboolean
run_until (gboolean *done,
           double seconds)
{
  gboolean expired = FALSE;
  guint timeout = g_timeout_add ((guint) (seconds * 1000), set_flag_cb, &expired);

  while (!*done && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timeout);
  return *done;
}

static gboolean
count_frames_cb (GtkWidget *widget,
                 GdkFrameClock *clock,
                 gpointer user_data)
{
  guint *left = user_data;

  if (*left > 0)
    (*left)--;
  return *left > 0 ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

/* Lets `frames` frames pass (layout settles, lists bind their rows). */
static void
wait_frames (GtkWidget *widget,
             guint frames)
{
  guint left = frames;
  gboolean expired = FALSE;
  guint timeout = g_timeout_add (5000, set_flag_cb, &expired);

  gtk_widget_add_tick_callback (widget, count_frames_cb, &left, NULL);
  while (left > 0 && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timeout);
}

static void
window_gone_cb (gpointer data,
                GObject *where_the_object_was)
{
  *(gboolean *) data = TRUE;
}

static void
destroy_window (MsMainWindow *window)
{
  gboolean gone = FALSE;

  g_object_weak_ref (G_OBJECT (window), window_gone_cb, &gone);
  gtk_window_destroy (GTK_WINDOW (window));
  run_until (&gone, 5);
  for (int i = 0; i < 100 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

/* ---- Frame log ---- */

/* Every frame of the window's frame clock: when its first phase began and
 * when its paint (layout, snapshot, render) ended. */
typedef struct {
  GdkFrameClock *clock;       /* owned */
  gulong handlers[5];
  gint64 frame_start;         /* 0 between frames */
  gint64 last_end;
  GArray *intervals_ms;       /* paint end to paint end */
  GArray *work_ms;            /* first phase to paint end */
  gboolean recording;
  void (*painted) (gpointer data);
  gpointer painted_data;
} FrameLog;

static void
frame_phase_cb (GdkFrameClock *clock,
                FrameLog *log)
{
  if (log->frame_start == 0)
    log->frame_start = now_us ();
}

static void
frame_painted_cb (GdkFrameClock *clock,
                  FrameLog *log)
{
  gint64 now = now_us ();

  if (log->recording)
    {
      double work = (now - log->frame_start) / 1000.0;

      if (log->last_end != 0)
        {
          double interval = (now - log->last_end) / 1000.0;

          g_array_append_val (log->intervals_ms, interval);
        }
      if (log->frame_start != 0)
        g_array_append_val (log->work_ms, work);
      log->last_end = now;
    }
  log->frame_start = 0;
  if (log->painted != NULL)
    log->painted (log->painted_data);
}

static FrameLog *
frame_log_new (GtkWidget *window)
{
  FrameLog *log = g_new0 (FrameLog, 1);
  const char *starts[] = { "flush-events", "before-paint", "update", "layout" };

  log->clock = g_object_ref (gtk_widget_get_frame_clock (window));
  log->intervals_ms = g_array_new (FALSE, FALSE, sizeof (double));
  log->work_ms = g_array_new (FALSE, FALSE, sizeof (double));
  for (gsize i = 0; i < G_N_ELEMENTS (starts); i++)
    log->handlers[i] = g_signal_connect (log->clock, starts[i], G_CALLBACK (frame_phase_cb), log);
  /* After the surface's own "paint" handler, which renders the window. */
  log->handlers[4] = g_signal_connect_after (log->clock, "paint",
                                             G_CALLBACK (frame_painted_cb), log);
  return log;
}

static void
frame_log_free (FrameLog *log)
{
  /* A destroyed window's frame clock may have dropped its handlers. */
  for (gsize i = 0; i < G_N_ELEMENTS (log->handlers); i++)
    if (g_signal_handler_is_connected (log->clock, log->handlers[i]))
      g_signal_handler_disconnect (log->clock, log->handlers[i]);
  g_object_unref (log->clock);
  g_array_unref (log->intervals_ms);
  g_array_unref (log->work_ms);
  g_free (log);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FrameLog, frame_log_free)

static void
frame_log_restart (FrameLog *log)
{
  g_array_set_size (log->intervals_ms, 0);
  g_array_set_size (log->work_ms, 0);
  log->last_end = 0;
  log->recording = TRUE;
}

typedef struct {
  guint frames;
  double seconds;
  double interval[4];         /* p50, p95, p99, max */
  guint over_budget, over_two;
  double work[4];
  guint work_over_budget;
} FrameStats;

static void
frame_stats (FrameLog *log,
             FrameStats *stats)
{
  const double ps[3] = { 50, 95, 99 };

  stats->frames = log->work_ms->len;
  stats->seconds = 0;
  for (guint i = 0; i < log->intervals_ms->len; i++)
    stats->seconds += g_array_index (log->intervals_ms, double, i) / 1000.0;
  for (int i = 0; i < 3; i++)
    {
      stats->interval[i] = percentile (log->intervals_ms, ps[i]);
      stats->work[i] = percentile (log->work_ms, ps[i]);
    }
  stats->interval[3] = percentile (log->intervals_ms, 100);
  stats->work[3] = percentile (log->work_ms, 100);
  stats->over_budget = count_above (log->intervals_ms, FRAME_BUDGET_US / 1000.0);
  stats->over_two = count_above (log->intervals_ms, TWO_FRAMES_US / 1000.0);
  stats->work_over_budget = count_above (log->work_ms, FRAME_BUDGET_US / 1000.0);
}

static void
print_frame_header (void)
{
  g_print ("  %-24s %6s %6s  %-27s %-11s  %-27s %s\n", "", "frames", "fps",
           "interval ms p50/p95/p99/max", ">16.7 >33", "work ms p50/p95/p99/max", ">16.7");
}

static void
print_frame_row (const char *name,
                 const FrameStats *s)
{
  g_autofree char *interval = g_strdup_printf ("%.1f/%.1f/%.1f/%.1f", s->interval[0],
                                               s->interval[1], s->interval[2], s->interval[3]);
  g_autofree char *work = g_strdup_printf ("%.1f/%.1f/%.1f/%.1f", s->work[0], s->work[1],
                                           s->work[2], s->work[3]);

  g_print ("  %-24s %6u %6.1f  %-27s %5u %5u  %-27s %u\n", name, s->frames,
           s->seconds > 0 ? (s->frames - 1) / s->seconds : 0, interval, s->over_budget,
           s->over_two, work, s->work_over_budget);
}

/* ---- 1. Open ---- */

typedef struct {
  gboolean painted;
  gint64 painted_at;
} FirstFrame;

static void
first_frame_cb (gpointer data)
{
  FirstFrame *first = data;

  if (!first->painted)
    first->painted_at = now_us ();
  first->painted = TRUE;
}

static const char *
renderer_name (MsMainWindow *window)
{
  GskRenderer *renderer = gtk_native_get_renderer (GTK_NATIVE (window));

  return renderer != NULL ? G_OBJECT_TYPE_NAME (renderer) : "?";
}

/* One open: returns the window (shown, painted) and the phases in seconds:
 * [0] parse alone (a bare MsTraceModel), [1] new_for_trace (parse + fill
 * the models), [2] present to first frame painted, [3] total of [1]+[2]. */
static MsMainWindow *
open_once (const char *path,
           guint expected,
           double phases[4])
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsTraceModel) bare = ms_trace_model_new ();
  g_autoptr(FrameLog) log = NULL;
  FirstFrame first = { FALSE, 0 };
  MsMainWindow *window;
  gint64 t0, t1, t2;

  t0 = now_us ();
  if (!ms_trace_model_load_file (bare, path, &error))
    g_error ("%s", error->message);
  phases[0] = (now_us () - t0) / 1e6;
  g_clear_object (&bare);

  t0 = now_us ();
  window = ms_main_window_new_for_trace (NULL, path, &error);
  if (window == NULL)
    g_error ("%s", error->message);
  t1 = now_us ();
  gtk_window_present (GTK_WINDOW (window));
  log = frame_log_new (GTK_WIDGET (window));
  log->painted = first_frame_cb;
  log->painted_data = &first;
  if (!run_until (&first.painted, 30))
    g_error ("no frame painted within 30 s");
  t2 = first.painted_at;
  if (window->n_applied != expected)
    g_error ("the window applied %u events of %u", window->n_applied, expected);
  phases[1] = (t1 - t0) / 1e6;
  phases[2] = (t2 - t1) / 1e6;
  phases[3] = (t2 - t0) / 1e6;
  return window;
}

static MsMainWindow *
bench_open (const char *path,
            guint events)
{
  g_autofree double *totals = g_new0 (double, opt_runs);
  g_autofree double *parses = g_new0 (double, opt_runs);
  g_autofree double *fills = g_new0 (double, opt_runs);
  g_autofree double *frames = g_new0 (double, opt_runs);
  MsMainWindow *window = NULL;
  double median;

  g_print ("\n1. Open a trace of %u events (window %s, size %dx%d)\n", events,
           "new_for_trace + present", 1600, 1000);
  for (int run = 0; run < opt_runs; run++)
    {
      double phases[4];

      if (window != NULL)
        destroy_window (window);
      window = open_once (path, events, phases);
      parses[run] = phases[0];
      fills[run] = phases[1];
      frames[run] = phases[2];
      totals[run] = phases[3];
      g_print ("  run %d: %.3f s  (new_for_trace %.3f s, of which the file alone %.3f s; "
               "present to first frame %.3f s; %u sessions, %u arrows)\n",
               run + 1, phases[3], phases[1], phases[0], phases[2],
               g_list_model_get_n_items (G_LIST_MODEL (window->sessions)),
               g_list_model_get_n_items (G_LIST_MODEL (window->diagram)));
    }
  median = median_of (totals, opt_runs);
  g_print ("  renderer %s\n", renderer_name (window));
  g_print ("RESULT part=open renderer=%s events=%u runs=%d median_s=%.3f parse_s=%.3f "
           "new_for_trace_s=%.3f first_frame_s=%.3f vmhwm_kib=%" G_GUINT64_FORMAT
           " target_s=2 %s\n", renderer_name (window), events, opt_runs, median,
           median_of (parses, opt_runs), median_of (fills, opt_runs),
           median_of (frames, opt_runs), peak_rss_kib (), median < 2.0 ? "PASS" : "MISS");
  return window;
}

/* ---- 2. Scroll ---- */

typedef struct {
  GtkAdjustment *adjustment;  /* borrowed */
  double step;
  guint frames_left;
  gboolean done;
} Scroll;

static gboolean
scroll_tick_cb (GtkWidget *widget,
                GdkFrameClock *clock,
                gpointer user_data)
{
  Scroll *scroll = user_data;
  GtkAdjustment *adj = scroll->adjustment;
  double bottom = gtk_adjustment_get_upper (adj) - gtk_adjustment_get_page_size (adj);
  double value = gtk_adjustment_get_value (adj);

  if (scroll->frames_left == 0 || value >= bottom)
    {
      scroll->done = TRUE;
      return G_SOURCE_REMOVE;
    }
  scroll->frames_left--;
  gtk_adjustment_set_value (adj, MIN (value + scroll->step, bottom));
  return G_SOURCE_CONTINUE;
}

typedef enum {
  STEP_PAGE,                  /* one page per frame */
  STEP_SMALL,                 /* a tenth of a page per frame: a slow wheel */
  STEP_SPAN,                  /* top to bottom in the given frames */
} StepKind;

/* Scrolls `adj` (of `widget`) from the top, one step per frame, and prints
 * a row of frame figures. */
static void
scroll_once (MsMainWindow *window,
             GtkWidget *widget,
             GtkAdjustment *adj,
             StepKind kind,
             const char *key,
             const char *name)
{
  g_autoptr(FrameLog) log = frame_log_new (GTK_WIDGET (window));
  double page = gtk_adjustment_get_page_size (adj);
  Scroll scroll = { adj, 0, (guint) opt_scroll_frames, FALSE };
  g_autofree char *label = NULL;
  double start_upper;
  FrameStats stats;

  gtk_adjustment_set_value (adj, 0);
  wait_frames (widget, SETTLE_FRAMES);
  start_upper = gtk_adjustment_get_upper (adj);
  switch (kind)
    {
    case STEP_PAGE:
      scroll.step = page;
      break;
    case STEP_SMALL:
      scroll.step = page / 10;
      break;
    case STEP_SPAN:
    default:
      scroll.step = MAX ((start_upper - page) / opt_scroll_frames, 1);
      break;
    }
  frame_log_restart (log);
  gtk_widget_add_tick_callback (widget, scroll_tick_cb, &scroll, NULL);
  run_until (&scroll.done, 120);
  log->recording = FALSE;
  frame_stats (log, &stats);
  label = g_strdup_printf ("%s (%.0f px)", name, scroll.step);
  print_frame_row (label, &stats);
  g_print ("RESULT part=scroll renderer=%s view=%s step_px=%.0f frames=%u "
           "interval_p50_ms=%.1f interval_p95_ms=%.1f interval_p99_ms=%.1f interval_max_ms=%.1f "
           "over_16ms=%u over_33ms=%u work_p50_ms=%.1f work_p95_ms=%.1f work_max_ms=%.1f "
           "upper_px=%.0f\n", renderer_name (window), key, scroll.step, stats.frames,
           stats.interval[0], stats.interval[1], stats.interval[2], stats.interval[3],
           stats.over_budget, stats.over_two, stats.work[0], stats.work[1], stats.work[3],
           start_upper);
}

static void
bench_scroll (MsMainWindow *window)
{
  GtkAdjustment *diagram = gtk_scrolled_window_get_vadjustment (window->diagram_scroller);
  GtkAdjustment *sessions = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (window->sessions_view));

  wait_frames (GTK_WIDGET (window), SETTLE_FRAMES);
  g_print ("\n2. Scroll, %d frames at most per row, from the top (%u arrows: %.0f px, "
           "page %.0f px; %u sessions: %.0f px, page %.0f px)\n", opt_scroll_frames,
           g_list_model_get_n_items (G_LIST_MODEL (window->diagram)),
           gtk_adjustment_get_upper (diagram), gtk_adjustment_get_page_size (diagram),
           g_list_model_get_n_items (G_LIST_MODEL (window->sessions)),
           gtk_adjustment_get_upper (sessions), gtk_adjustment_get_page_size (sessions));
  print_frame_header ();
  scroll_once (window, window->sequence_view, diagram, STEP_PAGE, "diagram-page",
               "diagram page");
  scroll_once (window, window->sequence_view, diagram, STEP_SMALL, "diagram-tenth",
               "diagram 1/10 page");
  scroll_once (window, window->sequence_view, diagram, STEP_SPAN, "diagram-span",
               "diagram top-bottom");
  scroll_once (window, GTK_WIDGET (window->sessions_view), sessions, STEP_PAGE,
               "sessions-page", "sessions page");
  scroll_once (window, GTK_WIDGET (window->sessions_view), sessions, STEP_SMALL,
               "sessions-tenth", "sessions 1/10 page");
}

/* ---- 3. Live ---- */

typedef struct {
  MsMainWindow *window;       /* GTK holds it */
  MsTraceBus *bus;            /* owned */
  TraceGen *gen;              /* owned */
  FrameLog *log;              /* owned */
  double rate;
  guint total;
  gint64 t0;
  guint emitted;
  guint applied;              /* window->n_applied at the last items-changed */
  guint screened;             /* applied events a paint has shown since */
  gint64 last_emit_at;
  gint64 drained_at;
  gint64 emit_cost_us;        /* making events + bus delivery, all ticks */
  GArray *apply_lag_ms;       /* per event: due to applied */
  GArray *screen_lag_ms;      /* per event: due to painted */
  /* per second of the run */
  GArray *sec_emitted;        /* guint: emitted at the end of the second */
  GArray *sec_applied;        /* guint */
  GArray *sec_max_lag;        /* guint: most events due but not applied, at any tick */
  GArray *sec_max_lag_ms;     /* double: the largest screen lag of the second */
  GArray *sec_frames;         /* guint */
  guint frames;
  guint max_lag;              /* of the current second */
  double max_lag_ms;
  guint emit_source;
} Live;

static double
due_at_ms (Live *live,
           guint i)
{
  return live->t0 / 1000.0 + i * 1000.0 / live->rate;
}

static void
live_close_second (Live *live)
{
  g_array_append_val (live->sec_emitted, live->emitted);
  g_array_append_val (live->sec_applied, live->applied);
  g_array_append_val (live->sec_max_lag, live->max_lag);
  g_array_append_val (live->sec_max_lag_ms, live->max_lag_ms);
  g_array_append_val (live->sec_frames, live->frames);
  live->max_lag = 0;
  live->max_lag_ms = 0;
  live->frames = 0;
}

/* The emitter: whatever the schedule says is due by now, at once. */
static gboolean
emit_cb (gpointer user_data)
{
  Live *live = user_data;
  gint64 now = now_us ();
  double elapsed = (now - live->t0) / 1e6;
  guint due = (guint) MIN ((double) live->total, floor (elapsed * live->rate));
  guint second = (guint) elapsed;

  while (live->sec_emitted->len < second && live->sec_emitted->len < live->total / live->rate)
    live_close_second (live);
  while (live->emitted < due)
    {
      ms_trace_bus_emit (live->bus, trace_gen_next (live->gen));
      live->emitted++;
    }
  live->emit_cost_us += now_us () - now;
  live->max_lag = MAX (live->max_lag, due - MIN (due, live->window->n_applied));
  if (live->emitted < live->total)
    return G_SOURCE_CONTINUE;
  live->last_emit_at = now_us ();
  live->emit_source = 0;
  return G_SOURCE_REMOVE;
}

static void
live_items_changed_cb (GListModel *trace,
                       guint position,
                       guint removed,
                       guint added,
                       Live *live)
{
  double now = now_us () / 1000.0;

  /* Connected after the window's handler: n_applied is up to date. */
  for (; live->applied < live->window->n_applied; live->applied++)
    {
      double lag = now - due_at_ms (live, live->applied);

      g_array_append_val (live->apply_lag_ms, lag);
    }
}

static void
live_painted_cb (gpointer data)
{
  Live *live = data;
  double now = now_us () / 1000.0;

  live->frames++;
  for (; live->screened < live->applied; live->screened++)
    {
      double lag = now - due_at_ms (live, live->screened);

      g_array_append_val (live->screen_lag_ms, lag);
      live->max_lag_ms = MAX (live->max_lag_ms, lag);
    }
  if (live->screened == live->total && live->drained_at == 0)
    live->drained_at = now_us ();
}

static void
live_free (Live *live)
{
  g_clear_handle_id (&live->emit_source, g_source_remove);
  g_clear_pointer (&live->log, frame_log_free);
  g_clear_pointer (&live->gen, trace_gen_free);
  g_clear_pointer (&live->bus, ms_trace_bus_unref);
  g_array_unref (live->apply_lag_ms);
  g_array_unref (live->screen_lag_ms);
  g_array_unref (live->sec_emitted);
  g_array_unref (live->sec_applied);
  g_array_unref (live->sec_max_lag);
  g_array_unref (live->sec_max_lag_ms);
  g_array_unref (live->sec_frames);
  g_free (live);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Live, live_free)

static guint
max_of_range (GArray *values,
              guint from,
              guint to)
{
  guint most = 0;

  for (guint i = from; i < to && i < values->len; i++)
    most = MAX (most, g_array_index (values, guint, i));
  return most;
}

/* Returns TRUE when the window kept up: every event applied and painted,
 * and the lag in the last third of the run no larger than in the first
 * third plus one batch interval's worth (it does not grow). */
static gboolean
bench_live_rate (double rate)
{
  g_autoptr(Live) live = g_new0 (Live, 1);
  g_autoptr(GError) error = NULL;
  gboolean drained = FALSE;
  double drain_ms, first_third, last_third, emitter_s, wall_s;
  guint thirds;
  gboolean kept_up;
  FrameStats stats;

  live->rate = rate;
  live->total = (guint) (rate * opt_live_seconds);
  live->gen = trace_gen_new (opt_fixtures, &error);
  if (live->gen == NULL)
    g_error ("%s", error->message);
  live->bus = ms_trace_bus_new ();
  live->apply_lag_ms = g_array_sized_new (FALSE, FALSE, sizeof (double), live->total);
  live->screen_lag_ms = g_array_sized_new (FALSE, FALSE, sizeof (double), live->total);
  live->sec_emitted = g_array_new (FALSE, FALSE, sizeof (guint));
  live->sec_applied = g_array_new (FALSE, FALSE, sizeof (guint));
  live->sec_max_lag = g_array_new (FALSE, FALSE, sizeof (guint));
  live->sec_max_lag_ms = g_array_new (FALSE, FALSE, sizeof (double));
  live->sec_frames = g_array_new (FALSE, FALSE, sizeof (guint));
  live->window = ms_main_window_new_for_bus (NULL, live->bus, "gui-bench live");
  gtk_window_present (GTK_WINDOW (live->window));
  wait_frames (GTK_WIDGET (live->window), SETTLE_FRAMES);
  g_signal_connect_after (live->window->trace, "items-changed",
                          G_CALLBACK (live_items_changed_cb), live);
  live->log = frame_log_new (GTK_WIDGET (live->window));
  live->log->painted = live_painted_cb;
  live->log->painted_data = live;
  frame_log_restart (live->log);

  live->t0 = now_us ();
  live->emit_source = g_timeout_add (EMIT_INTERVAL_MS, emit_cb, live);
  while (live->emitted < live->total)
    g_main_context_iteration (NULL, TRUE);
  /* Then until every event is on screen. */
  {
    gboolean expired = FALSE;
    guint timeout = g_timeout_add ((guint) (DRAIN_TIMEOUT_S * 1000), set_flag_cb, &expired);

    while (live->drained_at == 0 && !expired)
      g_main_context_iteration (NULL, TRUE);
    if (!expired)
      g_source_remove (timeout);
    drained = live->drained_at != 0;
  }
  live_close_second (live);
  live->log->recording = FALSE;
  g_signal_handlers_disconnect_by_data (live->window->trace, live);
  frame_stats (live->log, &stats);
  wall_s = (now_us () - live->t0) / 1e6;
  emitter_s = live->emit_cost_us / 1e6;
  drain_ms = drained ? (live->drained_at - live->last_emit_at) / 1000.0 : -1;

  g_print ("\n3. Live at %.0f events/s for %.0f s (%u events, emitted every %d ms; "
           "renderer %s)\n", rate, opt_live_seconds, live->total, EMIT_INTERVAL_MS,
           renderer_name (live->window));
  g_print ("  %6s %10s %10s %10s %14s %14s %7s\n", "second", "offered", "emitted", "applied",
           "max lag (ev)", "max lag (ms)", "frames");
  for (guint s = 0; s < live->sec_emitted->len; s++)
    {
      g_autofree char *name = s + 1 < live->sec_emitted->len ? g_strdup_printf ("%u", s + 1)
                                                             : g_strdup ("drain");
      guint offered = (guint) MIN ((double) live->total, (s + 1) * rate);

      g_print ("  %6s %10u %10u %10u %14u %14.0f %7u\n", name, offered,
               g_array_index (live->sec_emitted, guint, s),
               g_array_index (live->sec_applied, guint, s),
               g_array_index (live->sec_max_lag, guint, s),
               g_array_index (live->sec_max_lag_ms, double, s),
               g_array_index (live->sec_frames, guint, s));
    }
  thirds = MAX ((live->sec_max_lag->len - 1) / 3, 1);
  first_third = max_of_range (live->sec_max_lag, 0, thirds);
  last_third = max_of_range (live->sec_max_lag, live->sec_max_lag->len - 1 - thirds,
                             live->sec_max_lag->len - 1);
  kept_up = drained && live->screened == live->total
            && last_third <= first_third + rate * MS_TRACE_MODEL_BATCH_MS / 1000.0;
  g_print ("  lag, due to applied: p50 %.0f ms, p99 %.0f ms, max %.0f ms; due to on screen: "
           "p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
           percentile (live->apply_lag_ms, 50), percentile (live->apply_lag_ms, 99),
           percentile (live->apply_lag_ms, 100), percentile (live->screen_lag_ms, 50),
           percentile (live->screen_lag_ms, 99), percentile (live->screen_lag_ms, 100));
  g_print ("  last emit to all on screen: %.0f ms; most events behind: %.0f in the first "
           "third, %.0f in the last third -> %s\n", drain_ms, first_third, last_third,
           kept_up ? "bounded (keeps up)" : "FALLS BEHIND");
  g_print ("  emitter (making events + bus) %.2f s of %.2f s wall; %u sessions, %u arrows\n",
           emitter_s, wall_s, g_list_model_get_n_items (G_LIST_MODEL (live->window->sessions)),
           g_list_model_get_n_items (G_LIST_MODEL (live->window->diagram)));
  print_frame_header ();
  print_frame_row ("frames while live", &stats);
  g_print ("RESULT part=live renderer=%s rate=%.0f seconds=%.0f events=%u applied=%u "
           "apply_lag_p50_ms=%.0f apply_lag_p99_ms=%.0f apply_lag_max_ms=%.0f "
           "screen_lag_p99_ms=%.0f screen_lag_max_ms=%.0f max_lag_events=%u drain_ms=%.0f "
           "emitter_s=%.2f frames=%u interval_p95_ms=%.1f %s\n",
           renderer_name (live->window), rate, opt_live_seconds, live->total, live->applied,
           percentile (live->apply_lag_ms, 50), percentile (live->apply_lag_ms, 99),
           percentile (live->apply_lag_ms, 100), percentile (live->screen_lag_ms, 99),
           percentile (live->screen_lag_ms, 100),
           max_of_range (live->sec_max_lag, 0, live->sec_max_lag->len), drain_ms, emitter_s,
           stats.frames, stats.interval[1], kept_up ? "KEEPS-UP" : "FALLS-BEHIND");
  g_clear_pointer (&live->log, frame_log_free);
  destroy_window (live->window);
  live->window = NULL;
  return kept_up;
}

static void
bench_live (void)
{
  g_auto(GStrv) rates = g_strsplit (opt_rates, ",", -1);

  for (guint i = 0; rates[i] != NULL; i++)
    {
      double rate = g_ascii_strtod (rates[i], NULL);

      if (rate <= 0)
        g_error ("bad rate \"%s\"", rates[i]);
      bench_live_rate (rate);
    }
}

int
main (int argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("- time the main window");
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp_path = NULL;
  const char *path;
  MsMainWindow *window = NULL;

  /* Line by line, so that run-gui.sh's output shows progress. */
  setvbuf (stdout, NULL, _IOLBF, 0);
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("gui-bench: %s\n", error->message);
      return 2;
    }
  if (opt_fixtures == NULL)
    opt_fixtures = g_strdup ("tests/fixtures");
  if (opt_rates == NULL)
    opt_rates = g_strdup ("5000,10000,20000");
  if (opt_events < 1 || opt_runs < 1 || opt_scroll_frames < 1 || opt_live_seconds <= 0)
    {
      g_printerr ("gui-bench: --events, --runs, --scroll-frames and --live-seconds must be "
                  "positive\n");
      return 2;
    }
  gtk_init ();
  adw_init ();

  g_print ("gui-bench: GTK %u.%u.%u, libadwaita %u.%u.%u, GDK_BACKEND=%s GSK_RENDERER=%s\n",
           gtk_get_major_version (), gtk_get_minor_version (), gtk_get_micro_version (),
           adw_get_major_version (), adw_get_minor_version (), adw_get_micro_version (),
           g_getenv ("GDK_BACKEND") ?: "(unset)", g_getenv ("GSK_RENDERER") ?: "(unset)");

  if (part_wanted ("open") || part_wanted ("scroll"))
    {
      gint64 t0 = now_us ();
      struct stat st;

      if (opt_trace != NULL)
        path = opt_trace;
      else
        {
          int fd = g_file_open_tmp ("gui-bench-XXXXXX.jsonl", &tmp_path, &error);

          if (fd < 0)
            g_error ("%s", error->message);
          close (fd);
          path = tmp_path;
        }
      if (!write_trace (opt_fixtures, path, (guint) opt_events, &error))
        {
          g_printerr ("gui-bench: %s\n", error->message);
          return 1;
        }
      g_print ("trace: %d events, %.1f MiB, written in %.2f s (%s)\n", opt_events,
               g_stat (path, &st) == 0 ? st.st_size / 1048576.0 : 0,
               (now_us () - t0) / 1e6, path);
      window = bench_open (path, (guint) opt_events);
      g_print ("  peak RSS (VmHWM) after the open runs: %.0f MiB\n", peak_rss_kib () / 1024.0);
      if (part_wanted ("scroll"))
        bench_scroll (window);
      destroy_window (window);
      if (tmp_path != NULL)
        g_unlink (tmp_path);
    }
  if (part_wanted ("live"))
    bench_live ();
  g_print ("\npeak RSS (VmHWM) at the end: %.0f MiB\n", peak_rss_kib () / 1024.0);
  return 0;
}
