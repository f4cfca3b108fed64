#!/usr/bin/env python3
"""porthole status: each running instance answers on its control socket (0600, in a 0700
directory); `porthole status --json` matches the traffic the test sent; a second instance
of the same profile is refused naming the running one; garbage or silence on the control
socket does not disturb the instance; a stale socket left by a killed instance is replaced.
Without XDG_RUNTIME_DIR the sockets go in ~/.cache/porthole (0700, checked), never /tmp."""

import json
import os
import signal
import socket
import stat
import subprocess
import time

import fixture as fx


def porthole(sshd, args, timeout=10):
    p = subprocess.run([fx.porthole_path(), *args], env=fx.child_env(sshd), capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       start_new_session=True)
    return p.returncode, p.stdout, p.stderr


def main():
    fx.skip_in_ssh_mode("status is porthole's own")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        cfg = os.path.join(sshd.dir, "porthole.conf")
        lport = fx.free_port()
        with open(cfg, "w") as f:
            f.write(f"""Profile office
    HostName 127.0.0.1
    Port {sshd.port}
    User {sshd.user}
    IdentityFile {sshd.client_key}
    IdentitiesOnly yes
    UserKnownHostsFile {sshd.known_hosts}
    StrictHostKeyChecking yes
    LocalForward {lport} 127.0.0.1:{echo.port}
""")
        os.chmod(cfg, 0o600)
        rc, out, err = porthole(sshd, ["status"])
        fx.check(rc == 1 and "no running porthole" in err, "nothing running: exit 1", err)

        fw = fx.Forwarder(sshd, start=False)
        fw.argv = [fx.porthole_path(), "-F", cfg, "office"]
        fw.forward_args = ["-L", f"{lport}:x:1"]
        with fw.start():
            sock = os.path.join(sshd.runtime_dir, "porthole", "office.sock")
            st = os.stat(sock)
            fx.check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
                     "the control socket is mode 0600", oct(st.st_mode))
            fx.check(stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700,
                     "... in a 0700 directory")
            sent = 0
            for size in (1000, 200000, 3000000):
                data = os.urandom(size)
                fx.check(fx.echo_roundtrip(lport, data) == data, f"{size} bytes through -L")
                sent += size
            rc, out, err = porthole(sshd, ["status", "office", "--json"])
            fx.check(rc == 0, "porthole status office --json: exit 0", err)
            st = json.loads(out)
            fx.check(st["name"] == "office" and st["session"]["state"] == "ready",
                     "the session is ready", out)
            fwd = st["forwards"][0]
            fx.check(fwd["total"] == 3 and fwd["open"] == 0,
                     "3 connections counted, none open now", out)
            fx.check(fwd["bytes_up"] == sent and fwd["bytes_down"] == sent,
                     f"bytes each way match what was sent ({sent})", out)
            rc, out, err = porthole(sshd, ["status"])
            fx.check(rc == 0 and out.startswith("office (pid ") and "session ready" in out,
                     "plain porthole status lists the instance", out)

            # A second instance of the same profile.
            rc, out, err = porthole(sshd, ["-F", cfg, "office"])
            fx.check(rc == 1 and "office is already running" in err and sock in err,
                     "a second instance is refused, naming the running one", err)

            # Garbage, silence, and a client that disconnects mid-request.
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.sendall(b"\x00\x01garbage\n")
            fx.check(s.recv(100).startswith(b"error:"), "garbage gets an error answer")
            s.close()
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.sendall(b"x" * 1024)  # CONTROL_LINE_MAX, no newline
            fx.check(s.recv(100).startswith(b"error:"), "an over-long request gets an error")
            s.close()
            s = socket.socket(socket.AF_UNIX)
            s.connect(sock)
            s.sendall(b"sta")
            s.close()
            silent = socket.socket(socket.AF_UNIX)
            silent.connect(sock)
            silent.settimeout(8)
            t0 = time.monotonic()
            try:
                closed = silent.recv(10) == b""
            except socket.timeout:
                closed = False
            fx.check(closed, f"a silent client is dropped ({time.monotonic() - t0:.1f} s)")
            silent.close()
            data = os.urandom(10000)
            fx.check(fx.echo_roundtrip(lport, data) == data, "the forward is undisturbed")
            rc, out, err = porthole(sshd, ["status", "office"])
            fx.check(rc == 0 and "session ready" in out, "and still answers status")

            # Killed without cleaning up: the socket file stays behind.
            fw.proc.send_signal(signal.SIGKILL)
            fw.proc.wait()
        fx.check(os.path.exists(sock), "a killed instance leaves its socket file")
        fw = fx.Forwarder(sshd, start=False)
        fw.argv = [fx.porthole_path(), "-F", cfg, "-v", "office"]
        fw.forward_args = ["-L", f"{lport}:x:1"]
        with fw.start():
            fx.check(any("replaced a stale control socket" in l for l in fw.stderr_lines()),
                     "the next instance replaces the stale socket", fw.stderr())
            rc, out, err = porthole(sshd, ["status", "office", "--json"])
            fx.check(rc == 0 and json.loads(out)["forwards"][0]["total"] == 0,
                     "and answers status as a fresh instance")
            fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")
        fx.check(not os.path.exists(sock), "a clean exit removes the socket")
        no_runtime_dir(sshd, cfg, lport)
        truthful(sshd, cfg, lport)


