#!/usr/bin/env python3
"""The shortest path through a relay stream (OpenVia=relay, RelayCommand = this build's relay
under a real sshd): 16 MiB down and up through -L checked by SHA-256, a -D CONNECT answered
and echoed, a refused target reset with the SOCKS code; `porthole status` counts them as
relay streams, and -v says each link went through the relay. After the SSH connection is cut,
porthole reconnects and the relay carries the next connection again. The longer cases are in
relay_tcp.py, relay_tcp_many.py and relay_tcp_fallback.py."""

import os
import signal
import time

import fixture as fx
import relaytcp as rt

N = 16 << 20


def main():
    fx.skip_in_ssh_mode("relay streams are porthole's own")
    # DEBUG1: sshd logs each channel it opens ("ctype direct-tcpip"), a witness of the path
    # that is not porthole's own count.
    with fx.Sshd(log_level="DEBUG1") as sshd, fx.BulkServer() as bulk, \
            fx.EchoServer() as echo:
        lport, dport = fx.free_port(), fx.free_port()
        fwd = ["-L", f"{lport}:127.0.0.1:{bulk.port}", "-D", str(dport)]
        extra = ["-v", "-o", "Reconnect=yes", "-o", "ReconnectMaxDelay=1"]
        with fx.Forwarder(sshd, fwd, extra_args=rt.relay_args(extra=extra)) as fw:
            got = rt.download(lport, N, 11)
            fx.check(got == (N, fx.stream_sha256(N, 11)),
                     f"-L: {N >> 20} MiB down through a relay stream, intact", str(got))
            reply, want = rt.upload(lport, N, 12)
            fx.check(reply == want, f"-L: {N >> 20} MiB up through a relay stream, intact",
                     f"{reply} != {want}")

            code, s = rt.socks5_connect(dport, 1, "127.0.0.1", echo.port)
            with s:
                s.sendall(b"through the relay")
                back = s.recv(64)
            fx.check(code == 0 and back == b"through the relay",
                     "-D: CONNECT answered 0x00 on SOPENED, bytes echoed", f"{code} {back!r}")
            dead, dead_sock = fx.refused_port()
            with dead_sock:
                code, s = rt.socks5_connect(dport, 1, "127.0.0.1", dead)
                s.close()
            fx.check(code == 5, "-D: a refused target is SOCKS 0x05 (RST_REFUSED)",
                     f"got {code:#x}")

            tcpip = rt.tcpip_channels(sshd)
            fx.check(not tcpip, "sshd opened no direct-tcpip channel for them", "\n".join(tcpip))
            relay, channel = rt.counts(sshd, "-L")
            fx.check((relay, channel) == (2, 0), "status: -L's 2 connections via relay",
                     f"via_relay {relay}, via_channel {channel}")
            relay, channel = rt.counts(sshd, "-D")
            fx.check((relay, channel) == (2, 0), "status: -D's 2 connections via relay",
                     f"via_relay {relay}, via_channel {channel}")
            lines = [x for x in fw.stderr_lines() if "through the relay (stream)" in x]
            fx.check(len(lines) >= 4, "-v: each link says it went through the relay",
                     "\n".join(fw.stderr_lines()[-30:]))
            # The SSH connection cut: after the reconnect the relay is started again at once.
            for pid in sshd.session_pids():
                os.kill(pid, signal.SIGKILL)
            line = fw.wait_stderr(lambda l: "reconnecting" in l, 15)
            fx.check(line is not None, "the cut connection is noticed", fw.stderr())
            deadline = time.monotonic() + 30
            got = None
            while time.monotonic() < deadline:
                try:
                    got = rt.download(lport, 1 << 20, 13, timeout=20)
                    if got == (1 << 20, fx.stream_sha256(1 << 20, 13)):
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            fx.check(got == (1 << 20, fx.stream_sha256(1 << 20, 13)),
                     "after the reconnect -L works", f"{got}\n{fw.stderr()}")
            relay, channel = rt.counts(sshd, "-L")
            fx.check(channel == 0 and relay >= 3,
                     "... through the relay, started again for the new session",
                     f"via_relay {relay}, via_channel {channel}")
            fx.check(not rt.tcpip_channels(sshd),
                     "... and sshd's log has still no direct-tcpip channel")
            ups = [x for x in fw.stderr_lines() if "relay up:" in x]
            fx.check(len(ups) == 2, "-v: the relay came up once per session", "\n".join(ups))
            fx.check(not bulk.errors and not echo.errors, "the servers saw no errors",
                     "\n".join(bulk.errors + echo.errors))
            status, err = fw.stop()
            fx.check(status == 0 and "Sanitizer" not in err, "porthole exits 0 on SIGTERM",
                     f"status {status}\n{err}")


if __name__ == "__main__":
    fx.run(main)
