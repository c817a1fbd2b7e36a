#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend why against a real sshd: for every cause and for the accepted case, a scenario on the
# real sshd fixture in which why's verdict equals what a real key login does, the cause is the
# one expected, why's sshd_message is a line the real sshd logged for that attempt (LogLevel
# VERBOSE; sshd adds the client's port, " port N", and " [preauth]", which why cannot know), and
# `why --root` on a copy of the same tree gives the same answer, word for word.
#
# As in test-sshd-agreement.sh, each live sshmend runs in a private mount namespace in which the
# test sshd's configuration is bind-mounted over /etc/ssh/sshd_config.
#
# To run the same scenarios against another sshd: SSHD_BIN (the fixture's), and SSHMEND; and
# SSHMEND_TEST_CONTAINER=trixie runs the whole script once more inside a booted Debian 13
# container (tests/lib/container.sh), against its OpenSSH 10.
# shellcheck disable=SC2317 # functions run through ok, eval and add_cleanup
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SSHMEND:=$top_builddir/sshmend}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sshd.sh"

if [ -n "${SSHMEND_TEST_CONTAINER:-}" ]; then
	[ -f "$top_srcdir/tests/lib/container.sh" ] || skip_all "no container fixture here"
	. "$top_srcdir/tests/lib/container.sh"
	container_require "$SSHMEND_TEST_CONTAINER"
	[ -x "$SSHMEND" ] || skip_all "sshmend not built ($SSHMEND)"
	container_reexec "$SSHMEND_TEST_CONTAINER" "$0"
fi

require_root
require_prog ssh ssh-keygen useradd usermod userdel unshare mount getent chage
[ -x "$SSHMEND" ] || skip_all "sshmend not built ($SSHMEND)"
[ -x "$SSHD_BIN" ] || skip_all "$SSHD_BIN not found"
[ -f /etc/ssh/sshd_config ] || skip_all "no /etc/ssh/sshd_config to bind the test config over"
unshare -m --propagation private true 2>/dev/null || skip_all "cannot make a mount namespace"

require_prog flock
# test-sshd-agreement.sh changes /home's mode for a moment and holds a lock on /home meanwhile:
# one run at a time.
exec 9</home
flock -w 1800 9 || skip_all "another run held the lock on /home for 30 minutes"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-why.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$WORK'"
chmod 0755 "$WORK"

# sshd's configuration: the fixture puts these lines first; the Match blocks come through an
# Include, whose Match state ends with its file, so the fixture's own lines stay global.
cat >"$WORK/match.conf" <<EOF
Match User smyE
	AuthenticationMethods publickey,publickey
Match User smyF
	PubkeyAuthentication no
Match User smyT
	PubkeyAcceptedAlgorithms -ssh-ed25519
Match User smyR
	PermitRootLogin no
EOF
: >"$WORK/revoked"
# OpenSSH 9.8 and later drop every connection from an address that failed to log in for a
# while (PerSourcePenalties): the scenarios fail one login after another from 127.0.0.1.
PENALTIES=()
if ! "$SSHD_BIN" -t -f /dev/null -o PerSourcePenalties=no 2>&1 | grep -qi 'bad configuration option'; then
	PENALTIES=("PerSourcePenalties no")
fi
ok "sshd_start" sshd_start "${PENALTIES[@]}" "DenyUsers smyB" "RequiredRSASize 2048" \
	"RevokedKeys $WORK/revoked" "Include $WORK/match.conf" || done_testing

USERS=(smyA smyB smyC smyD smyG smyF smyM smyU smyN smyK smyO smyH smyI smyJ smyP smyQ smyW smyT
	smyS smyV smyE)
for u in "${USERS[@]}"; do
	testuser_create "$u" >/dev/null || {
		ok "testuser_create $u" false
		done_testing
	}
done
ok "test users exist" true

# A second account with uid 0, as PermitRootLogin sees root; its home in our directory.
RH=$WORK/rhome
remove_root_twin() {
	getent passwd smyR >/dev/null && userdel -f smyR >/dev/null 2>&1
	return 0
}
remove_root_twin
add_cleanup remove_root_twin
mkdir -m 0755 "$RH" && mkdir -m 0700 "$RH/.ssh" &&
	useradd -o -u 0 -g 0 -M -d "$RH" -s /bin/sh smyR 2>/dev/null &&
	usermod -p '*' smyR &&
	ssh-keygen -q -t ed25519 -N '' -f "$SSHD_DIR/smyR.key" </dev/null >/dev/null &&
	install -m 0600 "$SSHD_DIR/smyR.key.pub" "$RH/.ssh/authorized_keys"
