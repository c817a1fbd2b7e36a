#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Exclusive=yes never locks anyone out. user1 has only its launch key and a planted one, and
# nothing in the drop-in directory; user2 has its launch key and an approved key. check and
# fix --dry-run list every key fix would move to the quarantine (fingerprint, comment, text and
# --json) and change nothing; fix quarantines user2's unapproved key and leaves user1's keys
# where they are, reported as refused (Exclusive= not applied), and exits 1. The daemon logs
# one exclusive-not-applied entry (err) for user1, once, and key-unapproved for each of its
# keys; once user1's launch key is approved, the planted one goes to the quarantine and the
# launch key stays.
# shellcheck disable=SC2317 # functions run through ok and wait_for
# shellcheck disable=SC2016 # sh -c scripts: expanded by the user's shell
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"

sandbox_create 2 || bail "sandbox_create failed"
ak1=$(keys_ak user1)
ak2=$(keys_ak user2)
keys_gen_each planted approved2
planted=$(keys_pub planted)
fp_launch=$(keys_fp "${SANDBOX_KEY}.pub")
fp_planted=$(keys_fp "$TEST_TMP/planted.pub")
run_as user1 sh -c 'printf "%s\n" "$1" >>"$2"' sh "$planted" "$ak1" ||
	bail "cannot write user1's authorized_keys"
keys_dropin_put user2 approved.pub "$(keys_pub approved2)"
# root is left out: its key would be refused like user1's, and is not what this is about.
sandbox_config '[Users]' 'Exclude=root' '[Keys]' 'Exclusive=yes'
ak1_before=$(cat "$ak1")
ak2_before=$(cat "$ak2")

# --- check and fix --dry-run say it all and change nothing -----------------------------------
for cmd in check "fix --dry-run"; do
	# shellcheck disable=SC2086 # two words on purpose
	out=$("$SSHMEND" --root "$SANDBOX" $cmd 2>"$TEST_TMP/err")
	is "$?" 1 "$cmd exits 1" || diag "$out"
	ok "$cmd: user2's launch key would be quarantined, by fingerprint and comment" \
		grep -q -x -F -e "user2: /home/user2/.ssh/authorized_keys: key $fp_launch (sshmend-sandbox) outside the approved set: would be moved to the quarantine" <<<"$out" ||
		diag "$out"
	ok "$cmd: user1's planted key is reported, Exclusive= not applied" \
		grep -q -F -e "user1: /home/user1/.ssh/authorized_keys: key $fp_planted (planted) outside the approved set (refused: Exclusive= not applied" <<<"$out"
	ok "$cmd: user1's launch key is reported too" grep -q -F -e "key $fp_launch (sshmend-sandbox) outside the approved set (refused" \
		<<<"$(grep '^user1:' <<<"$out")"
	is "$(grep -c 'approved keys block' <<<"$(grep '^user2:' <<<"$out")")" 1 "$cmd: user2's block is to be written"
done
json=$("$SSHMEND" --root "$SANDBOX" fix --dry-run --json user2)
ok "fix --dry-run --json: an unapproved-key finding with fingerprint, comment and would-fix" \
	grep -q -F -e "\"problem\":\"unapproved-key\",\"fingerprint\":\"$fp_launch\",\"comment\":\"sshmend-sandbox\"" <<<"$json" ||
	diag "$json"
ok "... its action is would-fix" grep -q -E '"problem":"unapproved-key"[^}]*"action":"would-fix"' <<<"$json"
json=$("$SSHMEND" --root "$SANDBOX" check --json user1)
ok "check --json: user1's planted key refused" \
	grep -q -F -e "\"fingerprint\":\"$fp_planted\",\"comment\":\"planted\",\"sshd_rejects\":false,\"action\":\"refused\",\"reason\":\"Exclusive= not applied" <<<"$json" ||
	diag "$json"
is "$(cat "$ak1")" "$ak1_before" "user1's keys file unchanged"
is "$(cat "$ak2")" "$ak2_before" "user2's keys file unchanged"
is "$(find "$SANDBOX" -name 'quarantine.*' | wc -l)" 0 "no quarantine file"

