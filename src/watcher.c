/* SPDX-License-Identifier: Apache-2.0 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include "macro.h"
#include "safeio.h"
#include "watcher-int.h"

/* What changes a chain: modes and owners, names appearing, going or being replaced. */
#define WATCH_MASK                                                                                 \
	(IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |        \
	 IN_MOVE_SELF | IN_CLOSE_WRITE | IN_ONLYDIR | IN_EXCL_UNLINK)
#define NBUCKETS_MIN (1u << 10) /* tables double when they hold twice as many entries */

/* Tables have a power of two of buckets, indexed by a hash's low bits: the high bits of a
 * product are folded into them, or inode numbers a block group apart would share buckets. */
static size_t fold(uint64_t h)
{
	return (size_t)(h ^ (h >> 32));
}

static size_t hash_str(const char *s, size_t seed)
{
	uint64_t h = 1469598103934665603ull ^ seed;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return fold(h);
}

int watcher_new(struct watcher **ret)
{
	struct watcher *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	/* No inotify instance left (fs.inotify.max_user_instances): a watcher without one,
	 * whose every watch is refused as at the watch limit. */
	if (w->fd < 0 && (errno == EMFILE || errno == ENFILE))
		w->no_instance = true;
	w->n_wd_buckets = w->n_reg_buckets = NBUCKETS_MIN;
	w->by_wd = calloc(w->n_wd_buckets, sizeof(*w->by_wd));
	w->by_ino = calloc(w->n_wd_buckets, sizeof(*w->by_ino));
	w->regs = calloc(w->n_reg_buckets, sizeof(*w->regs));
	if ((w->fd < 0 && !w->no_instance) || !w->by_wd || !w->by_ino || !w->regs) {
		int r = w->fd < 0 ? negative_errno() : -ENOMEM;

		watcher_free(w);
		return r;
	}
	*ret = w;
	return 0;
}

