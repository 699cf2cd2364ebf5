/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include <math.h>
#include <string.h>

#include "ms-draw-private.h"
#include "ms-sequence-view.h"

/* Layout, in content coordinates (before scrolling):
 *
 *   +--------+------------------+------------------+---
 *   |        |   [alpha.test]   |     alice ...    |     header row (pinned)
 *   +--------+------------------+------------------+---
 *   | SMTP   |  EHLO laptop     |                  |     row 0: label, then
 *   |        |  <---------------|                  |            the arrow
 *   | SMTP   |  250 alpha.test  |                  |     row 1
 *
 * The gutter on the left names the protocol of the row and stays put when
 * the lanes scroll sideways. Lanes share the width equally but never get
 * narrower than MIN_LANE_EMS ems: beyond that the view scrolls sideways
 * (hadjustment). Vertically, upper = header + rows x row height, and the
 * header stays pinned over the rows, so row i is on screen when
 * [i x row, (i + 1) x row) meets [value, value + page - header). */

#define MIN_LANE_EMS 16.0   /* a lane is at least this wide: labels stay readable */
#define TAG_PAD_EMS 0.3     /* a tag's chip around its text, in lines */
#define TAG_MARGIN_EMS 0.35 /* and the gutter around the chip */
#define LABEL_MAX 400       /* bytes of a line drawn: more never fits a lane */
#define ZOOM_MIN 0.5
#define ZOOM_MAX 4.0

/* ---- Colours: the one place that defines them ----
 *
 * One colour per arrow class, with a variant for light and for dark
 * backgrounds. The light ones are GNOME palette shades dark enough for at
 * least 3:1 against Adwaita's light view background (WCAG 2.1 §1.4.11 for
 * graphics), the dark ones light enough for 3:1 against the dark one; the
 * test checks both. Amber on white is unreadable, so TEMPFAIL is a deep
 * orange in light mode and real amber only in dark mode. */
static const GdkRGBA class_colors[][2] = {
  /*                              light                          dark */
  [MS_ARROW_CLASS_COMMAND]  = { { 0.11, 0.44, 0.85, 1.0 }, { 0.47, 0.68, 0.93, 1.0 } },
  [MS_ARROW_CLASS_OK]       = { { 0.10, 0.53, 0.28, 1.0 }, { 0.34, 0.89, 0.54, 1.0 } },
  [MS_ARROW_CLASS_CONTINUE] = { { 0.00, 0.48, 0.53, 1.0 }, { 0.38, 0.82, 0.86, 1.0 } },
  [MS_ARROW_CLASS_TEMPFAIL] = { { 0.72, 0.36, 0.00, 1.0 }, { 0.97, 0.77, 0.25, 1.0 } },
  [MS_ARROW_CLASS_PERMFAIL] = { { 0.75, 0.11, 0.16, 1.0 }, { 1.00, 0.48, 0.39, 1.0 } },
  [MS_ARROW_CLASS_INFO]     = { { 0.42, 0.42, 0.44, 1.0 }, { 0.60, 0.60, 0.59, 1.0 } },
};

/* Server lanes are filled chips in this colour (white text), user agents
 * outlined chips in the text colour. */
static const GdkRGBA server_colors[2] = {
  { 0.21, 0.25, 0.35, 1.0 },  /* light: slate */
  { 0.62, 0.69, 0.84, 1.0 },  /* dark: pale slate (dark text) */
};

/* How a protocol's arrows are drawn. Line styles are a second cue after the
 * gutter tag, so they are coarse enough to tell apart from the back row. */
typedef enum {
  LINE_SOLID,
  LINE_DASHED,
  LINE_DOTTED,
} LineStyle;

typedef struct {
  const char *proto;
  const char *tag;
  LineStyle style;
} ProtoStyle;

static const ProtoStyle proto_styles[] = {
  { "smtp", "SMTP", LINE_SOLID },
  { "smtp-relay", "SMTP", LINE_SOLID },
  { "pop3", "POP3", LINE_DASHED },
  { "imap", "IMAP", LINE_DOTTED },
};

static const ProtoStyle unknown_proto = { NULL, "?", LINE_SOLID };

const GdkRGBA *
ms_sequence_view_get_class_color (MsArrowClass klass,
                                  gboolean dark)
{
  g_return_val_if_fail (klass <= MS_ARROW_CLASS_INFO, NULL);
  return &class_colors[klass][dark ? 1 : 0];
}

static const ProtoStyle *
proto_style (const char *proto)
{
  for (gsize i = 0; i < G_N_ELEMENTS (proto_styles); i++)
    if (g_strcmp0 (proto_styles[i].proto, proto) == 0)
      return &proto_styles[i];
  return &unknown_proto;
}

/* ---- The widget ---- */

struct _MsSequenceView
{
  GtkWidget parent_instance;

  MsDiagramModel *model;
  GListModel *lanes;            /* borrowed from model */
  GPtrArray *watched_lanes;     /* MsLaneItem we listen to for name changes */

  GtkAdjustment *hadjustment;
  GtkAdjustment *vadjustment;
  guint hscroll_policy : 1;
  guint vscroll_policy : 1;
  gboolean follow;
  gboolean adjusting;           /* we move the adjustment: not the user */

  double zoom;
  guint64 selected_seq;
  MsArrowItem *selected;        /* owned; the arrow of selected_seq */
  guint selected_pos;           /* its position, a hint checked before use */

  /* Metrics, recomputed when the font or the zoom changes. */
  gboolean metrics_valid;
  PangoFontDescription *label_font;   /* the widget's font x zoom */
  PangoFontDescription *line_font;    /* the same size, monospace: protocol lines */
  PangoFontDescription *tag_font;     /* smaller, bold: the gutter tag */
  int line_h;                   /* height of one line of text */
  int row_h;
  int header_h;
  int gutter_w;
  int tag_w;                    /* the widest protocol tag */
  int min_lane_w;
  int thickness;                /* of arrow lines */
};

enum {
  PROP_0,
  PROP_MODEL,
  PROP_FOLLOW,
  PROP_ZOOM,
  PROP_SELECTED_SEQ,
  N_PROPS,
  /* GtkScrollable */
  PROP_HADJUSTMENT = N_PROPS,
  PROP_VADJUSTMENT,
  PROP_HSCROLL_POLICY,
  PROP_VSCROLL_POLICY,
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE_WITH_CODE (MsSequenceView, ms_sequence_view, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_SCROLLABLE, NULL))

/* ---- Metrics and geometry ---- */

static int
text_height (GtkWidget *widget,
             const PangoFontDescription *desc)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, "Hg|");
  int height = 0;

  pango_layout_set_font_description (layout, desc);
  pango_layout_get_pixel_size (layout, NULL, &height);
  return MAX (height, 1);
}

/* The width the text needs: its logical width, or further where the ink
 * goes past it (bold glyphs at some sizes and hintings do). */
