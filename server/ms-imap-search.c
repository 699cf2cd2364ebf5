/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

/* memmem(): a linear-time substring search over bytes. A naive search would
 * let one 64 KiB search string over a 10 MiB body cost minutes. */
#define _GNU_SOURCE
#include <string.h>
#include <gmime/gmime.h>

#include "ms-imap-envelope.h"
#include "ms-imap-parser.h"
#include "ms-imap-search.h"
#include "ms-message.h"

/* A header block longer than this is cut: a hostile message must not make a
 * header search parse megabytes (as MS_MESSAGE_SUMMARY_MAX_HEADER). */
#define MAX_HEADER (256 * 1024)

#define SECONDS_PER_DAY 86400

G_DEFINE_QUARK (ms-imap-search-error-quark, ms_imap_search_error)

typedef enum {
  KEY_ALL,
  KEY_NONE,
  KEY_FLAG,            /* `letter` set (or not, when !`set`) */
  KEY_RECENT,          /* \Recent (or not, when !`set`: OLD) */
  KEY_NEW,             /* \Recent and not \Seen */
  KEY_SEQ,
  KEY_UID,
  KEY_INTERNAL_DATE,
  KEY_SENT_DATE,
  KEY_LARGER,
  KEY_SMALLER,
  KEY_HEADER,          /* `field` contains `needle` */
  KEY_BODY,
  KEY_TEXT,
  KEY_NOT,
  KEY_OR,
  KEY_AND,
} KeyType;

typedef enum {
  DATE_BEFORE,
  DATE_ON,
  DATE_SINCE,
} DateOp;

/* What a key costs to evaluate; the keys of an AND or OR are tried in this
 * order, so "UNSEEN SUBJECT x" reads headers only of unseen messages. */
typedef enum {
  COST_FREE,           /* the view: flags, sequence numbers, UIDs */
  COST_STAT,           /* the store's index: internal date, size */
  COST_SUMMARY,        /* From, Subject: a cached summary */
  COST_HEADER,         /* the header block */
  COST_MESSAGE,        /* the whole message */
} Cost;

typedef struct _Key Key;
struct _Key {
  KeyType type;
  Cost cost;
  char letter;         /* FLAG */
  gboolean set;        /* FLAG, RECENT */
  DateOp op;           /* *_DATE */
  gint64 day;          /* *_DATE: days since 1970-01-01 */
  guint64 number;      /* LARGER, SMALLER */
  GArray *ranges;      /* SEQ, UID: of MsImapRange */
  char *field;         /* HEADER: the field name */
  char *needle;        /* HEADER, BODY, TEXT: ASCII lower-cased */
  gsize needle_len;
  GPtrArray *children; /* NOT (1), OR (2), AND (1 or more): of Key */
};

struct _MsImapSearch {
  Key *root;
};

/* What the parser does with a key's arguments. */
typedef enum {
  ARG_NONE,
  ARG_STRING,          /* astring */
  ARG_FIELD_STRING,    /* header-fld-name SP astring (HEADER) */
  ARG_FLAG,            /* flag-keyword (KEYWORD, UNKEYWORD) */
  ARG_DATE,
  ARG_NUMBER,
  ARG_SET,             /* sequence-set (UID) */
  ARG_KEY,             /* search-key (NOT) */
  ARG_KEY_KEY,         /* search-key SP search-key (OR) */
} ArgKind;

typedef struct {
  const char *name;
  KeyType type;
  ArgKind arg;
  char letter;
  gboolean set;
  const char *field;
  DateOp op;
} KeySpec;

/* RFC 3501 §6.4.4 and "search-key" in §9. NEW is "RECENT UNSEEN", OLD is
 * "NOT RECENT". No keywords are kept (PERMANENTFLAGS says so), so KEYWORD
 * matches no message and UNKEYWORD every one. */
