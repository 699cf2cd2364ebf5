/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Step-mode breakpoints (docs/trace-format.md, "step" and "The trace
 * port"): the one rule for what a breakpoint may be, shared by the
 * servers, the trace port's viewers and the app. */
typedef enum {
  MS_BREAKPOINT_VERB,   /* a command verb: "RCPT", "DELE", "FETCH" */
  MS_BREAKPOINT_REPLY,  /* a reply: "550", "5xx", "-ERR", "NO", "BAD" */
} MsBreakpointKind;

/* The longest verb a breakpoint takes (IMAP's longest is AUTHENTICATE, 12). */
#define MS_BREAKPOINT_VERB_MAX 32

/* `what` in its stored form, or NULL when it is not a breakpoint of that
 * kind. A verb is letters only, in upper case. A reply is an SMTP code
 * ("550") or class ("5xx", lower case), POP3's "-ERR", or IMAP's "NO" or
 * "BAD"; case is ignored on input. Free with g_free. */
char *ms_breakpoint_normalize (MsBreakpointKind kind, const char *what);

G_END_DECLS
