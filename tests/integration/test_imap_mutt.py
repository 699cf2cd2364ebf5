# SPDX-License-Identifier: GPL-3.0-or-later
"""mutt reading mailscope-server's folders over IMAP, as a person would: it
runs in a detached tmux session of its own (send-keys to type,
capture-pane to read the screen). The index must list the folder's
subjects; opening a message must show its body and set \\Seen on the
server; deleting one and quitting must expunge it (mutt's $delete=yes);
and the same over STARTTLS and IMAPS with certificate checks off (our
certificate is self-signed). No header or body cache, so everything mutt
shows came from the server in this run."""

import os
import signal
import subprocess
import time
import unittest

import mshelper
from mshelper import HOST, ServerTestCase, simple_message

MUTT = os.environ.get("MAILSCOPE_MUTT") or mshelper.which("mutt")
TMUX = os.environ.get("MAILSCOPE_TMUX") or mshelper.which("tmux")
SCREEN_TIMEOUT_S = 10


def muttrc(root_url, user, password, tls="none", cert_file=None):
    """A muttrc for one IMAP account whose folders are under `root_url`
    ("imap://user@host:port/"), with nothing cached and no questions asked
    on quit."""
    lines = ['set folder = "%s"' % root_url,
             'set imap_user = "%s"' % user,
             'set imap_pass = "%s"' % password,
             'set header_cache = ""',
             'set message_cachedir = ""',
             "set move = no",
             "set quit = yes",
             "set delete = yes",
             "set confirmappend = no",
             "set mark_old = no",
             "set sort = mailbox-order",
             'set index_format = "%4C %-20.20f %s"',
             "set pager_index_lines = 0",
             "set mail_check = 60",
             "set imap_keepalive = 60"]
    if tls == "none":
        lines += ["set ssl_starttls = no", "set ssl_force_tls = no"]
    else:
        lines += ["set ssl_starttls = yes", "set ssl_force_tls = yes",
                  "set ssl_verify_host = no", "set ssl_verify_dates = no"]
        if cert_file:
            lines.append('set certificate_file = "%s"' % cert_file)
    return "\n".join(lines) + "\n"


