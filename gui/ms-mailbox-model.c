/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "mailscope-gui"

#include "config.h"

#include <string.h>

#include "ms-mailbox-model.h"

static const GEnumValue status_values[] = {
  { MS_MESSAGE_STATUS_PRESENT, "MS_MESSAGE_STATUS_PRESENT", "present" },
  { MS_MESSAGE_STATUS_POP3_MARKED, "MS_MESSAGE_STATUS_POP3_MARKED", "pop3-marked" },
  { MS_MESSAGE_STATUS_DELETED_FLAG, "MS_MESSAGE_STATUS_DELETED_FLAG", "deleted-flag" },
  { MS_MESSAGE_STATUS_GONE, "MS_MESSAGE_STATUS_GONE", "gone" },
  { 0, NULL, NULL },
};

GType
ms_message_status_get_type (void)
{
  static gsize type = 0;

  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("MsMessageStatus", status_values));
  return type;
}

const char *
ms_message_status_to_string (MsMessageStatus status)
{
  g_return_val_if_fail (status <= MS_MESSAGE_STATUS_GONE, NULL);
  return status_values[status].value_nick;
}

/* ---- MsFolderItem ---- */

struct _MsFolderItem
{
  GObject parent_instance;
  char *server;
  char *user;
  char *folder;
  guint n_messages;
  guint n_unseen;
};

G_DEFINE_FINAL_TYPE (MsFolderItem, ms_folder_item, G_TYPE_OBJECT)

enum {
  FOLDER_PROP_0,
  FOLDER_PROP_SERVER,
  FOLDER_PROP_USER,
  FOLDER_PROP_FOLDER,
  FOLDER_PROP_N_MESSAGES,
  FOLDER_PROP_N_UNSEEN,
  FOLDER_N_PROPS
};

static GParamSpec *folder_properties[FOLDER_N_PROPS];

static void
ms_folder_item_finalize (GObject *object)
{
  MsFolderItem *self = MS_FOLDER_ITEM (object);

  g_free (self->server);
  g_free (self->user);
  g_free (self->folder);
  G_OBJECT_CLASS (ms_folder_item_parent_class)->finalize (object);
}

