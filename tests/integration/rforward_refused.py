#!/usr/bin/env python3
"""A -R the server refuses, because its sshd forbids it (PermitListen none) or because the port
is already taken on the server side: porthole says so in one line; alone, or with
ExitOnForwardFailure=yes, it exits 1; otherwise the other forwards stay up and SIGTERM exits 0.
With Reconnect=yes (profiles, services) a refusal is retried with backoff instead, and a port
that becomes free is listened on without a restart.
In ssh mode only the premise is checked: `ssh -R` is refused by the same servers."""

import os
import socket

import fixture as fx

RUN_TIMEOUT = 10.0


def occupy():
    """Listen on 127.0.0.1:P and [::1]:P (where IPv6 works) for one P; return (P, sockets).

    sshd binds every loopback address for a "localhost" listen request and succeeds if any
    bind does, so both families must be taken."""
    for _ in range(20):
        v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        v4.bind(("127.0.0.1", 0))
        v4.listen(8)
        port = v4.getsockname()[1]
        try:
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        except OSError:
            return port, [v4]  # no IPv6 at all
        try:
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::1", port))
            v6.listen(8)
            return port, [v4, v6]
        except OSError:
            v6.close()
            try:
                with socket.socket(socket.AF_INET6) as probe:
                    probe.bind(("::1", 0))
            except OSError:
                return port, [v4]  # no ::1 here: sshd cannot bind it either
            v4.close()  # ::1:port taken by someone else: try another port
    raise RuntimeError("no port free on both 127.0.0.1 and ::1")


def refused_lines(err, spec, port):
    want = f"porthole: -R {spec}: the server refused to listen on localhost:{port} ("
    return [ln for ln in err.splitlines() if ln.startswith(want)]


def check_output(what, err, spec, port):
    detail = f"stderr:\n{err}"
    hits = refused_lines(err, spec, port)
    fx.check(len(hits) == 1, f"{what}: exactly one line 'porthole: -R {spec}: the server "
             f"refused to listen on localhost:{port} (...'", detail)
    fx.check("AllowTcpForwarding" in hits[0] and "PermitListen" in hits[0],
             f"{what}: ... naming the likely causes", hits[0])
    stray = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("porthole: ")]
    fx.check(not stray, f"{what}: every stderr line starts with 'porthole: '", detail)


def expect_exit(sshd, what, spec, port, forward_args, extra_args=()):
    status, err = fx.run_forwarder(sshd, forward_args, extra_args=extra_args,
                                   timeout=RUN_TIMEOUT)
    if status is None:
        raise fx.TestFailure(f"{what}: still running after {RUN_TIMEOUT} s, killed\n{err}")
    fx.check(status == 1, f"{what}: exit 1", f"status {status}, stderr:\n{err}")
    check_output(what, err, spec, port)


def scenario(sshd, label, spec, port, echo):
    """The three behaviours for a -R `spec` (asking for `port`) that the server refuses."""
    if fx.SSH_MODE:
        status, err = fx.run_forwarder(sshd, ["-R", spec], timeout=RUN_TIMEOUT)
        fx.check(status not in (None, 0) and "remote port forwarding failed" in err,
                 f"{label}: ssh -R {spec} is refused too (status {status})", err)
        return

    expect_exit(sshd, f"{label}: -R {spec} alone", spec, port, ["-R", spec])

    lport = fx.free_port()
    lfwd = ["-L", f"{lport}:127.0.0.1:{echo.port}"]
    expect_exit(sshd, f"{label}: -R {spec} and a working -L, ExitOnForwardFailure=yes", spec,
                port, ["-R", spec, *lfwd], extra_args=["-o", "ExitOnForwardFailure=yes"])

    what = f"{label}: -R {spec} and a working -L, no ExitOnForwardFailure"
    with fx.Forwarder(sshd, ["-R", spec, *lfwd], wait_remote=False) as fw:
        line = fw.wait_stderr(lambda ln: "refused to listen" in ln, timeout=5)
        fx.check(line is not None, f"{what}: the refusal is reported", fw.stderr())
        payload = os.urandom(200000)
        fx.check(fx.echo_roundtrip(lport, payload, timeout=20) == payload,
                 f"{what}: the -L works")
        fx.check(fw.alive(), f"{what}: still running", fw.stderr())
        status, err = fw.stop()
        fx.check(status == 0, f"{what}: exit 0 on SIGTERM", f"status {status}\n{err}")
        check_output(what, err, spec, port)


def main():
    with fx.EchoServer() as echo:
        with fx.Sshd(extra_config=["PermitListen none"]) as sshd:
            port = fx.free_port()
            scenario(sshd, "sshd with PermitListen none", f"{port}:127.0.0.1:{echo.port}", port,
                     echo)
        with fx.Sshd() as sshd:
            port, socks = occupy()
            try:
                spec = f"{port}:127.0.0.1:{echo.port}"
                scenario(sshd, f"port {port} already taken on the server", spec, port, echo)
                if not fx.SSH_MODE:
                    # The refused -R does not take a working one down with it.
                    ok_port = fx.free_port()
                    fwd = ["-R", spec, "-R", f"{ok_port}:127.0.0.1:{echo.port}"]
                    what = "a refused -R next to a working -R"
                    with fx.Forwarder(sshd, fwd, wait_remote=False) as fw:
                        fx.check(fw.wait_stderr(lambda ln: "refused to listen" in ln, 5)
                                 is not None, f"{what}: the refusal is reported", fw.stderr())
                        fx.check(fx.wait_listening(ok_port), f"{what}: the server listens on "
                                 f"{ok_port}", fw.stderr())
                        payload = os.urandom(200000)
                        fx.check(fx.echo_roundtrip(ok_port, payload, timeout=20) == payload,
                                 f"{what}: the working -R carries data", fw.stderr())
                        status, err = fw.stop()
                        fx.check(status == 0, f"{what}: exit 0 on SIGTERM",
                                 f"status {status}\n{err}")
                if not fx.SSH_MODE:
                    # Staying up (Reconnect, as profiles and services run): the refusal is
                    # retried with backoff, and once the port is free the server listens.
                    what = "Reconnect=yes, a port the server holds"
                    with fx.Forwarder(sshd, ["-R", spec], wait_remote=False,
                                      extra_args=["-o", "Reconnect=yes"]) as fw:
                        line = fw.wait_stderr(lambda ln: "retrying in" in ln, 5)
                        fx.check(line is not None and "refused to listen" in line and
                                 "may still hold it" in line,
                                 f"{what}: said in plain words, with the retry", fw.stderr())
                        for s in socks:
                            s.close()
                        socks = []
                        fx.check(fx.wait_listening(port, 15) and fw.alive(),
                                 f"{what}: the server listens once the port is free; porthole "
                                 "never exited", fw.stderr())
                        payload = os.urandom(100000)
                        fx.check(fx.echo_roundtrip(port, payload, timeout=20) == payload,
                                 f"{what}: the -R carries data", fw.stderr())
            finally:
                for s in socks:
                    s.close()


if __name__ == "__main__":
    fx.run(main)
