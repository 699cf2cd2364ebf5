/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "ms-tls"

#include "config.h"

#include "ms-tls.h"

#include <errno.h>
#include <string.h>

#include <glib/gstdio.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* OpenSSL handles used as locals below (STYLE.md §5: autoptr cleanups for
 * OpenSSL handles). */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (EVP_PKEY, EVP_PKEY_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIGNUM, BN_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (BIO, BIO_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509_EXTENSION, X509_EXTENSION_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GENERAL_NAMES, GENERAL_NAMES_free)

/* Self-signed certificates live ten years: a teaching install should not
 * break in the middle of a term. */
#define MS_TLS_CERT_DAYS 3650

G_DEFINE_QUARK (ms-tls-error-quark, ms_tls_error)

/* Sets `error` to `what` followed by the oldest queued OpenSSL error, and
 * empties the OpenSSL error queue so it does not leak into the next call. */
static void
set_openssl_error (GError **error, const char *what)
{
  unsigned long code = ERR_get_error ();
  char text[256];

  if (code != 0)
    ERR_error_string_n (code, text, sizeof text);
  else
    g_strlcpy (text, "unknown error", sizeof text);
  ERR_clear_error ();

  g_set_error (error, MS_TLS_ERROR, MS_TLS_ERROR_FAILED, "%s: %s", what, text);
}

static gboolean
add_dns_name (GENERAL_NAMES *names, const char *dns_name)
{
  GENERAL_NAME *name = GENERAL_NAME_new ();
  ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new ();

  if (name == NULL || ia5 == NULL || !ASN1_STRING_set (ia5, dns_name, -1))
    {
      GENERAL_NAME_free (name);
      ASN1_IA5STRING_free (ia5);
      return FALSE;
    }
  GENERAL_NAME_set0_value (name, GEN_DNS, ia5);
  if (!sk_GENERAL_NAME_push (names, name))
    {
      GENERAL_NAME_free (name);
      return FALSE;
    }
  return TRUE;
}

static gboolean
add_ipv4_loopback (GENERAL_NAMES *names)
{
  static const unsigned char loopback[4] = { 127, 0, 0, 1 };
  GENERAL_NAME *name = GENERAL_NAME_new ();
  ASN1_OCTET_STRING *octets = ASN1_OCTET_STRING_new ();

  if (name == NULL || octets == NULL
      || !ASN1_OCTET_STRING_set (octets, loopback, sizeof loopback))
    {
      GENERAL_NAME_free (name);
      ASN1_OCTET_STRING_free (octets);
      return FALSE;
    }
  GENERAL_NAME_set0_value (name, GEN_IPADD, octets);
  if (!sk_GENERAL_NAME_push (names, name))
    {
      GENERAL_NAME_free (name);
      return FALSE;
    }
  return TRUE;
}

/* The subjectAltName is built from GENERAL_NAME values rather than from a
 * config string, so a common name holding ',' or ':' cannot inject extra
 * names. Clients match host names against it, not against the CN
 * (RFC 6125 §6.4.4). */
static gboolean
add_subject_alt_name (X509 *cert, const char *common_name)
{
  g_autoptr(GENERAL_NAMES) names = sk_GENERAL_NAME_new_null ();

  if (names == NULL
      || !add_dns_name (names, common_name)
      || (g_ascii_strcasecmp (common_name, "localhost") != 0 && !add_dns_name (names, "localhost"))
      || !add_ipv4_loopback (names))
    return FALSE;

  return X509_add1_ext_i2d (cert, NID_subject_alt_name, names, 0, X509V3_ADD_DEFAULT) == 1;
}

static gboolean
add_conf_extension (X509 *cert, int nid, const char *value)
{
  X509V3_CTX ctx;
  g_autoptr(X509_EXTENSION) extension = NULL;

  X509V3_set_ctx_nodb (&ctx);
  X509V3_set_ctx (&ctx, cert, cert, NULL, NULL, 0);
  extension = X509V3_EXT_conf_nid (NULL, &ctx, nid, value);
  return extension != NULL && X509_add_ext (cert, extension, -1) == 1;
}

static X509 *
make_certificate (EVP_PKEY *key, const char *common_name, GError **error)
{
  g_autoptr(X509) cert = X509_new ();
  g_autoptr(BIGNUM) serial = BN_new ();
  X509_NAME *name;

  if (cert == NULL || serial == NULL)
    {
      set_openssl_error (error, "Cannot allocate certificate");
      return NULL;
    }

  /* Version 3 (value 2), needed for extensions. A random 159-bit serial stays
   * positive and within the 20 octets RFC 5280 §4.1.2.2 allows. */
  if (!X509_set_version (cert, X509_VERSION_3)
      || !BN_rand (serial, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)
      || BN_to_ASN1_INTEGER (serial, X509_get_serialNumber (cert)) == NULL
      || X509_gmtime_adj (X509_getm_notBefore (cert), 0) == NULL
      || X509_time_adj_ex (X509_getm_notAfter (cert), MS_TLS_CERT_DAYS, 0, NULL) == NULL
      || !X509_set_pubkey (cert, key))
    {
      set_openssl_error (error, "Cannot fill in certificate");
      return NULL;
    }

  name = X509_get_subject_name (cert);
  if (!X509_NAME_add_entry_by_txt (name, "CN", MBSTRING_UTF8,
                                   (const unsigned char *) common_name, -1, -1, 0)
      || !X509_set_issuer_name (cert, name))
    {
      set_openssl_error (error, "Cannot set certificate name");
      return NULL;
    }

  if (!add_subject_alt_name (cert, common_name)
      || !add_conf_extension (cert, NID_basic_constraints, "critical,CA:FALSE")
      || !add_conf_extension (cert, NID_key_usage, "critical,digitalSignature")
      || !add_conf_extension (cert, NID_ext_key_usage, "serverAuth")
      || !add_conf_extension (cert, NID_subject_key_identifier, "hash"))
    {
      set_openssl_error (error, "Cannot add certificate extensions");
      return NULL;
    }

  if (X509_sign (cert, key, EVP_sha256 ()) <= 0)
    {
      set_openssl_error (error, "Cannot sign certificate");
      return NULL;
    }

  return g_steal_pointer (&cert);
}

/* g_file_set_contents_full() writes a temporary file beside `path`, fsyncs
 * it and renames it over `path`, so a crash never leaves half a PEM file. */
static gboolean
write_bio_atomically (BIO *bio, const char *path, int mode, GError **error)
{
  char *data = NULL;
  long len = BIO_get_mem_data (bio, &data);

  if (len <= 0)
    {
      g_set_error (error, MS_TLS_ERROR, MS_TLS_ERROR_FAILED, "Nothing to write to %s", path);
      return FALSE;
    }
  return g_file_set_contents_full (path, data, len, G_FILE_SET_CONTENTS_CONSISTENT, mode, error);
}

gboolean
ms_tls_ensure_self_signed (const char  *dir,
                           const char  *common_name,
                           char       **cert_path_r,
                           char       **key_path_r,
                           GError     **error)
{
  g_autofree char *cert_path = NULL;
  g_autofree char *key_path = NULL;
  g_autoptr(EVP_PKEY) key = NULL;
  g_autoptr(X509) cert = NULL;
  g_autoptr(BIO) key_pem = NULL;
  g_autoptr(BIO) cert_pem = NULL;

  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (common_name != NULL && *common_name != '\0', FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  cert_path = g_build_filename (dir, "cert.pem", NULL);
  key_path = g_build_filename (dir, "key.pem", NULL);

  if (g_file_test (cert_path, G_FILE_TEST_IS_REGULAR)
      && g_file_test (key_path, G_FILE_TEST_IS_REGULAR))
    goto done;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "Cannot create %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }

  key = EVP_PKEY_Q_keygen (NULL, NULL, "EC", "P-256");
  if (key == NULL)
    {
      set_openssl_error (error, "Cannot generate EC P-256 key");
      return FALSE;
    }

  cert = make_certificate (key, common_name, error);
  if (cert == NULL)
    return FALSE;

  /* The key goes through secure-memory BIOs, which wipe their buffer when
   * freed (STYLE.md §5: wipe keys after use). */
  key_pem = BIO_new (BIO_s_secmem ());
  cert_pem = BIO_new (BIO_s_mem ());
  if (key_pem == NULL || cert_pem == NULL
      || !PEM_write_bio_PrivateKey (key_pem, key, NULL, NULL, 0, NULL, NULL)
      || !PEM_write_bio_X509 (cert_pem, cert))
    {
      set_openssl_error (error, "Cannot encode certificate or key");
      return FALSE;
    }

  /* Key first: if we stop between the two, the certificate is missing and
   * the next run makes a fresh matching pair. */
  if (!write_bio_atomically (key_pem, key_path, 0600, error)
      || !write_bio_atomically (cert_pem, cert_path, 0644, error))
    return FALSE;

  g_debug ("Made a self-signed certificate for %s in %s", common_name, dir);

done:
  if (cert_path_r != NULL)
    *cert_path_r = g_steal_pointer (&cert_path);
  if (key_path_r != NULL)
    *key_path_r = g_steal_pointer (&key_path);
  return TRUE;
}

SSL_CTX *
ms_tls_server_context_new (const char  *cert_path,
                           const char  *key_path,
                           GError     **error)
{
  g_autoptr(SSL_CTX) ctx = NULL;

  g_return_val_if_fail (cert_path != NULL, NULL);
  g_return_val_if_fail (key_path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ERR_clear_error ();
  ctx = SSL_CTX_new (TLS_server_method ());
  if (ctx == NULL)
    {
      set_openssl_error (error, "Cannot create TLS server context");
      return NULL;
    }

  /* TLS 1.0 and 1.1 are deprecated (RFC 8996). Renegotiation is refused: a
   * mail protocol never needs it, and it would let a client make us read in
   * the middle of a write. */
  if (!SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION))
    {
      set_openssl_error (error, "Cannot set the minimum TLS version");
      return NULL;
    }
  SSL_CTX_set_options (ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);

  if (SSL_CTX_use_certificate_chain_file (ctx, cert_path) != 1)
    {
      g_autofree char *what = g_strdup_printf ("Cannot load certificate %s", cert_path);
      set_openssl_error (error, what);
      return NULL;
    }
  if (SSL_CTX_use_PrivateKey_file (ctx, key_path, SSL_FILETYPE_PEM) != 1)
    {
      g_autofree char *what = g_strdup_printf ("Cannot load private key %s", key_path);
      set_openssl_error (error, what);
      return NULL;
    }
  if (SSL_CTX_check_private_key (ctx) != 1)
    {
      g_autofree char *what = g_strdup_printf ("Key %s does not match certificate %s",
                                               key_path, cert_path);
      set_openssl_error (error, what);
      return NULL;
    }

  return g_steal_pointer (&ctx);
}

SSL_CTX *
ms_tls_client_context_new (gboolean   verify,
                           GError   **error)
{
  g_autoptr(SSL_CTX) ctx = NULL;

  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  ERR_clear_error ();
  ctx = SSL_CTX_new (TLS_client_method ());
  if (ctx == NULL)
    {
      set_openssl_error (error, "Cannot create TLS client context");
      return NULL;
    }
  if (!SSL_CTX_set_min_proto_version (ctx, TLS1_2_VERSION))
    {
      set_openssl_error (error, "Cannot set the minimum TLS version");
      return NULL;
    }
  SSL_CTX_set_options (ctx, SSL_OP_NO_RENEGOTIATION);

  if (verify)
    {
      if (SSL_CTX_set_default_verify_paths (ctx) != 1)
        {
          set_openssl_error (error, "Cannot load the system trust store");
          return NULL;
        }
      SSL_CTX_set_verify (ctx, SSL_VERIFY_PEER, NULL);
    }
  else
    {
      SSL_CTX_set_verify (ctx, SSL_VERIFY_NONE, NULL);
    }

  return g_steal_pointer (&ctx);
}
