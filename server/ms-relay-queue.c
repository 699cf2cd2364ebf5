/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-relay"

#include "config.h"

/* O_CLOEXEC, O_DIRECTORY, O_NOFOLLOW and fsync() are POSIX 2008, hidden by
 * -std=c17 unless asked for. */
#define _POSIX_C_SOURCE 200809L

/* The outbound relay queue.
 *
 * On-disk format. The queue directory holds two files per entry, where an
 * entry is one message on its way to one destination domain:
 *
 *   <id>.msg  the message bytes, exactly as they will be sent (CRLF)
 *   <id>.env  the envelope and delivery state, a GKeyFile:
 *
 *     [entry]
 *     from=alice@alpha.test          reverse path; empty for the null path <>
 *     rcpt=bob@beta.test;dave@beta.test;   recipients still to deliver
 *     domain=beta.test               destination domain (lower case)
 *     attempts=1                     delivery attempts made so far
 *     next-attempt=1795000000        Unix time of the next attempt
 *     created=1794999995             Unix time the message was queued (Arrival-Date)
 *     last-error=451 4.3.0 Try later the last temporary failure (optional)
 *     remote-mta=mx.beta.test        host of the last attempt (optional)
 *
 * <id> is made of [0-9a-f-] only. Enqueue writes <id>.msg.tmp (write,
 * fsync), then <id>.env.tmp the same way, renames the .msg and then the .env
 * into place and fsyncs the directory: the .env is the commit record, so an
 * entry without one is incomplete and is removed at load, as is any *.tmp.
 * Updates to a .env go through <id>.env.tmp + fsync + rename. A finished
 * entry is removed .env first, then .msg, so a crash in between leaves an
 * incomplete entry, never a .env without its message. A .env that does not
 * parse is renamed to <id>.env.corrupt and left for a human.
 *
 * Delivery (RFC 5321 §4.5.4.1): an entry is tried at once, and after a
 * temporary failure again after retry_intervals[attempts - 1] seconds; the
 * attempt after the last interval is the last one. All recipients of an
 * entry go in one SMTP transaction. Failed recipients are returned to the
 * sender in one RFC 3464 report per attempt. */

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gmime/gmime.h>

#include "ms-event.h"
#include "ms-message.h"
#include "ms-relay-queue.h"
#include "ms-smtp-sender.h"

#define ENV_GROUP "entry"
/* How much of the original header goes into the text/rfc822-headers part
 * (RFC 3464 §2.1, RFC 6522 §3): enough for any real header, bounded so a
 * hostile message cannot make the bounce huge. */
#define MAX_RETURNED_HEADER (64 * 1024)
/* Longest diagnostic text we copy into a report field. */
#define MAX_DIAGNOSTIC 900

typedef struct {
  char *host;
  guint16 port;
} MsRelayRoute;

typedef struct _MsRelayAttempt MsRelayAttempt;

typedef struct {
  char *id;
  char *mail_from;
  GPtrArray *rcpt;            /* of char *: recipients not yet delivered or bounced */
  char *domain;
  guint attempts;
  gint64 next_attempt;        /* Unix seconds */
  gint64 created;             /* Unix seconds */
  char *last_error;           /* nullable */
  char *remote_mta;           /* nullable */
  MsRelayAttempt *attempt;    /* non-NULL while a delivery is in flight; borrowed */
} MsRelayEntry;

/* One delivery in flight. It outlives the queue when the queue is freed
 * while the sender is still running: then `queue` is NULL and the attempt
 * owns `entry`. */
struct _MsRelayAttempt {
  MsRelayQueue *queue;        /* borrowed; NULL once the queue is gone */
  MsRelayEntry *entry;        /* owned by the queue while `queue` is set */
  char *host;
  guint16 port;
};

/* A recipient that will not be delivered, for the report. */
typedef struct {
  char *rcpt;
  char *status;               /* RFC 3463 code */
  char *diagnostic;           /* the reply or our reason; nullable */
  char *explanation;          /* plain words for the text/plain part */
} MsRelayFailure;

struct _MsRelayQueue {
  char *queue_dir;
  char *hostname;
  char *server_name;
  MsTraceBus *bus;            /* nullable */
  guint *retry_intervals;
  guint n_retry_intervals;
  gboolean (*is_local_domain) (gpointer data, const char *domain);
  MsRelayDeliverLocalFunc deliver_local;
  gpointer local_data;        /* borrowed */

  GHashTable *routes;         /* lower-case domain -> MsRelayRoute */
  GPtrArray *entries;         /* of MsRelayEntry *, in arrival order; owned */
  guint n_in_flight;
  guint id_counter;

  GMainContext *context;
  GSource *timer;             /* wakes run_due(); NULL when nothing waits */
  GCancellable *cancellable;
};

static void schedule (MsRelayQueue *q);

/* ---- small helpers ---- */

static void
route_free (MsRelayRoute *route)
{
  g_free (route->host);
  g_free (route);
}

static void
entry_free (MsRelayEntry *entry)
{
  if (entry == NULL)
    return;
  g_free (entry->id);
  g_free (entry->mail_from);
  g_ptr_array_unref (entry->rcpt);
  g_free (entry->domain);
  g_free (entry->last_error);
  g_free (entry->remote_mta);
  g_free (entry);
}

static void
attempt_free (MsRelayAttempt *attempt)
{
  g_free (attempt->host);
  g_free (attempt);
}

static void
failure_free (MsRelayFailure *failure)
{
  g_free (failure->rcpt);
  g_free (failure->status);
  g_free (failure->diagnostic);
  g_free (failure->explanation);
  g_free (failure);
}

static MsRelayFailure *
failure_new (const char *rcpt,
             const char *status,
             const char *diagnostic,
             const char *explanation)
{
  MsRelayFailure *failure = g_new0 (MsRelayFailure, 1);

  failure->rcpt = g_strdup (rcpt);
  failure->status = g_strdup (status);
  failure->diagnostic = g_strdup (diagnostic);
  failure->explanation = g_strdup (explanation);
  return failure;
}

/* The lower-case domain of `address` (after the last '@'), or NULL. */
static char *
address_domain (const char *address)
{
  const char *at = strrchr (address, '@');

  if (at == NULL || at[1] == '\0')
    return NULL;
  return g_ascii_strdown (at + 1, -1);
}

/* A copy of `text` fit for one header field line: no controls, only
 * printable US-ASCII (RFC 3464 §2.1.2: the fields are 7-bit), at most
 * `max` bytes. Multi-line replies are joined with spaces. */
static char *
ascii_field (const char *text,
             gsize       max)
{
  GString *out = g_string_new (NULL);

  for (const char *p = text; p != NULL && *p != '\0' && out->len < max; p++)
    {
      guchar c = (guchar) *p;

      if (c == '\r')
        continue;
      if (c == '\n' || c == '\t')
        g_string_append_c (out, ' ');
      else if (c < 0x20 || c >= 0x7f)
        g_string_append_c (out, '?');
      else
        g_string_append_c (out, (char) c);
    }
  return g_string_free (out, FALSE);
}

