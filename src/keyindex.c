/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's index of keys: fingerprint -> the users whose keys files hold it (keyindex.h).
 * A hash of entries, each with the numbers of its users in ascending order, so that a question
 * costs the holders it finds, not the users there are.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include "keyindex.h"
#include "keys.h"
#include "macro.h"
#include "safeio.h"
#include "strv.h"
#include "whyscan.h"

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

/* The hash's first size; it doubles when it holds twice as many entries as buckets. */
#define KEYINDEX_BUCKETS 1024

struct entry {
	char *fp;
	size_t *users; /* ascending */
	size_t n, cap;
	struct entry *next;
};

struct kuser {
	struct entry **keys; /* in the order of their fingerprints, each once */
	size_t n;
	bool known;
	bool stale; /* healed since it was read: read again in idle time, or before an answer */
};

struct keyindex {
	struct entry **buckets;
	size_t n_buckets, n_entries;
	const struct engine *e;
	const struct user *const *users;
	struct kuser *u;
	size_t n_users;
	size_t n_stale, cursor; /* how many are stale; where keyindex_refresh() looks next */
	bool blind;
	uint8_t digest[SHA256_LEN];
};

static size_t hash(const char *s)
{
	size_t h = 0xcbf29ce484222325ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static struct entry **slot(const struct keyindex *x, const char *fp)
{
	struct entry **p = &x->buckets[hash(fp) & (x->n_buckets - 1)];

	while (*p && strcmp((*p)->fp, fp) != 0)
		p = &(*p)->next;
	return p;
}

static int grow(struct keyindex *x)
{
	size_t n = x->n_buckets ? x->n_buckets * 2 : KEYINDEX_BUCKETS;
	struct entry **b = calloc(n, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t k = 0; k < x->n_buckets; k++)
		for (struct entry *e = x->buckets[k], *next; e; e = next) {
			next = e->next;
			e->next = b[hash(e->fp) & (n - 1)];
			b[hash(e->fp) & (n - 1)] = e;
		}
	free(x->buckets);
	x->buckets = b;
	x->n_buckets = n;
	return 0;
}

/* Where user I stands (or would) in E's users. */
static size_t find_pos(const struct entry *e, size_t i)
{
	size_t lo = 0, hi = e->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e->users[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* User I holds FP: its entry in *ret. */
static int add(struct keyindex *x, const char *fp, size_t i, struct entry **ret)
{
	struct entry **p, *e;
	size_t at;

	if (x->n_entries >= 2 * x->n_buckets && grow(x) < 0)
		return -ENOMEM;
	p = slot(x, fp);
	if (!*p) {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->fp = strdup(fp))) {
			free(e);
			return -ENOMEM;
		}
		*p = e;
		x->n_entries++;
	}
	*ret = e = *p;
	at = find_pos(e, i);
	if (at < e->n && e->users[at] == i)
		return 0;
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 4;
		size_t *v = realloc(e->users, cap * sizeof(*v));

		if (!v) {
			if (!e->n) { /* just made: not left behind empty */
				*p = e->next;
				free(e->fp);
				free(e);
				x->n_entries--;
			}
			return -ENOMEM;
		}
		e->users = v;
		e->cap = cap;
	}
	memmove(e->users + at + 1, e->users + at, (e->n - at) * sizeof(*e->users));
	e->users[at] = i;
	e->n++;
	return 0;
}

/* User I no longer holds E's key; an entry held by none goes. */
static void drop(struct keyindex *x, struct entry *e, size_t i)
{
	struct entry **p;
	size_t at = find_pos(e, i);

	if (at < e->n && e->users[at] == i) {
		memmove(e->users + at, e->users + at + 1, (e->n - at - 1) * sizeof(*e->users));
		e->n--;
	}
	if (e->n)
		return;
	p = slot(x, e->fp);
	*p = e->next;
	free(e->fp);
	free(e->users);
	free(e);
	x->n_entries--;
}

/* User I's keys out of the index. */
static void clear_user(struct keyindex *x, size_t i)
{
	struct kuser *u = &x->u[i];

	for (size_t k = 0; k < u->n; k++)
		drop(x, u->keys[k], i);
	free(u->keys);
	u->keys = NULL;
	u->n = 0;
	u->known = false;
}

static void clear(struct keyindex *x)
{
	for (size_t i = 0; i < x->n_users; i++)
		clear_user(x, i);
	free(x->u);
	x->u = NULL;
	x->n_users = 0;
	x->users = NULL;
}

