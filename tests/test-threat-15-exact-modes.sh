#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 15: mode 6777, an ACL mask, a setgid directory: exact final modes.
#
# Mode=sshd only takes group and other write away (and adds what the user needs to get in), so
# set-id and sticky bits stay: 6777 -> 6755. Mode=strict sets /home 0755 root:root, the home and
# .ssh 0700, authorized_keys 0600 user:primary-group, nothing else. An element whose owner changes
# gets its exact final mode back even though chown clears set-id bits. With a POSIX ACL the group
# bits of the mode are the mask: afterwards getfacl shows no write for the group class (through
# the mask) nor for others.
# shellcheck disable=SC2317 # functions run through threat_mode
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"
require_prog setfacl getfacl

N=6
setup() {
	sandbox_create "$N" || exit 1
	local h=$SANDBOX/home
	chmod 6777 "$h"
	# user1: 6777 everywhere
	chmod 6777 "$h/user1" "$h/user1/.ssh" "$h/user1/.ssh/authorized_keys"
	# user2: ACLs whose mask lets the group class write
	chmod 0755 "$h/user2"
	setfacl -m u:20003:rwx "$h/user2"
	chmod 0700 "$h/user2/.ssh"
	setfacl -m u:20003:rwx,g:20004:rw "$h/user2/.ssh"
	chmod 0600 "$h/user2/.ssh/authorized_keys"
	setfacl -m u:20003:rw,o::rw "$h/user2/.ssh/authorized_keys"
	# user3: setgid directories
	chmod 2775 "$h/user3"
	chmod 2770 "$h/user3/.ssh"
	chmod 0660 "$h/user3/.ssh/authorized_keys"
	# user4: every special bit
	chmod 7777 "$h/user4"
	chmod 1777 "$h/user4/.ssh"
	chmod 4666 "$h/user4/.ssh/authorized_keys"
	# user5: 6777 and a keys file of an owner with no passwd entry: chown clears set-id bits on
	# the way. (Only the file: an unknown uid's .ssh in a home the user can write may have been
	# moved in, and is not given; test-threat-18-planted.sh.)
	chown 30000:30000 "$h/user5/.ssh/authorized_keys"
	chmod 6777 "$h/user5/.ssh" "$h/user5/.ssh/authorized_keys"
	# user6: an ACL on a setgid .ssh that is already fine, as a control: nothing changes
	chmod 2750 "$h/user6/.ssh"
	setfacl -m u:20003:r-x "$h/user6/.ssh"
}

