# SPDX-License-Identifier: GPL-3.0-or-later
"""--trace-port PORT: a viewer that says HELLO gets a port-hello line, a
snapshot per server and then every trace event as JSON Lines; its step
commands hold and release real SMTP sessions; a wrong token is refused; a
non-loopback --trace-listen needs a token; a viewer that stops reading is
disconnected while SMTP goes on (docs/trace-format.md, "The trace port")."""

import json
import select
import smtplib
import socket
import subprocess
import threading
import time

import mshelper
from mshelper import HOST, RawSmtp, ServerTestCase

SEEDED_SUBJECT = "seeded before the viewer"


class Viewer:
    """A trace-port client: lines out with CRLF, JSON Lines in."""

    def __init__(self, port, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Set before connect, so that the window the kernel offers stays small.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(mshelper.SOCKET_TIMEOUT_S)
        self.sock.connect((HOST, port))
        self.buffer = b""
        self.seen = []

    def close(self):
        self.sock.close()

    def send_line(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def read(self, timeout=mshelper.WAIT_TIMEOUT_S):
        """The next JSON line; ConnectionError at EOF."""
        self.sock.settimeout(timeout)
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("trace port closed; pending %r" % self.buffer)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        obj = json.loads(line.decode("utf-8"))
        self.seen.append(obj)
        return obj

    def wait(self, predicate, what, timeout=mshelper.WAIT_TIMEOUT_S):
        """Reads until a line matches; returns it."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %s on the trace port; saw %r" % (what, self.seen[-20:]))
            obj = self.read(left)
            if predicate(obj):
                return obj

    def reply(self):
        return self.wait(lambda o: o["kind"] == "port-reply", "port-reply")

    def command(self, line):
        self.send_line(line)
        return self.reply()

    def closed_by_peer(self, timeout=5):
        """TRUE when the port closes the connection within `timeout`,
        whatever it sent first."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if self.sock.recv(65536) == b"":
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def hello(self, token=None):
        self.send_line("HELLO" if token is None else "HELLO " + token)
        return self.read()


def is_event(kind, **members):
    return lambda o: (o["kind"] == kind and "seq" in o
                      and all(o.get(k) == v for k, v in members.items()))


class TracePortTest(ServerTestCase):
    def start_with_port(self, **kwargs):
        return self.start_server("example.test", trace_port=True, **kwargs)

    def attach(self, server, token=None):
        viewer = Viewer(server.trace_port)
        self.addCleanup(viewer.close)
        hello = viewer.hello(token)
        self.assertEqual(hello["kind"], "port-hello", hello)
        self.assertIs(hello["ok"], True)
        self.assertEqual(hello["servers"], ["example.test"])
        return viewer

    def test_snapshot_then_live_events(self):
        server = self.start_with_port()
        self.assertIn("Trace port on 127.0.0.1:%d" % server.trace_port, "".join(server.output))
        mshelper.deliver_by_smtp(server, "alice",
                                 [mshelper.simple_message(SEEDED_SUBJECT)])

        viewer = self.attach(server)
        snapshot = viewer.read()
        self.assertEqual(snapshot["kind"], "snapshot", snapshot)
        self.assertEqual(snapshot["server"], "example.test")
        self.assertEqual(snapshot["messages"], 1)
        alice = [u for u in snapshot["users"] if u["user"] == "alice"][0]
        subjects = [m.get("subject") for f in alice["folders"] for m in f["messages"]]
        self.assertEqual(subjects, [SEEDED_SUBJECT])

        sent = mshelper.simple_message("watched on the port", to="bob@example.test")
        errors = []

        def send():
            try:
                with smtplib.SMTP(HOST, server.smtp_port, local_hostname="client.test",
                                  timeout=10) as smtp:
                    smtp.sendmail("carol@other.test", ["bob@example.test"], sent)
            except Exception as e:  # noqa: BLE001 -- reported below
                errors.append(e)

        thread = threading.Thread(target=send)
        thread.start()
        opened = viewer.wait(is_event("session-open", proto="smtp"), "session-open")
        session = opened["session"]
        viewer.wait(is_event("command", session=session, verb="MAIL"), "MAIL command")
        viewer.wait(is_event("reply", session=session, code=250), "250 reply")
        store = viewer.wait(is_event("store", user="bob"), "store event for bob")
        self.assertEqual(store.get("subject"), "watched on the port", store)
        viewer.wait(is_event("session-close", session=session), "session-close")
        thread.join(10)
        self.assertEqual(errors, [])
        seqs = [o["seq"] for o in viewer.seen if "seq" in o]
        self.assertEqual(seqs, list(range(seqs[0], seqs[0] + len(seqs))), "seq has gaps")
        server.wait_messages("bob")

    def test_step_mode_holds_and_releases(self):
        server = self.start_with_port()
        viewer = self.attach(server)
        viewer.wait(is_event("snapshot"), "snapshot")
        reply = viewer.command("STEPMODE ON *")
        self.assertIs(reply["ok"], True, reply)
        self.assertNotIn("seq", reply)

        with RawSmtp(server.smtp_port) as smtp:
            code, _texts = smtp.reply()
            self.assertEqual(code, 220)
            smtp.send_line("EHLO client.test")
            held = viewer.wait(is_event("step", gate="held"), "held step event")
            self.assertEqual(held["verb"], "EHLO")
            self.assertEqual(held["text"], "EHLO client.test")
            session = held["session"]
            # Held: the session has not seen the line, so nothing comes back.
            readable, _, _ = select.select([smtp.sock], [], [], 0.5)
            self.assertEqual(readable, [], "a reply came back while EHLO was held")
            self.assertFalse(any(o["kind"] == "command" for o in viewer.seen))

            reply = viewer.command("STEP " + session)
            self.assertIs(reply["ok"], True, reply)
            released = [o for o in viewer.seen if o["kind"] == "step" and
                        o.get("gate") == "released"]
            self.assertEqual(len(released), 1, viewer.seen)
            self.assertEqual(released[0]["by"], "step")
            # The released event, then the session's own events, came
            # before the port's reply to STEP.
            kinds = [o["kind"] for o in viewer.seen[viewer.seen.index(released[0]):]]
            self.assertEqual(kinds[:2], ["step", "command"], viewer.seen)
            self.assertIn("reply", kinds)
            self.assertEqual(kinds[-1], "port-reply")
            code, _texts = smtp.reply()
            self.assertEqual(code, 250)

            # The next command is held again; nothing waits after STEP of it.
            smtp.send_line("NOOP")
            viewer.wait(is_event("step", gate="held", verb="NOOP"), "NOOP held")
            reply = viewer.command("CONTINUE *")
            self.assertIs(reply["ok"], True, reply)
            self.assertEqual(smtp.reply()[0], 250)
            self.assertEqual(smtp.command("QUIT")[0], 221)
        viewer.wait(is_event("session-close", session=session), "session-close")
        self.assertIs(viewer.command("STEP " + session)["ok"], False)

    def test_bad_commands_get_replies(self):
        server = self.start_with_port()
        viewer = self.attach(server)
        for line in ("FROB", "STEPMODE MAYBE *", "STEP", "STEP bad/id", "BREAK R1",
                     "BREAK REPLY", "BREAK REPLY 6xx", "BREAK REPLY 5x", "BREAK REPLY +OK",
                     "BREAK REPLY * NO", "BREAK REPLI 550", "HELLO", "x" * 2000):
            reply = viewer.command(line)
            self.assertIs(reply["ok"], False, (line, reply))
        self.assertEqual(viewer.command("BREAK rcpt")["text"], "breakpoint on RCPT")
        for code in ("550", "5xx", "-ERR", "NO", "BAD"):
            reply = viewer.command("break reply " + code)
            self.assertEqual(reply["text"], "breakpoint on reply " + code)
        self.assertIs(viewer.command("CLEAR")["ok"], True)

    def test_command_before_hello_is_refused(self):
        server = self.start_with_port()
        viewer = Viewer(server.trace_port)
        self.addCleanup(viewer.close)
        viewer.send_line("STEPMODE ON *")
        reply = viewer.read()
        self.assertEqual(reply["kind"], "port-reply")
        self.assertIs(reply["ok"], False)
        self.assertTrue(viewer.closed_by_peer())

    def test_token(self):
        server = self.start_with_port(extra_args=["--trace-token", "s3cret-Token"])
        self.assertIn("(token needed)", "".join(server.output))
        for hello in ("wrong", None, "s3cret-Toke", "s3cret-Token0"):
            viewer = Viewer(server.trace_port)
            self.addCleanup(viewer.close)
            reply = viewer.hello(hello)
            self.assertEqual(reply["kind"], "port-reply", (hello, reply))
            self.assertIs(reply["ok"], False)
            self.assertTrue(viewer.closed_by_peer(), hello)
        viewer = self.attach(server, "s3cret-Token")
        self.assertEqual(viewer.read()["kind"], "snapshot")

    def test_non_loopback_needs_token(self):
        server = self.new_server("example.test", trace_port=True,
                                 extra_args=["--trace-listen", "0.0.0.0"])
        result = subprocess.run(server.argv(), capture_output=True, timeout=30,
                                stdin=subprocess.DEVNULL)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(b"needs a token", result.stderr)
        self.assertNotIn(b"Ready.", result.stdout)

    def test_viewer_that_does_not_read_is_disconnected(self):
        server = self.start_with_port()
        viewer = Viewer(server.trace_port, rcvbuf=4096)
        self.addCleanup(viewer.close)
        viewer.send_line("HELLO")
        # Read nothing from now on. Pipeline NOOPs with a long argument, in
        # batches, reading the replies, until the port gives up on the viewer
        # (8 MiB queued beyond what the sockets hold).
        noop = ("NOOP " + "n" * 400 + "\r\n").encode()
        with RawSmtp(server.smtp_port) as smtp:
            self.assertEqual(smtp.reply()[0], 220)
            deadline = time.monotonic() + 60
            while "does not read" not in server.stderr():
                self.assertLess(time.monotonic(), deadline, "the slow viewer stayed")
                smtp.send(noop * 200)
                for _ in range(200):
                    self.assertEqual(smtp.reply()[0], 250)
        self.assertTrue(viewer.closed_by_peer(10))
        # The server serves on: a whole mail goes through.
        mshelper.deliver_by_smtp(server, "alice", [mshelper.simple_message("after")])
        self.assertTrue(server.running())


if __name__ == "__main__":
    mshelper.run()
