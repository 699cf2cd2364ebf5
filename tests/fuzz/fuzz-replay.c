/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib.h>

/* Without libFuzzer: runs the fuzz target once on each file named on the
 * command line, or on every file of each directory named. The test suite
 * replays tests/fuzz/corpus this way, so the targets keep building and the
 * inputs that once crashed stay fixed. */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

static void
replay_file (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize len;

  if (!g_file_get_contents (path, &contents, &len, &error))
    g_error ("%s", error->message);
  LLVMFuzzerTestOneInput ((const guint8 *) contents, len);
  g_print ("ok %s\n", path);
}

int
main (int argc,
      char **argv)
{
  for (int i = 1; i < argc; i++)
    {
      if (g_file_test (argv[i], G_FILE_TEST_IS_DIR))
        {
          g_autoptr(GDir) dir = g_dir_open (argv[i], 0, NULL);
          const char *name;

          while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
            {
              g_autofree char *path = g_build_filename (argv[i], name, NULL);
              replay_file (path);
            }
        }
      else
        replay_file (argv[i]);
    }
  return 0;
}
