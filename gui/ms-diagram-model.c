/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include <string.h>

#include "ms-diagram-model.h"

static const GEnumValue class_values[] = {
  { MS_ARROW_CLASS_COMMAND, "MS_ARROW_CLASS_COMMAND", "command" },
  { MS_ARROW_CLASS_OK, "MS_ARROW_CLASS_OK", "ok" },
  { MS_ARROW_CLASS_CONTINUE, "MS_ARROW_CLASS_CONTINUE", "continue" },
  { MS_ARROW_CLASS_TEMPFAIL, "MS_ARROW_CLASS_TEMPFAIL", "tempfail" },
  { MS_ARROW_CLASS_PERMFAIL, "MS_ARROW_CLASS_PERMFAIL", "permfail" },
  { MS_ARROW_CLASS_INFO, "MS_ARROW_CLASS_INFO", "info" },
  { 0, NULL, NULL },
};

GType
ms_arrow_class_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("MsArrowClass", class_values));
  return type;
}

const char *
ms_arrow_class_to_string (MsArrowClass klass)
{
  g_return_val_if_fail (klass <= MS_ARROW_CLASS_INFO, NULL);
  return class_values[klass].value_nick;
}

/* ---- MsLaneItem ---- */

struct _MsLaneItem
{
  GObject parent_instance;
  char *name;
  gboolean is_server;
  guint position;           /* in the model's lanes, kept up to date by the model */
  guint n_sessions;         /* sessions whose client end is this lane */
  gboolean temporary;       /* named after a peer: goes when its last session moves away */
};

G_DEFINE_FINAL_TYPE (MsLaneItem, ms_lane_item, G_TYPE_OBJECT)

enum {
  LANE_PROP_0,
  LANE_PROP_NAME,
  LANE_PROP_IS_SERVER,
  LANE_N_PROPS
};

static GParamSpec *lane_properties[LANE_N_PROPS];

static void
ms_lane_item_finalize (GObject *object)
{
  g_free (MS_LANE_ITEM (object)->name);
  G_OBJECT_CLASS (ms_lane_item_parent_class)->finalize (object);
}

