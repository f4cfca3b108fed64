#!/usr/bin/env python3
"""A bounded soak through -L and -D (SOCKS5): 20,000 sequential connections (half through
each) and 20 rounds of 200 concurrent ones (alternating), each one echoing a short message.
Afterwards porthole holds as many descriptors as before the first connection
(/proc/PID/fd), and its resident memory is within 2 MiB of the plateau it reached after the
warm-up (the first 2,000 connections and two concurrent rounds). Under ASan the allocator's
quarantine is kept small, or it alone would grow the RSS by hundreds of MiB."""

import os
import selectors
import socket
import struct
import time

import fixture as fx

SEQUENTIAL = 20000
ROUNDS = 20
CONCURRENT = 200
WARMUP = 2000
MSG = b"soak"


def socks_hello(port, eport):
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"\x05\x01\x00" + b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
              struct.pack(">H", eport))
    return s


def read_exact(s, n):
    got = b""
    while len(got) < n:
        b = s.recv(n - len(got))
        if not b:
            break
        got += b
    return got


def one(lport, dport, eport, socks):
    if socks:
        s = socks_hello(dport, eport)
        head = read_exact(s, 12)
        if head[:2] != b"\x05\x00" or head[3] != 0:
            raise fx.TestFailure(f"SOCKS refused: {head!r}")
    else:
        s = socket.create_connection(("127.0.0.1", lport), timeout=10)
    with s:
        s.sendall(MSG)
        got = read_exact(s, len(MSG))
        if got != MSG:
            raise fx.TestFailure(f"{'SOCKS' if socks else '-L'}: echoed {got!r}")


def concurrent(lport, dport, eport, socks):
    """CONCURRENT connections open at once, each echoing MSG; returns how many succeeded."""
    sel = selectors.DefaultSelector()
    conns = []
    for _ in range(CONCURRENT):
        s = socks_hello(dport, eport) if socks else \
            socket.create_connection(("127.0.0.1", lport), timeout=10)
        if not socks:
            s.sendall(MSG)
        s.setblocking(False)
        want = (12 if socks else 0) + len(MSG)
        conns.append([s, b"", want])
        sel.register(s, selectors.EVENT_READ, conns[-1])
    done = 0
    deadline = time.monotonic() + 30
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            c = key.data
            try:
                b = c[0].recv(4096)
            except BlockingIOError:
                continue
            c[1] += b
            if socks and len(c[1]) == 12:
                c[0].setblocking(True)
                c[0].sendall(MSG)
                c[0].setblocking(False)
            if not b or len(c[1]) >= c[2]:
                sel.unregister(c[0])
                c[0].close()
                done += c[1].endswith(MSG) and len(c[1]) == c[2]
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    return done


def fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def settle_fds(pid, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while fds(pid) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    return fds(pid)


def main():
    fx.skip_in_ssh_mode("porthole's own resource use")
    if not os.path.isdir("/proc/self/fd"):
        fx.skip("needs /proc to count descriptors and memory")
    env = {"ASAN_OPTIONS": (os.environ.get("ASAN_OPTIONS", "") +
                            ":quarantine_size_mb=1:thread_local_quarantine_size_kb=64").lstrip(":")}
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        lport, dport = fx.free_port(), fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}", "-D", str(dport)],
                          env=env) as fw:
            pid = fw.proc.pid
            start_fds = fds(pid)
            t0 = time.monotonic()
            n = 0
            for socks in (False, True):
                for i in range(SEQUENTIAL // 2):
                    one(lport, dport, echo.port, socks)
                    n += 1
                    if n == WARMUP:
                        rounds_done = 0
                        for r in range(2):
                            fx.check(concurrent(lport, dport, echo.port, r % 2 == 1) ==
                                     CONCURRENT, f"warm-up round {r + 1}: all {CONCURRENT}")
                            rounds_done += 1
                        settle_fds(pid, start_fds)
                        plateau = rss_kib(pid)
            t_seq = time.monotonic() - t0
            fx.ok(f"{SEQUENTIAL} sequential connections echoed ({t_seq:.1f} s)")
            ok = 0
            for r in range(ROUNDS - rounds_done):
                ok += concurrent(lport, dport, echo.port, r % 2 == 1)
            fx.check(ok == (ROUNDS - rounds_done) * CONCURRENT,
                     f"{ROUNDS} rounds of {CONCURRENT} concurrent connections echoed "
                     f"({ok + rounds_done * CONCURRENT} of {ROUNDS * CONCURRENT}, "
                     f"{time.monotonic() - t0:.1f} s in all)")
            end_fds = settle_fds(pid, start_fds)
            fx.check(end_fds == start_fds,
                     f"descriptors back to where they started ({start_fds} -> {end_fds})")
            end = rss_kib(pid)
            fx.check(end <= plateau + 2048,
                     f"RSS within 2 MiB of its plateau ({plateau} KiB -> {end} KiB)")
            fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")


if __name__ == "__main__":
    fx.run(main)