static const KeySpec key_specs[] = {
  { "ALL", KEY_ALL, ARG_NONE },
  { "ANSWERED", KEY_FLAG, ARG_NONE, 'R', TRUE },
  { "DELETED", KEY_FLAG, ARG_NONE, 'T', TRUE },
  { "DRAFT", KEY_FLAG, ARG_NONE, 'D', TRUE },
  { "FLAGGED", KEY_FLAG, ARG_NONE, 'F', TRUE },
  { "SEEN", KEY_FLAG, ARG_NONE, 'S', TRUE },
  { "UNANSWERED", KEY_FLAG, ARG_NONE, 'R', FALSE },
  { "UNDELETED", KEY_FLAG, ARG_NONE, 'T', FALSE },
  { "UNDRAFT", KEY_FLAG, ARG_NONE, 'D', FALSE },
  { "UNFLAGGED", KEY_FLAG, ARG_NONE, 'F', FALSE },
  { "UNSEEN", KEY_FLAG, ARG_NONE, 'S', FALSE },
  { "RECENT", KEY_RECENT, ARG_NONE, 0, TRUE },
  { "OLD", KEY_RECENT, ARG_NONE, 0, FALSE },
  { "NEW", KEY_NEW, ARG_NONE },
  { "KEYWORD", KEY_NONE, ARG_FLAG },
  { "UNKEYWORD", KEY_ALL, ARG_FLAG },
  { "FROM", KEY_HEADER, ARG_STRING, 0, FALSE, "From" },
  { "TO", KEY_HEADER, ARG_STRING, 0, FALSE, "To" },
  { "CC", KEY_HEADER, ARG_STRING, 0, FALSE, "Cc" },
  { "BCC", KEY_HEADER, ARG_STRING, 0, FALSE, "Bcc" },
  { "SUBJECT", KEY_HEADER, ARG_STRING, 0, FALSE, "Subject" },
  { "HEADER", KEY_HEADER, ARG_FIELD_STRING },
  { "BODY", KEY_BODY, ARG_STRING },
  { "TEXT", KEY_TEXT, ARG_STRING },
  { "BEFORE", KEY_INTERNAL_DATE, ARG_DATE, 0, FALSE, NULL, DATE_BEFORE },
  { "ON", KEY_INTERNAL_DATE, ARG_DATE, 0, FALSE, NULL, DATE_ON },
  { "SINCE", KEY_INTERNAL_DATE, ARG_DATE, 0, FALSE, NULL, DATE_SINCE },
  { "SENTBEFORE", KEY_SENT_DATE, ARG_DATE, 0, FALSE, NULL, DATE_BEFORE },
  { "SENTON", KEY_SENT_DATE, ARG_DATE, 0, FALSE, NULL, DATE_ON },
  { "SENTSINCE", KEY_SENT_DATE, ARG_DATE, 0, FALSE, NULL, DATE_SINCE },
  { "LARGER", KEY_LARGER, ARG_NUMBER },
  { "SMALLER", KEY_SMALLER, ARG_NUMBER },
  { "UID", KEY_UID, ARG_SET },
  { "NOT", KEY_NOT, ARG_KEY },
  { "OR", KEY_OR, ARG_KEY_KEY },
};

/* ---- Keys ---- */

static void
key_free (gpointer data)
{
  Key *key = data;

  if (key == NULL)
    return;
  g_clear_pointer (&key->ranges, g_array_unref);
  g_clear_pointer (&key->children, g_ptr_array_unref);
  g_free (key->field);
  g_free (key->needle);
  g_free (key);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Key, key_free)

static Key *
key_new (KeyType type)
{
  Key *key = g_new0 (Key, 1);

  key->type = type;
  return key;
}

static Key *
key_new_parent (KeyType type)
{
  Key *key = key_new (type);

  key->children = g_ptr_array_new_with_free_func (key_free);
  return key;
}

static int
compare_keys_by_cost (gconstpointer a,
                      gconstpointer b)
{
  const Key *key_a = *(Key * const *) a;
  const Key *key_b = *(Key * const *) b;

  return (int) key_a->cost - (int) key_b->cost;
}

/* A parent costs what its dearest child costs, in the worst case; its
 * children are sorted cheapest first (a stable sort, so equal keys keep the
 * client's order). */
static void
key_finish_parent (Key *key)
{
  key->cost = COST_FREE;
  for (guint i = 0; i < key->children->len; i++)
    key->cost = MAX (key->cost, ((Key *) key->children->pdata[i])->cost);
  if (key->type != KEY_NOT)
    g_ptr_array_sort (key->children, compare_keys_by_cost);
}

static Cost
leaf_cost (const Key *key)
{
  switch (key->type)
    {
    case KEY_INTERNAL_DATE:
    case KEY_LARGER:
    case KEY_SMALLER:
      /* Sizes: the stored size settles most; see size_matches(). */
      return COST_STAT;
    case KEY_HEADER:
      if (g_ascii_strcasecmp (key->field, "From") == 0
          || g_ascii_strcasecmp (key->field, "Subject") == 0)
        return COST_SUMMARY;
      return COST_HEADER;
    case KEY_SENT_DATE:
      return COST_HEADER;
    case KEY_BODY:
    case KEY_TEXT:
      return COST_MESSAGE;
    default:
      return COST_FREE;
    }
}

/* ---- Compiling ---- */

typedef struct {
  guint32 max_seq;
  guint32 max_uid;
} Limits;

static Key *parse_key (GPtrArray *args, guint *pos, const Limits *limits, guint depth,
                       GError **error);

