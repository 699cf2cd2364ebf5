/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "test-auth"

#include "config.h"

#include <string.h>
#include <sys/stat.h>
#include <glib/gstdio.h>

#include <openssl/evp.h>

#include "ms-auth.h"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_setup (Fixture      *fixture,
               gconstpointer data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("ms-auth-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->path = g_build_filename (fixture->dir, "users.conf", NULL);
}

static void
fixture_teardown (Fixture      *fixture,
                  gconstpointer data)
{
  g_autoptr(GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);

      g_unlink (path);
    }
  g_rmdir (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static char *
stored_hash (const char *path,
             const char *user)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *group = g_strconcat ("user ", user, NULL);
  char *hash;

  g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &error);
  g_assert_no_error (error);
  hash = g_key_file_get_string (keyfile, group, "password", &error);
  g_assert_no_error (error);
  return hash;
}

static void
test_missing_file_is_empty (Fixture      *fixture,
                            gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsAuth) auth = ms_auth_new (fixture->path, &error);
  g_auto(GStrv) users = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (auth);
  users = ms_auth_list_users (auth);
  g_assert_cmpuint (g_strv_length (users), ==, 0);
  g_assert_false (ms_auth_has_user (auth, "alice"));
  g_assert_false (ms_auth_verify (auth, "alice", "alicepw"));
  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));
}

static void
test_set_and_verify (Fixture      *fixture,
                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsAuth) auth = ms_auth_new (fixture->path, &error);
  g_auto(GStrv) users = NULL;

  g_assert_no_error (error);
  g_assert_true (ms_auth_set_password (auth, "alice", "alicepw", &error));
  g_assert_no_error (error);
  g_assert_true (ms_auth_set_password (auth, "bob", "bobpw", &error));
  g_assert_no_error (error);

  g_assert_true (ms_auth_has_user (auth, "alice"));
  g_assert_true (ms_auth_verify (auth, "alice", "alicepw"));
  g_assert_true (ms_auth_verify (auth, "bob", "bobpw"));
  g_assert_false (ms_auth_verify (auth, "alice", "bobpw"));
  g_assert_false (ms_auth_verify (auth, "alice", "alicepw "));
  g_assert_false (ms_auth_verify (auth, "alice", ""));
  g_assert_false (ms_auth_verify (auth, "alice", NULL));
  g_assert_false (ms_auth_verify (auth, "mallory", "alicepw"));
  g_assert_false (ms_auth_verify (auth, "../alice", "alicepw"));
  g_assert_false (ms_auth_verify (auth, NULL, "alicepw"));

  users = ms_auth_list_users (auth);
  g_assert_cmpuint (g_strv_length (users), ==, 2);
  g_assert_cmpstr (users[0], ==, "alice");
  g_assert_cmpstr (users[1], ==, "bob");

  /* A new password replaces the old one. */
  g_assert_true (ms_auth_set_password (auth, "alice", "changed", &error));
  g_assert_no_error (error);
  g_assert_false (ms_auth_verify (auth, "alice", "alicepw"));
  g_assert_true (ms_auth_verify (auth, "alice", "changed"));
}

static void
test_file_mode_and_reopen (Fixture      *fixture,
                           gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsAuth) auth = ms_auth_new (fixture->path, &error);
  g_autoptr(MsAuth) again = NULL;
  GStatBuf st;

  g_assert_no_error (error);
  g_assert_true (ms_auth_set_password (auth, "carol", "carolpw", &error));
  g_assert_no_error (error);

  g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  again = ms_auth_new (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_true (ms_auth_has_user (again, "carol"));
  g_assert_true (ms_auth_verify (again, "carol", "carolpw"));
  g_assert_false (ms_auth_verify (again, "carol", "alicepw"));
}

