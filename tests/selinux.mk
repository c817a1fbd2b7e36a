# SPDX-License-Identifier: Apache-2.0
# SELinux labels ([Policy] SELinux=yes) judged by the reference policy's file contexts, against a
# sandbox root: fix and check, then the daemon. tests/selinux-lib.sh is what they share.
SELINUX_TESTS = \
	tests/test-selinux-fix.sh \
	tests/test-selinux-daemon.sh

TESTS += $(SELINUX_TESTS)
EXTRA_DIST += $(SELINUX_TESTS) tests/selinux-lib.sh
