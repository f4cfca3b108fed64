#!/usr/bin/env python3
"""Interactive TCP beside bulk TCP on the same session: porthole vs `ssh -N -L`.

One throw-away sshd on loopback restricted to aes128-ctr + hmac-sha2-256. Each client (porthole,
`ssh -N -L`, and with --base a second porthole binary, e.g. a build of the tree before a
change) is ONE process carrying three forwards: to a TCP echo server, to a bulk source (sends
--bytes, then EOF) and to a bulk sink (reads to EOF). In rounds, the clients interleaved:

  idle      the probe: one TCP connection through the echo forward, a --size (64) byte request
            every --interval (10) ms, each answered by the echo server (the next request
            waits for the reply); round trips for --seconds;
  down      the same probe while --bytes are downloaded through the bulk source forward;
  up        the same probe while --bytes are uploaded through the bulk sink forward;
  alone     (porthole binaries only, with --base) the download and the upload with the probe
            paused: single-stream MiB/s, to compare the two binaries' throughput in one run.

The echo server is benchlib's `echo`. Unlike interactive_relay.py (one direction, issue 13's
relay streams), this one times the upload too, and carries a second porthole binary in the
same run: the before/after of issue 16's scheduler (tests/bench/README.md).

The probe runs in its own process (so the bulk client never holds it up), with TCP_NODELAY.
Prints p50/p99/max round trips, the p99 added by the bulk transfer (during minus idle), the
ratio lines (p99 during bulk / idle: the issue 16 target is at most 2; porthole against ssh),
and the bulk MiB/s during the probe. Percentiles are over every round's samples together.

Timing is never a pass/fail test.

  tests/bench/interactive.py [--bytes N] [--reps R] [--seconds S] [--interval MS] [--size B]
                             [--base PATH] [--via relay|channel | --reverse] [--rtt-ms MS]
                             [--rate-mbit N]
                             # defaults: 512 MiB, 3, 3 s, 10 ms, 64 B, porthole's default, 0

--rtt-ms MS puts benchlib's userspace delay relay (MS/2 each way; this machine has no netem)
between the clients and sshd: a long path, where a bulk transfer needs a window of its
bandwidth-delay product. The kernel then sees a loopback RTT on the SSH connection; porthole
also counts its channel opens' round trips through sshd (issue 16, session 19).

--reverse makes the three forwards -R ones (porthole and ssh both): sshd listens, the probe
and the transfers connect to it, and porthole (or ssh) connects to the servers. "down" is
then porthole sending (the bulk source is on its side), "up" porthole receiving through the
channel's receive window: the direction libssh2 kept at 2 MiB until
scripts/libssh2-patches/06-accept-window.patch (session 21). Not with --via (sshd opens -R
connections as channels).

--rate-mbit N makes that relay also a bottleneck of N Mbit/s each way with a deep buffer
(benchlib's `delay` relay queues what arrives faster, without limit): a slow last hop, a
family's DSL line, where whatever a sender keeps in flight beyond the path's
bandwidth-delay product queues ahead of every small request.

--via relay runs porthole (and --base) with `-o OpenVia=relay -o RelayCommand=<$PORTHOLE>
relay`: the three forwards' connections are TCP streams of the relay channel (issue 13), so
this measures the relay's fair sharing (both directions) against ssh -L's channels; --via
channel forces direct-tcpip channels. The run prints how porthole status says the
connections went.

$PORTHOLE is the porthole binary (default build-rel/porthole).
"""

import argparse
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time

import benchlib as bl
from benchlib import fx
from throughput import client_down, client_up


# ---------------------------------------------------------------- the probe


def probe(port, size, interval_ms):
    """Round trips until stdin ends. Each stdin line "go" starts a fresh count; "report"
    prints the round trips (microseconds) counted since, on one line; "pause" stops sending
    until the next "go" (so that a transfer can run alone)."""
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    req = b"q" * size
    samples, lock, stop, running = [], threading.Lock(), threading.Event(), threading.Event()
    counting = [False]
    running.set()

    def run():
        period = interval_ms / 1000.0
        due = time.monotonic()
        while not stop.is_set():
            if not running.is_set():
                running.wait()
                due = time.monotonic()
            t0 = time.monotonic()
            s.sendall(req)
            got = 0
            while got < size:
                b = s.recv(size - got)
                if not b:
                    return
                got += len(b)
            rtt = time.monotonic() - t0
            with lock:
                if counting[0]:
                    samples.append(rtt * 1e6)
            due += period
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            else:
                due = time.monotonic()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        with lock:
            if cmd == "go":
                samples.clear()
                counting[0] = True
                running.set()
            elif cmd == "pause":
                counting[0] = False
                running.clear()
            elif cmd == "report":
                counting[0] = False
                print(" ".join(f"{x:.1f}" for x in samples), flush=True)
    stop.set()


