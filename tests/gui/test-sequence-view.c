/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-sequence-view"

#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "gui-test-display.h"
#include "gui-test-fixture.h"
#include "ms-diagram-model.h"
#include "ms-sequence-view.h"
#include "ms-trace-model.h"

/* Needs a display: the suite runs it under Xvfb (xvfb-run -a). */

#define VIEW_WIDTH 900
#define VIEW_HEIGHT 600
#define WAIT_MS 5000

typedef struct {
  MsTraceModel *trace;
  MsDiagramModel *model;
  GtkWidget *window;
  MsSequenceView *view;
  GtkAdjustment *vadj;
  guint n_applied;        /* events of `trace` applied to `model` so far */
} Fixture;

static void
apply_events (Fixture *f,
              guint up_to)
{
  for (; f->n_applied < up_to; f->n_applied++)
    ms_diagram_model_apply (f->model, ms_trace_model_get_event (f->trace, f->n_applied));
}

/* Iterates the main context until the view is mapped and laid out. */
static void
wait_for_layout (Fixture *f)
{
  gboolean expired = FALSE;
  guint timeout = g_timeout_add (WAIT_MS, gui_test_timed_out, &expired);

  while (!expired
         && (!gtk_widget_get_mapped (GTK_WIDGET (f->view))
             || gtk_widget_get_height (GTK_WIDGET (f->view)) == 0))
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timeout);
  g_assert_false (expired);
  gui_test_drain ();
}

/* The view alone in a window of a fixed size (no scrolled window, so the
 * view's height is the window's), loaded with the first `n_events` events
 * of `fixture`. */
static void
fixture_set_up (Fixture *f,
                const char *fixture,
                guint n_events)
{
  f->trace = gui_test_load_fixture (fixture);
  f->model = ms_diagram_model_new ();
  apply_events (f, MIN (n_events, ms_trace_model_get_n_events (f->trace)));

  f->view = MS_SEQUENCE_VIEW (ms_sequence_view_new ());
  ms_sequence_view_set_model (f->view, f->model);
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), VIEW_WIDTH, VIEW_HEIGHT);
  gtk_window_set_resizable (GTK_WINDOW (f->window), FALSE);
  gtk_window_set_decorated (GTK_WINDOW (f->window), FALSE);
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->view));
  gtk_window_present (GTK_WINDOW (f->window));
  f->vadj = gtk_scrollable_get_vadjustment (GTK_SCROLLABLE (f->view));
  wait_for_layout (f);
}

static void
fixture_tear_down (Fixture *f)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  gui_test_drain ();
  g_clear_object (&f->model);
  g_clear_object (&f->trace);
}

static guint
n_arrows (Fixture *f)
{
  return g_list_model_get_n_items (G_LIST_MODEL (f->model));
}

static guint64
seq_at (Fixture *f,
        guint position)
{
  g_autoptr(MsArrowItem) arrow = g_list_model_get_item (G_LIST_MODEL (f->model), position);

  g_assert_nonnull (arrow);
  return ms_arrow_item_get_seq (arrow);
}

/* How many rows fit under the header, counting a partly shown last one. */
static guint
rows_that_fit (Fixture *f)
{
  int header, row;

  ms_sequence_view_get_metrics (f->view, &header, &row);
  return (guint) ceil ((double) (gtk_widget_get_height (GTK_WIDGET (f->view)) - header) / row);
}

static void
scroll_to (Fixture *f,
           double value)
{
  gtk_adjustment_set_value (f->vadj, value);
  gui_test_drain ();
}

static void
scroll_to_end (Fixture *f)
{
  scroll_to (f, gtk_adjustment_get_upper (f->vadj) - gtk_adjustment_get_page_size (f->vadj));
}

/* ---- Colours ---- */

/* Adwaita's view and window backgrounds, light and dark. */
static const struct {
  const char *name;
  GdkRGBA background;
  gboolean dark;
} backgrounds[] = {
  { "light view", { 1.0, 1.0, 1.0, 1.0 }, FALSE },
  { "light window", { 0xfa / 255.0, 0xfa / 255.0, 0xfa / 255.0, 1.0 }, FALSE },
  { "dark view", { 0x1e / 255.0, 0x1e / 255.0, 0x1e / 255.0, 1.0 }, TRUE },
  { "dark window", { 0x24 / 255.0, 0x24 / 255.0, 0x24 / 255.0, 1.0 }, TRUE },
};

