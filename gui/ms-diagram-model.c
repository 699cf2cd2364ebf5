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
  guint64 seq;
  char *server;
  char *session;
  guint from_lane;
  guint to_lane;
  char *text;
  const char *kind;         /* static */
  char *proto;
  MsArrowClass klass;
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

  g_free (self->server);
  g_free (self->session);
  g_free (self->text);
  g_free (self->proto);
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
      g_value_set_uint64 (value, self->seq);
      break;
    case ARROW_PROP_SERVER:
      g_value_set_string (value, self->server);
      break;
    case ARROW_PROP_SESSION:
      g_value_set_string (value, self->session);
      break;
    case ARROW_PROP_FROM_LANE:
      g_value_set_uint (value, self->from_lane);
      break;
    case ARROW_PROP_TO_LANE:
      g_value_set_uint (value, self->to_lane);
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
  return self->seq;
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
  return self->from_lane;
}

guint
ms_arrow_item_get_to_lane (MsArrowItem *self)
{
  g_return_val_if_fail (MS_IS_ARROW_ITEM (self), 0);
  return self->to_lane;
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

/* ---- MsDiagramModel ---- */

#define NO_LANE G_MAXUINT

/* What the diagram knows of one session. */
typedef struct {
  char *server;
  char *peer;
  char *local;
  gboolean relay_client;    /* the relay's client side, recorded by the sending server */
  gboolean duplicate;       /* a relay client whose receiving server is in the trace too */
  gboolean visible;
  gboolean own_lane;        /* client_lane was made for this session alone */
  guint client_lane;        /* the other end: the user agent or the relaying server */
  gboolean last_outbound;   /* the last arrow went from client to server */
  GPtrArray *arrows;        /* MsArrowItem, borrowed from MsDiagramModel.arrows */
} Session;

struct _MsDiagramModel
{
  GObject parent_instance;
  GListStore *lanes;
  GHashTable *lane_by_name;     /* name -> position + 1 */
  GHashTable *sessions;         /* "server\nsession" -> Session, owned */
  GHashTable *relay_by_local;   /* a relay client's local endpoint -> Session (borrowed) */
  GHashTable *server_by_peer;   /* a server session's peer endpoint -> Session (borrowed) */
  GPtrArray *arrows;            /* every MsArrowItem, owned */
  GPtrArray *visible;           /* the arrows shown: borrowed from arrows */
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

static void
session_free (Session *session)
{
  g_free (session->server);
  g_free (session->peer);
  g_free (session->local);
  g_ptr_array_unref (session->arrows);
  g_free (session);
}

static void
ms_diagram_model_finalize (GObject *object)
{
  MsDiagramModel *self = MS_DIAGRAM_MODEL (object);

  g_clear_pointer (&self->relay_by_local, g_hash_table_unref);
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
  self->lanes = g_list_store_new (MS_TYPE_LANE_ITEM);
  self->lane_by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) session_free);
  self->relay_by_local = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
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

static guint
lane_find (MsDiagramModel *self,
           const char *name)
{
  gpointer position = g_hash_table_lookup (self->lane_by_name, name);

  return position != NULL ? GPOINTER_TO_UINT (position) - 1 : NO_LANE;
}

/* The lane called `name`, added at the end when there is none. */
static guint
lane_ensure (MsDiagramModel *self,
             const char *name,
             gboolean is_server)
{
  guint position = lane_find (self, name);
  g_autoptr(MsLaneItem) lane = NULL;

  if (position != NO_LANE)
    return position;
  lane = g_object_new (MS_TYPE_LANE_ITEM, NULL);
  lane->name = g_strdup (name);
  lane->is_server = is_server;
  position = g_list_model_get_n_items (G_LIST_MODEL (self->lanes));
  g_hash_table_insert (self->lane_by_name, g_strdup (name), GUINT_TO_POINTER (position + 1));
  g_list_store_append (self->lanes, lane);
  return position;
}

static char *
session_key (const char *server,
             const char *session)
{
  return g_strconcat (server != NULL ? server : "", "\n", session, NULL);
}

static gboolean
session_shown (const Session *session)
{
  return session->visible && !session->duplicate;
}

/* Recomputes the visible arrows after a session was shown, hidden or found
 * to be a duplicate. Rare, so one items-changed for the whole list. */
static void
refilter (MsDiagramModel *self)
{
  guint removed = self->visible->len;

  g_ptr_array_set_size (self->visible, 0);
  for (guint i = 0; i < self->arrows->len; i++)
    {
      MsArrowItem *arrow = g_ptr_array_index (self->arrows, i);
      g_autofree char *key = session_key (arrow->server, arrow->session);
      Session *session = g_hash_table_lookup (self->sessions, key);

      if (session == NULL || session_shown (session))
        g_ptr_array_add (self->visible, arrow);
    }
  g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, self->visible->len);
}