static void
ms_lane_item_get_property (GObject *object,
                           guint prop_id,
                           GValue *value,
                           GParamSpec *pspec)
{
  MsLaneItem *self = MS_LANE_ITEM (object);

  switch (prop_id)
    {
    case LANE_PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case LANE_PROP_IS_SERVER:
      g_value_set_boolean (value, self->is_server);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_lane_item_class_init (MsLaneItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = ms_lane_item_finalize;
  object_class->get_property = ms_lane_item_get_property;
  lane_properties[LANE_PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  lane_properties[LANE_PROP_IS_SERVER] =
    g_param_spec_boolean ("is-server", NULL, NULL, FALSE, flags);
  g_object_class_install_properties (object_class, LANE_N_PROPS, lane_properties);
}

static void
ms_lane_item_init (MsLaneItem *self)
{
}

const char *
ms_lane_item_get_name (MsLaneItem *self)
{
  g_return_val_if_fail (MS_IS_LANE_ITEM (self), NULL);
  return self->name;
}

gboolean
ms_lane_item_get_is_server (MsLaneItem *self)
{
  g_return_val_if_fail (MS_IS_LANE_ITEM (self), FALSE);
  return self->is_server;
}

/* ---- MsArrowItem ---- */

struct _MsArrowItem
{
  GObject parent_instance;
  MsEvent *event;           /* owned: the strings below are borrowed from it */
  const char *server;
  const char *session;
  const char *text;
  const char *proto;
  const char *kind;         /* static */
  MsArrowClass klass;
  MsLaneItem *from;         /* owned */
  MsLaneItem *to;           /* owned */
  guint index;              /* position in MsDiagramModel.arrows */
  gpointer record;          /* its Session: borrowed, valid while the model holds the arrow */
};

G_DEFINE_FINAL_TYPE (MsArrowItem, ms_arrow_item, G_TYPE_OBJECT)

enum {
  ARROW_PROP_0,
  ARROW_PROP_SEQ,
  ARROW_PROP_SERVER,
  ARROW_PROP_SESSION,
  ARROW_PROP_FROM_LANE,
  ARROW_PROP_TO_LANE,
  ARROW_PROP_TEXT,
  ARROW_PROP_KIND,
  ARROW_PROP_PROTO,
  ARROW_PROP_CLASS,
  ARROW_N_PROPS
};

static GParamSpec *arrow_properties[ARROW_N_PROPS];

static void
ms_arrow_item_finalize (GObject *object)
{
  MsArrowItem *self = MS_ARROW_ITEM (object);

  g_clear_object (&self->from);
  g_clear_object (&self->to);
  g_clear_pointer (&self->event, ms_event_unref);
  G_OBJECT_CLASS (ms_arrow_item_parent_class)->finalize (object);
}

static void
ms_arrow_item_get_property (GObject *object,
                            guint prop_id,
                            GValue *value,
                            GParamSpec *pspec)
{
  MsArrowItem *self = MS_ARROW_ITEM (object);

  switch (prop_id)
    {
    case ARROW_PROP_SEQ:
      g_value_set_uint64 (value, ms_arrow_item_get_seq (self));
      break;
    case ARROW_PROP_SERVER:
      g_value_set_string (value, self->server);
      break;
    case ARROW_PROP_SESSION:
      g_value_set_string (value, self->session);
      break;
    case ARROW_PROP_FROM_LANE:
      g_value_set_uint (value, ms_arrow_item_get_from_lane (self));
      break;
    case ARROW_PROP_TO_LANE:
      g_value_set_uint (value, ms_arrow_item_get_to_lane (self));
      break;
    case ARROW_PROP_TEXT:
      g_value_set_string (value, self->text);
      break;
    case ARROW_PROP_KIND:
      g_value_set_string (value, self->kind);
      break;
    case ARROW_PROP_PROTO:
      g_value_set_string (value, self->proto);
      break;
    case ARROW_PROP_CLASS:
      g_value_set_enum (value, self->klass);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_arrow_item_class_init (MsArrowItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = ms_arrow_item_finalize;
  object_class->get_property = ms_arrow_item_get_property;
  arrow_properties[ARROW_PROP_SEQ] =
    g_param_spec_uint64 ("seq", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  arrow_properties[ARROW_PROP_SERVER] = g_param_spec_string ("server", NULL, NULL, NULL, flags);
  arrow_properties[ARROW_PROP_SESSION] = g_param_spec_string ("session", NULL, NULL, NULL, flags);
  arrow_properties[ARROW_PROP_FROM_LANE] =
    g_param_spec_uint ("from-lane", NULL, NULL, 0, G_MAXUINT, 0, flags);
  arrow_properties[ARROW_PROP_TO_LANE] =
    g_param_spec_uint ("to-lane", NULL, NULL, 0, G_MAXUINT, 0, flags);
  arrow_properties[ARROW_PROP_TEXT] = g_param_spec_string ("text", NULL, NULL, NULL, flags);
  arrow_properties[ARROW_PROP_KIND] = g_param_spec_string ("kind", NULL, NULL, NULL, flags);
  arrow_properties[ARROW_PROP_PROTO] = g_param_spec_string ("proto", NULL, NULL, NULL, flags);
  arrow_properties[ARROW_PROP_CLASS] =
    g_param_spec_enum ("class", NULL, NULL, MS_TYPE_ARROW_CLASS, MS_ARROW_CLASS_COMMAND, flags);
  g_object_class_install_properties (object_class, ARROW_N_PROPS, arrow_properties);
}

static void
ms_arrow_item_init (MsArrowItem *self)
{
}

guint64
ms_arrow_item_get_seq (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), 0);
  return self->event->seq;
}

const char *
ms_arrow_item_get_server (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), NULL);
  return self->server;
}

const char *
ms_arrow_item_get_session (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), NULL);
  return self->session;
}

guint
ms_arrow_item_get_from_lane (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), 0);
  return self->from->position;
}

guint
ms_arrow_item_get_to_lane (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), 0);
  return self->to->position;
}

const char *
ms_arrow_item_get_text (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), NULL);
  return self->text;
}

const char *
ms_arrow_item_get_kind (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), NULL);
  return self->kind;
}

const char *
ms_arrow_item_get_proto (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), NULL);
  return self->proto;
}

MsArrowClass
ms_arrow_item_get_class (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), MS_ARROW_CLASS_INFO);
  return self->klass;
}

/* ---- MsDiagramLanes: the lanes as a GListModel ---- */

/* A GListModel over an array, whose items-changed the diagram model emits
 * itself (GListStore emits at once, which a batch must not). */
#define MS_TYPE_DIAGRAM_LANES (ms_diagram_lanes_get_type ())
G_DECLARE_FINAL_TYPE (MsDiagramLanes, ms_diagram_lanes, MS, DIAGRAM_LANES, GObject)

struct _MsDiagramLanes
{
  GObject parent_instance;
  GPtrArray *items;         /* MsLaneItem, owned; items[i]->position == i */
};

static void ms_diagram_lanes_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MsDiagramLanes, ms_diagram_lanes, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      ms_diagram_lanes_list_model_init))