static int
text_width (GtkWidget *widget,
            const PangoFontDescription *desc,
            const char *text)
{
  g_autoptr(PangoLayout) layout = gtk_widget_create_pango_layout (widget, text);
  PangoRectangle ink, logical;

  pango_layout_set_font_description (layout, desc);
  pango_layout_get_pixel_extents (layout, &ink, &logical);
  return MAX (logical.x + logical.width, ink.x + ink.width) - MIN (0, MIN (ink.x, logical.x));
}

static void
ensure_metrics (MsSequenceView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  const PangoFontDescription *base;
  int tag_w = 0;

  if (self->metrics_valid)
    return;

  base = pango_context_get_font_description (gtk_widget_get_pango_context (widget));
  g_clear_pointer (&self->label_font, pango_font_description_free);
  g_clear_pointer (&self->line_font, pango_font_description_free);
  g_clear_pointer (&self->tag_font, pango_font_description_free);
  self->label_font = _ms_draw_scaled_font (base, self->zoom);
  pango_font_description_set_weight (self->label_font, PANGO_WEIGHT_BOLD);
  self->line_font = _ms_draw_scaled_font (base, self->zoom);
  pango_font_description_set_family (self->line_font, "monospace");
  self->tag_font = _ms_draw_scaled_font (base, self->zoom * 0.8);
  pango_font_description_set_weight (self->tag_font, PANGO_WEIGHT_BOLD);

  self->line_h = MAX (text_height (widget, self->line_font),
                      text_height (widget, self->label_font));
  /* Row: padding, the label, a gap, the arrow (head included), padding. */
  self->thickness = MAX (2, (int) round (self->line_h / 6.0));
  self->row_h = (int) ceil (self->line_h * 2.0);
  self->header_h = (int) ceil (self->line_h * 2.2);
  /* The tag column fits the widest tag in this font and zoom, measured:
   * a fixed width clips "SMTP" in some fonts and sizes. A tag is drawn on a
   * chip padded by TAG_PAD_EMS each side, with a margin outside it. */
  for (gsize i = 0; i < G_N_ELEMENTS (proto_styles); i++)
    tag_w = MAX (tag_w, text_width (widget, self->tag_font, proto_styles[i].tag));
  self->tag_w = tag_w;
  self->gutter_w = tag_w + (int) ceil (self->line_h * 2 * (TAG_PAD_EMS + TAG_MARGIN_EMS));
  self->min_lane_w = (int) ceil (MIN_LANE_EMS * self->line_h * 0.55);
  self->metrics_valid = TRUE;
}

static guint
n_rows (MsSequenceView *self)
{
  return self->model != NULL ? g_list_model_get_n_items (G_LIST_MODEL (self->model)) : 0;
}

static guint
n_lanes (MsSequenceView *self)
{
  return self->lanes != NULL ? g_list_model_get_n_items (self->lanes) : 0;
}

/* Where the lanes are: the outer lanes sit `margin` in from the edges (room
 * for half a name), the others evenly `spacing` apart, so arrows between
 * neighbours get as much room for their text as the width allows. */
typedef struct {
  double margin;
  double spacing;
} LaneGeometry;

static void
lane_geometry (MsSequenceView *self,
               int width,
               LaneGeometry *geo)
{
  guint lanes = n_lanes (self);
  double avail = width - self->gutter_w;

  geo->margin = MIN (self->line_h * 6.0, avail / (2.0 * MAX (lanes, 1)));
  geo->margin = MAX (geo->margin, self->line_h * 2.0);
  if (lanes < 2)
    geo->spacing = self->min_lane_w;
  else
    geo->spacing = MAX ((avail - 2 * geo->margin) / (lanes - 1), (double) self->min_lane_w);
}

/* The full width the lanes need (more than the allocation: scroll). */
static double
content_width (MsSequenceView *self,
               int width)
{
  LaneGeometry geo;

  lane_geometry (self, width, &geo);
  return self->gutter_w + 2 * geo.margin + (MAX (n_lanes (self), 1) - 1) * geo.spacing;
}

/* The centre of lane `lane`, in widget coordinates (scrolled sideways). */
static double
lane_x (MsSequenceView *self,
        const LaneGeometry *geo,
        guint lane)
{
  double scroll = self->hadjustment != NULL ? gtk_adjustment_get_value (self->hadjustment) : 0;

  return self->gutter_w + geo->margin + lane * geo->spacing - scroll;
}

static double
scroll_y (MsSequenceView *self)
{
  return self->vadjustment != NULL ? gtk_adjustment_get_value (self->vadjustment) : 0;
}

static gboolean
at_bottom (MsSequenceView *self)
{
  GtkAdjustment *adj = self->vadjustment;

  return gtk_adjustment_get_value (adj) + gtk_adjustment_get_page_size (adj)
         >= gtk_adjustment_get_upper (adj) - 1.0;
}

/* While following, the lanes of the newest arrow are on screen: when more
 * lanes than fit (peers of past sessions, devices), the view moves
 * sideways as little as it takes, so a live server is never off the edge. */
static double
follow_sideways (MsSequenceView *self,
                 int width,
                 double value)
{
  g_autoptr(MsArrowItem) last = NULL;
  LaneGeometry geo;
  guint n = self->model != NULL ? n_rows (self) : 0;
  guint low, high;
  double left, right;

  if (n == 0)
    return value;
  last = g_list_model_get_item (G_LIST_MODEL (self->model), n - 1);
  low = MIN (ms_arrow_item_get_from_lane (last), ms_arrow_item_get_to_lane (last));
  high = MAX (ms_arrow_item_get_from_lane (last), ms_arrow_item_get_to_lane (last));
  lane_geometry (self, width, &geo);
  /* In content coordinates, with room for the lane names' halves. */
  left = geo.margin + low * geo.spacing - geo.margin;
  right = self->gutter_w + geo.margin + high * geo.spacing + geo.margin;
  if (right - value > width)
    value = right - width;
  if (left < value)
    value = left;
  return value;
}

/* Sets the adjustments' bounds from the model and the allocation; keeps the
 * view at the end while following. */
static void
update_adjustments (MsSequenceView *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  double upper, value;

  ensure_metrics (self);
  self->adjusting = TRUE;
  if (self->vadjustment != NULL)
    {
      upper = self->header_h + (double) n_rows (self) * self->row_h;
      value = self->follow ? upper - height : gtk_adjustment_get_value (self->vadjustment);
      value = CLAMP (value, 0, MAX (upper - height, 0));
      gtk_adjustment_configure (self->vadjustment, value, 0, upper,
                                self->row_h, MAX (height - self->header_h, self->row_h),
                                height);
    }
  if (self->hadjustment != NULL)
    {
      upper = MAX (content_width (self, width), width);
      value = gtk_adjustment_get_value (self->hadjustment);
      if (self->follow)
        value = follow_sideways (self, width, value);
      value = CLAMP (value, 0, upper - width);
      gtk_adjustment_configure (self->hadjustment, value, 0, upper,
                                self->line_h, width * 0.9, width);
    }
  self->adjusting = FALSE;
}