static const MsImapArg *
next_arg (GPtrArray *args,
          guint *pos,
          const char *key_name,
          const char *what,
          GError **error)
{
  if (*pos >= args->len)
    {
      g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                   "%s needs %s", key_name, what);
      return NULL;
    }
  return args->pdata[(*pos)++];
}

/* "astring" (RFC 3501 §9); the atom NIL counts as the text "NIL". */
static gboolean
arg_string (const MsImapArg *arg,
            const char **text_r,
            gsize *len_r)
{
  switch (arg->type)
    {
    case MS_IMAP_ARG_ATOM:
    case MS_IMAP_ARG_STRING:
      *text_r = arg->data;
      *len_r = arg->len;
      return TRUE;
    case MS_IMAP_ARG_NIL:
      *text_r = "NIL";
      *len_r = 3;
      return TRUE;
    default:
      return FALSE;
    }
}

static char *
ascii_down_len (const char *text,
                gsize len)
{
  char *copy = g_malloc (len + 1);

  for (gsize i = 0; i < len; i++)
    copy[i] = g_ascii_tolower (text[i]);
  copy[len] = '\0';
  return copy;
}

/* RFC 5322 §3.6.8: a field name is printable ASCII but ':'. */
static gboolean
field_name_is_valid (const char *name,
                     gsize len)
{
  if (len == 0 || strlen (name) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (name[i] <= ' ' || name[i] > '~' || name[i] == ':')
      return FALSE;
  return TRUE;
}

static gint64
floor_day (gint64 seconds)
{
  gint64 day = seconds / SECONDS_PER_DAY;

  if (seconds % SECONDS_PER_DAY < 0)
    day--;
  return day;
}

/* At most `max` bytes of client text for an error reply, with anything
 * but printable ASCII as '?': a literal may hold CR LF, which must not end
 * our reply line early. */
static char *
printable_prefix (const char *text,
                  gsize max)
{
  char *copy = g_strndup (text, max);

  for (char *p = copy; *p != '\0'; p++)
    if (*p < ' ' || *p > '~')
      *p = '?';
  return copy;
}

/* Fills the key's arguments as `spec` says. */
static gboolean
parse_key_args (Key *key,
                const KeySpec *spec,
                GPtrArray *args,
                guint *pos,
                const Limits *limits,
                guint depth,
                GError **error)
{
  const MsImapArg *arg = NULL;
  const char *text;
  gsize len;
  gint64 time;
  guint32 number;

  switch (spec->arg)
    {
    case ARG_NONE:
      return TRUE;

    case ARG_FIELD_STRING:
      arg = next_arg (args, pos, spec->name, "a field name and a string", error);
      if (arg == NULL)
        return FALSE;
      if (!arg_string (arg, &text, &len) || !field_name_is_valid (text, len))
        {
          g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                       "%s needs a header field name", spec->name);
          return FALSE;
        }
      key->field = g_strndup (text, len);
      G_GNUC_FALLTHROUGH;
    case ARG_STRING:
      arg = next_arg (args, pos, spec->name, "a string", error);
      if (arg == NULL)
        return FALSE;
      if (!arg_string (arg, &text, &len))
        {
          g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                       "%s needs a string, not a list", spec->name);
          return FALSE;
        }
      if (spec->field != NULL)
        key->field = g_strdup (spec->field);
      key->needle = ascii_down_len (text, len);
      key->needle_len = len;
      return TRUE;

    case ARG_FLAG:
      arg = next_arg (args, pos, spec->name, "a keyword", error);
      if (arg == NULL)
        return FALSE;
      if (arg->type != MS_IMAP_ARG_ATOM)
        {
          g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                       "%s needs a keyword atom", spec->name);
          return FALSE;
        }
      return TRUE;

    case ARG_DATE:
      /* "date" is an atom or a quoted string: "1-Feb-1994". */
      arg = next_arg (args, pos, spec->name, "a date (1-Feb-1994)", error);
      if (arg == NULL)
        return FALSE;
      if (!arg_string (arg, &text, &len) || arg->type == MS_IMAP_ARG_NIL
          || !ms_imap_parse_date (text, &time))
        {
          g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                       "%s needs a date such as 1-Feb-1994", spec->name);
          return FALSE;
        }
      key->op = spec->op;
      key->day = floor_day (time);
      return TRUE;

    case ARG_NUMBER:
      arg = next_arg (args, pos, spec->name, "a number", error);
      if (arg == NULL)
        return FALSE;
      if (!ms_imap_arg_number (arg, &number))
        {
          g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                       "%s needs a number", spec->name);
          return FALSE;
        }
      key->number = number;
      return TRUE;

    case ARG_SET:
      arg = next_arg (args, pos, spec->name, "a set of UIDs", error);
      if (arg == NULL)
        return FALSE;
      if (arg->type == MS_IMAP_ARG_ATOM)
        key->ranges = ms_imap_parse_sequence_set (arg->data, limits->max_uid,
                                                  MS_IMAP_SEARCH_MAX_RANGES);
      if (key->ranges == NULL)
        {
          g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                       "%s needs a set of UIDs such as 1:5,7", spec->name);
          return FALSE;
        }
      return TRUE;

    case ARG_KEY_KEY:
    case ARG_KEY:
      for (guint i = 0; i < (spec->arg == ARG_KEY ? 1u : 2u); i++)
        {
          Key *child;

          if (*pos >= args->len)
            {
              g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                           "%s needs %s", spec->name,
                           spec->arg == ARG_KEY ? "a search key" : "two search keys");
              return FALSE;
            }
          child = parse_key (args, pos, limits, depth + 1, error);
          if (child == NULL)
            return FALSE;
          g_ptr_array_add (key->children, child);
        }
      return TRUE;

    default:
      g_assert_not_reached ();
    }
}

