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
#include "journal.h"
#include "macro.h"
#include "report.h"
#include "safeio.h"
#include "strindex.h"
#include "strv.h"
#include "tails.h"
#include "timespan.h"
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
/* A user in back-off: how often, at most, an event has its approved keys looked at, so that a
 * drop-in change (a revocation) is synced at its event, or at the fight's next one within this
 * long, not after the back-off. */
#define APPROVED_CHECK_USEC (1 * USEC_PER_SEC)
/* Watcher owner 0 is the configuration; user i is owner i + 1. */
#define OWNER_CONFIG 0

struct duser {
	bool queued;   /* in the queue of a full pass */
	bool touched;  /* in the queue of users an event touched */
	bool flapping; /* told once per episode */
	uint64_t last_repair;
	uint64_t audited_sig; /* keys files as they were at the last audit */
	bool audited;
	bool audit_queued;
	uint64_t audit_sig; /* what the queued audit is of */
	unsigned flap_count;
	uint64_t flap_window_start;
	uint64_t backoff_until;
	uint64_t backoff_len;
	sd_event_source *backoff_timer;
	char *logged;		    /* refused/failed findings already told, to tell each once */
	struct journal_share share; /* what this user's entries had of the rate limit */
	bool retell;		    /* the rate limit held back something told once */
	bool approved_known;	    /* APPROVED_SIG is the approved set at the last heal */
	uint64_t approved_sig;
	uint64_t approved_checked; /* when, in back-off, it was last looked at */
	int audit_state_told;	   /* the audit's state at a limit, as told (tell_audit_state()) */
};

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
	struct duser *du;
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
	unsigned long baseline_users, baseline_keys; /* recorded since last told */
	char last_status[256];
};

static uint64_t now_usec(const struct daemon *d)
{
	uint64_t t = 0;

	sd_event_now(d->ev, CLOCK_MONOTONIC, &t);
	return t;
}

static void log_simple(enum event_kind k, int prio, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void log_simple(enum event_kind k, int prio, const char *fmt, ...)
{
	char msg[4096];
	va_list ap;
	struct event e = {.kind = k, .priority = prio, .message = msg, .sshd_refused = -1};

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	journal_log(&e);
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
			char every[64];

			d->watch_limit = true;
			log_simple(EVENT_WATCH_LIMIT, LOG_WARNING,
				   "inotify watch limit reached (fs.inotify.max_user_watches); "
				   "keeping the watches there are and scanning every %s",
				   timespan_format(d->engine->cfg.fallback_scan_usec, every,
						   sizeof(every)));
			sd_event_source_set_enabled(d->fallback, SD_EVENT_ON);
		}
		return 0;
	}
	/* A directory gone between the check and the watch: the next event or scan sees it. */
	return r == -ENOENT || r == -ENOTDIR ? 0 : r;
}