void
ms_sequence_view_get_visible_rows (MsSequenceView *self,
                                   guint *first_r,
                                   guint *last_r)
{
  double value, rows_h;
  guint first, last, n;

  g_return_if_fail (MS_IS_SEQUENCE_VIEW (self));

  ensure_metrics (self);
  n = n_rows (self);
  value = scroll_y (self);
  rows_h = gtk_widget_get_height (GTK_WIDGET (self)) - self->header_h;
  first = (guint) MIN (floor (value / self->row_h), (double) n);
  last = rows_h > 0 ? (guint) MIN (ceil ((value + rows_h) / self->row_h), (double) n) : first;
  if (first_r != NULL)
    *first_r = first;
  if (last_r != NULL)
    *last_r = MAX (first, last);
}

int
ms_sequence_view_get_gutter_width (MsSequenceView *self,
                                   int *tag_width_r)
{
  g_return_val_if_fail (MS_IS_SEQUENCE_VIEW (self), 0);

  ensure_metrics (self);
  if (tag_width_r != NULL)
    *tag_width_r = self->tag_w + (int) ceil (2 * self->line_h * TAG_PAD_EMS);
  return self->gutter_w;
}

void
ms_sequence_view_get_metrics (MsSequenceView *self,
                              int *header_height,
                              int *row_height)
{
  g_return_if_fail (MS_IS_SEQUENCE_VIEW (self));

  ensure_metrics (self);
  if (header_height != NULL)
    *header_height = self->header_h;
  if (row_height != NULL)
    *row_height = self->row_h;
}

/* The row under widget coordinate `y`, or G_MAXUINT. */
static guint
row_at (MsSequenceView *self,
        double y)
{
  double row;

  ensure_metrics (self);
  if (y < self->header_h)
    return G_MAXUINT;
  row = floor ((y - self->header_h + scroll_y (self)) / self->row_h);
  return row >= 0 && row < n_rows (self) ? (guint) row : G_MAXUINT;
}

/* ---- Colours of the current theme ---- */

double
ms_sequence_view_contrast_ratio (const GdkRGBA *a,
                                 const GdkRGBA *b)
{
  double la = _ms_draw_luminance (a), lb = _ms_draw_luminance (b);

  return (MAX (la, lb) + 0.05) / (MIN (la, lb) + 0.05);
}

/* ---- Drawing ---- */

static void
fill (GtkSnapshot *snapshot,
      const GdkRGBA *color,
      double x, double y, double w, double h)
{
  gtk_snapshot_append_color (snapshot, color, &GRAPHENE_RECT_INIT (x, y, w, h));
}

/* A horizontal line from x0 to x1 (either order) centred on y, in the
 * protocol's style; only from thin rectangles, so it costs a few nodes. */
static void
draw_line (MsSequenceView *self,
           GtkSnapshot *snapshot,
           const GdkRGBA *color,
           LineStyle style,
           double x0, double x1, double y)
{
  double t = self->thickness;
  double on, off, left = MIN (x0, x1), right = MAX (x0, x1);

  switch (style)
    {
    case LINE_DASHED:
      on = t * 5, off = t * 3;
      break;
    case LINE_DOTTED:
      on = t * 1.5, off = t * 1.5;
      break;
    case LINE_SOLID:
    default:
      fill (snapshot, color, left, y - t / 2, right - left, t);
      return;
    }
  /* Dots are square and a bit fatter than the line, to stay visible. */
  if (style == LINE_DOTTED)
    t *= 1.5;
  /* Start the pattern at the arrow's tail, so every arrow starts with ink. */
  if (x1 >= x0)
    for (double x = x0; x < x1; x += on + off)
      fill (snapshot, color, x, y - t / 2, MIN (on, x1 - x), t);
  else
    for (double x = x0; x > x1; x -= on + off)
      fill (snapshot, color, MAX (x - on, x1), y - t / 2, MIN (on, x - x1), t);
}

static void
draw_arrowhead (GtkSnapshot *snapshot,
                const GdkRGBA *color,
                double tip_x, double y, double length, double half, gboolean rightwards)
{
  double left = rightwards ? tip_x - length : tip_x;
  cairo_t *cr = gtk_snapshot_append_cairo (snapshot,
                                           &GRAPHENE_RECT_INIT ((float) floor (left),
                                                                (float) floor (y - half),
                                                                (float) ceil (length) + 1,
                                                                (float) ceil (2 * half) + 1));

  gdk_cairo_set_source_rgba (cr, color);
  cairo_move_to (cr, tip_x, y);
  cairo_line_to (cr, rightwards ? tip_x - length : tip_x + length, y - half);
  cairo_line_to (cr, rightwards ? tip_x - length : tip_x + length, y + half);
  cairo_close_path (cr);
  cairo_fill (cr);
  cairo_destroy (cr);
}

static void
draw_chip (GtkSnapshot *snapshot,
           const graphene_rect_t *rect,
           const GdkRGBA *fill_color,
           const GdkRGBA *border_color,
           float border)
{
  GskRoundedRect rounded;
  float widths[4] = { border, border, border, border };
  GdkRGBA colors[4];

  gsk_rounded_rect_init_from_rect (&rounded, rect, rect->size.height / 2);
  if (fill_color != NULL)
    {
      gtk_snapshot_push_rounded_clip (snapshot, &rounded);
      gtk_snapshot_append_color (snapshot, fill_color, rect);
      gtk_snapshot_pop (snapshot);
    }
  if (border_color != NULL)
    {
      for (int i = 0; i < 4; i++)
        colors[i] = *border_color;
      gtk_snapshot_append_border (snapshot, &rounded, widths, colors);
    }
}

/* ---- Labels ---- */

/* Appends `glyph`, and copies of the NULL-terminated `with` over it to
 * `attrs` when that is given. */
static void
append_marked (GString *out,
               const char *glyph,
               PangoAttrList *attrs,
               PangoAttribute * const *with)
{
  gsize start = out->len;

  g_string_append (out, glyph);
  for (gsize k = 0; attrs != NULL && with != NULL && with[k] != NULL; k++)
    {
      PangoAttribute *copy = pango_attribute_copy (with[k]);

      copy->start_index = (guint) start;
      copy->end_index = (guint) out->len;
      pango_attr_list_insert (attrs, copy);
    }
}

/* The label of an arrow, and with `attrs` the attributes that set its
 * glyphs apart (`mark`: bare CR, LF, tab and other controls; `soft`: the
 * line breaks of a message; both NULL-terminated). With `names`, controls
 * are written as their names (CR, LF, TAB, ^X, DEL) instead of glyphs, for
 * fonts without the Control Pictures block. `n_marks_r` (may be NULL)
 * gets how many controls were marked. */
