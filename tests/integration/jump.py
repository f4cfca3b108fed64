#!/usr/bin/env python3
"""Hosts behind hosts: three sshds on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (a, b, c), where a
may only open channels to b and b only to c (PermitOpen), and c is the destination. b and c
let in only connections from 127.0.0.1 (AllowUsers user@127.0.0.1), which is where a's and
b's sshds connect from, while porthole's own connections come from 127.0.0.9 (BindAddress
in ~/.ssh/config, which applies to every host and hop): so b and c are reachable only
through the hop before them, and a porthole that connected directly would be refused.

- `-J a,b` carries -L, -R, -D and UDP through to c; sshd's own logs show each hop opening the
  channel to the next; `porthole status --json` lists both hops ready.
- The same chain from ~/.ssh/config (c's ProxyJump names b, whose ProxyJump names a), with a
  reached through `ProxyCommand nc %h %p`.
- `ProxyCommand nc %h %p` straight to c, and `ProxyCommand ssh -W %h:%p -J a b` to c.
- Killing the middle sshd and bringing it back: the chain is rebuilt by itself and every
  forward works again.
- A changed host key on the middle hop: refused, exit 255, the message names the hop.
- A ProxyJump cycle in ~/.ssh/config: refused (exit 2) with the chain printed.
- A ProxyCommand that fails: one line with its exit status and its last stderr line.
- A profile in porthole's config with ProxyJump, and one with ProxyCommand.
"""

import json
import os
import shutil
import socket
import struct
import subprocess
import time

import fixture as fx


def relay_command():
    return f"{fx.porthole_path()} relay"


def udp_roundtrip(port, payload, tries=10):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(1.0)
    with s:
        for _ in range(tries):
            s.sendto(payload, ("127.0.0.1", port))
            try:
                return s.recvfrom(65535)[0]
            except socket.timeout:
                continue
    return None


class UdpEcho:
    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        import threading
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
                self.sock.sendto(data, addr)
            except OSError:
                return

    def close(self):
        self.sock.close()


def socks_roundtrip(port, host, dport, payload):
    """SOCKS5 CONNECT through porthole's -D to host:dport, send payload, read it back."""
    s = fx.connect(port, 20)
    with s:
        s.sendall(b"\x05\x01\x00")
        if s.recv(2) != b"\x05\x00":
            return None
        s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(host) + struct.pack(">H", dport))
        reply = b""
        while len(reply) < 10:
            b = s.recv(10 - len(reply))
            if not b:
                return None
            reply += b
        if reply[1] != 0:
            return None
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        return fx.recv_all(s)


