/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>
#include "audit.h"
#include "cli.h"
#include "daemon.h"
#include "engine.h"
#include "escape.h"
#include "events.h"
#include "journal.h"
#include "macro.h"
#include "report.h"
#include "safeio.h"
#include "strindex.h"
#include "strv.h"
#include "tails.h"
#include "timespan.h"
#include "userstate.h"
#include "watcher.h"

/* Overflows closer together than this are one storm: told once, and rescanned once more,
 * quietly, when the storm has passed. */
#define STORM_GAP_USEC (1ull * 1000000ull)
/* Users healed per loop iteration (some 100 us each), so that signals, the watchdog and the
 * heal an event asks for wait a few milliseconds at most behind a full pass. */
#define DRAIN_BATCH 64
/* Below events, signals and timers (SD_EVENT_PRIORITY_NORMAL), above the audits (IDLE). */
#define DRAIN_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 10)
/* One daemon per root: it holds a lock on this file in the root's state directory. A
 * daemon restarted while the old one still exits waits this long for it. */
#define LOCK_NAME "daemon.lock"
#define LOCK_WAIT_USEC (3 * USEC_PER_SEC)
#define LOCK_POLL_USEC (50 * USEC_PER_MSEC)
/* Watcher owner 0 is the configuration; user i is owner i + 1. */
#define OWNER_CONFIG 0

/* Users waiting for a heal, first come first served; each at most once (its flag). */
struct fifo {
	size_t *v;
	size_t cap, head, n;
};

struct daemon {
	sd_event *ev;
	const char *root;
	const char *config_path;
	struct engine *engine;
	struct watcher *w;
	const struct user **users;
	size_t n_users;
	struct ustate *du;
	struct fifo events, pass; /* users waiting for a heal: an event's first */
	size_t *audit_queue;	  /* users whose keys are audited once the scan is done */
	size_t n_audit;
	bool defer_audit;      /* a full scan before READY=1: audits wait */
	bool audit_on;	       /* the state is this machine's: there is a machine id */
	const char *reloading; /* why, while a reload's full pass runs (READY=1 when it ends) */
	sd_event_source *io, *drain, *audit, *rescan, *fallback;
	struct tails *tails; /* replaced keys files still written to */
	sd_event_source *tails_io;
	bool reload_pending;
	bool watch_limit;
	bool rescan_pending; /* an overflow's full rescan is under way: one is enough */
	uint64_t last_overflow;
	sd_event_source *rescan_again; /* the quiet follow-up of a storm's overflows */
	sd_event_source *retell;       /* the rate limit's next window: tell what it held back */
	unsigned long repairs;
	struct baseline baseline; /* recorded since last told */
	char last_status[256];
};

static uint64_t now_usec(const struct daemon *d)
{
	uint64_t t = 0;

	sd_event_now(d->ev, CLOCK_MONOTONIC, &t);
	return t;
}

/* STATUS=, sent only when it says something new (most heals are our own repair's echo). */
static void update_status(struct daemon *d)
{
	char status[256];

	snprintf(status, sizeof(status), "STATUS=watching %zu user%s, %zu path%s, %lu repair%s%s",
		 d->n_users, PLURAL(d->n_users), watcher_n_registrations(d->w),
		 PLURAL(watcher_n_registrations(d->w)), d->repairs, PLURAL(d->repairs),
		 d->watch_limit ? " (watch limit reached: scanning periodically)" : "");
	if (strcmp(status, d->last_status) == 0)
		return;
	memcpy(d->last_status, status, sizeof(status));
	sd_notify(0, status);
}

static int fifo_init(struct fifo *f, size_t cap)
{
	*f = (struct fifo){.v = calloc(cap, sizeof(*f->v)), .cap = cap};
	return f->v ? 0 : -ENOMEM;
}

static void fifo_push(struct fifo *f, size_t i)
{
	f->v[(f->head + f->n++) % f->cap] = i;
}

/* The K-th in line (0: the next one out). */
static size_t fifo_at(const struct fifo *f, size_t k)
{
	return f->v[(f->head + k) % f->cap];
}