static void
ms_folder_item_get_property (GObject *object,
                             guint prop_id,
                             GValue *value,
                             GParamSpec *pspec)
{
  MsFolderItem *self = MS_FOLDER_ITEM (object);

  switch (prop_id)
    {
    case FOLDER_PROP_SERVER:
      g_value_set_string (value, self->server);
      break;
    case FOLDER_PROP_USER:
      g_value_set_string (value, self->user);
      break;
    case FOLDER_PROP_FOLDER:
      g_value_set_string (value, self->folder);
      break;
    case FOLDER_PROP_N_MESSAGES:
      g_value_set_uint (value, self->n_messages);
      break;
    case FOLDER_PROP_N_UNSEEN:
      g_value_set_uint (value, self->n_unseen);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_folder_item_class_init (MsFolderItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = ms_folder_item_finalize;
  object_class->get_property = ms_folder_item_get_property;

  folder_properties[FOLDER_PROP_SERVER] = g_param_spec_string ("server", NULL, NULL, NULL, flags);
  folder_properties[FOLDER_PROP_USER] = g_param_spec_string ("user", NULL, NULL, NULL, flags);
  folder_properties[FOLDER_PROP_FOLDER] = g_param_spec_string ("folder", NULL, NULL, NULL, flags);
  folder_properties[FOLDER_PROP_N_MESSAGES] =
    g_param_spec_uint ("n-messages", NULL, NULL, 0, G_MAXUINT, 0, flags);
  folder_properties[FOLDER_PROP_N_UNSEEN] =
    g_param_spec_uint ("n-unseen", NULL, NULL, 0, G_MAXUINT, 0, flags);
  g_object_class_install_properties (object_class, FOLDER_N_PROPS, folder_properties);
}

static void
ms_folder_item_init (MsFolderItem *self)
{
}

const char *
ms_folder_item_get_server (MsFolderItem *self)
{
  g_return_val_if_fail (MS_IS_FOLDER_ITEM (self), NULL);
  return self->server;
}

const char *
ms_folder_item_get_user (MsFolderItem *self)
{
  g_return_val_if_fail (MS_IS_FOLDER_ITEM (self), NULL);
  return self->user;
}

const char *
ms_folder_item_get_folder (MsFolderItem *self)
{
  g_return_val_if_fail (MS_IS_FOLDER_ITEM (self), NULL);
  return self->folder;
}

guint
ms_folder_item_get_n_messages (MsFolderItem *self)
{
  g_return_val_if_fail (MS_IS_FOLDER_ITEM (self), 0);
  return self->n_messages;
}

guint
ms_folder_item_get_n_unseen (MsFolderItem *self)
{
  g_return_val_if_fail (MS_IS_FOLDER_ITEM (self), 0);
  return self->n_unseen;
}

/* ---- MsMessageItem ---- */

struct _MsMessageItem
{
  GObject parent_instance;
  guint uid;
  char *flags;
  guint64 size;
  char *from;
  char *subject;
  MsMessageStatus status;
  guint64 changed_seq;
  const char *changed_server;   /* interned */
  const char *changed_op;       /* interned */
  MsEvent *cause;               /* owned; NULL when not known */
};

G_DEFINE_FINAL_TYPE (MsMessageItem, ms_message_item, G_TYPE_OBJECT)

enum {
  MESSAGE_PROP_0,
  MESSAGE_PROP_UID,
  MESSAGE_PROP_FLAGS,
  MESSAGE_PROP_SIZE,
  MESSAGE_PROP_FROM,
  MESSAGE_PROP_SUBJECT,
  MESSAGE_PROP_STATUS,
  MESSAGE_PROP_CHANGED_SEQ,
  MESSAGE_N_PROPS
};

static GParamSpec *message_properties[MESSAGE_N_PROPS];

static void
ms_message_item_finalize (GObject *object)
{
  MsMessageItem *self = MS_MESSAGE_ITEM (object);

  g_free (self->flags);
  g_free (self->from);
  g_free (self->subject);
  g_clear_pointer (&self->cause, ms_event_unref);
  G_OBJECT_CLASS (ms_message_item_parent_class)->finalize (object);
}

static void
ms_message_item_get_property (GObject *object,
                              guint prop_id,
                              GValue *value,
                              GParamSpec *pspec)
{
  MsMessageItem *self = MS_MESSAGE_ITEM (object);

  switch (prop_id)
    {
    case MESSAGE_PROP_UID:
      g_value_set_uint (value, self->uid);
      break;
    case MESSAGE_PROP_FLAGS:
      g_value_set_string (value, self->flags);
      break;
    case MESSAGE_PROP_SIZE:
      g_value_set_uint64 (value, self->size);
      break;
    case MESSAGE_PROP_FROM:
      g_value_set_string (value, self->from);
      break;
    case MESSAGE_PROP_SUBJECT:
      g_value_set_string (value, self->subject);
      break;
    case MESSAGE_PROP_STATUS:
      g_value_set_enum (value, self->status);
      break;
    case MESSAGE_PROP_CHANGED_SEQ:
      g_value_set_uint64 (value, self->changed_seq);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_message_item_class_init (MsMessageItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = ms_message_item_finalize;
  object_class->get_property = ms_message_item_get_property;

  message_properties[MESSAGE_PROP_UID] =
    g_param_spec_uint ("uid", NULL, NULL, 0, G_MAXUINT, 0, flags);
  message_properties[MESSAGE_PROP_FLAGS] = g_param_spec_string ("flags", NULL, NULL, "", flags);
  message_properties[MESSAGE_PROP_SIZE] =
    g_param_spec_uint64 ("size", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  message_properties[MESSAGE_PROP_FROM] = g_param_spec_string ("from", NULL, NULL, NULL, flags);
  message_properties[MESSAGE_PROP_SUBJECT] =
    g_param_spec_string ("subject", NULL, NULL, NULL, flags);
  message_properties[MESSAGE_PROP_STATUS] =
    g_param_spec_enum ("status", NULL, NULL, MS_TYPE_MESSAGE_STATUS, MS_MESSAGE_STATUS_PRESENT,
                       flags);
  message_properties[MESSAGE_PROP_CHANGED_SEQ] =
    g_param_spec_uint64 ("changed-seq", NULL, NULL, 0, G_MAXUINT64, 0, flags);
  g_object_class_install_properties (object_class, MESSAGE_N_PROPS, message_properties);
}

static void
ms_message_item_init (MsMessageItem *self)
{
  self->flags = g_strdup ("");
}

guint
ms_message_item_get_uid (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), 0);
  return self->uid;
}

const char *
ms_message_item_get_flags (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), NULL);
  return self->flags;
}

guint64
ms_message_item_get_size (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), 0);
  return self->size;
}

const char *
ms_message_item_get_from (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), NULL);
  return self->from;
}

const char *
ms_message_item_get_subject (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), NULL);
  return self->subject;
}

MsMessageStatus
ms_message_item_get_status (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), MS_MESSAGE_STATUS_PRESENT);
  return self->status;
}

guint64
ms_message_item_get_changed_seq (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), 0);
  return self->changed_seq;
}

