/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-imap-parser.h"

/* Inputs may hold NULs, so each carries its length. */
#define BYTES(s) s, sizeof (s) - 1

/* Writes a parsed command in one line for comparison: "tag|VERB|args",
 * atoms bare, strings in double quotes (a literal with a leading 'L'),
 * bytes outside 0x20..0x7E as \xHH, lists in parentheses. */
static void
dump_arg (GString *out,
          const MsImapArg *arg)
{
  switch (arg->type)
    {
    case MS_IMAP_ARG_ATOM:
      g_assert_cmpuint (strlen (arg->data), ==, arg->len);
      g_string_append (out, arg->data);
      break;
    case MS_IMAP_ARG_NIL:
      g_assert_null (arg->data);
      g_string_append (out, "NIL");
      break;
    case MS_IMAP_ARG_STRING:
      g_assert_cmpint (arg->data[arg->len], ==, '\0');
      g_string_append (out, arg->literal ? "L\"" : "\"");
      for (gsize i = 0; i < arg->len; i++)
        {
          guchar c = arg->data[i];

          if (c >= 0x20 && c <= 0x7e)
            g_string_append_c (out, c);
          else
            g_string_append_printf (out, "\\x%02X", c);
        }
      g_string_append_c (out, '"');
      break;
    case MS_IMAP_ARG_LIST:
      g_assert_null (arg->data);
      g_string_append_c (out, '(');
      for (guint i = 0; i < arg->children->len; i++)
        {
          if (i > 0)
            g_string_append_c (out, ' ');
          dump_arg (out, g_ptr_array_index (arg->children, i));
        }
      g_string_append_c (out, ')');
      break;
    default:
      g_assert_not_reached ();
    }
}

static char *
dump_command (const MsImapCommand *command)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "%s|%s", command->tag, command->verb);
  for (guint i = 0; i < command->args->len; i++)
    {
      g_string_append_c (out, '|');
      dump_arg (out, g_ptr_array_index (command->args, i));
    }
  return g_string_free (out, FALSE);
}

/* Parses a copy of exactly `len` bytes (no NUL after it), so ASan sees any
 * read past the end. */
static MsImapCommand *
parse_exact (const char *input,
             gsize len,
             const MsImapLimits *limits,
             char **tag_r,
             GError **error)
{
  g_autofree char *copy = g_memdup2 (input, len);

  return ms_imap_parse_command (len > 0 ? copy : "", len, limits, tag_r, error);
}

static void
limits_for (MsImapLimits *limits,
            guint max_depth,
            guint max_args)
{
  ms_imap_limits_init (limits);
  if (max_depth > 0)
    limits->max_depth = max_depth;
  if (max_args > 0)
    limits->max_args = max_args;
}

typedef struct {
  const char *input;
  gsize len;
  guint max_depth;            /* 0: the default */
  guint max_args;             /* 0: the default */
  const char *expected;
} ValidCase;