static GType
ms_diagram_lanes_get_item_type (GListModel *model)
{
  return MS_TYPE_LANE_ITEM;
}

static guint
ms_diagram_lanes_get_n_items (GListModel *model)
{
  return MS_DIAGRAM_LANES (model)->items->len;
}

static gpointer
ms_diagram_lanes_get_item (GListModel *model,
                           guint position)
{
  MsDiagramLanes *self = MS_DIAGRAM_LANES (model);

  if (position >= self->items->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->items, position));
}

static void
ms_diagram_lanes_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = ms_diagram_lanes_get_item_type;
  iface->get_n_items = ms_diagram_lanes_get_n_items;
  iface->get_item = ms_diagram_lanes_get_item;
}

static void
ms_diagram_lanes_finalize (GObject *object)
{
  g_clear_pointer (&MS_DIAGRAM_LANES (object)->items, g_ptr_array_unref);
  G_OBJECT_CLASS (ms_diagram_lanes_parent_class)->finalize (object);
}

static void
ms_diagram_lanes_class_init (MsDiagramLanesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ms_diagram_lanes_finalize;
}

static void
ms_diagram_lanes_init (MsDiagramLanes *self)
{
  self->items = g_ptr_array_new_with_free_func (g_object_unref);
}

/* ---- MsDiagramModel ---- */

#define NOT_DIRTY G_MAXUINT

/* Who recorded a session: the server, the relay's client, or a user agent
 * (any other client). */
typedef enum {
  ROLE_SERVER,
  ROLE_RELAY,
  ROLE_AGENT,
} Role;

/* A session's identity: its server and its id. The first member of
 * Session, so that the sessions table is keyed by the sessions themselves
 * and a lookup needs no allocation. */
typedef struct {
  char *server;
  char *id;
} SessionKey;

typedef struct _Session Session;

/* What the diagram knows of one session. */
struct _Session {
  SessionKey key;           /* owned strings */
  char *peer;
  char *local;
  Role role;
  Session *partner;         /* the other side of the connection; borrowed */
  gboolean duplicate;       /* a client whose server's side is in the trace too */
  gboolean visible;
  gboolean device;          /* client_lane is a user agent's device: a login keeps it */
  gboolean logout_sent;     /* IMAP: the client sent LOGOUT, so BYE is expected */
  gboolean last_outbound;   /* the last arrow went from client to server */
  MsLaneItem *side_lane;    /* its own end, the server or the device; borrowed */
  MsLaneItem *client_lane;  /* the other end; borrowed, NULL until the first arrow */
  GPtrArray *arrows;        /* MsArrowItem, borrowed from MsDiagramModel.arrows */
};

struct _MsDiagramModel
{
  GObject parent_instance;
  MsDiagramLanes *lanes;
  GHashTable *lane_by_name;     /* name (borrowed from the lane) -> MsLaneItem (borrowed) */
  GHashTable *sessions;         /* SessionKey -> Session, owned */
  GHashTable *client_by_local;  /* a client session's local endpoint -> Session (borrowed) */
  GHashTable *server_by_peer;   /* a server session's peer endpoint -> Session (borrowed) */
  GPtrArray *arrows;            /* every MsArrowItem, owned; arrows[i]->index == i */
  GPtrArray *visible;           /* the arrows shown, in order: borrowed from arrows */

  /* A batch: the signals held back, as the first position changed and the
   * length the listeners last heard of. */
  guint batch_depth;
  guint batch_arrows_from;
  guint batch_arrows_len;
  guint batch_lanes_from;
  guint batch_lanes_len;
};

static void ms_diagram_model_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (MsDiagramModel, ms_diagram_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL,
                                                      ms_diagram_model_list_model_init))

static GType
ms_diagram_model_get_item_type (GListModel *model)
{
  return MS_TYPE_ARROW_ITEM;
}

static guint
ms_diagram_model_get_n_items (GListModel *model)
{
  return MS_DIAGRAM_MODEL (model)->visible->len;
}

static gpointer
ms_diagram_model_get_item (GListModel *model,
                           guint position)
{
  MsDiagramModel *self = MS_DIAGRAM_MODEL (model);

  if (position >= self->visible->len)
    return NULL;
  return g_object_ref (g_ptr_array_index (self->visible, position));
}

static void
ms_diagram_model_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = ms_diagram_model_get_item_type;
  iface->get_n_items = ms_diagram_model_get_n_items;
  iface->get_item = ms_diagram_model_get_item;
}

static guint
session_hash (gconstpointer key)
{
  const SessionKey *k = key;

  return g_str_hash (k->server) * 31 + g_str_hash (k->id);
}

