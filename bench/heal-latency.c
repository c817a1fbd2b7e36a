/*
 * Heal latency, seen from outside the daemon: break one element (chmod 0777), then
 * poll its mode with fstatat() until it is repaired. Prints p50, p99 and max.
 * Usage: heal-latency ROOT USERS COUNT   (ROOT holds home/user1..userUSERS/.ssh)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
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

int main(int argc, char **argv)
{
	long users, count, missed = 0;
	long long *lat;
	int rootfd;

	if (argc != 4)
		return fprintf(stderr, "usage: %s ROOT USERS COUNT\n", argv[0]), 2;
	users = atol(argv[2]);
	count = atol(argv[3]);
	rootfd = open(argv[1], O_PATH | O_DIRECTORY);
	lat = calloc((size_t)count, sizeof(*lat));
	if (rootfd < 0 || !lat || users < 1 || count < 1)
		return perror("setup"), 2;
	srand(42);
	for (long i = 0; i < count; i++) {
		char path[64];
		struct stat st;
		long long t0, deadline;

		snprintf(path, sizeof(path), "home/user%ld/.ssh", 1 + rand() % users);
		t0 = now_ns();
		if (fchmodat(rootfd, path, 0777, 0) < 0)
			return perror(path), 2;
		deadline = t0 + 2000000000LL;
		for (;;) {
			if (fstatat(rootfd, path, &st, 0) == 0 && (st.st_mode & 0777) != 0777)
				break;
			if (now_ns() > deadline) {
				missed++;
				break;
			}
		}
		lat[i] = now_ns() - t0;
		usleep(2000); /* let the daemon see its own repair settle */
	}
	qsort(lat, (size_t)count, sizeof(*lat), cmp);
	printf("heal latency over %ld breaks: p50 %.0f us, p99 %.0f us, max %.0f us, missed %ld\n",
	       count, lat[count / 2] / 1e3, lat[count * 99 / 100] / 1e3, lat[count - 1] / 1e3, missed);
	return missed ? 1 : 0;
}
