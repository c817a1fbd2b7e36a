#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The last use of each key, from sshd's journal. A real sshd logs through syslog into the
# test's journald; "sshmend daemon" ([Diagnose] Journal=yes) reads it. An accepted key login
# sets that key's last_used and last_from in "sshmend keys" (a key never used stays null), and a
# restart of the daemon keeps them. A name this system does not know, from an address that
# logged in before, gets a hint that names first the users it logged in as, the latest first;
# and, once the daemon has started again (nothing of the earlier logins in memory, the journal
# read on from its cursor), such an attempt still has an entry of its own, while one from an
# address that never logged in is counted as noise.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/lib/sshd.sh"
. "$top_srcdir/tests/diagnose-lib.sh"

diagnose_begin "$@"

# Two test users, at most 16 characters each.
a=$(printf 'smlua%.11s' "$$")
b=$(printf 'smlub%.11s' "$$")
sshd_start "SyslogFacility AUTH" || bail "sshd_start failed"
testuser_create "$a" || bail "testuser_create $a failed"
testuser_create "$b" || bail "testuser_create $b failed"
sshd_stop
syslog_sshd VERBOSE || bail "sshd did not start with syslog"
ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/spare.key" </dev/null
fp() {
	ssh-keygen -l -E sha256 -f "$1" | cut -d' ' -f2
}
fp_a=$(fp "$SSHD_DIR/$a.key.pub")
fp_b=$(fp "$SSHD_DIR/$b.key.pub")
fp_spare=$(fp "$SSHD_DIR/spare.key.pub")

# The sandbox root knows the test users, with their keys files as on the host (and a spare key
# for $a that no login uses).
sandbox_create 1 || bail "sandbox_create failed"
getent passwd "$a" "$b" >>"$SANDBOX/etc/passwd"
getent group "$a" "$b" >>"$SANDBOX/etc/group"
for u in "$a" "$b"; do
	home=$(getent passwd "$u" | cut -d: -f6)
	install -d -m 0700 -o "$u" -g "$u" "$SANDBOX$home" "$SANDBOX$home/.ssh"
	install -m 0600 -o "$u" -g "$u" "$home/.ssh/authorized_keys" "$SANDBOX$home/.ssh/authorized_keys"
done
home_a=$(getent passwd "$a" | cut -d: -f6)
cat "$SSHD_DIR/spare.key.pub" >>"$SANDBOX$home_a/.ssh/authorized_keys"
sandbox_config '[Users]' "Exclude=$a $b" '[Diagnose]' Journal=yes NoiseSummarySec=2s

