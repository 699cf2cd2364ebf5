# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input on raw sockets. Each case checks the reply code (RFC 5321
section 4.2.3, with the RFC 3463 enhanced code where it matters) and then
that another client is served normally: one bad session never harms the
server or the next session."""

import mshelper
from mshelper import HOST, RawSmtp, ServerTestCase

MAX_SIZE = 4096


class BadInputTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.closed_port = mshelper.free_port()
        self.server = self.start_server(
            "example.test", max_message_size=MAX_SIZE,
            routes=["other.test=%s:%d" % (HOST, self.closed_port)])
        self.sent_ok = 0

    def tearDown(self):
        try:
            if self.server.running():
                self.assertStillServes()
        finally:
            super().tearDown()

    def assertStillServes(self):
        """A second, well-behaved client gets its mail delivered."""
        self.assertTrue(self.server.running(), "the server died:\n" + self.server.stderr())
        self.sent_ok += 1
        before = set(self.server.message_files("bob"))
        sent = mshelper.dot_message("served normally %d" % self.sent_ok)
        self.assertReply(self.send_raw(self.server.smtp_port, "carol@other.test",
                                       ["bob@example.test"], sent), 250, "2.0.0")
        new = sorted(set(self.server.message_files("bob")) - before)
        self.assertEqual(len(new), 1)
        with open(new[0], "rb") as f:
            self.assertDelivered(f.read(), sent)

    def connect(self, port=None):
        smtp = RawSmtp(port or self.server.smtp_port)
        self.addCleanup(smtp.close)
        return smtp

    def greeted(self, port=None):
        smtp = self.connect(port)
        smtp.greet()
        return smtp

    # --- the cases ---

    def test_line_over_the_limit(self):
        smtp = self.greeted()
        # RFC 5321 section 4.5.3.1.4 allows 512; the server takes 12288 (RFC 4954 section 4).
        self.assertReply(smtp.command(b"NOOP " + b"x" * 12300), 500, "5.5.6")
        # The rest of the long line was thrown away; the session goes on.
        self.assertReply(smtp.command("NOOP"), 250)
        self.assertReply(smtp.command(b"MAIL FROM:<" + b"a" * 20000 + b"@example.test>"),
                         500, "5.5.6")
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)

    def test_line_at_the_limit_is_a_command(self):
        smtp = self.greeted()
        line = b"NOOP " + b"x" * (12288 - 5)
        self.assertEqual(len(line), 12288)
        self.assertReply(smtp.command(line), 250)

    def test_unknown_verb(self):
        smtp = self.greeted()
        self.assertReply(smtp.command("FROBNICATE now"), 500, "5.5.2")
        self.assertReply(smtp.command("MAILFROM:<a@example.test>"), 500, "5.5.2")
        self.assertReply(smtp.command(""), 500, "5.5.2")
        self.assertReply(smtp.command("NOOP"), 250)

    def test_commands_out_of_order(self):
        smtp = self.connect()
        self.assertReply(smtp.reply(), 220)
        # RFC 5321 section 4.1.4: MAIL before EHLO.
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 503, "5.5.1")
        smtp.command("EHLO client.test")
        self.assertReply(smtp.command("DATA"), 503, "5.5.1")
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 503, "5.5.1")
        self.assertReply(smtp.command("STARTTLS"), 503, "5.5.1")
        self.assertReply(smtp.command("RSET"), 250)
        self.assertReply(smtp.command("NOOP"), 250)

    def test_rcpt_before_mail(self):
        smtp = self.greeted()
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 503, "5.5.1")
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 250)

    def test_too_many_recipients(self):
        smtp = self.greeted()
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        # RFC 5321 section 4.5.3.1.8: 100 must be accepted; the 101st gets 452.
        for i in range(100):
            rcpt = "bob@example.test" if i % 2 else "alice@example.test"
            self.assertReply(smtp.command("RCPT TO:<%s>" % rcpt), 250, "2.1.5")
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 452, "4.5.3")
        # The transaction goes on with the 100 it accepted, each user once.
        self.assertReply(smtp.command("DATA"), 354)
        sent = mshelper.dot_message("a hundred recipients")
        smtp.send(mshelper.dot_stuff(sent))
        self.assertReply(smtp.reply(), 250, "2.0.0")
        for user in ("alice", "bob"):
            messages = self.server.messages(user)
            self.assertEqual(len(messages), 1, user)
            self.assertDelivered(messages[0], sent)

    def test_size_parameter_over_the_limit(self):
        smtp = self.greeted()
        texts = smtp.command("EHLO client.test")[1]
        self.assertIn("SIZE %d" % MAX_SIZE, texts)
        # RFC 1870 section 6.
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test> SIZE=%d" % (MAX_SIZE + 1)),
                         552, "5.3.4")
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test> SIZE=%d" % MAX_SIZE), 250)

    def test_message_over_the_limit(self):
        smtp = self.greeted()
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(smtp.command("DATA"), 354)
        body = b"".join(b"line %04d of a message that is too big\r\n" % i for i in range(200))
        self.assertGreater(len(body), MAX_SIZE)
        smtp.send(mshelper.dot_stuff(b"Subject: big\r\n\r\n" + body))
        # The server reads to the final dot, then refuses (RFC 5321 section 4.5.3.1.10).
        self.assertReply(smtp.reply(), 552, "5.3.4")
        self.assertEqual(self.server.message_files("bob"), [])
        # The same session can still send a message that fits.
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(smtp.command("DATA"), 354)
        sent = mshelper.dot_message("small enough")
        smtp.send(mshelper.dot_stuff(sent))
        self.assertReply(smtp.reply(), 250)
        self.assertDelivered(self.server.messages("bob")[0], sent)

    def test_nul_byte_in_command(self):
        smtp = self.greeted()
        self.assertReply(smtp.command(b"NOOP\0"), 500, "5.5.2")
        self.assertReply(smtp.command(b"MAIL FROM:<carol@other.test>\0 SIZE=10"), 500, "5.5.2")
        self.assertReply(smtp.command(b"\0\0\0\0"), 500, "5.5.2")
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command(b"RCPT TO:<bob@example.test\0>"), 500, "5.5.2")
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 250)

    def test_non_utf8_bytes_in_commands(self):
        smtp = self.greeted()
        self.assertReply(smtp.command(b"\xff\xfe\xfd"), 500, "5.5.2")
        self.assertReply(smtp.command(b"N\xc3OOP"), 500, "5.5.2")
        # SMTPUTF8 is not offered: non-ASCII in an address is a syntax error
        # (RFC 6531 section 3.2).
        self.assertReply(smtp.command(b"MAIL FROM:<caf\xe9@other.test>"), 501, "5.1.7")
        self.assertReply(smtp.command(b"MAIL FROM:<carol@\xff\xfe.test>"), 501, "5.1.7")
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command(b"RCPT TO:<b\xc3\xb6b@example.test>"), 501, "5.1.3")
        self.assertReply(smtp.command(b"RCPT TO:<bob@example.test>"), 250)

    def test_disconnect_in_the_middle_of_data(self):
        smtp = self.greeted()
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(smtp.command("DATA"), 354)
        smtp.send(b"Subject: cut short\r\n\r\nThe first line.\r\nThe second li")
        smtp.close()
        # The next client is served, and only its message is in the Maildir.
        self.assertStillServes()
        self.assertEqual(len(self.server.message_files("bob")), 1)
        self.assertNotIn(b"cut short", self.server.messages("bob")[0])
        self.assertEqual(self.server.message_files("bob", "tmp"), [])
        self.assertEqual(self.server.message_files("bob", "cur"), [])

    def test_ten_bad_commands_close_the_connection(self):
        smtp = self.greeted()
        for _ in range(9):
            self.assertReply(smtp.command("FROB"), 500)
        self.assertReply(smtp.command("FROB"), 500)
        # The tenth: 421, then the server closes (RFC 5321 section 3.8).
        self.assertReply(smtp.reply(), 421, "4.7.0")
        self.assertTrue(smtp.closed_by_peer(), "the connection stayed open after 421")

    def test_good_commands_do_not_reset_bad_count_too_early(self):
        """Bad commands mixed with good ones still count, up to ten."""
        smtp = self.greeted()
        for _ in range(9):
            self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 503)
            self.assertReply(smtp.command("NOOP"), 250)
        self.assertReply(smtp.command("DATA"), 503)
        self.assertReply(smtp.reply(), 421, "4.7.0")
        self.assertTrue(smtp.closed_by_peer())

    def test_relay_without_auth_on_the_mta_port(self):
        smtp = self.greeted()
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        # A domain we have a route for: still no relay for strangers.
        self.assertReply(smtp.command("RCPT TO:<dave@other.test>"), 550, "5.7.1")
        # And one we have no route for.
        self.assertReply(smtp.command("RCPT TO:<dave@unrouted.test>"), 550, "5.7.1")
        self.assertReply(smtp.command("DATA"), 554, "5.5.1")
        self.assertEqual(self.server.queue_files(), [])

    def test_no_such_local_user(self):
        smtp = self.greeted()
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("RCPT TO:<nobody@example.test>"), 550, "5.1.1")

    def test_wrong_password(self):
        smtp = self.greeted(self.server.submission_port)
        self.assertReply(smtp.auth_plain("alice", "wrong"), 535, "5.7.8")
        self.assertReply(smtp.auth_plain("nobody", "alicepw"), 535, "5.7.8")
        self.assertReply(smtp.auth_plain("bob", "alicepw"), 535, "5.7.8")
        # LOGIN, step by step.
        self.assertReply(smtp.command("AUTH LOGIN"), 334)
        self.assertReply(smtp.command("YWxpY2U="), 334)        # alice
        self.assertReply(smtp.command("d3Jvbmc="), 535, "5.7.8")  # wrong
        # Still not authenticated, so no mail yet.
        self.assertReply(smtp.command("MAIL FROM:<alice@example.test>"), 530, "5.7.0")
        self.assertReply(smtp.auth_plain("alice", "alicepw"), 235, "2.7.0")

    def test_bare_lf_in_data(self):
        smtp = self.greeted()
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(smtp.command("DATA"), 354)
        # RFC 5321 section 2.3.8: LF alone is not a line ending.
        smtp.send(b"Subject: bare\r\n\r\nline one\nline two\r\n.\r\n")
        self.assertReply(smtp.reply(), 550)
        self.assertEqual(self.server.message_files("bob"), [])

    def test_bare_lf_everywhere_in_data(self):
        """What `nc` without -C sends: a "." ended by a bare LF is ambiguous
        (SMTP smuggling), so the server refuses with 521 and closes."""
        smtp = self.greeted()
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(smtp.command("DATA"), 354)
        smtp.send(b"Subject: bare\n\nhello\n.\n")
        self.assertReply(smtp.reply(), 521, "5.5.2")
        self.assertTrue(smtp.closed_by_peer(), "the connection stayed open after 521")
        self.assertEqual(self.server.message_files("bob"), [])

    def test_smuggling_attempt_is_refused(self):
        """SMTP smuggling: a sending MTA that passes <LF>.<CR><LF> through
        inside one message must not get a second, smuggled message delivered
        (the server's own comment says refusing bare LF closes this hole).
        Postfix's answer is smtpd_forbid_bare_newline: refuse and disconnect."""
        smtp = self.greeted()
        self.assertReply(smtp.command("MAIL FROM:<carol@other.test>"), 250)
        self.assertReply(smtp.command("RCPT TO:<bob@example.test>"), 250)
        self.assertReply(smtp.command("DATA"), 354)
        smtp.send(b"Subject: one\r\n\r\nbody\n.\r\nMAIL FROM:<evil@other.test>\r\n"
                  b"RCPT TO:<alice@example.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nx\r\n"
                  b".\r\n")
        # What the sending MTA sees is one message. The expected answer is
        # 521 and a close; otherwise collect every reply up to a NOOP's.
        code, texts = smtp.reply()
        codes = [code]
        if code != 521:
            smtp.send(b"NOOP\r\n")
            while texts != ["2.0.0 OK"] and code != 421:
                code, texts = smtp.reply()
                codes.append(code)
        # Refused, and nothing after the "." is run as a command.
        self.assertEqual(codes, [521])
        self.assertTrue(smtp.closed_by_peer(), "the connection stayed open after 521")
        self.assertEqual(self.server.message_files("alice"), [],
                         "the smuggled message was delivered; replies: %r" % codes)
        self.assertEqual(self.server.message_files("bob"), [])
        smtp.close()

if __name__ == "__main__":
    mshelper.run()
