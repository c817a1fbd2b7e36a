/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's event loop: its sources (inotify, the replaced keys files, signals, the
 * periodic scans), the queues of users to heal (what an event touched first, then what a full
 * pass still has to do, then the audits it left for later), and the heal of one user.
 */
#include <malloc.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-event.h>
#include "audit.h"
#include "cli.h"
#include "daemon-int.h"
#include "daemon.h"
#include "diagnose.h"
#include "engine.h"
#include "escape.h"
#include "events.h"
#include "journal.h"
#include "macro.h"
#include "metricsd.h"
#include "notify.h"
#include "rootlock.h"
#include "keysync.h"
#include "tails.h"
#include "timespan.h"
#include "userstate.h"
#include "watcher.h"
#include "whyquery.h"

/* Overflows closer together than this are one storm: told once, and rescanned once more,
 * quietly, when the storm has passed. */
#define STORM_GAP_USEC (1 * USEC_PER_SEC)
/* Users healed per loop iteration (some 100 us each), so that signals, the watchdog and the
 * heal an event asks for wait a few milliseconds at most behind a full pass. */
#define DRAIN_BATCH 64
/* Below events, signals and timers (SD_EVENT_PRIORITY_NORMAL), above the audits (IDLE). */
#define DRAIN_PRIORITY (SD_EVENT_PRIORITY_NORMAL + 10)
/* The journal's entries: after the heals, so that a storm's entries are sent once its chains
 * are healed; before the audits a full pass left for later. */
#define JOURNAL_PRIORITY (SD_EVENT_PRIORITY_IDLE - 1)
/* why's question: after every heal an event or a pass asks for, so that the index holds what
 * the keys files hold; before the journal's entries and the audits. */
#define QUERY_PRIORITY (DRAIN_PRIORITY + 1)
/* Users whose keys the index reads again per loop iteration, in idle time (some 15 us each). */
#define REINDEX_BATCH 64
/* Buffers this large or larger (a keys file read whole) are mapped apart and unmapped when
 * freed. glibc's own threshold rises to the largest such buffer freed so far, after which they
 * come from the heap, whose pages a freed buffer below a live allocation never leaves. */
#define MMAP_THRESHOLD (128 * 1024)
/* Stop on the first two, reload on the third. */
static const int signals[] = {SIGTERM, SIGINT, SIGHUP};

int daemon_checked(int r, const char *what)
{
	if (r < 0)
		events_internal_error(NULL, "%s: %s", what, strerror(-r));
	return r;
}