static size_t fifo_pop(struct fifo *f)
{
	size_t i = f->v[f->head];

	f->head = (f->head + 1) % f->cap;
	f->n--;
	return i;
}

static size_t n_queued(const struct daemon *d)
{
	return d->events.n + d->pass.n;
}

/* An event touched user I: healed before what a full pass still has to do. */
static void enqueue(struct daemon *d, size_t i)
{
	if (d->du[i].touched)
		return;
	d->du[i].touched = true;
	fifo_push(&d->events, i);
	sd_event_source_set_enabled(d->drain, SD_EVENT_ON);
}

static void enqueue_all(struct daemon *d)
{
	/* A full pass looks the drop-in directory up again by its path. */
	engine_open_dropin(d->engine);
	for (size_t i = 0; i < d->n_users; i++)
		if (!d->du[i].queued) {
			d->du[i].queued = true;
			fifo_push(&d->pass, i);
		}
	sd_event_source_set_enabled(d->drain, SD_EVENT_ON);
}

static int visit(void *userdata, int dirfd, const struct stat *st, const char *name)
{
	struct daemon *d = userdata;
	int r = watcher_add_stat(d->w, dirfd, st, name);

	if (r == -ENOSPC) {
		if (!d->watch_limit) {
			d->watch_limit = true;
			events_watch_limit(d->engine->cfg.fallback_scan_usec);
			sd_event_source_set_enabled(d->fallback, SD_EVENT_ON);
		}
		return 0;
	}
	/* A directory gone between the check and the watch: the next event or scan sees it. */
	return r == -ENOENT || r == -ENOTDIR ? 0 : r;
}

static void arm_retell(struct daemon *d, size_t i);

static void tell_baseline(struct daemon *d)
{
	if (!d->baseline.users)
		return;
	events_baseline(d->baseline.users, d->baseline.keys);
	d->baseline = (struct baseline){0};
}

/* The key audit of user I, SIG its keys files' signature at its last run. */
static void audit_user(struct daemon *d, size_t i, uint64_t sig)
{
	if (!d->audit_on)
		return;
	ustate_audit(&d->du[i], d->engine, d->users[i], sig, &d->baseline);
	if (d->du[i].retell)
		arm_retell(d, i);
}

static int on_retell(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	(void)usec;
	d->retell = sd_event_source_unref(s);
	/* The count of what the window held back, now that it is over. */
	journal_flush();
	for (size_t i = 0; i < d->n_users; i++)
		if (d->du[i].retell) {
			d->du[i].retell = false;
			d->du[i].audited = false;
			enqueue(d, i);
		}
	return 0;
}

/* The rate limit held back an entry of user I that is told once: told in its next window. */
static void arm_retell(struct daemon *d, size_t i)
{
	d->du[i].retell = true;
	if (!d->retell)
		sd_event_add_time(d->ev, &d->retell, CLOCK_MONOTONIC, journal_window_end(), 0,
				  on_retell, d);
}

static int on_backoff_end(sd_event_source *s, uint64_t usec, void *userdata);

/* A user whose chain keeps drifting back: stop for a while, longer each time. */
static void flap_check(struct daemon *d, size_t i, const struct user_report *rep)
{
	struct ustate *u = &d->du[i];

	if (!ustate_flap(u, &d->engine->cfg, rep, now_usec(d)))
		return;
	u->backoff_timer = sd_event_source_unref(u->backoff_timer);
	sd_event_add_time(d->ev, &u->backoff_timer, CLOCK_MONOTONIC, u->backoff_until, 0,
			  on_backoff_end, d);
}

static int on_backoff_end(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	(void)usec;
	for (size_t i = 0; i < d->n_users; i++)
		if (d->du[i].backoff_timer == s) {
			d->du[i].backoff_timer = sd_event_source_unref(s);
			d->du[i].backoff_until = 0;
			enqueue(d, i);
			break;
		}
	return 0;
}

