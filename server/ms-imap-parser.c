/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

#include <string.h>

#include "ms-imap-parser.h"

/* RFC 3501 §9 formal syntax, with LITERAL+ (RFC 7888 §4). The parser works
 * on one whole command in memory, so it never waits for input: every read
 * is checked against `len`, and recursion is bounded by max_depth. */

#define DEFAULT_MAX_DEPTH 16
#define DEFAULT_MAX_ARGS 10000
#define DEFAULT_MAX_TAG 64

/* A quoted string we write is at most this long; longer text goes as a
 * literal, which a client reads without scanning for escapes. */
#define MAX_QUOTED_OUT 1024

/* RFC 3501 §9: a number is 1*DIGIT that fits in 32 bits. */
#define MAX_NUMBER_DIGITS 10

G_DEFINE_QUARK (ms-imap-parse-error-quark, ms_imap_parse_error)

void
ms_imap_limits_init (MsImapLimits *limits)
{
  g_return_if_fail (limits != NULL);

  limits->max_depth = DEFAULT_MAX_DEPTH;
  limits->max_args = DEFAULT_MAX_ARGS;
  limits->max_tag = DEFAULT_MAX_TAG;
}

/* Character classes (RFC 3501 §9). */

/* ATOM-CHAR: any CHAR except atom-specials, that is "(" ")" "{" SP CTL
 * list-wildcards ("%" "*") quoted-specials (DQUOTE "\") resp-specials ("]"). */
static gboolean
is_atom_char (guchar c)
{
  if (c <= 0x20 || c >= 0x7f)
    return FALSE;
  return strchr ("(){%*\"\\]", c) == NULL;
}

/* ASTRING-CHAR = ATOM-CHAR / resp-specials. */
static gboolean
is_astring_char (guchar c)
{
  return is_atom_char (c) || c == ']';
}

/* tag = 1*<any ASTRING-CHAR except "+">. */
static gboolean
is_tag_char (guchar c)
{
  return is_astring_char (c) && c != '+';
}

/* What we take in an argument atom: ATOM-CHARs plus '\' (flag names such
 * as \Seen), '*' and '%' (LIST wildcards, "1:*") and ']'. '[' is an
 * ATOM-CHAR too but opens a section, which scan_section() reads. */
static gboolean
is_arg_atom_char (guchar c)
{
  return is_atom_char (c) || c == '\\' || c == '*' || c == '%' || c == ']';
}

/* Commands and arguments. */

void
ms_imap_arg_free (MsImapArg *arg)
{
  if (arg == NULL)
    return;
  g_free (arg->data);
  g_clear_pointer (&arg->children, g_ptr_array_unref);
  g_free (arg);
}

void
ms_imap_command_free (MsImapCommand *command)
{
  if (command == NULL)
    return;
  g_free (command->tag);
  g_free (command->verb);
  g_clear_pointer (&command->args, g_ptr_array_unref);
  g_free (command);
}

static MsImapArg *
arg_new (MsImapArgType type,
         const char *data,
         gsize len)
{
  MsImapArg *arg = g_new0 (MsImapArg, 1);

  arg->type = type;
  if (data != NULL)
    {
      /* g_strndup would stop at a NUL inside a literal. */
      arg->data = g_malloc (len + 1);
      memcpy (arg->data, data, len);
      arg->data[len] = '\0';
      arg->len = len;
    }
  return arg;
}

typedef struct {
  const char *data;           /* borrowed: the command */
  gsize len;
  gsize pos;
  const MsImapLimits *limits; /* borrowed */
  guint n_args;
  GError **error;             /* borrowed */
} Parser;

/* The byte at the cursor, or -1 at the end. */
static int
peek (const Parser *p)
{
  return p->pos < p->len ? (guchar) p->data[p->pos] : -1;
}

