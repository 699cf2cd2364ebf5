/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-world-options"

#include "config.h"

#include <glib/gstdio.h>
#include <openssl/crypto.h>
#include <string.h>

#include "ms-world-options.h"

G_DEFINE_QUARK (ms-world-options-error-quark, ms_world_options_error)

/* The server of a plain `mailscope-server`. */
#define DEFAULT_DOMAIN "example.test"
/* The longest domain name (RFC 1035 section 2.3.4). */
#define MAX_DOMAIN 253
/* A config file is a few dozen lines; refuse to read a huge one. */
#define MAX_CONFIG_SIZE (1024 * 1024)

/* The defaults of a server's listeners, in MsListenerKind order: the
 * standard port with 2 in front (DESIGN.md "The demo world", alpha.test). */
static const guint default_ports[MS_N_LISTENERS] = {
  2525, 2587, 2465, 2110, 2995, 2143, 2993
};

/* The numbers and switches of a world or a server; the listeners' ports
 * come first, indexed by MsListenerKind. */
typedef enum {
  VALUE_MAX_MESSAGE_SIZE = MS_N_LISTENERS,
  VALUE_POP3_EXPIRE,
  VALUE_POP3_LOGIN_DELAY,
  VALUE_IMAP_LOGIN_NEEDS_TLS,
  VALUE_TRACE_PORT,
  VALUE_REVEAL_SECRETS,
  VALUE_DEMO,
  N_VALUES
} ValueId;

typedef enum {
  STRING_CONFIG,
  STRING_DOMAIN,
  STRING_DATA_DIR,
  STRING_LISTEN,
  STRING_TRACE_LISTEN,
  STRING_TRACE_TOKEN,
  N_STRINGS
} StringId;

typedef enum {
  LIST_USERS,
  LIST_APOP_SECRETS,
  LIST_ROUTES,
  N_LISTS
} ListId;

typedef enum {
  SCOPE_FLAG,        /* a flag only */
  SCOPE_WORLD,       /* a flag and a key of [world] */
  SCOPE_SERVER,      /* a flag and a key of each [server DOMAIN] */
} Scope;

typedef enum {
  KIND_PORT,         /* 0 (off) to 65535 */
  KIND_COUNT,        /* 0 to G_MAXINT: days, seconds */
  KIND_SIZE,         /* bytes */
  KIND_BOOL,
  KIND_STRING,
  KIND_PATH,
  KIND_LIST,         /* repeatable flag; a `;` list in the file */
} Kind;

/* One setting: its flag, its key in the config file, and where its value
 * goes. The flags and the file are read through this one table, so the two
 * cannot drift apart. */
typedef struct {
  const char *flag;  /* --FLAG */
  char short_name;
  const char *key;   /* NULL for SCOPE_FLAG */
  Scope scope;
  Kind kind;
  guint id;          /* a ValueId (or MsListenerKind), StringId or ListId, by kind */
} Setting;

static const Setting settings[] = {
  { "demo", 0, NULL, SCOPE_FLAG, KIND_BOOL, VALUE_DEMO },
  { "config", 0, NULL, SCOPE_FLAG, KIND_PATH, STRING_CONFIG },
  { "domain", 0, NULL, SCOPE_FLAG, KIND_STRING, STRING_DOMAIN },
  { "data-dir", 'd', "data-dir", SCOPE_WORLD, KIND_PATH, STRING_DATA_DIR },
  { "listen", 0, "listen", SCOPE_WORLD, KIND_STRING, STRING_LISTEN },
  { "trace-port", 0, "trace-port", SCOPE_WORLD, KIND_PORT, VALUE_TRACE_PORT },
  { "trace-listen", 0, "trace-listen", SCOPE_WORLD, KIND_STRING, STRING_TRACE_LISTEN },
  { "trace-token", 0, "trace-token", SCOPE_WORLD, KIND_STRING, STRING_TRACE_TOKEN },
  { "reveal-secrets", 0, "reveal-secrets", SCOPE_WORLD, KIND_BOOL, VALUE_REVEAL_SECRETS },
  { "user", 'u', "users", SCOPE_SERVER, KIND_LIST, LIST_USERS },
  { "route", 0, "routes", SCOPE_SERVER, KIND_LIST, LIST_ROUTES },
  { "apop-secret", 0, "apop-secrets", SCOPE_SERVER, KIND_LIST, LIST_APOP_SECRETS },
  { "smtp-port", 0, "smtp-port", SCOPE_SERVER, KIND_PORT, MS_LISTENER_SMTP },
  { "submission-port", 0, "submission-port", SCOPE_SERVER, KIND_PORT, MS_LISTENER_SUBMISSION },
  { "smtps-port", 0, "smtps-port", SCOPE_SERVER, KIND_PORT, MS_LISTENER_SMTPS },
  { "pop3-port", 0, "pop3-port", SCOPE_SERVER, KIND_PORT, MS_LISTENER_POP3 },
  { "pop3s-port", 0, "pop3s-port", SCOPE_SERVER, KIND_PORT, MS_LISTENER_POP3S },
  { "imap-port", 0, "imap-port", SCOPE_SERVER, KIND_PORT, MS_LISTENER_IMAP },
  { "imaps-port", 0, "imaps-port", SCOPE_SERVER, KIND_PORT, MS_LISTENER_IMAPS },
  { "imap-login-needs-tls", 0, "imap-login-needs-tls", SCOPE_SERVER, KIND_BOOL,
    VALUE_IMAP_LOGIN_NEEDS_TLS },
  { "pop3-login-delay", 0, "pop3-login-delay", SCOPE_SERVER, KIND_COUNT,
    VALUE_POP3_LOGIN_DELAY },
  { "pop3-expire", 0, "pop3-expire", SCOPE_SERVER, KIND_COUNT, VALUE_POP3_EXPIRE },
  { "max-message-size", 0, "max-message-size", SCOPE_SERVER, KIND_SIZE,
    VALUE_MAX_MESSAGE_SIZE },
};

