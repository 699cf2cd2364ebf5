/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-pop3-fetch"

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <glib/gstdio.h>

#include "ms-conn.h"
#include "ms-local-maildir.h"
#include "ms-pop3-fetch.h"

/* --- a small scripted POP3 server on 127.0.0.1:0 --------------------- */

typedef struct {
  const char *uid;
  const char *text;     /* LF line ends */
  gboolean gone;        /* removed by a committed QUIT */
} FakeMessage;

/* Enough of RFC 1939 for the client: a fixed maildrop, DELE marks, QUIT
 * commits, and every command is logged. `drop_after_retr` closes the
 * connection right after the Nth RETR answer of a session. */
typedef struct {
  GSocketService *service;
  guint16 port;
  FakeMessage *messages;
  guint n_messages;
  guint drop_after_retr;

  GString *log;         /* every command of every session, one per line */
  MsConn *conn;
  gboolean closed;
  GPtrArray *session;   /* FakeMessage* visible in this session, by number - 1 */
  GArray *marked;       /* gboolean per session message */
  guint retr_count;
  guint sessions;
} FakePop3;

static GString *
wire_text (const char *text)
{
  GString *wire = g_string_new (NULL);
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);

  /* The text ends with "\n": the last piece is empty. */
  for (guint i = 0; i + 1 < n || (i < n && lines[i][0] != '\0'); i++)
    g_string_append_printf (wire, "%s\r\n", lines[i]);
  return wire;
}

static FakeMessage *
fake_message (FakePop3 *fake,
              const char *arg)
{
  guint64 n = 0;

  if (!g_ascii_string_to_unsigned (arg, 10, 1, fake->session->len, &n, NULL) ||
      g_array_index (fake->marked, gboolean, n - 1))
    return NULL;
  return g_ptr_array_index (fake->session, n - 1);
}

static void
fake_line_cb (MsConn *conn,
              const char *line,
              gsize len,
              MsLineFlags flags,
              gpointer user_data)
{
  FakePop3 *fake = user_data;
  g_auto(GStrv) words = g_strsplit (line, " ", 3);
  const char *verb = words[0] ? words[0] : "";
  FakeMessage *message;

  g_string_append_printf (fake->log, "%s\n", line);

  if (g_str_equal (verb, "CAPA"))
    ms_conn_write (conn, "+OK\r\nTOP\r\nUIDL\r\nUSER\r\n.\r\n", 25);
  else if (g_str_equal (verb, "USER") || g_str_equal (verb, "PASS") || g_str_equal (verb, "NOOP"))
    ms_conn_write_line (conn, "+OK");
  else if (g_str_equal (verb, "STAT") || g_str_equal (verb, "LIST") || g_str_equal (verb, "UIDL"))
    {
      guint count = 0;
      gsize total = 0;
      g_autoptr(GString) listing = g_string_new (NULL);

      for (guint i = 0; i < fake->session->len; i++)
        {
          FakeMessage *m = g_ptr_array_index (fake->session, i);
          g_autoptr(GString) wire = wire_text (m->text);

          if (g_array_index (fake->marked, gboolean, i))
            continue;
          count++;
          total += wire->len;
          if (g_str_equal (verb, "LIST"))
            g_string_append_printf (listing, "%u %" G_GSIZE_FORMAT "\r\n", i + 1, wire->len);
          else
            g_string_append_printf (listing, "%u %s\r\n", i + 1, m->uid);
        }
      if (g_str_equal (verb, "STAT"))
        ms_conn_printf (conn, "+OK %u %" G_GSIZE_FORMAT "\r\n", count, total);
      else
        ms_conn_printf (conn, "+OK\r\n%s.\r\n", listing->str);
    }
  else if ((g_str_equal (verb, "RETR") || g_str_equal (verb, "TOP")) && words[1] != NULL &&
           (message = fake_message (fake, words[1])) != NULL)
    {
      g_autoptr(GString) wire = wire_text (message->text);
      g_auto(GStrv) lines = g_strsplit (wire->str, "\r\n", -1);

      ms_conn_write_line (conn, "+OK");
      /* RFC 1939 §3: byte-stuff lines that start with ".". TOP is only
       * used with whole messages here. */
      for (guint i = 0; lines[i] != NULL && lines[i + 1] != NULL; i++)
        ms_conn_printf (conn, "%s%s\r\n", lines[i][0] == '.' ? "." : "", lines[i]);
      ms_conn_write_line (conn, ".");
      if (g_str_equal (verb, "RETR") && ++fake->retr_count == fake->drop_after_retr)
        ms_conn_close_after_flush (conn);
    }
  else if (g_str_equal (verb, "DELE") && words[1] != NULL && fake_message (fake, words[1]) != NULL)
    {
      g_array_index (fake->marked, gboolean, atoi (words[1]) - 1) = TRUE;
      ms_conn_write_line (conn, "+OK marked");
    }
  else if (g_str_equal (verb, "QUIT"))
    {
      /* RFC 1939 §6: UPDATE. */
      for (guint i = 0; i < fake->session->len; i++)
        if (g_array_index (fake->marked, gboolean, i))
          ((FakeMessage *) g_ptr_array_index (fake->session, i))->gone = TRUE;
      ms_conn_write_line (conn, "+OK bye");
      ms_conn_close_after_flush (conn);
    }
  else
    ms_conn_write_line (conn, "-ERR no such message or command");
}

