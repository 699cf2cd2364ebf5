# SPDX-License-Identifier: GPL-3.0-or-later
"""Python's poplib against mailscope-server's POP3 (RFC 1939): USER/PASS in
plain text, STLS (RFC 2595), implicit TLS on the POP3S port (RFC 8314) and
APOP (RFC 1939 section 7). The mail is put in the maildrop by SMTP, so the
bytes every RETR must return are the Maildir files' bytes."""

import hashlib
import poplib
import re

import mshelper
from mshelper import HOST, ServerTestCase

APOP_SECRET = "tanstaaf"


def wire(lines):
    """poplib's RETR/TOP lines (unstuffed, CRLF taken off) back as bytes."""
    return b"".join(line + b"\r\n" for line in lines)


class PoplibTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(
            "example.test", extra_args=["--apop-secret", "bob:" + APOP_SECRET])
        self.sent = mshelper.pop3_test_messages("poplib")
        self.stored = mshelper.deliver_by_smtp(self.server, "bob", self.sent)
        self.before = mshelper.maildrop_snapshot(self.server, "bob")

    def connect(self, kind="plain"):
        if kind == "ssl":
            pop = poplib.POP3_SSL(HOST, self.server.pop3s_port,
                                  context=mshelper.insecure_tls_context(), timeout=10)
        else:
            pop = poplib.POP3(HOST, self.server.pop3_port, timeout=10)
        self.addCleanup(pop.close)
        return pop

    def login(self, kind="plain"):
        pop = self.connect(kind)
        pop.user("bob")
        self.assertTrue(pop.pass_("bobpw").startswith(b"+OK"))
        return pop

    def assertRetrievesAll(self, pop):
        """RETR of every message gives the Maildir file's bytes, and the
        octet count in "+OK n octets" is their length."""
        count, _size = pop.stat()
        self.assertEqual(count, len(self.stored))
        for number, expected in enumerate(self.stored, 1):
            response, lines, _octets = pop.retr(number)
            self.assertEqual(response, b"+OK %d octets" % len(expected))
            self.assertEqual(wire(lines), expected, "message %d" % number)

    def assertMaildropUnchanged(self):
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), self.before)

    # --- logging in ---

    def test_user_pass_plain(self):
        pop = self.connect()
        self.assertTrue(pop.getwelcome().startswith(b"+OK example.test Mailscope POP3"))
        capa = pop.capa()
        for name in ("TOP", "UIDL", "USER", "RESP-CODES", "STLS"):
            self.assertIn(name, capa)
        pop.user("bob")
        self.assertEqual(pop.pass_("bobpw"),
                         b"+OK bob has 3 messages (%d octets)" % sum(map(len, self.stored)))
        self.assertRetrievesAll(pop)
        self.assertTrue(pop.quit().startswith(b"+OK"))
        self.assertMaildropUnchanged()

    def test_stls(self):
        pop = self.connect()
        pop.stls(context=mshelper.insecure_tls_context())
        # RFC 2595 section 4: STLS is not offered again under TLS.
        self.assertNotIn("STLS", pop.capa())
        pop.user("bob")
        pop.pass_("bobpw")
        self.assertRetrievesAll(pop)
        pop.quit()
        self.assertMaildropUnchanged()

    def test_pop3s(self):
        pop = self.connect("ssl")
        self.assertNotIn("STLS", pop.capa())
        pop.user("bob")
        pop.pass_("bobpw")
        self.assertRetrievesAll(pop)
        pop.quit()
        self.assertMaildropUnchanged()

    def test_apop(self):
        pop = self.connect()
        first_timestamp = re.search(rb"<[^<>]*@[^<>]*>$", pop.getwelcome())
        self.assertIsNotNone(first_timestamp, pop.getwelcome())
        # poplib computes MD5(timestamp + secret) itself (RFC 1939 section 7).
        self.assertTrue(pop.apop("bob", APOP_SECRET).startswith(b"+OK bob has 3 messages"))
        self.assertRetrievesAll(pop)
        pop.quit()

        # A digest for the wrong secret is refused with [AUTH] (RFC 3206).
        pop = self.connect()
        with self.assertRaises(poplib.error_proto) as caught:
            pop.apop("bob", "not the secret")
        self.assertTrue(str(caught.exception).startswith("b'-ERR [AUTH]"), caught.exception)
        # The right digest for the first session's greeting is refused here:
        # every greeting has a new timestamp, so a digest cannot be replayed.
        self.assertNotEqual(pop.getwelcome(), b"")
        self.assertNotIn(first_timestamp.group(0), pop.getwelcome())
        digest = hashlib.md5(first_timestamp.group(0) + APOP_SECRET.encode()).hexdigest()
        with self.assertRaises(poplib.error_proto):
            pop._shortcmd("APOP bob " + digest)
        self.assertMaildropUnchanged()

    # --- what the maildrop looks like ---

    def test_list_and_stat_sizes_are_file_sizes(self):
        pop = self.login()
        count, size = pop.stat()
        self.assertEqual(count, 3)
        # The files hold CRLF line ends: the wire size is the file size.
        self.assertEqual(size, sum(map(len, self.stored)))
        response, lines, _ = pop.list()
        self.assertEqual(response, b"+OK 3 messages (%d octets)" % size)
        self.assertEqual(lines, [b"%d %d" % (n, len(m)) for n, m in enumerate(self.stored, 1)])
        self.assertEqual(pop.list(2), b"+OK 2 %d" % len(self.stored[1]))
        self.assertEqual(sum(int(l.split()[1]) for l in lines), size)
        # A deleted message leaves STAT and LIST (RFC 1939 section 5).
        pop.dele(1)
        self.assertEqual(pop.stat(), (2, size - len(self.stored[0])))
        self.assertEqual(len(pop.list()[1]), 2)
        pop.rset()
        self.assertEqual(pop.stat(), (3, size))
        pop.quit()
        self.assertMaildropUnchanged()

    def test_uidl_is_stable_across_sessions(self):
        pop = self.login()
        first = pop.uidl()[1]
        pop.quit()
        uidls = mshelper.maildrop_uidls(self.server, "bob", self.stored)
        self.assertEqual(first, [b"%d %s" % (n, u.encode()) for n, u in enumerate(uidls, 1)])
        pop = self.login("ssl")
        self.assertEqual(pop.uidl()[1], first)
        self.assertEqual(pop.uidl(3), b"+OK " + first[2])
        # Deleting message 1 leaves the others' ids as they were.
        pop.dele(1)
        pop.quit()
        pop = self.login()
        self.assertEqual([l.split()[1] for l in pop.uidl()[1]],
                         [l.split()[1] for l in first[1:]])
        pop.quit()

    def test_top_zero_is_the_header(self):
        pop = self.login()
        for number, expected in enumerate(self.stored, 1):
            response, lines, _ = pop.top(number, 0)
            self.assertTrue(response.startswith(b"+OK"), response)
            header = expected[:expected.index(b"\r\n\r\n") + 4]
            # The header and the empty line, nothing of the body.
            self.assertEqual(wire(lines), header)
        # TOP 1 2: two body lines, the first begins with a dot... unstuffed.
        response, lines, _ = pop.top(1, 2)
        header = self.stored[0][:self.stored[0].index(b"\r\n\r\n") + 4]
        self.assertEqual(wire(lines), header + b"Dear Bob,\r\n.hidden\r\n")
        pop.quit()
        self.assertMaildropUnchanged()

    def test_retr_unstuffs_dot_lines(self):
        pop = self.login()
        _, lines, _ = pop.retr(1)
        self.assertIn(b".hidden", lines)
        self.assertIn(b"..", lines)
        self.assertIn(b"...three leading dots", lines)
        _, lines, _ = pop.retr(3)
        self.assertIn(b".line 00000", lines)
        self.assertEqual(wire(lines), self.stored[2])
        pop.quit()

    def test_delete_mode_empties_the_maildrop(self):
        pop = self.login()
        for number, expected in enumerate(self.stored, 1):
            self.assertEqual(wire(pop.retr(number)[1]), expected)
            pop.dele(number)
        # Nothing is removed before QUIT (RFC 1939 section 6).
        self.assertMaildropUnchanged()
        self.assertEqual(pop.quit(), b"+OK example.test POP3 server signing off (maildrop empty)")
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), {})
        pop = self.login()
        self.assertEqual(pop.stat(), (0, 0))
        pop.quit()


if __name__ == "__main__":
    mshelper.run()
