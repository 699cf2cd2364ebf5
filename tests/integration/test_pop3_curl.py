# SPDX-License-Identifier: GPL-3.0-or-later
"""curl as a POP3 client (pop3:// and pop3s:// with -k): LIST with no path,
RETR with /N, DELE with -X DELE on /N, and TOP with -X 'TOP N 0'. curl
takes the byte-stuffing off itself, so what it writes must be the Maildir
file's bytes."""

import os
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase

CURL = os.environ.get("MAILSCOPE_CURL") or mshelper.which("curl")


@unittest.skipUnless(CURL, "curl is not installed: install curl to run the curl tests")
class CurlPop3Test(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test",
                                        extra_args=["--apop-secret", "bob:tanstaaf"])
        self.stored = mshelper.deliver_by_smtp(self.server, "bob",
                                               mshelper.pop3_test_messages("curl"))
        self.before = mshelper.maildrop_snapshot(self.server, "bob")

    def url(self, scheme, path=""):
        port = self.server.pop3s_port if scheme == "pop3s" else self.server.pop3_port
        return "%s://%s:%d/%s" % (scheme, HOST, port, path)

    def curl(self, url, *args, user="bob:bobpw", expect_ok=True):
        argv = [CURL, "--silent", "--show-error", "--max-time", "20", "-k",
                "--user", user, "--url", url] + list(args)
        result = subprocess.run(argv, capture_output=True, timeout=30)
        if expect_ok:
            self.assertEqual(result.returncode, 0,
                             "curl failed: %s\n%s" % (" ".join(argv), result.stderr.decode()))
        return result

    def assertMaildropUnchanged(self):
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), self.before)

    def check_list(self, scheme):
        out = self.curl(self.url(scheme)).stdout
        self.assertEqual(out, b"".join(b"%d %d\r\n" % (n, len(m))
                                       for n, m in enumerate(self.stored, 1)))
        self.assertMaildropUnchanged()

    def check_retrieve(self, scheme):
        for number, expected in enumerate(self.stored, 1):
            self.assertEqual(self.curl(self.url(scheme, str(number))).stdout, expected,
                             "message %d" % number)
        self.assertMaildropUnchanged()

    def check_top(self, scheme):
        for number, expected in enumerate(self.stored, 1):
            out = self.curl(self.url(scheme), "-X", "TOP %d 0" % number).stdout
            self.assertEqual(out, expected[:expected.index(b"\r\n\r\n") + 4], "message %d" % number)
        self.assertMaildropUnchanged()

    def check_delete(self, scheme):
        files = self.server.message_files("bob")
        # -I: DELE has a one-line answer, there is no body to transfer.
        self.curl(self.url(scheme, "1"), "-X", "DELE", "-I")
        # curl sent QUIT before it exited: UPDATE has removed message 1.
        self.assertEqual(self.server.message_files("bob"), files[1:])
        self.assertEqual(self.server.message_files("bob", "cur"), [])
        # The others are untouched, and now numbered from 1.
        self.assertEqual(self.curl(self.url(scheme, "1")).stdout, self.stored[1])
        self.curl(self.url(scheme, "1"), "-X", "DELE", "-I")
        self.curl(self.url(scheme, "1"), "-X", "DELE", "-I")
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), {})
        # The server answers "+OK 0 messages (0 octets)" CRLF "." CRLF (checked
        # on a raw socket in test_pop3_bad_input.py); curl 7.88 writes the CRLF
        # it takes as the start of its "CRLF . CRLF" end-of-body marker.
        self.assertIn(self.curl(self.url(scheme)).stdout, (b"", b"\r\n"))
        # RETR of a message that is not there: curl fails (RFC 1939 -ERR).
        result = self.curl(self.url(scheme, "1"), expect_ok=False)
        self.assertNotEqual(result.returncode, 0)

    def test_list_pop3(self):
        self.check_list("pop3")

    def test_list_pop3s(self):
        self.check_list("pop3s")

    def test_retrieve_pop3(self):
        self.check_retrieve("pop3")

    def test_retrieve_pop3s(self):
        self.check_retrieve("pop3s")

    def test_retrieve_pop3_ssl_reqd_uses_stls(self):
        """--ssl-reqd on pop3:// makes curl send STLS first (RFC 2595)."""
        self.assertEqual(self.curl(self.url("pop3", "3"), "--ssl-reqd").stdout, self.stored[2])

    def test_top_pop3(self):
        self.check_top("pop3")

    def test_top_pop3s(self):
        self.check_top("pop3s")

    def test_delete_pop3(self):
        self.check_delete("pop3")

    def test_delete_pop3s(self):
        self.check_delete("pop3s")

    def test_retrieve_apop(self):
        """curl's APOP login (RFC 1939 section 7) with the user's secret."""
        out = self.curl(self.url("pop3", "1"), "--login-options", "AUTH=+APOP",
                        "--verbose", user="bob:tanstaaf")
        self.assertEqual(out.stdout, self.stored[0])
        self.assertIn(b"> APOP bob ", out.stderr)

    def test_retrieve_auth_plain_pop3s(self):
        """curl's AUTH PLAIN (RFC 5034) under implicit TLS."""
        out = self.curl(self.url("pop3s", "2"), "--login-options", "AUTH=PLAIN", "--verbose")
        self.assertEqual(out.stdout, self.stored[1])
        self.assertIn(b"> AUTH PLAIN", out.stderr)

    def test_wrong_password_fails(self):
        argv = [CURL, "--silent", "--max-time", "20", "--user", "bob:wrong",
                "--url", self.url("pop3")]
        result = subprocess.run(argv, capture_output=True, timeout=30)
        # CURLE_LOGIN_DENIED
        self.assertEqual(result.returncode, 67, result.stderr)
        self.assertMaildropUnchanged()


if __name__ == "__main__":
    mshelper.run()
