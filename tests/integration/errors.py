#!/usr/bin/env python3
"""porthole's failures: exit status and ONE stderr line starting "porthole: " that says what and
why, for host-key, authentication, listener, spec, option, resolve and connect errors; the
GatewayPorts rule for non-loopback binds; StrictHostKeyChecking=ask without a terminal; RSA keys
on libssh2 1.10 (refused, saying so) vs >= 1.11 (used), the version as `porthole -V` names it;
-h / -V / no arguments; and StrictHostKeyChecking=accept-new recording a new host then being
trusted. porthole mode only."""

import os
import re
import shutil
import socket
import subprocess

import fixture as fx

RUN_TIMEOUT = 10.0


def run_no_tty(argv, env, timeout=RUN_TIMEOUT):
    """Run argv to its exit in a new session (so no controlling terminal: /dev/tty cannot be
    opened) with stdin from /dev/null; return (status, stderr text), status None if killed."""
    p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    fx._children.append(p)
    try:
        _, err = p.communicate(timeout=timeout)
        return p.returncode, err.decode(errors="replace")
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
        return None, err.decode(errors="replace")


def libssh2_version():
    """The libssh2 porthole runs with, as a tuple, e.g. (1, 11, 1): its `porthole -V` line
    'libssh2 X.Y.Z, ...' (pkg-config would name the system's, not the one linked in)."""
    info = fx.porthole_info()
    if info["libssh2"] is None:
        raise fx.TestFailure("porthole -V has no 'libssh2 X.Y.Z' line:\n" + info["text"])
    return info["libssh2"]


def expect(sshd, what, status, needles, forward_args=(), case=False, argv=None, runner=None,
           **opts):
    """Run porthole to its exit; check status and one 'porthole: ' line holding every needle.

    argv: run exactly this command line (in the fixture's environment) instead of the one built
    from forward_args and opts; runner: (argv, env) -> (status, stderr) to run it with."""
    if argv is None and runner is None:
        got, err = fx.run_forwarder(sshd, forward_args, timeout=RUN_TIMEOUT, **opts)
    else:
        if argv is None:
            argv = fx.forwarder_argv(sshd, forward_args, **opts)
        got, err = (runner or run_no_tty)(argv, fx.child_env(sshd))
    detail = f"status {got}, stderr:\n{err}"
    if got is None:
        raise fx.TestFailure(f"{what}: porthole still running after {RUN_TIMEOUT} s, killed\n"
                             f"{err}")
    fx.check(got == status, f"{what}: exit {status}", detail)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if needles:
        def has_all(ln):
            return all((n in ln) if case else (n.lower() in ln.lower()) for n in needles)
        hits = [ln for ln in lines if has_all(ln)]
        fx.check(hits, f"{what}: one stderr line contains {needles}", detail)
        fx.check(hits[0].startswith("porthole: "), f"{what}: ... and starts with 'porthole: '",
                 detail)
    else:
        fx.check(lines, f"{what}: says something on stderr", detail)
    stray = [ln for ln in lines if not ln.startswith("porthole: ")]
    fx.check(not stray, f"{what}: every stderr line starts with 'porthole: '", detail)
    return err


def main():
    fx.skip_in_ssh_mode("porthole's own error messages and exit statuses")
    failed = []

    def case(fn, *args, **kwargs):
        """Run one case; a failure is reported and the next case still runs."""
        try:
            fn(*args, **kwargs)
        except fx.TestFailure as e:
            print(f"FAIL: {e}", flush=True)
            failed.append(str(e).splitlines()[0])

    with fx.Sshd() as sshd:
        case(unknown_host, sshd)
        other = fx.keygen(os.path.join(sshd.dir, "other_host_key"))
        changed = sshd.write_known_hosts("known_hosts.changed", [
            "# a comment on line 1",
            f"[{sshd.host}]:{sshd.port} {other}",
        ])
        case(expect, sshd, "changed host key", 255, ["changed", f"{changed}:2"],
             known_hosts=changed)
        stranger = os.path.join(sshd.dir, "id_stranger")
        fx.keygen(stranger)
        case(expect, sshd, "key not in authorized_keys", 255, ["authentication failed"],
             identity=stranger)
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen(1)
            p = busy.getsockname()[1]
            case(expect, sshd, f"-L 127.0.0.1:{p}:... on a port in use", 1,
                 ["address already in use"], forward_args=["-L", f"127.0.0.1:{p}:127.0.0.1:9"])
        case(expect, sshd, "-L 99999:x:80", 2, ["port out of range"],
             forward_args=["-L", "99999:x:80"])
        case(expect, sshd, "-L 8080:x", 2, ["8080:x"], forward_args=["-L", "8080:x"])
        case(expect, sshd, "-L [::1:8080:x:80", 2, ["bracket"],
             forward_args=["-L", "[::1:8080:x:80"])
        case(expect, sshd, "-o Bogus=1", 2, ["Bogus"], case=True, extra_args=["-o", "Bogus=1"])
        case(expect, sshd, "jump host port where nothing listens", 255, ["refused"],
             port=fx.free_port())
        case(accept_new, sshd)
        case(gateway_ports, sshd)
        case(no_terminal, sshd)
        case(resolve_and_usage, sshd)
        case(rsa_user_key, sshd)
        case(open_key, sshd)
        case(expect, sshd, "-i /nonexistent/key with IdentitiesOnly=yes", 255,
             ["cannot read", "/nonexistent/key"], identity="/nonexistent/key")
    case(rsa_host_key_only)
    if failed:
        raise fx.TestFailure(f"{len(failed)} case(s) failed:\n  " + "\n  ".join(failed))


