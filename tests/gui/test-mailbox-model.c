/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-mailbox-model"

#include "config.h"

#include <time.h>

/* Sanitizer builds run several times slower: the figures that count are the
 * normal build's, asserted there. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#else
#define SANITIZED 0
#endif

#include "ms-mailbox-model.h"
#include "gui-test-fixture.h"
#include "ms-trace-model.h"

/* The position of the first event (from `from` on) of `kind` whose member
 * `name` is `value`, found in the trace rather than written down. */
static guint
find_event (MsTraceModel *trace,
            guint from,
            MsEventKind kind,
            const char *name,
            const char *value)
{
  for (guint i = from; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      if (event->kind == kind && g_strcmp0 (ms_event_get_string (event, name), value) == 0)
        return i;
    }
  g_assert_not_reached ();
}

typedef struct {
  guint uid;
  const char *flags;
  MsMessageStatus status;
  const char *subject;
} ExpectedRow;

static void
assert_rows (MsMailboxModel *model,
             const char *server,
             const char *user,
             const char *folder,
             const ExpectedRow *rows,
             guint n_rows)
{
  GListModel *messages = ms_mailbox_model_get_messages (model, server, user, folder);

  g_assert_cmpuint (g_list_model_get_n_items (messages), ==, n_rows);
  for (guint i = 0; i < n_rows; i++)
    {
      g_autoptr(MsMessageItem) row = g_list_model_get_item (messages, i);

      g_assert_cmpuint (ms_message_item_get_uid (row), ==, rows[i].uid);
      g_assert_cmpstr (ms_message_item_get_flags (row), ==, rows[i].flags);
      g_assert_cmpstr (ms_message_status_to_string (ms_message_item_get_status (row)), ==,
                       ms_message_status_to_string (rows[i].status));
      g_assert_cmpstr (ms_message_item_get_subject (row), ==, rows[i].subject);
    }
}

static MsFolderItem *
find_folder (MsMailboxModel *model,
             const char *server,
             const char *user,
             const char *folder)
{
  GListModel *folders = ms_mailbox_model_get_folders (model);

  for (guint i = 0; i < g_list_model_get_n_items (folders); i++)
    {
      g_autoptr(MsFolderItem) item = g_list_model_get_item (folders, i);

      if (g_strcmp0 (ms_folder_item_get_server (item), server) == 0
          && g_strcmp0 (ms_folder_item_get_user (item), user) == 0
          && g_strcmp0 (ms_folder_item_get_folder (item), folder) == 0)
        return item;   /* the model keeps a reference */
    }
  return NULL;
}

static void
test_lecture (void)
{
  static const ExpectedRow delivered[] = {
    { 1, "", MS_MESSAGE_STATUS_PRESENT, "Hello Bob" },
  };
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("lecture.jsonl");
  g_autoptr(MsMailboxModel) model = ms_mailbox_model_new ();
  guint deliver = find_event (trace, 0, MS_EVENT_STORE, "op", "deliver");
  MsMessageItem *message;
  MsFolderItem *inbox;

  /* Bound before anything is known: the same list fills in. */
  GListModel *bound = ms_mailbox_model_get_messages (model, "beta.test", "bob", "INBOX");

  ms_mailbox_model_rebuild (model, trace, deliver);
  g_assert_cmpuint (g_list_model_get_n_items (bound), ==, 0);
  ms_mailbox_model_rebuild (model, trace, G_MAXUINT);
  g_assert_true (bound == ms_mailbox_model_get_messages (model, "beta.test", "bob", "INBOX"));
  assert_rows (model, "beta.test", "bob", "INBOX", delivered, G_N_ELEMENTS (delivered));

  message = ms_mailbox_model_lookup_message (model, "beta.test", "bob", "INBOX", 1);
  g_assert_cmpstr (ms_message_item_get_from (message), ==, "Alice <alice@alpha.test>");
  g_assert_cmpuint (ms_message_item_get_size (message), ==,
                    ms_event_get_int (ms_trace_model_get_event (trace, deliver), "size", 0));
  g_assert_cmpuint (ms_message_item_get_changed_seq (message), ==,
                    ms_trace_model_get_event (trace, deliver)->seq);

  inbox = find_folder (model, "beta.test", "bob", "INBOX");
  g_assert_nonnull (inbox);
  g_assert_cmpuint (ms_folder_item_get_n_messages (inbox), ==, 1);
  g_assert_cmpuint (ms_folder_item_get_n_unseen (inbox), ==, 1);
  g_assert_nonnull (find_folder (model, "alpha.test", "alice", "INBOX"));
  /* Ordered by server: alpha before beta. */
  g_assert_cmpuint (g_list_model_get_n_items (ms_mailbox_model_get_folders (model)), ==, 2);
  {
    g_autoptr(MsFolderItem) first = g_list_model_get_item (ms_mailbox_model_get_folders (model),
                                                           0);
    g_assert_cmpstr (ms_folder_item_get_server (first), ==, "alpha.test");
  }
}

