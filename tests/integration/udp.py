#!/usr/bin/env python3
"""UDP over the stream: -L .../udp and -R .../udp through the relay (the built porthole,
started by sshd as RelayCommand). dig against a dnsmasq the test starts; datagrams of every
size arrive whole; 50 concurrent flows get only their own replies; idle flows are freed and
the cap evicts the least recently used; a missing relay is explained and TCP keeps working."""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import fixture as fx
from relaytcp import relay_pids


class UdpEcho:
    """Echoes every datagram back to its sender, from 127.0.0.1:random."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.sources = set()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                return
            self.sources.add(addr)
            try:
                self.sock.sendto(data, addr)
            except OSError:
                pass

    def close(self):
        self.sock.close()


def udp_client(timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    return s


def roundtrip(port, payload, tries=5):
    """Send payload to 127.0.0.1:port and wait for it to come back (retrying, as UDP may)."""
    s = udp_client(2.0)
    with s:
        for _ in range(tries):
            s.sendto(payload, ("127.0.0.1", port))
            try:
                data, _ = s.recvfrom(65535)
                return data
            except socket.timeout:
                continue
    return None


def relay_command():
    return f"{fx.porthole_path()} relay"


def main():
    fx.skip_in_ssh_mode("ssh has no UDP forwarding")
    with fx.Sshd() as sshd, fx.EchoServer() as tcp_echo:
        echo = UdpEcho()
        lport, tport = fx.free_port(), fx.free_port()
        fw = fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}/udp",
                                 "-L", f"{tport}:127.0.0.1:{tcp_echo.port}"],
                          extra_args=["-o", f"RelayCommand={relay_command()}",
                                      "-o", "UdpIdleTimeout=3", "-o", "UdpMaxFlows=60"])
        with fw:
            # Sizes, boundaries preserved.
            for size in (1, 1400, 9000, 65507):
                payload = os.urandom(size)
                got = roundtrip(lport, payload)
                fx.check(got == payload, f"a {size}-byte datagram arrives whole, in one piece",
                         f"got {None if got is None else len(got)} bytes")
            # 50 flows from distinct source ports, each gets only its own replies.
            socks = [udp_client() for _ in range(50)]
            for i, s in enumerate(socks):
                s.sendto(b"warm %d" % i, ("127.0.0.1", lport))
            for s in socks:
                try:
                    s.recvfrom(65535)
                except socket.timeout:
                    pass
            ok = True
            for rnd in range(3):
                for i, s in enumerate(socks):
                    s.sendto(b"flow %d round %d" % (i, rnd), ("127.0.0.1", lport))
                for i, s in enumerate(socks):
                    try:
                        data, _ = s.recvfrom(65535)
                    except socket.timeout:
                        data = None
                    ok &= data == b"flow %d round %d" % (i, rnd)
            fx.check(ok, "50 concurrent flows each receive only their own replies")
            fx.check(len(echo.sources) >= 50,
                     f"each flow has its own stable source port at the exit ({len(echo.sources)})")
            for s in socks:
                s.close()
            # Idle flows are freed: after the timeout a new datagram from the same source
            # makes a new flow, i.e. a new source port at the exit.
            s = udp_client()
            s.sendto(b"before", ("127.0.0.1", lport))
            s.recvfrom(100)
            before = set(echo.sources)
            time.sleep(5)
            s.sendto(b"after", ("127.0.0.1", lport))
            fx.check(s.recvfrom(100)[0] == b"after", "a flow works again after being idle")
            fresh = echo.sources - before
            fx.check(len(fresh) == 1, "the idle flow was freed (the exit uses a new socket)",
                     f"new sources: {fresh}")
            s.close()
            # TCP through the same session is unaffected.
            data = os.urandom(100000)
            fx.check(fx.echo_roundtrip(tport, data) == data, "TCP forward alongside works")
            fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")

        # The cap evicts the least recently used flow (UdpMaxFlows=3).
        lport = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}/udp"],
                          extra_args=["-o", f"RelayCommand={relay_command()}",
                                      "-o", "UdpMaxFlows=3", "-v"]) as fw:
            socks = [udp_client() for _ in range(4)]
            for i, s in enumerate(socks):
                s.sendto(b"x%d" % i, ("127.0.0.1", lport))
                fx.check(s.recvfrom(100)[0] == b"x%d" % i, f"flow {i} works")
            fx.check(any("least recently used" in l for l in fw.stderr_lines()),
                     "the fourth flow evicted the least recently used one (logged)", fw.stderr())
            socks[3].sendto(b"still", ("127.0.0.1", lport))
            fx.check(socks[3].recvfrom(100)[0] == b"still", "the newest flow keeps working")
            for s in socks:
                s.close()

        # -R .../udp: the relay listens on the server; datagrams exit here.
        rport = fx.free_port("127.0.0.1")
        with fx.Forwarder(sshd, ["-R", f"{rport}:127.0.0.1:{echo.port}/udp"], wait_remote=False,
                          extra_args=["-o", f"RelayCommand={relay_command()}", "-v"]) as fw:
            got = None
            deadline = time.monotonic() + 10
            while got is None and time.monotonic() < deadline:
                got = roundtrip(rport, b"remote udp", tries=1)
            fx.check(got == b"remote udp", "-R .../udp round trip through the relay's port")
            st = subprocess.run([fx.porthole_path(), "status", "--json"], env=fx.child_env(sshd),
                                capture_output=True, text=True, timeout=10,
                                stdin=subprocess.DEVNULL)
            fwds = [f for inst in (json.loads(st.stdout) if st.returncode == 0 else [])
                    for f in inst["forwards"]]
            fx.check([f["port"] for f in fwds if f["udp"]] == [rport],
                     f"status --json: the -R .../udp forward's port is {rport}",
                     st.stdout + st.stderr)
            a, b = udp_client(), udp_client()
            a.sendto(b"from a", ("127.0.0.1", rport))
            b.sendto(b"from b", ("127.0.0.1", rport))
            fx.check(a.recvfrom(100)[0] == b"from a" and b.recvfrom(100)[0] == b"from b",
                     "two remote senders each get their own replies")
            a.close()
            b.close()
            # The relay dies and, before the new one asks, someone else holds the port
            # (as the old session's relay does after a reconnect, until sshd's ClientAlive
            # check ends it): porthole keeps asking with backoff rather than giving up.
            for pid in relay_pids(sshd):
                os.kill(pid, signal.SIGKILL)
            holder = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            deadline = time.monotonic() + 3  # until the killed relay's socket is gone
            while True:
                try:
                    holder.bind(("127.0.0.1", rport))
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            line = fw.wait_stderr(lambda l: "still holds udp port" in l, 15)
            fx.check(line is not None and "retrying in" in line,
                     "a held -R .../udp port is retried, with the delay said", fw.stderr())
            holder.close()
            got = None
            deadline = time.monotonic() + 10
            while got is None and time.monotonic() < deadline:
                got = roundtrip(rport, b"port back", tries=1)
            fx.check(got == b"port back" and fw.alive(),
                     "once the port is free the relay listens again; porthole never exited",
                     fw.stderr())

        # DNS: dig through -L .../udp to a dnsmasq the test starts.
        if shutil.which("dnsmasq") and shutil.which("dig"):
            dport, lport = fx.free_port(), fx.free_port()
            dns = subprocess.Popen(["dnsmasq", "--no-daemon", "--conf-file=/dev/null",
                                    f"--port={dport}", "--listen-address=127.0.0.1",
                                    "--bind-interfaces", "--no-resolv", "--no-hosts",
                                    "--user=root", "--address=/test.porthole/192.0.2.7"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(0.5)
                with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{dport}/udp"],
                                  extra_args=["-o", f"RelayCommand={relay_command()}"]):
                    out = subprocess.run(["dig", "@127.0.0.1", "-p", str(lport), "+short",
                                          "+tries=3", "+time=2", "www.test.porthole"],
                                         capture_output=True, text=True).stdout.strip()
                    # The first query also starts the relay: on a loaded machine dig may
                    # time out once and get the answer on its retry (";;" lines).
                    answers = [ln for ln in out.splitlines() if not ln.startswith(";;")]
                    fx.check(answers == ["192.0.2.7"],
                             "dig through -L .../udp gets dnsmasq's answer", out)
            finally:
                dns.terminate()
                dns.wait()
        elif os.environ.get("PORTHOLE_REQUIRE_ALL") == "1":
            raise fx.TestFailure("dnsmasq or dig missing")
        else:
            print("note: dnsmasq/dig not installed; DNS check skipped")

        # A relay that is not there: one line saying why; TCP keeps working.
        lport, tport = fx.free_port(), fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}/udp",
                                 "-L", f"{tport}:127.0.0.1:{tcp_echo.port}"],
                          extra_args=["-o", "RelayCommand=/nonexistent/porthole relay"]) as fw:
            s = udp_client(1.0)
            s.sendto(b"nobody", ("127.0.0.1", lport))
            line = fw.wait_stderr(lambda l: "UDP forwards need porthole on the server" in l, 10)
            fx.check(line is not None and "RelayCommand" in line,
                     "a missing relay: one line saying UDP needs porthole there and RelayCommand",
                     fw.stderr())
            data = os.urandom(50000)
            fx.check(fx.echo_roundtrip(tport, data) == data, "the TCP forward still works")
            fx.check(fw.alive(), "porthole keeps running")
            s.close()
        # The relay's own allow-list, as an authorized_keys forced command would set it:
        # a permitted port works (asked for as "localhost", permitted as 127.0.0.1), another
        # is refused, and with ExitOnForwardFailure that refusal ends porthole cleanly.
        ok_port, bad_port = fx.free_port(), fx.free_port()
        relay = f"RelayCommand={relay_command()} --permit-listen 127.0.0.1:{ok_port}"
        with fx.Forwarder(sshd, ["-R", f"{ok_port}:127.0.0.1:{echo.port}/udp"],
                          wait_remote=False, extra_args=["-o", relay]) as fw:
            got = None
            deadline = time.monotonic() + 10
            while got is None and time.monotonic() < deadline:
                got = roundtrip(ok_port, b"permitted", tries=1)
            fx.check(got == b"permitted", "--permit-listen 127.0.0.1:P permits 'localhost:P'")
        status, err = fx.run_forwarder(sshd, ["-R", f"{bad_port}:127.0.0.1:{echo.port}/udp"],
                                       extra_args=["-o", relay, "-o",
                                                   "ExitOnForwardFailure=yes"])
        fx.check(status == 1 and "the relay cannot listen" in err,
                 "a port the relay does not permit: refused, exit 1 (ExitOnForwardFailure)", err)
        fx.check("Sanitizer" not in err, "... stopping from inside the relay's reply is clean")
        # A relay of another major version: one line saying so; TCP is unaffected.
        fake = os.path.join(sshd.dir, "relay2.py")
        with open(fake, "w") as f:
            f.write("import struct, sys, time\n"
                    "sw = b'porthole 9.0'\n"
                    "hello = struct.pack('>BBIIIB', 2, 0, 65507, 0, 0, len(sw)) + sw\n"
                    "sys.stdout.buffer.write(struct.pack('>BBIH', 1, 0, 0, len(hello)) + hello)\n"
                    "sys.stdout.flush()\n"
                    "time.sleep(30)\n")
        lport = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}/udp"],
                          extra_args=["-o", f"RelayCommand=python3 {fake}"]) as fw:
            s = udp_client(1.0)
            s.sendto(b"x", ("127.0.0.1", lport))
            line = fw.wait_stderr(lambda l: "speaks protocol 2.0" in l, 10)
            fx.check(line is not None and "same porthole version" in line,
                     "a relay of another major version is reported in one line", fw.stderr())
            s.close()

        # A relay that stops answering (frozen) is noticed by PING and restarted.
        lport = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}/udp"],
                          extra_args=["-o", f"RelayCommand={relay_command()}",
                                      "-o", "ServerAliveInterval=1",
                                      "-o", "ServerAliveCountMax=2"]) as fw:
            fx.check(roundtrip(lport, b"before") == b"before", "the relay works")
            relays = relay_pids(sshd)
            fx.check(len(relays) == 1, f"found the relay process ({relays})")
            for pid in relays:
                os.kill(pid, signal.SIGSTOP)
            line = fw.wait_stderr(lambda l: "relay stopped answering" in l, 10)
            fx.check(line is not None, "a frozen relay is noticed (no PONG)", fw.stderr())
            got = None
            deadline = time.monotonic() + 10
            while got is None and time.monotonic() < deadline:
                got = roundtrip(lport, b"after", tries=1)
            fx.check(got == b"after", "a new relay carries the next datagrams")
            for pid in relays:
                os.kill(pid, signal.SIGKILL)
        echo.close()


if __name__ == "__main__":
    fx.run(main)
