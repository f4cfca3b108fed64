#!/usr/bin/env python3
"""Prompts on the terminal: the unknown-host question (with the SHA256 fingerprint) and the
passphrase of an encrypted key file. porthole runs on a pseudo-terminal, as a person would
use it; the test answers the prompts like a person would."""

import os
import pty
import select
import shutil
import signal
import time

import fixture as fx


class Tty:
    """porthole on a pty: read what it shows, type answers."""

    def __init__(self, argv, env):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.out = b""

    def expect(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout
        while text.encode() not in self.out:
            left = deadline - time.monotonic()
            if left <= 0:
                raise fx.TestFailure(f"no {text!r} on the terminal; it shows:\n"
                                     + self.out.decode(errors="replace"))
            r, _, _ = select.select([self.fd], [], [], left)
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise fx.TestFailure(f"terminal closed before {text!r}:\n"
                                         + self.out.decode(errors="replace"))
                self.out += chunk
        return self.out.decode(errors="replace")

    def type(self, line):
        os.write(self.fd, line.encode() + b"\n")

    def wait(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            try:
                r, _, _ = select.select([self.fd], [], [], 0.1)
                if r:
                    self.out += os.read(self.fd, 4096)
            except OSError:
                time.sleep(0.05)
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        return None

    def stop(self):
        os.kill(self.pid, signal.SIGTERM)
        return self.wait()


def main():
    fx.skip_in_ssh_mode()
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        env = fx.child_env(sshd)
        lport = fx.free_port()
        fwd = ["-L", f"{lport}:127.0.0.1:{echo.port}"]

        # 1. Unknown host, StrictHostKeyChecking=ask: the question shows the fingerprint;
        #    "no" refuses (255), "yes" connects and records the key.
        kh = os.path.join(sshd.dir, "kh_ask")
        open(kh, "w").close()
        fp = fx.fingerprint(sshd.hostkeys[0] + ".pub")
        argv = fx.forwarder_argv(sshd, fwd, known_hosts=kh, strict="ask")
        t = Tty(argv, env)
        screen = t.expect("(yes/no)?")
        fx.check(fp in screen, f"the question shows the host key fingerprint {fp}", screen)
        fx.check(f"[127.0.0.1]:{sshd.port}" in screen, "... and names [host]:port")
        t.type("no")
        status = t.wait()
        fx.check(status == 255, "answering 'no' exits 255", f"status {status}")
        fx.check(os.path.getsize(kh) == 0, "... and records nothing")

        t = Tty(argv, env)
        t.expect("(yes/no)?")
        os.kill(t.pid, signal.SIGINT)
        status = t.wait(5)
        fx.check(status == 255, "Ctrl-C at the question stops porthole (255)", f"status {status}")

        t = Tty(argv, env)
        t.expect("(yes/no)?")
        t.type("yes")
        t.expect("connected to")
        fx.check(os.path.getsize(kh) > 0, "answering 'yes' connects and records the key")
        payload = os.urandom(50000)
        fx.check(fx.echo_roundtrip(lport, payload) == payload, "the forward works")
        fx.check(t.stop() == 0, "SIGTERM: exit 0")

        # 2. An encrypted key file: porthole asks for its passphrase on the terminal.
        key = os.path.join(sshd.dir, "id_encrypted")
        fx.keygen(key, "ed25519", passphrase="correct horse")
        sshd.add_client_key(key + ".pub")
        argv = fx.forwarder_argv(sshd, fwd, identity=key)
        t = Tty(argv, env)
        screen = t.expect("Enter passphrase for key")
        fx.check(key in screen, "the passphrase prompt names the key file", screen)
        t.type("wrong guess")
        t.expect("Bad passphrase")
        t.type("correct horse")
        screen = t.expect("connected to")
        fx.check("correct horse" not in screen, "the passphrase is not echoed")
        fx.check(fx.echo_roundtrip(lport, payload) == payload, "the forward works")
        fx.check(t.stop() == 0, "SIGTERM: exit 0")

        # 3. The same key without a terminal: one clear line, nothing prompted.
        status, err = fx.run_forwarder(sshd, fwd, identity=key)
        fx.check(status == 255, "without a terminal: exit 255", f"status {status}")
        fx.check("no terminal" in err and key in err,
                 "... and the message says the key needs a terminal (or the agent)", err)


if __name__ == "__main__":
    if shutil.which("ssh-keygen") is None:
        fx.skip("ssh-keygen not installed")
    fx.run(main)