/* "550 5.1.1 No such user" from the parts of an SMTP reply. */
static char *
format_reply (guint       code,
              const char *enhanced,
              const char *text)
{
  g_autofree char *joined = ascii_field (text != NULL ? text : "", MAX_DIAGNOSTIC);

  if (enhanced != NULL && *enhanced != '\0')
    return g_strdup_printf ("%u %s %s", code, enhanced, joined);
  return g_strdup_printf ("%u %s", code, joined);
}

/* The RFC 3463 status for a permanent failure: the server's enhanced code
 * when it gave one of class 5, else the generic 5.0.0. */
static const char *
permanent_status (const char *enhanced)
{
  if (enhanced != NULL && enhanced[0] == '5' && enhanced[1] == '.')
    return enhanced;
  return "5.0.0";
}

static char *
entry_path (MsRelayQueue *q,
            const char   *id,
            const char   *suffix)
{
  g_autofree char *name = g_strconcat (id, suffix, NULL);

  return g_build_filename (q->queue_dir, name, NULL);
}

static gint64
now_seconds (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* ---- trace ---- */

static JsonArray *
rcpt_to_json (GPtrArray *rcpt)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < rcpt->len; i++)
    json_array_add_string_element (array, g_ptr_array_index (rcpt, i));
  return array;
}

/* A new relay event with `step` and the entry's id, domain and from, or
 * NULL when nobody listens. */
static MsEvent *
relay_event_new (MsRelayQueue *q,
                 const char   *step,
                 MsRelayEntry *entry)
{
  MsEvent *event;

  if (!ms_trace_bus_is_active (q->bus))
    return NULL;

  event = ms_event_new (MS_EVENT_RELAY, q->server_name);
  ms_event_set_string (event, "step", step);
  if (entry != NULL)
    {
      ms_event_set_string (event, "id", entry->id);
      ms_event_set_string (event, "domain", entry->domain);
      ms_event_set_string (event, "from", entry->mail_from);
    }
  return event;
}

/* ---- durable files ---- */

static gboolean
set_errno_error (GError    **error,
                 int         saved_errno,
                 const char *what,
                 const char *path)
{
  g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
               "%s %s: %s", what, path, g_strerror (saved_errno));
  return FALSE;
}

/* Writes `path` with O_EXCL, fsyncs and closes it. */
static gboolean
write_file_synced (const char *path,
                   const char *data,
                   gsize       len,
                   GError    **error)
{
  int fd;

  fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0)
    return set_errno_error (error, errno, "Cannot create", path);

  while (len > 0)
    {
      gssize n = write (fd, data, len);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved_errno = n < 0 ? errno : EIO;

          close (fd);
          g_unlink (path);
          return set_errno_error (error, saved_errno, "Cannot write", path);
        }
      data += n;
      len -= (gsize) n;
    }

  if (fsync (fd) != 0)
    {
      int saved_errno = errno;

      close (fd);
      g_unlink (path);
      return set_errno_error (error, saved_errno, "Cannot sync", path);
    }
  if (close (fd) != 0)
    {
      int saved_errno = errno;

      g_unlink (path);
      return set_errno_error (error, saved_errno, "Cannot close", path);
    }
  return TRUE;
}

/* A rename is durable only once the directory holding it is synced. */
static gboolean
sync_dir (const char *dir,
          GError    **error)
{
  int fd = g_open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

  if (fd < 0)
    return set_errno_error (error, errno, "Cannot open", dir);
  if (fsync (fd) != 0)
    {
      int saved_errno = errno;

      close (fd);
      return set_errno_error (error, saved_errno, "Cannot sync", dir);
    }
  close (fd);
  return TRUE;
}

static char *
entry_to_keyfile_data (MsRelayEntry *entry,
                       gsize        *len_r)
{
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GPtrArray) rcpt = g_ptr_array_new ();

  for (guint i = 0; i < entry->rcpt->len; i++)
    g_ptr_array_add (rcpt, g_ptr_array_index (entry->rcpt, i));

  g_key_file_set_string (key_file, ENV_GROUP, "from", entry->mail_from);
  g_key_file_set_string_list (key_file, ENV_GROUP, "rcpt",
                              (const char * const *) rcpt->pdata, rcpt->len);
  g_key_file_set_string (key_file, ENV_GROUP, "domain", entry->domain);
  g_key_file_set_uint64 (key_file, ENV_GROUP, "attempts", entry->attempts);
  g_key_file_set_int64 (key_file, ENV_GROUP, "next-attempt", entry->next_attempt);
  g_key_file_set_int64 (key_file, ENV_GROUP, "created", entry->created);
  if (entry->last_error != NULL)
    g_key_file_set_string (key_file, ENV_GROUP, "last-error", entry->last_error);
  if (entry->remote_mta != NULL)
    g_key_file_set_string (key_file, ENV_GROUP, "remote-mta", entry->remote_mta);

  return g_key_file_to_data (key_file, len_r, NULL);
}

/* Replaces <id>.env atomically: tmp, fsync, rename, fsync the directory. */
static gboolean
save_env (MsRelayQueue *q,
          MsRelayEntry *entry,
          GError      **error)
{
  g_autofree char *path = entry_path (q, entry->id, ".env");
  g_autofree char *tmp_path = entry_path (q, entry->id, ".env.tmp");
  g_autofree char *data = NULL;
  gsize len;

  data = entry_to_keyfile_data (entry, &len);
  g_unlink (tmp_path); /* a leftover of an earlier failed update */
  if (!write_file_synced (tmp_path, data, len, error))
    return FALSE;
  if (g_rename (tmp_path, path) != 0)
    {
      int saved_errno = errno;

      g_unlink (tmp_path);
      return set_errno_error (error, saved_errno, "Cannot rename", tmp_path);
    }
  return sync_dir (q->queue_dir, error);
}

/* Removes a finished entry's files: .env first, so that a crash in between
 * leaves a .msg without .env, which the next load drops. */
static void
remove_entry_files (MsRelayQueue *q,
                    const char   *id)
{
  g_autofree char *env_path = entry_path (q, id, ".env");
  g_autofree char *msg_path = entry_path (q, id, ".msg");
  g_autoptr(GError) error = NULL;

  if (g_unlink (env_path) != 0 && errno != ENOENT)
    g_warning ("Cannot remove %s: %s", env_path, g_strerror (errno));
  if (g_unlink (msg_path) != 0 && errno != ENOENT)
    g_warning ("Cannot remove %s: %s", msg_path, g_strerror (errno));
  if (!sync_dir (q->queue_dir, &error))
    g_warning ("%s", error->message);
}

static void
remove_entry (MsRelayQueue *q,
              MsRelayEntry *entry)
{
  g_assert (entry->attempt == NULL);

  remove_entry_files (q, entry->id);
  g_ptr_array_remove (q->entries, entry);
  entry_free (entry);
}

/* ---- loading ---- */