ok "uid-0 account smyR" getent passwd smyR

home() { getent passwd "$1" | cut -d: -f6; }
newkey() { # newkey USER TYPE [BITS]: a new key pair for USER's logins
	rm -f "$SSHD_DIR/$1.key" "$SSHD_DIR/$1.key.pub"
	ssh-keygen -q -t "$2" ${3:+-b "$3"} -N '' -f "$SSHD_DIR/$1.key" </dev/null >/dev/null
}

# The states, one per user.
usermod -s /nonexistent/shell smyC 2>/dev/null
usermod -p '!' smyD
chage -E 1 smyG
chmod 0777 "$(home smyM)/.ssh"
chmod 0000 "$(home smyU)/.ssh/authorized_keys"
: >"$(home smyN)/.ssh/authorized_keys"
cp "$SSHD_DIR/smyA.key.pub" "$(home smyK)/.ssh/authorized_keys"
sed -i 's/^/from="10.9.9.9" /' "$(home smyO)/.ssh/authorized_keys"
sed -i 's|^|from="10.0.0.0/8,127.0.0.0/8,!127.0.0.2" |' "$(home smyH)/.ssh/authorized_keys"
sed -i 's/^/from="!127.0.0.1,*" /' "$(home smyI)/.ssh/authorized_keys"
# A line whose from= refuses, then the same key on a line of its own: sshd reads on.
sed -i 's/^/from="10.9.9.9" /' "$(home smyJ)/.ssh/authorized_keys"
cat "$SSHD_DIR/smyJ.key.pub" >>"$(home smyJ)/.ssh/authorized_keys"
sed -i 's/^/expiry-time="20200101" /' "$(home smyP)/.ssh/authorized_keys"
sed -i 's/^/cert-authority /' "$(home smyQ)/.ssh/authorized_keys"
sed -i 's/^/principals="smyW" /' "$(home smyW)/.ssh/authorized_keys"
newkey smyS rsa 1024 && cp "$SSHD_DIR/smyS.key.pub" "$(home smyS)/.ssh/authorized_keys"
cp "$SSHD_DIR/smyV.key.pub" "$WORK/revoked"
# The unknown user logs in with smyA's key.
cp "$SSHD_DIR/smyA.key" "$SSHD_DIR/smynobody.key"
cp "$SSHD_DIR/smyA.key.pub" "$SSHD_DIR/smynobody.key.pub"

# The same tree under a root of its own: what a rescue instance sees of the mounted volume.
ROOT=$WORK/root
copy_tree() {
	mkdir -p "$ROOT/etc/ssh" "$ROOT/bin" "$ROOT/home" "$ROOT$WORK" &&
		cp -a /etc/passwd /etc/group /etc/shadow "$ROOT/etc/" &&
		cp "$SSHD_CONFIG" "$ROOT/etc/ssh/sshd_config" &&
		cp -a "$WORK/match.conf" "$WORK/revoked" "$RH" "$ROOT$WORK/" &&
		cp -L /bin/sh "$ROOT/bin/sh" || return 1
	local u
	for u in "${USERS[@]}"; do
		cp -a "$(home "$u")" "$ROOT/home/" || return 1
	done
}
ok "a copy of the tree under --root" copy_tree

# smend ARGS...: sshmend ARGS..., seeing the test sshd's configuration as its own.
smend() {
	unshare -m --propagation private /bin/sh -c \
		'mount --bind "$1" /etc/ssh/sshd_config && shift && exec "$@"' \
		smend "$SSHD_CONFIG" "$SSHMEND" "$@"
}

json_field() { # json_field JSON NAME: a string field's value, "null" for null
	case $1 in
	*"\"$2\":null"*) echo null ;;
	*) printf '%s\n' "$1" | sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" ;;
	esac
}

# What sshd logged since the mark, as why words it: no port, no [preauth], no CR.
sshd_lines() {
	sshd_log_since_mark | tr -d '\r' | sed -E 's/ port [0-9]+//; s/ \[preauth\]$//'
}

