# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# A fake root file system for tests that must not touch the host's users. Source it after tap.sh.
#
# sandbox_create [N]     (root only; N defaults to 1) create a temporary directory, exported as
#                        $SANDBOX (mode 0755 root:root), holding
#                          etc/passwd       root (0:0, /root, /bin/bash), user1..userN
#                                           (uid = gid = 20000+K, /home/userK, /bin/bash),
#                                           nobody (65534:65534, /nonexistent, /usr/sbin/nologin)
#                          etc/group        root, one private group per user, nogroup
#                          etc/login.defs   UID_MIN 1000
#                          etc/machine-id   a new random id (32 hex digits), as a booted
#                                           machine has
#                          etc/ssh/sshd_config
#                                           AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2
#                          home/            0755 root:root
#                          home/userK       0700 uid:gid, .ssh 0700 uid:gid,
#                                           .ssh/authorized_keys 0600 uid:gid with one ed25519 key line
#                          root/            0700 root, root/.ssh 0700, root/.ssh/authorized_keys 0600
#                        All authorized_keys hold the same key. Also exported: SANDBOX_USERS (N),
#                        SANDBOX_KEY (the private key, outside $SANDBOX) and SANDBOX_PUBKEY (the
#                        public key line). The sandbox is removed on exit (add_cleanup).
# sandbox_snapshot [PATH...]
#                        print one sorted line per file, directory or symlink under each PATH
#                        (relative to $SANDBOX; default: everything):
#                          relpath uid gid octal-mode type
#                        where type is find's %y (f, d, l, ...). A PATH that does not exist prints
#                        nothing. Compare two snapshots to prove nothing changed.
# sandbox_destroy        remove the current sandbox now and unset $SANDBOX.
# sandbox_config LINE... write the sandbox's etc/sshmend/sshmend.conf, one LINE a line (root:root
#                        0644, its directory root:root 0755), renamed into place as an editor does,
#                        e.g. sandbox_config '[Daemon]' FlapThreshold=5.
# put_lines FILE LINE... write FILE, one LINE a line, root:root 0644, renamed into place (its
#                        directory must exist).
# uid_of userK           the uid (= gid) of userK in the sandbox: 20000+K.
# run_as userK CMD...    run CMD as the sandbox's userK (setpriv: its uid and gid, no other groups).
# spawn_as userK CMD...  the same in the background (stdin, stdout and stderr /dev/null); SPAWNED is
#                        its pid, killed on exit if it still runs.
# stat_of RELPATH        "uid gid mode type" of a sandbox path, not followed (mode as four octal
#                        digits, type as find's %y), e.g. "20001 20001 0700 d"; empty if absent.
# expect_stat RELPATH WANT [DESC]
#                        one test: stat_of RELPATH is WANT.

SANDBOX_UID_BASE=20000

# sandbox_create [N]
sandbox_create() {
	local n=${1:-1}
	case $n in
	'' | *[!0-9]*)
		diag "sandbox_create: bad user count '$n'"
		return 1
		;;
	esac
	require_root
	require_prog ssh-keygen

	local top
	top=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-sandbox.XXXXXX") || return 1
	add_cleanup "_sandbox_rm '$top'"
	chmod 0755 "$top" || return 1

	ssh-keygen -q -t ed25519 -N '' -C sshmend-sandbox -f "$top/key" </dev/null >/dev/null || {
		diag "sandbox_create: ssh-keygen failed"
		return 1
	}
	local pub
	pub=$(cat "$top/key.pub") || return 1

	local sb=$top/root
	(
		set -e
		umask 022
		mkdir -m 0755 "$sb"
		cd "$sb"
		mkdir -m 0755 etc etc/ssh home
		mkdir -m 0700 root root/.ssh
		awk -v n="$n" -v base="$SANDBOX_UID_BASE" 'BEGIN {
			print "root:x:0:0:root:/root:/bin/bash"
			for (k = 1; k <= n; k++)
				printf "user%d:x:%d:%d::/home/user%d:/bin/bash\n", k, base + k, base + k, k
			print "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"
		}' >etc/passwd
		awk -v n="$n" -v base="$SANDBOX_UID_BASE" 'BEGIN {
			print "root:x:0:"
			for (k = 1; k <= n; k++)
				printf "user%d:x:%d:\n", k, base + k
			print "nogroup:x:65534:"
		}' >etc/group
		printf 'UID_MIN 1000\n' >etc/login.defs
		tr -d - </proc/sys/kernel/random/uuid >etc/machine-id
		printf 'AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2\n' >etc/ssh/sshd_config

		umask 077
		printf '%s\n' "$pub" >root/.ssh/authorized_keys
		if [ "$n" -gt 0 ]; then
			# Few processes however many users: xargs batches the arguments, the key files are
			# written by the shell itself, and ownership is set by one setfacl --restore.
			seq -f 'home/user%.0f' 1 "$n" | xargs mkdir -m 0700
			seq -f 'home/user%.0f/.ssh' 1 "$n" | xargs mkdir -m 0700
			local k
			for ((k = 1; k <= n; k++)); do
				printf '%s\n' "$pub" >"home/user$k/.ssh/authorized_keys"
			done
			if command -v setfacl >/dev/null 2>&1; then
				awk -v n="$n" -v base="$SANDBOX_UID_BASE" 'BEGIN {
					for (k = 1; k <= n; k++) {
						id = base + k
						printf "# file: home/user%d\n# owner: %d\n# group: %d\nuser::rwx\ngroup::---\nother::---\n\n", k, id, id
						printf "# file: home/user%d/.ssh\n# owner: %d\n# group: %d\nuser::rwx\ngroup::---\nother::---\n\n", k, id, id
						printf "# file: home/user%d/.ssh/authorized_keys\n# owner: %d\n# group: %d\nuser::rw-\ngroup::---\nother::---\n\n", k, id, id
					}
				}' | setfacl --restore=-
			else
				for ((k = 1; k <= n; k++)); do
					chown -h "$((SANDBOX_UID_BASE + k)):$((SANDBOX_UID_BASE + k))" \
						"home/user$k" "home/user$k/.ssh" "home/user$k/.ssh/authorized_keys"
				done
			fi
		fi
	) || {
		diag "sandbox_create: building the tree in $sb failed"
		return 1
	}
	chown -R 0:0 "$top/key" "$top/key.pub" || return 1

	export SANDBOX=$sb SANDBOX_USERS=$n SANDBOX_KEY=$top/key SANDBOX_PUBKEY=$pub
	return 0
}

