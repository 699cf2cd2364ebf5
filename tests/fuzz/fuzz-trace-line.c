/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-event.h"

/* Fuzz target for the trace reader (ms_event_from_json): one line of a
 * trace file, or of what a trace port sends to `mailscope --attach`, both
 * untrusted. A line it accepts must write back to JSON that reads as the
 * same event, and writing that again must give the same text. Built for libFuzzer with -Dfuzzing=true, and as a plain
 * program that replays files (tests/fuzz/corpus) in the test suite. */

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t size)
{
  g_autoptr(MsEvent) event = NULL;
  g_autoptr(MsEvent) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *json = NULL;
  g_autofree char *json_again = NULL;

  event = ms_event_from_json ((const char *) data, (gssize) size, &error);
  if (event == NULL)
    {
      g_assert (error != NULL && error->message != NULL);
      return 0;
    }
  g_assert (error == NULL);
  json = ms_event_to_json (event);
  again = ms_event_from_json (json, -1, &error);
  if (again == NULL)
    {
      g_printerr ("accepted, but not read back (%s): %s\n", error->message, json);
      g_assert_not_reached ();
    }
  json_again = ms_event_to_json (again);
  g_assert (again->seq == event->seq && again->kind == event->kind);
  g_assert (again->time_us == event->time_us);
  /* A number json-glib takes loosely ("-.0") is written in JSON's own form
   * ("-0.0") and may read back as another type of the same value; from
   * there on the text must not change. */
  if (strcmp (json, json_again) != 0)
    {
      g_autoptr(MsEvent) third = ms_event_from_json (json_again, -1, NULL);
      g_autofree char *json_third = third != NULL ? ms_event_to_json (third) : NULL;

      if (g_strcmp0 (json_again, json_third) != 0)
        {
          g_printerr ("written back differently each time:\n%s\n%s\n%s\n", json,
                      json_again, json_third);
          g_assert_not_reached ();
        }
    }
  return 0;
}
