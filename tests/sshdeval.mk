# SPDX-License-Identifier: Apache-2.0
# sshd's configuration as sshd evaluates it for one connection, against the real sshd -T.
check_PROGRAMS += tests/sshdeval-dump
tests_sshdeval_dump_SOURCES = tests/sshdeval-dump.c
tests_sshdeval_dump_LDADD = $(SSHMEND_LIBS)
TESTS += tests/test-sshdeval-agreement.sh
EXTRA_DIST += tests/test-sshdeval-agreement.sh
TESTS += tests/test-sshdeval-refusals.sh
EXTRA_DIST += tests/test-sshdeval-refusals.sh
