/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope"

#include "config.h"

#include <string.h>

#include "ms-breakpoint.h"

char *
ms_breakpoint_normalize (MsBreakpointKind kind,
                         const char *what)
{
  static const char * const statuses[] = { "-ERR", "NO", "BAD" };
  gsize len;

  g_return_val_if_fail (what != NULL, NULL);

  len = strlen (what);
  switch (kind)
    {
    case MS_BREAKPOINT_VERB:
      /* A verb is letters only (RFC 5321 §4.1.1, RFC 1939 §3, RFC 3501 §9):
       * not an IMAP tag, nor the two words of "UID FETCH". */
      if (len == 0 || len > MS_BREAKPOINT_VERB_MAX)
        return NULL;
      for (gsize i = 0; i < len; i++)
        if (!g_ascii_isalpha (what[i]))
          return NULL;
      return g_ascii_strup (what, -1);
    case MS_BREAKPOINT_REPLY:
      /* RFC 5321 §4.2.1: three digits, the first (2 to 5) the reply's
       * class, so "5xx" stands for every permanent failure, the second
       * (0 to 5) its category. */
      if (len == 3 && what[0] >= '2' && what[0] <= '5')
        {
          if (what[1] >= '0' && what[1] <= '5' && g_ascii_isdigit (what[2]))
            return g_strdup (what);
          if (g_ascii_tolower (what[1]) == 'x' && g_ascii_tolower (what[2]) == 'x')
            return g_strdup_printf ("%cxx", what[0]);
        }
      /* RFC 1939 §3 (POP3's -ERR), RFC 3501 §7.1 (IMAP's tagged NO, BAD). */
      for (gsize i = 0; i < G_N_ELEMENTS (statuses); i++)
        if (g_ascii_strcasecmp (what, statuses[i]) == 0)
          return g_strdup (statuses[i]);
      return NULL;
    default:
      return NULL;
    }
}
