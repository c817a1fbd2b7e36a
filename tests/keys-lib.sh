# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# Shared by the tests/test-keys-*.sh scripts: approved keys (the [Keys] drop-in directory), their
# sync into authorized_keys and the key audit, with "sshmend daemon" read back from a journald.
# Sources tests/lib/bootstrap.sh (the sandbox, its users, the daemon and its journal entries).
#
# keys_init "$@"          first thing in a test: journald_setup (which may re-execute the script in
#                         a private mount namespace), then needs root, sshmend, tests/notify-recv,
#                         ssh-keygen and setpriv; starts a NOTIFY_SOCKET receiver and makes TEST_TMP.
# keys_gen NAME [ssh-keygen ARGS...]
#                         a new key pair TEST_TMP/NAME and TEST_TMP/NAME.pub with the comment NAME
#                         (default type ed25519). Prints nothing.
# keys_gen_each NAME...   keys_gen NAME (ed25519) for each NAME; Bail out! if ssh-keygen fails.
# keys_pub NAME           the public key line of TEST_TMP/NAME.pub.
# keys_random N [PREFIX]  N ed25519 key lines of random keys (no private key exists for any), with
#                         the comments PREFIX0, PREFIX1, ... (default r); python3 makes them.
# keys_fp FILE            the SHA256 fingerprint of a public key file, as ssh-keygen -lf prints it.
# keys_ak userK           the path of userK's authorized_keys in the sandbox.
# keys_dropin_dir userK   the path of userK's directory under the sandbox's default drop-in
#                         directory (etc/sshmend/keys.d/userK).
# keys_dropin_put userK FILE [LINE...]
#                         write the drop-in FILE for userK, one LINE a line, root:root 0644 (the
#                         directories created root:root 0755 as needed), renamed into place.
# keys_rewrite userK FILE LINE
#                         one drop-in change and the rewrite it brings: userK's drop-in FILE
#                         written with LINE when there is none, else removed; then waits up to
#                         10 s for the daemon to replace authorized_keys (a new inode).
# keys_block FILE         the lines between sshmend's two marker lines in FILE.
# keys_marker_count FILE  how many begin and end marker lines FILE has, as "BEGIN END".
# keys_state_dir          the key audit's state directory in the sandbox (LOCALSTATEDIR/lib/sshmend,
#                         found, not assumed); empty when there is none.
# keys_daemon_start [ARGS...]
#                         daemon_start "$@" (e.g. --root "$SANDBOX") and daemon_wait_ready; Bail
#                         out! if its READY=1 does not come.
# keys_json_status JSON FINGERPRINT
#                         the "status" of the key with FINGERPRINT in "sshmend keys --json" output
#                         (one line per key line with it).

# shellcheck source=tests/lib/bootstrap.sh
. "${top_srcdir:-$(dirname "${BASH_SOURCE[0]}")/..}/tests/lib/bootstrap.sh"

KEYS_BEGIN='# sshmend: approved keys, managed from the drop-in directory; do not edit'
KEYS_END='# sshmend: end of approved keys'

keys_init() {
	journald_setup "$@" || bail "no journal"
	require_root
	require_prog ssh-keygen setpriv find stat awk sed sort grep cmp mktemp
	require_sshmend notify-recv
	test_tmp || bail "mktemp failed"
	notify_start || bail "notify_start failed"
}

keys_gen() {
	local name=$1
	shift
	[ $# -gt 0 ] || set -- -t ed25519
	rm -f "$TEST_TMP/$name" "$TEST_TMP/$name.pub"
	ssh-keygen -q "$@" -N '' -C "$name" -f "$TEST_TMP/$name" </dev/null >/dev/null
}

keys_gen_each() {
	local k
	for k in "$@"; do
		keys_gen "$k" || bail "ssh-keygen failed"
	done
}

keys_pub() {
	cat "$TEST_TMP/$1.pub"
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

keys_ak() {
	echo "$SANDBOX/home/$1/.ssh/authorized_keys"
}

keys_dropin_dir() {
	echo "$SANDBOX/etc/sshmend/keys.d/$1"
}

keys_dropin_put() {
	local user=$1 file=$2 dir
	shift 2
	dir=$(keys_dropin_dir "$user")
	install -d -m 0755 -o 0 -g 0 "$SANDBOX/etc/sshmend" "$SANDBOX/etc/sshmend/keys.d" "$dir" &&
		put_lines "$dir/$file" "$@"
}

keys_rewrite() {
	local ak ino
	ak=$(keys_ak "$1")
	# shellcheck disable=SC2034 # read by the expression wait_until evaluates
	ino=$(stat -c %i "$ak")
	if [ -e "$(keys_dropin_dir "$1")/$2" ]; then
		rm -f "$(keys_dropin_dir "$1")/$2"
	else
		keys_dropin_put "$1" "$2" "$3"
	fi
	wait_until 10 '[ "$(stat -c %i "$ak")" != "$ino" ]'
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

keys_daemon_start() {
	daemon_start "$@"
	daemon_wait_ready "$DAEMON_START_TIMEOUT" || bail "the daemon sent no READY=1 within ${DAEMON_START_TIMEOUT}s"
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
