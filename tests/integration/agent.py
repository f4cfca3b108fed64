#!/usr/bin/env python3
"""Authentication through ssh-agent: a passphrase-protected key, loaded into a fresh agent,
authorized on the server; the forwarder gets no -i, no IdentitiesOnly and an empty HOME, so
only the agent can authenticate it. Its -L forward then works."""

import os
import subprocess

import fixture as fx

PASSPHRASE = "secretpass"


def add_key(agent, key):
    r = agent.add(key, passphrase=PASSPHRASE)
    fx.check(r.returncode == 0, "ssh-add loaded the passphrase-protected key into the agent",
             r.stdout)
    listing = agent.listing()
    fx.check(fx.fingerprint(key + ".pub") in listing, "ssh-add -l lists it", listing)


def main():
    missing = fx.agent_tools_missing()
    if missing:
        fx.skip(f"{missing} not installed")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        key = os.path.join(sshd.dir, "id_agent")
        fx.keygen(key, passphrase=PASSPHRASE)
        r = subprocess.run(["ssh-keygen", "-y", "-P", "", "-f", key], capture_output=True)
        fx.check(r.returncode != 0, "the key file cannot be read without its passphrase")
        sshd.add_client_key(key + ".pub")
        with fx.Agent(sshd.dir) as agent:
            add_key(agent, key)
            home = os.path.join(sshd.dir, "agent-home")
            os.mkdir(home, 0o700)
            lport = fx.free_port()
            fwd = ["-L", f"{lport}:127.0.0.1:{echo.port}"]
            opts = dict(identity=None, identities_only=False)

            status, err = fx.run_forwarder(sshd, fwd, env={"HOME": home}, **opts)
            fx.check(status == 255, "without the agent (no key anywhere) it cannot authenticate: "
                     "exit 255", f"status {status}\n{err}")

            with fx.Forwarder(sshd, fwd, env={**agent.env(), "HOME": home}, **opts) as fw:
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


if __name__ == "__main__":
    fx.run(main)
