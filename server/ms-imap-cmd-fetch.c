/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

#include <string.h>

#include "ms-imap-envelope.h"
#include "ms-imap-session-private.h"
#include "ms-message.h"

/* FETCH and UID FETCH (RFC 3501 §6.4.5, §6.4.8; responses §7.4.2; syntax
 * §9 "fetch", "fetch-att", "section").
 *
 * Messages are handled one at a time: each is read, answered with one
 * untagged FETCH built as an MsImapResponse (bodies as literals, so the
 * trace gets a `data` event per literal) and let go before the next, so
 * "FETCH 1:*" of a large mailbox holds one message in memory. A message is
 * read only when an item needs its bytes, and split into MIME parts only
 * when an item needs the parts. */

#define MAX_ITEMS 64            /* fetch-att in one command */
#define MAX_FIELDS 128          /* header-fld-name in one HEADER.FIELDS */
#define MAX_SECTION_PARTS 64    /* numbers in a section-part ("1.2.3") */

typedef enum {
  ITEM_UID,
  ITEM_FLAGS,
  ITEM_INTERNALDATE,
  ITEM_RFC822_SIZE,
  ITEM_ENVELOPE,
  ITEM_BODYSTRUCTURE,
  ITEM_BODY,                    /* BODY without a section: non-extensible structure */
  ITEM_SECTION,                 /* BODY[...], BODY.PEEK[...], RFC822, RFC822.HEADER/TEXT */
} ItemKind;

typedef enum {
  TEXT_NONE,                    /* the whole message, or a part's body */
  TEXT_HEADER,
  TEXT_HEADER_FIELDS,
  TEXT_HEADER_FIELDS_NOT,
  TEXT_TEXT,
  TEXT_MIME,
} SectionText;

typedef struct {
  ItemKind kind;
  gboolean peek;                /* does not set \Seen */
  char *name;                   /* SECTION: the response's item name, without <origin> */
  guint32 *path;                /* SECTION: part numbers */
  guint n_path;
  SectionText text;
  GPtrArray *fields;            /* HEADER.FIELDS[.NOT]: of char * */
  gboolean partial;
  guint32 origin;
  guint32 count;
} FetchItem;

static void
fetch_item_clear (gpointer data)
{
  FetchItem *item = data;

  g_free (item->name);
  g_free (item->path);
  g_clear_pointer (&item->fields, g_ptr_array_unref);
}

static GArray *
items_new (void)
{
  GArray *items = g_array_new (FALSE, TRUE, sizeof (FetchItem));

  g_array_set_clear_func (items, fetch_item_clear);
  return items;
}

static void
add_simple (GArray *items,
            ItemKind kind)
{
  FetchItem item = { .kind = kind };

  g_array_append_val (items, item);
}

/* A header-list (§9): "(" header-fld-name *(SP header-fld-name) ")", the
 * names atoms or quoted strings. Returns the text after ")", or NULL. */
static const char *
parse_header_list (const char *p,
                   GPtrArray *fields)
{
  if (*p++ != ' ' || *p++ != '(')
    return NULL;
  for (;;)
    {
      GString *name = g_string_new (NULL);

      if (*p == '"')
        {
          for (p++; *p != '"'; p++)
            {
              if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                p++;
              if (*p == '\0' || *p == '\r' || *p == '\n')
                {
                  g_string_free (name, TRUE);
                  return NULL;
                }
              g_string_append_c (name, *p);
            }
          p++;
        }
      else
        {
          /* RFC 5322 §3.6.8 ftext: printable ASCII but ':' */
          while ((guchar) *p > ' ' && (guchar) *p < 0x7f && strchr ("():\"{%*", *p) == NULL)
            g_string_append_c (name, *p++);
        }
      if (name->len == 0 || fields->len >= MAX_FIELDS)
        {
          g_string_free (name, TRUE);
          return NULL;
        }
      g_ptr_array_add (fields, g_string_free (name, FALSE));
      if (*p == ')')
        return p + 1;
      if (*p++ != ' ')
        return NULL;
    }
}

/* A number of 1-10 digits that fits in 32 bits; `nonzero` for nz-number.
 * Returns the text after it, or NULL. */
