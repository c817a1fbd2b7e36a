#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Soak: the daemon on a sandbox root of USERS users (default 1000) for DURATION, with all of this
# at once:
#   breaks       bench/probe heal: a chmod 0777 or a chown of a random user's .ssh, about 10 a
#                second (SETTLE_MS between two), each timed until sshd would accept it again
#   drop-in      every second, a key file added to or removed from the drop-in directory of one
#                of the first KEY_USERS users (in turn), who all have a permanent drop-in key
#   users        every minute, user USERS+1 added to passwd and group (with a home, .ssh and
#                keys file) or removed again
#   reload       a SIGHUP every minute (30 s after the user change)
#   overflow     every ten minutes, the daemon is stopped (SIGSTOP), twice as many no-change
#                chmods as its inotify queue holds are made (the queue overflows) and the .ssh
#                of OVERFLOW_BREAKS users is broken; continued, every one must be healed within
#                OVERFLOW_DEADLINE_S
#   appends      the first APPENDERS users each append a numbered line to their own
#                authorized_keys every APPEND_MS, as themselves, all the while (their keys files
#                are the ones the drop-in changes rewrite)
# Every SAMPLE_S seconds, the daemon's resident memory (VmRSS), open descriptors, inotify
# watches and CPU time are written to the samples file. At the end: memory, descriptors and
# watches after the first minute within 5 % of their value at the first minute; no heal missed
# (the probe's, and the overflows'); every appended line there exactly once; no temporary
# file of the writer left anywhere in the sandbox. The daemon's inotify queue is made
# QUEUE events long (fs.inotify.max_queued_events, lowered just while it starts) so that an
# overflow takes few chmods.
#
# Usage: bench/soak.sh DURATION   (as root from the build directory; DURATION in seconds, or
#        with a suffix m or h; needs bench/probe and tests/notify-recv built:
#        make sshmend bench/probe tests/notify-recv). The report goes to stdout, progress to
#        stderr; SOAK_OUT=DIR keeps the samples and the daemon's log there.
# Environment: USERS [1000], KEY_USERS [50], APPENDERS [20], APPEND_MS [500], SETTLE_MS [95],
#        SAMPLE_S [10], QUEUE [4096], OVERFLOW_BREAKS [20], OVERFLOW_DEADLINE_S [30],
#        OVERFLOW_FIRST_S [300],
#        HEAL_DEADLINE_MS [10000], SSHMEND [./sshmend], PROBE [./bench/probe],
#        NOTIFY_RECV [./tests/notify-recv]
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
SSHMEND=${SSHMEND:-./sshmend}
PROBE=${PROBE:-./bench/probe}
NOTIFY_RECV=${NOTIFY_RECV:-./tests/notify-recv}
USERS=${USERS:-1000}
KEY_USERS=${KEY_USERS:-50}
APPENDERS=${APPENDERS:-20}
APPEND_MS=${APPEND_MS:-500}
SETTLE_MS=${SETTLE_MS:-95}
SAMPLE_S=${SAMPLE_S:-10}
QUEUE=${QUEUE:-4096}
OVERFLOW_BREAKS=${OVERFLOW_BREAKS:-20}
OVERFLOW_DEADLINE_S=${OVERFLOW_DEADLINE_S:-30}
OVERFLOW_FIRST_S=${OVERFLOW_FIRST_S:-300}
HEAL_DEADLINE_MS=${HEAL_DEADLINE_MS:-10000}

case ${1:-} in
*h) duration=$((${1%h} * 3600)) ;;
*m) duration=$((${1%m} * 60)) ;;
'' | *[!0-9]*)
	echo "usage: bench/soak.sh DURATION (seconds, or with m or h)" >&2
	exit 2
	;;
*) duration=$1 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "bench/soak.sh: needs root (sandbox owners, sysctls)" >&2
	exit 1
fi
for f in "$SSHMEND" "$PROBE" "$NOTIFY_RECV"; do
	[ -x "$f" ] || {
		echo "bench/soak.sh: $f not built" >&2
		exit 1
	}
done
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"

