/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include "events.h"
#include "report.h"
#include "timespan.h"

/* The longest message: a path and sshd's words, or a line of fingerprints. */
#define MESSAGE_MAX 4600

/* The one table: what each entry is, and how loud. */
static const struct tell_row rows[_TELL_MAX] = {
    [TELL_CARRIED] = {PROBLEM_KEYS, ACTION_FIXED, WHEN_CARRY, EVENT_KEYS_SYNCED, LOG_NOTICE},
    [TELL_NOT_CARRIED] = {PROBLEM_KEYS, TELL_UNDONE, WHEN_CARRY, EVENT_REPAIR_FAILED, LOG_ERR},
    [TELL_SYNCED] = {PROBLEM_KEYS, ACTION_FIXED, WHEN_ANY, EVENT_KEYS_SYNCED, LOG_NOTICE},
    [TELL_QUARANTINED] = {PROBLEM_UNAPPROVED_KEY, ACTION_FIXED, WHEN_ANY, EVENT_KEY_QUARANTINED,
			  LOG_WARNING},
    [TELL_NOT_APPLIED] = {PROBLEM_UNAPPROVED_KEY, TELL_UNDONE, WHEN_ANY,
			  EVENT_EXCLUSIVE_NOT_APPLIED, LOG_ERR},
    [TELL_KEY_REJECTED] = {PROBLEM_DROPIN, TELL_UNDONE, WHEN_LINE, EVENT_KEY_REJECTED, LOG_WARNING},
    [TELL_DROPIN_IGNORED] = {PROBLEM_DROPIN, TELL_UNDONE, WHEN_FILE, EVENT_DROPIN_IGNORED,
			     LOG_WARNING},
    [TELL_REPAIRED] = {TELL_ANY_CHAIN, ACTION_FIXED, WHEN_SSHD_ACCEPTS, EVENT_DRIFT_REPAIRED,
		       LOG_NOTICE},
    [TELL_UNLOCKED] = {TELL_ANY_CHAIN, ACTION_FIXED, WHEN_SSHD_REFUSES, EVENT_DRIFT_REPAIRED,
		       LOG_WARNING},
    [TELL_LEFTOVER] = {PROBLEM_LEFTOVER, ACTION_FIXED, WHEN_ANY, EVENT_LEFTOVER_REMOVED,
		       LOG_NOTICE},
    [TELL_REFUSED] = {TELL_ANY_PROBLEM, ACTION_REFUSED, WHEN_ANY, EVENT_REPAIR_REFUSED, LOG_ERR},
    [TELL_FAILED] = {TELL_ANY_PROBLEM, ACTION_FAILED, WHEN_ANY, EVENT_REPAIR_FAILED, LOG_ERR},
    [TELL_UNAPPROVED] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_KEY_UNAPPROVED,
			 LOG_WARNING},
    [TELL_REMOVED] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_KEY_REMOVED, LOG_NOTICE},
    [TELL_BASELINE] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_KEYS_BASELINE, LOG_INFO},
    [TELL_FLAPPING] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_FLAPPING, LOG_WARNING},
    [TELL_STARTED] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_STARTED, LOG_INFO},
    [TELL_RELOADED] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_RELOADED, LOG_INFO},
    [TELL_STOPPING] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_STOPPING, LOG_INFO},
    [TELL_RESCAN] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_RESCAN, LOG_NOTICE},
    [TELL_WATCH_LIMIT] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_WATCH_LIMIT,
			  LOG_WARNING},
    [TELL_CONFIG_ERROR] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_CONFIG_ERROR, LOG_ERR},
    [TELL_CONFIG_WARNING] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_CONFIG_WARNING,
			     LOG_WARNING},
    [TELL_INTERNAL_ERROR] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_INTERNAL_ERROR,
			     LOG_ERR},
    [TELL_LOGIN_SYSTEM] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_LOGIN_REFUSED_SYSTEM,
			   LOG_WARNING},
    [TELL_LOGIN_OPERATOR] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY,
			     EVENT_LOGIN_REFUSED_OPERATOR, LOG_NOTICE},
    [TELL_LOGIN_POLICY] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_LOGIN_REFUSED_POLICY,
			   LOG_INFO},
    [TELL_LOGIN_NOISE] = {TELL_NO_FINDING, TELL_NO_FINDING, WHEN_ANY, EVENT_LOGIN_NOISE, LOG_INFO},
};

