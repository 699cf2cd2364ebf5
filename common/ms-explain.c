/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-explain"

#include "config.h"

#include <string.h>
#include <json-glib/json-glib.h>

#include "ms-explain.h"

G_DEFINE_QUARK (ms-explain-error-quark, ms_explain_error)

typedef enum {
  PROTO_SMTP,
  PROTO_POP3,
  PROTO_IMAP,
  N_PROTOS
} Proto;

typedef enum {
  SECTION_COMMANDS,
  SECTION_REPLIES,
  SECTION_CODES,
  SECTION_STATES,
  N_SECTIONS
} Section;

/* NULL-terminated, for g_strv_contains(). */
static const char * const proto_names[N_PROTOS + 1] = { "smtp", "pop3", "imap", NULL };

/* The JSON member of each section, NULL-terminated. SMTP's codes are the
 * RFC 3463 enhanced status codes, so its member says so. */
static const char * const section_names[N_PROTOS][N_SECTIONS + 1] = {
  [PROTO_SMTP] = { "commands", "replies", "enhanced", "states", NULL },
  [PROTO_POP3] = { "commands", "replies", "codes", "states", NULL },
  [PROTO_IMAP] = { "commands", "replies", "codes", "states", NULL },
};

/* The form of a key in each section (anchored when compiled). */
static const char * const key_patterns[N_PROTOS][N_SECTIONS] = {
  [PROTO_SMTP] = {
    "[A-Z][A-Z0-9]{0,31}",
    "[2-5][0-5][0-9]",                          /* RFC 5321 §4.2 */
    "[245]\\.[0-9]{1,3}\\.[0-9]{1,3}",          /* RFC 3463 §2 */
    "[a-z][a-z-]{0,31}",
  },
  [PROTO_POP3] = {
    "[A-Z][A-Z0-9]{0,31}",
    "\\+OK|-ERR|\\+",                           /* RFC 1939 §3, RFC 5034 §4 */
    "[A-Z][A-Z0-9-]{0,31}(/[A-Z][A-Z0-9-]{0,31})*", /* RFC 2449 §8 */
    "[a-z][a-z-]{0,31}",
  },
  [PROTO_IMAP] = {
    "[A-Z][A-Z0-9]{0,31}",
    "[A-Z][A-Z0-9]{0,31}|\\+",                  /* RFC 3501 §7 */
    "[A-Z][A-Z0-9.-]{0,63}",                    /* RFC 3501 §7.1 resp-text-code */
    "[a-z][a-z-]{0,31}",
  },
};

static const char * const key_forms[N_SECTIONS] = {
  "an upper-case verb",
  "a reply of the protocol's form",
  "a response code of the protocol's form",
  "a lower-case state name",
};

/* "RFC 5321", "RFC 5321 §4.1.1.1" */
#define RFC_PATTERN "RFC [1-9][0-9]{0,4}( §[0-9]+(\\.[0-9]+)*)?"
/* Explanations are short by design; a longer one is most likely two
 * entries run together by a bad edit. */
#define MAX_TEXT 600

struct _MsExplain {
  /* key (owned) -> MsExplainEntry (owned) */
  GHashTable *tables[N_PROTOS][N_SECTIONS];
};

static void
entry_free (gpointer data)
{
  MsExplainEntry *entry = data;

  g_free ((char *) entry->meaning);
  g_free ((char *) entry->rfc);
  g_free ((char *) entry->lesson);
  g_free (entry);
}

void
ms_explain_free (MsExplain *explain)
{
  if (explain == NULL)
    return;
  for (guint p = 0; p < N_PROTOS; p++)
    for (guint s = 0; s < N_SECTIONS; s++)
      g_clear_pointer (&explain->tables[p][s], g_hash_table_unref);
  g_free (explain);
}

typedef struct {
  GRegex *keys[N_PROTOS][N_SECTIONS];
  GRegex *rfc;
} Checks;

static void
checks_clear (Checks *checks)
{
  for (guint p = 0; p < N_PROTOS; p++)
    for (guint s = 0; s < N_SECTIONS; s++)
      g_clear_pointer (&checks->keys[p][s], g_regex_unref);
  g_clear_pointer (&checks->rfc, g_regex_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Checks, checks_clear)

static GRegex *
anchored (const char *pattern)
{
  g_autofree char *full = g_strdup_printf ("^(?:%s)$", pattern);

  /* The patterns are ours and fixed: a failure is a programming error. */
  return g_regex_new (full, G_REGEX_OPTIMIZE, 0, NULL);
}

static void
checks_init (Checks *checks)
{
  for (guint p = 0; p < N_PROTOS; p++)
    for (guint s = 0; s < N_SECTIONS; s++)
      {
        checks->keys[p][s] = anchored (key_patterns[p][s]);
        g_assert (checks->keys[p][s] != NULL);
      }
  checks->rfc = anchored (RFC_PATTERN);
  g_assert (checks->rfc != NULL);
}

static gboolean G_GNUC_PRINTF (3, 4)
invalid (GError **error,
         const char *path,
         const char *format,
         ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MS_EXPLAIN_ERROR, MS_EXPLAIN_ERROR_INVALID, "%s: %s", path, message);
  return FALSE;
}

