#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 14, against the running daemon: drift it cannot repair.
#
#   user1: ~/.ssh 0777 and immutable (chattr +i): chmod fails with EPERM;
#   user2: home and ~/.ssh 0777, then a read-only bind mount over the home: EROFS;
#   user4: ~/.ssh/authorized_keys 0666 and immutable;
#   user3: ordinary drift, the control.
# NFS with root squash (root's chmod refused by the server) cannot be set up here: no NFS server
# in a test. It must come out like the EPERM case: classified, logged once, no retry loop.
#
# Expected: one "repair-failed" entry per element, with the reason (SSHMEND_REASON), logged once
# however often the daemon looks again (RescanIntervalSec=2 and events in the same chain), no
# busy loop; the control is repaired; and once the obstacle is gone (chattr -i, umount), the next
# scan repairs the element.
#
# chattr needs ext4, xfs or btrfs: where the temporary directory's file system cannot do it, the
# sandbox goes on a small ext4 image mounted through a loop device. Everything runs in a private
# mount namespace; mounts, the loop device and immutable flags are undone on exit.
DTHREAT_PRIVATE_MOUNTS=1
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog chattr lsattr mount umount

RESCAN=2

# Can the temporary directory's file system take chattr +i?
chattr_works() {
	local f rc=1
	f=$(mktemp "$1/sshmend-dthreat-chattr.XXXXXX") || return 1
	if chattr +i "$f" 2>/dev/null; then
		chattr -i "$f"
		rc=0
	fi
	rm -f "$f"
	return "$rc"
}

sandbox_dir=${TMPDIR:-/tmp}
if [ "${SSHMEND_TEST_LOOP_FS:-0}" = 1 ] || ! chattr_works "$sandbox_dir"; then
	require_prog mkfs.ext4 losetup truncate
	diag "the sandbox goes on a loop-mounted ext4 image"
	img=$TEST_TMP/fs.img
	mnt=$TEST_TMP/mnt
	if ! mkdir "$mnt" || ! truncate -s 64M "$img" || ! mkfs.ext4 -q -F "$img"; then
		bail "cannot make an ext4 image"
	fi
	loopdev=$(losetup --find --show "$img") || skip_all "no loop device"
	add_cleanup "losetup -d $loopdev 2>/dev/null"
	mount -t ext4 "$loopdev" "$mnt" || bail "cannot mount the ext4 image"
	add_cleanup "umount '$mnt' 2>/dev/null || umount -l '$mnt'"
	chmod 0755 "$mnt"
	chattr_works "$mnt" || bail "chattr does not work on ext4 either"
	sandbox_dir=$mnt
fi

TMPDIR=$sandbox_dir sandbox_create 4 || bail "sandbox_create failed"
sandbox_config '[Daemon]' "RescanIntervalSec=$RESCAN" FallbackScanIntervalSec=3600 ||
	bail "config failed"
h=$SANDBOX/home

# user1: immutable broken .ssh.
chmod 0777 "$h/user1/.ssh"
add_cleanup "chattr -i '$h/user1/.ssh' 2>/dev/null"
chattr +i "$h/user1/.ssh" || bail "chattr +i failed"
# user4: immutable broken keys file.
chmod 0666 "$h/user4/.ssh/authorized_keys"
add_cleanup "chattr -i '$h/user4/.ssh/authorized_keys' 2>/dev/null"
chattr +i "$h/user4/.ssh/authorized_keys" || bail "chattr +i failed"
# user2: broken home and .ssh, then read-only.
chmod 0777 "$h/user2" "$h/user2/.ssh"
mount --bind "$h/user2" "$h/user2" || bail "bind mount failed"
add_cleanup "umount '$h/user2' 2>/dev/null || umount -l '$h/user2'"
mount -o remount,bind,ro "$h/user2" || bail "remount,ro failed"
if chmod 0755 "$h/user2/.ssh" 2>/dev/null; then
	bail "the read-only bind mount is writable"
fi
# user3: the control.
chmod 0777 "$h/user3/.ssh"

dthreat_start || bail "the daemon did not start"
ok "daemon runs" daemon_alive

