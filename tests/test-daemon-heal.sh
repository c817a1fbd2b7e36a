#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend daemon against a sandbox root of 3 users, with a private journald and a fake
# NOTIFY_SOCKET: it repairs what it finds before READY=1, then heals every way a chain can be
# broken (chmod, chown, a file renamed over the keys, ~/.ssh deleted or moved away and made
# again) within two seconds, logging each repair with the fields sshmend(8) documents. SIGHUP
# reloads (RELOADING=1, READY=1, "reloaded"); a bad configuration is logged as config-error with
# its file and line and the old one stays in force; a changed configuration or a new user in
# etc/passwd is picked up without a signal; SIGTERM stops it with status 0. Without a journal
# socket every entry is one line on stderr.
# shellcheck disable=SC2317 # functions run through ok and wait_for
# shellcheck disable=SC2016 # sh -c scripts: their arguments are expanded by that shell
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"

journald_setup "$@"
require_root
require_prog stat setpriv find
require_sshmend notify-recv

# MESSAGE_IDs are part of the interface (journalctl MESSAGE_ID=...); systemd/sshmend.catalog.
ID_STARTED=da0047d59d464a6ca9c0a307e29d3f8e
ID_RELOADED=517dbe289e594af0907a751fd268775b
ID_STOPPING=142c1754c51b4023a2762835e5509a50
ID_REPAIRED=fd0c73482cc34187b09f475469070f45
ID_REFUSED=bd598a2bcd62420bad166dc4f280faf7
ID_CONFIG_ERROR=4aef36b4fc194b7bbb0f372ed4e86ff0

sandbox_create 3 || bail "sandbox_create failed"
notify_start || bail "notify_start failed"
S=$SANDBOX
U1=20001 U2=20002 U3=20003
H1=/home/user1 H2=/home/user2 H3=/home/user3
CONF=$S/etc/sshmend/sshmend.conf

# write_conf LINE...: the sandbox's sshmend.conf, root-owned 0644, replaced in one rename.
write_conf() {
	[ -d "$S/etc/sshmend" ] || mkdir -m 0755 "$S/etc/sshmend" || return 1
	printf '%s\n' "$@" >"$CONF.tmp" && chown 0:0 "$CONF.tmp" && chmod 0644 "$CONF.tmp" &&
		mv -f "$CONF.tmp" "$CONF"
}

# This test breaks user1's chain many times within seconds; the default flap threshold (10
# repairs in 10 s) would rightly back off. The policy stays the default one (Mode=sshd).
write_conf '# written by test-daemon-heal.sh' '[Daemon]' 'FlapThreshold=1000'

# entry_summary JSONLINE: the fields of a repair entry this test checks, on one line.
entry_summary() {
	local f out=
	for f in SSHMEND_USER SSHMEND_NEW_MODE SSHMEND_NEW_OWNER SSHMEND_SSHD_REFUSED PRIORITY \
		MESSAGE_ID; do
		out+="$f=$(journal_field "$1" "$f") "
	done
	echo "${out% }"
}

recent_entries() {
	daemon_journal | tail -n 8 | while IFS= read -r l; do
		printf '%s [%s %s]\n' "$(journal_field "$l" MESSAGE)" \
			"$(journal_field "$l" SSHMEND_EVENT)" "$(journal_field "$l" PRIORITY)"
	done
}

