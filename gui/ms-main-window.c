/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-main-window"

#include "config.h"

#include <string.h>

#include "ms-gui-resources.h"
#include "ms-main-window-private.h"
#include "ms-sequence-view.h"
#include "ms-world-stepper.h"

G_DEFINE_FINAL_TYPE (MsMainWindow, ms_main_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_SELECTED_SEQ,
  PROP_STEP_MODE,
  PROP_PRESENTATION,
  N_PROPS
};

#define ZOOM_STEP 1.2
#define ZOOM_MIN 0.5
#define ZOOM_MAX 3.0
/* Presentation mode: the window's text at 160% instead of 120%, and the
 * diagram zoomed 1.5 times (its text, rows and lanes). */
#define FONT_PERCENT 120.0
#define PRESENTATION_FONT_PERCENT 160.0
#define PRESENTATION_ZOOM 1.5
#define PRESENTATION_SIDEBAR_WIDTH 260
#define PRESENTATION_INSPECTOR_WIDTH 400
#define STEP_MODE_TOOLTIP "Hold every session's commands until Step (F9)"
#define BREAK_TOOLTIP \
  "Hold a session at a command (RCPT, DELE, FETCH) or after a reply (550, 5xx, -ERR, NO)"
#define READ_ONLY_TOOLTIP "replay: read only (no server to step)"

static GParamSpec *properties[N_PROPS];

static void toggle_agents_action (GtkWidget *widget, const char *action_name,
                                  GVariant *parameter);

/* --- sessions list ------------------------------------------------------- */

static char *
session_key (const char *server,
             const char *session)
{
  return g_strdup_printf ("%s\n%s", server != NULL ? server : "", session != NULL ? session : "");
}

static char *
item_key (MsSessionItem *item)
{
  return session_key (ms_session_item_get_server (item), ms_session_item_get_session (item));
}

/* The third label of a row: "pending: RCPT" while the session's line waits
 * in the step gate. */
static void
update_pending_label (GtkWidget *row,
                      const char *pending)
{
  GtkWidget *label = gtk_widget_get_last_child (row);

  gtk_label_set_text (GTK_LABEL (label), pending != NULL ? pending : "");
  gtk_widget_set_visible (label, pending != NULL);
  if (pending != NULL)
    gtk_widget_add_css_class (row, "ms-pending");
  else
    gtk_widget_remove_css_class (row, "ms-pending");
}

/* A row: a header (the title, then the session's step and diagram
 * toggles), the detail line, and the pending mark. */
static GtkWidget *
row_title (GtkWidget *row)
{
  return gtk_widget_get_first_child (gtk_widget_get_first_child (row));
}

static GtkToggleButton *
row_step_toggle (GtkWidget *row)
{
  return GTK_TOGGLE_BUTTON (gtk_widget_get_next_sibling (row_title (row)));
}

static GtkToggleButton *
row_show_toggle (GtkWidget *row)
{
  return GTK_TOGGLE_BUTTON (gtk_widget_get_last_child (gtk_widget_get_first_child (row)));
}

static void
update_session_row (GtkWidget *row,
                    MsSessionItem *item)
{
  GtkWidget *title = row_title (row);
  GtkWidget *detail = gtk_widget_get_next_sibling (gtk_widget_get_first_child (row));
  const char *proto = ms_session_item_get_proto (item);
  g_autofree char *proto_up = g_ascii_strup (proto != NULL ? proto : "?", -1);
  g_autofree char *title_text = NULL;
  g_autofree char *detail_text = NULL;
  gboolean open = ms_session_item_get_open (item);
  const char *state;

  title_text = g_strdup_printf ("%s  %s", ms_session_item_get_server (item) ?: "?",
                                ms_session_item_get_session (item) ?: "?");
  state = ms_session_item_get_state (item);
  /* "closed" once: an engine's last state is often "closed" itself. */
  /* The peer: who connected (a user agent's port, or the relaying server). */
  detail_text = g_strdup_printf ("%s%s · %s · %s · %s%s", proto_up,
                                 ms_session_item_get_tls (item) ? " (TLS)" : "",
                                 ms_session_item_get_user (item) ?: "no user",
                                 ms_session_item_get_peer (item) ?: "?",
                                 state != NULL ? state : "?",
                                 open || g_strcmp0 (state, "closed") == 0 ? "" : " · closed");
  gtk_label_set_text (GTK_LABEL (title), title_text);
  gtk_label_set_text (GTK_LABEL (detail), detail_text);
  if (open)
    gtk_widget_remove_css_class (row, "ms-closed");
  else
    gtk_widget_add_css_class (row, "ms-closed");
}

static void
session_notify_cb (MsSessionItem *item,
                   GParamSpec *pspec,
                   GtkWidget *row)
{
  update_session_row (row, item);
  if (!ms_session_item_get_open (item))
    gtk_widget_set_sensitive (GTK_WIDGET (row_step_toggle (row)), FALSE);
}

static void session_step_toggled_cb (GtkToggleButton *button, MsMainWindow *self);
static void session_show_toggled_cb (GtkToggleButton *button, MsMainWindow *self);

static GtkWidget *
row_toggle (const char *icon,
            const char *tooltip)
{
  GtkWidget *button = gtk_toggle_button_new ();

  gtk_button_set_icon_name (GTK_BUTTON (button), icon);
  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_set_valign (button, GTK_ALIGN_START);
  gtk_widget_add_css_class (button, "flat");
  gtk_widget_add_css_class (button, "ms-row-toggle");
  return button;
}

static void
session_setup_cb (GtkSignalListItemFactory *factory,
                  GtkListItem *list_item,
                  MsMainWindow *self)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *header = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 4);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *step = row_toggle ("media-playback-pause-symbolic",
                                "Step mode for this session only: hold its commands until Step");
  GtkWidget *show = row_toggle ("view-reveal-symbolic",
                                "Show this session's arrows in the diagram");
  GtkWidget *detail = gtk_label_new (NULL);
  GtkWidget *pending = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (pending), 0);
  gtk_label_set_ellipsize (GTK_LABEL (pending), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (pending, "ms-pending-mark");
  gtk_widget_set_visible (pending, FALSE);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_label_set_wrap (GTK_LABEL (title), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (title), PANGO_WRAP_WORD_CHAR);
  /* Wrapped, not cut: in presentation mode the sidebar holds few words. */
  gtk_label_set_wrap (GTK_LABEL (detail), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (detail), PANGO_WRAP_WORD_CHAR);
  gtk_widget_add_css_class (title, "ms-session-title");
  gtk_widget_add_css_class (detail, "ms-session-detail");
  gtk_widget_set_hexpand (title, TRUE);
  gtk_toggle_button_set_active (GTK_TOGGLE_BUTTON (show), TRUE);
  g_signal_connect (step, "toggled", G_CALLBACK (session_step_toggled_cb), self);
  g_signal_connect (show, "toggled", G_CALLBACK (session_show_toggled_cb), self);
  gtk_box_append (GTK_BOX (header), title);
  gtk_box_append (GTK_BOX (header), step);
  gtk_box_append (GTK_BOX (header), show);
  gtk_box_append (GTK_BOX (row), header);
  gtk_box_append (GTK_BOX (row), detail);
  gtk_box_append (GTK_BOX (row), pending);
  gtk_widget_add_css_class (row, "ms-session-row");
  gtk_list_item_set_child (list_item, row);
}