static gboolean
fail (Parser *p,
      MsImapParseError code,
      const char *what)
{
  g_set_error (p->error, MS_IMAP_PARSE_ERROR, code, "%s at offset %" G_GSIZE_FORMAT,
               what, p->pos);
  return FALSE;
}

/* Names the unexpected byte at the cursor for the error reply. */
static gboolean
fail_unexpected (Parser *p)
{
  int c = peek (p);

  if (c < 0)
    return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Unexpected end of command");
  if (c == ' ')
    return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Extra space");
  if (c == ')')
    return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Unbalanced ')'");
  if (c >= 0x80)
    return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "8-bit byte outside a string");
  if (c < 0x20 || c == 0x7f)
    return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Control character outside a string");
  return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Unexpected character");
}

/* An atom's section: '[' up to its ']', as in
 * BODY.PEEK[HEADER.FIELDS (From Subject)]. Only printable ASCII; quoted
 * strings inside are skipped so a ']' or ')' in them does not count.
 * Sections never nest '[' (RFC 3501 "section"), and their parentheses must
 * balance and count toward max_depth together with the lists around the
 * atom, so the FETCH handler that takes the section apart is bounded by the
 * same limit. */
static gboolean
scan_section (Parser *p,
              guint depth)
{
  guint nest = 0;
  gboolean quoted = FALSE;

  g_assert (peek (p) == '[');
  for (p->pos++; p->pos < p->len; p->pos++)
    {
      guchar c = p->data[p->pos];

      if (c < 0x20 || c > 0x7e)
        return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Bad character in section");
      if (quoted)
        {
          if (c == '\\')
            {
              p->pos++;
              if (peek (p) != '"' && peek (p) != '\\')
                return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Bad escape in quoted string");
            }
          else if (c == '"')
            quoted = FALSE;
          continue;
        }
      switch (c)
        {
        case '"':
          quoted = TRUE;
          break;
        case '[':
          return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Nested '[' in section");
        case '(':
          if (depth + nest + 1 > p->limits->max_depth)
            return fail (p, MS_IMAP_PARSE_ERROR_LIMIT, "Too deeply nested");
          nest++;
          break;
        case ')':
          if (nest == 0)
            return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Unbalanced ')' in section");
          nest--;
          break;
        case ']':
          if (nest > 0)
            return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Unbalanced '(' in section");
          p->pos++;
          return TRUE;
        default:
          break;
        }
    }
  return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Missing ']'");
}

static MsImapArg *
parse_atom (Parser *p,
            guint depth)
{
  gsize start = p->pos;

  while (p->pos < p->len)
    {
      guchar c = p->data[p->pos];

      if (c == '[')
        {
          if (!scan_section (p, depth))
            return NULL;
        }
      else if (is_arg_atom_char (c))
        p->pos++;
      else
        break;
    }
  if (p->pos == start)
    {
      fail_unexpected (p);
      return NULL;
    }
  if (p->pos - start == 3 && g_ascii_strncasecmp (p->data + start, "NIL", 3) == 0)
    return arg_new (MS_IMAP_ARG_NIL, NULL, 0);
  return arg_new (MS_IMAP_ARG_ATOM, p->data + start, p->pos - start);
}

/* quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR is any TEXT-CHAR (no CR,
 * LF, NUL) but '"' and '\', or '\' followed by one of them. 8-bit bytes are
 * taken as UTF-8 would be (RFC 6855 §3). */
static MsImapArg *
parse_quoted (Parser *p)
{
  g_autoptr(GString) text = g_string_new (NULL);
  MsImapArg *arg;

  g_assert (peek (p) == '"');
  for (p->pos++;; p->pos++)
    {
      int c = peek (p);

      if (c < 0)
        {
          fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Unterminated quoted string");
          return NULL;
        }
      if (c == '"')
        break;
      if (c == '\r' || c == '\n' || c == '\0')
        {
          fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "CR, LF or NUL in quoted string");
          return NULL;
        }
      if (c == '\\')
        {
          p->pos++;
          c = peek (p);
          if (c != '"' && c != '\\')
            {
              fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Bad escape in quoted string");
              return NULL;
            }
        }
      g_string_append_c (text, (char) c);
    }
  p->pos++;
  arg = arg_new (MS_IMAP_ARG_STRING, text->str, text->len);
  return arg;
}

