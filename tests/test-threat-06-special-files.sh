#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 6: a FIFO, a socket or a device node stands where authorized_keys or .ssh
# should be. sshmend never opens it (a FIFO without a writer would block forever, a device may
# act on open; only O_PATH descriptors, which inotify does not report as opens): every run
# finishes within a timeout, reports the element once (problem "type", action "refused"), leaves
# its owner and mode alone, and still repairs the drift of the home above it.
# shellcheck disable=SC2317 # functions run through threat_mode
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"
require_prog mkfifo mknod

MKSOCK=$top_builddir/tests/mksock
[ -x "$MKSOCK" ] || skip_all "tests/mksock not built"
THREAT_TIMEOUT=20

# special KIND PATH UID: put a KIND (fifo, socket, chardev, blockdev) owned by UID, mode 0666
# (0777 for a socket) at PATH.
special() {
	local kind=$1 path=$2 uid=$3
	rm -rf -- "$path"
	case $kind in
	fifo) mkfifo -m 0666 "$path" ;;
	socket) "$MKSOCK" "$path" && chmod 0777 "$path" ;;
	chardev) mknod -m 0666 "$path" c 1 3 ;;
	blockdev) mknod -m 0666 "$path" b 7 0 ;;
	esac || return 1
	chown -h "$uid:$uid" "$path"
}

# user: where and what
layout=(
	"user1 .ssh/authorized_keys fifo p"
	"user2 .ssh/authorized_keys socket s"
	"user3 .ssh/authorized_keys chardev c"
	"user4 .ssh/authorized_keys blockdev b"
	"user5 .ssh fifo p"
	"user6 .ssh socket s"
	"user7 .ssh chardev c"
)
N=8 # user8: no trap, legitimate drift only

setup() {
	sandbox_create "$N" || exit 1
	local k entry u rel kind t
	for ((k = 1; k <= N; k++)); do
		chmod 0777 "$SANDBOX/home/user$k"
	done
	chmod 0777 "$SANDBOX/home/user8/.ssh"
	chmod 0666 "$SANDBOX/home/user8/.ssh/authorized_keys"
	traps=()
	for entry in "${layout[@]}"; do
		read -r u rel kind t <<<"$entry"
		if special "$kind" "$SANDBOX/home/$u/$rel" "$(uid_of "$u")"; then
			traps+=("$entry")
		else
			diag "cannot create a $kind here; $u is left out"
		fi
	done
	# A second FIFO as user1's authorized_keys2: both keys paths are traps.
	special fifo "$SANDBOX/home/user1/.ssh/authorized_keys2" 20001
}

for mode in sshd strict; do
	threat_mode "$mode" setup
	if [ "$mode" = sshd ]; then
		home_mode=0755 ssh_mode=0755 keys_mode=0644
	else
		home_mode=0700 ssh_mode=0700 keys_mode=0600
	fi
	all_before=$(threat_state)
	watched=()
	for entry in "${traps[@]}"; do
		read -r u rel kind t <<<"$entry"
		watched+=("$SANDBOX/home/$u/$rel")
	done
	watched+=("$SANDBOX/home/user1/.ssh/authorized_keys2")
	watching=1
	opens_watch_start "${watched[@]}" || {
		watching=0
		diag "cannot watch for opens (inotifywait); that check is left out"
	}

	sm check --json
	ok "$mode: check does not hang" test "$SM_RC" -ne 124 -a "$SM_RC" -ne 137
	is "$SM_RC" 1 "$mode: check finds drift (exit 1)"
	for entry in "${traps[@]}"; do
		read -r u rel kind t <<<"$entry"
		expect_finding "$u" "/home/$u/$rel" type refused "$mode: check: $u's $rel ($kind) is refused"
	done
	same_state "$all_before" "$(threat_state)" "$mode: check changed nothing"

	repaired=(home/user8/.ssh home/user8/.ssh/authorized_keys)
	for ((k = 1; k <= N; k++)); do
		repaired+=("home/user$k")
	done
	before=$(threat_state "${repaired[@]}")

	sm fix --json
	ok "$mode: fix does not hang" test "$SM_RC" -ne 124 -a "$SM_RC" -ne 137
	is "$SM_RC" 1 "$mode: fix exits 1 (special files were refused)"
	for entry in "${traps[@]}"; do
		read -r u rel kind t <<<"$entry"
		uid=$(uid_of "$u")
		expect_finding "$u" "/home/$u/$rel" type refused "$mode: $u's $rel ($kind) is refused"
		perm=0666
		[ "$kind" = socket ] && perm=0777
		expect_stat "home/$u/$rel" "$uid $uid $perm $t" "$mode: $u's $rel ($kind) is left alone"
		is "$(json_user_field "$u" sshd_accepts)" false "$mode: $u: sshd cannot use the keys"
		expect_finding "$u" "/home/$u" mode fixed "$mode: $u's home above the $kind is fixed"
		expect_stat "home/$u" "$uid $uid $home_mode d" "$mode: $u's home is $home_mode"
	done
	if [ "$watching" = 1 ]; then
		opens_watch_stop
		is "$OPENED" "" "$mode: check and fix never opened a special file (O_PATH only)"
	fi
	expect_finding user1 /home/user1/.ssh/authorized_keys2 type refused \
		"$mode: user1's authorized_keys2 (fifo) is refused"
	expect_stat home/user1/.ssh/authorized_keys2 "20001 20001 0666 p" \
		"$mode: user1's authorized_keys2 (fifo) is left alone"
	expect_finding user8 /home/user8/.ssh/authorized_keys mode fixed \
		"$mode: legitimate drift: user8's keys file is fixed"
	expect_stat home/user8/.ssh "20008 20008 $ssh_mode d" "$mode: user8's .ssh is $ssh_mode"
	expect_stat home/user8/.ssh/authorized_keys "20008 20008 $keys_mode f" \
		"$mode: user8's keys file is $keys_mode"
	same_state "$before" "$(threat_state "${repaired[@]}")" \
		"$mode: nothing outside the repaired chains changed (special files, etc, root)"
	sandbox_destroy
done

done_testing
