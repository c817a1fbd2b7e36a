#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves that sshmend's evaluation of sshd_config for one connection (src/sshdeval.c) is the
# installed sshd's own, `sshd -T -C user=U,host=H,addr=A,laddr=L,lport=P`, for every keyword
# that decides a public key login.
#
# Generates CONFIGS (default 200) random sshd_config files, seeded (SEED=N repeats a run; the
# seed is printed): a global part, an Include of a drop-in directory (by an absolute path or one
# relative to /etc/ssh), Match blocks on User, Group, Host, Address, LocalAddress, LocalPort and
# all, with lists, wildcards and negations, some with an Include of their own, and the keywords
# AllowUsers, DenyUsers (user@host and user@address/cidr patterns), AllowGroups, DenyGroups,
# PermitRootLogin, PubkeyAuthentication, AuthenticationMethods, PubkeyAcceptedAlgorithms (+, -
# and ^ forms), RequiredRSASize, AuthorizedKeysFile, AuthorizedKeysCommand(User),
# TrustedUserCAKeys, AuthorizedPrincipalsFile, RevokedKeys, StrictModes, UsePAM, LogLevel,
# UseDNS and ChrootDirectory
# with random values, a few of them wrong, written in the ways sshd reads alike (case,
# "Keyword=value", comments). Each file is evaluated for several connections:
# real users with different groups, root, and a user that does not exist, from IPv4 and IPv6
# addresses. Where sshd refuses the file, the evaluation must refuse it too; otherwise the two
# must print the same values (tests/sshdeval-dump prints ours as sshd -T does).
#
# SSHMEND_TEST_CONTAINER=trixie runs the whole script once more inside a booted Debian 13
# container (tests/lib/container.sh), against its OpenSSH 10 and its built-in defaults.
# shellcheck disable=SC2317 # functions run through add_cleanup
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
. "$top_srcdir/tests/lib/tap.sh"

if [ -n "${SSHMEND_TEST_CONTAINER:-}" ]; then
	[ -f "$top_srcdir/tests/lib/container.sh" ] || skip_all "no container fixture here"
	: "${SSHMEND:=$top_builddir/sshmend}"
	. "$top_srcdir/tests/lib/container.sh"
	container_require "$SSHMEND_TEST_CONTAINER"
	[ -x "$top_builddir/tests/sshdeval-dump" ] || skip_all "tests/sshdeval-dump not built"
	[ -x "$SSHMEND" ] || skip_all "sshmend not built ($SSHMEND)"
	container_reexec "$SSHMEND_TEST_CONTAINER" "$0" tests/sshdeval-dump
fi

require_root
require_prog ssh-keygen useradd userdel groupadd groupdel getent
SSHD_BIN=${SSHD_BIN:-/usr/sbin/sshd}
DUMP=$top_builddir/tests/sshdeval-dump
[ -x "$SSHD_BIN" ] || skip_all "$SSHD_BIN not found"
[ -x "$DUMP" ] || skip_all "tests/sshdeval-dump not built"

# The installed sshd's version decides how some lines are read: we are told it, as sshmend is.
SSHD_VERSION=$("$SSHD_BIN" -V 2>&1 | head -n 1)
case $SSHD_VERSION in
OpenSSH_*) ;;
*) skip_all "$SSHD_BIN -V says no OpenSSH version: $SSHD_VERSION" ;;
esac
CONFIGS=${CONFIGS:-200}
SEED=${SEED:-$((($(date +%s) ^ $$) % 32768))}
diag "SEED=$SEED CONFIGS=$CONFIGS (SEED=$SEED repeats this run), $SSHD_VERSION"
RANDOM=$SEED

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-sshdeval.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$TMP'"
chmod 0755 "$TMP"
ssh-keygen -q -t ed25519 -N '' -f "$TMP/host_key" </dev/null >/dev/null || exit 1

# Users and groups of this run: the names carry the process id, so that runs never meet.
P=sde$$
UA=${P}a    # in its own group and in G1, G2
UB=${P}b    # in G3 alone
UX=${P}x    # does not exist
G1=${P}g1 G2=${P}g2 G3=${P}g3
cleanup_users() {
	userdel "$UA" 2>/dev/null
	userdel "$UB" 2>/dev/null
	groupdel "$UA" 2>/dev/null
	for g in "$G1" "$G2" "$G3"; do groupdel "$g" 2>/dev/null; done
	return 0
}
add_cleanup cleanup_users
for g in "$UA" "$G1" "$G2" "$G3"; do groupadd "$g" || exit 1; done
useradd -M -N -g "$UA" -G "$G1,$G2" -s /bin/sh "$UA" || exit 1
useradd -M -N -g "$G3" -s /bin/sh "$UB" || exit 1
getent passwd "$UX" >/dev/null && skip_all "user $UX exists"

