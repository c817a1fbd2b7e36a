/* SPDX-License-Identifier: Apache-2.0 */
/* Open addressing, linear probing, FNV-1a; the table is doubled at half full. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "strindex.h"

#define STRINDEX_MIN 64

struct slot {
	const char *key; /* NULL: empty */
	size_t len, pos;
	uint64_t hash;
};

struct strindex {
	struct slot *slots;
	size_t cap, n; /* cap: a power of two */
};

static uint64_t hash_of(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

int strindex_new(struct strindex **ret)
{
	struct strindex *x = calloc(1, sizeof(*x));

	if (!x || !(x->slots = calloc(STRINDEX_MIN, sizeof(*x->slots)))) {
		free(x);
		return -ENOMEM;
	}
	x->cap = STRINDEX_MIN;
	*ret = x;
	return 0;
}

void strindex_free(struct strindex *x)
{
	if (!x)
		return;
	free(x->slots);
	free(x);
}

/* The slot of KEY, or the empty one where it would go. */
static struct slot *slot_of(const struct strindex *x, const char *key, size_t len, uint64_t h)
{
	for (size_t i = h & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
		struct slot *s = &x->slots[i];

		if (!s->key || (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0))
			return s;
	}
}

static int grow(struct strindex *x)
{
	struct strindex bigger = {.cap = x->cap * 2, .n = x->n};

	bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < x->cap; i++)
		if (x->slots[i].key)
			*slot_of(&bigger, x->slots[i].key, x->slots[i].len, x->slots[i].hash) =
			    x->slots[i];
	free(x->slots);
	*x = bigger;
	return 0;
}

int strindex_add(struct strindex *x, const char *key, size_t len, size_t pos)
{
	uint64_t h = hash_of(key, len);
	struct slot *s;

	if ((x->n + 1) * 2 > x->cap && grow(x) < 0)
		return -ENOMEM;
	s = slot_of(x, key, len, h);
	if (s->key)
		return 0;
	*s = (struct slot){.key = key, .len = len, .pos = pos, .hash = h};
	x->n++;
	return 1;
}

ssize_t strindex_find(const struct strindex *x, const char *key, size_t len)
{
	const struct slot *s;

	if (!x)
		return -1;
	s = slot_of(x, key, len, hash_of(key, len));
	return s->key ? (ssize_t)s->pos : -1;
}
