# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# "sshmend daemon" in the background, and what that one process logged. Sourced by
# tests/lib/bootstrap.sh (after tap.sh, journald.sh and notify.sh, which it uses).
#
# daemon_start ARGS...   start "$SSHMEND ARGS... daemon" in the background (stdin /dev/null,
#                        stdout and stderr appended to $DAEMON_ERR, a file in TEST_TMP). Sets
#                        DAEMON_PID; the process is stopped (TERM, then KILL) on exit, before the
#                        cleanups registered earlier (the sandbox, mounts) run.
# daemon_started PID     the same for a daemon started some other way (e.g. in a namespace of its
#                        own), whose output already goes to $DAEMON_ERR.
# daemon_ready_count     how many READY=1 our notify socket has received (only the daemon sends).
# daemon_wait_ready [TIMEOUT]
#                        wait (default DAEMON_START_TIMEOUT seconds) until the notify socket holds
#                        one more READY=1 than when the daemon was started, i.e. for the end of the
#                        start-up repair. Return 2 at once (its stderr as diagnostics) if the daemon
#                        dies meanwhile.
# daemon_wait_ready_after N [TIMEOUT]
#                        the same for more than N READY=1 (one per reload).
# daemon_stop [TIMEOUT]  SIGTERM, wait up to TIMEOUT seconds (default 10), reap it; set
#                        DAEMON_STATUS to its exit status ("hung" if it had to be killed).
#                        Unsets DAEMON_PID. Not in $(...): the daemon is this shell's child.
# daemon_alive           0 if the daemon runs (a zombie does not count).
# daemon_journal FIELD=VALUE...
#                        journal_query restricted to this daemon (SYSLOG_IDENTIFIER=sshmend and
#                        _PID=$DAEMON_JPID, the last daemon started, still valid once it stopped).
# daemon_count FIELD=VALUE...
#                        how many such entries there are.
# daemon_wait_count TIMEOUT N FIELD=VALUE...
#                        wait until there are more than N such entries.
# daemon_events EVENT [FIELD=VALUE...]
#                        the daemon's entries with SSHMEND_EVENT=EVENT, one JSON line each.
# daemon_event_count EVENT [FIELD=VALUE...]
#                        how many there are.
# daemon_event_messages EVENT [FIELD=VALUE...]
#                        their MESSAGE fields, one a line.
# daemon_wait_events TIMEOUT N EVENT [FIELD=VALUE...]
#                        wait until there are at least N.
# daemon_sanitizer_clean 0 if DAEMON_ERR holds no sanitizer report.
# daemon_expect_stop DESC [TIMEOUT]
#                        two tests: daemon_stop TIMEOUT (default 10) ends in exit status 0 (DESC),
#                        and the daemon's output holds no sanitizer report.
# daemon_expect_only_user NAME
#                        one test: none of the daemon's entries names a user other than NAME.
# stat_is PATH "UID GID MODE"
#                        0 if PATH (not followed) has exactly that owner, group and mode (four
#                        octal digits, e.g. "20001 20001 0700").

DAEMON_START_TIMEOUT=${DAEMON_START_TIMEOUT:-60}

_daemon_err() {
	[ -n "${DAEMON_ERR:-}" ] && return 0
	test_tmp || return 1
	DAEMON_ERR=$TEST_TMP/daemon.err
	: >"$DAEMON_ERR"
}

daemon_start() {
	local ready0
	_daemon_err || return 1
	ready0=$(daemon_ready_count)
	"$SSHMEND" "$@" daemon </dev/null >>"$DAEMON_ERR" 2>&1 &
	daemon_started $! "$ready0"
}

daemon_started() {
	_DAEMON_READY0=${2:-$(daemon_ready_count)}
	DAEMON_PID=$1
	DAEMON_JPID=$1
	add_cleanup "stop_pid $1"
}

daemon_ready_count() {
	notify_count '^READY=1$'
}

_daemon_ready_above() {
	[ "$(daemon_ready_count)" -gt "$1" ] || ! daemon_alive
}

daemon_wait_ready_after() {
	wait_for "${2:-$DAEMON_START_TIMEOUT}" _daemon_ready_above "$1"
	[ "$(daemon_ready_count)" -gt "$1" ] && return 0
	if ! daemon_alive; then
		diag "the daemon died; its output:"
		diag "$(cat "$DAEMON_ERR")"
		return 2
	fi
	diag "no READY=1 from the daemon within ${2:-$DAEMON_START_TIMEOUT}s"
	return 1
}

daemon_wait_ready() {
	daemon_wait_ready_after "${_DAEMON_READY0:-0}" "$@"
}

daemon_stop() {
	local timeout=${1:-10} pid=${DAEMON_PID:-} i
	# shellcheck disable=SC2034 # read by the test scripts
	DAEMON_STATUS=none
	[ -n "$pid" ] || return 1
	unset DAEMON_PID
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < timeout * 100; i++)); do
		pid_alive "$pid" || break
		sleep 0.01
	done
	if pid_alive "$pid"; then
		kill_pid "$pid"
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
	[ -n "${DAEMON_PID:-}" ] && pid_alive "$DAEMON_PID"
}

daemon_journal() {
	[ -n "${DAEMON_JPID:-}" ] || return 0
	journal_query SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_JPID" "$@"
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

daemon_events() {
	local ev=$1
	shift
	daemon_journal "SSHMEND_EVENT=$ev" "$@" 2>/dev/null
}

daemon_event_count() {
	local ev=$1
	shift
	daemon_count "SSHMEND_EVENT=$ev" "$@"
}

daemon_event_messages() {
	local l
	daemon_events "$@" | while IFS= read -r l; do
		journal_field "$l" MESSAGE
	done
}

daemon_wait_events() {
	local timeout=$1 n=$2 ev=$3
	shift 3
	wait_for "$timeout" _daemon_count_above "$((n - 1))" "SSHMEND_EVENT=$ev" "$@"
}

daemon_sanitizer_clean() {
	! grep -E -e '^==[0-9]+==(ERROR|WARNING): [A-Za-z]*Sanitizer' -e 'runtime error:' \
		"$DAEMON_ERR"
}

daemon_expect_stop() {
	daemon_stop "${2:-10}"
	is "$DAEMON_STATUS" 0 "$1"
	ok "no sanitizer report" daemon_sanitizer_clean || diag "$(tail -n 50 "$DAEMON_ERR")"
}

daemon_expect_only_user() {
	local l u others=
	while IFS= read -r l; do
		u=$(journal_field "$l" SSHMEND_USER) && [ "$u" != "$1" ] && others+=$u$'\n'
	done < <(daemon_journal)
	is "$others" "" "no entry names any user but $1"
}

stat_is() {
	[ "$(stat -c '%u %g %04a' -- "$1" 2>/dev/null)" = "$2" ]
}