USERS=("$UA" "$UB" root "$UX")
# sshd as a service runs from "/", and relative paths are taken from there: so do we.
cd / || exit 1
# host addr laddr lport: sshd without UseDNS takes the address for the host name.
PLACES=(
	"ws1.example.com 10.1.2.3 192.168.1.10 22"
	"192.168.7.9 192.168.7.9 10.0.0.1 2222"
	"Gw.Example.ORG 2001:db8::5 ::1 22"
	"localhost 127.0.0.1 127.0.0.1 443"
)

# The generator forks nothing: each pick_* sets R, and the writers print.
pick() {
	local a=("$@")
	R=${a[RANDOM % ${#a[@]}]}
}

# pick_list N PICKER...: 1 to N items, each from a PICKER (a function), comma-separated
pick_list() {
	local n=$((RANDOM % $1 + 1)) out="" i
	shift
	for ((i = 0; i < n; i++)); do
		"$@"
		out+=${out:+,}$R
	done
	R=$out
}

pick_user() {
	pick "$UA" "$UB" root "$UX" "${P}*" "${P}?" "*" "r??t" "$UA,$UB" "!$UA"
}
pick_host() {
	pick "10.0.0.0/8" "!192.168.0.0/16" "*.example.com" "192.168.7.*" "2001:db8::/32" "ws1*" \
		"!ws1.example.com" "localhost" "127.0.0.1" "*" "!10.1.2.3" "gw.example.org" "::1"
}
pick_group() {
	pick "$G1" "$G2" "$G3" "$UA" root "${P}g*" "*" "nogroup" "!$G1"
}
pick_algorithm() {
	pick ssh-rsa ssh-ed25519 ecdsa-sha2-nistp256 rsa-sha2-512 rsa-sha2-256 "ssh-ed25519*" \
		"*-cert-v01@openssh.com" "ecdsa*" "sk-*" "rsa-sha2-*" ssh-dss "webauthn*"
}
pick_local() {
	pick "127.0.0.0/8" "::1" "10.0.0.1" "!192.168.1.10" "192.168.*"
}
pick_hostname() {
	pick "*.example.com" "!ws1*" "localhost" "GW.EXAMPLE.ORG" "192.168.7.*"
}

# emit KEYWORD VALUE: the line, written in one of the ways sshd reads alike (the keyword's
# case, "Keyword=value", blanks, a comment at the end)
emit() {
	local k=$1
	case $((RANDOM % 8)) in
	0) k=${k,,} ;;
	1) k=${k^^} ;;
	esac
	case $((RANDOM % 6)) in
	0) printf '%s=%s' "$k" "$2" ;;
	1) printf '\t%s = %s' "$k" "$2" ;;
	*) printf '%s %s' "$k" "$2" ;;
	esac
	[ $((RANDOM % 10)) != 0 ] || printf ' # a note'
	printf '\n'
}

# users_line KEYWORD: 1 to 3 user patterns, some with @host
users_line() {
	local n=$((RANDOM % 3 + 1)) w="" i u
	for ((i = 0; i < n; i++)); do
		pick_user
		u=$R
		if [ $((RANDOM % 3)) = 0 ]; then
			pick_list 3 pick_host
			u+="@$R"
		fi
		w+=" $u"
	done
	emit "$1" "${w# }"
}