static void
fake_closed_cb (MsConn *conn,
                const char *reason,
                gpointer user_data)
{
  FakePop3 *fake = user_data;

  fake->closed = TRUE;
}

static const MsConnCallbacks fake_callbacks = {
  .line = fake_line_cb,
  .closed = fake_closed_cb,
};

static gboolean
fake_incoming_cb (GSocketService *service,
                  GSocketConnection *connection,
                  GObject *source_object,
                  gpointer user_data)
{
  FakePop3 *fake = user_data;

  /* One session at a time: the previous one is over. */
  g_assert_true (fake->conn == NULL || fake->closed);
  g_clear_pointer (&fake->conn, ms_conn_unref);
  g_clear_pointer (&fake->session, g_ptr_array_unref);
  g_clear_pointer (&fake->marked, g_array_unref);
  fake->closed = FALSE;
  fake->retr_count = 0;
  fake->sessions++;
  fake->session = g_ptr_array_new ();
  for (guint i = 0; i < fake->n_messages; i++)
    if (!fake->messages[i].gone)
      g_ptr_array_add (fake->session, &fake->messages[i]);
  fake->marked = g_array_new (FALSE, TRUE, sizeof (gboolean));
  g_array_set_size (fake->marked, fake->session->len);

  fake->conn = ms_conn_new (connection, NULL, &fake_callbacks, fake);
  ms_conn_write_line (fake->conn, "+OK fake POP3 ready");
  ms_conn_start (fake->conn);
  return TRUE;
}

static void
fake_start (FakePop3 *fake,
            FakeMessage *messages,
            guint n_messages)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) effective = NULL;

  fake->messages = messages;
  fake->n_messages = n_messages;
  fake->log = g_string_new (NULL);
  fake->service = g_socket_service_new ();
  g_socket_listener_add_address (G_SOCKET_LISTENER (fake->service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  fake->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));
  g_signal_connect (fake->service, "incoming", G_CALLBACK (fake_incoming_cb), fake);
  g_socket_service_start (fake->service);
}

static void
fake_stop (FakePop3 *fake)
{
  g_socket_service_stop (fake->service);
  g_socket_listener_close (G_SOCKET_LISTENER (fake->service));
  g_clear_object (&fake->service);
  if (fake->conn != NULL)
    {
      if (!fake->closed)
        ms_conn_close (fake->conn);
      while (!fake->closed)
        g_main_context_iteration (NULL, TRUE);
    }
  g_clear_pointer (&fake->conn, ms_conn_unref);
  g_clear_pointer (&fake->session, g_ptr_array_unref);
  g_clear_pointer (&fake->marked, g_array_unref);
  g_string_free (fake->log, TRUE);
}

