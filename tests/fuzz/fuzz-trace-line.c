/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-event.h"

/* Fuzz target for the trace reader (ms_event_from_json): one line of a
 * trace file, or of what a trace port sends to `mailscope --attach`, both
 * untrusted. A line it accepts must write back to JSON that reads as the
 * same event. Built for libFuzzer with -Dfuzzing=true, and as a plain
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
  g_assert (strcmp (json, json_again) == 0);
  g_assert (again->seq == event->seq && again->kind == event->kind);
  return 0;
}
