/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-store"

#include "config.h"

/* openat(), O_DIRECTORY, d_type and friends are POSIX 2008 / BSD, hidden by
 * -std=c17 unless asked for. */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "ms-message.h"
#include "ms-store.h"

/* The uid list of a folder is an append-only log:
 *
 *   mailscope-uidlist 2 V<uidvalidity> N<uidnext>
 *   <uid> <unique name>/<size>/<mtime>   a message got this UID
 *   -<uid>                               the message was expunged
 *
 * Size and mtime (the file's, in bytes and Unix seconds) let a load after a
 * restart skip a stat() per message: Maildir files are never changed in
 * place. A name cannot hold '/'. Version 1 lists had names alone; they are
 * read, and rewritten as version 2.
 *
 * Delivery appends one line, a small write instead of a rewrite of the whole
 * list, and does not sync it: the message file itself is durable (tmp/,
 * fsync, rename, fsync of the directory), and a load gives files missing
 * from the list the next UIDs in the order of their unique names, which
 * begin with the delivery time. So if a crash loses the last delivery lines,
 * the same messages get the same UIDs again. An expunge line is synced,
 * and with it every line before it: otherwise a lost "-UID" plus a lost
 * delivery line could hand a removed message's UID to a later one. When the log holds many dead
 * lines (expunged messages), and whenever a load finds it out of step with
 * the directories, it is compacted: rewritten whole into a temporary file,
 * fsynced and renamed over the old one (the header's N then carries UIDNEXT
 * past the dropped lines). Flags are not in the list: they live in the file
 * names, so flag changes never touch it. A line torn by a crash has no final
 * newline and is ignored (the message it named gets a UID again on load).
 * UIDNEXT is max(N, highest UID ever listed + 1), so UIDs are never reused
 * (RFC 3501 section 2.3.1.1). */
#define UIDLIST_NAME "mailscope-uidlist"
#define UIDLIST_MAGIC "mailscope-uidlist"
#define UIDLIST_VERSION "2"
#define UIDLIST_VERSION_NAMES_ONLY "1"
/* Per user: the last UIDVALIDITY handed out, so that a folder deleted and
 * created again within one second still gets a new, larger one. */
#define UIDVALIDITY_NAME "mailscope-uidvalidity"
/* Per user: the subscribed folder names (RFC 3501 §6.3.6), one per line. */
#define SUBSCRIPTIONS_NAME "mailscope-subscriptions"
#define MAX_SUBSCRIPTIONS_FILE (1024 * 1024)
/* Maildir++ marks a folder directory with this empty file. */
#define MAILDIRFOLDER_NAME "maildirfolder"
#define TMP_PREFIX "mailscope-tmp."
#define TRASH_PREFIX "mailscope-trash."

#define MAX_USER_NAME 64
#define MAX_FOLDER_NAME 200
#define MAX_FLAGS 52            /* A-Z and a-z once each */
#define MAX_UNIQUE_NAME 200
#define COMPACT_MIN_STALE_LINES 1024
#define REMOVE_TREE_MAX_DEPTH 8

typedef struct {
  guint32 uid;
  char *base;           /* the unique name, without ":2,..." */
  char *filename;       /* relative to the folder: "new/<base>" or "cur/<base>:2,<flags>" */
  char *flags;          /* sorted Maildir letters */
  guint64 size;
  gint64 mtime;
  gboolean stat_known;  /* size and mtime came from the uid list */
  gboolean seen_in_scan;
  gboolean have_summary;
  char *subject;
  char *from;
} Entry;

typedef struct {
  char *key;            /* "<user>/<folder>": user names hold no '/' */
  char *user;
  char *name;           /* canonical: "INBOX" or "Work/2026" */
  char *path;
  guint32 uidvalidity;
  guint32 uidnext;
  GHashTable *by_uid;   /* GUINT_TO_POINTER (uid) -> Entry, owned */
  GHashTable *by_base;  /* base (borrowed from the entry) -> Entry (borrowed) */
  int list_fd;          /* the uid list, O_APPEND; -1 when not open */
  dev_t list_dev;       /* identity and size of the list as we last wrote it, */
  ino_t list_ino;       /* to notice another writer */
  goffset list_size;
  guint stale_lines;    /* lines in the log that are not live messages */
  GList lru_link;       /* data = this folder, in MsStore.lru */
  /* What the last rescan saw of new/ and cur/, to skip the next one when
   * nothing can have changed (see folder_unchanged_since_rescan()). */
  struct timespec scanned_mtime[2];
  gint64 scanned_at;    /* g_get_real_time () when those were read; 0 = never */
  gint64 checked_at;    /* g_get_monotonic_time () of the last folder_is_current () */
} Folder;

struct _MsStore {
  char *root;
  char *server_name;
  MsTraceBus *bus;      /* owned reference, may be NULL */
  char *hostname;       /* for unique names, with '/' and ':' escaped */
  guint counter;        /* the Q part of unique names */
  GHashTable *folders;  /* key -> Folder, owned */
  GQueue lru;           /* of Folder.lru_link, most recently used first */
  GHashTable *unsynced_dirs; /* set of directory paths that ms_store_sync() must fsync */
  MsStoreChangeFunc change_func;
  gpointer change_data;
};

G_DEFINE_QUARK (ms-store-error-quark, ms_store_error)

/* ---- errors and small file helpers ---- */

static gboolean G_GNUC_PRINTF (3, 4)
set_errno_error (GError    **error,
                 int         saved_errno,
                 const char *format,
                 ...)
{
  g_autofree char *message = NULL;
  MsStoreError code = MS_STORE_ERROR_IO;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  if (saved_errno == ENOSPC || saved_errno == EDQUOT)
    code = MS_STORE_ERROR_NO_SPACE;
  else if (saved_errno == ENOENT)
    code = MS_STORE_ERROR_NOT_FOUND;
  g_set_error (error, MS_STORE_ERROR, code, "%s: %s", message, g_strerror (saved_errno));
  return FALSE;
}

static gboolean
write_all (int           fd,
           const guint8 *data,
           gsize         len)
{
  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0)
        {
          if (errno == EINTR)
            continue;
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

/* A rename or a new file is only durable once its directory is fsynced. */
static gboolean
fsync_dir (const char *path)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int saved_errno;
  int r;

  if (fd < 0)
    return FALSE;
  r = fsync (fd);
  saved_errno = errno;
  close (fd);
  errno = saved_errno;
  return r == 0;
}

/* Reads up to `max` bytes of a regular file, not following symlinks (a link
 * planted in a Maildir must not serve /etc/shadow over IMAP). */
static guint8 *
read_file_bounded (const char *path,
                   gsize       max,
                   gsize      *len_r)
{
  g_autofree guint8 *data = NULL;
  struct stat st;
  gsize want;
  gsize got = 0;
  int saved_errno;
  int fd;

  fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return NULL;
  if (fstat (fd, &st) < 0)
    {
      saved_errno = errno;
      close (fd);
      errno = saved_errno;
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      saved_errno = EINVAL;
      close (fd);
      errno = saved_errno;
      return NULL;
    }

  want = MIN ((guint64) st.st_size, (guint64) max);
  data = g_malloc (want + 1);
  while (got < want)
    {
      gssize n = read (fd, data + got, want - got);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          saved_errno = errno;
          close (fd);
          errno = saved_errno;
          return NULL;
        }
      if (n == 0)
        break;          /* the file shrank: give what there is */
      got += (gsize) n;
    }
  close (fd);
  data[got] = '\0';
  *len_r = got;
  return g_steal_pointer (&data);
}

/* Writes `dir`/`name` atomically: temporary file, fsync, rename, fsync of
 * the directory. */
static gboolean
write_file_atomically (MsStore    *self,
                       const char *dir,
                       const char *name,
                       const char *data,
                       gsize       len,
                       GError    **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *tmp_name = g_strdup_printf ("%s%s.%d.%u", TMP_PREFIX, name,
                                               (int) getpid (), ++self->counter);
  g_autofree char *tmp_path = g_build_filename (dir, tmp_name, NULL);
  int saved_errno;
  int fd;

  fd = open (tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, "Cannot create %s", tmp_path);
  if (!write_all (fd, (const guint8 *) data, len) || fsync (fd) < 0)
    {
      saved_errno = errno;
      close (fd);
      g_unlink (tmp_path);
      return set_errno_error (error, saved_errno, "Cannot write %s", tmp_path);
    }
  close (fd);
  if (rename (tmp_path, path) < 0)
    {
      saved_errno = errno;
      g_unlink (tmp_path);
      return set_errno_error (error, saved_errno, "Cannot rename %s", tmp_path);
    }
  if (!fsync_dir (dir))
    return set_errno_error (error, errno, "Cannot sync %s", dir);
  return TRUE;
}

