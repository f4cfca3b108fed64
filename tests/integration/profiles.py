#!/usr/bin/env python3
"""Profiles and aliases: `porthole NAME` runs a Profile from the config file; `-o` and the
other options override it; a destination that is not a profile is resolved through
~/.ssh/config Host blocks (wildcards, Include); `porthole profiles` and `porthole check`
show what would run; a bad config file gets file:line and exit 2."""

import os
import stat
import subprocess

import fixture as fx


def run(sshd, args, timeout=10):
    p = subprocess.run([fx.porthole_path(), *args], env=fx.child_env(sshd), capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       start_new_session=True)
    return p.returncode, p.stdout, p.stderr


def start(sshd, args, forward_ports):
    """porthole with our own argv, ready when connected and listening."""
    fw = fx.Forwarder(sshd, start=False)
    fw.argv = [fx.porthole_path(), *args]
    fw.forward_args = [a for p in forward_ports for a in ("-L", f"{p}:x:1")]
    return fw.start()


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def main():
    fx.skip_in_ssh_mode("profiles are porthole's own")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        cfg = os.path.join(sshd.dir, "porthole.conf")
        p1, p2, p3 = fx.free_port(), fx.free_port(), fx.free_port()
        write(cfg, f"""# defaults for every profile
StrictHostKeyChecking yes
UserKnownHostsFile {sshd.known_hosts}
IdentitiesOnly yes

Profile office
    HostName 127.0.0.1
    Port {sshd.port}
    User {sshd.user}
    IdentityFile "{sshd.client_key}"
    LocalForward {p1} 127.0.0.1:{echo.port}   # the two-word ssh form

Profile broken
    Port {sshd.port}
""")
        # porthole profiles / check
        rc, out, err = run(sshd, ["-F", cfg, "profiles"])
        fx.check(rc == 0 and out.startswith("office\t") and f"-L {p1} 127.0.0.1:{echo.port}" in out,
                 "porthole profiles lists office with its forward", out + err)
        rc, out, err = run(sshd, ["-F", cfg, "check", "office"])
        lines = out.splitlines()
        fx.check(rc == 0 and "hostname 127.0.0.1" in lines and f"port {sshd.port}" in lines
                 and f"localforward {p1} [127.0.0.1]:{echo.port}" in lines
                 and "stricthostkeychecking true" in lines,
                 "porthole check office prints the effective settings", out + err)
        rc, out, err = run(sshd, ["-F", cfg, "-p", "2222", "check", "office"])
        fx.check("port 2222" in out.splitlines(), "the command line overrides the profile")

        # porthole office: the profile's forward works; -L on the command line adds one.
        fw = start(sshd, ["-F", cfg, "-L", f"{p2}:127.0.0.1:{echo.port}", "office"], [p1, p2])
        with fw:
            for port in (p1, p2):
                data = os.urandom(300000)
                fx.check(fx.echo_roundtrip(port, data) == data,
                         f"porthole office: forward on {port} works")
            fx.check(fw.stop()[0] == 0, "SIGTERM: exit 0")
        dead = fx.free_port()
        rc, out, err = run(sshd, ["-F", cfg, "-o", "Reconnect=no", "-p", str(dead), "office"])
        fx.check(rc == 255 and "cannot connect" in err,
                 "-p on the command line wins over the profile's Port (and fails here)", err)
        p = subprocess.Popen([fx.porthole_path(), "-F", cfg, "-p", str(dead), "office"],
                             env=fx.child_env(sshd), stderr=subprocess.PIPE, text=True,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            _, err = p.communicate(timeout=3)
        except subprocess.TimeoutExpired:
            p.terminate()
            _, err = p.communicate()
        fx.check("reconnecting in" in err and p.returncode == 0,
                 "a profile keeps trying (Reconnect defaults to yes for profiles)", err)
        rc, out, err = run(sshd, ["-F", cfg, "broken"])
        fx.check(rc == 2 and "profile 'broken' has no HostName" in err and f"{cfg}:" in err,
                 "a profile without HostName: exit 2 naming file:line", err)

        # ~/.ssh/config aliases, with Include and a wildcard block.
        ssh_dir = os.path.join(sshd.home, ".ssh")
        os.makedirs(os.path.join(ssh_dir, "conf.d"), exist_ok=True)
        # Include sits before the first Host: inside a Host block it would apply to that host only.
        write(os.path.join(ssh_dir, "config"), f"""Include conf.d/*

Host myjump
    HostName 127.0.0.1
    Port {sshd.port}
    User {sshd.user}
    IdentityFile {sshd.client_key}
    UserKnownHostsFile {sshd.known_hosts}

Match host nothing
    Port 1
""")
        write(os.path.join(ssh_dir, "conf.d", "wild.conf"), f"""Host *.wild !bad.wild
    HostName 127.0.0.1
    Port {sshd.port}
    IdentityFile {sshd.client_key}
    UserKnownHostsFile {sshd.known_hosts}
""")
        for alias in ("myjump", "box.wild"):
            port = fx.free_port()
            fw = start(sshd, ["-o", "StrictHostKeyChecking=yes", "-L",
                              f"{port}:127.0.0.1:{echo.port}", alias], [port])
            with fw:
                data = os.urandom(100000)
                fx.check(fx.echo_roundtrip(port, data) == data,
                         f"destination '{alias}' resolved through ~/.ssh/config")
                fw.stop()
        rc, out, err = run(sshd, ["check", "bad.wild"])
        fx.check("hostname bad.wild" in out.splitlines(),
                 "a negated pattern keeps the block from matching", out)
        # A typo of a profile name is said to be one, before any connection is tried; a
        # near name that ~/.ssh/config knows (myjump vs the profile "myjumps") is a host.
        before = sshd.log().count("Connection from")
        rc, out, err = run(sshd, ["-F", cfg, "ofice"])
        fx.check(rc == 2 and len(err.splitlines()) == 1 and
                 "no profile 'ofice'" in err and "did you mean 'office'?" in err,
                 "porthole ofice: exit 2, 'did you mean office?'", err)
        fx.check(sshd.log().count("Connection from") == before and "resolve" not in err,
                 "... without trying to resolve or connect", err)
        near = os.path.join(sshd.dir, "near.conf")
        write(near, "Profile myjumps\n    HostName 127.0.0.1\n")
        rc, out, err = run(sshd, ["-F", near, "check", "myjump"])
        fx.check(rc == 0 and f"port {sshd.port}" in out.splitlines(),
                 "a ~/.ssh/config Host one letter from a profile is taken as the host", out + err)
        rc, out, err = run(sshd, ["-F", cfg, "check", "myjump"])
        fx.check(f"port {sshd.port}" in out.splitlines() and
                 "stricthostkeychecking true" in out.splitlines(),
                 "config defaults and ~/.ssh/config combine for an alias", out)

        # Bad input: every error in check, the first in a run; permissions; missing -F.
        bad = os.path.join(sshd.dir, "bad.conf")
        write(bad, "Profile a\n  Bogus 1\n  Port 99999\nProfile a\n  LocalForward 8080\n")
        rc, out, err = run(sshd, ["-F", bad, "check", "a"])
        errs = err.splitlines()
        fx.check(rc == 2 and len(errs) == 4 and all(e.startswith(f"porthole: {bad}:") for e in errs),
                 "porthole check reports every error with file:line", err)
        fx.check(any("defined twice" in e for e in errs), "... including a profile defined twice")
        rc, out, err = run(sshd, ["-F", bad, "a"])
        fx.check(rc == 2 and len(err.splitlines()) == 1 and f"{bad}:2: unknown keyword 'Bogus'" in err
                 and "3 more" in err, "a run reports the first error in one line", err)
        # One broken profile does not stop the others: profiles lists the good ones and
        # reports the bad (exit 2), check and a run of a good one work, with a note.
        two = os.path.join(sshd.dir, "two.conf")
        good_port = fx.free_port()
        write(two, open(cfg).read().replace("Profile broken\n", "") +
              f"Profile dad\n    HostName dad.example\n    Bogus 1\n    Port 0\n"
              f"Profile dad\n    Port 1\n")
        rc, out, err = run(sshd, ["-F", two, "profiles"])
        fx.check(rc == 2 and out.startswith("office\t") and "\ndad\t" in out and
                 "unknown keyword 'Bogus'" in err and "defined twice" in err,
                 "profiles: every profile listed, the errors reported, exit 2", out + err)
        rc, out, err = run(sshd, ["-F", two, "check", "dad"])
        fx.check(rc == 2 and "Bogus" in err, "check of the broken profile: exit 2", err)
        rc, out, err = run(sshd, ["-F", two, "check"])
        fx.check(rc == 2, "check of the whole file: exit 2", err)
        fw = start(sshd, ["-F", two, "-L", f"{good_port}:127.0.0.1:{echo.port}", "office"],
                   [p1, good_port])
        with fw:
            data = os.urandom(10000)
            fx.check(fx.echo_roundtrip(good_port, data) == data,
                     "a run of a good profile works next to a broken one")
            fx.check("in profile 'dad', not used now" in fw.stderr(),
                     "... and notes the other profile's errors", fw.stderr())
            fw.stop()
        os.chmod(cfg, 0o664)
        rc, out, err = run(sshd, ["-F", cfg, "office"])
        fx.check(rc == 2 and "permissions" in err, "a group-writable config file is refused", err)
        os.chmod(cfg, 0o600)
        rc, out, err = run(sshd, ["-F", os.path.join(sshd.dir, "missing.conf"), "office"])
        fx.check(rc == 2 and "No such file" in err, "a missing -F file: exit 2", err)
        # The default location: $XDG_CONFIG_HOME/porthole/config.
        xdg = os.path.join(sshd.home, "xdg")
        os.makedirs(os.path.join(xdg, "porthole"))
        write(os.path.join(xdg, "porthole", "config"), open(cfg).read())
        p = subprocess.run([fx.porthole_path(), "profiles"], capture_output=True, text=True,
                           env=fx.child_env(sshd, {"XDG_CONFIG_HOME": xdg}))
        fx.check(p.stdout.startswith("office\t"), "the config is found under $XDG_CONFIG_HOME",
                 p.stdout + p.stderr)


if __name__ == "__main__":
    fx.run(main)