# key_field USER FP FIELD: FIELD of the key FP in "sshmend keys --json USER" (a string's value,
# or null).
key_field() {
	local json obj
	json=$("$SSHMEND" --root "$SANDBOX" keys --json "$1") || return 1
	json=${json//'},{'/$'}\n{'}
	while IFS= read -r obj; do
		case $obj in
		*"\"fingerprint\":\"$2\""*)
			if [[ $obj =~ \"$3\":\"([^\"]*)\" ]]; then
				echo "${BASH_REMATCH[1]}"
			elif [[ $obj =~ \"$3\":null ]]; then
				echo null
			fi
			;;
		esac
	done <<<"$json"
}

daemon_start --root "$SANDBOX"
ok "the daemon starts" daemon_wait_count 10 0 SSHMEND_EVENT=started
is "$(key_field "$a" "$fp_a" last_used) $(key_field "$a" "$fp_a" last_from)" "null null" \
	"before any login: last_used and last_from null"

t0=$(date -u +%s)
ok "$a logs in with its key" login "$a" "$SSHD_DIR/$a.key"
# shellcheck disable=SC2016 # evaluated by wait_until
ok "the login sets the key's last_used" \
	wait_until 5 '[ "$(key_field "$a" "$fp_a" last_used)" != null ]'
used=$(key_field "$a" "$fp_a" last_used)
like "$used" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$' "last_used is ISO 8601 UTC"
secs=$(date -u -d "$used" +%s)
ok "last_used is the login's time ($used)" test "$secs" -ge "$((t0 - 1))" -a "$secs" -le "$(date -u +%s)"
is "$(key_field "$a" "$fp_a" last_from)" 127.0.0.1 "last_from is the client's address"
is "$(key_field "$a" "$fp_spare" last_used) $(key_field "$a" "$fp_spare" last_from)" "null null" \
	"a key never used: null"
human=$("$SSHMEND" --root "$SANDBOX" keys "$a")
like "$(grep -F "$fp_a" <<<"$human")" "\(last used [0-9-]+ [0-9:]+ UTC from 127\.0\.0\.1\)$" \
	"keys: the last use of the key"
like "$(grep -F "$fp_spare" <<<"$human")" "\(last used: never\)$" "keys: a key never used"
is "$(journal_query SYSLOG_IDENTIFIER=sshmend "SSHMEND_USER=$a" | grep -c '^{')" 0 \
	"nothing is logged for a login that succeeded"

# The latest first: $b logs in from the same address a little later.
sleep 1
ok "$b logs in with its key" login "$b" "$SSHD_DIR/$b.key"
# shellcheck disable=SC2016 # evaluated by wait_until
ok "$b's key has its last use" wait_until 5 '[ "$(key_field "$b" "$fp_b" last_used)" != null ]'
is "$(key_field "$b" "$fp_b" last_from)" 127.0.0.1 "... from the same address"

# A name this system does not know, from an address that logged in: the hint names the users.
entries() {
	journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-refused "SSHMEND_USER=$1"
}
login ubuntu "$SSHD_DIR/spare.key"
# shellcheck disable=SC2016 # evaluated by wait_until
ok "ubuntu: a login-refused entry" wait_until 5 '[ -n "$(entries ubuntu)" ]'
hint=$(journal_field "$(entries ubuntu | tail -n 1)" SSHMEND_HINT)
like "$hint" "^127\.0\.0\.1 logged in as $b [0-9-]+ [0-9:]+ UTC, $a [0-9-]+ [0-9:]+ UTC: log in as $b; no user ubuntu here" \
	"the hint names the users the address logged in as, the latest first" || diag "$hint"

# A restart: the last uses stay, and the noise rule reads them.
daemon_stop
ok "the daemon stopped" test "$DAEMON_STATUS" = 0
daemon_start --root "$SANDBOX"
ok "the daemon starts again" daemon_wait_count 10 0 SSHMEND_EVENT=started
is "$(key_field "$a" "$fp_a" last_used)" "$used" "a restart keeps last_used"
is "$(key_field "$a" "$fp_a" last_from)" 127.0.0.1 "... and last_from"
sleep 1
nosuch=smlux$$
login "$nosuch" "$SSHD_DIR/spare.key" -b 127.0.0.9
login "$nosuch" "$SSHD_DIR/spare.key"
# shellcheck disable=SC2016 # evaluated by wait_until
ok "an unknown name from an address that logged in has an entry of its own after a restart" \
	wait_until 5 '[ "$(entries "$nosuch" | grep -c "^{")" -ge 1 ]'
sleep 1
is "$(entries "$nosuch" | grep -c '"SSHMEND_REMOTE_ADDR":"127.0.0.9"')" 0 \
	"... and one from an address that never logged in has none"
like "$(journal_field "$(entries "$nosuch" | tail -n 1)" SSHMEND_HINT)" "^127\.0\.0\.1 logged in as $b " \
	"... with the hint"
# shellcheck disable=SC2016 # evaluated by wait_until
ok "... but is counted in a login-noise entry" \
	wait_until 6 '[ -n "$(daemon_events login-noise | grep -F 127.0.0.9)" ]'
daemon_stop
ok "no sanitizer report" daemon_sanitizer_clean
done_testing