/* Waits until the fake server has seen the end of its session too. */
static void
fake_wait_closed (FakePop3 *fake)
{
  while (fake->conn != NULL && !fake->closed)
    g_main_context_iteration (NULL, TRUE);
}

/* --- helpers --------------------------------------------------------- */

typedef struct {
  MsPop3FetchResult *result;
  GError *error;
  gboolean finished;
} FetchOutcome;

static void
fetch_done_cb (GObject *source,
               GAsyncResult *res,
               gpointer user_data)
{
  FetchOutcome *outcome = user_data;

  outcome->result = ms_pop3_fetch_finish (res, &outcome->error);
  outcome->finished = TRUE;
}

static MsPop3FetchResult *
run_job (FakePop3 *fake,
         MsPop3FetchJob job,
         MsPop3FetchMode mode,
         const char *dir)
{
  FetchOutcome outcome = { 0 };
  MsPop3FetchParams params = {
    .host = "127.0.0.1",
    .port = fake->port,
    .username = "bob",
    .password = "bobpw",
    .job = job,
    .top_msg = 2,
    .top_lines = 1,
    .mode = mode,
    .maildir = dir,
    .timeout_s = 10,
  };

  ms_pop3_fetch_async (&params, NULL, fetch_done_cb, &outcome);
  while (!outcome.finished)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (outcome.error);
  g_assert_nonnull (outcome.result);
  fake_wait_closed (fake);
  return outcome.result;
}

static int
compare_texts (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The contents of DIR/new, sorted by contents. */
static GPtrArray *
read_new (const char *dir)
{
  g_autofree char *new_dir = g_build_filename (dir, "new", NULL);
  g_autoptr(GDir) handle = g_dir_open (new_dir, 0, NULL);
  GPtrArray *contents = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (handle);
  while ((name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (new_dir, name, NULL);
      char *text = NULL;

      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      g_ptr_array_add (contents, text);
    }
  g_ptr_array_sort (contents, compare_texts);
  return contents;
}

static void
assert_all_saved (const char *dir,
                  const FakeMessage *messages,
                  guint n_messages)
{
  g_autoptr(GPtrArray) contents = read_new (dir);
  g_autofree char *tmp_dir = g_build_filename (dir, "tmp", NULL);
  g_autoptr(GDir) tmp = g_dir_open (tmp_dir, 0, NULL);

  g_assert_cmpuint (contents->len, ==, n_messages);
  for (guint i = 0; i < n_messages; i++)
    g_assert_cmpstr (g_ptr_array_index (contents, i), ==, messages[i].text);
  /* Nothing left half-written. */
  g_assert_nonnull (tmp);
  g_assert_null (g_dir_read_name (tmp));
}

static char *
read_state (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, MS_LOCAL_MAILDIR_STATE_FILE, NULL);
  char *text = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return NULL;
  return text;
}

/* The state file's lines for bob, without the comment header. */
static char *
state_lines (const char *dir)
{
  g_autofree char *text = read_state (dir);
  g_auto(GStrv) lines = NULL;
  GString *kept = g_string_new (NULL);

  if (text == NULL)
    return g_string_free (kept, FALSE);
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (lines[i][0] != '#' && lines[i][0] != '\0')
      g_string_append_printf (kept, "%s\n", lines[i]);
  return g_string_free (kept, FALSE);
}

static void
remove_tree (const char *dir)
{
  static const char * const subdirs[] = { "new", "cur", "tmp" };

  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *sub = g_build_filename (dir, subdirs[i], NULL);
      g_autoptr(GDir) handle = g_dir_open (sub, 0, NULL);
      const char *name;

      while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
        {
          g_autofree char *path = g_build_filename (sub, name, NULL);
          g_unlink (path);
        }
      g_rmdir (sub);
    }
  {
    g_autofree char *state = g_build_filename (dir, MS_LOCAL_MAILDIR_STATE_FILE, NULL);
    g_unlink (state);
  }
  g_rmdir (dir);
}

