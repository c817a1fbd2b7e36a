#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# SECURITY.md, scenario 17 under CPU load, with reloads: "sshmend --root SANDBOX daemon" rewrites
# authorized_keys of KEY_USERS users again and again (their drop-in directories change every few
# milliseconds) while the first APPENDERS of them append numbered lines ("# userK line N", with
# >>, as the user), their .ssh is broken (0777) in turn, the daemon is sent SIGHUP and passwd
# changes (a user added and removed) in a tight loop, and busy loops compete for every CPU. Afterwards every line each user appended is in their
# authorized_keys exactly once, counted as bench/soak.sh counts them at its end.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/keys-lib.sh"
keys_init "$@"
require_prog seq comm uniq perl nproc

APPENDERS=${KEYS_APPENDERS:-4}
# Users whose drop-in directories change: more than the replaced files followed in all (256) fit
# at 8 a user, so that making room is part of the race.
KEY_USERS=${KEYS_KEY_USERS:-40}
SECONDS_RUN=${KEYS_RACE_SECONDS:-40}

sandbox_create $((KEY_USERS + 1)) || bail "sandbox_create failed"
for k in permanent toggled; do
	keys_gen "$k" || bail "ssh-keygen failed"
done
permanent=$(keys_pub permanent)
toggled=$(keys_pub toggled)
for ((k = 1; k <= KEY_USERS; k++)); do
	keys_dropin_put "user$k" 10-permanent.pub "$permanent"
done
extra=user$((KEY_USERS + 1))
extra_line=$(grep "^$extra:" "$SANDBOX/etc/passwd")
grep -v "^$extra:" "$SANDBOX/etc/passwd" >"$TEST_TMP/passwd.without"
cp "$SANDBOX/etc/passwd" "$TEST_TMP/passwd.with"

keys_daemon_start --root "$SANDBOX"
ok "the permanent key is synced" \
	wait_until 10 '[ "$(keys_block "$(keys_ak user1)")" = "$permanent" ]'

# --- Held across rewrites, written at once ----------------------------------------------------
# user1 opens authorized_keys for appending HELD times, each time after the daemon has rewritten
# it (HELD replaced files of one user followed, as many as it follows for one user), then writes
# a line through every descriptor at once and closes them all. Carrying the first line over
# rewrites the file once more, which makes room among user1's followed files while the other
# lines wait to be read: every one of them is carried over all the same. ROUNDS times.
HELD=8
ROUNDS=${KEYS_HELD_ROUNDS:-4}
ak1=$(keys_ak user1)
drop1=$(keys_dropin_dir user1)

# held_round R: one round, its lines "# held R.N".
held_round() {
	local k n_held=0 reply ino holder
	rm -f "$TEST_TMP/held-cmd" "$TEST_TMP/held-ack"
	mkfifo -m 0644 "$TEST_TMP/held-cmd" "$TEST_TMP/held-ack" || bail "mkfifo failed"
	chmod 0666 "$TEST_TMP/held-ack"
	# shellcheck disable=SC2016 # expanded by perl
	setpriv --reuid="$(uid_of user1)" --regid="$(uid_of user1)" --clear-groups -- perl -e '
		my ($ak, $cmd, $ack, $round) = @ARGV;
		open(my $c, "<", $cmd) or die "$cmd: $!";
		open(my $a, ">", $ack) or die "$ack: $!";
		$a->autoflush(1);
		my @fh;
		while (my $l = <$c>) {
			if ($l =~ /^open/) {
				open(my $f, ">>", $ak) or die "$ak: $!";
				push @fh, $f;
				print $a "opened\n";
			} else {
				my $k = 0;
				syswrite($_, "# held $round." . ++$k . "\n") for @fh;
				close($_) for @fh;
				print $a "written\n";
				exit 0;
			}
		}' "$ak1" "$TEST_TMP/held-cmd" "$TEST_TMP/held-ack" "$1" </dev/null 2>"$TEST_TMP/held.err" &
	holder=$!
	add_cleanup "kill -KILL $holder 2>/dev/null"
	exec 7>"$TEST_TMP/held-cmd" 8<"$TEST_TMP/held-ack"
	for ((k = 1; k <= HELD; k++)); do
		echo open >&7
		read -r -t 10 reply <&8 && [ "$reply" = opened ] || break
		ino=$(stat -c %i "$ak1")
		if [ -e "$drop1/30-held.pub" ]; then
			rm -f "$drop1/30-held.pub"
		else
			keys_dropin_put user1 30-held.pub "$toggled"
		fi
		wait_until 10 '[ "$(stat -c %i "$ak1")" != "$ino" ]' || break
		n_held=$k
	done
	echo write >&7
	read -r -t 10 reply <&8
	exec 7>&- 8<&-
	wait "$holder"
	[ "$n_held" -eq "$HELD" ] && [ "${reply:-}" = written ]
}
held_ok=0
for ((r = 1; r <= ROUNDS; r++)); do
	held_round "$r" && held_ok=$((held_ok + 1))