uint64_t daemon_now(const struct daemon *d)
{
	struct timespec ts;
	uint64_t t = 0;

	if (daemon_checked(sd_event_now(d->ev, CLOCK_MONOTONIC, &t), "the loop's time") >= 0)
		return t;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

/* STATUS=, when it says something new (most heals are our own repair's echo), at most once a
 * second (notify.c). */
void daemon_update_status(struct daemon *d)
{
	char status[256];

	snprintf(status, sizeof(status), "watching %zu user%s, %zu path%s, %lu repair%s%s",
		 d->n_users, PLURAL(d->n_users), watcher_n_registrations(d->w),
		 PLURAL(watcher_n_registrations(d->w)), d->repairs, PLURAL(d->repairs),
		 d->watch_limit ? " (watch limit reached: scanning periodically)" : "");
	if (strcmp(status, d->last_status) == 0)
		return;
	memcpy(d->last_status, status, sizeof(status));
	notify_status(status);
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
	daemon_checked(sd_event_source_set_enabled(d->drain, SD_EVENT_ON), "the heal queue");
}

void daemon_enqueue(struct daemon *d, size_t i)
{
	enqueue(d, i);
}

void daemon_enqueue_all(struct daemon *d)
{
	/* A full pass looks the drop-in directory up again by its path. */
	engine_open_dropin(d->engine);
	metricsd_scan_begins(d);
	for (size_t i = 0; i < d->n_users; i++)
		if (!d->du[i].queued) {
			d->du[i].queued = true;
			fifo_push(&d->pass, i);
		}
	daemon_checked(sd_event_source_set_enabled(d->drain, SD_EVENT_ON), "the heal queue");
}

int daemon_visit(void *userdata, int dirfd, const struct stat *st, const char *name)
{
	struct daemon *d = userdata;
	int r = watcher_add_stat(d->w, dirfd, st, name);

	if (r == -ENOSPC) {
		if (!d->watch_limit) {
			d->watch_limit = true;
			keyindex_set_blind(d->keys, true);
			events_watch_limit(d->engine->cfg.fallback_scan_usec, watcher_fd(d->w) < 0);
			daemon_checked(sd_event_source_set_enabled(d->fallback, SD_EVENT_ON),
				       "the fallback scan");
		}
		return 0;
	}
	/* A directory gone between the check and the watch: the next event or scan sees it. */
	return r == -ENOENT || r == -ENOTDIR ? 0 : r;
}

/*
 * User I, backed off: the watches of its chain go until the back-off ends (then it is walked,
 * and watched, again), so that a user who keeps changing it costs no event at all meanwhile.
 * Only its places in the drop-in directory stay watched: a change of its approved keys is
 * synced at once (heal_user()).
 */
static void mute_user(struct daemon *d, size_t i)
{
	keyindex_forget(d->keys, i);
	watcher_begin(d->w, i + 1);
	keysync_visit_dropin(d->engine, d->users[i], daemon_visit, d);
	watcher_commit(d->w);
}

/* A user whose chain keeps drifting back: stop for a while, longer each time. */
static void flap_check(struct daemon *d, size_t i, const struct user_report *rep)
{
	struct ustate *u = &d->du[i];

	if (ustate_flap(u, &d->engine->cfg, rep, daemon_now(d))) {
		u->backoff_timer = sd_event_source_unref(u->backoff_timer);
		/* No timer, no back-off: one that never ends would leave the user unhealed. */
		if (daemon_checked(sd_event_add_time(d->ev, &u->backoff_timer, CLOCK_MONOTONIC,
						     u->backoff_until, 0, daemon_on_backoff_end, d),
				   "a back-off's end") < 0)
			u->backoff_until = 0;
	}
	if (u->backoff_until > daemon_now(d))
		mute_user(d, i);
}

int daemon_on_backoff_end(sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	for (size_t i = 0; i < d->n_users; i++)
		if (d->du[i].backoff_timer == s) {
			d->du[i].backoff_timer = sd_event_source_unref(s);
			d->du[i].backoff_until = 0;
			enqueue(d, i);
			break;
		}
	return 0;
}

/* Heal user I: what an event touched (EVENT) has its keys audited at once, even while a
 * full pass defers the audits of the users it walks. */
static void heal_user(struct daemon *d, size_t i, bool event)
{
	struct user_report rep;
	unsigned long told = d->du[i].refused_told;
	int r;

	/* daemon_on_backoff_end queues it again; a change of its approved keys is synced now. */
	if (d->du[i].backoff_until > daemon_now(d) &&
	    !ustate_approved_changed(&d->du[i], d->engine, d->users[i])) {
		/* A pass after a reload, which watches anew: not the chain, still. */
		mute_user(d, i);
		return;
	}
	watcher_begin(d->w, i + 1);
	r = engine_run_user(d->engine, d->users[i], ENGINE_FIX, daemon_visit, d, &rep);
	if (r < 0) {
		/* The watches it had stay; what this walk added before it failed goes. */
		watcher_abort(d->w);
		events_internal_error(d->users[i]->name, "%s: check failed: %s", d->users[i]->name,
				      strerror(-r));
		keyindex_forget(d->keys, i);
		retry_note(d, i, error_may_pass(r));
		return;
	}
	watcher_commit(d->w);
	keyindex_stale(d->keys, i);
	if (d->reindex)
		daemon_checked(sd_event_source_set_enabled(d->reindex, SD_EVENT_ON),
			       "the key index");
	retry_note(d, i, rep.retry);
	daemon_follow_replaced(d, i, &rep);
	for (size_t k = 0; k < rep.n_findings; k++)
		if (rep.findings[k].action == ACTION_FIXED &&
		    !problem_is_keys(rep.findings[k].problem))
			d->repairs++;
	ustate_tell_findings(&d->du[i], d->engine, &rep);
	ustate_note_chain(&d->du[i], d->engine->db, &rep);
	ustate_tell_quarantined(&d->du[i], &rep);
	if (d->du[i].retell)
		daemon_arm_retell(d, i);
	/* A queued audit, when its turn comes, is of the keys files as they are now. */
	d->du[i].audit_sig = rep.keys_sig;
	if (!d->defer_audit || event || daemon_queue_audit(d, i) < 0)
		daemon_audit_user(d, i, rep.keys_sig);
	flap_check(d, i, &rep);
	metricsd_healed(d, i, &rep, told);
	user_report_done(&rep);
}

int daemon_on_drain(sd_event_source *s, void *userdata)
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

		daemon_checked(sd_event_source_set_enabled(s, SD_EVENT_OFF), "the heal queue");
		d->rescan_pending = false;
		if (reloaded) {
			d->reloading = NULL;
			d->defer_audit = false;
			events_reloaded(reloaded, d->n_users);
		}
		if (!d->n_audit)
			daemon_tell_baseline(d);
		metricsd_queue_empty(d);
		daemon_update_status(d);
		if (reloaded)
			notify_message("READY=1");
	}
	return 0;
}