static void
test_pop3_delete (void)
{
  /* The snapshot holds the lecture's message; two more arrive, then POP3. */
  static const ExpectedRow one_marked[] = {
    { 1, "", MS_MESSAGE_STATUS_POP3_MARKED, "Hello Bob" },
    { 2, "", MS_MESSAGE_STATUS_PRESENT, "First" },
    { 3, "", MS_MESSAGE_STATUS_PRESENT, "Second" },
  };
  static const ExpectedRow before_quit[] = {
    { 1, "", MS_MESSAGE_STATUS_POP3_MARKED, "Hello Bob" },
    { 2, "", MS_MESSAGE_STATUS_POP3_MARKED, "First" },
    { 3, "", MS_MESSAGE_STATUS_POP3_MARKED, "Second" },
  };
  static const ExpectedRow after_quit[] = {
    { 1, "", MS_MESSAGE_STATUS_GONE, "Hello Bob" },
    { 2, "", MS_MESSAGE_STATUS_GONE, "First" },
    { 3, "", MS_MESSAGE_STATUS_GONE, "Second" },
  };
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("pop3-delete.jsonl");
  g_autoptr(MsMailboxModel) model = ms_mailbox_model_new ();
  guint first_mark = find_event (trace, 0, MS_EVENT_STORE, "op", "pop3-mark");
  guint quit = find_event (trace, 0, MS_EVENT_COMMAND, "verb", "QUIT");
  MsFolderItem *inbox;

  g_test_summary ("DELE only marks (RFC 1939 §5); QUIT's UPDATE state removes.");
  /* QUIT of the SMTP deliveries come first: find POP3's. */
  while (g_strcmp0 (ms_event_get_string (ms_trace_model_get_event (trace, quit), "proto"),
                    "pop3") != 0)
    quit = find_event (trace, quit + 1, MS_EVENT_COMMAND, "verb", "QUIT");

  ms_mailbox_model_rebuild (model, trace, first_mark + 1);
  assert_rows (model, "beta.test", "bob", "INBOX", one_marked, G_N_ELEMENTS (one_marked));
  ms_mailbox_model_rebuild (model, trace, quit);
  assert_rows (model, "beta.test", "bob", "INBOX", before_quit, G_N_ELEMENTS (before_quit));
  inbox = find_folder (model, "beta.test", "bob", "INBOX");
  g_assert_cmpuint (ms_folder_item_get_n_messages (inbox), ==, 3);

  ms_mailbox_model_rebuild (model, trace, G_MAXUINT);
  assert_rows (model, "beta.test", "bob", "INBOX", after_quit, G_N_ELEMENTS (after_quit));
  inbox = find_folder (model, "beta.test", "bob", "INBOX");
  g_assert_cmpuint (ms_folder_item_get_n_messages (inbox), ==, 0);
  g_assert_cmpuint (ms_folder_item_get_n_unseen (inbox), ==, 0);

  /* And back again: the timeline goes both ways. */
  ms_mailbox_model_rebuild (model, trace, quit);
  assert_rows (model, "beta.test", "bob", "INBOX", before_quit, G_N_ELEMENTS (before_quit));
}

