#!/bin/bash
# Drives completions/bash/porthole as bash does: COMP_WORDS split at
# COMP_WORDBREAKS, COMP_LINE, COMP_POINT, then the completion function, and
# checks COMPREPLY. Runs in a clean environment: HOME is a temporary directory
# with its own ~/.ssh/config, ~/.ssh/known_hosts and porthole config, PATH
# holds the built porthole (PORTHOLE_BIN_DIR, set by meson).
#
# Usage: completions_bash.sh path/to/completions/bash/porthole

if [[ $1 != --inner ]]; then
	set -eu
	completion=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
	[[ -d ${PORTHOLE_BIN_DIR:-} && -x $PORTHOLE_BIN_DIR/porthole ]] || {
		echo "PORTHOLE_BIN_DIR does not hold a built porthole" >&2
		exit 1
	}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/home/.ssh" "$tmp/home/.config/porthole" "$tmp/nobin"
	cat >"$tmp/home/.ssh/config" <<-'EOF'
		# a comment naming Host commented
		Host alpha
		    HostName alpha.example.com
		Host beta *.wild
		Host !neg
		host=eps # lower case, '=' and a comment
		Match host zeta
	EOF
	cat >"$tmp/home/.ssh/known_hosts" <<-'EOF'
		gamma,10.0.0.5 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGammaGammaGammaGammaGammaGammaGammaGamma
		[delta]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDeltaDeltaDeltaDeltaDeltaDeltaDeltaDelta
		|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHashed
		@revoked revoked.example ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRevokedRevokedRevoked
	EOF
	cat >"$tmp/office.conf" <<-'EOF'
		ExitOnForwardFailure yes
		Profile office
		    HostName jump.example.com
		    User me
		    LocalForward 8080 intranet:80
		    DynamicForward 1080
		Profile mum
		    HostName jump.example.com
		    LocalForward 5900 localhost:5900
	EOF
	printf 'Profile home\n    HostName home.example.com\n' >"$tmp/home/.config/porthole/config"
	chmod 600 "$tmp/office.conf" "$tmp/home/.config/porthole/config"
	exec env -i HOME="$tmp/home" PATH="$PORTHOLE_BIN_DIR:/usr/bin:/bin" \
		NOBIN_PATH="$tmp/nobin:/usr/bin:/bin" CONF="$tmp/office.conf" \
		OPTION_C="$(dirname "$completion")/../../src/option.c" \
		bash --norc --noprofile "$0" --inner "$completion"
fi

# ---- inside the clean environment ----
set -u
# shellcheck disable=SC1090
source "$2" || exit 1
COMP_WORDBREAKS=$' \t\n"\'@><=;|&(:'
failures=0