static gboolean
is_dir (const char *path)
{
  struct stat st;

  return lstat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

/* Removes a directory tree without following symlinks. The depth is bounded:
 * a Maildir is two levels deep. */
static gboolean
remove_tree_at (int         parent_fd,
                const char *name,
                guint       depth)
{
  struct dirent *dent;
  DIR *dir;
  int fd;
  gboolean ok = TRUE;

  if (depth > REMOVE_TREE_MAX_DEPTH)
    return FALSE;
  fd = openat (parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return unlinkat (parent_fd, name, 0) == 0;
  dir = fdopendir (fd);
  if (dir == NULL)
    {
      close (fd);
      return FALSE;
    }
  while ((dent = readdir (dir)) != NULL)
    {
      if (g_str_equal (dent->d_name, ".") || g_str_equal (dent->d_name, ".."))
        continue;
      if (unlinkat (fd, dent->d_name, 0) == 0)
        continue;
      if (errno == EISDIR || errno == EPERM)
        ok = remove_tree_at (fd, dent->d_name, depth + 1) && ok;
      else if (errno != ENOENT)
        ok = FALSE;
    }
  closedir (dir);
  return unlinkat (parent_fd, name, AT_REMOVEDIR) == 0 && ok;
}

/* ---- names ---- */

gboolean
ms_store_user_name_is_valid (const char *user)
{
  gsize len;

  if (user == NULL || user[0] == '\0' || user[0] == '.')
    return FALSE;
  len = strlen (user);
  if (len > MAX_USER_NAME)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = user[i];

      if (!(g_ascii_islower (c) || g_ascii_isdigit (c) || c == '.' || c == '_' || c == '-'))
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_user (const char *user,
            GError    **error)
{
  if (ms_store_user_name_is_valid (user))
    return TRUE;
  g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME,
               "Invalid user name \"%s\": use up to 64 lower-case letters, digits, "
               "'.', '_' and '-', not starting with '.'", user);
  return FALSE;
}

static gboolean
component_is_valid (const char *start,
                    gsize       len)
{
  if (len == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      guchar c = (guchar) start[i];

      /* '.' anywhere also rules out "." and "..": on disk it is the
       * Maildir++ hierarchy separator. */
      if (c < 0x20 || c == 0x7f || c == '.' || c == '\\' || c == '*' || c == '%')
        return FALSE;
    }
  return TRUE;
}

/* Returns the canonical name ("INBOX" for any case of it, the first
 * component upper-cased when it is INBOX) or NULL for a name that is not
 * allowed. */
static char *
canonical_folder_name (const char *folder)
{
  const char *p;
  gsize len;

  if (folder == NULL)
    return NULL;
  len = strlen (folder);
  if (len == 0 || len > MAX_FOLDER_NAME || !g_utf8_validate (folder, (gssize) len, NULL))
    return NULL;

  p = folder;
  for (;;)
    {
      const char *slash = strchr (p, '/');
      gsize component_len = slash != NULL ? (gsize) (slash - p) : strlen (p);

      if (!component_is_valid (p, component_len))
        return NULL;
      if (slash == NULL)
        break;
      p = slash + 1;
    }

  if (g_ascii_strncasecmp (folder, "INBOX", 5) == 0 && (folder[5] == '\0' || folder[5] == '/'))
    return g_strconcat ("INBOX", folder + 5, NULL);
  return g_strdup (folder);
}

gboolean
ms_store_folder_name_is_valid (const char *folder)
{
  g_autofree char *canonical = canonical_folder_name (folder);

  return canonical != NULL;
}

static char *
check_folder (const char *folder,
              GError    **error)
{
  char *canonical = canonical_folder_name (folder);

  if (canonical == NULL)
    g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME,
                 "Invalid folder name");
  return canonical;
}

static gboolean
is_inbox (const char *canonical)
{
  return g_str_equal (canonical, "INBOX");
}

static char *
user_path (MsStore    *self,
           const char *user)
{
  return g_build_filename (self->root, user, NULL);
}

/* INBOX is the user's directory; "A/B" is "<user>/.A.B" (Maildir++). */
static char *
folder_path (MsStore    *self,
             const char *user,
             const char *canonical)
{
  g_autofree char *dir_name = NULL;

  if (is_inbox (canonical))
    return user_path (self, user);
  dir_name = g_strconcat (".", canonical, NULL);
  g_strdelimit (dir_name, "/", '.');
  return g_build_filename (self->root, user, dir_name, NULL);
}

/* The folder name of a ".A.B" directory entry, or NULL if it is not one. */
static char *
folder_name_from_dir_entry (const char *entry)
{
  g_autofree char *name = NULL;
  char *canonical;

  if (entry[0] != '.' || entry[1] == '\0' || entry[1] == '.')
    return NULL;
  name = g_strdup (entry + 1);
  g_strdelimit (name, ".", '/');
  canonical = canonical_folder_name (name);
  /* ".inbox" by hand would map to a different directory than its own. */
  if (canonical != NULL && !g_str_equal (canonical, name))
    g_clear_pointer (&canonical, g_free);
  return canonical;
}

/* Sorted, unique Maildir letters; NULL with INVALID_FLAGS for anything else. */
static char *
normalize_flags (const char *flags,
                 GError    **error)
{
  gboolean present[128] = { FALSE };
  GString *out;

  for (const char *p = flags; *p != '\0'; p++)
    {
      if (!g_ascii_isalpha (*p))
        {
          g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_FLAGS,
                       "Invalid Maildir flag");
          return NULL;
        }
      present[(guchar) *p] = TRUE;
    }
  out = g_string_sized_new (MAX_FLAGS);
  for (int c = 'A'; c <= 'z'; c++)
    if (present[c])
      g_string_append_c (out, (char) c);
  return g_string_free (out, FALSE);
}

/* Splits a Maildir file name "<base>[:2,<flags>]". Flags from disk are
 * taken leniently: other programs write them, so junk is dropped rather than
 * refused. */
static gboolean
parse_message_file_name (const char *name,
                         char      **base_r,
                         char      **flags_r)
{
  const char *colon = strchr (name, ':');
  gsize base_len = colon != NULL ? (gsize) (colon - name) : strlen (name);
  GString *flags;

  if (base_len == 0 || base_len > MAX_UNIQUE_NAME || name[0] == '.')
    return FALSE;
  for (gsize i = 0; i < base_len; i++)
    if ((guchar) name[i] <= ' ' || name[i] == 0x7f)
      return FALSE;

  flags = g_string_new (NULL);
  if (colon != NULL && g_str_has_prefix (colon, ":2,"))
    {
      gboolean present[128] = { FALSE };

      for (const char *p = colon + 3; *p != '\0'; p++)
        if (g_ascii_isalpha (*p))
          present[(guchar) *p] = TRUE;
      for (int c = 'A'; c <= 'z'; c++)
        if (present[c])
          g_string_append_c (flags, (char) c);
    }
  *base_r = g_strndup (name, base_len);
  *flags_r = g_string_free (flags, FALSE);
  return TRUE;
}

static char *
new_unique_name (MsStore *self)
{
  gint64 now = g_get_real_time ();

  /* "<seconds>.M<usec>P<pid>Q<counter>.<host>" (the Maildir spec's
   * recommended form), unique within this host. */
  /* The microseconds are zero-padded so that names sort in delivery
   * order, which the uid list's crash recovery relies on (see the top). */
  return g_strdup_printf ("%" G_GINT64_FORMAT ".M%06" G_GINT64_FORMAT "P%dQ%u.%s",
                          now / G_USEC_PER_SEC, now % G_USEC_PER_SEC,
                          (int) getpid (), ++self->counter, self->hostname);
}

/* ---- entries and folder indexes ---- */

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->base);
  g_free (entry->filename);
  g_free (entry->flags);
  g_free (entry->subject);
  g_free (entry->from);
  g_free (entry);
}

static void
folder_free (gpointer data)
{
  Folder *folder = data;

  if (folder->list_fd >= 0)
    close (folder->list_fd);
  g_clear_pointer (&folder->by_base, g_hash_table_unref);
  g_clear_pointer (&folder->by_uid, g_hash_table_unref);
  g_free (folder->key);
  g_free (folder->user);
  g_free (folder->name);
  g_free (folder->path);
  g_free (folder);
}

static char *
folder_key (const char *user,
            const char *canonical)
{
  return g_strconcat (user, "/", canonical, NULL);
}

static void
folder_add_entry (Folder *folder,
                  Entry  *entry)
{
  g_hash_table_insert (folder->by_uid, GUINT_TO_POINTER (entry->uid), entry);
  g_hash_table_insert (folder->by_base, entry->base, entry);
}

static void
folder_remove_entry (Folder *folder,
                     Entry  *entry)
{
  g_hash_table_remove (folder->by_base, entry->base);
  g_hash_table_remove (folder->by_uid, GUINT_TO_POINTER (entry->uid));
}

static Entry *
folder_lookup (Folder *folder,
               guint32 uid)
{
  return g_hash_table_lookup (folder->by_uid, GUINT_TO_POINTER (uid));
}

static char *
entry_path (Folder      *folder,
            const Entry *entry)
{
  return g_build_filename (folder->path, entry->filename, NULL);
}

static int
compare_entries_by_uid (gconstpointer a,
                        gconstpointer b)
{
  const Entry *ea = *(Entry * const *) a;
  const Entry *eb = *(Entry * const *) b;

  return ea->uid < eb->uid ? -1 : ea->uid > eb->uid;
}

static GPtrArray *
folder_sorted_entries (Folder *folder)
{
  GPtrArray *entries = g_ptr_array_sized_new (g_hash_table_size (folder->by_uid));
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, folder->by_uid);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (entries, value);
  g_ptr_array_sort (entries, compare_entries_by_uid);
  return entries;
}

/* Hands out UIDVALIDITY for a new uid list: the time, but always above the
 * last one given to this user (a counter file in the user's directory). */
static gboolean
next_uidvalidity (MsStore    *self,
                  const char *user,
                  guint32    *uidvalidity_r,
                  GError    **error)
{
  g_autofree char *dir = user_path (self, user);
  g_autofree char *path = g_build_filename (dir, UIDVALIDITY_NAME, NULL);
  g_autofree char *contents = NULL;
  g_autofree char *text = NULL;
  guint64 last = 0;
  guint64 now = (guint64) (g_get_real_time () / G_USEC_PER_SEC);
  guint64 next;

  if (g_file_get_contents (path, &contents, NULL, NULL))
    {
      g_strstrip (contents);
      if (!g_ascii_string_to_unsigned (contents, 10, 0, G_MAXUINT32, &last, NULL))
        last = 0;
    }
  next = MAX (now, last + 1);
  if (next > G_MAXUINT32)
    next = 1;           /* after 2106, or a broken clock: restart low */

  text = g_strdup_printf ("%" G_GUINT64_FORMAT "\n", next);
  if (!write_file_atomically (self, dir, UIDVALIDITY_NAME, text, strlen (text), error))
    return FALSE;
  *uidvalidity_r = (guint32) next;
  return TRUE;
}

static gboolean
folder_open_list (Folder  *folder,
                  GError **error)
{
  g_autofree char *path = g_build_filename (folder->path, UIDLIST_NAME, NULL);
  struct stat st;

  if (folder->list_fd >= 0)
    close (folder->list_fd);
  folder->list_fd = open (path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
  if (folder->list_fd < 0 || fstat (folder->list_fd, &st) < 0)
    return set_errno_error (error, errno, "Cannot open %s", path);
  folder->list_dev = st.st_dev;
  folder->list_ino = st.st_ino;
  folder->list_size = st.st_size;
  return TRUE;
}

/* "<uid> <name>/<size>/<mtime>\n" (see the comment at the top). */
static void
append_list_line (GString     *out,
                  const Entry *entry)
{
  g_string_append_printf (out, "%u %s/%" G_GUINT64_FORMAT "/%" G_GINT64_FORMAT "\n",
                          entry->uid, entry->base, entry->size, entry->mtime);
}

/* Rewrites the uid list whole (see the comment at the top). */
static gboolean
folder_compact (MsStore *self,
                Folder  *folder,
                GError **error)
{
  g_autoptr(GPtrArray) entries = folder_sorted_entries (folder);
  g_autoptr(GString) text = g_string_new (NULL);

  g_string_append_printf (text, UIDLIST_MAGIC " " UIDLIST_VERSION " V%u N%u\n",
                          folder->uidvalidity, folder->uidnext);
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *entry = g_ptr_array_index (entries, i);

      append_list_line (text, entry);
    }
  if (!write_file_atomically (self, folder->path, UIDLIST_NAME, text->str, text->len, error))
    return FALSE;
  folder->stale_lines = 0;
  return folder_open_list (folder, error);
}

static gboolean
folder_append_list (Folder     *folder,
                    const char *lines,
                    gsize       len,
                    gboolean    durable,
                    GError    **error)
{
  g_assert (folder->list_fd >= 0);

  /* One write() per call: with O_APPEND the lines land whole or, after a
   * crash, as a torn last line that the loader ignores. */
  if (!write_all (folder->list_fd, (const guint8 *) lines, len)
      || (durable && fdatasync (folder->list_fd) < 0))
    return set_errno_error (error, errno, "Cannot write the uid list of %s", folder->path);
  folder->list_size += (goffset) len;
  return TRUE;
}

