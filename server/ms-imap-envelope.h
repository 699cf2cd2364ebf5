/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The MIME structure of a stored message, for FETCH (RFC 3501 §6.4.5,
 * §7.4.2): ENVELOPE, BODY, BODYSTRUCTURE and the byte ranges of body
 * sections.
 *
 * IMAP wants header values exactly as they are in the message (RFC 2047
 * encoded-words stay encoded, RFC 2231 parameters stay in their extended
 * form) and sizes and line counts of the bytes as they are on the wire. A
 * GMime object tree gives neither: it decodes parameters and display names
 * and keeps no byte offsets for message/rfc822 parts. So this module splits
 * the message itself, into ranges of the caller's buffer, much as Dovecot's
 * message-parser does, and reads the few structured fields it needs
 * (Content-Type, Content-Disposition, address lists) with small bounded
 * tokenizers. Nothing here recurses deeper than MS_IMAP_MAX_MIME_DEPTH.
 *
 * Sizes: messages are stored with CRLF or bare LF line ends; the wire has
 * CRLF (RFC 3501 §2.3.4 RFC822.SIZE, §7.4.2 body-fld-octets), so a bare LF
 * counts two octets. */

/* Nesting of multiparts and message/rfc822 parts that is still described;
 * a part deeper than this is described as text/plain, so a hostile message
 * can neither blow the stack nor make a response of megabytes of
 * parentheses. */
#define MS_IMAP_MAX_MIME_DEPTH 32
/* Parts in one message, at all depths; the last part takes whatever follows
 * once this many were found. */
#define MS_IMAP_MAX_MIME_PARTS 10000

typedef struct _MsImapPart MsImapPart;
struct _MsImapPart {
  /* Offsets into the message's buffer (borrowed by the caller, not kept). */
  gsize header_start;
  gsize body_start;            /* after the empty line that ends the header */
  gsize body_end;
  char *type;                  /* as written ("Text"), default "text" */
  char *subtype;               /* as written, default "plain" */
  gboolean is_message;         /* a whole message: the top level or a message/rfc822 body */
  gboolean as_text;            /* described as text/plain: nested too deep, or a
                                * multipart without a boundary */
  GPtrArray *children;         /* multipart: of MsImapPart (owned), at least one; else NULL */
  MsImapPart *message;         /* message/rfc822: the message in the body (owned); else NULL */
};

/* Splits the message in `data` into parts. Never fails: anything that does
 * not parse is described as text/plain. The result refers to `data` by
 * offset only. Free with ms_imap_part_free(). */
MsImapPart *ms_imap_part_parse (const char *data, gsize len);
void ms_imap_part_free (MsImapPart *part);

/* Where the header of the message in `data` ends: the offset just after
 * the first empty line (RFC 5322 §2.1), or `len` when there is none. Only
 * the header is read. */
gsize ms_imap_header_end (const char *data, gsize len);

/* Octets of `data` with every bare LF counted as CRLF. */
guint64 ms_imap_wire_size (const char *data, gsize len);

/* Appends `data` to `out` with every bare LF turned into CRLF. */
void ms_imap_append_crlf (GString *out, const char *data, gsize len);

/* Appends the ENVELOPE (RFC 3501 §7.4.2) of the message whose header is
 * `header` (`len` bytes, the empty line may be included) to `out`, as a
 * parenthesized list. */
void ms_imap_append_envelope (GString *out, const char *header, gsize len);

/* Appends BODYSTRUCTURE (`extensible`) or BODY of `part` (from
 * ms_imap_part_parse() over the same `data`) to `out`. */
void ms_imap_append_body_structure (GString *out, const MsImapPart *part, const char *data,
                                    gboolean extensible);

/* Appends to `out` the header fields of `header` whose names are (or, with
 * `exclude`, are not) among `names` (case-insensitive), as they are
 * (folding kept), then the empty line: HEADER.FIELDS and HEADER.FIELDS.NOT
 * (RFC 3501 §6.4.5). Line ends are copied as they are. */
void ms_imap_append_header_fields (GString *out, const char *header, gsize len,
                                   const char *const *names, guint n_names, gboolean exclude);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsImapPart, ms_imap_part_free)

G_END_DECLS
