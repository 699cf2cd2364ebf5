/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap-page"

#include "config.h"

#include <gmime/gmime.h>

#include "ms-imap-ops.h"
#include "ms-imap-page.h"
#include "ms-message.h"

/* How much of an opened message the text view shows: a 10 MiB attachment
 * would make the view crawl, and nobody reads it from a projector. */
#define SHOWN_TEXT_MAX (128 * 1024)
/* How deep the search for the text/plain part goes into nested multiparts. */
#define MIME_DEPTH_MAX 8
/* Each operation is a short session on loopback: a server that does not
 * answer in this time is shown as an error instead of a spinner forever. */
#define OPERATION_TIMEOUT_S 30

/* --- the list items ------------------------------------------------------- */

struct _MsImapPageFolder
{
  GObject parent_instance;

  char *name;
  char *special_use;
  gboolean selectable;
};

G_DEFINE_FINAL_TYPE (MsImapPageFolder, ms_imap_page_folder, G_TYPE_OBJECT)

static void
ms_imap_page_folder_finalize (GObject *object)
{
  MsImapPageFolder *self = MS_IMAP_PAGE_FOLDER (object);

  g_free (self->name);
  g_free (self->special_use);
  G_OBJECT_CLASS (ms_imap_page_folder_parent_class)->finalize (object);
}

static void
ms_imap_page_folder_class_init (MsImapPageFolderClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ms_imap_page_folder_finalize;
}

static void
ms_imap_page_folder_init (MsImapPageFolder *self)
{
}

/* RFC 6154 §2: the special-use attributes a LIST reply may carry. */
static const char * const special_uses[] = {
  "\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
};

static MsImapPageFolder *
folder_new (const MsImapOpsFolder *folder)
{
  MsImapPageFolder *self = g_object_new (MS_TYPE_IMAP_PAGE_FOLDER, NULL);

  self->name = g_strdup (folder->name);
  self->selectable = TRUE;
  for (guint i = 0; folder->attributes != NULL && folder->attributes[i] != NULL; i++)
    {
      const char *attribute = folder->attributes[i];

      /* RFC 3501 §7.2.2 \Noselect; RFC 5258 §3 \NonExistent implies it. */
      if (g_ascii_strcasecmp (attribute, "\\Noselect") == 0 ||
          g_ascii_strcasecmp (attribute, "\\NonExistent") == 0)
        self->selectable = FALSE;
      for (guint j = 0; j < G_N_ELEMENTS (special_uses) && self->special_use == NULL; j++)
        if (g_ascii_strcasecmp (attribute, special_uses[j]) == 0)
          self->special_use = g_strdup (special_uses[j]);
    }
  return self;
}

const char *
ms_imap_page_folder_get_name (MsImapPageFolder *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE_FOLDER (self), NULL);
  return self->name;
}

const char *
ms_imap_page_folder_get_special_use (MsImapPageFolder *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE_FOLDER (self), NULL);
  return self->special_use;
}

gboolean
ms_imap_page_folder_get_selectable (MsImapPageFolder *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE_FOLDER (self), FALSE);
  return self->selectable;
}

struct _MsImapPageMessage
{
  GObject parent_instance;

  guint32 uid;
  GStrv flags;
  char *from;
  char *subject;
  guint64 size;
};

G_DEFINE_FINAL_TYPE (MsImapPageMessage, ms_imap_page_message, G_TYPE_OBJECT)

static void
ms_imap_page_message_finalize (GObject *object)
{
  MsImapPageMessage *self = MS_IMAP_PAGE_MESSAGE (object);

  g_strfreev (self->flags);
  g_free (self->from);
  g_free (self->subject);
  G_OBJECT_CLASS (ms_imap_page_message_parent_class)->finalize (object);
}

static void
ms_imap_page_message_class_init (MsImapPageMessageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = ms_imap_page_message_finalize;
}

static void
ms_imap_page_message_init (MsImapPageMessage *self)
{
}

static MsImapPageMessage *
message_new (const MsImapOpsMessage *message)
{
  MsImapPageMessage *self = g_object_new (MS_TYPE_IMAP_PAGE_MESSAGE, NULL);
  const char *none[] = { NULL };

  self->uid = message->uid;
  self->flags = g_strdupv (message->flags != NULL ? message->flags : (GStrv) none);
  self->from = g_strdup (message->from);
  self->subject = g_strdup (message->subject);
  self->size = message->size;
  return self;
}

guint32
ms_imap_page_message_get_uid (MsImapPageMessage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE_MESSAGE (self), 0);
  return self->uid;
}

const char * const *
ms_imap_page_message_get_flags (MsImapPageMessage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE_MESSAGE (self), NULL);
  return (const char * const *) self->flags;
}

gboolean
ms_imap_page_message_has_flag (MsImapPageMessage *self,
                               const char *flag)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE_MESSAGE (self), FALSE);
  g_return_val_if_fail (flag != NULL, FALSE);

  for (guint i = 0; self->flags[i] != NULL; i++)
    if (g_ascii_strcasecmp (self->flags[i], flag) == 0)
      return TRUE;
  return FALSE;
}

const char *
ms_imap_page_message_get_from (MsImapPageMessage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE_MESSAGE (self), NULL);
  return self->from;
}

const char *
ms_imap_page_message_get_subject (MsImapPageMessage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE_MESSAGE (self), NULL);
  return self->subject;
}

guint64
ms_imap_page_message_get_size (MsImapPageMessage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE_MESSAGE (self), 0);
  return self->size;
}

/* --- the page ------------------------------------------------------------- */

struct _MsImapPage
{
  GtkWidget parent_instance;

  GtkWidget *box;                  /* the one child */
  GtkLabel *account_label;
  GtkSpinner *spinner;
  GtkLabel *error_label;
  GtkLabel *folder_summary;
  GtkLabel *status_label;
  GtkListView *folder_view;
  GtkColumnView *message_view;
  GtkTextView *text_view;
  GtkLabel *reader_title;
  GtkWidget *reader_hint;          /* shown while no message is open */
  GtkButton *seen_button;
  GtkButton *flag_button;
  GtkButton *delete_button;
  GtkWidget *move_button;

  GListStore *folders;             /* of MsImapPageFolder */
  GtkSingleSelection *folder_selection;
  GListStore *messages;            /* of MsImapPageMessage */
  GtkSingleSelection *message_selection;
  GMenu *move_menu;                /* "Move to…": one item per other folder */

