#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Internet noise at scale: 2,000 real key logins as random unknown users, each with one of 50
# random keys, from 50 other loopback addresses (ssh -b 127.0.0.N), BURST_CONCURRENCY at a
# time, against a real sshd logging through syslog into the test's journald, read by
# "sshmend daemon" ([Diagnose] Journal=yes, NoiseSummarySec short). None of them gets an entry
# of its own; the login-noise summaries count every attempt sshd logged, at most one summary
# per NoiseSummarySec window; a valid user's refused login in the middle of the burst still
# gets its own login-refused entry. BURST_ATTEMPTS (default 2000) changes the count.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/lib/sshd.sh"

journald_setup "$@"
require_root
require_prog ssh ssh-keygen useradd usermod userdel getent mount umount ss
[ -x /usr/sbin/sshd ] || skip_all "/usr/sbin/sshd not found"
require_sshmend

ATTEMPTS=${BURST_ATTEMPTS:-2000}
CONCURRENCY=${BURST_CONCURRENCY:-20}
ADDRS=50
WINDOW=5 # NoiseSummarySec=, in seconds

# sshd's syslog() writes to /dev/log.
journal_dev_log

a=smdba$$
a=${a:0:16}
# MaxStartups well above the clients at once: past its start, sshd drops new connections
# before it logs anything. OpenSSH 9.8+ would also defer an address's next connections after
# failures (PerSourcePenalties); older versions do not know the keyword.
startups="MaxStartups $((CONCURRENCY * 4))"
sshd_start "SyslogFacility AUTH" "$startups" || bail "sshd_start failed"
testuser_create "$a" || bail "testuser_create $a failed"
sshd_stop
if /usr/sbin/sshd -t -f "$SSHD_CONFIG" -o PerSourcePenalties=no 2>/dev/null; then
	sed -i "1i PerSourcePenalties no" "$SSHD_CONFIG"
fi
# -r: no re-execution for each connection, where sshd still has it (before 9.8): half of its
# cost of a connection.
norexec=()
/usr/sbin/sshd -t -r -f "$SSHD_CONFIG" 2>/dev/null && norexec=(-r)
/usr/sbin/sshd -D "${norexec[@]}" -f "$SSHD_CONFIG" </dev/null >>"$SSHD_DIR/sshd.out" 2>&1 &
add_cleanup "kill $! 2>/dev/null"
wait_for 10 sh -c "ss -ltn 2>/dev/null | grep -q ':$SSHD_PORT '" || bail "sshd did not start with syslog"

sandbox_create 1 || bail "sandbox_create failed"
getent passwd "$a" >>"$SANDBOX/etc/passwd"
getent group "$a" >>"$SANDBOX/etc/group"
mkdir -p "$SANDBOX/etc/sshmend"
printf '[Users]\nExclude=%s\n[Diagnose]\nJournal=yes\nNoiseSummarySec=%ss\n' "$a" "$WINDOW" \
	>"$SANDBOX/etc/sshmend/sshmend.conf"
chmod 0644 "$SANDBOX/etc/sshmend/sshmend.conf"
daemon_start --root "$SANDBOX"
ok "the daemon starts" wait_for 10 journal_wait 0.1 SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=started

test_tmp || bail "test_tmp failed"
for ((i = 0; i < ADDRS; i++)); do
	ssh-keygen -q -t ed25519 -N '' -f "$TEST_TMP/k$i" </dev/null || bail "ssh-keygen failed"
done

# login NAME KEY ADDR: one key login from ADDR, short timeouts; refused or not. The key
# exchange is plain curve25519: the client's default (sntrup761x25519) takes twice its CPU time.
login() {
	ssh -F /dev/null -i "$2" -b "$3" -p "$SSHD_PORT" -o BatchMode=yes -o IdentitiesOnly=yes \
		-o KexAlgorithms=curve25519-sha256 \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 \
		-o ConnectionAttempts=1 -o ServerAliveInterval=2 -o ServerAliveCountMax=3 \
		-o LogLevel=QUIET "$1@127.0.0.1" true </dev/null >/dev/null 2>&1
}

# The burst: unknown names, random to the byte, from 127.0.0.2 to 127.0.0.51, CONCURRENCY at
# once; the valid user's wrong key halfway through, from 127.0.0.77.
tag=b$$x
t0=$SECONDS
running=0
for ((i = 0; i < ATTEMPTS; i++)); do
	n=$((i % ADDRS))
	login "${tag}${i}r$RANDOM" "$TEST_TMP/k$n" "127.0.0.$((2 + n))" &
	if [ "$i" = $((ATTEMPTS / 2)) ]; then
		login "$a" "$TEST_TMP/k0" 127.0.0.77 &
		running=$((running + 1))
	fi
	running=$((running + 1))
	while [ "$running" -ge "$CONCURRENCY" ]; do
		wait -n
		running=$((running - 1))
	done
