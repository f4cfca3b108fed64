#!/usr/bin/env python3
"""Staying up: with Reconnect, a jump host that goes away and comes back is reconnected
with backoff; local listeners stay bound throughout; a connection made during the outage
waits and succeeds once the session is back; remote forwards are requested again. A silent
peer (frozen, packets unanswered) is detected within ServerAliveInterval x CountMax, and a
remote port still held by the dead connection's server side is retried until it frees."""

import os
import signal
import threading
import time

import fixture as fx


def main():
    fx.skip_in_ssh_mode("Reconnect is porthole's own")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        lport, rport = fx.free_port(), fx.free_port()
        opts = ["-o", "Reconnect=yes", "-o", "ReconnectMaxDelay=2",
                "-o", "ServerAliveInterval=1", "-o", "ServerAliveCountMax=2"]
        fw = fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}",
                                 "-R", f"{rport}:127.0.0.1:{echo.port}"], extra_args=opts)
        with fw:
            data = os.urandom(100000)
            fx.check(fx.echo_roundtrip(lport, data) == data, "-L works")
            fx.check(fx.echo_roundtrip(rport, data) == data, "-R works")

            # 1. The jump host goes down and comes back.
            sshd.stop_server()
            line = fw.wait_stderr(lambda l: "reconnecting in" in l, 10)
            fx.check(line is not None, "the loss is reported with the reconnect delay", fw.stderr())
            fx.check(fx.is_listening(lport), "the local listener stays bound during the outage")
            result = {}

            def during():
                try:
                    result["data"] = fx.echo_roundtrip(lport, b"made during the outage", 20)
                except Exception as e:  # noqa: BLE001 - reported below
                    result["error"] = repr(e)
            t = threading.Thread(target=during)
            t.start()
            time.sleep(1.0)
            t0 = time.monotonic()
            sshd.start_server()
            t.join(20)
            fx.check(result.get("data") == b"made during the outage",
                     "a connection made during the outage succeeds once the session is back",
                     repr(result))
            fx.check(fw.wait_stderr(lambda l: l.count("connected to") and l is not None, 1)
                     is not None, "connected again")
            deadline = time.monotonic() + 10
            while not fx.is_listening(rport) and time.monotonic() < deadline:
                time.sleep(0.1)
            fx.check(fx.is_listening(rport), "the remote forward is requested again "
                     f"({time.monotonic() - t0:.1f} s after sshd came back)")
            fx.check(fx.echo_roundtrip(rport, data) == data, "-R works after the reconnect")
            fx.check(fx.echo_roundtrip(lport, data) == data, "-L works after the reconnect")

            # 2. A silent peer: the session's sshd is frozen (its packets go unanswered).
            frozen = [p for p in sshd.session_pids()]
            for pid in frozen:
                os.kill(pid, signal.SIGSTOP)
            t0 = time.monotonic()
            line = fw.wait_stderr(lambda l: "not responding" in l, 10)
            took = time.monotonic() - t0
            fx.check(line is not None and took < 5,
                     f"a silent server is detected in {took:.1f} s (interval 1 s x 2)", fw.stderr())
            # The frozen sshd still holds the -R port: porthole keeps retrying it.
            line = fw.wait_stderr(lambda l: "still holds port" in l, 15)
            fx.check(line is not None, "a remote port held by the dead connection is retried",
                     fw.stderr())
            before = sum("listening again" in l for l in fw.stderr_lines())
            for pid in frozen:
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 20
            while (sum("listening again" in l for l in fw.stderr_lines()) == before
                   and time.monotonic() < deadline):
                time.sleep(0.1)
            fx.check(sum("listening again" in l for l in fw.stderr_lines()) > before,
                     "... and listened on again once it is free", fw.stderr())
            fx.check(fx.echo_roundtrip(rport, data) == data, "-R works after the silent peer")
            fx.check(fx.echo_roundtrip(lport, data) == data, "-L works after the silent peer")
            status, err = fw.stop()
            fx.check(status == 0, "SIGTERM: exit 0", err)


if __name__ == "__main__":
    fx.run(main)
