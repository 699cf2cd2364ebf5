# SPDX-License-Identifier: GPL-3.0-or-later
"""mbsync (Debian's isync) against mailscope-server's IMAP: a two-way sync
of INBOX, Work and Sent with their flags between the server and a local
Maildir, then a change on each side and a second sync.

mbsync keeps the local copy in Maildir with LF line ends and may add an
X-TUID: header field of its own (mbsync(1): it finds messages it uploaded
by it), so a local message is compared with the server's file after CRLF is
restored and that field is taken off. Flags are Maildir letters on both
sides (":2,FS"), so they compare as they are.

mbsync verifies certificates: the TLS tests give it the server's own
self-signed certificate as CertificateFile (mbsync(1): "directly matched
peer certificates are always trusted")."""

import os
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase, simple_message

MBSYNC = os.environ.get("MAILSCOPE_MBSYNC") or mshelper.which("mbsync")
FOLDERS = ("INBOX", "Work", "Sent")


def mbsync_config(port, user, password, local_dir, patterns, ssl_type="None", cert=None,
                  host=HOST):
    """An mbsync config for one channel between an IMAP account and a local
    Maildir++-less tree (SubFolders Verbatim: Work is local_dir/Work)."""
    lines = ["IMAPAccount remote",
             "Host %s" % host,
             "Port %d" % port,
             "User %s" % user,
             "Pass %s" % password,
             "SSLType %s" % ssl_type]
    if cert:
        lines.append("CertificateFile %s" % cert)
    lines += ["",
              "IMAPStore remote",
              "Account remote",
              "",
              "MaildirStore local",
              "Path %s/" % local_dir,
              "Inbox %s/INBOX" % local_dir,
              "SubFolders Verbatim",
              "",
              "Channel sync",
              "Far :remote:",
              "Near :local:",
              "Patterns %s" % " ".join(patterns),
              "Create Both",
              "Expunge Both",
              "SyncState *",
              "Sync All",
              ""]
    return "\n".join(lines)


def run_mbsync(config_path, home):
    """One `mbsync -a`; returns (exit code, output)."""
    result = subprocess.run([MBSYNC, "-c", config_path, "-a"], capture_output=True, timeout=30,
                            stdin=subprocess.DEVNULL, env=dict(os.environ, HOME=home))
    return result.returncode, (result.stdout + result.stderr).decode(errors="replace")


def from_local(data):
    """A message as the server should hold it, from either side's copy:
    CRLF line ends, without mbsync's X-TUID: field (which it also puts in
    the messages it uploads)."""
    head, sep, body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
    head = b"\n".join(l for l in head.split(b"\n") if not l.startswith(b"X-TUID: "))
    return (head + sep + body).replace(b"\n", b"\r\n")


@unittest.skipUnless(MBSYNC, "mbsync is not installed: apt-get install isync "
                     "(scripts/setup.sh does)")
class MbsyncTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(imap=True)
        self.inbox = [simple_message("inbox one"), simple_message("inbox two"),
                      simple_message("inbox three")]
        self.work = [simple_message("work flagged"), simple_message("work plain")]
        self.sent = [simple_message("sent one", "alice@example.test", "bob@example.test"),
                     simple_message("sent two", "alice@example.test", "bob@example.test")]
        client = mshelper.imap_connect(self.server)
        try:
            for folder in ("Work", "Sent"):
                typ, data = client.create(folder)
                self.assertEqual(typ, "OK", data)
        finally:
            client.logout()
        append = mshelper.imap_append
        self.inbox_uids = (append(self.server, "alice", "alicepw", "INBOX", self.inbox[:1])
                           + append(self.server, "alice", "alicepw", "INBOX", self.inbox[1:2],
                                    [r"\Seen"])
                           + append(self.server, "alice", "alicepw", "INBOX", self.inbox[2:],
                                    [r"\Answered"]))
        append(self.server, "alice", "alicepw", "Work", self.work[:1], [r"\Flagged"])
        append(self.server, "alice", "alicepw", "Work", self.work[1:])
        append(self.server, "alice", "alicepw", "Sent", self.sent[:1], [r"\Seen"])
        append(self.server, "alice", "alicepw", "Sent", self.sent[1:], [r"\Seen", r"\Answered"])
        self.local = os.path.join(self.tmp, "local")
        os.mkdir(self.local)
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)

    def sync(self, ssl_type="None"):
        port = self.server.imaps_port if ssl_type == "IMAPS" else self.server.imap_port
        cert = None if ssl_type == "None" else self.server.cert_path
        path = self.write_file("mbsyncrc", mbsync_config(port, "alice", "alicepw", self.local,
                                                         FOLDERS, ssl_type, cert).encode())
        code, log = run_mbsync(path, self.home)
        self.assertEqual(code, 0, log)
        return log

    def local_folder(self, folder):
        """{message as the server holds it: local flags}."""
        return {from_local(data): flags
                for flags, data in mshelper.local_maildir(os.path.join(self.local, folder))}

    def server_folder(self, folder):
        return {from_local(data): flags
                for data, flags in self.server.maildir_flags("alice", folder).items()}

    def assertInitialPull(self):
        self.assertEqual(self.local_folder("INBOX"),
                         {self.inbox[0]: "", self.inbox[1]: "S", self.inbox[2]: "R"})
        self.assertEqual(self.local_folder("Work"), {self.work[0]: "F", self.work[1]: ""})
        self.assertEqual(self.local_folder("Sent"), {self.sent[0]: "S", self.sent[1]: "RS"})

    def local_file(self, folder, message):
        """(directory, name) of the local copy of `message`."""
        for sub in ("new", "cur"):
            path = os.path.join(self.local, folder, sub)
            for name in os.listdir(path):
                with open(os.path.join(path, name), "rb") as f:
                    if from_local(f.read()) == message:
                        return path, name
        self.fail("no local copy of %r in %s" % (message[:60], folder))

    def test_initial_pull_and_two_way_changes(self):
        self.sync()
        self.assertInitialPull()
        # Pulling changed no flag on the server.
        self.assertEqual(self.server.maildir_flags("alice", "Work"),
                         {self.work[0]: "F", self.work[1]: ""})

        # Local changes: "inbox one" read, a message written into Work.
        path, name = self.local_file("INBOX", self.inbox[0])
        base = name.split(":2,", 1)[0]
        os.rename(os.path.join(path, name),
                  os.path.join(self.local, "INBOX", "cur", base + ":2,S"))
        written = b"From: alice@example.test\nTo: bob@example.test\nSubject: written offline\n" \
                  b"\nDraft written on the train.\n"
        with open(os.path.join(self.local, "Work", "new", "1700000000.itest.local"), "wb") as f:
            f.write(written)

        # Server changes: "inbox three" flagged, "sent one" expunged.
        client = mshelper.imap_connect(self.server)
        try:
            client.select("INBOX")
            typ, data = client.uid("STORE", str(self.inbox_uids[2]), "+FLAGS", r"(\Flagged)")
            self.assertEqual(typ, "OK", data)
            client.select("Sent")
            typ, data = client.store("1", "+FLAGS", r"(\Deleted)")
            self.assertEqual(typ, "OK", data)
            typ, data = client.expunge()
            self.assertEqual((typ, data), ("OK", [b"1"]))
        finally:
            client.logout()

        self.sync()
        # Both sides now agree, message by message, flag by flag.
        expected = {
            "INBOX": {self.inbox[0]: "S", self.inbox[1]: "S", self.inbox[2]: "FR"},
            "Work": {self.work[0]: "F", self.work[1]: "", from_local(written): ""},
            "Sent": {self.sent[1]: "RS"},
        }
        for folder in FOLDERS:
            self.assertEqual(self.local_folder(folder), expected[folder], folder)
            self.assertEqual(self.server_folder(folder), expected[folder], folder)
        # The upload is in the server's .Work Maildir++ folder.
        self.assertTrue(os.path.isdir(os.path.join(self.server.folder_dir("alice", "Work"),
                                                   "cur")))

        # A third run finds nothing to do and changes nothing.
        self.sync()
        for folder in FOLDERS:
            self.assertEqual(self.server_folder(folder), expected[folder], folder)
            self.assertEqual(self.local_folder(folder), expected[folder], folder)

    def test_starttls_pull(self):
        log = self.sync("STARTTLS")
        self.assertNotIn("Warning", log)
        self.assertInitialPull()

    def test_imaps_pull(self):
        self.sync("IMAPS")
        self.assertInitialPull()


if __name__ == "__main__":
    mshelper.run()
