#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Time `sshmend why` on the running system of N users (default 10000), without and then with
# "sshmend daemon" running, whose index of keys answers why's "whose keys files hold this key?":
# best of 10 runs of each question (a key every user holds, a key nobody holds, an unknown user),
# and the CPU time of the daemon's start (its full pass and audits), which reads the keys files for
# the index as well.
# why asks the daemon only on the running system (no --root): the script runs in a mount namespace
# of its own in which a sandbox tree of N users is the system's (its passwd, group, login.defs,
# sshd_config and /home bound over the host's; /run and the daemon's state directory on tmpfs),
# and stops before starting the daemon when "sshmend check" would change anything there.
# Usage: bench/why-daemon-scale.sh [N]   (run as root from the build directory, or set SSHMEND)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
SSHMEND=$(realpath "${SSHMEND:-./sshmend}")
if [ -z "${_WHY_BENCH_NS:-}" ]; then
	_WHY_BENCH_NS=1 exec unshare --mount --propagation private -- "${BASH:-bash}" "$0" "$@"
fi
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"
. "$top_srcdir/bench/why-lib.sh"
require_root
require_prog ssh-keygen mount

n=${1:-10000}
KEYS=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-why-bench.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$KEYS'"
ssh-keygen -q -t ed25519 -N '' -f "$KEYS/other" </dev/null >/dev/null
sandbox_create "$n" >/dev/null || bail "sandbox_create failed"
printf '%s\n' "$SANDBOX_PUBKEY" >"$KEYS/user.pub"

# The sandbox as the system, in this namespace only.
state=$(grep -ao -m1 '/[a-z/]*/lib/sshmend' "$SSHMEND" | head -n 1) || bail "no state directory in $SSHMEND"
for f in passwd group login.defs ssh/sshd_config; do
	mount --bind "$SANDBOX/etc/$f" "/etc/$f" || bail "cannot bind /etc/$f"
done
{ mount --bind "$SANDBOX/home" /home && mount -t tmpfs -o mode=0755 tmpfs /run &&
	mkdir -p "$state" && mount -t tmpfs -o mode=0700 tmpfs "$state"; } ||
	bail "cannot mount the sandbox's /home, /run or $state"
out=$("$SSHMEND" check 2>&1) || bail "sshmend check would change this system: $(tail -n 3 <<<"$out")"

# questions WHEN: one table row per question.
questions() {
	printf '| why user1 --key (held by all), %s | %s users | %s |\n' "$1" "$n" \
		"$(best_of why user1 --key "$KEYS/user.pub")"
	printf '| why user1 --key (held by none), %s | %s users | %s |\n' "$1" "$n" \
		"$(best_of why user1 --key "$KEYS/other.pub")"
	printf '| why nosuchuser --key (held by none), %s | %s users | %s |\n' "$1" "$n" \
		"$(best_of why nosuchuser --key "$KEYS/other.pub")"
}
# cpu_ticks PID: the process's CPU time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# start_daemon: "sshmend daemon" in the background (DAEMON its pid), returned once
# its start is done: its full pass and the audits after it, 2 s without CPU time. START_CPU: the
# CPU time that took, in ms.
start_daemon() {
	local prev=-1 now
	"$SSHMEND" daemon </dev/null >"$KEYS/daemon.log" 2>&1 &
	DAEMON=$!
	add_cleanup "kill $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null"
	sleep 2
	while now=$(cpu_ticks "$DAEMON") && [ "$now" != "$prev" ]; do
		prev=$now
		sleep 2
	done
	START_CPU=$((prev * 1000 / $(getconf CLK_TCK)))
}

printf '| --version (the floor) | %s users | %s |\n' "$n" "$(best_of --version)"
questions "no daemon"
start_daemon
printf '| the start of the daemon (full pass, audits), CPU time | %s users | - | %s ms |\n' "$n" "$START_CPU"
printf '| the daemon after its start: RSS %s kB | %s users | load average %s |\n' \
	"$(awk '/^VmRSS/ { print $2 }' "/proc/$DAEMON/status")" "$n" "$(cut -d' ' -f1-3 /proc/loadavg)"
# A build of before the index (SSHMEND set to it) gives the start's cost without it.
test -S /run/sshmend/why.sock || {
	echo "(no socket: a daemon without the index)"
	exit 0
}
questions "daemon running"