# acl_writers RELPATH: the ACL entries that still let the group class or others write, if any.
acl_writers() {
	getfacl -e -p --omit-header "$SANDBOX/$1" 2>&1 | awk -F'\t' '
		/^default:/ || /^$/ { next }
		/^user::/ { next }
		{
			split($1, e, ":"); perms = e[3]
			for (i = 2; i <= NF; i++)
				if ($i ~ /#effective:/) { perms = $i; sub(/.*#effective:/, "", perms) }
			if (perms ~ /w/) print
		}'
}

# expectations: relpath, then "uid gid mode type" under sshd and under strict
expect_sshd=(
	"home|0 0 6755 d"
	"home/user1|20001 20001 6755 d" "home/user1/.ssh|20001 20001 6755 d"
	"home/user1/.ssh/authorized_keys|20001 20001 6755 f"
	"home/user2|20002 20002 0755 d" "home/user2/.ssh|20002 20002 0750 d"
	"home/user2/.ssh/authorized_keys|20002 20002 0644 f"
	"home/user3|20003 20003 2755 d" "home/user3/.ssh|20003 20003 2750 d"
	"home/user3/.ssh/authorized_keys|20003 20003 0640 f"
	"home/user4|20004 20004 7755 d" "home/user4/.ssh|20004 20004 1755 d"
	"home/user4/.ssh/authorized_keys|20004 20004 4644 f"
	"home/user5/.ssh|20005 20005 6755 d" "home/user5/.ssh/authorized_keys|20005 20005 6755 f"
	"home/user6/.ssh|20006 20006 2750 d"
)
expect_strict=(
	"home|0 0 0755 d"
	"home/user1|20001 20001 0700 d" "home/user1/.ssh|20001 20001 0700 d"
	"home/user1/.ssh/authorized_keys|20001 20001 0600 f"
	"home/user2|20002 20002 0700 d" "home/user2/.ssh|20002 20002 0700 d"
	"home/user2/.ssh/authorized_keys|20002 20002 0600 f"
	"home/user3|20003 20003 0700 d" "home/user3/.ssh|20003 20003 0700 d"
	"home/user3/.ssh/authorized_keys|20003 20003 0600 f"
	"home/user4|20004 20004 0700 d" "home/user4/.ssh|20004 20004 0700 d"
	"home/user4/.ssh/authorized_keys|20004 20004 0600 f"
	"home/user5/.ssh|20005 20005 0700 d" "home/user5/.ssh/authorized_keys|20005 20005 0600 f"
	"home/user6/.ssh|20006 20006 0700 d"
)

for mode in sshd strict; do
	threat_mode "$mode" setup
	if [ "$mode" = sshd ]; then
		expected=("${expect_sshd[@]}")
	else
		expected=("${expect_strict[@]}")
	fi
	repaired=(home)
	for ((k = 1; k <= N; k++)); do
		repaired+=("home/user$k" "home/user$k/.ssh" "home/user$k/.ssh/authorized_keys")
	done
	before=$(threat_state "${repaired[@]}")
	acl_before=$(getfacl -p --omit-header "$SANDBOX/home/user6/.ssh" 2>&1 | grep -v '^mask::')

	sm check --json
	is "$SM_RC" 1 "$mode: check finds drift (exit 1)"
	expect_finding user1 /home/user1 mode would-fix "$mode: check: user1's home would be fixed"

	sm fix --json
	is "$SM_RC" 0 "$mode: fix repairs everything (exit 0)"
	[ "$SM_RC" = 0 ] || diag "$SM_OUT"
	for entry in "${expected[@]}"; do
		expect_stat "${entry%%|*}" "${entry#*|}" "$mode: ${entry%%|*} is exactly ${entry#*|}"
	done

	if [ "$mode" = sshd ]; then
		expect_finding user1 /home/user1 mode fixed "$mode: user1's home: mode, fixed"
		expect_field user1 /home/user1 current_mode 6777 "$mode: ... current_mode 6777"
		expect_field user1 /home/user1 expected_mode 6755 "$mode: ... expected_mode 6755"
		expect_field user1 /home/user1 final_mode 6755 "$mode: ... final_mode 6755"
		expect_field user1 /home/user1/.ssh/authorized_keys final_mode 6755 \
			"$mode: user1's keys file final_mode 6755"
		expect_finding user5 /home/user5/.ssh/authorized_keys owner fixed \
			"$mode: user5's keys file of an unknown uid: owner, fixed"
		expect_field user5 /home/user5/.ssh/authorized_keys final_mode 6755 \
			"$mode: ... final_mode 6755 although chown cleared the set-id bits"
		expect_no_finding user6 /home/user6/.ssh "$mode: user6's setgid .ssh with a read-only ACL is fine"
	else
		expect_finding user1 /home/user1/.ssh/authorized_keys mode fixed \
			"$mode: user1's keys file: mode, fixed"
		expect_field user1 /home/user1/.ssh/authorized_keys final_mode 0600 \
			"$mode: user1's keys file final_mode 0600"
		expect_field user1 /home/user1/.ssh/authorized_keys final_owner user1 \
			"$mode: user1's keys file final_owner user1"
		expect_field user5 /home/user5/.ssh/authorized_keys final_owner user5 \
			"$mode: user5's keys file final_owner user5"
	fi
	expect_finding user2 /home/user2/.ssh mode fixed "$mode: user2's .ssh (ACL mask rwx): mode, fixed"
	expect_field user2 /home/user2/.ssh current_mode 0770 \
		"$mode: ... current_mode shows the mask, 0770"

	for rel in home/user2 home/user2/.ssh home/user2/.ssh/authorized_keys home/user6/.ssh; do
		is "$(acl_writers "$rel")" "" "$mode: getfacl $rel: no group-class or other write left"
	done
	named=$(getfacl -p --omit-header "$SANDBOX/home/user2/.ssh" 2>/dev/null | grep -c '^user:[^:]')
	is "$named" 1 "$mode: user2's .ssh keeps its named ACL entry (only the mask narrowed)"
	if [ "$mode" = sshd ]; then
		is "$(getfacl -p --omit-header "$SANDBOX/home/user6/.ssh" 2>&1 | grep -v '^mask::')" \
			"$acl_before" "$mode: user6's ACL is untouched"
	fi

	same_state "$before" "$(threat_state "${repaired[@]}")" \
		"$mode: nothing outside the chains changed (etc, root)"
	sm check --json
	is "$SM_RC" 0 "$mode: a check afterwards is clean"
	sandbox_destroy
done

done_testing
