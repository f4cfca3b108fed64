#!/usr/bin/env python3
"""Host certificates through @cert-authority, against real sshds with HostCertificate (host keys
signed by ssh-keygen -s CA -h -n principals -V validity):
- ed25519, ECDSA and RSA host keys and CAs: accepted through "@cert-authority * CA" alone (no
  plain key line), the -cert-v01 algorithm negotiated (first in the offer, as ssh orders it when
  a CA is known), and a -L forward carries data;
- a CA line whose pattern matches the HostKeyAlias, with the alias as the principal;
- refused, exit 255, one line naming why: expired, not yet valid, wrong principal, a user
  certificate, a CA the known hosts do not trust for the host, an @revoked CA;
- as ssh: a failed certificate whose key is itself known is accepted (with a line saying so);
  with no @cert-authority line at all the key is checked (and recorded) as a plain key.
Real ssh runs each case side by side and must agree on connect or refuse."""

import os
import re
import shutil
import subprocess

import fixture as fx

TIMEOUT = 10.0


def ssh_connects(sshd, known_hosts, opts=()):
    argv = ["ssh", "-F", "none", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={known_hosts}",
            "-o", "GlobalKnownHostsFile=none", "-o", "StrictHostKeyChecking=yes",
            "-i", sshd.client_key, "-p", str(sshd.port)]
    for o in opts:
        argv += ["-o", o]
    argv += [f"{sshd.user}@{sshd.host}", "true"]
    r = subprocess.run(argv, env=fx.child_env(sshd), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=TIMEOUT, start_new_session=True)
    return r.returncode == 0, r.stderr.strip().replace("\n", " | ")


def porthole(sshd, known_hosts, opts=(), strict="yes", echo=None):
    """porthole -v with a -L forward (to echo's port if given, then data is sent through it).
    Returns (connected, status, stderr)."""
    port = fx.free_port()
    extra = ["-v", "-o", "GlobalKnownHostsFile=none"]
    for o in opts:
        extra += ["-o", o]
    target = echo.port if echo else 9
    fw = fx.Forwarder(sshd, ["-L", f"{port}:127.0.0.1:{target}"], start=False, extra_args=extra,
                      strict=strict, known_hosts=known_hosts, timeout=TIMEOUT)
    try:
        fw.start()
    except fx.TestFailure:
        fw.proc.wait(TIMEOUT)
        fw._reader.join(2)
        return False, fw.proc.returncode, fw.stderr()
    if echo:
        payload = os.urandom(64 * 1024)
        got = fx.echo_roundtrip(port, payload)
        if got != payload:
            fw.stop()
            raise fx.TestFailure(f"the forward returned {len(got)} bytes, not the 64 KiB sent")
    status, err = fw.stop()
    return True, status, err


def negotiated(err):
    m = re.search(r"host key (\S+),", err)
    return m.group(1) if m else None


def refusal(err):
    """The error line: the last one porthole wrote."""
    lines = err.strip().splitlines()
    return lines[-1] if lines else ""


def accepted_case(kind, ca, echo):
    with fx.Sshd(hostkey_types=(kind,), host_cert={"ca": ca}) as sshd:
        kh = sshd.write_known_hosts("kh", [f"@cert-authority * {sshd.host_ca_pub}"])
        up, status, err = porthole(sshd, kh, echo=echo)
        fx.check(up and status == 0, f"{kind} host key, {ca} CA: accepted through "
                 "@cert-authority, and a -L forward carries 64 KiB", err)
        alg = negotiated(err)
        fx.check(alg is not None and alg.endswith("-cert-v01@openssh.com"),
                 f"... the certificate algorithm was negotiated ({alg})", err)
        fx.check("signed by the CA in" in err, "... and -v says which CA line vouched", err)
        fx.check(ssh_connects(sshd, kh)[0], "ssh agrees")


def refused_case(what, spec, needle, known_lines=None, opts=()):
    with fx.Sshd(host_cert=spec) as sshd:
        lines = known_lines(sshd) if known_lines else [f"@cert-authority * {sshd.host_ca_pub}"]
        kh = sshd.write_known_hosts("kh", lines)
        up, status, err = porthole(sshd, kh, opts)
        line = refusal(err)
        fx.check(not up and status == 255 and needle in line,
                 f"{what}: refused, exit 255: {line.split(': ', 1)[-1]}", err)
        ok, said = ssh_connects(sshd, kh, opts)
        fx.check(not ok, f"ssh refuses too ({said})")


