/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/*
 * An index of strings, hashed: finding one costs the same however many there are, so that
 * comparing two lists (the keys in a file, the fingerprints remembered) grows with their sum,
 * not their product. It holds pointers to the caller's text, which must outlive it.
 */
struct strindex;

int strindex_new(struct strindex **ret);
void strindex_free(struct strindex *x);

/*
 * Index KEY (LEN bytes) under POS. 1 when added, 0 when KEY was there already (its first POS
 * stays), -ENOMEM.
 */
int strindex_add(struct strindex *x, const char *key, size_t len, size_t pos);

/* The POS KEY (LEN bytes) was added with, or -1. X may be NULL: an empty index. */
ssize_t strindex_find(const struct strindex *x, const char *key, size_t len);