# comp LINE: completes at the end of LINE, words split as bash splits them.
comp()
{
	local line=$1 err
	local -a words=()
	local w=""
	for ((i = 0; i < ${#line}; i++)); do
		c=${line:i:1}
		if [[ $c == " " ]]; then
			[[ -n $w ]] && words+=("$w")
			w=""
		elif [[ $c == [=:@] ]]; then
			# A run of break characters is a word of its own.
			[[ -n $w && $w != *[=:@] ]] && { words+=("$w"); w=""; }
			w+=$c
		else
			[[ -n $w && $w == *[=:@] ]] && { words+=("$w"); w=""; }
			w+=$c
		fi
	done
	if [[ -n $w ]]; then
		words+=("$w")
	else
		words+=("")
	fi
	COMP_WORDS=("${words[@]}")
	COMP_CWORD=$((${#words[@]} - 1))
	COMP_LINE=$line
	COMP_POINT=${#line}
	COMPREPLY=()
	_porthole 2>"$HOME/stderr"
	err=$(<"$HOME/stderr")
	if [[ -n $err ]]; then
		echo "FAIL: '$line': completion wrote to stderr: $err"
		failures=$((failures + 1))
	fi
}

sorted()
{
	printf '%s\n' "$@" | LC_ALL=C sort | tr '\n' ' '
}

# expect_exactly LINE WORD...: COMPREPLY holds these words, in any order.
expect_exactly()
{
	local line=$1 got want
	shift
	comp "$line"
	got=$(sorted "${COMPREPLY[@]}")
	want=$(sorted "$@")
	if [[ $got != "$want" ]]; then
		echo "FAIL: '$line': got [$got], want [$want]"
		failures=$((failures + 1))
	else
		echo "ok: '$line' -> $got"
	fi
}

# expect_has LINE WORD...: COMPREPLY holds at least these words.
# expect_not LINE WORD...: COMPREPLY holds none of these words.
expect_has()
{
	local line=$1 w r found
	shift
	comp "$line"
	for w in "$@"; do
		found=0
		for r in "${COMPREPLY[@]}"; do
			[[ $r == "$w" ]] && found=1
		done
		if ((!found)); then
			echo "FAIL: '$line': '$w' missing from [$(sorted "${COMPREPLY[@]}")]"
			failures=$((failures + 1))
		fi
	done
	echo "ok: '$line' has $*"
}

expect_not()
{
	local line=$1 w r
	shift
	comp "$line"
	for r in "${COMPREPLY[@]}"; do
		for w in "$@"; do
			# shellcheck disable=SC2053 # $w is a glob pattern
			if [[ $r == $w ]]; then
				echo "FAIL: '$line': unexpected '$r'"
				failures=$((failures + 1))
			fi
		done
	done
	echo "ok: '$line' has none of $*"
}

hosts=(alpha beta eps gamma 10.0.0.5 delta)

# The first word: subcommands, profiles (of the -F file, or else of the
# default file) and hosts; no Host patterns, no hashed or marked entries.
expect_exactly "porthole -F $CONF " profiles check status service invite jump-setup office mum "${hosts[@]}"
expect_exactly "porthole " profiles check status service invite jump-setup home "${hosts[@]}"
expect_not "porthole " '*|*' '*\**' '*!*' '*\?*' neg zeta revoked.example '*2222*' '[*'
expect_exactly "porthole -F $CONF o" office
expect_exactly "porthole -F$CONF -v m" mum
expect_exactly "porthole -F $CONF check " office mum "${hosts[@]}"
expect_exactly "porthole -F $CONF check office " # nothing after check's argument
expect_exactly "porthole -F $CONF office " # nothing after the destination
expect_exactly "porthole -F $CONF profiles " # profiles takes nothing
expect_exactly "porthole service " install uninstall status
expect_exactly "porthole service in" install
expect_exactly "porthole -F $CONF service install " office mum
expect_exactly "porthole service status " home
expect_exactly "porthole service status home " # nothing after the profile
expect_exactly "porthole -F $CONF status " office mum --json
expect_exactly "porthole status -" --json
expect_exactly "porthole status home " # one profile at most
expect_exactly "porthole inv" invite
expect_exactly "porthole invite mum --j" --jump
expect_exactly "porthole invite mum --jump gam" gamma
expect_exactly "porthole invite mum --jump gamma --a" --ard --ard-port --as
expect_exactly "porthole invite --as helper " # NAME: a new name, nothing to offer
expect_exactly "porthole jump-setup --" --udp --max-dead --relay
expect_exactly "porthole jump-setup roo" root
expect_exactly "porthole -o GatewayPorts=yes -p 22 g" gamma
expect_exactly "porthole me@" alpha beta eps gamma 10.0.0.5 delta
expect_exactly "porthole me@al" alpha

# Options, and what follows them.
expect_has "porthole -" -L -R -D -p -l -i -F -o -O -N -T -v -q -V -h -4 -6 -b -B -C -E -f -g -n -x -a -k
expect_exactly "porthole -O " check forward cancel exit stop
expect_exactly "porthole -O forward -L 8080:db:5432 ho" home # -O's word and -L's spec are not the target
expect_exactly "porthole -L " # a forward spec: nothing to offer
expect_exactly "porthole -b " # an address: nothing to offer
expect_has "porthole -B " lo
expect_exactly "porthole -b 127.0.0.2 -E /tmp/x g" gamma # -b and -E take an argument
expect_exactly "porthole -o AddressFamily=" any inet inet6
expect_exactly "porthole -o BatchMode=" yes no
expect_exactly "porthole -o OpenVia=" auto relay channel
expect_exactly "porthole -o OpenVia=r" relay
expect_exactly "porthole -o Conn" ConnectTimeout= ConnectionAttempts= ConnectionWait=
expect_exactly "porthole -p " # a port: nothing to offer

# -o Keyword=value.
expect_exactly "porthole -o Stri" StrictHostKeyChecking=
expect_exactly "porthole -o stri" StrictHostKeyChecking=  # readline replaces the word
expect_exactly "porthole -o StrictHostKeyChecking=" yes accept-new ask no off
expect_exactly "porthole -o StrictHostKeyChecking=a" accept-new ask
expect_exactly "porthole -oStrictHostKeyChecking=y" yes
expect_exactly "porthole -oExitOnF" -oExitOnForwardFailure=
expect_exactly "porthole -o ExitOnForwardFailure=" yes no
# Algorithm names come from porthole -V: what this build has.
# (Names every libssh2 since 1.10 has, so that the fallback build passes too.)
expect_has "porthole -c " aes128-ctr aes256-ctr
expect_not "porthole -c " ssh-ed25519 hmac-sha2-256
expect_has "porthole -m hmac-sha2-" hmac-sha2-256 hmac-sha2-512
expect_has "porthole -o Ciphers=aes1" aes128-ctr
expect_has "porthole -o KexAlgorithms=curve" curve25519-sha256
expect_exactly "porthole -o Compression=" yes no
expect_exactly "porthole -o LogLevel=DE" DEBUG DEBUG1 DEBUG2 DEBUG3
expect_exactly "porthole -o HostName=de" delta
expect_exactly "porthole -o Port=" # a number: nothing to offer
expect_exactly "porthole -o Udp" UdpIdleTimeout= UdpMaxFlows=
expect_has "porthole -o BindInterface=" lo
# Every keyword of option.c's table, and no other.
mapfile -t table < <(sed -n 's/^[[:blank:]]*{"\([A-Za-z]*\)", V_.*/\1=/p' "$OPTION_C")
if ((${#table[@]} < 20)); then
	echo "FAIL: could not read the keyword table from $OPTION_C"
	failures=$((failures + 1))
fi
expect_exactly "porthole -o " "${table[@]}"

# Without '=' in COMP_WORDBREAKS, bash passes Keyword=value as one word, and
# the whole word is replaced.
COMP_WORDBREAKS=$' \t\n"\'><;|&(:'
COMP_WORDS=(porthole -o StrictHostKeyChecking=a)
COMP_CWORD=2
COMP_LINE="porthole -o StrictHostKeyChecking=a"
COMP_POINT=${#COMP_LINE}
COMPREPLY=()
_porthole
if [[ $(sorted "${COMPREPLY[@]}") != "StrictHostKeyChecking=accept-new StrictHostKeyChecking=ask " ]]; then
	echo "FAIL: one-word Keyword=value: got [$(sorted "${COMPREPLY[@]}")]"
	failures=$((failures + 1))
fi
COMP_WORDBREAKS=$' \t\n"\'@><=;|&(:'

# Without porthole on PATH: hosts still, silently.
PATH=$NOBIN_PATH
hash -r
expect_exactly "porthole -F $CONF " profiles check status service invite jump-setup "${hosts[@]}"

if ((failures > 0)); then
	echo "$failures failure(s)"
	exit 1
fi
echo "all passed"
