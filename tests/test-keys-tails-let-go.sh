#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# "sshmend --root SANDBOX daemon" follows the authorized_keys it replaced (a descriptor and an
# inotify watch each) for as long as a line may still land in it, and not longer: once the file
# has no name left, nobody holds it open and all it holds is carried over, the descriptor and the
# watch go, within a few seconds, not when the bound on followed files makes room.
#
# - A rewrite nobody writes through: the daemon's descriptors and watches come back to what they
#   were before it, and the daemon sleeps (no timer left to wake it).
# - The user holds authorized_keys open for appending across a rewrite: the replaced file is
#   followed as long as the user holds it, then the line written through the descriptor is
#   carried, and the descriptors and watches come back once the user closes it.
# - The same with a last line written without its newline: carried as a whole line.
# - A line the keys file cannot take yet (it has a second name) stays in the replaced file,
#   offered again after a growing wait, and is carried once the second name is gone.
# - Without CAP_LEASE, nothing tells that nobody holds the replaced file: it is followed until
#   room is made, as before, and nothing wakes the daemon for it.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog mkfifo

# The replaced file is let go of TAILS_SETTLE_USEC (2 s) after the rewrite at the soonest.
BACK_S=10

sandbox_create 1 || bail "sandbox_create failed"
ak=$(keys_ak user1)
keys_gen_each permanent toggled
permanent=$(keys_pub permanent)
toggled=$(keys_pub toggled)
keys_dropin_put user1 10-permanent.pub "$permanent"

keys_daemon_start --root "$SANDBOX"
ok "the permanent key is synced" wait_until 10 '[ "$(keys_block "$ak")" = "$permanent" ]'

# The daemon's open descriptors, and its inotify watches, as "FDS WATCHES".
held() {
	local fds watches
	fds=$(find "/proc/$DAEMON_PID/fd" -mindepth 1 2>/dev/null | wc -l)
	watches=$(cat "/proc/$DAEMON_PID/fdinfo/"* 2>/dev/null | grep -c '^inotify wd:')
	echo "$fds $watches"
}
# How many replaced files the daemon holds open (files with no name left).
followed() {
	find "/proc/$DAEMON_PID/fd" -mindepth 1 -lname '* (deleted)' 2>/dev/null | wc -l
}
# The daemon's context switches over 3 s (each time it slept and was woken).
switches_in_3s() {
	local a
	a=$(awk '/ctxt_switches:/ { n += $2 } END { print n }' "/proc/$DAEMON_PID/status")
	sleep 3
	awk -v a="$a" '/ctxt_switches:/ { n += $2 } END { print n - a }' "/proc/$DAEMON_PID/status"
}
# hold_open FIFO: user1 opens authorized_keys for appending, and once FIFO (made here) is
# written to, writes what it reads from it through that descriptor and closes it; $holder is
# its pid.
hold_open() {
	mkfifo -m 0644 "$1" || bail "mkfifo failed"
	# shellcheck disable=SC2016 # expanded by the user's shell
	setpriv --reuid="$(uid_of user1)" --regid="$(uid_of user1)" --clear-groups -- \
		sh -c 'exec 5>>"$1" && cat <"$2" >&5' holder "$ak" "$1" </dev/null &
	holder=$!
	add_cleanup "kill -KILL $holder 2>/dev/null; wait $holder 2>/dev/null"
	ok "the user holds authorized_keys open for appending" wait_for 5 test -e "/proc/$holder/fd/5"
}

# The daemon at rest.
ok "what the first sync replaced is let go of" wait_until "$BACK_S" '[ "$(followed)" = 0 ]'
before=$(held)
diag "before the rewrites: descriptors and watches $before"

# at_rest: nothing followed, descriptors and watches as before.
at_rest() {
	[ "$(followed)" = 0 ] && [ "$(held)" = "$before" ]
}

ok "the daemon rewrites authorized_keys" keys_rewrite user1 20-toggled.pub "$toggled"
ok "the file it replaced is followed" wait_until 5 '[ "$(followed)" = 1 ]'
ok "then let go of: descriptors and watches as before ($before)" wait_for "$BACK_S" at_rest
# Nothing followed, nothing timed: the daemon sleeps.
sleep 0.5
is "$(switches_in_3s)" 0 "then idle: no context switch in 3 s"

# --- Held open across a rewrite -----------------------------------------------------------
line="# written through a descriptor opened before the rewrite"
hold_open "$TEST_TMP/go"
ok "the daemon rewrites authorized_keys while the user holds it" \
	keys_rewrite user1 20-toggled.pub "$toggled"