static const ValidCase valid_cases[] = {
  { BYTES ("a1 NOOP"), 0, 0, "a1|NOOP" },
  { BYTES ("a1 noop"), 0, 0, "a1|NOOP" },
  { BYTES ("a]1 Capability"), 0, 0, "a]1|CAPABILITY" },
  { BYTES ("A001 LOGIN alice \"pass word\""), 0, 0, "A001|LOGIN|alice|\"pass word\"" },
  { BYTES ("a LOGIN \"a\\\"b\" \"c\\\\d\""), 0, 0, "a|LOGIN|\"a\"b\"|\"c\\d\"" },
  { BYTES ("a LOGIN \"\" \"\""), 0, 0, "a|LOGIN|\"\"|\"\"" },
  { BYTES ("a SELECT \"Entw\xc3\xbcrfe\""), 0, 0, "a|SELECT|\"Entw\\xC3\\xBCrfe\"" },
  /* Sync and non-sync literals (RFC 3501 §4.3, RFC 7888). */
  { BYTES ("a LOGIN {5}\r\nalice {2}\r\npw"), 0, 0, "a|LOGIN|L\"alice\"|L\"pw\"" },
  { BYTES ("a LOGIN {5+}\r\nalice pw"), 0, 0, "a|LOGIN|L\"alice\"|pw" },
  { BYTES ("a APPEND INBOX {7}\r\na\r\n\0b\r\n"), 0, 0,
    "a|APPEND|INBOX|L\"a\\x0D\\x0A\\x00b\\x0D\\x0A\"" },
  { BYTES ("a LOGIN {0}\r\n {05}\r\n(){}\""), 0, 0, "a|LOGIN|L\"\"|L\"(){}\"\"" },
  { BYTES ("a X ({3+}\r\nabc NIL)"), 0, 0, "a|X|(L\"abc\" NIL)" },
  /* Atoms with sections, flags, sequence sets and LIST wildcards. */
  { BYTES ("a2 UID FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.2048>)"), 0, 0,
    "a2|UID|FETCH|1:*|(FLAGS BODY.PEEK[HEADER.FIELDS (From Subject)]<0.2048>)" },
  { BYTES ("a FETCH 1 BODY[]"), 0, 0, "a|FETCH|1|BODY[]" },
  { BYTES ("a FETCH 1 BODY[HEADER.FIELDS (\"X]\" \"Y)\\\"\")]"), 0, 0,
    "a|FETCH|1|BODY[HEADER.FIELDS (\"X]\" \"Y)\\\"\")]" },
  { BYTES ("a3 STORE 1:3,5 +FLAGS.SILENT (\\Seen \\Deleted)"), 0, 0,
    "a3|STORE|1:3,5|+FLAGS.SILENT|(\\Seen \\Deleted)" },
  { BYTES ("a4 LIST \"\" %"), 0, 0, "a4|LIST|\"\"|%" },
  { BYTES ("a4 LIST \"\" *"), 0, 0, "a4|LIST|\"\"|*" },
  { BYTES ("a4 LIST \"\" INBOX/%/*"), 0, 0, "a4|LIST|\"\"|INBOX/%/*" },
  { BYTES ("a X (a (b (c)) ())"), 0, 0, "a|X|(a (b (c)) ())" },
  { BYTES ("a X NIL nil (NIL) NILS \"NIL\""), 0, 0, "a|X|NIL|NIL|(NIL)|NILS|\"NIL\"" },
  { BYTES ("a APPEND INBOX (\\Seen) \" 7-Jul-1996 02:44:25 -0700\" {3}\r\nabc"), 0, 0,
    "a|APPEND|INBOX|(\\Seen)|\" 7-Jul-1996 02:44:25 -0700\"|L\"abc\"" },
  { BYTES ("a SEARCH CHARSET UTF-8 SUBJECT {5+}\r\ncaf\xc3\xa9 UNSEEN"), 0, 0,
    "a|SEARCH|CHARSET|UTF-8|SUBJECT|L\"caf\\xC3\\xA9\"|UNSEEN" },
  /* Limits reached but not passed. */
  { BYTES ("a X ((a))"), 2, 0, "a|X|((a))" },
  { BYTES ("a X BODY[(a (b))]"), 2, 0, "a|X|BODY[(a (b))]" },
  { BYTES ("a X (a b) c"), 0, 4, "a|X|(a b)|c" },
  { BYTES ("a234567890123456789012345678901234567890123456789012345678901234 NOOP"), 0, 0,
    "a234567890123456789012345678901234567890123456789012345678901234|NOOP" },
};

static void
test_parse_valid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (valid_cases); i++)
    {
      const ValidCase *tc = &valid_cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(MsImapCommand) command = NULL;
      char *tag = (char *) "stale";   /* must be reset to NULL on success */
      g_autofree char *dump = NULL;
      MsImapLimits limits;

      limits_for (&limits, tc->max_depth, tc->max_args);
      g_test_message ("case %u: %s", i, tc->expected);
      command = parse_exact (tc->input, tc->len, &limits, &tag, &error);
      g_assert_no_error (error);
      g_assert_nonnull (command);
      g_assert_null (tag);
      dump = dump_command (command);
      g_assert_cmpstr (dump, ==, tc->expected);
    }
}