/* An item of a list setting: a user, an APOP secret or a route. */
typedef struct {
  char *where;       /* "--user" or "FILE: [server DOMAIN] users:", for messages */
  char *name;        /* the user (lower case), or the route's domain */
  char *value;       /* the password or secret (wiped when freed), or the route's host */
  guint16 port;      /* a route's */
} Entry;

/* The settings of a world or of one server, as given: -1 and NULL are
 * "not given". One struct for both, so that merging is one loop. */
typedef struct {
  char *domain;                 /* a server's, lower case; NULL for the world */
  gint64 values[N_VALUES];
  char *strings[N_STRINGS];
  GPtrArray *lists[N_LISTS];    /* of Entry */
} Spec;

struct _MsWorldOptions {
  Spec *flags;                  /* the command line */
  Spec *world;                  /* the world's settings: flags over the file's [world] */
  GPtrArray *servers;           /* of Spec: the servers to build */
  Spec *selected;               /* borrowed from `servers`: the command line's; may be NULL */
  GPtrArray *domains;           /* of char (borrowed from the specs), NULL-terminated */
  char *data_dir;
  gboolean default_demo;
  gboolean demo;
  gboolean finished;
  gboolean any_given;           /* some flag of the group was on the command line */
};

static void
wipe_string (char *text)
{
  if (text != NULL)
    OPENSSL_cleanse (text, strlen (text));
  g_free (text);
}

static void
entry_free (Entry *entry)
{
  g_free (entry->where);
  g_free (entry->name);
  wipe_string (entry->value);
  g_free (entry);
}

static Entry *
entry_copy (const Entry *entry)
{
  Entry *copy = g_new0 (Entry, 1);

  copy->where = g_strdup (entry->where);
  copy->name = g_strdup (entry->name);
  copy->value = g_strdup (entry->value);
  copy->port = entry->port;
  return copy;
}

static Spec *
spec_new (const char *domain)
{
  Spec *spec = g_new0 (Spec, 1);

  spec->domain = g_strdup (domain);
  for (guint i = 0; i < N_VALUES; i++)
    spec->values[i] = -1;
  for (guint i = 0; i < N_LISTS; i++)
    spec->lists[i] = g_ptr_array_new_with_free_func ((GDestroyNotify) entry_free);
  return spec;
}

static void
spec_free (Spec *spec)
{
  g_free (spec->domain);
  for (guint i = 0; i < N_STRINGS; i++)
    wipe_string (spec->strings[i]);
  for (guint i = 0; i < N_LISTS; i++)
    g_ptr_array_unref (spec->lists[i]);
  g_free (spec);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Spec, spec_free)

/* Copies what `from` gives of the settings of `scope` into `into`: a value
 * or string replaces, a list item is added after those `into` has (so a
 * user given twice gets the later password). --route is left out: it goes
 * to every server (see ms_world_options_finish()). */
static void
spec_merge (Spec *into,
            const Spec *from,
            Scope scope)
{
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      const Setting *setting = &settings[i];

      if (setting->scope != scope)
        continue;
      switch (setting->kind)
        {
        case KIND_PORT:
        case KIND_COUNT:
        case KIND_SIZE:
        case KIND_BOOL:
          if (from->values[setting->id] >= 0)
            into->values[setting->id] = from->values[setting->id];
          break;
        case KIND_STRING:
        case KIND_PATH:
          if (from->strings[setting->id] != NULL)
            {
              wipe_string (into->strings[setting->id]);
              into->strings[setting->id] = g_strdup (from->strings[setting->id]);
            }
          break;
        case KIND_LIST:
          if (setting->id == LIST_ROUTES)
            break;
          for (guint k = 0; k < from->lists[setting->id]->len; k++)
            g_ptr_array_add (into->lists[setting->id],
                             entry_copy (from->lists[setting->id]->pdata[k]));
          break;
        default:
          g_assert_not_reached ();
        }
    }
}

/* A domain name we make a directory of: letters, digits, '-' and '.', not
 * starting or ending with '.' and without "..", so that DATA_DIR/DOMAIN
 * stays inside DATA_DIR. */