def wait_remote(port, timeout=15):
    deadline = time.monotonic() + timeout
    while not fx.is_listening(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    return fx.is_listening(port)


class Chain:
    """a -> b -> c, each inner sshd reachable only as the next hop of the one before."""

    def __init__(self):
        user = fx.pwd.getpwuid(os.getuid()).pw_name
        inner = [f"AllowUsers {user}@127.0.0.1"]
        self.c = fx.Sshd(host="127.0.0.3", log_level="DEBUG", extra_config=inner)
        self.c.__enter__()
        self.b = fx.Sshd(host="127.0.0.2", log_level="DEBUG",
                         extra_config=[f"PermitOpen 127.0.0.3:{self.c.port}", *inner])
        self.b.__enter__()
        self.a = fx.Sshd(host="127.0.0.1", log_level="DEBUG",
                         extra_config=[f"PermitOpen 127.0.0.2:{self.b.port}"])
        self.a.__enter__()
        self.key = self.a.client_key
        for s in (self.b, self.c):
            s.add_client_key(self.key + ".pub")
        lines = []
        for s in (self.a, self.b, self.c):
            with open(s.known_hosts) as f:
                lines += f.read().splitlines()
        self.known_hosts = self.c.write_known_hosts("known_hosts.chain", lines)
        self.user = self.c.user

    def jump(self):
        return f"{self.user}@127.0.0.1:{self.a.port},{self.user}@127.0.0.2:{self.b.port}"

    def close(self):
        for s in (self.a, self.b, self.c):
            s.__exit__(None, None, None)

    def ssh_config(self, text=""):
        """~/.ssh/config: text, then a Host * block binding porthole's connections to
        127.0.0.9 (b and c refuse that address)."""
        d = os.path.join(self.c.home, ".ssh")
        os.makedirs(d, 0o700, exist_ok=True)
        with open(os.path.join(d, "config"), "w") as f:
            f.write(text + "\nHost *\n  BindAddress 127.0.0.9\n")


def forwarder(chain, forwards, args, dest=None, env=None):
    """A Forwarder for c with argv of our own (destination, -J, no -p)."""
    fw = fx.Forwarder(chain.c, forwards, start=False, wait_remote=False, env=env)
    fw.argv = [fx.porthole_path(), "-o", f"UserKnownHostsFile={chain.known_hosts}",
               "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes", "-i", chain.key,
               "-o", f"RelayCommand={relay_command()}", *args, *forwards,
               dest or f"{chain.user}@127.0.0.3"]
    fw.timeout = 20
    return fw


def porthole_status(chain, env=None):
    r = subprocess.run([fx.porthole_path(), "status", "--json"], env=fx.child_env(chain.c, env),
                       capture_output=True, text=True, timeout=10)
    return json.loads(r.stdout)[0] if r.returncode == 0 else None


def check_all_forwards(what, fw, ports, echo, uecho):
    lport, rport, dport, uport = ports
    data = os.urandom(300000)
    fx.check(fx.echo_roundtrip(lport, data) == data, f"{what}: -L carries 300 KB to c")
    fx.check(wait_remote(rport), f"{what}: -R listens on c's side", fw.stderr())
    fx.check(fx.echo_roundtrip(rport, data) == data, f"{what}: -R carries 300 KB back")
    fx.check(socks_roundtrip(dport, "127.0.0.1", echo.port, b"socks through the chain")
             == b"socks through the chain", f"{what}: -D SOCKS5 CONNECT")
    fx.check(udp_roundtrip(uport, b"udp through the chain") == b"udp through the chain",
             f"{what}: -L .../udp through the relay on c")


def forward_args(echo, uecho):
    lport, rport, dport, uport = fx.free_port(), fx.free_port(), fx.free_port(), fx.free_port()
    args = ["-L", f"{lport}:127.0.0.1:{echo.port}", "-R", f"{rport}:127.0.0.1:{echo.port}",
            "-D", str(dport), "-L", f"{uport}:127.0.0.1:{uecho.port}/udp"]
    return args, (lport, rport, dport, uport)


def test_direct_refused(chain):
    """The negative control: straight to c (no -J), porthole is refused."""
    p = subprocess.run([fx.porthole_path(), "-o", f"UserKnownHostsFile={chain.known_hosts}",
                        "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes",
                        "-i", chain.key, "-p", str(chain.c.port),
                        "-L", f"{fx.free_port()}:127.0.0.1:9", f"{chain.user}@127.0.0.3"],
                       env=fx.child_env(chain.c), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30, start_new_session=True)
    fx.check(p.returncode == 255 and "from 127.0.0.9 not allowed" in chain.c.log(),
             "without -J, c refuses porthole (it comes from 127.0.0.9)",
             p.stderr + chain.c.log()[-600:])


def test_jump_list(chain, echo, uecho):
    args, ports = forward_args(echo, uecho)
    fw = forwarder(chain, args, ["-J", chain.jump(), "-p", str(chain.c.port), "-o", "Reconnect=yes",
                                 "-o", "ReconnectMaxDelay=2", "-o", "ServerAliveInterval=2",
                                 "-o", "ServerAliveCountMax=2"])
    with fw:
        fw.start()
        check_all_forwards("-J a,b", fw, ports, echo, uecho)
        fx.check(f"target 127.0.0.2 port {chain.b.port}" in chain.a.log(),
                 "a's sshd opened the channel to b")
        fx.check(f"target 127.0.0.3 port {chain.c.port}" in chain.b.log(),
                 "b's sshd opened the channel to c")
        st = porthole_status(chain)
        hops = st and st.get("hops")
        fx.check(hops is not None and [h["state"] for h in hops] == ["ready", "ready"]
                 and hops[0]["name"].endswith(f"127.0.0.1:{chain.a.port}")
                 and st["session"]["state"] == "ready",
                 "status --json: both hops ready, in order", json.dumps(st))
        r = subprocess.run([fx.porthole_path(), "status"], env=fx.child_env(chain.c),
                           capture_output=True, text=True, timeout=10)
        fx.check("via " in r.stdout and "(hop 2): ready" in r.stdout,
                 "status text: one line per hop", r.stdout)

        # The middle hop goes down and comes back: everything comes back by itself.
        chain.b.stop_server()
        line = fw.wait_stderr(lambda l: "reconnecting in" in l, 15)
        fx.check(line is not None and "via " in line and "127.0.0.2" in line,
                 "the loss names the middle hop", fw.stderr())
        chain.b.start_server()
        deadline = time.monotonic() + 30
        ok = False
        while time.monotonic() < deadline and not ok:
            st = porthole_status(chain)
            ok = st is not None and st["session"]["state"] == "ready"
            time.sleep(0.2)
        fx.check(ok, "the chain is rebuilt once b is back", fw.stderr())
        fx.check(st["hops"][1]["reconnects"] >= 1 and st["session"]["reconnects"] >= 1,
                 "status counts the reconnects of b and c", json.dumps(st))
        check_all_forwards("after b came back", fw, ports, echo, uecho)
        rc, err = fw.stop()
        fx.check(rc == 0, "SIGTERM: exit 0", err)


def test_ssh_config(chain, echo, uecho):
    chain.ssh_config(f"""
Host hopa
  HostName 127.0.0.1
  Port {chain.a.port}
  ProxyCommand nc %h %p
Host hopb
  HostName 127.0.0.2
  Port {chain.b.port}
  ProxyJump hopa
Host target
  HostName 127.0.0.3
  Port {chain.c.port}
  ProxyJump hopb
""")
    args, ports = forward_args(echo, uecho)
    fw = forwarder(chain, args, ["-v"], dest="target")
    with fw:
        fw.start()
        check_all_forwards("~/.ssh/config ProxyJump (hopa by ProxyCommand nc)", fw, ports, echo,
                           uecho)
        fx.check(any("proxy command: nc 127.0.0.1" in l for l in fw.stderr_lines()),
                 "hopa was reached through its ProxyCommand", fw.stderr())
        st = porthole_status(chain)
        fx.check(st is not None and [h["name"] for h in st["hops"]] == ["hopa", "hopb"],
                 "the chain from the config: hopa, hopb", json.dumps(st))
    chain.ssh_config()


def test_proxy_commands(chain, echo, uecho):
    args, ports = forward_args(echo, uecho)
    fw = forwarder(chain, args, ["-p", str(chain.c.port), "-o", "ProxyCommand=nc %h %p"])
    with fw:
        fw.start()
        check_all_forwards("ProxyCommand nc %h %p", fw, ports, echo, uecho)
    # OpenSSH's client as the command, itself jumping through a (its -F file reaches the
    # ssh it starts for the jump too; porthole never reads that file).
    sshcfg = os.path.join(chain.c.dir, "ssh_config.for_ssh")
    with open(sshcfg, "w") as f:
        f.write(f"""Host *
  IdentityFile {chain.key}
  IdentitiesOnly yes
  BatchMode yes
  UserKnownHostsFile {chain.known_hosts}
  StrictHostKeyChecking yes
  User {chain.user}
Host hopa
  HostName 127.0.0.1
  Port {chain.a.port}
Host hopb
  HostName 127.0.0.2
  Port {chain.b.port}
  ProxyJump hopa
""")
    ssh_cmd = f"ssh -F {sshcfg} -W %h:%p hopb"
    args, ports = forward_args(echo, uecho)
    fw = forwarder(chain, args, ["-p", str(chain.c.port), "-o", f"ProxyCommand={ssh_cmd}"])
    with fw:
        fw.start()
        check_all_forwards("ProxyCommand ssh -W %h:%p -J a b", fw, ports, echo, uecho)


def test_profiles(chain, echo):
    cfg = os.path.join(chain.c.dir, "porthole.conf")
    with open(cfg, "w") as f:
        f.write(f"""UserKnownHostsFile {chain.known_hosts}
StrictHostKeyChecking yes
IdentityFile {chain.key}
IdentitiesOnly yes
Reconnect no
Profile office
  HostName 127.0.0.3
  Port {chain.c.port}
  User {chain.user}
  ProxyJump {chain.jump()}
  LocalForward {{lport}} 127.0.0.1:{echo.port}
Profile cloud
  HostName 127.0.0.3
  Port {chain.c.port}
  User {chain.user}
  ProxyCommand nc %h %p
  LocalForward {{lport}} 127.0.0.1:{echo.port}
""")
    text = open(cfg).read()
    for name in ("office", "cloud"):
        lport = fx.free_port()
        with open(cfg, "w") as f:
            f.write(text.replace("{lport}", str(lport)))
        r = subprocess.run([fx.porthole_path(), "-F", cfg, "check", name],
                           env=fx.child_env(chain.c), capture_output=True, text=True, timeout=10)
        want = f"proxyjump {chain.jump()}" if name == "office" else "proxycommand nc %h %p"
        fx.check(r.returncode == 0 and want in r.stdout, f"check {name} shows '{want}'",
                 r.stdout + r.stderr)
        fw = fx.Forwarder(chain.c, ["-L", f"{lport}:x:1"], start=False, wait_remote=False)
        fw.argv = [fx.porthole_path(), "-F", cfg, name]
        fw.timeout = 20
        with fw:
            fw.start()
            data = os.urandom(100000)
            fx.check(fx.echo_roundtrip(lport, data) == data,
                     f"profile {name}: its LocalForward reaches c")


def test_failures(chain):
    # A changed key on the middle hop.
    other = os.path.join(chain.c.dir, "other_key")
    wrong = fx.keygen(other)
    lines = []
    for s in (chain.a, chain.b, chain.c):
        with open(s.known_hosts) as f:
            for line in f.read().splitlines():
                if s is chain.b:
                    line = f"[127.0.0.2]:{chain.b.port} {wrong}"
                lines.append(line)
    bad = chain.c.write_known_hosts("known_hosts.changed", lines)
    argv = [fx.porthole_path(), "-o", f"UserKnownHostsFile={bad}", "-o",
            "StrictHostKeyChecking=yes", "-i", chain.key, "-J", chain.jump(),
            "-p", str(chain.c.port), "-L", f"{fx.free_port()}:127.0.0.1:9",
            f"{chain.user}@127.0.0.3"]
    p = subprocess.run(argv, env=fx.child_env(chain.c), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30, start_new_session=True)
    fx.check(p.returncode == 255, "a changed key on the middle hop: exit 255", p.stderr)
    fx.check(f"via {chain.user}@127.0.0.2:{chain.b.port}: host key for [127.0.0.2]:"
             f"{chain.b.port} has CHANGED" in p.stderr,
             "the message names the middle hop", p.stderr)

    # A hop that refuses the key, and one that cannot be resolved.
    for jump, want in ((f"nosuchuser@127.0.0.1:{chain.a.port}",
                        f"via nosuchuser@127.0.0.1:{chain.a.port}: nosuchuser@127.0.0.1: "),
                       ("hop.invalid", "via hop.invalid: cannot resolve hop.invalid")):
        p = subprocess.run([fx.porthole_path(), "-o", f"UserKnownHostsFile={chain.known_hosts}",
                            "-o", "StrictHostKeyChecking=yes", "-i", chain.key, "-J", jump,
                            "-p", str(chain.c.port), "-L", f"{fx.free_port()}:127.0.0.1:9",
                            f"{chain.user}@127.0.0.3"], env=fx.child_env(chain.c),
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30,
                           start_new_session=True)
        fx.check(p.returncode == 255 and want in p.stderr,
                 f"-J {jump}: exit 255, the message names the hop", p.stderr)

    # A cycle.
    chain.ssh_config("Host x\n  ProxyJump y\nHost y\n  ProxyJump z\nHost z\n  ProxyJump y\n")
    p = subprocess.run([fx.porthole_path(), "-L", "1234:127.0.0.1:9", "x"],
                       env=fx.child_env(chain.c), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30, start_new_session=True)
    fx.check(p.returncode == 2 and "ProxyJump cycle: x -> y -> z -> y" in p.stderr,
             "a ProxyJump cycle is refused with the chain printed", p.stderr)
    chain.ssh_config()

    # A ProxyCommand that fails.
    cmd = "echo preparing >&2; echo 'no route to the moon' >&2; exit 3"
    p = subprocess.run([fx.porthole_path(), "-o", f"ProxyCommand={cmd}",
                        "-L", f"{fx.free_port()}:127.0.0.1:9", "moon"],
                       env=fx.child_env(chain.c), stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, timeout=30, start_new_session=True)
    fx.check(p.returncode == 255 and "exited with status 3: no route to the moon" in p.stderr,
             "a failing ProxyCommand: exit 255, its status and last stderr line", p.stderr)
    fx.check("preparing" in p.stderr, "its stderr is passed on", p.stderr)


def main():
    fx.skip_in_ssh_mode("checks porthole's chain")
    if not shutil.which("nc"):
        fx.skip("nc (netcat-openbsd) not installed")
    chain = Chain()
    echo = fx.EchoServer()
    uecho = UdpEcho()
    try:
        chain.ssh_config()
        test_direct_refused(chain)
        test_jump_list(chain, echo, uecho)
        test_ssh_config(chain, echo, uecho)
        test_proxy_commands(chain, echo, uecho)
        test_profiles(chain, echo)
        test_failures(chain)
    finally:
        uecho.close()
        echo.close()
        chain.close()


if __name__ == "__main__":
    fx.run(main)
