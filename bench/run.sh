#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# make bench: sshmend against what people run today, on the same sandbox trees in one run:
#   sshmend      the daemon, started under a NOTIFY_SOCKET receiver
#   inotifywait  bench/baseline-inotifywait.sh, the published inotifywait -m -r loop
#   incron       incrond running bench/baseline-runbook.sh -g for the user, on IN_ATTRIB,
#                IN_CREATE and IN_MOVED_TO of each home and .ssh
#   cron         bench/baseline-runbook.sh over every user, from /etc/cron.d every minute
#   floor        bench/floor, the least an inotify healer can do (stat, chmod), placed and
#                paused as sshmend: what this machine's event delivery and wake-ups cost
# For each tree (SIZES users) and each of them: time until watching (READY=1 for sshmend),
# RSS of its process tree, heal latency over BREAKS breaks (bench/probe heal), key sync
# (sshmend only: bench/probe keysync), context switches and CPU time over IDLE seconds of
# nothing, and a storm (bench/probe storm). The cron runbook's latency is a storm per cycle,
# CRON_CYCLES cycles, each at a random second of the minute. Progress goes to stderr, the
# Markdown tables to stdout.
#
# Usage: bench/run.sh [SIZE...]   as root, from the build directory (make bench)
# Environment (defaults in brackets):
#   SIZES [1 1000 10000 100000]   tree sizes, unless given as arguments
#   BREAKS [1000]                 heal latency breaks per size for sshmend
#   BASELINE_BREAKS [BREAKS]      the same for the baselines (incron takes about 0.5 s a break)
#   KEYSYNC [BREAKS]              drop-in changes timed (half added, half removed)
#   IDLE [60]                     seconds of nothing, for the idle cost
#   SETTLE_MS [20]                pause between two breaks
#   HEAL_DEADLINE_MS [5000]       a break not repaired by then is missed
#   STORM_DEADLINE_MS [10000]     chains of a storm not repaired by then are missed
#   CRON_CYCLES [3]               cron storms per size; SKIP_CRON=1 skips the cycles (the
#                                 runbook's cost per run is measured all the same)
#   CRON_MAX_RUN_S [60]           no cron cycles where one run of the runbook takes longer:
#                                 cron would start the next before it ends
#   RUNBOOK_SAMPLE [10000]        above this many users, the cost of a run is measured over
#                                 this many and scaled
#   SKIP_INOTIFYWAIT, SKIP_INCRON set to 1 to leave that baseline out (SKIP_SSHMEND too, to
#                                 try the baselines alone)
#   INCRON_STORM_MAX [10000]      above this many users incron's storm is not run: incrond
#                                 forks two handlers per broken chain, as fast as it can
#   KEY_USERS [100]               users given a drop-in directory for the key sync
#   PIN [1 with 2 cores or more]  run what is measured (sshmend, a baseline and the processes
#                                 it starts) on the last core and the probe on the first, so
#                                 that the probe's polling never takes the CPU from what it
#                                 watches; PIN=0 lets the scheduler place them
#   SSHMEND [./sshmend], NOTIFY_RECV [./tests/notify-recv], PROBE [./bench/probe, else built
#   with cc], FLOOR [./bench/floor, else built with cc], top_srcdir [the directory above this
#   script]
set -u

# The command, as given: the settings from the environment, then the arguments.
CMDLINE=
for v in SIZES BREAKS BASELINE_BREAKS PIN KEYSYNC IDLE SETTLE_MS HEAL_DEADLINE_MS STORM_DEADLINE_MS CRON_CYCLES \
	SKIP_CRON SKIP_INOTIFYWAIT SKIP_INCRON INCRON_STORM_MAX KEY_USERS RUNBOOK_SAMPLE CRON_MAX_RUN_S; do
	[ -z "${!v:-}" ] || CMDLINE+=" $v='${!v}'"
done
if [ -n "${BENCH_VIA_MAKE:-}" ]; then
	CMDLINE="make bench$CMDLINE"
else
	CMDLINE="${CMDLINE# }${CMDLINE:+ }bench/run.sh${*:+ $*}"
fi

top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
bench=$(cd "$top_srcdir/bench" && pwd)
SSHMEND=${SSHMEND:-./sshmend}
NOTIFY_RECV=${NOTIFY_RECV:-./tests/notify-recv}
BREAKS=${BREAKS:-1000}
BASELINE_BREAKS=${BASELINE_BREAKS:-$BREAKS}
NCPU=$(nproc)
PIN=${PIN:-$([ "$NCPU" -ge 2 ] && echo 1 || echo 0)}
# SUT: the prefix that starts what is measured; OBS: the probe's.
SUT=()
OBS=()
if [ "$PIN" = 1 ]; then
	SUT=(taskset -c "$((NCPU - 1))")
	OBS=(taskset -c 0)
fi
KEYSYNC=${KEYSYNC:-$BREAKS}
IDLE=${IDLE:-60}
SETTLE_MS=${SETTLE_MS:-20}
HEAL_DEADLINE_MS=${HEAL_DEADLINE_MS:-5000}
STORM_DEADLINE_MS=${STORM_DEADLINE_MS:-10000}
CRON_CYCLES=${CRON_CYCLES:-3}
SKIP_CRON=${SKIP_CRON:-}
SKIP_INCRON=${SKIP_INCRON:-}
SKIP_INOTIFYWAIT=${SKIP_INOTIFYWAIT:-}
INCRON_STORM_MAX=${INCRON_STORM_MAX:-10000}
RUNBOOK_SAMPLE=${RUNBOOK_SAMPLE:-10000}
CRON_MAX_RUN_S=${CRON_MAX_RUN_S:-60}
KEY_USERS=${KEY_USERS:-100}
READY_TIMEOUT=${READY_TIMEOUT:-900}
QUIET_MAX=${QUIET_MAX:-60}
HANDLERS_MAX=${HANDLERS_MAX:-900}
# Where the figures' targets apply.
TARGET_SIZE=10000

