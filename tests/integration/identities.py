#!/usr/bin/env python3
"""Which keys are offered, against a real sshd with MaxAuthTries 3 and an ssh-agent holding 6
keys, the authorized one last and its file encrypted (no terminal: only the agent can sign with
it):
- IdentitiesOnly=yes with -i that key: only that agent key is offered, the login succeeds, and
  sshd's log names that key. Without IdentitiesOnly it succeeds too: like OpenSSH 9.2, porthole
  offers the agent keys of configured identities first (ssh -v: "explicit agent").
- The configured key a file the agent does not hold, 6 other keys in the agent: without
  IdentitiesOnly the agent's keys go first and sshd says "Too many authentication failures"
  (ssh side by side does the same); with IdentitiesOnly=yes only the file is offered.
- IdentityAgent with SSH_AUTH_SOCK unset: a path, $VAR, SSH_AUTH_SOCK (the variable);
- IdentityAgent none with SSH_AUTH_SOCK set: the agent is not asked, and the failure says the
  encrypted key needs a terminal.
"""

import os
import re
import shutil
import subprocess

import fixture as fx

TIMEOUT = 15.0
PASSPHRASE = "correct horse"


def accepted_fingerprints(sshd):
    return re.findall(r"Accepted publickey for \S+ from .* ssh2: \S+ (SHA256:\S+)", sshd.log())


def porthole(sshd, key, opts, env):
    """Run porthole with -i key and -o opts; return (connected, status, stderr)."""
    extra = []
    for o in opts:
        extra += ["-o", o]
    port = fx.free_port()
    fw = fx.Forwarder(sshd, ["-L", f"{port}:127.0.0.1:9"], start=False, env=env,
                      extra_args=extra, identity=key, identities_only=False, timeout=TIMEOUT)
    try:
        fw.start()
    except fx.TestFailure:
        fw.proc.wait(TIMEOUT)
        fw._reader.join(2)
        return False, fw.proc.returncode, fw.stderr()
    status, err = fw.stop()
    return True, status, err


def ssh(sshd, key, opts, env):
    argv = ["ssh", "-F", "none", "-o", "BatchMode=yes", "-o",
            f"UserKnownHostsFile={sshd.known_hosts}", "-o", "StrictHostKeyChecking=yes",
            "-i", key, "-p", str(sshd.port)]
    for o in opts:
        argv += ["-o", o]
    argv += [f"{sshd.user}@{sshd.host}", "true"]
    r = subprocess.run(argv, env=fx.child_env(sshd, env), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=TIMEOUT, start_new_session=True)
    return r.returncode == 0, r.stderr