static gboolean
session_equal (gconstpointer a,
               gconstpointer b)
{
  const SessionKey *ka = a, *kb = b;

  return strcmp (ka->id, kb->id) == 0 && strcmp (ka->server, kb->server) == 0;
}

static void
session_free (Session *session)
{
  g_free (session->key.server);
  g_free (session->key.id);
  g_free (session->peer);
  g_free (session->local);
  g_ptr_array_unref (session->arrows);
  g_free (session);
}

static void
ms_diagram_model_finalize (GObject *object)
{
  MsDiagramModel *self = MS_DIAGRAM_MODEL (object);

  g_clear_pointer (&self->client_by_local, g_hash_table_unref);
  g_clear_pointer (&self->server_by_peer, g_hash_table_unref);
  g_clear_pointer (&self->sessions, g_hash_table_unref);
  g_clear_pointer (&self->lane_by_name, g_hash_table_unref);
  g_clear_pointer (&self->visible, g_ptr_array_unref);
  g_clear_pointer (&self->arrows, g_ptr_array_unref);
  g_clear_object (&self->lanes);
  G_OBJECT_CLASS (ms_diagram_model_parent_class)->finalize (object);
}

static void
ms_diagram_model_class_init (MsDiagramModelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ms_diagram_model_finalize;
}

static void
ms_diagram_model_init (MsDiagramModel *self)
{
  self->lanes = g_object_new (MS_TYPE_DIAGRAM_LANES, NULL);
  self->lane_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->sessions = g_hash_table_new_full (session_hash, session_equal, NULL,
                                          (GDestroyNotify) session_free);
  self->client_by_local = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->server_by_peer = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->arrows = g_ptr_array_new_with_free_func (g_object_unref);
  self->visible = g_ptr_array_new ();
}

MsDiagramModel *
ms_diagram_model_new (void)
{
  return g_object_new (MS_TYPE_DIAGRAM_MODEL, NULL);
}

GListModel *
ms_diagram_model_get_lanes (MsDiagramModel *self)
{
  g_return_val_if_fail (MS_IS_DIAGRAM_MODEL (self), NULL);
  return G_LIST_MODEL (self->lanes);
}

/* ---- signals, held back in a batch ---- */

static void
arrows_changed (MsDiagramModel *self,
                guint position,
                guint removed,
                guint added)
{
  if (self->batch_depth > 0)
    self->batch_arrows_from = MIN (self->batch_arrows_from, position);
  else if (removed > 0 || added > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), position, removed, added);
}

static void
lanes_changed (MsDiagramModel *self,
               guint position,
               guint removed,
               guint added)
{
  if (self->batch_depth > 0)
    self->batch_lanes_from = MIN (self->batch_lanes_from, position);
  else if (removed > 0 || added > 0)
    g_list_model_items_changed (G_LIST_MODEL (self->lanes), position, removed, added);
}

void
ms_diagram_model_begin_batch (MsDiagramModel *self)
{
  g_return_if_fail (MS_IS_DIAGRAM_MODEL (self));

  if (self->batch_depth++ > 0)
    return;
  self->batch_arrows_from = NOT_DIRTY;
  self->batch_arrows_len = self->visible->len;
  self->batch_lanes_from = NOT_DIRTY;
  self->batch_lanes_len = self->lanes->items->len;
}

void
ms_diagram_model_end_batch (MsDiagramModel *self)
{
  g_return_if_fail (MS_IS_DIAGRAM_MODEL (self));
  g_return_if_fail (self->batch_depth > 0);

  if (--self->batch_depth > 0)
    return;
  /* Everything before the first change is as the listeners knew it. The
   * lanes first: the arrows' items-changed may draw them. */
  if (self->batch_lanes_from != NOT_DIRTY)
    lanes_changed (self, self->batch_lanes_from, self->batch_lanes_len - self->batch_lanes_from,
                   self->lanes->items->len - self->batch_lanes_from);
  if (self->batch_arrows_from != NOT_DIRTY)
    arrows_changed (self, self->batch_arrows_from,
                    self->batch_arrows_len - self->batch_arrows_from,
                    self->visible->len - self->batch_arrows_from);
}

/* ---- lanes ---- */

static MsLaneItem *
lane_find (MsDiagramModel *self,
           const char *name)
{
  return g_hash_table_lookup (self->lane_by_name, name);
}

static void
lanes_renumber (MsDiagramModel *self,
                guint from)
{
  for (guint i = from; i < self->lanes->items->len; i++)
    MS_LANE_ITEM (g_ptr_array_index (self->lanes->items, i))->position = i;
}