const struct tell_row *events_row(enum tell t)
{
	return &rows[t];
}

static bool problem_holds(int p, enum problem q)
{
	return p == TELL_ANY_PROBLEM || (p == TELL_ANY_CHAIN && !problem_is_keys(q)) || p == (int)q;
}

static bool action_holds(int a, enum action b)
{
	return a == TELL_UNDONE ? b == ACTION_REFUSED || b == ACTION_FAILED : a == (int)b;
}

static bool when_holds(enum tell_when w, const struct user_report *rep, const struct finding *fi,
		       bool carry)
{
	switch (w) {
	case WHEN_CARRY:
		return carry;
	case WHEN_SSHD_ACCEPTS:
		return rep->sshd_accepts;
	case WHEN_SSHD_REFUSES:
		return !rep->sshd_accepts;
	case WHEN_LINE:
		return fi->lineno != 0;
	case WHEN_FILE:
		return fi->lineno == 0;
	default:
		return true;
	}
}

int events_finding_row(const struct user_report *rep, const struct finding *fi, bool carry)
{
	for (int t = 0; t < _TELL_MAX; t++)
		if (rows[t].problem != TELL_NO_FINDING &&
		    problem_holds(rows[t].problem, fi->problem) &&
		    action_holds(rows[t].action, fi->action) &&
		    when_holds(rows[t].when, rep, fi, carry))
			return t;
	return -1;
}

/* An entry of row T with MSG: the rest of its fields are the caller's to fill. */
static struct event entry(enum tell t, const char *msg)
{
	return (struct event){
	    .kind = rows[t].kind, .priority = rows[t].priority, .message = msg, .sshd_refused = -1};
}

static int tell_v(enum tell t, const char *user, const char *fmt, va_list ap) _printf_(3, 0);

static int tell_v(enum tell t, const char *user, const char *fmt, va_list ap)
{
	char msg[MESSAGE_MAX];
	struct event e = entry(t, msg);

	e.user = user;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	return journal_log(&e);
}

static int tell_simple(enum tell t, const char *user, const char *fmt, ...) _printf_(3, 4);

static int tell_simple(enum tell t, const char *user, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tell_v(t, user, fmt, ap);
	va_end(ap);
	return r;
}

/* A chain element repaired: what changed, and only that (no "owner alice -> alice"). */
static int tell_repaired(struct event *e, const struct finding *fi, const struct userdb *db)
{
	char old_owner[64], new_owner[64], change[200], msg[MESSAGE_MAX];

	e->has_modes = true;
	e->old_mode = fi->found.st_mode & 07777;
	e->new_mode = fi->has_final ? fi->final_mode : fi->exp_mode;
	report_owner_name(db, fi->found.st_uid, old_owner, sizeof(old_owner));
	report_owner_name(db, fi->has_final ? fi->final_uid : fi->exp_uid, new_owner,
			  sizeof(new_owner));
	e->old_owner = old_owner;
	e->new_owner = new_owner;
	e->old_label = fi->cur_label;
	e->new_label = fi->exp_label;
	report_change(db, fi, change, sizeof(change));
	snprintf(msg, sizeof(msg), "%s: repaired %s%s%s%s%s", e->user, fi->path,
		 *change ? ": " : "", change, fi->sshd_message ? "; sshd refused: " : "",
		 fi->sshd_message ? fi->sshd_message : "");
	e->message = msg;
	return journal_log(e);
}

/* A key sync, or the lines written to a replaced keys file, carried over or not. */
static int tell_keys(enum tell t, const struct user_report *rep, const struct finding *fi,
		     const struct tell_extra *x)
{
	const char *user = rep->user->name, *added = x->added, *removed = x->removed;
	char msg[MESSAGE_MAX];
	struct event e = entry(t, msg);

	e.user = user;
	e.path = fi->path;
	if (t == TELL_NOT_CARRIED) {
		e.problem = problem_to_string(fi->problem);
		e.reason = fi->reason;
		snprintf(msg, sizeof(msg),
			 "%s: lines written to the replaced %s not carried over: %s", user,
			 fi->path, fi->reason ? fi->reason : "");
		return journal_log(&e);
	}
	e.share = x->share;
	if (t == TELL_CARRIED) {
		snprintf(msg, sizeof(msg),
			 "%s: %zu bytes written to %s after it was replaced, carried over", user,
			 x->carried, fi->path);
		return journal_log(&e);
	}
	e.fingerprints_added = added;
	e.fingerprints_removed = removed;
	snprintf(msg, sizeof(msg), "%s: %s now holds the %zu approved key%s%s%s%s%s", user,
		 fi->path, rep->n_approved, PLURAL(rep->n_approved), added ? "; added " : "",
		 added ? added : "", removed ? "; removed " : "", removed ? removed : "");
	return journal_log(&e);
}

