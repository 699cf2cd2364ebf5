/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "ms-imap-envelope.h"
#include "ms-imap-session-private.h"
#include "ms-test-util.h"

/* FETCH and STORE (RFC 3501 §6.4.5, §6.4.6, §7.4.2).
 *
 * First the ENVELOPE / BODY / BODYSTRUCTURE module against fixture
 * messages. The expected strings are what Dovecot 2.3 answered for the
 * same messages APPENDed with CRLF line ends (checked by hand against
 * RFC 3501 §7.4.2 and §9), except where a comment says otherwise. Each
 * fixture is tested stored with CRLF and with bare LF: the wire sizes and
 * line counts must not change.
 *
 * Then whole sessions against a real MsStore in a temporary directory:
 * the bytes on the wire and the flags in the Maildir file names. */

static const char fixture_simple[] =
  "From: Alice Example <alice@example.test>\n"
  "To: bob@example.test\n"
  "Subject: Hello\n"
  "Date: Mon, 7 Feb 1994 21:52:25 -0800\n"
  "Message-ID: <1@example.test>\n"
  "Content-Type: text/plain; charset=utf-8\n"
  "\n"
  "Hello Bob,\n"
  "how are you?\n";

static const char fixture_alternative[] =
  "From: \"Carol, C.\" <carol@example.test>\n"
  "Sender: list@example.test\n"
  "Reply-To: replies@example.test\n"
  "To: bob@example.test, \"Dave\" <dave@example.test>\n"
  "Cc: Eve <eve@example.test>\n"
  "Bcc: hidden@example.test\n"
  "Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\n"
  "Date: Tue, 1 Apr 2025 10:00:00 +0000\n"
  "Message-ID: <2@example.test>\n"
  "In-Reply-To: <1@example.test>\n"
  "MIME-Version: 1.0\n"
  "Content-Type: multipart/alternative; boundary=\"b1\"\n"
  "\n"
  "preamble\n"
  "--b1\n"
  "Content-Type: text/plain; charset=us-ascii\n"
  "\n"
  "plain text\n"
  "--b1\n"
  "Content-Type: text/html; charset=us-ascii\n"
  "Content-Transfer-Encoding: quoted-printable\n"
  "\n"
  "<p>html</p>\n"
  "--b1--\n"
  "epilogue\n";

static const char fixture_mixed[] =
  "From: alice@example.test\n"
  "To: bob@example.test\n"
  "Subject: attachment\n"
  "Date: Wed, 2 Apr 2025 11:00:00 +0200\n"
  "MIME-Version: 1.0\n"
  "Content-Type: multipart/mixed; boundary=outer\n"
  "\n"
  "--outer\n"
  "Content-Type: text/plain\n"
  "\n"
  "see attachment\n"
  "--outer\n"
  "Content-Type: application/octet-stream; name=\"data.bin\"\n"
  "Content-Transfer-Encoding: base64\n"
  "Content-Disposition: attachment; filename=\"data.bin\"\n"
  "Content-ID: <att1@example.test>\n"
  "Content-Description: some bytes\n"
  "Content-Language: en\n"
  "Content-Location: http://example.test/data.bin\n"
  "\n"
  "AAECAwQFBgc=\n"
  "--outer--\n";

static const char fixture_rfc822[] =
  "From: alice@example.test\n"
  "To: bob@example.test\n"
  "Subject: fwd\n"
  "MIME-Version: 1.0\n"
  "Content-Type: multipart/mixed; boundary=\"x\"\n"
  "\n"
  "--x\n"
  "Content-Type: text/plain\n"
  "\n"
  "forwarded below\n"
  "--x\n"
  "Content-Type: message/rfc822\n"
  "\n"
  "From: Inner <inner@example.test>\n"
  "Subject: inner\n"
  "Date: Thu, 3 Apr 2025 12:00:00 +0000\n"
  "Content-Type: multipart/alternative; boundary=\"y\"\n"
  "\n"
  "--y\n"
  "Content-Type: text/plain\n"
  "\n"
  "inner text\n"
  "--y\n"
  "Content-Type: text/html\n"
  "\n"
  "<b>inner</b>\n"
  "--y--\n"
  "\n"
  "--x--\n";

static const char fixture_groups[] =
  "From: Alice <alice@example.test>\n"
  "To: Friends: a@example.test, \"B Name\" <b@example.test>;, solo@example.test\n"
  "Cc: undisclosed-recipients:;\n"
  "Subject: groups\n"
  "Message-ID: <g@example.test>\n"
  "\n"
  "x\n";

static const char fixture_missing[] =
  "X-Note: nothing useful\n"
  "\n"
  "body line 1\n"
  "body line 2\n";

static const char fixture_edge[] =
  "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.test>\n"
  "To: nodomain, user@host.test (Comment Name), <@route.test:r@example.test>,\n"
  " \"Q \\\"x\\\" y\" <q@example.test>\n"
  "Cc: bare@example.test, \"\" <empty@example.test>\n"
  "Subject: folded\n"
  " subject  line\n"
  "Date:   Mon, 7 Feb 1994 21:52:25 -0800  \n"
  "Content-Type: Text/PLAIN; Charset=UTF-8; Format=flowed\n"
  "Content-Transfer-Encoding: 8BIT\n"
  "\n"
  "x\n";

static const char fixture_params[] =
  "Subject:\n"
  "Content-Type: multipart/MIXED; boundary=zz; foo=\"a b\"\n"
  "\n"
  "--zz\n"
  "Content-Type: application/pdf; name*=utf-8''%C3%A4.pdf\n"
  "Content-Disposition: inline\n"
  "\n"
  "%PDF\n"
  "--zz\n"
  "Content-Type: image/png; name=\"=?utf-8?q?=C3=A4?=.png\"\n"
  "Content-Disposition: attachment; filename*0=\"long\"; filename*1=\"name.png\"\n"
  "Content-Language: en, de\n"
  "\n"
  "png\n"
  "--zz\n"
  "Content-Type: text/plain; format=flowed\n"
  "\n"
  "a\n"
  "b\n"
  "--zz--\n";


