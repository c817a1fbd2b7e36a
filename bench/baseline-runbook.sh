#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The lockout runbook as published for cloud instances, run over a root (a sandbox or /):
#   chown root:root /home; chmod 755 /home
#   per user: chown -R USER:GROUP ~; chmod 700 ~ ~/.ssh; chmod 600 ~/.ssh/authorized_keys
# The recursive chown of the home is the runbook's own line for a home chowned away. Owners are
# numeric, from ROOT/etc/passwd, since a sandbox's users are not the host's.
#
# Usage: bench/baseline-runbook.sh [-g] ROOT [USER...]
#   USER...  only these users (default: every user with a home under /home)
#   -g       guarded: look first (one stat per user) and change only what differs. Run from an
#            inotify trigger (incron), the plain runbook's own chmod and chown raise the events
#            that start it again, forever.
set -u

guard=
if [ "${1:-}" = -g ]; then
	guard=1
	shift
fi
root=${1:?usage: baseline-runbook.sh [-g] ROOT [USER...]}
shift

# set_home_parent: chown root:root /home; chmod 755 /home
set_home_parent() {
	local mode=x owner=x
	[ -z "$guard" ] || read -r mode owner < <(stat -c '%a %u:%g' "$root/home")
	[ "$owner" = 0:0 ] || chown root:root "$root/home"
	[ "$mode" = 755 ] || chmod 755 "$root/home"
}

# set_user HOME UID GID: the runbook's three lines for one user
set_user() {
	local h=$1 own=$2:$3 mh=x oh=x ms=x os=x mk=x ok=x
	if [ -n "$guard" ]; then
		{
			read -r mh oh
			read -r ms os
			read -r mk ok
		} < <(stat -c '%a %u:%g' "$h" "$h/.ssh" "$h/.ssh/authorized_keys" 2>/dev/null)
	fi
	[ "$oh $os $ok" = "$own $own $own" ] || chown -R "$own" "$h"
	[ "$mh $ms" = "700 700" ] || chmod 700 "$h" "$h/.ssh"
	[ "$mk" = 600 ] || chmod 600 "$h/.ssh/authorized_keys"
}

# users: the passwd lines of the users asked for, or all of them
users() {
	if [ $# -eq 0 ]; then
		cat "$root/etc/passwd"
	else
		awk -F: 'BEGIN { for (i = 1; i < ARGC; i++) want[ARGV[i]] = 1; ARGC = 1 }
			$1 in want' "$@" <"$root/etc/passwd"
	fi
}

set_home_parent
while IFS=: read -r _ _ uid gid _ home _; do
	case $home in
	/home/?*) ;;
	*) continue ;;
	esac
	[ -d "$root$home" ] || continue
	set_user "$root$home" "$uid" "$gid"
done < <(users "$@")
exit 0