def unknown_host(sshd):
    expect(sshd, "unknown host key (StrictHostKeyChecking=yes)", 255, ["not known"],
           known_hosts=sshd.empty_known_hosts)
    fx.check(os.path.getsize(sshd.empty_known_hosts) == 0,
             "unknown host key: known_hosts left untouched")


def accept_new(sshd):
    """accept-new records the unknown host (appending) and the next strict run trusts it."""
    kh = os.path.join(sshd.dir, "known_hosts.accept-new")
    shutil.copyfile(sshd.empty_known_hosts, kh)
    with fx.EchoServer() as echo:
        lport = fx.free_port()
        fwd = ["-L", f"{lport}:127.0.0.1:{echo.port}"]
        with fx.Forwarder(sshd, fwd, known_hosts=kh, strict="accept-new") as fw:
            fx.ok("accept-new: connected to an unknown host")
            payload = os.urandom(4096)
            fx.check(fx.echo_roundtrip(lport, payload, timeout=10) == payload,
                     "accept-new: the forward works")
            status, err = fw.stop()
            fx.check(status == 0, "accept-new: exit 0 on SIGTERM", f"status {status}\n{err}")
        with open(kh) as f:
            lines = [ln for ln in f.read().splitlines() if ln.strip()]
        key_b64 = sshd.hostkey_pubs[0].split()[1]
        host = f"[{sshd.host}]:{sshd.port} "
        fx.check(len(lines) >= 1 and all(key_b64 in ln for ln in lines) and
                 all(ln.startswith(host) or ln.startswith("|1|") for ln in lines),
                 "accept-new: known_hosts gained a line for the server's key", "\n".join(lines))
        with fx.Forwarder(sshd, fwd, known_hosts=kh, strict="yes") as fw:
            fx.ok("StrictHostKeyChecking=yes then connects with the recorded key")
            status, err = fw.stop()
            fx.check(status == 0, "exit 0 on SIGTERM", f"status {status}\n{err}")


def start_then_term(sshd, what, forward_args, probe=None, **opts):
    """The forwarder starts (connected, -L ports listening); probe(fw) runs; SIGTERM -> 0."""
    try:
        fw = fx.Forwarder(sshd, forward_args, **opts)
    except fx.TestFailure as e:
        raise fx.TestFailure(f"{what}: did not start: {e}")
    with fw:
        fx.ok(f"{what}: connected")
        if probe:
            probe(fw)
        status, err = fw.stop()
        fx.check(status == 0, f"{what}: exit 0 on SIGTERM", f"status {status}\n{err}")


def gateway_ports(sshd):
    """A non-loopback or every-interface bind needs GatewayPorts=yes."""
    p = fx.free_port()
    spec = f"0.0.0.0:{p}:127.0.0.1:9"
    expect(sshd, f"-L {spec} without GatewayPorts", 2, ["GatewayPorts"], forward_args=["-L", spec])
    fx.check(not fx.is_listening(p), f"-L {spec} without GatewayPorts: nothing left listening")
    for bind in ("*", ""):
        spec = f"{bind}:{p}:127.0.0.1:9"
        expect(sshd, f"-L {spec} without GatewayPorts", 2, ["GatewayPorts"],
               forward_args=["-L", spec])
    with fx.EchoServer() as echo:
        spec = f"0.0.0.0:{p}:127.0.0.1:{echo.port}"

        def probe(fw):
            payload = os.urandom(4096)
            fx.check(fx.echo_roundtrip(p, payload, timeout=10) == payload,
                     f"-L {spec} with GatewayPorts=yes: the forward works (via 127.0.0.1)")

        start_then_term(sshd, f"-o GatewayPorts=yes -L {spec}", ["-L", spec],
                        extra_args=["-o", "GatewayPorts=yes"], probe=probe)


