# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the tests/test-threat-*.sh scripts (the scenarios of SECURITY.md): sources
# tests/lib/bootstrap.sh, runs sshmend against the sandbox, reads its JSON, records what must not
# change.
#
# threat_init "$@"        first thing in a test: needs root; re-executes the script once in a
#                         private mount namespace (unshare) where that is possible, so that the
#                         host directories an absolute symlink names can be made read-only there
#                         (threat_protect); THREAT_ISOLATED is 1 there, else 0. Makes TEST_TMP
#                         (test_tmp).
# threat_protect DIR      in the private namespace only (else return 1): make the host's DIR
#                         (/etc, /root) read-only there, so that an sshmend that wrongly resolved
#                         an absolute symlink against the host instead of --root could not change
#                         anything in it (its mistake still shows in the JSON and in the sandbox).
#                         Host processes outside the namespace are not affected. Refuses (return 1)
#                         a DIR holding the build, the sources, the sandbox or TMPDIR.
# threat_watch PATH...    host paths outside the sandbox (a symlink's target) whose owner, mode,
#                         type and content threat_state also records.
# threat_config MODE      write the sandbox's etc/sshmend/sshmend.conf with [Policy] Mode=MODE.
# threat_mode MODE CMD... one round of a test in MODE (sshd or strict): a diagnostic line, CMD (the
#                         script's setup of a fresh sandbox), then Mode=strict when MODE is strict.
# sm ARGS...              run "$SSHMEND --root $SANDBOX ARGS..." under timeout; sets SM_OUT
#                         (stdout), SM_ERR (stderr) and SM_RC (124: it hung).
# json_findings USER      the findings of USER in SM_OUT, one JSON object per line.
# json_finding USER PATH  the findings whose path is PATH.
# json_field JSON KEY     the value of KEY in one finding (strings unquoted).
# json_user_field USER KEY  a top-level value of USER's object (e.g. sshd_accepts).
# expect_finding USER PATH PROBLEM ACTION [DESC]
#                         one test: exactly one finding for PATH, with that problem and action.
# expect_field USER PATH KEY VALUE [DESC]
# expect_no_finding USER PATH [DESC]
# expect_nothing_under USER PREFIX [DESC]
#                         one test: no finding of USER names PREFIX or a path below it.
# threat_state [RELPATH...]
#                         everything that must not change: sandbox_snapshot of the whole sandbox
#                         and the checksum of every regular file in it (sshmend never writes
#                         content), less the owner and mode of the RELPATHs given (the elements
#                         the run is meant to repair), plus the sandbox directory itself and
#                         every watched path outside it.
# same_state BEFORE AFTER DESC
#                         one test: the two states are equal (the difference is printed if not).
# opens_watch_start PATH...
#                         watch PATHs (inotifywait) for anything that opens them for reading or
#                         writing (an O_PATH descriptor does not count); return 1 if that cannot
#                         be done (no inotifywait).
# opens_watch_stop        stop watching; OPENED is the list of paths opened meanwhile (relative to
#                         the sandbox), one a line.

# shellcheck source=tests/lib/bootstrap.sh
. "${top_srcdir:-$(dirname "${BASH_SOURCE[0]}")/..}/tests/lib/bootstrap.sh"

THREAT_TIMEOUT=${THREAT_TIMEOUT:-60}
THREAT_WATCHED=()

threat_init() {
	require_root
	require_prog timeout find sort sha256sum stat awk sed diff
	# shellcheck disable=SC2119 # sshmend alone, no helper program
	require_sshmend

	if [ -z "${_THREAT_OUTER_NS:-}" ] && command -v unshare >/dev/null 2>&1 &&
		unshare --mount --propagation private true 2>/dev/null; then
		_THREAT_OUTER_NS=$(readlink /proc/self/ns/mnt)
		export _THREAT_OUTER_NS
		exec unshare --mount --propagation private -- "${BASH:-bash}" "$0" "$@"
	fi
	THREAT_ISOLATED=0
	if [ -n "${_THREAT_OUTER_NS:-}" ] &&
		[ "$(readlink /proc/self/ns/mnt)" != "$_THREAT_OUTER_NS" ]; then
		THREAT_ISOLATED=1
	fi
	[ "$THREAT_ISOLATED" = 1 ] ||
		diag "no private mount namespace: absolute symlinks into /etc and /root are left out"

	test_tmp || bail "mktemp failed"
}