def main():
    fx.skip_in_ssh_mode("checks porthole's own host key handling")
    if not shutil.which("ssh"):
        fx.skip("ssh (OpenSSH client) not installed: needed for the side-by-side checks")
    info = fx.porthole_info()
    if "host certificates (@cert-authority): yes" not in info["text"]:
        fx.skip("this porthole's libssh2 cannot use host certificates (porthole -V says: "
                f"{[ln for ln in info['text'].splitlines() if 'host certificates' in ln]})")
    with fx.EchoServer() as echo:
        accepted_case("ed25519", "ed25519", echo)
        accepted_case("ecdsa", "ecdsa", echo)
        accepted_case("rsa", "rsa", echo)

    # Without a CA for the host, no certificate algorithm is offered: the plain key is used.
    with fx.Sshd(host_cert={}) as sshd:
        kh = sshd.write_known_hosts("kh", [])
        up, status, err = porthole(sshd, kh, strict="accept-new")
        fx.check(up and negotiated(err) == "ssh-ed25519",
                 "no @cert-authority line: the plain key is negotiated", err)
        r = subprocess.run(["ssh-keygen", "-F", f"[{sshd.host}]:{sshd.port}", "-f", kh],
                           capture_output=True, text=True)
        fx.check(r.returncode == 0 and "ssh-ed25519 " in r.stdout,
                 "... and recorded as a plain key under accept-new, as ssh does")

    # The CA line matches the HostKeyAlias; the alias is the principal (ssh checks that name).
    with fx.Sshd(host_cert={"principals": ["build.example.com"]}) as sshd:
        kh = sshd.write_known_hosts("kh", [f"@cert-authority *.example.com {sshd.host_ca_pub}"])
        opts = ["HostKeyAlias=build.example.com"]
        up, status, err = porthole(sshd, kh, opts)
        fx.check(up, "@cert-authority *.example.com with HostKeyAlias=build.example.com", err)
        fx.check(ssh_connects(sshd, kh, opts)[0], "ssh agrees")

    refused_case("expired", {"validity": "20200101:20210101"}, "expired (valid until 2021-01-01")
    refused_case("not yet valid", {"validity": "+1d:+2d"}, "not yet valid (valid from")
    refused_case("wrong principal", {"principals": ["other.example.com"]},
                 "name '127.0.0.1' is not a listed principal (other.example.com)")
    refused_case("a user certificate", {"user": True}, "not a host certificate")
    other_ca = os.path.join(fx.tempfile.mkdtemp(prefix="porthole-test-ca-"), "other_ca")
    other_pub = fx.keygen(other_ca)
    refused_case("signed by a CA not trusted for the host", {}, "(wrong CA)",
                 lambda sshd: [f"@cert-authority * {other_pub}"])
    shutil.rmtree(os.path.dirname(other_ca), ignore_errors=True)
    refused_case("an @revoked CA", {}, "is REVOKED in",
                 lambda sshd: [f"@cert-authority * {sshd.host_ca_pub}",
                               f"@revoked * {sshd.host_ca_pub}"])
    # On another port than 22, as ssh: [host]:port first, then the bare host name.
    with fx.Sshd(host_cert={}) as sshd:
        kh = sshd.write_known_hosts("kh", [f"@cert-authority {sshd.host} {sshd.host_ca_pub}"])
        up, status, err = porthole(sshd, kh)
        fx.check(up, "@cert-authority 127.0.0.1 covers [127.0.0.1]:port (ssh looks the host "
                 "up without its port when nothing is known with it)", err)
        fx.check(ssh_connects(sshd, kh)[0], "ssh agrees")
    refused_case("the CA line's pattern does not match the alias (the key is then unknown)",
                 {"principals": ["build.other.com"]}, "is not known",
                 lambda sshd: [f"@cert-authority *.example.com {sshd.host_ca_pub}"],
                 opts=["HostKeyAlias=build.other.com"])

    # As ssh: an expired certificate whose key is itself known is accepted, and said so.
    with fx.Sshd(host_cert={"validity": "20200101:20210101"}) as sshd:
        kh = sshd.write_known_hosts("kh", [f"@cert-authority * {sshd.host_ca_pub}",
                                           f"[{sshd.host}]:{sshd.port} {sshd.hostkey_pubs[0]}"])
        up, status, err = porthole(sshd, kh)
        fx.check(up and "not accepted (expired" in err and "its key is known" in err,
                 "an expired certificate whose key is known: accepted, with a line saying so",
                 err)
        fx.check(ssh_connects(sshd, kh)[0], "ssh agrees")


if __name__ == "__main__":
    fx.run(main)
