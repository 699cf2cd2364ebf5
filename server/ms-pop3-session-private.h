/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-pop3-session.h"
#include "ms-session-trace.h"

G_BEGIN_DECLS

/* RFC 2449 §4: a command line is at most 255 octets with its CRLF. An AUTH
 * line and the lines of an AUTH exchange may be longer (RFC 5034 §4 lets a
 * client send a long response after an empty challenge), so MsConn reads up
 * to MS_POP3_MAX_AUTH_LINE and the session applies the tighter limit to
 * every other command. */
#define MS_POP3_MAX_COMMAND_LINE 253
#define MS_POP3_MAX_AUTH_LINE    1024
/* RFC 1939 §7: a unique-id is 1 to 70 characters. */
#define MS_POP3_MAX_UIDL         70
/* The longest hold after a failed login, however many failures. */
#define MS_POP3_MAX_FAILED_LOGIN_DELAY_MS 8000

typedef enum {
  MS_POP3_AUTH_NONE,
  MS_POP3_AUTH_PLAIN,          /* "+ " sent, waiting for the PLAIN response */
} MsPop3AuthStep;

struct _MsPop3Session {
  MsPop3State state;
  char *hostname;
  MsSessionTrace trace;
  char *apop_timestamp;        /* NULL unless the greeting offered APOP */
  gboolean tls_available;
  gboolean tls_active;
  guint expire_days;
  guint login_delay_s;
  guint max_bad_commands;
  guint bad_commands;
  guint max_failed_logins;
  guint failed_logins;
  guint failed_login_delay_ms;

  const MsPop3Backend *backend; /* borrowed */
  gpointer backend_data;        /* borrowed */
  const MsPop3Output *output;   /* borrowed */
  gpointer output_data;         /* borrowed */

  char *user_given;            /* USER's argument, waiting for PASS */
  MsPop3AuthStep auth_step;

  /* TRANSACTION: the maildrop as it was at login (RFC 1939 §5: message
   * numbers stay fixed for the session), and which are marked deleted. */
  char *user;                  /* canonical; non-NULL while the maildrop is open */
  GPtrArray *messages;         /* of MsPop3Message */
  gboolean *deleted;           /* one per message */
};

typedef void (*MsPop3Handler) (MsPop3Session *session, const char *args);

typedef struct {
  const char *verb;
  MsPop3Handler handler;
  guint allowed_states;        /* bit mask of 1 << MsPop3State */
} MsPop3Command;

#define MS_POP3_STATE_BIT(s) (1u << (s))

/* ms-pop3-commands.c */
const MsPop3Command *_ms_pop3_lookup_command (const char *verb);
void _ms_pop3_auth_continue (MsPop3Session *session, const char *line);

/* ms-pop3-session.c */
void _ms_pop3_set_state (MsPop3Session *session, MsPop3State state);
/* A one-line reply: "+OK text", "-ERR text", or "+ text" for a SASL
 * challenge. `status` is "+OK", "-ERR" or "+". */
void _ms_pop3_reply (MsPop3Session *session, const char *status, const char *format, ...)
  G_GNUC_PRINTF (3, 4);
/* "-ERR [CODE] text" with an RFC 2449 §8 / RFC 3206 response code. */
void _ms_pop3_reply_code (MsPop3Session *session, const char *resp_code, const char *format,
                          ...) G_GNUC_PRINTF (3, 4);
/* A multi-line "+OK" reply (RFC 1939 §3): `first` and then `lines` (each
 * dot-stuffed here), ended by ".". `lines` is NULL-terminated. */
void _ms_pop3_reply_lines (MsPop3Session *session, const char *first,
                           const char * const *lines);
/* "+OK first", then the message text with CRLF line ends and dot-stuffing,
 * then "."; a `data` event carries the text. With `body_lines` >= 0 only the
 * header and that many body lines are sent (TOP). */
void _ms_pop3_send_message (MsPop3Session *session, const char *verb, guint number,
                            GBytes *bytes, gint64 body_lines);
/* Counts a bad command and replies; after max_bad_commands closes. */
void _ms_pop3_bad_command (MsPop3Session *session, const char *format, ...)
  G_GNUC_PRINTF (2, 3);
void _ms_pop3_close (MsPop3Session *session);
void _ms_pop3_trace_auth (MsPop3Session *session, const char *mechanism, const char *user,
                          gboolean success);
/* Undoes the marks (when `unmark`) and releases the maildrop lock. */
void _ms_pop3_release_maildrop (MsPop3Session *session, gboolean unmark);

G_END_DECLS
