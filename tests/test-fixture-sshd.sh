#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves tests/lib/sshd.sh: a real sshd with StrictModes refuses a key login when the home is
# world-writable, says why in its log, and accepts it again once the mode is fixed.
# shellcheck disable=SC2317 # functions run through ok and wait_for
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sshd.sh"

require_root
require_prog ssh ssh-keygen useradd usermod userdel ps
[ -x /usr/sbin/sshd ] || skip_all "/usr/sbin/sshd not found"

# Negations as commands for ok.
not_running() { ! kill -0 "$1" 2>/dev/null; }
no_user() { ! id "$1" >/dev/null 2>&1; }
lacks() { ! grep -qF -e "$2" <<<"$1"; }

name=smfx$$
name=${name:0:16}

ok "sshd_start" sshd_start
ok "SSHD_DIR exists" test -d "$SSHD_DIR"
ok "SSHD_PID is a running process" kill -0 "$SSHD_PID"
is "$(cat "/proc/$SSHD_PID/comm" 2>/dev/null)" sshd "SSHD_PID is sshd"
ok "SSHD_PORT is a port number ($SSHD_PORT)" test "$SSHD_PORT" -gt 1024 -a "$SSHD_PORT" -lt 65536
ok "sshd logs to SSHD_LOG" grep -q "Server listening on 127.0.0.1 port $SSHD_PORT" "$SSHD_LOG"
ok "sshd -T accepts the generated config" /usr/sbin/sshd -t -f "$SSHD_CONFIG"

ok "testuser_create $name" testuser_create "$name"
home=$(getent passwd "$name" | cut -d: -f6)
ok "the user exists with a home" test -n "$home" -a -d "$home"
is "$(getent passwd "$name" | cut -d: -f7)" /bin/sh "its shell is /bin/sh"
is "$(stat -c '%U %a' "$home/.ssh")" "$name 700" "the home's .ssh is 0700 and the user's"
is "$(stat -c '%U %a' "$home/.ssh/authorized_keys")" "$name 600" "its authorized_keys is 0600 and the user's"
ok "the private key is at SSHD_DIR/NAME.key" test -f "$SSHD_DIR/$name.key"

ok "key login succeeds" sshd_login "$name"

chmod 777 "$home"
sshd_mark
rc=0
sshd_login "$name" || rc=$?
ok "key login fails once the home is mode 777 (exit $rc)" test "$rc" -ne 0
log_has_refusal() {
	sshd_log_since_mark | grep -qF "Authentication refused: bad ownership or modes for directory $home"
}
ok "sshd logs why, after the mark" wait_for 5 log_has_refusal
ok "the log before the mark is not repeated" lacks "$(sshd_log_since_mark)" "Server listening"
ok "but it is still in SSHD_LOG" grep -q "Server listening" "$SSHD_LOG"

chmod 755 "$home"
sshd_mark
ok "key login succeeds again after chmod 755" sshd_login "$name"
ok "no refusal logged since the mark" lacks "$(sshd_log_since_mark)" "Authentication refused"
log_has_accept() {
	sshd_log_since_mark | grep -qF "Accepted publickey for $name from 127.0.0.1"
}
ok "the accepted key is logged" wait_for 5 log_has_accept

# Lines given to sshd_start/sshd_restart come first, so they win.
chmod 777 "$home"
old_pid=$SSHD_PID
ok "sshd_restart 'StrictModes no'" sshd_restart "StrictModes no"
ok "the old sshd is gone" not_running "$old_pid"
ok "a new sshd runs" kill -0 "$SSHD_PID"
is "$(head -1 "$SSHD_CONFIG")" "StrictModes no" "the extra line is first in the config"
ok "with StrictModes no the 777 home is accepted" sshd_login "$name"
ok "sshd_restart back to defaults" sshd_restart
rc=0
sshd_login "$name" || rc=$?
ok "with the defaults the 777 home is refused again" test "$rc" -ne 0
chmod 755 "$home"

rc=0
sshd_login "nosuchuser$$" 2>/dev/null || rc=$?
ok "an unknown user cannot log in (exit $rc)" test "$rc" -ne 0

pid=$SSHD_PID
ok "sshd_stop" sshd_stop
ok "sshd is stopped" not_running "$pid"

ok "testuser_remove" testuser_remove "$name"
ok "the user is gone" no_user "$name"
ok "its home is gone" test ! -e "$home"

# Cleanup on exit: a child makes an sshd and a user and fails; both must be gone afterwards.
child=smfc$$
child=${child:0:16}
out=$(bash -c '. "$1/tests/lib/tap.sh"; . "$1/tests/lib/sshd.sh"
	sshd_start >/dev/null 2>&1 || exit 9
	testuser_create "$2" >/dev/null 2>&1 || exit 9
	kill -0 "$SSHD_PID" && [ -d "$SSHD_DIR" ] && id "$2" >/dev/null || exit 9
	echo "$SSHD_PID $SSHD_DIR"
	exit 1' _ "$top_srcdir" "$child")
read -r child_pid child_dir <<<"$out"
ok "a child started sshd ($child_pid) and made a user" test -n "$child_dir"
ok "with its own SSHD_DIR, not the inherited one" \
	test "$child_dir" != "$SSHD_DIR" -a "${child_dir#*/sshmend-sshd.}" != "$child_dir"
ok "its sshd is stopped when it exits" not_running "$child_pid"
ok "its SSHD_DIR is removed" test ! -e "$child_dir"
ok "its user is removed" no_user "$child"

done_testing