static void
test_colors_contrast (void)
{
  GEnumClass *classes = g_type_class_ref (MS_TYPE_ARROW_CLASS);

  for (gsize b = 0; b < G_N_ELEMENTS (backgrounds); b++)
    for (guint k = 0; k < classes->n_values; k++)
      {
        MsArrowClass klass = classes->values[k].value;
        const GdkRGBA *color = ms_sequence_view_get_class_color (klass, backgrounds[b].dark);
        double ratio = ms_sequence_view_contrast_ratio (color, &backgrounds[b].background);

        g_test_message ("%s on %s: %.2f:1", ms_arrow_class_to_string (klass),
                        backgrounds[b].name, ratio);
        /* WCAG 2.1 §1.4.11: graphical objects need 3:1. */
        g_assert_cmpfloat (ratio, >=, 3.0);
      }

  /* The classes must be told apart from each other too. */
  for (int dark = 0; dark < 2; dark++)
    for (guint a = 0; a < classes->n_values; a++)
      for (guint b = a + 1; b < classes->n_values; b++)
        g_assert_false (gdk_rgba_equal (ms_sequence_view_get_class_color (a, dark),
                                        ms_sequence_view_get_class_color (b, dark)));
  g_type_class_unref (classes);
}

/* ---- Geometry and scrolling ---- */

static void
test_layout (void)
{
  Fixture f = { 0 };
  int header, row, text_h;
  guint first, last, n;
  g_autoptr(PangoLayout) layout = NULL;

  fixture_set_up (&f, "lecture.jsonl", G_MAXUINT);
  n = n_arrows (&f);
  g_assert_cmpuint (n, >, rows_that_fit (&f));

  /* Rows are tall enough for a line of the widget's font. */
  ms_sequence_view_get_metrics (f.view, &header, &row);
  layout = gtk_widget_create_pango_layout (GTK_WIDGET (f.view), "Hg");
  pango_layout_get_pixel_size (layout, NULL, &text_h);
  g_assert_cmpint (row, >=, text_h * 3 / 2);
  g_assert_cmpint (header, >=, text_h);

  g_assert_cmpfloat (gtk_adjustment_get_upper (f.vadj), ==, header + (double) n * row);
  g_assert_cmpfloat (gtk_adjustment_get_page_size (f.vadj), ==, VIEW_HEIGHT);

  /* Follow is on by default: the view opens at the newest arrow. */
  g_assert_true (ms_sequence_view_get_follow (f.view));
  ms_sequence_view_get_visible_rows (f.view, &first, &last);
  g_assert_cmpuint (last, ==, n);

  /* Back to the top: the first rows, no more than fit; following stops. */
  scroll_to (&f, 0);
  g_assert_false (ms_sequence_view_get_follow (f.view));
  ms_sequence_view_get_visible_rows (f.view, &first, &last);
  g_assert_cmpuint (first, ==, 0);
  g_assert_cmpuint (last, ==, rows_that_fit (&f));

  /* Half a row down: the first row is still partly on screen. */
  scroll_to (&f, row / 2.0);
  ms_sequence_view_get_visible_rows (f.view, &first, &last);
  g_assert_cmpuint (first, ==, 0);
  g_assert_cmpuint (last - first, <=, rows_that_fit (&f) + 1);

  /* To the end: the range ends at the last arrow, and following resumes. */
  scroll_to_end (&f);
  g_assert_true (ms_sequence_view_get_follow (f.view));
  ms_sequence_view_get_visible_rows (f.view, &first, &last);
  g_assert_cmpuint (last, ==, n);
  g_assert_cmpuint (last - first, <=, rows_that_fit (&f));

  /* Zoom scales rows with the text, and the bound follows. */
  ms_sequence_view_set_zoom (f.view, 2.0);
  {
    int header2, row2;

    ms_sequence_view_get_metrics (f.view, &header2, &row2);
    g_assert_cmpint (row2, >=, row * 2 - 2);
    g_assert_cmpint (row2, <=, row * 2 + 2);
    g_assert_cmpfloat (gtk_adjustment_get_upper (f.vadj), ==, header2 + (double) n * row2);
  }

  fixture_tear_down (&f);
}

