/* SPDX-License-Identifier: Apache-2.0 */
/*
 * probe: break the chains of a sandbox root and time, from this separate process, how long
 * whatever watches them (sshmend, a baseline) takes to bring them back to a state sshd accepts.
 *
 * Usage:
 *   probe heal ROOT [-n COUNT] [-k KINDS] [-d DEADLINE_MS] [-s SETTLE_MS] [-S SPIN_US]
 *              [-m MAX_MISSED] [-r SEED]
 *       COUNT breaks (default 1000) of random users, one at a time, cycling through KINDS
 *       (default chmod,chown,rename):
 *         chmod   chmod 0777 of the user's .ssh
 *         chown   chown of the user's .ssh to uid:gid 1999, which no user has
 *         rename  a copy of authorized_keys written with mode 0666, renamed over it
 *       Each is repaired when sshd's StrictModes accepts the element again: owned by the user
 *       or root and writable by neither group nor others. The element is watched with
 *       fstatat() in a tight loop for SPIN_US (default 2000), then on an inotify watch of its
 *       directory (with a 10 ms poll as a fallback). A break not repaired within DEADLINE_MS
 *       (default 5000) is missed and put right by the probe itself; after MAX_MISSED misses
 *       (default 20) the probe stops. SETTLE_MS (default 5) passes between breaks.
 *   probe storm ROOT [-d DEADLINE_MS] [-i INTERVAL_MS]
 *       chmod 0777 of every user's .ssh as fast as possible, then sweep over those not yet
 *       repaired (fstatat; INTERVAL_MS, default 0, between sweeps) until all are, or until
 *       DEADLINE_MS (default 10000) after the first break; the rest are missed (and put right).
 *   probe keysync ROOT -K KEYFILE [-n COUNT] [-D DROPIN] [-d DEADLINE_MS] [-s SETTLE_MS]
 *              [-S SPIN_US]
 *       COUNT changes (default 1000) to the drop-in directory DROPIN (default
 *       etc/sshmend/keys.d) of the users that have one there: alternately a key of KEYFILE
 *       (one public key per line) added as DROPIN/USER/probe.pub (written aside, renamed into
 *       place) and that file removed; each is done when the user's .ssh/authorized_keys holds
 *       the key, or no longer does.
 *
 * Users are the entries of ROOT/etc/passwd whose home is under /home and exists; the keys file
 * is the home's .ssh/authorized_keys. One line per measure on stdout, "WHAT key=value ...",
 * times in microseconds ("-" where nothing was measured).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BREAK_UID 1999
#define WATCH_MASK (IN_ATTRIB | IN_MOVED_TO | IN_CREATE | IN_MODIFY | IN_CLOSE_WRITE)
#define FILE_MAX (1 << 20)

enum kind { K_CHMOD, K_CHOWN, K_RENAME, K_ADD, K_REMOVE, K_MAX };

static const char *const kind_names[K_MAX] = {"chmod", "chown", "rename", "add", "remove"};

struct user {
	char *name;
	char *home; /* relative to the root: "home/user1" */
	uid_t uid;
	gid_t gid;
};

/* Latencies of one kind of change, in nanoseconds. */
struct series {
	long long *v;
	long n, missed;
};

static int rootfd = -1;
static int ifd = -1;
static struct user *users;
static long n_users;

/* Options. */
static long count = 1000;
static long deadline_ms = -1;
static long settle_ms = 5;
static long spin_us = 2000;
static long max_missed = 20;
static long interval_ms;
static unsigned seed = 42;
static const char *kinds_arg = "chmod,chown,rename";
static const char *keyfile;
static const char *dropin = "etc/sshmend/keys.d";

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);

	if (!p)
		die("calloc");
	return p;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void series_add(struct series *s, long long ns)
{
	s->v[s->n++] = ns;
}

/* Nearest-rank percentile of a sorted series, in microseconds; -1 if empty. */
static long long pct(const struct series *s, int p)
{
	long idx;

	if (s->n == 0)
		return -1;
	idx = (s->n * p + 99) / 100 - 1;
	if (idx < 0)
		idx = 0;
	return s->v[idx] / 1000;
}

