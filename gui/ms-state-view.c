/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include <math.h>
#include <string.h>

#include "ms-diagram-model.h"
#include "ms-sequence-view.h"
#include "ms-draw-private.h"
#include "ms-state-view.h"

/* ---- The machines: one static table per protocol ----
 *
 * Positions are cells of a small grid (column, row). Transitions are the
 * ones the engines make (their set_state calls), labelled with what causes
 * them. `bend` curves an arrow to one side (in tenths of a cell height):
 * pairs of opposite arrows bend apart, and an arrow that would cross a box
 * bends round it. The first state is the initial one. */

typedef struct {
  const char *name;
  int col;
  int row;
} StateBox;

typedef struct {
  const char *from;
  const char *to;
  const char *label;
  int bend;
} Transition;

typedef struct {
  const char *proto;
  const StateBox *states;
  guint n_states;
  const Transition *transitions;
  guint n_transitions;
} Machine;

/* server/ms-smtp-session.c, ms-smtp-commands.c (RFC 5321 §4.1.4 order,
 * RFC 3207 §4.2: after TLS the client greets again; RFC 4954 AUTH). */
static const StateBox smtp_states[] = {
  { "connected", 0, 1 },
  { "ready", 1, 1 },
  { "mail", 2, 1 },
  { "rcpt", 3, 1 },
  { "data", 3, 0 },
  { "tls", 0, 0 },
  { "auth", 1, 0 },
  { "closed", 2, 2 },
};

static const Transition smtp_transitions[] = {
  { "connected", "ready", "EHLO/HELO", 0 },
  { "ready", "tls", "STARTTLS", 0 },
  { "tls", "connected", "handshake", 0 },
  { "ready", "auth", "AUTH", 2 },
  { "auth", "ready", "reply", 2 },
  { "ready", "mail", "MAIL", 2 },
  { "mail", "ready", "RSET", 2 },
  { "mail", "rcpt", "RCPT", 0 },
  { "rcpt", "data", "DATA", 0 },
  { "data", "ready", "<CRLF>.<CRLF>", -3 },
  { "connected", "closed", "QUIT", -4 },
  { "ready", "closed", "QUIT", -1 },
  { "mail", "closed", "QUIT", 0 },
  { "rcpt", "closed", "QUIT", 0 },
};

/* server/ms-pop3-session.c, ms-pop3-commands.c (RFC 1939 §3, RFC 2595 §4). */
static const StateBox pop3_states[] = {
  { "authorization", 0, 1 },
  { "tls", 0, 0 },
  { "transaction", 1, 1 },
  { "update", 2, 1 },
  { "closed", 1, 2 },
};

static const Transition pop3_transitions[] = {
  { "authorization", "tls", "STLS", 2 },
  { "tls", "authorization", "handshake", 2 },
  { "authorization", "transaction", "USER/PASS", 0 },
  { "transaction", "update", "QUIT", 0 },
  { "update", "closed", "done", 0 },
  { "authorization", "closed", "QUIT", 0 },
};

/* server/ms-imap-session.c, ms-imap-commands.c (RFC 3501 §3, figure in
 * §3.4; STARTTLS §6.2.1; CLOSE §6.4.2, UNSELECT RFC 3691). */
static const StateBox imap_states[] = {
  { "not-authenticated", 0, 1 },
  { "tls", 0, 0 },
  { "authenticated", 1, 1 },
  { "selected", 2, 1 },
  { "logout", 1, 2 },
};

static const Transition imap_transitions[] = {
  { "not-authenticated", "tls", "STARTTLS", 2 },
  { "tls", "not-authenticated", "handshake", 2 },
  { "not-authenticated", "authenticated", "LOGIN", 0 },
  { "authenticated", "selected", "SELECT", 2 },
  { "selected", "authenticated", "CLOSE", 2 },
  { "not-authenticated", "logout", "LOGOUT", 0 },
  { "authenticated", "logout", "LOGOUT", 0 },
  { "selected", "logout", "LOGOUT", 1 },
};

/* The relay's client (client/ms-smtp-client.c): one state per command it
 * waits on, so the labels are the replies that move it on. */
static const StateBox relay_states[] = {
  { "greeting", 0, 0 },
  { "ehlo", 1, 0 },
  { "starttls", 2, 0 },
  { "tls-handshake", 3, 0 },
  { "helo", 0, 1 },
  { "auth-plain", 1, 1 },
  { "auth-login", 2, 1 },
  { "auth-login-user", 3, 1 },
  { "data", 0, 2 },
  { "rcpt", 1, 2 },
  { "mail", 2, 2 },
  { "auth-login-pass", 3, 2 },
  { "body", 0, 3 },
  { "quit", 1, 3 },
  { "done", 2, 3 },
};