class Probe:
    def __init__(self, port, size, interval_ms):
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "probe",
                                      str(port), str(size), str(interval_ms)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        fx._children.append(self.proc)
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("probe did not start")
        time.sleep(0.2)  # the first round trips open the channel

    def go(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def pause(self):
        self.proc.stdin.write("pause\n")
        self.proc.stdin.flush()
        time.sleep(0.6)  # longer than porthole's INTERACTIVE_HOLD_MS: the session is quiet

    def report(self):
        self.proc.stdin.write("report\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        return [float(x) for x in line.split()]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()
            try:
                self.proc.wait(2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------- the bench


def stats(xs):
    if not xs:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {"n": len(xs), "p50": bl.percentile(xs, 50), "p99": bl.percentile(xs, 99),
            "max": max(xs)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bytes", type=int, default=512 * bl.MIB, help="bytes per bulk transfer")
    ap.add_argument("--reps", type=int, default=3, help="rounds over the clients")
    ap.add_argument("--seconds", type=float, default=3.0, help="idle probe per round")
    ap.add_argument("--interval", type=float, default=10.0, help="ms between requests")
    ap.add_argument("--size", type=int, default=64, help="request (and reply) bytes")
    ap.add_argument("--base", help="a second porthole binary measured alongside ('base')")
    ap.add_argument("--no-ssh", action="store_true", help="leave ssh -L out")
    ap.add_argument("--rtt-ms", type=float, default=0.0,
                    help="added round trip between the clients and sshd (delay relay)")
    ap.add_argument("--rate-mbit", type=float, default=0.0,
                    help="the delay relay also a bottleneck of this many Mbit/s each way")
    ap.add_argument("--reverse", action="store_true",
                    help="the three forwards as -R (sshd listens; porthole connects)")
    ap.add_argument("--via", choices=("relay", "channel"),
                    help="porthole's OpenVia (relay: through this porthole's relay)")
    args = ap.parse_args()

    fx.porthole_path()  # skips if missing
    if args.base and not os.access(args.base, os.X_OK):
        fx.skip(f"--base {args.base} is not an executable")
    print(bl.machine_line())
    if args.base:
        print(f"# base: {args.base}")
    via_args = []
    if args.reverse and args.via:
        fx.skip("--reverse: -R connections are channels sshd opens; --via does not apply")
    if args.via:
        via_args = bl.porthole_via_args(args.via)
        if via_args is None:
            fx.skip(f"--via {args.via}: this porthole has no OpenVia")
        print(f"# porthole with {' '.join(via_args)}")
    base_via_args = via_args
    if args.base and args.via:
        # The base may predate OpenVia (the tree before issue 13): it then only has channels.
        base_via_args = [a.replace(fx.porthole_path(), args.base) for a in via_args]
        r = subprocess.run([args.base, *base_via_args, "check", "127.0.0.1"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            if args.via != "channel":
                fx.skip(f"--via {args.via}: the --base porthole has no OpenVia")
            base_via_args = []
        print(f"# base with {' '.join(base_via_args) or 'its default (channels)'}")
    print(f"# interactive: {args.size}-byte request/response every {args.interval:g} ms, idle "
          f"{args.seconds:g} s, bulk {args.bytes // bl.MIB} MiB down and up, {args.reps} "
          f"round(s); {bl.CIPHER} + {bl.MAC}", flush=True)

    tools = ["porthole"] + (["base"] if args.base else []) + ([] if args.no_ssh else ["ssh"])
    res = {}  # (tool, when) -> [round trip us]
    mib = {}  # (tool, when) -> [MiB/s]
    with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd, \
            bl.Server("bulk", args.bytes) as srv, bl.Server("echo") as echo, \
            contextlib.ExitStack() as stack:
        sink, source = srv.ports
        eport = echo.ports[0]
        fws, probes, ports = {}, {}, {}
        path = {}  # the forwarders' port and known_hosts: sshd's, or the delay relay's
        if args.rtt_ms > 0 or args.rate_mbit > 0:
            relay = stack.enter_context(bl.Server("delay", sshd.port, args.rtt_ms / 2,
                                                  args.rate_mbit))
            rport = relay.ports[0]
            path = {"port": rport, "known_hosts": sshd.write_known_hosts(
                "known_hosts.relay", [f"[{sshd.host}]:{rport} {line}"
                                      for line in sshd.hostkey_pubs])}
            print(f"# delay relay: {args.rtt_ms / 2:g} ms each way in front of sshd"
                  + (f", a {args.rate_mbit:g} Mbit/s bottleneck each way (deep buffer)"
                     if args.rate_mbit > 0 else ""), flush=True)
        try:
            for tool in tools:
                ports[tool] = {k: fx.free_port() for k in ("echo", "down", "up")}
                flag = "-R" if args.reverse else "-L"
                fa = [flag, f"{ports[tool]['echo']}:127.0.0.1:{eport}",
                      flag, f"{ports[tool]['down']}:127.0.0.1:{source}",
                      flag, f"{ports[tool]['up']}:127.0.0.1:{sink}"]
                if tool == "ssh":
                    fws[tool] = bl.SshForwarder(sshd, fa, **path)
                else:
                    extra = base_via_args if tool == "base" else via_args
                    fw = bl.porthole_forwarder(sshd, fa, start=False, extra_args=extra, **path)
                    if tool == "base":
                        fw.argv[0] = args.base
                    fws[tool] = fw.start()
                for port in ports[tool].values():
                    fx.wait_port(port)  # -R: sshd listens once the forward is granted
                probes[tool] = Probe(ports[tool]["echo"], args.size, args.interval)
            for r in range(args.reps):
                print(f"# round {r + 1}", flush=True)
                for tool in tools:
                    p = probes[tool]
                    p.go()
                    time.sleep(args.seconds)
                    idle = p.report()
                    res.setdefault((tool, "idle"), []).extend(idle)
                    line = f"  {tool:8} idle p99 {stats(idle)['p99']:8.0f} us"
                    for when, fn in (("down", client_down), ("up", client_up)):
                        p.go()
                        dt = fn(ports[tool][when], args.bytes)
                        xs = p.report()
                        res.setdefault((tool, when), []).extend(xs)
                        mib.setdefault((tool, when), []).append(args.bytes / bl.MIB / dt)
                        line += (f"; {when} {args.bytes / bl.MIB / dt:5.0f} MiB/s p99 "
                                 f"{stats(xs)['p99']:8.0f} us (n {len(xs)})")
                    print(line, flush=True)
                if args.base:
                    for tool in ("porthole", "base"):
                        probes[tool].pause()
                        line = f"  {tool:8} alone"
                        for when, fn in (("down", client_down), ("up", client_up)):
                            dt = fn(ports[tool][when], args.bytes)
                            mib.setdefault((tool, when + " alone"), []).append(
                                args.bytes / bl.MIB / dt)
                            line += f"; {when} {args.bytes / bl.MIB / dt:5.0f} MiB/s"
                        print(line, flush=True)
            for tool, fw in fws.items():
                if not fw.alive():
                    raise RuntimeError(f"{tool} died during the run")
                if tool != "ssh":
                    bl.report_via(tool, fw)
        finally:
            for p in probes.values():
                p.close()
            for fw in fws.values():
                fw.stop()

    print()
    print(f"{args.size}-byte request/response every {args.interval:g} ms through one forward, "
          f"beside a {args.bytes // bl.MIB} MiB transfer through another forward of the same "
          f"process; percentiles over all {args.reps} rounds' round trips; added = p99 during "
          f"minus idle p99")
    print(f"{'client':8} {'when':5} {'n':>6} {'p50 us':>8} {'p99 us':>8} {'max us':>9} "
          f"{'added p99':>9} {'p99/idle':>8} {'MiB/s':>7}")
    st = {k: stats(v) for k, v in res.items()}
    for tool in tools:
        i = st[(tool, "idle")]
        for when in ("idle", "down", "up"):
            m = st[(tool, when)]
            added = "-" if when == "idle" else f"{(m['p99'] - i['p99']):.0f}"
            rat = "-" if when == "idle" else f"{bl.ratio(m['p99'], i['p99']):.1f}"
            rate = "-" if when == "idle" else f"{bl.median(mib[(tool, when)]):.0f}"
            print(f"{tool:8} {when:5} {m['n']:6} {m['p50']:8.0f} {m['p99']:8.0f} "
                  f"{m['max']:9.0f} {added:>9} {rat:>8} {rate:>7}")
    for tool in tools:
        for when in ("down", "up"):
            print(f"ratio {tool} p99 during bulk {when} / idle: "
                  f"{bl.ratio(st[(tool, when)]['p99'], st[(tool, 'idle')]['p99']):.1f}"
                  f"{' (target <= 2)' if tool == 'porthole' else ''}")
    if "ssh" in tools:
        for when in ("idle", "down", "up"):
            print(f"ratio porthole/ssh p99 {when}: "
                  f"{bl.ratio(st[('porthole', when)]['p99'], st[('ssh', when)]['p99']):.2f}")
    if args.base:
        for when in ("down", "up"):
            a = bl.median(mib[("porthole", when + " alone")])
            b = bl.median(mib[("base", when + " alone")])
            print(f"ratio porthole/base single-stream MiB/s {when}: {bl.ratio(a, b):.2f} "
                  f"({a:.0f} vs {b:.0f}; target >= 0.95)")


if __name__ == "__main__":
    try:
        if len(sys.argv) >= 5 and sys.argv[1] == "probe":
            probe(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
        else:
            main()
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(130)
