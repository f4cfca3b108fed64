#!/usr/bin/env python3
"""Known hosts files as ssh reads them, against a real sshd: several UserKnownHostsFile files
(the key in the second), GlobalKnownHostsFile, HostKeyAlias (looked up and written instead of
[host]:port), a key trusted in one file beating another file's different key, and
StrictHostKeyChecking=no: a new key accepted, warned about and appended to the first user file;
a changed key refused with exit 255. Where it helps, real `ssh` runs the same case side by side
and must agree (connect or not)."""

import os
import shutil
import subprocess

import fixture as fx

TIMEOUT = 10.0


def ssh_connects(sshd, opts):
    """Real ssh with the same known hosts options: True if it logs in and runs `true`."""
    argv = ["ssh", "-F", "none", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-i", sshd.client_key, "-p", str(sshd.port)]
    for o in opts:
        argv += ["-o", o]
    argv += [f"{sshd.user}@{sshd.host}", "true"]
    r = subprocess.run(argv, env=fx.child_env(sshd), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=TIMEOUT, start_new_session=True)
    return r.returncode == 0, r.stderr


def porthole(sshd, opts, strict="yes", known_hosts=None):
    """porthole with a -L forward and these -o options. Returns (connected, status, stderr):
    connected when it said "connected to" (then it is stopped with SIGTERM)."""
    port = fx.free_port()
    extra = []
    for o in opts:
        # The fixture passes UserKnownHostsFile itself: one value, no override question.
        if o.startswith("UserKnownHostsFile="):
            known_hosts = o.split("=", 1)[1]
        else:
            extra += ["-o", o]
    fw = fx.Forwarder(sshd, ["-L", f"{port}:127.0.0.1:9"], start=False, extra_args=extra,
                      strict=strict, known_hosts=known_hosts or sshd.empty_known_hosts)
    try:
        fw.start()
    except fx.TestFailure:
        fw.proc.wait(TIMEOUT)
        fw._reader.join(2)
        return False, fw.proc.returncode, fw.stderr()
    status, err = fw.stop()
    return True, status, err


def found_in(path, name):
    """ssh-keygen -F: does the file hold a key for name (hashed entries too)?"""
    r = subprocess.run(["ssh-keygen", "-F", name, "-f", path], capture_output=True, text=True)
    return r.returncode == 0 and name in r.stdout


def key_line(sshd, name=None):
    return f"{name or f'[{sshd.host}]:{sshd.port}'} {sshd.hostkey_pubs[0]}"


def main():
    fx.skip_in_ssh_mode("checks porthole's own handling of known hosts files")
    if not shutil.which("ssh"):
        fx.skip("ssh (OpenSSH client) not installed: needed for the side-by-side checks")
    with fx.Sshd() as sshd:
        d = sshd.dir
        hostname = f"[{sshd.host}]:{sshd.port}"
        empty1 = sshd.write_known_hosts("kh_empty1", [])
        second = sshd.write_known_hosts("kh_second", ["# the key is here", key_line(sshd)])
        no_global = "GlobalKnownHostsFile=none"

        # Two user files, the key in the second.
        both = f"UserKnownHostsFile={empty1} {second}"
        up, status, err = porthole(sshd, [both, no_global])
        fx.check(up and status == 0, "two UserKnownHostsFile files: the key in the second is "
                 "found", err)
        fx.check(ssh_connects(sshd, [both, no_global, "StrictHostKeyChecking=yes"])[0],
                 "ssh agrees (connects with the same two files)")
        # Only the first: unknown, refused (StrictHostKeyChecking yes), 255.
        up, status, err = porthole(sshd, [f"UserKnownHostsFile={empty1}", no_global])
        fx.check(not up and status == 255 and "is not known" in err,
                 "without the second file the host is not known (exit 255)", err)

        # GlobalKnownHostsFile: user files empty, the key in the second global file.
        up, status, err = porthole(sshd, [f"UserKnownHostsFile={empty1}",
                                          f"GlobalKnownHostsFile={empty1} {second}"])
        fx.check(up and status == 0, "GlobalKnownHostsFile (second of two) is read", err)

        # A file that trusts the key wins over another that holds a different key (as ssh).
        other = os.path.join(d, "other_host")
        fx.keygen(other)
        stale = sshd.write_known_hosts("kh_stale", [f"{hostname} {fx.public_key(other + '.pub')}"])
        opts = [f"UserKnownHostsFile={stale} {second}", no_global]
        up, status, err = porthole(sshd, opts)
        fx.check(up and status == 0, "a key trusted in one file is accepted though another "
                 "file holds a different key", err)
        fx.check(ssh_connects(sshd, opts + ["StrictHostKeyChecking=yes"])[0], "ssh agrees")
        # ... but alone that file is a changed key.
        up, status, err = porthole(sshd, [f"UserKnownHostsFile={stale}", no_global])
        fx.check(not up and status == 255 and "has CHANGED" in err and
                 f"{stale}:1" in err, "the stale file alone: changed key, exit 255, file:line "
                 "named", err)

        # On another port than 22, a host nothing is known for as [host]:port is looked up
        # again under the bare name, as ssh does ("checking without port identifier").
        bare = sshd.write_known_hosts("kh_bare", [key_line(sshd, sshd.host)])
        opts = [f"UserKnownHostsFile={bare}", no_global]
        up, status, err = porthole(sshd, opts)
        fx.check(up, "a key recorded under the bare host name is found for [host]:port", err)
        fx.check(ssh_connects(sshd, opts + ["StrictHostKeyChecking=yes"])[0], "ssh agrees")
        bare_other = sshd.write_known_hosts(
            "kh_bare_other", [f"{sshd.host} {fx.public_key(other + '.pub')}"])
        opts = [f"UserKnownHostsFile={bare_other}", no_global]
        up, status, err = porthole(sshd, opts)
        fx.check(not up and status == 255 and "is not known" in err,
                 "another key under the bare name is not a changed key: the host is unknown", err)
        fx.check(not ssh_connects(sshd, opts + ["StrictHostKeyChecking=yes"])[0],
                 "ssh refuses too")

        # HostKeyAlias: the key is under the alias, not [127.0.0.1]:port.
        aliased = sshd.write_known_hosts("kh_alias", [key_line(sshd, "build-box")])
        opts = [f"UserKnownHostsFile={aliased}", no_global]
        up, status, err = porthole(sshd, opts + ["HostKeyAlias=Build-Box"])
        fx.check(up and status == 0, "HostKeyAlias: the key is found under the alias", err)
        fx.check(ssh_connects(sshd, opts + ["HostKeyAlias=Build-Box",
                                            "StrictHostKeyChecking=yes"])[0], "ssh agrees")
        up, status, err = porthole(sshd, opts)
        fx.check(not up and status == 255, "without HostKeyAlias the same file does not know "
                 "the host", err)
        # accept-new under an alias writes the alias alone (no [ ]:port), as ssh does.
        fresh = sshd.write_known_hosts("kh_alias_new", [])
        up, status, err = porthole(sshd, [f"UserKnownHostsFile={fresh}", no_global,
                                          "HostKeyAlias=newbox"], strict="accept-new")
        fx.check(up and found_in(fresh, "newbox") and not found_in(fresh, hostname),
                 "accept-new with HostKeyAlias records the key under the alias", err)
        ssh_file = sshd.write_known_hosts("kh_alias_ssh", [])
        ssh_connects(sshd, [f"UserKnownHostsFile={ssh_file}", no_global, "HostKeyAlias=newbox",
                            "StrictHostKeyChecking=accept-new"])
        fx.check(found_in(ssh_file, "newbox") and not found_in(ssh_file, hostname),
                 "ssh records it the same way")

        # StrictHostKeyChecking=no, new key: accepted, warned, appended to the first user file.
        first = sshd.write_known_hosts("kh_first", [])
        second_empty = sshd.write_known_hosts("kh_second_empty", [])
        opts = [f"UserKnownHostsFile={first} {second_empty}", no_global]
        up, status, err = porthole(sshd, opts, strict="no")
        warned = [ln for ln in err.splitlines() if "StrictHostKeyChecking no" in ln]
        fx.check(up and status == 0, "StrictHostKeyChecking=no: a new key is accepted", err)
        fx.check(len(warned) == 1 and "changed host key is still refused" in warned[0],
                 "... with one line saying a changed key is still refused", err)
        fx.check(found_in(first, hostname) and not found_in(second_empty, hostname),
                 "... and appended to the first UserKnownHostsFile only", err)
        up, status, err = porthole(sshd, opts, strict="yes")
        fx.check(up, "the recorded key is then trusted under StrictHostKeyChecking=yes", err)

        # StrictHostKeyChecking=no, changed key: refused, exit 255 (ssh would connect).
        up, status, err = porthole(sshd, [f"UserKnownHostsFile={stale}", no_global],
                                   strict="no")
        lines = [ln for ln in err.splitlines() if "CHANGED" in ln]
        fx.check(not up and status == 255 and len(lines) == 1 and
                 "even with StrictHostKeyChecking no" in lines[0],
                 "StrictHostKeyChecking=no with a changed key: refused, exit 255", err)
        ok, ssh_err = ssh_connects(sshd, [f"UserKnownHostsFile={stale}", no_global,
                                          "StrictHostKeyChecking=no"])
        print(f"# ssh -o StrictHostKeyChecking=no with the changed key: "
              f"{'connects' if ok else 'refused'}; it said: "
              f"{' | '.join(ssh_err.strip().splitlines()[:3])}", flush=True)

        # UserKnownHostsFile none: nothing read; accept-new accepts without recording.
        up, status, err = porthole(sshd, ["UserKnownHostsFile=none", no_global],
                                   strict="accept-new")
        fx.check(up and "not recorded" in err, "UserKnownHostsFile none: accepted, not "
                 "recorded, and said so", err)

        # CheckHostIP yes is accepted and says what porthole does.
        up, status, err = porthole(sshd, [f"UserKnownHostsFile={second}", no_global,
                                          "CheckHostIP=yes"])
        fx.check(up and "CheckHostIP yes" in err, "CheckHostIP yes: connects and says the "
                 "address is not checked", err)


if __name__ == "__main__":
    fx.run(main)
