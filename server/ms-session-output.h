/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How a sans-IO server session (SMTP, POP3, IMAP) acts on its connection.
 * MsServer implements it over MsConn; unit tests implement it over a
 * GString. Every member but `hold` is required. */
typedef struct {
  /* Bytes to send: one or more whole reply lines with CRLF. */
  void (*send) (gpointer output_data, const char *data, gsize len);
  /* The reply to STARTTLS/STLS has been sent: start the handshake, then call
   * the session's tls_done function. */
  void (*start_tls) (gpointer output_data);
  /* Close the connection once the queued replies are sent. */
  void (*close) (gpointer output_data);
  /* The longest line the session accepts in its current state. */
  void (*set_max_line) (gpointer output_data, gsize max_line);
  /* For the next `milliseconds`, keep what the session sends and read no
   * input; then send it and go on. Slows down password guessing. Optional:
   * NULL means no delay. */
  void (*hold) (gpointer output_data, guint milliseconds);
  /* Read the next `count` bytes raw (an IMAP literal) and give them to the
   * session's feed_bytes function, then go back to lines. Optional: only
   * IMAP uses it. */
  void (*read_bytes) (gpointer output_data, gsize count);
} MsSessionOutput;

G_END_DECLS
