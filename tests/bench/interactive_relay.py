#!/usr/bin/env python3
"""An interactive TCP connection beside a bulk one in the same session: porthole's relay
streams and channels vs ssh -L.

Each path is one forwarder process (one SSH session) with two -L forwards on one throw-away
sshd (aes128-ctr + hmac-sha2-256): one to an echo server (benchlib `echo`), one to a bulk
source (benchlib `bulk`). On one connection through the first, a --size (64) byte request
every --interval (10 ms), each answered by its echo before the next is sent (a late answer
delays the next request; none is skipped); measured per request: send to whole echo. First
--seconds (5) with nothing else running ("idle"), then the same while a second process
downloads from the bulk forward through the same forwarder as fast as it can ("bulk"; it
starts 0.5 s before the requests and its MiB/s are shown). Rounds (--reps, 3) rotate the
order of the paths:
  ph-relay  porthole -o OpenVia=relay (RelayCommand: this porthole's relay): both
            connections are TCP streams of the one relay channel, which porthole and the
            relay share out frame by frame (issue 13: control frames first, then round robin
            over streams, SDATA cut at 16 KiB);
  ph-chan   porthole -o OpenVia=channel: two direct-tcpip channels (what porthole did
            before; issue 16 schedules them);
  ssh       ssh -N -L: two direct-tcpip channels.
"added" is a percentile during bulk minus the idle p50 of the same path and round: the
latency the bulk transfer adds. Reported: p50/p99 idle and bulk, added p50/p99 (median over
the rounds), the download's MiB/s, ratios against ssh. A build without OpenVia has no
ph-relay row (it says so).

  tests/bench/interactive_relay.py [--seconds S] [--interval MS] [--size N] [--reps R]
"""

import argparse
import signal
import socket
import subprocess
import sys
import time

import benchlib as bl
from benchlib import fx

BULK_BYTES = 1 << 40  # the source never ends within a phase: the downloader is stopped
LEAD = 0.5  # seconds the download runs before the requests start


def download(port):
    """Child process: read from port until SIGTERM, reconnecting at EOF; then print bytes
    and seconds."""
    got, t0 = 0, time.monotonic()
    stop = []
    signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
    buf = bytearray(bl.BIG)
    while not stop:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                while not stop:
                    k = s.recv_into(buf)
                    if k == 0:
                        break
                    got += k
        except OSError:
            if stop:
                break
            time.sleep(0.05)
    print(got, time.monotonic() - t0, flush=True)


class Downloader:
    def __init__(self, port):
        self.proc = subprocess.Popen([sys.executable, __file__, "--download", str(port)],
                                     stdout=subprocess.PIPE, text=True)
        fx._children.append(self.proc)

    def stop(self):
        """MiB/s over the download's life."""
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        got, secs = out.split()
        return int(got) / bl.MIB / float(secs)


