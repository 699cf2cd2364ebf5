/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-main-window"

#include "config.h"

#include "ms-gui-resources.h"
#include "ms-main-window-private.h"
#ifdef MS_HAVE_SEQUENCE_VIEW
#include "ms-sequence-view.h"
#endif

G_DEFINE_FINAL_TYPE (MsMainWindow, ms_main_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_SELECTED_SEQ,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* --- sessions list ------------------------------------------------------- */

static void
update_session_row (GtkWidget *row,
                    MsSessionItem *item)
{
  GtkWidget *title = gtk_widget_get_first_child (row);
  GtkWidget *detail = gtk_widget_get_next_sibling (title);
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
  detail_text = g_strdup_printf ("%s%s · %s · %s%s", proto_up,
                                 ms_session_item_get_tls (item) ? " (TLS)" : "",
                                 ms_session_item_get_user (item) ?: "no user",
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
}

static void
session_setup_cb (GtkSignalListItemFactory *factory,
                  GtkListItem *list_item,
                  gpointer user_data)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title = gtk_label_new (NULL);
  GtkWidget *detail = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_xalign (GTK_LABEL (detail), 0);
  gtk_label_set_ellipsize (GTK_LABEL (title), PANGO_ELLIPSIZE_END);
  gtk_label_set_ellipsize (GTK_LABEL (detail), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (title, "ms-session-title");
  gtk_widget_add_css_class (detail, "ms-session-detail");
  gtk_box_append (GTK_BOX (row), title);
  gtk_box_append (GTK_BOX (row), detail);
  gtk_widget_add_css_class (row, "ms-session-row");
  gtk_list_item_set_child (list_item, row);
}

static void
session_bind_cb (GtkSignalListItemFactory *factory,
                 GtkListItem *list_item,
                 gpointer user_data)
{
  MsSessionItem *item = gtk_list_item_get_item (list_item);
  GtkWidget *row = gtk_list_item_get_child (list_item);

  update_session_row (row, item);
  /* A session's state, user and open/closed change as its events arrive. */
  g_signal_connect_object (item, "notify", G_CALLBACK (session_notify_cb), row, 0);
}

static void
session_unbind_cb (GtkSignalListItemFactory *factory,
                   GtkListItem *list_item,
                   gpointer user_data)
{
  MsSessionItem *item = gtk_list_item_get_item (list_item);

  if (item != NULL)
    g_signal_handlers_disconnect_by_func (item, session_notify_cb,
                                          gtk_list_item_get_child (list_item));
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

  if (self->selected_seq != 0)
    arrow = find_arrow (self, self->selected_seq);
  if (arrow != NULL)
    event = find_event (self, ms_arrow_item_get_server (arrow), self->selected_seq);
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

#ifndef MS_HAVE_SEQUENCE_VIEW
/* Until the sequence diagram widget exists: the arrows as a list. */
static void
arrow_setup_cb (GtkSignalListItemFactory *factory,
                GtkListItem *list_item,
                gpointer user_data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_list_item_set_child (list_item, label);
}

static void
arrow_bind_cb (GtkSignalListItemFactory *factory,
               GtkListItem *list_item,
               MsMainWindow *self)
{
  MsArrowItem *arrow = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);
  g_autofree char *text = NULL;

  text = g_strdup_printf ("%s → %s   %s", lane_name (self, ms_arrow_item_get_from_lane (arrow)),
                          lane_name (self, ms_arrow_item_get_to_lane (arrow)),
                          ms_arrow_item_get_text (arrow) ?: "");
  gtk_label_set_text (GTK_LABEL (label), text);
  gtk_widget_set_css_classes (label, (const char *[]) {
                                "ms-arrow",
                                ms_arrow_class_to_string (ms_arrow_item_get_class (arrow)),
                                NULL });
}

static void
arrow_selected_cb (GtkSingleSelection *selection,
                   GParamSpec *pspec,
                   MsMainWindow *self)
{
  MsArrowItem *arrow = gtk_single_selection_get_selected_item (selection);

  ms_main_window_set_selected_seq (self, arrow != NULL ? ms_arrow_item_get_seq (arrow) : 0);
}
#endif

static void
add_diagram (MsMainWindow *self)
{
#ifdef MS_HAVE_SEQUENCE_VIEW
  self->sequence_view = ms_sequence_view_new ();
  ms_sequence_view_set_model (MS_SEQUENCE_VIEW (self->sequence_view), self->diagram);
  g_object_bind_property (self->sequence_view, "selected-seq", self, "selected-seq",
                          G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE);
#else
  GtkListItemFactory *factory = gtk_signal_list_item_factory_new ();
  GtkSingleSelection *selection;

  selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->diagram)));
  gtk_single_selection_set_autoselect (selection, FALSE);
  gtk_single_selection_set_can_unselect (selection, TRUE);
  gtk_single_selection_set_selected (selection, GTK_INVALID_LIST_POSITION);
  g_signal_connect (selection, "notify::selected-item", G_CALLBACK (arrow_selected_cb), self);
  g_signal_connect (factory, "setup", G_CALLBACK (arrow_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (arrow_bind_cb), self);
  self->sequence_view = gtk_list_view_new (GTK_SELECTION_MODEL (selection), factory);
  gtk_widget_add_css_class (self->sequence_view, "ms-arrow-list");
#endif
  gtk_scrolled_window_set_child (self->diagram_scroller, self->sequence_view);
}

/* --- feeding the models -------------------------------------------------- */

static void
trace_items_changed_cb (GListModel *trace,
                        guint position,
                        guint removed,
                        guint added,
                        MsMainWindow *self)
{
  guint n = g_list_model_get_n_items (trace);

  if (removed > 0)
    {
      ms_session_model_reset (self->sessions);
      ms_mailbox_model_reset (self->mailboxes);
      ms_diagram_model_reset (self->diagram);
      self->n_applied = 0;
    }
  for (; self->n_applied < n; self->n_applied++)
    {
      MsEvent *event = ms_trace_model_get_event (self->trace, self->n_applied);

      ms_session_model_apply (self->sessions, event);
      ms_mailbox_model_apply (self->mailboxes, event);
      ms_diagram_model_apply (self->diagram, event);
    }
}

void
ms_main_window_flush (MsMainWindow *self)
{
  g_return_if_fail (MS_IS_MAIN_WINDOW (self));
  ms_trace_model_flush (self->trace);
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
  G_OBJECT_CLASS (ms_main_window_parent_class)->finalize (object);
}

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
  g_object_class_install_properties (object_class, N_PROPS, properties);

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
}

static void
ms_main_window_init (MsMainWindow *self)
{
  GtkListItemFactory *factory;
  GtkNoSelection *selection;

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_widget_add_css_class (GTK_WIDGET (self), "ms-main");
  load_css (GTK_WIDGET (self));

  self->trace = ms_trace_model_new ();
  self->sessions = ms_session_model_new ();
  self->mailboxes = ms_mailbox_model_new ();
  self->diagram = ms_diagram_model_new ();
  g_signal_connect (self->trace, "items-changed", G_CALLBACK (trace_items_changed_cb), self);

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (session_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (session_bind_cb), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (session_unbind_cb), NULL);
  selection = gtk_no_selection_new (g_object_ref (G_LIST_MODEL (self->sessions)));
  gtk_list_view_set_model (self->sessions_view, GTK_SELECTION_MODEL (selection));
  gtk_list_view_set_factory (self->sessions_view, factory);
  g_object_unref (selection);
  g_object_unref (factory);

  ms_mailbox_view_set_model (self->mailbox_view, self->mailboxes);
  add_diagram (self);
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