# heal_step DESC PATH "UID GID MODE" OLD_MODE OLD_OWNER NEW_MODE NEW_OWNER REFUSED PRIORITY USER
#           -- CMD...
# Run CMD (which breaks PATH, a path inside the sandbox root), then expect PATH back at
# "UID GID MODE" within 2 s and a drift-repaired entry for PATH with that old mode and owner, whose
# other fields are as given. USER may be a glob (the element is in several users' chains).
heal_step() {
	local desc=$1 path=$2 want=$3 omode=$4 oown=$5 nmode=$6 nown=$7 refused=$8 prio=$9
	local user=${10}
	shift 10
	[ "$1" = -- ] && shift
	local q=(SSHMEND_EVENT=drift-repaired "SSHMEND_PATH=$path" "SSHMEND_OLD_MODE=$omode"
		"SSHMEND_OLD_OWNER=$oown")
	local n0 e got
	n0=$(daemon_count "${q[@]}")
	ok "$desc: break it" "$@"
	ok "$desc: healed to $want within 2 s" wait_for 2 stat_is "$S$path" "$want" ||
		diag "$path is now: $(stat -c '%u %g %04a' "$S$path" 2>&1)"
	if ok "$desc: drift-repaired entry for $path (old $omode $oown)" \
		daemon_wait_count 5 "$n0" "${q[@]}"; then
		e=$(daemon_journal "${q[@]}" | tail -n 1)
		got=$(entry_summary "$e")
		# shellcheck disable=SC2053 # USER is a glob on purpose
		if [[ $(journal_field "$e" SSHMEND_USER) == $user ]]; then
			got=${got/SSHMEND_USER=$(journal_field "$e" SSHMEND_USER) /SSHMEND_USER=$user }
		fi
		is "$got" "SSHMEND_USER=$user SSHMEND_NEW_MODE=$nmode SSHMEND_NEW_OWNER=$nown SSHMEND_SSHD_REFUSED=$refused PRIORITY=$prio MESSAGE_ID=$ID_REPAIRED" \
			"$desc: the entry's fields"
	else
		diag "latest entries of the daemon:"
		diag "$(recent_entries)"
	fi
}

# ---- Start: drift that is there before the daemon starts is repaired before READY=1.
chmod 0666 "$S$H3/.ssh/authorized_keys"
daemon_start --root "$S"
ok "the daemon sends READY=1" daemon_wait_ready 30
ok "the daemon is running" daemon_alive
ok "a STATUS= line came" notify_wait 5 '^STATUS='
status=$(grep '^STATUS=' "$NOTIFY_LOG" | tail -n 1)
ok "STATUS says 4 users (root, user1..3) and the 1 repair made at start ($status)" \
	grep -qE '^STATUS=watching 4 users, [1-9][0-9]* paths, 1 repair$' <<<"$status"
ok "STATUS= came before READY=1" \
	test "$(grep -n -m1 '^STATUS=' "$NOTIFY_LOG" | cut -d: -f1)" -lt \
	"$(grep -n -m1 '^READY=1$' "$NOTIFY_LOG" | cut -d: -f1)"
ok "the drift found at start was repaired before READY=1" \
	stat_is "$S$H3/.ssh/authorized_keys" "$U3 $U3 0644"
ok "a 'started' entry" journal_wait 5 SYSLOG_IDENTIFIER=sshmend "_PID=$DAEMON_PID" \
	SSHMEND_EVENT=started
e=$(daemon_journal SSHMEND_EVENT=started | tail -n 1)
is "$(journal_field "$e" MESSAGE_ID)" "$ID_STARTED" "started: MESSAGE_ID"
ok "started: the message counts 4 users" grep -q 'watching 4 users' <<<"$(journal_field "$e" MESSAGE)"
ok "the repair at start was logged" journal_wait 5 SYSLOG_IDENTIFIER=sshmend \
	"_PID=$DAEMON_PID" SSHMEND_EVENT=drift-repaired "SSHMEND_PATH=$H3/.ssh/authorized_keys"

# ---- The keys file.
heal_step "authorized_keys chmod 0666" "$H1/.ssh/authorized_keys" "$U1 $U1 0644" \
	0666 user1 0644 user1 1 4 user1 -- chmod 0666 "$S$H1/.ssh/authorized_keys"
