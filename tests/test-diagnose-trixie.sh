#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The daemon reads OpenSSH 10's journal: inside a booted Debian 13 ("trixie") container
# (tests/lib/container.sh), sshmend is installed as a package installs it (the binary, its
# unit, its catalog) and started by systemd as on a live system, where [Diagnose] Journal= is
# on by default. The container's sshd 10 logs through sshd-session and sshd-auth into the
# container's own journal; a wrong user name, a wrong key (the hint names the user whose key
# it is) and a home its StrictModes refuses each give one login-refused entry with the right
# cause, user, address, fingerprint and priority. Package builds leave it out
# (PACKAGING_TESTS).
# shellcheck disable=SC2317 # functions run through ok and wait_for
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SSHMEND:=$top_builddir/sshmend}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/container.sh"
. "$top_srcdir/tests/lib/journald.sh"

SUITE=${SSHMEND_TEST_CONTAINER:-trixie}
container_require "$SUITE"
[ -x "$SSHMEND" ] || skip_all "sshmend not built ($SSHMEND)"
unit=$top_builddir/systemd/sshmend.service
[ -f "$unit" ] || skip_all "systemd/sshmend.service not built ($unit)"

ok "container_start $SUITE" container_start "$SUITE" || done_testing
# OpenSSH 10 defers (PerSourcePenalties) the next connections of an address whose login failed.
[ "$SUITE" = trixie ] && container_sshd_config "PerSourcePenalties no"
diag "sshd in $CONTAINER_NAME: $(container_run /usr/sbin/sshd -V 2>&1)"

a=smdta
b=smdtb
c=smdtc
nosuch=smdtx
add_users() { container_add_user "$a" && container_add_user "$b" && container_add_user "$c"; }
ok "container_add_user $a $b $c" add_users
home_c=$(container_run getent passwd "$c" | cut -d: -f6)

# build_dir NAME: the build's make variable NAME (prefix, sbindir, ...), expanded.
# shellcheck disable=SC2034 # prefix and exec_prefix are used by the evals
build_dir() {
	local prefix exec_prefix v
	prefix=$(sed -n 's/^prefix = //p' "$top_builddir/Makefile")
	exec_prefix=$(sed -n 's/^exec_prefix = //p' "$top_builddir/Makefile")
	exec_prefix=$(eval "echo \"$exec_prefix\"")
	v=$(sed -n "s/^$1 = //p" "$top_builddir/Makefile")
	eval "echo \"$v\""
}
sbindir=$(build_dir sbindir)
statedir=$(build_dir localstatedir)/lib/sshmend
catalogdir=$(build_dir catalogdir)
if [ -z "$sbindir" ] || [ -z "$catalogdir" ]; then
	bail "no paths in $top_builddir/Makefile"
fi

# Installed where this build's paths say, as its package would install it; $c is excluded, so
# that the home made world-writable below stays so until sshd has refused it (the daemon would
# repair it at once otherwise).
conf=$CONTAINER_WORK/sshmend.conf
printf '[Users]\nExclude=%s\n' "$c" >"$conf"
chmod 0644 "$conf"
# What a build for tests needs on top of the unit: a state directory outside /var (the unit's
# ProtectSystem=full makes /usr read-only), and no LeakSanitizer in a build with sanitizers
# (the unit's seccomp filter refuses the ptrace it needs at exit; the others stay on).
{
	printf '[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n'
	[ "$statedir" = /var/lib/sshmend ] || printf 'ReadWritePaths=%s\n' "$statedir"
} >"$CONTAINER_WORK/test.conf"
install_sshmend() {
	container_run install -d -m 0755 "$sbindir" /etc/sshmend "$catalogdir" \
		/etc/systemd/system/sshmend.service.d &&
		container_run install -d -m 0700 "$statedir" &&
		container_copy_in "$SSHMEND" "$sbindir/sshmend" &&
		container_copy_in "$conf" /etc/sshmend/sshmend.conf &&
		container_copy_in "$unit" /etc/systemd/system/sshmend.service &&
		container_copy_in "$CONTAINER_WORK/test.conf" /etc/systemd/system/sshmend.service.d/test.conf &&
		container_copy_in "$top_srcdir/systemd/sshmend.catalog" "$catalogdir/sshmend.catalog" &&
		container_run journalctl --update-catalog &&
		container_run systemctl daemon-reload
}
ok "sshmend, its unit and its catalog installed" install_sshmend || done_testing
container_mark
if ! ok "systemctl start sshmend.service" container_run systemctl start sshmend.service; then
	diag "$(container_run journalctl -q --no-pager -b -u sshmend.service -n 30 -o cat)"
