#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 13, against the running daemon: the passwd database changes under it.
# Each change renames a new etc/passwd into place (as shadow's tools do), which makes the daemon
# reload; the test waits for its "reloaded" entry, then:
#
#   deleted:  user2 is removed: its chain is no longer repaired;
#   renamed:  user3 becomes "renamed3" (same uid and home; this passwd is rewritten in place):
#             repairs are logged for the new name;
#   moved:    user4's home becomes /home/moved4 (the old one stays): the new one is healed and
#             watched, the old one is left alone; user6's home is moved with mv (as usermod -m
#             does) and drifts there before passwd follows: healed once passwd names it;
#   reused:   user5 is removed and its uid given to a new user "newbie" with home /home/newbie:
#             the chain follows the new entry, user5's old home is left alone.
# user1 is the control: repaired throughout. RescanIntervalSec is an hour, so every repair comes
# from the reload's scan or from a watch.
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"

sandbox_create 6 || bail "sandbox_create failed"
sandbox_config '[Daemon]' RescanIntervalSec=3600 FallbackScanIntervalSec=3600 \
	FlapThreshold=1000 || bail "config failed"
dthreat_start || bail "the daemon did not start"
ok "daemon runs" daemon_alive

cp "$SANDBOX/etc/passwd" "$TEST_TMP/passwd.orig"
# change_passwd DESC SED-SCRIPT [in-place]: apply it to etc/passwd, wait for the reload.
change_passwd() {
	local desc=$1 new reloads
	reloads=$(daemon_event_count reloaded)
	if [ "${3:-}" = in-place ]; then
		new=$(sed -e "$2" "$SANDBOX/etc/passwd") && printf '%s\n' "$new" >"$SANDBOX/etc/passwd"
	else
		sed -e "$2" "$SANDBOX/etc/passwd" | dthreat_passwd_replace
	fi
	ok "$desc: the daemon reloads" daemon_wait_events 10 $((reloads + 1)) reloaded
}

# Control: user1 is served.
chmod 0777 "$SANDBOX/home/user1/.ssh"
dthreat_wait_stat 10 home/user1/.ssh "20001 20001 0755 d" "user1's drift is healed"

# --- deleted
change_passwd "user2 deleted" '/^user2:/d'
chmod 0777 "$SANDBOX/home/user2/.ssh"
chmod 0777 "$SANDBOX/home/user2"
dthreat_keep_stat 3 home/user2/.ssh "20002 20002 0777 d" "deleted user2's .ssh is no longer repaired"
expect_stat home/user2 "20002 20002 0777 d" "nor its home"
is "$(daemon_event_count drift-repaired SSHMEND_USER=user2)" 0 "no repair logged for user2"

# --- renamed
change_passwd "user3 renamed" 's/^user3:/renamed3:/' in-place
chmod 0777 "$SANDBOX/home/user3/.ssh"
dthreat_wait_stat 10 home/user3/.ssh "20003 20003 0755 d" "renamed3's .ssh (same home) is healed"
ok "the repair is logged for the new name" daemon_wait_events 5 1 drift-repaired SSHMEND_USER=renamed3 \
	SSHMEND_PATH=/home/user3/.ssh
is "$(daemon_event_count drift-repaired SSHMEND_USER=user3)" 0 "and never for the old name"

# --- moved: a new home prepared by the admin, broken, then passwd points there.
mkdir -m 0777 "$SANDBOX/home/moved4"
mkdir -m 0777 "$SANDBOX/home/moved4/.ssh"
printf '%s\n' "$SANDBOX_PUBKEY" >"$SANDBOX/home/moved4/.ssh/authorized_keys"
chmod 0666 "$SANDBOX/home/moved4/.ssh/authorized_keys"
chown -R 20004:20004 "$SANDBOX/home/moved4"
change_passwd "user4's home moved" 's|^\(user4:[^:]*:[^:]*:[^:]*:[^:]*:\)/home/user4:|\1/home/moved4:|'
dthreat_wait_stat 10 home/moved4 "20004 20004 0755 d" "user4's new home is healed"
dthreat_wait_stat 10 home/moved4/.ssh "20004 20004 0755 d" "its .ssh"
dthreat_wait_stat 10 home/moved4/.ssh/authorized_keys "20004 20004 0644 f" "its keys file"
ok "the new home's .ssh is watched" dthreat_is_watched home/moved4/.ssh
chmod 0777 "$SANDBOX/home/moved4/.ssh"
dthreat_wait_stat 10 home/moved4/.ssh "20004 20004 0755 d" "a later drift in the new home is healed"
chmod 0777 "$SANDBOX/home/user4/.ssh"
dthreat_keep_stat 3 home/user4/.ssh "20004 20004 0777 d" "the old home's .ssh is left alone"
not_watched() { ! dthreat_is_watched "$1"; }
ok "the old home's .ssh is not watched" not_watched home/user4/.ssh

