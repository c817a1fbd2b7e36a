/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
#include <systemd/sd-event.h>
#include <systemd/sd-journal.h>
#include "escape.h"
#include "jqueue.h"
#include "journal.h"
#include "macro.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
/* The most entries a window holds, a user's first of each kind included: journald's own
 * limit (10,000 entries per 30 s by default) stays out of reach. */
#define RATELIMIT_CEILING 1000
/* Users the count of what was held back names, each with its number; the rest are one sum. */
#define HELD_NAMED 8
#define HELD_NAME_MAX 64
#define MAX_FIELDS 24

/* A share's kinds are bits of an unsigned. */
static_assert(_EVENT_MAX <= 32, "too many kinds of events for struct journal_share");

static const char *const names[] = {
#define X(e, name, id) [EVENT_##e] = name,
    SSHMEND_EVENTS(X)
#undef X
};

static const char *const ids[] = {
#define X(e, name, id) [EVENT_##e] = id,
    SSHMEND_EVENTS(X)
#undef X
};

static enum journal_target target = JOURNAL_AUTO;
static void (*capture)(const struct event *, void *);
static void *capture_data;
static unsigned burst = JOURNAL_RATELIMIT_BURST;
static unsigned user_burst = JOURNAL_RATELIMIT_USER_BURST;
static unsigned ceiling = RATELIMIT_CEILING;
static unsigned long long interval = JOURNAL_RATELIMIT_INTERVAL_USEC;
static unsigned long long window_start;
static unsigned in_window;
static unsigned long suppressed;
/* Whose entries were held back since the last count: the first HELD_NAMED users by name,
 * how many of each kind. */
static struct {
	char user[HELD_NAME_MAX];
	unsigned long n;
	unsigned long kinds[_EVENT_MAX];
} held[HELD_NAMED];
static size_t n_held;
static unsigned long held_others;
/* The daemon's loop, and its timer for the count at the end of a window. */
static sd_event *loop;
static sd_event_source *flush_timer;

const char *event_name(enum event_kind k)
{
	return names[k];
}

const char *event_message_id(enum event_kind k)
{
	return ids[k];
}

void journal_set_target(enum journal_target t)
{
	target = t;
}

void journal_set_capture(void (*fn)(const struct event *, void *), void *userdata)
{
	capture = fn;
	capture_data = userdata;
}

void journal_set_limits(unsigned b, unsigned ub, unsigned long long i)
{
	burst = b;
	user_burst = ub;
	interval = i;
}

void journal_set_ratelimit(unsigned b, unsigned ub, unsigned c, unsigned long long i)
{
	journal_set_limits(b, ub, i);
	ceiling = c;
	window_start = 0;
	in_window = 0;
	suppressed = 0;
	n_held = 0;
	held_others = 0;
}

static unsigned long long now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

static int add(struct iovec *iov, int n, char *store, size_t len, const char *fmt, ...)
    _printf_(5, 6);

static int add(struct iovec *iov, int n, char *store, size_t len, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(store, len, fmt, ap);
	va_end(ap);
	if (k < 0)
		return n;
	iov[n].iov_base = store;
	iov[n].iov_len = (size_t)k < len ? (size_t)k : len - 1;
	return n + 1;
}

/* NAME=TEXT, with TEXT escaped: what a person reads carries no control character. */
static int add_escaped(struct iovec *iov, int n, char *store, size_t len, const char *name,
		       const char *text)
{
	FILE *f = fmemopen(store, len, "w");
	long k;

	if (!f)
		return n;
	fprintf(f, "%s=", name);
	escape_write(f, text);
	k = ftell(f);
	fclose(f);
	if (k <= 0)
		return n;
	iov[n].iov_base = store;
	iov[n].iov_len = (size_t)k < len ? (size_t)k : len - 1;
	return n + 1;
}

/*
 * EV as one line on standard error, where there is no journal: built whole, then written at
 * once (stderr is unbuffered: written piece by piece, a line cost a system call a byte, and
 * lines of two processes on one pipe could mix).
 */
static void emit_line(const struct event *ev)
{
	_cleanup_free_ char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return;
	escape_printf(f, "sshmend: %s [event=%s", ev->message, names[ev->kind]);
	if (ev->has_modes)
		escape_printf(f, " old=%04o,%s new=%04o,%s", (unsigned)ev->old_mode, ev->old_owner,
			      (unsigned)ev->new_mode, ev->new_owner);
	if (ev->new_label)
		escape_printf(f, " old_label=%s new_label=%s", ev->old_label ? ev->old_label : "",
			      ev->new_label);
	if (ev->sshd_refused >= 0)
		fprintf(f, " sshd_refused=%d", ev->sshd_refused);
	if (ev->count)
		fprintf(f, " count=%lu", ev->count);
	if (ev->fingerprint)
		fprintf(f, " fingerprint=%s", ev->fingerprint);
	if (ev->cause)
		escape_printf(f, " cause=%s from=%s", ev->cause,
			      ev->remote_addr ? ev->remote_addr : "");
	fputs("]\n", f);
	if (fclose(f) == 0)
		fwrite(line, 1, len, stderr);
}

