/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The thin layer over GMime that the server and the GUI share. */

/* How much of a message ms_message_summary() looks at: the header block ends
 * at the first empty line (RFC 5322 section 2.1), and a header longer than
 * this is cut here so a hostile message cannot make us parse megabytes. */
#define MS_MESSAGE_SUMMARY_MAX_HEADER (256 * 1024)

/* Initialises GMime once for the process; call it before any GMime use.
 * Every module that parses with GMime shares this one call. */
void ms_message_ensure_gmime (void);

/* The length of the header block of `data`, including the empty line that
 * ends it (RFC 5322 §2.1), or `len` when there is no empty line. Bare LF
 * counts as a line ending as well as CRLF (Maildir files use LF). */
gsize ms_message_header_length (const guint8 *data,
                                gsize         len);

/* Parses only the header of the RFC 5322 message in `data` (`len` bytes, any
 * bytes, need not be NUL-terminated) and returns:
 * - `subject_r`: the Subject with RFC 2047 encoded-words decoded, as valid
 *   UTF-8, or NULL when there is none. Free with g_free().
 * - `from_r`: the From address list as a decoded string ("Alice
 *   <alice@alpha.test>"), or NULL when there is none. Free with g_free().
 * - `date_r`: the Date header, or NULL when missing or unparsable. Free with
 *   g_date_time_unref().
 * Any out-parameter may be NULL. Every non-NULL out-parameter is always set,
 * to NULL on failure. Returns FALSE when the bytes do not parse as a message
 * header at all; a header that lacks these fields still returns TRUE.
 * Never crashes on bad input. Not thread-safe (GMime is initialized once). */
gboolean ms_message_summary (const guint8 *data,
                             gsize         len,
                             char        **subject_r,
                             char        **from_r,
                             GDateTime   **date_r);

G_END_DECLS