threat_watch() {
	THREAT_WATCHED+=("$@")
}

# Is $1 the same as or an ancestor of $2?
_threat_holds() {
	local a=${1%/} b=$2
	[ -n "$a" ] || return 0
	[ "$b" = "$a" ] || [ "${b#"$a"/}" != "$b" ]
}

threat_protect() {
	local dir=$1 vital v
	[ "${THREAT_ISOLATED:-0}" = 1 ] || return 1
	case $dir in
	/?*) ;;
	*) return 1 ;;
	esac
	[ -d "$dir" ] && [ ! -L "$dir" ] || return 1
	for vital in "$SSHMEND" "$top_srcdir" "$top_builddir" "$TEST_TMP" "${SANDBOX:-$TEST_TMP}" \
		"$PWD" "${TMPDIR:-/tmp}"; do
		v=$(readlink -f -- "$vital" 2>/dev/null) || v=$vital
		_threat_holds "$dir" "$v" && return 1
	done
	mount --bind "$dir" "$dir" || return 1
	add_cleanup "umount -l '$dir' 2>/dev/null"
	mount -o remount,bind,ro "$dir" || return 1
	# Prove it: a change of mode must fail here (and would change nothing: same mode).
	if chmod "$(stat -c %a "$dir")" "$dir" 2>/dev/null; then
		umount -l "$dir"
		return 1
	fi
	return 0
}

threat_config() {
	sandbox_config '[Policy]' "Mode=$1"
}

threat_mode() {
	local mode=$1
	shift
	diag "--- Mode=$mode"
	"$@"
	[ "$mode" = sshd ] || threat_config strict
}

sm() {
	local errf=$TEST_TMP/sm.err
	SM_RC=0
	SM_OUT=$(timeout -k 5 "$THREAT_TIMEOUT" "$SSHMEND" --root "$SANDBOX" "$@" 2>"$errf" </dev/null) ||
		SM_RC=$?
	SM_ERR=$(<"$errf")
	if [ "$SM_RC" -gt 1 ]; then
		diag "sshmend $* exited $SM_RC"
		[ -z "$SM_ERR" ] || diag "stderr: $SM_ERR"
	fi
	_sm_index
	return 0
}

