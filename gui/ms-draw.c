/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-draw"

#include "config.h"

#include <math.h>

#include "ms-draw-private.h"

PangoFontDescription *
_ms_draw_scaled_font (const PangoFontDescription *base,
                      double factor)
{
  PangoFontDescription *desc = pango_font_description_copy (base);
  int size = pango_font_description_get_size (base);

  if (size <= 0)
    size = 11 * PANGO_SCALE;
  if (pango_font_description_get_size_is_absolute (base))
    pango_font_description_set_absolute_size (desc, size * factor);
  else
    pango_font_description_set_size (desc, (int) (size * factor));
  return desc;
}

void
_ms_draw_foreground_color (GtkWidget *widget,
                           GdkRGBA *color_r)
{
#if GTK_CHECK_VERSION (4, 10, 0)
  gtk_widget_get_color (widget, color_r);
#else
  gtk_style_context_get_color (gtk_widget_get_style_context (widget), color_r);
#endif
}

double
_ms_draw_luminance (const GdkRGBA *color)
{
  double rgb[3] = { color->red, color->green, color->blue };

  for (int i = 0; i < 3; i++)
    rgb[i] = rgb[i] <= 0.03928 ? rgb[i] / 12.92 : pow ((rgb[i] + 0.055) / 1.055, 2.4);
  return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
}

gboolean
_ms_draw_is_dark (const GdkRGBA *foreground)
{
  return _ms_draw_luminance (foreground) > 0.5;
}

void
_ms_draw_append_layout (GtkSnapshot *snapshot,
                        PangoLayout *layout,
                        const GdkRGBA *color,
                        double x,
                        double y)
{
  gtk_snapshot_save (snapshot);
  gtk_snapshot_translate (snapshot, &GRAPHENE_POINT_INIT ((float) x, (float) y));
  gtk_snapshot_append_layout (snapshot, layout, color);
  gtk_snapshot_restore (snapshot);
}
