/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Keys files the key sync replaced, followed for a while: a user who opened
 * authorized_keys for appending before the rename (cat >>~/.ssh/authorized_keys, then a
 * key pasted) writes into the replaced file. Each is watched with inotify; whole lines
 * appended to it are handed back to be carried into the new file.
 *
 * How many are followed is bounded per user, so that no user can make room by syncing
 * their own file again and again at another user's cost: past TAILS_PER_USER a user's own
 * tail goes, among those with nothing left to carry: the least recently active nobody holds
 * open for writing any more, else the least recently active still held open. One with lines
 * still to carry (written just now, their events not read yet) is never let go of for that
 * bound: the user holds more until they are carried. Past TAILS_MAX in all, one of the user
 * who holds the most.
 *
 * Most never reach a bound: a replaced file that can take no more lines (no name left, nobody
 * else holds it open, all it holds carried) is let go of once followed TAILS_SETTLE_USEC. That
 * nobody holds it is told by a lease: without CAP_LEASE (on a file not root's) or on a file
 * system without leases, files are let go of only to make room.
 */

#define TAILS_PER_USER 8
#define TAILS_MAX 256
/* How soon a sweep looks again at tails still pending (tails_sweep()). */
#define TAILS_SWEEP_USEC (50 * 1000)
/*
 * How long a replaced keys file is followed at the least: an append that found the file just
 * before it was replaced may be opening it still. Past that, one that can take no more lines
 * is let go of (tails_sweep()); one still held open is looked at again as long after.
 */
#define TAILS_SETTLE_USEC (2 * 1000 * 1000)
/*
 * Lines the keys file could not take (refused, missing, a write that failed) stay in the tail
 * and are offered again: after TAILS_RETRY_USEC, then twice as long each time up to
 * TAILS_RETRY_MAX_USEC, and at once when the tail grows again.
 */
#define TAILS_RETRY_USEC (1000 * 1000)
#define TAILS_RETRY_MAX_USEC (60 * 1000 * 1000)

struct tails;

int tails_new(struct tails **ret);
void tails_free(struct tails *t);
int tails_fd(const struct tails *t);

/* Follow FD (taken, open for reading) of USER's keys file from OFFSET on. */
int tails_add(struct tails *t, const char *user, int fd, off_t offset);

/*
 * Read pending events; for each tail that grew by whole lines call GREW, and move the
 * tail past them when it returns >= 0 (else they are offered again at its next growth).
 * A tail whose writer closed it is let go of when it can take no more lines (tails_sweep()).
 */
typedef int (*tails_grew_fn)(void *userdata, const char *user, const char *data, size_t len);
int tails_dispatch(struct tails *t, tails_grew_fn grew, void *userdata);

/*
 * Measure every pending tail once: one just added (what was appended to it before its watch
 * came sends no event) and one whose lines GREW did not take. And let go of each followed
 * TAILS_SETTLE_USEC that can take no more lines: no longer at its path (nobody can open it
 * again), nobody else holds it open, and all it holds carried (its last line too, newline or
 * not). Returns how many are pending still (added meanwhile, or not taken again).
 */
size_t tails_sweep(struct tails *t, tails_grew_fn grew, void *userdata);
size_t tails_pending(const struct tails *t);
/*
 * In how many microseconds tails_sweep() is due: TAILS_SWEEP_USEC with tails pending, else
 * when the first replaced file comes of age, or TAILS_SETTLE_USEC while one is held open
 * still. 0 when no tail is left to let go of (or none can be told to be held no more): then
 * nothing needs the loop to wake.
 */
uint64_t tails_next_sweep(const struct tails *t);

size_t tails_count(const struct tails *t);