static void
test_no_snapshot (void)
{
  static const ExpectedRow marked[] = {
    { 1, "", MS_MESSAGE_STATUS_POP3_MARKED, NULL },
    { 2, "", MS_MESSAGE_STATUS_POP3_MARKED, "First" },
    { 3, "", MS_MESSAGE_STATUS_POP3_MARKED, "Second" },
  };
  static const ExpectedRow gone[] = {
    { 1, "", MS_MESSAGE_STATUS_GONE, "Hello Bob" },
    { 2, "", MS_MESSAGE_STATUS_GONE, "First" },
    { 3, "", MS_MESSAGE_STATUS_GONE, "Second" },
  };
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("pop3-delete.jsonl");
  g_autoptr(MsMailboxModel) model = ms_mailbox_model_new ();
  guint commit = find_event (trace, 0, MS_EVENT_STORE, "op", "pop3-commit");

  g_test_summary ("Without a snapshot (an older trace), a message first seen in a delta "
                  "is added as it comes, with what that delta tells.");
  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      if (event->kind != MS_EVENT_SNAPSHOT)
        ms_mailbox_model_apply (model, event);
      if (i + 1 == commit)
        assert_rows (model, "beta.test", "bob", "INBOX", marked, G_N_ELEMENTS (marked));
    }
  assert_rows (model, "beta.test", "bob", "INBOX", gone, G_N_ELEMENTS (gone));
}

static void
test_imap_move (void)
{
  static const ExpectedRow before_move[] = {
    { 4, "", MS_MESSAGE_STATUS_PRESENT, "Keep this" },
    { 5, "", MS_MESSAGE_STATUS_PRESENT, "Throw away" },
  };
  static const ExpectedRow moved_inbox[] = {
    { 4, "", MS_MESSAGE_STATUS_GONE, "Keep this" },
    { 5, "", MS_MESSAGE_STATUS_PRESENT, "Throw away" },
  };
  static const ExpectedRow flagged_inbox[] = {
    { 4, "", MS_MESSAGE_STATUS_GONE, "Keep this" },
    { 5, "T", MS_MESSAGE_STATUS_DELETED_FLAG, "Throw away" },
  };
  static const ExpectedRow final_inbox[] = {
    { 4, "", MS_MESSAGE_STATUS_GONE, "Keep this" },
    { 5, "T", MS_MESSAGE_STATUS_GONE, "Throw away" },
  };
  static const ExpectedRow lectures[] = {
    { 1, "", MS_MESSAGE_STATUS_PRESENT, "Keep this" },
  };
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("imap-move.jsonl");
  g_autoptr(MsMailboxModel) model = ms_mailbox_model_new ();
  guint copy = find_event (trace, 0, MS_EVENT_STORE, "op", "copy");
  guint flag = find_event (trace, 0, MS_EVENT_STORE, "op", "flag");
  guint expunge = find_event (trace, flag, MS_EVENT_STORE, "op", "expunge");
  MsMessageItem *copied;

  ms_mailbox_model_rebuild (model, trace, copy);
  assert_rows (model, "beta.test", "bob", "INBOX", before_move, G_N_ELEMENTS (before_move));
  /* CREATE came first: the folder is there, empty. */
  g_assert_nonnull (find_folder (model, "beta.test", "bob", "Lectures"));
  assert_rows (model, "beta.test", "bob", "Lectures", NULL, 0);

  /* MOVE (RFC 6851): the copy in the target, the original gone. */
  ms_mailbox_model_rebuild (model, trace, flag);
  assert_rows (model, "beta.test", "bob", "INBOX", moved_inbox, G_N_ELEMENTS (moved_inbox));
  assert_rows (model, "beta.test", "bob", "Lectures", lectures, G_N_ELEMENTS (lectures));
  copied = ms_mailbox_model_lookup_message (model, "beta.test", "bob", "Lectures", 1);
  g_assert_cmpstr (ms_message_item_get_from (copied), ==, "Carol <carol@gamma.test>");
  g_assert_cmpuint (ms_message_item_get_changed_seq (copied), ==,
                    ms_trace_model_get_event (trace, copy)->seq);

  /* STORE +FLAGS \Deleted, then EXPUNGE (RFC 3501 §6.4.3). */
  ms_mailbox_model_rebuild (model, trace, expunge);
  assert_rows (model, "beta.test", "bob", "INBOX", flagged_inbox, G_N_ELEMENTS (flagged_inbox));
  ms_mailbox_model_rebuild (model, trace, G_MAXUINT);
  assert_rows (model, "beta.test", "bob", "INBOX", final_inbox, G_N_ELEMENTS (final_inbox));
  assert_rows (model, "beta.test", "bob", "Lectures", lectures, G_N_ELEMENTS (lectures));
  g_assert_cmpuint (ms_folder_item_get_n_messages (find_folder (model, "beta.test", "bob",
                                                                "INBOX")), ==, 0);
}

