#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend why asks the running daemon whose keys files hold a key (its socket, /run/sshmend/why.sock),
# on the running system: real test users, "sshmend daemon" with a --config that selects three of
# them (a fourth, left out, holds a key as well: why reads its files itself). With the daemon,
# why's authorized_for is the one it gives without it, for a key others hold, one nobody holds,
# an unknown user; right after a keys file is appended to, rewritten, replaced by a rename, and
# after a user is removed; and why opens no keys file of the users the daemon answers for. A client
# that is not root is refused; a malformed request is answered "bad"; clients that connect and
# send nothing hold neither the answers nor a heal (SECURITY.md, "why's socket: root's, and never
# waited on"). Once the daemon stops, its socket is gone and why reads the files again.
# shellcheck disable=SC2317 # functions run through ok, wait_for and add_cleanup
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/lib/sshd.sh"

journald_setup "$@"
require_root
require_prog useradd userdel usermod getent ssh-keygen strace setpriv stat
PY=$(PATH=/usr/bin:/bin command -v python3) || skip_all "no python3 in /usr/bin"
require_sshmend notify-recv
SOCK=/run/sshmend/why.sock

# This daemon looks after the host's / and /home: one such test at a time (tests/lib/sshd.sh).
host_lock_home
[ -e "$SOCK" ] && skip_all "$SOCK exists: a daemon already runs on this system"
made_dir=
[ -d /run/sshmend ] || made_dir=1

test_tmp || skip_all "mktemp failed"
p=swq$$
p=${p:0:12}
A=${p}a B=${p}b C=${p}c X=${p}x
user_rm() {
	userdel -r "$1" >/dev/null 2>&1
	return 0
}
home() { getent passwd "$1" | cut -d: -f6; }
for u in "$A" "$B" "$C" "$X"; do
	user_rm "$u"
	add_cleanup "user_rm '$u'"
	{ useradd -m -s /bin/sh "$u" && usermod -p '*' "$u" && install -d -m 0700 -o "$u" -g "$u" \
		"$(home "$u")/.ssh"; } || bail "cannot create the test user $u"
done
for k in k1 k2 k3 k4; do
	ssh-keygen -q -t ed25519 -N '' -C "$k" -f "$TEST_TMP/$k" </dev/null >/dev/null ||
		bail "ssh-keygen failed"
done
# put USER KEY...: USER's authorized_keys holds the keys KEY..., and no other.
put() {
	local u=$1 f k
	f=$(home "$u")/.ssh/authorized_keys
	shift
	for k in "$@"; do cat "$TEST_TMP/$k.pub"; done >"$f"
	chown "$u:" "$f" && chmod 0600 "$f"
}
HOME_B=$(home "$B") HOME_C=$(home "$C") HOME_X=$(home "$X")
put "$A" k1
put "$B" k1 k4
put "$C" k2
put "$X" k1

CFG=$TEST_TMP/sshmend.conf
printf '[Users]\nMinUID=4000000000\nInclude=%s %s %s\nExclude=root\n' "$A" "$B" "$C" >"$CFG"
chmod 0644 "$CFG"
sshmend_precheck "$CFG" "$A"

# The daemon's state for the test users (under LOCALSTATEDIR/lib/sshmend) goes with them.
state_cleanup() {
	local d=${SSHMEND_LOCALSTATEDIR:+$SSHMEND_LOCALSTATEDIR/lib/sshmend}
	[ -n "$d" ] && [ -d "$d" ] && find "$d" -mindepth 1 -maxdepth 1 -name "*$p*" -exec rm -rf -- {} +
	return 0
}
add_cleanup state_cleanup

