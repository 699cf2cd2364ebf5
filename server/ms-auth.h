/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* User accounts of one server, kept in a key file (users.conf):
 *
 *   [user alice]
 *   password=pbkdf2-sha256$20000$<salt base64>$<hash base64>
 *   apop-secret=...            (optional, plain: APOP needs it, RFC 1939 section 7)
 *
 * Passwords are salted and hashed with PBKDF2-HMAC-SHA-256 (RFC 8018 section
 * 5.2); the iteration count is part of the string, so it can change without
 * breaking old entries. The file is written atomically with mode 0600.
 * User names follow ms_store_user_name_is_valid(). Not thread-safe. */
typedef struct _MsAuth MsAuth;

/* PBKDF2 iterations for new hashes. Lower than the 600000 OWASP suggests for
 * production because a load test logs in thousands of times a second; a
 * teaching system trades that for speed. Verification takes what the stored
 * string says. */
#define MS_AUTH_PBKDF2_ITERATIONS 20000

#define MS_AUTH_ERROR (ms_auth_error_quark ())
GQuark ms_auth_error_quark (void);
typedef enum {
  MS_AUTH_ERROR_INVALID_USER,   /* the user name is not allowed */
  MS_AUTH_ERROR_NOT_FOUND,      /* no such user */
  MS_AUTH_ERROR_CRYPTO,         /* OpenSSL failed (random bytes, PBKDF2) */
  MS_AUTH_ERROR_PARSE,          /* the users file is not a valid key file */
} MsAuthError;

/* Loads `path`. A missing file means no users yet (it is created on the first
 * change). Returns NULL and sets `error` when the file cannot be read or
 * parsed. Free with ms_auth_free(). */
MsAuth *ms_auth_new (const char *path,
                     GError    **error);
void ms_auth_free (MsAuth *auth);

/* Borrowed; valid until ms_auth_free(). */
const char *ms_auth_get_path (MsAuth *auth);

/* Sets (or adds the user with) a new password hash and saves the file.
 * `password` is borrowed and not kept. */
gboolean ms_auth_set_password (MsAuth     *auth,
                               const char *user,
                               const char *password,
                               GError    **error);

/* TRUE only when `user` exists and `password` matches its hash. An unknown
 * user costs the same PBKDF2 work as a known one, so the time taken does not
 * tell which user names exist. */
gboolean ms_auth_verify (MsAuth     *auth,
                         const char *user,
                         const char *password);

gboolean ms_auth_has_user (MsAuth     *auth,
                           const char *user);

/* Removes the user and saves the file. NOT_FOUND when there is no such user. */
gboolean ms_auth_remove_user (MsAuth     *auth,
                              const char *user,
                              GError    **error);

/* The user names, sorted. Free with g_strfreev(). Never NULL. */
char **ms_auth_list_users (MsAuth *auth);

/* The plain APOP shared secret (RFC 1939 section 7). The user must exist
 * (NOT_FOUND otherwise); NULL `secret` removes it. Saves the file. */
gboolean ms_auth_set_apop_secret (MsAuth     *auth,
                                  const char *user,
                                  const char *secret,
                                  GError    **error);

/* Returns a copy of the APOP secret, or NULL when the user has none. The
 * caller wipes it (OPENSSL_cleanse) and frees it with g_free(). */
char *ms_auth_get_apop_secret (MsAuth     *auth,
                               const char *user);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsAuth, ms_auth_free)

G_END_DECLS