# scenario USER CAUSE: why's answer for USER's key, a real login with it, and --root.
scenario() {
	local user=$1 cause=$2 json rc said msg rjson rrc
	rc=0
	json=$(smend why "$user" --key "$SSHD_DIR/$user.key.pub" --from 127.0.0.1 --json \
		2>"$WORK/err") || rc=$?
	sshd_mark
	if sshd_login "$user" 2>/dev/null; then said=0; else said=1; fi
	sleep 0.2 # sshd writes its last lines after the client has gone
	ok "$user: why exits $rc, the login $([ $said = 0 ] && echo works || echo fails)" \
		test "$rc" = "$said" || diag "$json $(cat "$WORK/err")"
	is "$(json_field "$json" cause)" "$cause" "$user: the cause is $cause"
	msg=$(json_field "$json" sshd_message)
	if [ "$cause" = null ] || [ "$cause" = pubkey-disabled ]; then
		# sshd logs no refusal at VERBOSE for these: PubkeyAuthentication no is silent.
		is "$msg" null "$user: no sshd line to quote"
	else
		ok "$user: sshd logged \"$msg\"" grep -Fxq -- "$msg" <(sshd_lines) ||
			diag "sshd logged: $(sshd_lines)"
	fi
	rrc=0
	rjson=$("$SSHMEND" --root "$ROOT" why "$user" --key "$SSHD_DIR/$user.key.pub" \
		--from 127.0.0.1 --json 2>"$WORK/err") || rrc=$?
	ok "$user: --root on a copy gives the same answer" test "$rrc:$rjson" = "$rc:$json" ||
		diag "live: $json" "root: $rjson"
}

# scenario_any USER CAUSE: the same without --key: would sshd take any key it finds for USER?
# The login tries USER's own key, the one its keys file was made with.
scenario_any() {
	local user=$1 cause=$2 json rc said
	rc=0
	json=$(smend why "$user" --from 127.0.0.1 --json 2>"$WORK/err") || rc=$?
	if sshd_login "$user" 2>/dev/null; then said=0; else said=1; fi
	ok "$user, any key: why exits $rc, the login $([ $said = 0 ] && echo works || echo fails)" \
		test "$rc" = "$said" || diag "$json $(cat "$WORK/err")"
	is "$(json_field "$json" cause)" "$cause" "$user, any key: the cause is $cause"
}

scenario smyA null
scenario smynobody unknown-user
scenario smyC shell
scenario smyD account-locked
scenario smyG account-expired
scenario smyB user-not-allowed
scenario smyR root-refused
scenario smyF pubkey-disabled
scenario smyM strict-modes
scenario smyU keys-unreadable
scenario smyN no-keys
scenario smyK key-not-authorized
scenario smyO key-option
scenario smyH null
scenario smyI key-option
scenario smyJ null
scenario smyP key-option
scenario smyQ key-option
scenario smyW key-option
scenario smyT key-type
scenario smyS key-too-small
scenario smyV key-revoked
scenario smyE needs-more-methods

# With UsePAM yes, PAM's account stack decides instead of sshd: pam_unix refuses an expired
# account after the key, and a locked password does not stop a key.
if [ -f /etc/pam.d/sshd ]; then
	sshd_restart "UsePAM yes" "${PENALTIES[@]}" "DenyUsers smyB" "RequiredRSASize 2048" \
		"RevokedKeys $WORK/revoked" "Include $WORK/match.conf"
	ok "sshd restarted with UsePAM yes" test -n "${SSHD_PID:-}"
	cp "$SSHD_CONFIG" "$ROOT/etc/ssh/sshd_config"
	scenario smyD null
	scenario smyG account-expired
	sshd_restart "${PENALTIES[@]}" "DenyUsers smyB" "RequiredRSASize 2048" \
		"RevokedKeys $WORK/revoked" "Include $WORK/match.conf"
	cp "$SSHD_CONFIG" "$ROOT/etc/ssh/sshd_config"
else
	diag "no /etc/pam.d/sshd: UsePAM yes not tried"
fi

scenario_any smyA null
scenario_any smyD account-locked
scenario_any smyM strict-modes
scenario_any smyN no-keys
scenario_any smyO key-option
scenario_any smyJ null
scenario_any smyS key-too-small

done_testing
