#!/usr/bin/env python3
"""Jump hosts: porthole -J against ssh -J, through 0, 1 and 2 hops.

Three throw-away sshds on 127.0.0.1, 127.0.0.2 and 127.0.0.3, each offering only the
benchmark's cipher and MAC (benchlib), so every hop of either client uses the same ones;
the destination is the last, the hops the ones before it. porthole runs every hop in its
one process (`-J a,b`); ssh runs one `ssh -W` process per hop (`-J a,b`, OpenSSH's own
jump), given an ssh_config file with the hops' keys and known hosts.

Two measurements, interleaved over the tools and hop counts:

  throughput  one forwarded connection moves --bytes up and then down (benchlib `bulk`),
              --reps rounds; median MiB/s per hop count and tool, ratio porthole/ssh, and
              CPU seconds per GiB of the client side (porthole; ssh plus its ssh -W
              children).
  connect     --count times: start the client, then connect to its -L port until one byte
              comes back from the `reply` server through every hop; p50/p99 ms per hop
              count and tool. porthole listens before its session is up (the connection
              waits for it); ssh listens once authenticated (the client retries every 5 ms).

  tests/bench/jump.py [--bytes N] [--reps R] [--count N] [--cipher NAME]

$PORTHOLE is the porthole binary (default build-rel/porthole).
"""

import argparse
import os
import socket
import subprocess
import sys
import time

import benchlib as bl
from benchlib import fx

HOPS = (0, 1, 2)
TOOLS = ("porthole", "ssh")


class Chain:
    def __init__(self):
        extra = bl.SSHD_CIPHER_CONFIG
        self.c = fx.Sshd(host="127.0.0.3", extra_config=extra).__enter__()
        self.b = fx.Sshd(host="127.0.0.2", extra_config=extra).__enter__()
        self.a = fx.Sshd(host="127.0.0.1", extra_config=extra).__enter__()
        self.sshds = (self.a, self.b, self.c)
        self.key = self.a.client_key
        for s in (self.b, self.c):
            s.add_client_key(self.key + ".pub")
        lines = []
        for s in self.sshds:
            with open(s.known_hosts) as f:
                lines += f.read().splitlines()
        self.known_hosts = self.c.write_known_hosts("known_hosts.chain", lines)
        self.user = self.c.user
        self.ssh_config = os.path.join(self.c.dir, "ssh_config.bench")
        with open(self.ssh_config, "w") as f:
            f.write(f"Host *\n  IdentityFile {self.key}\n  IdentitiesOnly yes\n"
                    f"  BatchMode yes\n  UserKnownHostsFile {self.known_hosts}\n"
                    f"  StrictHostKeyChecking yes\n  User {self.user}\n")
            for name, s in (("hopa", self.a), ("hopb", self.b), ("dest", self.c)):
                f.write(f"Host {name}\n  HostName {s.host}\n  Port {s.port}\n")

    def close(self):
        for s in self.sshds:
            s.__exit__(None, None, None)

    def argv(self, tool, hops, forwards):
        if tool == "ssh":
            jump = ["-J", ",".join(["hopa", "hopb"][:hops])] if hops else []
            return ["ssh", "-N", "-F", self.ssh_config, *bl.SSH_CIPHER_ARGS, *jump,
                    "-o", "ExitOnForwardFailure=yes", *forwards, "dest"]
        names = [f"{self.user}@{s.host}:{s.port}" for s in (self.a, self.b)][:hops]
        jump = ["-J", ",".join(names)] if hops else []
        return [fx.porthole_path(), "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-i", self.key,
                *bl.SSH_CIPHER_ARGS, *jump, "-p", str(self.c.port), *forwards,
                f"{self.user}@{self.c.host}"]