static void
session_bind_cb (GtkSignalListItemFactory *factory,
                 GtkListItem *list_item,
                 MsMainWindow *self)
{
  MsSessionItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *row = gtk_list_item_get_child (list_item);
  char *key = item_key (item);

  update_session_row (row, item);
  /* The session model has no pending property: the window keeps the marks
   * and finds the row by its session when one changes. */
  update_pending_label (row, g_hash_table_lookup (self->pending, key));
  /* The toggles show the window's own record; a row is recycled for other
   * sessions, so they are set without acting. */
  g_object_set_data_full (G_OBJECT (row), "ms-key", g_strdup (key), g_free);
  g_signal_handlers_block_matched (row_step_toggle (row), G_SIGNAL_MATCH_DATA, 0, 0, NULL,
                                   NULL, self);
  g_signal_handlers_block_matched (row_show_toggle (row), G_SIGNAL_MATCH_DATA, 0, 0, NULL,
                                   NULL, self);
  gtk_toggle_button_set_active (row_step_toggle (row),
                                g_hash_table_contains (self->stepping, key));
  gtk_toggle_button_set_active (row_show_toggle (row), !g_hash_table_contains (self->hidden, key));
  g_signal_handlers_unblock_matched (row_step_toggle (row), G_SIGNAL_MATCH_DATA, 0, 0, NULL,
                                     NULL, self);
  g_signal_handlers_unblock_matched (row_show_toggle (row), G_SIGNAL_MATCH_DATA, 0, 0, NULL,
                                     NULL, self);
  gtk_widget_set_sensitive (GTK_WIDGET (row_step_toggle (row)),
                            self->stepper != NULL && ms_session_item_get_open (item));
  g_hash_table_replace (self->rows, key, row);
  /* A session's state, user and open/closed change as its events arrive. */
  g_signal_connect_object (item, "notify", G_CALLBACK (session_notify_cb), row, 0);
}

static void
session_unbind_cb (GtkSignalListItemFactory *factory,
                   GtkListItem *list_item,
                   MsMainWindow *self)
{
  MsSessionItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *row = gtk_list_item_get_child (list_item);
  g_autofree char *key = NULL;

  if (item == NULL)
    return;
  g_signal_handlers_disconnect_by_func (item, session_notify_cb, row);
  key = item_key (item);
  if (g_hash_table_lookup (self->rows, key) == row)
    g_hash_table_remove (self->rows, key);
}

const char *
_ms_main_window_get_pending (MsMainWindow *self,
                             const char *server,
                             const char *session)
{
  g_autofree char *key = session_key (server, session);

  return g_hash_table_lookup (self->pending, key);
}

GtkWidget *
_ms_main_window_get_session_row (MsMainWindow *self,
                                 const char *server,
                                 const char *session)
{
  g_autofree char *key = session_key (server, session);

  return g_hash_table_lookup (self->rows, key);
}

/* --- the arrows and the inspector ---------------------------------------- */

static const char *
lane_name (MsMainWindow *self,
           guint position)
{
  GListModel *lanes = ms_diagram_model_get_lanes (self->diagram);
  g_autoptr(MsLaneItem) lane = g_list_model_get_item (lanes, position);

  /* The model keeps its lanes: the name outlives this reference. */
  return lane != NULL ? ms_lane_item_get_name (lane) : NULL;
}

/* The first arrow with `seq`. Seq is counted per server, so two servers can
 * share one; the diagram's contract selects by seq alone for now. */
static MsArrowItem *
find_arrow (MsMainWindow *self,
            guint64 seq)
{
  GListModel *arrows = G_LIST_MODEL (self->diagram);

  for (guint i = 0; i < g_list_model_get_n_items (arrows); i++)
    {
      g_autoptr(MsArrowItem) arrow = g_list_model_get_item (arrows, i);

      if (ms_arrow_item_get_seq (arrow) == seq)
        return g_steal_pointer (&arrow);
    }
  return NULL;
}

static MsEvent *
find_event (MsMainWindow *self,
            const char *server,
            guint64 seq)
{
  for (guint i = self->n_applied; i > 0; i--)
    {
      MsEvent *event = ms_trace_model_get_event (self->trace, i - 1);

      if (event->seq == seq && g_strcmp0 (event->server, server) == 0)
        return event;
    }
  return NULL;
}

/* The selected event's session in the state machine view: the last state
 * change of that session up to the event, so stepping back through the
 * diagram shows the state as it was then. */
static void
show_session_state (MsMainWindow *self,
                    const MsEvent *selected)
{
  const char *session = ms_event_get_string (selected, "session");
  const char *proto = ms_event_get_string (selected, "proto");

  ms_state_view_set_protocol (self->state_view, proto);
  if (session == NULL)
    return;
  for (guint i = self->n_applied; i > 0; i--)
    {
      MsEvent *event = ms_trace_model_get_event (self->trace, i - 1);

      if (event->kind != MS_EVENT_STATE || event->seq > selected->seq
          || g_strcmp0 (event->server, selected->server) != 0
          || g_strcmp0 (ms_event_get_string (event, "session"), session) != 0)
        continue;
      ms_state_view_set_state (self->state_view, ms_event_get_string (event, "from"),
                               ms_event_get_string (event, "to"));
      return;
    }
}

static void
show_selected (MsMainWindow *self)
{
  g_autoptr(MsArrowItem) arrow = NULL;
  MsEvent *event = NULL;

  /* The view knows which arrow was chosen; seq alone may name one of
   * each server. */
  if (self->selected_seq != 0)
    {
      MsArrowItem *chosen =
        ms_sequence_view_get_selected_arrow (MS_SEQUENCE_VIEW (self->sequence_view));

      arrow = chosen != NULL && ms_arrow_item_get_seq (chosen) == self->selected_seq
              ? g_object_ref (chosen) : find_arrow (self, self->selected_seq);
    }
  if (arrow != NULL)
    event = find_event (self, ms_arrow_item_get_server (arrow), self->selected_seq);
  /* The mailbox rows that event changed get a mark (issue 5: a change is
   * tied to the event that caused it). */
  ms_mailbox_view_set_selected_event (self->mailbox_view,
                                      arrow != NULL ? ms_arrow_item_get_server (arrow) : NULL,
                                      arrow != NULL ? self->selected_seq : 0);
  if (event == NULL)
    {
      ms_inspector_show_event (self->inspector, NULL, NULL, NULL);
      ms_state_view_set_protocol (self->state_view, NULL);
      return;
    }
  show_session_state (self, event);
  ms_inspector_show_event (self->inspector, event,
                           lane_name (self, ms_arrow_item_get_from_lane (arrow)),
                           lane_name (self, ms_arrow_item_get_to_lane (arrow)));
}

void
ms_main_window_set_selected_seq (MsMainWindow *self,
                                 guint64 seq)
{
  g_return_if_fail (MS_IS_MAIN_WINDOW (self));

  if (self->selected_seq == seq)
    return;
  self->selected_seq = seq;
  show_selected (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTED_SEQ]);
}

guint64
ms_main_window_get_selected_seq (MsMainWindow *self)
{
  g_return_val_if_fail (MS_IS_MAIN_WINDOW (self), 0);
  return self->selected_seq;
}

static void
view_selection_cb (MsMainWindow *self)
{
  guint64 seq = ms_sequence_view_get_selected_seq (MS_SEQUENCE_VIEW (self->sequence_view));

  if (seq == self->selected_seq)
    {
      show_selected (self);
      return;
    }
  ms_main_window_set_selected_seq (self, seq);
}

static void
add_diagram (MsMainWindow *self)
{
  self->sequence_view = ms_sequence_view_new ();
  ms_sequence_view_set_model (MS_SEQUENCE_VIEW (self->sequence_view), self->diagram);
  /* The window's selection drives the view's; the view's, which knows the
   * arrow (seq alone may name one event of each server), drives the
   * inspector even when the seq stays the same. */
  g_object_bind_property (self, "selected-seq", self->sequence_view, "selected-seq",
                          G_BINDING_SYNC_CREATE);
  g_signal_connect_swapped (self->sequence_view, "notify::selected-seq",
                            G_CALLBACK (view_selection_cb), self);
  gtk_scrolled_window_set_child (self->diagram_scroller, self->sequence_view);
}

/* --- step mode ----------------------------------------------------------- */