/* Keys files the sync replaced: lines written to them later are carried over. */
static void follow_replaced(struct daemon *d, size_t i, struct user_report *rep)
{
	for (size_t k = 0; k < rep->tails.n; k++) {
		int r = tails_add(d->tails, d->users[i]->name, rep->tails.t[k].fd,
				  rep->tails.t[k].offset);

		rep->tails.t[k].fd = -1;
		if (r < 0)
			events_internal_error(d->users[i]->name,
					      "%s: cannot follow the replaced keys file: %s",
					      d->users[i]->name, strerror(-r));
	}
	rep->tails.n = 0;
}

/* Heal user I: what an event touched (EVENT) has its keys audited at once, even while a
 * full pass defers the audits of the users it walks. */
static void heal_user(struct daemon *d, size_t i, bool event)
{
	struct user_report rep;
	int r;

	/* on_backoff_end queues it again; a change of its approved keys is synced now. */
	if (d->du[i].backoff_until > now_usec(d) &&
	    !ustate_approved_changed(&d->du[i], d->engine, d->users[i], now_usec(d)))
		return;
	watcher_begin(d->w, i + 1);
	r = engine_run_user(d->engine, d->users[i], ENGINE_FIX, visit, d, &rep);
	if (r < 0) {
		/* The watches it had stay; what this walk added before it failed goes. */
		watcher_abort(d->w);
		events_internal_error(d->users[i]->name, "%s: check failed: %s", d->users[i]->name,
				      strerror(-r));
		return;
	}
	watcher_commit(d->w);
	follow_replaced(d, i, &rep);
	for (size_t k = 0; k < rep.n_findings; k++)
		if (rep.findings[k].action == ACTION_FIXED &&
		    !problem_is_keys(rep.findings[k].problem))
			d->repairs++;
	ustate_tell_findings(&d->du[i], d->engine, &rep);
	ustate_tell_quarantined(&d->du[i], &rep);
	if (d->du[i].retell)
		arm_retell(d, i);
	/* A queued audit, when its turn comes, is of the keys files as they are now. */
	d->du[i].audit_sig = rep.keys_sig;
	if (d->defer_audit && !event) {
		if (!d->du[i].audit_queued) {
			d->du[i].audit_queued = true;
			d->audit_queue[d->n_audit++] = i;
			sd_event_source_set_enabled(d->audit, SD_EVENT_ON);
		}
	} else
		audit_user(d, i, rep.keys_sig);
	flap_check(d, i, &rep);
	user_report_done(&rep);
}

static int on_drain(sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;
	size_t n = n_queued(d) < DRAIN_BATCH ? n_queued(d) : DRAIN_BATCH;

	/* A batch runs in one go; a heal of one user walks its whole chain afresh. */
	if (n > 1)
		engine_pass_begin(d->engine);
	for (size_t k = 0; k < n; k++) {
		bool event = d->events.n > 0;
		size_t i;

		if (event) {
			i = fifo_pop(&d->events);
			d->du[i].touched = false;
		} else {
			i = fifo_pop(&d->pass);
			d->du[i].queued = false;
		}
		heal_user(d, i, event);
	}
	engine_pass_end(d->engine);
	if (n_queued(d) == 0) {
		const char *reloaded = d->reloading;

		sd_event_source_set_enabled(s, SD_EVENT_OFF);
		d->rescan_pending = false;
		if (reloaded) {
			d->reloading = NULL;
			d->defer_audit = false;
			events_reloaded(reloaded, d->n_users);
		}
		if (!d->n_audit)
			tell_baseline(d);
		update_status(d);
		if (reloaded)
			sd_notify(0, "READY=1");
	}
	return 0;
}

/*
 * The audits a full scan left for later, when nothing else is to do: one user a loop
 * iteration (a first audit writes the user's baseline, some 250 us here), so that an event
 * waits for one audit at most, not for a batch of them.
 */
static int on_audit(sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;
	size_t i;

	if (d->n_audit > 0) {
		i = d->audit_queue[--d->n_audit];
		d->du[i].audit_queued = false;
		audit_user(d, i, d->du[i].audit_sig);
	}
	if (d->n_audit == 0) {
		sd_event_source_set_enabled(s, SD_EVENT_OFF);
		tell_baseline(d);
		/* A full scan's passing allocations, handed back: the daemon idles small. */
		malloc_trim(0);
	}
	return 0;
}

