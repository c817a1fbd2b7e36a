/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The machine's floor for heal latency: the least any inotify-based healer can do. A child
 * waits on an inotify watch of one directory and, on each event, looks (stat) and puts the
 * mode back (chmod); the parent breaks the mode and polls until it is back, as bench/probe
 * does. What this measures is the kernel's event delivery and the wake-up of an idle core,
 * which on a virtual machine can dwarf the healer's own work.
 *
 * Usage: floor DIR COUNT PAUSE_MS [WATCHER_CPU PROBE_CPU]
 * Prints: floor count=N p50_us=.. p99_us=.. max_us=..
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void pin(const char *cpu)
{
	cpu_set_t set;

	if (!cpu)
		return;
	CPU_ZERO(&set);
	CPU_SET(atoi(cpu), &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		perror("sched_setaffinity");
}

static void watcher(const char *path)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int fd = inotify_init1(IN_CLOEXEC);

	if (fd < 0 || inotify_add_watch(fd, path, IN_ATTRIB) < 0)
		_exit(2);
	while (read(fd, buf, sizeof(buf)) > 0) {
		struct stat st;

		if (stat(path, &st) == 0 && (st.st_mode & 07777) != 0700)
			chmod(path, 0700);
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	char path[4096];
	long count, pause_ms, missed = 0;
	long long *lat;
	pid_t child;

	if (argc != 4 && argc != 6)
		return fprintf(stderr, "usage: %s DIR COUNT PAUSE_MS [WATCHER_CPU PROBE_CPU]\n",
			       argv[0]),
		       2;
	count = atol(argv[2]);
	pause_ms = atol(argv[3]);
	lat = calloc((size_t)(count > 0 ? count : 1), sizeof(*lat));
	snprintf(path, sizeof(path), "%s/floor", argv[1]);
	if (count < 1 || !lat || (mkdir(path, 0700) < 0 && chmod(path, 0700) < 0))
		return perror("setup"), 2;
	child = fork();
	if (child < 0)
		return perror("fork"), 2;
	if (child == 0) {
		pin(argc == 6 ? argv[4] : NULL);
		watcher(path);
	}
	pin(argc == 6 ? argv[5] : NULL);
	usleep(200000); /* the watch is in place */
	for (long i = 0; i < count; i++) {
		long long t0 = now_ns(), deadline = t0 + 2000000000LL;
		struct stat st;

		if (chmod(path, 0777) < 0)
			return perror("chmod"), 2;
		while (stat(path, &st) == 0 && (st.st_mode & 07777) == 0777)
			if (now_ns() > deadline) {
				missed++;
				break;
			}
		lat[i] = now_ns() - t0;
		usleep((useconds_t)(pause_ms * 1000));
	}
	kill(child, SIGKILL);
	rmdir(path);
	qsort(lat, (size_t)count, sizeof(*lat), cmp);
	printf("floor count=%ld missed=%ld p50_us=%.0f p99_us=%.0f max_us=%.0f\n", count, missed,
	       lat[count / 2] / 1e3, lat[count * 99 / 100] / 1e3, lat[count - 1] / 1e3);
	return 0;
}
