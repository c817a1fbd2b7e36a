#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SELinux labels with [Policy] SELinux=yes and the reference policy's file contexts in the root
# (an image bake for an enforcing system): the kernel here stores the labels but enforces none.
# A wrong type on ~/.ssh and on authorized_keys is a `label` finding (current_label,
# expected_label, sshd_rejects: the root's config enforces) that check leaves alone and fix
# restores as restorecon does (the type alone; user and level stay). A keys file replaced by a
# drop-in sync, and a .ssh sshmend makes, carry ssh_home_t at once. A symlink's own label and
# its target's are never touched (SECURITY.md, scenario 1).
# shellcheck disable=SC2317 # functions run through ok
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
. "$top_srcdir/tests/selinux-lib.sh"
threat_init "$@"
selinux_require

sandbox_create 4 || exit 1
selinux_policy_into "$SANDBOX" || exit 1
threat_config sshd
printf '[Policy]\nSELinux=yes\n' >>"$SANDBOX/etc/sshmend/sshmend.conf"
H=$SANDBOX/home

# ---- A root nobody labelled: every element gets the policy's label.
sm check --json
ak1=/home/user1/.ssh/authorized_keys
expect_finding user1 "$ak1" label would-fix "an unlabelled keys file is a label finding"
is "$(json_field "$(json_finding user1 "$ak1")" current_label)" null "... with no current label"
like "$(json_field "$(json_finding user1 "$ak1")" expected_label)" ':ssh_home_t:' \
	"... and the policy's ssh_home_t expected"
is "$(label_of "$H/user1/.ssh/authorized_keys")" "" "check changed nothing"
sm fix --json
is "$SM_RC" 0 "fix exits 0"
for p in / /home /home/user1 /home/user1/.ssh "$ak1"; do
	t=$(type_of "$SANDBOX$p")
	ok "fix labelled $p ($t)" test -n "$t"
done
is "$(type_of "$H/user1/.ssh")" ssh_home_t "~/.ssh is ssh_home_t"
is "$(type_of "$H/user1")" user_home_dir_t "the home is user_home_dir_t"
is "$(type_of "$SANDBOX/root/.ssh/authorized_keys")" ssh_home_t "root's keys file is ssh_home_t"
sm check --json
expect_nothing_under user1 / "a second check finds nothing for user1"

# ---- Wrong types, as a copy from elsewhere or a move from /tmp leaves them.
label_put "$H/user1/.ssh" unconfined_u:object_r:user_home_t:s0
label_put "$H/user1/.ssh/authorized_keys" staff_u:object_r:admin_home_t:s0:c1
label_put "$H/user2/.ssh/authorized_keys" unconfined_u:object_r:user_tmp_t:s0
sm check --json
expect_finding user1 /home/user1/.ssh label would-fix "~/.ssh of type user_home_t: found"
expect_finding user1 "$ak1" label would-fix "authorized_keys of type admin_home_t: found"
f=$(json_finding user1 "$ak1")
is "$(json_field "$f" current_label)" staff_u:object_r:admin_home_t:s0:c1 "... current_label"
is "$(json_field "$f" expected_label)" staff_u:object_r:ssh_home_t:s0:c1 \
	"... expected_label: the type alone changes, user and level stay"
is "$(json_field "$f" sshd_rejects)" true "... sshd_rejects: the root's policy enforces"
is "$(json_user_field user1 sshd_accepts)" false "user1: sshd would refuse"
is "$(json_field "$(json_finding user1 /home/user1/.ssh)" sshd_rejects)" true \
	"~/.ssh of type user_home_t: sshd may not search it"
expect_finding user2 /home/user2/.ssh/authorized_keys label would-fix "user_tmp_t: found"
is "$(type_of "$H/user1/.ssh/authorized_keys")" admin_home_t "check changed nothing"

# why refuses a keys file sshd may not read, and names its label: sshd logs no line of its own
# for an SELinux denial (before 9.1), so there is no sshd_message.
mkdir -p "$SANDBOX/bin" && cp -L /bin/sh "$SANDBOX/bin/bash"
sm why user2 --json
is "$(json_field "$SM_OUT" accepts)" false "why: user2's keys file is refused"
is "$(json_field "$SM_OUT" cause)" keys-unreadable "... cause keys-unreadable"
like "$SM_OUT" '"ok":false,"detail":"/home/user2/\.ssh/authorized_keys: labelled unconfined_u:object_r:user_tmp_t:s0, the policy gives [^"]*:ssh_home_t:' \
	"... the step names the keys file, its label and the policy's"
