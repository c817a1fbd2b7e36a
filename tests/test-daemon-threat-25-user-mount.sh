#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 25: a user mounts a FUSE file system on ~/.ssh (user_allow_other lets
# root in) whose server never answers. sshmend must not walk into it: the first stat() there
# would wait for ever, and fix and the daemon with it. Expected: fix ends at once, reports the
# mount as not entered, and repairs the other users; the daemon gets ready and heals drift of
# other users; nothing is asked of the mount (the server answers nothing, so any request hangs).
DTHREAT_PRIVATE_MOUNTS=1
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
HOLD=$top_builddir/tests/fuse-hold
[ -x "$HOLD" ] || skip_all "tests/fuse-hold is not built"
[ -c /dev/fuse ] || skip_all "no /dev/fuse"

sandbox_create 2 || bail "sandbox_create failed"
h=$SANDBOX/home
chmod 0777 "$h/user2/.ssh"

"$HOLD" "$h/user1/.ssh" "$(uid_of user1)" >"$TEST_TMP/hold.out" 2>&1 &
HOLD_PID=$!
add_cleanup "kill $HOLD_PID 2>/dev/null; umount -l '$h/user1/.ssh' 2>/dev/null; true"
wait_for 10 grep -q mounted "$TEST_TMP/hold.out" ||
	skip_all "cannot mount FUSE here: $(cat "$TEST_TMP/hold.out")"

rc=0
out=$(timeout -s KILL 30 "$SSHMEND" --root "$SANDBOX" fix --json 2>"$TEST_TMP/fix.err") || rc=$?
is "$rc" 1 "fix ends (exit 1, not killed by the timeout) with a user's FUSE mount on ~/.ssh"
like "$out" '"path":"/home/user1/.ssh"[^}]*"action":"failed","reason":"a FUSE file system a user mounted' \
	"user1's .ssh: reported as a user's mount, not entered"
expect_stat home/user2/.ssh "20002 20002 0755 d" "user2's .ssh repaired in the same run"

# A FUSE file system mounted on a keys file itself, with a drop-in key to write there: the
# walk and the key sync stop at the mount.
mkdir -p "$SANDBOX/etc/sshmend/keys.d/user2" && chmod 0755 "$SANDBOX/etc/sshmend/keys.d" \
	"$SANDBOX/etc/sshmend/keys.d/user2" &&
	printf '%s\n' "$SANDBOX_PUBKEY" >"$SANDBOX/etc/sshmend/keys.d/user2/ops.pub" ||
	bail "drop-in failed"
"$HOLD" "$h/user2/.ssh/authorized_keys" "$(uid_of user2)" file >"$TEST_TMP/hold2.out" 2>&1 &
HOLD2_PID=$!
add_cleanup "kill $HOLD2_PID 2>/dev/null; umount -l '$h/user2/.ssh/authorized_keys' 2>/dev/null; true"
if wait_for 10 grep -q mounted "$TEST_TMP/hold2.out"; then
	rc=0
	out=$(timeout -s KILL 30 "$SSHMEND" --root "$SANDBOX" fix --json 2>>"$TEST_TMP/fix.err") || rc=$?
	is "$rc" 1 "fix ends with a user's FUSE mount on a keys file"
	like "$out" '"path":"/home/user2/.ssh/authorized_keys"[^}]*"reason":"a FUSE file system a user mounted' \
		"user2's keys file: reported as a user's mount, not entered"
	kill "$HOLD2_PID" 2>/dev/null
	umount -l "$h/user2/.ssh/authorized_keys"
	wait "$HOLD2_PID" 2>/dev/null
else
	diag "no FUSE mount on a file here: $(cat "$TEST_TMP/hold2.out")"
fi

chmod 0777 "$h/user2/.ssh"
dthreat_start
ok "the daemon gets ready with the mount in place" daemon_alive
dthreat_wait_stat 10 home/user2/.ssh "20002 20002 0755 d" "the daemon repaired user2 at start"
chmod 0777 "$h/user2/.ssh"
dthreat_wait_stat 10 home/user2/.ssh "20002 20002 0755 d" "and heals user2's drift afterwards"
kill -HUP "$DAEMON_PID"
sleep 1
chmod 0777 "$h/user2/.ssh"
dthreat_wait_stat 10 home/user2/.ssh "20002 20002 0755 d" "and after a reload"
daemon_stop 10
is "$DAEMON_STATUS" 0 "the daemon stops cleanly"
done_testing
