/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-store"

#include "config.h"

/* utimensat() and struct stat's st_mtim */
#define _GNU_SOURCE

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <glib/gstdio.h>

#include "ms-store.h"
#include "ms-test-util.h"

#define SERVER "alpha.test"

typedef struct {
  char *root;
  MsTraceBus *bus;
  MsStore *store;
  GPtrArray *events;    /* MsEvent, collected from the bus */
  guint subscription;
} Fixture;

static void
collect_cb (const MsEvent *event,
            gpointer       user_data)
{
  GPtrArray *events = user_data;

  g_ptr_array_add (events, ms_event_ref ((MsEvent *) event));
}

static void
fixture_setup (Fixture      *fixture,
               gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture->root = g_dir_make_tmp ("ms-store-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->bus = ms_trace_bus_new ();
  fixture->events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  fixture->subscription = ms_trace_bus_subscribe (fixture->bus, collect_cb, fixture->events, NULL);
  fixture->store = ms_store_new (fixture->root, SERVER, fixture->bus);
  g_assert_true (ms_store_ensure_user (fixture->store, "alice", &error));
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture      *fixture,
                  gconstpointer data)
{
  g_clear_pointer (&fixture->store, ms_store_free);
  if (fixture->subscription != 0)
    ms_trace_bus_unsubscribe (fixture->bus, fixture->subscription);
  g_clear_pointer (&fixture->bus, ms_trace_bus_unref);
  g_clear_pointer (&fixture->events, g_ptr_array_unref);
  ms_test_remove_tree (fixture->root);
  g_free (fixture->root);
}

static void
reopen (Fixture *fixture)
{
  ms_store_free (fixture->store);
  fixture->store = ms_store_new (fixture->root, SERVER, fixture->bus);
}

static const char message_one[] =
  "From: Bob <bob@beta.test>\r\nTo: alice@alpha.test\r\nSubject: Lunch?\r\n\r\nAt noon.\r\n";
static const char message_two[] =
  "From: carol@alpha.test\r\nSubject: =?UTF-8?Q?R=C3=A9union?=\r\n\r\nMonday.\r\n";

static guint32
deliver (Fixture    *fixture,
         const char *folder,
         const char *text,
         const char *flags)
{
  g_autoptr(GError) error = NULL;
  guint32 uid = 0;

  g_assert_true (ms_store_deliver (fixture->store, "alice", folder, (const guint8 *) text,
                                   strlen (text), flags, 0, &uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (uid, >, 0);
  return uid;
}

static GPtrArray *
list (Fixture    *fixture,
      const char *folder)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *messages = ms_store_list (fixture->store, "alice", folder, &error);

  g_assert_no_error (error);
  g_assert_nonnull (messages);
  return messages;
}

static char *
path_in_root (Fixture    *fixture,
              const char *first,
              ...)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  const char *part;
  va_list args;

  g_ptr_array_add (parts, fixture->root);
  va_start (args, first);
  for (part = first; part != NULL; part = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) part);
  va_end (args);
  g_ptr_array_add (parts, NULL);
  return g_build_filenamev ((char **) parts->pdata);
}

