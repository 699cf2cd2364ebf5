/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

#include <string.h>

#include "ms-imap-envelope.h"
#include "ms-imap-parser.h"

/* RFC 2045 §5.1 parameters kept per Content-Type or Content-Disposition;
 * more are dropped. RFC 2231 §3 continuations merged per parameter. */
#define MAX_PARAMS 64
#define MAX_CONTINUATIONS 64

/* Dovecot's markers for an address without a domain or a mailbox: a NIL
 * host would make a client read the address as the start of a group
 * (RFC 3501 §7.4.2). */
#define MISSING_DOMAIN "MISSING_DOMAIN"
#define MISSING_MAILBOX "MISSING_MAILBOX"

/* ---- Lines and sizes ---- */

guint64
ms_imap_wire_size (const char *data,
                   gsize len)
{
  guint64 size = len;
  const char *p = data;
  const char *end = data + len;

  while (p < end && (p = memchr (p, '\n', end - p)) != NULL)
    {
      if (p == data || p[-1] != '\r')
        size++;
      p++;
    }
  return size;
}

void
ms_imap_append_crlf (GString *out,
                     const char *data,
                     gsize len)
{
  const char *p = data;
  const char *end = data + len;

  while (p < end)
    {
      const char *lf = memchr (p, '\n', end - p);

      if (lf == NULL)
        {
          g_string_append_len (out, p, end - p);
          return;
        }
      if (lf == data || lf[-1] != '\r')
        {
          g_string_append_len (out, p, lf - p);
          g_string_append (out, "\r\n");
        }
      else
        g_string_append_len (out, p, lf + 1 - p);
      p = lf + 1;
    }
}

static guint64
count_lines (const char *data,
             gsize len)
{
  guint64 lines = 0;
  const char *p = data;
  const char *end = data + len;

  while (p < end && (p = memchr (p, '\n', end - p)) != NULL)
    {
      lines++;
      p++;
    }
  return lines;
}

/* The offset after the line starting at `pos` (after its LF), or `len`. */
static gsize
line_end (const char *data,
          gsize len,
          gsize pos)
{
  const char *lf = memchr (data + pos, '\n', len - pos);

  return lf != NULL ? (gsize) (lf - data) + 1 : len;
}

static gboolean
line_is_empty (const char *data,
               gsize len,
               gsize pos)
{
  return data[pos] == '\n' || (data[pos] == '\r' && pos + 1 < len && data[pos + 1] == '\n');
}

gsize
ms_imap_header_end (const char *data,
                    gsize len)
{
  gsize pos = 0;

  while (pos < len)
    {
      if (line_is_empty (data, len, pos))
        return line_end (data, len, pos);
      pos = line_end (data, len, pos);
    }
  return len;
}

/* ---- Header fields ---- */

typedef struct {
  const char *name;           /* empty for a line without a colon */
  gsize name_len;
  const char *value;          /* after the colon, folding and all */
  gsize value_len;            /* without the last line end */
  const char *field;          /* the whole field with its line ends */
  gsize field_len;
  gboolean terminated;        /* the field ends with a line end */
} Field;

/* The next field of the header in `data` at `*pos` (RFC 5322 §2.2: a line
 * and the lines after it that start with WSP). FALSE at the empty line or
 * the end. */
static gboolean
next_field (const char *data,
            gsize len,
            gsize *pos,
            Field *field)
{
  gsize start = *pos;
  gsize end;
  const char *colon;
  gsize first_end;

  if (start >= len || line_is_empty (data, len, start))
    return FALSE;
  first_end = line_end (data, len, start);
  end = first_end;
  while (end < len && (data[end] == ' ' || data[end] == '\t'))
    end = line_end (data, len, end);

  field->field = data + start;
  field->field_len = end - start;
  field->terminated = data[end - 1] == '\n';
  colon = memchr (data + start, ':', first_end - start);
  if (colon == NULL)
    {
      field->name = data + start;
      field->name_len = 0;
      field->value = data + start;
      field->value_len = 0;
    }
  else
    {
      gsize value_end = end;

      field->name = data + start;
      field->name_len = colon - (data + start);
      /* RFC 5322 §3.6.8 has no space before the colon, but old mail does */
      while (field->name_len > 0 && (field->name[field->name_len - 1] == ' '
                                     || field->name[field->name_len - 1] == '\t'))
        field->name_len--;
      if (value_end > start && data[value_end - 1] == '\n')
        value_end--;
      if (value_end > start && data[value_end - 1] == '\r')
        value_end--;
      field->value = colon + 1;
      field->value_len = data + value_end > colon + 1 ? (gsize) (data + value_end - colon - 1) : 0;
    }
  *pos = end;
  return TRUE;
}

