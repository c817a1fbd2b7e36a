#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# The drop-in directory made while "sshmend daemon" runs: a root with no etc/sshmend at all, the
# daemon started, then etc/sshmend/keys.d/user1/first.pub put there. The key reaches user1's
# authorized_keys within seconds (the daemon watched for the directory from its nearest existing
# ancestor), not at the safety rescan. Then the whole keys.d is removed and made again with
# another key: that one arrives too, and the first one's block is gone with the directory.
# Last, keys.d is swapped for another one by two renames (the daemon holds the drop-in
# directory open between passes): the new directory's key replaces the block, a key added
# there later arrives, and one added to the old directory, now elsewhere, does not. Then,
# with the daemon stopped, user1's drop-in directory goes: the next start takes the block out.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"

sandbox_create 2 || bail "sandbox_create failed"
ak=$(keys_ak user1)
keys_gen first || bail "ssh-keygen failed"
keys_gen second || bail "ssh-keygen failed"
keys_gen third || bail "ssh-keygen failed"
keys_gen fourth || bail "ssh-keygen failed"
first=$(keys_pub first)
second=$(keys_pub second)
third=$(keys_pub third)
fourth=$(keys_pub fourth)
ok "no etc/sshmend in the root" test ! -e "$SANDBOX/etc/sshmend"

keys_daemon_start --root "$SANDBOX"
n=$(daemon_ready_count)

keys_dropin_put user1 first.pub "$first"
ok "a key dropped in a drop-in directory made after the start is synced" \
	wait_until 5 '[ "$(keys_block "$ak")" = "$first" ]'
ok "... after a reload for the new directory (READY=1 again)" daemon_wait_ready_after "$n"
ok "user2's keys file has no block" test "$(keys_marker_count "$(keys_ak user2)")" = "0 0"

rm -rf "$SANDBOX/etc/sshmend/keys.d"
ok "keys.d removed: the block goes" wait_until 5 '[ "$(keys_marker_count "$ak")" = "0 0" ]'
ok "the user's own key stays" grep -q -x -F -e "$SANDBOX_PUBKEY" "$ak"
keys_dropin_put user1 second.pub "$second"
ok "keys.d made again: its key is synced" wait_until 5 '[ "$(keys_block "$ak")" = "$second" ]'

kd=$SANDBOX/etc/sshmend/keys.d
install -d -m 0755 -o 0 -g 0 "$kd.new" "$kd.new/user1"
printf '%s\n' "$third" >"$kd.new/user1/third.pub"
mv "$kd" "$kd.old" && mv "$kd.new" "$kd"
ok "keys.d swapped by renames: the new directory's key replaces the block" \
	wait_until 5 '[ "$(keys_block "$ak")" = "$third" ]'
printf '%s\n' "$first" >"$kd.old/user1/first.pub"
keys_dropin_put user1 fourth.pub "$fourth"
want=$(printf '%s\n' "$third" "$fourth" | sort)
ok "a key added to the new keys.d is synced" wait_until 5 '[ "$(keys_block "$ak" | sort)" = "$want" ]'
ok "the old keys.d is not read" eval '! grep -q -F -e "$first" "$ak"'

daemon_stop 10
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"

# user1's drop-in directory removed while no daemon runs: the start's pass takes the block out.
rm -rf "${kd:?}/user1"
keys_daemon_start --root "$SANDBOX"
is "$(keys_marker_count "$ak")" "0 0" "restarted without user1's drop-in directory: the block is gone by READY=1"
ok "the user's own key stays" grep -q -x -F -e "$SANDBOX_PUBKEY" "$ak"
daemon_expect_stop "the daemon exits 0 on SIGTERM"

done_testing
