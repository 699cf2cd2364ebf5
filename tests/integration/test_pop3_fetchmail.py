# SPDX-License-Identifier: GPL-3.0-or-later
"""fetchmail (Debian's package) against mailscope-server's POP3: plain, STLS
and implicit TLS, with and without --keep, and with --uidl remembering what
it has seen. It runs non-interactively: the password is in a mode-0600 rc
file, delivery is to an MDA that writes each message to a file of its own.

To compare bytes, the rc file says `set invisible` (no Received: field of
fetchmail's own, fetchmail(1) on --invisible), `no rewrite` (addresses left as they are) and
`no stripcr` (fetchmail strips CRs when it delivers to an MDA unless told
not to, fetchmail(1) on 'stripcr'): what the MDA gets is then the Maildir
file byte for byte."""

import os
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase

FETCHMAIL = mshelper.which("fetchmail")

# fetchmail(1), EXIT CODES.
EXIT_GOT_MAIL = 0
EXIT_NO_MAIL = 1
EXIT_AUTH_FAIL = 3


@unittest.skipUnless(FETCHMAIL, "fetchmail is not installed: apt-get install fetchmail "
                     "(scripts/setup.sh does)")
class FetchmailTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test",
                                        extra_args=["--apop-secret", "bob:tanstaaf"])
        self.stored = mshelper.deliver_by_smtp(self.server, "bob",
                                               mshelper.pop3_test_messages("fetchmail"))
        self.before = mshelper.maildrop_snapshot(self.server, "bob")
        # fetchmail keeps its lock file in $FETCHMAILHOME (else $HOME).
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home, 0o700)
        self.idfile = os.path.join(self.home, "fetchids")
        self.runs = 0

    def fetchmail(self, *options, tls="none", password="bobpw", protocol="POP3",
                  expect=EXIT_GOT_MAIL):
        """One fetchmail run; returns (exit code, the messages the MDA got
        in this run, the verbose log)."""
        self.runs += 1
        out_dir = os.path.join(self.tmp, "delivered-%d" % self.runs)
        os.mkdir(out_dir)
        if tls == "pop3s":
            port, ssl_options = self.server.pop3s_port, "ssl no sslcertck"
        elif tls == "stls":
            # No sslproto: fetchmail uses STLS when the server offers it (it
            # does); our certificate is self-signed, so no sslcertck.
            port, ssl_options = self.server.pop3_port, "no sslcertck"
        else:
            # sslproto '': no opportunistic STLS at all.
            port, ssl_options = self.server.pop3_port, "sslproto ''"
        rc = ("set invisible\n"
              "poll %s with protocol %s port %d\n"
              "  user \"bob\" there with password \"%s\"\n"
              "  options no rewrite no stripcr %s\n"
              "  mda \"sh -c 'cat > %s/msg-$$'\"\n") % (HOST, protocol, port, password, ssl_options,
                                                       out_dir)
        rc_path = os.path.join(self.home, "fetchmailrc")
        # fetchmail refuses an rc file that others may read (it holds a password).
        fd = os.open(rc_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(rc)
        os.chmod(rc_path, 0o600)
        env = dict(os.environ, HOME=self.home, FETCHMAILHOME=self.home)
        # As root, fetchmail's lock is /var/run/fetchmail.pid, shared by the
        # whole machine: a stale one (or another run's) made a CI run fail with
        # "another foreground fetchmail is running". Each test gets its own.
        argv = [FETCHMAIL, "--fetchmailrc", rc_path, "--idfile", self.idfile, "--nodetach",
                "--pidfile", os.path.join(self.home, "fetchmail.pid"),
                "--verbose", "--nosyslog"] + list(options)
        result = subprocess.run(argv, capture_output=True, timeout=30, env=env,
                                stdin=subprocess.DEVNULL)
        log = (result.stdout + result.stderr).decode(errors="replace")
        self.assertEqual(result.returncode, expect, "%s\n%s" % (" ".join(argv), log))
        delivered = []
        for name in sorted(os.listdir(out_dir)):
            with open(os.path.join(out_dir, name), "rb") as f:
                delivered.append(f.read())
        return delivered, log

    def assertSameMessages(self, delivered, expected):
        self.assertEqual(sorted(delivered), sorted(expected))

    def assertMaildropUnchanged(self):
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), self.before)

    def assertMaildropEmpty(self):
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), {})
        self.assertEqual(self.server.message_files("bob", "tmp"), [])

    def test_without_keep_empties_the_maildrop(self):
        delivered, log = self.fetchmail("--nokeep")
        self.assertSameMessages(delivered, self.stored)
        self.assertIn("POP3> DELE 3", log)
        self.assertMaildropEmpty()
        # Nothing left for a second run.
        delivered, log = self.fetchmail("--nokeep", expect=EXIT_NO_MAIL)
        self.assertEqual(delivered, [])
        self.assertIn("No mail for bob at %s" % HOST, log)

    def test_keep_leaves_the_maildrop_unchanged(self):
        delivered, log = self.fetchmail("--keep")
        self.assertSameMessages(delivered, self.stored)
        self.assertNotIn("POP3> DELE", log)
        self.assertMaildropUnchanged()

    def test_keep_with_uidl_fetches_only_new_mail(self):
        """fetchmail(1) on --uidl: client-side tracking of which messages
        are new, by their unique-id; with --keep, a second run skips what
        the first fetched."""
        delivered, log = self.fetchmail("--keep", "--uidl")
        self.assertSameMessages(delivered, self.stored)
        self.assertIn("POP3> UIDL", log)
        with open(self.idfile) as f:
            ids = f.read().split("\n")
        for path in self.server.message_files("bob"):
            self.assertIn("bob@%s %s" % (HOST, mshelper.maildir_uidl(path)), ids)

        delivered, log = self.fetchmail("--keep", "--uidl", expect=EXIT_NO_MAIL)
        self.assertEqual(delivered, [])
        self.assertIn("3 messages (3 seen) for bob at %s" % HOST, log)
        self.assertMaildropUnchanged()

        # A new message is the only one fetched by the next run...
        new = mshelper.deliver_by_smtp(self.server, "bob",
                                       [mshelper.dot_message("fetchmail new one")])
        delivered, log = self.fetchmail("--keep", "--uidl")
        self.assertEqual(delivered, new)
        # ...and --all fetches every message again (fetchmail(1) on --all).
        delivered, log = self.fetchmail("--keep", "--all")
        self.assertSameMessages(delivered, self.stored + new)
        self.assertEqual(len(mshelper.maildrop_snapshot(self.server, "bob")), 4)

    def test_stls(self):
        delivered, log = self.fetchmail("--keep", tls="stls")
        self.assertIn("POP3> STLS", log)
        self.assertSameMessages(delivered, self.stored)
        self.assertMaildropUnchanged()

    def test_pop3s_without_keep(self):
        delivered, log = self.fetchmail("--nokeep", tls="pop3s")
        self.assertNotIn("POP3> STLS", log)
        self.assertSameMessages(delivered, self.stored)
        self.assertMaildropEmpty()

    def test_apop(self):
        """--protocol APOP (RFC 1939 section 7): the password is the secret."""
        delivered, log = self.fetchmail("--nokeep", protocol="APOP", password="tanstaaf")
        self.assertIn("POP3> APOP bob ", log)
        self.assertSameMessages(delivered, self.stored)
        self.assertMaildropEmpty()

    def test_wrong_password_changes_nothing(self):
        delivered, log = self.fetchmail("--nokeep", password="wrong", expect=EXIT_AUTH_FAIL)
        self.assertEqual(delivered, [])
        self.assertIn("-ERR [AUTH]", log)
        self.assertMaildropUnchanged()


if __name__ == "__main__":
    mshelper.run()