const char *
ms_message_item_get_changed_server (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), NULL);
  return self->changed_server;
}

const char *
ms_message_item_get_changed_op (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), NULL);
  return self->changed_op;
}

const MsEvent *
ms_message_item_get_cause (MsMessageItem *self)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), NULL);
  return self->cause;
}

/* The mark of a change: its cause when known, else the store event itself;
 * a snapshot is no change anybody made, so it has none. */
static gboolean
change_mark (const char *changed_server,
             guint64 changed_seq,
             const char *op,
             const MsEvent *cause,
             const char **server_r,
             guint64 *seq_r)
{
  const char *server = NULL;
  guint64 seq = 0;

  if (cause != NULL)
    server = cause->server, seq = cause->seq;
  else if (op != NULL && strcmp (op, "snapshot") != 0)
    server = changed_server, seq = changed_seq;
  if (server_r != NULL)
    *server_r = server;
  if (seq_r != NULL)
    *seq_r = seq;
  return seq != 0;
}

gboolean
ms_message_item_get_mark (MsMessageItem *self,
                          const char **server_r,
                          guint64 *seq_r)
{
  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), FALSE);
  return change_mark (self->changed_server, self->changed_seq, self->changed_op, self->cause,
                      server_r, seq_r);
}

gboolean
ms_message_item_changed_by (MsMessageItem *self,
                            const char *server,
                            guint64 seq)
{
  const char *mark_server;
  guint64 mark_seq;

  g_return_val_if_fail (MS_IS_MESSAGE_ITEM (self), FALSE);

  if (seq == 0)
    return FALSE;
  if (self->changed_seq == seq && g_strcmp0 (self->changed_server, server) == 0)
    return TRUE;
  return ms_message_item_get_mark (self, &mark_server, &mark_seq)
         && mark_seq == seq && g_strcmp0 (mark_server, server) == 0;
}

/* Replaces a string member when `value` is given and differs; TRUE when it did. */
static gboolean
replace_string (char **slot,
                const char *value)
{
  if (value == NULL || g_strcmp0 (*slot, value) == 0)
    return FALSE;
  g_free (*slot);
  *slot = g_strdup (value);
  return TRUE;
}

/* ---- MsMailboxModel ---- */

/* A folder as far as the events tell. It outlives reset() and delete-folder
 * so that a view bound to its message list stays bound. */
typedef struct {
  char *server;
  char *user;
  char *name;
  MsFolderItem *item;       /* owned; NULL while the folder does not exist */
  GListStore *messages;     /* MsMessageItem by UID */
  GHashTable *by_uid;       /* uid -> MsMessageItem (borrowed from messages) */
} Folder;

/* The last lines a server received, candidates for the cause of its next
 * store event. */
typedef struct {
  MsEvent *last_line;           /* owned: the last command or SMTP data */
  GHashTable *by_session;       /* session -> MsEvent (owned): its last command */
} ServerLines;

struct _MsMailboxModel
{
  GObject parent_instance;
  GHashTable *folders_by_key;   /* "server\nuser\nfolder" -> Folder, owned */
  GListStore *folders;          /* MsFolderItem of the folders that exist */
  GHashTable *lines;            /* server (interned) -> ServerLines, owned */

  /* The mark of the last store event applied; 0 when none. */
  const char *last_server;      /* interned */
  guint64 last_seq;
};

enum {
  MODEL_PROP_0,
  MODEL_PROP_LAST_CHANGE_SEQ,
  MODEL_N_PROPS
};

static GParamSpec *model_properties[MODEL_N_PROPS];

G_DEFINE_FINAL_TYPE (MsMailboxModel, ms_mailbox_model, G_TYPE_OBJECT)

static void
folder_free (Folder *folder)
{
  g_free (folder->server);
  g_free (folder->user);
  g_free (folder->name);
  g_clear_object (&folder->item);
  g_clear_object (&folder->messages);
  g_clear_pointer (&folder->by_uid, g_hash_table_unref);
  g_free (folder);
}

static void
server_lines_free (ServerLines *lines)
{
  g_clear_pointer (&lines->last_line, ms_event_unref);
  g_clear_pointer (&lines->by_session, g_hash_table_unref);
  g_free (lines);
}

static void
ms_mailbox_model_finalize (GObject *object)
{
  MsMailboxModel *self = MS_MAILBOX_MODEL (object);

  g_clear_pointer (&self->folders_by_key, g_hash_table_unref);
  g_clear_object (&self->folders);
  g_clear_pointer (&self->lines, g_hash_table_unref);
  G_OBJECT_CLASS (ms_mailbox_model_parent_class)->finalize (object);
}

