#!/usr/bin/env python3
"""Reconnect: time from the link coming back to porthole's forwards working again.

Two network namespaces this script makes (tests/lib/netns.py; removed on exit and on
SIGINT/SIGTERM/SIGHUP): "home" 10.77.8.2 runs porthole and the local services, "jump"
10.77.8.1 runs the fixture's sshd (ClientAliveInterval 1, ClientAliveCountMax 3, so the dead
connection's remote ports are freed) and `porthole relay`. porthole runs as the family
machine would, with -v and

    -o Reconnect=yes -o ServerAliveInterval=1 -o ServerAliveCountMax=3
    -o ReconnectMaxDelay=2 -R 5900:127.0.0.1:5900 -R 3283:127.0.0.1:3283/udp
    -L 7007:127.0.0.1:7

(TCP and UDP echo servers on home's 5900 and 3283, a TCP echo on jump's 7). --drops times
the link goes down for --down seconds (default 6: longer than dead-peer detection, 1 s x 3,
and than sshd's ClientAlive), then comes back. From the moment it is back, three probes
poll until their first successful round trip:

  R tcp   connect to jump's 127.0.0.1:5900 (the -R port) from inside jump, echo 1 KiB;
  R udp   one UDP socket inside jump kept for the whole run, a datagram to 127.0.0.1:3283
          every 30 ms until a reply to one sent since the link came back arrives;
  L tcp   connect to porthole's 127.0.0.1:7007 inside home (the listener stays bound
          throughout; the connection waits for the session), echo 1 KiB.

Reported per probe, median and p90 over the drops:
  (a) link up -> first round trip;
  (b) the part of (a) after porthole's reconnect attempt starts: from the arrival of its
      "reconnecting (attempt N)" line (the last one before the "connected to" that ends
      the outage) to the first round trip. Line arrival times are taken here as porthole's
      stderr lines arrive (-v).
The gap between (a) and (b) is the backoff wait (1 s doubling to ReconnectMaxDelay, +-25%).
A second table splits the way back into steps (dead peer detected, attempt, connected, -R
listening, relay up, -R UDP listening). The relay starts as an exec through sshd, so the
jump host account's shell startup is part of it: the script measures that once with
OpenSSH's client, for comparison.

Two ways for the link to go away (--modes, default both):
  local   home's own interface goes down (Wi-Fi off): connects fail at once
          (ENETUNREACH), so every attempt after the link is back starts clean;
  silent  jump's end goes down: home keeps its route and packets vanish (an upstream
          outage). An attempt started during the outage sends a SYN that is lost; the
          kernel resends it 1 s, 3 s, 7 s... after the connect, so (b) can start before the
          link is back and include that wait.

Needs root and iproute2. Not a test: nothing passes or fails on timing.

  tests/bench/reconnect.py [--drops N] [--down S] [--modes local,silent]
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import benchlib as bl
from benchlib import fx

sys.path.insert(0, os.path.join(bl.ROOT, "tests", "lib"))
import netns  # noqa: E402

HOME, JUMP = "10.77.8.2", "10.77.8.1"
VNC, ARD, LPORT, JUMP_ECHO = 5900, 3283, 7007, 7
PAYLOAD = bytes(range(256)) * 4
RECOVER_S = 30.0
TARGET_S = 2.0


class TimedForwarder(fx.Forwarder):
    """A Forwarder that also keeps each stderr line's arrival time (time.monotonic())."""

    def start(self):
        self.timed = []
        return super().start()

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip("\n")
            with self._lock:
                self._lines.append(line)
                self.timed.append((time.monotonic(), line))
            if fx.READY_LINE in line:
                self._ready_line.set()

    def timed_lines(self):
        with self._lock:
            return list(self.timed)


# ---------------------------------------------------------------- probes


class Probe(threading.Thread):
    """Polls fn() from `start` until it returns True; .at is the time of that success."""

    def __init__(self, fn, start, pause=0.02):
        super().__init__(daemon=True)
        self.fn, self.start_at, self.pause = fn, start, pause
        self.at = None
        self.tries = 0

    def run(self):
        deadline = self.start_at + RECOVER_S
        while time.monotonic() < deadline:
            self.tries += 1
            if self.fn():
                self.at = time.monotonic()
                return
            time.sleep(self.pause)


class UdpClient:
    """One UDP socket inside jump for the whole run, like a client that keeps its port.
    Datagrams carry a sequence number; a round trip is any reply to a datagram sent since
    the last mark() (so one that comes back late still counts, when it arrives)."""

    def __init__(self, ns):
        self.sock = netns.udp_socket(ns, timeout=0.05)
        self.seq = 0
        self.floor = 1

    def mark(self):
        self.floor = self.seq + 1

    def roundtrip(self, wait=0.05):
        self.seq += 1
        msg = b"%08d" % self.seq + PAYLOAD[:100]
        try:
            self.sock.sendto(msg, ("127.0.0.1", ARD))
        except OSError:
            return False
        deadline = time.monotonic() + wait
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                data, _ = self.sock.recvfrom(65535)
            except OSError:
                return False
            if data[8:] == msg[8:] and data[:8].isdigit() and int(data[:8]) >= self.floor:
                return True


