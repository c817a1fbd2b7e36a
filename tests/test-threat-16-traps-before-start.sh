#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 16: traps planted before sshmend starts are handled by the same safe path
# as any other. One sandbox holds the traps of scenarios 1-4 and 6 side by side (a keys symlink
# to etc/shadow, .ssh as a symlink to root's .ssh, a hard link to an etc file, another user's
# file moved in, a FIFO, a socket and a device node), every home has drifted, one user has only
# legitimate drift; then a single "sshmend fix" runs over all users, as a start-up scan would.
# Every trap is reported and refused, every drift is repaired, nothing outside the chains changes.
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"
require_prog mkfifo mknod

MKSOCK=$top_builddir/tests/mksock
[ -x "$MKSOCK" ] || skip_all "tests/mksock not built"
THREAT_TIMEOUT=30
N=9

sandbox_create $N || exit 1
h=$SANDBOX/home
printf 'root:!:19000:0:99999:7:::\n' >"$SANDBOX/etc/shadow"
chmod 0640 "$SANDBOX/etc/shadow"
printf 'Welcome\n' >"$SANDBOX/etc/motd"
chmod 0666 "$SANDBOX/etc/motd"
for ((k = 1; k <= N; k++)); do
	chmod 0777 "$h/user$k"
done
# 1: authorized_keys -> etc/shadow
ln -sf ../../../etc/shadow "$h/user1/.ssh/authorized_keys"
# 2: .ssh -> root's .ssh
rm -rf -- "$h/user2/.ssh"
ln -s ../../root/.ssh "$h/user2/.ssh"
# 3: authorized_keys is a hard link to etc/motd
rm -f -- "$h/user3/.ssh/authorized_keys"
ln "$SANDBOX/etc/motd" "$h/user3/.ssh/authorized_keys"
# 4: user5's keys file moved into user4's .ssh
mv "$h/user5/.ssh/authorized_keys" "$h/user4/.ssh/authorized_keys"
chmod 0666 "$h/user4/.ssh/authorized_keys"
# 6: a FIFO as authorized_keys, a socket as .ssh, a device node as authorized_keys
rm -f -- "$h/user6/.ssh/authorized_keys"
mkfifo -m 0666 "$h/user6/.ssh/authorized_keys"
chown 20006:20006 "$h/user6/.ssh/authorized_keys"
rm -rf -- "$h/user7/.ssh"
"$MKSOCK" "$h/user7/.ssh" && chmod 0777 "$h/user7/.ssh" && chown 20007:20007 "$h/user7/.ssh"
rm -f -- "$h/user8/.ssh/authorized_keys"
mknod -m 0666 "$h/user8/.ssh/authorized_keys" c 1 3
chown 20008:20008 "$h/user8/.ssh/authorized_keys"
# user9: legitimate drift only
chmod 0775 "$h/user9"
chmod 0777 "$h/user9/.ssh"
chmod 0666 "$h/user9/.ssh/authorized_keys"

traps=(
	"user1 /home/user1/.ssh/authorized_keys symlink"
	"user2 /home/user2/.ssh symlink"
	"user3 /home/user3/.ssh/authorized_keys hardlink"
	"user4 /home/user4/.ssh/authorized_keys foreign-owner"
	"user6 /home/user6/.ssh/authorized_keys type"
	"user7 /home/user7/.ssh type"
	"user8 /home/user8/.ssh/authorized_keys type"
)
repaired=(home/user9/.ssh home/user9/.ssh/authorized_keys)
for ((k = 1; k <= N; k++)); do
	repaired+=("home/user$k")
done
before=$(threat_state "${repaired[@]}")
watching=1
opens_watch_start "$h/user6/.ssh/authorized_keys" "$h/user7/.ssh" \
	"$h/user8/.ssh/authorized_keys" || {
	watching=0
	diag "cannot watch for opens (inotifywait); that check is left out"
}

sm fix --json
ok "the start-up fix finishes (no hang)" test "$SM_RC" -ne 124 -a "$SM_RC" -ne 137
is "$SM_RC" 1 "fix exits 1: traps were refused"
for entry in "${traps[@]}"; do
	read -r u path problem <<<"$entry"
	expect_finding "$u" "$path" "$problem" refused "$u: $path is $problem, refused"
done
for ((k = 1; k <= N; k++)); do
	u=user$k
	expect_finding "$u" "/home/$u" mode fixed "$u: the drifted home is fixed"
	expect_stat "home/$u" "$(uid_of $u) $(uid_of $u) 0755 d" "$u: home is 0755"
	expect_nothing_under "$u" /etc "$u: nothing reported under /etc"
	expect_nothing_under "$u" /root "$u: nothing reported under /root"
done
if [ "$watching" = 1 ]; then
	opens_watch_stop
	is "$OPENED" "" "the FIFO, the socket and the device node were never opened"
fi
expect_finding user9 /home/user9/.ssh mode fixed "user9: legitimate drift: .ssh is fixed"
expect_finding user9 /home/user9/.ssh/authorized_keys mode fixed \
	"user9: legitimate drift: keys file is fixed"
expect_stat home/user9/.ssh "20009 20009 0755 d" "user9: .ssh is 0755"
expect_stat home/user9/.ssh/authorized_keys "20009 20009 0644 f" "user9: keys file is 0644"
expect_stat etc/shadow "0 0 0640 f" "etc/shadow is unchanged"
expect_stat etc/motd "0 0 0666 f" "etc/motd (hard-linked) is unchanged"
expect_stat home/user4/.ssh/authorized_keys "20005 20005 0666 f" \
	"user5's file in user4's .ssh is unchanged"
expect_stat home/user6/.ssh/authorized_keys "20006 20006 0666 p" "the FIFO is unchanged"
expect_stat home/user7/.ssh "20007 20007 0777 s" "the socket is unchanged"
expect_stat home/user8/.ssh/authorized_keys "20008 20008 0666 c" "the device node is unchanged"
same_state "$before" "$(threat_state "${repaired[@]}")" \
	"nothing outside the repaired chains changed (traps, etc, root)"

# Afterwards only the refused traps remain, and a second run changes nothing more.
after=$(threat_state)
sm check --json
is "$SM_RC" 1 "a check afterwards still reports the traps"
left=$(for ((k = 1; k <= N; k++)); do json_findings "user$k"; done | grep -vc '"action":"refused"')
is "$left" 0 "a check afterwards finds nothing but the refused traps"
sm fix --json
is "$SM_RC" 1 "a second fix exits 1 again"
same_state "$after" "$(threat_state)" "a second fix changes nothing"

done_testing
