/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* MsStateView: the state machine of one protocol's engine ("smtp", "pop3",
 * "imap", or "smtp-relay" for the relay client), drawn as rounded boxes on
 * a small grid with labelled arrows for the transitions. The current state
 * is lit and the last transition highlighted. State names are those of the
 * trace's `state` events (docs/trace-format.md). */
#define MS_TYPE_STATE_VIEW (ms_state_view_get_type ())
G_DECLARE_FINAL_TYPE (MsStateView, ms_state_view, MS, STATE_VIEW, GtkWidget)

GtkWidget *ms_state_view_new (void);

/* Shows the machine of `proto`; NULL or an unknown protocol shows nothing.
 * Clears the current state and the highlighted transition. */
void ms_state_view_set_protocol (MsStateView *self, const char *proto);
/* The protocol shown (borrowed), or NULL. */
const char *ms_state_view_get_protocol (MsStateView *self);

/* Lights `to` and highlights the transition from -> to when the machine has
 * it; otherwise (from is NULL, "" or not linked to `to`) only lights `to`.
 * A `to` that is not a state of the machine lights nothing. */
void ms_state_view_set_state (MsStateView *self, const char *from, const char *to);
/* The lit state (borrowed, from the protocol's table), or NULL. */
const char *ms_state_view_get_current (MsStateView *self);

/* For tests: the number of boxes drawn, the box of state `name` in widget
 * coordinates (FALSE when there is no such box), and whether a transition
 * is highlighted (its ends, borrowed, in from_r and to_r). */
guint ms_state_view_get_n_boxes (MsStateView *self);
gboolean ms_state_view_get_box (MsStateView *self, const char *name, graphene_rect_t *rect_r);
gboolean ms_state_view_get_highlighted (MsStateView *self, const char **from_r,
                                        const char **to_r);

G_END_DECLS
