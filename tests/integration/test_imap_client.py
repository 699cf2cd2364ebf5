# SPDX-License-Identifier: GPL-3.0-or-later
"""mailscope-client imap against mailscope-server: every subcommand, checked
on the server's Maildir (files, flags in their names, folder directories)
and on what the client printed; plain, STARTTLS and implicit TLS; a search
phrase with a space; idle printing a delivery as it happens; refusals give
exit status 1 with the server's words."""

import os
import subprocess
import time
import unittest

import mshelper
from mshelper import HOST, ServerTestCase

CLIENT = os.environ.get("MAILSCOPE_CLIENT", "")


def client_has_imap():
    if not CLIENT or not os.access(CLIENT, os.X_OK):
        return False
    result = subprocess.run([CLIENT, "imap", "--help"], capture_output=True, timeout=30)
    return result.returncode == 0 and b"idle" in result.stdout


@unittest.skipUnless(client_has_imap(), "mailscope-client imap is not built "
                     "(MAILSCOPE_CLIENT=%s)" % CLIENT)
class ClientImapTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test", imap=True,
                                        trace=os.path.join(self.tmp, "trace.jsonl"))

    def connection(self, tls="none"):
        if tls == "tls":
            return ["--server", "%s:%d" % (HOST, self.server.imaps_port), "--tls"]
        if tls == "starttls":
            return ["--server", "%s:%d" % (HOST, self.server.imap_port), "--starttls"]
        return ["--server", "%s:%d" % (HOST, self.server.imap_port)]

    def argv(self, args, tls="none", password="alicepw"):
        return ([CLIENT, "imap"] + list(args) + self.connection(tls) +
                ["--user", "alice", "--password", password, "--timeout", "20"])

    def client(self, *args, tls="none", password="alicepw", expect_status=0):
        argv = self.argv(args, tls, password)
        result = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        out = result.stdout.decode(errors="replace")
        err = result.stderr.decode(errors="replace")
        self.assertEqual(result.returncode, expect_status,
                         "%s\nstdout: %s\nstderr: %s" % (" ".join(argv), out, err))
        return out, err

    def flags_of(self, subject, folder="INBOX"):
        """The Maildir flags of alice's message with `subject` ("" in new/)."""
        found = [f.flags or "" for f in self.server.maildir_files("alice", folder)
                 if subject.encode() in open(f.path, "rb").read()]
        self.assertEqual(len(found), 1, "%s in %s" % (subject, folder))
        return found[0]

    def test_messages_flags_and_folders(self):
        out, _ = self.client("append", "--from", "bob@beta.test", "--to", "alice@example.test",
                             "--subject", "lunch plans", "--body", "Noon?")
        self.assertIn("as UID 1", out)
        self.client("append", "--from", "carol@other.test", "--to", "alice@example.test",
                    "--subject", "minutes", "--body", "Attached.", "--flags", "seen",
                    tls="starttls")
        files = self.server.maildir_files("alice")
        self.assertEqual(len(files), 2)
        self.assertEqual(self.flags_of("lunch plans"), "")
        self.assertEqual(self.flags_of("minutes"), "S")

        out, _ = self.client("list", tls="tls")
        self.assertIn("lunch plans", out)
        self.assertIn("minutes", out)

        # A phrase with a space is one search key.
        out, _ = self.client("search", "SUBJECT", "lunch plans")
        self.assertIn("UIDs: 1", out)
        out, _ = self.client("search", "UNSEEN")
        self.assertIn("UIDs: 1", out)
        self.assertNotIn("2", out.split("UIDs:")[1])

        # fetch sets \Seen on the server; --peek does not.
        out, _ = self.client("fetch", "1", "--peek")
        self.assertIn("Noon?", out)
        self.assertEqual(self.flags_of("lunch plans"), "")
        self.client("fetch", "1")
        self.assertEqual(self.flags_of("lunch plans"), "S")

        self.client("flag", "1", "flagged")
        self.assertEqual(self.flags_of("lunch plans"), "FS")
        self.client("unflag", "1", "seen")
        self.assertEqual(self.flags_of("lunch plans"), "F")

        self.client("create", "Projekte/Entwürfe")
        self.assertTrue(os.path.isdir(self.server.folder_dir("alice", "Projekte/Entwürfe")))
        self.client("subscribe", "Projekte/Entwürfe")
        out, _ = self.client("folders")
        self.assertIn("[S] Projekte/Entwürfe", out)

        out, _ = self.client("copy", "2", "Projekte/Entwürfe")
        self.assertIn("new UID 1", out)
        out, _ = self.client("move", "1", "Projekte/Entwürfe")
        self.assertIn("with MOVE", out)
        self.assertEqual(len(self.server.maildir_files("alice")), 1)
        self.assertEqual(len(self.server.maildir_files("alice", "Projekte/Entwürfe")), 2)
        out, _ = self.client("status", "Projekte/Entwürfe")
        self.assertIn("MESSAGES 2", out)

        self.client("flag", "1", "deleted", "--folder", "Projekte/Entwürfe")
        out, _ = self.client("expunge", "--folder", "Projekte/Entwürfe")
        self.assertIn("expunged 1 message", out)
        self.assertEqual(len(self.server.maildir_files("alice", "Projekte/Entwürfe")), 1)

        self.client("rename", "Projekte/Entwürfe", "Archiv")
        self.assertTrue(os.path.isdir(self.server.folder_dir("alice", "Archiv")))
        self.client("delete", "Archiv")
        self.assertFalse(os.path.isdir(self.server.folder_dir("alice", "Archiv")))

    def test_refusals(self):
        _, err = self.client("list", password="wrong", expect_status=1)
        self.assertIn("refused", err)
        _, err = self.client("delete", "INBOX", expect_status=1)
        self.assertIn("NO", err)
        _, err = self.client("fetch", "99", expect_status=1)
        self.assertIn("99", err)
        _, err = self.client("frobnicate", expect_status=2)

    def test_idle_prints_a_delivery(self):
        argv = self.argv(["idle", "--timeout-idle", "4"])
        idle = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL)
        try:
            deadline = time.time() + 5
            # The client says when it is idling; deliver only after that.
            while time.time() < deadline and not any(
                    e.get("verb") == "IDLE" for e in self.server.trace_events()):
                time.sleep(0.1)
            mshelper.deliver_by_smtp(self.server, "alice",
                                     [mshelper.simple_message("while idling")])
            out, err = idle.communicate(timeout=30)
        finally:
            if idle.poll() is None:
                idle.kill()
        text = out.decode(errors="replace")
        self.assertEqual(idle.returncode, 0, err.decode(errors="replace"))
        self.assertIn("1 message arrived", text)


if __name__ == "__main__":
    unittest.main()
