/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Mailbox names on the IMAP wire are in modified UTF-7 (RFC 3501 §5.1.3):
 * printable ASCII stands for itself except '&', written "&-"; any other run
 * of characters is "&" + the modified BASE64 of its UTF-16BE + "-", where
 * modified BASE64 uses ',' in place of '/' and has no padding. The server
 * and the client both convert, so this lives in common/. */

/* UTF-8 to modified UTF-7. NULL when `utf8` is not valid UTF-8. */
char *ms_imap_utf7_encode (const char *utf8);

/* Modified UTF-7 to UTF-8. NULL when `utf7` is not valid modified UTF-7:
 * a byte outside 0x20..0x7E, an unterminated or empty "&...-" run other than
 * "&-", bad BASE64, a run that encodes printable ASCII (which must stand for
 * itself), padding bits that are not zero, an unpaired surrogate, a NUL, or
 * two runs back to back ("&AOQ-&AOQ-", which an encoder writes "&AOQA5A-"). Being
 * strict here means one name has one spelling, so two sessions cannot make
 * two folders that look the same. */
char *ms_imap_utf7_decode (const char *utf7);

G_END_DECLS
