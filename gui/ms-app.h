/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* MsApp: the application `mailscope`. With no arguments it runs the demo
 * world (alpha.test and beta.test) in its own main loop and shows it live;
 * with --trace-file it replays a recorded trace instead (read only). */
#define MS_TYPE_APP (ms_app_get_type ())
G_DECLARE_FINAL_TYPE (MsApp, ms_app, MS, APP, AdwApplication)

#define MS_APP_ID "org.mailscope.Mailscope"

MsApp *ms_app_new (void);
/* g_application_run(), but non-zero also when the world or the trace failed
 * (or a screenshot could not be written) after the main loop began. */
int ms_app_run (MsApp *self, int argc, char **argv);

G_END_DECLS
