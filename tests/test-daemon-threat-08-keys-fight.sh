#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 8, against the running daemon, with key syncs: user1 appends an empty
# pair of sshmend's marker lines to their own authorized_keys every 10 ms, so that each heal
# writes the file again (without the block) and fsyncs it, as a chmod loop makes it repair.
#
# Expected: the daemon backs off from the user as from a chmod fight: a "flapping" entry
# (SSHMEND_PROBLEM=keys) for the whole fight, at most FlapThreshold+1 syncs before it, then about
# one per back-off period, CPU time well under the wall time; once the fight stops and the
# back-off has passed, the file is synced. A sync the drop-in directory asks for is the
# operator's and never a fight: user2's drop-in changing again and again gets no back-off, and
# user2 is served at once during user1's fight; a key approved for user1 during the back-off
# (or one revoked) is synced within a second or two, not after the back-off.
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog ssh-keygen grep

THRESHOLD=5
BACKOFF=3
BACKOFF_MAX=6
FIGHT_SECONDS=6
# Syncs allowed for the episode: FlapThreshold+1 before the back-off, one after each back-off
# period that ends during the fight (3 s, then 6 s: at most 2), the approved key's, one final.
MAX_SYNCS=$((THRESHOLD + 5))
BEGIN='# sshmend: approved keys, managed from the drop-in directory; do not edit'
END='# sshmend: end of approved keys'

sandbox_create 2 || bail "sandbox_create failed"
ak1=$SANDBOX/home/user1/.ssh/authorized_keys
ak2=$SANDBOX/home/user2/.ssh/authorized_keys
dropin1=$SANDBOX/etc/sshmend/keys.d/user1
dropin2=$SANDBOX/etc/sshmend/keys.d/user2
for k in a b; do
	ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$TEST_TMP/$k" </dev/null ||
		bail "ssh-keygen failed"
done
install -d -m 0755 "$dropin1" "$dropin2"
install -m 0644 "$TEST_TMP/a.pub" "$dropin2/a.pub"
sandbox_config '[Daemon]' "FlapThreshold=$THRESHOLD" FlapWindowSec=30 "FlapBackoffSec=$BACKOFF" \
	"FlapBackoffMaxSec=$BACKOFF_MAX" RescanIntervalSec=3600 || bail "config failed"
dthreat_start || bail "the daemon did not start"
ok "user2's approved key is synced at start" grep -q ' a$' "$ak2"

# The operator's changes: user2's drop-in directory changes 2 * THRESHOLD times, each a sync.
for ((i = 0; i < 2 * THRESHOLD; i++)); do
	if ((i % 2)); then
		rm -f "$dropin2/b.pub"
	else
		install -m 0644 "$TEST_TMP/b.pub" "$dropin2/b.pub"
	fi
	daemon_wait_events 5 $((i + 2)) keys-synced SSHMEND_USER=user2
done
is "$(daemon_event_count keys-synced SSHMEND_USER=user2)" $((2 * THRESHOLD + 1)) \
	"each change of user2's drop-in directory is synced at once"
is "$(daemon_event_count flapping SSHMEND_USER=user2)" 0 "syncs the drop-in directory asks for are no fight"

# The fight.
spawn_as user1 bash -c 'while :; do printf "%s\n%s\n" "$1" "$2" >>"$3"; sleep 0.01; done' \
	_ "$BEGIN" "$END" "$ak1"
fighter=$SPAWNED
cpu0=$(dthreat_cpu_ticks)
t0=$(dthreat_now_ms)
ok "the daemon backs off: a flapping entry comes during the fight" \
	daemon_wait_events "$FIGHT_SECONDS" 1 flapping SSHMEND_USER=user1
flapped=$(dthreat_now_ms)
flap=$(daemon_events flapping SSHMEND_USER=user1 | head -n 1)
is "$(journal_field "$flap" SSHMEND_PROBLEM)" keys "flapping says it is the keys (SSHMEND_PROBLEM=keys)"
is "$(journal_field "$flap" SSHMEND_PATH)" /home/user1/.ssh/authorized_keys "flapping names the keys file"
# user2 is served meanwhile.
install -m 0644 "$TEST_TMP/b.pub" "$dropin2/b.pub"
ok "user2's new approved key is synced at once during user1's back-off" \
	wait_until 5 'grep -q " b$" "$ak2"'
# The operator approves a key for user1 in its first back-off (BACKOFF s), and it is synced
# well before that back-off ends.
install -m 0644 "$TEST_TMP/a.pub" "$dropin1/a.pub"
ok "a key approved for user1 during its back-off is synced within 2 s" \
	wait_until 2 'grep -q " a$" "$ak1"'
ok "and that was during the back-off ($(($(dthreat_now_ms) - flapped)) ms after flapping)" \
	test $(($(dthreat_now_ms) - flapped)) -lt $((BACKOFF * 1000))
dthreat_sleep_ms $((t0 + FIGHT_SECONDS * 1000 - $(dthreat_now_ms)))
cpu1=$(dthreat_cpu_ticks)
t1=$(dthreat_now_ms)
kill_pid "$fighter"
cpu_ms=$(((cpu1 - cpu0) * 1000 / DTHREAT_HZ))
wall_ms=$((t1 - t0))
diag "daemon CPU time during the fight: $cpu_ms ms of $wall_ms ms wall time"
ok "no busy loop: daemon CPU time < 50% of the fight's wall time ($cpu_ms of $wall_ms ms)" \
	test $((cpu_ms * 2)) -lt "$wall_ms"

# After the fight: the back-off ends, the file is synced (an event brings the daemon back, if
# the last heal read a pair half written).
sleep $((BACKOFF_MAX + 1))
run_as user1 touch "$ak1"
ok "after the fight and the back-off, user1's file holds one approved block" \
	wait_until $((BACKOFF_MAX + 5)) '[ "$(grep -c "^# sshmend: " "$ak1")" = 2 ]'
ok "with the approved key in it" grep -q ' a$' "$ak1"
syncs=$(daemon_event_count keys-synced SSHMEND_USER=user1)
ok "no rewrite loop: at most FlapThreshold+5 = $MAX_SYNCS syncs for the episode ($syncs)" \
	test "$syncs" -le "$MAX_SYNCS"
is "$(daemon_event_count flapping SSHMEND_USER=user1)" 1 "exactly one flapping entry for the whole fight"
is "$(daemon_event_count suppressed)" 0 "the rate limit never had to hold entries back"

ok "daemon still runs" daemon_alive
daemon_stop 10
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
