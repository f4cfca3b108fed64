#!/usr/bin/env python3
"""A burst of SOCKS5 connections through porthole -D vs ssh -D: time until all are served.

--conns (default 100) SOCKS5 clients connect at once, each: greeting, CONNECT to an
HTTP-ish server behind the jump host (benchlib `http`: answers a short response as soon as
it has read the request), then a one-line request. Measured per burst: the time from the
first connect() until every client has the first byte of its response ("all"), and per
connection the time from its connect() to that byte (p50, p99 pooled over the bursts).
porthole -D and ssh -D run side by side on one throw-away sshd and take turns, in
alternating order, --reps bursts each; ratios porthole/ssh are printed at the end.

porthole runs twice (issue 13): "ph-chan" opens a direct-tcpip channel per connection
(`-o OpenVia=channel`, what porthole did before), "ph-relay" a TCP stream through
`porthole relay` on the server (`-o OpenVia=relay -o RelayCommand=<this porthole> relay`):
no channel open, the SOCKS reply and the request leave at once. A build without OpenVia
has only the first (labelled so).

Two scenarios:
  loopback  sshd, target server and forwarders all on 127.0.0.1; "direct" (no proxy, the
            same requests straight to the server) is the floor.
  netem     RTT --rtt-ms (default 20; a list such as 20,40 runs one scenario per RTT)
            between the forwarders and the jump host: a network
            namespace phb-jump-PID joined to this one by a veth pair on 10.203.0.0/30
            (10.203.0.1 here, 10.203.0.2 in the namespace), `tc netem delay RTT/2` on both
            ends; sshd (ListenAddress 10.203.0.2) and the target server run inside the
            namespace (--rtt-ms 0: the same without netem, labelled "netns"). Needs root,
            iproute2 and sch_netem; the namespace and the veth pair
            are removed on exit, on SIGINT/SIGTERM/SIGHUP and on the watchdog (--budget).
            Without netem the scenario is skipped (loopback only), unless --relay-fallback:
            then the same RTT comes from a userspace relay in front of a loopback sshd
            (benchlib `delay`: each chunk held RTT/2 in each direction, TCP ends on both sides
            of it; labelled "delay", not netem). Each delayed scenario also has a "direct"
            row: the burst straight to the target through such a delay relay, the
            one-RTT floor.

porthole opens channels one at a time (libssh2 keeps one open in flight per session), so
with RTT r a burst of n takes about n*r through porthole and a few r through ssh. A third
row, "ph xN" (--lanes N, default 4; 0 leaves it out), is N porthole processes, each its own
SSH session, taking the connections of a burst in turn: what N sessions ("lanes") per
profile would give, about n/N*r.

  tests/bench/socks_burst.py [--conns N] [--reps R] [--rtt-ms MS[,MS...]] [--lanes N]
                             [--loopback-only] [--relay-fallback] [--budget S]
"""

import argparse
import errno
import os
import selectors
import signal
import socket
import struct
import sys
import time

import benchlib as bl
from benchlib import fx

TARGET = "127.0.0.1"  # as the jump host sees the target server
REQUEST = b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n"
BURST_TIMEOUT = 20.0
WARMUP_CONNS = 10
PAUSE = 0.3  # seconds between bursts, for the last channels to close


class Budget(Exception):
    pass


# ---------------------------------------------------------------- the burst client


class Conn:
    __slots__ = ("sock", "state", "buf", "need", "t0", "t_open", "t_first", "error")


