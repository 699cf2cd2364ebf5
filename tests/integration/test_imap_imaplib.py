# SPDX-License-Identifier: GPL-3.0-or-later
"""Python's imaplib against mailscope-server's IMAP (RFC 3501 and the
extensions it advertises): plain, STARTTLS and implicit TLS; folders;
APPEND with flags and a date; FETCH of headers, bodies, sizes, flags,
ENVELOPE and BODYSTRUCTURE; STORE; SEARCH; COPY and UID MOVE; EXPUNGE;
STATUS, NAMESPACE, ID, UNSELECT; and mail delivered by SMTP showing up in
a selected INBOX with the next UID. Every change is also checked on disk:
Maildir++ folders (".Work") and flag letters in file names (":2,FS")."""

import calendar
import imaplib
import os
import re
import ssl
import time

import mshelper
from mshelper import HOST, ServerTestCase, simple_message

# A multipart message for ENVELOPE and BODYSTRUCTURE (RFC 3501 section
# 7.4.2). The text part's body is "Numbers attached.\r\nSee the file.\r\n":
# 34 octets in 2 lines (the CRLF before a boundary belongs to the boundary,
# RFC 2046 section 5.1.1); the attachment's is 32 octets of base64.
REPORT = (b"Date: Tue, 05 Mar 2024 10:20:30 +0100\r\n"
          b"From: Alice Example <alice@example.test>\r\n"
          b"To: Bob <bob@example.test>, carol@other.test\r\n"
          b"Subject: quarterly report\r\n"
          b"Message-ID: <report-1@example.test>\r\n"
          b"MIME-Version: 1.0\r\n"
          b"Content-Type: multipart/mixed; boundary=\"b1\"\r\n"
          b"\r\n"
          b"This is a MIME message.\r\n"
          b"--b1\r\n"
          b"Content-Type: text/plain; charset=utf-8\r\n"
          b"\r\n"
          b"Numbers attached.\r\nSee the file.\r\n"
          b"\r\n--b1\r\n"
          b"Content-Type: application/pdf; name=\"r.pdf\"\r\n"
          b"Content-Transfer-Encoding: base64\r\n"
          b"Content-Disposition: attachment; filename=\"r.pdf\"\r\n"
          b"\r\n"
          b"JVBERi0xLjQKJcfs\r\nj6IKJSVFT0YK\r\n"
          b"\r\n--b1--\r\n")
REPORT_DATE = '"05-Mar-2024 10:20:30 +0100"'
REPORT_EPOCH = calendar.timegm((2024, 3, 5, 9, 20, 30))
REPORT_ENVELOPE = (b'("Tue, 05 Mar 2024 10:20:30 +0100" "quarterly report" '
                   b'(("Alice Example" NIL "alice" "example.test")) '
                   b'(("Alice Example" NIL "alice" "example.test")) '
                   b'(("Alice Example" NIL "alice" "example.test")) '
                   b'(("Bob" NIL "bob" "example.test")(NIL NIL "carol" "other.test")) '
                   b'NIL NIL NIL "<report-1@example.test>")')
REPORT_BODY = (b'(("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "7BIT" 34 2)'
               b'("APPLICATION" "PDF" ("NAME" "R.PDF") NIL NIL "BASE64" 32) "MIXED")')


def flags_in(data):
    """The set of flags in the first "FLAGS (...)" of a FETCH response."""
    match = re.search(rb"FLAGS \(([^)]*)\)", data)
    assert match, data
    return set(match.group(1).decode().split())


def fetch_text(data):
    """imaplib's FETCH data as one bytes string, literals inline."""
    out = b""
    for item in data:
        if isinstance(item, tuple):
            out += item[0] + b"\r\n" + item[1]
        elif item is not None:
            out += item
    return out


def paren_group(text, start):
    """The balanced parenthesized group of `text` (bytes) that opens at
    `start`, quoted strings taken into account."""
    depth, i, quoted = 0, start, False
    while i < len(text):
        c = text[i:i + 1]
        if quoted:
            if c == b"\\":
                i += 1
            elif c == b'"':
                quoted = False
        elif c == b'"':
            quoted = True
        elif c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                return text[start:i + 1]
        i += 1
    raise AssertionError("unbalanced %r" % text[start:])


