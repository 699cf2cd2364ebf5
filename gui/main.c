/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope"

#include "config.h"

#include <locale.h>

#include "ms-app.h"

int
main (int argc,
      char **argv)
{
  g_autoptr(MsApp) app = NULL;

  setlocale (LC_ALL, "");
  app = ms_app_new ();
  return ms_app_run (app, argc, argv);
}