static gboolean
field_is (const Field *field,
          const char *name,
          gsize name_len)
{
  return field->name_len == name_len
         && g_ascii_strncasecmp (field->name, name, name_len) == 0;
}

/* The first field `name` of the header, unfolded (RFC 5322 §2.2.3: CR and
 * LF removed, the WSP after them kept) and without leading WSP, as a new
 * string; NULL when there is none. Trailing WSP stays, as in Dovecot. */
static char *
find_field (const char *header,
            gsize len,
            const char *name)
{
  gsize pos = 0;
  gsize name_len = strlen (name);
  Field field;

  while (next_field (header, len, &pos, &field))
    {
      GString *value;
      gsize i = 0;

      if (!field_is (&field, name, name_len))
        continue;
      while (i < field.value_len && (field.value[i] == ' ' || field.value[i] == '\t'
                                     || field.value[i] == '\r' || field.value[i] == '\n'))
        i++;
      value = g_string_sized_new (field.value_len - i + 1);
      for (; i < field.value_len; i++)
        if (field.value[i] != '\r' && field.value[i] != '\n' && field.value[i] != '\0')
          g_string_append_c (value, field.value[i]);
      return g_string_free (value, FALSE);
    }
  return NULL;
}

void
ms_imap_append_header_fields (GString *out,
                              const char *header,
                              gsize len,
                              const char *const *names,
                              guint n_names,
                              gboolean exclude)
{
  gsize pos = 0;
  Field field;

  while (next_field (header, len, &pos, &field))
    {
      gboolean listed = FALSE;

      if (field.name_len == 0)
        continue;
      for (guint i = 0; i < n_names && !listed; i++)
        listed = field_is (&field, names[i], strlen (names[i]));
      if (listed == exclude)
        continue;
      g_string_append_len (out, field.field, field.field_len);
      if (!field.terminated)
        g_string_append (out, "\r\n");
    }
  g_string_append (out, "\r\n");
}

/* ---- RFC 2045 structured values: tokens, quoted strings, comments ---- */

static void
skip_cfws (const char **p)
{
  const char *s = *p;

  for (;;)
    {
      while (*s == ' ' || *s == '\t')
        s++;
      if (*s != '(')
        break;
      /* A comment, nested or not: counted, not recursed. */
      for (guint depth = 0; *s != '\0'; s++)
        {
          if (*s == '\\' && s[1] != '\0')
            s++;
          else if (*s == '(')
            depth++;
          else if (*s == ')' && --depth == 0)
            {
              s++;
              break;
            }
        }
    }
  *p = s;
}

/* RFC 2045 §5.1 token: any CHAR but SPACE, CTLs and tspecials. */
static char *
read_token (const char **p)
{
  const char *s = *p;

  while (*s != '\0' && (guchar) *s > ' ' && *s != 0x7f && strchr ("()<>@,;:\\\"/[]?=", *s) == NULL)
    s++;
  if (s == *p)
    return NULL;
  {
    char *token = g_strndup (*p, s - *p);

    *p = s;
    return token;
  }
}

/* A quoted string without its quotes and escapes, or NULL when `*p` is not
 * at one. An unterminated one runs to the end. */
static char *
read_quoted (const char **p)
{
  const char *s = *p;
  GString *out;

  if (*s != '"')
    return NULL;
  out = g_string_new (NULL);
  for (s++; *s != '\0' && *s != '"'; s++)
    {
      if (*s == '\\' && s[1] != '\0')
        s++;
      g_string_append_c (out, *s);
    }
  if (*s == '"')
    s++;
  *p = s;
  return g_string_free (out, FALSE);
}

typedef struct {
  char *name;
  char *value;
} Param;

static void
param_free (gpointer data)
{
  Param *param = data;

  g_free (param->name);
  g_free (param->value);
  g_free (param);
}

static void
add_param (GPtrArray *params,
           char *name,
           char *value)
{
  Param *param = g_new (Param, 1);

  param->name = name;
  param->value = value;
  g_ptr_array_add (params, param);
}

