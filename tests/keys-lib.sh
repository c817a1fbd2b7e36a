# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the tests/test-keys-*.sh scripts: approved keys (the [Keys] drop-in directory), their
# sync into authorized_keys and the key audit, with "sshmend daemon" read back from a journald
# (tests/lib/journald.sh) and its READY=1 from tests/lib/notify.sh. Sources tap.sh, sandbox.sh,
# journald.sh, notify.sh and tests/daemon-lib.sh (daemon_start, daemon_journal, ...).
#
# keys_init "$@"          first thing in a test: journald_setup (which may re-execute the script in
#                         a private mount namespace), then needs root, sshmend, tests/notify-recv,
#                         ssh-keygen and setpriv; starts a NOTIFY_SOCKET receiver and makes KEYS_TMP
#                         (a temp dir outside any sandbox, 0755, removed on exit).
# keys_gen NAME [ssh-keygen ARGS...]
#                         a new key pair KEYS_TMP/NAME and KEYS_TMP/NAME.pub with the comment NAME
#                         (default type ed25519). Prints nothing.
# keys_gen_each NAME...   keys_gen NAME (ed25519) for each NAME; Bail out! if ssh-keygen fails.
# keys_pub NAME           the public key line of KEYS_TMP/NAME.pub.
# keys_random N [PREFIX]  N ed25519 key lines of random keys (no private key exists for any), with
#                         the comments PREFIX0, PREFIX1, ... (default r); python3 makes them.
# keys_fp FILE            the SHA256 fingerprint of a public key file, as ssh-keygen -lf prints it.
# keys_uid userK          20000+K, the sandbox user's uid (and gid).
# keys_as userK CMD...    run CMD as the sandbox's userK (setpriv: uid, gid, no other groups).
# keys_ak userK           the path of userK's authorized_keys in the sandbox.
# keys_dropin_dir userK   the path of userK's directory under the sandbox's default drop-in
#                         directory (etc/sshmend/keys.d/userK).
# keys_dropin_put userK FILE [LINE...]
#                         write the drop-in FILE for userK, one LINE a line, root:root 0644 (the
#                         directories created root:root 0755 as needed), renamed into place.
# keys_config LINE...     write the sandbox's etc/sshmend/sshmend.conf (root:root 0644, renamed into
#                         place), one LINE a line.
# keys_block FILE         the lines between sshmend's two marker lines in FILE.
# keys_marker_count FILE  how many begin and end marker lines FILE has, as "BEGIN END".
# keys_state_dir          the key audit's state directory in the sandbox (LOCALSTATEDIR/lib/sshmend,
#                         found, not assumed); empty when there is none.
# keys_daemon_start [ARGS...]
#                         daemon_start "$@" (e.g. --root "$SANDBOX") and wait up to
#                         KEYS_START_TIMEOUT seconds for its READY=1; Bail out! if it does not come.
# keys_ready_count        how many READY=1 our notify socket has received.
# keys_wait_ready_after N wait (up to KEYS_START_TIMEOUT s) for more than N READY=1.
# keys_events EVENT [FIELD=VALUE...]
#                         this daemon's journal entries with SSHMEND_EVENT=EVENT, one JSON line each.
# keys_count EVENT [FIELD=VALUE...]
#                         how many there are.
# keys_messages EVENT [FIELD=VALUE...]
#                         their MESSAGE fields, one a line.
# keys_json_status JSON FINGERPRINT
#                         the "status" of the key with FINGERPRINT in "sshmend keys --json" output
#                         (one line per key line with it).
# keys_bail MSG           "Bail out!" (cleanups still run).

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
# shellcheck source=tests/daemon-lib.sh
. "$top_srcdir/tests/daemon-lib.sh"

KEYS_START_TIMEOUT=${KEYS_START_TIMEOUT:-60}
KEYS_BEGIN='# sshmend: approved keys, managed from the drop-in directory; do not edit'
KEYS_END='# sshmend: end of approved keys'

keys_bail() {
	echo "Bail out! $*"
	exit 1
}

keys_init() {
	journald_setup "$@" || keys_bail "no journal"
	require_root
	require_prog ssh-keygen setpriv find stat awk sed sort grep cmp mktemp
	[ -x "$SSHMEND" ] || skip_all "sshmend not built: $SSHMEND"
	[ -x "$top_builddir/tests/notify-recv" ] || skip_all "tests/notify-recv is not built"
	KEYS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-keys.XXXXXX") || keys_bail "mktemp failed"
	chmod 0755 "$KEYS_TMP"
	add_cleanup "_keys_rm '$KEYS_TMP'"
	notify_start || keys_bail "notify_start failed"
}

_keys_rm() {
	case $1 in
	*/sshmend-keys.*) rm -rf --one-file-system -- "$1" ;;
	esac
}

