/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-imap"

#include "config.h"

#include <string.h>

#include "ms-imap-session-private.h"

/* STORE and UID STORE (RFC 3501 §6.4.6, §6.4.8; syntax §9 "store",
 * "store-att-flags"). Flags are kept as Maildir letters in the file name
 * (ms-store.h); only the five system flags can be stored (PERMANENTFLAGS). */

/* The Maildir letters IMAP shows as system flags. Other letters (P, and
 * lower-case keywords a mail reader set) are kept as they are. */
#define SYSTEM_LETTERS "DFRST"

typedef enum {
  STORE_REPLACE,                /* FLAGS */
  STORE_ADD,                    /* +FLAGS */
  STORE_REMOVE,                 /* -FLAGS */
} StoreMode;

/* "[+|-]FLAGS[.SILENT]", case-insensitive. */
static gboolean
parse_store_item (const MsImapArg *arg,
                  StoreMode *mode_r,
                  gboolean *silent_r)
{
  const char *p;

  if (arg->type != MS_IMAP_ARG_ATOM)
    return FALSE;
  p = arg->data;
  *mode_r = STORE_REPLACE;
  if (*p == '+' || *p == '-')
    *mode_r = *p++ == '+' ? STORE_ADD : STORE_REMOVE;
  if (g_ascii_strncasecmp (p, "FLAGS", 5) != 0)
    return FALSE;
  p += 5;
  *silent_r = g_ascii_strcasecmp (p, ".SILENT") == 0;
  return *p == '\0' || *silent_r;
}

typedef enum {
  FLAGS_OK,
  FLAGS_SYNTAX,                 /* not a flag at all, or \Recent: BAD */
  FLAGS_KEYWORD,                /* a keyword we cannot keep: NO */
} FlagsCheck;

/* The flag arguments (§9: flag-list, or flag *(SP flag)) as sorted
 * Maildir letters. */
static FlagsCheck
parse_store_flags (GPtrArray *args,
                   guint first,
                   char *letters_r,
                   gsize size)
{
  gboolean wanted[sizeof SYSTEM_LETTERS] = { FALSE, };
  gsize n = 0;

  for (guint i = first; i < args->len; i++)
    {
      const MsImapArg *arg = args->pdata[i];
      const MsImapArg *const *flags = &arg;
      guint n_flags = 1;

      if (arg->type == MS_IMAP_ARG_LIST && args->len == first + 1)
        {
          flags = (const MsImapArg *const *) arg->children->pdata;
          n_flags = arg->children->len;
        }
      for (guint f = 0; f < n_flags; f++)
        {
          char letters[8];

          if (flags[f]->type != MS_IMAP_ARG_ATOM)
            return FLAGS_SYNTAX;
          if (!_ms_imap_parse_flags (flags[f], letters, sizeof letters))
            {
              /* RFC 3501 §2.3.2: \Recent and unknown system flags are
               * errors; a keyword is valid syntax we do not keep. */
              return flags[f]->data[0] == '\\' ? FLAGS_SYNTAX : FLAGS_KEYWORD;
            }
          for (const char *l = letters; *l != '\0'; l++)
            wanted[strchr (SYSTEM_LETTERS, *l) - SYSTEM_LETTERS] = TRUE;
        }
    }
  g_assert (size > strlen (SYSTEM_LETTERS));
  for (guint i = 0; SYSTEM_LETTERS[i] != '\0'; i++)
    {
      if (wanted[i])
        letters_r[n++] = SYSTEM_LETTERS[i];
    }
  letters_r[n] = '\0';
  return FLAGS_OK;
}

/* The message's new Maildir letters, sorted: its other letters stay. */
static char *
new_flags (const char *old,
           const char *given,
           StoreMode mode)
{
  GString *flags = g_string_new (NULL);
  const char *letter;

  for (letter = old; *letter != '\0'; letter++)
    {
      gboolean system = strchr (SYSTEM_LETTERS, *letter) != NULL;
      gboolean listed = strchr (given, *letter) != NULL;

      if (!system || (mode == STORE_ADD) || (mode == STORE_REMOVE && !listed))
        g_string_append_c (flags, *letter);
    }
  if (mode != STORE_REMOVE)
    {
      for (letter = given; *letter != '\0'; letter++)
        {
          if (strchr (flags->str, *letter) == NULL)
            g_string_append_c (flags, *letter);
        }
    }
  /* ASCII order, as the store and the view keep them (a few letters) */
  for (gsize i = 1; i < flags->len; i++)
    for (gsize j = i; j > 0 && flags->str[j - 1] > flags->str[j]; j--)
      {
        char swap = flags->str[j];

        flags->str[j] = flags->str[j - 1];
        flags->str[j - 1] = swap;
      }
  return g_string_free (flags, FALSE);
}

