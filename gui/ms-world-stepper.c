/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include "ms-trace-client.h"
#include "ms-world-stepper.h"

struct _MsWorldStepper
{
  GObject parent_instance;
  MsWorld *world;             /* borrowed; NULL once forgotten */
};

static void ms_world_stepper_iface_init (MsStepperInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MsWorldStepper, ms_world_stepper, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (MS_TYPE_STEPPER,
                                                      ms_world_stepper_iface_init))

/* The servers `server` names (NULL: all of them), one at a time: start
 * with *index_r at 0; NULL at the end. */
static MsServer *
next_server (MsWorldStepper *self,
             const char *server,
             guint *index_r)
{
  GPtrArray *servers;

  if (self->world == NULL)
    return NULL;
  servers = ms_world_get_servers (self->world);
  while (*index_r < servers->len)
    {
      MsServer *candidate = servers->pdata[(*index_r)++];

      if (server == NULL || g_strcmp0 (ms_server_get_domain (candidate), server) == 0)
        return candidate;
    }
  return NULL;
}

/* Says why nothing was done when the world is gone; FALSE then. */
static gboolean
check_world (MsWorldStepper *self)
{
  if (self->world != NULL)
    return TRUE;
  g_signal_emit_by_name (self, "refused", "The servers have stopped.");
  return FALSE;
}

/* A NULL session means every session of every server (ms-stepper.h), so
 * `server` narrows only a named session. */
static void
world_set_step_mode (MsStepper *stepper,
                     const char *server,
                     const char *session,
                     gboolean on)
{
  MsWorldStepper *self = MS_WORLD_STEPPER (stepper);
  guint i = 0;
  MsServer *target;

  if (!check_world (self))
    return;
  while ((target = next_server (self, session != NULL ? server : NULL, &i)) != NULL)
    ms_server_set_step_mode (target, session, on);
}

static void
world_step (MsStepper *stepper,
            const char *server,
            const char *session)
{
  MsWorldStepper *self = MS_WORLD_STEPPER (stepper);
  g_autofree char *text = NULL;
  guint i = 0;
  MsServer *target;

  if (!check_world (self))
    return;
  /* Session ids are unique in the process: with no server named, every
   * server is asked and the one that has the session acts. */
  while ((target = next_server (self, server, &i)) != NULL)
    if (ms_server_step (target, session))
      return;
  text = g_strdup_printf ("Nothing is pending in %s%s%s: no command of it waits.", session,
                          server != NULL ? " on " : "", server != NULL ? server : "");
  g_signal_emit_by_name (self, "refused", text);
}

/* Leaving step mode releases what waits, as ms_server_continue() does
 * (ms-server.h), and the trace port's CONTINUE is the same. */
static void
world_continue (MsStepper *stepper,
                const char *server,
                const char *session)
{
  world_set_step_mode (stepper, server, session, FALSE);
}

/* Breakpoints are for every server, as on the trace port. */
static gboolean
world_add_breakpoint (MsStepper *stepper,
                      MsBreakpointKind kind,
                      const char *what)
{
  MsWorldStepper *self = MS_WORLD_STEPPER (stepper);
  g_autofree char *normal = ms_breakpoint_normalize (kind, what);
  guint i = 0;
  MsServer *target;

  if (normal == NULL)
    return FALSE;
  if (!check_world (self))
    return TRUE;
  /* Every server takes the same breakpoints: the first to refuse one
   * refuses it before anything is added. */
  while ((target = next_server (self, NULL, &i)) != NULL)
    if (!(kind == MS_BREAKPOINT_VERB ? ms_server_add_breakpoint (target, normal)
                                     : ms_server_add_reply_breakpoint (target, normal)))
      return FALSE;
  return TRUE;
}

static void
world_clear_breakpoints (MsStepper *stepper)
{
  MsWorldStepper *self = MS_WORLD_STEPPER (stepper);
  guint i = 0;
  MsServer *target;

  if (!check_world (self))
    return;
  while ((target = next_server (self, NULL, &i)) != NULL)
    ms_server_clear_breakpoints (target);
}

static void
ms_world_stepper_iface_init (MsStepperInterface *iface)
{
  iface->set_step_mode = world_set_step_mode;
  iface->step = world_step;
  iface->continue_all = world_continue;
  iface->add_breakpoint = world_add_breakpoint;
  iface->clear_breakpoints = world_clear_breakpoints;
}

static void
ms_world_stepper_class_init (MsWorldStepperClass *klass)
{
}

static void
ms_world_stepper_init (MsWorldStepper *self)
{
}

MsWorldStepper *
ms_world_stepper_new (MsWorld *world)
{
  MsWorldStepper *self;

  g_return_val_if_fail (world != NULL, NULL);

  self = g_object_new (MS_TYPE_WORLD_STEPPER, NULL);
  self->world = world;
  return self;
}

void
ms_world_stepper_forget_world (MsWorldStepper *self)
{
  g_return_if_fail (MS_IS_WORLD_STEPPER (self));
  self->world = NULL;
}
