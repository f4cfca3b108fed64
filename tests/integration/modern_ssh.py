#!/usr/bin/env python3
"""porthole against modern OpenSSH servers, what libssh2 1.11.1 is for: an ssh-audit hardened
sshd whose log shows strict kex (Terrapin, CVE-2023-48795); gcm-only and etm-only servers;
RSA-only and ECDSA-only host keys; RSA user keys (file and agent) signing with rsa-sha2; an
ed25519 user certificate beside its key, through CertificateFile and from ssh-agent, the plain
key not authorized; -c, -m and -o Ciphers / MACs / KexAlgorithms / HostKeyAlgorithms (with the
+, -, ^ prefixes) deciding what the server picks; and negotiations porthole cannot win: exit 255
and one "porthole: " line naming the category, the server's offer and porthole's.

Every case has an sshd of its own and checks that a -L forward carries data; what was negotiated
is read from sshd's log (LogLevel DEBUG: "kex: client->server cipher: X MAC: Y ...").
PORTHOLE_TEST_WITH_SSH=1 runs the same cases with `ssh -N`, which proves the server
configurations (checks of porthole's own output are left out there; a refusal ssh could win is
provoked by giving ssh a list without the algorithm). Arguments: names of cases to run (default:
all)."""

import os
import re
import shutil
import sys

import fixture as fx

PAYLOAD = 64 * 1024
RUN_TIMEOUT = 10.0

HARDENED = [
    "KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256",
    "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,"
    "aes256-ctr",
    "MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com",
    "HostKeyAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256",
]
GCM = {"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"}
RSA_SHA2 = {"rsa-sha2-512", "rsa-sha2-256"}
CERT_ID = "porthole-test-cert"

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


class NotRun(Exception):
    """This case does not run: it does not apply in ssh mode, or the environment lacks a tool
    (environment=True: counted as a skip of the whole test)."""

    def __init__(self, reason, environment=False):
        super().__init__(reason)
        self.environment = environment


def porthole_only(reason):
    if fx.SSH_MODE:
        raise NotRun(f"ssh mode: {reason}")


def need_agent():
    missing = fx.agent_tools_missing()
    if missing:
        raise NotRun(f"{missing} not installed", environment=True)


def offered(kind):
    """porthole's offer for kind (kex, hostkey, cipher, mac) as `porthole -V` prints it."""
    names = fx.porthole_info()["offered"].get(kind)
    if not names:
        raise fx.TestFailure(f"porthole -V has no 'offered {kind}:' line:\n"
                             + fx.porthole_info()["text"])
    return names


# ---------------------------------------------------------------- reading sshd's log

_NEGOTIATED = [
    ("kex", re.compile(r"kex: algorithm: (\S+)")),
    ("hostkey", re.compile(r"kex: host key algorithm: (\S+)")),
    ("cipher mac", re.compile(r"kex: client->server cipher: (\S+) MAC: (\S+)")),
    ("cipher_sc mac_sc", re.compile(r"kex: server->client cipher: (\S+) MAC: (\S+)")),
]


def negotiated(log):
    """What sshd (LogLevel DEBUG or more) says the last key exchange in its log chose: kex,
    hostkey, cipher, mac (client->server), cipher_sc, mac_sc; "<implicit>" for an AEAD's MAC."""
    got = {}
    for line in log.splitlines():
        for keys, rx in _NEGOTIATED:
            m = rx.search(line)
            if m:
                got.update(zip(keys.split(), m.groups()))
    return got


def client_kex_offer(log):
    """The kex names of the client's last KEXINIT as sshd (DEBUG2 or more) logs it:
    "peer client KEXINIT proposal" then "KEX algorithms: a,b,... [preauth]"."""
    offer = None
    peer = False
    for line in log.splitlines():
        if "peer client KEXINIT proposal" in line:
            peer = True
        elif peer and "KEX algorithms: " in line:
            offer = line.split("KEX algorithms: ", 1)[1].split()[0].split(",")
            peer = False
    return offer or []


def kex_lines(log):
    lines = [ln for ln in log.splitlines() if re.search(r"\bkex|KEX|strict", ln)]
    return "\n".join(lines) or log[-2000:]