typedef struct {
  const char *name;
  const char *message;        /* LF line ends; stored as CRLF or LF */
  guint64 wire_size;          /* RFC822.SIZE */
  const char *envelope;
  const char *bodystructure;
  const char *body;
} StructureCase;

/* "edge" differs from Dovecot on purpose in two strings: the folded
 * Subject is unfolded as RFC 5322 §2.2.3 says (CRLF removed, the white
 * space kept) where Dovecot also collapses the spaces and sends a literal;
 * and the display name 'Q "x" y' is a quoted string with escapes where
 * Dovecot sends a literal. Both are the same strings to a client. */
static const StructureCase structure_cases[] = {
  { "simple", fixture_simple, 217,
    "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"Hello\" ((\"Alice Example\" NIL \"alice\" "
    "\"example.test\")) ((\"Alice Example\" NIL \"alice\" \"example.test\")) ((\"Alice "
    "Example\" NIL \"alice\" \"example.test\")) ((NIL NIL \"bob\" \"example.test\")) NIL "
    "NIL NIL \"<1@example.test>\")",
    "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 26 2 NIL NIL NIL NIL)",
    "(\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 26 2)" },
  { "alternative", fixture_alternative, 614,
    "(\"Tue, 1 Apr 2025 10:00:00 +0000\" \"=?utf-8?q?Gr=C3=BC=C3=9Fe?=\" ((\"Carol, C.\" "
    "NIL \"carol\" \"example.test\")) ((NIL NIL \"list\" \"example.test\")) ((NIL NIL "
    "\"replies\" \"example.test\")) ((NIL NIL \"bob\" \"example.test\")(\"Dave\" NIL "
    "\"dave\" \"example.test\")) ((\"Eve\" NIL \"eve\" \"example.test\")) ((NIL NIL "
    "\"hidden\" \"example.test\")) \"<1@example.test>\" \"<2@example.test>\")",
    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL "
    "NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"quoted-printable\" 11 0 "
    "NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"b1\") NIL NIL NIL)",
    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0)(\"text\" "
    "\"html\" (\"charset\" \"us-ascii\") NIL NIL \"quoted-printable\" 11 0) "
    "\"alternative\")" },
  { "mixed", fixture_mixed, 546,
    "(\"Wed, 2 Apr 2025 11:00:00 +0200\" \"attachment\" ((NIL NIL \"alice\" "
    "\"example.test\")) ((NIL NIL \"alice\" \"example.test\")) ((NIL NIL \"alice\" "
    "\"example.test\")) ((NIL NIL \"bob\" \"example.test\")) NIL NIL NIL NIL)",
    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 0 NIL NIL NIL "
    "NIL)(\"application\" \"octet-stream\" (\"name\" \"data.bin\") "
    "\"<att1@example.test>\" \"some bytes\" \"base64\" 12 NIL (\"attachment\" "
    "(\"filename\" \"data.bin\")) (\"en\") \"http://example.test/data.bin\") \"mixed\" "
    "(\"boundary\" \"outer\") NIL NIL NIL)",
    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 0)"
    "(\"application\" \"octet-stream\" (\"name\" \"data.bin\") \"<att1@example.test>\" "
    "\"some bytes\" \"base64\" 12) \"mixed\")" },
  { "rfc822", fixture_rfc822, 463,
    "(NIL \"fwd\" ((NIL NIL \"alice\" \"example.test\")) ((NIL NIL \"alice\" "
    "\"example.test\")) ((NIL NIL \"alice\" \"example.test\")) ((NIL NIL \"bob\" "
    "\"example.test\")) NIL NIL NIL NIL)",
    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 15 0 NIL NIL NIL "
    "NIL)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 239 (\"Thu, 3 Apr 2025 12:00:00 "
    "+0000\" \"inner\" ((\"Inner\" NIL \"inner\" \"example.test\")) ((\"Inner\" NIL "
    "\"inner\" \"example.test\")) ((\"Inner\" NIL \"inner\" \"example.test\")) NIL NIL "
    "NIL NIL NIL) ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 "
    "NIL NIL NIL NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0 "
    "NIL NIL NIL NIL) \"alternative\" (\"boundary\" \"y\") NIL NIL NIL) 14 NIL NIL NIL "
    "NIL) \"mixed\" (\"boundary\" \"x\") NIL NIL NIL)",
    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 15 0)(\"message\" "
    "\"rfc822\" NIL NIL NIL \"7bit\" 239 (\"Thu, 3 Apr 2025 12:00:00 +0000\" \"inner\" "
    "((\"Inner\" NIL \"inner\" \"example.test\")) ((\"Inner\" NIL \"inner\" "
    "\"example.test\")) ((\"Inner\" NIL \"inner\" \"example.test\")) NIL NIL NIL NIL "
    "NIL) ((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0)"
    "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0) "
    "\"alternative\") 14) \"mixed\")" },
  { "groups", fixture_groups, 192,
    "(NIL \"groups\" ((\"Alice\" NIL \"alice\" \"example.test\")) ((\"Alice\" NIL "
    "\"alice\" \"example.test\")) ((\"Alice\" NIL \"alice\" \"example.test\")) ((NIL NIL "
    "\"Friends\" NIL)(NIL NIL \"a\" \"example.test\")(\"B Name\" NIL \"b\" "
    "\"example.test\")(NIL NIL NIL NIL)(NIL NIL \"solo\" \"example.test\")) ((NIL NIL "
    "\"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL \"<g@example.test>\")",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1 NIL NIL NIL NIL)",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 1)" },
  { "missing", fixture_missing, 52,
    "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 26 2 NIL NIL NIL "
    "NIL)",
    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 26 2)" },
  { "edge", fixture_edge, 374,
    "(\"Mon, 7 Feb 1994 21:52:25 -0800  \" \"folded subject  line\" "
    "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"joerg\" \"example.test\")) "
    "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"joerg\" \"example.test\")) "
    "((\"=?utf-8?q?J=C3=B6rg?=\" NIL \"joerg\" \"example.test\")) ((NIL NIL \"nodomain\" "
    "\"MISSING_DOMAIN\")(\"Comment Name\" NIL \"user\" \"host.test\")(NIL "
    "\"@route.test\" \"r\" \"example.test\")(\"Q \\\"x\\\" y\" NIL \"q\" "
    "\"example.test\")) ((NIL NIL \"bare\" \"example.test\")(NIL NIL \"empty\" "
    "\"example.test\")) NIL NIL NIL)",
    "(\"Text\" \"PLAIN\" (\"Charset\" \"UTF-8\" \"Format\" \"flowed\") NIL NIL \"8BIT\" "
    "3 1 NIL NIL NIL NIL)",
    "(\"Text\" \"PLAIN\" (\"Charset\" \"UTF-8\" \"Format\" \"flowed\") NIL NIL \"8BIT\" "
    "3 1)" },
  { "params", fixture_params, 399,
    "(NIL \"\" NIL NIL NIL NIL NIL NIL NIL NIL)",
    "((\"application\" \"pdf\" (\"name*\" \"utf-8''%C3%A4.pdf\") NIL NIL \"7bit\" 4 NIL "
    "(\"inline\" NIL) NIL NIL)(\"image\" \"png\" (\"name\" \"=?utf-8?q?=C3=A4?=.png\") "
    "NIL NIL \"7bit\" 3 NIL (\"attachment\" (\"filename\" \"longname.png\")) (\"en\" "
    "\"de\") NIL)(\"text\" \"plain\" (\"format\" \"flowed\" \"charset\" \"us-ascii\") "
    "NIL NIL \"7bit\" 4 1 NIL NIL NIL NIL) \"MIXED\" (\"boundary\" \"zz\" \"foo\" \"a "
    "b\") NIL NIL NIL)",
    "((\"application\" \"pdf\" (\"name*\" \"utf-8''%C3%A4.pdf\") NIL NIL \"7bit\" 4)"
    "(\"image\" \"png\" (\"name\" \"=?utf-8?q?=C3=A4?=.png\") NIL NIL \"7bit\" 3)"
    "(\"text\" \"plain\" (\"format\" \"flowed\" \"charset\" \"us-ascii\") NIL NIL "
    "\"7bit\" 4 1) \"MIXED\")" },
};