#define MESSAGES_INIT \
  { \
    { "uid-one", "Subject: 1 one\n\nfirst\n" }, \
    { "uid-two", "Subject: 2 two\n\n.leading dot\n..two dots\n" }, \
    { "uid-three", "Subject: 3 three\n\nthird\n.\nend\n" }, \
  }

/* --- tests ----------------------------------------------------------- */

static void
test_delete_mode (void)
{
  FakeMessage messages[] = MESSAGES_INIT;
  FakePop3 fake = { 0 };
  g_autofree char *dir = g_dir_make_tmp ("ms-pop3-fetch-XXXXXX", NULL);
  g_autoptr(MsPop3FetchResult) result = NULL;
  g_autofree char *summary = NULL;
  g_autofree char *state = NULL;
  g_autofree char *expected_summary = NULL;

  g_test_summary ("Delete mode saves each message, then DELEs it, and QUIT commits at the end");
  fake_start (&fake, messages, G_N_ELEMENTS (messages));
  result = run_job (&fake, MS_POP3_FETCH_JOB_FETCH, MS_POP3_FETCH_MODE_DELETE, dir);

  g_assert_cmpint (result->status, ==, MS_POP3_CLIENT_STATUS_OK);
  g_assert_null (result->local_error);
  g_assert_true (result->committed);
  g_assert_cmpstr (fake.log->str, ==,
                   "CAPA\nUSER bob\nPASS bobpw\nSTAT\nLIST\nUIDL\n"
                   "RETR 1\nDELE 1\nRETR 2\nDELE 2\nRETR 3\nDELE 3\nQUIT\n");
  assert_all_saved (dir, messages, G_N_ELEMENTS (messages));
  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    g_assert_true (messages[i].gone);
  g_assert_cmpuint (result->saved, ==, 3);
  g_assert_cmpuint (result->deleted, ==, 3);
  /* Committed: nothing left to remember. */
  state = state_lines (dir);
  g_assert_cmpstr (state, ==, "");

  summary = ms_pop3_fetch_result_summary (result, MS_POP3_FETCH_MODE_DELETE);
  expected_summary = g_strdup_printf ("3 new messages saved to %s/new (%" G_GUINT64_FORMAT
                                      " bytes); 3 deleted on the server", dir, result->saved_bytes);
  g_assert_cmpstr (summary, ==, expected_summary);
  g_assert_cmpuint (result->saved_bytes, ==,
                    strlen (messages[0].text) + strlen (messages[1].text) + strlen (messages[2].text));

  fake_stop (&fake);
  remove_tree (dir);
}

static void
test_keep_mode_twice (void)
{
  FakeMessage messages[] = MESSAGES_INIT;
  FakePop3 fake = { 0 };
  g_autofree char *dir = g_dir_make_tmp ("ms-pop3-fetch-XXXXXX", NULL);
  g_autoptr(MsPop3FetchResult) first = NULL;
  g_autoptr(MsPop3FetchResult) second = NULL;
  g_autofree char *state = NULL;
  g_autofree char *expected_state = NULL;
  g_autofree char *summary = NULL;
  const char *second_log;

  g_test_summary ("Keep mode remembers the UIDLs; a second run downloads nothing");
  fake_start (&fake, messages, G_N_ELEMENTS (messages));
  first = run_job (&fake, MS_POP3_FETCH_JOB_FETCH, MS_POP3_FETCH_MODE_KEEP, dir);
  g_assert_cmpint (first->status, ==, MS_POP3_CLIENT_STATUS_OK);
  g_assert_cmpstr (fake.log->str, ==,
                   "CAPA\nUSER bob\nPASS bobpw\nSTAT\nLIST\nUIDL\nRETR 1\nRETR 2\nRETR 3\nQUIT\n");
  assert_all_saved (dir, messages, G_N_ELEMENTS (messages));
  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    g_assert_false (messages[i].gone);

  /* One line per UIDL for this server and user, sorted. */
  state = state_lines (dir);
  expected_state = g_strdup_printf ("bob@127.0.0.1:%u uid-one\nbob@127.0.0.1:%u uid-three\n"
                                    "bob@127.0.0.1:%u uid-two\n", fake.port, fake.port, fake.port);
  g_assert_cmpstr (state, ==, expected_state);
  summary = ms_pop3_fetch_result_summary (first, MS_POP3_FETCH_MODE_KEEP);
  g_assert_true (g_str_has_suffix (summary, "; kept on the server"));

  g_string_truncate (fake.log, 0);
  second = run_job (&fake, MS_POP3_FETCH_JOB_FETCH, MS_POP3_FETCH_MODE_KEEP, dir);
  second_log = fake.log->str;
  g_assert_cmpint (second->status, ==, MS_POP3_CLIENT_STATUS_OK);
  g_assert_cmpstr (second_log, ==, "CAPA\nUSER bob\nPASS bobpw\nSTAT\nLIST\nUIDL\nQUIT\n");
  g_assert_cmpuint (second->saved, ==, 0);
  g_assert_cmpuint (second->skipped, ==, 3);
  assert_all_saved (dir, messages, G_N_ELEMENTS (messages));
  g_clear_pointer (&state, g_free);
  state = state_lines (dir);
  g_assert_cmpstr (state, ==, expected_state);

  fake_stop (&fake);
  remove_tree (dir);
}