def chose(log, what, **allowed):
    """sshd's log names, for each kind (kex, hostkey, cipher, mac), one of the allowed names;
    cipher and mac are checked in both directions."""
    got = negotiated(log)
    for kind, names in allowed.items():
        names = {names} if isinstance(names, str) else set(names)
        kinds = [kind, kind + "_sc"] if kind in ("cipher", "mac") else [kind]
        values = {got.get(k) for k in kinds}
        fx.check(len(values) == 1 and values <= names,
                 f"{what}: sshd chose {kind} {' / '.join(sorted(map(str, values)))}",
                 f"wanted one of {sorted(names)}; sshd's kex lines:\n{kex_lines(log)}")


def accepted_line(log, user):
    lines = [ln for ln in log.splitlines() if f"Accepted publickey for {user} " in ln]
    return lines[-1] if lines else ""


# ---------------------------------------------------------------- running the forwarder


def forward_works(sshd, what, **opts):
    """The forwarder connects through sshd, a -L forward carries PAYLOAD random bytes to an
    echo server and back intact, and (porthole mode) SIGTERM ends it with exit 0. Returns sshd's
    log. opts go to fx.Forwarder (extra_args, identity, env...)."""
    with fx.EchoServer() as echo:
        lport = fx.free_port()
        try:
            fw = fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.port}"], **opts)
        except fx.TestFailure as e:
            raise fx.TestFailure(f"{what}: did not connect: {e}")
        with fw:
            payload = os.urandom(PAYLOAD)
            got = fx.echo_roundtrip(lport, payload, timeout=20)
            fx.check(got == payload, f"{what}: connected, the -L forward carries "
                     f"{PAYLOAD // 1024} KiB intact", f"sent {len(payload)}, got {len(got)}")
            status, err = fw.stop()
            if not fx.SSH_MODE:
                fx.check(status == 0, f"{what}: exit 0 on SIGTERM", f"status {status}\n{err}")
    return sshd.log()


def refused(sshd, what, category, theirs, ours, **opts):
    """The forwarder cannot agree on category with sshd: exit 255. porthole mode: stderr is one
    line, starting "porthole: ", with the category, a name the server offered (theirs) and one
    porthole offers (ours). ssh mode: ssh's "no matching <category> found. Their offer: ..."."""
    status, err = fx.run_forwarder(sshd, ["-L", f"{fx.free_port()}:127.0.0.1:9"],
                                   timeout=RUN_TIMEOUT, **opts)
    detail = f"status {status}, stderr:\n{err}"
    fx.check(status == 255, f"{what}: exit 255", detail)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    cat = re.compile(r"\b" + re.escape(category) + r"\b", re.I)
    if fx.SSH_MODE:
        hits = [ln for ln in lines if cat.search(ln) and set(names_in(ln)) & set(theirs)]
        fx.check(hits, f"{what}: ssh says no matching {category}, with the server's offer", detail)
        return
    fx.check(len(lines) == 1 and lines[0].startswith("porthole: "),
             f"{what}: stderr is one line starting 'porthole: '", detail)
    line = lines[0]
    names = set(names_in(line))
    fx.check(cat.search(line), f"{what}: the line names the category '{category}'", detail)
    fx.check(names & set(theirs), f"{what}: ... and what the server offered {theirs}", detail)
    fx.check(names & set(ours), f"{what}: ... and what porthole offers {ours}", detail)


def names_in(line):
    return re.findall(r"[A-Za-z0-9][A-Za-z0-9@._+-]*[A-Za-z0-9]", line)


# ---------------------------------------------------------------- the cases: servers


