#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 5 (CVE-2018-6954): while sshmend repairs, the user swaps ~/.ssh with a
# symlink to the sandbox's etc in a tight loop (renameat2(RENAME_EXCHANGE), as the user, see
# tests/exchange-loop.c), and sets .ssh and authorized_keys back to 0777/0666 after every swap so
# that every run has something to repair. sshmend fix runs many times; the sandbox's etc/ never
# changes owner or mode (under Mode=strict a followed repair would give etc to the user), no run
# hangs or reports anything under /etc, and both sides of the race were seen: runs that met the
# symlink (refused) and runs that met the directory (repaired).
# shellcheck disable=SC2317 # functions run through threat_mode
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"

EXCHANGE_LOOP=$top_builddir/tests/exchange-loop
[ -x "$EXCHANGE_LOOP" ] || skip_all "tests/exchange-loop not built"
RUNS=${THREAT_RACE_RUNS:-200}
RACE_SECONDS=${THREAT_RACE_SECONDS:-25}

setup() {
	sandbox_create 2 || exit 1
	local s=$SANDBOX
	# Bait behind the symlink: a group-writable etc and a keys file of an unknown uid, which a
	# followed repair would change (0755 / given to user1).
	chmod 0775 "$s/etc"
	echo "not a key" >"$s/etc/authorized_keys"
	chown 30000:30000 "$s/etc/authorized_keys"
	chmod 0666 "$s/etc/authorized_keys"
	ln -s ../../etc "$s/home/user1/swap"
	chown -h 20001:20001 "$s/home/user1/swap"
	chmod 0777 "$s/home/user1/.ssh"
	chmod 0666 "$s/home/user1/.ssh/authorized_keys"
}

RACER=
stop_racer() {
	[ -n "$RACER" ] || return 0
	kill -TERM "$RACER" 2>/dev/null
	wait "$RACER" 2>/dev/null
	local rc=$?
	RACER=
	return "$rc"
}

for mode in sshd strict; do
	threat_mode "$mode" setup
	if [ "$mode" = sshd ]; then
		ssh_mode=0755 keys_mode=0644
	else
		ssh_mode=0700 keys_mode=0600
	fi
	repaired=(home/user1/.ssh home/user1/.ssh/authorized_keys)
	before=$(threat_state "${repaired[@]}")
	etc_before=$(sandbox_snapshot etc)

	out=$TEST_TMP/racer.out
	: >"$out"
	# A loaded machine may take seconds to schedule the racer once it is told to stop.
	timeout -k 30 $((RACE_SECONDS + 30)) "$EXCHANGE_LOOP" -C "$SANDBOX/home/user1" \
		-t "$RACE_SECONDS" -c 0777:.ssh -c 0666:.ssh/authorized_keys 20001 20001 .ssh swap \
		>"$out" 2>&1 &
	RACER=$!
	add_cleanup stop_racer # runs before the sandbox is removed
	ok "$mode: the racer runs as user1" wait_for 10 grep -qx ready "$out"

	ssh_re='\{"path":"/home/user1/\.ssh","problem":"([a-z-]+)"[^}]*"action":"([a-z-]+)"'
	hung=0 badrc=0 saw_link=0 saw_fixed=0 under_etc=0 failed=0 etc_changed=0 n=0
	deadline=$((SECONDS + RACE_SECONDS - 5))
	while [ "$n" -lt "$RUNS" ] && [ "$SECONDS" -lt "$deadline" ]; do
		n=$((n + 1))
		sm fix --json user1
		case $SM_RC in
		0 | 1) ;;
		124 | 137) hung=$((hung + 1)) ;;
		*) badrc=$((badrc + 1)) ;;
		esac
		# Only user1 was asked for; plain pattern matching keeps the loop fast.
		if [[ $SM_OUT =~ $ssh_re ]]; then
			case ${BASH_REMATCH[1]}:${BASH_REMATCH[2]} in
			symlink:refused) saw_link=$((saw_link + 1)) ;;
			*:fixed) saw_fixed=$((saw_fixed + 1)) ;;
			esac
		fi
		if [[ $SM_OUT == *'{"path":"/etc"'* || $SM_OUT == *'{"path":"/etc/'* ]]; then
			[ "$under_etc" -gt 0 ] || diag "run $n reported under /etc: $SM_OUT"
			under_etc=$((under_etc + 1))
		fi
		if [[ $SM_OUT == *'"action":"failed"'* ]]; then
			[ "$failed" -gt 0 ] || diag "run $n failed something: $SM_OUT"
			failed=$((failed + 1))
		fi
		if [ $((n % 20)) = 0 ] && [ "$(sandbox_snapshot etc)" != "$etc_before" ]; then
			etc_changed=$((etc_changed + 1))
		fi
	done
	diag "$mode: $n runs: $saw_link met the symlink, $saw_fixed repaired .ssh"

	racer_rc=0
	stop_racer || racer_rc=$?
	is "$racer_rc" 0 "$mode: the racer swapped an even number of times and stopped"
	diag "racer: $(tr '\n' ' ' <"$out")"
	ok "$mode: the racer made exchanges" grep -Eq '^exchanges [1-9][0-9]* ' "$out"

	is "$hung" 0 "$mode: no run hung"
	is "$badrc" 0 "$mode: every run exited 0 or 1"
	is "$under_etc" 0 "$mode: no run reported anything under /etc"
	is "$failed" 0 "$mode: no run failed a repair"
	is "$etc_changed" 0 "$mode: etc/ never changed while the race ran"
	ok "$mode: some runs met the symlink and refused it" test "$saw_link" -gt 0
	ok "$mode: some runs met the directory and repaired it" test "$saw_fixed" -gt 0
	is "$(sandbox_snapshot etc)" "$etc_before" "$mode: etc/ has its owners and modes"
	expect_stat etc "0 0 0775 d" "$mode: etc itself is still root 0775"
	expect_stat etc/authorized_keys "30000 30000 0666 f" "$mode: the bait keeps owner and mode"
	expect_stat home/user1/swap "20001 20001 0777 l" "$mode: the symlink is back in its place"

	# The race is over: one more run repairs what the user left behind.
	sm fix --json user1
	is "$SM_RC" 0 "$mode: after the race, fix leaves user1 clean"
	expect_stat home/user1/.ssh "20001 20001 $ssh_mode d" "$mode: .ssh is $ssh_mode"
	expect_stat home/user1/.ssh/authorized_keys "20001 20001 $keys_mode f" \
		"$mode: authorized_keys is $keys_mode"
	same_state "$before" "$(threat_state "${repaired[@]}")" \
		"$mode: nothing outside user1's .ssh changed (etc, root, user2)"
	sandbox_destroy
done

done_testing