static void emit(const struct event *ev)
{
	static char f[MAX_FIELDS][4352];
	struct iovec iov[MAX_FIELDS];
	int n = 0;
	bool journal = target == JOURNAL_AUTO && access(JOURNAL_SOCKET, W_OK) == 0;

	if (capture)
		capture(ev, capture_data);
	if (!journal) {
		emit_line(ev);
		return;
	}
	n = add_escaped(iov, n, f[n], sizeof(f[n]), "MESSAGE", ev->message);
	n = add(iov, n, f[n], sizeof(f[n]), "MESSAGE_ID=%s", ids[ev->kind]);
	n = add(iov, n, f[n], sizeof(f[n]), "PRIORITY=%d", ev->priority);
	n = add(iov, n, f[n], sizeof(f[n]), "SYSLOG_IDENTIFIER=sshmend");
	n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_EVENT=%s", names[ev->kind]);
	if (ev->user)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_USER=%s", ev->user);
	if (ev->path)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_PATH=%s", ev->path);
	if (ev->has_modes) {
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_OLD_MODE=%04o",
			(unsigned)ev->old_mode);
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_NEW_MODE=%04o",
			(unsigned)ev->new_mode);
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_OLD_OWNER=%s", ev->old_owner);
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_NEW_OWNER=%s", ev->new_owner);
	}
	if (ev->new_label) {
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_OLD_LABEL=%s",
			ev->old_label ? ev->old_label : "");
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_NEW_LABEL=%s", ev->new_label);
	}
	if (ev->sshd_refused >= 0)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_SSHD_REFUSED=%d", ev->sshd_refused);
	if (ev->problem)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_PROBLEM=%s", ev->problem);
	if (ev->reason)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_REASON=%s", ev->reason);
	if (ev->count)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_COUNT=%lu", ev->count);
	if (ev->fingerprint)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_FINGERPRINT=%s", ev->fingerprint);
	if (ev->comment)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_COMMENT=%s", ev->comment);
	if (ev->fingerprints_added)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_FINGERPRINTS_ADDED=%s",
			ev->fingerprints_added);
	if (ev->fingerprints_removed)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_FINGERPRINTS_REMOVED=%s",
			ev->fingerprints_removed);
	if (ev->remote_addr)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_REMOTE_ADDR=%s", ev->remote_addr);
	if (ev->cause)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_CAUSE=%s", ev->cause);
	if (ev->hint)
		n = add_escaped(iov, n, f[n], sizeof(f[n]), "SSHMEND_HINT", ev->hint);
	/* From the loop, never blocking it: sent when the loop is idle, and while journald takes
	 * none, held in the queue. */
	if (!jqueue_attached() || jqueue_send(iov, n) == -ENOTCONN)
		sd_journal_sendv(iov, n);
}

/* The queue drained: how many entries it had to drop meanwhile, told now. */
static void tell_dropped(unsigned long n)
{
	char msg[128];
	struct event s = {.kind = EVENT_SUPPRESSED,
			  .priority = LOG_WARNING,
			  .message = msg,
			  .sshd_refused = -1,
			  .count = n};

	snprintf(msg, sizeof(msg), "%lu %s dropped: the journal did not take %s in time", n,
		 n == 1 ? "entry was" : "entries were", n == 1 ? "it" : "them");
	emit(&s);
}

static int on_window_end(sd_event_source *s, _unused_ uint64_t usec, _unused_ void *userdata)
{
	flush_timer = sd_event_source_unref(s);
	journal_flush();
	return 0;
}

/* Something was held back: counted when the window ends, even if nothing else is logged. */
static void arm_flush(void)
{
	if (!loop || flush_timer)
		return;
	if (sd_event_add_time(loop, &flush_timer, CLOCK_MONOTONIC, journal_window_end(), 0,
			      on_window_end, NULL) < 0)
		flush_timer = NULL;
}

int journal_attach(sd_event *e, int64_t priority)
{
	loop = e;
	return jqueue_attach(e, JOURNAL_SOCKET, priority, tell_dropped);
}

void journal_detach(void)
{
	flush_timer = sd_event_source_disable_unref(flush_timer);
	loop = NULL;
	jqueue_detach();
}

/* ", USER N (N1 KIND1, N2 KIND2)" of the I-th user held back, at MSG + K: the new K. */
static size_t held_user(char *msg, size_t size, size_t k, size_t i)
{
	const char *sep = " (";

	k += (size_t)snprintf(msg + k, size - k, "%s%s %lu", i ? ", " : ": ", held[i].user,
			      held[i].n);
	for (size_t e = 0; e < _EVENT_MAX && k < size; e++)
		if (held[i].kinds[e]) {
			k += (size_t)snprintf(msg + k, size - k, "%s%lu %s", sep, held[i].kinds[e],
					      names[e]);
			sep = ", ";
		}
	if (*sep == ',' && k < size)
		k += (size_t)snprintf(msg + k, size - k, ")");
	return k;
}