def r_tcp(jump):
    return netns.echo_once(jump, "127.0.0.1", VNC, PAYLOAD, timeout=5) == PAYLOAD


def l_tcp(home):
    # porthole's listener accepts at once and holds the connection until the session is
    # back (up to 10 s): give it that long.
    return netns.echo_once(home, "127.0.0.1", LPORT, PAYLOAD, timeout=15) == PAYLOAD


# ---------------------------------------------------------------- one drop


def works(fn, tries=50):
    for _ in range(tries):
        if fn():
            return True
        time.sleep(0.1)
    return False



def first_after(lines, t, pred):
    for ts, line in lines:
        if ts >= t and pred(line):
            return ts
    return None


def one_drop(net, mode, home, jump, fw, udp, down_s):
    probes = {"R tcp": lambda: r_tcp(jump), "R udp": lambda: udp.roundtrip(0.2),
              "L tcp": lambda: l_tcp(home)}
    # Steady state first: every probe works.
    for name, fn in probes.items():
        if not works(fn):
            raise RuntimeError(f"{name} does not work before the drop:\n{fw.stderr()[-3000:]}")
    probes["R udp"] = lambda: udp.roundtrip(0.03)
    ns, dev = (home, "eth0") if mode == "local" else (jump, "eth0")
    t_down = time.monotonic()
    net.set_link(ns, dev, False)
    time.sleep(down_s)
    net.set_link(ns, dev, True)
    t_up = time.monotonic()
    udp.mark()
    ps = {name: Probe(fn, t_up, pause=0.0 if name == "R udp" else 0.02)
          for name, fn in probes.items()}
    for p in ps.values():
        p.start()
    for p in ps.values():
        p.join(RECOVER_S + 20)
    lines = fw.timed_lines()
    detected = first_after(lines, t_down, lambda l: "reconnecting in" in l)
    t_conn = first_after(lines, t_up, lambda l: "connected to" in l)
    t_attempt = None
    if t_conn is not None:
        for ts, line in lines:
            if ts > t_conn:
                break
            if ts >= t_down and "reconnecting (attempt" in line:
                t_attempt = ts
    t_listen = first_after(lines, t_up, lambda l: "listening again" in l)
    t_relay = first_after(lines, t_up, lambda l: "relay up" in l)
    t_ulisten = first_after(lines, t_up, lambda l: "the relay listens on port" in l)
    return dict(t_down=t_down, t_up=t_up, detected=detected, attempt=t_attempt, conn=t_conn,
                listen=t_listen, relay=t_relay, ulisten=t_ulisten,
                probes={name: p.at for name, p in ps.items()})


# ---------------------------------------------------------------- main


def fmt(x):
    return "    -" if x is None else f"{x:5.2f}"


def sshd_exec_latency(sshd, ns, n=3):
    """Median seconds from OpenSSH's client sending an exec request ("Sending command", -v)
    to the command running on the jump host: what sshd and the account's shell startup cost
    any command, porthole's relay included."""
    xs = []
    for _ in range(n):
        p = subprocess.Popen(["ip", "netns", "exec", ns, "ssh", "-F", "none", "-v",
                              "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={sshd.known_hosts}",
                              "-o", "IdentitiesOnly=yes", "-i", sshd.client_key,
                              "-p", str(sshd.port), f"{sshd.user}@{sshd.host}", "date +%s.%N"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=fx.child_env(sshd))
        sent = None
        for line in p.stderr:
            if sent is None and "Sending command" in line:
                sent = time.time()
        out, _ = p.communicate(timeout=30)
        try:
            xs.append(float(out.split()[0]) - sent)
        except (IndexError, ValueError, TypeError):
            pass
    return bl.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drops", type=int, default=10, help="link drops per mode")
    ap.add_argument("--down", type=float, default=6.0, help="seconds the link stays down")
    ap.add_argument("--modes", default="local,silent", help="local, silent or both")
    args = ap.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if not modes or any(m not in ("local", "silent") for m in modes):
        ap.error("--modes: local and/or silent, comma-separated")

    def on_signal(signum, frame):
        raise SystemExit(f"killed by signal {signum}")

    def on_int(signum, frame):
        raise KeyboardInterrupt

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGINT, on_int)  # even when started with SIGINT ignored (`cmd &`)

    print(bl.machine_line())
    print(f"# reconnect: {args.drops} drops of {args.down:g} s per mode ({', '.join(modes)}); "
          "times in s from the link coming back (detect: from the link going down)",
          flush=True)
    why = netns.unavailable()
    if why:
        print(f"# cannot run: {why}")
        print()
        print(f"ratio to the {TARGET_S:g} s target: n/a, {why}")
        return 0
    fx.porthole_path()
    results = {m: [] for m in modes}
    with netns.Net("bench") as net:
        home, jump = net.add("home"), net.add("jump")
        net.link(home, "eth0", f"{HOME}/24", jump, "eth0", f"{JUMP}/24")
        extra = ["ClientAliveInterval 1", "ClientAliveCountMax 3"]
        with fx.Sshd(host=JUMP, netns=jump, extra_config=extra) as sshd:
            exec_s = sshd_exec_latency(sshd, home)
            print(f"# sshd starts a command {fmt(exec_s).strip()} s after OpenSSH's exec request "
                  "(median of 3; the account's shell startup on the jump host)", flush=True)
            home_echo = netns.CountingEcho(home, "127.0.0.1", VNC, ARD)
            jump_echo = netns.CountingEcho(jump, "127.0.0.1", JUMP_ECHO, JUMP_ECHO)
            fw = TimedForwarder(sshd, start=False)
            fw.argv = ["ip", "netns", "exec", home, *fx.forwarder_argv(
                sshd, ["-R", f"{VNC}:127.0.0.1:{VNC}", "-R", f"{ARD}:127.0.0.1:{ARD}/udp",
                       "-L", f"{LPORT}:127.0.0.1:{JUMP_ECHO}"],
                extra_args=["-v", "-o", "Reconnect=yes", "-o", "ServerAliveInterval=1",
                            "-o", "ServerAliveCountMax=3", "-o", "ReconnectMaxDelay=2",
                            "-o", f"RelayCommand={fx.porthole_path()} relay"],
                ssh_mode=False)]
            fw.forward_args = []
            udp = UdpClient(jump)
            try:
                with fw.start():
                    print("# mode   drop detect attempt connect   -R ok relay up udp -R ok |"
                          "  R tcp  R udp  L tcp", flush=True)
                    for mode in modes:
                        for i in range(args.drops):
                            r = one_drop(net, mode, home, jump, fw, udp, args.down)
                            results[mode].append(r)
                            print(f"# {mode:6s} {i + 1:4d} " + " ".join(
                                fmt(v) for v in row(r)), flush=True)
                            if not fw.alive():
                                raise RuntimeError(f"porthole exited:\n{fw.stderr()[-3000:]}")
                    fw.stop()
            finally:
                home_echo.close()
                jump_echo.close()
                if fw.proc is not None and fw.alive():
                    fw.stop()
    summarize(results, args, exec_s)
    return 0