sleep 3
is "$(followed)" 1 "the file the user holds is followed still, past the settling time"
is "$(held)" "$(echo "$before" | awk '{ print $1 + 1, $2 + 1 }')" "with one descriptor and one watch"
printf '%s\n' "$line" >"$TEST_TMP/go"
wait "$holder"
ok "the line written through that descriptor is carried" wait_for 5 grep -q -x -F -e "$line" "$ak"
is "$(grep -c -x -F -e "$line" "$ak")" 1 "it is there once"
ok "once the user closed it, let go of: descriptors and watches as before ($before)" \
	wait_for "$BACK_S" at_rest

# --- A last line without its newline ------------------------------------------------------
partial="# written without a newline"
hold_open "$TEST_TMP/go-partial"
ok "the daemon rewrites authorized_keys while the user holds it" \
	keys_rewrite user1 20-toggled.pub "$toggled"
printf '%s' "$partial" >"$TEST_TMP/go-partial"
wait "$holder"
ok "the last line, without its newline, is carried as a whole line" \
	wait_for "$BACK_S" grep -q -x -F -e "$partial" "$ak"
is "$(grep -c -F -e "$partial" "$ak")" 1 "it is there once"
ok "let go of: descriptors and watches as before ($before)" wait_for "$BACK_S" at_rest
is "$(tail -c 1 "$ak" | od -An -c | tr -d ' ')" '\n' "authorized_keys ends with a newline"

# --- Lines the keys file cannot take yet -------------------------------------------------
# The keys file is given a second name while a line waits in the replaced one: the key sync
# writes no keys file with two names, so the line cannot be carried. It stays in the replaced
# file, offered again after a wait that doubles (no loop), and lands once the name is gone.
# No approved key is left to write (nothing to refuse, so no finding says why): the line
# must be kept all the same.
kept="# written while the keys file had two names"
ok "the toggled key is taken back" keys_rewrite user1 20-toggled.pub "$toggled"
ok "let go of" wait_for "$BACK_S" at_rest
hold_open "$TEST_TMP/go-kept"
ok "the daemon rewrites authorized_keys, taking the last approved key out, while the user holds it" \
	keys_rewrite user1 10-permanent.pub "$permanent"
ok "the user gives authorized_keys a second name" run_as user1 ln "$ak" "$ak.second"
printf '%s\n' "$kept" >"$TEST_TMP/go-kept"
wait "$holder"
sleep 2
ok "the line is not written while the keys file has two names" \
	sh -c '! grep -q -F -e "$1" "$2"' _ "$kept" "$ak"
is "$(followed)" 1 "the replaced file that holds it is followed still"
ok "the daemon does not spin on it: at most 6 context switches in 3 s" \
	test "$(switches_in_3s)" -le 6
ok "the user removes the second name" run_as user1 rm -f "$ak.second"
ok "the line is carried once the keys file can take it" \
	wait_for 20 grep -q -x -F -e "$kept" "$ak"
is "$(grep -c -x -F -e "$kept" "$ak")" 1 "it is there once"
ok "let go of: descriptors and watches as before ($before)" wait_for "$BACK_S" at_rest
ok "the permanent key is approved again" keys_rewrite user1 10-permanent.pub "$permanent"

ok "the daemon is still running" daemon_alive
daemon_expect_stop "the daemon exits 0 on SIGTERM"

# --- Without CAP_LEASE (a container that grants none) --------------------------------------
# No lease tells that nobody holds a file of user1's any more: the replaced file is kept, as
# when room is made, and no timer wakes the daemon for it.
printf '#!/bin/sh\nexec setpriv --bounding-set -lease -- "%s" "$@"\n' "$SSHMEND" >"$TEST_TMP/no-lease"
chmod 0755 "$TEST_TMP/no-lease"
SSHMEND=$TEST_TMP/no-lease keys_daemon_start --root "$SANDBOX"
# CAP_LEASE is capability 28.
ok "the daemon runs without CAP_LEASE" \
	test $((16#$(awk '/^CapEff:/ { print $2 }' "/proc/$DAEMON_PID/status") >> 28 & 1)) = 0
ok "the daemon rewrites authorized_keys" keys_rewrite user1 20-toggled.pub "$toggled"
ok "the file it replaced is followed" wait_until 5 '[ "$(followed)" = 1 ]'
sleep 3
is "$(switches_in_3s)" 0 "idle: no context switch in 3 s"
is "$(followed)" 1 "the replaced file is followed still"
daemon_expect_stop "the daemon exits 0 on SIGTERM"
done_testing
