"""Shared fixture for porthole's integration tests.

A real OpenSSH sshd on 127.0.0.1 (fresh host and client keys in a temp dir, torn down at the
end), local servers to forward to (EchoServer, BulkServer), and Forwarder, which runs the
forwarder under test: the built porthole (env PORTHOLE), or OpenSSH's own `ssh -N` when
PORTHOLE_TEST_WITH_SSH=1 so that a data-path test can be checked against a known-good client.

Exit codes follow meson: 0 pass, 1 fail, 77 skip. With PORTHOLE_REQUIRE_ALL=1 a skip caused
by the environment is a failure.  Standard library only.
"""

import atexit
import errno
import fcntl
import hashlib
import os
import pwd
import random
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SSHD = "/usr/sbin/sshd"
SSH_MODE = os.environ.get("PORTHOLE_TEST_WITH_SSH") == "1"
READY_LINE = "connected to"
CHUNK = 1 << 20

_children = []  # every Popen we start, killed at exit if still running


# ---------------------------------------------------------------- results and exits


def skip(reason):
    """The environment cannot run this test: exit 77 (or 1 under PORTHOLE_REQUIRE_ALL=1)."""
    sys.stdout.flush()
    if os.environ.get("PORTHOLE_REQUIRE_ALL") == "1":
        print(f"FAIL (skip not allowed): {reason}", flush=True)
        sys.exit(1)
    print(f"SKIP: {reason}", flush=True)
    sys.exit(77)


def skip_in_ssh_mode(reason="checks porthole-specific behaviour"):
    """Tests of porthole's own messages do not apply to OpenSSH's client."""
    if SSH_MODE:
        print(f"SKIP: ssh mode: {reason}", flush=True)
        sys.exit(77)


class TestFailure(Exception):
    pass


# What a forwarder dies of only through a bug: a failed assertion (libuv's own included), a
# bad pointer, or a sanitizer report (meson sets abort_on_error=1). Whatever a test expected
# of the exit, such an end fails it (a test's SIGTERM or SIGKILL is not among them).
CRASH_SIGNALS = {signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}


def crash_check(returncode, argv, stderr):
    """Raise TestFailure if a forwarder's exit status says it crashed (CRASH_SIGNALS)."""
    if returncode is not None and returncode < 0 and -returncode in CRASH_SIGNALS:
        raise TestFailure(f"the forwarder crashed ({signal.Signals(-returncode).name}): "
                          f"{' '.join(argv)}\n{stderr}")


def ok(what):
    print(f"ok: {what}", flush=True)


def check(cond, what, detail=""):
    """Print `ok: what` or raise TestFailure naming what and the detail."""
    if not cond:
        raise TestFailure(what + (f"\n{detail}" if detail else ""))
    ok(what)


def run(main, timeout=240):
    """Run main() with a watchdog; map the outcome to the exit status and exit."""

    def on_alarm(signum, frame):
        raise TestFailure(f"test timed out after {timeout} s")

    def on_term(signum, frame):
        raise SystemExit(f"killed by signal {signum}")

    signal.signal(signal.SIGALRM, on_alarm)
    signal.signal(signal.SIGTERM, on_term)
    signal.alarm(timeout)
    name = os.path.basename(sys.argv[0])
    mode = "ssh" if SSH_MODE else "porthole"
    print(f"# {name} ({mode} mode)", flush=True)
    status = 0
    try:
        main()
        print(f"PASS: {name}", flush=True)
    except TestFailure as e:
        print(f"FAIL: {e}", flush=True)
        status = 1
    except SystemExit:
        raise
    except BaseException:  # noqa: B902 - any other error is a failure, with its traceback
        traceback.print_exc()
        print(f"FAIL: {name}: unexpected exception", flush=True)
        status = 1
    finally:
        signal.alarm(0)
    sys.exit(status)


@atexit.register
def _kill_children():
    for p in _children:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(2)
            except subprocess.TimeoutExpired:
                pass


# ---------------------------------------------------------------- network namespaces

_CLONE_NEWNET = 0x40000000