static void print_us(const char *key, long long us)
{
	if (us < 0)
		printf(" %s=-", key);
	else
		printf(" %s=%lld", key, us);
}

static void series_print(const char *what, const char *kind, struct series *s, const char *extra)
{
	qsort(s->v, (size_t)s->n, sizeof(*s->v), cmp_ll);
	printf("%s kind=%s count=%ld missed=%ld", what, kind, s->n + s->missed, s->missed);
	print_us("p50_us", pct(s, 50));
	print_us("p99_us", pct(s, 99));
	print_us("max_us", s->n ? s->v[s->n - 1] / 1000 : -1);
	printf("%s\n", extra ? extra : "");
}

/* Read ROOT/etc/passwd: every user whose home is under /home and exists. */
static void load_users(void)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0, alloc = 0;
	int fd = openat(rootfd, "etc/passwd", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !(f = fdopen(fd, "r")))
		die("etc/passwd");
	while (getline(&line, &cap, f) > 0) {
		char *field[7], *p = line;
		const char *home;
		struct stat st;
		int n = 0;

		line[strcspn(line, "\n")] = '\0';
		while (p && n < 7)
			field[n++] = strsep(&p, ":");
		if (n < 7)
			continue;
		home = field[5];
		if (strncmp(home, "/home/", 6) != 0 || fstatat(rootfd, home + 1, &st, 0) < 0)
			continue;
		if ((size_t)n_users == alloc) {
			alloc = alloc ? alloc * 2 : 1024;
			users = realloc(users, alloc * sizeof(*users));
			if (!users)
				die("realloc");
		}
		users[n_users++] = (struct user){.name = strdup(field[0]),
						 .home = strdup(home + 1),
						 .uid = (uid_t)atol(field[2]),
						 .gid = (gid_t)atol(field[3])};
	}
	free(line);
	fclose(f);
	if (n_users == 0) {
		fprintf(stderr, "probe: no user with a home under /home in etc/passwd\n");
		exit(2);
	}
}

static void path_of(char *buf, size_t len, const struct user *u, const char *tail)
{
	if ((size_t)snprintf(buf, len, "%s/%s", u->home, tail) >= len) {
		fprintf(stderr, "probe: path too long\n");
		exit(2);
	}
}

/* What sshd's StrictModes wants of an element: the user's or root's, not group/other-writable. */
static int accepted(const char *path, const struct user *u)
{
	struct stat st;

	if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return 0;
	return (st.st_uid == u->uid || st.st_uid == 0) && !(st.st_mode & 022);
}

