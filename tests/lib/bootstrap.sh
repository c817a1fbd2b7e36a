# SPDX-License-Identifier: Apache-2.0
# shellcheck shell=bash
# The start of every test script that runs sshmend:
#
#   . "${top_srcdir:-$(dirname "$0")/..}/tests/lib/bootstrap.sh"
#
# Sets and exports top_srcdir, top_builddir (default: top_srcdir) and SSHMEND (the program under
# test, default $top_builddir/sshmend), then sources tests/lib/tap.sh, sandbox.sh, journald.sh,
# notify.sh and daemon.sh (functions only: nothing starts before the script asks).
#
# require_sshmend [HELPER...]
#                        skip_all unless sshmend is built, and each tests/HELPER program too.
# test_tmp               make TEST_TMP once: a temp dir of this test (0755, outside any sandbox,
#                        removed on exit); harmless when it exists already.
# sshmend_precheck CFG NAME
#                        for a test on the running system: skip_all unless "sshmend --config CFG
#                        check" finds nothing to change (the host's / and /home are in every
#                        user's chain, and a test must not change them).

if [ -z "${top_srcdir:-}" ]; then
	top_srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fi
: "${top_builddir:=$top_srcdir}"
: "${SSHMEND:=$top_builddir/sshmend}"
export top_srcdir top_builddir SSHMEND

# shellcheck source=tests/lib/tap.sh
. "$top_srcdir/tests/lib/tap.sh"
# shellcheck source=tests/lib/sandbox.sh
. "$top_srcdir/tests/lib/sandbox.sh"
# shellcheck source=tests/lib/journald.sh
. "$top_srcdir/tests/lib/journald.sh"
# shellcheck source=tests/lib/notify.sh
. "$top_srcdir/tests/lib/notify.sh"
# shellcheck source=tests/lib/daemon.sh
. "$top_srcdir/tests/lib/daemon.sh"

require_sshmend() {
	local h
	[ -x "$SSHMEND" ] || skip_all "sshmend not built: $SSHMEND"
	for h in "$@"; do
		[ -x "$top_builddir/tests/$h" ] || skip_all "tests/$h is not built"
	done
}

test_tmp() {
	[ -n "${TEST_TMP:-}" ] && [ -d "$TEST_TMP" ] && return 0
	TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sshmend-test.XXXXXX") || return 1
	add_cleanup "_test_tmp_rm '$TEST_TMP'"
	chmod 0755 "$TEST_TMP"
}

_test_tmp_rm() {
	case $1 in
	*/sshmend-test.*) rm -rf --one-file-system -- "$1" ;;
	esac
}

sshmend_precheck() {
	local out rc=0
	out=$("$SSHMEND" --config "$1" check 2>&1) || rc=$?
	case $rc in
	0) ;;
	1) skip_all "sshmend would change this host's chain for $2: $(tr '\n' ' ' <<<"$out")" ;;
	*) skip_all "sshmend --config check failed ($rc): $(tr '\n' ' ' <<<"$out")" ;;
	esac
}
