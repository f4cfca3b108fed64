#!/usr/bin/env python3
"""The session itself: an idle porthole answers the server's keepalives (so a jump host
with ClientAliveInterval keeps it), and a server that drops the connection is noticed at
once: exit 255 with a line saying the connection was lost."""

import os
import signal
import time

import fixture as fx


def session_pids(sshd):
    """The per-connection sshd processes (children of the listening sshd)."""
    return fx._child_pids(sshd.proc.pid)


def main():
    fx.skip_in_ssh_mode()
    extra = ["ClientAliveInterval 1", "ClientAliveCountMax 1"]
    with fx.Sshd(extra_config=extra) as sshd, fx.EchoServer() as echo:
        port = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{port}:127.0.0.1:{echo.port}"]) as fw:
            # No connection at all for several keepalive rounds: porthole must answer
            # sshd's keepalive@openssh.com requests although no link reads the transport.
            time.sleep(5)
            fx.check(fw.alive(), "idle porthole still running after 5 s of 1 s server keepalives",
                     fw.stderr())
            fx.check("not responding" not in sshd.log(),
                     "sshd never timed porthole out (keepalives answered)", sshd.log()[-2000:])
            payload = os.urandom(100000)
            fx.check(fx.echo_roundtrip(port, payload) == payload,
                     "the forward works after the idle period")

            # Now the server side of the connection dies.
            pids = session_pids(sshd)
            fx.check(len(pids) >= 1, f"found the session's sshd process ({pids})")
            t0 = time.monotonic()
            for pid in pids:
                os.kill(pid, signal.SIGKILL)
            try:
                fw.proc.wait(timeout=5)
            except Exception:
                pass
            took = time.monotonic() - t0
            fx.check(fw.proc.returncode == 255,
                     f"porthole exits 255 when the server drops the connection ({took:.2f} s)",
                     f"status {fw.proc.returncode}")
            lines = [l for l in fw.stderr().splitlines() if "lost" in l or "closed" in l]
            fx.check(any(l.startswith("porthole: ") and "connection" in l for l in lines),
                     "stderr says the connection was lost", fw.stderr())


if __name__ == "__main__":
    fx.run(main)