log() { printf '# %s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-soak.XXXXXX") || exit 1
chmod 0755 "$work"
add_cleanup "rm -rf -- '$work'"
out=${SOAK_OUT:-$work}
mkdir -p "$out" || exit 1
last=$(($(nproc) - 1))
pids=()
# shellcheck disable=SC2016 # expanded when the cleanup runs
add_cleanup 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done'

log "creating $USERS users"
sandbox_create "$USERS" >/dev/null || exit 1
S=$SANDBOX
uid_of() { echo $((SANDBOX_UID_BASE + ${1#user})); }
keygen() { ssh-keygen -q -t ed25519 -N '' -C "$1" -f "$work/$1" </dev/null >/dev/null && cat "$work/$1.pub"; }
permanent=$(keygen permanent) && toggled=$(keygen toggled) || exit 1

# The drop-in directory: a permanent key for each of the first KEY_USERS users.
install -d -m 0755 -o 0 -g 0 "$S/etc/sshmend" "$S/etc/sshmend/keys.d" || exit 1
for ((k = 1; k <= KEY_USERS; k++)); do
	install -d -m 0755 -o 0 -g 0 "$S/etc/sshmend/keys.d/user$k"
	printf '%s\n' "$permanent" >"$S/etc/sshmend/keys.d/user$k/10-permanent.pub"
done
printf '[Daemon]\nFlapThreshold=1000000\n' >"$S/etc/sshmend/sshmend.conf"
chmod -R go-w "$S/etc/sshmend"
cp "$S/etc/passwd" "$work/passwd.base" && cp "$S/etc/group" "$work/group.base" || exit 1

# The daemon, with a QUEUE-event inotify queue, under a notify socket receiver.
qfile=/proc/sys/fs/inotify/max_queued_events
queue0=$(cat "$qfile")
add_cleanup "[ \"\$(cat $qfile)\" != $QUEUE ] || echo $queue0 >$qfile"
"$NOTIFY_RECV" "$work/notify.sock" "$work/notify.log" </dev/null >/dev/null 2>&1 &
pids+=($!)
wait_for 5 test -S "$work/notify.sock" || exit 1
echo "$QUEUE" >"$qfile"
NOTIFY_SOCKET=$work/notify.sock taskset -c "$last" "$SSHMEND" --root "$S" daemon \
	</dev/null >/dev/null 2>"$out/daemon.log" &
dpid=$!
pids+=("$dpid")
wait_for 300 grep -q '^READY=1$' "$work/notify.log"
ready=$?
echo "$queue0" >"$qfile"
if [ "$ready" -ne 0 ]; then
	log "the daemon did not get ready: $(tail -3 "$out/daemon.log")"
	exit 1
fi
wait_for 300 grep -q 'as the baseline' "$out/daemon.log" || log "no keys baseline after 300 s"
log "daemon $dpid ready; soaking for $duration s"
t0=$SECONDS
stop=$work/stop
alive() { [ ! -e "$stop" ] && [ $((SECONDS - t0)) -lt "$duration" ]; }

# Samples: seconds, VmRSS kB, descriptors, inotify watches, CPU ticks (user + system).
sample() {
	local rss fds watches ticks
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$dpid/status" 2>/dev/null) || return 1
	fds=$(find "/proc/$dpid/fd" -mindepth 1 2>/dev/null | wc -l)
	watches=$(cat "/proc/$dpid/fdinfo/"* 2>/dev/null | grep -c '^inotify wd:')
	ticks=$(awk '{ print $14 + $15 }' "/proc/$dpid/stat")
	echo "$((SECONDS - t0)) $rss $fds $watches $ticks"
}
(
	while alive; do
		sample || break
		sleep "$SAMPLE_S"
	done
) >"$out/samples" &
pids+=($!)

# The appenders: "# soak userK line N", as userK, every APPEND_MS.
for ((k = 1; k <= APPENDERS; k++)); do
	# shellcheck disable=SC2016 # expanded by the user's shell
	setpriv --reuid="$(uid_of "user$k")" --regid="$(uid_of "user$k")" --clear-groups -- bash -c '
		exec 3<> <(:)
		i=0
		while [ ! -e "$1" ]; do
			i=$((i + 1))
			printf "# soak %s line %d\n" "$2" "$i" >>"$3"
			read -r -t "$4" -u 3 _
		done
		echo "$i"' appender "$stop" "user$k" "$S/home/user$k/.ssh/authorized_keys" \
		"$((APPEND_MS / 1000)).$(printf %03d $((APPEND_MS % 1000)))" </dev/null >"$work/appended.user$k" 2>"$work/appender.user$k.err" &
	pids+=($!)
done

# The drop-in changes: one a second, users 1..KEY_USERS in turn, added on odd rounds.
(
	i=0
	while alive; do
		k=$((i % KEY_USERS + 1))
		f=$S/etc/sshmend/keys.d/user$k/20-toggled.pub
		if [ $(((i / KEY_USERS) % 2)) -eq 0 ]; then
			printf '%s\n' "$toggled" >"$f.tmp" && chmod 0644 "$f.tmp" && mv -f "$f.tmp" "$f"
		else
			rm -f "$f"
		fi
		i=$((i + 1))
		sleep 1
	done
) &
pids+=($!)

# A user added or removed every minute; a SIGHUP every minute, 30 s after.
extra=user$((USERS + 1))
extra_uid=$(uid_of "$extra")
(
	sleep 5 # the probe has read passwd without the extra user
	i=0
	while alive; do
		if [ $((i % 2)) -eq 0 ]; then
			mkdir -m 0700 "$S/home/$extra" "$S/home/$extra/.ssh" &&
				printf '%s\n' "$SANDBOX_PUBKEY" >"$S/home/$extra/.ssh/authorized_keys" &&
				chmod 0600 "$S/home/$extra/.ssh/authorized_keys" &&
				chown -R "$extra_uid:$extra_uid" "$S/home/$extra"
			{
				cat "$work/passwd.base"
				echo "$extra:x:$extra_uid:$extra_uid::/home/$extra:/bin/bash"
			} >"$S/etc/passwd.new"
			{
				cat "$work/group.base"
				echo "$extra:x:$extra_uid:"
			} >"$S/etc/group.new"
		else
			cp "$work/passwd.base" "$S/etc/passwd.new" && cp "$work/group.base" "$S/etc/group.new"
		fi
		chmod 0644 "$S/etc/passwd.new" "$S/etc/group.new"
		mv -f "$S/etc/passwd.new" "$S/etc/passwd" && mv -f "$S/etc/group.new" "$S/etc/group"
		[ $((i % 2)) -eq 0 ] || rm -rf "${S:?}/home/$extra"
		i=$((i + 1))
		sleep 30
		alive || break
		kill -HUP "$dpid"
		sleep 30
	done
) &
pids+=($!)

# The overflows: every ten minutes, from minute 5.
all_paths() { seq -f 'home/user%.0f' 1 "$USERS" && seq -f 'home/user%.0f/.ssh' 1 "$USERS"; }
overflow() {
	local n=$1 rounds r victims v t
	rounds=$(((2 * QUEUE) / (2 * USERS) + 1))
	victims=$(shuf -i "$((APPENDERS + 1))-$USERS" -n "$OVERFLOW_BREAKS" | sed 's,^,home/user,; s,$,/.ssh,')
	kill -STOP "$dpid"
	for ((r = 0; r < rounds; r++)); do
		(cd "$S" && all_paths | xargs chmod 0700 2>/dev/null)
		(cd "$S" && seq -f 'home/user%.0f/.ssh' 1 "$USERS" | xargs chmod 0755 2>/dev/null)
	done
	# shellcheck disable=SC2086 # one name a word
	(cd "$S" && chmod 0777 $victims)
	kill -CONT "$dpid"
	t=$SECONDS
	for v in $victims; do
		until [ "$(stat -c %a "$S/$v")" != 777 ] || [ $((SECONDS - t)) -ge "$OVERFLOW_DEADLINE_S" ]; do
			sleep 0.05
		done
		if [ "$(stat -c %a "$S/$v")" = 777 ]; then
			echo "overflow $n: $v missed"
			chmod 0755 "$S/$v"
		fi
	done
	echo "overflow $n: $OVERFLOW_BREAKS breaks during the overflow, the last healed $((SECONDS - t)) s after SIGCONT"
}
(
	sleep "$OVERFLOW_FIRST_S"
	n=1
	while alive; do
		overflow "$n"
		n=$((n + 1))
		for ((s = 0; s < 600; s++)); do
			alive || break
			sleep 1
		done
	done
) >"$out/overflows" 2>&1 &
overflower=$!
pids+=("$overflower")

# The breaks, in the foreground: about 10 a second; as many as fit in the duration with some
# 25 ms a break for the heal and the probe itself, so that it ends in time to print them.
taskset -c 0 "$PROBE" heal "$S" -n $((duration * 1000 / (SETTLE_MS + 25))) -k chmod,chown \
	-s "$SETTLE_MS" -d "$HEAL_DEADLINE_MS" -m 1000000 >"$out/probe" 2>"$out/probe.err"
log "the breaks are done after $((SECONDS - t0)) s"
touch "$stop"
wait "$overflower"
sleep 2
# Let the daemon settle: the last drop-in change synced, the appenders' last lines written.
rm -f "$S"/etc/sshmend/keys.d/user*/20-toggled.pub
sleep 10
sample >>"$out/samples"
kill "$dpid"
wait "$dpid"
drc=$?

# ---- The report.
echo "bench/soak.sh $1 ($duration s, $USERS users, started $(date -u -d "@$(($(date +%s) - SECONDS + t0))" '+%Y-%m-%d %H:%M UTC'))"
echo "daemon exit status on SIGTERM: $drc"
grep 'kind=all' "$out/probe" || {
	echo "probe: no result"
	cat "$out/probe.err"
}
cat "$out/overflows"
echo "rescan entries: $(grep -c 'event=rescan' "$out/daemon.log"), reloads: $(grep -c 'event=reload' "$out/daemon.log")"
awk -v first=60 '
	{ t = $1; for (i = 2; i <= 4; i++) v[i] = $i }
	t >= first && !base { base = 1; for (i = 2; i <= 4; i++) { b[i] = $i; lo[i] = hi[i] = $i } }
	base { for (i = 2; i <= 4; i++) { if ($i < lo[i]) lo[i] = $i; if ($i > hi[i]) hi[i] = $i } }
	{ cpu = $5; secs = $1 }
	END {
		split("- rss_kB fds watches", name)
		bad = 0
		for (i = 2; i <= 4; i++) {
			dev = b[i] ? 100 * ((hi[i] - b[i] > b[i] - lo[i]) ? hi[i] - b[i] : b[i] - lo[i]) / b[i] : 0
			printf "%s: at 60 s %d, min %d, max %d, at the end %d (%.1f %% off)\n", name[i], b[i], lo[i], hi[i], v[i], dev
			if (dev > 5) bad = 1
		}
		printf "CPU: %.1f s over %d s\n", cpu / 100, secs
		print (bad ? "FLAT: no" : "FLAT: yes")
	}' "$out/samples"
lost=0 dup=0 total=0
for ((k = 1; k <= APPENDERS; k++)); do
	n=$(cat "$work/appended.user$k")
	total=$((total + n))
	ak=$S/home/user$k/.ssh/authorized_keys
	got=$(grep -c "^# soak user$k line " "$ak")
	uniq_got=$(grep "^# soak user$k line " "$ak" | sort -u | wc -l)
	l=$(comm -23 <(seq -f "# soak user$k line %.0f" 1 "$n" | LC_ALL=C sort) \
		<(grep "^# soak user$k line " "$ak" | LC_ALL=C sort -u) | wc -l)
	[ "$l" -eq 0 ] || echo "user$k: $l of $n lines lost, e.g. $(comm -23 <(seq -f "# soak user$k line %.0f" 1 "$n" | LC_ALL=C sort) <(grep "^# soak user$k line " "$ak" | LC_ALL=C sort -u) | head -3 | tr '\n' ' ')"
	lost=$((lost + l))
	dup=$((dup + got - uniq_got))
done
echo "appended lines: $total by $APPENDERS users, lost $lost, doubled $dup"
left=$(find "$S" -name '*.sshmend-*' | wc -l)
echo "temporary files left: $left"
echo "samples: $out/samples (seconds rss_kB fds watches cpu_ticks)"