/* Has LINE been told, one of the lines of TOLD? */
static bool told_before(const char *told, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = told; (p = strstr(p, line)); p++)
		if ((p == told || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

/*
 * What identifies a drop-in line or file told about, TEXT ("FILE:LINE: why" or "FILE: why"):
 * KIND, the text and the identity and modification time of FILE, so that it is told again
 * when the file changes, not on every heal of the user.
 */
static void told_dropin(const struct daemon *d, const char *kind, const char *text, char *buf,
			size_t len)
{
	_cleanup_free_ char *path = strndup(text, strcspn(text, ":"));
	_cleanup_close_ int fd = -1;
	struct stat st = {0};

	if (path && safe_open_in_root(d->engine->rootfd, path, O_PATH, &fd) >= 0)
		(void)fstat(fd, &st);
	snprintf(buf, len, "%s %lx:%lx:%lld.%09ld %s", kind, (unsigned long)st.st_dev,
		 (unsigned long)st.st_ino, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec, text);
}

/* L's strings joined by spaces (malloc'd), or NULL when L is empty or memory short. */
static char *join_ws(char *const *l)
{
	size_t n = 0;
	char *out, *p;

	for (size_t k = 0; l && l[k]; k++)
		n += strlen(l[k]) + 1;
	if (!n || !(out = malloc(n)))
		return NULL;
	p = out;
	for (size_t k = 0; l[k]; k++)
		p += sprintf(p, "%s%s", k ? " " : "", l[k]);
	return out;
}

/*
 * The approved keys a sync added to and removed from U's keys files, as space-separated
 * fingerprints (malloc'd; NULL for none): what is approved there now against what the key
 * audit last recorded as approved, before it has seen the sync.
 */
static void synced_keys(const struct daemon *d, const struct user *u, char **added, char **removed)
{
	_cleanup_(strv_freep) char **state = NULL, **now = NULL, **gone = NULL;
	_cleanup_(strv_freep) char **gained = NULL;
	struct strindex *index = NULL;
	struct key_list l = {0};

	*added = *removed = NULL;
	if (audit_state_load(d->engine->rootfd, u->name, &state) < 0 ||
	    audit_state_index(state, &index) < 0)
		return;
	if (engine_list_keys(d->engine, u, state, &l) < 0) {
		strindex_free(index);
		return;
	}
	for (size_t k = 0; k < l.n; k++)
		if (l.e[k].fingerprint && l.e[k].status == KEY_APPROVED &&
		    (strv_push_unique(&now, l.e[k].fingerprint) < 0 ||
		     (audit_state_status(state, index, l.e[k].fingerprint, NULL) != KEY_APPROVED &&
		      strv_push_unique(&gained, l.e[k].fingerprint) < 0)))
			break;
	key_list_done(&l);
	for (char **s = state; s && *s; s++) {
		_cleanup_free_ char *fp = strndup(*s, strcspn(*s, " "));

		if (fp && audit_state_status(state, index, fp, NULL) == KEY_APPROVED &&
		    !strv_contains(now, fp) && strv_push_unique(&gone, fp) < 0)
			break;
	}
	strindex_free(index);
	*added = join_ws(gained);
	*removed = join_ws(gone);
}

static void tell_synced(struct daemon *d, size_t i, const struct user_report *rep, const char *path)
{
	_cleanup_free_ char *added = NULL, *removed = NULL;
	char msg[4600];
	struct event e = {.kind = EVENT_KEYS_SYNCED,
			  .priority = LOG_NOTICE,
			  .message = msg,
			  .user = rep->user->name,
			  .path = path,
			  .sshd_refused = -1,
			  .share = &d->du[i].share};

	synced_keys(d, rep->user, &added, &removed);
	e.fingerprints_added = added;
	e.fingerprints_removed = removed;
	snprintf(msg, sizeof(msg), "%s: %s now holds the %zu approved key%s%s%s%s%s",
		 rep->user->name, path, rep->n_approved, PLURAL(rep->n_approved),
		 added ? "; added " : "", added ? added : "", removed ? "; removed " : "",
		 removed ? removed : "");
	journal_log(&e);
}

static void arm_retell(struct daemon *d, size_t i);

static void tell_findings(struct daemon *d, size_t i, const struct user_report *rep)
{
	const char *told = d->du[i].logged ? d->du[i].logged : "";
	_cleanup_free_ char *sig = NULL, *kept = NULL;
	const char *not_applied = NULL;
	size_t siglen = 0, keptlen = 0, n_kept = 0;
	bool kept_new = false;
	char key[4600];
	FILE *f, *fk;

	/* Nothing found, nothing told before: the usual case, at every start. */
	if (!rep->n_findings && !d->du[i].logged)
		return;
	/* Refusals, failures and drop-in rejections are told once, not on every heal: SIG is
	 * what is told now or was before, one line each, and what is in TOLD already is not
	 * told again. What the rate limit holds back is not in it: it is told later. KEPT is
	 * the keys Exclusive= leaves, told in one entry. */
	f = open_memstream(&sig, &siglen);
	fk = open_memstream(&kept, &keptlen);
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *fi = &rep->findings[k];
		char old_owner[64], new_owner[64], msg[4600];
		struct event e = {
		    .user = rep->user->name,
		    .path = fi->path,
		    .sshd_refused = !rep->sshd_accepts,
		    .problem = problem_to_string(fi->problem),
		    .reason = fi->reason,
		    .message = msg,
		    .share = &d->du[i].share,
		};

		if (fi->action == ACTION_FIXED && fi->problem == PROBLEM_KEYS) {
			tell_synced(d, i, rep, fi->path);
			continue;
		}
		if (fi->action == ACTION_FIXED && fi->problem == PROBLEM_UNAPPROVED_KEY)
			continue; /* tell_quarantined() */
		if (fi->action == ACTION_FIXED) {
			char change[200];

			e.kind = EVENT_DRIFT_REPAIRED;
			e.priority = rep->sshd_accepts ? LOG_NOTICE : LOG_WARNING;
			e.has_modes = true;
			e.old_mode = fi->found.st_mode & 07777;
			e.new_mode = fi->has_final ? fi->final_mode : fi->exp_mode;
			report_owner_name(d->engine->db, fi->found.st_uid, old_owner,
					  sizeof(old_owner));
			report_owner_name(d->engine->db,
					  fi->has_final ? fi->final_uid : fi->exp_uid, new_owner,
					  sizeof(new_owner));
			e.old_owner = old_owner;
			e.new_owner = new_owner;
			e.old_label = fi->cur_label;
			e.new_label = fi->exp_label;
			/* What changed, and only that: no "owner alice -> alice". */
			report_change(d->engine->db, fi, change, sizeof(change));
			snprintf(msg, sizeof(msg), "%s: repaired %s%s%s%s%s", rep->user->name,
				 fi->path, *change ? ": " : "", change,
				 fi->sshd_message ? "; sshd refused: " : "",
				 fi->sshd_message ? fi->sshd_message : "");
			journal_log(&e);
			continue;
		}
		if (!f || !fk || (fi->action != ACTION_REFUSED && fi->action != ACTION_FAILED))
			continue;
		if (fi->problem == PROBLEM_DROPIN) {
			/* Told again when the file changes, not on every heal of the user. */
			char text[4400];

			if (fi->lineno)
				snprintf(text, sizeof(text), "%s:%u: %s", fi->path, fi->lineno,
					 fi->reason ? fi->reason : "");
			else
				snprintf(text, sizeof(text), "%s: %s", fi->path,
					 fi->reason ? fi->reason : "");
			told_dropin(d, "dropin", text, key, sizeof(key));
		} else {
			snprintf(key, sizeof(key), "%s|%d|%d|%s", fi->path, fi->problem, fi->action,
				 fi->fingerprint ? fi->fingerprint : "");
		}
		if (fi->problem == PROBLEM_UNAPPROVED_KEY) {
			/* Each key is told by the audit (key-unapproved); the user, once, below. */
			fprintf(fk, "%s\n", key);
			n_kept++;
			not_applied = fi->reason;
			kept_new = kept_new || !told_before(told, key);
			continue;
		}
		if (told_before(told, key)) {
			fprintf(f, "%s\n", key);
			continue;
		}
		if (fi->problem == PROBLEM_DROPIN) {
			e.kind = EVENT_KEY_REJECTED;
			e.priority = LOG_WARNING;
			e.sshd_refused = -1;
			if (fi->lineno)
				snprintf(msg, sizeof(msg),
					 "%s: drop-in key rejected, not written: %s:%u: %s",
					 rep->user->name, fi->path, fi->lineno, fi->reason);
			else
				snprintf(msg, sizeof(msg), "%s: %s: %s, ignoring", rep->user->name,
					 fi->path, fi->reason);
		} else {
			e.priority = LOG_ERR;
			e.kind = fi->action == ACTION_REFUSED ? EVENT_REPAIR_REFUSED
							      : EVENT_REPAIR_FAILED;
			snprintf(
			    msg, sizeof(msg), "%s: %s %s (%s): %s%s%s", rep->user->name,
			    fi->action == ACTION_REFUSED ? "will not repair" : "could not repair",
			    fi->path, problem_to_string(fi->problem), fi->reason ? fi->reason : "",
			    fi->sshd_message ? "; sshd refuses: " : "",
			    fi->sshd_message ? fi->sshd_message : "");
		}
		if (journal_log(&e) == 0)
			fprintf(f, "%s\n", key);
		else
			arm_retell(d, i);
	}
	if (kept_new) {
		char msg[4600];
		struct event e = {.kind = EVENT_EXCLUSIVE_NOT_APPLIED,
				  .priority = LOG_ERR,
				  .message = msg,
				  .user = rep->user->name,
				  .path = rep->keys_file,
				  .reason = not_applied,
				  .count = n_kept,
				  .sshd_refused = -1,
				  .share = &d->du[i].share};

		snprintf(msg, sizeof(msg),
			 "%s: %s; %zu key%s outside the approved set stay%s in %s", rep->user->name,
			 not_applied, n_kept, PLURAL(n_kept), n_kept == 1 ? "s" : "",
			 rep->keys_file);
		if (journal_log(&e) < 0) {
			arm_retell(d, i);
			n_kept = 0; /* not told: none of them is */
		}
	}
	if (!fk || fclose(fk) != 0 || !f) {
		if (f)
			fclose(f);
		return;
	}
	if (n_kept)
		fputs(kept, f);
	if (fclose(f) != 0)
		return;
	/* Nothing told and nothing to tell is the usual case: no copy is kept for it. */
	if (strcmp(told, sig) != 0) {
		free(d->du[i].logged);
		d->du[i].logged = *sig ? strdup(sig) : NULL;
	}
}

static int log_key(struct daemon *d, size_t i, enum event_kind k, int prio, const char *path,
		   const char *fp, const char *comment, const char *what)
{
	const struct user *u = d->users[i];
	char msg[4600];
	struct event e = {.kind = k,
			  .priority = prio,
			  .message = msg,
			  .user = u->name,
			  .path = path,
			  .fingerprint = fp,
			  .comment = comment,
			  .sshd_refused = -1,
			  .share = &d->du[i].share};

	snprintf(msg, sizeof(msg), "%s: key %s%s%s%s %s", u->name, fp, comment ? " (" : "",
		 comment ? comment : "", comment ? ")" : "", what);
	return journal_log(&e);
}

static void tell_quarantined(struct daemon *d, size_t i, const struct user_report *rep)
{
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *fi = &rep->findings[k];

		if (fi->problem == PROBLEM_UNAPPROVED_KEY && fi->action == ACTION_FIXED)
			log_key(d, i, EVENT_KEY_QUARANTINED, LOG_WARNING, fi->path, fi->fingerprint,
				fi->comment,
				"moved to quarantine: Exclusive= allows approved keys only");
	}
}