done
# Not a bare wait: sshd, journald and the daemon are this shell's children too.
for (( ; running > 0; running--)); do
	wait -n
done
took=$((SECONDS - t0))
diag "$ATTEMPTS attempts, $CONCURRENCY at a time, took ${took}s"

n_own() { journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-refused "SSHMEND_USER=$1" | grep -c '^{'; }
# shellcheck disable=SC2016 # evaluated by wait_until
ok "the valid user's refusal amid the burst has its own entry" wait_until 10 '[ "$(n_own "$a")" -ge 1 ]'
own=$(journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-refused "SSHMEND_USER=$a" | tail -n 1)
is "$(journal_field "$own" SSHMEND_CAUSE)" key-not-authorized "... cause key-not-authorized"
is "$(journal_field "$own" SSHMEND_REMOTE_ADDR)" 127.0.0.77 "... from 127.0.0.77"
is "$(n_own "$a")" 1 "... once"

journalctl -q -o cat --no-pager --since "$JOURNAL_SINCE" SYSLOG_IDENTIFIER=sshd >"$TEST_TMP/sshd.txt"
logged=$(grep -c "^Invalid user $tag" "$TEST_TMP/sshd.txt")
diag "sshd logged $logged of the $ATTEMPTS unknown names"
ok "sshd logged nearly all of them" test "$logged" -ge $((ATTEMPTS * 95 / 100))
# The connections whose end sshd did not log with the user's name: all their lines.
unended=$(comm -23 <(grep -o "^Invalid user ${tag}[0-9r]* from [0-9.]* port [0-9]*" "$TEST_TMP/sshd.txt" |
	awk '{ print $3, $5, $7 }' | sort) <(grep -oE "(by|from) invalid user ${tag}[0-9r]+ [0-9.]+ port [0-9]+" \
	"$TEST_TMP/sshd.txt" | awk '{ print $4, $5, $7 }' | sort))
if [ -n "$unended" ]; then
	diag "$(echo "$unended" | wc -l) of them ended otherwise; the first:"
	while read -r _ addr port; do
		diag "$(grep -F "$addr port $port" "$TEST_TMP/sshd.txt")"
	done < <(echo "$unended" | head -n 3)
fi
suppressed=$(journal_query | grep -c 'Suppressed [0-9]* messages' || true)
is "$suppressed" 0 "journald suppressed nothing"

noise() { journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-noise; }
# counted: the attempts the login-noise entries since the test began count.
counted() {
	local n=0 l
	while read -r l; do
		n=$((n + $(journal_field "$l" SSHMEND_COUNT)))
	done < <(noise)
	echo "$n"
}
# shellcheck disable=SC2016 # evaluated by wait_until
ok "the login-noise entries count every attempt sshd logged" \
	wait_until $((WINDOW * 4)) '[ "$(counted)" -ge "$logged" ]'
is "$(counted)" "$logged" "... no more"

# At most one summary a window: consecutive ones at least NoiseSummarySec apart (less 5%).
gaps() {
	local prev=0 t l
	while read -r l; do
		t=$(journal_field "$l" __MONOTONIC_TIMESTAMP)
		[ "$prev" = 0 ] || echo $((t - prev))
		prev=$t
	done < <(noise)
}
n_noise=$(noise | grep -c '^{')
min_gap=$(gaps | sort -n | head -n 1)
diag "$n_noise login-noise entries, the closest $((${min_gap:-0} / 1000)) ms apart"
ok "summaries: at most one per ${WINDOW}s window" test "${min_gap:-$((WINDOW * 1000000))}" -ge $((WINDOW * 950000))
ok "... and no more than the windows the burst lasted" test "$n_noise" -le $(((took + WINDOW * 3) / WINDOW + 1))
last=$(noise | tail -n 1)
like "$(journal_field "$last" MESSAGE)" "unknown-user [0-9]+; top addresses: 127\.0\.0\.[0-9]+ [0-9]+" \
	"by cause, with the top addresses"
is "$(journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-refused | grep -c "$tag")" 0 \
	"no attempt of the burst has an entry of its own"
is "$(journal_query SYSLOG_IDENTIFIER=sshmend PRIORITY=3 | grep -c '^{')" 0 "no internal error"
ok "the daemon is still running" daemon_alive
daemon_stop
ok "the daemon stopped cleanly" test "$DAEMON_STATUS" = 0
ok "no sanitizer report" daemon_sanitizer_clean
done_testing