/* Whether the file at path holds the string key. */
static int file_has(const char *path, const char *key)
{
	static char buf[FILE_MAX];
	ssize_t n, len = 0;
	int fd = openat(rootfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return 0;
	while (len < FILE_MAX - 1 && (n = read(fd, buf + len, FILE_MAX - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	buf[len] = '\0';
	return memmem(buf, (size_t)len, key, strlen(key)) != NULL;
}

/* Drain whatever the inotify watch has queued. */
static void drain(void)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	while (read(ifd, buf, sizeof(buf)) > 0)
		;
}

/*
 * Wait until done(path, ...) holds: a tight loop for spin_us, then on the inotify watch of
 * dir. Returns the latency from t0 in nanoseconds, or -1 at the deadline.
 */
static long long wait_for(int (*done)(const char *, const struct user *, const char *),
			  const char *path, const struct user *u, const char *arg, const char *dir,
			  long long t0)
{
	long long deadline = t0 + deadline_ms * 1000000LL, spin_end = t0 + spin_us * 1000LL, t;
	int wd;

	for (;;) {
		if (done(path, u, arg))
			return now_ns() - t0;
		t = now_ns();
		if (t > spin_end)
			break;
	}
	wd = inotify_add_watch(ifd, dir, WATCH_MASK);
	for (;;) {
		struct pollfd pfd = {.fd = ifd, .events = POLLIN};

		/* Checked after the watch is in place: nothing slips between. */
		if (done(path, u, arg)) {
			t = now_ns() - t0;
			break;
		}
		if (now_ns() > deadline) {
			t = -1;
			break;
		}
		if (poll(&pfd, 1, 10) > 0)
			drain();
	}
	if (wd >= 0)
		inotify_rm_watch(ifd, wd);
	drain();
	return t;
}

static int done_accepted(const char *path, const struct user *u, const char *arg)
{
	(void)arg;
	return accepted(path, u);
}

static int done_has(const char *path, const struct user *u, const char *arg)
{
	(void)u;
	return file_has(path, arg);
}

static int done_lacks(const char *path, const struct user *u, const char *arg)
{
	(void)u;
	return !file_has(path, arg);
}

/* The inotify watch takes an absolute path or one relative to the cwd: the root. */
static void watch_dir(char *buf, size_t len, const char *path)
{
	char *slash;

	snprintf(buf, len, "%s", path);
	slash = strrchr(buf, '/');
	if (slash)
		*slash = '\0';
}

/* Prepare the rename break: a copy of authorized_keys, mode 0666, the user's. */
static int write_copy(const struct user *u, const char *keys, const char *tmp)
{
	static char buf[FILE_MAX];
	ssize_t n, len = 0;
	int fd = openat(rootfd, keys, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), out;

	if (fd >= 0) {
		while (len < FILE_MAX && (n = read(fd, buf + len, FILE_MAX - (size_t)len)) > 0)
			len += n;
		close(fd);
	}
	out = openat(rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return -1;
	if ((len > 0 && write(out, buf, (size_t)len) != len) || fchown(out, u->uid, u->gid) < 0 ||
	    fchmod(out, 0666) < 0) {
		close(out);
		return -1;
	}
	return close(out);
}

/* Put an element back the way the sandbox had it, after a miss. */
static void restore(enum kind k, const struct user *u, const char *path)
{
	if (fchownat(rootfd, path, u->uid, u->gid, AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(rootfd, path, k == K_RENAME ? 0600 : 0700, 0) < 0)
		perror(path);
}

static int parse_kinds(enum kind *out)
{
	char *s = strdup(kinds_arg), *save = NULL;
	int n = 0;

	for (char *t = strtok_r(s, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k;

		for (k = 0; k <= K_RENAME; k++)
			if (strcmp(t, kind_names[k]) == 0)
				break;
		if (k > K_RENAME) {
			fprintf(stderr, "probe: unknown kind '%s'\n", t);
			exit(2);
		}
		out[n++] = (enum kind)k;
	}
	free(s);
	if (n == 0)
		exit(2);
	return n;
}

static int run_heal(void)
{
	enum kind kinds[8];
	int nk = parse_kinds(kinds);
	struct series all = {.v = xmalloc((size_t)count * sizeof(long long))}, per[K_MAX];
	long i, missed = 0;
	char extra[64];

	for (int k = 0; k < K_MAX; k++)
		per[k] = (struct series){.v = xmalloc((size_t)count * sizeof(long long))};
	srand(seed);
	for (i = 0; i < count && missed < max_missed; i++) {
		enum kind k = kinds[i % nk];
		const struct user *u = &users[rand() % n_users];
		char path[4096], tmp[4096], dir[4096];
		long long t0, lat;
		int r;

		path_of(path, sizeof(path), u, k == K_RENAME ? ".ssh/authorized_keys" : ".ssh");
		watch_dir(dir, sizeof(dir), path);
		if (k == K_RENAME) {
			path_of(tmp, sizeof(tmp), u, ".ssh/.authorized_keys.probe");
			if (write_copy(u, path, tmp) < 0)
				die(tmp);
		}
		t0 = now_ns();
		if (k == K_CHMOD)
			r = fchmodat(rootfd, path, 0777, 0);
		else if (k == K_CHOWN)
			r = fchownat(rootfd, path, BREAK_UID, BREAK_UID, AT_SYMLINK_NOFOLLOW);
		else
			r = renameat(rootfd, tmp, rootfd, path);
		if (r < 0)
			die(path);
		lat = wait_for(done_accepted, path, u, NULL, dir, t0);
		if (lat < 0) {
			all.missed++;
			per[k].missed++;
			missed++;
			restore(k, u, path);
		} else {
			series_add(&all, lat);
			series_add(&per[k], lat);
		}
		usleep((useconds_t)settle_ms * 1000);
	}
	snprintf(extra, sizeof(extra), " stopped=%d", i < count);
	series_print("heal", "all", &all, extra);
	for (int k = 0; k <= K_RENAME; k++)
		if (per[k].n + per[k].missed > 0)
			series_print("heal", kind_names[k], &per[k], NULL);
	return 0;
}

static int run_storm(void)
{
	long long *t_break = xmalloc((size_t)n_users * sizeof(long long));
	long *left = xmalloc((size_t)n_users * sizeof(long));
	struct series lat = {.v = xmalloc((size_t)n_users * sizeof(long long))};
	long long t0, t_last, t_healed = 0, deadline;
	long n_left = n_users;
	char path[4096], extra[128];

	t0 = now_ns();
	for (long i = 0; i < n_users; i++) {
		path_of(path, sizeof(path), &users[i], ".ssh");
		t_break[i] = now_ns();
		if (fchmodat(rootfd, path, 0777, 0) < 0)
			die(path);
		left[i] = i;
	}
	t_last = now_ns();
	deadline = t0 + deadline_ms * 1000000LL;
	while (n_left > 0 && now_ns() < deadline) {
		for (long j = 0; j < n_left;) {
			long i = left[j];

			path_of(path, sizeof(path), &users[i], ".ssh");
			if (accepted(path, &users[i])) {
				long long t = now_ns();

				series_add(&lat, t - t_break[i]);
				t_healed = t;
				left[j] = left[--n_left];
			} else {
				j++;
			}
		}
		if (n_left > 0 && interval_ms > 0)
			usleep((useconds_t)interval_ms * 1000);
	}
	lat.missed = n_left;
	for (long j = 0; j < n_left; j++) {
		path_of(path, sizeof(path), &users[left[j]], ".ssh");
		restore(K_CHMOD, &users[left[j]], path);
	}
	snprintf(extra, sizeof(extra), " users=%ld break_us=%lld healed_us=%s%lld deadline_ms=%ld",
		 n_users, (t_last - t0) / 1000, n_left ? ">" : "",
		 ((n_left ? deadline : t_healed) - t0) / 1000, deadline_ms);
	series_print("storm", "chmod", &lat, extra);
	return 0;
}

/* Read the public keys: their base64 blob (the second field) is what is looked for. */
static char **load_keys(long *n)
{
	FILE *f = fopen(keyfile, "re");
	char *line = NULL, **keys = NULL;
	size_t cap = 0;

	*n = 0;
	if (!f)
		die(keyfile);
	while (getline(&line, &cap, f) > 0) {
		line[strcspn(line, "\n")] = '\0';
		if (!strchr(line, ' '))
			continue;
		keys = realloc(keys, (size_t)(*n + 1) * sizeof(*keys));
		if (!keys || !(keys[(*n)++] = strdup(line)))
			die("strdup");
	}
	free(line);
	fclose(f);
	if (*n == 0) {
		fprintf(stderr, "probe: no key in %s\n", keyfile);
		exit(2);
	}
	return keys;
}

static int run_keysync(void)
{
	struct series all = {.v = xmalloc((size_t)count * sizeof(long long))}, per[K_MAX];
	const struct user **ku = xmalloc((size_t)n_users * sizeof(*ku));
	long nku = 0, nkeys, i;
	char **keys = load_keys(&nkeys);

	for (int k = 0; k < K_MAX; k++)
		per[k] = (struct series){.v = xmalloc((size_t)count * sizeof(long long))};
	for (long j = 0; j < n_users; j++) {
		char d[4096];
		struct stat st;

		snprintf(d, sizeof(d), "%s/%s", dropin, users[j].name);
		if (fstatat(rootfd, d, &st, 0) == 0 && S_ISDIR(st.st_mode))
			ku[nku++] = &users[j];
	}
	if (nku == 0) {
		fprintf(stderr, "probe: no user has a directory in %s\n", dropin);
		return 2;
	}
	for (i = 0; i < count; i++) {
		const struct user *u = ku[(i / 2) % nku];
		const char *key = keys[(i / 2) % nkeys];
		char blob[4096], pub[4096], tmp[4096], keys_path[4096], dir[4096];
		enum kind k = i % 2 ? K_REMOVE : K_ADD;
		long long t0, lat;
		int r;

		snprintf(blob, sizeof(blob), "%s", strchr(key, ' ') + 1);
		blob[strcspn(blob, " ")] = '\0';
		snprintf(pub, sizeof(pub), "%s/%s/probe.pub", dropin, u->name);
		snprintf(tmp, sizeof(tmp), "%s/%s/.probe.tmp", dropin, u->name);
		path_of(keys_path, sizeof(keys_path), u, ".ssh/authorized_keys");
		watch_dir(dir, sizeof(dir), keys_path);
		if (k == K_ADD) {
			int fd =
			    openat(rootfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

			if (fd < 0 || dprintf(fd, "%s\n", key) < 0 || fchmod(fd, 0644) < 0 ||
			    close(fd) < 0)
				die(tmp);
			t0 = now_ns();
			r = renameat(rootfd, tmp, rootfd, pub);
		} else {
			t0 = now_ns();
			r = unlinkat(rootfd, pub, 0);
		}
		if (r < 0)
			die(pub);
		lat = wait_for(k == K_ADD ? done_has : done_lacks, keys_path, u, blob, dir, t0);
		if (lat < 0) {
			all.missed++;
			per[k].missed++;
		} else {
			series_add(&all, lat);
			series_add(&per[k], lat);
		}
		usleep((useconds_t)settle_ms * 1000);
	}
	/* An odd count leaves a key behind: take it away. */
	if (count % 2) {
		char pub[4096];

		snprintf(pub, sizeof(pub), "%s/%s/probe.pub", dropin, ku[(count / 2) % nku]->name);
		unlinkat(rootfd, pub, 0);
	}
	series_print("keysync", "all", &all, NULL);
	series_print("keysync", "add", &per[K_ADD], NULL);
	series_print("keysync", "remove", &per[K_REMOVE], NULL);
	return 0;
}

static void usage(void)
{
	fputs(
	    "usage: probe heal ROOT [-n COUNT] [-k KINDS] [-d MS] [-s MS] [-S US] [-m N] [-r "
	    "SEED]\n"
	    "       probe storm ROOT [-d MS] [-i MS]\n"
	    "       probe keysync ROOT -K KEYFILE [-n COUNT] [-D DROPIN] [-d MS] [-s MS] [-S US]\n",
	    stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode;
	int c;

	if (argc < 3)
		usage();
	mode = argv[1];
	if (chdir(argv[2]) < 0 || (rootfd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		die(argv[2]);
	optind = 3;
	while ((c = getopt(argc, argv, "n:k:d:s:S:m:r:i:K:D:")) != -1) {
		switch (c) {
		case 'n':
			count = atol(optarg);
			break;
		case 'k':
			kinds_arg = optarg;
			break;
		case 'd':
			deadline_ms = atol(optarg);
			break;
		case 's':
			settle_ms = atol(optarg);
			break;
		case 'S':
			spin_us = atol(optarg);
			break;
		case 'm':
			max_missed = atol(optarg);
			break;
		case 'r':
			seed = (unsigned)atol(optarg);
			break;
		case 'i':
			interval_ms = atol(optarg);
			break;
		case 'K':
			keyfile = optarg;
			break;
		case 'D':
			dropin = optarg;
			break;
		default:
			usage();
		}
	}
	if (count < 1 || optind != argc)
		usage();
	ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ifd < 0)
		die("inotify_init1");
	load_users();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(mode, "heal") == 0) {
		if (deadline_ms < 0)
			deadline_ms = 5000;
		return run_heal();
	}
	if (strcmp(mode, "storm") == 0) {
		if (deadline_ms < 0)
			deadline_ms = 10000;
		return run_storm();
	}
	if (strcmp(mode, "keysync") == 0 && keyfile) {
		if (deadline_ms < 0)
			deadline_ms = 5000;
		return run_keysync();
	}
	usage();
	return 2;
}
