#!/usr/bin/env python3
"""`porthole relay`'s TCP streams (relay protocol 1.1), driven directly over pipes without ssh:
the client's side of the protocol (tests/lib/relayproto.py) against real TCP peers on 127.0.0.1.

Open, data and SOPENED; 0-RTT (SDATA before SOPENED); half-close each way; refused,
unresolvable and not-allowed targets; the stream limit; protocol violations reset one stream
only; credit (the relay stops at the client's window and goes on at SWINDOW); resets both
ways; 500 concurrent streams; a stalled client reader; a 1.0 relay and 1.0 clients."""

import hashlib
import random
import select
import socket
import struct
import threading
import time

import fixture as fx
from relayproto import (ERR_PROTOCOL, ERROR, HELLO, PONG, RST_ABORTED, RST_LIMIT, RST_NOT_ALLOWED, RST_PROTOCOL,
                        RST_REFUSED, RST_RESOLVE, SDATA, SDATA_CUT, SEOF, SOPEN, SOPENED, SRESET,
                        STREAM_FLAG_RESTRICTED, SWINDOW, WINDOW, RelayPipe, frame, ping, sdata,
                        open_, seof, sopen, sreset, swindow)

STREAM_TYPES = (SOPENED, SDATA, SWINDOW, SEOF, SRESET)


# ---------------------------------------------------------------- helpers


def gather(r, ids, timeout=60.0, until_eof=True):
    """Reads the relay's stream frames for `ids` until each has SEOF or SRESET; returns
    {id: {"frames": [types in order], "data": bytes, "reset": Frame or None}}."""
    ids = set(ids)
    out = {i: {"frames": [], "data": bytearray(), "reset": None} for i in ids}
    left = set(ids)
    deadline = time.monotonic() + timeout

    def take(f):
        s = out[f.flow]
        s["frames"].append(f.type)
        if f.type == SDATA:
            s["data"] += f.payload
            if len(f.payload) > SDATA_CUT:
                raise fx.TestFailure(f"SDATA over {SDATA_CUT} bytes: {f!r}")
        elif f.type == SRESET:
            s["reset"] = f
            left.discard(f.flow)
        elif f.type == SEOF:
            left.discard(f.flow)

    while left:
        f = r.expect(lambda f: f.type in STREAM_TYPES and f.flow in ids,
                     max(deadline - time.monotonic(), 0.01),
                     f"the end of {len(left)} streams (e.g. {sorted(left)[:5]})")
        take(f)
    return out


def only_data_then_eof(s):
    """SOPENED first, then SDATA (and SWINDOW), then SEOF last."""
    t = s["frames"]
    return t and t[0] == SOPENED and t[-1] == SEOF and all(x in (SDATA, SWINDOW) for x in t[1:-1])


def reset_of(r, sid, timeout=10.0):
    return r.expect_type(SRESET, sid, timeout)


def roundtrip(r, sid, payload, what):
    r.send(sdata(sid, payload))
    got = b""
    while len(got) < len(payload):
        got += r.expect_type(SDATA, sid).payload
    fx.check(got == payload, what, f"{len(got)} bytes back, expected {len(payload)}")