/*
 * What the rate limit held back of an audit is recorded as it was before, so that the next
 * audit tells it again: L's entries with HELD[k] (an unapproved key told once; its status in
 * STATE plus 2, 1 for none) get that status back, or are left out; STATE's lines with
 * GONE[k] (a key gone) stay.
 */
static int audit_unrecord(struct key_list *l, const signed char *held, char *const *state,
			  const struct strindex *index, const bool *gone)
{
	size_t n_gone = 0;
	struct key_entry *e;

	for (size_t k = 0; held && k < l->n; k++)
		if (held[k] > 1)
			l->e[k].status = (enum key_status)(held[k] - 2);
		else if (held[k] == 1)
			l->e[k].fingerprint = (free(l->e[k].fingerprint), NULL);
	for (size_t k = 0; gone && state[k]; k++)
		n_gone += gone[k];
	if (!n_gone)
		return 0;
	e = realloc(l->e, (l->n + n_gone) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	l->e = e;
	for (size_t k = 0; state[k]; k++) {
		_cleanup_free_ char *fp = NULL;
		const char *comment;
		int was;

		if (!gone[k] || !(fp = strndup(state[k], strcspn(state[k], " "))))
			continue;
		comment = audit_state_comment(state, index, fp);
		was = audit_state_status(state, index, fp, NULL);
		if (was < 0)
			continue;
		e[l->n++] = (struct key_entry){.fingerprint = TAKE_PTR(fp),
					       .comment = comment ? strdup(comment) : NULL,
					       .status = (enum key_status)was};
	}
	return 0;
}

/*
 * The audit's state at a limit, or unreadable: said at priority err, once while it lasts
 * (WHAT is the condition; 0 when none).
 */
static void tell_audit_state(struct daemon *d, size_t i, int what, const char *why)
{
	const struct user *u = d->users[i];

	if (what == d->du[i].audit_state_told)
		return;
	d->du[i].audit_state_told = what;
	if (what)
		log_simple(EVENT_REPAIR_FAILED, LOG_ERR, "%s: the key audit's state: %s", u->name,
			   why);
}

/*
 * Compare the keys in the user's files with what was remembered, and say what changed.
 * SIG is the keys files' signature the user's last run saw.
 */
static void audit_user(struct daemon *d, size_t i, uint64_t sig)
{
	const struct user *u = d->users[i];
	int rootfd = d->engine->rootfd;
	_cleanup_(strv_freep) char **state = NULL;
	_cleanup_free_ char *keys_file = NULL;
	_cleanup_free_ signed char *held = NULL;
	_cleanup_free_ bool *gone = NULL, *seen = NULL;
	struct strindex *index = NULL;
	struct key_list l = {0};
	bool dirty = false, unread = false;
	char why[256];
	int r;

	/* Keys files unchanged since the last audit (a mode repair): nothing new to tell. The
	 * signature is taken before the key sync, whose write changes it and brings us back. */
	if (!d->audit_on || (d->du[i].audited && d->du[i].audited_sig == sig))
		return;
	d->du[i].audited = true;
	d->du[i].audited_sig = sig;
	r = audit_state_load(rootfd, u->name, &state);
	if (r < 0) {
		snprintf(why, sizeof(why), "cannot be read (%s): this user's keys are not audited",
			 strerror(-r));
		tell_audit_state(d, i, r, why);
		return;
	}
	if (r > 0) {
		snprintf(why, sizeof(why),
			 "larger than %u bytes: only its start is read, the keys past it are told "
			 "as new",
			 AUDIT_STATE_MAX);
		tell_audit_state(d, i, 1, why);
	}
	if (engine_list_keys(d->engine, u, state, &l) < 0 || audit_state_index(state, &index) < 0 ||
	    !(seen = calloc(strv_length(state) + 1, sizeof(*seen)))) {
		strindex_free(index);
		key_list_done(&l);
		return;
	}
	keys_file = engine_keys_file(d->engine, u);
	/* A keys file too large to read hides its keys: none is taken for gone meanwhile. */
	for (size_t k = 0; k < l.n; k++)
		unread = unread || (!l.e[k].fingerprint && l.e[k].lineno == 0);
	/* The first sight is the baseline, told in one summary entry. */
	dirty = !state;
	if (!state)
		d->baseline_users++;
	for (size_t k = 0; k < l.n; k++) {
		const struct key_entry *e = &l.e[k];
		ssize_t at;
		int was;

		if (!e->fingerprint)
			continue;
		if (!state)
			d->baseline_keys++;
		was = audit_state_status(state, index, e->fingerprint, &at);
		if (at >= 0)
			seen[at] = true;
		if (was != (int)e->status)
			dirty = true;
		/* Told once: when it appears, or when Exclusive= leaves it unapproved. */
		if (e->status == KEY_UNAPPROVED && was != KEY_UNAPPROVED &&
		    log_key(d, i, EVENT_KEY_UNAPPROVED, LOG_WARNING, e->file, e->fingerprint,
			    e->comment, "stands outside the approved set") < 0 &&
		    (held || (held = calloc(l.n, sizeof(*held))))) {
			held[k] = (signed char)(was + 2);
			arm_retell(d, i);
		}
	}
	for (size_t k = 0; !unread && state && state[k]; k++) {
		size_t n = strcspn(state[k], " ");

		/* Each key once: the line the index holds for it. */
		if (seen[k] || !state[k][n] || strindex_find(index, state[k], n) != (ssize_t)k)
			continue;
		{
			_cleanup_free_ char *fp = strndup(state[k], n);

			if (log_key(d, i, EVENT_KEY_REMOVED, LOG_NOTICE, keys_file, fp,
				    fp ? audit_state_comment(state, index, fp) : NULL,
				    "is gone from the keys files") < 0 &&
			    (gone || (gone = calloc(strv_length(state), sizeof(*gone))))) {
				gone[k] = true;
				arm_retell(d, i);
			}
		}
		dirty = true;
	}
	snprintf(why, sizeof(why),
		 "the keys would make it larger than %u bytes: those past it are not remembered, "
		 "and are told again as they are seen",
		 AUDIT_STATE_MAX);
	if (unread)
		dirty = false;
	if (dirty && audit_unrecord(&l, held, state, index, gone) >= 0) {
		if (audit_state_save(rootfd, u->name, &l) > 0)
			tell_audit_state(d, i, 2, why);
		else if (r == 0)
			tell_audit_state(d, i, 0, NULL);
	}
	strindex_free(index);
	key_list_done(&l);
}

static void tell_baseline(struct daemon *d)
{
	if (!d->baseline_users)
		return;
	{
		char msg[256];
		struct event e = {.kind = EVENT_KEYS_BASELINE,
				  .priority = LOG_INFO,
				  .message = msg,
				  .sshd_refused = -1,
				  .count = d->baseline_keys};

		snprintf(msg, sizeof(msg),
			 "recorded the keys of %lu user%s (%lu key%s) as the baseline",
			 d->baseline_users, PLURAL(d->baseline_users), d->baseline_keys,
			 PLURAL(d->baseline_keys));
		journal_log(&e);
	}
	d->baseline_users = d->baseline_keys = 0;
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
static bool flap_check(struct daemon *d, size_t i, const struct user_report *rep)
{
	struct duser *u = &d->du[i];
	const struct config *c = &d->engine->cfg;
	uint64_t now = now_usec(d);
	const char *path = NULL, *synced = NULL;
	bool keys = false;

	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *fi = &rep->findings[k];

		if (fi->action == ACTION_FIXED && !problem_is_keys(fi->problem) && !path)
			path = fi->path;
		else if (fi->action == ACTION_FIXED && fi->problem == PROBLEM_KEYS)
			synced = fi->path;
	}
	/* A key sync of the approved set the last heal saw undid what another process did to
	 * the block: that can fight. One a change of the drop-in directory asked for is the
	 * operator's doing, never a fight. */
	if (synced && !path && u->approved_known && u->approved_sig == rep->approved_sig) {
		path = synced;
		keys = true;
	}
	u->approved_known = true;
	u->approved_sig = rep->approved_sig;
	if (!path)
		return false;
	/* Quiet for a whole window after the last back-off: the episode is over. */
	if (u->flapping && now - u->last_repair > c->flap_window_usec + u->backoff_len) {
		u->flapping = false;
		u->backoff_len = 0;
	}
	u->last_repair = now;
	if (!u->flapping && now - u->flap_window_start > c->flap_window_usec) {
		u->flap_window_start = now;
		u->flap_count = 0;
	}
	/* While flapping, every repair after a back-off earns the next, longer one. */
	if (++u->flap_count <= c->flap_threshold && !u->flapping)
		return false;
	u->backoff_len = u->backoff_len ? u->backoff_len * 2 : c->flap_backoff_usec;
	if (u->backoff_len > c->flap_backoff_max_usec)
		u->backoff_len = c->flap_backoff_max_usec;
	u->backoff_until = now + u->backoff_len;
	if (!u->flapping) {
		char msg[4400], window[64], backoff[64];
		struct event e = {.kind = EVENT_FLAPPING,
				  .priority = LOG_WARNING,
				  .message = msg,
				  .user = rep->user->name,
				  .path = path,
				  .problem = keys ? problem_to_string(PROBLEM_KEYS) : NULL,
				  .sshd_refused = -1,
				  .share = &u->share};

		u->flapping = true;
		snprintf(msg, sizeof(msg),
			 "%s: %s%s more than %u times in %s; backing off from it, %s at first, "
			 "longer while it goes on",
			 rep->user->name, path,
			 keys ? " had its approved keys block undone" : " drifted back",
			 c->flap_threshold,
			 timespan_format(c->flap_window_usec, window, sizeof(window)),
			 timespan_format(u->backoff_len, backoff, sizeof(backoff)));
		journal_log(&e);
	}
	sd_event_source_unref(u->backoff_timer);
	u->backoff_timer = NULL;
	sd_event_add_time(d->ev, &u->backoff_timer, CLOCK_MONOTONIC, u->backoff_until, 0,
			  on_backoff_end, d);
	return true;
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
			log_simple(EVENT_REPAIR_FAILED, LOG_ERR,
				   "%s: cannot follow the replaced keys file: %s",
				   d->users[i]->name, strerror(-r));
	}
	rep->tails.n = 0;
}

