# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the tests/test-daemon-threat-*.sh scripts: SECURITY.md, scenarios 8-14 and 16 against
# the running daemon ("sshmend --root $SANDBOX daemon"), with its journal entries read back from
# journald and its READY=1 and STATUS= from the notify socket. Sources tests/lib/bootstrap.sh
# (the sandbox, its users, the daemon and its journal entries: daemon_stop, daemon_alive,
# daemon_events, daemon_wait_events, stat_of, run_as, ...).
#
# dthreat_init "$@"       first thing in a test: needs root, sshmend and the helpers; sets up the
#                         journal (journald_setup, which may re-execute the script in a private
#                         mount namespace), a NOTIFY_SOCKET receiver and TEST_TMP. With
#                         DTHREAT_PRIVATE_MOUNTS=1 set before the call, the script first
#                         re-executes itself in a private mount namespace, so that mounts it makes
#                         never show outside and die with it.
# dthreat_start           start the daemon on $SANDBOX in the background (daemon_start) and wait
#                         for its READY=1, i.e. for the end of the start-up repair. Stopped on
#                         exit, before the cleanups registered earlier (sandbox, mounts) run.
# dthreat_start_watch_limit N
#                         the same, but the daemon runs in a user namespace of its own that maps
#                         every uid and gid to itself, whose inotify watch limit
#                         (/proc/sys/user/max_inotify_watches, charged per user namespace and uid)
#                         is N: the limit holds for the daemon alone, neither other root processes
#                         nor other tests are affected. Returns 2 if user namespaces cannot be used.
#                         DTHREAT_USERNS_SYSCTL names another limit of /proc/sys/user to set
#                         instead (e.g. max_inotify_instances).
# dthreat_cpu_ticks       the daemon's utime+stime in clock ticks (DTHREAT_HZ a second).
# dthreat_now_ms          wall-clock milliseconds.
# dthreat_sleep_ms N      sleep N milliseconds (nothing if N <= 0).
# dthreat_watches         the number of inotify watches the daemon holds ("inotify wd:" lines in
#                         the fdinfo of its inotify descriptors).
# dthreat_watched_inos    the inode numbers (decimal) the daemon watches, one a line.
# dthreat_is_watched RELPATH
#                         the sandbox path's inode is among them.
# dthreat_wait_stat TIMEOUT RELPATH WANT DESC
#                         one test: stat_of RELPATH becomes WANT within TIMEOUT seconds.
# dthreat_keep_stat SECONDS RELPATH WANT DESC
#                         one test: stat_of RELPATH stays WANT for SECONDS seconds.
# dthreat_passwd_replace  read a new etc/passwd for the sandbox on stdin and rename it into place,
#                         as shadow's tools do.

# shellcheck source=tests/lib/bootstrap.sh
. "${top_srcdir:-$(dirname "${BASH_SOURCE[0]}")/..}/tests/lib/bootstrap.sh"

dthreat_init() {
	require_root
	require_prog timeout setpriv find stat awk sed sort getconf
	require_sshmend notify-recv

	if [ "${DTHREAT_PRIVATE_MOUNTS:-0}" = 1 ] && [ "${_DTHREAT_NS:-}" != "$$" ]; then
		require_prog unshare
		export _DTHREAT_NS=$$
		# shellcheck disable=SC2093 # on failure, fall through to skip
		exec unshare --mount --propagation private -- "${BASH:-bash}" "$0" "$@"
		skip_all "cannot re-execute in a private mount namespace"
	fi

	journald_setup "$@" || bail "no journal"
	test_tmp || bail "mktemp failed"
	notify_start || bail "notify_start failed"
	# shellcheck disable=SC2034 # for the tests
	DTHREAT_HZ=$(getconf CLK_TCK) || DTHREAT_HZ=100
	add_cleanup daemon_stop
}

dthreat_start() {
	_dthreat_start ""
}

dthreat_start_watch_limit() {
	_dthreat_start "$1"
}

_dthreat_start() {
	local limit=$1
	if daemon_alive; then
		diag "dthreat_start: the daemon already runs (pid $DAEMON_PID)"
		return 1
	fi
	if [ -n "$limit" ]; then
		_dthreat_start_userns "$limit" || return $?
	else
		daemon_start --root "$SANDBOX"
	fi
	daemon_wait_ready "$DAEMON_START_TIMEOUT"
}