static void
folder_maybe_compact (MsStore *self,
                      Folder  *folder)
{
  g_autoptr(GError) error = NULL;

  if (folder->stale_lines < COMPACT_MIN_STALE_LINES
      || folder->stale_lines < g_hash_table_size (folder->by_uid))
    return;
  /* A failed compaction leaves the valid log in place: only warn. */
  if (!folder_compact (self, folder, &error))
    g_warning ("Cannot compact the uid list of %s: %s", folder->path, error->message);
}

/* Parses the uid list into `folder`. Returns FALSE when the file is not a
 * uid list at all; `needs_rewrite_r` is set when it should be compacted. */
/* A decimal number that fills `text` exactly, at most `max`. */
static gboolean
parse_decimal (const char *text,
               guint64     max,
               guint64    *value_r)
{
  return text[0] != '\0' && strspn (text, "0123456789") == strlen (text)
         && g_ascii_string_to_unsigned (text, 10, 0, max, value_r, NULL);
}

/* One "<uid> <name>[/<size>/<mtime>]" line, cut out of the list in place;
 * adds its entry. FALSE for a line that is not one. */
static gboolean
folder_parse_message_line (Folder *folder,
                           char   *line)
{
  char *space = strchr (line, ' ');
  char *name;
  char *stat_text;
  guint64 uid;
  guint64 size = 0;
  guint64 mtime = 0;
  gboolean stat_known = FALSE;
  gsize name_len;
  Entry *entry;

  if (space == NULL)
    return FALSE;
  *space = '\0';
  name = space + 1;
  if (!parse_decimal (line, G_MAXUINT32 - 1, &uid) || uid == 0)
    return FALSE;
  stat_text = strchr (name, '/');
  if (stat_text != NULL)
    {
      char *mtime_text;

      *stat_text++ = '\0';   /* a name cannot hold '/': it ends here */
      mtime_text = strchr (stat_text, '/');
      if (mtime_text == NULL)
        return FALSE;
      *mtime_text++ = '\0';
      if (!parse_decimal (stat_text, G_MAXINT64, &size)
          || !parse_decimal (mtime_text, G_MAXINT64, &mtime))
        return FALSE;
      stat_known = TRUE;
    }

  /* The name as parse_message_file_name() takes it, without flags. */
  name_len = strlen (name);
  if (name_len == 0 || name_len > MAX_UNIQUE_NAME || name[0] == '.' || strchr (name, ':'))
    return FALSE;
  for (gsize i = 0; i < name_len; i++)
    if ((guchar) name[i] <= ' ' || name[i] == 0x7f)
      return FALSE;
  if (folder_lookup (folder, (guint32) uid) != NULL
      || g_hash_table_lookup (folder->by_base, name) != NULL)
    return FALSE;

  entry = g_new0 (Entry, 1);
  entry->uid = (guint32) uid;
  entry->base = g_strndup (name, name_len);
  entry->flags = g_strdup ("");
  entry->size = size;
  entry->mtime = (gint64) mtime;
  entry->stat_known = stat_known;
  folder_add_entry (folder, entry);
  folder->uidnext = MAX (folder->uidnext, (guint32) uid + 1);
  return TRUE;
}

/* Reads the uid list in `contents`, which it cuts up in place. */
static gboolean
folder_parse_list (Folder     *folder,
                   char       *contents,
                   gsize       len,
                   gboolean   *needs_rewrite_r)
{
  g_auto(GStrv) header = NULL;
  char *p = contents;
  char *end = contents + len;
  char *nl;
  guint64 value;

  nl = memchr (p, '\n', len);
  if (nl == NULL)
    return FALSE;
  {
    g_autofree char *first = g_strndup (p, (gsize) (nl - p));

    header = g_strsplit (first, " ", 0);
  }
  if (g_strv_length (header) != 4
      || !g_str_equal (header[0], UIDLIST_MAGIC)
      || !(g_str_equal (header[1], UIDLIST_VERSION)
           || g_str_equal (header[1], UIDLIST_VERSION_NAMES_ONLY))
      || header[2][0] != 'V' || header[3][0] != 'N'
      || !g_ascii_string_to_unsigned (header[2] + 1, 10, 1, G_MAXUINT32, &value, NULL))
    return FALSE;
  folder->uidvalidity = (guint32) value;
  if (!g_ascii_string_to_unsigned (header[3] + 1, 10, 1, G_MAXUINT32, &value, NULL))
    return FALSE;
  folder->uidnext = (guint32) value;
  if (!g_str_equal (header[1], UIDLIST_VERSION))
    *needs_rewrite_r = TRUE;    /* an older version: write it as ours */

  for (p = nl + 1; p < end; p = nl + 1)
    {
      char *line = p;

      nl = memchr (p, '\n', (gsize) (end - p));
      if (nl == NULL)
        {
          /* A torn last write (see the top of this file). */
          *needs_rewrite_r = TRUE;
          break;
        }
      *nl = '\0';
      if (memchr (line, '\0', (gsize) (nl - line)) != NULL)
        {
          *needs_rewrite_r = TRUE;    /* a NUL inside a line: junk */
          continue;
        }

      if (line[0] == '-')
        {
          Entry *entry;

          if (parse_decimal (line + 1, G_MAXUINT32, &value) && value > 0
              && (entry = folder_lookup (folder, (guint32) value)) != NULL)
            folder_remove_entry (folder, entry);
          folder->stale_lines += 2;
          continue;
        }
      if (!folder_parse_message_line (folder, line))
        {
          g_debug ("%s: ignoring a bad uid list line", folder->path);
          *needs_rewrite_r = TRUE;
        }
    }

  return TRUE;
}

typedef struct {
  char *filename;
  char *base;
  char *flags;
} FoundFile;

static void
found_file_free (gpointer data)
{
  FoundFile *found = data;

  g_free (found->filename);
  g_free (found->base);
  g_free (found->flags);
  g_free (found);
}

static int
compare_found_files (gconstpointer a,
                     gconstpointer b)
{
  const FoundFile *fa = *(FoundFile * const *) a;
  const FoundFile *fb = *(FoundFile * const *) b;

  return strcmp (fa->base, fb->base);
}

static gboolean
stat_entry (Folder *folder,
            Entry  *entry)
{
  g_autofree char *path = entry_path (folder, entry);
  struct stat st;

  if (lstat (path, &st) < 0 || !S_ISREG (st.st_mode))
    return FALSE;
  entry->size = (guint64) st.st_size;
  entry->mtime = (gint64) st.st_mtime;
  return TRUE;
}

static void
notify_change (MsStore    *self,
               const char *user,
               const char *folder)
{
  if (self->change_func != NULL)
    self->change_func (user, folder, self->change_data);
}

/* The entry whose file is `subdir`/`name` exactly, when the index already
 * knows it so (same base name, same directory, same flags) and has not
 * seen it in this scan yet; else NULL. Allocates nothing. */
static Entry *
lookup_unchanged (Folder     *folder,
                  const char *subdir,
                  const char *name)
{
  char base[MAX_UNIQUE_NAME + 1];
  const char *colon = strchr (name, ':');
  gsize base_len = colon != NULL ? (gsize) (colon - name) : strlen (name);
  gsize subdir_len = strlen (subdir);
  Entry *entry;

  if (base_len == 0 || base_len > MAX_UNIQUE_NAME)
    return NULL;
  memcpy (base, name, base_len);
  base[base_len] = '\0';
  entry = g_hash_table_lookup (folder->by_base, base);
  if (entry == NULL || entry->seen_in_scan || entry->filename == NULL
      || strncmp (entry->filename, subdir, subdir_len) != 0
      || entry->filename[subdir_len] != '/'
      || strcmp (entry->filename + subdir_len + 1, name) != 0)
    return NULL;
  return entry;
}

/* The mtimes of new/ and cur/ (the order of folder_rescan()'s subdirs). */
static gboolean
folder_read_mtimes (Folder          *folder,
                    struct timespec  mtimes_r[2])
{
  static const char *const subdirs[] = { "new", "cur" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir_path = g_build_filename (folder->path, subdirs[i], NULL);
      struct stat st;

      if (stat (dir_path, &st) < 0)
        return FALSE;
      mtimes_r[i] = st.st_mtim;
    }
  return TRUE;
}

/* TRUE when a rescan would find nothing new: neither directory changed since
 * the last rescan read them. A directory's mtime moves on every file added,
 * renamed or removed in it, but only as finely as the file system's clock
 * ticks: a change in the same tick as the one the rescan saw, made after the
 * rescan, would leave the mtime as it was. So the mtimes are trusted only
 * when they were at least a second old when the rescan read them. Our own
 * changes (delivery, flags, expunge) update the index and move the mtime, so
 * a busy folder is rescanned; a quiet one, however large, is not. */
static gboolean
folder_unchanged_since_rescan (Folder *folder)
{
  struct timespec now_mtime[2];

  if (folder->scanned_at == 0 || !folder_read_mtimes (folder, now_mtime))
    return FALSE;
  for (guint i = 0; i < 2; i++)
    {
      gint64 mtime_us = (gint64) now_mtime[i].tv_sec * G_USEC_PER_SEC +
                        now_mtime[i].tv_nsec / 1000;

      if (now_mtime[i].tv_sec != folder->scanned_mtime[i].tv_sec ||
          now_mtime[i].tv_nsec != folder->scanned_mtime[i].tv_nsec ||
          folder->scanned_at - mtime_us < G_USEC_PER_SEC)
        return FALSE;
    }
  return TRUE;
}

/* Brings the index in step with new/ and cur/: files other programs moved
 * (flag changes by mutt), removed, or dropped in. New files get the next UIDs
 * in name order, which for Maildir names is delivery time order. The changes
 * go to the uid list as log lines, or, when `compact` is set (a load), by
 * rewriting it. */
