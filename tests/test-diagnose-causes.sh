#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The refusals sshd decides on its own: each a real failed key login against a real sshd that
# logs through syslog into the test's journald, once at LogLevel VERBOSE and once at INFO. A
# user sshd_config does not allow (DenyUsers, AllowUsers), root with PermitRootLogin no, a
# login shell that does not exist, a locked and an expired account (UsePAM no), a key whose
# algorithm is not in PubkeyAcceptedAlgorithms and an RSA key below RequiredRSASize each give
# exactly one login-refused entry from "sshmend daemon", within a second of the connection's
# end, with the cause, user, address, the key's fingerprint where sshd logged it, a hint, and
# the priority of the cause's family. Each attempt comes from an address of its own.
# shellcheck disable=SC2317 # functions run through ok and wait_until
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/lib/sshd.sh"
. "$top_srcdir/tests/diagnose-lib.sh"

diagnose_begin "$@"
require_prog passwd

# The test users, at most 16 characters each: denied, shell, locked, expired, keys.
d=$(printf 'smcd%.12s' "$$")
s=$(printf 'smcs%.12s' "$$")
l=$(printf 'smcl%.12s' "$$")
e=$(printf 'smce%.12s' "$$")
k=$(printf 'smck%.12s' "$$")
sshd_start "SyslogFacility AUTH" || bail "sshd_start failed"
for u in "$d" "$s" "$l" "$e" "$k"; do
	testuser_create "$u" || bail "testuser_create $u failed"
done
sshd_stop
base=$(cat "$SSHD_CONFIG")

# The sandbox root knows the test users as they were made (and root); their homes are not in it.
sandbox_create 1 || bail "sandbox_create failed"
getent passwd "$d" "$s" "$l" "$e" "$k" >>"$SANDBOX/etc/passwd"
getent group "$d" "$s" "$l" "$e" "$k" >>"$SANDBOX/etc/group"
sandbox_config '[Users]' "Exclude=$d $s $l $e $k" '[Diagnose]' Journal=yes NoiseSummarySec=2s

# Then, on the host: a shell that does not exist, a locked account, an expired one.
usermod -s /nonexistent "$s" 2>/dev/null || bail "usermod -s failed"
passwd -l "$l" >/dev/null || bail "passwd -l failed"
usermod -e 1 "$e" || bail "usermod -e failed"

# Keys come from files of the test's own (no user's keys file is read, root's on the host
# neither; no other case gets as far as the keys files): StrictModes would refuse their
# directory, so it is off. Root's login is refused after its key was accepted.
ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/root.key" </dev/null
install -m 0600 "$SSHD_DIR/root.key.pub" "$SSHD_DIR/root.authorized"
# A key of an algorithm sshd will not take, and an RSA key below RequiredRSASize.
ssh-keygen -q -t ecdsa -N '' -f "$SSHD_DIR/ecdsa.key" </dev/null
ssh-keygen -q -t rsa -b 1024 -N '' -f "$SSHD_DIR/rsa1024.key" </dev/null
fp() {
	ssh-keygen -l -E sha256 -f "$1" | cut -d' ' -f2
}

# causes_sshd LEVEL USERS-LINE: sshd_config rewritten with the settings of the cases first
# (sshd keeps a keyword's first value), sshd started again at LEVEL.
causes_sshd() {
	{
		printf '%s\n' "$2" "PermitRootLogin no" "StrictModes no" "RequiredRSASize 2048" \
			"PubkeyAcceptedAlgorithms ssh-ed25519,rsa-sha2-512,rsa-sha2-256" \
			"AuthorizedKeysFile $SSHD_DIR/%u.authorized"
		printf '%s\n' "$base"
	} >"$SSHD_CONFIG"
	syslog_sshd "$1"
}

daemon_start --root "$SANDBOX"
ok "the daemon starts" wait_for 10 journal_wait 0.1 SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=started

sshd_lines() {
	journal_query SYSLOG_IDENTIFIER=sshd _UID=0
}
entries() { # entries USER ADDR: the login-refused entries for USER from ADDR
	journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-refused "SSHMEND_USER=$1" \
		"SSHMEND_REMOTE_ADDR=$2"
}
nentries() {
	entries "$1" "$2" | grep -c '^{'
}

