#!/usr/bin/env python3
"""porthole under `ulimit -n 64` (soft and hard, so raising cannot help) and 200 concurrent
connections through one -L: it says the limit at -v, logs running out of descriptors in one
line, serves what it can meanwhile (no connection is accepted and dropped: the others wait in
the backlog), keeps listening, and serves every one of the 200 once the first ones close.
`porthole status --json` then shows the descriptors open against the limit of 64."""

import json
import os
import selectors
import socket
import subprocess
import sys
import time

import fixture as fx

LIMIT = 64
N_CONN = 200
WRAP = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (%d, %d)); "
        "os.execv(sys.argv[1], sys.argv[1:])" % (LIMIT, LIMIT))


class Client:
    def __init__(self, i, port):
        self.i = i
        self.payload = b"%d:" % i + os.urandom(1000)
        self.received = b""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(self.payload)
        self.sock.setblocking(False)

    def served(self):
        return self.received == self.payload


def pump(sel, seconds, close_served, errors):
    """Reads echoes for `seconds`; a served client is closed when close_served."""
    deadline = time.monotonic() + seconds
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            c = key.data
            try:
                b = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                errors.append(f"client {c.i}: {e!r}")
                b = b""
            c.received += b
            if not b and not c.served():
                errors.append(f"client {c.i}: end of stream after {len(c.received)} bytes")
            if not b or (c.served() and close_served):
                sel.unregister(c.sock)
                c.sock.close()


def main():
    fx.skip_in_ssh_mode("porthole's own descriptor handling")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        lport = fx.free_port()
        fw = fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}"], start=False,
                          extra_args=["-v"])
        fw.argv = [sys.executable, "-c", WRAP, *fw.argv]
        with fw.start():
            fx.check(fw.wait_stderr(lambda l: f"file descriptor limit {LIMIT}" in l) is not None,
                     f"-v says the descriptor limit ({LIMIT})", fw.stderr())
            sel = selectors.DefaultSelector()
            clients = [Client(i, lport) for i in range(N_CONN)]
            for c in clients:
                sel.register(c.sock, selectors.EVENT_READ, c)
            errors = []
            pump(sel, 5.0, False, errors)
            served = sum(c.served() for c in clients)
            fx.check(not errors, "no connection is dropped while descriptors run out",
                     "\n".join(errors[:10]))
            fx.check(0 < served < N_CONN,
                     f"with every descriptor in use, some are served ({served} of {N_CONN})")
            lines = [l for l in fw.stderr_lines() if "Too many open files" in l]
            fx.check(len(lines) == 1 and "new connections wait" in lines[0],
                     "running out is logged in one line", fw.stderr())
            fx.check(f"of {LIMIT} descriptors open" in lines[0] if lines else False,
                     "naming the count against the limit", lines[0] if lines else "")
            for c in clients:
                if c.served():
                    sel.unregister(c.sock)
                    c.sock.close()
            pump(sel, 60.0, True, errors)
            served = sum(c.served() for c in clients)
            fx.check(not errors, "no connection dropped while the others close",
                     "\n".join(errors[:10]))
            fx.check(served == N_CONN, f"all {N_CONN} served once the first ones closed "
                     f"({served})", fw.stderr()[-2000:])
            fx.check(fw.wait_stderr(lambda l: "accepting again after" in l) is not None,
                     "the end of the shortage is logged", fw.stderr()[-2000:])
            # The listener still works afterwards.
            data = os.urandom(100000)
            fx.check(fx.echo_roundtrip(lport, data) == data, "a new connection is served")
            p = subprocess.run([fx.porthole_path(), "status", "--json"],
                               env=fx.child_env(sshd), capture_output=True, text=True,
                               timeout=10)
            fx.check(p.returncode == 0, "porthole status answers", p.stderr)
            fds = json.loads(p.stdout)[0]["fds"]
            fx.check(fds["limit"] == LIMIT and 0 < fds["open"] < 30,
                     f"status shows the descriptors open and the limit ({fds})", p.stdout)
            p = subprocess.run([fx.porthole_path(), "status"], env=fx.child_env(sshd),
                               capture_output=True, text=True, timeout=10)
            fx.check(f"file descriptors: {fds['open']} open of {LIMIT}" in p.stdout or
                     f"open of {LIMIT}" in p.stdout, "and so does the text status", p.stdout)
            fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")


if __name__ == "__main__":
    fx.run(main)