/* Every member of `object` must be one of `allowed` (NULL-terminated). */
static gboolean
only_members (JsonObject *object,
              const char * const *allowed,
              const char *path,
              GError **error)
{
  g_autoptr(GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      if (!g_strv_contains (allowed, l->data))
        return invalid (error, path, "unexpected member \"%s\"", (const char *) l->data);
    }
  return TRUE;
}

/* A member that must be a non-empty string of at most MAX_TEXT bytes.
 * Returns it borrowed, or NULL with `error` set. */
static const char *
text_member (JsonObject *object,
             const char *name,
             gboolean required,
             const char *path,
             gboolean *missing_r,
             GError **error)
{
  g_autofree char *member_path = g_strdup_printf ("%s.%s", path, name);
  JsonNode *node = json_object_get_member (object, name);
  const char *value;

  *missing_r = node == NULL;
  if (node == NULL)
    {
      if (required)
        invalid (error, member_path, "missing");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      invalid (error, member_path, "not a string");
      return NULL;
    }
  value = json_node_get_string (node);
  if (*value == '\0' || g_ascii_isspace (*value))
    {
      invalid (error, member_path, "empty or starts with a space");
      return NULL;
    }
  if (strlen (value) > MAX_TEXT)
    {
      invalid (error, member_path, "longer than %d bytes", MAX_TEXT);
      return NULL;
    }
  return value;
}

static MsExplainEntry *
parse_entry (JsonNode *node,
             const Checks *checks,
             const char *path,
             GError **error)
{
  static const char * const allowed[] = { "meaning", "rfc", "lesson", NULL };
  JsonObject *object;
  const char *meaning, *rfc, *lesson;
  gboolean missing;
  MsExplainEntry *entry;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      invalid (error, path, "not an object");
      return NULL;
    }
  object = json_node_get_object (node);
  if (!only_members (object, allowed, path, error))
    return NULL;
  meaning = text_member (object, "meaning", TRUE, path, &missing, error);
  if (meaning == NULL)
    return NULL;
  rfc = text_member (object, "rfc", TRUE, path, &missing, error);
  if (rfc == NULL)
    return NULL;
  if (!g_regex_match (checks->rfc, rfc, 0, NULL))
    {
      g_autofree char *rfc_path = g_strdup_printf ("%s.rfc", path);

      invalid (error, rfc_path, "\"%s\" is not of the form \"RFC 5321 §4.1.1.1\"", rfc);
      return NULL;
    }
  lesson = text_member (object, "lesson", FALSE, path, &missing, error);
  if (lesson == NULL && !missing)
    return NULL;

  entry = g_new0 (MsExplainEntry, 1);
  entry->meaning = g_strdup (meaning);
  entry->rfc = g_strdup (rfc);
  entry->lesson = g_strdup (lesson);
  return entry;
}

static gboolean
parse_section (MsExplain *explain,
               JsonObject *proto_object,
               Proto p,
               Section s,
               const Checks *checks,
               GError **error)
{
  const char *name = section_names[p][s];
  g_autofree char *path = g_strdup_printf ("$.%s.%s", proto_names[p], name);
  JsonNode *node = json_object_get_member (proto_object, name);
  g_autoptr(GList) keys = NULL;
  JsonObject *object;

  if (node == NULL)
    return invalid (error, path, "missing");
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, path, "not an object");
  object = json_node_get_object (node);
  keys = json_object_get_members (object);
  if (keys == NULL)
    return invalid (error, path, "no entries");

  for (GList *l = keys; l != NULL; l = l->next)
    {
      const char *key = l->data;
      g_autofree char *entry_path = g_strdup_printf ("%s[\"%s\"]", path, key);
      MsExplainEntry *entry;

      if (!g_regex_match (checks->keys[p][s], key, 0, NULL))
        return invalid (error, entry_path, "the key is not %s", key_forms[s]);
      entry = parse_entry (json_object_get_member (object, key), checks, entry_path, error);
      if (entry == NULL)
        return FALSE;
      g_hash_table_insert (explain->tables[p][s], g_strdup (key), entry);
    }
  return TRUE;
}

