/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-imap-view.h"
#include "ms-store.h"

/* A list of UIDs ends with 0 (never a valid UID). */
#define MAX_UIDS 16

static MsImapView *
view_of (const guint32 *uids)
{
  MsImapView *view = ms_imap_view_new (0);

  /* each message's bits are its position, so moves show */
  for (guint i = 0; uids[i] != 0; i++)
    ms_imap_view_append (view, uids[i], (guint8) i);
  return view;
}

/* The view holds exactly `uids` in order, with the bits `bits`, and
 * finds each of them. */
static void
assert_view (MsImapView *view,
             const guint32 *uids,
             const guint8 *bits)
{
  guint n = 0;

  while (uids[n] != 0)
    n++;
  g_assert_cmpuint (ms_imap_view_length (view), ==, n);
  g_assert_cmpuint (ms_imap_view_last_uid (view), ==, n > 0 ? uids[n - 1] : 0);
  for (guint i = 0; i < n; i++)
    {
      guint index = G_MAXUINT;

      g_assert_cmpuint (ms_imap_view_uid_at (view, i), ==, uids[i]);
      g_assert_cmpuint (ms_imap_view_get_bits (view, i), ==, bits[i]);
      g_assert_true (ms_imap_view_index_of_uid (view, uids[i], &index));
      g_assert_cmpuint (index, ==, i);
      g_assert_cmpuint (ms_imap_view_lower_bound (view, uids[i]), ==, i);
    }
}

/* ---- append ---- */

static const struct {
  const char *name;
  guint32 uids[MAX_UIDS];
  guint n_runs;
} append_cases[] = {
  { "empty", { 0 }, 0 },
  { "one", { 7, 0 }, 1 },
  { "extends the last run", { 1, 2, 3, 4, 0 }, 1 },
  { "starts a new run", { 1, 3, 0 }, 2 },
  { "new run, then extends it", { 1, 2, 5, 6, 7, 0 }, 2 },
  { "every other", { 2, 4, 6, 8, 10, 0 }, 5 },
  { "high UIDs", { 4294967293u, 4294967294u, 4294967295u, 0 }, 1 },
};

static void
test_append (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (append_cases); c++)
    {
      g_autoptr (MsImapView) view = view_of (append_cases[c].uids);
      guint8 bits[MAX_UIDS];

      g_test_message ("case: %s", append_cases[c].name);
      for (guint i = 0; i < MAX_UIDS; i++)
        bits[i] = (guint8) i;
      assert_view (view, append_cases[c].uids, bits);
      g_assert_cmpuint (ms_imap_view_get_n_runs (view), ==, append_cases[c].n_runs);
    }
}

/* ---- lookups ---- */

static const struct {
  guint32 uid;
  gboolean found;
  guint index;                 /* when found */
  guint lower_bound;
} lookup_cases[] = {
  /* the view: 3 4 5 | 9 | 20 21 */
  { 0, FALSE, 0, 0 },
  { 1, FALSE, 0, 0 },          /* below the first */
  { 3, TRUE, 0, 0 },
  { 5, TRUE, 2, 2 },           /* a run's last */
  { 6, FALSE, 0, 3 },          /* in a gap: the next run's first */
  { 8, FALSE, 0, 3 },
  { 9, TRUE, 3, 3 },           /* a run of one */
  { 10, FALSE, 0, 4 },
  { 19, FALSE, 0, 4 },
  { 20, TRUE, 4, 4 },
  { 21, TRUE, 5, 5 },
  { 22, FALSE, 0, 6 },         /* above the last: the length */
  { G_MAXUINT32, FALSE, 0, 6 },
};

static void
test_lookup (void)
{
  static const guint32 uids[] = { 3, 4, 5, 9, 20, 21, 0 };
  g_autoptr (MsImapView) view = view_of (uids);
  g_autoptr (MsImapView) empty = ms_imap_view_new (0);

  g_assert_cmpuint (ms_imap_view_get_n_runs (view), ==, 3);
  for (guint c = 0; c < G_N_ELEMENTS (lookup_cases); c++)
    {
      guint index = 12345;
      gboolean found = ms_imap_view_index_of_uid (view, lookup_cases[c].uid, &index);

      g_test_message ("uid %u", lookup_cases[c].uid);
      g_assert_cmpint (found, ==, lookup_cases[c].found);
      /* not found leaves index_r alone */
      g_assert_cmpuint (index, ==, found ? lookup_cases[c].index : 12345);
      g_assert_cmpuint (ms_imap_view_lower_bound (view, lookup_cases[c].uid), ==,
                        lookup_cases[c].lower_bound);
      g_assert_false (ms_imap_view_index_of_uid (empty, lookup_cases[c].uid, NULL));
      g_assert_cmpuint (ms_imap_view_lower_bound (empty, lookup_cases[c].uid), ==, 0);
    }
  g_assert_cmpuint (ms_imap_view_last_uid (empty), ==, 0);
}

