#!/usr/bin/env python3
"""-D: a SOCKS5 / SOCKS4a proxy over the session. Real clients (curl) fetch a page from a
local HTTP server; raw clients check the reply codes for a refused port, a name that does
not resolve, an IPv6 literal, unsupported commands, garbage and a silent client."""

import http.server
import os
import shutil
import socket
import struct
import subprocess
import threading
import time

import fixture as fx


class Web:
    def __init__(self, body):
        body = body.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def curl(args):
    p = subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def socks5_connect(port, atyp, addr, dport, cmd=1):
    """A raw SOCKS5 CONNECT; returns (reply code, socket)."""
    s = fx.connect(port, timeout=10)
    s.sendall(b"\x05\x01\x00")
    fx.check(s.recv(2) == b"\x05\x00", "SOCKS5 greeting answered with 'no authentication'")
    if atyp == 3:
        a = bytes([len(addr)]) + addr.encode()
    elif atyp == 4:
        a = socket.inet_pton(socket.AF_INET6, addr)
    else:
        a = socket.inet_aton(addr)
    s.sendall(bytes([5, cmd, 0, atyp]) + a + struct.pack(">H", dport))
    reply = b""
    while len(reply) < 10:
        chunk = s.recv(10 - len(reply))
        if not chunk:
            break
        reply += chunk
    fx.check(len(reply) == 10 and reply[0] == 5, f"a complete SOCKS5 reply ({reply!r})")
    return reply[1], s


