#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 11, against the running daemon: "rm -rf ~/.ssh" and recreate it, broken,
# 200 times: 100 times as fast as the user can, then 100 times waiting for each repair (so that
# the daemon watches every new directory before it goes).
#
# Expected: no crash, the daemon still runs and heals, and afterwards it holds as many inotify
# watches (the "inotify wd:" lines of its inotify descriptor) and as many registered paths (its
# STATUS=) as at start: no stale watch. FlapThreshold is high, so that it keeps repairing.
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"

sandbox_create 2 || bail "sandbox_create failed"
sandbox_config '[Daemon]' RescanIntervalSec=3600 FallbackScanIntervalSec=3600 \
	FlapThreshold=1000000 || bail "config failed"
dthreat_start || bail "the daemon did not start"

h=home/user1
# The number of paths the daemon registered, from its last STATUS=.
status_paths() {
	grep '^STATUS=watching' "$NOTIFY_LOG" | tail -n 1 | sed -n 's/.* \([0-9]*\) paths.*/\1/p'
}
watches0=$(dthreat_watches)
paths0=$(status_paths)
diag "at start: $watches0 inotify watches, $paths0 paths"
ok "the daemon holds inotify watches at start" test "$watches0" -gt 0
ok "its STATUS= gives a number of paths" test -n "$paths0"

run_as user1 bash -c 'cd "$1" || exit 1
	for ((i = 0; i < 100; i++)); do
		rm -rf .ssh && mkdir -m 0777 .ssh && printf "%s\n" "$2" >.ssh/authorized_keys &&
			chmod 0666 .ssh/authorized_keys || exit 1
	done' _ "$SANDBOX/$h" "$SANDBOX_PUBKEY"
is "$?" 0 "as user1: 100 times rm -rf ~/.ssh and recreate it, broken, at full speed"
ok "daemon still runs" daemon_alive
dthreat_wait_stat 10 $h/.ssh "20001 20001 0755 d" "the last .ssh is healed"
dthreat_wait_stat 10 $h/.ssh/authorized_keys "20001 20001 0644 f" "the last keys file is healed"

healed=0
for ((i = 0; i < 100; i++)); do
	run_as user1 bash -c 'cd "$1" || exit 1
		rm -rf .ssh && mkdir -m 0777 .ssh && printf "%s\n" "$2" >.ssh/authorized_keys &&
		chmod 0666 .ssh/authorized_keys' _ "$SANDBOX/$h" "$SANDBOX_PUBKEY" || break
	wait_for 10 _dthreat_stat_is $h/.ssh/authorized_keys "20001 20001 0644 f" || break
	wait_for 10 _dthreat_stat_is $h/.ssh "20001 20001 0755 d" || break
	healed=$((healed + 1))
done
is "$healed" 100 "100 more times, each new .ssh and keys file healed before the next rm -rf"
ok "daemon still runs" daemon_alive

# No stale watch: back to the start's numbers once the daemon has settled.
same_watches() { [ "$(dthreat_watches)" = "$watches0" ]; }
wait_for 10 same_watches
is "$(dthreat_watches)" "$watches0" "as many inotify watches as at start"
ok "the watched inodes are all there (no watch on a removed directory)" \
	dthreat_is_watched $h/.ssh
same_paths() { [ "$(status_paths)" = "$paths0" ]; }
wait_for 10 same_paths
is "$(status_paths)" "$paths0" "as many registered paths in STATUS= as at start"

# Still watching: fresh drift on the last directory, and another user's.
chmod 0777 "$SANDBOX/$h/.ssh"
dthreat_wait_stat 10 $h/.ssh "20001 20001 0755 d" "a fresh drift of user1's .ssh is healed"
chmod 0666 "$SANDBOX/$h/.ssh/authorized_keys"
dthreat_wait_stat 10 $h/.ssh/authorized_keys "20001 20001 0644 f" "a fresh drift of its keys file is healed"
chmod 0777 "$SANDBOX/home/user2/.ssh"
dthreat_wait_stat 10 home/user2/.ssh "20002 20002 0755 d" "user2's drift is healed"

ok "daemon still runs" daemon_alive
daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
