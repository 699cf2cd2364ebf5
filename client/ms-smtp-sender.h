/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "ms-smtp-client.h"
#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* Sends one message over SMTP: connects with GSocketClient, runs the
 * MsSmtpClient engine over an MsConn on the thread-default main context, and
 * reports an MsSmtpSendResult. The relay queue and mailscope-client use it.
 *
 * MsSmtpTlsMode, MsSmtpSendResult, ms_smtp_send_result_free() and its autoptr
 * come from ms-smtp-client.h, which this header includes. */

typedef struct {
  const char *host;
  guint16 port;
  MsSmtpTlsMode tls;
  const char *helo_name;      /* NULL = "localhost" */
  const char *username;       /* NULL = no AUTH */
  const char *password;
  const char *mail_from;      /* without brackets; "" for the null sender */
  const char * const *rcpt_to; /* at least one */
  GBytes *message;            /* LF or CRLF line ends; sent dot-stuffed with CRLF */
  guint timeout_s;            /* for connecting, and for each reply; 0 = 300 (RFC 5321 §4.5.3.2) */
  MsTraceBus *bus;            /* nullable: emit command/reply events as a client */
  const char *trace_server;   /* the `server` field of those events, e.g. "alpha.test" */
  const char *trace_proto;    /* "smtp" default; the relay passes "smtp-relay" */
  /* Optional: each line of the dialog as it happens, 'C' or 'S', secrets
   * masked, the message shown line by line; '*' for a note that is not on
   * the wire (the TLS handshake's outcome). */
  void (*show) (char direction, const char *line, gpointer user_data);
  gpointer show_data;
} MsSmtpSendParams;

/* Starts sending. All strings, the strv and a reference on the message are
 * copied, so `params` may go away at once. Call ms_smtp_send_finish() from
 * `callback`.
 *
 * Every outcome of the conversation, including a refused connection, a
 * timeout or a TLS failure, is a result (connection problems are
 * MS_SMTP_SEND_STATUS_TEMP_FAILURE with the reason in `text`), so a relay can
 * decide to retry. A GError is only for bad parameters
 * (G_IO_ERROR_INVALID_ARGUMENT: a CR, LF or angle bracket in an address, no
 * recipient, no host) and for cancellation (G_IO_ERROR_CANCELLED). */
void ms_smtp_send_async (const MsSmtpSendParams *params,
                         GCancellable *cancellable,
                         GAsyncReadyCallback callback,
                         gpointer user_data);

/* Returns the result (free with ms_smtp_send_result_free()), or NULL with
 * `error` set. */
MsSmtpSendResult *ms_smtp_send_finish (GAsyncResult *result, GError **error);

G_END_DECLS
