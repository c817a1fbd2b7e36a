/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>

/*
 * PubkeyAcceptedAlgorithms as sshd assembles it (kex_assemble_names()): a list of names and
 * patterns, or one that begins with '+' (appended to the default), '-' (taken from it) or
 * '^' (put before it).
 */

/* Split a comma- or newline-separated LIST into a vector; KEEP_EMPTY keeps empty names. */
int sshd_algorithms_split(const char *list, bool keep_empty, char ***ret);

/* Is every name of the list NAMES one of ALL, or a pattern that matches one? */
bool sshd_algorithms_valid(const char *names, char *const *all);

/*
 * The accepted list from RAW (NULL: not set) against the default DEF and every name ALL:
 * the patterns of the result expand to the names of ALL they match, in ALL's order.
 * -EINVAL for a list sshd refuses.
 */
int sshd_algorithms_assemble(const char *raw, char *const *def, char *const *all, char ***ret);
