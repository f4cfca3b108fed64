#!/usr/bin/env python3
"""Errors are errors: a forwarded connection cut by anything but an orderly end from the far
side is reset, so the local application's recv fails with ECONNRESET instead of seeing a clean
end of stream that would make a truncated download look complete. Whatever porthole had
received before the cut is delivered first: the client gets exactly the byte count porthole's
log line reports, and those bytes are the right ones.

1. The sshd child serving porthole's session is killed mid-transfer (1 GiB download through
   -L): the -L client gets ECONNRESET; the target behind a -R, mid-upload, too.
2. A frozen sshd child (SIGSTOP) stalls a transfer until the dead-peer timer
   (ServerAliveInterval 1 x ServerAliveCountMax 2) gives up: ECONNRESET.
3. During an outage a connection waits ConnectionWait (2 s) and expires: ECONNRESET, on time
   (within 100 ms of the setting, plus scheduling slack); a SOCKS CONNECT that expires gets its
   SOCKS failure reply as before."""

import hashlib
import json
import os
import re
import signal
import socket
import struct
import threading
import time

import fixture as fx
import relaytcp as rt

T0 = time.monotonic()

GIB = 1 << 30
CUT_AFTER = 32 << 20  # bytes received before the session is cut
WAIT = 2  # ConnectionWait, seconds


def read_until_end(s, limit_time=30.0, h=None):
    """Read until the connection ends; return (bytes, "reset" | "EOF" | "timeout"), feeding
    what arrives to the hash h if given."""
    s.settimeout(limit_time)
    n = 0
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                return n, "EOF"
            if h is not None:
                h.update(b)
            n += len(b)
    except ConnectionResetError:
        return n, "reset"
    except socket.timeout:
        return n, "timeout"


def prefix_sha(n, seed):
    """sha256 of the first n bytes the server sends for DOWNLOAD GIB seed. The chunks must be
    the server's own: random.randbytes(k) for a k that is not a multiple of 4 is not a prefix
    of a longer randbytes, so stream(n, seed) differs from stream(GIB, seed)[:n]."""
    h = hashlib.sha256()
    left = n
    for c in fx.stream(GIB, seed):
        if left <= 0:
            break
        h.update(c[:left])
        left -= len(c)
    return h.hexdigest()


class Downloader(threading.Thread):
    """DOWNLOAD 1 GiB through port; sets `cut` after CUT_AFTER bytes, then reads to the end."""

    def __init__(self, port, seed):
        super().__init__(daemon=True)
        self.port, self.seed = port, seed
        self.cut = threading.Event()
        self.result = None
        self.error = None

    def run(self):
        try:
            with fx.connect(self.port) as s:
                s.sendall(f"DOWNLOAD {GIB} {self.seed}\n".encode())
                h = hashlib.sha256()
                got = 0
                while got < CUT_AFTER:
                    b = s.recv(1 << 20)
                    if not b:
                        raise ValueError(f"EOF after {got} bytes, before the cut")
                    h.update(b)
                    got += len(b)
                self.cut.set()
                n, how = read_until_end(s, h=h)
                self.result = (got, n, how, h.hexdigest())
        except Exception as e:  # noqa: BLE001 - reported by the test
            self.error = repr(e)
        finally:
            self.cut.set()


class SinkTarget(fx._TcpServer):
    """A -R target that reads everything and records how its connections ended."""

    def __init__(self):
        self.ends = []
        self.received = 0  # by every connection so far
        super().__init__()

    def handle(self, c):
        c.settimeout(60)
        try:
            while True:
                b = c.recv(1 << 20)
                if not b:
                    self.ends.append("EOF")
                    break
                self.received += len(b)
        except ConnectionResetError:
            self.ends.append("reset")
        except socket.timeout:
            self.ends.append("timeout")


def uploader(port, stop):
    try:
        with fx.connect(port) as s:
            chunk = os.urandom(1 << 20)
            while not stop.is_set():
                s.sendall(chunk)
    except OSError:
        pass


def link_line(fw, start, pattern):
    """The first stderr line after index start matching pattern; its match or None."""
    for line in fw.stderr_lines()[start:]:
        m = re.search(pattern, line)
        if m:
            return m
    return None


