#!/usr/bin/env python3
"""porthole service install|uninstall|status: the systemd user unit it writes (ExecStart naming
this very binary, -F when the config is not where the service would look, quoting that
systemd-analyze verify accepts), the systemctl calls it makes (a stand-in systemctl on PATH
records them), and what it says when no user manager is reachable or systemctl is missing, as
in this container. HOME, XDG_CONFIG_HOME and XDG_RUNTIME_DIR point at a temp dir, so no real
user manager is ever reached."""

import os
import pwd
import shutil
import subprocess
import tempfile

import fixture as fx

PROFILE = "mum"
UNIT = "porthole-mum.service"


def write(path, text, mode=0o600):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def exec_start(unit_path):
    with open(unit_path) as f:
        lines = [l for l in f.read().splitlines() if l.startswith("ExecStart=")]
    return lines[0][len("ExecStart="):] if len(lines) == 1 else None


class Env:
    def __init__(self, tmp):
        self.tmp = tmp
        self.home = os.path.join(tmp, "home")
        self.xdg = os.path.join(tmp, "xdg")
        self.runtime = os.path.join(tmp, "run")
        for d in (self.home, self.xdg, self.runtime):
            os.makedirs(d, mode=0o700)
        self.config = os.path.join(self.xdg, "porthole", "config")
        self.unit = os.path.join(self.xdg, "systemd", "user", UNIT)
        self.path = os.environ.get("PATH", "/usr/bin:/bin")

    def env(self, path=None):
        e = dict(os.environ)
        for k in ("DBUS_SESSION_BUS_ADDRESS", "SSH_AUTH_SOCK"):
            e.pop(k, None)
        e.update(HOME=self.home, XDG_CONFIG_HOME=self.xdg, XDG_RUNTIME_DIR=self.runtime,
                 PATH=path or self.path)
        return e

    def run(self, args, exe=None, path=None, cwd=None):
        p = subprocess.run([exe or fx.porthole_path(), *args], env=self.env(path), cwd=cwd,
                           capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        return p.returncode, p.stdout, p.stderr


def verify(env, unit_path):
    """systemd-analyze verify, in user mode, with no manager running."""
    tool = shutil.which("systemd-analyze")
    if tool is None:
        if os.environ.get("PORTHOLE_REQUIRE_ALL") == "1":
            fx.check(False, "systemd-analyze is installed (scripts/deps installs systemd)")
        print("note: systemd-analyze not installed (apt package systemd): verify skipped",
              flush=True)
        return
    p = subprocess.run([tool, "--user", "--man=no", "verify", unit_path], env=env.env(),
                       capture_output=True, text=True, timeout=60)
    fx.check(p.returncode == 0 and p.stderr.strip() == "",
             f"systemd-analyze verify accepts {os.path.basename(unit_path)}", p.stdout + p.stderr)


def fake_systemctl(env, active):
    """A systemctl that logs its arguments; is-active answers `active`, the rest succeed."""
    bindir = os.path.join(env.tmp, "fakebin")
    log = os.path.join(env.tmp, "systemctl.log")
    write(os.path.join(bindir, "systemctl"), f"""#!/bin/sh
echo "$*" >> '{log}'
case "$*" in *is-active*) exit {0 if active else 3};; *" status "*) echo fake status; exit 3;; esac
exit 0
""", 0o755)
    if os.path.exists(log):
        os.unlink(log)
    return bindir + ":" + env.path, log


def read_log(log):
    with open(log) as f:
        return f.read().splitlines()


def test_no_manager(env, porthole):
    rc, out, err = env.run(["service", "install", PROFILE])
    fx.check(rc == 0 and os.path.exists(env.unit),
             "install without a reachable user manager: unit written, exit 0", out + err)
    fx.check(exec_start(env.unit) == f"{porthole} -F {env.config} {PROFILE}",
             "ExecStart: this porthole's absolute path, -F (XDG_CONFIG_HOME is not the "
             "default), the profile", exec_start(env.unit))
    if shutil.which("systemctl", path=env.path):
        fx.check("no systemd user manager is reachable" in err and len(err.splitlines()) == 1
                 and f"systemctl --user enable --now {UNIT}" in out,
                 "says so in one line and prints the commands to run", out + err)
    else:
        fx.check("systemctl is not installed" in err, "says systemctl is missing", err)
    user = pwd.getpwuid(os.getuid()).pw_name
    if not os.path.exists(f"/var/lib/systemd/linger/{user}"):
        fx.check(f"loginctl enable-linger {user}" in out, "the hint: loginctl enable-linger", out)
    verify(env, env.unit)

    rc, out, err = env.run(["service", "status", PROFILE])
    fx.check(rc == 1 and len(err.splitlines()) == 1 and env.unit in err,
             "status without a manager: one line naming the unit file, exit 1", out + err)

    rc, out, err = env.run(["service", "install", "nosuch"])
    fx.check(rc == 2 and err.strip() == f"porthole: no profile 'nosuch' in {env.config}",
             "install nosuch: one line, exit 2", out + err)
    fx.check(not os.path.exists(os.path.join(os.path.dirname(env.unit), "porthole-nosuch.service")),
             "no unit written for an unknown profile")

    rc, out, err = env.run(["service", "uninstall", PROFILE])
    fx.check(rc == 0 and not os.path.exists(env.unit), "uninstall removes the unit", out + err)
    wants = os.path.join(os.path.dirname(env.unit), "default.target.wants", UNIT)
    fx.check(not os.path.lexists(wants), "no enablement link is left behind")
    rc, out, err = env.run(["service", "uninstall", PROFILE])
    fx.check(rc == 1 and "does not exist" in err, "uninstall again: nothing to remove, exit 1",
             out + err)


def test_quoting(env):
    """A porthole and a config file in awkward places: the unit still verifies."""
    bindir = os.path.join(env.tmp, "my bin 100%")
    os.makedirs(bindir)
    exe = os.path.join(bindir, "porthole")
    shutil.copy2(os.path.realpath(fx.porthole_path()), exe)
    conf = os.path.join(env.tmp, "my conf $HOME", "porthole.conf")
    write(conf, f"Profile {PROFILE}\n    HostName jump.example.com\n")
    rc, out, err = env.run(["service", "-F", conf, "install", PROFILE], exe=exe)
    fx.check(rc == 0, "install from a path with a blank and '%'", out + err)
    fx.check(exec_start(env.unit) ==
             f'"{bindir.replace("%", "%%")}/porthole" -F "{conf.replace("$", "$$")}" {PROFILE}',
             "ExecStart quotes and escapes for systemd", exec_start(env.unit))
    verify(env, env.unit)
    # -F relative to the current directory becomes absolute.
    rc, out, err = env.run(["service", "install", "-F", "porthole.conf", PROFILE],
                           cwd=os.path.dirname(conf))
    fx.check(rc == 0 and exec_start(env.unit).endswith(f' -F "{conf.replace("$", "$$")}" mum'),
             "a relative -F is made absolute", out + err + str(exec_start(env.unit)))
    env.run(["service", "uninstall", PROFILE])


def test_systemctl_calls(env):
    path, log = fake_systemctl(env, active=False)
    rc, out, err = env.run(["service", "install", PROFILE], path=path)
    calls = read_log(log)
    fx.check(rc == 0 and calls == ["--user show-environment", "--user daemon-reload",
                                   f"--user enable --now {UNIT}"],
             "install: daemon-reload, then enable --now", out + err + "\n".join(calls))
    fx.check(f"Started {UNIT}" in out and err == "", "install says it started", out + err)

    path, log = fake_systemctl(env, active=True)
    rc, out, err = env.run(["service", "install", PROFILE], path=path)
    calls = read_log(log)
    fx.check(rc == 0 and calls[-1] == f"--user restart {UNIT}" and f"--user is-active --quiet {UNIT}"
             in calls, "installing over a running unit restarts it", out + err + "\n".join(calls))

    rc, out, err = env.run(["service", "status", PROFILE], path=path)
    fx.check(rc == 3 and out.strip() == "fake status" and read_log(log)[-1] == f"--user status {UNIT}",
             "status passes systemctl --user status through, exit status included", out + err)

    path, log = fake_systemctl(env, active=True)
    rc, out, err = env.run(["service", "uninstall", PROFILE], path=path)
    calls = read_log(log)
    fx.check(rc == 0 and not os.path.exists(env.unit)
             and calls[1:3] == [f"--user disable --now {UNIT}", "--user daemon-reload"],
             "uninstall: disable --now, remove, daemon-reload", out + err + "\n".join(calls))

    empty = os.path.join(env.tmp, "empty")
    os.makedirs(empty)
    rc, out, err = env.run(["service", "install", PROFILE], path=empty)
    fx.check(rc == 0 and os.path.exists(env.unit) and "systemctl is not installed" in err,
             "install without systemctl: unit written, says so, exit 0", out + err)
    rc, out, err = env.run(["service", "status", PROFILE], path=empty)
    fx.check(rc == 1 and "systemctl is not" in err, "status without systemctl: clear, exit 1", err)
    rc, out, err = env.run(["service", "uninstall", PROFILE], path=empty)
    fx.check(rc == 0 and not os.path.exists(env.unit), "uninstall without systemctl", out + err)


def test_errors(env):
    rc, out, err = env.run(["service", "install"])
    fx.check(rc == 2 and "missing profile name" in err, "install without a profile: exit 2", err)
    rc, out, err = env.run(["service", "reinstall", PROFILE])
    fx.check(rc == 2 and "unknown action 'reinstall'" in err, "unknown action: exit 2", err)
    rc, out, err = env.run(["service", "status", "../x"])
    fx.check(rc == 2 and "bad profile name" in err, "a name that is not a profile name: exit 2", err)
    bad = os.path.join(env.tmp, "bad.conf")
    write(bad, f"Profile {PROFILE}\n    HostName h\n    Prot 22\n")
    rc, out, err = env.run(["service", "-F", bad, "install", PROFILE])
    fx.check(rc == 2 and f"{bad}:3:" in err and not os.path.exists(env.unit),
             "a config error stops install with file:line, exit 2", err)
    nohost = os.path.join(env.tmp, "nohost.conf")
    write(nohost, f"Profile {PROFILE}\n    Port 2222\n")
    rc, out, err = env.run(["service", "-F", nohost, "install", PROFILE])
    fx.check(rc == 2 and "has no HostName" in err, "a profile without HostName: exit 2", err)


def main():
    fx.skip_in_ssh_mode("porthole service is porthole's own")
    porthole = os.path.realpath(fx.porthole_path())
    with tempfile.TemporaryDirectory(prefix="porthole-service-") as tmp:
        env = Env(tmp)
        write(env.config, f"""Profile {PROFILE}
    HostName jump.example.com
    RemoteForward 5900 localhost:5900
""")
        test_no_manager(env, porthole)
        test_quoting(env)
        test_systemctl_calls(env)
        test_errors(env)


fx.run(main)