def spawn(chain, argv):
    return subprocess.Popen(argv, env=fx.child_env(chain.c), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(p):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def first_reply(port, deadline):
    """Connect to port until one byte comes back; seconds waited, or None."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.send(b"?")
                if s.recv(1) == b"x":
                    return True
        except OSError:
            pass
        time.sleep(0.005)
    return False


def connect_once(chain, tool, hops, target):
    port = fx.free_port()
    t0 = time.monotonic()
    p = spawn(chain, chain.argv(tool, hops, ["-L", f"{port}:127.0.0.1:{target}"]))
    try:
        ok = first_reply(port, t0 + 20)
        return time.monotonic() - t0 if ok else None
    finally:
        stop(p)


def client_cpu(pid):
    return bl.proc_cpu(pid) + sum(bl.proc_cpu(k) for k in bl._descendants(pid))


def throughput(chain, args, sink, source):
    from throughput import client_down, client_up
    procs, ports = {}, {}
    for hops in HOPS:
        for tool in TOOLS:
            up, down = fx.free_port(), fx.free_port()
            ports[(hops, tool)] = (up, down)
            procs[(hops, tool)] = spawn(chain, chain.argv(
                tool, hops, ["-L", f"{up}:127.0.0.1:{sink}", "-L", f"{down}:127.0.0.1:{source}"]))
    res = {(h, t, d): [] for h in HOPS for t in TOOLS for d in ("up", "down")}
    cpu = {k: [] for k in res}
    try:
        for (hops, tool), (up, down) in ports.items():
            if not first_reply_bulk(up, time.monotonic() + 30):
                raise RuntimeError(f"{tool} through {hops} hops never came up")
        for r in range(args.reps):
            print(f"# throughput round {r + 1}", flush=True)
            for hops in HOPS:
                for tool in TOOLS:
                    up, down = ports[(hops, tool)]
                    pid = procs[(hops, tool)].pid
                    for d, fn, port in (("up", client_up, up), ("down", client_down, down)):
                        c0 = client_cpu(pid)
                        dt = fn(port, args.bytes)
                        c1 = client_cpu(pid)
                        mibps = args.bytes / bl.MIB / dt
                        res[(hops, tool, d)].append(mibps)
                        cpu[(hops, tool, d)].append((c1 - c0) / (args.bytes / (1 << 30)))
                        print(f"  {hops} hops {tool:8} {d:4} {mibps:8.1f} MiB/s  client CPU "
                              f"{c1 - c0:5.2f} s", flush=True)
    finally:
        for p in procs.values():
            stop(p)
    return res, cpu


def first_reply_bulk(port, deadline):
    """The bulk sink's port answers once the forward is up (a zero-byte upload)."""
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.shutdown(socket.SHUT_WR)
                if len(fx.recv_all(s, 8)) == 8:
                    return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bytes", type=int, default=256 * bl.MIB, help="bytes per transfer")
    ap.add_argument("--reps", type=int, default=3, help="throughput rounds")
    ap.add_argument("--count", type=int, default=20, help="connects per hop count and tool")
    ap.add_argument("--cipher", default=bl.CIPHER, help="the cipher every hop uses")
    args = ap.parse_args()
    bl.use_cipher(args.cipher)
    fx.porthole_path()
    print(bl.machine_line())
    print(f"# jump: {args.bytes} bytes per transfer, {args.reps} rounds, {args.count} "
          f"connects; {bl.CIPHER} + {bl.MAC} on every hop", flush=True)
    chain = Chain()
    try:
        with bl.Server("bulk", args.bytes) as bulk, bl.Server("reply") as reply:
            sink, source = bulk.ports
            times = {(h, t): [] for h in HOPS for t in TOOLS}
            failed = {k: 0 for k in times}
            for i in range(args.count):
                for hops in HOPS:
                    for tool in TOOLS:
                        dt = connect_once(chain, tool, hops, reply.ports[0])
                        if dt is None:
                            failed[(hops, tool)] += 1
                        else:
                            times[(hops, tool)].append(dt)
            res, cpu = throughput(chain, args, sink, source)
    finally:
        chain.close()

    print()
    print("connect: start to first reply byte through the forward, ms")
    print(f"{'hops':>4} {'tool':9} {'p50':>7} {'p99':>7} {'failed':>6}")
    for h in HOPS:
        for t in TOOLS:
            ms = [x * 1000 for x in times[(h, t)]] or [float("nan")]
            print(f"{h:4} {t:9} {bl.percentile(ms, 50):7.1f} {bl.percentile(ms, 99):7.1f} "
                  f"{failed[(h, t)]:6}")
        p, s = times[(h, "porthole")], times[(h, "ssh")]
        if p and s:
            r = bl.ratio(bl.percentile(p, 50), bl.percentile(s, 50))
            print(f"ratio porthole/ssh, {h} hops: connect p50 {r:.2f}")
    print()
    print("throughput: one connection, median MiB/s (client CPU s/GiB)")
    print(f"{'hops':>4} {'tool':9} {'up':>8} {'down':>8}   {'cpu up':>7} {'cpu down':>8}")
    for h in HOPS:
        for t in TOOLS:
            print(f"{h:4} {t:9} {bl.median(res[(h, t, 'up')]):8.1f} "
                  f"{bl.median(res[(h, t, 'down')]):8.1f}   {bl.median(cpu[(h, t, 'up')]):7.2f} "
                  f"{bl.median(cpu[(h, t, 'down')]):8.2f}")
        up = bl.ratio(bl.median(res[(h, "porthole", "up")]), bl.median(res[(h, "ssh", "up")]))
        down = bl.ratio(bl.median(res[(h, "porthole", "down")]),
                        bl.median(res[(h, "ssh", "down")]))
        print(f"ratio porthole/ssh, {h} hops: up {up:.2f}, down {down:.2f}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
