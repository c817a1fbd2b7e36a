#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 12, against the running daemon: the inotify watch limit is reached.
#
# The limit is per user namespace and uid (and other root processes count too), so the daemon is
# run in a user namespace of its own that maps every uid and gid to itself, whose limit
# (/proc/sys/user/max_inotify_watches) is set below what the daemon needs: only the daemon is
# limited, the host's fs.inotify.max_user_watches is never touched. Where user namespaces are not
# available, fs.inotify.max_user_watches itself is lowered to what root's processes hold now plus
# a few (racy if other root processes add watches meanwhile) and restored on exit.
#
# Expected: exactly one "watch-limit" entry however many scans hit the limit again, STATUS= says
# so, and a drift in a chain with no watch at all is healed by the periodic scan every
# FallbackScanIntervalSec (RescanIntervalSec is an hour: nothing else could heal it).
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"

N=8
LIMIT=8
FALLBACK=2

sandbox_create $N || bail "sandbox_create failed"
sandbox_config '[Daemon]' RescanIntervalSec=3600 "FallbackScanIntervalSec=$FALLBACK" \
	FlapThreshold=1000 || bail "config failed"

# The watches root's processes hold now.
root_watches() {
	local f pid c n=0
	while read -r f; do
		pid=${f#/proc/}
		pid=${pid%%/*}
		[ "$(stat -c %u "/proc/$pid" 2>/dev/null)" = 0 ] || continue
		c=$(grep -c '^inotify wd:' "/proc/$pid/fdinfo/${f##*/}" 2>/dev/null)
		n=$((n + ${c:-0}))
	done < <(find /proc/[0-9]*/fd -maxdepth 1 -lname 'anon_inode:inotify' 2>/dev/null)
	echo "$n"
}

dthreat_start_watch_limit "$LIMIT"
rc=$?
if [ "$rc" = 2 ]; then
	diag "no user namespace: lowering fs.inotify.max_user_watches for the whole host"
	wfile=/proc/sys/fs/inotify/max_user_watches
	# Held until exit: two runs of this test cannot interleave and leave the low value behind.
	exec {wlock}<"$wfile"
	flock "$wlock" || bail "cannot lock $wfile"
	orig=$(cat "$wfile")
	low=$(($(root_watches) + LIMIT))
	# Put back only if the value is still ours.
	add_cleanup "[ \"\$(cat $wfile)\" != $low ] || echo $orig >$wfile"
	echo "$low" >"$wfile" || bail "cannot lower $wfile"
	dthreat_start
	rc=$?
fi
[ "$rc" = 0 ] || bail "the daemon did not start"

ok "daemon runs" daemon_alive
watches=$(dthreat_watches)
diag "the daemon holds $watches inotify watches"
ok "it holds no more than the limit ($watches <= $LIMIT)" test "$watches" -le "$LIMIT"
ok "one watch-limit entry" daemon_wait_events 5 1 watch-limit
entry=$(daemon_events watch-limit | head -n 1)
is "$(journal_field "$entry" PRIORITY)" 4 "it is a warning"
ok "STATUS= says the limit is reached" grep -q '^STATUS=.*watch limit' "$NOTIFY_LOG"

# Users whose home and .ssh are not watched at all.
unwatched=
for ((k = N; k >= 1; k--)); do
	if ! dthreat_is_watched "home/user$k" && ! dthreat_is_watched "home/user$k/.ssh"; then
		unwatched="$unwatched user$k"
	fi
done
diag "users with no watch on their home or .ssh:${unwatched:- none}"
ok "some users have no watch on their chain (else the limit was not reached)" test -n "$unwatched"

# The start-up repair covered everybody, watched or not.
for ((k = 1; k <= N; k++)); do
	chmod 0777 "$SANDBOX/home/user$k/.ssh"
done
t0=$(dthreat_now_ms)
for u in $unwatched; do
	id=$(uid_of "$u")
	dthreat_wait_stat $((FALLBACK * 3 + 5)) "home/$u/.ssh" "$id $id 0755 d" \
		"$u (no watch): its drift is healed by the periodic scan"
done
diag "healed after $(($(dthreat_now_ms) - t0)) ms"
for ((k = 1; k <= N; k++)); do
	id=$(uid_of user$k)
	dthreat_wait_stat $((FALLBACK * 3 + 5)) "home/user$k/.ssh" "$id $id 0755 d" \
		"user$k's drift is healed"
done

# Several more scans hit the limit again: still one entry.
sleep $((FALLBACK * 3))
ok "daemon still runs" daemon_alive
is "$(daemon_event_count watch-limit)" 1 "still exactly one watch-limit entry after several scans"
first=$(daemon_events drift-repaired SSHMEND_USER=user$N SSHMEND_PATH=/home/user$N/.ssh | grep -c .)
chmod 0777 "$SANDBOX/home/user$N/.ssh"
id=$(uid_of user$N)
dthreat_wait_stat $((FALLBACK * 3 + 5)) "home/user$N/.ssh" "$id $id 0755 d" \
	"a second drift of user$N is healed by a later periodic scan"
is "$(daemon_event_count drift-repaired SSHMEND_USER=user$N SSHMEND_PATH=/home/user$N/.ssh)" $((first + 1)) \
	"and logged once"

daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
