# SPDX-License-Identifier: GPL-3.0-or-later
"""mailscope-client pop3 against mailscope-server: list, top N 0, fetch in
delete mode and in keep mode (a second run downloads nothing), and the
two-devices story: keep mode into two Maildirs, each gets every message and
the server keeps them all. The client saves messages with local LF line ends
(client/ms-local-maildir.c), so a saved file is the server's file with CRLF
turned into LF."""

import os
import re
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase

CLIENT = os.environ.get("MAILSCOPE_CLIENT", "")


def client_has_pop3():
    if not CLIENT or not os.access(CLIENT, os.X_OK):
        return False
    result = subprocess.run([CLIENT, "pop3", "--help"], capture_output=True, timeout=30)
    return result.returncode == 0 and b"--mode" in result.stdout


def lf(data):
    return data.replace(b"\r\n", b"\n")


@unittest.skipUnless(client_has_pop3(), "mailscope-client pop3 is not built "
                     "(MAILSCOPE_CLIENT=%s)" % CLIENT)
class ClientPop3Test(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server("example.test")
        self.stored = mshelper.deliver_by_smtp(self.server, "bob",
                                               mshelper.pop3_test_messages("client"))
        self.before = mshelper.maildrop_snapshot(self.server, "bob")

    def client(self, *args, tls="none", password="bobpw", expect_status=0):
        if tls == "tls":
            connection = ["--server", "%s:%d" % (HOST, self.server.pop3s_port), "--tls"]
        elif tls == "starttls":
            connection = ["--server", "%s:%d" % (HOST, self.server.pop3_port), "--starttls"]
        else:
            connection = ["--server", "%s:%d" % (HOST, self.server.pop3_port)]
        argv = ([CLIENT, "pop3"] + list(args) + connection +
                ["--user", "bob", "--password", password, "--timeout", "20"])
        result = subprocess.run(argv, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, expect_status,
                         "%s\nstdout: %s\nstderr: %s" % (" ".join(argv),
                                                         result.stdout.decode(errors="replace"),
                                                         result.stderr.decode(errors="replace")))
        return result.stdout, result.stderr.decode(errors="replace")

    def saved(self, directory):
        """The messages in a local Maildir's new/ and cur/."""
        out = []
        for sub in ("new", "cur"):
            path = os.path.join(directory, sub)
            if not os.path.isdir(path):
                continue
            for name in sorted(os.listdir(path)):
                with open(os.path.join(path, name), "rb") as f:
                    out.append(f.read())
        return out

    def assertSavedAll(self, directory):
        self.assertEqual(sorted(self.saved(directory)), sorted(lf(m) for m in self.stored))
        self.assertEqual(os.listdir(os.path.join(directory, "tmp")), [])

    def assertMaildropUnchanged(self):
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), self.before)

    def test_list(self):
        for tls in ("none", "tls", "starttls"):
            out, _ = self.client("list", tls=tls)
            lines = out.decode().splitlines()
            self.assertEqual(lines[0], "3 messages, %d bytes" % sum(map(len, self.stored)))
            rows = [re.split(r"\s+", l.strip()) for l in lines[2:]]
            uidls = mshelper.maildrop_uidls(self.server, "bob", self.stored)
            expected = [[str(n), str(len(m)), u]
                        for n, (m, u) in enumerate(zip(self.stored, uidls), 1)]
            self.assertEqual(rows, expected, tls)
        self.assertMaildropUnchanged()

    def test_top_zero(self):
        for number, expected in enumerate(self.stored, 1):
            out, _ = self.client("top", str(number), "0")
            self.assertEqual(out, lf(expected[:expected.index(b"\r\n\r\n") + 4]))
        self.assertMaildropUnchanged()

    def test_fetch_delete(self):
        into = os.path.join(self.tmp, "Maildir")
        out, _ = self.client("fetch", "--mode", "delete", "--into", into)
        self.assertIn(b"3 new messages saved to %s/new" % into.encode(), out)
        self.assertIn(b"3 deleted on the server", out)
        self.assertSavedAll(into)
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), {})

    def test_fetch_delete_over_tls(self):
        into = os.path.join(self.tmp, "Maildir")
        self.client("fetch", "--mode", "delete", "--into", into, tls="tls")
        self.assertSavedAll(into)
        self.assertEqual(mshelper.maildrop_snapshot(self.server, "bob"), {})

    def test_fetch_keep_twice(self):
        into = os.path.join(self.tmp, "Maildir")
        out, _ = self.client("fetch", "--mode", "keep", "--into", into, tls="starttls")
        self.assertIn(b"3 new messages saved", out)
        self.assertSavedAll(into)
        self.assertMaildropUnchanged()
        out, _ = self.client("fetch", "--mode", "keep", "--into", into, tls="starttls")
        self.assertIn(b"0 new messages saved", out)
        self.assertIn(b"3 already here from an earlier run", out)
        self.assertSavedAll(into)
        self.assertMaildropUnchanged()

    def test_two_devices(self):
        laptop = os.path.join(self.tmp, "laptop")
        phone = os.path.join(self.tmp, "phone")
        self.client("fetch", "--mode", "keep", "--into", laptop)
        self.client("fetch", "--mode", "keep", "--into", phone)
        self.assertSavedAll(laptop)
        self.assertSavedAll(phone)
        self.assertMaildropUnchanged()
        # New mail reaches each device once.
        new = mshelper.deliver_by_smtp(self.server, "bob",
                                       [mshelper.dot_message("client fourth")])
        self.stored += new
        for device in (laptop, phone):
            out, _ = self.client("fetch", "--mode", "keep", "--into", device)
            self.assertIn(b"1 new message saved", out)
            self.assertSavedAll(device)
        self.assertEqual(len(mshelper.maildrop_snapshot(self.server, "bob")), 4)

    def test_wrong_password(self):
        into = os.path.join(self.tmp, "Maildir")
        _, err = self.client("fetch", "--mode", "delete", "--into", into, password="wrong",
                             expect_status=1)
        self.assertIn("-ERR [AUTH]", err)
        self.assertEqual(self.saved(into), [])
        self.assertMaildropUnchanged()


if __name__ == "__main__":
    mshelper.run()
