/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "imap-load"

#include "config.h"

/* utimensat() and freeaddrinfo() are POSIX, hidden by -std=c17 unless
 * asked for. */
#define _GNU_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "bench-net.h"

/* imap-load: an IMAP4rev1 (RFC 3501) load generator for benchmarks.
 *
 * One thread, one poll() loop over C non-blocking sockets (as pop3-load),
 * so that on a small machine it takes little CPU from the server it
 * measures. Each client goes round a loop, one command at a time (no
 * pipelining), on a new connection each time:
 *
 *   LOGIN, SELECT INBOX,
 *   FETCH m:m+49 (UID FLAGS BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE)]),
 *   STORE a,b,c +FLAGS (\Seen), STORE a,b,c -FLAGS (\Seen),
 *   SEARCH UNSEEN, SEARCH FROM "someone", LOGOUT
 *
 * (--mix select: LOGIN, SELECT INBOX, LOGOUT, to time SELECT alone). The
 * messages STOREd are unseen ones of the range just fetched, so the pair
 * leaves the mailbox as it found it and the load can be run again.
 *
 * Every response is checked, not only the tagged status: SELECT must give
 * EXISTS, FETCH one response with a header literal per message of the
 * range, each STORE one FETCH FLAGS per message with \Seen set and then
 * cleared, LOGOUT a BYE (RFC 3501 section 6.1.3), and each SEARCH the same
 * number of matches every time the client asks (the mailbox does not change
 * between loops).
 *
 * With --fill-maildir it instead writes a mailbox of varied 2-4 KiB messages
 * straight into a Maildir, so that a benchmark can give any server the same
 * mailbox without going through SMTP or APPEND. */

#define INPUT_BUFFER_SIZE 65536
/* A response line with its literals left out; SEARCH UNSEEN of a large
 * mailbox is one long line (RFC 3501 section 7.2.5). */
#define MAX_RESPONSE_LINE (8 * 1024 * 1024)
/* The part of a FETCH literal kept to check what it holds. */
#define MAX_LITERAL_KEPT 4096
#define MAX_LITERAL (64 * 1024 * 1024)
#define MAX_CLIENTS 1000
#define MAX_FETCH_COUNT 1000
#define MAX_STORE_COUNT 16
#define MAX_ERRORS_SHOWN 10
#define MESSAGE_MIN_SIZE 2048
#define MESSAGE_MAX_SIZE 4096
/* RFC 5322 section 2.1.1: lines should be no longer than 78 characters. */
#define BODY_LINE_LENGTH 72
/* One message in SOMEONE_EVERY is from the sender SEARCH FROM looks for. */
#define SOMEONE_EVERY 40

typedef enum {
  OP_CONNECT,                   /* connect() to the greeting: not a command */
  OP_LOGIN,
  OP_SELECT,
  OP_FETCH,
  OP_STORE,                     /* +FLAGS and -FLAGS alike */
  OP_SEARCH_UNSEEN,
  OP_SEARCH_FROM,
  OP_LOGOUT,
  N_OPS
} Op;

static const char *const op_names[N_OPS] = {
  [OP_CONNECT] = "connect",
  [OP_LOGIN] = "LOGIN",
  [OP_SELECT] = "SELECT",
  [OP_FETCH] = "FETCH",
  [OP_STORE] = "STORE",
  [OP_SEARCH_UNSEEN] = "SEARCH UNSEEN",
  [OP_SEARCH_FROM] = "SEARCH FROM",
  [OP_LOGOUT] = "LOGOUT",
};

/* The names in the RESULT line. */
static const char *const op_keys[N_OPS] = {
  [OP_CONNECT] = "connect",
  [OP_LOGIN] = "login",
  [OP_SELECT] = "select",
  [OP_FETCH] = "fetch",
  [OP_STORE] = "store",
  [OP_SEARCH_UNSEEN] = "search_unseen",
  [OP_SEARCH_FROM] = "search_from",
  [OP_LOGOUT] = "logout",
};

typedef enum {
  STEP_LOGIN,
  STEP_SELECT,
  STEP_FETCH,
  STEP_STORE_ADD,
  STEP_STORE_REMOVE,
  STEP_SEARCH_UNSEEN,
  STEP_SEARCH_FROM,
  STEP_LOGOUT,
} Step;

static const Op step_ops[] = {
  [STEP_LOGIN] = OP_LOGIN,
  [STEP_SELECT] = OP_SELECT,
  [STEP_FETCH] = OP_FETCH,
  [STEP_STORE_ADD] = OP_STORE,
  [STEP_STORE_REMOVE] = OP_STORE,
  [STEP_SEARCH_UNSEEN] = OP_SEARCH_UNSEEN,
  [STEP_SEARCH_FROM] = OP_SEARCH_FROM,
  [STEP_LOGOUT] = OP_LOGOUT,
};

static const Step full_plan[] = {
  STEP_LOGIN, STEP_SELECT, STEP_FETCH, STEP_STORE_ADD, STEP_STORE_REMOVE,
  STEP_SEARCH_UNSEEN, STEP_SEARCH_FROM, STEP_LOGOUT,
};

static const Step select_plan[] = { STEP_LOGIN, STEP_SELECT, STEP_LOGOUT };

typedef enum {
  CLIENT_STATE_CONNECTING,
  CLIENT_STATE_GREETING,
  CLIENT_STATE_COMMAND,         /* a command is in flight */
  CLIENT_STATE_CLOSED,
} ClientState;

typedef struct _Load Load;

typedef struct {
  BenchConn net;                /* first: the socket, its output */
  Load *load;                   /* borrowed */
  guint index;
  char *user;
  guint connection;             /* counts connects: a new one may reuse the fd number */
  ClientState state;
  GRand *rand;

  char in[INPUT_BUFFER_SIZE];
  gsize in_len;
  GString *line;                /* the response line so far, literals left out */
  guint64 literal_left;         /* octets of a literal still to come */
  guint line_literals;          /* literals in this response line */
  GString *literal;             /* the start of the line's first literal */

  guint plan_pos;               /* in load->plan */
  Op op;
  char tag[16];
  guint tag_counter;
  gint64 connect_us;
  gint64 sent_us;
  guint loops;

  /* What the responses to the command in flight said. */
  guint exists;                 /* SELECT's EXISTS */
  guint range_first;            /* the FETCH range */
  guint range_last;
  guint8 *seen_in_range;        /* per message of the range: 0 none, 1 FETCH, 2 with \Seen */
  guint targets[MAX_STORE_COUNT];
  guint n_targets;
  guint target_answers;         /* bit per target that got its FETCH FLAGS */
  gboolean target_flags_wrong;
  guint search_matches;
  gboolean bye;
  /* The first SEARCH answers; later ones must be the same. -1: none yet. */
  gint unseen_baseline;
  gint from_baseline;
} Client;

