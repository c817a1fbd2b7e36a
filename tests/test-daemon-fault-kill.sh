#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# kill -9 at any moment: 8 users whose authorized_keys are 512 KiB each (so that a key sync's write
# takes a while), the drop-in directory of every user changed and a chain broken (chmod, or the home
# given to someone else) before each start, then "sshmend daemon" (most of the time), "sshmend fix"
# or "sshmend keys" started and killed with SIGKILL after a random delay within the time a start
# takes to sync them all (at most 1.5 s), 200 times (FAULT_KILLS). After every kill each keys file
# is, byte for byte, the file with the old or the new approved block, never a mix, never empty, a
# regular file of one link. Then one more start is killed while its first fsync() is held back
# (strace), so that the writer's temporary file is sure to be left. What a killed writer left
# (".authorized_keys" and ".sshmend-" and 16 hex digits beside the keys file, the same in the state
# directory) is removed when the daemon starts, and logged as leftover-removed; afterwards nothing
# of the writer's is left anywhere and every chain is as sshd wants it.
# shellcheck disable=SC2016,SC2034,SC2317 # wait_until's scripts; functions run through ok
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog sha256sum strace

KILLS=${FAULT_KILLS:-200}
N=8

sandbox_create "$N" || bail "sandbox_create failed"
keys_gen_each permanent toggled
permanent=$(keys_pub permanent)
toggled=$(keys_pub toggled)

# 512 KiB of the user's own lines under the sandbox's key.
pad=$TEST_TMP/pad
awk 'BEGIN { for (i = 0; i < 5000; i++) printf "# a line of the user'"'"'s own, %06d, kept as written %s\n", i, "........................................." }' >"$pad"
for ((k = 1; k <= N; k++)); do
	cat "$pad" >>"$(keys_ak "user$k")"
	keys_dropin_put "user$k" 10-permanent.pub "$permanent" || bail "drop-in failed"
done

toggle_on() {
	local k
	for ((k = 1; k <= N; k++)); do
		printf '%s\n' "$toggled" >"$(keys_dropin_dir "user$k")/20-toggled.pub" || return 1
	done
}
toggle_off() {
	local k
	for ((k = 1; k <= N; k++)); do
		rm -f "$(keys_dropin_dir "user$k")/20-toggled.pub"
	done
}
aks=()
for ((k = 1; k <= N; k++)); do
	aks+=("$(keys_ak "user$k")")
done
all_synced() {
	local k
	for ((k = 1; k <= N; k++)); do
		[ "$(keys_block "$(keys_ak "user$k")")" = "$1" ] || return 1
	done
}

# The two contents a keys file may have: the old block or the new one (every user's alike).
t0=$(date +%s%N)
keys_daemon_start --root "$SANDBOX"
# How long a start takes to sync every user: the kills fall within it.
span_ms=$((($(date +%s%N) - t0) / 1000000))
# ... at most the first 1.5 s of it, so that 200 kills take two minutes on a slow machine.
[ "$span_ms" -le 1500 ] || span_ms=1500
ok "the permanent key is synced" wait_until 60 'all_synced "$permanent"'
one=$(sha256sum <"$(keys_ak user1)" | awk '{ print $1 }')
toggle_on
both=$(printf '%s\n%s' "$permanent" "$toggled")
ok "the toggled key is synced" wait_until 60 'all_synced "$both"'
two=$(sha256sum <"$(keys_ak user1)" | awk '{ print $1 }')
daemon_expect_stop "the first daemon stops"

writer_files() {
	find "$SANDBOX" -name '.*.sshmend-*' -printf '%p\n' 2>/dev/null | LC_ALL=C sort
}

