/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "ms-imap-session.h"

/* Fuzz target for MsImapSession: the input is what a client sends, split
 * into lines at LF the way MsConn frames them (CRLF or bare LF, lines cut at
 * the line limit); while the session waits for a literal the next bytes are
 * given raw, as MsConn's read_bytes does. The store is a real one in a
 * directory made once per process; alice (alicepw) logs in. Built for
 * libFuzzer with -Dfuzzing=true, and as a plain program that replays files
 * (tests/fuzz/corpus) in the test suite. */

#define MAX_LINE 1024

static gboolean
fuzz_authenticate (gpointer data,
                   const char *user,
                   const char *password,
                   char **user_r)
{
  if (strcmp (user, "alice") != 0 || strcmp (password, "alicepw") != 0)
    return FALSE;
  *user_r = g_strdup (user);
  return TRUE;
}

static guint32
fuzz_claim_recent (gpointer data,
                   const char *user,
                   const char *folder,
                   guint32 uidnext)
{
  return uidnext > 1 ? uidnext - 1 : 1;
}

static const MsImapBackend fuzz_backend = { fuzz_authenticate, fuzz_claim_recent };

typedef struct {
  gboolean closed;
  gboolean tls;
  gsize literal;              /* bytes the session asked for */
} FuzzOutput;

static void
out_send (gpointer data,
          const char *bytes,
          gsize len)
{
  FuzzOutput *out = data;

  g_assert (!out->closed);
  /* Every reply is whole lines. */
  g_assert (len >= 2 && bytes[len - 2] == '\r' && bytes[len - 1] == '\n');
}

static void
out_start_tls (gpointer data)
{
  ((FuzzOutput *) data)->tls = TRUE;
}

static void
out_close (gpointer data)
{
  ((FuzzOutput *) data)->closed = TRUE;
}

static void
out_set_max_line (gpointer data,
                  gsize max_line)
{
}

static void
out_read_bytes (gpointer data,
                gsize count)
{
  FuzzOutput *out = data;

  g_assert (out->literal == 0);
  g_assert (count > 0 && count <= 8192);
  out->literal = count;
}

static const MsSessionOutput fuzz_output = {
  out_send, out_start_tls, out_close, out_set_max_line, NULL, out_read_bytes,
};

static void
serialize_cb (const MsEvent *event,
              gpointer user_data)
{
  g_autofree char *line = ms_event_to_json (event);

  g_assert (g_utf8_validate (line, -1, NULL));
  g_assert (strchr (line, '\n') == NULL);
}

static void
quiet_log_cb (const char *domain,
              GLogLevelFlags level,
              const char *message,
              gpointer user_data)
{
}

static MsStore *store;
static char *store_root;

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR) &&
              !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
          g_free (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

static void
remove_store (void)
{
  g_clear_pointer (&store, ms_store_free);
  remove_tree (store_root);
  g_clear_pointer (&store_root, g_free);
}

/* One store for the process, removed at exit. */
static MsStore *
fuzz_store (void)
{
  if (store == NULL)
    {
      store_root = g_dir_make_tmp ("fuzz-imap-session-XXXXXX", NULL);
      g_assert (store_root != NULL);
      store = ms_store_new (store_root, "alpha.test", NULL);
      g_assert (ms_store_ensure_user (store, "alice", NULL));
      atexit (remove_store);
    }
  return store;
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t size)
{
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  FuzzOutput out = { FALSE, FALSE, 0 };
  MsImapSessionConfig config = {
    .hostname = "alpha.test",
    .store = fuzz_store (),
    .tls_available = TRUE,
    .max_line = MAX_LINE,
    .max_literal = 2048,
    .max_append = 8192,
    .bus = bus,
    .server_name = "alpha.test",
    .session_id = "imap-fuzz",
  };
  MsImapSession *session;
  gsize pos = 0;

  /* Trace events are built and written too, so that code is fuzzed as well. */
  ms_trace_bus_subscribe (bus, serialize_cb, NULL, NULL);
  g_log_set_handler ("ms-imap", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_DEBUG, quiet_log_cb, NULL);
  g_log_set_handler ("ms-store", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_DEBUG, quiet_log_cb, NULL);
  session = ms_imap_session_new (&config, &fuzz_backend, NULL, &fuzz_output, &out);
  ms_imap_session_start (session);

  while (pos < size && !out.closed)
    {
      if (out.literal > 0)
        {
          gsize take = MIN (out.literal, size - pos);

          out.literal -= take;
          /* A short input ends the literal early, as a closed connection does. */
          ms_imap_session_feed_bytes (session, data + pos, take,
                                      out.literal == 0 || pos + take == size);
          if (pos + take == size)
            out.literal = 0;
          pos += take;
          continue;
        }
      {
        const guint8 *lf = memchr (data + pos, '\n', size - pos);
        gsize end = lf != NULL ? (gsize) (lf - data) : size;
        gsize len = end - pos;
        MsLineFlags flags = MS_LINE_FLAG_NONE;
        g_autofree char *line = NULL;

        if (len > 0 && data[end - 1] == '\r')
          len--;
        else if (lf != NULL)
          flags |= MS_LINE_FLAG_BARE_LF;
        if (len > MAX_LINE)
          {
            len = MAX_LINE;
            flags |= MS_LINE_FLAG_TOO_LONG;
          }
        /* MsConn hands over NUL-terminated lines that may hold NUL bytes. */
        line = g_malloc (len + 1);
        memcpy (line, data + pos, len);
        line[len] = '\0';
        ms_imap_session_feed_line (session, line, len, flags);
        pos = lf != NULL ? end + 1 : size;
      }
      if (out.tls)
        {
          out.tls = FALSE;
          ms_imap_session_tls_done (session, (pos & 1) == 0);
        }
      /* Another session's change, now and then. */
      if ((pos & 7) == 3)
        ms_imap_session_mailbox_changed (session);
    }
  ms_imap_session_timeout (session);
  ms_imap_session_free (session);
  return 0;
}