chmod 0600 "$S$H1/.ssh/authorized_keys"
heal_step "authorized_keys chmod 0000 (unreadable)" "$H1/.ssh/authorized_keys" "$U1 $U1 0400" \
	0000 user1 0400 user1 1 4 user1 -- chmod 0000 "$S$H1/.ssh/authorized_keys"
chmod 0600 "$S$H1/.ssh/authorized_keys"
heal_step "authorized_keys chmod g+w" "$H1/.ssh/authorized_keys" "$U1 $U1 0600" \
	0620 user1 0600 user1 1 4 user1 -- chmod g+w "$S$H1/.ssh/authorized_keys"

# A file renamed over the keys: a new inode, found through the watch on .ssh.
rename_over_keys() {
	local tmp=$S$H1/.ssh/.authorized_keys.new
	printf '%s\n' "$SANDBOX_PUBKEY" >"$tmp" && chown "$U1:$U1" "$tmp" && chmod 0666 "$tmp" &&
		mv -f "$tmp" "$S$H1/.ssh/authorized_keys"
}
ino_before=$(stat -c %i "$S$H1/.ssh/authorized_keys")
heal_step "a 0666 file renamed over authorized_keys" "$H1/.ssh/authorized_keys" \
	"$U1 $U1 0644" 0666 user1 0644 user1 1 4 user1 -- rename_over_keys
ok "it is the new file that was repaired" \
	test "$(stat -c %i "$S$H1/.ssh/authorized_keys")" != "$ino_before"
heal_step "the renamed-in keys file chmod 0646" "$H1/.ssh/authorized_keys" "$U1 $U1 0644" \
	0646 user1 0644 user1 1 4 user1 -- chmod 0646 "$S$H1/.ssh/authorized_keys"
chmod 0600 "$S$H1/.ssh/authorized_keys"

# ---- ~/.ssh
heal_step ".ssh chmod 0777" "$H1/.ssh" "$U1 $U1 0755" \
	0777 user1 0755 user1 1 4 user1 -- chmod 0777 "$S$H1/.ssh"
chmod 0700 "$S$H1/.ssh"
heal_step ".ssh chmod 0600 (no search permission)" "$H1/.ssh" "$U1 $U1 0700" \
	0600 user1 0700 user1 1 4 user1 -- chmod 0600 "$S$H1/.ssh"

# ---- The home.
heal_step "home chmod 0777" "$H1" "$U1 $U1 0755" \
	0777 user1 0755 user1 1 4 user1 -- chmod 0777 "$S$H1"
chmod 0700 "$S$H1"
heal_step "home chmod g+w" "$H1" "$U1 $U1 0700" \
	0720 user1 0700 user1 1 4 user1 -- chmod g+w "$S$H1"
# Its parent (/home) is root's and not writable by others: the chown is undone.
heal_step "home chown to another user (user2)" "$H1" "$U1 $U1 0700" \
	0700 user2 0700 user1 1 4 user1 -- chown "$U2:$U2" "$S$H1"

# ---- /home, in every user's chain; sshd does not look above the home (safe_path() stops there).
heal_step "/home chmod 0777" /home "0 0 0755" \
	0777 root 0755 root 0 5 'user[123]' -- chmod 0777 "$S/home"
heal_step "/home chown to user1" /home "0 0 0755" \
	0755 user1 0755 root 0 5 'user[123]' -- chown "$U1:$U1" "$S/home"

# ---- Another user's element in a directory others than root can write: reported, not taken.
n0=$(daemon_count SSHMEND_EVENT=repair-refused "SSHMEND_PATH=$H1/.ssh/authorized_keys")
ok "authorized_keys chown to user2" chown "$U2:$U2" "$S$H1/.ssh/authorized_keys"
if ok "logged as repair-refused" daemon_wait_count 5 "$n0" SSHMEND_EVENT=repair-refused \
	"SSHMEND_PATH=$H1/.ssh/authorized_keys"; then
	e=$(daemon_journal SSHMEND_EVENT=repair-refused "SSHMEND_PATH=$H1/.ssh/authorized_keys" |
		tail -n 1)
	is "$(journal_field "$e" SSHMEND_USER) $(journal_field "$e" PRIORITY) $(journal_field "$e" SSHMEND_PROBLEM) $(journal_field "$e" SSHMEND_SSHD_REFUSED) $(journal_field "$e" MESSAGE_ID)" \
		"user1 3 foreign-owner 1 $ID_REFUSED" "repair-refused: user, PRIORITY, problem, refused, MESSAGE_ID"