done
is "$held_ok" "$ROUNDS" "user1 held authorized_keys open across $HELD rewrites and wrote, $ROUNDS times"
ok "every line written through them is carried over" \
	wait_until 10 '[ "$(grep -c -x -e "# held [0-9]*\.[0-9]*" "$ak1")" -ge $((HELD * ROUNDS)) ]'
is "$(grep -x -e '# held [0-9]*\.[0-9]*' "$ak1" | LC_ALL=C sort -u | wc -l)" $((HELD * ROUNDS)) \
	"each once" || diag "lost: $(comm -23 <(for ((r = 1; r <= ROUNDS; r++)); do
	seq -f "# held $r.%.0f" 1 "$HELD"
done | LC_ALL=C sort) <(grep -x -e '# held [0-9]*\.[0-9]*' "$ak1" | LC_ALL=C sort -u) | tr '\n' ' ')"
rm -f "$drop1/30-held.pub"

# --- The race under load ---------------------------------------------------------------------
stop=$TEST_TMP/stop
# Busy loops on every CPU, for the whole race.
for ((c = 0; c < $(nproc); c++)); do
	perl -e 'my $s = shift; 1 until -e $s' "$stop" &
	add_cleanup "kill -KILL $! 2>/dev/null"
done

# The appenders: "# userK line N", every 2 ms, as userK; each prints how many it wrote.
appenders=()
for ((k = 1; k <= APPENDERS; k++)); do
	# shellcheck disable=SC2016 # expanded by the user's shell
	setpriv --reuid="$(uid_of "user$k")" --regid="$(uid_of "user$k")" --clear-groups -- bash -c '
		exec 3<> <(:)
		for ((i = 1; ; i++)); do
			printf "# %s line %d\n" "$2" "$i" >>"$3"
			[ ! -e "$1" ] || break
			read -r -t 0.002 -u 3 _
		done
		echo "$i"' appender "$stop" "user$k" "$(keys_ak "user$k")" </dev/null \
		>"$TEST_TMP/appended.user$k" 2>"$TEST_TMP/appender.user$k.err" &
	appenders+=($!)
	add_cleanup "kill -KILL $! 2>/dev/null"
done

# The drop-in changes: each user's 20-toggled.pub added and removed in turn, 5 ms apart, so the
# daemon rewrites their keys files again and again.
dropdirs=()
for ((k = 1; k <= KEY_USERS; k++)); do
	dropdirs+=("$(keys_dropin_dir "user$k")")
done
perl -e '
	my ($stop, $line, @dirs) = @ARGV;
	umask 022;
	for (my $t = 0; !-e $stop; $t++) {
		for my $d (@dirs) {
			my $f = "$d/20-toggled.pub";
			if ($t % 2 == 0) {
				open(my $fh, ">", "$f.tmp") or die "$f.tmp: $!";
				print $fh "$line\n";
				close($fh) or die "$f.tmp: $!";
				rename("$f.tmp", $f) or die "$f: $!";
			} else {
				unlink($f) or die "$f: $!";
			}
		}
		select(undef, undef, undef, 0.005);
	}