static MsRelayEntry *
load_entry (MsRelayQueue *q,
            const char   *id,
            GError      **error)
{
  g_autofree char *path = entry_path (q, id, ".env");
  g_autoptr(GKeyFile) key_file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) rcpt = NULL;
  MsRelayEntry *entry;
  gsize n_rcpt = 0;

  if (!g_key_file_load_from_file (key_file, path, G_KEY_FILE_NONE, error))
    return NULL;

  entry = g_new0 (MsRelayEntry, 1);
  entry->id = g_strdup (id);
  entry->rcpt = g_ptr_array_new_with_free_func (g_free);
  entry->mail_from = g_key_file_get_string (key_file, ENV_GROUP, "from", &local_error);
  rcpt = g_key_file_get_string_list (key_file, ENV_GROUP, "rcpt", &n_rcpt, NULL);
  entry->domain = g_key_file_get_string (key_file, ENV_GROUP, "domain", NULL);
  entry->attempts = (guint) MIN (g_key_file_get_uint64 (key_file, ENV_GROUP, "attempts", NULL),
                                 G_MAXUINT);
  entry->created = g_key_file_get_int64 (key_file, ENV_GROUP, "created", NULL);
  entry->last_error = g_key_file_get_string (key_file, ENV_GROUP, "last-error", NULL);
  entry->remote_mta = g_key_file_get_string (key_file, ENV_GROUP, "remote-mta", NULL);

  for (gsize i = 0; rcpt != NULL && i < n_rcpt; i++)
    g_ptr_array_add (entry->rcpt, g_strdup (rcpt[i]));

  if (entry->mail_from == NULL || entry->rcpt->len == 0
      || entry->domain == NULL || *entry->domain == '\0')
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                   "%s lacks from, rcpt or domain", path);
      entry_free (entry);
      return NULL;
    }

  /* Resume at once after a restart: whoever restarted the server wants to
   * see the queue move. */
  entry->next_attempt = now_seconds ();
  return entry;
}

static gboolean
is_entry_id (const char *id,
             gsize       len)
{
  if (len == 0)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (id[i]) && id[i] != '-')
      return FALSE;
  return TRUE;
}

static gint
compare_entries (gconstpointer a,
                 gconstpointer b)
{
  const MsRelayEntry *ea = *(MsRelayEntry * const *) a;
  const MsRelayEntry *eb = *(MsRelayEntry * const *) b;

  if (ea->created != eb->created)
    return ea->created < eb->created ? -1 : 1;
  return strcmp (ea->id, eb->id);
}

static gboolean
load_queue (MsRelayQueue *q,
            GError      **error)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  dir = g_dir_open (q->queue_dir, 0, error);
  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));

  for (guint i = 0; i < names->len; i++)
    {
      const char *file = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (q->queue_dir, file, NULL);
      gsize len = strlen (file);

      if (g_str_has_suffix (file, ".tmp"))
        {
          /* An interrupted write: never committed. */
          g_debug ("Removing unfinished %s", path);
          g_unlink (path);
        }
      else if (g_str_has_suffix (file, ".msg") && is_entry_id (file, len - 4))
        {
          g_autofree char *id = g_strndup (file, len - 4);
          g_autofree char *env_path = entry_path (q, id, ".env");

          if (!g_file_test (env_path, G_FILE_TEST_EXISTS))
            {
              g_message ("Removing incomplete queue entry %s (no .env)", id);
              g_unlink (path);
            }
        }
      else if (g_str_has_suffix (file, ".env") && is_entry_id (file, len - 4))
        {
          g_autofree char *id = g_strndup (file, len - 4);
          g_autofree char *msg_path = entry_path (q, id, ".msg");
          g_autoptr(GError) local_error = NULL;
          MsRelayEntry *entry;

          if (!g_file_test (msg_path, G_FILE_TEST_EXISTS))
            {
              g_warning ("Queue entry %s has no message; removing it", id);
              g_unlink (path);
              continue;
            }

          entry = load_entry (q, id, &local_error);
          if (entry == NULL)
            {
              g_autofree char *corrupt = entry_path (q, id, ".env.corrupt");

              g_warning ("Cannot load queue entry %s: %s; moved aside to %s",
                         id, local_error->message, corrupt);
              g_rename (path, corrupt);
              continue;
            }
          g_ptr_array_add (q->entries, entry);
        }
    }

  g_ptr_array_sort (q->entries, compare_entries);
  if (q->entries->len > 0)
    g_message ("Resuming %u queued entries from %s", q->entries->len, q->queue_dir);
  return TRUE;
}

/* ---- bounces (RFC 3464) ---- */

/* The header block of `message`, up to and including the empty line that
 * ends it (RFC 5322 §2.1), cut at a line end within MAX_RETURNED_HEADER. */
static gsize
header_length (const char *message,
               gsize       len)
{
  gsize limit = MIN (len, (gsize) MAX_RETURNED_HEADER);
  gsize last_line_end = 0;

  for (gsize i = 0; i < limit; i++)
    {
      if (message[i] != '\n')
        continue;
      last_line_end = i + 1;
      if (i + 1 < len && message[i + 1] == '\n')
        return i + 1;
      if (i + 2 < len && message[i + 1] == '\r' && message[i + 2] == '\n')
        return i + 1;
    }
  return limit == len ? len : last_line_end;
}

static void
append_date_field (GString    *out,
                   const char *name,
                   gint64      unix_time)
{
  g_autoptr(GDateTime) date = g_date_time_new_from_unix_local (unix_time);
  g_autofree char *text = NULL;

  if (date == NULL)
    return;
  text = g_mime_utils_header_format_date (date);
  g_string_append_printf (out, "%s: %s\n", name, text);
}

/* The message/delivery-status body (RFC 3464 §2.1): per-message fields
 * (§2.2), then for each recipient a blank line and its fields (§2.3). */
static char *
delivery_status_text (MsRelayQueue *q,
                      GPtrArray    *failures,
                      const char   *remote_mta,
                      gint64        arrival)
{
  GString *out = g_string_new (NULL);
  g_autofree char *reporting = ascii_field (q->hostname, 255);

  g_string_append_printf (out, "Reporting-MTA: dns; %s\n", reporting);
  append_date_field (out, "Arrival-Date", arrival);

  for (guint i = 0; i < failures->len; i++)
    {
      MsRelayFailure *failure = g_ptr_array_index (failures, i);
      g_autofree char *rcpt = ascii_field (failure->rcpt, 512);
      g_autofree char *status = ascii_field (failure->status, 16);

      g_string_append_c (out, '\n');
      /* §2.3.2: the address type "rfc822" for an Internet mail address. */
      g_string_append_printf (out, "Final-Recipient: rfc822; %s\n", rcpt);
      /* §2.3.3: "failed" means we gave up on this recipient. */
      g_string_append (out, "Action: failed\n");
      g_string_append_printf (out, "Status: %s\n", status);
      if (remote_mta != NULL)
        {
          g_autofree char *mta = ascii_field (remote_mta, 255);

          g_string_append_printf (out, "Remote-MTA: dns; %s\n", mta);
        }
      if (failure->diagnostic != NULL)
        {
          g_autofree char *diagnostic = ascii_field (failure->diagnostic, MAX_DIAGNOSTIC);

          /* §2.3.6: type "smtp" for an SMTP reply; our own reasons are not
           * replies, so they get a private (X-) type. */
          if (g_ascii_isdigit (diagnostic[0]) && g_ascii_isdigit (diagnostic[1])
              && g_ascii_isdigit (diagnostic[2]))
            g_string_append_printf (out, "Diagnostic-Code: smtp; %s\n", diagnostic);
          else
            g_string_append_printf (out, "Diagnostic-Code: X-Mailscope; %s\n", diagnostic);
        }
      append_date_field (out, "Last-Attempt-Date", now_seconds ());
    }

  return g_string_free (out, FALSE);
}

