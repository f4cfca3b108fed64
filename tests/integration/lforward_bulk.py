#!/usr/bin/env python3
"""Bulk data through one -L, both directions, checked by sha256: 1 MiB and 256 MiB each way."""

import hashlib
import os
import time

import fixture as fx

SIZES = [1 << 20, 256 << 20]


def upload(port, n, seed):
    """Client sends stream(n, seed); the server hashes what it read and says so."""
    h = hashlib.sha256()
    with fx.connect(port, timeout=60) as s:
        s.sendall(f"UPLOAD {n}\n".encode())
        for chunk in fx.stream(n, seed):
            h.update(chunk)
            s.sendall(chunk)
        reply = fx.recv_line(s).decode().split()
    return reply, [str(n), h.hexdigest()]


def download(port, n, seed):
    """Server sends stream(n, seed) then EOF; the client hashes what arrived."""
    h = hashlib.sha256()
    got = 0
    with fx.connect(port, timeout=60) as s:
        s.sendall(f"DOWNLOAD {n} {seed}\n".encode())
        while True:
            b = s.recv(fx.CHUNK)
            if not b:
                break
            h.update(b)
            got += len(b)
    return got, h.hexdigest()


def main():
    with fx.Sshd() as sshd, fx.BulkServer() as srv:
        lport = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{srv.port}"]) as fw:
            for n in SIZES:
                seed = int.from_bytes(os.urandom(4), "big")
                t = time.monotonic()
                got, want = upload(lport, n, seed)
                dt = time.monotonic() - t
                fx.check(got == want, f"upload {n} bytes intact ({n / dt / 1e6:.0f} MB/s)",
                         f"server read/hash {got}, sent {want}")
                want = (n, fx.stream_sha256(n, seed + 1))
                t = time.monotonic()
                got = download(lport, n, seed + 1)
                dt = time.monotonic() - t
                fx.check(got == want, f"download {n} bytes intact ({n / dt / 1e6:.0f} MB/s)",
                         f"received {got}, expected {want}")
            fx.check(not srv.errors, "bulk server saw no errors", "\n".join(srv.errors))
            fx.check(fw.alive(), "forwarder still running after the transfers", fw.stderr())
            status, err = fw.stop()
            if not fx.SSH_MODE:
                fx.check(status == 0, "porthole exits 0 on SIGTERM", f"status {status}\n{err}")


if __name__ == "__main__":
    fx.run(main)
