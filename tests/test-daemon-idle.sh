#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend daemon on a sandbox root of 20 users, under a NOTIFY_SOCKET: once a repair is made,
# logged and its STATUS= sent, the daemon sleeps until something happens. No timer is left to
# wake it for nothing (the one-second gap between two STATUS= is timed only for a status held
# back), and a storm's entries, sent once its chains are healed, all reach the journal.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"

journald_setup "$@"
require_root
require_prog awk find seq xargs
require_sshmend notify-recv

N=20
QUIET_SECONDS=3

sandbox_create "$N" || bail "sandbox_create $N failed"
notify_start || bail "notify_start failed"
S=$SANDBOX

# The daemon's context switches so far (voluntary: each time it slept and was woken).
switches() {
	awk '/^voluntary_ctxt_switches:|^nonvoluntary_ctxt_switches:/ { n += $2 } END { print n }' \
		"/proc/$DAEMON_PID/status"
}
healed() {
	[ -z "$(cd "$S" && find home -maxdepth 3 -perm /022 -print -quit)" ]
}
# Context switches over QUIET_SECONDS, once the last STATUS= counts $1 repairs.
idle_switches() {
	local a b
	wait_for 10 grep -q "^STATUS=.* $1 repairs\?$" "$NOTIFY_LOG" || return 1
	# The entry of the repair, sent in the loop iteration after it.
	sleep 0.2
	a=$(switches)
	sleep "$QUIET_SECONDS"
	b=$(switches)
	echo $((b - a))
}

daemon_start --root "$S"
daemon_wait_ready || bail "the daemon did not get ready"
# The start's own STATUS= and the first key audit, then a second without any: the next STATUS=
# is sent at once.
sleep 2

chmod 0777 "$S/home/user1/.ssh"
ok "a break is healed" wait_for 5 healed
n=$(idle_switches 1)
ok "idle for $QUIET_SECONDS s after a repair and its STATUS= ($n context switches)" test "${n:-x}" = 0

# A storm: every chain at once, then each user's entry after the heals, every one logged.
sleep 1
(cd "$S" && seq -f 'home/user%.0f/.ssh' 1 "$N" | xargs chmod 0777)
ok "the storm is healed" wait_for 10 healed
ok "each user's repair is logged" daemon_wait_events 10 $((N + 1)) drift-repaired
n=$(idle_switches $((N + 1)))
ok "idle for $QUIET_SECONDS s after the storm ($n context switches)" test "${n:-x}" = 0

daemon_stop
ok "SIGTERM stops it with status 0" test "$DAEMON_STATUS" = 0
done_testing
