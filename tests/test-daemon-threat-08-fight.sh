#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 8, against the running daemon: a user fights it,
# "while :; do chmod 777 ~/.ssh; done", for longer than the first back-off.
#
# Expected: no busy loop (the daemon's CPU time stays well under the wall time), no log flood
# (at most FlapThreshold+1 repairs before it backs off, then about one per back-off period),
# exactly one "flapping" entry for the whole fight, and once the fight stops and the back-off
# has passed, the chain is healed. Another user's chain is still repaired at once meanwhile.
#
# Then a second fight (user2, FlapBackoffSec=10) during which etc/passwd is rewritten, which is
# what chfn(1) or chsh(1) do when the user runs them: the daemon reloads, but the back-off must
# survive the reload, else any user can end it at will (no new repair, no new flapping entry).
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"

THRESHOLD=5
BACKOFF=2
BACKOFF_MAX=4
FIGHT_SECONDS=5
# Repairs allowed for the episode: FlapThreshold+1 before the back-off, one after each back-off
# period that ends during the fight (at most 2 here: after 2 s and after 2+4 s), one final heal.
MAX_REPAIRS=$((THRESHOLD + 4))

sandbox_create 2 || bail "sandbox_create failed"
sandbox_config '[Daemon]' "FlapThreshold=$THRESHOLD" FlapWindowSec=30 "FlapBackoffSec=$BACKOFF" \
	"FlapBackoffMaxSec=$BACKOFF_MAX" RescanIntervalSec=3600 || bail "config failed"
dthreat_start || bail "the daemon did not start"

ok "daemon runs" daemon_alive
expect_stat home/user1/.ssh "20001 20001 0700 d" "start: user1's .ssh is 0700"

# The path is healed at all (else the rest would prove nothing): one drift of user2.
chmod 0777 "$SANDBOX/home/user2/.ssh"
dthreat_wait_stat 10 home/user2/.ssh "20002 20002 0755 d" "a single drift of user2's .ssh is repaired"

# The fight, as the user: the shell loop of the scenario and, where perl is there, a tight loop
# of chmod(2) calls besides, many times faster (events the daemon must not turn into work).
spawn_as user1 bash -c 'cd "$1" || exit 1; while :; do chmod 777 .ssh; done' _ \
	"$SANDBOX/home/user1"
fighters=$SPAWNED
if command -v perl >/dev/null 2>&1; then
	spawn_as user1 perl -e 'chdir $ARGV[0] or die; 1 while chmod 0777, ".ssh"' \
		"$SANDBOX/home/user1"
	fighters="$fighters $SPAWNED"
fi
cpu0=$(dthreat_cpu_ticks)
t0=$(dthreat_now_ms)
ok "the daemon backs off: a flapping entry comes during the fight" \
	daemon_wait_events "$FIGHT_SECONDS" 1 flapping SSHMEND_USER=user1
first_flap=$(daemon_events flapping SSHMEND_USER=user1 | head -n 1)
dthreat_sleep_ms $((t0 + FIGHT_SECONDS * 1000 - $(dthreat_now_ms)))
cpu1=$(dthreat_cpu_ticks)
t1=$(dthreat_now_ms)
for f in $fighters; do
	kill_pid "$f"
done
final_mode=$(stat_of home/user1/.ssh)
diag "fight over after $((t1 - t0)) ms; .ssh left as: $final_mode"

ok "daemon still runs after the fight" daemon_alive
cpu_ms=$(((cpu1 - cpu0) * 1000 / DTHREAT_HZ))
wall_ms=$((t1 - t0))
diag "daemon CPU time during the fight: $cpu_ms ms of $wall_ms ms wall time"
ok "no busy loop: daemon CPU time < 50% of the fight's wall time ($cpu_ms of $wall_ms ms)" \
	test $((cpu_ms * 2)) -lt "$wall_ms"
# The repairs logged before the first flapping entry (the fight goes on meanwhile).
repairs_before_flap=$(daemon_journal SSHMEND_USER=user1 SSHMEND_EVENT=drift-repaired \
	SSHMEND_EVENT=flapping | while read -r l; do journal_field "$l" SSHMEND_EVENT; done |
	awk '$0 == "flapping" { exit } { n++ } END { print n + 0 }')
ok "at most FlapThreshold+1 repairs before backing off ($repairs_before_flap)" \
	test "$repairs_before_flap" -le $((THRESHOLD + 1))
is "$(journal_field "$first_flap" SSHMEND_PATH)" /home/user1/.ssh "flapping names the path"
is "$(journal_field "$first_flap" PRIORITY)" 4 "flapping is a warning"

