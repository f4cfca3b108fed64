#!/usr/bin/env python3
"""A -L whose target refuses: each local connection is reset within 1 s, porthole says why on
stderr, and echo connections in progress through another -L of the same session complete."""

import os
import threading

import fixture as fx

N_ECHO = 6
ROUNDS = 32  # x 64 KiB, lock-step, per echo connection
ATTEMPTS = 5


class EchoClient(threading.Thread):
    """Echoes one chunk, waits until `go` is set, then echoes the rest."""

    def __init__(self, port, go):
        super().__init__(daemon=True)
        self.port, self.go = port, go
        self.opened = threading.Event()
        self.error = None
        self.rounds_ok = 0

    def run(self):
        try:
            with fx.connect(self.port, timeout=20) as s:
                for r in range(ROUNDS):
                    chunk = os.urandom(65536)
                    s.sendall(chunk)
                    back = fx.recv_all(s, len(chunk))
                    if back != chunk:
                        raise ValueError(f"round {r}: {len(back)} bytes back, differ")
                    self.rounds_ok += 1
                    if r == 0:
                        self.opened.set()
                        if not self.go.wait(20):
                            raise TimeoutError("never released")
        except Exception as e:
            self.error = repr(e)
        finally:
            self.opened.set()


def main():
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        dead_port, _dead_sock = fx.refused_port()  # bound, never listening
        rport, eport = fx.free_port(), fx.free_port()
        fwd = ["-L", f"{rport}:127.0.0.1:{dead_port}", "-L", f"{eport}:127.0.0.1:{echo.port}"]
        with fx.Forwarder(sshd, fwd) as fw:
            go = threading.Event()
            clients = [EchoClient(eport, go) for _ in range(N_ECHO)]
            for c in clients:
                c.start()
            for c in clients:
                c.opened.wait(20)
            fx.check(all(c.rounds_ok == 1 for c in clients),
                     f"{N_ECHO} echo connections open and mid-transfer",
                     "; ".join(str(c.error) for c in clients if c.error))

            for i in range(ATTEMPTS):
                closed, how = fx.is_closed_quickly(rport, timeout=1.0)
                fx.check(closed, f"connection {i + 1} to the refused forward closed ({how})", how)
                if not fx.SSH_MODE:  # ssh closes it cleanly; porthole says it failed
                    fx.check("ECONNRESET" in how, "... with a reset, not a clean end", how)

            go.set()
            for c in clients:
                c.join(30)
            errors = [c.error for c in clients if c.error or c.is_alive()]
            fx.check(not errors and all(c.rounds_ok == ROUNDS for c in clients),
                     f"all {N_ECHO} echo connections completed intact ({ROUNDS} x 64 KiB each)",
                     "; ".join(str(e) for e in errors))
            payload = os.urandom(100000)
            fx.check(fx.echo_roundtrip(eport, payload, timeout=20) == payload,
                     "a new echo connection after the refusals works")
            fx.check(fw.alive(), "forwarder still running", fw.stderr())

            if fx.SSH_MODE:  # OpenSSH says "channel N: open failed: connect failed: ..."
                line = fw.wait_stderr(lambda ln: "connect failed" in ln, timeout=2.0)
                fx.check(line is not None, "ssh's stderr says connect failed", fw.stderr())
            else:
                target = f"{dead_port}"

                def says_why(line):
                    low = line.lower()
                    return target in line and ("connect failed" in low or "refused" in low)

                line = fw.wait_stderr(says_why, timeout=2.0)
                fx.check(line is not None, f"porthole's stderr names the forward ({target}) and "
                         "the reason (connect failed / refused)", f"stderr:\n{fw.stderr()}")
                fx.check(line.startswith("porthole: "), "... on a line starting 'porthole: '",
                         line)
            status, err = fw.stop()
            if not fx.SSH_MODE:
                fx.check(status == 0, "porthole exits 0 on SIGTERM", f"status {status}\n{err}")


if __name__ == "__main__":
    fx.run(main)