static void
test_parse_default_limits (void)
{
  g_autoptr(GString) deep = g_string_new ("a X ");
  g_autoptr(MsImapCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  MsImapLimits limits;

  ms_imap_limits_init (&limits);
  g_assert_cmpuint (limits.max_depth, ==, 16);
  g_assert_cmpuint (limits.max_args, ==, 10000);
  g_assert_cmpuint (limits.max_tag, ==, 64);

  /* 16 levels pass with limits == NULL, 17 do not. */
  for (int i = 0; i < 16; i++)
    g_string_append_c (deep, '(');
  for (int i = 0; i < 16; i++)
    g_string_append_c (deep, ')');
  command = ms_imap_parse_command (deep->str, deep->len, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (command);
  g_clear_pointer (&command, ms_imap_command_free);

  g_string_insert_c (deep, 4, '(');
  g_string_append_c (deep, ')');
  command = ms_imap_parse_command (deep->str, deep->len, NULL, NULL, &error);
  g_assert_error (error, MS_IMAP_PARSE_ERROR, MS_IMAP_PARSE_ERROR_LIMIT);
  g_assert_null (command);
}

static void
test_parse_many_args (void)
{
  g_autoptr(GString) line = g_string_new ("a X");
  g_autoptr(MsImapCommand) command = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *tag = NULL;

  for (int i = 0; i < 10000; i++)
    g_string_append (line, " a");
  command = ms_imap_parse_command (line->str, line->len, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (command->args->len, ==, 10000);
  g_clear_pointer (&command, ms_imap_command_free);

  g_string_append (line, " a");
  command = ms_imap_parse_command (line->str, line->len, NULL, &tag, &error);
  g_assert_error (error, MS_IMAP_PARSE_ERROR, MS_IMAP_PARSE_ERROR_LIMIT);
  g_assert_null (command);
  g_assert_cmpstr (tag, ==, "a");
}

typedef struct {
  const char *input;
  gsize len;
  guint max_depth;
  guint max_args;
  MsImapParseError code;
  const char *tag;            /* NULL: the tag cannot be read */
} InvalidCase;

#define BAD_TAG MS_IMAP_PARSE_ERROR_BAD_TAG
#define SYNTAX MS_IMAP_PARSE_ERROR_SYNTAX
#define LIMIT MS_IMAP_PARSE_ERROR_LIMIT

static const InvalidCase invalid_cases[] = {
  /* The tag (RFC 3501 §9 "tag"). */
  { BYTES (""), 0, 0, BAD_TAG, NULL },
  { BYTES (" NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("* NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("+ NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a+1 NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a*1 NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a%1 NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a(1 NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a{1 NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a\"1 NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a\\1 NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a\x01 NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("\xc3\xa9 NOOP"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a\r\n"), 0, 0, BAD_TAG, NULL },
  { BYTES ("a2345678901234567890123456789012345678901234567890123456789012345 NOOP"), 0, 0,
    BAD_TAG, NULL },
  /* The verb and the spaces between arguments. */
  { BYTES ("a1"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 "), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1  NOOP"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 NOOP "), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 NOOP\r\n"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 NO)OP"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 \"NOOP\""), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X a  b"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X a b "), 0, 0, SYNTAX, "a1" },
  /* Lists. */
  { BYTES ("a1 X (a"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X a)"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X (a))"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X ( a)"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X (a )"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X (a)(b)"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X (((a)))"), 2, 0, LIMIT, "a1" },
  { BYTES ("a1 X (BODY[(a (b))])"), 2, 0, LIMIT, "a1" },
  { BYTES ("a1 X a b c d"), 0, 3, LIMIT, "a1" },
  { BYTES ("a1 X (a b) c"), 0, 3, LIMIT, "a1" },
  /* Quoted strings. */
  { BYTES ("a1 X \"abc"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X \"a\rb\""), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X \"a\nb\""), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X \"a\0b\""), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X \"a\\qb\""), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X \"a\\"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X \"a\"b"), 0, 0, SYNTAX, "a1" },
  /* Literals whose announcement does not match the bytes. */
  { BYTES ("a1 X {5}\r\nabc"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {2}\r\nabc"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {4}\r\nabc"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X ({4}\r\nabc)"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {3}abc"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {3}\nabc"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {3}\r"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {}\r\n"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {x}\r\nx"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {3++}\r\nabc"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {99999999999999999999999}\r\nabc"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X {18446744073709551615}\r\nabc"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X ~{3}\r\nabc"), 0, 0, SYNTAX, "a1" },
  /* Atoms and sections. */
  { BYTES ("a1 X caf\xc3\xa9"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X \xc3\xa9"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X a\x01" "b"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X a\x7f"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X a{3}"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X BODY[HEADER"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X BODY[(a]"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X BODY[a)]"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X BODY[[a]]"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X BODY[\xc3\xa9]"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X BODY[a\r\nb]"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X BODY[\"a]"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X BODY[(\"a\\qb\")]"), 0, 0, SYNTAX, "a1" },
  { BYTES ("a1 X BODY[(\"a\\"), 0, 0, SYNTAX, "a1" },
};

static void
test_parse_invalid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      const InvalidCase *tc = &invalid_cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(MsImapCommand) command = NULL;
      g_autofree char *tag = NULL;
      MsImapLimits limits;

      limits_for (&limits, tc->max_depth, tc->max_args);
      command = parse_exact (tc->input, tc->len, &limits, &tag, &error);
      g_assert_null (command);
      g_assert_nonnull (error);
      g_test_message ("case %u: %s", i, error->message);
      g_assert_error (error, MS_IMAP_PARSE_ERROR, (gint) tc->code);
      g_assert_cmpstr (tag, ==, tc->tag);
    }
}

