#!/usr/bin/env python3
"""porthole -O against a running instance, through its control socket: check names the pid;
forward adds -L, -R (port 0 prints the port the server picked) and -D while the other forwards
and their open connections go on; a forward asked for twice is fine; a bad spec is exit 2 and
a port in use exit 1, the instance untouched; cancel stops listening (a -R's port closes on the
server) while connections already open on it keep moving data, and the cancelled forward leaves
status once they end; exit stops it with status 0; stop closes every listener and the instance
exits when its last connection ends; a destination's instance is found by user@host -p port;
-O to nothing running is one line and 255."""

import json
import os
import socket
import struct
import subprocess
import time

import fixture as fx


def porthole(sshd, args, timeout=20):
    p = subprocess.run([fx.porthole_path(), *args], env=fx.child_env(sshd), capture_output=True,
                       text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                       start_new_session=True)
    return p.returncode, p.stdout, p.stderr


def one_line(err):
    return len(err.strip().splitlines()) == 1


def status(sshd, name):
    rc, out, err = porthole(sshd, ["status", name, "--json"])
    fx.check(rc == 0, f"porthole status {name}: exit 0", err)
    return json.loads(out)


def forward_names(st):
    return {f["name"]: f for f in st["forwards"]}


def echo_line(sock, text):
    sock.sendall(text)
    got = b""
    while len(got) < len(text):
        chunk = sock.recv(65536)
        if not chunk:
            break
        got += chunk
    return got


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), 2).close()
        return False
    except OSError:
        return True


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.05)
    return pred()


def udp_associate(sport):
    """One datagram through a SOCKS5 UDP association to a UDP echo server; True if it came back."""
    echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    echo.bind(("127.0.0.1", 0))
    echo.settimeout(10)
    ctl = fx.connect(sport)
    ctl.sendall(b"\x05\x01\x00")
    ctl.recv(2)
    ctl.sendall(b"\x05\x03\x00\x01" + socket.inet_aton("0.0.0.0") + b"\x00\x00")
    reply = ctl.recv(10)
    if len(reply) != 10 or reply[1] != 0:
        return False
    relay = (socket.inet_ntoa(reply[4:8]), struct.unpack(">H", reply[8:10])[0])
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(3)
    header = b"\x00\x00\x00\x01" + socket.inet_aton("127.0.0.1") + \
        struct.pack(">H", echo.getsockname()[1])
    try:
        for _ in range(5):  # the relay starts with the first datagram: retry, UDP style
            u.sendto(header + b"ping", relay)
            try:
                data, addr = echo.recvfrom(100)
                echo.sendto(data, addr)
                got, _ = u.recvfrom(100)
                return got.endswith(b"ping")
            except socket.timeout:
                continue
        return False
    finally:
        u.close()
        ctl.close()
        echo.close()


def write_profile(sshd, path, lport, echo_port):
    with open(path, "w") as f:
        f.write(f"""Profile office
    HostName 127.0.0.1
    Port {sshd.port}
    User {sshd.user}
    IdentityFile {sshd.client_key}
    IdentitiesOnly yes
    UserKnownHostsFile {sshd.known_hosts}
    StrictHostKeyChecking yes
    LocalForward {lport} 127.0.0.1:{echo_port}
    RelayCommand {fx.porthole_path()} relay
""")
    os.chmod(path, 0o600)