static char *
format_label (const char *text,
              gboolean names,
              guint *n_marks_r,
              PangoAttrList *attrs,
              PangoAttribute * const *mark,
              PangoAttribute * const *soft)
{
  gsize len = strlen (text);
  gboolean cut = FALSE;
  GString *out;

  /* A lane shows a few dozen characters: a 64 KiB message is cut long
   * before Pango sees it (on a character boundary). */
  if (len > LABEL_MAX)
    {
      const char *end = g_utf8_find_prev_char (text, text + LABEL_MAX + 1);

      len = end != NULL ? (gsize) (end - text) : LABEL_MAX;
      cut = TRUE;
    }
  /* The line's own end is not drawn: the diagram is for reading. */
  if (!cut && len >= 2 && text[len - 2] == '\r' && text[len - 1] == '\n')
    len -= 2;

  out = g_string_sized_new (len + 16);
  if (n_marks_r != NULL)
    *n_marks_r = 0;
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) text[i];

      if (c == '\r' && i + 1 < len && text[i + 1] == '\n')
        {
          /* A line break inside a message: where the next line begins. */
          append_marked (out, " \u21b5 ", attrs, soft);
          i++;
        }
      else if (c < 0x20 || c == 0x7f)
        {
          /* Bare CR, bare LF, tab, any control: its Control Pictures glyph
           * (␍ ␊ ␉, U+2400 + c; DEL U+2421), so nothing is invisible. */
          char glyph[8];
          int n = g_unichar_to_utf8 (c == 0x7f ? 0x2421 : 0x2400 + c, glyph);

          glyph[n] = '\0';
          if (names)
            {
              if (c == '\r' || c == '\n' || c == '\t' || c == 0x7f)
                g_strlcpy (glyph, c == '\r' ? "CR" : c == '\n' ? "LF" : c == '\t' ? "TAB" : "DEL",
                           sizeof glyph);
              else
                g_snprintf (glyph, sizeof glyph, "^%c", c + 0x40);
            }
          append_marked (out, glyph, attrs, mark);
          if (n_marks_r != NULL)
            (*n_marks_r)++;
        }
      else
        g_string_append_c (out, (char) c);
    }
  if (cut)
    g_string_append (out, "\u2026");
  return g_string_free (out, FALSE);
}

char *
ms_sequence_view_format_label (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);
  return format_label (text, FALSE, NULL, NULL, NULL, NULL);
}

/* A label's layout: the glyphs of controls bold in the arrow's colour, a
 * message's line breaks faint. */
static PangoLayout *
label_layout (MsSequenceView *self,
              const char *text,
              const GdkRGBA *color)
{
  g_autoptr(PangoAttrList) attrs = pango_attr_list_new ();
  guint16 r = (guint16) (color->red * 65535), g = (guint16) (color->green * 65535);
  guint16 b = (guint16) (color->blue * 65535);
  PangoAttribute *mark[] = {
    pango_attr_foreground_new (r, g, b),
    pango_attr_weight_new (PANGO_WEIGHT_BOLD),
    pango_attr_background_new (r, g, b),
    pango_attr_background_alpha_new (65535 / 6),
    NULL
  };
  PangoAttribute *soft[] = { pango_attr_foreground_alpha_new (65535 / 2), NULL };
  guint n_marks;
  g_autofree char *label = NULL;
  PangoLayout *layout;

  text = text != NULL ? text : "";
  label = format_label (text, FALSE, &n_marks, attrs, mark, soft);
  layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), label);
  pango_layout_set_attributes (layout, attrs);
  pango_layout_set_font_description (layout, self->line_font);
  /* A font without ␍ ␊ ␉ would draw boxes of hex digits: write the names. */
  if (n_marks > 0 && pango_layout_get_unknown_glyphs_count (layout) > 0)
    {
      g_clear_pointer (&attrs, pango_attr_list_unref);
      g_clear_pointer (&label, g_free);
      attrs = pango_attr_list_new ();
      label = format_label (text, TRUE, NULL, attrs, mark, soft);
      pango_layout_set_text (layout, label, -1);
      pango_layout_set_attributes (layout, attrs);
    }
  for (gsize k = 0; mark[k] != NULL; k++)
    pango_attribute_destroy (mark[k]);
  pango_attribute_destroy (soft[0]);
  return layout;
}

static void
draw_tag (MsSequenceView *self,
          GtkSnapshot *snapshot,
          const ProtoStyle *style,
          const GdkRGBA *fg,
          double y)
{
  g_autoptr(PangoLayout) tag = gtk_widget_create_pango_layout (GTK_WIDGET (self), style->tag);
  double pad = self->line_h * TAG_PAD_EMS;
  GdkRGBA chip = *fg;
  double tag_x;
  int tag_w, tag_h;

  chip.alpha *= 0.10;
  pango_layout_set_font_description (tag, self->tag_font);
  pango_layout_get_pixel_size (tag, &tag_w, &tag_h);
  tag_x = (self->gutter_w - tag_w) / 2.0;
  draw_chip (snapshot,
             &GRAPHENE_RECT_INIT ((float) (tag_x - pad), (float) (y + pad),
                                  (float) (tag_w + 2 * pad), (float) tag_h),
             &chip, NULL, 0);
  _ms_draw_append_layout (snapshot, tag, fg, tag_x, y + pad);
}

/* Draws row `arrow` at `y`; its protocol's tag at `tag_y` when that is
 * not negative. */
static void
draw_row (MsSequenceView *self,
          GtkSnapshot *snapshot,
          MsArrowItem *arrow,
          gboolean session_start,
          double tag_y,
          const GdkRGBA *fg,
          gboolean dark,
          const LaneGeometry *geo,
          double y,
          int width)
{
  const ProtoStyle *style = proto_style (ms_arrow_item_get_proto (arrow));
  const GdkRGBA *color = ms_sequence_view_get_class_color (ms_arrow_item_get_class (arrow), dark);
  guint from = ms_arrow_item_get_from_lane (arrow);
  guint to = ms_arrow_item_get_to_lane (arrow);
  double x0 = lane_x (self, geo, from);
  double x1 = lane_x (self, geo, to);
  double pad = self->line_h * 0.3;
  double arrow_y = y + pad + self->line_h + self->line_h * 0.35;
  double head_len = self->thickness * 5, head_half = self->thickness * 2.5;
  double left, span;
  gboolean rightwards;
  g_autoptr(PangoLayout) label = NULL;
  GdkRGBA muted = *fg;

  /* An arrow to its own lane (should not happen) becomes a short stub. */
  if (from == to)
    x1 = x0 + geo->spacing / 2;
  rightwards = x1 > x0;
  left = MIN (x0, x1);
  span = fabs (x1 - x0);

  /* Where another session's lines begin: a faint rule across the row. */
  muted.alpha *= 0.10;
  if (session_start)
    fill (snapshot, &muted, 0, y, width, 1);
  if (tag_y >= 0)
    draw_tag (self, snapshot, style, fg, tag_y);

  /* The lanes' part: clipped so it slides under the gutter when scrolled. */
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT ((float) self->gutter_w, (float) y,
                                                         (float) (width - self->gutter_w),
                                                         (float) self->row_h));
  draw_line (self, snapshot, color, style->style,
             x0, rightwards ? x1 - head_len + 1 : x1 + head_len - 1, arrow_y);
  draw_arrowhead (snapshot, color, x1, arrow_y, head_len, head_half, rightwards);

  /* The line itself above the arrow, ellipsized to the arrow's span,
   * starting at its tail so the eye reads tail -> text -> head. */
  label = label_layout (self, ms_arrow_item_get_text (arrow), color);
  pango_layout_set_ellipsize (label, PANGO_ELLIPSIZE_END);
  pango_layout_set_single_paragraph_mode (label, TRUE);
  pango_layout_set_width (label, (int) MAX (span - 2 * pad, self->line_h) * PANGO_SCALE);
  pango_layout_set_alignment (label, rightwards ? PANGO_ALIGN_LEFT : PANGO_ALIGN_RIGHT);
  _ms_draw_append_layout (snapshot, label, fg, left + pad, y + pad);
  gtk_snapshot_pop (snapshot);
}

