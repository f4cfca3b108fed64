"""The relay protocol (docs/relay-protocol.md) for tests: frames encoded and decoded, HELLO 1.0
and 1.1, and RelayPipe, which runs `porthole relay` with its stdin and stdout as pipes and
hands its frames to the test. Standard library only; the C codec is src/udpframe.c.

    r = RelayPipe()                       # porthole relay, built binary (fixture.porthole_path)
    r.start(stream_window=262144)         # its HELLO (a dict), ours sent
    r.send(sopen(1, "127.0.0.1", port), sdata(1, b"GET /"))
    r.expect_type(SOPENED, 1)
"""

import queue
import socket
import struct
import subprocess
import threading
import time

import fixture as fx

(HELLO, OPEN, BIND, BOUND, ACCEPT, DATA, CLOSE, ERROR, PING, PONG,
 SOPEN, SOPENED, SDATA, SWINDOW, SEOF, SRESET) = range(1, 17)
NAMES = {1: "HELLO", 2: "OPEN", 3: "BIND", 4: "BOUND", 5: "ACCEPT", 6: "DATA", 7: "CLOSE",
         8: "ERROR", 9: "PING", 10: "PONG", 11: "SOPEN", 12: "SOPENED", 13: "SDATA",
         14: "SWINDOW", 15: "SEOF", 16: "SRESET"}
CLOSE_NORMAL, CLOSE_IDLE, CLOSE_EVICTED, CLOSE_FAILED = range(4)
(ERR_PROTOCOL, ERR_VERSION, ERR_NOT_ALLOWED, ERR_RESOLVE, ERR_SOCKET, ERR_LIMIT,
 ERR_UNKNOWN_FLOW) = range(1, 8)
(RST_ABORTED, RST_REFUSED, RST_UNREACHABLE, RST_NOT_ALLOWED, RST_RESOLVE, RST_LIMIT,
 RST_PROTOCOL) = range(7)
RST_NAMES = {0: "RST_ABORTED", 1: "RST_REFUSED", 2: "RST_UNREACHABLE", 3: "RST_NOT_ALLOWED",
             4: "RST_RESOLVE", 5: "RST_LIMIT", 6: "RST_PROTOCOL"}
STREAM_FLAG_RESTRICTED = 0x01
HEADER = struct.Struct(">BBIH")
DGRAM_MAX = 65507
PAYLOAD_MAX = 65535
WINDOW = 262144  # porthole's stream_window
SDATA_CUT = 16384  # porthole cuts the SDATA it sends at this


# ---------------------------------------------------------------- encoding


def frame(ftype, flow, payload=b""):
    return HEADER.pack(ftype, 0, flow, len(payload)) + payload


def hello(major=1, minor=1, max_datagram=DGRAM_MAX, idle=0, max_flows=0, software=b"relayproto",
          stream_window=WINDOW, max_streams=0, stream_flags=0):
    """A HELLO; minor >= 1 appends the 1.1 stream fields."""
    p = struct.pack(">BBIIIB", major, minor, max_datagram, idle, max_flows, len(software))
    p += software
    if minor >= 1:
        p += struct.pack(">IIB", stream_window, max_streams, stream_flags)
    return frame(HELLO, 0, p)


def addr(port, host):
    h = host.encode()
    return struct.pack(">HB", port, len(h)) + h


def open_(flow, host, port):
    return frame(OPEN, flow, addr(port, host))


def bind(lid, host, port):
    return frame(BIND, lid, addr(port, host))


def data(flow, payload):
    return frame(DATA, flow, payload)


def close(flow, reason=CLOSE_NORMAL, text=b""):
    return frame(CLOSE, flow, struct.pack(">H", reason) + text)


def ping(token):
    return frame(PING, 0, struct.pack(">Q", token))


def sopen(sid, host, port):
    return frame(SOPEN, sid, addr(port, host))


def sdata(sid, payload, cut=PAYLOAD_MAX):
    """SDATA frames carrying payload, each at most `cut` bytes."""
    return b"".join(frame(SDATA, sid, payload[i:i + cut]) for i in range(0, len(payload), cut))


def swindow(sid, increment):
    return frame(SWINDOW, sid, struct.pack(">I", increment))


def seof(sid):
    return frame(SEOF, sid)


def sreset(sid, code=RST_ABORTED, text=b""):
    return frame(SRESET, sid, struct.pack(">H", code) + text)


# ---------------------------------------------------------------- decoding


def parse_hello(payload):
    """A HELLO payload as a dict; the stream fields are 0 in a 1.0 HELLO."""
    major, minor, max_dgram, idle, max_flows, n = struct.unpack(">BBIIIB", payload[:15])
    h = {"major": major, "minor": minor, "max_datagram": max_dgram, "idle_timeout": idle,
         "max_flows": max_flows, "software": payload[15:15 + n].decode(),
         "stream_window": 0, "max_streams": 0, "stream_flags": 0, "len": len(payload)}
    if minor >= 1:
        h["stream_window"], h["max_streams"], h["stream_flags"] = struct.unpack(
            ">IIB", payload[15 + n:24 + n])
    return h


