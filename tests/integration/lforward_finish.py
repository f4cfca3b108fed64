#!/usr/bin/env python3
"""Many channels finishing at once: 40 concurrent 256 KiB downloads through one -L, ten rounds;
every one completes, then EOF. Guards a lost wakeup: a link that found no data for its channel
skips it until the session receives more, but another channel's libssh2 call can decode the
packets it was waiting for (the end of its data, its EOF) out of bytes already received; with
nothing more coming from the server, that link stalled for good."""

import threading
import time

import fixture as fx

N = 40
REPLY = 256 * 1024
ROUNDS = 10


def download(port, seed, out, i):
    try:
        with fx.connect(port, timeout=20) as s:
            s.sendall(f"DOWNLOAD {REPLY} {seed}\n".encode())
            data = fx.recv_all(s)
        out[i] = len(data) if data == b"".join(fx.stream(REPLY, seed)) else f"{len(data)} bad"
    except Exception as e:  # noqa: BLE001 - reported by the test
        out[i] = repr(e)


def main():
    with fx.Sshd() as sshd, fx.BulkServer() as bulk:
        bport = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{bport}:127.0.0.1:{bulk.port}"]) as fw:
            took = []
            for r in range(ROUNDS):
                out = [None] * N
                ts = [threading.Thread(target=download, args=(bport, r * N + i, out, i),
                                       daemon=True) for i in range(N)]
                t0 = time.monotonic()
                for t in ts:
                    t.start()
                for t in ts:
                    t.join(30)
                took.append(time.monotonic() - t0)
                bad = [x for x in out if x != REPLY]
                if bad:
                    raise fx.TestFailure(f"round {r + 1}: {len(bad)} of {N} downloads did not "
                                         f"complete: {bad[:5]}\n{fw.stderr()}")
            fx.ok(f"{ROUNDS} rounds of {N} concurrent {REPLY // 1024} KiB downloads complete "
                  f"(rounds took {' '.join(f'{t:.1f}' for t in took)} s)")
            status, err = fw.stop()
            if not fx.SSH_MODE:
                fx.check(status == 0, "SIGTERM: exit 0", err)


if __name__ == "__main__":
    fx.run(main)
