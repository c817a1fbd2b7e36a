/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inotify event buffer of one read() (watcher_next_event(), watcher_handle_events()), on a
 * watcher with real watches of three directories of a scratch root (wd 1 to 3), registered anew
 * before every input as the daemon does after a walk (an IN_IGNORED of an input drops them):
 * only registered owners are touched, and the walk never leaves the buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "fuzz.h"
#include "watcher.h"

#define N_OWNERS 4

struct seen {
	size_t touched, overflows;
};

static void on_touch(void *userdata, size_t owner)
{
	struct seen *s = userdata;

	FUZZ_ASSERT(owner < N_OWNERS);
	s->touched++;
}

static void on_overflow(void *userdata)
{
	((struct seen *)userdata)->overflows++;
}

static void watch(struct watcher *w, size_t owner, const char *dir, const char *name)
{
	int fd = openat(fuzz_rootfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

	FUZZ_ASSERT(fd >= 0);
	watcher_begin(w, owner);
	FUZZ_ASSERT(watcher_add(w, fd, name) == 0);
	FUZZ_ASSERT(watcher_commit(w) == 0);
	close(fd);
}

void fuzz_one(const uint8_t *data, size_t size)
{
	struct inotify_event ev;
	const char *name;
	static struct watcher *w; /* closing an inotify descriptor waits for the kernel */
	struct seen seen = {0};
	size_t off = 0, events = 0;
	int r;

	while ((r = watcher_next_event(data, size, &off, &ev, &name)) > 0) {
		FUZZ_ASSERT(off <= size);
		FUZZ_ASSERT(strlen(name) < ev.len || (!ev.len && !*name));
		events++;
	}
	FUZZ_ASSERT(r == 0 || r == -EBADMSG);

	if (!w) {
		fuzz_write("home/alice/.ssh/authorized_keys", "", 0, 0600);
		FUZZ_ASSERT(watcher_new(&w) == 0);
	}
	watch(w, 0, "home/alice", ".ssh");
	watch(w, 1, "home/alice/.ssh", "authorized_keys");
	watch(w, 2, "home/alice/.ssh", WATCHER_ANY_NAME);
	watch(w, 3, "home", "");
	watcher_handle_events(w, data, size, on_touch, on_overflow, &seen);
	FUZZ_ASSERT(seen.overflows <= events);
}