class Frame:
    def __init__(self, ftype, flow, payload):
        self.type, self.flow, self.payload = ftype, flow, payload

    @property
    def code(self):  # CLOSE, ERROR and SRESET
        return struct.unpack(">H", self.payload[:2])[0]

    @property
    def text(self):
        return self.payload[2:].decode("utf-8", "replace")

    @property
    def increment(self):  # SWINDOW
        return struct.unpack(">I", self.payload)[0]

    def hello(self):
        return parse_hello(self.payload)

    def accept(self):  # ACCEPT: (listener id, source host, source port)
        lid, port, family = struct.unpack(">IHB", self.payload[:7])
        af = socket.AF_INET if family == 4 else socket.AF_INET6
        return lid, socket.inet_ntop(af, self.payload[7:]), port

    def __repr__(self):
        extra = ""
        if self.type in (CLOSE, ERROR):
            extra = f", code {self.code} {self.text!r}"
        elif self.type == SRESET:
            extra = f", {RST_NAMES.get(self.code, self.code)} {self.text!r}"
        elif self.type == SWINDOW and len(self.payload) == 4:
            extra = f", +{self.increment}"
        return f"{NAMES.get(self.type, self.type)}({self.flow:#x}, {len(self.payload)} bytes{extra})"


def decode(buf):
    """(frames, rest): the whole frames at the start of buf and the bytes after them."""
    out, i = [], 0
    while len(buf) - i >= HEADER.size:
        ftype, flags, flow, n = HEADER.unpack_from(buf, i)
        if len(buf) - i < HEADER.size + n:
            break
        out.append(Frame(ftype, flow, bytes(buf[i + HEADER.size:i + HEADER.size + n])))
        i += HEADER.size + n
    return out, buf[i:]


# ---------------------------------------------------------------- the relay under test


class RelayPipe:
    """`porthole relay ARGS` with its stdin and stdout as pipes; a thread decodes its frames.
    Clear `reading` to stop reading its stdout (the relay's output backs up); set it again to
    go on."""

    def __init__(self, *args, read=True):
        self.p = subprocess.Popen([fx.porthole_path(), "relay", *args], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        fx._children.append(self.p)
        self.frames = queue.Queue()
        self.pending = []
        self.stderr = []
        self.reading = threading.Event()
        self.reading.set()
        self._lock = threading.Lock()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        if read:
            threading.Thread(target=self._read_frames, daemon=True).start()

    def _read_exact(self, n):
        b = b""
        while len(b) < n:
            c = self.p.stdout.read(n - len(b))
            if not c:
                return None
            b += c
        return b

    def _read_frames(self):
        while True:
            self.reading.wait()
            h = self._read_exact(HEADER.size)
            if h is None:
                self.frames.put(None)
                return
            ftype, flags, flow, n = HEADER.unpack(h)
            payload = self._read_exact(n) if n else b""
            if payload is None:
                self.frames.put(None)
                return
            self.frames.put(Frame(ftype, flow, payload))

    def _read_stderr(self):
        for line in self.p.stderr:
            self.stderr.append(line.decode(errors="replace").rstrip("\n"))

    def send(self, *frames):
        with self._lock:
            self.p.stdin.write(b"".join(frames))
            self.p.stdin.flush()

    def expect(self, pred=lambda f: True, timeout=10.0, what="a frame"):
        """The first frame (kept back or new) for which pred holds; others are kept back."""
        for i, f in enumerate(self.pending):
            if pred(f):
                return self.pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                f = self.frames.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise fx.TestFailure(f"no {what} within {timeout} s; kept back: "
                                     f"{self.pending[:20]}; stderr: {self.stderr}")
            if f is None:
                self.frames.put(None)
                raise fx.TestFailure(f"relay output ended before {what}; kept back: "
                                     f"{self.pending[:20]}; stderr: {self.stderr}")
            if pred(f):
                return f
            self.pending.append(f)

    def expect_type(self, ftype, flow=None, timeout=10.0):
        return self.expect(lambda f: f.type == ftype and (flow is None or f.flow == flow),
                           timeout, f"{NAMES[ftype]}" + ("" if flow is None else f" on {flow:#x}"))

    def take(self, pred):
        """Removes and returns the kept-back frames for which pred holds."""
        got = [f for f in self.pending if pred(f)]
        self.pending = [f for f in self.pending if not pred(f)]
        return got

    def quiet(self, pred, seconds):
        """True if no frame matching pred arrives within seconds."""
        try:
            self.expect(pred, seconds)
            return False
        except fx.TestFailure:
            return True

    def sync(self, token=0x5EC):
        """PING and wait for the PONG: every frame sent before has been handled."""
        self.send(ping(token))
        self.expect(lambda f: f.type == PONG and f.payload == struct.pack(">Q", token),
                    10.0, "PONG")

    def start(self, **hello_args):
        """Reads the relay's HELLO, sends ours; returns the relay's HELLO as a dict."""
        f = self.expect_type(HELLO)
        self.send(hello(**hello_args))
        return f.hello()

    def finish(self, timeout=10.0):
        """Closes stdin and returns the exit status."""
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise fx.TestFailure(f"relay still running {timeout} s after stdin closed")

    def wait(self, timeout=10.0):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise fx.TestFailure(f"relay still running after {timeout} s")

    def log(self):
        time.sleep(0.1)  # the stderr thread reads what the exit left
        return "\n".join(self.stderr)

    def finish_clean(self, what):
        """stdin closed: exit 0 and no sanitizer report."""
        status = self.finish()
        log = self.log()
        bad = [l for l in log.splitlines() if "Sanitizer" in l or "runtime error:" in l]
        if bad:
            raise fx.TestFailure(f"{what}: sanitizer report\n{log}")
        fx.check(status == 0, f"{what}: relay exits 0 when stdin closes", log)
