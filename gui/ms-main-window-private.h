/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-diagram-model.h"
#include "ms-inspector.h"
#include "ms-state-view.h"
#include "ms-mailbox-model.h"
#include "ms-mailbox-view.h"
#include "ms-main-window.h"
#include "ms-session-model.h"
#include "ms-trace-model.h"

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

  GtkWidget *sequence_view;   /* MsSequenceView, or a plain list before it exists */

  MsTraceModel *trace;
  MsSessionModel *sessions;
  MsMailboxModel *mailboxes;
  MsDiagramModel *diagram;
  guint n_applied;            /* events of `trace` folded into the models */
  guint64 selected_seq;
};

G_END_DECLS