void watcher_free(struct watcher *w)
{
	if (!w)
		return;
	for (size_t b = 0; w->regs && b < w->n_reg_buckets; b++)
		for (struct reg *r = w->regs[b], *n; r; r = n) {
			n = r->next;
			free(r->more);
			free(r);
		}
	for (size_t b = 0; w->by_wd && b < w->n_wd_buckets; b++)
		for (struct wdinfo *d = w->by_wd[b], *n; d; d = n) {
			n = d->next_wd;
			free(d);
		}
	for (size_t i = 0; i < w->n_owners; i++)
		free(w->owners[i].regs);
	free(w->owners);
	free(w->cur.regs);
	free(w->by_wd);
	free(w->by_ino);
	free(w->regs);
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

int watcher_fd(const struct watcher *w)
{
	return w->fd;
}

size_t watcher_n_watches(const struct watcher *w)
{
	return w->n_watches;
}

size_t watcher_n_registrations(const struct watcher *w)
{
	return w->n_regs;
}

struct wdinfo *watcher_wd_lookup(const struct watcher *w, int wd)
{
	for (struct wdinfo *d = w->by_wd[(size_t)wd % w->n_wd_buckets]; d; d = d->next_wd)
		if (d->wd == wd)
			return d;
	return NULL;
}

static size_t ino_hash(dev_t dev, ino_t ino, size_t n)
{
	return fold(((uint64_t)ino ^ (uint64_t)dev) * 0x9E3779B97F4A7C15ull) % n;
}

static size_t ino_bucket(const struct watcher *w, dev_t dev, ino_t ino)
{
	return ino_hash(dev, ino, w->n_wd_buckets);
}

/* Rehash the watch tables into twice the buckets once they are crowded; if memory is
 * short, the chains just grow longer. */
static void wd_grow(struct watcher *w)
{
	size_t n = w->n_wd_buckets * 2;
	struct wdinfo **bw, **bi;

	if (w->n_watches < 2 * w->n_wd_buckets)
		return;
	bw = calloc(n, sizeof(*bw));
	bi = calloc(n, sizeof(*bi));
	if (!bw || !bi) {
		free(bw);
		free(bi);
		return;
	}
	for (size_t b = 0; b < w->n_wd_buckets; b++)
		for (struct wdinfo *d = w->by_wd[b], *next; d; d = next) {
			size_t ib = ino_hash(d->dev, d->ino, n);

			next = d->next_wd;
			d->next_wd = bw[(size_t)d->wd % n];
			bw[(size_t)d->wd % n] = d;
			d->next_ino = bi[ib];
			bi[ib] = d;
		}
	free(w->by_wd);
	free(w->by_ino);
	w->by_wd = bw;
	w->by_ino = bi;
	w->n_wd_buckets = n;
}

void watcher_wd_unlink(struct watcher *w, struct wdinfo *d)
{
	struct wdinfo **p;

	for (p = &w->by_wd[(size_t)d->wd % w->n_wd_buckets]; *p; p = &(*p)->next_wd)
		if (*p == d) {
			*p = d->next_wd;
			break;
		}
	for (p = &w->by_ino[ino_bucket(w, d->dev, d->ino)]; *p; p = &(*p)->next_ino)
		if (*p == d) {
			*p = d->next_ino;
			break;
		}
	w->n_watches--;
	free(d);
}

static int wd_get(struct watcher *w, int dirfd, const struct stat *known, struct wdinfo **ret)
{
	struct stat st;
	struct wdinfo *d;
	char proc[SAFE_PROC_FD_MAX];
	int wd;

	if (known)
		st = *known;
	else if (fstat(dirfd, &st) < 0)
		return negative_errno();
	for (d = w->by_ino[ino_bucket(w, st.st_dev, st.st_ino)]; d; d = d->next_ino)
		if (d->dev == st.st_dev && d->ino == st.st_ino) {
			*ret = d;
			return 0;
		}
	/* The magic link names the inode we checked, whatever happened to its path since. */
	if (w->no_instance)
		return -ENOSPC;
	safe_proc_fd(dirfd, proc);
	wd = inotify_add_watch(w->fd, proc, WATCH_MASK);
	if (wd < 0)
		return negative_errno();
	d = watcher_wd_lookup(w, wd);
	if (d) {
		/* Same inode under a stale (dev, ino) entry: take it over. */
		*ret = d;
		return 0;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		inotify_rm_watch(w->fd, wd);
		return -ENOMEM;
	}
	*d = (struct wdinfo){.wd = wd, .dev = st.st_dev, .ino = st.st_ino};
	d->next_wd = w->by_wd[(size_t)wd % w->n_wd_buckets];
	w->by_wd[(size_t)wd % w->n_wd_buckets] = d;
	d->next_ino = w->by_ino[ino_bucket(w, st.st_dev, st.st_ino)];
	w->by_ino[ino_bucket(w, st.st_dev, st.st_ino)] = d;
	w->n_watches++;
	wd_grow(w);
	*ret = d;
	return 0;
}

static size_t reg_bucket(const struct watcher *w, const struct wdinfo *d, const char *name)
{
	return hash_str(name, (size_t)d->wd) % w->n_reg_buckets;
}

static void reg_grow(struct watcher *w)
{
	size_t n = w->n_reg_buckets * 2;
	struct reg **t;

	if (w->n_regs < 2 * w->n_reg_buckets || !(t = calloc(n, sizeof(*t))))
		return;
	for (size_t b = 0; b < w->n_reg_buckets; b++)
		for (struct reg *r = w->regs[b], *next; r; r = next) {
			size_t nb = hash_str(r->name, (size_t)r->dir->wd) % n;

			next = r->next;
			r->next = t[nb];
			t[nb] = r;
		}
	free(w->regs);
	w->regs = t;
	w->n_reg_buckets = n;
}

struct reg *watcher_reg_lookup(const struct watcher *w, const struct wdinfo *d, const char *name)
{
	for (struct reg *r = w->regs[reg_bucket(w, d, name)]; r; r = r->next)
		if (r->dir == d && strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

/* Add R to the set O: 1 if it was not there, 0 if it was. */
static int push_reg(struct owner_regs *o, struct reg *r)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->regs[i] == r)
			return 0;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		struct reg **n = realloc(o->regs, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		o->regs = n;
		o->cap = cap;
	}
	o->regs[o->n++] = r;
	return 1;
}

/* Did OWNER's committed set name R? Sets are short; a shared registration's owners are not. */
static bool owner_has(const struct watcher *w, size_t owner, const struct reg *r)
{
	const struct owner_regs *o = owner < w->n_owners ? &w->owners[owner] : NULL;

	for (size_t i = 0; o && i < o->n; i++)
		if (o->regs[i] == r)
			return true;
	return false;
}

/* OWNER, known not to be among R's owners yet. */
static int reg_add_owner(struct reg *r, size_t owner)
{
	if (r->n_owners > 0 && r->n_owners - 1 == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 2;
		uint32_t *n = realloc(r->more, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->more = n;
		r->cap = cap;
	}
	reg_set_owner(r, r->n_owners++, owner);
	return 0;
}

static void reg_drop(struct watcher *w, struct reg *r)
{
	struct wdinfo *d = r->dir;
	struct reg **p;

	for (p = &w->regs[reg_bucket(w, d, r->name)]; *p; p = &(*p)->next)
		if (*p == r) {
			*p = r->next;
			break;
		}
	free(r->more);
	free(r);
	w->n_regs--;
	if (--d->refs == 0) {
		inotify_rm_watch(w->fd, d->wd);
		watcher_wd_unlink(w, d);
	}
}

static void reg_remove_owner(struct watcher *w, struct reg *r, size_t owner)
{
	for (size_t i = 0; i < r->n_owners; i++)
		if (reg_owner(r, i) == owner) {
			r->n_owners--;
			reg_set_owner(r, i, reg_owner(r, r->n_owners));
			break;
		}
	if (r->n_owners == 0)
		reg_drop(w, r);
}

void watcher_begin(struct watcher *w, size_t owner)
{
	w->cur_owner = owner;
	w->cur.n = 0;
}

int watcher_add(struct watcher *w, int dirfd, const char *name)
{
	return watcher_add_stat(w, dirfd, NULL, name);
}

int watcher_add_stat(struct watcher *w, int dirfd, const struct stat *st, const char *name)
{
	struct wdinfo *d;
	struct reg *r;
	int q;

	if (w->cur_owner > UINT32_MAX)
		return -ERANGE;
	q = wd_get(w, dirfd, st, &d);
	if (q < 0)
		return q;
	r = watcher_reg_lookup(w, d, name);
	if (!r) {
		size_t b = reg_bucket(w, d, name);

		size_t len = strlen(name);

		r = calloc(1, sizeof(*r) + len + 1);
		if (!r) {
			if (d->refs == 0) {
				inotify_rm_watch(w->fd, d->wd);
				watcher_wd_unlink(w, d);
			}
			return -ENOMEM;
		}
		memcpy(r->name, name, len + 1);
		r->dir = d;
		r->next = w->regs[b];
		w->regs[b] = r;
		d->refs++;
		w->n_regs++;
		reg_grow(w);
	}
	/* All or nothing: a registration in the set names its owner, and one that no owner
	 * names does not stay. */
	q = push_reg(&w->cur, r);
	if (q > 0 && !owner_has(w, w->cur_owner, r) && (q = reg_add_owner(r, w->cur_owner)) < 0)
		w->cur.n--;
	if (q < 0 && r->n_owners == 0)
		reg_drop(w, r);
	return q < 0 ? q : 0;
}

void watcher_abort(struct watcher *w)
{
	/* What the set added to registrations the committed set did not name, taken back. */
	for (size_t i = 0; i < w->cur.n; i++)
		if (!owner_has(w, w->cur_owner, w->cur.regs[i]))
			reg_remove_owner(w, w->cur.regs[i], w->cur_owner);
	w->cur.n = 0;
}

static int ensure_owner(struct watcher *w, size_t owner)
{
	if (owner < w->n_owners)
		return 0;
	{
		size_t n = owner + 1 > w->n_owners * 2 ? owner + 1 : w->n_owners * 2;
		struct owner_regs *o = realloc(w->owners, n * sizeof(*o));

		if (!o)
			return -ENOMEM;
		memset(o + w->n_owners, 0, (n - w->n_owners) * sizeof(*o));
		w->owners = o;
		w->n_owners = n;
	}
	return 0;
}

int watcher_commit(struct watcher *w)
{
	struct owner_regs *o, tmp;
	int q = ensure_owner(w, w->cur_owner);

	if (q < 0) {
		watcher_abort(w);
		return q;
	}
	o = &w->owners[w->cur_owner];
	/* Registrations of the old set that the new one no longer names. */
	for (size_t i = 0; i < o->n; i++) {
		bool kept = false;

		for (size_t j = 0; j < w->cur.n && !kept; j++)
			kept = w->cur.regs[j] == o->regs[i];
		if (!kept)
			reg_remove_owner(w, o->regs[i], w->cur_owner);
	}
	tmp = *o;
	*o = w->cur;
	w->cur = tmp;
	w->cur.n = 0;
	return 0;
}

void watcher_forget(struct watcher *w, size_t owner)
{
	struct owner_regs *o;

	if (owner >= w->n_owners)
		return;
	o = &w->owners[owner];
	for (size_t i = 0; i < o->n; i++)
		reg_remove_owner(w, o->regs[i], owner);
	o->n = 0;
}

static size_t mapped(const size_t *map, size_t n_map, size_t owner)
{
	return owner < n_map ? map[owner] : WATCHER_NO_OWNER;
}

int watcher_remap(struct watcher *w, const size_t *map, size_t n_map)
{
	struct owner_regs *owners;
	size_t n = 0;

	for (size_t o = 0; o < w->n_owners; o++)
		if (mapped(map, n_map, o) != WATCHER_NO_OWNER && mapped(map, n_map, o) >= n)
			n = mapped(map, n_map, o) + 1;
	owners = calloc(n ? n : 1, sizeof(*owners));
	if (!owners)
		return -ENOMEM;
	/* Those that go first, with whatever only they named; then the new numbers. */
	for (size_t o = 0; o < w->n_owners; o++)
		if (mapped(map, n_map, o) == WATCHER_NO_OWNER) {
			watcher_forget(w, o);
			free(w->owners[o].regs);
		} else
			owners[mapped(map, n_map, o)] = w->owners[o];
	/* An owner a registration still names without having committed it (a walk that
	 * failed halfway) goes too. */
	for (size_t b = 0; b < w->n_reg_buckets; b++)
		for (struct reg *r = w->regs[b], *next; r; r = next) {
			next = r->next;
			for (size_t i = 0; i < r->n_owners;) {
				size_t m = mapped(map, n_map, reg_owner(r, i));

				if (m == WATCHER_NO_OWNER) {
					r->n_owners--;
					reg_set_owner(r, i, reg_owner(r, r->n_owners));
					continue;
				}
				reg_set_owner(r, i++, m);
			}
			if (r->n_owners == 0)
				reg_drop(w, r);
		}
	free(w->owners);
	w->owners = owners;
	w->n_owners = n ? n : 1;
	return 0;
}
