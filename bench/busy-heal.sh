#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Heal latency while the daemon is busy, on a sandbox root of N users (default 10000):
#   audit   the first start's key audit (no baseline yet): bench/probe breaks modes from READY=1
#   passes  full passes back to back (RescanIntervalSec=1): breaks from 5 s after READY=1
#   reloads a SIGHUP every second (each reload is a full pass): breaks from 5 s after READY=1
# Each line is bench/probe's, after the name of the measure. The daemon runs on the last core,
# the probe on core 0.
# Usage: bench/busy-heal.sh [N [BREAKS]]   (as root from the build directory; needs
#        bench/probe and tests/notify-recv built: make bench/probe tests/notify-recv)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
SSHMEND=${SSHMEND:-./sshmend}
PROBE=${PROBE:-./bench/probe}
NOTIFY_RECV=${NOTIFY_RECV:-./tests/notify-recv}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"

n=${1:-10000}
breaks=${2:-100}
last=$(($(nproc) - 1))
work=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-busy.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$work'"
sandbox_create "$n" >/dev/null || exit 1
conf=$SANDBOX/etc/sshmend/sshmend.conf
mkdir -m 0755 "${conf%/*}" 2>/dev/null || [ -d "${conf%/*}" ] || exit 1

# measure NAME SETTLE_S HUP CONFIG-LINE...: one daemon, its own state directory, one probe
# run; with HUP=1, a SIGHUP to the daemon every second meanwhile
measure() {
	local name=$1 settle=$2 hup=$3 recv pid line hupper=
	shift 3
	printf '[Daemon]\nFlapThreshold=1000000\n' >"$conf"
	printf '%s\n' "$@" >>"$conf"
	chmod 0644 "$conf"
	# No state directory: the start audits every user's keys for the first time.
	find "$SANDBOX" -type d -path '*/lib/sshmend' -prune -exec rm -rf {} +
	: >"$work/notify.log"
	"$NOTIFY_RECV" "$work/notify.sock" "$work/notify.log" </dev/null >/dev/null 2>&1 &
	recv=$!
	wait_for 5 test -S "$work/notify.sock" || return 1
	NOTIFY_SOCKET=$work/notify.sock taskset -c "$last" "$SSHMEND" --root "$SANDBOX" daemon \
		</dev/null >/dev/null 2>"$work/daemon.log" &
	pid=$!
	wait_for 120 grep -q '^READY=1$' "$work/notify.log" || {
		echo "$name: the daemon did not get ready: $(tail -3 "$work/daemon.log")" >&2
		kill "$pid" "$recv"
		return 1
	}
	sleep "$settle"
	if [ "$hup" = 1 ]; then
		while kill -HUP "$pid" 2>/dev/null; do sleep 1; done &
		hupper=$!
	fi
	line=$(taskset -c 0 "$PROBE" heal "$SANDBOX" -n "$breaks" -k chmod -s 20 | grep kind=all)
	echo "$name $line"
	[ -z "$hupper" ] || kill "$hupper"
	kill "$pid"
	wait "$pid" 2>/dev/null
	kill "$recv"
	rm -f "$work/notify.sock"
}

measure audit 0 0
measure passes 5 0 RescanIntervalSec=1
measure reloads 5 1
sandbox_destroy
