/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-stepper.h"
#include "ms-world.h"

G_BEGIN_DECLS

/* MsWorldStepper: MsStepper over the servers of an MsWorld in this process
 * (ms_server_set_step_mode() and the rest), for the demo world of the app.
 * A `server` argument narrows a named session to that server; NULL asks
 * every server, and the one that has the session acts (session ids are
 * unique in the process). Everything happens at once, during the call;
 * step() with nothing pending emits "refused" with a sentence.
 * Breakpoints apply to every server and take the forms of
 * ms_breakpoint_normalize().
 *
 * The world is borrowed: call ms_world_stepper_forget_world() before it is
 * freed. After that nothing is done, and every call but add_breakpoint()
 * of an invalid breakpoint (FALSE) emits "refused" ("The servers have
 * stopped."). */
#define MS_TYPE_WORLD_STEPPER (ms_world_stepper_get_type ())
G_DECLARE_FINAL_TYPE (MsWorldStepper, ms_world_stepper, MS, WORLD_STEPPER, GObject)

MsWorldStepper *ms_world_stepper_new (MsWorld *world);
void ms_world_stepper_forget_world (MsWorldStepper *self);

G_END_DECLS
