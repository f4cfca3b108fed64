#!/usr/bin/env python3
"""porthole check against ssh -G, keyword by keyword, over the corpus in tests/sshconfig/.

The corpus directory is copied to a temporary ~/.ssh (HOME points there for both programs, so
relative and ~ Includes resolve alike); for every *.conf and every host on its "# hosts:" line,
`ssh -G -F FILE HOST` and `porthole -o SshConfigFile=FILE check HOST` run and must agree on every
keyword porthole implements and prints (the COMPARED list; keywords others add to porthole's
check output are compared as soon as porthole prints them). A "# marker: NAME" line runs the
hosts again with ~/.ssh/NAME present (for Match exec).

Documented differences (porthole.conf(5), "Differences from ssh"), applied here, not hidden:
- "~" and %d: ssh takes the home directory from the password database, porthole from $HOME;
  ssh's values are rewritten from the one to the other before comparing.
- IdentityFile and CertificateFile: ssh -G shows them as written and expands %-tokens, ${ENV}
  and ~ only when it loads the keys; porthole check shows them expanded. The test expands ssh's
  values with ssh's own token values (read from its -G output) before comparing.
- With no IdentityFile configured ssh -G lists its default key files; porthole check lists none
  (it tries the same defaults).
- ServerAliveInterval: ssh's default is 0 (off), porthole's 15; ConnectTimeout: ssh's default
  is none (the system's), porthole's 15 s; compared when the config sets them.

Then, without -F or SshConfigFile, both read the real ~/.ssh/config and /etc/ssh/ssh_config and
must agree for a couple of hosts. Then error cases: each bad line must make both refuse the file, porthole with exit 2 and one line
naming file:line."""

import hashlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile

import fixture as fx

CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sshconfig")
COMPARED = [
    "hostname", "port", "user", "identityfile", "certificatefile", "identitiesonly",
    "userknownhostsfile", "globalknownhostsfile", "hostkeyalias", "checkhostip",
    "stricthostkeychecking", "identityagent", "localforward", "remoteforward",
    "dynamicforward", "exitonforwardfailure", "gatewayports", "compression", "loglevel",
    "serveraliveinterval", "serveralivecountmax", "proxyjump", "proxycommand", "batchmode",
    "connecttimeout", "connectionattempts", "addressfamily", "bindaddress", "bindinterface",
    "forkafterauthentication",
]
# Compared whether or not porthole prints them (porthole must print them).
ALWAYS = {"hostname", "port", "user", "identitiesonly", "userknownhostsfile",
          "globalknownhostsfile", "stricthostkeychecking", "exitonforwardfailure",
          "gatewayports", "loglevel", "serveralivecountmax"}
# Defaults that differ (documented): ssh's (ServerAliveInterval is 300 with BatchMode) and
# porthole's. Not compared when both show their default.
DEFAULTS_DIFFER = {"serveraliveinterval": (("0", "300"), "15"),
                   "connecttimeout": (("none",), "15")}
SSH_DEFAULT_IDS = ["~/.ssh/id_rsa", "~/.ssh/id_ecdsa", "~/.ssh/id_ecdsa_sk", "~/.ssh/id_ed25519",
                   "~/.ssh/id_ed25519_sk", "~/.ssh/id_xmss", "~/.ssh/id_dsa"]

PW = pwd.getpwuid(os.getuid())


def parse(text):
    out = {}
    for line in text.splitlines():
        if " " in line:
            k, v = line.split(" ", 1)
            out.setdefault(k.lower(), []).append(v)
    return out


def run(argv, home, real_home=False):
    env = dict(os.environ, HOME=PW.pw_dir if real_home else home,
               XDG_CONFIG_HOME=os.path.join(home, "xdg"), XDG_RUNTIME_DIR=os.path.join(home, "run"))
    env.pop("SSH_AUTH_SOCK", None)
    r = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=30)
    return r.returncode, r.stdout, r.stderr