def wait_connected(fw, count, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sum("connected to" in ln for ln in fw.stderr_lines()) >= count:
            return True
        time.sleep(0.05)
    return False


LOST = r"porthole: -L .*link \d+ (?:closed|reset): SSH session lost \((\d+) bytes up, (\d+) down\)"


def check_cut(fw, mark, d, pattern, what):
    d.join(60)
    fx.check(d.error is None and d.result is not None, f"{what}: the download ran", str(d.error))
    got, after, how, sha = d.result
    fx.check(how == "reset", f"{what}: the client's recv fails with ECONNRESET ({how} after "
             f"{(got + after) / 1e6:.1f} MB of 1 GiB)", fw.stderr())
    m = None
    deadline = time.monotonic() + 5
    while m is None and time.monotonic() < deadline:
        m = link_line(fw, mark, pattern)
        time.sleep(0.05)
    fx.check(m is not None, f"{what}: porthole logs the cut with the bytes carried", fw.stderr())
    fx.check(int(m.group(2)) == got + after,
             f"{what}: everything porthole received is delivered before the reset "
             f"(log says {m.group(2)} bytes down, client read {got + after})")
    fx.check(sha == prefix_sha(got + after, d.seed), f"{what}: and they are the right bytes")


def forward_status(sshd):
    """{"-L" | "-R": that forward's status --json entry}, and the whole status to show."""
    st = rt.status(sshd)
    return {f["name"].split()[0]: f for f in st.get("forwards", [])}, json.dumps(st)


def main():
    fx.skip_in_ssh_mode("ssh closes cut connections cleanly; this is porthole's own behaviour")
    with fx.Sshd() as sshd, fx.BulkServer() as bulk, SinkTarget() as sink:
        lport, rport, dport = fx.free_port(), fx.free_port(), fx.free_port()
        opts = ["-v", "-o", "Reconnect=yes", "-o", "ReconnectMaxDelay=1",
                "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2",
                "-o", f"ConnectionWait={WAIT}"]
        fwd = ["-L", f"{lport}:127.0.0.1:{bulk.port}", "-R", f"{rport}:127.0.0.1:{sink.port}",
               "-D", str(dport)]
        with fx.Forwarder(sshd, fwd, extra_args=opts) as fw:
            # 1. The session's sshd child is killed mid-transfer.
            mark = len(fw.stderr_lines())
            stop_up = threading.Event()
            up = threading.Thread(target=uploader, args=(rport, stop_up), daemon=True)
            up.start()
            d = Downloader(lport, 11)
            d.start()
            fx.check(d.cut.wait(60) and d.error is None, "a 1 GiB download is under way",
                     str(d.error))
            deadline = time.monotonic() + 10
            while sink.received < (1 << 20) and not sink.ends and time.monotonic() < deadline:
                time.sleep(0.05)
            fx.check(sink.received >= (1 << 20), "an upload through -R is under way")
            for pid in sshd.session_pids():
                os.kill(pid, signal.SIGKILL)
            check_cut(fw, mark, d, LOST, "session killed")
            stop_up.set()
            deadline = time.monotonic() + 10
            while not sink.ends and time.monotonic() < deadline:
                time.sleep(0.05)
            fx.check(sink.ends[:1] == ["reset"], "session killed: the -R target, mid-upload, "
                     f"sees ECONNRESET too ({sink.ends})")
            fx.check(wait_connected(fw, 2), "porthole connects again", fw.stderr())
            fwds, out = forward_status(sshd)
            lf, rf = fwds.get("-L", {}), fwds.get("-R", {})
            fx.check(lf.get("resets") == 1 and rf.get("resets") == 1 and
                     lf.get("bytes_down", 0) >= d.result[0] + d.result[1],
                     "porthole status counts the reset connections, with the bytes they carried",
                     out)

            # 2. The session's sshd child freezes: the dead-peer timer cuts the transfer.
            mark = len(fw.stderr_lines())
            d = Downloader(lport, 12)
            d.start()
            fx.check(d.cut.wait(60) and d.error is None, "another download is under way",
                     str(d.error))
            frozen = sshd.session_pids()
            for pid in frozen:
                os.kill(pid, signal.SIGSTOP)
            try:
                check_cut(fw, mark, d, LOST, "frozen server")
            finally:
                for pid in frozen:
                    os.kill(pid, signal.SIGKILL)
            fx.check(wait_connected(fw, 3), "porthole connects again", fw.stderr())

            # 3. An outage: connections wait ConnectionWait, then are reset.
            mark = len(fw.stderr_lines())
            sshd.stop_server()
            deadline = time.monotonic() + 10
            while link_line(fw, mark, "reconnecting in") is None and time.monotonic() < deadline:
                time.sleep(0.05)
            fx.check(link_line(fw, mark, "reconnecting in") is not None, "the outage is noticed",
                     fw.stderr())
            results = []

            def waiter(delay):
                time.sleep(delay)
                with fx.connect(lport) as s:
                    t0 = time.monotonic()
                    s.sendall(f"DOWNLOAD {GIB} 13\n".encode())
                    n, how = read_until_end(s, 10)
                    results.append((time.monotonic() - t0, n, how))

            ts = [threading.Thread(target=waiter, args=(i * 0.2,), daemon=True) for i in range(5)]
            for t in ts:
                t.start()
            socks_result = {}

            def socks_client():
                with fx.connect(dport) as s:
                    s.settimeout(10)
                    s.sendall(b"\x05\x01\x00")
                    s.recv(2)
                    t0 = time.monotonic()
                    s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
                              struct.pack(">H", bulk.port))
                    socks_result["reply"] = s.recv(10)
                    socks_result["took"] = time.monotonic() - t0
            st = threading.Thread(target=socks_client, daemon=True)
            st.start()
            for t in ts:
                t.join(15)
            st.join(15)
            fx.check(len(results) == 5 and all(how == "reset" and n == 0
                                                for _, n, how in results),
                     f"connections that waited out the outage get ECONNRESET ({results})")
            waits = sorted(round(w, 3) for w, _, _ in results)
            fx.check(all(WAIT - 0.1 <= w <= WAIT + 0.5 for w in waits),
                     f"... after ConnectionWait={WAIT} s, not on a 1 s tick (waited {waits} s)")
            rep = socks_result.get("reply", b"")
            fx.check(len(rep) >= 2 and rep[0] == 5 and rep[1] != 0,
                     f"a SOCKS CONNECT that waited out the outage gets a SOCKS failure reply "
                     f"({rep!r}, after {socks_result.get('took', 0):.2f} s)")
            sshd.start_server()
            status, err = fw.stop()
            fx.check(status == 0, "SIGTERM: exit 0", err)


if __name__ == "__main__":
    fx.run(main)
