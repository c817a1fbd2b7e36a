#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The command line as a person and an image bake use it, against a sandbox root: --strict makes
# a configuration warning fail check and fix (exit 1), and the contrib recipes gate on it; the
# global options work after the command too ("check --root DIR --json"); "fix --dry-run" says
# what it would change, old and new ("mode 0777 -> 0755"), where check says what it found.
# shellcheck disable=SC2317 # functions run through ok
. "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"

require_root
# shellcheck disable=SC2119 # sshmend alone, no helper program
require_sshmend

sandbox_create 1 || bail "sandbox_create failed"
S=$SANDBOX
CONF=$S/etc/sshmend/sshmend.conf
ERR=$(mktemp)
add_cleanup "rm -f '$ERR'"

# run ARGS...: sshmend's standard output in OUT, its exit status in RC, stderr in $ERR.
run() {
	RC=0
	OUT=$("$SSHMEND" "$@" 2>"$ERR" </dev/null) || RC=$?
}

write_conf() {
	install -d -m 0755 "$S/etc/sshmend" && printf '%s\n' "$@" >"$CONF" && chmod 0644 "$CONF"
}

diag "--- --strict: a configuration warning fails the bake's gate"
write_conf '[Keys]' 'Exlusive=yes'
run --root "$S" check
is "$RC" 0 "check: an unknown key is a warning, exit 0 without --strict"
ok "check: the warning names the file and line" grep -q 'sshmend.conf:2: unknown key .Exlusive.' "$ERR"
run --root "$S" check --strict
is "$RC" 1 "check --strict: exit 1 on a configuration warning"
ok "check --strict: says why" grep -q -- '--strict' "$ERR"
run --root "$S" fix --strict
is "$RC" 1 "fix --strict: exit 1 on a configuration warning"
write_conf '[Keys]' 'Exclusive=no'
run --root "$S" check --strict
is "$RC" 0 "check --strict: exit 0 with a clean configuration and clean chains"
for f in contrib/packer/sshmend.pkr.hcl contrib/ec2-image-builder/sshmend.yaml; do
	ok "$f gates on sshmend check --strict" grep -q 'sshmend check --strict' "$top_srcdir/$f"
done

diag "--- global options after the command"
chmod 0777 "$S/home/user1"
run --root "$S" check --json
before=$OUT before_rc=$RC
run check --root "$S" --json
is "$OUT" "$before" "check --root DIR --json reports as --root DIR check --json"
is "$RC" "$before_rc" "check --root DIR --json exits as --root DIR check --json ($before_rc)"
run check user1 --root="$S" --json
ok "check USER --root=DIR --json: options after a user name" grep -q '"user":"user1"' <<<"$OUT"
run check --config "$CONF" --root "$S" user1
is "$RC" 1 "check --config FILE --root DIR USER: the drift is found (exit 1)"
printf '[Keys]\nExlusive=yes\n' >"$S/strict.conf"
chmod 0644 "$S/strict.conf"
run check --config "$S/strict.conf" --root "$S" root
is "$RC" 0 "check --config FILE --root DIR root: root is clean (exit 0)"
run check --strict --config "$S/strict.conf" --root "$S" root
is "$RC" 1 "check --strict --config FILE: FILE is read (its warning fails the check)"
ok "... and named" grep -q 'strict.conf:2: unknown key' "$ERR"
run check --root
is "$RC" 2 "check --root without its value: usage error (exit 2)"
run check --version
ok "check --version prints the version" grep -q '^sshmend ' <<<"$OUT"

diag "--- fix --dry-run says what it would change"
chown 20001:20001 "$S/home/user1"
run --root "$S" check user1
check_out=$OUT
ok "check: says what it found" grep -q '^user1: /home/user1: mode 0777, expected 0755' <<<"$check_out"
run --root "$S" fix --dry-run user1
is "$RC" 1 "fix --dry-run: exit 1, nothing repaired"
ok "fix --dry-run: old and new mode" grep -q '^user1: /home/user1: would change mode 0777 -> 0755' <<<"$OUT"
isnt_check() { [ "$OUT" != "$check_out" ]; }
ok "fix --dry-run does not say what check says" isnt_check
ok "fix --dry-run changed nothing" test "$(stat -c %a "$S/home/user1")" = 777
# A keys file of a uid with no passwd entry, holding nothing but keys: given to the user.
chown 30000:30000 "$S/home/user1/.ssh/authorized_keys"
run --root "$S" fix --dry-run user1
ok "fix --dry-run: old and new owner" \
	grep -q '^user1: /home/user1/.ssh/authorized_keys: would change owner 30000 -> user1' <<<"$OUT"
run --root "$S" fix user1
is "$RC" 0 "fix repairs it (exit 0)"

done_testing
