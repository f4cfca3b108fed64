#!/usr/bin/env python3
"""When relay streams are not the way (a real sshd, this build's relay as RelayCommand): the
relay killed mid-transfer resets the local connection (a reset, not an end of file) and the
next connection still works; a 1.0 relay (`porthole relay --protocol 1.0`) and an absent one
leave -L on direct-tcpip channels; OpenVia=auto uses streams when the relay has them and
channels when the relay's allow-list limits streams (RESTRICTED), with no error line when
porthole is not installed on the server."""

import errno
import os
import subprocess

import fixture as fx
import relaytcp as rt

BIG = 1 << 30  # a download that is far from done when the relay dies


def read_until_end(s, limit):
    """Read until EOF, a reset or limit bytes: ("eof" | "reset" | "limit", bytes read)."""
    n = 0
    while n < limit:
        try:
            b = s.recv(fx.CHUNK)
        except ConnectionResetError:
            return "reset", n
        except OSError as e:
            if e.errno in (errno.ECONNRESET, errno.EPIPE):
                return "reset", n
            raise
        if not b:
            return "eof", n
        n += len(b)
    return "limit", n


def relay_killed(sshd, echo):
    bulk = fx.BulkServer()  # its own: the dead relay's socket errors land here, not in echo
    bport, eport = fx.free_port(), fx.free_port()
    fwd = ["-L", f"{bport}:127.0.0.1:{bulk.port}", "-L", f"{eport}:127.0.0.1:{echo.port}"]
    with bulk, fx.Forwarder(sshd, fwd, extra_args=rt.relay_args()) as fw:
        fx.check(rt.echo_ok(eport), "a connection through the relay works")
        with fx.connect(bport, timeout=60) as s:
            s.sendall(f"DOWNLOAD {BIG} 7\n".encode())
            how, n = read_until_end(s, 8 << 20)
            fx.check(how == "limit", "a 1 GiB download is under way", f"{how} after {n} bytes")
            pids = rt.kill_relays(sshd)
            fx.check(len(pids) == 1, f"found and killed the relay process ({pids})")
            how, more = read_until_end(s, BIG)
        fx.check(how == "reset", "the local connection of the cut stream gets a reset, not EOF",
                 f"{how} after {n + more} of {BIG} bytes")
        fx.check(rt.echo_ok(eport),
                 "the next connection works (a channel, or a new relay)", fw.stderr())
        fx.check(rt.echo_ok(eport), "... and the one after it", fw.stderr())
        fx.check(fw.alive(), "porthole still running", fw.stderr())
        status, err = fw.stop()
        fx.check(status == 0 and "Sanitizer" not in err, "porthole exits 0 on SIGTERM",
                 f"status {status}\n{err}")


def relay_is_up(sshd):
    """Waits until the relay runs and, if status shows the relay, until it says "up" (so that
    what follows is decided by the relay's HELLO, not by a relay still starting)."""
    fx.check(rt.wait_for(lambda: rt.relay_pids(sshd), 15), "the relay was started")
    if "relay" in rt.status(sshd):
        fx.check(rt.wait_for(lambda: rt.status(sshd)["relay"]["state"] == "up", 15),
                 "status says the relay is up", str(rt.status(sshd).get("relay")))


def only_channels(sshd, echo, relay_cmd, via, what, quiet=False, wait_relay=True):
    """-L with RelayCommand=relay_cmd and OpenVia=via: 10 connections work and status counts
    every one as a channel, none as a relay stream."""
    eport = fx.free_port()
    extra = ["-o", f"RelayCommand={relay_cmd}"] + (["-o", f"OpenVia={via}"] if via else [])
    with fx.Forwarder(sshd, ["-L", f"{eport}:127.0.0.1:{echo.port}"], extra_args=extra) as fw:
        fx.check(rt.echo_ok(eport), f"{what}: a connection through -L works", fw.stderr())
        if wait_relay:
            relay_is_up(sshd)
        good = sum(rt.echo_ok(eport) for _ in range(10))
        fx.check(good == 10, f"{what}: 10 more connections work", fw.stderr())
        relay, channel = rt.counts(sshd)
        fx.check(relay == 0 and channel == 11,
                 f"{what}: status counts all 11 as channels, none as relay streams",
                 f"via_relay {relay}, via_channel {channel}")
        if quiet:
            noisy = [line for line in fw.stderr_lines()
                     if "relay" in line.lower() or "error" in line.lower()]
            fx.check(not noisy, f"{what}: no line about the relay or an error", "\n".join(noisy))
        status, err = fw.stop()
        fx.check(status == 0 and "Sanitizer" not in err, f"{what}: porthole exits 0",
                 f"status {status}\n{err}")


def auto_uses_streams(sshd, echo):
    """OpenVia unset (auto) and a relay that does streams: connections move to streams once the
    relay is up (the first ones may take a channel while it starts), all of them intact."""
    eport = fx.free_port()
    extra = ["-o", f"RelayCommand={rt.relay_command()}"]
    with fx.Forwarder(sshd, ["-L", f"{eport}:127.0.0.1:{echo.port}"], extra_args=extra) as fw:
        fails = []

        def one_via_relay():
            if not rt.echo_ok(eport):
                fails.append(1)
            return rt.counts(sshd)[0] > 0

        fx.check(rt.wait_for(one_via_relay, 20, step=0.1),
                 "OpenVia auto (the default): connections go over relay streams", fw.stderr())
        fx.check(not fails, "... and every connection on the way there worked")
        before = rt.counts(sshd)
        fx.check(all(rt.echo_ok(eport) for _ in range(5)), "five more work")
        after = rt.counts(sshd)
        fx.check(after[0] == before[0] + 5 and after[1] == before[1],
                 "... each over a relay stream", f"before {before}, after {after}")
        fw.stop()


def has_protocol_flag():
    """Whether this relay takes the hidden --protocol 1.0 (it answers HELLO as a 1.0 relay)."""
    p = subprocess.run([fx.porthole_path(), "relay", "--protocol", "1.0"], input=b"",
                       capture_output=True, timeout=10)  # pipes, as under sshd; input ends
    err = p.stderr.decode(errors="replace")
    return p.returncode != 2 and "unknown option" not in err, f"exit {p.returncode}: {err}"


def main():
    fx.skip_in_ssh_mode("relay streams are porthole's own")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        relay_killed(sshd, echo)

        ok, why = has_protocol_flag()
        fx.check(ok, "porthole relay takes --protocol 1.0", why)
        only_channels(sshd, echo, rt.relay_command("--protocol", "1.0"), "relay",
                      "a 1.0 relay with OpenVia=relay")
        only_channels(sshd, echo, "/nonexistent/porthole relay", None,
                      "no relay on the server, OpenVia auto", quiet=True, wait_relay=False)
        # RESTRICTED: an allow-list that limits streams sends auto to channels (where sshd's
        # own PermitOpen decides), even to a target the list permits.
        only_channels(sshd, echo, rt.relay_command(f"--permit-open 127.0.0.1:{echo.port}"),
                      "auto", "a relay with --permit-open (RESTRICTED), OpenVia auto")
        auto_uses_streams(sshd, echo)
        fx.check(not echo.errors, "the echo server saw no errors", "\n".join(echo.errors))


if __name__ == "__main__":
    fx.run(main, timeout=280)
