# SPDX-License-Identifier: GPL-3.0-or-later
"""A 250 after DATA means the message is on disk (RFC 5321 section 6.1):
kill -9 the server the moment the client reads it, and the message is in
new/, whole. And a message queued for relay while the destination is down
survives a kill and restart of the sending server."""

import os
import smtplib

import mshelper
from mshelper import HOST, RawSmtp, ServerTestCase


class DurabilityTest(ServerTestCase):
    def test_kill_9_right_after_250(self):
        server = self.start_server("example.test", users=["bob:bobpw"])
        # Big enough that it cannot sit in one buffer by chance.
        body = b"".join(b"%06d the quick brown fox jumps over the lazy dog\r\n" % i
                        for i in range(20000))
        sent = mshelper.dot_message("durable") + b".starts with a dot\r\n" + body
        smtp = RawSmtp(server.smtp_port)
        self.addCleanup(smtp.close)
        smtp.greet()
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(smtp.command("DATA"), 354)
        smtp.send(mshelper.dot_stuff(sent))
        reply = smtp.reply()
        server.kill()
        self.assertReply(reply, 250, "2.0.0")

        files = server.message_files("bob")
        self.assertEqual(len(files), 1, "the message is not in new/ after kill -9")
        with open(files[0], "rb") as f:
            self.assertDelivered(f.read(), sent)
        # And a restarted server still lists and serves it.
        again = self.restart(server)
        self.assertEqual(again.message_files("bob"), files)

    def test_queued_relay_survives_restart(self):
        beta_port = mshelper.free_port()           # closed: beta is down
        alpha = self.start_server("alpha.test", users=["alice:alicepw"],
                                  routes=["beta.test=%s:%d" % (HOST, beta_port)],
                                  trace=os.path.join(self.tmp, "alpha.jsonl"))
        sent = mshelper.dot_message("queued while beta is down")
        with smtplib.SMTP(HOST, alpha.submission_port, timeout=10) as smtp:
            smtp.starttls(context=mshelper.insecure_tls_context())
            smtp.login("alice", "alicepw")
            self.assertEqual(smtp.sendmail("alice@alpha.test", ["bob@beta.test"], sent), {})
        # The 250 means it is queued on disk; the first attempt fails.
        self.assertTrue(alpha.queue_files(), "nothing in alpha's queue after the 250")
        mshelper.wait_for(lambda: [e for e in alpha.trace_events()
                                   if e.get("kind") == "relay" and e.get("step") == "deferred"],
                          what="the first attempt to be deferred")
        alpha.kill()
        queued = alpha.queue_files()
        self.assertTrue(queued, "alpha's queue is empty after kill -9")

        beta = self.new_server("beta.test", users=["bob:bobpw"],
                               ports={"smtp": beta_port, "submission": 0, "smtps": 0})
        beta.start()
        self.assertEqual(beta.messages("bob"), [])
        # The restarted alpha resumes its queue at once.
        alpha = self.restart(alpha)
        stored = beta.wait_messages("bob")
        self.assertEqual(len(stored), 1)
        self.assertDelivered(stored[0], sent, received_headers=2)
        mshelper.wait_for(lambda: not alpha.queue_files(),
                          what="alpha's queue to be empty after delivery")
        self.assertEqual(alpha.messages("alice"), [], "alice got a bounce")


if __name__ == "__main__":
    mshelper.run()