  MsAgentAccount *account;
  /* Of the running operation; NULL when none runs. Cancelled (and so
   * dropped) by dispose and by a change of account. */
  GCancellable *cancellable;
  MsImapOp op;                     /* the running operation */
  guint32 op_uid;
  char *op_folder;
  char *op_name;                   /* MOVE: the target folder */
  char *op_flag;                   /* FLAG, UNFLAG */
  char *shown_folder;              /* what the message table lists, or NULL */
  char *done;                      /* what the last change did, in words, or NULL */
  char *error;
  gboolean busy;
  gboolean updating;               /* the selections are being set here, not by a user */
};

G_DEFINE_FINAL_TYPE (MsImapPage, ms_imap_page, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ACCOUNT,
  PROP_BUSY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void run_list (MsImapPage *self, const char *folder);

static MsImapPageFolder *
selected_folder (MsImapPage *self)
{
  return gtk_single_selection_get_selected_item (self->folder_selection);
}

static MsImapPageMessage *
selected_message (MsImapPage *self)
{
  return gtk_single_selection_get_selected_item (self->message_selection);
}

static const char *
shown_name (const char *folder)
{
  return folder != NULL ? folder : "INBOX";
}

static void
update_actions (MsImapPage *self)
{
  MsImapPageMessage *message = selected_message (self);
  GMenuModel *menu = G_MENU_MODEL (self->move_menu);
  gboolean idle = !self->busy && self->account != NULL;
  gboolean on_message = idle && message != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "imap.refresh", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "imap.open", on_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "imap.toggle-seen", on_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "imap.toggle-flagged", on_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "imap.delete", on_message);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "imap.move",
                                 on_message && g_menu_model_get_n_items (menu) > 0);
  /* A menu button has no action of its own: off with its items. */
  gtk_widget_set_sensitive (self->move_button,
                            on_message && g_menu_model_get_n_items (menu) > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "imap.expunge",
                                 idle && self->shown_folder != NULL);

  /* The buttons say what they will do to this message: \Deleted and \Seen
   * are flags like any other, and setting one can be undone. */
  gtk_button_set_label (self->seen_button,
                        message != NULL && ms_imap_page_message_has_flag (message, "\\Seen")
                          ? "Mark unread" : "Mark read");
  gtk_button_set_label (self->flag_button,
                        message != NULL && ms_imap_page_message_has_flag (message, "\\Flagged")
                          ? "Unflag" : "Flag ★");
  gtk_button_set_label (self->delete_button,
                        message != NULL && ms_imap_page_message_has_flag (message, "\\Deleted")
                          ? "Undelete" : "Delete");
}

static void
set_busy (MsImapPage *self,
          gboolean busy)
{
  if (self->busy == busy)
    return;
  self->busy = busy;
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), busy);
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_error (MsImapPage *self,
           const char *error)
{
  g_free (self->error);
  self->error = g_strdup (error);
  gtk_label_set_text (self->error_label, error != NULL ? error : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), error != NULL);
}

static void
set_status (MsImapPage *self,
            const char *text)
{
  gtk_label_set_text (self->status_label, text);
}

/* `title` NULL: no message is open. */
static void
set_message_text (MsImapPage *self,
                  const char *title,
                  const char *text)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->text_view);

  gtk_text_buffer_set_text (buffer, text, -1);
  gtk_label_set_text (self->reader_title, title != NULL ? title : "Message");
  gtk_widget_set_visible (self->reader_hint, title == NULL);
}

/* --- the opened message --------------------------------------------------- */

static GMimeTextPart *
find_text_part (GMimeObject *object,
                guint depth)
{
  if (object == NULL || depth > MIME_DEPTH_MAX)
    return NULL;
  if (GMIME_IS_TEXT_PART (object) &&
      g_mime_content_type_is_type (g_mime_object_get_content_type (object), "text", "plain"))
    return GMIME_TEXT_PART (object);
  if (GMIME_IS_MULTIPART (object))
    {
      GMimeMultipart *multipart = GMIME_MULTIPART (object);

      for (int i = 0; i < g_mime_multipart_get_count (multipart); i++)
        {
          GMimeTextPart *part = find_text_part (g_mime_multipart_get_part (multipart, i),
                                                depth + 1);
          if (part != NULL)
            return part;
        }
    }
  return NULL;
}

/* The text/plain part decoded (transfer encoding and charset), or NULL. */
static char *
decoded_body (const guint8 *data,
              gsize len)
{
  GByteArray *buffer = g_byte_array_sized_new (len);
  GMimeStream *stream;
  GMimeParser *parser;
  GMimeMessage *message;
  GMimeTextPart *part;
  char *text = NULL;

  ms_message_ensure_gmime ();
  g_byte_array_append (buffer, data, len);
  /* GMime has no g_autoptr cleanups of its own: released by hand below. */
  stream = g_mime_stream_mem_new_with_byte_array (buffer);
  parser = g_mime_parser_new_with_stream (stream);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  message = g_mime_parser_construct_message (parser, NULL);
  part = message != NULL ? find_text_part (g_mime_message_get_body (message), 0) : NULL;
  if (part != NULL)
    text = g_mime_text_part_get_text (part);
  g_clear_object (&message);
  g_object_unref (parser);
  g_object_unref (stream);
  return text;
}

static void
append_crlf_free (GString *out,
                  const char *text,
                  gsize len)
{
  g_autofree char *valid = g_utf8_make_valid (text, (gssize) len);

  for (const char *p = valid; *p != '\0'; p++)
    if (*p != '\r')
      g_string_append_c (out, *p);
}

/* The header block as it came (the lesson is what a message looks like on
 * the wire), then the body text as a reader sees it; each cut at
 * SHOWN_TEXT_MAX. */
