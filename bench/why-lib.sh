# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# What bench/why-scale.sh and bench/why-daemon-scale.sh share. Needs SSHMEND and KEYS (a temp dir).
#
# best_of ARGS...  of 10 runs of "$SSHMEND ${WHY_ARGS[@]} ARGS", the best wall time and the best
#                  CPU time (user + system), in ms. On a loaded machine the wall time is mostly
#                  waiting for a core: a line for --version gives that floor.

WHY_ARGS=()

best_of() {
	local wall='' cpu='' t w c
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		/usr/bin/time -o "$KEYS/time" -f '%e %U %S' "$SSHMEND" "${WHY_ARGS[@]}" "$@" \
			>/dev/null 2>&1
		t=$(tail -n 1 "$KEYS/time")
		w=$(echo "$t" | awk '{ printf "%d", $1 * 1000 }')
		c=$(echo "$t" | awk '{ printf "%d", ($2 + $3) * 1000 }')
		if [ -z "$wall" ] || [ "$w" -lt "$wall" ]; then wall=$w; fi
		if [ -z "$cpu" ] || [ "$c" -lt "$cpu" ]; then cpu=$c; fi
	done
	echo "$wall ms | $cpu ms"
}