static const Transition relay_transitions[] = {
  { "greeting", "ehlo", "220", 0 },
  { "ehlo", "helo", "5xx", 0 },
  { "ehlo", "starttls", "250", 0 },
  { "starttls", "tls-handshake", "220", 0 },
  { "tls-handshake", "ehlo", "done", -5 },
  { "ehlo", "auth-plain", "250", 0 },
  { "ehlo", "auth-login", "250", 0 },
  { "auth-login", "auth-login-user", "334", 0 },
  { "auth-login-user", "auth-login-pass", "334", 0 },
  { "auth-login-pass", "mail", "235", 0 },
  { "auth-plain", "mail", "235", 0 },
  { "ehlo", "mail", "250", 0 },
  { "helo", "mail", "250", 0 },
  { "mail", "rcpt", "250", 0 },
  { "rcpt", "data", "250", 0 },
  { "data", "body", "354", 0 },
  { "body", "quit", "250", 0 },
  { "quit", "done", "221", 0 },
};

#define MACHINE(p, s, t) { p, s, G_N_ELEMENTS (s), t, G_N_ELEMENTS (t) }

static const Machine machines[] = {
  MACHINE ("smtp", smtp_states, smtp_transitions),
  MACHINE ("pop3", pop3_states, pop3_transitions),
  MACHINE ("imap", imap_states, imap_transitions),
  MACHINE ("smtp-relay", relay_states, relay_transitions),
};

static const Machine *
find_machine (const char *proto)
{
  for (gsize i = 0; i < G_N_ELEMENTS (machines); i++)
    if (g_strcmp0 (machines[i].proto, proto) == 0)
      return &machines[i];
  return NULL;
}

static int
find_state (const Machine *machine,
            const char *name)
{
  if (machine == NULL || name == NULL)
    return -1;
  for (guint i = 0; i < machine->n_states; i++)
    if (strcmp (machine->states[i].name, name) == 0)
      return (int) i;
  return -1;
}

static int
find_transition (const Machine *machine,
                 const char *from,
                 const char *to)
{
  if (machine == NULL || from == NULL || to == NULL)
    return -1;
  for (guint i = 0; i < machine->n_transitions; i++)
    if (strcmp (machine->transitions[i].from, from) == 0
        && strcmp (machine->transitions[i].to, to) == 0)
      return (int) i;
  return -1;
}

/* ---- The widget ---- */

#define TEXT_SCALE 1.25   /* larger than body text: read from the back row */

struct _MsStateView
{
  GtkWidget parent_instance;

  const Machine *machine;       /* static, or NULL */
  int current;                  /* index of the lit state, or -1 */
  int last;                     /* index of the highlighted transition, or -1 */

  /* Metrics, recomputed when the font or the protocol changes. */
  gboolean metrics_valid;
  PangoFontDescription *state_font;   /* the widget's font, scaled, bold */
  PangoFontDescription *label_font;   /* the same size, monospace: commands */
  int line_h;
  int box_w;
  int box_h;
  int cell_w;                   /* at least; the grid spreads to fill */
  int cell_h;
  int n_cols;
  int n_rows;
};

G_DEFINE_FINAL_TYPE (MsStateView, ms_state_view, GTK_TYPE_WIDGET)

static PangoLayout *
make_layout (MsStateView *self,
             const PangoFontDescription *desc,
             const char *text,
             int *width_r,
             int *height_r)
{
  PangoLayout *layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), text);

  pango_layout_set_font_description (layout, desc);
  pango_layout_get_pixel_size (layout, width_r, height_r);
  return layout;
}