def ssh_tokens(ssh):
    """ssh's %-token values for this host, from its own -G output (ssh.c's cinfo)."""
    local = socket.gethostname()
    h, p, r = ssh["hostname"][0], ssh["port"][0], ssh["user"][0]
    n = ssh["host"][0]
    return {"h": h, "p": p, "r": r, "n": n, "u": PW.pw_name, "d": PW.pw_dir,
            "i": str(os.getuid()), "l": local, "L": local.split(".")[0],
            "k": ssh.get("hostkeyalias", [n])[0],
            "C": hashlib.sha1((local + h + p + r).encode()).hexdigest()}


def ssh_expand(value, tokens, home):
    """What ssh does to an IdentityFile when it loads it: ~, then %-tokens and ${ENV}."""
    if value.startswith("~/"):
        value = PW.pw_dir + value[1:]
    value = re.sub(r"\$\{([^}]*)\}", lambda m: os.environ.get(m.group(1), "") if m.group(1)
                   != "HOME" else home, value)
    return re.sub(r"%(.)", lambda m: "%" if m.group(1) == "%" else tokens[m.group(1)], value)


def home_paths(values, home):
    """ssh's password-database home rewritten as $HOME; porthole's ~ expanded."""
    out = []
    for v in values:
        v = v.replace(PW.pw_dir + "/", home + "/")
        v = " ".join(home + w[1:] if w.startswith("~/") else w for w in v.split(" "))
        out.append(v)
    return out


def compare(name, host, ssh, ph, home):
    tokens = ssh_tokens(ssh)
    bad = []
    for k in COMPARED:
        if k not in ALWAYS and k not in ph and k not in ("identityfile", "certificatefile",
                                                        *DEFAULTS_DIFFER):
            continue
        s, p = ssh.get(k, []), ph.get(k, [])
        if k in ("identityfile", "certificatefile"):
            if k == "identityfile" and s == SSH_DEFAULT_IDS:
                s = []
            s = [ssh_expand(v, tokens, home) for v in s]
        if k in DEFAULTS_DIFFER and len(s) == 1 and s[0] in DEFAULTS_DIFFER[k][0] and \
                p == [DEFAULTS_DIFFER[k][1]]:
            continue
        s, p = home_paths(s, home), home_paths(p, home)
        if s != p:
            bad.append(f"{k}: ssh {s} porthole {p}")
    fx.check(not bad, f"{name} {host}: porthole check agrees with ssh -G", "\n".join(bad))


def corpus(home, porthole):
    confs = sorted(f for f in os.listdir(CORPUS) if f.endswith(".conf"))
    fx.check(len(confs) >= 8, f"{len(confs)} corpus files")
    for name in confs:
        path = os.path.join(home, ".ssh", name)
        text = open(path).read()
        hosts = re.search(r"^# hosts:(.*)$", text, re.M).group(1).split()
        marker = re.search(r"^# marker: *(\S+)", text, re.M)
        rounds = [None, marker.group(1)] if marker else [None]
        for m in rounds:
            if m:
                open(os.path.join(home, ".ssh", m), "w").close()
            for host in hosts:
                rc, out, err = run(["ssh", "-G", "-F", path, host], home)
                fx.check(rc == 0, f"ssh -G -F {name} {host}", err)
                prc, pout, perr = run([porthole, "-o", f"SshConfigFile={path}", "check", host],
                                      home)
                fx.check(prc == 0, f"porthole check {name} {host}", perr)
                compare(name + (f" (with {m})" if m else ""), host, parse(out), parse(pout), home)
            if m:
                os.unlink(os.path.join(home, ".ssh", m))


def warnings(home, porthole):
    """Keywords porthole does not implement: one warning each naming file:line; no-effect
    keywords silent."""
    path = os.path.join(home, ".ssh", "laptop_bastion.conf")
    rc, out, err = run([porthole, "-o", f"SshConfigFile={path}", "check", "web.corp.example.com"],
                       home)
    lines = [line for line in err.splitlines() if "does not implement" in line]
    for kw in ("ControlMaster", "ControlPersist", "AddKeysToAgent", "HashKnownHosts"):
        mine = [line for line in lines if f": {kw} " in line]
        fx.check(len(mine) == 1 and re.search(r"laptop_bastion\.conf:\d+: ", mine[0]),
                 f"one warning for {kw}, naming file:line", err)
    fx.check(not any("ControlPath" in line for line in err.splitlines()),
             "ssh's ControlPath is not porthole's: not applied, not warned about", err)
    rc, out, err = run([porthole, "-o", f"SshConfigFile={path}", "-o",
                        "ControlPath=~/cp-%r@%h:%p-${HOME}", "check", "jenkins"], home)
    fx.check(f"controlpath {home}/cp-{PW.pw_name}@jenkins.corp.example.com:22-{home}"
             in out.splitlines(), "porthole's ControlPath takes ssh's tokens", out + err)
    path = os.path.join(home, ".ssh", "forwards.conf")
    rc, out, err = run([porthole, "-o", f"SshConfigFile={path}", "check", "mixed"], home)
    fx.check(rc == 0 and err == "", "SendEnv, SetEnv, RequestTTY, ForwardX11: accepted silently",
             err)