static gboolean
parse_root (MsExplain *explain,
            JsonNode *root,
            GError **error)
{
  g_auto(Checks) checks = { 0 };
  JsonObject *object;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return invalid (error, "$", "not an object");
  object = json_node_get_object (root);
  if (!only_members (object, proto_names, "$", error))
    return FALSE;

  checks_init (&checks);
  for (guint p = 0; p < N_PROTOS; p++)
    {
      g_autofree char *path = g_strdup_printf ("$.%s", proto_names[p]);
      JsonNode *node = json_object_get_member (object, proto_names[p]);
      JsonObject *proto_object;

      if (node == NULL)
        return invalid (error, path, "missing");
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return invalid (error, path, "not an object");
      proto_object = json_node_get_object (node);
      if (!only_members (proto_object, section_names[p], path, error))
        return FALSE;
      for (guint s = 0; s < N_SECTIONS; s++)
        {
          if (!parse_section (explain, proto_object, p, s, &checks, error))
            return FALSE;
        }
    }
  return TRUE;
}

MsExplain *
ms_explain_new_from_data (const char *data,
                          gssize len,
                          GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(MsExplain) explain = NULL;
  g_autoptr(GError) parse_error = NULL;

  g_return_val_if_fail (data != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!json_parser_load_from_data (parser, data, len, &parse_error))
    {
      g_set_error (error, MS_EXPLAIN_ERROR, MS_EXPLAIN_ERROR_PARSE, "not valid JSON: %s",
                   parse_error->message);
      return NULL;
    }

  explain = g_new0 (MsExplain, 1);
  for (guint p = 0; p < N_PROTOS; p++)
    for (guint s = 0; s < N_SECTIONS; s++)
      explain->tables[p][s] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  if (!parse_root (explain, json_parser_get_root (parser), error))
    return NULL;
  return g_steal_pointer (&explain);
}

MsExplain *
ms_explain_new_from_file (const char *path,
                          GError **error)
{
  g_autofree char *contents = NULL;
  gsize len;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!g_file_get_contents (path, &contents, &len, error))
    return NULL;
  if (len > G_MAXSSIZE)
    {
      g_set_error (error, MS_EXPLAIN_ERROR, MS_EXPLAIN_ERROR_PARSE, "%s: too large", path);
      return NULL;
    }
  return ms_explain_new_from_data (contents, (gssize) len, error);
}

static gboolean
proto_from_string (const char *name,
                   Proto *proto_r)
{
  if (name == NULL)
    return FALSE;
  /* The relay's client speaks SMTP (docs/trace-format.md). */
  if (strcmp (name, "smtp-relay") == 0)
    name = "smtp";
  for (guint p = 0; p < N_PROTOS; p++)
    {
      if (strcmp (name, proto_names[p]) == 0)
        {
          *proto_r = p;
          return TRUE;
        }
    }
  return FALSE;
}

static const MsExplainEntry *
lookup (MsExplain *explain,
        const char *proto,
        Section section,
        const char *key,
        gboolean upper)
{
  g_autofree char *folded = NULL;
  Proto p;

  g_return_val_if_fail (explain != NULL, NULL);
  if (key == NULL || !proto_from_string (proto, &p))
    return NULL;
  if (upper)
    key = folded = g_ascii_strup (key, -1);
  return g_hash_table_lookup (explain->tables[p][section], key);
}

const MsExplainEntry *
ms_explain_command (MsExplain *explain,
                    const char *proto,
                    const char *verb)
{
  return lookup (explain, proto, SECTION_COMMANDS, verb, TRUE);
}

const MsExplainEntry *
ms_explain_reply (MsExplain *explain,
                  const char *proto,
                  const char *key)
{
  return lookup (explain, proto, SECTION_REPLIES, key, TRUE);
}

const MsExplainEntry *
ms_explain_code (MsExplain *explain,
                 const char *proto,
                 const char *code)
{
  return lookup (explain, proto, SECTION_CODES, code, TRUE);
}

const MsExplainEntry *
ms_explain_state (MsExplain *explain,
                  const char *proto,
                  const char *state)
{
  return lookup (explain, proto, SECTION_STATES, state, FALSE);
}

static void
add (GPtrArray *entries,
     const MsExplainEntry *entry)
{
  if (entry != NULL)
    g_ptr_array_add (entries, (gpointer) entry);
}

/* "DONE", in any case, with spaces around it tolerated. */
static gboolean
is_done (const char *text)
{
  gsize len;

  if (text == NULL)
    return FALSE;
  while (*text == ' ')
    text++;
  len = strlen (text);
  while (len > 0 && text[len - 1] == ' ')
    len--;
  return len == 4 && g_ascii_strncasecmp (text, "DONE", 4) == 0;
}

