#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 9, against the running daemon: 100k files created and removed in a home
# overflow the inotify queue while chains are broken.
#
# The daemon's inotify instance gets a small queue: fs.inotify.max_queued_events is read when an
# instance is created, so it is lowered just while the daemon starts and restored at once (other
# processes are only affected if they create an instance in that second). The sandbox is on a
# tmpfs, for speed.
#
# Expected: the overflow is noticed and coalesced into one "rescan" entry for the storm, and
# every drift whose event the kernel dropped is still healed. RescanIntervalSec and
# FallbackScanIntervalSec are an hour, so nothing but the overflow handling can heal them.
#
# Two rounds:
#   B. deterministic: the daemon is stopped (SIGSTOP) while the queue is filled and overflows,
#      and only then are two chains broken, so their events are surely dropped; it is continued
#      (SIGCONT) and must rescan once and heal both;
#   A. the daemon runs during the storm (the user creates and removes 100000 files in the home),
#      and three chains are broken in the middle of it.
# B runs first so that its count of entries cannot depend on how much A logged.
DTHREAT_PRIVATE_MOUNTS=1
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog seq xargs touch flock

QUEUE=61
FILES=100000
QFILE=/proc/sys/fs/inotify/max_queued_events
[ -w "$QFILE" ] || skip_all "cannot write $QFILE"

# The sandbox goes on a tmpfs (in this test's private mount namespace): the storm is bound by the
# file system, and the queue is what is tested, not the disk.
fs=$TEST_TMP/fs
sandbox_tmp=${TMPDIR:-/tmp}
if mkdir -m 0755 "$fs" && mount -t tmpfs -o mode=0755,size=64m sshmend-dthreat "$fs"; then
	add_cleanup "umount '$fs' 2>/dev/null || umount -l '$fs'"
	sandbox_tmp=$fs
else
	diag "no tmpfs: the sandbox stays in $sandbox_tmp"
fi
TMPDIR=$sandbox_tmp sandbox_create 6 || bail "sandbox_create failed"
sandbox_config '[Daemon]' RescanIntervalSec=3600 FallbackScanIntervalSec=3600 \
	FlapThreshold=1000000 || bail "config failed"

# Under a lock, so that two runs of this test cannot interleave; and put back only if the value
# is still ours (QUEUE is an unusual number), so that a test that lowered it at the same time
# without the lock is never undone nor made permanent.
restore_queue() {
	[ "$(cat "$QFILE")" != "$QUEUE" ] || echo "$1" >"$QFILE"
}
exec {qlock}<"$QFILE"
flock "$qlock" || bail "cannot lock $QFILE"
orig_queue=$(cat "$QFILE")
add_cleanup "restore_queue $orig_queue"
echo "$QUEUE" >"$QFILE" || bail "cannot lower $QFILE"
dthreat_start
started=$?
restore_queue "$orig_queue"
exec {qlock}<&-
[ "$started" = 0 ] || bail "the daemon did not start"
is "$(cat "$QFILE")" "$orig_queue" "max_queued_events is restored right after the start"
ok "daemon runs" daemon_alive
ok "the daemon watches user1's home (the storm's events reach its queue)" \
	dthreat_is_watched home/user1
is "$(daemon_event_count rescan)" 0 "no rescan at start"

# storm FILES: as user1, create and remove FILES files in user1's home.
storm() {
	local n=$1
	run_as user1 bash -c 'cd "$1" || exit 1
		seq -f "stormfile%.0f" 1 "$2" | xargs touch || exit 1
		seq -f "stormfile%.0f" 1 "$2" | xargs rm -f' _ "$SANDBOX/home/user1" "$n"
}

# --- B: events surely dropped.
diag "round B: queue filled and overflowed while the daemon is stopped"
kill -STOP "$DAEMON_PID"
add_cleanup "kill -CONT $DAEMON_PID 2>/dev/null"
storm $((QUEUE * 4))
is "$?" 0 "round B: $((QUEUE * 4)) files created and removed while the daemon is stopped"
# The queue is full and has overflowed: these events are dropped by the kernel.
chmod 0777 "$SANDBOX/home/user4/.ssh"
chmod 0777 "$SANDBOX/home/user5"
kill -CONT "$DAEMON_PID"
ok "daemon still runs after SIGCONT" daemon_alive
ok "round B: a rescan entry after the overflow" daemon_wait_events 10 1 rescan
dthreat_wait_stat 15 home/user4/.ssh "20004 20004 0755 d" "round B: user4's .ssh is healed"
dthreat_wait_stat 15 home/user5 "20005 20005 0755 d" "round B: user5's home is healed"
sleep 1
is "$(daemon_event_count rescan)" 1 "round B: exactly one rescan entry for one overflow"
entry=$(daemon_events rescan | head -n 1)
is "$(journal_field "$entry" PRIORITY)" 5 "round B: the rescan entry is a notice"

# --- A: the daemon runs during the storm.
diag "round A: $FILES files created and removed while the daemon runs"
t0=$(dthreat_now_ms)
cpu0=$(dthreat_cpu_ticks)
storm "$FILES" &
storm_pid=$!
add_cleanup "kill_pid $storm_pid"
wait_for 30 test -e "$SANDBOX/home/user1/stormfile$((FILES / 2))"
# Broken in the middle of the storm: their events go into an overflowing queue.
chmod 0777 "$SANDBOX/home/user2/.ssh"
chmod 0777 "$SANDBOX/home/user3"
chmod 0666 "$SANDBOX/home/user1/.ssh/authorized_keys"
wait "$storm_pid"
storm_rc=$?
is "$storm_rc" 0 "round A: the storm ran"
cpu_ms=$((($(dthreat_cpu_ticks) - cpu0) * 1000 / DTHREAT_HZ))
diag "round A: the storm took $(($(dthreat_now_ms) - t0)) ms, the daemon $cpu_ms ms of CPU time"
is "$(find "$SANDBOX/home/user1" -maxdepth 1 -name 'stormfile*' | grep -c .)" 0 \
	"round A: the storm's files are gone"

ok "daemon still runs after the storm" daemon_alive
ok "round A: the overflow is noticed (a new rescan entry)" daemon_wait_events 10 2 rescan
dthreat_wait_stat 15 home/user2/.ssh "20002 20002 0755 d" "round A: user2's .ssh is healed"
dthreat_wait_stat 15 home/user3 "20003 20003 0755 d" "round A: user3's home is healed"
dthreat_wait_stat 15 home/user1/.ssh/authorized_keys "20001 20001 0644 f" \
	"round A: user1's authorized_keys is healed"
sleep 1
rescans_a=$(($(daemon_event_count rescan) - 1))
is "$rescans_a" 1 "round A: one coalesced rescan entry for the storm"
held=0
for l in $(daemon_events suppressed | while read -r e; do journal_field "$e" SSHMEND_COUNT; done); do
	held=$((held + l))
done
[ "$held" = 0 ] || diag "round A: and $held more entries held back by the daemon's rate limit"

# Still watching as before: a new drift is healed from its own event.
rescans=$(daemon_event_count rescan)
chmod 0777 "$SANDBOX/home/user6/.ssh"
dthreat_wait_stat 10 home/user6/.ssh "20006 20006 0755 d" "afterwards, a new drift is healed"
is "$(daemon_event_count rescan)" "$rescans" "and that took no rescan"

daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
