#!/usr/bin/env python3
"""The family machine's desktop: NotifyOnConnect shows a notice through a real notification
daemon (dunst, on a private X server and D-Bus session bus) when a connection arrives through a
remote forward and when the visit ends, seen as org.freedesktop.Notifications.Notify calls by
dbus-monitor; ConfirmConnect holds the connection until someone clicks Allow (dunstctl invokes
the notice's default action), and refuses it, closing it unserved, when nobody answers within
ConfirmTimeout. porthole mode only."""

import os
import shutil
import signal
import socket
import subprocess
import threading
import time

import fixture as fx

TOOLS = ("Xvfb", "dbus-daemon", "dbus-monitor", "dunst", "dunstctl", "notify-send")


class Desktop:
    """Xvfb + a session bus + dunst + dbus-monitor recording every Notify call."""

    def __init__(self, tmp):
        self.procs = []
        self.tmp = tmp
        rfd, wfd = os.pipe()
        x = subprocess.Popen(["Xvfb", "-displayfd", str(wfd), "-nolisten", "tcp",
                              "-screen", "0", "1024x768x24"], pass_fds=(wfd,),
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(wfd)
        self.procs.append(x)
        with os.fdopen(rfd) as f:
            self.display = ":" + f.readline().strip()
        bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.procs.append(bus)
        self.bus = bus.stdout.readline().strip()
        self.env = {"DISPLAY": self.display, "DBUS_SESSION_BUS_ADDRESS": self.bus}
        env = dict(os.environ, **self.env)
        rc = os.path.join(tmp, "dunstrc")
        with open(rc, "w") as f:
            f.write("[global]\n")
        self.procs.append(subprocess.Popen(["dunst", "-conf", rc], env=env,
                                           stdout=subprocess.DEVNULL,
                                           stderr=subprocess.DEVNULL))
        self.log = os.path.join(tmp, "notifications.log")
        self.mon_out = open(self.log, "w")
        self.procs.append(subprocess.Popen(
            ["dbus-monitor", "interface='org.freedesktop.Notifications',member='Notify'"],
            env=env, stdout=self.mon_out, stderr=subprocess.DEVNULL))
        # Ready once dunst owns the name: a notice sent now is seen by the monitor.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            p = subprocess.run(["notify-send", "ready"], env=env, capture_output=True)
            if p.returncode == 0 and "ready" in self.seen():
                break
            time.sleep(0.2)
        else:
            raise fx.TestFailure("the notification daemon did not come up")
        subprocess.run(["dunstctl", "close-all"], env=env)

    def seen(self):
        self.mon_out.flush()
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_seen(self, text, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.seen():
                return True
            time.sleep(0.1)
        return False

    def click_allow(self):
        """Invoke the default action (Allow) of the newest notice."""
        subprocess.run(["dunstctl", "action", "0"], env=dict(os.environ, **self.env),
                       capture_output=True)

    def close(self):
        for p in reversed(self.procs):
            p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        self.mon_out.close()


def served(port, payload, timeout=10.0):
    """One connection to the jump host's port: the echo of payload, or what happened."""
    with fx.connect(port, timeout=timeout) as s:
        s.sendall(payload)
        got = b""
        s.settimeout(timeout)
        try:
            while len(got) < len(payload):
                b = s.recv(65536)
                if not b:
                    return got, "closed"
                got += b
        except socket.timeout:
            return got, "timeout"
        except ConnectionResetError:
            return got, "reset"
    return got, "ok"


def main():
    fx.skip_in_ssh_mode("desktop notices are porthole's own")
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        fx.skip(f"needs {', '.join(missing)} (Debian: dunst xvfb libnotify-bin dbus)")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        desk = Desktop(sshd.dir)
        try:
            run(sshd, echo, desk)
        finally:
            desk.close()


def run(sshd, echo, desk):
    # NotifyOnConnect: a notice when the visit starts, one when it ends.
    rport = fx.free_port()
    with fx.Forwarder(sshd, ["-R", f"{rport}:127.0.0.1:{echo.port}"], env=desk.env,
                      extra_args=["-o", "NotifyOnConnect=yes"]) as fw:
        fx.check("remote connection" not in desk.seen(), "no notice before anyone connects")
        got, how = served(rport, b"hello mum")
        fx.check(how == "ok", "NotifyOnConnect: the connection is served at once", how)
        fx.check(desk.wait_seen("porthole: remote connection"),
                 "a notice reaches the notification daemon when someone connects",
                 desk.seen()[-2000:] + fw.stderr())
        fx.check(desk.wait_seen("remote connection ended"),
                 "... and another when the visit ends", desk.seen()[-2000:] + fw.stderr())

    # ConfirmConnect, nobody at the machine: refused after ConfirmTimeout, never served.
    subprocess.run(["dunstctl", "close-all"], env=dict(os.environ, **desk.env))
    rport = fx.free_port()
    with fx.Forwarder(sshd, ["-R", f"{rport}:127.0.0.1:{echo.port}"], env=desk.env,
                      extra_args=["-o", "ConfirmConnect=yes", "-o", "ConfirmTimeout=3"]) as fw:
        before = echo.accepted
        t0 = time.monotonic()
        got, how = served(rport, b"let me in", timeout=15)
        waited = time.monotonic() - t0
        fx.check(how in ("closed", "reset") and got == b"",
                 f"ConfirmConnect, no answer: closed unserved after {waited:.1f} s", how)
        fx.check(echo.accepted == before, "... the target never saw the connection")
        fx.check(desk.wait_seen("allow a remote connection?"),
                 "the question reached the notification daemon", desk.seen()[-2000:])
        fx.check(fw.wait_stderr(lambda ln: "connection refused" in ln and
                                "nobody answered" in ln, 5) is not None,
                 "porthole logs the refusal and why", fw.stderr())

    # ConfirmConnect, someone clicks Allow: served, and so is the next one (no new question).
    subprocess.run(["dunstctl", "close-all"], env=dict(os.environ, **desk.env))
    rport = fx.free_port()
    with fx.Forwarder(sshd, ["-R", f"{rport}:127.0.0.1:{echo.port}"], env=desk.env,
                      extra_args=["-o", "ConfirmConnect=yes", "-o", "ConfirmTimeout=30"]) as fw:
        asked = desk.seen().count("allow a remote connection?")
        result = {}

        def client():
            result["r"] = served(rport, b"please", timeout=25)

        t = threading.Thread(target=client, daemon=True)
        t.start()
        fx.check(wait_count(desk, "allow a remote connection?", asked + 1),
                 "the question is on the desktop", desk.seen()[-2000:])
        time.sleep(0.5)
        desk.click_allow()
        t.join(30)
        fx.check(result.get("r") == (b"please", "ok"),
                 "Allow clicked: the waiting connection is served", f"{result} {fw.stderr()}")
        got, how = served(rport, b"again")
        fx.check(how == "ok" and desk.seen().count("allow a remote connection?") == asked + 1,
                 "a second connection right after passes without a new question", how)


def wait_count(desk, text, n, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if desk.seen().count(text) >= n:
            return True
        time.sleep(0.1)
    return False


if __name__ == "__main__":
    fx.run(main)
