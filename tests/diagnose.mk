# SPDX-License-Identifier: Apache-2.0
# The daemon reads sshd's journal: a real sshd logging through syslog into the test's journald,
# each refused login diagnosed once, each key's last use; and 2,000 scanners' attempts at
# once, summarised.
DIAGNOSE_TESTS = tests/test-diagnose-sshd.sh tests/test-diagnose-lastuse.sh \
	tests/test-diagnose-burst.sh

TESTS += $(DIAGNOSE_TESTS)
EXTRA_DIST += $(DIAGNOSE_TESTS) tests/diagnose-lib.sh
