#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 20: what sshmend writes in its state directory it reads back, a limit
# reached is told, and no key audit grows with the square of the keys.
#
# A quarantine larger than the limit (an older version's): Exclusive= still takes the user's key
# out, keeps the newest entries within the limit, says the oldest made room, and "sshmend keys
# --quarantined" reads it; a key planted later goes too, and a revoked approved key leaves. A
# remembered state larger than the limit: the daemon says so at priority err, and a key
# appended later is still told (key-unapproved). With 60,000 keys in user3's file, a touch of it
# delays another user's heal by well under the service's watchdog (30 s), not by the minute a
# comparison of every key with every remembered one took.
# shellcheck disable=SC2317 # functions run through ok and wait_for
# shellcheck disable=SC2016 # sh -c scripts: expanded by the user's shell
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog python3 date
[ -n "${SSHMEND_LOCALSTATEDIR:-}" ] || skip_all "SSHMEND_LOCALSTATEDIR is not set (make check sets it)"

sandbox_create 3 || bail "sandbox_create failed"
ak1=$(keys_ak user1)
ak2=$(keys_ak user2)
ak3=$(keys_ak user3)
state=$SANDBOX$SSHMEND_LOCALSTATEDIR/lib/sshmend
max=$((16 << 20))
keys_gen_each approved approved2 planted planted2 appended
fp_sandbox=$(keys_fp "${SANDBOX_KEY}.pub")
install -d -m 0700 -o 0 -g 0 "$state" || bail "cannot make the state directory"

# --- A quarantine larger than it is read ----------------------------------------------------------
old=$(keys_random 1 old)
awk -v l="$old" 'BEGIN { for (i = 0; i < 120000; i++)
	printf "# from /home/user2/.ssh/authorized_keys\n# taken 2026-01-01T00:00:00Z\n%s\n", l }' \
	>"$state/quarantine.user2" || bail "cannot write the quarantine"
chmod 0600 "$state/quarantine.user2"
ok "the quarantine is larger than the limit ($(stat -c %s "$state/quarantine.user2") bytes)" \
	test "$(stat -c %s "$state/quarantine.user2")" -gt "$max"
keys_dropin_put user2 approved.pub "$(keys_pub approved)"
keys_dropin_put user2 approved2.pub "$(keys_pub approved2)"
sandbox_config '[Users]' 'Exclude=root' '[Keys]' 'ExclusiveUsers=user2'

out=$("$SSHMEND" --root "$SANDBOX" fix user2 2>&1)
is "$?" 1 "fix exits 1: the quarantine had to drop entries" || diag "$out"
is "$(grep -c -F -e "$SANDBOX_PUBKEY" "$ak2")" 0 "the user's key left authorized_keys" ||
	diag "$out"
ok "... and fix says the oldest entries made room" grep -q -E -e \
	"^user2: $SSHMEND_LOCALSTATEDIR/lib/sshmend/quarantine.user2: full: its [0-9]+ oldest entr(y|ies) went to make room for 1 new" \
	<<<"$out" || diag "$out"
ok "the quarantine is within the limit" test "$(stat -c %s "$state/quarantine.user2")" -le "$max"
ok "... and ends with the key just taken" test "$(tail -n 1 "$state/quarantine.user2")" = \
	"$SANDBOX_PUBKEY"
listed=$("$SSHMEND" --root "$SANDBOX" keys --quarantined user2 2>&1)
is "$?" 0 "keys --quarantined reads it" || diag "$(head -c 300 <<<"$listed")"
ok "... and lists the key" grep -q -F -e "$fp_sandbox" <<<"$listed"

run_as user2 sh -c 'cat "$1" >>"$2"' sh "$TEST_TMP/planted.pub" "$ak2"
"$SSHMEND" --root "$SANDBOX" fix user2 >"$TEST_TMP/out" 2>&1
is "$(grep -c -F -e "$(keys_pub planted)" "$ak2")" 0 "a key planted later goes too" ||
	diag "$(cat "$TEST_TMP/out")"
# One key revoked while the user plants another: the other approved key stays.
rm -f "$(keys_dropin_dir user2)/approved.pub"
run_as user2 sh -c 'cat "$1" >>"$2"' sh "$TEST_TMP/planted2.pub" "$ak2"
"$SSHMEND" --root "$SANDBOX" fix user2 >"$TEST_TMP/out" 2>&1
is "$(grep -c -F -e "$(keys_pub approved)" "$ak2")" 0 "a revoked approved key leaves" ||
	diag "$(cat "$TEST_TMP/out")"
is "$(grep -c -F -e "$(keys_pub planted2)" "$ak2")" 0 "... and so does the key planted with it"
is "$(keys_block "$ak2")" "$(keys_pub approved2)" "... and the other approved key stays"

# --- A remembered state larger than it is read -----------------------------------------------
# user1's state as an older version may have left it: its key, then one key gone since, written
# again and again (told gone once: a flood of entries would be held back by the rate limit).
{
	echo "$fp_sandbox user"
	awk 'BEGIN { for (i = 0; i < 320000; i++) printf "SHA256:%043d user\n", 0 }'
} >"$state/keys.user1" || bail "cannot write the state"
chmod 0600 "$state/keys.user1"
ok "user1's state is larger than the limit" test "$(stat -c %s "$state/keys.user1")" -gt "$max"
keys_daemon_start --root "$SANDBOX"
said() { daemon_event_messages internal-error PRIORITY=3 | grep -q -F -e "$1"; }
ok "the daemon says so, at priority err" wait_for 20 said \
	"user1: the key audit's state: larger than $max bytes"
ok "... and writes it back within the limit" \
	wait_until 20 '[ "$(stat -c %s "$state/keys.user1")" -le "$max" ]'
run_as user1 sh -c 'cat "$1" >>"$2"' sh "$TEST_TMP/appended.pub" "$ak1"
ok "a key appended later is told" journal_wait 20 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
	SSHMEND_EVENT=key-unapproved "SSHMEND_FINGERPRINT=$(keys_fp "$TEST_TMP/appended.pub")"

# --- 60,000 keys: the audit of one user does not hold up another's heal ---------------------------
keys_random 60000 | run_as user3 sh -c 'cat >>"$1"' sh "$ak3" || bail "cannot add the keys"
# Told as the journal's budget allows (what it holds back is told later, so not all of them
# are remembered yet): the audit has run once its first entry is there.
ok "the 60,000 keys are audited" journal_wait 60 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
	SSHMEND_EVENT=key-unapproved SSHMEND_USER=user3
sleep 1
ssh2=$SANDBOX/home/user2/.ssh
run_as user3 touch "$ak3"
t0=$(date +%s%N)
run_as user2 chmod 0777 "$ssh2"
ok "user2's .ssh is healed while user3's keys are audited again" \
	wait_until 25 '[ "$(stat -c %a "$ssh2")" != 777 ]'
ms=$((($(date +%s%N) - t0) / 1000000))
ok "... within 10 s of the chmod (${ms} ms)" test "$ms" -lt 10000

daemon_expect_stop "the daemon exits 0 on SIGTERM" 20

done_testing
