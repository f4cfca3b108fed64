#!/usr/bin/env python3
"""Remote forwards (-R): the sshd listens on 127.0.0.1:P (this same host) and every connection
to it is carried back to a local target. Payloads round-trip intact, alone and 20 x 4 MiB at
once; two -R and a -L share one session; half-close passes through; -R 0 lets the server pick
the port, which is printed; a target that refuses closes only that connection, promptly, with a
line on stderr; the RemoteForward keyword (both of ssh's spellings) works; SIGTERM exits 0 and
the server stops listening."""

import os
import re
import socket
import threading
import time

import fixture as fx

SIZES = (0, 1, 1000, 65535, 65537, 1 << 20, 4 << 20)
N_CONCURRENT = 20
BIG = 4 << 20
REPLY = 1 << 20


def wait_not_listening(port, timeout=3.0):
    deadline = time.monotonic() + timeout
    while fx.is_listening(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def roundtrips(port, what, sizes=SIZES):
    for n in sizes:
        payload = os.urandom(n)
        back = fx.echo_roundtrip(port, payload, timeout=30)
        fx.check(back == payload, f"{what}: {n} bytes there and back intact",
                 f"got {len(back)} bytes, equal prefix: {payload[:len(back)] == back}")


def concurrent_roundtrips(port, what, n=N_CONCURRENT, size=BIG):
    results = [None] * n

    def one(i):
        payload = os.urandom(size)
        try:
            back = fx.echo_roundtrip(port, payload, timeout=60)
            results[i] = "ok" if back == payload else f"{len(back)} bytes back, differ"
        except OSError as e:
            results[i] = repr(e)

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    bad = [f"#{i}: {r}" for i, r in enumerate(results) if r != "ok"]
    fx.check(not bad, f"{what}: {n} concurrent connections x {size >> 20} MiB, all intact",
             "; ".join(bad))


def after_eof(port, seed):
    """BulkServer AFTEREOF: it only answers once the client's EOF (SHUT_WR) reached it."""
    body = os.urandom(10000)
    with fx.connect(port, timeout=20) as s:
        s.sendall(f"AFTEREOF {REPLY} {seed}\n".encode() + body)
        s.shutdown(socket.SHUT_WR)
        count = fx.recv_line(s)
        data = fx.recv_all(s)
    return count == f"{len(body)}\n".encode() and len(data) == REPLY and \
        data == b"".join(fx.stream(REPLY, seed)), f"count {count!r}, {len(data)} bytes"


def download(port, n, seed):
    with fx.connect(port, timeout=30) as s:
        s.sendall(f"DOWNLOAD {n} {seed}\n".encode())
        data = fx.recv_all(s)
    return data == b"".join(fx.stream(n, seed))


def many_forwards(sshd, echo, bulk):
    """Two working -R, a -L and a -R to a dead port in one process."""
    p_echo, p_bulk, p_dead, l_echo = (fx.free_port() for _ in range(4))
    dead_target, dead_sock = fx.refused_port()
    fwd = ["-R", f"{p_echo}:127.0.0.1:{echo.port}", "-R", f"{p_bulk}:127.0.0.1:{bulk.port}",
           "-L", f"{l_echo}:127.0.0.1:{echo.port}", "-R", f"{p_dead}:127.0.0.1:{dead_target}"]
    with dead_sock, fx.Forwarder(sshd, fwd) as fw:
        fx.ok(f"-R {p_echo}, -R {p_bulk}, -R {p_dead} listening on the server, -L {l_echo} here")
        roundtrips(p_echo, f"-R {p_echo}")
        concurrent_roundtrips(p_echo, f"-R {p_echo}")

        # Both -R and the -L at once.
        results = {}

        def job(name, fn):
            try:
                results[name] = fn()
            except OSError as e:
                results[name] = repr(e)

        payload = os.urandom(BIG)
        jobs = {
            f"-R {p_echo} echo": lambda: fx.echo_roundtrip(p_echo, payload, timeout=60) == payload,
            f"-R {p_bulk} download": lambda: download(p_bulk, BIG, 7),
            f"-L {l_echo} echo": lambda: fx.echo_roundtrip(l_echo, payload, timeout=60) == payload,
        }
        threads = [threading.Thread(target=job, args=kv, daemon=True) for kv in jobs.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        fx.check(all(results.get(k) is True for k in jobs),
                 "two -R and one -L carrying 4 MiB each at the same time, all intact",
                 repr(results))

        # Half-close: the client's SHUT_WR reaches the target, the answer still comes back.
        ok, how = after_eof(p_bulk, 11)
        fx.check(ok, f"-R {p_bulk}: SHUT_WR reached the target, full {REPLY}-byte answer "
                 "then EOF came back", how)
        with fx.connect(p_echo, timeout=20) as s:
            data = os.urandom(100000)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            back = fx.recv_all(s)
        fx.check(back == data, f"-R {p_echo}: sent 100000 bytes, SHUT_WR, then received the "
                 "full echo and EOF", f"got {len(back)} bytes")

        # A target that refuses: only that connection closes, promptly.
        for i in range(3):
            closed, how = fx.is_closed_quickly(p_dead, timeout=2.0)
            fx.check(closed, f"-R {p_dead} (target refuses): connection {i + 1} closed ({how})",
                     how)
        if fx.SSH_MODE:  # OpenSSH: "connect_to 127.0.0.1 port N: failed."
            line = fw.wait_stderr(lambda ln: f"port {dead_target}" in ln and "failed" in ln)
            fx.check(line is not None, "ssh's stderr says connect_to failed", fw.stderr())
        else:
            want = f"cannot connect to 127.0.0.1:{dead_target}: connection refused"
            line = fw.wait_stderr(lambda ln: want in ln)
            fx.check(line is not None, f"porthole's stderr says '{want}'", fw.stderr())
            fx.check(line.startswith(f"porthole: -R {p_dead}:"),
                     f"... on a line starting 'porthole: -R {p_dead}:'", line)
        fx.check(fw.alive(), "forwarder still running after the refusals", fw.stderr())
        roundtrips(p_echo, f"-R {p_echo} after the refusals", sizes=(65536,))
        ok, how = after_eof(p_bulk, 12)
        fx.check(ok, f"-R {p_bulk} after the refusals", how)

        fx.check(not echo.errors and not bulk.errors, "local servers saw no errors",
                 "\n".join(echo.errors + bulk.errors))
        status, err = fw.stop()
        if not fx.SSH_MODE:
            fx.check(status == 0, "porthole exits 0 on SIGTERM", f"status {status}\n{err}")
    gone = [p for p in (p_echo, p_bulk, p_dead) if not wait_not_listening(p)]
    fx.check(not gone, "the server stopped listening on the -R ports", f"still: {gone}")


def server_picks(sshd, echo):
    """-R 0: the server picks the port; porthole prints it."""
    fwd = ["-R", f"0:127.0.0.1:{echo.port}"]
    with fx.Forwarder(sshd, fwd) as fw:
        if fx.SSH_MODE:
            pattern = rf"Allocated port (\d+) for remote forward to 127\.0\.0\.1:{echo.port}\b"
        else:
            pattern = rf"^porthole: remote port (\d+) -> 127\.0\.0\.1:{echo.port}$"
        line = fw.wait_stderr(lambda ln: re.search(pattern, ln), timeout=10)
        fx.check(line is not None, f"-R 0: stderr has a line matching {pattern!r}", fw.stderr())
        port = int(re.search(pattern, line).group(1))
        fx.check(0 < port < 65536 and fx.wait_listening(port),
                 f"-R 0: the printed port {port} is listening")
        roundtrips(port, f"-R 0 (port {port})", sizes=(1, 65537, 1 << 20))
        status, err = fw.stop()
        if not fx.SSH_MODE:
            fx.check(status == 0, "-R 0: porthole exits 0 on SIGTERM", f"status {status}\n{err}")


def keyword(sshd, echo):
    """-o RemoteForward, written as ssh's "port host:hostport" and (porthole only: ssh reads a
    single word as a dynamic forward) as -R's "port:host:hostport"."""
    p1, p2 = fx.free_port(), fx.free_port()
    cases = [(p1, f"RemoteForward={p1} 127.0.0.1:{echo.port}")]
    if not fx.SSH_MODE:
        cases.append((p2, f"RemoteForward={p2}:127.0.0.1:{echo.port}"))
    opts = [a for _, o in cases for a in ("-o", o)]
    with fx.Forwarder(sshd, extra_args=opts) as fw:
        for p, how in cases:
            fx.check(fx.wait_listening(p), f"-o {how}: the server listens on {p}", fw.stderr())
            roundtrips(p, f"-o {how}", sizes=(65537,))
        status, err = fw.stop()
        if not fx.SSH_MODE:
            fx.check(status == 0, "RemoteForward: porthole exits 0 on SIGTERM",
                     f"status {status}\n{err}")


def main():
    with fx.Sshd() as sshd, fx.EchoServer() as echo, fx.BulkServer() as bulk:
        many_forwards(sshd, echo, bulk)
        server_picks(sshd, echo)
        keyword(sshd, echo)


if __name__ == "__main__":
    fx.run(main)