/* `text` with every LF made CRLF (`crlf`) or as it is. */
static char *
line_ends (const char *text,
           gboolean crlf)
{
  g_auto (GStrv) lines = NULL;

  if (!crlf)
    return g_strdup (text);
  lines = g_strsplit (text, "\n", -1);
  return g_strjoinv ("\r\n", lines);
}

static void
check_structure (const StructureCase *c,
                 gboolean crlf)
{
  g_autofree char *message = line_ends (c->message, crlf);
  gsize len = strlen (message);
  gsize header_len = ms_imap_header_end (message, len);
  g_autoptr (MsImapPart) tree = ms_imap_part_parse (message, len);
  g_autoptr (GString) envelope = g_string_new (NULL);
  g_autoptr (GString) bodystructure = g_string_new (NULL);
  g_autoptr (GString) body = g_string_new (NULL);

  g_test_message ("%s, %s", c->name, crlf ? "CRLF" : "LF");
  g_assert_cmpuint (ms_imap_wire_size (message, len), ==, c->wire_size);
  ms_imap_append_envelope (envelope, message, header_len);
  g_assert_cmpstr (envelope->str, ==, c->envelope);
  ms_imap_append_body_structure (bodystructure, tree, message, TRUE);
  g_assert_cmpstr (bodystructure->str, ==, c->bodystructure);
  ms_imap_append_body_structure (body, tree, message, FALSE);
  g_assert_cmpstr (body->str, ==, c->body);
}

static void
test_structure (gconstpointer data)
{
  const StructureCase *c = data;

  check_structure (c, TRUE);
  check_structure (c, FALSE);
}

/* `levels` nested multiparts around one text/plain part, as Dovecot's
 * tests build them. */
static char *
deep_message (guint levels)
{
  GString *message = g_string_new ("From: a@example.test\nSubject: deep\n"
                                   "Content-Type: multipart/mixed; boundary=\"d0\"\n\n");

  for (guint i = 1; i < levels; i++)
    g_string_append_printf (message, "--d%u\nContent-Type: multipart/mixed; boundary=\"d%u\"\n\n",
                            i - 1, i);
  g_string_append_printf (message, "--d%u\nContent-Type: text/plain\n\nleaf\n", levels - 1);
  for (guint i = levels; i-- > 0;)
    g_string_append_printf (message, "--d%u--\n", i);
  return g_string_free (message, FALSE);
}

static void
test_deep (void)
{
  g_autofree char *message = deep_message (40);
  g_autoptr (MsImapPart) tree = ms_imap_part_parse (message, strlen (message));
  g_autoptr (GString) got = g_string_new (NULL);
  g_autoptr (GString) expected = g_string_new (NULL);
  g_autofree char *start_mark = g_strdup_printf ("boundary=\"d%u\"\n\n", MS_IMAP_MAX_MIME_DEPTH);
  g_autofree char *end_mark = g_strdup_printf ("\n--d%u--", MS_IMAP_MAX_MIME_DEPTH - 1);
  const char *inner;
  gsize inner_len;
  guint lines = 0;

  g_test_summary ("40 nested multiparts: the first MS_IMAP_MAX_MIME_DEPTH are described, "
                  "the part below them as text/plain holding the rest (Dovecot describes "
                  "all 40); a far deeper message still returns a small answer");
  inner = strstr (message, start_mark) + strlen (start_mark);
  inner_len = strstr (inner, end_mark) - inner;
  for (gsize i = 0; i < inner_len; i++)
    lines += inner[i] == '\n';
  for (guint i = 0; i <= MS_IMAP_MAX_MIME_DEPTH; i++)
    g_string_append_c (expected, '(');
  /* stored with bare LF: each counts two octets on the wire */
  g_string_append_printf (expected,
                          "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" %"
                          G_GSIZE_FORMAT " %u)", inner_len + lines, lines);
  for (guint i = MS_IMAP_MAX_MIME_DEPTH; i-- > 0;)
    g_string_append (expected, " \"mixed\")");
  ms_imap_append_body_structure (got, tree, message, FALSE);
  g_assert_cmpstr (got->str, ==, expected->str);

  {
    g_autoptr (GString) hostile = g_string_new (NULL);
    g_autoptr (MsImapPart) hostile_tree = NULL;
    g_autoptr (GString) out = g_string_new (NULL);

    for (guint i = 0; i < 100000; i++)
      {
        if (i % 2)
          g_string_append (hostile, "Content-Type: message/rfc822\n\n");
        else
          g_string_append_printf (hostile,
                                  "Content-Type: multipart/mixed; boundary=b%u\n\n--b%u\n", i, i);
      }
    hostile_tree = ms_imap_part_parse (hostile->str, hostile->len);
    ms_imap_append_body_structure (out, hostile_tree, hostile->str, TRUE);
    g_assert_cmpuint (out->len, <, 64 * 1024);
  }
}