static void
update_step_actions (MsMainWindow *self)
{
  gboolean live = self->stepper != NULL;
  gboolean any_pending = self->pending_order->len > 0;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.step-mode", live);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.step", live && any_pending);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.continue",
                                 live && (self->step_mode || any_pending));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.clear-breakpoints",
                                 live && self->breakpoints->len > 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->break_button), live);
  /* Blue only when there is something to release: it draws the eye. */
  if (live && any_pending)
    gtk_widget_add_css_class (GTK_WIDGET (self->step_button), "suggested-action");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->step_button), "suggested-action");
  /* Insensitive widgets keep their tooltips: say why. Set only when it
   * changes: on X11 each setting asks the server where the pointer is. */
  if (live != self->tooltips_live)
    {
      self->tooltips_live = live;
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->step_mode_button),
                                   live ? STEP_MODE_TOOLTIP : READ_ONLY_TOOLTIP);
      gtk_widget_set_tooltip_text (GTK_WIDGET (self->break_button),
                                   live ? BREAK_TOOLTIP : READ_ONLY_TOOLTIP);
    }
}

static void
set_pending (MsMainWindow *self,
             const char *server,
             const char *session,
             const char *text)
{
  g_autofree char *key = session_key (server, session);
  GtkWidget *row;

  /* Every session's close comes here: most had nothing pending. */
  if (text == NULL && !g_hash_table_contains (self->pending, key))
    return;
  row = g_hash_table_lookup (self->rows, key);
  for (guint i = 0; i < self->pending_order->len; i++)
    if (strcmp (self->pending_order->pdata[i], key) == 0)
      {
        g_ptr_array_remove_index (self->pending_order, i);
        break;
      }
  if (text != NULL)
    {
      g_hash_table_replace (self->pending, g_strdup (key), g_strdup (text));
      g_ptr_array_add (self->pending_order, g_strdup (key));
    }
  else
    g_hash_table_remove (self->pending, key);
  if (row != NULL)
    update_pending_label (row, text);
  update_step_actions (self);
}

/* A `step` event (docs/trace-format.md): `held` marks the session as
 * pending until `released`; a session closed while held has no `released`. */
static void
apply_step_event (MsMainWindow *self,
                  MsEvent *event)
{
  const char *session = ms_event_get_string (event, "session");

  if (event->kind == MS_EVENT_SESSION_CLOSE)
    {
      set_pending (self, event->server, session, NULL);
      return;
    }
  if (event->kind != MS_EVENT_STEP)
    return;
  if (g_strcmp0 (ms_event_get_string (event, "gate"), "held") == 0)
    {
      const char *verb = ms_event_get_string (event, "verb");
      g_autofree char *text = g_strdup_printf ("pending: %s%s",
                                               verb != NULL ? verb : "(empty line)",
                                               ms_event_get_bool (event, "secret", FALSE)
                                               ? " (secret)" : "");

      set_pending (self, event->server, session, text);
    }
  else
    set_pending (self, event->server, session, NULL);
}

static void
clear_pending (MsMainWindow *self)
{
  GHashTableIter iter;
  gpointer row;

  g_hash_table_remove_all (self->pending);
  g_ptr_array_set_size (self->pending_order, 0);
  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, &row))
    update_pending_label (row, NULL);
  update_step_actions (self);
}

/* The session chosen in the sessions list, if its line is pending; else
 * the oldest pending line: Step always releases something when it can. */
static const char *
key_to_step (MsMainWindow *self)
{
  GtkSingleSelection *selection = GTK_SINGLE_SELECTION (gtk_list_view_get_model (
                                                          self->sessions_view));
  MsSessionItem *item = gtk_single_selection_get_selected_item (selection);

  if (item != NULL)
    {
      g_autofree char *key = item_key (item);

      for (guint i = 0; i < self->pending_order->len; i++)
        if (strcmp (self->pending_order->pdata[i], key) == 0)
          return self->pending_order->pdata[i];
    }
  return self->pending_order->len > 0 ? self->pending_order->pdata[0] : NULL;
}

/* "server\nsession" -> the server (to free) and the session (inside it). */
static char *
split_key (const char *key,
           const char **session_r)
{
  char *server = g_strdup (key);
  char *newline = strchr (server, '\n');

  g_assert (newline != NULL);
  *newline = '\0';
  *session_r = newline + 1;
  return server;
}

static void
step_action (GtkWidget *widget,
             const char *action_name,
             GVariant *parameter)
{
  MsMainWindow *self = MS_MAIN_WINDOW (widget);
  const char *key = key_to_step (self);
  g_autofree char *server = NULL;
  const char *session;

  if (self->stepper == NULL || key == NULL)
    return;
  server = split_key (key, &session);
  /* The mark goes with the `released` event, which follows soon. */
  ms_stepper_step (self->stepper, server, session);
}

static void
forget_stepping (MsMainWindow *self)
{
  GHashTableIter iter;
  gpointer row;

  g_hash_table_remove_all (self->stepping);
  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, &row))
    {
      GtkToggleButton *toggle = row_step_toggle (row);

      g_signal_handlers_block_matched (toggle, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
      gtk_toggle_button_set_active (toggle, FALSE);
      g_signal_handlers_unblock_matched (toggle, G_SIGNAL_MATCH_DATA, 0, 0, NULL, NULL, self);
    }
}

static void
continue_action (GtkWidget *widget,
                 const char *action_name,
                 GVariant *parameter)
{
  MsMainWindow *self = MS_MAIN_WINDOW (widget);

  if (self->stepper == NULL)
    return;
  ms_stepper_continue (self->stepper, NULL, NULL);
  /* Continue for all also ends the sessions' own step modes. */
  forget_stepping (self);
  if (self->step_mode)
    {
      self->step_mode = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP_MODE]);
    }
  update_step_actions (self);
}

/* The pause toggle of a session's row: step mode for that session alone
 * (issue 5: "per session or for all"). Turning it off releases what waits. */
static void
session_step_toggled_cb (GtkToggleButton *button,
                         MsMainWindow *self)
{
  GtkWidget *row = gtk_widget_get_parent (gtk_widget_get_parent (GTK_WIDGET (button)));
  const char *key = g_object_get_data (G_OBJECT (row), "ms-key");
  gboolean on = gtk_toggle_button_get_active (button);
  g_autofree char *server = NULL;
  const char *session;

  if (self->stepper == NULL || key == NULL)
    return;
  if (on)
    g_hash_table_add (self->stepping, g_strdup (key));
  else
    g_hash_table_remove (self->stepping, key);
  server = split_key (key, &session);
  ms_stepper_set_step_mode (self->stepper, server, session, on);
  update_step_actions (self);
}

/* The eye toggle: the session's arrows in or out of the diagram. */
static void
session_show_toggled_cb (GtkToggleButton *button,
                         MsMainWindow *self)
{
  GtkWidget *row = gtk_widget_get_parent (gtk_widget_get_parent (GTK_WIDGET (button)));
  const char *key = g_object_get_data (G_OBJECT (row), "ms-key");
  gboolean visible = gtk_toggle_button_get_active (button);
  g_autofree char *server = NULL;
  const char *session;

  if (key == NULL)
    return;
  server = split_key (key, &session);
  ms_main_window_set_session_visible (self, server, session, visible);
}

void
ms_main_window_set_session_visible (MsMainWindow *self,
                                    const char *server,
                                    const char *session,
                                    gboolean visible)
{
  g_autofree char *key = NULL;
  GtkWidget *row;

  g_return_if_fail (MS_IS_MAIN_WINDOW (self));
  g_return_if_fail (server != NULL && session != NULL);

  key = session_key (server, session);
  if (visible)
    g_hash_table_remove (self->hidden, key);
  else
    g_hash_table_add (self->hidden, g_strdup (key));
  ms_diagram_model_set_session_visible (self->diagram, server, session, visible);
  row = g_hash_table_lookup (self->rows, key);
  if (row != NULL && gtk_toggle_button_get_active (row_show_toggle (row)) != visible)
    gtk_toggle_button_set_active (row_show_toggle (row), visible);
}