static gboolean
folder_rescan (MsStore *self,
               Folder  *folder,
               gboolean compact,
               GError **error)
{
  static const char *const subdirs[] = { "new", "cur" };
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (found_file_free);
  g_autoptr(GPtrArray) gone = g_ptr_array_new ();
  g_autoptr(GString) log = g_string_new (NULL);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, folder->by_uid);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((Entry *) value)->seen_in_scan = FALSE;

  /* Read before the directories: a change during the scan shows as a newer
   * mtime next time. */
  folder->scanned_at = 0;
  if (folder_read_mtimes (folder, folder->scanned_mtime))
    folder->scanned_at = g_get_real_time ();

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *dir_path = g_build_filename (folder->path, subdirs[i], NULL);
      struct dirent *dent;
      DIR *dir;

      dir = opendir (dir_path);
      if (dir == NULL)
        return set_errno_error (error, errno, "Cannot read %s", dir_path);
      while ((dent = readdir (dir)) != NULL)
        {
          g_autofree char *base = NULL;
          g_autofree char *flags = NULL;
          g_autofree char *filename = NULL;
          Entry *entry;

          if (dent->d_name[0] == '.')
            continue;
          if (dent->d_type != DT_REG && dent->d_type != DT_UNKNOWN)
            continue;
          /* Most files are as the index knows them: find that out without
           * allocating (a rescan of a large folder is mostly this). */
          entry = lookup_unchanged (folder, subdirs[i], dent->d_name);
          if (entry != NULL)
            {
              entry->seen_in_scan = TRUE;
              continue;
            }
          if (!parse_message_file_name (dent->d_name, &base, &flags))
            continue;
          filename = g_build_filename (subdirs[i], dent->d_name, NULL);

          entry = g_hash_table_lookup (folder->by_base, base);
          if (entry == NULL)
            {
              FoundFile *file = g_new0 (FoundFile, 1);

              file->filename = g_steal_pointer (&filename);
              file->base = g_steal_pointer (&base);
              file->flags = g_steal_pointer (&flags);
              g_ptr_array_add (found, file);
              continue;
            }
          if (entry->seen_in_scan)
            continue;   /* the same message in new/ and cur/: keep one */
          entry->seen_in_scan = TRUE;
          if (entry->filename == NULL || !g_str_equal (entry->filename, filename))
            {
              gboolean first_sight = entry->filename == NULL;

              g_free (entry->filename);
              entry->filename = g_steal_pointer (&filename);
              g_free (entry->flags);
              entry->flags = g_steal_pointer (&flags);
              if (first_sight && !entry->stat_known && !stat_entry (folder, entry))
                entry->seen_in_scan = FALSE;
            }
        }
      closedir (dir);
    }

  g_hash_table_iter_init (&iter, folder->by_uid);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (!((Entry *) value)->seen_in_scan)
      g_ptr_array_add (gone, value);
  for (guint i = 0; i < gone->len; i++)
    {
      Entry *entry = g_ptr_array_index (gone, i);

      g_string_append_printf (log, "-%u\n", entry->uid);
      folder->stale_lines += 2;
      folder_remove_entry (folder, entry);
    }

  g_ptr_array_sort (found, compare_found_files);
  for (guint i = 0; i < found->len; i++)
    {
      FoundFile *file = g_ptr_array_index (found, i);
      Entry *entry;

      if (folder->uidnext == G_MAXUINT32)
        {
          g_warning ("%s: out of UIDs", folder->path);
          break;
        }
      entry = g_new0 (Entry, 1);
      entry->base = g_steal_pointer (&file->base);
      entry->filename = g_steal_pointer (&file->filename);
      entry->flags = g_steal_pointer (&file->flags);
      if (!stat_entry (folder, entry))
        {
          entry_free (entry);   /* not a regular file, or gone already */
          continue;
        }
      entry->uid = folder->uidnext++;
      append_list_line (log, entry);
      folder_add_entry (folder, entry);
    }

  if (log->len == 0)
    return TRUE;
  notify_change (self, folder->user, folder->name);
  if (compact)
    return folder_compact (self, folder, error);
  /* New UIDs are promised to clients from here on: make them durable. */
  if (!folder_append_list (folder, log->str, log->len, found->len > 0, error))
    return FALSE;
  folder_maybe_compact (self, folder);
  return TRUE;
}

static Folder *
folder_load (MsStore    *self,
             const char *user,
             const char *canonical,
             GError    **error)
{
  g_autofree char *path = folder_path (self, user, canonical);
  g_autofree char *cur = g_build_filename (path, "cur", NULL);
  g_autofree char *list_path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) local_error = NULL;
  gsize len = 0;
  gboolean needs_rewrite = FALSE;
  Folder *folder;

  /* cur/ is made last when a folder is created, so its presence means the
   * folder is complete. */
  if (!is_dir (cur))
    {
      if (is_inbox (canonical))
        g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND, "No user %s", user);
      else
        g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND, "No folder %s", canonical);
      return NULL;
    }

  folder = g_new0 (Folder, 1);
  folder->key = folder_key (user, canonical);
  folder->user = g_strdup (user);
  folder->name = g_strdup (canonical);
  folder->path = g_steal_pointer (&path);
  folder->by_uid = g_hash_table_new_full (NULL, NULL, NULL, entry_free);
  folder->by_base = g_hash_table_new (g_str_hash, g_str_equal);
  folder->list_fd = -1;
  folder->lru_link.data = folder;

  list_path = g_build_filename (folder->path, UIDLIST_NAME, NULL);
  if (!g_file_get_contents (list_path, &contents, &len, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_IO, "%s", local_error->message);
          folder_free (folder);
          return NULL;
        }
      needs_rewrite = TRUE;
    }
  else if (!folder_parse_list (folder, contents, len, &needs_rewrite))
    {
      /* The old UIDs cannot be trusted: a new UIDVALIDITY tells clients to
       * forget them (RFC 3501 section 2.3.1.1). */
      g_warning ("%s: not a uid list, making a new one", list_path);
      g_hash_table_remove_all (folder->by_base);
      g_hash_table_remove_all (folder->by_uid);
      needs_rewrite = TRUE;
      folder->uidvalidity = 0;
    }

  if (folder->uidvalidity == 0)
    {
      folder->uidnext = 1;
      if (!next_uidvalidity (self, user, &folder->uidvalidity, error))
        {
          folder_free (folder);
          return NULL;
        }
    }

  /* A list that is fine is reopened for appending; a rescan that finds the
   * directories out of step with it compacts it; a list that was missing or
   * damaged is written whole even when the rescan found nothing to change. */
  if ((!needs_rewrite && !folder_open_list (folder, error))
      || !folder_rescan (self, folder, TRUE, error)
      || (folder->list_fd < 0 && !folder_compact (self, folder, error)))
    {
      folder_free (folder);
      return NULL;
    }

  return folder;
}

/* ---- the folder cache ---- */

static void
cache_drop (MsStore *self,
            Folder  *folder)
{
  g_queue_unlink (&self->lru, &folder->lru_link);
  g_hash_table_remove (self->folders, folder->key);
}

/* Drops every cached folder of `user`: after a rename or delete their paths
 * are wrong. They reload on next use. */
static void
cache_drop_user (MsStore    *self,
                 const char *user)
{
  GList *link = self->lru.head;

  while (link != NULL)
    {
      Folder *folder = link->data;

      link = link->next;
      if (g_str_equal (folder->user, user))
        cache_drop (self, folder);
    }
}

/* TRUE when the uid list on disk is still the one we last wrote: another
 * writer (a second MsStore on the root) would have changed its size or, by
 * compacting, its inode. */
static gboolean
folder_is_current (Folder *folder)
{
  g_autofree char *path = g_build_filename (folder->path, UIDLIST_NAME, NULL);
  struct stat st;

  if (stat (path, &st) != 0
      || st.st_dev != folder->list_dev
      || st.st_ino != folder->list_ino
      || st.st_size != folder->list_size)
    return FALSE;
  folder->checked_at = g_get_monotonic_time ();
  return TRUE;
}

/* How stale a read may see another writer's uid list. A SEARCH reads the
 * summary of every message of a folder; one stat of the list per message
 * was a fifth of the server's time under load. Writes always check. */
#define READ_CHECK_INTERVAL_US (100 * 1000)

/* Returns the index of a folder, loading it if needed. Borrowed: valid until
 * the next call that may load or drop folders. With `reading`, a folder
 * checked against the disk less than READ_CHECK_INTERVAL_US ago is not
 * checked again. */
static Folder *
get_folder_full (MsStore    *self,
                 const char *user,
                 const char *canonical,
                 gboolean    reading,
                 gboolean   *loaded_r,
                 GError    **error)
{
  g_autofree char *key = folder_key (user, canonical);
  Folder *folder;

  if (loaded_r != NULL)
    *loaded_r = FALSE;

  folder = g_hash_table_lookup (self->folders, key);
  if (folder != NULL)
    {
      if ((reading && g_get_monotonic_time () - folder->checked_at < READ_CHECK_INTERVAL_US)
          || folder_is_current (folder))
        {
          g_queue_unlink (&self->lru, &folder->lru_link);
          g_queue_push_head_link (&self->lru, &folder->lru_link);
          return folder;
        }
      cache_drop (self, folder);
    }

  folder = folder_load (self, user, canonical, error);
  if (folder == NULL)
    return NULL;
  if (loaded_r != NULL)
    *loaded_r = TRUE;

  g_hash_table_insert (self->folders, folder->key, folder);
  g_queue_push_head_link (&self->lru, &folder->lru_link);
  while (self->lru.length > MS_STORE_MAX_CACHED_FOLDERS)
    cache_drop (self, g_queue_peek_tail (&self->lru));
  return folder;
}

static Folder *
get_folder (MsStore    *self,
            const char *user,
            const char *canonical,
            gboolean   *loaded_r,
            GError    **error)
{
  return get_folder_full (self, user, canonical, FALSE, loaded_r, error);
}

/* get_folder() and a rescan, unless the load just did one. */
static Folder *
get_folder_rescanned (MsStore    *self,
                      const char *user,
                      const char *canonical,
                      GError    **error)
{
  gboolean loaded = FALSE;
  Folder *folder = get_folder (self, user, canonical, &loaded, error);

  if (folder == NULL)
    return NULL;
  if (!loaded && !folder_unchanged_since_rescan (folder) &&
      !folder_rescan (self, folder, FALSE, error))
    return NULL;
  return folder;
}

/* Looks up `uid`; when `rescan` is set (a file operation just failed with
 * ENOENT) the directories are read again first, since another program may
 * have renamed or removed the file. */
static Entry *
find_entry (MsStore *self,
            Folder  *folder,
            guint32  uid,
            gboolean rescan,
            GError **error)
{
  Entry *entry;

  if (rescan && !folder_rescan (self, folder, FALSE, error))
    return NULL;
  entry = folder_lookup (folder, uid);
  if (entry == NULL)
    g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND,
                 "No message with UID %u in %s", uid, folder->name);
  return entry;
}

static void
ensure_summary (Folder *folder,
                Entry  *entry)
{
  g_autofree char *path = NULL;
  g_autofree guint8 *header = NULL;
  gsize len = 0;

  if (entry->have_summary)
    return;
  path = entry_path (folder, entry);
  header = read_file_bounded (path, MS_MESSAGE_SUMMARY_MAX_HEADER, &len);
  /* A file that moved is tried again after the caller's rescan. */
  if (header == NULL)
    return;
  entry->have_summary = TRUE;
  ms_message_summary (header, len, &entry->subject, &entry->from, NULL);
}

static MsStoreMessage *
message_from_entry (const Entry *entry)
{
  MsStoreMessage *message = g_new0 (MsStoreMessage, 1);

  message->uid = entry->uid;
  message->name = g_strdup (entry->base);
  message->flags = g_strdup (entry->flags);
  message->size = entry->size;
  message->internal_date = entry->mtime;
  return message;
}

