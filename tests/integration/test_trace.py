# SPDX-License-Identifier: GPL-3.0-or-later
"""--trace FILE: every line is a JSON object with v, seq (gapless), time,
server and kind (docs/trace-format.md), a session is recorded from open to
close, and AUTH secrets stay masked unless --reveal-secrets."""

import base64
import json
import os
import re
import smtplib

import mshelper
from mshelper import HOST, RawSmtp, ServerTestCase

RFC3339_US = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
PLAIN_TOKEN = base64.b64encode(b"\0alice\0alicepw").decode()


class TraceTest(ServerTestCase):
    def start_traced(self, reveal=False):
        self.trace_path = os.path.join(self.tmp, "trace.jsonl")
        return self.start_server("example.test", trace=self.trace_path, reveal_secrets=reveal)

    def send_with_auth_plain(self, server, sent):
        with smtplib.SMTP(HOST, server.submission_port, local_hostname="client.test",
                          timeout=10) as smtp:
            smtp.ehlo()
            smtp.user, smtp.password = "alice", "alicepw"
            code, _ = smtp.auth("PLAIN", smtp.auth_plain, initial_response_ok=True)
            self.assertEqual(code, 235)
            smtp.sendmail("alice@example.test", ["bob@example.test"], sent)

    def wait_closed_sessions(self, server, count):
        return mshelper.wait_for(
            lambda: (len([e for e in server.trace_events() if e["kind"] == "session-close"])
                     >= count and server.trace_events()),
            what="%d session-close event(s) in the trace" % count)

    def read_lines(self):
        with open(self.trace_path, "rb") as f:
            return f.read()

    def test_session_recorded_from_open_to_close(self):
        server = self.start_traced()
        sent = mshelper.dot_message("traced")
        self.send_with_auth_plain(server, sent)
        self.wait_closed_sessions(server, 1)
        raw = self.read_lines()
        self.assertTrue(raw.endswith(b"\n"))

        events = []
        for number, line in enumerate(raw.split(b"\n")[:-1], 1):
            event = json.loads(line.decode("utf-8"))      # every line parses
            self.assertIsInstance(event, dict, "line %d" % number)
            for member, kind in (("v", int), ("seq", int), ("time", str), ("server", str),
                                 ("kind", str)):
                self.assertIsInstance(event.get(member), kind,
                                      "line %d: %s in %r" % (number, member, event))
            self.assertEqual(event["v"], 1)
            self.assertEqual(event["server"], "example.test")
            self.assertRegex(event["time"], RFC3339_US)
            events.append(event)
        self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)),
                         "seq is not gapless from 1")
        times = [e["time"] for e in events]
        self.assertEqual(times, sorted(times), "time goes backwards")

        session_events = [e for e in events if e.get("proto") == "smtp"]
        kinds = [e["kind"] for e in session_events]
        for kind in ("session-open", "command", "reply", "state", "data", "auth",
                     "session-close"):
            self.assertIn(kind, kinds)
        self.assertEqual(kinds[0], "session-open")
        self.assertEqual(kinds[-1], "session-close")
        session = session_events[0]["session"]
        for e in session_events:
            self.assertEqual(e["session"], session, e)
        opened = session_events[0]
        self.assertEqual(opened["listener"], "submission")
        self.assertIs(opened["tls"], False)
        self.assertTrue(opened["peer"].startswith("127.0.0.1:"), opened)
        self.assertEqual(opened["local"], "%s:%d" % (HOST, server.submission_port))

        commands = [e for e in session_events if e["kind"] == "command"]
        self.assertEqual(commands[0]["verb"], "EHLO")
        # The text is the line as sent; smtplib sends its verbs in lower case.
        self.assertEqual(commands[0]["text"], "ehlo client.test")
        self.assertEqual(commands[0]["state"], "connected")
        verbs = [c.get("verb") for c in commands]
        for verb in ("AUTH", "MAIL", "RCPT", "DATA", "QUIT"):
            self.assertIn(verb, verbs)
        mail = commands[verbs.index("MAIL")]
        self.assertTrue(mail["text"].lower().startswith("mail from:<alice@example.test>"), mail)
        self.assertEqual(mail["state"], "ready")

        replies = [e for e in session_events if e["kind"] == "reply"]
        self.assertEqual(replies[0]["code"], 220)
        self.assertEqual(replies[0]["text"], "220 example.test ESMTP Mailscope ready")
        codes = [r["code"] for r in replies]
        for code in (250, 235, 354, 221):
            self.assertIn(code, codes)
        final = [r for r in replies if r["code"] == 250 and "accepted" in r["text"]]
        self.assertEqual(len(final), 1, replies)
        self.assertEqual(final[0].get("enhanced"), "2.0.0")

        states = [(e["from"], e["to"]) for e in session_events if e["kind"] == "state"]
        self.assertEqual(states[0], ("", "connected"))
        for step in (("connected", "ready"), ("ready", "mail"), ("mail", "rcpt"),
                     ("rcpt", "data"), ("data", "ready")):
            self.assertIn(step, states)
        self.assertEqual(states[-1][1], "closed")

        data = [e for e in session_events if e["kind"] == "data"]
        self.assertEqual(len(data), 1)
        self.assertEqual(data[0]["bytes"], len(sent))
        self.assertEqual(data[0]["text"], sent.decode())

        auth = [e for e in session_events if e["kind"] == "auth"]
        self.assertEqual(auth, [dict(auth[0], mechanism="PLAIN", user="alice", success=True)])

        stores = [e for e in events if e["kind"] == "store" and e.get("op") == "deliver"]
        self.assertEqual(len(stores), 1, [e for e in events if e["kind"] == "store"])
        self.assertEqual(stores[0]["user"], "bob")
        self.assertEqual(stores[0]["folder"], "INBOX")
        self.assertIsInstance(stores[0]["uid"], int)
        self.assertEqual(stores[0]["size"], os.path.getsize(server.message_files("bob")[0]))
        self.assertEqual(stores[0].get("subject"), "traced")
        # The store event comes before the 250 that promises the message.
        self.assertLess(events.index(stores[0]), events.index(final[0]))

        closed = session_events[-1]
        self.assertIsInstance(closed.get("reason"), str)
        self.assertEqual(closed.get("state"), "closed")

        # The secret: neither the base64 nor the password is anywhere.
        self.assertNotIn(PLAIN_TOKEN.encode(), raw)
        self.assertNotIn(b"alicepw", raw)
        auth_command = commands[verbs.index("AUTH")]
        self.assertIs(auth_command.get("secret"), True)
        self.assertTrue(auth_command["text"].upper().startswith("AUTH PLAIN "), auth_command)

    def test_auth_login_lines_are_masked(self):
        server = self.start_traced()
        with RawSmtp(server.submission_port) as smtp:
            smtp.greet()
            self.assertReply(smtp.command("AUTH LOGIN"), 334)
            user_b64 = base64.b64encode(b"alice").decode()
            password_b64 = base64.b64encode(b"alicepw").decode()
            self.assertReply(smtp.command(user_b64), 334)
            self.assertReply(smtp.command(password_b64), 235)
            smtp.command("QUIT")
        self.wait_closed_sessions(server, 1)
        raw = self.read_lines()
        self.assertNotIn(password_b64.encode(), raw)
        self.assertNotIn(b"alicepw", raw)
        secret_lines = [e for e in server.trace_events()
                        if e["kind"] == "command" and e.get("secret")]
        self.assertEqual(len(secret_lines), 3, secret_lines)   # AUTH LOGIN, user, password
        for e in secret_lines[1:]:
            self.assertNotIn("verb", e)
            self.assertEqual(e["state"], "auth")

    def test_reveal_secrets(self):
        server = self.start_traced(reveal=True)
        self.send_with_auth_plain(server, mshelper.dot_message("revealed"))
        self.wait_closed_sessions(server, 1)
        raw = self.read_lines()
        self.assertIn(("AUTH PLAIN " + PLAIN_TOKEN).encode(), raw)
        auth = [e for e in server.trace_events() if e["kind"] == "auth"]
        self.assertEqual(len(auth), 1)
        self.assertNotIn("password", auth[0])

    def test_bad_bytes_keep_the_trace_valid(self):
        """NUL and non-UTF-8 from the network become U+FFFD; the JSON stays valid."""
        server = self.start_traced()
        with RawSmtp(server.smtp_port) as smtp:
            smtp.greet()
            self.assertReply(smtp.command(b"NO\0OP \xff\xfe caf\xc3\xa9"), 500)
            self.assertReply(smtp.command(b"HELP \xe9"), 214)
            smtp.command("QUIT")
        self.wait_closed_sessions(server, 1)
        for line in self.read_lines().split(b"\n")[:-1]:
            json.loads(line.decode("utf-8"))
        texts = [e["text"] for e in server.trace_events() if e["kind"] == "command"]
        self.assertIn("NO\ufffdOP \ufffd\ufffd caf\u00e9", texts)
        self.assertIn("HELP \ufffd", texts)

    def test_seq_gapless_over_many_sessions(self):
        server = self.start_traced()
        for i in range(5):
            self.send_raw(server.smtp_port, "carol@other.test", ["bob@example.test"],
                          mshelper.dot_message("number %d" % i))
        events = self.wait_closed_sessions(server, 5)
        self.assertEqual([e["seq"] for e in events], list(range(1, len(events) + 1)))
        sessions = {e["session"] for e in events if e["kind"] == "session-open"}
        self.assertEqual(len(sessions), 5)
        self.assertEqual(len([e for e in events if e["kind"] == "store"
                              and e.get("op") == "deliver"]), 5)

    def test_trace_begins_with_a_snapshot(self):
        """A trace starts with the mailboxes as they are (docs/trace-format.md,
        `snapshot`): a message stored before the server started is in it, with
        the UID the store gave it and the flags a mail reader set since."""
        first = self.start_server("example.test",
                                  trace=os.path.join(self.tmp, "first.jsonl"))
        sent = mshelper.message_bytes([b"From: Carol <carol@other.test>",
                                       b"To: bob@example.test",
                                       b"Subject: =?UTF-8?Q?R=C3=A9union?=", b"", b"Monday."])
        stored = mshelper.deliver_by_smtp(first, "bob", [sent])[0]
        delivered = mshelper.wait_for(
            lambda: [e for e in first.trace_events()
                     if e["kind"] == "store" and e.get("op") == "deliver"],
            what="the deliver event")
        self.assertEqual(first.stop(), 0)
        uid = delivered[0]["uid"]
        self.assertIsInstance(uid, int)

        # Flags set behind the server's back, as mutt does: renamed into cur/.
        [path] = first.message_files("bob")
        name = os.path.basename(path)
        os.rename(path, os.path.join(first.maildir("bob", "cur"), name + ":2,SF"))

        self.trace_path = os.path.join(self.tmp, "second.jsonl")
        second = self.start_server("example.test", trace=self.trace_path,
                                   data_dir=first.data_dir)
        events = mshelper.wait_for(second.trace_events, what="events in the second trace")
        mine = [e for e in events if e["server"] == "example.test"]
        snapshot = mine[0]
        self.assertEqual((snapshot["kind"], snapshot["seq"]), ("snapshot", 1), snapshot)
        self.assertEqual(snapshot["messages"], 1)
        self.assertEqual([u["user"] for u in snapshot["users"]], ["alice", "bob"])
        bob = snapshot["users"][1]
        self.assertEqual([f["folder"] for f in bob["folders"]], ["INBOX"])
        inbox = bob["folders"][0]
        self.assertIsInstance(inbox["uidvalidity"], int)
        self.assertGreater(inbox["uidnext"], uid)
        self.assertIs(inbox["subscribed"], False)
        self.assertEqual(inbox["messages"], [{
            "uid": uid, "flags": "FS", "size": len(stored),
            "subject": "R\u00e9union", "from": "Carol <carol@other.test>"}])
        alice = snapshot["users"][0]
        self.assertEqual([(f["folder"], f["messages"]) for f in alice["folders"]],
                         [("INBOX", [])])


if __name__ == "__main__":
    mshelper.run()