static char *
message_text (GBytes *bytes)
{
  gsize len = 0;
  const guint8 *data = g_bytes_get_data (bytes, &len);
  gsize header_len = ms_message_header_length (data, len);
  g_autofree char *body = decoded_body (data, len);
  const char *text = body != NULL ? body : (const char *) data + header_len;
  gsize text_len = body != NULL ? strlen (body) : len - header_len;
  GString *out = g_string_new (NULL);

  append_crlf_free (out, (const char *) data, MIN (header_len, SHOWN_TEXT_MAX));
  if (header_len == len)
    g_string_append_c (out, '\n');
  if (body == NULL)
    g_string_append (out, "(no text/plain part: the body as sent)\n\n");
  append_crlf_free (out, text, MIN (text_len, SHOWN_TEXT_MAX));
  if (header_len > SHOWN_TEXT_MAX || text_len > SHOWN_TEXT_MAX)
    g_string_append_printf (out, "\n… (cut here: the message has %" G_GSIZE_FORMAT " bytes)\n",
                            len);
  return g_string_free (out, FALSE);
}

/* --- operations ----------------------------------------------------------- */

static const char *
op_verb (MsImapOp op)
{
  switch (op)
    {
    case MS_IMAP_OP_FOLDERS:
      return "list the folders";
    case MS_IMAP_OP_LIST:
      return "list the messages";
    case MS_IMAP_OP_FETCH:
      return "open the message";
    case MS_IMAP_OP_FLAG:
      return "set the flag";
    case MS_IMAP_OP_UNFLAG:
      return "clear the flag";
    case MS_IMAP_OP_MOVE:
      return "move the message";
    case MS_IMAP_OP_EXPUNGE:
      return "expunge";
    default:
      return "do that";
    }
}

static void op_done_cb (GObject *source, GAsyncResult *result, gpointer user_data);

static void
replace_string (char **field,
                const char *value)
{
  char *copy = g_strdup (value);

  g_free (*field);
  *field = copy;
}

/* Starts one operation. Each is its own IMAP session (connect, LOGIN,
 * SELECT, the command, LOGOUT): ms_imap_ops_async() works that way, and
 * for a class it is a virtue, since every click draws one whole, short
 * conversation in the diagram. So after a change the page runs a second
 * session (LIST) to show the folder as the server now has it, rather
 * than guessing the result. */
static void
run_op (MsImapPage *self,
        MsImapOp op,
        const char *folder,
        guint32 uid,
        const char *name,
        const char *flag,
        const char *doing)
{
  MsAgentAccount *account = self->account;
  const char *flags[] = { flag, NULL };
  MsImapOpsParams params = {
    .host = ms_agent_account_get_host (account),
    .port = ms_agent_account_get_imap_port (account),
    /* In the clear on loopback: the class reads every line in the diagram. */
    .tls = MS_IMAP_CLIENT_TLS_NONE,
    .auth = MS_IMAP_CLIENT_AUTH_ANY,
    .username = ms_agent_account_get_user (account),
    .password = ms_agent_account_get_password (account),
    .op = op,
    .folder = folder,
    .name = name,
    .uid = uid,
    /* RFC 3501 §6.4.5: BODY[] sets \Seen, BODY.PEEK[] would not. */
    .peek = FALSE,
    .flags = flag != NULL ? flags : NULL,
    .timeout_s = OPERATION_TIMEOUT_S,
    .bus = ms_agent_account_get_bus (account),
    .trace_server = ms_agent_account_get_device (account),
  };

  g_assert (self->cancellable == NULL);
  self->cancellable = g_cancellable_new ();
  set_status (self, doing);
  set_busy (self, TRUE);
  ms_imap_ops_async (&params, self->cancellable, op_done_cb, self);
  /* Kept for op_done_cb. Copied before the old values go: `folder` may be
   * the old op_folder (the reload after a change). */
  self->op = op;
  self->op_uid = uid;
  replace_string (&self->op_folder, folder);
  replace_string (&self->op_name, name);
  replace_string (&self->op_flag, flag);
}

/* A user's operation on the chosen message or folder. */
static void
run_user_op (MsImapPage *self,
             MsImapOp op,
             guint32 uid,
             const char *name,
             const char *flag,
             const char *doing)
{
  if (self->busy || self->account == NULL || self->shown_folder == NULL)
    return;
  set_error (self, NULL);
  g_clear_pointer (&self->done, g_free);
  run_op (self, op, self->shown_folder, uid, name, flag, doing);
}

static void
run_list (MsImapPage *self,
          const char *folder)
{
  g_autofree char *doing = g_strdup_printf ("Listing the messages of %s…", folder);

  run_op (self, MS_IMAP_OP_LIST, folder, 0, NULL, NULL, doing);
}

static void
run_folders (MsImapPage *self)
{
  run_op (self, MS_IMAP_OP_FOLDERS, NULL, 0, NULL, NULL, "Listing the folders…");
}

static void
rebuild_move_menu (MsImapPage *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->folders));

  g_menu_remove_all (self->move_menu);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MsImapPageFolder) folder = g_list_model_get_item (G_LIST_MODEL (self->folders), i);
      g_autoptr(GMenuItem) item = NULL;

      if (!folder->selectable || g_strcmp0 (folder->name, self->shown_folder) == 0)
        continue;
      item = g_menu_item_new (folder->name, NULL);
      g_menu_item_set_action_and_target_value (item, "imap.move",
                                               g_variant_new_string (folder->name));
      g_menu_append_item (self->move_menu, item);
    }
}

static gboolean
find_folder (MsImapPage *self,
             const char *name,
             guint *position_r)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->folders));

  for (guint i = 0; name != NULL && i < n; i++)
    {
      g_autoptr(MsImapPageFolder) folder = g_list_model_get_item (G_LIST_MODEL (self->folders), i);

      if (g_str_equal (folder->name, name))
        {
          *position_r = i;
          return TRUE;
        }
    }
  return FALSE;
}

static void
show_folders (MsImapPage *self,
              GPtrArray *folders)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  MsImapPageFolder *selected = selected_folder (self);
  g_autofree char *keep = g_strdup (selected != NULL ? selected->name : self->shown_folder);
  guint position = 0;

  /* INBOX first (it is every user's, RFC 3501 §5.1), then in LIST order. */
  for (guint i = 0; i < folders->len; i++)
    {
      MsImapOpsFolder *folder = g_ptr_array_index (folders, i);

      if (g_ascii_strcasecmp (folder->name, "INBOX") == 0)
        g_ptr_array_insert (items, 0, folder_new (folder));
      else
        g_ptr_array_add (items, folder_new (folder));
    }
  self->updating = TRUE;
  g_list_store_splice (self->folders, 0, g_list_model_get_n_items (G_LIST_MODEL (self->folders)),
                       items->pdata, items->len);
  if (!find_folder (self, keep, &position))
    position = 0;
  gtk_single_selection_set_selected (self->folder_selection,
                                     items->len > 0 ? position : GTK_INVALID_LIST_POSITION);
  self->updating = FALSE;
  rebuild_move_menu (self);
  update_actions (self);
}

