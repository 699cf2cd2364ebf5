/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-world-stepper.h"
#include "step-test-world.h"

/* MsWorldStepper over two in-process servers: what the window's step
 * actions do to the demo world. No widget, so no display. */
typedef struct {
  StepWorld *sw;
  MsWorldStepper *stepper;
  GPtrArray *held;            /* MsEvent: the `step` events with gate "held" */
  GPtrArray *refusals;        /* char * */
  char *last_session;         /* of the last session-open */
} Fixture;

static const char * const two_servers[] = { "alpha.test", "beta.test", NULL };

static void
event_cb (const MsEvent *event,
          gpointer user_data)
{
  Fixture *f = user_data;

  if (event->kind == MS_EVENT_STEP
      && g_strcmp0 (ms_event_get_string (event, "gate"), "held") == 0)
    g_ptr_array_add (f->held, ms_event_ref ((MsEvent *) event));
  if (event->kind == MS_EVENT_SESSION_OPEN)
    {
      g_free (f->last_session);
      f->last_session = g_strdup (ms_event_get_string (event, "session"));
    }
}

static void
refused_cb (MsStepper *stepper,
            const char *text,
            gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup (text));
}

static void
fixture_set_up (Fixture *f,
                gconstpointer data)
{
  f->sw = step_world_new (two_servers);
  f->held = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_event_unref);
  ms_trace_bus_subscribe (f->sw->bus, event_cb, f, NULL);
  f->refusals = g_ptr_array_new_with_free_func (g_free);
  f->stepper = ms_world_stepper_new (f->sw->world);
  g_signal_connect (f->stepper, "refused", G_CALLBACK (refused_cb), f->refusals);
}

static void
fixture_tear_down (Fixture *f,
                   gconstpointer data)
{
  ms_world_stepper_forget_world (f->stepper);
  g_clear_object (&f->stepper);
  step_world_free (f->sw);
  g_ptr_array_unref (f->held);
  g_ptr_array_unref (f->refusals);
  g_free (f->last_session);
}

/* Sends `command`, which the gate must hold; returns its `step` event. */
static MsEvent *
send_held (Fixture *f,
           StepLineClient *lc,
           const char *command)
{
  guint before = f->held->len;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  MsEvent *held;

  step_line_client_send (lc, command);
  while (f->held->len == before)
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (200);
    }
  held = f->held->pdata[before];
  g_assert_cmpstr (ms_event_get_string (held, "text"), ==, command);
  step_line_client_assert_silent (lc);
  return held;
}

static StepLineClient *
connect_smtp (Fixture *f,
              guint server)
{
  MsServer *target = step_world_server (f->sw, server);
  StepLineClient *lc = step_line_client_connect (ms_server_get_port (target,
                                                                     MS_LISTENER_SMTP));

  step_line_client_expect (lc, NULL, "220 ");
  return lc;
}

static void
test_step (Fixture *f,
           gconstpointer data)
{
  MsStepper *stepper = MS_STEPPER (f->stepper);
  StepLineClient *alpha;
  StepLineClient *beta;
  const char *session;

  g_test_summary ("Step mode for every server holds a command until Step; Step with nothing "
                  "pending, or on a server that does not have the session, is refused in "
                  "words; Continue lets it run.");
  ms_stepper_set_step_mode (stepper, NULL, NULL, TRUE);
  alpha = connect_smtp (f, 0);
  beta = connect_smtp (f, 1);
  session = ms_event_get_string (send_held (f, alpha, "HELO client.test"), "session");
  send_held (f, beta, "HELO other.test");

  /* The session is alpha's: named on beta, nothing happens. */
  ms_stepper_step (stepper, "beta.test", session);
  g_assert_cmpuint (f->refusals->len, ==, 1);
  g_assert_nonnull (strstr (f->refusals->pdata[0], session));
  g_assert_nonnull (strstr (f->refusals->pdata[0], "beta.test"));
  step_line_client_assert_silent (alpha);

  ms_stepper_step (stepper, "alpha.test", session);
  step_line_client_expect (alpha, NULL, "250 ");
  ms_stepper_step (stepper, NULL, session);
  g_assert_cmpuint (f->refusals->len, ==, 2);
  g_assert_nonnull (strstr (f->refusals->pdata[1], "Nothing is pending"));

  /* Continue for one session leaves the others held. */
  ms_stepper_continue (stepper, "alpha.test", session);
  step_line_client_expect (alpha, "MAIL FROM:<bob@beta.test>", "250 ");
  step_line_client_assert_silent (beta);
  ms_stepper_continue (stepper, NULL, NULL);
  step_line_client_expect (beta, NULL, "250 ");
  step_line_client_expect (beta, "QUIT", "221 ");
  step_line_client_expect (alpha, "QUIT", "221 ");
  step_line_client_free (alpha);
  step_line_client_free (beta);
}

