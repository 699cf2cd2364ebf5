# SPDX-License-Identifier: GPL-3.0-or-later
"""The app takes the server's options (issue 5: "--data-dir, --config and the
server's other flags work here too"): `mailscope --config FILE` runs the world
the file describes, `mailscope --domain ... --user ... --smtp-port ...
--trace-port ...` one server that real clients reach while the window is up
(under Xvfb), and bad options stop it with exit status 2 before any window."""

import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import time
import unittest

import mshelper
from mshelper import HOST

APP = os.environ.get("MAILSCOPE_APP", "")
XVFB_RUN = shutil.which("xvfb-run")


def app_env():
    env = dict(os.environ)
    env.update(GDK_BACKEND="x11", GSK_RENDERER="cairo", NO_AT_BRIDGE="1", GTK_A11Y="none",
               GSETTINGS_BACKEND="memory")
    # Leaks in GTK's and fontconfig's caches are not ours (tests/meson.build).
    env["ASAN_OPTIONS"] = "detect_leaks=0"
    return env


def run_app(args, timeout=60):
    return subprocess.run([APP] + args, capture_output=True, text=True, timeout=timeout,
                          env=app_env(), preexec_fn=mshelper._die_with_parent)


@unittest.skipUnless(APP, "MAILSCOPE_APP is not set: run with meson test")
class AppOptionsTest(mshelper.ServerTestCase):
    def test_bad_options_exit_2(self):
        missing = os.path.join(self.tmp, "missing.ini")
        cases = [
            (["--config", missing], missing),
            (["--trace-file", missing, "--domain", "one.test"], "runs no server"),
            (["--attach", "127.0.0.1:1", "--trace-file", missing], "choose one"),
            (["--smtp-port", "99999"], "99999"),
            (["--no-such-flag"], "--no-such-flag"),
        ]
        for args, said in cases:
            with self.subTest(args=args):
                done = run_app(args)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertIn(said, done.stderr)

    @unittest.skipUnless(XVFB_RUN, "xvfb-run is not installed (Debian package xvfb)")
    def test_config_world(self):
        ports = {d: mshelper.free_port() for d in ("one.test", "two.test")}
        config = os.path.join(self.tmp, "world.ini")
        with open(config, "w") as f:
            f.write("[world]\ndata-dir = data\n")
            for domain, port in ports.items():
                f.write("[server %s]\nsmtp-port = %d\nsubmission-port = 0\nsmtps-port = 0\n"
                        "pop3-port = 0\npop3s-port = 0\nimap-port = 0\nimaps-port = 0\n"
                        "users = ann:annpw\n" % (domain, port))
        os.chmod(config, 0o600)
        shot = os.path.join(self.tmp, "shot.png")
        done = subprocess.run([XVFB_RUN, "-a", "-s", "-screen 0 1600x1000x24", APP,
                               "--config", config, "--screenshot", shot],
                              capture_output=True, text=True, timeout=90, env=app_env())
        self.assertEqual(done.returncode, 0, done.stderr)
        for domain, port in ports.items():
            self.assertIn(domain, done.stdout)
            self.assertIn("%s:%d" % (HOST, port), done.stdout)
        # No demo world: its passwords are not printed, its data dir not used.
        self.assertNotIn("alicepw", done.stdout)
        self.assertTrue(os.path.isdir(os.path.join(self.tmp, "data", "two.test")))
        with open(shot, "rb") as f:
            self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    @unittest.skipUnless(XVFB_RUN, "xvfb-run is not installed (Debian package xvfb)")
    def test_flags_world_with_clients(self):
        smtp_port = mshelper.free_port()
        trace_port = mshelper.free_port()
        data = os.path.join(self.tmp, "data")
        app = subprocess.Popen(
            [XVFB_RUN, "-a", "-s", "-screen 0 1600x1000x24", APP, "--data-dir", data,
             "--domain", "one.test", "--user", "ann:annpw", "--smtp-port", str(smtp_port),
             "--submission-port", "0", "--smtps-port", "0", "--pop3-port", "0",
             "--pop3s-port", "0", "--imap-port", "0", "--imaps-port", "0",
             "--trace-port", str(trace_port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=app_env(),
            start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    smtp = smtplib.SMTP(HOST, smtp_port, timeout=10)
                    break
                except OSError:
                    self.assertLess(time.monotonic(), deadline, "the app's server never listened")
                    time.sleep(0.05)
            smtp.sendmail("x@example.org", ["ann@one.test"],
                          "Subject: through the app\r\n\r\nhello\r\n")
            smtp.quit()
            # The app serves its world's events to other viewers too.
            with socket.create_connection((HOST, trace_port), timeout=10) as viewer:
                viewer.sendall(b"HELLO\r\n")
                hello = json.loads(viewer.makefile("r").readline())
            self.assertEqual(hello["kind"], "port-hello")
            self.assertEqual(hello["servers"], ["one.test"])
            self.assertIsNone(app.poll(), "the app stopped")
        finally:
            # The window stays up until it is closed: end Xvfb and the app.
            os.killpg(app.pid, signal.SIGTERM)
            app.communicate(timeout=30)
        # 250 came after the message was on disk (docs/smtp.md).
        new = os.path.join(data, "one.test", "mail", "ann", "new")
        names = os.listdir(new)
        self.assertEqual(len(names), 1)
        with open(os.path.join(new, names[0]), "rb") as f:
            self.assertIn(b"Subject: through the app", f.read())


if __name__ == "__main__":
    unittest.main(verbosity=2)
