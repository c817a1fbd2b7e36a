#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The daemon reads sshd's journal. A real sshd logs through syslog (SyslogFacility AUTH,
# /dev/log) into the test's journald; "sshmend daemon" ([Diagnose] Journal=yes, a sandbox root
# that knows the test users) reads it there. A wrong user name, a wrong key and a home sshd's
# StrictModes refuses each give one login-refused entry with the right cause, user, address
# and fingerprint within a second of the connection's end; at LogLevel INFO a wrong key is
# still diagnosed, and the hint says what LogLevel VERBOSE adds. A StrictModes refusal's hint
# says what sshmend last repaired of the chain, or refused to. An attempt whose lines journald
# took only after sshd's process had gone (entries without _COMM) is diagnosed all the same;
# lines under sshd's name in other words are ignored. A reload with Journal=no stops the
# reader, Journal=yes starts it where it stopped. Stopped and started again, the daemon
# diagnoses the attempt made while it was down once, and none of the others again.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/lib/sshd.sh"
. "$top_srcdir/tests/diagnose-lib.sh"

diagnose_begin "$@"

a=smdga$$
a=${a:0:16}
b=smdgb$$
b=${b:0:16}
c=smdgc$$
c=${c:0:16}
nosuch=smdgx$$

# The fixture's sshd makes the host keys, config and users; the sshd of the test logs to syslog.
sshd_start "SyslogFacility AUTH" || bail "sshd_start failed"
testuser_create "$a" || bail "testuser_create $a failed"
testuser_create "$b" || bail "testuser_create $b failed"
testuser_create "$c" || bail "testuser_create $c failed"
sshd_stop

syslog_sshd VERBOSE || bail "sshd did not start with syslog"

# The sandbox root knows the test users (their homes are not in it: never checked).
sandbox_create 1 || bail "sandbox_create failed"
getent passwd "$a" "$b" "$c" >>"$SANDBOX/etc/passwd"
getent group "$a" "$b" "$c" >>"$SANDBOX/etc/group"
# $c's home is in the sandbox too, the same directory (a bind mount in the test's own mount
# namespace): the daemon looks after it as sshd sees it.
home_c=$(getent passwd "$c" | cut -d: -f6)
if [ "${JOURNAL_PRIVATE:-0}" = 1 ]; then
	mkdir -p "$SANDBOX$home_c"
	mount --bind "$home_c" "$SANDBOX$home_c" || bail "cannot bind $home_c into the sandbox"
	add_cleanup "umount '$SANDBOX$home_c'"
fi
cfg=$SANDBOX/etc/sshmend/sshmend.conf
mkdir -p "$SANDBOX/etc/sshmend"
printf '[Users]\nExclude=%s %s\n[Diagnose]\nJournal=yes\nNoiseSummarySec=4s\n' "$a" "$b" >"$cfg"
chmod 0644 "$cfg"

UP_US=0
daemon_start --root "$SANDBOX"
ok "the daemon starts" wait_for 10 journal_wait 0.1 SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=started

# sshd_lines: what sshd logged (by its identifier: journald leaves _COMM out of the entries
# of a process gone by the time it takes their line, as sshd's pre-auth process often is).
sshd_lines() {
	journal_query SYSLOG_IDENTIFIER=sshd _UID=0
}