/* ---- events ---- */

static MsEvent *
store_event_new (MsStore    *self,
                 const char *op,
                 const char *user,
                 const char *folder)
{
  MsEvent *event = ms_event_new (MS_EVENT_STORE, self->server_name);

  ms_event_set_string (event, "op", op);
  ms_event_set_string (event, "user", user);
  ms_event_set_string (event, "folder", folder);
  return event;
}

static void
store_event_set_message (MsEvent     *event,
                         const Entry *entry)
{
  ms_event_set_int (event, "uid", entry->uid);
  ms_event_set_string (event, "flags", entry->flags);
  ms_event_set_int (event, "size", (gint64) entry->size);
  ms_event_set_string (event, "subject", entry->subject);
}

static void
emit_folder_event (MsStore    *self,
                   const char *op,
                   const char *user,
                   const char *folder,
                   const char *new_name)
{
  MsEvent *event;

  notify_change (self, user, folder);
  if (!ms_trace_bus_is_active (self->bus))
    return;
  event = store_event_new (self, op, user, folder);
  ms_event_set_string (event, "new-name", new_name);
  ms_trace_bus_emit (self->bus, event);
}

/* ---- public API ---- */

void
ms_store_message_free (MsStoreMessage *message)
{
  if (message == NULL)
    return;
  g_free (message->name);
  g_free (message->flags);
  g_free (message);
}

MsStore *
ms_store_new (const char *root,
              const char *server_name,
              MsTraceBus *bus)
{
  MsStore *self;
  GString *host;

  g_return_val_if_fail (root != NULL, NULL);

  self = g_new0 (MsStore, 1);
  self->root = g_strdup (root);
  self->server_name = g_strdup (server_name);
  self->bus = bus != NULL ? ms_trace_bus_ref (bus) : NULL;
  self->folders = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, folder_free);
  self->unsynced_dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_queue_init (&self->lru);

  /* The Maildir spec: '/' and ':' in the host name are written as octal
   * escapes, so the unique name stays one path component without an info
   * separator. Anything else odd is replaced outright. */
  host = g_string_new (NULL);
  for (const char *p = g_get_host_name (); *p != '\0' && host->len < 64; p++)
    {
      if (*p == '/')
        g_string_append (host, "\\057");
      else if (*p == ':')
        g_string_append (host, "\\072");
      else if ((guchar) *p <= ' ' || (guchar) *p >= 0x7f)
        g_string_append_c (host, '_');
      else
        g_string_append_c (host, *p);
    }
  if (host->len == 0)
    g_string_append (host, "localhost");
  self->hostname = g_string_free (host, FALSE);

  if (g_mkdir_with_parents (root, 0700) < 0)
    g_warning ("Cannot create the mail store %s: %s", root, g_strerror (errno));
  return self;
}

void
ms_store_free (MsStore *store)
{
  g_autoptr(GError) error = NULL;

  if (store == NULL)
    return;
  /* The links live inside the folders: forget them, do not free them. */
  g_queue_init (&store->lru);
  g_clear_pointer (&store->folders, g_hash_table_unref);
  if (ms_store_has_unsynced (store) && !ms_store_sync (store, &error))
    g_warning ("%s", error->message);
  g_clear_pointer (&store->unsynced_dirs, g_hash_table_unref);
  g_clear_pointer (&store->bus, ms_trace_bus_unref);
  g_free (store->hostname);
  g_free (store->server_name);
  g_free (store->root);
  g_free (store);
}

const char *
ms_store_get_root (MsStore *store)
{
  g_return_val_if_fail (store != NULL, NULL);
  return store->root;
}

/* Makes a Maildir's directories. cur/ comes last so that its presence means
 * the folder is complete (folder_load() checks it). */
static gboolean
make_maildir (const char *path,
              gboolean    maildirfolder,
              GError    **error)
{
  static const char *const subdirs[] = { "tmp", "new", "cur" };

  if (g_mkdir (path, 0700) < 0 && errno != EEXIST)
    return set_errno_error (error, errno, "Cannot create %s", path);
  if (maildirfolder)
    {
      g_autofree char *marker = g_build_filename (path, MAILDIRFOLDER_NAME, NULL);
      int fd = open (marker, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

      if (fd < 0)
        return set_errno_error (error, errno, "Cannot create %s", marker);
      close (fd);
    }
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *sub = g_build_filename (path, subdirs[i], NULL);

      if (g_mkdir (sub, 0700) < 0 && errno != EEXIST)
        return set_errno_error (error, errno, "Cannot create %s", sub);
      if (i == G_N_ELEMENTS (subdirs) - 1 && !fsync_dir (path))
        return set_errno_error (error, errno, "Cannot sync %s", path);
    }
  return TRUE;
}

gboolean
ms_store_user_exists (MsStore    *store,
                      const char *user)
{
  g_autofree char *cur = NULL;

  g_return_val_if_fail (store != NULL, FALSE);

  if (!ms_store_user_name_is_valid (user))
    return FALSE;
  cur = g_build_filename (store->root, user, "cur", NULL);
  return is_dir (cur);
}

gboolean
ms_store_ensure_user (MsStore    *store,
                      const char *user,
                      GError    **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_user (user, error))
    return FALSE;
  if (ms_store_user_exists (store, user))
    return TRUE;

  if (g_mkdir_with_parents (store->root, 0700) < 0)
    return set_errno_error (error, errno, "Cannot create %s", store->root);
  path = user_path (store, user);
  if (!make_maildir (path, FALSE, error))
    return FALSE;
  if (!fsync_dir (store->root))
    return set_errno_error (error, errno, "Cannot sync %s", store->root);

  emit_folder_event (store, "create-folder", user, "INBOX", NULL);
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

GPtrArray *
ms_store_list_users (MsStore *store)
{
  GPtrArray *users = g_ptr_array_new_with_free_func (g_free);
  struct dirent *dent;
  DIR *dir;

  g_return_val_if_fail (store != NULL, users);

  dir = opendir (store->root);
  if (dir == NULL)
    return users;
  while ((dent = readdir (dir)) != NULL)
    if (ms_store_user_exists (store, dent->d_name))
      g_ptr_array_add (users, g_strdup (dent->d_name));
  closedir (dir);
  g_ptr_array_sort (users, compare_strings);
  return users;
}

/* Commits a message file that is already in place under new/ or cur/: makes
 * the rename durable, gives it the next UID and logs that durably. On
 * failure the file is removed again, so a caller that reports the failure
 * (SMTP 451) leaves nothing behind. */
static Entry *
commit_new_message (Folder     *folder,
                    char       *base,
                    char       *filename,
                    char       *flags,
                    guint64     size,
                    gint64      mtime,
                    GHashTable *unsynced_dirs,
                    GError    **error)
{
  g_autofree char *path = g_build_filename (folder->path, filename, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GString) line = NULL;
  Entry *entry;
  gboolean synced;

  /* The rename is durable once the directory is fsynced: now, or for many
   * deliveries at once in ms_store_sync(). */
  if (unsynced_dirs != NULL)
    {
      g_hash_table_add (unsynced_dirs, g_strdup (dir));
      synced = TRUE;
    }
  else
    synced = fsync_dir (dir);

  if (!synced || folder->uidnext == G_MAXUINT32)
    {
      int saved_errno = folder->uidnext == G_MAXUINT32 ? EOVERFLOW : errno;

      g_unlink (path);
      g_free (base);
      g_free (filename);
      g_free (flags);
      set_errno_error (error, saved_errno, "Cannot store in %s", folder->path);
      return NULL;
    }

  entry = g_new0 (Entry, 1);
  entry->uid = folder->uidnext++;
  entry->base = base;
  entry->filename = filename;
  entry->flags = flags;
  entry->size = size;
  entry->mtime = mtime;

  /* Not synced: the file is durable, and a lost line gives it the same
   * UID again (see the top of this file). */
  line = g_string_new (NULL);
  append_list_line (line, entry);
  if (!folder_append_list (folder, line->str, line->len, FALSE, error))
    {
      /* The UID stays used up: it was maybe half written. */
      g_unlink (path);
      entry_free (entry);
      return NULL;
    }
  folder_add_entry (folder, entry);
  return entry;
}

static char *
message_file_name (const char *base,
                   const char *flags)
{
  if (flags == NULL)
    return g_build_filename ("new", base, NULL);
  return g_strconcat ("cur" G_DIR_SEPARATOR_S, base, ":2,", flags, NULL);
}

/* Writes a new message into `folder` (see ms_store_deliver()). `flags` is
 * normalized or NULL for new/. */
static Entry *
deliver_into (MsStore      *self,
              Folder       *folder,
              const guint8 *data,
              gsize         len,
              const char   *flags,
              gint64        internal_date,
              gboolean      defer_dir_sync,
              GError      **error)
{
  g_autofree char *base = NULL;
  g_autofree char *tmp_path = NULL;
  g_autofree char *filename = NULL;
  g_autofree char *path = NULL;
  struct stat st;
  int saved_errno;
  int fd = -1;

  for (guint attempt = 0; attempt < 100 && fd < 0; attempt++)
    {
      g_free (base);
      g_free (tmp_path);
      base = new_unique_name (self);
      tmp_path = g_build_filename (folder->path, "tmp", base, NULL);
      fd = open (tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0 && errno != EEXIST)
        break;
    }
  if (fd < 0)
    {
      set_errno_error (error, errno, "Cannot create %s", tmp_path);
      return NULL;
    }

  if (internal_date != 0)
    {
      struct timespec times[2] = {
        { .tv_sec = (time_t) internal_date, .tv_nsec = 0 },
        { .tv_sec = (time_t) internal_date, .tv_nsec = 0 },
      };

      /* Set after writing: a write would move the mtime to now. */
      if (!write_all (fd, data, len) || futimens (fd, times) < 0)
        goto fail_fd;
    }
  else if (!write_all (fd, data, len))
    goto fail_fd;
  /* fsync (not fdatasync): the mtime is the IMAP INTERNALDATE. */
  if (fsync (fd) < 0 || fstat (fd, &st) < 0)
    goto fail_fd;
  close (fd);

  filename = message_file_name (base, flags);
  path = g_build_filename (folder->path, filename, NULL);
  if (rename (tmp_path, path) < 0)
    {
      saved_errno = errno;
      g_unlink (tmp_path);
      set_errno_error (error, saved_errno, "Cannot move %s", tmp_path);
      return NULL;
    }

  return commit_new_message (folder, g_steal_pointer (&base), g_steal_pointer (&filename),
                             g_strdup (flags != NULL ? flags : ""),
                             (guint64) st.st_size, (gint64) st.st_mtime,
                             defer_dir_sync ? self->unsynced_dirs : NULL, error);

fail_fd:
  saved_errno = errno;
  close (fd);
  g_unlink (tmp_path);
  set_errno_error (error, saved_errno, "Cannot write %s", tmp_path);
  return NULL;
}

