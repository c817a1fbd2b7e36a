#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend why looks for the offered key in every user's keys files (authorized_for): a user
# without a home is not looked for in it, file by file, once the directory of homes is listed,
# and still is in a keys file outside the home (AuthorizedKeysFile /etc/ssh/keys/%u). In a
# sandbox root (--root) of 40 users, 30 of them without a home; strace counts the opens.
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
: "${SSHMEND:=$top_builddir/sshmend}"
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"

require_root
require_prog ssh-keygen strace
[ -x "$SSHMEND" ] || skip_all "sshmend not built ($SSHMEND)"

sandbox_create 40 || exit 1
S=$SANDBOX
mkdir -p "$S/bin" && cp -L /bin/sh "$S/bin/bash"
KEYS=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-why-homes.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$KEYS'"
ssh-keygen -q -t ed25519 -N '' -C other -f "$KEYS/other" </dev/null >/dev/null
other=$(cat "$KEYS/other.pub")

# user11 to user40 have no home; user7 holds the key in its home, user33 outside any home.
for ((k = 11; k <= 40; k++)); do rm -rf -- "$S/home/user$k"; done
printf '%s\n' "$other" >>"$S/home/user7/.ssh/authorized_keys"
printf 'AuthorizedKeysFile .ssh/authorized_keys /etc/ssh/keys/%%u\n' >"$S/etc/ssh/sshd_config"
mkdir -p "$S/etc/ssh/keys"
printf '%s\n' "$other" >"$S/etc/ssh/keys/user33"

json=$("$SSHMEND" --root "$S" why user1 --key "$KEYS/other.pub" --json 2>"$KEYS/err")
like "$json" '"cause":"key-not-authorized"' "user1 does not hold the key" || diag "$json $(cat "$KEYS/err")"
like "$json" '"authorized_for":\[[^]]*"user7"' "authorized_for names user7 (its home's keys file)" ||
	diag "$json"
like "$json" '"authorized_for":\[[^]]*"user33"' \
	"... and user33, who has no home (a keys file outside it)" || diag "$json"

strace -f -qq -e trace=openat,openat2 -o "$KEYS/trace" \
	"$SSHMEND" --root "$S" why user1 --key "$KEYS/other.pub" >/dev/null 2>&1
opened_missing=$(grep -cE '"home/user(1[1-9]|[2-4][0-9])/' "$KEYS/trace")
is "$opened_missing" 0 "no open of a keys file in any of the 30 homes that do not exist" ||
	diag "$(grep -E '"home/user(1[1-9]|[2-4][0-9])/' "$KEYS/trace" | head -n 5)"
opened_present=$(grep -cE '"home/user([2-9]|10)/\.ssh/authorized_keys"' "$KEYS/trace")
is "$opened_present" 9 "the keys files of the 9 other users with a home are opened" ||
	diag "$(grep -F home/ "$KEYS/trace" | head -n 20)"
done_testing