/* The session hands over whole commands, but a cut-off one must still fail
 * cleanly: every prefix of every case either parses or fails with one of
 * our codes, and never reads past its length (run under ASan). */
static void
check_prefixes (const char *input,
                gsize len)
{
  for (gsize cut = 0; cut <= len; cut++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsImapCommand) command = NULL;
      g_autofree char *tag = NULL;

      command = parse_exact (input, cut, NULL, &tag, &error);
      if (command != NULL)
        {
          g_assert_no_error (error);
          g_assert_null (tag);
          g_assert_nonnull (command->tag);
          g_assert_nonnull (command->verb);
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == MS_IMAP_PARSE_ERROR);
          g_assert_cmpint (error->code, <=, MS_IMAP_PARSE_ERROR_LIMIT);
          if (error->code == MS_IMAP_PARSE_ERROR_BAD_TAG)
            g_assert_null (tag);
          else
            g_assert_nonnull (tag);
        }
    }
}

static void
test_parse_prefixes (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (valid_cases); i++)
    check_prefixes (valid_cases[i].input, valid_cases[i].len);
  for (guint i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    check_prefixes (invalid_cases[i].input, invalid_cases[i].len);
}

static void
test_arg_helpers (void)
{
  static const char line[] =
    "a X 42 0007 4294967295 4294967296 12345678901 -1 \"7\" NIL (1) Flags \"FLAGS\" {2}\r\nab";
  g_autoptr(GError) error = NULL;
  g_autoptr(MsImapCommand) command = NULL;
  MsImapArg **args;
  guint32 value = 0;

  command = ms_imap_parse_command (line, sizeof (line) - 1, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (command->args->len, ==, 12);
  args = (MsImapArg **) command->args->pdata;

  g_assert_true (ms_imap_arg_number (args[0], &value));
  g_assert_cmpuint (value, ==, 42);
  g_assert_true (ms_imap_arg_number (args[1], &value));
  g_assert_cmpuint (value, ==, 7);
  g_assert_true (ms_imap_arg_number (args[2], &value));
  g_assert_cmpuint (value, ==, G_MAXUINT32);
  g_assert_false (ms_imap_arg_number (args[3], &value));
  g_assert_false (ms_imap_arg_number (args[4], &value));
  g_assert_false (ms_imap_arg_number (args[5], &value));
  g_assert_false (ms_imap_arg_number (args[6], &value));   /* a string, not a number */
  g_assert_false (ms_imap_arg_number (args[7], &value));
  g_assert_false (ms_imap_arg_number (args[8], &value));
  g_assert_false (ms_imap_arg_number (NULL, &value));

  g_assert_cmpstr (ms_imap_arg_astring (args[0]), ==, "42");
  g_assert_cmpstr (ms_imap_arg_astring (args[6]), ==, "7");
  g_assert_null (ms_imap_arg_astring (args[7]));
  g_assert_null (ms_imap_arg_astring (args[8]));
  g_assert_cmpstr (ms_imap_arg_astring (args[11]), ==, "ab");
  g_assert_null (ms_imap_arg_astring (NULL));

  g_assert_true (ms_imap_arg_is_atom (args[9], "FLAGS"));
  g_assert_true (ms_imap_arg_is_atom (args[9], "flags"));
  g_assert_false (ms_imap_arg_is_atom (args[9], "FLAG"));
  g_assert_false (ms_imap_arg_is_atom (args[10], "FLAGS"));
  g_assert_false (ms_imap_arg_is_atom (args[7], "NIL"));
  g_assert_false (ms_imap_arg_is_atom (NULL, "NIL"));
}

typedef struct {
  const char *line;
  gboolean ok;
  guint64 size;
  gboolean nonsync;
} LiteralCase;

static const LiteralCase literal_cases[] = {
  { "a LOGIN {5}", TRUE, 5, FALSE },
  { "a LOGIN {5+}", TRUE, 5, TRUE },
  { "{5}", TRUE, 5, FALSE },
  { "{05}", TRUE, 5, FALSE },
  { "a APPEND INBOX {0}", TRUE, 0, FALSE },
  { "{18446744073709551615}", TRUE, G_MAXUINT64, FALSE },
  /* Inside an unfinished quoted string it is still reported: the parse of
   * the whole command decides whether it was a literal. */
  { "a X \"abc {5}", TRUE, 5, FALSE },
  { "a X {}", FALSE, 0, FALSE },
  { "a X {x}", FALSE, 0, FALSE },
  { "a X {+}", FALSE, 0, FALSE },
  { "a X {5++}", FALSE, 0, FALSE },
  { "a X {+5}", FALSE, 0, FALSE },
  { "a X {-5}", FALSE, 0, FALSE },
  { "a X {5 }", FALSE, 0, FALSE },
  { "a X {99999999999999999999999}", FALSE, 0, FALSE },
  { "{18446744073709551616}", FALSE, 0, FALSE },
  { "a X {5} ", FALSE, 0, FALSE },
  { "a X {5}\r\n", FALSE, 0, FALSE },
  { "a X \"{5}\"", FALSE, 0, FALSE },
  { "5}", FALSE, 0, FALSE },
  { "}", FALSE, 0, FALSE },
  { "", FALSE, 0, FALSE },
  { "a NOOP", FALSE, 0, FALSE },
};

static void
test_line_literal (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (literal_cases); i++)
    {
      const LiteralCase *tc = &literal_cases[i];
      gsize len = strlen (tc->line);
      g_autofree char *copy = g_memdup2 (tc->line, len);
      guint64 size = 12345;
      gboolean nonsync = 7;
      gboolean ok;

      g_test_message ("case %u: %s", i, tc->line);
      ok = ms_imap_line_literal (len > 0 ? copy : "", len, &size, &nonsync);
      g_assert_cmpint (ok, ==, tc->ok);
      if (ok)
        {
          g_assert_cmpuint (size, ==, tc->size);
          g_assert_cmpint (nonsync, ==, tc->nonsync);
        }
    }
}