static void
test_hash_format (Fixture      *fixture,
                  gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsAuth) auth = ms_auth_new (fixture->path, &error);
  g_autofree char *alice = NULL;
  g_autofree char *dave = NULL;
  g_auto(GStrv) parts_alice = NULL;
  g_auto(GStrv) parts_dave = NULL;
  g_autofree guint8 *salt = NULL;
  g_autofree guint8 *hash = NULL;
  g_autofree char *iterations = g_strdup_printf ("%u", MS_AUTH_PBKDF2_ITERATIONS);
  g_autofree char *contents = NULL;
  gsize len = 0;

  g_test_summary ("pbkdf2-sha256$N$salt$hash with a fresh 16-byte salt per user.");
  g_assert_true (ms_auth_set_password (auth, "alice", "samepw", &error));
  g_assert_true (ms_auth_set_password (auth, "dave", "samepw", &error));
  g_assert_no_error (error);

  alice = stored_hash (fixture->path, "alice");
  dave = stored_hash (fixture->path, "dave");
  g_assert_true (g_str_has_prefix (alice, "pbkdf2-sha256$"));

  parts_alice = g_strsplit (alice, "$", 0);
  parts_dave = g_strsplit (dave, "$", 0);
  g_assert_cmpuint (g_strv_length (parts_alice), ==, 4);
  g_assert_cmpstr (parts_alice[1], ==, iterations);
  salt = g_base64_decode (parts_alice[2], &len);
  g_assert_cmpuint (len, ==, 16);
  hash = g_base64_decode (parts_alice[3], &len);
  g_assert_cmpuint (len, ==, 32);

  /* Same password, different salts and so different hashes. */
  g_assert_cmpstr (parts_alice[2], !=, parts_dave[2]);
  g_assert_cmpstr (parts_alice[3], !=, parts_dave[3]);

  /* The password itself is nowhere in the file. */
  g_assert_true (g_file_get_contents (fixture->path, &contents, NULL, NULL));
  g_assert_null (strstr (contents, "samepw"));
}

static void
test_iterations_from_string (Fixture      *fixture,
                             gconstpointer data)
{
  /* Made with: PBKDF2-HMAC-SHA256("secret", salt = 16 x 0x01, 1000 iterations). */
  static const char users[] =
    "[user erin]\n"
    "password=pbkdf2-sha256$1000$AQEBAQEBAQEBAQEBAQEBAQ==$%s\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(MsAuth) auth = NULL;
  g_autofree char *text = NULL;
  g_autofree char *hash_b64 = NULL;
  guint8 salt[16];
  guint8 hash[32];

  g_test_summary ("The iteration count is read from the stored string.");
  memset (salt, 1, sizeof salt);
  g_assert_cmpint (PKCS5_PBKDF2_HMAC ("secret", 6, salt, sizeof salt, 1000,
                                      EVP_sha256 (), sizeof hash, hash), ==, 1);
  hash_b64 = g_base64_encode (hash, sizeof hash);
  text = g_strdup_printf (users, hash_b64);
  g_assert_true (g_file_set_contents (fixture->path, text, -1, &error));

  auth = ms_auth_new (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_true (ms_auth_verify (auth, "erin", "secret"));
  g_assert_false (ms_auth_verify (auth, "erin", "Secret"));
}

typedef struct {
  const char *name;
  const char *stored;
} BadHashCase;

static void
test_bad_hash_strings (Fixture      *fixture,
                       gconstpointer data)
{
  static const BadHashCase cases[] = {
    { "empty", "" },
    { "plain", "alicepw" },
    { "other-scheme", "md5$1000$AQEBAQEBAQEBAQEBAQEBAQ==$AQEBAQEBAQEBAQEBAQEBAQ==" },
    { "zero-iterations", "pbkdf2-sha256$0$AQEBAQEBAQEBAQEBAQEBAQ==$AQEBAQEBAQEBAQEBAQEBAQ==" },
    { "huge-iterations", "pbkdf2-sha256$999999999999$AQEB$AQEB" },
    { "negative", "pbkdf2-sha256$-5$AQEB$AQEB" },
    { "no-salt", "pbkdf2-sha256$1000$$AQEB" },
    { "no-hash", "pbkdf2-sha256$1000$AQEB$" },
    { "too-many-parts", "pbkdf2-sha256$1000$AQEB$AQEB$AQEB" },
    { "huge-salt", "pbkdf2-sha256$10$QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB$AQEB" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(MsAuth) auth = NULL;
      g_autofree char *text = g_strdup_printf ("[user frank]\npassword=%s\n", cases[i].stored);

      g_test_message ("case %s", cases[i].name);
      g_assert_true (g_file_set_contents (fixture->path, text, -1, &error));
      auth = ms_auth_new (fixture->path, &error);
      g_assert_no_error (error);
      g_assert_true (ms_auth_has_user (auth, "frank"));
      g_assert_false (ms_auth_verify (auth, "frank", ""));
      g_assert_false (ms_auth_verify (auth, "frank", "alicepw"));
    }
}

static void
test_invalid_users (Fixture      *fixture,
                    gconstpointer data)
{
  static const char *const bad[] = { "", ".hidden", "Alice", "a/b", "a b", "a]b", "x\n" };
  g_autoptr(GError) error = NULL;
  g_autoptr(MsAuth) auth = ms_auth_new (fixture->path, &error);

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_assert_false (ms_auth_set_password (auth, bad[i], "pw", &error));
      g_assert_error (error, MS_AUTH_ERROR, MS_AUTH_ERROR_INVALID_USER);
      g_clear_error (&error);
    }
  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));
}

