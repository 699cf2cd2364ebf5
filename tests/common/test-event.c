/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-event"

#include "config.h"

#include <string.h>

#include "ms-event.h"

static void
test_round_trip (void)
{
  g_autoptr(MsEvent) event = ms_event_new (MS_EVENT_COMMAND, "alpha.test");
  g_autoptr(MsEvent) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  event->seq = 42;
  event->time_us = 1795330542123456; /* 2026-11-22T07:... */
  ms_event_set_string (event, "session", "smtp-1");
  ms_event_set_string (event, "text", "MAIL FROM:<alice@alpha.test>");
  ms_event_set_int (event, "bytes", 27);
  ms_event_set_bool (event, "tls", TRUE);

  line = ms_event_to_json (event);
  g_assert_null (strchr (line, '\n'));
  g_assert_true (g_str_has_prefix (line, "{\"v\":1,\"seq\":42,\"time\":\""));
  g_assert_nonnull (strstr (line, "\"kind\":\"command\""));
  g_assert_nonnull (strstr (line, ".123456Z\""));

  parsed = ms_event_from_json (line, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (parsed->kind, ==, MS_EVENT_COMMAND);
  g_assert_cmpuint (parsed->seq, ==, 42);
  g_assert_cmpint (parsed->time_us, ==, event->time_us);
  g_assert_cmpstr (parsed->server, ==, "alpha.test");
  g_assert_cmpstr (ms_event_get_string (parsed, "text"), ==, "MAIL FROM:<alice@alpha.test>");
  g_assert_cmpint (ms_event_get_int (parsed, "bytes", -1), ==, 27);
  g_assert_true (ms_event_get_bool (parsed, "tls", FALSE));
  /* Envelope members are not duplicated into the fields. */
  g_assert_false (ms_event_has (parsed, "seq"));
  g_assert_false (ms_event_has (parsed, "kind"));
}

static void
test_invalid_utf8 (void)
{
  g_autoptr(MsEvent) event = ms_event_new (MS_EVENT_COMMAND, "alpha.test");
  const char bytes[] = "HELO \xff\xfe" "a\0b";
  g_autofree char *line = NULL;
  g_autoptr(MsEvent) parsed = NULL;

  ms_event_set_bytes_text (event, "text", bytes, sizeof bytes - 1);
  line = ms_event_to_json (event);
  parsed = ms_event_from_json (line, -1, NULL);
  g_assert_nonnull (parsed);
  g_assert_true (g_utf8_validate (ms_event_get_string (parsed, "text"), -1, NULL));
  g_assert_true (g_str_has_prefix (ms_event_get_string (parsed, "text"), "HELO \xef\xbf\xbd"));
}

static void
test_escaping (void)
{
  g_autoptr(MsEvent) event = ms_event_new (MS_EVENT_RELAY, "alpha \"quoted\"");
  g_autoptr(MsEvent) parsed = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  JsonArray *rcpt = json_array_new ();
  const char *tricky = "q\"b\\s\x01c\ttab\r\nnl \xc3\xa9 \xe2\x82\xac";

  json_array_add_string_element (rcpt, "bob@beta.test");
  json_array_add_string_element (rcpt, "dave@beta.test");
  ms_event_set_array (event, "rcpt", rcpt);
  ms_event_set_string (event, "text", tricky);
  ms_event_set_int (event, "negative", -42);
  ms_event_set_bool (event, "no", FALSE);

  line = ms_event_to_json (event);
  g_assert_null (strchr (line, '\n'));
  g_assert_null (strchr (line, '\x01'));
  parsed = ms_event_from_json (line, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (parsed->server, ==, "alpha \"quoted\"");
  g_assert_cmpstr (ms_event_get_string (parsed, "text"), ==, tricky);
  g_assert_cmpint (ms_event_get_int (parsed, "negative", 0), ==, -42);
  g_assert_false (ms_event_get_bool (parsed, "no", TRUE));
  g_assert_nonnull (strstr (line, "\"rcpt\":[\"bob@beta.test\",\"dave@beta.test\"]"));
}

static void
test_kinds (void)
{
  for (MsEventKind kind = 0; kind < MS_EVENT_N_KINDS; kind++)
    {
      MsEventKind back;

      g_assert_true (ms_event_kind_from_string (ms_event_kind_to_string (kind), &back));
      g_assert_cmpint (back, ==, kind);
    }
}

static void
test_bad_lines (void)
{
  static const struct {
    const char *line;
    int code;
  } cases[] = {
    { "", -1 },
    { "[1,2]", MS_EVENT_ERROR_PARSE },
    { "{\"v\":1,\"kind\":\"nope\",\"time\":\"2026-11-22T07:00:00.000000Z\"}", MS_EVENT_ERROR_PARSE },
    { "{\"v\":99,\"kind\":\"reply\",\"time\":\"2026-11-22T07:00:00.000000Z\"}", MS_EVENT_ERROR_VERSION },
    { "{\"kind\":\"reply\",\"time\":\"2026-11-22T07:00:00.000000Z\"}", MS_EVENT_ERROR_VERSION },
    { "{\"v\":1,\"kind\":\"reply\",\"time\":\"yesterday\"}", MS_EVENT_ERROR_PARSE },
    { "{\"v\":1,\"kind\":\"reply\"", -1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsEvent) event = ms_event_from_json (cases[i].line, -1, &error);

      g_assert_null (event);
      g_assert_nonnull (error);
      if (cases[i].code >= 0)
        g_assert_error (error, MS_EVENT_ERROR, cases[i].code);
    }
}

/* The reader as it was before the fast path, straight on json-glib: the
 * oracle the fast path must agree with, result and error alike. */
static MsEvent *
reference_from_json (const char *line,
                     gssize len,
                     GError **error)
{
  static const char * const envelope[] = { "v", "seq", "time", "server", "kind" };
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(MsEvent) event = NULL;
  g_autoptr(GDateTime) dt = NULL;
  JsonNode *root;
  JsonObject *object;
  JsonObjectIter iter;
  const char *name, *time;
  JsonNode *value;
  MsEventKind kind;
  gint64 version;

  if (!json_parser_load_from_data (parser, line, len, error))
    return NULL;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "a trace line must be one JSON object");
      return NULL;
    }
  object = json_node_get_object (root);
  version = json_object_get_int_member_with_default (object, "v", 0);
  if (version < 1 || version > MS_TRACE_FORMAT_VERSION)
    {
      g_set_error (error, MS_EVENT_ERROR, MS_EVENT_ERROR_VERSION,
                   "unsupported trace format version %" G_GINT64_FORMAT
                   " (this build reads 1 to %d)", version, MS_TRACE_FORMAT_VERSION);
      return NULL;
    }
  if (!ms_event_kind_from_string (json_object_get_string_member_with_default (object, "kind",
                                                                              NULL), &kind))
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "missing or unknown \"kind\"");
      return NULL;
    }
  event = ms_event_new (kind, json_object_get_string_member_with_default (object, "server", NULL));
  event->seq = json_object_get_int_member_with_default (object, "seq", 0);
  time = json_object_get_string_member_with_default (object, "time", NULL);
  if (time != NULL)
    dt = g_date_time_new_from_iso8601 (time, NULL);
  if (dt == NULL || g_date_time_to_unix (dt) < 0)
    {
      g_set_error_literal (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE,
                           "missing or malformed \"time\" (RFC 3339, from 1970 on, expected)");
      return NULL;
    }
  event->time_us = g_date_time_to_unix (dt) * G_USEC_PER_SEC + g_date_time_get_microsecond (dt);
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      if (!g_strv_contains (envelope, name))
        json_object_set_member (event->fields, name, json_node_copy (value));
    }
  return g_steal_pointer (&event);
}

