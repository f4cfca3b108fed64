#!/usr/bin/env python3
"""porthole invite and jump-setup against a real sshd, without root (the namespace version
of the whole guide is tests/scenario/invite.py).

invite: the helper's known_hosts gives the pinned key; the bundle (0700, key 0600, script
0600), the helper's profile appended; nothing written when a check fails: a profile of
that name (2), a bundle directory that exists (2), no key known for the jump host (255),
usage errors (2); --host-key instead of known_hosts. Then the family side for real: the
invite's authorized_keys line is the sshd's only key, the setup script runs in an empty
HOME (a systemctl that reaches no manager), and the profile it installed brings up its
RemoteForward through sshd with the pinned key, end to end to an echo server.
jump-setup: against the fixture's sshd_config it names exactly what is missing
(ClientAliveInterval), and once an unrestricted key line is added, that line.
"""

import os
import re
import shutil
import stat
import subprocess
import tempfile

import fixture as fx


class Side:
    """A HOME of its own, a PATH whose systemctl reaches no service manager."""

    def __init__(self, root, name):
        self.dir = os.path.join(root, name)
        self.home = os.path.join(self.dir, "home")
        self.run_dir = os.path.join(self.dir, "run")
        self.bin = os.path.join(self.dir, "bin")
        for d in (self.home, self.run_dir, self.bin):
            os.makedirs(d, 0o700)
        with open(os.path.join(self.bin, "systemctl"), "w") as f:
            f.write("#!/bin/sh\nexit 1\n")
        os.chmod(os.path.join(self.bin, "systemctl"), 0o755)

    def env(self):
        e = {k: v for k, v in os.environ.items()
             if k not in ("SSH_AUTH_SOCK", "XDG_CONFIG_HOME", "DBUS_SESSION_BUS_ADDRESS")}
        e.update(HOME=self.home, XDG_RUNTIME_DIR=self.run_dir, PORTHOLE_SETUP_AS_ROOT="1",
                 PATH=f"{self.bin}:{os.path.dirname(fx.porthole_path())}:"
                      f"{os.environ.get('PATH', '/usr/bin:/bin')}")
        return e

    def run(self, argv, cwd=None):
        p = subprocess.run(argv, env=self.env(), cwd=cwd or self.dir, capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr

    def porthole(self, *args, cwd=None):
        return self.run([fx.porthole_path(), *args], cwd=cwd)

    def config(self):
        path = os.path.join(self.home, ".config", "porthole", "config")
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            return f.read()


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_invite_checks(sshd, helper, vnc, remote):
    jump = f"{sshd.user}@127.0.0.1:{sshd.port}"
    argv = ["invite", "mum", "--jump", jump, "--vnc", str(vnc), "--remote-port", str(remote),
            "--relay", fx.porthole_path()]
    rc, out, err = helper.porthole(*argv)
    fx.check(rc == 0, "invite mum: exit 0", out + err)
    bundle = os.path.join(helper.dir, "porthole-invite-mum")
    fx.check(mode(bundle) == 0o700 and mode(os.path.join(bundle, "id_ed25519")) == 0o600 and
             mode(os.path.join(bundle, "porthole-mum-setup.sh")) == 0o600,
             "the bundle is 0700, its private key and script 0600")
    cfg = helper.config()
    fx.check(re.search(rf"^Profile mum\n(    .*\n)*    LocalForward {remote} localhost:{remote}\n",
                       cfg, re.M) is not None, "the helper's profile mum is appended", cfg)
    fx.check(re.search(rf"^Profile mum\n(    .*\n)*    PresenceCheck {remote + 100}\n", cfg, re.M)
             is not None, "... with PresenceCheck on the remote port + 100", cfg)
    lines = [l for l in out.splitlines() if l.startswith("printf '%s\\n' '")]
    fx.check(len(lines) == 2, "two one-line commands for the jump host", out)
    fx.check(f"sudo {fx.porthole_path()} jump-setup {sshd.user} --relay {fx.porthole_path()}"
             in out, "and the jump-setup command for it", out)

    rc, out2, err = helper.porthole(*argv)
    fx.check(rc == 2 and "has a profile 'mum' already" in err and helper.config() == cfg,
             "invite mum again: exit 2, the config unchanged", err)
    os.makedirs(os.path.join(helper.dir, "taken"))
    rc, _, err = helper.porthole("invite", "dad", "--jump", jump, "--dir", "taken")
    fx.check(rc == 2 and "taken exists already" in err and "dad" not in helper.config(),
             "a bundle directory that exists: exit 2, nothing written", err)
    rc, _, err = helper.porthole("invite", "x", "--jump", "unknown.example")
    fx.check(rc == 255 and "no host key for unknown.example" in err and
             not os.path.exists(os.path.join(helper.dir, "porthole-invite-x")),
             "a jump host not in known_hosts: exit 255, nothing written", err)
    for bad, why in ((["invite", "x"], "missing --jump"),
                     (["invite", "--jump", "h"], "missing NAME"),
                     (["invite", "x", "--jump", "h", "--vnc", "0"], "not a port"),
                     (["invite", "x/y", "--jump", "h"], "profile name"),
                     (["invite", "x", "--jump", "h", "--frob"], "unknown option")):
        rc, _, err = helper.porthole(*bad)
        fx.check(rc == 2 and why in err and len(err.strip().splitlines()) == 1,
                 f"porthole {' '.join(bad)}: exit 2, one line: {why}", err)
    # ssh-keygen failing: the half-made bundle is taken back, so running again is not refused.
    stub = os.path.join(helper.bin, "ssh-keygen")
    with open(stub, "w") as f:
        f.write("#!/bin/sh\necho 'ssh-keygen: stub fails' >&2\nexit 1\n")
    os.chmod(stub, 0o755)
    rc, _, err = helper.porthole("invite", "gran", "--jump", jump)
    os.unlink(stub)
    fx.check(rc == 1 and "ssh-keygen" in err and "failed" in err and
             not os.path.exists(os.path.join(helper.dir, "porthole-invite-gran")) and
             "gran" not in helper.config(),
             "ssh-keygen failing: exit 1, the bundle removed again, no profile", err)
    # The jump host's key from a file, for a name known_hosts does not have.
    rc, out, err = helper.porthole("invite", "aunt", "--jump", "aunt.example",
                                   "--host-key", sshd.hostkeys[0] + ".pub", "--helper-key",
                                   "none")
    kh = os.path.join(helper.dir, "porthole-invite-aunt", "known_hosts")
    with open(kh) as f:
        pinned = f.read()
    fx.check(rc == 0 and pinned.startswith("aunt.example ssh-ed25519 ") and
             f"UserKnownHostsFile {kh}" in helper.config(),
             "--host-key pins that key, and the helper's profile trusts it", out + err)
    return bundle


def test_family(sshd, family, bundle, remote):
    with open(os.path.join(bundle, "authorized_keys")) as f:
        lines = f.read()
    with open(sshd.authorized_keys, "w") as f:
        f.write(lines.splitlines()[0] + "\n")  # the family machine's line alone
    shutil.copy(os.path.join(bundle, "porthole-mum-setup.sh"), family.dir)
    rc, out, err = family.run(["sh", "porthole-mum-setup.sh"])
    fx.check(rc == 0 and "porthole setup: done" in out, "sh porthole-mum-setup.sh: exit 0",
             out + err)
    key = os.path.join(family.home, ".ssh", "porthole_helper")
    fx.check(mode(key) == 0o600, "the family key is installed 0600")
    fx.check(os.path.exists(os.path.join(family.home, ".config", "systemd", "user",
                                         "porthole-helper.service")),
             "the user service is written (no manager to start it here)", out + err)
    fw = fx.Forwarder(sshd, env={"HOME": family.home, "XDG_RUNTIME_DIR": family.run_dir},
                      start=False)
    fw.argv = [fx.porthole_path(), "helper"]
    fw.start()
    with fw:
        fx.check(fx.wait_listening(remote), f"sshd listens on {remote} for the family",
                 fw.stderr())
        try:
            with fx.connect(remote, timeout=10) as s:
                s.sendall(b"hello family")
                s.shutdown(1)
                got = fx.recv_all(s)
        except OSError as e:
            got = repr(e).encode()
        fx.check(got == b"hello family",
                 "the jump host's port reaches the family's server (pinned host key, the "
                 "invited key and its permitlisten)", got)
        fx.check(fw.stop()[0] == 0, "the family's porthole stops cleanly")


def test_jump_setup(sshd, helper):
    argv = ["jump-setup", sshd.user, "-f", sshd.config_path, "--relay", fx.porthole_path()]
    rc, out, err = helper.porthole(*argv)
    missing = [l for l in out.splitlines() if l.startswith("MISSING:")]
    fx.check(rc == 1 and len(missing) == 1 and "ClientAliveInterval is 0" in missing[0],
             "jump-setup names exactly what the fixture's sshd lacks: ClientAliveInterval",
             out + err)
    with open(sshd.authorized_keys, "a") as f, open(sshd.client_key + ".pub") as k:
        f.write(k.read())
    rc, out, err = helper.porthole(*argv)
    fx.check(rc == 1 and f"{sshd.authorized_keys}:2: a key without 'restrict' first" in out,
             "an unrestricted key line is named with its line number", out + err)


def main():
    fx.skip_in_ssh_mode("porthole invite has no ssh counterpart")
    with fx.Sshd() as sshd, tempfile.TemporaryDirectory() as root:
        helper, family = Side(root, "helper"), Side(root, "family")
        os.makedirs(os.path.join(helper.home, ".ssh"), 0o700)
        fx.keygen(os.path.join(helper.home, ".ssh", "id_ed25519"), comment="helper")
        shutil.copyfile(sshd.known_hosts, os.path.join(helper.home, ".ssh", "known_hosts"))
        with fx.EchoServer() as vnc_server:  # the family's VNC server
            remote = fx.free_port()
            bundle = test_invite_checks(sshd, helper, vnc_server.port, remote)
            test_family(sshd, family, bundle, remote)
        test_jump_setup(sshd, helper)


if __name__ == "__main__":
    fx.run(main, timeout=180)