static void on_touch(void *userdata, size_t owner)
{
	struct daemon *d = userdata;

	if (owner == OWNER_CONFIG) {
		d->reload_pending = true;
		sd_event_source_set_enabled(d->drain, SD_EVENT_ON);
		return;
	}
	if (owner - 1 < d->n_users)
		enqueue(d, owner - 1);
}

static int on_rescan_again(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	(void)usec;
	d->rescan_again = sd_event_source_unref(s);
	enqueue_all(d);
	return 0;
}

static void on_overflow(void *userdata)
{
	struct daemon *d = userdata;
	uint64_t now = now_usec(d);
	bool same_storm = d->last_overflow && now - d->last_overflow < STORM_GAP_USEC;

	d->last_overflow = now;
	if (same_storm) {
		/* One more pass once the storm has passed, not one per overflow. */
		if (!d->rescan_again)
			sd_event_add_time(d->ev, &d->rescan_again, CLOCK_MONOTONIC,
					  now + STORM_GAP_USEC, 0, on_rescan_again, d);
		return;
	}
	/* During a rescan, what this overflow lost may be in chains it walked already: they
	 * are queued again (told once). */
	if (!d->rescan_pending)
		events_rescan();
	d->rescan_pending = true;
	enqueue_all(d);
}

static int on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
	int r;

	(void)s;
	(void)fd;
	(void)revents;
	r = watcher_dispatch(d->w, on_touch, on_overflow, d);
	if (r < 0)
		events_internal_error(NULL, "reading inotify events failed: %s, ignoring",
				      strerror(-r));
	/* What this read coalesced is healed now, not one loop iteration later (a reload, which
	 * replaces this very source, waits for the deferred pass). */
	if (n_queued(d) && !d->reload_pending)
		return on_drain(d->drain, d);
	return 0;
}

/* Lines written to a keys file after we replaced it: into the new one they go. */
static int carry_lines(void *userdata, const char *user, const char *data, size_t len)
{
	struct daemon *d = userdata;
	struct tell_extra x = {0};
	struct user_report rep;
	size_t i;
	int r;

	for (i = 0; i < d->n_users && strcmp(d->users[i]->name, user) != 0; i++)
		;
	if (i == d->n_users)
		return 0; /* no longer a user we look after */
	r = engine_carry_keys(d->engine, d->users[i], data, len, &rep);
	if (r < 0) {
		events_internal_error(
		    user, "%s: lines written to the replaced keys file not carried over: %s", user,
		    strerror(-r));
		return r;
	}
	x.carried = len;
	x.share = &d->du[i].share;
	for (size_t k = 0; k < rep.n_findings; k++) {
		const struct finding *fi = &rep.findings[k];

		if (fi->problem != PROBLEM_KEYS)
			continue; /* the drop-ins and Exclusive= are told by the user's heal */
		events_finding(&rep, fi, true, &x);
		if (fi->action == ACTION_REFUSED || fi->action == ACTION_FAILED)
			r = -EIO;
	}
	ustate_tell_quarantined(&d->du[i], &rep);
	follow_replaced(d, i, &rep);
	user_report_done(&rep);
	return r;
}

static int on_tails(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct daemon *d = userdata;
	int r;

	(void)s;
	(void)fd;
	(void)revents;
	r = tails_dispatch(d->tails, carry_lines, d);
	if (r < 0)
		events_internal_error(NULL, "reading inotify events failed: %s, ignoring",
				      strerror(-r));
	return 0;
}

static int on_rescan(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	enqueue_all(d);
	sd_event_source_set_time_relative(s, s == d->fallback ? d->engine->cfg.fallback_scan_usec
							      : d->engine->cfg.rescan_usec);
	(void)usec;
	return 0;
}

static void watch_file(struct daemon *d, const char *path, bool any)
{
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int fd = -1;
	char *slash;

	if (!dir)
		return;
	if (any) {
		if (safe_open_in_root(d->engine->rootfd, dir, O_PATH | O_DIRECTORY, &fd) >= 0)
			visit(d, fd, NULL, WATCHER_ANY_NAME);
		return;
	}
	/* The name in its directory; a directory not there yet is watched for from the nearest
	 * one that is. */
	while ((slash = strrchr(dir, '/')) && slash[1]) {
		*slash = 0;
		if (safe_open_in_root(d->engine->rootfd, *dir ? dir : "/", O_PATH | O_DIRECTORY,
				      &fd) >= 0) {
			visit(d, fd, NULL, slash + 1);
			return;
		}
	}
}