# refused USER CAUSE [ADDR]: one more login-refused entry for USER, with CAUSE and ADDR
# (127.0.0.1), within a second of sshd's line that ended the connection; or, for a connection
# that ended while the daemon was down ($DOWN=1), before the daemon's started entry (what it
# missed is read before it says it runs). The entry is in $LAST.
entries() {
	journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-refused "SSHMEND_USER=$1"
}
nentries() {
	entries "$1" | grep -c '^{'
}
refused() {
	local user=$1 cause=$2 addr=${3:-127.0.0.1} n0 line end t0 t1
	n0=${SEEN[$user]:-0}
	# shellcheck disable=SC2016 # evaluated by wait_until
	if ! wait_until 5 '[ "$(nentries "$user")" -gt "$n0" ]'; then
		ok "$user: a login-refused entry" false
		diag "$(sshd_lines | grep "$user" | tail -n 3)"
		return 1
	fi
	SEEN[$user]=$((n0 + 1))
	line=$(entries "$user" | tail -n 1)
	end=$(sshd_lines | grep -E "(Connection closed by|Disconnected from) [a-z ]*$user " | tail -n 1)
	t0=$(journal_field "$end" __REALTIME_TIMESTAMP)
	[ "$t0" -ge "$UP_US" ] || t0=$UP_US
	t1=$(journal_field "$line" __REALTIME_TIMESTAMP)
	if [ "${DOWN:-0}" = 2 ]; then
		: # read when the reader was started again: no bound
	elif [ "${DOWN:-0}" = 1 ]; then
		# shellcheck disable=SC2016 # evaluated by wait_until
		wait_until 10 '[ "$(daemon_count SSHMEND_EVENT=started)" -gt 0 ]'
		t0=$(journal_field "$(daemon_journal SSHMEND_EVENT=started | tail -n 1)" \
			__REALTIME_TIMESTAMP)
		ok "$user: diagnosed as the daemon starts, before its started entry" \
			test "$t1" -le "$t0"
	else
		ok "$user: diagnosed within 1 s of the connection's end ($((t1 - t0)) us)" \
			test "$((t1 - t0))" -le 1000000
	fi
	is "$(journal_field "$line" SSHMEND_CAUSE)" "$cause" "$user: cause $cause"
	is "$(journal_field "$line" SSHMEND_REMOTE_ADDR)" "$addr" "$user: the client's address"
	LAST=$line
}
declare -A SEEN

# An unknown name from an address that logged in before has an entry of its own.
ok "a key login that works is no refusal" login "$a" "$SSHD_DIR/$a.key"
login "$nosuch" "$SSHD_DIR/$a.key"
refused "$nosuch" unknown-user

login "$a" "$SSHD_DIR/$b.key"
refused "$a" key-not-authorized
fp_b=$(ssh-keygen -l -E sha256 -f "$SSHD_DIR/$b.key.pub" | cut -d' ' -f2)
is "$(journal_field "$LAST" SSHMEND_FINGERPRINT)" "$fp_b" "LogLevel VERBOSE: the key offered"
is "$(journal_field "$LAST" PRIORITY)" 5 "a wrong key is notice"

home_b=$(getent passwd "$b" | cut -d: -f6)
chmod 0777 "$home_b"
login "$b" "$SSHD_DIR/$b.key"
chmod 0755 "$home_b"
refused "$b" strict-modes
like "$(journal_field "$LAST" SSHMEND_HINT)" "bad ownership or modes for directory $home_b" \
	"the hint quotes sshd"
like "$(journal_field "$LAST" SSHMEND_HINT)" "$b is not one of sshmend's users" \
	"... and that sshmend does not look after $b"
is "$(journal_field "$LAST" PRIORITY)" 4 "strict modes is a warning"