static char *
human_text (MsRelayQueue *q,
            GPtrArray    *failures,
            const char   *remote_mta)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "This is the mail system at host %s.\n\n", q->hostname);
  g_string_append (out,
                   "I'm sorry to have to tell you that your message could not be\n"
                   "delivered to one or more recipients. The header of your message\n"
                   "is attached below.\n\n");
  for (guint i = 0; i < failures->len; i++)
    {
      MsRelayFailure *failure = g_ptr_array_index (failures, i);
      g_autofree char *rcpt = g_utf8_make_valid (failure->rcpt, -1);

      g_string_append_printf (out, "<%s>: %s", rcpt, failure->explanation);
      if (remote_mta != NULL)
        g_string_append_printf (out, " (host %s)", remote_mta);
      g_string_append (out, ".\n");
      if (failure->diagnostic != NULL)
        {
          g_autofree char *diagnostic = ascii_field (failure->diagnostic, MAX_DIAGNOSTIC);

          g_string_append_printf (out, "    %s\n", diagnostic);
        }
      g_string_append_printf (out, "    Status: %s\n\n", failure->status);
    }
  return g_string_free (out, FALSE);
}

static GMimePart *
leaf_part (const char          *type,
           const char          *subtype,
           const char          *data,
           gsize                len,
           GMimeContentEncoding encoding)
{
  GMimePart *part = g_mime_part_new_with_type (type, subtype);
  GMimeStream *stream = g_mime_stream_mem_new_with_buffer (data, len);
  GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream (stream, GMIME_CONTENT_ENCODING_DEFAULT);

  g_mime_part_set_content (part, content);
  g_mime_part_set_content_encoding (part, encoding);
  g_object_unref (content);
  g_object_unref (stream);
  return part;
}

static gboolean
is_ascii (const char *data,
          gsize       len)
{
  for (gsize i = 0; i < len; i++)
    if ((guchar) data[i] >= 0x80 || data[i] == '\0')
      return FALSE;
  return TRUE;
}

/* Builds the report: a multipart/report with report-type=delivery-status
 * (RFC 3464 §2, RFC 6522) holding a human explanation, the
 * message/delivery-status part and the original header as
 * text/rfc822-headers. CRLF line ends. */