# refused LEVEL N USER KEY CAUSE PRIORITY FP [SSH-OPTION...]: a key login as USER with KEY from
# 127.0.0.N; then exactly one login-refused entry for it, within a second of sshd's line that
# ended the connection, with CAUSE, PRIORITY, the fingerprint FP ("" where sshd logs none) and
# a hint. The entry is in $LAST.
refused() {
	local level=$1 addr=127.0.0.$2 user=$3 key=$4 cause=$5 prio=$6 fp=$7 line end t0 t1
	shift 7
	if login "$user" "$key" -b "$addr" "$@"; then
		ok "$level $cause: sshd refused the login" false
		return 1
	fi
	# shellcheck disable=SC2016 # evaluated by wait_until
	if ! wait_until 5 '[ "$(nentries "$user" "$addr")" -gt 0 ]'; then
		ok "$level $cause: a login-refused entry for $user from $addr" false
		diag "$(sshd_lines | grep -F "$addr " | tail -n 5)"
		return 1
	fi
	line=$(entries "$user" "$addr" | tail -n 1)
	end=$(sshd_lines | grep -E "(Connection closed by|Disconnected from) [a-z ]*$user $addr " |
		tail -n 1)
	t0=$(journal_field "$end" __REALTIME_TIMESTAMP)
	t1=$(journal_field "$line" __REALTIME_TIMESTAMP)
	ok "$level $cause: within 1 s of the connection's end ($((t1 - t0)) us)" \
		test -n "$t0" -a "$((t1 - ${t0:-0}))" -le 1000000
	is "$(journal_field "$line" SSHMEND_CAUSE)" "$cause" "$level $cause: the cause"
	is "$(journal_field "$line" PRIORITY)" "$prio" "$level $cause: priority $prio"
	is "$(journal_field "$line" SSHMEND_FINGERPRINT)" "$fp" "$level $cause: fingerprint '$fp'"
	like "$(journal_field "$line" SSHMEND_HINT)" "." "$level $cause: a hint"
	LAST=$line
	sleep 1
	is "$(nentries "$user" "$addr")" 1 "$level $cause: one entry"
}

# causes LEVEL FIRST-ADDRESS USERS-LINE DETAIL ROOT-FP: the refusals at LEVEL. sshd logs no
# key for a user it does not allow (nor for one whose shell or account it refuses), and none for
# a key it refuses for its algorithm or size, before it looks for it in the keys files; root's
# key only at VERBOSE ("Failed publickey for root ... ED25519 SHA256:...").
causes() {
	local level=$1 n=$2 detail=$4 fp_r=$5
	ok "sshd at LogLevel $level" causes_sshd "$level" "$3"
	refused "$level" "$n" "$d" "$SSHD_DIR/$d.key" user-not-allowed 6 ""
	like "$(journal_field "$LAST" SSHMEND_HINT)" "$detail" "$level: the hint names $detail"
	refused "$level" $((n + 1)) root "$SSHD_DIR/root.key" root-refused 6 "$fp_r"
	like "$(journal_field "$LAST" SSHMEND_HINT)" "PermitRootLogin" \
		"$level: the hint names PermitRootLogin"
	refused "$level" $((n + 2)) "$s" "$SSHD_DIR/$s.key" shell 4 ""
	like "$(journal_field "$LAST" SSHMEND_HINT)" "/nonexistent" "$level: the hint names the shell"
	refused "$level" $((n + 3)) "$l" "$SSHD_DIR/$l.key" account-locked 4 ""
	refused "$level" $((n + 4)) "$e" "$SSHD_DIR/$e.key" account-expired 4 ""
	like "$(journal_field "$LAST" SSHMEND_HINT)" "chage -E -1 $e" \
		"$level: the hint says how to lift the expiry"
	refused "$level" $((n + 5)) "$k" "$SSHD_DIR/ecdsa.key" key-type 6 ""
	like "$(journal_field "$LAST" SSHMEND_HINT)" "ECDSA|ecdsa" "$level: the hint names ECDSA"
	refused "$level" $((n + 6)) "$k" "$SSHD_DIR/rsa1024.key" key-too-small 6 "" \
		-o RequiredRSASize=1024
	like "$(journal_field "$LAST" SSHMEND_HINT)" "RSA" "$level: the hint names RSA"
}
causes VERBOSE 10 "DenyUsers $d" "DenyUsers" "$(fp "$SSHD_DIR/root.key.pub")"
# At INFO every one of these causes is still known: sshd logs each at INFO; only root's key is
# not.
causes INFO 20 "AllowUsers root $s $l $e $k" "AllowUsers" ""

daemon_stop
ok "no sanitizer report" daemon_sanitizer_clean
done_testing