/* literal = "{" number ["+"] "}" CRLF *CHAR8 (RFC 3501 §9, RFC 7888 §4).
 * The session has put exactly the announced bytes after the CRLF, so a
 * size that runs past the end, or bytes left over before the next
 * separator, mean the command is not what the client announced. */
static MsImapArg *
parse_literal (Parser *p)
{
  guint64 size = 0;
  gsize start;
  MsImapArg *arg;

  g_assert (peek (p) == '{');
  p->pos++;
  start = p->pos;
  while (peek (p) >= '0' && peek (p) <= '9')
    {
      guint digit = peek (p) - '0';

      if (size > (G_MAXUINT64 - digit) / 10)
        {
          fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Literal size too large");
          return NULL;
        }
      size = size * 10 + digit;
      p->pos++;
    }
  if (p->pos == start)
    {
      fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Literal without a size");
      return NULL;
    }
  if (peek (p) == '+')
    p->pos++;
  if (peek (p) != '}')
    {
      fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Bad literal announcement");
      return NULL;
    }
  p->pos++;
  if (p->len - p->pos < 2 || p->data[p->pos] != '\r' || p->data[p->pos + 1] != '\n')
    {
      fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Missing CRLF after literal announcement");
      return NULL;
    }
  p->pos += 2;
  if (size > p->len - p->pos)
    {
      fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Literal shorter than announced");
      return NULL;
    }
  arg = arg_new (MS_IMAP_ARG_STRING, p->data + p->pos, size);
  arg->literal = TRUE;
  p->pos += size;
  return arg;
}

static gboolean parse_args (Parser *p, guint depth, GPtrArray *args, int closer);

/* list = "(" [arg *(SP arg)] ")", at most max_depth deep. */
static MsImapArg *
parse_list (Parser *p,
            guint depth)
{
  g_autoptr(MsImapArg) arg = NULL;

  g_assert (peek (p) == '(');
  if (depth + 1 > p->limits->max_depth)
    {
      fail (p, MS_IMAP_PARSE_ERROR_LIMIT, "Too deeply nested");
      return NULL;
    }
  p->pos++;
  arg = arg_new (MS_IMAP_ARG_LIST, NULL, 0);
  arg->children = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_imap_arg_free);
  if (!parse_args (p, depth + 1, arg->children, ')'))
    return NULL;
  p->pos++;
  return g_steal_pointer (&arg);
}

static MsImapArg *
parse_arg (Parser *p,
           guint depth)
{
  /* Count before building, so a flood of tiny arguments stops early. */
  if (p->n_args >= p->limits->max_args)
    {
      fail (p, MS_IMAP_PARSE_ERROR_LIMIT, "Too many arguments");
      return NULL;
    }
  p->n_args++;
  switch (peek (p))
    {
    case '(':
      return parse_list (p, depth);
    case '"':
      return parse_quoted (p);
    case '{':
      return parse_literal (p);
    default:
      return parse_atom (p, depth);
    }
}

/* Arguments separated by single spaces, up to `closer` (')' in a list, -1
 * for the end of the command), which is left for the caller. */
static gboolean
parse_args (Parser *p,
            guint depth,
            GPtrArray *args,
            int closer)
{
  if (peek (p) == closer)
    return TRUE;
  for (;;)
    {
      MsImapArg *arg = parse_arg (p, depth);
      int c;

      if (arg == NULL)
        return FALSE;
      g_ptr_array_add (args, arg);
      c = peek (p);
      if (c == closer)
        return TRUE;
      if (c == ' ')
        {
          p->pos++;
          if (peek (p) == closer)
            return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX,
                         closer < 0 ? "Trailing space" : "Space before ')'");
          continue;
        }
      if (c < 0)
        return fail (p, MS_IMAP_PARSE_ERROR_SYNTAX, "Missing ')'");
      return fail_unexpected (p);
    }
}

