# SPDX-License-Identifier: GPL-3.0-or-later
"""curl against mailscope-server's IMAP: imap:// plain and with STARTTLS
(--ssl-reqd), and imaps:// (-k: our certificate is self-signed). curl
lists folders for a URL without a mailbox, fetches one message for
";UID=n" (UID FETCH n BODY[]), appends with -T, and sends a custom command
with -X, printing its untagged responses (curl(1), IMAP URLs after RFC
5092)."""

import os
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase, simple_message

CURL = os.environ.get("MAILSCOPE_CURL") or mshelper.which("curl")

# curl(1), EXIT CODES.
EXIT_LOGIN_DENIED = 67
EXIT_REMOTE_FILE_NOT_FOUND = 78


@unittest.skipUnless(CURL, "curl is not installed: apt-get install curl "
                     "(scripts/setup.sh does)")
class CurlImapTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(imap=True)
        self.stored = mshelper.deliver_by_smtp(
            self.server, "alice",
            [simple_message("curl first"), mshelper.dot_message("curl dots"),
             simple_message("curl third")])

    def url(self, path="", tls="none"):
        if tls == "imaps":
            return "imaps://%s:%d/%s" % (HOST, self.server.imaps_port, path)
        return "imap://%s:%d/%s" % (HOST, self.server.imap_port, path)

    def curl(self, url, *options, tls="none", user="alice:alicepw", expect=0):
        """Runs curl; returns its standard output (bytes)."""
        argv = [CURL, "--silent", "--show-error", "--max-time", "20", "-u", user, url]
        if tls == "starttls":
            argv += ["--ssl-reqd", "-k"]
        elif tls == "imaps":
            argv.append("-k")
        argv += list(options)
        result = subprocess.run(argv, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, expect,
                         "%s\n%s" % (" ".join(argv), result.stderr.decode(errors="replace")))
        return result.stdout

    def create_folder(self, name):
        client = mshelper.imap_connect(self.server)
        try:
            typ, data = client.create(name)
            self.assertEqual(typ, "OK", data)
        finally:
            client.logout()

    def check_all(self, tls):
        """List, fetch, append, search over one kind of connection."""
        self.create_folder("Work")
        listing = self.curl(self.url("", tls), tls=tls).decode()
        listed = [mshelper.parse_list(l) for l in listing.splitlines()]
        self.assertEqual(sorted((delimiter, name) for _attrs, delimiter, name in listed),
                         [("/", "INBOX"), ("/", "Work")], listing)

        # UIDs follow delivery order: the dot message is UID 2, as stored.
        self.assertEqual(self.curl(self.url("INBOX;UID=2", tls), tls=tls), self.stored[1])
        self.assertEqual(self.curl(self.url("INBOX;UID=3", tls), tls=tls), self.stored[2])

        message = simple_message("curl upload", "alice@example.test", "bob@example.test")
        path = self.write_file("upload.eml", message)
        self.curl(self.url("Work", tls), "-T", path, tls=tls)
        files = self.server.maildir_files("alice", "Work")
        self.assertEqual([f.read() for f in files], [message])
        self.assertEqual(self.curl(self.url("Work;UID=1", tls), tls=tls), message)

        found = self.curl(self.url("INBOX", tls), "-X", "UID SEARCH SUBJECT curl", tls=tls)
        self.assertEqual(found, b"* SEARCH 1 2 3\r\n")
        found = self.curl(self.url("INBOX", tls), "-X", "UID SEARCH SUBJECT dots", tls=tls)
        self.assertEqual(found, b"* SEARCH 2\r\n")
        found = self.curl(self.url("INBOX", tls), "-X", "SEARCH NOT SUBJECT dots", tls=tls)
        self.assertEqual(found, b"* SEARCH 1 3\r\n")

    def test_plain(self):
        self.check_all("none")

    def test_starttls(self):
        self.check_all("starttls")

    def test_imaps(self):
        self.check_all("imaps")

    def test_fetch_is_not_a_peek(self):
        """FETCH BODY[] sets \\Seen (RFC 3501 section 6.4.5): the file
        moves to cur/ with ":2,S"."""
        self.curl(self.url("INBOX;UID=1"))
        files = self.server.maildir_files("alice")
        seen = [f for f in files if f.read() == self.stored[0]]
        self.assertEqual([(f.sub, f.flags) for f in seen], [("cur", "S")])
        self.assertEqual(sorted(f.flags or "" for f in files), ["", "", "S"])

    def test_missing_uid_and_wrong_password(self):
        self.curl(self.url("INBOX;UID=99"), expect=EXIT_REMOTE_FILE_NOT_FOUND)
        self.curl(self.url(""), user="alice:wrong", expect=EXIT_LOGIN_DENIED)
        self.assertEqual(len(self.server.maildir_files("alice")), 3)


if __name__ == "__main__":
    mshelper.run()
