# SPDX-License-Identifier: GPL-3.0-or-later
"""swaks, the SMTP test tool, against mailscope-server: STARTTLS with AUTH
PLAIN and AUTH LOGIN on submission, implicit TLS on SMTPS, plain on the
MTA port; the message comes from a file (--data @FILE)."""

import os
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase

SWAKS = os.environ.get("MAILSCOPE_SWAKS") or mshelper.which("swaks")


def swaks_has_tls():
    if not SWAKS:
        return False
    result = subprocess.run([SWAKS, "--support"], capture_output=True, timeout=30)
    return b"TLS supported" in result.stdout + result.stderr


SWAKS_TLS = swaks_has_tls()
NEEDS_TLS = ("swaks cannot do TLS here: it needs Perl's Net::SSLeay "
             "(Debian: libnet-ssleay-perl)")


@unittest.skipUnless(SWAKS, "swaks is not installed: install swaks to run the swaks tests")
class SwaksTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test")

    def swaks(self, port, *args, subject):
        sent = mshelper.dot_message(subject)
        # swaks ends the data with "\r\n." after the file's last byte, so a
        # file ending in CRLF would gain an empty line: leave the last off.
        path = self.write_file("message.eml", sent[:-2])
        argv = [SWAKS, "--server", "%s:%d" % (HOST, port), "--helo", "client.test",
                "--from", "alice@example.test", "--to", "bob@example.test",
                "--timeout", "20", "--data", "@" + path] + list(args)
        result = subprocess.run(argv, capture_output=True, timeout=60)
        self.assertEqual(result.returncode, 0,
                         "swaks failed (%d): %s\n%s%s" % (result.returncode, " ".join(argv),
                                                         result.stdout.decode(errors="replace"),
                                                         result.stderr.decode(errors="replace")))
        messages = self.server.messages("bob")
        self.assertEqual(len(messages), 1)
        return sent, messages[0]

    @unittest.skipUnless(SWAKS_TLS, NEEDS_TLS)
    def test_starttls_auth_plain(self):
        sent, stored = self.swaks(self.server.submission_port, "--tls",
                                  "--auth", "PLAIN", "--auth-user", "alice",
                                  "--auth-password", "alicepw", subject="swaks STARTTLS PLAIN")
        received = self.assertDelivered(stored, sent)
        self.assertIn(b"from client.test (127.0.0.1)", received[0])
        self.assertIn(b" with ESMTPSA id ", received[0])

    @unittest.skipUnless(SWAKS_TLS, NEEDS_TLS)
    def test_starttls_auth_login(self):
        sent, stored = self.swaks(self.server.submission_port, "--tls",
                                  "--auth", "LOGIN", "--auth-user", "alice",
                                  "--auth-password", "alicepw", subject="swaks STARTTLS LOGIN")
        self.assertDelivered(stored, sent)

    @unittest.skipUnless(SWAKS_TLS, NEEDS_TLS)
    def test_smtps_auth_login(self):
        sent, stored = self.swaks(self.server.smtps_port, "--tls-on-connect",
                                  "--auth", "LOGIN", "--auth-user", "alice",
                                  "--auth-password", "alicepw", subject="swaks SMTPS LOGIN")
        self.assertDelivered(stored, sent)

    def test_plain_mta_port(self):
        sent, stored = self.swaks(self.server.smtp_port, subject="swaks plain")
        received = self.assertDelivered(stored, sent)
        self.assertIn(b" with ESMTP id ", received[0])


if __name__ == "__main__":
    mshelper.run()
