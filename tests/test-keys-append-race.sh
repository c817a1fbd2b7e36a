#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenarios 17 and 7 against "sshmend --root SANDBOX daemon" writing approved keys.
#
# 17: the user appends lines ("# line N", with >>, as the user) to authorized_keys in a loop
# while the test changes the drop-in directory 1,000 times (a second key file added and removed
# in turn, so that the daemon rewrites the file again and again). Afterwards every line the user
# appended is there exactly once, the approved block is what the final drop-in directory says,
# and no temporary file of the writer is left behind. Then the user holds authorized_keys open
# for appending (cat >>, a key pasted later) while the daemon rewrites it once, and again while
# it rewrites it 18 times, more than the 8 replaced files it follows for one user: what is
# written through the descriptor is carried over, once, both times.
#
# 7: before the race, the user plants a symlink to a file outside the sandbox, a symlink to the
# sandbox's etc/passwd, a FIFO and a file of its own under names like the writer's temporary
# files (".authorized_keys.sshmend-" and 16 hex digits). The writer picks a fresh random name
# with O_EXCL, so none of them is ever opened, followed, reused or renamed: afterwards each is
# as planted and the targets are unchanged.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog mkfifo sha256sum seq comm uniq perl

TOGGLES=${KEYS_TOGGLES:-1000}
MAX_LINES=50000

sandbox_create 1 || bail "sandbox_create failed"
ak=$(keys_ak user1)
sshdir=$SANDBOX/home/user1/.ssh
dropdir=$(keys_dropin_dir user1)

for k in permanent toggled; do
	keys_gen "$k" || bail "ssh-keygen failed"
done
permanent=$(keys_pub permanent)
toggled=$(keys_pub toggled)
toggled_b64=$(awk '{ print $2 }' "$TEST_TMP/toggled.pub")
keys_dropin_put user1 10-permanent.pub "$permanent"

keys_daemon_start --root "$SANDBOX"
ok "the permanent key is synced" wait_until 10 '[ "$(keys_block "$ak")" = "$permanent" ]'

# --- Scenario 7: plants --------------------------------------------------------------------
outside=$TEST_TMP/outside
mkdir -m 0755 "$outside"
echo "outside, not a keys file" >"$outside/target"
chmod 0644 "$outside/target"
plant_link_out=.authorized_keys.sshmend-0123456789abcdef
plant_link_passwd=.authorized_keys.sshmend-fedcba9876543210
plant_fifo=.authorized_keys.sshmend-00000000deadbeef
plant_file=.authorized_keys.sshmend-ffffffffffffffff
# shellcheck disable=SC2016 # expanded by the user's shell
if ! run_as user1 ln -s "$outside/target" "$sshdir/$plant_link_out" ||
	! run_as user1 ln -s ../../../etc/passwd "$sshdir/$plant_link_passwd" ||
	! run_as user1 mkfifo -m 0666 "$sshdir/$plant_fifo" ||
	! run_as user1 sh -c 'echo planted >"$1"' sh "$sshdir/$plant_file"; then
	bail "planting as user1 failed"
fi
plants=("$plant_link_out" "$plant_link_passwd" "$plant_fifo" "$plant_file")

# Everything that must stay as planted: names, types, owners, modes, link targets, contents.
plant_state() {
	local p
	for p in "${plants[@]}"; do
		stat -c '%n %F %u %g %a %i' -- "$sshdir/$p" 2>&1
		[ -L "$sshdir/$p" ] && echo "-> $(readlink -- "$sshdir/$p")"
		[ -f "$sshdir/$p" ] && [ ! -L "$sshdir/$p" ] && sha256sum <"$sshdir/$p"
	done
	stat -c '%n %F %u %g %a %s %Y' -- "$outside" "$outside/target" "$SANDBOX/etc/passwd"
	sha256sum <"$outside/target"
	sha256sum <"$SANDBOX/etc/passwd"
}
plants_before=$(plant_state)

# --- Scenario 17: the race -----------------------------------------------------------------
stop=$TEST_TMP/stop
count_file=$TEST_TMP/appended-count
: >"$count_file"
# shellcheck disable=SC2016 # expanded by the user's shell
setpriv --reuid="$(uid_of user1)" --regid="$(uid_of user1)" --clear-groups -- bash -c '
	exec 3<> <(:)
	i=0
	while [ ! -e "$1" ] && [ "$i" -lt "$2" ]; do
		i=$((i + 1))
		printf "# line %d\n" "$i" >>"$3"
		read -r -t 0.002 -u 3 _
	done
	echo "$i"' appender "$stop" "$MAX_LINES" "$ak" </dev/null >"$count_file" 2>"$TEST_TMP/appender.err" &