static void
ms_mailbox_model_get_property (GObject *object,
                               guint prop_id,
                               GValue *value,
                               GParamSpec *pspec)
{
  MsMailboxModel *self = MS_MAILBOX_MODEL (object);

  switch (prop_id)
    {
    case MODEL_PROP_LAST_CHANGE_SEQ:
      g_value_set_uint64 (value, self->last_seq);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_mailbox_model_class_init (MsMailboxModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = ms_mailbox_model_finalize;
  object_class->get_property = ms_mailbox_model_get_property;

  model_properties[MODEL_PROP_LAST_CHANGE_SEQ] =
    g_param_spec_uint64 ("last-change-seq", NULL, NULL, 0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, MODEL_N_PROPS, model_properties);
}

static void
ms_mailbox_model_init (MsMailboxModel *self)
{
  self->folders_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                (GDestroyNotify) folder_free);
  self->folders = g_list_store_new (MS_TYPE_FOLDER_ITEM);
  self->lines = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) server_lines_free);
}

gboolean
ms_mailbox_model_get_last_change (MsMailboxModel *self,
                                  const char **server_r,
                                  guint64 *seq_r)
{
  g_return_val_if_fail (MS_IS_MAILBOX_MODEL (self), FALSE);

  if (server_r != NULL)
    *server_r = self->last_seq != 0 ? self->last_server : NULL;
  if (seq_r != NULL)
    *seq_r = self->last_seq;
  return self->last_seq != 0;
}

static void
set_last_change (MsMailboxModel *self,
                 const char *server,
                 guint64 seq)
{
  /* Interned: the event the server name came from may go. */
  server = seq != 0 ? g_intern_string (server) : NULL;
  if (self->last_seq == seq && self->last_server == server)
    return;
  self->last_server = server;
  self->last_seq = seq;
  g_object_notify_by_pspec (G_OBJECT (self), model_properties[MODEL_PROP_LAST_CHANGE_SEQ]);
}

MsMailboxModel *
ms_mailbox_model_new (void)
{
  return g_object_new (MS_TYPE_MAILBOX_MODEL, NULL);
}

GListModel *
ms_mailbox_model_get_folders (MsMailboxModel *self)
{
  g_return_val_if_fail (MS_IS_MAILBOX_MODEL (self), NULL);
  return G_LIST_MODEL (self->folders);
}

static int
folder_name_compare (const char *a,
                     const char *b)
{
  gboolean a_inbox = g_strcmp0 (a, "INBOX") == 0;
  gboolean b_inbox = g_strcmp0 (b, "INBOX") == 0;

  if (a_inbox != b_inbox)
    return a_inbox ? -1 : 1;
  return g_strcmp0 (a, b);
}

static int
folder_item_compare (gconstpointer a,
                     gconstpointer b,
                     gpointer user_data)
{
  const MsFolderItem *fa = a;
  const MsFolderItem *fb = b;
  int order = g_strcmp0 (fa->server, fb->server);

  if (order == 0)
    order = g_strcmp0 (fa->user, fb->user);
  if (order == 0)
    order = folder_name_compare (fa->folder, fb->folder);
  return order;
}

/* The folder's record, made (not existing yet) when unknown. */
static Folder *
folder_lookup (MsMailboxModel *self,
               const char *server,
               const char *user,
               const char *name)
{
  g_autofree char *key = g_strjoin ("\n", server != NULL ? server : "", user, name, NULL);
  Folder *folder = g_hash_table_lookup (self->folders_by_key, key);

  if (folder == NULL)
    {
      folder = g_new0 (Folder, 1);
      folder->server = g_strdup (server != NULL ? server : "");
      folder->user = g_strdup (user);
      folder->name = g_strdup (name);
      folder->messages = g_list_store_new (MS_TYPE_MESSAGE_ITEM);
      folder->by_uid = g_hash_table_new (NULL, NULL);
      g_hash_table_insert (self->folders_by_key, g_steal_pointer (&key), folder);
    }
  return folder;
}

/* The folder, brought into existence (listed in get_folders()) when it was not. */
static Folder *
folder_ensure (MsMailboxModel *self,
               const char *server,
               const char *user,
               const char *name)
{
  Folder *folder = folder_lookup (self, server, user, name);

  if (folder->item == NULL)
    {
      folder->item = g_object_new (MS_TYPE_FOLDER_ITEM, NULL);
      folder->item->server = g_strdup (folder->server);
      folder->item->user = g_strdup (folder->user);
      folder->item->folder = g_strdup (folder->name);
      g_list_store_insert_sorted (self->folders, folder->item, folder_item_compare, NULL);
    }
  return folder;
}