# The daemon in a user namespace of its own mapping every id to itself (so it is root, with the
# same files, and its watches are charged to that namespace), with the namespace's inotify watch
# limit set to $1 before sshmend starts. unshare(1) execs in place: the pid is the daemon's.
_dthreat_start_userns() {
	local limit=$1 fifo=$TEST_TMP/userns.fifo pid i
	command -v unshare >/dev/null 2>&1 || return 2
	_daemon_err || return 1
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	# shellcheck disable=SC2016 # expanded by the inner shells
	unshare --user -- sh -c 'read -r _ <"$1" || exit 97
		exec sh -c "echo $2 >/proc/sys/user/$5 || exit 98
			exec \"\$0\" --root \"\$1\" daemon" "$3" "$4"' \
		sh "$fifo" "$limit" "$SSHMEND" "$SANDBOX" "${DTHREAT_USERNS_SYSCTL:-max_inotify_watches}" \
		</dev/null >>"$DAEMON_ERR" 2>&1 &
	pid=$!
	for ((i = 0; i < 500; i++)); do
		[ "$(readlink "/proc/$pid/ns/user" 2>/dev/null)" != "$(readlink /proc/self/ns/user)" ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.01
	done
	if ! printf '0 0 4294967295\n' >"/proc/$pid/uid_map" 2>/dev/null ||
		! printf '0 0 4294967295\n' >"/proc/$pid/gid_map" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		rm -f "$fifo"
		return 2
	fi
	daemon_started "$pid"
	echo go >"$fifo"
	rm -f "$fifo"
	return 0
}

dthreat_cpu_ticks() {
	local s
	s=$(cat "/proc/$DAEMON_PID/stat" 2>/dev/null) || {
		echo 0
		return 1
	}
	s=${s##*) }
	# shellcheck disable=SC2086 # split into fields on purpose
	set -- $s
	# After "pid (comm) ": state is field 3, utime field 14, stime field 15.
	echo $((${12} + ${13}))
}

dthreat_now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((10#$t / 1000))
}

dthreat_sleep_ms() {
	[ "$1" -gt 0 ] || return 0
	sleep "$(($1 / 1000)).$(printf '%03d' $(($1 % 1000)))"
}

_dthreat_inotify_fdinfo() {
	local fd
	for fd in "/proc/$DAEMON_PID/fd/"*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:inotify" ] || continue
		cat "/proc/$DAEMON_PID/fdinfo/${fd##*/}" 2>/dev/null
	done
}

dthreat_watches() {
	local n
	n=$(_dthreat_inotify_fdinfo | grep -c '^inotify wd:')
	echo "${n:-0}"
}

dthreat_watched_inos() {
	_dthreat_inotify_fdinfo | sed -n 's/^inotify wd:[0-9a-fA-F]* ino:\([0-9a-fA-F]*\) .*/\1/p' |
		while read -r hex; do echo $((16#$hex)); done
}

dthreat_is_watched() {
	local ino
	ino=$(stat -c %i -- "$SANDBOX/$1" 2>/dev/null) || return 1
	dthreat_watched_inos | grep -qx -- "$ino"
}

_dthreat_stat_is() {
	[ "$(stat_of "$1")" = "$2" ]
}

_dthreat_stat_stays() {
	local secs=$1 rel=$2 want=$3 deadline
	deadline=$(($(dthreat_now_ms) + secs * 1000))
	while [ "$(dthreat_now_ms)" -lt "$deadline" ]; do
		_dthreat_stat_is "$rel" "$want" || return 1
		sleep 0.05
	done
	_dthreat_stat_is "$rel" "$want"
}

dthreat_wait_stat() {
	local timeout=$1 rel=$2 want=$3 desc=$4
	wait_for "$timeout" _dthreat_stat_is "$rel" "$want"
	is "$(stat_of "$rel")" "$want" "$desc"
}

dthreat_keep_stat() {
	local secs=$1 rel=$2 want=$3 desc=$4
	if _dthreat_stat_stays "$secs" "$rel" "$want"; then
		ok "$desc" true
		return 0
	fi
	is "$(stat_of "$rel")" "$want" "$desc"
}

dthreat_passwd_replace() {
	cat >"$SANDBOX/etc/passwd.dthreat-new" &&
		chmod 0644 "$SANDBOX/etc/passwd.dthreat-new" &&
		mv -f "$SANDBOX/etc/passwd.dthreat-new" "$SANDBOX/etc/passwd"
}