static void
test_bad_file (Fixture      *fixture,
               gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsAuth) auth = NULL;

  g_assert_true (g_file_set_contents (fixture->path, "this is [not a key file\n", -1, &error));
  auth = ms_auth_new (fixture->path, &error);
  g_assert_null (auth);
  g_assert_error (error, MS_AUTH_ERROR, MS_AUTH_ERROR_PARSE);
}

static void
test_apop_secret_and_remove (Fixture      *fixture,
                             gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(MsAuth) auth = ms_auth_new (fixture->path, &error);
  g_autoptr(MsAuth) again = NULL;
  g_autofree char *secret = NULL;

  g_assert_false (ms_auth_set_apop_secret (auth, "bob", "tanstaaf", &error));
  g_assert_error (error, MS_AUTH_ERROR, MS_AUTH_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (ms_auth_set_password (auth, "bob", "bobpw", &error));
  g_assert_null (ms_auth_get_apop_secret (auth, "bob"));
  g_assert_true (ms_auth_set_apop_secret (auth, "bob", "tanstaaf", &error));
  g_assert_no_error (error);

  again = ms_auth_new (fixture->path, &error);
  g_assert_no_error (error);
  secret = ms_auth_get_apop_secret (again, "bob");
  g_assert_cmpstr (secret, ==, "tanstaaf");
  g_assert_true (ms_auth_verify (again, "bob", "bobpw"));

  g_assert_true (ms_auth_remove_user (again, "bob", &error));
  g_assert_no_error (error);
  g_assert_false (ms_auth_has_user (again, "bob"));
  g_assert_false (ms_auth_verify (again, "bob", "bobpw"));
  g_assert_false (ms_auth_remove_user (again, "bob", &error));
  g_assert_error (error, MS_AUTH_ERROR, MS_AUTH_ERROR_NOT_FOUND);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/server/auth/missing-file", test_missing_file_is_empty);
  ADD ("/server/auth/set-and-verify", test_set_and_verify);
  ADD ("/server/auth/file-mode-and-reopen", test_file_mode_and_reopen);
  ADD ("/server/auth/hash-format", test_hash_format);
  ADD ("/server/auth/iterations-from-string", test_iterations_from_string);
  ADD ("/server/auth/bad-hash-strings", test_bad_hash_strings);
  ADD ("/server/auth/invalid-users", test_invalid_users);
  ADD ("/server/auth/bad-file", test_bad_file);
  ADD ("/server/auth/apop-secret-and-remove", test_apop_secret_and_remove);
#undef ADD

  return g_test_run ();
}
