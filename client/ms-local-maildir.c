/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-local-maildir"

#include "config.h"

/* O_CLOEXEC, O_DIRECTORY, fsync() and link() are POSIX 2008, hidden by
 * -std=c17 unless asked for. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "ms-local-maildir.h"

/* The state file is small; refuse anything absurd rather than read it all. */
#define STATE_FILE_MAX (64 * 1024 * 1024)
#define STATE_FILE_HEADER \
  "# mailscope-client: POP3 messages already downloaded into this Maildir.\n" \
  "# One line per message: ACCOUNT UIDL (RFC 1939 §7), ACCOUNT = user@host:port.\n"

struct _MsLocalMaildir {
  char *path;
  char *hostname;   /* for unique names, with '/' and ':' escaped */
  guint deliveries; /* the Q<n> part of unique names */
};

static gboolean
make_dir (const char *path,
          GError **error)
{
  if (g_mkdir (path, 0700) == 0 || errno == EEXIST)
    {
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        return TRUE;
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, "%s is not a directory", path);
      return FALSE;
    }
  {
    int saved = errno;
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot create %s: %s",
                 path, g_strerror (saved));
  }
  return FALSE;
}

/* fsync on the directory makes a rename or a new name inside it durable. */
static gboolean
sync_dir (const char *path,
          GError **error)
{
  int fd = open (path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int saved;

  if (fd < 0)
    goto fail;
  if (fsync (fd) != 0)
    {
      saved = errno;
      close (fd);
      errno = saved;
      goto fail;
    }
  close (fd);
  return TRUE;

fail:
  saved = errno;
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot sync %s: %s",
               path, g_strerror (saved));
  return FALSE;
}

MsLocalMaildir *
ms_local_maildir_open (const char *path,
                       GError **error)
{
  g_autoptr(MsLocalMaildir) maildir = NULL;
  g_autoptr(GString) hostname = NULL;
  static const char * const subdirs[] = { "tmp", "new", "cur" };

  g_return_val_if_fail (path != NULL && path[0] != '\0', NULL);

  if (!make_dir (path, error))
    return NULL;
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *sub = g_build_filename (path, subdirs[i], NULL);

      if (!make_dir (sub, error))
        return NULL;
    }

  /* Maildir's unique names: '/' and ':' in the host name are written as
   * \057 and \072, since ':' starts the flags part. */
  hostname = g_string_new (g_get_host_name ());
  g_string_replace (hostname, "/", "\\057", 0);
  g_string_replace (hostname, ":", "\\072", 0);

  maildir = g_new0 (MsLocalMaildir, 1);
  maildir->path = g_strdup (path);
  maildir->hostname = g_string_free (g_steal_pointer (&hostname), FALSE);
  return g_steal_pointer (&maildir);
}

void
ms_local_maildir_free (MsLocalMaildir *maildir)
{
  if (maildir == NULL)
    return;
  g_free (maildir->path);
  g_free (maildir->hostname);
  g_free (maildir);
}

const char *
ms_local_maildir_get_path (MsLocalMaildir *maildir)
{
  g_return_val_if_fail (maildir != NULL, NULL);
  return maildir->path;
}

static gboolean
write_all (int fd,
           const char *data,
           gsize len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, data, len);

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

/* CRLF -> LF; a lone CR stays. */
static GString *
to_local_line_ends (GBytes *message)
{
  gsize len = 0;
  const char *data = g_bytes_get_data (message, &len);
  GString *local = g_string_sized_new (len + 1);

  for (gsize i = 0; i < len; i++)
    {
      if (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')
        continue;
      g_string_append_c (local, data[i]);
    }
  return local;
}

char *
ms_local_maildir_deliver (MsLocalMaildir *maildir,
                          GBytes *message,
                          guint64 *size_r,
                          GError **error)
{
  g_autoptr(GString) local = NULL;
  g_autofree char *name = NULL;
  g_autofree char *tmp_path = NULL;
  g_autofree char *new_path = NULL;
  g_autofree char *new_dir = NULL;
  gint64 now;
  int fd = -1;
  int saved;

  g_return_val_if_fail (maildir != NULL, NULL);
  g_return_val_if_fail (message != NULL, NULL);

  local = to_local_line_ends (message);

  /* A unique name (the Maildir convention): seconds, then M<microseconds>
   * P<pid> Q<deliveries by this process>, then the host. O_EXCL makes
   * sure we never write into someone else's file; a clash just retries. */
  for (guint attempt = 0; fd < 0; attempt++)
    {
      now = g_get_real_time ();
      g_free (name);
      g_free (tmp_path);
      name = g_strdup_printf ("%" G_GINT64_FORMAT ".M%06dP%dQ%u.%s",
                              now / G_USEC_PER_SEC, (int) (now % G_USEC_PER_SEC), (int) getpid (),
                              ++maildir->deliveries, maildir->hostname);
      tmp_path = g_build_filename (maildir->path, "tmp", name, NULL);
      fd = open (tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0 && (errno != EEXIST || attempt >= 10))
        {
          saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot create %s: %s",
                       tmp_path, g_strerror (saved));
          return NULL;
        }
    }

  if (!write_all (fd, local->str, local->len) || fsync (fd) != 0)
    {
      saved = errno;
      close (fd);
      g_unlink (tmp_path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot write %s: %s",
                   tmp_path, g_strerror (saved));
      return NULL;
    }
  if (close (fd) != 0)
    {
      saved = errno;
      g_unlink (tmp_path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot write %s: %s",
                   tmp_path, g_strerror (saved));
      return NULL;
    }

  /* link() rather than rename(): it never replaces an existing file. */
  new_dir = g_build_filename (maildir->path, "new", NULL);
  new_path = g_build_filename (new_dir, name, NULL);
  if (link (tmp_path, new_path) == 0)
    g_unlink (tmp_path);
  else if (errno != EEXIST && g_rename (tmp_path, new_path) == 0)
    ; /* a file system without hard links */
  else
    {
      saved = errno;
      g_unlink (tmp_path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), "cannot move %s into new/: %s",
                   name, g_strerror (saved));
      return NULL;
    }
  if (!sync_dir (new_dir, error))
    {
      /* The file is there, but not durably: say so, and let the caller not
       * delete the message on the server. */
      return NULL;
    }

  if (size_r != NULL)
    *size_r = local->len;
  return g_steal_pointer (&name);
}

