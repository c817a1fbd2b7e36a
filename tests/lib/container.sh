# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# shellcheck disable=SC2016 # sh -c scripts are single-quoted on purpose: their $1 is theirs
# shellcheck disable=SC2119,SC2120 # container_sshd_config's LINEs are optional
# A booted Debian container with its own sshd, to hold sshmend against another release's sshd
# (Debian 13 "trixie": OpenSSH 10, whose per-connection work is done by sshd-session and
# sshd-auth, and systemd 257). Source it after tap.sh; everything here needs root.
#
# The root comes from tests/lib/debroot.sh (debootstrapped once from the mirror apt uses here,
# then cached in /var/cache/sshmend-tests/), is unpacked afresh into a work directory for every
# container_start, and boots with systemd-nspawn -b on the host's network: the container's sshd
# listens on 127.0.0.1 at a free port, so ssh on the host logs in to it. Nothing of the container
# is registered with systemd-machined; commands enter it with nsenter.
#
# container_require SUITE
#                  skip_all unless this can run: root, systemd-nspawn, nsenter, ssh, and
#                  debootstrap unless the root of SUITE is cached already.
# container_start SUITE
#                  unpack and boot a root of SUITE, wait until systemd has finished starting and
#                  sshd listens. Exports CONTAINER_SUITE, CONTAINER_NAME (its hostname),
#                  CONTAINER_WORK (the work directory), CONTAINER_ROOT (its root directory, seen
#                  from the host), CONTAINER_PID (systemd-nspawn), CONTAINER_LEADER (its init, as
#                  a host pid), CONTAINER_SSHD_PORT and CONTAINER_KEYS (where the users' keys
#                  are). Stopped and removed on exit. SSHMEND_TEST_KEEP=1 keeps the work directory
#                  (with the console log) and names it.
# container_run CMD [ARGS...]
#                  run CMD inside the container, as its root, with a clean environment (PATH,
#                  HOME, LANG; ASAN_OPTIONS, UBSAN_OPTIONS and LSAN_OPTIONS pass through);
#                  stdin, stdout, stderr and the exit status are CMD's.
# container_copy_in SRC DST
#                  copy the host file or directory SRC to the path DST in the container (a file
#                  keeps its mode; DST is its full new name), owned by the container's root.
# container_add_user NAME
#                  useradd -m NAME in the container, unlocked for key logins; make the key
#                  $CONTAINER_KEYS/NAME (no passphrase) and install ~/.ssh (0700) and
#                  ~/.ssh/authorized_keys (0600) owned by NAME.
# container_sshd_config [LINE...]
#                  write /etc/ssh/sshd_config: the LINEs first (sshd keeps the first value of a
#                  keyword), then Port, ListenAddress 127.0.0.1 and sshd_test_settings of
#                  tests/lib/sshd.sh (StrictModes yes, UsePAM no, LogLevel VERBOSE, public keys
#                  only, AuthorizedKeysFile .ssh/authorized_keys); then restart ssh.service and wait until it is ready. container_start calls it
#                  without LINEs.
# container_ssh_login USER [KEY]
#                  try a real key login from the host as USER with KEY ($CONTAINER_KEYS/USER by
#                  default); 0 if it worked, non-zero if not.
# container_mark   remember where the container's journal ends now.
# container_journal [JOURNALCTL-ARGS...]
#                  print what ssh.service (sshd, sshd-session, sshd-auth) logged since the last
#                  container_mark (this boot if none), one line per entry. The journal is
#                  persistent: journalctl --directory=$CONTAINER_ROOT/var/log/journal reads it
#                  from the host too, while the work directory lasts.
# container_sshmend [ARGS...]
#                  run $SSHMEND (the binary built here) inside the container, with ARGS: it is
#                  copied to /usr/local/sbin/sshmend on first use and runs on the container's
#                  own libc and libsystemd (a newer release than the one it was built on).
# container_stop   power the container off, wait for it, remove its work directory.
# container_reexec SUITE SCRIPT [PROGRAM...]
#                  run the test SCRIPT (a bash test of tests/ using tests/lib/ fixtures) once
#                  more, inside a container of SUITE: its sshd, sshd_config, users and libraries
#                  are then those of SUITE. The script and tests/lib/ are copied to
#                  $CONTAINER_TESTS, sshmend to /usr/local/sbin/sshmend, and each PROGRAM (a
#                  path under top_builddir, such as tests/sshdeval-dump) to the same path under
#                  $CONTAINER_TESTS; the script runs there with top_srcdir, top_builddir and
#                  SSHMEND set accordingly (AGREE_* variables, SEED and CONFIGS pass through).
#                  Its TAP output is passed on, and this exits with its status.

. "${top_srcdir:?}/tests/lib/debroot.sh"
. "$top_srcdir/tests/lib/sshd.sh"

# The packages of the root: sshd and a systemd to boot it; libsystemd0 and the sanitizer
# runtimes for a binary built here (configure --enable-sanitizers), acl and procps for the tests.
CONTAINER_INCLUDE=systemd,systemd-sysv,dbus,openssh-server,passwd,libsystemd0,libasan8,libubsan1,acl,procps
: "${CONTAINER_BOOT_TIMEOUT:=120}"
CONTAINER_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CONTAINER_TESTS=/usr/local/lib/sshmend-tests