is "$(json_field "$SM_OUT" sshd_message)" null "... no sshd line"
like "$(json_field "$SM_OUT" hint)" 'sshmend fix user2 .or restorecon -v /home/user2/\.ssh/authorized_keys' \
	"... the hint: sshmend fix or restorecon"

ino=$(stat -c %i "$H/user1/.ssh/authorized_keys")
sm fix --json
expect_finding user1 "$ak1" label fixed "fix restores the keys file's label"
is "$(label_of "$H/user1/.ssh/authorized_keys")" staff_u:object_r:ssh_home_t:s0:c1 \
	"authorized_keys is ssh_home_t again, its user and level kept"
is "$(stat -c %i "$H/user1/.ssh/authorized_keys")" "$ino" "... on the same inode"
is "$(type_of "$H/user1/.ssh")" ssh_home_t "~/.ssh is ssh_home_t again"
is "$(type_of "$H/user2/.ssh/authorized_keys")" ssh_home_t "user2's keys file too"
sm why user2 --json
ok "why: after fix, user2's keys file is read (cause $(json_field "$SM_OUT" cause))" \
	test "$(json_field "$SM_OUT" cause)" != keys-unreadable
is "$(grep -c labelled <<<"$SM_OUT")" 0 "... no label named"
u1=$(uid_of user1)
expect_stat home/user1/.ssh/authorized_keys "$u1 $u1 0600 f" "owner and mode untouched"

# ---- A keys file replaced by a drop-in sync, a .ssh made by sshmend.
install -d -m 0755 -o 0 -g 0 "$SANDBOX/etc/sshmend/keys.d" \
	"$SANDBOX/etc/sshmend/keys.d/user3" "$SANDBOX/etc/sshmend/keys.d/user4"
printf '%s\n' "$SANDBOX_PUBKEY" >"$SANDBOX/etc/sshmend/keys.d/user3/admin.pub"
printf '%s\n' "$SANDBOX_PUBKEY" >"$SANDBOX/etc/sshmend/keys.d/user4/admin.pub"
chmod 0644 "$SANDBOX"/etc/sshmend/keys.d/user?/admin.pub
rm -rf "$H/user4/.ssh"
ino=$(stat -c %i "$H/user3/.ssh/authorized_keys")
sm fix --json
is "$SM_RC" 0 "fix with the drop-in keys exits 0"
ok "user3's keys file was replaced by the sync" \
	test "$(stat -c %i "$H/user3/.ssh/authorized_keys")" != "$ino"
is "$(type_of "$H/user3/.ssh/authorized_keys")" ssh_home_t "the replaced keys file carries ssh_home_t"
ok "user4's .ssh was made by sshmend" test -d "$H/user4/.ssh"
is "$(type_of "$H/user4/.ssh")" ssh_home_t "the .ssh sshmend made carries ssh_home_t"
is "$(type_of "$H/user4/.ssh/authorized_keys")" ssh_home_t "and the keys file it wrote in it"
sm check --json
expect_nothing_under user3 / "no finding left for user3"
expect_nothing_under user4 / "no finding left for user4"

# ---- A symlink: neither its own label nor its target's.
secret=$SANDBOX/etc/secret
echo secret >"$secret"
chmod 0600 "$secret"
label_put "$secret" system_u:object_r:user_tmp_t:s0
rm -f "$H/user2/.ssh/authorized_keys"
ln -s /etc/secret "$H/user2/.ssh/authorized_keys"
label_put "$H/user2/.ssh/authorized_keys" unconfined_u:object_r:user_tmp_t:s0
sm fix --json
expect_finding user2 /home/user2/.ssh/authorized_keys symlink refused "the symlink is refused"
is "$(label_of "$H/user2/.ssh/authorized_keys")" unconfined_u:object_r:user_tmp_t:s0 \
	"the symlink's own label is untouched"
is "$(label_of "$secret")" system_u:object_r:user_tmp_t:s0 "its target's label is untouched"
expect_nothing_under user2 /etc "nothing judged behind the symlink"

done_testing
