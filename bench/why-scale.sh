#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Time `sshmend why` over a sandbox root of N users (default 10000), each with a keys file,
# best of 10 runs of each question: a key the user holds (and every user holds it), a key
# nobody holds (every user's keys file is read for authorized_for), no key, an unknown user.
# Usage: bench/why-scale.sh [N...]   (run as root from the build directory, or set SSHMEND)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
SSHMEND=${SSHMEND:-./sshmend}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"

[ $# -gt 0 ] || set -- 10000
KEYS=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-why-bench.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$KEYS'"
ssh-keygen -q -t ed25519 -N '' -f "$KEYS/other" </dev/null >/dev/null

# best_of ARGS...: of 10 runs of sshmend --root SANDBOX ARGS, the best wall time and the best
# CPU time (user + system), in ms. On a loaded machine the wall time is mostly waiting for a
# core: the line for --version gives that floor.
best_of() {
	local wall= cpu= t w c
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		/usr/bin/time -o "$KEYS/time" -f '%e %U %S' "$SSHMEND" --root "$SANDBOX" "$@" \
			>/dev/null 2>&1
		t=$(tail -n 1 "$KEYS/time")
		w=$(echo "$t" | awk '{ printf "%d", $1 * 1000 }')
		c=$(echo "$t" | awk '{ printf "%d", ($2 + $3) * 1000 }')
		if [ -z "$wall" ] || [ "$w" -lt "$wall" ]; then wall=$w; fi
		if [ -z "$cpu" ] || [ "$c" -lt "$cpu" ]; then cpu=$c; fi
	done
	echo "$wall ms | $cpu ms"
}

for n in "$@"; do
	sandbox_create "$n" >/dev/null
	mkdir -p "$SANDBOX/bin" && cp -L /bin/sh "$SANDBOX/bin/bash"
	printf '%s\n' "$SANDBOX_PUBKEY" >"$KEYS/user.pub"
	printf '| --version (the floor) | %s users | %s |\n' "$n" "$(best_of --version)"
	printf '| why user1 --key (held by all) | %s users | %s |\n' "$n" \
		"$(best_of why user1 --key "$KEYS/user.pub")"
	printf '| why user1 --key (held by none) | %s users | %s |\n' "$n" \
		"$(best_of why user1 --key "$KEYS/other.pub")"
	printf '| why user1 | %s users | %s |\n' "$n" "$(best_of why user1)"
	printf '| why nosuchuser --key (held by none) | %s users | %s |\n' "$n" \
		"$(best_of why nosuchuser --key "$KEYS/other.pub")"
	sandbox_destroy
done
