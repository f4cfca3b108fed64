#!/usr/bin/env python3
"""A second local user on the machine (created here with useradd, removed at the end; needs
root): a forward with the default ForwardAccess (owner) refuses that user's connections through
-L (IPv4 and IPv6) and -D, with a reset and a log line naming the uid, and serves its owner;
-o ForwardAccess=any serves the other user too. The control directory without XDG_RUNTIME_DIR
cannot be taken by that user: with /tmp/porthole-UID (the old, predictable name) created first
by them, porthole still gets a working control socket. The clients run as the other user
through a system python3 started with setuid in preexec_fn."""

import os
import pwd
import shutil
import socket
import subprocess
import uuid

import fixture as fx

PYTHON = "/usr/bin/python3"

# Run as the other user: connect, send, read the echo; print what happened.
CLIENT = r"""
import socket, sys
host, port, socks = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "socks"
try:
    s = socket.create_connection((host, port), timeout=5)
    if socks:
        s.sendall(b"\x05\x01\x00")
        got = s.recv(2)
        print("served" if got == b"\x05\x00" else "closed %r" % got)
    else:
        s.sendall(b"hello")
        got = b""
        while len(got) < 5:
            b = s.recv(5 - len(got))
            if not b:
                break
            got += b
        print("served" if got == b"hello" else "closed %r" % got)
except ConnectionResetError:
    print("reset")
except OSError as e:
    print("error %r" % e)
"""


class OtherUser:
    def __init__(self):
        self.name = "ph" + uuid.uuid4().hex[:8]
        subprocess.run(["useradd", "-M", "-d", "/nonexistent", "-s", "/usr/sbin/nologin",
                        self.name], check=True, capture_output=True)
        pw = pwd.getpwnam(self.name)
        self.uid, self.gid = pw.pw_uid, pw.pw_gid

    def drop(self):
        os.setgroups([])
        os.setgid(self.gid)
        os.setuid(self.uid)

    def connect(self, host, port, socks=False):
        p = subprocess.run([PYTHON, "-c", CLIENT, host, str(port), "socks" if socks else "tcp"],
                           preexec_fn=self.drop, capture_output=True, text=True, timeout=20,
                           cwd="/")
        return (p.stdout.strip() or p.stderr.strip())

    def close(self):
        subprocess.run(["userdel", self.name], capture_output=True)


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def owner_only(sshd, echo, user):
    lport, dport = fx.free_port(), fx.free_port()
    with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}", "-D", str(dport)]) as fw:
        hosts = ["127.0.0.1"] + (["::1"] if has_ipv6_loopback() else [])
        for host in hosts:
            got = user.connect(host, lport)
            fx.check(got in ("reset", "closed b''"),
                     f"-L on {host}: the other user is refused (default owner)", got)
        line = fw.wait_stderr(lambda l: "refused a connection from" in l and
                              f"uid {user.uid} is not porthole's user" in l)
        fx.check(line is not None, "... with a log line naming the uid", fw.stderr())
        got = user.connect("127.0.0.1", dport, socks=True)
        fx.check(got in ("reset", "closed b''"), "-D: the other user is refused", got)
        for host in hosts:
            with socket.create_connection((host, lport), timeout=5) as s:
                s.sendall(b"hello")
                s.shutdown(socket.SHUT_WR)
                fx.check(fx.recv_all(s) == b"hello", f"-L on {host}: the owner is served")
        with socket.create_connection(("127.0.0.1", dport), timeout=5) as s:
            s.sendall(b"\x05\x01\x00")
            fx.check(s.recv(2) == b"\x05\x00", "-D: the owner is served")
        fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")


def any_user(sshd, echo, user):
    lport, dport = fx.free_port(), fx.free_port()
    with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}", "-D", str(dport)],
                      extra_args=["-o", "ForwardAccess=any"]) as fw:
        got = user.connect("127.0.0.1", lport)
        fx.check(got == "served", "ForwardAccess any: the other user is served through -L", got)
        got = user.connect("127.0.0.1", dport, socks=True)
        fx.check(got == "served", "... and through -D", got)
        fx.check(not any("refused a connection" in l for l in fw.stderr_lines()),
                 "... with nothing refused", fw.stderr())
        fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")


def control_dir(sshd, user):
    old = f"/tmp/porthole-{os.getuid()}"
    created = False
    if not os.path.lexists(old):
        os.mkdir(old, 0o700)
        os.chown(old, user.uid, user.gid)
        created = True
    try:
        st = os.lstat(old)
        fx.check(st.st_uid != os.getuid(), f"{old} is taken by someone else first")
        env = {"XDG_RUNTIME_DIR": None, "XDG_CACHE_HOME": None}
        lport = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:9"], env=env) as fw:
            p = subprocess.run([fx.porthole_path(), "status", "--json"],
                               env=fx.child_env(sshd, env), capture_output=True, text=True,
                               timeout=10)
            fx.check(p.returncode == 0 and '"session"' in p.stdout,
                     "porthole still has a working control socket", p.stderr + fw.stderr())
            fx.check(not any("no control socket" in l for l in fw.stderr_lines()),
                     "and says nothing about lacking one", fw.stderr())
            fx.check(os.listdir(old) == [], f"nothing of porthole's is in {old}")
            fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")
    finally:
        if created:
            shutil.rmtree(old, ignore_errors=True)


def main():
    fx.skip_in_ssh_mode("ForwardAccess and the control directory are porthole's own")
    if os.geteuid() != 0:
        fx.skip("needs root to create a second local user (useradd) and run a client as it")
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        fx.skip("no useradd/userdel")
    if not os.access(PYTHON, os.X_OK):
        fx.skip(f"no {PYTHON} for the other user's client")
    if not os.path.exists("/proc/net/tcp"):
        fx.skip("not Linux: ForwardAccess owner needs Linux")
    user = OtherUser()
    try:
        with fx.Sshd() as sshd, fx.EchoServer() as echo:
            owner_only(sshd, echo, user)
            any_user(sshd, echo, user)
            control_dir(sshd, user)
    finally:
        user.close()


if __name__ == "__main__":
    fx.run(main)
