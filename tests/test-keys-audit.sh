#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The key audit of "sshmend daemon" on a sandbox, read back from a private journal: the first
# run records every user's keys as the baseline with ONE keys-baseline entry; a key the user
# appends later is one key-unapproved entry (its fingerprint as ssh-keygen -l prints it, priority
# warning) and "sshmend keys --json" lists it unapproved beside the user's own key (user) and the
# drop-in key (approved); a key taken out is a key-removed entry. Then ExclusiveUsers=user1 is
# written to the configuration: the daemon reloads by itself, moves every key line outside the
# approved set into the root-only quarantine file in the state directory, logs key-quarantined,
# and no line is lost: the quarantine and the keys file together hold every line there was.
# shellcheck disable=SC2317 # functions run through ok and wait_for
# shellcheck disable=SC2016 # sh -c scripts: expanded by the user's shell
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"

sandbox_create 2 || bail "sandbox_create failed"
ak=$(keys_ak user1)

for k in second dropped appended; do
	keys_gen "$k" || bail "ssh-keygen failed"
done
second=$(keys_pub second)
dropped=$(keys_pub dropped)
appended=$(keys_pub appended)
fp_orig=$(keys_fp "${SANDBOX_KEY}.pub")
fp_second=$(keys_fp "$TEST_TMP/second.pub")
fp_dropped=$(keys_fp "$TEST_TMP/dropped.pub")
fp_appended=$(keys_fp "$TEST_TMP/appended.pub")

# user1 starts with two keys of its own, a comment and a line sshd would not use; one key is
# approved in the drop-in directory. root and user2 have the sandbox key each.
run_as user1 sh -c 'printf "%s\n" "$1" "# the user'\''s comment" "ssh-ed25519 AAAAnot-a-key broken" >>"$2"' \
	sh "$second" "$ak" || bail "cannot write user1's authorized_keys"
keys_dropin_put user1 dropped.pub "$dropped"
sandbox_config '[Keys]' 'MinRSABits=2048'
is "$(keys_state_dir)" "" "no state directory before the daemon's first run"

keys_daemon_start --root "$SANDBOX"

# --- Baseline ------------------------------------------------------------------------------
ok "keys-baseline logged" journal_wait 10 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
	SSHMEND_EVENT=keys-baseline
ok "the approved block was written" wait_until 10 '[ "$(keys_block "$ak")" = "$dropped" ]'
sleep 0.5
is "$(daemon_event_count keys-baseline)" 1 "ONE keys-baseline entry for 3 users and 5 keys" ||
	diag "$(daemon_event_messages keys-baseline)"
e=$(daemon_events keys-baseline | head -n 1)
is "$(journal_field "$e" SSHMEND_COUNT)" 5 "... SSHMEND_COUNT is the number of keys (5)" ||
	diag "$(journal_field "$e" MESSAGE)"
is "$(daemon_event_count key-unapproved)" 0 "no key-unapproved for the keys at the baseline"
is "$(daemon_event_count key-removed)" 0 "no key-removed at the baseline"
state=$(keys_state_dir)
ok "the state directory exists (${state#"$SANDBOX"})" test -n "$state"
ok "... root's alone: 0700 root:root" stat_is "$state" "0 0 0700"
ok "... keys.user1 is root-owned 0600" stat_is "$state/keys.user1" "0 0 0600"

json=$("$SSHMEND" --root "$SANDBOX" keys --json user1 2>"$TEST_TMP/keys.err")
is "$(keys_json_status "$json" "$fp_orig") $(keys_json_status "$json" "$fp_second") $(keys_json_status "$json" "$fp_dropped")" \
	"user user approved" "keys --json at the baseline: user, user, approved" || diag "$json"

# --- A key appended by the user ------------------------------------------------------------
run_as user1 sh -c 'cat "$1" >>"$2"' sh "$TEST_TMP/appended.pub" "$ak" ||
	bail "cannot append to user1's authorized_keys"
ok "key-unapproved logged" journal_wait 10 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
	SSHMEND_EVENT=key-unapproved
sleep 0.5
is "$(daemon_event_count key-unapproved)" 1 "ONE key-unapproved entry" ||
	diag "$(daemon_event_messages key-unapproved)"
e=$(daemon_events key-unapproved | head -n 1)
is "$(journal_field "$e" SSHMEND_FINGERPRINT)" "$fp_appended" \
	"SSHMEND_FINGERPRINT is what ssh-keygen -lf prints"
is "$(journal_field "$e" PRIORITY)" 4 "PRIORITY=4 (warning)"
is "$(journal_field "$e" SSHMEND_USER)" user1 "SSHMEND_USER=user1"
is "$(journal_field "$e" SSHMEND_COMMENT)" appended "SSHMEND_COMMENT is the key's comment"
is "$(journal_field "$e" SSHMEND_PATH)" /home/user1/.ssh/authorized_keys \
	"SSHMEND_PATH is the keys file, as seen inside the root"

json=$("$SSHMEND" --root "$SANDBOX" keys --json user1 2>"$TEST_TMP/keys.err")
keys_rc=$?
is "$keys_rc" 0 "sshmend keys --json exits 0"
is "$(keys_json_status "$json" "$fp_appended")" unapproved "keys --json: the appended key is unapproved" ||
	diag "$json"