static void
ensure_metrics (MsStateView *self)
{
  const PangoFontDescription *base;
  int text_w = 0, label_w = 0, w, h;

  if (self->metrics_valid)
    return;

  base = pango_context_get_font_description (gtk_widget_get_pango_context (GTK_WIDGET (self)));
  g_clear_pointer (&self->state_font, pango_font_description_free);
  g_clear_pointer (&self->label_font, pango_font_description_free);
  self->state_font = _ms_draw_scaled_font (base, TEXT_SCALE);
  pango_font_description_set_weight (self->state_font, PANGO_WEIGHT_BOLD);
  self->label_font = _ms_draw_scaled_font (base, TEXT_SCALE);
  pango_font_description_set_family (self->label_font, "monospace");

  g_object_unref (make_layout (self, self->state_font, "Hg|", NULL, &self->line_h));
  self->line_h = MAX (self->line_h, 1);
  self->n_cols = self->n_rows = 1;
  if (self->machine != NULL)
    {
      for (guint i = 0; i < self->machine->n_states; i++)
        {
          const StateBox *box = &self->machine->states[i];

          g_object_unref (make_layout (self, self->state_font, box->name, &w, &h));
          text_w = MAX (text_w, w);
          self->n_cols = MAX (self->n_cols, box->col + 1);
          self->n_rows = MAX (self->n_rows, box->row + 1);
        }
      for (guint i = 0; i < self->machine->n_transitions; i++)
        {
          g_object_unref (make_layout (self, self->label_font,
                                       self->machine->transitions[i].label, &w, &h));
          label_w = MAX (label_w, w);
        }
    }
  /* A box holds the longest name with an em of padding; the gap between
   * boxes holds the longest label with room for the arrow head. */
  self->box_w = text_w + self->line_h * 2;
  self->box_h = (int) ceil (self->line_h * 2.0);
  self->cell_w = self->box_w + MAX (label_w + self->line_h * 2, self->line_h * 4);
  self->cell_h = self->box_h + self->line_h * 3;
  self->metrics_valid = TRUE;
}

static void
invalidate_metrics (MsStateView *self)
{
  self->metrics_valid = FALSE;
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

/* Where the grid goes in the allocation: cells spread to fill up to half as
 * wide again as they need, the whole centred; when the allocation is too
 * small, everything is scaled down (scale < 1) rather than overlapping. */
typedef struct {
  double scale;
  double origin_x;
  double origin_y;
  double cell_w;
  double cell_h;
} Geometry;

static void
geometry (MsStateView *self,
          Geometry *geo)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  double need_w, need_h;

  ensure_metrics (self);
  need_w = (double) self->n_cols * self->cell_w;
  need_h = (double) self->n_rows * self->cell_h;
  geo->scale = MIN (1.0, MIN (width / need_w, height / need_h));
  geo->scale = MAX (geo->scale, 0.1);
  geo->cell_w = self->cell_w * CLAMP (width / geo->scale / need_w, 1.0, 1.5);
  geo->cell_h = self->cell_h * CLAMP (height / geo->scale / need_h, 1.0, 1.3);
  geo->origin_x = (width / geo->scale - self->n_cols * geo->cell_w) / 2;
  geo->origin_y = (height / geo->scale - self->n_rows * geo->cell_h) / 2;
}

/* A state's box in unscaled coordinates. */
static graphene_rect_t
box_rect (MsStateView *self,
          const Geometry *geo,
          const StateBox *box)
{
  double cx = geo->origin_x + (box->col + 0.5) * geo->cell_w;
  double cy = geo->origin_y + (box->row + 0.5) * geo->cell_h;

  return GRAPHENE_RECT_INIT ((float) (cx - self->box_w / 2.0), (float) (cy - self->box_h / 2.0),
                             (float) self->box_w, (float) self->box_h);
}

/* ---- Colours ---- */

/* ---- Drawing ---- */

/* Where the ray from the centre of `rect` towards (tx, ty) leaves it, plus
 * `gap`. */
static void
leave_rect (const graphene_rect_t *rect,
            double tx, double ty, double gap,
            double *x_r, double *y_r)
{
  double cx = rect->origin.x + rect->size.width / 2.0;
  double cy = rect->origin.y + rect->size.height / 2.0;
  double dx = tx - cx, dy = ty - cy, len = hypot (dx, dy), t;

  if (len < 1e-6)
    {
      *x_r = cx;
      *y_r = cy;
      return;
    }
  t = MIN (fabs (dx) > 1e-6 ? (rect->size.width / 2.0) / fabs (dx) : G_MAXDOUBLE,
           fabs (dy) > 1e-6 ? (rect->size.height / 2.0) / fabs (dy) : G_MAXDOUBLE);
  *x_r = cx + dx * t + dx / len * gap;
  *y_r = cy + dy * t + dy / len * gap;
}

/* An arrow's path: a quadratic curve p0 -> p1 through control point c. */
typedef struct {
  double x0, y0, cx, cy, x1, y1;
  double nx, ny;                /* unit normal on the side the label goes */
} ArrowPath;

