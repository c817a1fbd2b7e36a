# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the tests/test-daemon-threat-*.sh scripts: SECURITY.md, scenarios 8-14 and 16 against
# the running daemon ("sshmend --root $SANDBOX daemon"), with its journal entries read back from
# journald (tests/lib/journald.sh) and its READY=1 and STATUS= from tests/lib/notify.sh.
# Sources tap.sh, sandbox.sh, journald.sh and notify.sh.
#
# dthreat_init "$@"       first thing in a test: needs root, sshmend and the helpers; sets up the
#                         journal (journald_setup, which may re-execute the script in a private
#                         mount namespace), a NOTIFY_SOCKET receiver and DTHREAT_TMP (a temp dir
#                         outside any sandbox, removed on exit). With DTHREAT_PRIVATE_MOUNTS=1 set
#                         before the call, the script first re-executes itself in a private mount
#                         namespace, so that mounts it makes never show outside and die with it.
# dthreat_config LINE...  write the sandbox's etc/sshmend/sshmend.conf (root:root 0644), one LINE a
#                         line, e.g. dthreat_config '[Daemon]' FlapThreshold=5.
# dthreat_start           start the daemon on $SANDBOX in the background and wait (up to
#                         DTHREAT_START_TIMEOUT seconds) for its READY=1, i.e. for the end of the
#                         start-up repair. Sets DTHREAT_PID; stderr goes to DTHREAT_ERR. Stopped on
#                         exit, before the cleanups registered earlier (sandbox, mounts) run.
# dthreat_start_watch_limit N
#                         the same, but the daemon runs in a user namespace of its own that maps
#                         every uid and gid to itself, whose inotify watch limit
#                         (/proc/sys/user/max_inotify_watches, charged per user namespace and uid)
#                         is N: the limit holds for the daemon alone, neither other root processes
#                         nor other tests are affected. Returns 2 if user namespaces cannot be used.
# dthreat_stop            SIGTERM the daemon and wait (SIGKILL after 10 s); DTHREAT_RC is its exit
#                         status (128+N: killed by signal N).
# dthreat_alive           the daemon runs (a zombie does not count).
# dthreat_ready_count     how many READY=1 the daemon has sent (one at start, one per reload).
# dthreat_cpu_ticks       the daemon's utime+stime in clock ticks (DTHREAT_HZ a second).
# dthreat_now_ms          wall-clock milliseconds.
# dthreat_sleep_ms N      sleep N milliseconds (nothing if N <= 0).
# dthreat_watches         the number of inotify watches the daemon holds ("inotify wd:" lines in
#                         the fdinfo of its inotify descriptors).
# dthreat_watched_inos    the inode numbers (decimal) the daemon watches, one a line.
# dthreat_is_watched RELPATH
#                         the sandbox path's inode is among them.
# dthreat_entries EVENT [FIELD=VALUE...]
#                         the daemon's journal entries (the last daemon started: its _PID) with
#                         SSHMEND_EVENT=EVENT and the FIELD=VALUEs, one JSON line each.
# dthreat_journal [FIELD=VALUE...]
#                         all the daemon's entries matching the FIELD=VALUEs (the same field twice:
#                         either value), oldest first.
# dthreat_count EVENT [FIELD=VALUE...]
#                         how many there are.
# dthreat_wait_entry TIMEOUT EVENT [FIELD=VALUE...]
#                         wait for at least one.
# dthreat_wait_count TIMEOUT N EVENT [FIELD=VALUE...]
#                         wait until there are at least N.
# dthreat_stat RELPATH    "uid gid mode type" of a sandbox path (mode as 4 octal digits).
# dthreat_expect_stat RELPATH WANT DESC
#                         one test: dthreat_stat RELPATH is WANT now.
# dthreat_wait_stat TIMEOUT RELPATH WANT DESC
#                         one test: dthreat_stat RELPATH becomes WANT within TIMEOUT seconds.
# dthreat_keep_stat SECONDS RELPATH WANT DESC
#                         one test: dthreat_stat RELPATH stays WANT for SECONDS seconds.
# dthreat_as userK CMD... run CMD as the sandbox's userK (uid and gid 20000+K, no other groups).
# dthreat_spawn_as userK CMD...
#                         the same in the background (stdin, stdout and stderr from /dev/null);
#                         DTHREAT_SPAWNED is its pid, killed on exit if still running.
# dthreat_kill PID        SIGKILL PID and reap it.
# dthreat_uid userK       20000+K.
# dthreat_passwd_replace  read a new etc/passwd for the sandbox on stdin and rename it into place,
#                         as shadow's tools do.
# dthreat_bail MSG        "Bail out!" (cleanups still run).

if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
: "${top_builddir:=$top_srcdir}"
: "${SSHMEND:=$top_builddir/sshmend}"
export top_srcdir top_builddir SSHMEND

