#!/usr/bin/env python3
"""First response through -L with added RTT: porthole over relay streams vs channels vs ssh -L.

The client speaks first: each connection connect()s to the forward, sends one small HTTP-ish
request at once and waits for the first byte of the answer (benchlib `http`: answers as soon
as it has read the request, then closes). --count (default 200) sequential connections per
path, in rotating blocks of --block (default 10), after a warm-up of 5 each. Measured: the
time from connect() to the first response byte, p50/p90/p99/max, and p50 in round trips.

The RTT is a userspace delay relay (benchlib `delay`, as `socks_burst.py --relay-fallback`)
in front of a loopback sshd: every chunk is held --rtt-ms/2 (default 10 ms) in each
direction. Paths, all side by side on that one sshd:
  ph-relay  porthole -L -o OpenVia=relay (-o RelayCommand=<this porthole> relay): a TCP
            stream through `porthole relay`; the open (SOPEN) and the request (SDATA) leave
            together, so the answer is one round trip away (issue 13);
  ph-chan   porthole -L -o OpenVia=channel: a direct-tcpip channel, opened before the
            request can follow (two round trips);
  ssh       ssh -N -L, the same two round trips;
  direct    no tunnel: the request to the server through a second delay relay (the
            one-round-trip floor, with the relay's own cost).
A connection with no byte in 5 s counts as failed and is left out of the percentiles.
A build without OpenVia has no ph-relay row (it says so).

  tests/bench/first_response.py [--count N] [--block B] [--rtt-ms MS]
"""

import argparse
import socket
import sys
import time

import benchlib as bl
from benchlib import fx

WARMUP = 5
REQUEST = b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n"
TIMEOUT = 5.0


def first_response(port):
    """Seconds from connect() to the first byte of the answer to REQUEST."""
    t0 = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(REQUEST)
        b = s.recv(1)
        t1 = time.perf_counter()
        if b != b"H":
            raise OSError(f"port {port}: expected the response, got {b!r}")
        while s.recv(4096):  # the rest, to the server's close: not timed
            pass
    return t1 - t0


def stats(xs):
    ms = [x * 1000 for x in xs]
    if not ms:
        return (float("nan"),) * 4
    return (bl.percentile(ms, 50), bl.percentile(ms, 90), bl.percentile(ms, 99), max(ms))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=200, help="connections per path")
    ap.add_argument("--block", type=int, default=10, help="back-to-back connections per turn")
    ap.add_argument("--rtt-ms", type=float, default=20.0, help="added round-trip time")
    args = ap.parse_args()

    fx.porthole_path()
    print(bl.machine_line())
    print(f"# first_response: {args.count} sequential connections per path in blocks of "
          f"{args.block}, client first, RTT {args.rtt_ms:g} ms (delay relay); connect() to "
          f"the first response byte", flush=True)
    vias = bl.porthole_vias()
    paths = list(vias) + ["ssh", "direct"]
    times = {p: [] for p in paths}
    failed = {p: 0 for p in paths}
    half = args.rtt_ms / 2
    with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd, bl.Server("http") as srv, \
            bl.Server("delay", sshd.port, half) as jump, \
            bl.Server("delay", srv.ports[0], half) as probe:
        kh = sshd.write_known_hosts("known_hosts.delay", [f"[{sshd.host}]:{jump.ports[0]} {k}"
                                                          for k in sshd.hostkey_pubs])
        kw = dict(port=jump.ports[0], known_hosts=kh)
        ports = {p: fx.free_port() for p in paths if p != "direct"}
        ports["direct"] = probe.ports[0]
        fwds = {}
        try:
            for p in paths:
                if p == "direct":
                    continue
                spec = ["-L", f"{ports[p]}:127.0.0.1:{srv.ports[0]}"]
                fwds[p] = (bl.SshForwarder(sshd, spec, **kw) if p == "ssh"
                           else bl.porthole_forwarder(sshd, spec, extra_args=vias[p], **kw))

            def attempt(p, record=True):
                try:
                    dt = first_response(ports[p])
                    if record:
                        times[p].append(dt)
                except OSError as e:  # socket.timeout included
                    if record:
                        failed[p] += 1
                    print(f"  {p}: a connection failed: {e!r}", flush=True)

            for _ in range(WARMUP):
                for p in paths:
                    attempt(p, record=False)
            done, turn = 0, 0
            while done < args.count:
                k = min(args.block, args.count - done)
                order = paths[turn % len(paths):] + paths[:turn % len(paths)]
                for p in order:
                    for _ in range(k):
                        attempt(p)
                done += k
                turn += 1
            for name, fw in fwds.items():
                if not fw.alive():
                    raise RuntimeError(f"{name} died:\n{fw.stderr()}")
                if name in bl.VIAS:
                    bl.report_via(name, fw)
        finally:
            for fw in fwds.values():
                fw.stop()

    rtt = stats(times["direct"])[0]
    print()
    print(f"ms from connect() to the first response byte; RTT = the direct path's p50 "
          f"({rtt:.1f} ms)")
    print(f"{'path':9} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8} {'p50/RTT':>7} {'failed':>6}")
    st = {p: stats(times[p]) for p in paths}
    for p in paths:
        p50, p90, p99, mx = st[p]
        print(f"{p:9} {p50:8.1f} {p90:8.1f} {p99:8.1f} {mx:8.1f} {bl.ratio(p50, rtt):7.2f} "
              f"{failed[p]:6}")
    s = st["ssh"]
    for p in vias:
        print(f"ratio {p}/ssh: p50 {bl.ratio(st[p][0], s[0]):.2f}, p90 "
              f"{bl.ratio(st[p][1], s[1]):.2f}, p99 {bl.ratio(st[p][2], s[2]):.2f}")
    print("target (issue 13): ph-relay p50 <= 0.6 x ssh's")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
