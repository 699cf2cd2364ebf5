/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-trace-model.h"

G_BEGIN_DECLS

/* A recorded trace of tests/fixtures/ (made by record-traces.sh), loaded
 * whole. Asserts that it loads. */
static inline MsTraceModel *
gui_test_load_fixture (const char *name)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", name, NULL);
  g_autoptr(MsTraceModel) trace = ms_trace_model_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (ms_trace_model_load_file (trace, path, &error));
  g_assert_no_error (error);
  return g_steal_pointer (&trace);
}

G_END_DECLS
