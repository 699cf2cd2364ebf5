/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-breakpoint.h"

G_BEGIN_DECLS

/* MsStepper: what the window asks of whoever runs the servers it shows,
 * so that step mode works the same on the demo world in this process
 * (MsWorldStepper, over ms_server_*) and on a server elsewhere
 * (MsTraceClient, over the trace port's commands, docs/trace-format.md).
 *
 * `server` is a trace `server` ("alpha.test"), `session` a trace `session`
 * ("smtp-3"); a NULL session means every session of every server, those
 * that open later included. What happens shows up as `step` events in the
 * trace; a remote stepper's commands are asynchronous, and a refusal
 * (STEP with nothing pending) is reported with the `refused` signal
 * (const char *text), never as a GError. */
#define MS_TYPE_STEPPER (ms_stepper_get_type ())
G_DECLARE_INTERFACE (MsStepper, ms_stepper, MS, STEPPER, GObject)

struct _MsStepperInterface
{
  GTypeInterface parent_iface;

  void (*set_step_mode) (MsStepper *self, const char *server, const char *session,
                         gboolean on);
  void (*step) (MsStepper *self, const char *server, const char *session);
  void (*continue_all) (MsStepper *self, const char *server, const char *session);
  /* FALSE (and nothing sent) when `what` is not a valid breakpoint of `kind`. */
  gboolean (*add_breakpoint) (MsStepper *self, MsBreakpointKind kind, const char *what);
  void (*clear_breakpoints) (MsStepper *self);
};

void ms_stepper_set_step_mode (MsStepper *self, const char *server, const char *session,
                               gboolean on);
void ms_stepper_step (MsStepper *self, const char *server, const char *session);
void ms_stepper_continue (MsStepper *self, const char *server, const char *session);
gboolean ms_stepper_add_breakpoint (MsStepper *self, MsBreakpointKind kind, const char *what);
void ms_stepper_clear_breakpoints (MsStepper *self);

G_END_DECLS
