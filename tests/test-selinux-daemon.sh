#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend daemon with [Policy] SELinux=yes and the reference policy's file contexts in a sandbox
# root: the pass at start labels the chains; then a label changed under the running daemon (as
# chcon or a copy leaves it) is seen (IN_ATTRIB) and restored within two seconds, and logged as
# drift-repaired with SSHMEND_OLD_LABEL, SSHMEND_NEW_LABEL and SSHMEND_PROBLEM=label, the owner
# and mode untouched. A symlink's label changed meanwhile stays as it is.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/selinux-lib.sh"

journald_setup "$@"
require_root
selinux_require
require_sshmend notify-recv

sandbox_create 2 || bail "sandbox_create failed"
notify_start || bail "notify_start failed"
S=$SANDBOX
U1=20001
AK=/home/user1/.ssh/authorized_keys
selinux_policy_into "$S" || bail "no policy for the sandbox"
install -d -m 0755 -o 0 -g 0 "$S/etc/sshmend"
printf '[Policy]\nSELinux=yes\n' >"$S/etc/sshmend/sshmend.conf"
chmod 0644 "$S/etc/sshmend/sshmend.conf"

type_is() {
	[ "$(type_of "$S$1")" = "$2" ]
}

# heal PATH LABEL: set LABEL on PATH under the daemon; expect ssh_home_t back within 2 s and
# the entry that says so.
heal() {
	local path=$1 label=$2 n0 e
	local q=(SSHMEND_EVENT=drift-repaired "SSHMEND_PATH=$path" SSHMEND_PROBLEM=label)
	n0=$(daemon_count "${q[@]}")
	label_put "$S$path" "$label"
	ok "$path labelled ${label}: restored to ssh_home_t within 2 s" wait_for 2 type_is "$path" ssh_home_t ||
		diag "$path is now $(label_of "$S$path")"
	if ok "$path: a drift-repaired entry for its label" daemon_wait_count 5 "$n0" "${q[@]}"; then
		e=$(daemon_journal "${q[@]}" | tail -n 1)
		is "$(journal_field "$e" SSHMEND_OLD_LABEL)" "$label" "$path: SSHMEND_OLD_LABEL"
		is "$(journal_field "$e" SSHMEND_NEW_LABEL)" "${label%%:*}:object_r:ssh_home_t:s0" \
			"$path: SSHMEND_NEW_LABEL (the type alone changed)"
	fi
}

daemon_start --root "$S"
ok "the daemon sends READY=1" daemon_wait_ready 30
ok "the pass at start labelled user1's keys file" type_is "$AK" ssh_home_t
ok "... and user2's .ssh" type_is /home/user2/.ssh ssh_home_t
ok "... and the home" type_is /home/user1 user_home_dir_t

heal "$AK" unconfined_u:object_r:user_home_t:s0
heal "$AK" system_u:object_r:user_tmp_t:s0
heal /home/user1/.ssh unconfined_u:object_r:admin_home_t:s0
ok "owner and mode untouched" stat_is "$S$AK" "$U1 $U1 0600"

# A symlink of user2's: refused, its own label never restored.
ln -s authorized_keys "$S/home/user2/.ssh/authorized_keys2"
label_put "$S/home/user2/.ssh/authorized_keys2" unconfined_u:object_r:user_tmp_t:s0
heal /home/user2/.ssh/authorized_keys unconfined_u:object_r:user_home_t:s0
is "$(label_of "$S/home/user2/.ssh/authorized_keys2")" unconfined_u:object_r:user_tmp_t:s0 \
	"the symlink's own label stays as it is"

daemon_expect_stop "the daemon exits 0 on SIGTERM"
done_testing