# After the fight: the back-off ends, the chain is healed.
dthreat_wait_stat $((BACKOFF_MAX + BACKOFF + 5)) home/user1/.ssh "20001 20001 0755 d" \
	"after the fight and the back-off, user1's .ssh is healed"
# Let any back-off still running end, so that everything this episode logs is in.
sleep $((BACKOFF_MAX + 1))

flaps=$(daemon_event_count flapping SSHMEND_USER=user1)
is "$flaps" 1 "exactly one flapping entry for the whole fight"
[ "$flaps" = 1 ] || diag "$(daemon_events flapping SSHMEND_USER=user1 | while read -r l; do
	journal_field "$l" MESSAGE; done)"
repairs=$(daemon_event_count drift-repaired SSHMEND_USER=user1)
ok "no log flood: at most FlapThreshold+4 = $MAX_REPAIRS drift-repaired entries for the episode ($repairs)" \
	test "$repairs" -le "$MAX_REPAIRS"
is "$(daemon_event_count suppressed)" 0 "the daemon's own rate limit never had to hold entries back"
is "$(daemon_event_count flapping SSHMEND_USER=user2)" 0 "user2 was never flagged"

# The other user is served at once while user1 is in back-off, and user1 again after it.
chmod 0777 "$SANDBOX/home/user2/.ssh"
dthreat_wait_stat 5 home/user2/.ssh "20002 20002 0755 d" "user2's drift is still repaired at once"
chmod 0777 "$SANDBOX/home/user1/.ssh"
dthreat_wait_stat $((BACKOFF_MAX * 2 + 5)) home/user1/.ssh "20001 20001 0755 d" \
	"a later single drift of user1's .ssh is repaired too"

# --- The back-off survives a reload.
reloads=$(daemon_event_count reloaded)
sandbox_config '[Daemon]' "FlapThreshold=$THRESHOLD" FlapWindowSec=30 FlapBackoffSec=10 \
	FlapBackoffMaxSec=20 RescanIntervalSec=3600 || bail "config failed"
ok "new configuration: the daemon reloads" daemon_wait_events 10 $((reloads + 1)) reloaded
spawn_as user2 bash -c 'cd "$1" || exit 1; while :; do chmod 777 .ssh; done' _ \
	"$SANDBOX/home/user2"
fighter=$SPAWNED
ok "second fight (user2): the daemon backs off" daemon_wait_events 5 1 flapping SSHMEND_USER=user2
repairs=$(daemon_event_count drift-repaired SSHMEND_USER=user2)
reloads=$(daemon_event_count reloaded)
dthreat_passwd_replace <"$SANDBOX/etc/passwd"
ok "etc/passwd rewritten during the back-off: the daemon reloads" \
	daemon_wait_events 10 $((reloads + 1)) reloaded
sleep 2
kill_pid "$fighter"
is "$(daemon_event_count drift-repaired SSHMEND_USER=user2)" "$repairs" \
	"no repair of the fighting user after the reload: the back-off goes on"
is "$(daemon_event_count flapping SSHMEND_USER=user2)" 1 "and no second flapping entry"
dthreat_wait_stat 20 home/user2/.ssh "20002 20002 0755 d" "after that back-off, user2's .ssh is healed"

# --- A reload read together with a drift of the backed-off user (the daemon stopped while both
# happen, so that one read of its inotify queue holds them): the user was queued when the
# reload came, and must still be healed when the back-off ends, not left queued for ever.
sandbox_config '[Daemon]' FlapThreshold=2 FlapWindowSec=30 FlapBackoffSec=2 \
	FlapBackoffMaxSec=4 RescanIntervalSec=3600 || bail "config failed"
ok "third configuration: the daemon reloads" daemon_wait_events 10 $((reloads + 2)) reloaded
# user1's episode is not over (not a whole quiet window yet): each repair earns a back-off.
for _ in 1 2 3 4 5; do
	chmod 0777 "$SANDBOX/home/user1/.ssh"
	dthreat_sleep_ms 200
done
is "$(stat_of home/user1/.ssh)" "20001 20001 0777 d" "user1 fights again: a drift waits out the back-off"
reloads=$(daemon_event_count reloaded)
kill -STOP "$DAEMON_PID"
chmod 0777 "$SANDBOX/home/user1/.ssh"
dthreat_passwd_replace <"$SANDBOX/etc/passwd"
kill -CONT "$DAEMON_PID"
ok "etc/passwd rewritten with user1's drift: the daemon reloads" \
	daemon_wait_events 10 $((reloads + 1)) reloaded
dthreat_wait_stat 10 home/user1/.ssh "20001 20001 0755 d" \
	"after the back-off, the drift read with the reload is healed"

ok "daemon still runs" daemon_alive
daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
