/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ms-imap-session-private.h"
#include "ms-test-util.h"

/* Session tests against a real MsStore in a temporary directory: what a
 * test asserts is the bytes on the wire and the files in the Maildir. The
 * fake backend knows alice (alicepw) and bob (bobpw) and keeps the \Recent
 * mark per folder, as the server's glue does. Each Client is one session
 * with an output that appends to a GString and records read_bytes. */

#define HOST "alpha.test"

typedef struct _Fixture Fixture;

typedef struct {
  Fixture *fixture;
  MsImapSession *session;
  GString *output;
  GArray *read_requests;      /* of gsize: each read_bytes count */
  gsize pending_bytes;        /* literal bytes the session still waits for */
  gboolean closed;
  gboolean tls_started;
  guint holds;
} Client;

struct _Fixture {
  char *root;
  MsStore *store;
  GHashTable *recent_marks;   /* "user/folder" -> guint32 */
  MsTraceBus *bus;
  GPtrArray *events;
  Client a;
  Client b;
};

static gboolean
fake_authenticate (gpointer data,
                   const char *user,
                   const char *password,
                   char **user_r)
{
  if ((strcmp (user, "alice") == 0 && strcmp (password, "alicepw") == 0) ||
      (strcmp (user, "bob") == 0 && strcmp (password, "bobpw") == 0))
    {
      *user_r = g_strdup (user);
      return TRUE;
    }
  return FALSE;
}

static guint32
fake_claim_recent (gpointer data,
                   const char *user,
                   const char *folder,
                   guint32 uidnext)
{
  Fixture *fixture = data;
  g_autofree char *key = g_strdup_printf ("%s/%s", user, folder);
  guint32 old = GPOINTER_TO_UINT (g_hash_table_lookup (fixture->recent_marks, key));

  g_hash_table_replace (fixture->recent_marks, g_steal_pointer (&key),
                        GUINT_TO_POINTER (MAX (old, uidnext)));
  return MAX (old, 1);
}

static const MsImapBackend fake_backend = { fake_authenticate, fake_claim_recent };

static void
out_send (gpointer data,
          const char *bytes,
          gsize len)
{
  Client *client = data;

  g_assert_false (client->closed);
  g_string_append_len (client->output, bytes, len);
}

static void
out_start_tls (gpointer data)
{
  ((Client *) data)->tls_started = TRUE;
}

static void
out_close (gpointer data)
{
  ((Client *) data)->closed = TRUE;
}

static void
out_set_max_line (gpointer data,
                  gsize max_line)
{
}

static void
out_hold (gpointer data,
          guint milliseconds)
{
  ((Client *) data)->holds++;
}

static void
out_read_bytes (gpointer data,
                gsize count)
{
  Client *client = data;

  g_assert_cmpuint (client->pending_bytes, ==, 0);
  g_array_append_val (client->read_requests, count);
  client->pending_bytes = count;
}

static const MsSessionOutput fake_output = {
  out_send, out_start_tls, out_close, out_set_max_line, out_hold, out_read_bytes,
};

static void
collect_cb (const MsEvent *event,
            gpointer user_data)
{
  g_ptr_array_add (user_data, ms_event_ref ((MsEvent *) event));
}

typedef enum {
  START_PLAIN = 0,
  START_NEEDS_TLS = 1 << 0,     /* STARTTLS offered, LOGIN only after it */
  START_LENIENT = 1 << 1,       /* 1000 bad commands allowed */
  START_SMALL = 1 << 2,         /* max_literal 1024, max_append 4096 */
} StartFlags;

static void
client_start (Fixture *fixture,
              Client *client,
              StartFlags flags,
              const char *session_id)
{
  MsImapSessionConfig config = {
    .hostname = HOST,
    .store = fixture->store,
    .tls_available = (flags & START_NEEDS_TLS) != 0,
    .login_needs_tls = (flags & START_NEEDS_TLS) != 0,
    .max_literal = (flags & START_SMALL) ? 1024 : 0,
    .max_append = (flags & START_SMALL) ? 4096 : 0,
    .max_bad_commands = (flags & START_LENIENT) ? 1000 : 0,
    .bus = fixture->bus,
    .server_name = HOST,
    .session_id = session_id,
  };

  client->fixture = fixture;
  client->output = g_string_new (NULL);
  client->read_requests = g_array_new (FALSE, FALSE, sizeof (gsize));
  client->session = ms_imap_session_new (&config, &fake_backend, fixture, &fake_output, client);
  ms_imap_session_start (client->session);
}

static void
client_stop (Client *client)
{
  g_clear_pointer (&client->session, ms_imap_session_free);
  if (client->output != NULL)
    g_string_free (g_steal_pointer (&client->output), TRUE);
  g_clear_pointer (&client->read_requests, g_array_unref);
}

