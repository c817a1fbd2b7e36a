/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stddef.h>
#include <sys/types.h>

/*
 * Keys files the key sync replaced, followed for a while: a user who opened
 * authorized_keys for appending before the rename (cat >>~/.ssh/authorized_keys, then a
 * key pasted) writes into the replaced file. Each is watched with inotify; whole lines
 * appended to it are handed back to be carried into the new file.
 *
 * How many are followed is bounded per user, so that no user can make room by syncing
 * their own file again and again at another user's cost: past TAILS_PER_USER a user's own
 * least recently active tail goes; past TAILS_MAX in all, the least recently active tail
 * of the user who holds the most.
 */

#define TAILS_PER_USER 8
#define TAILS_MAX 256

struct tails;

int tails_new(struct tails **ret);
void tails_free(struct tails *t);
int tails_fd(const struct tails *t);

/* Follow FD (taken, open for reading) of USER's keys file from OFFSET on. */
int tails_add(struct tails *t, const char *user, int fd, off_t offset);

/*
 * Read pending events; for each tail that grew by whole lines call GREW, and move the
 * tail past them when it returns >= 0 (else they are offered again at its next growth).
 */
typedef int (*tails_grew_fn)(void *userdata, const char *user, const char *data, size_t len);
int tails_dispatch(struct tails *t, tails_grew_fn grew, void *userdata);

size_t tails_count(const struct tails *t);