int events_finding(const struct user_report *rep, const struct finding *fi, bool carry,
		   const struct tell_extra *x)
{
	int t = events_finding_row(rep, fi, carry);
	const char *user = rep->user->name, *reason = fi->reason ? fi->reason : "";
	char msg[MESSAGE_MAX];
	struct event e;

	if (t < 0 || t == TELL_QUARANTINED || t == TELL_NOT_APPLIED)
		return 1;
	if (t == TELL_CARRIED || t == TELL_NOT_CARRIED || t == TELL_SYNCED)
		return tell_keys(t, rep, fi, x);
	e = entry(t, msg);
	e.user = user;
	e.path = fi->path;
	e.problem = problem_to_string(fi->problem);
	e.reason = fi->reason;
	e.share = x->share;
	if (t == TELL_KEY_REJECTED)
		snprintf(msg, sizeof(msg), "%s: drop-in key rejected, not written: %s:%u: %s", user,
			 fi->path, fi->lineno, reason);
	else if (t == TELL_DROPIN_IGNORED)
		snprintf(msg, sizeof(msg), "%s: %s: %s, ignoring", user, fi->path, reason);
	else if (t == TELL_LEFTOVER)
		snprintf(msg, sizeof(msg), "%s: %s removed: %s", user, fi->path, reason);
	e.sshd_refused = !rep->sshd_accepts;
	if (t == TELL_REPAIRED || t == TELL_UNLOCKED)
		return tell_repaired(&e, fi, x->db);
	if (t == TELL_REFUSED || t == TELL_FAILED)
		snprintf(msg, sizeof(msg), "%s: %s %s (%s): %s%s%s", user,
			 t == TELL_REFUSED ? "will not repair" : "could not repair", fi->path,
			 problem_to_string(fi->problem), reason,
			 fi->sshd_message ? "; sshd refuses: " : "",
			 fi->sshd_message ? fi->sshd_message : "");
	else
		e.sshd_refused = -1; /* the drop-ins are no part of what sshd reads */
	return journal_log(&e);
}

int events_not_applied(const char *user, const char *keys_file, const char *why, size_t n_kept,
		       struct journal_share *share)
{
	char msg[MESSAGE_MAX];
	struct event e = entry(TELL_NOT_APPLIED, msg);

	e.user = user;
	e.path = keys_file;
	e.reason = why;
	e.count = n_kept;
	e.share = share;
	snprintf(msg, sizeof(msg), "%s: %s; %zu key%s outside the approved set stay%s in %s", user,
		 why, n_kept, PLURAL(n_kept), n_kept == 1 ? "s" : "", keys_file);
	return journal_log(&e);
}

int events_key(enum tell t, const char *user, const char *path, const char *fp, const char *comment,
	       struct journal_share *share)
{
	const char *what = t == TELL_UNAPPROVED ? "stands outside the approved set"
			   : t == TELL_REMOVED	? "is gone from the keys files"
						: "moved to quarantine: Exclusive= allows approved "
						  "keys only";
	char msg[MESSAGE_MAX];
	struct event e = entry(t, msg);

	e.user = user;
	e.path = path;
	e.fingerprint = fp;
	e.comment = comment;
	e.share = share;
	snprintf(msg, sizeof(msg), "%s: key %s%s%s%s %s", user, fp, comment ? " (" : "",
		 comment ? comment : "", comment ? ")" : "", what);
	return journal_log(&e);
}

void events_baseline(unsigned long users, unsigned long keys)
{
	char msg[256];
	struct event e = entry(TELL_BASELINE, msg);

	e.count = keys;
	snprintf(msg, sizeof(msg), "recorded the keys of %lu user%s (%lu key%s) as the baseline",
		 users, PLURAL(users), keys, PLURAL(keys));
	journal_log(&e);
}