static void
test_sizes (void)
{
  static const struct {
    const char *data;
    guint64 size;
  } cases[] = {
    { "", 0 },
    { "a", 1 },
    { "\n", 2 },
    { "\r\n", 2 },
    { "a\nb\r\nc\n", 9 },
    { "\r\r\n\n", 5 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GString) crlf = g_string_new (NULL);

      g_assert_cmpuint (ms_imap_wire_size (cases[i].data, strlen (cases[i].data)), ==,
                        cases[i].size);
      ms_imap_append_crlf (crlf, cases[i].data, strlen (cases[i].data));
      g_assert_cmpuint (crlf->len, ==, cases[i].size);
      g_assert_null (strstr (crlf->str, "\n\n"));
    }
}

static void
test_header_fields (void)
{
  static const char header[] =
    "From: a@example.test\r\n"
    "Subject: one\r\n"
    " two\r\n"
    "subject: again\r\n"
    "X-Last: no line end";
  static const char *const names[] = { "SUBJECT", "x-last" };
  g_autoptr (GString) fields = g_string_new (NULL);
  g_autoptr (GString) others = g_string_new (NULL);

  g_assert_cmpuint (ms_imap_header_end (header, sizeof header - 1), ==, sizeof header - 1);
  g_assert_cmpuint (ms_imap_header_end ("A: b\n\nbody", 10), ==, 6);
  g_assert_cmpuint (ms_imap_header_end ("A: b\r\n\r\n", 8), ==, 8);
  ms_imap_append_header_fields (fields, header, sizeof header - 1, names, 2, FALSE);
  g_assert_cmpstr (fields->str, ==,
                   "Subject: one\r\n two\r\nsubject: again\r\nX-Last: no line end\r\n\r\n");
  ms_imap_append_header_fields (others, header, sizeof header - 1, names, 2, TRUE);
  g_assert_cmpstr (others->str, ==, "From: a@example.test\r\n\r\n");
}

/* ---- sessions ---- */

#define HOST "alpha.test"
/* 2023-11-14 22:13:20 UTC */
#define INTERNAL_DATE 1700000000

typedef struct {
  char *root;
  MsStore *store;
  MsImapSession *session;
  GString *output;
  gsize pending_bytes;        /* literal bytes the session still waits for */
  gboolean closed;
} Fixture;

static gboolean
fake_authenticate (gpointer data,
                   const char *user,
                   const char *password,
                   char **user_r)
{
  if (strcmp (user, "alice") != 0 || strcmp (password, "alicepw") != 0)
    return FALSE;
  *user_r = g_strdup (user);
  return TRUE;
}

/* No claim_recent: no message is \Recent, so FLAGS are what is stored. */
static const MsImapBackend fake_backend = { fake_authenticate, NULL };

static void
out_send (gpointer data,
          const char *bytes,
          gsize len)
{
  Fixture *fixture = data;

  g_assert_false (fixture->closed);
  g_string_append_len (fixture->output, bytes, len);
}

static void
out_start_tls (gpointer data)
{
}

static void
out_close (gpointer data)
{
  ((Fixture *) data)->closed = TRUE;
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
}

static void
out_read_bytes (gpointer data,
                gsize count)
{
  ((Fixture *) data)->pending_bytes = count;
}

static const MsSessionOutput fake_output = {
  out_send, out_start_tls, out_close, out_set_max_line, out_hold, out_read_bytes,
};

static void
deliver (Fixture *fixture,
         const char *text,
         const char *flags)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (ms_store_deliver (fixture->store, "alice", "INBOX", (const guint8 *) text,
                                   strlen (text), flags, INTERNAL_DATE, NULL, &error));
  g_assert_no_error (error);
}

/* INBOX: 1 fixture_simple with CRLF, unseen (in new/); 2 fixture_rfc822
 * with bare LF, unseen; 3 fixture_missing, \Seen \Flagged. UIDs 1-3. */
