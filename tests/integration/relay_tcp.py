#!/usr/bin/env python3
"""TCP streams through the relay (OpenVia=relay, RelayCommand = this build's relay under a real
sshd): 256 MiB each way through one -L, checked by SHA-256; half-close both ways (the client
shuts its write side and still receives the rest, the server's EOF arrives after its last
byte); an upload beside an echo every 10 ms completes (a stream held under the in-flight
bound never got the relay's credit back and stalled); status counts every one of these
connections as a relay stream, none as a channel."""

import hashlib
import os
import socket
import threading
import time

import fixture as fx
import relaytcp as rt

BULK = 256 << 20
REPLY = 4 << 20
BESIDE = 32 << 20  # uploaded beside the echo


def after_eof(port, seed, body):
    """AFTEREOF: the server answers only once it has read the client's EOF."""
    with fx.connect(port, timeout=60) as s:
        s.sendall(f"AFTEREOF {REPLY} {seed}\n".encode() + body)
        s.shutdown(socket.SHUT_WR)
        count = fx.recv_line(s)
        data = fx.recv_all(s)
    return count, data


def download_after_shutdown(port, n, seed):
    """The client asks, shuts its write side at once, and still reads all n bytes, then EOF."""
    h = hashlib.sha256()
    got = 0
    with fx.connect(port, timeout=60) as s:
        s.sendall(f"DOWNLOAD {n} {seed}\n".encode())
        s.shutdown(socket.SHUT_WR)
        while True:
            b = s.recv(fx.CHUNK)
            if not b:
                break
            h.update(b)
            got += len(b)
    return got, h.hexdigest()


def main():
    fx.skip_in_ssh_mode("relay streams are porthole's own")
    with fx.Sshd(log_level="DEBUG1") as sshd, fx.BulkServer() as bulk, \
            fx.EchoServer() as echo:
        bport, eport = fx.free_port(), fx.free_port()
        fwd = ["-L", f"{bport}:127.0.0.1:{bulk.port}", "-L", f"{eport}:127.0.0.1:{echo.port}"]
        with fx.Forwarder(sshd, fwd, extra_args=rt.relay_args()) as fw:
            conns = 0
            seed = int.from_bytes(os.urandom(4), "big")
            t = time.monotonic()
            got, want = rt.upload(bport, BULK, seed, timeout=180)
            dt = time.monotonic() - t
            conns += 1
            fx.check(got == want, f"upload {BULK >> 20} MiB through a relay stream intact "
                     f"({BULK / dt / 1e6:.0f} MB/s)", f"server read/hash {got}, sent {want}")
            t = time.monotonic()
            got = rt.download(bport, BULK, seed + 1, timeout=180)
            dt = time.monotonic() - t
            conns += 1
            want = (BULK, fx.stream_sha256(BULK, seed + 1))
            fx.check(got == want, f"download {BULK >> 20} MiB through a relay stream intact, "
                     f"then EOF ({BULK / dt / 1e6:.0f} MB/s)", f"received {got}, expected {want}")

            # Half-close, client side first: the server sees the EOF after every request byte
            # and only then answers; the answer arrives whole, then the server's EOF.
            body = os.urandom(100000)
            count, data = after_eof(bport, seed + 2, body)
            conns += 1
            fx.check(count == f"{len(body)}\n".encode(),
                     f"the server read all {len(body)} bytes, then the client's EOF",
                     f"its count line: {count!r}")
            fx.check(len(data) == REPLY and
                     hashlib.sha256(data).hexdigest() == fx.stream_sha256(REPLY, seed + 2),
                     f"... and the client, its write side shut, received all {REPLY} bytes of "
                     "the answer, then EOF", f"got {len(data)} bytes")
            got = download_after_shutdown(bport, REPLY, seed + 3)
            conns += 1
            fx.check(got == (REPLY, fx.stream_sha256(REPLY, seed + 3)),
                     "shut the write side right after the request: the whole download arrives",
                     f"got {got[0]} bytes")
            payload = os.urandom(REPLY)
            back = fx.echo_roundtrip(eport, payload, timeout=60)
            conns += 1
            fx.check(back == payload, f"echo: {REPLY} bytes then SHUT_WR; all came back, then EOF",
                     f"got {len(back)} bytes, equal prefix: {payload[:len(back)] == back}")
            # An upload beside a small echo every 10 ms (interactive traffic, so the session
            # keeps its bulk bytes in flight short): it completes, and the echo keeps answering.
            out = {}

            def up():
                try:
                    out["up"] = rt.upload(bport, BESIDE, seed + 5, timeout=120)
                except OSError as e:
                    out["up"] = repr(e)
            th = threading.Thread(target=up, daemon=True)
            with fx.connect(eport, timeout=30) as inter:
                inter.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                th.start()
                echoes, wrong = 0, 0
                while th.is_alive() and echoes < 12000:  # at most ~2 minutes of echoes
                    inter.sendall(b"%063d\n" % echoes)
                    wrong += fx.recv_all(inter, 64) != b"%063d\n" % echoes
                    echoes += 1
                    time.sleep(0.01)
            fx.check(wrong == 0, f"each of {echoes} echoes came back whole beside the upload",
                     f"{wrong} did not")
            th.join(10)
            conns += 2
            got = out.get("up")
            fx.check(isinstance(got, tuple) and got[0] == got[1],
                     f"an upload of {BESIDE >> 20} MiB beside an echo every 10 ms completes "
                     f"intact ({echoes} echoes meanwhile)", f"{got}")
            # An EOF with nothing sent at all (SOPEN, SEOF, no SDATA).
            count, data = after_eof(bport, seed + 4, b"")
            conns += 1
            fx.check(count == b"0\n" and len(data) == REPLY,
                     "a client that sends only its request line and EOF gets the whole answer",
                     f"count {count!r}, {len(data)} bytes")

            relay = rt.status(sshd).get("relay")
            fx.check(relay == {"state": "up", "streams": True, "streams_open": 0},
                     "status: the relay is up, with streams, none open now", str(relay))
            relay, channel = rt.counts(sshd)
            fx.check(relay == conns and channel == 0,
                     f"status: all {conns} connections went over relay streams, none over a "
                     "channel", f"via_relay {relay}, via_channel {channel}")
            tcpip = rt.tcpip_channels(sshd)
            fx.check(not tcpip, "sshd's log: no direct-tcpip channel was opened",
                     "\n".join(tcpip[:5]))
            text = rt.status_text(sshd)
            line = [l for l in text.splitlines() if f"127.0.0.1:{bulk.port}: " in l]
            fx.check(len(line) == 1 and f", {conns - 2} via relay, 0 via channel" in line[0],
                     "plain status says so on the forward's line", text)
            fx.check("\n  relay: up, 0 streams open\n" in text,
                     "plain status has the relay's line: up, with streams, none open", text)
            fx.check(not bulk.errors and not echo.errors, "the servers saw no errors",
                     "\n".join(bulk.errors + echo.errors))
            fx.check(fw.alive(), "porthole still running", fw.stderr())
            status, err = fw.stop()
            fx.check(status == 0, "porthole exits 0 on SIGTERM", f"status {status}\n{err}")
            fx.check("Sanitizer" not in err, "no sanitizer report", err)


if __name__ == "__main__":
    fx.run(main, timeout=280)
