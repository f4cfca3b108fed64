#!/usr/bin/env python3
"""Presence (PresenceListen / PresenceCheck): a family instance asks the sshd to listen on a
presence port and answers every connection there itself; a helper instance with
PresenceCheck and ServerAliveInterval=1 reports the family machine "online" in
`porthole status` (text and JSON). With the family porthole stopped (SIGSTOP: the sshd
still holds the port, the forwarded open goes unanswered) the helper says "offline" with
offline_since; after SIGCONT "online" again; after SIGKILL "offline". The presence
checks are not visits: the family, run with NotifyOnConnect=yes and -v, logs no desktop
notice for them, while one connection through its real -R forward does log one."""

import json
import os
import signal
import socket
import subprocess
import time

import fixture as fx


def status(sshd, *args):
    p = subprocess.run([fx.porthole_path(), "status", *args], env=fx.child_env(sshd),
                       capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def presence(sshd, name):
    """The helper's "presence" object from `porthole status NAME --json`, or None."""
    rc, out, err = status(sshd, name, "--json")
    if rc != 0:
        return None
    return json.loads(out).get("presence")


def wait_state(sshd, name, state, timeout=30.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = presence(sshd, name)
        if last is not None and last["state"] == state:
            return last
        time.sleep(0.2)
    raise fx.TestFailure(f"presence not {state!r} after {timeout} s: {last}")


def main():
    fx.skip_in_ssh_mode("PresenceListen and PresenceCheck are porthole's own")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        pport = fx.free_port()
        vport = fx.free_port()
        family = fx.Forwarder(
            sshd, forward_args=["-R", f"{vport}:127.0.0.1:{echo.port}"],
            extra_args=["-v", "-o", "NotifyOnConnect=yes", "-o", f"PresenceListen={pport}"])
        fx.check(fx.wait_listening(pport), "the sshd listens on the presence port")
        helper = fx.Forwarder(sshd, extra_args=["-o", f"PresenceCheck={pport}",
                                                "-o", "ServerAliveInterval=1"])
        # A stopped instance does not answer status: ask the helper's socket by name.
        name = f"{sshd.user}@{sshd.host}:{sshd.port}.{helper.proc.pid}.sock"
        try:
            p = wait_state(sshd, name, "online")
            fx.check(p["port"] == pport and p["last_seen"] > 0 and p["offline_since"] == 0,
                     "helper: online, with last_seen", str(p))
            fx.check(p["name"] == socket.gethostname()[:63],
                     "... answered with the family machine's host name", str(p))
            rc, out, _ = status(sshd, name)
            fx.check(f"presence ({pport}): online, last seen" in out,
                     "status text: 'presence (P): online, last seen N s ago'", out)

            time.sleep(2.5)  # a few more checks answered
            notices = [l for l in family.stderr_lines() if "desktop notice" in l]
            fx.check(not notices, "presence checks show no desktop notice on the family side",
                     "\n".join(notices))
            payload = os.urandom(1000)
            fx.check(fx.echo_roundtrip(vport, payload) == payload, "the real -R forward works")
            fx.check(family.wait_stderr(lambda l: "desktop notice" in l, timeout=10)
                     is not None,
                     "... and a visit through it does log a desktop notice (the check above "
                     "would see one)", family.stderr())

            before = time.time()
            family.proc.send_signal(signal.SIGSTOP)
            try:
                fx.check(fx.is_listening(pport), "stopped family: the sshd still holds the port")
                p = wait_state(sshd, name, "offline")
                print(f"measured: offline {time.time() - before:.1f} s after SIGSTOP", flush=True)
                fx.check(p["offline_since"] >= int(before) - 1 and p["last_seen"] > 0,
                         "stopped family: offline, with offline_since", str(p))
                rc, out, _ = status(sshd, name)
                fx.check(f"presence ({pport}): offline since" in out and
                         f"no answer on the jump host's port {pport}" in out,
                         "status text: 'offline since HH:MM:SS (no answer ...)'", out)
            finally:
                family.proc.send_signal(signal.SIGCONT)
            before = time.time()
            p = wait_state(sshd, name, "online")
            print(f"measured: online {time.time() - before:.1f} s after SIGCONT", flush=True)
            fx.check(p["offline_since"] == 0, "continued family: online again", str(p))

            before = time.time()
            family.proc.send_signal(signal.SIGKILL)
            family.proc.wait(5)
            p = wait_state(sshd, name, "offline")
            print(f"measured: offline {time.time() - before:.1f} s after SIGKILL: {p['why']}",
                  flush=True)
            fx.check(p["offline_since"] > 0, "killed family: offline", str(p))
            rc, out, _ = status(sshd, name)
            fx.check(f"presence ({pport}): offline since" in out, "status text says offline",
                     out)
            rc, err = helper.stop()
            fx.check(rc == 0, "the helper exits 0 on SIGTERM", err)
        finally:
            helper.stop()
            family.stop()


if __name__ == "__main__":
    fx.run(main)
