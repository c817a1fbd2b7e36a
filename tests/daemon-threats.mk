# SPDX-License-Identifier: Apache-2.0
# Daemon threat tests: SECURITY.md, scenarios 8-14, 16 and 21 against the running daemon
# ("sshmend --root SANDBOX daemon"), read back from the journal; tests/daemon-threats-lib.sh is
# what they share. They need root (and skip without it).
DAEMON_THREAT_TESTS = \
	tests/test-daemon-threat-08-fight.sh \
	tests/test-daemon-threat-08-keys-fight.sh \
	tests/test-daemon-threat-08-fight-cpu.sh \
	tests/test-daemon-threat-09-overflow.sh \
	tests/test-daemon-threat-09-overflow-again.sh \
	tests/test-daemon-threat-10-mv-mkdir.sh \
	tests/test-daemon-threat-11-rm-rf-loop.sh \
	tests/test-daemon-threat-12-watch-limit.sh \
	tests/test-daemon-threat-13-passwd-changes.sh \
	tests/test-daemon-threat-14-unrepairable.sh \
	tests/test-daemon-threat-16-traps-at-start.sh \
	tests/test-daemon-threat-21-shared-budget.sh \
	tests/test-daemon-threat-25-user-mount.sh

TESTS += $(DAEMON_THREAT_TESTS)
EXTRA_DIST += $(DAEMON_THREAT_TESTS) tests/daemon-threats-lib.sh

# A FUSE file system that never answers, mounted as a user would (scenario 25).
check_PROGRAMS += tests/fuse-hold
tests_fuse_hold_SOURCES = tests/fuse-hold.c
tests_fuse_hold_LDADD =
