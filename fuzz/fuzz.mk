# SPDX-License-Identifier: Apache-2.0
# The fuzz harnesses (./configure --enable-fuzzing: clang's libFuzzer, with AddressSanitizer and
# UndefinedBehaviorSanitizer), one per parser, each with its seed corpus in fuzz/corpus/NAME.
#   make fuzz FUZZ_SECONDS=N    each harness for N seconds (default 60), one after the other
#   make fuzz-ci                each for 30 seconds, 50 ms at most an input: what CI runs
#                               (./quickstart test)
# New inputs go to fuzz/work/NAME in the build directory, never to the seeds; a crash, leak or
# failed check stops the run and leaves the input in fuzz/artifacts/. The CPU time of the slowest
# input is printed, and the input kept as fuzz/artifacts/NAME.slowest; FUZZ_MAX_MS (default 10)
# fails a run whose slowest input took longer.
FUZZ_HARNESSES = keys-line dropin keys-file sshd-config sshmend-conf users inotify sshd-log
FUZZ_SECONDS = 60
FUZZ_MAX_MS = 10
FUZZ_FLAGS =
FUZZ_COMMON = fuzz/fuzz.h fuzz/fuzz-main.c
FUZZ_LDADD = $(SSHMEND_LIBS)

FUZZ_BINS = fuzz/fuzz-keys-line fuzz/fuzz-dropin fuzz/fuzz-keys-file fuzz/fuzz-sshd-config \
	fuzz/fuzz-sshmend-conf fuzz/fuzz-users fuzz/fuzz-inotify fuzz/fuzz-sshd-log
EXTRA_PROGRAMS += $(FUZZ_BINS)
fuzz_fuzz_keys_line_SOURCES = fuzz/fuzz-keys-line.c $(FUZZ_COMMON)
fuzz_fuzz_keys_line_LDADD = $(FUZZ_LDADD)
fuzz_fuzz_keys_line_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_dropin_SOURCES = fuzz/fuzz-dropin.c $(FUZZ_COMMON)
fuzz_fuzz_dropin_LDADD = $(FUZZ_LDADD)
fuzz_fuzz_dropin_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_keys_file_SOURCES = fuzz/fuzz-keys-file.c $(FUZZ_COMMON)
fuzz_fuzz_keys_file_LDADD = $(FUZZ_LDADD)
fuzz_fuzz_keys_file_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_sshd_config_SOURCES = fuzz/fuzz-sshd-config.c $(FUZZ_COMMON)
fuzz_fuzz_sshd_config_LDADD = $(FUZZ_LDADD)
fuzz_fuzz_sshd_config_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_sshmend_conf_SOURCES = fuzz/fuzz-sshmend-conf.c $(FUZZ_COMMON)
fuzz_fuzz_sshmend_conf_LDADD = $(FUZZ_LDADD)
fuzz_fuzz_sshmend_conf_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_users_SOURCES = fuzz/fuzz-users.c $(FUZZ_COMMON)
fuzz_fuzz_users_LDADD = $(FUZZ_LDADD)
fuzz_fuzz_users_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_sshd_log_SOURCES = fuzz/fuzz-sshd-log.c $(FUZZ_COMMON)
fuzz_fuzz_sshd_log_LDADD = $(FUZZ_LDADD)
fuzz_fuzz_sshd_log_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
fuzz_fuzz_inotify_SOURCES = fuzz/fuzz-inotify.c $(FUZZ_COMMON)
fuzz_fuzz_inotify_LDADD = $(FUZZ_LDADD)
fuzz_fuzz_inotify_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
CLEANFILES += $(FUZZ_BINS:=$(EXEEXT))
EXTRA_DIST += fuzz/fuzz.mk fuzz/run.sh fuzz/make-seeds.sh fuzz/corpus

.PHONY: fuzz fuzz-ci
if ENABLE_FUZZING
fuzz: $(FUZZ_BINS:=$(EXEEXT))
	@rc=0; for h in $(FUZZ_HARNESSES); do \
		$(SHELL) $(srcdir)/fuzz/run.sh "$$h" '$(FUZZ_SECONDS)' '$(FUZZ_MAX_MS)' \
			'$(srcdir)/fuzz/corpus' $(FUZZ_FLAGS) || rc=1; \
	done; exit $$rc
else
fuzz:
	@echo "make fuzz: configure with --enable-fuzzing (clang's libFuzzer)" >&2; exit 1
endif
# CI's machine is shared and its minutes few: 30 seconds each, and an input fails there only past
# 50 ms (the long runs of BENCHMARKS.md hold every harness to 10 ms).
fuzz-ci:
	@$(MAKE) $(AM_MAKEFLAGS) fuzz FUZZ_SECONDS=30 FUZZ_MAX_MS=50
