/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder: being written (issue 5). */
#include <glib.h>

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  return g_test_run ();
}