typedef struct {
  const char *text;
  guint32 star;
  guint max_ranges;
  const char *expected;       /* "min:max,..." or NULL for bad syntax */
} SeqCase;

static const SeqCase seq_cases[] = {
  { "1", 10, 100, "1:1" },
  { "1:3,5", 10, 100, "1:3,5:5" },
  { "4:2", 10, 100, "2:4" },
  { "*", 10, 100, "10:10" },
  { "*", 0, 100, "0:0" },
  { "3:*", 10, 100, "3:10" },
  { "3:*", 0, 100, "0:3" },
  { "*:3", 10, 100, "3:10" },
  { "4294967295", 10, 100, "4294967295:4294967295" },
  { "1,2,3", 10, 3, "1:1,2:2,3:3" },
  { "1,2,3", 10, 2, NULL },
  { "0", 10, 100, NULL },
  { "0:3", 10, 100, NULL },
  { "01", 10, 100, NULL },
  { "", 10, 100, NULL },
  { "1,,2", 10, 100, NULL },
  { "1,", 10, 100, NULL },
  { ",1", 10, 100, NULL },
  { "1:", 10, 100, NULL },
  { ":1", 10, 100, NULL },
  { "1:2:3", 10, 100, NULL },
  { "4294967296", 10, 100, NULL },
  { "99999999999", 10, 100, NULL },
  { "1 ", 10, 100, NULL },
  { "-1", 10, 100, NULL },
  { "1a", 10, 100, NULL },
  { "**", 10, 100, NULL },
  { "$", 10, 100, NULL },
};

static void
test_sequence_set (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (seq_cases); i++)
    {
      const SeqCase *tc = &seq_cases[i];
      g_autoptr(GArray) ranges = NULL;
      g_autoptr(GString) got = g_string_new (NULL);

      g_test_message ("case %u: %s", i, tc->text);
      ranges = ms_imap_parse_sequence_set (tc->text, tc->star, tc->max_ranges);
      if (tc->expected == NULL)
        {
          g_assert_null (ranges);
          continue;
        }
      g_assert_nonnull (ranges);
      for (guint j = 0; j < ranges->len; j++)
        {
          const MsImapRange *range = &g_array_index (ranges, MsImapRange, j);

          g_assert_cmpuint (range->min, <=, range->max);
          g_string_append_printf (got, "%s%u:%u", j > 0 ? "," : "", range->min, range->max);
        }
      g_assert_cmpstr (got->str, ==, tc->expected);
    }
}