/* ---- removal ---- */

static const struct {
  const char *name;
  guint32 uids[MAX_UIDS];
  guint index;
  guint32 after[MAX_UIDS];
  guint n_runs;                /* after */
} remove_cases[] = {
  { "middle of a run splits it", { 1, 2, 3, 4, 5, 0 }, 2, { 1, 2, 4, 5, 0 }, 2 },
  { "second of a run", { 1, 2, 3, 4, 5, 0 }, 1, { 1, 3, 4, 5, 0 }, 2 },
  { "a run's first", { 1, 2, 3, 7, 8, 0 }, 0, { 2, 3, 7, 8, 0 }, 2 },
  { "a run's last", { 1, 2, 3, 7, 8, 0 }, 2, { 1, 2, 7, 8, 0 }, 2 },
  { "the last run's first", { 1, 2, 3, 7, 8, 0 }, 3, { 1, 2, 3, 8, 0 }, 2 },
  { "the very last", { 1, 2, 3, 7, 8, 0 }, 4, { 1, 2, 3, 7, 0 }, 2 },
  { "a whole run in the middle", { 1, 2, 5, 9, 10, 0 }, 2, { 1, 2, 9, 10, 0 }, 2 },
  { "a whole first run", { 5, 9, 10, 0 }, 0, { 9, 10, 0 }, 1 },
  { "a whole last run", { 1, 2, 9, 0 }, 2, { 1, 2, 0 }, 1 },
  { "the only message", { 4, 0 }, 0, { 0 }, 0 },
  { "middle of a middle run", { 1, 5, 6, 7, 10, 0 }, 2, { 1, 5, 7, 10, 0 }, 4 },
  { "a run of two, first", { 1, 5, 6, 10, 0 }, 1, { 1, 6, 10, 0 }, 3 },
};

static void
test_remove (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (remove_cases); c++)
    {
      g_autoptr (MsImapView) view = view_of (remove_cases[c].uids);
      guint32 removed = remove_cases[c].uids[remove_cases[c].index];
      guint8 bits[MAX_UIDS];
      guint k = 0;

      g_test_message ("case: %s", remove_cases[c].name);
      /* the bits that stay are the positions of the messages that stay */
      for (guint i = 0; remove_cases[c].uids[i] != 0; i++)
        {
          if (i != remove_cases[c].index)
            bits[k++] = (guint8) i;
        }
      ms_imap_view_remove_at (view, remove_cases[c].index);
      assert_view (view, remove_cases[c].after, bits);
      g_assert_cmpuint (ms_imap_view_get_n_runs (view), ==, remove_cases[c].n_runs);
      g_assert_false (ms_imap_view_index_of_uid (view, removed, NULL));

      /* The same through the EXPUNGED mark. */
      g_clear_pointer (&view, ms_imap_view_free);
      view = view_of (remove_cases[c].uids);
      ms_imap_view_set_bits (view, remove_cases[c].index, MS_IMAP_VIEW_EXPUNGED);
      g_assert_cmpuint (ms_imap_view_remove_expunged (view), ==, 1);
      assert_view (view, remove_cases[c].after, bits);
      g_assert_cmpuint (ms_imap_view_get_n_runs (view), ==, remove_cases[c].n_runs);
    }
}