/* The event the trace has of `kind` on `server` with `name` = `value`. */
static MsEvent *
find_line (MsTraceModel *trace,
           MsEventKind kind,
           const char *server,
           const char *name,
           const char *value)
{
  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      if (event->kind == kind && g_strcmp0 (event->server, server) == 0
          && g_strcmp0 (ms_event_get_string (event, name), value) == 0)
        return event;
    }
  g_assert_not_reached ();
}

/* The first `command` or `data` event of `session` on beta.test whose
 * text is `text` (any text when NULL). */
static MsEvent *
find_cause (MsTraceModel *trace,
            MsEventKind kind,
            const char *session,
            const char *text)
{
  for (guint i = 0; i < ms_trace_model_get_n_events (trace); i++)
    {
      MsEvent *event = ms_trace_model_get_event (trace, i);

      if (event->kind == kind && g_strcmp0 (event->server, "beta.test") == 0
          && g_strcmp0 (ms_event_get_string (event, "session"), session) == 0
          && (text == NULL || g_strcmp0 (ms_event_get_string (event, "text"), text) == 0))
        return event;
    }
  g_assert_not_reached ();
}

/* What a row says of its last change: the store op, and the line that
 * caused it (session NULL: none, a snapshot's row). */
typedef struct {
  guint uid;
  MsMessageStatus status;
  const char *op;
  MsEventKind cause_kind;
  const char *session;
  const char *text;           /* the command's text; NULL for message data */
} ExpectedChange;

static void
assert_changes (MsMailboxModel *model,
                MsTraceModel *trace,
                const char *folder,
                const ExpectedChange *rows,
                guint n_rows)
{
  GListModel *messages = ms_mailbox_model_get_messages (model, "beta.test", "bob", folder);

  g_assert_cmpuint (g_list_model_get_n_items (messages), ==, n_rows);
  for (guint i = 0; i < n_rows; i++)
    {
      g_autoptr(MsMessageItem) row = g_list_model_get_item (messages, i);
      const MsEvent *cause = ms_message_item_get_cause (row);
      const char *mark_server = NULL;
      guint64 mark_seq = 0;
      gboolean has_mark = ms_message_item_get_mark (row, &mark_server, &mark_seq);

      g_test_message ("%s uid %u", folder, rows[i].uid);
      g_assert_cmpuint (ms_message_item_get_uid (row), ==, rows[i].uid);
      g_assert_cmpstr (ms_message_status_to_string (ms_message_item_get_status (row)), ==,
                       ms_message_status_to_string (rows[i].status));
      g_assert_cmpstr (ms_message_item_get_changed_op (row), ==, rows[i].op);
      g_assert_cmpstr (ms_message_item_get_changed_server (row), ==, "beta.test");
      if (rows[i].session == NULL)
        {
          /* Only a snapshot has no cause here: no mark either. */
          g_assert_null (cause);
          g_assert_false (has_mark);
          continue;
        }
      g_assert_nonnull (cause);
      g_assert_cmpint (cause->kind, ==, rows[i].cause_kind);
      g_assert_cmpstr (ms_event_get_string (cause, "session"), ==, rows[i].session);
      if (rows[i].text != NULL)
        g_assert_cmpstr (ms_event_get_string (cause, "text"), ==, rows[i].text);
      /* The cause is the trace's own event of that line. */
      g_assert_true (cause == find_cause (trace, rows[i].cause_kind, rows[i].session,
                                          rows[i].text));
      /* The store event came after its cause, and the mark is the cause. */
      g_assert_cmpuint (ms_message_item_get_changed_seq (row), >, cause->seq);
      g_assert_true (has_mark);
      g_assert_cmpstr (mark_server, ==, "beta.test");
      g_assert_cmpuint (mark_seq, ==, cause->seq);
      g_assert_true (ms_message_item_changed_by (row, "beta.test", cause->seq));
      g_assert_true (ms_message_item_changed_by (row, "beta.test",
                                                 ms_message_item_get_changed_seq (row)));
      g_assert_false (ms_message_item_changed_by (row, "alpha.test", cause->seq));
      g_assert_false (ms_message_item_changed_by (row, "beta.test", 0));
    }
}