fi
ok "the foreign-owned keys file is left as it is" stat_is "$S$H1/.ssh/authorized_keys" "$U2 $U2 0600"
chown "$U1:$U1" "$S$H1/.ssh/authorized_keys"

# ---- ~/.ssh deleted and made again by the user with umask 0: the new directory is watched.
recreate_ssh_dir() {
	rm -rf -- "$S$H1/.ssh" &&
		setpriv --reuid="$U1" --regid="$U1" --clear-groups -- sh -c 'umask 0 && mkdir "$1"' _ \
			"$S$H1/.ssh"
}
write_keys_as_user() {
	setpriv --reuid="$U1" --regid="$U1" --clear-groups -- sh -c 'umask 0 && cat >"$1"' _ \
		"$S$H1/.ssh/authorized_keys" <<<"$SANDBOX_PUBKEY"
}
# No keys file in it yet: sshd has nothing to refuse.
heal_step ".ssh deleted, made again 0777 by the user" "$H1/.ssh" "$U1 $U1 0755" \
	0777 user1 0755 user1 0 5 user1 -- recreate_ssh_dir
heal_step "then authorized_keys written 0666 in the new .ssh" "$H1/.ssh/authorized_keys" \
	"$U1 $U1 0644" 0666 user1 0644 user1 1 4 user1 -- write_keys_as_user
heal_step "the new .ssh chmod 0777" "$H1/.ssh" "$U1 $U1 0755" \
	0777 user1 0755 user1 1 4 user1 -- chmod 0777 "$S$H1/.ssh"

# ---- mv ~/.ssh ~/.old; mkdir -m 777 ~/.ssh (as root: a root-owned .ssh is fine for sshd).
move_ssh_away() {
	mv -- "$S$H1/.ssh" "$S$H1/.old" && mkdir -m 777 -- "$S$H1/.ssh"
}
heal_step "mv .ssh .old; mkdir -m 777 .ssh" "$H1/.ssh" "0 0 0755" \
	0777 root 0755 root 0 5 user1 -- move_ssh_away
ok "the moved-away directory keeps its keys file" stat_is "$S$H1/.old/authorized_keys" "$U1 $U1 0644"
chmod 0666 "$S$H1/.old/authorized_keys"
sleep 0.5
ok "and is no longer looked after (0666 stays)" stat_is "$S$H1/.old/authorized_keys" "$U1 $U1 0666"
is "$(daemon_count "SSHMEND_PATH=$H1/.old/authorized_keys")" 0 "nothing logged about .old"
put_root_keys() {
	printf '%s\n' "$SANDBOX_PUBKEY" >"$S$H1/.ssh/authorized_keys" &&
		chmod 0666 "$S$H1/.ssh/authorized_keys"
}
heal_step "keys put 0666 in the new .ssh" "$H1/.ssh/authorized_keys" "0 0 0644" \
	0666 root 0644 root 1 4 user1 -- put_root_keys
heal_step "the new .ssh chmod 0777 again" "$H1/.ssh" "0 0 0755" \
	0777 root 0755 root 1 4 user1 -- chmod 0777 "$S$H1/.ssh"

