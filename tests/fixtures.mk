# SPDX-License-Identifier: Apache-2.0
# Shared fixtures (tests/lib/; bootstrap.sh sources the others) and the tests that prove them.

FIXTURE_LIBS = \
	tests/lib/tap-run.sh \
	tests/lib/bootstrap.sh \
	tests/lib/tap.sh \
	tests/lib/sandbox.sh \
	tests/lib/daemon.sh \
	tests/lib/sshd.sh \
	tests/lib/journald.sh \
	tests/lib/notify.sh \
	tests/lib/debroot.sh \
	tests/lib/container.sh
EXTRA_DIST += $(FIXTURE_LIBS)

# Fake NOTIFY_SOCKET receiver used by tests/lib/notify.sh.
check_PROGRAMS += tests/notify-recv
tests_notify_recv_SOURCES = tests/notify-recv.c

TESTS += tests/test-fixture-tap.sh
EXTRA_DIST += tests/test-fixture-tap.sh
TESTS += tests/test-fixture-sandbox.sh
EXTRA_DIST += tests/test-fixture-sandbox.sh
TESTS += tests/test-fixture-sshd.sh
EXTRA_DIST += tests/test-fixture-sshd.sh
TESTS += tests/test-fixture-journald.sh
EXTRA_DIST += tests/test-fixture-journald.sh
TESTS += tests/test-fixture-notify.sh
EXTRA_DIST += tests/test-fixture-notify.sh