static void
assert_last_change (MsMailboxModel *model,
                    const MsEvent *expected)
{
  const char *server = NULL;
  guint64 seq = 0;

  g_assert_true (ms_mailbox_model_get_last_change (model, &server, &seq));
  g_assert_cmpstr (server, ==, expected->server);
  g_assert_cmpuint (seq, ==, expected->seq);
}

static void
count_notify (GObject *object,
              GParamSpec *pspec,
              gpointer data)
{
  (*(guint *) data)++;
}

static void
test_changes_pop3 (void)
{
  static const ExpectedChange from_snapshot[] = {
    { 1, MS_MESSAGE_STATUS_PRESENT, "snapshot", 0, NULL, NULL },
    { 2, MS_MESSAGE_STATUS_PRESENT, "deliver", MS_EVENT_DATA, "smtp-1", NULL },
    { 3, MS_MESSAGE_STATUS_PRESENT, "deliver", MS_EVENT_DATA, "smtp-2", NULL },
  };
  static const ExpectedChange marked[] = {
    { 1, MS_MESSAGE_STATUS_POP3_MARKED, "pop3-mark", MS_EVENT_COMMAND, "pop3-1", "DELE 1" },
    { 2, MS_MESSAGE_STATUS_POP3_MARKED, "pop3-mark", MS_EVENT_COMMAND, "pop3-1", "DELE 2" },
    { 3, MS_MESSAGE_STATUS_POP3_MARKED, "pop3-mark", MS_EVENT_COMMAND, "pop3-1", "DELE 3" },
  };
  static const ExpectedChange gone[] = {
    { 1, MS_MESSAGE_STATUS_GONE, "expunge", MS_EVENT_COMMAND, "pop3-1", "QUIT" },
    { 2, MS_MESSAGE_STATUS_GONE, "expunge", MS_EVENT_COMMAND, "pop3-1", "QUIT" },
    { 3, MS_MESSAGE_STATUS_GONE, "expunge", MS_EVENT_COMMAND, "pop3-1", "QUIT" },
  };
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("pop3-delete.jsonl");
  g_autoptr(MsMailboxModel) model = ms_mailbox_model_new ();
  guint first_mark = find_event (trace, 0, MS_EVENT_STORE, "op", "pop3-mark");
  guint commit = find_event (trace, 0, MS_EVENT_STORE, "op", "pop3-commit");
  guint notified = 0;
  MsEvent *quit = NULL;

  g_test_summary ("Each row knows the event that last changed it and the line that caused "
                  "it: the SMTP message, POP3 DELE (marked), POP3 QUIT (gone).");
  ms_mailbox_model_rebuild (model, trace, first_mark);
  assert_changes (model, trace, "INBOX", from_snapshot, G_N_ELEMENTS (from_snapshot));

  ms_mailbox_model_rebuild (model, trace, commit);
  assert_changes (model, trace, "INBOX", marked, G_N_ELEMENTS (marked));
  assert_last_change (model, find_cause (trace, MS_EVENT_COMMAND, "pop3-1", "DELE 3"));

  ms_mailbox_model_rebuild (model, trace, G_MAXUINT);
  assert_changes (model, trace, "INBOX", gone, G_N_ELEMENTS (gone));
  quit = (MsEvent *) ms_message_item_get_cause (
    ms_mailbox_model_lookup_message (model, "beta.test", "bob", "INBOX", 1));
  g_assert_cmpstr (ms_event_get_string (quit, "proto"), ==, "pop3");
  assert_last_change (model, quit);

  /* Reset forgets the last change, and says so. */
  g_signal_connect (model, "notify::last-change-seq", G_CALLBACK (count_notify), &notified);
  ms_mailbox_model_reset (model);
  g_assert_cmpuint (notified, ==, 1);
  g_assert_false (ms_mailbox_model_get_last_change (model, NULL, NULL));
}

#define MOVE_LINE "a3 UID MOVE 4 \"Lectures\""

