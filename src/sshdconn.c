/* SPDX-License-Identifier: Apache-2.0 */
#include "sshdconn.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "macro.h"

/* The first size of the table of entries; it doubles up to the table's maximum. */
#define ENTRIES_FIRST 64
#define NONE (-1)
#define MIN(a, b) ((a) < (b) ? (a) : (b))

struct entry {
	struct sshdconn_attempt a;
	int older, newer; /* the age list, oldest first */
	int hnext;	  /* the next entry of the same hash bucket */
	bool used;
};

struct sshdconn_table {
	struct entry *entries;
	size_t n_entries, max;
	int *buckets; /* n_buckets, a power of two */
	size_t n_buckets;
	int oldest, newest, free_list; /* free entries are chained through hnext */
	size_t in_flight;
	uint64_t dropped;
};

static size_t bucket_of(const struct sshdconn_table *t, pid_t pid)
{
	return ((uint32_t)pid * 2654435761u) & (t->n_buckets - 1);
}

struct sshdconn_table *sshdconn_new(size_t max)
{
	struct sshdconn_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->max = max ? max : SSHDCONN_MAX_DEFAULT;
	for (t->n_buckets = 16; t->n_buckets < 2 * t->max; t->n_buckets *= 2)
		;
	t->buckets = malloc(t->n_buckets * sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	for (size_t i = 0; i < t->n_buckets; i++)
		t->buckets[i] = NONE;
	t->oldest = t->newest = t->free_list = NONE;
	return t;
}

void sshdconn_free(struct sshdconn_table *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t->buckets);
	free(t);
}

size_t sshdconn_in_flight(const struct sshdconn_table *t)
{
	return t->in_flight;
}

uint64_t sshdconn_dropped(const struct sshdconn_table *t)
{
	return t->dropped;
}

static int find(const struct sshdconn_table *t, pid_t pid)
{
	for (int i = t->buckets[bucket_of(t, pid)]; i != NONE; i = t->entries[i].hnext)
		if (t->entries[i].a.pid == pid)
			return i;
	return NONE;
}

static void unlink_entry(struct sshdconn_table *t, int i)
{
	struct entry *e = &t->entries[i];
	int *p = &t->buckets[bucket_of(t, e->a.pid)];

	while (*p != i)
		p = &t->entries[*p].hnext;
	*p = e->hnext;
	if (e->older != NONE)
		t->entries[e->older].newer = e->newer;
	else
		t->oldest = e->newer;
	if (e->newer != NONE)
		t->entries[e->newer].older = e->older;
	else
		t->newest = e->older;
	e->used = false;
	e->hnext = t->free_list;
	t->free_list = i;
	t->in_flight--;
}

/* A free entry: from the free list, by growing the table, or by dropping the oldest. */
static int take_entry(struct sshdconn_table *t)
{
	if (t->free_list == NONE && t->n_entries < t->max) {
		size_t n = MIN(t->max, t->n_entries ? 2 * t->n_entries : ENTRIES_FIRST);
		struct entry *e = realloc(t->entries, n * sizeof(*e));
		if (!e)
			return -ENOMEM;
		t->entries = e;
		for (size_t i = n; i > t->n_entries; i--) {
			e[i - 1].used = false;
			e[i - 1].hnext = t->free_list;
			t->free_list = (int)(i - 1);
		}
		t->n_entries = n;
	}
	if (t->free_list == NONE) {
		unlink_entry(t, t->oldest);
		t->dropped++;
	}
	int i = t->free_list;
	t->free_list = t->entries[i].hnext;
	return i;
}

static int new_entry(struct sshdconn_table *t, pid_t pid, uint64_t usec)
{
	int i = take_entry(t);

	if (i < 0)
		return i;
	struct entry *e = &t->entries[i];
	memset(&e->a, 0, sizeof(e->a));
	e->a.pid = pid;
	e->a.port = -1;
	e->a.first_usec = usec;
	e->used = true;
	size_t b = bucket_of(t, pid);
	e->hnext = t->buckets[b];
	t->buckets[b] = i;
	e->older = t->newest;
	e->newer = NONE;
	if (t->newest != NONE)
		t->entries[t->newest].newer = i;
	else
		t->oldest = i;
	t->newest = i;
	t->in_flight++;
	return i;
}