int keyindex_new(struct keyindex **ret)
{
	struct keyindex *x = calloc(1, sizeof(*x));

	if (!x || grow(x) < 0) {
		free(x);
		return -ENOMEM;
	}
	*ret = x;
	return 0;
}

void keyindex_free(struct keyindex *x)
{
	if (!x)
		return;
	clear(x);
	free(x->buckets);
	free(x);
}

/* Append the string S and its NUL to BUF at *AT (BUF NULL: count only). */
static void digest_put(char *buf, size_t *at, const char *s)
{
	size_t n = strlen(s) + 1;

	if (buf)
		memcpy(buf + *at, s, n);
	*at += n;
}

/* The fields the digest covers, into BUF (NULL: their length alone); their length. */
static size_t digest_text(const struct engine *e, const struct user *const *users, size_t n,
			  char *buf)
{
	char ids[64];
	size_t at = 0;

	for (size_t k = 0; e->keys_files && e->keys_files[k]; k++)
		digest_put(buf, &at, e->keys_files[k]);
	digest_put(buf, &at, "");
	for (size_t i = 0; i < n; i++) {
		snprintf(ids, sizeof(ids), "%lu:%lu", (unsigned long)users[i]->uid,
			 (unsigned long)users[i]->gid);
		digest_put(buf, &at, users[i]->name);
		digest_put(buf, &at, users[i]->home);
		digest_put(buf, &at, ids);
	}
	return at;
}

int keyindex_digest(const struct engine *e, const struct user *const *users, size_t n,
		    uint8_t out[SHA256_LEN])
{
	size_t len = digest_text(e, users, n, NULL);
	_cleanup_free_ char *buf = malloc(len);

	if (!buf)
		return -ENOMEM;
	digest_text(e, users, n, buf);
	sha256(buf, len, out);
	return 0;
}

int keyindex_reset(struct keyindex *x, const struct engine *e, const struct user *const *users,
		   size_t n)
{
	if (!x)
		return 0;
	/* Failing, blind: an empty index must not pass for one of no holders. */
	clear(x);
	x->blind = true;
	x->u = calloc(n + 1, sizeof(*x->u));
	if (!x->u)
		return -ENOMEM;
	x->e = e;
	x->users = users;
	x->n_users = n;
	x->n_stale = x->cursor = 0;
	if (keyindex_digest(e, users, n, x->digest) < 0)
		return -ENOMEM;
	x->blind = false;
	return 0;
}

struct collect {
	char **fps;
	size_t n;
};

static int on_line(void *userdata, const struct key_line *k, _unused_ unsigned lineno, bool refused)
{
	struct collect *c = userdata;

	if (!why_line_counts(k, refused))
		return 0;
	return strv_append(&c->fps, &c->n, k->fingerprint, strlen(k->fingerprint));
}

/*
 * The keys of the keys file PATH, added to C, as why's file_has_key() finds them: a file it cannot
 * open or read holds none. 1 when why would reach it through a symlink, or it is not a regular
 * file with one link: not vouched for (the daemon's watches follow the chains it walks, and see a
 * change made through the names they watch).
 */