/* "name*N" or "name*N*" (RFC 2231 §3, §4): the section number N and the
 * length of "name", or -1 for any other name. */
static int
continuation_index (const char *name,
                    gsize *base_len_r,
                    gboolean *extended_r)
{
  const char *star = strchr (name, '*');
  const char *digits;
  guint64 index;
  g_autofree char *number = NULL;
  gsize n;

  if (star == NULL || !g_ascii_isdigit (star[1]))
    return -1;
  digits = star + 1;
  n = strspn (digits, "0123456789");
  if (n > 3 || (digits[n] != '\0' && strcmp (digits + n, "*") != 0))
    return -1;
  number = g_strndup (digits, n);
  if (!g_ascii_string_to_unsigned (number, 10, 0, MAX_CONTINUATIONS, &index, NULL))
    return -1;
  *base_len_r = star - name;
  *extended_r = digits[n] == '*';
  return (int) index;
}

/* RFC 2231 §3: "name*0", "name*1"... become one "name" (or "name*" when
 * the first section is extended, its charset'language' kept), as Dovecot
 * shows them. Sections without a section 0 are dropped. */
static GPtrArray *
merge_continuations (GPtrArray *params)
{
  GPtrArray *merged = g_ptr_array_new_with_free_func (param_free);

  for (guint i = 0; i < params->len; i++)
    {
      Param *param = params->pdata[i];
      gsize base_len;
      gboolean extended;
      int index = continuation_index (param->name, &base_len, &extended);
      GString *value;

      if (index < 0)
        {
          add_param (merged, g_strdup (param->name), g_strdup (param->value));
          continue;
        }
      if (index != 0)
        continue;
      value = g_string_new (param->value);
      for (int next = 1; next <= MAX_CONTINUATIONS; next++)
        {
          Param *found = NULL;

          for (guint j = 0; j < params->len && found == NULL; j++)
            {
              Param *other = params->pdata[j];
              gsize other_len;
              gboolean other_extended;

              if (continuation_index (other->name, &other_len, &other_extended) == next
                  && other_len == base_len
                  && g_ascii_strncasecmp (other->name, param->name, base_len) == 0)
                found = other;
            }
          if (found == NULL)
            break;
          g_string_append (value, found->value);
        }
      add_param (merged,
                 g_strdup_printf ("%.*s%s", (int) base_len, param->name, extended ? "*" : ""),
                 g_string_free (value, FALSE));
    }
  g_ptr_array_unref (params);
  return merged;
}

/* A Content-Type ("type/subtype", `with_subtype`) or Content-Disposition
 * ("type") value and its parameters (RFC 2045 §5.1, RFC 2183 §2), as
 * written. FALSE when the type is missing. */
static gboolean
parse_mime_value (const char *value,
                  gboolean with_subtype,
                  char **type_r,
                  char **subtype_r,
                  GPtrArray **params_r)
{
  const char *p = value;
  g_autofree char *type = NULL;
  g_autofree char *subtype = NULL;
  GPtrArray *params;

  skip_cfws (&p);
  type = read_token (&p);
  if (type == NULL)
    return FALSE;
  if (with_subtype)
    {
      skip_cfws (&p);
      if (*p != '/')
        return FALSE;
      p++;
      skip_cfws (&p);
      subtype = read_token (&p);
      if (subtype == NULL)
        return FALSE;
    }

  params = g_ptr_array_new_with_free_func (param_free);
  while (params->len < MAX_PARAMS)
    {
      char *name;
      char *param_value;

      skip_cfws (&p);
      if (*p != ';')
        {
          /* junk: look for the next parameter */
          p = strchr (p, ';');
          if (p == NULL)
            break;
        }
      p++;
      skip_cfws (&p);
      name = read_token (&p);
      if (name == NULL)
        continue;
      skip_cfws (&p);
      if (*p != '=')
        {
          g_free (name);
          continue;
        }
      p++;
      skip_cfws (&p);
      param_value = *p == '"' ? read_quoted (&p) : read_token (&p);
      if (param_value == NULL)
        param_value = g_strdup ("");
      add_param (params, name, param_value);
    }

  *type_r = g_steal_pointer (&type);
  if (subtype_r != NULL)
    *subtype_r = g_steal_pointer (&subtype);
  *params_r = merge_continuations (params);
  return TRUE;
}

