# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# A fake service manager end of NOTIFY_SOCKET (sd_notify), for tests. Source it after tap.sh.
# Uses the tests/notify-recv helper built by "make check".
#
# notify_start        start notify-recv on a socket in a temp dir; export NOTIFY_SOCKET (the
#                     socket path, for the program under test) and NOTIFY_LOG (the file it
#                     appends every received KEY=VALUE line to). Stopped and removed on exit.
# notify_stop         stop it now (NOTIFY_LOG stays readable until exit).
# notify_wait TIMEOUT REGEX
#                     wait up to TIMEOUT seconds for a line of NOTIFY_LOG matching the extended
#                     REGEX (grep -E; anchor it yourself, e.g. '^READY=1$'); 0 if one came.
# notify_count REGEX  print how many lines of NOTIFY_LOG match REGEX (0 if none).

_notify_recv_bin() {
	local b
	for b in "${NOTIFY_RECV:-}" "${top_builddir:-.}/tests/notify-recv"; do
		if [ -n "$b" ] && [ -x "$b" ]; then
			echo "$b"
			return 0
		fi
	done
	return 1
}

notify_start() {
	local bin dir
	bin=$(_notify_recv_bin) || {
		diag "notify_start: tests/notify-recv is not built (run make check)"
		return 1
	}
	dir=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-notify.XXXXXX") || return 1
	add_cleanup "rm -rf -- '$dir'"
	chmod 0755 "$dir"
	NOTIFY_SOCKET=$dir/notify.sock
	NOTIFY_LOG=$dir/notify.log
	: >"$NOTIFY_LOG"
	"$bin" "$NOTIFY_SOCKET" "$NOTIFY_LOG" </dev/null >"$dir/notify-recv.out" 2>&1 &
	NOTIFY_PID=$!
	add_cleanup "stop_pid $NOTIFY_PID 3"
	if ! wait_for 5 test -S "$NOTIFY_SOCKET"; then
		diag "notify_start: notify-recv did not bind $NOTIFY_SOCKET: $(cat "$dir/notify-recv.out")"
		return 1
	fi
	# Anyone (a service that dropped privileges) may send to it.
	chmod 0777 "$NOTIFY_SOCKET"
	export NOTIFY_SOCKET NOTIFY_LOG NOTIFY_PID
}

notify_stop() {
	[ -n "${NOTIFY_PID:-}" ] || return 0
	stop_pid "$NOTIFY_PID" 3
	unset NOTIFY_PID
}

notify_wait() {
	local timeout=$1 regex=$2
	wait_for "$timeout" grep -q -E -e "$regex" "$NOTIFY_LOG"
}

notify_count() {
	local n
	n=$(grep -c -E -e "$1" "$NOTIFY_LOG" 2>/dev/null)
	echo "${n:-0}"
}