/* The key index: the keys files of users healed since, read again in idle time. */
static int on_reindex(sd_event_source *s, void *userdata)
{
	struct daemon *d = userdata;

	if (keyindex_refresh(d->keys, REINDEX_BATCH) == 0)
		daemon_checked(sd_event_source_set_enabled(s, SD_EVENT_OFF), "the key index");
	return 0;
}

static void on_touch(void *userdata, size_t owner)
{
	struct daemon *d = userdata;

	if (owner == OWNER_CONFIG) {
		d->reload_pending = true;
		daemon_checked(sd_event_source_set_enabled(d->drain, SD_EVENT_ON),
			       "the heal queue");
		return;
	}
	if (owner - 1 < d->n_users)
		enqueue(d, owner - 1);
}

static int on_rescan_again(sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	d->rescan_again = sd_event_source_unref(s);
	daemon_enqueue_all(d);
	return 0;
}

static void on_overflow(void *userdata)
{
	struct daemon *d = userdata;
	uint64_t now = daemon_now(d);
	bool same_storm = d->last_overflow && now - d->last_overflow < STORM_GAP_USEC;

	d->last_overflow = now;
	/* What was lost may be a keys file's change: each user is read again at its heal. */
	keyindex_forget_all(d->keys);
	if (same_storm) {
		/* One more pass once the storm has passed, not one per overflow (failing: now). */
		if (!d->rescan_again &&
		    daemon_checked(sd_event_add_time(d->ev, &d->rescan_again, CLOCK_MONOTONIC,
						     now + STORM_GAP_USEC, 0, on_rescan_again, d),
				   "the rescan after a storm") < 0)
			daemon_enqueue_all(d);
		return;
	}
	/* During a rescan, what this overflow lost may be in chains it walked already: they
	 * are queued again (told once). */
	if (!d->rescan_pending)
		events_rescan();
	d->rescan_pending = true;
	daemon_enqueue_all(d);
}