static void
test_changes_imap (void)
{
  static const ExpectedChange delivered[] = {
    { 4, MS_MESSAGE_STATUS_PRESENT, "deliver", MS_EVENT_DATA, "smtp-1", NULL },
    { 5, MS_MESSAGE_STATUS_PRESENT, "deliver", MS_EVENT_DATA, "smtp-2", NULL },
  };
  static const ExpectedChange flagged[] = {
    { 4, MS_MESSAGE_STATUS_GONE, "expunge", MS_EVENT_COMMAND, "imap-3", MOVE_LINE },
    { 5, MS_MESSAGE_STATUS_DELETED_FLAG, "flag", MS_EVENT_COMMAND, "imap-5",
      "a3 UID STORE 5 +FLAGS (\\Deleted)" },
  };
  static const ExpectedChange expunged[] = {
    { 4, MS_MESSAGE_STATUS_GONE, "expunge", MS_EVENT_COMMAND, "imap-3", MOVE_LINE },
    { 5, MS_MESSAGE_STATUS_GONE, "expunge", MS_EVENT_COMMAND, "imap-6", "a3 EXPUNGE" },
  };
  static const ExpectedChange lectures[] = {
    { 1, MS_MESSAGE_STATUS_PRESENT, "copy", MS_EVENT_COMMAND, "imap-3", MOVE_LINE },
  };
  g_autoptr(MsTraceModel) trace = gui_test_load_fixture ("imap-move.jsonl");
  g_autoptr(MsMailboxModel) model = ms_mailbox_model_new ();
  guint create = find_event (trace, 0, MS_EVENT_STORE, "op", "create-folder");
  guint flag = find_event (trace, 0, MS_EVENT_STORE, "op", "flag");
  guint expunge = find_event (trace, flag, MS_EVENT_STORE, "op", "expunge");
  MsEvent *move = find_line (trace, MS_EVENT_COMMAND, "beta.test", "verb", "UID MOVE");
  MsEvent *store = find_line (trace, MS_EVENT_COMMAND, "beta.test", "verb", "UID STORE");
  MsEvent *expunge_command = find_line (trace, MS_EVENT_COMMAND, "beta.test", "verb", "EXPUNGE");
  MsMessageItem *moved;

  g_test_summary ("IMAP MOVE: the copy and the original's removal have the same cause; "
                  "STORE \\Deleted marks, EXPUNGE removes.");
  ms_mailbox_model_rebuild (model, trace, create);
  assert_changes (model, trace, "INBOX", delivered, G_N_ELEMENTS (delivered));

  ms_mailbox_model_rebuild (model, trace, expunge);
  assert_changes (model, trace, "INBOX", flagged, G_N_ELEMENTS (flagged));
  assert_changes (model, trace, "Lectures", lectures, G_N_ELEMENTS (lectures));
  assert_last_change (model, store);
  /* The moved original: changed by MOVE's line and by its own store event. */
  moved = ms_mailbox_model_lookup_message (model, "beta.test", "bob", "INBOX", 4);
  g_assert_true (ms_message_item_get_cause (moved) == move);
  g_assert_true (ms_message_item_changed_by (moved, "beta.test", move->seq));
  g_assert_false (ms_message_item_changed_by (moved, "beta.test", store->seq));

  ms_mailbox_model_rebuild (model, trace, G_MAXUINT);
  assert_changes (model, trace, "INBOX", expunged, G_N_ELEMENTS (expunged));
  assert_changes (model, trace, "Lectures", lectures, G_N_ELEMENTS (lectures));
  assert_last_change (model, expunge_command);
}

static MsEvent *
event_from_json (const char *json)
{
  g_autoptr(GError) error = NULL;
  MsEvent *event = ms_event_from_json (json, -1, &error);

  g_assert_no_error (error);
  return event;
}