void
ms_main_window_set_step_mode (MsMainWindow *self,
                              gboolean step_mode)
{
  g_return_if_fail (MS_IS_MAIN_WINDOW (self));

  step_mode = !!step_mode;
  if (self->stepper == NULL || self->step_mode == step_mode)
    return;
  self->step_mode = step_mode;
  /* NULL: every session, also those that open later. Off releases what
   * waits, the sessions' own step modes included. */
  ms_stepper_set_step_mode (self->stepper, NULL, NULL, step_mode);
  if (!step_mode)
    forget_stepping (self);
  update_step_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STEP_MODE]);
}

gboolean
ms_main_window_get_step_mode (MsMainWindow *self)
{
  g_return_val_if_fail (MS_IS_MAIN_WINDOW (self), FALSE);
  return self->step_mode;
}

static void
stepper_refused_cb (MsStepper *stepper,
                    const char *text,
                    MsMainWindow *self)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (text));
}

void
ms_main_window_set_stepper (MsMainWindow *self,
                            MsStepper *stepper)
{
  GHashTableIter iter;
  gpointer row;

  g_return_if_fail (MS_IS_MAIN_WINDOW (self));
  g_return_if_fail (stepper == NULL || MS_IS_STEPPER (stepper));

  if (stepper == self->stepper)
    return;
  if (self->stepper != NULL)
    {
      ms_main_window_set_step_mode (self, FALSE);
      g_signal_handlers_disconnect_by_func (self->stepper, stepper_refused_cb, self);
      g_clear_object (&self->stepper);
    }
  if (stepper != NULL)
    {
      self->stepper = g_object_ref (stepper);
      g_signal_connect (stepper, "refused", G_CALLBACK (stepper_refused_cb), self);
    }
  forget_stepping (self);
  g_hash_table_iter_init (&iter, self->rows);
  while (g_hash_table_iter_next (&iter, NULL, &row))
    gtk_widget_set_sensitive (GTK_WIDGET (row_step_toggle (row)), stepper != NULL);
  update_step_actions (self);
}

void
ms_main_window_set_world (MsMainWindow *self,
                          MsWorld *world)
{
  g_autoptr(MsStepper) stepper = NULL;

  g_return_if_fail (MS_IS_MAIN_WINDOW (self));

  /* The world stepper holds the world borrowed: it must not outlive it. */
  if (self->stepper != NULL && MS_IS_WORLD_STEPPER (self->stepper))
    ms_world_stepper_forget_world (MS_WORLD_STEPPER (self->stepper));
  if (world != NULL)
    stepper = MS_STEPPER (ms_world_stepper_new (world));
  ms_main_window_set_stepper (self, stepper);
}

/* --- breakpoints --------------------------------------------------------- */

static void
update_breakpoint_label (MsMainWindow *self)
{
  g_autofree char *list = NULL;
  g_autofree char *text = NULL;

  g_ptr_array_add (self->breakpoints, NULL);
  list = g_strjoinv (", ", (char **) self->breakpoints->pdata);
  g_ptr_array_set_size (self->breakpoints, self->breakpoints->len - 1);
  text = self->breakpoints->len > 0 ? g_strdup_printf ("Break on: %s", list)
                                    : g_strdup ("No breakpoints");
  gtk_label_set_text (self->break_label, text);
  update_step_actions (self);
}

static void
break_entry_activate_cb (GtkEntry *entry,
                         MsMainWindow *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (entry))));
  /* A reply when it is spelled like one (550, 5xx, -ERR, NO, BAD: no verb
   * of the three protocols is), else a verb; anything else could never
   * match, so the entry says so instead of adding it. */
  g_autofree char *reply = ms_breakpoint_normalize (MS_BREAKPOINT_REPLY, text);
  g_autofree char *verb = reply == NULL ? ms_breakpoint_normalize (MS_BREAKPOINT_VERB, text)
                                        : NULL;
  g_autofree char *shown = NULL;

  if (self->stepper == NULL)
    return;
  if (reply == NULL && verb == NULL)
    {
      gtk_widget_add_css_class (GTK_WIDGET (entry), "error");
      return;
    }
  shown = reply != NULL ? g_strdup_printf ("reply %s", reply) : g_strdup (verb);
  gtk_widget_remove_css_class (GTK_WIDGET (entry), "error");
  gtk_editable_set_text (GTK_EDITABLE (entry), "");
  for (guint i = 0; i < self->breakpoints->len; i++)
    if (strcmp (self->breakpoints->pdata[i], shown) == 0)
      return;
  if (!ms_stepper_add_breakpoint (self->stepper,
                                  reply != NULL ? MS_BREAKPOINT_REPLY : MS_BREAKPOINT_VERB,
                                  reply != NULL ? reply : verb))
    {
      gtk_widget_add_css_class (GTK_WIDGET (entry), "error");
      return;
    }
  g_ptr_array_add (self->breakpoints, g_steal_pointer (&shown));
  update_breakpoint_label (self);
}

static void
clear_breakpoints_action (GtkWidget *widget,
                          const char *action_name,
                          GVariant *parameter)
{
  MsMainWindow *self = MS_MAIN_WINDOW (widget);

  if (self->stepper == NULL)
    return;
  ms_stepper_clear_breakpoints (self->stepper);
  g_ptr_array_set_size (self->breakpoints, 0);
  update_breakpoint_label (self);
}

/* --- presentation mode and zoom ------------------------------------------ */

static double
diagram_zoom (MsMainWindow *self)
{
  return self->zoom * (self->presentation ? PRESENTATION_ZOOM : 1.0);
}

/* The window's text follows the zoom through CSS, so every pane keeps its
 * layout; the diagram scales itself (its "zoom"), so its own font is set
 * back to the normal size first, or it would grow twice. */
static void
apply_scale (MsMainWindow *self)
{
  double font = (self->presentation ? PRESENTATION_FONT_PERCENT : FONT_PERCENT) * self->zoom;
  g_autofree char *css = NULL;
  char font_text[G_ASCII_DTOSTR_BUF_SIZE];
  char diagram_text[G_ASCII_DTOSTR_BUF_SIZE];

  g_ascii_formatd (font_text, sizeof font_text, "%.1f", font);
  g_ascii_formatd (diagram_text, sizeof diagram_text, "%.1f", 100.0 * FONT_PERCENT / font);
  css = g_strdup_printf ("#%s { font-size: %s%%; }\n#%s .ms-diagram { font-size: %s%%; }\n",
                         gtk_widget_get_name (GTK_WIDGET (self)), font_text,
                         gtk_widget_get_name (GTK_WIDGET (self)), diagram_text);
  gtk_css_provider_load_from_data (self->scale_css, css, -1);
  ms_sequence_view_set_zoom (MS_SEQUENCE_VIEW (self->sequence_view), diagram_zoom (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-in", self->zoom < ZOOM_MAX);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.zoom-out", self->zoom > ZOOM_MIN);
}

static void
zoom_action (GtkWidget *widget,
             const char *action_name,
             GVariant *parameter)
{
  MsMainWindow *self = MS_MAIN_WINDOW (widget);

  if (g_str_equal (action_name, "win.zoom-in"))
    self->zoom = MIN (self->zoom * ZOOM_STEP, ZOOM_MAX);
  else if (g_str_equal (action_name, "win.zoom-out"))
    self->zoom = MAX (self->zoom / ZOOM_STEP, ZOOM_MIN);
  else
    self->zoom = 1.0;
  apply_scale (self);
}

void
ms_main_window_set_presentation (MsMainWindow *self,
                                 gboolean presentation)
{
  g_return_if_fail (MS_IS_MAIN_WINDOW (self));

  presentation = !!presentation;
  if (self->presentation == presentation)
    return;
  self->presentation = presentation;
  if (presentation)
    {
      int width = gtk_widget_get_width (GTK_WIDGET (self->diagram_paned));

      /* Not laid out yet (--presentation at start): the default size. */
      if (width <= 0)
        {
          int height;

          gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
          width -= PRESENTATION_SIDEBAR_WIDTH;
        }
      gtk_widget_add_css_class (GTK_WIDGET (self), "ms-presentation");
      /* At 180% the lines need the room: the diagram takes it from the
       * sidebar and the inspector, which wrap. */
      self->saved_positions[0] = gtk_paned_get_position (self->side_paned);
      self->saved_positions[1] = gtk_paned_get_position (self->diagram_paned);
      gtk_paned_set_position (self->side_paned, PRESENTATION_SIDEBAR_WIDTH);
      if (width > 2 * PRESENTATION_INSPECTOR_WIDTH)
        gtk_paned_set_position (self->diagram_paned, width - PRESENTATION_INSPECTOR_WIDTH);
    }
  else
    {
      gtk_widget_remove_css_class (GTK_WIDGET (self), "ms-presentation");
      gtk_paned_set_position (self->side_paned, self->saved_positions[0]);
      gtk_paned_set_position (self->diagram_paned, self->saved_positions[1]);
    }
  apply_scale (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRESENTATION]);
}

