/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* NULL-terminated string vectors. */
size_t strv_length(char *const *l);
int strv_push(char ***l, const char *s);
/*
 * Append a copy of the LEN bytes at S to *L, of *N strings, built by strv_append() alone (or
 * NULL): the caller keeps the count, and the room doubles, so that a long list costs no more
 * than its length to build (strv_push() walks the list each time).
 */
int strv_append(char ***l, size_t *n, const char *s, size_t len);
int strv_push_unique(char ***l, const char *s);
bool strv_contains(char *const *l, const char *s);
void strv_free(char **l);
int strv_split_ws(char ***ret, const char *s);

static inline void strv_freep(char ***l)
{
	strv_free(*l);
}