/* The keys in `args` from `*pos` to the end, as one AND (RFC 3501 §6.4.4:
 * "the result is the intersection"). At least one key. */
static Key *
parse_and (GPtrArray *args,
           guint *pos,
           const Limits *limits,
           guint depth,
           GError **error)
{
  g_autoptr(Key) key = key_new_parent (KEY_AND);

  while (*pos < args->len)
    {
      Key *child = parse_key (args, pos, limits, depth + 1, error);

      if (child == NULL)
        return NULL;
      g_ptr_array_add (key->children, child);
    }
  if (key->children->len == 0)
    {
      g_set_error_literal (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                           "Empty list of search keys");
      return NULL;
    }
  key_finish_parent (key);
  return g_steal_pointer (&key);
}

static Key *
parse_key (GPtrArray *args,
           guint *pos,
           const Limits *limits,
           guint depth,
           GError **error)
{
  const MsImapArg *arg = args->pdata[(*pos)++];
  g_autoptr(Key) key = NULL;
  const KeySpec *spec = NULL;

  /* The parser bounds parentheses, but "NOT NOT NOT ..." nests without
   * them, and evaluation recurses as deep as this. */
  if (depth > MS_IMAP_SEARCH_MAX_DEPTH)
    {
      g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_LIMIT,
                   "Search keys nested more than %d deep", MS_IMAP_SEARCH_MAX_DEPTH);
      return NULL;
    }

  if (arg->type == MS_IMAP_ARG_LIST)
    {
      guint child_pos = 0;

      /* "(" search-key *(SP search-key) ")" */
      return parse_and (arg->children, &child_pos, limits, depth, error);
    }

  if (arg->type != MS_IMAP_ARG_ATOM)
    {
      g_set_error_literal (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                           "Expected a search key, got a string");
      return NULL;
    }

  /* A sequence set stands alone as a key: "SEARCH 1:5 SEEN". */
  if (g_ascii_isdigit (arg->data[0]) || arg->data[0] == '*')
    {
      key = key_new (KEY_SEQ);
      key->ranges = ms_imap_parse_sequence_set (arg->data, limits->max_seq,
                                                MS_IMAP_SEARCH_MAX_RANGES);
      if (key->ranges == NULL)
        {
          g_autofree char *shown = printable_prefix (arg->data, 40);

          g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                       "Bad sequence set %s", shown);
          return NULL;
        }
      return g_steal_pointer (&key);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (key_specs) && spec == NULL; i++)
    if (g_ascii_strcasecmp (arg->data, key_specs[i].name) == 0)
      spec = &key_specs[i];
  if (spec == NULL)
    {
      g_autofree char *shown = printable_prefix (arg->data, 40);

      g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                   "Unknown search key %s", shown);
      return NULL;
    }

  if (spec->arg == ARG_KEY || spec->arg == ARG_KEY_KEY)
    key = key_new_parent (spec->type);
  else
    key = key_new (spec->type);
  key->letter = spec->letter;
  key->set = spec->set;
  if (!parse_key_args (key, spec, args, pos, limits, depth, error))
    return NULL;
  if (key->children != NULL)
    key_finish_parent (key);
  else
    key->cost = leaf_cost (key);
  return g_steal_pointer (&key);
}