# --- fix ---------------------------------------------------------------------------------------
out=$("$SSHMEND" --root "$SANDBOX" fix 2>"$TEST_TMP/err")
is "$?" 1 "fix exits 1: Exclusive= could not apply for user1" || diag "$out"
is "$(cat "$ak1")" "$ak1_before" "user1 keeps every key: no approved key, no quarantine"
is "$(keys_block "$ak2")" "$(keys_pub approved2)" "user2's approved block is written"
is "$(grep -c -x -F -e "$SANDBOX_PUBKEY" "$ak2")" 0 "user2's unapproved key left the keys file"
ok "fix says so, by fingerprint" grep -q -F -e "key $fp_launch (sshmend-sandbox) outside the approved set: moved to the quarantine (fixed)" \
	<<<"$(grep '^user2:' <<<"$out")" || diag "$out"
q2=$(find "$SANDBOX" -name quarantine.user2)
ok "... into user2's quarantine" grep -q -x -F -e "$SANDBOX_PUBKEY" "$q2"
ok "no quarantine for user1" test -z "$(find "$SANDBOX" -name quarantine.user1)"
"$SSHMEND" --root "$SANDBOX" fix user2 >"$TEST_TMP/out" 2>&1
is "$?" 0 "fix user2 again: clean, exits 0" || diag "$(cat "$TEST_TMP/out")"

# --- The daemon --------------------------------------------------------------------------------
keys_daemon_start --root "$SANDBOX"
ok "exclusive-not-applied logged for user1" daemon_wait_count 10 0 SSHMEND_EVENT=exclusive-not-applied \
	SSHMEND_USER=user1
ok "key-unapproved logged for the planted key" daemon_wait_count 10 0 SSHMEND_EVENT=key-unapproved \
	SSHMEND_FINGERPRINT="$fp_planted"
sleep 0.5
is "$(daemon_event_count exclusive-not-applied)" 1 "ONE exclusive-not-applied entry" ||
	diag "$(daemon_event_messages exclusive-not-applied)"
e=$(daemon_events exclusive-not-applied | head -n 1)
is "$(journal_field "$e" PRIORITY)" 3 "... PRIORITY=3 (err)"
is "$(journal_field "$e" SSHMEND_COUNT)" 2 "... SSHMEND_COUNT: the two keys that stay"
is "$(journal_field "$e" SSHMEND_PATH)" /home/user1/.ssh/authorized_keys "... SSHMEND_PATH is the keys file"
is "$(daemon_event_count key-unapproved SSHMEND_USER=user1)" 2 "key-unapproved for each of user1's keys"
is "$(daemon_event_count key-quarantined)" 0 "nothing quarantined"
is "$(cat "$ak1")" "$ak1_before" "user1's keys file unchanged"

# Told once: a heal of user1's chain does not tell it again.
chmod 0777 "$SANDBOX/home/user1"
ok "the daemon heals user1's home" wait_for 10 stat_is "$SANDBOX/home/user1" "20001 20001 0755"
sleep 0.5
is "$(daemon_event_count exclusive-not-applied)" 1 "still ONE exclusive-not-applied entry after a heal"
is "$(daemon_event_count key-unapproved SSHMEND_USER=user1)" 2 "still two key-unapproved entries"

# Approved keys first: the launch key approved, the planted one goes, the launch key stays.
keys_dropin_put user1 launch.pub "$SANDBOX_PUBKEY"
ok "the planted key is quarantined" daemon_wait_count 10 0 SSHMEND_EVENT=key-quarantined \
	SSHMEND_FINGERPRINT="$fp_planted"
ok "... and left the keys file" wait_until 5 '! grep -q -F -e "$planted" "$ak1"'
is "$(keys_block "$ak1")" "$SANDBOX_PUBKEY" "the launch key stands in the approved block"
q1=$(find "$SANDBOX" -name quarantine.user1)
ok "the planted key is in user1's quarantine" grep -q -x -F -e "$planted" "$q1"
ok "the launch key is not" eval '! grep -q -x -F -e "$SANDBOX_PUBKEY" "$q1"'

daemon_expect_stop "the daemon exits 0 on SIGTERM"

done_testing