MsImapCommand *
ms_imap_parse_command (const char *data,
                       gsize len,
                       const MsImapLimits *limits,
                       char **tag_r,
                       GError **error)
{
  g_autoptr(MsImapCommand) command = NULL;
  g_autofree char *tag = NULL;
  MsImapLimits defaults;
  Parser p = { data, len, 0, limits, 0, error };
  gsize start;

  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (tag_r != NULL)
    *tag_r = NULL;
  if (limits == NULL)
    {
      ms_imap_limits_init (&defaults);
      p.limits = &defaults;
    }

  /* tag SP: a tag we cannot echo (missing, bad characters, too long) makes
   * the reply untagged ("* BAD"). */
  while (p.pos < len && is_tag_char (data[p.pos]))
    p.pos++;
  if (p.pos == 0 && (len == 0 || data[0] == ' '))
    {
      fail (&p, MS_IMAP_PARSE_ERROR_BAD_TAG, "Missing tag");
      return NULL;
    }
  if (p.pos < len && data[p.pos] != ' ')
    {
      fail (&p, MS_IMAP_PARSE_ERROR_BAD_TAG, "Bad character in tag");
      return NULL;
    }
  if (p.pos > p.limits->max_tag)
    {
      fail (&p, MS_IMAP_PARSE_ERROR_BAD_TAG, "Tag too long");
      return NULL;
    }
  tag = g_strndup (data, p.pos);

  /* SP verb, then nothing or SP and the arguments. */
  if (peek (&p) != ' ')
    {
      fail (&p, MS_IMAP_PARSE_ERROR_SYNTAX, "Missing command");
      goto out;
    }
  p.pos++;
  start = p.pos;
  while (p.pos < len && is_atom_char (data[p.pos]))
    p.pos++;
  if (p.pos == start)
    {
      fail_unexpected (&p);
      goto out;
    }
  command = g_new0 (MsImapCommand, 1);
  command->verb = g_ascii_strup (data + start, p.pos - start);
  command->args = g_ptr_array_new_with_free_func ((GDestroyNotify) ms_imap_arg_free);
  if (p.pos < len)
    {
      if (data[p.pos] != ' ')
        {
          fail_unexpected (&p);
          goto out;
        }
      p.pos++;
      if (p.pos == len)
        {
          fail (&p, MS_IMAP_PARSE_ERROR_SYNTAX, "Trailing space");
          goto out;
        }
      if (!parse_args (&p, 0, command->args, -1))
        goto out;
    }
  command->tag = g_steal_pointer (&tag);
  return g_steal_pointer (&command);

out:
  if (tag_r != NULL)
    *tag_r = g_steal_pointer (&tag);
  return NULL;
}

gboolean
ms_imap_line_literal (const char *line,
                      gsize len,
                      guint64 *size_r,
                      gboolean *nonsync_r)
{
  guint64 size = 0;
  gboolean nonsync = FALSE;
  gsize end, start;

  g_return_val_if_fail (line != NULL || len == 0, FALSE);

  if (len < 3 || line[len - 1] != '}')
    return FALSE;
  end = len - 1;
  if (line[end - 1] == '+')
    {
      nonsync = TRUE;
      end--;
    }
  start = end;
  while (start > 0 && g_ascii_isdigit (line[start - 1]))
    start--;
  if (start == end || start == 0 || line[start - 1] != '{')
    return FALSE;
  for (gsize i = start; i < end; i++)
    {
      guint digit = line[i] - '0';

      if (size > (G_MAXUINT64 - digit) / 10)
        return FALSE;
      size = size * 10 + digit;
    }
  if (size_r != NULL)
    *size_r = size;
  if (nonsync_r != NULL)
    *nonsync_r = nonsync;
  return TRUE;
}