# usermod -m: the directory moves first (and drifts there), then passwd follows.
mv "$SANDBOX/home/user6" "$SANDBOX/home/moved6"
chmod 0777 "$SANDBOX/home/moved6/.ssh"
change_passwd "user6's home moved with mv" \
	's|^\(user6:[^:]*:[^:]*:[^:]*:[^:]*:\)/home/user6:|\1/home/moved6:|'
dthreat_wait_stat 10 home/moved6/.ssh "20006 20006 0755 d" "user6's moved home: its .ssh is healed"
ok "the repair names the new path" daemon_wait_events 5 1 drift-repaired SSHMEND_USER=user6 \
	SSHMEND_PATH=/home/moved6/.ssh
chmod 0666 "$SANDBOX/home/moved6/.ssh/authorized_keys"
dthreat_wait_stat 10 home/moved6/.ssh/authorized_keys "20006 20006 0644 f" \
	"a later drift in user6's moved home is healed"

# --- reused uid: user5 goes, newbie comes with uid 20005 and its own (broken) home.
mkdir -m 0777 "$SANDBOX/home/newbie"
mkdir -m 0777 "$SANDBOX/home/newbie/.ssh"
printf '%s\n' "$SANDBOX_PUBKEY" >"$SANDBOX/home/newbie/.ssh/authorized_keys"
chmod 0666 "$SANDBOX/home/newbie/.ssh/authorized_keys"
chown -R 20005:20005 "$SANDBOX/home/newbie"
change_passwd "uid 20005 reused" \
	's|^user5:.*$|newbie:x:20005:20005::/home/newbie:/bin/bash|'
dthreat_wait_stat 10 home/newbie "20005 20005 0755 d" "the new user's home is healed"
dthreat_wait_stat 10 home/newbie/.ssh "20005 20005 0755 d" "its .ssh"
dthreat_wait_stat 10 home/newbie/.ssh/authorized_keys "20005 20005 0644 f" "its keys file"
ok "the repairs are logged for newbie" daemon_wait_events 5 1 drift-repaired SSHMEND_USER=newbie \
	SSHMEND_PATH=/home/newbie/.ssh
chmod 0777 "$SANDBOX/home/user5/.ssh"
dthreat_keep_stat 3 home/user5/.ssh "20005 20005 0777 d" "the old user5's .ssh (same uid) is left alone"
is "$(daemon_event_count drift-repaired SSHMEND_USER=user5)" 0 "no repair logged for user5"

# Still nothing for user2, and the control still served.
expect_stat home/user2/.ssh "20002 20002 0777 d" "deleted user2's .ssh is still left alone"
chmod 0777 "$SANDBOX/home/user1/.ssh"
dthreat_wait_stat 10 home/user1/.ssh "20001 20001 0755 d" "user1's drift is still healed"

# And back: passwd as it was. user2, user4's old home and user5 are served again.
reloads=$(daemon_event_count reloaded)
dthreat_passwd_replace <"$TEST_TMP/passwd.orig"
ok "passwd restored: the daemon reloads" daemon_wait_events 10 $((reloads + 1)) reloaded
dthreat_wait_stat 10 home/user2/.ssh "20002 20002 0755 d" "user2 is back: its .ssh is healed"
dthreat_wait_stat 10 home/user4/.ssh "20004 20004 0755 d" "user4 is back home: its .ssh is healed"
dthreat_wait_stat 10 home/user5/.ssh "20005 20005 0755 d" "user5 is back: its .ssh is healed"
chmod 0777 "$SANDBOX/home/moved4/.ssh"
dthreat_keep_stat 3 home/moved4/.ssh "20004 20004 0777 d" "user4's other home is left alone again"
chmod 0777 "$SANDBOX/home/newbie/.ssh"
dthreat_keep_stat 3 home/newbie/.ssh "20005 20005 0777 d" "newbie is gone: its .ssh is left alone"

ok "daemon still runs" daemon_alive
daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