static void
test_sequence_set_contains (void)
{
  g_autoptr(GArray) ranges = ms_imap_parse_sequence_set ("2:4,9,7:*", 7, 10);

  g_assert_nonnull (ranges);
  g_assert_false (ms_imap_sequence_set_contains (ranges, 0));
  g_assert_false (ms_imap_sequence_set_contains (ranges, 1));
  g_assert_true (ms_imap_sequence_set_contains (ranges, 2));
  g_assert_true (ms_imap_sequence_set_contains (ranges, 4));
  g_assert_false (ms_imap_sequence_set_contains (ranges, 5));
  g_assert_true (ms_imap_sequence_set_contains (ranges, 7));
  g_assert_false (ms_imap_sequence_set_contains (ranges, 8));
  g_assert_true (ms_imap_sequence_set_contains (ranges, 9));
  g_assert_false (ms_imap_sequence_set_contains (ranges, 10));
}

/* Expected times come from GDateTime, not from the code under test. */
static gint64
utc_seconds (int year,
             int month,
             int day,
             int hour,
             int minute,
             int second,
             int zone_minutes)
{
  g_autoptr(GDateTime) dt = g_date_time_new_utc (year, month, day, hour, minute, second);

  g_assert_nonnull (dt);
  return g_date_time_to_unix (dt) - zone_minutes * 60;
}

typedef struct {
  const char *text;
  gboolean ok;
  int year, month, day, hour, minute, second, zone_minutes;
} DateCase;

static const DateCase date_cases[] = {
  { "1-Feb-1994", TRUE, 1994, 2, 1 },
  { "01-feb-1994", TRUE, 1994, 2, 1 },
  { "\"17-JUL-1996\"", TRUE, 1996, 7, 17 },
  { "29-Feb-2000", TRUE, 2000, 2, 29 },
  { "31-Dec-1969", TRUE, 1969, 12, 31 },
  { "29-Feb-1900", FALSE },
  { "31-Feb-2024", FALSE },
  { "31-Apr-2024", FALSE },
  { "0-Jan-2024", FALSE },
  { "32-Jan-2024", FALSE },
  { "001-Jan-2024", FALSE },
  { "1-Foo-2024", FALSE },
  { "1-Janu-2024", FALSE },
  { "1-Jan-24", FALSE },
  { "1-Jan-20245", FALSE },
  { "1 Jan 2024", FALSE },
  { "-Jan-2024", FALSE },
  { "1-Jan-2024 ", FALSE },
  { "\"1-Jan-2024", FALSE },
  { "", FALSE },
};

/* Runs a date table; for "date" cases the time fields are 0. */
static void
check_dates (const DateCase *cases,
             guint n_cases,
             gboolean (*parse) (const char *text, gint64 *time_r))
{
  for (guint i = 0; i < n_cases; i++)
    {
      const DateCase *tc = &cases[i];
      gint64 time = 0;

      g_test_message ("case %u: %s", i, tc->text);
      g_assert_cmpint (parse (tc->text, &time), ==, tc->ok);
      if (tc->ok)
        g_assert_cmpint (time, ==, utc_seconds (tc->year, tc->month, tc->day, tc->hour,
                                                tc->minute, tc->second, tc->zone_minutes));
    }
}

static void
test_date (void)
{
  check_dates (date_cases, G_N_ELEMENTS (date_cases), ms_imap_parse_date);
}

