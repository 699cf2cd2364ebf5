/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "ms-trace-bus.h"
#include "ms-world.h"

G_BEGIN_DECLS

/* MsWorldOptions: what describes a world of mail servers, from the command
 * line (--domain, --user, the port flags, ...) and from a config file
 * (--config FILE, docs/configuration.md), for mailscope-server and the GUI
 * alike. Use it in four steps:
 *
 *   1. ms_world_options_get_group() gives the flags as a GOptionGroup; add it
 *      to a GOptionContext (or g_application_add_option_group()) and parse.
 *   2. ms_world_options_finish() reads the config file, checks every value
 *      and merges the two: a flag given on the command line wins over the
 *      file's key.
 *   3. The accessors tell what was asked (the demo? which data directory?
 *      a trace port?).
 *   4. ms_world_options_build_world() makes the world's servers; the caller
 *      starts them with ms_world_start(). */
typedef struct _MsWorldOptions MsWorldOptions;

#define MS_WORLD_OPTIONS_ERROR (ms_world_options_error_quark ())
GQuark ms_world_options_error_quark (void);
typedef enum {
  MS_WORLD_OPTIONS_ERROR_USAGE,    /* flags that do not go together (exit status 2) */
  MS_WORLD_OPTIONS_ERROR_CONFIG,   /* the config file: unreadable, a bad group, key or value
                                    * (exit status 2); the message names the file, group
                                    * and key */
} MsWorldOptionsError;

MsWorldOptions *ms_world_options_new (void);
void ms_world_options_free (MsWorldOptions *self);

/* A new option group (free it, or give it to a GOptionContext, which takes
 * it) with the world's flags: --demo, --config, --data-dir, --domain, --user,
 * --route, --listen, the seven --*-port flags, --imap-login-needs-tls,
 * --apop-secret, --pop3-login-delay, --pop3-expire, --max-message-size,
 * --trace-port, --trace-listen, --trace-token and --reveal-secrets. The
 * values go into `self`, which must outlive the parse. A bad number or port
 * fails the parse with a G_OPTION_ERROR naming the flag. */
GOptionGroup *ms_world_options_get_group (MsWorldOptions *self);

/* TRUE when the command line gave any of the group's flags: the GUI refuses
 * them with a --trace-file replay, which runs no world. */
gboolean ms_world_options_any_given (MsWorldOptions *self);

/* With TRUE (the GUI), no flag and no config describing a world means the
 * demo world rather than one example.test server. --demo asks for it
 * either way. Call before ms_world_options_finish(). */
void ms_world_options_set_default_demo (MsWorldOptions *self, gboolean demo);

/* After the parse: reads and checks the config file if one was given, and
 * merges it with the flags. Scalar flags win over the file's keys; --user
 * and --apop-secret add to (and override by name) the selected server's
 * lists; --route adds to every server's. FALSE with MS_WORLD_OPTIONS_ERROR
 * when something is wrong; call it once. A config file others can read or
 * write gets a g_warning(). */
gboolean ms_world_options_finish (MsWorldOptions *self, GError **error);

/* The accessors below need ms_world_options_finish() to have succeeded. */

/* TRUE for the built-in demo world (alpha.test and beta.test): print its
 * passwords with ms_world_describe (world, TRUE). */
gboolean ms_world_options_is_demo (MsWorldOptions *self);
/* The data directory, absolute: --data-dir, the file's [world] data-dir
 * (relative to the file), or $XDG_DATA_HOME/mailscope/demo or .../server.
 * Each server's files live in DIR/DOMAIN. */
const char *ms_world_options_get_data_dir (MsWorldOptions *self);
/* The domain the command line's server settings are for (set-password's):
 * --domain, or the config's only server, or example.test without a config.
 * NULL for the demo and for a config of several servers without --domain. */
const char *ms_world_options_get_domain (MsWorldOptions *self);
/* The servers the world will have, in order ("alpha.test", "beta.test"):
 * a NULL-terminated array owned by `self`. */
const char * const *ms_world_options_get_domains (MsWorldOptions *self);
gboolean ms_world_options_get_reveal_secrets (MsWorldOptions *self);
/* The trace port: 0 when off. With it, give the listen address (NULL means
 * 127.0.0.1) and the token (NULL when none; --trace-token, else
 * $MAILSCOPE_TRACE_TOKEN, else the file's trace-token) to
 * ms_trace_port_new(). */
guint16 ms_world_options_get_trace_port (MsWorldOptions *self);
const char *ms_world_options_get_trace_listen (MsWorldOptions *self);
const char *ms_world_options_get_trace_token (MsWorldOptions *self);

/* Makes the world (not started): the demo world, or the configured servers
 * with their users, APOP secrets and routes. Sets the bus's reveal-secrets
 * first (`bus` may be NULL). NULL and `error` set when a server cannot open
 * its files or a user cannot be set; the message says which server. */
MsWorld *ms_world_options_build_world (MsWorldOptions *self, MsTraceBus *bus, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (MsWorldOptions, ms_world_options_free)

G_END_DECLS
