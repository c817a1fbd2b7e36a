# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# TAP helpers for the integration tests. Source it from a bash test script:
#
#   . "$top_srcdir/tests/lib/tap.sh"
#   require_root
#   ok "sshmend exists" test -x "$SSHMEND"
#   is "$(id -un)" root "runs as root"
#   done_testing
#
# ok DESC CMD [ARGS...]    run CMD (its stdout goes to stderr, so it cannot corrupt the TAP
#                          stream); print "ok N - DESC" if it succeeded, else "not ok N - DESC"
# is GOT EXPECTED DESC     string comparison; on failure both values are printed as "# " lines
# like GOT REGEX DESC      GOT matches the extended regular expression REGEX (bash's =~)
# diag MSG...              print MSG as "# " comment lines (one per line of MSG)
# skip_all REASON          print "1..0 # SKIP REASON" and exit 77 (only before the first test)
# require_root             skip_all unless running as uid 0
# require_prog PROG...     skip_all naming the first PROG not found in PATH
# wait_for TIMEOUT CMD...  run CMD every 10 ms until it succeeds (return 0) or TIMEOUT seconds
#                          (integer or decimal) have passed (return 1); CMD's stdout goes to stderr
# wait_until TIMEOUT EXPR  the same for a shell expression, evaluated afresh on every poll
# add_cleanup CMD          run CMD (a string, eval'ed) when the script exits, in reverse order of
#                          registration; use it instead of "trap ... EXIT"
# done_testing             print the plan "1..N"; exit 1 if any test failed, else 0
# bail MSG...              print "Bail out! MSG" and exit 1 (the cleanups still run)
# stop_pid PID [SECONDS]   SIGTERM PID, wait up to SECONDS (default 5) for it to go, then SIGKILL;
#                          reap it if it is this shell's child. Harmless if PID is gone already.
# kill_pid PID             SIGKILL PID and reap it.
# pid_alive PID            0 if PID runs (a zombie does not count).
#
# TAP_COUNT is the number of tests run so far, TAP_FAILED the number that failed.

if [ -z "${BASH_VERSION:-}" ]; then
	echo "Bail out! tests/lib/tap.sh needs bash" >&2
	exit 1
fi

# Sourced twice (e.g. by two fixtures)? Keep the counters and cleanups.
if [ -z "${_TAP_SH_LOADED:-}" ]; then
	_TAP_SH_LOADED=1
	TAP_COUNT=0
	TAP_FAILED=0
	_TAP_CLEANUPS=()
	_TAP_TRAPPED=
	_TAP_DONE=
fi

diag() {
	local line
	while IFS= read -r line; do
		printf '# %s\n' "$line"
	done <<<"$*"
}

_tap_result() { # _tap_result STATUS DESC
	TAP_COUNT=$((TAP_COUNT + 1))
	if [ "$1" -eq 0 ]; then
		printf 'ok %d - %s\n' "$TAP_COUNT" "$2"
		return 0
	fi
	TAP_FAILED=$((TAP_FAILED + 1))
	printf 'not ok %d - %s\n' "$TAP_COUNT" "$2"
	return 1
}

ok() {
	local desc=$1
	shift
	if [ $# -eq 0 ]; then
		_tap_result 1 "$desc"
		diag "ok: no command given"
		return 1
	fi
	local rc=0
	"$@" >&2 || rc=$?
	if ! _tap_result "$rc" "$desc"; then
		diag "command failed (exit $rc): $*"
		return 1
	fi
	return 0
}

is() {
	local got=$1 expected=$2 desc=${3:-}
	if [ "$got" = "$expected" ]; then
		_tap_result 0 "$desc"
		return 0
	fi
	_tap_result 1 "$desc"
	diag "     got: '$got'"
	diag "expected: '$expected'"
	return 1
}

like() {
	local got=$1 re=$2 desc=${3:-}
	if [[ $got =~ $re ]]; then
		_tap_result 0 "$desc"
		return 0
	fi
	_tap_result 1 "$desc"
	diag "     got: '$got'"
	diag "expected to match: '$re'"
	return 1
}

skip_all() {
	if [ "$TAP_COUNT" -gt 0 ]; then
		printf 'Bail out! cannot skip after %d test(s): %s\n' "$TAP_COUNT" "$*"
		exit 1
	fi
	_TAP_DONE=1
	printf '1..0 # SKIP %s\n' "$*"
	exit 77
}

bail() {
	echo "Bail out! $*"
	exit 1
}

require_root() {
	[ "$(id -u)" -eq 0 ] || skip_all "needs root"
}

require_prog() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null 2>&1 || skip_all "$p not found"
	done
}

