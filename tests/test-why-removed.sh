#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# sshmend why for a key that is gone from the keys file: "sshmend daemon" audits a sandbox's
# keys, read back from a private journal; a key the user takes out of authorized_keys, and an
# approved key whose drop-in file is removed (the key sync takes it out), and a key
# ExclusiveUsers= moves to the quarantine, each get their key-removed entry; then "sshmend why user1 --key" that key is refused as key-not-authorized,
# and its hint and the key step's detail (--json) say it was removed, how, and when: the time of
# the key-removed entry. A state directory of an older version (no record of removals) is read
# as before: the hint points at the journal.
# shellcheck disable=SC2317 # functions run through ok and wait_for
# shellcheck disable=SC2016 # sh -c scripts: expanded by the user's shell
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"

sandbox_create 2 || bail "sandbox_create failed"
# The sandbox's users log in with /bin/bash: the shell step must pass to reach the key.
{ mkdir -p "$SANDBOX/bin" && cp -L /bin/sh "$SANDBOX/bin/bash"; } || bail "no shell in the sandbox"
ak=$(keys_ak user1)
keys_gen_each second dropped
fp_second=$(keys_fp "$TEST_TMP/second.pub")
fp_dropped=$(keys_fp "$TEST_TMP/dropped.pub")
run_as user1 sh -c 'cat "$1" >>"$2"' sh "$TEST_TMP/second.pub" "$ak" ||
	bail "cannot write user1's authorized_keys"
keys_dropin_put user1 dropped.pub "$(keys_pub dropped)"

keys_daemon_start --root "$SANDBOX"
ok "keys-baseline logged" journal_wait 10 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
	SSHMEND_EVENT=keys-baseline
ok "the approved key was synced in" wait_until 10 "grep -qF dropped '$ak'"

# why_json KEYFILE: sshmend why user1 --key KEYFILE --json, its exit status in WHY_RC.
why_json() {
	WHY_RC=0
	"$SSHMEND" --root "$SANDBOX" why user1 --key "$1" --json >/dev/null 2>"$TEST_TMP/why.err" || WHY_RC=$?
}
# removed_at FP: the time of FP's key-removed entry, as sshmend writes times (UTC, seconds).
removed_at() {
	local e us
	e=$(daemon_events key-removed | grep -F "\"SSHMEND_FINGERPRINT\":\"$1\"" | tail -n 1)
	us=$(journal_field "$e" __REALTIME_TIMESTAMP)
	[ -n "$us" ] && date -u -d "@$((us / 1000000))" +%Y-%m-%dT%H:%M:%SZ
}
# near T1 T2: the two times at most two seconds apart, either way: the record is written in the
# heal, the entry reaches the journal in the loop's idle time, up to a second later, and each
# is a time to the second.
near() {
	local a b
	a=$(date -u -d "$1" +%s) && b=$(date -u -d "$2" +%s) || return 1
	[ $((b - a)) -ge -2 ] && [ $((b - a)) -le 2 ]
}
# json_str JSON KEY: the first string value of KEY.
json_str() {
	python3 -c 'import json, sys
d = json.loads(sys.argv[1])
print(d[sys.argv[2]] if sys.argv[2] != "key" else [s["detail"] for s in d["steps"] if s["check"] == "key"][0])' "$1" "$2"
}

# --- Before any removal: the key sync's key is accepted -------------------------------------
why_json "$TEST_TMP/dropped.pub"
is "$WHY_RC" 0 "why --key the approved key: accepted while it is in the keys file" ||
	diag "$(cat "$TEST_TMP/why.err")"

# --- Taken out by the user ------------------------------------------------------------------
run_as user1 sed -i -e '/ second$/d' "$ak" || bail "sed -i as user1 failed"
ok "key-removed logged for the key the user took out" \
	daemon_wait_count 10 0 SSHMEND_EVENT=key-removed "SSHMEND_FINGERPRINT=$fp_second"
sleep 0.5
when=$(removed_at "$fp_second")
ok "... with a time ($when)" test -n "$when"
why_json "$TEST_TMP/second.pub"
is "$WHY_RC" 1 "why --key the removed key: refused (exit 1)"
json=$("$SSHMEND" --root "$SANDBOX" why user1 --key "$TEST_TMP/second.pub" --json 2>/dev/null)
is "$(json_str "$json" cause)" key-not-authorized "... cause key-not-authorized" || diag "$json"
detail=$(json_str "$json" key)
like "$detail" "removed from user1's keys file at " "... the key step's detail says it was removed" ||
	diag "$json"
