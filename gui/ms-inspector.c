/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-inspector"

#include "config.h"

#include <string.h>

#include "ms-explain.h"
#include "ms-inspector.h"

/* A `data` event's text can be 64 KiB; a label that long is slow to lay out
 * and no one reads it from the back row. */
#define MS_INSPECTOR_MAX_DATA 8192

struct _MsInspector
{
  GtkWidget parent_instance;

  GtkWidget *scroller;
  GtkLabel *heading;
  GtkLabel *raw;
  GtkLabel *auth;
  GtkBox *explanations;

  MsEvent *event;
  MsExplain *explain;   /* NULL when the resource could not be read */
};

G_DEFINE_FINAL_TYPE (MsInspector, ms_inspector, GTK_TYPE_WIDGET)

static MsExplain *
load_explain (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  MsExplain *explain;
  gsize len;
  const char *data;

  bytes = g_resources_lookup_data ("/org/mailscope/Mailscope/explanations.json",
                                   G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
  if (bytes == NULL)
    {
      g_warning ("No explanations: %s", error->message);
      return NULL;
    }
  data = g_bytes_get_data (bytes, &len);
  explain = ms_explain_new_from_data (data, len, &error);
  if (explain == NULL)
    g_warning ("Bad explanations: %s", error->message);
  return explain;
}

char *
ms_inspector_decode_auth (const char *text)
{
  const char *word;
  g_autofree guchar *decoded = NULL;
  gsize len = 0;
  gsize word_len;
  GString *out;

  g_return_val_if_fail (text != NULL, NULL);

  /* The base64 is the last word: "AUTH PLAIN <b64>", or a whole line of an
   * AUTH LOGIN exchange (RFC 4954 §4). "=" is an empty response. */
  word = strrchr (text, ' ');
  word = word != NULL ? word + 1 : text;
  word_len = strlen (word);
  if (word_len == 0 || word_len % 4 != 0 || strspn (word, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                   "abcdefghijklmnopqrstuvwxyz0123456789+/=")
                                            != word_len
      || word[0] == '=')
    return NULL;
  decoded = g_base64_decode (word, &len);
  if (decoded == NULL || len == 0)
    return NULL;

  out = g_string_sized_new (len + 8);
  for (gsize i = 0; i < len; i++)
    {
      if (decoded[i] == '\0')
        g_string_append (out, "\\0");
      else if (decoded[i] < 0x20 || decoded[i] >= 0x7f)
        g_string_append_printf (out, "\\x%02x", decoded[i]);
      else
        g_string_append_c (out, decoded[i]);
    }
  return g_string_free (out, FALSE);
}

static gboolean
is_auth_line (MsEvent *event)
{
  const char *verb = ms_event_get_string (event, "verb");

  if (event->kind != MS_EVENT_COMMAND)
    return FALSE;
  if (g_strcmp0 (verb, "AUTH") == 0 || g_strcmp0 (verb, "AUTHENTICATE") == 0)
    return TRUE;
  /* The lines of an AUTH exchange have no verb (docs/trace-format.md). */
  return verb == NULL && g_strcmp0 (ms_event_get_string (event, "state"), "auth") == 0;
}

/* The line as it went over the wire: the trace keeps the text without its
 * CRLF, so put the symbols back where the bytes were. */
static char *
raw_text (MsEvent *event)
{
  const char *text = ms_event_get_string (event, "text");
  GString *out;
  gsize len;

  if (event->kind == MS_EVENT_TLS)
    {
      if (!ms_event_get_bool (event, "success", FALSE))
        return g_strdup_printf ("failed: %s", ms_event_get_string (event, "error") ?: "?");
      return g_strdup_printf ("%s, %s\nserver certificate: %s",
                              ms_event_get_string (event, "version") ?: "?",
                              ms_event_get_string (event, "cipher") ?: "?",
                              ms_event_get_string (event, "subject") ?: "?");
    }
  if (text == NULL)
    return g_strdup ("");
  if (event->kind != MS_EVENT_DATA)
    return g_strconcat (text, "␍␊", NULL);

  len = MIN (strlen (text), MS_INSPECTOR_MAX_DATA);
  out = g_string_sized_new (len + len / 8);
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '\r' && i + 1 < len && text[i + 1] == '\n')
        {
          g_string_append (out, "␍␊\n");
          i++;
        }
      else if (text[i] == '\n')
        g_string_append (out, "␊\n");
      else
        g_string_append_c (out, text[i]);
    }
  if (len < strlen (text))
    g_string_append (out, "…");
  return g_string_free (out, FALSE);
}

