#!/usr/bin/env python3
"""porthole's failures: exit status and ONE stderr line starting "porthole: " that says what and
why, for host-key, authentication, listener, spec, option and connect errors; and
StrictHostKeyChecking=accept-new recording a new host then being trusted. porthole mode only."""

import os
import shutil
import socket

import fixture as fx

RUN_TIMEOUT = 10.0


def expect(sshd, what, status, needles, forward_args=(), case=False, **opts):
    """Run porthole to its exit; check status and one 'porthole: ' line holding every needle."""
    got, err = fx.run_forwarder(sshd, forward_args, timeout=RUN_TIMEOUT, **opts)
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


if __name__ == "__main__":
    fx.run(main)