got=${detail##* at }
ok "... at the time of the key-removed entry ($got, entry $when)" near "$when" "$got"
ok "... and does not blame the key sync" test "${detail/key sync/}" = "$detail"
hint=$(json_str "$json" hint)
like "$hint" "was removed at $got: add it back to ~user1/.ssh/authorized_keys" \
	"... the hint says when and what to do" || diag "$hint"
human=$("$SSHMEND" --root "$SANDBOX" why user1 --key "$TEST_TMP/second.pub" 2>&1)
like "$human" "removed from user1's keys file at $got" "the human output says it too" ||
	diag "$human"

# --- Taken out by the key sync: the drop-in file is removed ----------------------------------
rm -f "$(keys_dropin_dir user1)/dropped.pub"
ok "key-removed logged for the key the sync took out" \
	daemon_wait_count 10 0 SSHMEND_EVENT=key-removed "SSHMEND_FINGERPRINT=$fp_dropped"
sleep 0.5
when=$(removed_at "$fp_dropped")
json=$("$SSHMEND" --root "$SANDBOX" why user1 --key "$TEST_TMP/dropped.pub" --json 2>/dev/null)
is "$(json_str "$json" cause)" key-not-authorized "why --key the key no longer approved: key-not-authorized" ||
	diag "$json"
detail=$(json_str "$json" key)
like "$detail" "removed from user1's keys file by sshmend's key sync \\(no longer approved\\) at " \
	"... the detail names the key sync" || diag "$json"
got=${detail##* at }
ok "... at the time of its key-removed entry ($got, entry $when)" near "$when" "$got"
like "$(json_str "$json" hint)" "key sync took it out at $got.*approve it again" \
	"... the hint says approve it again" || diag "$json"

# --- Taken into the quarantine: ExclusiveUsers=user1 ----------------------------------------
keys_gen_each planted kept
fp_planted=$(keys_fp "$TEST_TMP/planted.pub")
keys_dropin_put user1 kept.pub "$(keys_pub kept)"
ok "an approved key again, so that Exclusive= leaves user1 one" wait_until 10 "grep -qF kept '$ak'"
run_as user1 sh -c 'cat "$1" >>"$2"' sh "$TEST_TMP/planted.pub" "$ak" ||
	bail "cannot append to user1's authorized_keys"
ok "key-unapproved logged for the planted key" \
	daemon_wait_count 10 0 SSHMEND_EVENT=key-unapproved "SSHMEND_FINGERPRINT=$fp_planted"
ready0=$(daemon_ready_count)
sandbox_config '[Keys]' 'ExclusiveUsers=user1'
ok "the daemon reloads by itself" daemon_wait_ready_after "$ready0"
ok "key-removed logged for the key Exclusive= took out" \
	daemon_wait_count 10 0 SSHMEND_EVENT=key-removed "SSHMEND_FINGERPRINT=$fp_planted"
sleep 0.5
when=$(removed_at "$fp_planted")
json=$("$SSHMEND" --root "$SANDBOX" why user1 --key "$TEST_TMP/planted.pub" --json 2>/dev/null)
detail=$(json_str "$json" key)
like "$detail" "removed from user1's keys file into the quarantine \\(Exclusive=yes\\) at " \
	"why --key the quarantined key: the detail says it went into the quarantine" || diag "$json"
got=${detail##* at }
ok "... at the time of its key-removed entry ($got, entry $when)" near "$when" "$got"
hint=$(json_str "$json" hint)
like "$hint" "into the quarantine at [0-9T:-]+Z" "... the hint says when it went into the quarantine" ||
	diag "$json"
# The quarantine's record and the record of removals are two writes: a second may tick between.
qat=${hint##*into the quarantine at }
ok "... a time near the removal's (${qat%%[^0-9TZ:-]*}, removed $got)" near "$got" "${qat%%[^0-9TZ:-]*}"
ok "... and how to restore it" test "${hint/"sshmend keys --restore user1 $fp_planted"/}" != "$hint"

# --- A state directory of an older version: no record of removals --------------------------
daemon_stop
state=$(keys_state_dir)
ok "the record of removals is root's, 0600" stat_is "$state/removed.user1" "0 0 0600"
rm -f "$state/removed.user1"
json=$("$SSHMEND" --root "$SANDBOX" why user1 --key "$TEST_TMP/second.pub" --json 2>/dev/null)
is "$(json_str "$json" key)" "not in any keys file sshd reads" \
	"without the record: the detail is the plain refusal" || diag "$json"
done_testing
