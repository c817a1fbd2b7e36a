# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# A systemd-journald for tests: the running one, or a private one in its own mount namespace.
# Source it after tap.sh.
#
# journald_setup "$@"
#                  call near the top of the test, before anything registers a cleanup or starts
#                  a process, with the script's own arguments. If /run/systemd/journal/socket is
#                  a socket served by a running systemd-journald, use it (JOURNAL_PRIVATE=0).
#                  Otherwise (root only, else skip_all) re-execute the script once under
#                  "unshare --mount --propagation private", mount tmpfs over /run/systemd/journal,
#                  /run/log/journal and /var/log/journal (so the host's journal is never touched),
#                  start systemd-journald there, wait for its socket (JOURNAL_PRIVATE=1). Stopped,
#                  unmounted, and mountpoints it had to create removed again on exit (once no
#                  other test's namespace still mounts on them).
#                  Exports JOURNAL_PRIVATE and JOURNAL_SINCE (the time of setup, as "@SECONDS.USEC").
# journald_restart
#                  (private journald only) stop it and start a new one, which binds a new socket
#                  at the same path; wait for it. Updates JOURNALD_PID.
# journal_query FIELD=VALUE...
#                  print the entries logged since journald_setup that match all the given
#                  FIELD=VALUE pairs (journalctl semantics: the same field given twice means either
#                  value), one "journalctl -o json" line per entry, oldest first.
# journal_wait TIMEOUT FIELD=VALUE...
#                  wait up to TIMEOUT seconds until journal_query finds at least one entry.
# journal_field JSONLINE FIELD
#                  print the value of FIELD in one JSON line (escapes decoded; a binary value given
#                  as an array of bytes is decoded; a field with several values prints one per
#                  line). Return 1 if the line has no such field.
# journal_dev_log  make /dev/log reach the test's journald, for programs that syslog() (sshd):
#                  nothing to do when it exists; in a private journald's namespace, an overlay
#                  on /dev holds the link to its socket, so that nothing of the host's /dev
#                  changes (unmounted on exit). skip_all when neither can be had.

_journald_find() {
	local d
	for d in /lib/systemd /usr/lib/systemd; do
		if [ -x "$d/systemd-journald" ]; then
			echo "$d/systemd-journald"
			return 0
		fi
	done
	return 1
}

# Is the socket at /run/systemd/journal/socket served by a journald that is running?
_journald_running() {
	[ -S /run/systemd/journal/socket ] || return 1
	local p comm
	for p in /proc/[0-9]*; do
		comm=$(cat "$p/comm" 2>/dev/null) || continue
		[ "$comm" = systemd-journal ] || continue
		return 0
	done
	return 1
}

_JOURNALD_DIRS=(/run/systemd/journal /run/log/journal /var/log/journal)
# Put in each directory we had to create on the host, under the tmpfs we mount on it; whichever
# test unmounts last removes the directories that carry it (an empty /var/log/journal would turn a
# later journald's storage persistent).
_JOURNALD_MARKER=.sshmend-test-mountpoint

# Mountpoints are created and removed under a lock on /run, so that one test cannot remove a
# directory another test in its own namespace has just mounted on (rmdir would detach that mount).
_journald_lock() {
	exec {_JOURNALD_LOCK_FD}</run && flock "$_JOURNALD_LOCK_FD"
}

_journald_unlock() {
	[ -n "${_JOURNALD_LOCK_FD:-}" ] || return 0
	exec {_JOURNALD_LOCK_FD}<&-
	unset _JOURNALD_LOCK_FD
}

