# SPDX-License-Identifier: Apache-2.0
# The daemon reads sshd's journal: a real sshd logging through syslog into the test's journald,
# each refused login diagnosed once.
DIAGNOSE_TESTS = tests/test-diagnose-sshd.sh tests/test-diagnose-lastuse.sh

TESTS += $(DIAGNOSE_TESTS)
EXTRA_DIST += $(DIAGNOSE_TESTS) tests/diagnose-lib.sh
