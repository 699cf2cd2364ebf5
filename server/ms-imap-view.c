/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

#include <string.h>

#include "ms-imap-view.h"
#include "ms-store.h"

/* Runs of consecutive UIDs. A run records only its first UID and the index
 * of its first message: its length is where the next run starts (or the
 * view's length for the last one), so a run costs 8 bytes and a mailbox
 * with every other UID gone still costs at most 9 bytes a message. Runs
 * are maximal: two neighbours never have consecutive UIDs (append joins the
 * last run when it can, and removing a message only widens gaps), so a
 * mailbox that was only delivered to is one run. */
typedef struct {
  guint32 first_uid;
  guint32 start;               /* the index of its first message */
} Run;

struct _MsImapView {
  Run *runs;
  guint n_runs;
  guint runs_size;             /* allocated, in runs */
  guint8 *bits;                /* one MsImapViewBits byte per message */
  guint len;
  guint bits_size;             /* allocated, in bytes */
};

/* The flags in their Maildir letters' ASCII order: bit i is letter i. */
static const struct {
  char letter;
  const char *name;            /* the IMAP flag (RFC 3501 §2.3.2); NULL: not shown */
} flag_letters[] = {
  { 'D', "\\Draft" },
  { 'F', "\\Flagged" },
  { 'P', NULL },
  { 'R', "\\Answered" },
  { 'S', "\\Seen" },
  { 'T', "\\Deleted" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (flag_letters) < MS_IMAP_VIEW_LETTERS_SIZE);
G_STATIC_ASSERT ((1 << G_N_ELEMENTS (flag_letters)) - 1 == MS_IMAP_VIEW_FLAG_MASK);
G_STATIC_ASSERT (MS_IMAP_VIEW_RECENT == 1 << G_N_ELEMENTS (flag_letters));

/* The next allocation for `needed` elements when `size` are there: half as
 * much again, at least `minimum`, so appends are amortised O(1). */
static guint
grown_size (guint size,
            guint needed,
            guint minimum)
{
  guint64 grown = (guint64) size + size / 2;

  grown = MAX (grown, needed);
  grown = MAX (grown, minimum);
  return (guint) MIN (grown, G_MAXUINT32);
}

MsImapView *
ms_imap_view_new (guint reserve)
{
  MsImapView *view = g_new0 (MsImapView, 1);

  if (reserve > 0)
    {
      view->bits = g_malloc (reserve);
      view->bits_size = reserve;
    }
  return view;
}

void
ms_imap_view_free (MsImapView *view)
{
  if (view == NULL)
    return;
  g_free (view->runs);
  g_free (view->bits);
  g_free (view);
}

guint
ms_imap_view_length (const MsImapView *view)
{
  g_return_val_if_fail (view != NULL, 0);

  return view->len;
}

static guint
run_length (const MsImapView *view,
            guint run)
{
  guint end = run + 1 < view->n_runs ? view->runs[run + 1].start : view->len;

  return end - view->runs[run].start;
}

static guint32
run_last_uid (const MsImapView *view,
              guint run)
{
  return view->runs[run].first_uid + run_length (view, run) - 1;
}

guint32
ms_imap_view_last_uid (const MsImapView *view)
{
  g_return_val_if_fail (view != NULL, 0);

  return view->n_runs > 0 ? run_last_uid (view, view->n_runs - 1) : 0;
}

static void
insert_run (MsImapView *view,
            guint at,
            guint32 first_uid,
            guint32 start)
{
  if (view->n_runs == view->runs_size)
    {
      view->runs_size = grown_size (view->runs_size, view->n_runs + 1, 4);
      view->runs = g_renew (Run, view->runs, view->runs_size);
    }
  memmove (&view->runs[at + 1], &view->runs[at], (view->n_runs - at) * sizeof (Run));
  view->runs[at].first_uid = first_uid;
  view->runs[at].start = start;
  view->n_runs++;
}

void
ms_imap_view_append (MsImapView *view,
                     guint32 uid,
                     guint8 bits)
{
  g_return_if_fail (view != NULL);
  g_return_if_fail (uid > ms_imap_view_last_uid (view));
  g_return_if_fail (view->len < G_MAXUINT32);

  if (view->len == view->bits_size)
    {
      view->bits_size = grown_size (view->bits_size, view->len + 1, 16);
      view->bits = g_realloc (view->bits, view->bits_size);
    }
  if (view->n_runs == 0 || run_last_uid (view, view->n_runs - 1) + 1 != uid)
    insert_run (view, view->n_runs, uid, view->len);
  view->bits[view->len++] = bits;
}

void
ms_imap_view_trim (MsImapView *view)
{
  g_return_if_fail (view != NULL);

  if (view->runs_size != view->n_runs)
    {
      view->runs_size = view->n_runs;
      view->runs = g_renew (Run, view->runs, view->runs_size);
    }
  if (view->bits_size != view->len)
    {
      view->bits_size = view->len;
      view->bits = g_realloc (view->bits, view->bits_size);
    }
}

/* The run that holds message `index` (< len): the last whose start is at
 * or before it. */
static guint
run_of_index (const MsImapView *view,
              guint index)
{
  guint lo = 0;
  guint hi = view->n_runs;

  /* runs[0].start is 0, so the answer is in [0, n_runs) */
  while (hi - lo > 1)
    {
      guint mid = lo + (hi - lo) / 2;

      if (view->runs[mid].start <= index)
        lo = mid;
      else
        hi = mid;
    }
  return lo;
}

/* How many runs start at or below `uid`; the one that may hold it is the
 * one before (none when 0). */
static guint
runs_up_to_uid (const MsImapView *view,
                guint32 uid)
{
  guint lo = 0;
  guint hi = view->n_runs;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (view->runs[mid].first_uid <= uid)
        lo = mid + 1;
      else
        hi = mid;
    }
  return lo;
}