appender=$!
add_cleanup "kill -KILL $appender 2>/dev/null; wait $appender 2>/dev/null"
ok "the user's appender runs" wait_for 5 grep -q '^# line 2$' "$ak"

# The drop-in changes, without a fork per change (forks would set the pace on a busy machine):
# perl adds and removes 20-toggled.pub in turn, 3 ms apart, and counts how often it sees
# authorized_keys replaced (a new inode) meanwhile.
rewrites=$(perl -e '
	my ($file, $line, $ak, $n) = @ARGV;
	my $seen = (stat $ak)[1];
	my $rewrites = 0;
	umask 022;
	for my $t (1 .. $n) {
		if ($t % 2) {
			open(my $fh, ">", $file) or die "$file: $!";
			print $fh "$line\n";
			close($fh) or die "$file: $!";
		} else {
			unlink($file) or die "$file: $!";
		}
		select(undef, undef, undef, 0.003);
		my $ino = (stat $ak)[1];
		if (defined $ino && $ino != $seen) {
			$rewrites++;
			$seen = $ino;
		}
	}
	print "$rewrites\n";
' "$dropdir/20-toggled.pub" "$toggled" "$ak" "$TOGGLES")
diag "authorized_keys was seen replaced ${rewrites:-?} times during $TOGGLES drop-in changes"
ok "the daemon rewrote authorized_keys during the race (at least 20 times seen: ${rewrites:-?})" \
	test "${rewrites:-0}" -ge 20
ok "the drop-in file is gone after an even number of changes" test ! -e "$dropdir/20-toggled.pub"
ok "the appender was still running at the end of the race" kill -0 "$appender"

if wait_until 10 '[ "$(keys_block "$ak")" = "$permanent" ]'; then
	diag "the block settled while the user was still appending"
else
	diag "the block had not settled 10 s after the race while the user kept appending:" \
		"$(daemon_event_count repair-failed) repair-failed entries"
fi
touch "$stop"
wait "$appender"
ok "the block settles to the final drop-in (the permanent key alone)" \
	wait_until 20 '[ "$(keys_block "$ak")" = "$permanent" ]'
appended=$(<"$count_file")
diag "the user appended $appended lines"
ok "the user appended lines (${appended:-none})" test "${appended:-0}" -gt 0

# The same with the window held open: a user who opened authorized_keys for appending before a
# rewrite and writes after it (cat >>~/.ssh/authorized_keys, then paste a key).
# hold_open LINE FIFO: user1 opens authorized_keys for appending, and writes LINE through that
# descriptor once FIFO (made here) is written to; $holder is its pid.
hold_open() {
	mkfifo -m 0644 "$2" || bail "mkfifo failed"
	# shellcheck disable=SC2016 # expanded by the user's shell
	setpriv --reuid="$(uid_of user1)" --regid="$(uid_of user1)" --clear-groups -- \
		sh -c 'exec 5>>"$1" && read -r _ <"$2" && printf "%s\n" "$3" >&5' \
		holder "$ak" "$2" "$1" </dev/null &
	holder=$!
	add_cleanup "kill -KILL $holder 2>/dev/null; wait $holder 2>/dev/null"
	ok "the user holds authorized_keys open for appending" wait_for 5 test -e "/proc/$holder/fd/5"
}
held_line="# written through a descriptor opened before the rewrite"
hold_open "$held_line" "$TEST_TMP/go"
ino0=$(stat -c %i "$ak")
keys_dropin_put user1 30-held.pub "$toggled"
ok "the daemon rewrites authorized_keys meanwhile" \
	wait_until 10 '[ "$(stat -c %i "$ak")" != "$ino0" ] && [ "$(grep -c -F -e "$toggled_b64" "$ak")" -eq 1 ]'
echo go >"$TEST_TMP/go"
wait "$holder"
# The descriptor writes into the replaced file; the daemon follows that inode and carries
# the line into the new authorized_keys, once.
ok "the line written through that descriptor is carried into authorized_keys" \
	wait_for 5 grep -q -x -F -e "$held_line" "$ak"
is "$(grep -c -x -F -e "$held_line" "$ak")" 1 "it is there once"
rm -f "$dropdir/30-held.pub"
ok "the block settles again" wait_until 10 '[ "$(keys_block "$ak")" = "$permanent" ]'

# Held open across more rewrites than the daemon follows replaced files of one user: the file
# the user still holds open for writing is followed to the end, others make room.
held_long="# written through a descriptor held across $((2 * 8 + 2)) rewrites"
hold_open "$held_long" "$TEST_TMP/go-long"
n_rewrites=0
for ((i = 0; i < 2 * 8 + 2; i++)); do
	keys_rewrite user1 30-held.pub "$toggled" && n_rewrites=$((n_rewrites + 1))
done
is "$n_rewrites" $((2 * 8 + 2)) "the daemon rewrote authorized_keys $((2 * 8 + 2)) times meanwhile"
echo go >"$TEST_TMP/go-long"
wait "$holder"
ok "the line written through that descriptor is carried into authorized_keys" \
	wait_for 5 grep -q -x -F -e "$held_long" "$ak"
is "$(grep -c -x -F -e "$held_long" "$ak")" 1 "it is there once"
rm -f "$dropdir/30-held.pub"
ok "the block settles once more" wait_until 10 '[ "$(keys_block "$ak")" = "$permanent" ]'

# Let the daemon see the last changes, then stop it, so nothing is in flight.
sleep 1
ok "the daemon is still running" daemon_alive
daemon_expect_stop "the daemon exits 0 on SIGTERM"

grep '^# line ' "$ak" >"$TEST_TMP/got" 2>/dev/null
seq -f '# line %.0f' 1 "${appended:-0}" >"$TEST_TMP/want"
lost_n=$(comm -23 <(LC_ALL=C sort "$TEST_TMP/want") <(LC_ALL=C sort -u "$TEST_TMP/got") | wc -l)
dup_n=$(LC_ALL=C sort "$TEST_TMP/got" | uniq -d | wc -l)
extra_n=$(comm -13 <(LC_ALL=C sort "$TEST_TMP/want") <(LC_ALL=C sort -u "$TEST_TMP/got") | wc -l)
is "$lost_n" 0 "no appended line is lost" ||
	diag "first missing: $(comm -23 <(LC_ALL=C sort "$TEST_TMP/want") <(LC_ALL=C sort -u "$TEST_TMP/got") | head -n 5 | tr '\n' ' ')"
is "$dup_n" 0 "no appended line is doubled" ||
	diag "first doubled: $(LC_ALL=C sort "$TEST_TMP/got" | uniq -d | head -n 5 | tr '\n' ' ')"
is "$extra_n" 0 "no line that was never appended"
if cmp -s "$TEST_TMP/got" "$TEST_TMP/want"; then
	diag "the appended lines are in order"
else
	diag "the appended lines are all there, not all in order"
fi
is "$(keys_block "$ak")" "$permanent" "the approved block holds the permanent key alone"
is "$(keys_marker_count "$ak")" "1 1" "one begin and one end marker"
is "$(grep -c -F -e "$toggled_b64" "$ak")" 0 "the removed key is nowhere in authorized_keys"
is "$(head -n 1 "$ak")" "$SANDBOX_PUBKEY" "the user's own key is still the first line"
is "$(grep -c -v -x -F -e "$SANDBOX_PUBKEY" -e "$KEYS_BEGIN" -e "$KEYS_END" -e "$permanent" \
	-e "$held_line" -e "$held_long" "$ak" |
	tr -d ' ')" "$(wc -l <"$TEST_TMP/got" | tr -d ' ')" "no other line in authorized_keys"