static void
update_folder_summary (MsImapPage *self)
{
  GListModel *messages = G_LIST_MODEL (self->messages);
  guint n = g_list_model_get_n_items (messages);
  guint unseen = 0;
  guint deleted = 0;
  g_autofree char *text = NULL;

  for (guint i = 0; i < n; i++)
    {
      g_autoptr(MsImapPageMessage) message = g_list_model_get_item (messages, i);

      unseen += !ms_imap_page_message_has_flag (message, "\\Seen");
      deleted += ms_imap_page_message_has_flag (message, "\\Deleted");
    }
  if (self->shown_folder == NULL)
    text = g_strdup ("Messages");
  else
    text = g_strdup_printf ("%s: %u message%s, %u unseen, %u \\Deleted", self->shown_folder,
                            n, n == 1 ? "" : "s", unseen, deleted);
  gtk_label_set_text (self->folder_summary, text);
}

static void
show_messages (MsImapPage *self,
               const char *folder,
               GPtrArray *messages)
{
  g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  MsImapPageMessage *selected = selected_message (self);
  gboolean same_folder = g_strcmp0 (folder, self->shown_folder) == 0;
  guint32 keep = selected != NULL && same_folder ? selected->uid : 0;
  guint position = GTK_INVALID_LIST_POSITION;

  for (guint i = 0; messages != NULL && i < messages->len; i++)
    {
      MsImapPageMessage *item = message_new (g_ptr_array_index (messages, i));

      if (item->uid == keep && keep != 0)
        position = i;
      g_ptr_array_add (items, item);
    }
  if (!same_folder)
    {
      g_free (self->shown_folder);
      self->shown_folder = g_strdup (folder);
      set_message_text (self, NULL, "");
      rebuild_move_menu (self);
    }
  self->updating = TRUE;
  g_list_store_splice (self->messages, 0, g_list_model_get_n_items (G_LIST_MODEL (self->messages)),
                       items->pdata, items->len);
  gtk_single_selection_set_selected (self->message_selection, position);
  self->updating = FALSE;
  update_folder_summary (self);
  update_actions (self);
}

/* What the operation did, in a sentence that names the protocol step. */
static char *
describe_done (MsImapPage *self,
               const MsImapOpsResult *result)
{
  switch (self->op)
    {
    case MS_IMAP_OP_FETCH:
      return g_strdup_printf ("Opened UID %u: UID FETCH BODY[] (not BODY.PEEK[]) set \\Seen",
                              self->op_uid);
    case MS_IMAP_OP_FLAG:
      return g_strdup_printf ("UID %u: UID STORE +FLAGS (%s)", self->op_uid, self->op_flag);
    case MS_IMAP_OP_UNFLAG:
      return g_strdup_printf ("UID %u: UID STORE -FLAGS (%s)", self->op_uid, self->op_flag);
    case MS_IMAP_OP_MOVE:
      return g_strdup_printf ("Moved UID %u to %s (%s)", self->op_uid, self->op_name,
                              result->used_move ? "MOVE, RFC 6851"
                                                : "COPY, STORE \\Deleted, EXPUNGE");
    case MS_IMAP_OP_EXPUNGE:
      return g_strdup_printf ("EXPUNGE removed %u message%s marked \\Deleted from %s",
                              result->expunged, result->expunged == 1 ? "" : "s",
                              shown_name (self->op_folder));
    default:
      return NULL;
    }
}

static void
finish_chain (MsImapPage *self)
{
  MsImapPageFolder *folder = selected_folder (self);

  /* The user chose another folder while something ran: list it now. */
  if (self->error == NULL && folder != NULL && folder->selectable &&
      g_strcmp0 (folder->name, self->shown_folder) != 0)
    {
      run_list (self, folder->name);
      return;
    }
  if (folder != NULL && !folder->selectable)
    {
      g_autofree char *text = g_strdup_printf ("%s holds no messages (\\Noselect): it only "
                                               "names a level of the hierarchy", folder->name);
      show_messages (self, NULL, NULL);
      set_status (self, text);
    }
  else
    set_status (self, self->done != NULL ? self->done : "");
  set_busy (self, FALSE);
}

static void
op_done_cb (GObject *source,
            GAsyncResult *async_result,
            gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsImapOpsResult) result = ms_imap_ops_finish (async_result, &error);
  MsImapPage *self;

  /* Cancelled by dispose or by a new account: the page may be gone, so
   * `user_data` is not looked at. (GTask reports the cancellation even
   * when the session had already ended.) */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  self = MS_IMAP_PAGE (user_data);
  g_clear_object (&self->cancellable);

  if (error != NULL || result->status != MS_IMAP_CLIENT_STATUS_OK)
    {
      g_autofree char *text = g_strdup_printf ("Could not %s: %s", op_verb (self->op),
                                               error != NULL ? error->message : result->text);
      set_error (self, text);
      set_status (self, "");
      set_busy (self, FALSE);
      return;
    }

  switch (self->op)
    {
    case MS_IMAP_OP_FOLDERS:
      show_folders (self, result->folders);
      /* Refresh lists the shown folder again too: its messages may have
       * changed as much as the folders. */
      if (selected_folder (self) != NULL && selected_folder (self)->selectable)
        run_list (self, selected_folder (self)->name);
      else
        finish_chain (self);
      return;
    case MS_IMAP_OP_LIST:
      show_messages (self, self->op_folder, result->messages);
      finish_chain (self);
      return;
    case MS_IMAP_OP_FETCH:
      {
        g_autofree char *text = result->body != NULL ? message_text (result->body) : NULL;
        g_autofree char *title = g_strdup_printf ("Message UID %u, as fetched", self->op_uid);

        set_message_text (self, title, text != NULL ? text : "");
      }
      break;
    case MS_IMAP_OP_MOVE:
      set_message_text (self, NULL, "");
      break;
    default:
      break;
    }
  g_free (self->done);
  self->done = describe_done (self, result);
  /* The change is made; the list in the table is now stale. */
  run_list (self, shown_name (self->op_folder));
}