static int read_file(const struct engine *e, const char *path, struct collect *c)
{
	struct open_how how = {.flags = O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS};
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	struct stat st;
	size_t len;
	int r;

	while (*path == '/')
		path++;
	fd = (int)syscall(SYS_openat2, e->rootfd, *path ? path : ".", &how, sizeof(how));
	if (fd < 0 && errno == ENOMEM)
		return -ENOMEM;
	/* A symlink on the way (or no openat2()): why follows it, the watches may not. */
	if (fd < 0 && (errno == ELOOP || errno == EXDEV || errno == ENOSYS || errno == EPERM))
		return 1;
	if (fd < 0)
		return 0; /* why finds no key in a file it cannot open */
	/* Not a regular file, or one of several names (changed through another, unseen): why reads
	 * it itself. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink > 1)
		return 1;
	r = safe_read_all(fd, KEYS_FILE_MAX, &text, &len);
	if (r < 0)
		return r == -ENOMEM ? r : 0;
	r = why_scan_text(text, len, on_line, c);
	return r == -ENOMEM ? r : 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* C's fingerprints sorted, each once. */
static void unique(struct collect *c)
{
	size_t n = 0;

	qsort(c->fps, c->n, sizeof(*c->fps), cmp_str);
	for (size_t k = 0; k < c->n; k++) {
		if (n > 0 && strcmp(c->fps[n - 1], c->fps[k]) == 0)
			free(c->fps[k]);
		else
			c->fps[n++] = c->fps[k];
	}
	c->n = n;
	c->fps[n] = NULL;
}

static bool same_keys(const struct kuser *u, const struct collect *c)
{
	if (u->n != c->n)
		return false;
	for (size_t k = 0; k < c->n; k++)
		if (strcmp(u->keys[k]->fp, c->fps[k]) != 0)
			return false;
	return true;
}

/* User I is not stale (any more). */
static void fresh(struct keyindex *x, size_t i)
{
	if (x->u[i].stale) {
		x->u[i].stale = false;
		x->n_stale--;
	}
}

int keyindex_read_user(struct keyindex *x, const struct engine *e, size_t i)
{
	const struct user *u;
	struct collect c = {0};
	int r = 0, q;

	if (!x || i >= x->n_users)
		return 0;
	fresh(x, i);
	u = x->users[i];
	/* A home that is no path: why looks at none of its files. */
	for (size_t k = 0; u->home[0] == '/' && e->keys_files && e->keys_files[k]; k++) {
		_cleanup_free_ char *path = NULL;

		if (sshd_expand_authorized_keys(e->keys_files[k], u, &path) < 0)
			continue;
		q = read_file(e, path, &c);
		if (q != 0) {
			r = q;
			break;
		}
	}
	/* Sorted, then each once: no work that grows with the square of a keys file. */
	if (r == 0 && c.n)
		unique(&c);
	if (r == 0 && x->u[i].known && same_keys(&x->u[i], &c)) {
		strv_free(c.fps);
		return 0;
	}
	clear_user(x, i);
	if (r == 0 && !(x->u[i].keys = calloc(c.n + 1, sizeof(*x->u[i].keys))))
		r = -ENOMEM;
	/* Each added as it comes, so that a failure leaves no entry unknown to its user. */
	for (size_t k = 0; r == 0 && k < c.n; k++)
		if ((r = add(x, c.fps[k], i, &x->u[i].keys[x->u[i].n])) == 0)
			x->u[i].n++;
	strv_free(c.fps);
	if (r != 0) {
		clear_user(x, i);
		return r < 0 ? r : 0;
	}
	x->u[i].known = true;
	return 0;
}

void keyindex_stale(struct keyindex *x, size_t i)
{
	if (x && i < x->n_users && !x->u[i].stale) {
		x->u[i].stale = true;
		x->n_stale++;
	}
}

size_t keyindex_refresh(struct keyindex *x, size_t max)
{
	for (size_t seen = 0; x && x->n_stale && max && seen < x->n_users; seen++) {
		size_t i = x->cursor;

		x->cursor = (x->cursor + 1) % x->n_users;
		if (!x->u[i].stale)
			continue;
		if (keyindex_read_user(x, x->e, i) < 0)
			keyindex_forget(x, i);
		max--;
	}
	return x ? x->n_stale : 0;
}

void keyindex_forget(struct keyindex *x, size_t i)
{
	if (x && i < x->n_users) {
		fresh(x, i);
		x->u[i].known = false;
	}
}

void keyindex_forget_all(struct keyindex *x)
{
	for (size_t i = 0; x && i < x->n_users; i++)
		keyindex_forget(x, i);
}

void keyindex_set_blind(struct keyindex *x, bool blind)
{
	if (x)
		x->blind = blind;
}

bool keyindex_blind(const struct keyindex *x)
{
	return x->blind;
}

const uint8_t *keyindex_get_digest(const struct keyindex *x)
{
	return x->digest;
}

size_t keyindex_n_users(const struct keyindex *x)
{
	return x->n_users;
}

const struct user *keyindex_user(const struct keyindex *x, size_t i)
{
	return x->users[i];
}

bool keyindex_known(const struct keyindex *x, size_t i)
{
	return x->u[i].known && !x->u[i].stale;
}

size_t keyindex_holders(const struct keyindex *x, const char *fp, const char *except, size_t max,
			size_t *ret)
{
	const struct entry *e;
	size_t n = 0;

	if (!fp) {
		for (size_t i = 0; i < x->n_users && n < max; i++)
			if (keyindex_known(x, i) && x->u[i].n &&
			    why_user_looked_at(x->users[i], except))
				ret[n++] = i;
		return n;
	}
	e = *slot(x, fp);
	for (size_t k = 0; e && k < e->n && n < max; k++)
		if (keyindex_known(x, e->users[k]) &&
		    why_user_looked_at(x->users[e->users[k]], except))
			ret[n++] = e->users[k];
	return n;
}