# ---- SIGHUP: RELOADING=1, then READY=1 again, and a reloaded entry.
reloads_of() { daemon_count SSHMEND_EVENT=reloaded; }
lines0=$(wc -l <"$NOTIFY_LOG")
ready0=$(notify_count '^READY=1$')
r0=$(reloads_of)
ok "SIGHUP sent" kill -HUP "$DAEMON_PID"
ok "a second READY=1 comes" wait_until 10 '[ "$(notify_count "^READY=1\$")" -gt "$ready0" ]'
after=$(tail -n +"$((lines0 + 1))" "$NOTIFY_LOG")
is "$(grep -E '^(RELOADING|READY)=1$' <<<"$after" | head -n 2 | tr '\n' ' ')" \
	"RELOADING=1 READY=1 " "RELOADING=1 came first, then READY=1"
ok "RELOADING=1 carries MONOTONIC_USEC" grep -qE '^MONOTONIC_USEC=[0-9]+$' <<<"$after"
ok "a 'reloaded' entry" daemon_wait_count 5 "$r0" SSHMEND_EVENT=reloaded
e=$(daemon_journal SSHMEND_EVENT=reloaded | tail -n 1)
is "$(journal_field "$e" MESSAGE_ID)" "$ID_RELOADED" "reloaded: MESSAGE_ID"
ok "reloaded: the message names SIGHUP" grep -q SIGHUP <<<"$(journal_field "$e" MESSAGE)"
ok "the daemon still runs after SIGHUP" daemon_alive
heal_step "after SIGHUP: authorized_keys chmod 0666" "$H2/.ssh/authorized_keys" "$U2 $U2 0644" \
	0666 user2 0644 user2 1 4 user2 -- chmod 0666 "$S$H2/.ssh/authorized_keys"

# ---- A bad value: config-error naming file:line, the old configuration stays in force.
errors_of() { daemon_count SSHMEND_EVENT=config-error; }
c0=$(errors_of)
ok "write Mode=bogus into etc/sshmend/sshmend.conf" \
	write_conf '# written by test-daemon-heal.sh' '[Daemon]' 'FlapThreshold=1000' '[Policy]' \
	'Mode=bogus'
# A change in etc/sshmend/ reloads by itself: that attempt fails first.
ok "the change alone gives a config-error" daemon_wait_count 5 "$c0" SSHMEND_EVENT=config-error
c1=$(errors_of)
ready0=$(notify_count '^READY=1$')
ok "SIGHUP sent" kill -HUP "$DAEMON_PID"
ok "SIGHUP gives another config-error" daemon_wait_count 5 "$c1" SSHMEND_EVENT=config-error
ok "and READY=1 again" wait_until 10 '[ "$(notify_count "^READY=1\$")" -gt "$ready0" ]'
e=$(daemon_journal SSHMEND_EVENT=config-error | tail -n 1)
msg=$(journal_field "$e" MESSAGE)
ok "config-error names the file and line ($msg)" grep -qF '/etc/sshmend/sshmend.conf:5' <<<"$msg"
ok "config-error names the bad value" grep -qF bogus <<<"$msg"
is "$(journal_field "$e" PRIORITY) $(journal_field "$e" MESSAGE_ID)" "3 $ID_CONFIG_ERROR" \
	"config-error: PRIORITY and MESSAGE_ID"
ok "the daemon still runs" daemon_alive
# Still the old policy (Mode=sshd): 0777 becomes 0755.
heal_step "with the bad config: .ssh chmod 0777 is still healed" "$H2/.ssh" "$U2 $U2 0755" \
	0777 user2 0755 user2 1 4 user2 -- chmod 0777 "$S$H2/.ssh"

# ---- A good configuration again, now Mode=strict: reloaded without a signal, chains redone.
r0=$(reloads_of)
n_strict=$(daemon_count SSHMEND_EVENT=drift-repaired "SSHMEND_PATH=$H2/.ssh" SSHMEND_OLD_MODE=0755)
ok "write Mode=strict" write_conf '# written by test-daemon-heal.sh' '[Daemon]' \
	'FlapThreshold=1000' '[Policy]' 'Mode=strict'
