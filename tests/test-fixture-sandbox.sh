#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves tests/lib/sandbox.sh: the fake root's tree, snapshots, cleanup, and speed at 1,000 users.
# shellcheck disable=SC2317 # functions run through ok and wait_for
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"

require_root
require_prog ssh-keygen find

ok "sandbox_create 3" sandbox_create 3
ok "SANDBOX is a directory" test -d "$SANDBOX"
is "$SANDBOX_USERS" 3 "SANDBOX_USERS"

# stat_of PATH: "uid gid mode type" of a path inside the sandbox.
stat_of() {
	stat -c '%u %g %a %F' "$SANDBOX/$1" 2>&1
}

is "$(stat_of .)" "0 0 755 directory" "sandbox root is 0755 root:root"
is "$(stat_of etc)" "0 0 755 directory" "etc"
is "$(stat_of etc/ssh)" "0 0 755 directory" "etc/ssh"
is "$(stat_of home)" "0 0 755 directory" "home is 0755 root"
is "$(stat_of root)" "0 0 700 directory" "root is 0700 root"
is "$(stat_of root/.ssh)" "0 0 700 directory" "root/.ssh is 0700 root"
is "$(stat_of root/.ssh/authorized_keys)" "0 0 600 regular file" "root's authorized_keys is 0600 root"
is "$(stat_of etc/passwd)" "0 0 644 regular file" "etc/passwd is 0644 root"

for k in 1 2 3; do
	id=$((20000 + k))
	is "$(stat_of home/user$k)" "$id $id 700 directory" "home/user$k is 0700 $id:$id"
	is "$(stat_of home/user$k/.ssh)" "$id $id 700 directory" "home/user$k/.ssh is 0700 $id:$id"
	is "$(stat_of home/user$k/.ssh/authorized_keys)" "$id $id 600 regular file" \
		"home/user$k/.ssh/authorized_keys is 0600 $id:$id"
done

is "$(cat "$SANDBOX/etc/passwd")" "root:x:0:0:root:/root:/bin/bash
user1:x:20001:20001::/home/user1:/bin/bash
user2:x:20002:20002::/home/user2:/bin/bash
user3:x:20003:20003::/home/user3:/bin/bash
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin" "etc/passwd"
is "$(cat "$SANDBOX/etc/group")" "root:x:0:
user1:x:20001:
user2:x:20002:
user3:x:20003:
nogroup:x:65534:" "etc/group"
ok "login.defs sets UID_MIN 1000" grep -Eqx 'UID_MIN[[:space:]]+1000' "$SANDBOX/etc/login.defs"
ok "machine-id is 32 hex digits" grep -Eqx '[0-9a-f]{32}' "$SANDBOX/etc/machine-id"
is "$(cat "$SANDBOX/etc/ssh/sshd_config")" \
	"AuthorizedKeysFile .ssh/authorized_keys .ssh/authorized_keys2" "sshd_config"

# The key: one valid ed25519 line, the same everywhere, matching SANDBOX_KEY.
key_line=$(cat "$SANDBOX/home/user2/.ssh/authorized_keys")
is "$key_line" "$SANDBOX_PUBKEY" "authorized_keys holds SANDBOX_PUBKEY"
is "$(wc -l <"$SANDBOX/home/user2/.ssh/authorized_keys")" 1 "one key line"
ok "the key line is a valid ed25519 public key" \
	ssh-keygen -l -f "$SANDBOX/home/user2/.ssh/authorized_keys"
is "${key_line%% *}" ssh-ed25519 "its type is ssh-ed25519"
is "$(ssh-keygen -y -f "$SANDBOX_KEY" | cut -d' ' -f1-2)" "$(echo "$key_line" | cut -d' ' -f1-2)" \
	"SANDBOX_KEY is its private half"
