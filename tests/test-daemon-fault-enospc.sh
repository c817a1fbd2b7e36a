#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A full file system while the daemon syncs approved keys: user1's home is a small tmpfs, filled
# up, and a key is dropped in for user1. The sync fails: authorized_keys is byte for byte what it
# was, no temporary file is left beside it, the failure is logged once. Room again (the tmpfs made
# larger, which no watch sees), the sync succeeds by itself within a few seconds: the daemon
# retries a sync that failed for want of room on a back-off of its own, not at its periodic scan
# (an hour here), and tells the failure once however often it retries.
# shellcheck disable=SC2016,SC2317 # sh -c scripts; functions run through ok
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog mount umount dd cmp
[ "${JOURNAL_PRIVATE:-0}" = 1 ] || skip_all "a private mount namespace is needed"

sandbox_create 1 || bail "sandbox_create failed"
S=$SANDBOX
H=$S/home/user1
ak=$(keys_ak user1)
keys_gen approved || bail "ssh-keygen failed"
approved=$(keys_pub approved)
sandbox_config '[Daemon]' 'RescanIntervalSec=1h'

# user1's home on a tmpfs of 256 KiB, its contents as they were.
saved=$TEST_TMP/home-saved
cp -a "$H" "$saved"
ok "a 256 KiB tmpfs over user1's home" mount -t tmpfs -o size=256k,mode=0700 sshmend-test-full "$H"
add_cleanup "umount -l '$H' 2>/dev/null"
cp -a "$saved/." "$H/" && chown "$(uid_of user1):$(uid_of user1)" "$H"
cp -p "$ak" "$TEST_TMP/ak-before"

keys_daemon_start --root "$S"
dd if=/dev/zero of="$H/fill" bs=4k >/dev/null 2>&1
ok "the file system is full" sh -c '! dd if=/dev/zero of="$1/fill2" bs=4k count=1 2>/dev/null' _ "$H"
rm -f "$H/fill2"
keys_dropin_put user1 approved.pub "$approved"
errors() {
	daemon_count SSHMEND_USER=user1 PRIORITY=3
}
logged() {
	[ "$(errors)" -ge 1 ]
}
ok "the failure is logged" wait_for 10 logged
sleep 8
is "$(errors)" 1 "once, however often the daemon retries"
e=$(daemon_journal SSHMEND_USER=user1 PRIORITY=3 | head -n 1)
is "$(journal_field "$e" SSHMEND_EVENT)" repair-failed "as repair-failed"
ok "saying the file system is full" grep -q 'No space left on device' <<<"$(journal_field "$e" MESSAGE)"
ok "authorized_keys is byte for byte what it was" cmp "$TEST_TMP/ak-before" "$ak"
is "$(find "$H/.ssh" -mindepth 1 ! -name authorized_keys | wc -l)" 0 "no temporary file beside it"

ok "authorized_keys is still byte for byte what it was" cmp "$TEST_TMP/ak-before" "$ak"
ok "room again" mount -o remount,size=1m "$H"
ok "the sync succeeds by itself within seconds" \
	wait_until 20 '[ "$(keys_block "$ak")" = "$approved" ]'
is "$(errors)" 1 "the failure was told once in all"
ok "the user's own key stays" grep -q -x -F -e "$SANDBOX_PUBKEY" "$ak"
is "$(find "$H/.ssh" -mindepth 1 ! -name authorized_keys | wc -l)" 0 "no temporary file beside it"

daemon_stop 30
is "$DAEMON_STATUS" 0 "SIGTERM: exit status 0"
ok "no sanitizer report" daemon_sanitizer_clean || diag "$(tail -n 30 "$DAEMON_ERR")"
done_testing