def in_netns(name, fn, *args, **kwargs):
    """fn(*args, **kwargs), run in network namespace `name` (/run/netns/NAME, as `ip netns
    add` makes), or here when name is None. A thread of its own joins the namespace, so this
    process stays where it is; sockets fn creates stay in that namespace whoever uses them
    later. Exceptions propagate to the caller."""
    if name is None:
        return fn(*args, **kwargs)
    import ctypes  # only tests that use namespaces need it
    out = {}

    def body():
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            fd = os.open(os.path.join("/run/netns", name), os.O_RDONLY | os.O_CLOEXEC)
            try:
                if libc.setns(fd, _CLONE_NEWNET) != 0:
                    e = ctypes.get_errno()
                    raise OSError(e, f"setns({name}): {os.strerror(e)}")
            finally:
                os.close(fd)
            out["result"] = fn(*args, **kwargs)
        except BaseException as e:  # noqa: B902 - handed to the caller
            out["error"] = e

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["result"]


# ---------------------------------------------------------------- ports


# Ports handed out for something to listen on later are taken from below the kernel's ephemeral
# range (32768-60999 by default): a port from bind(0) is an ephemeral one, and between
# releasing it and porthole binding it any connect() on the machine (the suite runs tests in
# parallel, each making thousands of connections) may take it as a source port, which failed
# CI once with "Address already in use". Each port is also reserved across the suite's
# processes by an flock on a file named for it, held until this process exits.
_PORT_LO, _PORT_HI = 20000, 32000
_PORT_LOCKS = os.path.join(tempfile.gettempdir(), "porthole-test-ports")
_port_fds = []