is "$(cat "$SANDBOX/root/.ssh/authorized_keys")" "$key_line" "root has the same key"
is "$(cat "$SANDBOX"/home/user*/.ssh/authorized_keys | sort -u)" "$key_line" "every user has the same key"
case $SANDBOX_KEY in
"$SANDBOX"/*) key_inside=yes ;;
*) key_inside=no ;;
esac
is "$key_inside" no "the private key is kept outside the fake root"

# Snapshots.
snap=$(sandbox_snapshot home/user2)
is "$snap" "home/user2 20002 20002 0700 d
home/user2/.ssh 20002 20002 0700 d
home/user2/.ssh/authorized_keys 20002 20002 0600 f" "snapshot of one home: relpath uid gid mode type, sorted"
is "$(sandbox_snapshot /home/user2)" "$snap" "a leading / is ignored"
is "$(sandbox_snapshot | wc -l)" $((3 * 3 + 11)) "full snapshot lists every entry"
is "$(sandbox_snapshot | grep -c '^[./]')" 0 "full snapshot has relative paths"
is "$(sandbox_snapshot home/nosuch)" "" "a missing path prints nothing"

before=$(sandbox_snapshot home etc root)
chmod 0755 "$SANDBOX/home/user3/.ssh"
after=$(sandbox_snapshot home etc root)
ok "snapshot detects a chmod" test "$before" != "$after"
is "$(diff <(echo "$before") <(echo "$after") | grep '^>')" \
	"> home/user3/.ssh 20003 20003 0755 d" "the diff is exactly that directory's new mode"
chown 20001 "$SANDBOX/home/user3/.ssh/authorized_keys"
ok "snapshot detects a chown" test "$after" != "$(sandbox_snapshot home etc root)"
before=$(sandbox_snapshot home)
ln -s /etc/shadow "$SANDBOX/home/user1/.ssh/authorized_keys2"
is "$(diff <(echo "$before") <(sandbox_snapshot home) | grep '^>')" \
	"> home/user1/.ssh/authorized_keys2 0 0 0777 l" \
	"snapshot lists a new symlink itself (its own owner, type l)"
before=$(sandbox_snapshot etc)
chmod 0755 "$SANDBOX/home/user1"
is "$(sandbox_snapshot etc)" "$before" "a change elsewhere leaves a snapshot of etc alone"

# sandbox_destroy removes it now.
old=$SANDBOX
ok "sandbox_destroy" sandbox_destroy
ok "the sandbox is gone" test ! -e "$old"
ok "and its key too" test ! -e "${old%/root}"
is "${SANDBOX:-unset}" unset "SANDBOX is unset"

# Cleanup on exit, also when the script fails or dies from a signal.
for how in "exit 0" "exit 1" "kill -TERM \$\$"; do
	out=$(bash -c '. "$1/tests/lib/tap.sh"; . "$1/tests/lib/sandbox.sh"
		sandbox_create 2 >/dev/null || exit 9
		[ -d "$SANDBOX/home/user2/.ssh" ] || exit 9
		echo "$SANDBOX"
		'"$how" _ "$top_srcdir")
	ok "sandbox was made in a child that ends with '$how'" test -n "$out" -a "${out%/root}" != "$out"
	ok "it is removed when the child ends with '$how'" test ! -e "$out" -a ! -e "${out%/root}"
done
out=$(bash -c '. "$1/tests/lib/tap.sh"; . "$1/tests/lib/sandbox.sh"
	add_cleanup "echo mine-ran >&2"
	sandbox_create 1 >/dev/null || exit 9
	echo "$SANDBOX"' _ "$top_srcdir" 2>"${TMPDIR:-/tmp}/sshmend-sandbox-test.$$")
mine=$(cat "${TMPDIR:-/tmp}/sshmend-sandbox-test.$$")
rm -f "${TMPDIR:-/tmp}/sshmend-sandbox-test.$$"
ok "the sandbox is removed alongside the test's own cleanups" test -n "$out" -a ! -e "$out"
is "$mine" mine-ran "the test's own cleanup ran too"

# Zero users: only root and nobody.
ok "sandbox_create 0" sandbox_create 0
is "$(cut -d: -f1 "$SANDBOX/etc/passwd" | tr '\n' ' ')" "root nobody " "zero users: root and nobody"
is "$(find "$SANDBOX/home" -mindepth 1 | wc -l)" 0 "zero users: empty home"
sandbox_destroy

# 1,000 users in a few seconds.
start=$(date +%s%N)
ok "sandbox_create 1000" sandbox_create 1000
ms=$((($(date +%s%N) - start) / 1000000))
diag "sandbox_create 1000 took $ms ms"
ok "1,000 users took less than 15 s ($ms ms)" test "$ms" -lt 15000
is "$(grep -c '^user[0-9]*:x:' "$SANDBOX/etc/passwd")" 1000 "1,000 passwd lines"
is "$(sed -n '1001p' "$SANDBOX/etc/passwd")" "user1000:x:21000:21000::/home/user1000:/bin/bash" "user1000's passwd line"
is "$(find "$SANDBOX/home" -mindepth 3 -name authorized_keys -type f -perm 0600 | wc -l)" 1000 \
	"1,000 authorized_keys files, 0600"
is "$(find "$SANDBOX/home" -mindepth 1 -maxdepth 1 -type d -perm 0700 | wc -l)" 1000 "1,000 homes, 0700"
bad=$(cd "$SANDBOX/home" && find . -mindepth 1 -printf '%P %U %G\n' |
	awk '{ split($1, p, "/"); id = 20000 + substr(p[1], 5); if ($2 != id || $3 != id) print }' | head -3)
is "$bad" "" "every user's files are owned by its own uid and gid"
is "$(stat_of home/user1000/.ssh/authorized_keys)" "21000 21000 600 regular file" "user1000's key file"

done_testing
