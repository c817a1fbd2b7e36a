# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# A real sshd on a loopback port, and real host users to log in as. Source it after tap.sh.
# Everything here needs root: call require_root (and require_prog as needed) first.
#
# sshd_start [CONFIG_LINE...]
#                  create $SSHD_DIR (a temp dir) with an ed25519 host key and sshd_config: the
#                  CONFIG_LINEs first (sshd keeps the first value of a keyword, so they win), then
#                  ListenAddress 127.0.0.1, Port <free port>, HostKey, PidFile, StrictModes yes,
#                  UsePAM no, LogLevel VERBOSE, PasswordAuthentication no,
#                  KbdInteractiveAuthentication no, PubkeyAuthentication yes,
#                  AuthorizedKeysFile .ssh/authorized_keys.
#                  Start "/usr/sbin/sshd -D -e -f CFG -E $SSHD_LOG" in the background and wait until
#                  it listens. Exports SSHD_DIR SSHD_PORT SSHD_LOG SSHD_PID (and SSHD_CONFIG).
#                  Stopped and removed on exit.
# sshd_test_settings
#                  print the settings every test sshd runs with, as sshd_config lines (also used
#                  by tests/lib/container.sh).
# sshd_stop        stop sshd (SSHD_DIR, its keys and log stay until exit).
# sshd_restart [CONFIG_LINE...]
#                  stop, then start again in the same dir (same port if it is still free) with the
#                  new CONFIG_LINEs; the log is appended to, so marks stay valid.
# testuser_create NAME
#                  (after sshd_start) create host user NAME (useradd -m -s /bin/sh; a leftover
#                  NAME is removed first), unlock it for key logins (usermod -p '*'), make the key
#                  $SSHD_DIR/NAME.key (no passphrase) and install ~/.ssh (0700) and
#                  ~/.ssh/authorized_keys (0600) owned by NAME. Removed on exit.
# testuser_remove NAME
#                  kill NAME's processes, userdel -r NAME. Harmless if NAME does not exist.
# sshd_login NAME  try a key login as NAME with $SSHD_DIR/NAME.key; 0 if it worked, non-zero if not.
# sshd_mark        remember how long $SSHD_LOG is now.
# sshd_log_since_mark
#                  print what sshd logged since the last sshd_mark (everything if none).
# host_lock_home   hold the lock on /home for as long as the script runs: the tests that change
#                  the host's / and /home for a moment (and those whose daemon would repair that)
#                  run one at a time, also across build trees. The lock is on /home itself, so it
#                  leaves no file behind and goes with the descriptor when the script ends (sshd and
#                  ssh close inherited descriptors). skip_all after 30 minutes of waiting.

SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}

sshd_test_settings() {
	cat <<EOF
StrictModes yes
UsePAM no
LogLevel VERBOSE
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthorizedKeysFile .ssh/authorized_keys
EOF
}

_sshd_new_dir() {
	SSHD_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-sshd.XXXXXX") || return 1
	add_cleanup "_sshd_rm_dir '$SSHD_DIR'"
	chmod 0755 "$SSHD_DIR"
	SSHD_LOG=$SSHD_DIR/sshd.log
	SSHD_CONFIG=$SSHD_DIR/sshd_config
	: >"$SSHD_LOG"
	ssh-keygen -q -t ed25519 -N '' -C sshmend-test-host -f "$SSHD_DIR/host_ed25519_key" \
		</dev/null >/dev/null || return 1
	export SSHD_DIR SSHD_LOG SSHD_CONFIG
}

_sshd_rm_dir() {
	case $1 in
	*/sshmend-sshd.*) rm -rf -- "$1" ;;
	esac
}

_sshd_random_port() {
	echo $((20000 + (RANDOM * 32768 + RANDOM) % 40000))
}

_sshd_listening() { # _sshd_listening PORT OFFSET
	tail -c +"$(($2 + 1))" "$SSHD_LOG" 2>/dev/null | grep -q "Server listening on 127\.0\.0\.1 port $1\."
}

_sshd_alive() {
	kill -0 "$1" 2>/dev/null
}

# _sshd_try_start PORT LINE...: 0 listening, 1 failed, 2 port in use
_sshd_try_start() {
	local port=$1
	shift
	{
		local l
		for l in "$@"; do
			printf '%s\n' "$l"
		done
		cat <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $SSHD_DIR/host_ed25519_key
PidFile $SSHD_DIR/sshd.pid
EOF
		sshd_test_settings
	} >"$SSHD_CONFIG"

	local offset
	offset=$(stat -c %s "$SSHD_LOG")
	"$SSHD_BIN" -D -e -f "$SSHD_CONFIG" -E "$SSHD_LOG" </dev/null >>"$SSHD_DIR/sshd.out" 2>&1 &
	local pid=$!
	local deadline=$((SECONDS + 10))
	while :; do
		if _sshd_listening "$port" "$offset"; then
			SSHD_PID=$pid
			SSHD_PORT=$port
			export SSHD_PID SSHD_PORT
			return 0
		fi
		if ! _sshd_alive "$pid"; then
			wait "$pid" 2>/dev/null
			if tail -c +"$((offset + 1))" "$SSHD_LOG" | grep -q -e 'Address already in use' -e 'Cannot bind any address'; then
				return 2
			fi
			return 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			return 1
		fi
		sleep 0.01
	done
}