static void
test_step_mode_one_server (Fixture *f,
                           gconstpointer data)
{
  MsStepper *stepper = MS_STEPPER (f->stepper);
  StepLineClient *alpha = connect_smtp (f, 0);
  const char *session = f->last_session;

  /* A session that is open: step mode named on the wrong server does not
   * reach it; on its own, it does. */
  step_line_client_expect (alpha, "HELO client.test", "250 ");
  ms_stepper_set_step_mode (stepper, "beta.test", session, TRUE);
  step_line_client_expect (alpha, "MAIL FROM:<bob@beta.test>", "250 ");
  ms_stepper_set_step_mode (stepper, "alpha.test", session, TRUE);
  send_held (f, alpha, "RSET");
  ms_stepper_set_step_mode (stepper, "alpha.test", session, FALSE);
  step_line_client_expect (alpha, NULL, "250 ");
  g_assert_cmpuint (f->refusals->len, ==, 0);
  step_line_client_free (alpha);
}

static void
test_breakpoints (Fixture *f,
                  gconstpointer data)
{
  MsStepper *stepper = MS_STEPPER (f->stepper);
  StepLineClient *alpha = connect_smtp (f, 0);
  MsEvent *held;

  g_test_summary ("A verb breakpoint holds that verb, a reply breakpoint the command after "
                  "such a reply; invalid ones are refused with FALSE; Clear removes them.");
  g_assert_false (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_VERB, "UID FETCH"));
  g_assert_false (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_VERB, ""));
  g_assert_false (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_REPLY, "55"));
  g_assert_false (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_REPLY, "+OK"));
  g_assert_true (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_VERB, "mail"));
  g_assert_true (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_REPLY, "5XX"));

  step_line_client_expect (alpha, "HELO client.test", "250 ");
  held = send_held (f, alpha, "MAIL FROM:<bob@beta.test>");
  g_assert_cmpstr (ms_event_get_string (held, "by"), ==, "breakpoint");
  ms_stepper_continue (stepper, NULL, ms_event_get_string (held, "session"));
  step_line_client_expect (alpha, NULL, "250 ");

  /* A 550 for an unknown user stops the session before its next command. */
  step_line_client_expect (alpha, "RCPT TO:<nobody@alpha.test>", "550 ");
  held = send_held (f, alpha, "RSET");
  ms_stepper_continue (stepper, NULL, NULL);
  step_line_client_expect (alpha, NULL, "250 ");

  ms_stepper_clear_breakpoints (stepper);
  step_line_client_expect (alpha, "MAIL FROM:<bob@beta.test>", "250 ");
  step_line_client_expect (alpha, "RCPT TO:<nobody@alpha.test>", "550 ");
  step_line_client_expect (alpha, "QUIT", "221 ");
  g_assert_cmpuint (f->refusals->len, ==, 0);
  step_line_client_free (alpha);
}

static void
test_forget_world (Fixture *f,
                   gconstpointer data)
{
  MsStepper *stepper = MS_STEPPER (f->stepper);
  StepLineClient *alpha;

  ms_world_stepper_forget_world (f->stepper);
  ms_stepper_set_step_mode (stepper, NULL, NULL, TRUE);
  ms_stepper_step (stepper, NULL, "smtp-1");
  g_assert_true (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_VERB, "HELO"));
  g_assert_false (ms_stepper_add_breakpoint (stepper, MS_BREAKPOINT_VERB, "H3LO"));
  g_assert_cmpuint (f->refusals->len, ==, 3);
  for (guint i = 0; i < f->refusals->len; i++)
    g_assert_cmpstr (f->refusals->pdata[i], ==, "The servers have stopped.");
  /* And nothing reached the servers. */
  alpha = connect_smtp (f, 0);
  step_line_client_expect (alpha, "HELO client.test", "250 ");
  step_line_client_free (alpha);
}

#define ADD(path, func) \
  g_test_add ("/gui/world-stepper/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)

int
main (int argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  ADD ("step", test_step);
  ADD ("step-mode-one-server", test_step_mode_one_server);
  ADD ("breakpoints", test_breakpoints);
  ADD ("forget-world", test_forget_world);
  return g_test_run ();
}
