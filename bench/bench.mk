# SPDX-License-Identifier: Apache-2.0
# make bench: sshmend against the inotifywait loop, incron and the cron runbook, on sandbox trees
# of 1 to 100,000 users (bench/run.sh; as root; not part of make check). Settings come from the
# environment: make bench SIZES='1 1000' BREAKS=100 IDLE=5 SKIP_CRON=1 (see bench/run.sh).
EXTRA_PROGRAMS = bench/probe bench/floor
bench_probe_SOURCES = bench/probe.c
bench_probe_LDADD =
# The machine's floor: the least an inotify healer can do (run by make bench; see BENCHMARKS.md).
bench_floor_SOURCES = bench/floor.c
bench_floor_LDADD =
CLEANFILES += bench/probe$(EXEEXT) bench/floor$(EXEEXT)

BENCH_FILES = \
	bench/run.sh \
	bench/baseline-inotifywait.sh \
	bench/baseline-runbook.sh \
	bench/check-scale.sh \
	bench/why-scale.sh \
	bench/why-daemon-scale.sh \
	bench/why-lib.sh \
	bench/busy-heal.sh \
	bench/audit-limits.sh \
	bench/rss.sh \
	bench/soak.sh
EXTRA_DIST += $(BENCH_FILES) BENCHMARKS.md

.PHONY: bench
bench: sshmend$(EXEEXT) tests/notify-recv$(EXEEXT) bench/probe$(EXEEXT) bench/floor$(EXEEXT)
	@top_srcdir='$(abs_top_srcdir)' SSHMEND=./sshmend$(EXEEXT) \
	NOTIFY_RECV=./tests/notify-recv$(EXEEXT) PROBE=./bench/probe$(EXEEXT) \
	FLOOR=./bench/floor$(EXEEXT) \
	BENCH_VIA_MAKE=1 \
	$(SHELL) $(abs_top_srcdir)/bench/run.sh