# shellcheck source=tests/lib/tap.sh
. "$top_srcdir/tests/lib/tap.sh"
# shellcheck source=tests/lib/sandbox.sh
. "$top_srcdir/tests/lib/sandbox.sh"
# shellcheck source=tests/lib/journald.sh
. "$top_srcdir/tests/lib/journald.sh"
# shellcheck source=tests/lib/notify.sh
. "$top_srcdir/tests/lib/notify.sh"

DTHREAT_START_TIMEOUT=${DTHREAT_START_TIMEOUT:-60}
DTHREAT_PID=
DTHREAT_RC=

dthreat_bail() {
	echo "Bail out! $*"
	exit 1
}

dthreat_init() {
	require_root
	require_prog timeout setpriv find stat awk sed sort getconf
	[ -x "$SSHMEND" ] || skip_all "sshmend not built: $SSHMEND"
	[ -x "${top_builddir}/tests/notify-recv" ] || skip_all "tests/notify-recv is not built"

	if [ "${DTHREAT_PRIVATE_MOUNTS:-0}" = 1 ] && [ "${_DTHREAT_NS:-}" != "$$" ]; then
		require_prog unshare
		export _DTHREAT_NS=$$
		# shellcheck disable=SC2093 # on failure, fall through to skip
		exec unshare --mount --propagation private -- "${BASH:-bash}" "$0" "$@"
		skip_all "cannot re-execute in a private mount namespace"
	fi

	journald_setup "$@" || dthreat_bail "no journal"
	DTHREAT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-dthreat.XXXXXX") || dthreat_bail "mktemp failed"
	chmod 0755 "$DTHREAT_TMP"
	add_cleanup "_dthreat_rm '$DTHREAT_TMP'"
	DTHREAT_ERR=$DTHREAT_TMP/daemon.err
	: >"$DTHREAT_ERR"
	notify_start || dthreat_bail "notify_start failed"
	# shellcheck disable=SC2034 # for the tests
	DTHREAT_HZ=$(getconf CLK_TCK) || DTHREAT_HZ=100
	add_cleanup dthreat_stop
}

_dthreat_rm() {
	case $1 in
	*/sshmend-dthreat.*) rm -rf --one-file-system -- "$1" ;;
	esac
}

dthreat_config() {
	local l
	mkdir -p "$SANDBOX/etc/sshmend" && chmod 0755 "$SANDBOX/etc/sshmend" || return 1
	for l in "$@"; do
		printf '%s\n' "$l"
	done >"$SANDBOX/etc/sshmend/sshmend.conf.tmp" || return 1
	chmod 0644 "$SANDBOX/etc/sshmend/sshmend.conf.tmp" &&
		chown 0:0 "$SANDBOX/etc/sshmend" "$SANDBOX/etc/sshmend/sshmend.conf.tmp" &&
		mv -f "$SANDBOX/etc/sshmend/sshmend.conf.tmp" "$SANDBOX/etc/sshmend/sshmend.conf"
}

dthreat_ready_count() {
	notify_count '^READY=1$'
}

dthreat_start() {
	_dthreat_start ""
}

dthreat_start_watch_limit() {
	_dthreat_start "$1"
}

_dthreat_start() {
	local limit=$1
	if [ -n "$DTHREAT_PID" ] && dthreat_alive; then
		diag "dthreat_start: the daemon already runs (pid $DTHREAT_PID)"
		return 1
	fi
	local ready
	ready=$(dthreat_ready_count)
	if [ -n "$limit" ]; then
		_dthreat_start_userns "$limit" || return $?
	else
		"$SSHMEND" --root "$SANDBOX" daemon </dev/null >>"$DTHREAT_ERR" 2>&1 &
		DTHREAT_PID=$!
	fi
	DTHREAT_RC=
	_DTHREAT_LAST_PID=$DTHREAT_PID
	# Stopped before whatever was set up before it (the sandbox, mounts) is taken down.
	add_cleanup dthreat_stop
	if ! wait_for "$DTHREAT_START_TIMEOUT" _dthreat_ready_after "$ready"; then
		diag "dthreat_start: no READY=1 within ${DTHREAT_START_TIMEOUT}s; daemon stderr:"
		diag "$(cat "$DTHREAT_ERR")"
		return 1
	fi
	return 0
}

_dthreat_ready_after() {
	[ "$(dthreat_ready_count)" -gt "$1" ] && return 0
	# Dead before it was ready: stop waiting.
	dthreat_alive || {
		diag "the daemon died before READY=1"
		return 2
	}
	return 1
}

