#!/usr/bin/env python3
"""Small writes keep flowing beside bulk transfers on one session (issue 16): one porthole
with three -L forwards (an echo server, a bulk server, a UDP echo through the relay) moves a
download and an upload of 64 MiB each at the same time, checked by SHA-256, while a 64-byte
request/response goes every 10 ms through the echo forward and 64-byte datagrams through the
relay. Every reply must come back (within a generous 10 s each: no timing is asserted beyond
that), several of each while the transfers run, so the scheduler that puts the small writes
first neither starves them nor the bulk data it holds back to its low mark.

The windows, from sshd's DEBUG2 log (porthole(1), "Interactive traffic beside bulk"): -L
channels opened with nothing interactive active open with a 512 KiB receive window, those
opened beside interactive traffic with 128 KiB (libssh2 tops it up to that plus one 64 KiB
read); a download alone (nothing interactive for over half a second) gets it grown to
2 MiB by a window adjustment of more than 1 MiB; and a download beside the 10 ms echo keeps
it under its in-flight bound, 2 x delivery rate x RTT and at least 64 KiB: on loopback that
product is a few KiB, so no adjustment may be near 1 MiB there (LOOPBACK_BOUND is generous:
the first adjustment towards 2 MiB would be about 1.8 MiB). The bound's round trip comes
from a keepalive probe sent as soon as the session is up (sshd logs its env request), and two
more, a second after each answer."""

import re

import hashlib
import socket
import threading
import time

import fixture as fx

BULK = 64 << 20
SMALL = 64
REPLY_BOUND = 10.0
WINDOW_OPEN = 128 << 10
WINDOW_OPEN_ALONE = 512 << 10
LOOPBACK_BOUND = 1 << 20


def download(port, out):
    h, got = hashlib.sha256(), 0
    with fx.connect(port, timeout=120) as s:
        s.sendall(f"DOWNLOAD {BULK} 16\n".encode())
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            h.update(b)
            got += len(b)
    out["down"] = (got, h.hexdigest())


def upload(port, out):
    h = hashlib.sha256()
    with fx.connect(port, timeout=120) as s:
        s.sendall(f"UPLOAD {BULK}\n".encode())
        for chunk in fx.stream(BULK, 17):
            h.update(chunk)
            s.sendall(chunk)
        reply = fx.recv_line(s).decode().split()
    out["up"] = (reply, h.hexdigest())


def bulk(port, fn, out):
    try:
        fn(port, out)
    except Exception as e:  # reported by the main thread
        out[fn.__name__ + "_error"] = repr(e)


def adjusts(log):
    return [int(x) for x in re.findall(r"rcvd adjust (\d+)", log)]


