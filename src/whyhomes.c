/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which homes exist, for a look through every user's keys files: the directory that holds the
 * homes (/home) listed once, instead of two failed opens for each user without a home.
 */
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include "macro.h"
#include "safeio.h"
#include "strindex.h"
#include "strv.h"
#include "whyhomes.h"

/* The directories of homes listed at most: past them, homes are looked at one by one. */
#define WHY_HOMES_PARENTS 16

struct parent {
	char *path;
	char **names;
	size_t n_names;
	struct strindex *index;
	bool missing;  /* the directory does not exist: nor does any home in it */
	bool unlisted; /* it could not be listed: every home in it may exist */
};

struct why_homes {
	struct parent p[WHY_HOMES_PARENTS];
	size_t n;
};

int why_homes_new(struct why_homes **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void why_homes_free(struct why_homes *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++) {
		free(h->p[i].path);
		strv_free(h->p[i].names);
		strindex_free(h->p[i].index);
	}
	free(h);
}

/* List the directory P->path (inside ROOTFD) into P. */
static void list_parent(struct parent *p, int rootfd)
{
	_cleanup_close_ int fd = -1;
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int r = safe_open_in_root(rootfd, p->path, O_RDONLY | O_DIRECTORY, &fd);

	if (r == -ENOENT) {
		p->missing = true;
		return;
	}
	p->unlisted = true;
	if (r < 0 || !(d = fdopendir(fd)))
		return;
	fd = -1;
	errno = 0;
	while ((de = readdir(d)))
		if (strv_append(&p->names, &p->n_names, de->d_name, strlen(de->d_name)) < 0)
			return;
	if (errno != 0 || strindex_new(&p->index) < 0)
		return;
	for (size_t i = 0; i < p->n_names; i++)
		if (strindex_add(p->index, p->names[i], strlen(p->names[i]), i) < 0)
			return;
	p->unlisted = false;
}

/* The listing of the directory PATH (LEN bytes), made on first use; NULL past the limit. */
static struct parent *parent_of(struct why_homes *h, int rootfd, const char *path, size_t len)
{
	struct parent *p;

	for (size_t i = 0; i < h->n; i++)
		if (strlen(h->p[i].path) == len && memcmp(h->p[i].path, path, len) == 0)
			return &h->p[i];
	if (h->n == WHY_HOMES_PARENTS)
		return NULL;
	p = &h->p[h->n];
	*p = (struct parent){.path = strndup(path, len)};
	if (!p->path)
		return NULL;
	h->n++;
	list_parent(p, rootfd);
	return p;
}

bool why_home_missing(struct why_homes *h, int rootfd, const char *home)
{
	size_t len = strlen(home);
	const char *base;
	struct parent *p;

	while (len > 1 && home[len - 1] == '/')
		len--;
	base = memrchr(home, '/', len);
	if (!h || !base || base == home + len - 1)
		return false;
	/* "." and ".." are no names a listing can be asked about. */
	if ((home + len - base - 1 == 1 && base[1] == '.') ||
	    (home + len - base - 1 == 2 && base[1] == '.' && base[2] == '.'))
		return false;
	p = parent_of(h, rootfd, base == home ? "/" : home,
		      base == home ? 1 : (size_t)(base - home));
	if (!p || p->unlisted)
		return false;
	return p->missing || strindex_find(p->index, base + 1, (size_t)(home + len - base - 1)) < 0;
}
