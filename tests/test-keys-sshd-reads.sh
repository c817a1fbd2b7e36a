#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 19: key lines that sshd logs in with though no writer for sshd wrote them.
# sshd reads each line up to a NUL, skips a CR before the newline and knows no length limit.
# user1 (ExclusiveUsers=, with an approved key) holds a CRLF key, a key with a NUL and bytes after
# it, a key with a comment of 9,000 bytes, and a line that is no key: "sshmend fix" moves the
# three keys to the quarantine ("sshmend keys --quarantined" lists them, --restore gives one
# back), leaves the other line where it is and says so, and exits 1. The daemon's audit names
# each such key user2 appends (key-unapproved, with its fingerprint). A keys file over 8 MiB is
# told by check (exit 1), by "sshmend keys" and by the daemon (priority err), never passed over,
# and the keys remembered from it are not told gone.
# shellcheck disable=SC2317 # functions run through ok and wait_for
# shellcheck disable=SC2016 # bash -c scripts: expanded by the user's shell
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"

sandbox_create 2 || bail "sandbox_create failed"
ak1=$(keys_ak user1)
ak2=$(keys_ak user2)
keys_gen_each approved crlf nul long crlf2 nul2 big
blob() { awk '{ print $2 }' "$TEST_TMP/$1.pub"; }
pad=$(printf '%9000s' '' | tr ' ' x)

keys_dropin_put user1 approved.pub "$(keys_pub approved)"
sandbox_config '[Users]' 'Exclude=root' '[Keys]' 'ExclusiveUsers=user1'
run_as user1 bash -c 'printf "%s\r\n%s\0junk\n%s %s\nhello world\n" "${@:1:4}" >>"$5"' sh \
	"$(keys_pub crlf)" "$(keys_pub nul)" "$(keys_pub long)" "$pad" "$ak1" ||
	bail "cannot write user1's authorized_keys"

# --- Exclusive=: every key line sshd reads goes ----------------------------------------------
out=$("$SSHMEND" --root "$SANDBOX" fix user1 2>"$TEST_TMP/err")
is "$?" 1 "fix exits 1: a line that is no key stays" || diag "$out $(cat "$TEST_TMP/err")"
for k in crlf nul long; do
	is "$(grep -a -c -F -e "$(blob "$k")" "$ak1")" 0 "the $k key left authorized_keys"
done
ok "the line that is no key stays" grep -a -q -x -F -e "hello world" "$ak1"
ok "... and fix says so, with its line and why" grep -q -F -e \
	"user1: /home/user1/.ssh/authorized_keys: Exclusive= keeps 1 line that is no key sshd would use (line 5: unknown key type 'hello') (refused" \
	<<<"$out" || diag "$out"
is "$(keys_block "$ak1")" "$(keys_pub approved)" "the approved key stays, in its block"
listed=$("$SSHMEND" --root "$SANDBOX" keys --quarantined user1)
for k in crlf nul long; do
	ok "keys --quarantined lists the $k key" grep -q -F -e "$(keys_fp "$TEST_TMP/$k.pub")" \
		<<<"$listed" || diag "$listed"
done
"$SSHMEND" --root "$SANDBOX" keys --restore user1 "$(keys_fp "$TEST_TMP/crlf.pub")" \
	>"$TEST_TMP/out" 2>&1
is "$?" 0 "keys --restore gives the CRLF key back" || diag "$(cat "$TEST_TMP/out")"
ok "... approved, as a line without its CR" grep -q -x -F -e "$(keys_pub crlf)" "$ak1"

# --- The audit names such keys -----------------------------------------------------------------
keys_daemon_start --root "$SANDBOX"
ok "keys-baseline logged" journal_wait 10 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
	SSHMEND_EVENT=keys-baseline
run_as user2 bash -c 'printf "%s\r\n%s\0junk\n" "$1" "$2" >>"$3"' sh "$(keys_pub crlf2)" \
	"$(keys_pub nul2)" "$ak2" || bail "cannot write user2's authorized_keys"
for k in crlf2 nul2; do
	ok "key-unapproved for the $k key" journal_wait 10 SYSLOG_IDENTIFIER=sshmend \
		"_PID=$DAEMON_PID" SSHMEND_EVENT=key-unapproved \
		"SSHMEND_FINGERPRINT=$(keys_fp "$TEST_TMP/$k.pub")"
done
e=$(daemon_events key-unapproved "SSHMEND_FINGERPRINT=$(keys_fp "$TEST_TMP/crlf2.pub")" | head -n 1)
is "$(journal_field "$e" SSHMEND_COMMENT)" crlf2 "... its comment without the CR"

# --- A keys file over 8 MiB --------------------------------------------------------------------
ak2b=$SANDBOX/home/user2/.ssh/authorized_keys2
fp_big=$(keys_fp "$TEST_TMP/big.pub")
run_as user2 sh -c 'cat "$1" >"$2"' sh "$TEST_TMP/big.pub" "$ak2b" ||
	bail "cannot write user2's authorized_keys2"
ok "a key in user2's authorized_keys2 is told" journal_wait 10 SYSLOG_IDENTIFIER=sshmend \
	"_PID=$DAEMON_PID" SSHMEND_EVENT=key-unapproved "SSHMEND_FINGERPRINT=$fp_big"
run_as user2 bash -c '{ head -c 9000000 /dev/zero | tr "\0" "#"; echo; } >>"$1"' sh "$ak2b" ||
	bail "cannot write user2's authorized_keys2"
ok "the daemon tells it at priority err" journal_wait 10 SYSLOG_IDENTIFIER=sshmend \
	"_PID=$DAEMON_PID" SSHMEND_EVENT=repair-refused PRIORITY=3 \
	SSHMEND_PATH=/home/user2/.ssh/authorized_keys2
e=$(daemon_events repair-refused SSHMEND_PATH=/home/user2/.ssh/authorized_keys2 | head -n 1)
like "$(journal_field "$e" SSHMEND_REASON)" "larger than 8 MiB, so sshmend does not read it" \
	"... with why"
sleep 1
is "$(daemon_event_count key-removed "SSHMEND_FINGERPRINT=$fp_big")" 0 \
	"its key is not told gone: the file is not read, not empty"
out=$("$SSHMEND" --root "$SANDBOX" check user2 2>&1)
is "$?" 1 "check exits 1" || diag "$out"
ok "... and says the file is too large" grep -q -F -e \
	"user2: /home/user2/.ssh/authorized_keys2: larger than 8 MiB" <<<"$out" || diag "$out"
out=$("$SSHMEND" --root "$SANDBOX" keys user2 2>&1)
ok "keys lists it, not read" grep -q -F -e \
	"user2: /home/user2/.ssh/authorized_keys2:0: invalid: larger than 8 MiB" <<<"$out" ||
	diag "$out"

daemon_expect_stop "the daemon exits 0 on SIGTERM"

done_testing