def main():
    fx.skip_in_ssh_mode("compares porthole with ssh itself")
    missing = fx.agent_tools_missing()
    if missing:
        fx.skip(f"{missing} not installed")
    if not shutil.which("ssh"):
        fx.skip("ssh (OpenSSH client) not installed: needed for the side-by-side checks")
    with fx.Sshd(extra_config=["MaxAuthTries 3"]) as sshd:
        d = sshd.dir
        # The authorized key is the agent's last; its file needs a passphrase.
        open(sshd.authorized_keys, "w").close()
        good = os.path.join(d, "configured_key")
        fx.keygen(good, passphrase=PASSPHRASE, comment="configured-key")
        sshd.add_client_key(good + ".pub")
        good_fp = fx.fingerprint(good + ".pub")
        with fx.Agent(d) as agent:
            fx.check(len(agent.add_new_keys(5)) == 5, "ssh-add 5 other keys")
            r = agent.add(good, PASSPHRASE)
            fx.check(r.returncode == 0, "ssh-add the configured key last", r.stdout)
            listed = agent.listing().splitlines()
            fx.check(len(listed) == 6 and good_fp in listed[-1],
                     "the agent holds 6 keys, the authorized one last", "\n".join(listed))
            with_agent = agent.env()

            before = len(accepted_fingerprints(sshd))
            up, status, err = porthole(sshd, good, ["IdentitiesOnly=yes"], with_agent)
            fx.check(up, "IdentitiesOnly=yes: logs in through the agent with the configured key",
                     err)
            got = accepted_fingerprints(sshd)[before:]
            fx.check(got == [good_fp], "sshd accepted exactly the configured key", str(got))
            fx.check(ssh(sshd, good, ["IdentitiesOnly=yes"], with_agent)[0],
                     "ssh agrees (IdentitiesOnly=yes logs in)")

            up, status, err = porthole(sshd, good, ["IdentitiesOnly=no"], with_agent)
            fx.check(up, "without IdentitiesOnly the configured agent key goes first too", err)
            fx.check(ssh(sshd, good, ["IdentitiesOnly=no"], with_agent)[0], "ssh agrees")

            # The configured key is a file the agent does not hold.
            plain = os.path.join(d, "plain_key")
            fx.keygen(plain, comment="plain")
            sshd.add_client_key(plain + ".pub")
            plain_fp = fx.fingerprint(plain + ".pub")
            r = subprocess.run(["ssh-add", "-d", good + ".pub"], env=dict(os.environ, **with_agent),
                               capture_output=True, text=True, stdin=subprocess.DEVNULL)
            agent.add_new_keys(1, prefix="extra_key")
            fx.check(len(agent.listing().splitlines()) == 6 and
                     plain_fp not in agent.listing(), "the agent holds 6 other keys", r.stderr)
            up, status, err = porthole(sshd, plain, ["IdentitiesOnly=no"], with_agent)
            log = sshd.log()
            fx.check(not up and status == 255, "without IdentitiesOnly: the 6 agent keys use up "
                     "MaxAuthTries 3, exit 255", err)
            fx.check("Too many authentication failures" in log or
                     "maximum authentication attempts exceeded" in log,
                     "... sshd logged too many authentication failures")
            last = err.strip().splitlines()[-1] if err.strip() else ""
            fx.check('disconnected after 3 attempts, saying "Too many authentication failures"'
                     in last and "IdentitiesOnly=yes" in last and "plain_key" not in last,
                     "porthole says the server gave up after 3 and that the file was not tried",
                     err)
            ok, ssh_err = ssh(sshd, plain, ["IdentitiesOnly=no"], with_agent)
            fx.check(not ok and "Too many authentication failures" in ssh_err,
                     "ssh fails the same way", f"ok={ok} stderr={ssh_err!r}")
            before = len(accepted_fingerprints(sshd))
            up, status, err = porthole(sshd, plain, ["IdentitiesOnly=yes"], with_agent)
            got = accepted_fingerprints(sshd)[before:]
            fx.check(up and got == [plain_fp], "IdentitiesOnly=yes: only the file is offered, "
                     "and sshd accepts it", err + str(got))
            fx.check(ssh(sshd, plain, ["IdentitiesOnly=yes"], with_agent)[0], "ssh agrees")

            # The same from ~/.ssh/config, nothing on the command line.
            os.makedirs(os.path.join(sshd.home, ".ssh"), mode=0o700, exist_ok=True)
            ssh_config = os.path.join(sshd.home, ".ssh", "config")
            with open(ssh_config, "w") as f:
                f.write(f"Host {sshd.host}\n    IdentitiesOnly yes\n    IdentityFile {plain}\n")
            before = len(accepted_fingerprints(sshd))
            up, status, err = porthole(sshd, None, [], with_agent)
            got = accepted_fingerprints(sshd)[before:]
            fx.check(up and got == [plain_fp], "IdentitiesOnly and IdentityFile from "
                     "~/.ssh/config: only that key is offered", err + str(got))
            r = subprocess.run(["ssh", "-F", ssh_config, "-o", "BatchMode=yes", "-o",
                                f"UserKnownHostsFile={sshd.known_hosts}", "-p", str(sshd.port),
                                f"{sshd.user}@{sshd.host}", "true"],
                               env=fx.child_env(sshd, with_agent), stdin=subprocess.DEVNULL,
                               capture_output=True, text=True, timeout=TIMEOUT,
                               start_new_session=True)
            fx.check(r.returncode == 0, "ssh -F with that file agrees", r.stderr)
            os.unlink(ssh_config)
            agent.add(good, PASSPHRASE)

            # IdentityAgent, SSH_AUTH_SOCK unset (child_env drops it).
            up, status, err = porthole(sshd, good, ["IdentitiesOnly=yes",
                                                    f"IdentityAgent={agent.sock}"], None)
            fx.check(up, "IdentityAgent=<path> with SSH_AUTH_SOCK unset", err)
            up, status, err = porthole(sshd, good, ["IdentitiesOnly=yes",
                                                    "IdentityAgent=$MY_AGENT"],
                                       {"MY_AGENT": agent.sock})
            fx.check(up, "IdentityAgent=$MY_AGENT", err)
            up, status, err = porthole(sshd, good, ["IdentitiesOnly=yes",
                                                    "IdentityAgent=SSH_AUTH_SOCK"], with_agent)
            fx.check(up, "IdentityAgent=SSH_AUTH_SOCK (the variable)", err)
            up, status, err = porthole(sshd, good, ["IdentitiesOnly=yes",
                                                    "IdentityAgent=$NO_SUCH_AGENT"], None)
            fx.check(not up and status == 255 and "NO_SUCH_AGENT is not set" in err,
                     "IdentityAgent=$UNSET: refused, and the error says the variable is unset",
                     err)

            # IdentityAgent none: the agent is not used even though SSH_AUTH_SOCK is set.
            up, status, err = porthole(sshd, good, ["IdentitiesOnly=yes",
                                                    "IdentityAgent=none"], with_agent)
            fx.check(not up and status == 255 and "no terminal" in err and
                     "ssh-agent" not in err.split("tried", 1)[-1].split(";")[0],
                     "IdentityAgent=none: the agent is not asked (the encrypted key needs a "
                     "terminal), exit 255", err)
            ok, ssh_err = ssh(sshd, good, ["IdentitiesOnly=yes", "IdentityAgent=none"],
                              with_agent)
            fx.check(not ok, "ssh agrees (IdentityAgent=none cannot log in)", ssh_err)


if __name__ == "__main__":
    fx.run(main)
