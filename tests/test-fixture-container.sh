#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves tests/lib/container.sh: a booted Debian 13 ("trixie") container runs OpenSSH 10 and
# systemd 257; a key login from the host as a new user works; a world-writable home makes its
# sshd refuse the key and say so in the container's journal; sshmend, built here and run inside,
# predicts that refusal in sshd's own words, and its fix lets the login through again.
# SSHMEND_TEST_CONTAINER names another suite to boot (default trixie). The first run
# debootstraps the root (minutes); later runs unpack it from /var/cache/sshmend-tests/.
# shellcheck disable=SC2016 # sh -c scripts are single-quoted on purpose
# shellcheck disable=SC2317 # functions run through ok and wait_for
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SSHMEND:=$top_builddir/sshmend}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/container.sh"

SUITE=${SSHMEND_TEST_CONTAINER:-trixie}
container_require "$SUITE"
[ -x "$SSHMEND" ] || skip_all "sshmend not built ($SSHMEND)"

U=smct
fails() { ! "$@"; }
refused_in_journal() { container_journal -o cat | grep -qF "$1"; }
host_journal_has() {
	journalctl -q --directory="$CONTAINER_ROOT/var/log/journal" -o cat 2>/dev/null | grep -qF "$1"
}
gone() { ! kill -0 "$1" 2>/dev/null; }

t0=$SECONDS
ok "container_start $SUITE" container_start "$SUITE" || done_testing
diag "container_start took $((SECONDS - t0))s ($(head -n 1 "$CONTAINER_WORK/root.log"))"
ok "CONTAINER_ROOT is a directory with an os-release" test -f "$CONTAINER_ROOT/etc/os-release"
like "$(container_run sh -c '. /etc/os-release && echo "$VERSION_CODENAME"')" "^$SUITE\$" \
	"the container runs $SUITE"
is "$(container_run hostname)" "$CONTAINER_NAME" "its hostname is CONTAINER_NAME"
is "$(container_run cat /proc/1/comm)" systemd "systemd is its init"

if [ "$SUITE" = trixie ]; then
	like "$(container_run /usr/sbin/sshd -V 2>&1)" '^OpenSSH_10\.' "sshd -V says OpenSSH 10"
	ok "sshd-session and sshd-auth are installed" \
		container_run test -x /usr/lib/openssh/sshd-session -a -x /usr/lib/openssh/sshd-auth
	like "$(container_run systemctl --version | head -n 1)" '^systemd 257 ' "systemd 257"
fi
is "$(container_run systemctl is-active ssh.service)" active "ssh.service is active"
ok "sshd -t accepts the fixture's sshd_config" container_run /usr/sbin/sshd -t
ok "container_run passes the exit status" fails container_run false
is "$(echo in | container_run cat)" in "container_run passes stdin and stdout"

ok "container_add_user $U" container_add_user "$U"
home=$(container_run getent passwd "$U" | cut -d: -f6)
is "$home" "/home/$U" "the user's home is /home/$U"
is "$(container_run stat -c '%U %a' "$home/.ssh/authorized_keys")" "$U 600" \
	"its authorized_keys is 0600 and the user's"
ok "a key login as $U from the host works" container_ssh_login "$U"

# sshd refuses, and the journal says why.
container_run chmod 777 "$home"
container_mark
ok "after chmod 777 $home the login fails" fails container_ssh_login "$U"
why="Authentication refused: bad ownership or modes for directory $home"
ok "the container's journal says: $why" wait_for 5 refused_in_journal "$why" ||
	diag "$(container_journal)"
ok "journalctl --directory on the host reads it too" wait_for 5 host_journal_has "$why"
[ "$SUITE" = trixie ] && is "$(container_journal -o cat -t sshd-session | grep -cF "$why")" 1 \
	"sshd-session logged it (OpenSSH 10)"

# sshmend, run inside on the container's own libraries, sees the same.
ok "sshmend runs in the container on its libsystemd" container_sshmend --version
rc=0
json=$(container_sshmend check --json "$U" 2>&1) || rc=$?
is "$rc" 1 "sshmend check $U exits 1 (drift found)"
ok "sshmend check says sshd would refuse the key" grep -qF '"sshd_accepts":false' <<<"$json" ||
	diag "$json"
ok "sshmend check quotes sshd: $why" grep -qF "\"sshd_message\":\"$why\"" <<<"$json"
human=$(container_sshmend check "$U" 2>&1)
ok "sshmend check names $home" grep -qF "$U: $home: " <<<"$human" || diag "$human"
ok "sshmend fix $U succeeds" container_sshmend fix "$U"
is "$(container_run stat -c %a "$home")" 755 "fix made $home 0755"
ok "the key login works again" container_ssh_login "$U"
ok "sshmend check $U is clean" container_sshmend check "$U"

# container_sshd_config: the new configuration is in force.
ok "container_sshd_config 'StrictModes no'" container_sshd_config 'StrictModes no'
container_run chmod 777 "$home"
ok "with StrictModes no the login works from a 0777 home" container_ssh_login "$U"
ok "sshmend reads it: check accepts the 0777 home" \
	grep -qF '"sshd_accepts":true' <<<"$(container_sshmend check --json "$U" 2>&1)"

pid=$CONTAINER_PID work=$CONTAINER_WORK
ok "container_stop" container_stop
ok "systemd-nspawn has exited" gone "$pid"
[ "${SSHMEND_TEST_KEEP:-0}" = 1 ] || ok "the work directory is gone" test ! -e "$work"
done_testing
