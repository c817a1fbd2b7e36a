# SPDX-License-Identifier: Apache-2.0
# Daemon tests: "sshmend daemon" healing a sandbox root (journal, notify socket, idle between
# events, signals, reloads, reloads during a reload's pass over 3,000 users), against a real
# sshd, and with 1,000 users at once; tests/lib/daemon.sh is what they share.
DAEMON_TESTS = \
	tests/test-daemon-entries.sh \
	tests/test-daemon-heal.sh \
	tests/test-daemon-idle.sh \
	tests/test-daemon-lock.sh \
	tests/test-daemon-metrics.sh \
	tests/test-daemon-reload.sh \
	tests/test-daemon-sshd-e2e.sh \
	tests/test-daemon-stress.sh

TESTS += $(DAEMON_TESTS)
EXTRA_DIST += $(DAEMON_TESTS)

# Where sshmend keeps state on the running system, for the end-to-end test to remove what its
# daemon left there for the test user.
AM_TESTS_ENVIRONMENT += SSHMEND_LOCALSTATEDIR='$(localstatedir)'; export SSHMEND_LOCALSTATEDIR;