def burst(proxy_ports, target_port, n, socks=True, timeout=BURST_TIMEOUT):
    """n clients at once through the SOCKS5 proxies on 127.0.0.1:proxy_ports, connection i
    through proxy_ports[i % len] (or, socks=False, straight to 127.0.0.1:target_port).
    Returns (all_s, [per-connection s], [open s], [errors])."""
    sel = selectors.DefaultSelector()
    conns = []
    start = time.perf_counter()
    for i in range(n):
        c = Conn()
        c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setblocking(False)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.buf, c.need, c.t_open, c.t_first, c.error = b"", 0, None, None, None
        c.t0 = time.perf_counter()
        port = proxy_ports[i % len(proxy_ports)] if socks else target_port
        rc = c.sock.connect_ex(("127.0.0.1", port))
        if rc not in (0, errno.EINPROGRESS):
            c.error = os.strerror(rc)
            c.sock.close()
        else:
            c.state = "connecting"
            sel.register(c.sock, selectors.EVENT_WRITE, c)
        conns.append(c)
    pending = sum(1 for c in conns if c.error is None)
    deadline = start + timeout

    def finish(c, error=None):
        nonlocal pending
        c.error = error
        sel.unregister(c.sock)
        c.sock.close()
        pending -= 1

    while pending:
        left = deadline - time.perf_counter()
        if left <= 0:
            break
        for key, _ in sel.select(left):
            c = key.data
            try:
                if c.state == "connecting":
                    err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err:
                        finish(c, os.strerror(err))
                        continue
                    if socks:
                        c.sock.send(b"\x05\x01\x00")
                        c.state, c.need = "method", 2
                    else:
                        c.sock.send(REQUEST)
                        c.state, c.need = "response", 1
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                    continue
                data = c.sock.recv(4096)
                if not data:
                    finish(c, f"EOF in state {c.state}")
                    continue
                now = time.perf_counter()
                c.buf += data
                while c.buf and len(c.buf) >= c.need and c.state != "done":
                    if c.state == "method":
                        if c.buf[:2] != b"\x05\x00":
                            raise ValueError(f"method reply {c.buf[:2]!r}")
                        c.buf = c.buf[2:]
                        c.sock.send(b"\x05\x01\x00\x01" + socket.inet_aton(TARGET) +
                                    struct.pack(">H", target_port))
                        c.state, c.need = "reply", 5
                    elif c.state == "reply":
                        if c.buf[1] != 0:
                            raise ValueError(f"SOCKS reply code {c.buf[1]}")
                        atyp = c.buf[3]
                        size = {1: 10, 4: 22, 3: 7 + c.buf[4]}.get(atyp)
                        if size is None:
                            raise ValueError(f"SOCKS reply ATYP {atyp}")
                        if len(c.buf) < size:
                            c.need = size
                            break
                        c.buf = c.buf[size:]
                        c.t_open = now
                        c.sock.send(REQUEST)
                        c.state, c.need = "response", 1
                    elif c.state == "response":
                        c.t_first = now
                        c.state = "done"
                if c.state == "done":
                    finish(c)
            except (OSError, ValueError) as e:
                finish(c, repr(e))
    for key in list(sel.get_map().values()):
        key.data.error = key.data.error or f"no response in {timeout} s ({key.data.state})"
        key.fileobj.close()
    sel.close()
    ok = [c for c in conns if c.error is None and c.t_first is not None]
    failed = [c.error for c in conns if c not in ok]
    all_s = max(c.t_first for c in ok) - start if ok and not failed else float("nan")
    return (all_s, [c.t_first - c.t0 for c in ok],
            [c.t_open - c.t0 for c in ok if c.t_open is not None], failed)


# ---------------------------------------------------------------- the delayed jump host
# (benchlib.DelayedPath: a netem namespace or the userspace delay relay)


def relay_rtt_ms(port, n=7):
    """Median ms from connect() to the first response byte of the http server behind a delay
    relay on port: one round trip through the relay (its upstream connect overlaps the
    request's delay)."""
    xs = []
    for _ in range(n):
        t0 = time.perf_counter()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(REQUEST)
            if not s.recv(1):
                raise RuntimeError("delay relay: no response")
            xs.append((time.perf_counter() - t0) * 1000)
    return bl.median(xs)


# ---------------------------------------------------------------- one scenario


def porthole_tools(lanes):
    """{tool: (process count, porthole -o args)} for this build: ph-chan, ph-relay (if it
    has OpenVia), and with lanes > 1 "ph xN" (N channel porthole processes, separate SSH
    sessions that share each burst round-robin)."""
    out = {tool: (1, args) for tool, args in bl.porthole_vias().items()}
    if lanes > 1:
        out[f"ph x{lanes}"] = (lanes, out["ph-chan"][1])
    return out


def start_forwarders(sshd, tools, port=None, known_hosts=None):
    """The porthole -D of `tools` (porthole_tools) and ssh -D, on free local ports.
    Returns {tool: [(forwarder, port), ...]}, ssh second."""
    out = {}
    kw = dict(port=port, known_hosts=known_hosts)
    order = list(tools)
    order.insert(1, "ssh")
    for tool in order:
        count, extra = tools.get(tool, (1, []))
        out[tool] = []
        for _ in range(count):
            p = fx.free_port()
            args = ["-D", f"127.0.0.1:{p}"]
            fw = (bl.SshForwarder(sshd, args, **kw) if tool == "ssh"
                  else bl.porthole_forwarder(sshd, args, extra_args=extra, **kw))
            out[tool].append((fw, p))
            if not fx.wait_listening(p, 10):
                raise RuntimeError(f"{tool} -D {p} not listening:\n{fw.stderr()}")
    return out


