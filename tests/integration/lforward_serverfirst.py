#!/usr/bin/env python3
"""Servers that speak first (SSH, SMTP, MySQL...): the first bytes may reach porthole in the
same read as the channel's open confirmation. Every one of 300 back-to-back connections must
get the server's greeting (a regression test: libssh2 had read those bytes ahead, and a link
that asked whether its channel had data was told no until the next socket read)."""

import socket
import threading

import fixture as fx


class Greeter:
    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        n = 0
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            n += 1
            try:
                c.sendall(b"220 hello %d\r\n" % n)
                c.close()
            except OSError:
                pass


def main():
    with fx.Sshd() as sshd:
        g = Greeter()
        port = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{port}:127.0.0.1:{g.port}"]):
            missing = 0
            for i in range(300):
                with fx.connect(port, timeout=5) as s:
                    s.settimeout(5)
                    try:
                        data = s.recv(100)
                    except socket.timeout:
                        data = b""
                    if not data.startswith(b"220 hello"):
                        missing += 1
            fx.check(missing == 0, "300 server-first connections all got their greeting",
                     f"{missing} got nothing within 5 s")


if __name__ == "__main__":
    fx.run(main)
