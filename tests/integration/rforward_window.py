#!/usr/bin/env python3
"""-R channels get the receive window -L ones do (issue 16, session 21): sshd opens a -R
channel, and libssh2 answers that open with its fixed 2 MiB unless porthole's libssh2 has
scripts/libssh2-patches/06-accept-window.patch, which lets porthole say the window. So a
bulk transfer into a -R forward (the helper copying a file to the family machine) no longer
keeps 2 MiB queued ahead of the requests of a remote screen on the same session.

From sshd's DEBUG2 log (porthole(1), "Interactive traffic beside bulk"): a -R channel opened
with nothing interactive active opens with 512 KiB ("open confirm rwindow"), and an upload
alone through it has its window grown to 2 MiB (an adjustment of more than 1 MiB); one
opened while a 64-byte echo goes through another -R forward every 10 ms opens with 128 KiB,
and its upload beside the echo keeps every adjustment under 1 MiB (the in-flight bound; on
loopback a few hundred KiB at most). Both uploads are checked by SHA-256, every echo reply
against its request. Skips when `porthole -V` says its libssh2 lacks the patch (the system's
libssh2 1.10 fallback), which PORTHOLE_REQUIRE_ALL=1 turns into a failure."""

import re
import threading

import fixture as fx

BULK = 32 << 20
SMALL = 64
WINDOW_OPEN = 128 << 10
WINDOW_OPEN_ALONE = 512 << 10
LOOPBACK_BOUND = 1 << 20


def upload(port, out):
    try:
        with fx.connect(port, timeout=120) as s:
            s.sendall(f"UPLOAD {BULK}\n".encode())
            for chunk in fx.stream(BULK, 23):
                s.sendall(chunk)
            out["reply"] = fx.recv_line(s).decode().split()
    except Exception as e:  # reported by the main thread
        out["error"] = repr(e)


def opens(log):
    return [int(w) for w in re.findall(r"open confirm rwindow (\d+)", log)]


def adjusts(log):
    return [int(x) for x in re.findall(r"rcvd adjust (\d+)", log)]


def main():
    if fx.porthole_info().get("accept_window") is not True:
        fx.skip("porthole's libssh2 has no 06-accept-window.patch (`porthole -V`: "
                "-R receive window), so -R channels open with libssh2's 2 MiB")
    want = [str(BULK), fx.stream_sha256(BULK, 23)]
    with fx.Sshd(log_level="DEBUG2") as sshd, fx.EchoServer() as echo, \
            fx.BulkServer() as srv:
        ep, bp = fx.free_port(), fx.free_port()
        fwd = ["-R", f"{ep}:127.0.0.1:{echo.port}", "-R", f"{bp}:127.0.0.1:{srv.port}"]
        with fx.Forwarder(sshd, fwd) as fw:
            # Alone: opens with 512 KiB, grown to 2 MiB.
            before = len(sshd.log())
            out = {}
            upload(bp, out)
            fx.check(out.get("reply") == want, "an upload alone through -R arrives whole "
                     "(SHA-256)", out.get("error", out.get("reply")))
            log = sshd.log()[before:]
            fx.check(opens(log) == [WINDOW_OPEN_ALONE],
                     "a -R channel opened with nothing interactive: a 512 KiB receive window",
                     f"windows: {opens(log)}")
            fx.check(any(a > 1 << 20 for a in adjusts(log)),
                     "the upload alone had its window grown past 1 MiB",
                     f"largest adjustment: {max(adjusts(log), default=0)}")

            # Beside a 10 ms echo through the other -R forward.
            inter = fx.connect(ep, timeout=10)
            for _ in range(3):  # the echo is active (within half a second) when bulk opens
                inter.sendall(b"w" * SMALL)
                got = fx.recv_all(inter, SMALL)
            fx.check(got == b"w" * SMALL, "echoes through the other -R forward", repr(got))
            before = len(sshd.log())
            out = {}
            t = threading.Thread(target=upload, args=(bp, out), daemon=True)
            t.start()
            replies, gap = fx.echo_while(inter, t, SMALL)
            t.join(120)
            fx.check(out.get("reply") == want, "an upload through -R beside the echo arrives "
                     "whole (SHA-256)", out.get("error", out.get("reply")))
            fx.check(replies >= 5, f"{replies} echo replies (>= 5) beside the upload")
            log = sshd.log()[before:]
            fx.check(opens(log) == [WINDOW_OPEN],
                     "... and its -R channel opened beside the echo: a 128 KiB receive window",
                     f"windows: {opens(log)}")
            fx.check(adjusts(log) and max(adjusts(log)) < LOOPBACK_BOUND,
                     "beside the echo, the -R upload's window stays under the loopback bound "
                     "(every adjustment under 1 MiB)",
                     f"adjustments over 256 KiB: {[a for a in adjusts(log) if a > 256 << 10]}; "
                     f"the longest time between two echo requests: {gap:.3f} s (over 0.5 s "
                     f"the upload counts as alone, and may grow its window)")
            inter.close()
            fx.check(fw.alive(), "porthole is still running")


if __name__ == "__main__":
    fx.run(main)