container_require() {
	require_root
	require_prog systemd-nspawn nsenter pgrep ssh ssh-keygen tar flock sha256sum dpkg
	[ -f "$(debroot_cache "$1" "$CONTAINER_INCLUDE")" ] || require_prog debootstrap
}

# A loopback port nothing listens on (the container shares the host's network).
_container_free_port() {
	local i port
	for ((i = 0; i < 50; i++)); do
		port=$(_sshd_random_port)
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# The container's init: the child of systemd-nspawn that is pid 1 in its own pid namespace.
_container_find_leader() {
	local pid
	for pid in $(pgrep -P "$CONTAINER_PID"); do
		if grep -qE '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' "/proc/$pid/status" 2>/dev/null; then
			echo "$pid"
			return 0
		fi
	done
	return 1
}

container_run() {
	if [ -z "${CONTAINER_LEADER:-}" ]; then
		echo "container_run: no container (container_start first)" >&2
		return 125
	fi
	local env=(PATH="$CONTAINER_PATH" HOME=/root LANG=C.UTF-8 TERM=dumb)
	local v
	for v in ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
		[ -n "${!v:-}" ] && env+=("$v=${!v}")
	done
	nsenter -t "$CONTAINER_LEADER" -m -u -i -n -p -r -w -- /usr/bin/env -i "${env[@]}" "$@"
}

container_copy_in() {
	local src=$1 dst=$2
	if [ -d "$src" ]; then
		tar -C "$src" -cf - . | container_run sh -c 'mkdir -p "$1" && tar -C "$1" --no-same-owner -xf -' _ "$dst"
		return
	fi
	local mode
	mode=$(stat -c %a "$src") || return 1
	container_run sh -c 'cat >"$1" && chmod "$2" "$1"' _ "$dst" "$mode" <"$src"
}

_container_sshd_config_text() { # LINE...
	local l
	for l in "$@"; do
		printf '%s\n' "$l"
	done
	printf 'Port %s\nListenAddress 127.0.0.1\n' "$CONTAINER_SSHD_PORT"
	sshd_test_settings
}

container_sshd_config() {
	_container_sshd_config_text "$@" >"$CONTAINER_WORK/sshd_config" || return 1
	container_copy_in "$CONTAINER_WORK/sshd_config" /etc/ssh/sshd_config || return 1
	# ssh.service is Type=notify: the restart returns once sshd listens.
	if ! container_run systemctl restart ssh.service; then
		diag "container_sshd_config: ssh.service did not restart:"
		diag "$(container_run journalctl -b --no-pager -n 20 -u ssh.service 2>&1)"
		return 1
	fi
}

container_add_user() {
	local name=$1 home
	container_run useradd -m -s /bin/bash "$name" || return 1
	container_run usermod -p '*' "$name" || return 1
	home=$(container_run getent passwd "$name" | cut -d: -f6)
	rm -f "$CONTAINER_KEYS/$name" "$CONTAINER_KEYS/$name.pub"
	ssh-keygen -q -t ed25519 -N '' -C "$name@$CONTAINER_NAME" -f "$CONTAINER_KEYS/$name" \
		</dev/null >/dev/null || return 1
	container_run install -d -m 0700 -o "$name" -g "$name" "$home/.ssh" &&
		container_copy_in "$CONTAINER_KEYS/$name.pub" "$home/.ssh/authorized_keys" &&
		container_run chown "$name:$name" "$home/.ssh/authorized_keys" &&
		container_run chmod 0600 "$home/.ssh/authorized_keys"
}

container_ssh_login() {
	local user=$1 key=${2:-$CONTAINER_KEYS/$1}
	ssh -F /dev/null -i "$key" -p "$CONTAINER_SSHD_PORT" \
		-o BatchMode=yes -o IdentitiesOnly=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR \
		"$user@127.0.0.1" true </dev/null
}

container_mark() {
	_CONTAINER_CURSOR=$(container_run journalctl -q -n 1 -o export | sed -n 's/^__CURSOR=//p')
}

container_journal() {
	local since=(-b)
	[ -n "${_CONTAINER_CURSOR:-}" ] && since=(--after-cursor="$_CONTAINER_CURSOR")
	container_run journalctl -q --no-pager "${since[@]}" _SYSTEMD_UNIT=ssh.service "$@"
}

container_sshmend() {
	if [ -z "${_CONTAINER_SSHMEND:-}" ]; then
		container_copy_in "${SSHMEND:?}" /usr/local/sbin/sshmend || return 125
		_CONTAINER_SSHMEND=1
	fi
	container_run /usr/local/sbin/sshmend "$@"
}

_container_booted() { # systemd has finished starting (running, or degraded by a failed unit)
	local state
	state=$(container_run systemctl is-system-running 2>/dev/null)
	[ "$state" = running ] || [ "$state" = degraded ]
}

_container_wait() { # _container_wait SECONDS CMD...
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		kill -0 "$CONTAINER_PID" 2>/dev/null || return 1
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.1
	done
}

_container_boot_failed() {
	diag "container_start: $1; the end of its console:"
	diag "$(tail -n 30 "$CONTAINER_WORK/console.log" 2>/dev/null)"
	return 1
}

container_start() {
	local suite=$1
	if [ -n "${CONTAINER_PID:-}" ]; then
		diag "container_start: a container is running already"
		return 1
	fi
	CONTAINER_SUITE=$suite
	CONTAINER_WORK=$(mktemp -d /var/tmp/sshmend-container.XXXXXX) || return 1
	CONTAINER_ROOT=$CONTAINER_WORK/root
	CONTAINER_KEYS=$CONTAINER_WORK/keys
	CONTAINER_NAME=sshmend-$suite-${CONTAINER_WORK##*.}
	CONTAINER_NAME=${CONTAINER_NAME,,}
	export CONTAINER_SUITE CONTAINER_WORK CONTAINER_ROOT CONTAINER_KEYS CONTAINER_NAME
	add_cleanup container_stop
	mkdir -m 0700 "$CONTAINER_KEYS"
	if ! debroot_make "$CONTAINER_ROOT" "$suite" "$CONTAINER_INCLUDE" >"$CONTAINER_WORK/root.log" 2>&1; then
		diag "container_start: no root for $suite:"
		diag "$(tail -n 20 "$CONTAINER_WORK/root.log")"
		return 1
	fi
	CONTAINER_SSHD_PORT=$(_container_free_port) || return 1
	export CONTAINER_SSHD_PORT
	# Written before the boot, so that sshd starts on its port at once.
	_container_sshd_config_text >"$CONTAINER_ROOT/etc/ssh/sshd_config"
	echo "$CONTAINER_NAME" >"$CONTAINER_ROOT/etc/hostname"

	systemd-nspawn -q -D "$CONTAINER_ROOT" -M "$CONTAINER_NAME" --register=no --keep-unit \
		--pipe -b </dev/null >"$CONTAINER_WORK/console.log" 2>&1 &
	CONTAINER_PID=$!
	export CONTAINER_PID
	_container_wait 10 _container_find_leader >/dev/null ||
		_container_boot_failed "systemd-nspawn did not start its init" || return 1
	CONTAINER_LEADER=$(_container_find_leader)
	export CONTAINER_LEADER
	_container_wait "$CONTAINER_BOOT_TIMEOUT" _container_booted ||
		_container_boot_failed "not booted within ${CONTAINER_BOOT_TIMEOUT}s" || return 1
	local failed
	failed=$(container_run systemctl --failed --plain --no-legend 2>&1)
	[ -z "$failed" ] || diag "container_start: units failed in $CONTAINER_NAME: $failed"
	container_sshd_config
}

container_stop() {
	if [ -n "${CONTAINER_PID:-}" ]; then
		local pid=$CONTAINER_PID i
		unset CONTAINER_PID CONTAINER_LEADER _CONTAINER_SSHMEND _CONTAINER_CURSOR
		# systemd-nspawn turns SIGTERM into an orderly shutdown of the container.
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 300; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	[ -n "${CONTAINER_WORK:-}" ] || return 0
	if [ "${SSHMEND_TEST_KEEP:-0}" = 1 ]; then
		diag "container work directory kept: $CONTAINER_WORK"
	else
		case $CONTAINER_WORK in
		/var/tmp/sshmend-container.*) rm -rf --one-file-system -- "$CONTAINER_WORK" ;;
		esac
	fi
	unset CONTAINER_WORK
	return 0
}

container_reexec() {
	local suite=$1 script=$2 name v p rc=0
	local env=(top_srcdir="$CONTAINER_TESTS" top_builddir="$CONTAINER_TESTS")
	env+=(SSHMEND=/usr/local/sbin/sshmend)
	shift 2
	name=$(basename "$script")
	if ! container_start "$suite"; then
		ok "container_start $suite, to run $name there" false
		done_testing
	fi
	diag "$name runs again in $CONTAINER_NAME ($suite): $(container_run /usr/sbin/sshd -V 2>&1)"
	if ! container_copy_in "$top_srcdir/tests/lib" "$CONTAINER_TESTS/tests/lib" ||
		! container_copy_in "$script" "$CONTAINER_TESTS/tests/$name" ||
		! container_copy_in "${SSHMEND:?}" /usr/local/sbin/sshmend; then
		ok "copy $name, tests/lib/ and sshmend into $CONTAINER_NAME" false
		done_testing
	fi
	for p in "$@"; do
		if ! container_copy_in "${top_builddir:?}/$p" "$CONTAINER_TESTS/$p"; then
			ok "copy $p into $CONTAINER_NAME" false
			done_testing
		fi
	done
	for v in "${!AGREE_@}" SEED CONFIGS; do
		[ -n "${!v+set}" ] && env+=("$v=${!v}")
	done
	container_run env "${env[@]}" bash "$CONTAINER_TESTS/tests/$name" || rc=$?
	exit "$rc"
}
