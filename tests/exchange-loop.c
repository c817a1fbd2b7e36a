/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exchange-loop: swap two names again and again with renameat2(RENAME_EXCHANGE), as an
 * unprivileged user, the way a user would race a root process that walks their home
 * (SECURITY.md, scenario 5).
 *
 * Usage: exchange-loop [-C DIR] [-t SECONDS] [-c OCTAL-MODE:PATH]... UID GID PATH-A PATH-B
 *
 * With -C, change to DIR first (as root, so that the user need not be able to reach it).
 * Privileges are then dropped to UID:GID (supplementary groups: GID only); UID 0 is refused.
 * Relative paths are taken from DIR. Each -c PATH is opened (O_NOFOLLOW) once, before the
 * first exchange, and its inode is given MODE again (fchmod) after every exchange, so that a
 * repair has something to do whichever way the names stand. "ready" is printed to stdout once the
 * loop starts. The loop ends on SIGTERM or SIGINT, or after SECONDS (default 60); an odd
 * number of exchanges is then made even, so the names stand as they did at the start.
 * Prints "exchanges N failed F" to stdout; exit status 0 if at least one exchange worked.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define MAX_CHMODS 16

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int parse_ulong(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (!*s || *s == '-')
		return -1;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*ret = v;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fputs("usage: exchange-loop [-C DIR] [-t SECONDS] [-c OCTAL-MODE:PATH]... UID GID PATH-A "
	      "PATH-B\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *chmod_spec[MAX_CHMODS];
	int chmod_fd[MAX_CHMODS];
	mode_t chmod_mode[MAX_CHMODS];
	size_t n_chmods = 0;
	unsigned long seconds = 60, uid, gid, exchanges = 0, failed = 0;
	struct sigaction sa = {.sa_handler = on_signal};
	const char *dir = NULL;
	double deadline;
	gid_t g;
	int c;

	while ((c = getopt(argc, argv, "C:t:c:")) != -1) {
		switch (c) {
		case 'C':
			dir = optarg;
			break;
		case 't':
			if (parse_ulong(optarg, 3600, &seconds) < 0)
				usage();
			break;
		case 'c':
			if (n_chmods >= MAX_CHMODS || !strchr(optarg, ':'))
				usage();
			chmod_spec[n_chmods++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 4 || parse_ulong(argv[optind], 0xfffffffeUL, &uid) < 0 ||
	    parse_ulong(argv[optind + 1], 0xfffffffeUL, &gid) < 0)
		usage();
	if (uid == 0 || gid == 0) {
		fputs("exchange-loop: refusing to race as root\n", stderr);
		return 2;
	}

	if (dir && chdir(dir) < 0) {
		fprintf(stderr, "exchange-loop: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	g = (gid_t)gid;
	if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 ||
	    setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) < 0) {
		perror("exchange-loop: dropping privileges");
		return 2;
	}
	if (geteuid() == 0 || getegid() == 0) {
		fputs("exchange-loop: still privileged\n", stderr);
		return 2;
	}

	for (size_t i = 0; i < n_chmods; i++) {
		char *end;
		const char *path = strchr(chmod_spec[i], ':') + 1;
		unsigned long m;

		errno = 0;
		m = strtoul(chmod_spec[i], &end, 8);
		if (errno || end != path - 1 || m > 07777)
			usage();
		chmod_mode[i] = (mode_t)m;
		chmod_fd[i] = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (chmod_fd[i] < 0) {
			fprintf(stderr, "exchange-loop: %s: %s\n", path, strerror(errno));
			return 2;
		}
	}

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	printf("ready\n");
	fflush(stdout);

	deadline = now() + (double)seconds;
	while (!stop_requested) {
		if (renameat2(AT_FDCWD, argv[optind + 2], AT_FDCWD, argv[optind + 3],
			      RENAME_EXCHANGE) == 0)
			exchanges++;
		else
			failed++;
		for (size_t i = 0; i < n_chmods; i++)
			(void)fchmod(chmod_fd[i], chmod_mode[i]);
		if ((exchanges + failed) % 256 == 0 && now() >= deadline)
			break;
	}
	/* Leave the names as they were found. */
	if (exchanges % 2 == 1) {
		if (renameat2(AT_FDCWD, argv[optind + 2], AT_FDCWD, argv[optind + 3],
			      RENAME_EXCHANGE) == 0)
			exchanges++;
		else
			perror("exchange-loop: final exchange");
	}
	printf("exchanges %lu failed %lu\n", exchanges, failed);
	return exchanges > 0 && exchanges % 2 == 0 ? 0 : 1;
}