/* Same outcome as the reference: the same event (members in the same order,
 * of the same types) or the same error. Returns TRUE when it parsed. */
static gboolean
assert_same_as_reference (const char *line,
                          gsize len)
{
  g_autoptr(GError) expected_error = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(MsEvent) expected = reference_from_json (line, len, &expected_error);
  g_autoptr(MsEvent) event = ms_event_from_json (line, len, &error);
  g_autofree char *expected_json = NULL;
  g_autofree char *json = NULL;
  JsonObjectIter iter, expected_iter;
  const char *name, *expected_name;
  JsonNode *node, *expected_node;

  if (expected == NULL)
    {
      g_assert_null (event);
      g_assert_nonnull (error);
      g_assert_cmpstr (g_quark_to_string (error->domain), ==,
                       g_quark_to_string (expected_error->domain));
      g_assert_cmpint (error->code, ==, expected_error->code);
      g_assert_cmpstr (error->message, ==, expected_error->message);
      return FALSE;
    }
  g_assert_no_error (error);
  g_assert_nonnull (event);
  g_assert_cmpint (event->kind, ==, expected->kind);
  g_assert_cmpuint (event->seq, ==, expected->seq);
  g_assert_cmpint (event->time_us, ==, expected->time_us);
  g_assert_cmpstr (event->server, ==, expected->server);
  expected_json = ms_event_to_json (expected);
  json = ms_event_to_json (event);
  g_assert_cmpstr (json, ==, expected_json);

  g_assert_cmpuint (json_object_get_size (event->fields), ==,
                    json_object_get_size (expected->fields));
  json_object_iter_init_ordered (&iter, event->fields);
  json_object_iter_init_ordered (&expected_iter, expected->fields);
  while (json_object_iter_next_ordered (&expected_iter, &expected_name, &expected_node))
    {
      g_assert_true (json_object_iter_next_ordered (&iter, &name, &node));
      g_assert_cmpstr (name, ==, expected_name);
      g_assert_cmpint (json_node_get_node_type (node), ==,
                       json_node_get_node_type (expected_node));
      if (JSON_NODE_HOLDS_VALUE (node))
        g_assert_cmpstr (g_type_name (json_node_get_value_type (node)), ==,
                         g_type_name (json_node_get_value_type (expected_node)));
      g_assert_true (json_node_equal (node, expected_node));
      g_assert_cmpint (json_node_is_immutable (node), ==, json_node_is_immutable (expected_node));
    }
  return TRUE;
}

