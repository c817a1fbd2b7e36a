#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves that sshd_settings_refuse_user() refuses exactly the logins a real sshd refuses for
# AllowUsers, DenyUsers, AllowGroups and DenyGroups, in the very sentence sshd logs.
#
# A real host user (with a supplementary group) and a real sshd on a loopback port. For each
# configuration of a table (plain names, user@address and user@host patterns, negations, groups,
# a Match block in an included file), ask tests/sshdeval-dump -r what it decides for the login
# from 127.0.0.1, try a real key login, and assert that the login fails exactly when we refuse
# it, and that sshd's log holds our sentence.
# shellcheck disable=SC2317 # functions run through add_cleanup
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sshd.sh"

require_root
require_prog ssh ssh-keygen useradd usermod userdel groupadd groupdel
DUMP=$top_builddir/tests/sshdeval-dump
[ -x "$DUMP" ] || skip_all "tests/sshdeval-dump not built"
[ -x /usr/sbin/sshd ] || skip_all "/usr/sbin/sshd not found"

U=sdr$$  # the user under test
G=sdr$$g # its supplementary group
sshd_start || skip_all "sshd does not start"
testuser_create "$U" || skip_all "cannot create user $U"
groupadd "$G" || skip_all "cannot create group $G"
add_cleanup "groupdel '$G' 2>/dev/null"
usermod -a -G "$G" "$U" || skip_all "cannot add $U to $G"
ok "a login with no AllowUsers or DenyUsers works" sshd_login "$U"

# A Match block must end with its file: it stands in one of its own, included.
MATCH=$SSHD_DIR/match.conf

# check DESCRIPTION CONFIG_LINE...: the login as sshd decides it, against our decision
check() {
	local desc=$1 ours got logged=no
	shift
	sshd_restart "$@" || {
		ok "$desc: sshd starts" false
		return
	}
	ours=$("$DUMP" -r -f "$SSHD_CONFIG" \
		-C "user=$U,host=127.0.0.1,addr=127.0.0.1,laddr=127.0.0.1,lport=$SSHD_PORT" | tail -n 1)
	sshd_mark
	sshd_login "$U" 2>/dev/null && logged=yes
	if [ "$ours" = allowed ]; then
		is "$logged" yes "$desc: allowed, and sshd lets $U in"
		return
	fi
	# sshd logs the refusal from the connection's process: give it a moment.
	wait_until 5 'sshd_log_since_mark | grep -q "not allowed because"'
	# sshd ends the lines it writes to a file (-E) with "\r\n".
	got=$(sshd_log_since_mark | tr -d '\r' | grep -o "User $U from .* not allowed because.*" |
		head -n 1)
	is "$logged/refused: $got" "no/$ours" "$desc: refused in sshd's words"
}

check "DenyUsers names the user" "DenyUsers root $U"
check "AllowUsers names others" "AllowUsers root nobody"
check "AllowUsers names the user from elsewhere" "AllowUsers $U@10.0.0.0/8"
check "AllowUsers names the user from here" "AllowUsers nobody $U@127.0.0.0/8,::1"
check "AllowUsers on two lines adds up" "AllowUsers nobody" "AllowUsers ${U:0:3}*"
check "AllowUsers by a host name, without UseDNS" "AllowUsers $U@localhost"
check "DenyUsers with a negated address" "DenyUsers *@*,!127.0.0.1"
check "DenyUsers with a wildcard address" "DenyUsers $U@127.0.0.*"
check "DenyGroups names a supplementary group" "DenyGroups nogroup $G"
check "AllowGroups names other groups" "AllowGroups root"
check "AllowGroups by a pattern" "AllowGroups ${G:0:4}*"
check "DenyUsers wins over AllowUsers" "AllowUsers $U" "DenyUsers $U"
check "AllowUsers wins over AllowGroups" "AllowUsers root" "AllowGroups $G"
printf 'Match Address 127.0.0.0/8\n\tDenyUsers %s\n' "$U" >"$MATCH"
check "DenyUsers in a Match block that applies" "Include $MATCH"
printf 'Match Address 10.0.0.0/8\n\tDenyUsers %s\n' "$U" >"$MATCH"
check "DenyUsers in a Match block that does not apply" "Include $MATCH"
printf 'Match Group %s\n\tAllowUsers nobody\n' "$G" >"$MATCH"
check "AllowUsers in a Match Group block" "AllowUsers $U" "Include $MATCH"
done_testing
