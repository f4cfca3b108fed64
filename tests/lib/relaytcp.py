"""Helpers for the tests of TCP streams through the relay (tests/integration/relay_tcp*.py).

The relay is the built porthole, started by the test's sshd as RelayCommand; -L and -D
connections cross it as relay streams (docs/relay-protocol.md, "TCP streams (1.1)") when
OpenVia says so. What went which way is read back from `porthole status --json` (per forward
via_relay / via_channel). Standard library only.
"""

import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import time

import fixture as fx


def relay_command(*args):
    """RelayCommand running this build's relay, with extra relay arguments."""
    return " ".join([fx.porthole_path(), "relay", *args])


def relay_args(*relay, via="relay", extra=()):
    """porthole arguments: RelayCommand (with relay's arguments) and OpenVia=via."""
    out = ["-o", f"RelayCommand={relay_command(*relay)}"]
    if via is not None:
        out += ["-o", f"OpenVia={via}"]
    return out + list(extra)


def status_text(sshd):
    """What plain `porthole status` prints."""
    p = subprocess.run([fx.porthole_path(), "status"], env=fx.child_env(sshd),
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
                       start_new_session=True)
    if p.returncode != 0:
        raise fx.TestFailure(f"porthole status: exit {p.returncode}: {p.stderr}")
    return p.stdout


def status(sshd):
    """This test's one porthole instance as `porthole status --json` reports it (a dict)."""
    p = subprocess.run([fx.porthole_path(), "status", "--json"], env=fx.child_env(sshd),
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL,
                       start_new_session=True)
    if p.returncode != 0:
        raise fx.TestFailure(f"porthole status --json: exit {p.returncode}: {p.stderr}")
    st = json.loads(p.stdout)
    if isinstance(st, list):
        if len(st) != 1:
            raise fx.TestFailure(f"expected one running instance, status lists {len(st)}")
        st = st[0]
    return st


def counts(sshd, kind="-L"):
    """(via_relay, via_channel) summed over the TCP forwards whose name starts with kind."""
    relay = channel = 0
    for f in status(sshd)["forwards"]:
        if f["udp"] or not f["name"].startswith(kind):
            continue
        if "via_relay" not in f or "via_channel" not in f:
            raise fx.TestFailure(f"status has no via_relay / via_channel for {f['name']}: {f}")
        relay += f["via_relay"]
        channel += f["via_channel"]
    return relay, channel


def tcpip_channels(sshd):
    """The direct-tcpip channels sshd's log says it opened (it logs them from LogLevel DEBUG1
    on, fx.Sshd(log_level="DEBUG1")): a witness of the path that is not porthole's own."""
    return [x for x in sshd.log().splitlines() if "ctype direct-tcpip" in x]


def download(port, n, seed, timeout=120):
    """DOWNLOAD n seed from a BulkServer through port: (bytes received, their sha256)."""
    h = hashlib.sha256()
    got = 0
    with fx.connect(port, timeout=timeout) as s:
        s.sendall(f"DOWNLOAD {n} {seed}\n".encode())
        while True:
            b = s.recv(fx.CHUNK)
            if not b:
                break
            h.update(b)
            got += len(b)
    return got, h.hexdigest()


def upload(port, n, seed, timeout=120):
    """UPLOAD n through port: (the server's reply words, what they should be)."""
    h = hashlib.sha256()
    with fx.connect(port, timeout=timeout) as s:
        s.sendall(f"UPLOAD {n}\n".encode())
        for chunk in fx.stream(n, seed):
            h.update(chunk)
            s.sendall(chunk)
        reply = fx.recv_line(s).decode().split()
    return reply, [str(n), h.hexdigest()]


def socks5_connect(port, atyp, addr, dport, timeout=30):
    """A raw SOCKS5 CONNECT through the -D on port: (reply code, socket). atyp 1: IPv4,
    3: a name. The reply code is what the far end's connect came to."""
    s = fx.connect(port, timeout=timeout)
    s.sendall(b"\x05\x01\x00")
    greeting = s.recv(2)
    if greeting != b"\x05\x00":
        raise fx.TestFailure(f"SOCKS5 greeting answered {greeting!r}, not 'no authentication'")
    a = bytes([len(addr)]) + addr.encode() if atyp == 3 else socket.inet_aton(addr)
    s.sendall(bytes([5, 1, 0, atyp]) + a + struct.pack(">H", dport))
    reply = b""
    while len(reply) < 10:
        chunk = s.recv(10 - len(reply))
        if not chunk:
            break
        reply += chunk
    if len(reply) != 10 or reply[0] != 5:
        raise fx.TestFailure(f"an incomplete SOCKS5 reply: {reply!r}")
    return reply[1], s


def _descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for kid in fx._child_pids(p):
            out.append(kid)
            todo.append(kid)
    return out


def relay_pids(sshd):
    """`porthole relay` processes under this test's sshd sessions (sshd.session_pids())."""
    found = []
    for session in sshd.session_pids():
        for pid in _descendants(session):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if len(argv) > 1 and argv[0].endswith(b"porthole") and argv[1] == b"relay":
                found.append(pid)
    return found


def kill_relays(sshd):
    """SIGKILL every relay of this sshd; returns their pids."""
    pids = relay_pids(sshd)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return pids


def wait_for(pred, timeout, step=0.05):
    """Poll pred() until it returns a true value (returned) or timeout passes (None)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            return None
        time.sleep(step)


def echo_ok(port, size=20000, timeout=30):
    """One connection through port to an EchoServer: True if size random bytes came back."""
    data = os.urandom(size)
    try:
        return fx.echo_roundtrip(port, data, timeout=timeout) == data
    except OSError:
        return False
