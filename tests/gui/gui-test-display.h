/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

/* The start of a widget test's main(): GTK without a session bus (CI runs
 * the tests under Xvfb: no accessibility bus, no dconf), then the display.
 * Without one, the test at `skip_path` says so and FALSE is returned: add
 * no other test, run g_test_run(). Header-only: each test is one file. */

static void
gui_test_no_display (void)
{
  g_test_skip ("no display: run under xvfb-run");
}

static inline gboolean
gui_test_init_display (int *argc,
                       char ***argv,
                       const char *skip_path)
{
  g_setenv ("GTK_A11Y", "none", FALSE);
  g_setenv ("GSETTINGS_BACKEND", "memory", FALSE);
  g_test_init (argc, argv, NULL);
  if (gtk_init_check ())
    return TRUE;
  g_test_add_func (skip_path, gui_test_no_display);
  return FALSE;
}

/* Runs what the main context has ready, without waiting. */
static inline void
gui_test_drain (void)
{
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

/* A timeout callback: sets the gboolean `data` points to. */
static inline gboolean
gui_test_timed_out (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}