' "$stop" "$toggled" "${dropdirs[@]}" &
toggler=$!
add_cleanup "kill -KILL $toggler 2>/dev/null"

# Breaks: an appender's .ssh made 0777 every 20 ms, in turn (the daemon refuses to write through
# it until it has healed it, so carrying lines over waits meanwhile).
(
	i=0
	while [ ! -e "$stop" ]; do
		chmod 0777 "$SANDBOX/home/user$((i % APPENDERS + 1))/.ssh"
		i=$((i + 1))
		sleep 0.02
	done
) &
breaker=$!
add_cleanup "kill -KILL $breaker 2>/dev/null"

# Reloads: a SIGHUP, then a user removed from or added back to passwd, every 50 ms.
(
	i=0
	while [ ! -e "$stop" ]; do
		kill -HUP "$DAEMON_PID" 2>/dev/null || exit
		sleep 0.05
		if [ $((i % 2)) -eq 0 ]; then
			cp "$TEST_TMP/passwd.without" "$SANDBOX/etc/passwd.new"
		else
			cp "$TEST_TMP/passwd.with" "$SANDBOX/etc/passwd.new"
		fi
		mv -f "$SANDBOX/etc/passwd.new" "$SANDBOX/etc/passwd"
		i=$((i + 1))
		sleep 0.05
	done
) &
reloader=$!
add_cleanup "kill -KILL $reloader 2>/dev/null"

sleep "$SECONDS_RUN"
touch "$stop"
for p in "${appenders[@]}"; do
	wait "$p"
done
wait "$toggler" "$reloader" "$breaker"
cp "$TEST_TMP/passwd.with" "$SANDBOX/etc/passwd"
ok "the daemon survived the race" daemon_alive
[ -n "$extra_line" ] || diag "no passwd line for $extra"

# Let the daemon carry what is left and settle, then stop it, so nothing is in flight.
rm -f "${dropdirs[@]/%//20-toggled.pub}"
ok "the block settles to the permanent key alone" \
	wait_until 60 '[ "$(keys_block "$(keys_ak "user$APPENDERS")")" = "$permanent" ]'
sleep 2
daemon_expect_stop "the daemon exits 0 on SIGTERM"

total=0
for ((k = 1; k <= APPENDERS; k++)); do
	ak=$(keys_ak "user$k")
	n=$(<"$TEST_TMP/appended.user$k")
	total=$((total + ${n:-0}))
	ok "user$k appended lines (${n:-none})" test "${n:-0}" -gt 0
	is "$(wc -c <"$TEST_TMP/appender.user$k.err" | tr -d ' ')" 0 "user$k's appends all succeeded" ||
		diag "$(head -n 3 "$TEST_TMP/appender.user$k.err")"
	seq -f "# user$k line %.0f" 1 "${n:-0}" | LC_ALL=C sort >"$TEST_TMP/want"
	grep "^# user$k line " "$ak" >"$TEST_TMP/got" 2>/dev/null
	lost=$(comm -23 "$TEST_TMP/want" <(LC_ALL=C sort -u "$TEST_TMP/got"))
	is "$(printf '%s' "$lost" | grep -c .)" 0 "no line user$k appended is lost" ||
		diag "lost: $(echo "$lost" | head -n 5 | tr '\n' ' ')"
	is "$(LC_ALL=C sort "$TEST_TMP/got" | uniq -d | wc -l)" 0 "no line user$k appended is doubled"
	is "$(keys_marker_count "$ak")" "1 1" "user$k's file has one begin and one end marker"
done
diag "$total lines appended by $APPENDERS users in $SECONDS_RUN s"

done_testing