static gboolean
domain_is_valid (const char *domain)
{
  gsize len = strlen (domain);

  if (len == 0 || len > MAX_DOMAIN || domain[0] == '.' || domain[len - 1] == '.' ||
      strstr (domain, "..") != NULL)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      if (!g_ascii_isalnum (domain[i]) && domain[i] != '-' && domain[i] != '.')
        return FALSE;
    }
  return TRUE;
}

static gboolean
parse_number (const Setting *setting,
              const char *where,
              const char *text,
              gint64 *value_r,
              GError **error)
{
  guint64 max = setting->kind == KIND_PORT ? 65535 :
                setting->kind == KIND_COUNT ? G_MAXINT : G_MAXINT64;
  guint64 number;

  if (!g_ascii_string_to_unsigned (text, 10, 0, max, &number, NULL))
    {
      if (setting->kind == KIND_PORT)
        g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_CONFIG,
                     "%s needs a port number from 0 (off) to 65535, not \"%s\"", where, text);
      else
        g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_CONFIG,
                     "%s needs a number from 0 to %" G_GUINT64_FORMAT ", not \"%s\"",
                     where, max, text);
      return FALSE;
    }
  *value_r = number;
  return TRUE;
}

/* `text` split at its first `separator` into two non-empty halves. */
static gboolean
split_pair (const char *text,
            char separator,
            char **first_r,
            char **second_r)
{
  const char *at = strchr (text, separator);

  if (at == NULL || at == text || at[1] == '\0')
    return FALSE;
  *first_r = g_strndup (text, at - text);
  *second_r = g_strdup (at + 1);
  return TRUE;
}

/* One item of --user NAME:PASSWORD, --apop-secret NAME:SECRET or --route
 * DOMAIN=HOST:PORT (or of the file's users, apop-secrets, routes). */
static Entry *
parse_entry (ListId list,
             const char *where,
             const char *text,
             GError **error)
{
  static const char * const syntax[N_LISTS] = {
    [LIST_USERS] = "NAME:PASSWORD",
    [LIST_APOP_SECRETS] = "NAME:SECRET",
    [LIST_ROUTES] = "DOMAIN=HOST:PORT",
  };
  Entry *entry = g_new0 (Entry, 1);
  g_autofree char *name = NULL;
  gboolean ok;

  entry->where = g_strdup (where);
  if (list == LIST_ROUTES)
    {
      g_autofree char *address = NULL;
      const char *colon;
      guint64 port;

      ok = split_pair (text, '=', &name, &address);
      colon = ok ? strrchr (address, ':') : NULL;
      ok = colon != NULL && colon != address &&
           g_ascii_string_to_unsigned (colon + 1, 10, 1, 65535, &port, NULL);
      if (ok)
        {
          entry->value = g_strndup (address, colon - address);
          entry->port = port;
        }
    }
  else
    ok = split_pair (text, ':', &name, &entry->value);
  if (!ok)
    {
      g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_CONFIG,
                   "%s needs %s, not \"%s\"", where, syntax[list], text);
      entry_free (entry);
      return NULL;
    }
  entry->name = g_ascii_strdown (name, -1);
  if (list != LIST_ROUTES && !ms_store_user_name_is_valid (entry->name))
    {
      g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_CONFIG,
                   "%s \"%s\" is not a user name: use up to 64 letters, digits, '.', '_' "
                   "and '-', not starting with '.'", where, name);
      entry_free (entry);
      return NULL;
    }
  if (list == LIST_ROUTES && !domain_is_valid (entry->name))
    {
      g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_CONFIG,
                   "%s \"%s\" is not a domain name", where, name);
      entry_free (entry);
      return NULL;
    }
  return entry;
}

static gboolean
parse_bool (const char *where,
            const char *text,
            gint64 *value_r,
            GError **error)
{
  /* What GKeyFile takes for a boolean. */
  if (strcmp (text, "true") == 0 || strcmp (text, "1") == 0)
    *value_r = TRUE;
  else if (strcmp (text, "false") == 0 || strcmp (text, "0") == 0)
    *value_r = FALSE;
  else
    {
      g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_CONFIG,
                   "%s needs true or false, not \"%s\"", where, text);
      return FALSE;
    }
  return TRUE;
}

/* Stores one value of `setting` in `spec`. `where` ("--smtp-port", or
 * "FILE: [GROUP] KEY:") begins any error message. `text` is NULL for a
 * switch given as a flag. */
