# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# What the tests of the daemon reading sshd's journal share: a real sshd logging through syslog
# into the test's journald, and key logins to it. Source it after tests/lib/sshd.sh.
#
# diagnose_begin ARGS...
#                    journald_setup ARGS (the test's journald), then skip_all without root, the
#                    programs the tests run, sshd or sshmend; then journal_dev_log (/dev/log
#                    reaches the test's journald).
# syslog_sshd LEVEL  (after sshd_start, sshd_stop) sshd on $SSHD_PORT, logging at LEVEL through
#                    /dev/log; stops the one it started before. 0 once it listens.
# login NAME KEY [SSH-OPTION...]
#                    a key login as NAME with KEY to 127.0.0.1; 0 when it was accepted.

diagnose_begin() {
	journald_setup "$@"
	require_root
	require_prog ssh ssh-keygen useradd usermod userdel getent mount umount ss
	[ -x /usr/sbin/sshd ] || skip_all "/usr/sbin/sshd not found"
	require_sshmend
	journal_dev_log
}

syslog_sshd() {
	[ -n "${SYSLOG_SSHD_PID:-}" ] && kill "$SYSLOG_SSHD_PID" 2>/dev/null && wait "$SYSLOG_SSHD_PID"
	sed -i "s/^LogLevel .*/LogLevel $1/" "$SSHD_CONFIG"
	grep -q "^LogLevel $1" "$SSHD_CONFIG" || return 1
	/usr/sbin/sshd -D -f "$SSHD_CONFIG" </dev/null >>"$SSHD_DIR/sshd.out" 2>&1 &
	SYSLOG_SSHD_PID=$!
	add_cleanup "kill $SYSLOG_SSHD_PID 2>/dev/null"
	wait_for 10 sh -c "ss -ltn 2>/dev/null | grep -q ':$SSHD_PORT '"
}

login() {
	local name=$1 key=$2
	shift 2
	ssh -F /dev/null -i "$key" -p "$SSHD_PORT" "$@" -o BatchMode=yes -o IdentitiesOnly=yes \
		-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 \
		-o LogLevel=ERROR "$name@127.0.0.1" true </dev/null >/dev/null 2>&1
}
