/* SPDX-License-Identifier: GPL-3.0-or-later */
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
  return g_test_run ();
}