static void
test_drop_after_second_retr (void)
{
  FakeMessage messages[] = MESSAGES_INIT;
  FakePop3 fake = { .drop_after_retr = 2 };
  g_autofree char *dir = g_dir_make_tmp ("ms-pop3-fetch-XXXXXX", NULL);
  g_autoptr(MsPop3FetchResult) first = NULL;
  g_autoptr(MsPop3FetchResult) second = NULL;
  g_autoptr(GPtrArray) saved = NULL;
  g_autofree char *state = NULL;
  g_autofree char *expected_state = NULL;

  g_test_summary ("Delete mode, the connection drops after the 2nd RETR: what was saved stays, "
                  "nothing is removed on the server, and a rerun does not download it again");
  fake_start (&fake, messages, G_N_ELEMENTS (messages));
  first = run_job (&fake, MS_POP3_FETCH_JOB_FETCH, MS_POP3_FETCH_MODE_DELETE, dir);

  g_assert_cmpint (first->status, ==, MS_POP3_CLIENT_STATUS_TEMP_FAILURE);
  g_assert_false (first->committed);
  g_assert_cmpuint (first->saved, ==, 2);
  g_assert_null (strstr (fake.log->str, "QUIT"));
  g_assert_true (g_str_has_suffix (fake.log->str, "RETR 1\nDELE 1\nRETR 2\n"));
  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    g_assert_false (messages[i].gone);
  saved = read_new (dir);
  g_assert_cmpuint (saved->len, ==, 2);
  g_assert_cmpstr (g_ptr_array_index (saved, 0), ==, messages[0].text);
  g_assert_cmpstr (g_ptr_array_index (saved, 1), ==, messages[1].text);
  /* Until a QUIT succeeds, the state file says what is already here. */
  state = state_lines (dir);
  expected_state = g_strdup_printf ("bob@127.0.0.1:%u uid-one\nbob@127.0.0.1:%u uid-two\n",
                                    fake.port, fake.port);
  g_assert_cmpstr (state, ==, expected_state);

  /* The rerun only deletes what it has, and fetches the rest. */
  fake.drop_after_retr = 0;
  g_string_truncate (fake.log, 0);
  second = run_job (&fake, MS_POP3_FETCH_JOB_FETCH, MS_POP3_FETCH_MODE_DELETE, dir);
  g_assert_cmpint (second->status, ==, MS_POP3_CLIENT_STATUS_OK);
  g_assert_true (second->committed);
  g_assert_cmpstr (fake.log->str, ==,
                   "CAPA\nUSER bob\nPASS bobpw\nSTAT\nLIST\nUIDL\n"
                   "DELE 1\nDELE 2\nRETR 3\nDELE 3\nQUIT\n");
  g_assert_cmpuint (second->saved, ==, 1);
  g_assert_cmpuint (second->skipped, ==, 2);
  g_assert_cmpuint (second->deleted, ==, 3);
  assert_all_saved (dir, messages, G_N_ELEMENTS (messages));
  for (guint i = 0; i < G_N_ELEMENTS (messages); i++)
    g_assert_true (messages[i].gone);
  g_clear_pointer (&state, g_free);
  state = state_lines (dir);
  g_assert_cmpstr (state, ==, "");

  fake_stop (&fake);
  remove_tree (dir);
}

