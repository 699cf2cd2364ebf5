/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <openssl/ssl.h>

G_BEGIN_DECLS

#define MS_TLS_ERROR (ms_tls_error_quark ())
GQuark ms_tls_error_quark (void);
typedef enum {
  MS_TLS_ERROR_FAILED,
} MsTlsError;

/* Makes sure `dir` holds cert.pem and key.pem: when either is missing, makes a
 * new self-signed certificate (EC P-256, valid for ten years) for
 * `common_name`, with subjectAltName DNS:common_name, DNS:localhost and
 * IP:127.0.0.1. The key file is written mode 0600. Returns the two paths. */
gboolean ms_tls_ensure_self_signed (const char *dir, const char *common_name,
                                    char **cert_path_r, char **key_path_r, GError **error);

/* A server context with the certificate and key, TLS 1.2 or newer. */
SSL_CTX *ms_tls_server_context_new (const char *cert_path, const char *key_path, GError **error);

/* A client context, TLS 1.2 or newer. With `verify` FALSE, any certificate is
 * accepted (our demo servers use self-signed ones); the subject is still
 * reported. */
SSL_CTX *ms_tls_client_context_new (gboolean verify, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SSL_CTX, SSL_CTX_free)

G_END_DECLS
