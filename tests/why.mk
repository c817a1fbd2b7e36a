# SPDX-License-Identifier: Apache-2.0
# sshmend why: each cause of a refused key login, judged by why and by a real sshd; bad input.
WHY_TESTS = tests/test-why-sshd.sh tests/test-why-input.sh tests/test-why-removed.sh \
	tests/test-why-homes.sh tests/test-why-daemon.sh

TESTS += $(WHY_TESTS)
EXTRA_DIST += $(WHY_TESTS)