# mkdir -p DIR, marking every directory it had to create.
_journald_mkdir() {
	local dir=$1 missing=() d=$1 m
	while [ -n "$d" ] && [ ! -e "$d" ]; do
		missing+=("$d")
		d=${d%/*}
	done
	for ((m = ${#missing[@]} - 1; m >= 0; m--)); do
		mkdir -m 0755 "${missing[m]}" && : >"${missing[m]}/$_JOURNALD_MARKER" || return 1
	done
	[ -d "$dir" ]
}

# Is DIR a mountpoint in any process's mount namespace?
_journald_mounted_anywhere() {
	cat /proc/[0-9]*/mountinfo 2>/dev/null | awk -v d="$1" '$5 == d { f = 1 } END { exit !f }'
}

# Unmount our tmpfs and remove the mountpoints tests created once nobody mounts them any more.
_journald_release() {
	local d p
	_journald_lock
	for d in "${_JOURNALD_DIRS[@]}"; do
		umount "$d" 2>/dev/null || umount -l "$d" 2>/dev/null
	done
	for d in "${_JOURNALD_DIRS[@]}"; do
		p=$d
		while [ "$p" != / ] && [ -n "$p" ] && [ -f "$p/$_JOURNALD_MARKER" ]; do
			_journald_mounted_anywhere "$p" && break
			rm -f "$p/$_JOURNALD_MARKER"
			rmdir "$p" 2>/dev/null || {
				: >"$p/$_JOURNALD_MARKER"
				break
			}
			p=${p%/*}
		done
	done
	_journald_unlock
}

journald_setup() {
	require_prog journalctl
	# _JOURNALD_NS holds the pid that re-executed itself under unshare (exec keeps the pid).
	if [ "${_JOURNALD_NS:-}" != "$$" ] && _journald_running; then
		JOURNAL_PRIVATE=0
		_journald_since
		export JOURNAL_PRIVATE
		return 0
	fi
	require_root
	require_prog unshare mount umount flock
	_journald_find >/dev/null || skip_all "systemd-journald not found"

	if [ "${_JOURNALD_NS:-}" != "$$" ]; then
		export _JOURNALD_NS=$$
		# shellcheck disable=SC2093 # on failure, fall through to skip
		exec unshare --mount --propagation private -- "${BASH:-bash}" "$0" "$@"
		skip_all "cannot re-execute under unshare"
	fi

	# From here on we are in our own mount namespace.
	local d
	add_cleanup _journald_release
	_journald_lock || skip_all "cannot lock /run"
	for d in "${_JOURNALD_DIRS[@]}"; do
		if ! _journald_mkdir "$d"; then
			_journald_unlock
			skip_all "cannot create $d"
		fi
		if ! mount -t tmpfs -o mode=0755,size=64m sshmend-test-journal "$d"; then
			_journald_unlock
			skip_all "cannot mount a tmpfs on $d"
		fi
	done
	_journald_unlock

	local journald logdir
	journald=$(_journald_find)
	logdir=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-journald.XXXXXX") || return 1
	add_cleanup "rm -rf -- '$logdir'"
	# Its own messages go to its stderr (a file), not to the host's kernel log.
	SYSTEMD_LOG_TARGET=console "$journald" </dev/null >"$logdir/journald.out" 2>&1 &
	JOURNALD_PID=$!
	add_cleanup "stop_pid $JOURNALD_PID"
	if ! wait_for 10 test -S /run/systemd/journal/socket; then
		diag "journald_setup: systemd-journald did not create its socket:"
		diag "$(cat "$logdir/journald.out")"
		return 1
	fi
	JOURNAL_PRIVATE=1
	_journald_since
	export JOURNAL_PRIVATE JOURNALD_PID
	return 0
}

journald_restart() {
	if [ "${JOURNAL_PRIVATE:-0}" != 1 ]; then
		diag "journald_restart: only a private journald is restarted"
		return 1
	fi
	stop_pid "$JOURNALD_PID"
	rm -f /run/systemd/journal/socket
	SYSTEMD_LOG_TARGET=console "$(_journald_find)" </dev/null >/dev/null 2>&1 &
	JOURNALD_PID=$!
	add_cleanup "stop_pid $JOURNALD_PID"
	export JOURNALD_PID
	wait_for 10 test -S /run/systemd/journal/socket
}

_journald_since() {
	local t=${EPOCHREALTIME:-}
	if [ -z "$t" ]; then
		t=$(date +%s.%N)
		t=${t:0:-3}
	fi
	# A little earlier, so clock granularity cannot hide the first entry.
	local s=${t%%[.,]*} us=${t#*[.,]}
	JOURNAL_SINCE="@$((s - 1)).$us"
	export JOURNAL_SINCE
}

journal_query() {
	if [ -z "${JOURNAL_SINCE:-}" ]; then
		diag "journal_query: journald_setup first"
		return 1
	fi
	journalctl -q -o json --no-pager --all --since "$JOURNAL_SINCE" "$@"
}

_journal_has() {
	local out
	out=$(journal_query "$@" 2>/dev/null) || return 1
	[ -n "$out" ]
}

journal_wait() {
	local timeout=$1
	shift
	wait_for "$timeout" _journal_has "$@"
}

# A small parser for one flat JSON object as journalctl prints it: string values, null, numbers,
# arrays of byte values (binary data) and arrays of those (a field with several values).
# shellcheck disable=SC2016 # awk code, not shell
_JOURNAL_FIELD_AWK='
function hexval(h,   i, v) {
	v = 0; h = tolower(h)
	for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1
	return v
}
function utf8(c) {
	if (c < 128) return sprintf("%c", c)
	if (c < 2048) return sprintf("%c%c", 192 + int(c / 64), 128 + c % 64)
	return sprintf("%c%c%c", 224 + int(c / 4096), 128 + int(c / 64) % 64, 128 + c % 64)
}
function ws() { while (pos <= n && index(" \t\r\n", substr(s, pos, 1))) pos++ }
function str(   out, c, hi, lo) {
	pos++; out = ""
	while (pos <= n) {
		c = substr(s, pos, 1)
		if (c == "\"") { pos++; return out }
		if (c == "\\") {
			pos++; c = substr(s, pos, 1)
			if (c == "n") out = out "\n"
			else if (c == "t") out = out "\t"
			else if (c == "r") out = out "\r"
			else if (c == "b") out = out "\b"
			else if (c == "f") out = out "\f"
			else if (c == "u") {
				hi = hexval(substr(s, pos + 1, 4)); pos += 4
				if (hi >= 55296 && hi < 56320 && substr(s, pos + 1, 2) == "\\u") {
					lo = hexval(substr(s, pos + 3, 4)); pos += 6
					hi = 65536 + (hi - 55296) * 1024 + (lo - 56320)
					out = out sprintf("%c%c%c%c", 240 + int(hi / 262144), 128 + int(hi / 4096) % 64, 128 + int(hi / 64) % 64, 128 + hi % 64)
				} else out = out utf8(hi)
			}
			else out = out c
			pos++
			continue
		}
		out = out c; pos++
	}
	bad = 1
	return out
}
function scalar(   start) {
	start = pos
	while (pos <= n && !index(",]} \t\r\n", substr(s, pos, 1))) pos++
	return substr(s, start, pos - start)
}
# value(): parse one value, append its decoded form(s) to vals[], return the number appended.
function value(   c, k, bytes, tok) {
	ws(); c = substr(s, pos, 1)
	if (c == "\"") { vals[++nv] = str(); return 1 }
	if (c == "[") {
		pos++; ws()
		if (substr(s, pos, 1) == "]") { pos++; vals[++nv] = ""; return 1 }
		c = substr(s, pos, 1)
		if (c == "\"" || c == "[") {
			k = 0
			while (pos <= n) {
				k += value(); ws()
				c = substr(s, pos, 1); pos++
				if (c == "]") return k
				if (c != ",") { bad = 1; return k }
			}
			bad = 1; return k
		}
		bytes = ""
		while (pos <= n) {
			ws(); tok = scalar(); bytes = bytes sprintf("%c", tok + 0); ws()
			c = substr(s, pos, 1); pos++
			if (c == "]") { vals[++nv] = bytes; return 1 }
			if (c != ",") { bad = 1; break }
		}
		vals[++nv] = bytes; return 1
	}
	tok = scalar()
	if (tok == "null") return 0
	vals[++nv] = tok; return 1
}
{
	s = $0; n = length(s); pos = 1; bad = 0; found = 0
	ws()
	if (substr(s, pos, 1) != "{") exit 2
	pos++
	while (pos <= n && !bad) {
		ws()
		if (substr(s, pos, 1) == "}") break
		if (substr(s, pos, 1) != "\"") { bad = 1; break }
		key = str(); ws()
		if (substr(s, pos, 1) != ":") { bad = 1; break }
		pos++
		nv = 0; split("", vals)
		value()
		if (key == want) {
			found = 1
			for (i = 1; i <= nv; i++) printf "%s\n", vals[i]
		}
		ws()
		c = substr(s, pos, 1); pos++
		if (c == "}") break
		if (c != ",") bad = 1
	}
	exit found ? 0 : 1
}
'

journal_field() {
	if [ $# -ne 2 ]; then
		diag "usage: journal_field JSONLINE FIELD"
		return 2
	fi
	printf '%s\n' "$1" | head -n 1 | LC_ALL=C awk -v want="$2" "$_JOURNAL_FIELD_AWK"
}

journal_dev_log() {
	[ -e /dev/log ] && return 0
	[ "${JOURNAL_PRIVATE:-0}" = 1 ] || skip_all "no /dev/log and no private journald"
	local devdir
	devdir=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-dev.XXXXXX") || skip_all "mktemp failed"
	add_cleanup "rm -rf -- '$devdir'"
	mkdir "$devdir/upper" "$devdir/work"
	mount -t overlay sshmend-test-dev -o "lowerdir=/dev,upperdir=$devdir/upper,workdir=$devdir/work" \
		/dev || skip_all "cannot mount an overlay on /dev"
	add_cleanup "umount /dev"
	ln -s /run/systemd/journal/dev-log /dev/log
}
