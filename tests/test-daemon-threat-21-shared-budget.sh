#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 21, against the running daemon: the journal's rate limit is shared by
# all users, and one user must not be able to spend it for everyone. user1 appends an empty pair
# of sshmend's marker lines to their own authorized_keys in a tight loop, so that the daemon syncs
# and logs keys-synced again and again (FlapThreshold is set out of reach here: the budget is what
# is tested, not the back-off). Meanwhile user2 plants a symlink trap (repair-refused) and appends
# 30 keys nobody approved (key-unapproved each).
#
# Expected: user2's refusal and first unapproved key are told at once; user1's entries take no
# more than half of each window (the other half is kept for users within their share); the keys the limit held back are told in a later window,
# each exactly once (an entry held back is never recorded as told); the count of what was held
# back names user1.
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog python3

N_KEYS=30
# The daemon's rate limit: 200 entries a window of 10 s; past 100, only for users who had fewer
# than 20.
BURST=200
WINDOW=10
USER_SHARE=20
BEGIN='# sshmend: approved keys, managed from the drop-in directory; do not edit'
END='# sshmend: end of approved keys'

sandbox_create 2 || bail "sandbox_create failed"
sandbox_config '[Daemon]' FlapThreshold=1000000 RescanIntervalSec=3600 ||
	bail "config failed"
dthreat_start || bail "the daemon did not start"
ok "the key audit took its baseline" daemon_wait_events 10 1 keys-baseline
ak1=$SANDBOX/home/user1/.ssh/authorized_keys
ssh2=$SANDBOX/home/user2/.ssh

# N_KEYS ed25519 key lines with random key bytes, comments key1..keyN.
python3 - "$N_KEYS" >"$TEST_TMP/keys" <<'PY'
import base64, os, struct, sys
t = b"ssh-ed25519"
for i in range(int(sys.argv[1])):
    blob = struct.pack(">I", len(t)) + t + struct.pack(">I", 32) + os.urandom(32)
    print("ssh-ed25519 %s key%d" % (base64.b64encode(blob).decode(), i + 1))
PY
chmod 0644 "$TEST_TMP/keys"

_synced_at_least() {
	[ "$(daemon_event_count keys-synced SSHMEND_USER=user1)" -ge "$1" ]
}
# The fight: a pair appended every 10 ms, until killed.
t0=$(dthreat_now_ms)
spawn_as user1 bash -c 'while :; do printf "%s\n%s\n" "$1" "$2" >>"$3"; sleep 0.01; done' \
	_ "$BEGIN" "$END" "$ak1"
fighter=$SPAWNED
ok "user1's loop makes the daemon sync: its share of the window is used up" \
	daemon_wait_events 10 "$USER_SHARE" keys-synced SSHMEND_USER=user1
# Until user1's entries would have spent the whole window, or past that window's end.
wait_for $((WINDOW + 2)) _synced_at_least $((BURST - 5)) || true
diag "user1's fight: $(daemon_event_count keys-synced SSHMEND_USER=user1) keys-synced entries after $(($(dthreat_now_ms) - t0)) ms"

# user2, during the fight: a trap, then the keys.
run_as user2 sh -c 'ln -s /etc/shadow "$1/ak.new" && mv -T "$1/ak.new" "$1/authorized_keys2"' _ "$ssh2"
ok "user2's refusal is told during user1's fight" \
	daemon_wait_events 5 1 repair-refused SSHMEND_USER=user2
run_as user2 sh -c 'cat "$1" >>"$2/authorized_keys"' _ "$TEST_TMP/keys" "$ssh2"
ok "user2's first unapproved key is told during user1's fight" \
	daemon_wait_events 5 1 key-unapproved SSHMEND_USER=user2
ok "every one of user2's $N_KEYS keys is told, the held back ones in a later window" \
	daemon_wait_events $((3 * WINDOW)) "$N_KEYS" key-unapproved SSHMEND_USER=user2
kill_pid "$fighter"
fight_ms=$(($(dthreat_now_ms) - t0))
# One more window, for anything told twice to show.
sleep $((WINDOW + 1))

told=$(daemon_events key-unapproved SSHMEND_USER=user2 | while read -r l; do
	journal_field "$l" SSHMEND_FINGERPRINT; done)
is "$(grep -c . <<<"$told")" "$N_KEYS" "$N_KEYS key-unapproved entries for user2"
is "$(sort -u <<<"$told" | grep -c .)" "$N_KEYS" "one for each key: none told twice, none lost"
is "$(daemon_event_count repair-refused SSHMEND_USER=user2)" 1 "the refusal is told once"
held=$(daemon_events suppressed | while read -r l; do journal_field "$l" MESSAGE; done)
ok "a count of what was held back names user1" grep -Eq '(: |, )user1 [0-9]+' <<<"$held" ||
	diag "$held"
synced=$(daemon_event_count keys-synced SSHMEND_USER=user1)
windows=$((fight_ms / (WINDOW * 1000) + 2))
diag "user1's fight: $synced keys-synced entries in $fight_ms ms"
ok "user1's entries took no more than half of each window ($synced <= $windows * $BURST / 2)" \
	test "$synced" -le $((windows * BURST / 2))

ok "daemon still runs" daemon_alive
daemon_stop 10
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
