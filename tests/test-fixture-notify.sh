#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves tests/notify-recv and tests/lib/notify.sh: what a service sends to NOTIFY_SOCKET is
# recorded one KEY=VALUE per line.
# shellcheck disable=SC2317 # functions run through ok and wait_for
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/notify.sh"

require_prog systemd-notify
[ -x "${top_builddir:-.}/tests/notify-recv" ] || skip_all "tests/notify-recv is not built"

# Negations as commands for ok.
not_running() { ! kill -0 "$1" 2>/dev/null; }
no_line_matching() { ! grep -qE -e "$1" "$NOTIFY_LOG"; }

ok "notify_start" notify_start
ok "NOTIFY_SOCKET is a socket" test -S "$NOTIFY_SOCKET"
ok "NOTIFY_LOG exists" test -f "$NOTIFY_LOG"
ok "notify-recv runs" kill -0 "$NOTIFY_PID"
is "$(notify_count '^READY=1$')" 0 "nothing recorded yet"

status="ready, serving $$"
ok "systemd-notify --ready --status" systemd-notify --ready --status="$status"
ok "READY=1 is recorded" notify_wait 5 '^READY=1$'
ok "STATUS= is recorded, split from READY=1 in the same datagram" notify_wait 5 "^STATUS=$status\$"
is "$(notify_count '^READY=1$')" 1 "notify_count counts READY=1 once"

ok "systemd-notify WATCHDOG=1" systemd-notify WATCHDOG=1
ok "WATCHDOG=1 is recorded" notify_wait 5 '^WATCHDOG=1$'
ok "systemd-notify RELOADING=1" systemd-notify RELOADING=1
ok "RELOADING=1 is recorded" notify_wait 5 '^RELOADING=1$'
ok "systemd-notify WATCHDOG=1 again" systemd-notify WATCHDOG=1
ok "the second WATCHDOG=1 arrives" wait_until 5 '[ "$(notify_count "^WATCHDOG=1\$")" -ge 2 ]'
is "$(notify_count '^WATCHDOG=1$')" 2 "notify_count counts both"
is "$(notify_count '^NOTHING=')" 0 "notify_count prints 0 when nothing matches"
ok "every recorded line is KEY=VALUE" no_line_matching '^([^A-Z_]|[A-Z_][A-Z0-9_]*[^A-Z0-9_=])'

start=$(date +%s%N)
rc=0
notify_wait 0.5 '^STOPPING=1$' || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is "$rc" 1 "notify_wait returns 1 when nothing comes"
ok "after about its timeout ($ms ms)" test "$ms" -ge 450 -a "$ms" -lt 5000

# A datagram with an empty line and several assignments, as sd_notify() may send it. Bash cannot
# send a datagram; perl (or python3) can.
send_raw() {
	if command -v perl >/dev/null 2>&1; then
		perl -MSocket -e 'socket(my $s, AF_UNIX, SOCK_DGRAM, 0) or die "socket: $!";
			defined(send($s, $ARGV[1], 0, pack_sockaddr_un($ARGV[0]))) or die "send: $!"' \
			"$NOTIFY_SOCKET" "$1"
	elif command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(sys.argv[2].encode(), sys.argv[1])' "$NOTIFY_SOCKET" "$1"
	else
		return 77
	fi
}
rc=0
send_raw $'MAINPID=4242\n\nERRNO=5\n' || rc=$?
if [ "$rc" -eq 77 ]; then
	diag "no python3 or perl: raw datagram test not run"
else
	is "$rc" 0 "a raw datagram was sent"
	ok "MAINPID=4242 is recorded" notify_wait 5 '^MAINPID=4242$'
	ok "ERRNO=5 is recorded" notify_wait 5 '^ERRNO=5$'
	ok "empty lines are dropped" no_line_matching '^$'
	is "$(tail -n 2 "$NOTIFY_LOG")" "MAINPID=4242
ERRNO=5" "lines are appended in the order they came"
fi

pid=$NOTIFY_PID
sock=$NOTIFY_SOCKET
ok "notify_stop" notify_stop
ok "notify-recv is gone" not_running "$pid"
ok "it removed its socket" test ! -e "$sock"
ok "NOTIFY_LOG is still readable" grep -q '^READY=1$' "$NOTIFY_LOG"

# Cleanup on exit: a child that fails still stops its receiver and removes its directory.
out=$(bash -c '. "$1/tests/lib/tap.sh"; . "$1/tests/lib/notify.sh"
	notify_start >/dev/null 2>&1 || exit 9
	kill -0 "$NOTIFY_PID" && [ -S "$NOTIFY_SOCKET" ] || exit 9
	echo "$NOTIFY_PID $NOTIFY_SOCKET"
	exit 1' _ "$top_srcdir")
read -r child_pid child_sock <<<"$out"
ok "a child started notify-recv ($child_pid)" test -n "$child_sock"
ok "it is stopped when the child exits" not_running "$child_pid"
ok "its directory is removed" test ! -e "${child_sock%/*}"

done_testing
