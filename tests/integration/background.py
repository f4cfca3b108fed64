#!/usr/bin/env python3
"""-f: porthole returns (exit 0) once the session is up and the forwards listen, and the
background process serves them until killed by its pid (from `porthole status --json`). With
ExitOnForwardFailure and a -R the server refuses, it never goes to the background: exit 1.
A connection that fails first: exit 255, as ssh -f."""

import json
import os
import signal
import socket
import subprocess
import time

import fixture as fx


def run_f(sshd, forwards, extra=()):
    argv = fx.forwarder_argv(sshd, forwards, extra_args=["-f", *extra])
    t = time.monotonic()
    r = subprocess.run(argv, env=fx.child_env(sshd), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60, start_new_session=True)
    return r.returncode, r.stderr, time.monotonic() - t


def instance_pid(sshd):
    r = subprocess.run([fx.porthole_path(), "status", "--json"], env=fx.child_env(sshd),
                       capture_output=True, text=True, timeout=10)
    try:
        return [i["pid"] for i in json.loads(r.stdout)]
    except ValueError:
        return []


def test_background(sshd, echo):
    port, rport = fx.free_port(), fx.free_port()
    st, err, took = run_f(sshd, ["-L", f"{port}:127.0.0.1:{echo.port}",
                                 "-R", f"{rport}:127.0.0.1:{echo.port}"])
    fx.check(st == 0, f"-f: exit 0 once up ({took:.1f} s)", err)
    fx.check(fx.is_listening(port), "... the -L already listens when it returns")
    fx.check(fx.is_listening(rport), "... and so does the -R (on the server)")
    pids = instance_pid(sshd)
    fx.check(len(pids) == 1, f"... one background instance ({pids})")
    pid = pids[0]
    fx.check(fx.echo_roundtrip(port, b"bg" * 50000) == b"bg" * 50000,
             "the background process serves the -L")
    fx.check(fx.echo_roundtrip(rport, b"rf" * 50000) == b"rf" * 50000, "... and the -R")
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    fx.check(int(fields[3]) == pid, "... in a session of its own (setsid)", fields)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{pid}") and time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    break
        except OSError:
            break
        time.sleep(0.05)
    fx.check(not fx.is_listening(port), "killed by its pid: it stops listening")


def test_forward_failure(sshd, echo):
    # Every address of the port taken (dual-stack wildcard): sshd cannot listen there.
    taken = socket.socket(socket.AF_INET6)
    taken.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    taken.bind(("::", 0))
    taken.listen(1)
    busy = taken.getsockname()[1]
    port = fx.free_port()
    st, err, _ = run_f(sshd, ["-L", f"{port}:127.0.0.1:{echo.port}", "-R",
                              f"{busy}:127.0.0.1:{echo.port}"], ["-o", "ExitOnForwardFailure=yes"])
    taken.close()
    fx.check(st == 1, "-f with ExitOnForwardFailure and a refused -R: exit 1", f"{st}: {err}")
    fx.check("refused to listen" in err, "... saying why", err)
    fx.check(instance_pid(sshd) == [] and not fx.is_listening(port), "... nothing left running")


def test_connect_failure(sshd):
    dead, hold = fx.refused_port()
    st, err, _ = run_f(sshd, ["-L", f"{fx.free_port()}:127.0.0.1:9"], ["-p", str(dead)])
    hold.close()
    fx.check(st == 255 and "cannot connect" in err, "-f, connection refused: exit 255", err)


def main():
    fx.skip_in_ssh_mode("porthole's status command finds the background pid")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        test_background(sshd, echo)
        test_forward_failure(sshd, echo)
        test_connect_failure(sshd)


if __name__ == "__main__":
    fx.run(main)