static void
cancel_op (MsImapPage *self)
{
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
}

/* --- actions -------------------------------------------------------------- */

static void
refresh_action (GtkWidget *widget,
                const char *action_name,
                GVariant *parameter)
{
  MsImapPage *self = MS_IMAP_PAGE (widget);

  if (self->busy || self->account == NULL)
    return;
  set_error (self, NULL);
  g_clear_pointer (&self->done, g_free);
  run_folders (self);
}

static void
open_action (GtkWidget *widget,
             const char *action_name,
             GVariant *parameter)
{
  MsImapPage *self = MS_IMAP_PAGE (widget);
  MsImapPageMessage *message = selected_message (self);
  g_autofree char *doing = NULL;

  if (message == NULL)
    return;
  doing = g_strdup_printf ("Opening UID %u…", message->uid);
  run_user_op (self, MS_IMAP_OP_FETCH, message->uid, NULL, NULL, doing);
}

/* FLAG or UNFLAG `flag` on the chosen message, whichever changes it. */
static void
toggle_flag (MsImapPage *self,
             const char *flag)
{
  MsImapPageMessage *message = selected_message (self);
  gboolean set;
  g_autofree char *doing = NULL;

  if (message == NULL)
    return;
  set = ms_imap_page_message_has_flag (message, flag);
  doing = g_strdup_printf ("UID %u: %s %s…", message->uid, set ? "clearing" : "setting", flag);
  run_user_op (self, set ? MS_IMAP_OP_UNFLAG : MS_IMAP_OP_FLAG, message->uid, NULL, flag, doing);
}

static void
toggle_seen_action (GtkWidget *widget,
                    const char *action_name,
                    GVariant *parameter)
{
  toggle_flag (MS_IMAP_PAGE (widget), "\\Seen");
}

static void
toggle_flagged_action (GtkWidget *widget,
                       const char *action_name,
                       GVariant *parameter)
{
  toggle_flag (MS_IMAP_PAGE (widget), "\\Flagged");
}

/* RFC 3501 §2.3.2: \Deleted only marks the message; it stays, and shows
 * struck through, until EXPUNGE. */
static void
delete_action (GtkWidget *widget,
               const char *action_name,
               GVariant *parameter)
{
  toggle_flag (MS_IMAP_PAGE (widget), "\\Deleted");
}

static void
move_action (GtkWidget *widget,
             const char *action_name,
             GVariant *parameter)
{
  MsImapPage *self = MS_IMAP_PAGE (widget);
  MsImapPageMessage *message = selected_message (self);
  const char *target = g_variant_get_string (parameter, NULL);
  g_autofree char *doing = NULL;

  if (message == NULL || target[0] == '\0')
    return;
  doing = g_strdup_printf ("Moving UID %u to %s…", message->uid, target);
  run_user_op (self, MS_IMAP_OP_MOVE, message->uid, target, NULL, doing);
}

static void
expunge_action (GtkWidget *widget,
                const char *action_name,
                GVariant *parameter)
{
  MsImapPage *self = MS_IMAP_PAGE (widget);
  g_autofree char *doing = g_strdup_printf ("Expunging %s…", shown_name (self->shown_folder));

  run_user_op (self, MS_IMAP_OP_EXPUNGE, 0, NULL, NULL, doing);
}

/* --- the folder list ------------------------------------------------------ */

static void
folder_setup_cb (GtkSignalListItemFactory *factory,
                 GtkListItem *list_item,
                 gpointer user_data)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *name = gtk_label_new (NULL);
  GtkWidget *mark = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (name), 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (name), PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (name, TRUE);
  gtk_widget_add_css_class (mark, "ms-imap-special");
  gtk_widget_add_css_class (row, "ms-imap-folder-row");
  gtk_box_append (GTK_BOX (row), name);
  gtk_box_append (GTK_BOX (row), mark);
  gtk_list_item_set_child (list_item, row);
}

static void
folder_bind_cb (GtkSignalListItemFactory *factory,
                GtkListItem *list_item,
                gpointer user_data)
{
  MsImapPageFolder *folder = gtk_list_item_get_item (list_item);
  GtkWidget *row = gtk_list_item_get_child (list_item);
  GtkWidget *name = gtk_widget_get_first_child (row);
  GtkWidget *mark = gtk_widget_get_next_sibling (name);

  gtk_label_set_text (GTK_LABEL (name), folder->name);
  /* The attribute as LIST sent it: the class sees where "Sent" comes from. */
  gtk_label_set_text (GTK_LABEL (mark), folder->special_use != NULL ? folder->special_use
                                        : !folder->selectable ? "\\Noselect" : "");
  if (folder->selectable)
    gtk_widget_remove_css_class (name, "ms-imap-noselect");
  else
    gtk_widget_add_css_class (name, "ms-imap-noselect");
}

static void
folder_selected_cb (GtkSingleSelection *selection,
                    GParamSpec *pspec,
                    MsImapPage *self)
{
  MsImapPageFolder *folder = selected_folder (self);

  if (self->updating || self->busy || self->account == NULL || folder == NULL)
    return;
  set_error (self, NULL);
  if (folder->selectable)
    run_list (self, folder->name);
  else
    finish_chain (self);
}

/* --- the message table ---------------------------------------------------- */

typedef enum {
  COLUMN_STAR,
  COLUMN_UID,
  COLUMN_FLAGS,
  COLUMN_FROM,
  COLUMN_SUBJECT,
  COLUMN_SIZE,
  N_COLUMNS
} Column;

static const struct {
  const char *title;
  gboolean expand;
  float xalign;
} columns[N_COLUMNS] = {
  [COLUMN_STAR] = { "★", FALSE, 0.5 },
  [COLUMN_UID] = { "UID", FALSE, 1.0 },
  [COLUMN_FLAGS] = { "Flags", FALSE, 0.0 },
  [COLUMN_FROM] = { "From", TRUE, 0.0 },
  [COLUMN_SUBJECT] = { "Subject", TRUE, 0.0 },
  [COLUMN_SIZE] = { "Size", FALSE, 1.0 },
};

