#!/usr/bin/env python3
"""UDP through the tunnel: porthole -L .../udp vs udptunnel over ssh -L vs no tunnel at all.

One throw-away sshd on loopback restricted to aes128-ctr + hmac-sha2-256 (porthole and ssh
alike), two UDP echo servers and the client (both `udpbench`, a small C program: Python's
per-datagram cost would be the thing measured), all side by side in one run:

  direct     the client sends straight to the echo server: the floor;
  porthole   porthole -L LPORT:127.0.0.1:ECHO/udp, the relay being the built porthole
             (RelayCommand), run by sshd;
  udptunnel  Debian's udptunnel 1.1 over `ssh -N -L`: `udptunnel -c` on the client side,
             `udptunnel -s` on the server side, the TCP between them through ssh -L. udptunnel
             only speaks "RTP style" (it listens on one fixed UDP port and sends what it
             receives to that same port number), so its echo server answers to a fixed
             address, and the three parties use three loopback addresses (127.0.0.1-3) to
             share the port numbers. udptunnel 1.1 decodes one frame per wakeup of its TCP
             socket, so after a burst it keeps a backlog of old datagrams for good (each new
             one pushes out an old one: "late" replies); it is restarted before every
             measurement. Without udptunnel (apt-get install udptunnel), socat UDP<->TCP over
             ssh -L stands in (no framing: datagram boundaries are not kept), labelled so.

Part 1, --size (1200) byte datagrams, rounds interleaved over the three paths:
  closed loop with N requests outstanding (--inflight, default 1 and 32), --seconds each:
  replies per second, p50/p99 round trip, the latency porthole and udptunnel ADD to the
  direct path (difference of the percentiles), requests lost (unanswered after 1 s), late
  replies (to a request already given up, or another request's), and
  the CPU time of the tunnel's processes per datagram (client side: porthole, or ssh +
  udptunnel -c; server side: the sshd tree with the relay, or the sshd tree + udptunnel -s);
  open loop: --rate datagrams a second for --rate-seconds, whatever comes back; replies lost.

Part 2, latency behind bulk TCP: 64-byte request/response (1 in flight) through porthole
with and without a concurrent --bulk-bytes (512 MiB) download through a TCP -L of the SAME
porthole session (one process with both forwards); the same with udptunnel over an ssh -L
that also carries the download.

Timing is never a pass/fail test. Prints a summary after the first empty line, with
`ratio` lines.

  tests/bench/udp.py [--size N] [--seconds S] [--inflight 1,32] [--rate R] [--rate-seconds S]
                     [--bulk-bytes N] [--reps R]   # defaults: 1200, 3, 1,32, 20000, 5, 512 MiB, 2

$PORTHOLE is the porthole binary (default build-rel/porthole), $UDPBENCH the client
(default build-rel/tests/bench/udpbench).
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

import benchlib as bl
from benchlib import fx
from throughput import client_down

PATHS = ("direct", "porthole", "udptunnel")
SMALL = 64


def udpbench_path():
    p = os.environ.get("UDPBENCH",
                       os.path.join(bl.ROOT, "build-rel", "tests", "bench", "udpbench"))
    if not os.access(p, os.X_OK):
        fx.skip(f"udpbench not found at {p} (set UDPBENCH, or build: ninja -C build-rel)")
    return p


def start(argv, **kw):
    p = subprocess.Popen(argv, **kw)
    fx._children.append(p)
    return p


class Echo:
    """`udpbench echo` in its own process; it exits when its stdin closes."""

    def __init__(self, ub, bind=None, reply_to=None):
        argv = [ub, "echo"] + (["-b", bind] if bind else []) + (["-r", reply_to] if reply_to
                                                                  else [])
        self.proc = start(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"udpbench echo did not start: {' '.join(argv)}")
        self.port = int(line)

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def parse_result(text):
    for line in text.splitlines():
        if line.startswith("sent="):
            return {k: float(v) for k, v in (w.split("=", 1) for w in line.split())}
    raise RuntimeError(f"udpbench printed no result: {text!r}")


class Path:
    """Where the client sends, what it binds, and which processes are the tunnel."""

    def __init__(self, name, label, target, bind=None, client_pids=tuple, server_pids=tuple,
                 sshd=None):
        self.name, self.label, self.target, self.bind = name, label, target, bind
        self.client_pids, self.server_pids, self.sshd = client_pids, server_pids, sshd

    def cpu(self):
        """CPU seconds so far of the tunnel's processes (client side, server side)."""
        c = sum(bl.proc_cpu(p) for p in self.client_pids())
        s = sum(bl.proc_cpu(p) for p in self.server_pids())
        if self.sshd is not None:
            s += bl.tree_cpu(self.sshd.proc.pid)
        return c, s

    def client_argv(self, ub, mode, *args):
        return [ub, mode, "-t", self.target] + (["-b", self.bind] if self.bind else []) + [
            *map(str, args)]


