"""Shared helpers for porthole's benchmarks (tests/bench/*.py). Not tests: nothing here is
run by `meson test`, and no timing is ever a pass/fail criterion.

Reuses tests/lib/fixture.py (the throw-away sshd, Forwarder, free_port). Adds:
  - the common cipher/MAC (sshd config lines and ssh client flags), so porthole, the
    libssh2 ceiling and `ssh -L` all run aes128-ctr + hmac-sha2-256;
  - SshForwarder: OpenSSH's `ssh -N -L` as a Forwarder, whatever PORTHOLE_TEST_WITH_SSH says;
  - local servers run in a separate Python process (so they never share a GIL with the
    client side), started by start_server(kind, ...):
      bulk N   two ports: a sink (reads to EOF, answers the byte count as 8 bytes little
               endian, closes) and a source (sends N zero bytes, then EOF);
      byte     writes one byte on accept, then closes;
      reply    reads one byte, writes one byte, then closes;
      hold     writes one byte on accept and keeps the connection open; reads and
               discards; on each stdin line prints "<open connections> <bytes read>";
      echo     writes back whatever it reads, at once (TCP_NODELAY), until EOF;
      http     HTTP-ish: reads a request up to its empty line, answers a short
               "HTTP/1.0 200" response at once, then closes;
      delay U MS  a TCP relay to 127.0.0.1:U that holds every chunk MS ms in each
               direction (a userspace stand-in for netem's delay; no bandwidth limit);
  - a round trip in the way of the SSH connection (DelayedPath): the jump host in a network
    namespace behind `tc netem` (JumpNamespace), or, where netem cannot be had, behind the
    `delay` relay; used by socks_burst.py and throughput.py --rtt-ms;
  - /proc readers (CPU time, VmRSS/VmHWM) and small statistics.

The porthole under test is $PORTHOLE, else build-rel/porthole (a release build).
Run as a script only to serve: `python3 benchlib.py serve KIND ARGS...`.
"""

import os
import platform
import asyncio
import collections
import ipaddress
import json
import resource
import selectors
import signal
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "lib"))
os.environ.setdefault("PORTHOLE", os.path.join(ROOT, "build-rel", "porthole"))

import fixture as fx  # noqa: E402

CIPHER = "aes128-ctr"
MAC = "hmac-sha2-256"
SSHD_CIPHER_CONFIG = [f"Ciphers {CIPHER}", f"MACs {MAC}"]
SSH_CIPHER_ARGS = ["-c", CIPHER, "-m", MAC]


def use_cipher(cipher):
    """Make every later sshd, ssh and porthole of this run use cipher (with MAC)."""
    global CIPHER
    CIPHER = cipher
    SSHD_CIPHER_CONFIG[:] = [f"Ciphers {CIPHER}", f"MACs {MAC}"]
    SSH_CIPHER_ARGS[:] = ["-c", CIPHER, "-m", MAC]
MIB = 1 << 20
BIG = 1 << 20  # socket I/O size for the bulk client and server
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------- forwarders


class SshForwarder(fx.Forwarder):
    """OpenSSH's `ssh -N -F none -o BatchMode=yes ... -c aes128-ctr -m hmac-sha2-256 -L ...`.

    Ready when every -L port listens (ssh prints no ready line).
    """

    def __init__(self, sshd, forward_args, **kw):
        extra = list(kw.pop("extra_args", ())) + SSH_CIPHER_ARGS
        super().__init__(sshd, forward_args, ssh_mode=True, extra_args=extra, **kw)

    def _wait_ready(self):
        self._ready_line.set()  # nothing to wait for on stderr
        super()._wait_ready()


def porthole_forwarder(sshd, forward_args, **kw):
    """porthole with the same -c and -m as SshForwarder (the sshd offers only those anyway)."""
    extra = list(kw.pop("extra_args", ())) + SSH_CIPHER_ARGS
    return fx.Forwarder(sshd, forward_args, ssh_mode=False, extra_args=extra, **kw)


def porthole_knows(*opts, binary=None):
    """True if this porthole (or binary) accepts every `-o KEY=VALUE` in opts (`porthole -o
    ... check` exits 0); an older build answers "unknown keyword" and status 2."""
    argv = [binary or fx.porthole_path()]
    for o in opts:
        argv += ["-o", o]
    r = subprocess.run(argv + ["check", "127.0.0.1"], capture_output=True, text=True)
    return r.returncode == 0