static void
fixture_set_up (Fixture *fixture,
                gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *simple = line_ends (fixture_simple, TRUE);
  MsImapSessionConfig config = {
    .hostname = HOST,
    .max_bad_commands = 1000,
    .server_name = HOST,
    .session_id = "imap-1",
  };

  fixture->root = g_dir_make_tmp ("test-imap-fetch-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->store = ms_store_new (fixture->root, HOST, NULL);
  g_assert_true (ms_store_ensure_user (fixture->store, "alice", &error));
  g_assert_no_error (error);
  deliver (fixture, simple, NULL);
  deliver (fixture, fixture_rfc822, NULL);
  deliver (fixture, fixture_missing, "FS");

  config.store = fixture->store;
  fixture->output = g_string_new (NULL);
  fixture->session = ms_imap_session_new (&config, &fake_backend, fixture, &fake_output,
                                          fixture);
  ms_imap_session_start (fixture->session);
}

static void
fixture_tear_down (Fixture *fixture,
                   gconstpointer user_data)
{
  g_clear_pointer (&fixture->session, ms_imap_session_free);
  g_string_free (fixture->output, TRUE);
  ms_store_free (fixture->store);
  ms_test_remove_tree (fixture->root);
  g_free (fixture->root);
}

/* Feeds `wire` as a connection would (lines, and raw bytes while the
 * session waits for a literal); returns what the session sent. */
static char *
feed (Fixture *fixture,
      const char *wire)
{
  gsize len = strlen (wire);
  gsize pos = 0;

  g_string_truncate (fixture->output, 0);
  while (pos < len && !fixture->closed)
    {
      const char *lf;
      gsize end;

      if (fixture->pending_bytes > 0)
        {
          gsize take = MIN (fixture->pending_bytes, len - pos);

          fixture->pending_bytes -= take;
          ms_imap_session_feed_bytes (fixture->session, (const guint8 *) wire + pos, take,
                                      fixture->pending_bytes == 0);
          pos += take;
          continue;
        }
      lf = memchr (wire + pos, '\n', len - pos);
      end = lf != NULL ? (gsize) (lf - wire) : len;
      g_assert_true (end > pos && wire[end - 1] == '\r');
      ms_imap_session_feed_line (fixture->session, wire + pos, end - 1 - pos,
                                 MS_LINE_FLAG_NONE);
      pos = end + 1;
    }
  return g_strdup (fixture->output->str);
}

static void
expect (Fixture *fixture,
        const char *wire,
        const char *expected)
{
  g_autofree char *got = feed (fixture, wire);

  g_test_message ("C: %s", wire);
  g_assert_cmpstr (got, ==, expected);
}

static void
open_inbox (Fixture *fixture,
            const char *verb)
{
  g_autofree char *got = NULL;
  g_autofree char *command = g_strdup_printf ("s1 %s INBOX\r\n", verb);

  got = feed (fixture, "l1 LOGIN alice alicepw\r\n");
  g_assert_true (g_str_has_prefix (got, "l1 OK "));
  got = (g_free (got), feed (fixture, command));
  g_assert_nonnull (strstr (got, "\r\ns1 OK ["));
  g_assert_cmpint (ms_imap_session_get_state (fixture->session), ==, MS_IMAP_STATE_SELECTED);
}

/* The Maildir flags of message `uid` as the file name says: "" for a file
 * in new/, else what follows ":2,". */
static char *
disk_flags (Fixture *fixture,
            guint32 uid)
{
  g_autoptr (MsStoreMessage) message = NULL;
  g_autoptr (GError) error = NULL;
  const char *subs[] = { "new", "cur" };

  message = ms_store_get_message (fixture->store, "alice", "INBOX", uid, &error);
  g_assert_no_error (error);
  for (guint s = 0; s < G_N_ELEMENTS (subs); s++)
    {
      g_autofree char *path = g_build_filename (fixture->root, "alice", subs[s], NULL);
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          if (!g_str_has_prefix (name, message->name))
            continue;
          if (s == 0)
            return g_strdup ("");
          g_assert_nonnull (strstr (name, ":2,"));
          return g_strdup (strstr (name, ":2,") + 3);
        }
    }
  g_assert_not_reached ();
}

static void
assert_disk_flags (Fixture *fixture,
                   guint32 uid,
                   const char *expected)
{
  g_autofree char *flags = disk_flags (fixture, uid);

  g_assert_cmpstr (flags, ==, expected);
}

static char *
literal (const char *text)
{
  return g_strdup_printf ("{%" G_GSIZE_FORMAT "}\r\n%s", strlen (text), text);
}

static void
test_fetch_items (Fixture *fixture,
                  gconstpointer user_data)
{
  g_autofree char *envelope = NULL;
  g_autofree char *expected = NULL;

  open_inbox (fixture, "SELECT");
  expect (fixture, "f1 FETCH 1:3 (UID FLAGS RFC822.SIZE INTERNALDATE)\r\n",
          "* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 217 "
          "INTERNALDATE \"14-Nov-2023 22:13:20 +0000\")\r\n"
          "* 2 FETCH (UID 2 FLAGS () RFC822.SIZE 463 "
          "INTERNALDATE \"14-Nov-2023 22:13:20 +0000\")\r\n"
          "* 3 FETCH (UID 3 FLAGS (\\Flagged \\Seen) RFC822.SIZE 52 "
          "INTERNALDATE \"14-Nov-2023 22:13:20 +0000\")\r\n"
          "f1 OK FETCH completed\r\n");
  /* the structure items are the module's, tested above: here only that
   * they arrive whole, in the order asked */
  expected = g_strdup_printf ("* 2 FETCH (ENVELOPE %s BODY %s BODYSTRUCTURE %s)\r\n"
                              "f2 OK FETCH completed\r\n",
                              structure_cases[3].envelope, structure_cases[3].body,
                              structure_cases[3].bodystructure);
  g_assert_cmpstr (structure_cases[3].name, ==, "rfc822");
  expect (fixture, "f2 FETCH 2 (ENVELOPE BODY BODYSTRUCTURE)\r\n", expected);

  /* RFC 3501 §6.4.5 macros */
  envelope = g_strdup (structure_cases[5].envelope);
  g_assert_cmpstr (structure_cases[5].name, ==, "missing");
  g_free (expected);
  expected = g_strdup_printf ("* 3 FETCH (FLAGS (\\Flagged \\Seen) INTERNALDATE "
                              "\"14-Nov-2023 22:13:20 +0000\" RFC822.SIZE 52 ENVELOPE %s)\r\n"
                              "f3 OK FETCH completed\r\n", envelope);
  expect (fixture, "f3 FETCH 3 ALL\r\n", expected);
  expect (fixture, "f4 FETCH 3 fast\r\n",
          "* 3 FETCH (FLAGS (\\Flagged \\Seen) INTERNALDATE \"14-Nov-2023 22:13:20 +0000\" "
          "RFC822.SIZE 52)\r\nf4 OK FETCH completed\r\n");
  g_free (expected);
  expected = g_strdup_printf ("* 3 FETCH (FLAGS (\\Flagged \\Seen) INTERNALDATE "
                              "\"14-Nov-2023 22:13:20 +0000\" RFC822.SIZE 52 ENVELOPE %s "
                              "BODY %s)\r\nf5 OK FETCH completed\r\n",
                              envelope, structure_cases[5].body);
  expect (fixture, "f5 FETCH 3 FULL\r\n", expected);

  /* §6.4.8: UID FETCH answers with the UID even when not asked */
  expect (fixture, "u1 UID FETCH 2:* FLAGS\r\n",
          "* 2 FETCH (UID 2 FLAGS ())\r\n* 3 FETCH (UID 3 FLAGS (\\Flagged \\Seen))\r\n"
          "u1 OK UID FETCH completed\r\n");
  expect (fixture, "u2 UID FETCH 7:9 (UID FLAGS)\r\n", "u2 OK UID FETCH completed\r\n");
  /* nothing above set \Seen */
  for (guint32 uid = 1; uid <= 2; uid++)
    assert_disk_flags (fixture, uid, "");
}

