#!/usr/bin/env python3
"""Fair share of the relay channel (issue 16): one local sender floods a -L .../udp forward
with large datagrams, far more than the SSH session can carry, while another sender, through
another -L .../udp forward of the same session (to another target: the kernel buffer of a
shared UDP socket is not porthole's to share out), sends a few bursts of small datagrams.
The quiet flow's datagrams get through (nearly all; asserted generously, at least half,
never on timing), and the drops are counted for the flooding flow, by its source address,
in `porthole status --json` (flow_drops) and in the text status. A flood into a -R .../udp
port makes the relay drop, and its DROPS (protocol 1.1) reach the client's status."""

import json
import socket
import subprocess
import threading
import time

import fixture as fx

ROUNDS, BURST = 10, 10  # the quiet flow: ROUNDS bursts of BURST small datagrams
QUIET = ROUNDS * BURST
FLOOD_SIZE = 32000  # bytes per flood datagram
FLOOD_MAX_S = 60    # the flood stops by then whatever happens


class SinkOrEcho:
    """Echoes datagrams that start with b"ping", and reads (discards) the rest as fast as it
    can, so the flood does not come back and the quiet flow's replies do."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.flood_seen = 0
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except OSError:
                return
            if data.startswith(b"ping"):
                try:
                    self.sock.sendto(data, addr)
                except OSError:
                    pass
            else:
                self.flood_seen += 1

    def close(self):
        self.sock.close()


def flood(port, stop, sent):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    payload = b"F" * FLOOD_SIZE
    deadline = time.monotonic() + FLOOD_MAX_S
    sent["port"] = None
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            s.sendto(payload, ("127.0.0.1", port))
            sent["n"] += 1
            if sent["port"] is None:
                sent["port"] = s.getsockname()[1]
        except OSError:
            time.sleep(0.001)  # ENOBUFS and the like: the kernel's queue is full
    s.close()


def status(sshd, json_out):
    argv = [fx.porthole_path(), "status"] + (["--json"] if json_out else [])
    return subprocess.run(argv, env=fx.child_env(sshd), capture_output=True, text=True,
                          timeout=10, stdin=subprocess.DEVNULL)


def main():
    fx.skip_in_ssh_mode("ssh has no UDP forwarding")
    with fx.Sshd() as sshd:
        target, echo = SinkOrEcho(), SinkOrEcho()
        # Two forwards, two targets: the flood and the quiet flow share the relay channel
        # (and its scheduler), not a UDP socket, whose kernel buffer a flood fills.
        lport, qport_l = fx.free_port(), fx.free_port()
        fw = fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{target.port}/udp",
                                 "-L", f"{qport_l}:127.0.0.1:{echo.port}/udp"],
                          extra_args=["-o", f"RelayCommand={fx.porthole_path()} relay"])
        with fw:
            quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            quiet.settimeout(2.0)
            quiet.bind(("127.0.0.1", 0))
            # The relay is up before the flood starts (its start is not what is measured).
            got = None
            for _ in range(10):
                quiet.sendto(b"ping warm", ("127.0.0.1", qport_l))
                try:
                    got = quiet.recvfrom(100)[0]
                    break
                except socket.timeout:
                    continue
            fx.check(got == b"ping warm", "the quiet flow works before the flood")

            stop, sent = threading.Event(), {"n": 0}
            t = threading.Thread(target=flood, args=(lport, stop, sent), daemon=True)
            t.start()
            time.sleep(1.0)  # the flood fills every queue on the way first
            # Bursts of BURST at once: a shared FIFO that drops new datagrams while it is
            # full loses a burst whole; a queue of the flow's own keeps it.
            answered = 0
            for r in range(ROUNDS):
                want = {b"ping %d %d" % (r, i) for i in range(BURST)}
                for msg in sorted(want):
                    quiet.sendto(msg, ("127.0.0.1", qport_l))
                try:
                    while want:  # until all came back, or 2 s of silence
                        data = quiet.recvfrom(100)[0]
                        if data in want:
                            want.discard(data)
                            answered += 1
                except socket.timeout:
                    pass
            st_json = status(sshd, True)
            st_text = status(sshd, False)
            stop.set()
            t.join()

            fx.check(sent["n"] > 0 and target.flood_seen > 0,
                     f"the flood went through the tunnel ({target.flood_seen} of {sent['n']} "
                     f"datagrams of {FLOOD_SIZE} bytes arrived)")
            # Every one, on a quiet machine; on one loaded enough that the tunnel stalls past
            # the 100 ms budget, late ones are dropped like the flood's: generous, not timing.
            fx.check(answered >= QUIET // 2,
                     f"the quiet flow's datagrams get through beside the flood "
                     f"({answered} of {QUIET} answered)", st_json.stdout)

            inst = json.loads(st_json.stdout)[0] if st_json.returncode == 0 else {}
            fwd = [f for f in inst.get("forwards", []) if f["udp"] and f"{lport}:" in f["name"]]
            drops = inst.get("flow_drops", [])
            qport = quiet.getsockname()[1]
            flood_rows = [d for d in drops if d["source"] == f"127.0.0.1:{sent['port']}"]
            quiet_rows = [d for d in drops if d["source"] == f"127.0.0.1:{qport}"]
            # "both" when the relay also had to drop some on its way to the target (a
            # loaded machine: seen once in CI, 18 relay drops beside 4471 of ours).
            fx.check(len(flood_rows) == 1 and flood_rows[0]["drops"] > 0
                     and flood_rows[0]["side"] in ("client", "both"),
                     "status --json: the flooding flow's drops are counted, by its source",
                     st_json.stdout + st_json.stderr)
            fx.check(sum(d["drops"] for d in quiet_rows) <= QUIET // 2,
                     "status --json: the quiet flow lost (nearly) nothing", json.dumps(drops))
            fx.check(len(fwd) == 1 and fwd[0]["drops"] >= flood_rows[0]["drops"] if flood_rows
                     else False, "status --json: the forward's drops include the flow's",
                     json.dumps(fwd))
            fx.check(inst.get("relay_drops", 0) >= fwd[0]["drops"] if fwd else False,
                     "status --json: relay_drops counts this side's drops in all")
            fx.check(f"from 127.0.0.1:{sent['port']}:" in st_text.stdout
                     and "datagrams dropped on this side" in st_text.stdout,
                     "status: the text names the flooding flow and its drops", st_text.stdout)
            quiet.close()

        # The other way: a flood into a -R .../udp port backs up the relay's queue; the relay
        # drops the late datagrams and reports them (DROPS, protocol 1.1), and status shows
        # them as the relay's.
        rport = fx.free_port("127.0.0.1")
        with fx.Forwarder(sshd, ["-R", f"{rport}:127.0.0.1:{target.port}/udp"],
                          wait_remote=False,
                          extra_args=["-o", f"RelayCommand={fx.porthole_path()} relay"]):
            quiet = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            quiet.settimeout(2.0)
            got = None
            deadline = time.monotonic() + 15
            while got is None and time.monotonic() < deadline:
                quiet.sendto(b"ping remote", ("127.0.0.1", rport))
                try:
                    got = quiet.recvfrom(100)[0]
                except OSError:
                    pass
            fx.check(got == b"ping remote", "the -R .../udp forward works before the flood")
            stop, sent = threading.Event(), {"n": 0}
            t = threading.Thread(target=flood, args=(rport, stop, sent), daemon=True)
            t.start()
            fwd = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                time.sleep(1.0)
                st = status(sshd, True)
                inst = json.loads(st.stdout)[0] if st.returncode == 0 else {}
                fwd = [f for f in inst.get("forwards", []) if f["udp"]]
                if fwd and fwd[0].get("drops_relay", 0) > 0:
                    break
            stop.set()
            t.join()
            fx.check(fwd and fwd[0].get("drops_relay", 0) > 0,
                     "status --json: the relay's drops of a flooding -R flow reach the client",
                     json.dumps(fwd))
            rows = [d for d in inst.get("flow_drops", []) if d["relay_drops"] > 0]
            fx.check(rows and rows[0]["side"] in ("relay", "both"),
                     "status --json: the flow's row says the relay dropped",
                     json.dumps(inst.get("flow_drops")))
            quiet.close()
        target.close()
        echo.close()


if __name__ == "__main__":
    fx.run(main)