# StrictModes refuses $c, whose chain the daemon looks after: the hint and MESSAGE say what it
# repaired last, and when; or that it refused to repair, and why.
if [ "${JOURNAL_PRIVATE:-0}" = 1 ]; then
	n0=$(daemon_count SSHMEND_EVENT=drift-repaired "SSHMEND_USER=$c")
	# (~/.ssh: the home is the bind mount's root, whose events reach no watch of the daemon's.)
	ssh_c=$home_c/.ssh
	chmod 0777 "$ssh_c"
	ok "the daemon repairs $c's ~/.ssh" daemon_wait_count 10 "$n0" \
		SSHMEND_EVENT=drift-repaired "SSHMEND_USER=$c"
	mode_c=$(stat -c %a "$ssh_c")
	# Broken again while the daemon does not run: sshd refuses before any repair.
	kill -STOP "$DAEMON_PID"
	chmod 0777 "$ssh_c"
	login "$c" "$SSHD_DIR/$c.key"
	chmod "$mode_c" "$ssh_c"
	kill -CONT "$DAEMON_PID"
	refused "$c" strict-modes
	like "$(journal_field "$LAST" SSHMEND_HINT)" \
		"sshmend repaired $ssh_c: mode 0777 -> 0$mode_c at [0-9-]+ [0-9:]+" \
		"the hint says what sshmend repaired, and when"
	like "$(journal_field "$LAST" MESSAGE)" "sshmend repaired $ssh_c" "... so does MESSAGE"
	# A keys file another user owns in a directory the user can write: sshmend refuses.
	n0=$(daemon_count SSHMEND_EVENT=repair-refused "SSHMEND_USER=$c")
	chown "$a" "$home_c/.ssh/authorized_keys"
	chmod 0644 "$home_c/.ssh/authorized_keys"
	ok "the daemon refuses to repair $c's keys file" daemon_wait_count 10 "$n0" \
		SSHMEND_EVENT=repair-refused "SSHMEND_USER=$c"
	login "$c" "$SSHD_DIR/$c.key" -b 127.0.0.79
	refused "$c" strict-modes 127.0.0.79
	like "$(journal_field "$LAST" SSHMEND_HINT)" \
		"sshmend refused to repair $home_c/.ssh/authorized_keys: owned by someone else" \
		"the hint says sshmend refused to repair, and why"
	chown "$c" "$home_c/.ssh/authorized_keys"
	chmod 0600 "$home_c/.ssh/authorized_keys"
fi

# LogLevel INFO: the wrong key without its fingerprint, and the hint says so.
syslog_sshd INFO || skip_all "sshd did not start again"
login "$b" "$SSHD_DIR/$a.key"
refused "$b" key-not-authorized
like "$(journal_field "$LAST" SSHMEND_HINT)" "LogLevel VERBOSE" "INFO: the hint names VERBOSE"

# journald behind: it takes sshd's lines only after sshd's pre-auth process has gone, so their
# entries have no _COMM; the refusal is diagnosed all the same (private journald only). From
# another address: the same name, address and cause are told once an hour.
if [ "${JOURNAL_PRIVATE:-0}" = 1 ]; then
	kill -STOP "$JOURNALD_PID"
	login "$b" "$SSHD_DIR/$a.key" -b 127.0.0.78
	# shellcheck disable=SC2016 # evaluated by wait_until
	wait_until 5 '[ -z "$(pgrep -P "$SYSLOG_SSHD_PID")" ]'
	kill -CONT "$JOURNALD_PID"
	refused "$b" key-not-authorized 127.0.0.78
	end=$(sshd_lines | grep -E "(Connection closed by|Disconnected from) [a-z ]*$b " | tail -n 1)
	# shellcheck disable=SC2016 # evaluated by eval
	ok "... from an entry of sshd without _COMM" eval '! journal_field "$end" _COMM >/dev/null'
fi

# Internet noise: unknown names with random keys from 20 other loopback addresses are counted
# in one login-noise entry, none has its own; a valid user's refusal amid them has its own.
ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/random.key" </dev/null
noise0=$(journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-noise | grep -c '^{')
pids=()
for ((i = 0; i < 60; i++)); do
	login "scan$$x$i" "$SSHD_DIR/random.key" -b "127.0.0.$((2 + i % 20))" &
	pids+=($!)
	if [ "$i" = 30 ]; then
		login "$a" "$SSHD_DIR/random.key" -b 127.0.0.77
	fi
	# Fewer at once than sshd's MaxStartups, which drops connections unlogged.
	if [ $((i % 5)) = 4 ]; then
		wait "${pids[@]}"
		pids=()
	fi
done
refused "$a" key-not-authorized 127.0.0.77
# noise_count: the attempts the login-noise entries since the burst began count.
noise_count() {
	local n=0 c
	for c in $(journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-noise |
		tail -n +"$((noise0 + 1))" | while read -r l; do journal_field "$l" SSHMEND_COUNT; done); do
		n=$((n + c))
	done
	echo "$n"
}
# sshd may drop a connection before it logs anything (MaxStartups): count what it logged.
logged=$(sshd_lines | grep -c "Invalid user scan$$x")
ok "sshd logged nearly all of the 60 ($logged)" test "$logged" -ge 50
# shellcheck disable=SC2016 # evaluated by wait_until
ok "login-noise entries count each attempt sshd logged" wait_until 12 \
	'[ "$(noise_count)" -ge "$logged" ]'