static char *
build_dsn (MsRelayQueue *q,
           const char   *mail_from,
           GPtrArray    *failures,
           const char   *remote_mta,
           gint64        arrival,
           const char   *message,
           gsize         len,
           gsize        *len_r)
{
  GMimeMessage *dsn;
  GMimeMultipart *report;
  GMimeTextPart *text_part;
  GMimePart *status_part;
  GMimePart *header_part;
  GMimeFormatOptions *options;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *daemon = g_strdup_printf ("MAILER-DAEMON@%s", q->hostname);
  g_autofree char *message_id = g_mime_utils_generate_message_id (q->hostname);
  g_autofree char *text = human_text (q, failures, remote_mta);
  g_autofree char *status = delivery_status_text (q, failures, remote_mta, arrival);
  g_autofree char *header = NULL;
  gsize header_len;
  char *result;

  ms_message_ensure_gmime ();

  dsn = g_mime_message_new (TRUE);
  g_mime_message_add_mailbox (dsn, GMIME_ADDRESS_TYPE_FROM, "Mail Delivery System", daemon);
  g_mime_message_add_mailbox (dsn, GMIME_ADDRESS_TYPE_TO, NULL, mail_from);
  g_mime_message_set_subject (dsn, "Undelivered Mail Returned to Sender", NULL);
  g_mime_message_set_date (dsn, now);
  g_mime_message_set_message_id (dsn, message_id);
  /* RFC 3834 §5: an automatic answer, so that other robots do not answer it. */
  g_mime_object_set_header (GMIME_OBJECT (dsn), "Auto-Submitted", "auto-replied", NULL);

  report = g_mime_multipart_new_with_subtype ("report");
  g_mime_object_set_content_type_parameter (GMIME_OBJECT (report), "report-type",
                                            "delivery-status");

  text_part = g_mime_text_part_new_with_subtype ("plain");
  g_mime_text_part_set_text (text_part, text);
  g_mime_multipart_add (report, GMIME_OBJECT (text_part));
  g_object_unref (text_part);

  status_part = leaf_part ("message", "delivery-status", status, strlen (status),
                           GMIME_CONTENT_ENCODING_7BIT);
  g_mime_multipart_add (report, GMIME_OBJECT (status_part));
  g_object_unref (status_part);

  header_len = header_length (message, len);
  header = g_strndup (message, header_len);
  header_part = leaf_part ("text", "rfc822-headers", header, strlen (header),
                           is_ascii (header, strlen (header))
                             ? GMIME_CONTENT_ENCODING_7BIT
                             : GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
  g_mime_multipart_add (report, GMIME_OBJECT (header_part));
  g_object_unref (header_part);

  g_mime_message_set_mime_part (dsn, GMIME_OBJECT (report));
  g_object_unref (report);

  /* Mail on the wire and in our queue uses CRLF (RFC 5321 §2.3.8). */
  options = g_mime_format_options_clone (NULL);
  g_mime_format_options_set_newline_format (options, GMIME_NEWLINE_FORMAT_DOS);
  result = g_mime_object_to_string (GMIME_OBJECT (dsn), options);
  g_mime_format_options_free (options);
  g_object_unref (dsn);

  *len_r = strlen (result);
  return result;
}

static gboolean
is_local_address (MsRelayQueue *q,
                  const char   *address)
{
  g_autofree char *domain = address_domain (address);

  /* An address without a domain can only mean one of our users. */
  if (domain == NULL)
    return TRUE;
  return q->is_local_domain != NULL && q->is_local_domain (q->local_data, domain);
}

/* Returns `failures` to `mail_from` in one report. `entry` (nullable) names
 * the queue entry for the trace. */
static void
send_bounce (MsRelayQueue *q,
             MsRelayEntry *entry,
             const char   *mail_from,
             GPtrArray    *failures,
             const char   *remote_mta,
             gint64        arrival,
             const char   *message,
             gsize         len)
{
  gboolean dropped = (*mail_from == '\0');
  gboolean local = !dropped && is_local_address (q, mail_from);
  g_autofree char *note = NULL;
  g_autofree char *dsn = NULL;
  g_autoptr(GError) error = NULL;
  gsize dsn_len = 0;

  if (dropped)
    note = g_strdup ("dropped: null sender");
  else if (local)
    note = g_strdup_printf ("returned to %s (local delivery)", mail_from);
  else
    note = g_strdup_printf ("returned to %s (queued)", mail_from);

  for (guint i = 0; i < failures->len; i++)
    {
      MsRelayFailure *failure = g_ptr_array_index (failures, i);
      MsEvent *event = relay_event_new (q, "bounced", entry);

      if (dropped)
        /* RFC 5321 §4.5.5, §6.1: never answer a notification with another. */
        g_message ("Not bouncing %s for <%s>: the sender is the null path <>",
                   entry != NULL ? entry->id : "message", failure->rcpt);
      else
        g_message ("Bouncing %s for <%s> to <%s>: %s %s",
                   entry != NULL ? entry->id : "message", failure->rcpt, mail_from,
                   failure->status, failure->diagnostic != NULL ? failure->diagnostic : "");

      if (event == NULL)
        continue;
      if (entry == NULL)
        {
          g_autofree char *domain = address_domain (failure->rcpt);

          ms_event_set_string (event, "domain", domain);
          ms_event_set_string (event, "from", mail_from);
        }
      ms_event_set_string (event, "rcpt", failure->rcpt);
      ms_event_set_string (event, "status", failure->status);
      ms_event_set_string (event, "text", failure->diagnostic != NULL
                                          ? failure->diagnostic : failure->explanation);
      ms_event_set_string (event, "host", remote_mta);
      ms_event_set_string (event, "note", note);
      ms_trace_bus_emit (q->bus, event);
    }

  if (dropped || failures->len == 0)
    return;

  dsn = build_dsn (q, mail_from, failures, remote_mta, arrival, message, len, &dsn_len);

  if (local)
    {
      if (q->deliver_local == NULL)
        g_warning ("Cannot return mail to local sender <%s>: no local delivery; report dropped",
                   mail_from);
      else if (!q->deliver_local (q->local_data, mail_from, dsn, dsn_len, &error))
        g_warning ("Cannot deliver the report to <%s>: %s; report dropped",
                   mail_from, error->message);
    }
  else
    {
      const char *rcpt[] = { mail_from, NULL };

      /* RFC 3461 §6.2, RFC 5321 §4.5.5: reports go out with the null
       * reverse path, so a failing report is never reported. */
      if (!ms_relay_queue_enqueue (q, "", rcpt, dsn, dsn_len, &error))
        g_warning ("Cannot queue the report to <%s>: %s; report dropped",
                   mail_from, error->message);
    }
}

/* Bounces with the message of `entry`, read from disk. */
static void
bounce_entry (MsRelayQueue *q,
              MsRelayEntry *entry,
              GPtrArray    *failures,
              const char   *remote_mta)
{
  g_autofree char *msg_path = entry_path (q, entry->id, ".msg");
  g_autofree char *message = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;

  if (*entry->mail_from != '\0'
      && !g_file_get_contents (msg_path, &message, &len, &error))
    {
      g_warning ("Cannot read %s for the report: %s", msg_path, error->message);
      g_clear_pointer (&message, g_free);
      len = 0;
    }
  send_bounce (q, entry, entry->mail_from, failures, remote_mta, entry->created,
               message != NULL ? message : "", len);
}

void
ms_relay_queue_bounce (MsRelayQueue *q,
                       const char   *mail_from,
                       const char   *rcpt,
                       const char   *status,
                       const char   *diagnostic,
                       const char   *remote_mta,
                       const char   *message,
                       gsize         len)
{
  g_autoptr(GPtrArray) failures = g_ptr_array_new_with_free_func ((GDestroyNotify) failure_free);

  g_return_if_fail (q != NULL);
  g_return_if_fail (mail_from != NULL);
  g_return_if_fail (rcpt != NULL);
  g_return_if_fail (status != NULL);
  g_return_if_fail (message != NULL || len == 0);

  g_ptr_array_add (failures, failure_new (rcpt, status, diagnostic,
                                          remote_mta != NULL ? "the remote server refused it"
                                                             : "it could not be delivered"));
  send_bounce (q, NULL, mail_from, failures, remote_mta, now_seconds (),
               message != NULL ? message : "", len);
}

/* ---- delivery ---- */

static const MsRelayRoute *
lookup_route (MsRelayQueue *q,
              const char   *domain)
{
  g_autofree char *key = g_ascii_strdown (domain, -1);

  return g_hash_table_lookup (q->routes, key);
}

static void delivery_done_cb (GObject      *source,
                              GAsyncResult *result,
                              gpointer      user_data);

/* Starts one delivery. Returns FALSE when the entry is gone (bounced or
 * unreadable) instead. */
static gboolean
start_delivery (MsRelayQueue *q,
                MsRelayEntry *entry)
{
  const MsRelayRoute *route = lookup_route (q, entry->domain);
  g_autofree char *msg_path = entry_path (q, entry->id, ".msg");
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) message = NULL;
  g_autoptr(GPtrArray) rcpt = g_ptr_array_new ();
  MsSmtpSendParams params = { 0 };
  MsRelayAttempt *attempt;
  MsEvent *event;
  gsize len;

  g_assert (entry->attempt == NULL);

  if (route == NULL)
    {
      g_autoptr(GPtrArray) failures = g_ptr_array_new_with_free_func ((GDestroyNotify) failure_free);
      g_autofree char *reason = g_strdup_printf ("no route to host for domain %s",
                                                 entry->domain);

      /* The stand-in for an MX lookup found nothing: a permanent error
       * (RFC 5321 §5.1 "MUST be reported as an error"; RFC 3463 5.4.4). */
      event = relay_event_new (q, "no-route", entry);
      if (event != NULL)
        {
          ms_event_set_array (event, "rcpt", rcpt_to_json (entry->rcpt));
          ms_event_set_string (event, "text", reason);
          ms_trace_bus_emit (q->bus, event);
        }
      for (guint i = 0; i < entry->rcpt->len; i++)
        g_ptr_array_add (failures, failure_new (g_ptr_array_index (entry->rcpt, i), "5.4.4",
                                                reason, "there is no route to its domain"));
      bounce_entry (q, entry, failures, NULL);
      remove_entry (q, entry);
      return FALSE;
    }

  event = relay_event_new (q, "route", entry);
  if (event != NULL)
    {
      ms_event_set_string (event, "host", route->host);
      ms_event_set_int (event, "port", route->port);
      ms_trace_bus_emit (q->bus, event);
    }

  if (!g_file_get_contents (msg_path, &data, &len, &error))
    {
      g_warning ("Queue entry %s lost its message: %s; removing it", entry->id, error->message);
      remove_entry (q, entry);
      return FALSE;
    }
  message = g_bytes_new_take (g_steal_pointer (&data), len);

  for (guint i = 0; i < entry->rcpt->len; i++)
    g_ptr_array_add (rcpt, g_ptr_array_index (entry->rcpt, i));
  g_ptr_array_add (rcpt, NULL);

  attempt = g_new0 (MsRelayAttempt, 1);
  attempt->queue = q;
  attempt->entry = entry;
  attempt->host = g_strdup (route->host);
  attempt->port = route->port;
  entry->attempt = attempt;
  q->n_in_flight++;

  event = relay_event_new (q, "attempt", entry);
  if (event != NULL)
    {
      ms_event_set_string (event, "host", route->host);
      ms_event_set_int (event, "port", route->port);
      ms_event_set_int (event, "attempt", entry->attempts + 1);
      ms_event_set_array (event, "rcpt", rcpt_to_json (entry->rcpt));
      ms_trace_bus_emit (q->bus, event);
    }
  g_debug ("Delivering %s to %s:%u, attempt %u", entry->id, route->host, route->port,
           entry->attempts + 1);

  params.host = route->host;
  params.port = route->port;
  params.tls = MS_SMTP_TLS_OPPORTUNISTIC;
  params.helo_name = q->hostname;
  params.mail_from = entry->mail_from;
  params.rcpt_to = (const char * const *) rcpt->pdata;
  params.message = message;
  params.bus = q->bus;
  params.trace_server = q->server_name;
  params.trace_proto = "smtp-relay";

  ms_smtp_send_async (&params, q->cancellable, delivery_done_cb, attempt);
  return TRUE;
}

