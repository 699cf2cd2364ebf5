/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-state-view"

#include "config.h"

#include "gui-test-display.h"

#include <glib/gstdio.h>

#include "ms-imap-session.h"
#include "ms-pop3-session.h"
#include "ms-sequence-view.h"
#include "ms-smtp-client.h"
#include "ms-smtp-session.h"
#include "ms-state-view.h"

/* Needs a display: the suite runs it under Xvfb (xvfb-run -a). */

#define VIEW_WIDTH 1000
#define VIEW_HEIGHT 640
#define WAIT_MS 5000

typedef const char *(*StateToString) (guint state);

/* Each protocol with its engine's state names, read from the engine itself
 * so a state added there and not drawn here fails the test; and a real
 * transition of that engine (from its set_state calls). */
static const struct {
  const char *proto;
  StateToString to_string;
  guint n_states;
  const char *from;
  const char *to;
} protocols[] = {
  { "smtp", (StateToString) ms_smtp_state_to_string, MS_SMTP_N_STATES, "rcpt", "data" },
  { "pop3", (StateToString) ms_pop3_state_to_string, MS_POP3_N_STATES,
    "authorization", "transaction" },
  { "imap", (StateToString) ms_imap_state_to_string, MS_IMAP_N_STATES,
    "authenticated", "selected" },
  { "smtp-relay", (StateToString) ms_smtp_client_state_to_string, MS_SMTP_CLIENT_N_STATES,
    "mail", "rcpt" },
};

typedef struct {
  GtkWidget *window;
  MsStateView *view;
} Fixture;

static void
fixture_set_up (Fixture *f,
                const char *proto)
{
  gboolean expired = FALSE;
  guint timeout;

  f->view = MS_STATE_VIEW (ms_state_view_new ());
  ms_state_view_set_protocol (f->view, proto);
  f->window = gtk_window_new ();
  gtk_window_set_default_size (GTK_WINDOW (f->window), VIEW_WIDTH, VIEW_HEIGHT);
  gtk_window_set_resizable (GTK_WINDOW (f->window), FALSE);
  gtk_window_set_decorated (GTK_WINDOW (f->window), FALSE);
  gtk_window_set_child (GTK_WINDOW (f->window), GTK_WIDGET (f->view));
  gtk_window_present (GTK_WINDOW (f->window));

  timeout = g_timeout_add (WAIT_MS, gui_test_timed_out, &expired);
  while (!expired
         && (!gtk_widget_get_mapped (GTK_WIDGET (f->view))
             || gtk_widget_get_height (GTK_WIDGET (f->view)) == 0))
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (timeout);
  g_assert_false (expired);
  gui_test_drain ();
}

static void
fixture_tear_down (Fixture *f)
{
  gtk_window_destroy (GTK_WINDOW (f->window));
  gui_test_drain ();
}

static gboolean
rects_overlap (const graphene_rect_t *a,
               const graphene_rect_t *b)
{
  graphene_rect_t both;

  return graphene_rect_intersection (a, b, &both)
         && both.size.width > 0 && both.size.height > 0;
}

/* Every state of every engine is a box, inside the widget, apart from the
 * others. */
static void
test_boxes (void)
{
  for (gsize p = 0; p < G_N_ELEMENTS (protocols); p++)
    {
      Fixture f = { 0 };
      graphene_rect_t whole = GRAPHENE_RECT_INIT (0, 0, VIEW_WIDTH, VIEW_HEIGHT);

      fixture_set_up (&f, protocols[p].proto);
      g_assert_cmpstr (ms_state_view_get_protocol (f.view), ==, protocols[p].proto);
      g_assert_cmpuint (ms_state_view_get_n_boxes (f.view), ==, protocols[p].n_states);
      for (guint s = 0; s < protocols[p].n_states; s++)
        {
          const char *name = protocols[p].to_string (s);
          graphene_rect_t rect, other;

          g_test_message ("%s: %s", protocols[p].proto, name);
          g_assert_true (ms_state_view_get_box (f.view, name, &rect));
          g_assert_cmpfloat (rect.size.width, >, 0);
          g_assert_true (graphene_rect_contains_rect (&whole, &rect));
          for (guint o = s + 1; o < protocols[p].n_states; o++)
            {
              g_assert_true (ms_state_view_get_box (f.view, protocols[p].to_string (o),
                                                    &other));
              g_assert_false (rects_overlap (&rect, &other));
            }
        }
      g_assert_false (ms_state_view_get_box (f.view, "no-such-state", NULL));
      fixture_tear_down (&f);
    }
}