static const char *
find_param (GPtrArray *params,
            const char *name)
{
  for (guint i = 0; params != NULL && i < params->len; i++)
    {
      Param *param = params->pdata[i];

      if (g_ascii_strcasecmp (param->name, name) == 0)
        return param->value;
    }
  return NULL;
}

static void
append_nstring (GString *out,
                const char *text)
{
  ms_imap_append_string (out, text, text != NULL ? strlen (text) : 0);
}

/* body-fld-param (RFC 3501 §9); `default_charset` adds "charset"
 * "us-ascii" to a text part that names none (RFC 2045 §5.2), at the end as
 * Dovecot does. */
static void
append_params (GString *out,
               GPtrArray *params,
               gboolean default_charset)
{
  guint n = params != NULL ? params->len : 0;

  if (default_charset && find_param (params, "charset") != NULL)
    default_charset = FALSE;
  if (n == 0 && !default_charset)
    {
      g_string_append (out, "NIL");
      return;
    }
  g_string_append_c (out, '(');
  for (guint i = 0; i < n; i++)
    {
      Param *param = params->pdata[i];

      if (i > 0)
        g_string_append_c (out, ' ');
      append_nstring (out, param->name);
      g_string_append_c (out, ' ');
      append_nstring (out, param->value);
    }
  if (default_charset)
    g_string_append (out, n > 0 ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
  g_string_append_c (out, ')');
}

/* ---- Splitting a message into parts (RFC 2046 §5.1.1) ---- */

typedef struct {
  const char *data;
  guint n_parts;
} Splitter;

static MsImapPart *parse_entity (Splitter *splitter, gsize start, gsize end,
                                 gboolean is_message, gboolean in_digest, guint depth);

void
ms_imap_part_free (MsImapPart *part)
{
  if (part == NULL)
    return;
  g_free (part->type);
  g_free (part->subtype);
  g_clear_pointer (&part->children, g_ptr_array_unref);
  g_clear_pointer (&part->message, ms_imap_part_free);
  g_free (part);
}

/* The offset of the next line in [pos, end) that starts with "--" and the
 * boundary, or `end`; `close_r` tells whether it is the close delimiter. */
static gsize
find_delimiter (const char *data,
                gsize pos,
                gsize end,
                const char *boundary,
                gsize boundary_len,
                gboolean *close_r)
{
  while (pos < end)
    {
      if (end - pos >= boundary_len + 2 && data[pos] == '-' && data[pos + 1] == '-'
          && memcmp (data + pos + 2, boundary, boundary_len) == 0)
        {
          gsize after = pos + 2 + boundary_len;
          gboolean close = end - after >= 2 && data[after] == '-' && data[after + 1] == '-';
          gsize rest = after + (close ? 2 : 0);

          /* §5.1.1: only white space may follow, so "--b1" is not
           * "--b10" (Dovecot is as strict) */
          while (rest < end && (data[rest] == ' ' || data[rest] == '\t' || data[rest] == '\r'))
            rest++;
          if (rest == end || data[rest] == '\n')
            {
              *close_r = close;
              return pos;
            }
        }
      pos = line_end (data, end, pos);
    }
  return end;
}

/* The children of a multipart between its delimiter lines. RFC 2046
 * §5.1.1: the line end before a delimiter belongs to the delimiter. */
static void
split_multipart (Splitter *splitter,
                 MsImapPart *part,
                 const char *boundary,
                 gboolean digest,
                 guint depth)
{
  const char *data = splitter->data;
  gsize boundary_len = strlen (boundary);
  gboolean close = FALSE;
  gsize delimiter;

  part->children = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_imap_part_free);
  delimiter = find_delimiter (data, part->body_start, part->body_end, boundary, boundary_len,
                              &close);
  while (delimiter < part->body_end && !close)
    {
      gsize start = line_end (data, part->body_end, delimiter);
      gsize next = part->body_end;
      gsize end = part->body_end;

      if (splitter->n_parts < MS_IMAP_MAX_MIME_PARTS)
        next = find_delimiter (data, start, part->body_end, boundary, boundary_len, &close);
      if (next < part->body_end)
        {
          end = next;
          if (end > start && data[end - 1] == '\n')
            end--;
          if (end > start && data[end - 1] == '\r')
            end--;
        }
      g_ptr_array_add (part->children,
                       parse_entity (splitter, start, end, FALSE, digest, depth + 1));
      delimiter = next;
    }
  /* RFC 3501 §9 body-type-mpart has at least one body: a multipart with
   * none gets an empty text/plain one. */
  if (part->children->len == 0)
    g_ptr_array_add (part->children, parse_entity (splitter, part->body_end, part->body_end,
                                                   FALSE, FALSE, depth + 1));
}