ok "authorized_keys is user1's, 0600, one link" \
	test "$(stat -c '%u %g %a %h %F' "$ak")" = "20001 20001 600 1 regular file"

# No temporary file left: only the planted names match the writer's pattern.
left=$(cd "$SANDBOX" && find . -name '.authorized_keys.sshmend-*' -printf '%f\n' | LC_ALL=C sort)
is "$left" "$(printf '%s\n' "${plants[@]}" | LC_ALL=C sort)" \
	"no stray .authorized_keys.sshmend-* left, the planted ones stay" ||
	diag "$(cd "$SANDBOX" && find . -name '*.sshmend-*' -ls)"
is "$(cd "$SANDBOX" && find . -name '*sshmend-*' ! -name '.authorized_keys.sshmend-*' | wc -l)" 0 \
	"no other temporary file anywhere in the sandbox"

# --- Scenario 7: the plants are as planted -------------------------------------------------
plants_after=$(plant_state)
is "$plants_after" "$plants_before" "planted symlinks, FIFO and file untouched; targets unchanged" ||
	diag "$(diff <(echo "$plants_before") <(echo "$plants_after"))"
ok "the symlink out of the sandbox is still a symlink" test -L "$sshdir/$plant_link_out"
ok "the FIFO is still a FIFO" test -p "$sshdir/$plant_fifo"
is "$(cat "$outside/target")" "outside, not a keys file" "the file outside the sandbox is unchanged"
ok "the sandbox's etc/passwd holds no key" test "$(grep -c -e ssh- "$SANDBOX/etc/passwd")" -eq 0

done_testing