/* The folder stops existing: out of the folder list, its messages forgotten. */
static void
folder_drop (MsMailboxModel *self,
             Folder *folder)
{
  guint position;

  if (folder->item != NULL && g_list_store_find (self->folders, folder->item, &position))
    g_list_store_remove (self->folders, position);
  g_clear_object (&folder->item);
  g_hash_table_remove_all (folder->by_uid);
  g_list_store_remove_all (folder->messages);
}

GListModel *
ms_mailbox_model_get_messages (MsMailboxModel *self,
                               const char *server,
                               const char *user,
                               const char *folder)
{
  g_return_val_if_fail (MS_IS_MAILBOX_MODEL (self), NULL);
  g_return_val_if_fail (user != NULL && folder != NULL, NULL);

  return G_LIST_MODEL (folder_lookup (self, server, user, folder)->messages);
}

MsMessageItem *
ms_mailbox_model_lookup_message (MsMailboxModel *self,
                                 const char *server,
                                 const char *user,
                                 const char *folder,
                                 guint uid)
{
  g_return_val_if_fail (MS_IS_MAILBOX_MODEL (self), NULL);
  g_return_val_if_fail (user != NULL && folder != NULL, NULL);

  return g_hash_table_lookup (folder_lookup (self, server, user, folder)->by_uid,
                              GUINT_TO_POINTER (uid));
}

static int
message_item_compare (gconstpointer a,
                      gconstpointer b,
                      gpointer user_data)
{
  const MsMessageItem *ma = a;
  const MsMessageItem *mb = b;

  return (ma->uid > mb->uid) - (ma->uid < mb->uid);
}

/* How a message counts in its folder's n-messages and n-unseen. */
static void
message_counts (const MsMessageItem *message,
                int *counted_r,
                int *unseen_r)
{
  *counted_r = message->status != MS_MESSAGE_STATUS_GONE;
  *unseen_r = *counted_r && strchr (message->flags, 'S') == NULL;
}

static MsMessageStatus
status_from_flags (const char *flags)
{
  return strchr (flags, 'T') != NULL ? MS_MESSAGE_STATUS_DELETED_FLAG : MS_MESSAGE_STATUS_PRESENT;
}

/* The message with `uid` in `folder`, added (present, no flags) when unknown. */
static MsMessageItem *
message_ensure (Folder *folder,
                guint uid)
{
  MsMessageItem *message = g_hash_table_lookup (folder->by_uid, GUINT_TO_POINTER (uid));
  gboolean append = TRUE;
  guint n;

  if (message != NULL)
    return message;

  message = g_object_new (MS_TYPE_MESSAGE_ITEM, NULL);
  message->uid = uid;
  g_hash_table_insert (folder->by_uid, GUINT_TO_POINTER (uid), message);
  /* New UIDs are nearly always the highest: append without a search then. */
  n = g_list_model_get_n_items (G_LIST_MODEL (folder->messages));
  if (n > 0)
    {
      g_autoptr(MsMessageItem) last = g_list_model_get_item (G_LIST_MODEL (folder->messages),
                                                             n - 1);
      append = last->uid < uid;
    }
  if (append)
    g_list_store_append (folder->messages, message);
  else
    g_list_store_insert_sorted (folder->messages, message, message_item_compare, NULL);
  g_object_unref (message);

  folder->item->n_messages++;
  folder->item->n_unseen++;
  g_object_notify_by_pspec (G_OBJECT (folder->item), folder_properties[FOLDER_PROP_N_MESSAGES]);
  g_object_notify_by_pspec (G_OBJECT (folder->item), folder_properties[FOLDER_PROP_N_UNSEEN]);
  return message;
}

/* What a change is stamped with: the event that made it, and its cause. */
typedef struct {
  const char *server;     /* interned */
  guint64 seq;
  const char *op;         /* interned */
  MsEvent *cause;         /* borrowed; NULL when not known */
} Change;

/* Gives `message` new flags and status (NULL flags keep them), stamps the
 * change that did it, and keeps the folder's counts true. */