@case
def hardened_server():
    """ssh-audit's hardening: connects, and both ends agreed on strict kex."""
    what = "ssh-audit hardened server"
    with fx.Sshd(hostkey_types=("ed25519", "rsa"), extra_config=HARDENED,
                 log_level="DEBUG3") as sshd:
        log = forward_works(sshd, what)
        chose(log, what, kex={"sntrup761x25519-sha512@openssh.com", "curve25519-sha256"},
              hostkey={"ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"},
              cipher={"chacha20-poly1305@openssh.com", *GCM, "aes256-ctr"})
        fx.check("kex-strict-c-v00@openssh.com" in client_kex_offer(log),
                 "hardened: the client's KEXINIT offers kex-strict-c-v00@openssh.com",
                 kex_lines(log))
        strict = [ln for ln in log.splitlines() if "will use strict KEX ordering" in ln]
        fx.check(strict, "hardened: sshd logs 'kex_choose_conf: will use strict KEX ordering'",
                 kex_lines(log))
        if not fx.SSH_MODE:
            fx.check(fx.porthole_info()["strict_kex"] is True,
                     "porthole -V: 'strict kex (CVE-2023-48795): yes'", fx.porthole_info()["text"])


@case
def gcm_only():
    what = "server with only aes-gcm ciphers"
    with fx.Sshd(extra_config=["Ciphers aes128-gcm@openssh.com,aes256-gcm@openssh.com"],
                 log_level="DEBUG") as sshd:
        chose(forward_works(sshd, what), what, cipher=GCM, mac="<implicit>")


@case
def etm_only_ctr():
    what = "server with aes128-ctr and only hmac-sha2-256-etm"
    with fx.Sshd(extra_config=["Ciphers aes128-ctr", "MACs hmac-sha2-256-etm@openssh.com"],
                 log_level="DEBUG") as sshd:
        chose(forward_works(sshd, what), what, cipher="aes128-ctr",
              mac="hmac-sha2-256-etm@openssh.com")


@case
def rsa_host_key_only():
    what = "server with only an RSA host key"
    with fx.Sshd(hostkey_types=("rsa",), log_level="DEBUG") as sshd:
        chose(forward_works(sshd, what), what, hostkey=RSA_SHA2)


@case
def ecdsa_host_key_only():
    what = "server with only an ECDSA host key"
    with fx.Sshd(hostkey_types=("ecdsa",), log_level="DEBUG") as sshd:
        chose(forward_works(sshd, what), what, hostkey="ecdsa-sha2-nistp256")


def first_cipher():
    """porthole's first choice: aes128-gcm with the libssh2 scripts/libssh2 builds (bulk
    crypt), chacha20-poly1305 with a stock one; ssh's is chacha20-poly1305."""
    if not fx.SSH_MODE and fx.porthole_info()["bulk_crypt"]:
        return "aes128-gcm@openssh.com"
    return "chacha20-poly1305@openssh.com"


@case
def default_choice():
    """Against sshd's defaults porthole's first choice wins (first_cipher)."""
    what = "default options against a default sshd"
    with fx.Sshd(log_level="DEBUG") as sshd:
        chose(forward_works(sshd, what), what, cipher=first_cipher())


# ---------------------------------------------------------------- the cases: user keys


def rsa_signed(log, what, sshd, pub):
    fp = fx.fingerprint(pub)
    acc = accepted_line(log, sshd.user)
    fx.check(f"ssh2: RSA {fp}" in acc, f"{what}: sshd accepted the RSA key ({fp})",
             acc or log[-2000:])
    m = re.search(r"publickey RSA signature using (\S+) verified", log)
    fx.check(m and m.group(1) in RSA_SHA2,
             f"{what}: sshd logs 'publickey RSA signature using {m.group(1) if m else '?'} "
             "verified'", "\n".join(ln for ln in log.splitlines() if "signature" in ln))


@case
def rsa_user_key_file():
    what = "RSA user key from a file"
    with fx.Sshd(log_level="DEBUG3") as sshd:
        key = os.path.join(sshd.dir, "id_rsa_user")
        fx.keygen(key, "rsa")
        sshd.add_client_key(key + ".pub")
        rsa_signed(forward_works(sshd, what, identity=key), what, sshd, key + ".pub")


@case
def rsa_user_key_agent():
    need_agent()
    what = "RSA user key from ssh-agent"
    with fx.Sshd(log_level="DEBUG3") as sshd, fx.Agent(sshd.dir) as agent:
        key = os.path.join(sshd.dir, "id_rsa_agent")
        fx.keygen(key, "rsa")
        sshd.add_client_key(key + ".pub")
        r = agent.add(key)
        fx.check(r.returncode == 0, f"{what}: ssh-add loaded it", r.stdout)
        log = forward_works(sshd, what, identity=None, identities_only=False, env=agent.env())
        rsa_signed(log, what, sshd, key + ".pub")


