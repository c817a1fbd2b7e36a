#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# fuzz/run.sh NAME SECONDS MAX_MS SEEDS [LIBFUZZER-FLAG...]: run the harness fuzz/fuzz-NAME (from
# the build directory) for SECONDS over its seeds SEEDS/NAME and its working corpus fuzz/work/NAME.
# Fails on a crash, a leak, undefined behaviour, a failed check, or an input that took more than
# MAX_MS milliseconds of CPU time (the least of a few runs). libFuzzer's own -timeout counts wall
# time, which a loaded machine stretches: it is left at 120 s, to catch a hang. The last lines of its output are the executions, the coverage
# (cov: edges, ft: features) and the slowest input.
set -u
name=$1 seconds=$2 max_ms=$3 seeds=$4
shift 4
work=fuzz/work/$name
art=fuzz/artifacts
log=$art/$name.log
mkdir -p "$work" "$art"
# The harness's scratch root goes here (in memory when there is a tmpfs), and goes with it even
# when the harness stops on a crash.
shm=/dev/shm
[ -w "$shm" ] || shm=/tmp
TMPDIR=$(mktemp -d "$shm/sshmend-fuzz.XXXXXX") || exit 1
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
echo "fuzz-$name: $seconds s over $seeds/$name" >&2
FUZZ_MAX_MS=$max_ms FUZZ_SLOWEST=$art/$name.slowest ./fuzz/fuzz-"$name" -max_total_time="$seconds" -timeout=120 \
	-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$art/$name-" "$@" \
	"$work" "$seeds/$name" >"$log" 2>&1
rc=$?
grep -E '^#[0-9]+' "$log" | tail -1 >&2
grep -E '^stat::number_of_executed_units|^slowest input' "$log" >&2
if [ "$rc" -ne 0 ]; then
	tail -40 "$log" >&2
	echo "fuzz-$name: FAILED (exit $rc); the input is in $art/" >&2
	exit 1
fi
echo "fuzz-$name: ok" >&2
