# SPDX-License-Identifier: GPL-3.0-or-later
"""Bad input to mailscope-server's IMAP on raw sockets: literals cut short
or too large, bad tags, bad sequence sets, deep nesting, commands in the
wrong state, read-only mailboxes, hostile mailbox names and floods of bad
commands. Each must get a clear reply (RFC 3501 section 7.1: BAD for a
command the server cannot parse or that is not allowed in this state, NO
for one it refuses), and the server must go on serving others. Last, a
SIGKILL in the middle of an APPEND leaves no message, and one killed right
after its tagged OK is on disk (DESIGN.md, "The mail store")."""

import os
import re
import time

import mshelper
from mshelper import RawImap, ServerTestCase, imap_status, simple_message

BAD_LIMIT = 10  # max_bad_commands, server/ms-imap-session.h


class ImapBadInputTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(imap=True)

    def raw(self, login=True, select=None):
        raw = RawImap(self.server.imap_port)
        self.addCleanup(raw.close)
        if login:
            raw.login("alice", "alicepw")
        else:
            raw.greeting()
        if select:
            raw.ok("SELECT %s" % select)
        return raw

    def assertStatus(self, raw, command, *statuses):
        untagged, tagged = raw.command(command)
        self.assertIn(imap_status(tagged), statuses, (command[:80], untagged, tagged))
        return untagged, tagged

    def assertEachRefused(self, commands, statuses, login=True, select=None):
        """Each command gets one of `statuses`; a few per connection, since
        BAD_LIMIT bad commands end one."""
        step = BAD_LIMIT // 2
        for start in range(0, len(commands), step):
            raw = self.raw(login, select)
            for command in commands[start:start + step]:
                self.assertStatus(raw, command, *statuses)
            raw.close()

    def assertServes(self):
        """A new session logs in and selects INBOX: the server survived."""
        with RawImap(self.server.imap_port) as raw:
            raw.login("alice", "alicepw")
            self.assertIn(b"* %d EXISTS" % len(self.messages()), raw.ok("SELECT INBOX"))
        self.assertTrue(self.server.running())

    def messages(self, folder="INBOX"):
        return self.server.maildir_files("alice", folder)

    def tmp_files(self, folder="INBOX"):
        return os.listdir(os.path.join(self.server.folder_dir("alice", folder), "tmp"))

    # --- literals ---

    def test_unterminated_literal(self):
        for literal in ("{10}", "{10+}"):
            raw = self.raw()
            raw.send_line("a1 APPEND INBOX (\\Seen) " + literal)
            if literal == "{10}":
                self.assertTrue(raw.response().startswith(b"+"))
            raw.send(b"abc")
            time.sleep(0.2)
            raw.close()
        time.sleep(0.3)
        self.assertServes()
        self.assertEqual(self.messages(), [])
        self.assertEqual(self.tmp_files(), [])

    def test_literal_over_the_limit_is_refused_before_any_byte(self):
        raw = self.raw()
        raw.send_line("a1 APPEND INBOX {999999999}")
        line = raw.response()
        # No "+ " go-ahead: a tagged refusal at once (RFC 7889 TOOBIG fits).
        self.assertRegex(line, rb"^a1 (NO|BAD) ")
        # The connection is in step: the next line is a command.
        untagged, tagged = raw.command("NOOP")
        self.assertEqual(imap_status(tagged), "OK", (untagged, tagged))
        # A literal outside APPEND has a lower limit (64 KiB by default).
        raw.send_line("a2 LOGIN {100000}")
        self.assertRegex(raw.response(), rb"^a2 (NO|BAD) ")
        untagged, tagged = raw.command("NOOP")
        self.assertEqual(imap_status(tagged), "OK", (untagged, tagged))
        self.assertEqual(self.messages(), [])

        # A non-synchronizing literal (LITERAL+, RFC 7888 section 4) that is
        # too large: the client does not wait, so the server refuses it and
        # either reads past it or closes the connection.
        raw = self.raw()
        raw.send_line("b1 APPEND INBOX {999999999+}")
        raw.send(b"x" * 1000)
        try:
            line = raw.response()
            self.assertRegex(line, rb"^(b1 (NO|BAD)|\* BYE) ")
        except ConnectionError:
            pass
        self.assertServes()
        self.assertEqual(self.messages(), [])

    # --- tags and commands that do not parse ---

    def test_bad_tags_and_verbs(self):
        raw = self.raw(login=False)
        for line in (b"", b"*", b"+ NOOP", b"a{1 NOOP", b"a(1 NOOP"):
            raw.send_line(line)
            response = raw.response()
            # Without a usable tag the answer is untagged (RFC 3501 section 7.1).
            self.assertRegex(response, rb"^\* BAD ", line)
        raw = self.raw(login=False)
        for line, tag in ((b"a1", b"a1"), (b"a2 FROB", b"a2"), (b"a4 LOGIN alice", b"a4"),
                          (b"a5 LOGIN \"alice alicepw", b"a5")):
            raw.send_line(line)
            response = raw.response()
            self.assertTrue(response.startswith(tag + b" BAD ") or response.startswith(b"* BAD "),
                            (line, response))
        self.assertServes()

    def test_flood_of_bad_commands_ends_with_bye(self):
        raw = self.raw(login=False)
        for i in range(BAD_LIMIT + 10):
            try:
                raw.send_line("x%d FROB" % i)
            except OSError:
                break
        bads = 0
        while True:
            try:
                line = raw.response()
            except (ConnectionError, OSError):
                self.fail("connection closed without * BYE after %d BADs" % bads)
            if line.startswith(b"* BYE"):
                break
            self.assertRegex(line, rb"^x\d+ BAD ")
            bads += 1
        self.assertLessEqual(bads, BAD_LIMIT)
        self.assertTrue(raw.closed_by_peer())
        self.assertServes()

    def test_deep_nesting(self):
        self.server_messages(2)
        raw = self.raw(select="INBOX")
        self.assertStatus(raw, "FETCH 1 " + "(" * 5000 + "FLAGS" + ")" * 5000, "BAD")
        # SEARCH allows parentheses; so deep a nesting may be refused, but
        # must be answered, with the session still in step.
        self.assertStatus(raw, "SEARCH " + "(" * 5000 + "ALL" + ")" * 5000, "OK", "NO", "BAD")
        self.assertStatus(raw, "SEARCH " + "NOT " * 5000 + "ALL", "OK", "NO", "BAD")
        # A flag list nested 5000 deep, with a LITERAL+ message of one byte.
        self.assertStatus(raw, "APPEND INBOX " + "(" * 5000 + "\\Seen" + ")" * 5000
                          + " {1+}\r\nx", "BAD")
        self.assertEqual(raw.ok("SEARCH ALL"), [b"* SEARCH 1 2"])
        self.assertEqual(len(self.messages()), 2)

    # --- sequence sets (RFC 3501 section 9, sequence-set) ---

    def server_messages(self, count):
        return mshelper.imap_append(self.server, "alice", "alicepw", "INBOX",
                                    [simple_message("seq %d" % i) for i in range(1, count + 1)])

    def uids_of(self, untagged):
        """The UIDs in FETCH responses, sorted (the order is the server's)."""
        return sorted(int(re.search(rb"UID (\d+)", l).group(1))
                      for l in untagged if b" FETCH " in l)

    def test_sequence_sets(self):
        self.server_messages(5)
        raw = self.raw(select="INBOX")
        # "3:1" is the same set as "1:3" (RFC 3501 section 9, seq-range).
        self.assertEqual(self.uids_of(raw.ok("FETCH 3:1 (UID)")), [1, 2, 3])
        self.assertEqual(self.uids_of(raw.ok("FETCH *:4 (UID)")), [4, 5])
        self.assertEqual(self.uids_of(raw.ok("FETCH 5,1,3,1 (UID)")), [1, 3, 5])
        self.assertEqual(self.uids_of(raw.ok("UID FETCH 3:1 (UID)")), [1, 2, 3])
        self.assertEqual(self.uids_of(raw.ok("UID FETCH 99 (UID)")), [])
        self.assertEqual(self.uids_of(raw.ok("UID FETCH 4:99 (UID)")), [4, 5])
        bad = ["FETCH %s (UID)" % s for s in ("0", "6", "1:6", "0:2", "1,,2", "1:2:3", "a", "-1",
                                              "4294967296", "1:", ",1",
                                              "99999999999999999999")]
        bad += ["UID FETCH %s (UID)" % s for s in ("0", "1:0x", "abc")]
        bad += ["STORE 0 +FLAGS (\\Seen)", "STORE 6 +FLAGS (\\Seen)"]
        self.assertEachRefused(bad, ("BAD", "NO"), select="INBOX")
        self.assertEqual(sorted(f.flags or "" for f in self.messages()), [""] * 5)

        raw.ok("CREATE Empty")
        raw.ok("SELECT Empty")
        # "*" is the largest number in use, and an empty mailbox has none.
        self.assertStatus(raw, "FETCH 1:* (UID)", "BAD", "NO")
        self.assertStatus(raw, "FETCH * (UID)", "BAD", "NO")
        self.assertEqual(raw.ok("UID FETCH 1:* (UID)"), [])
        self.assertEqual(raw.ok("SEARCH 1:*"), [b"* SEARCH"])

    # --- states ---

    def test_commands_in_the_wrong_state(self):
        before_login = ["SELECT INBOX", "EXAMINE INBOX", "CREATE X", "DELETE X",
                        "RENAME X Y", "LIST \"\" *", "STATUS INBOX (MESSAGES)",
                        "FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)",
                        "SEARCH ALL", "COPY 1 INBOX", "EXPUNGE", "CLOSE", "UNSELECT",
                        "UID FETCH 1 FLAGS", "NAMESPACE", "IDLE", "LSUB \"\" *",
                        "SUBSCRIBE INBOX", "UID MOVE 1 INBOX"]
        after_login = ["FETCH 1 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL", "COPY 1 INBOX",
                       "EXPUNGE", "CLOSE", "UNSELECT", "UID FETCH 1 FLAGS",
                       "UID STORE 1 +FLAGS (\\Seen)", "UID SEARCH ALL", "MOVE 1 INBOX",
                       "LOGIN alice alicepw", "AUTHENTICATE PLAIN"]
        self.assertEachRefused(before_login, ("BAD",), login=False)
        self.assertEachRefused(after_login, ("BAD",))
        # STARTTLS once logged in: BAD as well (RFC 3501 section 6.2.1).
        self.assertStatus(self.raw(), "STARTTLS", "BAD")
        self.assertEqual(self.messages(), [])
        for name in (".X", ".Y"):
            self.assertFalse(os.path.exists(os.path.join(self.server.folder_dir("alice"), name)))

    def test_examine_is_read_only(self):
        self.server_messages(2)
        raw = self.raw()
        untagged, tagged = raw.command("EXAMINE INBOX")
        self.assertIn(b"[READ-ONLY]", tagged)
        for command in ("STORE 1 +FLAGS (\\Deleted)", "UID STORE 1 -FLAGS (\\Seen)",
                        "EXPUNGE", "UID EXPUNGE 1", "MOVE 1 INBOX"):
            self.assertStatus(raw, command, "NO")
        # A FETCH of the body sets no \Seen in a read-only mailbox.
        raw.ok("FETCH 1 BODY[]")
        raw.ok("CLOSE")
        self.assertEqual(sorted(f.flags or "" for f in self.messages()), ["", ""])

    # --- mailbox names ---

    def tree_outside_alice(self):
        """Every path under the test's directory that is not inside alice's
        mail tree, and not a server log."""
        alice = os.path.join(self.server.domain_dir(), "mail", "alice")
        out = set()
        for root, dirs, files in os.walk(self.tmp):
            for name in dirs + files:
                path = os.path.join(root, name)
                if path == alice or path.startswith(alice + os.sep) or path.endswith(".log"):
                    continue
                out.add(path)
        return out

    def test_mailbox_names_stay_inside_the_tree(self):
        raw = self.raw()
        before = self.tree_outside_alice()
        marker = "escape%d" % os.getpid()
        hostile = ["../" + marker, "../../" + marker, "../../../../../../" + marker,
                   "a/../../" + marker, "/" + marker, marker + "/", "a//b", "..", ".",
                   ".hidden", "a.b", "a%b", "a*b", "%", "*", "a\\b", "&Jjo", "&-&",
                   "&AOQ", "~alice", "../bob", "INBOX/../../bob"]
        created = {}
        for name in hostile:
            untagged, tagged = raw.command("CREATE %s" % mshelper.imap_quote(name))
            self.assertIn(imap_status(tagged), ("OK", "NO", "BAD"), (name, tagged))
            created[name] = imap_status(tagged) == "OK"
        # These are never folder names: '.' is Maildir++'s separator,
        # '%' and '*' are LIST wildcards (server/ms-store.h).
        for name in hostile:
            if "." in name or "%" in name or "*" in name:
                self.assertFalse(created[name], name)
        # Nothing appeared outside alice's tree, at any depth.
        self.assertEqual(self.tree_outside_alice() - before, set())
        path = os.path.dirname(self.server.folder_dir("alice"))
        while path != os.path.dirname(path):
            for name in (marker, "." + marker):
                self.assertFalse(os.path.exists(os.path.join(path, name)), path)
            path = os.path.dirname(path)
        # No other user's folder is reachable by a name.
        for name in ("../bob", "../bob/INBOX", "..", "../../example.test/mail/bob"):
            self.assertStatus(raw, "SELECT %s" % mshelper.imap_quote(name), "NO", "BAD")
            self.assertStatus(raw, "STATUS %s (MESSAGES)" % mshelper.imap_quote(name),
                              "NO", "BAD")
            self.assertStatus(raw, "DELETE %s" % mshelper.imap_quote(name), "NO", "BAD")
        self.assertStatus(raw, "RENAME INBOX \"../" + marker + "\"", "NO", "BAD")
        self.assertTrue(os.path.isdir(os.path.join(self.server.domain_dir(), "mail", "bob",
                                                   "new")))

        # Modified UTF-7 (RFC 3501 section 5.1.3): "&AOQ-" is "ä", kept
        # inside the tree, and listed as it was given.
        raw.ok('CREATE "&AOQ-"')
        raw.ok('CREATE "Caf&AOk-/Men&APw-"')
        listed = [mshelper.parse_list(l) for l in raw.ok('LIST "" "*"')]
        names = {name for _a, _d, name in listed}
        self.assertIn("&AOQ-", names)
        self.assertIn("Caf&AOk-/Men&APw-", names)
        home = self.server.folder_dir("alice")
        self.assertTrue(os.path.isdir(os.path.join(home, ".\u00e4", "cur")),
                        os.listdir(home))
        self.assertTrue(os.path.isdir(os.path.join(home, ".Caf\u00e9.Men\u00fc", "cur")),
                        os.listdir(home))
        raw.ok('SELECT "&AOQ-"')
        # Raw 8-bit is not a mailbox name (RFC 3501 section 5.1.3).
        raw.send(b't100 CREATE "caf\xc3\xa9"\r\n')
        untagged, tagged = raw.until_tagged("t100")
        self.assertIn(imap_status(tagged), ("NO", "BAD"), tagged)
        self.assertEqual(self.tree_outside_alice() - before, set())

    # --- kill -9 and APPEND ---

    def test_kill_during_append_leaves_no_message(self):
        message = simple_message("half sent", body="x" * 4000)
        raw = RawImap(self.server.imap_port)
        raw.login("alice", "alicepw")
        raw.send_line("a1 APPEND INBOX (\\Seen) {%d}" % len(message))
        self.assertTrue(raw.response().startswith(b"+"))
        raw.send(message[:len(message) // 2])
        time.sleep(0.3)
        self.server.kill()
        raw.close()
        self.server = self.restart(self.server)
        self.assertEqual(self.messages(), [])
        client = mshelper.imap_connect(self.server)
        try:
            self.assertEqual(client.select("INBOX"), ("OK", [b"0"]))
            typ, data = client.status("INBOX", "(MESSAGES UIDNEXT)")
            self.assertIn(b"MESSAGES 0", data[0])
        finally:
            client.logout()
        self.assertEqual(self.messages(), [])
        # tmp/ may hold the half file, but it is never a message: nothing
        # with the whole message's bytes.
        for name in self.tmp_files():
            with open(os.path.join(self.server.folder_dir("alice"), "tmp", name), "rb") as f:
                self.assertNotEqual(f.read(), message)

    def test_append_ok_survives_kill(self):
        message = simple_message("acknowledged")
        raw = RawImap(self.server.imap_port)
        raw.login("alice", "alicepw")
        raw.send_line("a1 APPEND INBOX (\\Flagged) {%d}" % len(message))
        self.assertTrue(raw.response().startswith(b"+"))
        raw.send(message + b"\r\n")
        untagged, tagged = raw.until_tagged("a1")
        self.server.kill()
        raw.close()
        self.assertEqual(imap_status(tagged), "OK", tagged)
        uid = int(re.search(rb"\[APPENDUID \d+ (\d+)\]", tagged).group(1))
        self.assertEqual(self.server.maildir_flags("alice"), {message: "F"})
        self.server = self.restart(self.server)
        client = mshelper.imap_connect(self.server)
        try:
            self.assertEqual(client.select("INBOX"), ("OK", [b"1"]))
            typ, data = client.uid("FETCH", str(uid), "(FLAGS BODY.PEEK[])")
            self.assertEqual(typ, "OK", data)
            self.assertIn(b"\\Flagged", data[0][0])
            self.assertEqual(data[0][1], message)
        finally:
            client.logout()


if __name__ == "__main__":
    mshelper.run()