def cert_accepted(log, what, sshd, key):
    """sshd's 'Accepted publickey ... ED25519-CERT SHA256:... ID porthole-test-cert ...'."""
    acc = accepted_line(log, sshd.user)
    fp = fx.fingerprint(key + ".pub")
    fx.check(f"ssh2: ED25519-CERT {fp} ID {CERT_ID} " in acc,
             f"{what}: sshd accepted the certificate (ED25519-CERT {fp} ID {CERT_ID})",
             acc or log[-2000:])


def cert_server_and_key(sshd, name):
    """An ed25519 key, not in authorized_keys, with a certificate from the user CA beside it."""
    key = os.path.join(sshd.dir, name)
    fx.keygen(key)
    return key, sshd.certify(key, CERT_ID)


def without_cert_refused(sshd, what, key):
    """The key alone (a copy with no certificate beside it) does not get in: only the
    certificate can."""
    bare = os.path.join(sshd.dir, "bare", os.path.basename(key))
    os.makedirs(os.path.dirname(bare))
    shutil.copy(key, bare)
    shutil.copy(key + ".pub", bare + ".pub")
    status, err = fx.run_forwarder(sshd, identity=bare, timeout=RUN_TIMEOUT)
    fx.check(status == 255, f"{what}: the same key without its certificate is refused (exit 255)",
             f"status {status}\n{err}")


@case
def cert_beside_key():
    what = "ed25519 user certificate beside the identity file"
    with fx.Sshd(user_ca=True) as sshd:
        key, _ = cert_server_and_key(sshd, "id_cert")
        without_cert_refused(sshd, what, key)
        cert_accepted(forward_works(sshd, what, identity=key), what, sshd, key)


@case
def cert_file_option():
    what = "ed25519 user certificate through -o CertificateFile="
    with fx.Sshd(user_ca=True) as sshd:
        key, cert = cert_server_and_key(sshd, "id_certfile")
        elsewhere = os.path.join(sshd.dir, "certs", "user-cert.pub")
        os.makedirs(os.path.dirname(elsewhere))
        os.rename(cert, elsewhere)
        without_cert_refused(sshd, what, key)
        log = forward_works(sshd, what, identity=key,
                            extra_args=["-o", f"CertificateFile={elsewhere}"])
        cert_accepted(log, what, sshd, key)


@case
def cert_agent():
    need_agent()
    what = "ed25519 user certificate from ssh-agent"
    with fx.Sshd(user_ca=True) as sshd, fx.Agent(sshd.dir) as agent:
        key, _ = cert_server_and_key(sshd, "id_certagent")
        r = agent.add(key)
        listing = agent.listing()
        fx.check(r.returncode == 0 and "(ED25519-CERT)" in listing,
                 f"{what}: ssh-add loaded the key and its certificate", r.stdout + listing)
        log = forward_works(sshd, what, identity=None, identities_only=False, env=agent.env())
        cert_accepted(log, what, sshd, key)


# ---------------------------------------------------------------- the cases: client options


@case
def cipher_flag():
    """-c aes128-ctr is what the server uses; the MAC, left to the default, is an etm one."""
    what = "-c aes128-ctr"
    with fx.Sshd(log_level="DEBUG") as sshd:
        log = forward_works(sshd, what, extra_args=["-c", "aes128-ctr"])
        chose(log, what, cipher="aes128-ctr")
        mac = negotiated(log).get("mac", "")
        fx.check(mac.endswith("-etm@openssh.com"),
                 f"{what}: the default MAC order put an etm MAC first: {mac}", kex_lines(log))


@case
def mac_flag():
    what = "-c aes128-ctr -m hmac-sha2-512-etm@openssh.com"
    with fx.Sshd(log_level="DEBUG") as sshd:
        log = forward_works(sshd, what,
                            extra_args=["-c", "aes128-ctr", "-m", "hmac-sha2-512-etm@openssh.com"])
        chose(log, what, cipher="aes128-ctr", mac="hmac-sha2-512-etm@openssh.com")