int daemon_on_inotify(_unused_ sd_event_source *s, _unused_ int fd, _unused_ uint32_t revents,
		      void *userdata)
{
	struct daemon *d = userdata;
	int r;

	r = watcher_dispatch(d->w, on_touch, on_overflow, d);
	if (r < 0)
		events_internal_error(NULL, "reading inotify events failed: %s, ignoring",
				      strerror(-r));
	/* What this read coalesced is healed now, not one loop iteration later (a reload, which
	 * replaces this very source, waits for the deferred pass). */
	if (n_queued(d) && !d->reload_pending)
		return daemon_on_drain(d->drain, d);
	return 0;
}

static int on_rescan(sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	daemon_enqueue_all(d);
	daemon_checked(sd_event_source_set_time_relative(s, s == d->fallback
								? d->engine->cfg.fallback_scan_usec
								: d->engine->cfg.rescan_usec),
		       "the next periodic scan");
	return 0;
}

static int on_signal(_unused_ sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;

	if (si->ssi_signo == SIGHUP) {
		reload_run(d, "SIGHUP");
		return 0;
	}
	notify_message("STOPPING=1");
	events_stopping(si->ssi_signo, d->repairs);
	return daemon_checked(sd_event_exit(d->ev, 0), "stopping the loop");
}

/* A full scan and repair of every queued user; their key audits follow after. */
static void drain_all(struct daemon *d)
{
	d->defer_audit = true;
	while (n_queued(d))
		daemon_on_drain(d->drain, d);
	d->defer_audit = false;
}

/* A queue's defer source at PRIORITY, off until there is work. */
static int add_queue(struct daemon *d, sd_event_source **s, sd_event_handler_t fn, int64_t priority)
{
	int r = sd_event_add_defer(d->ev, s, fn, d);

	if (r >= 0)
		r = sd_event_source_set_priority(*s, priority);
	return r < 0 ? r : sd_event_source_set_enabled(*s, SD_EVENT_OFF);
}

/* A periodic scan every USEC, on (ENABLED) or not yet. */
static int add_scan(struct daemon *d, sd_event_source **s, uint64_t usec, int enabled)
{
	int r = sd_event_add_time_relative(d->ev, s, CLOCK_MONOTONIC, usec, 0, on_rescan, d);

	return r < 0 ? r : sd_event_source_set_enabled(*s, enabled);
}

/* The loop and its sources, but the watcher's (reload_adopt()): signals, queues, timers. */
static int add_sources(struct daemon *d, const struct engine *e)
{
	int r = sd_event_default(&d->ev);

	/* The index of keys answers why, on the running system only. */
	if (r >= 0 && !d->root)
		r = keyindex_new(&d->keys);
	/* Neither the journal nor the service manager ever blocks a heal. */
	if (r >= 0)
		r = notify_attach(d->ev);
	/* Without the journal's socket now, entries are sent as they were before. */
	if (r >= 0)
		(void)journal_attach(d->ev, JOURNAL_PRIORITY);
	if (r >= 0)
		r = tails_new(&d->tails);
	if (r >= 0 && tails_fd(d->tails) >= 0)
		r = sd_event_add_io(d->ev, &d->tails_io, tails_fd(d->tails), EPOLLIN,
				    daemon_on_tails, d);
	if (r >= 0)
		r = sd_event_add_time_relative(d->ev, &d->tails_sweep, CLOCK_MONOTONIC,
					       TAILS_SWEEP_USEC, 0, daemon_on_tails_sweep, d);
	if (r >= 0)
		r = sd_event_source_set_enabled(d->tails_sweep, SD_EVENT_OFF);
	for (size_t k = 0; r >= 0 && k < ELEMENTSOF(signals); k++)
		r = sd_event_add_signal(d->ev, NULL, signals[k], on_signal, d);
	/* A defer source stays pending while enabled, and would be dispatched before any event
	 * of its own priority for as long as a full pass lasts: events and signals go first. */
	if (r >= 0)
		r = add_queue(d, &d->drain, reload_on_defer, DRAIN_PRIORITY);
	if (r >= 0)
		r = add_queue(d, &d->audit, daemon_on_audit, SD_EVENT_PRIORITY_IDLE);
	if (r >= 0 && d->keys)
		r = add_queue(d, &d->reindex, on_reindex, SD_EVENT_PRIORITY_IDLE);
	if (r >= 0)
		r = add_scan(d, &d->rescan, e->cfg.rescan_usec, SD_EVENT_ON);
	if (r >= 0)
		r = add_scan(d, &d->fallback, e->cfg.fallback_scan_usec, SD_EVENT_OFF);
	return r < 0 ? r : sd_event_set_watchdog(d->ev, true);
}

