/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

/*
 * What every harness shares (fuzz-main.c): libFuzzer's entry points, a scratch root directory
 * made at start and removed at exit, and the slowest input, timed in CPU time (libFuzzer's own
 * report counts whole seconds): reported at exit, and an input slower than FUZZ_MAX_MS
 * milliseconds (environment) is a crash, which libFuzzer keeps.
 */

/* The harness's body: one input. */
void fuzz_one(const uint8_t *data, size_t size);

/* The scratch root: its path and an O_PATH descriptor of it. */
extern const char *fuzz_root;
extern int fuzz_rootfd;

/* A failed invariant is a crash, with the file and line of the check. */
#define FUZZ_ASSERT(x)                                                                             \
	do {                                                                                       \
		if (!(x)) {                                                                        \
			fprintf(stderr, "%s:%d: %s does not hold\n", __FILE__, __LINE__, #x);      \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* Write DATA to PATH below the scratch root (parents made 0755), root's, with MODE. */
void fuzz_write(const char *path, const void *data, size_t len, mode_t mode);
/* Remove PATH below the scratch root, if it is there. */
void fuzz_remove(const char *path);

/*
 * Cut DATA at its NUL bytes into at most MAX parts (the last takes the rest, NULs and all):
 * how one input becomes several files. Returns the number of parts.
 */
size_t fuzz_split(const uint8_t *data, size_t size, const uint8_t **parts, size_t *lens,
		  size_t max);

/*
 * Cut DATA as fuzz_split() does into at most N parts, and write part I to FILES[I] (0644); the
 * files no part is left for are removed.
 */
void fuzz_write_parts(const uint8_t *data, size_t size, const char *const *files, size_t n);
