#!/usr/bin/env python3
"""`porthole relay` driven directly over pipes, without ssh: the relay protocol
(docs/relay-protocol.md) from the client's side, against real UDP sockets on 127.0.0.1.

Each case starts its own relay, speaks frames on its stdin/stdout with tests/lib/relayproto.py, and checks what comes back: HELLO, OPEN and DATA round trips, flow separation,
the idle timeout, LRU eviction, BIND/ACCEPT, the allow-lists, errors, and exits."""

import re
import socket
import struct
import subprocess
import threading
import time

import fixture as fx

from relayproto import (ACCEPT, BIND, BOUND, CLOSE, CLOSE_EVICTED, CLOSE_FAILED, CLOSE_IDLE,
                        CLOSE_NORMAL, DATA, DGRAM_MAX, ERR_LIMIT, ERR_NOT_ALLOWED, ERR_PROTOCOL,
                        ERR_RESOLVE, ERR_SOCKET, ERR_UNKNOWN_FLOW, ERR_VERSION, ERROR, HEADER,
                        HELLO, OPEN, PING, PONG, RelayPipe, addr, bind, close, data, frame, open_,
                        ping)

DROPS = 17
LISTENER = 0x40000001


# ---------------------------------------------------------------- frames


def hello(major=1, minor=0, max_datagram=DGRAM_MAX, idle=0, max_flows=0,
          software=b"relay_direct"):
    """A 1.0 HELLO; from minor 1 on with the 1.1 fields (no streams: stream_window 0)."""
    tail = struct.pack(">IIB", 0, 0, 0) if major == 1 and minor >= 1 else b""
    return frame(HELLO, 0, struct.pack(">BBIIIB", major, minor, max_datagram, idle, max_flows,
                                       len(software)) + software + tail)


class Relay(RelayPipe):
    """relayproto's RelayPipe, greeting the relay as a 1.0 client unless told otherwise."""

    def start(self, **hello_args):
        """Reads the relay's HELLO, sends ours (hello() above); returns the relay's as a dict."""
        f = self.expect_type(HELLO)
        self.send(hello(**hello_args))
        return f.hello()


def sanitizer_clean(relay, what):
    bad = [l for l in relay.log().splitlines() if "Sanitizer" in l or "runtime error:" in l]
    if bad:
        raise fx.TestFailure(f"{what}: sanitizer report\n" + relay.log())