static char *
cell_text (MsImapPageMessage *message,
           Column column)
{
  switch (column)
    {
    case COLUMN_STAR:
      return g_strdup (ms_imap_page_message_has_flag (message, "\\Flagged") ? "★" : "");
    case COLUMN_UID:
      return g_strdup_printf ("%u", message->uid);
    case COLUMN_FLAGS:
      /* The flags as the server said them: the marks are their reading. */
      return message->flags[0] != NULL ? g_strjoinv (" ", message->flags) : g_strdup ("–");
    case COLUMN_FROM:
      return g_strdup (message->from != NULL ? message->from : "");
    case COLUMN_SUBJECT:
      return g_strdup (message->subject != NULL ? message->subject : "(no subject)");
    case COLUMN_SIZE:
      return g_format_size_full (message->size, G_FORMAT_SIZE_DEFAULT);
    case N_COLUMNS:
    default:
      g_assert_not_reached ();
    }
}

static void
message_setup_cb (GtkSignalListItemFactory *factory,
                  GtkListItem *list_item,
                  gpointer user_data)
{
  Column column = GPOINTER_TO_INT (user_data);
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), columns[column].xalign);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (column == COLUMN_UID || column == COLUMN_SIZE)
    gtk_widget_add_css_class (label, "numeric");
  if (column == COLUMN_STAR)
    gtk_widget_add_css_class (label, "ms-imap-star");
  gtk_list_item_set_child (list_item, label);
}

static void
set_class (GtkWidget *widget,
           const char *css_class,
           gboolean on)
{
  if (on)
    gtk_widget_add_css_class (widget, css_class);
  else
    gtk_widget_remove_css_class (widget, css_class);
}

static void
message_bind_cb (GtkSignalListItemFactory *factory,
                 GtkListItem *list_item,
                 gpointer user_data)
{
  Column column = GPOINTER_TO_INT (user_data);
  MsImapPageMessage *message = gtk_list_item_get_item (list_item);
  GtkWidget *label = gtk_list_item_get_child (list_item);
  g_autofree char *text = cell_text (message, column);

  gtk_label_set_text (GTK_LABEL (label), text);
  /* Every cell of the row, so the whole row reads bold or struck. */
  set_class (label, "ms-imap-unseen", !ms_imap_page_message_has_flag (message, "\\Seen"));
  set_class (label, "ms-imap-deleted", ms_imap_page_message_has_flag (message, "\\Deleted"));
}

static void
message_selected_cb (GtkSingleSelection *selection,
                     GParamSpec *pspec,
                     MsImapPage *self)
{
  if (!self->updating)
    set_message_text (self, NULL, "");
  update_actions (self);
}

static void
message_activate_cb (GtkColumnView *view,
                     guint position,
                     MsImapPage *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "imap.open", NULL);
}

/* --- building ------------------------------------------------------------- */

static GtkWidget *
scrolled (GtkWidget *child)
{
  GtkWidget *window = gtk_scrolled_window_new ();

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (window), child);
  gtk_widget_set_vexpand (window, TRUE);
  gtk_widget_set_hexpand (window, TRUE);
  return window;
}

static GtkWidget *
pane_title (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (label, "ms-pane-title");
  return label;
}

static GtkButton *
action_button (const char *label,
               const char *action,
               const char *tooltip)
{
  GtkWidget *button = gtk_button_new_with_label (label);

  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
  gtk_widget_set_tooltip_text (button, tooltip);
  return GTK_BUTTON (button);
}

static GtkWidget *
build_folders (MsImapPage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

  g_signal_connect (factory, "setup", G_CALLBACK (folder_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (folder_bind_cb), NULL);
  self->folder_view = GTK_LIST_VIEW (gtk_list_view_new (
    GTK_SELECTION_MODEL (g_object_ref (self->folder_selection)), g_object_ref (factory)));
  gtk_widget_add_css_class (GTK_WIDGET (self->folder_view), "navigation-sidebar");
  gtk_box_append (GTK_BOX (box), pane_title ("Folders"));
  gtk_box_append (GTK_BOX (box), scrolled (GTK_WIDGET (self->folder_view)));
  gtk_widget_set_size_request (box, 150, -1);
  return box;
}

static GtkWidget *
build_actions (MsImapPage *self)
{
  /* A flow box: on a narrow window the buttons wrap instead of being cut. */
  GtkWidget *bar = gtk_flow_box_new ();
  GtkWidget *move = self->move_button = gtk_menu_button_new ();

  gtk_flow_box_set_selection_mode (GTK_FLOW_BOX (bar), GTK_SELECTION_NONE);
  gtk_flow_box_set_max_children_per_line (GTK_FLOW_BOX (bar), 6);
  gtk_flow_box_set_column_spacing (GTK_FLOW_BOX (bar), 6);
  gtk_flow_box_set_row_spacing (GTK_FLOW_BOX (bar), 6);

  gtk_flow_box_append (GTK_FLOW_BOX (bar), GTK_WIDGET (action_button (
    "Open", "imap.open", "UID FETCH BODY[]: shows the message and sets \\Seen")));
  self->seen_button = action_button ("Mark read", "imap.toggle-seen",
                                     "UID STORE +FLAGS or -FLAGS (\\Seen)");
  gtk_flow_box_append (GTK_FLOW_BOX (bar), GTK_WIDGET (self->seen_button));
  self->flag_button = action_button ("Flag ★", "imap.toggle-flagged",
                                     "UID STORE +FLAGS or -FLAGS (\\Flagged)");
  gtk_flow_box_append (GTK_FLOW_BOX (bar), GTK_WIDGET (self->flag_button));

  gtk_menu_button_set_label (GTK_MENU_BUTTON (move), "Move to…");
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (move), G_MENU_MODEL (self->move_menu));
  gtk_widget_set_tooltip_text (move, "UID MOVE (RFC 6851) to the folder chosen");
  gtk_flow_box_append (GTK_FLOW_BOX (bar), move);

  self->delete_button = action_button ("Delete", "imap.delete",
                                       "UID STORE +FLAGS (\\Deleted): marked, not yet gone");
  gtk_widget_add_css_class (GTK_WIDGET (self->delete_button), "destructive-action");
  gtk_flow_box_append (GTK_FLOW_BOX (bar), GTK_WIDGET (self->delete_button));

  gtk_flow_box_append (GTK_FLOW_BOX (bar), GTK_WIDGET (action_button (
    "Expunge", "imap.expunge", "EXPUNGE: removes every message marked \\Deleted in this folder")));
  gtk_widget_add_css_class (bar, "ms-imap-actions");
  return bar;
}

