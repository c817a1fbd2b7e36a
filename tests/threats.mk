# SPDX-License-Identifier: Apache-2.0
# Threat tests: one TAP script per SECURITY.md scenario (1-7, 15, 16, 18, 23, 24), each run against a
# sandbox root with --root; tests/threats-lib.sh is what they share.
THREAT_TESTS = \
	tests/test-threat-01-symlink-shadow.sh \
	tests/test-threat-02-ssh-symlink-root.sh \
	tests/test-threat-03-hardlink.sh \
	tests/test-threat-04-foreign-owner.sh \
	tests/test-threat-05-exchange-race.sh \
	tests/test-threat-06-special-files.sh \
	tests/test-threat-07-planted-tempfile.sh \
	tests/test-threat-15-exact-modes.sh \
	tests/test-threat-16-traps-before-start.sh \
	tests/test-threat-18-planted.sh \
	tests/test-threat-23-odd-homes.sh \
	tests/test-threat-24-terminal-escapes.sh

# Not a scenario, but told the same way: a pass over many users reuses `/` and `/home`.
THREAT_TESTS += tests/test-engine-pass.sh

TESTS += $(THREAT_TESTS)
EXTRA_DIST += $(THREAT_TESTS) tests/threats-lib.sh

# Helpers: a user racing renameat2(RENAME_EXCHANGE) (scenario 5), a socket maker (scenario 6).
check_PROGRAMS += tests/exchange-loop tests/mksock
tests_exchange_loop_SOURCES = tests/exchange-loop.c
tests_mksock_SOURCES = tests/mksock.c