static const char *
parse_number (const char *p,
              gboolean nonzero,
              guint32 *value_r)
{
  guint64 value = 0;
  guint n = 0;

  while (g_ascii_isdigit (p[n]) && n < 11)
    value = value * 10 + (p[n++] - '0');
  if (n == 0 || n > 10 || value > G_MAXUINT32 || (nonzero && value == 0))
    return NULL;
  *value_r = (guint32) value;
  return p + n;
}

/* section-spec (§9) between the brackets; fills in `item` and its
 * response name. Returns the text after "]", or NULL. */
static const char *
parse_section (const char *p,
               FetchItem *item,
               GString *name)
{
  GArray *path = g_array_new (FALSE, FALSE, sizeof (guint32));
  gboolean need_text = FALSE;
  static const struct {
    const char *keyword;
    SectionText text;
  } texts[] = {
    /* the longest first, so "HEADER" does not take "HEADER.FIELDS" */
    { "HEADER.FIELDS.NOT", TEXT_HEADER_FIELDS_NOT },
    { "HEADER.FIELDS", TEXT_HEADER_FIELDS },
    { "HEADER", TEXT_HEADER },
    { "TEXT", TEXT_TEXT },
    { "MIME", TEXT_MIME },
  };

  /* section-part: nz-number *("." nz-number), then "." section-text */
  while (g_ascii_isdigit (*p))
    {
      guint32 number;

      p = parse_number (p, TRUE, &number);
      if (p == NULL || path->len >= MAX_SECTION_PARTS)
        goto fail;
      g_array_append_val (path, number);
      g_string_append_printf (name, "%u", number);
      if (*p != '.')
        break;
      p++;
      g_string_append_c (name, '.');
      if (!g_ascii_isdigit (*p))
        {
          need_text = TRUE;
          break;
        }
    }
  if (path->len > 0 && !need_text && *p != ']')
    goto fail;
  if (need_text && *p == ']')
    goto fail;

  if (*p != ']')
    {
      guint i;

      for (i = 0; i < G_N_ELEMENTS (texts); i++)
        {
          gsize len = strlen (texts[i].keyword);

          if (g_ascii_strncasecmp (p, texts[i].keyword, len) == 0
              && (p[len] == ']' || p[len] == ' '))
            break;
        }
      /* MIME only of a part (§9 section-text) */
      if (i == G_N_ELEMENTS (texts) || (texts[i].text == TEXT_MIME && path->len == 0))
        goto fail;
      item->text = texts[i].text;
      g_string_append (name, texts[i].keyword);
      p += strlen (texts[i].keyword);
      if (item->text == TEXT_HEADER_FIELDS || item->text == TEXT_HEADER_FIELDS_NOT)
        {
          item->fields = g_ptr_array_new_with_free_func (g_free);
          p = parse_header_list (p, item->fields);
          if (p == NULL)
            goto fail;
          g_string_append (name, " (");
          for (guint f = 0; f < item->fields->len; f++)
            {
              if (f > 0)
                g_string_append_c (name, ' ');
              g_autofree char *upper = g_ascii_strup (item->fields->pdata[f], -1);

              /* upper case, as Dovecot answers: field names are
               * case-insensitive (RFC 5322 §1.2.2) */
              ms_imap_append_astring (name, upper);
            }
          g_string_append_c (name, ')');
        }
    }
  if (*p != ']')
    goto fail;
  g_string_append_c (name, ']');
  item->n_path = path->len;
  item->path = (guint32 *) g_array_free (path, FALSE);
  return p + 1;

fail:
  g_array_unref (path);
  return NULL;
}

