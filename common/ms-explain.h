/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "ms-event.h"

G_BEGIN_DECLS

/* MsExplain: the explanations the GUI's inspector shows for commands, reply
 * codes and session states, read from data/explanations.json (installed as
 * $datadir/mailscope/explanations.json). The file is checked strictly when
 * it is loaded, so a lookup never meets a half-filled entry. */
typedef struct _MsExplain MsExplain;

/* One explanation. All strings are owned by the MsExplain. */
typedef struct {
  const char *meaning;  /* one to three sentences, never NULL */
  const char *rfc;      /* "RFC 5321 §4.1.1.1", never NULL */
  const char *lesson;   /* the point a student should take away, or NULL */
} MsExplainEntry;

#define MS_EXPLAIN_ERROR (ms_explain_error_quark ())
GQuark ms_explain_error_quark (void);
typedef enum {
  MS_EXPLAIN_ERROR_PARSE,    /* not JSON */
  MS_EXPLAIN_ERROR_INVALID,  /* JSON, but not of the expected form */
} MsExplainError;

/* Returns NULL and sets `error` (G_FILE_ERROR, or MS_EXPLAIN_ERROR with the
 * JSON path of the first problem, "smtp.replies.250.rfc: ...") when the file
 * cannot be read or is not valid. Free with ms_explain_free(). */
MsExplain *ms_explain_new_from_file (const char *path, GError **error);
/* The same from a string in memory; `len` may be -1 for a NUL-terminated one. */
MsExplain *ms_explain_new_from_data (const char *data, gssize len, GError **error);
void ms_explain_free (MsExplain *explain);

/* Lookups. `proto` is "smtp", "pop3" or "imap" ("smtp-relay" counts as
 * "smtp"). Each returns an entry borrowed from `explain`, or NULL when there
 * is none (an unknown protocol or key included).
 * - command: the verb, any case ("EHLO", "uid"); only a single word.
 * - reply: SMTP the three-digit code ("250"); POP3 "+OK", "-ERR", "+";
 *   IMAP a status ("OK", "NO", "BAD", "BYE", "PREAUTH", "+") or the name of
 *   an untagged data response ("EXISTS", "FETCH", ...).
 * - code: SMTP an RFC 3463 enhanced code ("5.7.8"); POP3 a response code
 *   ("IN-USE", "SYS/TEMP"); IMAP a bracketed response code ("TRYCREATE").
 * - state: a state name of docs/trace-format.md ("rcpt", "selected"). */
const MsExplainEntry *ms_explain_command (MsExplain *explain, const char *proto,
                                          const char *verb);
const MsExplainEntry *ms_explain_reply (MsExplain *explain, const char *proto, const char *key);
const MsExplainEntry *ms_explain_code (MsExplain *explain, const char *proto, const char *code);
const MsExplainEntry *ms_explain_state (MsExplain *explain, const char *proto,
                                        const char *state);

/* The entries that explain a `command` or `reply` trace event, most general
 * first: an IMAP "a1 NO [TRYCREATE] ..." gives NO then TRYCREATE; "UID FETCH"
 * gives UID then FETCH; IDLE's "DONE" line gives DONE; an SMTP reply its code
 * then its enhanced code; a POP3 reply its status then its response code. A
 * `relay` event gives the remote reply's code and status. Other kinds, and
 * lines no entry explains (continuation lines, AUTH exchange lines), give an
 * empty array. Returns a new array (free with g_ptr_array_unref) of entries
 * borrowed from `explain`. */
GPtrArray *ms_explain_event (MsExplain *explain, const MsEvent *event);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsExplain, ms_explain_free)

G_END_DECLS