guint32
ms_imap_view_uid_at (const MsImapView *view,
                     guint index)
{
  guint run;

  g_return_val_if_fail (view != NULL && index < view->len, 0);

  run = run_of_index (view, index);
  return view->runs[run].first_uid + (index - view->runs[run].start);
}

gboolean
ms_imap_view_index_of_uid (const MsImapView *view,
                           guint32 uid,
                           guint *index_r)
{
  guint n;
  guint32 offset;

  g_return_val_if_fail (view != NULL, FALSE);

  n = runs_up_to_uid (view, uid);
  if (n == 0)
    return FALSE;
  offset = uid - view->runs[n - 1].first_uid;
  if (offset >= run_length (view, n - 1))
    return FALSE;
  if (index_r != NULL)
    *index_r = view->runs[n - 1].start + offset;
  return TRUE;
}

guint
ms_imap_view_lower_bound (const MsImapView *view,
                          guint32 uid)
{
  guint n;
  guint32 offset;

  g_return_val_if_fail (view != NULL, 0);

  n = runs_up_to_uid (view, uid);
  if (n == 0)
    return 0;
  offset = uid - view->runs[n - 1].first_uid;
  if (offset < run_length (view, n - 1))
    return view->runs[n - 1].start + offset;
  /* past the end of that run: the next run's first message */
  return n < view->n_runs ? view->runs[n].start : view->len;
}

guint8
ms_imap_view_get_bits (const MsImapView *view,
                       guint index)
{
  g_return_val_if_fail (view != NULL && index < view->len, 0);

  return view->bits[index];
}

void
ms_imap_view_set_bits (MsImapView *view,
                       guint index,
                       guint8 bits)
{
  g_return_if_fail (view != NULL && index < view->len);

  view->bits[index] = bits;
}

void
ms_imap_view_set_flags (MsImapView *view,
                        guint index,
                        guint8 flags)
{
  g_return_if_fail (view != NULL && index < view->len);

  view->bits[index] = (view->bits[index] & ~MS_IMAP_VIEW_FLAG_MASK)
                      | (flags & MS_IMAP_VIEW_FLAG_MASK);
}

guint
ms_imap_view_count_bits (const MsImapView *view,
                         guint8 mask)
{
  guint n = 0;

  g_return_val_if_fail (view != NULL, 0);

  for (guint i = 0; i < view->len; i++)
    n += (view->bits[i] & mask) == mask ? 1 : 0;
  return n;
}

void
ms_imap_view_remove_at (MsImapView *view,
                        guint index)
{
  guint run;
  guint after;                 /* the first run whose start moves down */
  guint length;
  guint offset;

  g_return_if_fail (view != NULL && index < view->len);

  run = run_of_index (view, index);
  after = run + 1;
  length = run_length (view, run);
  offset = index - view->runs[run].start;
  if (length == 1)
    {
      /* the whole run goes; the next one takes its place */
      memmove (&view->runs[run], &view->runs[run + 1], (view->n_runs - run - 1) * sizeof (Run));
      view->n_runs--;
      after = run;
    }
  else if (offset == 0)
    view->runs[run].first_uid++;
  else if (offset + 1 < length)
    {
      /* from the middle: what follows it becomes a run of its own */
      insert_run (view, run + 1, view->runs[run].first_uid + offset + 1, index + 1);
    }
  /* (from the end of a run: the run just gets shorter) */

  for (guint r = after; r < view->n_runs; r++)
    view->runs[r].start--;
  memmove (&view->bits[index], &view->bits[index + 1], view->len - index - 1);
  view->len--;
}

