/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include "chain.h"
#include "macro.h"
#include "safeio.h"

#define CHAIN_MAX_SYMLINKS 40

bool chain_dir_is_root_only(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & 022);
}

static char *path_join(const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", name) < 0)
		return NULL;
	return p;
}

static int push_elem(struct chain *c, char *path, int fd, const struct stat *st, bool tainted)
{
	struct chain_elem *n = realloc(c->elems, (c->n_elems + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	c->elems = n;
	n[c->n_elems++] =
	    (struct chain_elem){.path = path, .fd = fd, .st = *st, .tainted = tainted};
	return 0;
}

static void pop_elem(struct chain *c)
{
	struct chain_elem *e = &c->elems[--c->n_elems];

	free(e->path);
	if (e->fd >= 0 && !e->borrowed)
		close(e->fd);
}

static int note_searched(struct chain *c, const struct chain_elem *e)
{
	struct stat *ns;
	char **np, *p;

	for (size_t i = 0; i < c->n_searched; i++)
		if (c->searched[i].st_ino == e->st.st_ino && c->searched[i].st_dev == e->st.st_dev)
			return 0;
	ns = realloc(c->searched, (c->n_searched + 1) * sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	c->searched = ns;
	np = realloc(c->searched_paths, (c->n_searched + 1) * sizeof(*np));
	if (!np)
		return -ENOMEM;
	c->searched_paths = np;
	p = strdup(e->path);
	if (!p)
		return -ENOMEM;
	ns[c->n_searched] = e->st;
	np[c->n_searched++] = p;
	return 0;
}

static int push_link(struct chain *c, char *path, const struct stat *st,
		     const struct chain_elem *dir, char *target, bool trusted, bool tainted)
{
	struct chain_link *n = realloc(c->links, (c->n_links + 1) * sizeof(*n));
	int fd;

	if (!n)
		return -ENOMEM;
	c->links = n;
	fd = fcntl(dir->fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return negative_errno();
	n[c->n_links++] = (struct chain_link){.path = path,
					      .st = *st,
					      .dir_st = dir->st,
					      .dir_fd = fd,
					      .target = target,
					      .trusted = trusted,
					      .tainted = tainted};
	return 0;
}

static int snapshot_prefix(struct chain *c)
{
	c->prefix = calloc(c->n_elems, sizeof(*c->prefix));
	if (!c->prefix)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_elems; i++) {
		struct chain_elem *e = &c->prefix[i];

		*e = c->elems[i];
		e->borrowed = false;
		e->path = strdup(c->elems[i].path);
		e->fd = fcntl(c->elems[i].fd, F_DUPFD_CLOEXEC, 3);
		c->n_prefix = i + 1;
		if (!e->path || e->fd < 0)
			return e->path ? negative_errno() : -ENOMEM;
	}
	return 0;
}

static int stop(struct chain *c, enum chain_status s, int error, const char *dir, const char *name)
{
	c->status = s;
	c->error = error;
	c->stopped_at = name ? path_join(dir, name) : strdup(dir);
	return c->stopped_at ? 0 : -ENOMEM;
}

/* The deepest element of BASE whose path is a prefix of PATH, or -1. */
static int base_prefix(const struct chain *base, const char *path)
{
	if (!base || base->n_links > 0)
		return -1;
	for (size_t k = base->n_elems; k-- > 0;) {
		const char *p = base->elems[k].path;
		size_t n = strlen(p);

		if (!S_ISDIR(base->elems[k].st.st_mode))
			continue;
		if (strcmp(p, "/") == 0 ||
		    (strncmp(path, p, n) == 0 && (path[n] == '/' || !path[n])))
			return (int)k;
	}
	return -1;
}

static int borrow(struct chain *c, const struct chain *base, int upto)
{
	for (int i = 0; i <= upto; i++) {
		const struct chain_elem *e = &base->elems[i];
		char *p = strdup(e->path);
		int r;

		if (!p || push_elem(c, p, e->fd, &e->st, false) < 0) {
			free(p);
			return -ENOMEM;
		}
		c->elems[c->n_elems - 1].borrowed = true;
		if (i < upto && (r = note_searched(c, e)) < 0)
			return r;
	}
	return 0;
}

/*
 * Where the walk of PATH starts: the longest prefix BASE resolved already (borrowed), or the
 * root, the caller's descriptor, used as it is and never closed here. *REST: what is left.
 */
static int chain_start(int rootfd, const char *path, const struct chain *base, struct chain *c,
		       char **rest)
{
	int k = base_prefix(base, path);
	struct stat st;
	char *slash;

	if (k >= 0) {
		const char *bp = base->elems[k].path;

		*rest = strdup(strcmp(bp, "/") == 0 ? path : path + strlen(bp));
		return *rest ? borrow(c, base, k) : -ENOMEM;
	}
	*rest = strdup(path);
	if (!*rest)
		return -ENOMEM;
	if (fstat(rootfd, &st) < 0)
		return negative_errno();
	slash = strdup("/");
	if (!slash || push_elem(c, slash, rootfd, &st, false) < 0) {
		free(slash);
		return -ENOMEM;
	}
	c->elems[0].borrowed = true;
	return 0;
}

/*
 * NAME in TOP is a symlink (FD, ST; FD is closed here): note it, and make *REST its target
 * followed by TAIL. 1 when the walk stops there (recorded in C), 0 to go on, <0 on error.
 */
static int chain_link(struct chain *c, struct chain_elem *top, const char *name, int fd,
		      const struct stat *st, char **rest, const char *tail, bool *tainted,
		      unsigned *links)
{
	char *target = NULL, *lpath;
	bool trusted = !*tainted && chain_dir_is_root_only(&top->st);
	int r;

	r = safe_readlink(fd, &target);
	close(fd);
	if (r < 0)
		return (r = stop(c, CHAIN_ERROR, -r, top->path, name)) < 0 ? r : 1;
	lpath = path_join(top->path, name);
	if (!lpath || push_link(c, lpath, st, top, target, trusted, *tainted) < 0) {
		free(lpath);
		free(target);
		return -ENOMEM;
	}
	if (!trusted && !*tainted) {
		r = snapshot_prefix(c);
		if (r < 0)
			return r;
	}
	if (!trusted)
		*tainted = true;
	if (++*links > CHAIN_MAX_SYMLINKS)
		return (r = stop(c, CHAIN_LOOP, ELOOP, top->path, name)) < 0 ? r : 1;
	if (target[0] == '/')
		while (c->n_elems > 1)
			pop_elem(c);
	free(*rest);
	if (asprintf(rest, "%s%s", target, tail) < 0) {
		*rest = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* NAME in TOP, open as FD (closed on failure): the next element of C. */
static int chain_enter(struct chain *c, const struct chain_elem *top, const char *name, int fd,
		       const struct stat *st, bool tainted)
{
	char *p = path_join(top->path, name);

	if (!p || push_elem(c, p, fd, st, tainted) < 0) {
		free(p);
		close(fd);
		return -ENOMEM;
	}
	return 0;
}

int chain_resolve(int rootfd, const char *path, const struct chain *base, struct chain *ret)
{
	struct chain c = {0};
	_cleanup_free_ char *rest = NULL;
	unsigned links = 0;
	bool tainted = false;
	struct stat st;
	int fd, r;

	r = chain_start(rootfd, path, base, &c, &rest);
	if (r < 0)
		goto fail;
	for (;;) {
		char *name = rest, *next;
		struct chain_elem *top = &c.elems[c.n_elems - 1];
		_cleanup_free_ char *tail = NULL;

		name += strspn(name, "/");
		if (!*name)
			break;
		next = name + strcspn(name, "/");
		tail = strdup(next);
		if (!tail) {
			r = -ENOMEM;
			goto fail;
		}
		*next = 0;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
			/* The root is its own parent, as in a chroot. */
			if (name[1] == '.' && c.n_elems > 1)
				pop_elem(&c);
			free(rest);
			rest = TAKE_PTR(tail);
			continue;
		}
		if (!S_ISDIR(top->st.st_mode)) {
			r = stop(&c, CHAIN_NOTDIR, ENOTDIR, top->path, NULL);
			if (r < 0)
				goto fail;
			break;
		}
		r = note_searched(&c, top);
		if (r < 0)
			goto fail;
		/* -EXDEV: a user's FUSE file system, never entered. */
		r = safe_open_component(top->fd, name, &fd);
		if (r < 0) {
			r = stop(&c, r == -ENOENT ? CHAIN_MISSING : CHAIN_ERROR, -r, top->path,
				 name);
			if (r < 0)
				goto fail;
			break;
		}
		if (fstat(fd, &st) < 0) {
			r = negative_errno();
			close(fd);
			goto fail;
		}
		if (S_ISLNK(st.st_mode)) {
			r = chain_link(&c, top, name, fd, &st, &rest, tail, &tainted, &links);
			if (r < 0)
				goto fail;
			if (r > 0)
				break;
			continue;
		}
		r = chain_enter(&c, top, name, fd, &st, tainted);
		if (r < 0)
			goto fail;
		free(rest);
		rest = TAKE_PTR(tail);
	}
	*ret = c;
	return 0;
fail:
	chain_done(&c);
	return r;
}

void chain_done(struct chain *c)
{
	while (c->n_elems > 0)
		pop_elem(c);
	free(c->elems);
	for (size_t i = 0; i < c->n_searched; i++)
		free(c->searched_paths[i]);
	free(c->searched);
	free(c->searched_paths);
	for (size_t i = 0; i < c->n_links; i++) {
		free(c->links[i].path);
		free(c->links[i].target);
		close(c->links[i].dir_fd);
	}
	free(c->links);
	for (size_t i = 0; i < c->n_prefix; i++) {
		free(c->prefix[i].path);
		if (c->prefix[i].fd >= 0)
			close(c->prefix[i].fd);
	}
	free(c->prefix);
	free(c->stopped_at);
	*c = (struct chain){0};
}

void chain_rebase(struct chain *base, struct chain *c, size_t keep)
{
	while (c->n_elems > keep)
		pop_elem(c);
	for (size_t i = 0; i < c->n_elems; i++)
		for (size_t k = 0; c->elems[i].borrowed && k < base->n_elems; k++)
			if (base->elems[k].fd == c->elems[i].fd && !base->elems[k].borrowed) {
				base->elems[k].borrowed = true;
				c->elems[i].borrowed = false;
			}
	chain_done(base);
	*base = *c;
	*c = (struct chain){0};
}

const struct chain_elem *chain_last(const struct chain *c)
{
	return c->n_elems ? &c->elems[c->n_elems - 1] : NULL;
}

int chain_find(const struct chain *c, const struct stat *st)
{
	for (size_t i = 0; i < c->n_elems; i++)
		if (c->elems[i].st.st_ino == st->st_ino && c->elems[i].st.st_dev == st->st_dev)
			return (int)i;
	return -1;
}