def no_terminal(sshd):
    """StrictHostKeyChecking=ask (explicit, and as the default) with no controlling terminal and
    an unknown host: refuse, exit 255, say there is no terminal; known_hosts untouched."""
    argv = fx.forwarder_argv(sshd, known_hosts=sshd.empty_known_hosts, strict="ask")
    expect(sshd, "unknown host, StrictHostKeyChecking=ask, no terminal", 255, ["no terminal"],
           argv=argv, runner=run_no_tty)
    i = argv.index("StrictHostKeyChecking=ask")
    default_argv = argv[:i - 1] + argv[i + 1:]
    expect(sshd, "unknown host, StrictHostKeyChecking unset (ask), no terminal", 255,
           ["no terminal"], argv=default_argv, runner=run_no_tty)
    fx.check(os.path.getsize(sshd.empty_known_hosts) == 0,
             "no terminal: known_hosts left untouched")


def resolve_and_usage(sshd):
    p = fx.porthole_path()
    env = fx.child_env(sshd)
    argv = fx.forwarder_argv(sshd)
    argv[-1] = f"{sshd.user}@nosuchhost.invalid"
    expect(sshd, "destination nosuchhost.invalid", 255, ["cannot resolve", "nosuchhost.invalid"],
           argv=argv, runner=run_no_tty)
    expect(sshd, "porthole with no arguments", 2, ["missing destination"], argv=[p],
           runner=run_no_tty)
    for flag, what in (("-h", "usage:"), ("-V", "porthole ")):
        r = subprocess.run([p, flag], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=RUN_TIMEOUT)
        detail = f"status {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        fx.check(r.returncode == 0, f"porthole {flag}: exit 0", detail)
        if flag == "-h":
            fx.check("usage:" in r.stdout, "porthole -h: stdout contains 'usage:'", detail)
        else:
            fx.check(r.stdout.startswith("porthole "), "porthole -V: stdout starts 'porthole '",
                     detail)
            fx.check(re.search(r"^libssh2 \d+\.\d+\.\d+", r.stdout, re.M),
                     "porthole -V: a line 'libssh2 X.Y.Z' names the library", detail)
        fx.check(not r.stderr.strip(), f"porthole {flag}: nothing on stderr", detail)


def open_key(sshd):
    """A private key others may read is ignored, as ssh ignores it, in one line; 0600 works."""
    key = os.path.join(sshd.dir, "id_open")
    fx.keygen(key)
    sshd.add_client_key(key + ".pub")
    os.chmod(key, 0o644)
    expect(sshd, "a 0644 private key", 255, ["permissions 0644 are too open", "chmod 600"],
           identity=key)
    os.chmod(key, 0o600)
    start_then_term(sshd, "the same key at 0600", [], identity=key)


def rsa_user_key(sshd):
    """An authorised RSA user key: refused with a reason on libssh2 1.10, used on >= 1.11."""
    key = os.path.join(sshd.dir, "id_rsa_user")
    fx.keygen(key, "rsa")
    sshd.add_client_key(key + ".pub")
    v = libssh2_version()
    if v < (1, 11):
        expect(sshd, f"RSA user key on libssh2 {'.'.join(map(str, v))}", 255, ["RSA", "ed25519"],
               case=True, identity=key)
    else:
        start_then_term(sshd, f"RSA user key on libssh2 {'.'.join(map(str, v))}", [],
                        identity=key)


def rsa_host_key_only():
    """A server with only an RSA host key (known_hosts holds it): refused with a reason on
    libssh2 1.10, connects on >= 1.11."""
    v = libssh2_version()
    with fx.Sshd(hostkey_types=("rsa",)) as sshd:
        what = f"server with only an RSA host key, libssh2 {'.'.join(map(str, v))}"
        if v < (1, 11):
            expect(sshd, what, 255, ["RSA"], case=True)
        else:
            start_then_term(sshd, what, [])


if __name__ == "__main__":
    fx.run(main)
