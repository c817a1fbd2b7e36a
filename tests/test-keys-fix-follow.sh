#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 17, for "sshmend fix": the user has authorized_keys open for appending
# (cat >>~/.ssh/authorized_keys, a key being pasted) when fix replaces it to write the approved
# keys, as cloud-init or cron run it. What the user writes after the replacement lands in the
# replaced file; fix follows it while a process still holds it open for writing, and carries the
# line into the new file. With no such writer, fix does not wait.
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog mkfifo

sandbox_create 1 || bail "sandbox_create failed"
ak=$(keys_ak user1)
keys_gen_each ops pasted
pasted=$(keys_pub pasted)

# The user opens the file for appending, waits for the go, then writes the key and closes.
mkfifo -m 0644 "$TEST_TMP/go" || bail "mkfifo failed"
# shellcheck disable=SC2016 # expanded by the user's shell
setpriv --reuid="$(uid_of user1)" --regid="$(uid_of user1)" --clear-groups -- \
	sh -c 'exec 5>>"$1" && read -r _ <"$2" && sleep 1 && printf "%s\n" "$3" >&5' \
	paster "$ak" "$TEST_TMP/go" "$pasted" </dev/null &
paster=$!
add_cleanup "kill -KILL $paster 2>/dev/null; wait $paster 2>/dev/null"
ok "the user holds authorized_keys open for appending" wait_for 5 test -e "/proc/$paster/fd/5"
ino0=$(stat -c %i "$ak")

keys_dropin_put user1 ops.pub "$(keys_pub ops)"
# The go comes once fix has replaced the file: the paste lands in the replaced inode.
(
	wait_until 10 '[ "$(stat -c %i "$ak")" != "$ino0" ]' >/dev/null 2>&1
	echo go >"$TEST_TMP/go"
) &
start=$(date +%s)
rc=0
"$SSHMEND" --root "$SANDBOX" fix user1 >"$TEST_TMP/fix.out" 2>&1 || rc=$?
is "$rc" 0 "fix exits 0" || diag "$(cat "$TEST_TMP/fix.out")"
wait "$paster"
ok "fix replaced authorized_keys" test "$(stat -c %i "$ak")" != "$ino0"
is "$(grep -c -x -F -e "$pasted" "$ak")" 1 "the key pasted into the replaced file is carried over, once"
is "$(keys_block "$ak")" "$(keys_pub ops)" "the approved block is there"
ok "fix waited for the writer, not for its limit" test $(($(date +%s) - start)) -lt 9

# No writer: fix returns at once.
keys_dropin_put user1 ops2.pub "$(keys_pub pasted)"
start=$(date +%s)
"$SSHMEND" --root "$SANDBOX" fix user1 >/dev/null 2>&1
ok "with no writer, fix does not wait" test $(($(date +%s) - start)) -lt 3
left=$(cd "$SANDBOX" && find . -name '*.sshmend-*' | wc -l)
is "$left" 0 "no temporary file is left"
done_testing
