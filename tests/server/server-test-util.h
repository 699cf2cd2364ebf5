/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-server.h"

/* Helpers the server's tests share. Header-only: each test program is one file. */

/* Runs the main context until `user`'s INBOX on `server` holds `count`
 * messages or 10 s have passed; returns how many it holds. */
static inline guint
ms_test_wait_for_messages (MsServer *server,
                           const char *user,
                           guint count)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GPtrArray) messages = ms_store_list (ms_server_get_store (server), user,
                                                     "INBOX", NULL);

      if ((messages != NULL && messages->len >= count) || g_get_monotonic_time () > deadline)
        return messages != NULL ? messages->len : 0;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}
