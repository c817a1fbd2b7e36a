#!/usr/bin/env bash
# The daemon at scale: time from start to READY=1, RSS after it, heal latency over 1,000
# breaks, and wakeups while idle. Usage: bench/daemon-scale.sh [N...] (default 10000), as root,
# from the build directory (make check builds tests/notify-recv; cc builds the latency probe).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
SSHMEND=${SSHMEND:-./sshmend}
IDLE=${IDLE:-10}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"
probe=$(mktemp -d)/heal-latency
cc -O2 -o "$probe" "$top_srcdir/bench/heal-latency.c" || exit 1

[ $# -gt 0 ] || set -- 10000
for n in "$@"; do
	sandbox_create "$n" >/dev/null
	sock=$(mktemp -u)
	log=$(mktemp)
	./tests/notify-recv "$sock" "$log" &
	recv=$!
	sleep 0.2
	t0=$(date +%s%N)
	NOTIFY_SOCKET=$sock "$SSHMEND" --root "$SANDBOX" daemon 2>/dev/null &
	pid=$!
	until grep -q '^READY=1$' "$log"; do sleep 0.005; done
	t1=$(date +%s%N)
	rss=$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")
	ready_ms=$(((t1 - t0) / 1000000))
	lat=$("$probe" "$SANDBOX" "$n" 1000)
	sleep 1
	cs0=$(awk '/ctxt_switches/ { s += $2 } END { print s }' "/proc/$pid/status")
	cpu0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	sleep "$IDLE"
	cs1=$(awk '/ctxt_switches/ { s += $2 } END { print s }' "/proc/$pid/status")
	cpu1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
	printf '| %s users | ready %s ms | RSS %s KB | %s | idle %s s: %s context switches, %s CPU ticks |\n' \
		"$n" "$ready_ms" "$rss" "$lat" "$IDLE" "$((cs1 - cs0))" "$((cpu1 - cpu0))"
	kill "$pid" "$recv"
	wait "$pid" "$recv" 2>/dev/null
	rm -f "$log" "$sock"
	sandbox_destroy
done
rm -rf "$(dirname "$probe")"
