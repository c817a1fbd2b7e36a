#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 18: could the user have put the element there? A file owned by root or
# by a uid with no passwd entry, renamed by the user into their own .ssh as authorized_keys, is
# neither made readable to the user nor given to them: a root 0600 .bash_history left by sudo,
# or any secret in a directory the user can write, would otherwise be theirs to read. Unless it
# holds nothing but keys, as after an image bake that left the keys file root's.
#
# And the other side: where no directory above an element was the user's (the home chowned to
# another user by a mistaken chown -R, .ssh left root's inside it), the element is the same
# mistake as its directory and is repaired with it; the group class is widened where the user
# is in the element's group (chown -R root ~/.ssh keeps the user's group).
# shellcheck disable=SC2317 # functions run through threat_mode
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"
require_prog setpriv

N=7
SECRET='root-only: not a key'
setup() {
	sandbox_create "$N" || exit 1
	local s=$SANDBOX/home
	# user1: root's 0600 secret, left in the home, renamed by user1 to authorized_keys
	printf '%s\n' "$SECRET" >"$s/user1/.root_history"
	chown 0:0 "$s/user1/.root_history" && chmod 0600 "$s/user1/.root_history"
	setpriv --reuid="$(uid_of user1)" --regid="$(uid_of user1)" --clear-groups \
		mv "$s/user1/.root_history" "$s/user1/.ssh/authorized_keys"
	# user2: the same with an unknown uid's file: a key, and a secret in a comment
	printf '# db password: hunter2\n%s\n' "$SANDBOX_PUBKEY" >"$s/user2/.ssh/authorized_keys"
	chown 30000:30000 "$s/user2/.ssh/authorized_keys" && chmod 0600 "$s/user2/.ssh/authorized_keys"
	# user3: an image bake left .ssh and the keys (only keys) root's
	chown -R 0:0 "$s/user3/.ssh"
	# user4: chown -R root ~/.ssh: the group stays user4's
	chown -R 0 "$s/user4/.ssh"
	# user5: chown -R user6 ~user5: the whole tree is given back
	chown -R "$(uid_of user6)" "$s/user5" && chmod 0700 "$s/user5"
	# user6: an unknown uid's .ssh in user6's own home, holding a file that is no .ssh's
	printf 'notes of uid 30000\n' >"$s/user6/.ssh/notes"
	chown 30000:30000 "$s/user6/.ssh" "$s/user6/.ssh/notes" && chmod 0644 "$s/user6/.ssh/notes"
	# user7: root's 0700 directory in the home, a 0644 file in it, renamed to .ssh by user7
	rm -rf -- "$s/user7/.ssh" && mkdir -m 0700 "$s/user7/rootstuff" &&
		printf 'root: world-readable, in a directory only root could enter\n' \
			>"$s/user7/rootstuff/shadow.bak" && chmod 0644 "$s/user7/rootstuff/shadow.bak"
	setpriv --reuid="$(uid_of user7)" --regid="$(uid_of user7)" --clear-groups \
		mv "$s/user7/rootstuff" "$s/user7/.ssh"
}

# reads_as USER RELPATH: can USER (uid, own group) read the sandbox file?
reads_as() {
	local id
	id=$(uid_of "$1")
	setpriv --reuid="$id" --regid="$id" --groups="$id" cat -- "$SANDBOX/$2" >/dev/null 2>&1
}
cannot_read() { ! reads_as "$@"; }

for mode in sshd strict; do
	threat_mode "$mode" setup
	sm fix --json
	is "$SM_RC" 1 "$mode: fix exits 1 (planted elements were refused)"
	for u in user1 user2; do
		expect_finding $u /home/$u/.ssh/authorized_keys foreign-owner refused \
			"$mode: $u: a planted secret in .ssh is refused"
		ok "$mode: $u cannot read it" cannot_read $u home/$u/.ssh/authorized_keys
	done
	expect_stat home/user1/.ssh/authorized_keys "0 0 0600 f" "$mode: root's secret keeps owner and mode"
	expect_stat home/user2/.ssh/authorized_keys "30000 30000 0600 f" \
		"$mode: the unknown uid's file, a key and a comment, keeps owner and mode"
	expect_finding user6 /home/user6/.ssh foreign-owner refused \
		"$mode: user6: an unknown uid's .ssh in user6's own home is refused"
	expect_stat home/user6/.ssh "30000 30000 0700 d" "$mode: ... and keeps owner and mode"
	expect_finding user7 /home/user7/.ssh foreign-owner refused \
		"$mode: user7: root's directory renamed to .ssh, holding more than a .ssh does, is refused"
	expect_stat home/user7/.ssh "0 0 0700 d" "$mode: ... and keeps owner and mode"
	ok "$mode: user7 cannot read the file in it" cannot_read user7 home/user7/.ssh/shadow.bak

	# The repaired side: user3 (bake), user4 (chown -R root ~/.ssh), user5 (chown -R ~).
	for u in user3 user4 user5; do
		is "$(json_user_field $u sshd_accepts)" false "$mode: $u: sshd refused as found"
		ok "$mode: $u can read the keys file after fix" reads_as $u home/$u/.ssh/authorized_keys
		if json_findings $u | grep -q -e '"action":"refused"' -e '"action":"failed"'; then
			ok "$mode: $u: nothing refused or failed" false
			diag "$(json_findings $u)"
		else
			ok "$mode: $u: nothing refused or failed" true
		fi
	done
	u3=$(uid_of user3) u4=$(uid_of user4) u5=$(uid_of user5)
	if [ "$mode" = sshd ]; then
		expect_stat home/user3/.ssh "0 0 0701 d" "$mode: user3's root .ssh: o+x"
		expect_stat home/user3/.ssh/authorized_keys "0 0 0604 f" "$mode: user3's root keys: o+r"
		expect_stat home/user4/.ssh "0 $u4 0710 d" "$mode: user4's .ssh root:user4: g+x, not o+x"
		expect_stat home/user4/.ssh/authorized_keys "0 $u4 0640 f" \
			"$mode: user4's keys root:user4: g+r, not o+r"
	else
		expect_stat home/user3/.ssh "$u3 $u3 0700 d" \
			"$mode: user3's root .ssh, holding nothing but keys: given"
		expect_stat home/user3/.ssh/authorized_keys "$u3 $u3 0600 f" \
			"$mode: user3's keys, nothing but keys: given"
		expect_stat home/user4/.ssh "$u4 $u4 0700 d" "$mode: user4's .ssh root:user4: given"
	fi
	for rel in home/user5 home/user5/.ssh home/user5/.ssh/authorized_keys; do
		got=$(cd "$SANDBOX" && stat -c '%u %g' "$rel")
		is "$got" "$u5 $u5" "$mode: $rel given back to user5"
	done

	sm check --json
	for u in user3 user4 user5; do
		is "$(json_user_field $u sshd_accepts)" true "$mode: $u: sshd accepts after fix"
	done
	for u in user3 user4 user5; do
		is "$(json_findings $u)" "" "$mode: $u: check after fix finds nothing"
	done
done
done_testing