gboolean
ms_main_window_get_presentation (MsMainWindow *self)
{
  g_return_val_if_fail (MS_IS_MAIN_WINDOW (self), FALSE);
  return self->presentation;
}

static void
show_shortcuts_action (GtkWidget *widget,
                       const char *action_name,
                       GVariant *parameter)
{
  g_autoptr(GtkBuilder) builder =
    gtk_builder_new_from_resource ("/org/mailscope/Mailscope/ms-shortcuts.ui");
  GtkWindow *shortcuts = GTK_WINDOW (gtk_builder_get_object (builder, "shortcuts"));

  gtk_window_set_transient_for (shortcuts, GTK_WINDOW (widget));
  gtk_window_present (shortcuts);
}

/* --- the timeline (issue 5) --------------------------------------------- */

/* "event k of n — 00:31:28.957199": event k is the last one shown (1-based),
 * at its trace time in UTC, as docs/trace-format.md records it. */
static void
update_timeline_label (MsMainWindow *self)
{
  g_autofree char *text = NULL;
  g_autofree char *when = NULL;

  if (self->position > 0)
    {
      MsEvent *event = ms_trace_model_get_event (self->trace, self->position - 1);
      g_autoptr(GDateTime) second = NULL;
      g_autoptr(GDateTime) time = NULL;

      second = g_date_time_new_from_unix_utc (event->time_us / G_USEC_PER_SEC);
      if (second != NULL)
        time = g_date_time_add (second, event->time_us % G_USEC_PER_SEC);
      if (time != NULL)
        when = g_date_time_format (time, "%H:%M:%S.%f");
    }
  text = g_strdup_printf ("event %u of %u%s%s%s", self->position, self->n_applied,
                          when != NULL ? " — " : "", when != NULL ? when : "",
                          self->following ? "" : " (past)");
  gtk_label_set_text (self->timeline_label, text);
}

static void
update_timeline (MsMainWindow *self)
{
  GtkAdjustment *adjustment = gtk_range_get_adjustment (GTK_RANGE (self->timeline_scale));

  /* The window moves the scale itself here: value-changed must not take
   * it for the user going back in time. */
  self->moving_timeline = TRUE;
  gtk_adjustment_set_upper (adjustment, self->n_applied);
  gtk_adjustment_set_value (adjustment, self->position);
  self->moving_timeline = FALSE;
  update_timeline_label (self);
}

/* The sessions hidden from the diagram stay hidden when it is rebuilt. */
static void
apply_hidden (MsMainWindow *self)
{
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, self->hidden);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autofree char *server = NULL;
      const char *session;

      server = split_key (key, &session);
      ms_diagram_model_set_session_visible (self->diagram, server, session, FALSE);
    }
}

guint
ms_main_window_get_timeline_position (MsMainWindow *self)
{
  g_return_val_if_fail (MS_IS_MAIN_WINDOW (self), 0);
  return self->position;
}

void
ms_main_window_set_timeline_position (MsMainWindow *self,
                                      guint position)
{
  g_return_if_fail (MS_IS_MAIN_WINDOW (self));

  position = MIN (position, self->n_applied);
  self->following = position == self->n_applied;
  if (position != self->position)
    {
      /* Neither model can undo an event: both are rebuilt from the start,
       * the diagram in one batch (one items-changed; about 0.1 s for
       * 100,000 events). */
      guint diagram_position = position;

      ms_mailbox_model_rebuild (self->mailboxes, self->trace, position);
      if (diagram_position != self->diagram_position)
        {
          ms_diagram_model_begin_batch (self->diagram);
          ms_diagram_model_reset (self->diagram);
          for (guint i = 0; i < diagram_position; i++)
            ms_diagram_model_apply (self->diagram, ms_trace_model_get_event (self->trace, i));
          self->diagram_position = diagram_position;
          apply_hidden (self);
          ms_diagram_model_end_batch (self->diagram);
        }
      self->position = position;
      show_selected (self);
    }
  if (self->following)
    ms_sequence_view_set_follow (MS_SEQUENCE_VIEW (self->sequence_view), TRUE);
  update_timeline (self);
}

static void
timeline_value_changed_cb (GtkRange *range,
                           MsMainWindow *self)
{
  double value = gtk_range_get_value (range);

  if (self->moving_timeline)
    return;
  ms_main_window_set_timeline_position (self, value > 0 ? (guint) (value + 0.5) : 0);
}

/* --- saving and opening traces ------------------------------------------- */

gboolean
ms_main_window_save_trace (MsMainWindow *self,
                           const char *path,
                           GError **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint n;

  g_return_val_if_fail (MS_IS_MAIN_WINDOW (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  /* Every event, also those of a live trace not announced yet. */
  ms_trace_model_flush (self->trace);
  n = ms_trace_model_get_n_events (self->trace);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *line = ms_event_to_json (ms_trace_model_get_event (self->trace, i));

      g_string_append (out, line);
      g_string_append_c (out, '\n');
    }
  /* Written to a temporary file and renamed: a failed save leaves an older
   * trace as it was. */
  return g_file_set_contents (path, out->str, (gssize) out->len, error);
}

/* --- exports ------------------------------------------------------------- */

/* Who sent a `data` event (docs/trace-format.md): SMTP's message is the
 * client's, POP3's RETR/TOP the server's, and an IMAP literal goes the way
 * of the line that announced it. */
static const char *
data_sender (const MsEvent *event,
             const char *last_sender)
{
  const char *proto = ms_event_get_string (event, "proto");

  if (g_strcmp0 (proto, "pop3") == 0)
    return "S";
  if (proto != NULL && g_str_has_prefix (proto, "smtp"))
    return "C";
  return last_sender != NULL ? last_sender : "C";
}

static void
append_data_lines (GString *out,
                   const char *sender,
                   const MsEvent *event)
{
  const char *text = ms_event_get_string (event, "text");
  g_auto(GStrv) lines = NULL;

  g_string_append_printf (out, "%s: <%" G_GINT64_FORMAT " bytes of data%s>\n", sender,
                          ms_event_get_int (event, "bytes", 0),
                          ms_event_get_bool (event, "truncated", FALSE) ? ", cut" : "");
  if (text == NULL || ms_event_get_bool (event, "secret", FALSE))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      gsize len = strlen (lines[i]);

      /* The last split piece after a final line end is no line. */
      if (lines[i + 1] == NULL && len == 0)
        break;
      if (len > 0 && lines[i][len - 1] == '\r')
        lines[i][len - 1] = '\0';
      g_string_append_printf (out, "    %s\n", lines[i]);
    }
}

typedef struct {
  GString *text;
  const char *last_sender;   /* static string */
} Transcript;

static void
transcript_free (Transcript *transcript)
{
  g_string_free (transcript->text, TRUE);
  g_free (transcript);
}

