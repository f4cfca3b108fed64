#!/bin/sh
# scripts/libssh2's failure path: with the Debian archive unreachable it
# stops with one line naming the step, exit 1, prints no pkg-config path,
# and leaves nothing behind; a half-written output folder (no "complete"
# stamp) is not trusted but rebuilt. Uses a refused loopback port as the
# archive, so nothing leaves the machine.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
command -v apt-get >/dev/null || { echo "SKIP: no apt-get"; exit 77; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export PORTHOLE_DEBIAN_ARCHIVE="http://127.0.0.1:$port/debian"
export PORTHOLE_LIBSSH2_DIR="$tmp/out"

# A folder a previous run left half-written: no stamp.
mkdir -p "$tmp/out/prefix/lib/pkgconfig"
touch "$tmp/out/prefix/lib/pkgconfig/libssh2.pc"

"$top/scripts/libssh2" --force >"$tmp/stdout" 2>"$tmp/stderr"
rc=$?
[ "$rc" -eq 1 ] || fail "exit status $rc, expected 1"
[ ! -s "$tmp/stdout" ] || fail "printed a pkg-config path: $(cat "$tmp/stdout")"
errors=$(grep -c '^scripts/libssh2: step ' "$tmp/stderr")
[ "$errors" -eq 1 ] || fail "expected one 'step' line, got: $(cat "$tmp/stderr")"
grep -q "step 'fetch index'" "$tmp/stderr" || fail "the line does not name the fetch step: $(cat "$tmp/stderr")"
grep -q "PORTHOLE_DEBIAN_ARCHIVE" "$tmp/stderr" || fail "the line does not say what to do: $(cat "$tmp/stderr")"
echo "ok: unreachable archive: $(grep step "$tmp/stderr")"
ls "$tmp" | grep -q 'out.tmp' && fail "left a temporary folder behind"
[ ! -f "$tmp/out/complete" ] || fail "wrote the stamp after a failure"
echo "ok: nothing half-built is trusted or left behind"