sshd_start() {
	if [ "${_SSHD_OWNER:-}" != "$$" ]; then
		# This script has started no sshd yet: SSHD_* came from a parent's environment.
		_SSHD_OWNER=$$
		unset SSHD_DIR SSHD_PID SSHD_PORT SSHD_LOG SSHD_CONFIG _SSHD_MARK _SSHD_CLEANUP
	fi
	if [ -n "${SSHD_PID:-}" ] && _sshd_alive "$SSHD_PID"; then
		diag "sshd_start: sshd is already running (pid $SSHD_PID)"
		return 1
	fi
	if [ ! -x "$SSHD_BIN" ]; then
		diag "sshd_start: $SSHD_BIN not found"
		return 1
	fi
	if [ -z "${SSHD_DIR:-}" ] || [ ! -d "$SSHD_DIR" ]; then
		_sshd_new_dir || {
			diag "sshd_start: cannot set up a directory and host key"
			return 1
		}
	fi
	# Privilege separation directory; Debian's sshd insists on it.
	mkdir -p /run/sshd && chmod 0755 /run/sshd
	if [ -z "${_SSHD_CLEANUP:-}" ]; then
		_SSHD_CLEANUP=1
		add_cleanup sshd_stop
	fi

	local port=${SSHD_PORT:-} tries rc
	for ((tries = 0; tries < 20; tries++)); do
		[ -n "$port" ] || port=$(_sshd_random_port)
		_sshd_try_start "$port" "$@"
		rc=$?
		[ "$rc" -eq 0 ] && return 0
		[ "$rc" -eq 2 ] || break
		port=
	done
	diag "sshd_start: sshd did not start; its log:"
	diag "$(cat "$SSHD_LOG" "$SSHD_DIR/sshd.out" 2>/dev/null)"
	return 1
}

sshd_stop() {
	[ -n "${SSHD_PID:-}" ] || return 0
	local pid=$SSHD_PID
	unset SSHD_PID
	kill "$pid" 2>/dev/null || return 0
	local i
	for ((i = 0; i < 500; i++)); do
		_sshd_alive "$pid" || break
		sleep 0.01
	done
	if _sshd_alive "$pid"; then
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	return 0
}

sshd_restart() {
	sshd_stop
	sshd_start "$@"
}

testuser_remove() {
	local name=$1
	[ -n "$name" ] || return 1
	id -u "$name" >/dev/null 2>&1 || return 0
	local uid pid i
	uid=$(id -u "$name")
	for ((i = 0; i < 50; i++)); do
		local pids=()
		for pid in $(ps -o pid= -u "$uid" 2>/dev/null); do
			pids+=("$pid")
		done
		[ ${#pids[@]} -gt 0 ] || break
		kill -KILL "${pids[@]}" 2>/dev/null
		sleep 0.02
	done
	for ((i = 0; i < 50; i++)); do
		userdel -r "$name" >/dev/null 2>&1 || userdel -r -f "$name" >/dev/null 2>&1
		id -u "$name" >/dev/null 2>&1 || return 0
		sleep 0.1 # another test holds the passwd lock
	done
	diag "testuser_remove: could not remove user $name"
	return 1
}

testuser_create() {
	local name=$1
	if [ -z "$name" ] || [ -z "${SSHD_DIR:-}" ]; then
		diag "testuser_create: needs a NAME and sshd_start first"
		return 1
	fi
	testuser_remove "$name" || return 1
	add_cleanup "testuser_remove '$name'"
	local i
	for ((i = 0; i < 50; i++)); do
		useradd -m -s /bin/sh "$name" 2>"$SSHD_DIR/useradd.err" && break
		# useradd exits 10 when another process holds the lock on the passwd files.
		if ! grep -q -i 'lock' "$SSHD_DIR/useradd.err"; then
			diag "testuser_create: useradd $name failed: $(cat "$SSHD_DIR/useradd.err")"
			return 1
		fi
		sleep 0.1
	done
	id -u "$name" >/dev/null 2>&1 || {
		diag "testuser_create: useradd $name failed: $(cat "$SSHD_DIR/useradd.err")"
		return 1
	}
	for ((i = 0; i < 50; i++)); do
		usermod -p '*' "$name" 2>/dev/null && break
		sleep 0.1
	done
	local home
	home=$(getent passwd "$name" | cut -d: -f6)
	[ -d "$home" ] || {
		diag "testuser_create: no home for $name"
		return 1
	}
	rm -f "$SSHD_DIR/$name.key" "$SSHD_DIR/$name.key.pub"
	ssh-keygen -q -t ed25519 -N '' -C "$name@sshmend-test" -f "$SSHD_DIR/$name.key" \
		</dev/null >/dev/null || return 1
	install -d -m 0700 -o "$name" -g "$(id -g "$name")" "$home/.ssh" || return 1
	install -m 0600 -o "$name" -g "$(id -g "$name")" "$SSHD_DIR/$name.key.pub" \
		"$home/.ssh/authorized_keys" || return 1
	return 0
}

sshd_login() {
	local name=$1
	if [ -z "${SSHD_PORT:-}" ] || [ -z "${SSHD_DIR:-}" ]; then
		diag "sshd_login: sshd_start first"
		return 2
	fi
	ssh -F /dev/null -i "$SSHD_DIR/$name.key" -p "$SSHD_PORT" \
		-o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR \
		"$name@127.0.0.1" true </dev/null
}

sshd_mark() {
	_SSHD_MARK=$(stat -c %s "$SSHD_LOG" 2>/dev/null) || _SSHD_MARK=0
}

sshd_log_since_mark() {
	tail -c +"$((${_SSHD_MARK:-0} + 1))" "$SSHD_LOG"
}

host_lock_home() {
	require_prog flock
	exec {_SSHD_HOME_LOCK}</home
	flock -w 1800 "$_SSHD_HOME_LOCK" || skip_all "another test held the lock on /home for 30 minutes"
}