static GtkWidget *
build_messages (MsImapPage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *list;

  self->message_view = GTK_COLUMN_VIEW (gtk_column_view_new (
    GTK_SELECTION_MODEL (g_object_ref (self->message_selection))));
  gtk_column_view_set_show_column_separators (self->message_view, FALSE);
  gtk_widget_add_css_class (GTK_WIDGET (self->message_view), "ms-imap-messages");
  for (int i = 0; i < N_COLUMNS; i++)
    {
      g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
      g_autoptr(GtkColumnViewColumn) column = NULL;

      g_signal_connect (factory, "setup", G_CALLBACK (message_setup_cb), GINT_TO_POINTER (i));
      g_signal_connect (factory, "bind", G_CALLBACK (message_bind_cb), GINT_TO_POINTER (i));
      column = gtk_column_view_column_new (columns[i].title, g_object_ref (factory));
      gtk_column_view_column_set_expand (column, columns[i].expand);
      gtk_column_view_column_set_resizable (column, TRUE);
      gtk_column_view_append_column (self->message_view, column);
    }
  g_signal_connect (self->message_view, "activate", G_CALLBACK (message_activate_cb), self);

  self->folder_summary = GTK_LABEL (pane_title ("Messages"));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->folder_summary));
  list = scrolled (GTK_WIDGET (self->message_view));
  /* The columns shrink (their labels ellipsize) rather than scroll
   * sideways: the agents' window is narrower than the main one. */
  gtk_scrolled_window_set_policy (GTK_SCROLLED_WINDOW (list), GTK_POLICY_NEVER,
                                  GTK_POLICY_AUTOMATIC);
  gtk_box_append (GTK_BOX (box), list);
  gtk_box_append (GTK_BOX (box), build_actions (self));
  return box;
}

static GtkWidget *
build_reader (MsImapPage *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *overlay = gtk_overlay_new ();

  self->text_view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_text_view_set_editable (self->text_view, FALSE);
  gtk_text_view_set_cursor_visible (self->text_view, FALSE);
  gtk_text_view_set_monospace (self->text_view, TRUE);
  gtk_text_view_set_wrap_mode (self->text_view, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_left_margin (self->text_view, 12);
  gtk_text_view_set_right_margin (self->text_view, 12);
  gtk_text_view_set_top_margin (self->text_view, 8);
  gtk_text_view_set_bottom_margin (self->text_view, 8);
  gtk_widget_add_css_class (GTK_WIDGET (self->text_view), "ms-imap-reader");

  self->reader_hint = gtk_label_new ("Choose a message and press Open (or double-click it).\n"
                                     "UID FETCH BODY[] brings it, and sets \\Seen.");
  gtk_label_set_justify (GTK_LABEL (self->reader_hint), GTK_JUSTIFY_CENTER);
  gtk_label_set_wrap (GTK_LABEL (self->reader_hint), TRUE);
  gtk_widget_set_can_target (self->reader_hint, FALSE);
  gtk_widget_add_css_class (self->reader_hint, "ms-imap-hint");
  gtk_overlay_set_child (GTK_OVERLAY (overlay), scrolled (GTK_WIDGET (self->text_view)));
  gtk_overlay_add_overlay (GTK_OVERLAY (overlay), self->reader_hint);

  self->reader_title = GTK_LABEL (pane_title ("Message"));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->reader_title));
  gtk_box_append (GTK_BOX (box), overlay);
  return box;
}

static GtkWidget *
build_header (MsImapPage *self)
{
  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkButton *refresh = action_button ("Refresh", "imap.refresh",
                                      "LIST the folders, then FETCH the chosen folder's messages");

  self->account_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->account_label, 0.0);
  gtk_label_set_ellipsize (self->account_label, PANGO_ELLIPSIZE_END);
  gtk_widget_set_hexpand (GTK_WIDGET (self->account_label), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->account_label), "ms-imap-account");
  self->spinner = GTK_SPINNER (gtk_spinner_new ());
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), FALSE);
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->account_label));
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->spinner));
  gtk_box_append (GTK_BOX (row), GTK_WIDGET (refresh));
  return row;
}

static void
build (MsImapPage *self)
{
  GtkWidget *outer = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  GtkWidget *inner = gtk_paned_new (GTK_ORIENTATION_VERTICAL);

  self->box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_add_css_class (self->box, "ms-imap-page");
  gtk_box_append (GTK_BOX (self->box), build_header (self));

  self->error_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->error_label, 0.0);
  gtk_label_set_wrap (self->error_label, TRUE);
  gtk_label_set_selectable (self->error_label, TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->error_label), "ms-imap-error");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->error_label));

  gtk_paned_set_start_child (GTK_PANED (outer), build_folders (self));
  gtk_paned_set_resize_start_child (GTK_PANED (outer), FALSE);
  gtk_paned_set_shrink_start_child (GTK_PANED (outer), FALSE);
  gtk_paned_set_start_child (GTK_PANED (inner), build_messages (self));
  gtk_paned_set_end_child (GTK_PANED (inner), build_reader (self));
  gtk_paned_set_shrink_start_child (GTK_PANED (inner), FALSE);
  gtk_paned_set_shrink_end_child (GTK_PANED (inner), FALSE);
  gtk_paned_set_end_child (GTK_PANED (outer), inner);
  gtk_widget_set_vexpand (outer, TRUE);
  gtk_box_append (GTK_BOX (self->box), outer);

  self->status_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_xalign (self->status_label, 0.0);
  gtk_label_set_ellipsize (self->status_label, PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (GTK_WIDGET (self->status_label), "ms-imap-status");
  gtk_box_append (GTK_BOX (self->box), GTK_WIDGET (self->status_label));

  gtk_widget_set_parent (self->box, GTK_WIDGET (self));
}

/* --- public --------------------------------------------------------------- */

