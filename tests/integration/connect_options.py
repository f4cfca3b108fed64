#!/usr/bin/env python3
"""ssh's connect options and command-line letters against the fixture's sshd:

-b 127.0.0.2 (sshd logs "Connection from 127.0.0.2"); -4 / -6 against an sshd on 127.0.0.1 and
[::1] (sshd logs which); -C negotiates zlib@openssh.com (porthole -v says so) and 1 MiB of data
crosses intact; an ssh://user@host:port destination; -E appends the log to a file and leaves
stderr empty; BatchMode=yes with an encrypted key and no agent fails at once without a prompt
(exit 255); ConnectTimeout against a listening socket that never sends a banner (fails after
about that long, exit 255, says "banner"); ConnectionAttempts=3 against a refused port tries
three times; a -L to an unresolvable name logs sshd's reason ("connect failed: Name or service
not known")."""

import os
import socket
import subprocess
import time

import fixture as fx


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def run(sshd, args, forwards=(), timeout=30, env=None, **kw):
    """Run porthole to completion (no terminal); return (status, stderr)."""
    return fx.run_forwarder(sshd, list(forwards), env=env, timeout=timeout, extra_args=args, **kw)


def test_bind_address(sshd, echo):
    port = fx.free_port()
    with fx.Forwarder(sshd, ["-L", f"{port}:127.0.0.1:{echo.port}"], extra_args=["-b", "127.0.0.2"]):
        fx.check(fx.echo_roundtrip(port, b"x" * 1000) == b"x" * 1000, "-b: data crosses")
    fx.check("Connection from 127.0.0.2 " in sshd.log(), "-b 127.0.0.2: sshd saw the connection "
             "come from 127.0.0.2", sshd.log()[-2000:])
    st, err = run(sshd, ["-b", "127.0.0.99999"])
    fx.check(st == 255 and "BindAddress 127.0.0.99999" in err,
             "-b with a bad address: exit 255 naming it", f"{st}: {err}")


def test_compression(sshd, echo):
    port = fx.free_port()
    payload = os.urandom(1 << 19) + b"a" * (1 << 19)
    with fx.Forwarder(sshd, ["-L", f"{port}:127.0.0.1:{echo.port}"], extra_args=["-C", "-v"]) as fw:
        fx.check(fx.echo_roundtrip(port, payload) == payload, "-C: 1 MiB crosses intact")
        fx.check("compression zlib@openssh.com" in fw.stderr(),
                 "-C: zlib@openssh.com negotiated", fw.stderr())
    with fx.Forwarder(sshd, ["-L", f"{port}:127.0.0.1:{echo.port}"], extra_args=["-v"]) as fw:
        fx.check("compression none" in fw.stderr(), "without -C: no compression", fw.stderr())