def requests(port, seconds, interval, size):
    """Round trips in seconds: one request of size bytes every interval s for seconds."""
    msg = bytes(range(256)) * (size // 256 + 1)
    msg = msg[:size]
    out = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        end = time.perf_counter() + seconds
        due = time.perf_counter()
        while True:
            now = time.perf_counter()
            if now >= end:
                break
            if due > now:
                time.sleep(due - now)
            t0 = time.perf_counter()
            s.sendall(msg)
            got = b""
            while len(got) < size:
                b = s.recv(size - len(got))
                if not b:
                    raise RuntimeError("echo: EOF")
                got += b
            out.append(time.perf_counter() - t0)
            if got != msg:
                raise RuntimeError("echo: wrong bytes back")
            due = t0 + interval
    return out


def one_round(path, ports, args):
    echo, bulk = ports
    iv, n = args.interval / 1000, args.size
    idle = requests(echo, args.seconds, iv, n)
    dl = Downloader(bulk)
    time.sleep(LEAD)
    try:
        busy = requests(echo, args.seconds, iv, n)
    finally:
        mibps = dl.stop()
    ms = lambda xs, p: bl.percentile(xs, p) * 1000  # noqa: E731
    r = dict(idle50=ms(idle, 50), idle99=ms(idle, 99), bulk50=ms(busy, 50),
             bulk99=ms(busy, 99), n=len(busy), mibps=mibps)
    r["add50"], r["add99"] = r["bulk50"] - r["idle50"], r["bulk99"] - r["idle50"]
    print(f"  {path:9} idle p50 {r['idle50']:7.2f} p99 {r['idle99']:7.2f} ms; bulk "
          f"({mibps:6.1f} MiB/s) p50 {r['bulk50']:7.2f} p99 {r['bulk99']:7.2f} ms "
          f"({r['n']} requests)", flush=True)
    return r


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--download":
        download(int(sys.argv[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="seconds per phase")
    ap.add_argument("--interval", type=float, default=10.0, help="ms between requests")
    ap.add_argument("--size", type=int, default=64, help="request (and echo) bytes")
    ap.add_argument("--reps", type=int, default=3, help="rounds over the paths")
    args = ap.parse_args()

    fx.porthole_path()
    print(bl.machine_line())
    print(f"# interactive_relay: a {args.size}-byte request every {args.interval:g} ms for "
          f"{args.seconds:g} s idle, then as long beside a download through the same session; "
          f"{args.reps} rounds; ms from send to the whole echo", flush=True)
    vias = bl.porthole_vias()
    paths = list(vias) + ["ssh"]
    res = {p: [] for p in paths}
    with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd, bl.Server("echo") as echo, \
            bl.Server("bulk", BULK_BYTES) as srv:
        ports = {p: (fx.free_port(), fx.free_port()) for p in paths}
        fwds = {}
        try:
            for p in paths:
                spec = ["-L", f"{ports[p][0]}:127.0.0.1:{echo.ports[0]}",
                        "-L", f"{ports[p][1]}:127.0.0.1:{srv.ports[1]}"]
                fwds[p] = (bl.SshForwarder(sshd, spec) if p == "ssh"
                           else bl.porthole_forwarder(sshd, spec, extra_args=vias[p]))
            for p in paths:  # warm-up: the relay up, first connections made
                requests(ports[p][0], 0.2, args.interval / 1000, args.size)
            for r in range(args.reps):
                print(f"# round {r + 1}", flush=True)
                for p in paths[r % len(paths):] + paths[:r % len(paths)]:
                    res[p].append(one_round(p, ports[p], args))
            for name, fw in fwds.items():
                if not fw.alive():
                    raise RuntimeError(f"{name} died:\n{fw.stderr()}")
                if name in bl.VIAS:
                    bl.report_via(name, fw)
        finally:
            for fw in fwds.values():
                fw.stop()

    print()
    print("ms from sending a request to its whole echo, median over the rounds of each "
          "round's percentile; added = during bulk minus the idle p50 of the same round")
    print(f"{'path':9} {'idle p50':>8} {'idle p99':>8} {'bulk p50':>8} {'bulk p99':>8} "
          f"{'added p50':>9} {'added p99':>9} {'bulk MiB/s':>10}")
    med = {}
    for p in paths:
        med[p] = {k: bl.median([r[k] for r in res[p]]) for k in res[p][0]}
        m = med[p]
        print(f"{p:9} {m['idle50']:8.2f} {m['idle99']:8.2f} {m['bulk50']:8.2f} "
              f"{m['bulk99']:8.2f} {m['add50']:9.2f} {m['add99']:9.2f} {m['mibps']:10.1f}")
    s = med["ssh"]
    for p in vias:
        m = med[p]
        print(f"ratio {p}/ssh: added p50 {bl.ratio(m['add50'], s['add50']):.2f}, added p99 "
              f"{bl.ratio(m['add99'], s['add99']):.2f}, bulk p99 "
              f"{bl.ratio(m['bulk99'], s['bulk99']):.2f}, bulk MiB/s "
              f"{bl.ratio(m['mibps'], s['mibps']):.2f}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
