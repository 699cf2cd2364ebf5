# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared helpers for Mailscope's integration tests.

Each test starts mailscope-server as a subprocess on free loopback ports, in a
data directory of its own, waits for "Ready." on its standard output, talks
to it with a real client (smtplib, curl, swaks, mailscope-client or a raw
socket), and kills it in tearDown. Messages are checked on disk: the Maildir
file must be the message sent, byte for byte, once the Received: header the
server adds (RFC 5321 section 4.4) is taken off the top.

The executables come from the environment, as meson test sets it:
MAILSCOPE_SERVER and MAILSCOPE_CLIENT.
"""

import base64
import collections
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HOST = "127.0.0.1"
READY_TIMEOUT_S = 15
WAIT_TIMEOUT_S = 15
SOCKET_TIMEOUT_S = 10
SANITIZER_MARKS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer")

# A message whose lines exercise dot-stuffing (RFC 5321 section 4.5.2): a
# line that begins with a dot, a line of two dots, and a dot inside a line.
# It never holds a line of a single dot, which would end the data early in
# a client that does not stuff.
DOT_MESSAGE_LINES = [
    b"From: Alice <alice@example.test>",
    b"To: Bob <bob@example.test>",
    b"Subject: dots and more dots",
    b"Message-ID: <dots-1@example.test>",
    b"",
    b"Dear Bob,",
    b".hidden",
    b"..",
    b"a . b",
    b"...three leading dots",
    b"trailing dot.",
    b"",
    b"  indented line",
    b"-- ",
    b"Alice",
]


def message_bytes(lines, subject=None):
    """Joins `lines` with CRLF, ending in CRLF; optionally replaces Subject."""
    if subject is not None:
        lines = [b"Subject: " + subject.encode() if l.startswith(b"Subject:") else l
                 for l in lines]
    return b"\r\n".join(lines) + b"\r\n"


def dot_message(subject="dots and more dots"):
    return message_bytes(DOT_MESSAGE_LINES, subject)


def dot_stuff(message):
    """The message as it goes on the wire after DATA, with the final dot."""
    lines = message.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = [b"." + l if l.startswith(b".") else l for l in lines]
    return b"\r\n".join(out) + b"\r\n.\r\n"


_ports_given = set()


_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: a server outlives no test. When meson kills a
    test that timed out, tearDown never runs; the kernel then sends the
    server SIGKILL as its parent dies."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def free_port():
    """A loopback port that was free a moment ago (bind to 0, then close),
    and that this process has not handed out before: the kernel may offer
    a just-closed port again while the server we gave it to is starting."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if port not in _ports_given:
            _ports_given.add(port)
            return port


def insecure_tls_context():
    """The servers use a self-signed certificate: no verification."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def strip_header_fields(data, count=1, name=b"Received:"):
    """Removes the first `count` header fields, each with its continuation
    lines (RFC 5322 section 2.2.3: lines beginning with SP or HTAB; the
    server folds with a TAB), and checks each of them is a `name` field.
    Returns (removed, rest)."""
    removed = []
    rest = data
    for _ in range(count):
        if not rest[:len(name)].lower() == name.lower():
            raise AssertionError("expected a %r header field at the top, got %r"
                                 % (name, rest[:80]))
        end = rest.find(b"\n")
        while end >= 0 and end + 1 < len(rest) and rest[end + 1:end + 2] in (b"\t", b" "):
            end = rest.find(b"\n", end + 1)
        if end < 0:
            raise AssertionError("unterminated header field %r" % rest[:80])
        removed.append(rest[:end + 1])
        rest = rest[end + 1:]
    return removed, rest


def wait_for(predicate, timeout=WAIT_TIMEOUT_S, interval=0.05, what="condition"):
    """Polls `predicate` until it returns something true; returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


_server_options = {}


def server_has_option(option):
    """TRUE when `mailscope-server --help-all` lists `option` (asked once
    per process)."""
    server = os.environ.get("MAILSCOPE_SERVER")
    if not server:
        return False
    if server not in _server_options:
        try:
            result = subprocess.run([server, "--help-all"], capture_output=True, timeout=10,
                                    stdin=subprocess.DEVNULL)
            _server_options[server] = result.stdout.decode(errors="replace")
        except (OSError, subprocess.TimeoutExpired):
            _server_options[server] = ""
    return option + " " in _server_options[server] or option + "=" in _server_options[server]