class UdpEcho(threading.Thread):
    """A UDP echo server on 127.0.0.1: every datagram goes back to its sender."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = False
        self.start()

    def run(self):
        while not self.stop:
            try:
                b, peer = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            self.sock.sendto(b, peer)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.join()
        self.sock.close()


def roundtrip(relay, flow, payload, what):
    relay.send(data(flow, payload))
    f = relay.expect_type(DATA, flow)
    fx.check(f.payload == payload, what, f"{len(f.payload)} bytes back, expected {len(payload)}")


# ---------------------------------------------------------------- cases


def case_hello_and_open(echo):
    r = Relay()
    h = r.start()
    major, minor, max_dgram = h["major"], h["minor"], h["max_datagram"]
    max_flows, software = h["max_flows"], h["software"]
    fx.check((major, minor, max_dgram) == (1, 1, DGRAM_MAX),
             "relay HELLO: version 1.1, max_datagram 65507", (major, minor, max_dgram))
    fx.check(software.startswith("porthole "), "relay HELLO names its software", software)
    fx.check(max_flows == 1024, "relay HELLO announces its flow cap (1024)", max_flows)
    r.sync()
    r.send(open_(1, "127.0.0.1", echo.port))
    for n in (1, 1400, 9000, DGRAM_MAX):
        roundtrip(r, 1, bytes((i * 7 + n) & 0xFF for i in range(n)),
                  f"{n}-byte datagram comes back whole")
    roundtrip(r, 1, b"", "an empty datagram comes back as an empty DATA")
    r.send(data(1, b"x" * (DGRAM_MAX + 1)))
    r.sync(1)
    fx.check(r.quiet(lambda f: f.type == DATA, 0.3), "a DATA over 65507 bytes is dropped")
    r.finish_clean("open")


def case_resolve_queue(echo):
    """DATA sent right behind OPEN waits for the address: 16 kept, the rest dropped."""
    r = Relay()
    r.start()
    r.send(open_(1, "localhost", echo.port), *[data(1, b"q%02d" % i) for i in range(20)])
    got = [r.expect_type(DATA, 1).payload for _ in range(16)]
    fx.check(got == [b"q%02d" % i for i in range(16)],
             "the first 16 datagrams sent while resolving arrive in order", got)
    fx.check(r.quiet(lambda f: f.type == DATA, 0.5), "datagrams past 16 while resolving dropped")
    r.finish_clean("resolve queue")


def case_many_flows(echo):
    r = Relay()
    r.start()
    n = 50
    r.send(*[open_(i, "127.0.0.1", echo.port) for i in range(1, n + 1)])
    r.sync()
    for rnd in range(3):
        r.send(*[data(i, b"flow %d round %d" % (i, rnd)) for i in range(1, n + 1)])
        wrong = []
        for _ in range(n):
            f = r.expect_type(DATA)
            if f.payload != b"flow %d round %d" % (f.flow, rnd):
                wrong.append((f.flow, f.payload))
        fx.check(not wrong, f"{n} flows, round {rnd}: each gets only its own replies", wrong)
    r.finish_clean("50 flows")


def case_idle(echo):
    r = Relay()
    r.start(idle=2)
    r.send(open_(1, "127.0.0.1", echo.port), open_(2, "127.0.0.1", echo.port))
    roundtrip(r, 1, b"a", "flow 1 up")
    roundtrip(r, 2, b"b", "flow 2 up")
    t0 = time.monotonic()
    closed = None
    while time.monotonic() - t0 < 8 and closed is None:  # flow 2 talks every 0.5 s
        r.send(data(2, b"keepalive"))
        r.expect_type(DATA, 2)
        try:
            closed = r.expect(lambda f: f.type == CLOSE, 0.5)
        except fx.TestFailure:
            pass
    took = time.monotonic() - t0
    fx.check(closed is not None and closed.flow == 1 and closed.code == CLOSE_IDLE,
             "the idle flow is closed with CLOSE_IDLE", repr(closed))
    fx.check(1.5 <= took <= 6, f"after about 2 s ({took:.1f} s)")
    fx.check(r.quiet(lambda f: f.type == CLOSE and f.flow == 2, 1.0),
             "a flow with traffic stays open")
    roundtrip(r, 2, b"still", "the busy flow still works")
    r.send(data(1, b"late"))
    r.sync()
    fx.check(not any(f.type == ERROR for f in r.pending),
             "DATA racing the idle CLOSE draws no ERROR", r.pending)
    r.finish_clean("idle")


def case_lru(echo):
    r = Relay()
    r.start(max_flows=3)
    for i in (1, 2, 3):
        r.send(open_(i, "127.0.0.1", echo.port))
        roundtrip(r, i, b"hi %d" % i, f"flow {i} up")
    roundtrip(r, 1, b"again", "flow 1 used again: flow 2 is now the least recently used")
    r.send(open_(4, "127.0.0.1", echo.port))
    f = r.expect_type(CLOSE)
    fx.check(f.flow == 2 and f.code == CLOSE_EVICTED,
             "a 4th flow with max_flows 3 evicts flow 2 with CLOSE_EVICTED", repr(f))
    for i in (1, 3, 4):
        roundtrip(r, i, b"after %d" % i, f"flow {i} keeps working")
    fx.check(r.quiet(lambda f: f.type == CLOSE, 0.3), "nothing else is evicted")
    r.finish_clean("lru")

    r = Relay("--max-flows", "2")
    r.start(max_flows=100)
    for i in (1, 2, 3):
        r.send(open_(i, "127.0.0.1", echo.port))
    f = r.expect_type(CLOSE)
    fx.check(f.flow == 1 and f.code == CLOSE_EVICTED,
             "--max-flows 2 wins over the client's 100", repr(f))
    r.finish_clean("--max-flows")


def case_bind():
    r = Relay()
    r.start()
    r.send(bind(LISTENER, "127.0.0.1", 0))
    f = r.expect_type(BOUND, LISTENER)
    port = struct.unpack(">H", f.payload)[0]
    fx.check(port != 0, f"BIND 127.0.0.1:0 -> BOUND with port {port}")
    srcs = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    flows = []
    for i, s in enumerate(srcs):
        s.bind(("127.0.0.1", 0))
        s.settimeout(5)
        s.sendto(b"from %d" % i, ("127.0.0.1", port))
        a = r.expect_type(ACCEPT)
        lid, host, sport = a.accept()
        fx.check(a.flow & 0x80000000 and lid == LISTENER and host == "127.0.0.1"
                 and sport == s.getsockname()[1],
                 f"source {i}: ACCEPT with a relay flow id, the listener and its address",
                 (hex(a.flow), hex(lid), host, sport))
        d = r.expect_type(DATA, a.flow)
        fx.check(d.payload == b"from %d" % i, f"source {i}: its datagram follows as DATA")
        flows.append(a.flow)
    fx.check(flows[0] != flows[1], "two sources, two flows")
    srcs[0].sendto(b"again", ("127.0.0.1", port))
    d = r.expect_type(DATA)
    fx.check(d.flow == flows[0] and d.payload == b"again", "a known source gets no new ACCEPT")
    for i, s in enumerate(srcs):
        r.send(data(flows[i], b"reply %d" % i))
        b, peer = s.recvfrom(65535)
        fx.check(b == b"reply %d" % i and peer == ("127.0.0.1", port),
                 f"DATA for flow {i} reaches source {i} from the bound port", (b, peer))
    r.send(close(LISTENER))
    r.sync()
    r.send(data(flows[0], b"gone"))
    f = r.expect_type(ERROR, flows[0])
    fx.check(f.code == ERR_UNKNOWN_FLOW, "CLOSE on the listener id closes its flows too")
    srcs[1].sendto(b"anyone?", ("127.0.0.1", port))
    fx.check(r.quiet(lambda f: f.type in (ACCEPT, DATA), 0.5), "and stops listening")
    for s in srcs:
        s.close()
    r.finish_clean("bind")


def case_permits(echo):
    other = UdpEcho()
    try:
        r = Relay("--permit-open", f"127.0.0.1:{echo.port}")
        r.start()
        r.send(open_(1, "127.0.0.1", other.port))
        f = r.expect_type(ERROR, 1)
        fx.check(f.code == ERR_NOT_ALLOWED, "--permit-open refuses another port: ERR_NOT_ALLOWED",
                 repr(f))
        r.send(open_(2, "127.0.0.1", echo.port))
        roundtrip(r, 2, b"allowed", "--permit-open lets its own host:port through")
        r.send(open_(1, "127.0.0.1", other.port))
        fx.check(r.expect_type(ERROR, 1).code == ERR_NOT_ALLOWED, "a refused id can be tried again")
        r.finish_clean("permit-open")
        fx.check("refused" in r.log(), "the refusal is logged on stderr", r.log())
    finally:
        other.__exit__()

    r = Relay()
    r.start()
    r.send(bind(LISTENER, "0.0.0.0", 0))
    f = r.expect_type(ERROR, LISTENER)
    fx.check(f.code == ERR_NOT_ALLOWED, "BIND 0.0.0.0 refused by default", repr(f))
    r.send(bind(LISTENER + 1, "::1", 0))
    f = r.expect(lambda f: f.flow == LISTENER + 1)
    fx.check(f.type == BOUND or (f.type == ERROR and f.code == ERR_SOCKET),
             "BIND ::1 allowed by default (BOUND, or ERR_SOCKET without IPv6)", repr(f))
    r.finish_clean("default bind")

    port = fx.free_port()
    r = Relay("--permit-listen", f"localhost:{port}", "--permit-listen", "*:*",
              "--permit-listen", "none")  # "none" adds nothing
    r.start()
    r.send(bind(LISTENER, "0.0.0.0", 0))
    fx.check(r.expect(lambda f: f.flow == LISTENER).type == BOUND, "--permit-listen *:* allows 0.0.0.0")
    r.finish_clean("permit-listen any")

    r = Relay("--permit-listen", str(port))
    r.start()
    r.send(bind(LISTENER, "127.0.0.1", port + 1 if port < 65535 else port - 1),
           bind(LISTENER + 1, "0.0.0.0", port), bind(LISTENER + 2, "127.0.0.1", port))
    fx.check(r.expect_type(ERROR, LISTENER).code == ERR_NOT_ALLOWED,
             "--permit-listen PORT refuses another port")
    fx.check(r.expect_type(ERROR, LISTENER + 1).code == ERR_NOT_ALLOWED,
             "--permit-listen PORT refuses a non-loopback address")
    f = r.expect(lambda f: f.flow == LISTENER + 2)
    fx.check(f.type == BOUND and struct.unpack(">H", f.payload)[0] == port,
             "--permit-listen PORT binds it on loopback", repr(f))
    r.finish_clean("permit-listen port")


def case_errors(echo):
    r = Relay()
    r.start()
    r.send(open_(1, "no-such-host.invalid", 53))
    f = r.expect_type(ERROR, 1, timeout=60)
    fx.check(f.code == ERR_RESOLVE, "OPEN to a name that does not resolve: ERR_RESOLVE", repr(f))
    r.send(data(777, b"?"))
    f = r.expect_type(ERROR, 777)
    fx.check(f.code == ERR_UNKNOWN_FLOW, "DATA for an unknown flow: ERR_UNKNOWN_FLOW", repr(f))
    r.send(data(777, b"?"), data(777, b"?"))
    r.sync()
    fx.check(not any(f.type == ERROR for f in r.pending), "only once per flow id", r.pending)
    r.send(open_(5, "127.0.0.1", echo.port), open_(5, "127.0.0.1", echo.port))
    f = r.expect_type(ERROR, 5)
    fx.check(f.code == ERR_PROTOCOL, "OPEN of a flow id in use: ERR_PROTOCOL", repr(f))
    r.send(frame(OPEN, 6, b"\x00\x35\x09short"))
    fx.check(r.expect_type(ERROR, 6).code == ERR_PROTOCOL, "a malformed OPEN: ERR_PROTOCOL")
    r.send(open_(0x80000001, "127.0.0.1", echo.port))
    fx.check(r.expect_type(ERROR, 0x80000001).code == ERR_PROTOCOL,
             "OPEN with a relay-range flow id: ERR_PROTOCOL")
    r.send(frame(200, 3, b"from the future"), frame(PING, 7, b"123"))
    fx.check(r.expect_type(ERROR, 7).code == ERR_PROTOCOL,
             "an unknown type is skipped; a malformed PING gets ERR_PROTOCOL on its flow")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # closed again: nobody listens there
    r.send(open_(9, "127.0.0.1", dead), *[data(9, b"anyone?") for _ in range(3)])
    r.sync(2)
    time.sleep(0.2)  # the ICMP port unreachables come back
    r.send(data(9, b"still?"))
    r.sync(3)
    fx.check(not any(f.type in (ERROR, CLOSE) for f in r.pending),
             "datagrams to a port nobody listens on are dropped quietly", r.pending)
    roundtrip(r, 5, b"still here", "the relay carries on after all of that")
    r.send(close(5, CLOSE_NORMAL, b"done"), close(12345))
    r.sync()
    fx.check(not any(f.type == ERROR for f in r.pending),
             "CLOSE (and CLOSE of an unknown flow) draw no answer", r.pending)
    r.finish_clean("errors")


def case_fatal():
    r = Relay()
    r.start()
    r.sync()
    r.send(b"\x00" * 8)
    status = r.wait()
    sanitizer_clean(r, "garbage header")
    fx.check(status != 0, f"a garbage header: relay exits non-zero ({status})")
    fx.check(any(l.startswith("porthole relay: ") for l in r.stderr) or
             "porthole relay: " in r.log(), "with a log line", r.log())

    r = Relay()
    r.expect_type(HELLO)
    r.send(hello(major=2, minor=3))
    f = r.expect_type(ERROR, 0)
    fx.check(f.code == ERR_VERSION and "relay speaks 1.1, client 2.3" in f.text,
             "HELLO major 2: ERR_VERSION naming both versions", repr(f))
    fx.check(r.wait() == 1, "and exit 1")
    sanitizer_clean(r, "fatal")

    r = Relay()
    r.expect_type(HELLO)
    r.send(open_(1, "127.0.0.1", 9))
    f = r.expect_type(ERROR, 0)
    fx.check(f.code == ERR_PROTOCOL, "a frame before HELLO: ERR_PROTOCOL on flow 0", repr(f))
    fx.check(r.wait() == 1, "and exit 1")
    sanitizer_clean(r, "fatal")

    r = Relay()
    r.start()
    r.send(hello())
    fx.check(r.expect_type(ERROR, 0).code == ERR_PROTOCOL, "HELLO twice: ERR_PROTOCOL")
    fx.check(r.wait() == 1, "and exit 1")
    sanitizer_clean(r, "fatal")

    r = Relay()
    r.start()
    r.send(frame(PING, 0, b"123"))
    f = r.expect_type(ERROR, 0)
    fx.check(f.code == ERR_PROTOCOL, "a malformed PING on flow 0: ERR_PROTOCOL on flow 0", repr(f))
    fx.check(r.wait() == 1, "which ends the relay: exit 1")
    sanitizer_clean(r, "fatal")

    for cut, what in ((frame(PING, 0, b"12345678")[:5], "inside a header"),
                      (frame(DATA, 1, b"x" * 100)[:50], "inside a payload")):
        r = Relay()
        r.start()
        r.sync()
        r.send(cut)
        status = r.finish()
        sanitizer_clean(r, "truncated frame")
        fx.check(status == 1, f"stdin ends {what}: exit 1 ({status})", r.log())
        lines = [l for l in r.log().splitlines() if l.strip()]
        fx.check(len(lines) == 1 and "end of file inside a frame" in lines[0],
                 f"stdin ends {what}: one line on stderr saying so", r.log())

    r = Relay("--max-flows", "lots")
    fx.check(r.wait() == 2, "a bad argument: exit 2")
    fx.check(len(r.log().splitlines()) == 1 and "--max-flows" in r.log(),
             "with one line on stderr naming it", r.log())


def case_exits(echo):
    r = Relay()
    r.start()
    r.send(open_(1, "127.0.0.1", echo.port), bind(LISTENER, "127.0.0.1", 0),
           open_(2, "no-such-host.invalid", 53))
    roundtrip(r, 1, b"x", "a flow up")
    r.expect_type(BOUND)
    r.finish_clean("stdin closed with a flow, a listener and a lookup in flight")

    r = Relay(read=False)
    r.p.stdout.close()
    r.send(hello(), ping(1))
    fx.check(r.wait() == 0, "stdout closed by the reader (EPIPE): exit 0", r.log())
    sanitizer_clean(r, "EPIPE")
    try:
        r.p.stdin.close()
    except BrokenPipeError:
        pass


def case_socketpair(echo):
    """sshd may give the command one socket as both stdin and stdout."""
    mine, theirs = socket.socketpair()
    p = subprocess.Popen([fx.porthole_path(), "relay"], stdin=theirs, stdout=theirs,
                         stderr=subprocess.PIPE)
    fx._children.append(p)
    theirs.close()
    mine.settimeout(10)
    mine.sendall(hello() + open_(1, "127.0.0.1", echo.port) + data(1, b"over a socket"))
    buf = b""
    want = frame(DATA, 1, b"over a socket")
    while want not in buf:
        b = mine.recv(65536)
        if not b:
            break
        buf += b
    fx.check(buf.startswith(bytes([HELLO])) and want in buf,
             "over a socketpair: HELLO, and a DATA round trip")
    mine.shutdown(socket.SHUT_WR)
    try:
        status = p.wait(10)
    except subprocess.TimeoutExpired:
        raise fx.TestFailure("relay still running after its socket's input ended")
    err = p.stderr.read().decode(errors="replace")
    fx.check(status == 0 and "Sanitizer" not in err, "and exit 0 when its input ends", err)
    mine.close()


def flood_stalled(r):
    """BINDs, stops reading the relay, floods the bound port from one source, reads again;
    returns the datagrams sent, once the PONG after them came."""
    r.send(bind(LISTENER, "127.0.0.1", 0))
    port = struct.unpack(">H", r.expect_type(BOUND).payload)[0]
    r.reading.clear()
    time.sleep(0.2)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        payload = b"z" * 1400
        sent = 0
        for i in range(6000):  # 8.4 MB
            s.sendto(payload, ("127.0.0.1", port))
            sent += 1
            if i % 200 == 0:
                time.sleep(0.005)  # let the relay keep up with the socket
    time.sleep(0.5)
    r.send(ping(7))
    r.reading.set()
    r.expect_type(PONG, timeout=20)
    return sent


def case_drops_reported():
    """To a 1.1 client the relay reports what it dropped of a flow in DROPS frames (at most
    once a second while it grows); a 1.0 client gets none (case_backpressure)."""
    r = Relay()
    r.start(minor=1)
    sent = flood_stalled(r)
    flow = r.expect_type(ACCEPT).flow
    got = sum(1 for f in r.pending if f.type == DATA and f.flow == flow)
    reported = 0
    deadline = time.monotonic() + 5
    while reported < sent - got and time.monotonic() < deadline:
        try:
            f = r.expect(lambda f: f.type == DROPS, 1.0, "DROPS")
        except fx.TestFailure:
            continue
        fx.check(f.flow == flow and len(f.payload) == 4, "DROPS names the flow, 4 bytes",
                 (f.flow, f.payload))
        reported += struct.unpack(">I", f.payload)[0]
    fx.check(0 < reported <= sent - got,
             f"DROPS report the flood's drops at the relay ({reported}; {got} of {sent} "
             f"datagrams delivered; the rest the kernel dropped or the relay did)")
    r.finish_clean("drops reported")


def case_backpressure():
    """The reader stalls while a bound port is flooded: DATA is dropped (the flow's share of
    the output is bounded, and what waited past its time budget goes), control frames are
    not, memory stays bounded, and the relay answers again once it is read."""
    r = Relay("-v")
    r.start()
    sent = flood_stalled(r)
    got = sum(len(x.payload) for x in r.pending if x.type == DATA)
    fx.check(got < 3 * 1024 * 1024,
             f"a stalled reader: {got} bytes of DATA queued of {sent * 1400}, the rest dropped")
    r.finish_clean("backpressure")
    m = re.search(r"(\d+) \(late or over their flow's share", r.log())
    fx.check(m and int(m.group(1)) > 0, f"the drops are counted ({m and m.group(1)})",
             r.log()[-600:])
    fx.check(not any(f.type == DROPS for f in r.pending), "a 1.0 client gets no DROPS")


def main():
    with UdpEcho() as echo:
        case_hello_and_open(echo)
        case_resolve_queue(echo)
        case_many_flows(echo)
        case_lru(echo)
        case_bind()
        case_permits(echo)
        case_errors(echo)
        case_fatal()
        case_exits(echo)
        case_socketpair(echo)
        case_backpressure()
        case_drops_reported()
        case_idle(echo)
        case_not_a_pipe()


def case_not_a_pipe():
    """Run by hand with stdin from /dev/null or a file, the relay says what it needs (libuv
    aborted polling such a descriptor: exit 134, no word)."""
    import subprocess as sp
    for what, stdin in (("/dev/null", sp.DEVNULL), ("a file", open(__file__, "rb"))):
        p = sp.run([fx.porthole_path(), "relay"], stdin=stdin, stdout=sp.PIPE,
                   stderr=sp.PIPE, timeout=10)
        err = p.stderr.decode(errors="replace")
        fx.check(p.returncode == 1 and "fd 0 (input) is not a pipe, socket or terminal" in err
                 and len(err.strip().splitlines()) == 1,
                 f"relay with stdin from {what}: exit 1, one line", f"{p.returncode} {err}")


fx.run(main)