static const struct {
  const char *name;
  guint32 uids[MAX_UIDS];
  const char *marks;           /* 'x' under each expunged message */
  guint32 after[MAX_UIDS];
  guint n_runs;
} expunged_cases[] = {
  { "none", { 1, 2, 3, 0 }, "...", { 1, 2, 3, 0 }, 1 },
  { "all", { 1, 2, 3, 0 }, "xxx", { 0 }, 0 },
  { "every other", { 1, 2, 3, 4, 5, 6, 0 }, ".x.x.x", { 1, 3, 5, 0 }, 3 },
  { "a whole run", { 1, 2, 5, 6, 9, 0 }, "..xx.", { 1, 2, 9, 0 }, 2 },
  { "both ends", { 1, 2, 3, 4, 0 }, "x..x", { 2, 3, 0 }, 1 },
  { "splits twice", { 1, 2, 3, 4, 5, 0 }, ".x.x.", { 1, 3, 5, 0 }, 3 },
};

static void
test_remove_expunged (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (expunged_cases); c++)
    {
      g_autoptr (MsImapView) view = view_of (expunged_cases[c].uids);
      const char *marks = expunged_cases[c].marks;
      guint8 bits[MAX_UIDS];
      guint n_marked = 0;
      guint k = 0;

      g_test_message ("case: %s", expunged_cases[c].name);
      for (guint i = 0; marks[i] != '\0'; i++)
        {
          /* keep a flag beside the mark: only EXPUNGED decides */
          guint8 mine = (guint8) (MS_IMAP_VIEW_SEEN | i);

          if (marks[i] == 'x')
            {
              mine |= MS_IMAP_VIEW_EXPUNGED;
              n_marked++;
            }
          else
            bits[k++] = mine;
          ms_imap_view_set_bits (view, i, mine);
        }
      g_assert_cmpuint (ms_imap_view_count_bits (view, MS_IMAP_VIEW_EXPUNGED), ==, n_marked);
      g_assert_cmpuint (ms_imap_view_remove_expunged (view), ==, n_marked);
      assert_view (view, expunged_cases[c].after, bits);
      g_assert_cmpuint (ms_imap_view_get_n_runs (view), ==, expunged_cases[c].n_runs);
      g_assert_cmpuint (ms_imap_view_count_bits (view, MS_IMAP_VIEW_EXPUNGED), ==, 0);
    }
}

/* ---- bits and flags ---- */

static void
test_bits (void)
{
  static const guint32 uids[] = { 1, 2, 3, 0 };
  g_autoptr (MsImapView) view = view_of (uids);

  ms_imap_view_set_bits (view, 0, MS_IMAP_VIEW_RECENT | MS_IMAP_VIEW_SEEN);
  ms_imap_view_set_bits (view, 1, MS_IMAP_VIEW_EXPUNGED | MS_IMAP_VIEW_DELETED);
  ms_imap_view_set_bits (view, 2, MS_IMAP_VIEW_RECENT);
  g_assert_cmpuint (ms_imap_view_count_bits (view, MS_IMAP_VIEW_RECENT), ==, 2);
  g_assert_cmpuint (ms_imap_view_count_bits (view, MS_IMAP_VIEW_RECENT | MS_IMAP_VIEW_SEEN),
                    ==, 1);
  g_assert_cmpuint (ms_imap_view_count_bits (view, MS_IMAP_VIEW_EXPUNGED), ==, 1);

  /* set_flags replaces the flags and leaves RECENT and EXPUNGED */
  ms_imap_view_set_flags (view, 0, MS_IMAP_VIEW_FLAGGED);
  g_assert_cmpuint (ms_imap_view_get_bits (view, 0), ==,
                    MS_IMAP_VIEW_RECENT | MS_IMAP_VIEW_FLAGGED);
  ms_imap_view_set_flags (view, 1, 0xff);
  g_assert_cmpuint (ms_imap_view_get_bits (view, 1), ==,
                    MS_IMAP_VIEW_EXPUNGED | MS_IMAP_VIEW_FLAG_MASK);
  ms_imap_view_set_flags (view, 2, 0);
  g_assert_cmpuint (ms_imap_view_get_bits (view, 2), ==, MS_IMAP_VIEW_RECENT);
}