/* passwd, group, sshd's configuration and ours: a change there reloads. */
static void watch_config(struct daemon *d)
{
	const struct engine *e = d->engine;

	watcher_begin(d->w, OWNER_CONFIG);
	watch_file(d, "/etc/passwd", false);
	watch_file(d, "/etc/group", false);
	watch_file(d, "/etc/login.defs", false);
	watch_file(d, SSHD_CONFIG_PATH, false);
	for (size_t i = 0; e->sshd.files && e->sshd.files[i]; i++)
		watch_file(d, e->sshd.files[i], false);
	for (size_t i = 0; e->sshd.include_dirs && e->sshd.include_dirs[i]; i++)
		watch_file(d, e->sshd.include_dirs[i], true);
	if (d->config_path) {
		/* An explicit --config is a path of the running system. */
		_cleanup_close_ int rootfd = -1;

		if (safe_open_root(NULL, &rootfd) >= 0) {
			int saved = d->engine->rootfd;

			d->engine->rootfd = rootfd;
			watch_file(d, d->config_path, false);
			d->engine->rootfd = saved;
		}
	} else {
		watch_file(d, CONFIG_PATH, false);
		watch_file(d, "/etc/sshmend", false);
		watch_file(d, CONFIG_DROPIN_DIR, true);
	}
	/* The drop-in directory made or removed: users' watches on it follow after the reload. */
	watch_file(d, e->cfg.dropin_dir, false);
	watcher_commit(d->w);
}

static void drop_users(struct daemon *d)
{
	for (size_t i = 0; i < d->n_users; i++)
		ustate_done(&d->du[i]);
	free(d->du);
	free(d->events.v);
	free(d->pass.v);
	free(d->audit_queue);
	free(d->users);
	d->du = NULL;
	d->events = d->pass = (struct fifo){0};
	d->audit_queue = NULL;
	d->users = NULL;
	d->n_users = d->n_audit = 0;
	if (d->audit)
		sd_event_source_set_enabled(d->audit, SD_EVENT_OFF);
}

/*
 * Where each of D's users is in USERS, ENGINE's selection (N of them), by name:
 * SIZE_MAX for one no longer there. NULL when memory is short.
 */
static size_t *map_users(const struct daemon *d, const struct engine *engine,
			 const struct user **users, size_t n)
{
	const struct userdb *db = engine->db;
	_cleanup_free_ size_t *at = malloc((db->n_users + 1) * sizeof(*at));
	size_t *moved = malloc((d->n_users + 1) * sizeof(*moved));

	if (!at || !moved) {
		free(moved);
		return NULL;
	}
	for (size_t k = 0; k < db->n_users; k++)
		at[k] = SIZE_MAX;
	for (size_t k = 0; k < n; k++)
		at[users[k] - db->users] = k;
	for (size_t i = 0; i < d->n_users; i++) {
		const struct user *u = userdb_by_name(db, d->users[i]->name);

		moved[i] = u ? at[u - db->users] : SIZE_MAX;
	}
	return moved;
}

/*
 * Number the watcher's owners as the new users (MOVED, from map_users()): a user keeps its
 * watches under its new index until its next walk, so that an event on its chain is seen
 * while a reload's pass has not reached it yet; a user no longer there loses them.
 */
static int renumber_owners(struct daemon *d, const size_t *moved)
{
	_cleanup_free_ size_t *map = malloc((d->n_users + 1) * sizeof(*map));

	if (!map)
		return -ENOMEM;
	map[OWNER_CONFIG] = OWNER_CONFIG;
	for (size_t i = 0; i < d->n_users; i++)
		map[i + 1] = moved[i] == SIZE_MAX ? WATCHER_NO_OWNER : moved[i] + 1;
	return watcher_remap(d->w, map, d->n_users + 1);
}

