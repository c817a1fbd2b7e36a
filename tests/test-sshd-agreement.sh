#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves that sshmend's verdict ("sshd_accepts" in check --json) agrees with a real sshd.
#
# Real host users (smtA, the one under test, and smtB, "another existing user") and a real sshd
# on a loopback port. For each state of a table of chain states (modes, owners, groups, symlinks,
# hard links, file types, /home, StrictModes no, a keys file outside the home): set it up from a
# clean baseline, ask sshmend whether sshd would read the keys file, try a real key login, and
# assert that both say the same. Then run sshmend fix and, where the state is repairable, assert
# that the login now works; where it is not (symlink, foreign owner, hard link, wrong type),
# assert that fix refuses. Everything is put back after each state and on exit.
#
# How sshmend learns sshd's configuration: sshmend reads StrictModes and AuthorizedKeysFile from
# /etc/ssh/sshd_config of the root it checks and has no option to read another file, while the
# test sshd runs with its own file (sshd -f). So every sshmend command runs in a private mount
# namespace (unshare -m) in which the test sshd's configuration is bind-mounted over
# /etc/ssh/sshd_config. sshmend then judges with exactly the configuration sshd runs with, for
# every state, not only for StrictModes; the mount exists for that one command and vanishes with
# its namespace, so nothing on the host changes and there is nothing to undo. sshd needs no such
# trick: the fixture already starts it with -f. Our own settings (SshdFlavor, and for the keys
# file outside the home also AuthorizedKeysFile, as an admin would set both) come from --config
# files, root's and 0644 as sshmend demands.
# SSHMEND_TEST_CONTAINER=trixie runs the whole table once more inside a booted Debian 13 container
# (tests/lib/container.sh), against its OpenSSH 10.
# shellcheck disable=SC2016 # state setups are single-quoted on purpose: expanded when run
# shellcheck disable=SC2317 # functions run through ok, eval and add_cleanup
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
. "$top_srcdir/tests/lib/sshd.sh"

if [ -n "${SSHMEND_TEST_CONTAINER:-}" ]; then
	. "$top_srcdir/tests/lib/container.sh"
	container_require "$SSHMEND_TEST_CONTAINER"
	[ -x "$SSHMEND" ] || skip_all "sshmend not built ($SSHMEND)"
	container_reexec "$SSHMEND_TEST_CONTAINER" "$0"
fi

require_root
require_prog ssh ssh-keygen useradd usermod userdel groupadd groupdel gpasswd unshare mount \
	mkfifo mknod stat getent ps
[ -x "$SSHMEND" ] || skip_all "sshmend not built ($SSHMEND)"
[ -x /usr/sbin/sshd ] || skip_all "/usr/sbin/sshd not found"
[ -f /etc/ssh/sshd_config ] || skip_all "no /etc/ssh/sshd_config to bind the test config over"
if [ ! -d /srv ] || [ "$(stat -c '%u' /srv)" != 0 ]; then
	skip_all "no root-owned /srv for the symlinked home"
fi
unshare -m --propagation private true 2>/dev/null || skip_all "cannot make a mount namespace"

# The users have fixed names and /home's mode is changed for a moment: one run at a time.
host_lock_home

UA=smtA # the user under test
UB=smtB # another existing user
GSHARED=smtG # a group of smtA and smtB
GEMPTY=smtE # a group without members
GSUPP=smtS # a group whose only member is smtA, as a supplementary group

# / and /home as found: both must end exactly like this. / is never changed.
root_before=$(stat -c '%a %u %g' /)
home_before=$(stat -c '%a %u %g' /home)
home_mode0=0$(stat -c '%04a' /home) # 5 digits: chmod keeps a directory's set-id bits otherwise
home_owner0=$(stat -c '%u:%g' /home)
shadow_before=$(stat -c '%a %u %g' /etc/shadow)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-agree.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$WORK'"

# Groups go after the users on exit: they were registered first.
remove_groups() {
	local g
	for g in "$GSHARED" "$GEMPTY" "$GSUPP"; do
		getent group "$g" >/dev/null && groupdel "$g" 2>/dev/null
	done
	return 0
}
remove_groups
add_cleanup remove_groups

ok "sshd_start" sshd_start || {
	diag "no sshd, nothing to compare with"
	done_testing
}
ok "testuser_create $UA" testuser_create "$UA" || done_testing
ok "testuser_create $UB" testuser_create "$UB" || done_testing
HA=$(getent passwd "$UA" | cut -d: -f6)
GA=$(id -g "$UA")
ok "$UA has its home at /home/$UA" test "$HA" = "/home/$UA" -a -d "$HA"

