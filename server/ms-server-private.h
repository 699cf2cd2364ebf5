/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-conn.h"
#include "ms-server.h"
#include "ms-session-output.h"

G_BEGIN_DECLS

typedef struct _MsServerConnection MsServerConnection;

/* A reply's status, as reply breakpoints see it (ms_server_add_reply_breakpoint ()). */
typedef struct {
  const char *status;         /* borrowed from the reply: "550", "-ERR", "NO" */
  gsize status_len;
  const char *line;           /* borrowed: the line that carries it, without CRLF */
  gsize line_len;
} MsReplyStatus;

/* What MsServer needs from a protocol to run its sessions over MsConn.
 * Each protocol's glue (ms-server-smtp.c, ...) provides one. */
typedef struct {
  const char *proto;                      /* "smtp", "pop3": the trace's `proto` */
  gsize max_line;                         /* the line limit before the session says otherwise */
  const char *busy_reply;                 /* the refusal when the server is full, without CRLF */
  gpointer (*session_new) (MsServerConnection *connection);
  void (*session_free) (gpointer session);
  void (*start) (gpointer session);       /* the greeting */
  void (*feed_line) (gpointer session, const char *line, gsize len, MsLineFlags flags);
  /* Raw bytes the session asked for with MsSessionOutput.read_bytes; only
   * protocols that ask need it (IMAP literals). */
  void (*feed_bytes) (gpointer session, const guint8 *data, gsize len, gboolean last);
  void (*tls_done) (gpointer session, gboolean ok);
  void (*timeout) (gpointer session);
  void (*shutdown) (gpointer session);
  const char *(*state_name) (gpointer session);
  /* TRUE when the next line starts a command (the step gate holds only
   * those: not a message's lines, not an answer to a continuation). */
  gboolean (*awaits_command) (gpointer session);
  /* The status of the reply in `data`, what one MsSessionOutput.send
   * carries: an SMTP final line's code ("550", not "550-"), POP3's "+OK" or
   * "-ERR", an IMAP tagged status ("OK", "NO", "BAD"; not "* NO"). FALSE
   * when it has none (message lines, continuations, untagged responses). */
  gboolean (*reply_status) (const char *data, gsize len, MsReplyStatus *status_r);
} MsProtocolOps;

struct _MsServerConnection {
  MsServer *server;           /* borrowed: the server outlives its connections */
  MsListenerKind kind;
  const MsProtocolOps *ops;
  MsConn *conn;
  gpointer session;
  char *session_id;
  GString *held_output;       /* non-NULL while MsSessionOutput.hold is in force */
  gboolean close_requested;   /* MsSessionOutput.close was called */
  guint hold_source;
  /* The step gate (DESIGN.md "Step mode"): while `step_mode` is set, each
   * command line waits in `step_line` until ms_server_step() or
   * ms_server_continue(), with input paused, so at most one line waits. */
  gboolean step_mode;
  char *step_line;            /* NULL when no command is pending */
  gsize step_len;
  MsLineFlags step_flags;
};

typedef struct {
  MsServer *server;           /* borrowed */
  MsListenerKind kind;
  GSocketService *service;
  guint16 port;
} MsServerListener;

struct _MsServer {
  char *domain;
  char *data_dir;
  char *listen_address;
  guint requested_ports[MS_N_LISTENERS];
  gsize max_message_size;
  guint max_connections;
  guint idle_timeout_s;
  guint pop3_idle_timeout_s;
  guint pop3_expire_days;
  guint pop3_login_delay_s;
  guint imap_idle_timeout_s;
  gboolean imap_login_needs_tls;

  MsTraceBus *bus;            /* owned ref; may be NULL */
  MsStore *store;
  MsAuth *auth;
  MsRelayQueue *relay_queue;
  SSL_CTX *tls_server_ctx;