static void
arrow_path (MsStateView *self,
            const Geometry *geo,
            const Transition *tr,
            ArrowPath *path)
{
  const StateBox *from = &self->machine->states[find_state (self->machine, tr->from)];
  const StateBox *to = &self->machine->states[find_state (self->machine, tr->to)];
  graphene_rect_t a = box_rect (self, geo, from), b = box_rect (self, geo, to);
  double ax = a.origin.x + a.size.width / 2.0, ay = a.origin.y + a.size.height / 2.0;
  double bx = b.origin.x + b.size.width / 2.0, by = b.origin.y + b.size.height / 2.0;
  double dx = bx - ax, dy = by - ay, len = MAX (hypot (dx, dy), 1e-6);
  double gap = self->line_h * 0.15;

  /* Left of the direction of travel: opposite arrows bend apart. */
  path->nx = dy / len;
  path->ny = -dx / len;
  path->cx = (ax + bx) / 2 + path->nx * tr->bend * geo->cell_h / 10.0;
  path->cy = (ay + by) / 2 + path->ny * tr->bend * geo->cell_h / 10.0;
  if (tr->bend < 0)
    {
      path->nx = -path->nx;
      path->ny = -path->ny;
    }
  else if (tr->bend == 0 && (path->ny > 0.3 || (fabs (path->ny) <= 0.3 && path->nx < 0)))
    {
      /* Straight arrows: label above, or right of a vertical one. */
      path->nx = -path->nx;
      path->ny = -path->ny;
    }
  leave_rect (&a, path->cx, path->cy, gap, &path->x0, &path->y0);
  leave_rect (&b, path->cx, path->cy, gap, &path->x1, &path->y1);
}

static void
stroke_arrow (cairo_t *cr,
              const ArrowPath *path,
              const GdkRGBA *color,
              double thickness)
{
  double dx = path->x1 - path->cx, dy = path->y1 - path->cy;
  double len = MAX (hypot (dx, dy), 1e-6);
  double head = thickness * 4.5, half = thickness * 2.4;
  double ux = dx / len, uy = dy / len;
  double bx = path->x1 - ux * head, by = path->y1 - uy * head;

  /* The line stops at the head's base, so the tip stays sharp. */
  gdk_cairo_set_source_rgba (cr, color);
  cairo_set_line_width (cr, thickness);
  cairo_move_to (cr, path->x0, path->y0);
  cairo_curve_to (cr,
                  path->x0 + 2.0 / 3.0 * (path->cx - path->x0),
                  path->y0 + 2.0 / 3.0 * (path->cy - path->y0),
                  bx + 2.0 / 3.0 * (path->cx - bx), by + 2.0 / 3.0 * (path->cy - by),
                  bx, by);
  cairo_stroke (cr);
  cairo_move_to (cr, path->x1, path->y1);
  cairo_line_to (cr, bx - uy * half, by + ux * half);
  cairo_line_to (cr, bx + uy * half, by - ux * half);
  cairo_close_path (cr);
  cairo_fill (cr);
}

/* The label beside the middle of the curve, on the normal's side. */
static void
draw_label (MsStateView *self,
            GtkSnapshot *snapshot,
            const ArrowPath *path,
            const char *text,
            const GdkRGBA *color,
            gboolean bold)
{
  g_autoptr(PangoLayout) layout = NULL;
  double mx = 0.25 * path->x0 + 0.5 * path->cx + 0.25 * path->x1;
  double my = 0.25 * path->y0 + 0.5 * path->cy + 0.25 * path->y1;
  double offset;
  int w, h;

  layout = make_layout (self, self->label_font, text, NULL, NULL);
  if (bold)
    {
      g_autoptr(PangoFontDescription) desc = pango_font_description_copy (self->label_font);

      pango_font_description_set_weight (desc, PANGO_WEIGHT_BOLD);
      pango_layout_set_font_description (layout, desc);
    }
  pango_layout_get_pixel_size (layout, &w, &h);
  offset = fabs (path->nx) * w / 2.0 + fabs (path->ny) * h / 2.0 + self->line_h * 0.25;
  _ms_draw_append_layout (snapshot, layout, color,
                 mx + path->nx * offset - w / 2.0, my + path->ny * offset - h / 2.0);
}