static gboolean
store_deliver (MsStore      *store,
               const char   *user,
               const char   *folder,
               const guint8 *data,
               gsize         len,
               const char   *flags,
               gint64        internal_date,
               gboolean      defer_dir_sync,
               guint32      *uid_r,
               GError      **error)
{
  g_autofree char *canonical = NULL;
  g_autofree char *normal_flags = NULL;
  Folder *index;
  Entry *entry;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (uid_r != NULL)
    *uid_r = 0;
  if (!check_user (user, error) || (canonical = check_folder (folder, error)) == NULL)
    return FALSE;
  if (flags != NULL && (normal_flags = normalize_flags (flags, error)) == NULL)
    return FALSE;

  index = get_folder (store, user, canonical, NULL, error);
  if (index == NULL)
    return FALSE;
  entry = deliver_into (store, index, data, len, normal_flags, internal_date, defer_dir_sync,
                        error);
  if (entry == NULL)
    return FALSE;
  if (uid_r != NULL)
    *uid_r = entry->uid;
  notify_change (store, user, canonical);

  if (ms_trace_bus_is_active (store->bus))
    {
      MsEvent *event = store_event_new (store, "deliver", user, canonical);

      /* Summarized once here, kept for the flag and expunge events. */
      entry->have_summary = TRUE;
      ms_message_summary (data, len, &entry->subject, &entry->from, NULL);
      store_event_set_message (event, entry);
      ms_event_set_string (event, "from", entry->from);
      ms_trace_bus_emit (store->bus, event);
    }
  return TRUE;
}

gboolean
ms_store_deliver (MsStore      *store,
                  const char   *user,
                  const char   *folder,
                  const guint8 *data,
                  gsize         len,
                  const char   *flags,
                  gint64        internal_date,
                  guint32      *uid_r,
                  GError      **error)
{
  return store_deliver (store, user, folder, data, len, flags, internal_date, FALSE, uid_r,
                        error);
}

gboolean
ms_store_deliver_unsynced (MsStore      *store,
                           const char   *user,
                           const char   *folder,
                           const guint8 *data,
                           gsize         len,
                           guint32      *uid_r,
                           GError      **error)
{
  return store_deliver (store, user, folder, data, len, NULL, 0, TRUE, uid_r, error);
}

gboolean
ms_store_has_unsynced (MsStore *store)
{
  g_return_val_if_fail (store != NULL, FALSE);
  return g_hash_table_size (store->unsynced_dirs) > 0;
}

gboolean
ms_store_sync (MsStore  *store,
               GError  **error)
{
  GHashTableIter iter;
  gpointer dir;
  gboolean ok = TRUE;

  g_return_val_if_fail (store != NULL, FALSE);

  g_hash_table_iter_init (&iter, store->unsynced_dirs);
  while (g_hash_table_iter_next (&iter, &dir, NULL))
    {
      if (ok && !fsync_dir (dir))
        ok = set_errno_error (error, errno, "Cannot sync %s", (const char *) dir);
      g_hash_table_iter_remove (&iter);
    }
  return ok;
}

GPtrArray *
ms_store_list_with_status (MsStore    *store,
                           const char *user,
                           const char *folder,
                           guint32    *uidvalidity_r,
                           guint32    *uidnext_r,
                           GError    **error)
{
  g_autofree char *canonical = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  GPtrArray *messages;
  Folder *index;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_user (user, error) || (canonical = check_folder (folder, error)) == NULL)
    return NULL;
  index = get_folder_rescanned (store, user, canonical, error);
  if (index == NULL)
    return NULL;
  if (uidvalidity_r != NULL)
    *uidvalidity_r = index->uidvalidity;
  if (uidnext_r != NULL)
    *uidnext_r = index->uidnext;

  entries = folder_sorted_entries (index);
  messages = g_ptr_array_new_full (entries->len, (GDestroyNotify) ms_store_message_free);
  for (guint i = 0; i < entries->len; i++)
    g_ptr_array_add (messages, message_from_entry (g_ptr_array_index (entries, i)));
  return messages;
}

guint32
ms_store_flag_bits (const char *letters)
{
  guint32 bits = 0;

  for (const char *p = letters; *p != '\0'; p++)
    if (*p >= 'A' && *p <= 'Z')
      bits |= MS_STORE_FLAG_BIT (*p);
  return bits;
}

GArray *
ms_store_list_flags (MsStore    *store,
                     const char *user,
                     const char *folder,
                     guint32    *uidvalidity_r,
                     guint32    *uidnext_r,
                     GError    **error)
{
  g_autofree char *canonical = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  GArray *messages;
  Folder *index;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_user (user, error) || (canonical = check_folder (folder, error)) == NULL)
    return NULL;
  index = get_folder_rescanned (store, user, canonical, error);
  if (index == NULL)
    return NULL;
  if (uidvalidity_r != NULL)
    *uidvalidity_r = index->uidvalidity;
  if (uidnext_r != NULL)
    *uidnext_r = index->uidnext;

  entries = folder_sorted_entries (index);
  messages = g_array_sized_new (FALSE, FALSE, sizeof (MsStoreMessageFlags), entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *entry = g_ptr_array_index (entries, i);
      MsStoreMessageFlags message = { entry->uid, ms_store_flag_bits (entry->flags) };

      g_array_append_val (messages, message);
    }
  return messages;
}

GPtrArray *
ms_store_list (MsStore    *store,
               const char *user,
               const char *folder,
               GError    **error)
{
  return ms_store_list_with_status (store, user, folder, NULL, NULL, error);
}

/* Common start of the per-message calls: names checked, folder loaded. */
static Folder *
open_folder_full (MsStore    *store,
                  const char *user,
                  const char *folder,
                  gboolean    reading,
                  GError    **error)
{
  g_autofree char *canonical = NULL;

  if (!check_user (user, error) || (canonical = check_folder (folder, error)) == NULL)
    return NULL;
  return get_folder_full (store, user, canonical, reading, NULL, error);
}

static Folder *
open_folder (MsStore    *store,
             const char *user,
             const char *folder,
             GError    **error)
{
  return open_folder_full (store, user, folder, FALSE, error);
}

/* For calls that only read a message or its summary. */
static Folder *
open_folder_for_reading (MsStore    *store,
                         const char *user,
                         const char *folder,
                         GError    **error)
{
  return open_folder_full (store, user, folder, TRUE, error);
}

MsStoreMessage *
ms_store_get_message (MsStore    *store,
                      const char *user,
                      const char *folder,
                      guint32     uid,
                      GError    **error)
{
  Folder *index;
  Entry *entry;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  index = open_folder_for_reading (store, user, folder, error);
  if (index == NULL)
    return NULL;
  entry = find_entry (store, index, uid, FALSE, error);
  if (entry == NULL)
    return NULL;
  if (!stat_entry (index, entry))
    {
      /* Moved or removed by another program: look again. */
      entry = find_entry (store, index, uid, TRUE, error);
      if (entry == NULL)
        return NULL;
    }
  return message_from_entry (entry);
}

/* The first `max` bytes of a message's file. */
static GBytes *
read_message (MsStore    *store,
              const char *user,
              const char *folder,
              guint32     uid,
              gsize       max,
              GError    **error)
{
  Folder *index;

  index = open_folder_for_reading (store, user, folder, error);
  if (index == NULL)
    return NULL;

  for (guint attempt = 0; attempt < 2; attempt++)
    {
      g_autofree char *path = NULL;
      guint8 *data;
      gsize len = 0;
      Entry *entry;

      entry = find_entry (store, index, uid, attempt > 0, error);
      if (entry == NULL)
        return NULL;
      path = entry_path (index, entry);
      data = read_file_bounded (path, max, &len);
      if (data != NULL)
        return g_bytes_new_take (data, len);
      if (errno != ENOENT || attempt > 0)
        {
          set_errno_error (error, errno, "Cannot read %s", path);
          return NULL;
        }
    }
  g_assert_not_reached ();
}

GBytes *
ms_store_read (MsStore    *store,
               const char *user,
               const char *folder,
               guint32     uid,
               GError    **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return read_message (store, user, folder, uid, G_MAXSIZE - 1, error);
}

GBytes *
ms_store_read_header (MsStore    *store,
                      const char *user,
                      const char *folder,
                      guint32     uid,
                      gsize       max,
                      GError    **error)
{
  g_autoptr(GBytes) prefix = NULL;
  gsize len;
  const guint8 *data;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  prefix = read_message (store, user, folder, uid, max, error);
  if (prefix == NULL)
    return NULL;
  data = g_bytes_get_data (prefix, &len);
  return g_bytes_new_from_bytes (prefix, 0, ms_message_header_length (data, len));
}

gboolean
ms_store_get_summary (MsStore    *store,
                      const char *user,
                      const char *folder,
                      guint32     uid,
                      char      **subject_r,
                      char      **from_r,
                      GError    **error)
{
  Folder *index;
  Entry *entry;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (subject_r != NULL)
    *subject_r = NULL;
  if (from_r != NULL)
    *from_r = NULL;
  index = open_folder_for_reading (store, user, folder, error);
  if (index == NULL || (entry = find_entry (store, index, uid, FALSE, error)) == NULL)
    return FALSE;
  ensure_summary (index, entry);
  if (subject_r != NULL)
    *subject_r = g_strdup (entry->subject);
  if (from_r != NULL)
    *from_r = g_strdup (entry->from);
  return TRUE;
}

