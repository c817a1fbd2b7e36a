#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 4: a file (or directory) owned by another existing user is moved into a
# user's .ssh (or home) as authorized_keys (or .ssh). It is reported (problem "foreign-owner",
# action "refused") and neither chowned nor chmodded: the user could have moved it in to steal
# it. The boundary is tested too: an owner with no passwd entry, a root-owned keys file under
# Mode=strict and a home owned by someone else in a root-only /home are repaired; legitimate
# drift in the same run is still repaired.
# shellcheck disable=SC2317 # functions run through threat_mode
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"

N=8
setup() {
	sandbox_create "$N" || exit 1
	local k s=$SANDBOX/home
	for ((k = 1; k <= N; k++)); do
		chmod 0775 "$s/user$k"
	done
	# user1: user2's keys file moved in, world-writable
	mv "$s/user2/.ssh/authorized_keys" "$s/user1/.ssh/authorized_keys"
	chmod 0666 "$s/user1/.ssh/authorized_keys"
	# user3: user4's whole .ssh moved in, wide open
	rm -rf -- "$s/user3/.ssh"
	mv "$s/user4/.ssh" "$s/user3/.ssh"
	chmod 0777 "$s/user3/.ssh"
	# user5: keys file owned by nobody (an existing user too)
	chown 65534:65534 "$s/user5/.ssh/authorized_keys"
	chmod 0664 "$s/user5/.ssh/authorized_keys"
	# user6: keys file of a uid with no passwd entry: taken over
	chown 30000:30000 "$s/user6/.ssh/authorized_keys"
	chmod 0644 "$s/user6/.ssh/authorized_keys"
	# user7: a root-owned keys file: fine for sshd, given to the user under Mode=strict
	chown 0:0 "$s/user7/.ssh/authorized_keys"
	chmod 0644 "$s/user7/.ssh/authorized_keys"
	# user8: the home itself belongs to user2; /home is root's alone, so it is repaired
	chown 20002:20002 "$s/user8"
}

for mode in sshd strict; do
	threat_mode "$mode" setup
	if [ "$mode" = sshd ]; then
		home_mode=0755
	else
		home_mode=0700
	fi
	all_before=$(threat_state)

	sm check --json
	is "$SM_RC" 1 "$mode: check finds drift (exit 1)"
	expect_finding user1 /home/user1/.ssh/authorized_keys foreign-owner refused \
		"$mode: check: user2's file in user1's .ssh is refused"
	expect_finding user3 /home/user3/.ssh foreign-owner refused \
		"$mode: check: user4's .ssh in user3's home is refused"
	expect_finding user6 /home/user6/.ssh/authorized_keys owner would-fix \
		"$mode: check: a keys file of an unknown uid would be taken over"
	same_state "$all_before" "$(threat_state)" "$mode: check changed nothing"

	repaired=(home/user6/.ssh/authorized_keys)
	for ((k = 1; k <= N; k++)); do
		repaired+=("home/user$k")
	done
	[ "$mode" = sshd ] || repaired+=(home/user7/.ssh/authorized_keys)
	before=$(threat_state "${repaired[@]}")

	sm fix --json
	is "$SM_RC" 1 "$mode: fix exits 1 (foreign files were refused)"

	expect_finding user1 /home/user1/.ssh/authorized_keys foreign-owner refused \
		"$mode: user2's file in user1's .ssh is refused"
	expect_field user1 /home/user1/.ssh/authorized_keys current_owner user2 \
		"$mode: ... and reported as user2's"
	expect_field user1 /home/user1/.ssh/authorized_keys expected_owner user1 \
		"$mode: ... where user1's was expected"
	expect_stat home/user1/.ssh/authorized_keys "20002 20002 0666 f" \
		"$mode: user2's file keeps owner and mode"

	expect_finding user3 /home/user3/.ssh foreign-owner refused \
		"$mode: user4's .ssh in user3's home is refused"
	expect_stat home/user3/.ssh "20004 20004 0777 d" "$mode: user4's .ssh keeps owner and mode"
	expect_stat home/user3/.ssh/authorized_keys "20004 20004 0600 f" \
		"$mode: the keys file inside it keeps its owner"
	bad=$(json_findings user3 | grep -F '"path":"/home/user3/.ssh' | grep -v '"action":"refused"')
	is "$bad" "" "$mode: nothing in user4's .ssh is repaired for user3"

	expect_finding user5 /home/user5/.ssh/authorized_keys foreign-owner refused \
		"$mode: nobody's file in user5's .ssh is refused"
	expect_stat home/user5/.ssh/authorized_keys "65534 65534 0664 f" \
		"$mode: nobody's file keeps owner and mode"

	expect_finding user6 /home/user6/.ssh/authorized_keys owner fixed \
		"$mode: a keys file of an unknown uid is taken over"
	want6=0644
	[ "$mode" = sshd ] || want6=0600
	expect_stat home/user6/.ssh/authorized_keys "20006 20006 $want6 f" \
		"$mode: user6's keys file is now user6's, $want6"

	if [ "$mode" = sshd ]; then
		expect_no_finding user7 /home/user7/.ssh/authorized_keys \
			"$mode: a root-owned keys file is fine for sshd"
		expect_stat home/user7/.ssh/authorized_keys "0 0 0644 f" "$mode: ... and left root's"
	else
		expect_finding user7 /home/user7/.ssh/authorized_keys owner fixed \
			"$mode: a root-owned keys file is given to the user"
		expect_stat home/user7/.ssh/authorized_keys "20007 20007 0600 f" \
			"$mode: user7's keys file is user7:user7 0600"
	fi

	expect_finding user8 /home/user8 owner fixed \
		"$mode: a home owned by user2 in a root-only /home is repaired"
	expect_stat home/user8 "20008 20008 $home_mode d" "$mode: user8's home is user8's, $home_mode"

	for ((k = 1; k <= N; k++)); do
		[ "$k" = 8 ] && continue
		expect_stat "home/user$k" "$(uid_of "user$k") $(uid_of "user$k") $home_mode d" \
			"$mode: legitimate drift: user$k's home is $home_mode"
	done
	same_state "$before" "$(threat_state "${repaired[@]}")" \
		"$mode: nothing outside the repaired chains changed (etc, root, other users)"
	sandbox_destroy
done

done_testing
