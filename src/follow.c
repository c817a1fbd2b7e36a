#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "follow.h"
#include "macro.h"
#include "strv.h"
#include "tails.h"

#define FOLLOW_POLL_MSEC 100

struct follow {
	struct tails *tails;
	char **paths; /* each followed file's path on this machine, as /proc shows it */
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
	strv_free(f->paths);
	free(f);
}

int follow_take(struct follow *f, const struct engine *e, const struct user *u,
		struct user_report *rep)
{
	_cleanup_free_ char *path = NULL;
	int r = 0;

	if (rep->tails.n && rep->keys_file &&
	    asprintf(&path, "%s%s (deleted)", e->root ? e->root : "", rep->keys_file) < 0)
		return -ENOMEM;
	for (size_t k = 0; k < rep->tails.n; k++) {
		if (r >= 0)
			r = tails_add(f->tails, u->name, rep->tails.t[k].fd, rep->tails.t[k].offset);
		else
			close(rep->tails.t[k].fd);
		rep->tails.t[k].fd = -1;
	}
	rep->tails.n = 0;
	if (r >= 0 && path && !strv_contains(f->paths, path))
		r = strv_push(&f->paths, path);
	return r;
}

/* Does the open file FD of process PID (its /proc/PID/fd directory open as DIRFD) write? */
static bool fd_writes(int piddir, const char *fd)
{
	char name[64], buf[512];
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

/* Is one of PATHS open for writing in another process? Only /proc is read, never the files. */
static bool held_for_writing(char *const *paths)
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
			char target[4200];
			ssize_t n = readlinkat(dirfd(fds), fe->d_name, target, sizeof(target) - 1);

			if (n <= 0)
				continue;
			target[n] = 0;
			if (strv_contains(paths, target) && fd_writes(piddir, fe->d_name))
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
	return 0;
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

		/* What was written before the look counts, whatever the look says. */
		r = tails_dispatch(f->tails, carry, f);
		if (r < 0)
			return r;
		held = f->paths && held_for_writing(f->paths);
		if (!held || now_usec() >= end)
			break;
		(void)poll(&p, 1, FOLLOW_POLL_MSEC);
	}
	if (f->carried_error < 0)
		return f->carried_error;
	return held ? (int)strv_length(f->paths) : 0;
}