/* A new lane at `position`: the lanes from there on move one to the right. */
static MsLaneItem *
lane_insert (MsDiagramModel *self,
             guint position,
             const char *name,
             gboolean is_server)
{
  MsLaneItem *lane = g_object_new (MS_TYPE_LANE_ITEM, NULL);

  lane->name = g_strdup (name);
  lane->is_server = is_server;
  g_ptr_array_insert (self->lanes->items, (gint) position, lane);
  lanes_renumber (self, position);
  g_hash_table_insert (self->lane_by_name, lane->name, lane);
  lanes_changed (self, position, 0, 1);
  return lane;
}

/* The lane called `name`, added at the end when there is none. */
static MsLaneItem *
lane_ensure (MsDiagramModel *self,
             const char *name,
             gboolean is_server)
{
  MsLaneItem *lane = lane_find (self, name);

  return lane != NULL ? lane : lane_insert (self, self->lanes->items->len, name, is_server);
}

/* A user agent's device lane, added beside the lane of the server it talks
 * to: on the left of the leftmost server lane, else on the right (the rule
 * of the header). */
static MsLaneItem *
device_lane_ensure (MsDiagramModel *self,
                    const char *name,
                    MsLaneItem *server)
{
  MsLaneItem *lane = lane_find (self, name);
  guint i;

  if (lane != NULL)
    return lane;
  for (i = 0; i < server->position; i++)
    if (MS_LANE_ITEM (g_ptr_array_index (self->lanes->items, i))->is_server)
      break;
  return lane_insert (self, i == server->position ? i : server->position + 1, name, FALSE);
}

/* Removes a lane that no arrow uses any more (a peer's lane whose session
 * moved to its user's or device's lane, or to the relaying server). The
 * lanes after it move one to the left: usually there are none or a few,
 * as the lane is recent. */
static void
lane_remove (MsDiagramModel *self,
             MsLaneItem *lane)
{
  guint position = lane->position;

  g_hash_table_remove (self->lane_by_name, lane->name);
  g_ptr_array_remove_index (self->lanes->items, position);
  lanes_renumber (self, position);
  lanes_changed (self, position, 1, 0);
}

static void
lane_rename (MsDiagramModel *self,
             MsLaneItem *lane,
             const char *name)
{
  g_hash_table_remove (self->lane_by_name, lane->name);
  g_free (lane->name);
  lane->name = g_strdup (name);
  g_hash_table_insert (self->lane_by_name, lane->name, lane);
  g_object_notify_by_pspec (G_OBJECT (lane), lane_properties[LANE_PROP_NAME]);
}

/* ---- sessions and their arrows ---- */

static gboolean
session_shown (const Session *session)
{
  return session->visible && !session->duplicate;
}

/* Recomputes the visible arrows from arrows[first] on, after a session
 * whose first arrow that is was shown, hidden or found to be a duplicate.
 * The arrows before it keep their places: the cost is the arrows since
 * the session began, not the whole trace. */
static void
refilter_from (MsDiagramModel *self,
               guint first)
{
  guint lo = 0, hi = self->visible->len;
  guint removed;

  while (lo < hi)
    {
      guint mid = lo + (hi - lo) / 2;

      if (MS_ARROW_ITEM (g_ptr_array_index (self->visible, mid))->index < first)
        lo = mid + 1;
      else
        hi = mid;
    }
  removed = self->visible->len - lo;
  g_ptr_array_set_size (self->visible, lo);
  for (guint i = first; i < self->arrows->len; i++)
    {
      MsArrowItem *arrow = g_ptr_array_index (self->arrows, i);

      if (session_shown (arrow->record))
        g_ptr_array_add (self->visible, arrow);
    }
  arrows_changed (self, lo, removed, self->visible->len - lo);
}

static void
session_refilter (MsDiagramModel *self,
                  Session *session)
{
  if (session->arrows->len > 0)
    refilter_from (self, MS_ARROW_ITEM (g_ptr_array_index (session->arrows, 0))->index);
}

static void
arrow_set_lane (MsArrowItem *arrow,
                MsLaneItem **end,
                MsLaneItem *lane,
                guint prop_id)
{
  g_set_object (end, lane);
  g_object_notify_by_pspec (G_OBJECT (arrow), arrow_properties[prop_id]);
}

/* Moves the client end of a session's arrows to `lane`. A temporary lane
 * that no session uses any more goes away. */