/* Removes a lane that no arrow uses any more (a peer's lane whose session
 * moved to its user's device or to the relaying server). The lanes after it
 * move up one: usually there are none, as the lane was the newest. */
static void
lane_remove (MsDiagramModel *self,
             guint position)
{
  GHashTableIter iter;
  gpointer value;
  Session *session;
  g_autoptr(MsLaneItem) lane = g_list_model_get_item (G_LIST_MODEL (self->lanes), position);

  g_hash_table_remove (self->lane_by_name, lane->name);
  g_list_store_remove (self->lanes, position);
  if (position == g_list_model_get_n_items (G_LIST_MODEL (self->lanes)))
    return;

  g_hash_table_iter_init (&iter, self->lane_by_name);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (GPOINTER_TO_UINT (value) - 1 > position)
      g_hash_table_iter_replace (&iter, GUINT_TO_POINTER (GPOINTER_TO_UINT (value) - 1));
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    if (session->client_lane != NO_LANE && session->client_lane > position)
      session->client_lane--;
  for (guint i = 0; i < self->arrows->len; i++)
    {
      MsArrowItem *arrow = g_ptr_array_index (self->arrows, i);

      if (arrow->from_lane > position)
        {
          arrow->from_lane--;
          g_object_notify_by_pspec (G_OBJECT (arrow), arrow_properties[ARROW_PROP_FROM_LANE]);
        }
      if (arrow->to_lane > position)
        {
          arrow->to_lane--;
          g_object_notify_by_pspec (G_OBJECT (arrow), arrow_properties[ARROW_PROP_TO_LANE]);
        }
    }
}

/* Moves the client end of a session's arrows to `lane`. A lane that was the
 * session's alone goes away. */
static void
session_move_client (MsDiagramModel *self,
                     Session *session,
                     guint lane,
                     gboolean own_lane)
{
  guint old = session->client_lane;
  gboolean old_was_own = session->own_lane;

  session->client_lane = lane;
  session->own_lane = own_lane;
  if (old == NO_LANE || old == lane)
    return;
  for (guint i = 0; i < session->arrows->len; i++)
    {
      MsArrowItem *arrow = g_ptr_array_index (session->arrows, i);

      if (arrow->from_lane == old)
        {
          arrow->from_lane = lane;
          g_object_notify_by_pspec (G_OBJECT (arrow), arrow_properties[ARROW_PROP_FROM_LANE]);
        }
      if (arrow->to_lane == old)
        {
          arrow->to_lane = lane;
          g_object_notify_by_pspec (G_OBJECT (arrow), arrow_properties[ARROW_PROP_TO_LANE]);
        }
    }
  if (old_was_own)
    lane_remove (self, old);
}

/* The relay client `relay` and the server session `server` are one
 * connection: draw the server's side of it between the two servers' lanes,
 * and hide the client's copy of the same lines. */
static void
relay_match (MsDiagramModel *self,
             Session *relay,
             Session *server)
{
  session_move_client (self, server, lane_ensure (self, relay->server, TRUE), FALSE);
  /* Its hidden arrows point at the receiving server: no lane for the address. */
  session_move_client (self, relay, lane_ensure (self, server->server, TRUE), FALSE);
  relay->duplicate = TRUE;
  if (relay->arrows->len > 0)
    refilter (self);
}

