/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "ms-event.h"

G_BEGIN_DECLS

/* MsInspector: what one trace event says, for a class to read. The raw line
 * with its CRLF made visible (the trace stores the text without it), an AUTH
 * line's base64 decoded when the trace revealed it, and what the command or
 * reply code means with the RFC section it comes from (data/explanations.json,
 * compiled into the app's GResource). */
#define MS_TYPE_INSPECTOR (ms_inspector_get_type ())
G_DECLARE_FINAL_TYPE (MsInspector, ms_inspector, MS, INSPECTOR, GtkWidget)

GtkWidget *ms_inspector_new (void);

/* Shows `event` (a reference is kept); NULL shows the hint to pick an arrow.
 * `from` and `to` name the arrow's ends ("alice (127.0.0.1)", "alpha.test"),
 * either may be NULL. */
void ms_inspector_show_event (MsInspector *self, MsEvent *event, const char *from,
                              const char *to);
/* Borrowed; NULL when nothing is shown. */
MsEvent *ms_inspector_get_event (MsInspector *self);
/* Everything the inspector shows now, as plain text (for tests and copying).
 * Free with g_free. */
char *ms_inspector_get_text (MsInspector *self);

/* For a `command` event of an AUTH exchange: the base64 on the line decoded,
 * with NUL bytes shown as "\0" (SASL PLAIN separates its fields with them).
 * NULL when the line holds no base64 to decode or was masked. Exposed for
 * tests. Free with g_free. */
char *ms_inspector_decode_auth (const char *text);

G_END_DECLS
