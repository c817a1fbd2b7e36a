#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend daemon on 200 users, its rate limit spent: 300 quick breaks (every home, then half of
# them again), then one user's .ssh replaced by a world-writable directory. Its drift-repaired entry
# reaches the journal all the same, and so does the flapping entry of a fight over it that
# follows; what the limit held back is counted for each user and kind. Then the limit as
# sshmend.conf sets it ([Daemon] LogRateLimitBurst=5): a second drift of 20 homes is held back
# and counted. Then with a ceiling of 10 (LogRateLimitCeiling=10): past it, even the first drift
# of a home is held back, and the count names every user it held back.
# shellcheck disable=SC2016,SC2317 # sh -c scripts; functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"

journald_setup "$@"
require_root
require_prog stat find xargs seq awk
require_sshmend notify-recv

N=200
HEAL_TIMEOUT=10
sandbox_create "$N" || bail "sandbox_create $N failed"
notify_start || bail "notify_start failed"
S=$SANDBOX
V=user50
VUID=$((SANDBOX_UID_BASE + 50))

all_healed() {
	[ -z "$(cd "$S" && find home -maxdepth 3 -perm /022 -print -quit)" ]
}
held_total() {
	daemon_journal SSHMEND_EVENT=suppressed | while IFS= read -r l; do
		journal_field "$l" SSHMEND_COUNT
	done | awk '{ s += $1 } END { print s + 0 }'
}

daemon_start --root "$S"
ok "the daemon sends READY=1" daemon_wait_ready 60
ok "300 quick breaks: every home" sh -c 'cd "$1" && seq -f "home/user%.0f" 1 200 | xargs chmod 0777' _ "$S"
ok "all healed" wait_for "$HEAL_TIMEOUT" all_healed
ok "and the first 100 again" sh -c 'cd "$1" && seq -f "home/user%.0f" 1 100 | xargs chmod 0777' _ "$S"
ok "all healed" wait_for "$HEAL_TIMEOUT" all_healed
ok "then $V's .ssh replaced by a world-writable directory" sh -c '
	mv "$1/.ssh" "$1/.ssh.old" && mkdir -m 0777 "$1/.ssh" && chown "$2:$2" "$1/.ssh" &&
	chmod 0777 "$1/.ssh" && mv "$1/.ssh.old/authorized_keys" "$1/.ssh/" && rmdir "$1/.ssh.old"' \
	_ "$S/home/$V" "$VUID"
ok "healed" wait_for "$HEAL_TIMEOUT" all_healed
ok "its drift-repaired entry reaches the journal" wait_for 5 sh -c \
	'[ "$(journalctl -q -o cat --since "$1" _PID="$2" SSHMEND_USER="$3" SSHMEND_EVENT=drift-repaired SSHMEND_PATH="$4" | wc -l)" -ge 1 ]' \
	_ "$JOURNAL_SINCE" "$DAEMON_PID" "$V" "/home/$V/.ssh" ||
	daemon_journal "SSHMEND_USER=$V" | while IFS= read -r l; do
		diag "$(journal_field "$l" SSHMEND_EVENT) $(journal_field "$l" SSHMEND_PATH)"
	done
# A fight: the user's .ssh made world-writable again and again until the daemon backs off.
fight() {
	local i
	for ((i = 0; i < 400; i++)); do
		chmod 0777 "$S/home/$V/.ssh"
		sleep 0.02
		[ "$(daemon_count "SSHMEND_USER=$V" SSHMEND_EVENT=flapping)" -gt 0 ] && return 0
	done
	return 1
}
ok "a fight over it: its flapping entry reaches the journal" fight
wait_for 20 all_healed
ok "a count of what was held back" journal_wait 20 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
	SSHMEND_EVENT=suppressed
msg=$(journal_field "$(daemon_journal SSHMEND_EVENT=suppressed | head -n 1)" MESSAGE)
ok "it says whose and how many of each kind" \
	grep -Eq '(: |, )user[0-9]+ [0-9]+ \([0-9]+ drift-repaired' <<<"$msg" || diag "$msg"