static void
test_two_devices (void)
{
  FakeMessage messages[] = MESSAGES_INIT;
  FakePop3 fake = { 0 };
  g_autofree char *laptop = g_dir_make_tmp ("ms-pop3-laptop-XXXXXX", NULL);
  g_autofree char *phone = g_dir_make_tmp ("ms-pop3-phone-XXXXXX", NULL);
  g_autoptr(MsPop3FetchResult) first = NULL;
  g_autoptr(MsPop3FetchResult) second = NULL;

  g_test_summary ("Keep mode into two Maildirs: each device gets every message");
  fake_start (&fake, messages, G_N_ELEMENTS (messages));
  first = run_job (&fake, MS_POP3_FETCH_JOB_FETCH, MS_POP3_FETCH_MODE_KEEP, laptop);
  second = run_job (&fake, MS_POP3_FETCH_JOB_FETCH, MS_POP3_FETCH_MODE_KEEP, phone);
  g_assert_cmpint (first->status, ==, MS_POP3_CLIENT_STATUS_OK);
  g_assert_cmpint (second->status, ==, MS_POP3_CLIENT_STATUS_OK);
  g_assert_cmpuint (first->saved, ==, 3);
  g_assert_cmpuint (second->saved, ==, 3);
  assert_all_saved (laptop, messages, G_N_ELEMENTS (messages));
  assert_all_saved (phone, messages, G_N_ELEMENTS (messages));

  fake_stop (&fake);
  remove_tree (laptop);
  remove_tree (phone);
}

static void
test_list_and_top (void)
{
  FakeMessage messages[] = MESSAGES_INIT;
  FakePop3 fake = { 0 };
  g_autoptr(MsPop3FetchResult) listing = NULL;
  g_autoptr(MsPop3FetchResult) top = NULL;
  const MsPop3FetchMessage *second;
  gsize len = 0;
  const char *data;

  fake_start (&fake, messages, G_N_ELEMENTS (messages));
  listing = run_job (&fake, MS_POP3_FETCH_JOB_LIST, MS_POP3_FETCH_MODE_KEEP, NULL);
  g_assert_cmpint (listing->status, ==, MS_POP3_CLIENT_STATUS_OK);
  g_assert_cmpstr (fake.log->str, ==, "CAPA\nUSER bob\nPASS bobpw\nSTAT\nLIST\nUIDL\nQUIT\n");
  g_assert_cmpuint (listing->count, ==, 3);
  g_assert_true (listing->have_uids);
  g_assert_cmpuint (listing->messages->len, ==, 3);
  second = g_ptr_array_index (listing->messages, 1);
  g_assert_cmpuint (second->msg, ==, 2);
  g_assert_cmpstr (second->uid, ==, "uid-two");
  g_assert_cmpuint (second->size, ==, strlen (messages[1].text) + 4);

  g_string_truncate (fake.log, 0);
  top = run_job (&fake, MS_POP3_FETCH_JOB_TOP, MS_POP3_FETCH_MODE_KEEP, NULL);
  g_assert_cmpint (top->status, ==, MS_POP3_CLIENT_STATUS_OK);
  g_assert_cmpstr (fake.log->str, ==, "CAPA\nUSER bob\nPASS bobpw\nTOP 2 1\nQUIT\n");
  g_assert_nonnull (top->top);
  data = g_bytes_get_data (top->top, &len);
  /* The fake sends the whole message; what matters is the unstuffing. */
  g_assert_cmpmem (data, len, "Subject: 2 two\r\n\r\n.leading dot\r\n..two dots\r\n", 44);

  fake_stop (&fake);
}

