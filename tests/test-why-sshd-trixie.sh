#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshmend why against OpenSSH 10: every scenario of tests/test-why-sshd.sh once more, inside a
# booted Debian 13 ("trixie") container (tests/lib/container.sh), against its sshd and the
# lines its sshd-session writes. Package builds leave it out (PACKAGING_TESTS).
SSHMEND_TEST_CONTAINER=${SSHMEND_TEST_CONTAINER:-trixie} exec bash "$(dirname "$0")/test-why-sshd.sh" "$@"