static void
message_update (Folder *folder,
                MsMessageItem *message,
                const char *flags,
                MsMessageStatus status,
                const Change *change)
{
  GObject *object = G_OBJECT (message);
  int counted_before, unseen_before, counted_after, unseen_after;

  message_counts (message, &counted_before, &unseen_before);
  g_object_freeze_notify (object);
  if (replace_string (&message->flags, flags))
    g_object_notify_by_pspec (object, message_properties[MESSAGE_PROP_FLAGS]);
  if (message->status != status)
    {
      message->status = status;
      g_object_notify_by_pspec (object, message_properties[MESSAGE_PROP_STATUS]);
    }
  /* The server, op and cause go with changed-seq: one notification. */
  if (message->changed_seq != change->seq || message->changed_server != change->server
      || message->changed_op != change->op || message->cause != change->cause)
    {
      message->changed_seq = change->seq;
      message->changed_server = change->server;
      message->changed_op = change->op;
      if (message->cause != change->cause)
        {
          g_clear_pointer (&message->cause, ms_event_unref);
          message->cause = change->cause != NULL ? ms_event_ref (change->cause) : NULL;
        }
      g_object_notify_by_pspec (object, message_properties[MESSAGE_PROP_CHANGED_SEQ]);
    }
  g_object_thaw_notify (object);

  message_counts (message, &counted_after, &unseen_after);
  if (counted_after != counted_before)
    {
      folder->item->n_messages += counted_after - counted_before;
      g_object_notify_by_pspec (G_OBJECT (folder->item), folder_properties[FOLDER_PROP_N_MESSAGES]);
    }
  if (unseen_after != unseen_before)
    {
      folder->item->n_unseen += unseen_after - unseen_before;
      g_object_notify_by_pspec (G_OBJECT (folder->item), folder_properties[FOLDER_PROP_N_UNSEEN]);
    }
}

/* Fills what the event tells about the message (size, subject, from). */
static void
message_describe (MsMessageItem *message,
                  gint64 size,
                  const char *subject,
                  const char *from)
{
  GObject *object = G_OBJECT (message);

  g_object_freeze_notify (object);
  if (size >= 0 && (guint64) size != message->size)
    {
      message->size = size;
      g_object_notify_by_pspec (object, message_properties[MESSAGE_PROP_SIZE]);
    }
  if (replace_string (&message->subject, subject))
    g_object_notify_by_pspec (object, message_properties[MESSAGE_PROP_SUBJECT]);
  if (replace_string (&message->from, from))
    g_object_notify_by_pspec (object, message_properties[MESSAGE_PROP_FROM]);
  g_object_thaw_notify (object);
}

static guint
uid_of (const MsEvent *event,
        const char *name)
{
  gint64 uid = ms_event_get_int (event, name, 0);

  return uid > 0 && uid <= G_MAXUINT32 ? (guint) uid : 0;
}

/* The message the store event names, in an existing folder, described with
 * what the event says about it. NULL when the event names no valid UID. */
static MsMessageItem *
store_message (MsMailboxModel *self,
               const MsEvent *event,
               Folder **folder_r)
{
  guint uid = uid_of (event, "uid");
  MsMessageItem *message;

  *folder_r = folder_ensure (self, event->server, ms_event_get_string (event, "user"),
                             ms_event_get_string (event, "folder"));
  if (uid == 0)
    return NULL;
  message = message_ensure (*folder_r, uid);
  message_describe (message, ms_event_get_int (event, "size", -1),
                    ms_event_get_string (event, "subject"), ms_event_get_string (event, "from"));
  return message;
}

/* IMAP RENAME (RFC 3501 §6.3.5): the messages go with the name. Renaming
 * INBOX moves its messages and leaves INBOX there, empty. */
static void
rename_folder (MsMailboxModel *self,
               const MsEvent *event,
               const Change *change,
               Folder *from)
{
  const char *new_name = ms_event_get_string (event, "new-name");
  Folder *to;
  guint n;

  if (new_name == NULL || g_strcmp0 (new_name, from->name) == 0)
    return;
  to = folder_ensure (self, from->server, from->user, new_name);
  n = g_list_model_get_n_items (G_LIST_MODEL (from->messages));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MsMessageItem) old = g_list_model_get_item (G_LIST_MODEL (from->messages), i);
      MsMessageItem *message;

      if (old->status == MS_MESSAGE_STATUS_GONE)
        continue;
      message = message_ensure (to, old->uid);
      message_describe (message, old->size, old->subject, old->from);
      message_update (to, message, old->flags, old->status, change);
    }
  if (g_strcmp0 (from->name, "INBOX") == 0)
    {
      folder_drop (self, from);
      folder_ensure (self, from->server, from->user, "INBOX");
    }
  else
    folder_drop (self, from);
}

static ServerLines *
server_lines (MsMailboxModel *self,
              const char *server,
              gboolean create)
{
  const char *key = g_intern_string (server);
  ServerLines *lines = g_hash_table_lookup (self->lines, key);

  if (lines == NULL && create)
    {
      lines = g_new0 (ServerLines, 1);
      lines->by_session = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                 (GDestroyNotify) ms_event_unref);
      g_hash_table_insert (self->lines, (gpointer) key, lines);
    }
  return lines;
}