static const MsSmtpRecipientResult *
find_recipient_result (const MsSmtpSendResult *result,
                       guint                   index,
                       const char             *address)
{
  if (result == NULL || result->recipients == NULL)
    return NULL;
  if (index < result->recipients->len)
    {
      const MsSmtpRecipientResult *r = g_ptr_array_index (result->recipients, index);

      if (g_strcmp0 (r->address, address) == 0)
        return r;
    }
  for (guint i = 0; i < result->recipients->len; i++)
    {
      const MsSmtpRecipientResult *r = g_ptr_array_index (result->recipients, i);

      if (g_strcmp0 (r->address, address) == 0)
        return r;
    }
  return NULL;
}

/* Sorts each recipient of the attempt into delivered, failed for good, or
 * to be retried (RFC 5321 §4.2.1: 2yz done, 5yz permanent, 4yz transient). */
static void
handle_result (MsRelayQueue           *q,
               MsRelayEntry           *entry,
               MsRelayAttempt         *attempt,
               const MsSmtpSendResult *result,
               const GError           *send_error)
{
  g_autoptr(GPtrArray) delivered = g_ptr_array_new ();
  g_autoptr(GPtrArray) remaining = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) failures = g_ptr_array_new_with_free_func ((GDestroyNotify) failure_free);
  g_autofree char *temp_error = NULL;
  guint temp_code = 0;
  MsEvent *event;

  for (guint i = 0; i < entry->rcpt->len; i++)
    {
      const char *rcpt = g_ptr_array_index (entry->rcpt, i);
      const MsSmtpRecipientResult *r = find_recipient_result (result, i, rcpt);

      if (result == NULL)
        {
          /* The sender refused the parameters: an address it cannot send. */
          g_ptr_array_add (failures, failure_new (rcpt, "5.1.3", send_error->message,
                                                  "the address cannot be used"));
        }
      else if (r != NULL && r->accepted && result->data_code >= 200 && result->data_code < 300)
        {
          g_ptr_array_add (delivered, (gpointer) rcpt);
        }
      else if (r != NULL && r->accepted && result->data_code >= 500)
        {
          g_autofree char *reply = format_reply (result->data_code, result->data_enhanced,
                                                 result->data_text);

          g_ptr_array_add (failures, failure_new (rcpt, permanent_status (result->data_enhanced),
                                                  reply, "the remote server refused the message"));
        }
      else if (r != NULL && !r->accepted && r->code >= 500)
        {
          g_autofree char *reply = format_reply (r->code, r->enhanced, r->text);

          g_ptr_array_add (failures, failure_new (rcpt, permanent_status (r->enhanced), reply,
                                                  "the remote server refused the recipient"));
        }
      else if (result->status == MS_SMTP_SEND_STATUS_PERM_FAILURE
               && (r == NULL || r->code == 0) && result->data_code < 400)
        {
          /* Refused before any RCPT (MAIL FROM got 5yz): the whole
           * transaction failed for good. */
          g_ptr_array_add (failures, failure_new (rcpt, "5.0.0", result->text,
                                                  "the remote server refused the message"));
        }
      else
        {
          /* 4yz to RCPT or after DATA, or no answer at all. */
          g_ptr_array_add (remaining, g_strdup (rcpt));
          if (temp_error == NULL)
            {
              if (r != NULL && !r->accepted && r->code >= 400)
                {
                  temp_code = r->code;
                  temp_error = format_reply (r->code, r->enhanced, r->text);
                }
              else if (result->data_code >= 400)
                {
                  temp_code = result->data_code;
                  temp_error = format_reply (result->data_code, result->data_enhanced,
                                             result->data_text);
                }
              else
                {
                  temp_error = ascii_field (result->text != NULL ? result->text
                                                                 : "delivery failed",
                                            MAX_DIAGNOSTIC);
                }
            }
        }
    }

  if (delivered->len > 0)
    {
      g_message ("Delivered %s to %s:%u for %u recipient(s)", entry->id, attempt->host,
                 attempt->port, delivered->len);
      event = relay_event_new (q, "delivered", entry);
      if (event != NULL)
        {
          ms_event_set_string (event, "host", attempt->host);
          ms_event_set_int (event, "port", attempt->port);
          ms_event_set_int (event, "attempt", entry->attempts + 1);
          ms_event_set_array (event, "rcpt", rcpt_to_json (delivered));
          ms_event_set_int (event, "code", result->data_code);
          ms_event_set_string (event, "text", result->data_text);
          ms_trace_bus_emit (q->bus, event);
        }
    }

  if (failures->len > 0)
    bounce_entry (q, entry, failures, attempt->host);

  if (remaining->len == 0)
    {
      remove_entry (q, entry);
      return;
    }

  g_ptr_array_unref (entry->rcpt);
  entry->rcpt = g_ptr_array_ref (remaining);
  entry->attempts++;
  g_free (entry->last_error);
  entry->last_error = g_strdup (temp_error);
  g_free (entry->remote_mta);
  entry->remote_mta = g_strdup (attempt->host);

  if (entry->attempts > q->n_retry_intervals)
    {
      g_autoptr(GPtrArray) expired = g_ptr_array_new_with_free_func ((GDestroyNotify) failure_free);
      g_autofree char *explanation =
        g_strdup_printf ("delivery time expired: it still failed after %u attempts",
                         entry->attempts);

      /* RFC 3463 4.4.7: we gave up; the diagnostic is the last error. */
      for (guint i = 0; i < remaining->len; i++)
        g_ptr_array_add (expired, failure_new (g_ptr_array_index (remaining, i), "4.4.7",
                                               temp_error, explanation));
      bounce_entry (q, entry, expired, attempt->host);
      remove_entry (q, entry);
      return;
    }
  else
    {
      guint interval = q->retry_intervals[entry->attempts - 1];
      g_autoptr(GError) error = NULL;

      entry->next_attempt = now_seconds () + interval;
      if (!save_env (q, entry, &error))
        g_warning ("Cannot update queue entry %s: %s", entry->id, error->message);

      g_message ("Deferred %s (attempt %u): %s; next attempt in %u s", entry->id,
                 entry->attempts, temp_error, interval);
      event = relay_event_new (q, "deferred", entry);
      if (event != NULL)
        {
          ms_event_set_string (event, "host", attempt->host);
          ms_event_set_int (event, "port", attempt->port);
          ms_event_set_int (event, "attempt", entry->attempts);
          ms_event_set_int (event, "next_attempt", interval);
          ms_event_set_array (event, "rcpt", rcpt_to_json (remaining));
          if (temp_code != 0)
            ms_event_set_int (event, "code", temp_code);
          ms_event_set_string (event, "text", temp_error);
          ms_trace_bus_emit (q->bus, event);
        }
    }
}