typedef struct {
  const char *items;          /* what FETCH asks for */
  const char *answer;         /* the response's items, "%L" for `text` as a literal */
  const char *text;
} SectionCase;

/* Message 2 is stored with bare LF: every answer must have CRLF. The
 * answers are what Dovecot 2.3 gives for the same message. */
static const SectionCase section_cases[] = {
  { "BODY.PEEK[1]", "BODY[1] %L", "forwarded below" },
  { "BODY.PEEK[1.MIME]", "BODY[1.MIME] %L", "Content-Type: text/plain\r\n\r\n" },
  { "BODY.PEEK[2.HEADER]", "BODY[2.HEADER] %L",
    "From: Inner <inner@example.test>\r\nSubject: inner\r\n"
    "Date: Thu, 3 Apr 2025 12:00:00 +0000\r\n"
    "Content-Type: multipart/alternative; boundary=\"y\"\r\n\r\n" },
  { "BODY.PEEK[2.1]", "BODY[2.1] %L", "inner text" },
  { "BODY.PEEK[2.2]", "BODY[2.2] %L", "<b>inner</b>" },
  { "BODY.PEEK[2.2.MIME]", "BODY[2.2.MIME] %L", "Content-Type: text/html\r\n\r\n" },
  { "BODY.PEEK[2.TEXT]", "BODY[2.TEXT] %L",
    "--y\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--y\r\n"
    "Content-Type: text/html\r\n\r\n<b>inner</b>\r\n--y--\r\n" },
  { "BODY.PEEK[2.HEADER.FIELDS (subject)]", "BODY[2.HEADER.FIELDS (SUBJECT)] %L",
    "Subject: inner\r\n\r\n" },
  { "BODY.PEEK[2.MIME]", "BODY[2.MIME] %L", "Content-Type: message/rfc822\r\n\r\n" },
  /* parts that do not exist: an empty string, as Dovecot */
  { "BODY.PEEK[3]", "BODY[3] %L", "" },
  { "BODY.PEEK[2.3]", "BODY[2.3] %L", "" },
  { "BODY.PEEK[1.HEADER]", "BODY[1.HEADER] %L", "" },
  { "BODY.PEEK[HEADER.FIELDS (Subject From)]", "BODY[HEADER.FIELDS (SUBJECT FROM)] %L",
    "From: alice@example.test\r\nSubject: fwd\r\n\r\n" },
  { "BODY.PEEK[HEADER.FIELDS.NOT (Subject From To MIME-Version)]",
    "BODY[HEADER.FIELDS.NOT (SUBJECT FROM TO MIME-VERSION)] %L",
    "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n" },
  { "BODY.PEEK[HEADER.FIELDS (\"X-None\")]", "BODY[HEADER.FIELDS (X-NONE)] %L", "\r\n" },
  /* partial (§6.4.5): the origin is in the answer's name, the count not */
  { "BODY.PEEK[]<0.4>", "BODY[]<0> %L", "From" },
  { "BODY.PEEK[HEADER]<50.12>", "BODY[HEADER]<50> %L", "bject: fwd\r\n" },
  { "BODY.PEEK[1]<8.100>", "BODY[1]<8> %L", "d below" },
  { "BODY.PEEK[1]<15.1>", "BODY[1]<15> %L", "" },
  { "BODY.PEEK[]<100000.1>", "BODY[]<100000> %L", "" },
  { "RFC822.HEADER", "RFC822.HEADER %L",
    "From: alice@example.test\r\nTo: bob@example.test\r\nSubject: fwd\r\nMIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"x\"\r\n\r\n" },
};

static void
test_sections (Fixture *fixture,
               gconstpointer user_data)
{
  g_autofree char *whole = line_ends (fixture_rfc822, TRUE);
  g_autofree char *whole_literal = literal (whole);
  g_autofree char *expected = NULL;

  open_inbox (fixture, "SELECT");
  for (guint i = 0; i < G_N_ELEMENTS (section_cases); i++)
    {
      const SectionCase *c = &section_cases[i];
      g_autofree char *command = g_strdup_printf ("t%u FETCH 2 (%s)\r\n", i, c->items);
      g_autofree char *text = literal (c->text);
      g_autofree char *answer = NULL;
      g_autofree char *response = NULL;
      g_auto (GStrv) halves = g_strsplit (c->answer, "%L", 2);

      g_assert_cmpuint (g_strv_length (halves), ==, 2);
      answer = g_strjoin (text, halves[0], halves[1], NULL);
      response = g_strdup_printf ("* 2 FETCH (%s)\r\nt%u OK FETCH completed\r\n", answer, i);
      expect (fixture, command, response);
    }
  /* BODY.PEEK[] is the whole message, with CRLF; still unseen */
  expected = g_strdup_printf ("* 2 FETCH (UID 2 BODY[] %s)\r\nw1 OK UID FETCH completed\r\n",
                              whole_literal);
  expect (fixture, "w1 UID FETCH 2 BODY.PEEK[]\r\n", expected);
  assert_disk_flags (fixture, 2, "");
}

/* RFC 3501 §6.4.5: BODY[...] sets \Seen, BODY.PEEK[...] and RFC822.HEADER
 * do not; RFC822 and RFC822.TEXT do. The answer then carries FLAGS. */