def wait_state(sshd, want, timeout):
    """Poll status --json until the session state is want; return (state, json) last seen."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        rc, out, err = porthole(sshd, ["status", "office", "--json"])
        if rc == 0:
            st = json.loads(out)
            if st["session"]["state"] == want:
                return want, st
        time.sleep(0.3)
    return (st or {}).get("session", {}).get("state"), st


def truthful(sshd, cfg, lport):
    """Status tells the truth: a server that stops answering makes the session "not
    responding" within seconds (not ready until it is declared gone); it is ready again once
    it answers; an error from before a reconnect carries its time and says it is past; a
    stopped instance is "not answering" with its pid, not "not running"."""
    fw = fx.Forwarder(sshd, start=False)
    fw.argv = [fx.porthole_path(), "-F", cfg, "-o", "ServerAliveInterval=2",
               "-o", "ServerAliveCountMax=15", "office"]
    fw.forward_args = ["-L", f"{lport}:x:1"]
    with fw.start():
        kids = sshd.session_pids()
        fx.check(kids, "found the sshd process serving the session")
        for pid in kids:
            os.kill(pid, signal.SIGSTOP)
        t0 = time.monotonic()
        try:
            state, st = wait_state(sshd, "not responding", 15)
            fx.check(state == "not responding" and st["session"]["silent_ms"] >= 2000,
                     f"a frozen server: 'not responding' after {time.monotonic() - t0:.1f} s, "
                     "long before it is declared gone (30 s)", json.dumps(st))
            rc, out, err = porthole(sshd, ["status", "office"])
            fx.check("session not responding (silent for" in out, "... in words too", out)
        finally:
            for pid in kids:
                os.kill(pid, signal.SIGCONT)
        state, st = wait_state(sshd, "ready", 15)
        fx.check(state == "ready", "it answers again: ready", json.dumps(st))

        # A reconnect: the error is kept with its time, marked as past.
        for pid in sshd.session_pids():
            os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            state, st = wait_state(sshd, "ready", 5)
            if state == "ready" and st["session"]["reconnects"] >= 1:
                break
        fx.check(st["session"]["reconnects"] >= 1 and st["session"]["last_error_at"] > 0 and
                 st["session"]["last_error"], "after a reconnect: the last error and its time",
                 json.dumps(st))
        rc, out, err = porthole(sshd, ["status", "office"])
        fx.check("last error (since recovered), at " in out,
                 "... shown as past once the session recovered", out)

        # Stopped: not answering, with its pid.
        fw.proc.send_signal(signal.SIGSTOP)
        try:
            rc, out, err = porthole(sshd, ["status", "office"], timeout=20)
            fx.check(rc == 1 and f"not answering (pid {fw.proc.pid}" in err and
                     "no running" not in err,
                     "a stopped instance is 'not answering (pid N)', not 'not running'", err)
        finally:
            fw.proc.send_signal(signal.SIGCONT)
        fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")


def no_runtime_dir(sshd, cfg, lport):
    """Without XDG_RUNTIME_DIR: ~/.cache/porthole (created 0700), found by status; a
    directory of the wrong mode is refused in one line and porthole runs without it."""
    env = {"XDG_RUNTIME_DIR": None, "XDG_CACHE_HOME": None}
    cache = os.path.join(sshd.home, ".cache")
    fw = fx.Forwarder(sshd, env=env, start=False)
    fw.argv = [fx.porthole_path(), "-F", cfg, "office"]
    fw.forward_args = ["-L", f"{lport}:x:1"]
    with fw.start():
        sock = os.path.join(cache, "porthole", "office.sock")
        fx.check(os.path.exists(sock), "no XDG_RUNTIME_DIR: the socket is in ~/.cache/porthole",
                 fw.stderr())
        fx.check(stat.S_IMODE(os.stat(os.path.dirname(sock)).st_mode) == 0o700,
                 "... created mode 0700")
        p = subprocess.run([fx.porthole_path(), "status", "office"],
                           env=fx.child_env(sshd, env), capture_output=True, text=True,
                           timeout=10, stdin=subprocess.DEVNULL)
        fx.check(p.returncode == 0 and "session ready" in p.stdout,
                 "porthole status finds it the same way", p.stderr)
        fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")
    os.chmod(os.path.join(cache, "porthole"), 0o755)
    fw = fx.Forwarder(sshd, env=env, start=False)
    fw.argv = [fx.porthole_path(), "-F", cfg, "office"]
    fw.forward_args = ["-L", f"{lport}:x:1"]
    with fw.start():
        want = f"{cache}/porthole: mode 0755, must be 0700"
        fx.check(fw.wait_stderr(lambda l: want in l) is not None,
                 "a directory others can read is refused, saying why", fw.stderr())
        fx.check(fw.stop()[0] == 0, "and porthole runs without it")
    os.chmod(os.path.join(cache, "porthole"), 0o700)


if __name__ == "__main__":
    fx.run(main)
