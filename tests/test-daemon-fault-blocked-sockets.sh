#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend daemon with 600 users while the sockets it writes to take nothing: journald stopped
# (SIGSTOP) for 30 s while every ~/.ssh is broken, twice: every chain is healed as fast as ever,
# and once journald runs again every entry arrives (or is counted as dropped). Then the service
# manager's end of NOTIFY_SOCKET not read, its queue full: heals go on. Then a storm of 3,000
# repairs, one at a time: STATUS= at most about once a second, the last one counting every
# repair. Last, journald restarted: entries reach the new one.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"

journald_setup "$@"
require_root
require_prog stat find xargs seq awk python3
require_sshmend notify-recv
[ "${JOURNAL_PRIVATE:-0}" = 1 ] || skip_all "a journald of its own is needed: this one is not to be stopped"

N=600
STOP_SECONDS=${SSHMEND_FAULT_STOP_SECONDS:-30}
HEAL_TIMEOUT=10

sandbox_create "$N" || bail "sandbox_create $N failed"
notify_start || bail "notify_start failed"
S=$SANDBOX

break_all() {
	(cd "$S" && seq -f 'home/user%.0f/.ssh' 1 "$N" | xargs chmod 0777)
}
# Nothing under home writable by group or others.
all_healed() {
	[ -z "$(cd "$S" && find home -maxdepth 3 -perm /022 -print -quit)" ]
}
# Fill the socket at $1 until it takes no more datagrams; print how many it took.
fill_socket() {
	python3 - "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setblocking(False)
n = 0
try:
    while n < 1000000:
        s.sendto(b"X_FILL=1", sys.argv[1])
        n += 1
except BlockingIOError:
    pass
print(n)
PY
}
now_ms() {
	local t=$EPOCHREALTIME
	echo $((${t%[.,]*} * 1000 + 10#${t#*[.,]} / 1000))
}
status_lines() {
	grep -c '^STATUS=' "$NOTIFY_LOG"
}
last_status() {
	grep '^STATUS=' "$NOTIFY_LOG" | tail -n 1
}

daemon_start --root "$S"
ok "the daemon sends READY=1" daemon_wait_ready 60

# ---- journald stopped.
add_cleanup "kill -CONT $JOURNALD_PID 2>/dev/null"
ok "SIGSTOP journald" kill -STOP "$JOURNALD_PID"
t0=$SECONDS
ok "chmod 0777 every .ssh ($N)" break_all
ok "all healed within $HEAL_TIMEOUT s while journald is stopped" wait_for "$HEAL_TIMEOUT" all_healed ||
	diag "$(cd "$S" && find home -maxdepth 3 -perm /022 | wc -l) still broken"
# A new window of the rate limit, and the same again.
sleep $((STOP_SECONDS / 2 - (SECONDS - t0) > 0 ? STOP_SECONDS / 2 - (SECONDS - t0) : 0))
ok "chmod 0777 every .ssh again" break_all
ok "all healed again within $HEAL_TIMEOUT s" wait_for "$HEAL_TIMEOUT" all_healed ||
	diag "$(cd "$S" && find home -maxdepth 3 -perm /022 | wc -l) still broken"
ok "the daemon still runs" daemon_alive
sleep $((STOP_SECONDS - (SECONDS - t0) > 0 ? STOP_SECONDS - (SECONDS - t0) : 0))
ok "SIGCONT journald after $((SECONDS - t0)) s" kill -CONT "$JOURNALD_PID"
# Each of the 1,200 repairs is either an entry or counted as dropped (SSHMEND_COUNT of a
# "suppressed" entry: held back by the rate limit, or by a full queue).
accounted() {
	local logged held
	logged=$(daemon_count SSHMEND_EVENT=drift-repaired)
	held=$(daemon_journal SSHMEND_EVENT=suppressed | while IFS= read -r l; do
		journal_field "$l" SSHMEND_COUNT
	done | awk '{ s += $1 } END { print s + 0 }')
	echo "$logged $held"
	[ $((logged + held)) -ge $((2 * N)) ]
}
ok "every repair arrives in the journal once it runs again" wait_for 30 accounted ||
	diag "logged, counted: $(accounted)"
is "$(daemon_count SSHMEND_EVENT=drift-repaired)" $((2 * N)) \
	"every user's first repair of each window is an entry: none dropped"

# ---- The notify socket not read, its queue full.
ok "SIGSTOP notify-recv" kill -STOP "$NOTIFY_PID"
add_cleanup "kill -CONT $NOTIFY_PID 2>/dev/null"
filled=$(fill_socket "$NOTIFY_SOCKET")
ok "the notify socket takes no more ($filled datagrams queued)" test "$filled" -gt 0
# The first heal's STATUS= may find the socket full after all of them: the second tells.
for round in 1 2; do
	ok "chmod 0777 every .ssh (round $round)" break_all
	ok "all healed within $HEAL_TIMEOUT s while the notify socket is full (round $round)" \
		wait_for "$HEAL_TIMEOUT" all_healed
done
ok "SIGCONT notify-recv" kill -CONT "$NOTIFY_PID"

# ---- A storm of repairs, each its own heal: STATUS= at most about once a second.
wait_for 10 grep -q "^STATUS=.* $((4 * N)) repairs$" "$NOTIFY_LOG"
lines0=$(status_lines)
ms0=$(now_ms)
for round in 1 2 3 4 5; do
	# One .ssh at a time, a millisecond apart: a heal for each.
	python3 - "$S" "$N" <<'PY'
import os, sys, time
for k in range(1, int(sys.argv[2]) + 1):
    os.chmod("%s/home/user%d/.ssh" % (sys.argv[1], k), 0o777)
    time.sleep(0.001)
PY
	wait_for "$HEAL_TIMEOUT" all_healed || diag "round $round: not healed in $HEAL_TIMEOUT s"
done
total=$((9 * N))
ok "STATUS counts all $total repairs" wait_for 5 grep -q "^STATUS=.* $total repairs$" "$NOTIFY_LOG" ||
	diag "last: $(last_status)"
sent=$(($(status_lines) - lines0))
ms=$(($(now_ms) - ms0))
ok "$sent STATUS= in $ms ms of 3,000 repairs: at most one a second" \
	test "$sent" -le $((ms / 1000 + 2))

# ---- journald restarted: a new socket at the same path, which entries reach.
# The rounds above used user1's share of this rate-limit window: the next one starts clean.
sleep 11
n0=$(daemon_count SSHMEND_USER=user1 SSHMEND_EVENT=drift-repaired)
ok "journald restarted" journald_restart
ok "chmod 0777 user1's .ssh" chmod 0777 "$S/home/user1/.ssh"
ok "healed" wait_for "$HEAL_TIMEOUT" all_healed
ok "its entry reaches the new journald" \
	daemon_wait_count 10 "$n0" SSHMEND_USER=user1 SSHMEND_EVENT=drift-repaired

pid=$DAEMON_PID
daemon_stop 30
is "$DAEMON_STATUS" 0 "SIGTERM: exit status 0"
ok "a 'stopping' entry" journal_wait 10 SYSLOG_IDENTIFIER=sshmend "_PID=$pid" SSHMEND_EVENT=stopping
ok "no sanitizer report" daemon_sanitizer_clean || diag "$(tail -n 30 "$DAEMON_ERR")"

done_testing
