#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 10, against the running daemon: "mv ~/.ssh ~/.old; mkdir -m 777 ~/.ssh".
#
# Expected: the new directory is healed, watched (a keys file put into it and a later drift of it
# are repaired), and the old one is no longer treated as part of the chain: nothing under ~/.old
# is repaired, and the daemon no longer watches it (its number of watches is what it was).
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"

sandbox_create 2 || bail "sandbox_create failed"
sandbox_config '[Daemon]' RescanIntervalSec=3600 FallbackScanIntervalSec=3600 \
	FlapThreshold=1000 || bail "config failed"
dthreat_start || bail "the daemon did not start"

h=home/user1
watches0=$(dthreat_watches)
diag "the daemon holds $watches0 inotify watches"
ok "daemon runs" daemon_alive
ok "user1's .ssh is watched at start" dthreat_is_watched $h/.ssh
old_ino=$(stat -c %i "$SANDBOX/$h/.ssh")

run_as user1 sh -c 'cd "$1" && mv .ssh .old && mkdir -m 777 .ssh' _ "$SANDBOX/$h"
is "$?" 0 "as user1: mv .ssh .old; mkdir -m 777 .ssh (in the home)"
dthreat_wait_stat 10 $h/.ssh "20001 20001 0755 d" "the new .ssh is healed"
ok "a drift-repaired entry names it" daemon_wait_events 5 1 drift-repaired SSHMEND_USER=user1 \
	SSHMEND_PATH=/home/user1/.ssh
ok "the new .ssh is watched" wait_for 5 dthreat_is_watched $h/.ssh
not_watched_ino() { ! dthreat_watched_inos | grep -qx -- "$1"; }
ok "the old directory (now .old) is no longer watched" wait_for 5 not_watched_ino "$old_ino"
is "$(dthreat_watches)" "$watches0" "the daemon holds as many watches as before"

# The old directory is no longer the chain: its drift stays.
chmod 0777 "$SANDBOX/$h/.old"
chmod 0666 "$SANDBOX/$h/.old/authorized_keys"
dthreat_keep_stat 3 $h/.old "20001 20001 0777 d" "the old directory (.old) is left alone"
expect_stat $h/.old/authorized_keys "20001 20001 0666 f" "the keys file in .old is left alone"
is "$(daemon_event_count drift-repaired SSHMEND_PATH=/home/user1/.old)" 0 "no repair of .old logged"
is "$(daemon_event_count drift-repaired SSHMEND_PATH=/home/user1/.old/authorized_keys)" 0 \
	"no repair of .old/authorized_keys logged"

# The new one is: a keys file put into it, then a drift of the directory itself.
run_as user1 sh -c 'cd "$1" && cp .old/authorized_keys .ssh/authorized_keys &&
	chmod 0666 .ssh/authorized_keys' _ "$SANDBOX/$h"
dthreat_wait_stat 10 $h/.ssh/authorized_keys "20001 20001 0644 f" \
	"a keys file put into the new .ssh is healed"
chmod 0777 "$SANDBOX/$h/.ssh"
dthreat_wait_stat 10 $h/.ssh "20001 20001 0755 d" "a later drift of the new .ssh is healed"

# Once more, the other way round: the old directory comes back, the new one goes aside.
old2_ino=$(stat -c %i "$SANDBOX/$h/.ssh")
run_as user1 sh -c 'cd "$1" && mv .ssh .new && mv .old .ssh' _ "$SANDBOX/$h"
dthreat_wait_stat 10 $h/.ssh "20001 20001 0755 d" "the directory moved back as .ssh is healed"
dthreat_wait_stat 10 $h/.ssh/authorized_keys "20001 20001 0644 f" "and its keys file"
ok "it is watched again" wait_for 5 dthreat_is_watched $h/.ssh
ok "the one moved aside is no longer watched" wait_for 5 not_watched_ino "$old2_ino"
chmod 0777 "$SANDBOX/$h/.new"
dthreat_keep_stat 3 $h/.new "20001 20001 0777 d" "the one moved aside is left alone"
is "$(dthreat_watches)" "$watches0" "the daemon holds as many watches as at start"

ok "daemon still runs" daemon_alive
daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