class Server:
    """One mailscope-server process for one domain."""

    def __init__(self, test_dir, domain, users=(), routes=(), trace=None,
                 reveal_secrets=False, max_message_size=None, data_dir=None,
                 smtp=True, submission=True, smtps=True, ports=None, extra_args=(),
                 imap=False, trace_port=False):
        self.domain = domain
        # More command-line flags, as given (e.g. --apop-secret, --pop3-expire).
        self.extra_args = list(extra_args)
        self.data_dir = data_dir or os.path.join(test_dir, domain + "-data")
        self.users = list(users)
        self.routes = list(routes)
        self.trace = trace
        self.reveal_secrets = reveal_secrets
        self.max_message_size = max_message_size
        # Ports we chose may be taken by another test process between our
        # check and the server's bind: start() then picks new ones.
        self.ports_chosen_here = ports is None
        if ports is None:
            ports = {
                "smtp": free_port() if smtp else 0,
                "submission": free_port() if submission else 0,
                "smtps": free_port() if smtps else 0,
                "pop3": free_port(),
                "pop3s": free_port(),
            }
            # Opt-in: only the IMAP tests take two more ports.
            if imap:
                ports["imap"] = free_port()
                ports["imaps"] = free_port()
            # Opt-in too: the trace port (docs/trace-format.md).
            if trace_port:
                ports["trace"] = free_port()
        self.ports = dict(ports)
        self.log_path = os.path.join(test_dir, "%s-%d.log" % (domain, time.monotonic_ns()))
        self.process = None
        self.output = []
        self._reader = None

    @property
    def smtp_port(self):
        return self.ports["smtp"]

    @property
    def submission_port(self):
        return self.ports["submission"]

    @property
    def smtps_port(self):
        return self.ports["smtps"]

    @property
    def pop3_port(self):
        return self.ports["pop3"]

    @property
    def pop3s_port(self):
        return self.ports["pop3s"]

    @property
    def imap_port(self):
        return self.ports["imap"]

    @property
    def imaps_port(self):
        return self.ports["imaps"]

    @property
    def trace_port(self):
        return self.ports["trace"]

    @property
    def cert_path(self):
        """The self-signed certificate the server makes on its first start
        (common/ms-tls.c), for clients that verify (mbsync)."""
        return os.path.join(self.domain_dir(), "tls", "cert.pem")

    def argv(self):
        if not os.environ.get("MAILSCOPE_SERVER"):
            raise AssertionError("MAILSCOPE_SERVER is not set: run these tests with "
                                 "`meson test --suite integration`, or set it to the "
                                 "built server/mailscope-server")
        argv = [os.environ["MAILSCOPE_SERVER"],
                "--data-dir", self.data_dir,
                "--domain", self.domain,
                "--listen", HOST,
                "--smtp-port", str(self.ports["smtp"]),
                "--submission-port", str(self.ports["submission"]),
                "--smtps-port", str(self.ports["smtps"]),
                "--pop3-port", str(self.ports.get("pop3", 0)),
                "--pop3s-port", str(self.ports.get("pop3s", 0))]
        if "imap" in self.ports:
            argv += ["--imap-port", str(self.ports["imap"]),
                     "--imaps-port", str(self.ports.get("imaps", 0))]
        elif server_has_option("--imap-port"):
            # Without imap=True a server that has IMAP listeners keeps them
            # off, rather than on its default ports that every test process
            # would fight over.
            argv += ["--imap-port", "0", "--imaps-port", "0"]
        if self.ports.get("trace"):
            argv += ["--trace-port", str(self.ports["trace"])]
        for user in self.users:
            argv += ["--user", user]
        for route in self.routes:
            argv += ["--route", route]
        if self.trace:
            argv += ["--trace", self.trace]
        if self.reveal_secrets:
            argv.append("--reveal-secrets")
        if self.max_message_size is not None:
            argv += ["--max-message-size", str(self.max_message_size)]
        argv += self.extra_args
        return argv

    def start(self):
        """Starts the server and waits for "Ready." on its standard output.
        Tests run in parallel processes, so a free port we picked can be
        bound by another test's server first: then we pick new ports and
        try again, a few times."""
        for attempt in range(5):
            seen = len(self.stderr())
            try:
                return self._start_once()
            except AssertionError:
                if (not self.ports_chosen_here or attempt == 4
                        or "Address already in use" not in self.stderr()[seen:]):
                    raise
                self.ports = {name: (free_port() if port else 0)
                              for name, port in self.ports.items()}
                self.output = []

    def _start_once(self):
        log = open(self.log_path, "ab")
        env = dict(os.environ)
        env.setdefault("G_DEBUG", "fatal-criticals")
        self.process = subprocess.Popen(self.argv(), stdout=subprocess.PIPE, stderr=log,
                                        stdin=subprocess.DEVNULL, env=env,
                                        preexec_fn=_die_with_parent)
        log.close()
        ready = threading.Event()

        def read_stdout(process=self.process):
            for line in process.stdout:
                self.output.append(line.decode(errors="replace"))
                if line.startswith(b"Ready."):
                    ready.set()
            ready.set()

        self._reader = threading.Thread(target=read_stdout, daemon=True)
        self._reader.start()
        if not ready.wait(READY_TIMEOUT_S) or self.process.poll() is not None:
            self.kill()
            raise AssertionError("mailscope-server did not get ready: %s\nstdout: %s\n"
                                 "stderr: %s" % (" ".join(self.argv()), "".join(self.output),
                                                 self.stderr()))
        return self

    def stderr(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    @property
    def pid(self):
        return self.process.pid

    def kill(self):
        """SIGKILL: nothing is flushed, nothing is closed cleanly."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
        if self._reader is not None:
            self._reader.join(5)
        self.process.stdout.close()
        self.process = None

    def stop(self):
        """SIGTERM, as Ctrl-C would; SIGKILL if it does not go in 5 s."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        code = self.process.poll()
        self.kill()
        return code

    def running(self):
        return self.process is not None and self.process.poll() is None

    # --- the store on disk ---

    def domain_dir(self):
        return os.path.join(self.data_dir, self.domain)

    def maildir(self, user, sub="new"):
        return os.path.join(self.domain_dir(), "mail", user, sub)

    def message_files(self, user, sub="new"):
        """Paths of the files in a user's INBOX new/ (or cur/, tmp/), sorted."""
        path = self.maildir(user, sub)
        try:
            names = sorted(n for n in os.listdir(path) if not n.startswith("."))
        except FileNotFoundError:
            return []
        return [os.path.join(path, n) for n in names]

    def messages(self, user, sub="new"):
        out = []
        for path in self.message_files(user, sub):
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    def wait_messages(self, user, count=1, timeout=WAIT_TIMEOUT_S):
        return wait_for(lambda: len(self.message_files(user)) >= count and self.messages(user),
                        timeout, what="%d message(s) in %s's new/ on %s"
                        % (count, user, self.domain))

    def folder_dir(self, user, folder="INBOX"):
        """A folder's Maildir++ directory (server/ms-store.h): the user's
        Maildir for INBOX, ".Work" for "Work", ".Work.2026" for "Work/2026"."""
        base = os.path.join(self.domain_dir(), "mail", user)
        if folder.upper() == "INBOX":
            return base
        return os.path.join(base, "." + folder.replace("/", "."))

    def maildir_files(self, user, folder="INBOX"):
        """The messages of a folder on disk, new/ then cur/, each sorted by
        name: MaildirFile(sub, name, flags, path), where flags are the
        Maildir letters after ":2," ("" for none, None in new/)."""
        out = []
        for sub in ("new", "cur"):
            path = os.path.join(self.folder_dir(user, folder), sub)
            try:
                names = sorted(n for n in os.listdir(path) if not n.startswith("."))
            except FileNotFoundError:
                continue
            for name in names:
                flags = name.split(":2,", 1)[1] if ":2," in name else None
                out.append(MaildirFile(sub, name, flags, os.path.join(path, name)))
        return out

    def maildir_flags(self, user, folder="INBOX"):
        """{message bytes: Maildir flags ("" for a file in new/)}."""
        out = {}
        for f in self.maildir_files(user, folder):
            with open(f.path, "rb") as data:
                out[data.read()] = f.flags or ""
        return out

    def queue_files(self):
        out = []
        for root, _dirs, files in os.walk(os.path.join(self.domain_dir(), "queue")):
            out += [os.path.join(root, f) for f in files]
        return sorted(out)

    def trace_events(self):
        """The trace file's events so far (the recorder flushes every 200 ms)."""
        try:
            with open(self.trace, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        # Only whole lines: the last one may be half written.
        lines = data.split(b"\n")
        return [json.loads(l) for l in lines[:-1] if l]


class MaildirFile(collections.namedtuple("MaildirFile", "sub name flags path")):
    def read(self):
        with open(self.path, "rb") as f:
            return f.read()


class RawLines:
    """A CRLF line client on a plain (or TLS) socket: what the raw SMTP,
    POP3 and IMAP clients below share."""

    def __init__(self, port, host=HOST, tls=False):
        self.sock = socket.create_connection((host, port), timeout=SOCKET_TIMEOUT_S)
        if tls:
            self.sock = insecure_tls_context().wrap_socket(self.sock)
        self.buffer = b""

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def send_line(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")

    def read_line(self, timeout=None):
        """One line without CRLF; ConnectionError at EOF. `timeout`, when
        given, is the socket's from now on (socket.timeout if it runs out)."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        while b"\r\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed; pending %r" % self.buffer)
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def closed_by_peer(self, timeout=5):
        """TRUE when the server closes the connection (EOF) within `timeout`."""
        if self.buffer:
            return False
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


class RawSmtp(RawLines):
    """A line-level SMTP client on a plain socket, for input no real client
    would send."""

    def reply(self):
        """Reads one reply (all its lines). Returns (code, [texts])."""
        texts = []
        while True:
            line = self.read_line()
            if len(line) < 3 or not line[:3].isdigit():
                raise AssertionError("malformed reply line %r" % line)
            texts.append(line[4:].decode(errors="replace"))
            if line[3:4] != b"-":
                return int(line[:3]), texts

    def command(self, line):
        self.send_line(line)
        return self.reply()

    def greet(self, name="client.test"):
        code, texts = self.reply()
        assert code == 220, (code, texts)
        code, texts = self.command("EHLO " + name)
        assert code == 250, (code, texts)
        return texts

    def auth_plain(self, user, password):
        token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
        return self.command("AUTH PLAIN " + token)


class RawPop3(RawLines):
    """A line-level POP3 client on a plain socket (RFC 1939), for input no
    real client would send."""

    def reply(self):
        """One status line, as text: "+OK ..." or "-ERR ..."."""
        line = self.read_line().decode(errors="replace")
        if not (line.startswith("+OK") or line.startswith("-ERR") or line.startswith("+")):
            raise AssertionError("malformed POP3 status line %r" % line)
        return line

    def command(self, line):
        self.send_line(line)
        return self.reply()

    def multiline(self, line):
        """Sends a command with a multi-line answer. Returns (status line,
        body) where body is the bytes after the status line, unstuffed
        (RFC 1939 section 3), each line with its CRLF; body is None after
        -ERR."""
        status = self.command(line)
        if not status.startswith("+OK"):
            return status, None
        out = []
        while True:
            data = self.read_line()
            if data == b".":
                return status, b"".join(out)
            if data.startswith(b"."):
                data = data[1:]
            out.append(data + b"\r\n")

    def login(self, user, password):
        """Reads the greeting, then USER and PASS; returns PASS's reply."""
        greeting = self.reply()
        assert greeting.startswith("+OK"), greeting
        status = self.command("USER " + user)
        assert status.startswith("+OK"), status
        return self.command("PASS " + password)


class RawImap(RawLines):
    """A tagged IMAP client on a plain socket (RFC 3501), for input no real
    client would send and for watching untagged responses (IDLE). Responses
    are bytes without the final CRLF, with any literal's bytes inline:
    b'* 1 FETCH (BODY[] {5}\\r\\nhello)'."""

    def __init__(self, port, host=HOST, tls=False):
        super().__init__(port, host, tls)
        self.count = 0

    def read_bytes(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed in a literal")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def response(self, timeout=None):
        """One whole response: a line, and each literal it announces at
        its end ("{N}", RFC 3501 section 4.3) with the rest that follows.
        socket.timeout when it does not come within `timeout` (default
        SOCKET_TIMEOUT_S)."""
        timeout = timeout or SOCKET_TIMEOUT_S
        out = self.read_line(timeout)
        while True:
            match = re.search(rb"\{(\d+)\}$", out)
            if match is None or out.startswith(b"+"):
                return out
            out += b"\r\n" + self.read_bytes(int(match.group(1))) + self.read_line(timeout)

    def next_tag(self):
        self.count += 1
        return "t%03d" % self.count

    def greeting(self):
        line = self.response()
        assert line.startswith(b"* OK") or line.startswith(b"* PREAUTH"), line
        return line

    def command(self, text, tag=None):
        """Sends "tag text"; returns (untagged and continuation responses,
        the tagged response)."""
        tag = tag or self.next_tag()
        self.send_line(tag.encode() + b" " + (text.encode() if isinstance(text, str) else text))
        return self.until_tagged(tag)

    def until_tagged(self, tag, timeout=None):
        untagged = []
        prefix = (tag.encode() if isinstance(tag, str) else tag) + b" "
        while True:
            line = self.response(timeout)
            if line.startswith(prefix):
                return untagged, line
            untagged.append(line)

    def ok(self, text):
        """A command that must succeed; returns its untagged responses."""
        untagged, tagged = self.command(text)
        assert imap_status(tagged) == "OK", (text, untagged, tagged)
        return untagged

    def login(self, user, password):
        self.greeting()
        return self.ok("LOGIN %s %s" % (imap_quote(user), imap_quote(password)))


def local_maildir(path):
    """A client's local Maildir folder (mbsync, offlineimap): a list of
    (Maildir flags, bytes) sorted by bytes. Flags are the letters after
    ":2," ("" when the name has none, as in new/)."""
    out = []
    for sub in ("new", "cur"):
        try:
            names = os.listdir(os.path.join(path, sub))
        except FileNotFoundError:
            continue
        for name in names:
            if name.startswith("."):
                continue
            with open(os.path.join(path, sub, name), "rb") as f:
                data = f.read()
            out.append((name.split(":2,", 1)[1] if ":2," in name else "", data))
    return sorted(out, key=lambda item: item[1])


def parse_list(line):
    """(attributes, delimiter, name) of a LIST or LSUB response without
    its "* LIST " prefix (imaplib gives it so) or with it; the name
    unquoted. RFC 3501 section 7.2.2."""
    if isinstance(line, bytes):
        line = line.decode()
    match = re.match(r'(?:\* (?:LIST|LSUB) )?\(([^)]*)\) (NIL|"(?:[^"\\]|\\.)") (.*)$', line)
    assert match, "malformed LIST response %r" % line
    attributes = match.group(1).split()
    delimiter = None if match.group(2) == "NIL" else match.group(2)[1:-1]
    name = match.group(3)
    if name.startswith('"'):
        name = re.sub(r'\\(.)', r'\1', name[1:-1])
    return attributes, delimiter, name


def imap_status(tagged):
    """"OK", "NO" or "BAD" of a tagged response line (bytes)."""
    parts = tagged.split(b" ", 2)
    return parts[1].decode(errors="replace") if len(parts) > 1 else ""


def imap_quote(text):
    """An IMAP quoted string (RFC 3501 section 4.3)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def imap_connect(server, user="alice", password="alicepw", tls=None):
    """An imaplib client logged in to the server: tls None for plain,
    "starttls" or "imaps"."""
    import imaplib  # only the IMAP tests need it here
    if tls == "imaps":
        client = imaplib.IMAP4_SSL(HOST, server.imaps_port, ssl_context=insecure_tls_context(),
                                   timeout=SOCKET_TIMEOUT_S)
    else:
        client = imaplib.IMAP4(HOST, server.imap_port, timeout=SOCKET_TIMEOUT_S)
        if tls == "starttls":
            client.starttls(insecure_tls_context())
    typ, data = client.login(user, password)
    assert typ == "OK", data
    return client


def imap_append(server, user, password, folder, messages, flags=()):
    """APPENDs each message to a folder with imaplib; returns their UIDs
    from APPENDUID (RFC 4315 section 3)."""
    client = imap_connect(server, user, password)
    uids = []
    try:
        for message in messages:
            typ, data = client.append(folder, "(%s)" % " ".join(flags) if flags else None,
                                      None, message)
            assert typ == "OK", data
            match = re.search(rb"\[APPENDUID \d+ (\d+)\]", data[0])
            assert match, data
            uids.append(int(match.group(1)))
    finally:
        client.logout()
    return uids


def simple_message(subject, sender="carol@other.test", to="alice@example.test", body=None):
    """A small message with CRLF line ends."""
    return message_bytes([b"From: " + sender.encode(), b"To: " + to.encode(),
                          b"Subject: " + subject.encode(),
                          b"Message-ID: <%s@example.test>" % subject.replace(" ", ".").encode(),
                          b"", (body or "Body of " + subject).encode()])


# --- POP3 (RFC 1939) ---

def pop3_test_messages(tag="pop3"):
    """Three messages to put in a maildrop: the dot-stuffing one, a short
    one, and one of about 40 KiB (several TCP segments, many lines that
    begin with a dot)."""
    big_body = [b"line %05d %s" % (i, b"." * (i % 7)) if i % 3 else b".line %05d" % i
                for i in range(3000)]
    return [
        dot_message("%s dots" % tag),
        message_bytes([b"From: Carol <carol@other.test>", b"To: bob@example.test",
                       b"Subject: %s short" % tag.encode(), b"", b"Hi Bob."]),
        message_bytes([b"From: Carol <carol@other.test>", b"To: bob@example.test",
                       b"Subject: %s big" % tag.encode(), b""] + big_body),
    ]


def deliver_by_smtp(server, user, messages):
    """Sends each message to `user` with smtplib on the MTA port, one
    transaction each. Returns the Maildir files' bytes (Received: field on
    top), in the order sent: what a POP3 client must receive."""
    import smtplib  # only the POP3 tests need it here
    stored = []
    for message in messages:
        before = set(server.message_files(user))
        with smtplib.SMTP(HOST, server.smtp_port, local_hostname="client.test",
                          timeout=SOCKET_TIMEOUT_S) as smtp:
            refused = smtp.sendmail("carol@other.test", ["%s@%s" % (user, server.domain)],
                                    message)
            assert refused == {}, refused
        # A 250 after DATA means the message is on disk.
        new = sorted(set(server.message_files(user)) - before)
        assert len(new) == 1, new
        with open(new[0], "rb") as f:
            data = f.read()
        _removed, rest = strip_header_fields(data)
        assert rest == message, "stored message differs from the one sent"
        stored.append(data)
    return stored


def maildrop_snapshot(server, user):
    """{"new/NAME" or "cur/NAME": bytes} for a user's INBOX (the maildrop)."""
    out = {}
    for sub in ("new", "cur"):
        for path in server.message_files(user, sub):
            with open(path, "rb") as f:
                out[sub + "/" + os.path.basename(path)] = f.read()
    return out


def maildir_uidl(path):
    """The POP3 unique-id Mailscope gives a Maildir file: its unique name,
    the file name without the ":2,FLAGS" info part."""
    return os.path.basename(path).split(":", 1)[0]


def maildrop_uidls(server, user, stored):
    """The unique-id of each message of `stored` (file bytes, as
    deliver_by_smtp returned them), found by content: file names need not
    sort in arrival order."""
    by_content = {}
    for sub in ("new", "cur"):
        for path in server.message_files(user, sub):
            with open(path, "rb") as f:
                by_content[f.read()] = maildir_uidl(path)
    return [by_content[data] for data in stored]


def which(program):
    return shutil.which(program)


class ServerTestCase(unittest.TestCase):
    """Gives each test a temporary directory and kills every server it
    started in tearDown, whatever happened."""

    maxDiff = None

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mailscope-integ-")
        self.servers = []

    def tearDown(self):
        for server in self.servers:
            try:
                server.kill()
            except Exception as e:  # noqa: BLE001 -- keep killing the others
                print("could not kill a server: %s" % e, file=sys.stderr)
        outcome = getattr(self, "_outcome", None)
        failed = outcome is not None and not getattr(outcome, "success", True)
        sanitizer_reports = []
        for server in self.servers:
            err = server.stderr()
            # Under -Db_sanitize=address,undefined, UBSan reports and goes on:
            # a report anywhere in a server's stderr fails the test.
            if any(mark in err for mark in SANITIZER_MARKS):
                sanitizer_reports.append("%s:\n%s" % (server.domain, err))
            elif err and (failed or os.environ.get("MAILSCOPE_KEEP_TMP")):
                print("--- stderr of %s ---\n%s" % (server.domain, err), file=sys.stderr)
        if not os.environ.get("MAILSCOPE_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        if sanitizer_reports:
            self.fail("sanitizer report from the server:\n" + "\n".join(sanitizer_reports))

    def new_server(self, domain="example.test", users=("alice:alicepw", "bob:bobpw"),
                   **kwargs):
        """A server that is not started yet (its ports are chosen), so that
        two servers can route to each other."""
        server = Server(self.tmp, domain, users=users, **kwargs)
        self.servers.append(server)
        return server

    def start_server(self, domain="example.test", users=("alice:alicepw", "bob:bobpw"),
                     **kwargs):
        return self.new_server(domain, users, **kwargs).start()

    def restart(self, server):
        """The same server again, on the same ports and data directory."""
        again = Server(self.tmp, server.domain, users=server.users, routes=server.routes,
                       trace=server.trace, reveal_secrets=server.reveal_secrets,
                       max_message_size=server.max_message_size, data_dir=server.data_dir,
                       ports=server.ports, extra_args=server.extra_args)
        self.servers.append(again)
        return again.start()

    def send_raw(self, port, mail_from, rcpts, message, helo="client.test"):
        """A whole transaction on a raw socket; returns the reply to the final dot."""
        with RawSmtp(port) as smtp:
            smtp.greet(helo)
            code, texts = smtp.command("MAIL FROM:<%s>" % mail_from)
            self.assertEqual(code, 250, texts)
            for rcpt in rcpts:
                code, texts = smtp.command("RCPT TO:<%s>" % rcpt)
                self.assertEqual(code, 250, texts)
            code, texts = smtp.command("DATA")
            self.assertEqual(code, 354, texts)
            smtp.send(dot_stuff(message))
            reply = smtp.reply()
            smtp.command("QUIT")
            return reply

    def write_file(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def assertDelivered(self, stored, sent, received_headers=1):
        """`stored` is `sent` with `received_headers` Received: fields on top."""
        removed, rest = strip_header_fields(stored, received_headers)
        for field in removed:
            # "Received: from ...", then "\tby ... with ... id ..." and, for
            # one recipient, "\tfor <...>; date": CRLF line ends throughout.
            lines = field.split(b"\r\n")
            self.assertEqual(lines[-1], b"", field)
            self.assertIn(len(lines) - 1, (2, 3), field)
            for line in lines[1:-1]:
                self.assertTrue(line.startswith(b"\t"), field)
            self.assertNotIn(b"\n", b"".join(lines), field)
        self.assertEqual(rest, sent)
        return removed

    def assertReply(self, reply, code, enhanced=None):
        got_code, texts = reply
        self.assertEqual(got_code, code, texts)
        if enhanced is not None:
            self.assertTrue(texts[-1].startswith(enhanced + " "),
                            "expected %s, got %r" % (enhanced, texts))


def run():
    """unittest.main with verbose output; the exit code is what meson sees."""
    unittest.main(verbosity=2)