static void
clear_explanations (MsInspector *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->explanations))) != NULL)
    gtk_box_remove (self->explanations, child);
}

static GtkWidget *
make_label (const char *text,
            const char *css_class)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_wrap_mode (GTK_LABEL (label), PANGO_WRAP_WORD_CHAR);
  gtk_label_set_selectable (GTK_LABEL (label), TRUE);
  if (css_class != NULL)
    gtk_widget_add_css_class (label, css_class);
  return label;
}

static void
show_explanations (MsInspector *self,
                   MsEvent *event)
{
  g_autoptr(GPtrArray) entries = NULL;

  if (self->explain == NULL)
    return;
  entries = ms_explain_event (self->explain, event);
  for (guint i = 0; i < entries->len; i++)
    {
      const MsExplainEntry *entry = entries->pdata[i];
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);

      gtk_box_append (GTK_BOX (box), make_label (entry->meaning, "ms-meaning"));
      gtk_box_append (GTK_BOX (box), make_label (entry->rfc, "ms-rfc"));
      if (entry->lesson != NULL)
        gtk_box_append (GTK_BOX (box), make_label (entry->lesson, "ms-lesson"));
      gtk_box_append (self->explanations, box);
    }
}

/* What a handshake means, in the explanations' form. */
static void
show_tls (MsInspector *self,
          MsEvent *event)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  gboolean success = ms_event_get_bool (event, "success", FALSE);

  gtk_box_append (GTK_BOX (box), make_label (
    success ? "Client and server agreed on a TLS version and a cipher, and the client "
              "received the server's certificate. Every byte after this is encrypted."
            : "The TLS handshake failed: the connection is closed, nothing more is sent.",
    "ms-meaning"));
  gtk_box_append (GTK_BOX (box), make_label (
    "RFC 8446 (TLS 1.3); STARTTLS: RFC 3207 (SMTP), RFC 2595 (POP3, IMAP); implicit TLS "
    "on 465, 995, 993: RFC 8314", "ms-rfc"));
  if (success)
    gtk_box_append (GTK_BOX (box), make_label (
      "Mailscope still shows the lines that follow because the server records them "
      "after decrypting; someone on the network sees only ciphertext.", "ms-lesson"));
  gtk_box_append (self->explanations, box);
}

static void
show_auth (MsInspector *self,
           MsEvent *event)
{
  const char *text = ms_event_get_string (event, "text");
  g_autofree char *decoded = NULL;
  g_autofree char *message = NULL;

  if (!is_auth_line (event) || text == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->auth), FALSE);
      return;
    }
  if (ms_event_get_bool (event, "secret", FALSE) && strstr (text, "****") != NULL)
    message = g_strdup ("The server masked these credentials in the trace. Started with "
                        "--reveal-secrets it shows them: plain base64, which anyone who "
                        "sees the line can decode. Base64 is not encryption.");
  else if ((decoded = ms_inspector_decode_auth (text)) != NULL)
    message = g_strdup_printf ("Base64 decoded: %s\n"
                               "Base64 is not encryption: anyone who sees this line can "
                               "read the password. Only TLS (STARTTLS or an implicit-TLS "
                               "port) protects it.", decoded);
  gtk_label_set_text (self->auth, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->auth), message != NULL);
}

static const char *
kind_title (MsEvent *event)
{
  switch (event->kind)
    {
    case MS_EVENT_COMMAND:
      return "Command";
    case MS_EVENT_REPLY:
      return "Reply";
    case MS_EVENT_DATA:
      return "Message data";
    case MS_EVENT_TLS:
      return "TLS handshake";
    default:
      return ms_event_kind_to_string (event->kind);
    }
}