/* Whether `arrow` begins another session's lines than `previous`'s. */
static gboolean
starts_session (MsArrowItem *previous,
                MsArrowItem *arrow)
{
  return previous == NULL
         || g_strcmp0 (ms_arrow_item_get_session (previous), ms_arrow_item_get_session (arrow))
         || g_strcmp0 (ms_arrow_item_get_server (previous), ms_arrow_item_get_server (arrow));
}

static void
draw_header (MsSequenceView *self,
             GtkSnapshot *snapshot,
             const GdkRGBA *fg,
             gboolean dark,
             const LaneGeometry *geo,
             int width)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA band = *fg, rule = *fg;
  double pad = self->line_h * 0.4;

  band.alpha *= 0.06;
  rule.alpha *= 0.35;
  fill (snapshot, &band, 0, 0, width, self->header_h);
  fill (snapshot, &rule, 0, self->header_h - 1, width, 1);

  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT ((float) self->gutter_w, 0,
                                                         (float) (width - self->gutter_w),
                                                         (float) self->header_h));
  for (guint i = 0; i < n_lanes (self); i++)
    {
      g_autoptr(MsLaneItem) lane = g_list_model_get_item (self->lanes, i);
      g_autoptr(PangoLayout) layout = NULL;
      gboolean server = ms_lane_item_get_is_server (lane);
      double cx = lane_x (self, geo, i);
      double max_w = MIN (geo->spacing, 2 * geo->margin) - 4 * pad;
      GdkRGBA on_server = dark ? (GdkRGBA) { 0.1, 0.1, 0.12, 1 } : (GdkRGBA) { 1, 1, 1, 1 };
      int text_w, text_h;
      graphene_rect_t chip;

      layout = gtk_widget_create_pango_layout (widget, ms_lane_item_get_name (lane));
      pango_layout_set_font_description (layout, self->label_font);
      pango_layout_set_ellipsize (layout, PANGO_ELLIPSIZE_MIDDLE);
      pango_layout_set_width (layout, (int) MAX (max_w, self->line_h) * PANGO_SCALE);
      pango_layout_get_pixel_size (layout, &text_w, &text_h);
      chip = GRAPHENE_RECT_INIT ((float) (cx - text_w / 2.0 - pad * 1.5),
                                 (float) ((self->header_h - text_h) / 2.0 - pad / 2),
                                 (float) (text_w + pad * 3), (float) (text_h + pad));
      if (server)
        draw_chip (snapshot, &chip, &server_colors[dark ? 1 : 0], NULL, 0);
      else
        draw_chip (snapshot, &chip, NULL, fg, 2);
      _ms_draw_append_layout (snapshot, layout, server ? &on_server : fg,
                     cx - text_w / 2.0, (self->header_h - text_h) / 2.0);
    }
  gtk_snapshot_pop (snapshot);
}

static void
ms_sequence_view_snapshot (GtkWidget *widget,
                           GtkSnapshot *snapshot)
{
  MsSequenceView *self = MS_SEQUENCE_VIEW (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(MsArrowItem) previous = NULL;
  GdkRGBA fg, lane_line, highlight, marker;
  gboolean dark;
  LaneGeometry geo;
  double value;
  guint first, last;

  ensure_metrics (self);
  _ms_draw_foreground_color (GTK_WIDGET (self), &fg);
  dark = _ms_draw_is_dark (&fg);
  lane_geometry (self, width, &geo);
  value = scroll_y (self);
  lane_line = fg;
  lane_line.alpha *= 0.25;

  /* Lane lines: servers thick, user agents thin, only where rows are. */
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT ((float) self->gutter_w,
                                                         (float) self->header_h,
                                                         (float) (width - self->gutter_w),
                                                         (float) (height - self->header_h)));
  for (guint i = 0; i < n_lanes (self); i++)
    {
      g_autoptr(MsLaneItem) lane = g_list_model_get_item (self->lanes, i);
      double w = ms_lane_item_get_is_server (lane) ? self->thickness * 2 : self->thickness;

      fill (snapshot, &lane_line, lane_x (self, &geo, i) - w / 2, self->header_h, w,
            height - self->header_h);
    }
  gtk_snapshot_pop (snapshot);

  /* The rows on screen, and nothing else. */
  marker = *ms_sequence_view_get_class_color (MS_ARROW_CLASS_COMMAND, dark);
  highlight = marker;
  highlight.alpha = dark ? 0.25 : 0.14;
  ms_sequence_view_get_visible_rows (self, &first, &last);
  gtk_snapshot_push_clip (snapshot, &GRAPHENE_RECT_INIT (0, (float) self->header_h,
                                                         (float) width,
                                                         (float) (height - self->header_h)));
  if (first > 0 && first < last)
    previous = g_list_model_get_item (G_LIST_MODEL (self->model), first - 1);
  for (guint i = first; i < last; i++)
    {
      g_autoptr(MsArrowItem) arrow = g_list_model_get_item (G_LIST_MODEL (self->model), i);
      double y = self->header_h + (double) i * self->row_h - value;
      gboolean start;
      double tag_y = -1;

      if (arrow == NULL)
        continue;
      start = starts_session (previous, arrow);
      /* The tag where a session's lines begin (on every row it would be
       * noise), and pinned at the top for the session scrolled into, so the
       * protocol is always named; the next session's tag pushes it away. */
      if (start)
        tag_y = y;
      if (i == first)
        {
          g_autoptr(MsArrowItem) next = i + 1 < n_rows (self)
                                        ? g_list_model_get_item (G_LIST_MODEL (self->model),
                                                                 i + 1)
                                        : NULL;

          tag_y = next != NULL && starts_session (arrow, next) ? y : MAX (y, self->header_h);
        }
      if (arrow == self->selected)
        {
          fill (snapshot, &highlight, 0, y, width, self->row_h);
          fill (snapshot, &marker, 0, y, self->thickness * 2, self->row_h);
        }
      draw_row (self, snapshot, arrow, start && previous != NULL, tag_y, &fg, dark, &geo, y,
                width);
      g_set_object (&previous, arrow);
    }
  gtk_snapshot_pop (snapshot);

  draw_header (self, snapshot, &fg, dark, &geo, width);
}

