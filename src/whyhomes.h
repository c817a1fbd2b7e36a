/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>

/* The directories that hold homes, each listed once (whyhomes.c). */
struct why_homes;

int why_homes_new(struct why_homes **ret);
void why_homes_free(struct why_homes *h);
static inline void why_homes_freep(struct why_homes **h)
{
	why_homes_free(*h);
}
/*
 * Is HOME (a path inside ROOTFD) known not to exist: its parent directory, listed once, does
 * not hold its name, or does not exist? false when that cannot be said (not listed: a home
 * directly under "/", one past the directories listed at most, a directory that cannot be
 * read): the caller looks, as it would without H.
 */
bool why_home_missing(struct why_homes *h, int rootfd, const char *home);