@case
def ciphers_plus():
    """A cipher left out of the default offer (aes128-cbc) is added with '+'; without it the
    server cannot be met."""
    with fx.Sshd(extra_config=["Ciphers aes128-cbc"], log_level="DEBUG") as sshd:
        what = "-o Ciphers=+aes128-cbc against a server with only aes128-cbc"
        log = forward_works(sshd, what, extra_args=["-o", "Ciphers=+aes128-cbc"])
        chose(log, what, cipher="aes128-cbc")
        if fx.SSH_MODE:
            ours = ["chacha20-poly1305@openssh.com", "aes128-ctr"]  # not in ssh's message
        else:
            ours = offered("cipher")
            fx.check("aes128-cbc" not in ours, "porthole's default offer has no aes128-cbc",
                     ",".join(ours))
        refused(sshd, "default ciphers against a server with only aes128-cbc", "cipher",
                ["aes128-cbc"], ours)


@case
def ciphers_caret():
    what = "-o Ciphers=^aes256-ctr"
    with fx.Sshd(log_level="DEBUG") as sshd:
        chose(forward_works(sshd, what, extra_args=["-o", "Ciphers=^aes256-ctr"]), what,
              cipher="aes256-ctr")


@case
def macs_minus():
    """Taking hmac-sha2-256-etm out leaves the server's other MAC, hmac-sha2-256."""
    what = "-o MACs=-hmac-sha2-256-etm@openssh.com"
    cfg = ["Ciphers aes128-ctr", "MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-256"]
    with fx.Sshd(extra_config=cfg, log_level="DEBUG") as sshd:
        log = forward_works(sshd, what, extra_args=["-o", "MACs=-hmac-sha2-256-etm@openssh.com"])
        chose(log, what, mac="hmac-sha2-256")


@case
def kex_caret():
    what = "-o KexAlgorithms=^ecdh-sha2-nistp521"
    with fx.Sshd(log_level="DEBUG") as sshd:
        log = forward_works(sshd, what, extra_args=["-o", "KexAlgorithms=^ecdh-sha2-nistp521"])
        chose(log, what, kex="ecdh-sha2-nistp521")


@case
def hostkey_algorithms():
    what = "-o HostKeyAlgorithms=ecdsa-sha2-nistp256 (server has ed25519 and ECDSA keys)"
    with fx.Sshd(hostkey_types=("ed25519", "ecdsa"), log_level="DEBUG") as sshd:
        log = forward_works(sshd, what,
                            extra_args=["-o", "HostKeyAlgorithms=ecdsa-sha2-nistp256"])
        chose(log, what, hostkey="ecdsa-sha2-nistp256")


# ---------------------------------------------------------------- the cases: no agreement


@case
def no_common_mac():
    """libssh2 has no umac: a server with only umac-128-etm cannot be met."""
    theirs = ["umac-128-etm@openssh.com"]
    with fx.Sshd(extra_config=["Ciphers aes128-ctr", f"MACs {theirs[0]}"]) as sshd:
        if fx.SSH_MODE:  # ssh has umac: offer it what porthole would, and no umac
            ours = ["hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com"]
            opts = {"extra_args": ["-o", "MACs=" + ",".join(ours)]}
        else:
            ours, opts = offered("mac"), {}
        refused(sshd, "server with only umac-128-etm", "MAC", theirs, ours, **opts)


@case
def no_common_kex():
    """libssh2 has no sntrup761x25519: a server with only that cannot be met."""
    theirs = ["sntrup761x25519-sha512@openssh.com"]
    with fx.Sshd(extra_config=[f"KexAlgorithms {theirs[0]}"]) as sshd:
        if fx.SSH_MODE:
            ours = ["curve25519-sha256", "ecdh-sha2-nistp256"]
            opts = {"extra_args": ["-o", "KexAlgorithms=" + ",".join(ours)]}
        else:
            ours, opts = offered("kex"), {}
        refused(sshd, "server with only sntrup761x25519-sha512", "key exchange", theirs, ours,
                **opts)