static void free_sources(struct daemon *d)
{
	reload_drop_users(d);
	sshdjournal_free(d->sshd_journal);
	metricsd_free(d->metrics);
	sd_event_source_unref(d->io);
	sd_event_source_unref(d->drain);
	sd_event_source_unref(d->audit);
	sd_event_source_unref(d->reindex);
	sd_event_source_unref(d->tails_io);
	sd_event_source_unref(d->tails_sweep);
	tails_free(d->tails);
	sd_event_source_unref(d->rescan);
	sd_event_source_unref(d->fallback);
	sd_event_source_unref(d->rescan_again);
	sd_event_source_unref(d->retell);
	sd_event_source_unref(d->retry);
	whyquery_free(d->query);
	keyindex_free(d->keys);
	watcher_free(d->w);
	engine_free(d->engine);
	journal_detach();
	notify_detach();
	sd_event_unref(d->ev);
}

static int leftover_told(_unused_ void *userdata, const char *path)
{
	events_leftover(path);
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

	/* Fixed, so that the daemon's memory stays flat however large the keys files grow. */
	(void)mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
	r = engine_open(root, config_path, &e, err, sizeof(err));
	if (r < 0) {
		escape_say("%s", *err ? err : strerror(-r));
		return CLI_EXIT_USAGE;
	}
	/* Two daemons on one root would fight over every repair and key sync. */
	r = rootlock_take(e->rootfd, root, &lock);
	if (r < 0) {
		engine_free(e);
		return r == -EBUSY ? CLI_EXIT_BUSY : CLI_EXIT_DRIFT;
	}
	reload_log_warnings(e);
	for (size_t i = 0; e->db->warnings && e->db->warnings[i]; i++)
		escape_say("warning: %s", e->db->warnings[i]);
	sigemptyset(&ss);
	for (size_t k = 0; k < ELEMENTSOF(signals); k++)
		sigaddset(&ss, signals[k]);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	r = add_sources(&d, e);
	if (r >= 0)
		r = reload_adopt(&d, e);
	if (r < 0) {
		engine_free(e); /* not adopted */
		escape_say("cannot start: %s", strerror(-r));
		free_sources(&d);
		return CLI_EXIT_DRIFT;
	}
	/* READY=1 only after the first full scan and repair, which also removes what a killed
	 * daemon's key syncs left. */
	(void)audit_state_sweep(d.engine->rootfd, leftover_told, NULL);
	d.engine->sweep_leftovers = true;
	drain_all(&d);
	d.engine->sweep_leftovers = false;
	daemon_diagnose(&d);
	/* why's question, on the running system only: a --root is no system `why` runs on. */
	if (d.keys && (r = whyquery_start(d.ev, QUERY_PRIORITY, d.keys, &d.query)) < 0)
		events_internal_error(NULL, "%s: cannot answer sshmend why: %s", WHYQUERY_SOCKET,
				      strerror(-r));
	events_started(d.n_users, watcher_n_registrations(d.w), d.repairs);
	daemon_update_status(&d);
	notify_message("READY=1");
	r = daemon_checked(sd_event_loop(d.ev), "the event loop");
	free_sources(&d);
	return r < 0 ? CLI_EXIT_DRIFT : CLI_EXIT_OK;
}