static void
test_snapshot (void)
{
  static const ExpectedRow from_snapshot[] = {
    { 3, "S", MS_MESSAGE_STATUS_PRESENT, "Old news" },
    { 7, "T", MS_MESSAGE_STATUS_DELETED_FLAG, "Spam" },
  };
  static const ExpectedRow after_deltas[] = {
    { 3, "S", MS_MESSAGE_STATUS_PRESENT, "Old news" },
    { 7, "T", MS_MESSAGE_STATUS_GONE, "Spam" },
    { 8, "", MS_MESSAGE_STATUS_PRESENT, "New" },
  };
  static const ExpectedRow replaced[] = {
    { 9, "", MS_MESSAGE_STATUS_PRESENT, "Only this" },
  };
  g_autoptr(MsMailboxModel) model = ms_mailbox_model_new ();
  g_autoptr(MsEvent) snapshot = event_from_json (
    "{\"v\":1,\"seq\":1,\"time\":\"2026-11-22T09:00:00.000001Z\",\"server\":\"beta.test\","
    "\"kind\":\"snapshot\",\"users\":[{\"user\":\"bob\",\"folders\":["
    "{\"folder\":\"INBOX\",\"uidvalidity\":5,\"uidnext\":8,\"subscribed\":true,\"messages\":["
    "{\"uid\":7,\"flags\":\"T\",\"size\":90,\"subject\":\"Spam\",\"from\":\"x@y\"},"
    "{\"uid\":3,\"flags\":\"S\",\"size\":120,\"subject\":\"Old news\",\"from\":\"a@b\"}]},"
    "{\"folder\":\"Archive\",\"uidvalidity\":6,\"uidnext\":1,\"subscribed\":false,"
    "\"messages\":[]}]}],\"messages\":2}");
  g_autoptr(MsEvent) deliver = event_from_json (
    "{\"v\":1,\"seq\":2,\"time\":\"2026-11-22T09:00:01.000001Z\",\"server\":\"beta.test\","
    "\"kind\":\"store\",\"op\":\"deliver\",\"user\":\"bob\",\"folder\":\"INBOX\",\"uid\":8,"
    "\"flags\":\"\",\"size\":10,\"subject\":\"New\"}");
  g_autoptr(MsEvent) expunge = event_from_json (
    "{\"v\":1,\"seq\":3,\"time\":\"2026-11-22T09:00:02.000001Z\",\"server\":\"beta.test\","
    "\"kind\":\"store\",\"op\":\"expunge\",\"user\":\"bob\",\"folder\":\"INBOX\",\"uid\":7}");
  g_autoptr(MsEvent) rename = event_from_json (
    "{\"v\":1,\"seq\":4,\"time\":\"2026-11-22T09:00:03.000001Z\",\"server\":\"beta.test\","
    "\"kind\":\"store\",\"op\":\"rename-folder\",\"user\":\"bob\",\"folder\":\"Archive\","
    "\"new-name\":\"Old\"}");
  g_autoptr(MsEvent) later = event_from_json (
    "{\"v\":1,\"seq\":9,\"time\":\"2026-11-22T09:00:04.000001Z\",\"server\":\"beta.test\","
    "\"kind\":\"snapshot\",\"users\":[{\"user\":\"bob\",\"folders\":[{\"folder\":\"INBOX\","
    "\"messages\":[{\"uid\":9,\"flags\":\"\",\"size\":1,\"subject\":\"Only this\"}]}]}]}");
  GListModel *inbox;

  ms_mailbox_model_apply (model, snapshot);
  assert_rows (model, "beta.test", "bob", "INBOX", from_snapshot, G_N_ELEMENTS (from_snapshot));
  g_assert_cmpuint (ms_folder_item_get_n_messages (find_folder (model, "beta.test", "bob",
                                                                "INBOX")), ==, 2);
  g_assert_cmpuint (ms_folder_item_get_n_unseen (find_folder (model, "beta.test", "bob",
                                                              "INBOX")), ==, 1);
  g_assert_nonnull (find_folder (model, "beta.test", "bob", "Archive"));

  ms_mailbox_model_apply (model, deliver);
  ms_mailbox_model_apply (model, expunge);
  ms_mailbox_model_apply (model, rename);
  assert_rows (model, "beta.test", "bob", "INBOX", after_deltas, G_N_ELEMENTS (after_deltas));
  g_assert_null (find_folder (model, "beta.test", "bob", "Archive"));
  g_assert_nonnull (find_folder (model, "beta.test", "bob", "Old"));

  /* A later snapshot replaces what was known of its server. */
  inbox = ms_mailbox_model_get_messages (model, "beta.test", "bob", "INBOX");
  ms_mailbox_model_apply (model, later);
  assert_rows (model, "beta.test", "bob", "INBOX", replaced, G_N_ELEMENTS (replaced));
  g_assert_true (inbox == ms_mailbox_model_get_messages (model, "beta.test", "bob", "INBOX"));
  g_assert_null (find_folder (model, "beta.test", "bob", "Old"));
  g_assert_cmpuint (g_list_model_get_n_items (ms_mailbox_model_get_folders (model)), ==, 1);

  ms_mailbox_model_reset (model);
  g_assert_cmpuint (g_list_model_get_n_items (ms_mailbox_model_get_folders (model)), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (inbox), ==, 0);
}