static gboolean
spec_set (Spec *spec,
          const Setting *setting,
          const char *where,
          const char *text,
          GError **error)
{
  Entry *entry;

  switch (setting->kind)
    {
    case KIND_PORT:
    case KIND_COUNT:
    case KIND_SIZE:
      return parse_number (setting, where, text, &spec->values[setting->id], error);
    case KIND_BOOL:
      if (text == NULL)
        {
          spec->values[setting->id] = TRUE;
          return TRUE;
        }
      return parse_bool (where, text, &spec->values[setting->id], error);
    case KIND_STRING:
    case KIND_PATH:
      wipe_string (spec->strings[setting->id]);
      spec->strings[setting->id] = g_strdup (text);
      return TRUE;
    case KIND_LIST:
      entry = parse_entry (setting->id, where, text, error);
      if (entry == NULL)
        return FALSE;
      g_ptr_array_add (spec->lists[setting->id], entry);
      return TRUE;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
option_cb (const char *option_name,
           const char *value,
           gpointer data,
           GError **error)
{
  MsWorldOptions *self = data;
  const char *name = option_name + (g_str_has_prefix (option_name, "--") ? 2 : 1);

  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      const Setting *setting = &settings[i];
      g_autofree char *where = NULL;

      if (name[1] == '\0' ? setting->short_name != name[0] : strcmp (setting->flag, name) != 0)
        continue;
      g_autoptr(GError) local_error = NULL;

      self->any_given = TRUE;
      where = g_strconcat ("--", setting->flag, NULL);
      if (spec_set (self->flags, setting, where, value, &local_error))
        return TRUE;
      /* GOptionContext's callers expect its own domain for a bad value. */
      g_set_error_literal (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                           local_error->message);
      return FALSE;
    }
  g_assert_not_reached ();
}

#define PORT_ENTRY(name, text) \
  { name, 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb, text, "PORT" }

static const GOptionEntry entries[] = {
  { "demo", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Run the demo world: alpha.test and beta.test, routing to each other", NULL },
  { "config", 0, G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Read the world from FILE: [world] and one [server DOMAIN] group per server "
    "(docs/configuration.md); flags given too win over it", "FILE" },
  { "data-dir", 'd', G_OPTION_FLAG_FILENAME, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Where mailboxes, users, queue and certificates live "
    "(default: $XDG_DATA_HOME/mailscope/demo or .../mailscope/server)", "DIR" },
  { "domain", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "The mail domain this server is for (default: example.test; not with --demo)", "DOMAIN" },
  { "user", 'u', 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Add a user or set its password (repeatable; not with --demo)", "NAME:PASSWORD" },
  { "route", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Relay mail for DOMAIN to HOST:PORT, standing in for DNS MX (repeatable)",
    "DOMAIN=HOST:PORT" },
  { "listen", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "The IP address to listen on (default: 127.0.0.1)", "ADDR" },
  PORT_ENTRY ("smtp-port", "The MTA port, like 25 (default 2525; 0 turns it off)"),
  PORT_ENTRY ("submission-port",
              "The submission port with AUTH, like 587 (default 2587; 0 turns it off)"),
  PORT_ENTRY ("smtps-port",
              "The implicit-TLS submission port, like 465 (default 2465; 0 turns it off)"),
  PORT_ENTRY ("pop3-port", "The POP3 port, like 110 (default 2110; 0 turns it off)"),
  PORT_ENTRY ("pop3s-port",
              "The implicit-TLS POP3 port, like 995 (default 2995; 0 turns it off)"),
  PORT_ENTRY ("imap-port", "The IMAP port, like 143 (default 2143; 0 turns it off)"),
  PORT_ENTRY ("imaps-port",
              "The implicit-TLS IMAP port, like 993 (default 2993; 0 turns it off)"),
  { "imap-login-needs-tls", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK,
    (gpointer) option_cb,
    "IMAP: advertise LOGINDISABLED and refuse logins until STARTTLS "
    "(the implicit-TLS port is already encrypted)", NULL },
  { "apop-secret", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Give an existing user an APOP secret (RFC 1939 section 7; repeatable)", "NAME:SECRET" },
  { "pop3-login-delay", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Least seconds between two POP3 logins of a user, advertised as LOGIN-DELAY "
    "(default 0: none)", "SECONDS" },
  { "pop3-expire", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Advertise POP3 EXPIRE DAYS (RFC 2449); nothing is deleted yet (default 0: not advertised)",
    "DAYS" },
  { "max-message-size", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "The largest message accepted, in bytes (default 10485760)", "BYTES" },
  PORT_ENTRY ("trace-port",
              "Serve the live trace and step controls to viewers on PORT "
              "(default 0: off; see docs/trace-format.md)"),
  { "trace-listen", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "The IP address of the trace port (default: 127.0.0.1); any other than a loopback "
    "address needs --trace-token", "ADDR" },
  { "trace-token", 0, 0, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "The token a viewer must give to attach (or set MAILSCOPE_TRACE_TOKEN). "
    "Not encryption: the trace port has no TLS", "TOKEN" },
  { "reveal-secrets", 0, G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, (gpointer) option_cb,
    "Show AUTH data and passwords in the trace instead of masking them", NULL },
  { NULL }
};

MsWorldOptions *
ms_world_options_new (void)
{
  MsWorldOptions *self = g_new0 (MsWorldOptions, 1);

  self->flags = spec_new (NULL);
  self->world = spec_new (NULL);
  self->servers = g_ptr_array_new_with_free_func ((GDestroyNotify) spec_free);
  self->domains = g_ptr_array_new ();
  return self;
}

void
ms_world_options_free (MsWorldOptions *self)
{
  if (self == NULL)
    return;
  spec_free (self->flags);
  spec_free (self->world);
  g_ptr_array_unref (self->servers);
  g_ptr_array_unref (self->domains);
  g_free (self->data_dir);
  g_free (self);
}

GOptionGroup *
ms_world_options_get_group (MsWorldOptions *self)
{
  GOptionGroup *group;

  g_return_val_if_fail (self != NULL, NULL);

  group = g_option_group_new ("world", "Mail world options:",
                              "Show the options of the mail servers (as mailscope-server's)",
                              self, NULL);
  g_option_group_add_entries (group, entries);
  return group;
}

gboolean
ms_world_options_any_given (MsWorldOptions *self)
{
  g_return_val_if_fail (self != NULL, FALSE);
  return self->any_given;
}

void
ms_world_options_set_default_demo (MsWorldOptions *self,
                                   gboolean demo)
{
  g_return_if_fail (self != NULL && !self->finished);
  self->default_demo = demo;
}

/* The first flag given that describes a server (for messages), or NULL.
 * --route does not: the demo world takes it too. */
static const char *
first_server_flag (const Spec *flags)
{
  if (flags->strings[STRING_DOMAIN] != NULL)
    return "domain";
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      const Setting *setting = &settings[i];

      if (setting->scope != SCOPE_SERVER)
        continue;
      if (setting->kind == KIND_LIST ? setting->id != LIST_ROUTES &&
                                       flags->lists[setting->id]->len > 0
                                     : flags->values[setting->id] >= 0)
        return setting->flag;
    }
  return NULL;
}

static const Setting *
find_key (const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (settings); i++)
    {
      if (settings[i].key != NULL && strcmp (settings[i].key, key) == 0)
        return &settings[i];
    }
  return NULL;
}

static gboolean G_GNUC_PRINTF (3, 4)
config_error (GError **error,
              const char *path,
              const char *format,
              ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_CONFIG, "%s: %s",
               path, message);
  return FALSE;
}

/* Reads one key of the config into `spec`, by its setting's kind. */
static gboolean
load_key (GKeyFile *file,
          const char *path,
          const char *group,
          const Setting *setting,
          Spec *spec,
          GError **error)
{
  g_autofree char *where = g_strdup_printf ("%s: [%s] %s:", path, group, setting->key);
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) items = NULL;
  g_autofree char *text = NULL;

  if (setting->kind == KIND_LIST)
    {
      items = g_key_file_get_string_list (file, group, setting->key, NULL, &local_error);
      if (items == NULL)
        return config_error (error, path, "[%s] %s: %s", group, setting->key,
                             local_error != NULL ? local_error->message : "no value");
      gboolean ok = TRUE;

      for (guint i = 0; items[i] != NULL; i++)
        {
          g_strstrip (items[i]);
          if (ok && items[i][0] != '\0')
            ok = spec_set (spec, setting, where, items[i], error);
          /* Passwords and secrets: the parsed copy is all we keep. */
          OPENSSL_cleanse (items[i], strlen (items[i]));
        }
      return ok;
    }

  /* get_string undoes GKeyFile's escapes (\s, \\, ...); numbers have none. */
  text = g_key_file_get_string (file, group, setting->key, &local_error);
  if (text == NULL)
    return config_error (error, path, "[%s] %s: %s", group, setting->key, local_error->message);
  if (setting->kind != KIND_STRING)
    g_strstrip (text);
  if (setting->kind == KIND_PATH && text[0] != '\0' && !g_path_is_absolute (text))
    {
      /* Relative to the file, not to wherever the server was started. */
      g_autofree char *file_dir = g_path_get_dirname (path);
      g_autofree char *base = g_canonicalize_filename (file_dir, NULL);
      g_autofree char *resolved = g_canonicalize_filename (text, base);

      g_free (text);
      text = g_steal_pointer (&resolved);
    }
  if (setting->kind == KIND_PATH && text[0] == '\0')
    return config_error (error, path, "[%s] %s: needs a directory", group, setting->key);
  return spec_set (spec, setting, where, text, error);
}

