#!/usr/bin/env python3
"""When relay streams are not the way (a real sshd, this build's relay as RelayCommand): the
relay killed mid-transfer resets the local connection (a reset, not an end of file) and the
next connection still works; with OpenVia auto a 1.0 relay (`porthole relay --protocol 1.0`)
and an absent one leave -L on direct-tcpip channels, with no error line when porthole is not
installed on the server, and so does a relay whose allow-list limits streams (RESTRICTED),
while a relay with streams gets the connections; OpenVia=relay resets connections a 1.0 relay
cannot carry rather than opening channels; a stream reset after the far end's end of file
resets the local connection even when it closes last."""

import errno
import os
import socket
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


def relay_killed(sshd, echo, via):
    """The relay killed under a 1 GiB download (OpenVia via): that connection is reset, the
    next ones work (relay: they wait for a new relay; auto: a channel until it is back)."""
    bulk = fx.BulkServer()  # its own: the dead relay's socket errors land here, not in echo
    bport, eport = fx.free_port(), fx.free_port()
    fwd = ["-L", f"{bport}:127.0.0.1:{bulk.port}", "-L", f"{eport}:127.0.0.1:{echo.port}"]
    with bulk, fx.Forwarder(sshd, fwd, extra_args=rt.relay_args(via=via)) as fw:
        fx.check(rt.wait_for(lambda: rt.echo_ok(eport) and rt.counts(sshd)[0] > 0, 15),
                 f"OpenVia {via}: a connection through the relay works")
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


def relay_state(sshd, prefix, what):
    """Waits until status's relay line starts with prefix (the relay ran and said HELLO, so
    what follows is decided by that HELLO, not by a relay still starting); returns it."""
    state = rt.wait_for(lambda: (rt.status(sshd).get("relay") or {}).get("state", "")
                        .startswith(prefix) and rt.status(sshd)["relay"]["state"], 15)
    fx.check(state, f"{what}: status says the relay is '{prefix}...'",
             str(rt.status(sshd).get("relay")))
    return state


def only_channels(sshd, echo, relay_cmd, via, what, state, quiet=False):
    """-L with RelayCommand=relay_cmd and OpenVia=via: connections work and status counts
    every one as a channel, none as a relay stream; status's relay line says state."""
    eport = fx.free_port()
    extra = ["-o", f"RelayCommand={relay_cmd}"] + (["-o", f"OpenVia={via}"] if via else [])
    opened = len(rt.tcpip_channels(sshd))
    with fx.Forwarder(sshd, ["-L", f"{eport}:127.0.0.1:{echo.port}"], extra_args=extra) as fw:
        fx.check(rt.echo_ok(eport), f"{what}: a connection through -L works", fw.stderr())
        relay_state(sshd, state, what)
        good = sum(rt.echo_ok(eport) for _ in range(10))
        fx.check(good == 10, f"{what}: 10 more connections work", fw.stderr())
        relay, channel = rt.counts(sshd)
        fx.check(relay == 0 and channel == 11,
                 f"{what}: status counts all 11 as channels, none as relay streams",
                 f"via_relay {relay}, via_channel {channel}")
        opened = len(rt.tcpip_channels(sshd)) - opened
        fx.check(opened == 11, f"{what}: sshd's log has the 11 direct-tcpip channels",
                 f"{opened} opened")
        if quiet:
            noisy = [line for line in fw.stderr_lines()
                     if "relay" in line.lower() or "error" in line.lower()]
            fx.check(not noisy, f"{what}: no line about the relay or an error", "\n".join(noisy))
        status, err = fw.stop()
        fx.check(status == 0 and "Sanitizer" not in err, f"{what}: porthole exits 0",
                 f"status {status}\n{err}")


def strict_relay(sshd, echo):
    """OpenVia=relay insists: with a relay that does no streams a connection is reset at once
    (not carried by a channel, not left hanging), with a line saying why."""
    eport = fx.free_port()
    extra = rt.relay_args("--protocol", "1.0")
    opened = len(rt.tcpip_channels(sshd))
    with fx.Forwarder(sshd, ["-L", f"{eport}:127.0.0.1:{echo.port}"], extra_args=extra) as fw:
        for _ in range(3):
            closed, how = fx.is_closed_quickly(eport, timeout=15)
            fx.check(closed and "ECONNRESET" in how,
                     "a 1.0 relay with OpenVia=relay: the connection is reset", how)
        line = fw.wait_stderr(lambda l: "OpenVia relay" in l and "reset" in l, 5)
        fx.check(line is not None, "... with a line naming OpenVia relay", fw.stderr())
        relay, channel = rt.counts(sshd)
        fx.check(channel == 0, "... and no channel was opened instead",
                 f"via_relay {relay}, via_channel {channel}")
        fx.check(len(rt.tcpip_channels(sshd)) == opened, "... as sshd's log says")


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


