# SPDX-License-Identifier: GPL-3.0-or-later
"""Step mode over the trace port holds real clients (issue 5: "Python's
smtplib or poplib waits while the session is held"). A viewer on the trace
port turns step mode on; smtplib and poplib, each in a thread, wait at every
command until the viewer sends STEP, and nothing reaches the Maildir before
the command that does it is released. A reply breakpoint (BREAK REPLY 5xx)
stops smtplib's session after the 550 for an unknown user, at the RSET
smtplib sends next, until CONTINUE (docs/trace-format.md, `step` and "The
trace port")."""

import poplib
import smtplib
import threading
import time

import mshelper
import test_trace_port
from mshelper import HOST, ServerTestCase

# How long a held client is watched to see that it really waits.
HELD_WATCH_S = 1.0
# The clients' own timeout: longer than any hold in these tests.
CLIENT_TIMEOUT_S = 60
SENDER = "carol@other.test"


class ClientThread(threading.Thread):
    """Runs `steps` (a list of (name, callable)) in order, noting each name in
    `done` as its call returns, with what it returned; an exception stops it
    and is kept in `error`."""

    def __init__(self, steps):
        super().__init__(daemon=True)
        self.steps = steps
        self.done = []
        self.results = {}
        self.error = None

    def run(self):
        try:
            for name, call in self.steps:
                self.results[name] = call()
                self.done.append(name)
        except Exception as e:  # noqa: BLE001 -- the test asserts on it
            self.error = e


class StepRealClientsTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test", trace_port=True)

    def attach(self):
        viewer = test_trace_port.Viewer(self.server.trace_port)
        self.addCleanup(viewer.close)
        hello = viewer.hello()
        self.assertEqual(hello["kind"], "port-hello", hello)
        viewer.wait(test_trace_port.is_event("snapshot"), "snapshot")
        return viewer

    def command_ok(self, viewer, line):
        reply = viewer.command(line)
        self.assertIs(reply["ok"], True, (line, reply))
        return reply

    def next_event(self, viewer, cursor, predicate, what):
        """The first event at or after viewer.seen[cursor] that matches,
        reading more if needed; returns (event, index in viewer.seen)."""
        for index in range(cursor, len(viewer.seen)):
            if predicate(viewer.seen[index]):
                return viewer.seen[index], index
        event = viewer.wait(predicate, what)
        return event, len(viewer.seen) - 1

    def assertWaiting(self, client, step, seconds):
        """The client thread is still inside `step` after `seconds`."""
        time.sleep(seconds)
        self.assertIsNone(client.error)
        self.assertTrue(client.is_alive(), "the client finished while held")
        self.assertNotIn(step, client.done, "%s returned while its command was held" % step)

    def step_through(self, viewer, client, holds, on_held):
        """For each verb in `holds`: waits for its `held` event, checks the
        client waits for it, calls on_held(verb, event), and STEPs it.
        Returns the session."""
        session = None
        cursor = len(viewer.seen)
        for verb in holds:
            members = {"gate": "held"}
            if session is not None:
                members["session"] = session
            held, index = self.next_event(viewer, cursor,
                                          test_trace_port.is_event("step", **members),
                                          "held %s" % verb)
            self.assertEqual(held.get("verb"), verb, held)
            session = held["session"]
            # The first hold is watched a full second; later ones briefly.
            self.assertWaiting(client, verb, HELD_WATCH_S if verb == holds[0] else 0.2)
            on_held(verb, held)
            cursor = index + 1
            reply = self.command_ok(viewer, "STEP " + session)
            self.assertEqual(reply["text"], "released the pending command of " + session)
        return session

    def test_smtplib_waits_at_each_command(self):
        viewer = self.attach()
        self.command_ok(viewer, "STEPMODE ON *")
        message = mshelper.simple_message("stepped by hand", to="bob@example.test")
        smtp = []

        def connect():
            smtp.append(smtplib.SMTP(HOST, self.server.smtp_port, local_hostname="client.test",
                                     timeout=CLIENT_TIMEOUT_S))
            return 220

        client = ClientThread([
            ("connect", connect),
            ("EHLO", lambda: smtp[0].ehlo()[0]),
            ("MAIL", lambda: smtp[0].mail(SENDER)[0]),
            ("RCPT", lambda: smtp[0].rcpt("bob@example.test")[0]),
            ("DATA", lambda: smtp[0].data(message)[0]),
            ("QUIT", lambda: smtp[0].quit()[0]),
        ])
        self.addCleanup(lambda: smtp and smtp[0].close())
        client.start()

        def on_held(verb, held):
            files = self.server.maildir_files("bob")
            if verb != "QUIT":
                # Up to DATA's release nothing is stored: the message's lines
                # and its final dot come only after the client gets 354.
                self.assertEqual(files, [], "a message landed before DATA was released")
                return
            # QUIT is held after the 250 for the final dot: the message is on
            # disk, as sent, and the client has its 250.
            self.assertEqual(client.results.get("DATA"), 250)
            self.assertEqual(len(files), 1, files)
            self.assertDelivered(files[0].read(), message)

        session = self.step_through(viewer, client, ["EHLO", "MAIL", "RCPT", "DATA", "QUIT"],
                                    on_held)
        client.join(CLIENT_TIMEOUT_S)
        self.assertIsNone(client.error)
        self.assertEqual(client.results, {"connect": 220, "EHLO": 250, "MAIL": 250,
                                          "RCPT": 250, "DATA": 250, "QUIT": 221})
        viewer.wait(test_trace_port.is_event("session-close", session=session), "session-close")
        # Every command was held once and released by STEP, in order.
        gates = [(o["gate"], o.get("verb"), o.get("by")) for o in viewer.seen
                 if o["kind"] == "step" and o["session"] == session]
        expected = []
        for verb in ("EHLO", "MAIL", "RCPT", "DATA", "QUIT"):
            expected += [("held", verb, None), ("released", verb, "step")]
        self.assertEqual(gates, expected)

    def test_poplib_dele_waits_for_quit(self):
        sent = mshelper.simple_message("delete me step by step")
        stored = mshelper.deliver_by_smtp(self.server, "alice", [sent])
        viewer = self.attach()
        self.command_ok(viewer, "STEPMODE ON *")
        pop = []

        def connect():
            pop.append(poplib.POP3(HOST, self.server.pop3_port, timeout=CLIENT_TIMEOUT_S))
            return pop[0].getwelcome()[:3]

        client = ClientThread([
            ("connect", connect),
            ("USER", lambda: pop[0].user("alice")[:3]),
            ("PASS", lambda: pop[0].pass_("alicepw")[:3]),
            ("DELE", lambda: pop[0].dele(1)[:3]),
            ("QUIT", lambda: pop[0].quit()[:3]),
        ])
        self.addCleanup(lambda: pop and pop[0].close())
        client.start()

        def on_held(verb, held):
            # DELE only marks (RFC 1939 section 6): the file stays until QUIT
            # is released and the session enters UPDATE.
            self.assertEqual([f.read() for f in self.server.maildir_files("alice")], stored)
            if verb == "PASS":
                self.assertIs(held.get("secret"), True, held)
                self.assertNotIn("alicepw", held["text"])
            if verb == "QUIT":
                self.assertEqual(client.results.get("DELE"), b"+OK")

        session = self.step_through(viewer, client, ["USER", "PASS", "DELE", "QUIT"], on_held)
        client.join(CLIENT_TIMEOUT_S)
        self.assertIsNone(client.error)
        self.assertEqual(client.results, {"connect": b"+OK", "USER": b"+OK", "PASS": b"+OK",
                                          "DELE": b"+OK", "QUIT": b"+OK"})
        self.assertEqual(self.server.maildir_files("alice"), [])
        viewer.wait(test_trace_port.is_event("session-close", session=session), "session-close")

    def test_reply_breakpoint_holds_smtplib(self):
        viewer = self.attach()
        reply = self.command_ok(viewer, "BREAK REPLY 5xx")
        self.assertEqual(reply["text"], "breakpoint on reply 5xx")
        message = mshelper.simple_message("to nobody", to="nobody@example.test")

        def send():
            with smtplib.SMTP(HOST, self.server.smtp_port, local_hostname="client.test",
                              timeout=CLIENT_TIMEOUT_S) as smtp:
                try:
                    smtp.sendmail(SENDER, ["nobody@example.test"], message)
                except smtplib.SMTPRecipientsRefused as e:
                    return e.recipients
            return None

        client = ClientThread([("sendmail", send)])
        client.start()

        # The 550 goes out, and the session stops: a `break` step event.
        stop = viewer.wait(test_trace_port.is_event("step", gate="break"), "break step event")
        session = stop["session"]
        self.assertEqual(stop["by"], "reply-breakpoint")
        self.assertEqual(stop["reply"], "5xx")
        self.assertTrue(stop["text"].startswith("550 "), stop)
        # smtplib, refused, sends RSET before it raises: that RSET is held,
        # and sendmail has not returned.
        held = viewer.wait(test_trace_port.is_event("step", gate="held", session=session),
                           "held step event")
        self.assertEqual(held["verb"], "RSET")
        self.assertWaiting(client, "sendmail", HELD_WATCH_S)

        self.command_ok(viewer, "CONTINUE " + session)
        client.join(CLIENT_TIMEOUT_S)
        self.assertFalse(client.is_alive())
        self.assertIsNone(client.error)
        refused = client.results["sendmail"]
        self.assertEqual(list(refused), ["nobody@example.test"])
        self.assertEqual(refused["nobody@example.test"][0], 550)
        viewer.wait(test_trace_port.is_event("session-close", session=session), "session-close")
        # Continued, the session ran on: QUIT was not held.
        gates = [(o["gate"], o.get("verb")) for o in viewer.seen
                 if o["kind"] == "step" and o["session"] == session]
        self.assertEqual(gates, [("break", None), ("held", "RSET"), ("released", "RSET")])
        self.assertEqual(self.server.maildir_files("alice"), [])

        # Cleared, the same refusal stops nothing.
        cleared = self.command_ok(viewer, "CLEAR")
        client = ClientThread([("sendmail", send)])
        client.start()
        client.join(CLIENT_TIMEOUT_S)
        self.assertIsNone(client.error)
        self.assertEqual(client.results["sendmail"]["nobody@example.test"][0], 550)
        viewer.wait(lambda o: o["kind"] == "session-close" and o["session"] != session,
                    "session-close of the second session")
        self.assertEqual([o for o in viewer.seen[viewer.seen.index(cleared):]
                          if o["kind"] == "step"], [])


if __name__ == "__main__":
    mshelper.run()