static void
test_seen (Fixture *fixture,
           gconstpointer user_data)
{
  g_autofree char *text = literal ("Hello Bob,\r\nhow are you?\r\n");
  g_autofree char *expected = NULL;

  open_inbox (fixture, "SELECT");
  expected = g_strdup_printf ("* 1 FETCH (BODY[TEXT] %s FLAGS (\\Seen))\r\n"
                              "b1 OK FETCH completed\r\n", text);
  expect (fixture, "b1 FETCH 1 BODY[TEXT]\r\n", expected);
  assert_disk_flags (fixture, 1, "S");
  /* already seen: no FLAGS added */
  g_free (expected);
  expected = g_strdup_printf ("* 1 FETCH (RFC822.TEXT %s)\r\nb2 OK FETCH completed\r\n", text);
  expect (fixture, "b2 FETCH 1 RFC822.TEXT\r\n", expected);
  /* FLAGS asked for: it shows the new \Seen, once */
  expect (fixture, "b3 FETCH 2 (FLAGS BODY[1])\r\n",
          "* 2 FETCH (FLAGS (\\Seen) BODY[1] {15}\r\nforwarded below)\r\n"
          "b3 OK FETCH completed\r\n");
  assert_disk_flags (fixture, 2, "S");
  /* \Flagged stays; \Seen is there already */
  expect (fixture, "b4 FETCH 3 (RFC822.HEADER)\r\n",
          "* 3 FETCH (RFC822.HEADER {26}\r\nX-Note: nothing useful\r\n\r\n)\r\n"
          "b4 OK FETCH completed\r\n");
  assert_disk_flags (fixture, 3, "FS");
}

static void
test_seen_rfc822 (Fixture *fixture,
                  gconstpointer user_data)
{
  g_autofree char *whole = line_ends (fixture_simple, TRUE);
  g_autofree char *whole_literal = literal (whole);
  g_autofree char *expected = NULL;

  open_inbox (fixture, "SELECT");
  expected = g_strdup_printf ("* 1 FETCH (UID 1 RFC822 %s FLAGS (\\Seen))\r\n"
                              "r1 OK UID FETCH completed\r\n", whole_literal);
  expect (fixture, "r1 UID FETCH 1 RFC822\r\n", expected);
  assert_disk_flags (fixture, 1, "S");
}

/* §6.3.2: EXAMINE is read-only: BODY[] does not set \Seen, STORE fails. */
static void
test_examine (Fixture *fixture,
              gconstpointer user_data)
{
  g_autofree char *expected = NULL;

  open_inbox (fixture, "EXAMINE");
  expected = g_strdup_printf ("* 1 FETCH (BODY[]<0> {4}\r\nFrom)\r\ne1 OK FETCH completed\r\n");
  expect (fixture, "e1 FETCH 1 BODY[]<0.4>\r\n", expected);
  assert_disk_flags (fixture, 1, "");
  expect (fixture, "e2 STORE 1 +FLAGS (\\Deleted)\r\n",
          "e2 NO [READ-ONLY] Mailbox is read-only (EXAMINE)\r\n");
  expect (fixture, "e3 UID STORE 1:* FLAGS.SILENT ()\r\n",
          "e3 NO [READ-ONLY] Mailbox is read-only (EXAMINE)\r\n");
  assert_disk_flags (fixture, 3, "FS");
}

typedef struct {
  const char *command;
  const char *answer;
  const char *flags[3];       /* on disk afterwards, messages 1-3 */
} StoreCase;

/* Run one after another on the same session. */
static const StoreCase store_cases[] = {
  { "a STORE 1 +FLAGS (\\Flagged)\r\n",
    "* 1 FETCH (FLAGS (\\Flagged))\r\na OK STORE completed\r\n", { "F", "", "FS" } },
  { "b STORE 1:2 +FLAGS.SILENT (\\Deleted \\Answered)\r\n",
    "b OK STORE completed\r\n", { "FRT", "RT", "FS" } },
  { "c STORE 2,3 -FLAGS \\Deleted \\seen\r\n",
    "* 2 FETCH (FLAGS (\\Answered))\r\n* 3 FETCH (FLAGS (\\Flagged))\r\n"
    "c OK STORE completed\r\n", { "FRT", "R", "F" } },
  { "d STORE 1 FLAGS (\\Draft)\r\n",
    "* 1 FETCH (FLAGS (\\Draft))\r\nd OK STORE completed\r\n", { "D", "R", "F" } },
  { "e STORE 1 flags ()\r\n",
    "* 1 FETCH (FLAGS ())\r\ne OK STORE completed\r\n", { "", "R", "F" } },
  { "f UID STORE 2:3 +FLAGS (\\Seen)\r\n",
    "* 2 FETCH (UID 2 FLAGS (\\Answered \\Seen))\r\n* 3 FETCH (UID 3 FLAGS (\\Flagged \\Seen))\r\n"
    "f OK UID STORE completed\r\n", { "", "RS", "FS" } },
  { "g UID STORE 3,9 -FLAGS.SILENT (\\Seen)\r\n",
    "g OK UID STORE completed\r\n", { "", "RS", "F" } },
  /* UIDs that are not there are skipped (§6.4.8) */
  { "h UID STORE 10:20 +FLAGS (\\Seen)\r\n", "h OK UID STORE completed\r\n", { "", "RS", "F" } },
  /* errors change nothing */
  { "i STORE 4 +FLAGS (\\Seen)\r\n", NULL, { "", "RS", "F" } },
  { "j STORE 1 +FLAGS ($Junk)\r\n",
    "j NO [CANNOT] Keywords are not kept here; see PERMANENTFLAGS\r\n", { "", "RS", "F" } },
  { "k STORE 1 +FLAGS (\\Recent)\r\n",
    "k BAD Invalid flags: only \\Answered \\Flagged \\Deleted \\Seen \\Draft can be stored "
    "(RFC 3501 section 2.3.2)\r\n",
    { "", "RS", "F" } },
  { "l STORE 1 +FLAGS \"\\\\Seen\"\r\n", NULL, { "", "RS", "F" } },
  { "l2 STORE 1 +FLAGS (\\Seen (\\Deleted))\r\n", NULL, { "", "RS", "F" } },
  { "l3 STORE 1 +FLAGS \\Seen (\\Deleted)\r\n", NULL, { "", "RS", "F" } },
  { "m STORE 1 FLAGS.NOISY (\\Seen)\r\n", NULL, { "", "RS", "F" } },
  { "n STORE 1 +FLAGS\r\n", NULL, { "", "RS", "F" } },
};