static MsImapPart *
parse_entity (Splitter *splitter,
              gsize start,
              gsize end,
              gboolean is_message,
              gboolean in_digest,
              guint depth)
{
  MsImapPart *part = g_new0 (MsImapPart, 1);
  const char *header = splitter->data + start;
  g_autofree char *content_type = NULL;
  g_autoptr (GPtrArray) params = NULL;

  splitter->n_parts++;
  part->header_start = start;
  part->body_start = start + ms_imap_header_end (header, end - start);
  part->body_end = end;
  part->is_message = is_message;

  content_type = find_field (header, part->body_start - start, "Content-Type");
  if (content_type == NULL
      || !parse_mime_value (content_type, TRUE, &part->type, &part->subtype, &params))
    {
      /* RFC 2045 §5.2 default; RFC 2046 §5.1.5 in a digest */
      part->type = g_strdup (in_digest ? "message" : "text");
      part->subtype = g_strdup (in_digest ? "rfc822" : "plain");
    }

  if (g_ascii_strcasecmp (part->type, "multipart") == 0)
    {
      const char *boundary = find_param (params, "boundary");

      if (boundary != NULL && *boundary != '\0' && depth < MS_IMAP_MAX_MIME_DEPTH)
        split_multipart (splitter, part, boundary,
                         g_ascii_strcasecmp (part->subtype, "digest") == 0, depth);
      else
        part->as_text = TRUE;
    }
  else if (g_ascii_strcasecmp (part->type, "message") == 0
           && g_ascii_strcasecmp (part->subtype, "rfc822") == 0)
    {
      if (depth < MS_IMAP_MAX_MIME_DEPTH)
        part->message = parse_entity (splitter, part->body_start, part->body_end, TRUE, FALSE,
                                      depth + 1);
      else
        part->as_text = TRUE;
    }
  if (part->as_text)
    {
      g_free (part->type);
      g_free (part->subtype);
      part->type = g_strdup ("text");
      part->subtype = g_strdup ("plain");
    }
  return part;
}

MsImapPart *
ms_imap_part_parse (const char *data,
                    gsize len)
{
  Splitter splitter = { data, 0 };

  g_return_val_if_fail (data != NULL || len == 0, NULL);

  return parse_entity (&splitter, 0, len, TRUE, FALSE, 0);
}

/* ---- ENVELOPE (RFC 3501 §7.4.2) ---- */

typedef enum {
  TOKEN_END,
  TOKEN_WORD,                 /* atom (dots included) or quoted string */
  TOKEN_LITERAL,              /* domain literal "[...]" */
  TOKEN_SPECIAL,              /* one of < > , : ; @ */
} TokenType;

typedef struct {
  const char *p;
  char *comment;              /* the last comment seen, for a name */
} Lexer;

static TokenType
next_token (Lexer *lexer,
            char **text_r,
            char *special_r)
{
  const char *s;

  for (;;)
    {
      while (*lexer->p == ' ' || *lexer->p == '\t')
        lexer->p++;
      if (*lexer->p != '(')
        break;
      s = lexer->p;
      skip_cfws (&lexer->p);
      /* keep the comment's text without its outer parentheses */
      g_free (lexer->comment);
      lexer->comment = g_strndup (s + 1, lexer->p - s - (lexer->p[-1] == ')' ? 2 : 1));
      g_strstrip (lexer->comment);
    }

  s = lexer->p;
  if (*s == '\0')
    return TOKEN_END;
  if (*s == '"')
    {
      *text_r = read_quoted (&lexer->p);
      return TOKEN_WORD;
    }
  if (*s == '[')
    {
      const char *close = strchr (s, ']');

      lexer->p = close != NULL ? close + 1 : s + strlen (s);
      *text_r = g_strndup (s, lexer->p - s);
      return TOKEN_LITERAL;
    }
  if (strchr ("<>,:;@", *s) != NULL)
    {
      *special_r = *s;
      lexer->p++;
      return TOKEN_SPECIAL;
    }
  while (*lexer->p != '\0' && strchr (" \t()<>,:;@\"[]", *lexer->p) == NULL)
    lexer->p++;
  if (lexer->p == s)
    {
      /* a stray ']' or '"' handled above cannot stop here; any other byte
       * is taken as a word of its own */
      lexer->p++;
    }
  *text_r = g_strndup (s, lexer->p - s);
  return TOKEN_WORD;
}

