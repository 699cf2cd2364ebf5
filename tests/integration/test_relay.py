# SPDX-License-Identifier: GPL-3.0-or-later
"""The relay between two servers, alpha.test and beta.test, each routing
the other's domain to its MTA port (the stand-in for DNS MX): alice submits
to bob@beta.test and the message crosses over; a mail to a user beta does
not have comes back to alice as a delivery status notification (RFC 3464)."""

import email
import email.policy
import os
import smtplib

import mshelper
from mshelper import HOST, ServerTestCase


class RelayTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.alpha = self.new_server("alpha.test", users=["alice:alicepw"],
                                     trace=os.path.join(self.tmp, "alpha.jsonl"))
        self.beta = self.new_server("beta.test", users=["bob:bobpw"])
        self.alpha.routes = ["beta.test=%s:%d" % (HOST, self.beta.smtp_port)]
        self.beta.routes = ["alpha.test=%s:%d" % (HOST, self.alpha.smtp_port)]
        self.beta.start()
        self.alpha.start()

    def submit(self, rcpt, message):
        with smtplib.SMTP(HOST, self.alpha.submission_port, local_hostname="laptop.alpha.test",
                          timeout=10) as smtp:
            smtp.starttls(context=mshelper.insecure_tls_context())
            smtp.ehlo()
            smtp.user, smtp.password = "alice", "alicepw"
            code, _ = smtp.auth("PLAIN", smtp.auth_plain, initial_response_ok=True)
            self.assertEqual(code, 235)
            refused = smtp.sendmail("alice@alpha.test", [rcpt], message)
            self.assertEqual(refused, {})

    def relay_events(self, step=None):
        return [e for e in self.alpha.trace_events()
                if e.get("kind") == "relay" and (step is None or e.get("step") == step)]

    def test_alice_to_bob_crosses_over(self):
        sent = mshelper.dot_message("alpha to beta")
        self.submit("bob@beta.test", sent)

        stored = self.beta.wait_messages("bob")
        self.assertEqual(len(stored), 1)
        # Two trace headers, newest on top: beta's, then alpha's (RFC 5321 section 4.4).
        received = self.assertDelivered(stored[0], sent, received_headers=2)
        self.assertIn(b"by beta.test (Mailscope)", received[0])
        self.assertIn(b"from alpha.test (127.0.0.1)", received[0])
        self.assertIn(b"by alpha.test (Mailscope) with ESMTPSA", received[1])
        self.assertIn(b"from laptop.alpha.test", received[1])
        # Nothing stayed on alpha's side.
        self.assertEqual(self.alpha.messages("alice"), [])
        mshelper.wait_for(lambda: not self.alpha.queue_files(),
                          what="alpha's queue to be empty after delivery")

        # The trace tells the story, in order, for one queue entry.
        mshelper.wait_for(lambda: self.relay_events("delivered"),
                          what="a relay/delivered event in alpha's trace")
        events = self.relay_events()
        steps = [e["step"] for e in events]
        for step in ("queued", "route", "attempt", "delivered"):
            self.assertIn(step, steps)
        self.assertLess(steps.index("queued"), steps.index("route"))
        self.assertLess(steps.index("route"), steps.index("attempt"))
        self.assertLess(steps.index("attempt"), steps.index("delivered"))
        self.assertEqual(len({e.get("id") for e in events}), 1, events)
        for e in events:
            self.assertEqual(e.get("domain"), "beta.test", e)
            self.assertEqual(e.get("server"), "alpha.test", e)
        route = events[steps.index("route")]
        self.assertEqual(route.get("host"), HOST, route)
        self.assertEqual(route.get("port"), self.beta.smtp_port, route)
        self.assertEqual(events[steps.index("attempt")].get("attempt"), 1)

    def test_unknown_user_bounces_to_sender(self):
        sent = mshelper.dot_message("to nobody")
        self.submit("nobody@beta.test", sent)

        bounces = self.alpha.wait_messages("alice")
        self.assertEqual(len(bounces), 1)
        raw = bounces[0]
        dsn = email.message_from_bytes(raw, policy=email.policy.default)
        self.assertEqual(dsn.get_content_type(), "multipart/report")
        self.assertEqual(dsn.get_param("report-type"), "delivery-status")
        parts = list(dsn.iter_parts())
        self.assertGreaterEqual(len(parts), 2)
        self.assertEqual(parts[0].get_content_type(), "text/plain")
        self.assertEqual(parts[1].get_content_type(), "message/delivery-status")
        self.assertIn(b"Status: 5.1.1", raw)
        self.assertRegex(raw, rb"(?i)Final-Recipient: *rfc822; *nobody@beta\.test")
        self.assertRegex(raw, rb"(?i)Action: *failed")
        self.assertIn(b"MAILER-DAEMON@alpha.test", raw)
        # Nothing reached beta, and the queue is empty again.
        self.assertEqual(self.beta.messages("bob"), [])
        mshelper.wait_for(lambda: not self.alpha.queue_files(),
                          what="alpha's queue to be empty after the bounce")
        mshelper.wait_for(lambda: self.relay_events("bounced"),
                          what="a relay/bounced event in alpha's trace")


if __name__ == "__main__":
    mshelper.run()
