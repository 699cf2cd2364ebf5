/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* IMAP SEARCH criteria (RFC 3501 §6.4.4, "search-key" in §9) compiled into a
 * tree of keys, then matched against one message at a time.
 *
 * Matching never does I/O itself: the message context says what it knows
 * for free (sequence number, UID, flags, \Recent) and gives loaders for the
 * rest, which are called only when a key needs them and at most once per
 * message. So a search on flags reads no file, a search on From or Subject
 * reads only headers (or a cached summary), and only BODY, TEXT and, for
 * some sizes, LARGER/SMALLER read whole messages. The keys of an AND are
 * tried cheapest first. */

typedef struct _MsImapSearch MsImapSearch;
typedef struct _MsImapSearchMessage MsImapSearchMessage;

#define MS_IMAP_SEARCH_ERROR (ms_imap_search_error_quark ())
GQuark ms_imap_search_error_quark (void);
typedef enum {
  MS_IMAP_SEARCH_ERROR_SYNTAX,      /* "tag BAD <message>" */
  MS_IMAP_SEARCH_ERROR_BADCHARSET,  /* "tag NO [BADCHARSET (UTF-8 US-ASCII)] ..." */
  MS_IMAP_SEARCH_ERROR_LIMIT,       /* nested too deep, too many keys: "tag BAD" */
} MsImapSearchError;

/* Keys nest (NOT, OR, parentheses) at most this deep. */
#define MS_IMAP_SEARCH_MAX_DEPTH 32
/* Ranges in one sequence set ("1,3,5:7" is three). */
#define MS_IMAP_SEARCH_MAX_RANGES 10000

/* Where a message's text comes from. Every member may be NULL. */
typedef struct {
  /* The internal date (Unix seconds) and the size as stored, in bytes.
   * FALSE when the message is gone. */
  gboolean (*stat) (gpointer data, const MsImapSearchMessage *message,
                    gint64 *internal_date_r, guint64 *size_r);
  /* The header block, up to and including the empty line that ends it (more
   * is allowed: the rest is ignored). NULL when the message is gone. When
   * NULL itself, read_message is used. */
  GBytes *(*read_header) (gpointer data, const MsImapSearchMessage *message);
  /* The whole message as stored. NULL when it is gone. */
  GBytes *(*read_message) (gpointer data, const MsImapSearchMessage *message);
  /* A cache's decoded Subject and From (ms_store_get_summary()), as new
   * strings or NULL when the header has none. FALSE when it cannot tell:
   * the header is read instead. */
  gboolean (*summary) (gpointer data, const MsImapSearchMessage *message,
                       char **subject_r, char **from_r);
} MsImapSearchLoader;

/* One message to match. Fill the public members (ms_imap_search_message_init()
 * zeroes the rest), match it against any number of searches, then call
 * ms_imap_search_message_clear() to drop what was loaded. */
struct _MsImapSearchMessage {
  guint32 seq;
  guint32 uid;
  const char *flags;                   /* Maildir letters (borrowed); NULL is "" */
  gboolean recent;
  /* When `have_stat`, these are used instead of loader->stat. */
  gboolean have_stat;
  gint64 internal_date;                /* Unix seconds */
  guint64 size;                        /* as stored, line ends as stored */
  const MsImapSearchLoader *loader;    /* borrowed; may be NULL */
  gpointer loader_data;                /* borrowed */

  /*< private >*/
  guint loaded;                        /* bit mask of what has been tried */
  GBytes *header;
  GBytes *whole;
  /* Texts to match are kept ASCII lower-cased. */
  GPtrArray *fields;                   /* the header's fields, decoded */
  GString *header_text;                /* "name: value\n" of every field, for TEXT */
  char *subject;                       /* from the summary */
  char *from;
  GString *body_text;                  /* decoded text parts */
  guint64 wire_size;
  gint64 sent_day;                     /* Date: as days since 1970-01-01 */
};

void ms_imap_search_message_init (MsImapSearchMessage *message);
void ms_imap_search_message_clear (MsImapSearchMessage *message);

/* Compiles the search criteria in `args` (of MsImapArg) from index `start`
 * on: an optional "CHARSET <astring>" (UTF-8 and US-ASCII only), then one or
 * more search keys, all of which must match. `max_seq` is the number of
 * messages in the mailbox and `max_uid` its highest UID (0 when it is
 * empty): they stand for "*" in sets. Returns a new search, or NULL with
 * `error` set (MS_IMAP_SEARCH_ERROR) whose message is fit for the client. */
MsImapSearch *ms_imap_search_compile (GPtrArray *args, guint start, guint32 max_seq,
                                      guint32 max_uid, GError **error);
void ms_imap_search_free (MsImapSearch *search);

/* TRUE when `message` matches every key. Loads only what the keys need;
 * a message whose text cannot be loaded does not match a key on its text. */
gboolean ms_imap_search_matches (MsImapSearch *search, MsImapSearchMessage *message);

/* TRUE when some key needs more than the sequence number, UID, flags and
 * \Recent: the caller may then want to prepare its loader. */
gboolean ms_imap_search_needs_loader (MsImapSearch *search);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsImapSearch, ms_imap_search_free)

G_END_DECLS
