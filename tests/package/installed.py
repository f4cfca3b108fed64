#!/usr/bin/env python3
"""The installed Debian package (scripts/package-check installs it first, as root): the
binary in /usr/bin answers -V with the tree's version, man finds both pages, the bash
completion is where bash-completion looks and completes porthole's subcommands, and the
installed `porthole relay` carries a UDP -L through a real sshd (RelayCommand=/usr/bin/porthole
relay, the client the installed binary too), datagrams of 1 and 9000 bytes back intact.
Exits 77 when porthole is not installed from the package."""

import os
import shutil
import socket
import subprocess
import threading

import fixture as fx

BIN = "/usr/bin/porthole"
PAGES = {"porthole": "/usr/share/man/man1/porthole.1.gz",
         "porthole.conf": "/usr/share/man/man5/porthole.conf.5.gz"}
BASH = "/usr/share/bash-completion/completions/porthole"


def installed():
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", "porthole"], capture_output=True,
                       text=True)
    return r.returncode == 0 and r.stdout.endswith(" installed")


def version_of_tree():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "meson.build")) as f:
        for line in f:
            if line.strip().startswith("version :"):
                return line.split("'")[1]
    return None


def udp_echo():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))

    def run():
        while True:
            try:
                data, addr = s.recvfrom(65535)
                s.sendto(data, addr)
            except OSError:
                return
    threading.Thread(target=run, daemon=True).start()
    return s


def roundtrip(port, payload, tries=10):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(1.0)
        for _ in range(tries):
            s.sendto(payload, ("127.0.0.1", port))
            try:
                return s.recvfrom(65535)[0]
            except socket.timeout:
                continue
    return None


def main():
    if not installed():
        fx.skip("the porthole package is not installed (scripts/package-check installs it)")
    fx.check(os.environ.get("PORTHOLE") == BIN, f"the fixture runs the installed {BIN}")
    r = subprocess.run([BIN, "-V"], capture_output=True, text=True, timeout=10)
    want = version_of_tree()
    fx.check(r.returncode == 0 and r.stdout.startswith(f"porthole {want}"),
             f"{BIN} -V: porthole {want}", r.stdout + r.stderr)
    for name, path in PAGES.items():
        if shutil.which("man"):
            m = subprocess.run(["man", "-w", name], capture_output=True, text=True)
            fx.check(m.returncode == 0 and m.stdout.strip() == path,
                     f"man -w {name}: {path}", m.stdout + m.stderr)
        else:
            fx.check(os.path.isfile(path), f"{path} is installed (no man-db here)")
    b = subprocess.run(["bash", "-c", f"source {BASH} && complete -p porthole && "
                        "COMP_WORDS=(porthole inv) COMP_CWORD=1 COMP_LINE='porthole inv' "
                        "COMP_POINT=12 && $(complete -p porthole | sed -n "
                        "'s/.*-F \\([^ ]*\\) .*/\\1/p') porthole inv porthole && "
                        "printf '%s\\n' \"${COMPREPLY[@]}\""],
                       capture_output=True, text=True, timeout=20)
    fx.check(b.returncode == 0 and "invite" in b.stdout.split(),
             f"{BASH} completes 'porthole inv' to invite", b.stdout + b.stderr)

    with fx.Sshd() as sshd:
        echo = udp_echo()
        lport = fx.free_port()
        fw = fx.Forwarder(sshd, ["-L", f"{lport}:127.0.0.1:{echo.getsockname()[1]}/udp"],
                          extra_args=["-o", f"RelayCommand={BIN} relay"])
        with fw:
            for size in (1, 9000):
                payload = os.urandom(size)
                got = roundtrip(lport, payload)
                fx.check(got == payload, f"UDP -L through the installed relay: {size} bytes "
                         "back intact", fw.stderr())
            fx.check(fw.stop()[0] == 0, "the installed porthole stops cleanly (SIGTERM, 0)")
        echo.close()


if __name__ == "__main__":
    fx.run(main, timeout=120)