static void
test_rebuild_big (void)
{
  g_autoptr(MsTraceModel) trace = ms_trace_model_new ();
  g_autoptr(MsMailboxModel) model = ms_mailbox_model_new ();
  guint n = 100000;
  guint expected_present = 0;
  gint64 start;
  clock_t cpu_start;
  double seconds, cpu_seconds;

  g_test_summary ("The timeline slider: the mailboxes at event N of 100,000, fast.");
  /* Per message: a command line, a deliver and, for every third, a flag and
   * an expunge: the mix of a busy trace. */
  for (guint i = 0, uid = 1; i < n; uid++)
    {
      g_autoptr(MsEvent) command = ms_event_new (MS_EVENT_COMMAND, "beta.test");
      g_autoptr(MsEvent) deliver = ms_event_new (MS_EVENT_STORE, "beta.test");

      ms_event_set_string (command, "session", "smtp-1");
      ms_event_set_string (command, "text", "DATA");
      command->seq = ++i;
      ms_trace_model_append (trace, command);
      ms_event_set_string (deliver, "op", "deliver");
      ms_event_set_string (deliver, "user", uid % 2 ? "bob" : "dave");
      ms_event_set_string (deliver, "folder", "INBOX");
      ms_event_set_int (deliver, "uid", uid);
      ms_event_set_string (deliver, "subject", "load");
      deliver->seq = ++i;
      ms_trace_model_append (trace, deliver);
      if (uid % 3 == 0)
        {
          g_autoptr(MsEvent) expunge = ms_event_new (MS_EVENT_STORE, "beta.test");

          ms_event_set_string (expunge, "op", "expunge");
          ms_event_set_string (expunge, "user", uid % 2 ? "bob" : "dave");
          ms_event_set_string (expunge, "folder", "INBOX");
          ms_event_set_int (expunge, "uid", uid);
          expunge->seq = ++i;
          ms_trace_model_append (trace, expunge);
        }
      else
        expected_present++;
    }
  ms_trace_model_flush (trace);
  n = ms_trace_model_get_n_events (trace);
  g_assert_cmpuint (n, >=, 100000);

  start = g_get_monotonic_time ();
  cpu_start = clock ();
  ms_mailbox_model_rebuild (model, trace, n);
  seconds = (g_get_monotonic_time () - start) / (double) G_USEC_PER_SEC;
  cpu_seconds = (clock () - cpu_start) / (double) CLOCKS_PER_SEC;
  g_printerr ("# mailbox-model: rebuilt from %u events in %.3f s (%.3f s of CPU)\n", n, seconds,
              cpu_seconds);
  g_assert_cmpuint (ms_folder_item_get_n_messages (find_folder (model, "beta.test", "bob",
                                                                "INBOX"))
                    + ms_folder_item_get_n_messages (find_folder (model, "beta.test", "dave",
                                                                  "INBOX")),
                    ==, expected_present);
  /* CPU time, not wall time: other processes on a loaded machine must not
   * fail the test; the wall time is printed for the record. */
  if (!SANITIZED)
    g_assert_cmpfloat (cpu_seconds, <, 1.0);

  /* Halfway back. */
  ms_mailbox_model_rebuild (model, trace, n / 2);
  g_assert_cmpuint (g_list_model_get_n_items (ms_mailbox_model_get_messages (model, "beta.test",
                                                                             "bob", "INBOX")),
                    <, expected_present);
}

int
main (int argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gui/mailbox-model/lecture", test_lecture);
  g_test_add_func ("/gui/mailbox-model/pop3-delete", test_pop3_delete);
  g_test_add_func ("/gui/mailbox-model/no-snapshot", test_no_snapshot);
  g_test_add_func ("/gui/mailbox-model/imap-move", test_imap_move);
  g_test_add_func ("/gui/mailbox-model/snapshot", test_snapshot);
  g_test_add_func ("/gui/mailbox-model/rebuild-100k", test_rebuild_big);
  g_test_add_func ("/gui/mailbox-model/changes-pop3", test_changes_pop3);
  g_test_add_func ("/gui/mailbox-model/changes-imap", test_changes_imap);

  return g_test_run ();
}
