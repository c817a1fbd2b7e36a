#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include "macro.h"
#include "watcher.h"

/* What changes a chain: modes and owners, names appearing, going or being replaced. */
#define WATCH_MASK                                                                                 \
	(IN_ATTRIB | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF |        \
	 IN_MOVE_SELF | IN_CLOSE_WRITE | IN_ONLYDIR | IN_EXCL_UNLINK)
#define NBUCKETS_MIN (1u << 16)

struct wdinfo {
	int wd;
	dev_t dev;
	ino_t ino;
	size_t refs; /* registrations naming this directory */
	struct wdinfo *next_wd, *next_ino;
};

struct reg {
	struct wdinfo *dir;
	char *name;
	size_t *owners;
	size_t n_owners, cap;
	struct reg *next;
};

struct owner_regs {
	struct reg **regs;
	size_t n, cap;
};

struct watcher {
	int fd;
	struct wdinfo **by_wd, **by_ino;
	size_t n_wd_buckets, n_watches;
	struct reg **regs;
	size_t n_reg_buckets, n_regs;
	struct owner_regs *owners; /* indexed by owner */
	size_t n_owners;
	/* the set being built by watcher_begin/add */
	size_t cur_owner;
	struct owner_regs cur;
};

static size_t hash_str(const char *s, size_t seed)
{
	size_t h = 1469598103934665603ull ^ seed;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

int watcher_new(struct watcher **ret)
{
	struct watcher *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->n_wd_buckets = w->n_reg_buckets = NBUCKETS_MIN;
	w->by_wd = calloc(w->n_wd_buckets, sizeof(*w->by_wd));
	w->by_ino = calloc(w->n_wd_buckets, sizeof(*w->by_ino));
	w->regs = calloc(w->n_reg_buckets, sizeof(*w->regs));
	if (w->fd < 0 || !w->by_wd || !w->by_ino || !w->regs) {
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
			free(r->name);
			free(r->owners);
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

static struct wdinfo *wd_lookup(const struct watcher *w, int wd)
{
	for (struct wdinfo *d = w->by_wd[(size_t)wd % w->n_wd_buckets]; d; d = d->next_wd)
		if (d->wd == wd)
			return d;
	return NULL;
}

static size_t ino_bucket(const struct watcher *w, dev_t dev, ino_t ino)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ull) ^ dev) % w->n_wd_buckets;
}

static void wd_unlink(struct watcher *w, struct wdinfo *d)
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

static int wd_get(struct watcher *w, int dirfd, struct wdinfo **ret)
{
	struct stat st;
	struct wdinfo *d;
	char proc[64];
	int wd;

	if (fstat(dirfd, &st) < 0)
		return negative_errno();
	for (d = w->by_ino[ino_bucket(w, st.st_dev, st.st_ino)]; d; d = d->next_ino)
		if (d->dev == st.st_dev && d->ino == st.st_ino) {
			*ret = d;
			return 0;
		}
	/* The magic link names the inode we checked, whatever happened to its path since. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", dirfd);
	wd = inotify_add_watch(w->fd, proc, WATCH_MASK);
	if (wd < 0)
		return negative_errno();
	d = wd_lookup(w, wd);
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
	*ret = d;
	return 0;
}

static size_t reg_bucket(const struct watcher *w, const struct wdinfo *d, const char *name)
{
	return hash_str(name, (size_t)d->wd) % w->n_reg_buckets;
}

static struct reg *reg_lookup(const struct watcher *w, const struct wdinfo *d, const char *name)
{
	for (struct reg *r = w->regs[reg_bucket(w, d, name)]; r; r = r->next)
		if (r->dir == d && strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

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
	return 0;
}

static int reg_add_owner(struct reg *r, size_t owner)
{
	for (size_t i = 0; i < r->n_owners; i++)
		if (r->owners[i] == owner)
			return 0;
	if (r->n_owners == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 2;
		size_t *n = realloc(r->owners, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->owners = n;
		r->cap = cap;
	}
	r->owners[r->n_owners++] = owner;
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
	free(r->name);
	free(r->owners);
	free(r);
	w->n_regs--;
	if (--d->refs == 0) {
		inotify_rm_watch(w->fd, d->wd);
		wd_unlink(w, d);
	}
}

static void reg_remove_owner(struct watcher *w, struct reg *r, size_t owner)
{
	for (size_t i = 0; i < r->n_owners; i++)
		if (r->owners[i] == owner) {
			r->owners[i] = r->owners[--r->n_owners];
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
	struct wdinfo *d;
	struct reg *r;
	int q;

	q = wd_get(w, dirfd, &d);
	if (q < 0)
		return q;
	r = reg_lookup(w, d, name);
	if (!r) {
		size_t b = reg_bucket(w, d, name);

		r = calloc(1, sizeof(*r));
		if (!r || !(r->name = strdup(name))) {
			free(r);
			if (d->refs == 0) {
				inotify_rm_watch(w->fd, d->wd);
				wd_unlink(w, d);
			}
			return -ENOMEM;
		}
		r->dir = d;
		r->next = w->regs[b];
		w->regs[b] = r;
		d->refs++;
		w->n_regs++;
	}
	q = reg_add_owner(r, w->cur_owner);
	if (q >= 0)
		q = push_reg(&w->cur, r);
	return q;
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

	if (q < 0)
		return q;
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

static void drop_wd(struct watcher *w, struct wdinfo *d, watcher_touch_fn touch, void *userdata)
{
	/* The kernel dropped the watch (the directory is gone): its owners look again. */
	for (size_t b = 0; b < w->n_reg_buckets && d; b++)
		for (struct reg *r = w->regs[b], *n; r; r = n) {
			n = r->next;
			if (r->dir != d)
				continue;
			for (size_t i = 0; i < r->n_owners; i++) {
				struct owner_regs *o = &w->owners[r->owners[i]];

				touch(userdata, r->owners[i]);
				for (size_t k = 0; k < o->n; k++)
					if (o->regs[k] == r) {
						o->regs[k] = o->regs[--o->n];
						break;
					}
			}
			r->n_owners = 0;
			free(r->owners);
			r->owners = NULL;
			{
				struct reg **p;

				for (p = &w->regs[b]; *p; p = &(*p)->next)
					if (*p == r) {
						*p = r->next;
						break;
					}
			}
			free(r->name);
			free(r);
			w->n_regs--;
			d->refs--;
		}
	if (d)
		wd_unlink(w, d);
}

static void touch_reg(const struct reg *r, watcher_touch_fn touch, void *userdata)
{
	for (size_t i = 0; r && i < r->n_owners; i++)
		touch(userdata, r->owners[i]);
}

int watcher_dispatch(struct watcher *w, watcher_touch_fn touch, watcher_overflow_fn overflow,
		     void *userdata)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			struct wdinfo *d;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				overflow(userdata);
				continue;
			}
			d = wd_lookup(w, ev->wd);
			if (!d)
				continue;
			if (ev->mask & IN_IGNORED) {
				drop_wd(w, d, touch, userdata);
				continue;
			}
			touch_reg(reg_lookup(w, d, ev->len ? ev->name : ""), touch, userdata);
			if (ev->len)
				touch_reg(reg_lookup(w, d, WATCHER_ANY_NAME), touch, userdata);
		}
	}
}
