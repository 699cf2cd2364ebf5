/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

#include <string.h>

#include "ms-imap-utf7.h"

/* RFC 3501 §5.1.3: modified BASE64 is RFC 2045 BASE64 with ',' for '/'
 * and no '=' padding. */
static const char b64_chars[] =
  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static gboolean
is_printable (gunichar c)
{
  return c >= 0x20 && c <= 0x7e;
}

static int
b64_value (char c)
{
  const char *p;

  if (c == '\0')
    return -1;
  p = strchr (b64_chars, c);
  return p != NULL ? (int) (p - b64_chars) : -1;
}

/* Writes one run of non-printable characters as "&<modified BASE64 of
 * UTF-16BE>-" (RFC 3501 §5.1.3). Returns where the run stopped. */
static const char *
encode_run (GString *out,
            const char *p)
{
  guint32 bits = 0;
  guint n_bits = 0;

  g_string_append_c (out, '&');
  while (*p != '\0' && !is_printable (g_utf8_get_char (p)))
    {
      gunichar c = g_utf8_get_char (p);
      guint16 units[2];
      guint n_units = 1;

      if (c >= 0x10000)
        {
          /* Outside the BMP: a UTF-16 surrogate pair. */
          units[0] = 0xd800 + ((c - 0x10000) >> 10);
          units[1] = 0xdc00 + ((c - 0x10000) & 0x3ff);
          n_units = 2;
        }
      else
        units[0] = c;
      for (guint i = 0; i < n_units; i++)
        {
          bits = (bits << 16) | units[i];
          n_bits += 16;
          while (n_bits >= 6)
            {
              n_bits -= 6;
              g_string_append_c (out, b64_chars[(bits >> n_bits) & 0x3f]);
            }
          bits &= (1u << n_bits) - 1;
        }
      p = g_utf8_next_char (p);
    }
  /* The last character is padded with zero bits, never with '='. */
  if (n_bits > 0)
    g_string_append_c (out, b64_chars[(bits << (6 - n_bits)) & 0x3f]);
  g_string_append_c (out, '-');
  return p;
}

char *
ms_imap_utf7_encode (const char *utf8)
{
  g_autoptr(GString) out = NULL;
  const char *p = utf8;

  g_return_val_if_fail (utf8 != NULL, NULL);

  if (!g_utf8_validate (utf8, -1, NULL))
    return NULL;
  out = g_string_sized_new (strlen (utf8) + 8);
  while (*p != '\0')
    {
      if (*p == '&')
        {
          g_string_append (out, "&-");
          p++;
        }
      else if (is_printable ((guchar) *p))
        g_string_append_c (out, *p++);
      else
        p = encode_run (out, p);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/* Decodes the BASE64 run at `p` (just after '&') up to its '-', appending
 * UTF-8 to `out`. Returns the position after '-', or NULL when the run is
 * not the one spelling an encoder would write (see the header). */
static const char *
decode_run (GString *out,
            const char *p)
{
  guint32 bits = 0;
  guint n_bits = 0;
  gunichar high = 0;          /* a high surrogate waiting for its pair */
  gboolean empty = TRUE;

  for (; *p != '-'; p++)
    {
      int v = b64_value (*p);

      if (v < 0)
        return NULL;          /* bad BASE64, or no '-' before the end */
      bits = (bits << 6) | (guint32) v;
      n_bits += 6;
      if (n_bits < 16)
        continue;
      n_bits -= 16;
      {
        gunichar unit = (bits >> n_bits) & 0xffff;

        bits &= (1u << n_bits) - 1;
        if (high != 0)
          {
            if (unit < 0xdc00 || unit > 0xdfff)
              return NULL;
            g_string_append_unichar (out, 0x10000 + ((high - 0xd800) << 10) + (unit - 0xdc00));
            high = 0;
          }
        else if (unit >= 0xd800 && unit <= 0xdbff)
          high = unit;
        else if (unit >= 0xdc00 && unit <= 0xdfff)
          return NULL;
        else if (unit == 0 || is_printable (unit))
          return NULL;        /* printable ASCII stands for itself; NUL ends a C string */
        else
          g_string_append_unichar (out, unit);
        empty = FALSE;
      }
    }
  /* Only the zero padding of the last character may be left over: six or
   * more bits mean a character too many, nonzero bits a second spelling. */
  if (empty || high != 0 || n_bits >= 6 || bits != 0)
    return NULL;
  return p + 1;
}

char *
ms_imap_utf7_decode (const char *utf7)
{
  g_autoptr(GString) out = NULL;
  const char *p = utf7;
  gboolean after_run = FALSE;

  g_return_val_if_fail (utf7 != NULL, NULL);

  out = g_string_sized_new (strlen (utf7) + 8);
  while (*p != '\0')
    {
      if (!is_printable ((guchar) *p))
        return NULL;
      if (*p != '&')
        {
          g_string_append_c (out, *p++);
          after_run = FALSE;
        }
      else if (p[1] == '-')
        {
          g_string_append_c (out, '&');
          p += 2;
          after_run = FALSE;
        }
      else
        {
          /* Two runs back to back ("&AOQ-&AOQ-") are one run written in two
           * pieces; an encoder writes "&AOQA5A-", so only that is valid. */
          if (after_run)
            return NULL;
          p = decode_run (out, p + 1);
          if (p == NULL)
            return NULL;
          after_run = TRUE;
        }
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}