void
ms_imap_page_set_account (MsImapPage *self,
                          MsAgentAccount *account)
{
  g_return_if_fail (MS_IS_IMAP_PAGE (self));
  g_return_if_fail (account == NULL || MS_IS_AGENT_ACCOUNT (account));

  cancel_op (self);
  g_set_object (&self->account, account);
  set_busy (self, FALSE);
  set_error (self, NULL);
  set_status (self, "");
  g_clear_pointer (&self->done, g_free);
  self->updating = TRUE;
  g_list_store_remove_all (self->messages);
  g_list_store_remove_all (self->folders);
  self->updating = FALSE;
  g_clear_pointer (&self->shown_folder, g_free);
  rebuild_move_menu (self);
  update_folder_summary (self);
  set_message_text (self, NULL, "");
  if (account != NULL)
    {
      g_autofree char *text = g_strdup_printf ("IMAP as %s on %s:%u, from %s",
                                               ms_agent_account_get_address (account),
                                               ms_agent_account_get_host (account),
                                               ms_agent_account_get_imap_port (account),
                                               ms_agent_account_get_device (account));

      gtk_label_set_text (self->account_label, text);
      run_folders (self);
    }
  else
    gtk_label_set_text (self->account_label, "No account");
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACCOUNT]);
}

GtkWidget *
ms_imap_page_new (MsAgentAccount *account)
{
  g_return_val_if_fail (account == NULL || MS_IS_AGENT_ACCOUNT (account), NULL);
  return g_object_new (MS_TYPE_IMAP_PAGE, "account", account, NULL);
}

MsAgentAccount *
ms_imap_page_get_account (MsImapPage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE (self), NULL);
  return self->account;
}

gboolean
ms_imap_page_get_busy (MsImapPage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE (self), FALSE);
  return self->busy;
}

const char *
ms_imap_page_get_error (MsImapPage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE (self), NULL);
  return self->error;
}

GtkSingleSelection *
ms_imap_page_get_folder_selection (MsImapPage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE (self), NULL);
  return self->folder_selection;
}

GtkSingleSelection *
ms_imap_page_get_message_selection (MsImapPage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE (self), NULL);
  return self->message_selection;
}

GtkColumnView *
ms_imap_page_get_message_view (MsImapPage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE (self), NULL);
  return self->message_view;
}

const char *
ms_imap_page_get_shown_folder (MsImapPage *self)
{
  g_return_val_if_fail (MS_IS_IMAP_PAGE (self), NULL);
  return self->shown_folder;
}

char *
ms_imap_page_get_message_text (MsImapPage *self)
{
  GtkTextBuffer *buffer;
  GtkTextIter start, end;

  g_return_val_if_fail (MS_IS_IMAP_PAGE (self), NULL);
  buffer = gtk_text_view_get_buffer (self->text_view);
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  return gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
}

/* --- GObject -------------------------------------------------------------- */

static void
ms_imap_page_get_property (GObject *object,
                           guint prop_id,
                           GValue *value,
                           GParamSpec *pspec)
{
  MsImapPage *self = MS_IMAP_PAGE (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT:
      g_value_set_object (value, self->account);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_imap_page_set_property (GObject *object,
                           guint prop_id,
                           const GValue *value,
                           GParamSpec *pspec)
{
  MsImapPage *self = MS_IMAP_PAGE (object);

  switch (prop_id)
    {
    case PROP_ACCOUNT:
      ms_imap_page_set_account (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
ms_imap_page_dispose (GObject *object)
{
  MsImapPage *self = MS_IMAP_PAGE (object);

  /* An operation that ends later finds its cancellable cancelled and
   * leaves the page alone (op_done_cb). */
  cancel_op (self);
  if (self->folder_selection != NULL)
    g_signal_handlers_disconnect_by_data (self->folder_selection, self);
  if (self->message_selection != NULL)
    g_signal_handlers_disconnect_by_data (self->message_selection, self);
  g_clear_pointer (&self->box, gtk_widget_unparent);
  g_clear_object (&self->folder_selection);
  g_clear_object (&self->message_selection);
  g_clear_object (&self->folders);
  g_clear_object (&self->messages);
  g_clear_object (&self->move_menu);
  g_clear_object (&self->account);
  G_OBJECT_CLASS (ms_imap_page_parent_class)->dispose (object);
}

static void
ms_imap_page_finalize (GObject *object)
{
  MsImapPage *self = MS_IMAP_PAGE (object);

  g_free (self->op_folder);
  g_free (self->op_name);
  g_free (self->op_flag);
  g_free (self->shown_folder);
  g_free (self->done);
  g_free (self->error);
  G_OBJECT_CLASS (ms_imap_page_parent_class)->finalize (object);
}

static void
ms_imap_page_class_init (MsImapPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = ms_imap_page_get_property;
  object_class->set_property = ms_imap_page_set_property;
  object_class->dispose = ms_imap_page_dispose;
  object_class->finalize = ms_imap_page_finalize;

  properties[PROP_ACCOUNT] =
    g_param_spec_object ("account", NULL, NULL, MS_TYPE_AGENT_ACCOUNT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_install_action (widget_class, "imap.refresh", NULL, refresh_action);
  gtk_widget_class_install_action (widget_class, "imap.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "imap.toggle-seen", NULL, toggle_seen_action);
  gtk_widget_class_install_action (widget_class, "imap.toggle-flagged", NULL,
                                   toggle_flagged_action);
  gtk_widget_class_install_action (widget_class, "imap.delete", NULL, delete_action);
  gtk_widget_class_install_action (widget_class, "imap.move", "s", move_action);
  gtk_widget_class_install_action (widget_class, "imap.expunge", NULL, expunge_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "imap-page");
}

static void
ms_imap_page_init (MsImapPage *self)
{
  self->folders = g_list_store_new (MS_TYPE_IMAP_PAGE_FOLDER);
  self->folder_selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->folders)));
  /* Only this code and the user choose: no automatic choice as rows come
   * and go, which would list a folder nobody asked for. */
  gtk_single_selection_set_autoselect (self->folder_selection, FALSE);
  g_signal_connect (self->folder_selection, "notify::selected",
                    G_CALLBACK (folder_selected_cb), self);

  self->messages = g_list_store_new (MS_TYPE_IMAP_PAGE_MESSAGE);
  self->message_selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->messages)));
  gtk_single_selection_set_autoselect (self->message_selection, FALSE);
  gtk_single_selection_set_can_unselect (self->message_selection, TRUE);
  g_signal_connect (self->message_selection, "notify::selected",
                    G_CALLBACK (message_selected_cb), self);

  self->move_menu = g_menu_new ();
  build (self);
  update_folder_summary (self);
  gtk_label_set_text (self->account_label, "No account");
  update_actions (self);
}
