#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 8: what a fight costs the daemon once it has backed off. user1 runs a
# tight loop of chmod(2) calls on its ~/.ssh (perl, some hundred thousand a second). Once the
# daemon has logged "flapping", the back-off (FlapBackoffSec=20) is under way: over the next
# MEASURE_S seconds the daemon's CPU time (utime + stime of /proc/PID/stat) stays under 10 % of
# one core, and user1's ~/.ssh is not watched. Once the fight stops, a change of user1's approved
# keys is still synced at once, during the back-off, and user2's drift healed at once; once the
# back-offs end, user1's ~/.ssh is watched again, and a drift of it healed at once.
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog perl ssh-keygen

MEASURE_S=${SSHMEND_FIGHT_MEASURE_S:-4}
BACKOFF=20

sandbox_create 2 || bail "sandbox_create failed"
dropin=$SANDBOX/etc/sshmend/keys.d/user1
install -d -m 0755 "$dropin" || bail "cannot make the drop-in directory"
sandbox_config '[Daemon]' FlapThreshold=5 FlapWindowSec=30 "FlapBackoffSec=$BACKOFF" \
	"FlapBackoffMaxSec=$BACKOFF" RescanIntervalSec=3600 || bail "config failed"
dthreat_start || bail "the daemon did not start"
ok "user1's ~/.ssh is watched" dthreat_is_watched home/user1/.ssh

spawn_as user1 perl -e 'chdir $ARGV[0] or die; 1 while chmod 0777, ".ssh"' \
	"$SANDBOX/home/user1"
fighter=$SPAWNED
ok "the daemon backs off: a flapping entry" daemon_wait_events 10 1 flapping SSHMEND_USER=user1
# Let the repair that earned the back-off, and what it read, pass.
sleep 0.5
cpu0=$(dthreat_cpu_ticks)
t0=$(dthreat_now_ms)
sleep "$MEASURE_S"
cpu1=$(dthreat_cpu_ticks)
t1=$(dthreat_now_ms)
ok "the fight went on all the while" kill -0 "$fighter"
cpu_ms=$(((cpu1 - cpu0) * 1000 / DTHREAT_HZ))
wall_ms=$((t1 - t0))
diag "daemon CPU time while backed off: $cpu_ms ms of $wall_ms ms"
ok "backed off, the fight costs the daemon under 10 % of a core ($cpu_ms of $wall_ms ms)" \
	test $((cpu_ms * 10)) -lt "$wall_ms"
ok "user1's ~/.ssh is not watched during the back-off" eval '! dthreat_is_watched home/user1/.ssh'

kill_pid "$fighter"
ssh-keygen -q -t ed25519 -N '' -C approved -f "$TEST_TMP/approved" </dev/null >/dev/null ||
	bail "ssh-keygen failed"
approved=$(cat "$TEST_TMP/approved.pub")
cp "$TEST_TMP/approved.pub" "$dropin/.approved.pub.new" && chmod 0644 "$dropin/.approved.pub.new" &&
	mv -f "$dropin/.approved.pub.new" "$dropin/approved.pub" || bail "cannot approve a key"
ok "an approved key of user1 is synced at once, back-off or not" \
	wait_for 5 grep -q -x -F -e "$approved" "$SANDBOX/home/user1/.ssh/authorized_keys"
expect_stat home/user1/.ssh "20001 20001 0755 d" "with that, user1's ~/.ssh is healed"
chmod 0777 "$SANDBOX/home/user2/.ssh"
dthreat_wait_stat 5 home/user2/.ssh "20002 20002 0755 d" "user2's drift is healed at once"
# That repair earned user1 one more back-off; after it, nothing to repair: the episode ends.
ok "once the back-offs have passed, user1's ~/.ssh is watched again" \
	wait_for $((2 * BACKOFF + 10)) dthreat_is_watched home/user1/.ssh
chmod 0777 "$SANDBOX/home/user1/.ssh"
dthreat_wait_stat 5 home/user1/.ssh "20001 20001 0755 d" "and a drift of it is healed at once"
ok "no flapping entry but the one" test "$(daemon_event_count flapping SSHMEND_USER=user1)" = 1
ok "daemon still runs" daemon_alive
daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
