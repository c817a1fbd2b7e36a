#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Proves tests/lib/tap.sh and tests/lib/tap-run.sh: results, plan, exit status, skips, cleanups
# and wait_for, by running small scripts that use them and checking what they print.
# shellcheck disable=SC2317 # functions run through ok and wait_for
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
. "$top_srcdir/tests/lib/tap.sh"

work=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-tap.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$work'"

# run_script NAME BODY: run BODY as a bash script sourcing tap.sh; sets out (its stdout) and rc.
run_script() {
	{
		printf '. %q\n' "$top_srcdir/tests/lib/tap.sh"
		printf '%s\n' "$2"
	} >"$work/$1.sh"
	rc=0
	bash "$work/$1.sh" >"$work/$1.out" 2>"$work/$1.err" || rc=$?
	out=$(cat "$work/$1.out")
}

run_script pass 'ok "true works" true
is "a b" "a b" "strings equal"
done_testing'
is "$out" "ok 1 - true works
ok 2 - strings equal
1..2" "passing tests print ok lines and the plan at the end"
is "$rc" 0 "all passing: exit 0"

run_script fail 'is "apple" "pear" "fruit"
ok "false fails" false
ok "still counting" true
done_testing'
is "$rc" 1 "a failure: exit 1"
ok "failed is prints not ok" grep -qx 'not ok 1 - fruit' "$work/fail.out"
ok "failed is shows what it got" grep -q "^#  *got: 'apple'" "$work/fail.out"
ok "failed is shows what it expected" grep -q "^# expected: 'pear'" "$work/fail.out"
ok "failed ok prints not ok" grep -qx 'not ok 2 - false fails' "$work/fail.out"
ok "tests after a failure still count" grep -qx 'ok 3 - still counting' "$work/fail.out"
ok "plan counts every test" grep -qx '1\.\.3' "$work/fail.out"
is "$(grep -c '^not ok' "$work/fail.out")" 2 "exactly the two failures are reported"

run_script noisy 'ok "command output" echo "ok 99 - fake"
done_testing'
is "$out" "ok 1 - command output
1..1" "a command's stdout cannot inject TAP lines"
ok "it goes to stderr instead" grep -qx 'ok 99 - fake' "$work/noisy.err"

run_script diag 'diag "line one
line two"
done_testing'
is "$out" "# line one
# line two
1..0" "diag prefixes every line with #"

run_script skip 'skip_all "no frobnicator"
ok "never reached" true'
is "$out" "1..0 # SKIP no frobnicator" "skip_all prints a skip plan"
is "$rc" 77 "skip_all exits 77"

run_script noprog 'require_prog sh no-such-program-sshmend-test
ok "never reached" true'
is "$out" "1..0 # SKIP no-such-program-sshmend-test not found" "require_prog names the missing program"
is "$rc" 77 "require_prog exits 77"

run_script late 'ok "one" true
skip_all "too late"'
ok "skip_all after a test bails out" grep -q '^Bail out!' "$work/late.out"
is "$rc" 1 "and exits 1"

run_script cleanup 'trap "echo old-trap" EXIT
add_cleanup "echo first"
add_cleanup "echo second; false"
add_cleanup "echo third"
exit 3'
is "$out" "third
second
first
old-trap" "cleanups run in reverse order, after a failing one too, then an earlier trap"
is "$rc" 3 "cleanups keep the exit status"

run_script signal 'add_cleanup "echo cleaned"
kill -TERM $$
sleep 5
echo not-reached'
is "$out" "cleaned" "cleanups run when the script is killed by SIGTERM"
is "$rc" 143 "and it exits 128+15"

run_script died 'add_cleanup "true"
ok "one" true
exit 0'
ok "exiting before done_testing is reported (on stderr)" grep -q 'before done_testing' "$work/died.err"
is "$out" "ok 1 - one" "and no plan is printed"

run_script helper 'add_cleanup "echo cleaned >&2"
echo result'
is "$out" result "a helper script (no tests) using add_cleanup prints only its own output"

# wait_for: a background writer makes the condition true after a while.
rm -f "$work/flag"
(sleep 0.3 && : >"$work/flag") &
writer=$!
add_cleanup "kill $writer 2>/dev/null"
start=$(date +%s%N)
ok "wait_for returns 0 once the command succeeds" wait_for 10 test -e "$work/flag"
elapsed=$((($(date +%s%N) - start) / 1000000))
ok "wait_for waited for it (${elapsed} ms)" test "$elapsed" -ge 200
ok "wait_for returns soon after (${elapsed} ms)" test "$elapsed" -lt 5000
wait "$writer"

start=$(date +%s%N)
rc=0
wait_for 0.5 test -e "$work/never" || rc=$?
elapsed=$((($(date +%s%N) - start) / 1000000))
is "$rc" 1 "wait_for returns 1 when time is up"
ok "wait_for gives up after about its timeout (${elapsed} ms)" \
	test "$elapsed" -ge 450 -a "$elapsed" -lt 5000

polls=0
count_polls() {
	polls=$((polls + 1))
	return 1
}
wait_for 0.3 count_polls
ok "wait_for polls more than once while it waits ($polls polls in 0.3 s)" test "$polls" -ge 3

# tap-run.sh maps a skip (77) to 0 and passes anything else through.
printf 'echo "1..0 # SKIP x"; exit 77\n' >"$work/r77.sh"
printf 'exit 1\n' >"$work/r1.sh"
printf 'exit 0\n' >"$work/r0.sh"
rc=0
sh "$top_srcdir/tests/lib/tap-run.sh" "$work/r77.sh" >/dev/null || rc=$?
is "$rc" 0 "tap-run.sh turns exit 77 into 0"
rc=0
sh "$top_srcdir/tests/lib/tap-run.sh" "$work/r1.sh" || rc=$?
is "$rc" 1 "tap-run.sh passes a failure through"
rc=0
sh "$top_srcdir/tests/lib/tap-run.sh" "$work/r0.sh" || rc=$?
is "$rc" 0 "tap-run.sh passes success through"

done_testing
