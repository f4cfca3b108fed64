#!/usr/bin/env python3
"""Forwards from ~/.ssh/config, as `ssh -N alias` brings them up: `porthole myalias` with no -L
on the command line reads the alias's HostName, Port, User, IdentityFile, known hosts and its
LocalForward and DynamicForward lines from ~/.ssh/config (a Match exec block adds one more
LocalForward only while a marker file exists), and carries data through each against a real
sshd. A profile that names the alias as its HostName keeps its own forwards only. A bad Port in
the file stops the run: one line with file:line, exit 2."""

import os
import socket
import struct

import fixture as fx


def write_config(sshd, p1, p2, d1, extra=""):
    os.makedirs(os.path.join(sshd.home, ".ssh"), mode=0o700, exist_ok=True)
    path = os.path.join(sshd.home, ".ssh", "config")
    with open(path, "w") as f:
        f.write(f"""# as a user writes it
Host myalias
    HostName 127.0.0.1
    Port {sshd.port}
    User {sshd.user}
    IdentityFile {sshd.client_key}
    IdentitiesOnly yes
    UserKnownHostsFile {sshd.known_hosts}
    StrictHostKeyChecking yes
    LocalForward {p1} 127.0.0.1:{ECHO_PORT}
    DynamicForward 127.0.0.1:{d1}
    ControlMaster no
    SendEnv LANG
{extra}
Match originalhost myalias exec "test -e $HOME/.ssh/marker"
    LocalForward 127.0.0.1:{p2} 127.0.0.1:{ECHO_PORT}
""")
    return path


ECHO_PORT = 0


def socks_roundtrip(port, target_port, payload):
    """A SOCKS5 CONNECT to 127.0.0.1:target_port through port, then an echo."""
    with fx.connect(port, timeout=10) as s:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            return b""
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
                  struct.pack(">H", target_port))
        reply = fx.recv_all(s, 10)
        if len(reply) < 10 or reply[1] != 0:
            return b""
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        return fx.recv_all(s)


def run_alias(sshd, ports, args=("myalias",)):
    fwd = fx.Forwarder(sshd, start=False)
    fwd.argv = [fx.porthole_path(), *args]
    fwd.forward_args = [a for p in ports for a in ("-L", f"{p}:x:1")]  # ports to wait for
    return fwd.start()


def main():
    global ECHO_PORT
    fx.skip_in_ssh_mode("runs porthole with an ~/.ssh/config alias")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        ECHO_PORT = echo.port
        p1, p2, d1 = fx.free_port(), fx.free_port(), fx.free_port()
        write_config(sshd, p1, p2, d1)

        fwd = run_alias(sshd, [p1, d1])
        try:
            data = os.urandom(100000)
            fx.check(fx.echo_roundtrip(p1, data) == data,
                     "LocalForward from ~/.ssh/config carries data", fwd.stderr())
            fx.check(socks_roundtrip(d1, echo.port, b"socks hello") == b"socks hello",
                     "DynamicForward from ~/.ssh/config serves SOCKS5")
            fx.check(not fx.is_listening(p2), "Match exec without the marker: no second forward")
            fx.check("ControlMaster" not in fwd.stderr() and "SendEnv" not in fwd.stderr(),
                     "ControlMaster no and SendEnv: nothing to say", fwd.stderr())
        finally:
            fwd.stop()

        open(os.path.join(sshd.home, ".ssh", "marker"), "w").close()
        fwd = run_alias(sshd, [p1, p2, d1])
        try:
            fx.check(fx.echo_roundtrip(p2, b"marker") == b"marker",
                     "Match exec with the marker: its LocalForward is up too", fwd.stderr())
        finally:
            fwd.stop()
        os.unlink(os.path.join(sshd.home, ".ssh", "marker"))

        # A profile naming the alias: settings from ~/.ssh/config, forwards its own.
        p3 = fx.free_port()
        cfgdir = os.path.join(sshd.home, ".config", "porthole")
        os.makedirs(cfgdir, exist_ok=True)
        with open(os.path.join(cfgdir, "config"), "w") as f:
            f.write(f"Profile office\n    HostName myalias\n"
                    f"    LocalForward {p3} 127.0.0.1:{echo.port}\n")
        fwd = run_alias(sshd, [p3], args=("office",))
        try:
            fx.check(fx.echo_roundtrip(p3, b"profile") == b"profile",
                     "a profile whose HostName is an ~/.ssh/config alias connects through it",
                     fwd.stderr())
            fx.check(not fx.is_listening(p1), "the alias's forwards are not the profile's")
        finally:
            fwd.stop()

        # Bad values stop the run with file:line.
        path = write_config(sshd, p1, p2, d1, extra="    Port 0\n")
        r = fx.subprocess.run([fx.porthole_path(), "myalias"], env=fx.child_env(sshd),
                              stdin=fx.subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=20)
        fx.check(r.returncode == 2 and r.stderr.strip() ==
                 f"porthole: {path}:14: Port: bad port '0' (1-65535)",
                 "Port 0 in ~/.ssh/config: one line with file:line, exit 2", r.stderr)


if __name__ == "__main__":
    fx.run(main)