keys_gen() {
	local name=$1
	shift
	[ $# -gt 0 ] || set -- -t ed25519
	rm -f "$KEYS_TMP/$name" "$KEYS_TMP/$name.pub"
	ssh-keygen -q "$@" -N '' -C "$name" -f "$KEYS_TMP/$name" </dev/null >/dev/null
}

keys_gen_each() {
	local k
	for k in "$@"; do
		keys_gen "$k" || keys_bail "ssh-keygen failed"
	done
}

keys_pub() {
	cat "$KEYS_TMP/$1.pub"
}

keys_random() {
	python3 - "$1" "${2:-r}" <<'EOF'
import base64, os, struct, sys
name = b"ssh-ed25519"
for i in range(int(sys.argv[1])):
    blob = struct.pack(">I", len(name)) + name + struct.pack(">I", 32) + os.urandom(32)
    print("ssh-ed25519 %s %s%d" % (base64.b64encode(blob).decode(), sys.argv[2], i))
EOF
}

keys_fp() {
	ssh-keygen -lf "$1" | awk '{ print $2 }'
}

keys_uid() {
	echo $((SANDBOX_UID_BASE + ${1#user}))
}

keys_as() {
	local uid
	uid=$(keys_uid "$1")
	shift
	setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}

keys_ak() {
	echo "$SANDBOX/home/$1/.ssh/authorized_keys"
}

keys_dropin_dir() {
	echo "$SANDBOX/etc/sshmend/keys.d/$1"
}

keys_dropin_put() {
	local user=$1 file=$2 dir l
	shift 2
	dir=$(keys_dropin_dir "$user")
	install -d -m 0755 -o 0 -g 0 "$SANDBOX/etc/sshmend" "$SANDBOX/etc/sshmend/keys.d" "$dir" ||
		return 1
	for l in "$@"; do
		printf '%s\n' "$l"
	done >"$dir/.$file.new" || return 1
	chown 0:0 "$dir/.$file.new" && chmod 0644 "$dir/.$file.new" &&
		mv -f "$dir/.$file.new" "$dir/$file"
}

keys_config() {
	local l
	install -d -m 0755 -o 0 -g 0 "$SANDBOX/etc/sshmend" || return 1
	for l in "$@"; do
		printf '%s\n' "$l"
	done >"$SANDBOX/etc/sshmend/.sshmend.conf.new" || return 1
	chown 0:0 "$SANDBOX/etc/sshmend/.sshmend.conf.new" &&
		chmod 0644 "$SANDBOX/etc/sshmend/.sshmend.conf.new" &&
		mv -f "$SANDBOX/etc/sshmend/.sshmend.conf.new" "$SANDBOX/etc/sshmend/sshmend.conf"
}

keys_block() {
	awk -v b="$KEYS_BEGIN" -v e="$KEYS_END" '$0 == e { p = 0 } p { print } $0 == b { p = 1 }' "$1"
}

keys_marker_count() {
	awk -v b="$KEYS_BEGIN" -v e="$KEYS_END" '$0 == b { nb++ } $0 == e { ne++ }
		END { printf "%d %d\n", nb, ne }' "$1"
}

keys_state_dir() {
	find "$SANDBOX" -type d -path '*lib/sshmend' -print -quit 2>/dev/null
}

keys_ready_count() {
	notify_count '^READY=1$'
}

_keys_ready_above() {
	[ "$(keys_ready_count)" -gt "$1" ] && return 0
	daemon_alive || {
		diag "the daemon died; its stderr:"
		diag "$(cat "$DAEMON_ERR")"
		return 2
	}
	return 1
}

keys_wait_ready_after() {
	wait_for "$KEYS_START_TIMEOUT" _keys_ready_above "$1"
}

keys_daemon_start() {
	local n
	n=$(keys_ready_count)
	daemon_start "$@"
	keys_wait_ready_after "$n" || keys_bail "the daemon sent no READY=1 within ${KEYS_START_TIMEOUT}s"
}

keys_events() {
	local ev=$1
	shift
	daemon_journal "SSHMEND_EVENT=$ev" "$@"
}

keys_count() {
	local n
	n=$(keys_events "$@" 2>/dev/null | grep -c '^{')
	echo "${n:-0}"
}

keys_messages() {
	local l
	keys_events "$@" 2>/dev/null | while IFS= read -r l; do
		journal_field "$l" MESSAGE
	done
}

keys_json_status() {
	local json=$1 fp=$2 obj
	json=${json//'},{'/$'}\n{'}
	while IFS= read -r obj; do
		case $obj in
		*"\"fingerprint\":\"$fp\""*)
			[[ $obj =~ \"status\":\"([a-z-]*)\" ]] && echo "${BASH_REMATCH[1]}"
			;;
		esac
	done <<<"$json"
}