void events_flapping(const char *user, const char *path, bool keys, unsigned threshold,
		     uint64_t window_usec, uint64_t backoff_usec, struct journal_share *share)
{
	char msg[MESSAGE_MAX], window[64], backoff[64];
	struct event e = entry(TELL_FLAPPING, msg);

	e.user = user;
	e.path = path;
	e.problem = keys ? problem_to_string(PROBLEM_KEYS) : NULL;
	e.share = share;
	snprintf(msg, sizeof(msg),
		 "%s: %s%s more than %u times in %s; backing off from it, %s at first, "
		 "longer while it goes on",
		 user, path, keys ? " had its approved keys block undone" : " drifted back",
		 threshold, timespan_format(window_usec, window, sizeof(window)),
		 timespan_format(backoff_usec, backoff, sizeof(backoff)));
	journal_log(&e);
}

void events_started(size_t users, size_t paths, unsigned long repairs)
{
	tell_simple(TELL_STARTED, NULL, "started: watching %zu user%s, %zu path%s, %lu repair%s",
		    users, PLURAL(users), paths, PLURAL(paths), repairs, PLURAL(repairs));
}

void events_reloaded(const char *why, size_t users)
{
	tell_simple(TELL_RELOADED, NULL, "reloaded (%s): watching %zu user%s", why, users,
		    PLURAL(users));
}

void events_stopping(unsigned signo, unsigned long repairs)
{
	tell_simple(TELL_STOPPING, NULL, "stopping on signal %u after %lu repair%s", signo, repairs,
		    PLURAL(repairs));
}

void events_rescan(void)
{
	tell_simple(TELL_RESCAN, NULL, "inotify queue overflowed; rescanning every chain once");
}

void events_watch_limit(uint64_t every_usec, bool no_instance)
{
	char every[64];

	timespan_format(every_usec, every, sizeof(every));
	if (no_instance)
		tell_simple(TELL_WATCH_LIMIT, NULL,
			    "no inotify instance to be had (fs.inotify.max_user_instances); "
			    "watching nothing and scanning every %s",
			    every);
	else
		tell_simple(
		    TELL_WATCH_LIMIT, NULL,
		    "inotify watch limit reached (fs.inotify.max_user_watches); keeping the "
		    "watches there are and scanning every %s",
		    every);
}

void events_leftover(const char *path)
{
	char msg[MESSAGE_MAX];
	struct event e = entry(TELL_LEFTOVER, msg);

	e.path = path;
	e.reason = LEFTOVER_REASON;
	snprintf(msg, sizeof(msg), "%s removed: %s", path, LEFTOVER_REASON);
	(void)journal_log(&e);
}

void events_config_error(const char *why)
{
	tell_simple(TELL_CONFIG_ERROR, NULL, "reload failed, keeping the old configuration: %s",
		    why);
}

void events_config_warning(const char *warning)
{
	tell_simple(TELL_CONFIG_WARNING, NULL, "configuration: %s", warning);
}

void events_internal_error(const char *user, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tell_v(TELL_INTERNAL_ERROR, user, fmt, ap);
	va_end(ap);
}

int events_login_refused(enum tell t, const struct login_refusal *r)
{
	char msg[MESSAGE_MAX], port[32] = "";
	struct event e = entry(t, msg);

	e.user = r->user;
	e.remote_addr = r->addr;
	e.cause = r->cause;
	e.fingerprint = r->fingerprints;
	e.hint = r->hint;
	if (r->port >= 0)
		snprintf(port, sizeof(port), " port %d", r->port);
	snprintf(msg, sizeof(msg), "sshd refused %s from %s%s: %s%s%s", r->user, r->addr, port,
		 r->what, r->hint ? "; " : "", r->hint ? r->hint : "");
	return journal_log(&e);
}

void events_login_noise(unsigned long total, uint64_t period_usec, const char *summary)
{
	char msg[MESSAGE_MAX], period[64];
	struct event e = entry(TELL_LOGIN_NOISE, msg);

	e.count = total;
	snprintf(msg, sizeof(msg), "%lu refused login%s in %s without an entry of their own: %s",
		 total, PLURAL(total), timespan_format(period_usec, period, sizeof(period)),
		 summary);
	journal_log(&e);
}
