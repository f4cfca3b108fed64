#!/usr/bin/env python3
"""Remote tech support across a NAT, in network namespaces (DESIGN.md, use 3).

Four namespaces this test makes (and always deletes, also on SIGTERM):

    family 10.77.1.2 --lan0-- router --wan0-- jump 10.77.2.2 (sshd, porthole relay)
                                     --wan1-- helper 10.77.3.2

The router masquerades the family's LAN on the way out and lets nothing in but replies
(nftables). The family machine runs a VNC-like TCP echo on 0.0.0.0:5900 and a UDP echo on
0.0.0.0:3283 and `porthole helper`, a profile with RemoteForward 5900 and 3283/udp to the
jump host; the helper runs `porthole mum` with the matching LocalForwards. Checked: TCP and
UDP cross helper -> jump -> family; the helper cannot reach the family directly; after the
family's line goes dead for longer than the dead-peer time and comes back, both work again
end to end without anyone touching either porthole; `porthole status --json` on the family
side counts the reconnect and exactly the traffic that crossed.
Needs root, iproute2 and nftables; otherwise it is skipped (exit 77).
"""

import json
import os
import socket
import subprocess
import time

import fixture as fx
import netns

FAMILY, ROUTER_LAN = "10.77.1.2", "10.77.1.1"
JUMP, ROUTER_JUMP = "10.77.2.2", "10.77.2.1"
HELPER, ROUTER_HELPER = "10.77.3.2", "10.77.3.1"
VNC, ARD = 5900, 3283  # the family's screen sharing: TCP 5900, UDP 3283
OUTAGE_S = 6.0  # > ServerAliveInterval 1 x CountMax 3, and > the jump's ClientAlive 1 x 3
RECOVER_S = 30.0

NAT_RULES = """
table ip porthole_nat {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr 10.77.1.0/24 oifname != "lan0" masquerade
    }
}
table inet porthole_fw {
    chain forward {
        type filter hook forward priority filter; policy accept;
        oifname "lan0" ct state established,related accept
        oifname "lan0" drop
    }
}
"""


def build(net):
    fam, rtr, jump, helper = (net.add(r) for r in ("family", "router", "jump", "helper"))
    net.link(fam, "eth0", f"{FAMILY}/24", rtr, "lan0", f"{ROUTER_LAN}/24")
    net.link(jump, "eth0", f"{JUMP}/24", rtr, "wan0", f"{ROUTER_JUMP}/24")
    net.link(helper, "eth0", f"{HELPER}/24", rtr, "wan1", f"{ROUTER_HELPER}/24")
    net.route(fam, "default", ROUTER_LAN)
    net.route(jump, "default", ROUTER_JUMP)
    net.route(helper, "default", ROUTER_HELPER)
    net.forwarding(rtr)
    net.nft(rtr, NAT_RULES)
    return fam, rtr, jump, helper


def side_dir(sshd, name):
    """A HOME and XDG_RUNTIME_DIR of its own for each side's porthole."""
    d = os.path.join(sshd.dir, name)
    home, run = os.path.join(d, "home"), os.path.join(d, "run")
    for p in (d, home, run):
        os.makedirs(p, 0o700, exist_ok=True)
    return d, {"HOME": home, "XDG_RUNTIME_DIR": run}


def write_profile(path, name, sshd, key, body):
    with open(path, "w") as f:
        f.write(f"""# written by tech_support.py
Profile {name}
    HostName {JUMP}
    Port {sshd.port}
    User {sshd.user}
    IdentityFile {key}
    IdentitiesOnly yes
    UserKnownHostsFile {sshd.known_hosts}
    StrictHostKeyChecking yes
""" + "".join(f"    {line}\n" for line in body))
    os.chmod(path, 0o600)