def profile_session(sshd, cfg, echo, lport):
    o = ["-F", cfg]
    rc, out, err = porthole(sshd, [*o, "-O", "check", "office"])
    fx.check(rc == 255 and one_line(err) and "no running porthole for office" in err,
             "-O check with nothing running: one line, exit 255", err)
    rc, out, err = porthole(sshd, [*o, "-O", "forward", "-L", f"{fx.free_port()}:x:1", "office"])
    fx.check(rc == 255 and one_line(err), "-O forward with nothing running: exit 255", err)

    fw = fx.Forwarder(sshd, start=False)
    fw.argv = [fx.porthole_path(), "-F", cfg, "office"]
    fw.forward_args = ["-L", f"{lport}:x:1"]
    with fw.start():
        rc, out, err = porthole(sshd, [*o, "-O", "check", "office"])
        fx.check(rc == 0 and err == f"Master running (pid={fw.proc.pid})\n",
                 "-O check: 'Master running (pid=N)' on stderr with the instance's pid, exit 0",
                 err)
        # The socket file name, as porthole status lists it, needs no -F.
        rc, out, err = porthole(sshd, ["-O", "check", "office.sock"])
        fx.check(rc == 0, "-O check by socket file name, as status lists it", err)

        old = fx.connect(lport)
        fx.check(echo_line(old, b"before\n") == b"before\n", "a connection open on the profile's -L")

        # -O forward -L
        lport2 = fx.free_port()
        spec2 = f"{lport2}:127.0.0.1:{echo.port}"
        rc, out, err = porthole(sshd, [*o, "-O", "forward", "-L", spec2, "office"])
        fx.check(rc == 0 and out == "" and err == "", "-O forward -L: silent, exit 0", err)
        fx.check(fx.wait_listening(lport2) and
                 fx.echo_roundtrip(lport2, b"x" * 100000) == b"x" * 100000,
                 "the added -L carries data")
        names = forward_names(status(sshd, "office"))
        fx.check(f"-L {spec2}" in names and f"-L {lport}:127.0.0.1:{echo.port}" in names,
                 "porthole status shows the added forward beside the profile's", str(names))
        rc, out, err = porthole(sshd, [*o, "-O", "forward", "-L", spec2, "office"])
        fx.check(rc == 0, "the same forward again: exit 0 (as ssh)", err)

        # Refusals leave the instance as it was.
        before = sorted(forward_names(status(sshd, "office")))
        rc, out, err = porthole(sshd, [*o, "-O", "forward", "-L", "99999:x:1", "office"])
        fx.check(rc == 2 and one_line(err) and "port out of range" in err,
                 "-O forward with a bad spec: one line, exit 2", err)
        rc, out, err = porthole(sshd, [*o, "-O", "forward", "-L", f"{lport}:elsewhere:1",
                                       "office"])
        fx.check(rc == 1 and one_line(err) and "cannot listen" in err,
                 "-O forward on a port in use: one line naming why, exit 1", err)
        rc, out, err = porthole(sshd, [*o, "-O", "forward", "office"])
        fx.check(rc == 2 and one_line(err) and "needs -L, -R or -D" in err,
                 "-O forward without a forward: exit 2", err)
        rc, out, err = porthole(sshd, [*o, "-O", "cancel", "-L", f"{fx.free_port()}:x:1",
                                       "office"])
        fx.check(rc == 1 and one_line(err) and "no such forward" in err,
                 "-O cancel of a forward that is not there: exit 1", err)
        rc, out, err = porthole(sshd, [*o, "-O", "bogus", "office"])
        fx.check(rc == 2 and one_line(err) and "unknown control command" in err,
                 "-O bogus: exit 2", err)
        fx.check(sorted(forward_names(status(sshd, "office"))) == before and fw.alive(),
                 "after the refusals the instance runs with the same forwards")

        # -O forward -R with port 0: the port on stdout, as ssh prints it.
        rspec = f"0:127.0.0.1:{echo.port}"
        rc, out, err = porthole(sshd, [*o, "-O", "forward", "-R", rspec, "office"])
        fx.check(rc == 0 and out.strip().isdigit(), "-O forward -R 0:...: the port on stdout",
                 out + err)
        rport = int(out)
        fx.check(fx.echo_roundtrip(rport, b"r" * 50000) == b"r" * 50000,
                 f"the server's port {rport} reaches the echo server through the new -R")
        rconn = fx.connect(rport)
        fx.check(echo_line(rconn, b"remote\n") == b"remote\n", "a connection open on the -R")

        # -O forward -D
        dport = fx.free_port()
        rc, out, err = porthole(sshd, [*o, "-O", "forward", "-D", str(dport), "office"])
        fx.check(rc == 0 and fx.wait_listening(dport),
                 "-O forward -D: the SOCKS port listens", err)
        s = fx.connect(dport)
        s.sendall(b"\x05\x01\x00")
        fx.check(s.recv(2) == b"\x05\x00", "... and speaks SOCKS5")
        s.close()
        fx.check(udp_associate(dport), "... with UDP ASSOCIATE through the relay, as at startup")

        # -O cancel -L: no new connections; the open one goes on, the other forward untouched.
        c2 = fx.connect(lport2)
        fx.check(echo_line(c2, b"open\n") == b"open\n", "a connection open on the added -L")
        rc, out, err = porthole(sshd, [*o, "-O", "cancel", "-L", spec2, "office"])
        fx.check(rc == 0 and err == "", "-O cancel -L: silent, exit 0", err)
        fx.check(refused(lport2), "the cancelled -L no longer listens")
        fx.check(echo_line(c2, b"still\n") == b"still\n",
                 "a connection opened before the cancel still carries data (as ssh)")
        fx.check(echo_line(old, b"other\n") == b"other\n",
                 "the connection on the profile's -L is untouched")
        fx.check(fx.echo_roundtrip(lport, b"y" * 1000) == b"y" * 1000,
                 "the profile's -L takes new connections")
        f = forward_names(status(sshd, "office")).get(f"-L {spec2}")
        fx.check(f is not None and f["state"].startswith("cancelled") and f["open"] == 1,
                 "status shows the cancelled -L with its open connection", str(f))
        c2.close()
        fx.check(wait_for(lambda: f"-L {spec2}" not in forward_names(status(sshd, "office"))),
                 "once that connection ends the cancelled forward leaves status")
        rc, out, err = porthole(sshd, [*o, "-O", "cancel", "-L", spec2, "office"])
        fx.check(rc == 1 and "no such forward" in err, "cancelling it twice: exit 1", err)

        # -O cancel -R: the server stops listening; the open connection goes on.
        rc, out, err = porthole(sshd, [*o, "-O", "cancel", "-R", rspec, "office"])
        fx.check(rc == 0, "-O cancel -R: exit 0", err)
        fx.check(wait_for(lambda: refused(rport)),
                 f"the server no longer listens on {rport} (cancel-tcpip-forward)")
        fx.check(echo_line(rconn, b"remote still\n") == b"remote still\n",
                 "the -R connection opened before the cancel still carries data")
        rconn.close()
        old.close()

        rc, out, err = porthole(sshd, [*o, "-O", "exit", "office"])
        fx.check(rc == 0 and err == "Exit request sent.\n", "-O exit: 'Exit request sent.'", err)
        try:
            fw.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        fx.check(fw.proc.returncode == 0, "the instance exits with status 0 after -O exit",
                 str(fw.proc.returncode))
    rc, out, err = porthole(sshd, [*o, "-O", "check", "office"])
    fx.check(rc == 255 and one_line(err), "-O check after it exited: exit 255", err)