gboolean
ms_main_window_export_transcript (MsMainWindow *self,
                                  const char *server,
                                  const char *session,
                                  const char *path,
                                  GError **error)
{
  g_autoptr(GHashTable) transcripts = NULL;
  g_autoptr(GPtrArray) order = g_ptr_array_new ();
  g_autoptr(GString) out = g_string_new (NULL);

  g_return_val_if_fail (MS_IS_MAIN_WINDOW (self), FALSE);
  g_return_val_if_fail ((server == NULL) == (session == NULL), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  /* One pass over the trace: each session's lines, sessions in the order
   * they first spoke. */
  transcripts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) transcript_free);
  for (guint i = 0; i < self->n_applied; i++)
    {
      MsEvent *event = ms_trace_model_get_event (self->trace, i);
      const char *id = ms_event_get_string (event, "session");
      const char *text = ms_event_get_string (event, "text");
      g_autofree char *key = NULL;
      Transcript *transcript;

      if (event->kind != MS_EVENT_COMMAND && event->kind != MS_EVENT_REPLY
          && event->kind != MS_EVENT_DATA)
        continue;
      if (session != NULL
          && (g_strcmp0 (event->server, server) != 0 || g_strcmp0 (id, session) != 0))
        continue;
      key = session_key (event->server, id);
      transcript = g_hash_table_lookup (transcripts, key);
      if (transcript == NULL)
        {
          const char *proto = ms_event_get_string (event, "proto");
          gboolean client = g_strcmp0 (ms_event_get_string (event, "direction"), "client") == 0;

          transcript = g_new0 (Transcript, 1);
          transcript->text = g_string_new (NULL);
          g_string_append_printf (transcript->text, "# server %s, session %s (%s%s)\n",
                                  event->server ?: "?", id ?: "?", proto ?: "?",
                                  client ? ", as its client saw it" : "");
          g_ptr_array_add (order, transcript);
          g_hash_table_insert (transcripts, g_steal_pointer (&key), transcript);
        }
      if (event->kind == MS_EVENT_DATA)
        append_data_lines (transcript->text, data_sender (event, transcript->last_sender), event);
      else
        {
          transcript->last_sender = event->kind == MS_EVENT_COMMAND ? "C" : "S";
          g_string_append_printf (transcript->text, "%s: %s\n", transcript->last_sender,
                                  text ?: "");
        }
    }

  g_string_append (out, "# Mailscope transcript: C: client to server, S: server to client\n");
  for (guint i = 0; i < order->len; i++)
    {
      Transcript *transcript = order->pdata[i];

      g_string_append_c (out, '\n');
      g_string_append_len (out, transcript->text->str, (gssize) transcript->text->len);
    }
  return g_file_set_contents (path, out->str, (gssize) out->len, error);
}

gboolean
ms_widget_save_png (GtkWidget *widget,
                    const char *path,
                    GError **error)
{
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  g_autoptr(GdkPaintable) paintable = NULL;
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  GtkNative *native = gtk_widget_get_native (widget);
  GskRenderer *renderer = native != NULL ? gtk_native_get_renderer (native) : NULL;

  g_return_val_if_fail (GTK_IS_WIDGET (widget), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  /* The widget as it is on screen, drawn again by its window's renderer. */
  paintable = gtk_widget_paintable_new (widget);
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_to_node (snapshot);
  if (node == NULL || renderer == NULL || width <= 0 || height <= 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                   "Nothing to render for %s: the view is not on screen", path);
      return FALSE;
    }
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  if (!gdk_texture_save_to_png (texture, path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "Could not write %s", path);
      return FALSE;
    }
  return TRUE;
}

gboolean
ms_main_window_export_png (MsMainWindow *self,
                           const char *path,
                           GError **error)
{
  g_return_val_if_fail (MS_IS_MAIN_WINDOW (self), FALSE);
  return ms_widget_save_png (self->sequence_view, path, error);
}

/* The session chosen in the sidebar (borrowed), or NULL. */
static MsSessionItem *
selected_session (MsMainWindow *self)
{
  GtkSelectionModel *model = gtk_list_view_get_model (self->sessions_view);

  return gtk_single_selection_get_selected_item (GTK_SINGLE_SELECTION (model));
}

/* --- the file actions ---------------------------------------------------- */

static const struct {
  const char *action;
  const char *title;
  const char *accept;
  const char *name;          /* the suggested file name when saving */
  const char *pattern;
  const char *filter;
} file_actions[] = {
  { "win.open-trace", "Open trace", "_Open", NULL, "*.jsonl", "Traces (JSON Lines)" },
  { "win.save-trace", "Save trace", "_Save", "trace.jsonl", "*.jsonl", "Traces (JSON Lines)" },
  { "win.export-transcript", "Export transcript", "_Export", "transcript.txt", "*.txt",
    "Text" },
  { "win.export-png", "Export diagram as PNG", "_Export", "diagram.png", "*.png",
    "PNG images" },
};

static gboolean
run_file_action (MsMainWindow *self,
                 guint which,
                 const char *path,
                 GError **error)
{
  MsSessionItem *item;
  MsMainWindow *replay;

  switch (which)
    {
    case 0:
      /* A replay in a window of its own, as `mailscope --trace-file`. */
      replay = ms_main_window_new_for_trace (gtk_window_get_application (GTK_WINDOW (self)),
                                             path, error);
      if (replay == NULL)
        return FALSE;
      gtk_window_present (GTK_WINDOW (replay));
      return TRUE;
    case 1:
      return ms_main_window_save_trace (self, path, error);
    case 2:
      item = selected_session (self);
      return ms_main_window_export_transcript (
        self, item != NULL ? ms_session_item_get_server (item) : NULL,
        item != NULL ? ms_session_item_get_session (item) : NULL, path, error);
    default:
      return ms_main_window_export_png (self, path, error);
    }
}

static void
file_response_cb (GtkNativeDialog *chooser,
                  int response,
                  MsMainWindow *self)
{
  guint which = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (chooser), "ms-file-action"));
  g_autoptr(GFile) file = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GError) error = NULL;

  if (response == GTK_RESPONSE_ACCEPT)
    file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
  if (file != NULL)
    path = g_file_get_path (file);
  if (path != NULL && !run_file_action (self, which, path, &error))
    {
      GtkWidget *dialog = adw_message_dialog_new (GTK_WINDOW (self), file_actions[which].title,
                                                  error->message);

      adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", "_Close");
      gtk_window_present (GTK_WINDOW (dialog));
    }
  g_object_unref (chooser);
}

