#!/usr/bin/env python3
"""200 concurrent connections through one -L (one SSH session) to an echo server: each sends
its own ~64 KiB payload and must get exactly it back, all within 30 s. A connection is done
when it has as many bytes back as it sent (half-close has its own test)."""

import os
import selectors
import socket
import time

import fixture as fx

N_CONN = 200
DEADLINE = 30.0


class Conn:
    def __init__(self, i, port):
        self.i = i
        self.payload = os.urandom(65536 + i)  # distinct content and distinct lengths
        self.sent = 0
        self.received = bytearray()
        self.done = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        self.sock.connect_ex(("127.0.0.1", port))


def run_all(port):
    sel = selectors.DefaultSelector()
    conns = [Conn(i, port) for i in range(N_CONN)]
    for c in conns:
        sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
    open_count = N_CONN
    errors = []
    deadline = time.monotonic() + DEADLINE
    while open_count and time.monotonic() < deadline:
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            try:
                if ev & selectors.EVENT_WRITE and c.sent < len(c.payload):
                    c.sent += c.sock.send(c.payload[c.sent:c.sent + 65536])
                    if c.sent == len(c.payload):
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                if ev & selectors.EVENT_READ:
                    b = c.sock.recv(65536)
                    c.received += b
                    if not b or len(c.received) >= len(c.payload):
                        c.done = True
                        sel.unregister(c.sock)
                        c.sock.close()
                        open_count -= 1
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as e:
                errors.append(f"conn {c.i}: {e!r} (sent {c.sent}, got {len(c.received)})")
                sel.unregister(c.sock)
                c.sock.close()
                open_count -= 1
    for c in conns:
        if not c.done and c.sock.fileno() != -1:
            c.sock.close()
    return conns, errors


def main():
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        lport = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}"]) as fw:
            t = time.monotonic()
            conns, errors = run_all(lport)
            dt = time.monotonic() - t
            fx.check(not errors, f"no connection errors ({N_CONN} connections)",
                     "\n".join(errors[:20]))
            unfinished = [c.i for c in conns if not c.done]
            fx.check(not unfinished, f"all {N_CONN} connections got their bytes back within "
                     f"{DEADLINE:.0f} s (took {dt:.2f} s)", f"unfinished: {unfinished[:30]} ...")
            bad = [(c.i, len(c.payload), len(c.received)) for c in conns
                   if bytes(c.received) != c.payload]
            fx.check(not bad, "every connection got exactly its own payload back",
                     f"(i, sent, got): {bad[:20]}")
            fx.check(echo.accepted == N_CONN, f"echo server accepted {N_CONN} connections",
                     f"accepted {echo.accepted}")
            fx.check(not echo.errors, "echo server saw no errors", "\n".join(echo.errors[:20]))
            fx.check(fw.alive(), "forwarder still running", fw.stderr())
            status, err = fw.stop()
            if not fx.SSH_MODE:
                fx.check(status == 0, "porthole exits 0 on SIGTERM", f"status {status}\n{err}")


if __name__ == "__main__":
    fx.run(main)
