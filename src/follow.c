/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include "follow.h"
#include "macro.h"
#include "tails.h"

#define FOLLOW_POLL_MSEC 100

struct inode {
	dev_t dev;
	ino_t ino;
};

struct follow {
	struct tails *tails;
	struct inode *inodes; /* of the files followed */
	size_t n_inodes;
	const struct engine *e;
	int carried_error;
};

int follow_new(struct follow **ret)
{
	struct follow *f = calloc(1, sizeof(*f));
	int r;

	if (!f)
		return -ENOMEM;
	r = tails_new(&f->tails);
	if (r < 0) {
		free(f);
		return r;
	}
	*ret = f;
	return 0;
}

void follow_free(struct follow *f)
{
	if (!f)
		return;
	tails_free(f->tails);
	free(f->inodes);
	free(f);
}

int follow_take(struct follow *f, const struct user *u, struct user_report *rep)
{
	int r = 0;

	for (size_t k = 0; k < rep->tails.n; k++) {
		int fd = rep->tails.t[k].fd;
		struct inode *n;
		struct stat st;

		rep->tails.t[k].fd = -1;
		if (r < 0 || fstat(fd, &st) < 0 ||
		    !(n = realloc(f->inodes, (f->n_inodes + 1) * sizeof(*n)))) {
			r = r < 0 ? r : -ENOMEM;
			close(fd);
			continue;
		}
		f->inodes = n;
		f->inodes[f->n_inodes++] = (struct inode){st.st_dev, st.st_ino};
		r = tails_add(f->tails, u->name, fd, rep->tails.t[k].offset);
	}
	rep->tails.n = 0;
	return r;
}

/* Does the open file FD of process PID (its /proc/PID/fd directory open as DIRFD) write? */
static bool fd_writes(int piddir, const char *fd)
{
	char name[300], buf[512];
	ssize_t n;
	int info;
	char *flags;

	snprintf(name, sizeof(name), "fdinfo/%s", fd);
	info = openat(piddir, name, O_RDONLY | O_CLOEXEC);
	if (info < 0)
		return false;
	n = read(info, buf, sizeof(buf) - 1);
	close(info);
	if (n <= 0)
		return false;
	buf[n] = 0;
	flags = strstr(buf, "flags:");
	return flags && (strtoul(flags + 6, NULL, 8) & O_ACCMODE) != O_RDONLY;
}

/* Is one of the files followed open for writing in another process? Only /proc is read:
 * the inode behind each descriptor is looked at without a request to its file system. */
static bool held_for_writing(const struct follow *f)
{
	_cleanup_(closedirp) DIR *proc = opendir("/proc");
	struct dirent *de;
	pid_t self = getpid();

	if (!proc)
		return false;
	while ((de = readdir(proc))) {
		_cleanup_close_ int piddir = -1;
		_cleanup_(closedirp) DIR *fds = NULL;
		struct dirent *fe;
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int fdfd;

		if (*end || pid <= 0 || pid == self)
			continue;
		piddir = openat(dirfd(proc), de->d_name, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (piddir < 0)
			continue;
		fdfd = openat(piddir, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fdfd < 0 || !(fds = fdopendir(fdfd))) {
			if (fdfd >= 0)
				close(fdfd);
			continue;
		}
		while ((fe = readdir(fds))) {
			struct statx sx;
			dev_t dev;

			if (fe->d_name[0] == '.' ||
			    statx(dirfd(fds), fe->d_name, AT_STATX_DONT_SYNC, STATX_INO, &sx) < 0)
				continue;
			dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
			for (size_t i = 0; i < f->n_inodes; i++)
				if (f->inodes[i].ino == sx.stx_ino && f->inodes[i].dev == dev &&
				    fd_writes(piddir, fe->d_name))
					return true;
		}
	}
	return false;
}

static int carry(void *userdata, const char *user, const char *data, size_t len)
{
	struct follow *f = userdata;
	const struct user *u = userdb_by_name(f->e->db, user);
	struct user_report rep;
	int r;

	if (!u)
		return 0;
	r = engine_carry_keys(f->e, u, data, len, &rep);
	if (r < 0) {
		f->carried_error = r;
		return r;
	}
	user_report_done(&rep);
	/* Not written (refused, or its directory gone): kept, offered again. */
	return r > 0 ? -EAGAIN : 0;
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

int follow_wait(struct follow *f, const struct engine *e, uint64_t timeout_usec)
{
	uint64_t end = now_usec() + timeout_usec;
	bool held;
	int r;

	f->e = e;
	for (;;) {
		struct pollfd p = {.fd = tails_fd(f->tails), .events = POLLIN};

		/* Look first, then carry: what a writer wrote before it closed, during the
		 * look, is read by the dispatch after it. */
		held = f->n_inodes && held_for_writing(f);
		r = tails_dispatch(f->tails, carry, f);
		if (r < 0)
			return r;
		(void)tails_sweep(f->tails, carry, f);
		if (!held || now_usec() >= end)
			break;
		(void)poll(&p, 1, FOLLOW_POLL_MSEC);
	}
	if (f->carried_error < 0)
		return f->carried_error;
	return held ? 1 : 0;
}
