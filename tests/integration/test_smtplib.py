# SPDX-License-Identifier: GPL-3.0-or-later
"""Python's smtplib against mailscope-server: plain SMTP on the MTA port,
STARTTLS plus AUTH PLAIN on submission, implicit TLS plus AUTH LOGIN on
SMTPS. Each message holds lines that need dot-stuffing."""

import smtplib

import mshelper
from mshelper import HOST, ServerTestCase


class SmtplibTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test")

    def only_message(self, user):
        """The single message in the user's new/, read right after the 250:
        a 250 after DATA means the message is on disk."""
        messages = self.server.messages(user)
        self.assertEqual(len(messages), 1, "expected one message in %s's new/" % user)
        return messages[0]

    def test_plain_mta_port_to_local_user(self):
        sent = mshelper.dot_message("plain on the MTA port")
        with smtplib.SMTP(HOST, self.server.smtp_port, local_hostname="client.test",
                          timeout=10) as smtp:
            code, _ = smtp.ehlo()
            self.assertEqual(code, 250)
            # No AUTH on the MTA port (it is for mail to our users).
            self.assertFalse(smtp.has_extn("auth"))
            self.assertTrue(smtp.has_extn("starttls"))
            refused = smtp.sendmail("carol@other.test", ["bob@example.test"], sent)
            self.assertEqual(refused, {})
        received = self.assertDelivered(self.only_message("bob"), sent)
        self.assertIn(b"from client.test (127.0.0.1)", received[0])
        self.assertIn(b" with ESMTP id ", received[0])
        self.assertIn(b"for <bob@example.test>", received[0])
        self.assertEqual(self.server.messages("alice"), [])

    def test_starttls_submission_auth_plain(self):
        sent = mshelper.dot_message("STARTTLS and AUTH PLAIN")
        with smtplib.SMTP(HOST, self.server.submission_port, local_hostname="client.test",
                          timeout=10) as smtp:
            smtp.ehlo()
            self.assertTrue(smtp.has_extn("starttls"))
            # Submission needs AUTH before MAIL (RFC 6409 section 4.3).
            code, _ = smtp.mail("alice@example.test")
            self.assertEqual(code, 530)
            code, _ = smtp.starttls(context=mshelper.insecure_tls_context())
            self.assertEqual(code, 220)
            smtp.ehlo()
            self.assertFalse(smtp.has_extn("starttls"), "STARTTLS offered again under TLS")
            self.assertIn("PLAIN", smtp.esmtp_features.get("auth", "").upper().split())
            smtp.user, smtp.password = "alice", "alicepw"
            code, _ = smtp.auth("PLAIN", smtp.auth_plain, initial_response_ok=True)
            self.assertEqual(code, 235)
            refused = smtp.sendmail("alice@example.test", ["bob@example.test"], sent)
            self.assertEqual(refused, {})
        received = self.assertDelivered(self.only_message("bob"), sent)
        self.assertIn(b" with ESMTPSA id ", received[0])

    def test_smtps_auth_login(self):
        sent = mshelper.dot_message("SMTPS and AUTH LOGIN")
        with smtplib.SMTP_SSL(HOST, self.server.smtps_port, local_hostname="client.test",
                              context=mshelper.insecure_tls_context(), timeout=10) as smtp:
            smtp.ehlo()
            self.assertFalse(smtp.has_extn("starttls"), "STARTTLS offered under implicit TLS")
            smtp.user, smtp.password = "alice", "alicepw"
            # The two-step LOGIN exchange: 334 Username:, 334 Password:.
            code, _ = smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=False)
            self.assertEqual(code, 235)
            refused = smtp.sendmail("alice@example.test", ["bob@example.test"], sent)
            self.assertEqual(refused, {})
        received = self.assertDelivered(self.only_message("bob"), sent)
        self.assertIn(b" with ESMTPSA id ", received[0])

    def test_smtps_login_with_initial_response(self):
        sent = mshelper.dot_message("SMTPS and AUTH LOGIN with an initial response")
        with smtplib.SMTP_SSL(HOST, self.server.smtps_port, local_hostname="client.test",
                              context=mshelper.insecure_tls_context(), timeout=10) as smtp:
            smtp.ehlo()
            smtp.user, smtp.password = "alice", "alicepw"
            code, _ = smtp.auth("LOGIN", smtp.auth_login, initial_response_ok=True)
            self.assertEqual(code, 235)
            smtp.sendmail("alice@example.test", ["bob@example.test", "alice@example.test"], sent)
        self.assertDelivered(self.only_message("bob"), sent)
        self.assertDelivered(self.only_message("alice"), sent)

    def test_submission_relays_for_authenticated_user_only(self):
        """Without a route, an authenticated user still gets a clear 550."""
        with smtplib.SMTP(HOST, self.server.submission_port, timeout=10) as smtp:
            smtp.starttls(context=mshelper.insecure_tls_context())
            smtp.login("alice", "alicepw")
            code, _ = smtp.mail("alice@example.test")
            self.assertEqual(code, 250)
            code, text = smtp.rcpt("someone@unrouted.test")
            self.assertEqual(code, 550, text)
            self.assertTrue(text.startswith(b"5.1.2"), text)


if __name__ == "__main__":
    mshelper.run()
