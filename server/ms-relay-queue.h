/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "ms-trace-bus.h"

G_BEGIN_DECLS

/* MsRelayQueue: the outbound queue of one SMTP server. Mail for another
 * domain is written to disk, then delivered with the SMTP client
 * (ms-smtp-sender.h) to the host that the routing table names for the
 * domain (a stand-in for the MX lookup of RFC 5321 §5.1). Temporary failures
 * are retried with backoff (RFC 5321 §4.5.4.1); permanent failures, and
 * recipients still failing after the last retry, are returned to the sender
 * in a delivery status notification (RFC 3464) sent with the null reverse
 * path (RFC 5321 §4.5.5). Every step is a `relay` trace event.
 *
 * It runs on the thread-default main context of the thread that created it,
 * with no threads of its own. The on-disk format is described at the top of
 * ms-relay-queue.c. */
typedef struct _MsRelayQueue MsRelayQueue;

/* Delivers `message` (`len` bytes, CRLF line ends) to the local mailbox of
 * `address`. Returns FALSE with `error` set when it could not. Used for
 * bounces to senders in our own domains. */
typedef gboolean (*MsRelayDeliverLocalFunc) (gpointer    data,
                                             const char *address,
                                             const char *message,
                                             gsize       len,
                                             GError    **error);

/* The retry intervals used when MsRelayQueueConfig.retry_intervals_s is NULL. */
#define MS_RELAY_QUEUE_DEFAULT_RETRY_INTERVALS { 5, 30, 120, 600, 1800 }
/* At most this many deliveries are in flight at once. */
#define MS_RELAY_QUEUE_MAX_CONCURRENT 8

typedef struct {
  const char *queue_dir;          /* created if missing */
  const char *hostname;           /* our domain: HELO name, Reporting-MTA, MAILER-DAEMON@hostname */
  MsTraceBus *bus;                /* nullable: where `relay` events go */
  const char *server_name;        /* the `server` of the events; NULL = hostname */
  /* Seconds to wait before retry 1, 2, ... after a temporary failure. After
   * the attempt that follows the last interval, the remaining recipients
   * are bounced with 4.4.7. NULL = MS_RELAY_QUEUE_DEFAULT_RETRY_INTERVALS.
   * An interval of 0 retries at once; n_retry_intervals 0 means no retry. */
  const guint *retry_intervals_s;
  guint n_retry_intervals;
  /* TRUE when `domain` (lower case) is one of ours. Nullable: no local domains. */
  gboolean (*is_local_domain) (gpointer data, const char *domain);
  /* Nullable: bounces to local senders are then dropped with a warning. */
  MsRelayDeliverLocalFunc deliver_local;
  gpointer local_data;            /* passed to both callbacks; borrowed */
} MsRelayQueueConfig;

/* Copies `config` (strings and intervals). Creates the queue directory if
 * missing, removes incomplete entries left by a crash, loads the others and
 * schedules them at once (resume after a restart), keeping their attempt
 * counts. Returns NULL with `error` set when the directory cannot be made
 * or read. */
MsRelayQueue *ms_relay_queue_new (const MsRelayQueueConfig *config,
                                  GError                  **error);

/* Cancels deliveries in flight (their entries stay on disk and are resumed
 * by the next queue on the same directory) and frees the queue. NULL is
 * ignored. */
void ms_relay_queue_free (MsRelayQueue *q);

/* Routes mail for `domain` (case-insensitive) to host:port, replacing an
 * earlier route for it. Entries waiting for that domain are not hurried. */
void ms_relay_queue_add_route (MsRelayQueue *q,
                               const char   *domain,
                               const char   *host,
                               guint16       port);

/* TRUE when ms_relay_queue_add_route() was called for `domain`. */
gboolean ms_relay_queue_has_route (MsRelayQueue *q,
                                   const char   *domain);

/* Queues `message` (`len` bytes, CRLF line ends) from `mail_from` (without
 * angle brackets; "" for the null reverse path) to `rcpt_to` (NULL-terminated,
 * at least one address of the form local@domain). Recipients are grouped by
 * domain: one queue entry per destination domain, each delivered in one SMTP
 * transaction (RFC 5321 §4.5.4.1). Returns TRUE only once every entry is on
 * disk and fsynced, so the caller may answer 250 (RFC 5321 §6.1). On failure
 * returns FALSE with `error` set (G_IO_ERROR_INVALID_ARGUMENT for an address
 * without a domain, a GFileError for the disk) and leaves nothing queued.
 * Delivery starts from the main loop, never inside this call. */
gboolean ms_relay_queue_enqueue (MsRelayQueue       *q,
                                 const char         *mail_from,
                                 const char * const *rcpt_to,
                                 const char         *message,
                                 gsize               len,
                                 GError            **error);

/* Returns the message `message` (`len` bytes) to `mail_from` as a delivery
 * status notification (RFC 3464) saying that `rcpt` failed with `status`
 * (an RFC 3463 code such as "5.1.1"), `diagnostic` (the remote reply, such
 * as "550 5.1.1 No such user", or our own explanation; nullable) and
 * `remote_mta` (the host that refused it; nullable). The DSN goes through
 * deliver_local when the sender's domain is local, and is queued with the
 * null reverse path otherwise. When `mail_from` is "" nothing is sent: a
 * bounce is never bounced (RFC 5321 §4.5.5, §6.1); the drop is logged and
 * traced. Failures to send are logged, never returned. */
void ms_relay_queue_bounce (MsRelayQueue *q,
                            const char   *mail_from,
                            const char   *rcpt,
                            const char   *status,
                            const char   *diagnostic,
                            const char   *remote_mta,
                            const char   *message,
                            gsize         len);

/* The number of entries (one per message and destination domain) on the
 * queue, in flight or waiting. */
guint ms_relay_queue_get_length (MsRelayQueue *q);

/* Tries every waiting entry now, ignoring its backoff (entries in flight
 * are left alone; at most MS_RELAY_QUEUE_MAX_CONCURRENT run at once, the
 * rest follow as those finish). Attempts still count toward the limit. */
void ms_relay_queue_flush (MsRelayQueue *q);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsRelayQueue, ms_relay_queue_free)

G_END_DECLS