class Peer:
    """A TCP server on 127.0.0.1 that runs `serve(conn, record)` for each connection in a
    thread; what the handlers record lands in .records (a list of (key, value))."""

    def __init__(self, serve, backlog=64):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.records = []
        self.cond = threading.Condition()
        self.serve = serve
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def record(self, key, value=None):
        with self.cond:
            self.records.append((key, value))
            self.cond.notify_all()

    def wait_record(self, key, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for k, v in self.records:
                    if k == key:
                        return v
                left = deadline - time.monotonic()
                if left <= 0:
                    raise fx.TestFailure(f"the target never recorded {key!r}: {self.records}")
                self.cond.wait(left)

    def _accept(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._run, args=(c,), daemon=True).start()

    def _run(self, c):
        c.settimeout(30)
        try:
            self.serve(c, self.record)
        except OSError as e:
            self.record("error", e)
        finally:
            c.close()

    def close(self):
        self.sock.close()


def stalled_listener():
    """(listener, fillers) or None: a listening socket whose accept queue is full, so a new
    connect to it stays pending (the SYN is dropped) and a stream stays CONNECTING."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fillers = []
    for _ in range(8):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        _, w, _ = select.select([], [c], [], 0.5)
        fillers.append(c)
        if not w:  # this one is pending: the queue is full
            return ls, fillers
    for c in fillers:
        c.close()
    ls.close()
    return None


def sink(c, record):
    """Reads everything, records it at end of file, never closes first."""
    got = b""
    while True:
        b = c.recv(65536)
        if not b:
            break
        got += b
    record("eof", got)
    c.settimeout(30)
    try:
        c.recv(1)
    except OSError:
        pass


# ---------------------------------------------------------------- cases


def case_open_and_echo(echo):
    r = RelayPipe()
    h = r.start()
    fx.check(h["minor"] == 1 and h["stream_window"] == WINDOW and h["max_streams"] == 4096
             and h["stream_flags"] == 0,
             "relay HELLO 1.1: stream_window 262144, max_streams 4096, not RESTRICTED", h)
    r.send(sopen(1, "127.0.0.1", echo.port))
    f = r.expect(lambda f: f.flow == 1)
    fx.check(f.type == SOPENED and f.payload == b"", "SOPEN to a listening port: SOPENED", f)
    roundtrip(r, 1, b"hello", "SDATA reaches the target and its answer comes back as SDATA")
    big = random.Random(1).randbytes(200000)
    roundtrip(r, 1, big, "200000 bytes (under the window) echo back whole")
    r.send(sopen(2, "localhost", echo.port))
    fx.check(r.expect(lambda f: f.flow == 2).type == SOPENED, "a host name is resolved")
    roundtrip(r, 2, b"by name", "and carries data")
    r.finish_clean("open and echo")


def case_zero_rtt(echo):
    r = RelayPipe()
    r.start()
    payload = b"GET / HTTP/1.1\r\n\r\n" * 100
    r.send(sopen(3, "127.0.0.1", echo.port) + sdata(3, payload, cut=500) + seof(3))
    s = gather(r, [3])[3]
    fx.check(only_data_then_eof(s),
             "SDATA and SEOF right behind SOPEN: SOPENED first, the echo, then SEOF",
             s["frames"][:10])
    fx.check(bytes(s["data"]) == payload, "the bytes sent before SOPENED arrived, in order")
    r.finish_clean("0-RTT")


def case_halfclose(echo):
    r = RelayPipe()
    r.start()
    bulk = fx.BulkServer()
    up = random.Random(2).randbytes(5000)
    r.send(sopen(4, "127.0.0.1", bulk.port), sdata(4, b"AFTEREOF 3000 7\n" + up), seof(4))
    s = gather(r, [4])[4]
    want = b"5000\n" + b"".join(fx.stream(3000, 7))
    fx.check(only_data_then_eof(s) and bytes(s["data"]) == want,
             "client SEOF: the target sees end of file after all 5000 bytes, answers, and "
             "its end of file comes back as SEOF after its data", s["frames"][-5:])
    r.sync()
    r.send(sdata(4, b"late"), swindow(4, 100), seof(4), sreset(4))
    r.sync(2)
    fx.check(not [f for f in r.pending if f.flow == 4],
             "the stream is forgotten once both sides ended: later frames for it draw nothing",
             r.pending)
    r.send(sopen(4, "127.0.0.1", echo.port))
    fx.check(r.expect(lambda f: f.flow == 4).type == SOPENED, "and its id can be used again")
    roundtrip(r, 4, b"again", "the new stream on the old id works")
    bulk.close()

    def bye_first(c, record):
        c.sendall(b"bye")
        c.shutdown(socket.SHUT_WR)
        sink(c, record)

    peer = Peer(bye_first)
    r.send(sopen(5, "127.0.0.1", peer.port))
    fx.check(r.expect(lambda f: f.flow == 5).type == SOPENED, "a target that speaks first")
    got = b""
    while True:
        f = r.expect(lambda f: f.flow == 5 and f.type in (SDATA, SEOF, SRESET))
        if f.type != SDATA:
            break
        got += f.payload
    fx.check(f.type == SEOF and got == b"bye",
             "the target's end of file: SEOF after its data", f)
    r.send(sdata(5, b"still talking"), sdata(5, b", and done"), seof(5))
    fx.check(peer.wait_record("eof") == b"still talking, and done",
             "the client keeps sending after the relay's SEOF, and its SEOF ends the target's "
             "input after that data")
    r.sync()
    r.send(sdata(5, b"late"))
    r.sync(3)
    fx.check(not [f for f in r.pending if f.flow == 5], "then the stream is gone", r.pending)
    peer.close()
    r.finish_clean("half-close")


def case_refused_and_resolve():
    r = RelayPipe()
    r.start()
    port, hold = fx.refused_port()
    r.send(sopen(6, "127.0.0.1", port), sdata(6, b"anyone?"))
    f = reset_of(r, 6)
    fx.check(f.code == RST_REFUSED and str(port) in f.text,
             "SOPEN to a port nobody listens on: SRESET RST_REFUSED naming it", f)
    hold.close()
    r.send(sopen(7, "no-such-host.invalid", 80), sdata(7, b"x"), seof(7))
    f = reset_of(r, 7, timeout=60)
    fx.check(f.code == RST_RESOLVE and "no-such-host.invalid" in f.text,
             "SOPEN to a name that does not resolve: SRESET RST_RESOLVE", f)
    r.sync()
    fx.check(not [f for f in r.pending if f.flow in (6, 7)],
             "and nothing else for either: the 0-RTT bytes behind them are dropped quietly",
             r.pending)
    r.finish_clean("refused and resolve")


def case_not_allowed(echo):
    other = fx.EchoServer()
    r = RelayPipe("--permit-open", f"127.0.0.1:{echo.port}")
    h = r.start()
    fx.check(h["stream_flags"] & STREAM_FLAG_RESTRICTED,
             "--permit-open: the relay's HELLO says RESTRICTED", h)
    r.send(sopen(8, "127.0.0.1", other.port), sdata(8, b"x"))
    f = reset_of(r, 8)
    fx.check(f.code == RST_NOT_ALLOWED, "SOPEN outside --permit-open: RST_NOT_ALLOWED", f)
    r.send(sopen(8, "localhost", echo.port))
    fx.check(reset_of(r, 8).code == RST_NOT_ALLOWED,
             "matched against the host as written (localhost is not 127.0.0.1)")
    r.send(sopen(9, "127.0.0.1", echo.port))
    fx.check(r.expect(lambda f: f.flow == 9).type == SOPENED, "the permitted target opens")
    roundtrip(r, 9, b"allowed", "and carries data")
    fx.check(other.accepted == 0, "the refused target was never connected to", other.accepted)
    r.finish_clean("not allowed")
    fx.check("refused" in r.log(), "the refusal is logged on stderr", r.log())
    other.close()


def case_limit(echo):
    r = RelayPipe("--max-streams", "2")
    h = r.start()
    fx.check(h["max_streams"] == 2, "--max-streams 2 in the HELLO", h)
    r.send(sopen(1, "127.0.0.1", echo.port), sopen(2, "127.0.0.1", echo.port),
           sopen(3, "127.0.0.1", echo.port))
    fx.check(reset_of(r, 3).code == RST_LIMIT, "a third stream: RST_LIMIT")
    roundtrip(r, 1, b"one", "the first two keep working")
    r.send(sreset(1))
    r.sync()
    r.send(sopen(3, "127.0.0.1", echo.port))
    fx.check(r.expect(lambda f: f.flow == 3).type == SOPENED, "once one is reset, a new one fits")
    r.finish_clean("limit")
    r = RelayPipe("--max-streams", "0")
    fx.check(r.wait() == 2 and "--max-streams" in r.log() and len(r.log().splitlines()) == 1,
             "--max-streams 0: exit 2, one line naming it", r.log())


def case_violations(echo):
    r = RelayPipe()
    r.start()
    r.send(sopen(20, "127.0.0.1", echo.port))
    r.expect_type(SOPENED, 20)
    stall = stalled_listener()
    if stall is None:
        fx.skip("cannot make a listener whose accept queue stays full (for a stream that stays "
                "connecting)")
    ls, fillers = stall
    port = ls.getsockname()[1]
    # A stream that stays CONNECTING writes nothing, so no credit comes back: the window is
    # exact. 262144 bytes are fine, one more is past the credit.
    r.send(sopen(21, "127.0.0.1", port), sdata(21, b"w" * WINDOW))
    r.sync()
    fx.check(not [f for f in r.pending if f.flow == 21],
             "a connecting stream takes the whole window (262144 bytes) before SOPENED", r.pending)
    r.send(sdata(21, b"!"))
    f = reset_of(r, 21)
    fx.check(f.code == RST_PROTOCOL and "credit" in f.text,
             "one byte past the credit: SRESET RST_PROTOCOL", f)
    roundtrip(r, 20, b"unharmed", "another stream keeps working")

    r.send(sopen(22, "127.0.0.1", port), seof(22), sdata(22, b"after"))
    f = reset_of(r, 22)
    fx.check(f.code == RST_PROTOCOL and "SEOF" in f.text, "SDATA after SEOF: RST_PROTOCOL", f)
    r.send(sopen(23, "127.0.0.1", port), sopen(23, "127.0.0.1", port))
    fx.check(reset_of(r, 23).code == RST_PROTOCOL, "SOPEN for a live id: RST_PROTOCOL")
    r.sync()
    r.send(sopen(24, "127.0.0.1", port), frame(SWINDOW, 24, b"\x00\x00\x01"))
    f = reset_of(r, 24)
    fx.check(f.code == RST_PROTOCOL and f.text.startswith("bad SWINDOW: "),
             "a malformed SWINDOW: RST_PROTOCOL, its text naming it", f)
    r.send(sopen(25, "127.0.0.1", port), swindow(25, 0x7FFFFFFF))
    fx.check(reset_of(r, 25).code == RST_PROTOCOL,
             "an SWINDOW lifting the credit over 0x7FFFFFFF: RST_PROTOCOL")
    r.send(frame(SOPEN, 26, b"\x00\x50\x09short"))
    fx.check(reset_of(r, 26).code == RST_PROTOCOL, "a malformed SOPEN: RST_PROTOCOL")
    r.send(sopen(27, "127.0.0.1", port), frame(SOPENED, 27))
    fx.check(reset_of(r, 27).code == RST_PROTOCOL, "SOPENED from the client: RST_PROTOCOL")
    r.send(frame(SDATA, 0x80000005, b"x"), frame(SDATA, 0, b"x"), sdata(999, b"nobody"),
           swindow(999, 5), seof(999), sreset(999), frame(SEOF, 998, b"x"))
    r.sync()
    fx.check(not [f for f in r.pending if f.type == SRESET],
             "frames for no stream (and malformed ones naming none) are dropped quietly",
             r.pending)
    r.send(open_(70, "127.0.0.1", 9), sopen(70, "127.0.0.1", echo.port))
    fx.check(reset_of(r, 70).code == RST_PROTOCOL,
             "SOPEN on the id of a UDP flow: RST_PROTOCOL (ids are shared)")
    r.send(open_(20, "127.0.0.1", 9))
    f = r.expect_type(ERROR, 20)
    fx.check(f.code == ERR_PROTOCOL, "OPEN on the id of a live stream: ERR_PROTOCOL", f)
    roundtrip(r, 20, b"still fine", "the first stream survived all of that")
    for c in fillers:
        c.close()
    ls.close()
    r.finish_clean("violations")
    log = r.log()
    fx.check("past the credit" in log and "after SEOF" in log,
             "violations are logged on stderr", log)
    fx.check("SEOF for stream 0x3e6 dropped: " in log,
             "a malformed frame naming no stream is logged with its type", log)


def case_credit():
    bulk = fx.BulkServer()
    r = RelayPipe()
    r.start(stream_window=100000)
    n = 1 << 20
    r.send(sopen(30, "127.0.0.1", bulk.port), sdata(30, f"DOWNLOAD {n} 11\n".encode()))
    r.expect_type(SOPENED, 30)
    got = bytearray()

    def read_until(total, what):
        while len(got) < total:
            f = r.expect(lambda f: f.flow == 30 and f.type in (SDATA, SEOF, SRESET), 20,
                         what)
            if f.type != SDATA or len(f.payload) > SDATA_CUT:
                raise fx.TestFailure(f"{what}: SDATA of at most {SDATA_CUT} bytes, got {f!r}")
            got.extend(f.payload)

    read_until(100000, "the client's whole window")
    fx.check(len(got) == 100000 and r.quiet(lambda f: f.flow == 30, 1.0),
             "without SWINDOW the relay sends exactly the client's stream_window, then stops",
             len(got))
    r.send(swindow(30, 50000))
    read_until(150000, "SWINDOW 50000 more")
    fx.check(len(got) == 150000 and r.quiet(lambda f: f.flow == 30, 1.0),
             "SWINDOW 50000: exactly 50000 more, then it stops again", len(got))
    r.send(swindow(30, n))
    read_until(n, "the rest")
    f = r.expect(lambda f: f.flow == 30)
    fx.check(f.type == SEOF and hashlib.sha256(got).hexdigest() == fx.stream_sha256(n, 11),
             "with credit for the rest: all of it, by hash, then SEOF", f)

    # The relay's own window: SWINDOW once a quarter of it was written to the target.
    r.send(sopen(31, "127.0.0.1", bulk.port), sdata(31, f"UPLOAD {3 * WINDOW}\n".encode()))
    r.expect_type(SOPENED, 31)
    sent, credit = 0, WINDOW - len(f"UPLOAD {3 * WINDOW}\n")
    most = credit
    data = random.Random(3).randbytes(3 * WINDOW)
    while sent < len(data):
        k = min(credit, len(data) - sent, 65535)
        if k == 0:
            w = r.expect_type(SWINDOW, 31, 20)
            fx.check(w.increment >= WINDOW // 4, "credit comes back a quarter window at a time",
                     w)
            credit += w.increment
            most = max(most, credit)
            continue
        r.send(sdata(31, data[sent:sent + k]))
        sent += k
        credit -= k
    answer = b""
    while not answer.endswith(b"\n"):
        answer += r.expect_type(SDATA, 31, 20).payload
    fx.check(answer.decode().split() == [str(len(data)), hashlib.sha256(data).hexdigest()],
             "an upload of 3 windows, sent only as credit allowed, arrives whole", answer)
    fx.check(most > 2 * WINDOW, "... and once it had written a window to its target, the relay "
             "grew the stream's window (a transfer's 4 MiB)", f"the most credit held: {most}")
    bulk.close()
    r.finish_clean("credit")


def case_resets(echo):
    def wait_reset(c, record):
        got = c.recv(100)
        record("got", got)
        try:
            more = c.recv(100)
            record("after", "eof" if not more else more)
        except ConnectionResetError:
            record("after", "reset")

    peer = Peer(wait_reset)
    r = RelayPipe()
    r.start()
    r.send(sopen(40, "127.0.0.1", peer.port), sdata(40, b"x"))
    fx.check(peer.wait_record("got") == b"x", "the target got the first byte")
    r.expect_type(SOPENED, 40)
    r.send(sreset(40, RST_ABORTED, b"the application was cut"))
    fx.check(peer.wait_record("after") == "reset",
             "SRESET from the client: the target sees a reset (ECONNRESET), not an end of file")
    r.sync()
    fx.check(not [f for f in r.pending if f.flow == 40], "SRESET is not answered", r.pending)
    peer.close()

    def reset_after_hi(c, record):
        c.recv(10)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()

    peer = Peer(reset_after_hi)
    r.send(sopen(41, "127.0.0.1", peer.port), sdata(41, b"hi"))
    r.expect_type(SOPENED, 41)
    f = reset_of(r, 41)
    fx.check(f.code == RST_ABORTED and f.text,
             "the target resets: SRESET RST_ABORTED with the error's text", f)
    peer.close()
    r.send(sopen(42, "127.0.0.1", echo.port))
    r.expect_type(SOPENED, 42)
    roundtrip(r, 42, b"after resets", "new streams work after resets both ways")
    r.finish_clean("resets")


def case_many(echo):
    n, size = 500, 20000
    r = RelayPipe()
    r.start()
    payloads = {i: random.Random(i).randbytes(size + i) for i in range(1, n + 1)}
    burst = b"".join(sopen(i, "127.0.0.1", echo.port) + sdata(i, p, cut=4096) + seof(i)
                     for i, p in payloads.items())
    threading.Thread(target=r.send, args=(burst,), daemon=True).start()
    got = gather(r, payloads.keys(), timeout=120)
    wrong = [i for i, s in got.items()
             if not only_data_then_eof(s) or hashlib.sha256(s["data"]).digest() !=
             hashlib.sha256(payloads[i]).digest()]
    fx.check(not wrong, f"{n} concurrent streams, opened in one burst: each gets its own "
             "bytes back (by hash), SOPENED first and SEOF last", wrong[:10])
    r.finish_clean(f"{n} streams")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def case_stalled_reader():
    """The client stops reading the relay's output while 8 streams download 16 MiB each with
    all the credit they want: the relay stops reading its targets once about 1 MiB of SDATA
    waits (its memory stays flat), and goes on once the client reads again."""
    bulk = fx.BulkServer()
    r = RelayPipe()
    r.start(stream_window=0x7FFFFFFF)
    r.sync()
    before = rss_kib(r.p.pid)
    n = 16 << 20
    ids = range(50, 58)
    r.reading.clear()
    r.send(*[sopen(i, "127.0.0.1", bulk.port) + sdata(i, f"DOWNLOAD {n} {i}\n".encode())
             for i in ids])
    time.sleep(2)
    stalled = rss_kib(r.p.pid)
    r.reading.set()
    if before is not None and stalled is not None:
        fx.check(stalled - before < 32 * 1024,
                 f"a stalled client reader: the relay holds back (memory grew "
                 f"{(stalled - before) // 1024} MiB, not toward the {8 * n >> 20} MiB asked for)")
    got = gather(r, ids, timeout=120)
    bad = [i for i in ids if not only_data_then_eof(got[i])
           or hashlib.sha256(got[i]["data"]).hexdigest() != fx.stream_sha256(n, i)]
    fx.check(not bad, "a stalled client reader: every download arrives whole once it reads "
             "again (by hash)", bad)
    bulk.close()
    r.finish_clean("stalled reader")


def case_versions(echo):
    def no_streams(r, what):
        before = echo.accepted
        r.send(sopen(60, "127.0.0.1", echo.port), sdata(60, b"x"), seof(60), sreset(60))
        r.send(ping(77))
        f = r.expect(lambda f: f.type != HELLO)
        fx.check(f.type == PONG, f"{what}: stream frames are skipped (the next answer is the "
                 "PONG)", f)
        time.sleep(0.2)
        fx.check(echo.accepted == before, f"{what}: no connection was made", echo.accepted)

    r = RelayPipe("--protocol", "1.0")
    h = r.start()
    fx.check(h["minor"] == 0 and h["len"] == 15 + len(h["software"]),
             "--protocol 1.0: the relay's HELLO is a 1.0 one (no stream fields)", h)
    no_streams(r, "--protocol 1.0")
    r.finish_clean("--protocol 1.0")

    r = RelayPipe()
    r.start(minor=0)
    no_streams(r, "a 1.0 client")
    r.finish_clean("1.0 client")

    r = RelayPipe()
    r.start(stream_window=0)
    no_streams(r, "a 1.1 client with stream_window 0")
    r.finish_clean("stream_window 0")

    r = RelayPipe("--protocol", "2.0")
    fx.check(r.wait() == 2 and "--protocol" in r.log(), "--protocol 2.0: exit 2", r.log())


def main():
    echo = fx.EchoServer()
    case_open_and_echo(echo)
    case_zero_rtt(echo)
    case_halfclose(echo)
    case_refused_and_resolve()
    case_not_allowed(echo)
    case_limit(echo)
    case_credit()
    case_resets(echo)
    case_versions(echo)
    case_many(echo)
    case_stalled_reader()
    case_violations(echo)
    echo.close()


fx.run(main, timeout=280)
