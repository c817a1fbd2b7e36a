#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One daemon per root: a second "sshmend daemon" on the same root refuses to start, exit status 3,
# with a message naming the one that runs; daemons on different roots run side by side; a daemon
# started while the old one on its root is still stopping waits for it and starts.
# shellcheck disable=SC2119,SC2317 # daemon_stop takes no arguments here; functions run through ok
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"

journald_setup "$@"
require_root
require_sshmend notify-recv

sandbox_create 1 || bail "sandbox_create failed"
S1=$SANDBOX
sandbox_create 1 || bail "sandbox_create failed"
S2=$SANDBOX
notify_start || bail "notify_start failed"
ERR=$(mktemp)
add_cleanup "rm -f '$ERR'"

daemon_start --root "$S1"
first=$DAEMON_PID
ok "the first daemon on a root starts" daemon_wait_ready 30

rc=0
timeout -k 5 30 "$SSHMEND" --root "$S1" daemon </dev/null >/dev/null 2>"$ERR" || rc=$?
is "$rc" 3 "a second daemon on the same root exits 3"
ok "it says another daemon runs there, and which" \
	grep -q "another sshmend daemon, pid $first, runs on $S1" "$ERR"
ok "it does not disturb the first" daemon_alive
diag "$(cat "$ERR")"

# Another root, at the same time: its own lock.
second_ready=$(notify_count '^READY=1$')
"$SSHMEND" --root "$S2" daemon </dev/null >>"$ERR" 2>&1 &
other=$!
add_cleanup "_daemon_kill $other"
more_ready() { [ "$(notify_count '^READY=1$')" -gt "$second_ready" ]; }
ok "a daemon on another root starts beside it" wait_for 30 more_ready
ok "and keeps running" kill -0 "$other"
_daemon_kill "$other"

# A restart: the new daemon comes while the old one is still stopping.
kill -TERM "$first"
daemon_start --root "$S1"
ok "a daemon started as the old one stops waits for it and starts" daemon_wait_ready 30
wait "$first" 2>/dev/null
ok "the new one runs" daemon_alive
daemon_expect_stop "it stops with status 0"

done_testing