def test_url_and_log_file(sshd, echo):
    port = fx.free_port()
    log = os.path.join(sshd.dir, "porthole.log")
    argv = fx.forwarder_argv(sshd, ["-L", f"{port}:127.0.0.1:{echo.port}"], extra_args=["-E", log])
    argv[-1] = f"ssh://{sshd.user}@{sshd.host}:{sshd.port}"
    i = argv.index("-p")
    del argv[i:i + 2]
    p = subprocess.Popen(argv, env=fx.child_env(sshd), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 15
        while not fx.is_listening(port) or "connected to" not in read(log):
            fx.check(p.poll() is None and time.monotonic() < deadline,
                     "ssh:// destination: porthole connects", read(log))
            time.sleep(0.05)
        fx.check(fx.echo_roundtrip(port, b"url" * 100) == b"url" * 100,
                 "ssh://user@host:port: data crosses")
    finally:
        p.terminate()
        _, err = p.communicate(timeout=10)
    fx.check(err == b"", "-E: nothing on stderr", err)
    fx.check(f"connected to {sshd.host}:{sshd.port}" in read(log),
             "-E: the log file has the log lines")


def test_batch_mode(sshd):
    key = os.path.join(sshd.dir, "id_locked")
    fx.keygen(key, passphrase="secret phrase")
    sshd.add_client_key(key + ".pub")
    t = time.monotonic()
    st, err = run(sshd, ["-o", "BatchMode=yes"], identity=key)
    fx.check(st == 255, "BatchMode, encrypted key, no agent: exit 255", f"{st}: {err}")
    fx.check("BatchMode is yes" in err and len(err.strip().splitlines()) == 1,
             "... one line saying BatchMode kept it from asking", err)
    fx.check(time.monotonic() - t < 20, "... without waiting for a prompt")


def test_connect_timeout(sshd):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts (the kernel does) and never says a word
    port = silent.getsockname()[1]
    t = time.monotonic()
    st, err = run(sshd, ["-o", "ConnectTimeout=2"], port=port)
    took = time.monotonic() - t
    silent.close()
    fx.check(st == 255 and "banner" in err, "ConnectTimeout=2, server silent: exit 255, "
             "timed out during banner exchange", f"{st}: {err}")
    fx.check(1.5 < took < 15, f"... after about 2 s ({took:.1f} s)")


def test_connection_attempts(sshd):
    dead, hold = fx.refused_port()
    t = time.monotonic()
    st, err = run(sshd, ["-v", "-o", "ConnectionAttempts=3"], port=dead)
    took = time.monotonic() - t
    tries = err.count(f"connect to 127.0.0.1:{dead}: Connection refused")
    fx.check(st == 255 and tries == 3, f"ConnectionAttempts=3: three attempts ({tries}), exit "
             "255", err)
    fx.check(took >= 1.8, f"... 1 s apart ({took:.1f} s in all)")
    st, err = run(sshd, ["-v"], port=dead)
    tries = err.count(f"connect to 127.0.0.1:{dead}: Connection refused")
    fx.check(st == 255 and tries == 1, "default: one attempt", err)
    hold.close()


def test_channel_open_reason(sshd):
    port = fx.free_port()
    with fx.Forwarder(sshd, ["-L", f"{port}:nosuch.invalid:80"]) as fw:
        fx.is_closed_quickly(port, timeout=10)
        line = fw.wait_stderr(lambda ln: "nosuch.invalid" in ln and "open failed" in ln, 10)
        fx.check(line is not None and "connect failed: " in line and "(code 2)" in line,
                 "a failed open keeps sshd's reason text and code", fw.stderr())
        fx.check("Name or service not known" in line or "not known" in line.lower() or
                 "resolution" in line.lower(), "... the resolver's words", line)


def test_families():
    """This machine has no name for both loopbacks, so each flag meets an address literal: the
    family it allows connects, the other one is not even tried."""
    import ipv6
    if not ipv6.ipv6_loopback_usable():
        fx.ok("-4/-6: skipped (no IPv6 loopback)")
        return
    with ipv6.Sshd6() as sshd:
        with open(sshd.known_hosts, "a") as f:
            f.write("".join(f"[::1]:{sshd.port} {k}\n" for k in sshd.hostkey_pubs))
        for flag, host, want in (("-4", "127.0.0.1", "Connection from 127.0.0.1 "),
                                 ("-6", "::1", "Connection from ::1 ")):
            sshd.host = host
            before = len(sshd.log())
            with fx.Forwarder(sshd, [], extra_args=[flag]):
                pass
            fx.check(want in sshd.log()[before:], f"{flag} to {host}: sshd saw {host}",
                     sshd.log()[before:])
        for flag, host in (("-4", "::1"), ("-6", "127.0.0.1")):
            sshd.host = host
            st, err = run(sshd, [flag])
            fx.check(st == 255 and "cannot resolve" in err,
                     f"{flag} to {host}: not tried, exit 255", f"{st}: {err}")
        sshd.host = "127.0.0.1"


def main():
    fx.skip_in_ssh_mode()
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        test_bind_address(sshd, echo)
        test_compression(sshd, echo)
        test_url_and_log_file(sshd, echo)
        test_batch_mode(sshd)
        test_connect_timeout(sshd)
        test_connection_attempts(sshd)
        test_channel_open_reason(sshd)
    test_families()


if __name__ == "__main__":
    fx.run(main)
