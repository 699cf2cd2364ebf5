/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "ms-smtp-session.h"

/* Fuzz target for MsSmtpSession: the input is what a client sends, split
 * into lines at LF the way MsConn frames them (CRLF or bare LF, lines cut at
 * the command limit). Built for libFuzzer with -Dfuzzing=true, and as a
 * plain program that replays files (tests/fuzz/corpus) in the test suite. */

static MsSmtpRcptKind
fuzz_classify (gpointer data,
               const char *address)
{
  const char *at = strrchr (address, '@');

  if (at == NULL)
    return MS_SMTP_RCPT_NO_ROUTE;
  if (g_ascii_strcasecmp (at + 1, "alpha.test") == 0)
    return g_str_has_prefix (address, "alice@") ? MS_SMTP_RCPT_LOCAL : MS_SMTP_RCPT_NO_SUCH_USER;
  if (g_ascii_strcasecmp (at + 1, "beta.test") == 0)
    return MS_SMTP_RCPT_REMOTE;
  return MS_SMTP_RCPT_NO_ROUTE;
}

static gboolean
fuzz_authenticate (gpointer data,
                   const char *user,
                   const char *password)
{
  return strcmp (user, "alice") == 0 && strcmp (password, "alicepw") == 0;
}

static gboolean
fuzz_accept (gpointer data,
             const MsSmtpEnvelope *envelope,
             const char *message,
             gsize len,
             GError **error)
{
  /* Every message must have a sender path and at least one recipient. */
  g_assert (envelope->mail_from != NULL);
  g_assert (envelope->rcpt_to->len > 0);
  /* Sometimes fail, to reach the 451 path. */
  if (len % 7 == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "fuzzed failure");
      return FALSE;
    }
  return TRUE;
}

static const MsSmtpBackend fuzz_backend = { fuzz_classify, fuzz_authenticate, fuzz_accept };

typedef struct {
  gboolean closed;
  gsize max_line;
  gsize sent;
} FuzzOutput;

static void
out_send (gpointer data, const char *bytes, gsize len)
{
  FuzzOutput *out = data;

  g_assert (!out->closed);
  /* Every reply is whole lines. */
  g_assert (len >= 2 && bytes[len - 2] == '\r' && bytes[len - 1] == '\n');
  out->sent += len;
}

static void
out_start_tls (gpointer data)
{
}

static void
out_close (gpointer data)
{
  ((FuzzOutput *) data)->closed = TRUE;
}

static void
out_set_max_line (gpointer data, gsize max_line)
{
  ((FuzzOutput *) data)->max_line = max_line;
}

static const MsSmtpOutput fuzz_output = { out_send, out_start_tls, out_close, out_set_max_line, NULL };

static void
serialize_cb (const MsEvent *event,
              gpointer user_data)
{
  g_autofree char *line = ms_event_to_json (event);

  g_assert (g_utf8_validate (line, -1, NULL));
  g_assert (strchr (line, '\n') == NULL);
}

static void
quiet_log_cb (const char *domain,
              GLogLevelFlags level,
              const char *message,
              gpointer user_data)
{
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t size)
{
  g_autoptr(MsTraceBus) bus = ms_trace_bus_new ();
  FuzzOutput out = { FALSE, 12288, 0 };
  MsSmtpSessionConfig config = {
    .hostname = "alpha.test",
    .port_kind = size > 0 && (data[0] & 1) ? MS_SMTP_PORT_SUBMISSION : MS_SMTP_PORT_MTA,
    .tls_available = TRUE,
    .peer = "127.0.0.1:1",
    .max_message_size = 4096,
    .max_recipients = 5,
    .bus = bus,
    .server_name = "alpha.test",
    .session_id = "smtp-fuzz",
  };
  MsSmtpSession *session;
  gsize pos = 0;

  /* Trace events are built and written too, so that code is fuzzed as well. */
  ms_trace_bus_subscribe (bus, serialize_cb, NULL, NULL);
  g_log_set_handler ("ms-smtp", G_LOG_LEVEL_WARNING, quiet_log_cb, NULL);
  session = ms_smtp_session_new (&config, &fuzz_backend, NULL, &fuzz_output, &out);
  ms_smtp_session_start (session);

  while (pos < size && !out.closed)
    {
      const guint8 *lf = memchr (data + pos, '\n', size - pos);
      gsize end = lf != NULL ? (gsize) (lf - data) : size;
      gsize len = end - pos;
      MsLineFlags flags = MS_LINE_FLAG_NONE;

      if (len > 0 && data[end - 1] == '\r')
        len--;
      else if (lf != NULL)
        flags |= MS_LINE_FLAG_BARE_LF;
      if (len > out.max_line)
        {
          len = out.max_line;
          flags |= MS_LINE_FLAG_TOO_LONG;
        }
      {
        /* MsConn hands over NUL-terminated lines that may hold NUL bytes. */
        g_autofree char *line = g_malloc (len + 1);

        memcpy (line, data + pos, len);
        line[len] = '\0';
        ms_smtp_session_feed_line (session, line, len, flags);
      }
      if (ms_smtp_session_get_state (session) == MS_SMTP_STATE_TLS)
        ms_smtp_session_tls_done (session, (end & 1) == 0);
      pos = lf != NULL ? end + 1 : size;
    }
  ms_smtp_session_timeout (session);
  ms_smtp_session_free (session);
  return 0;
}