static Session *
session_ensure (MsDiagramModel *self,
                const MsEvent *event,
                const char *id)
{
  g_autofree char *key = session_key (event->server, id);
  Session *session = g_hash_table_lookup (self->sessions, key);

  if (session != NULL)
    return session;
  session = g_new0 (Session, 1);
  session->server = g_strdup (event->server != NULL ? event->server : "");
  session->visible = TRUE;
  session->client_lane = NO_LANE;
  session->arrows = g_ptr_array_new ();
  g_hash_table_insert (self->sessions, g_steal_pointer (&key), session);
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
  session->relay_client = g_strcmp0 (ms_event_get_string (event, "direction"), "client") == 0;

  /* The relay client's local endpoint is the receiving session's peer. */
  if (session->relay_client && session->local != NULL)
    {
      g_hash_table_replace (self->relay_by_local, g_strdup (session->local), session);
      other = g_hash_table_lookup (self->server_by_peer, session->local);
      if (other != NULL)
        relay_match (self, session, other);
    }
  else if (!session->relay_client && session->peer != NULL)
    {
      g_hash_table_replace (self->server_by_peer, g_strdup (session->peer), session);
      other = g_hash_table_lookup (self->relay_by_local, session->peer);
      if (other != NULL)
        relay_match (self, other, session);
    }
}

/* "alice (127.0.0.1)": the sessions of one user from one host share a lane,
 * the user's device. */
static void
session_authenticated (MsDiagramModel *self,
                       Session *session,
                       const char *user)
{
  g_autofree char *host = NULL;
  g_autofree char *name = NULL;
  const char *colon;
  guint existing;

  if (session->relay_client || user == NULL)
    return;
  colon = session->peer != NULL ? strrchr (session->peer, ':') : NULL;
  host = colon != NULL ? g_strndup (session->peer, colon - session->peer)
                       : g_strdup (session->peer != NULL ? session->peer : "?");
  name = g_strdup_printf ("%s (%s)", user, host);
  existing = lane_find (self, name);

  if (existing == NO_LANE && session->own_lane)
    {
      /* The peer's lane becomes the user's: same position, new name. */
      g_autoptr(MsLaneItem) lane = g_list_model_get_item (G_LIST_MODEL (self->lanes),
                                                          session->client_lane);

      g_hash_table_remove (self->lane_by_name, lane->name);
      g_free (lane->name);
      lane->name = g_strdup (name);
      g_hash_table_insert (self->lane_by_name, g_strdup (name),
                           GUINT_TO_POINTER (session->client_lane + 1));
      g_object_notify_by_pspec (G_OBJECT (lane), lane_properties[LANE_PROP_NAME]);
      session->own_lane = FALSE;
      return;
    }
  session_move_client (self, session, lane_ensure (self, name, FALSE), FALSE);
}

/* The lane at the other end of a session's arrows. */
static guint
session_client_lane (MsDiagramModel *self,
                     Session *session)
{
  if (session->client_lane == NO_LANE)
    {
      const char *peer = session->peer != NULL ? session->peer : "?";

      /* A relay client talks to the server at its peer address; a server
       * session's client is named after its peer until it logs in. */
      session->client_lane = lane_ensure (self, peer, session->relay_client);
      session->own_lane = !session->relay_client;
    }
  return session->client_lane;
}

/* RFC 5321 §4.2.1 reply code classes, POP3 status indicators (RFC 1939 §3),
 * IMAP status responses (RFC 3501 §7.1). */
static MsArrowClass
reply_class (const MsEvent *event)
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
  if (strcmp (status, "-ERR") == 0 || strcmp (status, "NO") == 0
      || strcmp (status, "BAD") == 0 || strcmp (status, "BYE") == 0)
    return MS_ARROW_CLASS_PERMFAIL;
  return MS_ARROW_CLASS_INFO;
}

