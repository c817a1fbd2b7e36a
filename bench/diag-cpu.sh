#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What reading sshd's journal costs the daemon ([Diagnose] Journal=yes), on a private journald
# (tests/lib/journald.sh) with its rate limit off:
#   idle    IDLE seconds in which sshd writes nothing: the daemon's context switches
#           (voluntary_ctxt_switches and nonvoluntary_ctxt_switches of /proc/PID/status) and
#           CPU time (/proc/PID/schedstat, nanoseconds).
#   real    REAL failed logins as unknown users against a real sshd logging through syslog,
#           from 50 loopback addresses, 10 at a time: the daemon's CPU time per sshd journal
#           entry it read.
#   rate    RATE failed connections a minute for DURATION seconds, each a process named sshd
#           (its own pid, as sshd's per-connection processes) writing the three lines sshd 9.x
#           writes for an unknown user at LogLevel VERBOSE to /dev/log: the daemon's share of
#           one core, against the floor, "journalctl -f" reading the same entries (the least a
#           reader of those entries costs on this machine), and the load average.
# Markdown goes to stdout, progress to stderr.
#
# Usage: bench/diag-cpu.sh, as root, from a build directory configured with CFLAGS='-O2 -g'
# (no sanitizers). Environment [defaults]: SSHMEND [./sshmend], IDLE [10], REAL [500],
# RATE [10000], DURATION [60], top_srcdir [the directory above this script].
# shellcheck disable=SC2317 # functions run through wait_for
CMDLINE="bench/diag-cpu.sh"
for v in IDLE REAL RATE DURATION; do
	[ -z "${!v:-}" ] || CMDLINE="$v='${!v}' $CMDLINE"
done
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
SSHMEND=${SSHMEND:-./sshmend}
SSHMEND=$(realpath "$SSHMEND")
export top_srcdir SSHMEND
. "$top_srcdir/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/lib/sshd.sh"
IDLE=${IDLE:-10}
REAL=${REAL:-500}
RATE=${RATE:-10000}
DURATION=${DURATION:-60}

journald_setup "$@"
require_root
require_prog ssh ssh-keygen ss /usr/bin/python3 journalctl
[ "${JOURNAL_PRIVATE:-0}" = 1 ] || skip_all "needs the private journald (a journald runs already)"
say() { echo "# $*" >&2; }

# No rate limit: RATE connections a minute are more lines than journald's default lets through.
test_tmp || exit 1
printf '[Journal]\nRateLimitIntervalSec=0\nStorage=volatile\n' >"$TEST_TMP/journald.conf"
mount --bind "$TEST_TMP/journald.conf" /etc/systemd/journald.conf || exit 1
add_cleanup "umount /etc/systemd/journald.conf"
journald_restart || exit 1

journal_dev_log

sshd_start "SyslogFacility AUTH" "MaxStartups 100" || exit 1
sshd_stop
norexec=()
/usr/sbin/sshd -t -r -f "$SSHD_CONFIG" 2>/dev/null && norexec=(-r)
/usr/sbin/sshd -D "${norexec[@]}" -f "$SSHD_CONFIG" </dev/null >>"$SSHD_DIR/sshd.out" 2>&1 &
add_cleanup "kill $! 2>/dev/null"
wait_for 10 sh -c "ss -ltn 2>/dev/null | grep -q ':$SSHD_PORT '" || exit 1

sandbox_create 1 || exit 1
mkdir -p "$SANDBOX/etc/sshmend"
printf '[Diagnose]\nJournal=yes\nNoiseSummarySec=60s\n' >"$SANDBOX/etc/sshmend/sshmend.conf"
chmod 0644 "$SANDBOX/etc/sshmend/sshmend.conf"
daemon_start --root "$SANDBOX"
wait_for 10 journal_wait 0.1 SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=started || exit 1
pid=$DAEMON_PID
sleep 2

