#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
# One pass over many users (check, fix, a daemon's full scan) walks `/` and `/home` once and
# starts each later user's walk from them. A drift there must still be reported for every
# user by check, and repaired once by fix: the users after the repair are judged on what is
# there now, not on what the first walk found (no second "fixed", no false drift, exit 0).
. "${top_srcdir:-$(dirname "$0")/..}/tests/threats-lib.sh"
threat_init "$@"

N=4

diag "--- /home 0777: check reports it for every user"
sandbox_create $N || exit 1
chmod 0777 "$SANDBOX/home"
sm check --json
is "$SM_RC" 1 "check finds drift (exit 1)"
for ((k = 1; k <= N; k++)); do
	expect_finding "user$k" /home mode would-fix "check: user$k's report names /home"
done
sandbox_destroy

diag "--- / and /home 0777: fix repairs each once, the users after are judged afresh"
sandbox_create $N || exit 1
chmod 0777 "$SANDBOX" "$SANDBOX/home"
sm fix --json
is "$SM_RC" 0 "fix leaves nothing unresolved (exit 0)"
expect_finding root / mode fixed "fix: root's walk, the first, repairs /"
expect_no_finding user1 / "fix: user1 is judged on / as repaired"
expect_finding user1 /home mode fixed "fix: user1's walk repairs /home"
for ((k = 2; k <= N; k++)); do
	expect_no_finding "user$k" /home "fix: user$k is judged on /home as repaired"
done
expect_stat . "0 0 0755 d" "/ is 0755 root:root"
expect_stat home "0 0 0755 d" "/home is 0755 root:root"
sm check --json
is "$SM_RC" 0 "check afterwards finds nothing"
sandbox_destroy

diag "--- one user's own home drifted: the next users' walks do not carry it"
sandbox_create $N || exit 1
chmod 0777 "$SANDBOX/home/user2"
sm fix --json
is "$SM_RC" 0 "fix exits 0"
expect_finding user2 /home/user2 mode fixed "user2's home is repaired"
expect_nothing_under user3 /home/user2 "user3's report does not name user2's home"
expect_stat home/user2 "$(uid_of user2) $(uid_of user2) 0755 d" "user2's home has no write for group and others"
sandbox_destroy

done_testing
