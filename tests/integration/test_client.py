# SPDX-License-Identifier: GPL-3.0-or-later
"""mailscope-client send against mailscope-server: the --show transcript,
STARTTLS and implicit TLS with AUTH, attachments; the message that arrives
parses with Python's email package."""

import base64
import email
import email.policy
import os
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase

CLIENT = os.environ.get("MAILSCOPE_CLIENT", "")


def client_has_send():
    if not CLIENT or not os.access(CLIENT, os.X_OK):
        return False
    result = subprocess.run([CLIENT, "send", "--help"], capture_output=True, timeout=30)
    return result.returncode == 0 and b"--from" in result.stdout


@unittest.skipUnless(client_has_send(), "mailscope-client send is not built (MAILSCOPE_CLIENT=%s)"
                     % CLIENT)
class ClientTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test")

    def client(self, *args, expect_status=0):
        argv = [CLIENT, "send"] + list(args)
        result = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, expect_status,
                         "%s\nstdout: %s\nstderr: %s" % (" ".join(argv),
                                                         result.stdout.decode(errors="replace"),
                                                         result.stderr.decode(errors="replace")))
        return result.stdout.decode(), result.stderr.decode()

    def only_message(self, user="bob"):
        stored = self.server.messages(user)
        self.assertEqual(len(stored), 1)
        _received, rest = mshelper.strip_header_fields(stored[0])
        return email.message_from_bytes(rest, policy=email.policy.default), rest

    def test_send_with_show_over_starttls(self):
        body = "Hello Bob,\n.hidden\n..\na . b\n\nAlice\n"
        out, _err = self.client("--server", "%s:%d" % (HOST, self.server.submission_port),
                                "--starttls", "--user", "alice", "--password", "alicepw",
                                "--helo", "client.test",
                                "--from", "Alice <alice@example.test>",
                                "--to", "Bob <bob@example.test>",
                                "--subject", "from mailscope-client", "--body", body, "--show")
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("S: 220 example.test"), out)
        self.assertIn("C: EHLO client.test", lines)
        self.assertIn("C: STARTTLS", lines)
        self.assertIn("C: MAIL FROM:<alice@example.test>", [l.split(" SIZE=")[0]
                                                            for l in lines])
        self.assertIn("C: RCPT TO:<bob@example.test>", lines)
        self.assertIn("C: DATA", lines)
        self.assertTrue(any(l.startswith("S: 235") for l in lines), out)
        self.assertTrue(any(l.startswith("S: 250 2.0.0") for l in lines), out)
        self.assertIn("C: QUIT", lines)
        # The password never shows, neither plain nor in base64.
        self.assertNotIn("alicepw", out)
        self.assertNotIn(base64.b64encode(b"\0alice\0alicepw").decode(), out)
        auth = [l for l in lines if l.startswith("C: AUTH")]
        self.assertEqual(len(auth), 1, out)

        message, raw = self.only_message()
        self.assertEqual(message["Subject"], "from mailscope-client")
        self.assertEqual(message["From"].addresses[0].addr_spec, "alice@example.test")
        self.assertEqual(message["To"].addresses[0].addr_spec, "bob@example.test")
        self.assertIsNotNone(message["Date"])
        self.assertTrue(message["Message-ID"].strip().endswith("@example.test>"),
                        message["Message-ID"])
        self.assertEqual(message.get_content_type(), "text/plain")
        # Dot-stuffing was undone: the lines are as typed (CRLF on the wire).
        self.assertEqual(message.get_content().replace("\r\n", "\n"), body)
        self.assertNotIn(b"\r\n...\r\n", raw)
        received, _ = mshelper.strip_header_fields(self.server.messages("bob")[0])
        self.assertIn(b" with ESMTPSA id ", received[0])

    def test_send_with_attachments_over_implicit_tls(self):
        binary = bytes(range(256)) * 64 + b"\r\n.\r\n" + b"\0" * 100
        text = "line one\n.line two starts with a dot\n\u00e9t\u00e9\n".encode()
        binary_path = self.write_file("blob.bin", binary)
        text_path = self.write_file("notes.txt", text)
        out, _err = self.client("--server", "%s:%d" % (HOST, self.server.smtps_port), "--tls",
                                "--user", "alice", "--password", "alicepw",
                                "--from", "alice@example.test", "--to", "bob@example.test",
                                "--cc", "alice@example.test",
                                "--subject", "caf\u00e9 attachments", "--body", "See attached.",
                                "--attach", binary_path, "--attach", text_path)
        self.assertTrue(out.strip(), "no summary printed on success")
        message, _raw = self.only_message("bob")
        self.assertEqual(message.get_content_type(), "multipart/mixed")
        self.assertEqual(message["Subject"], "caf\u00e9 attachments")
        attachments = {part.get_filename(): part for part in message.iter_attachments()}
        self.assertEqual(sorted(attachments), ["blob.bin", "notes.txt"])
        self.assertEqual(attachments["blob.bin"].get_payload(decode=True), binary)
        self.assertEqual(attachments["notes.txt"].get_payload(decode=True), text)
        bodies = [p for p in message.iter_parts() if p.get_filename() is None]
        self.assertEqual(bodies[0].get_content().strip(), "See attached.")
        # The Cc recipient got the same message.
        cc_message, _ = self.only_message("alice")
        self.assertEqual(cc_message["Message-ID"], message["Message-ID"])

    def test_plain_mta_port_without_auth(self):
        self.client("--server", "%s:%d" % (HOST, self.server.smtp_port),
                    "--from", "carol@other.test", "--to", "bob@example.test",
                    "--subject", "plain", "--body", "x")
        message, _ = self.only_message()
        self.assertEqual(message["Subject"], "plain")

    def test_refused_recipient_fails(self):
        _out, err = self.client("--server", "%s:%d" % (HOST, self.server.smtp_port),
                                "--from", "carol@other.test", "--to", "nobody@example.test",
                                "--subject", "nobody", "--body", "x", expect_status=1)
        self.assertIn("nobody@example.test", err)
        self.assertIn("550", err)
        self.assertEqual(self.server.messages("bob"), [])

    def test_wrong_password_fails(self):
        self.client("--server", "%s:%d" % (HOST, self.server.submission_port), "--starttls",
                    "--user", "alice", "--password", "wrong",
                    "--from", "alice@example.test", "--to", "bob@example.test",
                    "--subject", "x", "--body", "x", expect_status=1)
        self.assertEqual(self.server.messages("bob"), [])


if __name__ == "__main__":
    mshelper.run()