static void
test_follow (void)
{
  Fixture f = { 0 };
  guint first, last, n_events, before;
  double value;

  /* Start with half of the trace, then let the rest arrive. */
  fixture_set_up (&f, "lecture.jsonl", 0);
  n_events = ms_trace_model_get_n_events (f.trace);
  apply_events (&f, n_events / 2);
  gui_test_drain ();
  g_assert_true (ms_sequence_view_get_follow (f.view));
  ms_sequence_view_get_visible_rows (f.view, &first, &last);
  g_assert_cmpuint (last, ==, n_arrows (&f));

  /* Scrolled back: new arrows extend the bound but do not move the view. */
  scroll_to (&f, 0);
  g_assert_false (ms_sequence_view_get_follow (f.view));
  before = n_arrows (&f);
  apply_events (&f, n_events * 3 / 4);
  gui_test_drain ();
  g_assert_cmpuint (n_arrows (&f), >, before);
  g_assert_cmpfloat (gtk_adjustment_get_value (f.vadj), ==, 0);
  ms_sequence_view_get_visible_rows (f.view, &first, &last);
  g_assert_cmpuint (first, ==, 0);

  /* Following again: the rest arrives and the view stays at the end. */
  ms_sequence_view_set_follow (f.view, TRUE);
  apply_events (&f, n_events);
  gui_test_drain ();
  ms_sequence_view_get_visible_rows (f.view, &first, &last);
  g_assert_cmpuint (last, ==, n_arrows (&f));
  value = gtk_adjustment_get_value (f.vadj);
  g_assert_cmpfloat (value + gtk_adjustment_get_page_size (f.vadj), ==,
                     gtk_adjustment_get_upper (f.vadj));

  fixture_tear_down (&f);
}

static void
notify_count (GObject *object,
              GParamSpec *pspec,
              gpointer data)
{
  (*(guint *) data)++;
}

static GtkGesture *
find_click_gesture (GtkWidget *widget)
{
  g_autoptr(GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr(GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_GESTURE_CLICK (controller))
        return GTK_GESTURE (controller);
    }
  return NULL;
}

/* The first arrow whose seq no other arrow shares. */
static guint
unique_seq_position (Fixture *f)
{
  for (guint i = 0; i < n_arrows (f); i++)
    {
      guint same = 0;

      for (guint k = 0; k < n_arrows (f); k++)
        same += seq_at (f, k) == seq_at (f, i);
      if (same == 1)
        return i;
    }
  g_assert_not_reached ();
}

static void
test_selection (void)
{
  Fixture f = { 0 };
  guint notified = 0, first, last, target;
  int header, row;
  GtkGesture *click;

  fixture_set_up (&f, "lecture.jsonl", G_MAXUINT);
  g_signal_connect (f.view, "notify::selected-seq", G_CALLBACK (notify_count), &notified);
  ms_sequence_view_get_metrics (f.view, &header, &row);
  scroll_to (&f, 0);
  g_assert_cmpuint (ms_sequence_view_get_selected_seq (f.view), ==, 0);

  /* A click on the third row selects its arrow. */
  click = find_click_gesture (GTK_WIDGET (f.view));
  g_assert_nonnull (click);
  g_signal_emit_by_name (click, "pressed", 1, 100.0, header + 2.5 * row);
  g_assert_cmpuint (ms_sequence_view_get_selected_seq (f.view), ==, seq_at (&f, 2));
  g_assert_cmpuint (notified, ==, 1);

  /* A click on the header selects nothing new. */
  g_signal_emit_by_name (click, "pressed", 1, 100.0, header / 2.0);
  g_assert_cmpuint (ms_sequence_view_get_selected_seq (f.view), ==, seq_at (&f, 2));

  /* Down and Up (the actions their keys are bound to) move to the next and
   * back; the seqs differ, so each move notifies. */
  g_assert_cmpuint (seq_at (&f, 3), !=, seq_at (&f, 2));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.view),
                                             "sequence.select-next", NULL));
  g_assert_cmpuint (ms_sequence_view_get_selected_seq (f.view), ==, seq_at (&f, 3));
  g_assert_cmpuint (notified, ==, 2);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.view),
                                             "sequence.select-previous", NULL));
  g_assert_cmpuint (ms_sequence_view_get_selected_seq (f.view), ==, seq_at (&f, 2));

  /* End selects the last arrow and brings it on screen. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (f.view),
                                             "sequence.select-last", NULL));
  g_assert_cmpuint (ms_sequence_view_get_selected_seq (f.view), ==,
                    seq_at (&f, n_arrows (&f) - 1));
  ms_sequence_view_get_visible_rows (f.view, &first, &last);
  g_assert_cmpuint (last, ==, n_arrows (&f));

  /* Selection from outside (the inspector) scrolls to the arrow. seq is
   * per server, so take one near the top that no other arrow has. */
  target = unique_seq_position (&f);
  ms_sequence_view_set_selected_seq (f.view, seq_at (&f, target));
  g_assert_true (ms_sequence_view_get_selected_arrow (f.view)
                 == g_list_model_get_item (G_LIST_MODEL (f.model), target));
  g_object_unref (ms_sequence_view_get_selected_arrow (f.view));
  ms_sequence_view_get_visible_rows (f.view, &first, &last);
  g_assert_cmpuint (first, <=, target);
  g_assert_cmpuint (last, >, target);
  ms_sequence_view_set_selected_seq (f.view, 0);
  g_assert_cmpuint (ms_sequence_view_get_selected_seq (f.view), ==, 0);

  fixture_tear_down (&f);
}