/* Helpers for handlers. */

const char *
ms_imap_arg_astring (const MsImapArg *arg)
{
  if (arg == NULL || (arg->type != MS_IMAP_ARG_ATOM && arg->type != MS_IMAP_ARG_STRING))
    return NULL;
  return arg->data;
}

gboolean
ms_imap_arg_is_atom (const MsImapArg *arg,
                     const char *keyword)
{
  g_return_val_if_fail (keyword != NULL, FALSE);

  return arg != NULL && arg->type == MS_IMAP_ARG_ATOM &&
         g_ascii_strcasecmp (arg->data, keyword) == 0;
}

/* number = 1*DIGIT, at most 10 digits and at most 2^32 - 1 here. */
static gboolean
parse_number (const char *text,
              gsize len,
              guint32 *value_r)
{
  guint64 value = 0;

  if (len == 0 || len > MAX_NUMBER_DIGITS)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isdigit (text[i]))
        return FALSE;
      value = value * 10 + (guint) (text[i] - '0');
    }
  if (value > G_MAXUINT32)
    return FALSE;
  *value_r = (guint32) value;
  return TRUE;
}

gboolean
ms_imap_arg_number (const MsImapArg *arg,
                    guint32 *value_r)
{
  guint32 value;

  if (arg == NULL || arg->type != MS_IMAP_ARG_ATOM || !parse_number (arg->data, arg->len, &value))
    return FALSE;
  if (value_r != NULL)
    *value_r = value;
  return TRUE;
}

/* seq-number = nz-number / "*"; nz-number = digit-nz *DIGIT. Reads one at
 * `*p` and moves past it. */
static gboolean
parse_seq_number (const char **p,
                  guint32 star_value,
                  guint32 *value_r)
{
  gsize n;

  if (**p == '*')
    {
      (*p)++;
      *value_r = star_value;
      return TRUE;
    }
  n = strspn (*p, "0123456789");
  if (n == 0 || **p == '0' || !parse_number (*p, n, value_r))
    return FALSE;
  *p += n;
  return TRUE;
}

/* RFC 3501 §9: sequence-set = (seq-number / seq-range) *("," sequence-set);
 * seq-range = seq-number ":" seq-number, where "4:2" means 2:4. */
GArray *
ms_imap_parse_sequence_set (const char *text,
                            guint32 star_value,
                            guint max_ranges)
{
  g_autoptr(GArray) ranges = NULL;
  const char *p = text;

  g_return_val_if_fail (text != NULL, NULL);

  ranges = g_array_new (FALSE, FALSE, sizeof (MsImapRange));
  for (;;)
    {
      MsImapRange range;
      guint32 other;

      if (ranges->len >= max_ranges)
        return NULL;
      if (!parse_seq_number (&p, star_value, &range.min))
        return NULL;
      range.max = range.min;
      if (*p == ':')
        {
          p++;
          if (!parse_seq_number (&p, star_value, &other))
            return NULL;
          range.min = MIN (range.min, other);
          range.max = MAX (range.max, other);
        }
      g_array_append_val (ranges, range);
      if (*p == '\0')
        return g_steal_pointer (&ranges);
      if (*p != ',')
        return NULL;
      p++;
    }
}

gboolean
ms_imap_sequence_set_contains (const GArray *ranges,
                               guint32 value)
{
  g_return_val_if_fail (ranges != NULL, FALSE);

  for (guint i = 0; i < ranges->len; i++)
    {
      const MsImapRange *range = &g_array_index (ranges, MsImapRange, i);

      if (value >= range->min && value <= range->max)
        return TRUE;
    }
  return FALSE;
}

/* Dates (RFC 3501 §9 "date", "date-time"). */

