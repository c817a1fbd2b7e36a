# SPDX-License-Identifier: Apache-2.0
# Check unit tests: tests/test-X.c tests src/X.c.
UNIT_TESTS = \
	tests/test-strv \
	tests/test-strindex \
	tests/test-verdict \
	tests/test-policy \
	tests/test-sshdconf \
	tests/test-sshdeval \
	tests/test-sshdlog \
	tests/test-sshdconn \
	tests/test-noise \
	tests/test-lastuse \
	tests/test-metrics \
	tests/test-config \
	tests/test-chain \
	tests/test-watcher \
	tests/test-journal \
	tests/test-events \
	tests/test-escape \
	tests/test-dropin \
	tests/test-sha256 \
	tests/test-base64 \
	tests/test-keys \
	tests/test-tails \
	tests/test-label \
	tests/test-engine \
	tests/test-safeio \
	tests/test-report \
	tests/test-audit \
	tests/test-auditdiff \
	tests/test-keyindex

check_PROGRAMS += $(UNIT_TESTS)
TESTS += $(UNIT_TESTS)
EXTRA_DIST += tests/unit-helpers.h
# Each tests/test-X is built from tests/test-X.c (automake's default) with the common LDADD.