/* The [server DOMAIN] group's spec, new and added to `self->servers`. */
static Spec *
add_server_group (MsWorldOptions *self,
                  const char *path,
                  const char *group,
                  GError **error)
{
  g_autofree char *domain = g_ascii_strdown (group + strlen ("server "), -1);

  g_strstrip (domain);
  if (!domain_is_valid (domain))
    {
      config_error (error, path, "[%s]: \"%s\" is not a domain name", group, domain);
      return NULL;
    }
  for (guint i = 0; i < self->servers->len; i++)
    {
      Spec *other = self->servers->pdata[i];

      if (strcmp (other->domain, domain) == 0)
        {
          config_error (error, path, "[%s]: a second group for %s", group, domain);
          return NULL;
        }
    }
  g_ptr_array_add (self->servers, spec_new (domain));
  return self->servers->pdata[self->servers->len - 1];
}

static gboolean
load_config (MsWorldOptions *self,
             const char *path,
             GError **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_auto(GStrv) groups = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  GStatBuf st;

  if (g_stat (path, &st) != 0 || !S_ISREG (st.st_mode))
    return config_error (error, path, "cannot read it: %s",
                         g_file_test (path, G_FILE_TEST_EXISTS) ? "not a regular file"
                                                               : "no such file");
  if (st.st_size > MAX_CONFIG_SIZE)
    return config_error (error, path, "larger than %d bytes: not a config file",
                         MAX_CONFIG_SIZE);
  if (!g_file_get_contents (path, &contents, &length, &local_error) ||
      /* Keeping translations keeps "key[de]" too, which then is an unknown
       * key rather than silently dropped. */
      !g_key_file_load_from_data (file, contents, length, G_KEY_FILE_KEEP_TRANSLATIONS,
                                  &local_error))
    {
      if (contents != NULL)
        OPENSSL_cleanse (contents, length);
      return config_error (error, path, "%s", local_error->message);
    }
  OPENSSL_cleanse (contents, length);
  /* The file holds passwords in the clear: only its owner should see it. */
  if ((st.st_mode & 077) != 0)
    g_warning ("%s can be read or changed by other users, and it may hold passwords: "
               "chmod 600 %s", path, path);

  groups = g_key_file_get_groups (file, NULL);
  for (guint g = 0; groups[g] != NULL; g++)
    {
      const char *group = groups[g];
      g_auto(GStrv) keys = NULL;
      Scope scope;
      Spec *spec;

      if (strcmp (group, "world") == 0)
        {
          scope = SCOPE_WORLD;
          spec = self->world;
        }
      else if (g_str_has_prefix (group, "server "))
        {
          scope = SCOPE_SERVER;
          spec = add_server_group (self, path, group, error);
          if (spec == NULL)
            return FALSE;
        }
      else
        return config_error (error, path, "[%s]: unknown group; a config has a [world] group "
                             "and one [server DOMAIN] group per server", group);

      keys = g_key_file_get_keys (file, group, NULL, NULL);
      for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
        {
          const Setting *setting = find_key (keys[k]);

          /* A typo must not be silently ignored. */
          if (setting == NULL)
            {
              g_autofree char *dashed = g_strdelimit (g_strdup (keys[k]), "_", '-');

              return config_error (error, path, "[%s] %s: unknown key%s%s%s", group, keys[k],
                                   find_key (dashed) != NULL ? " (did you mean " : "",
                                   find_key (dashed) != NULL ? dashed : "",
                                   find_key (dashed) != NULL ? "?)" : "");
            }
          if (setting->scope != scope)
            return config_error (error, path, "[%s] %s: belongs in %s", group, keys[k],
                                 setting->scope == SCOPE_WORLD ? "[world]"
                                                               : "a [server DOMAIN] group");
          if (!load_key (file, path, group, setting, spec, error))
            return FALSE;
        }
    }
  return TRUE;
}

