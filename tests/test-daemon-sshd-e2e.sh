#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# End to end, on the running system: a real sshd (StrictModes yes) and a real test user. sshd
# refuses the user's key once the home is 0777; with "sshmend daemon" running (no --root, a
# --config that selects only the test user) the same break heals by itself and a key login
# succeeds within a second, with no human step. The same for ~/.ssh and authorized_keys.
# shellcheck disable=SC2317 # functions run through ok and wait_for
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/lib/sshd.sh"

journald_setup "$@"
require_root
require_prog ssh ssh-keygen useradd usermod userdel getent stat ps
[ -x /usr/sbin/sshd ] || skip_all "/usr/sbin/sshd not found"
require_sshmend notify-recv

# This daemon looks after the host's / and /home, which other tests change for a moment
# (tests/test-sshd-agreement.sh): they hold a lock on /home meanwhile, and so does this test for
# as long as its daemon runs, so that it never "repairs" a state another test set up.
host_lock_home

name=smde$$
name=${name:0:16}

sshd_start || skip_all "sshd_start failed"
testuser_create "$name" || skip_all "testuser_create $name failed"
home=$(getent passwd "$name" | cut -d: -f6)
uid=$(id -u "$name")
gid=$(id -g "$name")

# Only the test user: no uid is that high, root is excluded, the test user is included.
test_tmp || skip_all "mktemp failed"
CFG=$TEST_TMP/sshmend.conf
printf '[Users]\nMinUID=4000000000\nInclude=%s\nExclude=root\n' "$name" >"$CFG"
chown 0:0 "$CFG"
chmod 0644 "$CFG"

# The daemon repairs whatever is out of policy in the user's chain, which includes the host's
# / and /home: if those would be changed, do not start it on this machine.
sshmend_precheck "$CFG" "$name"
mode0=$(stat -c %a "$home")

ok "a key login as $name works" sshd_login "$name"

# Without the daemon, sshd refuses a 0777 home: what follows is the daemon's doing.
chmod 0777 "$home"
sshd_mark
ok "without the daemon: a 0777 home refuses the key" test "$(sshd_login "$name"; echo $?)" != 0
sshd_said() { sshd_log_since_mark | grep -qF -e "$1"; }
ok "sshd says why" wait_for 2 sshd_said "bad ownership or modes for directory $home"
chmod "$mode0" "$home"

# The daemon may keep state on the running system (under LOCALSTATEDIR/lib/sshmend): remove
# what it leaves there for the test user, and the directories it had to create for that.
state_dir=${SSHMEND_LOCALSTATEDIR:+$SSHMEND_LOCALSTATEDIR/lib/sshmend}
state_created=()
if [ -n "$state_dir" ]; then
	d=$state_dir
	while [ -n "$d" ] && [ "$d" != / ] && [ ! -e "$d" ]; do
		state_created+=("$d")
		d=${d%/*}
	done
fi
state_cleanup() {
	local d
	[ -n "$state_dir" ] || return 0
	[ -d "$state_dir" ] &&
		find "$state_dir" -mindepth 1 -maxdepth 1 -name "*$name*" -exec rm -rf -- {} +
	# The machine id it records beside its state, in a directory made for the test.
	[ ${#state_created[@]} -eq 0 ] || rm -f -- "$state_dir/machine-id"
	# The daemon's lock, when the directory is ours: no other daemon had it.
	[ "${#state_created[@]}" -eq 0 ] || rm -f -- "$state_dir/daemon.lock"
	for d in "${state_created[@]}"; do
		rmdir -- "$d" 2>/dev/null
	done
	return 0
}
add_cleanup state_cleanup

notify_start || bail "notify_start failed"
daemon_start --config "$CFG"
ok "the daemon sends READY=1" daemon_wait_ready 30
ok "the daemon is running" daemon_alive
ok "STATUS says it watches 1 user" notify_wait 5 '^STATUS=watching 1 user, '
ok "the 'started' entry says 1 user" journal_wait 5 SYSLOG_IDENTIFIER=sshmend \
	"_PID=$DAEMON_PID" SSHMEND_EVENT=started
e=$(daemon_journal SSHMEND_EVENT=started | tail -n 1)
ok "... 'watching 1 user' ($(journal_field "$e" MESSAGE))" \
	grep -q 'watching 1 user,' <<<"$(journal_field "$e" MESSAGE)"
is "$(daemon_count SSHMEND_EVENT=drift-repaired)" 0 "nothing was repaired at start" ||
	diag "$(daemon_journal SSHMEND_EVENT=drift-repaired | while IFS= read -r l; do
		journal_field "$l" MESSAGE
	done)"

# login_heals DESC PATH MODE_BROKEN "UID GID MODE_HEALED"
login_heals() {
	local desc=$1 path=$2 broken=$3 want=$4 n0
	n0=$(daemon_count SSHMEND_EVENT=drift-repaired "SSHMEND_PATH=$path")
	chmod "$broken" "$path"
	sshd_mark
	ok "$desc: a key login succeeds within 1 s" wait_for 1 sshd_login "$name" ||
		diag "sshd: $(sshd_log_since_mark | tail -n 5)"
	ok "$desc: healed to $want" stat_is "$path" "$want" ||
		diag "$path is $(stat -c '%u %g %04a' "$path")"
	if ok "$desc: drift-repaired entry" daemon_wait_count 5 "$n0" SSHMEND_EVENT=drift-repaired \
		"SSHMEND_PATH=$path"; then
		e=$(daemon_journal SSHMEND_EVENT=drift-repaired "SSHMEND_PATH=$path" | tail -n 1)
		is "$(journal_field "$e" SSHMEND_USER) $(journal_field "$e" SSHMEND_OLD_MODE) $(journal_field "$e" SSHMEND_SSHD_REFUSED) $(journal_field "$e" PRIORITY)" \
			"$name $(printf %04o "0$broken") 1 4" "$desc: user, old mode, refused, priority"
	fi
}
login_heals "home chmod 0777" "$home" 777 "$uid $gid 0755"
chmod "$mode0" "$home"
login_heals ".ssh chmod 0777" "$home/.ssh" 777 "$uid $gid 0755"
chmod 0700 "$home/.ssh"
login_heals "authorized_keys chmod 0666" "$home/.ssh/authorized_keys" 666 "$uid $gid 0644"
chmod 0600 "$home/.ssh/authorized_keys"

daemon_expect_only_user "$name"

daemon_expect_stop "SIGTERM: exit status 0"

done_testing
