# SPDX-License-Identifier: GPL-3.0-or-later
"""offlineimap (Debian's offlineimap3) against mailscope-server's IMAP: a
one-shot sync (`-o -u quiet`) of INBOX and Work into a local Maildir, then
a flag changed on each side and synced back, over plain IMAP and over
IMAPS with the certificate pinned by its fingerprint (offlineimap's
cert_fingerprint: our certificate is self-signed).

offlineimap stores local copies with LF line ends, so a local message is
compared with the server's file after CRLF is restored."""

import hashlib
import os
import ssl
import subprocess
import unittest

import mshelper
from mshelper import HOST, ServerTestCase, simple_message

OFFLINEIMAP = os.environ.get("MAILSCOPE_OFFLINEIMAP") or mshelper.which("offlineimap")


def offlineimap_config(port, user, password, local_dir, meta_dir, folders, fingerprint=None,
                       host=HOST):
    """An offlineimap config: one account, the folders named in `folders`
    only, plain IMAP (no STARTTLS) unless a fingerprint asks for IMAPS."""
    if fingerprint:
        tls = "ssl = yes\ncert_fingerprint = %s\n" % fingerprint
    else:
        tls = "ssl = no\nstarttls = no\n"
    return ("[general]\n"
            "accounts = test\n"
            "metadata = %s\n"
            "\n"
            "[Account test]\n"
            "localrepository = local\n"
            "remoterepository = remote\n"
            "\n"
            "[Repository local]\n"
            "type = Maildir\n"
            "localfolders = %s\n"
            "\n"
            "[Repository remote]\n"
            "type = IMAP\n"
            "remotehost = %s\n"
            "remoteport = %d\n"
            "remoteuser = %s\n"
            "remotepass = %s\n"
            "%s"
            "folderfilter = lambda name: name in %r\n") % (meta_dir, local_dir, host, port, user,
                                                          password, tls, list(folders))


def run_offlineimap(config_path, home):
    result = subprocess.run([OFFLINEIMAP, "-c", config_path, "-o", "-u", "quiet"],
                            capture_output=True, timeout=30, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, HOME=home))
    return result.returncode, (result.stdout + result.stderr).decode(errors="replace")


def crlf(data):
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def cert_fingerprint(cert_path):
    """SHA-256 of the certificate's DER bytes, in hex, as offlineimap wants."""
    with open(cert_path) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


@unittest.skipUnless(OFFLINEIMAP, "offlineimap is not installed: apt-get install offlineimap3 "
                     "(scripts/setup.sh does)")
class OfflineimapTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(imap=True)
        self.inbox = [simple_message("offline unread"), simple_message("offline read")]
        self.work = [simple_message("offline work")]
        client = mshelper.imap_connect(self.server)
        try:
            typ, data = client.create("Work")
            self.assertEqual(typ, "OK", data)
        finally:
            client.logout()
        append = mshelper.imap_append
        self.inbox_uids = (append(self.server, "alice", "alicepw", "INBOX", self.inbox[:1])
                           + append(self.server, "alice", "alicepw", "INBOX", self.inbox[1:],
                                    [r"\Seen"]))
        self.work_uids = append(self.server, "alice", "alicepw", "Work", self.work, [r"\Flagged"])
        self.local = os.path.join(self.tmp, "local")
        self.meta = os.path.join(self.tmp, "meta")
        self.home = os.path.join(self.tmp, "home")
        for path in (self.local, self.meta, self.home):
            os.mkdir(path)

    def sync(self, imaps=False):
        if imaps:
            port, fingerprint = self.server.imaps_port, cert_fingerprint(self.server.cert_path)
        else:
            port, fingerprint = self.server.imap_port, None
        path = self.write_file("offlineimaprc", offlineimap_config(
            port, "alice", "alicepw", self.local, self.meta, ("INBOX", "Work"),
            fingerprint).encode())
        code, log = run_offlineimap(path, self.home)
        self.assertEqual(code, 0, log)
        return log

    def local_folder(self, folder):
        return {crlf(data): flags
                for flags, data in mshelper.local_maildir(os.path.join(self.local, folder))}

    def server_folder(self, folder):
        return {crlf(data): flags
                for data, flags in self.server.maildir_flags("alice", folder).items()}

    def assertInitialPull(self):
        self.assertEqual(self.local_folder("INBOX"), {self.inbox[0]: "", self.inbox[1]: "S"})
        self.assertEqual(self.local_folder("Work"), {self.work[0]: "F"})

    def test_sync_and_flag_round_trip(self):
        self.sync()
        self.assertInitialPull()
        # Pulling read nothing on the server: no \Seen was set by a FETCH.
        self.assertEqual(self.server_folder("INBOX"), {self.inbox[0]: "", self.inbox[1]: "S"})

        # Local: the unread message is read now (Maildir: into cur/ with S).
        inbox_dir = os.path.join(self.local, "INBOX")
        for sub in ("new", "cur"):
            for name in os.listdir(os.path.join(inbox_dir, sub)):
                with open(os.path.join(inbox_dir, sub, name), "rb") as f:
                    if crlf(f.read()) != self.inbox[0]:
                        continue
                base, _sep, flags = name.partition(":2,")
                os.rename(os.path.join(inbox_dir, sub, name),
                          os.path.join(inbox_dir, "cur", base + ":2," + flags + "S"))
        # Server: the Work message is answered.
        client = mshelper.imap_connect(self.server)
        try:
            client.select("Work")
            typ, data = client.uid("STORE", str(self.work_uids[0]), "+FLAGS", r"(\Answered)")
            self.assertEqual(typ, "OK", data)
        finally:
            client.logout()

        self.sync()
        self.assertEqual(self.server_folder("INBOX"), {self.inbox[0]: "S", self.inbox[1]: "S"})
        self.assertEqual(self.local_folder("Work"), {self.work[0]: "FR"})
        self.assertEqual(self.server_folder("Work"), {self.work[0]: "FR"})

        # And a message written locally is uploaded to the server's Work.
        with open(os.path.join(self.local, "Work", "new", "1700000000.itest.local"), "wb") as f:
            f.write(b"From: alice@example.test\nSubject: from offlineimap\n\nHello.\n")
        self.sync()
        uploaded = set(self.server_folder("Work")) - {self.work[0]}
        self.assertEqual(len(uploaded), 1, uploaded)
        uploaded = uploaded.pop()
        self.assertTrue(uploaded.startswith(b"From: alice@example.test\r\n"), uploaded)
        self.assertIn(b"Subject: from offlineimap\r\n", uploaded)
        self.assertTrue(uploaded.endswith(b"\r\n\r\nHello.\r\n"), uploaded)

    def test_imaps_with_pinned_certificate(self):
        self.sync(imaps=True)
        self.assertInitialPull()


if __name__ == "__main__":
    mshelper.run()