# keyword_line IN_MATCH: one keyword line, random keyword and value (1: inside a Match block)
keyword_line() {
	local in_match=$1 k v
	pick AllowUsers DenyUsers AllowGroups DenyGroups PermitRootLogin PubkeyAuthentication \
		AuthenticationMethods PubkeyAcceptedAlgorithms PubkeyAcceptedAlgorithms \
		RequiredRSASize AuthorizedKeysFile AuthorizedKeysCommand AuthorizedKeysCommandUser \
		TrustedUserCAKeys AuthorizedPrincipalsFile RevokedKeys LogLevel StrictModes UsePAM \
		UseDNS ChrootDirectory
	k=$R
	case $k in
	AllowUsers | DenyUsers) users_line "$k" ;;
	AllowGroups | DenyGroups)
		pick_group
		v=$R
		if [ $((RANDOM % 2)) = 0 ]; then
			pick_group
			v+=" $R"
		fi
		emit "$k" "$v"
		;;
	PermitRootLogin)
		pick yes no prohibit-password without-password forced-commands-only
		emit "$k" "$R"
		;;
	PubkeyAuthentication)
		pick yes yes no
		emit "$k" "$R"
		;;
	AuthenticationMethods)
		pick any publickey "publickey,password publickey,keyboard-interactive" password \
			keyboard-interactive:pam "publickey,publickey"
		emit "$k" "$R"
		;;
	PubkeyAcceptedAlgorithms)
		pick "" + - ^ + -
		v=$R
		pick_list 3 pick_algorithm
		emit "$k" "$v$R"
		;;
	RequiredRSASize)
		pick 1024 2048 3072 4096 512
		emit "$k" "$R"
		;;
	AuthorizedKeysFile)
		pick .ssh/authorized_keys /etc/ssh/keys/%u %h/.ssh/k2 none
		v=$R
		pick "" .ssh/ak3 /srv/%U
		emit "$k" "$v $R"
		;;
	AuthorizedKeysCommand)
		pick "/usr/bin/keys %u %f" none "/bin/true  %t \"%k\""
		emit "$k" "$R"
		[ "$in_match" = 1 ] || [ $((RANDOM % 8)) = 0 ] || emit AuthorizedKeysCommandUser nobody
		;;
	AuthorizedKeysCommandUser)
		pick nobody root
		emit "$k" "$R"
		;;
	TrustedUserCAKeys)
		pick /etc/ssh/ca.pub none ca/user_ca.pub
		emit "$k" "$R"
		;;
	AuthorizedPrincipalsFile)
		pick /etc/ssh/principals/%u none .ssh/principals
		emit "$k" "$R"
		;;
	RevokedKeys)
		pick /etc/ssh/revoked none revoked.krl
		emit "$k" "$R"
		;;
	LogLevel)
		pick INFO VERBOSE debug DEBUG1 DEBUG3 quiet ERROR FATAL silent
		emit "$k" "$R"
		;;
	ChrootDirectory)
		pick none /srv/jail/%u /var/empty
		emit "$k" "$R"
		;;
	StrictModes | UsePAM | UseDNS)
		# Not allowed in a Match block: sshd refuses that, and so must we, now and then.
		if [ "$in_match" = 0 ] || [ $((RANDOM % 12)) = 0 ]; then
			pick yes no
			emit "$k" "$R"
		fi
		;;
	esac
}

keyword_lines() { # keyword_lines IN_MATCH MAX
	local n=$((RANDOM % $2 + 1)) i
	for ((i = 0; i < n; i++)); do
		keyword_line "$1"
	done
}

match_line() {
	if [ $((RANDOM % 8)) = 0 ]; then
		echo "Match all"
		return
	fi
	local n=$((RANDOM % 3 + 1)) i line="Match"
	for ((i = 0; i < n; i++)); do
		case $((RANDOM % 6)) in
		0) pick_list 3 pick_user && line+=" User $R" ;;
		1) pick_list 2 pick_group && line+=" Group $R" ;;
		2) pick_list 2 pick_hostname && line+=" Host $R" ;;
		3) pick_list 3 pick_host && line+=" Address $R" ;;
		4) pick_list 2 pick_local && line+=" LocalAddress $R" ;;
		5) pick 22 2222 443 && line+=" LocalPort $R" ;;
		esac
	done
	[ $((RANDOM % 10)) != 0 ] || line+=" # a note"
	echo "$line"
}

# include_of DIR: an Include of DIR/*.conf, by its path or by one relative to /etc/ssh
include_of() {
	if [ $((RANDOM % 2)) = 0 ]; then
		echo "Include $1/*.conf"
	else
		echo "Include ../..$1/*.conf"
	fi
}

# make_config N: $TMP/cN.conf with its drop-in directories
make_config() {
	local c=$TMP/c$1 m
	mkdir -p "$c.d" "$c.m"
	{
		echo "HostKey $TMP/host_key"
		keyword_lines 0 5
		[ $((RANDOM % 4)) = 0 ] || include_of "$c.d"
		keyword_lines 0 3
		for ((m = RANDOM % 4; m > 0; m--)); do
			match_line
			keyword_lines 1 4
			[ $((RANDOM % 5)) != 0 ] || include_of "$c.m"
		done
	} >"$c.conf"
	{
		keyword_lines 0 3
		if [ $((RANDOM % 2)) = 0 ]; then
			match_line
			keyword_lines 1 3
		fi
	} >"$c.d/50-random.conf"
	keyword_lines 0 2 >"$c.d/10-first.conf"
	{
		keyword_lines 1 3
		if [ $((RANDOM % 3)) = 0 ]; then
			match_line
			keyword_lines 1 2
		fi
	} >"$c.m/m.conf"
}

KEYWORDS='allowusers|denyusers|allowgroups|denygroups|permitrootlogin|pubkeyauthentication'
KEYWORDS+='|authenticationmethods|pubkeyacceptedalgorithms|requiredrsasize|authorizedkeysfile'
KEYWORDS+='|authorizedkeyscommand|authorizedkeyscommanduser|trustedusercakeys'
KEYWORDS+='|authorizedprincipalsfile|revokedkeys|strictmodes|usepam|loglevel|usedns'
KEYWORDS+='|chrootdirectory'