static void
test_connection_refused (void)
{
  FakePop3 fake = { 0 };
  g_autoptr(MsPop3FetchResult) result = NULL;
  FetchOutcome outcome = { 0 };
  guint16 port;
  MsPop3FetchParams params = {
    .host = "127.0.0.1", .username = "bob", .password = "bobpw", .job = MS_POP3_FETCH_JOB_LIST,
    .timeout_s = 10,
  };

  /* A port that was just free. */
  fake_start (&fake, NULL, 0);
  port = fake.port;
  fake_stop (&fake);
  params.port = port;
  ms_pop3_fetch_async (&params, NULL, fetch_done_cb, &outcome);
  while (!outcome.finished)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (outcome.error);
  result = outcome.result;
  g_assert_cmpint (result->status, ==, MS_POP3_CLIENT_STATUS_TEMP_FAILURE);
  g_assert_nonnull (strstr (result->text, "cannot connect"));
}

static void
test_bad_params (void)
{
  const MsPop3FetchParams cases[] = {
    { .host = "127.0.0.1", .port = 1, .username = "bob\r\nDELE 1", .password = "x" },
    { .host = "127.0.0.1", .port = 1, .username = "bob", .password = NULL },
    { .host = NULL, .port = 1, .username = "bob", .password = "x" },
    { .host = "127.0.0.1", .port = 1, .username = "bob", .password = "x", .job = MS_POP3_FETCH_JOB_TOP },
    { .host = "127.0.0.1", .port = 1, .username = "bob", .password = "x", .job = MS_POP3_FETCH_JOB_FETCH },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      FetchOutcome outcome = { 0 };

      ms_pop3_fetch_async (&cases[i], NULL, fetch_done_cb, &outcome);
      while (!outcome.finished)
        g_main_context_iteration (NULL, TRUE);
      g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_null (outcome.result);
      g_clear_error (&outcome.error);
    }
}

static void
test_state_file_keeps_other_accounts (void)
{
  g_autofree char *dir = g_dir_make_tmp ("ms-pop3-state-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(MsLocalMaildir) maildir = ms_local_maildir_open (dir, &error);
  g_autoptr(GHashTable) uids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) loaded = NULL;
  g_autofree char *key = ms_local_maildir_account_key ("a b@c", "::1", 110);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (key, ==, "a%20b%40c@%3A%3A1:110");
  g_hash_table_add (uids, (gpointer) "x1");
  g_assert_true (ms_local_maildir_save_uids (maildir, "other@h:1", uids, &error));
  g_hash_table_remove_all (uids);
  g_hash_table_add (uids, (gpointer) "y1");
  g_hash_table_add (uids, (gpointer) "y2");
  g_assert_true (ms_local_maildir_save_uids (maildir, key, uids, &error));
  g_assert_no_error (error);
  text = state_lines (dir);
  g_assert_cmpstr (text, ==, "other@h:1 x1\na%20b%40c@%3A%3A1:110 y1\na%20b%40c@%3A%3A1:110 y2\n");
  loaded = ms_local_maildir_load_uids (maildir, "other@h:1", &error);
  g_assert_cmpuint (g_hash_table_size (loaded), ==, 1);
  g_assert_true (g_hash_table_contains (loaded, "x1"));
  remove_tree (dir);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/client/pop3-fetch/delete-mode", test_delete_mode);
  g_test_add_func ("/client/pop3-fetch/keep-mode-twice", test_keep_mode_twice);
  g_test_add_func ("/client/pop3-fetch/drop-after-second-retr", test_drop_after_second_retr);
  g_test_add_func ("/client/pop3-fetch/two-devices", test_two_devices);
  g_test_add_func ("/client/pop3-fetch/list-and-top", test_list_and_top);
  g_test_add_func ("/client/pop3-fetch/connection-refused", test_connection_refused);
  g_test_add_func ("/client/pop3-fetch/bad-params", test_bad_params);
  g_test_add_func ("/client/local-maildir/state-file-keeps-other-accounts",
                   test_state_file_keeps_other_accounts);

  return g_test_run ();
}