# why_for USER KEY: authorized_for of "sshmend why USER --key KEY" (names joined by ",", "-" for
# none).
why_for() {
	"$SSHMEND" --config "$CFG" why "$1" --key "$TEST_TMP/$2.pub" --json 2>/dev/null |
		"$PY" -c 'import json, sys
print(",".join(json.load(sys.stdin).get("authorized_for") or []) or "-")'
}
# why_hint USER KEY: the hint of "sshmend why USER --key KEY".
why_hint() {
	"$SSHMEND" --config "$CFG" why "$1" --key "$TEST_TMP/$2.pub" --json 2>/dev/null |
		"$PY" -c 'import json, sys
print(json.load(sys.stdin).get("hint"))'
}
# opens USER KEY [CONFIG]: whether "sshmend --config CONFIG why USER --key KEY" (CONFIG: the
# daemon's) opens a keys file of B, of C, of X: "B C X", each "read" or "-".
opens() {
	ASAN_OPTIONS=detect_leaks=0 strace -f -qq -e trace=openat,openat2 -o "$TEST_TMP/strace" \
		"$SSHMEND" --config "${3:-$CFG}" why "$1" --key "$TEST_TMP/$2.pub" >/dev/null 2>&1
	local h out=
	for h in "$HOME_B" "$HOME_C" "$HOME_X"; do
		if grep -qF "\"${h#/}/.ssh/authorized_keys" "$TEST_TMP/strace"; then
			out+="read "
		else
			out+="- "
		fi
	done
	echo "${out% }"
}
# client MODE SOCKET ARGS...: a client of the socket. ask: send ARGS as the request's fields, print
# the reply's fields joined by "|"; bad: send a malformed request, print the reply; hold SECONDS:
# connect and send nothing. A connect that fails prints "connect: " and why.
cat >"$TEST_TMP/client.py" <<'EOF'
import socket, sys, time
mode = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s.connect(sys.argv[2])
except OSError as e:
    print("connect:", e.strerror)
    sys.exit(0)
if mode == "hold":
    time.sleep(float(sys.argv[3]))
    sys.exit(0)
s.send(b"\0".join(a.encode() for a in sys.argv[3:]) + b"\0" if mode == "ask" else b"garbage")
s.settimeout(2)
print("|".join(f.decode() for f in s.recv(65536).split(b"\0")[:-1]))
EOF
client() { "$PY" "$TEST_TMP/client.py" "$@"; }

# --- Without the daemon: the scan's answers ---------------------------------------------------
is "$(why_for "$C" k1)" "$A,$B,$X" "no daemon: the key of A, B and X (left out of the daemon's users)"
is "$(why_for "$A" k2)" "$C" "no daemon: C's key"
is "$(why_for "$A" k3)" "-" "no daemon: a key nobody holds"
is "$(why_for nosuch$$ k1)" "$A,$B,$X" "no daemon: an unknown user"
is "$(opens "$A" k3)" "read read read" "no daemon: why reads the keys files of B, C and X"
# An unknown user and a key nobody holds: the users with any key (or the image's default user).
hint0=$(why_hint nosuch$$ k3)
ok "no daemon: an unknown user's hint ($hint0)" test -n "$hint0"

# --- With the daemon ---------------------------------------------------------------------------
notify_start || bail "notify_start failed"
daemon_start --config "$CFG"
ok "the daemon sends READY=1" daemon_wait_ready 30 || done_testing
ok "its socket is there" test -S "$SOCK"
is "$(stat -c '%u %a' "$SOCK") $(stat -c '%u %a' /run/sshmend)" "0 600 0 700" \
	"socket 0600 in a directory 0700, root's"
is "$(why_for "$C" k1)" "$A,$B,$X" "daemon: the key of A, B and X"
is "$(why_for "$A" k2)" "$C" "daemon: C's key"
is "$(why_for "$A" k3)" "-" "daemon: a key nobody holds"
is "$(why_for nosuch$$ k1)" "$A,$B,$X" "daemon: an unknown user"
is "$(opens "$A" k3)" "- - read" "daemon: why reads no keys file of B or C, X's still"
# Another configuration, another user set: the daemon's answer is not why's, which reads them all.
printf '[Users]\nMinUID=4000000000\nInclude=%s %s\nExclude=root\n' "$A" "$B" >"$TEST_TMP/other.conf"
is "$(opens "$A" k3 "$TEST_TMP/other.conf")" "read read read" \
	"daemon, why with another user set: why reads every keys file itself"