def status_json(env, name):
    p = subprocess.run([fx.porthole_path(), "status", name, "--json"],
                       env=env, capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise fx.TestFailure(f"porthole status {name} --json: exit {p.returncode}: {p.stderr}")
    return json.loads(p.stdout)


def udp_exchange(sock, seq, payload, tries=1, wait=1.0):
    """Send seq+payload to the helper's 127.0.0.1:ARD; True once the same datagram is back.
    Stale replies to earlier sequence numbers are skipped."""
    msg = b"%08d" % seq + payload
    for _ in range(tries):
        sock.sendto(msg, ("127.0.0.1", ARD))
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data, _ = sock.recvfrom(65535)
            except socket.timeout:
                break
            if data == msg:
                return True
    return False


class Traffic:
    """What the helper got through, end to end (the family's counters must match it)."""

    def __init__(self, helper_ns):
        self.ns = helper_ns
        self.tcp_bytes = self.tcp_conns = 0
        self.udp_bytes = self.udp_datagrams = 0
        self.seq = 0
        self.udp = netns.udp_socket(helper_ns)
        self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)

    def tcp(self, payload):
        got = netns.echo_once(self.ns, "127.0.0.1", VNC, payload, timeout=5)
        if got == payload:
            self.tcp_bytes += len(payload)
            self.tcp_conns += 1
            return True
        return False

    def udp_roundtrip(self, payload, tries=3, wait=1.0):
        self.seq += 1
        if udp_exchange(self.udp, self.seq, payload, tries, wait):
            self.udp_bytes += 8 + len(payload)
            self.udp_datagrams += 1
            return True
        return False


def main():
    fx.skip_in_ssh_mode("the scenario runs porthole profiles")
    fx.porthole_path()
    with netns.Net("sc") as net:
        fam, rtr, jump, helper = build(net)
        extra = ["ClientAliveInterval 1", "ClientAliveCountMax 3"]
        with fx.Sshd(host=JUMP, netns=jump, extra_config=extra) as sshd:
            echo = netns.CountingEcho(fam, "0.0.0.0", VNC, ARD)
            try:
                run(net, sshd, echo, fam, rtr, jump, helper)
            finally:
                echo.close()