def relay_command(binary=None):
    """The RelayCommand that has sshd start this same porthole's (or binary's) relay end."""
    return f"{binary or fx.porthole_path()} relay"


# porthole's ways of carrying a forwarded TCP connection (issue 13): name -> OpenVia value.
VIAS = {"ph-chan": "channel", "ph-relay": "relay"}


def porthole_via_args(via, binary=None):
    """-o options for porthole (or binary, with its own relay) opening its -L/-D
    connections `via` "relay" (TCP streams of `porthole relay`, which sshd starts as
    RelayCommand) or "channel" (direct-tcpip, as before issue 13). None if this build has
    no OpenVia: then "channel" is what it does anyway ([] for it), and "relay" is not
    available."""
    if not porthole_knows(f"OpenVia={via}", binary=binary):
        return [] if via == "channel" else None
    args = ["-o", f"OpenVia={via}"]
    if via != "channel":
        args += ["-o", f"RelayCommand={relay_command(binary)}"]
    return args


def porthole_vias(tools=None):
    """{tool: porthole -o args} for the VIAS tools (or those of tools that are) this build
    can run; each one left out (no OpenVia: the tree before issue 13) is said on stdout."""
    out = {}
    for tool, via in VIAS.items():
        if tools is not None and tool not in tools:
            continue
        args = porthole_via_args(via)
        if args is None:
            print(f"# {tool}: this porthole has no OpenVia (issue 13 not built in): left out",
                  flush=True)
        else:
            out[tool] = args
    return out


def via_counts(fw):
    """(via_relay, via_channel): the connections porthole forwarder fw carried over relay
    streams and over channels, summed over its forwards, from `porthole status --json`
    (its entry is the one with fw's pid); None if status does not say (an older build)."""
    try:
        p = subprocess.run([fx.porthole_path(), "status", "--json"], env=fw.env,
                           capture_output=True, text=True, timeout=10,
                           stdin=subprocess.DEVNULL)
        st = json.loads(p.stdout)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    for inst in st if isinstance(st, list) else [st]:
        if inst.get("pid") == fw.proc.pid:
            fwds = inst.get("forwards", [])
            if not all("via_relay" in f for f in fwds):
                return None
            return (sum(f["via_relay"] for f in fwds), sum(f["via_channel"] for f in fwds))
    return None


def report_via(name, fw):
    """One line: how the connections of porthole forwarder fw went (relay or channel), so
    that a ph-relay figure that was really carried by channels cannot pass unnoticed."""
    v = via_counts(fw)
    if v is None:
        print(f"# {name}: porthole status does not say how its connections went", flush=True)
    else:
        print(f"# {name}: {v[0]} connections via relay, {v[1]} via channel (porthole status)",
              flush=True)
    return v


def porthole_version():
    """The first line of `porthole -V`, and the commit of the tree it was built from."""
    r = subprocess.run([fx.porthole_path(), "-V"], capture_output=True, text=True)
    first = ((r.stdout or r.stderr).splitlines() or ["?"])[0]
    return f"porthole -V: {first}; tree {tree_of(fx.porthole_path())}"


def tree_of(binary):
    """`git describe` of the work tree binary was built in (build-rel/ inside it), or "?"."""
    g = subprocess.run(["git", "-C", os.path.dirname(os.path.realpath(binary)), "describe",
                        "--always", "--dirty"], capture_output=True, text=True)
    return g.stdout.strip() or "?"


def tool_versions():
    ssh = subprocess.run(["ssh", "-V"], capture_output=True, text=True).stderr.strip()
    libssh2 = "?"
    try:
        # The library porthole runs with (often a static 1.11.1, not the system's).
        v = fx.porthole_info().get("libssh2")
        libssh2 = ".".join(map(str, v)) if v else "?"
    except Exception:
        pass
    return ssh, libssh2


def machine_line():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ssh, libssh2 = tool_versions()
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"# machine: {os.cpu_count()} CPUs ({model}), kernel {platform.release()}, "
            f"load {load}; {ssh}; libssh2 {libssh2}; porthole {os.environ['PORTHOLE']}"
            f"\n# {porthole_version()}")