static guint
count_files (const char *dir_path)
{
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

static char *
file_contents (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static void
test_deliver_writes_files (Fixture      *fixture,
                           gconstpointer data)
{
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *new_dir = path_in_root (fixture, "alice", "new", NULL);
  g_autofree char *tmp_dir = path_in_root (fixture, "alice", "tmp", NULL);
  g_autofree char *list_path = path_in_root (fixture, "alice", "mailscope-uidlist", NULL);
  g_autofree char *uidlist = NULL;
  g_autofree char *expected_lines = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  MsStoreMessage *m1;
  MsStoreMessage *m2;

  g_assert_cmpuint (deliver (fixture, "INBOX", message_one, NULL), ==, 1);
  g_assert_cmpuint (deliver (fixture, "INBOX", message_two, NULL), ==, 2);

  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, 2);
  m1 = g_ptr_array_index (messages, 0);
  m2 = g_ptr_array_index (messages, 1);
  g_assert_cmpuint (m1->uid, ==, 1);
  g_assert_cmpuint (m2->uid, ==, 2);
  g_assert_cmpuint (m1->size, ==, strlen (message_one));
  g_assert_cmpuint (m2->size, ==, strlen (message_two));
  g_assert_cmpstr (m1->flags, ==, "");
  g_assert_cmpint (ABS (m1->internal_date - now), <=, 5);
  g_assert_cmpstr (m1->name, !=, m2->name);
  g_assert_null (strchr (m1->name, ':'));
  g_assert_null (strchr (m1->name, '/'));
  g_assert_true (g_regex_match_simple ("^[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\..+$", m1->name, 0, 0));

  /* The exact bytes sit in new/ under the unique name; tmp/ is empty. */
  {
    g_autofree char *path = g_build_filename (new_dir, m1->name, NULL);
    g_autofree char *contents = file_contents (path);

    g_assert_cmpstr (contents, ==, message_one);
  }
  g_assert_cmpuint (count_files (new_dir), ==, 2);
  g_assert_cmpuint (count_files (tmp_dir), ==, 0);

  /* The uid list names each UID with its unique name. */
  uidlist = file_contents (list_path);
  g_assert_true (g_str_has_prefix (uidlist, "mailscope-uidlist 2 V"));
  expected_lines = g_strdup_printf ("\n1 %s/%" G_GUINT64_FORMAT "/%" G_GINT64_FORMAT
                                    "\n2 %s/%" G_GUINT64_FORMAT "/%" G_GINT64_FORMAT "\n",
                                    m1->name, m1->size, m1->internal_date,
                                    m2->name, m2->size, m2->internal_date);
  g_assert_true (g_str_has_suffix (uidlist, expected_lines));
}

static void
test_deliver_internal_date_and_read (Fixture      *fixture,
                                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(MsStoreMessage) message = NULL;
  g_autofree char *subject = NULL;
  g_autofree char *from = NULL;
  guint32 uid = 0;

  g_assert_true (ms_store_deliver (fixture->store, "alice", "inbox",
                                   (const guint8 *) message_two, strlen (message_two),
                                   NULL, 1700000000, &uid, &error));
  g_assert_no_error (error);

  message = ms_store_get_message (fixture->store, "alice", "INBOX", uid, &error);
  g_assert_no_error (error);
  g_assert_cmpint (message->internal_date, ==, 1700000000);

  bytes = ms_store_read (fixture->store, "alice", "INBOX", uid, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   message_two, strlen (message_two));

  g_assert_true (ms_store_get_summary (fixture->store, "alice", "INBOX", uid,
                                       &subject, &from, &error));
  g_assert_cmpstr (subject, ==, "Réunion");
  g_assert_cmpstr (from, ==, "carol@alpha.test");

  g_assert_null (ms_store_read (fixture->store, "alice", "INBOX", 99, &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_false (ms_store_deliver (fixture->store, "nobody", "INBOX",
                                    (const guint8 *) "x", 1, NULL, 0, NULL, &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ms_store_deliver (fixture->store, "alice", "Nope",
                                    (const guint8 *) "x", 1, NULL, 0, NULL, &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
}

static void
test_uids_stable_after_reopen (Fixture      *fixture,
                               gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  guint32 validity = 0, validity_again = 0, next = 0, next_again = 0;
  guint count = 0;

  for (guint i = 0; i < 5; i++)
    g_assert_cmpuint (deliver (fixture, "INBOX", message_one, NULL), ==, i + 1);
  before = list (fixture, "INBOX");
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "INBOX",
                                         &validity, &next, &count, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (validity, >, 0);
  g_assert_cmpuint (next, ==, 6);
  g_assert_cmpuint (count, ==, 5);

  reopen (fixture);
  after = list (fixture, "INBOX");
  g_assert_cmpuint (after->len, ==, before->len);
  for (guint i = 0; i < after->len; i++)
    {
      MsStoreMessage *a = g_ptr_array_index (before, i);
      MsStoreMessage *b = g_ptr_array_index (after, i);

      g_assert_cmpuint (a->uid, ==, b->uid);
      g_assert_cmpstr (a->name, ==, b->name);
      g_assert_cmpuint (a->size, ==, b->size);
    }
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "INBOX",
                                         &validity_again, &next_again, NULL, &error));
  g_assert_cmpuint (validity_again, ==, validity);
  g_assert_cmpuint (next_again, ==, 6);
  g_assert_cmpuint (deliver (fixture, "INBOX", message_two, NULL), ==, 6);
}

static void
test_flags_move_to_cur (Fixture      *fixture,
                        gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *new_dir = path_in_root (fixture, "alice", "new", NULL);
  g_autofree char *cur_dir = path_in_root (fixture, "alice", "cur", NULL);
  g_autofree char *name = NULL;
  guint32 uid = deliver (fixture, "INBOX", message_one, NULL);
  guint32 seen_uid;

  messages = list (fixture, "INBOX");
  name = g_strdup (((MsStoreMessage *) g_ptr_array_index (messages, 0))->name);
  g_clear_pointer (&messages, g_ptr_array_unref);

  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", uid, "SF", &error));
  g_assert_no_error (error);
  {
    g_autofree char *file = g_strconcat (name, ":2,FS", NULL);
    g_autofree char *path = g_build_filename (cur_dir, file, NULL);
    g_autofree char *contents = file_contents (path);

    g_assert_cmpstr (contents, ==, message_one);
  }
  g_assert_cmpuint (count_files (new_dir), ==, 0);
  messages = list (fixture, "INBOX");
  g_assert_cmpstr (((MsStoreMessage *) g_ptr_array_index (messages, 0))->flags, ==, "FS");
  g_clear_pointer (&messages, g_ptr_array_unref);

  /* Duplicates and order do not matter; T is \Deleted. */
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", uid, "TSST", &error));
  {
    g_autofree char *file = g_strconcat (name, ":2,ST", NULL);
    g_autofree char *path = g_build_filename (cur_dir, file, NULL);

    g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  }

  /* No flags: still in cur/, with an empty info. */
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", uid, "", &error));
  {
    g_autofree char *file = g_strconcat (name, ":2,", NULL);
    g_autofree char *path = g_build_filename (cur_dir, file, NULL);

    g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  }
  g_assert_cmpuint (count_files (cur_dir), ==, 1);

  g_assert_false (ms_store_set_flags (fixture->store, "alice", "INBOX", uid, "S:", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_FLAGS);
  g_clear_error (&error);
  g_assert_false (ms_store_set_flags (fixture->store, "alice", "INBOX", 42, "S", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Delivered with flags: straight into cur/. */
  seen_uid = deliver (fixture, "INBOX", message_two, "S");
  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpuint (((MsStoreMessage *) g_ptr_array_index (messages, 1))->uid, ==, seen_uid);
  g_assert_cmpstr (((MsStoreMessage *) g_ptr_array_index (messages, 1))->flags, ==, "S");
  g_assert_cmpuint (count_files (cur_dir), ==, 2);
  g_assert_cmpuint (count_files (new_dir), ==, 0);
}

static void
test_expunge (Fixture      *fixture,
              gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *new_dir = path_in_root (fixture, "alice", "new", NULL);
  guint32 next = 0;

  deliver (fixture, "INBOX", message_one, NULL);
  deliver (fixture, "INBOX", message_two, NULL);
  g_assert_cmpuint (count_files (new_dir), ==, 2);

  g_assert_true (ms_store_expunge (fixture->store, "alice", "INBOX", 1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (new_dir), ==, 1);
  g_assert_false (ms_store_expunge (fixture->store, "alice", "INBOX", 1, &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  reopen (fixture);
  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, 1);
  g_assert_cmpuint (((MsStoreMessage *) g_ptr_array_index (messages, 0))->uid, ==, 2);
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "INBOX", NULL, &next, NULL,
                                         &error));
  g_assert_cmpuint (next, ==, 3);

  /* UIDs are never reused (RFC 3501 section 2.3.1.1), even after the last
   * message is gone and the store reopened. */
  g_assert_true (ms_store_expunge (fixture->store, "alice", "INBOX", 2, &error));
  reopen (fixture);
  g_assert_cmpuint (deliver (fixture, "INBOX", message_one, NULL), ==, 3);
}

static void
test_copy (Fixture      *fixture,
           gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) work = NULL;
  g_autoptr(GPtrArray) inbox = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *work_new = path_in_root (fixture, "alice", ".Work", "new", NULL);
  g_autofree char *work_cur = path_in_root (fixture, "alice", ".Work", "cur", NULL);
  guint32 seen = deliver (fixture, "INBOX", message_one, "S");
  guint32 unseen = deliver (fixture, "INBOX", message_two, NULL);
  guint32 new_uid = 0;

  g_assert_true (ms_store_create_folder (fixture->store, "alice", "Work", &error));
  g_assert_no_error (error);
  deliver (fixture, "Work", message_two, NULL);

  g_assert_true (ms_store_copy (fixture->store, "alice", "INBOX", seen, "Work", &new_uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (new_uid, ==, 2);
  g_assert_true (ms_store_copy (fixture->store, "alice", "INBOX", unseen, "Work", &new_uid, &error));
  g_assert_cmpuint (new_uid, ==, 3);

  work = list (fixture, "Work");
  g_assert_cmpuint (work->len, ==, 3);
  g_assert_cmpstr (((MsStoreMessage *) g_ptr_array_index (work, 1))->flags, ==, "S");
  g_assert_cmpuint (((MsStoreMessage *) g_ptr_array_index (work, 1))->size, ==, strlen (message_one));
  g_assert_cmpuint (count_files (work_cur), ==, 1);
  g_assert_cmpuint (count_files (work_new), ==, 2);

  bytes = ms_store_read (fixture->store, "alice", "Work", 2, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                   message_one, strlen (message_one));

  /* The source is untouched, and a copy into the same folder works. */
  inbox = list (fixture, "INBOX");
  g_assert_cmpuint (inbox->len, ==, 2);
  g_assert_true (ms_store_copy (fixture->store, "alice", "INBOX", seen, "INBOX", &new_uid, &error));
  g_assert_cmpuint (new_uid, ==, 3);

  /* A flag change on the copy leaves the original alone (hard links share
   * the file, not the name). */
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "Work", 2, "FS", &error));
  g_clear_pointer (&inbox, g_ptr_array_unref);
  inbox = list (fixture, "INBOX");
  g_assert_cmpstr (((MsStoreMessage *) g_ptr_array_index (inbox, 0))->flags, ==, "S");

  g_assert_false (ms_store_copy (fixture->store, "alice", "INBOX", 77, "Work", NULL, &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ms_store_copy (fixture->store, "alice", "INBOX", seen, "Nope", NULL, &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
}

static void
assert_folders (Fixture           *fixture,
                const char *const *expected)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) folders = ms_store_list_folders (fixture->store, "alice", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (folders->len, ==, g_strv_length ((char **) expected));
  for (guint i = 0; i < folders->len; i++)
    g_assert_cmpstr (g_ptr_array_index (folders, i), ==, expected[i]);
}

static void
test_folders (Fixture      *fixture,
              gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  guint32 validity = 0, validity_after = 0, validity_recreated = 0;

  g_assert_true (ms_store_create_folder (fixture->store, "alice", "Work", &error));
  g_assert_true (ms_store_create_folder (fixture->store, "alice", "Work/2026", &error));
  g_assert_true (ms_store_create_folder (fixture->store, "alice", "A/B/C", &error));
  g_assert_no_error (error);
  {
    static const char *const subdirs[] = { "cur", "new", "tmp", "maildirfolder" };

    for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
      {
        g_autofree char *path = path_in_root (fixture, "alice", ".Work.2026", subdirs[i], NULL);

        g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
      }
  }
  assert_folders (fixture, (const char *const[]) { "INBOX", "A", "A/B", "A/B/C", "Work",
                                                   "Work/2026", NULL });

  g_assert_false (ms_store_create_folder (fixture->store, "alice", "Work", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (ms_store_create_folder (fixture->store, "alice", "inbox", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (ms_store_create_folder (fixture->store, "nobody", "Work", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Rename takes the children along and keeps UIDs and UIDVALIDITY. */
  deliver (fixture, "Work/2026", message_one, NULL);
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "Work/2026", &validity, NULL,
                                         NULL, &error));
  g_assert_true (ms_store_rename_folder (fixture->store, "alice", "Work", "Old/Work", &error));
  g_assert_no_error (error);
  assert_folders (fixture, (const char *const[]) { "INBOX", "A", "A/B", "A/B/C", "Old",
                                                   "Old/Work", "Old/Work/2026", NULL });
  {
    g_autofree char *gone = path_in_root (fixture, "alice", ".Work", NULL);
    g_autofree char *moved = path_in_root (fixture, "alice", ".Old.Work.2026", "cur", NULL);

    g_assert_false (g_file_test (gone, G_FILE_TEST_EXISTS));
    g_assert_true (g_file_test (moved, G_FILE_TEST_IS_DIR));
  }
  messages = list (fixture, "Old/Work/2026");
  g_assert_cmpuint (messages->len, ==, 1);
  g_assert_cmpuint (((MsStoreMessage *) g_ptr_array_index (messages, 0))->uid, ==, 1);
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "Old/Work/2026",
                                         &validity_after, NULL, NULL, &error));
  g_assert_cmpuint (validity_after, ==, validity);

  g_assert_false (ms_store_rename_folder (fixture->store, "alice", "Old", "Old/Inner", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME);
  g_clear_error (&error);
  g_assert_false (ms_store_rename_folder (fixture->store, "alice", "INBOX", "Box", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME);
  g_clear_error (&error);
  g_assert_false (ms_store_rename_folder (fixture->store, "alice", "A/B", "Old", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_false (ms_store_rename_folder (fixture->store, "alice", "Missing", "Else", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_assert_false (ms_store_rename_folder (fixture->store, "alice", "A", "inbox", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_EXISTS);
  g_clear_error (&error);

  /* Delete removes the folder and its messages, not its children. */
  g_assert_true (ms_store_delete_folder (fixture->store, "alice", "Old/Work", &error));
  g_assert_no_error (error);
  assert_folders (fixture, (const char *const[]) { "INBOX", "A", "A/B", "A/B/C", "Old",
                                                   "Old/Work/2026", NULL });
  g_assert_false (ms_store_delete_folder (fixture->store, "alice", "INBOX", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME);
  g_clear_error (&error);
  g_assert_false (ms_store_delete_folder (fixture->store, "alice", "Old/Work", &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (ms_store_delete_folder (fixture->store, "alice", "Old/Work/2026", &error));
  {
    /* Nothing is left behind in the user's directory but folders. */
    g_autofree char *user_dir = path_in_root (fixture, "alice", NULL);
    g_autoptr(GDir) dir = g_dir_open (user_dir, 0, NULL);
    const char *name;

    while ((name = g_dir_read_name (dir)) != NULL)
      g_assert_false (g_str_has_prefix (name, "mailscope-t"));
  }

  /* A folder made again under an old name gets a new UIDVALIDITY, even
   * within the same second. */
  g_assert_true (ms_store_create_folder (fixture->store, "alice", "Old/Work/2026", &error));
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "Old/Work/2026",
                                         &validity_recreated, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (validity_recreated, >, validity);
}

typedef struct {
  const char *name;
  gboolean valid;
} NameCase;

static void
test_folder_names (Fixture      *fixture,
                   gconstpointer data)
{
  static const NameCase cases[] = {
    { "..", FALSE }, { "a/../b", FALSE }, { ".x", FALSE }, { "a//b", FALSE },
    { "", FALSE }, { "a\\b", FALSE }, { "\x01", FALSE }, { "/a", FALSE },
    { "a/", FALSE }, { "a/.b", FALSE }, { ".", FALSE }, { "a.b", FALSE },
    { "a\x7f", FALSE }, { "tab\there", FALSE }, { "*", FALSE }, { "a%", FALSE },
    { "\xff\xfe", FALSE }, { "../../bob", FALSE }, { "../bob/.Work", FALSE },
    { "Work", TRUE }, { "Work/2026", TRUE }, { "Grüße", TRUE }, { "with space", TRUE },
    { "INBOX", TRUE }, { "iNbOx", TRUE }, { "a-b_c~d", TRUE },
  };
  g_autoptr(GString) long_name = g_string_new (NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) messages = NULL;
      g_autofree char *printable = g_strescape (cases[i].name, NULL);
      gboolean ok;

      g_test_message ("case \"%s\"", printable);
      g_assert_cmpint (ms_store_folder_name_is_valid (cases[i].name), ==, cases[i].valid);
      if (cases[i].valid)
        continue;

      ok = ms_store_create_folder (fixture->store, "alice", cases[i].name, &error);
      g_assert_false (ok);
      g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME);
      g_clear_error (&error);

      ok = ms_store_deliver (fixture->store, "alice", cases[i].name, (const guint8 *) "x", 1,
                             NULL, 0, NULL, &error);
      g_assert_false (ok);
      g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME);
      g_clear_error (&error);

      messages = ms_store_list (fixture->store, "alice", cases[i].name, &error);
      g_assert_null (messages);
      g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME);
      g_clear_error (&error);

      g_assert_false (ms_store_rename_folder (fixture->store, "alice", "INBOX", cases[i].name,
                                              &error));
      g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME);
    }

  while (long_name->len <= 200)
    g_string_append (long_name, "abcdefghi/");
  g_string_append (long_name, "x");
  g_assert_false (ms_store_folder_name_is_valid (long_name->str));

  /* Nothing was created anywhere by the refused calls. */
  assert_folders (fixture, (const char *const[]) { "INBOX", NULL });
  {
    g_autoptr(GDir) dir = g_dir_open (fixture->root, 0, NULL);

    g_assert_cmpstr (g_dir_read_name (dir), ==, "alice");
    g_assert_null (g_dir_read_name (dir));
  }
}

static void
test_user_names (Fixture      *fixture,
                 gconstpointer data)
{
  static const NameCase cases[] = {
    { "", FALSE }, { ".alice", FALSE }, { "Alice", FALSE }, { "../alice", FALSE },
    { "a/b", FALSE }, { "a b", FALSE }, { "al:ice", FALSE }, { "..", FALSE },
    { "alice", TRUE }, { "bob.smith", TRUE }, { "c_d-9", TRUE },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_cmpint (ms_store_user_name_is_valid (cases[i].name), ==, cases[i].valid);
      if (cases[i].valid)
        continue;
      g_assert_false (ms_store_ensure_user (fixture->store, cases[i].name, &error));
      g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME);
      g_assert_false (ms_store_user_exists (fixture->store, cases[i].name));
    }

  g_assert_true (ms_store_ensure_user (fixture->store, "bob", NULL));
  g_assert_true (ms_store_ensure_user (fixture->store, "bob", NULL));
  g_assert_true (ms_store_user_exists (fixture->store, "bob"));
  g_assert_false (ms_store_user_exists (fixture->store, "carol"));
  {
    g_autoptr(GPtrArray) users = ms_store_list_users (fixture->store);

    g_assert_cmpuint (users->len, ==, 2);
    g_assert_cmpstr (g_ptr_array_index (users, 0), ==, "alice");
    g_assert_cmpstr (g_ptr_array_index (users, 1), ==, "bob");
  }
}

static void
test_dropped_in_by_hand (Fixture      *fixture,
                         gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GPtrArray) again = NULL;
  g_autofree char *by_hand = path_in_root (fixture, "alice", "new", "1700000000.hand.host", NULL);
  g_autofree char *by_mutt = path_in_root (fixture, "alice", "cur", "1700000001.mutt.host:2,SR", NULL);
  g_autofree char *list_path = path_in_root (fixture, "alice", "mailscope-uidlist", NULL);
  g_autofree char *uidlist = NULL;
  MsStoreMessage *m;

  g_test_summary ("Messages another program puts into new/ or cur/ get the next UIDs.");
  deliver (fixture, "INBOX", message_one, NULL);
  g_assert_true (g_file_set_contents (by_hand, "Subject: by hand\n\nhi\n", -1, NULL));
  g_assert_true (g_file_set_contents (by_mutt, "Subject: by mutt\n\nho\n", -1, NULL));

  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, 3);
  m = g_ptr_array_index (messages, 1);
  g_assert_cmpuint (m->uid, ==, 2);
  g_assert_cmpstr (m->name, ==, "1700000000.hand.host");
  g_assert_cmpstr (m->flags, ==, "");
  g_assert_cmpuint (m->size, ==, strlen ("Subject: by hand\n\nhi\n"));
  m = g_ptr_array_index (messages, 2);
  g_assert_cmpuint (m->uid, ==, 3);
  g_assert_cmpstr (m->name, ==, "1700000001.mutt.host");
  g_assert_cmpstr (m->flags, ==, "RS");

  uidlist = file_contents (list_path);
  g_assert_nonnull (strstr (uidlist, "\n2 1700000000.hand.host/21/"));
  g_assert_nonnull (strstr (uidlist, "\n3 1700000001.mutt.host/21/"));

  reopen (fixture);
  again = list (fixture, "INBOX");
  g_assert_cmpuint (again->len, ==, 3);
  g_assert_cmpstr (((MsStoreMessage *) g_ptr_array_index (again, 1))->name, ==,
                   "1700000000.hand.host");
  g_assert_cmpuint (((MsStoreMessage *) g_ptr_array_index (again, 1))->uid, ==, 2);

  /* A file that vanishes behind our back loses its UID on the next list. */
  g_assert_cmpint (g_unlink (by_hand), ==, 0);
  g_clear_pointer (&again, g_ptr_array_unref);
  again = list (fixture, "INBOX");
  g_assert_cmpuint (again->len, ==, 2);
  g_assert_cmpuint (((MsStoreMessage *) g_ptr_array_index (again, 1))->uid, ==, 3);

  /* Dropped in before the store ever saw the folder (no uid list yet). */
  g_assert_true (ms_store_ensure_user (fixture->store, "dave", &error));
  {
    g_autofree char *path = path_in_root (fixture, "dave", "new", "1.first.host", NULL);
    g_autoptr(GPtrArray) dave = NULL;

    g_assert_true (g_file_set_contents (path, "x", -1, NULL));
    dave = ms_store_list (fixture->store, "dave", "INBOX", &error);
    g_assert_no_error (error);
    g_assert_cmpuint (dave->len, ==, 1);
    g_assert_cmpuint (((MsStoreMessage *) g_ptr_array_index (dave, 0))->uid, ==, 1);
  }
}

static void
test_moved_behind_our_back (Fixture      *fixture,
                            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autofree char *old_path = NULL;
  g_autofree char *new_path = NULL;
  g_autofree char *seen_name = NULL;
  guint32 uid = deliver (fixture, "INBOX", message_one, NULL);
  MsStoreMessage *m;

  g_test_summary ("A mail reader renames new/X to cur/X:2,S; UID calls still find it.");
  messages = list (fixture, "INBOX");
  m = g_ptr_array_index (messages, 0);
  old_path = path_in_root (fixture, "alice", "new", m->name, NULL);
  seen_name = g_strconcat (m->name, ":2,S", NULL);
  new_path = path_in_root (fixture, "alice", "cur", seen_name, NULL);
  g_assert_cmpint (g_rename (old_path, new_path), ==, 0);

  bytes = ms_store_read (fixture->store, "alice", "INBOX", uid, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (bytes), ==, strlen (message_one));

  g_assert_cmpint (g_rename (new_path, old_path), ==, 0);
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", uid, "F", &error));
  g_assert_no_error (error);

  g_clear_pointer (&messages, g_ptr_array_unref);
  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, 1);
  g_assert_cmpstr (((MsStoreMessage *) g_ptr_array_index (messages, 0))->flags, ==, "F");
  g_assert_true (ms_store_expunge (fixture->store, "alice", "INBOX", uid, &error));
  g_assert_no_error (error);
}

static void
test_damaged_uid_list (Fixture      *fixture,
                       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autofree char *list_path = path_in_root (fixture, "alice", "mailscope-uidlist", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *torn = NULL;
  guint32 validity = 0, validity_after = 0;

  deliver (fixture, "INBOX", message_one, NULL);
  deliver (fixture, "INBOX", message_two, NULL);
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "INBOX", &validity, NULL,
                                         NULL, &error));
  ms_store_free (g_steal_pointer (&fixture->store));

  /* A crash tore the last line: the message it named is found again and
   * gets a UID; UIDVALIDITY stays. */
  contents = file_contents (list_path);
  torn = g_strndup (contents, strlen (contents) - 3);
  g_assert_true (g_file_set_contents (list_path, torn, -1, NULL));
  fixture->store = ms_store_new (fixture->root, SERVER, fixture->bus);
  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpuint (((MsStoreMessage *) g_ptr_array_index (messages, 0))->uid, ==, 1);
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "INBOX", &validity_after,
                                         NULL, NULL, &error));
  g_assert_cmpuint (validity_after, ==, validity);
  g_clear_pointer (&messages, g_ptr_array_unref);

  /* Garbage instead of a uid list: a new UIDVALIDITY, all messages kept. */
  ms_store_free (g_steal_pointer (&fixture->store));
  g_assert_true (g_file_set_contents (list_path, "garbage\n1 x\n", -1, NULL));
  fixture->store = ms_store_new (fixture->root, SERVER, fixture->bus);
  g_test_expect_message ("ms-store", G_LOG_LEVEL_WARNING, "*not a uid list*");
  messages = list (fixture, "INBOX");
  g_test_assert_expected_messages ();
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "INBOX", &validity_after,
                                         NULL, NULL, &error));
  g_assert_cmpuint (validity_after, >, validity);
}

static void
test_second_writer (Fixture      *fixture,
                    gconstpointer data)
{
  g_autoptr(MsStore) other = ms_store_new (fixture->root, SERVER, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  guint32 uid = 0;

  g_test_summary ("A second store on the same root is noticed and reloaded.");
  g_assert_cmpuint (deliver (fixture, "INBOX", message_one, NULL), ==, 1);
  g_assert_true (ms_store_deliver (other, "alice", "INBOX", (const guint8 *) message_two,
                                   strlen (message_two), NULL, 0, &uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (uid, ==, 2);
  g_assert_cmpuint (deliver (fixture, "INBOX", message_one, NULL), ==, 3);
  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, 3);
}

static const MsEvent *
event_at (Fixture *fixture,
          guint    index)
{
  g_assert_cmpuint (index, <, fixture->events->len);
  return g_ptr_array_index (fixture->events, index);
}

static void
assert_store_event (const MsEvent *event,
                    const char    *op,
                    const char    *folder)
{
  g_assert_cmpint (event->kind, ==, MS_EVENT_STORE);
  g_assert_cmpstr (event->server, ==, SERVER);
  g_assert_cmpstr (ms_event_get_string (event, "op"), ==, op);
  g_assert_cmpstr (ms_event_get_string (event, "user"), ==, "alice");
  g_assert_cmpstr (ms_event_get_string (event, "folder"), ==, folder);
}

static void
test_events (Fixture      *fixture,
             gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  const MsEvent *event;
  guint32 uid;
  guint32 new_uid = 0;

  g_ptr_array_set_size (fixture->events, 0);

  uid = deliver (fixture, "INBOX", message_one, NULL);
  g_assert_cmpuint (fixture->events->len, ==, 1);
  event = event_at (fixture, 0);
  assert_store_event (event, "deliver", "INBOX");
  g_assert_cmpint (ms_event_get_int (event, "uid", 0), ==, uid);
  g_assert_cmpstr (ms_event_get_string (event, "flags"), ==, "");
  g_assert_cmpint (ms_event_get_int (event, "size", 0), ==, strlen (message_one));
  g_assert_cmpstr (ms_event_get_string (event, "subject"), ==, "Lunch?");
  g_assert_cmpstr (ms_event_get_string (event, "from"), ==, "Bob <bob@beta.test>");

  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", uid, "S", &error));
  event = event_at (fixture, 1);
  assert_store_event (event, "flag", "INBOX");
  g_assert_cmpint (ms_event_get_int (event, "uid", 0), ==, uid);
  g_assert_cmpstr (ms_event_get_string (event, "flags"), ==, "S");
  g_assert_cmpstr (ms_event_get_string (event, "subject"), ==, "Lunch?");
  /* No change, no event. */
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", uid, "S", &error));
  g_assert_cmpuint (fixture->events->len, ==, 2);

  g_assert_true (ms_store_create_folder (fixture->store, "alice", "Work", &error));
  event = event_at (fixture, 2);
  assert_store_event (event, "create-folder", "Work");

  g_assert_true (ms_store_copy (fixture->store, "alice", "INBOX", uid, "Work", &new_uid, &error));
  event = event_at (fixture, 3);
  assert_store_event (event, "copy", "INBOX");
  g_assert_cmpint (ms_event_get_int (event, "uid", 0), ==, uid);
  g_assert_cmpstr (ms_event_get_string (event, "to-folder"), ==, "Work");
  g_assert_cmpint (ms_event_get_int (event, "new-uid", 0), ==, new_uid);
  g_assert_cmpstr (ms_event_get_string (event, "subject"), ==, "Lunch?");
  g_assert_cmpstr (ms_event_get_string (event, "flags"), ==, "S");

  g_assert_true (ms_store_expunge (fixture->store, "alice", "INBOX", uid, &error));
  event = event_at (fixture, 4);
  assert_store_event (event, "expunge", "INBOX");
  g_assert_cmpint (ms_event_get_int (event, "uid", 0), ==, uid);
  g_assert_cmpint (ms_event_get_int (event, "size", 0), ==, strlen (message_one));
  g_assert_cmpstr (ms_event_get_string (event, "subject"), ==, "Lunch?");

  g_assert_true (ms_store_rename_folder (fixture->store, "alice", "Work", "Done", &error));
  event = event_at (fixture, 5);
  assert_store_event (event, "rename-folder", "Work");
  g_assert_cmpstr (ms_event_get_string (event, "new-name"), ==, "Done");

  /* After a reload the subject comes from the file. */
  reopen (fixture);
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "Done", new_uid, "", &error));
  event = event_at (fixture, 6);
  assert_store_event (event, "flag", "Done");
  g_assert_cmpstr (ms_event_get_string (event, "subject"), ==, "Lunch?");

  g_assert_true (ms_store_delete_folder (fixture->store, "alice", "Done", &error));
  event = event_at (fixture, 7);
  assert_store_event (event, "delete-folder", "Done");
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->events->len, ==, 8);

  /* Sequence numbers come from the bus, gapless. */
  for (guint i = 1; i < fixture->events->len; i++)
    g_assert_cmpuint (event_at (fixture, i)->seq, ==, event_at (fixture, i - 1)->seq + 1);
}

static void
test_no_bus (Fixture      *fixture,
             gconstpointer data)
{
  g_autoptr(MsStore) quiet = ms_store_new (fixture->root, SERVER, NULL);
  g_autoptr(GError) error = NULL;
  guint32 uid = 0;

  g_ptr_array_set_size (fixture->events, 0);
  g_assert_true (ms_store_deliver (quiet, "alice", "INBOX", (const guint8 *) message_one,
                                   strlen (message_one), NULL, 0, &uid, &error));
  g_assert_true (ms_store_set_flags (quiet, "alice", "INBOX", uid, "S", &error));
  g_assert_true (ms_store_expunge (quiet, "alice", "INBOX", uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->events->len, ==, 0);
}

static void
test_many_deliveries (Fixture      *fixture,
                      gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GString) body = g_string_new ("Subject: load\r\n\r\n");
  gint64 start;
  gdouble seconds;
  const guint n = 300;

  g_test_summary ("Deliveries keep UIDs dense and ordered; prints the rate.");
  while (body->len < 1024)
    g_string_append (body, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n");
  ms_trace_bus_unsubscribe (fixture->bus, fixture->subscription);
  fixture->subscription = 0;

  start = g_get_monotonic_time ();
  for (guint i = 0; i < n; i++)
    {
      guint32 uid = 0;

      g_assert_true (ms_store_deliver (fixture->store, "alice", "INBOX",
                                       (const guint8 *) body->str, body->len,
                                       NULL, 0, &uid, &error));
      g_assert_cmpuint (uid, ==, i + 1);
    }
  seconds = (g_get_monotonic_time () - start) / (gdouble) G_USEC_PER_SEC;
  g_test_message ("%u deliveries of %zu bytes in %.3f s: %.0f/s", n, body->len, seconds,
                  n / MAX (seconds, 1e-6));

  for (guint i = 1; i <= n; i += 2)
    g_assert_true (ms_store_expunge (fixture->store, "alice", "INBOX", i, &error));
  reopen (fixture);
  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, n / 2);
  for (guint i = 0; i < messages->len; i++)
    g_assert_cmpuint (((MsStoreMessage *) g_ptr_array_index (messages, i))->uid, ==, 2 * i + 2);
}

static void
test_more_folders_than_cache (Fixture      *fixture,
                              gconstpointer data)
{
  const guint n = MS_STORE_MAX_CACHED_FOLDERS + 6;

  g_test_summary ("More folders than the index cache holds all keep their UIDs.");
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *name = g_strdup_printf ("F%u", i);

      g_assert_true (ms_store_create_folder (fixture->store, "alice", name, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (deliver (fixture, name, message_one, NULL), ==, 1);
    }
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("F%u", i);
      g_autoptr(GPtrArray) messages = list (fixture, name);

      g_assert_cmpuint (messages->len, ==, 1);
      g_assert_cmpuint (deliver (fixture, name, message_two, "S"), ==, 2);
    }
}

/* Delivery does not sync the uid list (the message file is durable). A
 * crash may lose the list's last lines; the next load must give the same
 * messages the same UIDs, in delivery order. */
static void
test_lost_list_tail (Fixture      *fixture,
                     gconstpointer data)
{
  g_autofree char *list_path = g_build_filename (fixture->root, "alice", "mailscope-uidlist", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  g_autoptr(GError) error = NULL;
  char *cut;
  guint32 uids[12];

  g_test_summary ("Losing unsynced uid list lines gives the same UIDs back");
  for (guint i = 0; i < G_N_ELEMENTS (uids); i++)
    {
      g_autofree char *text = g_strdup_printf ("Subject: %u\r\n\r\nbody\r\n", i);
      uids[i] = deliver (fixture, "INBOX", text, NULL);
    }
  before = ms_store_list (fixture->store, "alice", "INBOX", &error);
  g_assert_no_error (error);
  g_clear_pointer (&fixture->store, ms_store_free);

  /* The crash: keep the header and the first 3 lines of the log. */
  g_assert_true (g_file_get_contents (list_path, &contents, NULL, &error));
  cut = contents;
  for (int line = 0; line < 4; line++)
    cut = strchr (cut, '\n') + 1;
  *cut = '\0';
  g_assert_true (g_file_set_contents (list_path, contents, -1, &error));

  fixture->store = ms_store_new (fixture->root, SERVER, fixture->bus);
  after = ms_store_list (fixture->store, "alice", "INBOX", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (after->len, ==, before->len);
  for (guint i = 0; i < after->len; i++)
    {
      MsStoreMessage *a = before->pdata[i];
      MsStoreMessage *b = after->pdata[i];

      g_assert_cmpuint (a->uid, ==, uids[i]);
      g_assert_cmpuint (b->uid, ==, a->uid);
      g_assert_cmpstr (b->name, ==, a->name);
    }
}

/* Group commit: unsynced deliveries are listed at once and wait for one
 * ms_store_sync() per directory. */
static void
test_deliver_unsynced (Fixture      *fixture,
                       gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char text[] = "Subject: group\r\n\r\ncommit\r\n";
  guint32 uid = 0;

  g_assert_false (ms_store_has_unsynced (fixture->store));
  for (int i = 0; i < 3; i++)
    {
      g_assert_true (ms_store_deliver_unsynced (fixture->store, "alice", "INBOX",
                                                (const guint8 *) text, strlen (text), &uid,
                                                &error));
      g_assert_no_error (error);
    }
  g_assert_true (ms_store_has_unsynced (fixture->store));
  messages = ms_store_list (fixture->store, "alice", "INBOX", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (messages->len, ==, 3);
  bytes = ms_store_read (fixture->store, "alice", "INBOX", uid, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), text, strlen (text));

  g_assert_true (ms_store_sync (fixture->store, &error));
  g_assert_no_error (error);
  g_assert_false (ms_store_has_unsynced (fixture->store));
}

static void
record_change_cb (const char *user,
                  const char *folder,
                  gpointer    user_data)
{
  g_ptr_array_add (user_data, g_strdup_printf ("%s/%s", user, folder));
}

static void
test_change_func (Fixture      *fixture,
                  gconstpointer data)
{
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autofree char *dropped = NULL;
  guint32 uid;
  guint32 copy_uid = 0;

  g_test_summary ("Every change to a folder calls the change function once the store "
                  "is consistent, including files another program dropped in.");

  g_assert_true (ms_store_create_folder (fixture->store, "alice", "Work", &error));
  ms_store_set_change_func (fixture->store, record_change_cb, changes);

  uid = deliver (fixture, "INBOX", message_one, NULL);
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", uid, "S", &error));
  g_assert_true (ms_store_copy (fixture->store, "alice", "inbox", uid, "Work", &copy_uid,
                                &error));
  g_assert_true (ms_store_expunge (fixture->store, "alice", "INBOX", uid, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (changes->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (changes, 0), ==, "alice/INBOX");
  g_assert_cmpstr (g_ptr_array_index (changes, 1), ==, "alice/INBOX");
  g_assert_cmpstr (g_ptr_array_index (changes, 2), ==, "alice/Work");
  g_assert_cmpstr (g_ptr_array_index (changes, 3), ==, "alice/INBOX");

  /* A file dropped into new/ by hand is a change, found by the next list. */
  dropped = path_in_root (fixture, "alice", "new", "1700000000.by-hand.host", NULL);
  g_assert_true (g_file_set_contents (dropped, message_two, -1, &error));
  g_ptr_array_unref (list (fixture, "INBOX"));
  g_assert_cmpuint (changes->len, ==, 5);
  g_assert_cmpstr (g_ptr_array_index (changes, 4), ==, "alice/INBOX");
  /* Nothing changed: no call. */
  g_ptr_array_unref (list (fixture, "INBOX"));
  g_assert_cmpuint (changes->len, ==, 5);

  g_assert_true (ms_store_rename_folder (fixture->store, "alice", "Work", "Old", &error));
  g_assert_cmpuint (changes->len, ==, 6);
  g_assert_cmpstr (g_ptr_array_index (changes, 5), ==, "alice/Work");

  ms_store_set_change_func (fixture->store, NULL, NULL);
  deliver (fixture, "INBOX", message_one, NULL);
  g_assert_cmpuint (changes->len, ==, 6);
}

static void
test_subscriptions (Fixture      *fixture,
                    gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autofree char *path = path_in_root (fixture, "alice", "mailscope-subscriptions", NULL);
  g_autofree char *contents = NULL;

  names = ms_store_list_subscriptions (fixture->store, "alice", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (names->len, ==, 0);
  g_clear_pointer (&names, g_ptr_array_unref);

  /* A name may be subscribed before its folder exists (RFC 3501 §6.3.6). */
  g_assert_true (ms_store_set_subscribed (fixture->store, "alice", "Work/2026", TRUE, &error));
  g_assert_true (ms_store_set_subscribed (fixture->store, "alice", "inbox", TRUE, &error));
  g_assert_true (ms_store_set_subscribed (fixture->store, "alice", "INBOX", TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_cmpstr (contents, ==, "INBOX\nWork/2026\n");

  g_assert_true (ms_store_set_subscribed (fixture->store, "alice", "Work/2026", FALSE, &error));
  g_assert_true (ms_store_set_subscribed (fixture->store, "alice", "Never", FALSE, &error));
  g_assert_no_error (error);
  reopen (fixture);
  names = ms_store_list_subscriptions (fixture->store, "alice", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (names->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (names, 0), ==, "INBOX");

  g_assert_false (ms_store_set_subscribed (fixture->store, "alice", "../x", TRUE, &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_INVALID_NAME);
  g_clear_error (&error);
  g_assert_false (ms_store_set_subscribed (fixture->store, "nobody", "Work", TRUE, &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
}

static void
test_read_header (Fixture      *fixture,
                  gconstpointer data)
{
  static const char lf_message[] = "Subject: LF\nFrom: a@b\n\nbody\nmore\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) header = NULL;
  g_autoptr(GBytes) cut = NULL;
  guint32 crlf_uid = deliver (fixture, "INBOX", message_one, NULL);
  guint32 lf_uid = deliver (fixture, "INBOX", lf_message, NULL);
  const char *end = strstr (message_one, "\r\n\r\n");

  header = ms_store_read_header (fixture->store, "alice", "INBOX", crlf_uid, 4096, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (header, NULL), g_bytes_get_size (header),
                   message_one, (gsize) (end + 4 - message_one));
  g_clear_pointer (&header, g_bytes_unref);

  header = ms_store_read_header (fixture->store, "alice", "INBOX", lf_uid, 4096, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (header, NULL), g_bytes_get_size (header),
                   "Subject: LF\nFrom: a@b\n\n", 23);

  /* A header longer than `max` is cut at `max`. */
  cut = ms_store_read_header (fixture->store, "alice", "INBOX", crlf_uid, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (cut, NULL), g_bytes_get_size (cut), message_one, 10);

  g_assert_null (ms_store_read_header (fixture->store, "alice", "INBOX", 999, 4096, &error));
  g_assert_error (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND);
}

/* Sets a directory's mtime to `seconds_ago` before now. */
static void
backdate (const char *path,
          int         seconds_ago)
{
  struct timespec times[2];

  clock_gettime (CLOCK_REALTIME, &times[0]);
  times[0].tv_sec -= seconds_ago;
  times[1] = times[0];
  g_assert_cmpint (utimensat (AT_FDCWD, path, times, 0), ==, 0);
}

static void
test_rescan_skipped_when_quiet (Fixture      *fixture,
                                gconstpointer data)
{
  g_autofree char *new_dir = path_in_root (fixture, "alice", "new", NULL);
  g_autofree char *cur_dir = path_in_root (fixture, "alice", "cur", NULL);
  g_autofree char *hidden = path_in_root (fixture, "alice", "new", "1700000001.hidden.host", NULL);
  g_autofree char *seen = path_in_root (fixture, "alice", "new", "1700000002.seen.host", NULL);
  g_autoptr(GError) error = NULL;
  GPtrArray *messages;
  struct stat st;

  g_test_summary ("A folder whose directories have not changed for a second is not "
                  "read again; any change to them is seen at the next list.");

  deliver (fixture, "INBOX", message_one, NULL);
  backdate (new_dir, 10);
  backdate (cur_dir, 10);
  messages = list (fixture, "INBOX");          /* reads the old mtimes: trusted */
  g_assert_cmpuint (messages->len, ==, 1);
  g_ptr_array_unref (messages);

  /* Proof that the next list skips the directories: a file whose arrival
   * is hidden from the mtime (as a same-tick change would be) is not seen. */
  g_assert_cmpint (stat (new_dir, &st), ==, 0);
  g_assert_true (g_file_set_contents (hidden, message_two, -1, &error));
  g_assert_cmpint (utimensat (AT_FDCWD, new_dir,
                              (struct timespec[2]) { st.st_mtim, st.st_mtim }, 0), ==, 0);
  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, 1);
  g_ptr_array_unref (messages);

  /* A change that moves the mtime is seen, and the hidden file with it. */
  g_assert_true (g_file_set_contents (seen, message_two, -1, &error));
  messages = list (fixture, "INBOX");
  g_assert_cmpuint (messages->len, ==, 3);
  g_ptr_array_unref (messages);
}

static void
test_list_flags (Fixture      *fixture,
                 gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) flags = NULL;
  guint32 first = deliver (fixture, "INBOX", message_one, "SF");
  guint32 second = deliver (fixture, "INBOX", message_two, NULL);
  guint32 uidvalidity = 0;
  guint32 uidnext = 0;
  guint32 expected_validity = 0;

  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", second, "Ta", &error));
  flags = ms_store_list_flags (fixture->store, "alice", "INBOX", &uidvalidity, &uidnext, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (flags->len, ==, 2);
  g_assert_cmpuint (g_array_index (flags, MsStoreMessageFlags, 0).uid, ==, first);
  g_assert_cmphex (g_array_index (flags, MsStoreMessageFlags, 0).flags, ==,
                   MS_STORE_FLAG_BIT ('F') | MS_STORE_FLAG_BIT ('S'));
  g_assert_cmpuint (g_array_index (flags, MsStoreMessageFlags, 1).uid, ==, second);
  /* The keyword 'a' has no bit. */
  g_assert_cmphex (g_array_index (flags, MsStoreMessageFlags, 1).flags, ==,
                   MS_STORE_FLAG_BIT ('T'));
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "INBOX", &expected_validity,
                                         NULL, NULL, &error));
  g_assert_cmpuint (uidvalidity, ==, expected_validity);
  g_assert_cmpuint (uidnext, ==, second + 1);
  g_assert_cmphex (ms_store_flag_bits ("DFRSTab"), ==,
                   MS_STORE_FLAG_BIT ('D') | MS_STORE_FLAG_BIT ('F') | MS_STORE_FLAG_BIT ('R') |
                   MS_STORE_FLAG_BIT ('S') | MS_STORE_FLAG_BIT ('T'));
}

static void
test_list_keeps_size_and_mtime (Fixture      *fixture,
                                gconstpointer data)
{
  g_autofree char *list_path = path_in_root (fixture, "alice", "mailscope-uidlist", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *names_only = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GRegex) stat_fields = g_regex_new ("/[0-9]+/[0-9]+\n", 0, 0, NULL);
  MsStoreMessage *m;
  guint32 uid = deliver (fixture, "INBOX", message_one, NULL);
  gint64 mtime;

  g_test_summary ("The uid list keeps each message's size and mtime, so a load after a "
                  "restart needs no stat() per message; a version 1 list is read and "
                  "rewritten as version 2.");

  messages = list (fixture, "INBOX");
  mtime = ((MsStoreMessage *) g_ptr_array_index (messages, 0))->internal_date;
  g_clear_pointer (&messages, g_ptr_array_unref);
  g_clear_pointer (&fixture->store, ms_store_free);

  /* Maildir files never change in place, so the list is believed: a file
   * grown behind our back keeps its listed size and date. */
  {
    g_autofree char *new_dir = path_in_root (fixture, "alice", "new", NULL);
    g_autoptr(GDir) dir = g_dir_open (new_dir, 0, NULL);
    g_autofree char *path = g_build_filename (new_dir, g_dir_read_name (dir), NULL);
    FILE *file = fopen (path, "a");

    fputs ("grown\r\n", file);
    fclose (file);
  }
  fixture->store = ms_store_new (fixture->root, SERVER, fixture->bus);
  messages = list (fixture, "INBOX");
  m = g_ptr_array_index (messages, 0);
  g_assert_cmpuint (m->uid, ==, uid);
  g_assert_cmpuint (m->size, ==, strlen (message_one));
  g_assert_cmpint (m->internal_date, ==, mtime);
  g_clear_pointer (&messages, g_ptr_array_unref);
  g_clear_pointer (&fixture->store, ms_store_free);

  /* A version 1 list (names only): the same UID, the size from the file,
   * and the list rewritten in version 2. */
  g_assert_true (g_file_get_contents (list_path, &contents, NULL, &error));
  names_only = g_regex_replace_literal (stat_fields, contents, -1, 0, "\n", 0, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (names_only, "mailscope-uidlist 2 "));
  names_only[18] = '1';
  g_assert_true (g_file_set_contents (list_path, names_only, -1, &error));
  fixture->store = ms_store_new (fixture->root, SERVER, fixture->bus);
  messages = list (fixture, "INBOX");
  m = g_ptr_array_index (messages, 0);
  g_assert_cmpuint (m->uid, ==, uid);
  g_assert_cmpuint (m->size, ==, strlen (message_one) + strlen ("grown\r\n"));
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (list_path, &contents, NULL, &error));
  g_assert_true (g_str_has_prefix (contents, "mailscope-uidlist 2 "));
  g_assert_true (g_regex_match (stat_fields, contents, 0, NULL));
}

static void
test_snapshot (Fixture      *fixture,
               gconstpointer data)
{
  static const char bob_message[] = "To: bob@alpha.test\r\n\r\nNo subject, no sender.\r\n";
  g_autoptr(MsStore) quiet = ms_store_new (fixture->root, SERVER, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) expected = NULL;
  g_autoptr(JsonNode) actual = NULL;
  g_autofree char *expected_json = NULL;
  g_autofree char *expected_text = NULL;
  g_autofree char *actual_text = NULL;
  guint32 validity[4] = { 0 };
  guint32 inbox_uid, work_uid, bob_uid = 0;
  const MsEvent *event;

  g_test_summary ("A snapshot lists every user, folder and message with the members "
                  "docs/trace-format.md gives them, in their order");

  g_assert_true (ms_store_ensure_user (fixture->store, "bob", &error));
  inbox_uid = deliver (fixture, "INBOX", message_one, NULL);
  g_assert_true (ms_store_create_folder (fixture->store, "alice", "Work", &error));
  g_assert_true (ms_store_create_folder (fixture->store, "alice", "Archive", &error));
  work_uid = deliver (fixture, "Work", message_two, "SF");
  g_assert_true (ms_store_set_subscribed (fixture->store, "alice", "Work", TRUE, &error));
  g_assert_true (ms_store_deliver (fixture->store, "bob", "INBOX", (const guint8 *) bob_message,
                                   strlen (bob_message), NULL, 0, &bob_uid, &error));
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "INBOX", &validity[0], NULL,
                                         NULL, &error));
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "Archive", &validity[1], NULL,
                                         NULL, &error));
  g_assert_true (ms_store_folder_status (fixture->store, "alice", "Work", &validity[2], NULL,
                                         NULL, &error));
  g_assert_true (ms_store_folder_status (fixture->store, "bob", "INBOX", &validity[3], NULL,
                                         NULL, &error));
  g_assert_no_error (error);

  /* Nobody listens on a store without a bus: nothing is built or sent. */
  g_ptr_array_set_size (fixture->events, 0);
  g_assert_true (ms_store_emit_snapshot (quiet, &error));
  g_assert_cmpuint (fixture->events->len, ==, 0);

  g_assert_true (ms_store_emit_snapshot (fixture->store, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (fixture->events->len, ==, 1);
  event = event_at (fixture, 0);
  g_assert_cmpint (event->kind, ==, MS_EVENT_SNAPSHOT);
  g_assert_cmpstr (event->server, ==, SERVER);
  g_assert_cmpuint (event->seq, >, 0);

  /* INBOX first, then the other folders sorted; flags sorted; the encoded
   * Subject decoded; a message without Subject or From has neither member. */
  expected_json = g_strdup_printf (
    "{\"messages\":3,\"users\":["
    "{\"user\":\"alice\",\"folders\":["
    "{\"folder\":\"INBOX\",\"uidvalidity\":%u,\"uidnext\":%u,\"subscribed\":false,"
    "\"messages\":[{\"uid\":%u,\"flags\":\"\",\"size\":%zu,\"subject\":\"Lunch?\","
    "\"from\":\"Bob <bob@beta.test>\"}]},"
    "{\"folder\":\"Archive\",\"uidvalidity\":%u,\"uidnext\":1,\"subscribed\":false,"
    "\"messages\":[]},"
    "{\"folder\":\"Work\",\"uidvalidity\":%u,\"uidnext\":%u,\"subscribed\":true,"
    "\"messages\":[{\"uid\":%u,\"flags\":\"FS\",\"size\":%zu,\"subject\":\"R\u00e9union\","
    "\"from\":\"carol@alpha.test\"}]}]},"
    "{\"user\":\"bob\",\"folders\":["
    "{\"folder\":\"INBOX\",\"uidvalidity\":%u,\"uidnext\":%u,\"subscribed\":false,"
    "\"messages\":[{\"uid\":%u,\"flags\":\"\",\"size\":%zu}]}]}]}",
    validity[0], inbox_uid + 1, inbox_uid, strlen (message_one),
    validity[1],
    validity[2], work_uid + 1, work_uid, strlen (message_two),
    validity[3], bob_uid + 1, bob_uid, strlen (bob_message));
  expected = json_from_string (expected_json, &error);
  g_assert_no_error (error);
  actual = json_node_init_object (json_node_alloc (), event->fields);
  expected_text = json_to_string (expected, FALSE);
  actual_text = json_to_string (actual, FALSE);
  g_assert_cmpstr (actual_text, ==, expected_text);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/server/store/deliver/files", test_deliver_writes_files);
  ADD ("/server/store/deliver/internal-date-and-read", test_deliver_internal_date_and_read);
  ADD ("/server/store/deliver/many", test_many_deliveries);
  ADD ("/server/store/deliver/unsynced", test_deliver_unsynced);
  ADD ("/server/store/uids/stable-after-reopen", test_uids_stable_after_reopen);
  ADD ("/server/store/uids/dropped-in-by-hand", test_dropped_in_by_hand);
  ADD ("/server/store/uids/moved-behind-our-back", test_moved_behind_our_back);
  ADD ("/server/store/uids/damaged-uid-list", test_damaged_uid_list);
  ADD ("/server/store/uids/second-writer", test_second_writer);
  ADD ("/server/store/uids/lost-list-tail", test_lost_list_tail);
  ADD ("/server/store/flags/move-to-cur", test_flags_move_to_cur);
  ADD ("/server/store/expunge", test_expunge);
  ADD ("/server/store/copy", test_copy);
  ADD ("/server/store/folders/create-rename-delete", test_folders);
  ADD ("/server/store/folders/more-than-cache", test_more_folders_than_cache);
  ADD ("/server/store/names/folders", test_folder_names);
  ADD ("/server/store/names/users", test_user_names);
  ADD ("/server/store/events/fields", test_events);
  ADD ("/server/store/events/no-bus", test_no_bus);
  ADD ("/server/store/events/change-func", test_change_func);
  ADD ("/server/store/subscriptions", test_subscriptions);
  ADD ("/server/store/events/snapshot", test_snapshot);
  ADD ("/server/store/read-header", test_read_header);
  ADD ("/server/store/list-flags", test_list_flags);
  ADD ("/server/store/uids/list-keeps-size-and-mtime", test_list_keeps_size_and_mtime);
  ADD ("/server/store/uids/rescan-skipped-when-quiet", test_rescan_skipped_when_quiet);
#undef ADD

  return g_test_run ();
}