def run(net, sshd, echo, fam, rtr, jump, helper):
    relay = f"{fx.porthole_path()} relay"
    # The helper has a key of its own; the family machine uses the fixture's.
    fdir, fenv = side_dir(sshd, "family")
    hdir, henv = side_dir(sshd, "helper")
    hkey = os.path.join(hdir, "id_ed25519")
    fx.keygen(hkey, comment="helper")
    sshd.add_client_key(hkey + ".pub")
    fcfg, hcfg = os.path.join(fdir, "config"), os.path.join(hdir, "config")
    write_profile(fcfg, "helper", sshd, sshd.client_key, [
        f"RemoteForward {VNC} 127.0.0.1:{VNC}",
        f"RemoteForward {ARD} 127.0.0.1:{ARD}/udp",
        "ServerAliveInterval 1", "ServerAliveCountMax 3", "ReconnectMaxDelay 2",
        f"RelayCommand {relay}"])
    write_profile(hcfg, "mum", sshd, hkey, [
        f"LocalForward {VNC} 127.0.0.1:{VNC}",
        f"LocalForward {ARD} 127.0.0.1:{ARD}/udp",
        f"RelayCommand {relay}"])

    # ---- the NAT: the family's services are up, but not reachable from outside.
    with netns.connect(rtr, FAMILY, VNC, timeout=2):
        pass
    fx.ok("the family's VNC-like server answers on its LAN (from the router)")
    try:
        netns.connect(helper, FAMILY, VNC, timeout=1.5).close()
        reached = True
    except OSError:
        reached = False
    fx.check(not reached, "the helper cannot connect to the family machine directly (NAT)")
    s = netns.udp_socket(helper, timeout=1.0)
    with s:
        s.sendto(b"direct?", (FAMILY, ARD))
        try:
            s.recvfrom(100)
            reached = True
        except OSError:
            reached = False
    fx.check(not reached and echo.counts()["datagrams"] == 0,
             "... nor send it a UDP datagram directly")
    base = echo.counts()

    ffw = netns.porthole_in(fam, sshd, ["-v", "-F", fcfg, "helper"], env=fenv)
    hfw = netns.porthole_in(helper, sshd, ["-v", "-F", hcfg, "mum"], env=henv)
    with ffw, hfw:
        fx.check(netns.wait_listening(sshd.proc.pid, VNC),
                 f"the jump host listens on {VNC} for the family machine", ffw.stderr())
        fx.check(netns.wait_listening(hfw.proc.pid, VNC),
                 f"the helper's porthole listens on {VNC}", hfw.stderr())
        fx.check(f"Connection from {ROUTER_JUMP} " in sshd.log() and
                 f"from {FAMILY} " not in sshd.log(),
                 f"the jump host sees the family machine as the router's {ROUTER_JUMP} "
                 "(masquerade)", sshd.log()[-2000:])

        t = Traffic(helper)
        for size in (1, 5000, 300000):
            fx.check(t.tcp(os.urandom(size)),
                     f"TCP helper -> jump -> family -> back, {size} bytes")
        ok = False
        deadline = time.monotonic() + 10  # the relay and its BIND may still be on the way
        while not ok and time.monotonic() < deadline:
            ok = t.udp_roundtrip(b"hello family", tries=1, wait=0.5)
        fx.check(ok, "UDP helper -> jump -> family -> back", ffw.stderr() + hfw.stderr())
        for size in (100, 1400, 8000):
            fx.check(t.udp_roundtrip(os.urandom(size)), f"a {size}-byte datagram, both ways")

        # ---- the family's line goes dead, then comes back.
        net.set_link(rtr, "lan0", False)
        t_down = time.monotonic()
        line = ffw.wait_stderr(lambda l: "not responding" in l, OUTAGE_S)
        fx.check(line is not None, f"the family's porthole notices the dead line "
                 f"({time.monotonic() - t_down:.1f} s)", ffw.stderr())
        time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - t_down)))
        net.set_link(rtr, "lan0", True)
        t_up = time.monotonic()
        fx.ok(f"the line was down {t_up - t_down:.1f} s")

        tcp_ok = udp_ok = False
        tcp_at = udp_at = None
        deadline = t_up + RECOVER_S
        while not (tcp_ok and udp_ok) and time.monotonic() < deadline:
            if not tcp_ok and t.tcp(b"are you back? " * 100):
                tcp_ok, tcp_at = True, time.monotonic() - t_up
            if not udp_ok and t.udp_roundtrip(b"are you back?", tries=1, wait=0.3):
                udp_ok, udp_at = True, time.monotonic() - t_up
            time.sleep(0.1)
        detail = (f"--- family porthole ---\n{ffw.stderr()}--- helper porthole ---\n"
                  f"{hfw.stderr()}")
        fx.check(tcp_ok, f"TCP works end to end again ({tcp_at and f'{tcp_at:.1f}'} s after "
                 "the line came back)", detail)
        fx.check(udp_ok, f"UDP works end to end again ({udp_at and f'{udp_at:.1f}'} s after "
                 "the line came back), through the same client socket", detail)
        for size in (10, 200000):
            fx.check(t.tcp(os.urandom(size)), f"TCP {size} bytes after the outage")
        fx.check(t.udp_roundtrip(os.urandom(1200)), "UDP 1200 bytes after the outage")
        fx.check(ffw.alive() and hfw.alive(), "neither porthole exited or was restarted")

        # ---- what porthole status says on the family side.
        st = status_json(dict(fx.child_env(sshd), **fenv), "helper")
        fx.check(st["session"]["state"] == "ready" and st["session"]["reconnects"] >= 1,
                 f"status: session ready after {st['session']['reconnects']} reconnect(s)",
                 json.dumps(st, indent=1))
        srv = echo.counts()
        srv = {k: srv[k] - base[k] for k in srv}
        tcpf = [f for f in st["forwards"] if not f["udp"]]
        udpf = [f for f in st["forwards"] if f["udp"]]
        fx.check(len(tcpf) == 1 and len(udpf) == 1, "status lists the TCP and the UDP forward",
                 json.dumps(st, indent=1))
        tf, uf = tcpf[0], udpf[0]
        fx.check(tf["bytes_down"] == t.tcp_bytes == srv["rx"] and
                 tf["bytes_up"] == t.tcp_bytes == srv["tx"],
                 f"TCP counters match the traffic: {t.tcp_bytes} bytes each way",
                 f"status {tf}, helper got back {t.tcp_bytes}, family server {srv}")
        fx.check(tf["total"] == t.tcp_conns == srv["conns"] and tf["open"] == 0,
                 f"TCP connections counted: {t.tcp_conns}", f"status {tf}, server {srv}")
        fx.check(uf["bytes_down"] == srv["udp_rx"] and uf["bytes_up"] == srv["udp_tx"] and
                 uf["bytes_up"] >= t.udp_bytes,
                 f"UDP counters match the traffic: {uf['bytes_down']} bytes to the family "
                 f"machine, {uf['bytes_up']} back ({t.udp_bytes} of them seen by the helper)",
                 f"status {uf}, family server {srv}")
        hst = status_json(dict(fx.child_env(sshd), **henv), "mum")
        fx.check(hst["session"]["reconnects"] == 0, "the helper's session never dropped")

        fx.check(ffw.stop()[0] == 0, "family porthole: SIGTERM, exit 0")
        fx.check(hfw.stop()[0] == 0, "helper porthole: SIGTERM, exit 0")


if __name__ == "__main__":
    fx.run(main, timeout=240)