/* --demo takes the world-wide flags only. */
static gboolean
check_demo_flags (MsWorldOptions *self,
                  GError **error)
{
  const char *flag = first_server_flag (self->flags);
  const Setting *setting = flag != NULL ? find_key (flag) : NULL;

  if (self->flags->strings[STRING_CONFIG] != NULL)
    {
      g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_USAGE,
                   "--demo is the built-in world; drop --config (data/demo.ini describes "
                   "the same servers as a config)");
      return FALSE;
    }
  if (flag == NULL)
    return TRUE;
  if (strcmp (flag, "domain") == 0 || strcmp (flag, "user") == 0 ||
      strcmp (flag, "apop-secret") == 0 || (setting != NULL && setting->kind == KIND_PORT))
    g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_USAGE,
                 "--demo has its own domains, users and ports; "
                 "drop --domain, --user, --apop-secret and the --*-port flags");
  else
    g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_USAGE,
                 "--demo runs its servers with their defaults; drop --%s", flag);
  return FALSE;
}

static guint
spec_port (const Spec *spec,
           MsListenerKind kind)
{
  return spec->values[kind] >= 0 ? (guint) spec->values[kind] : default_ports[kind];
}

/* Two listeners of the world on one port would fail to bind, one after
 * the other; say which two before anything starts. */
static gboolean
check_ports (MsWorldOptions *self,
             GError **error)
{
  const char *config = self->flags->strings[STRING_CONFIG];

  for (guint s = 0; s < self->servers->len; s++)
    for (guint k = 0; k < MS_N_LISTENERS; k++)
      {
        const Spec *spec = self->servers->pdata[s];
        guint port = spec_port (spec, k);

        for (guint s2 = 0; port != 0 && s2 <= s; s2++)
          for (guint k2 = 0; k2 < (s2 == s ? k : MS_N_LISTENERS); k2++)
            {
              const Spec *other = self->servers->pdata[s2];

              if (spec_port (other, k2) != port)
                continue;
              g_set_error (error, MS_WORLD_OPTIONS_ERROR,
                           config != NULL ? MS_WORLD_OPTIONS_ERROR_CONFIG
                                          : MS_WORLD_OPTIONS_ERROR_USAGE,
                           "%s%sport %u is both %s's %s port and %s's %s port; give each "
                           "listener a port of its own (or 0 to turn it off)",
                           config != NULL ? config : "", config != NULL ? ": " : "", port,
                           other->domain, ms_listener_kind_to_string (k2), spec->domain,
                           ms_listener_kind_to_string (k));
              return FALSE;
            }
      }
  return TRUE;
}

