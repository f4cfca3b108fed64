#!/usr/bin/env python3
"""A connection to a -R port the moment sshd starts listening there is served, not refused.

sshd listens, then replies to the tcpip-forward request; a connection that comes at once has
sshd send its forwarded-tcpip open right behind the reply. libssh2 used to list the listener
only when porthole's next forward-listen call read the reply, so when another call read both
packets first, libssh2 refused the open ("Forward not requested" in sshd's log) and the
connection closed unserved: a helper's viewer retrying against a family machine that has
just reconnected (scripts/libssh2-patches/07-forward-listener-early.patch). Here a client
keeps connecting to the port, without pause, from before porthole starts, ROUNDS times,
with a fresh porthole each time; every first connection must get its echo, and sshd's log
must never say "Forward not requested"."""

import os
import socket
import subprocess
import threading

import fixture as fx

ROUNDS = 20


def first_connection(port, out, stop):
    """Connect-poll port without pause until connected (a refused connect takes some tens of
    microseconds: the connection lands within that of sshd's listen), then one echo."""
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
        except OSError:
            continue
        with s:
            try:
                s.sendall(b"first")
                out["got"] = fx.recv_all(s, 5)
            except OSError as e:
                out["got"] = repr(e).encode()
        return


def main():
    # Busy CPUs widen the window (porthole reads the reply later, with the open behind it):
    # the build before the patch met the race in none of 4 runs on an idle machine, and in
    # each of 2 runs of this test as it is (3 x `yes` on 2 CPUs; busy Python loops did not).
    hogs = [subprocess.Popen(["yes"], stdout=subprocess.DEVNULL)
            for _ in range((os.cpu_count() or 2) + 1)]
    fx._children.extend(hogs)
    try:
        rounds()
    finally:
        for h in hogs:
            h.kill()
            h.wait()


def rounds():
    with fx.Sshd(log_level="DEBUG1") as sshd, fx.EchoServer() as echo:
        bad = []
        for i in range(ROUNDS):
            port = fx.free_port()
            out, stop = {}, threading.Event()
            t = threading.Thread(target=first_connection, args=(port, out, stop), daemon=True)
            t.start()
            with fx.Forwarder(sshd, ["-R", f"{port}:127.0.0.1:{echo.port}"]) as fw:
                t.join(10)
                stop.set()
                if out.get("got") != b"first":
                    bad.append(f"round {i + 1}: {out.get('got')!r}")
                fx.check(fw.alive(), f"round {i + 1}: porthole is still running")
        fx.check("Forward not requested" not in sshd.log(),
                 "porthole never refused a channel for a port it had asked for",
                 [l for l in sshd.log().splitlines() if "Forward not requested" in l][:3])
        fx.check(not bad, f"the first connection to a new -R port was served, {ROUNDS} times",
                 "; ".join(bad))


if __name__ == "__main__":
    fx.run(main)