static void
session_move_client (MsDiagramModel *self,
                     Session *session,
                     MsLaneItem *lane)
{
  MsLaneItem *old = session->client_lane;

  if (old == lane)
    return;
  session->client_lane = lane;
  lane->n_sessions++;
  if (old == NULL)
    return;
  old->n_sessions--;
  for (guint i = 0; i < session->arrows->len; i++)
    {
      MsArrowItem *arrow = g_ptr_array_index (session->arrows, i);

      if (arrow->from == old)
        arrow_set_lane (arrow, &arrow->from, lane, ARROW_PROP_FROM_LANE);
      if (arrow->to == old)
        arrow_set_lane (arrow, &arrow->to, lane, ARROW_PROP_TO_LANE);
    }
  if (old->temporary && old->n_sessions == 0)
    lane_remove (self, old);
}

/* The lane at the other end of a session's arrows. */
static MsLaneItem *
session_client_lane (MsDiagramModel *self,
                     Session *session)
{
  const char *peer = session->peer != NULL ? session->peer : "?";
  MsLaneItem *lane;

  if (session->client_lane != NULL)
    return session->client_lane;
  /* A client talks to the server at its peer address; a server session's
   * client is named after its peer until it logs in or is matched. Either
   * lane goes once no session ends there. */
  lane = lane_find (self, peer);
  if (lane == NULL)
    {
      /* A server's client (a user agent) stands beside that server, as a
       * device does; a client's server goes at the end. */
      if (session->role == ROLE_SERVER)
        lane = device_lane_ensure (self, peer, lane_ensure (self, session->key.server, TRUE));
      else
        lane = lane_ensure (self, peer, TRUE);
      lane->temporary = TRUE;
    }
  session_move_client (self, session, lane);
  return lane;
}

/* The lane of the session's own end: its server, or a user agent's device
 * (beside the server it talks to). */
static MsLaneItem *
session_side_lane (MsDiagramModel *self,
                   Session *session)
{
  if (session->side_lane == NULL)
    session->side_lane = session->role == ROLE_AGENT
                         ? device_lane_ensure (self, session->key.server,
                                               session_client_lane (self, session))
                         : lane_ensure (self, session->key.server, TRUE);
  return session->side_lane;
}

/* The client session `client` and the server session `server` are one
 * connection: draw the server's side of it, from the relaying server's
 * lane or the user agent's device lane, and hide the client's copy. */
static void
session_match (MsDiagramModel *self,
               Session *client,
               Session *server)
{
  MsLaneItem *server_lane = session_side_lane (self, server);

  client->partner = server;
  server->partner = client;
  if (client->role == ROLE_RELAY)
    session_move_client (self, server, lane_ensure (self, client->key.server, TRUE));
  else
    {
      MsLaneItem *device = device_lane_ensure (self, client->key.server, server_lane);

      server->device = TRUE;
      session_move_client (self, server, device);
      client->side_lane = device;
    }
  /* The hidden copy points at the server's lane: no lane for the address. */
  session_move_client (self, client, server_lane);
  client->duplicate = TRUE;
  session_refilter (self, client);
}

static Session *
session_ensure (MsDiagramModel *self,
                const char *server,
                const char *id)
{
  SessionKey key = { (char *) (server != NULL ? server : ""), (char *) id };
  Session *session = g_hash_table_lookup (self->sessions, &key);

  if (session != NULL)
    return session;
  session = g_new0 (Session, 1);
  session->key.server = g_strdup (key.server);
  session->key.id = g_strdup (id);
  session->visible = TRUE;
  session->arrows = g_ptr_array_new ();
  g_hash_table_add (self->sessions, session);
  return session;
}

static void
session_open (MsDiagramModel *self,
              Session *session,
              const MsEvent *event)
{
  Session *other;

  g_free (session->peer);
  session->peer = g_strdup (ms_event_get_string (event, "peer"));
  g_free (session->local);
  session->local = g_strdup (ms_event_get_string (event, "local"));
  if (g_strcmp0 (ms_event_get_string (event, "direction"), "client") != 0)
    session->role = ROLE_SERVER;
  else if (g_strcmp0 (ms_event_get_string (event, "proto"), "smtp-relay") == 0)
    session->role = ROLE_RELAY;
  else
    session->role = ROLE_AGENT;

  /* The client's local endpoint is the server session's peer. An endpoint
   * is reused in a long trace: only sessions not matched yet pair up. */
  if (session->role == ROLE_SERVER)
    {
      session_side_lane (self, session);
      if (session->peer == NULL)
        return;
      g_hash_table_replace (self->server_by_peer, g_strdup (session->peer), session);
      other = g_hash_table_lookup (self->client_by_local, session->peer);
      if (other != NULL && other->partner == NULL && session->partner == NULL)
        session_match (self, other, session);
    }
  else if (session->local != NULL)
    {
      g_hash_table_replace (self->client_by_local, g_strdup (session->local), session);
      other = g_hash_table_lookup (self->server_by_peer, session->local);
      if (other != NULL && other->partner == NULL && session->partner == NULL)
        session_match (self, session, other);
    }
}