/* One fetch-att (§9) that is not a macro. */
static gboolean
parse_item (const char *text,
            GArray *items)
{
  static const struct {
    const char *name;
    ItemKind kind;
  } simple[] = {
    { "UID", ITEM_UID },
    { "FLAGS", ITEM_FLAGS },
    { "INTERNALDATE", ITEM_INTERNALDATE },
    { "RFC822.SIZE", ITEM_RFC822_SIZE },
    { "ENVELOPE", ITEM_ENVELOPE },
    { "BODYSTRUCTURE", ITEM_BODYSTRUCTURE },
    { "BODY", ITEM_BODY },
  };
  /* §6.4.5: RFC822 is BODY[], RFC822.HEADER is BODY.PEEK[HEADER],
   * RFC822.TEXT is BODY[TEXT]; the response keeps the old name. */
  static const struct {
    const char *name;
    SectionText text;
    gboolean peek;
  } rfc822[] = {
    { "RFC822", TEXT_NONE, FALSE },
    { "RFC822.HEADER", TEXT_HEADER, TRUE },
    { "RFC822.TEXT", TEXT_TEXT, FALSE },
  };
  FetchItem item = { .kind = ITEM_SECTION };
  g_autoptr (GString) name = NULL;
  const char *p;

  for (guint i = 0; i < G_N_ELEMENTS (simple); i++)
    {
      if (g_ascii_strcasecmp (text, simple[i].name) == 0)
        {
          add_simple (items, simple[i].kind);
          return TRUE;
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (rfc822); i++)
    {
      if (g_ascii_strcasecmp (text, rfc822[i].name) == 0)
        {
          item.text = rfc822[i].text;
          item.peek = rfc822[i].peek;
          item.name = g_strdup (rfc822[i].name);
          g_array_append_val (items, item);
          return TRUE;
        }
    }

  if (g_ascii_strncasecmp (text, "BODY[", 5) == 0)
    p = text + 5;
  else if (g_ascii_strncasecmp (text, "BODY.PEEK[", 10) == 0)
    {
      p = text + 10;
      item.peek = TRUE;
    }
  else
    return FALSE;

  name = g_string_new ("BODY[");
  p = parse_section (p, &item, name);
  if (p == NULL)
    {
      fetch_item_clear (&item);
      return FALSE;
    }
  /* "<" number "." nz-number ">" (§9 fetch-att) */
  if (*p == '<')
    {
      p = parse_number (p + 1, FALSE, &item.origin);
      if (p != NULL && *p == '.')
        p = parse_number (p + 1, TRUE, &item.count);
      else
        p = NULL;
      if (p == NULL || *p++ != '>')
        {
          fetch_item_clear (&item);
          return FALSE;
        }
      item.partial = TRUE;
    }
  if (*p != '\0')
    {
      fetch_item_clear (&item);
      return FALSE;
    }
  item.name = g_string_free (g_steal_pointer (&name), FALSE);
  g_array_append_val (items, item);
  return TRUE;
}

/* The second argument of FETCH: a macro, one fetch-att or a list of them.
 * NULL on a syntax error. */
static GArray *
parse_items (const MsImapArg *arg)
{
  static const struct {
    const char *name;
    ItemKind kinds[5];
    guint n;
  } macros[] = {
    /* §6.4.5 */
    { "ALL", { ITEM_FLAGS, ITEM_INTERNALDATE, ITEM_RFC822_SIZE, ITEM_ENVELOPE }, 4 },
    { "FAST", { ITEM_FLAGS, ITEM_INTERNALDATE, ITEM_RFC822_SIZE }, 3 },
    { "FULL", { ITEM_FLAGS, ITEM_INTERNALDATE, ITEM_RFC822_SIZE, ITEM_ENVELOPE, ITEM_BODY }, 5 },
  };
  g_autoptr (GArray) items = items_new ();

  if (arg->type == MS_IMAP_ARG_ATOM)
    {
      for (guint i = 0; i < G_N_ELEMENTS (macros); i++)
        {
          if (g_ascii_strcasecmp (arg->data, macros[i].name) == 0)
            {
              for (guint k = 0; k < macros[i].n; k++)
                add_simple (items, macros[i].kinds[k]);
              return g_steal_pointer (&items);
            }
        }
      return parse_item (arg->data, items) ? g_steal_pointer (&items) : NULL;
    }
  if (arg->type != MS_IMAP_ARG_LIST || arg->children->len == 0
      || arg->children->len > MAX_ITEMS)
    return NULL;
  for (guint i = 0; i < arg->children->len; i++)
    {
      const MsImapArg *child = arg->children->pdata[i];

      if (child->type != MS_IMAP_ARG_ATOM || !parse_item (child->data, items))
        return NULL;
    }
  return g_steal_pointer (&items);
}

/* ---- answering one message ---- */

typedef struct {
  GBytes *bytes;                /* the file, or NULL when no item needs it */
  const char *data;
  gsize len;
  gsize header_len;
  MsImapPart *tree;             /* split on first need */
} Message;

static void
message_clear (Message *message)
{
  g_clear_pointer (&message->bytes, g_bytes_unref);
  g_clear_pointer (&message->tree, ms_imap_part_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Message, message_clear)

static const MsImapPart *
message_tree (Message *message)
{
  if (message->tree == NULL)
    message->tree = ms_imap_part_parse (message->data, message->len);
  return message->tree;
}

/* §6.4.5 section-part: "1.2" names the second part of the first part.
 * The body of a message that is not multipart is its part 1; a number
 * after a message/rfc822 part counts in the message it holds. NULL when
 * there is no such part. */
static const MsImapPart *
find_part (const MsImapPart *root,
           const guint32 *path,
           guint n_path)
{
  const MsImapPart *part = root;

  for (guint i = 0; i < n_path; i++)
    {
      if (part->message != NULL)
        part = part->message;
      if (part->children != NULL)
        {
          if (path[i] > part->children->len)
            return NULL;
          part = part->children->pdata[path[i] - 1];
        }
      else if (path[i] != 1 || !part->is_message)
        return NULL;
    }
  return part;
}

/* The bytes of a section, line ends as stored, in `out`; nothing when the
 * section does not exist. */
static void
section_bytes (const FetchItem *item,
               Message *message,
               GString *out)
{
  const char *data = message->data;
  gsize header_start = 0;
  gsize body_start = message->header_len;
  gsize body_end = message->len;

  if (item->n_path > 0)
    {
      const MsImapPart *part = find_part (message_tree (message), item->path, item->n_path);

      if (part == NULL)
        return;
      if (item->text == TEXT_NONE || item->text == TEXT_MIME)
        {
          if (item->text == TEXT_MIME)
            g_string_append_len (out, data + part->header_start,
                                 part->body_start - part->header_start);
          else
            g_string_append_len (out, data + part->body_start,
                                 part->body_end - part->body_start);
          return;
        }
      /* HEADER, TEXT and HEADER.FIELDS of a part are of the message it
       * holds: only message/rfc822 has them (§6.4.5) */
      if (part->message == NULL)
        return;
      header_start = part->message->header_start;
      body_start = part->message->body_start;
      body_end = part->message->body_end;
    }

  switch (item->text)
    {
    case TEXT_NONE:
    case TEXT_MIME:
      g_string_append_len (out, data, message->len);
      break;
    case TEXT_HEADER:
      g_string_append_len (out, data + header_start, body_start - header_start);
      break;
    case TEXT_TEXT:
      g_string_append_len (out, data + body_start, body_end - body_start);
      break;
    case TEXT_HEADER_FIELDS:
    case TEXT_HEADER_FIELDS_NOT:
      ms_imap_append_header_fields (out, data + header_start, body_start - header_start,
                                    (const char *const *) item->fields->pdata, item->fields->len,
                                    item->text == TEXT_HEADER_FIELDS_NOT);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
append_section (MsImapResponse *response,
                const FetchItem *item,
                Message *message)
{
  g_autoptr (GString) raw = g_string_new (NULL);
  g_autoptr (GString) wire = NULL;
  gsize start, len;

  _ms_imap_response_append (response, "%s", item->name);
  if (item->partial)
    _ms_imap_response_append (response, "<%u>", item->origin);
  _ms_imap_response_append (response, " ");
  /* A part that does not exist is an empty string, as Dovecot answers
   * (RFC 3501 leaves it open). */
  section_bytes (item, message, raw);
  /* The wire has CRLF line ends (RFC 3501 §2.3.4, §4.3): octet counts and
   * partial ranges are of the converted bytes. */
  wire = g_string_sized_new (raw->len + raw->len / 32 + 2);
  ms_imap_append_crlf (wire, raw->str, raw->len);
  start = 0;
  len = wire->len;
  if (item->partial)
    {
      /* §6.4.5: an origin past the end gives an empty string */
      start = MIN ((gsize) item->origin, wire->len);
      len = MIN ((gsize) item->count, wire->len - start);
    }
  _ms_imap_response_append_literal (response, wire->str + start, len);
}

static gboolean
needs_bytes (const FetchItem *item)
{
  return item->kind != ITEM_UID && item->kind != ITEM_FLAGS && item->kind != ITEM_INTERNALDATE;
}

/* Items answered from the top-level header alone. */
static gboolean
needs_header_only (const FetchItem *item)
{
  return !needs_bytes (item) || item->kind == ITEM_ENVELOPE
         || (item->kind == ITEM_SECTION && item->n_path == 0
             && (item->text == TEXT_HEADER || item->text == TEXT_HEADER_FIELDS
                 || item->text == TEXT_HEADER_FIELDS_NOT));
}

/* The message's bytes: only its header when that is all `header_only`
 * items need ("FETCH 1:* (BODY.PEEK[HEADER.FIELDS (...)])" of a large
 * mailbox reads a few KiB a message, not every attachment). */
static GBytes *
read_message (MsImapSession *session,
              guint32 uid,
              gboolean header_only,
              GError **error)
{
  if (header_only)
    {
      GBytes *header = ms_store_read_header (session->store, session->user, session->selected,
                                             uid, MS_MESSAGE_SUMMARY_MAX_HEADER, error);

      /* a header cut at the limit would be answered wrong: read it all */
      if (header == NULL || g_bytes_get_size (header) < MS_MESSAGE_SUMMARY_MAX_HEADER)
        return header;
      g_bytes_unref (header);
    }
  return ms_store_read (session->store, session->user, session->selected, uid, error);
}

/* Puts \Seen on the message in the store and the view (§6.4.5: BODY[]
 * without PEEK "causes the \Seen flag to be set"). FALSE when the store
 * failed. */
static gboolean
set_seen (MsImapSession *session,
          guint index,
          const char *flags,
          GError **error)
{
  g_autoptr (GString) with_seen = g_string_new (NULL);
  gboolean added = FALSE;

  /* keep the letters in ASCII order, as the store and the view keep them */
  for (const char *p = flags; *p != '\0'; p++)
    {
      if (!added && *p > 'S')
        {
          g_string_append_c (with_seen, 'S');
          added = TRUE;
        }
      g_string_append_c (with_seen, *p);
    }
  if (!added)
    g_string_append_c (with_seen, 'S');

  if (!ms_store_set_flags (session->store, session->user, session->selected,
                           ms_imap_view_uid_at (session->view, index),
                           with_seen->str, error))
    return FALSE;
  _ms_imap_view_set_flags (session, index, with_seen->str);
  return TRUE;
}

/* One "* n FETCH (...)" for view index `index`. FALSE with `error` when
 * the message could not be read. */
static gboolean
fetch_message (MsImapSession *session,
               guint index,
               GArray *items,
               gboolean uid,
               GError **error)
{
  g_auto (Message) message = { NULL, };
  g_autoptr (MsStoreMessage) info = NULL;
  gboolean need_bytes = FALSE;
  gboolean header_only = TRUE;
  gboolean need_info = FALSE;
  gboolean set_flags = FALSE;
  gboolean sent_flags = FALSE;
  MsImapResponse response;
  guint32 message_uid = ms_imap_view_uid_at (session->view, index);

  for (guint i = 0; i < items->len; i++)
    {
      const FetchItem *item = &g_array_index (items, FetchItem, i);

      need_bytes |= needs_bytes (item);
      header_only &= needs_header_only (item);
      need_info |= item->kind == ITEM_INTERNALDATE;
      set_flags |= item->kind == ITEM_SECTION && !item->peek;
    }
  /* §6.4.5: \Seen only changes in a mailbox opened read-write (§6.3.2) */
  set_flags = set_flags && !session->read_only
              && !(ms_imap_view_get_bits (session->view, index) & MS_IMAP_VIEW_SEEN);

  if (need_bytes)
    {
      message.bytes = read_message (session, message_uid, header_only, error);
      if (message.bytes == NULL)
        return FALSE;
      message.data = g_bytes_get_data (message.bytes, &message.len);
      if (message.data == NULL)
        message.data = "";
      message.header_len = ms_imap_header_end (message.data, message.len);
    }
  if (need_info || set_flags)
    {
      info = ms_store_get_message (session->store, session->user, session->selected,
                                   message_uid, error);
      if (info == NULL)
        return FALSE;
    }
  if (set_flags && strchr (info->flags, 'S') == NULL
      && !set_seen (session, index, info->flags, error))
    return FALSE;

  _ms_imap_response_init (&response);
  _ms_imap_response_append (&response, "* %u FETCH (", index + 1);
  /* §6.4.8: UID FETCH always answers with the UID; first, as Dovecot */
  if (uid)
    _ms_imap_response_append (&response, "UID %u", message_uid);

  for (guint i = 0; i < items->len; i++)
    {
      const FetchItem *item = &g_array_index (items, FetchItem, i);
      g_autoptr (GString) text = g_string_new (NULL);

      if (uid && item->kind == ITEM_UID)
        continue;
      if (response.wire->str[response.wire->len - 1] != '(')
        _ms_imap_response_append (&response, " ");
      switch (item->kind)
        {
        case ITEM_UID:
          g_string_append_printf (text, "UID %u", message_uid);
          break;
        case ITEM_FLAGS:
          g_string_append (text, "FLAGS ");
          ms_imap_view_append_flags (text, ms_imap_view_get_bits (session->view, index));
          sent_flags = TRUE;
          break;
        case ITEM_INTERNALDATE:
          {
            g_autofree char *date = ms_imap_format_date_time (info->internal_date);

            g_string_append_printf (text, "INTERNALDATE \"%s\"", date);
          }
          break;
        case ITEM_RFC822_SIZE:
          g_string_append_printf (text, "RFC822.SIZE %" G_GUINT64_FORMAT,
                                  ms_imap_wire_size (message.data, message.len));
          break;
        case ITEM_ENVELOPE:
          g_string_append (text, "ENVELOPE ");
          ms_imap_append_envelope (text, message.data, message.header_len);
          break;
        case ITEM_BODYSTRUCTURE:
        case ITEM_BODY:
          g_string_append (text, item->kind == ITEM_BODY ? "BODY " : "BODYSTRUCTURE ");
          ms_imap_append_body_structure (text, message_tree (&message), message.data,
                                         item->kind == ITEM_BODYSTRUCTURE);
          break;
        case ITEM_SECTION:
          append_section (&response, item, &message);
          break;
        default:
          g_assert_not_reached ();
        }
      _ms_imap_response_append_len (&response, text->str, text->len);
    }
  /* §6.4.5: the flags changed, so tell them (as an untagged FETCH would) */
  if (set_flags && !sent_flags)
    {
      g_autoptr (GString) text = g_string_new (" FLAGS ");

      ms_imap_view_append_flags (text, ms_imap_view_get_bits (session->view, index));
      _ms_imap_response_append_len (&response, text->str, text->len);
    }
  _ms_imap_response_append (&response, ")");
  _ms_imap_response_send (session, &response);
  return TRUE;
}

/* RFC 3501 §6.4.5 FETCH sequence-set (macro / fetch-att / "(" fetch-att
 * *(SP fetch-att) ")"), and UID FETCH (§6.4.8). */
void
_ms_imap_cmd_fetch (MsImapSession *session,
                    const char *tag,
                    GPtrArray *args,
                    gboolean uid)
{
  const MsImapArg *set_arg;
  g_autoptr (GArray) items = NULL;
  g_autoptr (GArray) indexes = NULL;
  guint expunged = 0;
  guint failed = 0;

  /* check */
  if (args->len != 2 || ((const MsImapArg *) args->pdata[0])->type != MS_IMAP_ARG_ATOM)
    {
      _ms_imap_bad (session, tag, "Syntax: %sFETCH sequence-set items", uid ? "UID " : "");
      return;
    }
  set_arg = args->pdata[0];
  items = parse_items (args->pdata[1]);
  if (items == NULL)
    {
      _ms_imap_bad (session, tag, "Invalid FETCH items (RFC 3501 section 6.4.5)");
      return;
    }
  indexes = _ms_imap_resolve_set (session, tag, set_arg->data, uid);
  if (indexes == NULL)
    return;

  /* proceed. Messages the view already marks expunged were left out by
   * _ms_imap_resolve_set(); like Dovecot we answer OK for the rest, and
   * the EXPUNGE comes with the next command that may send it (§7.4.1).
   * A message whose file vanished since the last sync cannot be answered:
   * RFC 3501 §6.4.5 lets the reply be NO then, with RFC 5530's
   * EXPUNGEISSUED. */
  for (guint i = 0; i < indexes->len && !session->closed; i++)
    {
      g_autoptr (GError) error = NULL;

      if (fetch_message (session, g_array_index (indexes, guint, i), items, uid, &error))
        continue;
      if (g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
        expunged++;
      else
        {
          g_warning ("%s: FETCH failed: %s", session->trace.session_id, error->message);
          failed++;
        }
    }

  if (failed > 0)
    _ms_imap_tagged (session, tag, "NO", "[SERVERBUG] %u messages could not be read", failed);
  else if (expunged > 0)
    _ms_imap_tagged (session, tag, "NO", "[EXPUNGEISSUED] Some messages were expunged");
  else
    _ms_imap_tagged (session, tag, "OK", "%sFETCH completed", uid ? "UID " : "");
}