class Tmux:
    """A detached tmux server of its own (-S socket) running one command."""

    def __init__(self, socket_path, argv, env):
        self.socket = socket_path
        self.env = env
        self.run("new-session", "-d", "-x", "160", "-y", "40", " ".join(argv))
        # The server's pid, to end it even once its socket file is gone.
        pid = self.run("display-message", "-p", "#{pid}").stdout.strip()
        self.pid = int(pid) if pid.isdigit() else None

    def run(self, *args):
        return subprocess.run([TMUX, "-S", self.socket] + list(args), capture_output=True,
                              timeout=10, env=self.env, stdin=subprocess.DEVNULL)

    def screen(self):
        return self.run("capture-pane", "-p").stdout.decode(errors="replace")

    def keys(self, *keys):
        self.run("send-keys", *keys)

    def wait_screen(self, predicate, what, timeout=SCREEN_TIMEOUT_S):
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if predicate(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for %s; screen:\n%s" % (what, screen))
            time.sleep(0.1)

    def alive(self):
        return self.run("has-session").returncode == 0

    def kill(self):
        """Ends the tmux server, and mutt with it (SIGHUP)."""
        self.run("kill-server")
        if self.pid is not None:
            try:
                os.kill(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            self.pid = None


@unittest.skipUnless(MUTT and TMUX, "mutt or tmux is not installed: apt-get install mutt tmux "
                     "(scripts/setup.sh does)")
class MuttTest(ServerTestCase):
    def setUp(self):
        super().setUp()
        self.server = self.start_server(imap=True)
        self.subjects = ["mutt first subject", "mutt second subject", "mutt third subject"]
        self.stored = mshelper.deliver_by_smtp(
            self.server, "alice",
            [simple_message(s, body="Body line of %s." % s) for s in self.subjects])
        self.home = os.path.join(self.tmp, "home")
        os.mkdir(self.home)
        self.tmuxes = []

    def start_mutt(self, tls="none", folder="INBOX"):
        # mutt trusts the certificates in $certificate_file: the server's
        # own, so it asks nothing about it.
        if tls == "imaps":
            root = "imaps://alice@%s:%d/" % (HOST, self.server.imaps_port)
        else:
            root = "imap://alice@%s:%d/" % (HOST, self.server.imap_port)
        url = root + folder
        rc = self.write_file("muttrc", muttrc(root, "alice", "alicepw", tls,
                                              self.server.cert_path).encode())
        env = dict(os.environ, HOME=self.home, TERM="xterm")
        env.pop("TMUX", None)
        tmux = Tmux(os.path.join(self.tmp, "tmux.sock"), [MUTT, "-n", "-F", rc, "-f", url], env)
        self.tmuxes.append(tmux)
        return tmux

    def tearDown(self):
        # Before ServerTestCase.tearDown removes the directory with the
        # socket: a mutt left waiting after a failure must not outlive us.
        for tmux in self.tmuxes:
            tmux.kill()
        super().tearDown()

    def index(self, tmux, count):
        """Waits for the index to list `count` subjects of ours; returns the
        screen."""
        return tmux.wait_screen(lambda s: sum(subject in s for subject in self.subjects) == count
                                and "q:Quit" in s, "the index with %d messages" % count)

    def quit(self, tmux):
        tmux.keys("q")
        deadline = time.monotonic() + SCREEN_TIMEOUT_S
        while tmux.alive():
            self.assertLess(time.monotonic(), deadline, tmux.screen())
            time.sleep(0.1)

    def check_index(self, tls):
        tmux = self.start_mutt(tls)
        screen = self.index(tmux, 3)
        lines = [l for l in screen.splitlines() if "mutt " in l and "subject" in l]
        self.assertEqual([l.split()[0] for l in lines], ["1", "2", "3"], screen)
        for line, subject in zip(lines, self.subjects):
            self.assertTrue(line.rstrip().endswith(subject), screen)
            self.assertIn("carol@other.test", line)
        self.quit(tmux)
        # Looking at the index read nothing.
        self.assertEqual(sorted((f.flags or "") for f in self.server.maildir_files("alice")),
                         ["", "", ""])

    def test_index_plain(self):
        self.check_index("none")

    def test_index_starttls(self):
        self.check_index("starttls")

    def test_index_imaps(self):
        self.check_index("imaps")

    def test_read_and_delete(self):
        tmux = self.start_mutt()
        self.index(tmux, 3)
        # Open the second message: its body is shown. "2" Enter jumps to
        # message 2 (the cursor starts at the first unread one, or at the
        # end); Enter again opens it. mutt fetches with BODY.PEEK[]
        # ($imap_peek) and stores the \Seen flag when it syncs the mailbox.
        tmux.keys("2", "Enter")
        tmux.keys("Enter")
        tmux.wait_screen(lambda s: "Body line of mutt second subject." in s, "the pager")
        tmux.keys("q")
        self.index(tmux, 3)
        # Delete the first one and quit: the sync on the way out stores
        # \Seen and, with $delete=yes, \Deleted and EXPUNGE.
        tmux.keys("1", "Enter")
        tmux.keys("d")
        self.quit(tmux)
        self.assertEqual(self.server.maildir_flags("alice"),
                         {self.stored[1]: "S", self.stored[2]: ""})

    def test_other_folder(self):
        client = mshelper.imap_connect(self.server)
        try:
            self.assertEqual(client.create("Work")[0], "OK")
        finally:
            client.logout()
        self.subjects = ["work folder subject"]
        mshelper.imap_append(self.server, "alice", "alicepw", "Work",
                             [simple_message(self.subjects[0])], [r"\Flagged"])
        tmux = self.start_mutt(folder="Work")
        screen = self.index(tmux, 1)
        self.assertNotIn("mutt first subject", screen)
        self.quit(tmux)


if __name__ == "__main__":
    mshelper.run()
