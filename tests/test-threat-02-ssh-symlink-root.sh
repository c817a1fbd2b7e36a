#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 2: ~/.ssh is a symlink to /root/.ssh (or to another user's .ssh, or to a
# directory outside the sandbox). The symlink is reported (problem "symlink", action "refused"),
# nothing behind it is judged or changed, and the drift of the home above it is still repaired.
# A followed repair would show: /root would gain o+x and root's keys o+r (or, under Mode=strict,
# be given to the user).
# shellcheck disable=SC2317 # functions run through threat_mode
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"

# The symlink to /root/.ssh names the sandbox's root/.ssh (inside --root); the host's /root is
# made read-only for this test, should sshmend ever resolve it against the host instead.
if threat_protect /root; then
	rootssh1=/root/.ssh
else
	rootssh1=../../root/.ssh # not without that protection
	diag "cannot make /root read-only here: a relative symlink stands in for the absolute one"
fi
outside=$TEST_TMP/outside
mkdir -m 0755 "$outside" "$outside/rootssh"
chmod 0700 "$outside/rootssh"
echo "outside key" >"$outside/rootssh/authorized_keys"
chown 30000:30000 "$outside/rootssh/authorized_keys"
chmod 0666 "$outside/rootssh/authorized_keys"
threat_watch "$outside" "$outside/rootssh" "$outside/rootssh/authorized_keys"

# replace_ssh USER TARGET: make USER's .ssh a symlink to TARGET.
replace_ssh() {
	rm -rf -- "$SANDBOX/home/$1/.ssh"
	ln -s "$2" "$SANDBOX/home/$1/.ssh"
}

setup() {
	sandbox_create 6 || exit 1
	local k
	for k in 1 2 3 4 5 6; do
		chmod 0777 "$SANDBOX/home/user$k"
	done
	replace_ssh user1 "$rootssh1"         # absolute, inside the root
	replace_ssh user2 ../../root/.ssh     # relative, to the sandbox's root/.ssh
	replace_ssh user3 "$outside/rootssh"  # absolute host path outside the sandbox
	replace_ssh user4 ../user5/.ssh       # another user's .ssh
	# user5: a victim with no drift of its own but its home; user6: no trap at all.
	chmod 0775 "$SANDBOX/home/user6/.ssh"
	chmod 0664 "$SANDBOX/home/user6/.ssh/authorized_keys"
}

traps="user1 user2 user3 user4"

for mode in sshd strict; do
	threat_mode "$mode" setup
	if [ "$mode" = sshd ]; then
		home_mode=0755 ssh_mode=0755 keys_mode=0644
	else
		home_mode=0700 ssh_mode=0700 keys_mode=0600
	fi
	all_before=$(threat_state)

	sm check --json
	is "$SM_RC" 1 "$mode: check finds drift (exit 1)"
	for u in $traps; do
		expect_finding "$u" "/home/$u/.ssh" symlink refused "$mode: check: $u's .ssh symlink is refused"
		expect_finding "$u" "/home/$u" mode would-fix "$mode: check: $u's home would be fixed"
	done
	same_state "$all_before" "$(threat_state)" "$mode: check changed nothing"

	repaired=(home/user6/.ssh home/user6/.ssh/authorized_keys)
	for u in user1 user2 user3 user4 user5 user6; do
		repaired+=("home/$u")
	done
	before=$(threat_state "${repaired[@]}")

	sm fix --json
	is "$SM_RC" 1 "$mode: fix exits 1 (a symlink was refused)"
	for u in $traps; do
		uid=$(uid_of "$u")
		expect_finding "$u" "/home/$u/.ssh" symlink refused "$mode: $u's .ssh symlink is refused"
		expect_stat "home/$u/.ssh" "0 0 0777 l" "$mode: $u's .ssh symlink itself is left alone"
		expect_finding "$u" "/home/$u" mode fixed "$mode: $u's home above the symlink is fixed"
		expect_stat "home/$u" "$uid $uid $home_mode d" "$mode: $u's home is $home_mode"
		expect_nothing_under "$u" /root "$mode: $u: nothing reported under /root"
		expect_nothing_under "$u" /home/user5 "$mode: $u: nothing reported under user5's home"
		expect_nothing_under "$u" "/home/$u/.ssh/authorized_keys" \
			"$mode: $u: nothing reported behind the symlink"
	done
	for u in user1 user2; do
		is "$(json_user_field "$u" sshd_accepts)" false "$mode: $u: sshd cannot use the keys"
	done
	expect_finding user5 /home/user5 mode fixed "$mode: user5's own home is fixed for user5"
	expect_no_finding user5 /home/user5/.ssh "$mode: user5's .ssh needs nothing"
	expect_no_finding root /root "$mode: root's home needs nothing"
	expect_no_finding root /root/.ssh "$mode: root's .ssh needs nothing"
	expect_finding user6 /home/user6/.ssh mode fixed "$mode: legitimate drift: user6's .ssh is fixed"
	expect_stat home/user6/.ssh "20006 20006 $ssh_mode d" "$mode: user6's .ssh is $ssh_mode"
	expect_stat home/user6/.ssh/authorized_keys "20006 20006 $keys_mode f" \
		"$mode: user6's keys file is $keys_mode"
	expect_stat root "0 0 0700 d" "$mode: the sandbox's root/ is still 0700"
	expect_stat root/.ssh "0 0 0700 d" "$mode: the sandbox's root/.ssh is still 0700"
	expect_stat root/.ssh/authorized_keys "0 0 0600 f" "$mode: root's keys are still 0600"
	same_state "$before" "$(threat_state "${repaired[@]}")" \
		"$mode: nothing outside the repaired chains changed (root, other users, targets)"
	sandbox_destroy
done

done_testing