static void
file_action (GtkWidget *widget,
             const char *action_name,
             GVariant *parameter)
{
  MsMainWindow *self = MS_MAIN_WINDOW (widget);
  GtkFileChooserNative *chooser;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();
  guint which = 0;

  while (which + 1 < G_N_ELEMENTS (file_actions)
         && strcmp (file_actions[which].action, action_name) != 0)
    which++;
  chooser = gtk_file_chooser_native_new (file_actions[which].title, GTK_WINDOW (self),
                                         file_actions[which].name != NULL
                                           ? GTK_FILE_CHOOSER_ACTION_SAVE
                                           : GTK_FILE_CHOOSER_ACTION_OPEN,
                                         file_actions[which].accept, "_Cancel");
  gtk_file_filter_set_name (filter, file_actions[which].filter);
  gtk_file_filter_add_pattern (filter, file_actions[which].pattern);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  if (file_actions[which].name != NULL)
    gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), file_actions[which].name);
  g_object_set_data (G_OBJECT (chooser), "ms-file-action", GUINT_TO_POINTER (which));
  g_signal_connect (chooser, "response", G_CALLBACK (file_response_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* --- feeding the models -------------------------------------------------- */


/* A message delivered, flagged, copied or removed: the mailbox view goes
 * to that folder while nobody has chosen one. */
static gboolean
is_message_change (const MsEvent *event)
{
  const char *op;

  if (event->kind != MS_EVENT_STORE)
    return FALSE;
  op = ms_event_get_string (event, "op");
  return op != NULL && !g_str_has_suffix (op, "-folder");
}

static void
show_mailbox_change (MsMainWindow *self,
                     const MsEvent *event)
{
  const char *folder;

  folder = ms_event_get_string (event, "to-folder");
  if (folder == NULL)
    folder = ms_event_get_string (event, "folder");
  ms_mailbox_view_show_change (self->mailbox_view, event->server,
                               ms_event_get_string (event, "user"), folder);
}

static void
trace_items_changed_cb (GListModel *trace,
                        guint position,
                        guint removed,
                        guint added,
                        MsMainWindow *self)
{
  guint n = g_list_model_get_n_items (trace);
  const MsEvent *last_change = NULL;

  /* One items-changed of the diagram for the whole batch: the view redraws
   * once, not once per event. */
  ms_diagram_model_begin_batch (self->diagram);
  if (removed > 0)
    {
      ms_session_model_reset (self->sessions);
      ms_mailbox_model_reset (self->mailboxes);
      ms_diagram_model_reset (self->diagram);
      clear_pending (self);
      self->n_applied = 0;
      self->position = 0;
      self->diagram_position = 0;
    }
  for (; self->n_applied < n; self->n_applied++)
    {
      MsEvent *event = ms_trace_model_get_event (self->trace, self->n_applied);

      ms_session_model_apply (self->sessions, event);
      apply_step_event (self, event);
      /* Back in time, the mailboxes and the diagram stay where the timeline
       * is; they catch up when it is moved to the end. */
      if (self->diagram_position == self->n_applied)
        {
          ms_diagram_model_apply (self->diagram, event);
          self->diagram_position++;
        }
      if (!self->following)
        continue;
      ms_mailbox_model_apply (self->mailboxes, event);
      if (is_message_change (event))
        last_change = event;
    }
  ms_diagram_model_end_batch (self->diagram);
  /* The view goes to the folder of the batch's last change: going to each
   * in turn would show nothing but cost a folder switch per event. */
  if (last_change != NULL)
    show_mailbox_change (self, last_change);
  if (self->following)
    self->position = self->n_applied;
  update_timeline (self);
}

void
ms_main_window_flush (MsMainWindow *self)
{
  g_return_if_fail (MS_IS_MAIN_WINDOW (self));
  ms_trace_model_flush (self->trace);
}

/* A row's "#N" in the mailbox view: the event that changed it, selected in
 * the diagram and the inspector. */
static void
mailbox_event_activated_cb (MsMainWindow *self,
                            guint64 seq,
                            const char *server)
{
  /* The diagram scrolls to it; the selection is bound both ways. */
  ms_sequence_view_select_event (MS_SEQUENCE_VIEW (self->sequence_view), server, seq);
}

/* --- the window ---------------------------------------------------------- */

static void
load_css (GtkWidget *widget)
{
  GdkDisplay *display = gtk_widget_get_display (widget);
  g_autoptr(GtkCssProvider) provider = NULL;

  if (g_object_get_data (G_OBJECT (display), "ms-css-loaded") != NULL)
    return;
  provider = gtk_css_provider_new ();
  gtk_css_provider_load_from_resource (provider, "/org/mailscope/Mailscope/mailscope.css");
  gtk_style_context_add_provider_for_display (display, GTK_STYLE_PROVIDER (provider),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
  g_object_set_data (G_OBJECT (display), "ms-css-loaded", GINT_TO_POINTER (TRUE));
}

static void
ms_main_window_get_property (GObject *object,
                             guint prop_id,
                             GValue *value,
                             GParamSpec *pspec)
{
  MsMainWindow *self = MS_MAIN_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SELECTED_SEQ:
      g_value_set_uint64 (value, self->selected_seq);
      break;
    case PROP_STEP_MODE:
      g_value_set_boolean (value, self->step_mode);
      break;
    case PROP_PRESENTATION:
      g_value_set_boolean (value, self->presentation);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_main_window_set_property (GObject *object,
                             guint prop_id,
                             const GValue *value,
                             GParamSpec *pspec)
{
  MsMainWindow *self = MS_MAIN_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SELECTED_SEQ:
      ms_main_window_set_selected_seq (self, g_value_get_uint64 (value));
      break;
    case PROP_STEP_MODE:
      ms_main_window_set_step_mode (self, g_value_get_boolean (value));
      break;
    case PROP_PRESENTATION:
      ms_main_window_set_presentation (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_main_window_dispose (GObject *object)
{
  MsMainWindow *self = MS_MAIN_WINDOW (object);

  if (self->trace != NULL)
    g_signal_handlers_disconnect_by_func (self->trace, trace_items_changed_cb, self);
  if (self->scale_css != NULL)
    gtk_style_context_remove_provider_for_display (gtk_widget_get_display (GTK_WIDGET (self)),
                                                   GTK_STYLE_PROVIDER (self->scale_css));
  g_clear_object (&self->scale_css);
  if (self->stepper != NULL)
    g_signal_handlers_disconnect_by_func (self->stepper, stepper_refused_cb, self);
  g_clear_object (&self->stepper);
  if (self->agents_window != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->agents_window, self);
      gtk_window_destroy (g_steal_pointer (&self->agents_window));
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), MS_TYPE_MAIN_WINDOW);
  G_OBJECT_CLASS (ms_main_window_parent_class)->dispose (object);
}

static void
ms_main_window_finalize (GObject *object)
{
  MsMainWindow *self = MS_MAIN_WINDOW (object);

  g_clear_object (&self->trace);
  g_clear_object (&self->sessions);
  g_clear_object (&self->mailboxes);
  g_clear_object (&self->diagram);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  g_clear_pointer (&self->pending_order, g_ptr_array_unref);
  g_clear_pointer (&self->rows, g_hash_table_unref);
  g_clear_pointer (&self->breakpoints, g_ptr_array_unref);
  g_clear_pointer (&self->stepping, g_hash_table_unref);
  g_clear_pointer (&self->hidden, g_hash_table_unref);
  G_OBJECT_CLASS (ms_main_window_parent_class)->finalize (object);
}

static const struct {
  guint key;
  GdkModifierType mods;
  const char *action;
} accels[] = {
  { GDK_KEY_F9, 0, "win.step-mode" },
  { GDK_KEY_F10, 0, "win.step" },
  { GDK_KEY_F5, 0, "win.continue" },
  { GDK_KEY_F11, 0, "win.presentation" },
  { GDK_KEY_F8, 0, "win.toggle-agents" },
  { GDK_KEY_P, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.presentation" },
  { GDK_KEY_plus, GDK_CONTROL_MASK, "win.zoom-in" },
  { GDK_KEY_equal, GDK_CONTROL_MASK, "win.zoom-in" },
  { GDK_KEY_KP_Add, GDK_CONTROL_MASK, "win.zoom-in" },
  { GDK_KEY_minus, GDK_CONTROL_MASK, "win.zoom-out" },
  { GDK_KEY_KP_Subtract, GDK_CONTROL_MASK, "win.zoom-out" },
  { GDK_KEY_0, GDK_CONTROL_MASK, "win.zoom-reset" },
  { GDK_KEY_KP_0, GDK_CONTROL_MASK, "win.zoom-reset" },
  { GDK_KEY_question, GDK_CONTROL_MASK, "win.show-shortcuts" },
  { GDK_KEY_s, GDK_CONTROL_MASK, "win.save-trace" },
  { GDK_KEY_o, GDK_CONTROL_MASK, "win.open-trace" },
  { GDK_KEY_T, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.export-transcript" },
  { GDK_KEY_E, GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.export-png" },
};

static void
ms_main_window_class_init (MsMainWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = ms_main_window_get_property;
  object_class->set_property = ms_main_window_set_property;
  object_class->dispose = ms_main_window_dispose;
  object_class->finalize = ms_main_window_finalize;

  properties[PROP_SELECTED_SEQ] =
    g_param_spec_uint64 ("selected-seq", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STEP_MODE] =
    g_param_spec_boolean ("step-mode", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PRESENTATION] =
    g_param_spec_boolean ("presentation", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* Issue 5: step, continue, pause (step mode) and zoom from the keyboard,
   * listed in the shortcuts window (ms-shortcuts.ui: keep the two alike). */
  gtk_widget_class_install_property_action (widget_class, "win.step-mode", "step-mode");
  gtk_widget_class_install_action (widget_class, "win.step", NULL, step_action);
  gtk_widget_class_install_action (widget_class, "win.continue", NULL, continue_action);
  gtk_widget_class_install_action (widget_class, "win.clear-breakpoints", NULL,
                                   clear_breakpoints_action);
  gtk_widget_class_install_property_action (widget_class, "win.presentation", "presentation");
  gtk_widget_class_install_action (widget_class, "win.zoom-in", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-out", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.zoom-reset", NULL, zoom_action);
  gtk_widget_class_install_action (widget_class, "win.toggle-agents", NULL,
                                   toggle_agents_action);
  gtk_widget_class_install_action (widget_class, "win.show-shortcuts", NULL,
                                   show_shortcuts_action);
  for (gsize i = 0; i < G_N_ELEMENTS (file_actions); i++)
    gtk_widget_class_install_action (widget_class, file_actions[i].action, NULL, file_action);
  for (gsize i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_widget_class_add_binding_action (widget_class, accels[i].key, accels[i].mods,
                                         accels[i].action, NULL);

  /* The resources live in a static library: naming them here links them in,
   * and their constructor registers them. */
  (void) ms_gui_get_resource ();
  g_type_ensure (MS_TYPE_INSPECTOR);
  g_type_ensure (MS_TYPE_STATE_VIEW);
  g_type_ensure (MS_TYPE_MAILBOX_VIEW);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailscope/Mailscope/ms-main-window.ui");
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, sessions_view);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, diagram_scroller);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, inspector);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, state_view);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, mailbox_view);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, side_paned);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, diagram_paned);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, step_mode_button);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, step_button);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, continue_button);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, break_button);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, break_entry);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, break_label);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, timeline_scale);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, timeline_label);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, MsMainWindow, agents_button);
}

