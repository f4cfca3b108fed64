#!/usr/bin/env python3
"""A power cut on the family machine, end to end, in the namespaces of tech_support.py (the
family behind a NAT router, the jump host, the helper).

The family runs a TCP echo on 127.0.0.1:5900 and `porthole -R 5900:localhost:5900` with
`PresenceListen 6000`, as the profile `porthole invite` writes; the helper runs porthole with
`PresenceCheck 6000`. The cut: the router's LAN link goes down (packets vanish, nothing is
reset), the old connection's packets are dropped for good (a machine without power sends no
late FIN), and the family's porthole is SIGKILLed. Then the link comes back and a NEW
porthole starts, as the user service would, while the jump host's sshd still holds port 5900
for the dead session until its ClientAlive check (2 s x 3 here) ends it.

Checked: the helper's status says the family is offline during the cut and online after;
the new porthole gets port 5900 back by itself (it keeps asking, no exit, no restart loop),
and the helper reaches the family's port through the jump host again. Timing is not checked
(generous timeouts only); tests/bench/powercut.py measures it with the documented settings.
Needs root."""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import fixture as fx  # noqa: E402
import netns  # noqa: E402
import tech_support as ts  # noqa: E402

PRESENCE = 6000


def echo_ok(jump):
    return netns.echo_once(jump, "127.0.0.1", 5900, b"x" * 100, timeout=2) == b"x" * 100


def start_family(fam, sshd, env):
    args = ["-v", "-o", f"UserKnownHostsFile={sshd.known_hosts}", "-o",
            "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-i", sshd.client_key,
            "-o", "Reconnect=yes", "-o", f"PresenceListen={PRESENCE}",
            "-p", str(sshd.port), "-R", "5900:localhost:5900", f"{sshd.user}@{ts.JUMP}"]
    return netns.porthole_in(fam, sshd, args, env=env, timeout=30)


def presence(env, sshd):
    """The helper's presence state ("online", "offline", "unknown"), or None."""
    p = subprocess.run([fx.porthole_path(), "status", "--json"], env=fx.child_env(sshd, env),
                       capture_output=True, text=True, timeout=15, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        return None
    for inst in json.loads(p.stdout):
        if inst.get("presence"):
            return inst["presence"]
    return None


def wait_presence(env, sshd, want, timeout):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = presence(env, sshd)
        if last and last.get("state") == want:
            return last
        time.sleep(0.5)
    return last


def cut_power(net, fam, rtr, fw):
    ss = netns.run_in(fam, "ss", "-tnH", "state", "established", "dst", ts.JUMP).stdout
    for port in {ln.split()[2].rsplit(":", 1)[1] for ln in ss.splitlines() if ln.strip()}:
        netns.run_in(rtr, "nft", "add", "rule", "inet", "porthole_fw", "forward", "ip",
                     "saddr", ts.FAMILY, "tcp", "sport", port, "drop")
    net.set_link(rtr, "lan0", False)
    fw.proc.kill()
    fw.proc.wait()


def main():
    fx.skip_in_ssh_mode("the scenario runs porthole's own presence and retries")
    fx.porthole_path()
    with netns.Net("pw") as net:
        fam, rtr, jump, helper = ts.build(net)
        extra = ["ClientAliveInterval 2", "ClientAliveCountMax 3"]
        with fx.Sshd(host=ts.JUMP, netns=jump, extra_config=extra) as sshd:
            echo = netns.CountingEcho(fam, "127.0.0.1", 5900, 0)
            try:
                run(net, sshd, fam, rtr, jump, helper)
            finally:
                echo.close()


def run(net, sshd, fam, rtr, jump, helper):
    _, fenv = ts.side_dir(sshd, "family")
    _, henv = ts.side_dir(sshd, "helper")
    fw = start_family(fam, sshd, fenv)
    hw = netns.porthole_in(helper, sshd, [
        "-o", f"UserKnownHostsFile={sshd.known_hosts}", "-o", "StrictHostKeyChecking=yes",
        "-o", "IdentitiesOnly=yes", "-i", sshd.client_key, "-o", "ServerAliveInterval=1",
        "-o", f"PresenceCheck={PRESENCE}", "-p", str(sshd.port), f"{sshd.user}@{ts.JUMP}"],
        env=henv, timeout=30)
    fw2 = None
    with hw:
        try:
            deadline = time.monotonic() + 30
            while not echo_ok(jump) and time.monotonic() < deadline:
                time.sleep(0.1)
            fx.check(echo_ok(jump), "the tunnel is up: the jump host's 5900 reaches the family",
                     fw.stderr())
            st = wait_presence(henv, sshd, "online", 30)
            fx.check(st and st["state"] == "online", "the helper's status: the family is online",
                     f"{st}\n{hw.stderr()}")

            cut_power(net, fam, rtr, fw)
            t0 = time.monotonic()
            st = wait_presence(henv, sshd, "offline", 30)
            fx.check(st and st["state"] == "offline" and st.get("offline_since"),
                     f"power cut: the helper's status says offline "
                     f"({time.monotonic() - t0:.1f} s)", f"{st}\n{hw.stderr()}")

            time.sleep(3)  # the machine boots
            net.set_link(rtr, "lan0", True)
            fw2 = start_family(fam, sshd, fenv)
            deadline = time.monotonic() + 120
            while not echo_ok(jump) and time.monotonic() < deadline:
                time.sleep(0.2)
            fx.check(echo_ok(jump), f"the new porthole gets port 5900 back by itself "
                     f"({time.monotonic() - t0:.1f} s after the cut)", fw2.stderr())
            fx.check(fw2.alive(), "... without exiting (no restart loop)", fw2.stderr())
            retries = [ln for ln in fw2.stderr_lines() if "retrying in" in ln]
            fx.ok(f"it asked again {len(retries)} time(s) while the old session held the port")
            st = wait_presence(henv, sshd, "online", 60)
            fx.check(st and st["state"] == "online",
                     "the helper's status: the family is online again", f"{st}\n{hw.stderr()}")
        finally:
            netns.run_in(rtr, "nft", "flush", "chain", "inet", "porthole_fw", "forward")
            if fw2 is not None:
                fx.check(fw2.stop()[0] == 0, "family porthole: SIGTERM, exit 0")
        fx.check(hw.stop()[0] == 0, "helper porthole: SIGTERM, exit 0")


if __name__ == "__main__":
    fx.run(main, timeout=280)