def fetch_item(data, name):
    """The value of one FETCH item (a parenthesized group) in a response."""
    text = fetch_text(data)
    index = text.find(name + b" (")
    assert index >= 0, (name, text)
    return paren_group(text, index + len(name) + 1)


class ImaplibTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(imap=True)

    def connect(self, tls=None, user="alice", password="alicepw"):
        client = mshelper.imap_connect(self.server, user, password, tls)
        self.addCleanup(self.logout, client)
        return client

    @staticmethod
    def logout(client):
        """Cleanups run after tearDown killed the server: LOGOUT then fails,
        and imaplib leaves the socket open unless told to shut down."""
        try:
            client.logout()
        except (imaplib.IMAP4.error, OSError):
            try:
                client.shutdown()
            except OSError:
                pass

    def ok(self, result):
        typ, data = result
        self.assertEqual(typ, "OK", data)
        return data

    def append(self, client, folder, message, flags=None, date=None):
        data = self.ok(client.append(folder, flags, date, message))
        match = re.search(rb"\[APPENDUID (\d+) (\d+)\]", data[0])
        self.assertIsNotNone(match, data)
        return int(match.group(2))

    def disk(self, folder="INBOX", user="alice"):
        """{bytes: flags} on disk, "" for a message in new/."""
        return self.server.maildir_flags(user, folder)

    # --- connecting ---

    def test_capability_and_login_plain(self):
        client = imaplib.IMAP4(HOST, self.server.imap_port, timeout=10)
        self.addCleanup(self.logout, client)
        self.assertTrue(client.welcome.startswith(b"* OK"), client.welcome)
        for capability in ("IMAP4REV1", "STARTTLS"):
            self.assertIn(capability, client.capabilities)
        with self.assertRaises(imaplib.IMAP4.error):
            client.login("alice", "wrong")
        self.ok(client.login("alice", "alicepw"))
        capabilities = self.ok(client.capability())[0].decode().upper().split()
        for capability in ("IMAP4REV1", "IDLE", "MOVE", "UIDPLUS", "NAMESPACE", "UNSELECT",
                           "ID", "LITERAL+"):
            self.assertIn(capability, capabilities)
        typ, data = client.logout()
        self.assertEqual(typ, "BYE", data)

    def test_starttls(self):
        client = imaplib.IMAP4(HOST, self.server.imap_port, timeout=10)
        self.addCleanup(self.logout, client)
        self.ok(client.starttls(mshelper.insecure_tls_context()))
        self.assertIsInstance(client.sock, ssl.SSLSocket)
        # RFC 3501 section 6.2.1: capabilities are asked again after TLS,
        # and STARTTLS is no longer among them.
        self.assertNotIn("STARTTLS", client.capabilities)
        self.ok(client.login("alice", "alicepw"))
        self.assertEqual(self.ok(client.select("INBOX")), [b"0"])

    def test_imaps(self):
        stored = mshelper.deliver_by_smtp(self.server, "alice", [simple_message("over imaps")])
        client = self.connect("imaps")
        self.assertIsInstance(client.sock, ssl.SSLSocket)
        self.assertEqual(self.ok(client.select("INBOX")), [b"1"])
        data = self.ok(client.fetch("1", "(BODY.PEEK[])"))
        self.assertEqual(data[0][1], stored[0])

    # --- folders ---

    def test_create_list_rename_delete(self):
        client = self.connect()
        home = os.path.join(self.server.domain_dir(), "mail", "alice")
        self.ok(client.create("Work"))
        self.ok(client.create("Work/2026"))
        for name in (".Work", ".Work.2026"):
            for sub in ("cur", "new", "tmp"):
                self.assertTrue(os.path.isdir(os.path.join(home, name, sub)), (name, sub))
        typ, data = client.create("Work")
        self.assertEqual(typ, "NO", data)

        listed = [mshelper.parse_list(l) for l in self.ok(client.list())]
        self.assertEqual(sorted(name for _a, _d, name in listed),
                         ["INBOX", "Work", "Work/2026"])
        self.assertEqual({d for _a, d, _n in listed}, {"/"})
        listed = [mshelper.parse_list(l) for l in self.ok(client.list('""', "Work/%"))]
        self.assertEqual([name for _a, _d, name in listed], ["Work/2026"])

        message = simple_message("kept across renames")
        self.append(client, "Work/2026", message, r"(\Flagged)")
        self.ok(client.rename("Work/2026", "Archive"))
        self.assertFalse(os.path.exists(os.path.join(home, ".Work.2026")))
        self.assertEqual(self.disk("Archive"), {message: "F"})
        self.assertEqual(self.ok(client.select("Archive")), [b"1"])
        self.ok(client.close())

        self.ok(client.rename("Work", "Projects"))
        self.assertTrue(os.path.isdir(os.path.join(home, ".Projects", "cur")))
        self.assertFalse(os.path.exists(os.path.join(home, ".Work")))
        self.ok(client.delete("Projects"))
        self.assertFalse(os.path.exists(os.path.join(home, ".Projects")))
        listed = [mshelper.parse_list(l) for l in self.ok(client.list())]
        self.assertEqual(sorted(name for _a, _d, name in listed), ["Archive", "INBOX"])

        for typ, data in (client.delete("INBOX"), client.delete("Nope"),
                          client.select("Nope"), client.rename("Nope", "Other")):
            self.assertEqual(typ, "NO", data)
        self.assertEqual(self.disk("Archive"), {message: "F"})

    # --- APPEND and FETCH ---

    def test_append_with_flags_and_date_then_fetch(self):
        client = self.connect()
        uid = self.append(client, "INBOX", REPORT, r"(\Seen \Flagged)", REPORT_DATE)
        self.assertEqual(uid, 1)
        files = self.server.maildir_files("alice")
        self.assertEqual([(f.sub, f.flags) for f in files], [("cur", "FS")])
        self.assertEqual(files[0].read(), REPORT)
        # INTERNALDATE is the file's mtime (server/ms-store.h).
        self.assertEqual(int(os.stat(files[0].path).st_mtime), REPORT_EPOCH)

        self.assertEqual(self.ok(client.select("INBOX")), [b"1"])
        data = self.ok(client.fetch("1", "(UID FLAGS INTERNALDATE RFC822.SIZE)"))
        self.assertIn(b"UID 1", data[0])
        self.assertEqual(flags_in(data[0]) - {"\\Recent"}, {"\\Seen", "\\Flagged"})
        self.assertIn(b"RFC822.SIZE %d" % len(REPORT), data[0])
        self.assertEqual(time.mktime(imaplib.Internaldate2tuple(data[0])), REPORT_EPOCH)

        data = self.ok(client.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])"))
        self.assertEqual(data[0][1], b"From: Alice Example <alice@example.test>\r\n"
                                     b"Subject: quarterly report\r\n\r\n")
        data = self.ok(client.fetch("1", "(BODY[])"))
        self.assertEqual(data[0][1], REPORT)

        self.assertEqual(fetch_item(self.ok(client.fetch("1", "(ENVELOPE)")), b"ENVELOPE"),
                         REPORT_ENVELOPE)
        body = fetch_item(self.ok(client.fetch("1", "(BODY)")), b"BODY")
        self.assertEqual(body.upper(), REPORT_BODY)
        structure = fetch_item(self.ok(client.fetch("1", "(BODYSTRUCTURE)")),
                               b"BODYSTRUCTURE").upper()
        # The parts as BODY has them, then extension data (RFC 3501
        # section 7.4.2): the multipart's parameters, the disposition.
        for piece in (b'(("TEXT" "PLAIN" ("CHARSET" "UTF-8") NIL NIL "7BIT" 34 2',
                      b'("APPLICATION" "PDF" ("NAME" "R.PDF") NIL NIL "BASE64" 32 ',
                      b'("ATTACHMENT" ("FILENAME" "R.PDF"))',
                      b' "MIXED" ("BOUNDARY" "B1")'):
            self.assertIn(piece, structure)
        # BODY[1] is the text part's body, BODY[2.MIME] the attachment's header.
        data = self.ok(client.fetch("1", "(BODY.PEEK[1] BODY.PEEK[2.MIME])"))
        text = fetch_text(data)
        self.assertIn(b"BODY[1] {34}\r\nNumbers attached.\r\nSee the file.\r\n", text)
        self.assertIn(b"Content-Disposition: attachment; filename=\"r.pdf\"\r\n\r\n", text)

    def test_fetch_body_sets_seen_and_peek_does_not(self):
        client = self.connect()
        message = simple_message("read me")
        self.append(client, "INBOX", message)
        self.assertEqual(self.disk(), {message: ""})
        client.select("INBOX")
        data = self.ok(client.fetch("1", "(BODY.PEEK[])"))
        self.assertEqual(data[0][1], message)
        self.assertEqual(self.disk(), {message: ""})
        data = self.ok(client.fetch("1", "(BODY[])"))
        self.assertEqual(data[0][1], message)
        # RFC 3501 section 6.4.5: the \Seen flag is set, and the FLAGS
        # change is reported in the same or a later FETCH response.
        self.assertIn("\\Seen", flags_in(fetch_text(self.ok(client.fetch("1", "(FLAGS)")))))
        self.assertEqual(self.disk(), {message: "S"})

    # --- STORE ---

    def test_store_flags(self):
        client = self.connect()
        first, second = simple_message("store one"), simple_message("store two")
        self.append(client, "INBOX", first)
        self.append(client, "INBOX", second, r"(\Seen)")
        client.select("INBOX")

        data = self.ok(client.store("1", "+FLAGS", r"(\Flagged \Answered)"))
        self.assertEqual(flags_in(data[0]) - {"\\Recent"}, {"\\Flagged", "\\Answered"})
        self.assertEqual(self.disk(), {first: "FR", second: "S"})
        data = self.ok(client.store("1", "-FLAGS", r"(\Answered)"))
        self.assertEqual(flags_in(data[0]) - {"\\Recent"}, {"\\Flagged"})
        self.assertEqual(self.disk(), {first: "F", second: "S"})
        # .SILENT: no FETCH responses (RFC 3501 section 6.4.6).
        typ, data = client.store("1:2", "+FLAGS.SILENT", r"(\Deleted)")
        self.assertEqual((typ, data), ("OK", [None]))
        self.assertEqual(self.disk(), {first: "FT", second: "ST"})
        data = self.ok(client.store("2", "FLAGS", r"(\Draft)"))
        self.assertEqual(flags_in(data[0]) - {"\\Recent"}, {"\\Draft"})
        self.assertEqual(self.disk(), {first: "FT", second: "D"})
        data = self.ok(client.uid("STORE", "1", "-FLAGS", r"(\Deleted \Flagged)"))
        self.assertIn(b"UID 1", data[0])
        self.assertEqual(self.disk(), {first: "", second: "D"})

    # --- SEARCH ---

    def test_search(self):
        client = self.connect()
        specs = [  # sender, subject, internal date, flags
            ("carol@other.test", "alpha report", '"01-Jan-2024 12:00:00 +0000"', r"(\Seen)"),
            ("dave@other.test", "beta notes", '"10-Feb-2024 12:00:00 +0000"', None),
            ("carol@other.test", "gamma report", '"20-Mar-2024 12:00:00 +0000"', r"(\Flagged)"),
            ("erin@other.test", "delta", '"01-Apr-2024 12:00:00 +0000"', r"(\Seen \Deleted)"),
        ]
        uids = []
        for sender, subject, date, flags in specs:
            message = simple_message(subject, sender, body="needle %s" % subject.split()[0])
            uids.append(self.append(client, "INBOX", message, flags, date))
        self.assertEqual(uids, [1, 2, 3, 4])
        # UIDs 5 and 6 come and go, so that UIDs and sequence numbers differ.
        self.append(client, "INBOX", simple_message("gap one"), r"(\Deleted)")
        self.append(client, "INBOX", simple_message("gap two"), r"(\Deleted)")
        client.select("INBOX")
        self.ok(client.store("4", "-FLAGS.SILENT", r"(\Deleted)"))
        # Each EXPUNGE renumbers the ones after it (RFC 3501 section 7.4.1).
        self.assertIn(self.ok(client.expunge()), ([b"5", b"5"], [b"6", b"5"]))
        self.ok(client.store("4", "+FLAGS.SILENT", r"(\Deleted)"))
        self.assertEqual(self.append(client, "INBOX",
                                     simple_message("after the gap", "carol@other.test")), 7)
        self.ok(client.noop())

        # imaplib sends each argument as it is: quoting is ours to do.
        def search(*criteria, uid=False):
            data = self.ok(client.uid("SEARCH", *criteria) if uid
                           else client.search(None, *criteria))
            return [int(n) for n in data[0].split()]

        self.assertEqual(search("ALL"), [1, 2, 3, 4, 5])
        self.assertEqual(search("FROM", "carol"), [1, 3, 5])
        self.assertEqual(search("SUBJECT", "report"), [1, 3])
        self.assertEqual(search("UNSEEN"), [2, 3, 5])
        self.assertEqual(search("SEEN", "UNDELETED"), [1])
        self.assertEqual(search("FLAGGED"), [3])
        self.assertEqual(search("DELETED"), [4])
        self.assertEqual(search("SINCE", "1-Mar-2024", "BEFORE", "1-Jan-2030"), [3, 4, 5])
        self.assertEqual(search("BEFORE", "15-Feb-2024"), [1, 2])
        self.assertEqual(search("ON", "10-Feb-2024"), [2])
        self.assertEqual(search("OR", "FROM", "dave", "SUBJECT", "gamma"), [2, 3])
        self.assertEqual(search("NOT", "SUBJECT", "report"), [2, 4, 5])
        self.assertEqual(search("BODY", "needle"), [1, 2, 3, 4])
        self.assertEqual(search("TEXT", '"needle gamma"'), [3])
        self.assertEqual(search("2:4", "NOT", "FLAGGED"), [2, 4])
        self.assertEqual(search("HEADER", "Message-ID", "<beta.notes@"), [2])
        self.assertEqual(search("FROM", "carol", uid=True), [1, 3, 7])
        self.assertEqual(search("UID", "3:7", uid=True), [3, 4, 7])
        self.assertEqual(search("UID", "4:*"), [4, 5])
        data = self.ok(client.search("UTF-8", "SUBJECT", "delta"))
        self.assertEqual(data, [b"4"])
        self.assertEqual(search("FROM", "nobody"), [])

    # --- COPY, MOVE, EXPUNGE, STATUS ---

    def test_copy_move_expunge_status(self):
        client = self.connect()
        messages = [simple_message("copy %d" % i) for i in range(1, 4)]
        self.append(client, "INBOX", messages[0], r"(\Flagged)")
        self.append(client, "INBOX", messages[1])
        self.append(client, "INBOX", messages[2], r"(\Seen)")
        self.ok(client.create("Work"))
        client.select("INBOX")

        typ, data = client.copy("1", "Nope")
        self.assertEqual(typ, "NO", data)
        self.assertIn(b"[TRYCREATE]", data[0])
        data = self.ok(client.copy("1", "Work"))
        self.assertRegex(data[0], rb"^\[COPYUID \d+ 1 1\]")
        self.assertEqual(self.disk("Work"), {messages[0]: "F"})

        # UID MOVE (RFC 6851): an EXPUNGE for the moved message, and the
        # new UID in COPYUID.
        typ, data = client.uid("MOVE", "2", "Work")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(client.response("EXPUNGE"), ("EXPUNGE", [b"2"]))
        self.assertEqual(self.disk("Work"), {messages[0]: "F", messages[1]: ""})
        self.assertEqual(self.disk(), {messages[0]: "F", messages[2]: "S"})

        self.ok(client.store("1", "+FLAGS", r"(\Deleted)"))
        self.assertEqual(self.ok(client.expunge()), [b"1"])
        self.assertEqual(self.disk(), {messages[2]: "S"})
        data = self.ok(client.fetch("1", "(UID)"))
        self.assertIn(b"UID 3", data[0])

        data = self.ok(client.status("Work", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN RECENT)"))
        match = re.match(rb'^"?Work"? \((.*)\)$', data[0])
        self.assertIsNotNone(match, data)
        items = dict(zip(*[iter(match.group(1).split())] * 2))
        self.assertEqual(items[b"MESSAGES"], b"2")
        self.assertEqual(items[b"UIDNEXT"], b"3")
        self.assertEqual(items[b"UNSEEN"], b"2")
        self.assertTrue(int(items[b"UIDVALIDITY"]) > 0)
        data = self.ok(client.status("INBOX", "(MESSAGES UIDNEXT)"))
        self.assertRegex(data[0], rb"MESSAGES 1\b")
        self.assertRegex(data[0], rb"UIDNEXT 4\b")

    # --- SELECT, EXAMINE, CLOSE, UNSELECT, NAMESPACE, ID ---

    def test_select_examine_close_unselect(self):
        client = self.connect()
        message = simple_message("examined")
        self.append(client, "INBOX", message)
        self.append(client, "INBOX", simple_message("to be closed away"), r"(\Deleted)")

        self.assertEqual(self.ok(client.select("INBOX")), [b"2"])
        self.assertEqual(client.response("UIDNEXT"), ("UIDNEXT", [b"3"]))
        self.assertTrue(int(client.response("UIDVALIDITY")[1][0]) > 0)
        self.assertIn(b"\\Seen", client.response("FLAGS")[1][0])
        self.assertIn("READ-WRITE", client.untagged_responses)
        # UNSELECT leaves without expunging (RFC 3691)...
        self.ok(client.unselect())
        self.assertEqual(len(self.disk()), 2)
        # ...EXAMINE is read-only: no STORE, and BODY[] sets no \Seen.
        self.assertEqual(self.ok(client.select("INBOX", readonly=True)), [b"2"])
        self.assertIn("READ-ONLY", client.untagged_responses)
        data = self.ok(client.fetch("1", "(BODY[])"))
        self.assertEqual(data[0][1], message)
        typ, data = client.store("1", "+FLAGS", r"(\Seen)")
        self.assertEqual(typ, "NO", data)
        self.assertEqual(self.disk()[message], "")
        # ...and CLOSE after EXAMINE expunges nothing either (RFC 3501
        # section 6.4.2).
        self.ok(client.close())
        self.assertEqual(len(self.disk()), 2)
        # CLOSE after SELECT expunges the \Deleted message.
        client.select("INBOX")
        self.ok(client.close())
        self.assertEqual(self.disk(), {message: ""})

    def test_namespace_and_id(self):
        client = self.connect()
        self.assertEqual(self.ok(client.namespace()), [b'(("" "/")) NIL NIL'])
        self.ok(client.xatom("ID", '("name" "mailscope-itest" "version" "1")'))
        typ, data = client.response("ID")
        self.assertEqual(typ, "ID")
        self.assertTrue(data[0] == b"NIL" or data[0].startswith(b"("), data)

    # --- delivery while selected ---

    def test_smtp_delivery_gets_the_next_uid(self):
        client = self.connect()
        self.append(client, "INBOX", simple_message("before one"))
        self.append(client, "INBOX", simple_message("before two"))
        self.assertEqual(self.ok(client.select("INBOX")), [b"2"])
        self.assertEqual(client.response("UIDNEXT"), ("UIDNEXT", [b"3"]))

        stored = mshelper.deliver_by_smtp(self.server, "alice", [simple_message("by smtp")])
        self.ok(client.noop())
        # imaplib keeps SELECT's "* 2 EXISTS" too: the last one counts.
        self.assertEqual(client.response("EXISTS")[1][-1], b"3")
        data = self.ok(client.fetch("3", "(UID FLAGS BODY.PEEK[])"))
        self.assertIn(b"UID 3 ", data[0][0])
        # It arrived while this session had INBOX selected: \Recent here.
        self.assertIn("\\Recent", flags_in(data[0][0]))
        self.assertEqual(data[0][1], stored[0])
        self.assertEqual(self.ok(client.uid("SEARCH", "UNSEEN")), [b"1 2 3"])
        # The file is the one in new/ (a delivery, not yet flagged).
        self.assertEqual(self.disk()[stored[0]], "")


if __name__ == "__main__":
    mshelper.run()