static void
test_set_state (void)
{
  for (gsize p = 0; p < G_N_ELEMENTS (protocols); p++)
    {
      Fixture f = { 0 };
      const char *from = NULL, *to = NULL;

      fixture_set_up (&f, protocols[p].proto);
      g_assert_null (ms_state_view_get_current (f.view));
      g_assert_false (ms_state_view_get_highlighted (f.view, NULL, NULL));

      /* The first event of a session: from "" lights the state only. */
      ms_state_view_set_state (f.view, "", protocols[p].to_string (0));
      g_assert_cmpstr (ms_state_view_get_current (f.view), ==, protocols[p].to_string (0));
      g_assert_false (ms_state_view_get_highlighted (f.view, NULL, NULL));

      /* A transition of the engine: lit and highlighted. */
      ms_state_view_set_state (f.view, protocols[p].from, protocols[p].to);
      g_assert_cmpstr (ms_state_view_get_current (f.view), ==, protocols[p].to);
      g_assert_true (ms_state_view_get_highlighted (f.view, &from, &to));
      g_assert_cmpstr (from, ==, protocols[p].from);
      g_assert_cmpstr (to, ==, protocols[p].to);

      /* No engine goes back to its first state from there: not in the
       * table, yet the target is still lit. */
      ms_state_view_set_state (f.view, protocols[p].to, protocols[p].to_string (0));
      g_assert_cmpstr (ms_state_view_get_current (f.view), ==, protocols[p].to_string (0));
      g_assert_false (ms_state_view_get_highlighted (f.view, NULL, NULL));

      /* Every engine state can be lit. */
      for (guint s = 0; s < protocols[p].n_states; s++)
        {
          ms_state_view_set_state (f.view, "bogus", protocols[p].to_string (s));
          g_assert_cmpstr (ms_state_view_get_current (f.view), ==,
                           protocols[p].to_string (s));
        }

      /* An unknown state lights nothing; another protocol clears. */
      ms_state_view_set_state (f.view, protocols[p].from, "no-such-state");
      g_assert_null (ms_state_view_get_current (f.view));
      ms_state_view_set_state (f.view, protocols[p].from, protocols[p].to);
      ms_state_view_set_protocol (f.view, p == 0 ? "pop3" : "smtp");
      g_assert_null (ms_state_view_get_current (f.view));
      g_assert_false (ms_state_view_get_highlighted (f.view, NULL, NULL));
      ms_state_view_set_protocol (f.view, NULL);
      g_assert_cmpuint (ms_state_view_get_n_boxes (f.view), ==, 0);
      fixture_tear_down (&f);
    }
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

static GdkTexture *
render_view (Fixture *f)
{
  GtkWidget *widget = GTK_WIDGET (f->view);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));
  guint frames = 0;
  gboolean expired = FALSE;
  guint timeout = g_timeout_add (WAIT_MS, gui_test_timed_out, &expired);
  guint tick = gtk_widget_add_tick_callback (widget, count_frame, &frames, NULL);

  /* Let the frame clock paint twice, so what is rendered is up to date. */
  while (!expired && frames < 2)
    g_main_context_iteration (NULL, TRUE);
  gtk_widget_remove_tick_callback (widget, tick);
  if (!expired)
    g_source_remove (timeout);
  g_assert_false (expired);

  /* The window's background under the view, as on screen. */
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 1, 1, 1, 1 },
                             &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (renderer, node,
                                      &GRAPHENE_RECT_INIT (0, 0, width, height));
}

/* Pixels of the (opaque, Cairo ARGB32) image equal to `color`, within a
 * small tolerance, inside `rect`. */