/* Which server the command line's server flags are for. */
static gboolean
select_server (MsWorldOptions *self,
               GError **error)
{
  const char *config = self->flags->strings[STRING_CONFIG];
  const char *domain = self->flags->strings[STRING_DOMAIN];
  const char *flag = first_server_flag (self->flags);

  if (self->servers->len == 0)
    g_ptr_array_add (self->servers, spec_new (domain != NULL ? domain : DEFAULT_DOMAIN));
  for (guint i = 0; domain != NULL && i < self->servers->len; i++)
    {
      Spec *spec = self->servers->pdata[i];

      if (strcmp (spec->domain, domain) == 0)
        self->selected = spec;
    }
  if (domain != NULL && self->selected == NULL)
    {
      g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_USAGE,
                   "--domain %s: %s has no [server %s] group", domain, config, domain);
      return FALSE;
    }
  if (self->selected == NULL && self->servers->len == 1)
    self->selected = self->servers->pdata[0];
  if (self->selected == NULL && flag != NULL)
    {
      g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_USAGE,
                   "--%s: %s describes %u servers; say which one with --domain",
                   flag, config, self->servers->len);
      return FALSE;
    }
  return TRUE;
}

gboolean
ms_world_options_finish (MsWorldOptions *self,
                         GError **error)
{
  Spec *flags;
  const char *config;
  const char *env_token;

  g_return_val_if_fail (self != NULL && !self->finished, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  self->finished = TRUE;
  flags = self->flags;
  config = flags->strings[STRING_CONFIG];
  if (flags->strings[STRING_DOMAIN] != NULL)
    {
      char *domain = g_ascii_strdown (flags->strings[STRING_DOMAIN], -1);

      g_free (flags->strings[STRING_DOMAIN]);
      flags->strings[STRING_DOMAIN] = domain;
      if (!domain_is_valid (domain))
        {
          g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_USAGE,
                       "--domain needs a domain name, not \"%s\"", domain);
          return FALSE;
        }
    }
  if (flags->values[VALUE_TRACE_PORT] <= 0 &&
      (flags->strings[STRING_TRACE_LISTEN] != NULL || flags->strings[STRING_TRACE_TOKEN] != NULL))
    {
      g_set_error (error, MS_WORLD_OPTIONS_ERROR, MS_WORLD_OPTIONS_ERROR_USAGE,
                   "--trace-listen and --trace-token need --trace-port");
      return FALSE;
    }

  self->demo = flags->values[VALUE_DEMO] > 0 ||
               (self->default_demo && config == NULL && first_server_flag (flags) == NULL);
  if (self->demo ? !check_demo_flags (self, error)
                 : config != NULL && !load_config (self, config, error))
    return FALSE;

  /* The token: the flag, else the environment (which keeps it out of `ps`
   * listings), else the file. */
  env_token = g_getenv ("MAILSCOPE_TRACE_TOKEN");
  if (env_token != NULL && flags->strings[STRING_TRACE_TOKEN] == NULL)
    {
      wipe_string (self->world->strings[STRING_TRACE_TOKEN]);
      self->world->strings[STRING_TRACE_TOKEN] = g_strdup (env_token);
    }
  if (flags->strings[STRING_DATA_DIR] != NULL)
    {
      /* Relative to where we were started. */
      char *dir = g_canonicalize_filename (flags->strings[STRING_DATA_DIR], NULL);

      g_free (flags->strings[STRING_DATA_DIR]);
      flags->strings[STRING_DATA_DIR] = dir;
    }
  spec_merge (self->world, flags, SCOPE_WORLD);
  self->data_dir = self->world->strings[STRING_DATA_DIR] != NULL
                   ? g_strdup (self->world->strings[STRING_DATA_DIR])
                   : g_build_filename (g_get_user_data_dir (), "mailscope",
                                       self->demo ? "demo" : "server", NULL);

  if (self->demo)
    {
      for (guint i = 0; i < G_N_ELEMENTS (ms_demo_servers); i++)
        g_ptr_array_add (self->domains, (gpointer) ms_demo_servers[i].domain);
      g_ptr_array_add (self->domains, NULL);
      return TRUE;
    }

  if (!select_server (self, error))
    return FALSE;
  if (self->selected != NULL)
    spec_merge (self->selected, flags, SCOPE_SERVER);
  /* --route is for every server, as it is for the demo world's. */
  for (guint s = 0; s < self->servers->len; s++)
    {
      Spec *spec = self->servers->pdata[s];

      for (guint i = 0; i < flags->lists[LIST_ROUTES]->len; i++)
        g_ptr_array_add (spec->lists[LIST_ROUTES],
                         entry_copy (flags->lists[LIST_ROUTES]->pdata[i]));
      g_ptr_array_add (self->domains, spec->domain);
    }
  g_ptr_array_add (self->domains, NULL);
  return check_ports (self, error);
}

gboolean
ms_world_options_is_demo (MsWorldOptions *self)
{
  g_return_val_if_fail (self != NULL && self->finished, FALSE);
  return self->demo;
}