static void
test_fixtures_match_reference (void)
{
  static const char * const fixtures[] = { "lecture.jsonl", "imap-move.jsonl",
                                           "pop3-delete.jsonl" };
  guint n_lines = 0;

  g_test_summary ("Every line of the recorded traces reads the same through the fast path "
                  "as through JsonParser, and so does every cut-off prefix of it.");
  for (guint f = 0; f < G_N_ELEMENTS (fixtures); f++)
    {
      g_autofree char *path = g_test_build_filename (G_TEST_DIST, "fixtures", fixtures[f], NULL);
      g_autofree char *contents = NULL;
      g_auto(GStrv) lines = NULL;

      g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
      lines = g_strsplit (contents, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          gsize len = strlen (lines[i]);

          if (len == 0)
            continue;
          g_assert_true (assert_same_as_reference (lines[i], len));
          n_lines++;
          /* Every prefix is bad JSON: the same json-glib error either way. */
          for (gsize cut = 0; cut < len; cut += 1 + i % 3)
            g_assert_false (assert_same_as_reference (lines[i], cut));
        }
    }
  g_assert_cmpuint (n_lines, >, 400);
}

#define LINE_HEAD "{\"v\":1,\"seq\":7,\"time\":\"2026-11-22T07:00:00.000001Z\",\"server\":\"a\"," \
                  "\"kind\":\"reply\","
#define TIME_LINE(t) "{\"v\":1,\"kind\":\"state\",\"time\":\"" t "\"}"

static void
test_trailing_value (void)
{
  static const char * const lines[] = {
    LINE_HEAD "\"x\":1}{}",
    LINE_HEAD "\"x\":1} x",
    LINE_HEAD "\"x\":[1]}]",
  };

  g_test_summary ("Text after the object is refused before json-glib, which leaks the "
                  "first value when a second one follows.");
  for (gsize i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsEvent) event = ms_event_from_json (lines[i], -1, &error);

      g_test_message ("%s", lines[i]);
      g_assert_null (event);
      g_assert_error (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE);
      g_assert_cmpstr (error->message, ==, "text after the JSON object");
    }
  /* Spaces and a CR after it are fine (a line of a file written on Windows). */
  {
    g_autoptr(MsEvent) event = ms_event_from_json (LINE_HEAD "\"x\":1} \r", -1, NULL);

    g_assert_nonnull (event);
  }
}

static void
test_huge_number (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsEvent) event = ms_event_from_json (LINE_HEAD "\"x\":9e999999}", -1, &error);

  g_test_summary ("A number json-glib reads as infinity is refused: JSON could not write "
                  "it back.");
  g_assert_null (event);
  g_assert_error (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==, "a number is too large");
}

/* Escapes RFC 8259 §7 does not have, which json-glib's scanner takes
 * (\x, and \333 as an octal byte that need not be UTF-8): refused. */
