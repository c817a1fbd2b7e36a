#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The key audit at its limits, on a sandbox root of three users:
#   touch     user1 holds N keys (default 60000, recorded by the audit); user1 touches the file
#             and user2 at once makes ~/.ssh 0777: how long until user2's .ssh is healed
#   idle      the same heal with nothing else to do: this measure's floor
#   full      user1 holds N keys recorded, then M more (default 36000) are appended at once
#             (some 8 MB of keys file): user2's heal right after
#   exclusive "sshmend fix" of user3, Exclusive= with an approved key and N keys of its own to
#             move to the quarantine
# The keys have no comment, so that N+M of them stay under the 8 MiB sshmend reads.
# Usage: bench/audit-limits.sh [N [M]]   (as root from the build directory; python3 makes keys)
# shellcheck disable=SC2016 # sh -c scripts: expanded by the user's shell
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
SSHMEND=${SSHMEND:-./sshmend}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"

n=${1:-60000}
m=${2:-36000}
work=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-audit.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$work'"
sandbox_create 3 >/dev/null || exit 1
install -d -m 0755 "$SANDBOX/etc/sshmend"
as() { local u=$((SANDBOX_UID_BASE + ${1#user})); shift; setpriv --reuid=$u --regid=$u --clear-groups -- "$@"; }
keys() {
	python3 - "$1" <<'EOF'
import base64, os, struct, sys
name = b"ssh-ed25519"
for i in range(int(sys.argv[1])):
    blob = struct.pack(">I", len(name)) + name + struct.pack(">I", 32) + os.urandom(32)
    print("ssh-ed25519 " + base64.b64encode(blob).decode())
EOF
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
ak1=$SANDBOX/home/user1/.ssh/authorized_keys
ssh2=$SANDBOX/home/user2/.ssh
state() { find "$SANDBOX" -path '*/lib/sshmend/keys.user1' -print -quit; }
lines() { local f; f=$(state); [ -n "$f" ] && wc -l <"$f" || echo 0; }
has_lines() { [ "$(lines)" -ge "$1" ]; }
# heal: ms from user2's chmod to its repair, after running "$@" as the trigger
heal() {
	local t0
	"$@"
	t0=$(now_ms)
	as user2 chmod 0777 "$ssh2"
	while [ "$(stat -c %a "$ssh2")" = 777 ]; do sleep 0.01; done
	echo $(($(now_ms) - t0))
}

printf '[Users]\nExclude=root user3\n' >"$SANDBOX/etc/sshmend/sshmend.conf"
"$SSHMEND" --root "$SANDBOX" daemon 2>"$work/daemon.err" &
pid=$!
add_cleanup "kill $pid 2>/dev/null"
wait_for 30 grep -q started "$work/daemon.err" || exit 1
sleep 1
echo "idle: user2 healed in $(heal true) ms"
keys "$n" | as user1 sh -c 'cat >>"$1"' sh "$ak1"
wait_for 300 has_lines "$n" || { echo "the audit of $n keys did not end in 300 s"; exit 1; }
sleep 1
echo "touch: $n keys; user2 healed in $(heal as user1 touch "$ak1") ms"
keys "$m" >"$work/more"
chmod 0755 "$work" && chmod 0644 "$work/more"
sleep 1
echo "full: $n + $m keys ($(stat -c %s "$ak1") bytes before); user2 healed in $(heal as user1 sh -c 'cat "$1" >>"$2"' sh "$work/more" "$ak1") ms"
wait_for 300 has_lines $((n + m)) || echo "the audit of $((n + m)) keys did not end in 300 s"
kill "$pid"
wait "$pid" 2>/dev/null

printf '[Keys]\nExclusiveUsers=user3\n' >"$SANDBOX/etc/sshmend/sshmend.conf"
install -d -m 0755 "$SANDBOX/etc/sshmend/keys.d" "$SANDBOX/etc/sshmend/keys.d/user3"
keys 1 >"$SANDBOX/etc/sshmend/keys.d/user3/ops.pub"
keys "$n" | as user3 sh -c 'cat >>"$1"' sh "$SANDBOX/home/user3/.ssh/authorized_keys"
t0=$(now_ms)
"$SSHMEND" --root "$SANDBOX" fix user3 >/dev/null
echo "exclusive: fix moved $n keys to the quarantine in $(($(now_ms) - t0)) ms"
