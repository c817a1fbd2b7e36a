# SPDX-License-Identifier: Apache-2.0
# Approved keys: the [Keys] drop-in directory, its sync into authorized_keys by "sshmend fix" and
# "sshmend daemon", and the key audit (SECURITY.md, scenarios 7 and 17 for the key writer, 19 and
# 20 for what sshd reads and the limits);
# tests/keys-lib.sh is what they share. They need root (and skip without it).
KEYS_TESTS = \
	tests/test-keys-sshd.sh \
	tests/test-keys-corpus.sh \
	tests/test-keys-append-race.sh \
	tests/test-keys-append-reload.sh \
	tests/test-keys-atomic-save-race.sh \
	tests/test-keys-fix-follow.sh \
	tests/test-keys-tails-let-go.sh \
	tests/test-keys-audit.sh \
	tests/test-keys-first-dropin.sh \
	tests/test-keys-exclusive.sh \
	tests/test-keys-machine-id.sh \
	tests/test-keys-quarantine.sh \
	tests/test-keys-quarantine-once.sh \
	tests/test-keys-sshd-reads.sh \
	tests/test-keys-limits.sh

TESTS += $(KEYS_TESTS)
EXTRA_DIST += $(KEYS_TESTS) tests/keys-lib.sh
