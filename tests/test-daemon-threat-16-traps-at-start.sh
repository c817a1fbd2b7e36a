#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# shellcheck disable=SC2016,SC2119,SC2317 # scripts for other shells; functions run through ok
# SECURITY.md, scenario 16, against the running daemon: traps planted before it starts. The
# start-up scan must take the same safe path as every later one:
#
#   user1: ~/.ssh is a symlink to the sandbox's root/.ssh (and the home above it drifted);
#   user2: ~/.ssh/authorized_keys is a symlink to the sandbox's etc/shadow (and ~/.ssh drifted);
#   user3: ~/.ssh/authorized_keys is a hard link to a root-owned 0640 file in etc;
#   user4: ~/.ssh/authorized_keys is a FIFO with no writer;
#   user5: ~/.ssh and the keys file in it belong to user6 (moved in to be taken over), 0777;
#   user7: ~/.ssh is a FIFO;
#   user6: no trap, legitimate drift of the home, ~/.ssh and the keys file.
#
# Expected: the daemon gets ready (no hang on a FIFO); one "repair-refused" entry per trap, with
# its problem; the drift above the traps and user6's drift repaired; nothing else in the sandbox
# (etc, root, the other homes, the link targets, file contents) changed, at start and after
# several more scans (RescanIntervalSec=2), and no refusal logged twice.
#
# Then a trap in the daemon's own tree, the drop-in directory a symlink loop: every walk fails,
# and ~/.ssh removed and made again finds no stale watch (no crash); the trap gone, it is healed.
. "${top_srcdir:-$(dirname "$0")/..}/tests/daemon-threats-lib.sh"
dthreat_init "$@"
require_prog mkfifo sha256sum

RESCAN=2
sandbox_create 7 || bail "sandbox_create failed"
sandbox_config '[Daemon]' "RescanIntervalSec=$RESCAN" FallbackScanIntervalSec=3600 ||
	bail "config failed"
h=$SANDBOX/home

plant() {
	printf 'root:*:19000:0:99999:7:::\n' >"$SANDBOX/etc/shadow" &&
	chmod 0640 "$SANDBOX/etc/shadow" &&
	echo "root only" >"$SANDBOX/etc/hardlink-target" &&
	chmod 0640 "$SANDBOX/etc/hardlink-target" &&

	chmod 0777 "$h/user1" &&
	rm -rf "$h/user1/.ssh" &&
	ln -s ../../root/.ssh "$h/user1/.ssh" &&

	chmod 0777 "$h/user2/.ssh" &&
	rm -f "$h/user2/.ssh/authorized_keys" &&
	ln -s ../../../etc/shadow "$h/user2/.ssh/authorized_keys" &&

	rm -f "$h/user3/.ssh/authorized_keys" &&
	ln "$SANDBOX/etc/hardlink-target" "$h/user3/.ssh/authorized_keys" &&

	rm -f "$h/user4/.ssh/authorized_keys" &&
	mkfifo -m 0666 "$h/user4/.ssh/authorized_keys" &&
	chown 20004:20004 "$h/user4/.ssh/authorized_keys" &&

	chown -R 20006:20006 "$h/user5/.ssh" &&
	chmod 0777 "$h/user5/.ssh" &&

	rm -rf "$h/user7/.ssh" &&
	mkfifo -m 0666 "$h/user7/.ssh" &&
	chown 20007:20007 "$h/user7/.ssh" &&

	chmod 0777 "$h/user6" "$h/user6/.ssh" &&
	chmod 0666 "$h/user6/.ssh/authorized_keys"
}
plant || bail "planting the traps failed"

# What must not change: every path's owner, mode and type but the elements to be repaired, and
# the content of every regular file.
repaired="home/user1 home/user2/.ssh home/user6 home/user6/.ssh home/user6/.ssh/authorized_keys"
state() {
	sandbox_snapshot | awk -v skip="$repaired" '
		BEGIN { n = split(skip, a, " "); for (i = 1; i <= n; i++) s[a[i]] = 1 }
		!($1 in s)'
	(cd "$SANDBOX" && find . -type f -exec sha256sum -- {} + | LC_ALL=C sort -k 2)
}
before=$(state)

t0=$(dthreat_now_ms)
dthreat_start
is "$?" 0 "the daemon gets ready with the traps in place (no hang)"
diag "ready after $(($(dthreat_now_ms) - t0)) ms"
ok "daemon runs" daemon_alive