daemon_stop 30
is "$DAEMON_STATUS" 0 "SIGTERM: exit status 0"
ok "no sanitizer report" daemon_sanitizer_clean || diag "$(tail -n 30 "$DAEMON_ERR")"

# ---- The limit as sshmend.conf sets it.
mkdir -p "$S/etc/sshmend"
printf '[Daemon]\nLogRateLimitBurst=5\nLogRateLimitUserBurst=1\n' >"$S/etc/sshmend/sshmend.conf"
daemon_start --root "$S"
ok "a daemon with LogRateLimitBurst=5 sends READY=1" daemon_wait_ready 60
sleep 1
for round in 1 2; do
	(cd "$S" && seq -f 'home/user%.0f' 101 120 | xargs chmod 0777)
	ok "20 homes broken and healed (round $round)" wait_for "$HEAL_TIMEOUT" all_healed
	sleep 0.5
done
pid=$DAEMON_PID
daemon_stop 30
is "$DAEMON_STATUS" 0 "SIGTERM: exit status 0"
DAEMON_JPID=$pid
drifts=$(daemon_count SSHMEND_EVENT=drift-repaired)
held=$(held_total)
is "$drifts $held" "20 20" "each home's first drift told, every second one counted as held back"
ok "no sanitizer report" daemon_sanitizer_clean || diag "$(tail -n 30 "$DAEMON_ERR")"

# ---- A ceiling: the most entries a window holds, users' first drifts included.
printf '[Daemon]\nLogRateLimitBurst=5\nLogRateLimitUserBurst=1\nLogRateLimitCeiling=10\n' \
	>"$S/etc/sshmend/sshmend.conf"
daemon_start --root "$S"
ok "a daemon with LogRateLimitCeiling=10 sends READY=1" daemon_wait_ready 60
sleep 1
(cd "$S" && seq -f 'home/user%.0f' 101 120 | xargs chmod 0777)
ok "20 homes broken and healed" wait_for "$HEAL_TIMEOUT" all_healed
sleep 0.5
# Read again on reload, the window's count kept: a higher ceiling lets its next first drifts by.
printf '[Daemon]\nLogRateLimitBurst=5\nLogRateLimitUserBurst=1\nLogRateLimitCeiling=1000\n' \
	>"$S/etc/sshmend/sshmend.conf"
reloaded0=$(daemon_event_count reloaded)
kill -HUP "$DAEMON_PID"
ok "reloaded with LogRateLimitCeiling=1000" daemon_wait_events 30 $((reloaded0 + 1)) reloaded
(cd "$S" && seq -f 'home/user%.0f' 121 130 | xargs chmod 0777)
ok "10 more homes broken and healed" wait_for "$HEAL_TIMEOUT" all_healed
sleep 0.5
pid=$DAEMON_PID
daemon_stop 30
is "$DAEMON_STATUS" 0 "SIGTERM: exit status 0"
DAEMON_JPID=$pid
told=$(daemon_journal SSHMEND_EVENT=drift-repaired | while IFS= read -r l; do
	journal_field "$l" SSHMEND_USER
done | sort)
is "$(grep -cE '^user1(2[1-9]|30)$' <<<"$told")" 10 "after the reload, each of the 10 first drifts told"
told=$(grep -vE '^user1(2[1-9]|30)$' <<<"$told")
held=$(daemon_journal SSHMEND_EVENT=suppressed | while IFS= read -r l; do
	journal_field "$l" SSHMEND_HELD
done | tr ' ' '\n' | awk -F: '$2 == "drift-repaired" && $3 == 1 { print $1 }' | sort)
ok "past the ceiling, first drifts held back: $(grep -c . <<<"$told") told" \
	test "$(grep -c . <<<"$told")" -lt 10
is "$(held_total)" "$(grep -c . <<<"$held")" "each held back once, of its user"
is "$(printf '%s\n%s\n' "$told" "$held" | grep . | sort | tr '\n' ' ')" \
	"$(seq -f 'user%.0f' 101 120 | sort | tr '\n' ' ')" \
	"every user's drift is told by itself or named, with its count, in the count of what was held back"
ok "no sanitizer report" daemon_sanitizer_clean || diag "$(tail -n 30 "$DAEMON_ERR")"

done_testing
