#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Homes the daemon cannot repair, and a daemon that stays idle all the same (the periodic scan at
# its default, ten minutes):
#
#   user1: the home on a FUSE file system where chown fails (bindfs --chown-deny, as root squash
#          or a FUSE server refuses it), given to user2: its chown is denied;
#   user2: home and ~/.ssh 0777 under a read-only bind mount: EROFS;
#   user3: ordinary drift, the control.
#
# Expected: one repair-failed entry per element, not retried (a refused chown and a read-only
# file system do not pass by themselves), the control repaired; then, over 10 s, the daemon
# spends next to no CPU time (utime+stime in /proc/PID/stat) and is hardly woken (its context
# switches in /proc/PID/status); an event in user1's home is healed once, and told no more.
# Without bindfs (Debian: bindfs) or /dev/fuse, user1's part is left out.
# shellcheck disable=SC2317 # functions run through ok
DTHREAT_PRIVATE_MOUNTS=1
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog mount umount

IDLE_SECONDS=10
# Over IDLE_SECONDS: at most this much CPU time (ms) and this many context switches.
IDLE_MAX_CPU_MS=50
IDLE_MAX_SWITCHES=5

sandbox_create 3 || bail "sandbox_create failed"
h=$SANDBOX/home

fuse=0
if command -v bindfs >/dev/null 2>&1 && [ -c /dev/fuse ]; then
	under=$TEST_TMP/user1-home
	cp -a "$h/user1" "$under"
	chown 20002:20002 "$under"
	find "$h/user1" -mindepth 1 -delete
	if bindfs --chown-deny -o allow_other "$under" "$h/user1" 2>"$TEST_TMP/bindfs.err"; then
		add_cleanup "umount '$h/user1' 2>/dev/null || umount -l '$h/user1'"
		if chown 20001:20001 "$h/user1" 2>/dev/null; then
			diag "bindfs --chown-deny lets chown through here"
		else
			fuse=1
		fi
	else
		diag "bindfs failed: $(cat "$TEST_TMP/bindfs.err")"
	fi
else
	diag "no bindfs or no /dev/fuse: the refused chown is left out"
fi

chmod 0777 "$h/user2" "$h/user2/.ssh"
mount --bind "$h/user2" "$h/user2" || bail "bind mount failed"
add_cleanup "umount '$h/user2' 2>/dev/null || umount -l '$h/user2'"
mount -o remount,bind,ro "$h/user2" || bail "remount,ro failed"
chmod 0777 "$h/user3/.ssh"

dthreat_start || bail "the daemon did not start"
expect_stat home/user3/.ssh "20003 20003 0755 d" "control: user3's .ssh is repaired at start"
expect_stat home/user2/.ssh "20002 20002 0777 d" "user2's read-only .ssh is unchanged"

failed() {
	daemon_event_count repair-failed "SSHMEND_USER=$1" "SSHMEND_PATH=$2"
}
reason_of() {
	journal_field "$(daemon_events repair-failed "SSHMEND_USER=$1" "SSHMEND_PATH=$2" |
		head -n 1)" SSHMEND_REASON
}
is "$(failed user2 /home/user2)" 1 "read-only home: one repair-failed entry"
is "$(failed user2 /home/user2/.ssh)" 1 "read-only .ssh: one repair-failed entry"
like "$(reason_of user2 /home/user2/.ssh)" 'ead-only' "saying the file system is read-only"
if [ "$fuse" = 1 ]; then
	is "$(failed user1 /home/user1)" 1 "refused chown: one repair-failed entry"
	like "$(reason_of user1 /home/user1)" 'denied|not permitted' "saying the chown was refused"
	expect_stat home/user1 "20002 20002 0700 d" "user1's home is still user2's"
fi

# /proc/PID/stat: utime and stime (fields 14 and 15); /proc/PID/status: context switches.
switches() {
	awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n + 0 }' \
		"/proc/$DAEMON_PID/status"
}
idle_check() {
	local c0 s0 c1 s1 cpu_ms n
	c0=$(dthreat_cpu_ticks)
	s0=$(switches)
	sleep "$IDLE_SECONDS"
	c1=$(dthreat_cpu_ticks)
	s1=$(switches)
	cpu_ms=$(((c1 - c0) * 1000 / DTHREAT_HZ))
	n=$((s1 - s0))
	ok "$1: $cpu_ms ms of CPU time in ${IDLE_SECONDS} s (at most $IDLE_MAX_CPU_MS)" \
		test "$cpu_ms" -le "$IDLE_MAX_CPU_MS"
	ok "$1: $n context switches in ${IDLE_SECONDS} s (at most $IDLE_MAX_SWITCHES)" \
		test "$n" -le "$IDLE_MAX_SWITCHES"
}
sleep 1
idle_check "idle after the failures"

if [ "$fuse" = 1 ]; then
	# An event in user1's home: looked at again, the chown refused again, told no more.
	n0=$(daemon_count SSHMEND_USER=user1)
	touch "$h/user1/.ssh/authorized_keys"
	chmod 0666 "$h/user1/.ssh/authorized_keys"
	dthreat_wait_stat 10 home/user1/.ssh/authorized_keys "20001 20001 0644 f" \
		"a fixable drift in user1's home is repaired"
	sleep 1
	idle_check "idle after an event in the home it cannot repair"
	is "$(failed user1 /home/user1)" 1 "still one repair-failed entry for user1's home"
	diag "user1's entries since the event: $(($(daemon_count SSHMEND_USER=user1) - n0))"
fi
for p in /home/user2 /home/user2/.ssh; do
	is "$(failed user2 "$p")" 1 "still one repair-failed entry for $p"
done
ok "daemon still runs" daemon_alive
daemon_expect_stop "SIGTERM: exit status 0"
done_testing
