#!/usr/bin/env python3
"""Connection latency through porthole -L vs ssh -L: time from connect() to the first byte.

Two tiny servers, each in its own process (benchlib):
  server-first  writes one byte on accept, then closes (`byte`);
  client-first  the client sends one byte at once, the server answers one byte (`reply`).
Both forwarders run side by side on one throw-away sshd; --count sequential connections
per mode are made through each path, in rotating blocks of --block back-to-back connections
(porthole, ssh, direct, porthole, ...) so that every path sees the same pattern; "direct"
goes straight to the server, the floor. --pause S sleeps S seconds after every connection
(sporadic instead of back-to-back connections). Prints p50, p90, p99 and max in ms per mode
and path, and the ratios porthole/ssh. A connection with no byte after 5 s counts as failed
(and is left out of the percentiles).

Back-to-back server-first connections through any forwarder to OpenSSH's sshd mostly take
~40 ms: sshd sends the channel-open confirmation and the data as separate small packets
without TCP_NODELAY (it sets it only for interactive sessions), so Nagle holds the data
until the forwarder's delayed ACK (40 ms on Linux). Client-first shows the forwarder's own
cost, as the client's byte carries that ACK.

  tests/bench/connect.py [--count N] [--block B] [--pause S]
"""

import argparse
import socket
import sys
import time

import benchlib as bl
from benchlib import fx

WARMUP = 5
MODES = ("server-first", "client-first")
PATHS = ("porthole", "ssh", "direct")


def first_byte(port, client_first):
    """Seconds from connect() to the first byte."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        if client_first:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.send(b"?")
        b = s.recv(1)
        t1 = time.perf_counter()
    if b != b"x":
        raise RuntimeError(f"port {port}: expected one byte, got {b!r}")
    return t1 - t0


def fmt(xs):
    ms = [x * 1000 for x in xs]
    return (bl.percentile(ms, 50), bl.percentile(ms, 90), bl.percentile(ms, 99), max(ms))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200, help="connections per mode and path")
    ap.add_argument("--block", type=int, default=10, help="back-to-back connections per turn")
    ap.add_argument("--pause", type=float, default=0.0, help="seconds after each connection")
    args = ap.parse_args()

    fx.porthole_path()
    print(bl.machine_line())
    print(f"# connect: {args.count} sequential connections per mode and path in blocks of "
          f"{args.block}, pause {args.pause} s; connect() to first byte", flush=True)
    times = {(m, p): [] for m in MODES for p in PATHS}
    failed = {key: 0 for key in times}
    with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd, bl.Server("byte") as byte_srv, \
            bl.Server("reply") as reply_srv:
        target = {"server-first": byte_srv.ports[0], "client-first": reply_srv.ports[0]}
        ports = {(m, "direct"): target[m] for m in MODES}
        for m in MODES:
            for p in ("porthole", "ssh"):
                ports[(m, p)] = fx.free_port()

        def fwd(tool):
            return [a for m in MODES for a in ("-L", f"{ports[(m, tool)]}:127.0.0.1:{target[m]}")]

        with bl.porthole_forwarder(sshd, fwd("porthole")) as ph, \
                bl.SshForwarder(sshd, fwd("ssh")) as ssh:
            def attempt(key, record=True):
                try:
                    dt = first_byte(ports[key], key[0] == "client-first")
                    if record:
                        times[key].append(dt)
                except OSError as e:  # socket.timeout included
                    failed[key] += 1
                    print(f"  {key[0]} via {key[1]}: a connection failed: {e!r}", flush=True)

            for _ in range(WARMUP):
                for key in times:
                    attempt(key, record=False)
            done = 0
            while done < args.count:
                k = min(args.block, args.count - done)
                for key in times:
                    for _ in range(k):
                        attempt(key)
                        if args.pause:
                            time.sleep(args.pause)
                done += k
            for name, fw in (("porthole", ph), ("ssh", ssh)):
                if not fw.alive():
                    raise RuntimeError(f"{name} died:\n{fw.stderr()}")

    print()
    print(f"{'mode':13} {'path':9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}"
          f" {'failed':>6}")
    stats = {}
    for m in MODES:
        for p in ("direct", "porthole", "ssh"):
            stats[(m, p)] = fmt(times[(m, p)])
            p50, p90, p99, mx = stats[(m, p)]
            print(f"{m:13} {p:9} {p50:8.3f} {p90:8.3f} {p99:8.3f} {mx:8.3f} "
                  f"{failed[(m, p)]:6}")
    for m in MODES:
        p, s = stats[(m, "porthole")], stats[(m, "ssh")]
        print(f"ratio porthole/ssh, {m}: p50 {bl.ratio(p[0], s[0]):.2f}, "
              f"p99 {bl.ratio(p[2], s[2]):.2f}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