void
ms_inspector_show_event (MsInspector *self,
                         MsEvent *event,
                         const char *from,
                         const char *to)
{
  g_autofree char *heading = NULL;
  g_autofree char *raw = NULL;
  const char *state;

  g_return_if_fail (MS_IS_INSPECTOR (self));

  if (event != NULL)
    ms_event_ref (event);
  g_clear_pointer (&self->event, ms_event_unref);
  self->event = event;
  clear_explanations (self);

  if (event == NULL)
    {
      gtk_label_set_text (self->heading, "Inspector");
      gtk_widget_remove_css_class (GTK_WIDGET (self->raw), "ms-raw-line");
      gtk_label_set_wrap_mode (self->raw, PANGO_WRAP_WORD);
      gtk_label_set_text (self->raw, "Click an arrow of the diagram to see the line, "
                                     "what it means and where the RFC says so.");
      gtk_widget_set_visible (GTK_WIDGET (self->auth), FALSE);
      return;
    }

  state = ms_event_get_string (event, "state");
  heading = g_strdup_printf ("%s  %s → %s\n%s %s · %s%s%s", kind_title (event),
                             from != NULL ? from : "?", to != NULL ? to : "?",
                             event->server != NULL ? event->server : "",
                             ms_event_get_string (event, "session") ?: "",
                             ms_event_get_string (event, "proto") ?: "",
                             state != NULL ? " · state " : "", state != NULL ? state : "");
  gtk_label_set_text (self->heading, heading);
  raw = raw_text (event);
  gtk_widget_add_css_class (GTK_WIDGET (self->raw), "ms-raw-line");
  gtk_label_set_wrap_mode (self->raw, PANGO_WRAP_WORD_CHAR);
  gtk_label_set_text (self->raw, raw);
  show_auth (self, event);
  show_explanations (self, event);
  if (event->kind == MS_EVENT_TLS)
    show_tls (self, event);
}

MsEvent *
ms_inspector_get_event (MsInspector *self)
{
  g_return_val_if_fail (MS_IS_INSPECTOR (self), NULL);
  return self->event;
}

static void
append_labels (GtkWidget *widget,
               GString *out)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_LABEL (child) && gtk_widget_get_visible (child))
        g_string_append_printf (out, "%s\n", gtk_label_get_text (GTK_LABEL (child)));
      else
        append_labels (child, out);
    }
}

char *
ms_inspector_get_text (MsInspector *self)
{
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (MS_IS_INSPECTOR (self), NULL);
  append_labels (GTK_WIDGET (self), out);
  return g_string_free (out, FALSE);
}

static void
ms_inspector_dispose (GObject *object)
{
  MsInspector *self = MS_INSPECTOR (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), MS_TYPE_INSPECTOR);
  g_clear_pointer (&self->event, ms_event_unref);
  g_clear_pointer (&self->explain, ms_explain_free);
  G_OBJECT_CLASS (ms_inspector_parent_class)->dispose (object);
}

static void
ms_inspector_class_init (MsInspectorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = ms_inspector_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/mailscope/Mailscope/ms-inspector.ui");
  gtk_widget_class_bind_template_child (widget_class, MsInspector, scroller);
  gtk_widget_class_bind_template_child (widget_class, MsInspector, heading);
  gtk_widget_class_bind_template_child (widget_class, MsInspector, raw);
  gtk_widget_class_bind_template_child (widget_class, MsInspector, auth);
  gtk_widget_class_bind_template_child (widget_class, MsInspector, explanations);
  gtk_widget_class_set_css_name (widget_class, "inspector");
}

static void
ms_inspector_init (MsInspector *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->explain = load_explain ();
  ms_inspector_show_event (self, NULL, NULL, NULL);
}

GtkWidget *
ms_inspector_new (void)
{
  return g_object_new (MS_TYPE_INSPECTOR, NULL);
}
