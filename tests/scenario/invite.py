#!/usr/bin/env python3
"""Remote help set up as docs/tech-support.md says, in network namespaces (the NAT of
tech_support.py: family behind a masquerading router, a jump host, a helper).

Driven by the commands the guide shows, with only the names changed (the jump host's account
is the test's sshd user, its authorized_keys the fixture's file, porthole named by its path):

- helper: `porthole invite mum --jump USER@JUMP:PORT --ard --relay PORTHOLE`, after an
  earlier login left the jump host's key in ~/.ssh/known_hosts; its fingerprint is printed;
- jump host: `porthole jump-setup USER --udp` first finds the unrestricted key the fixture
  put there (exit 1); the `printf ... | tee -a authorized_keys` lines invite printed are run
  (the file then holds exactly the bundle's authorized_keys), and jump-setup is content
  (exit 0);
- neither new key gets a shell: `ssh -i KEY jump id` prints no uid (the fixture's plain key,
  before, did);
- family machine: `sh porthole-mum-setup.sh` (its only step) installs key (0600), pinned
  known_hosts and profile, and writes the user service; the service's ExecStart is started
  (there is no systemd user manager in a namespace);
- helper: `porthole mum`, then a real VNC screenshot (vncsnapshot through the tunnel of
  x11vnc on an Xvfb screen of an odd size; a TCP echo stands in when they are missing) and a
  UDP datagram to the family's 3283 (the relays run as the keys' forced commands);
  `porthole status mum` says the family machine is online (the presence port invite set up),
  and offline once the family's porthole has stopped.
Needs root, iproute2 and nftables; otherwise skipped (exit 77).
"""

import json
import os
import shlex
import shutil
import subprocess
import time

import fixture as fx
import netns
import tech_support as ts

SCREEN = (333, 222)  # an odd size: the screenshot is of this screen, not some other


def side_env(home, run):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK", "XDG_CONFIG_HOME",
                        "DISPLAY")}
    env.update(HOME=home, XDG_RUNTIME_DIR=run,
               PATH=os.path.dirname(fx.porthole_path()) + ":" + env.get("PATH", "/usr/bin:/bin"))
    return env


def run_in(ns, argv, env, cwd=None, timeout=30):
    return subprocess.run(["ip", "netns", "exec", ns, *argv], env=env, cwd=cwd, text=True,
                          errors="replace",
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)


def vnc_tools():
    return all(shutil.which(t) for t in ("Xvfb", "x11vnc", "vncsnapshot"))


def jpeg_size(path):
    """(width, height) from a JPEG's SOF marker, or None."""
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"\xff\xd8"):
        return None
    for sof in (b"\xff\xc0", b"\xff\xc2"):
        i = data.find(sof)
        if i > 0:
            return (int.from_bytes(data[i + 7:i + 9], "big"),
                    int.from_bytes(data[i + 5:i + 7], "big"))
    return None