/* ---- Size, style ---- */

static void
ms_sequence_view_measure (GtkWidget *widget,
                          GtkOrientation orientation,
                          int for_size,
                          int *minimum,
                          int *natural,
                          int *minimum_baseline,
                          int *natural_baseline)
{
  MsSequenceView *self = MS_SEQUENCE_VIEW (widget);

  ensure_metrics (self);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = self->gutter_w + self->min_lane_w;
      *natural = self->gutter_w + (MAX (n_lanes (self), 3) + 1) * self->min_lane_w;
    }
  else
    {
      *minimum = self->header_h + self->row_h;
      *natural = self->header_h + 12 * self->row_h;
    }
}

static void
ms_sequence_view_size_allocate (GtkWidget *widget,
                                int width,
                                int height,
                                int baseline)
{
  update_adjustments (MS_SEQUENCE_VIEW (widget));
}

static void
invalidate_metrics (MsSequenceView *self)
{
  self->metrics_valid = FALSE;
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

static void
ms_sequence_view_css_changed (GtkWidget *widget,
                              GtkCssStyleChange *change)
{
  GTK_WIDGET_CLASS (ms_sequence_view_parent_class)->css_changed (widget, change);
  /* The font may have changed (presentation mode scales it). */
  invalidate_metrics (MS_SEQUENCE_VIEW (widget));
}

static void
ms_sequence_view_system_setting_changed (GtkWidget *widget,
                                         GtkSystemSetting setting)
{
  GTK_WIDGET_CLASS (ms_sequence_view_parent_class)->system_setting_changed (widget, setting);
  invalidate_metrics (MS_SEQUENCE_VIEW (widget));
}

/* ---- Scrolling ---- */

static void
scroll_to_row (MsSequenceView *self,
               guint row)
{
  double top, bottom, value, page;

  if (self->vadjustment == NULL)
    return;
  ensure_metrics (self);
  value = gtk_adjustment_get_value (self->vadjustment);
  page = gtk_adjustment_get_page_size (self->vadjustment);
  top = (double) row * self->row_h;
  bottom = top + self->row_h + self->header_h;
  if (top < value)
    gtk_adjustment_set_value (self->vadjustment, top);
  else if (bottom > value + page)
    gtk_adjustment_set_value (self->vadjustment, bottom - page);
}

/* The user moved the view: scrolling back stops following, scrolling to
 * the end starts again. */
static void
vadjustment_value_changed (GtkAdjustment *adj,
                           MsSequenceView *self)
{
  if (!self->adjusting)
    {
      gboolean bottom = at_bottom (self);

      if (bottom != self->follow)
        {
          self->follow = bottom;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FOLLOW]);
        }
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
hadjustment_value_changed (GtkAdjustment *adj,
                           MsSequenceView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
set_adjustment (MsSequenceView *self,
                GtkAdjustment **slot,
                GtkAdjustment *adj,
                GCallback callback)
{
  if (adj == NULL)
    adj = gtk_adjustment_new (0, 0, 0, 0, 0, 0);
  if (*slot == adj)
    return;
  if (*slot != NULL)
    {
      g_signal_handlers_disconnect_by_data (*slot, self);
      g_object_unref (*slot);
    }
  *slot = g_object_ref_sink (adj);
  g_signal_connect (adj, "value-changed", callback, self);
  update_adjustments (self);
}

/* ---- Model ---- */

/* Finds the arrow whose seq is `seq`, starting at the hint and going
 * outwards (seq is per server, so the nearest match wins). Not in the
 * drawing path: only after a selection from outside or a refilter. */
static MsArrowItem *
find_seq (MsSequenceView *self,
          guint64 seq,
          guint hint,
          guint *position)
{
  guint n = n_rows (self);

  hint = MIN (hint, n > 0 ? n - 1 : 0);
  for (guint d = 0; d < n; d++)
    {
      guint candidates[2] = { hint + d, hint >= d ? hint - d : G_MAXUINT };

      for (int k = 0; k < 2; k++)
        {
          g_autoptr(MsArrowItem) arrow = NULL;

          if (candidates[k] >= n)
            continue;
          arrow = g_list_model_get_item (G_LIST_MODEL (self->model), candidates[k]);
          if (ms_arrow_item_get_seq (arrow) == seq)
            {
              *position = candidates[k];
              return g_steal_pointer (&arrow);
            }
        }
    }
  return NULL;
}

/* The selected arrow's position now, or G_MAXUINT when it is not shown. */
static guint
selected_position (MsSequenceView *self)
{
  g_autoptr(MsArrowItem) at_hint = NULL;
  guint position = G_MAXUINT;

  if (self->selected == NULL)
    return G_MAXUINT;
  if (self->selected_pos < n_rows (self))
    at_hint = g_list_model_get_item (G_LIST_MODEL (self->model), self->selected_pos);
  if (at_hint == self->selected)
    return self->selected_pos;
  for (guint i = 0; i < n_rows (self); i++)
    {
      g_autoptr(MsArrowItem) arrow = g_list_model_get_item (G_LIST_MODEL (self->model), i);

      if (arrow == self->selected)
        {
          position = i;
          break;
        }
    }
  if (position != G_MAXUINT)
    self->selected_pos = position;
  return position;
}

static void
select_row (MsSequenceView *self,
            guint row)
{
  g_autoptr(MsArrowItem) arrow = NULL;
  gboolean changed;

  if (row >= n_rows (self))
    return;
  arrow = g_list_model_get_item (G_LIST_MODEL (self->model), row);
  changed = self->selected != arrow;
  g_set_object (&self->selected, arrow);
  self->selected_pos = row;
  scroll_to_row (self, row);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  self->selected_seq = ms_arrow_item_get_seq (arrow);
  /* Also for another arrow with the same seq (another server's event). */
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_SEQ]);
}

