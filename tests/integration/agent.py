#!/usr/bin/env python3
"""Authentication through ssh-agent: a passphrase-protected key, loaded into a fresh agent,
authorized on the server; the forwarder gets no -i, no IdentitiesOnly and an empty HOME, so
only the agent can authenticate it. Its -L forward then works."""

import os
import shutil
import subprocess
import time

import fixture as fx

PASSPHRASE = "secretpass"


def start_agent(d):
    sock = os.path.join(d, "agent.sock")
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", sock], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fx._children.append(agent)
    deadline = time.monotonic() + 5
    while not os.path.exists(sock):
        if agent.poll() is not None or time.monotonic() > deadline:
            raise fx.TestFailure(f"ssh-agent did not start (status {agent.poll()})")
        time.sleep(0.02)
    return agent, sock


def add_key(sock, key, d):
    """ssh-add reads the passphrase from an SSH_ASKPASS script (no terminal: new session)."""
    askpass = os.path.join(d, "askpass.sh")
    with open(askpass, "w") as f:
        f.write(f"#!/bin/sh\necho '{PASSPHRASE}'\n")
    os.chmod(askpass, 0o700)
    env = dict(os.environ, SSH_AUTH_SOCK=sock, SSH_ASKPASS=askpass,
               SSH_ASKPASS_REQUIRE="force", DISPLAY=os.environ.get("DISPLAY", ":0"))
    r = subprocess.run(["ssh-add", key], env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, start_new_session=True, timeout=10)
    fx.check(r.returncode == 0, "ssh-add loaded the passphrase-protected key into the agent",
             r.stdout + r.stderr)
    r = subprocess.run(["ssh-add", "-l"], env=env, capture_output=True, text=True, timeout=10)
    fx.check(fx.fingerprint(key + ".pub") in r.stdout, "ssh-add -l lists it", r.stdout)


def main():
    for tool in ("ssh-agent", "ssh-add"):
        if not shutil.which(tool):
            fx.skip(f"{tool} not installed")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        key = os.path.join(sshd.dir, "id_agent")
        fx.keygen(key, passphrase=PASSPHRASE)
        r = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", key], capture_output=True)
        fx.check(r.returncode != 0, "the key file cannot be read without its passphrase")
        sshd.add_client_key(key + ".pub")
        agent, sock = start_agent(sshd.dir)
        try:
            add_key(sock, key, sshd.dir)
            home = os.path.join(sshd.dir, "agent-home")
            os.mkdir(home, 0o700)
            lport = fx.free_port()
            fwd = ["-L", f"{lport}:127.0.0.1:{echo.port}"]
            opts = dict(identity=None, identities_only=False)

            status, err = fx.run_forwarder(sshd, fwd, env={"HOME": home}, **opts)
            fx.check(status == 255, "without the agent (no key anywhere) it cannot authenticate: "
                     "exit 255", f"status {status}\n{err}")

            with fx.Forwarder(sshd, fwd, env={"SSH_AUTH_SOCK": sock, "HOME": home},
                              **opts) as fw:
                fx.ok("with SSH_AUTH_SOCK it connects")
                payload = os.urandom(256 * 1024)
                fx.check(fx.echo_roundtrip(lport, payload, timeout=20) == payload,
                         "the -L forward works")
                status, err = fw.stop()
                if not fx.SSH_MODE:
                    fx.check(status == 0, "porthole exits 0 on SIGTERM", f"status {status}\n{err}")
            fp = fx.fingerprint(key + ".pub")
            accepted = [ln for ln in sshd.log().splitlines()
                        if f"Accepted publickey for {sshd.user}" in ln and fp in ln]
            fx.check(accepted,
                     f"sshd accepted the agent's key ({fp})", sshd.log()[-2000:])
        finally:
            agent.terminate()
            agent.wait(5)


if __name__ == "__main__":
    fx.run(main)