ok "reloaded without a signal" daemon_wait_count 5 "$r0" SSHMEND_EVENT=reloaded
ok "strict: user2's .ssh 0755 becomes 0700" wait_for 2 stat_is "$S$H2/.ssh" "$U2 $U2 0700"
# root's .ssh in user1's own home holds nothing but a keys file: given, as is the file.
ok "strict: user1's root-owned .ssh is given to user1, 0700" \
	wait_for 2 stat_is "$S$H1/.ssh" "$U1 $U1 0700"
ok "strict: user1's keys file too, 0600" \
	wait_for 2 stat_is "$S$H1/.ssh/authorized_keys" "$U1 $U1 0600"
if ok "strict: the .ssh repair is logged" daemon_wait_count 5 "$n_strict" \
	SSHMEND_EVENT=drift-repaired "SSHMEND_PATH=$H2/.ssh" SSHMEND_OLD_MODE=0755; then
	e=$(daemon_journal SSHMEND_EVENT=drift-repaired "SSHMEND_PATH=$H2/.ssh" \
		SSHMEND_OLD_MODE=0755 | tail -n 1)
	# sshd accepts a 0755 .ssh: a notice, not a warning.
	is "$(entry_summary "$e")" "SSHMEND_USER=user2 SSHMEND_NEW_MODE=0700 SSHMEND_NEW_OWNER=user2 SSHMEND_SSHD_REFUSED=0 PRIORITY=5 MESSAGE_ID=$ID_REPAIRED" \
		"strict: drift sshd accepted is a notice"
fi
heal_step "strict: authorized_keys chmod 0644" "$H2/.ssh/authorized_keys" "$U2 $U2 0600" \
	0644 user2 0600 user2 0 5 user2 -- chmod 0644 "$S$H2/.ssh/authorized_keys"

# ---- A user added to etc/passwd, with a broken home: healed without a signal.
make_user4() {
	local h=$S/home/user4
	mkdir -m 0777 "$h" "$h/.ssh" && printf '%s\n' "$SANDBOX_PUBKEY" >"$h/.ssh/authorized_keys" &&
		chmod 0666 "$h/.ssh/authorized_keys" && chown -R 20004:20004 "$h" &&
		chmod 0777 "$h" "$h/.ssh" || return 1
	# As useradd does: group first, then passwd, each replaced by a rename.
	{ cat "$S/etc/group" && echo 'user4:x:20004:'; } >"$S/etc/group+" &&
		mv -f "$S/etc/group+" "$S/etc/group" || return 1
	{ cat "$S/etc/passwd" && echo 'user4:x:20004:20004::/home/user4:/bin/bash'; } \
		>"$S/etc/passwd+" && mv -f "$S/etc/passwd+" "$S/etc/passwd"
}
ok "add user4 (home, .ssh 0777, keys 0666) to etc/passwd" make_user4
ok "user4's home healed" wait_for 5 stat_is "$S/home/user4" "20004 20004 0700"
ok "user4's .ssh healed" wait_for 2 stat_is "$S/home/user4/.ssh" "20004 20004 0700"
ok "user4's keys healed" wait_for 2 stat_is "$S/home/user4/.ssh/authorized_keys" "20004 20004 0600"
ok "user4's repairs are logged under user4" journal_wait 5 SYSLOG_IDENTIFIER=sshmend \
	"_PID=$DAEMON_PID" SSHMEND_EVENT=drift-repaired SSHMEND_USER=user4 SSHMEND_PATH=/home/user4
ok "STATUS now says 5 users" notify_wait 5 '^STATUS=watching 5 users, '
heal_step "user4's keys chmod 0666 later" /home/user4/.ssh/authorized_keys "20004 20004 0600" \
	0666 user4 0600 user4 1 4 user4 -- chmod 0666 "$S/home/user4/.ssh/authorized_keys"