/* Notes a line the server received that may cause a store event: a command
 * (not the lines after an IMAP literal: the command began before them), or
 * a message after SMTP DATA or BDAT. What a client recorded it sent, and
 * the data a server sends (RETR, FETCH), change no mailbox of that server. */
static void
note_line (MsMailboxModel *self,
           MsEvent *event)
{
  const char *session = ms_event_get_string (event, "session");
  ServerLines *lines;

  if (g_strcmp0 (ms_event_get_string (event, "direction"), "client") == 0)
    return;
  if (event->kind == MS_EVENT_COMMAND && ms_event_get_bool (event, "continuation", FALSE))
    return;
  if (event->kind == MS_EVENT_DATA && g_strcmp0 (ms_event_get_string (event, "proto"), "smtp"))
    return;

  lines = server_lines (self, event->server, TRUE);
  g_clear_pointer (&lines->last_line, ms_event_unref);
  lines->last_line = ms_event_ref (event);
  if (session != NULL && event->kind == MS_EVENT_COMMAND)
    {
      MsEvent *known = g_hash_table_lookup (lines->by_session, session);

      /* Sessions are few, commands many: reuse the key when there is one. */
      if (known != NULL)
        g_hash_table_steal_extended (lines->by_session, session, (gpointer *) &session, NULL);
      else
        session = g_strdup (session);
      g_hash_table_insert (lines->by_session, (gpointer) session, ms_event_ref (event));
      g_clear_pointer (&known, ms_event_unref);
    }
}

/* The line that caused `event` (see the header): borrowed, or NULL. */
static MsEvent *
cause_of (MsMailboxModel *self,
          const MsEvent *event)
{
  const char *session = ms_event_get_string (event, "session");
  ServerLines *lines = server_lines (self, event->server, FALSE);
  MsEvent *cause;

  if (lines == NULL)
    return NULL;
  /* POP3's store events name their session (docs/trace-format.md). */
  if (session != NULL && (cause = g_hash_table_lookup (lines->by_session, session)) != NULL)
    return cause;
  return lines->last_line;
}

static void
apply_store (MsMailboxModel *self,
             const MsEvent *event)
{
  const char *op = ms_event_get_string (event, "op");
  const char *flags = ms_event_get_string (event, "flags");
  Folder *folder;
  MsMessageItem *message;
  Change change;

  if (op == NULL || ms_event_get_string (event, "user") == NULL
      || ms_event_get_string (event, "folder") == NULL)
    return;

  change.server = g_intern_string (event->server);
  change.seq = event->seq;
  change.op = g_intern_string (op);
  change.cause = cause_of (self, event);
  {
    const char *mark_server;
    guint64 mark_seq;

    change_mark (change.server, change.seq, change.op, change.cause, &mark_server, &mark_seq);
    set_last_change (self, mark_server, mark_seq);
  }
  message = store_message (self, event, &folder);
  if (strcmp (op, "deliver") == 0 || strcmp (op, "flag") == 0)
    {
      if (message != NULL)
        {
          const char *new_flags = flags != NULL ? flags : message->flags;
          MsMessageStatus status = status_from_flags (new_flags);

          /* A POP3 mark outlives a flag change until QUIT or RSET. */
          if (message->status == MS_MESSAGE_STATUS_POP3_MARKED)
            status = MS_MESSAGE_STATUS_POP3_MARKED;
          message_update (folder, message, new_flags, status, &change);
        }
    }
  else if (strcmp (op, "expunge") == 0)
    {
      if (message != NULL)
        message_update (folder, message, flags, MS_MESSAGE_STATUS_GONE, &change);
    }
  else if (strcmp (op, "copy") == 0)
    {
      const char *to_name = ms_event_get_string (event, "to-folder");
      guint new_uid = uid_of (event, "new-uid");

      if (message != NULL && to_name != NULL && new_uid != 0)
        {
          Folder *to = folder_ensure (self, event->server, folder->user, to_name);
          MsMessageItem *copy = message_ensure (to, new_uid);
          const char *copy_flags = flags != NULL ? flags : message->flags;

          message_describe (copy, message->size, message->subject, message->from);
          message_update (to, copy, copy_flags, status_from_flags (copy_flags), &change);
        }
    }
  else if (strcmp (op, "pop3-mark") == 0)
    {
      if (message != NULL)
        message_update (folder, message, NULL, MS_MESSAGE_STATUS_POP3_MARKED, &change);
    }
  else if (strcmp (op, "pop3-unmark") == 0)
    {
      if (message != NULL && message->status == MS_MESSAGE_STATUS_POP3_MARKED)
        message_update (folder, message, NULL, status_from_flags (message->flags), &change);
    }
  else if (strcmp (op, "rename-folder") == 0)
    rename_folder (self, event, &change, folder);
  else if (strcmp (op, "delete-folder") == 0)
    folder_drop (self, folder);
  /* create-folder: store_message() made it. pop3-commit: one expunge per
   * message follows it (docs/trace-format.md), which does the work. */
}