if [ "$(id -u)" -ne 0 ]; then
	echo "bench/run.sh: needs root (sandbox owners, sysctls, cron and incron)" >&2
	exit 1
fi
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"
# A pipe that never has data, to wait on with read -t without forking sleep. Opened here:
# tap.sh's wait_for would open its own with "exec ... 2>/dev/null", losing stderr for good.
exec {NAP}<> <(:)
_TAP_NAP_FD=$NAP

if [ $# -gt 0 ]; then
	sizes=("$@")
else
	read -r -a sizes <<<"${SIZES:-1 1000 10000 100000}"
fi
approaches=(sshmend floor inotifywait incron cron)
declare -A R=()   # R[size,approach,measure]=value
declare -A NOTE=() # NOTE[approach]=what was seen, for the notes under the tables
started=$(date -u '+%Y-%m-%d %H:%M UTC')
t_start=$SECONDS

# log MSG...: progress on stderr
log() {
	printf '# %s\n' "$*" >&2
}

# now_us: set NOW to the monotonic-enough wall clock in microseconds, without forking
now_us() {
	local t=${EPOCHREALTIME/[.,]/}
	NOW=$((10#$t))
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-bench.XXXXXX") || exit 1
chmod 0755 "$WORK"
add_cleanup "rm -rf -- '$WORK'"

# Processes this script started and has not stopped yet: ACTIVE[PID]=what kill is given.
declare -A ACTIVE=()

# stop_active: end what is still running of what this script started (on exit)
stop_active() {
	local p
	for p in "${!ACTIVE[@]}"; do
		kill -- "${ACTIVE[$p]}" 2>/dev/null
		unset "ACTIVE[$p]"
	done
}

# stop PID: end one process (or its group, if so registered) this script started, and reap it
stop() {
	[ -n "${ACTIVE[$1]:-}" ] || return 0
	kill -- "${ACTIVE[$1]}" 2>/dev/null
	wait "$1" 2>/dev/null
	unset "ACTIVE[$1]"
	return 0
}

for f in "$SSHMEND" "$NOTIFY_RECV"; do
	if [ ! -x "$f" ]; then
		echo "bench/run.sh: $f not built (make sshmend tests/notify-recv)" >&2
		exit 1
	fi
done
PROBE=${PROBE:-./bench/probe}
if [ ! -x "$PROBE" ]; then
	PROBE=$WORK/probe
	${CC:-cc} -O2 -o "$PROBE" "$bench/probe.c" || exit 1
fi
FLOOR=${FLOOR:-./bench/floor}
if [ ! -x "$FLOOR" ]; then
	FLOOR=$WORK/floor
	${CC:-cc} -O2 -o "$FLOOR" "$bench/floor.c" || exit 1
fi

# ---------------------------------------------------------------------------------------------
# The host: sysctls raised for the run, packages the baselines need.

# raise_sysctl NAME VALUE: set fs.inotify.NAME to at least VALUE, put back on exit unless
# someone else changed it meanwhile
raise_sysctl() {
	local f=/proc/sys/fs/inotify/$1 old
	old=$(cat "$f") || return 1
	[ "$old" -lt "$2" ] || return 0
	echo "$2" >"$f" || return 1
	add_cleanup "[ \"\$(cat $f)\" != $2 ] || echo $old >$f"
	log "fs.inotify.$1: $old -> $2 for the run"
}

# ensure_pkg PROG PACKAGE: PROG is there, or apt-get installs PACKAGE (Debian's)
ensure_pkg() {
	command -v "$1" >/dev/null 2>&1 && return 0
	command -v apt-get >/dev/null 2>&1 || return 1
	log "installing $2 for $1 (apt-get)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$2" \
		>"$WORK/apt-$2.log" 2>&1 || {
		log "apt-get install $2 failed: $(tail -1 "$WORK/apt-$2.log")"
		return 1
	}
	command -v "$1" >/dev/null 2>&1
}

max_n=0
for n in "${sizes[@]}"; do
	case $n in
	'' | *[!0-9]*)
		echo "bench/run.sh: bad size '$n'" >&2
		exit 1
		;;
	esac
	[ "$n" -le "$max_n" ] || max_n=$n
done
raise_sysctl max_user_watches $((4 * max_n + 65536)) || exit 1
raise_sysctl max_queued_events $((8 * max_n)) || exit 1
WATCHES=$(cat /proc/sys/fs/inotify/max_user_watches)
QUEUED=$(cat /proc/sys/fs/inotify/max_queued_events)

ensure_pkg /usr/bin/time time || {
	echo "bench/run.sh: needs GNU time (/usr/bin/time)" >&2
	exit 1
}
have_inotifywait='' have_incron='' have_cron=
[ -n "$SKIP_INOTIFYWAIT" ] || { ensure_pkg inotifywait inotify-tools && have_inotifywait=1; }
[ -n "$SKIP_INCRON" ] || { ensure_pkg incrond incron && have_incron=1; }
[ -n "$SKIP_CRON" ] || { ensure_pkg cron cron && have_cron=1; }

# Keys for the key sync, made once.
mkdir -m 0700 "$WORK/keys"
for k in 1 2 3 4 5 6 7 8; do
	ssh-keygen -q -t ed25519 -N '' -C "bench-key-$k" -f "$WORK/keys/k$k" </dev/null >/dev/null || exit 1
done
cat "$WORK"/keys/k*.pub >"$WORK/keys/all.pub"

# ---------------------------------------------------------------------------------------------
# Process trees: what a baseline costs is the sum over its processes.

# tree_pids PID...: the PIDs and all their descendants
tree_pids() {
	ps -e -o pid=,ppid= | awk -v roots="$*" '
		BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1 }
		{ parent[$1] = $2 }
		END {
			do {
				more = 0
				for (c in parent)
					if (!(c in keep) && (parent[c] in keep)) { keep[c] = 1; more = 1 }
			} while (more)
			for (k in keep) if (k in parent) print k
		}'
}

# tree_sample PID...: "CONTEXT_SWITCHES CPU_NS RSS_KB PROCESSES" summed over the tree
tree_sample() {
	local p files=()
	for p in $(tree_pids "$@"); do
		files+=("/proc/$p/status" "/proc/$p/schedstat")
	done
	[ ${#files[@]} -gt 0 ] || {
		echo "0 0 0 0"
		return
	}
	awk '
		FILENAME ~ /schedstat$/ { cpu += $1; next }
		/^VmRSS:/ { rss += $2 }
		/^voluntary_ctxt_switches:|^nonvoluntary_ctxt_switches:/ { cs += $2 }
		/^Pid:/ { n++ }
		END { printf "%d %d %d %d\n", cs, cpu, rss, n }' "${files[@]}" 2>/dev/null
}

# wait_quiet PID...: until the tree has no context switch for a second (QUIET_MAX at most)
wait_quiet() {
	local a b i
	a=$(tree_sample "$@")
	for ((i = 0; i < QUIET_MAX; i++)); do
		sleep 1
		b=$(tree_sample "$@")
		[ "${a%% *}" != "${b%% *}" ] || [ "${a##* }" != "${b##* }" ] || return 0
		a=$b
	done
	log "still busy after ${QUIET_MAX}s: measuring idle anyway"
}

# measure_idle N APPROACH PID...: context switches and CPU time over IDLE seconds of nothing
measure_idle() {
	local n=$1 a=$2 c0 t0 c1 t1 _
	shift 2
	wait_quiet "$@"
	read -r c0 t0 _ < <(tree_sample "$@")
	sleep "$IDLE"
	read -r c1 t1 _ < <(tree_sample "$@")
	R[$n,$a,idle_cs]=$((c1 - c0))
	R[$n,$a,idle_cpu_us]=$(((t1 - t0) / 1000))
	log "$n $a idle ${IDLE}s: $((c1 - c0)) context switches, $(((t1 - t0) / 1000)) us CPU"
}

# record N APPROACH LINE: keep a probe line ("heal kind=all p50_us=..." -> heal_all_p50_us)
record() {
	local n=$1 a=$2 what kind='' kv words
	read -r -a words <<<"$3"
	what=${words[0]}
	for kv in "${words[@]:1}"; do
		case $kv in
		kind=*) kind=${kv#kind=} ;;
		*=*) R[$n,$a,${what}_${kind}_${kv%%=*}]=${kv#*=} ;;
		esac
	done
}

# probe N APPROACH ARGS...: run bench/probe on the sandbox, record and log its lines
probe() {
	local n=$1 a=$2 line out
	shift 2
	out=$("${OBS[@]}" "$PROBE" "$1" "$SANDBOX" "${@:2}") || log "$n $a: probe $1 failed"
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		log "$n $a $line"
		record "$n" "$a" "$line"
	done <<<"$out"
}

# heal_and_storm N APPROACH PID...: the measures every watching approach takes
heal_and_storm() {
	local n=$1 a=$2
	shift 2
	probe "$n" "$a" heal -n "$([ "$a" = sshmend ] && echo "$BREAKS" || echo "$BASELINE_BREAKS")" \
		-d "$HEAL_DEADLINE_MS" -s "$SETTLE_MS"
	[ "$a" != sshmend ] || probe "$n" "$a" keysync -n "$KEYSYNC" -K "$WORK/keys/all.pub" \
		-d "$HEAL_DEADLINE_MS" -s "$SETTLE_MS"
	measure_idle "$n" "$a" "$@"
	if [ "$a" = incron ] && [ "$n" -gt "$INCRON_STORM_MAX" ]; then
		R[$n,$a,storm_skipped]=1
		log "$n $a storm skipped: above INCRON_STORM_MAX=$INCRON_STORM_MAX users"
	else
		probe "$n" "$a" storm -d "$STORM_DEADLINE_MS"
	fi
}

# wait_file_grep TIMEOUT REGEX FILE: until FILE has a line matching REGEX
wait_file_grep() {
	wait_for "$1" grep -qE "$2" "$3" 2>/dev/null
}

# rss_now N APPROACH PID...: RSS of the tree now
rss_now() {
	local n=$1 a=$2 _ rss
	shift 2
	read -r _ _ rss _ < <(tree_sample "$@")
	R[$n,$a,rss_kb]=$rss
}

# ---------------------------------------------------------------------------------------------
# The approaches.

# prepare_tree N: the sandbox, the daemon's configuration, drop-in directories for the key sync
prepare_tree() {
	local n=$1 k
	now_us
	local t0=$NOW
	sandbox_create "$n" >/dev/null || exit 1
	# Runs before the sandbox goes (cleanups run last first).
	add_cleanup stop_active
	now_us
	log "$n users: sandbox made in $(((NOW - t0) / 1000)) ms"
	# One user broken a thousand times in a row is a fight to sshmend, which backs off: the
	# back-off is not what is measured here.
	mkdir -m 0755 "$SANDBOX/etc/sshmend" "$SANDBOX/etc/sshmend/keys.d"
	printf '[Daemon]\nFlapThreshold=1000000\n' >"$SANDBOX/etc/sshmend/sshmend.conf"
	chmod 0644 "$SANDBOX/etc/sshmend/sshmend.conf"
	k=$KEY_USERS
	[ "$k" -le "$n" ] || k=$n
	for u in $(shuf -i "1-$n" -n "$k" --random-source=<(yes)); do
		mkdir -m 0755 "$SANDBOX/etc/sshmend/keys.d/user$u"
	done
}

# run_sshmend N: the daemon under a NOTIFY_SOCKET receiver, from its first start on the tree
run_sshmend() {
	local n=$1 sock=$WORK/notify.sock nlog=$WORK/notify.log dlog=$WORK/sshmend-$1.log recv pid
	: >"$nlog"
	"$NOTIFY_RECV" "$sock" "$nlog" </dev/null >/dev/null 2>&1 &
	recv=$!
	ACTIVE[$recv]=$recv
	wait_for 5 test -S "$sock" || {
		log "notify-recv did not start"
		return 1
	}
	now_us
	local t0=$NOW
	NOTIFY_SOCKET=$sock "${SUT[@]}" "$SSHMEND" --root "$SANDBOX" daemon </dev/null >/dev/null 2>"$dlog" &
	pid=$!
	ACTIVE[$pid]=$pid
	while ! grep -q '^READY=1$' "$nlog"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$n sshmend died before READY=1: $(tail -3 "$dlog")"
			stop "$pid"
			stop "$recv"
			return 1
		fi
		read -r -t 0.002 -u "$NAP" _
	done
	now_us
	R[$n,sshmend,ready_us]=$((NOW - t0))
	rss_now "$n" sshmend "$pid"
	log "$n sshmend ready in $(((NOW - t0) / 1000)) ms, RSS ${R[$n,sshmend,rss_kb]} kB"
	heal_and_storm "$n" sshmend "$pid"
	stop "$pid"
	stop "$recv"
	rm -f "$sock"
}

# run_floor N: bench/floor right after sshmend, as many breaks, the same pause and cores
run_floor() {
	local n=$1 line cpus=()
	[ "$PIN" != 1 ] || cpus=("$((NCPU - 1))" 0)
	line=$("$FLOOR" "$WORK" "$BREAKS" "$SETTLE_MS" "${cpus[@]}") || {
		log "$n floor failed"
		return 1
	}
	log "$n $line"
	line=${line/#floor /heal kind=all }
	record "$n" floor "$line"
	R[$n,floor,ready_us]=-
}

# run_inotifywait N: the inotifywait loop, in a process group of its own
run_inotifywait() {
	local n=$1 err=$WORK/inotifywait-$1.err pid
	: >"$err"
	now_us
	local t0=$NOW
	setsid "${SUT[@]}" bash "$bench/baseline-inotifywait.sh" "$SANDBOX" </dev/null >/dev/null 2>"$err" &
	pid=$!
	ACTIVE[$pid]=-$pid
	if ! wait_file_grep "$READY_TIMEOUT" '^Watches established' "$err"; then
		log "$n inotifywait: not watching: $(tail -3 "$err")"
		stop "$pid"
		return 1
	fi
	now_us
	R[$n,inotifywait,ready_us]=$((NOW - t0))
	rss_now "$n" inotifywait "$pid"
	log "$n inotifywait watching in $(((NOW - t0) / 1000)) ms, RSS ${R[$n,inotifywait,rss_kb]} kB"
	heal_and_storm "$n" inotifywait "$pid"
	stop "$pid"
}

# inotify_watches PID: how many inotify watches the process holds
inotify_watches() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | grep -c '^inotify wd:'
}

# run_incron N: incrond (the running one, or one started here) with a table of the tree's users
run_incron() {
	local n=$1 table=/etc/incron.d/sshmend-bench pid ours='' before want got
	if pid=$(pgrep -x -o incrond); then
		log "$n incron: using the incrond already running ($pid), not pinned"
	else
		"${SUT[@]}" incrond -n </dev/null >"$WORK/incrond.log" 2>&1 &
		pid=$!
		ours=1
		ACTIVE[$pid]=$pid
		wait_for 5 test -d "/proc/$pid/fdinfo" && sleep 0.5
	fi
	add_cleanup "rm -f $table"
	before=$(inotify_watches "$pid")
	want=$((before + 2 * n))
	awk -F: -v root="$SANDBOX" -v cmd="bash $bench/baseline-runbook.sh -g $SANDBOX" '
		$6 ~ /^\/home\/./ {
			mask = "IN_ATTRIB,IN_CREATE,IN_MOVED_TO,recursive=false"
			printf "%s%s %s %s %s\n", root, $6, mask, cmd, $1
			printf "%s%s/.ssh %s %s %s\n", root, $6, mask, cmd, $1
		}' "$SANDBOX/etc/passwd" >"$WORK/incrontab"
	now_us
	local t0=$NOW t_change=$NOW nap=0.01 last=-1
	# Big tables: poll less often, reading the watch list costs incrond's CPU too.
	[ "$n" -le 1000 ] || nap=0.1
	cp "$WORK/incrontab" "$table"
	# Ready: every watch in place, or none added for 30 s (incrond gave up, or capped).
	got=$before
	while [ "$got" -lt "$want" ]; do
		read -r -t "$nap" -u "$NAP" _
		got=$(inotify_watches "$pid")
		now_us
		if [ "$got" != "$last" ]; then
			last=$got t_change=$NOW
		elif [ $((NOW - t_change)) -gt 30000000 ]; then
			break
		fi
	done
	got=$((got - before))
	R[$n,incron,watches]=$got
	if [ "$got" -lt $((2 * n)) ]; then
		NOTE[incron_cap]+="${NOTE[incron_cap]:+; }at $(commas "$n") users incrond set up $(commas "$got") of $(commas $((2 * n))) watches"
		log "$n incron: only $got of $((2 * n)) watches"
	fi
	R[$n,incron,ready_us]=$((t_change - t0))
	rss_now "$n" incron "$pid"
	log "$n incron watching ($got watches) in $((${R[$n,incron,ready_us]} / 1000)) ms, RSS ${R[$n,incron,rss_kb]} kB"
	heal_and_storm "$n" incron "$pid"
	rm -f "$table"
	# Handlers a storm started may still be running: let them end before anything else runs.
	local i
	for ((i = 0; i < HANDLERS_MAX; i++)); do
		[ "$(tree_pids "$pid" | wc -l)" -gt 1 ] || break
		sleep 1
	done
	[ "$i" -lt "$HANDLERS_MAX" ] || log "$n incron: handlers still running after ${HANDLERS_MAX}s"
	[ "$i" -eq 0 ] || log "$n incron: the last handlers ended ${i}s after the storm"
	[ -z "$ours" ] || stop "$pid"
}

# stop_cron_runs: runs of the runbook cron started on this sandbox and still going, by their ids
stop_cron_runs() {
	local p
	[ -n "${SANDBOX:-}" ] || return 0
	for p in $(pgrep -f "baseline-runbook.sh $SANDBOX\$"); do
		kill "$p" 2>/dev/null
	done
}

# run_cron N: the cost of one runbook run, then CRON_CYCLES storms repaired from /etc/cron.d
run_cron() {
	local n=$1 file=/etc/cron.d/sshmend-bench pid ours='' t wall user sys cs ics maxrss deadline c
	# The cost of one run, the cost cron pays every minute, nothing broken or not. Above
	# RUNBOOK_SAMPLE users, a run over that many, scaled: the runbook's cost is per user.
	local sample=$n users=()
	if [ "$n" -gt "$RUNBOOK_SAMPLE" ]; then
		sample=$RUNBOOK_SAMPLE
		R[$n,cron,run_sample]=$sample
		mapfile -t users < <(awk -F: '$6 ~ /^\/home\/./ { print $1 }' "$SANDBOX/etc/passwd" | head -n "$sample")
	fi
	t=$({ /usr/bin/time -f '%e %U %S %w %c %M' bash "$bench/baseline-runbook.sh" "$SANDBOX" "${users[@]}" >/dev/null; } 2>&1 | tail -1)
	read -r wall user sys cs ics maxrss <<<"$t"
	R[$n,cron,run_wall_ms]=$(awk -v w="$wall" -v n="$n" -v m="$sample" 'BEGIN { printf "%d", w * 1000 * n / m }')
	R[$n,cron,run_cpu_us]=$(awk -v u="$user" -v s="$sys" -v n="$n" -v m="$sample" 'BEGIN { printf "%d", (u + s) * 1e6 * n / m }')
	R[$n,cron,run_cs]=$(((cs + ics) * n / sample))
	R[$n,cron,rss_kb]=$maxrss
	log "$n cron: one runbook run over $sample users: ${wall}s wall, ${user}s user, ${sys}s sys, $((cs + ics)) context switches"
	if [ "${R[$n,cron,run_wall_ms]}" -gt $((CRON_MAX_RUN_S * 1000)) ]; then
		R[$n,cron,overlap]=1
		log "$n cron: a run takes longer than ${CRON_MAX_RUN_S}s: runs would overlap, no cycles"
		return 0
	fi
	[ -n "$have_cron" ] || return 0
	if pid=$(pgrep -x -o cron); then
		log "$n cron: using the cron already running ($pid)"
	else
		cron -f </dev/null >"$WORK/cron.log" 2>&1 &
		pid=$!
		ours=1
		ACTIVE[$pid]=$pid
	fi
	add_cleanup "rm -f $file; stop_cron_runs"
	printf '* * * * * root bash %s %s >/dev/null 2>&1\n' "$bench/baseline-runbook.sh" "$SANDBOX" >"$WORK/crontab"
	chmod 0644 "$WORK/crontab"
	cp "$WORK/crontab" "$file"
	# A chain broken at a random second waits for the next minute, then for the run to reach it.
	deadline=$((75000 + 3 * ${R[$n,cron,run_wall_ms]}))
	for ((c = 1; c <= CRON_CYCLES; c++)); do
		sleep $((RANDOM % 60))
		probe "$n" "cron$c" storm -d "$deadline" -i 50
	done
	rm -f "$file"
	[ -z "$ours" ] || stop "$pid"
	stop_cron_runs
	cron_summary "$n"
}

# cron_summary N: the cycles' storms as cron's heal latency and storm figures
cron_summary() {
	local n=$1 c p50s=() maxs=() worst=0 missed=0 heal
	for ((c = 1; c <= CRON_CYCLES; c++)); do
		[ -n "${R[$n,cron$c,storm_chmod_p50_us]:-}" ] || continue
		p50s+=("${R[$n,cron$c,storm_chmod_p50_us]}")
		maxs+=("${R[$n,cron$c,storm_chmod_max_us]}")
		missed=$((missed + ${R[$n,cron$c,storm_chmod_missed]}))
		heal=${R[$n,cron$c,storm_chmod_healed_us]#>}
		[ "$heal" -le "$worst" ] || worst=$heal
		[ "${R[$n,cron$c,storm_chmod_healed_us]}" = "$heal" ] || R[$n,cron,storm_chmod_healed_us]=">$heal"
	done
	[ ${#p50s[@]} -gt 0 ] || return 0
	R[$n,cron,cycles]=${#p50s[@]}
	R[$n,cron,heal_all_p50_us]=$(printf '%s\n' "${p50s[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
	R[$n,cron,heal_all_max_us]=$(printf '%s\n' "${maxs[@]}" | sort -n | tail -1)
	R[$n,cron,heal_all_missed]=$missed
	R[$n,cron,storm_chmod_missed]=$missed
	R[$n,cron,storm_chmod_healed_us]=${R[$n,cron,storm_chmod_healed_us]:-$worst}
}

# ---------------------------------------------------------------------------------------------
# Formatting.

# us VALUE: microseconds for people ("-" stays "-")
us() {
	awk -v v="$1" 'BEGIN {
		gt = ""
		if (v == "" || v == "-") { print "–"; exit }
		if (substr(v, 1, 1) == ">") { gt = "> "; v = substr(v, 2) }
		if (v < 1000) printf "%s%d us\n", gt, v
		else if (v < 10000) printf "%s%.1f ms\n", gt, v / 1000
		else if (v < 1000000) printf "%s%d ms\n", gt, v / 1000
		else if (v < 100000000) printf "%s%.2f s\n", gt, v / 1e6
		else printf "%s%d s\n", gt, v / 1e6
	}'
}

# mb KB: kilobytes as MB
mb() {
	[ -n "$1" ] || {
		echo "–"
		return
	}
	awk -v v="$1" 'BEGIN { printf "%.1f MB\n", v / 1024 }'
}

# ratio A B: A / B, and how many times lower A is; "> X" in B (a deadline passed) makes the
# ratio an upper bound, in A a lower bound
ratio() {
	local bound=
	case "$1|$2" in
	'>'*'|>'*) bound="?" ;;
	'>'*) bound=">" ;;
	*'|>'*) bound="<" ;;
	esac
	awk -v a="${1#>}" -v b="${2#>}" -v bound="$bound" 'BEGIN {
		if (a == "" || b == "" || a == "-" || b == "-" || a + 0 <= 0 || b + 0 <= 0 || bound == "?") {
			print "–"
			exit
		}
		r = a / b
		pre = bound == "" ? "" : bound " "
		if (r < 1) printf "%s%.3g (%s%.0f× lower)\n", pre, r, bound == "<" ? "over " : "", 1 / r
		else printf "%s%.3g\n", pre, r
	}'
}

# commas N: 10000 -> 10,000
commas() {
	sed -e ':a' -e 's/\([0-9]\)\([0-9]\{3\}\)\($\|,\)/\1,\2\3/' -e 'ta' <<<"$1"
}

# get N APPROACH KEY: a recorded value, or empty
get() {
	printf '%s' "${R[$1,$2,$3]:-}"
}

# target_check: fill TARGETS ("name|wanted|measured|met") for sshmend at TARGET_SIZE users
target_check() {
	local n=$TARGET_SIZE p50 p99 ready rss storm smiss iw idle ready100 fl50 fl99
	TARGETS=()
	[ -n "$(get $n sshmend ready_us)" ] || return 0
	p50=$(get $n sshmend heal_all_p50_us)
	p99=$(get $n sshmend heal_all_p99_us)
	ready=$(get $n sshmend ready_us)
	rss=$(get $n sshmend rss_kb)
	storm=$(get $n sshmend storm_chmod_healed_us)
	smiss=$(get $n sshmend storm_chmod_missed)
	iw=$(get $n inotifywait heal_all_p50_us)
	idle=$(get $n sshmend idle_cs)
	ready100=$(get 100000 sshmend ready_us)
	verdict() { # verdict NAME TARGET VALUE MET
		TARGETS+=("$1|$2|$3|$4")
	}
	fl50=$(get $n floor heal_all_p50_us)
	fl99=$(get $n floor heal_all_p99_us)
	verdict "heal p50" "≤ 200 us" "$(us "$p50")${fl50:+ (machine floor $(us "$fl50"))}" "$( [ "${p50:--}" != - ] && [ "$p50" -le 200 ] && echo met || echo missed)"
	verdict "heal p99" "≤ 2 ms" "$(us "$p99")${fl99:+ (machine floor $(us "$fl99"))}" "$( [ "${p99:--}" != - ] && [ "$p99" -le 2000 ] && echo met || echo missed)"
	if [ -n "$iw" ] && [ "$iw" != - ] && [ "${p50:--}" != - ]; then
		verdict "heal p50 against the inotifywait loop" "≥ 20× lower" "$(ratio "$p50" "$iw")" \
			"$([ $((p50 * 20)) -le "$iw" ] && echo met || echo missed)"
	else
		verdict "heal p50 against the inotifywait loop" "≥ 20× lower" "not measured" "–"
	fi
	verdict "ready" "≤ 1 s" "$(us "$ready")" "$([ "$ready" -le 1000000 ] && echo met || echo missed)"
	if [ -n "$ready100" ]; then
		verdict "ready, 10,000 to 100,000 users" "≤ 10× (linear)" \
			"$(awk -v a="$ready100" -v b="$ready" 'BEGIN { printf "%.1f×\n", a / b }')" \
			"$([ "$ready100" -le $((ready * 10)) ] && echo met || echo missed)"
	else
		verdict "ready, 10,000 to 100,000 users" "≤ 10× (linear)" "not measured" "–"
	fi
	verdict "RSS after ready" "≤ 16 MB" "$(mb "$rss")" "$([ "$rss" -le 16384 ] && echo met || echo missed)"
	verdict "storm of 10,000, all healed" "≤ 1 s, none missed" "$(us "$storm"), $smiss missed" \
		"$([ "${storm#>}" = "$storm" ] && [ "$storm" -le 1000000 ] && [ "$smiss" -eq 0 ] && echo met || echo missed)"
	verdict "idle ${IDLE} s" "no wakeups (no watchdog here, rescan every 600 s)" "$idle context switches" \
		"$([ "$idle" -eq 0 ] && echo met || echo missed)"
}

# print_tables: everything measured, in Markdown, on stdout
print_tables() {
	local n a name ready rss idle ks storm smiss tcol mark v miss cpu kernel
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	kernel="$(uname -s) $(uname -r | cut -d. -f1,2)"
	target_check
	echo "## sshmend against the inotifywait loop, incron and the cron runbook"
	echo
	echo "Machine: $(nproc) cores, ${cpu:-unknown CPU}, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $kernel."
	echo "Date: $started; the run took $(((SECONDS - t_start) / 60)) min $(((SECONDS - t_start) % 60)) s."
	echo
	echo "Command, as root from the build directory: \`$CMDLINE\`"
	echo
	echo "| users | approach | ready | RSS | heal p50 | heal p99 | heal max | missed | storm: all healed | storm missed | idle ${IDLE} s | key sync p50 / p99 | sshmend / this: heal p50 | heal p99 | storm | target (at $(commas $TARGET_SIZE)) |"
	echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---:|---|"
	for n in "${sizes[@]}"; do
		for a in "${approaches[@]}"; do
			if [ "$a" = cron ]; then
				[ -n "$(get "$n" cron run_cpu_us)" ] || continue
			else
				[ -n "$(get "$n" "$a" ready_us)" ] || continue
			fi
			name=$a
			case $a in
			floor) name="machine floor (bench/floor)" ;;
			inotifywait) name="inotifywait loop" ;;
			incron) name="incron + runbook" ;;
			cron) name="cron + runbook" ;;
			esac
			if [ "$a" = floor ]; then
				ready="–"
				idle="–"
			elif [ "$a" = cron ]; then
				ready="next minute"
				idle="1 run/min: $(us "$(get "$n" cron run_cpu_us)") CPU, $(get "$n" cron run_cs) cs"
			else
				ready=$(us "$(get "$n" "$a" ready_us)")
				idle="$(get "$n" "$a" idle_cs) cs, $(us "$(get "$n" "$a" idle_cpu_us)") CPU"
			fi
			rss=$(mb "$(get "$n" "$a" rss_kb)")
			[ "$a" != cron ] || rss="$rss (a run)"
			if [ "$a" = sshmend ]; then
				ks="$(us "$(get "$n" sshmend keysync_all_p50_us)") / $(us "$(get "$n" sshmend keysync_all_p99_us)")"
				[ "$(get "$n" sshmend keysync_all_missed)" = 0 ] || ks="$ks, $(get "$n" sshmend keysync_all_missed) missed"
			else
				ks="–"
			fi
			storm=$(us "$(get "$n" "$a" storm_chmod_healed_us)")
			smiss=$(get "$n" "$a" storm_chmod_missed)
			if [ "$a" = floor ]; then
				storm="–"
				smiss="–"
			elif [ -n "$(get "$n" "$a" storm_skipped)" ]; then
				storm="not run"
				smiss="–"
			fi
			miss=$(get "$n" "$a" heal_all_missed)
			[ "$(get "$n" "$a" heal_all_stopped)" != 1 ] || miss="$miss (stopped after $(get "$n" "$a" heal_all_count) breaks)"
			local p50 p99 smax
			p50=$(us "$(get "$n" "$a" heal_all_p50_us)")
			p99=$(us "$(get "$n" "$a" heal_all_p99_us)")
			smax=$(us "$(get "$n" "$a" heal_all_max_us)")
			if [ "$a" = cron ]; then
				if [ -n "$(get "$n" cron overlap)" ]; then
					p50="not run: a run takes $(us $(($(get "$n" cron run_wall_ms) * 1000))), runs overlap"
					p99="–" smax="–" miss="–" storm="not run" smiss="–"
				elif [ -z "$(get "$n" cron cycles)" ]; then
					p50="not run" p99="–" smax="–" miss="–" storm="not run" smiss="–"
				else
					p99="– ($(get "$n" cron cycles) cycle$([ "$(get "$n" cron cycles)" = 1 ] || echo s))"
				fi
				[ -z "$(get "$n" cron run_sample)" ] || idle="$idle (scaled from $(commas "$(get "$n" cron run_sample)") users)"
			fi
			local r50="" r99="" rst="" tcol=""
			if [ "$a" != sshmend ]; then
				r50=$(ratio "$(get "$n" sshmend heal_all_p50_us)" "$(get "$n" "$a" heal_all_p50_us)")
				r99=$(ratio "$(get "$n" sshmend heal_all_p99_us)" "$(get "$n" "$a" heal_all_p99_us)")
				[ "$a" = floor ] ||
					rst=$(ratio "$(get "$n" sshmend storm_chmod_healed_us)" "$(get "$n" "$a" storm_chmod_healed_us)")
			elif [ "$n" = "$TARGET_SIZE" ] && [ ${#TARGETS[@]} -gt 0 ]; then
				local t
				for t in "${TARGETS[@]}"; do
					[ "${t##*|}" != missed ] || tcol+="${tcol:+; }${t%%|*}"
				done
				if [ -z "$tcol" ]; then
					tcol="all met"
				else
					tcol="**missed**: $tcol"
				fi
			fi
			printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
				"$(commas "$n")" "$name" "$ready" "$rss" "$p50" "$p99" "$smax" \
				"${miss:-–}" "$storm" "${smiss:-–}" "$idle" "$ks" "${r50:-}" "${r99:-}" "${rst:-}" "$tcol"
		done
	done
	echo
	echo "Heal latency by kind of break (p50 / p99 / max, missed):"
	echo
	echo "| users | approach | chmod 0777 of .ssh | chown of .ssh to an unknown uid | authorized_keys renamed over, mode 0666 |"
	echo "|---:|---|---|---|---|"
	for n in "${sizes[@]}"; do
		for a in sshmend inotifywait incron; do
			[ -n "$(get "$n" "$a" heal_all_count)" ] || continue
			local cols=() k
			for k in chmod chown rename; do
				if [ -n "$(get "$n" "$a" "heal_${k}_count")" ]; then
					cols+=("$(us "$(get "$n" "$a" "heal_${k}_p50_us")") / $(us "$(get "$n" "$a" "heal_${k}_p99_us")") / $(us "$(get "$n" "$a" "heal_${k}_max_us")"), $(get "$n" "$a" "heal_${k}_missed")")
				else
					cols+=("–")
				fi
			done
			printf '| %s | %s | %s | %s | %s |\n' "$(commas "$n")" "$a" "${cols[@]}"
		done
	done
	if [ ${#TARGETS[@]} -gt 0 ]; then
		echo
		echo "Targets for sshmend at $(commas $TARGET_SIZE) users:"
		echo
		echo "| target | wanted | measured | |"
		echo "|---|---|---|---|"
		local t
		for t in "${TARGETS[@]}"; do
			IFS='|' read -r name v mark miss <<<"$t"
			[ "$miss" != missed ] || miss="**missed**"
			printf '| %s | %s | %s | %s |\n' "$name" "$v" "$mark" "$miss"
		done
	fi
	echo
	echo "How it was measured:"
	echo
	echo "- Heal: ${BREAKS} breaks per size for sshmend, ${BASELINE_BREAKS} for each baseline, of random users, cycling through the three kinds above; repaired means sshd's StrictModes accepts the element again (the user's or root's, not writable by group or others), seen by a separate process (bench/probe) polling \`fstatat()\` for 2 ms, then on its own inotify watch; ${SETTLE_MS} ms between breaks; missed: not repaired within ${HEAL_DEADLINE_MS} ms."
	echo "- Machine floor: bench/floor, an inotify healer that does nothing but \`stat\` and \`chmod\` of one directory, run right after sshmend with as many breaks, the same pause and the same cores: what event delivery and the wake-up of an idle core cost on this machine, whatever the healer does."
	echo "- Storm: \`chmod 0777\` of every user's \`.ssh\` at once, then sweeps until every one is repaired; missed: not repaired ${STORM_DEADLINE_MS} ms after the first break."
	echo "- Ready: from start to READY=1 (sshmend, first start on the tree), to \"Watches established.\" (inotifywait), to every watch of the table in place (incron). RSS: the whole process tree, right after. Idle: context switches and CPU time of the tree over ${IDLE} s once it has been quiet for a second."
	echo "- Key sync (sshmend only): ${KEYSYNC} changes to the drop-in directories of $KEY_USERS users, a key added (written aside, renamed in) or removed, until \`authorized_keys\` has it or no longer has it."
	echo "- cron: the runbook over every user from \`/etc/cron.d\` each minute; heal p50 is the median over the cycles of each storm's per-chain p50, max the worst chain. Its idle cost is one run a minute, measured with \`time\`, RSS that run's largest process."
	echo "- incron: \`baseline-runbook.sh -g\` (looks before it changes anything) for the user, on each home and \`.ssh\`; the plain runbook re-triggers itself for ever, incron's loop guard not working (ar-/incron#77).${NOTE[incron_cap]:+ ${NOTE[incron_cap]}.}"
	if [ "$PIN" = 1 ]; then
		echo "- Placement: what is measured (sshmend, or a baseline with every process it starts) runs on core $((NCPU - 1)), the probe on core 0 (PIN=0 to let the scheduler place them): the probe's polling must not take the CPU from what it watches."
	else
		echo "- Placement: the scheduler's (PIN=0)."
	fi
	echo "- The sandbox's sshmend.conf sets FlapThreshold=1000000, so that a thousand breaks of one user are repaired, not backed off from. fs.inotify.max_user_watches was $WATCHES and max_queued_events $QUEUED for the run."
}

# ---------------------------------------------------------------------------------------------

for n in "${sizes[@]}"; do
	prepare_tree "$n"
	[ -n "${SKIP_SSHMEND:-}" ] || { run_sshmend "$n" && run_floor "$n"; }
	[ -z "$have_inotifywait" ] || run_inotifywait "$n"
	[ -z "$have_incron" ] || run_incron "$n"
	run_cron "$n"
	now_us
	t_rm=$NOW
	sandbox_destroy
	now_us
	log "$n users done; sandbox removed in $(((NOW - t_rm) / 1000)) ms"
done
print_tables
