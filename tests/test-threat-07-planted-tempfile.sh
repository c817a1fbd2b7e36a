#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 7: a planted symlink or file where a key writer's temporary file would go
# is never followed and never reused.
#
# This covers the repair path, with no approved keys to write: "sshmend fix" never creates,
# follows, opens or reuses any file in .ssh (or the home) beyond the chain elements. Names a
# writer might use (.authorized_keys.tmp, authorized_keys.new, .sshmend-*, ...) are planted as
# symlinks to etc files, to another user's keys and outside the sandbox, as a FIFO, as a hard
# link to an etc file and as files of the user or of another user. After several fix runs no
# new file exists anywhere, every planted name and every target is unchanged, and the
# legitimate drift of .ssh and authorized_keys is repaired.
#
# The key writer's issue extends this test: give the users approved keys so that the writer
# runs here too, and assert that its temporary file is created O_EXCL under a fresh name and
# gone afterwards, that none of the planted names is opened, followed or renamed over, that a
# missing authorized_keys is created only as a regular file of the user, and that the keys land
# only in authorized_keys.
# shellcheck disable=SC2317 # functions run through threat_mode
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"
require_prog mkfifo
THREAT_TIMEOUT=20

# /etc/shadow inside --root is the sandbox's; the host's /etc is read-only for this test.
if threat_protect /etc; then
	abs_shadow=/etc/shadow
else
	diag "cannot make /etc read-only here: relative symlinks stand in for absolute ones"
	abs_shadow=
fi
outside=$TEST_TMP/outside
mkdir -m 0755 "$outside"
echo "outside keys" >"$outside/keys"
chmod 0666 "$outside/keys"
threat_watch "$outside" "$outside/keys"

setup() {
	sandbox_create 3 || exit 1
	local s=$SANDBOX h1=$SANDBOX/home/user1 h2=$SANDBOX/home/user2
	printf 'root:!:19000:0:99999:7:::\n' >"$s/etc/shadow"
	chmod 0640 "$s/etc/shadow"
	printf 'Welcome\n' >"$s/etc/motd"
	chmod 0666 "$s/etc/motd"

	# user1: keys present, .ssh and keys drifted, plants beside them
	chmod 0777 "$h1/.ssh"
	chmod 0666 "$h1/.ssh/authorized_keys"
	ln -s ../../../etc/shadow "$h1/.ssh/.authorized_keys.tmp"
	ln -s "${abs_shadow:-../../../etc/shadow}" "$h1/.ssh/authorized_keys.new"
	mkfifo -m 0666 "$h1/.ssh/authorized_keys.tmp"
	ln "$s/etc/motd" "$h1/.ssh/.sshmend-Xq3ZpA"
	ln -s ../../../etc "$h1/.ssh/.sshmend-tmp"
	ln -s ../../../etc/shadow "$h1/.ssh/.authorized_keys.sshmend-0000000000000000"
	echo "user2's" >"$h1/.ssh/authorized_keys~"
	chown 20002:20002 "$h1/.ssh/authorized_keys~"
	chmod 0666 "$h1/.ssh/authorized_keys~"
	echo "lock" >"$h1/.ssh/.authorized_keys.lock"
	chmod 0666 "$h1/.ssh/.authorized_keys.lock"
	ln -s ../../etc "$h1/.ssh.tmp"
	ln -s ../../root/.ssh "$h1/.ssh.new"
	chown -h 20001:20001 "$h1/.ssh/.authorized_keys.tmp" "$h1/.ssh/authorized_keys.new" \
		"$h1/.ssh/authorized_keys.tmp" "$h1/.ssh/.sshmend-tmp" "$h1/.ssh/.authorized_keys.lock" \
		"$h1/.ssh/.authorized_keys.sshmend-0000000000000000" \
		"$h1/.ssh.tmp" "$h1/.ssh.new"

	# user2: no keys file at all (a writer would create one), .ssh drifted, plants
	rm -f "$h2/.ssh/authorized_keys"
	chmod 0777 "$h2/.ssh"
	ln -s ../../../etc/shadow "$h2/.ssh/.authorized_keys.tmp"
	ln -s "$outside/keys" "$h2/.ssh/authorized_keys.new"
	ln -s ../../user3/.ssh/authorized_keys "$h2/.ssh/.sshmend-new"
	chown -h 20002:20002 "$h2/.ssh/.authorized_keys.tmp" "$h2/.ssh/authorized_keys.new" \
		"$h2/.ssh/.sshmend-new"
}

