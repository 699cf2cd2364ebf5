# SPDX-License-Identifier: GPL-3.0-or-later
"""mailscope-server --config FILE (docs/configuration.md): a file of two
domains routing to each other runs both servers in one process, and mail
crosses over as in the demo world; flags given too win over the file; a bad
file stops the server with exit status 2 and a message naming the file, the
group and the key; --help still lists every flag."""

import os
import poplib
import smtplib
import subprocess

import mshelper
from mshelper import HOST, ServerTestCase

# Every flag of mailscope-server: the world's (server/ms-world-options.c)
# and the headless server's own (server/main.c).
FLAGS = ["demo", "config", "data-dir", "domain", "user", "route", "listen", "smtp-port",
         "submission-port", "smtps-port", "pop3-port", "pop3s-port", "imap-port",
         "imaps-port", "imap-login-needs-tls", "apop-secret", "pop3-login-delay",
         "pop3-expire", "max-message-size", "trace", "trace-port", "trace-listen",
         "trace-token", "reveal-secrets", "password", "version"]

LISTENERS = ["smtp", "submission", "smtps", "pop3", "pop3s", "imap", "imaps"]


def server_group(domain, ports, users=(), routes=(), extra=""):
    """A [server DOMAIN] group: the listeners in `ports` on, the others off."""
    lines = ["[server %s]" % domain]
    lines += ["%s-port = %d" % (name, ports.get(name, 0)) for name in LISTENERS]
    if users:
        lines.append("users = " + ";".join(users))
    if routes:
        lines.append("routes = " + ";".join(routes))
    return "\n".join(lines) + "\n" + extra + "\n"


class ConfigServer(mshelper.Server):
    """mailscope-server started with --config (and any extra flags) rather
    than the flags mshelper.Server makes; `domain` names it in logs."""

    def __init__(self, test_dir, config_path, data_dir, extra_args=()):
        super().__init__(test_dir, "config", data_dir=data_dir, ports={},
                         extra_args=extra_args)
        self.config_path = config_path

    def argv(self):
        return [os.environ["MAILSCOPE_SERVER"], "--config", self.config_path] + self.extra_args