struct _Load {
  /* options */
  char *server;
  guint n_clients;
  char *user;
  char *users_from;
  char *password;
  char *search_from;
  guint duration_s;             /* no new loop after this; 0: no limit */
  guint max_loops;              /* per client; 0: no limit */
  guint fetch_count;
  guint store_count;
  gint expect_messages;         /* -1: anything */
  guint timeout_s;
  guint seed;
  gboolean verbose;
  gboolean shared_mailbox;      /* several clients on one user: counts move */
  const Step *plan;
  guint plan_len;
  const char *mix;

  struct addrinfo *address;
  Client *clients;

  GArray *latencies_us[N_OPS];
  guint refused[N_OPS];         /* NO or BAD */
  guint check_failures;         /* a response that is not what it should be */
  guint failed_clients;
  guint loops;
  guint commands;
  guint stores_skipped;         /* loops whose FETCH range had nothing unseen */
  guint errors_shown;
  guint first_exists;
  gint64 start_us;
  gint64 end_us;
};

static void client_fail (Client *client, const char *format, ...) G_GNUC_PRINTF (2, 3);
static void client_check_failed (Client *client, const char *format, ...) G_GNUC_PRINTF (2, 3);
static void client_connect (Client *client);

/* "bench1..bench20": one user per client, in order. */
static char **
expand_user_range (const char *range,
                   guint n_clients,
                   GError **error)
{
  g_autofree char *prefix = NULL;
  guint first_number, last_number;

  if (!bench_parse_user_range (range, &prefix, &first_number, &last_number) ||
      last_number < first_number)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--users-from needs PREFIX<first>..PREFIX<last> (bench1..bench20), not \"%s\"",
                   range);
      return NULL;
    }
  /* One mailbox per client: with two on one user, each would see the
   * other's STOREs and the counts this program checks would move. */
  if (last_number - first_number + 1 < n_clients)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--users-from %s names %u users, fewer than the %u clients",
                   range, last_number - first_number + 1, n_clients);
      return NULL;
    }
  return bench_user_names (prefix, first_number, n_clients);
}

/* RFC 3501 section 4.3: a quoted string escapes '"' and '\'. The options
 * are the user's own, so anything else (CR, LF, 8-bit) is refused earlier. */