/* "alice (127.0.0.1)": the sessions of one user from one host share a lane,
 * the user's device. A user agent's session keeps its device's lane. */
static void
session_authenticated (MsDiagramModel *self,
                       Session *session,
                       const char *user)
{
  g_autofree char *host = NULL;
  g_autofree char *name = NULL;
  const char *colon;
  MsLaneItem *existing;
  MsLaneItem *lane = session->client_lane;

  if (session->role != ROLE_SERVER || session->device || user == NULL)
    return;
  colon = session->peer != NULL ? strrchr (session->peer, ':') : NULL;
  host = colon != NULL ? g_strndup (session->peer, colon - session->peer)
                       : g_strdup (session->peer != NULL ? session->peer : "?");
  name = g_strdup_printf ("%s (%s)", user, host);
  existing = lane_find (self, name);

  if (existing == NULL && lane != NULL && lane->temporary && lane->n_sessions == 1)
    {
      /* The peer's lane becomes the user's: same position, new name. */
      lane->temporary = FALSE;
      lane_rename (self, lane, name);
      return;
    }
  session_move_client (self, session,
                       existing != NULL ? existing : lane_ensure (self, name, FALSE));
}

/* RFC 5321 §4.2.1 reply code classes, POP3 status indicators (RFC 1939 §3),
 * IMAP status responses (RFC 3501 §7.1). */
static MsArrowClass
reply_class (const Session *session,
             const MsEvent *event)
{
  gint64 code = ms_event_get_int (event, "code", 0);
  const char *status = ms_event_get_string (event, "status");

  if (code >= 200 && code < 600)
    return (MsArrowClass[]) { MS_ARROW_CLASS_OK, MS_ARROW_CLASS_CONTINUE,
                              MS_ARROW_CLASS_TEMPFAIL, MS_ARROW_CLASS_PERMFAIL }[code / 100 - 2];
  if (status == NULL)
    return MS_ARROW_CLASS_INFO;
  if (strcmp (status, "+OK") == 0 || strcmp (status, "OK") == 0
      || strcmp (status, "PREAUTH") == 0)
    return MS_ARROW_CLASS_OK;
  if (strcmp (status, "+") == 0)
    return MS_ARROW_CLASS_CONTINUE;
  /* RFC 3501 §6.1.3: the server answers LOGOUT with an untagged BYE before
   * its tagged OK, the normal end of a session. A BYE it sends on its own
   * (§7.1.5: autologout, shutdown, a rejected connection) is a failure. */
  if (strcmp (status, "BYE") == 0)
    return session->logout_sent ? MS_ARROW_CLASS_OK : MS_ARROW_CLASS_PERMFAIL;
  if (strcmp (status, "-ERR") == 0 || strcmp (status, "NO") == 0
      || strcmp (status, "BAD") == 0)
    return MS_ARROW_CLASS_PERMFAIL;
  return MS_ARROW_CLASS_INFO;
}

/* Which way a `data` event goes: SMTP's message comes from the client,
 * POP3's RETR and TOP bodies from the server, an IMAP literal follows the
 * line that announced it. */
static gboolean
data_outbound (const Session *session,
               const char *proto,
               const MsEvent *event)
{
  if (g_strcmp0 (proto, "smtp") == 0 || g_strcmp0 (proto, "smtp-relay") == 0)
    return TRUE;
  if (ms_event_has (event, "verb"))
    return FALSE;
  return session->last_outbound;
}