# Index SM_OUT, one line of JSON, with bash alone (the tests look things up hundreds of times):
# _SM_HEAD[user] is the user's object up to its findings, _SM_LIST[user] its findings (one object
# a line), _SM_FIND["user path"] the findings of one path. No value holds '{' or '}'.
declare -A _SM_HEAD=() _SM_LIST=() _SM_FIND=()
_sm_index() {
	local s=$SM_OUT u part fs f path
	_SM_HEAD=() _SM_LIST=() _SM_FIND=()
	while [[ $s == *'{"user":"'* ]]; do
		s=${s#*'{"user":"'}
		u=${s%%'"'*}
		part=${s%%'{"user":"'*}
		_SM_HEAD[$u]=${part%%'"findings":['*}
		fs=${part#*'"findings":['}
		while [[ $fs == '{"path":"'* ]]; do
			f=${fs%%'}'*}'}'
			fs=${fs#*'}'}
			fs=${fs#,}
			path=${f#'{"path":"'}
			path=${path%%'"'*}
			_SM_FIND["$u $path"]+=$f$'\n'
			_SM_LIST[$u]+=$f$'\n'
		done
	done
}

json_findings() {
	printf '%s' "${_SM_LIST[$1]-}"
}

json_finding() {
	printf '%s' "${_SM_FIND["$1 $2"]-}"
}

json_field() {
	local re="[{,]\"$2\":(\"[^\"]*\"|[^,}]*)"
	[[ $1 =~ $re ]] || return 0
	local v=${BASH_REMATCH[1]}
	v=${v#\"}
	printf '%s\n' "${v%\"}"
}

json_user_field() {
	json_field "${_SM_HEAD[$1]-}" "$2"
}

expect_finding() {
	local user=$1 path=$2 problem=$3 action=$4 desc=${5:-"$1: $2 is $3, $4"}
	local lines n got
	lines=${_SM_FIND["$user $path"]-}
	n=${lines//[!$'\n']/}
	n=${#n}
	if [ "$n" -eq 1 ]; then
		got="problem=$(json_field "$lines" problem) action=$(json_field "$lines" action)"
	else
		got="$n findings"
	fi
	is "$got" "problem=$problem action=$action" "$desc" || {
		[ -z "$lines" ] || diag "finding: $lines"
		[ -n "$lines" ] || diag "all of $user's findings: $(json_findings "$user")"
		return 1
	}
}

expect_field() {
	local user=$1 path=$2 key=$3 value=$4 desc=${5:-"$1: $2 $3 is $4"}
	local line
	line=${_SM_FIND["$user $path"]-}
	line=${line%%$'\n'*}
	is "$(json_field "$line" "$key")" "$value" "$desc" || {
		diag "finding: ${line:-none}"
		return 1
	}
}

expect_no_finding() {
	local user=$1 path=$2 desc=${3:-"$1: no finding for $2"}
	is "$(json_finding "$user" "$path")" "" "$desc"
}

expect_nothing_under() {
	local user=$1 prefix=${2%/} desc=${3:-"$1: no finding at or below $2"}
	local f bad=
	while IFS= read -r f; do
		case $f in
		'{"path":"'"$prefix"'",'* | '{"path":"'"$prefix"/*) bad+=$f$'\n' ;;
		esac
	done <<<"${_SM_LIST[$user]-}"
	is "$bad" "" "$desc"
}

threat_state() {
	local excl
	excl=$(printf '%s\n' "$@")
	stat -c '. %u %g %a %F' -- "$SANDBOX"
	{
		# shellcheck disable=SC2119 # no argument: the whole sandbox, paths without "./"
		sandbox_snapshot
		(cd "$SANDBOX" && find . -mindepth 1 -type f -exec sha256sum -- {} + |
			sed 's|^\([0-9a-f]*\)  \./\(.*\)$|\2 sha256 \1|')
	} | awk -v excl="$excl" '
		BEGIN { n = split(excl, a, "\n"); for (i = 1; i <= n; i++) skip[a[i]] = 1 }
		$2 == "sha256" || !($1 in skip)' | LC_ALL=C sort
	local p
	for p in "${THREAT_WATCHED[@]}"; do
		if [ -e "$p" ] || [ -L "$p" ]; then
			stat -c 'outside %n %u %g %a %F' -- "$p"
			if [ -f "$p" ] && [ ! -L "$p" ]; then
				echo "outside $p sha256 $(sha256sum <"$p" | cut -d' ' -f1)"
			fi
		else
			echo "outside $p absent"
		fi
	done
}

same_state() {
	local before=$1 after=$2 desc=$3
	if [ "$before" = "$after" ]; then
		ok "$desc" true
		return 0
	fi
	ok "$desc" false
	diag "$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^[<>]')"
	return 1
}

_OPENS_PID=
opens_watch_start() {
	command -v inotifywait >/dev/null 2>&1 || return 1
	: >"$TEST_TMP/opens" && : >"$TEST_TMP/opens.err" || return 1
	inotifywait -m -e open --format '%w' -- "$@" >"$TEST_TMP/opens" 2>"$TEST_TMP/opens.err" &
	_OPENS_PID=$!
	add_cleanup opens_watch_stop
	if ! wait_for 10 grep -q 'Watches established' "$TEST_TMP/opens.err"; then
		diag "inotifywait: $(cat "$TEST_TMP/opens.err")"
		opens_watch_stop
		return 1
	fi
}

opens_watch_stop() {
	[ -n "$_OPENS_PID" ] || return 0
	sleep 0.2 # let the last events arrive
	kill "$_OPENS_PID" 2>/dev/null
	wait "$_OPENS_PID" 2>/dev/null
	_OPENS_PID=
	# shellcheck disable=SC2034 # read by the tests
	OPENED=$(sed "s|^$SANDBOX/||" "$TEST_TMP/opens" | sort -u)
}
