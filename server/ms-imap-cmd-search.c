/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

#include "ms-imap-search.h"
#include "ms-message.h"
#include "ms-imap-session-private.h"

/* SEARCH and UID SEARCH (RFC 3501 §6.4.4, §6.4.8). The criteria are
 * compiled once (ms-imap-search.c), then matched against each message of
 * the view. What a message needs beyond its flags comes from the store
 * through the loader below, only when a key asks for it: SEARCH UNSEEN over
 * 10,000 messages touches no file, SEARCH FROM reads cached summaries. */

typedef struct {
  MsImapSession *session;      /* borrowed */
  GPtrArray *listing;          /* of MsStoreMessage, by UID; on first need */
  gboolean listed;
} SearchSource;

static const MsStoreMessage *
source_lookup (SearchSource *source,
               guint32 uid)
{
  MsImapSession *session = source->session;
  guint low = 0;
  guint high;

  if (!source->listed)
    {
      g_autoptr(GError) error = NULL;

      /* One listing gives every internal date and size, instead of one
       * store lookup per message. */
      source->listed = TRUE;
      source->listing = ms_store_list (session->store, session->user, session->selected,
                                       &error);
      if (source->listing == NULL)
        g_warning ("SEARCH: cannot list %s: %s", session->selected, error->message);
    }
  if (source->listing == NULL)
    return NULL;

  high = source->listing->len;
  while (low < high)
    {
      guint mid = low + (high - low) / 2;
      const MsStoreMessage *message = source->listing->pdata[mid];

      if (message->uid == uid)
        return message;
      if (message->uid < uid)
        low = mid + 1;
      else
        high = mid;
    }
  return NULL;
}

static gboolean
source_stat_cb (gpointer data,
                const MsImapSearchMessage *message,
                gint64 *internal_date_r,
                guint64 *size_r)
{
  const MsStoreMessage *stored = source_lookup (data, message->uid);

  if (stored == NULL)
    return FALSE;
  *internal_date_r = stored->internal_date;
  *size_r = stored->size;
  return TRUE;
}

static GBytes *
source_read_cb (gpointer data,
                const MsImapSearchMessage *message)
{
  SearchSource *source = data;
  MsImapSession *session = source->session;

  /* A message removed by another program since the last sync simply does
   * not match; its EXPUNGE comes with the next sync. */
  return ms_store_read (session->store, session->user, session->selected, message->uid,
                        NULL);
}

static GBytes *
source_read_header_cb (gpointer data,
                       const MsImapSearchMessage *message)
{
  SearchSource *source = data;
  MsImapSession *session = source->session;

  return ms_store_read_header (session->store, session->user, session->selected, message->uid,
                               MS_MESSAGE_SUMMARY_MAX_HEADER, NULL);
}

static gboolean
source_summary_cb (gpointer data,
                   const MsImapSearchMessage *message,
                   char **subject_r,
                   char **from_r)
{
  SearchSource *source = data;
  MsImapSession *session = source->session;

  return ms_store_get_summary (session->store, session->user, session->selected,
                               message->uid, subject_r, from_r, NULL);
}

/* Header keys read only the header block; From and Subject come from the
 * store's summary cache. */
static const MsImapSearchLoader search_loader = {
  .stat = source_stat_cb,
  .read_header = source_read_header_cb,
  .read_message = source_read_cb,
  .summary = source_summary_cb,
};

void
_ms_imap_cmd_search (MsImapSession *session,
                     const char *tag,
                     GPtrArray *args,
                     gboolean uid)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsImapSearch) search = NULL;
  g_autoptr(GString) line = NULL;
  MsImapView *view = session->view;
  SearchSource source = { session, NULL, FALSE };
  MsImapViewIter iter;
  guint i;
  guint32 message_uid;

  /* The view is in UID order, so its last message has the highest UID:
   * "*" in a UID set (§6.4.8). */
  search = ms_imap_search_compile (args, 0, ms_imap_view_length (view),
                                   ms_imap_view_last_uid (view), &error);
  if (search == NULL)
    {
      /* §6.4.4: an unsupported charset is NO, with BADCHARSET listing the
       * ones we have (§7.1). */
      if (g_error_matches (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_BADCHARSET))
        _ms_imap_tagged (session, tag, "NO", "[BADCHARSET (UTF-8 US-ASCII)] %s",
                         error->message);
      else
        _ms_imap_bad (session, tag, "%s", error->message);
      return;
    }

  /* §7.2.5: "* SEARCH" with the numbers, or none when nothing matched. */
  line = g_string_new ("SEARCH");
  ms_imap_view_iter_init (&iter, view);
  while (ms_imap_view_iter_next (&iter, &i, &message_uid))
    {
      guint8 bits = ms_imap_view_get_bits (view, i);
      char letters[MS_IMAP_VIEW_LETTERS_SIZE];
      MsImapSearchMessage message;

      /* Gone from the store but not yet EXPUNGEd to the client: it keeps
       * its sequence number but can no longer match (§7.4.1). */
      if (bits & MS_IMAP_VIEW_EXPUNGED)
        continue;
      ms_imap_search_message_init (&message);
      message.seq = i + 1;
      message.uid = message_uid;
      message.flags = ms_imap_view_letters_from_bits (bits, letters);
      message.recent = (bits & MS_IMAP_VIEW_RECENT) != 0;
      message.loader = &search_loader;
      message.loader_data = &source;
      if (ms_imap_search_matches (search, &message))
        g_string_append_printf (line, " %u", uid ? message_uid : i + 1);
      ms_imap_search_message_clear (&message);
    }
  g_clear_pointer (&source.listing, g_ptr_array_unref);

  _ms_imap_untagged (session, "%s", line->str);
  _ms_imap_tagged (session, tag, "OK", "%s completed", uid ? "UID SEARCH" : "SEARCH");
}