static void
drop_server (MsMailboxModel *self,
             const char *server)
{
  GHashTableIter iter;
  Folder *folder;

  g_hash_table_iter_init (&iter, self->folders_by_key);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &folder))
    if (server == NULL || g_strcmp0 (folder->server, server) == 0)
      folder_drop (self, folder);
}

static const char *
json_string (JsonObject *object,
             const char *name)
{
  return json_object_get_string_member_with_default (object, name, NULL);
}

static JsonArray *
json_array (JsonObject *object,
            const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

/* Calls `func` for each member of `array` that is an object. */
static void
foreach_object (JsonArray *array,
                void (*func) (JsonObject *object, gpointer user_data),
                gpointer user_data)
{
  guint n = array != NULL ? json_array_get_length (array) : 0;

  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_OBJECT (node))
        func (json_node_get_object (node), user_data);
    }
}

typedef struct {
  MsMailboxModel *self;
  const MsEvent *event;
  const char *user;
  Folder *folder;
} SnapshotWalk;

static void
snapshot_message (JsonObject *object,
                  gpointer user_data)
{
  SnapshotWalk *walk = user_data;
  gint64 uid = json_object_get_int_member_with_default (object, "uid", 0);
  const char *flags = json_string (object, "flags");
  MsMessageItem *message;
  Change change = {
    g_intern_string (walk->event->server), walk->event->seq, g_intern_static_string ("snapshot"),
    NULL
  };

  if (uid <= 0 || uid > G_MAXUINT32)
    return;
  message = message_ensure (walk->folder, (guint) uid);
  message_describe (message, json_object_get_int_member_with_default (object, "size", -1),
                    json_string (object, "subject"), json_string (object, "from"));
  message_update (walk->folder, message, flags != NULL ? flags : "",
                  status_from_flags (flags != NULL ? flags : ""), &change);
}

static void
snapshot_folder (JsonObject *object,
                 gpointer user_data)
{
  SnapshotWalk *walk = user_data;
  const char *name = json_string (object, "folder");

  if (name == NULL)
    return;
  walk->folder = folder_ensure (walk->self, walk->event->server, walk->user, name);
  foreach_object (json_array (object, "messages"), snapshot_message, walk);
}

static void
snapshot_user (JsonObject *object,
               gpointer user_data)
{
  SnapshotWalk *walk = user_data;

  walk->user = json_string (object, "user");
  if (walk->user != NULL)
    foreach_object (json_array (object, "folders"), snapshot_folder, walk);
}

void
ms_mailbox_model_apply (MsMailboxModel *self,
                        const MsEvent *event)
{
  g_return_if_fail (MS_IS_MAILBOX_MODEL (self));
  g_return_if_fail (event != NULL);

  switch (event->kind)
    {
    case MS_EVENT_STORE:
      apply_store (self, event);
      break;
    case MS_EVENT_COMMAND:
    case MS_EVENT_DATA:
      note_line (self, (MsEvent *) event);
      break;
    case MS_EVENT_SNAPSHOT:
      {
        SnapshotWalk walk = { self, event, NULL, NULL };

        /* A later snapshot replaces all that is known of its server, the
         * last change there included. */
        drop_server (self, event->server);
        if (self->last_server == g_intern_string (event->server))
          set_last_change (self, NULL, 0);
        foreach_object (json_array (event->fields, "users"), snapshot_user, &walk);
      }
      break;
    default:
      break;
    }
}

void
ms_mailbox_model_reset (MsMailboxModel *self)
{
  g_return_if_fail (MS_IS_MAILBOX_MODEL (self));
  drop_server (self, NULL);
  g_hash_table_remove_all (self->lines);
  set_last_change (self, NULL, 0);
}

void
ms_mailbox_model_rebuild (MsMailboxModel *self,
                          MsTraceModel *trace,
                          guint n)
{
  g_return_if_fail (MS_IS_MAILBOX_MODEL (self));
  g_return_if_fail (MS_IS_TRACE_MODEL (trace));

  ms_mailbox_model_reset (self);
  n = MIN (n, ms_trace_model_get_n_events (trace));
  for (guint i = 0; i < n; i++)
    ms_mailbox_model_apply (self, ms_trace_model_get_event (trace, i));
}
