/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ms-diagram-model.h"

G_BEGIN_DECLS

/* MsSequenceView: the sequence diagram. One vertical lane per item of the
 * model's lanes (servers and user agents), one row per arrow, in order,
 * each arrow drawn from its from-lane to its to-lane and labelled with the
 * line itself, coloured by protocol and by class (MsArrowClass). Draws only
 * the rows on screen (it is GtkScrollable: put it in a GtkScrolledWindow),
 * so 100,000 arrows scroll as smoothly as 100. Follows new arrows while
 * "follow" is set (it unsets itself when the user scrolls back). */
#define MS_TYPE_SEQUENCE_VIEW (ms_sequence_view_get_type ())
G_DECLARE_FINAL_TYPE (MsSequenceView, ms_sequence_view, MS, SEQUENCE_VIEW, GtkWidget)

GtkWidget *ms_sequence_view_new (void);

/* The model is borrowed with a reference; NULL clears. */
void ms_sequence_view_set_model (MsSequenceView *self, MsDiagramModel *model);
MsDiagramModel *ms_sequence_view_get_model (MsSequenceView *self);

/* Property "follow" (gboolean, default TRUE). */
void ms_sequence_view_set_follow (MsSequenceView *self, gboolean follow);
gboolean ms_sequence_view_get_follow (MsSequenceView *self);

/* Property "zoom" (double, 0.5 to 4.0, default 1.0): scales text, row
 * height and lane spacing together, so the layout keeps its shape. */
void ms_sequence_view_set_zoom (MsSequenceView *self, double zoom);
double ms_sequence_view_get_zoom (MsSequenceView *self);

/* Property "selected-seq" (guint64, 0 = none): the arrow clicked or chosen
 * with the keyboard (Up/Down). The window's inspector follows it. */
void ms_sequence_view_set_selected_seq (MsSequenceView *self, guint64 seq);
guint64 ms_sequence_view_get_selected_seq (MsSequenceView *self);

/* The selected arrow (borrowed), or NULL: seq is counted per server, so
 * the inspector should read the server and session from here. */
MsArrowItem *ms_sequence_view_get_selected_arrow (MsSequenceView *self);
/* Selects the arrow of that server's event `seq` (seq is counted per
 * server: ms_sequence_view_set_selected_seq() takes the first arrow with
 * it), scrolled into view; nothing when it is not shown. */
void ms_sequence_view_select_event (MsSequenceView *self, const char *server, guint64 seq);
/* The centre of a lane in widget coordinates, scrolled sideways (tests). */
double ms_sequence_view_get_lane_x (MsSequenceView *self, guint lane);

/* For tests: the index range of the rows laid out for the current scroll
 * position, [first, last). */
void ms_sequence_view_get_visible_rows (MsSequenceView *self, guint *first_r, guint *last_r);

/* For tests and exports: the header's and a row's height in pixels, for
 * the current font and zoom. */
void ms_sequence_view_get_metrics (MsSequenceView *self, int *header_height, int *row_height);

/* For tests: the width of the protocol tag column (the gutter) in pixels,
 * measured from the widest tag ("SMTP", "POP3", "IMAP") in the current
 * font and zoom; `tag_width_r` (may be NULL) gets the width of the widest
 * tag's chip, which the gutter holds with a margin. */
int ms_sequence_view_get_gutter_width (MsSequenceView *self, int *tag_width_r);

/* An arrow's label as drawn (newly allocated): the line without the CRLF
 * that ends it; a message's inner line breaks (CRLF) as " ↵ "; a bare CR,
 * a bare LF, a tab and any other control as its Control Pictures glyph
 * (␍ ␊ ␉, U+2400 + c; DEL ␡), drawn bold in the arrow's colour, so nothing
 * sent is invisible; cut with "…" after 400 bytes (no lane shows more). */
char *ms_sequence_view_format_label (const char *text);

/* The colour of an arrow class on a light or a dark background (the one
 * table of them; tests check their contrast). */
const GdkRGBA *ms_sequence_view_get_class_color (MsArrowClass klass, gboolean dark);
/* WCAG 2.1 contrast ratio of two opaque colours, 1 to 21. */
double ms_sequence_view_contrast_ratio (const GdkRGBA *a, const GdkRGBA *b);

G_END_DECLS