# The daemon in a user namespace of its own mapping every id to itself (so it is root, with the
# same files, and its watches are charged to that namespace), with the namespace's inotify watch
# limit set to $1 before sshmend starts. unshare(1) execs in place: the pid is the daemon's.
_dthreat_start_userns() {
	local limit=$1 fifo=$DTHREAT_TMP/userns.fifo pid i
	command -v unshare >/dev/null 2>&1 || return 2
	rm -f "$fifo"
	mkfifo "$fifo" || return 1
	# shellcheck disable=SC2016 # expanded by the inner shells
	unshare --user -- sh -c 'read -r _ <"$1" || exit 97
		exec sh -c "echo $2 >/proc/sys/user/max_inotify_watches || exit 98
			exec \"\$0\" --root \"\$1\" daemon" "$3" "$4"' \
		sh "$fifo" "$limit" "$SSHMEND" "$SANDBOX" </dev/null >>"$DTHREAT_ERR" 2>&1 &
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
	echo go >"$fifo"
	rm -f "$fifo"
	DTHREAT_PID=$pid
	return 0
}

dthreat_stop() {
	[ -n "$DTHREAT_PID" ] || return 0
	local pid=$DTHREAT_PID i
	DTHREAT_PID=
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 1000; i++)); do
		_dthreat_pid_alive "$pid" || break
		sleep 0.01
	done
	_dthreat_pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
	DTHREAT_RC=0
	# shellcheck disable=SC2034 # for the tests
	wait "$pid" 2>/dev/null || DTHREAT_RC=$?
	return 0
}

_dthreat_pid_alive() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "${s:0:1}" != Z ] && [ "${s:0:1}" != X ]
}

dthreat_alive() {
	[ -n "$DTHREAT_PID" ] && _dthreat_pid_alive "$DTHREAT_PID"
}

dthreat_cpu_ticks() {
	local s
	s=$(cat "/proc/$DTHREAT_PID/stat" 2>/dev/null) || {
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
	for fd in "/proc/$DTHREAT_PID/fd/"*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "anon_inode:inotify" ] || continue
		cat "/proc/$DTHREAT_PID/fdinfo/${fd##*/}" 2>/dev/null
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

dthreat_entries() {
	local ev=$1
	shift
	[ -n "${_DTHREAT_LAST_PID:-}" ] || return 0
	journal_query SYSLOG_IDENTIFIER=sshmend "_PID=$_DTHREAT_LAST_PID" "SSHMEND_EVENT=$ev" "$@" 2>/dev/null
}

dthreat_journal() {
	[ -n "${_DTHREAT_LAST_PID:-}" ] || return 0
	journal_query SYSLOG_IDENTIFIER=sshmend "_PID=$_DTHREAT_LAST_PID" "$@" 2>/dev/null
}

dthreat_count() {
	local n
	n=$(dthreat_entries "$@" | grep -c '^{')
	echo "${n:-0}"
}

_dthreat_count_at_least() {
	local n=$1
	shift
	[ "$(dthreat_count "$@")" -ge "$n" ]
}

dthreat_wait_entry() {
	local timeout=$1
	shift
	wait_for "$timeout" _dthreat_count_at_least 1 "$@"
}

dthreat_wait_count() {
	local timeout=$1 n=$2
	shift 2
	wait_for "$timeout" _dthreat_count_at_least "$n" "$@"
}

dthreat_stat() {
	(cd "$SANDBOX" && find "$1" -maxdepth 0 -printf '%U %G %04m %y\n' 2>/dev/null)
}

_dthreat_stat_is() {
	[ "$(dthreat_stat "$1")" = "$2" ]
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

dthreat_expect_stat() {
	is "$(dthreat_stat "$1")" "$2" "$3"
}

dthreat_wait_stat() {
	local timeout=$1 rel=$2 want=$3 desc=$4
	wait_for "$timeout" _dthreat_stat_is "$rel" "$want"
	is "$(dthreat_stat "$rel")" "$want" "$desc"
}

dthreat_keep_stat() {
	local secs=$1 rel=$2 want=$3 desc=$4
	if _dthreat_stat_stays "$secs" "$rel" "$want"; then
		ok "$desc" true
		return 0
	fi
	is "$(dthreat_stat "$rel")" "$want" "$desc"
}

dthreat_uid() {
	echo $((SANDBOX_UID_BASE + ${1#user}))
}

dthreat_as() {
	local id
	id=$(dthreat_uid "$1")
	shift
	setpriv --reuid="$id" --regid="$id" --clear-groups -- "$@"
}

dthreat_spawn_as() {
	local id
	id=$(dthreat_uid "$1")
	shift
	setpriv --reuid="$id" --regid="$id" --clear-groups -- "$@" </dev/null >/dev/null 2>&1 &
	DTHREAT_SPAWNED=$!
	add_cleanup "dthreat_kill $DTHREAT_SPAWNED"
}

dthreat_kill() {
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

dthreat_passwd_replace() {
	cat >"$SANDBOX/etc/passwd.dthreat-new" &&
		chmod 0644 "$SANDBOX/etc/passwd.dthreat-new" &&
		mv -f "$SANDBOX/etc/passwd.dthreat-new" "$SANDBOX/etc/passwd"
}