static void
append_address (GString *out,
                const char *name,
                const char *adl,
                const char *mailbox,
                const char *host)
{
  g_string_append_c (out, '(');
  append_nstring (out, name != NULL && *name != '\0' ? name : NULL);
  g_string_append_c (out, ' ');
  append_nstring (out, adl != NULL && *adl != '\0' ? adl : NULL);
  g_string_append_c (out, ' ');
  append_nstring (out, mailbox);
  g_string_append_c (out, ' ');
  append_nstring (out, host);
  g_string_append_c (out, ')');
}

/* Reads words and domain literals up to a special or the end, into `out`
 * joined by `separator`. Returns what stopped it (TOKEN_SPECIAL with
 * `special_r`, or TOKEN_END). */
static TokenType
read_words (Lexer *lexer,
            GString *out,
            const char *separator,
            char *special_r)
{
  for (;;)
    {
      char *text = NULL;
      TokenType type = next_token (lexer, &text, special_r);

      if (type == TOKEN_END || type == TOKEN_SPECIAL)
        return type;
      if (out->len > 0)
        g_string_append (out, separator);
      g_string_append (out, text);
      g_free (text);
    }
}

/* The inside of "<...>": [route ":"] local "@" domain (RFC 5322 §3.4,
 * obs-route §4.4), then on to the next ',' or ';'. */
static TokenType
read_angle_addr (Lexer *lexer,
                 GString *out,
                 const char *name,
                 char *special_r)
{
  g_autoptr (GString) route = g_string_new (NULL);
  g_autoptr (GString) local = g_string_new (NULL);
  g_autoptr (GString) domain = g_string_new (NULL);
  TokenType type;
  char special = '\0';

  type = read_words (lexer, local, "", &special);
  if (type == TOKEN_SPECIAL && special == '@' && local->len == 0)
    {
      /* obs-route: "@a,@b:" */
      g_string_append_c (route, '@');
      while ((type = read_words (lexer, route, "", &special)) == TOKEN_SPECIAL
             && (special == ',' || special == '@'))
        g_string_append_c (route, special);
      if (type == TOKEN_SPECIAL && special == ':')
        type = read_words (lexer, local, "", &special);
    }
  if (type == TOKEN_SPECIAL && special == '@')
    type = read_words (lexer, domain, "", &special);
  if (local->len > 0 || domain->len > 0)
    append_address (out, name, route->str, local->len > 0 ? local->str : MISSING_MAILBOX,
                    domain->len > 0 ? domain->str : MISSING_DOMAIN);

  /* skip to the end of this address */
  while (type == TOKEN_SPECIAL && special != ',' && special != ';')
    {
      g_autoptr (GString) junk = g_string_new (NULL);

      type = read_words (lexer, junk, "", &special);
    }
  *special_r = special;
  return type;
}

/* An address-list or mailbox-list (RFC 5322 §3.4) as IMAP addresses with
 * groups (RFC 3501 §7.4.2): (NIL NIL "group" NIL) ... (NIL NIL NIL NIL).
 * NIL when it holds no address. No recursion: a flat state machine. */