# ---- SIGTERM: STOPPING=1, a stopping entry, exit status 0.
pid=$DAEMON_PID
daemon_stop 10
is "$DAEMON_STATUS" 0 "SIGTERM: exit status 0"
ok "STOPPING=1 was sent" notify_wait 5 '^STOPPING=1$'
ok "a 'stopping' entry" journal_wait 5 SYSLOG_IDENTIFIER=sshmend "_PID=$pid" SSHMEND_EVENT=stopping
e=$(daemon_journal SSHMEND_EVENT=stopping | tail -n 1)
is "$(journal_field "$e" MESSAGE_ID)" "$ID_STOPPING" "stopping: MESSAGE_ID"
ok "every journal entry of the daemon has a MESSAGE_ID and SSHMEND_EVENT" \
	test -z "$(daemon_journal | while IFS= read -r l; do
		journal_field "$l" MESSAGE_ID >/dev/null && journal_field "$l" SSHMEND_EVENT >/dev/null ||
			echo missing
	done)"
ok "nothing on stderr while the journal was there" test ! -s "$DAEMON_ERR"
ok "no sanitizer report" daemon_sanitizer_clean || diag "$(cat "$DAEMON_ERR")"

# ---- No journal socket: entries are lines on stderr. There is no option or variable to make the
# daemon ignore the socket, so /run/systemd/journal is hidden under an empty tmpfs in a mount
# namespace of its own.
nojournal_err=$_DAEMON_TMP/nojournal.err
hide_journal_probe() {
	unshare --mount --propagation private -- sh -c \
		'mount -t tmpfs -o size=1m,mode=0755 sshmend-test-nojournal /run/systemd/journal &&
		 test ! -e /run/systemd/journal/socket' 2>/dev/null
}
if [ -d /run/systemd/journal ] && command -v unshare >/dev/null && hide_journal_probe; then
	chmod 0666 "$S$H3/.ssh/authorized_keys" # repaired at start (Mode=strict: 0600)
	env -u NOTIFY_SOCKET unshare --mount --propagation private -- sh -c \
		'mount -t tmpfs -o size=1m,mode=0755 sshmend-test-nojournal /run/systemd/journal &&
		 exec "$@"' _ "$SSHMEND" --root "$S" daemon </dev/null 2>"$nojournal_err" &
	njpid=$!
	add_cleanup "_daemon_kill $njpid"
	ok "without a journal socket: 'started' is a line on stderr" \
		wait_for 30 grep -q '^sshmend: started: watching 5 users.*\[event=started\]$' "$nojournal_err"
	ok "the repair at start is a line on stderr, with modes, owners and the verdict" \
		grep -qF "sshmend: user3: repaired $H3/.ssh/authorized_keys: mode 0666 -> 0600" "$nojournal_err"
	ok "... ending in [event=drift-repaired old=0666,user3 new=0600,user3 sshd_refused=1]" \
		grep -qF '[event=drift-repaired old=0666,user3 new=0600,user3 sshd_refused=1]' "$nojournal_err"
	chmod 0777 "$S$H3/.ssh"
	ok "a heal is a line on stderr" wait_for 2 grep -qF \
		'[event=drift-repaired old=0777,user3 new=0700,user3 sshd_refused=1]' "$nojournal_err"
	kill -TERM "$njpid"
	wait "$njpid"
	is "$?" 0 "that daemon exits 0 on SIGTERM"
	ok "'stopping' is a line on stderr" grep -q '\[event=stopping\]$' "$nojournal_err"
	is "$(journal_query "_PID=$njpid" | grep -c '^{')" 0 "nothing of it reached the journal"
	ok "every stderr line of it is an entry" \
		test -z "$(grep -v '^sshmend: .* \[event=[a-z-]*[^]]*\]$' "$nojournal_err")" ||
		diag "$(cat "$nojournal_err")"
else
	diag "cannot hide /run/systemd/journal in a mount namespace: the stderr fallback is not tested"
fi

done_testing