# refused USER PATH PROBLEM DESC: one repair-refused entry with that problem.
refused() {
	local user=$1 path=$2 problem=$3 desc=$4 lines n e
	daemon_wait_events 5 1 repair-refused "SSHMEND_USER=$user" "SSHMEND_PATH=$path"
	lines=$(daemon_events repair-refused "SSHMEND_USER=$user" "SSHMEND_PATH=$path")
	n=$(printf '%s' "$lines" | grep -c '^{')
	e=$(printf '%s\n' "$lines" | head -n 1)
	is "$n:$(journal_field "$e" SSHMEND_PROBLEM 2>/dev/null)" "1:$problem" \
		"$desc: one repair-refused entry for $path, problem $problem"
}
refused user1 /home/user1/.ssh symlink "symlinked .ssh"
refused user2 /home/user2/.ssh/authorized_keys symlink "keys file symlinked to etc/shadow"
refused user3 /home/user3/.ssh/authorized_keys hardlink "hard-linked keys file"
refused user4 /home/user4/.ssh/authorized_keys type "FIFO as keys file"
refused user5 /home/user5/.ssh foreign-owner "another user's .ssh"
refused user5 /home/user5/.ssh/authorized_keys foreign-owner "another user's keys file in it"
refused user7 /home/user7/.ssh type "FIFO as .ssh"
e=$(daemon_events repair-refused SSHMEND_USER=user1 | head -n 1)
is "$(journal_field "$e" PRIORITY)" 3 "refusals are logged as errors"

expect_stat home/user1 "20001 20001 0755 d" "user1's home above the symlink is repaired"
expect_stat home/user2/.ssh "20002 20002 0755 d" "user2's .ssh above the symlink is repaired"
expect_stat home/user6 "20006 20006 0755 d" "legitimate drift: user6's home is repaired"
expect_stat home/user6/.ssh "20006 20006 0755 d" "user6's .ssh is repaired"
expect_stat home/user6/.ssh/authorized_keys "20006 20006 0644 f" "user6's keys file is repaired"
ok "the repairs are logged" daemon_wait_events 5 3 drift-repaired SSHMEND_USER=user6

# The daemon's own state (the key audit's root-only directory, LOCALSTATEDIR/lib/sshmend inside
# the root, made with its parents) is left out of the comparison.
statedir=$(cd "$SANDBOX" && find . -type d -path '*/lib/sshmend' -printf '%P\n' | head -n 1)
made=
p=$statedir
while [ -n "$p" ]; do
	grep -q "^$p " <<<"$before" || made="$made $p"
	[ "${p%/*}" != "$p" ] || break
	p=${p%/*}
done
if [ -n "$statedir" ]; then
	diag "the daemon's state directory: $statedir"
	expect_stat "$statedir" "0 0 0700 d" "the daemon's state directory is root's, 0700"
fi
without_state() {
	awk -v sd="$statedir" -v made="$made" '
		BEGIN { n = split(made, a, " "); for (i = 1; i <= n; i++) m[a[i]] = 1 }
		{ p = $1 } $1 ~ /^[0-9a-f]+$/ && length($1) == 64 { p = substr($2, 3) }
		sd != "" && (p == sd || index(p, sd "/") == 1) { next }
		p in m { next }
		{ print }'
}
after=$(state | without_state)
is "$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^[<>]')" "" \
	"at start, nothing else in the sandbox changed (etc, root, other homes, link targets, contents)"

# More scans: still nothing changes, nothing is logged again.
sleep $((RESCAN * 3 + 1))
ok "daemon still runs after several scans" daemon_alive
after=$(state | without_state)
is "$(diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep '^[<>]')" "" \
	"after several scans, nothing else changed either"
is "$(daemon_event_count repair-refused)" 7 "each refusal is logged once"
rpaths=$(daemon_events drift-repaired | while read -r l; do journal_field "$l" SSHMEND_PATH; done)
is "$(printf '%s\n' "$rpaths" | LC_ALL=C sort | uniq -d)" "" "no repair is logged twice"
is "$(daemon_event_count repair-failed)" 0 "nothing failed (the traps are refused, not failed)" ||
	diag "$(daemon_events repair-failed | while read -r l; do journal_field "$l" MESSAGE; done)"

daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"

# ---- A trap in the daemon's own tree: the drop-in directory a symlink to itself. Every walk
# fails partway (ELOOP, after it has watched the chain's first elements) and says so. What such a
# walk watched is taken back whole, so that a watched directory going away later (rm -rf ~/.ssh,
# then a new one) finds the watches consistent: no crash. Once the trap is gone, the chain heals.
rm -rf "$SANDBOX/etc/sshmend/keys.d"
ln -s keys.d "$SANDBOX/etc/sshmend/keys.d"
dthreat_start || bail "the daemon did not start with the drop-in directory a loop"
loop_failed() {
	daemon_events internal-error | grep -q 'user6: check failed: Too many levels of symbolic links'
}
ok "with the drop-in directory a symlink loop, each walk fails and says why" wait_for 10 loop_failed
run_as user6 rm -rf "$h/user6/.ssh"
run_as user6 mkdir -m 0777 "$h/user6/.ssh"
sleep 1
ok "after rm -rf ~/.ssh and a new one, the daemon still runs" daemon_alive
rm "$SANDBOX/etc/sshmend/keys.d"
dthreat_wait_stat 10 home/user6/.ssh "20006 20006 0755 d" "once the loop is gone, the new ~/.ssh is healed"
ok "daemon still runs" daemon_alive
daemon_stop
is "$DAEMON_STATUS" 0 "the daemon exits 0 on SIGTERM"
done_testing