static const struct {
  const char *letters;
  guint8 bits;
  const char *sorted;          /* letters from the bits */
  const char *imap;            /* the IMAP list, without and with \Recent */
  const char *imap_recent;
} letter_cases[] = {
  { "", 0, "", "()", "(\\Recent)" },
  { "S", MS_IMAP_VIEW_SEEN, "S", "(\\Seen)", "(\\Seen \\Recent)" },
  { "TS", MS_IMAP_VIEW_SEEN | MS_IMAP_VIEW_DELETED, "ST", "(\\Seen \\Deleted)",
    "(\\Seen \\Deleted \\Recent)" },
  { "DFPRST", MS_IMAP_VIEW_FLAG_MASK, "DFPRST",
    "(\\Draft \\Flagged \\Answered \\Seen \\Deleted)",
    "(\\Draft \\Flagged \\Answered \\Seen \\Deleted \\Recent)" },
  /* P is kept but never shown */
  { "P", MS_IMAP_VIEW_PASSED, "P", "()", "(\\Recent)" },
  { "PR", MS_IMAP_VIEW_PASSED | MS_IMAP_VIEW_ANSWERED, "PR", "(\\Answered)",
    "(\\Answered \\Recent)" },
  /* keywords (lower case) and unknown letters are ignored */
  { "Sab", MS_IMAP_VIEW_SEEN, "S", "(\\Seen)", "(\\Seen \\Recent)" },
  { "aXDz", MS_IMAP_VIEW_DRAFT, "D", "(\\Draft)", "(\\Draft \\Recent)" },
  { "FF", MS_IMAP_VIEW_FLAGGED, "F", "(\\Flagged)", "(\\Flagged \\Recent)" },
};

static void
test_letters (void)
{
  for (guint c = 0; c < G_N_ELEMENTS (letter_cases); c++)
    {
      char letters[MS_IMAP_VIEW_LETTERS_SIZE];
      g_autoptr (GString) out = g_string_new ("FLAGS ");
      g_autoptr (GString) recent = g_string_new (NULL);
      guint8 bits = ms_imap_view_bits_from_letters (letter_cases[c].letters);

      g_test_message ("letters \"%s\"", letter_cases[c].letters);
      g_assert_cmpuint (bits, ==, letter_cases[c].bits);
      /* The store's bit mask of the same letters gives the same bits. */
      g_assert_cmpuint (ms_imap_view_bits_from_store (ms_store_flag_bits (letter_cases[c].letters)),
                        ==, letter_cases[c].bits);
      g_assert_cmpstr (ms_imap_view_letters_from_bits (bits, letters), ==,
                       letter_cases[c].sorted);
      /* RECENT and EXPUNGED are no letters */
      g_assert_cmpstr (ms_imap_view_letters_from_bits (bits | MS_IMAP_VIEW_RECENT
                                                       | MS_IMAP_VIEW_EXPUNGED, letters),
                       ==, letter_cases[c].sorted);
      ms_imap_view_append_flags (out, bits);
      g_assert_cmpstr (out->str + strlen ("FLAGS "), ==, letter_cases[c].imap);
      g_assert_true (g_str_has_prefix (out->str, "FLAGS ("));
      ms_imap_view_append_flags (recent, bits | MS_IMAP_VIEW_RECENT | MS_IMAP_VIEW_EXPUNGED);
      g_assert_cmpstr (recent->str, ==, letter_cases[c].imap_recent);
    }
}

/* ---- walking ---- */

static void
test_iter (void)
{
  static const guint32 uids[] = { 2, 3, 4, 8, 11, 12, 0 };
  g_autoptr (MsImapView) view = view_of (uids);
  g_autoptr (MsImapView) empty = ms_imap_view_new (4);
  MsImapViewIter iter;
  guint index;
  guint32 uid;
  guint n = 0;

  ms_imap_view_iter_init (&iter, view);
  while (ms_imap_view_iter_next (&iter, &index, &uid))
    {
      g_assert_cmpuint (index, ==, n);
      g_assert_cmpuint (uid, ==, uids[n]);
      /* changing bits while walking is allowed */
      ms_imap_view_set_bits (view, index, MS_IMAP_VIEW_SEEN);
      n++;
    }
  g_assert_cmpuint (n, ==, 6);
  g_assert_false (ms_imap_view_iter_next (&iter, NULL, NULL));
  g_assert_cmpuint (ms_imap_view_count_bits (view, MS_IMAP_VIEW_SEEN), ==, 6);

  ms_imap_view_iter_init (&iter, empty);
  g_assert_false (ms_imap_view_iter_next (&iter, &index, &uid));
}

/* ---- memory ---- */

