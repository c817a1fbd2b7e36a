/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "fuzz.h"

const char *fuzz_root;
int fuzz_rootfd = -1;

static char root_buf[64];
static double slowest_ms;
static uint8_t *slowest;
static size_t slowest_len;
static double max_ms; /* FUZZ_MAX_MS; 0: no limit */

#define FUZZ_RETIME 4
#define FUZZ_PARTS_MAX 8

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

/* The slowest input: its time on stderr, and the input itself in FUZZ_SLOWEST when set. */
static void at_exit(void)
{
	const char *out = getenv("FUZZ_SLOWEST");

	fprintf(stderr, "slowest input: %.3f ms of CPU time, %zu bytes\n", slowest_ms, slowest_len);
	if (out && slowest) {
		FILE *f = fopen(out, "we");

		if (f) {
			fwrite(slowest, 1, slowest_len, f);
			fclose(f);
		}
	}
	if (fuzz_root)
		nftw(fuzz_root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	/* Files are written for every input: in memory when there is a tmpfs for it. */
	if (!tmp || strlen(tmp) >= 40)
		tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(root_buf, sizeof(root_buf), "%s/sshmend-fuzz.XXXXXX", tmp);
	if (!mkdtemp(root_buf) || chmod(root_buf, 0755) < 0) {
		perror("mkdtemp");
		exit(1);
	}
	fuzz_root = root_buf;
	fuzz_rootfd = open(fuzz_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fuzz_rootfd < 0) {
		perror(fuzz_root);
		exit(1);
	}
	if (getenv("FUZZ_MAX_MS"))
		max_ms = strtod(getenv("FUZZ_MAX_MS"), NULL);
	atexit(at_exit);
	return 0;
}

static double cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The CPU time of one run of the input, in milliseconds. */
static double time_one(const uint8_t *data, size_t size)
{
	double t = cpu_ms();

	fuzz_one(data, size);
	return cpu_ms() - t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double t = time_one(data, size);

	/* A new slowest: timed again, the least counts (the machine is shared, and a first run
	 * pays for page faults); slower than FUZZ_MAX_MS even so, it is a failure. */
	for (int i = 0; i < FUZZ_RETIME && t > slowest_ms; i++) {
		double again = time_one(data, size);

		t = again < t ? again : t;
	}
	if (t > slowest_ms) {
		uint8_t *copy = malloc(size ? size : 1);

		if (copy) {
			memcpy(copy, data, size);
			free(slowest);
			slowest = copy;
			slowest_len = size;
			slowest_ms = t;
		}
		if (max_ms > 0 && t > max_ms) {
			fprintf(stderr, "slow input: %.3f ms of CPU time, over %.3f ms\n", t,
				max_ms);
			abort();
		}
	}
	return 0;
}

static void make_parents(const char *path)
{
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s/%s", fuzz_root, path);
	for (char *p = buf + strlen(fuzz_root) + 1; (p = strchr(p, '/')); p++) {
		*p = 0;
		(void)mkdir(buf, 0755);
		*p = '/';
	}
}

void fuzz_write(const char *path, const void *data, size_t len, mode_t mode)
{
	char full[4096];
	int fd;

	make_parents(path);
	snprintf(full, sizeof(full), "%s/%s", fuzz_root, path);
	fd = open(full, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0 || fchmod(fd, mode) < 0) {
		perror(full);
		abort();
	}
	for (const char *p = data; len > 0;) {
		ssize_t n = write(fd, p, len);

		if (n <= 0) {
			perror(full);
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
	close(fd);
}

void fuzz_remove(const char *path)
{
	char full[4096];

	snprintf(full, sizeof(full), "%s/%s", fuzz_root, path);
	(void)unlink(full);
}

size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens, size_t max)
{
	size_t n = 0;

	while (n + 1 < max) {
		const uint8_t *z = memchr(data, 0, size);

		if (!z)
			break;
		parts[n] = data;
		lens[n++] = (size_t)(z - data);
		size -= (size_t)(z - data) + 1;
		data = z + 1;
	}
	parts[n] = data;
	lens[n++] = size;
	return n;
}

void fuzz_write_parts(const uint8_t *data, size_t size, const char *const *files, size_t n)
{
	const uint8_t *parts[FUZZ_PARTS_MAX];
	size_t lens[FUZZ_PARTS_MAX], got;

	if (n > FUZZ_PARTS_MAX)
		abort();
	got = fuzz_split(data, size, parts, lens, n);
	for (size_t i = 0; i < n; i++)
		if (i < got)
			fuzz_write(files[i], parts[i], lens[i], 0644);
		else
			fuzz_remove(files[i]);
}
