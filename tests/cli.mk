# SPDX-License-Identifier: Apache-2.0
# The command line: --strict, global options after the command, what fix --dry-run says; run
# against a sandbox root (root only, skipped without it).
CLI_TESTS = tests/test-cli.sh

TESTS += $(CLI_TESTS)
EXTRA_DIST += $(CLI_TESTS)