static void
test_memory (void)
{
  g_autoptr (MsImapView) contiguous = ms_imap_view_new (10000);
  g_autoptr (MsImapView) fragmented = ms_imap_view_new (10000);
  g_autoptr (MsImapView) grown = ms_imap_view_new (0);
  g_autoptr (MsImapView) thinned = ms_imap_view_new (10000);
  gsize size;

  g_test_summary ("An idle session keeps its view: 10,000 freshly delivered messages "
                  "take about 10 KB, a fragmented mailbox at most about 9 bytes a message.");

  /* SELECT of a freshly delivered mailbox: UIDs 1..10000 */
  for (guint32 uid = 1; uid <= 10000; uid++)
    ms_imap_view_append (contiguous, uid, MS_IMAP_VIEW_RECENT);
  ms_imap_view_trim (contiguous);
  size = ms_imap_view_get_memory_size (contiguous);
  g_test_message ("contiguous: %" G_GSIZE_FORMAT " bytes", size);
  g_assert_cmpuint (ms_imap_view_get_n_runs (contiguous), ==, 1);
  g_assert_cmpuint (size, >=, 10000 + 8);
  g_assert_cmpuint (size, <=, 12 * 1024);

  /* every other UID expunged long ago */
  for (guint32 uid = 1; uid <= 20000; uid += 2)
    ms_imap_view_append (fragmented, uid, 0);
  ms_imap_view_trim (fragmented);
  size = ms_imap_view_get_memory_size (fragmented);
  g_test_message ("fragmented: %" G_GSIZE_FORMAT " bytes", size);
  g_assert_cmpuint (ms_imap_view_get_n_runs (fragmented), ==, 10000);
  g_assert_cmpuint (size, <=, 9 * 10000 + 64);

  /* grown by appends alone (EXISTS), then trimmed: exact again */
  for (guint32 uid = 1; uid <= 10000; uid++)
    ms_imap_view_append (grown, uid, 0);
  g_assert_cmpuint (ms_imap_view_get_memory_size (grown), <=, 10000 * 3 / 2 + 1024);
  ms_imap_view_trim (grown);
  g_assert_cmpuint (ms_imap_view_get_memory_size (grown), ==,
                    ms_imap_view_get_memory_size (contiguous));

  /* every other message expunged in this session */
  for (guint32 uid = 1; uid <= 10000; uid++)
    ms_imap_view_append (thinned, uid, (uid % 2) == 0 ? MS_IMAP_VIEW_EXPUNGED : 0);
  g_assert_cmpuint (ms_imap_view_remove_expunged (thinned), ==, 5000);
  g_assert_cmpuint (ms_imap_view_get_n_runs (thinned), ==, 5000);
  ms_imap_view_trim (thinned);
  g_assert_cmpuint (ms_imap_view_get_memory_size (thinned), <=, 9 * 5000 + 64);
}

/* ---- random operations against a reference ---- */

typedef struct {
  GArray *uids;                /* of guint32 */
  GByteArray *bits;
} Model;

static guint
model_runs (Model *model)
{
  guint runs = 0;

  for (guint i = 0; i < model->uids->len; i++)
    {
      if (i == 0 || g_array_index (model->uids, guint32, i)
                    != g_array_index (model->uids, guint32, i - 1) + 1)
        runs++;
    }
  return runs;
}

static void
check_model (MsImapView *view,
             Model *model,
             GRand *rand)
{
  guint len = model->uids->len;
  guint32 last = len > 0 ? g_array_index (model->uids, guint32, len - 1) : 0;
  MsImapViewIter iter;
  guint index;
  guint32 uid;
  guint n = 0;
  guint recent = 0;

  g_assert_cmpuint (ms_imap_view_length (view), ==, len);
  g_assert_cmpuint (ms_imap_view_last_uid (view), ==, last);
  g_assert_cmpuint (ms_imap_view_get_n_runs (view), ==, model_runs (model));
  ms_imap_view_iter_init (&iter, view);
  while (ms_imap_view_iter_next (&iter, &index, &uid))
    {
      g_assert_cmpuint (index, ==, n);
      g_assert_cmpuint (uid, ==, g_array_index (model->uids, guint32, n));
      g_assert_cmpuint (ms_imap_view_uid_at (view, n), ==, uid);
      g_assert_cmpuint (ms_imap_view_get_bits (view, n), ==, model->bits->data[n]);
      recent += (model->bits->data[n] & MS_IMAP_VIEW_RECENT) ? 1 : 0;
      n++;
    }
  g_assert_cmpuint (n, ==, len);
  g_assert_cmpuint (ms_imap_view_count_bits (view, MS_IMAP_VIEW_RECENT), ==, recent);

  /* lookups of UIDs in and around the view, present or not */
  for (guint k = 0; k < 8; k++)
    {
      guint32 probe = g_rand_int_range (rand, 0, (gint32) last + 3);
      guint expected_lb = 0;
      gboolean expected_found = FALSE;
      guint found_at = G_MAXUINT;

      while (expected_lb < len && g_array_index (model->uids, guint32, expected_lb) < probe)
        expected_lb++;
      expected_found = expected_lb < len
                       && g_array_index (model->uids, guint32, expected_lb) == probe;
      g_assert_cmpuint (ms_imap_view_lower_bound (view, probe), ==, expected_lb);
      g_assert_cmpint (ms_imap_view_index_of_uid (view, probe, &found_at), ==, expected_found);
      if (expected_found)
        g_assert_cmpuint (found_at, ==, expected_lb);
    }
}