def run_client(ub, path, mode, *args, timeout=120):
    c0, s0 = path.cpu()
    out = subprocess.run(path.client_argv(ub, mode, *args), capture_output=True, text=True,
                         timeout=timeout)
    c1, s1 = path.cpu()
    if out.returncode != 0:
        raise RuntimeError(f"udpbench {mode} via {path.name} failed ({out.returncode}): "
                           f"{out.stderr.strip()}")
    r = parse_result(out.stdout)
    r["tunnel_cpu"] = (c1 - c0) + (s1 - s0)
    r["client_cpu"], r["server_cpu"] = c1 - c0, s1 - s0
    return r


def wait_works(ub, path, tries=20):
    """Until one datagram makes the round trip (porthole starts its relay on the first)."""
    for _ in range(tries):
        try:
            r = run_client(ub, path, "rr", "-s", "64", "-n", "1", "-d", "0.3", "-w", "0",
                           "-T", "200", timeout=10)
            if r["replies"] > 0:
                return
        except RuntimeError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"no datagram came back through {path.name} ({path.target})")


# ---------------------------------------------------------------- udptunnel / socat


class UdpTunnel:
    """udptunnel -s / -c around an ssh -L, or socat as a stand-in when it is missing."""

    def __init__(self, sshd, ub, bulk_source):
        self.kind = "udptunnel" if shutil.which("udptunnel") else "socat"
        self.server = self.client = None
        self.tserver = fx.free_port()
        self.tcp_local, self.bulk_local = fx.free_port(), fx.free_port()
        if self.kind == "udptunnel":
            # Server side: echo on 127.0.0.2:P answering to 127.0.0.1:P, where udptunnel -s
            # (bound to *:P) takes it. Client side: udptunnel -c bound to *:Q sends what it
            # decapsulates to 127.0.0.3:Q, where the client listens, sending to 127.0.0.1:Q.
            self.uport = fx.free_port()
            self.echo = Echo(ub, bind=f"127.0.0.2:{self.uport}",
                             reply_to=f"127.0.0.1:{self.uport}")
            self.label = "udptunnel + ssh -L"
        else:
            self.echo = Echo(ub)
            self.label = "socat UDP<->TCP + ssh -L (STAND-IN: udptunnel not installed)"
        self.q = fx.free_port()
        if self.kind == "udptunnel":
            self.target, self.bind = f"127.0.0.1:{self.q}", f"127.0.0.3:{self.q}"
        else:
            # socat's UDP4-LISTEN answers only its first sender: always send from one port.
            self.target, self.bind = f"127.0.0.1:{self.q}", f"127.0.0.1:{fx.free_port()}"
        self._start_server()
        self.ssh = bl.SshForwarder(sshd, ["-L", f"{self.tcp_local}:127.0.0.1:{self.tserver}",
                                          "-L", f"{self.bulk_local}:127.0.0.1:{bulk_source}"])
        self._start_client()

    def _start_server(self):
        if self.kind == "udptunnel":
            argv = ["udptunnel", "-s", str(self.tserver), f"127.0.0.2/{self.uport}"]
        else:
            argv = ["socat", f"TCP4-LISTEN:{self.tserver},bind=127.0.0.1,reuseaddr",
                    f"UDP4:127.0.0.1:{self.echo.port}"]
        self.server = start(argv, stdin=subprocess.DEVNULL)
        if not fx.wait_listening(self.tserver):
            raise RuntimeError(f"{argv[0]} does not listen on {self.tserver}")

    def _start_client(self):
        if self.kind == "udptunnel":
            argv = ["udptunnel", "-c", f"127.0.0.1/{self.tcp_local}", f"127.0.0.3/{self.q}"]
        else:
            argv = ["socat", f"UDP4-LISTEN:{self.q},bind=127.0.0.1,reuseaddr",
                    f"TCP4:127.0.0.1:{self.tcp_local}"]
        # socat reports the ICMP error of a late reply, which ends it (see fresh() in main).
        quiet = subprocess.DEVNULL if self.kind == "socat" else None
        self.client = start(argv, stdin=subprocess.DEVNULL, stderr=quiet)
        time.sleep(0.3)  # udptunnel -c connects at once; nothing says when it has

    def restart(self):
        """A fresh pair: udptunnel 1.1 handles one frame per wakeup of its TCP socket, so
        after a burst it keeps a backlog of old datagrams for good (each new one pushes out
        an old one). Every measurement starts from a clean tunnel."""
        self._stop_pair()
        self._start_server()
        self._start_client()

    def _stop_pair(self):
        for p in (self.client, self.server):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(2)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def path(self, sshd):
        return Path("udptunnel", self.label, self.target, self.bind,
                    client_pids=lambda: (self.ssh.proc.pid, self.client.pid),
                    server_pids=lambda: (self.server.pid,), sshd=sshd)

    def alive(self):
        if self.kind == "socat":  # exits on the ICMP error a late reply causes: restarted
            return self.ssh.alive()
        return self.ssh.alive() and all(p.poll() is None for p in (self.client, self.server))

    def close(self):
        self._stop_pair()
        self.ssh.stop()
        self.echo.close()


