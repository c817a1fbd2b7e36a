# SPDX-License-Identifier: Apache-2.0
# The daemon reads sshd's journal: a real sshd logging through syslog into the test's journald,
# each refused login diagnosed once, each key's last use; and 2,000 scanners' attempts at
# once, summarised; and each refusal sshd decides on its own (sshd_config, root, shell,
# account, key algorithm and size), at LogLevel VERBOSE and INFO.
DIAGNOSE_TESTS = tests/test-diagnose-sshd.sh tests/test-diagnose-lastuse.sh \
	tests/test-diagnose-burst.sh tests/test-diagnose-causes.sh

TESTS += $(DIAGNOSE_TESTS)
EXTRA_DIST += $(DIAGNOSE_TESTS) tests/diagnose-lib.sh