static void
draw_box (MsStateView *self,
          GtkSnapshot *snapshot,
          const graphene_rect_t *rect,
          const char *name,
          const GdkRGBA *fill_color,
          const GdkRGBA *border_color,
          const GdkRGBA *text_color,
          float border)
{
  GskRoundedRect rounded;
  float widths[4] = { border, border, border, border };
  GdkRGBA colors[4] = { *border_color, *border_color, *border_color, *border_color };
  g_autoptr(PangoLayout) layout = NULL;
  int w, h;

  gsk_rounded_rect_init_from_rect (&rounded, rect, self->line_h * 0.5f);
  if (fill_color != NULL)
    {
      gtk_snapshot_push_rounded_clip (snapshot, &rounded);
      gtk_snapshot_append_color (snapshot, fill_color, rect);
      gtk_snapshot_pop (snapshot);
    }
  gtk_snapshot_append_border (snapshot, &rounded, widths, colors);
  layout = make_layout (self, self->state_font, name, &w, &h);
  _ms_draw_append_layout (snapshot, layout, text_color,
                 rect->origin.x + (rect->size.width - w) / 2.0,
                 rect->origin.y + (rect->size.height - h) / 2.0);
}

static void
ms_state_view_snapshot (GtkWidget *widget,
                        GtkSnapshot *snapshot)
{
  MsStateView *self = MS_STATE_VIEW (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  GdkRGBA fg, muted, box_fill, on_lit;
  const GdkRGBA *lit, *last_color;
  double thickness;
  gboolean dark;
  Geometry geo;
  cairo_t *cr;

  if (self->machine == NULL || width <= 0 || height <= 0)
    return;
  ensure_metrics (self);
  geometry (self, &geo);
  _ms_draw_foreground_color (GTK_WIDGET (self), &fg);
  dark = _ms_draw_is_dark (&fg);
  /* The sequence view's colours: commands blue (the lit state: where the
   * commands brought the session), OK green for the last transition. */
  lit = ms_sequence_view_get_class_color (MS_ARROW_CLASS_COMMAND, dark);
  last_color = ms_sequence_view_get_class_color (MS_ARROW_CLASS_OK, dark);
  on_lit = dark ? (GdkRGBA) { 0.1, 0.1, 0.12, 1 } : (GdkRGBA) { 1, 1, 1, 1 };
  muted = fg;
  muted.alpha *= 0.55;
  box_fill = fg;
  box_fill.alpha *= 0.06;
  thickness = MAX (1.5, self->line_h / 10.0);

  gtk_snapshot_save (snapshot);
  gtk_snapshot_scale (snapshot, (float) geo.scale, (float) geo.scale);

  /* Arrows first, boxes over their ends; the highlighted one last. */
  cr = gtk_snapshot_append_cairo (snapshot,
                                  &GRAPHENE_RECT_INIT (0, 0, (float) (width / geo.scale),
                                                       (float) (height / geo.scale)));
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  for (guint i = 0; i < self->machine->n_transitions; i++)
    {
      ArrowPath path;

      if ((int) i == self->last)
        continue;
      arrow_path (self, &geo, &self->machine->transitions[i], &path);
      stroke_arrow (cr, &path, &muted, thickness);
    }
  if (self->last >= 0)
    {
      ArrowPath path;

      arrow_path (self, &geo, &self->machine->transitions[self->last], &path);
      stroke_arrow (cr, &path, last_color, thickness * 2);
    }
  cairo_destroy (cr);

  for (guint i = 0; i < self->machine->n_transitions; i++)
    {
      ArrowPath path;
      gboolean last = (int) i == self->last;

      arrow_path (self, &geo, &self->machine->transitions[i], &path);
      draw_label (self, snapshot, &path, self->machine->transitions[i].label,
                  last ? last_color : &fg, last);
    }

  for (guint i = 0; i < self->machine->n_states; i++)
    {
      const StateBox *box = &self->machine->states[i];
      graphene_rect_t rect = box_rect (self, &geo, box);

      if ((int) i == self->current)
        draw_box (self, snapshot, &rect, box->name, lit, lit, &on_lit, (float) thickness * 2);
      else
        draw_box (self, snapshot, &rect, box->name, &box_fill, &muted, &fg, (float) thickness);
    }

  gtk_snapshot_restore (snapshot);
}

/* ---- Size, style ---- */

static void
ms_state_view_measure (GtkWidget *widget,
                       GtkOrientation orientation,
                       int for_size,
                       int *minimum,
                       int *natural,
                       int *minimum_baseline,
                       int *natural_baseline)
{
  MsStateView *self = MS_STATE_VIEW (widget);

  ensure_metrics (self);
  /* It scales down to fit, so the minimum is small. */
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = self->box_w;
      *natural = self->n_cols * self->cell_w;
    }
  else
    {
      *minimum = self->box_h;
      *natural = self->n_rows * self->cell_h;
    }
}