static void
append_address_list (GString *out,
                     const char *value)
{
  Lexer lexer = { value, NULL };
  g_autoptr (GString) list = g_string_new (NULL);
  gboolean in_group = FALSE;

  for (;;)
    {
      g_autoptr (GString) phrase = g_string_new (NULL);
      g_autoptr (GString) local = g_string_new (NULL);
      TokenType type;
      char special = '\0';
      const char *words_start;
      Lexer words_lexer;

      g_clear_pointer (&lexer.comment, g_free);
      /* The words before a special are a display name (joined by spaces)
       * or a local part (joined as they are): read them twice. */
      words_start = lexer.p;
      type = read_words (&lexer, phrase, " ", &special);
      words_lexer = (Lexer) { words_start, NULL };
      {
        char ignored;

        read_words (&words_lexer, local, "", &ignored);
        g_free (words_lexer.comment);
      }

      if (type == TOKEN_SPECIAL && special == ':' && !in_group)
        {
          append_address (list, NULL, NULL, phrase->str, NULL);
          in_group = TRUE;
          continue;
        }
      if (type == TOKEN_SPECIAL && special == '<')
        type = read_angle_addr (&lexer, list, phrase->str, &special);
      else if (type == TOKEN_SPECIAL && special == '@')
        {
          g_autoptr (GString) domain = g_string_new (NULL);

          type = read_words (&lexer, domain, "", &special);
          append_address (list, lexer.comment, NULL, local->len > 0 ? local->str : MISSING_MAILBOX,
                          domain->len > 0 ? domain->str : MISSING_DOMAIN);
          while (type == TOKEN_SPECIAL && special != ',' && special != ';')
            {
              g_autoptr (GString) junk = g_string_new (NULL);

              type = read_words (&lexer, junk, "", &special);
            }
        }
      else if (local->len > 0)
        append_address (list, NULL, NULL, local->str, MISSING_DOMAIN);

      if (in_group && (type == TOKEN_END || (type == TOKEN_SPECIAL && special == ';')))
        {
          append_address (list, NULL, NULL, NULL, NULL);
          in_group = FALSE;
        }
      if (type == TOKEN_END)
        break;
    }
  g_clear_pointer (&lexer.comment, g_free);

  if (list->len == 0)
    g_string_append (out, "NIL");
  else
    {
      g_string_append_c (out, '(');
      g_string_append_len (out, list->str, list->len);
      g_string_append_c (out, ')');
    }
}

/* An address header as a list, or NULL when it is missing or holds no
 * address. */
static char *
address_field (const char *header,
               gsize len,
               const char *name)
{
  g_autofree char *value = find_field (header, len, name);
  GString *list;

  if (value == NULL)
    return NULL;
  list = g_string_new (NULL);
  append_address_list (list, value);
  if (strcmp (list->str, "NIL") == 0)
    {
      g_string_free (list, TRUE);
      return NULL;
    }
  return g_string_free (list, FALSE);
}

static void
append_field_nstring (GString *out,
                      const char *header,
                      gsize len,
                      const char *name)
{
  g_autofree char *value = find_field (header, len, name);

  append_nstring (out, value);
}

void
ms_imap_append_envelope (GString *out,
                         const char *header,
                         gsize len)
{
  static const char *const addresses[] = { "To", "Cc", "Bcc" };
  g_autofree char *from = address_field (header, len, "From");
  g_autofree char *sender = address_field (header, len, "Sender");
  g_autofree char *reply_to = address_field (header, len, "Reply-To");

  g_return_if_fail (out != NULL);
  g_return_if_fail (header != NULL || len == 0);

  g_string_append_c (out, '(');
  append_field_nstring (out, header, len, "Date");
  g_string_append_c (out, ' ');
  append_field_nstring (out, header, len, "Subject");
  /* RFC 3501 §7.4.2: sender and reply-to default to from */
  g_string_append_printf (out, " %s %s %s",
                          from != NULL ? from : "NIL",
                          sender != NULL ? sender : from != NULL ? from : "NIL",
                          reply_to != NULL ? reply_to : from != NULL ? from : "NIL");
  for (guint i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      g_autofree char *list = address_field (header, len, addresses[i]);

      g_string_append_printf (out, " %s", list != NULL ? list : "NIL");
    }
  g_string_append_c (out, ' ');
  append_field_nstring (out, header, len, "In-Reply-To");
  g_string_append_c (out, ' ');
  append_field_nstring (out, header, len, "Message-ID");
  g_string_append_c (out, ')');
}

/* ---- BODY and BODYSTRUCTURE (RFC 3501 §7.4.2, §9 "body") ---- */

/* body-fld-dsp SP body-fld-lang SP body-fld-loc: the extension data both
 * kinds of part end with. */
