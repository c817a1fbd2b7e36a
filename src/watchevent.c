/* SPDX-License-Identifier: Apache-2.0 */
/*
 * inotify's events, read and handed to the owners they touch: a queue overflow (each owner
 * looks again), a watch the kernel dropped with its directory, a name that changed.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "macro.h"
#include "watcher-int.h"

static void drop_wd(struct watcher *w, struct wdinfo *d, watcher_touch_fn touch, void *userdata)
{
	/* The kernel dropped the watch (the directory is gone): its owners look again. */
	for (size_t b = 0; b < w->n_reg_buckets && d; b++)
		for (struct reg *r = w->regs[b], *n; r; r = n) {
			n = r->next;
			if (r->dir != d)
				continue;
			for (size_t i = 0; i < r->n_owners; i++) {
				struct owner_regs *o = reg_owner(r, i) < w->n_owners
							   ? &w->owners[reg_owner(r, i)]
							   : NULL;

				touch(userdata, reg_owner(r, i));
				for (size_t k = 0; o && k < o->n; k++)
					if (o->regs[k] == r) {
						o->regs[k] = o->regs[--o->n];
						break;
					}
			}
			r->n_owners = 0;
			free(r->more);
			r->more = NULL;
			{
				struct reg **p;

				for (p = &w->regs[b]; *p; p = &(*p)->next)
					if (*p == r) {
						*p = r->next;
						break;
					}
			}
			free(r);
			w->n_regs--;
			d->refs--;
		}
	if (d)
		watcher_wd_unlink(w, d);
}

static void touch_reg(const struct reg *r, watcher_touch_fn touch, void *userdata)
{
	for (size_t i = 0; r && i < r->n_owners; i++)
		touch(userdata, reg_owner(r, i));
}

int watcher_next_event(const void *buf, size_t n, size_t *off, struct inotify_event *ev,
		       const char **name)
{
	const char *p = (const char *)buf + *off;
	size_t left = n - *off;

	if (*off >= n)
		return 0;
	if (left < sizeof(*ev))
		return -EBADMSG;
	memcpy(ev, p, sizeof(*ev));
	if (ev->len > left - sizeof(*ev) || (ev->len && p[sizeof(*ev) + ev->len - 1] != 0))
		return -EBADMSG;
	*name = ev->len ? p + sizeof(*ev) : "";
	*off += sizeof(*ev) + ev->len;
	return 1;
}

void watcher_handle_events(struct watcher *w, const void *buf, size_t n, watcher_touch_fn touch,
			   watcher_overflow_fn overflow, void *userdata)
{
	struct inotify_event ev;
	const char *name;

	for (size_t off = 0; watcher_next_event(buf, n, &off, &ev, &name) > 0;) {
		struct wdinfo *d;

		if (ev.mask & IN_Q_OVERFLOW) {
			overflow(userdata);
			continue;
		}
		d = watcher_wd_lookup(w, ev.wd);
		if (!d)
			continue;
		if (ev.mask & IN_IGNORED) {
			drop_wd(w, d, touch, userdata);
			continue;
		}
		touch_reg(watcher_reg_lookup(w, d, name), touch, userdata);
		if (*name)
			touch_reg(watcher_reg_lookup(w, d, WATCHER_ANY_NAME), touch, userdata);
	}
}

int watcher_dispatch(struct watcher *w, watcher_touch_fn touch, watcher_overflow_fn overflow,
		     void *userdata)
{
	char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));

	for (;;) {
		ssize_t n = read(w->fd, buf, sizeof(buf));

		if (n < 0) {
			if (errno == EAGAIN)
				return 0;
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		watcher_handle_events(w, buf, (size_t)n, touch, overflow, userdata);
		/* A short read took all there was: what comes later wakes the loop again (the
		 * descriptor is polled level-triggered), and the heal need not wait for a read
		 * that finds nothing. */
		if ((size_t)n < sizeof(buf) / 2)
			return 0;
	}
}