  MsServerListener listeners[MS_N_LISTENERS];
  GHashTable *connections;    /* set of MsServerConnection * (owned) */
  GPtrArray *awaiting_sync;   /* of MsServerConnection * (borrowed), held until the store syncs */
  guint sync_source;
  /* POP3 (ms-server-pop3.c): the users whose maildrop a session holds
   * (RFC 1939 §8), and when each user last logged in (LOGIN-DELAY). */
  GHashTable *pop3_locks;     /* set of char * user */
  GHashTable *pop3_last_login; /* char * user -> gint64 * monotonic microseconds */
  /* IMAP (ms-server-imap.c): per "user/folder", the UID below which every
   * message has been \Recent in some session (RFC 3501 §2.3.2); and the
   * folders that changed since the selecting sessions were last told. */
  GHashTable *imap_recent;     /* char * key -> GUINT_TO_POINTER (uid) */
  GHashTable *imap_changed;    /* set of char * key */
  guint imap_notify_source;
  /* Step mode (ms_server_set_step_mode () with session NULL): every session,
   * including those that open later, starts in step mode. */
  gboolean step_all;
  GPtrArray *breakpoints;     /* of char * upper-case verbs */
  GPtrArray *reply_breakpoints; /* of char *: "550", "5xx", "-ERR", "NO", "BAD" */
};

/* The output table every protocol's session is given; its data is the
 * MsServerConnection. */
extern const MsSessionOutput _ms_server_session_output;

/* ms-server-smtp.c */
extern const MsProtocolOps _ms_server_smtp_ops;

/* ms-server-pop3.c */
extern const MsProtocolOps _ms_server_pop3_ops;

/* ms-server-imap.c */
extern const MsProtocolOps _ms_server_imap_ops;
/* The store's change function (ms_store_set_change_func): tells the IMAP
 * sessions that have the folder selected, once the store call is over. */
void _ms_server_imap_store_changed (const char *user, const char *folder, gpointer server);
/* Drops the IMAP bookkeeping at ms_server_free(). */
void _ms_server_imap_clear (MsServer *server);

/* ms-server.c */
/* "alice@Alpha.test" -> "alice" and "Alpha.test"; FALSE without "@". */
gboolean _ms_server_split_address (const char *address, char **local_r, const char **domain_r);
gboolean _ms_server_is_local_domain (gpointer server, const char *domain);
/* Checks a login name ("alice" or "alice@our.domain") and its password. */
gboolean _ms_server_authenticate (MsServer *server, const char *user, const char *password);
/* "alice" or "alice@our.domain" -> "alice" (lower case); NULL for another domain. */
char *_ms_server_canonical_user (MsServer *server, const char *user);
/* _ms_server_authenticate(), and on success the canonical name in `user_r`. */
gboolean _ms_server_login (MsServer *server, const char *user, const char *password,
                           char **user_r);
/* Delivers to a local address's INBOX. */
gboolean _ms_server_deliver_local (gpointer server, const char *address, const char *message,
                                   gsize len, GError **error);
/* Holds `connection`'s replies (and input) until the store's unsynced
 * deliveries are fsynced by the next group commit; FALSE with `error` if a
 * sync done at once failed. */
gboolean _ms_server_hold_until_synced (MsServerConnection *connection, GError **error);
/* The length of the first line of `data`, without its CRLF (or LF). */
gsize _ms_server_line_length (const char *data, gsize len);
/* For MsProtocolOps.reply_status: TRUE, with `status_r` filled, when the
 * first line of `data` has one of `words` (NULL-terminated; matched with
 * case) at offset `at`, followed by a space or the end of the line. */
gboolean _ms_server_reply_word (const char *data, gsize len, gsize at,
                                const char * const *words, MsReplyStatus *status_r);
/* A new event for `connection`'s session, with `session` and `proto` set. */
MsEvent *_ms_server_connection_event (MsServerConnection *connection, MsEventKind kind);

G_END_DECLS
