# SPDX-License-Identifier: GPL-3.0-or-later
"""IDLE (RFC 2177) with two raw sessions on one mailbox: B idles on INBOX
while mail arrives by SMTP and session A changes flags and expunges. B must
be told at once: "* n EXISTS", "* n FETCH (FLAGS (...))" and "* n EXPUNGE"
with sequence numbers that are right at the moment each response is sent
(RFC 3501 section 7.4.1: each EXPUNGE renumbers the messages after it).
B keeps its own model of the mailbox (a list of UIDs, position = sequence
number - 1) and applies each response to it, so any correct order of
EXPUNGE responses passes and any wrong number fails."""

import re
import socket
import time

import mshelper
from mshelper import ServerTestCase, imap_status, simple_message

QUIET_S = 1.0


class IdleTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(imap=True)
        self.uids = mshelper.imap_append(self.server, "alice", "alicepw", "INBOX",
                                         [simple_message("idle %d" % i) for i in range(1, 6)])
        self.assertEqual(self.uids, [1, 2, 3, 4, 5])
        self.a = self.session()
        self.b = self.session()

    def session(self):
        raw = mshelper.RawImap(self.server.imap_port)
        self.addCleanup(raw.close)
        raw.login("alice", "alicepw")
        untagged = raw.ok("SELECT INBOX")
        self.assertIn(b"* 5 EXISTS", untagged)
        return raw

    def wait_responses(self, raw, done, timeout=5):
        """Reads untagged responses until done(list so far) is true."""
        got = []
        deadline = time.monotonic() + timeout
        while not done(got):
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail("timed out waiting; got %r" % got)
            try:
                got.append(raw.response(timeout=left))
            except socket.timeout:
                self.fail("timed out waiting; got %r" % got)
        return got

    def drain(self, raw, quiet=0.3):
        """The responses that come until none comes for `quiet` seconds."""
        got = []
        while True:
            try:
                got.append(raw.response(timeout=quiet))
            except socket.timeout:
                return got

    def assertQuiet(self, raw):
        """Nothing more comes within QUIET_S."""
        try:
            line = raw.response(timeout=QUIET_S)
        except socket.timeout:
            return
        self.fail("unexpected response %r" % line)

    def apply(self, model, line):
        """Applies one untagged response to `model` (a list of [uid, flags]);
        returns (kind, number)."""
        match = re.match(rb"^\* (\d+) (EXISTS|EXPUNGE|RECENT|FETCH)\b(.*)$", line)
        self.assertIsNotNone(match, line)
        number, kind = int(match.group(1)), match.group(2).decode()
        if kind == "EXPUNGE":
            self.assertTrue(1 <= number <= len(model), (line, model))
            del model[number - 1]
        elif kind == "FETCH":
            self.assertTrue(1 <= number <= len(model), (line, model))
            flags = re.search(rb"FLAGS \(([^)]*)\)", match.group(3))
            self.assertIsNotNone(flags, line)
            model[number - 1][1] = set(flags.group(1).decode().split()) - {"\\Recent"}
            uid = re.search(rb"UID (\d+)", match.group(3))
            if uid:
                self.assertEqual(int(uid.group(1)), model[number - 1][0], line)
        return kind, number

    def test_idle_sees_delivery_flags_and_expunges(self):
        model = [[uid, set()] for uid in self.uids]
        self.b.send_line("i1 IDLE")
        self.assertTrue(self.b.response().startswith(b"+ "))
        self.assertQuiet(self.b)

        # A delivery by SMTP: "* 6 EXISTS" at once (maybe with RECENT).
        mshelper.deliver_by_smtp(self.server, "alice", [simple_message("idle by smtp")])
        got = self.wait_responses(self.b, lambda got: any(l.endswith(b" EXISTS") for l in got))
        got += self.drain(self.b)
        self.assertIn(b"* 6 EXISTS", got)
        for line in got:
            self.assertRegex(line, rb"^\* (6 EXISTS|1 RECENT)$")
        model.append([6, set()])

        # A stores \Seen on message 1.
        self.assertEqual(imap_status(self.a.command("STORE 1 +FLAGS (\\Seen)")[1]), "OK")
        got = self.wait_responses(self.b, lambda got: got)
        self.assertEqual(self.apply(model, got[0]), ("FETCH", 1))
        self.assertEqual(model[0], [1, {"\\Seen"}])
        self.assertQuiet(self.b)

        # A expunges messages 2 and 4 (UIDs 2 and 4) of the first five.
        untagged, tagged = self.a.command("STORE 2,4 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(imap_status(tagged), "OK", untagged)
        got = self.wait_responses(self.b, lambda got: len(got) >= 2)
        self.assertEqual(sorted(self.apply(model, line) for line in got),
                         [("FETCH", 2), ("FETCH", 4)])
        self.assertEqual(model[1], [2, {"\\Deleted"}])
        self.assertEqual(model[3], [4, {"\\Deleted"}])

        a_model = [[uid, set()] for uid in range(1, 7)]
        untagged, tagged = self.a.command("EXPUNGE")
        self.assertEqual(imap_status(tagged), "OK", untagged)
        for line in untagged:
            if b"EXPUNGE" in line:
                self.apply(a_model, line)
        self.assertEqual([uid for uid, _f in a_model], [1, 3, 5, 6])

        got = self.wait_responses(
            self.b, lambda got: sum(l.endswith(b" EXPUNGE") for l in got) >= 2)
        for line in got:
            self.apply(model, line)
        self.assertEqual([uid for uid, _f in model], [1, 3, 5, 6])
        self.assertQuiet(self.b)

        # DONE ends the IDLE with the tagged OK (RFC 2177 section 3).
        self.b.send_line("DONE")
        untagged, tagged = self.b.until_tagged("i1")
        self.assertEqual(imap_status(tagged), "OK", (untagged, tagged))
        self.assertEqual(untagged, [])
        # B's numbers now agree with the server's.
        untagged = self.b.ok("FETCH 1:* (UID)")
        self.assertEqual([int(re.search(rb"UID (\d+)", l).group(1)) for l in untagged],
                         [1, 3, 5, 6])
        self.assertEqual(self.b.ok("UID SEARCH ALL"), [b"* SEARCH 1 3 5 6"])
        # And on disk: four files, the first one seen.
        flags = sorted(f.flags or "" for f in self.server.maildir_files("alice"))
        self.assertEqual(flags, ["", "", "", "S"])

    def test_idle_ignores_other_folders(self):
        self.a.ok("CREATE Work")
        self.b.send_line("i1 IDLE")
        self.assertTrue(self.b.response().startswith(b"+ "))
        untagged, tagged = self.a.command("COPY 1:2 Work")
        self.assertEqual(imap_status(tagged), "OK", untagged)
        self.assertEqual(len(self.server.maildir_files("alice", "Work")), 2)
        self.assertQuiet(self.b)
        # A copy into INBOX is news for B.
        self.a.ok("SELECT Work")
        self.a.ok("COPY 1 INBOX")
        got = self.wait_responses(self.b, lambda got: any(l.endswith(b" EXISTS") for l in got))
        self.assertIn(b"* 6 EXISTS", got)
        self.b.send_line("DONE")
        untagged, tagged = self.b.until_tagged("i1")
        self.assertEqual(imap_status(tagged), "OK", (untagged, tagged))


if __name__ == "__main__":
    mshelper.run()
