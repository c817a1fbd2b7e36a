# SPDX-License-Identifier: Apache-2.0
# sshmend's verdict against a real sshd: a table of chain states, each judged by both.
TESTS += tests/test-sshd-agreement.sh
EXTRA_DIST += tests/test-sshd-agreement.sh