static void
test_bad_escapes (void)
{
  static const char * const lines[] = {
    LINE_HEAD "\"x\":\"\\x\"}",
    LINE_HEAD "\"x\":\"a\\333b\"}",
    LINE_HEAD "\"x\":[\"\\0\"]}",
    LINE_HEAD "\"x\":\"\\ud830ede00\"}",            /* a lone high surrogate */
    LINE_HEAD "\"x\":\"\\ude00\"}",                 /* a lone low one */
    LINE_HEAD "\"x\":\"\\ud83d\\u0041\"}",         /* high, then no low */
    LINE_HEAD "\"x\":\"a\\u0000b\"}",               /* NUL */
    LINE_HEAD "\"x\":\"\\u00\"}",                   /* not four hex digits */
    LINE_HEAD "\"x\":\"\\u00e9\\ud83T09:000\"}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsEvent) event = ms_event_from_json (lines[i], -1, &error);

      g_test_message ("%s", lines[i]);
      g_assert_null (event);
      g_assert_error (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE);
      g_assert_cmpstr (error->message, ==, "a string has an escape JSON does not know");
    }
}

static void
test_edge_lines (void)
{
  /* Lines at the edges of the fast path: it reads some, gives the others to
   * JsonParser; either way the outcome is the reference's. */
  static const char * const lines[] = {
    /* Read by the fast path. */
    LINE_HEAD "\"text\":\"plain\"}",
    LINE_HEAD "\"text\":\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\"}",
    LINE_HEAD "\"text\":\"\\u00e9\\u20ac\\u0041\\uFFFD \xc3\xa9\"}",
    LINE_HEAD "\"n\":0,\"m\":-42,\"big\":999999999999999999,\"t\":true,\"f\":false,\"z\":null}",
    " { \"v\" : 1 , \"kind\" : \"tls\" ,\t\"time\" : \"2026-11-22T07:00:00.000000Z\" } \r",
    "{\"kind\":\"auth\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"v\":1}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"seq\":-3}",
    /* Before 1970: no clock stamped it, and it could not be written back. */
    "{\"v\":1,\"kind\":\"state\",\"time\":\"1969-12-31T23:59:59.999999Z\"}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"0943-11-22T09:00:00Z\"}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"\\u0073eq\":4}",
    /* Given to JsonParser. */
    LINE_HEAD "\"rcpt\":[\"b@beta.test\",\"d@beta.test\"],\"o\":{\"a\":[1,{\"b\":2}]}}",
    LINE_HEAD "\"pi\":3.25,\"e\":1e3,\"huge\":1234567890123456789}",
    LINE_HEAD "\"text\":\"\\ud83d\\ude00\"}",
    LINE_HEAD "\"text\":\"a\",\"text\":\"b\"}",
    LINE_HEAD "\"\":1}",
    LINE_HEAD "\"server\":\"b\"}",
    "{\"v\":true,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\"}",
    "{\"v\":1.0,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\"}",
    "{\"v\":\"1\",\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\"}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"server\":null}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"server\":7}",
    "{\"v\":1,\"kind\":7,\"time\":\"2026-11-22T07:00:00.000000Z\"}",
    "{\"v\":1,\"kind\":\"state\",\"time\":1795330542}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"seq\":\"9\"}",
    /* Bad lines, whichever path sees them first. */
    "",
    "   ",
    "{}",
    "{\"v\":1}",
    "{\"v\":1,\"kind\":\"nope\",\"time\":\"2026-11-22T07:00:00.000000Z\"}",
    "{\"v\":2,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\"}",
    "{\"v\":0,\"kind\":\"nope\"}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",}",
    "{\"v\":01,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\"}",
    "{\"v\":-,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\"}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"x\":tru}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"x\":\"a\tb\"}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"x\":\"\xff\"}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\",\"x\" 1}",
    "{\"v\":1,\"kind\":\"state\",\"time\":\"2026-11-22T07:00:00.000000Z\" \"x\":1}",
    "{'v':1}",
    "[1,2]",
    "\"text\"",
    /* Times: the fast reader takes only the form the writer makes. */
    TIME_LINE ("1970-01-01T00:00:00.000000Z"),
    TIME_LINE ("1969-12-31T23:59:59.999999Z"),
    TIME_LINE ("0001-01-01T00:00:00.000000Z"),
    TIME_LINE ("9999-12-31T23:59:59.999999Z"),
    TIME_LINE ("2024-02-29T12:00:00.500000Z"),
    TIME_LINE ("2000-02-29T12:00:00.500000Z"),
    TIME_LINE ("1900-02-29T12:00:00.500000Z"),
    TIME_LINE ("2026-02-30T12:00:00.500000Z"),
    TIME_LINE ("2026-13-01T12:00:00.500000Z"),
    TIME_LINE ("2026-11-22T24:00:00.000000Z"),
    TIME_LINE ("2026-11-22T23:60:00.000000Z"),
    TIME_LINE ("2026-11-22T23:59:60.000000Z"),
    TIME_LINE ("0000-01-01T00:00:00.000000Z"),
    TIME_LINE ("2026-11-22T07:15:42Z"),
    TIME_LINE ("2026-11-22T07:15:42.123Z"),
    TIME_LINE ("2026-11-22T07:15:42.1234567Z"),
    TIME_LINE ("2026-11-22T07:15:42.123456+01:00"),
    TIME_LINE ("2026-11-22t07:15:42.123456z"),
    TIME_LINE ("2026-11-22T07:15:4x.123456Z"),
    TIME_LINE ("yesterday"),
  };

  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_autofree char *escaped = g_strescape (lines[i], NULL);

      g_test_message ("line %u: %s", i, escaped);
      assert_same_as_reference (lines[i], strlen (lines[i]));
    }
}