groupadd "$GSHARED" && gpasswd -M "$UA,$UB" "$GSHARED" >/dev/null &&
	groupadd "$GEMPTY" && groupadd "$GSUPP" && gpasswd -M "$UA" "$GSUPP" >/dev/null
ok "groups $GSHARED ($UA,$UB), $GEMPTY (empty), $GSUPP ($UA) exist" \
	getent group "$GSHARED" "$GEMPTY" "$GSUPP"

# A uid no passwd entry has.
UNK=64990
while getent passwd "$UNK" >/dev/null || getent group "$UNK" >/dev/null; do
	UNK=$((UNK + 1))
done

# Put the host back: the home where passwd says, /home as found, our directories gone.
restore_host() {
	if [ -n "${HA:-}" ] && [ -L "$HA" ]; then
		rm -f -- "$HA"
	fi
	if [ -n "${HA:-}" ] && [ ! -e "$HA" ] && [ -n "${SRVDIR:-}" ] && [ -d "$SRVDIR/$UA" ]; then
		mv -- "$SRVDIR/$UA" "$HA"
	fi
	chown "$home_owner0" /home
	chmod "$home_mode0" /home
	case ${SRVDIR:-} in /srv/sshmend-agree.*) rm -rf -- "$SRVDIR" ;; esac
	case ${KEYDIR:-} in /etc/ssh/sshmend-agree-keys.*) rm -rf -- "$KEYDIR" ;; esac
	return 0
}
add_cleanup restore_host

# Where the admin's symlinked home lives: a root-owned directory below /srv.
SRVDIR=$(mktemp -d /srv/sshmend-agree.XXXXXX) || exit 1
chmod 0755 "$SRVDIR"
# A directory for keys files outside the home (AuthorizedKeysFile /etc/ssh/.../%u). Our own,
# so that an existing /etc/ssh/keys is never touched.
KEYDIR=$(mktemp -d /etc/ssh/sshmend-agree-keys.XXXXXX) || exit 1
chmod 0755 "$KEYDIR"

# sshmend's own configuration files.
write_conf() { # write_conf NAME LINE...
	local f=$WORK/$1.conf
	shift
	printf '%s\n' "$@" >"$f" && chown 0:0 "$f" && chmod 0644 "$f"
}
write_conf debian '[Policy]' 'SshdFlavor=debian'
write_conf auto '[Policy]' 'SshdFlavor=auto'
write_conf upstream '[Policy]' 'SshdFlavor=upstream'
write_conf outside '[Policy]' 'SshdFlavor=debian' "AuthorizedKeysFile=$KEYDIR/%u"
CFG=$WORK/debian.conf

# smend ARGS...: sshmend --config $CFG ARGS..., seeing the test sshd's config as its own.
smend() {
	unshare -m --propagation private /bin/sh -c \
		'mount --bind "$1" /etc/ssh/sshd_config && shift && exec "$@"' \
		smend "$SSHD_CONFIG" "$SSHMEND" --config "$CFG" "$@"
}

