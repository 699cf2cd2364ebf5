/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-diagram-model.h"
#include "ms-inspector.h"
#include "ms-state-view.h"
#include "ms-mailbox-model.h"
#include "ms-mailbox-view.h"
#include "ms-main-window.h"
#include "ms-session-model.h"
#include "ms-stepper.h"
#include "ms-trace-model.h"
#include "ms-world.h"

G_BEGIN_DECLS

/* The window's parts, shared with the tests (tests/gui/test-main-window.c),
 * which assert on what the widgets hold. */
struct _MsMainWindow
{
  AdwApplicationWindow parent_instance;

  /* template children */
  AdwWindowTitle *window_title;
  GtkListView *sessions_view;
  GtkScrolledWindow *diagram_scroller;
  MsInspector *inspector;
  MsStateView *state_view;
  MsMailboxView *mailbox_view;
  GtkPaned *side_paned;
  GtkPaned *diagram_paned;
  GtkToggleButton *step_mode_button;
  GtkButton *step_button;
  GtkButton *continue_button;
  GtkMenuButton *break_button;
  GtkEntry *break_entry;
  GtkLabel *break_label;
  GtkScale *timeline_scale;
  GtkLabel *timeline_label;
  AdwToastOverlay *toast_overlay;
  GtkToggleButton *agents_button;
  GtkWindow *agents_window;   /* the built-in user agents, or NULL */

  GtkWidget *sequence_view;   /* MsSequenceView, or a plain list before it exists */

  MsTraceModel *trace;
  MsSessionModel *sessions;
  MsMailboxModel *mailboxes;
  MsDiagramModel *diagram;
  guint n_applied;            /* events of `trace` folded into the models */
  /* The timeline: the mailboxes and the diagram show events [0, position).
   * While `following`, position is n_applied and grows with the trace. */
  guint position;
  gboolean following;
  gboolean moving_timeline;   /* set while the window itself moves the scale */
  guint diagram_position;     /* the diagram shows events [0, diagram_position) */
  guint64 selected_seq;

  /* Step mode (issue 5). Lines held in a server's step gate, learnt from
   * the trace's `step` events: "server\nsession" -> "pending: VERB". */
  MsStepper *stepper;         /* NULL for a replay */
  GHashTable *pending;
  GPtrArray *pending_order;   /* the keys of `pending`, oldest first */
  GHashTable *rows;           /* "server\nsession" -> bound row (borrowed) */
  GHashTable *stepping;       /* keys of the sessions put in step mode one by one */
  GHashTable *hidden;         /* keys of the sessions hidden from the diagram */
  GPtrArray *breakpoints;     /* as shown: "RCPT", "reply 5xx" */
  gboolean step_mode;
  gboolean tooltips_live;     /* the step buttons' tooltips say live (not replay) */

  /* Presentation mode and zoom. */
  gboolean presentation;
  double zoom;                /* the user's, 1.0 = normal */
  int saved_positions[2];     /* the panes' before presentation mode */
  GtkCssProvider *scale_css;
};

/* The pending mark of a session ("pending: HELO"), or NULL. */
const char *_ms_main_window_get_pending (MsMainWindow *self, const char *server,
                                         const char *session);
/* The row showing that session, if bound (borrowed), or NULL. */
GtkWidget *_ms_main_window_get_session_row (MsMainWindow *self, const char *server,
                                            const char *session);

G_END_DECLS