def _port_is_free(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(family, kind) as s:
            try:
                s.bind((host, port))
            except OSError:
                return False
    return True


def free_port(host="127.0.0.1"):
    """A port free for TCP and UDP on host, outside the ephemeral range, reserved for this run."""
    os.makedirs(_PORT_LOCKS, mode=0o1777, exist_ok=True)
    rng = random.SystemRandom()
    for _ in range(2000):
        port = rng.randrange(_PORT_LO, _PORT_HI)
        try:
            fd = os.open(os.path.join(_PORT_LOCKS, str(port)), os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if _port_is_free(host, port):
            _port_fds.append(fd)
            return port
        os.close(fd)
    raise RuntimeError(f"no free port in {_PORT_LO}-{_PORT_HI} on {host}")


def refused_port(host="127.0.0.1"):
    """(port, socket): connections to host:port are refused while the socket stays open.

    Bound but not listening, unlike free_port(): no other process (tests run in parallel) can
    start listening there meanwhile, and connect() never picks it as a source port, which
    would connect a socket to itself instead of being refused. Close the socket when done."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    return s.getsockname()[1], s


def wait_port(port, timeout=10.0, host="127.0.0.1"):
    """Connect-poll until host:port accepts; raise TimeoutError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=1):
                return
        except OSError:
            if time.monotonic() >= deadline:
                raise TimeoutError(f"{host}:{port} not accepting after {timeout} s")
            time.sleep(0.05)


def is_listening(port):
    """True if some TCP socket on this host listens on `port` (Linux /proc, no connection)."""
    found = False
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state = fields[1], fields[3]
                    if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                        return True
            found = True
        except OSError:
            continue
    if not found:  # no /proc: fall back to connecting
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False
    return False


def wait_listening(port, timeout=10.0):
    """Poll is_listening (no connection made) until true; return False on timeout."""
    deadline = time.monotonic() + timeout
    while not is_listening(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def connect(port, timeout=30.0, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_all(sock, limit=None):
    """Read until EOF (or `limit` bytes); return the bytes."""
    parts = []
    n = 0
    while limit is None or n < limit:
        b = sock.recv(CHUNK if limit is None else min(CHUNK, limit - n))
        if not b:
            break
        parts.append(b)
        n += len(b)
    return b"".join(parts)


def echo_while(sock, thread, size=64, period=0.01):
    """A size-byte request every period s through sock (to an echo server) while thread
    runs, each reply checked against its request: (replies, the longest time between two
    requests in s; over half a second, porthole counts a transfer beside it as alone)."""
    replies, gap, last = 0, 0.0, time.monotonic()
    while thread.is_alive():
        now = time.monotonic()
        gap, last = max(gap, now - last), now
        req = (b"%08d" % replies * (size // 8 + 1))[:size]
        sock.sendall(req)
        got = recv_all(sock, size)
        if got != req:
            check(False, "each echo reply is its request", f"sent {req!r}, got {got!r}")
        replies += 1
        time.sleep(period)
    return replies, gap


def recv_line(sock, limit=4096):
    """Read one short b'\\n'-terminated line (byte at a time: leaves what follows unread)."""
    buf = b""
    while not buf.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        buf += b
        if len(buf) > limit:
            raise ValueError("line too long")
    return buf


# ---------------------------------------------------------------- data


def stream(n, seed):
    """Deterministic pseudo-random bytes: yields chunks totalling n bytes. A prefix of
    stream(N, seed) is NOT stream(n, seed) unless n is a multiple of 4 (randbytes' last
    word): take prefixes from stream(N, seed) itself."""
    rng = random.Random(seed)
    left = n
    while left > 0:
        k = min(CHUNK, left)
        yield rng.randbytes(k)
        left -= k


def stream_sha256(n, seed):
    h = hashlib.sha256()
    for c in stream(n, seed):
        h.update(c)
    return h.hexdigest()


# ---------------------------------------------------------------- local servers


class _TcpServer:
    """Listening socket on 127.0.0.1:random with one thread per accepted connection."""

    def __init__(self, backlog=1024, host="127.0.0.1"):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(backlog)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.errors = []
        self._conns = set()
        self._lock = threading.Lock()
        self._closing = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                if self._closing:
                    c.close()
                    return
                self.accepted += 1
                self._conns.add(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            self.handle(c)
        except OSError as e:
            if not self._closing:
                self.errors.append(repr(e))
        except Exception as e:  # recorded for the test to report
            self.errors.append(repr(e))
        finally:
            with self._lock:
                self._conns.discard(c)
            c.close()

    def handle(self, c):
        raise NotImplementedError

    def close(self):
        with self._lock:
            self._closing = True
            conns = list(self._conns)
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class EchoServer(_TcpServer):
    """Echoes everything; on the client's EOF, sends what is left, then shuts its write side."""

    def handle(self, c):
        while True:
            b = c.recv(256 * 1024)
            if not b:
                break
            c.sendall(b)
        c.shutdown(socket.SHUT_WR)
        # Linger until the peer closes too, so our close never turns into a RST.
        c.settimeout(30)
        while c.recv(65536):
            pass


class BulkServer(_TcpServer):
    """Bulk data in either direction, one request line per connection:

    UPLOAD n\\n        read exactly n bytes, reply "<n> <sha256 hex>\\n", close.
    DOWNLOAD n seed\\n send stream(n, seed), then close (EOF ends the data).
    AFTEREOF n seed\\n read until the client's EOF (half-close), reply "<bytes read>\\n" then
                      stream(n, seed), then close.
    """

    def handle(self, c):
        c.settimeout(120)
        words = recv_line(c).split()
        if not words:
            return
        cmd = words[0]
        if cmd == b"UPLOAD":
            n = int(words[1])
            h = hashlib.sha256()
            got = 0
            while got < n:
                b = c.recv(min(CHUNK, n - got))
                if not b:
                    break
                h.update(b)
                got += len(b)
            c.sendall(f"{got} {h.hexdigest()}\n".encode())
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        elif cmd == b"DOWNLOAD":
            for chunk in stream(int(words[1]), int(words[2])):
                c.sendall(chunk)
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        elif cmd == b"AFTEREOF":
            got = 0
            while True:
                b = c.recv(65536)
                if not b:
                    break
                got += len(b)
            c.sendall(f"{got}\n".encode())
            for chunk in stream(int(words[1]), int(words[2])):
                c.sendall(chunk)
            c.shutdown(socket.SHUT_WR)
        else:
            raise ValueError(f"BulkServer: bad request {words!r}")


# ---------------------------------------------------------------- sshd

_KEYGEN_ARGS = {
    "ed25519": ["-t", "ed25519"],
    "ecdsa": ["-t", "ecdsa", "-b", "256"],
    "ecdsa384": ["-t", "ecdsa", "-b", "384"],
    "ecdsa521": ["-t", "ecdsa", "-b", "521"],
    "rsa": ["-t", "rsa", "-b", "3072"],
}


def keygen(path, kind="ed25519", passphrase="", comment="porthole-test"):
    """Make a key pair at path / path.pub; return the public line 'type base64'."""
    subprocess.run(["ssh-keygen", "-q", *_KEYGEN_ARGS[kind], "-N", passphrase, "-C", comment,
                    "-f", path], check=True, stdin=subprocess.DEVNULL)
    return public_key(path + ".pub")


def public_key(pub_path):
    with open(pub_path) as f:
        return " ".join(f.read().split()[:2])


def fingerprint(pub_path):
    out = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", pub_path], check=True,
                         capture_output=True, text=True).stdout
    return out.split()[1]


def agent_tools_missing():
    """The first of ssh-agent / ssh-add not on PATH, or None."""
    for tool in ("ssh-agent", "ssh-add"):
        if not shutil.which(tool):
            return tool
    return None


class Agent:
    """A fresh `ssh-agent -D` on a socket in directory d, stopped by close() (or as a context
    manager). add() loads a key the way a user would: ssh-add, a certificate beside the key
    (KEY-cert.pub) included, a passphrase answered through SSH_ASKPASS (no terminal)."""

    def __init__(self, d):
        self.dir = d
        self.sock = os.path.join(d, "agent.sock")
        self.proc = subprocess.Popen(["ssh-agent", "-D", "-a", self.sock],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        _children.append(self.proc)
        deadline = time.monotonic() + 5
        while not os.path.exists(self.sock):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise TestFailure(f"ssh-agent did not start (status {self.proc.poll()})")
            time.sleep(0.02)

    def env(self):
        return {"SSH_AUTH_SOCK": self.sock}

    def add(self, key, passphrase=""):
        """ssh-add key; return the CompletedProcess (stdout+stderr in .stdout)."""
        env = dict(os.environ, SSH_AUTH_SOCK=self.sock)
        if passphrase:
            askpass = os.path.join(self.dir, "askpass.sh")
            with open(askpass, "w") as f:
                f.write(f"#!/bin/sh\necho {shlex.quote(passphrase)}\n")
            os.chmod(askpass, 0o700)
            env.update(SSH_ASKPASS=askpass, SSH_ASKPASS_REQUIRE="force",
                       DISPLAY=os.environ.get("DISPLAY", ":0"))
        # A session of its own: ssh-add cannot find a terminal to prompt on.
        return subprocess.run(["ssh-add", key], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True, timeout=10)

    def add_new_keys(self, count, prefix="agent_key", kind="ed25519"):
        """Make count fresh keys (prefix0, prefix1, ... in the agent's directory, comments
        "prefix-N") and add them in that order; return their paths. A key the test wants the
        server to accept is then added to the server's authorized_keys by the test."""
        paths = []
        for i in range(count):
            path = os.path.join(self.dir, f"{prefix}{i}")
            keygen(path, kind, comment=f"{prefix}-{i}")
            r = self.add(path)
            if r.returncode != 0:
                raise TestFailure(f"ssh-add {path} failed: {r.stdout}")
            paths.append(path)
        return paths

    def listing(self):
        """`ssh-add -l` output: one line per identity held (a certificate is its own line)."""
        return subprocess.run(["ssh-add", "-l"], env=dict(os.environ, SSH_AUTH_SOCK=self.sock),
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=10).stdout

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Sshd:
    """A throw-away OpenSSH sshd on 127.0.0.1:random. Use as a context manager.

    netns: run it inside that network namespace (`ip netns exec NAME`, see
    tests/lib/netns.py), listening on host, an address of that namespace.
    log_level: sshd's LogLevel (sshd keeps the first value of a keyword, so a LogLevel line in
    extra_config would be ignored); DEBUG and up log the negotiated algorithms.
    user_ca: make a user CA key (self.user_ca, self.user_ca + ".pub") that sshd trusts
    (TrustedUserCAKeys); certify() signs user keys with it.
    host_cert: present host certificates (HostCertificate): a dict with principals (list, default
    [host]), validity (ssh-keygen -V, default none: forever), ca ("ed25519", "ecdsa" or "rsa":
    the CA key's type, default ed25519) and user (sign a user certificate instead, as a broken
    server would); every host key is signed by one CA key, self.host_ca (its public line in
    self.host_ca_pub)."""

    def __init__(self, hostkey_types=("ed25519",), extra_config=(), host="127.0.0.1",
                 netns=None, log_level="VERBOSE", user_ca=False, host_cert=None):
        self.hostkey_types = tuple(hostkey_types)
        self.extra_config = list(extra_config)
        self.log_level = log_level
        self.user_ca = user_ca
        self.host_cert = host_cert
        self.host_ca = None
        self.host_ca_pub = None
        self.host_certs = []
        self.host = host
        self.netns = netns
        self.user = pwd.getpwuid(os.getuid()).pw_name
        self.proc = None
        self.dir = None

    # -- setup

    def __enter__(self):
        for tool in (SSHD, shutil.which("ssh-keygen") or "ssh-keygen"):
            if not os.access(tool, os.X_OK):
                skip(f"{tool} not installed")
        self.dir = tempfile.mkdtemp(prefix="porthole-test-")
        try:
            self._setup()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _setup(self):
        d = self.dir
        os.chmod(d, 0o755)
        self.home = os.path.join(d, "home")  # empty HOME for the forwarder
        os.mkdir(self.home, 0o700)
        self.runtime_dir = os.path.join(d, "run")
        os.mkdir(self.runtime_dir, 0o700)
        self.hostkeys = []
        hostkey_lines = []
        for kind in self.hostkey_types:
            path = os.path.join(d, f"ssh_host_{kind}_key")
            hostkey_lines.append(keygen(path, kind, comment="porthole-test-host"))
            self.hostkeys.append(path)
        self.hostkey_pubs = hostkey_lines
        if self.host_cert is not None:
            self._make_host_certs(self.host_cert)
        self.client_key = os.path.join(d, "id_ed25519")
        keygen(self.client_key)
        self.authorized_keys = os.path.join(d, "authorized_keys")
        shutil.copyfile(self.client_key + ".pub", self.authorized_keys)
        self.empty_known_hosts = os.path.join(d, "known_hosts.empty")
        open(self.empty_known_hosts, "w").close()
        if self.user_ca:
            self.user_ca = os.path.join(d, "user_ca")
            keygen(self.user_ca, comment="porthole-test-ca")
        self.log_path = os.path.join(d, "sshd.log")
        self.config_path = os.path.join(d, "sshd_config")
        if os.getuid() == 0 and not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", 0o755, exist_ok=True)
            os.chmod("/run/sshd", 0o755)
        last = ""
        for _ in range(3):  # the random port can be taken between probe and bind: retry
            self.port = in_netns(self.netns, free_port, self.host) if self.netns else free_port()
            self._write_config()
            started, last = self._start()
            if started:
                break
        else:
            if os.getuid() != 0:
                skip(f"cannot run sshd as non-root: {last.strip()[-300:]}")
            raise RuntimeError(f"sshd did not start:\n{last}")
        self.known_hosts = os.path.join(d, "known_hosts")
        with open(self.known_hosts, "w") as f:
            for line in hostkey_lines:
                f.write(f"[{self.host}]:{self.port} {line}\n")

    def _make_host_certs(self, spec):
        self.host_ca = os.path.join(self.dir, "host_ca")
        self.host_ca_pub = keygen(self.host_ca, spec.get("ca", "ed25519"),
                                  comment="porthole-test-host-ca")
        names = ",".join(spec.get("principals") or [self.host])
        for key in self.hostkeys:
            argv = ["ssh-keygen", "-q", "-s", self.host_ca, "-I", "porthole-test-host",
                    "-n", names]
            if not spec.get("user"):
                argv.append("-h")
            if spec.get("validity"):
                argv += ["-V", spec["validity"]]
            subprocess.run(argv + [key + ".pub"], check=True, stdin=subprocess.DEVNULL,
                           capture_output=True)
            self.host_certs.append(key + "-cert.pub")

    def _write_config(self):
        lines = [
            f"ListenAddress {self.host}:{self.port}",
            *[f"HostKey {k}" for k in self.hostkeys],
            *[f"HostCertificate {c}" for c in self.host_certs],
            f"AuthorizedKeysFile {self.authorized_keys}",
            f"PidFile {os.path.join(self.dir, 'sshd.pid')}",
            "UsePAM no",
            "StrictModes no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "AllowTcpForwarding yes",
            "UseDNS no",
            f"LogLevel {self.log_level}",
            *([f"TrustedUserCAKeys {self.user_ca}.pub"] if self.user_ca else []),
            *self._malloc_env(),
            *self.extra_config,
        ]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    @staticmethod
    def _malloc_env():
        """glibc's malloc checks the tests run under (meson sets MALLOC_PERTURB_; scripts/test's
        release suite also GLIBC_TUNABLES), passed on to the sessions sshd starts, so that
        the relay (RelayCommand), which gets sshd's environment, not ours, runs under them."""
        pairs = [f"{k}={os.environ[k]}" for k in ("MALLOC_PERTURB_", "GLIBC_TUNABLES")
                 if os.environ.get(k) and " " not in os.environ[k]]
        return [f"SetEnv {' '.join(pairs)}"] if pairs else []

    def _start(self):
        log = open(self.log_path, "w")
        # `ip netns exec` execs sshd in place: self.proc.pid is sshd's pid either way.
        wrap = ["ip", "netns", "exec", self.netns] if self.netns else []
        self.proc = subprocess.Popen([*wrap, SSHD, "-D", "-e", "-f", self.config_path],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        _children.append(self.proc)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False, self.log()
            try:
                with in_netns(self.netns, socket.create_connection, (self.host, self.port),
                              2) as s:
                    s.settimeout(2)
                    if recv_line(s).startswith(b"SSH-"):
                        return True, ""
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        return False, "no SSH banner within 10 s\n" + self.log()

    # -- outages

    def session_pids(self):
        """The per-connection sshd processes (children of the listening sshd)."""
        return _child_pids(self.proc.pid) if self.proc is not None else []

    def stop_server(self):
        """Kill sshd and every connection it serves, as a jump host that goes down."""
        kids = self.session_pids()
        self.proc.kill()
        self.proc.wait()
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def start_server(self):
        """Start sshd again on the same port with the same keys (the jump host is back)."""
        ok, why = self._start()
        if not ok:
            raise TestFailure("sshd did not come back: " + why)

    # -- use

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def add_client_key(self, pub_path):
        with open(pub_path) as src, open(self.authorized_keys, "a") as dst:
            dst.write(src.read().rstrip("\n") + "\n")

    def certify(self, key, cert_id="porthole-test-cert", principals=None):
        """Sign key.pub with the user CA (Sshd(user_ca=True)) for principals (default: the
        login user); return the certificate's path, key + "-cert.pub" as ssh-keygen writes it."""
        if not self.user_ca:
            raise RuntimeError("certify() needs Sshd(user_ca=True)")
        names = ",".join(principals or [self.user])
        subprocess.run(["ssh-keygen", "-q", "-s", self.user_ca, "-I", cert_id, "-n", names,
                        key + ".pub"], check=True, stdin=subprocess.DEVNULL,
                       capture_output=True)
        return key + "-cert.pub"

    def write_known_hosts(self, name, lines):
        """Write a known_hosts file in the fixture dir; return its path."""
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("".join(line + "\n" for line in lines))
        return path

    # -- teardown

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            # Per-connection children call setsid(): find them before the parent goes.
            kids = _child_pids(self.proc.pid)
            self.proc.terminate()
            for pid in kids:
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if exc and exc[0] is not None and exc[0] is not SystemExit and self.dir:
            tail = "\n".join(self.log().splitlines()[-40:])
            print(f"--- sshd log (tail) ---\n{tail}\n---", flush=True)
        if self.dir and os.environ.get("PORTHOLE_TEST_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def _child_pids(ppid):
    pids = []
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == ppid:
            pids.append(int(name))
    return pids


# ---------------------------------------------------------------- the forwarder under test


def porthole_path():
    p = os.environ.get("PORTHOLE")
    if not p:
        here = os.path.dirname(os.path.abspath(__file__))
        p = os.path.normpath(os.path.join(here, "..", "..", "build", "porthole"))
    if not os.access(p, os.X_OK):
        skip(f"porthole binary not found at {p} (set PORTHOLE)")
    return p


_porthole_info = None


def porthole_info():
    """What `porthole -V` says, parsed (cached): {"text": stdout, "version": "X.Y.Z" or None,
    "libssh2": (1, 11, 1) or None, "strict_kex", "bulk_crypt" and "accept_window": True / False /
    None,
    "offered": {kind: [names]},
    "available": {kind: [names]}}, kind one of kex, hostkey, cipher, mac. Missing lines give
    None / no key, so a test can say which one porthole did not print."""
    global _porthole_info
    if _porthole_info is None:
        r = subprocess.run([porthole_path(), "-V"], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, timeout=10)
        info = {"text": r.stdout + r.stderr, "version": None, "libssh2": None,
                "strict_kex": None, "bulk_crypt": None, "accept_window": None,
                "offered": {}, "available": {}}
        for line in r.stdout.splitlines():
            m = re.match(r"^porthole (\S+)", line)
            if m:
                info["version"] = m.group(1)
            m = re.match(r"^libssh2 (\d+)\.(\d+)\.(\d+)", line)
            if m:
                info["libssh2"] = tuple(int(x) for x in m.groups())
            m = re.match(r"^strict kex \(CVE-2023-48795\): (yes|no)\s*$", line)
            if m:
                info["strict_kex"] = m.group(1) == "yes"
            m = re.match(r"^bulk crypt \(aes-gcm, aes-ctr first\): (yes|no)", line)
            if m:
                info["bulk_crypt"] = m.group(1) == "yes"
            m = re.match(r"^-R receive window \(follows interactive traffic\): (yes|no)", line)
            if m:
                info["accept_window"] = m.group(1) == "yes"
            m = re.match(r"^(offered|available) (kex|hostkey|cipher|mac): (.*)$", line)
            if m:
                info[m.group(1)][m.group(2)] = [n for n in m.group(3).strip().split(",") if n]
        _porthole_info = info
    return _porthole_info


def local_forward_ports(forward_args):
    """Local TCP ports of the -L specs in an argv fragment (for readiness polling)."""
    ports = []
    it = iter(forward_args)
    for a in it:
        spec = None
        if a == "-L":
            spec = next(it, None)
        elif a.startswith("-L") and len(a) > 2:
            spec = a[2:]
        if spec is None or spec.endswith("/udp"):
            continue
        parts = re.findall(r"\[[^\]]*\]|[^:]+", spec)  # ":" inside brackets is not a separator
        port = parts[1] if len(parts) == 4 else parts[0] if len(parts) == 3 else ""
        if port.isdigit():
            ports.append(int(port))
    return ports


def _split_spec(spec):
    """Split a forward spec on ":" outside brackets, keeping empty fields (":8080:h:80")."""
    parts, cur, depth = [], "", 0
    for ch in spec:
        if ch == ":" and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"[": 1, "]": -1}.get(ch, 0)
        cur += ch
    return parts + [cur]


def remote_forward_ports(forward_args):
    """Server-side TCP ports of the -R specs in an argv fragment (for readiness polling).

    Port 0 (the server picks) is left out: the caller learns that port from stderr."""
    ports = []
    it = iter(forward_args)
    for a in it:
        spec = None
        if a == "-R":
            spec = next(it, None)
        elif a.startswith("-R") and len(a) > 2:
            spec = a[2:]
        if spec is None or spec.endswith("/udp"):
            continue
        parts = _split_spec(spec)
        port = parts[1] if len(parts) == 4 else parts[0] if len(parts) == 3 else ""
        if port.isdigit() and int(port) != 0:
            ports.append(int(port))
    return ports


def child_env(sshd, env=None):
    """Environment for the forwarder: no agent, an empty HOME and runtime dir of its own."""
    e = dict(os.environ)
    e.pop("SSH_AUTH_SOCK", None)
    e["HOME"] = sshd.home
    e["XDG_RUNTIME_DIR"] = sshd.runtime_dir
    e.pop("XDG_CONFIG_HOME", None)
    if env:
        for k, v in env.items():
            if v is None:
                e.pop(k, None)
            else:
                e[k] = v
    return e


def forwarder_argv(sshd, forward_args=(), extra_args=(), known_hosts=None, strict="yes",
                   identity="default", identities_only=True, port=None, ssh_mode=SSH_MODE):
    known_hosts = sshd.known_hosts if known_hosts is None else known_hosts
    identity = sshd.client_key if identity == "default" else identity
    if ssh_mode:
        argv = ["ssh", "-N", "-F", "none", "-o", "BatchMode=yes",
                "-o", "ExitOnForwardFailure=yes"]
    else:
        argv = [porthole_path()]
    argv += ["-o", f"UserKnownHostsFile={known_hosts}", "-o", f"StrictHostKeyChecking={strict}"]
    if identities_only:
        argv += ["-o", "IdentitiesOnly=yes"]
    if identity:
        argv += ["-i", identity]
    # A test that says nothing about the relay gets SSH channels for -L and -D, as it was
    # written for, whatever porthole the machine has installed (OpenVia auto would probe
    # "porthole relay" on the PATH, and use an installed one's streams).
    if not ssh_mode and not any("RelayCommand" in a or "OpenVia" in a for a in extra_args):
        extra_args = [*extra_args, "-o", "OpenVia=channel"]
    argv += ["-p", str(sshd.port if port is None else port), *extra_args, *forward_args,
             f"{sshd.user}@{sshd.host}"]
    return argv


class Forwarder:
    """The forwarder process under test, started and made ready in __init__ (or start()).

    porthole mode: ready when stderr has a line containing "connected to" and every -L port
    listens. ssh mode: ready when every -L port listens. Either way, with wait_remote (the
    default) also every non-zero -R port (the sshd, on this same host, listens on it; a -R
    the server may refuse wants wait_remote=False). stderr is collected in the background
    (see .stderr()); stop() sends SIGTERM and returns (exit status, stderr text). A
    forwarder that crashed (CRASH_SIGNALS) fails the test in stop() or at the end of `with`.
    """

    def __init__(self, sshd, forward_args=(), env=None, timeout=10.0, start=True,
                 wait_remote=True, **argv_opts):
        self.sshd = sshd
        self.forward_args = list(forward_args)
        self.wait_remote = wait_remote
        self.argv = forwarder_argv(sshd, self.forward_args, **argv_opts)
        self.env = child_env(sshd, env)
        self.timeout = timeout
        self.proc = None
        self._lines = []
        self._lock = threading.Lock()
        self._ready_line = threading.Event()
        self._reader = None
        if start:
            self.start()

    def start(self):
        self.proc = subprocess.Popen(self.argv, env=self.env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _children.append(self.proc)
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()
        self._wait_ready()
        return self

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            with self._lock:
                self._lines.append(line)
            if READY_LINE in line:
                self._ready_line.set()

    def _wait_ready(self):
        deadline = time.monotonic() + self.timeout
        ports = local_forward_ports(self.forward_args)
        if self.wait_remote:
            ports += remote_forward_ports(self.forward_args)
        while True:
            if self.proc.poll() is not None:
                self._reader.join(2)
                raise TestFailure(f"forwarder exited with status {self.proc.returncode} before "
                                  f"it was ready: {' '.join(self.argv)}\n{self.stderr()}")
            line_ok = SSH_MODE or self._ready_line.is_set()
            if line_ok and all(is_listening(p) for p in ports):
                return
            if time.monotonic() >= deadline:
                what = "its forward ports to listen" if line_ok else f"a '{READY_LINE}' line"
                raise TestFailure(f"forwarder not ready after {self.timeout} s (waited for "
                                  f"{what}): {' '.join(self.argv)}\n{self.stderr()}")
            time.sleep(0.02)

    def stderr(self):
        with self._lock:
            return "\n".join(self._lines) + ("\n" if self._lines else "")

    def stderr_lines(self):
        with self._lock:
            return list(self._lines)

    def wait_stderr(self, pred, timeout=2.0):
        """Poll until some stderr line satisfies pred; return it or None."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.stderr_lines():
                if pred(line):
                    return line
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=5.0):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                with self._lock:
                    self._lines.append(f"[fixture: no exit {timeout} s after signal {sig}, "
                                       "killed]")
        self._reader.join(2)
        crash_check(self.proc.returncode, self.argv, self.stderr())
        return self.proc.returncode, self.stderr()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        failing = exc[0] is not None
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.stop()
            elif self.proc is not None:
                self._reader.join(2)
                crash_check(self.proc.returncode, self.argv, self.stderr())
        except TestFailure:
            if not failing:
                raise
        if failing and exc[0] is not SystemExit:
            print(f"--- forwarder stderr ---\n{self.stderr()}---", flush=True)
        return False


def run_forwarder(sshd, forward_args=(), env=None, timeout=10.0, **argv_opts):
    """Run the forwarder expecting it to exit by itself; return (status, stderr text).

    A forwarder still running after `timeout` s is killed and status is None.
    """
    argv = forwarder_argv(sshd, forward_args, **argv_opts)
    # A session of its own: no controlling terminal, even when the tests run from one.
    p = subprocess.Popen(argv, env=child_env(sshd, env), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         start_new_session=True)
    _children.append(p)
    try:
        _, err = p.communicate(timeout=timeout)
        crash_check(p.returncode, argv, err.decode(errors="replace"))
        return p.returncode, err.decode(errors="replace")
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return None, err.decode(errors="replace")


# ---------------------------------------------------------------- client helpers


def echo_roundtrip(port, payload, timeout=30.0, chunk=65536):
    """Send payload through port while reading concurrently; half-close; return what came back."""
    s = connect(port, timeout)
    err = []

    def send():
        try:
            for i in range(0, len(payload), chunk):
                s.sendall(payload[i:i + chunk])
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    try:
        data = recv_all(s)
    finally:
        t.join(timeout)
        s.close()
    if err:
        raise err[0]
    return data


def is_closed_quickly(port, timeout=1.0):
    """Connect; return (closed, how): closed True if the peer closed/reset within timeout."""
    t0 = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except ConnectionResetError:
        # The reset came before create_connection read the socket's state (a slow,
        # loaded machine): the connection was made, then reset.
        return True, f"ECONNRESET after {time.monotonic() - t0:.3f} s (during connect)"
    try:
        b = s.recv(1)
        dt = time.monotonic() - t0
        if b == b"":
            return True, f"EOF after {dt:.3f} s"
        return False, f"unexpected data {b!r}"
    except ConnectionResetError:
        return True, f"ECONNRESET after {time.monotonic() - t0:.3f} s"
    except socket.timeout:
        return False, f"still open after {timeout} s"
    except OSError as e:
        if e.errno in (errno.ECONNRESET, errno.EPIPE):
            return True, f"{errno.errorcode[e.errno]} after {time.monotonic() - t0:.3f} s"
        raise
    finally:
        s.close()