static void
delivery_done_cb (GObject      *source,
                  GAsyncResult *res,
                  gpointer      user_data)
{
  MsRelayAttempt *attempt = user_data;
  MsRelayQueue *q = attempt->queue;
  MsRelayEntry *entry = attempt->entry;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsSmtpSendResult) result = ms_smtp_send_finish (res, &error);

  if (q == NULL)
    {
      /* The queue was freed meanwhile; the entry stays on disk for the next one. */
      entry_free (entry);
      attempt_free (attempt);
      return;
    }

  entry->attempt = NULL;
  q->n_in_flight--;

  if (result == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* Not ours: treat like a lost connection and try again later. */
      MsSmtpSendResult cancelled = { 0 };

      cancelled.status = MS_SMTP_SEND_STATUS_TEMP_FAILURE;
      cancelled.text = error->message;
      handle_result (q, entry, attempt, &cancelled, NULL);
    }
  else
    {
      handle_result (q, entry, attempt, result, error);
    }

  attempt_free (attempt);
  schedule (q);
}

/* ---- scheduling ---- */

static gboolean
run_due_cb (gpointer user_data)
{
  MsRelayQueue *q = user_data;
  g_autoptr(GPtrArray) due = g_ptr_array_new ();
  gint64 now = now_seconds ();

  g_clear_pointer (&q->timer, g_source_unref);

  for (guint i = 0; i < q->entries->len; i++)
    {
      MsRelayEntry *entry = g_ptr_array_index (q->entries, i);

      if (entry->attempt == NULL && entry->next_attempt <= now)
        g_ptr_array_add (due, entry);
    }

  /* A start may bounce and so add or remove entries: check each again. */
  for (guint i = 0; i < due->len && q->n_in_flight < MS_RELAY_QUEUE_MAX_CONCURRENT; i++)
    {
      MsRelayEntry *entry = g_ptr_array_index (due, i);

      if (!g_ptr_array_find (q->entries, entry, NULL) || entry->attempt != NULL)
        continue;
      start_delivery (q, entry);
    }

  schedule (q);
  return G_SOURCE_REMOVE;
}

/* Arms the timer for the earliest waiting entry, unless the concurrency
 * cap is reached (then the next finished delivery calls us again). */
static void
schedule (MsRelayQueue *q)
{
  gint64 earliest = G_MAXINT64;
  gint64 delay_ms;

  if (q->timer != NULL)
    {
      g_source_destroy (q->timer);
      g_clear_pointer (&q->timer, g_source_unref);
    }
  if (q->n_in_flight >= MS_RELAY_QUEUE_MAX_CONCURRENT)
    return;

  for (guint i = 0; i < q->entries->len; i++)
    {
      MsRelayEntry *entry = g_ptr_array_index (q->entries, i);

      if (entry->attempt == NULL)
        earliest = MIN (earliest, entry->next_attempt);
    }
  if (earliest == G_MAXINT64)
    return;

  delay_ms = earliest * 1000 - g_get_real_time () / 1000;
  delay_ms = CLAMP (delay_ms, 0, (gint64) G_MAXUINT);
  q->timer = g_timeout_source_new ((guint) delay_ms);
  g_source_set_callback (q->timer, run_due_cb, q, NULL);
  g_source_set_static_name (q->timer, "[mailscope] relay queue");
  g_source_attach (q->timer, q->context);
}

/* ---- public API ---- */

MsRelayQueue *
ms_relay_queue_new (const MsRelayQueueConfig *config,
                    GError                  **error)
{
  static const guint default_intervals[] = MS_RELAY_QUEUE_DEFAULT_RETRY_INTERVALS;
  g_autoptr(MsRelayQueue) q = NULL;
  const guint *intervals;
  guint n_intervals;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (config->queue_dir != NULL, NULL);
  g_return_val_if_fail (config->hostname != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (config->retry_intervals_s != NULL)
    {
      intervals = config->retry_intervals_s;
      n_intervals = config->n_retry_intervals;
    }
  else
    {
      intervals = default_intervals;
      n_intervals = G_N_ELEMENTS (default_intervals);
    }

  q = g_new0 (MsRelayQueue, 1);
  q->queue_dir = g_strdup (config->queue_dir);
  q->hostname = g_strdup (config->hostname);
  q->server_name = g_strdup (config->server_name != NULL ? config->server_name
                                                         : config->hostname);
  q->bus = config->bus != NULL ? ms_trace_bus_ref (config->bus) : NULL;
  q->retry_intervals = g_new0 (guint, MAX (n_intervals, 1));
  if (n_intervals > 0)
    memcpy (q->retry_intervals, intervals, sizeof (guint) * n_intervals);
  q->n_retry_intervals = n_intervals;
  q->is_local_domain = config->is_local_domain;
  q->deliver_local = config->deliver_local;
  q->local_data = config->local_data;
  q->routes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                     (GDestroyNotify) route_free);
  q->entries = g_ptr_array_new ();
  q->context = g_main_context_ref_thread_default ();
  q->cancellable = g_cancellable_new ();

  if (g_mkdir_with_parents (q->queue_dir, 0700) != 0)
    {
      set_errno_error (error, errno, "Cannot create queue directory", q->queue_dir);
      return NULL;
    }
  if (!load_queue (q, error))
    return NULL;

  schedule (q);
  return g_steal_pointer (&q);
}

void
ms_relay_queue_free (MsRelayQueue *q)
{
  if (q == NULL)
    return;

  if (q->timer != NULL)
    {
      g_source_destroy (q->timer);
      g_clear_pointer (&q->timer, g_source_unref);
    }
  g_cancellable_cancel (q->cancellable);

  for (guint i = 0; i < q->entries->len; i++)
    {
      MsRelayEntry *entry = g_ptr_array_index (q->entries, i);

      if (entry->attempt != NULL)
        entry->attempt->queue = NULL; /* the attempt owns the entry now */
      else
        entry_free (entry);
    }
  g_ptr_array_unref (q->entries);
  g_hash_table_unref (q->routes);
  g_clear_object (&q->cancellable);
  g_main_context_unref (q->context);
  g_clear_pointer (&q->bus, ms_trace_bus_unref);
  g_free (q->retry_intervals);
  g_free (q->queue_dir);
  g_free (q->hostname);
  g_free (q->server_name);
  g_free (q);
}