start=$SECONDS
bad='' mixed='' leftovers=0 seen_left=$TEST_TMP/seen-left
: >"$seen_left"
err=$TEST_TMP/killed.err
for ((i = 1; i <= KILLS; i++)); do
	if ((i % 2)); then toggle_off; else toggle_on; fi
	u=user$((RANDOM % N + 1))
	case $((RANDOM % 3)) in
	0) chmod 0777 "$SANDBOX/home/$u/.ssh" ;;
	1) chmod 0666 "$(keys_ak "$u")" ;;
	2) chown "$((SANDBOX_UID_BASE + N + 1))" "$SANDBOX/home/$u" ;; # root's /home: undone

	esac
	case $((i % 8)) in
	3) cmd=fix ;;
	6) cmd=keys ;;
	*) cmd=daemon ;;
	esac
	"$SSHMEND" --root "$SANDBOX" "$cmd" </dev/null >/dev/null 2>>"$err" &
	pid=$!
	ms=$(((RANDOM * 32768 + RANDOM) % (span_ms + 1)))
	sleep "$((ms / 1000)).$(printf '%03d' $((ms % 1000)))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# One stat and one sha256sum for all of them.
	while IFS=: read -r links type f; do
		[ "$links $type" = "1 regular file" ] ||
			bad+="kill $i ($cmd): $f is not a regular file of one link: $links $type"$'\n'
	done < <(stat -c '%h:%F:%n' -- "${aks[@]}" 2>&1)
	while read -r h f; do
		[ "$h" = "$one" ] || [ "$h" = "$two" ] ||
			mixed+="kill $i ($cmd): $f is neither the old nor the new one ($(stat -c %s "$f") bytes)"$'\n'
	done < <(sha256sum -- "${aks[@]}" 2>&1)
	left=$(writer_files)
	if [ -n "$left" ]; then
		leftovers=$((leftovers + $(wc -l <<<"$left")))
		printf '%s\n' "$left" >>"$seen_left"
	fi
done
is "$mixed" "" "after each of $KILLS kills, every keys file is the old or the new one, byte for byte"
is "$bad" "" "... and a regular file of one link"
diag "a start syncs them all in $span_ms ms"
diag "$KILLS kills in $((SECONDS - start)) s; $leftovers temporary files seen right after one"

# A kill in the middle of a write, for sure: the daemon's first fsync() (of a temporary file it
# wrote) waits 30 s, and the daemon is killed meanwhile. The toggle goes against what user1's
# keys file holds, not what the drop-in directory holds: the last kill may have come before the
# last toggle was synced, and toggling back would then leave nothing to write.
if grep -qxF -e "$toggled" "$(keys_ak user1)"; then toggle_off; else toggle_on; fi
strace -f -o /dev/null -e trace=fsync -e inject=fsync:delay_enter=30s \
	"$SSHMEND" --root "$SANDBOX" daemon </dev/null >/dev/null 2>>"$err" &
spid=$!
add_cleanup "stop_pid $spid"
ok "a start is held in the middle of a write" wait_until 60 '[ -n "$(writer_files)" ]'
# The daemon is strace's child.
read -r -a children < <(cat /proc/"$spid"/task/*/children 2>/dev/null)
for c in "${children[@]}"; do
	kill -KILL "$c"
done
wait "$spid" 2>/dev/null
mixed=
while read -r h f; do
	[ "$h" = "$one" ] || [ "$h" = "$two" ] || mixed+="$f "
done < <(sha256sum -- "${aks[@]}" 2>&1)
is "$mixed" "" "killed there, every keys file is the old or the new one"

left=$(writer_files)
n_left=$(grep -c . <<<"$left")
ok "the killed writer left its temporary file" test "$n_left" -gt 0
keys_daemon_start --root "$SANDBOX"
is "$(writer_files)" "" "the daemon's start removes every temporary file a killed writer left"
# Entries go to the journal in the loop's idle time, after the start's heals.
daemon_wait_events 10 "$n_left" leftover-removed || :
is "$(daemon_event_count leftover-removed)" "$n_left" "one leftover-removed entry for each"
missed=
while IFS= read -r p; do
	[ -n "$p" ] || continue
	[ "$(daemon_event_count leftover-removed "SSHMEND_PATH=${p#"$SANDBOX"}")" = 1 ] ||
		missed+="$p"$'\n'
done <<<"$left"
is "$missed" "" "each named by its path"
ok "every keys file holds the drop-in directory's keys" \
	wait_until 30 'all_synced "$(cat "$(keys_dropin_dir user1)"/*.pub)"'
daemon_expect_stop "the last daemon stops"
"$SSHMEND" --root "$SANDBOX" check >"$TEST_TMP/check.out" 2>&1
is "$?" 0 "no chain is left worse: check finds nothing to repair" ||
	diag "$(head -n 20 "$TEST_TMP/check.out")"
ok "the killed runs wrote no sanitizer report" \
	sh -c '! grep -E -e "^==[0-9]+==(ERROR|WARNING): [A-Za-z]*Sanitizer" -e "runtime error:" "$1"' _ "$err" ||
	diag "$(tail -n 30 "$err")"
done_testing
