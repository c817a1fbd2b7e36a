#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Resident memory of the daemon on a sandbox root of N users (default 10000), once the first
# start's key audit is done (it logs the keys baseline) and a second has passed: VmRSS, and the
# share of it that libcrypto's mappings hold. Two starts for each sshmend given, each with no
# state directory (no baseline yet).
# Usage: bench/rss.sh [N [SSHMEND...]]   (as root from the build directory; default ./sshmend)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"

n=${1:-10000}
shift
[ $# -gt 0 ] || set -- ./sshmend
sandbox_create "$n" >/dev/null || exit 1
err=$(mktemp "${TMPDIR:-/tmp}/sshmend-rss.XXXXXX") || exit 1
add_cleanup "rm -f -- '$err'"

for bin in "$@"; do
	for run in 1 2; do
		find "$SANDBOX" -type d -path '*/lib/sshmend' -prune -exec rm -rf {} +
		: >"$err"
		"$bin" --root "$SANDBOX" daemon </dev/null >/dev/null 2>"$err" &
		pid=$!
		if ! wait_for 300 grep -q 'as the baseline' "$err"; then
			echo "$bin: no keys baseline: $(tail -n 3 "$err")" >&2
			kill "$pid"
			exit 1
		fi
		sleep 1
		rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
		crypto=$(awk '/^[0-9a-f]+-[0-9a-f]+ / { in_lib = /libcrypto/; next }
			in_lib && /^Rss:/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps")
		echo "$bin, start $run, $n users: VmRSS $rss kB, of it libcrypto $crypto kB"
		kill "$pid"
		wait "$pid" 2>/dev/null
	done
done