/*
 * What the old users' state carries into the new (DU, N of them; MOVED from map_users()):
 * a back-off, which rewriting /etc/passwd (chfn) must not end; a place in the queues, so
 * that what an event touched is still healed first and what a pass had not reached yet is
 * reached before what it had; an audit not yet made.
 */
static void carry_users(const struct daemon *d, const size_t *moved, struct ustate *du,
			struct fifo *events, struct fifo *pass, size_t *audit_queue,
			size_t *n_audit)
{
	for (size_t i = 0; i < d->n_users; i++)
		if (moved[i] != SIZE_MAX)
			ustate_carry(&du[moved[i]], &d->du[i]);
	for (size_t k = 0; k < d->events.n; k++) {
		size_t i = moved[fifo_at(&d->events, k)];

		if (i != SIZE_MAX && !du[i].touched) {
			du[i].touched = true;
			fifo_push(events, i);
		}
	}
	for (size_t k = 0; k < d->pass.n; k++) {
		size_t i = moved[fifo_at(&d->pass, k)];

		if (i != SIZE_MAX && !du[i].queued) {
			du[i].queued = true;
			fifo_push(pass, i);
		}
	}
	for (size_t k = 0; k < d->n_audit; k++) {
		size_t i = moved[d->audit_queue[k]];

		if (i != SIZE_MAX && !du[i].audit_queued) {
			du[i].audit_queued = true;
			du[i].audit_sig = d->du[d->audit_queue[k]].audit_sig;
			audit_queue[(*n_audit)++] = i;
		}
	}
}

/*
 * Take ENGINE (new users, configuration): every chain queued, the watches kept (the first
 * time, a new watcher). On failure nothing of D has changed and ENGINE is still the caller's.
 */
static int adopt(struct daemon *d, struct engine *engine)
{
	const struct user **users = NULL;
	_cleanup_free_ size_t *moved = NULL;
	size_t n, n_audit = 0;
	char err[512];
	struct ustate *du;
	size_t *audit_queue;
	struct fifo events = {0}, pass = {0};
	int r;

	r = engine_select_users(engine, NULL, &users, &n, err, sizeof(err));
	if (r < 0)
		return r;
	du = calloc(n + 1, sizeof(*du));
	audit_queue = calloc(n + 1, sizeof(*audit_queue));
	r = !du || !audit_queue || fifo_init(&events, n + 1) < 0 || fifo_init(&pass, n + 1) < 0
		? -ENOMEM
		: 0;
	if (r >= 0 && d->w) {
		moved = map_users(d, engine, users, n);
		r = moved ? renumber_owners(d, moved) : -ENOMEM;
	} else if (r >= 0) {
		r = watcher_new(&d->w);
		if (r >= 0 && (r = sd_event_add_io(d->ev, &d->io, watcher_fd(d->w), EPOLLIN,
						   on_inotify, d)) < 0) {
			watcher_free(d->w);
			d->w = NULL;
		}
	}
	if (r < 0) {
		free(du);
		free(audit_queue);
		free(events.v);
		free(pass.v);
		free(users);
		return r;
	}
	if (moved)
		carry_users(d, moved, du, &events, &pass, audit_queue, &n_audit);
	drop_users(d);
	engine_free(d->engine);
	d->engine = engine;
	d->users = users;
	d->n_users = n;
	d->du = du;
	d->audit_queue = audit_queue;
	d->n_audit = n_audit;
	d->events = events;
	d->pass = pass;
	for (size_t i = 0; i < n; i++) {
		if (!d->du[i].backoff_until)
			continue;
		if (d->du[i].backoff_until > now_usec(d))
			sd_event_add_time(d->ev, &d->du[i].backoff_timer, CLOCK_MONOTONIC,
					  d->du[i].backoff_until, 0, on_backoff_end, d);
		else
			d->du[i].backoff_until = 0;
	}
	if (n_audit)
		sd_event_source_set_enabled(d->audit, SD_EVENT_ON);
	/* The state of another machine (an image's) starts afresh; none without a machine id. */
	r = audit_state_bind(engine->rootfd, true);
	if (r < 0)
		events_internal_error(
		    NULL, "the key audit's state directory: %s; the audit records nothing",
		    strerror(-r));
	d->audit_on = r > 0;

	d->watch_limit = false;
	sd_event_source_set_enabled(d->fallback, SD_EVENT_OFF);
	watch_config(d);
	sd_event_source_set_time_relative(d->rescan, engine->cfg.rescan_usec);
	sd_event_source_set_time_relative(d->fallback, engine->cfg.fallback_scan_usec);
	enqueue_all(d);
	return 0;
}

