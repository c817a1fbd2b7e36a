#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 23: odd homes in passwd. A login user whose home is "/", empty, a
# directory of the system (/etc), or a home passwd gives to another user too, is reported and
# never repaired: Mode=strict would otherwise chown / or /etc to the user and make it 0700, and
# two users sharing a home would be given it in turn for ever. The drift is still reported, with
# the reason, and nothing in the tree changes.
# shellcheck disable=SC2317 # functions run through threat_mode
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"

setup() {
	sandbox_create 2 || exit 1
	local base=$SANDBOX_UID_BASE
	{
		echo "rooty:x:$((base + 11)):$((base + 11))::/:/bin/bash"
		echo "etcy:x:$((base + 12)):$((base + 12))::/etc:/bin/bash"
		echo "nohome:x:$((base + 13)):$((base + 13)):::/bin/bash"
		# user2's home, given to sharer too
		echo "sharer:x:$((base + 14)):$((base + 14))::/home/user2/:/bin/bash"
		# a directory below /etc: the system's too
		echo "etcsub:x:$((base + 15)):$((base + 15))::/etc/ssh:/bin/bash"
	} >>"$SANDBOX/etc/passwd"
	for k in 11 12 13 14 15; do
		echo "g$k:x:$((base + k)):" >>"$SANDBOX/etc/group"
	done
	# Drift for each: a .ssh in / wide open, /etc and /etc/ssh group-writable, user2's .ssh
	# wide open.
	chmod 0775 "$SANDBOX/etc/ssh"
	mkdir -m 0777 "$SANDBOX/.ssh" && chown $((base + 11)):$((base + 11)) "$SANDBOX/.ssh"
	chmod 0775 "$SANDBOX/etc"
	chmod 0777 "$SANDBOX/home/user2/.ssh"
}

for mode in sshd strict; do
	threat_mode "$mode" setup
	before=$(threat_state)

	sm fix --json
	is "$SM_RC" 1 "$mode: fix exits 1 (odd homes were refused)"
	same_state "$before" "$(threat_state)" "$mode: nothing in the tree changed"
	for u in rooty etcy etcsub nohome sharer user2; do
		if json_findings $u | grep -q '"action":"refused"'; then
			ok "$mode: $u: a refusal is reported" true
		else
			ok "$mode: $u: a refusal is reported" false
			diag "$(json_findings $u)"
		fi
		if json_findings $u | grep -q -e '"action":"fixed"' -e '"action":"would-fix"'; then
			ok "$mode: $u: nothing is fixed" false
		else
			ok "$mode: $u: nothing is fixed" true
		fi
	done
	reason=$(json_field "$(json_finding sharer /home/user2/.ssh)" reason)
	like "$reason" 'another user too' "$mode: sharer: the reason names the shared home"
	reason=$(json_field "$(json_finding etcy /etc)" reason)
	[ "$mode" = sshd ] || like "$reason" 'directory of the system' "$mode: etcy: the reason names /etc"
	reason=$(json_field "$(json_findings nohome)" reason)
	like "$reason" 'no absolute home' "$mode: nohome: the reason says there is no home"
	# user1, with an ordinary home, is still repaired in the same run.
	chmod 0777 "$SANDBOX/home/user1"
	sm fix --json user1
	is "$SM_RC" 0 "$mode: user1's own drift is still repaired"
done
done_testing