static void
test_store (Fixture *fixture,
            gconstpointer user_data)
{
  open_inbox (fixture, "SELECT");
  for (guint i = 0; i < G_N_ELEMENTS (store_cases); i++)
    {
      const StoreCase *c = &store_cases[i];
      g_autofree char *got = feed (fixture, c->command);

      g_test_message ("C: %s", c->command);
      if (c->answer != NULL)
        g_assert_cmpstr (got, ==, c->answer);
      else
        {
          g_autofree char *bad = g_strdup_printf ("%.*s BAD ",
                                                  (int) strcspn (c->command, " "), c->command);

          g_assert_true (g_str_has_prefix (got, bad));
        }
      for (guint32 uid = 1; uid <= 3; uid++)
        assert_disk_flags (fixture, uid, c->flags[uid - 1]);
    }
  /* FETCH FLAGS agrees with the store */
  expect (fixture, "z FETCH 1:3 FLAGS\r\n",
          "* 1 FETCH (FLAGS ())\r\n* 2 FETCH (FLAGS (\\Answered \\Seen))\r\n"
          "* 3 FETCH (FLAGS (\\Flagged))\r\nz OK FETCH completed\r\n");
}

static void
test_bad_fetch (Fixture *fixture,
                gconstpointer user_data)
{
  static const char *const bad[] = {
    "FETCH 1",
    "FETCH 1 (FOO)",
    "FETCH 1 ()",
    "FETCH 1 (FLAGS) extra",
    "FETCH 1 (FLAGS (UID))",
    "FETCH 1 \"FLAGS\"",
    "FETCH 1 BODY[HEADER.FIELDS]",
    "FETCH 1 BODY[HEADER.FIELDS ()]",
    "FETCH 1 BODY[MIME]",
    "FETCH 1 BODY[0]",
    "FETCH 1 BODY[1.]",
    "FETCH 1 BODY[TEXTS]",
    "FETCH 1 BODY[]<0>",
    "FETCH 1 BODY[]<0.0>",
    "FETCH 1 BODY[]<1.2",
    "FETCH 1 BODY[]x",
    "FETCH 1 BODY.PEEK",
    "FETCH 1 ALL.PEEK",
    "FETCH 1 (ALL)",
    "FETCH 0 FLAGS",
    "FETCH 4 FLAGS",
    "FETCH x FLAGS",
    "UID FETCH 0 FLAGS",
  };

  open_inbox (fixture, "SELECT");
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *command = g_strdup_printf ("x%u %s\r\n", i, bad[i]);
      g_autofree char *prefix = g_strdup_printf ("x%u BAD ", i);
      g_autofree char *got = feed (fixture, command);

      g_test_message ("C: %s", command);
      g_assert_true (g_str_has_prefix (got, prefix));
    }
  /* nothing was fetched, nothing became seen */
  for (guint32 uid = 1; uid <= 2; uid++)
    assert_disk_flags (fixture, uid, "");
}

/* A message the view still has but another session expunged: RFC 3501
 * §6.4.5 allows NO; RFC 5530 names it EXPUNGEISSUED. The others are
 * answered. */
static void
test_expunged_meanwhile (Fixture *fixture,
                         gconstpointer user_data)
{
  g_autoptr (GError) error = NULL;

  open_inbox (fixture, "SELECT");
  g_assert_true (ms_store_expunge (fixture->store, "alice", "INBOX", 2, &error));
  g_assert_no_error (error);
  expect (fixture, "x1 FETCH 1:3 (UID RFC822.SIZE)\r\n",
          "* 1 FETCH (UID 1 RFC822.SIZE 217)\r\n* 3 FETCH (UID 3 RFC822.SIZE 52)\r\n"
          "x1 NO [EXPUNGEISSUED] Some messages were expunged\r\n");
}

/* HEADER.FIELDS reads only the header from the store; one longer than
 * that read's limit is read whole, so the answer is still right. */
static void
test_long_header (Fixture *fixture,
                  gconstpointer user_data)
{
  g_autoptr (GString) message = g_string_new (NULL);

  while (message->len < 300 * 1024)
    g_string_append (message, "X-Filler: 0123456789012345678901234567890123456789\r\n");
  g_string_append (message, "Subject: at the end\r\n\r\nbody\r\n");
  deliver (fixture, message->str, NULL);
  open_inbox (fixture, "SELECT");
  expect (fixture, "h1 FETCH 4 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
          "* 4 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {23}\r\nSubject: at the end\r\n\r\n)\r\n"
          "h1 OK FETCH completed\r\n");
  expect (fixture, "h2 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n",
          "* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {18}\r\nSubject: Hello\r\n\r\n)\r\n"
          "h2 OK FETCH completed\r\n");
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (structure_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/server/imap-fetch/structure/%s",
                                               structure_cases[i].name);

      g_test_add_data_func (path, &structure_cases[i], test_structure);
    }
  g_test_add_func ("/server/imap-fetch/structure/deep", test_deep);
  g_test_add_func ("/server/imap-fetch/sizes", test_sizes);
  g_test_add_func ("/server/imap-fetch/header-fields", test_header_fields);

#define ADD(path, func) \
  g_test_add ("/server/imap-fetch/session/" path, Fixture, NULL, fixture_set_up, func, \
              fixture_tear_down)

  ADD ("items", test_fetch_items);
  ADD ("sections", test_sections);
  ADD ("seen", test_seen);
  ADD ("seen-rfc822", test_seen_rfc822);
  ADD ("examine", test_examine);
  ADD ("store", test_store);
  ADD ("bad-fetch", test_bad_fetch);
  ADD ("expunged-meanwhile", test_expunged_meanwhile);
  ADD ("long-header", test_long_header);
#undef ADD

  return g_test_run ();
}
