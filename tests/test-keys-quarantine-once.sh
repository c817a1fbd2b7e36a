#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# Exclusive=: a key line goes to the quarantine before it leaves authorized_keys, and is kept and
# told once. user1 has an approved key in the drop-in directory and its launch key, which is not
# approved. The first fix cannot replace authorized_keys (~/.ssh is immutable, chattr +i, as
# any failure after the quarantine was written): the launch key stays there, so it is neither
# in the quarantine nor told as moved, but as staying. The second fix, with ~/.ssh writable
# again, moves it: one entry in the quarantine, told once as moved.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog chattr

sandbox_create 1 || bail "sandbox_create failed"
ak=$(keys_ak user1)
sshdir=$SANDBOX/home/user1/.ssh
keys_gen_each approved
keys_dropin_put user1 approved.pub "$(keys_pub approved)"
sandbox_config '[Users]' 'Exclude=root' '[Keys]' 'Exclusive=yes'
fp_launch=$(keys_fp "${SANDBOX_KEY}.pub")
moved="user1: /home/user1/.ssh/authorized_keys: key $fp_launch (sshmend-sandbox) outside the approved set: moved to the quarantine (fixed)"

# quarantined: how many entries of the launch key user1's quarantine holds
quarantined() {
	local q
	q=$(find "$SANDBOX" -name quarantine.user1)
	if [ -z "$q" ]; then
		echo 0
	else
		grep -c -x -F -e "$SANDBOX_PUBKEY" "$q"
	fi
}

chattr +i "$sshdir" 2>/dev/null || skip_all "chattr +i is not supported where the sandbox is"
add_cleanup "chattr -i '$sshdir' 2>/dev/null"
out=$("$SSHMEND" --root "$SANDBOX" fix 2>&1)
ok "fix fails while ~/.ssh is immutable" test "$?" -ne 0
is "$(grep -c -x -F -e "$SANDBOX_PUBKEY" "$ak")" 1 "the launch key is still in authorized_keys"
is "$(quarantined)" 0 "so it is not in the quarantine" ||
	diag "$(cat "$(find "$SANDBOX" -name quarantine.user1)")"
is "$(grep -c -x -F -e "$moved" <<<"$out")" 0 "nor told as moved" || diag "$out"
ok "it is told as staying" grep -q -F -e "key $fp_launch (sshmend-sandbox) outside the approved set (failed: the keys file could not be replaced: it stays)" <<<"$out" ||
	diag "$out"

chattr -i "$sshdir" || bail "chattr -i failed"
out=$("$SSHMEND" --root "$SANDBOX" fix 2>&1)
is "$(grep -c -x -F -e "$SANDBOX_PUBKEY" "$ak")" 0 "the second fix takes the launch key out" ||
	diag "$out"
is "$(quarantined)" 1 "into the quarantine, once"
is "$(grep -c -x -F -e "$moved" <<<"$out")" 1 "told as moved once" || diag "$out"
ok "the approved key is in authorized_keys" grep -q -x -F -e "$(keys_pub approved)" "$ak"
done_testing
