#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Time `sshmend why` over a sandbox root of N users (default 10000), each with a keys file,
# best of 10 runs of each question: a key the user holds (and every user holds it), a key
# nobody holds (every user's keys file is read for authorized_for), no key, an unknown user;
# then the floor of any answer that looks at every keys file: a stat of each path alone; last,
# the key nobody holds once more, after the homes of 9 in 10 users are removed.
# Usage: bench/why-scale.sh [N...]   (run as root from the build directory, or set SSHMEND)
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
SSHMEND=${SSHMEND:-./sshmend}
. "$top_srcdir/tests/lib/tap.sh"
. "$top_srcdir/tests/lib/sandbox.sh"
. "$top_srcdir/bench/why-lib.sh"

[ $# -gt 0 ] || set -- 10000
KEYS=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-why-bench.XXXXXX") || exit 1
add_cleanup "rm -rf -- '$KEYS'"
ssh-keygen -q -t ed25519 -N '' -f "$KEYS/other" </dev/null >/dev/null

# stat_floor N: of 10 passes, the least CPU time (ms) that lstat() of both keys file paths of
# N users takes, and nothing else: what any answer that looks at each keys file costs here.
stat_floor() {
	python3 - "$SANDBOX" "$1" <<'PY'
import os, sys, time
root, n = sys.argv[1], int(sys.argv[2])
paths = [f"{root}/home/user{k}/.ssh/{f}" for k in range(1, n + 1)
         for f in ("authorized_keys", "authorized_keys2")]
best = None
for _ in range(10):
    t = time.process_time()
    for p in paths:
        try:
            os.lstat(p)
        except OSError:
            pass
    t = time.process_time() - t
    best = t if best is None or t < best else best
print(f"- | {best * 1000:.0f} ms")
PY
}

for n in "$@"; do
	sandbox_create "$n" >/dev/null
	WHY_ARGS=(--root "$SANDBOX")
	mkdir -p "$SANDBOX/bin" && cp -L /bin/sh "$SANDBOX/bin/bash"
	printf '%s\n' "$SANDBOX_PUBKEY" >"$KEYS/user.pub"
	printf '| --version (the floor) | %s users | %s |\n' "$n" "$(best_of --version)"
	printf '| why user1 --key (held by all) | %s users | %s |\n' "$n" \
		"$(best_of why user1 --key "$KEYS/user.pub")"
	printf '| why user1 --key (held by none) | %s users | %s |\n' "$n" \
		"$(best_of why user1 --key "$KEYS/other.pub")"
	printf '| why user1 | %s users | %s |\n' "$n" "$(best_of why user1)"
	printf '| why nosuchuser --key (held by none) | %s users | %s |\n' "$n" \
		"$(best_of why nosuchuser --key "$KEYS/other.pub")"
	printf '| a stat of every keys file path, nothing else (the floor of a look at each) | %s users | %s |\n' \
		"$n" "$(stat_floor "$n")"
	# A directory of users (LDAP, SSSD) where most never logged in: 9 in 10 have no home.
	seq -f "$SANDBOX/home/user%.0f" $((n / 10 + 1)) "$n" | xargs rm -rf --
	printf '| why user1 --key (held by none), 9 in 10 users without a home | %s users | %s |\n' \
		"$n" "$(best_of why user1 --key "$KEYS/other.pub")"
	sandbox_destroy
done