# A relay that answers every stream with "hi" and its end of file, then resets the stream
# when the client's first bytes come: a target that closed and then refused them.
RESET_AFTER_EOF_RELAY = r"""
import os, sys
sys.path.insert(0, %r)
import relayproto as rp
out = sys.stdout.buffer
out.write(rp.hello()); out.flush()
buf = b""
while True:
    chunk = os.read(0, 65536)
    if not chunk:
        break
    frames, buf = rp.decode(buf + chunk)
    for f in frames:
        if f.type == rp.SOPEN:
            out.write(rp.frame(rp.SOPENED, f.flow) + rp.sdata(f.flow, b"hi") + rp.seof(f.flow))
        elif f.type == rp.SDATA:
            out.write(rp.sreset(f.flow, rp.RST_ABORTED, b"the target reset"))
    out.flush()
"""


def reset_after_eof(sshd):
    """The relay resets a stream whose far end already ended (SEOF, then SRESET for our
    bytes), before our own end of file: porthole records a reset, never a clean end, since
    what the application sent did not all arrive. (The application itself cannot be told:
    both FINs have crossed, so the kernels closed the connection already.)"""
    fake = os.path.join(sshd.dir, "reset_after_eof.py")
    with open(fake, "w") as f:
        f.write(RESET_AFTER_EOF_RELAY % os.path.dirname(os.path.abspath(rt.__file__)))
    eport = fx.free_port()
    extra = ["-o", f"RelayCommand=python3 {fake}", "-o", "OpenVia=relay", "-vv"]
    with fx.Forwarder(sshd, ["-L", f"{eport}:127.0.0.1:9"], extra_args=extra) as fw:
        with fx.connect(eport, timeout=15) as s:
            got = fx.recv_all(s)
            fx.check(got == b"hi", "a stream ended by the far end: its bytes, then EOF", repr(got))
            s.sendall(b"x")
            # The SRESET arrives (-vv logs it); nothing tells the link yet.
            fx.check(fw.wait_stderr(lambda l: "SRESET" in l, 10) is not None,
                     "... the relay resets it", fw.stderr())
            s.shutdown(socket.SHUT_WR)
            line = fw.wait_stderr(lambda l: "link 1 " in l and ("reset" in l or "done" in l),
                                  10)
            fx.check(line is not None and "link 1 reset" in line and "the target reset" in line,
                     "... reset after it, before our end of file: the link ends in a reset "
                     "with the relay's reason, not as done", f"{line}\n{fw.stderr()}")


def has_protocol_flag():
    """Whether this relay takes the hidden --protocol 1.0 (it answers HELLO as a 1.0 relay)."""
    p = subprocess.run([fx.porthole_path(), "relay", "--protocol", "1.0"], input=b"",
                       capture_output=True, timeout=10)  # pipes, as under sshd; input ends
    err = p.stderr.decode(errors="replace")
    return p.returncode != 2 and "unknown option" not in err, f"exit {p.returncode}: {err}"


def main():
    fx.skip_in_ssh_mode("relay streams are porthole's own")
    with fx.Sshd(log_level="DEBUG1") as sshd, fx.EchoServer() as echo:
        relay_killed(sshd, echo, "relay")
        relay_killed(sshd, echo, "auto")

        ok, why = has_protocol_flag()
        fx.check(ok, "porthole relay takes --protocol 1.0", why)
        only_channels(sshd, echo, rt.relay_command("--protocol", "1.0"), "auto",
                      "a 1.0 relay, OpenVia auto", "up, no TCP streams")
        strict_relay(sshd, echo)
        only_channels(sshd, echo, "/nonexistent/porthole relay", None,
                      "no relay on the server, OpenVia auto", "not available", quiet=True)
        # RESTRICTED: an allow-list that limits streams sends auto to channels (where sshd's
        # own PermitOpen decides), even to a target the list permits.
        only_channels(sshd, echo, rt.relay_command(f"--permit-open 127.0.0.1:{echo.port}"),
                      "auto", "a relay with --permit-open (RESTRICTED), OpenVia auto",
                      "up, its allow-list")
        auto_uses_streams(sshd, echo)
        reset_after_eof(sshd)
        fx.check(not echo.errors, "the echo server saw no errors", "\n".join(echo.errors))


if __name__ == "__main__":
    fx.run(main, timeout=280)
