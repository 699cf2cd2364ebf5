/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The IMAP command syntax of RFC 3501 §9 (with LITERAL+, RFC 7888), as a
 * bounded parser that does no I/O.
 *
 * The session gathers one whole command first: its lines, each literal's
 * bytes after the line that announced it, and the lines after them, into one
 * buffer exactly as they came on the wire ("a1 LOGIN {5}\r\nalice pw").
 * ms_imap_line_literal() tells the session whether a line announces a
 * literal and how long it is, so the session can check the size before it
 * reads a byte of it. ms_imap_parse_command() then turns the buffer into a
 * tag, a verb and a tree of arguments.
 *
 * Tokens (RFC 3501 §9, "command" and below):
 *   atom         any ATOM-CHARs, also '\' (flags such as \Seen), '*' and
 *                '%' (LIST wildcards, "1:*"), ']' and '+' ("+FLAGS.SILENT").
 *                An atom holding '[' runs on to the matching ']' whatever is
 *                inside, spaces and parentheses too, and goes on after it:
 *                "BODY.PEEK[HEADER.FIELDS (From Subject)]<0.2048>" is one
 *                atom, which the FETCH handler takes apart. A section holds
 *                printable ASCII only, no second '[', and balanced
 *                parentheses that count toward max_depth on top of the
 *                lists around the atom; quoted strings in it are skipped.
 *   string       "quoted" (with \" and \\ escapes, no CR, LF or NUL) or a
 *                literal {N}CRLF<N bytes> / {N+}CRLF<N bytes>.
 *   NIL          the atom NIL, as its own type.
 *   list         "(" args separated by single spaces ")", nested at most
 *                MsImapLimits.max_depth deep. */

typedef enum {
  MS_IMAP_ARG_ATOM,
  MS_IMAP_ARG_STRING,     /* quoted string or literal */
  MS_IMAP_ARG_NIL,
  MS_IMAP_ARG_LIST,
} MsImapArgType;

typedef struct _MsImapArg MsImapArg;
struct _MsImapArg {
  MsImapArgType type;
  gboolean literal;       /* STRING: it came as a literal */
  char *data;             /* ATOM, STRING: NUL-terminated (a literal may hold NULs); else NULL */
  gsize len;
  GPtrArray *children;    /* LIST: of MsImapArg (owned); else NULL */
};

typedef struct {
  char *tag;              /* RFC 3501 "tag": 1+ ASTRING-CHARs but '+' */
  char *verb;             /* upper-cased ASCII: "LOGIN", "UID" */
  GPtrArray *args;        /* of MsImapArg (owned), after the verb */
} MsImapCommand;

typedef struct {
  guint max_depth;        /* nesting of parentheses; default 16 */
  guint max_args;         /* arguments in all, at every depth; default 10000 */
  gsize max_tag;          /* default 64 */
} MsImapLimits;

void ms_imap_limits_init (MsImapLimits *limits);

#define MS_IMAP_PARSE_ERROR (ms_imap_parse_error_quark ())
GQuark ms_imap_parse_error_quark (void);
typedef enum {
  MS_IMAP_PARSE_ERROR_BAD_TAG,     /* no tag, bad characters, over max_tag: "* BAD" */
  MS_IMAP_PARSE_ERROR_SYNTAX,      /* tag is good, the rest is not: "<tag> BAD" */
  MS_IMAP_PARSE_ERROR_LIMIT,       /* too deep, too many arguments: "<tag> BAD" */
} MsImapParseError;

/* Parses one complete command (without the final CRLF). On success returns
 * a new command and sets `tag_r` to NULL. On failure returns NULL with
 * `error` set; when the tag was readable (codes SYNTAX and LIMIT), `tag_r`
 * (may be NULL) gets a copy of it (free it) so the reply can carry it, else
 * NULL. `limits` may be NULL for the defaults. The error message says what
 * was wrong and at which byte offset, fit for the BAD reply. */
MsImapCommand *ms_imap_parse_command (const char *data, gsize len, const MsImapLimits *limits,
                                      char **tag_r, GError **error);
void ms_imap_command_free (MsImapCommand *command);
void ms_imap_arg_free (MsImapArg *arg);

/* TRUE when `line` (without its CRLF) ends with a literal's announcement
 * "{N}" or "{N+}" (RFC 3501 §4.3, RFC 7888 §4); then `size_r` is N and
 * `nonsync_r` says whether it was the "+" form. FALSE for anything else, including a number
 * too large for a guint64. */
gboolean ms_imap_line_literal (const char *line, gsize len, guint64 *size_r,
                               gboolean *nonsync_r);

/* Helpers for handlers. */

/* ATOM or STRING: its text; NULL for NIL or LIST. "astring" in RFC 3501. */
const char *ms_imap_arg_astring (const MsImapArg *arg);
/* ATOM only (case-insensitive match helper for keywords such as "FLAGS"). */
gboolean ms_imap_arg_is_atom (const MsImapArg *arg, const char *keyword);
/* A number (RFC 3501 "number": 1-10 digits, fits in 32 bits) from an ATOM. */
gboolean ms_imap_arg_number (const MsImapArg *arg, guint32 *value_r);

/* A sequence set (RFC 3501 "sequence-set"): "1", "2:4", "5:*", "*", "1,3:5".
 * Each range is kept as written (min <= max after ordering "4:2" as 2:4, as
 * the RFC allows); `*` stands for `star_value` (the highest sequence number
 * or UID in the mailbox, or 0 when it is empty). 0 is not a valid number.
 * Parsing fails on syntax only; ranges beyond the mailbox are the handler's
 * business. */
typedef struct {
  guint32 min;
  guint32 max;
} MsImapRange;

/* Returns a new GArray of MsImapRange in the order written, or NULL on bad
 * syntax (empty, a 0, a leading zero, a number over 32 bits, junk, more than
 * `max_ranges`). */
GArray *ms_imap_parse_sequence_set (const char *text, guint32 star_value, guint max_ranges);
/* TRUE when `value` is in one of the ranges. */
gboolean ms_imap_sequence_set_contains (const GArray *ranges, guint32 value);

/* Dates (RFC 3501 "date": "1-Feb-1994" or quoted; "date-time":
 * "17-Jul-1996 02:44:25 -0700", day " 7" or "07"). Both take the text with
 * or without its double quotes and return Unix seconds (for "date", at
 * 00:00 UTC of that day) or FALSE on bad syntax or a bad day of month. */
gboolean ms_imap_parse_date (const char *text, gint64 *time_r);
gboolean ms_imap_parse_date_time (const char *text, gint64 *time_r);
/* "17-Jul-1996 02:44:25 +0000" for INTERNALDATE, in UTC (no quotes); times
 * outside years 0000..9999 are clamped to them. Free with g_free(). */
char *ms_imap_format_date_time (gint64 time);

/* Writes `text` as an IMAP string to `out`: a quoted string when it can be
 * one (no CR, LF, NUL, 8-bit bytes, and at most 1024 bytes), else a literal
 * "{N}\r\n<bytes>". NULL is written as NIL. */
void ms_imap_append_string (GString *out, const char *text, gsize len);
/* Like ms_imap_append_string(), but an atom when `text` is a valid atom. */
void ms_imap_append_astring (GString *out, const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsImapCommand, ms_imap_command_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsImapArg, ms_imap_arg_free)

G_END_DECLS