void journal_flush(void)
{
	unsigned long total = suppressed;
	char msg[1024];
	size_t k;
	struct event s = {.kind = EVENT_SUPPRESSED,
			  .priority = LOG_WARNING,
			  .message = msg,
			  .sshd_refused = -1,
			  .count = total};

	/* Told now: its timer has nothing left to wake the loop for. */
	flush_timer = sd_event_source_disable_unref(flush_timer);
	if (!total)
		return;
	k = (size_t)snprintf(msg, sizeof(msg), "%lu %s held back by the rate limit", total,
			     total == 1 ? "entry was" : "entries were");
	for (size_t i = 0; i < n_held && k < sizeof(msg); i++)
		k = held_user(msg, sizeof(msg), k, i);
	if (held_others && k < sizeof(msg))
		snprintf(msg + k, sizeof(msg) - k, ", %lu of other users", held_others);
	suppressed = 0;
	n_held = 0;
	held_others = 0;
	in_window++;
	emit(&s);
}

unsigned long long journal_window_end(void)
{
	return window_start ? window_start + interval : now_usec();
}

static void arm_flush(void);

/* EV is held back: counted, and for whom. */
static void hold(const struct event *ev)
{
	size_t i;

	suppressed++;
	arm_flush();
	if (!ev->share || !ev->user)
		return;
	for (i = 0; i < n_held; i++)
		if (strncmp(held[i].user, ev->user, sizeof(held[i].user) - 1) == 0)
			break;
	if (i == n_held && n_held == HELD_NAMED) {
		held_others++;
		return;
	}
	if (i == n_held) {
		memset(&held[i], 0, sizeof(held[i]));
		snprintf(held[n_held++].user, sizeof(held[i].user), "%s", ev->user);
	}
	held[i].n++;
	held[i].kinds[ev->kind]++;
}

/* What an operator must see at once: a user's first of these in a window is never held. */
static bool alerting(enum event_kind k)
{
	return k == EVENT_DRIFT_REPAIRED || k == EVENT_REPAIR_REFUSED || k == EVENT_REPAIR_FAILED ||
	       k == EVENT_FLAPPING;
}

/* A hash of EV's kind and path, which tells one element's entries from another's. */
static uint32_t element_hash(const struct event *ev)
{
	uint32_t h = 2166136261u ^ (uint32_t)ev->kind;

	for (const char *p = ev->path ? ev->path : ""; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

/* Is EV the first of its kind, for its element when it alerts, that SH had in the window? */
static bool first_in_window(struct journal_share *sh, const struct event *ev, uint32_t h)
{
	if (!sh)
		return false;
	if (!(sh->kinds & (1u << ev->kind)))
		return true;
	if (!alerting(ev->kind))
		return false;
	for (unsigned k = 0; k < sh->n_elements; k++)
		if (sh->elements[k] == h)
			return false;
	return sh->n_elements < JOURNAL_SHARE_ELEMENTS;
}

int journal_log(const struct event *ev)
{
	unsigned long long now = now_usec();
	struct journal_share *sh = ev->share;
	/* These frame everything else, or say that something was missed: always told. */
	bool always = ev->kind == EVENT_STARTED || ev->kind == EVENT_STOPPING ||
		      ev->kind == EVENT_RELOADED || ev->kind == EVENT_RESCAN ||
		      ev->kind == EVENT_WATCH_LIMIT || ev->kind == EVENT_KEYS_BASELINE;
	uint32_t h = element_hash(ev);
	bool first, room;

	if (window_start == 0 || now - window_start >= interval) {
		window_start = now;
		in_window = 0;
		journal_flush();
	}
	if (ev->kind == EVENT_STOPPING)
		journal_flush();
	if (sh && sh->window != window_start)
		*sh = (struct journal_share){.window = window_start};
	/* A user's first entry of a kind in the window is told while there is any room; any
	 * other within the window's budget: in its first half, whoever's it is; in the second,
	 * kept for others, only within that user's share. */
	first = first_in_window(sh, ev, h);
	room = first ? in_window < ceiling || alerting(ev->kind)
		     : in_window < burst && (!sh || sh->n < user_burst || in_window < burst / 2);
	if (!always && !room) {
		hold(ev);
		return -EAGAIN;
	}
	in_window++;
	if (sh) {
		sh->n++;
		sh->kinds |= 1u << ev->kind;
		if (first && alerting(ev->kind) && sh->n_elements < JOURNAL_SHARE_ELEMENTS)
			sh->elements[sh->n_elements++] = h;
	}
	emit(ev);
	return 0;
}