/* A full scan and repair of every queued user; their key audits follow after. */
static void drain_all(struct daemon *d)
{
	d->defer_audit = true;
	while (n_queued(d))
		on_drain(d->drain, d);
	d->defer_audit = false;
}

/* Unknown sections and keys: a warning each, not the error of a value that stops a reload. */
static void log_config_warnings(const struct engine *e)
{
	for (size_t i = 0; e->cfg.warnings && e->cfg.warnings[i]; i++)
		events_config_warning(e->cfg.warnings[i]);
}

static void reload(struct daemon *d, const char *why)
{
	struct engine *e;
	char err[4200] = "";
	int r;

	sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu", (unsigned long long)now_usec(d));
	/* Watch the configuration anew before reading it (a directory made since is watched
	 * itself now): a write that lands while we read is seen. */
	watch_config(d);
	r = engine_open(d->root, d->config_path, &e, err, sizeof(err));
	if (r < 0) {
		events_config_error(*err ? err : strerror(-r));
	} else {
		log_config_warnings(e);
		r = adopt(d, e);
		if (r < 0) {
			engine_free(e);
			events_config_error(strerror(-r));
		} else {
			/* The full pass runs in the loop, events first; its end says READY=1. */
			d->reloading = why;
			d->defer_audit = true;
			return;
		}
	}
	update_status(d);
	/* A reload's pass still running says READY=1 when it ends, not before. */
	if (!d->reloading)
		sd_notify(0, "READY=1");
}

static int on_reload_defer(sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;

	(void)s;
	if (d->reload_pending) {
		d->reload_pending = false;
		reload(d, "configuration or user database changed");
	}
	return on_drain(d->drain, d);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;

	(void)s;
	if (si->ssi_signo == SIGHUP) {
		reload(d, "SIGHUP");
		return 0;
	}
	sd_notify(0, "STOPPING=1");
	events_stopping(si->ssi_signo, d->repairs);
	return sd_event_exit(d->ev, 0);
}

/*
 * Take the root's daemon lock into *RET (released when the process ends): -EBUSY, told on
 * stderr, when another daemon holds it after LOCK_WAIT_USEC.
 */
static int lock_root(int rootfd, const char *root, int *ret)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	int r = audit_state_dir(rootfd, true, &dfd);

	if (r >= 0) {
		fd = openat(dfd, LOCK_NAME, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
			    0600);
		r = fd < 0 ? negative_errno() : 0;
	}
	for (uint64_t waited = 0; r >= 0 && fcntl(fd, F_SETLK, &fl) < 0; waited += LOCK_POLL_USEC) {
		if (errno != EAGAIN && errno != EACCES)
			r = negative_errno();
		else if (waited >= LOCK_WAIT_USEC) {
			struct flock who = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
			char pid[32] = "";

			/* Its pid, when it is in our pid namespace. */
			if (fcntl(fd, F_GETLK, &who) == 0 && who.l_type != F_UNLCK && who.l_pid > 0)
				snprintf(pid, sizeof(pid), ", pid %ld,", (long)who.l_pid);
			escape_say("another sshmend daemon%s runs on %s (it holds %s/%s); "
				   "not starting",
				   pid, root ? root : "/", AUDIT_STATE_DIR, LOCK_NAME);
			return -EBUSY;
		} else
			usleep(LOCK_POLL_USEC);
	}
	if (r < 0) {
		escape_say("cannot lock %s/%s: %s", AUDIT_STATE_DIR, LOCK_NAME, strerror(-r));
		return r;
	}
	*ret = TAKE_FD(fd);
	return 0;
}

