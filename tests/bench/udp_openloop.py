#!/usr/bin/env python3
"""UDP open loop, many rounds: how often porthole's relay path stalls at a given rate.

One throw-away sshd on loopback (aes128-ctr + hmac-sha2-256, as udp.py), one `udpbench echo`,
one porthole with -L .../udp to it (the relay being $RELAY, default the same binary as
$PORTHOLE), then --rounds rounds of `udpbench rate` (--rate datagrams/s of --size bytes for
--seconds, 1 s drain) one after the other on the same session. A round whose p99 round trip
is over --stall-ms counts as a stall; with --timeline its per-250 ms timeline is printed.

udp.py runs one open-loop round per path, which shows a stall only when it happens to hit
that round; this counts them. Timing is never a pass/fail test.

  RELAY=old/porthole tests/bench/udp_openloop.py [--rounds 16] [--rate 20000] [--size 1200]
"""

import argparse
import os
import subprocess

import benchlib as bl
from benchlib import fx
import udp


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=16)
    ap.add_argument("--rate", type=float, default=20000)
    ap.add_argument("--size", type=int, default=1200)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--stall-ms", type=float, default=500.0, help="a round's p99 above: stall")
    ap.add_argument("--timeline", action="store_true", help="print a stalled round's timeline")
    args = ap.parse_args()

    ub = udp.udpbench_path()
    porthole = fx.porthole_path()
    relay = os.environ.get("RELAY", porthole)
    print(bl.machine_line())
    print(f"# relay: {relay}; {args.rounds} rounds of {args.rate:.0f}/s x {args.size} B for "
          f"{args.seconds:g} s; stall: p99 over {args.stall_ms:g} ms", flush=True)
    stalls = 0
    with fx.Sshd(extra_config=bl.SSHD_CIPHER_CONFIG) as sshd:
        echo = udp.Echo(ub)
        lport = fx.free_port()
        ph = bl.porthole_forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}/udp"],
                                   extra_args=["-o", f"RelayCommand={relay} relay"])
        path = udp.Path("porthole", "porthole -L .../udp", f"127.0.0.1:{lport}",
                        client_pids=lambda: (ph.proc.pid,), sshd=sshd)
        udp.wait_works(ub, path)
        p99s = []
        for i in range(args.rounds):
            out = subprocess.run([ub, "rate", "-t", path.target, "-s", str(args.size),
                                  "-R", str(args.rate), "-d", str(args.seconds), "-D", "1",
                                  "-i", "250"], capture_output=True, text=True, timeout=120)
            r = udp.parse_result(out.stdout)
            p99s.append(r["p99_us"] / 1000)
            stall = r["p99_us"] / 1000 > args.stall_ms
            stalls += stall
            print(f"  round {i:2}  replies {r['replies']:6.0f}  lost {r['lost']:6.0f}  "
                  f"p50 {r['p50_us'] / 1000:8.1f} ms  p99 {r['p99_us'] / 1000:8.1f} ms"
                  f"{'  STALL' if stall else ''}", flush=True)
            if stall and args.timeline:
                print(out.stderr, flush=True)
        echo.close()
    p99s.sort()
    print(f"\nstalls: {stalls} of {args.rounds} rounds; p99 ms: min {p99s[0]:.1f}, "
          f"median {p99s[len(p99s) // 2]:.1f}, max {p99s[-1]:.1f}")


if __name__ == "__main__":
    fx.run(main)
