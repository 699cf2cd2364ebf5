/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-auth"

#include "config.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "ms-auth.h"
#include "ms-store.h"

#define HASH_SCHEME "pbkdf2-sha256"
#define SALT_LEN 16
#define HASH_LEN 32             /* SHA-256 output: PBKDF2 gives no more strength past it */
#define MAX_ITERATIONS 10000000 /* bounds a hostile users file */
#define MAX_DECODED_LEN 64
#define GROUP_PREFIX "user "
#define KEY_PASSWORD "password"
#define KEY_APOP_SECRET "apop-secret"

struct _MsAuth {
  char *path;
  GKeyFile *users;
};

G_DEFINE_QUARK (ms-auth-error-quark, ms_auth_error)

static char *
group_for_user (const char *user)
{
  return g_strconcat (GROUP_PREFIX, user, NULL);
}

static gboolean
check_user_name (const char *user,
                 GError    **error)
{
  if (ms_store_user_name_is_valid (user))
    return TRUE;
  g_set_error (error, MS_AUTH_ERROR, MS_AUTH_ERROR_INVALID_USER,
               "Invalid user name \"%s\": use up to 64 lower-case letters, digits, "
               "'.', '_' and '-', not starting with '.'", user);
  return FALSE;
}

/* RFC 8018 section 5.2 with HMAC-SHA-256. */
static gboolean
derive (const char   *password,
        const guint8 *salt,
        gsize         salt_len,
        guint         iterations,
        guint8       *out,
        gsize         out_len)
{
  return PKCS5_PBKDF2_HMAC (password, (int) strlen (password),
                            salt, (int) salt_len, (int) iterations,
                            EVP_sha256 (), (int) out_len, out) == 1;
}

static char *
make_hash_string (const char *password,
                  GError    **error)
{
  guint8 salt[SALT_LEN];
  guint8 hash[HASH_LEN];
  g_autofree char *salt_b64 = NULL;
  g_autofree char *hash_b64 = NULL;

  if (RAND_bytes (salt, sizeof salt) != 1
      || !derive (password, salt, sizeof salt, MS_AUTH_PBKDF2_ITERATIONS, hash, sizeof hash))
    {
      OPENSSL_cleanse (hash, sizeof hash);
      g_set_error (error, MS_AUTH_ERROR, MS_AUTH_ERROR_CRYPTO,
                   "Could not hash the password (OpenSSL failed)");
      return NULL;
    }

  salt_b64 = g_base64_encode (salt, sizeof salt);
  hash_b64 = g_base64_encode (hash, sizeof hash);
  OPENSSL_cleanse (hash, sizeof hash);

  return g_strdup_printf (HASH_SCHEME "$%u$%s$%s", MS_AUTH_PBKDF2_ITERATIONS, salt_b64, hash_b64);
}

static guint8 *
decode_bounded (const char *b64,
                gsize      *len_r)
{
  guint8 *data;

  /* Base64 grows 4/3: refuse text that could not decode to a sane size
   * before allocating anything for it. */
  if (*b64 == '\0' || strlen (b64) > (MAX_DECODED_LEN / 3 + 1) * 4)
    return NULL;
  data = g_base64_decode (b64, len_r);
  if (*len_r == 0 || *len_r > MAX_DECODED_LEN)
    {
      g_free (data);
      return NULL;
    }
  return data;
}

/* Verifies `password` against a stored "pbkdf2-sha256$N$salt$hash" string. A
 * malformed string never matches. */
static gboolean
verify_hash_string (const char *stored,
                    const char *password)
{
  g_auto(GStrv) parts = NULL;
  g_autofree guint8 *salt = NULL;
  g_autofree guint8 *expected = NULL;
  guint8 computed[MAX_DECODED_LEN];
  gsize salt_len = 0;
  gsize expected_len = 0;
  guint64 iterations = 0;
  gboolean ok;

  parts = g_strsplit (stored, "$", 5);
  if (g_strv_length (parts) != 4 || !g_str_equal (parts[0], HASH_SCHEME))
    return FALSE;
  if (!g_ascii_string_to_unsigned (parts[1], 10, 1, MAX_ITERATIONS, &iterations, NULL))
    return FALSE;
  salt = decode_bounded (parts[2], &salt_len);
  expected = decode_bounded (parts[3], &expected_len);
  if (salt == NULL || expected == NULL)
    return FALSE;

  ok = derive (password, salt, salt_len, (guint) iterations, computed, expected_len)
       && CRYPTO_memcmp (computed, expected, expected_len) == 0;

  OPENSSL_cleanse (computed, sizeof computed);
  OPENSSL_cleanse (expected, expected_len);
  return ok;
}

/* Spends the same PBKDF2 work as a real check, so that a login for an unknown
 * user is not answered measurably faster than one for a known user. */
static void
burn_equal_time (const char *password)
{
  static const guint8 salt[SALT_LEN] = { 0 };
  guint8 hash[HASH_LEN];

  derive (password, salt, sizeof salt, MS_AUTH_PBKDF2_ITERATIONS, hash, sizeof hash);
  OPENSSL_cleanse (hash, sizeof hash);
}

static gboolean
save (MsAuth  *auth,
      GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  gboolean ok;

  data = g_key_file_to_data (auth->users, &len, NULL);
  /* A temporary file, fsync and rename: a crash leaves the old file or the
   * new one, never half of each. Mode 0600 because the file holds hashes and
   * the APOP secrets in the clear. */
  ok = g_file_set_contents_full (auth->path, data, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, error);
  OPENSSL_cleanse (data, len);
  return ok;
}