/* More lanes than fit (imap-move: three peers left of beta.test, zoomed):
 * while following, the newest arrow's lanes are on screen. */
static void
test_follow_sideways (void)
{
  Fixture f = { 0 };
  g_autoptr(MsArrowItem) last = NULL;
  int gutter;
  double from_x, to_x;

  fixture_set_up (&f, "imap-move.jsonl", G_MAXUINT);
  ms_sequence_view_set_zoom (f.view, 3.0);
  wait_for_layout (&f);
  gui_test_drain ();
  g_assert_true (ms_sequence_view_get_follow (f.view));
  g_assert_cmpfloat (gtk_adjustment_get_upper (gtk_scrollable_get_hadjustment (
                       GTK_SCROLLABLE (f.view))), >, VIEW_WIDTH);
  last = g_list_model_get_item (G_LIST_MODEL (f.model), n_arrows (&f) - 1);
  gutter = ms_sequence_view_get_gutter_width (f.view, NULL);
  from_x = ms_sequence_view_get_lane_x (f.view, ms_arrow_item_get_from_lane (last));
  to_x = ms_sequence_view_get_lane_x (f.view, ms_arrow_item_get_to_lane (last));
  g_test_message ("gutter %d, lanes at %.0f and %.0f", gutter, from_x, to_x);
  g_assert_cmpfloat (MIN (from_x, to_x), >=, gutter);
  g_assert_cmpfloat (MAX (from_x, to_x), <=, VIEW_WIDTH);
  fixture_tear_down (&f);
}

/* ---- Rendering ---- */

static gboolean
count_frame (GtkWidget *widget,
             GdkFrameClock *clock,
             gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

/* Lets the frame clock paint twice, so what is rendered is up to date. */
static void
wait_for_frames (Fixture *f)
{
  guint frames = 0;
  gboolean expired = FALSE;
  guint timeout = g_timeout_add (WAIT_MS, gui_test_timed_out, &expired);
  guint tick = gtk_widget_add_tick_callback (GTK_WIDGET (f->view), count_frame, &frames, NULL);

  while (!expired && frames < 2)
    g_main_context_iteration (NULL, TRUE);
  gtk_widget_remove_tick_callback (GTK_WIDGET (f->view), tick);
  if (!expired)
    g_source_remove (timeout);
  g_assert_false (expired);
}

static GdkTexture *
render_view (Fixture *f)
{
  GtkWidget *widget = GTK_WIDGET (f->view);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));

  wait_for_frames (f);
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (renderer, node,
                                      &GRAPHENE_RECT_INIT (0, 0, width, height));
}

/* Counts the pixels of `texture` (downloaded as Cairo ARGB32, premultiplied,
 * opaque here) equal to `color` within a small tolerance. */
