#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 1: authorized_keys is a symlink to /etc/shadow and the chain above it has
# drifted. The drift is repaired; the symlink is reported (problem "symlink", action "refused")
# and never followed: the shadow file, wherever the symlink points, keeps its owner and mode.
# Run under Mode=sshd and Mode=strict (a followed repair would chown the target to the user),
# with sshd's default AuthorizedKeysFile (two files) and with only .ssh/authorized_keys (as
# Fedora and RHEL ship it), where the symlink is the only way down the chain.
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"

# The symlink to /etc/shadow names the sandbox's etc/shadow (inside --root); the host's /etc is
# made read-only for this test, should sshmend ever resolve it against the host instead.
if threat_protect /etc; then
	shadow1=/etc/shadow
else
	shadow1=../../../etc/shadow # not without that protection
	diag "cannot make /etc read-only here: a relative symlink stands in for the absolute one"
fi
outside=$TEST_TMP/outside
mkdir -m 0755 "$outside"
printf 'root:!:19000:0:99999:7:::\n' >"$outside/shadow"
chmod 0640 "$outside/shadow"
threat_watch "$outside" "$outside/shadow"

setup() {
	sandbox_create 4 || exit 1
	[ "$1" = 2 ] || echo 'AuthorizedKeysFile .ssh/authorized_keys' >"$SANDBOX/etc/ssh/sshd_config"
	printf 'root:!:19000:0:99999:7:::\nuser1:!:19000:0:99999:7:::\n' >"$SANDBOX/etc/shadow"
	chmod 0640 "$SANDBOX/etc/shadow"
	local k
	for k in 1 2 3 4; do
		chmod 0777 "$SANDBOX/home/user$k"
		chmod 0770 "$SANDBOX/home/user$k/.ssh"
	done
	# user1: absolute, inside the root (the sandbox's etc/shadow)
	rm "$SANDBOX/home/user1/.ssh/authorized_keys"
	ln -s "$shadow1" "$SANDBOX/home/user1/.ssh/authorized_keys"
	# user2: relative, climbing out of the home to the sandbox's etc/shadow
	rm "$SANDBOX/home/user2/.ssh/authorized_keys"
	ln -s ../../../etc/shadow "$SANDBOX/home/user2/.ssh/authorized_keys"
	# user3: absolute host path outside the sandbox
	rm "$SANDBOX/home/user3/.ssh/authorized_keys"
	ln -s "$outside/shadow" "$SANDBOX/home/user3/.ssh/authorized_keys"
	# user4: no trap, the same drift plus a writable keys file
	chmod 0666 "$SANDBOX/home/user4/.ssh/authorized_keys"
}

users="user1 user2 user3 user4"

for run in sshd:2 sshd:1 strict:1; do
	mode=${run%:*} nfiles=${run#*:}
	diag "--- Mode=$mode, $nfiles AuthorizedKeysFile path(s)"
	setup "$nfiles"
	[ "$mode" = sshd ] || threat_config strict
	if [ "$mode" = sshd ]; then
		home_mode=0755 ssh_mode=0750 keys_mode=0644
	else
		home_mode=0700 ssh_mode=0700 keys_mode=0600
	fi
	all_before=$(threat_state)

	sm check --json
	is "$SM_RC" 1 "$run: check finds drift (exit 1)"
	for u in $users; do
		expect_finding "$u" "/home/$u" mode would-fix "$run: check: $u's home would be fixed"
		[ "$u" = user4 ] && continue
		expect_finding "$u" "/home/$u/.ssh/authorized_keys" symlink refused \
			"$run: check: $u's authorized_keys symlink is refused"
	done
	same_state "$all_before" "$(threat_state)" "$run: check changed nothing"

	sm fix --dry-run --json
	is "$SM_RC" 1 "$run: fix --dry-run exits 1"
	expect_finding user2 /home/user2 mode would-fix "$run: dry run: would fix user2's home"
	same_state "$all_before" "$(threat_state)" "$run: fix --dry-run changed nothing"

	repaired=()
	for u in $users; do
		repaired+=("home/$u" "home/$u/.ssh")
	done
	repaired+=(home/user4/.ssh/authorized_keys)
	before=$(threat_state "${repaired[@]}")

	sm fix --json
	is "$SM_RC" 1 "$run: fix exits 1 (a symlink was refused)"
	for u in $users; do
		uid=$(uid_of "$u")
		expect_finding "$u" "/home/$u" mode fixed "$run: $u's home is fixed"
		expect_field "$u" "/home/$u" final_mode "$home_mode" "$run: $u's home final_mode $home_mode"
		expect_stat "home/$u" "$uid $uid $home_mode d" "$run: $u's home is $home_mode"
		expect_finding "$u" "/home/$u/.ssh" mode fixed "$run: $u's .ssh is fixed"
		expect_stat "home/$u/.ssh" "$uid $uid $ssh_mode d" "$run: $u's .ssh is $ssh_mode"
		expect_nothing_under "$u" /etc "$run: $u: nothing reported under /etc"
		[ "$u" = user4 ] && continue
		expect_finding "$u" "/home/$u/.ssh/authorized_keys" symlink refused \
			"$run: $u's authorized_keys symlink is refused"
		expect_stat "home/$u/.ssh/authorized_keys" "0 0 0777 l" \
			"$run: $u's symlink itself is left alone"
	done
	for u in user1 user2; do
		is "$(json_user_field "$u" sshd_accepts)" false "$run: $u: sshd cannot use the keys"
	done
	expect_finding user4 /home/user4/.ssh/authorized_keys mode fixed \
		"$run: legitimate drift on user4's keys file is fixed"
	expect_stat home/user4/.ssh/authorized_keys "20004 20004 $keys_mode f" \
		"$run: user4's keys file is $keys_mode"
	expect_stat etc/shadow "0 0 0640 f" "$run: the sandbox's etc/shadow is still 0640 root"
	same_state "$before" "$(threat_state "${repaired[@]}")" \
		"$run: nothing outside the repaired chains changed (etc, root, targets)"

	# A second run finds only the refused symlinks.
	sm fix --json
	is "$SM_RC" 1 "$run: second fix still exits 1"
	expect_no_finding user2 /home/user2 "$run: second fix: user2's home is clean"
	expect_finding user2 /home/user2/.ssh/authorized_keys symlink refused \
		"$run: second fix: the symlink is still refused"
	sandbox_destroy
done

done_testing