BAD = [
    ("Port 0", "Port: bad port '0' (1-65535)"),
    ("Port abc", "Port: bad port 'abc' (1-65535)"),
    ("Port 70000", "Port: bad port '70000' (1-65535)"),
    ("ServerAliveCountMax many", "ServerAliveCountMax: bad number 'many' (0 or more)"),
    ("ConnectTimeout soon", "ConnectTimeout: bad time 'soon'"),
    ("Compression maybe", "Compression: bad value 'maybe' (yes,no)"),
    ("ExitOnForwardFailure perhaps", "ExitOnForwardFailure: bad value 'perhaps' (yes or no)"),
    ("Match bogus x", "Match: unsupported criterion 'bogus'"),
    ("Match host", "Match: missing argument for 'host'"),
    ("Match all host x", "Match: 'all' cannot be combined with other criteria"),
    ("HostName %p.example.com", "HostName %p.example.com: unknown token %p"),
    ("UserKnownHostsFile ${PORTHOLE_TEST_UNSET}", "environment variable PORTHOLE_TEST_UNSET "
     "is not set"),
    ("Bogus yes", "unknown keyword 'Bogus'"),
    ("User \"unclosed", "User: unclosed quote"),
]


def errors(home, porthole):
    for line, why in BAD:
        path = os.path.join(home, "bad.conf")
        # The bad line in a block for another host: ssh checks every line all the same.
        host_block = "Host elsewhere\n" if not line.startswith(("Match", "HostName", "User",
                                                                 "UserKnown")) else ""
        with open(path, "w") as f:
            f.write(f"# a bad line\n{host_block}{line}\n")
        rc, out, err = run(["ssh", "-G", "-F", path, "target"], home)
        fx.check(rc != 0, f"ssh refuses '{line}'", out + err)
        prc, pout, perr = run([porthole, "-o", f"SshConfigFile={path}", "check", "target"], home)
        n = 3 if host_block else 2
        want = f"porthole: {path}:{n}: {why}" if "environment" not in why else why
        fx.check(prc == 2 and len(perr.splitlines()) == 1 and want in perr,
                 f"porthole refuses '{line}' in one line naming file:line, exit 2", perr)


def system_file(home, porthole):
    """Without -F / SshConfigFile both read ~/.ssh/config, then /etc/ssh/ssh_config."""
    for host in ("example.org", "github.com"):
        rc, out, err = run(["ssh", "-G", host], home, real_home=True)
        prc, pout, perr = run([porthole, "check", host], home, real_home=True)
        fx.check(rc == 0 and prc == 0, f"ssh -G and porthole check {host} with the real files",
                 err + perr)
        compare("~/.ssh/config + /etc/ssh/ssh_config", host, parse(out), parse(pout), PW.pw_dir)
        fx.check("does not implement" not in perr,
                 "the system-wide file's ssh-only defaults are not warned about", perr)


def main():
    if shutil.which("ssh") is None:
        fx.skip("OpenSSH's ssh is not installed")
    porthole = fx.porthole_path()
    home = tempfile.mkdtemp(prefix="sshconfig_g.")
    try:
        shutil.copytree(CORPUS, os.path.join(home, ".ssh"))
        os.chmod(os.path.join(home, ".ssh"), 0o700)
        os.makedirs(os.path.join(home, "xdg"))
        os.makedirs(os.path.join(home, "run"), mode=0o700)
        corpus(home, porthole)
        warnings(home, porthole)
        errors(home, porthole)
        system_file(home, porthole)
    finally:
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    fx.run(main)
