#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# End to end, on the running system: a real sshd and a real test user, and "sshmend daemon"
# (no --root) with a --config that selects only that user and points DropInDirectory= at a
# private directory. A second key that exists only in the drop-in directory logs in within a
# second of being dropped there, and is refused within a second of its file being removed; the
# user's own key keeps working throughout.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
. "$top_srcdir/tests/lib/sshd.sh"
keys_init "$@"
require_prog ssh useradd usermod userdel getent ps
[ -x /usr/sbin/sshd ] || skip_all "/usr/sbin/sshd not found"

# This daemon looks after the host's / and /home, which other tests change for a moment
# (tests/test-sshd-agreement.sh): they hold a lock on /home meanwhile, and so does this test for
# as long as its daemon runs.
host_lock_home

name=smky$$
name=${name:0:16}

sshd_start || skip_all "sshd_start failed"
testuser_create "$name" || skip_all "testuser_create $name failed"
# What the daemon remembers of the test user on the running system goes with the user.
state_dir=${SSHMEND_LOCALSTATEDIR:+$SSHMEND_LOCALSTATEDIR/lib/sshmend}
[ -z "$state_dir" ] || add_cleanup "rm -f -- '$state_dir/keys.$name' '$state_dir/quarantine.$name'"
home=$(getent passwd "$name" | cut -d: -f6)
ak=$home/.ssh/authorized_keys

# The approved key: only in the drop-in directory, never in the user's files.
dropkey=$SSHD_DIR/$name-dropin.key
ssh-keygen -q -t ed25519 -N '' -C "$name-dropin" -f "$dropkey" </dev/null >/dev/null ||
	bail "ssh-keygen failed"
dropkey_b64=$(awk '{ print $2 }' "$dropkey.pub")

# A private drop-in directory, root's alone.
dropin_top=/etc/sshmend-test-$$
[ ! -e "$dropin_top" ] || bail "$dropin_top exists already"
add_cleanup "rm -rf -- '$dropin_top'"
install -d -m 0755 -o 0 -g 0 "$dropin_top" "$dropin_top/keys.d" "$dropin_top/keys.d/$name" ||
	bail "cannot create $dropin_top"
udir=$dropin_top/keys.d/$name

# Only the test user: no uid is that high, root is excluded, the test user is included.
CFG=$TEST_TMP/sshmend.conf
printf '[Users]\nMinUID=4000000000\nInclude=%s\nExclude=root\n[Keys]\nDropInDirectory=%s/keys.d\n' \
	"$name" "$dropin_top" >"$CFG"
chown 0:0 "$CFG"
chmod 0644 "$CFG"

# The daemon repairs whatever is out of policy in the user's chain, which includes the host's
# / and /home: if those would be changed, do not start it on this machine.
sshmend_precheck "$CFG" "$name"

# login_with KEYFILE: a key login as the test user with that key.
login_with() {
	ssh -F /dev/null -i "$1" -p "$SSHD_PORT" \
		-o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR \
		"$name@127.0.0.1" true </dev/null
}
refused_with() {
	! login_with "$1"
}

ok "a key login with the user's own key works" sshd_login "$name"
ok "the drop-in key is refused before the daemon runs" refused_with "$dropkey"

keys_daemon_start --config "$CFG"
ok "the daemon is running" daemon_alive
ok "the 'started' entry is logged" journal_wait 5 SYSLOG_IDENTIFIER=sshmend \
	"_PID=$DAEMON_PID" SSHMEND_EVENT=started
e=$(daemon_journal SSHMEND_EVENT=started | tail -n 1)
ok "... 'watching 1 user' ($(journal_field "$e" MESSAGE))" \
	grep -q 'watching 1 user,' <<<"$(journal_field "$e" MESSAGE)"
ok "the drop-in key is still refused (its directory is empty)" refused_with "$dropkey"
ak0=$(cat "$ak")

# Dropped: logs in within a second.
install -m 0644 -o 0 -g 0 "$dropkey.pub" "$udir/laptop.pub"
sshd_mark
ok "the dropped key logs in within 1 s" wait_for 1 login_with "$dropkey" ||
	diag "sshd: $(sshd_log_since_mark | tail -n 5)"
accepted() {
	sshd_log_since_mark | grep -F -e "Accepted publickey for $name " | grep -q -F -e "$1"
}
ok "... sshd accepted that very key" wait_for 2 accepted "$(keys_fp "$dropkey.pub")"
is "$(keys_block "$ak")" "$(cat "$dropkey.pub")" "authorized_keys holds the dropped key in its block"
ok "a keys-synced entry names the user" journal_wait 5 SYSLOG_IDENTIFIER=sshmend \
	"_PID=$DAEMON_PID" SSHMEND_EVENT=keys-synced "SSHMEND_USER=$name"
ok "authorized_keys is still the user's, 0600" \
	stat_is "$ak" "$(id -u "$name") $(id -g "$name") 0600"
ok "the user's own key still logs in" sshd_login "$name"

# Removed: refused within a second.
rm -f "$udir/laptop.pub"
ok "the removed key is refused within 1 s" wait_for 1 refused_with "$dropkey"
is "$(grep -c -F -e "$dropkey_b64" "$ak")" 0 "the key is gone from authorized_keys"
is "$(keys_marker_count "$ak")" "0 0" "the block is gone with its last key"
is "$(cat "$ak")" "$ak0" "authorized_keys is as it was before the key was dropped"
ok "the user's own key still logs in" sshd_login "$name"
ok "the removed key stays refused" refused_with "$dropkey"

# The user's drop-in directory made after the daemon started: watched all the same.
rmdir "$udir"
sleep 0.3
install -d -m 0755 -o 0 -g 0 "$udir"
install -m 0644 -o 0 -g 0 "$dropkey.pub" "$udir/laptop.pub"
ok "a key dropped into a directory made after the start logs in within 1 s" \
	wait_for 1 login_with "$dropkey"
rm -rf -- "$udir"
ok "... and is refused within 1 s of its directory being removed" \
	wait_for 1 refused_with "$dropkey"
is "$(cat "$ak")" "$ak0" "authorized_keys is as it was"

daemon_expect_only_user "$name"

daemon_expect_stop "SIGTERM: exit status 0"

done_testing
