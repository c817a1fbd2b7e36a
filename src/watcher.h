/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/inotify.h>
#include <sys/stat.h>

/*
 * inotify, wrapped: owners (users, or the configuration) register the names in
 * directories they care about; an event on such a name touches its owners. Each
 * directory is watched once however many owners share it, and watches are added on
 * descriptors already checked (through /proc/self/fd), never on a path.
 */

struct watcher;

/* A registration under this name is touched by any name in its directory. */
#define WATCHER_ANY_NAME "*"

typedef void (*watcher_touch_fn)(void *userdata, size_t owner);
typedef void (*watcher_overflow_fn)(void *userdata);

int watcher_new(struct watcher **ret);
void watcher_free(struct watcher *w);
int watcher_fd(const struct watcher *w);

/*
 * Start a new set of registrations for OWNER (below 2^32); it replaces the old at
 * watcher_commit().
 */
void watcher_begin(struct watcher *w, size_t owner);
/*
 * Care about NAME in the directory open as DIRFD (NAME "" for the directory itself).
 * -ENOSPC when the kernel's watch limit is reached: the registration is dropped and
 * the caller falls back to periodic scans.
 */
int watcher_add(struct watcher *w, int dirfd, const char *name);
/* The same, with DIRFD's fstat() already at hand (ST may be NULL). */
int watcher_add_stat(struct watcher *w, int dirfd, const struct stat *st, const char *name);
/* The set replaces OWNER's old one; on failure (-ENOMEM), as watcher_abort(). */
int watcher_commit(struct watcher *w);
/* Drop the set being built: OWNER keeps the registrations it had before watcher_begin(). */
void watcher_abort(struct watcher *w);
/* Drop every registration of OWNER. */
void watcher_forget(struct watcher *w, size_t owner);

/* No new number: the owner's registrations are dropped (see watcher_remap()). */
#define WATCHER_NO_OWNER ((size_t)-1)

/*
 * Number the owners anew, keeping their registrations and watches: owner O becomes MAP[O]
 * (each MAP[O] distinct, below 2^32), or is forgotten when MAP[O] is WATCHER_NO_OWNER or O
 * is N_MAP or above. -ENOMEM changes nothing.
 */
int watcher_remap(struct watcher *w, const size_t *map, size_t n_map);

/*
 * The event at *OFF (0 at first) of BUF, N bytes as one read() of an inotify descriptor gave
 * them: 1 with its header copied to *EV (BUF need not be aligned), *NAME its name ("" when none)
 * and *OFF moved past it; 0 at the end; -EBADMSG when what is left is no whole event (a header
 * cut short, a name running past N or not ended by a NUL within its length).
 */
int watcher_next_event(const void *buf, size_t n, size_t *off, struct inotify_event *ev,
		       const char **name);
/*
 * The events of one read() (BUF, N bytes), as watcher_dispatch() reports them; what follows an
 * event that is not whole is passed over.
 */
void watcher_handle_events(struct watcher *w, const void *buf, size_t n, watcher_touch_fn touch,
			   watcher_overflow_fn overflow, void *userdata);

/* Read what is pending and report touched owners; a queue overflow calls OVERFLOW. */
int watcher_dispatch(struct watcher *w, watcher_touch_fn touch, watcher_overflow_fn overflow,
		     void *userdata);

size_t watcher_n_watches(const struct watcher *w);
size_t watcher_n_registrations(const struct watcher *w);