static void
add_command (MsExplain *explain,
             const MsEvent *event,
             const char *proto,
             GPtrArray *entries)
{
  const char *verb = ms_event_get_string (event, "verb");
  const char *text = ms_event_get_string (event, "text");
  const char *space;

  if (verb == NULL)
    {
      /* RFC 2177 §3: the line that ends IDLE has no tag, so no verb. */
      if (g_strcmp0 (proto, "imap") == 0 && is_done (text))
        add (entries, ms_explain_command (explain, proto, "DONE"));
      return;
    }
  /* IMAP's "UID FETCH": the prefix, then the command it modifies. */
  space = strchr (verb, ' ');
  if (space != NULL)
    {
      g_autofree char *first = g_strndup (verb, space - verb);

      add (entries, ms_explain_command (explain, proto, first));
      add (entries, ms_explain_command (explain, proto, space + 1));
      return;
    }
  add (entries, ms_explain_command (explain, proto, verb));
}

/* The response code of an IMAP status response, "a1 NO [TRYCREATE] ...":
 * the atom after "[" (RFC 3501 §7.1). A new string, or NULL. */
static char *
imap_response_code (const char *text)
{
  const char *p, *start;

  if (text == NULL)
    return NULL;
  /* tag, status, then the optional code */
  for (guint word = 0; word < 2; word++)
    {
      p = strchr (text, ' ');
      if (p == NULL)
        return NULL;
      text = p + 1;
    }
  if (*text != '[')
    return NULL;
  start = ++text;
  while (*text != '\0' && *text != ' ' && *text != ']' && text - start < 64)
    text++;
  if (text == start || (*text != ' ' && *text != ']'))
    return NULL;
  return g_strndup (start, text - start);
}

/* An SMTP reply code (RFC 5321 §4.2), then its enhanced code (RFC 3463). */
static void
add_smtp (MsExplain *explain,
          gint64 code,
          const char *enhanced,
          GPtrArray *entries)
{
  if (code >= 100 && code <= 999)
    {
      char key[8];

      g_snprintf (key, sizeof key, "%03u", (guint) code);
      add (entries, ms_explain_reply (explain, "smtp", key));
    }
  add (entries, ms_explain_code (explain, "smtp", enhanced));
}

static gboolean
is_imap_status (const char *status)
{
  static const char * const statuses[] = { "OK", "NO", "BAD", "BYE", "PREAUTH", NULL };

  return g_strv_contains (statuses, status);
}

static void
add_reply (MsExplain *explain,
           const MsEvent *event,
           const char *proto,
           GPtrArray *entries)
{
  const char *status = ms_event_get_string (event, "status");
  Proto p;

  if (!proto_from_string (proto, &p))
    return;
  switch (p)
    {
    case PROTO_SMTP:
      add_smtp (explain, ms_event_get_int (event, "code", 0),
                ms_event_get_string (event, "enhanced"), entries);
      break;
    case PROTO_POP3:
      add (entries, ms_explain_reply (explain, proto, status));
      add (entries, ms_explain_code (explain, proto, ms_event_get_string (event, "resp_code")));
      break;
    case PROTO_IMAP:
      add (entries, ms_explain_reply (explain, proto, status));
      if (status != NULL && is_imap_status (status))
        {
          g_autofree char *code = imap_response_code (ms_event_get_string (event, "text"));

          add (entries, ms_explain_code (explain, proto, code));
        }
      break;
    case N_PROTOS:
    default:
      g_assert_not_reached ();
    }
}

GPtrArray *
ms_explain_event (MsExplain *explain,
                  const MsEvent *event)
{
  GPtrArray *entries = g_ptr_array_new ();
  const char *proto;

  g_return_val_if_fail (explain != NULL, entries);
  g_return_val_if_fail (event != NULL, entries);

  proto = ms_event_get_string (event, "proto");
  switch (event->kind)
    {
    case MS_EVENT_COMMAND:
      if (!ms_event_get_bool (event, "continuation", FALSE))
        add_command (explain, event, proto, entries);
      break;
    case MS_EVENT_REPLY:
      if (!ms_event_get_bool (event, "continuation", FALSE))
        add_reply (explain, event, proto, entries);
      break;
    case MS_EVENT_RELAY:
      /* The remote server's reply: `code` and its enhanced `status`. */
      add_smtp (explain, ms_event_get_int (event, "code", 0),
                ms_event_get_string (event, "status"), entries);
      break;
    default:
      break;
    }
  return entries;
}