def stop_forwarders(fwds):
    for lst in fwds.values():
        for fw, _ in lst:
            if fw.proc is not None:
                fw.stop()


def run_scenario(label, fwds, target_port, args, direct=None):
    """Warm up, then --reps bursts per tool in alternating order. Returns results per tool.
    direct: a port that serves the requests without a proxy (the target itself, or a delay
    relay in front of it), measured as one more tool "direct"."""
    tools = list(fwds) + (["direct"] if direct else [])
    res = {t: {"all": [], "lat": [], "open": [], "failed": 0, "errors": []} for t in tools}

    def one(tool, n, record=True):
        if tool == "direct":
            r = burst(0, direct, n, socks=False)
        else:
            r = burst([p for _, p in fwds[tool]], target_port, n)
        all_s, lat, opens, failed = r
        if record:
            d = res[tool]
            d["all"].append(all_s)
            d["lat"] += lat
            d["open"] += opens
            d["failed"] += len(failed)
            d["errors"] += failed[:3]
            print(f"  {label:9} {tool:9} all {all_s * 1000:8.1f} ms   p50 "
                  f"{bl.percentile(lat, 50) * 1000 if lat else float('nan'):8.1f} ms   "
                  f"failed {len(failed)}", flush=True)
        time.sleep(PAUSE)

    for tool in tools:
        one(tool, WARMUP_CONNS, record=False)
    for rep in range(args.reps):
        for tool in (tools if rep % 2 == 0 else tools[::-1]):
            one(tool, args.conns)
    for tool, lst in fwds.items():
        for fw, _ in lst:
            if not fw.alive():
                raise RuntimeError(f"{tool} died:\n{fw.stderr()}")
        if tool in bl.VIAS:
            bl.report_via(f"{label} {tool}", lst[0][0])
    return res


def summarize(label, res, rtt_ms=None):
    rows = {}
    for tool, d in res.items():
        lat = [x * 1000 for x in d["lat"]]
        opens = [x * 1000 for x in d["open"]]
        alls = [x * 1000 for x in d["all"]]
        rows[tool] = dict(
            all_med=bl.median(alls), all_min=min(alls), all_max=max(alls),
            p50=bl.percentile(lat, 50) if lat else float("nan"),
            p99=bl.percentile(lat, 99) if lat else float("nan"),
            open_p50=bl.percentile(opens, 50) if opens else float("nan"),
            failed=d["failed"], errors=d["errors"])
    for tool, r in rows.items():
        extra = ""
        if rtt_ms:
            extra = f" {r['all_med'] / rtt_ms:7.1f}"
        print(f"{label:9} {tool:9} {r['all_med']:9.1f} {r['all_min']:9.1f} {r['all_max']:9.1f}"
              f" {r['p50']:8.1f} {r['p99']:8.1f} {r['open_p50']:9.1f} {r['failed']:6}{extra}")
        for e in r["errors"]:
            print(f"  {tool} error: {e}")
    return rows


HEADER = (f"{'scenario':9} {'tool':9} {'all med':>9} {'all min':>9} {'all max':>9} "
          f"{'p50':>8} {'p99':>8} {'open p50':>9} {'failed':>6}")


