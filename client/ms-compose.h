/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  const char *from;                  /* "alice@alpha.test" or "Alice <alice@alpha.test>" */
  const char * const *to;            /* at least one address */
  const char * const *cc;            /* nullable */
  const char *subject;               /* UTF-8; nullable = no Subject header */
  const char *body;                  /* UTF-8 text; nullable = empty */
  const char * const *attachments;   /* file paths; nullable */
} MsComposeParams;

/* Builds an RFC 5322 message with GMime: From, To, Cc, Subject (RFC 2047
 * encoded when not ASCII), Date, Message-ID (at the sender's domain) and
 * MIME-Version. The body is text/plain; charset=utf-8, quoted-printable when
 * it is not plain 7-bit ASCII (RFC 2045 §6.7). With attachments the message
 * is multipart/mixed (RFC 2046 §5.1.3), each file base64 with the content
 * type guessed from its name and contents. Every line ends in CRLF.
 *
 * Returns the message, or NULL with `error` set (G_IO_ERROR_INVALID_ARGUMENT
 * for an unparsable address or invalid UTF-8, or the error reading an
 * attachment). */
GBytes *ms_compose_message (const MsComposeParams *params, GError **error);

G_END_DECLS