static guint
count_pixels (const guchar *data,
              gsize stride,
              int width,
              int height,
              const GdkRGBA *color)
{
  guint count = 0;

  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        const guint32 pixel = *(const guint32 *) (data + y * stride + x * 4);
        int r = (pixel >> 16) & 0xff, g = (pixel >> 8) & 0xff, b = pixel & 0xff;

        if (ABS (r - (int) round (color->red * 255)) <= 2
            && ABS (g - (int) round (color->green * 255)) <= 2
            && ABS (b - (int) round (color->blue * 255)) <= 2)
          count++;
      }
  return count;
}

static void
test_render_png (void)
{
  Fixture f = { 0 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-sequence-view-XXXXXX", &error);
  g_autofree char *path = NULL;
  g_autofree guchar *data = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GHashTable) colors = g_hash_table_new (NULL, NULL);
  /* Set to a path to keep a copy of the rendering (to look at it). */
  const char *keep = g_getenv ("MS_TEST_SEQUENCE_VIEW_PNG");
  int width, height;
  gsize stride;
  guint command_px = 0, ok_px = 0;
  guint64 seq;

  g_assert_no_error (error);
  fixture_set_up (&f, "lecture.jsonl", G_MAXUINT);
  /* The start of the lecture, with a row selected, as a class would see it. */
  scroll_to (&f, 0);
  seq = seq_at (&f, 5);
  ms_sequence_view_set_selected_seq (f.view, seq);
  gui_test_drain ();

  texture = render_view (&f);
  g_assert_nonnull (texture);
  path = g_build_filename (dir, "sequence-view.png", NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  if (keep != NULL)
    g_assert_true (gdk_texture_save_to_png (texture, keep));
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));

  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  g_assert_cmpint (width, ==, gtk_widget_get_width (GTK_WIDGET (f.view)));
  g_assert_cmpint (height, ==, gtk_widget_get_height (GTK_WIDGET (f.view)));
  stride = (gsize) width * 4;
  data = g_malloc (stride * height);
  gdk_texture_download (texture, data, stride);

  /* Not blank: many colours (text is antialiased), and arrows in the
   * colours of commands and of OK replies (either theme). */
  for (int y = 0; y < height; y += 3)
    for (int x = 0; x < width; x += 3)
      g_hash_table_add (colors, GUINT_TO_POINTER (*(guint32 *) (data + y * stride + x * 4)));
  g_assert_cmpuint (g_hash_table_size (colors), >, 16);
  for (int dark = 0; dark < 2; dark++)
    {
      command_px += count_pixels (data, stride, width, height,
                                  ms_sequence_view_get_class_color (MS_ARROW_CLASS_COMMAND,
                                                                    dark));
      ok_px += count_pixels (data, stride, width, height,
                             ms_sequence_view_get_class_color (MS_ARROW_CLASS_OK, dark));
    }
  g_assert_cmpuint (command_px, >, 100);
  g_assert_cmpuint (ok_px, >, 100);

  fixture_tear_down (&f);
  g_assert_cmpint (g_unlink (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* ---- Labels and the tag column ---- */

static void
test_label_glyphs (void)
{
  static const struct {
    const char *text;
    const char *drawn;
  } cases[] = {
    { "EHLO laptop", "EHLO laptop" },
    /* The line's own end is not drawn. */
    { "QUIT\r\n", "QUIT" },
    /* Inside a line, nothing is invisible. */
    { "MAIL FROM:<a@b>\rRCPT", "MAIL FROM:<a@b>\u240dRCPT" },
    { "DATA\nQUIT", "DATA\u240aQUIT" },
    { "a1\tLOGIN", "a1\u2409LOGIN" },
    { "x\x01y\x7f", "x\u2401y\u2421" },
    /* A bare LF at the end is no CRLF: it is shown. */
    { "Subject: hi\n", "Subject: hi\u240a" },
    { "\r", "\u240d" },
    /* A message's lines: where each next one begins. */
    { "Received: a\r\n\tby b\r\n", "Received: a \u21b5 \u2409by b" },
    { "", "" },
  };
  g_autofree char *long_line = g_strnfill (5000, 'x');
  g_autofree char *drawn = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *label = ms_sequence_view_format_label (cases[i].text);

      g_assert_cmpstr (label, ==, cases[i].drawn);
    }
  /* A 64 KiB message is cut long before it reaches Pango. */
  drawn = ms_sequence_view_format_label (long_line);
  g_assert_cmpuint (strlen (drawn), <, 500);
  g_assert_true (g_str_has_suffix (drawn, "\u2026"));
  g_assert_true (g_utf8_validate (drawn, -1, NULL));
}

/* The width of `text` in the widget's font at `factor`, bold, measured
 * here as the view should: the tag column must hold it. */
static int
measure_tag (GtkWidget *widget,
             const char *text,
             double factor)
{
  const PangoFontDescription *base =
    pango_context_get_font_description (gtk_widget_get_pango_context (widget));
  g_autoptr(PangoFontDescription) desc = pango_font_description_copy (base);
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
  PangoRectangle ink, logical;

  int size = pango_font_description_get_size (desc);

  if (size <= 0)
    size = 11 * PANGO_SCALE;
  if (pango_font_description_get_size_is_absolute (desc))
    pango_font_description_set_absolute_size (desc, size * factor);
  else
    pango_font_description_set_size (desc, (int) (size * factor));
  pango_font_description_set_weight (desc, PANGO_WEIGHT_BOLD);
  pango_layout_set_font_description (layout, desc);
  pango_layout_get_pixel_extents (layout, &ink, &logical);
  return MAX (logical.x + logical.width, ink.x + ink.width);
}

static void
test_tag_column (void)
{
  static const char * const sizes[] = { "8pt", "11pt", "16pt", "23pt", "31pt" };
  static const double zooms[] = { 0.5, 1.0, 1.5, 2.5, 4.0 };
  Fixture f = { 0 };
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();

  g_test_summary ("The protocol tag column fits SMTP, POP3 and IMAP in every font size "
                  "and zoom: measured, not fixed.");
  fixture_set_up (&f, "lecture.jsonl", G_MAXUINT);
  gtk_style_context_add_provider_for_display (gtk_widget_get_display (f.window),
                                              GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_USER);
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++)
    {
      g_autofree char *rule = g_strdup_printf ("sequenceview { font-size: %s; }", sizes[s]);

      gtk_css_provider_load_from_data (css, rule, -1);
      gui_test_drain ();
      for (gsize z = 0; z < G_N_ELEMENTS (zooms); z++)
        {
          int gutter, chip, widest = 0;

          ms_sequence_view_set_zoom (f.view, zooms[z]);
          gutter = ms_sequence_view_get_gutter_width (f.view, &chip);
          for (gsize t = 0; t < 3; t++)
            widest = MAX (widest, measure_tag (GTK_WIDGET (f.view),
                                               (const char *[]) { "SMTP", "POP3", "IMAP" }[t],
                                               zooms[z] * 0.8));
          g_test_message ("%s x %.1f: tags %d px, chip %d px, column %d px", sizes[s],
                          zooms[z], widest, chip, gutter);
          g_assert_cmpint (chip, >, widest);
          /* The chip, with a margin either side, in the column. */
          g_assert_cmpint (gutter, >=, chip + 2);
        }
    }
  gtk_style_context_remove_provider_for_display (gtk_widget_get_display (f.window),
                                                 GTK_STYLE_PROVIDER (css));
  fixture_tear_down (&f);
}

int
main (int argc,
      char *argv[])
{
  gboolean display = gui_test_init_display (&argc, &argv, "/gui/sequence-view/no-display");

  g_test_add_func ("/gui/sequence-view/colors", test_colors_contrast);
  g_test_add_func ("/gui/sequence-view/label-glyphs", test_label_glyphs);
  if (!display)
    return g_test_run ();
  g_test_add_func ("/gui/sequence-view/layout", test_layout);
  g_test_add_func ("/gui/sequence-view/follow", test_follow);
  g_test_add_func ("/gui/sequence-view/follow-sideways", test_follow_sideways);
  g_test_add_func ("/gui/sequence-view/selection", test_selection);
  g_test_add_func ("/gui/sequence-view/render-png", test_render_png);
  g_test_add_func ("/gui/sequence-view/tag-column", test_tag_column);
  return g_test_run ();
}