static void
add_arrow (MsDiagramModel *self,
           Session *session,
           const MsEvent *event,
           const char *id)
{
  MsArrowItem *arrow = g_object_new (MS_TYPE_ARROW_ITEM, NULL);
  MsLaneItem *side_lane = session_side_lane (self, session);
  MsLaneItem *client_lane = session_client_lane (self, session);
  gboolean outbound;
  gboolean success;

  arrow->proto = ms_event_get_string (event, "proto");
  switch (event->kind)
    {
    case MS_EVENT_COMMAND:
      arrow->kind = "command";
      arrow->klass = MS_ARROW_CLASS_COMMAND;
      outbound = TRUE;
      if (g_strcmp0 (arrow->proto, "imap") == 0
          && g_strcmp0 (ms_event_get_string (event, "verb"), "LOGOUT") == 0)
        session->logout_sent = TRUE;
      break;
    case MS_EVENT_REPLY:
      arrow->kind = "reply";
      arrow->klass = reply_class (session, event);
      outbound = FALSE;
      break;
    case MS_EVENT_TLS:
      /* The handshake: a row of its own, from the server's side; the
       * inspector shows its version, cipher and certificate. */
      arrow->kind = "tls";
      success = ms_event_get_bool (event, "success", FALSE);
      arrow->klass = success ? MS_ARROW_CLASS_INFO : MS_ARROW_CLASS_PERMFAIL;
      arrow->text = success ? "TLS handshake"
                            : "TLS handshake failed";
      outbound = FALSE;
      break;
    default:
      arrow->kind = "data";
      arrow->klass = MS_ARROW_CLASS_INFO;
      outbound = data_outbound (session, arrow->proto, event);
      break;
    }
  /* A handshake is no line: IMAP's literals follow the line before it. */
  if (event->kind != MS_EVENT_TLS)
    session->last_outbound = outbound;

  /* A client's commands leave its own end (the relaying server, the
   * device): the far end is its peer. */
  if (session->role != ROLE_SERVER)
    outbound = !outbound;
  arrow->from = g_object_ref (outbound ? client_lane : side_lane);
  arrow->to = g_object_ref (outbound ? side_lane : client_lane);
  arrow->event = ms_event_ref ((MsEvent *) event);
  arrow->server = event->server != NULL ? event->server : "";
  arrow->session = id;
  if (arrow->text == NULL)
    arrow->text = ms_event_get_string (event, "text");
  arrow->index = self->arrows->len;
  arrow->record = session;

  g_ptr_array_add (session->arrows, arrow);
  g_ptr_array_add (self->arrows, arrow);
  if (session_shown (session))
    {
      g_ptr_array_add (self->visible, arrow);
      arrows_changed (self, self->visible->len - 1, 0, 1);
    }
}

void
ms_diagram_model_apply (MsDiagramModel *self,
                        const MsEvent *event)
{
  const char *id;
  Session *session;

  g_return_if_fail (MS_IS_DIAGRAM_MODEL (self));
  g_return_if_fail (event != NULL);

  switch (event->kind)
    {
    case MS_EVENT_SESSION_OPEN:
    case MS_EVENT_AUTH:
    case MS_EVENT_COMMAND:
    case MS_EVENT_REPLY:
    case MS_EVENT_DATA:
    case MS_EVENT_TLS:
      break;
    default:
      return;
    }
  id = ms_event_get_string (event, "session");
  if (id == NULL)
    return;
  session = session_ensure (self, event->server, id);

  switch (event->kind)
    {
    case MS_EVENT_SESSION_OPEN:
      session_open (self, session, event);
      break;
    case MS_EVENT_AUTH:
      if (ms_event_get_bool (event, "success", FALSE))
        session_authenticated (self, session, ms_event_get_string (event, "user"));
      break;
    default:
      add_arrow (self, session, event, id);
      break;
    }
}

void
ms_diagram_model_apply_batch (MsDiagramModel *self,
                              MsEvent *const *events,
                              guint n)
{
  g_return_if_fail (MS_IS_DIAGRAM_MODEL (self));
  g_return_if_fail (events != NULL || n == 0);

  ms_diagram_model_begin_batch (self);
  for (guint i = 0; i < n; i++)
    ms_diagram_model_apply (self, events[i]);
  ms_diagram_model_end_batch (self);
}

void
ms_diagram_model_reset (MsDiagramModel *self)
{
  guint removed, n_lanes;

  g_return_if_fail (MS_IS_DIAGRAM_MODEL (self));

  removed = self->visible->len;
  n_lanes = self->lanes->items->len;
  g_ptr_array_set_size (self->visible, 0);
  g_hash_table_remove_all (self->client_by_local);
  g_hash_table_remove_all (self->server_by_peer);
  g_hash_table_remove_all (self->sessions);
  g_ptr_array_set_size (self->arrows, 0);
  g_hash_table_remove_all (self->lane_by_name);
  g_ptr_array_set_size (self->lanes->items, 0);
  arrows_changed (self, 0, removed, 0);
  lanes_changed (self, 0, n_lanes, 0);
}

void
ms_diagram_model_set_session_visible (MsDiagramModel *self,
                                      const char *server,
                                      const char *session,
                                      gboolean visible)
{
  SessionKey key = { (char *) (server != NULL ? server : ""), (char *) session };
  Session *record;

  g_return_if_fail (MS_IS_DIAGRAM_MODEL (self));
  g_return_if_fail (session != NULL);

  record = g_hash_table_lookup (self->sessions, &key);
  if (record == NULL && visible)
    return;
  if (record == NULL)
    record = session_ensure (self, server, session);
  if (record->visible == !!visible)
    return;
  record->visible = !!visible;
  session_refilter (self, record);
}
