#!/usr/bin/env python3
"""Connection latency through porthole -L vs ssh -L: time from connect() to the first byte.

A tiny server (benchlib `byte`, its own process) writes one byte on accept and closes. Both
forwarders run side by side on one throw-away sshd; --count sequential connections are made
through each, alternating porthole, ssh, porthole, ... (after a few warm-up connections),
plus the same number straight to the server as the floor. Prints p50/p90/p99/max in ms
per path and the ratios porthole/ssh.

  tests/bench/connect.py [--count N]
"""

import argparse
import socket
import sys
import time

import benchlib as bl
from benchlib import fx

WARMUP = 5


def first_byte(port):
    """Seconds from connect() to the first byte."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
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
    ap.add_argument("--count", type=int, default=200, help="connections per path")
    args = ap.parse_args()

    fx.porthole_path()
    print(bl.machine_line())
    print(f"# connect: {args.count} sequential connections per path, connect() to first byte",
          flush=True)
    times = {"direct": [], "porthole": [], "ssh": []}
    with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd, bl.Server("byte") as srv:
        target = srv.ports[0]
        ports = {"direct": target, "porthole": fx.free_port(), "ssh": fx.free_port()}
        with bl.porthole_forwarder(sshd, ["-L", f"{ports['porthole']}:127.0.0.1:{target}"]) \
                as ph, bl.SshForwarder(sshd, ["-L", f"{ports['ssh']}:127.0.0.1:{target}"]) as ssh:
            for _ in range(WARMUP):
                for name in times:
                    first_byte(ports[name])
            for _ in range(args.count):
                for name in ("porthole", "ssh", "direct"):
                    times[name].append(first_byte(ports[name]))
            for name, fw in (("porthole", ph), ("ssh", ssh)):
                if not fw.alive():
                    raise RuntimeError(f"{name} died:\n{fw.stderr()}")

    print()
    print(f"{'path':10} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    stats = {}
    for name in ("direct", "porthole", "ssh"):
        stats[name] = fmt(times[name])
        p50, p90, p99, mx = stats[name]
        print(f"{name:10} {p50:8.3f} {p90:8.3f} {p99:8.3f} {mx:8.3f}")
    p, s = stats["porthole"], stats["ssh"]
    print(f"ratio porthole/ssh: p50 {bl.ratio(p[0], s[0]):.2f}, p99 {bl.ratio(p[2], s[2]):.2f}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
