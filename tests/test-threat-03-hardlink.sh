#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 3: authorized_keys is a hard link to a file elsewhere (etc/passwd, a
# writable root file, another user's keys, a file outside the sandbox). The link is reported
# (problem "hardlink", action "refused"); the inode keeps its owner and mode, so no other name
# of it changes; the drift of .ssh above it is still repaired. Under Mode=strict a repair would
# chown the linked file to the user (CVE-2017-18078).
# shellcheck disable=SC2317 # functions run through threat_mode
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"

outside=$TEST_TMP/outside
mkdir -m 0755 "$outside"
echo "a root file outside the sandbox" >"$outside/file"
chmod 0666 "$outside/file"
threat_watch "$outside" "$outside/file"

# link_keys USER TARGET-RELPATH: make USER's authorized_keys another name of TARGET.
link_keys() {
	rm -f -- "$SANDBOX/home/$1/.ssh/authorized_keys"
	ln -- "$2" "$SANDBOX/home/$1/.ssh/authorized_keys"
}

setup() {
	sandbox_create 6 || exit 1
	local k
	for k in 1 2 3 4 5 6; do
		chmod 0777 "$SANDBOX/home/user$k/.ssh"
	done
	printf 'Welcome\n' >"$SANDBOX/etc/motd"
	chmod 0666 "$SANDBOX/etc/motd"
	link_keys user1 "$SANDBOX/etc/passwd"                    # root 0644, what tmpfiles gave away
	link_keys user2 "$SANDBOX/etc/motd"                      # root 0666: a mode repair would show
	link_keys user3 "$SANDBOX/home/user4/.ssh/authorized_keys" # another user's keys
	if ! link_keys user5 "$outside/file" 2>/dev/null; then      # another file system? then inside
		diag "cannot link across to $outside/file; user5 links etc/login.defs instead"
		link_keys user5 "$SANDBOX/etc/login.defs"
	fi
	# user6: no trap, legitimate drift on the keys file too
	chmod 0646 "$SANDBOX/home/user6/.ssh/authorized_keys"
}

for mode in sshd strict; do
	threat_mode "$mode" setup
	if [ "$mode" = sshd ]; then
		ssh_mode=0755 keys_mode=0644
	else
		ssh_mode=0700 keys_mode=0600
	fi
	all_before=$(threat_state)

	sm check --json
	is "$SM_RC" 1 "$mode: check finds drift (exit 1)"
	for u in user1 user2 user3 user5; do
		expect_finding "$u" "/home/$u/.ssh/authorized_keys" hardlink refused \
			"$mode: check: $u's hard-linked keys file is refused"
		expect_finding "$u" "/home/$u/.ssh" mode would-fix "$mode: check: $u's .ssh would be fixed"
	done
	same_state "$all_before" "$(threat_state)" "$mode: check changed nothing"

	repaired=(home/user6/.ssh/authorized_keys)
	for u in user1 user2 user3 user4 user5 user6; do
		repaired+=("home/$u/.ssh")
	done
	before=$(threat_state "${repaired[@]}")

	sm fix --json
	is "$SM_RC" 1 "$mode: fix exits 1 (a hard link was refused)"
	for u in user1 user2 user3 user5; do
		uid=$(uid_of "$u")
		expect_finding "$u" "/home/$u/.ssh/authorized_keys" hardlink refused \
			"$mode: $u's hard-linked keys file is refused"
		expect_field "$u" "/home/$u/.ssh/authorized_keys" final_mode "" \
			"$mode: $u's hard-linked keys file was not touched (no final_mode)"
		expect_finding "$u" "/home/$u/.ssh" mode fixed "$mode: $u's .ssh is fixed"
		expect_stat "home/$u/.ssh" "$uid $uid $ssh_mode d" "$mode: $u's .ssh is $ssh_mode"
	done
	# user4's own keys file now has a second name in user3's .ssh: not touched either.
	expect_finding user4 /home/user4/.ssh/authorized_keys hardlink refused \
		"$mode: user4's keys file, linked from user3's .ssh, is refused too"
	expect_stat etc/passwd "0 0 0644 f" "$mode: etc/passwd is still root 0644"
	expect_stat etc/motd "0 0 0666 f" "$mode: etc/motd keeps its mode"
	expect_stat home/user4/.ssh/authorized_keys "20004 20004 0600 f" \
		"$mode: user4's keys file keeps its owner"
	expect_finding user6 /home/user6/.ssh/authorized_keys mode fixed \
		"$mode: legitimate drift: user6's keys file is fixed"
	expect_stat home/user6/.ssh/authorized_keys "20006 20006 $keys_mode f" \
		"$mode: user6's keys file is $keys_mode"
	same_state "$before" "$(threat_state "${repaired[@]}")" \
		"$mode: nothing outside the repaired chains changed (etc, other users, outside file)"
	sandbox_destroy
done

done_testing