static void
model_items_changed (GListModel *model,
                     guint position,
                     guint removed,
                     guint added,
                     MsSequenceView *self)
{
  /* Only bounds change here: O(1) for an append, whatever the length. */
  /* Keep the selection's position hint right for appends and for changes
   * before it; selected_position() finds it again after anything else. */
  if (self->selected != NULL && self->selected_pos >= position + removed)
    self->selected_pos = self->selected_pos - removed + added;
  update_adjustments (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
lane_notify (GObject *lane,
             GParamSpec *pspec,
             MsSequenceView *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
unwatch_lanes (MsSequenceView *self)
{
  for (guint i = 0; i < self->watched_lanes->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (self->watched_lanes, i), self);
  g_ptr_array_set_size (self->watched_lanes, 0);
}

/* Lanes are few: re-watch them all when the list changes. */
static void
lanes_items_changed (GListModel *lanes,
                     guint position,
                     guint removed,
                     guint added,
                     MsSequenceView *self)
{
  unwatch_lanes (self);
  for (guint i = 0; i < g_list_model_get_n_items (lanes); i++)
    {
      MsLaneItem *lane = g_list_model_get_item (lanes, i);

      g_signal_connect (lane, "notify::name", G_CALLBACK (lane_notify), self);
      g_ptr_array_add (self->watched_lanes, lane);
    }
  update_adjustments (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
ms_sequence_view_set_model (MsSequenceView *self,
                            MsDiagramModel *model)
{
  g_return_if_fail (MS_IS_SEQUENCE_VIEW (self));
  g_return_if_fail (model == NULL || MS_IS_DIAGRAM_MODEL (model));

  if (self->model == model)
    return;
  if (self->model != NULL)
    {
      unwatch_lanes (self);
      g_signal_handlers_disconnect_by_data (self->lanes, self);
      g_signal_handlers_disconnect_by_data (self->model, self);
      self->lanes = NULL;
      g_clear_object (&self->model);
    }
  g_clear_object (&self->selected);
  if (self->selected_seq != 0)
    {
      self->selected_seq = 0;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_SEQ]);
    }
  if (model != NULL)
    {
      self->model = g_object_ref (model);
      self->lanes = ms_diagram_model_get_lanes (model);
      g_signal_connect (model, "items-changed", G_CALLBACK (model_items_changed), self);
      g_signal_connect (self->lanes, "items-changed", G_CALLBACK (lanes_items_changed), self);
      lanes_items_changed (self->lanes, 0, 0, 0, self);
    }
  update_adjustments (self);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}

MsDiagramModel *
ms_sequence_view_get_model (MsSequenceView *self)
{
  g_return_val_if_fail (MS_IS_SEQUENCE_VIEW (self), NULL);
  return self->model;
}

/* ---- Properties ---- */

void
ms_sequence_view_set_follow (MsSequenceView *self,
                             gboolean follow)
{
  g_return_if_fail (MS_IS_SEQUENCE_VIEW (self));

  follow = !!follow;
  if (self->follow == follow)
    return;
  self->follow = follow;
  if (follow)
    update_adjustments (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FOLLOW]);
}

gboolean
ms_sequence_view_get_follow (MsSequenceView *self)
{
  g_return_val_if_fail (MS_IS_SEQUENCE_VIEW (self), FALSE);
  return self->follow;
}

void
ms_sequence_view_set_zoom (MsSequenceView *self,
                           double zoom)
{
  g_return_if_fail (MS_IS_SEQUENCE_VIEW (self));

  zoom = CLAMP (zoom, ZOOM_MIN, ZOOM_MAX);
  if (self->zoom == zoom)
    return;
  self->zoom = zoom;
  invalidate_metrics (self);
  update_adjustments (self);
  if (self->selected != NULL && selected_position (self) != G_MAXUINT)
    scroll_to_row (self, self->selected_pos);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ZOOM]);
}

double
ms_sequence_view_get_zoom (MsSequenceView *self)
{
  g_return_val_if_fail (MS_IS_SEQUENCE_VIEW (self), 1.0);
  return self->zoom;
}

void
ms_sequence_view_set_selected_seq (MsSequenceView *self,
                                   guint64 seq)
{
  g_autoptr(MsArrowItem) arrow = NULL;
  guint position = 0;

  g_return_if_fail (MS_IS_SEQUENCE_VIEW (self));

  if (seq == self->selected_seq)
    return;
  if (seq != 0 && self->model != NULL)
    arrow = find_seq (self, seq, self->selected != NULL ? self->selected_pos : 0, &position);
  if (arrow != NULL)
    {
      select_row (self, position);
      return;
    }
  /* No such arrow shown: nothing is selected. */
  g_clear_object (&self->selected);
  self->selected_seq = 0;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_SEQ]);
}

double
ms_sequence_view_get_lane_x (MsSequenceView *self,
                             guint lane)
{
  LaneGeometry geo;

  g_return_val_if_fail (MS_IS_SEQUENCE_VIEW (self), 0);

  ensure_metrics (self);
  lane_geometry (self, gtk_widget_get_width (GTK_WIDGET (self)), &geo);
  return lane_x (self, &geo, lane);
}

void
ms_sequence_view_select_event (MsSequenceView *self,
                               const char *server,
                               guint64 seq)
{
  guint n;

  g_return_if_fail (MS_IS_SEQUENCE_VIEW (self));

  n = self->model != NULL ? n_rows (self) : 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MsArrowItem) arrow = g_list_model_get_item (G_LIST_MODEL (self->model), i);

      if (ms_arrow_item_get_seq (arrow) == seq
          && g_strcmp0 (ms_arrow_item_get_server (arrow), server) == 0)
        {
          select_row (self, i);
          return;
        }
    }
  ms_sequence_view_set_selected_seq (self, 0);
}

guint64
ms_sequence_view_get_selected_seq (MsSequenceView *self)
{
  g_return_val_if_fail (MS_IS_SEQUENCE_VIEW (self), 0);
  return self->selected_seq;
}

MsArrowItem *
ms_sequence_view_get_selected_arrow (MsSequenceView *self)
{
  g_return_val_if_fail (MS_IS_SEQUENCE_VIEW (self), NULL);
  return self->selected;
}

/* ---- Input ---- */

static void
click_pressed (GtkGestureClick *gesture,
               int n_press,
               double x,
               double y,
               MsSequenceView *self)
{
  guint row = row_at (self, y);

  gtk_widget_grab_focus (GTK_WIDGET (self));
  if (row != G_MAXUINT)
    select_row (self, row);
}

/* Moves the selection by `delta` rows; with nothing selected, starts at
 * the first (down) or the last (up) row on screen. */
static void
move_selection (MsSequenceView *self,
                int delta)
{
  guint position = selected_position (self);
  guint first, last;

  if (n_rows (self) == 0)
    return;
  if (position == G_MAXUINT)
    {
      ms_sequence_view_get_visible_rows (self, &first, &last);
      select_row (self, delta > 0 ? first : (last > 0 ? last - 1 : 0));
      return;
    }
  if (delta < 0 && position < (guint) -delta)
    select_row (self, 0);
  else
    select_row (self, MIN (position + delta, n_rows (self) - 1));
}

static void
action_select (GtkWidget *widget,
               const char *action_name,
               GVariant *parameter)
{
  MsSequenceView *self = MS_SEQUENCE_VIEW (widget);

  if (g_str_equal (action_name, "sequence.select-next"))
    move_selection (self, 1);
  else if (g_str_equal (action_name, "sequence.select-previous"))
    move_selection (self, -1);
  else if (g_str_equal (action_name, "sequence.select-first"))
    select_row (self, 0);
  else if (n_rows (self) > 0)
    select_row (self, n_rows (self) - 1);
}

/* ---- GObject ---- */