gboolean
ms_store_set_flags (MsStore    *store,
                    const char *user,
                    const char *folder,
                    guint32     uid,
                    const char *flags,
                    GError    **error)
{
  g_autofree char *normal_flags = NULL;
  Folder *index;
  Entry *entry = NULL;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (flags != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if ((normal_flags = normalize_flags (flags, error)) == NULL)
    return FALSE;
  index = open_folder (store, user, folder, error);
  if (index == NULL)
    return FALSE;

  for (guint attempt = 0; attempt < 2; attempt++)
    {
      g_autofree char *filename = NULL;
      g_autofree char *old_path = NULL;
      g_autofree char *new_path = NULL;

      entry = find_entry (store, index, uid, attempt > 0, error);
      if (entry == NULL)
        return FALSE;
      filename = message_file_name (entry->base, normal_flags);
      if (g_str_equal (filename, entry->filename))
        return TRUE;    /* no change, no event */

      /* Not fsynced: see the header. */
      old_path = entry_path (index, entry);
      new_path = g_build_filename (index->path, filename, NULL);
      if (rename (old_path, new_path) == 0)
        {
          g_free (entry->filename);
          entry->filename = g_steal_pointer (&filename);
          g_free (entry->flags);
          entry->flags = g_strdup (normal_flags);
          break;
        }
      if (errno != ENOENT || attempt > 0)
        return set_errno_error (error, errno, "Cannot rename %s", old_path);
    }

  notify_change (store, index->user, index->name);
  if (ms_trace_bus_is_active (store->bus))
    {
      MsEvent *event = store_event_new (store, "flag", index->user, index->name);

      ensure_summary (index, entry);
      store_event_set_message (event, entry);
      ms_trace_bus_emit (store->bus, event);
    }
  return TRUE;
}

gboolean
ms_store_expunge (MsStore    *store,
                  const char *user,
                  const char *folder,
                  guint32     uid,
                  GError    **error)
{
  g_autofree char *line = NULL;
  MsEvent *event = NULL;
  Folder *index;
  Entry *entry = NULL;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  index = open_folder (store, user, folder, error);
  if (index == NULL)
    return FALSE;

  for (guint attempt = 0; attempt < 2; attempt++)
    {
      g_autofree char *path = NULL;

      entry = find_entry (store, index, uid, attempt > 0, error);
      if (entry == NULL)
        return FALSE;
      path = entry_path (index, entry);
      if (ms_trace_bus_is_active (store->bus))
        ensure_summary (index, entry);  /* while the file is still there */
      if (g_unlink (path) == 0)
        break;
      if (errno != ENOENT || attempt > 0)
        return set_errno_error (error, errno, "Cannot remove %s", path);
    }

  if (ms_trace_bus_is_active (store->bus))
    {
      event = store_event_new (store, "expunge", index->user, index->name);
      ensure_summary (index, entry);
      store_event_set_message (event, entry);
    }

  /* Synced, and with it the delivery lines before it: a removed message's
   * UID must never come back for another one (RFC 3501 §2.3.1.1). */
  line = g_strdup_printf ("-%u\n", uid);
  index->stale_lines += 2;
  folder_remove_entry (index, entry);
  if (!folder_append_list (index, line, strlen (line), TRUE, error))
    {
      g_clear_pointer (&event, ms_event_unref);
      return FALSE;
    }
  folder_maybe_compact (store, index);
  notify_change (store, index->user, index->name);

  if (event != NULL)
    ms_trace_bus_emit (store->bus, event);
  return TRUE;
}

/* Copies by hard link where it can (messages are never changed in place, so
 * both folders can share the file), by reading and writing otherwise. */
static Entry *
copy_into (MsStore *self,
           Folder  *from,
           Entry   *source,
           Folder  *to,
           GError **error)
{
  g_autofree char *source_path = entry_path (from, source);
  g_autofree char *base = NULL;
  g_autofree char *filename = NULL;
  g_autofree char *path = NULL;
  g_autofree guint8 *data = NULL;
  const char *flags;
  gsize len = 0;
  int saved_errno;

  /* A message not yet seen (in new/) stays new in the copy too. */
  flags = g_str_has_prefix (source->filename, "new" G_DIR_SEPARATOR_S) ? NULL : source->flags;
  for (guint attempt = 0; attempt < 100; attempt++)
    {
      g_free (base);
      g_free (filename);
      g_free (path);
      base = new_unique_name (self);
      filename = message_file_name (base, flags);
      path = g_build_filename (to->path, filename, NULL);
      if (link (source_path, path) == 0)
        return commit_new_message (to, g_steal_pointer (&base), g_steal_pointer (&filename),
                                   g_strdup (flags != NULL ? flags : ""),
                                   source->size, source->mtime, NULL, error);
      if (errno != EEXIST)
        break;
    }
  saved_errno = errno;
  if (saved_errno == ENOENT)
    {
      set_errno_error (error, saved_errno, "Cannot copy %s", source_path);
      return NULL;
    }

  data = read_file_bounded (source_path, G_MAXSIZE - 1, &len);
  if (data == NULL)
    {
      set_errno_error (error, errno, "Cannot read %s", source_path);
      return NULL;
    }
  return deliver_into (self, to, data, len, flags, source->mtime, FALSE, error);
}

gboolean
ms_store_copy (MsStore    *store,
               const char *user,
               const char *from_folder,
               guint32     uid,
               const char *to_folder,
               guint32    *new_uid_r,
               GError    **error)
{
  g_autofree char *from_name = NULL;
  g_autofree char *to_name = NULL;
  Folder *from;
  Folder *to;
  Entry *source = NULL;
  Entry *copy = NULL;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (new_uid_r != NULL)
    *new_uid_r = 0;
  if (!check_user (user, error)
      || (from_name = check_folder (from_folder, error)) == NULL
      || (to_name = check_folder (to_folder, error)) == NULL)
    return FALSE;

  /* Load the target first: loading it may evict the source from the cache,
   * but not the other way round once both are in (the cache holds more
   * than two). */
  if (get_folder (store, user, to_name, NULL, error) == NULL
      || (from = get_folder (store, user, from_name, NULL, error)) == NULL
      || (to = get_folder (store, user, to_name, NULL, error)) == NULL)
    return FALSE;

  for (guint attempt = 0; attempt < 2 && copy == NULL; attempt++)
    {
      g_autoptr(GError) local_error = NULL;

      source = find_entry (store, from, uid, attempt > 0, error);
      if (source == NULL)
        return FALSE;
      copy = copy_into (store, from, source, to, &local_error);
      if (copy == NULL
          && (attempt > 0 || !g_error_matches (local_error, MS_STORE_ERROR,
                                               MS_STORE_ERROR_NOT_FOUND)))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  if (new_uid_r != NULL)
    *new_uid_r = copy->uid;
  notify_change (store, user, to->name);

  if (ms_trace_bus_is_active (store->bus))
    {
      MsEvent *event = store_event_new (store, "copy", user, from->name);

      ensure_summary (from, source);
      copy->have_summary = TRUE;
      copy->subject = g_strdup (source->subject);
      copy->from = g_strdup (source->from);
      store_event_set_message (event, source);
      ms_event_set_string (event, "to-folder", to->name);
      ms_event_set_int (event, "new-uid", copy->uid);
      ms_trace_bus_emit (store->bus, event);
    }
  return TRUE;
}

/* ---- folders ---- */

static gboolean
folder_exists (MsStore    *self,
               const char *user,
               const char *canonical)
{
  g_autofree char *path = folder_path (self, user, canonical);
  g_autofree char *cur = g_build_filename (path, "cur", NULL);

  return is_dir (cur);
}

static gboolean
check_user_exists (MsStore    *self,
                   const char *user,
                   GError    **error)
{
  if (!check_user (user, error))
    return FALSE;
  if (ms_store_user_exists (self, user))
    return TRUE;
  g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND, "No user %s", user);
  return FALSE;
}

/* Creates the missing parents of `canonical` (RFC 3501 section 6.3.3: the
 * server SHOULD create superior names), emitting create-folder for each. */
static gboolean
create_parents (MsStore    *self,
                const char *user,
                const char *canonical,
                GError    **error)
{
  g_autoptr(GString) parent = g_string_new (NULL);
  g_auto(GStrv) components = g_strsplit (canonical, "/", 0);
  guint n = g_strv_length (components);

  for (guint i = 0; i + 1 < n; i++)
    {
      g_autofree char *path = NULL;

      if (i > 0)
        g_string_append_c (parent, '/');
      g_string_append (parent, components[i]);
      if (is_inbox (parent->str) || folder_exists (self, user, parent->str))
        continue;
      path = folder_path (self, user, parent->str);
      if (!make_maildir (path, TRUE, error))
        return FALSE;
      emit_folder_event (self, "create-folder", user, parent->str, NULL);
    }
  return TRUE;
}

gboolean
ms_store_create_folder (MsStore    *store,
                        const char *user,
                        const char *folder,
                        GError    **error)
{
  g_autofree char *canonical = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_user_exists (store, user, error)
      || (canonical = check_folder (folder, error)) == NULL)
    return FALSE;
  if (is_inbox (canonical) || folder_exists (store, user, canonical))
    {
      g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_EXISTS,
                   "Folder %s exists", canonical);
      return FALSE;
    }

  if (!create_parents (store, user, canonical, error))
    return FALSE;
  path = folder_path (store, user, canonical);
  if (!make_maildir (path, TRUE, error))
    return FALSE;
  dir = user_path (store, user);
  if (!fsync_dir (dir))
    return set_errno_error (error, errno, "Cannot sync %s", dir);
  emit_folder_event (store, "create-folder", user, canonical, NULL);
  return TRUE;
}

/* The user's folders other than INBOX, canonical and sorted. */
static GPtrArray *
list_subfolders (MsStore    *self,
                 const char *user,
                 GError    **error)
{
  g_autofree char *dir_path = user_path (self, user);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  struct dirent *dent;
  DIR *dir;

  dir = opendir (dir_path);
  if (dir == NULL)
    {
      set_errno_error (error, errno, "Cannot read %s", dir_path);
      return NULL;
    }
  while ((dent = readdir (dir)) != NULL)
    {
      g_autofree char *name = folder_name_from_dir_entry (dent->d_name);

      if (name != NULL && !is_inbox (name) && folder_exists (self, user, name))
        g_ptr_array_add (names, g_steal_pointer (&name));
    }
  closedir (dir);
  g_ptr_array_sort (names, compare_strings);
  return g_steal_pointer (&names);
}

GPtrArray *
ms_store_list_folders (MsStore    *store,
                       const char *user,
                       GError    **error)
{
  GPtrArray *names;

  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_user_exists (store, user, error))
    return NULL;
  names = list_subfolders (store, user, error);
  if (names != NULL)
    g_ptr_array_insert (names, 0, g_strdup ("INBOX"));
  return names;
}

gboolean
ms_store_rename_folder (MsStore    *store,
                        const char *user,
                        const char *folder,
                        const char *new_name,
                        GError    **error)
{
  g_autofree char *old_canonical = NULL;
  g_autofree char *new_canonical = NULL;
  g_autofree char *old_prefix = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(GPtrArray) moving = g_ptr_array_new ();  /* borrowed from `all` */
  gsize old_len;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_user_exists (store, user, error)
      || (old_canonical = check_folder (folder, error)) == NULL
      || (new_canonical = check_folder (new_name, error)) == NULL)
    return FALSE;

  old_len = strlen (old_canonical);
  old_prefix = g_strconcat (old_canonical, "/", NULL);
  /* RFC 3501 section 6.3.5 gives renaming INBOX a meaning of its own (move
   * its messages); that belongs in the IMAP engine, not here. */
  if (is_inbox (old_canonical))
    {
      g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME,
                   "INBOX cannot be renamed");
      return FALSE;
    }
  if (g_str_equal (new_canonical, old_canonical) || g_str_has_prefix (new_canonical, old_prefix))
    {
      g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME,
                   "A folder cannot move into itself");
      return FALSE;
    }
  if (!folder_exists (store, user, old_canonical))
    {
      g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND,
                   "No folder %s", old_canonical);
      return FALSE;
    }

  all = list_subfolders (store, user, error);
  if (all == NULL)
    return FALSE;
  for (guint i = 0; i < all->len; i++)
    {
      const char *name = g_ptr_array_index (all, i);

      if (g_str_equal (name, old_canonical) || g_str_has_prefix (name, old_prefix))
        g_ptr_array_add (moving, (gpointer) name);
    }

  /* Check every target first, so that the rename does all or nothing
   * (short of a crash half-way, which leaves each folder whole under one
   * name or the other). */
  for (guint i = 0; i < moving->len; i++)
    {
      const char *name = g_ptr_array_index (moving, i);
      g_autofree char *target = g_strconcat (new_canonical, name + old_len, NULL);
      g_autofree char *target_path = NULL;

      if (strlen (target) > MAX_FOLDER_NAME)
        {
          g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME,
                       "Folder name %s is too long", target);
          return FALSE;
        }
      target_path = folder_path (store, user, target);
      if (is_inbox (target) || g_file_test (target_path, G_FILE_TEST_EXISTS))
        {
          g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_EXISTS,
                       "Folder %s exists", target);
          return FALSE;
        }
    }

  if (!create_parents (store, user, new_canonical, error))
    return FALSE;

  cache_drop_user (store, user);
  for (guint i = 0; i < moving->len; i++)
    {
      const char *name = g_ptr_array_index (moving, i);
      g_autofree char *target = g_strconcat (new_canonical, name + old_len, NULL);
      g_autofree char *from_path = folder_path (store, user, name);
      g_autofree char *to_path = folder_path (store, user, target);

      if (rename (from_path, to_path) < 0)
        return set_errno_error (error, errno, "Cannot rename %s", from_path);
      emit_folder_event (store, "rename-folder", user, name, target);
    }

  dir = user_path (store, user);
  if (!fsync_dir (dir))
    return set_errno_error (error, errno, "Cannot sync %s", dir);
  return TRUE;
}