_sandbox_rm() {
	local top=$1
	case $top in
	*/sshmend-sandbox.*) ;;
	*) return 1 ;;
	esac
	[ -d "$top" ] || return 0
	rm -rf --one-file-system -- "$top"
}

# sandbox_snapshot [PATH...]
sandbox_snapshot() {
	if [ -z "${SANDBOX:-}" ] || [ ! -d "$SANDBOX" ]; then
		diag "sandbox_snapshot: no sandbox"
		return 1
	fi
	(
		cd "$SANDBOX" || exit 1
		if [ $# -eq 0 ]; then
			find . -mindepth 1 -printf '%P %U %G %04m %y\n'
		else
			local p paths=()
			for p in "$@"; do
				while [ "${p#/}" != "$p" ]; do p=${p#/}; done
				[ -n "$p" ] || p=.
				if [ -e "$p" ] || [ -L "$p" ]; then
					paths+=("$p")
				fi
			done
			[ ${#paths[@]} -eq 0 ] || find "${paths[@]}" -printf '%p %U %G %04m %y\n'
		fi
	) | LC_ALL=C sort -u
}

sandbox_destroy() {
	[ -n "${SANDBOX:-}" ] || return 0
	_sandbox_rm "${SANDBOX%/root}" || return 1
	unset SANDBOX SANDBOX_USERS SANDBOX_KEY SANDBOX_PUBKEY
}

put_lines() {
	local file=$1 new l
	shift
	new=${file%/*}/.${file##*/}.new
	for l in "$@"; do
		printf '%s\n' "$l"
	done >"$new" || return 1
	chown 0:0 "$new" && chmod 0644 "$new" && mv -f "$new" "$file"
}

sandbox_config() {
	install -d -m 0755 -o 0 -g 0 "$SANDBOX/etc/sshmend" &&
		put_lines "$SANDBOX/etc/sshmend/sshmend.conf" "$@"
}

uid_of() {
	echo $((SANDBOX_UID_BASE + ${1#user}))
}

run_as() {
	local id
	id=$(uid_of "$1")
	shift
	setpriv --reuid="$id" --regid="$id" --clear-groups -- "$@"
}

spawn_as() {
	local id
	id=$(uid_of "$1")
	shift
	# setpriv itself in the background, not a subshell: SPAWNED is the process that runs CMD.
	setpriv --reuid="$id" --regid="$id" --clear-groups -- "$@" </dev/null >/dev/null 2>&1 &
	SPAWNED=$!
	add_cleanup "kill_pid $SPAWNED"
}

stat_of() {
	(cd "$SANDBOX" && find "$1" -maxdepth 0 -printf '%U %G %04m %y\n' 2>/dev/null)
}

expect_stat() {
	is "$(stat_of "$1")" "$2" "${3:-"$1 is $2"}"
}