static void
deliver (Fixture *fixture,
         const char *user,
         const char *folder,
         const char *text,
         const char *flags,
         guint32 *uid_r)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (ms_store_deliver (fixture->store, user, folder, (const guint8 *) text,
                                   strlen (text), flags, 0, uid_r, &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture *fixture,
                gconstpointer user_data)
{
  g_autoptr(GError) error = NULL;

  fixture->root = g_dir_make_tmp ("test-imap-session-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->store = ms_store_new (fixture->root, HOST, NULL);
  g_assert_true (ms_store_ensure_user (fixture->store, "alice", &error));
  g_assert_true (ms_store_ensure_user (fixture->store, "bob", &error));
  g_assert_no_error (error);
  for (guint i = 1; i <= 3; i++)
    {
      g_autofree char *text = g_strdup_printf ("Subject: message %u\r\n\r\nbody %u\r\n", i, i);

      deliver (fixture, "alice", "INBOX", text, i == 1 ? "S" : NULL, NULL);
    }
  g_assert_true (ms_store_create_folder (fixture->store, "alice", "Work", &error));
  g_assert_no_error (error);
  fixture->recent_marks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  fixture->bus = ms_trace_bus_new ();
  fixture->events = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  ms_trace_bus_subscribe (fixture->bus, collect_cb, fixture->events, NULL);
  client_start (fixture, &fixture->a, GPOINTER_TO_INT (user_data), "imap-1");
}

static void
fixture_tear_down (Fixture *fixture,
                   gconstpointer user_data)
{
  client_stop (&fixture->a);
  client_stop (&fixture->b);
  ms_store_free (fixture->store);
  ms_test_remove_tree (fixture->root);
  g_free (fixture->root);
  g_hash_table_unref (fixture->recent_marks);
  ms_trace_bus_unref (fixture->bus);
  g_ptr_array_unref (fixture->events);
}

/* Feeds `wire` as a connection would: lines, and raw bytes while the
 * session waits for a literal. Returns what the session sent meanwhile. */
static char *
feed (Client *client,
      const char *wire)
{
  gsize len = strlen (wire);
  gsize pos = 0;

  g_string_truncate (client->output, 0);
  while (pos < len && !client->closed)
    {
      if (client->pending_bytes > 0)
        {
          gsize take = MIN (client->pending_bytes, len - pos);

          client->pending_bytes -= take;
          ms_imap_session_feed_bytes (client->session, (const guint8 *) wire + pos, take,
                                      client->pending_bytes == 0);
          pos += take;
          continue;
        }
      {
        const char *lf = memchr (wire + pos, '\n', len - pos);
        gsize end = lf != NULL ? (gsize) (lf - wire) : len;
        gsize content = end;
        MsLineFlags flags = MS_LINE_FLAG_NONE;

        if (content > pos && wire[content - 1] == '\r')
          content--;
        else if (lf != NULL)
          flags |= MS_LINE_FLAG_BARE_LF;
        ms_imap_session_feed_line (client->session, wire + pos, content - pos, flags);
        pos = lf != NULL ? end + 1 : len;
      }
    }
  return g_strdup (client->output->str);
}

static void
expect (Client *client,
        const char *wire,
        const char *expected)
{
  g_autofree char *got = feed (client, wire);

  if (strcmp (got, expected) != 0)
    g_error ("after \"%s\":\nexpected \"%s\"\n     got \"%s\"", wire, expected, got);
}

static void
expect_prefix (Client *client,
               const char *wire,
               const char *prefix)
{
  g_autofree char *got = feed (client, wire);

  if (!g_str_has_prefix (got, prefix))
    g_error ("after \"%s\":\nexpected \"%s...\"\n     got \"%s\"", wire, prefix, got);
}

static void
login (Client *client)
{
  expect_prefix (client, "l1 LOGIN alice alicepw\r\n", "l1 OK [CAPABILITY IMAP4rev1 ");
  g_assert_cmpint (ms_imap_session_get_state (client->session), ==,
                   MS_IMAP_STATE_AUTHENTICATED);
}

static void
select_inbox (Client *client)
{
  g_autofree char *got = NULL;

  login (client);
  got = feed (client, "s1 SELECT INBOX\r\n");
  g_assert_true (g_str_has_suffix (got, "s1 OK [READ-WRITE] SELECT completed\r\n"));
  g_assert_cmpint (ms_imap_session_get_state (client->session), ==, MS_IMAP_STATE_SELECTED);
}

static guint32
uidvalidity (Fixture *fixture,
             const char *folder)
{
  guint32 value = 0;

  g_assert_true (ms_store_folder_status (fixture->store, "alice", folder, &value, NULL, NULL,
                                         NULL));
  return value;
}

static char *
maildir_path (Fixture *fixture,
              const char *user,
              const char *folder_on_disk)
{
  return g_build_filename (fixture->root, user, folder_on_disk, NULL);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The names of the files in a Maildir's cur/ (and new/), sorted. */
static char *
maildir_files (Fixture *fixture,
               const char *folder_on_disk,
               const char *sub)
{
  g_autofree char *dir_path = NULL;
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  dir_path = g_build_filename (fixture->root, "alice", folder_on_disk, sub, NULL);
  dir = g_dir_open (dir_path, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

/* ---- tests ---- */

static void
test_greeting (Fixture *fixture,
               gconstpointer user_data)
{
  Client *a = &fixture->a;

  g_assert_cmpstr (a->output->str, ==,
                   "* OK [CAPABILITY " MS_IMAP_CAPABILITIES " AUTH=PLAIN SASL-IR] "
                   HOST " Mailscope IMAP4rev1 ready\r\n");
  expect (a, "c1 CAPABILITY\r\n",
          "* CAPABILITY " MS_IMAP_CAPABILITIES " AUTH=PLAIN SASL-IR\r\n"
          "c1 OK CAPABILITY completed\r\n");
  expect (a, "c2 noop\r\n", "c2 OK NOOP completed\r\n");
  expect (a, "c3 ID NIL\r\n", "* ID (\"name\" \"Mailscope\" \"version\" \"" PACKAGE_VERSION
          "\")\r\nc3 OK ID completed\r\n");
  expect (a, "c4 ID (\"name\" \"test\")\r\n", "* ID (\"name\" \"Mailscope\" \"version\" \""
          PACKAGE_VERSION "\")\r\nc4 OK ID completed\r\n");
  expect (a, "c5 LOGOUT\r\n", "* BYE " HOST " Mailscope IMAP4rev1 server logging out\r\n"
          "c5 OK LOGOUT completed\r\n");
  g_assert_true (a->closed);
  g_assert_cmpint (ms_imap_session_get_state (a->session), ==, MS_IMAP_STATE_LOGOUT);
}

static void
test_starttls (Fixture *fixture,
               gconstpointer user_data)
{
  Client *a = &fixture->a;

  g_assert_true (g_str_has_prefix (a->output->str, "* OK [CAPABILITY " MS_IMAP_CAPABILITIES
                                   " STARTTLS LOGINDISABLED] "));
  expect (a, "t1 LOGIN alice alicepw\r\n",
          "t1 NO [PRIVACYREQUIRED] LOGIN is disabled until STARTTLS\r\n");
  expect (a, "t2 AUTHENTICATE PLAIN\r\n",
          "t2 NO [PRIVACYREQUIRED] Authentication is disabled until STARTTLS\r\n");
  g_assert_cmpstr (ms_imap_session_get_user (a->session), ==, NULL);
  expect (a, "t3 STARTTLS\r\n", "t3 OK Begin TLS negotiation now\r\n");
  g_assert_true (a->tls_started);
  g_assert_cmpint (ms_imap_session_get_state (a->session), ==, MS_IMAP_STATE_TLS);
  /* Nothing is read in plain text after STARTTLS (RFC 3501 §6.2.1). */
  expect (a, "t4 LOGIN alice alicepw\r\n", "");
  ms_imap_session_tls_done (a->session, TRUE);
  expect (a, "t5 CAPABILITY\r\n", "* CAPABILITY " MS_IMAP_CAPABILITIES " AUTH=PLAIN SASL-IR\r\n"
          "t5 OK CAPABILITY completed\r\n");
  expect (a, "t6 STARTTLS\r\n", "t6 BAD TLS is already active\r\n");
  login (a);
}

static void
test_login (Fixture *fixture,
            gconstpointer user_data)
{
  Client *a = &fixture->a;

  expect (a, "a1 LOGIN alice wrong\r\n",
          "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
  g_assert_cmpuint (a->holds, ==, 1);
  expect (a, "a2 LOGIN \"alice\" {7}\r\nalicepw\r\n",
          "+ Ready for literal data\r\na2 OK [CAPABILITY " MS_IMAP_CAPABILITIES
          "] Logged in\r\n");
  g_assert_cmpstr (ms_imap_session_get_user (a->session), ==, "alice");
  expect (a, "a3 LOGIN alice alicepw\r\n",
          "a3 BAD LOGIN not allowed in this state (authenticated); only before login\r\n");

  /* The password is masked in the trace, on the line and in the literal. */
  for (guint i = 0; i < fixture->events->len; i++)
    {
      MsEvent *event = fixture->events->pdata[i];
      const char *text = ms_event_get_string (event, "text");

      if (text != NULL)
        g_assert_null (strstr (text, "alicepw"));
      if (text != NULL && strstr (text, "wrong") != NULL)
        g_error ("password in the trace: %s", text);
    }
}

static void
test_login_lockout (Fixture *fixture,
                    gconstpointer user_data)
{
  Client *a = &fixture->a;

  expect (a, "a1 LOGIN alice x\r\n", "a1 NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
  expect (a, "a2 LOGIN bob alicepw\r\n",
          "a2 NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
  expect (a, "a3 LOGIN nobody x\r\n", "a3 NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
          "* BYE Too many failed logins\r\n");
  g_assert_true (a->closed);
  expect (a, "a4 LOGIN alice alicepw\r\n", "");
}

static void
test_authenticate (Fixture *fixture,
                   gconstpointer user_data)
{
  Client *a = &fixture->a;
  g_autofree char *ir = g_base64_encode ((const guchar *) "\0alice\0alicepw", 14);
  g_autofree char *bad = g_base64_encode ((const guchar *) "\0alice\0nope", 11);
  g_autofree char *line = NULL;

  expect (a, "p1 AUTHENTICATE PLAIN\r\n", "+ \r\n");
  expect (a, "*\r\n", "p1 BAD Authentication cancelled\r\n");
  expect (a, "p2 AUTHENTICATE PLAIN\r\n", "+ \r\n");
  expect (a, "not base64!\r\n", "p2 BAD Cannot decode the PLAIN response (bad base64)\r\n");
  line = g_strdup_printf ("p3 AUTHENTICATE PLAIN %s\r\n", bad);
  expect (a, line, "p3 NO [AUTHENTICATIONFAILED] Authentication failed\r\n");
  expect (a, "p4 AUTHENTICATE CRAM-MD5\r\n",
          "p4 NO Unsupported authentication mechanism; use PLAIN\r\n");
  expect (a, "p5 AUTHENTICATE PLAIN\r\n", "+ \r\n");
  g_free (line);
  line = g_strdup_printf ("%s\r\n", ir);
  expect_prefix (a, line, "p5 OK [CAPABILITY ");
  g_assert_cmpstr (ms_imap_session_get_user (a->session), ==, "alice");
}

static void
test_authenticate_ir (Fixture *fixture,
                      gconstpointer user_data)
{
  g_autofree char *ir = g_base64_encode ((const guchar *) "alice\0alice\0alicepw", 19);
  g_autofree char *line = g_strdup_printf ("p1 AUTHENTICATE PLAIN %s\r\n", ir);

  expect_prefix (&fixture->a, line, "p1 OK [CAPABILITY ");
  g_assert_cmpint (ms_imap_session_get_state (fixture->a.session), ==,
                   MS_IMAP_STATE_AUTHENTICATED);
}

typedef struct {
  MsImapState state;
  const char *command;
} WrongState;

static const WrongState wrong_states[] = {
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "SELECT INBOX" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "EXAMINE INBOX" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "CREATE x" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "DELETE x" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "RENAME x y" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "SUBSCRIBE x" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "UNSUBSCRIBE x" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "LIST \"\" *" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "LSUB \"\" *" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "STATUS INBOX (MESSAGES)" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "APPEND INBOX {0+}\r\n" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "NAMESPACE" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "IDLE" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "CHECK" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "CLOSE" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "UNSELECT" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "EXPUNGE" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "COPY 1 Work" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "MOVE 1 Work" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "FETCH 1 FLAGS" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "STORE 1 +FLAGS (\\Seen)" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "SEARCH ALL" },
  { MS_IMAP_STATE_NOT_AUTHENTICATED, "UID FETCH 1 FLAGS" },
  { MS_IMAP_STATE_AUTHENTICATED, "LOGIN alice alicepw" },
  { MS_IMAP_STATE_AUTHENTICATED, "AUTHENTICATE PLAIN" },
  { MS_IMAP_STATE_AUTHENTICATED, "STARTTLS" },
  { MS_IMAP_STATE_AUTHENTICATED, "CHECK" },
  { MS_IMAP_STATE_AUTHENTICATED, "CLOSE" },
  { MS_IMAP_STATE_AUTHENTICATED, "UNSELECT" },
  { MS_IMAP_STATE_AUTHENTICATED, "EXPUNGE" },
  { MS_IMAP_STATE_AUTHENTICATED, "UID EXPUNGE 1" },
  { MS_IMAP_STATE_AUTHENTICATED, "COPY 1 Work" },
  { MS_IMAP_STATE_AUTHENTICATED, "UID COPY 1 Work" },
  { MS_IMAP_STATE_AUTHENTICATED, "MOVE 1 Work" },
  { MS_IMAP_STATE_AUTHENTICATED, "UID MOVE 1 Work" },
  { MS_IMAP_STATE_AUTHENTICATED, "FETCH 1 FLAGS" },
  { MS_IMAP_STATE_AUTHENTICATED, "UID FETCH 1 FLAGS" },
  { MS_IMAP_STATE_AUTHENTICATED, "STORE 1 +FLAGS (\\Seen)" },
  { MS_IMAP_STATE_AUTHENTICATED, "UID STORE 1 +FLAGS (\\Seen)" },
  { MS_IMAP_STATE_AUTHENTICATED, "SEARCH ALL" },
  { MS_IMAP_STATE_AUTHENTICATED, "UID SEARCH ALL" },
  { MS_IMAP_STATE_SELECTED, "LOGIN alice alicepw" },
  { MS_IMAP_STATE_SELECTED, "AUTHENTICATE PLAIN" },
  { MS_IMAP_STATE_SELECTED, "STARTTLS" },
};

static void
test_wrong_state (Fixture *fixture,
                  gconstpointer user_data)
{
  Client *a = &fixture->a;

  for (guint i = 0; i < G_N_ELEMENTS (wrong_states); i++)
    {
      const WrongState *entry = &wrong_states[i];
      g_autofree char *line = g_strdup_printf ("w%u %s\r\n", i, entry->command);
      g_autofree char *got = NULL;
      g_autofree char *expected = NULL;
      g_autofree char *verb = NULL;
      const char *space;

      while (ms_imap_session_get_state (a->session) != entry->state)
        {
          if (ms_imap_session_get_state (a->session) == MS_IMAP_STATE_NOT_AUTHENTICATED)
            login (a);
          else
            expect_prefix (a, "s SELECT INBOX\r\n", "* FLAGS");
        }
      space = strchr (entry->command, ' ');
      if (g_str_has_prefix (entry->command, "UID "))
        space = strchr (space + 1, ' ');
      verb = space != NULL ? g_strndup (entry->command, space - entry->command)
                           : g_strdup (entry->command);
      expected = g_strdup_printf ("w%u BAD %s not allowed in this state (%s)", i, verb,
                                  ms_imap_state_to_string (entry->state));
      got = feed (a, line);
      if (!g_str_has_prefix (got, expected))
        g_error ("%s: expected \"%s\", got \"%s\"", entry->command, expected, got);
      /* No literal was asked for, nothing else was done. */
      g_assert_cmpuint (a->read_requests->len, ==, 0);
      g_assert_cmpint (ms_imap_session_get_state (a->session), ==, entry->state);
    }
}

static void
test_literals (Fixture *fixture,
               gconstpointer user_data)
{
  Client *a = &fixture->a;

  /* Synchronising: "+", then read_bytes for exactly the announced size. */
  expect (a, "a1 LOGIN {5}\r\n", "+ Ready for literal data\r\n");
  g_assert_cmpuint (a->read_requests->len, ==, 1);
  g_assert_cmpuint (g_array_index (a->read_requests, gsize, 0), ==, 5);
  expect (a, "alice {7+}\r\n", "");
  g_assert_cmpuint (a->read_requests->len, ==, 2);
  g_assert_cmpuint (g_array_index (a->read_requests, gsize, 1), ==, 7);
  /* Non-synchronising (LITERAL+): no "+", the bytes come at once. */
  expect_prefix (a, "alicepw\r\n", "a1 OK [CAPABILITY");
  g_assert_cmpstr (ms_imap_session_get_user (a->session), ==, "alice");

  /* A literal may hold what a quoted string cannot. */
  expect (a, "a2 CREATE {3+}\r\nx\"y\r\n", "a2 OK CREATE completed\r\n");
  expect (a, "a3 STATUS {3}\r\n", "+ Ready for literal data\r\n");
  expect (a, "x\"y (MESSAGES)\r\n",
          "* STATUS \"x\\\"y\" (MESSAGES 0)\r\na3 OK STATUS completed\r\n");
  /* A zero-length literal reads nothing. */
  expect (a, "a4 SELECT {0}\r\n", "+ Ready for literal data\r\n");
  g_assert_cmpuint (a->read_requests->len, ==, 4);
  expect (a, "\r\n", "a4 NO [CANNOT] Invalid mailbox name: it empty\r\n");
}

static void
test_literal_too_big (Fixture *fixture,
                      gconstpointer user_data)
{
  Client *a = &fixture->a;
  g_autofree char *got = NULL;

  login (a);
  /* Refused before a byte is read: no "+", no read_bytes. */
  expect (a, "b1 CREATE {1025}\r\n", "b1 NO [TOOBIG] Literal too large (at most 1024 bytes)\r\n");
  g_assert_cmpuint (a->read_requests->len, ==, 0);
  /* APPEND's message may be larger, up to max_append. */
  expect (a, "b2 APPEND INBOX {4097}\r\n",
          "b2 NO [TOOBIG] Literal too large (at most 4096 bytes)\r\n");
  g_assert_cmpuint (a->read_requests->len, ==, 0);
  got = feed (a, "b3 APPEND INBOX {2000}\r\n");
  g_assert_cmpstr (got, ==, "+ Ready for literal data\r\n");
  g_assert_cmpuint (a->read_requests->len, ==, 1);
  g_assert_cmpuint (g_array_index (a->read_requests, gsize, 0), ==, 2000);
  {
    g_autoptr(GString) message = g_string_new ("Subject: big\r\n\r\n");

    while (message->len < 2000)
      g_string_append_c (message, 'x');
    g_string_append (message, "\r\n");
    g_free (got);
    got = feed (a, message->str);
    g_assert_true (g_str_has_prefix (got, "b3 OK [APPENDUID "));
  }
  /* A non-synchronising literal that is too big cannot be skipped. */
  expect (a, "b4 CREATE {5000+}\r\n", "* BYE Literal too large; cannot resynchronise\r\n");
  g_assert_true (a->closed);
  g_assert_cmpuint (a->read_requests->len, ==, 1);
}

static void
test_bad_syntax (Fixture *fixture,
                 gconstpointer user_data)
{
  Client *a = &fixture->a;
  g_autoptr(GString) deep = g_string_new ("d1 ID ");
  g_autofree char *got = NULL;

  expect_prefix (a, "\r\n", "* BAD ");
  expect_prefix (a, "+tag NOOP\r\n", "* BAD ");
  expect_prefix (a, "a{b NOOP\r\n", "* BAD ");
  expect_prefix (a, "t1\r\n", "t1 BAD ");
  expect (a, "t2 FROB\r\n", "t2 BAD Unknown command FROB\r\n");
  expect (a, "t3 UID NOOP\r\n", "t3 BAD Unknown command UID NOOP\r\n");
  expect (a, "t4 NOOP extra\r\n", "t4 BAD Syntax: NOOP\r\n");
  /* Bare LF is accepted. */
  expect (a, "t5 NOOP\n", "t5 OK NOOP completed\r\n");
  login (a);
  for (guint i = 0; i < 40; i++)
    g_string_append_c (deep, '(');
  for (guint i = 0; i < 40; i++)
    g_string_append_c (deep, ')');
  g_string_append (deep, "\r\n");
  got = feed (a, deep->str);
  g_assert_true (g_str_has_prefix (got, "d1 BAD "));
  /* A line longer than the limit. */
  ms_imap_session_feed_line (a->session, "t6 NOOP xxxxx", 13, MS_LINE_FLAG_TOO_LONG);
  g_assert_true (g_str_has_suffix (a->output->str,
                                   "t6 BAD Line too long (at most 65536 bytes)\r\n"));
}

static void
test_bad_flood (Fixture *fixture,
                gconstpointer user_data)
{
  Client *a = &fixture->a;

  for (guint i = 0; i < 9; i++)
    expect (a, "x FROB\r\n", "x BAD Unknown command FROB\r\n");
  expect (a, "x FROB\r\n", "x BAD Unknown command FROB\r\n* BYE Too many bad commands\r\n");
  g_assert_true (a->closed);
}

static void
test_select (Fixture *fixture,
             gconstpointer user_data)
{
  Client *a = &fixture->a;
  g_autofree char *expected = NULL;
  guint32 v = uidvalidity (fixture, "INBOX");

  login (a);
  expected = g_strdup_printf ("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
                              "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen "
                              "\\Draft)] Limited\r\n"
                              "* 3 EXISTS\r\n* 3 RECENT\r\n"
                              "* OK [UNSEEN 2] Message 2 is first unseen\r\n"
                              "* OK [UIDVALIDITY %u] UIDs valid\r\n"
                              "* OK [UIDNEXT 4] Predicted next UID\r\n"
                              "s1 OK [READ-WRITE] SELECT completed\r\n", v);
  expect (a, "s1 SELECT inbox\r\n", expected);
  g_assert_cmpstr (ms_imap_session_get_selected (a->session), ==, "INBOX");

  /* Recent once: a second SELECT sees none. */
  g_free (expected);
  expected = g_strdup_printf ("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
                              "* OK [PERMANENTFLAGS ()] No permanent flags permitted\r\n"
                              "* 3 EXISTS\r\n* 0 RECENT\r\n"
                              "* OK [UNSEEN 2] Message 2 is first unseen\r\n"
                              "* OK [UIDVALIDITY %u] UIDs valid\r\n"
                              "* OK [UIDNEXT 4] Predicted next UID\r\n"
                              "s2 OK [READ-ONLY] EXAMINE completed\r\n", v);
  expect (a, "s2 EXAMINE INBOX\r\n", expected);
  expect (a, "s3 EXPUNGE\r\n", "s3 NO [READ-ONLY] Mailbox is read-only (EXAMINE)\r\n");
  expect (a, "s4 MOVE 1 Work\r\n", "s4 NO [READ-ONLY] Mailbox is read-only (EXAMINE)\r\n");

  /* A failed SELECT leaves no mailbox selected. */
  expect (a, "s5 SELECT Nowhere\r\n",
          "s5 NO [NONEXISTENT] SELECT failed: mailbox does not exist\r\n");
  g_assert_cmpint (ms_imap_session_get_state (a->session), ==, MS_IMAP_STATE_AUTHENTICATED);
  g_assert_null (ms_imap_session_get_selected (a->session));

  expect_prefix (a, "s6 SELECT Work\r\n", "* FLAGS");
  expect (a, "s7 UNSELECT\r\n", "s7 OK UNSELECT completed\r\n");
  g_assert_cmpint (ms_imap_session_get_state (a->session), ==, MS_IMAP_STATE_AUTHENTICATED);
}

typedef struct {
  const char *name;           /* as the client sends it */
  const char *reply;          /* to CREATE */
} NameCase;

static const NameCase bad_names[] = {
  { "a/../b", "NO [CANNOT] Invalid mailbox name: it holds \"..\"" },
  { "..", "NO [CANNOT] Invalid mailbox name: it holds \"..\"" },
  { "\"/etc\"", "NO [CANNOT] Invalid mailbox name: it starts with the hierarchy separator" },
  { "a//b", "NO [CANNOT] Invalid mailbox name: it has an empty level" },
  { "a%", "NO [CANNOT] Invalid mailbox name: it holds a wildcard" },
  { "a*", "NO [CANNOT] Invalid mailbox name: it holds a wildcard" },
  { "a.b", "NO [CANNOT] Invalid mailbox name: it is not allowed here" },
  { "&AOQ", "NO [CANNOT] Invalid mailbox name: it not valid modified UTF-7" },
  { "\"\"", "NO [CANNOT] Invalid mailbox name: it empty" },
  { "\"caf\xc3\xa9\"", NULL },   /* 8-bit: the parser or the UTF-7 check refuses it */
  { "{3+}\r\na\tb", "NO [CANNOT] Invalid mailbox name: it not valid modified UTF-7" },
};

static void
test_mailbox_names (Fixture *fixture,
                    gconstpointer user_data)
{
  Client *a = &fixture->a;
  g_autofree char *path = NULL;

  login (a);
  for (guint i = 0; i < G_N_ELEMENTS (bad_names); i++)
    {
      g_autofree char *line = g_strdup_printf ("n%u CREATE %s\r\n", i, bad_names[i].name);
      g_autofree char *got = feed (a, line);
      g_autofree char *expected = NULL;

      if (bad_names[i].reply == NULL)
        {
          g_assert_false (g_str_has_prefix (got, "n") && strstr (got, " OK ") != NULL);
          continue;
        }
      expected = g_strdup_printf ("n%u %s", i, bad_names[i].reply);
      if (!g_str_has_prefix (got, expected))
        g_error ("CREATE %s: expected \"%s\", got \"%s\"", bad_names[i].name, expected, got);
    }
  /* Nothing was made outside the user's tree, nor inside it. */
  path = g_build_filename (fixture->root, "b", NULL);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_free (path);
  path = g_build_filename (fixture->root, "etc", NULL);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_pointer (&path, g_free);
  {
    g_autoptr(GPtrArray) folders = ms_store_list_folders (fixture->store, "alice", NULL);

    g_assert_cmpuint (folders->len, ==, 2);
  }

  /* Non-ASCII: modified UTF-7 on the wire, UTF-8 on disk, and back. */
  expect (a, "u1 CREATE &AOQ-pfel/Gr&APw-n\r\n", "u1 OK CREATE completed\r\n");
  path = maildir_path (fixture, "alice", ".\xc3\xa4pfel.Gr\xc3\xbcn");
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));
  expect (a, "u2 LIST \"\" &AOQ-*\r\n",
          "* LIST (\\HasChildren) \"/\" &AOQ-pfel\r\n"
          "* LIST (\\HasNoChildren) \"/\" &AOQ-pfel/Gr&APw-n\r\n"
          "u2 OK LIST completed\r\n");
  expect_prefix (a, "u3 SELECT &AOQ-pfel/Gr&APw-n\r\n", "* FLAGS");
  g_assert_cmpstr (ms_imap_session_get_selected (a->session), ==, "\xc3\xa4pfel/Gr\xc3\xbcn");
  /* INBOX in any case; other names as written. */
  expect_prefix (a, "u4 SELECT iNbOx\r\n", "* FLAGS");
  g_assert_cmpstr (ms_imap_session_get_selected (a->session), ==, "INBOX");
  expect (a, "u5 SELECT work\r\n",
          "u5 NO [NONEXISTENT] SELECT failed: mailbox does not exist\r\n");
}

static void
test_folders (Fixture *fixture,
              gconstpointer user_data)
{
  Client *a = &fixture->a;
  g_autofree char *path = NULL;
  g_autofree char *expected = NULL;

  login (a);
  expect (a, "f1 CREATE Sent\r\n", "f1 OK CREATE completed\r\n");
  expect (a, "f2 CREATE Projects/2026/\r\n", "f2 OK CREATE completed\r\n");
  expect (a, "f3 CREATE Sent\r\n",
          "f3 NO [ALREADYEXISTS] CREATE failed: mailbox already exists\r\n");
  expect (a, "f4 CREATE inbox\r\n", "f4 NO [ALREADYEXISTS] INBOX always exists\r\n");
  path = maildir_path (fixture, "alice", ".Projects.2026");
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_DIR));

  expect (a, "f5 LIST \"\" \"\"\r\n", "* LIST (\\Noselect) \"/\" \"\"\r\nf5 OK LIST completed\r\n");
  expect (a, "f6 LIST \"\" *\r\n",
          "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
          "* LIST (\\HasChildren) \"/\" Projects\r\n"
          "* LIST (\\HasNoChildren) \"/\" Projects/2026\r\n"
          "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
          "* LIST (\\HasNoChildren) \"/\" Work\r\n"
          "f6 OK LIST completed\r\n");
  expect (a, "f7 LIST \"\" %\r\n",
          "* LIST (\\HasNoChildren) \"/\" INBOX\r\n"
          "* LIST (\\HasChildren) \"/\" Projects\r\n"
          "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
          "* LIST (\\HasNoChildren) \"/\" Work\r\n"
          "f7 OK LIST completed\r\n");
  expect (a, "f8 LIST Projects/ %\r\n",
          "* LIST (\\HasNoChildren) \"/\" Projects/2026\r\nf8 OK LIST completed\r\n");
  expect (a, "f9 LIST \"\" inbox\r\n",
          "* LIST (\\HasNoChildren) \"/\" INBOX\r\nf9 OK LIST completed\r\n");

  /* RENAME keeps children with the parent; DELETE leaves them. */
  expect (a, "r1 RENAME Projects Archive\r\n", "r1 OK RENAME completed\r\n");
  expect (a, "r2 RENAME INBOX Old\r\n", "r2 NO [CANNOT] Renaming INBOX is not supported\r\n");
  expect (a, "r3 RENAME Nothing Else\r\n",
          "r3 NO [NONEXISTENT] RENAME failed: mailbox does not exist\r\n");
  expect (a, "r4 RENAME Work Sent\r\n",
          "r4 NO [ALREADYEXISTS] RENAME failed: mailbox already exists\r\n");
  expect (a, "r5 LIST \"\" Archive*\r\n",
          "* LIST (\\HasChildren) \"/\" Archive\r\n"
          "* LIST (\\HasNoChildren) \"/\" Archive/2026\r\nr5 OK LIST completed\r\n");
  expect (a, "d1 DELETE Archive\r\n", "d1 OK DELETE completed\r\n");
  expect (a, "d2 DELETE INBOX\r\n", "d2 NO [CANNOT] INBOX cannot be deleted\r\n");
  expect (a, "d3 DELETE Archive\r\n",
          "d3 NO [NONEXISTENT] DELETE failed: mailbox does not exist\r\n");
  expect (a, "d4 LIST \"\" Archive*\r\n",
          "* LIST (\\Noselect \\HasChildren) \"/\" Archive\r\n"
          "* LIST (\\HasNoChildren) \"/\" Archive/2026\r\nd4 OK LIST completed\r\n");
  expect_prefix (a, "d5 SELECT Work\r\n", "* FLAGS");
  expect (a, "d6 DELETE Work\r\n", "d6 NO [INUSE] Close the mailbox before deleting it\r\n");

  /* Subscriptions. */
  expect (a, "b1 SUBSCRIBE Work\r\n", "b1 OK SUBSCRIBE completed\r\n");
  expect (a, "b2 SUBSCRIBE Sent\r\n", "b2 OK SUBSCRIBE completed\r\n");
  expect (a, "b3 LSUB \"\" *\r\n",
          "* LSUB () \"/\" Sent\r\n* LSUB () \"/\" Work\r\nb3 OK LSUB completed\r\n");
  expect (a, "b4 UNSUBSCRIBE Sent\r\n", "b4 OK UNSUBSCRIBE completed\r\n");
  expect (a, "b5 LSUB \"\" %\r\n", "* LSUB () \"/\" Work\r\nb5 OK LSUB completed\r\n");

  /* STATUS. */
  expected = g_strdup_printf ("* STATUS INBOX (MESSAGES 3 UIDNEXT 4 UIDVALIDITY %u UNSEEN 2 "
                              "RECENT 0)\r\nt1 OK STATUS completed\r\n",
                              uidvalidity (fixture, "INBOX"));
  expect (a, "t1 STATUS INBOX (MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)\r\n", expected);
  expect (a, "t2 STATUS INBOX (SIZE)\r\n",
          "t2 BAD Unknown STATUS item; use (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)\r\n");
  expect (a, "t3 STATUS Nowhere (MESSAGES)\r\n",
          "t3 NO [NONEXISTENT] STATUS failed: mailbox does not exist\r\n");
  expect (a, "n1 NAMESPACE\r\n",
          "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\nn1 OK NAMESPACE completed\r\n");
}

static void
test_append (Fixture *fixture,
             gconstpointer user_data)
{
  Client *a = &fixture->a;
  static const char message[] = "Subject: appended\r\n\r\nhello\r\n";
  g_autofree char *line = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *files = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GPtrArray) messages = NULL;
  MsStoreMessage *appended;
  gsize len;

  login (a);
  line = g_strdup_printf ("p1 APPEND Work (\\Seen \\Flagged) \"17-Jul-1996 02:44:25 -0700\" "
                          "{%zu}\r\n%s\r\n", strlen (message), message);
  expected = g_strdup_printf ("+ Ready for literal data\r\np1 OK [APPENDUID %u 1] "
                              "APPEND completed\r\n", uidvalidity (fixture, "Work"));
  expect (a, line, expected);

  /* In the Maildir: cur/, flags FS, the bytes as sent, the date as mtime. */
  messages = ms_store_list (fixture->store, "alice", "Work", NULL);
  g_assert_cmpuint (messages->len, ==, 1);
  appended = messages->pdata[0];
  g_assert_cmpuint (appended->uid, ==, 1);
  g_assert_cmpstr (appended->flags, ==, "FS");
  g_assert_cmpint (appended->internal_date, ==, 837596665);
  files = maildir_files (fixture, ".Work", "cur");
  g_assert_true (g_str_has_suffix (files, ":2,FS"));
  path = g_build_filename (fixture->root, "alice", ".Work", "cur", files, NULL);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  g_assert_cmpstr (contents, ==, message);

  /* No flag list: into new/; an empty one: cur/ without flags. */
  g_free (line);
  line = g_strdup_printf ("p2 APPEND Work {%zu+}\r\n%s\r\n", strlen (message), message);
  expect_prefix (a, line, "p2 OK [APPENDUID ");
  g_free (files);
  files = maildir_files (fixture, ".Work", "new");
  g_assert_cmpuint (strlen (files), >, 0);
  g_free (line);
  line = g_strdup_printf ("p3 APPEND Work () {%zu+}\r\n%s\r\n", strlen (message), message);
  expect_prefix (a, line, "p3 OK [APPENDUID ");
  g_free (files);
  files = maildir_files (fixture, ".Work", "cur");
  {
    g_auto(GStrv) names = g_strsplit (files, " ", -1);
    guint no_flags = 0;

    g_assert_cmpuint (g_strv_length (names), ==, 2);
    for (guint i = 0; names[i] != NULL; i++)
      no_flags += g_str_has_suffix (names[i], ":2,") ? 1 : 0;
    g_assert_cmpuint (no_flags, ==, 1);
  }

  g_free (line);
  line = g_strdup_printf ("p4 APPEND Nowhere {%zu+}\r\n%s\r\n", strlen (message), message);
  expect (a, line, "p4 NO [TRYCREATE] Mailbox does not exist\r\n");
  g_free (line);
  line = g_strdup_printf ("p5 APPEND Work (\\Recent) {%zu+}\r\n%s\r\n", strlen (message),
                          message);
  expect_prefix (a, line, "p5 BAD Invalid flag list");
  expect (a, "p6 APPEND Work {0+}\r\n\r\n", "p6 NO Empty message\r\n");

  /* Into the selected mailbox: the client hears of it before the OK. */
  expect_prefix (a, "p7 SELECT Work\r\n", "* FLAGS");
  g_free (line);
  line = g_strdup_printf ("p8 APPEND Work {%zu+}\r\n%s\r\n", strlen (message), message);
  g_free (expected);
  expected = g_strdup_printf ("* 4 EXISTS\r\n* 4 RECENT\r\np8 OK [APPENDUID %u 4] "
                              "APPEND completed\r\n", uidvalidity (fixture, "Work"));
  expect (a, line, expected);
}

static void
test_copy_move (Fixture *fixture,
                gconstpointer user_data)
{
  Client *a = &fixture->a;
  g_autofree char *expected = NULL;
  g_autoptr(GPtrArray) work = NULL;
  g_autoptr(GPtrArray) inbox = NULL;
  guint32 v = uidvalidity (fixture, "Work");

  select_inbox (a);
  expect_prefix (a, "c1 COPY 0 Work\r\n", "c1 BAD Invalid sequence set");
  expect (a, "c2 COPY 4 Work\r\n", "c2 BAD Invalid message sequence number (mailbox has 3)\r\n");
  expect (a, "c3 COPY 1:9 Work\r\n",
          "c3 BAD Invalid message sequence number (mailbox has 3)\r\n");
  expect_prefix (a, "c4 COPY x Work\r\n", "c4 BAD Invalid sequence set");
  expect (a, "c5 COPY 1 Nowhere\r\n", "c5 NO [TRYCREATE] Mailbox does not exist\r\n");
  expect (a, "c6 UID COPY 99 Work\r\n", "c6 OK COPY completed\r\n");

  expected = g_strdup_printf ("c7 OK [COPYUID %u 1:2 1:2] COPY completed\r\n", v);
  expect (a, "c7 COPY 2,1 Work\r\n", expected);
  work = ms_store_list (fixture->store, "alice", "Work", NULL);
  g_assert_cmpuint (work->len, ==, 2);
  /* The flags come along. */
  g_assert_cmpstr (((MsStoreMessage *) work->pdata[0])->flags, ==, "S");

  /* MOVE: COPYUID untagged, then the EXPUNGE, then the OK (RFC 6851). */
  g_free (expected);
  expected = g_strdup_printf ("* OK [COPYUID %u 1,3 3:4] Moved\r\n* 3 EXPUNGE\r\n* 1 EXPUNGE\r\n"
                              "m1 OK MOVE completed\r\n", v);
  expect (a, "m1 UID MOVE 1,3:* Work\r\n", expected);
  inbox = ms_store_list (fixture->store, "alice", "INBOX", NULL);
  g_assert_cmpuint (inbox->len, ==, 1);
  g_assert_cmpuint (((MsStoreMessage *) inbox->pdata[0])->uid, ==, 2);
  g_ptr_array_unref (work);
  work = ms_store_list (fixture->store, "alice", "Work", NULL);
  g_assert_cmpuint (work->len, ==, 4);
  expect (a, "m2 MOVE 2 Work\r\n", "m2 BAD Invalid message sequence number (mailbox has 1)\r\n");
}

static void
test_expunge (Fixture *fixture,
              gconstpointer user_data)
{
  Client *a = &fixture->a;
  g_autoptr(GPtrArray) inbox = NULL;

  deliver (fixture, "alice", "INBOX", "Subject: 4\r\n\r\n", "T", NULL);
  deliver (fixture, "alice", "INBOX", "Subject: 5\r\n\r\n", "ST", NULL);
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", 2, "T", NULL));
  select_inbox (a);

  /* UID EXPUNGE: only \Deleted messages in the set (RFC 4315 §2.1). */
  expect (a, "e1 UID EXPUNGE 1:4\r\n", "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\ne1 OK EXPUNGE completed\r\n");
  inbox = ms_store_list (fixture->store, "alice", "INBOX", NULL);
  g_assert_cmpuint (inbox->len, ==, 3);
  expect (a, "e2 EXPUNGE\r\n", "* 3 EXPUNGE\r\ne2 OK EXPUNGE completed\r\n");
  expect (a, "e3 EXPUNGE\r\n", "e3 OK EXPUNGE completed\r\n");
  expect_prefix (a, "e4 UID EXPUNGE\r\n", "e4 BAD Syntax: UID EXPUNGE uid-set");

  /* CLOSE expunges silently. */
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", 1, "ST", NULL));
  expect (a, "e5 CLOSE\r\n", "e5 OK CLOSE completed\r\n");
  g_ptr_array_unref (inbox);
  inbox = ms_store_list (fixture->store, "alice", "INBOX", NULL);
  g_assert_cmpuint (inbox->len, ==, 1);
  g_assert_cmpuint (((MsStoreMessage *) inbox->pdata[0])->uid, ==, 3);
}

/* Two sessions on one mailbox: B learns what A (or a delivery) did. */
static void
test_two_sessions (Fixture *fixture,
                   gconstpointer user_data)
{
  Client *a = &fixture->a;
  Client *b = &fixture->b;
  guint32 uid;

  client_start (fixture, b, START_PLAIN, "imap-2");
  select_inbox (a);
  select_inbox (b);

  /* B idles; a delivery shows at once. */
  expect (b, "i1 IDLE\r\n", "+ idling\r\n");
  deliver (fixture, "alice", "INBOX", "Subject: new\r\n\r\n", NULL, &uid);
  g_assert_cmpuint (uid, ==, 4);
  g_string_truncate (b->output, 0);
  ms_imap_session_mailbox_changed (b->session);
  g_assert_cmpstr (b->output->str, ==, "* 4 EXISTS\r\n* 1 RECENT\r\n");
  expect (b, "DONE\r\n", "i1 OK IDLE terminated\r\n");

  /* A changes flags; B hears of them at its next command. */
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", 2, "FS", NULL));
  ms_imap_session_mailbox_changed (a->session);
  ms_imap_session_mailbox_changed (b->session);
  expect (b, "n1 NOOP\r\n",
          "* 2 FETCH (FLAGS (\\Flagged \\Seen))\r\nn1 OK NOOP completed\r\n");
  expect (b, "n2 NOOP\r\n", "n2 OK NOOP completed\r\n");
  /* FETCH sees a change made meanwhile: the update, then its answer. */
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", 2, "RS", NULL));
  ms_imap_session_mailbox_changed (b->session);
  expect (b, "f1 FETCH 2 FLAGS\r\n",
          "* 2 FETCH (FLAGS (\\Answered \\Seen))\r\n"
          "* 2 FETCH (FLAGS (\\Answered \\Seen))\r\n"
          "f1 OK FETCH completed\r\n");
  /* A UID command adds the UID. */
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", 3, "D", NULL));
  ms_imap_session_mailbox_changed (b->session);
  expect_prefix (b, "n3 UID COPY 3 Work\r\n", "* 3 FETCH (UID 3 FLAGS (\\Draft))\r\nn3 OK ");

  /* A gets the new message at its next command, not \Recent (B had it). */
  expect (a, "n4 NOOP\r\n", "* 2 FETCH (FLAGS (\\Answered \\Seen \\Recent))\r\n"
          "* 3 FETCH (FLAGS (\\Draft \\Recent))\r\n"
          "* 4 EXISTS\r\n* 3 RECENT\r\nn4 OK NOOP completed\r\n");

  /* Any other line ends IDLE with BAD. */
  expect (b, "i2 IDLE\r\n", "+ idling\r\n");
  expect (b, "i3 NOOP\r\n", "i2 BAD Expected DONE to end IDLE\r\n");
  expect (b, "i4 NOOP\r\n", "i4 OK NOOP completed\r\n");
}

/* Messages 2 and 4 of 5 go: the EXPUNGE numbers are exact as sent. */
static void
test_expunge_numbers (Fixture *fixture,
                      gconstpointer user_data)
{
  Client *a = &fixture->a;
  Client *b = &fixture->b;
  g_autoptr(GArray) set = NULL;

  deliver (fixture, "alice", "INBOX", "Subject: 4\r\n\r\n", NULL, NULL);
  deliver (fixture, "alice", "INBOX", "Subject: 5\r\n\r\n", NULL, NULL);
  client_start (fixture, b, START_PLAIN, "imap-2");
  select_inbox (a);
  select_inbox (b);
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", 2, "T", NULL));
  g_assert_true (ms_store_set_flags (fixture->store, "alice", "INBOX", 4, "T", NULL));
  ms_imap_session_mailbox_changed (b->session);
  expect (a, "x1 EXPUNGE\r\n", "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\nx1 OK EXPUNGE completed\r\n");

  /* In a command that may not expunge (FETCH, STORE, SEARCH by sequence
   * number, RFC 3501 §7.4.1) B keeps the numbers and skips the gone ones. */
  ms_imap_session_mailbox_changed (b->session);
  expect (b, "f1 FETCH 1:5 UID\r\n",
          "* 1 FETCH (UID 1)\r\n* 3 FETCH (UID 3)\r\n* 5 FETCH (UID 5)\r\n"
          "f1 OK FETCH completed\r\n");
  g_assert_cmpuint (ms_imap_view_length (b->session->view), ==, 5);
  set = _ms_imap_resolve_set (b->session, "t", "1:5", FALSE);
  g_assert_cmpuint (set->len, ==, 3);
  g_assert_cmpuint (g_array_index (set, guint, 0), ==, 0);
  g_assert_cmpuint (g_array_index (set, guint, 1), ==, 2);
  g_assert_cmpuint (g_array_index (set, guint, 2), ==, 4);
  /* Then the next command that may: highest first, so 4 then 2 (after "4"
   * goes, message 2 is still number 2). */
  expect (b, "x2 NOOP\r\n", "* 4 EXPUNGE\r\n* 2 EXPUNGE\r\nx2 OK NOOP completed\r\n");
  g_assert_cmpuint (ms_imap_view_length (b->session->view), ==, 3);
  g_assert_cmpuint (ms_imap_view_uid_at (b->session->view, 1), ==, 3);
  g_assert_cmpuint (ms_imap_view_uid_at (b->session->view, 2), ==, 5);
}

static void
test_resolve_set (Fixture *fixture,
                  gconstpointer user_data)
{
  Client *a = &fixture->a;
  g_autoptr(GArray) set = NULL;

  select_inbox (a);
  set = _ms_imap_resolve_set (a->session, "t", "3,1:2,2", FALSE);
  g_assert_cmpuint (set->len, ==, 3);
  g_assert_cmpuint (g_array_index (set, guint, 0), ==, 0);
  g_assert_cmpuint (g_array_index (set, guint, 2), ==, 2);
  g_clear_pointer (&set, g_array_unref);
  set = _ms_imap_resolve_set (a->session, "t", "2:*", TRUE);
  g_assert_cmpuint (set->len, ==, 2);
  g_clear_pointer (&set, g_array_unref);
  /* "n:*" includes the highest UID even when n is above it (§6.4.8). */
  set = _ms_imap_resolve_set (a->session, "t", "100:*", TRUE);
  g_assert_cmpuint (set->len, ==, 1);
  g_assert_cmpuint (g_array_index (set, guint, 0), ==, 2);
  g_clear_pointer (&set, g_array_unref);
  set = _ms_imap_resolve_set (a->session, "t", "50:60", TRUE);
  g_assert_cmpuint (set->len, ==, 0);
  g_clear_pointer (&set, g_array_unref);
  g_string_truncate (a->output, 0);
  g_assert_null (_ms_imap_resolve_set (a->session, "t", "4", FALSE));
  g_assert_cmpstr (a->output->str, ==, "t BAD Invalid message sequence number (mailbox has 3)\r\n");
}

static void
test_trace (Fixture *fixture,
            gconstpointer user_data)
{
  Client *a = &fixture->a;
  gboolean saw_continuation = FALSE;
  gboolean saw_data = FALSE;
  gboolean saw_exists = FALSE;
  gboolean saw_ok = FALSE;

  login (a);
  expect_prefix (a, "t1 SELECT {5}\r\nINBOX\r\n", "+ Ready");
  for (guint i = 0; i < fixture->events->len; i++)
    {
      MsEvent *event = fixture->events->pdata[i];
      const char *kind = ms_event_kind_to_string (event->kind);

      if (strcmp (kind, "command") == 0 && ms_event_get_bool (event, "continuation", FALSE))
        saw_continuation = TRUE;
      if (strcmp (kind, "command") == 0 && g_strcmp0 (ms_event_get_string (event, "verb"),
                                                       "SELECT") == 0)
        g_assert_cmpstr (ms_event_get_string (event, "tag"), ==, "t1");
      if (strcmp (kind, "data") == 0 && g_strcmp0 (ms_event_get_string (event, "text"),
                                                    "INBOX") == 0)
        saw_data = TRUE;
      if (strcmp (kind, "reply") == 0 && g_strcmp0 (ms_event_get_string (event, "status"),
                                                     "EXISTS") == 0)
        saw_exists = TRUE;
      if (strcmp (kind, "reply") == 0 && g_strcmp0 (ms_event_get_string (event, "tag"),
                                                     "t1") == 0)
        {
          g_assert_cmpstr (ms_event_get_string (event, "status"), ==, "OK");
          saw_ok = TRUE;
        }
    }
  g_assert_true (saw_continuation);
  g_assert_true (saw_data);
  g_assert_true (saw_exists);
  g_assert_true (saw_ok);
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, flags, func) \
  g_test_add ("/server/imap-session/" path, Fixture, GINT_TO_POINTER (flags), \
              fixture_set_up, func, fixture_tear_down)

  ADD ("greeting", START_PLAIN, test_greeting);
  ADD ("starttls", START_NEEDS_TLS, test_starttls);
  ADD ("login", START_PLAIN, test_login);
  ADD ("login-lockout", START_PLAIN, test_login_lockout);
  ADD ("authenticate", START_PLAIN, test_authenticate);
  ADD ("authenticate-ir", START_PLAIN, test_authenticate_ir);
  ADD ("wrong-state", START_LENIENT, test_wrong_state);
  ADD ("literals", START_PLAIN, test_literals);
  ADD ("literal-too-big", START_SMALL, test_literal_too_big);
  ADD ("bad-syntax", START_LENIENT, test_bad_syntax);
  ADD ("bad-flood", START_PLAIN, test_bad_flood);
  ADD ("select", START_PLAIN, test_select);
  ADD ("mailbox-names", START_LENIENT, test_mailbox_names);
  ADD ("folders", START_PLAIN, test_folders);
  ADD ("append", START_PLAIN, test_append);
  ADD ("copy-move", START_LENIENT, test_copy_move);
  ADD ("expunge", START_PLAIN, test_expunge);
  ADD ("two-sessions", START_PLAIN, test_two_sessions);
  ADD ("expunge-numbers", START_PLAIN, test_expunge_numbers);
  ADD ("resolve-set", START_PLAIN, test_resolve_set);
  ADD ("trace", START_PLAIN, test_trace);
#undef ADD

  return g_test_run ();
}
