#!/usr/bin/env python3
"""Memory of porthole -L vs ssh -L holding many idle forwarded connections.

A server (benchlib `hold`, its own process) writes one byte on accept and keeps every
connection open. For each forwarder in turn (porthole, then ssh, on one throw-away sshd):
  1. start it, read VmRSS (idle, connected);
  2. open --conns connections through it, read the server's byte on each (so every
     connection is known to be forwarded end to end), read VmRSS;
  3. send one byte up on each, wait until the server has them all, read VmRSS;
  4. close them all, wait until the server saw every close, read VmRSS;
then VmHWM (peak RSS; never less than any VmRSS read). All from /proc/PID/status. Prints
both and the ratios porthole/ssh.

  tests/bench/memory.py [--conns N]

RLIMIT_NOFILE is raised here (sshd, the forwarders and the server inherit it). sshd's
MaxSessions and MaxStartups do not apply to direct-tcpip channels.
"""

import argparse
import socket
import sys
import time

import benchlib as bl
from benchlib import fx


def wait_for(pred, what, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() >= deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def kib(pid, key="VmRSS"):
    return bl.proc_status_kib(pid, key)


def measure(tool, fw, lport, srv, n):
    pid = fw.proc.pid
    r = {}
    time.sleep(0.5)
    r["idle"] = kib(pid)
    _, received0 = srv.ask()
    socks = []
    try:
        for _ in range(n):
            socks.append(socket.create_connection(("127.0.0.1", lport), timeout=60))
        for s in socks:
            if s.recv(1) != b"x":
                raise RuntimeError(f"{tool}: a connection did not carry the server's byte")
        wait_for(lambda: srv.ask()[0] == n, f"{n} connections at the server")
        time.sleep(0.5)
        r["open"] = kib(pid)
        for s in socks:
            s.send(b"y")
        wait_for(lambda: srv.ask()[1] - received0 == n, "one byte from each connection")
        time.sleep(0.5)
        r["used"] = kib(pid)
    finally:
        for s in socks:
            s.close()
    wait_for(lambda: srv.ask()[0] == 0, "every connection closed at the server")
    time.sleep(1.0)
    r["closed"] = kib(pid)
    # VmHWM is updated lazily by the kernel: never report it below an RSS we read.
    r["hwm"] = max(kib(pid, "VmHWM"), r["idle"], r["open"], r["used"], r["closed"])
    if not fw.alive():
        raise RuntimeError(f"{tool} died:\n{fw.stderr()}")
    print(f"  {tool:9} idle {r['idle']} KiB, {n} open {r['open']} KiB, after 1 byte up each "
          f"{r['used']} KiB, all closed {r['closed']} KiB, peak {r['hwm']} KiB", flush=True)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--conns", type=int, default=1000, help="connections held open")
    args = ap.parse_args()

    limit = bl.raise_nofile(max(4096, 4 * args.conns + 256))
    if limit < 2 * args.conns + 64:
        fx.skip(f"RLIMIT_NOFILE is {limit}: too low for {args.conns} connections")
    fx.porthole_path()
    print(bl.machine_line())
    print(f"# memory: {args.conns} idle forwarded connections (RLIMIT_NOFILE {limit})",
          flush=True)
    res = {}
    with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd, bl.Server("hold") as srv:
        target = srv.ports[0]
        for tool, make in (("porthole", bl.porthole_forwarder), ("ssh", bl.SshForwarder)):
            lport = fx.free_port()
            with make(sshd, ["-L", f"{lport}:127.0.0.1:{target}"]) as fw:
                res[tool] = measure(tool, fw, lport, srv, args.conns)

    n = args.conns
    print()
    print(f"{'tool':10} {'idle':>9} {'open':>9} {'used':>9} {'closed':>9} {'peak':>9}"
          f" {'per conn':>9}   (KiB; per conn = (used - idle) / {n})")
    for tool in ("porthole", "ssh"):
        r = res[tool]
        per = (r["used"] - r["idle"]) / n
        print(f"{tool:10} {r['idle']:9} {r['open']:9} {r['used']:9} {r['closed']:9} "
              f"{r['hwm']:9} {per:9.1f}")
    p, s = res["porthole"], res["ssh"]
    print(f"ratio porthole/ssh: RSS with {n} open {bl.ratio(p['used'], s['used']):.2f}, "
          f"peak {bl.ratio(p['hwm'], s['hwm']):.2f}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
