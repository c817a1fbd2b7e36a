/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A reload: the configuration and the user database read again while the daemon runs, the
 * users' state and places in the queues carried over to the new users, the watches kept.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include "audit.h"
#include "daemon-int.h"
#include "events.h"
#include "journal.h"
#include "macro.h"
#include "notify.h"
#include "safeio.h"
#include "watcher.h"

static void watch_file(struct daemon *d, const char *path, bool any)
{
	_cleanup_free_ char *dir = strdup(path);
	_cleanup_close_ int fd = -1;
	char *slash;

	if (!dir)
		return;
	if (any) {
		if (safe_open_in_root(d->engine->rootfd, dir, O_PATH | O_DIRECTORY, &fd) >= 0)
			daemon_visit(d, fd, NULL, WATCHER_ANY_NAME);
		return;
	}
	/* The name in its directory; a directory not there yet is watched for from the nearest
	 * one that is. */
	while ((slash = strrchr(dir, '/')) && slash[1]) {
		*slash = 0;
		if (safe_open_in_root(d->engine->rootfd, *dir ? dir : "/", O_PATH | O_DIRECTORY,
				      &fd) >= 0) {
			daemon_visit(d, fd, NULL, slash + 1);
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

void reload_drop_users(struct daemon *d)
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
		daemon_checked(sd_event_source_set_enabled(d->audit, SD_EVENT_OFF),
			       "the audit queue");
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

/* The first time: the watcher, and its source in the loop. */
static int watcher_start(struct daemon *d)
{
	int r = watcher_new(&d->w);

	/* Without an inotify instance, nothing to read: the fallback scan does it all. */
	if (r >= 0 && watcher_fd(d->w) >= 0 &&
	    (r = sd_event_add_io(d->ev, &d->io, watcher_fd(d->w), EPOLLIN, daemon_on_inotify, d)) <
		0) {
		watcher_free(d->w);
		d->w = NULL;
	}
	return r;
}

/* The users just taken: their back-offs timed, the audit bound, every chain queued. */
static void users_start(struct daemon *d)
{
	int r;

	for (size_t i = 0; i < d->n_users; i++) {
		if (!d->du[i].backoff_until)
			continue;
		/* A back-off without its timer would never end: none, then. */
		if (d->du[i].backoff_until <= daemon_now(d) ||
		    daemon_checked(sd_event_add_time(d->ev, &d->du[i].backoff_timer,
						     CLOCK_MONOTONIC, d->du[i].backoff_until, 0,
						     daemon_on_backoff_end, d),
				   "a back-off's end") < 0)
			d->du[i].backoff_until = 0;
	}
	if (d->n_audit)
		daemon_checked(sd_event_source_set_enabled(d->audit, SD_EVENT_ON),
			       "the audit queue");
	/* The state of another machine (an image's) starts afresh; none without a machine id. */
	r = audit_state_bind(d->engine->rootfd, true);
	if (r < 0)
		events_internal_error(
		    NULL, "the key audit's state directory: %s; the audit records nothing",
		    strerror(-r));
	d->audit_on = r > 0;

	journal_set_limits(d->engine->cfg.log_burst, d->engine->cfg.log_user_burst,
			   d->engine->cfg.log_ceiling, d->engine->cfg.log_interval_usec);
	metricsd_configure(d);
	d->watch_limit = false;
	daemon_checked(sd_event_source_set_enabled(d->fallback, SD_EVENT_OFF), "the fallback scan");
	watch_config(d);
	daemon_checked(sd_event_source_set_time_relative(d->rescan, d->engine->cfg.rescan_usec),
		       "the periodic scan");
	daemon_checked(
	    sd_event_source_set_time_relative(d->fallback, d->engine->cfg.fallback_scan_usec),
	    "the fallback scan");
	daemon_enqueue_all(d);
}

/*
 * Take ENGINE (new users, configuration): every chain queued, the watches kept (the first
 * time, a new watcher). On failure nothing of D has changed and ENGINE is still the caller's.
 */
int reload_adopt(struct daemon *d, struct engine *engine)
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
	} else if (r >= 0)
		r = watcher_start(d);
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
	reload_drop_users(d);
	engine_free(d->engine);
	d->engine = engine;
	d->users = users;
	d->n_users = n;
	d->du = du;
	d->audit_queue = audit_queue;
	d->n_audit = n_audit;
	d->events = events;
	d->pass = pass;
	/* Every user unknown until its heal in the pass this queues reads its keys. */
	if (keyindex_reset(d->keys, engine, users, n) < 0)
		events_internal_error(NULL, "the index of keys: %s", strerror(ENOMEM));
	users_start(d);
	return 0;
}

/* Unknown sections and keys: a warning each, not the error of a value that stops a reload. */
void reload_log_warnings(const struct engine *e)
{
	for (size_t i = 0; e->cfg.warnings && e->cfg.warnings[i]; i++)
		events_config_warning(e->cfg.warnings[i]);
}

void reload_run(struct daemon *d, const char *why)
{
	struct engine *e;
	char err[4200] = "", msg[64];
	int r;

	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)daemon_now(d));
	notify_message(msg);
	/* Watch the configuration anew before reading it (a directory made since is watched
	 * itself now): a write that lands while we read is seen. */
	watch_config(d);
	r = engine_open(d->root, d->config_path, &e, err, sizeof(err));
	if (r < 0) {
		events_config_error(*err ? err : strerror(-r));
	} else {
		reload_log_warnings(e);
		r = reload_adopt(d, e);
		if (r < 0) {
			engine_free(e);
			events_config_error(strerror(-r));
		} else {
			daemon_diagnose(d);
			/* The full pass runs in the loop, events first; its end says READY=1. */
			d->reloading = why;
			d->defer_audit = true;
			return;
		}
	}
	daemon_update_status(d);
	/* A reload's pass still running says READY=1 when it ends, not before. */
	if (!d->reloading)
		notify_message("READY=1");
}

int reload_on_defer(_unused_ sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;

	if (d->reload_pending) {
		d->reload_pending = false;
		reload_run(d, "configuration or user database changed");
	}
	return daemon_on_drain(d->drain, d);
}