def destination_session(sshd, echo):
    """A one-line forward's instance: found by the same destination and -p."""
    lport = fx.free_port()
    with fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}"]) as fw:
        dest = ["-p", str(sshd.port), f"{sshd.user}@127.0.0.1"]
        rc, out, err = porthole(sshd, ["-O", "check", *dest])
        fx.check(rc == 0 and err == f"Master running (pid={fw.proc.pid})\n",
                 "-O check user@host -p port finds the destination's instance", err)
        rc, out, err = porthole(sshd, ["-O", "check", "-p", str(fx.free_port()),
                                       f"{sshd.user}@127.0.0.1"])
        fx.check(rc == 255 and one_line(err), "another port is another destination: 255", err)

        # A second instance of the same destination: -O cannot tell which one is meant.
        lport2 = fx.free_port()
        with fx.Forwarder(sshd, ["-L", f"{lport2}:127.0.0.1:{echo.port}"]) as fw2:
            rc, out, err = porthole(sshd, ["-O", "check", *dest])
            fx.check(rc == 2 and one_line(err) and "several instances" in err,
                     "two instances of one destination: -O says which to name, exit 2", err)
            name = f"{sshd.user}@127.0.0.1:{sshd.port}.{fw2.proc.pid}.sock"
            rc, out, err = porthole(sshd, ["-O", "exit", name])
            fx.check(rc == 0, "-O exit by the socket file name picks that one", err)
            fw2.proc.wait(10)
            fx.check(fw.alive(), "... and the other runs on")

        # -O stop: no new connections, exit once the open ones end.
        conn = fx.connect(lport)
        fx.check(echo_line(conn, b"a\n") == b"a\n", "a connection open before -O stop")
        rc, out, err = porthole(sshd, ["-O", "stop", *dest])
        fx.check(rc == 0 and err == "Stop listening request sent.\n", "-O stop: exit 0", err)
        fx.check(refused(lport), "after -O stop the -L no longer listens")
        fx.check(echo_line(conn, b"b\n") == b"b\n" and fw.alive(),
                 "the open connection goes on and the instance waits for it")
        conn.close()
        try:
            fw.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        fx.check(fw.proc.returncode == 0,
                 "the instance exits with status 0 when its last connection ends",
                 str(fw.proc.returncode))