class ConfigTest(ServerTestCase):
    def write_config(self, text, mode=0o600):
        path = os.path.join(self.tmp, "world.ini")
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def start_config(self, make, mode=0o600):
        """Writes the config and starts the server with the flags that
        `make()` returns as (text, flags), picking free ports each time; on
        "Address already in use" (another test took a port first) tries
        again with new ports."""
        for attempt in range(5):
            text, flags = make()
            path = self.write_config(text, mode)
            server = ConfigServer(self.tmp, path, os.path.join(self.tmp, "data"), flags)
            self.servers.append(server)
            try:
                return server.start()
            except AssertionError:
                if attempt == 4 or "Address already in use" not in server.stderr():
                    raise

    def run_server(self, *args):
        return subprocess.run([os.environ["MAILSCOPE_SERVER"]] + list(args),
                              capture_output=True, timeout=30, stdin=subprocess.DEVNULL)

    def test_two_domains_route_to_each_other(self):
        ports = {}

        def make():
            ports["alpha"] = {"smtp": mshelper.free_port(), "submission": mshelper.free_port()}
            ports["beta"] = {"smtp": mshelper.free_port()}
            # data-dir is relative to the file.
            return ("[world]\ndata-dir = data\nlisten = %s\n\n" % HOST
                    + server_group("alpha.test", ports["alpha"], ["alice:alicepw"],
                                   ["beta.test=%s:%d" % (HOST, ports["beta"]["smtp"])])
                    + server_group("beta.test", ports["beta"], ["bob:bobpw"],
                                   ["alpha.test=%s:%d" % (HOST, ports["alpha"]["smtp"])]),
                    [])

        server = self.start_config(make)
        output = "".join(server.output)
        self.assertIn("alpha.test  (data in %s)" % os.path.join(self.tmp, "data", "alpha.test"),
                      output)
        self.assertIn("beta.test  (data in %s)" % os.path.join(self.tmp, "data", "beta.test"),
                      output)
        self.assertIn("smtp        %s:%d" % (HOST, ports["beta"]["smtp"]), output)

        sent = mshelper.dot_message("alpha to beta by config")
        with smtplib.SMTP(HOST, ports["alpha"]["submission"], local_hostname="laptop.alpha.test",
                          timeout=10) as smtp:
            smtp.starttls(context=mshelper.insecure_tls_context())
            smtp.ehlo()
            smtp.login("alice", "alicepw")
            self.assertEqual(smtp.sendmail("alice@alpha.test", ["bob@beta.test"], sent), {})

        # beta's Maildir, in the same data directory.
        beta = mshelper.Server(self.tmp, "beta.test", data_dir=os.path.join(self.tmp, "data"),
                               ports={})
        stored = beta.wait_messages("bob")
        self.assertEqual(len(stored), 1)
        received = self.assertDelivered(stored[0], sent, received_headers=2)
        self.assertIn(b"by beta.test (Mailscope)", received[0])
        self.assertIn(b"by alpha.test (Mailscope) with ESMTPSA", received[1])

    def test_flags_win_over_the_file(self):
        ports = {}

        def make():
            ports["file"] = mshelper.free_port()
            ports["flag"] = mshelper.free_port()
            return (server_group("one.test", {"pop3": ports["file"]}, ["alice:filepw"]),
                    ["--pop3-port", str(ports["flag"]), "--user", "alice:flagpw"])

        server = self.start_config(make)
        output = "".join(server.output)
        self.assertIn("pop3        %s:%d" % (HOST, ports["flag"]), output)
        self.assertNotIn(":%d\n" % ports["file"], output)
        pop = poplib.POP3(HOST, ports["flag"], timeout=10)
        try:
            pop.user("alice")
            with self.assertRaises(poplib.error_proto):
                pop.pass_("filepw")
        finally:
            pop.close()
        pop = poplib.POP3(HOST, ports["flag"], timeout=10)
        try:
            pop.user("alice")
            self.assertTrue(pop.pass_("flagpw").startswith(b"+OK"))
            pop.quit()
        finally:
            pop.close()

    def test_readable_config_warns(self):
        server = self.start_config(
            lambda: (server_group("one.test", {"smtp": mshelper.free_port()}), []), mode=0o644)
        self.assertIn("can be read or changed by other users", server.stderr())

    def test_bad_config_exits_2(self):
        cases = [
            ("[server alpha.test]\nsmtp-port = 99999\n",
             '[server alpha.test] smtp-port: needs a port number from 0 (off) to 65535, '
             'not "99999"'),
            ("[server alpha.test]\nsmtp_port = 2600\n",
             "[server alpha.test] smtp_port: unknown key (did you mean smtp-port?)"),
            ("[world]\nusers = alice:pw\n", "[world] users: belongs in a [server DOMAIN] group"),
            ("[servre alpha.test]\n", "[servre alpha.test]: unknown group"),
            ("[server alpha.test]\nusers = alice\n",
             '[server alpha.test] users: needs NAME:PASSWORD, not "alice"'),
        ]
        for text, message in cases:
            with self.subTest(config=text):
                path = self.write_config(text)
                result = self.run_server("--config", path)
                stderr = result.stderr.decode(errors="replace")
                self.assertEqual(result.returncode, 2, stderr)
                self.assertIn("mailscope-server: %s: %s" % (path, message), stderr)
                self.assertNotIn(b"Ready.", result.stdout)

    def test_missing_config_exits_2(self):
        path = os.path.join(self.tmp, "nothere.ini")
        result = self.run_server("--config", path)
        self.assertEqual(result.returncode, 2)
        self.assertIn("%s: cannot read it" % path, result.stderr.decode(errors="replace"))

    def test_help_lists_every_flag(self):
        result = self.run_server("--help")
        self.assertEqual(result.returncode, 0, result.stderr)
        text = result.stdout.decode()
        for flag in FLAGS:
            with self.subTest(flag=flag):
                self.assertRegex(text, r"\n  (-\w, )?--%s[= ]" % flag)


if __name__ == "__main__":
    mshelper.run()