/* Which way a `data` event goes: SMTP's message comes from the client,
 * POP3's RETR and TOP bodies from the server, an IMAP literal follows the
 * line that announced it. */
static gboolean
data_outbound (const Session *session,
               const MsEvent *event)
{
  const char *proto = ms_event_get_string (event, "proto");

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
  g_autoptr(MsArrowItem) arrow = g_object_new (MS_TYPE_ARROW_ITEM, NULL);
  guint server_lane = lane_ensure (self, session->server, TRUE);
  guint client_lane = session_client_lane (self, session);
  gboolean outbound;

  switch (event->kind)
    {
    case MS_EVENT_COMMAND:
      arrow->kind = "command";
      arrow->klass = MS_ARROW_CLASS_COMMAND;
      outbound = TRUE;
      break;
    case MS_EVENT_REPLY:
      arrow->kind = "reply";
      arrow->klass = reply_class (event);
      outbound = FALSE;
      break;
    default:
      arrow->kind = "data";
      arrow->klass = MS_ARROW_CLASS_INFO;
      outbound = data_outbound (session, event);
      break;
    }
  session->last_outbound = outbound;

  /* A relay client's commands leave its own server: the far end is its peer. */
  if (session->relay_client)
    outbound = !outbound;
  arrow->from_lane = outbound ? client_lane : server_lane;
  arrow->to_lane = outbound ? server_lane : client_lane;
  arrow->seq = event->seq;
  arrow->server = g_strdup (session->server);
  arrow->session = g_strdup (id);
  arrow->text = g_strdup (ms_event_get_string (event, "text"));
  arrow->proto = g_strdup (ms_event_get_string (event, "proto"));

  g_ptr_array_add (session->arrows, arrow);
  g_ptr_array_add (self->arrows, g_object_ref (arrow));
  if (session_shown (session))
    {
      g_ptr_array_add (self->visible, arrow);
      g_list_model_items_changed (G_LIST_MODEL (self), self->visible->len - 1, 0, 1);
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

  id = ms_event_get_string (event, "session");
  if (id == NULL)
    return;

  switch (event->kind)
    {
    case MS_EVENT_SESSION_OPEN:
      session = session_ensure (self, event, id);
      if (!session->relay_client)
        lane_ensure (self, session->server, TRUE);
      session_open (self, session, event);
      break;
    case MS_EVENT_AUTH:
      if (ms_event_get_bool (event, "success", FALSE))
        session_authenticated (self, session_ensure (self, event, id),
                               ms_event_get_string (event, "user"));
      break;
    case MS_EVENT_COMMAND:
    case MS_EVENT_REPLY:
    case MS_EVENT_DATA:
      add_arrow (self, session_ensure (self, event, id), event, id);
      break;
    default:
      break;
    }
}

void
ms_diagram_model_reset (MsDiagramModel *self)
{
  guint removed;

  g_return_if_fail (MS_IS_DIAGRAM_MODEL (self));

  removed = self->visible->len;
  g_ptr_array_set_size (self->visible, 0);
  g_hash_table_remove_all (self->relay_by_local);
  g_hash_table_remove_all (self->server_by_peer);
  g_hash_table_remove_all (self->sessions);
  g_ptr_array_set_size (self->arrows, 0);
  g_hash_table_remove_all (self->lane_by_name);
  g_list_store_remove_all (self->lanes);
  if (removed > 0)
    g_list_model_items_changed (G_LIST_MODEL (self), 0, removed, 0);
}

void
ms_diagram_model_set_session_visible (MsDiagramModel *self,
                                      const char *server,
                                      const char *session,
                                      gboolean visible)
{
  g_autofree char *key = NULL;
  Session *record;

  g_return_if_fail (MS_IS_DIAGRAM_MODEL (self));
  g_return_if_fail (session != NULL);

  key = session_key (server, session);
  record = g_hash_table_lookup (self->sessions, key);
  if (record == NULL || record->visible == !!visible)
    return;
  record->visible = !!visible;
  refilter (self);
}