static void
append_quoted (GString *out,
               const char *text)
{
  g_string_append_c (out, '"');
  for (const char *p = text; *p != '\0'; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_c (out, '\\');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

static gboolean
is_quotable (const char *text)
{
  for (const guchar *p = (const guchar *) text; *p != '\0'; p++)
    if (*p < 0x20 || *p >= 0x7f)
      return FALSE;
  return TRUE;
}

static void
client_close (gpointer conn)
{
  Client *client = conn;

  bench_conn_close (&client->net);
  client->state = CLIENT_STATE_CLOSED;
}

static const char *
client_where (Client *client)
{
  if (client->state == CLIENT_STATE_COMMAND)
    return op_names[client->op];
  if (client->state == CLIENT_STATE_GREETING || client->state == CLIENT_STATE_CONNECTING)
    return "connect";
  return "closed";
}

/* The client cannot go on: counted as failed and closed for good. */
static void
client_fail (Client *client,
             const char *format,
             ...)
{
  va_list args;
  g_autofree char *reason = NULL;

  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("imap-load: client %u (%s, %s): %s\n", client->index, client->user,
              client_where (client), reason);
  client->load->failed_clients++;
  client_close (client);
}

/* One response was wrong; the client goes on. */
static void
client_check_failed (Client *client,
                     const char *format,
                     ...)
{
  Load *load = client->load;
  va_list args;
  g_autofree char *reason = NULL;

  load->check_failures++;
  if (load->errors_shown >= MAX_ERRORS_SHOWN)
    return;
  va_start (args, format);
  reason = g_strdup_vprintf (format, args);
  va_end (args);
  load->errors_shown++;
  g_printerr ("imap-load: client %u (%s, %s): %s%s\n", client->index, client->user,
              client_where (client), reason,
              load->errors_shown == MAX_ERRORS_SHOWN ? " (further errors not shown)" : "");
}

static gboolean
client_may_start_loop (Client *client)
{
  Load *load = client->load;

  if (load->max_loops > 0 && client->loops >= load->max_loops)
    return FALSE;
  if (load->duration_s > 0 &&
      g_get_monotonic_time () - load->start_us >= (gint64) load->duration_s * G_USEC_PER_SEC)
    return FALSE;
  return TRUE;
}

/* Picks the STORE targets: up to --store-count messages of the FETCH range
 * that were not \Seen, so that +FLAGS then -FLAGS restores them. */
static void
client_pick_targets (Client *client)
{
  Load *load = client->load;
  guint range = client->range_last - client->range_first + 1;
  g_autofree guint *unseen = g_new (guint, range);
  guint n_unseen = 0;

  for (guint i = 0; i < range; i++)
    if (client->seen_in_range[i] == 1)
      unseen[n_unseen++] = client->range_first + i;
  client->n_targets = 0;
  /* A partial Fisher-Yates shuffle; the targets go out in ascending order,
   * as a client would write a sequence set. */
  for (guint i = 0; i < n_unseen && client->n_targets < load->store_count; i++)
    {
      guint j = i + g_rand_int_range (client->rand, 0, (gint32) (n_unseen - i));
      guint swap = unseen[i];

      unseen[i] = unseen[j];
      unseen[j] = swap;
      client->targets[client->n_targets++] = unseen[i];
    }
  for (guint i = 1; i < client->n_targets; i++)
    for (guint j = i; j > 0 && client->targets[j - 1] > client->targets[j]; j--)
      {
        guint swap = client->targets[j];

        client->targets[j] = client->targets[j - 1];
        client->targets[j - 1] = swap;
      }
}

/* Sends the command of the current step of the plan. */
static void
client_send_step (Client *client)
{
  Load *load = client->load;
  Step step = load->plan[client->plan_pos];
  GString *out = client->net.out;

  client->op = step_ops[step];
  g_snprintf (client->tag, sizeof client->tag, "a%04u", ++client->tag_counter % 10000);
  g_string_append_printf (out, "%s ", client->tag);
  switch (step)
    {
    case STEP_LOGIN:
      /* RFC 3501 section 6.2.3. */
      g_string_append (out, "LOGIN ");
      append_quoted (out, client->user);
      g_string_append_c (out, ' ');
      append_quoted (out, load->password);
      break;

    case STEP_SELECT:
      /* RFC 3501 section 6.3.1. */
      client->exists = 0;
      g_string_append (out, "SELECT INBOX");
      break;

    case STEP_FETCH:
      {
        /* RFC 3501 section 6.4.5: a random range of --fetch-count
         * messages by sequence number, headers only, without setting
         * \Seen (BODY.PEEK). */
        guint count = MIN (load->fetch_count, client->exists);

        client->range_first = 1 + g_rand_int_range (client->rand, 0,
                                                     (gint32) (client->exists - count + 1));
        client->range_last = client->range_first + count - 1;
        memset (client->seen_in_range, 0, load->fetch_count);
        g_string_append_printf (out, "FETCH %u:%u (UID FLAGS BODY.PEEK[HEADER.FIELDS "
                                "(FROM SUBJECT DATE)])", client->range_first, client->range_last);
      }
      break;

    case STEP_STORE_ADD:
    case STEP_STORE_REMOVE:
      /* RFC 3501 section 6.4.6: not .SILENT, so the server answers with
       * each message's new flags, which are checked. */
      client->target_answers = 0;
      client->target_flags_wrong = FALSE;
      g_string_append (out, "STORE ");
      for (guint i = 0; i < client->n_targets; i++)
        g_string_append_printf (out, "%s%u", i > 0 ? "," : "", client->targets[i]);
      g_string_append_printf (out, " %cFLAGS (\\Seen)", step == STEP_STORE_ADD ? '+' : '-');
      break;

    case STEP_SEARCH_UNSEEN:
      /* RFC 3501 section 6.4.4. */
      client->search_matches = 0;
      g_string_append (out, "SEARCH UNSEEN");
      break;

    case STEP_SEARCH_FROM:
      client->search_matches = 0;
      g_string_append (out, "SEARCH FROM ");
      append_quoted (out, load->search_from);
      break;

    case STEP_LOGOUT:
      /* RFC 3501 section 6.1.3. */
      client->bye = FALSE;
      g_string_append (out, "LOGOUT");
      break;

    default:
      g_assert_not_reached ();
    }
  if (load->verbose)
    g_printerr ("imap-load: client %u -> %s\n", client->index,
                out->str + client->net.out_sent);
  g_string_append (out, "\r\n");
  client->state = CLIENT_STATE_COMMAND;
  client->sent_us = g_get_monotonic_time ();
}

/* Parses the decimal number at *text (at most 10 digits, no sign) and moves
 * *text past it. */
static gboolean
parse_number (const char **text,
              guint *number_r)
{
  guint64 value = 0;
  const char *p = *text;

  if (!g_ascii_isdigit (*p))
    return FALSE;
  while (g_ascii_isdigit (*p))
    {
      value = value * 10 + (guint64) (*p - '0');
      if (value > G_MAXUINT32)
        return FALSE;
      p++;
    }
  *text = p;
  *number_r = (guint) value;
  return TRUE;
}

/* The parenthesised flag list after "FLAGS " in a FETCH response (RFC 3501
 * section 7.4.2): whether it holds \Seen. FALSE in `valid_r` if there is
 * no list. */
static gboolean
fetch_has_seen (const char *text,
                gboolean *valid_r)
{
  const char *flags = strstr (text, "FLAGS (");
  const char *end;

  *valid_r = FALSE;
  if (flags == NULL)
    return FALSE;
  flags += strlen ("FLAGS (");
  end = strchr (flags, ')');
  if (end == NULL)
    return FALSE;
  *valid_r = TRUE;
  for (const char *p = flags; p + 5 <= end; p++)
    if (g_ascii_strncasecmp (p, "\\Seen", 5) == 0 && (p + 5 == end || p[5] == ' '))
      return TRUE;
  return FALSE;
}

static gboolean
literal_has_field (GString *literal,
                   const char *field)
{
  gsize len = strlen (field);

  for (gsize i = 0; i + len <= literal->len; i++)
    if ((i == 0 || literal->str[i - 1] == '\n') &&
        g_ascii_strncasecmp (literal->str + i, field, len) == 0)
      return TRUE;
  return FALSE;
}

/* "* N FETCH (...)" (RFC 3501 section 7.4.2), to a FETCH or a STORE. */
static void
client_handle_fetch (Client *client,
                     guint number,
                     const char *rest)
{
  Load *load = client->load;
  gboolean valid;
  gboolean seen = fetch_has_seen (rest, &valid);
  Step step = load->plan[client->plan_pos];

  if (step == STEP_FETCH)
    {
      /* Another session's change to a shared mailbox (RFC 3501 section
       * 7.4.2: flags may come unasked) is not an answer to ours. */
      if (number < client->range_first || number > client->range_last ||
          strstr (rest, "BODY[") == NULL)
        return;
      if (!valid || strstr (rest, "UID ") == NULL || client->line_literals == 0 ||
          !literal_has_field (client->literal, "Subject:") ||
          !literal_has_field (client->literal, "From:"))
        {
          client_check_failed (client, "FETCH response without UID, FLAGS or the header "
                               "fields: \"%.200s\"", client->line->str);
          return;
        }
      client->seen_in_range[number - client->range_first] = seen ? 2 : 1;
      return;
    }
  if (step == STEP_STORE_ADD || step == STEP_STORE_REMOVE)
    {
      for (guint i = 0; i < client->n_targets; i++)
        {
          if (client->targets[i] != number)
            continue;
          client->target_answers |= 1u << i;
          /* In a shared mailbox another client may have changed \Seen of
           * the same message in between. */
          if (!valid || (seen != (step == STEP_STORE_ADD) && !load->shared_mailbox))
            client->target_flags_wrong = TRUE;
        }
    }
}

/* "* SEARCH n n n ..." (RFC 3501 section 7.2.5). */
static void
client_handle_search (Client *client,
                      const char *rest)
{
  while (*rest == ' ')
    {
      guint number;

      rest++;
      if (!parse_number (&rest, &number) || number == 0)
        {
          client_check_failed (client, "bad SEARCH response");
          return;
        }
      client->search_matches++;
    }
  if (*rest != '\0')
    client_check_failed (client, "bad SEARCH response");
}

static void
client_handle_untagged (Client *client,
                        const char *line)
{
  const char *rest = line + 2;
  guint number;

  if (parse_number (&rest, &number))
    {
      if (g_str_equal (rest, " EXISTS"))
        client->exists = number;
      else if (g_str_has_prefix (rest, " FETCH ("))
        client_handle_fetch (client, number, rest + strlen (" FETCH "));
      return;
    }
  if (g_str_has_prefix (rest, "SEARCH") && (rest[6] == '\0' || rest[6] == ' '))
    client_handle_search (client, rest + 6);
  else if (g_str_has_prefix (rest, "BYE"))
    {
      if (client->op == OP_LOGOUT)
        client->bye = TRUE;
      else
        client_fail (client, "the server said goodbye: %s", line);
    }
}

/* A SEARCH count must be the same every time: the loop leaves the mailbox
 * as it found it. */
static void
check_search_baseline (Client *client,
                       gint *baseline)
{
  if (client->load->shared_mailbox)
    return;
  if (*baseline < 0)
    *baseline = (gint) client->search_matches;
  else if ((guint) *baseline != client->search_matches)
    client_check_failed (client, "%u matches, %d the first time", client->search_matches,
                         *baseline);
}

/* What the untagged responses of a completed command should have been. */
static void
client_check_responses (Client *client,
                        Step step)
{
  Load *load = client->load;

  switch (step)
    {
    case STEP_SELECT:
      if (load->first_exists == 0)
        load->first_exists = client->exists;
      break;

    case STEP_FETCH:
      for (guint i = 0; i <= client->range_last - client->range_first; i++)
        if (client->seen_in_range[i] == 0)
          {
            client_check_failed (client, "no FETCH response for message %u of %u:%u",
                                 client->range_first + i, client->range_first,
                                 client->range_last);
            break;
          }
      break;

    case STEP_STORE_ADD:
    case STEP_STORE_REMOVE:
      if (client->target_answers != (1u << client->n_targets) - 1 ||
          client->target_flags_wrong)
        client_check_failed (client, "STORE %cFLAGS (\\Seen) of %u messages: not every "
                             "message got a FETCH with the new flags",
                             step == STEP_STORE_ADD ? '+' : '-', client->n_targets);
      break;

    case STEP_SEARCH_UNSEEN:
      check_search_baseline (client, &client->unseen_baseline);
      break;

    case STEP_SEARCH_FROM:
      check_search_baseline (client, &client->from_baseline);
      break;

    case STEP_LOGOUT:
      if (!client->bye)
        client_check_failed (client, "no BYE before the tagged OK (RFC 3501 section 6.1.3)");
      break;

    case STEP_LOGIN:
    default:
      break;
    }
}

/* The tagged response to the command in flight. */
static void
client_handle_tagged (Client *client,
                      const char *status)
{
  Load *load = client->load;
  Step step = load->plan[client->plan_pos];
  gint64 latency = g_get_monotonic_time () - client->sent_us;
  gboolean ok = g_str_has_prefix (status, "OK");

  load->commands++;
  if (!ok)
    {
      load->refused[client->op]++;
      if (step == STEP_LOGIN || step == STEP_SELECT)
        {
          client_fail (client, "%s refused: %s", op_names[client->op], status);
          return;
        }
      client_check_failed (client, "refused: %s", status);
    }
  else
    {
      g_array_append_val (load->latencies_us[client->op], latency);
      client_check_responses (client, step);
    }

  if (step == STEP_SELECT)
    {
      if (client->exists == 0)
        {
          client_fail (client, "SELECT INBOX gave no EXISTS, or an empty mailbox");
          return;
        }
      if (load->expect_messages >= 0 && client->exists != (guint) load->expect_messages)
        {
          client_fail (client, "INBOX holds %u messages, not the %d expected", client->exists,
                       load->expect_messages);
          return;
        }
    }
  if (step == STEP_LOGOUT)
    {
      client_close (client);
      client->loops++;
      load->loops++;
      if (client_may_start_loop (client))
        client_connect (client);
      return;
    }
  client->plan_pos++;
  if (step == STEP_FETCH && load->plan[client->plan_pos] == STEP_STORE_ADD)
    {
      client_pick_targets (client);
      /* Nothing unseen in the range (or the FETCH failed): no STORE this
       * time, since +FLAGS then -FLAGS on a seen message would leave it
       * unseen and change the mailbox for the loops that follow. */
      if (client->n_targets == 0)
        {
          load->stores_skipped++;
          client->plan_pos += 2;
        }
    }
  client_send_step (client);
}

/* One whole response line, its literals left out. */
static void
client_handle_line (Client *client)
{
  Load *load = client->load;
  const char *line = client->line->str;
  gsize tag_len = strlen (client->tag);

  if (load->verbose)
    g_printerr ("imap-load: client %u <- %.300s\n", client->index, line);
  if (client->state == CLIENT_STATE_GREETING)
    {
      /* RFC 3501 section 7.1: "* OK" to log in, "* PREAUTH" or "* BYE" not. */
      gint64 latency = g_get_monotonic_time () - client->connect_us;

      if (!g_str_has_prefix (line, "* OK"))
        {
          client_fail (client, "greeting refused: %s", line);
          return;
        }
      g_array_append_val (load->latencies_us[OP_CONNECT], latency);
      client->plan_pos = 0;
      client_send_step (client);
      return;
    }
  if (g_str_has_prefix (line, "* "))
    client_handle_untagged (client, line);
  else if (strncmp (line, client->tag, tag_len) == 0 && line[tag_len] == ' ')
    client_handle_tagged (client, line + tag_len + 1);
  else
    client_fail (client, "unexpected response \"%.200s\"", line);
}

/* If the line so far ends in a literal's "{N}" (RFC 3501 section 4.3), the
 * literal's size; otherwise -1. */
static gint64
line_literal_size (GString *line)
{
  gsize end = line->len;
  gsize start;
  guint number;
  const char *p;

  if (end < 3 || line->str[end - 1] != '}')
    return -1;
  start = end - 1;
  while (start > 0 && line->str[start - 1] != '{')
    start--;
  if (start == 0)
    return -1;
  p = line->str + start;
  if (!parse_number (&p, &number) || (*p != '}' && !(p[0] == '+' && p[1] == '}')))
    return -1;
  return number;
}

/* Works through the input: response lines and the literals inside them. */
static void
client_process_input (Client *client)
{
  guint connection = client->connection;
  gsize pos = 0;

  while (client->state != CLIENT_STATE_CLOSED && pos < client->in_len)
    {
      const char *data = client->in + pos;
      gsize available = client->in_len - pos;
      const char *lf;
      gsize segment;
      gint64 literal;

      if (client->literal_left > 0)
        {
          gsize take = (gsize) MIN ((guint64) available, client->literal_left);

          if (client->line_literals == 1 && client->literal->len < MAX_LITERAL_KEPT)
            g_string_append_len (client->literal, data,
                                 MIN (take, MAX_LITERAL_KEPT - client->literal->len));
          client->literal_left -= take;
          pos += take;
          continue;
        }
      lf = memchr (data, '\n', available);
      segment = lf != NULL ? (gsize) (lf - data) : available;
      if (client->line->len + segment > MAX_RESPONSE_LINE)
        {
          client_fail (client, "response line longer than %d octets", MAX_RESPONSE_LINE);
          return;
        }
      g_string_append_len (client->line, data, segment);
      pos += segment;
      if (lf == NULL)
        break;
      pos++;
      if (client->line->len > 0 && client->line->str[client->line->len - 1] == '\r')
        g_string_truncate (client->line, client->line->len - 1);

      literal = line_literal_size (client->line);
      if (literal > MAX_LITERAL)
        {
          client_fail (client, "literal of %" G_GINT64_FORMAT " octets", literal);
          return;
        }
      if (literal >= 0)
        {
          client->literal_left = (guint64) literal;
          if (++client->line_literals == 1)
            g_string_truncate (client->literal, 0);
          continue;
        }
      client_handle_line (client);
      /* Closed, or done with a loop and on a new connection: what is left
       * of the old connection's input is of no use. */
      if (client->state == CLIENT_STATE_CLOSED || client->connection != connection)
        return;
      g_string_truncate (client->line, 0);
      client->line_literals = 0;
    }

  if (client->state == CLIENT_STATE_CLOSED)
    return;
  memmove (client->in, client->in + pos, client->in_len - pos);
  client->in_len -= pos;
}

static void
client_read (gpointer conn)
{
  Client *client = conn;
  guint connection = client->connection;

  for (;;)
    {
      gssize n = bench_recv (client->net.fd, client->in + client->in_len,
                             sizeof client->in - client->in_len);

      if (n > 0)
        {
          client->in_len += n;
          client_process_input (client);
          if (client->state == CLIENT_STATE_CLOSED || client->connection != connection)
            return;
          continue;
        }
      if (n == BENCH_RECV_AGAIN)
        return;
      if (n == 0)
        client_fail (client, "the server closed the connection");
      else
        client_fail (client, "recv: %s", g_strerror (errno));
      return;
    }
}

static void
client_fail_cb (gpointer conn,
                const char *reason)
{
  client_fail (conn, "%s", reason);
}

static void
client_connected (gpointer conn)
{
  ((Client *) conn)->state = CLIENT_STATE_GREETING;
}

/* A new connection for the next loop. */
static void
client_connect (Client *client)
{
  const char *failed_call;

  client->connection++;
  g_string_truncate (client->net.out, 0);
  client->net.out_sent = 0;
  client->in_len = 0;
  g_string_truncate (client->line, 0);
  client->literal_left = 0;
  client->line_literals = 0;
  client->connect_us = g_get_monotonic_time ();
  if (!bench_conn_open (&client->net, client->load->address, TRUE, &failed_call))
    {
      client_fail (client, "%s: %s", failed_call, g_strerror (errno));
      return;
    }
  client->state = CLIENT_STATE_CONNECTING;
}

static const BenchConnClass client_class = {
  .fail = client_fail_cb,
  .connected = client_connected,
  .read = client_read,
  .close = client_close,
};

static void
report_timeout (gpointer user_data)
{
  Load *load = user_data;

  g_printerr ("imap-load: timed out after %u s\n", load->duration_s + load->timeout_s);
}

static void
run (Load *load)
{
  const BenchLoop loop = {
    .program = "imap-load",
    .klass = &client_class,
    .conns = load->clients,
    .stride = sizeof (Client),
    .n_conns = load->n_clients,
    .deadline_us = load->start_us +
                   (gint64) (load->duration_s + load->timeout_s) * G_USEC_PER_SEC,
    .report_timeout = report_timeout,
    .user_data = load,
  };

  bench_run_loop (&loop);
  load->end_us = g_get_monotonic_time ();
}

static guint
count_errors (Load *load)
{
  guint refused = 0;

  for (guint op = 0; op < N_OPS; op++)
    refused += load->refused[op];
  return refused + load->check_failures + load->failed_clients;
}

static void
print_results (Load *load)
{
  double user_s, system_s;
  double seconds = (load->end_us - load->start_us) / (double) G_USEC_PER_SEC;
  double ops_rate = seconds > 0 ? load->commands / seconds : 0.0;
  double loops_rate = seconds > 0 ? load->loops / seconds : 0.0;
  g_autoptr(GString) result = g_string_new ("RESULT");

  bench_own_cpu (&user_s, &system_s);
  printf ("imap-load: %s, %u clients, mix %s, %s\n", load->server, load->n_clients, load->mix,
          load->shared_mailbox ? "one shared mailbox" : "a mailbox per client");
  printf ("  %u loops, %u commands in %.3f s: %.1f commands/s, %.2f loops/s"
          " (INBOX of %u messages)\n",
          load->loops, load->commands, seconds, ops_rate, loops_rate, load->first_exists);
  printf ("  %-14s %8s %9s %9s %9s %9s %7s\n", "op", "count", "per s", "p50 ms", "p99 ms",
          "max ms", "NO/BAD");
  g_string_append_printf (result, " loops=%u commands=%u seconds=%.3f ops_per_s=%.1f"
                          " loops_per_s=%.2f exists=%u", load->loops, load->commands, seconds,
                          ops_rate, loops_rate, load->first_exists);
  for (guint op = 0; op < N_OPS; op++)
    {
      GArray *latencies = load->latencies_us[op];
      double p50, p99, max;

      if (latencies->len == 0 && load->refused[op] == 0)
        continue;
      bench_sort_us (latencies);
      p50 = bench_percentile_ms (latencies, 0.50);
      p99 = bench_percentile_ms (latencies, 0.99);
      max = bench_percentile_ms (latencies, 1.0);
      printf ("  %-14s %8u %9.1f %9.3f %9.3f %9.3f %7u\n", op_names[op], latencies->len,
              seconds > 0 ? latencies->len / seconds : 0.0, p50, p99, max, load->refused[op]);
      g_string_append_printf (result, " %s_n=%u %s_p50_ms=%.3f %s_p99_ms=%.3f %s_max_ms=%.3f",
                              op_keys[op], latencies->len, op_keys[op], p50, op_keys[op], p99,
                              op_keys[op], max);
    }
  if (load->stores_skipped > 0)
    printf ("  %u loops had nothing unseen in their FETCH range and sent no STORE\n",
            load->stores_skipped);
  printf ("  errors: %u NO/BAD, %u wrong responses, %u of %u clients failed\n",
          count_errors (load) - load->check_failures - load->failed_clients,
          load->check_failures, load->failed_clients, load->n_clients);
  printf ("  own CPU: user %.2f s, system %.2f s\n", user_s, system_s);
  g_string_append_printf (result, " errors=%u wrong_responses=%u failed_clients=%u clients=%u",
                          count_errors (load), load->check_failures, load->failed_clients,
                          load->n_clients);
  /* One line for scripts. */
  printf ("%s\n", result->str);
  fflush (stdout);
}

/* ---- --fill-maildir ---- */

static const char *const first_names[] = {
  "Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy",
  "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter",
  "Yolanda", "Zoe", "Marta", "Tomasz", "Keiko", "Ravi", "Ingrid", "Pablo", "Fatima",
};

static const char *const last_names[] = {
  "Archer", "Baker", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
  "Jensen", "Kowalski", "Lopez", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi",
};

static const char *const domains[] = {
  "example.com", "example.net", "example.org", "mail.example.test", "lists.example.com",
  "university.example", "shop.example", "bank.example",
};

static const char *const subject_words[] = {
  "meeting", "report", "invoice", "lunch", "project", "deadline", "review", "draft",
  "release", "budget", "schedule", "update", "question", "holiday", "server", "backup",
  "photos", "notes", "agenda", "minutes", "proposal", "contract", "order", "ticket",
};

static const char *const subject_prefixes[] = { "", "", "", "Re: ", "Fwd: ", "Re: Re: " };

static const char *const body_words[] = {
  "the", "mail", "server", "message", "will", "be", "delivered", "tomorrow", "and", "we",
  "should", "check", "that", "every", "folder", "is", "in", "order", "before", "a",
  "meeting", "with", "team", "about", "next", "week", "please", "send", "me", "your",
  "notes", "thanks", "for", "quick", "reply", "regards", "plan", "looks", "good", "to",
};

#define PICK(rand, array) ((array)[g_rand_int_range ((rand), 0, G_N_ELEMENTS (array))])

/* Message `number` of a mailbox: a valid RFC 5322 message of 2-4 KiB as
 * sent (CRLF), with a Received trace, varied From, Subject and Date, and a
 * body of word lines. One in SOMEONE_EVERY is from "someone" (the sender
 * SEARCH FROM looks for); no other From contains that word. With `lf`, bare
 * LF line ends, as Postfix's virtual(8) writes Maildir files. */
static GString *
make_message (GRand *rand,
              guint number,
              GDateTime *date,
              gboolean lf)
{
  const char *eol = lf ? "\n" : "\r\n";
  gsize size = (gsize) g_rand_int_range (rand, MESSAGE_MIN_SIZE, MESSAGE_MAX_SIZE + 1);
  g_autofree char *date_text = g_date_time_format (date, "%a, %d %b %Y %H:%M:%S %z");
  g_autofree char *from = NULL;
  GString *message = g_string_sized_new (MESSAGE_MAX_SIZE + 256);
  gsize wire;

  if (number % SOMEONE_EVERY == 0)
    from = g_strdup ("Someone Special <someone@example.org>");
  else
    {
      const char *first = PICK (rand, first_names);
      const char *last = PICK (rand, last_names);
      g_autofree char *local = g_ascii_strdown (first, -1);

      from = g_strdup_printf ("%s %s <%s.%c@%s>", first, last, local,
                              g_ascii_tolower (last[0]), PICK (rand, domains));
    }
  g_string_append_printf (message,
    "Return-Path: <bounces@example.com>%s"
    "Received: from mx.example.com (mx.example.com [192.0.2.25])%s"
    "\tby mail.example.test with ESMTP id %08X%s\tfor <bench@example.test>; %s%s"
    "Date: %s%s"
    "From: %s%s"
    "To: Bench User <bench@example.test>%s"
    "Subject: %s%s %s %s #%u%s"
    "Message-ID: <%u.%08X@imap-load.invalid>%s"
    "MIME-Version: 1.0%s"
    "Content-Type: text/plain; charset=us-ascii%s%s",
    eol, eol, g_rand_int (rand), eol, date_text, eol, date_text, eol, from, eol, eol,
    PICK (rand, subject_prefixes), PICK (rand, subject_words), PICK (rand, subject_words),
    PICK (rand, subject_words), number, eol, number, g_rand_int (rand), eol, eol, eol, eol);
  /* The header's octets on the wire (CRLF), whatever the file's line ends. */
  wire = message->len;
  if (lf)
    for (gsize i = 0; i < message->len; i++)
      wire += message->str[i] == '\n';

  /* Body lines of words until the wire size is reached; the last line is
   * cut to fit, and is never shorter than one character. */
  while (wire + 3 <= size)
    {
      gsize line_start = message->len;
      gsize room = MIN ((gsize) BODY_LINE_LENGTH, size - wire - 2);

      while (message->len - line_start < room)
        {
          const char *word = PICK (rand, body_words);

          if (message->len > line_start)
            g_string_append_c (message, ' ');
          g_string_append (message, word);
        }
      g_string_truncate (message, line_start + room);
      /* No line ends in a space or starts with a dot. */
      if (message->str[message->len - 1] == ' ')
        message->str[message->len - 1] = 'x';
      g_string_append (message, eol);
      wire += room + 2;
    }
  return message;
}

/* The Maildir flags of message `number` (letters in ASCII order): a
 * mailbox that has been read for a while. One in five is unseen (those are
 * what the load STOREs \Seen on and off), a few are flagged or answered. */
static const char *
message_flags (guint number)
{
  if (number % 5 == 0)
    return number % 50 == 0 ? "F" : "";
  if (number % 13 == 3)
    return "RS";
  if (number % 47 == 7)
    return "FS";
  return "S";
}

/* Writes `count` messages into the Maildir `dir` (made if missing) as a
 * server that had delivered them and a client that had read most of them
 * would leave it: each file into tmp/, then renamed into cur/ as
 * "<seconds>.M<usec>P<pid>Q<n>.imap-load:2,<flags>" (the Maildir spec's
 * names, sorting in message order), its mtime the message's Date (IMAP
 * INTERNALDATE). No fsync: this sets up a benchmark. */
static gboolean
fill_maildir (const char *dir,
              guint count,
              guint seed,
              gboolean lf,
              GError **error)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  gint64 seconds = g_date_time_to_unix (now);

  if (!bench_make_maildir (dir, error))
    return FALSE;

  for (guint number = 1; number <= count; number++)
    {
      /* A message every seven minutes or so, the last one an hour ago. */
      gint64 when = seconds - 3600 - (gint64) (count - number) * 420;
      g_autoptr(GDateTime) date = g_date_time_add_seconds (now, (gdouble) (when - seconds));
      g_autoptr(GString) message = make_message (rand, number, date, lf);
      g_autofree char *unique = g_strdup_printf ("%" G_GINT64_FORMAT ".M%06uP%dQ%u.imap-load",
                                                 seconds, number, (int) getpid (), number);
      g_autofree char *tmp_path = g_build_filename (dir, "tmp", unique, NULL);
      g_autofree char *cur_name = g_strconcat (unique, ":2,", message_flags (number), NULL);
      g_autofree char *cur_path = g_build_filename (dir, "cur", cur_name, NULL);
      struct timespec times[2] = { { .tv_sec = when }, { .tv_sec = when } };

      if (!bench_write_file (tmp_path, message->str, message->len, error))
        return FALSE;
      if (utimensat (AT_FDCWD, tmp_path, times, 0) < 0 || g_rename (tmp_path, cur_path) < 0)
        {
          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (errno),
                       "Cannot set the time of %s or rename it: %s", tmp_path,
                       g_strerror (errno));
          return FALSE;
        }
    }
  return TRUE;
}

