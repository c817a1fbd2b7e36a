#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Too few resources at start:
#
#   RLIMIT_NOFILE of 64 with 1,000 users, 20 of them broken: the daemon starts, repairs them all,
#   heals a chain broken afterwards, and never crashes;
#   no inotify instance left (the daemon alone, in a user namespace whose
#   max_inotify_instances is 0, so that neither other processes nor other tests are affected):
#   the daemon runs degraded with one clear entry, heals what is broken at start and, at its
#   periodic scan, what is broken later.
# shellcheck disable=SC2317 # functions run through ok
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog prlimit

USERS=1000
BROKEN=20

sandbox_create "$USERS" || bail "sandbox_create failed"
sandbox_config '[Daemon]' RescanIntervalSec=3 || bail "config failed"
h=$SANDBOX/home
for ((k = 1; k <= BROKEN; k++)); do
	chmod 0777 "$h/user$((k * 50))/.ssh"
done

# --- RLIMIT_NOFILE 64 ----------------------------------------------------------------------
_daemon_err || bail "no TEST_TMP"
ready0=$(daemon_ready_count)
prlimit --nofile=64:64 -- "$SSHMEND" --root "$SANDBOX" daemon </dev/null >>"$DAEMON_ERR" 2>&1 &
daemon_started $! "$ready0"
ok "64 descriptors, $USERS users: READY=1" daemon_wait_ready 120
all_repaired() {
	local k
	for ((k = 1; k <= BROKEN; k++)); do
		stat_is "$h/user$((k * 50))/.ssh" "$((SANDBOX_UID_BASE + k * 50)) $((SANDBOX_UID_BASE + k * 50)) 0755" ||
			return 1
	done
}
ok "every broken chain is repaired at start" all_repaired
chmod 0777 "$h/user777/.ssh"
dthreat_wait_stat 10 home/user777/.ssh "20777 20777 0755 d" "a chain broken later is healed"
ok "no internal error" test "$(daemon_event_count internal-error)" = 0 ||
	diag "$(daemon_event_messages internal-error | head -n 5)"
ok "the daemon still runs" daemon_alive
daemon_expect_stop "SIGTERM: exit status 0"

# --- No inotify instance ---------------------------------------------------------------------
for ((k = 1; k <= BROKEN; k++)); do
	chmod 0777 "$h/user$((k * 50))/.ssh"
done
DTHREAT_USERNS_SYSCTL=max_inotify_instances
dthreat_start_watch_limit 0
rc=$?
[ "$rc" = 2 ] && skip_all "no user namespace for an inotify instance limit of its own"
ok "no inotify instance: the daemon starts all the same (READY=1)" test "$rc" = 0
ok "every broken chain is repaired at start" all_repaired
n=$(daemon_event_count watch-limit)
is "$n" 1 "one watch-limit entry"
like "$(daemon_event_messages watch-limit)" 'no inotify instance.*max_user_instances' \
	"saying that no inotify instance was to be had"
chmod 0777 "$h/user777/.ssh"
dthreat_wait_stat 15 home/user777/.ssh "20777 20777 0755 d" \
	"a chain broken later is healed by the periodic scan"
is "$(daemon_event_count watch-limit)" 1 "still one watch-limit entry"
ok "the daemon still runs" daemon_alive
daemon_expect_stop "SIGTERM: exit status 0"
done_testing
