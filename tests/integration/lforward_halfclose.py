#!/usr/bin/env python3
"""Half-close through -L: after the client shuts its write side (SHUT_WR) the server still sees
that EOF, answers, and the client receives the complete answer followed by EOF."""

import hashlib
import os
import socket
import threading

import fixture as fx

REPLY = 1 << 20


def request_then_eof(port, seed):
    """The server only answers once it has read the client's EOF: a lost EOF hangs here."""
    body = os.urandom(10000)
    with fx.connect(port, timeout=20) as s:
        s.sendall(f"AFTEREOF {REPLY} {seed}\n".encode() + body)
        s.shutdown(socket.SHUT_WR)
        count = fx.recv_line(s)
        data = fx.recv_all(s)
    return count, len(body), data


def main():
    with fx.Sshd() as sshd, fx.BulkServer() as bulk, fx.EchoServer() as echo:
        bport, eport = fx.free_port(), fx.free_port()
        fwd = ["-L", f"{bport}:127.0.0.1:{bulk.port}", "-L", f"{eport}:127.0.0.1:{echo.port}"]
        with fx.Forwarder(sshd, fwd) as fw:
            seed = int.from_bytes(os.urandom(4), "big")
            count, sent, data = request_then_eof(bport, seed)
            fx.check(count == f"{sent}\n".encode(),
                     f"server saw the client's EOF after all {sent} request bytes",
                     f"server reply line {count!r}")
            want = fx.stream_sha256(REPLY, seed)
            fx.check(len(data) == REPLY and hashlib.sha256(data).hexdigest() == want,
                     f"client received the complete {REPLY}-byte reply, then EOF",
                     f"got {len(data)} bytes")

            payload = os.urandom(REPLY)
            back = fx.echo_roundtrip(eport, payload, timeout=20)
            fx.check(back == payload,
                     f"echo: {REPLY} bytes sent then SHUT_WR; all {REPLY} came back, then EOF",
                     f"got {len(back)} bytes, equal prefix: {payload[:len(back)] == back}")

            # Several at once, so that EOFs of different channels interleave.
            results = [None] * 5

            def one(i):
                try:
                    results[i] = request_then_eof(bport, seed + i)
                except OSError as e:
                    results[i] = e

            threads = [threading.Thread(target=one, args=(i,)) for i in range(len(results))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            for i, r in enumerate(results):
                good = isinstance(r, tuple) and r[0] == f"{r[1]}\n".encode() and \
                    len(r[2]) == REPLY and \
                    hashlib.sha256(r[2]).hexdigest() == fx.stream_sha256(REPLY, seed + i)
                if not good:
                    detail = r if not isinstance(r, tuple) else f"count {r[0]!r}, {len(r[2])} bytes"
                    raise fx.TestFailure(f"concurrent exchange {i} broken: {detail}")
            fx.ok(f"{len(results)} concurrent request/EOF/reply exchanges intact")
            fx.check(not bulk.errors and not echo.errors, "servers saw no errors",
                     "\n".join(bulk.errors + echo.errors))
            fx.check(fw.alive(), "forwarder still running", fw.stderr())
            status, err = fw.stop()
            if not fx.SSH_MODE:
                fx.check(status == 0, "porthole exits 0 on SIGTERM", f"status {status}\n{err}")


if __name__ == "__main__":
    fx.run(main)