static void
ms_main_window_init (MsMainWindow *self)
{
  static guint n_windows;
  GtkListItemFactory *factory;
  GtkSingleSelection *selection;
  g_autofree char *name = g_strdup_printf ("ms-main-%u", ++n_windows);

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_add_css_class (GTK_WIDGET (self), "ms-main");
  load_css (GTK_WIDGET (self));
  /* The zoom's CSS names this window alone. */
  gtk_widget_set_name (GTK_WIDGET (self), name);
  self->scale_css = gtk_css_provider_new ();
  gtk_style_context_add_provider_for_display (gtk_widget_get_display (GTK_WIDGET (self)),
                                              GTK_STYLE_PROVIDER (self->scale_css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION + 1);
  self->zoom = 1.0;
  /* The first update_step_actions() sets the tooltips (no stepper yet). */
  self->tooltips_live = TRUE;
  self->pending = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->pending_order = g_ptr_array_new_with_free_func (g_free);
  self->rows = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->breakpoints = g_ptr_array_new_with_free_func (g_free);
  self->stepping = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->hidden = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_signal_connect (self->break_entry, "activate", G_CALLBACK (break_entry_activate_cb), self);
  self->following = TRUE;
  gtk_range_set_round_digits (GTK_RANGE (self->timeline_scale), 0);
  g_signal_connect (self->timeline_scale, "value-changed",
                    G_CALLBACK (timeline_value_changed_cb), self);

  self->trace = ms_trace_model_new ();
  self->sessions = ms_session_model_new ();
  self->mailboxes = ms_mailbox_model_new ();
  self->diagram = ms_diagram_model_new ();
  g_signal_connect (self->trace, "items-changed", G_CALLBACK (trace_items_changed_cb), self);

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (session_setup_cb), self);
  g_signal_connect (factory, "bind", G_CALLBACK (session_bind_cb), self);
  g_signal_connect (factory, "unbind", G_CALLBACK (session_unbind_cb), self);
  /* A selected session is the one Step releases. */
  selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->sessions)));
  gtk_single_selection_set_autoselect (selection, FALSE);
  gtk_single_selection_set_can_unselect (selection, TRUE);
  gtk_single_selection_set_selected (selection, GTK_INVALID_LIST_POSITION);
  gtk_list_view_set_model (self->sessions_view, GTK_SELECTION_MODEL (selection));
  gtk_list_view_set_factory (self->sessions_view, factory);
  g_object_unref (selection);
  g_object_unref (factory);

  ms_mailbox_view_set_model (self->mailbox_view, self->mailboxes);
  g_signal_connect_swapped (self->mailbox_view, "event-activated",
                            G_CALLBACK (mailbox_event_activated_cb), self);
  add_diagram (self);
  apply_scale (self);
  update_breakpoint_label (self);
}

/* The user agents live in a window of their own, beside the main one: the
 * diagram keeps the projector's width. Closing it only hides it. */
void
ms_main_window_set_agents (MsMainWindow *self,
                           GtkWidget *panel)
{
  GtkWidget *toolbar;

  g_return_if_fail (MS_IS_MAIN_WINDOW (self));
  g_return_if_fail (panel == NULL || GTK_IS_WIDGET (panel));

  gtk_toggle_button_set_active (self->agents_button, FALSE);
  if (self->agents_window != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->agents_window, self);
      gtk_window_destroy (self->agents_window);
      self->agents_window = NULL;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->agents_button), panel != NULL);
  if (panel == NULL)
    return;
  toolbar = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  gtk_box_append (GTK_BOX (toolbar), adw_header_bar_new ());
  gtk_widget_set_vexpand (panel, TRUE);
  gtk_box_append (GTK_BOX (toolbar), panel);
  self->agents_window = GTK_WINDOW (adw_window_new ());
  gtk_window_set_title (self->agents_window, "User agents — Mailscope");
  gtk_window_set_transient_for (self->agents_window, GTK_WINDOW (self));
  gtk_window_set_destroy_with_parent (self->agents_window, TRUE);
  gtk_window_set_hide_on_close (self->agents_window, TRUE);
  gtk_window_set_default_size (self->agents_window, 820, 760);
  adw_window_set_content (ADW_WINDOW (self->agents_window), toolbar);
  g_object_bind_property (self->agents_window, "visible", self->agents_button, "active",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
}

GtkWidget *
ms_main_window_get_agents_window (MsMainWindow *self)
{
  g_return_val_if_fail (MS_IS_MAIN_WINDOW (self), NULL);
  return GTK_WIDGET (self->agents_window);
}

void
ms_main_window_set_agents_visible (MsMainWindow *self,
                                   gboolean visible)
{
  g_return_if_fail (MS_IS_MAIN_WINDOW (self));
  if (self->agents_window != NULL)
    gtk_widget_set_visible (GTK_WIDGET (self->agents_window), visible);
}

static void
toggle_agents_action (GtkWidget *widget,
                      const char *action_name,
                      GVariant *parameter)
{
  MsMainWindow *self = MS_MAIN_WINDOW (widget);

  ms_main_window_set_agents_visible (self, self->agents_window != NULL
                                            && !gtk_widget_get_visible (
                                                 GTK_WIDGET (self->agents_window)));
}

MsMainWindow *
ms_main_window_new_for_bus (GtkApplication *app,
                            MsTraceBus *bus,
                            const char *subtitle)
{
  MsMainWindow *self = g_object_new (MS_TYPE_MAIN_WINDOW, "application", app, NULL);

  adw_window_title_set_subtitle (self->window_title, subtitle);
  ms_trace_model_attach_bus (self->trace, bus);
  return self;
}

MsMainWindow *
ms_main_window_new_for_trace (GtkApplication *app,
                              const char *path,
                              GError **error)
{
  MsMainWindow *self;
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *subtitle = g_strdup_printf ("trace: %s (replay, read only)", base);

  /* Like gtk_window_new(): GTK holds the window until it is destroyed. */
  self = g_object_new (MS_TYPE_MAIN_WINDOW, "application", app, NULL);
  if (!ms_trace_model_load_file (self->trace, path, error))
    {
      gtk_window_destroy (GTK_WINDOW (self));
      return NULL;
    }
  ms_trace_model_flush (self->trace);
  adw_window_title_set_subtitle (self->window_title, subtitle);
  return self;
}
