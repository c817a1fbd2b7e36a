#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend why on bad input and on the hints that need no sshd: a broken sshd_config, an
# unreadable shadow, a key line that is garbage, a user name with '/' or '..', a private key
# given to --key (refused, never shown), a KRL in RevokedKeys; the hint for an unknown user
# (the users the key is authorized for, cloud-init's default user, the users with a key), a
# key approved in another user's drop-in directory. All in a sandbox root (--root).
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SSHMEND:=$top_builddir/sshmend}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"

require_root
require_prog ssh-keygen
[ -x "$SSHMEND" ] || skip_all "sshmend not built ($SSHMEND)"

sandbox_create 2 || exit 1
S=$SANDBOX
mkdir -p "$S/bin" && cp -L /bin/sh "$S/bin/bash"
printf '%s\n' 'root:*:19000:0:99999:7:::' 'user1:*:19000:0:99999:7:::' \
	'user2:*:19000:0:99999:7:::' >"$S/etc/shadow"
chmod 0640 "$S/etc/shadow"
KEYS=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-why-input.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$KEYS'"
printf '%s\n' "$SANDBOX_PUBKEY" >"$KEYS/user.pub"
ssh-keygen -q -t ed25519 -N '' -C other -f "$KEYS/other" </dev/null >/dev/null

why() { "$SSHMEND" --root "$S" why "$@"; }
run() { # run ARGS...: $out, $err, $rc of sshmend why ARGS...
	rc=0
	out=$(why "$@" 2>"$KEYS/err") || rc=$?
	err=$(cat "$KEYS/err")
}
has() { case $1 in *"$2"*) true ;; *) false ;; esac }

run user1 --key "$KEYS/user.pub" --json
is "$rc" 0 "a sound sandbox user is accepted" || diag "$out $err"

# A user name sshd could never be asked for: usage error, exit 2.
for name in ../etc bad/name . ..; do
	run "$name"
	is "$rc" 2 "user name '$name': exit 2"
	ok "user name '$name': said so" has "$err" "is not a user name"
done

# A client address that is none.
run user1 --from 'not an address'
is "$rc" 2 "--from with no address: exit 2"
ok "--from with no address: said so" has "$err" "is not an IPv4 or IPv6 address"

# A key line that is garbage: exit 2, with the line's number.
printf 'ssh-ed25519 not-base64-at-all!!\n' >"$KEYS/garbage.pub"
run user1 --key "$KEYS/garbage.pub"
is "$rc" 2 "a garbage key line: exit 2"
ok "a garbage key line: named with its line" has "$err" "garbage.pub:1: not a public key"

# A private key given by mistake: exit 2, and nothing of it on either stream.
run user1 --key "$KEYS/other"
is "$rc" 2 "a private key to --key: exit 2"
ok "a private key to --key: said so" has "$err" "this is a private key"
secret=$(sed -n 2p "$KEYS/other")
ok "a private key to --key: none of it is shown" test -n "$secret" -a \
	"${out}${err}" = "${out}${err/"$secret"/}"
rc=0
out=$(why user1 --key - <"$KEYS/other" 2>&1) || rc=$?
is "$rc" 2 "a private key on standard input: exit 2"
ok "a private key on standard input: none of it is shown" test "$out" = "${out/"$secret"/}"

# An unknown user: a refusal (exit 1), and the hint names who the key is authorized for.
run ubuntu --key "$KEYS/user.pub" --json
is "$rc" 1 "an unknown user is a refusal"
ok "unknown user: cause unknown-user" has "$out" '"cause":"unknown-user"'
ok "unknown user: the key is authorized for root, user1, user2" \
	has "$out" '"authorized_for":["root","user1","user2"]'
# Without a key it knows, cloud-init's default user, from cloud.cfg.d over cloud.cfg...
mkdir -p "$S/etc/cloud/cloud.cfg.d"
printf 'system_info:\n  default_user:\n    name: debian\n    lock_passwd: true\n' \
	>"$S/etc/cloud/cloud.cfg"
run ubuntu --key "$KEYS/other.pub" --json
ok "unknown user: cloud.cfg's default user" has "$out" "default login user is debian"
printf 'system_info:\n  default_user:\n    name: admin\n' >"$S/etc/cloud/cloud.cfg.d/90-user.cfg"
run ubuntu --key "$KEYS/other.pub" --json
ok "unknown user: cloud.cfg.d's default user wins" has "$out" "default login user is admin"
# ...and first of all what cloud-init combined.
mkdir -p "$S/run/cloud-init"
printf '{"system_info": {"default_user": {"groups": ["adm"], "name": "ec2-user"}}}\n' \
	>"$S/run/cloud-init/combined-cloud-config.json"