def udp_associate(sport):
    """SOCKS5 UDP ASSOCIATE: datagrams with the RFC 1928 header go through the relay to a UDP
    echo server and come back wrapped in a header naming it; the association ends with its
    TCP connection."""
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))
    eport = echo.getsockname()[1]

    def serve():
        while True:
            try:
                data, addr = echo.recvfrom(65535)
                echo.sendto(data, addr)
            except OSError:
                return
    threading.Thread(target=serve, daemon=True).start()
    ctl = fx.connect(sport, timeout=10)
    ctl.sendall(b"\x05\x01\x00")
    fx.check(ctl.recv(2) == b"\x05\x00", "UDP ASSOCIATE: greeting")
    ctl.sendall(b"\x05\x03\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
    reply = ctl.recv(10)
    fx.check(len(reply) == 10 and reply[1] == 0 and reply[3] == 1,
             "UDP ASSOCIATE: reply 0x00 with an IPv4 relay address", repr(reply))
    relay_addr = (socket.inet_ntoa(reply[4:8]), struct.unpack(">H", reply[8:10])[0])
    fx.check(relay_addr[0] == "127.0.0.1" and relay_addr[1] != 0,
             f"... on loopback ({relay_addr[0]}:{relay_addr[1]})")
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(3)
    header = b"\x00\x00\x00\x01" + socket.inet_aton("127.0.0.1") + struct.pack(">H", eport)
    got = None
    earlier = set()  # a late echo of a retried earlier datagram is not this one's answer
    for size in (1, 1400, 60000):
        payload = os.urandom(size)
        for _ in range(3):
            u.sendto(header + payload, relay_addr)
            try:
                got, _ = u.recvfrom(65535)
                while got in earlier:
                    got, _ = u.recvfrom(65535)
                break
            except socket.timeout:
                got = None
        earlier.add(header + payload)
        fx.check(got == header + payload,
                 f"a {size}-byte datagram goes out and comes back with the destination's header")
    named = b"\x00\x00\x00\x03\x09localhost" + struct.pack(">H", eport)
    u.sendto(named + b"by name", relay_addr)
    fx.check(u.recvfrom(100)[0] == named + b"by name", "a destination given by name works too")
    u.sendto(b"\x00\x00\x01\x01" + header[4:] + b"fragment", relay_addr)
    u.sendto(b"junk", relay_addr)
    u.sendto(header + b"after junk", relay_addr)
    fx.check(u.recvfrom(100)[0] == header + b"after junk",
             "fragments and junk are dropped; the association keeps working")
    ctl.close()
    time.sleep(0.5)
    u.sendto(header + b"gone", relay_addr)
    try:
        u.recvfrom(100)
        gone = False
    except (socket.timeout, ConnectionRefusedError):
        gone = True
    fx.check(gone, "closing the TCP connection ends the association")
    u.close()
    echo.close()


def closed_within(s, seconds):
    s.settimeout(seconds)
    try:
        while s.recv(4096):
            pass
        return True
    except socket.timeout:
        return False
    except OSError:
        return True


def main():
    if shutil.which("curl") is None:
        fx.skip("curl not installed")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        web = Web("through the socks proxy\n")
        sport = fx.free_port()
        relay = [] if fx.SSH_MODE else ["-o", f"RelayCommand={fx.porthole_path()} relay"]
        with fx.Forwarder(sshd, ["-D", str(sport)], extra_args=relay) as fw:
            proxy = f"127.0.0.1:{sport}"
            url = f"http://localhost:{web.port}/"
            rc, out, err = curl(["--socks5-hostname", proxy, url])
            fx.check(rc == 0 and out == "through the socks proxy\n",
                     "curl --socks5-hostname fetches the page (name resolved on the far side)",
                     err)
            rc, out, err = curl(["--socks4a", proxy, url])
            fx.check(rc == 0 and out == "through the socks proxy\n", "curl --socks4a too", err)
            rc, out, err = curl(["--socks5", proxy, f"http://127.0.0.1:{web.port}/"])
            fx.check(rc == 0 and out == "through the socks proxy\n",
                     "curl --socks5 with an IPv4 address", err)

            # Data both ways, many at once.
            def one(i):
                code, s = socks5_connect(sport, 1, "127.0.0.1", echo.port)
                payload = os.urandom(200000)
                with s:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    got = fx.recv_all(s)
                return code == 0 and got == payload
            results = []
            threads = [threading.Thread(target=lambda i=i: results.append(one(i)))
                       for i in range(20)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            fx.check(len(results) == 20 and all(results),
                     "20 concurrent SOCKS5 connections echo their data intact")

            if fx.SSH_MODE:
                return  # ssh -D answers success before connecting: reply codes differ
            # Reply codes say what happened at the far end.
            dead, _dead_sock = fx.refused_port()
            code, s = socks5_connect(sport, 1, "127.0.0.1", dead)
            fx.check(code == 5, "refused port: reply 0x05 (connection refused)", f"got {code}")
            s.close()
            code, s = socks5_connect(sport, 3, "nosuchhost.invalid", 80)
            fx.check(code == 4, "a name that does not resolve: reply 0x04 (host unreachable)",
                     f"got {code}")
            s.close()
            v6 = True
            try:
                socket.socket(socket.AF_INET6).bind(("::1", 0))
            except OSError:
                v6 = False
            if v6:
                with fx.EchoServer(host="::1") as e6:
                    if True:
                        code, s = socks5_connect(sport, 4, "::1", e6.port)
                        with s:
                            fx.check(code == 0, "IPv6 literal target: reply 0x00", f"got {code}")
                            s.sendall(b"six")
                            fx.check(s.recv(3) == b"six", "... and data flows over IPv6")
                code, s = socks5_connect(sport, 4, "::1", dead)
                fx.check(code == 5, "IPv6 literal, refused port: reply 0x05", f"got {code}")
                s.close()
            code, s = socks5_connect(sport, 1, "127.0.0.1", echo.port, cmd=2)
            fx.check(code == 7, "BIND: reply 0x07 (command not supported)", f"got {code}")
            fx.check(closed_within(s, 2), "... and the connection is closed")
            udp_associate(sport)

            # Bad input: garbage, wrong auth methods, a silent client.
            s = fx.connect(sport)
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            fx.check(closed_within(s, 2), "an HTTP request on the SOCKS port is closed at once")
            s = fx.connect(sport)
            s.sendall(b"\x05\x01\x02")  # username/password only
            fx.check(s.recv(2) == b"\x05\xff" and closed_within(s, 2),
                     "no acceptable auth method: 05 FF, then closed")
            s = fx.connect(sport)
            s.sendall(b"\x04\x01\x00\x50\x7f\x00\x00\x01" + b"u" * 300)
            fx.check(closed_within(s, 2), "an oversized SOCKS4 user id is refused and closed")
            silent = fx.connect(sport)
            t0 = time.monotonic()
            fx.check(closed_within(silent, 15),
                     f"a client that says nothing is closed by the handshake timeout "
                     f"({time.monotonic() - t0:.1f} s)")
            fx.check(fw.alive(), "porthole still running after the bad clients")
            rc, out, err = curl(["--socks5-hostname", proxy, url])
            fx.check(rc == 0, "the proxy still works", err)
        web.close()


if __name__ == "__main__":
    fx.run(main)