static void
ms_state_view_css_changed (GtkWidget *widget,
                           GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (ms_state_view_parent_class)->css_changed (widget, change);
  /* The font may have changed (presentation mode scales it). */
  invalidate_metrics (MS_STATE_VIEW (widget));
}

static void
ms_state_view_system_setting_changed (GtkWidget *widget,
                                      GtkSystemSetting setting)
{
  GTK_WIDGET_CLASS (ms_state_view_parent_class)->system_setting_changed (widget, setting);
  invalidate_metrics (MS_STATE_VIEW (widget));
}

/* ---- API ---- */

void
ms_state_view_set_protocol (MsStateView *self,
                            const char *proto)
{
  const Machine *machine;

  g_return_if_fail (MS_IS_STATE_VIEW (self));

  machine = find_machine (proto);
  if (machine == self->machine)
    return;
  self->machine = machine;
  self->current = -1;
  self->last = -1;
  invalidate_metrics (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *
ms_state_view_get_protocol (MsStateView *self)
{
  g_return_val_if_fail (MS_IS_STATE_VIEW (self), NULL);
  return self->machine != NULL ? self->machine->proto : NULL;
}

void
ms_state_view_set_state (MsStateView *self,
                         const char *from,
                         const char *to)
{
  g_return_if_fail (MS_IS_STATE_VIEW (self));

  self->current = find_state (self->machine, to);
  self->last = self->current >= 0 ? find_transition (self->machine, from, to) : -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

const char *
ms_state_view_get_current (MsStateView *self)
{
  g_return_val_if_fail (MS_IS_STATE_VIEW (self), NULL);
  return self->current >= 0 ? self->machine->states[self->current].name : NULL;
}

guint
ms_state_view_get_n_boxes (MsStateView *self)
{
  g_return_val_if_fail (MS_IS_STATE_VIEW (self), 0);
  return self->machine != NULL ? self->machine->n_states : 0;
}

gboolean
ms_state_view_get_box (MsStateView *self,
                       const char *name,
                       graphene_rect_t *rect_r)
{
  int index;
  Geometry geo;
  graphene_rect_t rect;

  g_return_val_if_fail (MS_IS_STATE_VIEW (self), FALSE);

  index = find_state (self->machine, name);
  if (index < 0)
    return FALSE;
  geometry (self, &geo);
  rect = box_rect (self, &geo, &self->machine->states[index]);
  if (rect_r != NULL)
    graphene_rect_scale (&rect, (float) geo.scale, (float) geo.scale, rect_r);
  return TRUE;
}

gboolean
ms_state_view_get_highlighted (MsStateView *self,
                               const char **from_r,
                               const char **to_r)
{
  const Transition *tr;

  g_return_val_if_fail (MS_IS_STATE_VIEW (self), FALSE);

  if (self->last < 0)
    return FALSE;
  tr = &self->machine->transitions[self->last];
  if (from_r != NULL)
    *from_r = tr->from;
  if (to_r != NULL)
    *to_r = tr->to;
  return TRUE;
}

/* ---- GObject ---- */

static void
ms_state_view_finalize (GObject *object)
{
  MsStateView *self = MS_STATE_VIEW (object);

  g_clear_pointer (&self->state_font, pango_font_description_free);
  g_clear_pointer (&self->label_font, pango_font_description_free);
  G_OBJECT_CLASS (ms_state_view_parent_class)->finalize (object);
}

static void
ms_state_view_class_init (MsStateViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = ms_state_view_finalize;
  widget_class->snapshot = ms_state_view_snapshot;
  widget_class->measure = ms_state_view_measure;
  widget_class->css_changed = ms_state_view_css_changed;
  widget_class->system_setting_changed = ms_state_view_system_setting_changed;
  gtk_widget_class_set_css_name (widget_class, "stateview");
}

static void
ms_state_view_init (MsStateView *self)
{
  self->current = -1;
  self->last = -1;
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  /* The "view" class gives the list background of the theme. */
  gtk_widget_add_css_class (GTK_WIDGET (self), "view");
}

GtkWidget *
ms_state_view_new (void)
{
  return g_object_new (MS_TYPE_STATE_VIEW, NULL);
}
