#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend daemon with 1,000 users in a sandbox root: every home and every ~/.ssh is made 0777 in
# one go, and every one of the 2,000 paths is healed (well within 30 s: this is not a timing
# test) and counted once as a repair; the daemon then goes idle. Every repair is logged or counted
# for its user by the rate limit (past its ceiling of 1,000 entries in a window, a first drift
# too), also when the daemon stops right after a burst; a burst within the ceiling is logged
# entry by entry. Then
# again with a fresh daemon whose inotify queue holds only 64 events
# (fs.inotify.max_queued_events, read at inotify_init): the queue overflows, the daemon logs
# "rescan", checks every chain again, misses none, and inotify still works afterwards.
# shellcheck disable=SC2317 # functions run through ok and wait_for
# shellcheck disable=SC2016 # sh -c scripts: their arguments are expanded by that shell
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"

journald_setup "$@"
require_root
require_prog stat find xargs seq sort diff awk
require_sshmend notify-recv

N=1000
HEAL_TIMEOUT=${SSHMEND_STRESS_TIMEOUT:-30}
ID_RESCAN=7ef0d631584742d18753e0cf567cbb5e
QUEUE_SYSCTL=/proc/sys/fs/inotify/max_queued_events

# About 2,000 directories to watch, on top of whatever else this host watches as root.
watches=$(cat /proc/sys/fs/inotify/max_user_watches 2>/dev/null || echo 0)
[ "$watches" -ge 20000 ] ||
	skip_all "fs.inotify.max_user_watches is $watches: the daemon would fall back to scanning"

sandbox_create "$N" || bail "sandbox_create $N failed"
notify_start || bail "notify_start failed"
S=$SANDBOX

# Every home and every .ssh, relative to the sandbox root.
broken_paths() {
	seq -f 'home/user%.0f' 1 "$N"
	seq -f 'home/user%.0f/.ssh' 1 "$N"
}
break_all() {
	(cd "$S" && broken_paths | xargs chmod 0777)
}
# Nothing under home (the homes, .ssh, the keys files) writable by group or others.
all_healed() {
	[ -z "$(cd "$S" && find home -maxdepth 3 -perm /022 -print -quit)" ]
}
# The whole tree under home as it must be after the heal: as before, but for the 2,000 broken
# directories, which the default policy (Mode=sshd) turns from 0777 into 0755.
expected_after() {
	awk '$1 ~ /^home\/user[0-9]+(\/\.ssh)?$/ { $4 = "0755" } { print }' <<<"$1"
}
# compare_trees EXPECTED GOT: the number of differing lines, and the first few.
compare_trees() {
	local d
	d=$(diff <(echo "$1") <(echo "$2"))
	[ -z "$d" ] && return 0
	diag "$(grep -c '^[<>]' <<<"$d") lines differ; the first:"
	diag "$(grep '^[<>]' <<<"$d" | head -n 10)"
	return 1
}
# Idle: asleep (waiting for events) at each of 20 looks over a second. Its state, not the CPU time
# it got: on a busy machine a process that wants the CPU may get little of it, but it shows R.
idle_for_1s() {
	local i st
	for ((i = 0; i < 20; i++)); do
		st=$(awk '{ print $3 }' "/proc/$DAEMON_PID/stat" 2>/dev/null) || return 1
		[ "$st" != R ] || return 1
		sleep 0.05
	done
}
repairs_status_line() {
	grep '^STATUS=' "$NOTIFY_LOG" | tail -n 1
}

# ---- One: a daemon with the default queue.
before=$(sandbox_snapshot home)
ok "snapshot of the sandbox: $(grep -c . <<<"$before") paths under home" \
	test "$(grep -c . <<<"$before")" -eq $((3 * N + 1))
daemon_start --root "$S"
ok "the daemon sends READY=1" daemon_wait_ready 120
ok "STATUS says $((N + 1)) users, no repairs" \
	grep -qE "^STATUS=watching $((N + 1)) users, [0-9]+ paths, 0 repairs$" <<<"$(repairs_status_line)" ||
	diag "$(repairs_status_line)"
lines0=$(wc -l <"$NOTIFY_LOG")
t0=$SECONDS
ok "chmod 0777 every home and every .ssh ($((2 * N)) paths)" break_all
ok "all healed within $HEAL_TIMEOUT s" wait_for "$HEAL_TIMEOUT" all_healed
diag "healed after about $((SECONDS - t0)) s"
ok "none missed: every path under home is as expected" \
	compare_trees "$(expected_after "$before")" "$(sandbox_snapshot home)"
# Each of the 2,000 paths was broken once, so it is exactly 2,000 repairs.
status_since() { # status_since LINE REGEX: a STATUS= line after line LINE of NOTIFY_LOG matches
	tail -n +"$(($1 + 1))" "$NOTIFY_LOG" | grep -qE "$2"
}
ok "STATUS counts exactly $((2 * N)) repairs" wait_for "$HEAL_TIMEOUT" status_since "$lines0" \
	"^STATUS=watching $((N + 1)) users, [0-9]+ paths, $((2 * N)) repairs$" ||
	diag "last: $(repairs_status_line)"