MsImapSearch *
ms_imap_search_compile (GPtrArray *args,
                        guint start,
                        guint32 max_seq,
                        guint32 max_uid,
                        GError **error)
{
  Limits limits = { max_seq, max_uid };
  guint pos = start;
  MsImapSearch *search;
  Key *root;

  g_return_val_if_fail (args != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* [SP "CHARSET" SP astring]: US-ASCII is the default and a subset of
   * UTF-8, which is what we match in. Any other charset is a tagged NO with
   * BADCHARSET (RFC 3501 §6.4.4, §7.1). */
  if (pos < args->len && ms_imap_arg_is_atom (args->pdata[pos], "CHARSET"))
    {
      const char *charset;

      pos++;
      if (pos >= args->len
          || (charset = ms_imap_arg_astring (args->pdata[pos])) == NULL)
        {
          g_set_error_literal (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                               "CHARSET needs a charset name");
          return NULL;
        }
      if (g_ascii_strcasecmp (charset, "UTF-8") != 0
          && g_ascii_strcasecmp (charset, "US-ASCII") != 0)
        {
          g_autofree char *shown = printable_prefix (charset, 40);

          g_set_error (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_BADCHARSET,
                       "Charset %s is not supported", shown);
          return NULL;
        }
      pos++;
    }

  if (pos >= args->len)
    {
      g_set_error_literal (error, MS_IMAP_SEARCH_ERROR, MS_IMAP_SEARCH_ERROR_SYNTAX,
                           "SEARCH needs at least one search key");
      return NULL;
    }

  root = parse_and (args, &pos, &limits, 0, error);
  if (root == NULL)
    return NULL;
  search = g_new0 (MsImapSearch, 1);
  search->root = root;
  return search;
}

void
ms_imap_search_free (MsImapSearch *search)
{
  if (search == NULL)
    return;
  key_free (search->root);
  g_free (search);
}

gboolean
ms_imap_search_needs_loader (MsImapSearch *search)
{
  g_return_val_if_fail (search != NULL, FALSE);

  return search->root->cost > COST_FREE;
}

/* ---- The message context ---- */

enum {
  LOADED_STAT = 1 << 0,
  LOADED_STAT_OK = 1 << 1,
  LOADED_HEADER = 1 << 2,
  LOADED_WHOLE = 1 << 3,
  LOADED_FIELDS = 1 << 4,
  LOADED_SUMMARY = 1 << 5,
  LOADED_SUMMARY_OK = 1 << 6,
  LOADED_HEADER_TEXT = 1 << 7,
  LOADED_BODY = 1 << 8,
  LOADED_WIRE_SIZE = 1 << 9,
  HAVE_SENT_DAY = 1 << 10,
};

/* One header field: its name as written and its value unfolded, with RFC
 * 2047 encoded words decoded, ASCII lower-cased for matching. */
typedef struct {
  char *name;
  char *value;
  gsize value_len;
} Field;

static void
field_free (gpointer data)
{
  Field *field = data;

  g_free (field->name);
  g_free (field->value);
  g_free (field);
}

void
ms_imap_search_message_init (MsImapSearchMessage *message)
{
  g_return_if_fail (message != NULL);

  memset (message, 0, sizeof *message);
}

void
ms_imap_search_message_clear (MsImapSearchMessage *message)
{
  g_return_if_fail (message != NULL);

  g_clear_pointer (&message->header, g_bytes_unref);
  g_clear_pointer (&message->whole, g_bytes_unref);
  g_clear_pointer (&message->fields, g_ptr_array_unref);
  if (message->header_text != NULL)
    g_string_free (g_steal_pointer (&message->header_text), TRUE);
  if (message->body_text != NULL)
    g_string_free (g_steal_pointer (&message->body_text), TRUE);
  g_clear_pointer (&message->subject, g_free);
  g_clear_pointer (&message->from, g_free);
  message->loaded = 0;
}

static gboolean
ensure_stat (MsImapSearchMessage *message)
{
  if (message->have_stat)
    return TRUE;
  if (!(message->loaded & LOADED_STAT))
    {
      message->loaded |= LOADED_STAT;
      if (message->loader != NULL && message->loader->stat != NULL
          && message->loader->stat (message->loader_data, message, &message->internal_date,
                                    &message->size))
        message->loaded |= LOADED_STAT_OK;
    }
  return (message->loaded & LOADED_STAT_OK) != 0;
}

/* The whole message, or NULL. */
static GBytes *
ensure_whole (MsImapSearchMessage *message)
{
  if (!(message->loaded & LOADED_WHOLE))
    {
      message->loaded |= LOADED_WHOLE;
      if (message->loader != NULL && message->loader->read_message != NULL)
        message->whole = message->loader->read_message (message->loader_data, message);
    }
  return message->whole;
}

/* The header block (maybe with more after it), or NULL. */
static GBytes *
ensure_header (MsImapSearchMessage *message)
{
  if (message->whole != NULL)
    return message->whole;
  if (!(message->loaded & LOADED_HEADER))
    {
      message->loaded |= LOADED_HEADER;
      if (message->loader != NULL && message->loader->read_header != NULL)
        message->header = message->loader->read_header (message->loader_data, message);
    }
  if (message->header != NULL)
    return message->header;
  return ensure_whole (message);
}

/* Appends a field of the raw header to the list: unfolded (RFC 5322
 * §2.2.3), encoded words decoded (RFC 2047), lower-cased. */
static void
add_field (MsImapSearchMessage *message,
           const char *start,
           gsize len)
{
  const char *colon = memchr (start, ':', len);
  g_autoptr(GString) value = NULL;
  g_autofree char *decoded = NULL;
  Field *field;

  /* A line without a colon is not a field (RFC 5322 §3.6.8); skip it. */
  if (colon == NULL || colon == start)
    return;
  value = g_string_sized_new (len);
  for (const char *p = colon + 1; p < start + len; p++)
    if (*p != '\r' && *p != '\n' && *p != '\0')
      g_string_append_c (value, *p);
  g_strstrip (value->str);

  field = g_new0 (Field, 1);
  field->name = g_strndup (start, colon - start);
  g_strchomp (field->name);
  if (g_ascii_strcasecmp (field->name, "Date") == 0 && !(message->loaded & HAVE_SENT_DAY))
    {
      GDateTime *date = g_mime_utils_header_decode_date (value->str);

      /* RFC 3501 §6.4.4: SENT* compare the date "disregarding time and
       * timezone", so the day is the one written in the header. */
      if (date != NULL)
        {
          g_autoptr(GDateTime) day = g_date_time_new_utc (g_date_time_get_year (date),
                                                           g_date_time_get_month (date),
                                                           g_date_time_get_day_of_month (date),
                                                           0, 0, 0);

          message->sent_day = floor_day (g_date_time_to_unix (day));
          message->loaded |= HAVE_SENT_DAY;
          g_date_time_unref (date);
        }
    }
  decoded = g_mime_utils_header_decode_text (NULL, value->str);
  if (decoded == NULL)
    decoded = g_strdup (value->str);
  field->value_len = strlen (decoded);
  field->value = ascii_down_len (decoded, field->value_len);
  g_ptr_array_add (message->fields, field);
}

/* The header's fields, or NULL when the message cannot be read. */
static GPtrArray *
ensure_fields (MsImapSearchMessage *message)
{
  GBytes *bytes;
  const char *data;
  gsize len;
  gsize field_start = 0;

  if (message->loaded & LOADED_FIELDS)
    return message->fields;
  message->loaded |= LOADED_FIELDS;
  bytes = ensure_header (message);
  if (bytes == NULL)
    return NULL;

  ms_message_ensure_gmime ();
  data = g_bytes_get_data (bytes, &len);
  len = ms_imap_header_end (data, MIN (len, MAX_HEADER));
  message->fields = g_ptr_array_new_with_free_func (field_free);
  /* A field runs on over lines that start with white space (folding). */
  for (gsize i = 0; i < len;)
    {
      const char *eol = memchr (data + i, '\n', len - i);
      gsize next = eol != NULL ? (gsize) (eol - data) + 1 : len;

      if (i > field_start && data[i] != ' ' && data[i] != '\t')
        {
          add_field (message, data + field_start, i - field_start);
          field_start = i;
        }
      i = next;
    }
  if (len > field_start)
    add_field (message, data + field_start, len - field_start);
  return message->fields;
}

static gboolean
contains (const char *haystack,
          gsize haystack_len,
          const Key *key)
{
  return key->needle_len == 0
         || memmem (haystack, haystack_len, key->needle, key->needle_len) != NULL;
}

/* From and Subject from the loader's summary, when it has one. Returns
 * FALSE when the header must be read instead. */
static gboolean
summary_matches (MsImapSearchMessage *message,
                 const Key *key,
                 gboolean *match_r)
{
  const char *value;

  if (message->loader == NULL || message->loader->summary == NULL)
    return FALSE;
  if (!(message->loaded & LOADED_SUMMARY))
    {
      g_autofree char *subject = NULL;
      g_autofree char *from = NULL;

      message->loaded |= LOADED_SUMMARY;
      if (message->loader->summary (message->loader_data, message, &subject, &from))
        {
          message->loaded |= LOADED_SUMMARY_OK;
          if (subject != NULL)
            message->subject = ascii_down_len (subject, strlen (subject));
          if (from != NULL)
            message->from = ascii_down_len (from, strlen (from));
        }
    }
  if (!(message->loaded & LOADED_SUMMARY_OK))
    return FALSE;

  if (g_ascii_strcasecmp (key->field, "Subject") == 0)
    value = message->subject;
  else if (g_ascii_strcasecmp (key->field, "From") == 0)
    value = message->from;
  else
    return FALSE;
  /* A message without the field does not match, even "" (as Dovecot). */
  *match_r = value != NULL && contains (value, strlen (value), key);
  return TRUE;
}

/* RFC 3501 §6.4.4: "a message matches the key if the string is a substring
 * of the field. The matching is case-insensitive." */
static gboolean
header_matches (MsImapSearchMessage *message,
                const Key *key)
{
  GPtrArray *fields;
  gboolean match;

  if (summary_matches (message, key, &match))
    return match;
  fields = ensure_fields (message);
  if (fields == NULL)
    return FALSE;
  for (guint i = 0; i < fields->len; i++)
    {
      const Field *field = fields->pdata[i];

      if (g_ascii_strcasecmp (field->name, key->field) == 0
          && contains (field->value, field->value_len, key))
        return TRUE;
    }
  return FALSE;
}

static const GString *
ensure_header_text (MsImapSearchMessage *message)
{
  GPtrArray *fields;

  if (message->loaded & LOADED_HEADER_TEXT)
    return message->header_text;
  message->loaded |= LOADED_HEADER_TEXT;
  fields = ensure_fields (message);
  if (fields == NULL)
    return NULL;
  message->header_text = g_string_new (NULL);
  for (guint i = 0; i < fields->len; i++)
    {
      const Field *field = fields->pdata[i];
      g_autofree char *name = g_ascii_strdown (field->name, -1);

      g_string_append_printf (message->header_text, "%s: ", name);
      g_string_append_len (message->header_text, field->value, field->value_len);
      g_string_append_c (message->header_text, '\n');
    }
  return message->header_text;
}

/* Appends the text of `part` with its transfer encoding undone and its
 * charset converted to UTF-8 when GMime knows it (else the bytes as they
 * are). Unlike g_mime_text_part_get_text() this keeps what follows a NUL
 * byte, so nothing can hide behind one. */
static void
append_text_part (GMimePart *part,
                  GString *out)
{
  GMimeDataWrapper *content = g_mime_part_get_content (part);
  const char *charset;
  GMimeStream *memory;
  GMimeStream *filtered;
  GByteArray *bytes;

  if (content == NULL)
    return;
  memory = g_mime_stream_mem_new ();
  filtered = g_mime_stream_filter_new (memory);
  charset = g_mime_object_get_content_type_parameter (GMIME_OBJECT (part), "charset");
  if (charset != NULL && g_ascii_strcasecmp (charset, "utf-8") != 0
      && g_ascii_strcasecmp (charset, "us-ascii") != 0)
    {
      GMimeFilter *filter = g_mime_filter_charset_new (charset, "UTF-8");

      if (filter != NULL)
        {
          g_mime_stream_filter_add (GMIME_STREAM_FILTER (filtered), filter);
          g_object_unref (filter);
        }
    }
  g_mime_data_wrapper_write_to_stream (content, filtered);
  g_mime_stream_flush (filtered);
  bytes = g_mime_stream_mem_get_byte_array (GMIME_STREAM_MEM (memory));
  g_string_append_len (out, (const char *) bytes->data, bytes->len);
  g_string_append_c (out, '\n');
  g_object_unref (filtered);
  g_object_unref (memory);
}

/* Appends the decoded text of every text/ part below `object` (RFC 2045
 * transfer encodings and charsets undone by GMime). */
static void
collect_text (GMimeObject *object,
              GString *out,
              guint depth)
{
  if (object == NULL || depth > MS_IMAP_MAX_MIME_DEPTH)
    return;
  if (GMIME_IS_MULTIPART (object))
    {
      GMimeMultipart *multipart = GMIME_MULTIPART (object);
      int count = g_mime_multipart_get_count (multipart);

      for (int i = 0; i < count; i++)
        collect_text (g_mime_multipart_get_part (multipart, i), out, depth + 1);
    }
  else if (GMIME_IS_MESSAGE_PART (object))
    {
      GMimeMessage *inner = g_mime_message_part_get_message (GMIME_MESSAGE_PART (object));

      if (inner != NULL)
        collect_text (g_mime_message_get_mime_part (inner), out, depth + 1);
    }
  else if (GMIME_IS_TEXT_PART (object))
    {
      append_text_part (GMIME_PART (object), out);
    }
}

/* The text BODY searches: the decoded text parts, or the raw body when
 * GMime cannot parse the message. NULL when it cannot be read. */
static const GString *
ensure_body_text (MsImapSearchMessage *message)
{
  GBytes *bytes;
  const char *data;
  gsize len;
  GMimeStream *stream;
  GMimeParser *parser;
  GMimeMessage *parsed;

  if (message->loaded & LOADED_BODY)
    return message->body_text;
  message->loaded |= LOADED_BODY;
  bytes = ensure_whole (message);
  if (bytes == NULL)
    return NULL;
  data = g_bytes_get_data (bytes, &len);

  ms_message_ensure_gmime ();
  message->body_text = g_string_new (NULL);
  /* GMime has no g_autoptr cleanups of its own: released by hand. */
  stream = g_mime_stream_mem_new_with_buffer (data, len);
  parser = g_mime_parser_new_with_stream (stream);
  g_object_unref (stream);
  g_mime_parser_set_format (parser, GMIME_FORMAT_MESSAGE);
  parsed = g_mime_parser_construct_message (parser, NULL);
  g_object_unref (parser);
  if (parsed != NULL)
    {
      collect_text (g_mime_message_get_mime_part (parsed), message->body_text, 0);
      g_object_unref (parsed);
    }
  else
    {
      gsize header_len = ms_imap_header_end (data, len);

      g_string_append_len (message->body_text, data + header_len, len - header_len);
    }
  for (gsize i = 0; i < message->body_text->len; i++)
    message->body_text->str[i] = g_ascii_tolower (message->body_text->str[i]);
  return message->body_text;
}

/* RFC822.SIZE counts the message as sent: CRLF line ends (RFC 3501 §2.3.4).
 * A stored bare LF becomes two bytes, so the wire size lies between the
 * stored size and twice it; only when the bound is in that window is the
 * message read to count its line ends. */
static gboolean
size_matches (MsImapSearchMessage *message,
              const Key *key)
{
  guint64 stored;

  if (!ensure_stat (message))
    return FALSE;
  stored = message->size;
  if (key->type == KEY_LARGER)
    {
      if (stored > key->number)
        return TRUE;
      if (stored * 2 <= key->number)
        return FALSE;
    }
  else
    {
      if (stored * 2 < key->number)
        return TRUE;
      if (stored >= key->number)
        return FALSE;
    }

  if (!(message->loaded & LOADED_WIRE_SIZE))
    {
      GBytes *bytes = ensure_whole (message);
      const char *data;
      gsize len;

      if (bytes == NULL)
        return FALSE;
      data = g_bytes_get_data (bytes, &len);
      message->wire_size = ms_imap_wire_size (data, len);
      message->loaded |= LOADED_WIRE_SIZE;
    }
  if (key->type == KEY_LARGER)
    return message->wire_size > key->number;
  return message->wire_size < key->number;
}

static gboolean
day_matches (gint64 day,
             const Key *key)
{
  switch (key->op)
    {
    case DATE_BEFORE:
      return day < key->day;
    case DATE_ON:
      return day == key->day;
    case DATE_SINCE:
      return day >= key->day;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
key_matches (const Key *key,
             MsImapSearchMessage *message)
{
  const char *flags = message->flags != NULL ? message->flags : "";
  const GString *text;

  switch (key->type)
    {
    case KEY_ALL:
      return TRUE;
    case KEY_NONE:
      return FALSE;
    case KEY_FLAG:
      return (strchr (flags, key->letter) != NULL) == key->set;
    case KEY_RECENT:
      return (message->recent != FALSE) == key->set;
    case KEY_NEW:
      return message->recent && strchr (flags, 'S') == NULL;
    case KEY_SEQ:
      return ms_imap_sequence_set_contains (key->ranges, message->seq);
    case KEY_UID:
      return ms_imap_sequence_set_contains (key->ranges, message->uid);
    case KEY_INTERNAL_DATE:
      /* The internal date's day in UTC, as INTERNALDATE shows it. */
      return ensure_stat (message) && day_matches (floor_day (message->internal_date), key);
    case KEY_SENT_DATE:
      return ensure_fields (message) != NULL && (message->loaded & HAVE_SENT_DAY)
             && day_matches (message->sent_day, key);
    case KEY_LARGER:
    case KEY_SMALLER:
      return size_matches (message, key);
    case KEY_HEADER:
      return header_matches (message, key);
    case KEY_TEXT:
      text = ensure_header_text (message);
      if (text != NULL && contains (text->str, text->len, key))
        return TRUE;
      G_GNUC_FALLTHROUGH;
    case KEY_BODY:
      text = ensure_body_text (message);
      return text != NULL && contains (text->str, text->len, key);
    case KEY_NOT:
      return !key_matches (key->children->pdata[0], message);
    case KEY_OR:
      return key_matches (key->children->pdata[0], message)
             || key_matches (key->children->pdata[1], message);
    case KEY_AND:
      for (guint i = 0; i < key->children->len; i++)
        if (!key_matches (key->children->pdata[i], message))
          return FALSE;
      return TRUE;
    default:
      g_assert_not_reached ();
    }
}

gboolean
ms_imap_search_matches (MsImapSearch *search,
                        MsImapSearchMessage *message)
{
  g_return_val_if_fail (search != NULL, FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  return key_matches (search->root, message);
}
