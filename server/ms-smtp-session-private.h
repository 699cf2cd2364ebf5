/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-smtp-session.h"
#include "ms-session-trace.h"

G_BEGIN_DECLS

/* Limits from RFC 5321 §4.5.3.1, made roomier where real clients need it:
 * RFC 4954 §4 lets an AUTH line reach 12288 octets. */
#define MS_SMTP_MAX_COMMAND_LINE 12288
#define MS_SMTP_MAX_DATA_LINE    65536
#define MS_SMTP_MAX_ADDRESS      256
#define MS_SMTP_DEFAULT_MAX_SIZE (10 * 1024 * 1024)

typedef enum {
  MS_SMTP_AUTH_NONE,
  MS_SMTP_AUTH_PLAIN,          /* waiting for the PLAIN response */
  MS_SMTP_AUTH_LOGIN_USER,     /* waiting for the base64 user name */
  MS_SMTP_AUTH_LOGIN_PASSWORD, /* waiting for the base64 password */
} MsSmtpAuthStep;

struct _MsSmtpSession {
  MsSmtpState state;
  MsSmtpPortKind port_kind;
  char *hostname;
  char *peer;
  MsSessionTrace trace;
  gboolean tls_available;
  gboolean tls_active;
  gboolean extended;           /* EHLO rather than HELO */
  gsize max_message_size;
  guint max_recipients;
  guint max_bad_commands;
  guint bad_commands;

  const MsSmtpBackend *backend; /* borrowed */
  gpointer backend_data;        /* borrowed */
  const MsSmtpOutput *output;   /* borrowed */
  gpointer output_data;         /* borrowed */

  MsSmtpEnvelope envelope;
  MsSmtpAuthStep auth_step;
  char *auth_login_user;

  /* DATA: the message as it arrives, unstuffed, CRLF endings. */
  GString *message;
  gboolean message_too_big;
  gboolean message_bare_lf;
  gboolean message_line_too_long;
  gboolean last_line_bare_lf;  /* the line before this one ended in a bare LF */
  guint message_id_counter;
};

typedef void (*MsSmtpHandler) (MsSmtpSession *session, const char *args);

typedef struct {
  const char *verb;
  MsSmtpHandler handler;
  guint allowed_states;        /* bit mask of 1 << MsSmtpState */
  const char *order_error;     /* the 503 text when the state is wrong */
} MsSmtpCommand;

#define MS_SMTP_STATE_BIT(s) (1u << (s))

/* ms-smtp-commands.c */
const MsSmtpCommand *_ms_smtp_lookup_command (const char *verb);
void _ms_smtp_auth_continue (MsSmtpSession *session, const char *line);
void _ms_smtp_data_finish (MsSmtpSession *session);

/* ms-smtp-session.c */
void _ms_smtp_set_state (MsSmtpSession *session, MsSmtpState state);
void _ms_smtp_reply (MsSmtpSession *session, int code, const char *enhanced,
                     const char *format, ...) G_GNUC_PRINTF (4, 5);
/* A multi-line reply (RFC 5321 §4.2.1): `lines` is NULL-terminated. */
void _ms_smtp_reply_lines (MsSmtpSession *session, int code, const char * const *lines);
/* Counts a bad command; after max_bad_commands sends 421 and closes. */
void _ms_smtp_bad_command (MsSmtpSession *session, int code, const char *enhanced,
                           const char *text);
void _ms_smtp_reset_transaction (MsSmtpSession *session);
void _ms_smtp_close (MsSmtpSession *session);
void _ms_smtp_trace_auth (MsSmtpSession *session, const char *mechanism, const char *user,
                          gboolean success);

G_END_DECLS
