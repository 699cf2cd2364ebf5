/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* MsImapView: the messages of a selected mailbox as one IMAP session last
 * told its client (RFC 3501 §2.3.1), in sequence order. Index `i` (0-based)
 * is sequence number i + 1. UIDs strictly ascend with the index.
 *
 * It is kept small because every idle session holds one: UIDs are stored as
 * runs of consecutive UIDs (a mailbox that was only ever delivered to is one
 * run), and each message has one byte of MsImapViewBits. A view of n
 * messages in r runs takes 8 r + n bytes: about 10 KB for 10,000 messages
 * with UIDs 1..10000, at most 9 bytes per message however fragmented.
 *
 * Costs: n messages, r runs. Lookups are O(log r); append is amortised
 * O(1); ms_imap_view_remove_at() is O(n) (it moves the bytes after it);
 * ms_imap_view_remove_expunged() is O(n) for any number of removals. */
typedef struct _MsImapView MsImapView;

/* One message's byte. The flag bits are the Maildir letters of ms-store.h
 * in ASCII order, so letters built from bits come out sorted. */
typedef enum {
  MS_IMAP_VIEW_DRAFT = 1 << 0,      /* D, \Draft */
  MS_IMAP_VIEW_FLAGGED = 1 << 1,    /* F, \Flagged */
  /* P (passed, "resent") is not an IMAP flag and is never shown; the view
   * keeps it so that a change of P alone is still seen as a change of the
   * store's letters, as it always was. */
  MS_IMAP_VIEW_PASSED = 1 << 2,     /* P */
  MS_IMAP_VIEW_ANSWERED = 1 << 3,   /* R, \Answered */
  MS_IMAP_VIEW_SEEN = 1 << 4,       /* S, \Seen */
  MS_IMAP_VIEW_DELETED = 1 << 5,    /* T, \Deleted */
  MS_IMAP_VIEW_RECENT = 1 << 6,     /* \Recent in this session (RFC 3501 §2.3.2) */
  MS_IMAP_VIEW_EXPUNGED = 1 << 7,   /* gone from the store; EXPUNGE not yet sent (§7.4.1) */
} MsImapViewBits;

/* The bits that come from Maildir letters (everything but RECENT and
 * EXPUNGED). */
#define MS_IMAP_VIEW_FLAG_MASK 0x3f

/* Room for the letters of every flag bit and a NUL. */
#define MS_IMAP_VIEW_LETTERS_SIZE 8

/* An empty view with room for `reserve` messages before it grows (0 is
 * fine). Never returns NULL. */
MsImapView *ms_imap_view_new (guint reserve);
/* Frees the view; NULL is ignored. Use g_clear_pointer (&view,
 * ms_imap_view_free) to clear a member. */
void ms_imap_view_free (MsImapView *view);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsImapView, ms_imap_view_free)

/* The number of messages. */
guint ms_imap_view_length (const MsImapView *view);

/* Adds a message at the end (sequence number length + 1). `uid` must be
 * above every UID in the view (not 0): a programming error otherwise. It
 * joins the last run when it follows its last UID. */
void ms_imap_view_append (MsImapView *view,
                          guint32     uid,
                          guint8      bits);
/* Gives the unused room back after a bulk load (SELECT), so the view holds
 * exactly what it needs. Appends after it may grow it again. */
void ms_imap_view_trim (MsImapView *view);

/* The UID of message `index`, which must be below the length. */
guint32 ms_imap_view_uid_at (const MsImapView *view,
                             guint             index);
/* The UID of the last message, 0 for an empty view. */
guint32 ms_imap_view_last_uid (const MsImapView *view);
/* TRUE with the message's index in `index_r` (may be NULL) when `uid` is in
 * the view; FALSE otherwise, `index_r` unchanged. */
gboolean ms_imap_view_index_of_uid (const MsImapView *view,
                                    guint32           uid,
                                    guint            *index_r);
/* The first index whose UID is >= `uid`: the length when there is none. */
guint ms_imap_view_lower_bound (const MsImapView *view,
                                guint32           uid);

/* Message `index`'s MsImapViewBits; `index` must be below the length. */
guint8 ms_imap_view_get_bits (const MsImapView *view,
                              guint             index);
/* Replaces all its bits. */
void ms_imap_view_set_bits (MsImapView *view,
                            guint       index,
                            guint8      bits);
/* Replaces only its flag bits (MS_IMAP_VIEW_FLAG_MASK) with those in
 * `flags`; RECENT and EXPUNGED stay. */
void ms_imap_view_set_flags (MsImapView *view,
                             guint       index,
                             guint8      flags);
/* How many messages have every bit of `mask` set. */
guint ms_imap_view_count_bits (const MsImapView *view,
                               guint8            mask);

/* Removes message `index` (< length); the ones after it move down one
 * sequence number (EXPUNGE, RFC 3501 §7.4.1). */
void ms_imap_view_remove_at (MsImapView *view,
                             guint       index);
/* Removes every message with the EXPUNGED bit, in one pass. Returns how
 * many were removed. */
guint ms_imap_view_remove_expunged (MsImapView *view);

/* Walks the view in order in amortised O(1) per message (a merge with a
 * store listing), where ms_imap_view_uid_at() would search each time. The
 * view must not change while it is walked, except through
 * ms_imap_view_set_bits() and ms_imap_view_set_flags(). */
typedef struct {
  const MsImapView *view;      /* borrowed */
  guint index;                 /* the next message's index */
  guint run;                   /* the run that holds it */
} MsImapViewIter;

void ms_imap_view_iter_init (MsImapViewIter   *iter,
                             const MsImapView *view);
/* TRUE with the next message's index and UID (either may be NULL); FALSE
 * at the end. */
gboolean ms_imap_view_iter_next (MsImapViewIter *iter,
                                 guint          *index_r,
                                 guint32        *uid_r);

/* The number of runs of consecutive UIDs the view holds (for tests and
 * memory figures). */
guint ms_imap_view_get_n_runs (const MsImapView *view);
/* The payload bytes the view has allocated (its struct, runs and bytes,
 * spare room included; not the allocator's own overhead). */
gsize ms_imap_view_get_memory_size (const MsImapView *view);

/* Maildir letters (ms-store.h) to flag bits: D F P R S T; lower-case
 * keywords and anything else are ignored. */
guint8 ms_imap_view_bits_from_letters (const char *letters);
/* The same from ms_store_list_flags()'s MS_STORE_FLAG_BIT () mask. */
guint8 ms_imap_view_bits_from_store (guint32 store_bits);
/* The flag bits of `bits` as sorted Maildir letters, NUL-terminated, in
 * `letters_r` of MS_IMAP_VIEW_LETTERS_SIZE bytes. Returns `letters_r`. */
char *ms_imap_view_letters_from_bits (guint8 bits,
                                      char  *letters_r);
/* Appends the IMAP flag list of `bits` (RFC 3501 §7.4.2 FLAGS):
 * "(\Draft \Flagged \Answered \Seen \Deleted \Recent)" with the flags that
 * are set, in that order (their Maildir letters' order), \Recent last;
 * "()" for none. P and EXPUNGED are not shown. */
void ms_imap_view_append_flags (GString *out,
                                guint8   bits);

G_END_DECLS