static guint
count_pixels (const guchar *data,
              gsize stride,
              const graphene_rect_t *rect,
              const GdkRGBA *color)
{
  guint count = 0;

  for (int y = (int) rect->origin.y; y < (int) (rect->origin.y + rect->size.height); y++)
    for (int x = (int) rect->origin.x; x < (int) (rect->origin.x + rect->size.width); x++)
      {
        const guint32 pixel = *(const guint32 *) (data + y * stride + x * 4);
        int r = (pixel >> 16) & 0xff, g = (pixel >> 8) & 0xff, b = pixel & 0xff;

        if (ABS (r - (int) (color->red * 255 + 0.5)) <= 2
            && ABS (g - (int) (color->green * 255 + 0.5)) <= 2
            && ABS (b - (int) (color->blue * 255 + 0.5)) <= 2)
          count++;
      }
  return count;
}

static void
test_render_png (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("test-state-view-XXXXXX", &error);
  /* Set to a directory to keep the renderings (to look at them). */
  const char *keep = g_getenv ("MS_TEST_STATE_VIEW_PNG_DIR");

  g_assert_no_error (error);
  for (gsize p = 0; p < G_N_ELEMENTS (protocols); p++)
    {
      Fixture f = { 0 };
      g_autofree char *name = g_strdup_printf ("%s.png", protocols[p].proto);
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree guchar *data = NULL;
      g_autoptr(GdkTexture) texture = NULL;
      g_autoptr(GHashTable) colors = g_hash_table_new (NULL, NULL);
      graphene_rect_t lit, unlit, whole;
      guint lit_px = 0, unlit_px = 0;
      int width, height;
      gsize stride;

      fixture_set_up (&f, protocols[p].proto);
      ms_state_view_set_state (f.view, protocols[p].from, protocols[p].to);
      texture = render_view (&f);
      g_assert_true (gdk_texture_save_to_png (texture, path));
      if (keep != NULL)
        {
          g_autofree char *kept = g_build_filename (keep, name, NULL);

          g_assert_true (gdk_texture_save_to_png (texture, kept));
        }

      width = gdk_texture_get_width (texture);
      height = gdk_texture_get_height (texture);
      stride = (gsize) width * 4;
      data = g_malloc (stride * height);
      gdk_texture_download (texture, data, stride);
      whole = GRAPHENE_RECT_INIT (0, 0, width, height);

      /* Not blank: many colours (antialiased text and curves). */
      for (int y = 0; y < height; y += 2)
        for (int x = 0; x < width; x += 2)
          g_hash_table_add (colors, GUINT_TO_POINTER (*(guint32 *) (data + y * stride + x * 4)));
      g_assert_cmpuint (g_hash_table_size (colors), >, 16);

      /* The lit box is filled with the command colour, an unlit one is
       * not, and the highlighted arrow is drawn in the OK colour. */
      g_assert_true (ms_state_view_get_box (f.view, protocols[p].to, &lit));
      g_assert_true (ms_state_view_get_box (f.view, protocols[p].from, &unlit));
      for (int dark = 0; dark < 2; dark++)
        {
          lit_px += count_pixels (data, stride, &lit,
                                  ms_sequence_view_get_class_color (MS_ARROW_CLASS_COMMAND,
                                                                    dark));
          unlit_px += count_pixels (data, stride, &unlit,
                                    ms_sequence_view_get_class_color (MS_ARROW_CLASS_COMMAND,
                                                                      dark));
        }
      g_assert_cmpuint (lit_px, >, lit.size.width * lit.size.height / 3);
      g_assert_cmpuint (unlit_px, ==, 0);
      g_assert_cmpuint (count_pixels (data, stride, &whole,
                                      ms_sequence_view_get_class_color (MS_ARROW_CLASS_OK,
                                                                        FALSE))
                        + count_pixels (data, stride, &whole,
                                        ms_sequence_view_get_class_color (MS_ARROW_CLASS_OK,
                                                                          TRUE)), >, 50);

      fixture_tear_down (&f);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

int
main (int argc,
      char *argv[])
{
  if (!gui_test_init_display (&argc, &argv, "/gui/state-view/no-display"))
    return g_test_run ();
  g_test_add_func ("/gui/state-view/boxes", test_boxes);
  g_test_add_func ("/gui/state-view/set-state", test_set_state);
  g_test_add_func ("/gui/state-view/render-png", test_render_png);
  return g_test_run ();
}