ok "the daemon still runs" daemon_alive
# Its own repairs come back as events for a moment; then it must go quiet, not spin.
ok "then it goes idle (asleep throughout one second)" wait_for 30 idle_for_1s
# The rate limit (200 entries per 10 s) tells a user's first drift of an element in a window up to
# its ceiling (1,000 entries in the window); past it, counted for the user. Each repair must be
# either logged or counted by a "suppressed" entry (SSHMEND_COUNT, and in SSHMEND_HELD for its
# user), at the latest when the daemon stops. After ten quiet seconds the limit's window has
# passed; a burst of M more broken homes and .ssh opens a new one, in which each is the first
# drift of its element and told, within the ceiling, and the daemon is stopped right after that
# heal, well within the window.
M=300
total=$((2 * N + 2 * M))
sleep 10
logged1=$(daemon_count SSHMEND_EVENT=drift-repaired)
diag "the first burst: $logged1 of its $((2 * N)) repairs logged entry by entry"
lines0=$(wc -l <"$NOTIFY_LOG")
ok "then chmod 0777 $M homes and their .ssh again" \
	sh -c 'cd "$1" && { seq -f "home/user%.0f" 1 "$2"; seq -f "home/user%.0f/.ssh" 1 "$2"; } |
		xargs chmod 0777' _ "$S" "$M"
ok "all healed within $HEAL_TIMEOUT s" wait_for "$HEAL_TIMEOUT" all_healed
ok "STATUS counts exactly $total repairs" wait_for "$HEAL_TIMEOUT" status_since "$lines0" \
	"^STATUS=watching $((N + 1)) users, [0-9]+ paths, $total repairs$" ||
	diag "last: $(repairs_status_line)"
pid=$DAEMON_PID
daemon_stop 30
is "$DAEMON_STATUS" 0 "SIGTERM: exit status 0"
ok "a 'stopping' entry" journal_wait 10 SYSLOG_IDENTIFIER=sshmend "_PID=$pid" SSHMEND_EVENT=stopping
logged=$(daemon_count SSHMEND_EVENT=drift-repaired)
held=$(daemon_journal SSHMEND_EVENT=suppressed | while IFS= read -r l; do
	journal_field "$l" SSHMEND_COUNT
done | awk '{ s += $1 } END { print s + 0 }')
# What SSHMEND_HELD names: user:event:count, summed.
held_named=$(daemon_journal SSHMEND_EVENT=suppressed | while IFS= read -r l; do
	journal_field "$l" SSHMEND_HELD
done | tr ' ' '\n' | awk -F: '$2 == "drift-repaired" { s += $3 } END { print s + 0 }')
is "$((logged + held))" "$total" \
	"repairs logged ($logged) plus held back by the rate limit ($held) are all $total"
is "$held_named" "$held" "every repair held back is counted for its user (SSHMEND_HELD)"
is "$((logged - logged1))" "$((2 * M))" \
	"every repair of the second burst is an entry: within the ceiling, no first drift is held back"
ok "no sanitizer report" daemon_sanitizer_clean || diag "$(tail -n 30 "$DAEMON_ERR")"

# ---- Two: a fresh daemon with a 64-event inotify queue.
if [ -w "$QUEUE_SYSCTL" ]; then
	queued0=$(cat "$QUEUE_SYSCTL")
	add_cleanup "echo '$queued0' >'$QUEUE_SYSCTL'"
	before=$(sandbox_snapshot home)
	ok "set fs.inotify.max_queued_events to 64 (was $queued0)" sh -c "echo 64 >'$QUEUE_SYSCTL'"
	daemon_start --root "$S"
	ready=0
	daemon_wait_ready 120 && ready=1
	# The daemon's inotify instance has its limit; every later one gets the usual again.
	echo "$queued0" >"$QUEUE_SYSCTL"
	ok "the second daemon sends READY=1" test "$ready" = 1
	is "$(cat "$QUEUE_SYSCTL")" "$queued0" "fs.inotify.max_queued_events restored"
	# Stopped while everything breaks, it wakes up to a full queue: the overflow is certain,
	# not a matter of how fast it reads.
	ok "SIGSTOP the daemon" kill -STOP "$DAEMON_PID"
	ok "chmod 0777 every home and every .ssh again" break_all
	ok "SIGCONT the daemon" kill -CONT "$DAEMON_PID"
	ok "a 'rescan' entry" journal_wait 30 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
		SSHMEND_EVENT=rescan
	e=$(daemon_journal SSHMEND_EVENT=rescan | head -n 1)
	is "$(journal_field "$e" MESSAGE_ID)" "$ID_RESCAN" "rescan: MESSAGE_ID"
	ok "all healed within $HEAL_TIMEOUT s" wait_for "$HEAL_TIMEOUT" all_healed
	ok "none missed: every path under home is as expected" \
		compare_trees "$(expected_after "$before")" "$(sandbox_snapshot home)"
	ok "the daemon still runs" daemon_alive
	# Its own repairs may overflow the small queue again and start another full rescan: wait for
	# the end of that. Then inotify must still work: one more break is seen and healed at once.
	ok "then it goes idle (asleep throughout one second)" wait_for 60 idle_for_1s
	last=$S/home/user$N/.ssh
	want="$((SANDBOX_UID_BASE + N)) $((SANDBOX_UID_BASE + N)) 0755"
	chmod 0777 "$last"
	t1=$SECONDS
	if ! ok "a later single break is healed within 2 s" wait_for 2 stat_is "$last" "$want"; then
		wait_for 60 stat_is "$last" "$want"
		diag "$(stat -c '%u %g %04a' "$last") after about $((SECONDS - t1)) s"
	fi
	daemon_expect_stop "SIGTERM: exit status 0" 30
else
	diag "$QUEUE_SYSCTL is not writable: the overflow part is not run"
fi

done_testing
