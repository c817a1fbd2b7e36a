# SPDX-License-Identifier: Apache-2.0
# Faults the system does to the daemon: sockets that take nothing, full and read-only file
# systems, too few descriptors, a kill -9 at any moment.
FAULT_TESTS = \
	tests/test-daemon-fault-alerts.sh \
	tests/test-daemon-fault-blocked-sockets.sh \
	tests/test-daemon-fault-enospc.sh \
	tests/test-daemon-fault-kill.sh \
	tests/test-daemon-fault-limits.sh \
	tests/test-daemon-fault-unrepairable-idle.sh

TESTS += $(FAULT_TESTS)
EXTRA_DIST += $(FAULT_TESTS)
