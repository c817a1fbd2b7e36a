#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The inotifywait loop as published: watch /home recursively and chmod/chown whatever changes
# back to the runbook's modes, deciding mode and owner from the path:
#   /home 755 root:root, ~ 700, ~/.ssh 700, ~/.ssh/authorized_keys 600, the user's.
# It looks before it acts (stat), since its own chmod and chown raise events too and would
# otherwise feed themselves forever. Owners are numeric, from ROOT/etc/passwd, since a sandbox's
# users are not the host's. inotifywait says "Watches established." on stderr once it watches.
# Usage: bench/baseline-inotifywait.sh ROOT   (runs until killed)
set -u

root=${1:?usage: baseline-inotifywait.sh ROOT}
declare -A owner=()
while IFS=: read -r name _ uid gid _ _ _; do
	owner[$name]=$uid:$gid
done <"$root/etc/passwd"

inotifywait -m -r -e attrib,create,moved_to --format '%w%f' "$root/home" |
	while read -r path; do
		path=${path%/}
		rel=${path#"$root/home"}
		user=${rel#/}
		user=${user%%/*}
		own=${owner[$user]:-}
		case $rel in
		'') want=755 own=0:0 ;;
		/"$user" | /"$user"/.ssh) want=700 ;;
		/"$user"/.ssh/authorized_keys) want=600 ;;
		*) continue ;;
		esac
		[ -n "$own" ] || continue
		read -r mode cur < <(stat -c '%a %u:%g' -- "$path" 2>/dev/null) || continue
		[ "$mode" = "$want" ] || chmod "$want" "$path"
		[ "$cur" = "$own" ] || chown "$own" "$path"
	done