static const DateCase date_time_cases[] = {
  { "17-Jul-1996 02:44:25 -0700", TRUE, 1996, 7, 17, 2, 44, 25, -420 },
  { "\"17-Jul-1996 02:44:25 -0700\"", TRUE, 1996, 7, 17, 2, 44, 25, -420 },
  { " 7-jul-1996 23:59:59 +0000", TRUE, 1996, 7, 7, 23, 59, 59, 0 },
  { "07-JUL-1996 00:00:00 +0530", TRUE, 1996, 7, 7, 0, 0, 0, 330 },
  { "01-Jan-1970 00:00:00 +0100", TRUE, 1970, 1, 1, 0, 0, 0, 60 },
  { "29-Feb-2024 12:00:00 -1200", TRUE, 2024, 2, 29, 12, 0, 0, -720 },
  { "31-Feb-2024 12:00:00 +0000", FALSE },
  { "7-Jul-1996 02:44:25 -0700", FALSE },
  { "17-Jux-1996 02:44:25 -0700", FALSE },
  { "17-Jul-1996 24:00:00 +0000", FALSE },
  { "17-Jul-1996 02:60:00 +0000", FALSE },
  { "17-Jul-1996 02:44:25 +0060", FALSE },
  { "17-Jul-1996 02:44:25 0700", FALSE },
  { "17-Jul-1996 02:44:25 -07", FALSE },
  { "17-Jul-1996 02:44:25 -07000", FALSE },
  { "17-Jul-1996 02:44:25 UTC", FALSE },
  { "17-Jul-1996 02:44:25", FALSE },
  { "17-Jul-1996 2:44:25 -0700", FALSE },
  { "17-Jul-1996  02:44:25 -0700", FALSE },
  { "17-Jul-1996", FALSE },
  { "", FALSE },
};

static void
test_date_time (void)
{
  check_dates (date_time_cases, G_N_ELEMENTS (date_time_cases), ms_imap_parse_date_time);
}

static void
test_format_date_time (void)
{
  static const gint64 round_trips[] = {
    0, -1, 1, 837596665, 951782400, 1709164800, 4102444799, -62135596800, 253402300799,
  };
  g_autofree char *epoch = ms_imap_format_date_time (0);
  g_autofree char *before = ms_imap_format_date_time (-1);
  g_autofree char *leap = ms_imap_format_date_time (utc_seconds (2024, 2, 29, 9, 5, 7, 0));
  g_autofree char *max = ms_imap_format_date_time (G_MAXINT64);
  g_autofree char *min = ms_imap_format_date_time (G_MININT64);

  g_assert_cmpstr (epoch, ==, "01-Jan-1970 00:00:00 +0000");
  g_assert_cmpstr (before, ==, "31-Dec-1969 23:59:59 +0000");
  g_assert_cmpstr (leap, ==, "29-Feb-2024 09:05:07 +0000");
  /* Out of range: kept to a 4-digit year. */
  g_assert_cmpstr (max, ==, "31-Dec-9999 23:59:59 +0000");
  g_assert_cmpstr (min, ==, "01-Jan-0000 00:00:00 +0000");

  for (guint i = 0; i < G_N_ELEMENTS (round_trips); i++)
    {
      g_autofree char *text = ms_imap_format_date_time (round_trips[i]);
      gint64 back = 0;

      g_assert_true (ms_imap_parse_date_time (text, &back));
      g_assert_cmpint (back, ==, round_trips[i]);
    }
}

typedef struct {
  const char *text;
  gsize len;
  const char *expected;
  gsize expected_len;
} StringCase;

