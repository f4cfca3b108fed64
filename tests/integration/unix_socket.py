#!/usr/bin/env python3
"""Unix-domain sockets, in the forms libssh2 1.11.1 allows. -L /path:host:port listens on a
Unix socket here (mode 0600, removed on exit, a stale socket file replaced, a live one or a
plain file refused); -L port:/path and -L /path:/path reach a socat UNIX-LISTEN on the server's
side through direct-streamlocal@openssh.com; -R port:/path connects the server's port to a
Unix socket here; a missing remote socket ends the connection, the server's reason logged;
-O forward/cancel take Unix forms too. The forms libssh2 cannot carry (-R /path:..., which
needs streamlocal-forward@openssh.com) and those porthole does not offer (-D /path, /udp to a
path) are refused with one line and exit 2."""

import os
import shutil
import socket
import stat
import subprocess
import threading
import time

import fixture as fx


def unix_connect(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.settimeout(30)
            return s
        except OSError:
            s.close()
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def unix_roundtrip(path, payload):
    s = unix_connect(path)

    def send():
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=send)
    t.start()
    got = fx.recv_all(s)
    t.join()
    s.close()
    return got


def wait_file(path, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


class SocatEcho:
    """socat UNIX-LISTEN:path,fork EXEC:cat: the Unix socket on the "server" (this machine)."""

    def __init__(self, path):
        self.path = path
        self.proc = subprocess.Popen(["socat", f"UNIX-LISTEN:{path},fork,unlink-early",
                                      "EXEC:cat"], stdin=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        fx._children.append(self.proc)
        if not wait_file(path):
            raise fx.TestFailure(f"socat did not listen on {path}")

    def close(self):
        self.proc.kill()
        self.proc.wait()


def porthole(sshd, args):
    p = subprocess.run([fx.porthole_path(), *args], env=fx.child_env(sshd), capture_output=True,
                       text=True, timeout=20, stdin=subprocess.DEVNULL, start_new_session=True)
    return p.returncode, p.stdout, p.stderr


def local_listen(sshd, echo, d):
    path = os.path.join(d, "l.sock")
    with fx.Forwarder(sshd, ["-L", f"{path}:127.0.0.1:{echo.port}"]) as fw:
        fx.check(wait_file(path), "-L /path:host:port makes the socket file")
        st = os.stat(path)
        fx.check(stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600,
                 "... a socket of mode 0600", oct(st.st_mode))
        data = os.urandom(300000)
        fx.check(unix_roundtrip(path, data) == data, "300000 bytes through the Unix socket")
        a, b = unix_connect(path), unix_connect(path)
        a.sendall(b"one\n")
        b.sendall(b"two\n")
        fx.check(fx.recv_line(b) == b"two\n" and fx.recv_line(a) == b"one\n",
                 "two connections at once")
        a.close()
        b.close()
        rc, err = fw.stop()
        fx.check(rc == 0, "stopped by SIGTERM: exit 0", err)
    fx.check(not os.path.exists(path), "the socket file is removed on exit")

    # A socket file left by a program that died is replaced.
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()
    fx.check(os.path.exists(path), "a stale socket file is there")
    with fx.Forwarder(sshd, ["-L", f"{path}:127.0.0.1:{echo.port}"]):
        fx.check(unix_roundtrip(path, b"x" * 1000) == b"x" * 1000,
                 "a stale socket file is replaced and served")
    # A live one is not, nor a plain file.
    live = socket.socket(socket.AF_UNIX)
    live.bind(path)
    live.listen(1)
    rc, err = fx.run_forwarder(sshd, ["-L", f"{path}:127.0.0.1:{echo.port}"])
    fx.check(rc == 1 and "a program already listens on" in err and os.path.exists(path),
             "a socket another program listens on is left alone: exit 1", err)
    live.close()
    os.unlink(path)
    with open(path, "w") as f:
        f.write("not a socket")
    rc, err = fx.run_forwarder(sshd, ["-L", f"{path}:127.0.0.1:{echo.port}"])
    fx.check(rc == 1 and "exists and is not a socket" in err and os.path.isfile(path),
             "a plain file in the way is left alone: exit 1", err)
    os.unlink(path)


def remote_socket(sshd, d):
    rpath = os.path.join(d, "r.sock")
    server = SocatEcho(rpath)
    try:
        lport = fx.free_port()
        lpath = os.path.join(d, "both.sock")
        with fx.Forwarder(sshd, ["-L", f"{lport}:{rpath}", "-L", f"{lpath}:{rpath}"]):
            fx.check(fx.wait_listening(lport), "-L port:/remote.sock listens on the port")
            data = os.urandom(200000)
            fx.check(fx.echo_roundtrip(lport, data) == data,
                     "-L port:/remote.sock reaches socat's UNIX-LISTEN (direct-streamlocal)")
            fx.check(unix_roundtrip(lpath, data) == data,
                     "-L /local.sock:/remote.sock: Unix socket at both ends")

        # -R port:/path: the server's port to a Unix socket here.
        rport = fx.free_port()
        with fx.Forwarder(sshd, ["-R", f"{rport}:{rpath}"]):
            fx.check(fx.wait_listening(rport), f"-R {rport}:/path: the server listens")
            fx.check(fx.echo_roundtrip(rport, data) == data,
                     "-R port:/local.sock: the server's port reaches the Unix socket here")
    finally:
        server.close()


def missing_remote(sshd, d):
    lport = fx.free_port()
    missing = os.path.join(d, "missing.sock")
    with fx.Forwarder(sshd, ["-L", f"{lport}:{missing}"]) as fw:
        s = fx.connect(lport)
        try:
            ended = fx.recv_all(s) == b""
        except ConnectionResetError:
            ended = True  # porthole resets a connection whose channel was refused
        fx.check(ended, "a missing remote socket: the connection ends")
        s.close()
        line = fw.wait_stderr(lambda l: f"could not open {missing}" in l, 5)
        fx.check(line is not None, "... and a line names the path and the server's reason",
                 fw.stderr())


def control(sshd, echo, d):
    path = os.path.join(d, "ctl.sock")
    lport = fx.free_port()
    dest = ["-p", str(sshd.port), f"{sshd.user}@127.0.0.1"]
    with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}"]):
        rc, out, err = porthole(sshd, ["-O", "forward", "-L", f"{path}:127.0.0.1:{echo.port}",
                                       *dest])
        fx.check(rc == 0 and unix_roundtrip(path, b"o" * 5000) == b"o" * 5000,
                 "-O forward -L /path:host:port serves the new socket", err)
        rc, out, err = porthole(sshd, ["-O", "cancel", "-L", f"{path}:127.0.0.1:{echo.port}",
                                       *dest])
        fx.check(rc == 0 and not os.path.exists(path),
                 "-O cancel of it removes the socket file", err)


def refused(sshd, d):
    for args, want in (
            (["-R", f"{d}/x.sock:127.0.0.1:1"], "streamlocal-forward@openssh.com"),
            (["-R", f"{d}/x.sock:{d}/y.sock"], "streamlocal-forward@openssh.com"),
            (["-D", f"{d}/socks.sock"], "-D path) is not supported"),
            (["-L", f"{d}/x.sock:127.0.0.1:53/udp"], "udp cannot be forwarded to or from"),
            (["-L", f"8080:/{'p' * 120}"], "Unix socket path too long")):
        rc, err = fx.run_forwarder(sshd, args)
        fx.check(rc == 2 and len(err.strip().splitlines()) == 1 and want in err,
                 f"{args[0]} {args[1][:40]}: one line, exit 2", err)


def main():
    fx.skip_in_ssh_mode("checks porthole's Unix socket forms and their refusals")
    if shutil.which("socat") is None:
        fx.skip("socat not installed")
    if (fx.porthole_info()["libssh2"] or (0,)) < (1, 11):
        fx.skip("direct-streamlocal needs libssh2 1.11")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        d = os.path.join(sshd.dir, "sockets")
        os.mkdir(d, 0o700)
        local_listen(sshd, echo, d)
        remote_socket(sshd, d)
        missing_remote(sshd, d)
        control(sshd, echo, d)
        refused(sshd, d)


if __name__ == "__main__":
    fx.run(main)