def delayed_scenario(args, rtt_ms, tools):
    """One delayed scenario (netem, or without it the delay relay when --relay-fallback).
    Returns (label, results, measured RTT ms), or None if it cannot run here."""
    try:
        path = bl.DelayedPath(rtt_ms, fallback=args.relay_fallback)
        path.__enter__()
    except bl.DelayedPath.Unavailable:
        print("# falling back to loopback only (--relay-fallback: a userspace "
              "delay relay instead)", flush=True)
        return None
    try:
        label, sshd = path.label, path.sshd
        srv = path.server("http")
        if path.relay is None:
            rtt = bl.tcp_rtt_ms(path.ssh_host, path.ssh_port)
            print(f"# {label}: TCP connect to the jump host {rtt:.1f} ms (nominal RTT "
                  f"{rtt_ms:g} ms)", flush=True)
            direct = None
        else:
            direct = path.near(srv.ports[0])
            rtt = relay_rtt_ms(direct)
            print(f"# {label}: a request through a second such relay is answered after "
                  f"{rtt:.1f} ms (nominal RTT {rtt_ms:g} ms; the rest is the "
                  f"relay's own cost)", flush=True)
        fwds = start_forwarders(sshd, tools, **path.fwd_kw)
        try:
            res = run_scenario(label, fwds, srv.ports[0], args, direct=direct)
        finally:
            stop_forwarders(fwds)
        return label, res, (rtt if rtt_ms or path.relay is not None else None)
    finally:
        path.__exit__(None, None, None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conns", type=int, default=100, help="connections per burst")
    ap.add_argument("--reps", type=int, default=5, help="bursts per tool and scenario")
    ap.add_argument("--rtt-ms", default="20",
                    help="added round-trip time(s), comma-separated: one scenario each")
    ap.add_argument("--loopback-only", action="store_true", help="skip the delayed scenarios")
    ap.add_argument("--relay-fallback", action="store_true",
                    help="without netem, delay through a userspace relay instead")
    ap.add_argument("--lanes", type=int, default=4,
                    help="also N porthole processes sharing each burst (0: not)")
    ap.add_argument("--budget", type=int, default=0,
                    help="watchdog, seconds (default: 170 per scenario)")
    args = ap.parse_args()
    rtts = [float(x) for x in args.rtt_ms.split(",") if x.strip()]
    if not args.budget:
        args.budget = 170 * (1 + (0 if args.loopback_only else len(rtts)))

    fx.porthole_path()
    bl.raise_nofile(4 * args.conns + 1024)

    def on_signal(signum, frame):
        raise SystemExit(f"killed by signal {signum}")

    def on_alarm(signum, frame):
        raise Budget(f"over the {args.budget} s budget")

    def on_int(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGINT, on_int)  # even when started with SIGINT ignored (`cmd &`)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(args.budget)

    print(bl.machine_line())
    print(f"# socks_burst: {args.conns} SOCKS5 connections at once, {args.reps} bursts per tool "
          f"and scenario; times in ms from connect() to the first response byte; "
          f"'all' = until every connection has it", flush=True)
    tools = porthole_tools(args.lanes)
    summary = {}
    try:
        # ------------------------------------------------ loopback
        with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd, bl.Server("http") as srv:
            fwds = start_forwarders(sshd, tools)
            try:
                summary["loopback"] = (run_scenario("loopback", fwds, srv.ports[0], args,
                                                    direct=srv.ports[0]), None)
            finally:
                stop_forwarders(fwds)

        # ------------------------------------------------ delayed
        for rtt_ms in ([] if args.loopback_only else rtts):
            r = delayed_scenario(args, rtt_ms, tools)
            if r is None:
                break
            label, res, rtt = r
            summary[label] = (res, rtt)
    finally:
        signal.alarm(0)

    print()
    print("all = until every connection of a burst has its first byte (median, min, max of the "
          "bursts); p50/p99 per connection over all bursts; open = connect() to the SOCKS "
          "reply; ms; all/RTT in the measured RTT of the scenario")
    extra = f" {'all/RTT':>7}"
    print(HEADER + extra)
    rows = {}
    for label, (res, rtt) in summary.items():
        rows[label] = summarize(label, res, rtt)
    for label, r in rows.items():
        rtt = summary[label][1]
        s = r["ssh"]
        for tool in (t for t in r if t not in ("ssh", "direct")):
            p = r[tool]
            name = tool.replace(" ", "")
            print(f"ratio {name}/ssh, {label}: all {bl.ratio(p['all_med'], s['all_med']):.2f}, "
                  f"p50 {bl.ratio(p['p50'], s['p50']):.2f}, "
                  f"p99 {bl.ratio(p['p99'], s['p99']):.2f}"
                  + (f"; {name} - ssh = {p['all_med'] - s['all_med']:.0f} ms"
                     f" = {(p['all_med'] - s['all_med']) / rtt:.1f} RTT" if rtt else ""))
    print("targets (issue 13), ph-relay against ssh -D at 22 ms: all <= 1.2, p99 <= 1.0")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
    except Budget as e:
        sys.exit(f"socks_burst: {e}")
