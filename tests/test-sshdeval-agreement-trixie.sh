#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# sshd's configuration as OpenSSH 10 evaluates it: tests/test-sshdeval-agreement.sh once more,
# inside a booted Debian 13 ("trixie") container (tests/lib/container.sh), against its
# `sshd -T -C` and its built-in defaults. Package builds leave it out (PACKAGING_TESTS).
SSHMEND_TEST_CONTAINER=${SSHMEND_TEST_CONTAINER:-trixie} exec bash "$(dirname "$0")/test-sshdeval-agreement.sh" "$@"
