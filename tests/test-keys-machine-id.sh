#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The key audit's state belongs to one machine, the one /etc/machine-id names. A baseline taken
# during an image bake travels in the image: at an instance's first boot (a new machine id) the
# daemon starts the baseline afresh, quietly, and the launch key written meanwhile is not
# key-unapproved. A state recorded before ids were (an upgrade) is kept, and the id recorded.
# With an empty machine-id (an image prepared for baking) nothing is recorded. "sshmend keys"
# does not read another machine's state, and changes nothing.
# shellcheck disable=SC2317 # functions run through ok and wait_for
# shellcheck disable=SC2016 # sh -c scripts: expanded by the user's shell
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"

sandbox_create 1 || bail "sandbox_create failed"
ak=$(keys_ak user1)
keys_gen_each launch later baked
fp_launch=$(keys_fp "$TEST_TMP/launch.pub")
fp_later=$(keys_fp "$TEST_TMP/later.pub")
fp_baked=$(keys_fp "$TEST_TMP/baked.pub")
new_id() {
	tr -d - </proc/sys/kernel/random/uuid >"$SANDBOX/etc/machine-id"
}
append() {
	run_as user1 sh -c 'cat "$1" >>"$2"' sh "$TEST_TMP/$1.pub" "$ak" ||
		bail "cannot append to user1's authorized_keys"
}
baseline_here() {
	daemon_count SSHMEND_EVENT=keys-baseline
}

# --- The bake: a baseline on the build machine ---------------------------------------------
build_id=$(cat "$SANDBOX/etc/machine-id")
keys_daemon_start --root "$SANDBOX"
ok "the build machine's baseline is taken" journal_wait 10 SYSLOG_IDENTIFIER=sshmend \
	"_PID=$DAEMON_PID" SSHMEND_EVENT=keys-baseline
daemon_stop 10
state=$(keys_state_dir)
ok "the state directory exists" test -n "$state"
is "$(cat "$state/machine-id" 2>/dev/null)" "$build_id" "the state records the build machine's id"
ok "... root's alone, 0600" stat_is "$state/machine-id" "0 0 0600"
ok "user1's keys are remembered" test -f "$state/keys.user1"

# --- First boot of an instance: a new machine id, a launch key written by cloud-init ----------
new_id
append launch
json=$("$SSHMEND" --root "$SANDBOX" keys --json user1)
is "$(keys_json_status "$json" "$fp_launch")" user \
	"sshmend keys does not judge by another machine's state: the launch key is user" || diag "$json"
ok "... and keeps that state as it is" test "$(cat "$state/machine-id")" = "$build_id" -a -f "$state/keys.user1"
keys_daemon_start --root "$SANDBOX"
ok "a new baseline is taken on the new machine" journal_wait 10 SYSLOG_IDENTIFIER=sshmend \
	"_PID=$DAEMON_PID" SSHMEND_EVENT=keys-baseline
sleep 0.5
is "$(daemon_event_count key-unapproved)" 0 "the launch key is not key-unapproved"
is "$(daemon_event_count key-removed)" 0 "nothing is key-removed"
is "$(daemon_count PRIORITY=4)" 0 "no warning at all"
is "$(cat "$state/machine-id")" "$(cat "$SANDBOX/etc/machine-id")" "the state records the new id"
json=$("$SSHMEND" --root "$SANDBOX" keys --json user1)
is "$(keys_json_status "$json" "$fp_launch")" user "sshmend keys: the launch key is user" || diag "$json"
# From then on the audit goes on as usual.
append later
ok "a key appended later is key-unapproved" daemon_wait_count 10 0 SSHMEND_EVENT=key-unapproved \
	SSHMEND_FINGERPRINT="$fp_later"
daemon_stop 10

# --- Upgrade: a state recorded before ids were is kept --------------------------------------
rm -f "$state/machine-id"
run_as user1 sed -i -e '/ later$/d' "$ak" || bail "sed -i as user1 failed"
keys_daemon_start --root "$SANDBOX"
ok "a key gone while no daemon ran is key-removed: the old state was kept" \
	daemon_wait_count 10 0 SSHMEND_EVENT=key-removed SSHMEND_FINGERPRINT="$fp_later"
is "$(baseline_here)" 0 "no new baseline"
is "$(cat "$state/machine-id")" "$(cat "$SANDBOX/etc/machine-id")" "the id is recorded, quietly"
daemon_stop 10

# --- Image preparation: an empty machine-id ---------------------------------------------------
: >"$SANDBOX/etc/machine-id"
rm -rf "${state:?}"
keys_daemon_start --root "$SANDBOX"
append baked
sleep 1
is "$(baseline_here)" 0 "no machine id: no baseline"
is "$(daemon_event_count key-unapproved)" 0 "no key-unapproved"
is "$(find "$SANDBOX" -name 'keys.user1' | wc -l)" 0 "no remembered keys in the image"
json=$("$SSHMEND" --root "$SANDBOX" keys --json user1)
is "$(keys_json_status "$json" "$fp_baked")" user "sshmend keys: every key as at the baseline" ||
	diag "$json"
daemon_expect_stop "the daemon exits 0 on SIGTERM"

done_testing