/*
 * User I is in back-off: has the drop-in directory changed its approved keys since the last
 * heal? Looked at once every APPROVED_CHECK_USEC at most, so that a fight costs no more.
 */
static bool approved_changed(struct daemon *d, size_t i)
{
	struct duser *u = &d->du[i];
	uint64_t now = now_usec(d), sig = 0;

	if (!u->approved_known || now - u->approved_checked < APPROVED_CHECK_USEC)
		return false;
	u->approved_checked = now;
	return engine_approved_sig(d->engine, d->users[i], &sig) >= 0 && sig != u->approved_sig;
}

/* Heal user I: what an event touched (EVENT) has its keys audited at once, even while a
 * full pass defers the audits of the users it walks. */
static void heal_user(struct daemon *d, size_t i, bool event)
{
	struct user_report rep;
	int r;

	/* on_backoff_end queues it again; a change of its approved keys is synced now. */
	if (d->du[i].backoff_until > now_usec(d) && !approved_changed(d, i))
		return;
	watcher_begin(d->w, i + 1);
	r = engine_run_user(d->engine, d->users[i], ENGINE_FIX, visit, d, &rep);
	if (r < 0) {
		/* The watches it had stay; what this walk added before it failed goes. */
		watcher_abort(d->w);
		log_simple(EVENT_REPAIR_FAILED, LOG_ERR, "%s: check failed: %s", d->users[i]->name,
			   strerror(-r));
		return;
	}
	watcher_commit(d->w);
	follow_replaced(d, i, &rep);
	for (size_t k = 0; k < rep.n_findings; k++)
		if (rep.findings[k].action == ACTION_FIXED &&
		    !problem_is_keys(rep.findings[k].problem))
			d->repairs++;
	tell_findings(d, i, &rep);
	tell_quarantined(d, i, &rep);
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
			log_simple(EVENT_RELOADED, LOG_INFO, "reloaded (%s): watching %zu user%s",
				   reloaded, d->n_users, PLURAL(d->n_users));
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
		log_simple(EVENT_RESCAN, LOG_NOTICE,
			   "inotify queue overflowed; rescanning every chain once");
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
		log_simple(EVENT_REPAIR_FAILED, LOG_ERR,
			   "reading inotify events failed: %s, ignoring", strerror(-r));
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
	struct user_report rep;
	size_t i;
	int r;

	for (i = 0; i < d->n_users && strcmp(d->users[i]->name, user) != 0; i++)
		;
	if (i == d->n_users)
		return 0; /* no longer a user we look after */
	r = engine_carry_keys(d->engine, d->users[i], data, len, &rep);
	if (r < 0) {
		log_simple(EVENT_REPAIR_FAILED, LOG_ERR,
			   "%s: lines written to the replaced keys file not carried over: %s", user,
			   strerror(-r));
		return r;
	}
	for (size_t k = 0; k < rep.n_findings; k++)
		if (rep.findings[k].problem != PROBLEM_KEYS) {
			continue; /* the drop-ins and Exclusive= are told by the user's heal */
		} else if (rep.findings[k].action == ACTION_FIXED) {
			char msg[4600];
			struct event e = {.kind = EVENT_KEYS_SYNCED,
					  .priority = LOG_NOTICE,
					  .message = msg,
					  .user = user,
					  .path = rep.findings[k].path,
					  .sshd_refused = -1,
					  .share = &d->du[i].share};

			snprintf(msg, sizeof(msg),
				 "%s: %zu bytes written to %s after it was replaced, carried over",
				 user, len, rep.findings[k].path);
			journal_log(&e);
		} else if (rep.findings[k].action == ACTION_REFUSED ||
			   rep.findings[k].action == ACTION_FAILED) {
			log_simple(EVENT_REPAIR_FAILED, LOG_ERR,
				   "%s: lines written to the replaced %s not carried over: %s",
				   user, rep.findings[k].path,
				   rep.findings[k].reason ? rep.findings[k].reason : "");
			r = -EIO;
		}
	tell_quarantined(d, i, &rep);
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
		log_simple(EVENT_REPAIR_FAILED, LOG_ERR,
			   "reading inotify events failed: %s, ignoring", strerror(-r));
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
	for (size_t i = 0; i < d->n_users; i++) {
		sd_event_source_unref(d->du[i].backoff_timer);
		free(d->du[i].logged);
	}
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
static void carry_users(const struct daemon *d, const size_t *moved, struct duser *du,
			struct fifo *events, struct fifo *pass, size_t *audit_queue,
			size_t *n_audit)
{
	for (size_t i = 0; i < d->n_users; i++) {
		const struct duser *o = &d->du[i];
		struct duser *n = moved[i] != SIZE_MAX ? &du[moved[i]] : NULL;

		if (!n)
			continue;
		/* What was told stays told: a reload does not tell a refusal again; what the rate
		 * limit held back is still to tell; the user's share of it, and what its last key
		 * sync wrote, stay. */
		n->logged = TAKE_PTR(d->du[i].logged);
		n->share = o->share;
		n->retell = o->retell;
		n->approved_known = o->approved_known;
		n->approved_sig = o->approved_sig;
		if (!(o->flapping || o->backoff_until))
			continue;
		n->flapping = o->flapping;
		n->last_repair = o->last_repair;
		n->flap_count = o->flap_count;
		n->flap_window_start = o->flap_window_start;
		n->backoff_until = o->backoff_until;
		n->backoff_len = o->backoff_len;
	}
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
	struct duser *du;
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
		log_simple(EVENT_REPAIR_FAILED, LOG_ERR,
			   "the key audit's state directory: %s; the audit records nothing",
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
		log_simple(EVENT_CONFIG_WARNING, LOG_WARNING, "configuration: %s",
			   e->cfg.warnings[i]);
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
		log_simple(EVENT_CONFIG_ERROR, LOG_ERR,
			   "reload failed, keeping the old configuration: %s",
			   *err ? err : strerror(-r));
	} else {
		log_config_warnings(e);
		r = adopt(d, e);
		if (r < 0) {
			engine_free(e);
			log_simple(EVENT_CONFIG_ERROR, LOG_ERR,
				   "reload failed, keeping the old configuration: %s",
				   strerror(-r));
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
	log_simple(EVENT_STOPPING, LOG_INFO, "stopping on signal %u after %lu repair%s",
		   si->ssi_signo, d->repairs, PLURAL(d->repairs));
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
	log_simple(EVENT_STARTED, LOG_INFO,
		   "started: watching %zu user%s, %zu path%s, %lu repair%s", d.n_users,
		   PLURAL(d.n_users), watcher_n_registrations(d.w),
		   PLURAL(watcher_n_registrations(d.w)), d.repairs, PLURAL(d.repairs));
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