static const char * const month_names[12] = {
  "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};

#define SECONDS_PER_DAY 86400
/* 0000-01-01 and 9999-12-31 as days from 1970-01-01: the 4-digit years
 * that date-year can write. */
#define MIN_DAY (-719528)
#define MAX_DAY 2932896

static gboolean
is_leap_year (int year)
{
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int
days_in_month (int year,
               int month)
{
  static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

  return month == 2 && is_leap_year (year) ? 29 : days[month - 1];
}

/* Days from 1970-01-01 to a date of the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil; month 1..12). Plain arithmetic, so any
 * 4-digit year works, unlike timegm on a 32-bit time_t or GDateTime before
 * year 1. */
static gint64
days_from_civil (int year,
                 int month,
                 int day)
{
  gint64 y = month <= 2 ? year - 1 : year;
  gint64 era = (y >= 0 ? y : y - 399) / 400;
  gint64 yoe = y - era * 400;
  gint64 doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  gint64 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

  return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil(). */
static void
civil_from_days (gint64 days,
                 int *year_r,
                 int *month_r,
                 int *day_r)
{
  gint64 z = days + 719468;
  gint64 era = (z >= 0 ? z : z - 146096) / 146097;
  gint64 doe = z - era * 146097;
  gint64 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  gint64 doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  gint64 mp = (5 * doy + 2) / 153;
  int month = mp < 10 ? mp + 3 : mp - 9;

  *day_r = doy - (153 * mp + 2) / 5 + 1;
  *month_r = month;
  *year_r = yoe + era * 400 + (month <= 2);
}

/* Exactly `n` digits at `*p`; moves past them. */
static gboolean
read_digits (const char **p,
             guint n,
             int *value_r)
{
  int value = 0;

  for (guint i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit ((*p)[i]))
        return FALSE;
      value = value * 10 + ((*p)[i] - '0');
    }
  *p += n;
  *value_r = value;
  return TRUE;
}

/* "-" date-month "-" date-year, after the day; checks the day fits. */
static gboolean
read_month_year (const char **p,
                 int day,
                 gint64 *days_r)
{
  int month = 0;
  int year;

  if (**p != '-')
    return FALSE;
  (*p)++;
  for (int i = 0; i < 12; i++)
    if (g_ascii_strncasecmp (*p, month_names[i], 3) == 0)
      month = i + 1;
  if (month == 0)
    return FALSE;
  *p += 3;
  if (**p != '-')
    return FALSE;
  (*p)++;
  if (!read_digits (p, 4, &year))
    return FALSE;
  if (day < 1 || day > days_in_month (year, month))
    return FALSE;
  *days_r = days_from_civil (year, month, day);
  return TRUE;
}

/* Drops one pair of surrounding double quotes: RFC 3501 allows "date" both
 * bare and quoted, and a date-time always comes quoted on the wire. */
static char *
unquote (const char *text)
{
  gsize len = strlen (text);

  if (len >= 2 && text[0] == '"' && text[len - 1] == '"')
    return g_strndup (text + 1, len - 2);
  return g_strdup (text);
}

/* date-text = date-day "-" date-month "-" date-year; date-day = 1*2DIGIT. */
gboolean
ms_imap_parse_date (const char *text,
                    gint64 *time_r)
{
  g_autofree char *copy = NULL;
  const char *p;
  gint64 days;
  int day;

  g_return_val_if_fail (text != NULL, FALSE);

  copy = unquote (text);
  p = copy;
  if (!read_digits (&p, g_ascii_isdigit (p[0]) && g_ascii_isdigit (p[1]) ? 2 : 1, &day))
    return FALSE;
  if (!read_month_year (&p, day, &days) || *p != '\0')
    return FALSE;
  if (time_r != NULL)
    *time_r = days * SECONDS_PER_DAY;
  return TRUE;
}

/* date-time = date-day-fixed "-" date-month "-" date-year SP time SP zone;
 * date-day-fixed = (SP DIGIT) / 2DIGIT; time = 2DIGIT ":" 2DIGIT ":" 2DIGIT;
 * zone = ("+" / "-") 4DIGIT. */
gboolean
ms_imap_parse_date_time (const char *text,
                         gint64 *time_r)
{
  g_autofree char *copy = NULL;
  const char *p;
  gint64 days;
  int day, hour, minute, second, zone_hour, zone_minute, sign;

  g_return_val_if_fail (text != NULL, FALSE);

  copy = unquote (text);
  p = copy;
  if (*p == ' ')
    {
      p++;
      if (!read_digits (&p, 1, &day))
        return FALSE;
    }
  else if (!read_digits (&p, 2, &day))
    return FALSE;
  if (!read_month_year (&p, day, &days) || *p++ != ' ')
    return FALSE;
  if (!read_digits (&p, 2, &hour) || *p++ != ':' ||
      !read_digits (&p, 2, &minute) || *p++ != ':' ||
      !read_digits (&p, 2, &second) || *p++ != ' ')
    return FALSE;
  if (hour > 23 || minute > 59 || second > 60)
    return FALSE;
  if (*p != '+' && *p != '-')
    return FALSE;
  sign = *p++ == '-' ? -1 : 1;
  if (!read_digits (&p, 2, &zone_hour) || !read_digits (&p, 2, &zone_minute) || *p != '\0')
    return FALSE;
  if (zone_minute > 59)
    return FALSE;
  /* The zone is the local time's offset from UTC: UTC = local - offset. */
  if (time_r != NULL)
    *time_r = days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second -
              sign * (zone_hour * 3600 + zone_minute * 60);
  return TRUE;
}

char *
ms_imap_format_date_time (gint64 time)
{
  gint64 days, seconds;
  int year, month, day;

  /* Keep the year to the 4 digits that date-year allows. */
  time = CLAMP (time, (gint64) MIN_DAY * SECONDS_PER_DAY,
                (gint64) MAX_DAY * SECONDS_PER_DAY + SECONDS_PER_DAY - 1);
  days = time / SECONDS_PER_DAY;
  seconds = time % SECONDS_PER_DAY;
  if (seconds < 0)
    {
      seconds += SECONDS_PER_DAY;
      days--;
    }
  civil_from_days (days, &year, &month, &day);
  return g_strdup_printf ("%02d-%s-%04d %02d:%02d:%02d +0000", day, month_names[month - 1],
                          year, (int) (seconds / 3600), (int) (seconds / 60 % 60),
                          (int) (seconds % 60));
}

/* Writing strings (RFC 3501 §4.3). */

void
ms_imap_append_string (GString *out,
                       const char *text,
                       gsize len)
{
  gboolean quotable = len <= MAX_QUOTED_OUT;

  g_return_if_fail (out != NULL);

  if (text == NULL)
    {
      g_string_append (out, "NIL");
      return;
    }
  for (gsize i = 0; i < len && quotable; i++)
    quotable = text[i] >= 0x20 && text[i] <= 0x7e;
  if (!quotable)
    {
      g_string_append_printf (out, "{%" G_GSIZE_FORMAT "}\r\n", len);
      g_string_append_len (out, text, len);
      return;
    }
  g_string_append_c (out, '"');
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '"' || text[i] == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, text[i]);
    }
  g_string_append_c (out, '"');
}

void
ms_imap_append_astring (GString *out,
                        const char *text)
{
  gsize len;
  gboolean atom;

  g_return_if_fail (out != NULL);

  if (text == NULL)
    {
      g_string_append (out, "NIL");
      return;
    }
  len = strlen (text);
  /* astring = 1*ASTRING-CHAR / string; the atom NIL would read as NIL. */
  atom = len > 0 && g_ascii_strcasecmp (text, "NIL") != 0;
  for (gsize i = 0; i < len && atom; i++)
    atom = is_astring_char (text[i]);
  if (atom)
    g_string_append_len (out, text, len);
  else
    ms_imap_append_string (out, text, len);
}