static char *
nested_line (guint depth)
{
  GString *line = g_string_new ("{\"v\":1,\"kind\":\"state\","
                                "\"time\":\"2026-11-22T07:00:00.000000Z\",\"x\":");

  /* The object itself is the first level. */
  for (guint i = 1; i < depth; i++)
    g_string_append (line, i % 2 ? "[" : "{\"k\":");
  g_string_append_c (line, '1');
  for (guint i = depth - 1; i >= 1; i--)
    g_string_append_c (line, i % 2 ? ']' : '}');
  g_string_append_c (line, '}');
  return g_string_free (line, FALSE);
}

static void
test_nesting_limit (void)
{
  g_autofree char *deepest = nested_line (MS_EVENT_MAX_DEPTH);
  g_autofree char *too_deep = nested_line (MS_EVENT_MAX_DEPTH + 1);
  g_autofree char *flood = NULL;
  g_autofree char *brackets = g_strnfill (100, '[');
  g_autofree char *message = g_strdup_printf ("nested deeper than %d levels", MS_EVENT_MAX_DEPTH);
  g_autoptr(MsEvent) event = NULL;
  g_autoptr(GError) error = NULL;

  g_test_summary ("json-glib recurses once per level: a line may not choose the depth.");
  g_assert_true (assert_same_as_reference (deepest, strlen (deepest)));

  event = ms_event_from_json (too_deep, -1, &error);
  g_assert_null (event);
  g_assert_error (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==, message);
  g_clear_error (&error);

  /* Deep enough to overflow the stack inside json-glib. Brackets within a
   * string do not count. */
  flood = g_strnfill (1000000, '[');
  event = ms_event_from_json (flood, -1, &error);
  g_assert_null (event);
  g_assert_error (error, MS_EVENT_ERROR, MS_EVENT_ERROR_PARSE);
  g_assert_cmpstr (error->message, ==, message);
  g_clear_error (&error);
  g_free (flood);
  flood = g_strdup_printf ("{\"v\":1,\"kind\":\"data\",\"time\":\"2026-11-22T07:00:00.000000Z\","
                           "\"x\":[\"%s\\\"%s\"]}", brackets, "{{{{");
  g_assert_true (assert_same_as_reference (flood, strlen (flood)));
}

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/common/event/round-trip", test_round_trip);
  g_test_add_func ("/common/event/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/common/event/escaping", test_escaping);
  g_test_add_func ("/common/event/kinds", test_kinds);
  g_test_add_func ("/common/event/bad-lines", test_bad_lines);
  g_test_add_func ("/common/event/fixtures-match-reference", test_fixtures_match_reference);
  g_test_add_func ("/common/event/edge-lines", test_edge_lines);
  g_test_add_func ("/common/event/bad-escapes", test_bad_escapes);
  g_test_add_func ("/common/event/huge-number", test_huge_number);
  g_test_add_func ("/common/event/trailing-value", test_trailing_value);
  g_test_add_func ("/common/event/nesting-limit", test_nesting_limit);
  return g_test_run ();
}
