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
	metricsd_changed(d);
}

static int on_retell(sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

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
	/* Failing, the next entry held back tries again. */
	if (!d->retell)
		daemon_checked(sd_event_add_time(d->ev, &d->retell, CLOCK_MONOTONIC,
						 journal_window_end(), 0, on_retell, d),
			       "the rate limit's next window");
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

/* Keys files the sync replaced: lines written to them later are carried over. */
static int carry_lines(void *userdata, const char *user, const char *data, size_t len);

/* Tails pending, or to let go of (tails_sweep()): looked at a little later, from the loop. */
static void arm_sweep(struct daemon *d)
{
	uint64_t usec = tails_next_sweep(d->tails);

	if (!usec)
		return;
	if (daemon_checked(sd_event_source_set_time_relative(d->tails_sweep, usec),
			   "the tails' sweep") >= 0)
		(void)daemon_checked(sd_event_source_set_enabled(d->tails_sweep, SD_EVENT_ONESHOT),
				     "the tails' sweep");
}

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
	/* Measured now, so that none is still pending when the next rewrite makes room: a
	 * tail nobody writes to goes first, but only once it has been measured. Within a
	 * dispatch of the tails, from the loop. */
	if (!d->in_tails) {
		d->in_tails = true;
		(void)tails_sweep(d->tails, carry_lines, d);
		d->in_tails = false;
	}
	arm_sweep(d);
}

/* User I's audit, for when the scan is done: < 0 when it cannot wait (then it is made now). */
static int queue_audit(struct daemon *d, size_t i)
{
	if (d->du[i].audit_queued)
		return 0;
	if (daemon_checked(sd_event_source_set_enabled(d->audit, SD_EVENT_ON), "the audit queue") <
	    0)
		return -1;
	d->du[i].audit_queued = true;
	d->audit_queue[d->n_audit++] = i;
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
	if (keyindex_read_user(d->keys, d->engine, i) < 0)
		keyindex_forget(d->keys, i);
	retry_note(d, i, rep.retry);
	follow_replaced(d, i, &rep);
	for (size_t k = 0; k < rep.n_findings; k++)
		if (rep.findings[k].action == ACTION_FIXED &&
		    !problem_is_keys(rep.findings[k].problem))
			d->repairs++;
	ustate_tell_findings(&d->du[i], d->engine, &rep);
	ustate_note_chain(&d->du[i], d->engine->db, &rep);
	ustate_tell_quarantined(&d->du[i], &rep);
	if (d->du[i].retell)
		arm_retell(d, i);
	/* A queued audit, when its turn comes, is of the keys files as they are now. */
	d->du[i].audit_sig = rep.keys_sig;
	if (!d->defer_audit || event || queue_audit(d, i) < 0)
		audit_user(d, i, rep.keys_sig);
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
			tell_baseline(d);
		metricsd_queue_empty(d);
		daemon_update_status(d);
		if (reloaded)
			notify_message("READY=1");
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
		daemon_checked(sd_event_source_set_enabled(s, SD_EVENT_OFF), "the audit queue");
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

/* What the daemon did last to USER's chain, for the diagnosis of a StrictModes refusal. */
static void chain_note(void *userdata, const char *user, struct chain_note *ret)
{
	struct daemon *d = userdata;
	size_t i;

	for (i = 0; i < d->n_users && strcmp(d->users[i]->name, user) != 0; i++)
		;
	*ret = (struct chain_note){.looked_after = i < d->n_users};
	if (i == d->n_users)
		return;
	ret->usec = d->du[i].chain_usec;
	ret->refused = d->du[i].chain_refused;
	ret->what = d->du[i].chain_what ? d->du[i].chain_what : "";
}

void daemon_diagnose(struct daemon *d)
{
	int r;

	if (!sshdjournal_wanted(&d->engine->cfg, d->root)) {
		sshdjournal_free(d->sshd_journal);
		d->sshd_journal = NULL;
		return;
	}
	if (d->sshd_journal) {
		sshdjournal_set_summary(d->sshd_journal, d->engine->cfg.noise_summary_usec);
		return;
	}
	r = sshdjournal_start(d->ev, &d->engine, chain_note, d, &d->sshd_journal);
	if (r < 0)
		events_internal_error(NULL, "cannot read sshd's journal: %s", strerror(-r));
	if (d->sshd_journal)
		sshdjournal_on_refused(d->sshd_journal, metricsd_login_refused, d);
}

/* Lines written to a keys file after we replaced it: into the new one they go. */
static int carry_lines(void *userdata, const char *user, const char *data, size_t len)
{
	struct daemon *d = userdata;
	struct user_report rep;
	size_t i;
	int r;

	for (i = 0; i < d->n_users && strcmp(d->users[i]->name, user) != 0; i++)
		;
	if (i == d->n_users)
		return 0; /* no longer a user we look after */
	r = ustate_carry_lines(&d->du[i], d->engine, d->users[i], data, len, &rep);
	if (r < 0)
		return r;
	follow_replaced(d, i, &rep);
	user_report_done(&rep);
	return r > 0 ? -EIO : 0;
}

static int on_tails(_unused_ sd_event_source *s, _unused_ int fd, _unused_ uint32_t revents,
		    void *userdata)
{
	struct daemon *d = userdata;
	int r;

	d->in_tails = true;
	r = tails_dispatch(d->tails, carry_lines, d);
	d->in_tails = false;
	if (r < 0)
		events_internal_error(NULL, "reading inotify events failed: %s, ignoring",
				      strerror(-r));
	arm_sweep(d);
	return 0;
}

static int on_tails_sweep(_unused_ sd_event_source *s, _unused_ uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	d->in_tails = true;
	(void)tails_sweep(d->tails, carry_lines, d);
	d->in_tails = false;
	arm_sweep(d);
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
		r = sd_event_add_io(d->ev, &d->tails_io, tails_fd(d->tails), EPOLLIN, on_tails, d);
	if (r >= 0)
		r = sd_event_add_time_relative(d->ev, &d->tails_sweep, CLOCK_MONOTONIC,
					       TAILS_SWEEP_USEC, 0, on_tails_sweep, d);
	if (r >= 0)
		r = sd_event_source_set_enabled(d->tails_sweep, SD_EVENT_OFF);
	for (size_t k = 0; r >= 0 && k < ELEMENTSOF(signals); k++)
		r = sd_event_add_signal(d->ev, NULL, signals[k], on_signal, d);
	/* A defer source stays pending while enabled, and would be dispatched before any event
	 * of its own priority for as long as a full pass lasts: events and signals go first. */
	if (r >= 0)
		r = add_queue(d, &d->drain, reload_on_defer, DRAIN_PRIORITY);
	if (r >= 0)
		r = add_queue(d, &d->audit, on_audit, SD_EVENT_PRIORITY_IDLE);
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
