# SPDX-License-Identifier: GPL-3.0-or-later
"""fetchmail (Debian's package) against mailscope-server's IMAP: plain,
STARTTLS and implicit TLS, with and without --keep, from INBOX and from
another folder. As in test_pop3_fetchmail.py, the rc file says `set
invisible`, `no rewrite` and `no stripcr`, and the MDA writes each message
to a file of its own, so what it gets is the Maildir file byte for byte.

Over IMAP, fetchmail marks what it fetched \\Seen when it keeps it, and
STOREs \\Deleted then EXPUNGEs when it does not (fetchmail(1), --keep and
--expunge); a kept message is not fetched again, since it is no longer
unseen."""

import os
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase

FETCHMAIL = os.environ.get("MAILSCOPE_FETCHMAIL") or mshelper.which("fetchmail")

# fetchmail(1), EXIT CODES.
EXIT_GOT_MAIL = 0
EXIT_NO_MAIL = 1
EXIT_AUTH_FAIL = 3


def fetchmail_rc(port, user, password, out_dir, ssl_options, folder=None, host=HOST):
    """An rc file for one IMAP poll whose MDA writes each message to a file
    in `out_dir`."""
    return ("set invisible\n"
            "poll %s with protocol IMAP port %d\n"
            "  user \"%s\" there with password \"%s\"\n"
            "  options no rewrite no stripcr %s%s\n"
            "  mda \"sh -c 'cat > %s/msg-$$'\"\n") % (
                host, port, user, password, ssl_options,
                " folder \"%s\"" % folder if folder else "", out_dir)


def run_fetchmail(home, rc, options):
    """One fetchmail run with `rc` in `home` (created mode 0700); returns
    (exit code, verbose log)."""
    rc_path = os.path.join(home, "fetchmailrc")
    # fetchmail refuses an rc file that others may read (it holds a password).
    fd = os.open(rc_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(rc)
    os.chmod(rc_path, 0o600)
    env = dict(os.environ, HOME=home, FETCHMAILHOME=home)
    # A lock file of its own (as root the default one is machine-wide).
    argv = [FETCHMAIL, "--fetchmailrc", rc_path, "--nodetach",
            "--pidfile", os.path.join(home, "fetchmail.pid"),
            "--verbose", "--nosyslog"] + list(options)
    result = subprocess.run(argv, capture_output=True, timeout=30, env=env,
                            stdin=subprocess.DEVNULL)
    return result.returncode, (result.stdout + result.stderr).decode(errors="replace")


def read_dir(path):
    out = []
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as f:
            out.append(f.read())
    return out


@unittest.skipUnless(FETCHMAIL, "fetchmail is not installed: apt-get install fetchmail "
                     "(scripts/setup.sh does)")
class FetchmailImapTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(imap=True)
        self.stored = mshelper.deliver_by_smtp(self.server, "bob",
                                               mshelper.pop3_test_messages("imap fetchmail"))
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home, 0o700)
        self.runs = 0

    def fetchmail(self, *options, tls="none", password="bobpw", folder=None,
                  expect=EXIT_GOT_MAIL):
        """One run; returns (the messages the MDA got in it, the log)."""
        self.runs += 1
        out_dir = os.path.join(self.tmp, "delivered-%d" % self.runs)
        os.mkdir(out_dir)
        if tls == "imaps":
            port, ssl_options = self.server.imaps_port, "ssl no sslcertck"
        elif tls == "starttls":
            # fetchmail uses STARTTLS when the server offers it; our
            # certificate is self-signed.
            port, ssl_options = self.server.imap_port, "no sslcertck"
        else:
            port, ssl_options = self.server.imap_port, "sslproto ''"
        rc = fetchmail_rc(port, "bob", password, out_dir, ssl_options, folder)
        code, log = run_fetchmail(self.home, rc, options)
        self.assertEqual(code, expect, log)
        return read_dir(out_dir), log

    def maildrop(self, folder="INBOX"):
        """{bytes: Maildir flags} of bob's folder on the server."""
        return self.server.maildir_flags("bob", folder)

    def assertMaildropEmpty(self, folder="INBOX"):
        self.assertEqual(self.maildrop(folder), {})
        self.assertEqual(os.listdir(os.path.join(self.server.folder_dir("bob", folder), "tmp")),
                         [])

    def test_keep_marks_seen_and_keeps(self):
        delivered, log = self.fetchmail("--keep")
        self.assertEqual(sorted(delivered), sorted(self.stored))
        self.assertNotIn("EXPUNGE", log)
        # Every message is still there, now \Seen (cur/ with ":2,S").
        self.assertEqual(self.maildrop(), {data: "S" for data in self.stored})
        # Nothing unseen is left for the next run.
        delivered, log = self.fetchmail("--keep", expect=EXIT_NO_MAIL)
        self.assertEqual(delivered, [])
        self.assertEqual(self.maildrop(), {data: "S" for data in self.stored})

    def test_without_keep_deletes_and_expunges(self):
        delivered, log = self.fetchmail("--nokeep")
        self.assertEqual(sorted(delivered), sorted(self.stored))
        self.assertIn("\\Deleted", log)
        self.assertIn("EXPUNGE", log)
        self.assertMaildropEmpty()
        delivered, log = self.fetchmail("--nokeep", expect=EXIT_NO_MAIL)
        self.assertEqual(delivered, [])

    def test_new_mail_after_keep_is_the_only_one_fetched(self):
        self.fetchmail("--keep")
        new = mshelper.deliver_by_smtp(self.server, "bob",
                                       [mshelper.dot_message("imap fetchmail later")])
        delivered, log = self.fetchmail("--keep")
        self.assertEqual(delivered, new)

    def test_starttls(self):
        delivered, log = self.fetchmail("--keep", tls="starttls")
        self.assertIn("STARTTLS", log)
        self.assertEqual(sorted(delivered), sorted(self.stored))
        self.assertEqual(self.maildrop(), {data: "S" for data in self.stored})

    def test_imaps_without_keep(self):
        delivered, log = self.fetchmail("--nokeep", tls="imaps")
        self.assertNotIn("STARTTLS", log)
        self.assertEqual(sorted(delivered), sorted(self.stored))
        self.assertMaildropEmpty()

    def test_other_folder(self):
        """`folder` (fetchmail(1), --folder): only that folder is read and
        emptied; the INBOX stays as it was."""
        client = mshelper.imap_connect(self.server, "bob", "bobpw")
        try:
            typ, data = client.create("Lists")
            self.assertEqual(typ, "OK", data)
        finally:
            client.logout()
        listed = [mshelper.simple_message("list mail %d" % i, to="bob@example.test")
                  for i in range(2)]
        mshelper.imap_append(self.server, "bob", "bobpw", "Lists", listed)
        inbox = self.maildrop()
        delivered, log = self.fetchmail("--nokeep", folder="Lists")
        self.assertEqual(sorted(delivered), sorted(listed))
        self.assertMaildropEmpty("Lists")
        self.assertEqual(self.maildrop(), inbox)

    def test_wrong_password_changes_nothing(self):
        before = self.maildrop()
        delivered, log = self.fetchmail("--nokeep", password="wrong", expect=EXIT_AUTH_FAIL)
        self.assertEqual(delivered, [])
        self.assertEqual(self.maildrop(), before)


if __name__ == "__main__":
    mshelper.run()
