#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2317,SC2016 # functions run through ok; sh -c scripts expand their arguments
# SECURITY.md, scenario 24: terminal control sequences in what users own. A key comment
# "x\r\e[2Kuser1: ... approved ..." once made `sshmend keys` show an unapproved key as approved.
# Every human output must show such bytes escaped (\x1b), never raw: check, fix --dry-run, fix,
# keys, keys --quarantined, the "sshmend: ..." lines on standard error (a drop-in file's name, an
# unknown user's name), a user name from passwd, and the daemon's journal MESSAGE (its fields keep
# the raw value). The JSON output stays valid JSON and escapes every control character.
#
# The text carries, besides CR and ESC, a C1 control (CSI, U+009B), a byte that is not UTF-8
# (0xff) and a right-to-left override (U+202E).
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog ssh-keygen python3 cut

sandbox_create 2 || bail "sandbox_create failed"
S=$SANDBOX
EVIL=$'x\r\e[2Kuser1: /home/user1/.ssh/authorized_keys:1: approved \xc2\x9b2K \xff \xe2\x80\xae'
SHOWN='x\x0d\x1b[2Kuser1: /home/user1/.ssh/authorized_keys:1: approved \xc2\x9b2K \xff \xe2\x80\xae'
ssh-keygen -q -t ed25519 -N '' -C approved -f "$TEST_TMP/approved" </dev/null ||
	bail "ssh-keygen failed"
ssh-keygen -q -t ed25519 -N '' -C evil -f "$TEST_TMP/evil" </dev/null ||
	bail "ssh-keygen failed"
evil_line="$(cut -d' ' -f1,2 "$TEST_TMP/evil.pub") $EVIL"
# user1 is held to approved keys: the evil key is a finding of check and fix, then quarantined.
install -d -m 0755 "$S/etc/sshmend/keys.d/user1"
install -m 0644 "$TEST_TMP/approved.pub" "$S/etc/sshmend/keys.d/user1/approved.pub"
# A drop-in file whose name carries the sequence: rejected, said on standard error.
printf 'garbage\n' >"$S/etc/sshmend/keys.d/user1/bad"$'\e[2K'".pub"
sandbox_config '[Keys]' ExclusiveUsers=user1 || bail "config failed"
# A user name with the sequence, sharing user2's home (reported, never repaired).
printf 'odd\033[2Kname:x:20009:20009::/home/user2:/bin/bash\n' >>"$S/etc/passwd"
run_as user1 sh -c 'printf "%s\n" "$1" >>"$2"' _ "$evil_line" "$S/home/user1/.ssh/authorized_keys"

# clean FILE: the bytes are UTF-8 with no C0 control but the newline, no DEL, no C1 control and
# no bidirectional control; the offending characters are listed otherwise.
clean() {
	python3 - "$1" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
try:
    text = data.decode('utf-8')
except UnicodeDecodeError as e:
    print('# not UTF-8:', e)
    sys.exit(1)
bad = [c for c in text if (ord(c) < 0x20 and c != '\n') or 0x7f <= ord(c) <= 0x9f or
       0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069]
if bad:
    print('# raw:', ' '.join('U+%04X' % ord(c) for c in sorted(set(bad))))
    sys.exit(1)
PY
}
# run NAME ARGS...: sshmend --root $S ARGS..., stdout to $TEST_TMP/NAME.out, stderr to .err
run() {
	local name=$1
	shift
	timeout 60 "$SSHMEND" --root "$S" "$@" >"$TEST_TMP/$name.out" 2>"$TEST_TMP/$name.err"
}
# expect_clean NAME WHAT: both streams of run NAME hold nothing raw; WHAT is shown escaped.
expect_clean() {
	ok "$1: standard output holds no control character" clean "$TEST_TMP/$1.out"
	ok "$1: standard error holds no control character" clean "$TEST_TMP/$1.err"
	ok "$1: shows $2 escaped" grep -qF -- "$2" "$TEST_TMP/$1.out" "$TEST_TMP/$1.err" ||
		diag "$(cat "$TEST_TMP/$1.out" "$TEST_TMP/$1.err")"
}
# json_ok NAME: run NAME's standard output parses as JSON.
json_ok() {
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$TEST_TMP/$1.out"
}

run check check
expect_clean check "($SHOWN) outside the approved set"
ok "check: the user name is shown escaped" grep -qF 'odd\x1b[2Kname: /home/user2' "$TEST_TMP/check.out"
ok "check: the drop-in file's name is shown escaped on standard error" \
	grep -qF 'sshmend: /etc/sshmend/keys.d/user1/bad\x1b[2K.pub:1:' "$TEST_TMP/check.err"
run dry fix --dry-run
expect_clean dry "($SHOWN) outside the approved set: would be moved to the quarantine"
run check_json check --json
ok "check --json is valid JSON" json_ok check_json
ok "check --json: the comment's controls are \\u escapes, the bad byte the text \\\\xff" \
	grep -qF '"comment":"x\u000d\u001b[2Kuser1: /home/user1/.ssh/authorized_keys:1: approved \u009b2K \\xff \u202e"' \
	"$TEST_TMP/check_json.out"
run fix fix
expect_clean fix "($SHOWN) outside the approved set: moved to the quarantine (fixed)"
run quarantined keys --quarantined user1
expect_clean quarantined "ssh-ed25519 $SHOWN, taken "
run quarantined_json keys --quarantined --json user1
ok "keys --quarantined --json is valid JSON" json_ok quarantined_json
run unknown check $'no\e[2Kbody'
expect_clean unknown "sshmend: unknown user 'no\x1b[2Kbody'"

# user2 is not held to approved keys: the evil key stays, and keys lists it.
run_as user2 sh -c 'printf "%s\n" "$1" >>"$2"' _ "$evil_line" "$S/home/user2/.ssh/authorized_keys"
run keys keys user2
expect_clean keys "ssh-ed25519 $SHOWN"
ok "keys: the key is not shown as approved" sh -c '! grep -q "approved SHA256" "$1"' _ \
	"$TEST_TMP/keys.out"
run keys_json keys --json user2
ok "keys --json is valid JSON" json_ok keys_json

# The daemon: its baseline, then the key appears again in user2's file.
sed -i '$d' "$S/home/user2/.ssh/authorized_keys"
dthreat_start || bail "the daemon did not start"
run_as user2 sh -c 'printf "%s\n" "$1" >>"$2"' _ "$evil_line" "$S/home/user2/.ssh/authorized_keys"
ok "the daemon tells the key (key-unapproved)" daemon_wait_events 10 1 key-unapproved SSHMEND_USER=user2
entry=$(daemon_events key-unapproved SSHMEND_USER=user2 | head -n 1)
# journalctl -o json gives a field with control characters as an array of bytes, else a string.
check_entry() {
	python3 - "$1" "$2" <<'PY'
import json, sys
e = json.loads(sys.argv[1])
msg, comment = e.get('MESSAGE'), e.get('SSHMEND_COMMENT')
if not isinstance(msg, str) or sys.argv[2] not in msg:
    print('# MESSAGE:', repr(msg))
    sys.exit(1)
if not isinstance(comment, list) or 27 not in comment:
    print('# SSHMEND_COMMENT:', repr(comment))
    sys.exit(1)
PY
}
ok "its MESSAGE shows the comment escaped; SSHMEND_COMMENT keeps the raw bytes" \
	check_entry "$entry" "($SHOWN) stands outside the approved set"
daemon_stop 10
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
ok "the daemon's standard error holds no control character" clean "$DAEMON_ERR"
done_testing