/* --- the state file -------------------------------------------------- */

char *
ms_local_maildir_account_key (const char *user,
                              const char *host,
                              guint16 port)
{
  g_autofree char *escaped_user = NULL;
  g_autofree char *escaped_host = NULL;

  g_return_val_if_fail (user != NULL && host != NULL, NULL);

  /* No spaces (the field separator), '@' or ':' (the key's own syntax). */
  escaped_user = g_uri_escape_string (user, "!$&'()*+,;=-._~", FALSE);
  escaped_host = g_uri_escape_string (host, "-._~", FALSE);
  return g_strdup_printf ("%s@%s:%u", escaped_user, escaped_host, port);
}

static char *
state_path (MsLocalMaildir *maildir)
{
  return g_build_filename (maildir->path, MS_LOCAL_MAILDIR_STATE_FILE, NULL);
}

/* Reads the state file; NULL contents (and TRUE) when there is none. */
static gboolean
read_state (MsLocalMaildir *maildir,
            char **contents_r,
            GError **error)
{
  g_autofree char *path = state_path (maildir);
  g_autoptr(GError) local_error = NULL;
  gsize len = 0;
  GStatBuf st;

  *contents_r = NULL;
  if (g_stat (path, &st) == 0 && st.st_size > STATE_FILE_MAX)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s is larger than %d octets", path,
                   STATE_FILE_MAX);
      return FALSE;
    }
  if (!g_file_get_contents (path, contents_r, &len, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

GHashTable *
ms_local_maildir_load_uids (MsLocalMaildir *maildir,
                            const char *account,
                            GError **error)
{
  g_autoptr(GHashTable) uids = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  gsize account_len;

  g_return_val_if_fail (maildir != NULL, NULL);
  g_return_val_if_fail (account != NULL, NULL);

  if (!read_state (maildir, &contents, error))
    return NULL;
  if (contents == NULL)
    return g_steal_pointer (&uids);

  account_len = strlen (account);
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (strncmp (line, account, account_len) == 0 && line[account_len] == ' ' &&
          line[account_len + 1] != '\0')
        g_hash_table_add (uids, g_strdup (line + account_len + 1));
    }
  return g_steal_pointer (&uids);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

gboolean
ms_local_maildir_save_uids (MsLocalMaildir *maildir,
                            const char *account,
                            GHashTable *uids,
                            GError **error)
{
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GString) text = g_string_new (STATE_FILE_HEADER);
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  gsize account_len;
  GHashTableIter iter;
  gpointer key;

  g_return_val_if_fail (maildir != NULL, FALSE);
  g_return_val_if_fail (account != NULL, FALSE);
  g_return_val_if_fail (uids != NULL, FALSE);

  if (!read_state (maildir, &contents, error))
    return FALSE;

  /* Other accounts' lines, as they were. */
  account_len = strlen (account);
  if (contents != NULL)
    {
      g_auto(GStrv) lines = g_strsplit (contents, "\n", -1);

      for (guint i = 0; lines[i] != NULL; i++)
        {
          const char *line = lines[i];

          if (line[0] == '\0' || line[0] == '#' ||
              (strncmp (line, account, account_len) == 0 && line[account_len] == ' '))
            continue;
          g_string_append_printf (text, "%s\n", line);
        }
    }

  /* Sorted, so the file reads well and diffs well. */
  g_hash_table_iter_init (&iter, uids);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (sorted, key);
  g_ptr_array_sort (sorted, compare_strings);
  for (guint i = 0; i < sorted->len; i++)
    g_string_append_printf (text, "%s %s\n", account, (const char *) g_ptr_array_index (sorted, i));

  path = state_path (maildir);
  if (!g_file_set_contents_full (path, text->str, (gssize) text->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, error))
    return FALSE;
  return sync_dir (maildir->path, error);
}
