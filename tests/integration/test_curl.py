# SPDX-License-Identifier: GPL-3.0-or-later
"""curl as an SMTP client: smtp:// with STARTTLS required on submission,
smtps:// on the implicit-TLS port, plain smtp:// on the MTA port, with
AUTH PLAIN and AUTH LOGIN. curl dot-stuffs the uploaded file itself."""

import os
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase

CURL = os.environ.get("MAILSCOPE_CURL") or mshelper.which("curl")


@unittest.skipUnless(CURL, "curl is not installed: install curl to run the curl tests")
class CurlTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test")

    def curl(self, url, *args, expect_ok=True):
        argv = [CURL, "--silent", "--show-error", "--max-time", "20", "--url", url] + list(args)
        result = subprocess.run(argv, capture_output=True, timeout=30)
        if expect_ok:
            self.assertEqual(result.returncode, 0,
                             "curl failed: %s\n%s" % (" ".join(argv), result.stderr.decode()))
        return result

    def send(self, url, *args, subject):
        sent = mshelper.dot_message(subject)
        path = self.write_file("message.eml", sent)
        self.curl(url, "--mail-from", "alice@example.test", "--mail-rcpt", "bob@example.test",
                  "-T", path, *args)
        messages = self.server.messages("bob")
        self.assertEqual(len(messages), 1)
        return sent, messages[0]

    def test_smtp_starttls_required_submission_auth_plain(self):
        sent, stored = self.send("smtp://%s:%d/client.test" % (HOST, self.server.submission_port),
                                 "--ssl-reqd", "-k", "--user", "alice:alicepw",
                                 "--login-options", "AUTH=PLAIN",
                                 subject="curl STARTTLS PLAIN")
        received = self.assertDelivered(stored, sent)
        self.assertIn(b"from client.test (127.0.0.1)", received[0])
        self.assertIn(b" with ESMTPSA id ", received[0])

    def test_smtp_starttls_required_submission_auth_login(self):
        sent, stored = self.send("smtp://%s:%d" % (HOST, self.server.submission_port),
                                 "--ssl-reqd", "-k", "--user", "alice:alicepw",
                                 "--login-options", "AUTH=LOGIN",
                                 subject="curl STARTTLS LOGIN")
        self.assertDelivered(stored, sent)

    def test_smtps_auth(self):
        sent, stored = self.send("smtps://%s:%d" % (HOST, self.server.smtps_port),
                                 "-k", "--user", "alice:alicepw",
                                 subject="curl smtps")
        received = self.assertDelivered(stored, sent)
        self.assertIn(b" with ESMTPSA id ", received[0])

    def test_smtp_mta_port_without_auth(self):
        sent, stored = self.send("smtp://%s:%d" % (HOST, self.server.smtp_port),
                                 subject="curl plain MTA")
        received = self.assertDelivered(stored, sent)
        self.assertIn(b" with ESMTP id ", received[0])

    def test_wrong_password_is_refused(self):
        path = self.write_file("message.eml", mshelper.dot_message())
        result = self.curl("smtps://%s:%d" % (HOST, self.server.smtps_port), "-k",
                           "--user", "alice:wrong", "--mail-from", "alice@example.test",
                           "--mail-rcpt", "bob@example.test", "-T", path, expect_ok=False)
        # 67: "the user name, password, or similar was not accepted".
        self.assertEqual(result.returncode, 67, result.stderr.decode())
        self.assertEqual(self.server.messages("bob"), [])


if __name__ == "__main__":
    mshelper.run()
