/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdint.h>
#include <stdlib.h>
#include "watcher.h"

/*
 * The watcher's tables, shared by its files: watcher.c (the watches and the owners'
 * registrations) and watchevent.c (inotify's events read and handed to the owners). Nothing
 * else includes this.
 */

struct wdinfo {
	int wd;
	uint32_t refs; /* registrations naming this directory */
	dev_t dev;
	ino_t ino;
	struct wdinfo *next_wd, *next_ino;
};

/* Most registrations have one owner: it is kept inline, the rest in MORE. */
struct reg {
	struct wdinfo *dir;
	struct reg *next;
	uint32_t *more;
	uint32_t owner0;
	uint32_t n_owners, cap; /* cap: of MORE */
	char name[];
};

static inline size_t reg_owner(const struct reg *r, size_t i)
{
	return i == 0 ? r->owner0 : r->more[i - 1];
}

static inline void reg_set_owner(struct reg *r, size_t i, size_t owner)
{
	if (i == 0)
		r->owner0 = (uint32_t)owner;
	else
		r->more[i - 1] = (uint32_t)owner;
}

struct owner_regs {
	struct reg **regs;
	size_t n, cap;
};

struct watcher {
	int fd;
	bool no_instance; /* inotify_init1() found none left: FD is -1, no watch is added */
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

/* The watch of WD, or NULL. */
struct wdinfo *watcher_wd_lookup(const struct watcher *w, int wd);
/* Take D out of the tables and free it (its registrations are gone). */
void watcher_wd_unlink(struct watcher *w, struct wdinfo *d);
/* The registration of NAME in D, or NULL. */
struct reg *watcher_reg_lookup(const struct watcher *w, const struct wdinfo *d, const char *name);