# Sets _TAP_NOW_US to the current time in microseconds, without forking where bash can.
_tap_now() {
	if [ -n "${EPOCHREALTIME:-}" ]; then
		local t=${EPOCHREALTIME/[.,]/}
		_TAP_NOW_US=$((10#$t))
	else
		_TAP_NOW_US=$(($(date +%s%N) / 1000))
	fi
}

_tap_seconds_to_us() { # "2" -> 2000000, "0.25" -> 250000
	local s=$1 int frac
	int=${s%%.*}
	if [ "$int" = "$s" ]; then
		frac=
	else
		frac=${s#*.}
	fi
	frac="${frac}000000"
	frac=${frac:0:6}
	_TAP_US=$((10#${int:-0} * 1000000 + 10#$frac))
}

# Sleep 10 ms. Forking sleep(1) can take several times that, so wait on a pipe that never
# gets data instead (opened read-write, it never reaches end of file either).
_tap_nap() {
	if [ -z "${_TAP_NAP_FD:-}" ]; then
		# The braces keep 2>/dev/null to this one command: on exec alone it would
		# silence the script's stderr from here on.
		{ exec {_TAP_NAP_FD}<> <(:); } 2>/dev/null || _TAP_NAP_FD=none
	fi
	if [ "$_TAP_NAP_FD" = none ]; then
		sleep 0.01
	else
		local _
		read -r -t 0.01 -u "$_TAP_NAP_FD" _
	fi
	return 0
}

wait_for() {
	local timeout=$1
	shift
	local deadline
	_tap_seconds_to_us "$timeout"
	_tap_now
	deadline=$((_TAP_NOW_US + _TAP_US))
	while :; do
		if "$@" >&2; then
			return 0
		fi
		_tap_now
		[ "$_TAP_NOW_US" -lt "$deadline" ] || return 1
		_tap_nap
	done
}

# todo_ok DESC REASON CMD...: ok for a known gap, with TAP's TODO directive: a failure is
# listed (XFAIL) without failing the suite, and a pass shows as XPASS, a reminder to drop it.
todo_ok() {
	local desc=$1 reason=$2 rc=0
	shift 2
	"$@" >&2 || rc=$?
	TAP_COUNT=$((TAP_COUNT + 1))
	if [ "$rc" -eq 0 ]; then
		printf 'ok %d - %s # TODO %s\n' "$TAP_COUNT" "$desc" "$reason"
	else
		printf 'not ok %d - %s # TODO %s\n' "$TAP_COUNT" "$desc" "$reason"
	fi
}

# wait_until TIMEOUT EXPR: like wait_for, but EXPR is a shell expression evaluated afresh on
# every poll, so command substitutions in it are too: wait_until 5 '[ "$(count)" -gt 2 ]'.
# (wait_for 5 test "$(count)" -gt 2 would compare one value, taken before waiting.)
wait_until() {
	local timeout=$1
	shift
	wait_for "$timeout" eval "$*"
}

_tap_run_cleanups() {
	set +e
	local i
	for ((i = ${#_TAP_CLEANUPS[@]} - 1; i >= 0; i--)); do
		eval "${_TAP_CLEANUPS[i]}"
	done
	_TAP_CLEANUPS=()
}

_tap_on_exit() {
	local rc=$?
	_tap_run_cleanups
	if [ -z "$_TAP_DONE" ] && [ "$TAP_COUNT" -gt 0 ]; then
		# A test script died before done_testing; the TAP driver reports the missing plan.
		printf '# exited (status %d) before done_testing after %d test(s)\n' "$rc" "$TAP_COUNT" >&2
	fi
	return "$rc"
}

add_cleanup() {
	if [ -z "$_TAP_TRAPPED" ]; then
		_TAP_TRAPPED=1
		# Keep a trap the script set before us: it runs last.
		local prev
		prev=$(trap -p EXIT)
		if [ -n "$prev" ]; then
			prev=${prev#trap -- }
			prev=${prev% EXIT}
			eval "prev=$prev"
			_TAP_CLEANUPS+=("$prev")
		fi
		trap _tap_on_exit EXIT
		trap 'exit 129' HUP
		trap 'exit 130' INT
		trap 'exit 143' TERM
	fi
	_TAP_CLEANUPS+=("$*")
}

done_testing() {
	_TAP_DONE=1
	printf '1..%d\n' "$TAP_COUNT"
	if [ "$TAP_FAILED" -gt 0 ]; then
		printf '# failed %d of %d test(s)\n' "$TAP_FAILED" "$TAP_COUNT"
		exit 1
	fi
	exit 0
}

stop_pid() {
	local pid=$1 ticks=$((${2:-5} * 100)) i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < ticks; i++)); do
		pid_alive "$pid" || break
		sleep 0.01
	done
	kill_pid "$pid"
}

kill_pid() {
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

pid_alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s:0:1}" != Z ] && [ "${s:0:1}" != X ]
}
