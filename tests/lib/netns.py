"""Network namespaces for porthole's scenario test and reconnect benchmark (needs root).

Net is a context manager that makes throw-away network namespaces (names carry this
process's pid), joins them with veth pairs whose two ends are both inside namespaces it
made, and deletes everything again: on exit, on an exception, and on SIGTERM (fixture.run
turns SIGTERM into SystemExit, so `finally` and __exit__ run). The host's own namespace is
never touched: no interface, address, route or firewall rule is added to it, and traffic only
ever goes between the namespaces a Net made.

    with netns.Net("sc") as net:
        a, b = net.add("a"), net.add("b")
        net.link(a, "eth0", "10.77.9.2/24", b, "eth0", "10.77.9.1/24")
        fx.in_netns(a, socket.create_connection, ("10.77.9.1", 22))

Standard library only; uses iproute2's `ip` and, for NAT, `nft` (nftables).
"""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import fixture as fx

PREFIX = "porthole-"  # every namespace this module makes: porthole-<tag>-<role>-<pid>


def ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


def run_in(ns, *argv, check=True, input=None):
    """Run argv inside namespace ns (`ip netns exec`); return the CompletedProcess."""
    r = subprocess.run(["ip", "netns", "exec", ns, *argv], capture_output=True, text=True,
                       input=input, stdin=None if input is not None else subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise RuntimeError(f"[{ns}] {' '.join(argv)}: {(r.stderr or r.stdout).strip()}")
    return r


def unavailable():
    """Why network namespaces cannot be used here, or None when they can."""
    if os.geteuid() != 0:
        return "needs root (network namespaces)"
    if shutil.which("ip") is None:
        return "iproute2's ip is not installed"
    probe = f"{PREFIX}probe-{os.getpid()}"
    r = ip("netns", "add", probe, check=False)
    if r.returncode != 0:
        return f"ip netns add failed: {r.stderr.strip()}"
    ip("netns", "del", probe, check=False)
    return None


def _pid_alive(pid):
    """True if pid runs (a zombie, killed but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def remove_stale():
    """Delete namespaces an earlier run of ours left behind (its pid is gone): a run killed
    with SIGKILL cannot clean up after itself."""
    r = ip("netns", "list", check=False)
    for line in r.stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if not name.startswith(PREFIX):
            continue
        tail = name.rsplit("-", 1)[-1]
        if tail.isdigit() and not _pid_alive(int(tail)):
            _kill_inside(name)
            ip("netns", "del", name, check=False)


def _kill_inside(ns):
    for pid in ip("netns", "pids", ns, check=False).stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass


class Net:
    """Namespaces and the links between them; everything is removed on exit."""

    def __init__(self, tag):
        self.tag = tag
        self.names = []
        self._old_term = None

    def __enter__(self):
        why = unavailable()
        if why:
            fx.skip(why)
        remove_stale()
        return self

    def add(self, role):
        """A new namespace with lo up; returns its name."""
        name = f"{PREFIX}{self.tag}-{role}-{os.getpid()}"
        ip("netns", "add", name)
        self.names.append(name)
        ip("-n", name, "link", "set", "lo", "up")
        return name

    def link(self, ns_a, dev_a, addr_a, ns_b, dev_b, addr_b):
        """A veth pair made directly inside ns_a and ns_b (never in this namespace), up,
        with addresses (CIDR) on each end."""
        ip("-n", ns_a, "link", "add", dev_a, "type", "veth", "peer", "name", dev_b,
           "netns", ns_b)
        for ns, dev, addr in ((ns_a, dev_a, addr_a), (ns_b, dev_b, addr_b)):
            if addr:
                ip("-n", ns, "addr", "add", addr, "dev", dev)
            ip("-n", ns, "link", "set", dev, "up")

    def route(self, ns, dest, via):
        ip("-n", ns, "route", "add", dest, "via", via)

    def forwarding(self, ns):
        """Make ns a router (the sysctl is per namespace)."""
        run_in(ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")

    def nft(self, ns, ruleset):
        """Load an nftables ruleset into ns (nft -f -)."""
        if shutil.which("nft") is None:
            fx.skip("nft (nftables) is not installed: scripts/deps installs it")
        run_in(ns, "nft", "-f", "-", input=ruleset)

    def set_link(self, ns, dev, up):
        ip("-n", ns, "link", "set", dev, "up" if up else "down")

    def close(self):
        for name in reversed(self.names):
            _kill_inside(name)
            ip("netns", "del", name, check=False)  # its veth ends go with it
        self.names = []

    def __exit__(self, *exc):
        self.close()
        return False


# ---------------------------------------------------------------- probes from inside


def connect(ns, host, port, timeout=5.0):
    """A TCP connection made from inside ns (TCP_NODELAY)."""
    s = fx.in_netns(ns, socket.create_connection, (host, port), timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def udp_socket(ns, timeout=2.0):
    s = fx.in_netns(ns, socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    return s


def echo_once(ns, host, port, payload, timeout=5.0):
    """Connect from ns, send payload, half-close, read to EOF; return what came back, or
    None if anything failed (refused, reset, timed out)."""
    try:
        s = connect(ns, host, port, timeout)
    except OSError:
        return None
    try:
        s.settimeout(timeout)
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        return fx.recv_all(s)
    except OSError:
        return None
    finally:
        s.close()


def is_listening(pid, port):
    """True if a TCP socket listens on `port` in the network namespace of process pid (read
    from /proc/PID/net/tcp: no connection is made)."""
    for name in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{name}") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        return True
        except (OSError, StopIteration):
            continue
    return False


def wait_listening(pid, port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not is_listening(pid, port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


# ---------------------------------------------------------------- servers inside


class CountingEcho:
    """A TCP echo server (like fixture.EchoServer) and a UDP echo, on (host, tcp_port) and
    (host, udp_port) inside ns, counting the bytes they received and sent."""

    def __init__(self, ns, host, tcp_port, udp_port):
        self.rx = self.tx = self.conns = 0
        self.udp_rx = self.udp_tx = self.datagrams = 0
        self._lock = threading.Lock()
        self.tcp = fx.in_netns(ns, socket.socket, socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind((host, tcp_port))
        self.tcp.listen(64)
        self.udp = fx.in_netns(ns, socket.socket, socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind((host, udp_port))
        threading.Thread(target=self._accept, daemon=True).start()
        threading.Thread(target=self._udp, daemon=True).start()

    def _accept(self):
        while True:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            with self._lock:
                self.conns += 1
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        try:
            c.settimeout(60)
            while True:
                b = c.recv(65536)
                if not b:
                    break
                with self._lock:
                    self.rx += len(b)
                c.sendall(b)
                with self._lock:
                    self.tx += len(b)
            c.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        finally:
            c.close()

    def _udp(self):
        while True:
            try:
                data, addr = self.udp.recvfrom(65535)
            except OSError:
                return
            if addr is None:  # shut down by close()
                return
            with self._lock:
                self.udp_rx += len(data)
                self.datagrams += 1
            try:
                self.udp.sendto(data, addr)
                with self._lock:
                    self.udp_tx += len(data)
            except OSError:
                pass

    def counts(self):
        with self._lock:
            return dict(rx=self.rx, tx=self.tx, conns=self.conns, udp_rx=self.udp_rx,
                        udp_tx=self.udp_tx, datagrams=self.datagrams)

    def close(self):
        for s in (self.tcp, self.udp):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


# ---------------------------------------------------------------- porthole inside


def porthole_in(ns, sshd, argv, env=None, timeout=10.0):
    """fixture.Forwarder running `porthole ARGV` inside ns, started: ready when its stderr
    says "connected to" (forward ports are the caller's to check, inside the namespaces).
    env: overrides on top of fixture.child_env(sshd), e.g. a HOME and XDG_RUNTIME_DIR of its
    own for each side."""
    fw = fx.Forwarder(sshd, env=env, timeout=timeout, start=False)
    fw.argv = ["ip", "netns", "exec", ns, fx.porthole_path(), *argv]
    return fw.start()