static void
append_extension (GString *out,
                  const char *header,
                  gsize len)
{
  g_autofree char *disposition = find_field (header, len, "Content-Disposition");
  g_autofree char *language = find_field (header, len, "Content-Language");
  g_autofree char *location = find_field (header, len, "Content-Location");
  g_autofree char *type = NULL;
  g_autoptr (GPtrArray) params = NULL;

  g_string_append_c (out, ' ');
  if (disposition != NULL && parse_mime_value (disposition, FALSE, &type, NULL, &params))
    {
      g_string_append_c (out, '(');
      append_nstring (out, type);
      g_string_append_c (out, ' ');
      append_params (out, params, FALSE);
      g_string_append_c (out, ')');
    }
  else
    g_string_append (out, "NIL");

  /* RFC 3282 §2: a comma-separated list of language tags */
  g_string_append_c (out, ' ');
  {
    const char *p = language;
    guint n = 0;

    while (p != NULL && *p != '\0')
      {
        g_autofree char *tag = NULL;

        skip_cfws (&p);
        tag = read_token (&p);
        if (tag != NULL)
          {
            g_string_append (out, n++ == 0 ? "(" : " ");
            append_nstring (out, tag);
          }
        else if (*p != '\0')
          p++;
      }
    g_string_append (out, n > 0 ? ")" : "NIL");
  }

  g_string_append_c (out, ' ');
  append_nstring (out, location);
}

static void
append_part (GString *out,
             const MsImapPart *part,
             const char *data,
             gboolean extensible)
{
  const char *header = data + part->header_start;
  gsize header_len = part->body_start - part->header_start;
  const char *body = data + part->body_start;
  gsize body_len = part->body_end - part->body_start;
  g_autofree char *content_type = NULL;
  g_autofree char *type = NULL;
  g_autofree char *subtype = NULL;
  g_autoptr (GPtrArray) params = NULL;

  if (!part->as_text)
    {
      content_type = find_field (header, header_len, "Content-Type");
      if (content_type != NULL)
        parse_mime_value (content_type, TRUE, &type, &subtype, &params);
    }

  g_string_append_c (out, '(');
  if (part->children != NULL)
    {
      /* body-type-mpart: the parts without spaces between them */
      for (guint i = 0; i < part->children->len; i++)
        append_part (out, part->children->pdata[i], data, extensible);
      g_string_append_c (out, ' ');
      append_nstring (out, part->subtype);
      if (extensible)
        {
          g_string_append_c (out, ' ');
          append_params (out, params, FALSE);
          append_extension (out, header, header_len);
        }
      g_string_append_c (out, ')');
      return;
    }

  {
    gboolean text = g_ascii_strcasecmp (part->type, "text") == 0;
    g_autofree char *encoding_field = find_field (header, header_len,
                                                  "Content-Transfer-Encoding");
    g_autofree char *encoding = NULL;

    if (encoding_field != NULL)
      {
        const char *p = encoding_field;

        skip_cfws (&p);
        encoding = read_token (&p);
      }

    append_nstring (out, part->type);
    g_string_append_c (out, ' ');
    append_nstring (out, part->subtype);
    g_string_append_c (out, ' ');
    append_params (out, params, text);
    g_string_append_c (out, ' ');
    append_field_nstring (out, header, header_len, "Content-ID");
    g_string_append_c (out, ' ');
    append_field_nstring (out, header, header_len, "Content-Description");
    g_string_append_c (out, ' ');
    append_nstring (out, encoding != NULL ? encoding : "7bit");
    g_string_append_printf (out, " %" G_GUINT64_FORMAT, ms_imap_wire_size (body, body_len));

    if (part->message != NULL)
      {
        const MsImapPart *inner = part->message;

        g_string_append_c (out, ' ');
        ms_imap_append_envelope (out, data + inner->header_start,
                                 inner->body_start - inner->header_start);
        g_string_append_c (out, ' ');
        append_part (out, inner, data, extensible);
        g_string_append_printf (out, " %" G_GUINT64_FORMAT, count_lines (body, body_len));
      }
    else if (text)
      g_string_append_printf (out, " %" G_GUINT64_FORMAT, count_lines (body, body_len));

    if (extensible)
      {
        g_string_append_c (out, ' ');
        append_field_nstring (out, header, header_len, "Content-MD5");
        append_extension (out, header, header_len);
      }
  }
  g_string_append_c (out, ')');
}

void
ms_imap_append_body_structure (GString *out,
                               const MsImapPart *part,
                               const char *data,
                               gboolean extensible)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (part != NULL);

  append_part (out, part, data, extensible);
}