static void
test_random (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (20260412);
  g_autoptr (MsImapView) view = ms_imap_view_new (0);
  Model model = {
    g_array_new (FALSE, FALSE, sizeof (guint32)),
    g_byte_array_new (),
  };

  g_test_summary ("Random appends, removals, bit changes and expunges, checked after "
                  "each step against a plain array of UIDs and bytes.");

  for (guint step = 0; step < 4000; step++)
    {
      guint len = model.uids->len;
      guint op = g_rand_int_range (rand, 0, 100);

      if (op < 45 || len == 0)
        {
          /* append: half the time the next UID, else after a gap */
          guint32 last = len > 0 ? g_array_index (model.uids, guint32, len - 1) : 0;
          guint32 uid = last + (g_rand_boolean (rand) ? 1 : g_rand_int_range (rand, 2, 6));
          guint8 bits = (guint8) g_rand_int_range (rand, 0, 256);

          ms_imap_view_append (view, uid, bits);
          g_array_append_val (model.uids, uid);
          g_byte_array_append (model.bits, &bits, 1);
        }
      else if (op < 70)
        {
          guint index = g_rand_int_range (rand, 0, len);

          ms_imap_view_remove_at (view, index);
          g_array_remove_index (model.uids, index);
          g_byte_array_remove_index (model.bits, index);
        }
      else if (op < 85)
        {
          guint index = g_rand_int_range (rand, 0, len);
          guint8 bits = (guint8) g_rand_int_range (rand, 0, 256);

          if (g_rand_boolean (rand))
            {
              ms_imap_view_set_bits (view, index, bits);
              model.bits->data[index] = bits;
            }
          else
            {
              ms_imap_view_set_flags (view, index, bits);
              model.bits->data[index] = (model.bits->data[index] & ~MS_IMAP_VIEW_FLAG_MASK)
                                        | (bits & MS_IMAP_VIEW_FLAG_MASK);
            }
        }
      else if (op < 95)
        {
          /* remove what carries EXPUNGED (the random bits set it often) */
          guint removed = 0;

          for (guint i = model.uids->len; i > 0; i--)
            {
              if (model.bits->data[i - 1] & MS_IMAP_VIEW_EXPUNGED)
                {
                  g_array_remove_index (model.uids, i - 1);
                  g_byte_array_remove_index (model.bits, i - 1);
                  removed++;
                }
            }
          g_assert_cmpuint (ms_imap_view_remove_expunged (view), ==, removed);
        }
      else
        ms_imap_view_trim (view);
      check_model (view, &model, rand);
    }
  g_array_unref (model.uids);
  g_byte_array_unref (model.bits);
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/imap-view/append", test_append);
  g_test_add_func ("/server/imap-view/lookup", test_lookup);
  g_test_add_func ("/server/imap-view/remove", test_remove);
  g_test_add_func ("/server/imap-view/remove-expunged", test_remove_expunged);
  g_test_add_func ("/server/imap-view/bits", test_bits);
  g_test_add_func ("/server/imap-view/letters", test_letters);
  g_test_add_func ("/server/imap-view/iter", test_iter);
  g_test_add_func ("/server/imap-view/memory", test_memory);
  g_test_add_func ("/server/imap-view/random", test_random);

  return g_test_run ();
}
