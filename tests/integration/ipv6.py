#!/usr/bin/env python3
"""IPv6: porthole reaches an sshd on [::1] (destination `user@[::1]` with -p, known_hosts entry
`[::1]:PORT`), listens on a bracketed IPv6 bind address (-L [::1]:P:127.0.0.1:ECHO), forwards to
a bracketed IPv6 target (-L P:[::1]:ECHO6), and binds both loopbacks (127.0.0.1 and ::1) for a
-L without a bind address. Skipped when ::1 cannot be bound."""

import os
import socket
import threading

import fixture as fx


def ipv6_loopback_usable():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
            s.listen(1)
            with socket.create_connection(("::1", s.getsockname()[1]), timeout=2):
                pass
        return True
    except OSError:
        return False


def free_port_both():
    """A port free on both 127.0.0.1 and ::1."""
    for _ in range(50):
        p = fx.free_port()
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
                s.bind(("::1", p))
            return p
        except OSError:
            continue
    raise RuntimeError("no port free on both loopbacks")


class Sshd6(fx.Sshd):
    """The fixture's sshd, also listening on [::1] at the same port."""

    def _write_config(self):
        self.extra_config = [ln for ln in self.extra_config if "[::1]" not in ln]
        self.extra_config.append(f"ListenAddress [::1]:{self.port}")
        super()._write_config()


def roundtrip(host, port, payload, timeout=20.0):
    """Echo payload through host:port (concurrent send/receive, then half-close)."""
    s = fx.connect(port, timeout, host=host)
    err = []

    def send():
        try:
            for i in range(0, len(payload), 65536):
                s.sendall(payload[i:i + 65536])
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=send, daemon=True)
    t.start()
    try:
        data = fx.recv_all(s)
    finally:
        t.join(timeout)
        s.close()
    if err:
        raise err[0]
    return data


def main():
    if not ipv6_loopback_usable():
        fx.skip("cannot bind and connect to ::1 (IPv6 loopback unavailable)")
    with Sshd6() as sshd, fx.EchoServer() as echo4, fx.EchoServer(host="::1") as echo6:
        try:
            fx.wait_port(sshd.port, timeout=5, host="::1")
        except TimeoutError:
            raise fx.TestFailure(f"sshd does not listen on [::1]:{sshd.port}\n{sshd.log()}")
        fx.ok(f"sshd listens on [::1]:{sshd.port} too")
        kh = sshd.write_known_hosts("known_hosts.v6",
                                    [f"[::1]:{sshd.port} {k}" for k in sshd.hostkey_pubs])
        for attempt in range(4):
            p_bind6, p_target6, p_both = free_port_both(), free_port_both(), free_port_both()
            fwd = ["-L", f"[::1]:{p_bind6}:127.0.0.1:{echo4.port}",
                   "-L", f"{p_target6}:[::1]:{echo6.port}",
                   "-L", f"{p_both}:127.0.0.1:{echo4.port}"]
            fw = fx.Forwarder(sshd, fwd, known_hosts=kh, start=False,
                              extra_args=["-o", "ExitOnForwardFailure=yes"])
            # ssh(1) wants the bare address in a destination; porthole(1) documents brackets.
            fw.argv[-1] = f"{sshd.user}@::1" if fx.SSH_MODE else f"{sshd.user}@[::1]"
            try:
                fw.start()
                break
            except fx.TestFailure as e:
                # A port found free can be taken before porthole binds it (parallel tests).
                if "already in use" not in str(e).lower() or attempt == 3:
                    raise
                print(f"# a free port was taken; retrying: {str(e).splitlines()[-1]}",
                      flush=True)
        with fw:
            fx.ok(f"connected to {fw.argv[-1]} -p {sshd.port}")
            if not fx.SSH_MODE:
                line = fw.wait_stderr(lambda ln: fx.READY_LINE in ln, timeout=1)
                fx.check(line is not None and "::1" in line,
                         "the 'connected to' line names ::1", fw.stderr())
            log = sshd.log()
            fx.check("from ::1 port" in log or "from ::1" in log,
                     "sshd saw the connection come from ::1", log[-2000:])

            cases = [
                (f"-L [::1]:{p_bind6}:127.0.0.1:ECHO via [::1]", "::1", p_bind6, echo4),
                (f"-L {p_target6}:[::1]:ECHO6 (IPv6 target)", "127.0.0.1", p_target6, echo6),
                (f"-L {p_both}:127.0.0.1:ECHO via 127.0.0.1", "127.0.0.1", p_both, echo4),
                (f"-L {p_both}:127.0.0.1:ECHO via [::1]", "::1", p_both, echo4),
            ]
            for what, host, port, srv in cases:
                before = srv.accepted
                payload = os.urandom(300000)
                try:
                    back = roundtrip(host, port, payload)
                except OSError as e:
                    raise fx.TestFailure(f"{what}: {e!r}\n{fw.stderr()}")
                fx.check(back == payload, f"{what}: data flows both ways intact",
                         f"sent {len(payload)}, got {len(back)}")
                fx.check(srv.accepted == before + 1, f"{what}: reached the intended server",
                         f"accepted {before} -> {srv.accepted}")

            try:
                fx.connect(p_bind6, timeout=2, host="127.0.0.1").close()
                v4_too = True
            except OSError:
                v4_too = False
            fx.check(not v4_too, f"-L [::1]:{p_bind6}:... listens on ::1 only, not 127.0.0.1")
            fx.check(not echo4.errors and not echo6.errors, "echo servers saw no errors",
                     "\n".join(echo4.errors + echo6.errors))
            status, err = fw.stop()
            if not fx.SSH_MODE:
                fx.check(status == 0, "porthole exits 0 on SIGTERM", f"status {status}\n{err}")


if __name__ == "__main__":
    fx.run(main)