# ---------------------------------------------------------------- /proc


def proc_cpu(pid, children=False):
    """utime+stime of pid in seconds (plus its reaped children's if children=True)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime stime (fields 14, 15)
    if children:
        ticks += int(fields[13]) + int(fields[14])  # cutime cstime
    return ticks / CLK_TCK


def _descendants(pid):
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        for k in kids.get(p, []):
            out.append(k)
            todo.append(k)
    return out


def tree_cpu(pid):
    """CPU seconds used so far by pid and all its descendants, live or reaped."""
    total = 0.0
    for p in [pid] + _descendants(pid):
        try:
            total += proc_cpu(p, children=True)
        except (OSError, ValueError, IndexError):
            pass
    return total


def proc_status_kib(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


# ---------------------------------------------------------------- statistics


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def percentile(xs, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, -(-len(s) * p // 100) - 1))
    return s[int(k)]


def ratio(a, b):
    return a / b if b else float("nan")


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))  # root may raise hard
        except (ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            return hard
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------- servers (client side)


class Server:
    """A benchmark server in its own process: `ports` are what it listens on."""

    def __init__(self, kind, *args, wrap=()):
        """wrap: a command prefix, e.g. ("ip", "netns", "exec", NAME) to serve in a netns."""
        self.proc = subprocess.Popen([*wrap, sys.executable, os.path.abspath(__file__), "serve",
                                      kind, *map(str, args)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     bufsize=1)
        fx._children.append(self.proc)
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"benchmark server {kind} did not start")
        self.ports = [int(p) for p in line.split()]

    def ask(self):
        """hold servers: (connections open now, bytes received so far)."""
        self.proc.stdin.write("?\n")
        self.proc.stdin.flush()
        conns, received = self.proc.stdout.readline().split()
        return int(conns), int(received)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------- a round trip in the way

NETNS_PREFIX = "phb-jump-"
NS_NET = "10.203.0.0/30"
HOST_IP, JUMP_IP = "10.203.0.1", "10.203.0.2"


def ip(*args, check=True):
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")
    return r


class JumpNamespace:
    """A network namespace joined to this one by a veth pair on NS_NET, with netem delay.

    Only the addresses of this pair are involved: traffic to JUMP_IP goes to the namespace
    this benchmark made, nowhere else."""

    def __init__(self, one_way_ms):
        pid = os.getpid()
        self.name = f"{NETNS_PREFIX}{pid}"
        self.veth_host, self.veth_ns = f"phb{pid}h"[:15], f"phb{pid}n"[:15]
        self.one_way_ms = one_way_ms
        self.made_ns = self.made_veth = False

    def wrap(self):
        return ("ip", "netns", "exec", self.name)

    def setup(self):
        """Raises RuntimeError naming what failed (netem missing included)."""
        if os.geteuid() != 0:
            raise RuntimeError("not root")
        ours = ipaddress.ip_network(NS_NET)
        for line in ip("-4", "-o", "addr", "show").stdout.splitlines():
            words = line.split()
            net = ipaddress.ip_interface(words[words.index("inet") + 1]).network
            if net.overlaps(ours):
                raise RuntimeError(f"{NS_NET} overlaps {net} on {words[1]}: not touching it")
        ip("netns", "add", self.name)
        self.made_ns = True
        ip("link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_ns,
           "netns", self.name)
        self.made_veth = True
        ip("addr", "add", f"{HOST_IP}/30", "dev", self.veth_host)
        ip("link", "set", self.veth_host, "up")
        ip("-n", self.name, "addr", "add", f"{JUMP_IP}/30", "dev", self.veth_ns)
        ip("-n", self.name, "link", "set", self.veth_ns, "up")
        ip("-n", self.name, "link", "set", "lo", "up")
        if float(self.one_way_ms) == 0:
            return  # RTT 0: the namespace and veth pair without netem
        for ns_args, dev in (((), self.veth_host), (("-n", self.name), self.veth_ns)):
            r = subprocess.run(["tc", *ns_args, "qdisc", "add", "dev", dev, "root", "netem",
                                "delay", f"{self.one_way_ms}ms"], capture_output=True, text=True)
            if r.returncode != 0:
                raise RuntimeError(f"tc qdisc add dev {dev} root netem delay "
                                   f"{self.one_way_ms}ms: {r.stderr.strip()} "
                                   "(the kernel needs sch_netem)")

    def kill_inside(self):
        """SIGKILL what still runs in the namespace: only this script's servers and their
        children (say, an sshd pre-auth child whose peer vanished with the veth pair)."""
        if not self.made_ns:
            return
        for pid in ip("netns", "pids", self.name, check=False).stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (OSError, ValueError):
                pass

    def cleanup(self):
        self.kill_inside()
        if self.made_veth:
            ip("link", "del", self.veth_host, check=False)  # takes its peer with it
            self.made_veth = False
        if self.made_ns:
            ip("netns", "del", self.name, check=False)
            self.made_ns = False


def netem_unavailable():
    """Why a JumpNamespace with netem cannot be made here (a 1 ms one is made and removed
    again), or None when it can."""
    ns = JumpNamespace("1")
    try:
        ns.setup()
    except RuntimeError as e:
        return str(e)
    finally:
        ns.cleanup()
    return None


def tcp_rtt_ms(host, port, n=5):
    """Median time of a TCP connect() (one SYN / SYN-ACK round trip) in ms."""
    xs = []
    for _ in range(n):
        t0 = time.perf_counter()
        with socket.create_connection((host, port), timeout=5):
            xs.append((time.perf_counter() - t0) * 1000)
    return median(xs)


class DelayedPath:
    """A throw-away sshd (ciphers of SSHD_CIPHER_CONFIG) rtt_ms round trip away, and the
    benchmark's servers beside it. A context manager; mode:
      "netem"  the sshd in a JumpNamespace (ListenAddress JUMP_IP) behind `tc netem delay
               rtt/2` on both ends of the veth pair (rtt 0: no netem, label "netns0");
               the servers run inside the namespace on its 127.0.0.1;
      "delay"  a loopback sshd behind the userspace `delay` relay (rtt/2 each way; TCP
               ends on both sides of it, so TCP itself never sees the round trip);
      "auto"   netem, else (printed) the delay relay if fallback, else Unavailable.
    After __enter__: label ("netem20", "netns0", "delay20"), sshd, fwd_kw (port= and
    known_hosts= for fx.Forwarder, SshForwarder, porthole_forwarder), ssh_host and
    ssh_port (where an SSH client connects), relay (the delay relay's Server, or None).
    server(kind, *args): a Server beside the sshd (its ports as sshd sees them);
    near(port): a port here that reaches such a server's port through another delay relay
    of the same delay (None under netem: the namespace's loopback is out of reach)."""

    class Unavailable(Exception):
        pass

    def __init__(self, rtt_ms, mode="auto", fallback=False):
        self.rtt_ms, self.mode, self.fallback = rtt_ms, mode, fallback
        self.half = rtt_ms / 2
        self.ns = None
        self.relay = None
        self._ctx = []  # what __exit__ closes, last first

    def _enter(self, cm):
        v = cm.__enter__()
        self._ctx.append(cm)
        return v

    def __enter__(self):
        try:
            self._setup()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _setup(self):
        mode = self.mode
        if mode in ("auto", "netem"):
            self.ns = JumpNamespace(f"{self.half:g}")
            try:
                self.ns.setup()
                mode = "netem"
            except RuntimeError as e:
                self.ns.cleanup()
                self.ns = None
                print(f"# netem scenario unavailable: {e}", flush=True)
                if mode == "netem" or not self.fallback:
                    raise DelayedPath.Unavailable(str(e))
                mode = "delay"
                print(f"# using a userspace delay relay: {self.half:g} ms each way, in front "
                      f"of a loopback sshd (not netem)", flush=True)
        self.mode = mode
        if mode == "netem":
            self.label = f"{'netem' if self.half else 'netns'}{self.rtt_ms:g}"
            self.sshd = self._enter(fx.Sshd(netns=self.ns.name, host=JUMP_IP,
                                            extra_config=SSHD_CIPHER_CONFIG))
            self.fwd_kw = {}
            self.ssh_host, self.ssh_port = JUMP_IP, self.sshd.port
            return
        self.label = f"delay{self.rtt_ms:g}"
        self.sshd = self._enter(fx.Sshd(extra_config=SSHD_CIPHER_CONFIG))
        self.relay = self._enter(Server("delay", self.sshd.port, self.half))
        self.ssh_host, self.ssh_port = self.sshd.host, self.relay.ports[0]
        kh = self.sshd.write_known_hosts(
            "known_hosts.relay", [f"[{self.sshd.host}]:{self.ssh_port} {line}"
                                  for line in self.sshd.hostkey_pubs])
        self.fwd_kw = dict(port=self.ssh_port, known_hosts=kh)

    def server(self, kind, *args):
        return self._enter(Server(kind, *args, wrap=self.ns.wrap() if self.ns else ()))

    def near(self, port):
        if self.ns is not None:
            return None
        return self._enter(Server("delay", port, self.half)).ports[0]

    def __exit__(self, *exc):
        while self._ctx:
            try:
                self._ctx.pop().__exit__(None, None, None)
            except Exception:
                pass
        if self.ns is not None:
            self.ns.cleanup()


# ---------------------------------------------------------------- servers (server side)


def _listener():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", 0))
    s.listen(4096)
    return s


def _accept_forever(lsock, handler):
    while True:
        c, _ = lsock.accept()
        threading.Thread(target=handler, args=(c,), daemon=True).start()


def _sink(c):
    buf = bytearray(BIG)
    n = 0
    try:
        while True:
            k = c.recv_into(buf)
            if k == 0:
                break
            n += k
        c.sendall(struct.pack("<Q", n))
        c.shutdown(socket.SHUT_WR)
        while c.recv(65536):
            pass
    except OSError:
        pass
    finally:
        c.close()


def payload_block():
    """The 1 MiB block bulk transfers repeat: zeros, or random bytes with
    $BENCH_PAYLOAD=random (what compression cannot shrink: zlib's 32 KiB window never
    reaches the previous copy)."""
    if os.environ.get("BENCH_PAYLOAD") == "random":
        return memoryview(os.urandom(BIG))
    return memoryview(bytes(BIG))


def _source(total):
    zeros = payload_block()

    def handle(c):
        left = total
        try:
            while left > 0:
                left -= c.send(zeros[:min(BIG, left)])
            c.shutdown(socket.SHUT_WR)
            while c.recv(65536):
                pass
        except OSError:
            pass
        finally:
            c.close()
    return handle


def _serve_bulk(total):
    sink, source = _listener(), _listener()
    print(sink.getsockname()[1], source.getsockname()[1], flush=True)
    threading.Thread(target=_accept_forever, args=(sink, _sink), daemon=True).start()
    _accept_forever(source, _source(total))


def _serve_byte():
    ls = _listener()
    print(ls.getsockname()[1], flush=True)
    while True:
        c, _ = ls.accept()
        try:
            c.send(b"x")
        except OSError:
            pass
        c.close()


def _serve_reply():
    ls = _listener()
    print(ls.getsockname()[1], flush=True)
    while True:
        c, _ = ls.accept()
        try:
            if c.recv(1):
                c.send(b"x")
        except OSError:
            pass
        c.close()


def _serve_hold():
    raise_nofile(65536)
    ls = _listener()
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, "listen")
    sel.register(sys.stdin, selectors.EVENT_READ, "stdin")
    print(ls.getsockname()[1], flush=True)
    conns = received = 0
    while True:
        for key, _ in sel.select():
            if key.data == "listen":
                while True:
                    try:
                        c, _ = ls.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    try:
                        c.send(b"x")
                    except OSError:
                        pass
                    sel.register(c, selectors.EVENT_READ, "conn")
                    conns += 1
            elif key.data == "stdin":
                if not sys.stdin.readline():
                    return
                print(conns, received, flush=True)
            else:
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    data = b""
                received += len(data)
                if not data:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()
                    conns -= 1


def _echo(c):
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
    except OSError:
        pass
    finally:
        c.close()


def _serve_echo():
    ls = _listener()
    print(ls.getsockname()[1], flush=True)
    _accept_forever(ls, _echo)


HTTP_RESPONSE = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"


def _serve_http():
    """One thread, non-blocking: no thread start per connection in the way of a burst."""
    raise_nofile(65536)
    ls = _listener()
    ls.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(ls, selectors.EVENT_READ, None)
    print(ls.getsockname()[1], flush=True)
    while True:
        for key, _ in sel.select():
            if key.data is None:
                while True:
                    try:
                        c, _ = ls.accept()
                    except BlockingIOError:
                        break
                    c.setblocking(False)
                    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    sel.register(c, selectors.EVENT_READ, [b""])
                continue
            c, req = key.fileobj, key.data
            try:
                b = c.recv(4096)
            except OSError:
                b = b""
            req[0] += b
            if b and b"\r\n\r\n" not in req[0]:
                continue
            sel.unregister(c)
            if b:
                try:
                    c.send(HTTP_RESPONSE)  # small: the socket buffer takes it whole
                except OSError:
                    pass
            c.close()  # the whole request was read: a FIN, not a RST


class _DelayPipe:
    """One direction of the delay relay: chunks leave `delay` s after they arrived, in order.
    With a rate (bytes/s), also a bottleneck link: a chunk starts on the link once the one
    before it has gone out, takes len / rate to cross, and leaves `delay` s after that, so
    what arrives faster than the rate queues here, without limit, as at a router with a deep
    buffer (what senders keep in flight beyond the path's bandwidth-delay product waits)."""

    def __init__(self, loop, writer, delay, rate=0.0):
        self.loop, self.writer, self.delay, self.rate = loop, writer, delay, rate
        self.queue = collections.deque()  # (due, bytes, or None for EOF)
        self.timer = None
        self.free_at = 0.0  # when the link has sent what is queued

    def put(self, data):
        now = self.loop.time()
        if self.rate > 0:
            self.free_at = max(now, self.free_at) + (len(data) if data else 0) / self.rate
            now = self.free_at
        self.queue.append((now + self.delay, data))
        if self.timer is None:
            self.timer = self.loop.call_at(self.queue[0][0], self._flush)

    def _flush(self):
        self.timer = None
        now = self.loop.time()
        while self.queue and self.queue[0][0] <= now:
            _, data = self.queue.popleft()
            try:
                if data is None:
                    if self.writer.can_write_eof():
                        self.writer.write_eof()
                else:
                    self.writer.write(data)
            except (OSError, RuntimeError):
                self.queue.clear()
                return
        if self.queue:
            self.timer = self.loop.call_at(self.queue[0][0], self._flush)


async def _delay_conn(reader, writer, upstream_port, delay, rate):
    loop = asyncio.get_running_loop()
    try:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", upstream_port)
    except OSError:
        writer.close()
        return
    for w in (writer, up_writer):
        w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def pump(src, pipe):
        try:
            while True:
                data = await src.read(65536)
                pipe.put(data or None)
                if not data:
                    return
        except OSError:
            pipe.put(None)

    to_up, to_down = (_DelayPipe(loop, up_writer, delay, rate),
                      _DelayPipe(loop, writer, delay, rate))
    await asyncio.gather(pump(reader, to_up), pump(up_reader, to_down))
    await asyncio.sleep(delay + 0.05 + max(0.0, to_up.free_at - loop.time(),
                                            to_down.free_at - loop.time()))  # the last ones
    for w in (writer, up_writer):
        w.close()


def _serve_delay(upstream_port, delay_ms, mbit=0.0):
    async def main():
        srv = await asyncio.start_server(
            lambda r, w: _delay_conn(r, w, upstream_port, delay_ms / 1000.0, mbit * 1e6 / 8),
            "127.0.0.1", 0)
        print(srv.sockets[0].getsockname()[1], flush=True)
        await srv.serve_forever()
    asyncio.run(main())


def _serve(argv):
    kind = argv[0]
    if kind == "bulk":
        _serve_bulk(int(argv[1]))
    elif kind == "byte":
        _serve_byte()
    elif kind == "reply":
        _serve_reply()
    elif kind == "hold":
        _serve_hold()
    elif kind == "http":
        _serve_http()
    elif kind == "echo":
        _serve_echo()
    elif kind == "delay":
        _serve_delay(int(argv[1]), float(argv[2]), float(argv[3]) if len(argv) > 3 else 0.0)
    else:
        sys.exit(f"unknown server kind {kind}")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "serve":
        try:
            _serve(sys.argv[2:])
        except (KeyboardInterrupt, BrokenPipeError):
            pass
    else:
        sys.exit("usage: benchlib.py serve bulk N | byte | reply | hold | http | echo | delay PORT MS [MBIT]")