def main():
    with fx.Sshd(log_level="DEBUG2") as sshd, fx.EchoServer() as echo, \
            fx.BulkServer() as srv:
        udp_echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp_echo.bind(("127.0.0.1", 0))

        def udp_serve():
            while True:
                try:
                    data, addr = udp_echo.recvfrom(65535)
                    udp_echo.sendto(data, addr)
                except OSError:
                    return
        threading.Thread(target=udp_serve, daemon=True).start()
        ep, bp, up = fx.free_port(), fx.free_port(), fx.free_port()
        fwd = ["-L", f"{ep}:127.0.0.1:{echo.port}", "-L", f"{bp}:127.0.0.1:{srv.port}",
               "-L", f"{up}:127.0.0.1:{udp_echo.getsockname()[1]}/udp"]
        # The TCP forwards as channels (what this test is about), whatever OpenVia's default.
        extra = ["-o", f"RelayCommand={fx.porthole_path()} relay", "-o", "OpenVia=channel"]
        with fx.Forwarder(sshd, fwd, extra_args=extra) as fw:
            # The path's round trip for the bound comes from a keepalive probe that goes
            # out as soon as the session is up, not after ServerAliveInterval (15 s).
            deadline = time.monotonic() + 5
            while "env request PORTHOLE_KEEPALIVE" not in sshd.log() and time.monotonic() < deadline:
                time.sleep(0.05)
            fx.check("env request PORTHOLE_KEEPALIVE" in sshd.log(),
                     "a first keepalive probe right after connecting (sshd: env request)",
                     "no env request PORTHOLE_KEEPALIVE in sshd's log within 5 s")
            # ... and two more, a second after each answer (the first may wait behind the
            # session's start), long before ServerAliveInterval's 15 s.
            deadline = time.monotonic() + 8
            while (sshd.log().count("env request PORTHOLE_KEEPALIVE") < 3 and
                   time.monotonic() < deadline):
                time.sleep(0.1)
            fx.check(sshd.log().count("env request PORTHOLE_KEEPALIVE") == 3,
                     "two more timing probes follow within seconds, then no more",
                     f"{sshd.log().count('env request PORTHOLE_KEEPALIVE')} env requests "
                     "in sshd's log")
            inter = fx.connect(ep)
            inter.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            inter.settimeout(REPLY_BOUND)
            # A download alone: its window grows back to 2 MiB.
            before = len(sshd.log())
            out = {}
            download(bp, out)
            fx.check(out["down"] == (BULK, fx.stream_sha256(BULK, 16)),
                     "a download alone arrives whole (SHA-256)")
            opens = re.findall(r"ctype direct-tcpip rchan \d+ win (\d+)", sshd.log())
            fx.check(opens and all(int(w) == WINDOW_OPEN_ALONE for w in opens),
                     "-L channels opened with nothing interactive active: a 512 KiB receive "
                     "window", f"windows: {opens}")
            big = [a for a in adjusts(sshd.log()[before:]) if a > 1 << 20]
            fx.check(big, "the download alone had its window grown past 1 MiB",
                     f"largest adjustment: {max(adjusts(sshd.log()[before:]), default=0)}")
            # A download beside the 10 ms echo: its window stays under the bound.
            before = len(sshd.log())
            out = {}
            for i in range(3):  # the echo is active (within half a second) when it opens
                inter.sendall(b"w" * SMALL)
                fx.recv_all(inter, SMALL)
            t = threading.Thread(target=bulk, args=(bp, download, out), daemon=True)
            t.start()
            echoes, gap = fx.echo_while(inter, t, SMALL)
            t.join(120)
            fx.check("download_error" not in out and out.get("down") ==
                     (BULK, fx.stream_sha256(BULK, 16)),
                     "a download beside the echo arrives whole (SHA-256)",
                     out.get("download_error", ""))
            fx.check(echoes >= 5, f"{echoes} echo replies (>= 5) beside the download")
            opens = re.findall(r"ctype direct-tcpip rchan \d+ win (\d+)", sshd.log()[before:])
            fx.check(opens and all(int(w) == WINDOW_OPEN for w in opens),
                     "... and it opened beside the echo: a 128 KiB receive window",
                     f"windows: {opens}")
            shared = adjusts(sshd.log()[before:])
            fx.check(shared and max(shared) < LOOPBACK_BOUND,
                     "beside the echo, the download's window stays under the loopback bound "
                     "(every adjustment under 1 MiB)",
                     f"adjustments over 256 KiB: {[a for a in shared if a > 256 << 10]}; the "
                     f"longest time between two echo requests: {gap:.3f} s (over 0.5 s the "
                     f"download counts as alone, and may grow its window)")
            dg = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            dg.settimeout(REPLY_BOUND)
            # The relay starts on the first datagram: one round trip before the load.
            dg.sendto(b"u" * SMALL, ("127.0.0.1", up))
            fx.check(dg.recvfrom(65535)[0] == b"u" * SMALL,
                     "a datagram comes back through the relay before the load")

            out = {}
            threads = [threading.Thread(target=bulk, args=(bp, fn, out), daemon=True)
                       for fn in (download, upload)]
            for t in threads:
                t.start()
            replies = datagrams = 0
            problems = []
            i = 0
            while any(t.is_alive() for t in threads) and not problems:
                i += 1
                req = (b"%08d" % i) * (SMALL // 8)
                try:
                    inter.sendall(req)
                    got = b""
                    while len(got) < SMALL:
                        b = inter.recv(SMALL - len(got))
                        if not b:
                            problems.append(f"echo connection closed after {replies} replies")
                            break
                        got += b
                    if got == req:
                        replies += 1
                    elif not problems:
                        problems.append(f"reply {i} is not its request: {got!r}")
                except socket.timeout:
                    problems.append(f"no echo reply within {REPLY_BOUND:.0f} s "
                                    f"(after {replies} replies)")
                try:
                    dg.sendto(req, ("127.0.0.1", up))
                    while dg.recvfrom(65535)[0] != req:
                        pass  # an earlier datagram's late reply
                    datagrams += 1
                except socket.timeout:
                    pass  # UDP may drop; the count below is what is checked
                time.sleep(0.01)
            for t in threads:
                t.join(120)
            fx.check(not problems, "interactive replies kept coming during the transfers",
                     "; ".join(problems))
            fx.check(replies >= 5, f"{replies} echo replies (>= 5) while the transfers ran")
            fx.check(datagrams >= 1, f"{datagrams} datagrams came back through the relay "
                     "(>= 1) while the transfers ran")
            for k in ("download_error", "upload_error"):
                fx.check(k not in out, f"no {k.replace('_', ' ')}", out.get(k, ""))
            fx.check(out["down"] == (BULK, fx.stream_sha256(BULK, 16)),
                     f"the {BULK >> 20} MiB download arrived whole (SHA-256)",
                     f"got {out['down'][0]} bytes")
            reply, want = out["up"]
            fx.check(reply == [str(BULK), want],
                     f"the {BULK >> 20} MiB upload arrived whole (SHA-256)", f"{reply}")
            # And after the load, the small path is still quick to answer.
            inter.sendall(b"x" * SMALL)
            fx.check(fx.recv_all(inter, SMALL) == b"x" * SMALL, "an echo after the transfers")
            inter.close()
            fx.check(fw.alive(), "porthole is still running")


if __name__ == "__main__":
    fx.run(main)