gboolean
ms_store_delete_folder (MsStore    *store,
                        const char *user,
                        const char *folder,
                        GError    **error)
{
  g_autofree char *canonical = NULL;
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *trash_name = NULL;
  g_autofree char *trash_path = NULL;
  g_autofree char *unique = NULL;
  int dir_fd;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_user_exists (store, user, error)
      || (canonical = check_folder (folder, error)) == NULL)
    return FALSE;
  if (is_inbox (canonical))
    {
      g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME,
                   "INBOX cannot be deleted");
      return FALSE;
    }
  if (!folder_exists (store, user, canonical))
    {
      g_set_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND,
                   "No folder %s", canonical);
      return FALSE;
    }

  cache_drop_user (store, user);

  /* Renamed out of sight first, so the folder disappears at once and whole
   * even if removing its files fails or a crash interrupts it. */
  dir = user_path (store, user);
  path = folder_path (store, user, canonical);
  unique = new_unique_name (store);
  trash_name = g_strconcat (TRASH_PREFIX, unique, NULL);
  trash_path = g_build_filename (dir, trash_name, NULL);
  if (rename (path, trash_path) < 0)
    return set_errno_error (error, errno, "Cannot remove %s", path);
  if (!fsync_dir (dir))
    return set_errno_error (error, errno, "Cannot sync %s", dir);

  dir_fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || !remove_tree_at (dir_fd, trash_name, 0))
    g_warning ("Could not remove all of %s: %s", trash_path, g_strerror (errno));
  if (dir_fd >= 0)
    close (dir_fd);

  emit_folder_event (store, "delete-folder", user, canonical, NULL);
  return TRUE;
}

gboolean
ms_store_folder_status (MsStore    *store,
                        const char *user,
                        const char *folder,
                        guint32    *uidvalidity_r,
                        guint32    *uidnext_r,
                        guint      *count_r,
                        GError    **error)
{
  g_autofree char *canonical = NULL;
  Folder *index;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_user (user, error) || (canonical = check_folder (folder, error)) == NULL)
    return FALSE;
  index = get_folder_rescanned (store, user, canonical, error);
  if (index == NULL)
    return FALSE;
  if (uidvalidity_r != NULL)
    *uidvalidity_r = index->uidvalidity;
  if (uidnext_r != NULL)
    *uidnext_r = index->uidnext;
  if (count_r != NULL)
    *count_r = g_hash_table_size (index->by_uid);
  return TRUE;
}

/* ---- snapshot ---- */

/* Decoded header text is UTF-8 already (ms_message_summary()); this keeps a
 * damaged one from making the whole snapshot line invalid JSON. */
static void
snapshot_set_text (JsonObject *object,
                   const char *name,
                   const char *value)
{
  g_autofree char *valid = NULL;

  if (value == NULL)
    return;
  if (!g_utf8_validate (value, -1, NULL))
    value = valid = g_utf8_make_valid (value, -1);
  json_object_set_string_member (object, name, value);
}

/* A folder of a snapshot: its UID state and its messages in UID order,
 * each with the members a `store` deliver event has. */
static JsonObject *
snapshot_folder (MsStore    *self,
                 const char *user,
                 const char *canonical,
                 gboolean    subscribed,
                 gint64     *count_r,
                 GError    **error)
{
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(JsonArray) messages = NULL;
  JsonObject *object;
  Folder *folder = get_folder_rescanned (self, user, canonical, error);

  if (folder == NULL)
    return NULL;
  entries = folder_sorted_entries (folder);
  messages = json_array_sized_new (entries->len);
  for (guint i = 0; i < entries->len; i++)
    {
      Entry *entry = g_ptr_array_index (entries, i);
      JsonObject *message = json_object_new ();

      ensure_summary (folder, entry);
      json_object_set_int_member (message, "uid", entry->uid);
      json_object_set_string_member (message, "flags", entry->flags);
      json_object_set_int_member (message, "size", (gint64) entry->size);
      snapshot_set_text (message, "subject", entry->subject);
      snapshot_set_text (message, "from", entry->from);
      json_array_add_object_element (messages, message);
    }
  *count_r += entries->len;

  object = json_object_new ();
  json_object_set_string_member (object, "folder", canonical);
  json_object_set_int_member (object, "uidvalidity", folder->uidvalidity);
  json_object_set_int_member (object, "uidnext", folder->uidnext);
  json_object_set_boolean_member (object, "subscribed", subscribed);
  json_object_set_array_member (object, "messages", g_steal_pointer (&messages));
  return object;
}

static JsonObject *
snapshot_user (MsStore    *self,
               const char *user,
               gint64     *count_r,
               GError    **error)
{
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GPtrArray) subscriptions = NULL;
  g_autoptr(JsonArray) folders = NULL;
  JsonObject *object;

  names = ms_store_list_folders (self, user, error);
  if (names == NULL)
    return NULL;
  subscriptions = ms_store_list_subscriptions (self, user, error);
  if (subscriptions == NULL)
    return NULL;
  folders = json_array_sized_new (names->len);
  for (guint i = 0; i < names->len; i++)
    {
      const char *name = g_ptr_array_index (names, i);
      gboolean subscribed = g_ptr_array_find_with_equal_func (subscriptions, name,
                                                              g_str_equal, NULL);
      JsonObject *folder = snapshot_folder (self, user, name, subscribed, count_r, error);

      if (folder == NULL)
        return NULL;
      json_array_add_object_element (folders, folder);
    }

  object = json_object_new ();
  json_object_set_string_member (object, "user", user);
  json_object_set_array_member (object, "folders", g_steal_pointer (&folders));
  return object;
}

gboolean
ms_store_emit_snapshot (MsStore  *store,
                        GError  **error)
{
  g_autoptr(GPtrArray) users = NULL;
  g_autoptr(JsonArray) user_array = NULL;
  MsEvent *event;
  gint64 count = 0;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* Reading every folder (and every message's header) is the cost of a
   * snapshot: skip it when nobody listens. */
  if (!ms_trace_bus_is_active (store->bus))
    return TRUE;

  users = ms_store_list_users (store);
  user_array = json_array_sized_new (users->len);
  for (guint i = 0; i < users->len; i++)
    {
      JsonObject *user = snapshot_user (store, g_ptr_array_index (users, i), &count, error);

      /* Half a snapshot would tell a reader that the rest is gone. */
      if (user == NULL)
        return FALSE;
      json_array_add_object_element (user_array, user);
    }

  event = ms_event_new (MS_EVENT_SNAPSHOT, store->server_name);
  ms_event_set_int (event, "messages", count);
  ms_event_set_array (event, "users", g_steal_pointer (&user_array));
  ms_trace_bus_emit (store->bus, event);
  return TRUE;
}

/* ---- change notification ---- */

void
ms_store_set_change_func (MsStore          *store,
                          MsStoreChangeFunc func,
                          gpointer          user_data)
{
  g_return_if_fail (store != NULL);

  store->change_func = func;
  store->change_data = user_data;
}

/* ---- subscriptions ---- */

static GPtrArray *
read_subscriptions (MsStore    *self,
                    const char *user,
                    GError    **error)
{
  g_autofree char *dir = user_path (self, user);
  g_autofree char *path = g_build_filename (dir, SUBSCRIPTIONS_NAME, NULL);
  g_autofree guint8 *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  gsize len = 0;

  contents = read_file_bounded (path, MAX_SUBSCRIPTIONS_FILE, &len);
  if (contents == NULL)
    {
      if (errno != ENOENT)
        {
          g_ptr_array_unref (names);
          set_errno_error (error, errno, "Cannot read %s", path);
          return NULL;
        }
      return names;
    }
  lines = g_strsplit ((const char *) contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      /* A line edited by hand to something invalid is skipped, not obeyed. */
      char *canonical = canonical_folder_name (lines[i]);

      if (canonical != NULL && !g_ptr_array_find_with_equal_func (names, canonical,
                                                                 g_str_equal, NULL))
        g_ptr_array_add (names, canonical);
      else
        g_free (canonical);
    }
  g_ptr_array_sort (names, compare_strings);
  return names;
}

GPtrArray *
ms_store_list_subscriptions (MsStore    *store,
                             const char *user,
                             GError    **error)
{
  g_return_val_if_fail (store != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_user_exists (store, user, error))
    return NULL;
  return read_subscriptions (store, user, error);
}

gboolean
ms_store_set_subscribed (MsStore    *store,
                         const char *user,
                         const char *folder,
                         gboolean    subscribed,
                         GError    **error)
{
  g_autofree char *canonical = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GString) contents = g_string_new (NULL);
  guint index;
  gboolean present;

  g_return_val_if_fail (store != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_user_exists (store, user, error)
      || (canonical = check_folder (folder, error)) == NULL)
    return FALSE;
  names = read_subscriptions (store, user, error);
  if (names == NULL)
    return FALSE;
  present = g_ptr_array_find_with_equal_func (names, canonical, g_str_equal, &index);
  if (present == subscribed)
    return TRUE;
  if (subscribed)
    g_ptr_array_add (names, g_steal_pointer (&canonical));
  else
    g_ptr_array_remove_index (names, index);
  g_ptr_array_sort (names, compare_strings);
  for (guint i = 0; i < names->len; i++)
    g_string_append_printf (contents, "%s\n", (const char *) g_ptr_array_index (names, i));
  dir = user_path (store, user);
  return write_file_atomically (store, dir, SUBSCRIPTIONS_NAME, contents->str, contents->len,
                                error);
}