def rel(r, key, base="t_up"):
    return None if r.get(key) is None or r.get(base) is None else r[key] - r[base]


def row(r):
    """detect, attempt, connected, -R listening, relay up, udp -R listening | probes."""
    return [rel(r, "detected", "t_down"), rel(r, "attempt"), rel(r, "conn"), rel(r, "listen"),
            rel(r, "relay"), rel(r, "ulisten"),
            *(None if r["probes"][p] is None else r["probes"][p] - r["t_up"]
              for p in ("R tcp", "R udp", "L tcp"))]


def stat(xs, digits=2):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "-"
    return f"{bl.median(xs):.{digits}f} / {bl.percentile(xs, 90):.{digits}f}"


def summarize(results, args, exec_s):
    print()
    print(f"reconnect: {args.drops} drops of {args.down:g} s per mode; seconds, median / p90; "
          "failed = no round trip within 30 s")
    print("| mode | probe | (a) link up -> round trip | (b) attempt start -> round trip "
          "| failed |")
    print("|---|---|---|---|---|")
    headline = None
    for mode, rs in results.items():
        for probe in ("R tcp", "R udp", "L tcp"):
            a = [rel({"p": r["probes"][probe], "t_up": r["t_up"]}, "p") for r in rs]
            b = [rel({"p": r["probes"][probe], "a": r["attempt"]}, "p", "a") for r in rs]
            failed = sum(r["probes"][probe] is None for r in rs)
            print(f"| {mode} | {probe} | {stat(a)} | {stat(b)} | {failed} |")
            if mode == "local" and probe == "R tcp" and any(x is not None for x in b):
                headline = bl.median([x for x in b if x is not None])
    print()
    print("| mode | dead peer detected (from link down) | attempt starts (from link up) "
          "| attempt -> connected | connected -> -R TCP listening | connected -> relay up "
          "| relay up -> -R UDP listening |")
    print("|---|---|---|---|---|---|---|")
    for mode, rs in results.items():
        print(f"| {mode} | {stat([rel(r, 'detected', 't_down') for r in rs])} "
              f"| {stat([rel(r, 'attempt') for r in rs])} "
              f"| {stat([rel(r, 'conn', 'attempt') for r in rs], 3)} "
              f"| {stat([rel(r, 'listen', 'conn') for r in rs], 3)} "
              f"| {stat([rel(r, 'relay', 'conn') for r in rs], 3)} "
              f"| {stat([rel(r, 'ulisten', 'relay') for r in rs], 3)} |")
    if exec_s is not None:
        print(f"sshd command start on this jump host (OpenSSH client, for comparison with "
              f"connected -> relay up): {exec_s:.3f} s")
    if headline is not None:
        print(f"ratio to the {TARGET_S:g} s target (local, R tcp, median (b)): "
              f"{headline / TARGET_S:.2f}")
    else:
        print(f"ratio to the {TARGET_S:g} s target: n/a")


if __name__ == "__main__":
    sys.exit(main())
