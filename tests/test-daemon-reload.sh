#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2317 # scripts for other shells; functions run through ok
# sshmend daemon reloading while a reload's full pass over many users (3,000 here) still runs.
#
#   One SIGHUP, then at once a bad configuration written in place (it reloads by itself, and
#   fails): the failed attempt keeps the first reload's pass going and says no READY=1 of its
#   own; the one READY=1 comes at the end of that pass, with its "reloaded" entry.
#
#   SIGHUP again and again, faster than a pass can end: each reload carries on what the last one
#   had left to do. A key a user appends meanwhile is reported (key-unapproved) while the reloads
#   go on, not once they stop; a drift is healed meanwhile too. Once the signals stop, one pass
#   ends and says READY=1.
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog ssh-keygen

N=3000
sandbox_create "$N" || bail "sandbox_create failed"
good=('[Daemon]' RescanIntervalSec=3600 FallbackScanIntervalSec=3600)
sandbox_config "${good[@]}" || bail "config failed"
dthreat_start || bail "the daemon did not start"
ok "the first audit ends (keys-baseline)" daemon_wait_events 60 1 keys-baseline

reloading_count() { notify_count '^RELOADING=1$'; }
reloading_after() { [ "$(reloading_count)" -gt "$1" ]; }
ready_after() { [ "$(daemon_ready_count)" -gt "$1" ]; }

# ---- A failed reload during a reload's pass.
ready0=$(daemon_ready_count)
reloading0=$(reloading_count)
reloaded0=$(daemon_event_count reloaded)
failed0=$(daemon_event_count config-error)
kill -HUP "$DAEMON_PID"
# The SIGHUP's reload has begun (and read the good configuration) before the bad one lands.
ok "SIGHUP: RELOADING=1" wait_for 10 reloading_after "$reloading0"
sandbox_config "${good[@]}" FlapThreshold=0 || bail "config failed"
ok "the bad configuration is refused (config-error)" \
	daemon_wait_events 30 $((failed0 + 1)) config-error
ok "two reloads began (RELOADING=1 twice)" wait_for 30 reloading_after $((reloading0 + 1))
ok "the SIGHUP's reload ends (reloaded)" daemon_wait_events 60 $((reloaded0 + 1)) reloaded
ok "READY=1 follows" wait_for 10 ready_after "$ready0"
last_two=$(daemon_journal SSHMEND_EVENT=config-error SSHMEND_EVENT=reloaded | tail -n 2 |
	while read -r l; do journal_field "$l" SSHMEND_EVENT; done | tr '\n' ' ')
is "$last_two" "config-error reloaded " "the bad configuration was refused while the pass ran"
sleep 1
is "$(daemon_ready_count)" $((ready0 + 1)) \
	"one READY=1 in all: the failed reload did not say it before the pass ended"
is "$(daemon_event_count reloaded)" $((reloaded0 + 1)) "one reloaded entry"
sandbox_config "${good[@]}" || bail "config failed"
ok "the good configuration again: reloaded" daemon_wait_events 60 $((reloaded0 + 2)) reloaded

# ---- SIGHUP every 0.1 s for 20 s.
keys_tmp=$TEST_TMP/keys
if ! mkdir -m 0700 "$keys_tmp" || ! ssh-keygen -q -t ed25519 -N '' -C appended -f "$keys_tmp/k"; then
	bail "ssh-keygen failed"
fi
u=user$((N / 2))
ak=home/$u/.ssh/authorized_keys
unapproved0=$(daemon_event_count key-unapproved)
reloaded0=$(daemon_event_count reloaded)
ready0=$(daemon_ready_count)
(
	for ((i = 0; i < 200; i++)); do
		kill -HUP "$DAEMON_PID" 2>/dev/null || exit
		sleep 0.1
	done
) &
storm=$!
add_cleanup "kill $storm 2>/dev/null"
sleep 2
run_as "$u" sh -c 'printf "%s\n" "$1" >>"$2"' _ "$(cat "$keys_tmp/k.pub")" "$SANDBOX/$ak"
chmod 0777 "$SANDBOX/home/user$N/.ssh"
ok "the appended key is reported" daemon_wait_events 10 $((unapproved0 + 1)) key-unapproved
ok "while the reloads go on" kill -0 "$storm"
dthreat_wait_stat 10 "home/user$N/.ssh" "2$(printf %04d "$N") 2$(printf %04d "$N") 0755 d" \
	"a drift of the last user's ~/.ssh is healed"
ok "while the reloads go on" kill -0 "$storm"
diag "passes ended during the storm: $(($(daemon_event_count reloaded) - reloaded0))"
wait "$storm"
ok "after the last SIGHUP, a pass ends (reloaded)" daemon_wait_events 60 $((reloaded0 + 1)) reloaded
ok "and READY=1" wait_for 10 ready_after "$ready0"
ok "daemon still runs" daemon_alive
daemon_stop 10
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
