/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "macro.h"
#include "mounts.h"

#define MOUNTINFO "/proc/self/mountinfo"
#define MOUNTS_CACHE 16

/*
 * What was learnt of each file system met, by device, until the mount table changes: the
 * table is held open and polled, which tells of any mount or unmount since the last look.
 */
static struct {
	dev_t dev;
	int users; /* 1: a user's FUSE, 0: not */
	uid_t uid;
} cache[MOUNTS_CACHE];
static size_t n_cache;
static int table_fd = -1;

static void cache_refresh(void)
{
	struct pollfd p;

	if (table_fd < 0) {
		table_fd = open(MOUNTINFO, O_RDONLY | O_CLOEXEC);
		n_cache = 0;
		if (table_fd < 0)
			return;
	}
	p = (struct pollfd){.fd = table_fd, .events = POLLPRI};
	if (poll(&p, 1, 0) != 0)
		n_cache = 0; /* changed (or cannot tell): forget everything */
}

/* One line of mountinfo: "ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS...] - TYPE SOURCE SUPER". */
static int parse_line(char *line, dev_t dev, uid_t *ret_uid)
{
	unsigned maj, min;
	char *sep, *type, *super, *opt, *save = NULL;

	if (sscanf(line, "%*s %*s %u:%u", &maj, &min) != 2 || makedev(maj, min) != dev)
		return -1;
	sep = strstr(line, " - ");
	if (!sep)
		return -1;
	type = sep + 3;
	super = strchr(type, ' ');
	if (!super)
		return -1;
	*super++ = 0;
	if (strcmp(type, "fuse") != 0 && strcmp(type, "fuseblk") != 0 &&
	    strncmp(type, "fuse.", 5) != 0)
		return 0;
	super = strchr(super, ' '); /* past the source */
	if (!super)
		return 0;
	for (opt = strtok_r(super + 1, ",\n", &save); opt; opt = strtok_r(NULL, ",\n", &save)) {
		unsigned long uid;
		char *end;

		if (strncmp(opt, "user_id=", 8) != 0)
			continue;
		uid = strtoul(opt + 8, &end, 10);
		if (*end || uid == 0)
			return 0;
		*ret_uid = (uid_t)uid;
		return 1;
	}
	return 0;
}

static int lookup(dev_t dev, uid_t *ret_uid)
{
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(MOUNTINFO, "re");
	int r = -1;

	if (!f)
		return negative_errno();
	while (r < 0 && getline(&line, &cap, f) > 0)
		r = parse_line(line, dev, ret_uid);
	fclose(f);
	return r < 0 ? 0 : r; /* not in the table: not a mount we can name */
}

int mounts_is_users(int fd, uid_t *ret_uid)
{
	struct statx sx;
	dev_t dev;
	uid_t uid = 0;
	int r;

	/* The device comes from the super block: no request goes to a FUSE server. */
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, 0, &sx) < 0)
		return negative_errno();
	dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
	cache_refresh();
	for (size_t i = 0; i < n_cache; i++)
		if (cache[i].dev == dev) {
			*ret_uid = cache[i].uid;
			return cache[i].users;
		}
	r = lookup(dev, &uid);
	if (r < 0)
		return r;
	if (n_cache == MOUNTS_CACHE)
		n_cache = 0;
	cache[n_cache++] = (typeof(cache[0])){dev, r, uid};
	*ret_uid = uid;
	return r;
}