@case
def no_common_cipher():
    with fx.Sshd(extra_config=["Ciphers chacha20-poly1305@openssh.com"]) as sshd:
        refused(sshd, "-c aes128-ctr against a chacha20-poly1305-only server", "cipher",
                ["chacha20-poly1305@openssh.com"], ["aes128-ctr"],
                extra_args=["-c", "aes128-ctr"])


@case
def no_common_hostkey():
    with fx.Sshd() as sshd:
        refused(sshd, "-o HostKeyAlgorithms=ecdsa-sha2-nistp256 against an ed25519-only server",
                "host key", ["ssh-ed25519"], ["ecdsa-sha2-nistp256"],
                extra_args=["-o", "HostKeyAlgorithms=ecdsa-sha2-nistp256"])


# ---------------------------------------------------------------- the cases: porthole -V


@case
def version_report():
    """porthole -V: the library, strict kex, and the offers in the documented order (ciphers:
    with bulk crypt aes-gcm, then aes-ctr, chacha20-poly1305 last; without, chacha20-poly1305,
    then aes-ctr, aes-gcm last; MACs: etm first), each offer within what the library has."""
    porthole_only("porthole -V")
    info = fx.porthole_info()
    text = info["text"]
    fx.check(info["libssh2"] and info["libssh2"] >= (1, 11, 1),
             f"porthole -V: libssh2 {info['libssh2']} >= 1.11.1", text)
    fx.check(info["strict_kex"] is not None, "porthole -V: a 'strict kex (CVE-2023-48795):' line",
             text)
    for kind in ("kex", "hostkey", "cipher", "mac"):
        mine, have = offered(kind), info["available"].get(kind, [])
        fx.check(set(mine) <= set(have),
                 f"porthole -V: offered {kind} is within available {kind}", text)
    ciphers = offered("cipher")
    fx.check(info["bulk_crypt"] is not None,
             "porthole -V: a 'bulk crypt (aes-gcm, aes-ctr first):' line", text)
    if "host certificates (@cert-authority): yes" in text:
        # Both patches come with scripts/libssh2's build: one without the other is not it.
        fx.check(info["bulk_crypt"], "porthole -V: scripts/libssh2's libssh2 (host "
                 "certificates) crypts whole runs of blocks too (bulk crypt: yes)", text)
    order = ("-gcm", "-ctr", "chacha20") if info["bulk_crypt"] else ("chacha20", "-ctr", "-gcm")
    rank = [next((i for i, o in enumerate(order) if o in c), 3) for c in ciphers]
    fx.check(rank[0] == 0 and rank == sorted(rank) and 3 not in rank,
             f"porthole -V: ciphers {order[0]} first, {order[1]} next, {order[2]} last",
             ",".join(ciphers))
    macs = offered("mac")
    etm = [m.endswith("-etm@openssh.com") for m in macs]
    fx.check(etm[0] and etm == sorted(etm, reverse=True), "porthole -V: etm MACs first",
             ",".join(macs))


def main():
    wanted = sys.argv[1:]
    unknown = set(wanted) - {fn.__name__ for fn in CASES}
    if unknown:
        raise fx.TestFailure(f"no such case: {', '.join(sorted(unknown))}")
    failed, skipped = [], []
    for fn in CASES:
        if wanted and fn.__name__ not in wanted:
            continue
        print(f"# {fn.__name__}", flush=True)
        try:
            fn()
        except fx.TestFailure as e:
            print(f"FAIL: {fn.__name__}: {e}", flush=True)
            failed.append(f"{fn.__name__}: {str(e).splitlines()[0]}")
        except NotRun as e:
            print(f"skip: {fn.__name__}: {e}", flush=True)
            if e.environment:
                skipped.append(f"{fn.__name__}: {e}")
    if failed:
        raise fx.TestFailure(f"{len(failed)} case(s) failed:\n  " + "\n  ".join(failed))
    if skipped:
        fx.skip("; ".join(skipped))


if __name__ == "__main__":
    fx.run(main, timeout=120)