planted1=(.ssh/.authorized_keys.tmp .ssh/authorized_keys.new .ssh/authorized_keys.tmp
	.ssh/.sshmend-Xq3ZpA .ssh/.sshmend-tmp .ssh/authorized_keys~ .ssh/.authorized_keys.lock
	.ssh/.authorized_keys.sshmend-0000000000000000 .ssh.tmp .ssh.new)
# The planted names that are not symlinks: nothing may even open them.
planted1_inodes=(.ssh/authorized_keys.tmp .ssh/.sshmend-Xq3ZpA .ssh/authorized_keys~
	.ssh/.authorized_keys.lock)
planted2=(.ssh/.authorized_keys.tmp .ssh/authorized_keys.new .ssh/.sshmend-new)

for mode in sshd strict; do
	threat_mode "$mode" setup
	if [ "$mode" = sshd ]; then
		ssh_mode=0755 keys_mode=0644
	else
		ssh_mode=0700 keys_mode=0600
	fi
	repaired=(home/user1/.ssh home/user1/.ssh/authorized_keys home/user2/.ssh)
	before=$(threat_state "${repaired[@]}")
	list1=$(ls -A "$SANDBOX/home/user1/.ssh")
	list2=$(ls -A "$SANDBOX/home/user2/.ssh")
	watching=1
	opens_watch_start "${planted1_inodes[@]/#/$SANDBOX/home/user1/}" || {
		watching=0
		diag "cannot watch for opens (inotifywait); that check is left out"
	}

	for run in 1 2 3; do
		sm fix --json
		ok "$mode: fix run $run does not hang" test "$SM_RC" -ne 124 -a "$SM_RC" -ne 137
		is "$SM_RC" 0 "$mode: fix run $run exits 0 (nothing in the chain is a trap)"
		if [ "$run" = 1 ]; then
			expect_finding user1 /home/user1/.ssh mode fixed "$mode: user1's .ssh is fixed"
			expect_finding user1 /home/user1/.ssh/authorized_keys mode fixed \
				"$mode: user1's keys file is fixed"
			expect_finding user2 /home/user2/.ssh mode fixed "$mode: user2's .ssh is fixed"
		else
			is "$(json_findings user1)$(json_findings user2)" "" "$mode: run $run finds nothing left"
		fi
		for p in "${planted1[@]}"; do
			expect_no_finding user1 "/home/user1/$p" "$mode: run $run: $p is not looked at"
		done
		for p in "${planted2[@]}"; do
			expect_no_finding user2 "/home/user2/$p" "$mode: run $run: user2's $p is not looked at"
		done
	done

	if [ "$watching" = 1 ]; then
		opens_watch_stop
		is "$OPENED" "" "$mode: no planted file, FIFO or hard link was opened"
	fi
	is "$(ls -A "$SANDBOX/home/user1/.ssh")" "$list1" "$mode: no file appeared or went in user1's .ssh"
	is "$(ls -A "$SANDBOX/home/user2/.ssh")" "$list2" "$mode: no file appeared or went in user2's .ssh"
	ok "$mode: user2 still has no authorized_keys" \
		test ! -e "$SANDBOX/home/user2/.ssh/authorized_keys" -a \
		! -L "$SANDBOX/home/user2/.ssh/authorized_keys"
	expect_stat home/user1/.ssh "20001 20001 $ssh_mode d" "$mode: user1's .ssh is $ssh_mode"
	expect_stat home/user1/.ssh/authorized_keys "20001 20001 $keys_mode f" \
		"$mode: user1's keys file is $keys_mode"
	expect_stat home/user2/.ssh "20002 20002 $ssh_mode d" "$mode: user2's .ssh is $ssh_mode"
	expect_stat etc/shadow "0 0 0640 f" "$mode: etc/shadow is unchanged"
	expect_stat etc/motd "0 0 0666 f" "$mode: etc/motd (hard-linked in) is unchanged"
	same_state "$before" "$(threat_state "${repaired[@]}")" \
		"$mode: nothing else changed or appeared (plants, their targets, etc, root, user3, outside)"
	sandbox_destroy
done

done_testing