static bool is_refusal(enum sshdlog_kind k)
{
	switch (k) {
	case SSHDLOG_INVALID_USER:
	case SSHDLOG_NOT_ALLOWED:
	case SSHDLOG_ACCOUNT_LOCKED:
	case SSHDLOG_ACCOUNT_EXPIRED:
	case SSHDLOG_SHELL:
	case SSHDLOG_ROOT_REFUSED:
	case SSHDLOG_STRICT_MODES:
	case SSHDLOG_KEYS_UNREADABLE:
	case SSHDLOG_KEY_TYPE:
	case SSHDLOG_KEY_TOO_SMALL:
	case SSHDLOG_KEY_REVOKED:
	case SSHDLOG_KEY_OPTION:
		return true;
	default:
		return false;
	}
}

static void add_key(struct sshdconn_attempt *a, const char *type, const char *fp)
{
	if (!*fp)
		return;
	for (size_t i = 0; i < a->n_keys; i++)
		if (strcmp(a->keys[i].fingerprint, fp) == 0)
			return;
	if (a->n_keys == ELEMENTSOF(a->keys))
		return;
	strcpy(a->keys[a->n_keys].type, type);
	strcpy(a->keys[a->n_keys].fingerprint, fp);
	a->n_keys++;
}

/* What line L adds to attempt A. */
static void merge(struct sshdconn_attempt *a, const struct sshdlog_line *l, uint64_t usec)
{
	if (!a->user[0] && l->user[0])
		strcpy(a->user, l->user);
	if (!a->addr[0] && l->addr[0])
		strcpy(a->addr, l->addr);
	if (a->port < 0)
		a->port = l->port;
	if (l->who != SSHDLOG_WHO_NONE)
		a->who = l->who;
	if (is_refusal(l->kind) && a->refusal == SSHDLOG_OTHER) {
		a->refusal = l->kind;
		strcpy(a->detail, l->detail);
		if (!l->fingerprint[0])
			strcpy(a->refused_type, l->key_type);
	}
	if (l->kind == SSHDLOG_FAILED)
		a->n_failed++;
	a->partial |= l->kind == SSHDLOG_PARTIAL;
	a->too_many |= l->kind == SSHDLOG_TOO_MANY;
	a->verbose |= l->kind == SSHDLOG_CONNECTION || l->kind == SSHDLOG_KEY_FOUND ||
		      (l->kind == SSHDLOG_FAILED && *l->fingerprint);
	add_key(a, l->key_type, l->fingerprint);
	a->last_usec = usec;
}

/* The line belongs to another connection than the one this PID had (a PID used again). */
static bool other_connection(const struct sshdconn_attempt *a, const struct sshdlog_line *l)
{
	return a->port >= 0 && l->port >= 0 && a->addr[0] && l->addr[0] &&
	       (a->port != l->port || strcmp(a->addr, l->addr) != 0);
}

int sshdconn_feed(struct sshdconn_table *t, const struct sshdlog_line *l, uint64_t usec,
		  struct sshdconn_attempt *out)
{
	int i;

	if (l->kind == SSHDLOG_OTHER)
		return SSHDCONN_PENDING;
	i = find(t, l->pid);
	if (i != NONE && other_connection(&t->entries[i].a, l)) {
		unlink_entry(t, i);
		i = NONE;
	}
	if (l->kind == SSHDLOG_ACCEPTED || (l->kind == SSHDLOG_END && l->who == SSHDLOG_WHO_USER)) {
		if (i != NONE)
			unlink_entry(t, i);
		if (l->kind == SSHDLOG_END)
			return SSHDCONN_PENDING;
		memset(out, 0, sizeof(*out));
		out->pid = l->pid;
		out->port = -1;
		merge(out, l, usec);
		out->first_usec = usec;
		return SSHDCONN_ACCEPTED;
	}
	if (l->kind == SSHDLOG_END) {
		memset(out, 0, sizeof(*out));
		out->port = -1;
		out->first_usec = usec;
		if (i != NONE) {
			*out = t->entries[i].a;
			unlink_entry(t, i);
		}
		out->pid = l->pid;
		merge(out, l, usec);
		return out->user[0] ? SSHDCONN_REFUSED : SSHDCONN_PENDING;
	}
	if (i == NONE) {
		i = new_entry(t, l->pid, usec);
		if (i < 0)
			return i;
	}
	merge(&t->entries[i].a, l, usec);
	return SSHDCONN_PENDING;
}