guint
ms_imap_view_remove_expunged (MsImapView *view)
{
  Run *runs = NULL;
  guint n_runs = 0;
  guint32 next_uid = 0;        /* the UID that would extend the last kept run */
  gboolean any_kept = FALSE;
  guint kept = 0;
  guint removed;

  g_return_val_if_fail (view != NULL, 0);

  /* First count the runs of what stays, so the new array is exact; then
   * build it while the bytes move down in place. */
  for (guint pass = 0; pass < 2; pass++)
    {
      MsImapViewIter iter;
      guint index;
      guint32 uid;

      if (pass == 1)
        {
          if (kept == view->len)
            return 0;          /* nothing marked */
          runs = n_runs > 0 ? g_new (Run, n_runs) : NULL;
          n_runs = 0;
          kept = 0;
          any_kept = FALSE;
        }
      ms_imap_view_iter_init (&iter, view);
      while (ms_imap_view_iter_next (&iter, &index, &uid))
        {
          if (view->bits[index] & MS_IMAP_VIEW_EXPUNGED)
            continue;
          if (!any_kept || uid != next_uid)
            {
              if (pass == 1)
                {
                  runs[n_runs].first_uid = uid;
                  runs[n_runs].start = kept;
                }
              n_runs++;
            }
          if (pass == 1)
            view->bits[kept] = view->bits[index];
          any_kept = TRUE;
          next_uid = uid + 1;
          kept++;
        }
    }

  g_free (view->runs);
  view->runs = runs;
  view->n_runs = n_runs;
  view->runs_size = n_runs;
  removed = view->len - kept;
  view->len = kept;
  return removed;
}

void
ms_imap_view_iter_init (MsImapViewIter *iter,
                        const MsImapView *view)
{
  g_return_if_fail (iter != NULL && view != NULL);

  iter->view = view;
  iter->index = 0;
  iter->run = 0;
}

gboolean
ms_imap_view_iter_next (MsImapViewIter *iter,
                        guint *index_r,
                        guint32 *uid_r)
{
  const MsImapView *view;

  g_return_val_if_fail (iter != NULL, FALSE);

  view = iter->view;
  if (iter->index >= view->len)
    return FALSE;
  while (iter->run + 1 < view->n_runs && view->runs[iter->run + 1].start <= iter->index)
    iter->run++;
  if (index_r != NULL)
    *index_r = iter->index;
  if (uid_r != NULL)
    *uid_r = view->runs[iter->run].first_uid + (iter->index - view->runs[iter->run].start);
  iter->index++;
  return TRUE;
}

guint
ms_imap_view_get_n_runs (const MsImapView *view)
{
  g_return_val_if_fail (view != NULL, 0);

  return view->n_runs;
}

gsize
ms_imap_view_get_memory_size (const MsImapView *view)
{
  g_return_val_if_fail (view != NULL, 0);

  return sizeof *view + (gsize) view->runs_size * sizeof (Run) + view->bits_size;
}

/* ---- flags ---- */

guint8
ms_imap_view_bits_from_letters (const char *letters)
{
  guint8 bits = 0;

  g_return_val_if_fail (letters != NULL, 0);

  for (const char *p = letters; *p != '\0'; p++)
    {
      for (guint i = 0; i < G_N_ELEMENTS (flag_letters); i++)
        {
          if (flag_letters[i].letter == *p)
            bits |= 1 << i;
        }
    }
  return bits;
}

guint8
ms_imap_view_bits_from_store (guint32 store_bits)
{
  guint8 bits = 0;

  for (guint i = 0; i < G_N_ELEMENTS (flag_letters); i++)
    {
      if (store_bits & MS_STORE_FLAG_BIT (flag_letters[i].letter))
        bits |= 1 << i;
    }
  return bits;
}

char *
ms_imap_view_letters_from_bits (guint8 bits,
                                char *letters_r)
{
  gsize n = 0;

  g_return_val_if_fail (letters_r != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (flag_letters); i++)
    {
      if (bits & (1 << i))
        letters_r[n++] = flag_letters[i].letter;
    }
  letters_r[n] = '\0';
  return letters_r;
}

void
ms_imap_view_append_flags (GString *out,
                           guint8 bits)
{
  gboolean first = TRUE;

  g_return_if_fail (out != NULL);

  g_string_append_c (out, '(');
  for (guint i = 0; i < G_N_ELEMENTS (flag_letters); i++)
    {
      if (!(bits & (1 << i)) || flag_letters[i].name == NULL)
        continue;
      if (!first)
        g_string_append_c (out, ' ');
      g_string_append (out, flag_letters[i].name);
      first = FALSE;
    }
  if (bits & MS_IMAP_VIEW_RECENT)
    g_string_append (out, first ? "\\Recent" : " \\Recent");
  g_string_append_c (out, ')');
}