# The keywords above from sshd -T's output (lowercased from 10.4's CamelCase), in one order,
# each keyword's lines in the order printed, with the words that mean the same said one way:
# "none" in AuthorizedKeysFile is no file, prohibit-password is without-password, and Debian's
# SILENT is QUIET. A line "== ..." starts the output of another connection.
normalize() {
	awk -v kws="$KEYWORDS" '
	function flush(  i) {
		for (i = 1; i <= nk; i++) if (out[order[i]] != "") printf "%s", out[order[i]]
		split("", out)
	}
	BEGIN { nk = split(kws, order, "|"); for (i = 1; i <= nk; i++) known[order[i]] = 1 }
	/^== / { flush(); print; next }
	{
		k = tolower($1)
		if (!(k in known)) next
		rest = substr($0, length($1) + 2)
		if (k == "permitrootlogin" && rest == "prohibit-password") rest = "without-password"
		if (k == "loglevel" && rest == "SILENT") rest = "QUIET"
		if (k == "authorizedkeysfile") {
			n = split(rest, w, " "); rest = ""
			for (i = 1; i <= n; i++) if (w[i] != "none") rest = rest (rest == "" ? "" : " ") w[i]
			if (rest == "") rest = "none"
		}
		out[k] = out[k] k " " rest "\n"
	}
	END { flush() }'
}

# compare_config N: every connection of config N, sshd against us; diagnostics on mismatch.
# Sets ALL_REFUSED to 1 when sshd refused the file for every connection.
compare_config() {
	local conf=$TMP/c$1.conf specs=() args=() spec u p host addr laddr lport i
	pick "$UA" "$UB"
	for u in "${USERS[@]}" "$R"; do
		p=${PLACES[RANDOM % ${#PLACES[@]}]}
		read -r host addr laddr lport <<<"$p"
		spec="user=$u,host=$host,addr=$addr,laddr=$laddr,lport=$lport"
		specs+=("$spec")
		args+=(-C "$spec")
	done
	"$DUMP" -V "$SSHD_VERSION" -f "$conf" "${args[@]}" >"$TMP/ours" 2>"$TMP/ours.err"
	ALL_REFUSED=1
	for i in "${!specs[@]}"; do
		echo "== ${specs[$i]}"
		# An error is one line, as ours: sshd says it on standard error.
		if "$SSHD_BIN" -T -f "$conf" -C "${specs[$i]}" 2>"$TMP/sshd.err"; then
			ALL_REFUSED=0
		else
			echo "error: $(tail -n 1 "$TMP/sshd.err")"
		fi
	done >"$TMP/sshd"
	# Errors agree when both refuse; their words may differ.
	normalize <"$TMP/sshd" | sed 's/^error: .*/error/' >"$TMP/sshd.n"
	normalize <"$TMP/ours" | sed 's/^error: .*/error/' >"$TMP/ours.n"
	cmp -s "$TMP/sshd.n" "$TMP/ours.n" && return 0
	diag "config $1: sshd -T (-) and we (+) differ:" \
		"$(diff -u "$TMP/sshd.n" "$TMP/ours.n" | tail -n +3)"
	diag "sshd said: $(cat "$TMP/sshd.err")" "we said: $(grep '^error: ' "$TMP/ours")"
	diag "config $1:" "$(cat "$conf")"
	diag "drop-ins:" "$(tail -n +1 "$TMP/c$1.d/"*.conf "$TMP/c$1.m/"*.conf)"
	return 1
}

refused=0
failed=0
for ((n = 0; n < CONFIGS; n++)); do
	make_config "$n"
	if compare_config "$n"; then
		refused=$((refused + ALL_REFUSED))
	else
		failed=$((failed + 1))
		[ "$failed" -lt 5 ] || break
	fi
done
is "$failed" 0 "$CONFIGS generated sshd_config files: the evaluation is sshd -T's for every connection"
diag "$refused of them sshd refuses as a whole (and so did we)"
# The generator must make mostly valid files, or the comparison proves little.
ok "most generated files are valid for sshd" test "$refused" -lt $((CONFIGS / 4))

# The built-in default PubkeyAcceptedAlgorithms is the installed sshd's.
: >"$TMP/empty.conf"
default=$("$SSHD_BIN" -T -f "$TMP/empty.conf" -h "$TMP/host_key" |
	sed -n 's/^pubkeyacceptedalgorithms //Ip')
ours=$("$DUMP" -V "$SSHD_VERSION" -f "$TMP/empty.conf" -C "user=root,host=h,addr=10.0.0.1,laddr=10.0.0.2,lport=22" |
	sed -n 's/^pubkeyacceptedalgorithms //p')
is "$ours" "$default" "the built-in default PubkeyAcceptedAlgorithms is the installed sshd's"
done_testing