is "$(why_hint nosuch$$ k3)" "$hint0" "daemon: the unknown user's hint as without it"

# Edits, asked at once: the heal an edit brings comes before the question in the daemon's loop.
cat "$TEST_TMP/k3.pub" >>"$(home "$C")/.ssh/authorized_keys"
is "$(why_for "$A" k3)" "$C" "appended to C's keys file: at once"
put "$B" k4
is "$(why_for "$C" k1)" "$A,$X" "B's keys file rewritten without the key: at once"
sed -i '/ k2$/d' "$(home "$C")/.ssh/authorized_keys"
is "$(why_for "$A" k2)" "-" "C's keys file replaced (sed -i, a rename): at once"
chmod 0000 "$(home "$C")/.ssh/authorized_keys"
is "$(why_for "$A" k3)" "$C" "a keys file of mode 0000: root reads it, as before"
chmod 0600 "$(home "$C")/.ssh/authorized_keys"
user_rm "$B"
is "$(why_for "$A" k4)" "-" "user B removed: its key with it"
is "$(why_for "$C" k1)" "$A,$X" "... the others' answers as before"

# --- Clients -------------------------------------------------------------------------------------
fp1=$(ssh-keygen -lf "$TEST_TMP/k1.pub" | awk '{ print $2 }')
is "$(client ask "$SOCK" sshmend-why-1 "$fp1" "" 8 | cut -d'|' -f1,3-)" "ok|0|1|$A" \
	"root's question: ok, none unknown, the holders among the daemon's users (not X)"
is "$(client bad "$SOCK")" "bad" "a malformed request: bad"
nobody=$(id -u nobody) || bail "no user nobody"
is "$(setpriv --reuid="$nobody" --regid="$nobody" --clear-groups "$PY" "$TEST_TMP/client.py" \
	ask "$SOCK" sshmend-why-1 "$fp1" "" 8)" "connect: Permission denied" \
	"nobody cannot reach the socket"
is "$(setpriv --reuid="$nobody" --regid="$nobody" --clear-groups --inh-caps=+dac_override \
	--ambient-caps=+dac_override "$PY" "$TEST_TMP/client.py" ask "$SOCK" sshmend-why-1 \
	"$fp1" "" 8)" "refused" "a client that is not root, past the directory's mode: refused"

# Clients that connect and send nothing, more than the daemon holds: a break is healed, why is
# answered.
holders=()
for _ in 1 2 3 4 5 6; do
	client hold "$SOCK" 5 &
	holders+=($!)
done
sleep 0.3
ssh_dir=$(home "$C")/.ssh
chmod 0777 "$ssh_dir"
# healed DIR: DIR is writable by its owner alone.
healed() { [ $((0$(stat -c %a "$1") & 022)) -eq 0 ]; }
ok "idle clients connected: C's ~/.ssh 0777 is healed" wait_for 2 healed "$ssh_dir" ||
	diag "$(stat -c '%u %g %a' "$ssh_dir")"
is "$(why_for "$A" k3)" "$C" "idle clients connected: why is answered"
kill "${holders[@]}" 2>/dev/null
wait "${holders[@]}" 2>/dev/null

# --- The daemon stops ------------------------------------------------------------------------------
daemon_expect_stop "the daemon stops cleanly"
ok "its socket is gone" test ! -e "$SOCK"
[ -z "$made_dir" ] || ok "the directory it made is gone" test ! -e /run/sshmend
is "$(why_for "$C" k1)" "$A,$X" "no daemon again: the scan's answer"
is "$(opens "$A" k3)" "- read read" "no daemon again: why reads the keys files of C and X"

done_testing