static void
load_free_clients (Load *load)
{
  for (guint i = 0; i < load->n_clients; i++)
    {
      Client *client = &load->clients[i];

      client_close (client);
      g_string_free (client->net.out, TRUE);
      g_string_free (client->line, TRUE);
      g_string_free (client->literal, TRUE);
      g_free (client->seen_in_range);
      g_rand_free (client->rand);
      g_free (client->user);
    }
  g_free (load->clients);
}

int
main (int argc,
      char **argv)
{
  Load load = { 0 };
  gint n_clients = 20, duration_s = 20, max_loops = 0, fetch_count = 50, store_count = 3;
  gint expect_messages = -1, timeout_s = 120, seed = 1, fill_count = 10000;
  char *fill_dir = NULL;
  char *mix = NULL;
  gboolean lf = FALSE;
  const GOptionEntry entries[] = {
    { "server", 's', 0, G_OPTION_ARG_STRING, &load.server,
      "The IMAP server (required unless --fill-maildir)", "HOST:PORT" },
    { "clients", 'c', 0, G_OPTION_ARG_INT, &n_clients,
      "Concurrent clients (default 20)", "C" },
    { "users-from", 0, 0, G_OPTION_ARG_STRING, &load.users_from,
      "One user, and so one INBOX, per client, in order: bench1..bench20", "FIRST..LAST" },
    { "user", 'u', 0, G_OPTION_ARG_STRING, &load.user,
      "The user of every client: one INBOX shared by all", "USER" },
    { "password", 'p', 0, G_OPTION_ARG_STRING, &load.password,
      "The password of every user (default benchpw)", "PASS" },
    { "mix", 0, 0, G_OPTION_ARG_STRING, &mix,
      "full (default): LOGIN SELECT FETCH STORE STORE SEARCH SEARCH LOGOUT;"
      " select: LOGIN SELECT LOGOUT", "MIX" },
    { "duration", 'd', 0, G_OPTION_ARG_INT, &duration_s,
      "Start no new loop after this many seconds (default 20; 0: no limit)", "SECONDS" },
    { "loops", 'n', 0, G_OPTION_ARG_INT, &max_loops,
      "At most N loops per client (default 0: no limit)", "N" },
    { "fetch-count", 0, 0, G_OPTION_ARG_INT, &fetch_count,
      "Messages per FETCH (default 50)", "N" },
    { "store-count", 0, 0, G_OPTION_ARG_INT, &store_count,
      "Messages per STORE (default 3)", "N" },
    { "search-from", 0, 0, G_OPTION_ARG_STRING, &load.search_from,
      "What SEARCH FROM looks for (default someone)", "TEXT" },
    { "expect-messages", 0, 0, G_OPTION_ARG_INT, &expect_messages,
      "Fail a client whose SELECT does not say N EXISTS", "N" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &timeout_s,
      "Give up this many seconds after --duration (default 120)", "SECONDS" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed,
      "Random seed for the ranges and the messages (default 1)", "N" },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &load.verbose,
      "Print every command and response line", NULL },
    { "fill-maildir", 0, 0, G_OPTION_ARG_FILENAME, &fill_dir,
      "Instead of a load: write --count messages into this Maildir's cur/", "DIR" },
    { "count", 0, 0, G_OPTION_ARG_INT, &fill_count,
      "With --fill-maildir: how many messages (default 10000)", "N" },
    { "lf", 0, 0, G_OPTION_ARG_NONE, &lf,
      "With --fill-maildir: bare LF line ends in the files, as Postfix writes them", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("- IMAP load generator");
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) users = NULL;
  gboolean ok;
  int status = 2;               /* a usage error, until the load has run */

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context,
    "C clients go round LOGIN, SELECT INBOX, FETCH of a random range of headers,\n"
    "STORE +FLAGS and -FLAGS (\\Seen), SEARCH UNSEEN, SEARCH FROM, LOGOUT, each loop\n"
    "on a new connection, for --duration seconds. Prints commands/s and latency\n"
    "percentiles per command. Exits 1 on any NO/BAD, wrong response or failed client.\n"
    "Example: imap-load --server 127.0.0.1:1143 -c 20 --users-from bench1..bench20\n"
    "         imap-load --fill-maildir DIR --count 10000 [--lf] [--seed N]\n");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("imap-load: %s\n", error->message);
      goto usage;
    }

  if (fill_dir != NULL)
    {
      if (fill_count < 0)
        {
          g_printerr ("imap-load: --count must be 0 or more\n");
          g_free (fill_dir);
          return 2;
        }
      ok = fill_maildir (fill_dir, fill_count, (guint) seed, lf, &error);
      if (!ok)
        g_printerr ("imap-load: %s\n", error->message);
      g_free (fill_dir);
      return ok ? 0 : 1;
    }

  if (load.server == NULL)
    {
      g_printerr ("imap-load: --server HOST:PORT is required\n");
      goto usage;
    }
  if (n_clients < 1 || n_clients > MAX_CLIENTS || duration_s < 0 || max_loops < 0 ||
      timeout_s < 1 || fetch_count < 1 || fetch_count > MAX_FETCH_COUNT || store_count < 1 ||
      store_count > MAX_STORE_COUNT || (duration_s == 0 && max_loops == 0))
    {
      g_printerr ("imap-load: --clients from 1 to %d, --fetch-count from 1 to %d, "
                  "--store-count from 1 to %d, --timeout positive, and --duration or "
                  "--loops\n", MAX_CLIENTS, MAX_FETCH_COUNT, MAX_STORE_COUNT);
      goto usage;
    }
  if ((load.user == NULL) == (load.users_from == NULL))
    {
      g_printerr ("imap-load: give --user or --users-from, one of them\n");
      goto usage;
    }
  if (mix == NULL || g_str_equal (mix, "full"))
    {
      load.plan = full_plan;
      load.plan_len = G_N_ELEMENTS (full_plan);
      load.mix = "full";
    }
  else if (g_str_equal (mix, "select"))
    {
      load.plan = select_plan;
      load.plan_len = G_N_ELEMENTS (select_plan);
      load.mix = "select";
    }
  else
    {
      g_printerr ("imap-load: --mix is full or select, not \"%s\"\n", mix);
      goto usage;
    }
  load.n_clients = n_clients;
  load.duration_s = duration_s;
  load.max_loops = max_loops;
  load.fetch_count = fetch_count;
  load.store_count = store_count;
  load.expect_messages = expect_messages;
  load.timeout_s = timeout_s;
  load.seed = (guint) seed;
  load.shared_mailbox = load.user != NULL && n_clients > 1;
  if (load.password == NULL)
    load.password = g_strdup ("benchpw");
  if (load.search_from == NULL)
    load.search_from = g_strdup ("someone");
  if (!is_quotable (load.password) || !is_quotable (load.search_from) ||
      (load.user != NULL && !is_quotable (load.user)))
    {
      g_printerr ("imap-load: user, password and --search-from must be printable ASCII\n");
      goto usage;
    }
  if (load.users_from != NULL)
    {
      users = expand_user_range (load.users_from, load.n_clients, &error);
      if (users == NULL)
        {
          g_printerr ("imap-load: %s\n", error->message);
          goto usage;
        }
    }

  load.address = bench_resolve_server (load.server, &error);
  if (load.address == NULL)
    {
      g_printerr ("imap-load: %s\n", error->message);
      goto usage;
    }

  for (guint op = 0; op < N_OPS; op++)
    load.latencies_us[op] = g_array_sized_new (FALSE, FALSE, sizeof (gint64), 4096);
  load.clients = g_new0 (Client, load.n_clients);
  load.start_us = g_get_monotonic_time ();
  for (guint i = 0; i < load.n_clients; i++)
    {
      Client *client = &load.clients[i];

      client->load = &load;
      client->index = i;
      client->user = g_strdup (users != NULL ? users[i] : load.user);
      client->net.fd = -1;
      client->state = CLIENT_STATE_CLOSED;
      client->rand = g_rand_new_with_seed (load.seed + i);
      client->net.out = g_string_sized_new (256);
      client->line = g_string_sized_new (1024);
      client->literal = g_string_sized_new (MAX_LITERAL_KEPT);
      client->seen_in_range = g_new0 (guint8, load.fetch_count);
      client->unseen_baseline = -1;
      client->from_baseline = -1;
      client_connect (client);
    }

  run (&load);
  print_results (&load);
  ok = count_errors (&load) == 0 && load.loops > 0;

  load_free_clients (&load);
  for (guint op = 0; op < N_OPS; op++)
    g_array_unref (load.latencies_us[op]);
  freeaddrinfo (load.address);
  status = ok ? 0 : 1;

usage:
  if (load.password != NULL)
    memset (load.password, 0, strlen (load.password));
  g_free (load.password);
  g_free (load.user);
  g_free (load.users_from);
  g_free (load.search_from);
  g_free (load.server);
  g_free (mix);
  return status;
}
