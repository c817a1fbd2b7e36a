#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 9, against the running daemon: the inotify queue overflows again while the
# rescan of an earlier overflow is under way, more than a second later (not the same storm).
#
# The daemon's inotify instance gets a 64-event queue (fs.inotify.max_queued_events, lowered just
# while it starts). 3,000 users, so that a rescan takes a while.
#
#   1. The daemon is stopped (SIGSTOP); every user's ~/.ssh gets a chmod that changes nothing
#      (3,000 events: the queue overflows), and every 100th user's ~/.ssh is broken, to show how
#      far the rescan has come. Continued, the daemon rescans every chain, in the users' order.
#   2. Stopped again once the rescan has healed user 1500 but not yet user 3000, the ~/.ssh of
#      users 1 to 1400 are broken: chains the rescan has walked already. Their events overflow
#      the queue again, more than a second after the first overflow (the stop lasts that long).
#      Continued, the daemon must heal them all, although only the first few events were kept.
#      RescanIntervalSec and FallbackScanIntervalSec are an hour, so nothing but the overflow
#      handling can heal them (and the rescan's own repairs are too few to overflow the queue).
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog seq xargs

N=3000
QFILE=/proc/sys/fs/inotify/max_queued_events
[ -w "$QFILE" ] || skip_all "cannot write $QFILE"

sandbox_create "$N" || bail "sandbox_create failed"
sandbox_config '[Daemon]' RescanIntervalSec=3600 FallbackScanIntervalSec=3600 \
	FlapThreshold=1000000 || bail "config failed"
queue0=$(cat "$QFILE")
add_cleanup "echo '$queue0' >'$QFILE'"
echo 64 >"$QFILE" || bail "cannot lower $QFILE"
started=0
dthreat_start && started=1
echo "$queue0" >"$QFILE"
[ "$started" = 1 ] || bail "the daemon did not start"
ok "the first audit ends (keys-baseline)" daemon_wait_events 120 1 keys-baseline

last=home/user$N/.ssh
want_last="2$(printf %04d "$N") 2$(printf %04d "$N") 0755 d"
# Under home, nothing writable by group or others.
all_healed() { [ -z "$(cd "$SANDBOX" && find home -maxdepth 2 -perm /022 -print -quit)" ]; }

# ---- 1. The first overflow, and a rescan that walks the users in order.
kill -STOP "$DAEMON_PID"
ok "chmod 0700 every ~/.ssh (no drift: events only)" \
	sh -c 'cd "$1" && seq -f "home/user%.0f/.ssh" 1 "$2" | xargs chmod 0700' _ "$SANDBOX" "$N"
# A few drifts along the way show how far the rescan has come (a few repairs: they do not
# overflow the queue themselves).
ok "break every 100th user's ~/.ssh" \
	sh -c 'cd "$1" && seq -f "home/user%.0f/.ssh" 100 100 "$2" | xargs chmod 0777' _ "$SANDBOX" "$N"
kill -CONT "$DAEMON_PID"
# ---- 2. Stopped in the middle of that rescan, for more than a second.
mid=home/user$((N / 2))/.ssh
t0=$SECONDS
until [ "$(stat -c %a "$SANDBOX/$mid")" = 755 ] || [ $((SECONDS - t0)) -ge 60 ]; do :; done
kill -STOP "$DAEMON_PID"
expect_stat "$mid" "2$(printf %04d $((N / 2))) 2$(printf %04d $((N / 2))) 0755 d" \
	"the rescan has healed user $((N / 2))"
reached=$(cd "$SANDBOX" && seq -f 'home/user%.0f/.ssh' 100 100 "$N" | xargs stat -c %a | grep -c 755)
diag "stopped when the rescan had reached $reached of the $((N / 100)) users broken along the way"
ok "stopped midway through the rescan" [ "$(stat_of "$last")" != "$want_last" ]
sleep 1.2
ok "break the ~/.ssh of users 1 to $((N / 2 - 100)), which the rescan has walked" \
	sh -c 'cd "$1" && seq -f "home/user%.0f/.ssh" 1 "$2" | xargs chmod 0777' _ "$SANDBOX" $((N / 2 - 100))
kill -CONT "$DAEMON_PID"
ok "all healed" wait_for 60 all_healed ||
	diag "$(cd "$SANDBOX" && find home -maxdepth 2 -perm /022 | wc -l) still broken"
expect_stat "$last" "$want_last" "the last user's ~/.ssh too"
# Entries go to the journal in the loop's idle time, after the heals: the rescan's entry may
# still have been waiting when the daemon was stopped.
ok "a 'rescan' entry" daemon_wait_events 30 1 rescan
ok "the daemon still runs" daemon_alive
daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