/* RFC 3501 §6.4.6 STORE sequence-set store-att-flags, and UID STORE
 * (§6.4.8). */
void
_ms_imap_cmd_store (MsImapSession *session,
                    const char *tag,
                    GPtrArray *args,
                    gboolean uid)
{
  const MsImapArg *set_arg;
  g_autoptr (GArray) indexes = NULL;
  StoreMode mode;
  gboolean silent;
  char given[8];
  guint failed = 0;

  /* check */
  set_arg = args->len > 0 ? args->pdata[0] : NULL;
  if (args->len < 3 || set_arg->type != MS_IMAP_ARG_ATOM
      || !parse_store_item (args->pdata[1], &mode, &silent))
    {
      _ms_imap_bad (session, tag, "Syntax: %sSTORE sequence-set [+|-]FLAGS[.SILENT] (flags)",
                    uid ? "UID " : "");
      return;
    }
  switch (parse_store_flags (args, 2, given, sizeof given))
    {
    case FLAGS_OK:
      break;
    case FLAGS_SYNTAX:
      _ms_imap_bad (session, tag, "Invalid flags: only \\Answered \\Flagged \\Deleted "
                    "\\Seen \\Draft can be stored (RFC 3501 section 2.3.2)");
      return;
    case FLAGS_KEYWORD:
      _ms_imap_tagged (session, tag, "NO",
                       "[CANNOT] Keywords are not kept here; see PERMANENTFLAGS");
      return;
    default:
      g_assert_not_reached ();
    }
  if (session->read_only)
    {
      /* §6.3.2: EXAMINE selects read-only; §7.1 READ-ONLY */
      _ms_imap_tagged (session, tag, "NO", "[READ-ONLY] Mailbox is read-only (EXAMINE)");
      return;
    }
  indexes = _ms_imap_resolve_set (session, tag, set_arg->data, uid);
  if (indexes == NULL)
    return;

  /* proceed */
  for (guint i = 0; i < indexes->len && !session->closed; i++)
    {
      guint index = g_array_index (indexes, guint, i);
      guint32 message_uid = ms_imap_view_uid_at (session->view, index);
      g_autoptr (GError) error = NULL;
      g_autoptr (MsStoreMessage) message = NULL;
      g_autofree char *flags = NULL;
      g_autoptr (GString) line = NULL;

      /* the store's letters, not the view's: keywords and P are kept, and
       * +FLAGS adds to what is on disk now */
      message = ms_store_get_message (session->store, session->user, session->selected,
                                      message_uid, &error);
      if (message != NULL)
        {
          flags = new_flags (message->flags, given, mode);
          if (strcmp (flags, message->flags) != 0
              && !ms_store_set_flags (session->store, session->user, session->selected,
                                      message_uid, flags, &error))
            g_clear_pointer (&flags, g_free);
        }
      if (flags == NULL)
        {
          /* expunged by someone else since the last sync, or a file error */
          if (!g_error_matches (error, MS_STORE_ERROR, MS_STORE_ERROR_NOT_FOUND))
            g_warning ("%s: STORE failed: %s", session->trace.session_id, error->message);
          failed++;
          continue;
        }
      _ms_imap_view_set_flags (session, index, flags);
      if (silent)
        continue;
      /* §6.4.6: the new flags as an untagged FETCH; with the UID in UID
       * STORE (§6.4.8) */
      line = g_string_new (NULL);
      if (uid)
        g_string_append_printf (line, "UID %u ", message_uid);
      g_string_append (line, "FLAGS ");
      ms_imap_view_append_flags (line, ms_imap_view_get_bits (session->view, index));
      _ms_imap_untagged (session, "%u FETCH (%s)", index + 1, line->str);
    }

  if (failed > 0)
    _ms_imap_tagged (session, tag, "NO", "[EXPUNGEISSUED] %u messages could not be changed",
                     failed);
  else
    _ms_imap_tagged (session, tag, "OK", "%sSTORE completed", uid ? "UID " : "");
}