static void
ms_sequence_view_get_property (GObject *object,
                               guint prop_id,
                               GValue *value,
                               GParamSpec *pspec)
{
  MsSequenceView *self = MS_SEQUENCE_VIEW (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      g_value_set_object (value, self->model);
      break;
    case PROP_FOLLOW:
      g_value_set_boolean (value, self->follow);
      break;
    case PROP_ZOOM:
      g_value_set_double (value, self->zoom);
      break;
    case PROP_SELECTED_SEQ:
      g_value_set_uint64 (value, self->selected_seq);
      break;
    case PROP_HADJUSTMENT:
      g_value_set_object (value, self->hadjustment);
      break;
    case PROP_VADJUSTMENT:
      g_value_set_object (value, self->vadjustment);
      break;
    case PROP_HSCROLL_POLICY:
      g_value_set_enum (value, self->hscroll_policy);
      break;
    case PROP_VSCROLL_POLICY:
      g_value_set_enum (value, self->vscroll_policy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_sequence_view_set_property (GObject *object,
                               guint prop_id,
                               const GValue *value,
                               GParamSpec *pspec)
{
  MsSequenceView *self = MS_SEQUENCE_VIEW (object);

  switch (prop_id)
    {
    case PROP_MODEL:
      ms_sequence_view_set_model (self, g_value_get_object (value));
      break;
    case PROP_FOLLOW:
      ms_sequence_view_set_follow (self, g_value_get_boolean (value));
      break;
    case PROP_ZOOM:
      ms_sequence_view_set_zoom (self, g_value_get_double (value));
      break;
    case PROP_SELECTED_SEQ:
      ms_sequence_view_set_selected_seq (self, g_value_get_uint64 (value));
      break;
    case PROP_HADJUSTMENT:
      set_adjustment (self, &self->hadjustment, g_value_get_object (value),
                      G_CALLBACK (hadjustment_value_changed));
      break;
    case PROP_VADJUSTMENT:
      set_adjustment (self, &self->vadjustment, g_value_get_object (value),
                      G_CALLBACK (vadjustment_value_changed));
      break;
    case PROP_HSCROLL_POLICY:
      self->hscroll_policy = g_value_get_enum (value);
      break;
    case PROP_VSCROLL_POLICY:
      self->vscroll_policy = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_sequence_view_dispose (GObject *object)
{
  MsSequenceView *self = MS_SEQUENCE_VIEW (object);

  ms_sequence_view_set_model (self, NULL);
  if (self->hadjustment != NULL)
    g_signal_handlers_disconnect_by_data (self->hadjustment, self);
  if (self->vadjustment != NULL)
    g_signal_handlers_disconnect_by_data (self->vadjustment, self);
  g_clear_object (&self->hadjustment);
  g_clear_object (&self->vadjustment);
  G_OBJECT_CLASS (ms_sequence_view_parent_class)->dispose (object);
}

static void
ms_sequence_view_finalize (GObject *object)
{
  MsSequenceView *self = MS_SEQUENCE_VIEW (object);

  g_ptr_array_unref (self->watched_lanes);
  g_clear_pointer (&self->label_font, pango_font_description_free);
  g_clear_pointer (&self->line_font, pango_font_description_free);
  g_clear_pointer (&self->tag_font, pango_font_description_free);
  G_OBJECT_CLASS (ms_sequence_view_parent_class)->finalize (object);
}

static void
ms_sequence_view_class_init (MsSequenceViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  const char *actions[] = {
    "sequence.select-next", "sequence.select-previous",
    "sequence.select-first", "sequence.select-last",
  };
  const guint keys[][2] = {
    { GDK_KEY_Down, GDK_KEY_KP_Down }, { GDK_KEY_Up, GDK_KEY_KP_Up },
    { GDK_KEY_Home, GDK_KEY_KP_Home }, { GDK_KEY_End, GDK_KEY_KP_End },
  };

  object_class->get_property = ms_sequence_view_get_property;
  object_class->set_property = ms_sequence_view_set_property;
  object_class->dispose = ms_sequence_view_dispose;
  object_class->finalize = ms_sequence_view_finalize;

  widget_class->snapshot = ms_sequence_view_snapshot;
  widget_class->measure = ms_sequence_view_measure;
  widget_class->size_allocate = ms_sequence_view_size_allocate;
  widget_class->css_changed = ms_sequence_view_css_changed;
  widget_class->system_setting_changed = ms_sequence_view_system_setting_changed;

  properties[PROP_MODEL] = g_param_spec_object ("model", NULL, NULL, MS_TYPE_DIAGRAM_MODEL,
                                                flags);
  properties[PROP_FOLLOW] = g_param_spec_boolean ("follow", NULL, NULL, TRUE, flags);
  properties[PROP_ZOOM] = g_param_spec_double ("zoom", NULL, NULL, ZOOM_MIN, ZOOM_MAX, 1.0,
                                               flags);
  properties[PROP_SELECTED_SEQ] = g_param_spec_uint64 ("selected-seq", NULL, NULL,
                                                       0, G_MAXUINT64, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  g_object_class_override_property (object_class, PROP_HADJUSTMENT, "hadjustment");
  g_object_class_override_property (object_class, PROP_VADJUSTMENT, "vadjustment");
  g_object_class_override_property (object_class, PROP_HSCROLL_POLICY, "hscroll-policy");
  g_object_class_override_property (object_class, PROP_VSCROLL_POLICY, "vscroll-policy");

  /* Up/Down (Home/End) move the selection; the window can bind these
   * actions to its own shortcuts too. */
  for (gsize i = 0; i < G_N_ELEMENTS (actions); i++)
    {
      gtk_widget_class_install_action (widget_class, actions[i], NULL, action_select);
      for (gsize k = 0; k < G_N_ELEMENTS (keys[i]); k++)
        gtk_widget_class_add_binding_action (widget_class, keys[i][k], 0, actions[i], NULL);
    }

  gtk_widget_class_set_css_name (widget_class, "sequenceview");
}

static void
ms_sequence_view_init (MsSequenceView *self)
{
  GtkGesture *click = gtk_gesture_click_new ();

  self->follow = TRUE;
  self->zoom = 1.0;
  self->watched_lanes = g_ptr_array_new_with_free_func (g_object_unref);
  self->hadjustment = g_object_ref_sink (gtk_adjustment_new (0, 0, 0, 0, 0, 0));
  self->vadjustment = g_object_ref_sink (gtk_adjustment_new (0, 0, 0, 0, 0, 0));
  g_signal_connect (self->hadjustment, "value-changed",
                    G_CALLBACK (hadjustment_value_changed), self);
  g_signal_connect (self->vadjustment, "value-changed",
                    G_CALLBACK (vadjustment_value_changed), self);

  g_signal_connect (click, "pressed", G_CALLBACK (click_pressed), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  gtk_widget_set_focusable (GTK_WIDGET (self), TRUE);
  gtk_widget_set_overflow (GTK_WIDGET (self), GTK_OVERFLOW_HIDDEN);
  /* The "view" class gives the list background of the theme. */
  gtk_widget_add_css_class (GTK_WIDGET (self), "view");
}

GtkWidget *
ms_sequence_view_new (void)
{
  return g_object_new (MS_TYPE_SEQUENCE_VIEW, NULL);
}
