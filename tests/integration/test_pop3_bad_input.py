# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input to mailscope-server's POP3 on raw sockets. Each case checks the
exact reply (docs/pop3.md, RFC 1939, RFC 2449 response codes) and then that
another client is served normally: a poplib session that sees every message
still in the maildrop, byte for byte."""

import poplib
import socket
import time

import mshelper
from mshelper import HOST, RawPop3, ServerTestCase

WRONG_STATE_BEFORE = ("-ERR %s is only valid after login; "
                      "log in with USER and PASS, APOP or AUTH first")


class Pop3BadInputTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test")
        self.stored = mshelper.deliver_by_smtp(self.server, "bob",
                                               mshelper.pop3_test_messages("bad input"))
        self.before = mshelper.maildrop_snapshot(self.server, "bob")
        self.connections = []

    def tearDown(self):
        try:
            # A session left open would hold the maildrop (cleanups run
            # only after tearDown).
            for connection in self.connections:
                connection.close()
            if self.server.running():
                self.assertStillServes()
        finally:
            super().tearDown()

    def assertStillServes(self):
        """poplib logs in (once the server has seen every earlier connection
        close) and retrieves what is on disk now."""
        self.assertTrue(self.server.running(), "the server died:\n" + self.server.stderr())
        on_disk = sorted(mshelper.maildrop_snapshot(self.server, "bob").values())

        def login():
            pop = poplib.POP3(HOST, self.server.pop3_port, timeout=10)
            pop.user("bob")
            try:
                pop.pass_("bobpw")
            except poplib.error_proto as e:
                pop.close()
                # The server may not have seen an earlier session's close yet.
                self.assertIn(b"[IN-USE]", e.args[0])
                return None
            return pop

        pop = mshelper.wait_for(login, timeout=10, interval=0.1, what="a normal POP3 login")
        try:
            count, _size = pop.stat()
            self.assertEqual(count, len(on_disk))
            got = [b"".join(l + b"\r\n" for l in pop.retr(n)[1]) for n in range(1, count + 1)]
            self.assertEqual(sorted(got), on_disk)
            self.assertTrue(pop.quit().startswith(b"+OK"))
        finally:
            pop.close()

    def assertMaildropUnchanged(self):
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), self.before)

    def connect(self, port=None):
        pop = RawPop3(port or self.server.pop3_port)
        self.connections.append(pop)
        return pop

    def greeted(self):
        pop = self.connect()
        self.assertTrue(pop.reply().startswith("+OK example.test Mailscope POP3 server ready"))
        return pop

    def logged_in(self):
        pop = self.connect()
        self.assertEqual(pop.login("bob", "bobpw"),
                         "+OK bob has 3 messages (%d octets)" % sum(map(len, self.stored)))
        return pop

    # --- the cases ---

    def test_commands_in_the_wrong_state(self):
        pop = self.greeted()
        for verb in ("STAT", "LIST", "RETR 1", "DELE 1", "TOP 1 0", "UIDL", "NOOP", "RSET"):
            self.assertEqual(pop.command(verb), WRONG_STATE_BEFORE % verb.split()[0])
        self.assertEqual(pop.command("USER bob"), "+OK send PASS")
        self.assertTrue(pop.command("PASS bobpw").startswith("+OK bob has 3 messages"))
        self.assertEqual(pop.command("QUIT"),
                         "+OK example.test POP3 server signing off (3 messages left)")
        self.assertTrue(pop.closed_by_peer())

        # A new session: 10 bad commands in one session close it.
        pop = self.logged_in()
        for verb in ("USER bob", "PASS bobpw", "APOP bob 0123456789abcdef0123456789abcdef",
                     "STLS", "AUTH PLAIN"):
            self.assertEqual(pop.command(verb),
                             "-ERR %s is only valid before login" % verb.split()[0])
        self.assertEqual(pop.command("STAT"), "+OK 3 %d" % sum(map(len, self.stored)))
        self.assertEqual(pop.command("QUIT"),
                         "+OK example.test POP3 server signing off (3 messages left)")
        self.assertTrue(pop.closed_by_peer())
        self.assertMaildropUnchanged()

    def test_pass_before_user(self):
        pop = self.greeted()
        self.assertEqual(pop.command("PASS bobpw"), "-ERR send USER first")
        self.assertEqual(pop.command("USER bob"), "+OK send PASS")
        self.assertEqual(pop.command("NOOP"), WRONG_STATE_BEFORE % "NOOP")
        # A bad command between USER and PASS does not make the server
        # forget the name.
        reply = pop.command("PASS bobpw")
        self.assertTrue(reply.startswith("+OK bob has 3 messages"), reply)
        self.assertEqual(pop.command("QUIT"),
                         "+OK example.test POP3 server signing off (3 messages left)")

    def test_pass_without_argument(self):
        pop = self.greeted()
        self.assertEqual(pop.command("USER bob"), "+OK send PASS")
        self.assertEqual(pop.command("PASS"), "-ERR syntax: PASS password")
        # The USER name was used up by that PASS.
        self.assertEqual(pop.command("PASS bobpw"), "-ERR send USER first")

    def test_deleted_and_missing_messages(self):
        pop = self.logged_in()
        self.assertEqual(pop.command("DELE 2"), "+OK message 2 deleted")
        for verb in ("RETR 2", "DELE 2", "LIST 2", "TOP 2 0", "UIDL 2"):
            self.assertEqual(pop.command(verb), "-ERR message 2 already deleted")
        for verb in ("RETR 4", "DELE 4", "LIST 0", "TOP 0 0", "UIDL 4294967295",
                     "RETR 9999999999"):
            self.assertEqual(pop.command(verb), "-ERR no such message, only 3 messages in maildrop")
        # Still 2 messages visible; RSET brings message 2 back.
        self.assertEqual(pop.command("STAT"),
                         "+OK 2 %d" % (len(self.stored[0]) + len(self.stored[2])))
        self.assertEqual(pop.command("RSET"),
                         "+OK maildrop has 3 messages (%d octets)" % sum(map(len, self.stored)))
        status, body = pop.multiline("RETR 2")
        self.assertEqual((status, body), ("+OK %d octets" % len(self.stored[1]), self.stored[1]))
        self.assertEqual(pop.command("QUIT"),
                         "+OK example.test POP3 server signing off (3 messages left)")
        self.assertMaildropUnchanged()

    def test_bad_numbers(self):
        pop = self.logged_in()
        # Decimal, 1 to 10 digits, no sign (docs/pop3.md).
        for arg in ("abc", "-1", "+1", "0x1", "12345678901", "9" * 200, "1.0"):
            self.assertEqual(pop.command("RETR " + arg),
                             '-ERR syntax: RETR takes a message number (1 to 3), not "%s"' % arg)
        self.assertEqual(pop.command("TOP 1 -1"),
                         '-ERR syntax: TOP\'s line count is a non-negative number, not "-1"')
        self.assertEqual(pop.command("TOP 1"), "-ERR syntax: TOP message number, number of lines")
        # 9 bad commands so far; one more would close the session.
        status, body = pop.multiline("TOP 1 4294967295")
        self.assertEqual((status, body), ("+OK top of message follows", self.stored[0]))
        self.assertEqual(pop.command("NOOP"), "+OK")
        self.assertEqual(pop.command("QUIT"),
                         "+OK example.test POP3 server signing off (3 messages left)")

    def test_over_long_lines(self):
        pop = self.greeted()
        # RFC 2449 section 4: 255 octets with CRLF.
        line = "USER " + "a" * 248
        self.assertEqual(len(line) + 2, 255)
        self.assertEqual(pop.command(line), "+OK send PASS")
        self.assertEqual(pop.command(line + "a"),
                         "-ERR line too long (a command is at most 255 octets)")
        # Far longer than anything the server buffers (AUTH lines reach 1024).
        self.assertEqual(pop.command(b"USER " + b"b" * 100000),
                         "-ERR line too long (a command is at most 255 octets)")
        # The rest of that line was thrown away; the session goes on.
        self.assertEqual(pop.command("USER bob"), "+OK send PASS")
        self.assertTrue(pop.command("PASS bobpw").startswith("+OK bob has 3 messages"))
        self.assertEqual(pop.command(b"LIST " + b"1" * 300),
                         "-ERR line too long (a command is at most 255 octets)")
        self.assertEqual(pop.command("LIST 1"), "+OK 1 %d" % len(self.stored[0]))

    def test_too_many_errors_close(self):
        pop = self.greeted()
        for _ in range(9):
            self.assertEqual(pop.command("XYZZY"), "-ERR unknown command")
        self.assertEqual(pop.command("XYZZY"), "-ERR unknown command")
        self.assertEqual(pop.reply(), "-ERR too many errors, closing connection")
        self.assertTrue(pop.closed_by_peer())

    def test_wrong_password_three_times(self):
        pop = self.greeted()
        waits = []
        for attempt in range(3):
            self.assertEqual(pop.command("USER bob"), "+OK send PASS")
            started = time.monotonic()
            reply = pop.command("PASS wrong%d" % attempt)
            waits.append(time.monotonic() - started)
            if attempt < 2:
                self.assertEqual(reply, "-ERR [AUTH] invalid user name or password")
        self.assertEqual(reply, "-ERR [AUTH] invalid user name or password; too many failures, "
                         "closing connection")
        self.assertTrue(pop.closed_by_peer())
        # 1 s, 2 s, 4 s (docs/pop3.md, Limits); a little slack for the clock.
        for wait, least in zip(waits, (1.0, 2.0, 4.0)):
            self.assertGreaterEqual(wait, least - 0.05, waits)
            self.assertLess(wait, least + 1.5, waits)
        # The right password, in a new session, is answered at once.
        pop = self.connect()
        started = time.monotonic()
        self.assertTrue(pop.login("bob", "bobpw").startswith("+OK bob has 3 messages"))
        self.assertLess(time.monotonic() - started, 0.9)
        pop.command("QUIT")
        self.assertMaildropUnchanged()

    def test_drop_before_quit_deletes_nothing(self):
        pop = self.logged_in()
        for number in (1, 2, 3):
            self.assertEqual(pop.command("DELE %d" % number), "+OK message %d deleted" % number)
        self.assertEqual(pop.command("STAT"), "+OK 0 0")
        # The connection drops: no QUIT, so no UPDATE state (RFC 1939 section 6).
        pop.sock.shutdown(socket.SHUT_RDWR)
        pop.close()
        # The next session (tearDown's) waits for the lock to go, and sees all 3.
        self.assertStillServes()
        self.assertMaildropUnchanged()

    def test_second_session_is_in_use(self):
        first = self.logged_in()
        second = self.greeted()
        self.assertEqual(second.command("USER bob"), "+OK send PASS")
        started = time.monotonic()
        self.assertEqual(second.command("PASS bobpw"),
                         "-ERR [IN-USE] maildrop already locked: another POP3 session of bob "
                         "is open")
        # Not a wrong password: no delay.
        self.assertLess(time.monotonic() - started, 0.9)
        # The second session stays in AUTHORIZATION; another user can log in.
        self.assertEqual(second.command("STAT"), WRONG_STATE_BEFORE % "STAT")
        self.assertEqual(first.command("DELE 1"), "+OK message 1 deleted")
        self.assertEqual(first.command("QUIT"),
                         "+OK example.test POP3 server signing off (2 messages left)")
        self.assertTrue(first.closed_by_peer())
        self.assertEqual(len(mshelper.maildrop_snapshot(self.server, "bob")), 2)
        # Now that the first has quit, the second logs in.
        self.assertEqual(second.command("USER bob"), "+OK send PASS")
        self.assertEqual(second.command("PASS bobpw"),
                         "+OK bob has 2 messages (%d octets)"
                         % (len(self.stored[1]) + len(self.stored[2])))
        self.assertEqual(second.command("QUIT"),
                         "+OK example.test POP3 server signing off (2 messages left)")

    def test_pipelined_commands(self):
        """CAPA says PIPELINING (RFC 2449 section 6.6): commands sent in one
        write are answered in order, also across a wrong password's hold."""
        pop = self.greeted()
        started = time.monotonic()
        pop.send(b"USER bob\r\nPASS wrong\r\nUSER bob\r\nPASS bobpw\r\n"
                 b"STAT\r\nLIST\r\nUIDL 1\r\nRETR 2\r\nNOOP\r\nQUIT\r\n")
        self.assertEqual(pop.reply(), "+OK send PASS")
        self.assertEqual(pop.reply(), "-ERR [AUTH] invalid user name or password")
        self.assertGreaterEqual(time.monotonic() - started, 0.95)
        self.assertEqual(pop.reply(), "+OK send PASS")
        self.assertTrue(pop.reply().startswith("+OK bob has 3 messages"))
        self.assertEqual(pop.reply(), "+OK 3 %d" % sum(map(len, self.stored)))
        self.assertEqual(pop.reply(), "+OK 3 messages (%d octets)" % sum(map(len, self.stored)))
        for number, message in enumerate(self.stored, 1):
            self.assertEqual(pop.read_line(), b"%d %d" % (number, len(message)))
        self.assertEqual(pop.read_line(), b".")
        uidl = mshelper.maildrop_uidls(self.server, "bob", self.stored)[0]
        self.assertEqual(pop.reply(), "+OK 1 " + uidl)
        self.assertEqual(pop.reply(), "+OK %d octets" % len(self.stored[1]))
        body = []
        while True:
            line = pop.read_line()
            if line == b".":
                break
            body.append((line[1:] if line.startswith(b".") else line) + b"\r\n")
        self.assertEqual(b"".join(body), self.stored[1])
        self.assertEqual(pop.reply(), "+OK")
        self.assertEqual(pop.reply(), "+OK example.test POP3 server signing off (3 messages left)")
        self.assertTrue(pop.closed_by_peer())

    def test_plain_text_after_stls_is_discarded(self):
        """RFC 2595 section 4 (and CVE-2011-0411's lesson): commands sent in
        plain text behind STLS must not be run inside the TLS session."""
        pop = self.greeted()
        pop.send(b"STLS\r\nUSER bob\r\nPASS bobpw\r\nDELE 1\r\nQUIT\r\n")
        self.assertEqual(pop.reply(), "+OK Begin TLS negotiation")
        pop.sock = mshelper.insecure_tls_context().wrap_socket(pop.sock)
        # The first reply under TLS answers this CAPA, not the injected USER.
        pop.send_line("CAPA")
        self.assertEqual(pop.reply(), "+OK Capability list follows")
        capa = []
        while True:
            line = pop.read_line()
            if line == b".":
                break
            capa.append(line)
        self.assertNotIn(b"STLS", capa)
        # The USER name of the plain-text part is forgotten too.
        self.assertEqual(pop.command("PASS bobpw"), "-ERR send USER first")
        self.assertEqual(pop.command("QUIT"), "+OK example.test POP3 server signing off")
        self.assertMaildropUnchanged()

    def test_empty_maildrop_multiline_replies(self):
        pop = self.connect()
        self.assertEqual(pop.login("alice", "alicepw"), "+OK alice has 0 messages (0 octets)")
        self.assertEqual(pop.multiline("LIST"), ("+OK 0 messages (0 octets)", b""))
        self.assertEqual(pop.multiline("UIDL"), ("+OK unique-id listing follows", b""))
        self.assertEqual(pop.command("STAT"), "+OK 0 0")
        self.assertEqual(pop.command("RETR 1"), "-ERR no such message, only 0 messages in maildrop")
        self.assertEqual(pop.command("QUIT"),
                         "+OK example.test POP3 server signing off (maildrop empty)")


if __name__ == "__main__":
    mshelper.run()