def pending_session(sshd, cfg, echo):
    """-O forward -R while the session is down: asked for once it is back."""
    fw = fx.Forwarder(sshd, start=False)
    fw.argv = [fx.porthole_path(), "-F", cfg, "-o", "ReconnectMaxDelay=2", "office"]
    with fw.start():
        sshd.stop_server()
        fx.check(fw.wait_stderr(lambda l: "reconnecting in" in l, 15) is not None,
                 "the session is down", fw.stderr())
        rport = fx.free_port()
        rc, out, err = porthole(sshd, ["-F", cfg, "-O", "forward", "-R",
                                       f"{rport}:127.0.0.1:{echo.port}", "office"])
        fx.check(rc == 0 and "asked once it is back" in err,
                 "-O forward -R with the session down: exit 0, a line says it waits", err)
        sshd.start_server()
        fx.check(fx.wait_listening(rport, 30),
                 "once the session is back the server listens on the new -R port")
        fx.check(fx.echo_roundtrip(rport, b"p" * 1000) == b"p" * 1000,
                 "... and it carries data")


def control_path_session(sshd, echo):
    """A profile with its own ControlPath: -O finds the instance there."""
    cfg = os.path.join(sshd.dir, "cp.conf")
    sock = os.path.join(sshd.dir, "cp-ctl.sock")
    lport = fx.free_port()
    write_profile(sshd, cfg, lport, echo.port)
    with open(cfg, "a") as f:
        f.write(f"    ControlPath {sock}\n")
    fw = fx.Forwarder(sshd, start=False)
    fw.argv = [fx.porthole_path(), "-F", cfg, "office"]
    fw.forward_args = ["-L", f"{lport}:x:1"]
    with fw.start():
        rc, out, err = porthole(sshd, ["-F", cfg, "-O", "check", "office"])
        fx.check(rc == 0 and f"pid={fw.proc.pid}" in err and os.path.exists(sock),
                 "-O check finds an instance at its ControlPath", err)
        rc, out, err = porthole(sshd, ["-F", cfg, "-O", "exit", "office"])
        fx.check(rc == 0, "-O exit through the ControlPath", err)
        try:
            fw.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        fx.check(fw.proc.returncode == 0, "... and it exits 0", str(fw.proc.returncode))


def main():
    fx.skip_in_ssh_mode("-O on a running instance is porthole's own")
    with fx.Sshd() as sshd, fx.EchoServer() as echo:
        cfg = os.path.join(sshd.dir, "porthole.conf")
        lport = fx.free_port()
        write_profile(sshd, cfg, lport, echo.port)
        profile_session(sshd, cfg, echo, lport)
        destination_session(sshd, echo)
        control_path_session(sshd, echo)
        pending_session(sshd, cfg, echo)


if __name__ == "__main__":
    fx.run(main)
