/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ms-breakpoint.h"

static void
test_normalize (void)
{
  static const struct {
    MsBreakpointKind kind;
    const char *input;
    const char *stored;   /* NULL: refused */
  } cases[] = {
    { MS_BREAKPOINT_VERB, "rcpt", "RCPT" },
    { MS_BREAKPOINT_VERB, "AUTHENTICATE", "AUTHENTICATE" },
    { MS_BREAKPOINT_VERB, "", NULL },
    { MS_BREAKPOINT_VERB, "RC PT", NULL },
    { MS_BREAKPOINT_VERB, "UID FETCH", NULL },
    { MS_BREAKPOINT_VERB, "a1", NULL },
    { MS_BREAKPOINT_VERB, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", NULL },   /* 33 letters */
    { MS_BREAKPOINT_REPLY, "550", "550" },
    { MS_BREAKPOINT_REPLY, "250", "250" },
    { MS_BREAKPOINT_REPLY, "5xx", "5xx" },
    { MS_BREAKPOINT_REPLY, "4XX", "4xx" },
    { MS_BREAKPOINT_REPLY, "-err", "-ERR" },
    { MS_BREAKPOINT_REPLY, "no", "NO" },
    { MS_BREAKPOINT_REPLY, "BAD", "BAD" },
    { MS_BREAKPOINT_REPLY, "6xx", NULL },    /* RFC 5321 §4.2.1: classes 2 to 5 */
    { MS_BREAKPOINT_REPLY, "160", NULL },
    { MS_BREAKPOINT_REPLY, "560", NULL },    /* the second digit is 0 to 5 */
    { MS_BREAKPOINT_REPLY, "5x", NULL },
    { MS_BREAKPOINT_REPLY, "5x0", NULL },
    { MS_BREAKPOINT_REPLY, "+OK", NULL },
    { MS_BREAKPOINT_REPLY, "* NO", NULL },
    { MS_BREAKPOINT_REPLY, "RCPT", NULL },
    { MS_BREAKPOINT_REPLY, "", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *stored = ms_breakpoint_normalize (cases[i].kind, cases[i].input);

      g_test_message ("%s \"%s\"", cases[i].kind == MS_BREAKPOINT_VERB ? "verb" : "reply",
                      cases[i].input);
      g_assert_cmpstr (stored, ==, cases[i].stored);
    }
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/common/breakpoint/normalize", test_normalize);
  return g_test_run ();
}
