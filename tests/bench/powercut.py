#!/usr/bin/env python3
"""Power cut on the family machine: how long until the helper can reach it again, with the
sshd settings docs/tech-support.md gives (ClientAliveInterval 15, ClientAliveCountMax 3)
and the profile `porthole invite` writes (defaults: ServerAliveInterval 15 x 3, Reconnect).

The namespaces of tests/scenario/tech_support.py (family behind a NAT router, jump host).
The family runs a TCP echo on 127.0.0.1:5900 and `porthole -R 5900:localhost:5900` (as its
service would). Each round: wait until jump's 127.0.0.1:5900 echoes through the tunnel;
then the power cut: the router's LAN link goes down (packets vanish, nothing is reset) and
the family's porthole is SIGKILLed; after --off seconds (default 20: the machine boots) the
link comes back and a new porthole starts, as the service would. Timed from the cut:

  freed  the jump host no longer has the dead session (its sshd child for it exited);
  back   a connection to jump's 127.0.0.1:5900 echoes through the new porthole.

Also counted: the new porthole's "retrying" lines for the refused port (it stays up, no
restart loop). Needs root. Not a test: prints figures for docs/tech-support.md.

    sudo PORTHOLE=build/porthole PYTHONPATH=tests/lib:tests/scenario \\
        python3 tests/bench/powercut.py [--rounds N] [--off S] [--alive S] [--count N]
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scenario"))

import fixture as fx  # noqa: E402
import netns  # noqa: E402
import powercut as pc  # noqa: E402
import tech_support as ts  # noqa: E402


# The round's steps are the scenario test's (tests/scenario/powercut.py), which checks what
# this measures.
echo_ok = pc.echo_ok
start_family = pc.start_family


def one_round(net, sshd, fam, rtr, jump, env, off):
    fw = start_family(fam, sshd, env)
    deadline = time.monotonic() + 60
    while not echo_ok(jump):
        if time.monotonic() > deadline:
            raise fx.TestFailure("the tunnel never came up:\n" + fw.stderr())
        time.sleep(0.1)
    before = set(sshd.session_pids())
    # A machine that loses power sends nothing more, not even the FIN a killed process's
    # kernel would retransmit once the link is back: the old connection's packets are dropped.
    pc.cut_power(net, fam, rtr, fw)
    t0 = time.monotonic()
    freed = back = None
    fw2 = None
    while (back is None or freed is None) and time.monotonic() - t0 < 600:
        now = time.monotonic() - t0
        if freed is None and not (before & set(sshd.session_pids())):
            freed = now
        if fw2 is None and now >= off:
            net.set_link(rtr, "lan0", True)
            fw2 = start_family(fam, sshd, env)
        if fw2 is not None and back is None and echo_ok(jump):
            back = time.monotonic() - t0
        time.sleep(0.2)
    netns.run_in(rtr, "nft", "flush", "chain", "inet", "porthole_fw", "forward")
    netns.run_in(rtr, "nft", "add", "rule", "inet", "porthole_fw", "forward", "oifname",
                 "lan0", "ct", "state", "established,related", "accept")
    netns.run_in(rtr, "nft", "add", "rule", "inet", "porthole_fw", "forward", "oifname",
                 "lan0", "drop")
    retries = sum("retrying" in l or "trying again" in l for l in fw2.stderr_lines()) \
        if fw2 else 0
    alive = fw2 is not None and fw2.alive()
    if fw2:
        fw2.stop()
    return freed, back, retries, alive


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--off", type=float, default=20.0)
    ap.add_argument("--alive", type=int, default=15)
    ap.add_argument("--count", type=int, default=3)
    a = ap.parse_args()
    with netns.Net("pc") as net:
        fam, rtr, jump, helper = ts.build(net)
        extra = [f"ClientAliveInterval {a.alive}", f"ClientAliveCountMax {a.count}"]
        with fx.Sshd(host=ts.JUMP, netns=jump, extra_config=extra) as sshd:
            echo = netns.CountingEcho(fam, "127.0.0.1", 5900, 0)
            _, env = ts.side_dir(sshd, "family")
            rows = []
            try:
                for i in range(a.rounds):
                    r = one_round(net, sshd, fam, rtr, jump, env, a.off)
                    rows.append(r)
                    print(f"round {i + 1}: dead session freed {r[0]:.1f} s, tunnel back "
                          f"{r[1]:.1f} s after the cut; {r[2]} retry lines; new porthole "
                          f"{'still running' if r[3] else 'EXITED'}", flush=True)
            finally:
                echo.close()
            fr = [r[0] for r in rows if r[0] is not None]
            bk = [r[1] for r in rows if r[1] is not None]
            print(f"ClientAliveInterval {a.alive} x CountMax {a.count}, power off {a.off:.0f} s,"
                  f" {a.rounds} rounds: freed median {statistics.median(fr):.1f} s "
                  f"(max {max(fr):.1f}); back median {statistics.median(bk):.1f} s "
                  f"(max {max(bk):.1f})")


if __name__ == "__main__":
    fx.run(main, timeout=3600)
