/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <sys/stat.h>

#include <glib/gstdio.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "ms-conn.h"
#include "ms-tls.h"

G_DEFINE_AUTOPTR_CLEANUP_FUNC (X509, X509_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (GENERAL_NAMES, GENERAL_NAMES_free)

#define TEST_CN "mail.test"

#define ITERATE_UNTIL(cond)                                                     \
  G_STMT_START {                                                                \
    gint64 deadline_ = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;           \
    while (!(cond))                                                             \
      {                                                                         \
        g_assert_cmpint (g_get_monotonic_time (), <, deadline_);                \
        g_main_context_iteration (NULL, TRUE);                                  \
      }                                                                         \
  } G_STMT_END

static gboolean
tick_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
spin (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
}

/* A certificate directory shared by the tests, removed at the end. */
static char *cert_dir;
static char *cert_path;
static char *key_path;

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) handle = g_dir_open (dir, 0, NULL);
  const char *name;

  while (handle != NULL && (name = g_dir_read_name (handle)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static X509 *
read_cert (const char *path)
{
  FILE *file = fopen (path, "r");
  X509 *cert;

  g_assert_nonnull (file);
  cert = PEM_read_X509 (file, NULL, NULL, NULL);
  fclose (file);
  g_assert_nonnull (cert);
  return cert;
}

static void
test_self_signed (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("ms-tls-XXXXXX", &error);
  g_autofree char *cert_file = NULL;
  g_autofree char *key_file = NULL;
  g_autofree char *cert_again = NULL;
  g_autofree char *key_again = NULL;
  g_autofree char *cert_pem = NULL;
  g_autofree char *key_pem = NULL;
  g_autofree char *cert_pem2 = NULL;
  g_autofree char *key_pem2 = NULL;
  g_autoptr(X509) cert = NULL;
  g_autoptr(GENERAL_NAMES) names = NULL;
  char cn[256];
  int days = 0, seconds = 0;
  gboolean has_dns = FALSE, has_localhost = FALSE, has_ip = FALSE;
  GStatBuf st;

  g_assert_no_error (error);

  g_assert_true (ms_tls_ensure_self_signed (dir, TEST_CN, &cert_file, &key_file, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (cert_file, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (key_file, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpint (g_stat (key_file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_assert_true (g_file_get_contents (cert_file, &cert_pem, NULL, NULL));
  g_assert_true (g_file_get_contents (key_file, &key_pem, NULL, NULL));
  g_assert_true (g_str_has_prefix (cert_pem, "-----BEGIN CERTIFICATE-----"));
  g_assert_true (g_str_has_prefix (key_pem, "-----BEGIN PRIVATE KEY-----"));

  cert = read_cert (cert_file);
  g_assert_cmpint (X509_get_version (cert), ==, X509_VERSION_3);
  X509_NAME_get_text_by_NID (X509_get_subject_name (cert), NID_commonName, cn, sizeof cn);
  g_assert_cmpstr (cn, ==, TEST_CN);
  g_assert_cmpint (X509_NAME_cmp (X509_get_subject_name (cert), X509_get_issuer_name (cert)), ==, 0);
  g_assert_cmpint (X509_check_host (cert, TEST_CN, 0, 0, NULL), ==, 1);
  g_assert_cmpint (X509_check_ip_asc (cert, "127.0.0.1", 0), ==, 1);
  /* Self-signed: its own key verifies it. */
  g_assert_cmpint (X509_verify (cert, X509_get0_pubkey (cert)), ==, 1);
  g_assert_true (ASN1_TIME_diff (&days, &seconds, X509_get0_notBefore (cert),
                                 X509_get0_notAfter (cert)));
  g_assert_cmpint (days, >=, 3649);
  g_assert_cmpint (X509_cmp_current_time (X509_get0_notBefore (cert)), <=, 0);

  names = X509_get_ext_d2i (cert, NID_subject_alt_name, NULL, NULL);
  g_assert_nonnull (names);
  for (int i = 0; i < sk_GENERAL_NAME_num (names); i++)
    {
      const GENERAL_NAME *name = sk_GENERAL_NAME_value (names, i);

      if (name->type == GEN_DNS)
        {
          const char *text = (const char *) ASN1_STRING_get0_data (name->d.dNSName);
          has_dns |= g_str_equal (text, TEST_CN);
          has_localhost |= g_str_equal (text, "localhost");
        }
      else if (name->type == GEN_IPADD)
        {
          static const guint8 loopback[] = { 127, 0, 0, 1 };
          has_ip |= ASN1_STRING_length (name->d.iPAddress) == 4
            && memcmp (ASN1_STRING_get0_data (name->d.iPAddress), loopback, 4) == 0;
        }
    }
  g_assert_true (has_dns);
  g_assert_true (has_localhost);
  g_assert_true (has_ip);

  /* A second call reuses the pair. */
  g_assert_true (ms_tls_ensure_self_signed (dir, TEST_CN, &cert_again, &key_again, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (cert_again, ==, cert_file);
  g_assert_cmpstr (key_again, ==, key_file);
  g_assert_true (g_file_get_contents (cert_file, &cert_pem2, NULL, NULL));
  g_assert_true (g_file_get_contents (key_file, &key_pem2, NULL, NULL));
  g_assert_cmpstr (cert_pem2, ==, cert_pem);
  g_assert_cmpstr (key_pem2, ==, key_pem);
  g_clear_pointer (&cert_pem2, g_free);
  g_clear_pointer (&key_pem2, g_free);

  /* With the certificate gone, a fresh pair is made. */
  g_assert_cmpint (g_unlink (cert_file), ==, 0);
  g_assert_true (ms_tls_ensure_self_signed (dir, TEST_CN, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_get_contents (cert_file, &cert_pem2, NULL, NULL));
  g_assert_true (g_file_get_contents (key_file, &key_pem2, NULL, NULL));
  g_assert_cmpstr (cert_pem2, !=, cert_pem);
  g_assert_cmpstr (key_pem2, !=, key_pem);
  g_assert_cmpint (g_stat (key_file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  remove_dir (dir);
}

static void
test_contexts (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *other_dir = g_dir_make_tmp ("ms-tls-XXXXXX", &error);
  g_autofree char *other_key = NULL;
  g_autofree char *missing = g_build_filename (cert_dir, "missing.pem", NULL);
  g_autoptr(SSL_CTX) server = NULL;
  g_autoptr(SSL_CTX) client = NULL;
  g_autoptr(SSL_CTX) mismatched = NULL;
  g_autoptr(SSL_CTX) absent = NULL;

  g_assert_no_error (error);

  server = ms_tls_server_context_new (cert_path, key_path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (server);
  g_assert_cmpint (SSL_CTX_get_min_proto_version (server), ==, TLS1_2_VERSION);

  client = ms_tls_client_context_new (FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpint (SSL_CTX_get_min_proto_version (client), ==, TLS1_2_VERSION);
  g_assert_cmpint (SSL_CTX_get_verify_mode (client), ==, SSL_VERIFY_NONE);

  /* The key of another pair does not match our certificate. */
  g_assert_true (ms_tls_ensure_self_signed (other_dir, "other.test", NULL, &other_key, &error));
  g_assert_no_error (error);
  mismatched = ms_tls_server_context_new (cert_path, other_key, &error);
  g_assert_null (mismatched);
  g_assert_error (error, MS_TLS_ERROR, MS_TLS_ERROR_FAILED);
  g_test_message ("mismatch: %s", error->message);
  /* OpenSSL itself already notices while loading the key. */
  g_assert_nonnull (strstr (error->message, other_key));
  g_assert_nonnull (strstr (error->message, "mismatch"));
  g_clear_error (&error);

  absent = ms_tls_server_context_new (missing, key_path, &error);
  g_assert_null (absent);
  g_assert_error (error, MS_TLS_ERROR, MS_TLS_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "missing.pem"));
  g_clear_error (&error);

  remove_dir (other_dir);
}

/* ---- STARTTLS over MsConn ---- */

typedef struct {
  MsConn *conn;
  gboolean is_server;
  SSL_CTX *ctx;                 /* borrowed */
  GPtrArray *lines;             /* char * */
  GByteArray *raw;
  guint tls_done_count;
  gboolean tls_ok;
  char *tls_error;
  guint closed_count;
  char *closed_reason;
} Side;

static void
side_line_cb (MsConn      *conn,
              const char  *line,
              gsize        len,
              MsLineFlags  flags,
              gpointer     user_data)
{
  Side *side = user_data;

  g_ptr_array_add (side->lines, g_strndup (line, len));

  if (side->is_server)
    {
      /* RFC 3207 §4: reply 220, then the handshake starts. */
      if (g_str_equal (line, "STARTTLS"))
        {
          ms_conn_write_line (conn, "220 Ready to start TLS");
          ms_conn_start_tls_server (conn, side->ctx);
        }
      else if (g_str_has_prefix (line, "RAW "))
        ms_conn_read_bytes (conn, g_ascii_strtoull (line + 4, NULL, 10));
      else if (g_str_has_prefix (line, "ECHO "))
        ms_conn_write_line (conn, line);
      else if (g_str_equal (line, "BULK"))
        {
          for (guint i = 0; i < 20000; i++)
            ms_conn_printf (conn, "bulk %05u ................................................\r\n", i);
        }
      else if (g_str_equal (line, "QUIT"))
        {
          ms_conn_write_line (conn, "221 bye");
          ms_conn_close_after_flush (conn);
        }
    }
  else if (g_str_equal (line, "220 Ready to start TLS"))
    {
      ms_conn_start_tls_client (conn, side->ctx, TEST_CN);
    }
}

static void
side_bytes_cb (MsConn       *conn,
               const guint8 *data,
               gsize         len,
               gboolean      last,
               gpointer      user_data)
{
  Side *side = user_data;

  g_byte_array_append (side->raw, data, len);
}

static void
side_tls_done_cb (MsConn     *conn,
                  gboolean    ok,
                  const char *error,
                  gpointer    user_data)
{
  Side *side = user_data;

  side->tls_done_count++;
  side->tls_ok = ok;
  g_free (side->tls_error);
  side->tls_error = g_strdup (error);
  if (ok)
    g_assert_null (error);
  else
    g_assert_nonnull (error);
}

static void
side_closed_cb (MsConn     *conn,
                const char *reason,
                gpointer    user_data)
{
  Side *side = user_data;

  side->closed_count++;
  g_free (side->closed_reason);
  side->closed_reason = g_strdup (reason);
}

static const MsConnCallbacks side_callbacks = {
  .line = side_line_cb,
  .bytes = side_bytes_cb,
  .tls_done = side_tls_done_cb,
  .closed = side_closed_cb,
};

static Side *
side_new (GSocketConnection *connection,
          gboolean           is_server,
          SSL_CTX           *ctx)
{
  Side *side = g_new0 (Side, 1);

  side->is_server = is_server;
  side->ctx = ctx;
  side->lines = g_ptr_array_new_with_free_func (g_free);
  side->raw = g_byte_array_new ();
  side->conn = ms_conn_new (connection, NULL, &side_callbacks, side);
  ms_conn_start (side->conn);
  return side;
}

static void
side_free (Side *side)
{
  g_clear_pointer (&side->conn, ms_conn_unref);
  g_ptr_array_unref (side->lines);
  g_byte_array_unref (side->raw);
  g_free (side->tls_error);
  g_free (side->closed_reason);
  g_free (side);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Side, side_free)

static const char *
side_line (Side *side, guint i)
{
  g_assert_cmpuint (i, <, side->lines->len);
  return g_ptr_array_index (side->lines, i);
}

static void
make_socket_pair (GSocketConnection **server_r,
                  GSocketConnection **client_r)
{
  g_autoptr(GSocketListener) listener = g_socket_listener_new ();
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  guint16 port;

  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));

  *client_r = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  *server_r = g_socket_listener_accept (listener, NULL, NULL, &error);
  g_assert_no_error (error);
  g_socket_listener_close (listener);
}

static void
make_sides (SSL_CTX  *server_ctx,
            SSL_CTX  *client_ctx,
            Side    **server_r,
            Side    **client_r)
{
  g_autoptr(GSocketConnection) server_side = NULL;
  g_autoptr(GSocketConnection) client_side = NULL;

  make_socket_pair (&server_side, &client_side);
  *server_r = side_new (server_side, TRUE, server_ctx);
  *client_r = side_new (client_side, FALSE, client_ctx);
}

static void
test_starttls (gconstpointer data)
{
  int max_version = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(SSL_CTX) server_ctx = ms_tls_server_context_new (cert_path, key_path, &error);
  g_autoptr(SSL_CTX) client_ctx = ms_tls_client_context_new (FALSE, &error);
  g_autoptr(Side) server = NULL;
  g_autoptr(Side) client = NULL;
  const gsize raw_size = 300 * 1000 + 3;
  g_autofree guint8 *payload = g_malloc (raw_size);
  const char *version;

  g_assert_no_error (error);
  if (max_version != 0)
    g_assert_cmpint (SSL_CTX_set_max_proto_version (client_ctx, max_version), ==, 1);
  for (gsize i = 0; i < raw_size; i++)
    payload[i] = (guint8) (i ^ (i >> 9));

  make_sides (server_ctx, client_ctx, &server, &client);

  /* A plain line first. */
  ms_conn_write_line (client->conn, "ECHO plain");
  ITERATE_UNTIL (client->lines->len == 1);
  g_assert_cmpstr (side_line (client, 0), ==, "ECHO plain");

  /* RFC 3207 §4: the line pipelined after STARTTLS must be thrown away,
   * not taken as if it had come over TLS. */
  ms_conn_write (client->conn, "STARTTLS\r\nINJECTED\r\n", 20);
  ITERATE_UNTIL (server->tls_done_count == 1 && client->tls_done_count == 1);
  g_assert_true (server->tls_ok);
  g_assert_true (client->tls_ok);
  g_assert_true (ms_conn_is_tls (server->conn));
  g_assert_true (ms_conn_is_tls (client->conn));

  version = ms_conn_get_tls_version (client->conn);
  g_test_message ("%s %s, subject %s", version, ms_conn_get_tls_cipher (client->conn),
                  ms_conn_get_tls_subject (client->conn));
  if (max_version == TLS1_2_VERSION)
    g_assert_cmpstr (version, ==, "TLSv1.2");
  else
    g_assert_cmpstr (version, ==, "TLSv1.3");
  g_assert_cmpstr (ms_conn_get_tls_version (server->conn), ==, version);
  g_assert_nonnull (ms_conn_get_tls_cipher (client->conn));
  g_assert_cmpstr (ms_conn_get_tls_cipher (server->conn), ==, ms_conn_get_tls_cipher (client->conn));
  g_assert_nonnull (strstr (ms_conn_get_tls_subject (client->conn), "CN=" TEST_CN));
  g_assert_nonnull (strstr (ms_conn_get_tls_subject (server->conn), "CN=" TEST_CN));

  /* Lines both ways over TLS. */
  ms_conn_write_line (client->conn, "ECHO over tls");
  ITERATE_UNTIL (client->lines->len == 3);
  g_assert_cmpstr (side_line (client, 1), ==, "220 Ready to start TLS");
  g_assert_cmpstr (side_line (client, 2), ==, "ECHO over tls");
  g_assert_cmpuint (server->lines->len, ==, 3);
  g_assert_cmpstr (side_line (server, 1), ==, "STARTTLS");
  g_assert_cmpstr (side_line (server, 2), ==, "ECHO over tls");

  /* Many records both ways: raw bytes up, a bulk reply down. */
  ms_conn_printf (client->conn, "RAW %" G_GSIZE_FORMAT "\r\n", raw_size);
  ms_conn_write (client->conn, payload, raw_size);
  ms_conn_write_line (client->conn, "BULK");
  ITERATE_UNTIL (client->lines->len == 3 + 20000);
  g_assert_cmpmem (server->raw->data, server->raw->len, payload, raw_size);
  g_assert_cmpstr (side_line (client, 3), ==,
                   "bulk 00000 ................................................");
  g_assert_cmpstr (side_line (client, 3 + 19999), ==,
                   "bulk 19999 ................................................");

  /* A close over TLS delivers everything first. */
  ms_conn_write_line (client->conn, "QUIT");
  ITERATE_UNTIL (client->closed_count == 1 && server->closed_count == 1);
  g_assert_cmpstr (side_line (client, client->lines->len - 1), ==, "221 bye");
  g_assert_cmpstr (client->closed_reason, ==, "peer closed");
  g_assert_cmpstr (server->closed_reason, ==, "closed by server");
  spin (20);
  g_assert_cmpuint (server->tls_done_count, ==, 1);
  g_assert_cmpuint (client->closed_count, ==, 1);
}

static void
test_old_client_refused (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(SSL_CTX) server_ctx = ms_tls_server_context_new (cert_path, key_path, &error);
  g_autoptr(SSL_CTX) old_ctx = SSL_CTX_new (TLS_client_method ());
  g_autoptr(Side) server = NULL;
  g_autoptr(Side) client = NULL;

  g_assert_no_error (error);
  /* Security level 0 lets this client really offer TLS 1.1, so it is the
   * server that refuses. */
  SSL_CTX_set_security_level (old_ctx, 0);
  g_assert_cmpint (SSL_CTX_set_cipher_list (old_ctx, "DEFAULT:@SECLEVEL=0"), ==, 1);
  g_assert_cmpint (SSL_CTX_set_min_proto_version (old_ctx, TLS1_VERSION), ==, 1);
  g_assert_cmpint (SSL_CTX_set_max_proto_version (old_ctx, TLS1_1_VERSION), ==, 1);
  SSL_CTX_set_verify (old_ctx, SSL_VERIFY_NONE, NULL);

  make_sides (server_ctx, old_ctx, &server, &client);
  ms_conn_write_line (client->conn, "STARTTLS");
  ITERATE_UNTIL (server->tls_done_count == 1 && client->tls_done_count == 1);
  g_test_message ("server: %s; client: %s", server->tls_error, client->tls_error);
  g_assert_false (server->tls_ok);
  g_assert_false (client->tls_ok);
  g_assert_nonnull (strstr (server->tls_error, "unsupported protocol"));
  g_assert_false (ms_conn_is_tls (server->conn));
  g_assert_null (ms_conn_get_tls_version (server->conn));

  ITERATE_UNTIL (server->closed_count == 1 && client->closed_count == 1);
  g_assert_true (g_str_has_prefix (server->closed_reason, "TLS error: "));
  g_assert_cmpstr (server->closed_reason, ==, server->tls_error);
  spin (20);
  g_assert_cmpuint (server->closed_count, ==, 1);
  g_assert_cmpuint (server->tls_done_count, ==, 1);
}

static void
test_not_tls_peer (void)
{
  g_test_summary ("A client that answers the 220 with plain text fails the "
                  "handshake cleanly.");
  g_autoptr(GError) error = NULL;
  g_autoptr(SSL_CTX) server_ctx = ms_tls_server_context_new (cert_path, key_path, &error);
  g_autoptr(GSocketConnection) server_side = NULL;
  g_autoptr(GSocketConnection) client_side = NULL;
  g_autoptr(Side) server = NULL;
  GSocket *socket;
  char reply[64] = { 0 };
  gssize n;

  g_assert_no_error (error);
  make_socket_pair (&server_side, &client_side);
  server = side_new (server_side, TRUE, server_ctx);
  socket = g_socket_connection_get_socket (client_side);

  g_assert_cmpint (g_socket_send (socket, "STARTTLS\r\n", 10, NULL, &error), ==, 10);
  ITERATE_UNTIL (server->lines->len == 1);
  ITERATE_UNTIL (ms_conn_get_pending_output (server->conn) == 0);
  n = g_socket_receive (socket, reply, sizeof reply - 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reply, ==, "220 Ready to start TLS\r\n");
  g_assert_cmpint (n, ==, 24);

  g_assert_cmpint (g_socket_send (socket, "HELO not tls at all\r\n\r\n", 23, NULL, &error), ==, 23);
  ITERATE_UNTIL (server->closed_count == 1);
  g_assert_cmpuint (server->tls_done_count, ==, 1);
  g_assert_false (server->tls_ok);
  g_assert_true (g_str_has_prefix (server->closed_reason, "TLS error: "));
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_timeout_add (20, tick_cb, NULL);

  cert_dir = g_dir_make_tmp ("ms-tls-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_true (ms_tls_ensure_self_signed (cert_dir, TEST_CN, &cert_path, &key_path, &error));
  g_assert_no_error (error);

  g_test_add_func ("/common/tls/self-signed", test_self_signed);
  g_test_add_func ("/common/tls/contexts", test_contexts);
  g_test_add_data_func ("/common/tls/starttls", GINT_TO_POINTER (0), test_starttls);
  g_test_add_data_func ("/common/tls/starttls-tls12", GINT_TO_POINTER (TLS1_2_VERSION),
                        test_starttls);
  g_test_add_func ("/common/tls/old-client-refused", test_old_client_refused);
  g_test_add_func ("/common/tls/not-tls-peer", test_not_tls_peer);

  ret = g_test_run ();

  remove_dir (cert_dir);
  g_free (cert_dir);
  g_free (cert_path);
  g_free (key_path);
  return ret;
}