expect_stat home/user3/.ssh "20003 20003 0755 d" "control: user3's .ssh is repaired at start"
expect_stat home/user1/.ssh "20001 20001 0777 d" "user1's immutable .ssh is unchanged"
expect_stat home/user2/.ssh "20002 20002 0777 d" "user2's read-only .ssh is unchanged"

# expect_failed USER PATH REASON-REGEX DESC: exactly one repair-failed entry, its fields.
expect_failed() {
	local user=$1 path=$2 re=$3 desc=$4 lines n e
	lines=$(daemon_events repair-failed "SSHMEND_USER=$user" "SSHMEND_PATH=$path")
	n=$(printf '%s' "$lines" | grep -c '^{')
	is "$n" 1 "$desc: one repair-failed entry for $path"
	e=$(printf '%s\n' "$lines" | head -n 1)
	[ -n "$e" ] || return 1
	ok "$desc: the reason says why ($(journal_field "$e" SSHMEND_REASON))" \
		grep -qiE -e "$re" <<<"$(journal_field "$e" SSHMEND_REASON)"
	is "$(journal_field "$e" PRIORITY)" 3 "$desc: logged as an error"
	is "$(journal_field "$e" SSHMEND_SSHD_REFUSED)" 1 "$desc: says sshd refuses the keys"
}

expect_failed user1 /home/user1/.ssh 'not permitted' "immutable .ssh"
expect_failed user4 /home/user4/.ssh/authorized_keys 'not permitted' "immutable keys file"
expect_failed user2 /home/user2 'read-only' "read-only home"
expect_failed user2 /home/user2/.ssh 'read-only' "read-only .ssh"

# Looking again and again: no spin, no new entry.
cpu0=$(dthreat_cpu_ticks)
t0=$(dthreat_now_ms)
# An event in user1's chain: the keys file inside the immutable directory drifts (and is fixable).
chmod 0666 "$h/user1/.ssh/authorized_keys"
dthreat_wait_stat 10 home/user1/.ssh/authorized_keys "20001 20001 0644 f" \
	"a fixable drift in user1's immutable .ssh is repaired"
sleep $((RESCAN * 3 + 1))
cpu1=$(dthreat_cpu_ticks)
t1=$(dthreat_now_ms)
cpu_ms=$(((cpu1 - cpu0) * 1000 / DTHREAT_HZ))
ok "no busy loop: $cpu_ms ms of CPU time in $((t1 - t0)) ms (< 10%)" \
	test $((cpu_ms * 10)) -lt $((t1 - t0))
ok "daemon still runs" daemon_alive
for p in user1:/home/user1/.ssh user4:/home/user4/.ssh/authorized_keys user2:/home/user2 \
	user2:/home/user2/.ssh; do
	is "$(daemon_event_count repair-failed "SSHMEND_USER=${p%%:*}" "SSHMEND_PATH=${p#*:}")" 1 \
		"still one repair-failed entry for ${p#*:} after several scans"
done
is "$(daemon_event_count repair-failed SSHMEND_USER=user3)" 0 "none for the control"
is "$(daemon_event_count suppressed)" 0 "nothing held back by the rate limit"

# The obstacles go: the next scan repairs.
chattr -i "$h/user1/.ssh" "$h/user4/.ssh/authorized_keys"
umount "$h/user2" || umount -l "$h/user2"
dthreat_wait_stat $((RESCAN * 3 + 5)) home/user1/.ssh "20001 20001 0755 d" \
	"after chattr -i, user1's .ssh is repaired"
dthreat_wait_stat $((RESCAN * 3 + 5)) home/user4/.ssh/authorized_keys "20004 20004 0644 f" \
	"after chattr -i, user4's keys file is repaired"
dthreat_wait_stat $((RESCAN * 3 + 5)) home/user2 "20002 20002 0755 d" \
	"once writable again, user2's home is repaired"
dthreat_wait_stat $((RESCAN * 3 + 5)) home/user2/.ssh "20002 20002 0755 d" "and its .ssh"

ok "daemon still runs" daemon_alive
daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
