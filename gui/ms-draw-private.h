/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Drawing helpers the custom-drawn widgets (MsSequenceView, MsStateView)
 * share, so they scale, colour and lay out text alike. */

/* A copy of `base` at `factor` times its size (11 pt when it has none). */
PangoFontDescription *_ms_draw_scaled_font (const PangoFontDescription *base, double factor);
/* The widget's text colour in the current theme. */
void _ms_draw_foreground_color (GtkWidget *widget, GdkRGBA *color_r);
/* Relative luminance per WCAG 2.1. */
double _ms_draw_luminance (const GdkRGBA *color);
/* A dark theme, told by light text: works with or without libadwaita, and
 * with high-contrast themes. */
gboolean _ms_draw_is_dark (const GdkRGBA *foreground);
/* `layout` drawn with its top left at (x, y). */
void _ms_draw_append_layout (GtkSnapshot *snapshot, PangoLayout *layout, const GdkRGBA *color,
                             double x, double y);

G_END_DECLS
