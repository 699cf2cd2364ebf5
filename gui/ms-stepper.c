/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include "ms-stepper.h"

G_DEFINE_INTERFACE (MsStepper, ms_stepper, G_TYPE_OBJECT)

static void
ms_stepper_default_init (MsStepperInterface *iface)
{
  /* A command the servers refused, in words ("nothing is pending in
   * smtp-3"): the window shows it; the trace has no event for it. */
  g_signal_new ("refused", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

void
ms_stepper_set_step_mode (MsStepper *self,
                          const char *server,
                          const char *session,
                          gboolean on)
{
  g_return_if_fail (MS_IS_STEPPER (self));
  MS_STEPPER_GET_IFACE (self)->set_step_mode (self, server, session, on);
}

void
ms_stepper_step (MsStepper *self,
                 const char *server,
                 const char *session)
{
  g_return_if_fail (MS_IS_STEPPER (self));
  g_return_if_fail (session != NULL);
  MS_STEPPER_GET_IFACE (self)->step (self, server, session);
}

void
ms_stepper_continue (MsStepper *self,
                     const char *server,
                     const char *session)
{
  g_return_if_fail (MS_IS_STEPPER (self));
  MS_STEPPER_GET_IFACE (self)->continue_all (self, server, session);
}

gboolean
ms_stepper_add_breakpoint (MsStepper *self,
                           MsBreakpointKind kind,
                           const char *what)
{
  g_return_val_if_fail (MS_IS_STEPPER (self), FALSE);
  g_return_val_if_fail (what != NULL, FALSE);
  return MS_STEPPER_GET_IFACE (self)->add_breakpoint (self, kind, what);
}

void
ms_stepper_clear_breakpoints (MsStepper *self)
{
  g_return_if_fail (MS_IS_STEPPER (self));
  MS_STEPPER_GET_IFACE (self)->clear_breakpoints (self);
}