void
ms_relay_queue_add_route (MsRelayQueue *q,
                          const char   *domain,
                          const char   *host,
                          guint16       port)
{
  MsRelayRoute *route;

  g_return_if_fail (q != NULL);
  g_return_if_fail (domain != NULL);
  g_return_if_fail (host != NULL);

  route = g_new0 (MsRelayRoute, 1);
  route->host = g_strdup (host);
  route->port = port;
  g_hash_table_replace (q->routes, g_ascii_strdown (domain, -1), route);
}

gboolean
ms_relay_queue_has_route (MsRelayQueue *q,
                          const char   *domain)
{
  g_return_val_if_fail (q != NULL, FALSE);
  g_return_val_if_fail (domain != NULL, FALSE);

  return lookup_route (q, domain) != NULL;
}

static char *
new_entry_id (MsRelayQueue *q)
{
  return g_strdup_printf ("%013" G_GINT64_MODIFIER "x-%04x-%08x",
                          g_get_real_time (), q->id_counter++ & 0xffff, g_random_int ());
}

/* Writes one new entry: .msg then .env as tmp files, each synced, renamed
 * .msg first and .env last (the commit), then the directory is synced. */
static gboolean
write_new_entry (MsRelayQueue *q,
                 MsRelayEntry *entry,
                 const char   *message,
                 gsize         len,
                 GError      **error)
{
  g_autofree char *msg_path = entry_path (q, entry->id, ".msg");
  g_autofree char *msg_tmp = entry_path (q, entry->id, ".msg.tmp");
  g_autofree char *env_path = entry_path (q, entry->id, ".env");
  g_autofree char *env_tmp = entry_path (q, entry->id, ".env.tmp");
  g_autofree char *env_data = NULL;
  gsize env_len;

  if (!write_file_synced (msg_tmp, message, len, error))
    return FALSE;
  env_data = entry_to_keyfile_data (entry, &env_len);
  if (!write_file_synced (env_tmp, env_data, env_len, error))
    {
      g_unlink (msg_tmp);
      return FALSE;
    }
  if (g_rename (msg_tmp, msg_path) != 0)
    {
      int saved_errno = errno;

      g_unlink (msg_tmp);
      g_unlink (env_tmp);
      return set_errno_error (error, saved_errno, "Cannot rename", msg_tmp);
    }
  if (g_rename (env_tmp, env_path) != 0)
    {
      int saved_errno = errno;

      g_unlink (env_tmp);
      g_unlink (msg_path);
      return set_errno_error (error, saved_errno, "Cannot rename", env_tmp);
    }
  if (!sync_dir (q->queue_dir, error))
    {
      remove_entry_files (q, entry->id);
      return FALSE;
    }
  return TRUE;
}

gboolean
ms_relay_queue_enqueue (MsRelayQueue       *q,
                        const char         *mail_from,
                        const char * const *rcpt_to,
                        const char         *message,
                        gsize               len,
                        GError            **error)
{
  g_autoptr(GPtrArray) new_entries = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  gint64 now = now_seconds ();

  g_return_val_if_fail (q != NULL, FALSE);
  g_return_val_if_fail (mail_from != NULL, FALSE);
  g_return_val_if_fail (rcpt_to != NULL, FALSE);
  g_return_val_if_fail (message != NULL || len == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (rcpt_to[0] == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "No recipient");
      return FALSE;
    }

  /* One entry per destination domain, recipients in the order given. */
  for (gsize i = 0; rcpt_to[i] != NULL; i++)
    {
      g_autofree char *domain = address_domain (rcpt_to[i]);
      MsRelayEntry *entry = NULL;

      if (domain == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "Recipient <%s> has no domain", rcpt_to[i]);
          return FALSE;
        }
      for (guint j = 0; j < new_entries->len && entry == NULL; j++)
        {
          MsRelayEntry *candidate = g_ptr_array_index (new_entries, j);

          if (strcmp (candidate->domain, domain) == 0)
            entry = candidate;
        }
      if (entry == NULL)
        {
          entry = g_new0 (MsRelayEntry, 1);
          entry->mail_from = g_strdup (mail_from);
          entry->rcpt = g_ptr_array_new_with_free_func (g_free);
          entry->domain = g_steal_pointer (&domain);
          entry->created = now;
          entry->next_attempt = now;
          g_ptr_array_add (new_entries, entry);
        }
      g_ptr_array_add (entry->rcpt, g_strdup (rcpt_to[i]));
    }

  for (guint j = 0; j < new_entries->len; j++)
    {
      MsRelayEntry *entry = g_ptr_array_index (new_entries, j);
      g_autofree char *env_path = NULL;
      g_autofree char *msg_path = NULL;

      /* Unique within the directory: retry on the (unlikely) collision. */
      do
        {
          g_free (entry->id);
          g_free (env_path);
          g_free (msg_path);
          entry->id = new_entry_id (q);
          env_path = entry_path (q, entry->id, ".env");
          msg_path = entry_path (q, entry->id, ".msg");
        }
      while (g_file_test (env_path, G_FILE_TEST_EXISTS)
             || g_file_test (msg_path, G_FILE_TEST_EXISTS));

      if (!write_new_entry (q, entry, message, len, error))
        {
          /* All or nothing: the caller will answer 4yz and the client retry. */
          for (guint k = 0; k < j; k++)
            remove_entry_files (q, ((MsRelayEntry *) g_ptr_array_index (new_entries, k))->id);
          return FALSE;
        }
    }

  for (guint j = 0; j < new_entries->len; j++)
    {
      MsRelayEntry *entry = g_ptr_array_index (new_entries, j);
      MsEvent *event = relay_event_new (q, "queued", entry);

      g_debug ("Queued %s for %s: %u recipient(s), %" G_GSIZE_FORMAT " bytes",
               entry->id, entry->domain, entry->rcpt->len, len);
      if (event != NULL)
        {
          ms_event_set_array (event, "rcpt", rcpt_to_json (entry->rcpt));
          ms_event_set_int (event, "size", (gint64) len);
          ms_trace_bus_emit (q->bus, event);
        }
    }

  while (new_entries->len > 0)
    g_ptr_array_add (q->entries, g_ptr_array_steal_index (new_entries, 0));

  schedule (q);
  return TRUE;
}

guint
ms_relay_queue_get_length (MsRelayQueue *q)
{
  g_return_val_if_fail (q != NULL, 0);

  return q->entries->len;
}

void
ms_relay_queue_flush (MsRelayQueue *q)
{
  gint64 now = now_seconds ();

  g_return_if_fail (q != NULL);

  for (guint i = 0; i < q->entries->len; i++)
    {
      MsRelayEntry *entry = g_ptr_array_index (q->entries, i);

      if (entry->attempt == NULL)
        entry->next_attempt = MIN (entry->next_attempt, now);
    }
  schedule (q);
}