class Screen:
    """Xvfb and x11vnc on the family machine's loopback port 5900, inside its namespace."""

    def __init__(self, ns):
        self.procs = []
        self.display = next(n for n in range(71, 99) if not os.path.exists(f"/tmp/.X{n}-lock"))
        w, h = SCREEN
        self._start(ns, ["Xvfb", f":{self.display}", "-screen", "0", f"{w}x{h}x24",
                         "-nolisten", "tcp"])
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/tmp/.X11-unix/X{self.display}"):
            if time.monotonic() > deadline:
                raise fx.TestFailure("Xvfb did not start")
            time.sleep(0.05)
        self._start(ns, ["x11vnc", "-display", f":{self.display}", "-rfbport", "5900",
                         "-localhost", "-nopw", "-forever", "-shared", "-quiet"])
        fx.check(netns.wait_listening(self.procs[-1].pid, 5900),
                 "x11vnc listens on the family machine's localhost:5900")

    def _start(self, ns, argv):
        p = subprocess.Popen(["ip", "netns", "exec", ns, *argv], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        fx._children.append(p)
        self.procs.append(p)

    def close(self):
        for p in reversed(self.procs):
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def helper_invites(sshd, helper, hdir, henv):
    """The helper's part: a key, the jump host known from an earlier login, invite."""
    home = henv["HOME"]
    os.makedirs(os.path.join(home, ".ssh"), 0o700, exist_ok=True)
    fx.keygen(os.path.join(home, ".ssh", "id_ed25519"), comment="helper")
    shutil.copyfile(sshd.known_hosts, os.path.join(home, ".ssh", "known_hosts"))
    argv = [fx.porthole_path(), "invite", "mum", "--jump",
            f"{sshd.user}@{ts.JUMP}:{sshd.port}", "--ard", "--relay", fx.porthole_path()]
    r = run_in(helper, argv, henv, cwd=hdir)
    fx.check(r.returncode == 0, "helper: porthole invite mum --jump ... --ard: exit 0",
             r.stdout + r.stderr)
    fp = fx.fingerprint(sshd.hostkeys[0] + ".pub")
    fx.check(fp in r.stdout, f"invite shows the pinned jump host key's fingerprint {fp}",
             r.stdout)
    return r.stdout, os.path.join(hdir, "porthole-invite-mum")


def no_shell(sshd, ns, key, known_hosts, env):
    """What `ssh -i key jump id` prints (the forced command runs instead, or a shell)."""
    argv = ["ssh", "-F", "none", "-i", key, "-o", "IdentitiesOnly=yes", "-o",
            f"UserKnownHostsFile={known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-p", str(sshd.port), f"{sshd.user}@{ts.JUMP}", "id"]
    r = run_in(ns, argv, env, timeout=20)
    return r.stdout, r.stderr


def jump_setup(sshd, jump, env):
    argv = [fx.porthole_path(), "jump-setup", sshd.user, "--udp", "-f", sshd.config_path,
            "--relay", fx.porthole_path()]
    return run_in(jump, argv, env)


def jump_host_applies(sshd, jump, env, printed, bundle):
    """The jump host's part: jump-setup, the printed commands, jump-setup again."""
    r = jump_setup(sshd, jump, env)
    fx.check(r.returncode == 1 and "a key without 'restrict' first" in r.stdout,
             "jump-setup finds the fixture's unrestricted key line (exit 1)", r.stdout + r.stderr)
    out, _ = no_shell(sshd, jump, sshd.client_key, sshd.known_hosts, env)
    fx.check("uid=" in out, "(a plain key line gives a shell: ssh ... id prints the uid)", out)
    open(sshd.authorized_keys, "w").close()
    commands = [l for l in printed.splitlines() if l.startswith("printf '%s\\n' ")]
    fx.check(len(commands) == 2, "invite prints two one-line commands for the jump host",
             printed)
    for cmd in commands:
        local = cmd.split(" | sudo ")[0] + " >> " + shlex.quote(sshd.authorized_keys)
        r = run_in(jump, ["sh", "-c", local], env)
        fx.check(r.returncode == 0, "a printed command appends its line", r.stderr)
    with open(sshd.authorized_keys) as f, open(os.path.join(bundle, "authorized_keys")) as g:
        got, want = f.read(), g.read()
    fx.check(got == want and len(got.splitlines()) == 2 and
             all(l.startswith("restrict,port-forwarding,") for l in got.splitlines()),
             "authorized_keys: two lines, each starting with restrict, as in the bundle", got)
    r = jump_setup(sshd, jump, env)
    fx.check(r.returncode == 0 and "MISSING" not in r.stdout,
             "jump-setup USER --udp: nothing missing (exit 0)", r.stdout + r.stderr)


def family_runs_setup(fam, fdir, fenv, bundle):
    """The family machine's part: the script, run once."""
    script = os.path.join(fdir, "porthole-mum-setup.sh")
    shutil.copyfile(os.path.join(bundle, "porthole-mum-setup.sh"), script)
    env = dict(fenv, PORTHOLE_SETUP_AS_ROOT="1")
    r = run_in(fam, ["sh", "porthole-mum-setup.sh"], env, cwd=fdir)
    fx.check(r.returncode == 0 and "porthole setup: done" in r.stdout,
             "family: sh porthole-mum-setup.sh: exit 0", r.stdout + r.stderr)
    key = os.path.join(fenv["HOME"], ".ssh", "porthole_helper")
    fx.check(os.stat(key).st_mode & 0o777 == 0o600, "its key is installed, mode 0600")
    unit = os.path.join(fenv["HOME"], ".config", "systemd", "user", "porthole-helper.service")
    fx.check(os.path.exists(unit), "its user service is written", r.stdout + r.stderr)
    with open(unit) as f:
        exec_start = [l[len("ExecStart="):] for l in f.read().splitlines()
                      if l.startswith("ExecStart=")]
    words = shlex.split(exec_start[0])
    fx.check(words == [fx.porthole_path(), "helper"], f"ExecStart runs {' '.join(words)}",
             str(words))
    r2 = run_in(fam, ["sh", "porthole-mum-setup.sh"], env, cwd=fdir)
    with open(os.path.join(fenv["HOME"], ".config", "porthole", "config")) as f:
        profiles = [l for l in f.read().splitlines() if l.startswith("Profile ")]
    fx.check(r2.returncode == 0 and profiles == ["Profile helper"],
             "run again, it replaces its own profile (one 'Profile helper')",
             r2.stdout + r2.stderr)
    return words[1:]


def through_the_tunnel(helper, henv, hdir, vnc):
    if vnc:
        shot = os.path.join(hdir, "screen.jpg")
        r = None
        for _ in range(20):  # the family's forward may still be on its way
            r = run_in(helper, ["vncsnapshot", "-quiet", "localhost::5900", shot], henv,
                       timeout=30)
            if r.returncode == 0 and os.path.exists(shot):
                break
            time.sleep(0.25)
        size = jpeg_size(shot) if os.path.exists(shot) else None
        fx.check(size == SCREEN, f"vncsnapshot through the tunnel: a {SCREEN[0]}x{SCREEN[1]} "
                 "JPEG of the family's screen", f"{size} {r.stdout}{r.stderr}")
    else:
        payload = os.urandom(20000)
        got = None
        for _ in range(20):
            got = netns.echo_once(helper, "127.0.0.1", 5900, payload, timeout=5)
            if got == payload:
                break
            time.sleep(0.25)
        fx.check(got == payload, "TCP 5900 helper -> jump -> family -> back, 20000 bytes")
    sock = netns.udp_socket(helper, timeout=0.5)
    ok = False
    with sock:
        for i in range(40):
            if ts.udp_exchange(sock, i, b"ard?", tries=1, wait=0.5):
                ok = True
                break
    fx.check(ok, "UDP 3283 helper -> jump -> family -> back, through both forced-command relays")


def presence_state(helper, henv, state, timeout=45.0):
    """Polls `porthole status mum --json` on the helper until presence is state."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        r = run_in(helper, ["porthole", "status", "mum", "--json"], henv, timeout=15)
        if r.returncode == 0:
            last = json.loads(r.stdout).get("presence")
            if last is not None and last["state"] == state:
                return last
        time.sleep(0.5)
    return last


def main():
    fx.skip_in_ssh_mode("the scenario runs porthole invite")
    fx.porthole_path()
    vnc = vnc_tools()
    if not vnc:
        if os.environ.get("PORTHOLE_REQUIRE_ALL") == "1":
            fx.check(False, "Xvfb, x11vnc and vncsnapshot are installed (scripts/deps)")
        print("note: Xvfb, x11vnc or vncsnapshot missing: a TCP echo stands in for VNC",
              flush=True)
    with netns.Net("inv") as net:
        fam, rtr, jump, helper = ts.build(net)
        extra = ["ClientAliveInterval 1", "ClientAliveCountMax 3"]
        with fx.Sshd(host=ts.JUMP, netns=jump, extra_config=extra) as sshd:
            screen = Screen(fam) if vnc else None
            echo = netns.CountingEcho(fam, "127.0.0.1", 0 if vnc else 5900, ts.ARD)
            try:
                run(sshd, fam, jump, helper, vnc)
            finally:
                echo.close()
                if screen:
                    screen.close()


def run(sshd, fam, jump, helper, vnc):
    fdir, fside = ts.side_dir(sshd, "family")
    hdir, hside = ts.side_dir(sshd, "helper")
    fenv = side_env(fside["HOME"], fside["XDG_RUNTIME_DIR"])
    henv = side_env(hside["HOME"], hside["XDG_RUNTIME_DIR"])
    jenv = side_env(sshd.home, sshd.runtime_dir)

    printed, bundle = helper_invites(sshd, helper, hdir, henv)
    jump_host_applies(sshd, jump, jenv, printed, bundle)
    for who, key in (("the family machine's", os.path.join(bundle, "id_ed25519")),
                     ("the helper's", os.path.join(henv["HOME"], ".ssh", "id_ed25519"))):
        out, err = no_shell(sshd, helper, key, os.path.join(bundle, "known_hosts"), henv)
        fx.check("uid=" not in out, f"{who} key gets no shell: ssh -i KEY jump id prints no uid",
                 out + err)
    args = family_runs_setup(fam, fdir, fenv, bundle)

    ffw = netns.porthole_in(fam, sshd, args, env=fenv)
    hfw = netns.porthole_in(helper, sshd, ["mum"], env=henv)
    with ffw, hfw:
        fx.check(netns.wait_listening(sshd.proc.pid, 5900),
                 "the jump host listens on 5900 for the family machine", ffw.stderr())
        fx.check(netns.wait_listening(hfw.proc.pid, 5900), "porthole mum listens on 5900",
                 hfw.stderr())
        through_the_tunnel(helper, henv, hdir, vnc)
        # The presence port invite set up: checked every ServerAliveInterval (15 s).
        p = presence_state(helper, henv, "online")
        fx.check(p is not None and p["state"] == "online",
                 "porthole status mum: the family machine is online (its presence port, "
                 "through the NAT and the jump host)", f"{p}\n{hfw.stderr()}")
        fx.check(ffw.stop()[0] == 0, "the family's porthole: SIGTERM, exit 0", ffw.stderr())
        p = presence_state(helper, henv, "offline")
        fx.check(p is not None and p["state"] == "offline" and p["offline_since"] > 0,
                 "... and offline once it stopped", str(p))
        fx.check(hfw.stop()[0] == 0, "porthole mum: SIGTERM, exit 0", hfw.stderr())


if __name__ == "__main__":
    fx.run(main, timeout=200)