const char *
ms_world_options_get_data_dir (MsWorldOptions *self)
{
  g_return_val_if_fail (self != NULL && self->finished, NULL);
  return self->data_dir;
}

const char *
ms_world_options_get_domain (MsWorldOptions *self)
{
  g_return_val_if_fail (self != NULL && self->finished, NULL);
  return self->selected != NULL ? self->selected->domain : NULL;
}

const char * const *
ms_world_options_get_domains (MsWorldOptions *self)
{
  g_return_val_if_fail (self != NULL && self->finished, NULL);
  return (const char * const *) self->domains->pdata;
}

gboolean
ms_world_options_get_reveal_secrets (MsWorldOptions *self)
{
  g_return_val_if_fail (self != NULL && self->finished, FALSE);
  return self->world->values[VALUE_REVEAL_SECRETS] > 0;
}

guint16
ms_world_options_get_trace_port (MsWorldOptions *self)
{
  g_return_val_if_fail (self != NULL && self->finished, 0);
  return MAX (self->world->values[VALUE_TRACE_PORT], 0);
}

const char *
ms_world_options_get_trace_listen (MsWorldOptions *self)
{
  g_return_val_if_fail (self != NULL && self->finished, NULL);
  return self->world->strings[STRING_TRACE_LISTEN];
}

const char *
ms_world_options_get_trace_token (MsWorldOptions *self)
{
  g_return_val_if_fail (self != NULL && self->finished, NULL);
  return self->world->strings[STRING_TRACE_TOKEN];
}

static void
add_routes (MsServer *server,
            GPtrArray *routes)
{
  for (guint i = 0; i < routes->len; i++)
    {
      const Entry *route = routes->pdata[i];

      ms_server_add_route (server, route->name, route->value, route->port);
    }
}

static MsServer *
build_server (MsWorldOptions *self,
              const Spec *spec,
              MsTraceBus *bus,
              GError **error)
{
  g_autofree char *server_dir = g_build_filename (self->data_dir, spec->domain, NULL);
  g_autoptr(MsServer) server = NULL;
  MsServerConfig config = { 0 };

  config.domain = spec->domain;
  config.data_dir = server_dir;
  config.listen_address = self->world->strings[STRING_LISTEN];
  /* 0, the default of each, means the server's default or "none". */
  config.max_message_size = MAX (spec->values[VALUE_MAX_MESSAGE_SIZE], 0);
  config.pop3_expire_days = MAX (spec->values[VALUE_POP3_EXPIRE], 0);
  config.pop3_login_delay_s = MAX (spec->values[VALUE_POP3_LOGIN_DELAY], 0);
  config.imap_login_needs_tls = spec->values[VALUE_IMAP_LOGIN_NEEDS_TLS] > 0;
  for (guint k = 0; k < MS_N_LISTENERS; k++)
    config.ports[k] = spec_port (spec, k);

  server = ms_server_new (&config, bus, error);
  if (server == NULL)
    return NULL;

  for (guint i = 0; i < spec->lists[LIST_USERS]->len; i++)
    {
      const Entry *user = spec->lists[LIST_USERS]->pdata[i];

      if (!ms_server_set_password (server, user->name, user->value, error))
        {
          g_prefix_error (error, "%s %s: ", user->where, user->name);
          return NULL;
        }
    }
  /* After the users: a secret is for a user that exists. */
  for (guint i = 0; i < spec->lists[LIST_APOP_SECRETS]->len; i++)
    {
      const Entry *secret = spec->lists[LIST_APOP_SECRETS]->pdata[i];

      if (!ms_server_set_apop_secret (server, secret->name, secret->value, error))
        {
          g_prefix_error (error, "%s %s: ", secret->where, secret->name);
          return NULL;
        }
    }
  add_routes (server, spec->lists[LIST_ROUTES]);
  return g_steal_pointer (&server);
}

MsWorld *
ms_world_options_build_world (MsWorldOptions *self,
                              MsTraceBus *bus,
                              GError **error)
{
  g_autoptr(MsWorld) world = NULL;

  g_return_val_if_fail (self != NULL && self->finished, NULL);

  /* Before any server emits an event. */
  if (bus != NULL)
    ms_trace_bus_set_reveal_secrets (bus, ms_world_options_get_reveal_secrets (self));

  if (self->demo)
    {
      GPtrArray *servers;

      world = ms_world_new_demo (self->data_dir, self->world->strings[STRING_LISTEN], bus,
                                 error);
      if (world == NULL)
        return NULL;
      servers = ms_world_get_servers (world);
      for (guint s = 0; s < servers->len; s++)
        add_routes (servers->pdata[s], self->flags->lists[LIST_ROUTES]);
      return g_steal_pointer (&world);
    }

  world = ms_world_new (bus);
  for (guint s = 0; s < self->servers->len; s++)
    {
      MsServer *server = build_server (self, self->servers->pdata[s], bus, error);

      if (server == NULL)
        return NULL;
      ms_world_add_server (world, server);
    }
  return g_steal_pointer (&world);
}