fi
is "$(container_run systemctl is-active sshmend.service)" active "sshmend.service is active"

# The daemon's entries since the mark, as journalctl -o json lines.
sshmend_entries() {
	container_run journalctl -q --no-pager -o json --after-cursor="$_CONTAINER_CURSOR" \
		SYSLOG_IDENTIFIER=sshmend "$@"
}
n_entries() { sshmend_entries "$@" | grep -c '^{'; }
# shellcheck disable=SC2016 # evaluated by wait_until
ok "the daemon reads sshd's journal (Journal= is on by default)" \
	wait_until 20 '[ "$(n_entries SSHMEND_EVENT=started)" -ge 1 ]'

# refused USER CAUSE: one more login-refused entry for USER (within 5 s), with CAUSE and the
# host's address; the entry is in $LAST.
declare -A SEEN
refused() {
	local user=$1 cause=$2 n0=${SEEN[$1]:-0}
	# shellcheck disable=SC2016 # evaluated by wait_until
	if ! ok "$user: a login-refused entry" \
		wait_until 5 '[ "$(n_entries SSHMEND_EVENT=login-refused "SSHMEND_USER=$user")" -gt "$n0" ]'; then
		diag "$(container_journal -o short-iso | tail -n 8)"
		LAST=
		return 1
	fi
	SEEN[$user]=$((n0 + 1))
	LAST=$(sshmend_entries SSHMEND_EVENT=login-refused "SSHMEND_USER=$user" | tail -n 1)
	is "$(journal_field "$LAST" SSHMEND_CAUSE)" "$cause" "$user: cause $cause"
	is "$(journal_field "$LAST" SSHMEND_REMOTE_ADDR)" 127.0.0.1 "$user: the client's address"
}
fails() { ! "$@"; }
# comms: the processes that logged for ssh.service since the mark.
comms() { container_journal -o json | awk -F'"_COMM":"' 'NF > 1 { split($2, c, "\""); print c[1] }' | sort -u | xargs; }

# A wrong name from an address that logged in before: its own entry, naming who it was.
ok "$a logs in with its key" container_ssh_login "$a"
ok "$nosuch is refused" fails container_ssh_login "$nosuch" "$CONTAINER_KEYS/$a"
refused "$nosuch" unknown-user
like "$(journal_field "$LAST" SSHMEND_HINT)" "$a" "the hint names the user this address logged in as"
is "$(journal_field "$LAST" PRIORITY)" 5 "a wrong name is notice"

# A wrong key: the one of another user; sshd 10 logs its fingerprint at VERBOSE.
ok "$a with $b's key is refused" fails container_ssh_login "$a" "$CONTAINER_KEYS/$b"
refused "$a" key-not-authorized
fp_b=$(ssh-keygen -l -E sha256 -f "$CONTAINER_KEYS/$b.pub" | cut -d' ' -f2)
is "$(journal_field "$LAST" SSHMEND_FINGERPRINT)" "$fp_b" "the key offered"
like "$(journal_field "$LAST" SSHMEND_HINT)" "$b" "the hint names the user the key belongs to"
is "$(journal_field "$LAST" PRIORITY)" 5 "a wrong key is notice"

# StrictModes: a world-writable home.
container_run chmod 0777 "$home_c"
ok "$c with a world-writable home is refused" fails container_ssh_login "$c"
container_run chmod 0755 "$home_c"
refused "$c" strict-modes
like "$(journal_field "$LAST" SSHMEND_HINT)" "bad ownership or modes for directory $home_c" \
	"the hint quotes sshd"
is "$(journal_field "$LAST" PRIORITY)" 4 "strict modes is a warning"

if [ "$SUITE" = trixie ]; then
	# sshd-auth's lines reach the journal through sshd-session, which logs them.
	like "$(comms)" "sshd-session" "these lines came from sshd-session ($(comms))"
fi
sleep 1
is "$(n_entries SSHMEND_EVENT=login-refused)" 3 "three refusals, three entries"
is "$(container_run systemctl is-active sshmend.service)" active "sshmend.service is still active"
ok "no sanitizer report" fails eval 'container_run journalctl -q --no-pager -b -u sshmend.service -o cat |
	grep -E "Sanitizer|runtime error"'
done_testing
