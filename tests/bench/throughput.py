#!/usr/bin/env python3
"""Throughput of one forwarded TCP connection: porthole -L vs the libssh2 ceiling vs ssh -L.

porthole runs twice (issue 13), each its own process and session on the same sshd:
"ph-chan" (`-o OpenVia=channel`: a direct-tcpip channel, what porthole did before) and
"ph-relay" (`-o OpenVia=relay -o RelayCommand=<this porthole> relay`: a TCP stream through
`porthole relay`, which sshd runs in an exec channel of the session). A build without
OpenVia has only ph-chan (it says so). Target: ph-relay >= 0.9 x ph-chan.

One throw-away sshd on loopback restricted to aes128-ctr + hmac-sha2-256, one local
sink/source server (benchlib `bulk`, its own process). First the server is measured raw
(no tunnel) to show it is not the bottleneck; then, interleaved (ceiling, porthole, ssh,
ceiling, ...) for --reps rounds, each tool moves --bytes up (client -> server, ended by EOF
and the sink's 8-byte ack) and down (server -> client) through one connection.

Reports the median MiB/s per tool and direction, the ratios ph-chan/ceiling (target >= 0.9),
ph-relay/ph-chan (target >= 0.9) and each porthole/ssh, and CPU seconds per GiB of the client process (porthole, ssh, ceiling)
and of sshd (with its children: for ph-relay that includes `porthole relay`, whose share is
also shown alone), from /proc/PID/stat (10 ms ticks); and from those the MiB each client moves
per CPU-second, with the same ratios: on a shared, busy machine the MiB/s swing with the
neighbours' load while CPU time per byte stays much steadier.

  tests/bench/throughput.py [--bytes N] [--reps R] [--cipher NAME] [--compress]
      [--payload zeros|random] [--tools ceiling,ph-chan,ph-relay,ssh]
      [--rtt-ms MS[,MS...] [--relay-fallback]] [--base PATH] [--stall-dump S]

--rtt-ms: one scenario per RTT, each with its own sshd one round trip away from every
tool's SSH connection (benchlib.DelayedPath, as socks_burst.py): a network namespace
behind `tc netem delay RTT/2` on both ends of a veth pair (needs root and sch_netem; RTT
0 = the namespace without netem), the sink/source server inside it beside sshd. Where
netem cannot be had, --relay-fallback puts benchlib's userspace `delay` relay in front of
a loopback sshd instead, for every RTT of the list (0 included, so the relay's own cost
is in every table); without it the run is skipped (exit 77). Through the relay the raw
server is also measured through a second such relay with no tunnel, and each tool's line
shows the relay's CPU: a relay near 100% of a core, or raw figures near the tunnel's,
would make the relay the limit (at RTT 0 it takes a third to two thirds of a core: those
figures are below bare loopback's). A 1-byte echo through it gives the round trip when
idle; a window's burst also waits its turn through the relay (2 MiB at ~200 MiB/s: 10 ms),
so the round trip a window sees is longer. Windows limit a single connection to about
window / RTT: a 2 MiB channel window (ssh's and porthole's) is 50 MiB/s across 40 ms.
--bytes defaults to 64 MiB with --rtt-ms (512 MiB without). One table per scenario, with
its ratios; the plain run (no --rtt-ms) is bare loopback as before.

--cipher (default aes128-ctr) is the one cipher the sshd offers and every client asks for
with -c; the MAC is hmac-sha2-256 (chacha20-poly1305 and aes-gcm carry their own).

--stall-dump S: when a transfer makes no progress for S seconds, print `ss -tnpi` once (the
queues of every TCP socket: which hop holds the bytes), and go on.

--base PATH adds a second porthole binary (say, a build of the tree before a change) as
"base-chan" and "base-relay" (with its own `PATH relay` as RelayCommand), in the same
rounds as the others, with the ratios ph-chan/base-chan and ph-relay/base-relay.

$PORTHOLE is the porthole binary (default build-rel/porthole), $CEILING the ceiling program
(default build-rel/tests/bench/ceiling).
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

import benchlib as bl
from benchlib import fx

ALL_TOOLS = ("ceiling", "ph-chan", "ph-relay", "base-chan", "base-relay", "ssh")
TOOLS = ALL_TOOLS  # those this run measures
VIAS = {}  # porthole tool -> its -o args (benchlib.porthole_vias)
BINARY = {}  # porthole tool -> its binary
FORWARDERS = ("ph-chan", "ph-relay", "base-chan", "base-relay", "ssh")
BASE = {"base-chan": "ph-chan", "base-relay": "ph-relay"}  # --base tool -> its like


STALL_S = 0.0  # --stall-dump: seconds without progress before `ss -tnpi` is printed


def stall_dump(what, done, total, t0):
    """Print where the bytes sit (every TCP socket's queues, `ss -tnpi`) during a stall."""
    out = subprocess.run(["ss", "-tnpi"], capture_output=True, text=True).stdout
    print(f"# STALL: {what}: no progress for {STALL_S:g} s at {done} of {total} bytes, "
          f"{time.monotonic() - t0:.2f} s in; ss -tnpi:\n{out}", flush=True)


def client_up(port, total):
    """Send total bytes, half-close, wait for the sink's ack. Returns seconds."""
    zeros = bl.payload_block()
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        left = total
        dumped = False
        s.settimeout(STALL_S or 120)
        while left > 0:
            k = min(bl.BIG, left)
            if not STALL_S:
                s.sendall(zeros[:k])
                left -= k
                continue
            try:
                left -= s.send(zeros[:k])
            except socket.timeout:
                if time.monotonic() - t0 > 120:
                    raise RuntimeError(f"upload: {total - left} of {total} bytes in 120 s")
                if not dumped:
                    stall_dump(f"upload to port {port}", total - left, total, t0)
                    dumped = True
        s.settimeout(120)
        s.shutdown(socket.SHUT_WR)
        ack = fx.recv_all(s, 8)
    dt = time.monotonic() - t0
    if len(ack) != 8 or int.from_bytes(ack, "little") != total:
        raise RuntimeError(f"upload: sink acknowledged {ack!r}, sent {total}")
    return dt


def client_down(port, total):
    """Read total bytes. Returns seconds."""
    buf = bytearray(bl.BIG)
    got = 0
    dumped = False
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.settimeout(STALL_S or 120)
        while got < total:
            try:
                k = s.recv_into(buf)
            except socket.timeout:
                if not STALL_S or time.monotonic() - t0 > 120:
                    raise
                if not dumped:
                    stall_dump(f"download from port {port}", got, total, t0)
                    dumped = True
                continue
            if k == 0:
                raise RuntimeError(f"download: EOF after {got} of {total} bytes")
            got += k
    return time.monotonic() - t0


class Bench:
    def __init__(self, args, sshd, srv, ceiling, fw, ssh_addr=None, relay=None):
        self.args = args
        self.sshd = sshd
        self.ssh_host, self.ssh_port = ssh_addr or (sshd.host, sshd.port)
        self.relay = relay  # the delay relay's Server in the way, or None
        self.sink, self.source = srv.ports
        self.ceiling = ceiling
        self.fw = fw  # tool -> Forwarder (ph-chan, ph-relay, ssh); ports in self.lports
        self.lports = {}
        self.results = {(t, d): [] for t in TOOLS for d in ("up", "down")}
        self.cpu = {(t, d): [] for t in TOOLS for d in ("up", "down")}
        self.sshd_cpu = {(t, d): [] for t in TOOLS for d in ("up", "down")}
        self.relay_cpu_of = {(t, d): [] for t in TOOLS for d in ("up", "down")}
        self.delay_cpu = {(t, d): [] for t in TOOLS for d in ("up", "down")}  # share of wall

    def run_ceiling(self, direction):
        port = self.sink if direction == "up" else self.source
        argv = [self.ceiling, self.ssh_host, str(self.ssh_port), self.sshd.user,
                self.sshd.client_key, "127.0.0.1", str(port), direction, str(self.args.bytes)]
        s0 = bl.tree_cpu(self.sshd.proc.pid)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                             env=dict(os.environ, CEILING_CIPHER=bl.CIPHER))
        time.sleep(0.2)  # let sshd reap the session's processes (their CPU moves to cutime)
        s1 = bl.tree_cpu(self.sshd.proc.pid)
        if out.returncode != 0:
            raise RuntimeError(f"ceiling failed ({out.returncode}): {out.stderr.strip()}")
        kv = dict(w.split("=", 1) for w in out.stdout.split() if "=" in w)
        return float(kv["seconds"]), float(kv["cpu"]), s1 - s0

    def relay_cpu(self, binary):
        """CPU seconds so far of the `BINARY relay` processes under sshd (ph-relay's)."""
        total = 0.0
        me = os.fsencode(os.path.realpath(binary))
        for p in bl._descendants(self.sshd.proc.pid):
            try:
                with open(f"/proc/{p}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
                if len(argv) > 1 and os.path.realpath(argv[0]) == me and argv[1] == b"relay":
                    total += bl.proc_cpu(p)
            except (OSError, ValueError, IndexError):
                pass
        return total

    def run_forwarder(self, tool, direction):
        fw = self.fw[tool]
        pid = fw.proc.pid
        binary = BINARY.get(tool, fx.porthole_path())
        c0, s0, r0 = bl.proc_cpu(pid), bl.tree_cpu(self.sshd.proc.pid), self.relay_cpu(binary)
        if direction == "up":
            dt = client_up(self.lports[(tool, "up")], self.args.bytes)
        else:
            dt = client_down(self.lports[(tool, "down")], self.args.bytes)
        c1, s1, r1 = bl.proc_cpu(pid), bl.tree_cpu(self.sshd.proc.pid), self.relay_cpu(binary)
        self.relay_cpu_of[(tool, direction)].append((r1 - r0) / (self.args.bytes / (1 << 30)))
        return dt, c1 - c0, s1 - s0

    def one(self, tool, direction):
        d0 = bl.proc_cpu(self.relay.proc.pid) if self.relay else 0.0
        if tool == "ceiling":
            dt, cpu, scpu = self.run_ceiling(direction)
        else:
            dt, cpu, scpu = self.run_forwarder(tool, direction)
        mibps = self.args.bytes / bl.MIB / dt
        gib = self.args.bytes / (1 << 30)
        self.results[(tool, direction)].append(mibps)
        self.cpu[(tool, direction)].append(cpu / gib)
        self.sshd_cpu[(tool, direction)].append(scpu / gib)
        delay = ""
        if self.relay:
            dcpu = bl.proc_cpu(self.relay.proc.pid) - d0
            self.delay_cpu[(tool, direction)].append(dcpu / dt)
            delay = f"   delay relay CPU {dcpu:5.2f} s ({100 * dcpu / dt:3.0f}%)"
        print(f"  {tool:9} {direction:4} {mibps:8.1f} MiB/s   client CPU {cpu:6.2f} s "
              f"({100 * cpu / dt:3.0f}% of {dt:.2f} s)   sshd CPU {scpu:6.2f} s{delay}",
              flush=True)


def pairs():
    """(porthole tool, what it is compared with) for the ratio lines, of the tools run."""
    want = (("ph-chan", "ceiling"), ("ph-relay", "ph-chan"), ("ph-chan", "ssh"),
            ("ph-relay", "ssh"), ("base-relay", "base-chan"), ("ph-chan", "base-chan"),
            ("ph-relay", "base-relay"), ("base-chan", "ssh"), ("base-relay", "ssh"))
    return [(a, b) for a, b in want if a in TOOLS and b in TOOLS]


def raw(sink, source, total):
    """MiB/s up and down straight to the sink and source ports (no tunnel)."""
    return (total / bl.MIB / client_up(sink, total), total / bl.MIB / client_down(source, total))


def echo_rtt_ms(port, n=11):
    """Median ms for one byte to an echo server on port and back (after the connect)."""
    xs = []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            t0 = time.perf_counter()
            s.sendall(b"x")
            if not s.recv(1):
                raise RuntimeError("echo through the delay relay: EOF")
            xs.append((time.perf_counter() - t0) * 1000)
    return bl.median(xs)


def scenario(args, sshd, srv, ceiling, path=None):
    """Start the forwarders on sshd (through path's delay, if any), run --reps interleaved
    rounds. Returns the Bench with its results."""
    sink, source = srv.ports
    fwd_tools = [t for t in TOOLS if t in FORWARDERS]
    ports = {(t, d): fx.free_port() for t in fwd_tools for d in ("up", "down")}
    kw = path.fwd_kw if path else {}

    def fwd_args(tool):
        return ["-L", f"{ports[(tool, 'up')]}:127.0.0.1:{sink}",
                "-L", f"{ports[(tool, 'down')]}:127.0.0.1:{source}"]

    fws = {}
    try:
        for t in fwd_tools:
            if t == "ssh":
                fws[t] = bl.SshForwarder(sshd, fwd_args(t), **kw)
                continue
            fw = bl.porthole_forwarder(sshd, fwd_args(t), extra_args=VIAS[t], start=False,
                                       **kw)
            fw.argv[0] = BINARY[t]
            fws[t] = fw.start()
        b = Bench(args, sshd, srv, ceiling, fws,
                  ssh_addr=(path.ssh_host, path.ssh_port) if path else None,
                  relay=path.relay if path else None)
        b.lports = ports
        for r in range(args.reps):
            print(f"# round {r + 1}", flush=True)
            order = TOOLS if r % 2 == 0 else TOOLS[::-1]
            for tool in order:
                for d in ("up", "down"):
                    b.one(tool, d)
        for name, fw in fws.items():
            if not fw.alive():
                raise RuntimeError(f"{name} died:\n{fw.stderr()}")
            if name in VIAS:
                bl.report_via(name, fw)
    finally:
        for fw in fws.values():
            fw.stop()
    return b


def summarize(b, raw_line, heading=None):
    """The table of one scenario and its ratios."""
    med = {k: bl.median(v) for k, v in b.results.items()}
    cpu = {k: bl.median(v) for k, v in b.cpu.items()}
    scpu = {k: bl.median(v) for k, v in b.sshd_cpu.items()}
    print()
    if heading:
        print(heading)
    print(raw_line)
    print(f"{'tool':10} {'up MiB/s':>9} {'down MiB/s':>10}   {'client CPU s/GiB up/down':>24}"
          f"   {'sshd CPU s/GiB up/down':>22}")
    for t in TOOLS:
        print(f"{t:10} {med[(t, 'up')]:9.1f} {med[(t, 'down')]:10.1f}   "
              f"{cpu[(t, 'up')]:11.2f} / {cpu[(t, 'down')]:<10.2f}"
              f"   {scpu[(t, 'up')]:9.2f} / {scpu[(t, 'down')]:<9.2f}")
    for t in ("ph-relay", "base-relay"):
        if t in TOOLS:
            rc = {d: bl.median(b.relay_cpu_of[(t, d)]) for d in ("up", "down")}
            print(f"of {t}'s sshd CPU, the relay process: {rc['up']:.2f} / {rc['down']:.2f} "
                  f"s/GiB up/down")
    if b.relay:
        dc = {k: bl.median(v) for k, v in b.delay_cpu.items()}
        print("delay relay CPU, share of a core while each tool ran (up/down): " + ", ".join(
            f"{t} {100 * dc[(t, 'up')]:.0f}%/{100 * dc[(t, 'down')]:.0f}%" for t in TOOLS))
    for ph, other in pairs():
        up = bl.ratio(med[(ph, "up")], med[(other, "up")])
        down = bl.ratio(med[(ph, "down")], med[(other, "down")])
        note = "  (target >= 0.9)" if (ph, other) in (("ph-chan", "ceiling"),
                                                      ("ph-relay", "ph-chan")) else ""
        print(f"ratio {ph}/{other}: up {up:.2f}, down {down:.2f}{note}")
    # MiB moved per CPU-second of the client process: what one core would carry if the
    # client were the only limit. Steadier than MiB/s on a shared machine.
    eff = {k: bl.ratio(1024.0, v) for k, v in cpu.items()}
    print("client MiB per CPU-second (up/down): " + ", ".join(
        f"{t} {eff[(t, 'up')]:.0f}/{eff[(t, 'down')]:.0f}" for t in TOOLS))
    for ph, other in pairs():
        up = bl.ratio(eff[(ph, "up")], eff[(other, "up")])
        down = bl.ratio(eff[(ph, "down")], eff[(other, "down")])
        print(f"ratio MiB per CPU-second {ph}/{other}: up {up:.2f}, down {down:.2f}")


def delayed(args, rtt_ms, mode, ceiling):
    """One scenario rtt_ms away (mode "netem" or "delay", see benchlib.DelayedPath).
    Returns (Bench, raw line, heading)."""
    with bl.DelayedPath(rtt_ms, mode=mode) as path:
        how = ("userspace delay relay" if path.relay else
               "netem" if rtt_ms else "network namespace, no netem")
        print(f"# {path.label}: sshd {rtt_ms:g} ms round trip away ({how}), "
              f"load {' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
        srv = path.server("bulk", args.bytes)
        if path.relay is None:
            rtt = bl.tcp_rtt_ms(path.ssh_host, path.ssh_port)
            line = (f"raw: not measured (the server is inside the namespace); TCP connect to "
                    f"the jump host {rtt:.1f} ms")
        else:
            d_up, d_down = raw(*srv.ports, args.bytes)
            r_up, r_down = raw(*[path.near(p) for p in srv.ports], args.bytes)
            rtt = echo_rtt_ms(path.near(path.server("echo").ports[0]))
            line = (f"raw server, no tunnel: up {d_up:.0f} MiB/s, down {d_down:.0f} MiB/s; "
                    f"through a delay relay ({rtt_ms:g} ms): up {r_up:.0f}, down {r_down:.0f}; "
                    f"a 1-byte echo through it {rtt:.1f} ms")
        print(f"  {line}", flush=True)
        b = scenario(args, path.sshd, srv, ceiling, path)
        return b, line, f"## {path.label}: RTT {rtt_ms:g} ms ({how})"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bytes", type=int, default=None,
                    help="bytes per transfer (default 512 MiB, 64 MiB with --rtt-ms)")
    ap.add_argument("--reps", type=int, default=3, help="rounds of (ceiling, porthole, ssh)")
    ap.add_argument("--cipher", default=bl.CIPHER, help="the cipher all three use")
    ap.add_argument("--compress", action="store_true",
                    help="porthole and ssh with -C (zlib); the ceiling is left out")
    ap.add_argument("--payload", choices=("zeros", "random"), default="zeros",
                    help="what the transfers carry (random: incompressible)")
    ap.add_argument("--tools", default="ceiling,ph-chan,ph-relay,ssh",
                    help="which of ceiling, ph-chan, ph-relay, ssh to run (with --base, "
                         "ph-chan and ph-relay bring base-chan and base-relay)")
    ap.add_argument("--base", help="a second porthole binary measured alongside")
    ap.add_argument("--rtt-ms", default=None,
                    help="round-trip time(s) in front of sshd, comma-separated: one "
                         "scenario each (netem; see --relay-fallback)")
    ap.add_argument("--relay-fallback", action="store_true",
                    help="without netem, delay through a userspace relay instead")
    ap.add_argument("--stall-dump", type=float, default=0.0, metavar="S",
                    help="print `ss -tnpi` once a transfer makes no progress for S seconds")
    args = ap.parse_args()
    rtts = None
    if args.rtt_ms is not None:
        try:
            rtts = [float(x) for x in args.rtt_ms.split(",") if x.strip()]
        except ValueError:
            rtts = []
        if not rtts or any(x < 0 for x in rtts):
            sys.exit(f"throughput.py: --rtt-ms: want milliseconds >= 0, comma-separated, "
                     f"not {args.rtt_ms!r}")
    if args.bytes is None:
        args.bytes = (64 if rtts else 512) * bl.MIB
    global STALL_S
    STALL_S = max(0.0, args.stall_dump)
    bl.use_cipher(args.cipher)
    os.environ["BENCH_PAYLOAD"] = args.payload
    global TOOLS, VIAS
    TOOLS = ALL_TOOLS
    wanted = [t for t in args.tools.split(",") if t]
    bad = [t for t in wanted if t not in TOOLS or t in BASE]
    if bad:
        sys.exit(f"throughput.py: --tools: unknown {', '.join(bad)} (ceiling, ph-chan, "
                 f"ph-relay, ssh)")
    if args.base:
        if not os.access(args.base, os.X_OK):
            fx.skip(f"--base {args.base} is not an executable")
        wanted += [b for b, like in BASE.items() if like in wanted]
    TOOLS = tuple(t for t in TOOLS if t in wanted)
    if args.compress:
        TOOLS = tuple(t for t in TOOLS if t != "ceiling")
        bl.SSH_CIPHER_ARGS.append("-C")

    ceiling = os.environ.get("CEILING",
                             os.path.join(bl.ROOT, "build-rel", "tests", "bench", "ceiling"))
    if "ceiling" in TOOLS and not os.access(ceiling, os.X_OK):
        fx.skip(f"ceiling program not found at {ceiling} (set CEILING)")
    fx.porthole_path()  # skips if missing
    mode = None
    if rtts:
        why = bl.netem_unavailable()
        if why is None:
            mode = "netem"
        elif args.relay_fallback:
            mode = "delay"
            print(f"# netem unavailable ({why}): every RTT through a userspace delay relay "
                  f"in front of a loopback sshd", flush=True)
        else:
            fx.skip(f"--rtt-ms needs netem ({why}); --relay-fallback: a userspace delay "
                    f"relay instead")

    def on_signal(signum, frame):
        raise SystemExit(f"killed by signal {signum}")  # the namespace is removed on the way

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    print(bl.machine_line())
    VIAS = bl.porthole_vias(TOOLS)
    BINARY.update({t: fx.porthole_path() for t in VIAS})
    if args.base:
        print(f"# base: {args.base} (tree {bl.tree_of(args.base)})", flush=True)
        for t, like in BASE.items():
            if t in TOOLS:
                v = bl.porthole_via_args(bl.VIAS[like], binary=args.base)
                if v is None:
                    print(f"# {t}: the --base porthole has no OpenVia: left out", flush=True)
                else:
                    VIAS[t], BINARY[t] = v, args.base
    TOOLS = tuple(t for t in TOOLS if t not in FORWARDERS or t == "ssh" or t in VIAS)
    print(f"# throughput: {args.bytes} bytes per transfer, {args.reps} rounds, "
          f"{bl.CIPHER} + {bl.MAC}, payload {args.payload}"
          f"{', compression (-C)' if args.compress else ''}", flush=True)

    if rtts is None:
        with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd, \
                bl.Server("bulk", args.bytes) as srv:
            raw_up, raw_down = raw(*srv.ports, args.bytes)
            print(f"  raw (no tunnel): up {raw_up:.0f} MiB/s, down {raw_down:.0f} MiB/s",
                  flush=True)
            b = scenario(args, sshd, srv, ceiling)
        summarize(b, f"raw server, no tunnel: up {raw_up:.0f} MiB/s, down {raw_down:.0f} MiB/s")
        return
    done = []
    for rtt_ms in rtts:
        done.append(delayed(args, rtt_ms, mode, ceiling))
    for b, line, heading in done:
        summarize(b, line, heading)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