int daemon_run(const char *root, const char *config_path)
{
	struct daemon d = {.root = root, .config_path = config_path};
	struct engine *e = NULL;
	_cleanup_close_ int lock = -1;
	char err[4200] = "";
	sigset_t ss;
	int r;

	r = engine_open(root, config_path, &e, err, sizeof(err));
	if (r < 0) {
		escape_say("%s", *err ? err : strerror(-r));
		return CLI_EXIT_USAGE;
	}
	/* Two daemons on one root would fight over every repair and key sync. */
	r = lock_root(e->rootfd, root, &lock);
	if (r < 0) {
		engine_free(e);
		return r == -EBUSY ? CLI_EXIT_BUSY : CLI_EXIT_DRIFT;
	}
	log_config_warnings(e);
	for (size_t i = 0; e->db->warnings && e->db->warnings[i]; i++)
		escape_say("warning: %s", e->db->warnings[i]);

	sigemptyset(&ss);
	sigaddset(&ss, SIGTERM);
	sigaddset(&ss, SIGINT);
	sigaddset(&ss, SIGHUP);
	sigprocmask(SIG_BLOCK, &ss, NULL);

	r = sd_event_default(&d.ev);
	if (r >= 0)
		r = tails_new(&d.tails);
	if (r >= 0)
		r = sd_event_add_io(d.ev, &d.tails_io, tails_fd(d.tails), EPOLLIN, on_tails, &d);
	if (r >= 0)
		r = sd_event_add_signal(d.ev, NULL, SIGTERM, on_signal, &d);
	if (r >= 0)
		r = sd_event_add_signal(d.ev, NULL, SIGINT, on_signal, &d);
	if (r >= 0)
		r = sd_event_add_signal(d.ev, NULL, SIGHUP, on_signal, &d);
	if (r >= 0)
		r = sd_event_add_defer(d.ev, &d.drain, on_reload_defer, &d);
	/* A defer source stays pending while enabled, and would be dispatched before any event
	 * of its own priority for as long as a full pass lasts: events and signals go first. */
	if (r >= 0)
		r = sd_event_source_set_priority(d.drain, DRAIN_PRIORITY);
	if (r >= 0)
		r = sd_event_source_set_enabled(d.drain, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_defer(d.ev, &d.audit, on_audit, &d);
	if (r >= 0)
		r = sd_event_source_set_priority(d.audit, SD_EVENT_PRIORITY_IDLE);
	if (r >= 0)
		r = sd_event_source_set_enabled(d.audit, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_add_time_relative(d.ev, &d.rescan, CLOCK_MONOTONIC, e->cfg.rescan_usec,
					       0, on_rescan, &d);
	if (r >= 0)
		r = sd_event_source_set_enabled(d.rescan, SD_EVENT_ON);
	if (r >= 0)
		r = sd_event_add_time_relative(d.ev, &d.fallback, CLOCK_MONOTONIC,
					       e->cfg.fallback_scan_usec, 0, on_rescan, &d);
	if (r >= 0)
		r = sd_event_source_set_enabled(d.fallback, SD_EVENT_OFF);
	if (r >= 0)
		r = sd_event_set_watchdog(d.ev, true);
	if (r >= 0)
		r = adopt(&d, e);
	if (r < 0) {
		engine_free(e); /* not adopted */
		escape_say("cannot start: %s", strerror(-r));
		goto out;
	}
	/* READY=1 only after the first full scan and repair. */
	drain_all(&d);
	events_started(d.n_users, watcher_n_registrations(d.w), d.repairs);
	update_status(&d);
	sd_notify(0, "READY=1");

	r = sd_event_loop(d.ev);
out:
	drop_users(&d);
	sd_event_source_unref(d.io);
	sd_event_source_unref(d.drain);
	sd_event_source_unref(d.audit);
	sd_event_source_unref(d.tails_io);
	tails_free(d.tails);
	sd_event_source_unref(d.rescan);
	sd_event_source_unref(d.fallback);
	sd_event_source_unref(d.rescan_again);
	sd_event_source_unref(d.retell);
	watcher_free(d.w);
	engine_free(d.engine);
	sd_event_unref(d.ev);
	return r < 0 ? CLI_EXIT_DRIFT : CLI_EXIT_OK;
}
