# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the tests/test-daemon-*.sh scripts: start and stop "sshmend daemon" in the
# background, and read what that one process logged. Source it after tap.sh (and after
# journald.sh and notify.sh where the journal and the notify socket are used).
#
# daemon_start ARGS...   start "$SSHMEND ARGS... daemon" in the background (stdin /dev/null,
#                        stderr appended to $DAEMON_ERR, a file in a temp dir made on first
#                        use). Sets DAEMON_PID; the process is stopped (TERM, then KILL) on exit.
#                        Records how many READY=1 lines NOTIFY_LOG held, for daemon_wait_ready.
# daemon_wait_ready TIMEOUT
#                        wait until NOTIFY_LOG holds one more READY=1 line than when the daemon
#                        was started (only this daemon sends to our socket).
# daemon_stop [TIMEOUT]  SIGTERM, wait up to TIMEOUT seconds (default 10), reap it; set
#                        DAEMON_STATUS to its exit status ("hung" if it had to be killed).
#                        Unsets DAEMON_PID. Not in $(...): the daemon is this shell's child.
# daemon_alive           0 if the daemon runs.
# daemon_journal FIELD=VALUE...
#                        journal_query restricted to this daemon (SYSLOG_IDENTIFIER=sshmend and
#                        _PID=$DAEMON_PID, or $DAEMON_JPID if set, for a daemon already stopped).
# daemon_count FIELD=VALUE...
#                        how many such entries there are.
# daemon_wait_count TIMEOUT N FIELD=VALUE...
#                        wait until there are more than N such entries.
# daemon_sanitizer_clean 0 if DAEMON_ERR holds no sanitizer report.
# stat_is PATH "UID GID MODE"
#                        0 if PATH (not followed) has exactly that owner, group and mode (four
#                        octal digits, e.g. "20001 20001 0700").

: "${SSHMEND:=${top_builddir:-.}/sshmend}"

_daemon_tmp() {
	[ -n "${_DAEMON_TMP:-}" ] && return 0
	_DAEMON_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-daemon.XXXXXX") || return 1
	add_cleanup "rm -rf -- '$_DAEMON_TMP'"
	DAEMON_ERR=$_DAEMON_TMP/daemon.err
	: >"$DAEMON_ERR"
}

daemon_start() {
	_daemon_tmp || return 1
	_DAEMON_READY0=0
	[ -n "${NOTIFY_LOG:-}" ] && _DAEMON_READY0=$(notify_count '^READY=1$')
	"$SSHMEND" "$@" daemon </dev/null >>"$DAEMON_ERR" 2>&1 &
	DAEMON_PID=$!
	DAEMON_JPID=$DAEMON_PID
	add_cleanup "_daemon_kill $DAEMON_PID"
}

_daemon_ready_more() {
	[ "$(notify_count '^READY=1$')" -gt "$_DAEMON_READY0" ]
}

daemon_wait_ready() {
	wait_for "$1" _daemon_ready_more
}

_daemon_kill() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 500; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

daemon_stop() {
	local timeout=${1:-10} pid=${DAEMON_PID:-} i
	# shellcheck disable=SC2034 # read by the test scripts
	DAEMON_STATUS=none
	[ -n "$pid" ] || return 1
	unset DAEMON_PID
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < timeout * 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		# shellcheck disable=SC2034
		DAEMON_STATUS=hung
		return 1
	fi
	wait "$pid"
	# shellcheck disable=SC2034
	DAEMON_STATUS=$?
	return 0
}

daemon_alive() {
	[ -n "${DAEMON_PID:-}" ] && kill -0 "$DAEMON_PID" 2>/dev/null
}

daemon_journal() {
	journal_query SYSLOG_IDENTIFIER=sshmend "_PID=${DAEMON_JPID:-}" "$@"
}

daemon_count() {
	local n
	n=$(daemon_journal "$@" 2>/dev/null | grep -c '^{')
	echo "${n:-0}"
}

_daemon_count_above() {
	local n=$1
	shift
	[ "$(daemon_count "$@")" -gt "$n" ]
}

daemon_wait_count() {
	local timeout=$1 n=$2
	shift 2
	wait_for "$timeout" _daemon_count_above "$n" "$@"
}

daemon_sanitizer_clean() {
	! grep -E -e '^==[0-9]+==(ERROR|WARNING): [A-Za-z]*Sanitizer' -e 'runtime error:' \
		"$DAEMON_ERR"
}

stat_is() {
	[ "$(stat -c '%u %g %04a' -- "$1" 2>/dev/null)" = "$2" ]
}
