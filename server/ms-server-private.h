/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "ms-conn.h"
#include "ms-server.h"
#include "ms-session-output.h"

G_BEGIN_DECLS

typedef struct _MsServerConnection MsServerConnection;

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
  /* The last line the session sent asked for more (SMTP 334, POP3/IMAP
   * "+ "): the next input line belongs to the current command (an AUTH
   * response, the rest of an IMAP command), so the gate lets it pass. */
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
/* A new event for `connection`'s session, with `session` and `proto` set. */
MsEvent *_ms_server_connection_event (MsServerConnection *connection, MsEventKind kind);

G_END_DECLS