static void
check_written (const char *text,
               gsize len,
               const char *written,
               gsize written_len,
               gboolean is_astring)
{
  g_autoptr(GString) line = g_string_new ("t X ");
  g_autoptr(GError) error = NULL;
  g_autoptr(MsImapCommand) command = NULL;
  const MsImapArg *arg;

  /* What we write reads back as the same text. */
  g_string_append_len (line, written, written_len);
  command = ms_imap_parse_command (line->str, line->len, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (command->args->len, ==, 1);
  arg = g_ptr_array_index (command->args, 0);
  if (text == NULL)
    {
      g_assert_cmpint (arg->type, ==, MS_IMAP_ARG_NIL);
      return;
    }
  /* Only an astring may come out as an atom, and only when unquoted. */
  g_assert_cmpint (arg->type, ==,
                   is_astring && written[0] != '"' && written[0] != '{' ?
                   MS_IMAP_ARG_ATOM : MS_IMAP_ARG_STRING);
  g_assert_cmpmem (arg->data, arg->len, text, len);
}

static void
test_append_string (void)
{
  static const StringCase cases[] = {
    { BYTES ("abc"), BYTES ("\"abc\"") },
    { BYTES (""), BYTES ("\"\"") },
    { BYTES ("a \"b\" \\c"), BYTES ("\"a \\\"b\\\" \\\\c\"") },
    { BYTES ("NIL"), BYTES ("\"NIL\"") },
    { BYTES ("a\r\nb"), BYTES ("{4}\r\na\r\nb") },
    { BYTES ("a\tb"), BYTES ("{3}\r\na\tb") },
    { BYTES ("a\0b"), BYTES ("{3}\r\na\0b") },
    { BYTES ("caf\xc3\xa9"), BYTES ("{5}\r\ncaf\xc3\xa9") },
    { BYTES ("\x7f"), BYTES ("{1}\r\n\x7f") },
  };
  g_autofree char *long_1024 = g_strnfill (1024, 'x');
  g_autofree char *long_1025 = g_strnfill (1025, 'x');
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_string_truncate (out, 0);
      ms_imap_append_string (out, cases[i].text, cases[i].len);
      g_assert_cmpmem (out->str, out->len, cases[i].expected, cases[i].expected_len);
      check_written (cases[i].text, cases[i].len, out->str, out->len, FALSE);
    }

  g_string_assign (out, "x=");
  ms_imap_append_string (out, NULL, 0);
  g_assert_cmpstr (out->str, ==, "x=NIL");
  check_written (NULL, 0, "NIL", 3, FALSE);

  g_string_truncate (out, 0);
  ms_imap_append_string (out, long_1024, 1024);
  g_assert_cmpuint (out->len, ==, 1026);
  g_assert_cmpint (out->str[0], ==, '"');
  check_written (long_1024, 1024, out->str, out->len, FALSE);

  g_string_truncate (out, 0);
  ms_imap_append_string (out, long_1025, 1025);
  g_assert_true (g_str_has_prefix (out->str, "{1025}\r\nxxx"));
  g_assert_cmpuint (out->len, ==, 1025 + 8);
  check_written (long_1025, 1025, out->str, out->len, FALSE);
}

static void
test_append_astring (void)
{
  static const StringCase cases[] = {
    { BYTES ("INBOX"), BYTES ("INBOX") },
    { BYTES ("a]b"), BYTES ("a]b") },
    { BYTES ("Sent.2024"), BYTES ("Sent.2024") },
    { BYTES ("NIL"), BYTES ("\"NIL\"") },
    { BYTES ("nil"), BYTES ("\"nil\"") },
    { BYTES ("NILS"), BYTES ("NILS") },
    { BYTES (""), BYTES ("\"\"") },
    { BYTES ("a b"), BYTES ("\"a b\"") },
    { BYTES ("\\Seen"), BYTES ("\"\\\\Seen\"") },
    { BYTES ("*"), BYTES ("\"*\"") },
    { BYTES ("%"), BYTES ("\"%\"") },
    { BYTES ("a(b"), BYTES ("\"a(b\"") },
    { BYTES ("{5}"), BYTES ("\"{5}\"") },
    { BYTES ("say \"hi\""), BYTES ("\"say \\\"hi\\\"\"") },
    { BYTES ("caf\xc3\xa9"), BYTES ("{5}\r\ncaf\xc3\xa9") },
  };
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_string_truncate (out, 0);
      ms_imap_append_astring (out, cases[i].text);
      g_assert_cmpmem (out->str, out->len, cases[i].expected, cases[i].expected_len);
      check_written (cases[i].text, cases[i].len, out->str, out->len, TRUE);
    }

  g_string_truncate (out, 0);
  ms_imap_append_astring (out, NULL);
  g_assert_cmpstr (out->str, ==, "NIL");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/server/imap-parser/valid", test_parse_valid);
  g_test_add_func ("/server/imap-parser/default-limits", test_parse_default_limits);
  g_test_add_func ("/server/imap-parser/many-args", test_parse_many_args);
  g_test_add_func ("/server/imap-parser/invalid", test_parse_invalid);
  g_test_add_func ("/server/imap-parser/prefixes", test_parse_prefixes);
  g_test_add_func ("/server/imap-parser/arg-helpers", test_arg_helpers);
  g_test_add_func ("/server/imap-parser/line-literal", test_line_literal);
  g_test_add_func ("/server/imap-parser/sequence-set", test_sequence_set);
  g_test_add_func ("/server/imap-parser/sequence-set-contains", test_sequence_set_contains);
  g_test_add_func ("/server/imap-parser/date", test_date);
  g_test_add_func ("/server/imap-parser/date-time", test_date_time);
  g_test_add_func ("/server/imap-parser/format-date-time", test_format_date_time);
  g_test_add_func ("/server/imap-parser/append-string", test_append_string);
  g_test_add_func ("/server/imap-parser/append-astring", test_append_astring);

  return g_test_run ();
}