is "$(noise_count)" "$logged" "... no more"
noise=$(journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-noise | tail -n 1)
like "$(journal_field "$noise" MESSAGE)" "unknown-user [0-9]+; top addresses: 127\.0\.0\.[0-9]+ [0-9]+" \
	"by cause, with the top addresses"
is "$(journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-refused | grep -c "scan$$x")" 0 \
	"no attempt of the burst has an entry of its own"

# Journal content under sshd's name that is not sshd's wording: ignored, without harm.
all_refused() {
	journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-refused | grep -c '^{'
}
n_all=$(all_refused)
logger -t sshd "garbage: Connection closed by"
logger -t sshd "Invalid user"
logger -t sshd "Failed publickey for  from  port x ssh2: ED25519"
head -c 300 /dev/urandom | tr -d '\n\0' | logger -t sshd
head -c 300 /dev/urandom | tr -d '\0' | logger -t sshd
# shellcheck disable=SC2016 # evaluated by wait_until
ok "sshd's name with other words: logged" wait_until 5 \
	'[ "$(sshd_lines | grep -c "garbage: Connection closed by")" -gt 0 ]'
sleep 1
is "$(all_refused)" "$n_all" "... and no login-refused entry for them"
ok "... the daemon still runs" daemon_alive

# [Diagnose] on reload: Journal=no stops the reader, nothing is diagnosed; Journal=yes starts
# it again, from where it stopped: what was refused meanwhile is diagnosed, once.
diagnose_conf() {
	printf '[Users]\nExclude=%s %s\n[Diagnose]\nJournal=%s\nNoiseSummarySec=4s\n' "$a" "$b" "$1" \
		>"$cfg.new" && chmod 0644 "$cfg.new" && mv "$cfg.new" "$cfg"
	local n0
	n0=$(daemon_count SSHMEND_EVENT=reloaded)
	kill -HUP "$DAEMON_PID"
	wait_for 10 _daemon_count_above "$n0" SSHMEND_EVENT=reloaded
}
ok "reload with Journal=no" diagnose_conf no
n_a=$(nentries "$a")
login "$a" "$SSHD_DIR/$b.key" -b 127.0.0.80
sleep 2
is "$(nentries "$a")" "$n_a" "Journal=no: the reader stopped"
ok "reload with Journal=yes" diagnose_conf yes
DOWN=2 refused "$a" key-not-authorized 127.0.0.80
sleep 1
is "$(nentries "$a")" "${SEEN[$a]}" "Journal=yes again: what was refused meanwhile, once"

# What the daemon did last to $c's chain outlives the reloads: the refusal to repair its keys
# file is still named.
if [ "${JOURNAL_PRIVATE:-0}" = 1 ]; then
	kill -STOP "$DAEMON_PID"
	chmod 0777 "$ssh_c"
	login "$c" "$SSHD_DIR/$c.key" -b 127.0.0.81
	chmod "$mode_c" "$ssh_c"
	kill -CONT "$DAEMON_PID"
	refused "$c" strict-modes 127.0.0.81
	like "$(journal_field "$LAST" SSHMEND_HINT)" \
		"sshmend refused to repair $home_c/.ssh/authorized_keys: owned by someone else" \
		"after a reload, the hint still says what sshmend refused to repair"
fi

# A restart: the attempt made while the daemon was down is diagnosed once, nothing else again.
before_x=$(nentries "$nosuch")
daemon_stop
ok "the daemon stopped" test "$DAEMON_STATUS" = 0
login "$a" "$SSHD_DIR/$b.key"
UP_US=${EPOCHREALTIME/[.,]/}
daemon_start --root "$SANDBOX"
DOWN=1 refused "$a" key-not-authorized
sleep 1
is "$(nentries "$a")" "${SEEN[$a]}" "... once"
is "$(nentries "$nosuch")" "$before_x" "nothing diagnosed twice"
daemon_stop
ok "no sanitizer report" daemon_sanitizer_clean
done_testing
