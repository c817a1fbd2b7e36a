#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Time `sshmend check` over sandbox roots of N users (default 10000), best of 3 runs.
# Usage: bench/check-scale.sh [N...]   (run as root from the build directory, or set SSHMEND)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
SSHMEND=${SSHMEND:-./sshmend}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"

[ $# -gt 0 ] || set -- 10000
for n in "$@"; do
	sandbox_create "$n" >/dev/null
	best=
	for _ in 1 2 3; do
		t=$( { /usr/bin/time -f '%e %M' "$SSHMEND" --root "$SANDBOX" check >/dev/null; } 2>&1 | tail -1)
		s=${t% *}
		if [ -z "$best" ] || awk -v a="$s" -v b="${best% *}" 'BEGIN { exit !(a < b) }'; then
			best=$t
		fi
	done
	printf '| check | %s users | %s s | %s KB max RSS |\n' "$n" "${best% *}" "${best#* }"
	sandbox_destroy
done