cpu_ns() { cut -d' ' -f1 "/proc/$1/schedstat"; }
cs() { awk '/^(non)?voluntary_ctxt_switches/ { n += $2 } END { print n }' "/proc/$1/status"; }
sshd_entries() { journal_query SYSLOG_IDENTIFIER=sshd | grep -c '^{'; }
test_entries() { [ "$(sshd_entries)" -ge "$1" ]; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD0=$(loadavg)
start=$(date -u '+%Y-%m-%d %H:%M UTC')

# --- idle -----------------------------------------------------------------------------------------
say "idle: ${IDLE}s"
c0=$(cs "$pid") t0=$(cpu_ns "$pid")
sleep "$IDLE"
idle_cs=$(($(cs "$pid") - c0)) idle_ns=$(($(cpu_ns "$pid") - t0))

# --- real sshd ------------------------------------------------------------------------------------
say "real: $REAL failed logins"
ssh-keygen -q -t ed25519 -N '' -f "$TEST_TMP/key" </dev/null
login() {
	timeout 20 ssh -F /dev/null -i "$TEST_TMP/key" -b "$2" -p "$SSHD_PORT" -o BatchMode=yes \
		-o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o KexAlgorithms=curve25519-sha256 -o ConnectTimeout=5 -o LogLevel=QUIET "$1@127.0.0.1" true </dev/null >/dev/null 2>&1
}
e0=$(sshd_entries) t0=$(cpu_ns "$pid") w0=$SECONDS
running=0
for ((i = 0; i < REAL; i++)); do
	login "bench${i}r$RANDOM" "127.0.0.$((2 + i % 50))" &
	for ((running++; running >= 10; running--)); do wait -n; done
done
for (( ; running > 0; running--)); do wait -n; done # sshd and the daemon are children too
sleep 2
real_s=$((SECONDS - w0))
real_entries=$(($(sshd_entries) - e0)) real_ns=$(($(cpu_ns "$pid") - t0))

# --- RATE connections a minute --------------------------------------------------------------------
# gen RATE DURATION: a process named sshd per connection, its three lines through /dev/log.
gen() {
	/usr/bin/python3 - "$@" <<'EOF'
import os, socket, sys, time
rate, duration = int(sys.argv[1]), float(sys.argv[2])
n = int(rate * duration / 60)
start = time.monotonic()
for i in range(n):
    delay = start + i * 60.0 / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
    if os.fork() == 0:
        with open("/proc/self/comm", "w") as f:
            f.write("sshd")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.connect("/dev/log")
        pid, addr, port = os.getpid(), "127.0.%d.%d" % (i // 250 % 250, 2 + i % 250), 20000 + i % 40000
        user = "scan%d" % i
        for line in ("Connection from %s port %d on 127.0.0.1 port 22 rdomain \"\"" % (addr, port),
                     "Invalid user %s from %s port %d" % (user, addr, port),
                     "Connection closed by invalid user %s %s port %d [preauth]" % (user, addr, port)):
            s.send(("<38>%s sshd[%d]: %s" % (time.strftime("%b %e %H:%M:%S"), pid, line)).encode())

        os._exit(0)
    while True:
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                break
        except ChildProcessError:
            break
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
print("%.1f" % (time.monotonic() - start))
EOF
}
say "rate: $RATE connections a minute for ${DURATION}s"
journalctl -q -f -n 0 -o cat SYSLOG_IDENTIFIER=sshd _UID=0 >/dev/null 2>&1 &
floor=$!
add_cleanup "kill $floor 2>/dev/null"
sleep 1
e0=$(sshd_entries) t0=$(cpu_ns "$pid") f0=$(cpu_ns "$floor")
took=$(gen "$RATE" "$DURATION")
# journald may be behind on a loaded machine: until it holds every line, then the daemon's.
want=$((e0 + RATE * DURATION * 3 / 60))
wait_for 120 test_entries "$want" || say "journald holds fewer lines than written"
sleep 2
rate_entries=$(($(sshd_entries) - e0)) rate_ns=$(($(cpu_ns "$pid") - t0)) floor_ns=$(($(cpu_ns "$floor") - f0))
LOAD1=$(loadavg)
noise=$(journal_query SYSLOG_IDENTIFIER=sshmend SSHMEND_EVENT=login-noise | grep -c '^{')

pct() { awk -v ns="$1" -v s="$2" 'BEGIN { printf "%.2f %%", ns / 1e7 / s }'; }
per() { awk -v ns="$1" -v n="$2" 'BEGIN { printf "%.1f us", n ? ns / 1e3 / n : 0 }'; }
cat <<EOF
Machine: $(nproc) cores, $(awk '/^model name/ { sub(/.*: /, ""); print; exit }' /proc/cpuinfo), Linux $(uname -r).
Date: $start. Load average (1, 5, 15 min) before: $LOAD0; after: $LOAD1.
sshd: $(/usr/sbin/sshd -V 2>&1 | head -n 1).

Command, as root from the build directory: \`$CMDLINE\`

| what | sshd entries | daemon CPU | per entry | share of one core | floor (journalctl -f) | context switches |
|---|---:|---:|---:|---:|---:|---:|
| idle ${IDLE} s | 0 | $((idle_ns / 1000)) us | – | $(pct "$idle_ns" "$IDLE") | – | $idle_cs |
| $REAL real failed logins (${real_s} s) | $real_entries | $((real_ns / 1000000)) ms | $(per "$real_ns" "$real_entries") | $(pct "$real_ns" "$real_s") | – | – |
| $RATE connections/min for ${took} s | $rate_entries | $((rate_ns / 1000000)) ms | $(per "$rate_ns" "$rate_entries") | $(pct "$rate_ns" "$took") | $(pct "$floor_ns" "$took"), $(per "$floor_ns" "$rate_entries") an entry | – |

login-noise entries during the run: $noise; lines journald suppressed: $(journal_query | grep -c 'Suppressed [0-9]* messages').
EOF
daemon_stop
