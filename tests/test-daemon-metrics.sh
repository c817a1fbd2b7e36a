#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# [Daemon] MetricsDirectory=: "sshmend daemon" on a sandbox root writes sshmend.prom there, and
# nothing while the setting is off. Set by a reload, the file appears with every metric's HELP
# and TYPE; its values follow a keys file sshd refuses and sshmend does not take back (a
# refused repair), a ~/.ssh it repairs, and a login a real sshd refused, read in the test's
# journald; no temporary file is left beside it.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/lib/sshd.sh"
. "$top_srcdir/tests/diagnose-lib.sh"

diagnose_begin "$@"
sshd_start "SyslogFacility AUTH" || bail "sshd_start failed"
sshd_stop
syslog_sshd VERBOSE || bail "sshd did not start with syslog"

sandbox_create 1 || bail "sandbox_create failed"
mkdir -m 0755 "$SANDBOX/metrics"
prom=$SANDBOX/metrics/sshmend.prom
sandbox_config '[Diagnose]' Journal=yes

# metric NAME: its value in the file ("" when it has none).
metric() {
	awk -v n="$1" '$1 == n { print $2 }' "$prom" 2>/dev/null
}

daemon_start --root "$SANDBOX"
ok "the daemon starts" daemon_wait_count 10 0 SSHMEND_EVENT=started
chmod 0777 "$SANDBOX/home/user1/.ssh"
ok "a repair while metrics are off" daemon_wait_events 10 1 drift-repaired
sleep 1
is "$(find "$SANDBOX" -name '*sshmend.prom*' | wc -l)" 0 "MetricsDirectory= unset: no file is written"

sandbox_config '[Diagnose]' Journal=yes '[Daemon]' MetricsDirectory=/metrics
kill -HUP "$DAEMON_PID"
ok "a reload sets MetricsDirectory=: the file appears" wait_for 15 test -s "$prom"
for m in users users_refused repairs_total repairs_refused_total logins_refused_total keys \
	last_full_scan_seconds; do
	ok "sshmend_$m has its HELP and TYPE" \
		sh -c "grep -q '^# HELP sshmend_$m ' '$prom' && grep -q '^# TYPE sshmend_$m ' '$prom'"
done
is "$(metric sshmend_users)" 2 "sshmend_users 2 (root and user1)"
is "$(metric sshmend_users_refused)" 0 "sshmend_users_refused 0"
is "$(metric sshmend_repairs_refused_total)" 0 "sshmend_repairs_refused_total 0"
repairs0=$(metric sshmend_repairs_total)
ok "sshmend_repairs_total counts the repair before ($repairs0)" test "${repairs0:-0}" -ge 1
# shellcheck disable=SC2016 # evaluated by wait_until
ok "sshmend_keys: root's key and user1's, once audited" \
	wait_until 15 '[ "$(metric "sshmend_keys{status=\"user\"}")" = 2 ]'
like "$(metric sshmend_last_full_scan_seconds)" '^[0-9]+\.[0-9]{6}$' "the last full scan's length"

# A keys file another user owns, in a directory its user can write: sshd refuses it, sshmend
# does not take it.
chown 65534:65534 "$SANDBOX/home/user1/.ssh/authorized_keys"
# shellcheck disable=SC2016 # evaluated by wait_until
ok "a refused repair: sshmend_users_refused 1" wait_until 15 '[ "$(metric sshmend_users_refused)" = 1 ]'
is "$(metric sshmend_repairs_refused_total)" 1 "sshmend_repairs_refused_total 1"
chown "$(uid_of user1):$(uid_of user1)" "$SANDBOX/home/user1/.ssh/authorized_keys"
chmod 0777 "$SANDBOX/home/user1/.ssh"
# shellcheck disable=SC2016 # evaluated by wait_until
ok "a repair: sshmend_repairs_total grows" \
	wait_until 15 '[ "$(metric sshmend_repairs_total)" -gt "$repairs0" ]'
# shellcheck disable=SC2016 # evaluated by wait_until
ok "... and sshmend_users_refused is 0 again" wait_until 15 '[ "$(metric sshmend_users_refused)" = 0 ]'

login ubuntu "$SANDBOX_KEY"
# shellcheck disable=SC2016 # evaluated by wait_until
ok "a refused login: sshmend_logins_refused_total by its cause" \
	wait_until 15 '[ "$(metric "sshmend_logins_refused_total{cause=\"unknown-user\"}")" = 1 ]'
is "$(ls -A "$SANDBOX/metrics")" sshmend.prom "no temporary file is left"
is "$(stat -c '%u %a' "$prom")" "0 644" "root's, 0644"
daemon_stop
ok "the daemon stopped" test "$DAEMON_STATUS" = 0
ok "no sanitizer report" daemon_sanitizer_clean
done_testing