is "$(keys_json_status "$json" "$fp_orig")" user "keys --json: the original key is user"
is "$(keys_json_status "$json" "$fp_second")" user "keys --json: the second original key is user"
is "$(keys_json_status "$json" "$fp_dropped")" approved "keys --json: the drop-in key is approved"
ok "keys --json: the broken line is invalid" grep -q '"status":"invalid"' <<<"$json"
# The human listing says the same.
human=$("$SSHMEND" --root "$SANDBOX" keys user1 2>&1)
ok "keys (human) names the appended key's fingerprint" grep -q -F -e "$fp_appended" <<<"$human" ||
	diag "$human"

# --- A key taken out -----------------------------------------------------------------------
run_as user1 sed -i -e '/ second$/d' "$ak" || bail "sed -i as user1 failed"
ok "key-removed logged" journal_wait 10 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
	SSHMEND_EVENT=key-removed
sleep 0.5
is "$(daemon_event_count key-removed)" 1 "ONE key-removed entry"
e=$(daemon_events key-removed | head -n 1)
is "$(journal_field "$e" SSHMEND_FINGERPRINT)" "$fp_second" "... for the key taken out"
is "$(journal_field "$e" SSHMEND_USER)" user1 "... SSHMEND_USER=user1"
is "$(daemon_event_count key-unapproved)" 1 "still ONE key-unapproved entry"

# --- ExclusiveUsers=user1 ------------------------------------------------------------------
before=$(cat "$ak")
nq0=$(daemon_event_count key-quarantined)
ready0=$(daemon_ready_count)
sandbox_config '[Keys]' 'MinRSABits=2048' 'ExclusiveUsers=user1'
ok "the daemon reloads by itself (READY=1 again)" daemon_wait_ready_after "$ready0"
ok "key-quarantined logged" daemon_wait_count 10 "$nq0" SSHMEND_EVENT=key-quarantined
ok "the appended key left authorized_keys" \
	wait_until 10 '[ "$(grep -c -F -e "$appended" "$ak")" -eq 0 ]'
sleep 0.5
q=$state/quarantine.user1
ok "the quarantine file is in the state directory" test -f "$q"
ok "... root-owned 0600" stat_is "$q" "0 0 0600"
ok "... a regular file with one link" test "$(stat -c '%h %F' "$q")" = "1 regular file"
ok "the appended key is in the quarantine" grep -q -x -F -e "$appended" "$q"
ok "the user's own key is in the quarantine" grep -q -x -F -e "$SANDBOX_PUBKEY" "$q"
ok "the quarantine says where each line came from" \
	test "$(grep -c -x -F -e '# from /home/user1/.ssh/authorized_keys' "$q")" -ge 2
ok "... and when it was taken" test "$(grep -c -x -E '# taken [0-9-]{10}T[0-9:]{8}Z' "$q")" -ge 2
is "$(grep -c -F -e "$SANDBOX_PUBKEY" "$ak")" 0 "the user's own key left authorized_keys"
is "$(keys_block "$ak")" "$dropped" "the approved block is untouched"
ok "the comment stays" grep -q -x -F -e "# the user's comment" "$ak"
ok "the line sshd would not use stays" grep -q -x -F -e "ssh-ed25519 AAAAnot-a-key broken" "$ak"
ok "authorized_keys is still user1's, 0600" stat_is "$ak" "20001 20001 0600"
is "$(daemon_event_count key-quarantined)" 2 "two key-quarantined entries (two lines moved)" ||
	diag "$(daemon_event_messages key-quarantined)"
# The entry for the appended key: by its fingerprint, else by its base64 in the message.
e=$(daemon_events key-quarantined | grep -F -e "$fp_appended" | head -n 1)
[ -n "$e" ] || e=$(daemon_events key-quarantined | grep -F -e "$(awk '{ print $2 }' <<<"$appended")" |
	head -n 1)
is "$(journal_field "$e" SSHMEND_FINGERPRINT)" "$fp_appended" \
	"key-quarantined: SSHMEND_FINGERPRINT is the key's fingerprint" ||
	diag "MESSAGE: $(journal_field "$e" MESSAGE)"
is "$(journal_field "$e" PRIORITY)" 4 "key-quarantined: PRIORITY=4 (warning)"
is "$(journal_field "$e" SSHMEND_USER)" user1 "key-quarantined: SSHMEND_USER=user1"

# Nothing lost: every line of the file as it was is in the file now or in the quarantine.
lost=$(
	while IFS= read -r l; do
		grep -q -x -F -e "$l" "$ak" || grep -q -x -F -e "$l" "$q" || echo "$l"
	done <<<"$before"
)
is "$lost" "" "nothing lost: the quarantine and authorized_keys hold every line"
is "$(LC_ALL=C sort <(cat "$ak") <(grep -v -e '^# from ' -e '^# taken ' "$q"))" "$(LC_ALL=C sort <<<"$before")" \
	"... and nothing else, each line once"

# Stable: the next pass moves nothing more, and the other user is not exclusive.
n=$(daemon_event_count key-quarantined)
run_as user1 sh -c 'echo "# a later comment" >>"$1"' sh "$ak"
sleep 1
is "$(daemon_event_count key-quarantined)" "$n" "a later change quarantines nothing more"
ok "the later comment stays" grep -q -x -F -e "# a later comment" "$ak"
ok "user2 keeps its key (not exclusive)" grep -q -x -F -e "$SANDBOX_PUBKEY" "$(keys_ak user2)"
ok "no quarantine for user2" test ! -e "$state/quarantine.user2"

daemon_expect_stop "the daemon exits 0 on SIGTERM"

done_testing