# ---------------------------------------------------------------- part 2: behind bulk TCP


def small_rr_during(ub, path, bulk_port, total):
    """64-byte round trips, 1 in flight, while `total` bytes are downloaded from bulk_port."""
    p = start(path.client_argv(ub, "rr", "-s", SMALL, "-n", "1", "-d", "600", "-w", "0"),
              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    c0, s0 = path.cpu()
    p.send_signal(signal.SIGUSR1)  # count from here
    dt = client_down(bulk_port, total)
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    c1, s1 = path.cpu()
    r = parse_result(out)
    r["mibps"] = total / bl.MIB / dt
    r["tunnel_cpu"] = (c1 - c0) + (s1 - s0)
    return r


# ---------------------------------------------------------------- summary


def fmt(x, nd=1):
    return "-" if x is None else f"{x:.{nd}f}"


def summarize(args, res, bulk, labels):
    med = {}
    for key, runs in res.items():
        med[key] = {k: bl.median([r[k] for r in runs]) for k in runs[0]}
    print()
    for name in PATHS:
        print(f"path {name}: {labels[name]}")
    print(f"part 1: {args.size}-byte datagrams, request/response; medians of {args.reps} "
          f"round(s); added = percentile minus the direct path's")
    print(f"{'in flight':>9} {'path':10} {'dgram/s':>8} {'p50 us':>8} {'p99 us':>8} "
          f"{'p99.9 us':>9} {'added p50':>9} {'added p99':>9} {'lost':>5} {'late':>5} "
          f"{'CPU us/dgram':>12}")
    for n in args.inflight:
        d = med[("rr", n, "direct")]
        for name in PATHS:
            m = med[("rr", n, name)]
            add50 = None if name == "direct" else m["p50_us"] - d["p50_us"]
            add99 = None if name == "direct" else m["p99_us"] - d["p99_us"]
            cpu = None if name == "direct" else 1e6 * m["tunnel_cpu"] / max(1, m["all"])
            print(f"{n:>9} {name:10} {m['rate']:8.0f} {m['p50_us']:8.1f} {m['p99_us']:8.1f} "
                  f"{m['p999_us']:9.1f} {fmt(add50):>9} {fmt(add99):>9} {m['lost']:5.0f} "
                  f"{m['late']:5.0f} {fmt(cpu):>12}")
    print(f"open loop: {args.rate:.0f} datagrams/s for {args.rate_seconds:g} s, "
          f"{args.size} bytes")
    print(f"{'path':10} {'sent':>7} {'replies':>7} {'lost':>7} {'lost %':>7} {'p50 us':>8} "
          f"{'p99 us':>10} {'max us':>10} {'CPU us/dgram':>12}")
    for name in PATHS:
        m = med[("rate", name)]
        cpu = None if name == "direct" else 1e6 * m["tunnel_cpu"] / max(1, m["sent"])
        print(f"{name:10} {m['sent']:7.0f} {m['replies']:7.0f} {m['lost']:7.0f} "
              f"{100 * m['lost'] / max(1, m['sent']):7.2f} {m['p50_us']:8.1f} "
              f"{m['p99_us']:10.1f} {m['max_us']:10.1f} {fmt(cpu):>12}")
    if args.reps > 1:
        print("open loop, every round (lost % / p99 ms): " + "; ".join(
            f"{name} " + ", ".join(f"{100 * r['lost'] / max(1, r['sent']):.1f}/"
                                   f"{r['p99_us'] / 1000:.1f}" for r in res[("rate", name)])
            for name in PATHS))
    for n in args.inflight:
        r = bl.ratio(med[("rr", n, "porthole")]["rate"], med[("rr", n, "udptunnel")]["rate"])
        print(f"ratio porthole/udptunnel datagrams/s, {n} in flight: {r:.2f} (target >= 3)")
    lp, lu = med[("rate", "porthole")]["lost"], med[("rate", "udptunnel")]["lost"]
    print(f"ratio porthole/udptunnel datagrams lost at {args.rate:.0f}/s: "
          f"{bl.ratio(lp, lu) if lu else float('inf') if lp else 1.0:.2f} "
          f"({lp:.0f} vs {lu:.0f}; target <= 1)")
    for n in args.inflight:
        d, p = med[("rr", n, "direct")], med[("rr", n, "porthole")]
        print(f"porthole added p99, {n} in flight: {(p['p99_us'] - d['p99_us']) / 1000:.3f} ms "
              f"(target < 1 ms)")
    if bulk:
        print(f"part 2: {SMALL}-byte request/response, 1 in flight; 'bulk' = during a "
              f"{args.bulk_bytes // bl.MIB} MiB download through a TCP forward of the same "
              f"session")
        print(f"{'path':10} {'when':5} {'dgram/s':>8} {'p50 us':>8} {'p99 us':>8} "
              f"{'p99.9 us':>9} {'max us':>9} {'lost':>5} {'MiB/s':>7}")
        for (name, when), runs in bulk.items():
            m = {k: bl.median([r[k] for r in runs]) for k in runs[0]}
            print(f"{name:10} {when:5} {m['rate']:8.0f} {m['p50_us']:8.1f} {m['p99_us']:8.1f} "
                  f"{m['p999_us']:9.1f} {m['max_us']:9.1f} {m['lost']:5.0f} "
                  f"{fmt(m.get('mibps')):>7}")
        for name in ("porthole", "udptunnel"):
            if (name, "bulk") in bulk:
                b = bl.median([r["p99_us"] for r in bulk[(name, "bulk")]])
                i = bl.median([r["p99_us"] for r in bulk[(name, "idle")]])
                print(f"ratio {name} p99 during bulk / idle: {bl.ratio(b, i):.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1200, help="datagram size, part 1")
    ap.add_argument("--seconds", type=float, default=3.0, help="per closed-loop run")
    ap.add_argument("--inflight", default="1,32", help="outstanding requests, comma-separated")
    ap.add_argument("--rate", type=float, default=20000, help="open loop: datagrams a second")
    ap.add_argument("--rate-seconds", type=float, default=5.0, help="open loop: how long")
    ap.add_argument("--bulk-bytes", type=int, default=512 * bl.MIB,
                    help="part 2: download size (0: skip part 2)")
    ap.add_argument("--reps", type=int, default=2, help="rounds over the paths")
    args = ap.parse_args()
    args.inflight = [int(x) for x in args.inflight.split(",")]

    ub = udpbench_path()
    porthole = fx.porthole_path()
    print(bl.machine_line())
    if shutil.which("udptunnel"):
        print("# udptunnel: " + subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package} ${Version}", "udptunnel"],
            capture_output=True, text=True).stdout.strip())
    else:
        print("# udptunnel NOT installed (apt-get install udptunnel): socat UDP<->TCP over "
              "ssh -L stands in, without framing", flush=True)
    print(f"# udp: {args.size}-byte datagrams, {args.seconds:g} s per closed-loop run, "
          f"in flight {args.inflight}, open loop {args.rate:.0f}/s for {args.rate_seconds:g} s, "
          f"{args.reps} round(s); {bl.CIPHER} + {bl.MAC}", flush=True)

    res, bulk = {}, {}
    with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd, \
            bl.Server("bulk", max(1, args.bulk_bytes)) as srv:
        source = srv.ports[1]
        echo = Echo(ub)
        lport, tport = fx.free_port(), fx.free_port()
        ph = bl.porthole_forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}/udp",
                                          "-L", f"{tport}:127.0.0.1:{source}"],
                                   extra_args=["-o", f"RelayCommand={porthole} relay"])
        ut = UdpTunnel(sshd, ub, source)
        try:
            paths = {
                "direct": Path("direct", "no tunnel", f"127.0.0.1:{echo.port}"),
                "porthole": Path("porthole", "porthole -L .../udp", f"127.0.0.1:{lport}",
                                 client_pids=lambda: (ph.proc.pid,), sshd=sshd),
                "udptunnel": ut.path(sshd),
            }
            labels = {k: v.label for k, v in paths.items()}

            def fresh(name):
                if name == "udptunnel":
                    ut.restart()
                wait_works(ub, paths[name])
                if name == "udptunnel" and ut.kind == "socat":
                    ut.restart()  # a reply after wait_works' client has gone kills socat
                return paths[name]

            for p in paths.values():
                wait_works(ub, p)
            for r in range(args.reps):
                print(f"# round {r + 1}", flush=True)
                for n in args.inflight:
                    for name in PATHS:
                        x = run_client(ub, fresh(name), "rr", "-s", args.size, "-n", n, "-d",
                                       args.seconds, "-w", "0.5")
                        res.setdefault(("rr", n, name), []).append(x)
                        print(f"  rr   {n:3} in flight  {name:10} {x['rate']:8.0f}/s  "
                              f"p50 {x['p50_us']:8.1f} us  p99 {x['p99_us']:8.1f} us  "
                              f"lost {x['lost']:.0f}  late {x['late']:.0f}  "
                              f"tunnel CPU {x['tunnel_cpu']:.2f} s", flush=True)
                for name in PATHS:
                    x = run_client(ub, fresh(name), "rate", "-s", args.size, "-R", args.rate,
                                   "-d", args.rate_seconds, "-D", "1")
                    res.setdefault(("rate", name), []).append(x)
                    print(f"  rate {args.rate:.0f}/s  {name:10} sent {x['sent']:.0f}  replies "
                          f"{x['replies']:.0f}  lost {x['lost']:.0f}  p50 {x['p50_us']:.1f} us  "
                          f"p99 {x['p99_us']:.1f} us", flush=True)
                if args.bulk_bytes > 0:
                    x = run_client(ub, fresh("direct"), "rr", "-s", SMALL, "-n", "1", "-d",
                                   args.seconds, "-w", "0.5")
                    bulk.setdefault(("direct", "idle"), []).append(x)
                    for name, port in (("porthole", tport), ("udptunnel", ut.bulk_local)):
                        x = run_client(ub, fresh(name), "rr", "-s", SMALL, "-n", "1", "-d",
                                       args.seconds, "-w", "0.5")
                        bulk.setdefault((name, "idle"), []).append(x)
                        y = small_rr_during(ub, fresh(name), port, args.bulk_bytes)
                        bulk.setdefault((name, "bulk"), []).append(y)
                        print(f"  {SMALL}-byte rr  {name:10} idle p50 {x['p50_us']:.1f} p99 "
                              f"{x['p99_us']:.1f} us;  during bulk ({y['mibps']:.0f} MiB/s) "
                              f"p50 {y['p50_us']:.1f} p99 {y['p99_us']:.1f} max "
                              f"{y['max_us']:.1f} us, lost {y['lost']:.0f}", flush=True)
            for name, alive in (("porthole", ph.alive()), ("udptunnel", ut.alive())):
                if not alive:
                    raise RuntimeError(f"{name} died during the run")
        finally:
            ut.close()
            ph.stop()
            echo.close()
    summarize(args, res, bulk, labels)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
