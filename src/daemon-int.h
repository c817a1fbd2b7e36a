/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <systemd/sd-event.h>
#include "engine.h"
#include "keyindex.h"
#include "timespan.h"
#include "metricsd.h"
#include "sshdjournal.h"
#include "userstate.h"

/*
 * The daemon's state, shared by its files: daemon.c, the event loop (its sources, the
 * queues of users to heal, the heals), reload.c (a new configuration and user database
 * taken while it runs) and metricsd.c (its counters, written to the metrics file). Nothing
 * else includes this.
 */

/* A heal that failed for a cause that passes is tried again after this, then twice as long
 * each time, up to the longest (retry.c). */
#define RETRY_FIRST_USEC (1 * USEC_PER_SEC)
#define RETRY_MAX_USEC (60 * USEC_PER_SEC)

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
	sd_event_source *tails_sweep; /* tails to measure (new, lines not carried) or let go of */
	bool in_tails;		      /* in a dispatch or sweep of the tails */
	bool reload_pending;
	bool watch_limit;
	bool rescan_pending; /* an overflow's full rescan is under way: one is enough */
	uint64_t last_overflow;
	sd_event_source *rescan_again; /* the quiet follow-up of a storm's overflows */
	sd_event_source *retell;       /* the rate limit's next window: tell what it held back */
	sd_event_source *retry;	       /* users owe a retry (retry.c), armed only then */
	uint64_t retry_usec;	       /* ... after this long */
	unsigned long repairs;
	struct baseline baseline; /* recorded since last told */
	char last_status[256];
	struct sshdjournal *sshd_journal; /* sshd's refused logins, diagnosed ([Diagnose]) */
	struct metricsd *metrics;	  /* [Daemon] MetricsDirectory=; NULL when never set */
	sd_event_source *reindex; /* the key index's users healed since, read in idle time */
	struct keyindex *keys;	  /* whose keys files hold each key, for `why` */
	struct whyquery *query;	  /* its socket; NULL under --root */
};

/* Read sshd's journal or not, as [Diagnose] says now (at the start, at each reload); a reader
 * already running takes the new NoiseSummarySec=. */
void daemon_diagnose(struct daemon *d);

/* daemonaudit.c: the keys baseline, told once; user I's key audit (SIG: its keys files' signature
 * at its last run), now or queued for idle time (< 0: it cannot be, make it now); the rate
 * limit held back an entry of user I that is told once: told in its next window. */
void daemon_tell_baseline(struct daemon *d);
void daemon_audit_user(struct daemon *d, size_t i, uint64_t sig);
int daemon_queue_audit(struct daemon *d, size_t i);
int daemon_on_audit(sd_event_source *s, void *userdata);
void daemon_arm_retell(struct daemon *d, size_t i);

/* daemontails.c: follow the keys files REP says user I's key sync replaced (their fds taken). */
void daemon_follow_replaced(struct daemon *d, size_t i, struct user_report *rep);
/* The tails' inotify descriptor is readable; the tails' sweep is due. */
int daemon_on_tails(sd_event_source *s, int fd, uint32_t revents, void *userdata);
int daemon_on_tails_sweep(sd_event_source *s, uint64_t usec, void *userdata);

static inline int fifo_init(struct fifo *f, size_t cap)
{
	*f = (struct fifo){.v = calloc(cap, sizeof(*f->v)), .cap = cap};
	return f->v ? 0 : -ENOMEM;
}

static inline void fifo_push(struct fifo *f, size_t i)
{
	f->v[(f->head + f->n++) % f->cap] = i;
}

/* The K-th in line (0: the next one out). */
static inline size_t fifo_at(const struct fifo *f, size_t k)
{
	return f->v[(f->head + k) % f->cap];
}

static inline size_t fifo_pop(struct fifo *f)
{
	size_t i = f->v[f->head];

	f->head = (f->head + 1) % f->cap;
	f->n--;
	return i;
}

/* R, the result of the sd-event call WHAT: told as internal-error when it failed. */
int daemon_checked(int r, const char *what);
uint64_t daemon_now(const struct daemon *d);
void daemon_update_status(struct daemon *d);
/* Every user queued for a full pass, the drop-in directory looked up again. */
void daemon_enqueue_all(struct daemon *d);
/* The watcher's callback: watch NAME in DIRFD (ST its stat when known). */
int daemon_visit(void *userdata, int dirfd, const struct stat *st, const char *name);
int daemon_on_inotify(sd_event_source *s, int fd, uint32_t revents, void *userdata);
int daemon_on_backoff_end(sd_event_source *s, uint64_t usec, void *userdata);
int daemon_on_drain(sd_event_source *s, void *userdata);
/* An event touched user I: healed before what a full pass still has to do. */
void daemon_enqueue(struct daemon *d, size_t i);

/* retry.c */
/* User I's heal ended: OWED, it failed for a cause that passes, and is tried again soon. */
void retry_note(struct daemon *d, size_t i, bool owed);

/* reload.c */
/*
 * Take ENGINE (new users, configuration): every chain queued, the watches kept (the first
 * time, a new watcher). On failure nothing of D has changed and ENGINE is still the caller's.
 */
int reload_adopt(struct daemon *d, struct engine *engine);
/* Read the configuration and the user database again (WHY: SIGHUP, a change seen). */
void reload_run(struct daemon *d, const char *why);
/* The drain's deferred work: a reload a change asked for, then the queued heals. */
int reload_on_defer(sd_event_source *s, void *userdata);
/* Unknown sections and keys: a warning each, not the error of a value that stops a reload. */
void reload_log_warnings(const struct engine *e);
/* Forget D's users, their state and their places in the queues. */
void reload_drop_users(struct daemon *d);