MsAuth *
ms_auth_new (const char *path,
             GError    **error)
{
  g_autoptr(MsAuth) auth = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (path != NULL, NULL);

  auth = g_new0 (MsAuth, 1);
  auth->path = g_strdup (path);
  auth->users = g_key_file_new ();

  if (!g_key_file_load_from_file (auth->users, path, G_KEY_FILE_KEEP_COMMENTS, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          if (local_error->domain == G_KEY_FILE_ERROR)
            g_set_error (error, MS_AUTH_ERROR, MS_AUTH_ERROR_PARSE,
                         "%s: %s", path, local_error->message);
          else
            g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
    }

  return g_steal_pointer (&auth);
}

void
ms_auth_free (MsAuth *auth)
{
  if (auth == NULL)
    return;
  g_clear_pointer (&auth->users, g_key_file_free);
  g_clear_pointer (&auth->path, g_free);
  g_free (auth);
}

const char *
ms_auth_get_path (MsAuth *auth)
{
  g_return_val_if_fail (auth != NULL, NULL);
  return auth->path;
}

gboolean
ms_auth_set_password (MsAuth     *auth,
                      const char *user,
                      const char *password,
                      GError    **error)
{
  g_autofree char *group = NULL;
  g_autofree char *hash = NULL;

  g_return_val_if_fail (auth != NULL, FALSE);
  g_return_val_if_fail (password != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_user_name (user, error))
    return FALSE;
  hash = make_hash_string (password, error);
  if (hash == NULL)
    return FALSE;

  group = group_for_user (user);
  g_key_file_set_string (auth->users, group, KEY_PASSWORD, hash);
  return save (auth, error);
}

gboolean
ms_auth_verify (MsAuth     *auth,
                const char *user,
                const char *password)
{
  g_autofree char *group = NULL;
  g_autofree char *stored = NULL;

  g_return_val_if_fail (auth != NULL, FALSE);

  if (password == NULL)
    return FALSE;
  if (user == NULL || !ms_store_user_name_is_valid (user))
    {
      burn_equal_time (password);
      return FALSE;
    }

  group = group_for_user (user);
  stored = g_key_file_get_string (auth->users, group, KEY_PASSWORD, NULL);
  if (stored == NULL)
    {
      burn_equal_time (password);
      return FALSE;
    }

  return verify_hash_string (stored, password);
}

gboolean
ms_auth_has_user (MsAuth     *auth,
                  const char *user)
{
  g_autofree char *group = NULL;

  g_return_val_if_fail (auth != NULL, FALSE);

  if (user == NULL || !ms_store_user_name_is_valid (user))
    return FALSE;
  group = group_for_user (user);
  return g_key_file_has_group (auth->users, group);
}

gboolean
ms_auth_remove_user (MsAuth     *auth,
                     const char *user,
                     GError    **error)
{
  g_autofree char *group = NULL;

  g_return_val_if_fail (auth != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_user_name (user, error))
    return FALSE;
  group = group_for_user (user);
  if (!g_key_file_remove_group (auth->users, group, NULL))
    {
      g_set_error (error, MS_AUTH_ERROR, MS_AUTH_ERROR_NOT_FOUND, "No user %s", user);
      return FALSE;
    }
  return save (auth, error);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

char **
ms_auth_list_users (MsAuth *auth)
{
  g_auto(GStrv) groups = NULL;
  g_autoptr(GPtrArray) users = g_ptr_array_new ();

  g_return_val_if_fail (auth != NULL, NULL);

  groups = g_key_file_get_groups (auth->users, NULL);
  for (gsize i = 0; groups[i] != NULL; i++)
    {
      const char *name = groups[i] + strlen (GROUP_PREFIX);

      /* Other groups (settings someone added by hand) are not users. */
      if (g_str_has_prefix (groups[i], GROUP_PREFIX) && ms_store_user_name_is_valid (name))
        g_ptr_array_add (users, g_strdup (name));
    }
  g_ptr_array_sort (users, compare_strings);
  g_ptr_array_add (users, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&users), FALSE);
}

gboolean
ms_auth_set_apop_secret (MsAuth     *auth,
                         const char *user,
                         const char *secret,
                         GError    **error)
{
  g_autofree char *group = NULL;

  g_return_val_if_fail (auth != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_user_name (user, error))
    return FALSE;
  group = group_for_user (user);
  if (!g_key_file_has_group (auth->users, group))
    {
      g_set_error (error, MS_AUTH_ERROR, MS_AUTH_ERROR_NOT_FOUND, "No user %s", user);
      return FALSE;
    }

  if (secret != NULL)
    g_key_file_set_string (auth->users, group, KEY_APOP_SECRET, secret);
  else
    g_key_file_remove_key (auth->users, group, KEY_APOP_SECRET, NULL);
  return save (auth, error);
}

char *
ms_auth_get_apop_secret (MsAuth     *auth,
                         const char *user)
{
  g_autofree char *group = NULL;

  g_return_val_if_fail (auth != NULL, NULL);

  if (user == NULL || !ms_store_user_name_is_valid (user))
    return NULL;
  group = group_for_user (user);
  return g_key_file_get_string (auth->users, group, KEY_APOP_SECRET, NULL);
}