# The clean baseline: home 0755 smtA:smtA, .ssh 0700, authorized_keys 0600 with smtA's key,
# no extra group members, /home as found, the keys file outside the home root's 0644.
baseline() {
	restore_host_home
	if [ -L "$HA" ] || [ ! -d "$HA" ]; then
		rm -f -- "$HA"
		install -d -m 00755 -o "$UA" -g "$GA" "$HA"
	fi
	gpasswd -d "$UB" "$UA" >/dev/null 2>&1
	gpasswd -d "$UA" "$UA" >/dev/null 2>&1
	chown "$UA:$GA" "$HA" && chmod 00755 "$HA" && setfacl -b "$HA" 2>/dev/null
	rm -rf -- "$HA/.ssh" "$HA"/smt-*
	# mkdir, not install -d: never write through whatever might stand there.
	mkdir -m 0700 "$HA/.ssh" &&
		install -m 0600 "$SSHD_DIR/$UA.key.pub" "$HA/.ssh/authorized_keys" &&
		chown "$UA:$GA" "$HA/.ssh" "$HA/.ssh/authorized_keys" || return 1
	rm -rf -- "$SRVDIR/smt-rootonly"
	rm -rf -- "${KEYDIR:?}"/*
	chown 0:0 "$KEYDIR" && chmod 00755 "$KEYDIR" && setfacl -b "$KEYDIR" 2>/dev/null
	install -m 0644 -o 0 -g 0 "$SSHD_DIR/$UA.key.pub" "$KEYDIR/$UA"
}
restore_host_home() {
	if [ -L "$HA" ]; then
		rm -f -- "$HA"
	fi
	if [ ! -e "$HA" ] && [ -d "$SRVDIR/$UA" ]; then
		mv -- "$SRVDIR/$UA" "$HA"
	fi
	chown 0:0 "$SRVDIR" && chmod 00755 "$SRVDIR"
	chown "$home_owner0" /home && chmod "$home_mode0" /home
}

# The admin moved the home: passwd still says /home/smtA, now a symlink in root's /home.
symlink_home() {
	mv -- "$HA" "$SRVDIR/$UA" && ln -s "$SRVDIR/$UA" "$HA"
}

# verdict_of JSON: accepts, refuses or a complaint.
verdict_of() {
	case $1 in
	*'"sshd_accepts":true'*) echo accepts ;;
	*'"sshd_accepts":false'*) echo refuses ;;
	*) echo "no-verdict" ;;
	esac
}

# What sshd logged about the keys file since the mark (sshd -E ends its lines with CR LF).
sshd_reason() {
	sshd_log_since_mark | tr -d '\r' | grep -o -e 'Authentication refused: .*' \
		-e "Could not open user '$UA' authorized keys .*" \
		-e "User '$UA' authorized keys .* is not a regular file" | head -n 1
}
sshd_said_why() { [ -n "$(sshd_reason)" ]; }

fix_refused() { # fix_refused RC JSON
	[ "$1" -eq 1 ] && case $2 in *'"action":"refused"'*) true ;; *) false ;; esac
}

fix_then_login() { # fix_then_login RC
	[ "$1" -eq 0 ] && sshd_login "$UA"
}

# fix_heals_or_refuses RC JSON: exit 0 and a login works, or exit 1 with a refusal and no
# repair that failed; and whatever fix said was fixed, check finds clean afterwards.
fix_heals_or_refuses() {
	case $2 in *'"action":"failed"'*) return 1 ;; esac
	if [ "$1" -eq 0 ]; then
		sshd_login "$UA" && smend check "$UA" >/dev/null
	else
		[ "$1" -eq 1 ] && case $2 in *'"action":"refused"'*) true ;; *) false ;; esac
	fi
}

TABLE=()

# has JSON TEXT: does the JSON hold TEXT?
has() { case $1 in *"$2"*) true ;; *) false ;; esac }
lacks() { ! has "$@"; }

# check_findings NAME VERDICT SSHD-WORDS JSON: the findings must tell the verdict's story.
check_findings() {
	local name=$1 verdict=$2 why=$3 json=$4
	if [ "$verdict" = accepts ]; then
		ok "state $name: no finding says sshd rejects" lacks "$json" '"sshd_rejects":true' ||
			diag "$json"
		return
	fi
	ok "state $name: a finding says sshd rejects" has "$json" '"sshd_rejects":true' ||
		diag "$json"
	[ -n "$why" ] || return 0
	ok "state $name: sshmend quotes sshd: $why" has "$json" "\"sshd_message\":\"$why\"" ||
		diag "$json"
}

# state NAME KIND SETUP
#   KIND repair: sshmend fix must leave the chain as sshd accepts it (fix exits 0, login works)
#        refuse: fix must refuse (a symlink, foreign owner, hard link or wrong type; exit 1)
#        any: either of the two, never a repair that failed or a "fixed" that is not
#   SETUP is eval'ed after the baseline has been restored.
state() {
	local name=$1 kind=$2 setup=$3 json rc says said why fixjson fixrc

	baseline || diag "state $name: restoring the baseline failed"
	if ! eval "$setup"; then
		ok "state $name: set up" false
		return
	fi
	rc=0
	json=$(smend check --json "$UA" 2>"$WORK/err") || rc=$?
	says=$(verdict_of "$json")
	sshd_mark
	if sshd_login "$UA" 2>/dev/null; then
		said=accepts
		why=
	else
		said=refuses
		wait_for 2 sshd_said_why
		why=$(sshd_reason)
	fi
	TABLE+=("$(printf '%-58s %-8s %-8s %s' "$name" "$says" "$said" "${why:--}")")
	if ! ok "state $name: sshmend says $says, sshd says $said" test "$says" = "$said"; then
		diag "sshmend check exit $rc: $json $(cat "$WORK/err")"
		diag "sshd: ${why:-accepted}"
		diag "$(sshd_log_since_mark | grep -v -e 'Connection closed' -e 'Connection from')"
	fi
	# The findings must tell the same story as the verdict, in sshd's own words.
	if [ "$says" = "$said" ]; then
		check_findings "$name" "$said" "$why" "$json"
	fi

	fixrc=0
	fixjson=$(smend fix --json "$UA" 2>"$WORK/err") || fixrc=$?
	case $kind in
	repair)
		ok "state $name: after fix sshd accepts the key" fix_then_login "$fixrc" ||
			diag "sshmend fix exit $fixrc: $fixjson $(cat "$WORK/err")"
		;;
	refuse)
		ok "state $name: fix refuses" fix_refused "$fixrc" "$fixjson" ||
			diag "sshmend fix exit $fixrc: $fixjson $(cat "$WORK/err")"
		;;
	any)
		ok "state $name: fix heals it (exit 0, login works) or refuses it (exit 1)" \
			fix_heals_or_refuses "$fixrc" "$fixjson" ||
			diag "sshmend fix exit $fixrc: $fixjson $(cat "$WORK/err")"
		[ "$fixrc" -eq 0 ] && REPAIRED=$((REPAIRED + 1))
		;;
	*)
		ok "state $name: unknown kind $kind" false
		;;
	esac
	baseline
}

ok "sshmend check runs in the mount namespace" smend check "$UA"
ok "baseline: a key login as $UA works" sshd_login "$UA"
ok "baseline: a key login as $UB works" sshd_login "$UB"

# --- The home ---
state 'baseline (home 0755, .ssh 0700, keys 0600)' repair ':'
state 'home 0777' repair 'chmod 0777 "$HA"'
state 'home 1777' repair 'chmod 1777 "$HA"'
state 'home 0775 (private group)' repair 'chmod 0775 "$HA"'
state 'home 2775 (private group, setgid)' repair 'chmod 2775 "$HA"'
state 'home 0770 (private group)' repair 'chmod 0770 "$HA"'
state 'home 0757' repair 'chmod 0757 "$HA"'
state 'home 0750' repair 'chmod 0750 "$HA"'
state 'home 0711' repair 'chmod 0711 "$HA"'
state 'home 0700' repair 'chmod 0700 "$HA"'
state 'home 0500' repair 'chmod 0500 "$HA"'
state 'home 0600 (owner cannot search)' repair 'chmod 0600 "$HA"'
state 'home 0000' repair 'chmod 0000 "$HA"'
state 'home root:root 0755' repair 'chown 0:0 "$HA"'
state 'home root:root 0700 (user cannot search)' repair 'chown 0:0 "$HA"; chmod 0700 "$HA"'
state "home root:$UA 0750 (search through the group)" repair 'chown 0:"$GA" "$HA"; chmod 0750 "$HA"'
state "home root:$UA 0775 (root's, user's private group)" repair 'chown 0:"$GA" "$HA"; chmod 0775 "$HA"'
state 'home root:root 0775' repair 'chown 0:0 "$HA"; chmod 0775 "$HA"'
state "home root:$GSUPP 0775 (only member $UA, listed)" repair 'chown 0:"$GSUPP" "$HA"; chmod 0775 "$HA"'
state "home 0775, $UA also listed in group $UA" repair 'gpasswd -a "$UA" "$UA" >/dev/null; chmod 0775 "$HA"'
state "home $UB:$UB 0755 (another user)" repair 'chown "$UB:$UB" "$HA"'
state 'home owned by an unknown uid' repair 'chown "$UNK:$UNK" "$HA"'
state "home $UA:$GSHARED 0775 (group of two)" repair 'chgrp "$GSHARED" "$HA"; chmod 0775 "$HA"'
state "home $UA:$GEMPTY 0775 (group without members)" repair 'chgrp "$GEMPTY" "$HA"; chmod 0775 "$HA"'
state "home $UA:$GSUPP 0775 (only member $UA, listed)" repair 'chgrp "$GSUPP" "$HA"; chmod 0775 "$HA"'
state "home 0775, $UB added to group $UA" repair 'gpasswd -a "$UB" "$UA" >/dev/null; chmod 0775 "$HA"'
state 'home is a regular file' refuse 'rm -rf -- "$HA" && install -m 0644 -o "$UA" -g "$GA" /dev/null "$HA"'

# --- ~/.ssh ---
state '.ssh 0777' repair 'chmod 0777 "$HA/.ssh"'
state '.ssh 0775 (private group)' repair 'chmod 0775 "$HA/.ssh"'
state '.ssh 0770 (private group)' repair 'chmod 0770 "$HA/.ssh"'
state '.ssh 0757' repair 'chmod 0757 "$HA/.ssh"'
state '.ssh 0755' repair 'chmod 0755 "$HA/.ssh"'
state '.ssh 0711' repair 'chmod 0711 "$HA/.ssh"'
state '.ssh 0500' repair 'chmod 0500 "$HA/.ssh"'
state '.ssh 0600 (owner cannot search)' repair 'chmod 0600 "$HA/.ssh"'
state '.ssh 0000' repair 'chmod 0000 "$HA/.ssh"'
state '.ssh root:root 0755' repair 'chown 0:0 "$HA/.ssh"; chmod 0755 "$HA/.ssh"'
state '.ssh root:root 0700 (user cannot search)' repair 'chown 0:0 "$HA/.ssh"'
state ".ssh root:$UA 0770 (search through the group)" repair 'chown 0:"$GA" "$HA/.ssh"; chmod 0770 "$HA/.ssh"'
state ".ssh $UB:$UB 0755 (another user's)" refuse 'chown "$UB:$UB" "$HA/.ssh"; chmod 0755 "$HA/.ssh"'
# In the user's own home an unknown uid's directory may have been moved in: given only when
# it holds nothing to steal (here the user's own keys file), else refused.
state '.ssh owned by an unknown uid' repair 'chown "$UNK:$UNK" "$HA/.ssh"'
state '.ssh owned by an unknown uid, holding a readable file no .ssh holds' refuse \
	'install -m 0644 -o "$UNK" -g "$UNK" /dev/null "$HA/.ssh/smt-notes"; chown "$UNK:$UNK" "$HA/.ssh"'
state ".ssh and keys root:$UA 0700/0600 (chown -R root ~/.ssh)" repair 'chown -R 0 "$HA/.ssh"'
state '.ssh and keys root:root 0700/0600 (an image bake)' repair 'chown -R 0:0 "$HA/.ssh"'
state "home, .ssh, keys $UB's (chown -R $UB ~)" repair 'chown -R "$UB" "$HA"; chmod 0700 "$HA"'
state "home, .ssh, keys $UB:$UB (chown -R $UB:$UB ~)" repair 'chown -R "$UB:$UB" "$HA"'
state 'home, .ssh, keys root:root 0700/0700/0600 (chown -R root: ~)' repair 'chown -R 0:0 "$HA"; chmod 0700 "$HA"'
state ".ssh $UA:$GSHARED 0770 (group of two)" repair 'chgrp "$GSHARED" "$HA/.ssh"; chmod 0770 "$HA/.ssh"'
state '.ssh is a regular file' refuse 'rm -rf -- "$HA/.ssh" && install -m 0600 -o "$UA" -g "$GA" "$SSHD_DIR/$UA.key.pub" "$HA/.ssh"'
state '.ssh is a FIFO' refuse 'rm -rf -- "$HA/.ssh" && mkfifo -m 0700 "$HA/.ssh" && chown "$UA:$GA" "$HA/.ssh"'

# --- authorized_keys ---
K='$HA/.ssh/authorized_keys'
state 'keys 0777' repair "chmod 0777 \"$K\""
state 'keys 0666' repair "chmod 0666 \"$K\""
state 'keys 0664 (private group)' repair "chmod 0664 \"$K\""
state 'keys 0660 (private group)' repair "chmod 0660 \"$K\""
state 'keys 0646' repair "chmod 0646 \"$K\""
state 'keys 0644' repair "chmod 0644 \"$K\""
state 'keys 0640' repair "chmod 0640 \"$K\""
state 'keys 0400' repair "chmod 0400 \"$K\""
state 'keys 0200 (owner cannot read)' repair "chmod 0200 \"$K\""
state 'keys 0000' repair "chmod 0000 \"$K\""
state 'keys root:root 0644' repair "chown 0:0 \"$K\"; chmod 0644 \"$K\""
state 'keys root:root 0600 (user cannot read)' repair "chown 0:0 \"$K\""
state "keys root:$UA 0660 (read through the group)" repair "chown 0:\"$GA\" \"$K\"; chmod 0660 \"$K\""
state "keys $UB:$UB 0644 (another user's file)" refuse "chown \"$UB:$UB\" \"$K\"; chmod 0644 \"$K\""
# Root's secret renamed by the user to authorized_keys: never opened up to the user.
state 'keys root:root 0600 holding no key (moved in by the user)' refuse \
	"echo 'not a key: a secret of root' >\"$K\"; chown 0:0 \"$K\"; chmod 0600 \"$K\""
state 'keys owned by an unknown uid' repair "chown \"$UNK:$UNK\" \"$K\"; chmod 0644 \"$K\""
state "keys $UA:$GSHARED 0664 (group of two)" repair "chgrp \"$GSHARED\" \"$K\"; chmod 0664 \"$K\""
state 'home 0775, .ssh 0775, keys 0664 (private group)' repair \
	'chmod 0775 "$HA" "$HA/.ssh"; chmod 0664 "$HA/.ssh/authorized_keys"'
state 'home 0770, .ssh 0750, keys 0640' repair \
	'chmod 0770 "$HA"; chmod 0750 "$HA/.ssh"; chmod 0640 "$HA/.ssh/authorized_keys"'

# --- types, links ---
state 'keys is a FIFO' refuse "rm -f \"$K\" && mkfifo -m 0600 \"$K\" && chown \"$UA:$GA\" \"$K\""
state 'keys is a directory' refuse "rm -f \"$K\" && install -d -m 0700 -o \"$UA\" -g \"$GA\" \"$K\""
state 'keys is a character device (1:3)' refuse "rm -f \"$K\" && mknod -m 0644 \"$K\" c 1 3"
if command -v perl >/dev/null 2>&1; then
	state 'keys is a socket' refuse "rm -f \"$K\" && perl -MIO::Socket::UNIX -e 'IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => \$ARGV[0], Listen => 1) or die' \"$K\" && chown \"$UA:$GA\" \"$K\""
fi
state 'keys hard-linked to a file in the home' refuse "ln \"$K\" \"\$HA/smt-hardlink\""
state 'keys hard-linked, and mode 0666' refuse "ln \"$K\" \"\$HA/smt-hardlink\"; chmod 0666 \"$K\""
state 'keys symlink to a file of the user in the home' refuse \
	"mv \"$K\" \"\$HA/smt-keys\" && ln -s ../smt-keys \"$K\""
state 'keys symlink to root 0644 file outside the home' refuse "rm -f \"$K\" && ln -s \"\$KEYDIR/\$UA\" \"$K\""
state 'keys symlink to /etc/shadow' refuse "rm -f \"$K\" && ln -s /etc/shadow \"$K\""
state '.ssh symlink to a directory of the user in the home' refuse \
	'mv "$HA/.ssh" "$HA/smt-sshdir" && ln -s smt-sshdir "$HA/.ssh"'
state '.ssh symlink to /root/.ssh' refuse 'rm -rf -- "$HA/.ssh" && ln -s /root/.ssh "$HA/.ssh"'
# Root sees that the directory has no authorized_keys; the user cannot even look.
state '.ssh symlink to an empty root 0700 directory' refuse \
	'mkdir -m 0700 "$SRVDIR/smt-rootonly" && rm -rf -- "$HA/.ssh" && ln -s "$SRVDIR/smt-rootonly" "$HA/.ssh"'
state '.ssh symlink to /root/.ssh, home 0777' refuse 'rm -rf -- "$HA/.ssh" && ln -s /root/.ssh "$HA/.ssh"; chmod 0777 "$HA"'
state 'keys symlink loop' refuse "rm -f \"$K\" && ln -s authorized_keys \"$K\""

# --- the admin's symlinked home: /home/smtA -> /srv/.../smtA ---
state 'home symlinked by root into /srv' repair 'symlink_home'
state 'home symlinked into /srv, real home 0777' repair 'symlink_home && chmod 0777 "$SRVDIR/$UA"'
state 'home symlinked into /srv, real home 0775' repair 'symlink_home && chmod 0775 "$SRVDIR/$UA"'
state 'home symlinked into /srv, .ssh 0777' repair 'symlink_home && chmod 0777 "$SRVDIR/$UA/.ssh"'
state 'home symlinked into /srv, real home root 0700' repair 'symlink_home && chown 0:0 "$SRVDIR/$UA" && chmod 0700 "$SRVDIR/$UA"'
state "home symlinked into /srv, its directory 0777" repair 'symlink_home && chmod 0777 "$SRVDIR"'
state "home symlinked into /srv, its directory 0700" repair 'symlink_home && chmod 0700 "$SRVDIR"'

# --- /home ---
state '/home 0700 (user cannot search)' repair 'chmod 0700 /home'
state '/home 0711' repair 'chmod 0711 /home'
state '/home 0775 (not checked for keys in the home)' repair 'chmod 0775 /home'

# --- ACLs (where the file system has them) ---
HAVE_ACL=
if setfacl -m "u:$UA:x" "$KEYDIR" 2>/dev/null && setfacl -b "$KEYDIR"; then
	HAVE_ACL=1
	state ".ssh root:root 0700, ACL u:$UA:x" repair 'chown 0:0 "$HA/.ssh"; setfacl -m "u:$UA:x" "$HA/.ssh"'
	state "keys root:root 0600, ACL u:$UA:r" repair "chown 0:0 \"$K\"; setfacl -m \"u:$UA:r\" \"$K\""
	state "keys 0600, ACL g:$GSHARED:rw (mask rw)" repair "setfacl -m \"g:$GSHARED:rw\" \"$K\""
	state "home root:root 0700, ACL g:$GSUPP:x" repair 'chown 0:0 "$HA"; chmod 0700 "$HA"; setfacl -m "g:$GSUPP:x" "$HA"'
	# sshmend does not edit ACLs: a named entry that denies is reported and refused.
	state "keys root:root 0644, ACL u:$UA:--- (named entry denies)" refuse \
		"chown 0:0 \"$K\"; chmod 0644 \"$K\"; setfacl -m \"u:$UA:---\" \"$K\""
	state "keys root:root 0604, ACL u:$UA:---, mask --- (mode bits decide)" repair \
		"chown 0:0 \"$K\"; chmod 0604 \"$K\"; setfacl -m \"u:$UA:---\" \"$K\"; chmod 0604 \"$K\""
fi

# --- random states: owner, group and mode drawn for the home, .ssh and the keys file ---
# The group is drawn on its own: after chown -R root ~/.ssh the group is still the user's,
# and then the group bits, not the others', decide. AGREE_SEED repeats a run, AGREE_STATES
# sets how many states are drawn.
GB=$(id -g "$UB")
SEED=${AGREE_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
RANDOM=$SEED
diag "random states: AGREE_SEED=$SEED"
OWNERS=("$UA" 0 "$UB" "$UNK")
GROUPS_=("$GA" 0 "$GB" "$GSHARED")
DIR_MODES=(0700 0710 0701 0750 0755 0711 0770 0775 0777 0500 0000)
FILE_MODES=(0600 0640 0604 0644 0660 0664 0666 0400 0200 0000)
pick() { # pick ARRAY-NAME: one element, drawn
	local -n a=$1
	echo "${a[RANDOM % ${#a[@]}]}"
}
REPAIRED=0
for n in $(seq "${AGREE_STATES:-60}"); do
	setup=
	desc=
	for el in home ssh keys; do
		o=$(pick OWNERS) g=$(pick GROUPS_)
		if [ $el = keys ]; then m=$(pick FILE_MODES); else m=$(pick DIR_MODES); fi
		case $el in
		home) p='$HA' ;;
		ssh) p='$HA/.ssh' ;;
		keys) p='$HA/.ssh/authorized_keys' ;;
		esac
		setup="$setup chown $o:$g \"$p\" && chmod $m \"$p\" &&"
		desc="$desc $el $o:$g $m,"
	done
	state "random $n:${desc%,}" any "$setup :"
done
ok "random states: some were repaired ($REPAIRED)" test "$REPAIRED" -gt 0

# --- which sshd sshmend speaks for ---
baseline
chmod 0775 "$HA" "$HA/.ssh"
chmod 0664 "$HA/.ssh/authorized_keys"
CFG=$WORK/upstream.conf
is "$(verdict_of "$(smend check --json "$UA" 2>/dev/null)")" refuses \
	"SshdFlavor=upstream: sshmend refuses the private-group 0775/0775/0664 chain"
CFG=$WORK/auto.conf
is "$(verdict_of "$(smend check --json "$UA" 2>/dev/null)")" accepts \
	"SshdFlavor=auto on this Debian host: sshmend accepts it, as this sshd does"
ok "this sshd does accept it" sshd_login "$UA"
CFG=$WORK/debian.conf
baseline

# --- StrictModes no ---
if ok "sshd restarted with StrictModes no" sshd_restart 'StrictModes no'; then
	state 'StrictModes no: home 0777' repair 'chmod 0777 "$HA"'
	state 'StrictModes no: .ssh 0777, keys 0666' repair 'chmod 0777 "$HA/.ssh"; chmod 0666 "$HA/.ssh/authorized_keys"'
	state "StrictModes no: keys $UB:$UB 0644" refuse "chown \"$UB:$UB\" \"$K\"; chmod 0644 \"$K\""
	state 'StrictModes no: home 0000' repair 'chmod 0000 "$HA"'
	state 'StrictModes no: keys root 0600' repair "chown 0:0 \"$K\""
	state 'StrictModes no: keys is a FIFO' refuse "rm -f \"$K\" && mkfifo -m 0600 \"$K\" && chown \"$UA:$GA\" \"$K\""
	state 'StrictModes no: .ssh symlink to /root/.ssh' refuse 'rm -rf -- "$HA/.ssh" && ln -s /root/.ssh "$HA/.ssh"'
	state 'StrictModes no: .ssh symlink to an empty root 0700 directory' refuse \
		'mkdir -m 0700 "$SRVDIR/smt-rootonly" && rm -rf -- "$HA/.ssh" && ln -s "$SRVDIR/smt-rootonly" "$HA/.ssh"'
fi

# --- a keys file outside the home ---
if ok "sshd restarted with AuthorizedKeysFile $KEYDIR/%u" sshd_restart "AuthorizedKeysFile $KEYDIR/%u"; then
	CFG=$WORK/outside.conf
	KO='$KEYDIR/$UA'
	state 'outside: keys root:root 0644' repair ':'
	state "outside: keys $UA:$UA 0600" repair "chown \"$UA:$GA\" \"$KO\"; chmod 0600 \"$KO\""
	state 'outside: keys root:root 0600 (user cannot read)' repair "chmod 0600 \"$KO\""
	state 'outside: keys root:root 0666' repair "chmod 0666 \"$KO\""
	state "outside: keys root:$UA 0664 (private group)" repair "chgrp \"$GA\" \"$KO\"; chmod 0664 \"$KO\""
	state "outside: keys $UB:$UB 0644" repair "chown \"$UB:$UB\" \"$KO\""
	state 'outside: keys dir 0775 root:root' repair 'chmod 0775 "$KEYDIR"'
	state "outside: keys dir 0775 root:$UA" repair 'chgrp "$GA" "$KEYDIR"; chmod 0775 "$KEYDIR"'
	state 'outside: keys dir 0711' repair 'chmod 0711 "$KEYDIR"'
	state 'outside: keys dir 0700 (user cannot search)' repair 'chmod 0700 "$KEYDIR"'
	if [ -n "$HAVE_ACL" ]; then
		state "outside: keys dir root 0700, ACL u:$UA:x" repair 'chmod 0700 "$KEYDIR"; setfacl -m "u:$UA:x" "$KEYDIR"'
		state "outside: keys root 0600, ACL u:$UA:r" repair 'chmod 0600 "$KEYDIR/$UA"; setfacl -m "u:$UA:r" "$KEYDIR/$UA"'
	fi
	state "outside: keys dir $UA-owned 0755" repair 'chown "$UA:$GA" "$KEYDIR"'
	state 'outside: home 0777 (not on the path)' repair 'chmod 0777 "$HA"'
	state 'outside: /home 0700 (not on the path)' repair 'chmod 0700 /home'
	state 'outside: keys is a FIFO' refuse "rm -f \"$KO\" && mkfifo -m 0644 \"$KO\""
	CFG=$WORK/debian.conf
fi
diag "$(printf '%-58s %-8s %-8s %s' STATE SSHMEND SSHD "SSHD'S WORDS")"
for row in "${TABLE[@]}"; do
	diag "$row"
done

restore_host
is "$(stat -c '%a %u %g' /etc/shadow)" "$shadow_before" "/etc/shadow keeps its owner and mode"
is "$(stat -c '%a %u %g' /home)" "$home_before" "/home ends as it began"
is "$(stat -c '%a %u %g' /)" "$root_before" "/ ends as it began"
done_testing
