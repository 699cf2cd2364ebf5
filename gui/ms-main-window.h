/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "ms-stepper.h"
#include "ms-trace-bus.h"
#include "ms-world.h"

G_BEGIN_DECLS

/* MsMainWindow: sessions on the left, the sequence diagram in the middle,
 * the inspector of the selected arrow on the right and the mailboxes below,
 * all built from one trace (a live bus or a recorded file). */
#define MS_TYPE_MAIN_WINDOW (ms_main_window_get_type ())
G_DECLARE_FINAL_TYPE (MsMainWindow, ms_main_window, MS, MAIN_WINDOW, AdwApplicationWindow)

/* Both constructors return a window that GTK holds until it is destroyed
 * (like gtk_window_new()). A window that follows `bus` live; `subtitle` names the world.
 * `app` may be NULL (tests). */
MsMainWindow *ms_main_window_new_for_bus (GtkApplication *app, MsTraceBus *bus,
                                          const char *subtitle);
/* A window that replays the recorded trace at `path` (read only). Returns
 * NULL and sets `error` when the file cannot be read. `app` may be NULL. */
MsMainWindow *ms_main_window_new_for_trace (GtkApplication *app, const char *path,
                                            GError **error);

/* Gives the window the live world behind its bus, for step mode and
 * breakpoints (borrowed: clear with NULL before freeing the world). Without
 * one, as for a replay, the step actions are disabled. */
void ms_main_window_set_world (MsMainWindow *self, MsWorld *world);
/* The same for any MsStepper (a server elsewhere: MsTraceClient); the
 * window keeps a reference. NULL disables the step actions. */
void ms_main_window_set_stepper (MsMainWindow *self, MsStepper *stepper);
/* Shows or hides one session's arrows in the diagram (the eye toggle of
 * its row in the sessions list). */
void ms_main_window_set_session_visible (MsMainWindow *self, const char *server,
                                         const char *session, gboolean visible);
/* Puts the built-in user agents' panel in a window of its own, beside this
 * one, shown by the "User agents" button (F8); NULL removes it and hides
 * the button. */
void ms_main_window_set_agents (MsMainWindow *self, GtkWidget *panel);
void ms_main_window_set_agents_visible (MsMainWindow *self, gboolean visible);
/* That window (borrowed), or NULL. */
GtkWidget *ms_main_window_get_agents_window (MsMainWindow *self);

/* Property "step-mode" (gboolean): every session of every server of the
 * world holds its commands until Step (action win.step-mode). */
void ms_main_window_set_step_mode (MsMainWindow *self, gboolean step_mode);
gboolean ms_main_window_get_step_mode (MsMainWindow *self);

/* Property "presentation" (gboolean): larger fonts, stronger contrast and a
 * zoomed diagram, for a lecture hall (action win.presentation). */
void ms_main_window_set_presentation (MsMainWindow *self, gboolean presentation);
gboolean ms_main_window_get_presentation (MsMainWindow *self);

/* Property "selected-seq" (guint64, 0 = none): the arrow shown in the
 * inspector, bound both ways to the sequence view's own. */
void ms_main_window_set_selected_seq (MsMainWindow *self, guint64 seq);
guint64 ms_main_window_get_selected_seq (MsMainWindow *self);

/* The timeline: the mailboxes and the diagram show the first `position`
 * events (clamped to the trace's length). At the end, the window follows
 * new events again. */
void ms_main_window_set_timeline_position (MsMainWindow *self, guint position);
guint ms_main_window_get_timeline_position (MsMainWindow *self);

/* Writes every event of the window's trace to `path` as JSON Lines
 * (docs/trace-format.md), replacing the file. */
gboolean ms_main_window_save_trace (MsMainWindow *self, const char *path, GError **error);

/* Writes the lines of one session (`server` and `session`), or of every
 * session when both are NULL, to `path` as a text transcript: a header per
 * session, then "C: " for commands, "S: " for replies, and a message or
 * literal as "C: <N bytes of data>" followed by its lines, indented. */
gboolean ms_main_window_export_transcript (MsMainWindow *self, const char *server,
                                           const char *session, const char *path,
                                           GError **error);

/* Renders the diagram as it is on screen to a PNG file. */
gboolean ms_main_window_export_png (MsMainWindow *self, const char *path, GError **error);

/* Renders `widget` (realized, on screen) at its size to a PNG file: the
 * diagram export and `mailscope --screenshot` share it. */
gboolean ms_widget_save_png (GtkWidget *widget, const char *path, GError **error);

/* Announces every pending trace event to the views now. */
void ms_main_window_flush (MsMainWindow *self);

G_END_DECLS