run ubuntu --key "$KEYS/other.pub" --json
ok "unknown user: combined-cloud-config.json's default user" \
	has "$out" "default login user is ec2-user"
rm -rf "$S/run/cloud-init" "$S/etc/cloud"
run ubuntu --key "$KEYS/other.pub" --json
ok "unknown user, no cloud-init: the users with a key" \
	has "$out" "users with an authorized key: root, user1, user2"

# A key approved for another user in the drop-in directory.
install -d -m 0755 "$S/etc/sshmend/keys.d/user2"
install -m 0644 "$KEYS/other.pub" "$S/etc/sshmend/keys.d/user2/laptop.pub"
run user1 --key "$KEYS/other.pub" --json
is "$rc" 1 "a key approved for another user: refused"
ok "a key approved for another user: the hint says for whom" \
	has "$out" "the key is approved for user2, not user1"

# The key in another user's keys file: the hint says whose it is.
cat "$KEYS/other.pub" >>"$S/home/user2/.ssh/authorized_keys"
run user1 --key "$KEYS/other.pub" --json
ok "a key of another user: authorized_for names that user" has "$out" '"authorized_for":["user2"]'
ok "a key of another user: the hint says to log in as that user" \
	has "$out" "the key is authorized for user2, not user1: log in as user2"

# A key Exclusive= took to the quarantine: the hint says when, and how to get it back.
ssh-keygen -q -t ed25519 -N '' -C stray -f "$KEYS/stray" </dev/null >/dev/null
install -d -m 0755 "$S/etc/sshmend/keys.d/user1"
install -m 0644 "$KEYS/user.pub" "$S/etc/sshmend/keys.d/user1/own.pub"
cat "$KEYS/stray.pub" >>"$S/home/user1/.ssh/authorized_keys"
printf '[Keys]\nExclusive=yes\n' >"$KEYS/exclusive.conf"
chmod 0644 "$KEYS/exclusive.conf"
"$SSHMEND" --root "$S" --config "$KEYS/exclusive.conf" fix user1 >/dev/null 2>&1
run user1 --key "$KEYS/stray.pub" --json
is "$rc" 1 "a quarantined key: refused"
like "$out" 'into the quarantine at [0-9-]+T[0-9:]+Z .*sshmend keys --restore user1 SHA256:' \
	"a quarantined key: the hint says it went to the quarantine, and when"

# RevokedKeys a KRL: said not to be evaluated, not guessed.
ssh-keygen -q -k -f "$S/etc/ssh/revoked.krl" "$KEYS/other.pub"
echo "RevokedKeys /etc/ssh/revoked.krl" >"$S/etc/ssh/sshd_config.new"
cat "$S/etc/ssh/sshd_config" >>"$S/etc/ssh/sshd_config.new"
cp "$S/etc/ssh/sshd_config" "$KEYS/sshd_config.orig"
mv "$S/etc/ssh/sshd_config.new" "$S/etc/ssh/sshd_config"
run user1 --key "$KEYS/user.pub" --json
ok "a KRL in RevokedKeys: not evaluated, and said so" has "$out" "is a KRL, which sshmend does not read"
# A plain-keys RevokedKeys file that is missing: sshd refuses every key.
sed -i 's|revoked.krl|missing-revoked|' "$S/etc/ssh/sshd_config"
run user1 --key "$KEYS/user.pub" --json
ok "a missing RevokedKeys file: every key refused, as sshd does" \
	has "$out" '"sshd_message":"Revoked keys file is unreadable: refusing public key authentication"'
cp "$KEYS/sshd_config.orig" "$S/etc/ssh/sshd_config"

# A broken sshd_config: exit 2, naming the file and line.
echo "Match Nonsense here" >>"$S/etc/ssh/sshd_config"
run user1
is "$rc" 2 "a broken sshd_config: exit 2"
ok "a broken sshd_config: named with its line" has "$err" "/etc/ssh/sshd_config:"
cp "$KEYS/sshd_config.orig" "$S/etc/ssh/sshd_config"

# A shadow that cannot be read: exit 2, naming it.
rm -f "$S/etc/shadow" && mkdir "$S/etc/shadow"
run user1
is "$rc" 2 "an unreadable shadow: exit 2"
ok "an unreadable shadow: named" has "$err" "/etc/shadow"

done_testing
