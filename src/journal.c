/* SPDX-License-Identifier: Apache-2.0 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
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
#define MAX_FIELDS 24
/* The length of one field of an entry, its name included. */
#define FIELD_MAX 4352
/* The most text of one entry of the count of what was held back, in its message and in its
 * SSHMEND_HELD each: a longer count goes on in further entries. */
#define HELD_PART_MAX 4000
/* What one user's part of that count may take of it: past that, cut. */
#define HELD_USER_MAX 1024

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
static unsigned ceiling = JOURNAL_RATELIMIT_CEILING;
static unsigned long long interval = JOURNAL_RATELIMIT_INTERVAL_USEC;
static unsigned long long window_start;
static unsigned in_window;
static unsigned long suppressed;
/*
 * Whose entries were held back since the last count, in the order met: each user (one share,
 * so no more than the users there are) with a list of its kinds, newest first, in HELD_KINDS
 * (no more than the kinds there are for each). Grown as users and kinds come, freed when
 * counted.
 */
struct held_user {
	char *user;
	unsigned long n;
	size_t kinds; /* its newest kind in held_kinds, +1 */
};
struct held_kind {
	size_t next; /* the same user's next kind, +1; 0: none */
	enum event_kind kind;
	unsigned long n;
};
static struct held_user *held;
static size_t n_held, cap_held;
static struct held_kind *held_kinds;
static size_t n_held_kinds, cap_held_kinds;
/* Held back but named for no user: entries that count for no user, or whose user there was
 * no memory to name. */
static unsigned long held_unnamed;
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

void journal_set_limits(unsigned b, unsigned ub, unsigned c, unsigned long long i)
{
	burst = b;
	user_burst = ub;
	ceiling = c;
	interval = i;
}

static void held_forget(void)
{
	for (size_t i = 0; i < n_held; i++)
		free(held[i].user);
	free(held);
	free(held_kinds);
	held = NULL;
	held_kinds = NULL;
	n_held = cap_held = n_held_kinds = cap_held_kinds = 0;
	held_unnamed = 0;
	suppressed = 0;
}

void journal_set_ratelimit(unsigned b, unsigned ub, unsigned c, unsigned long long i)
{
	journal_set_limits(b, ub, c, i);
	window_start = 0;
	in_window = 0;
	held_forget();
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
	static char f[MAX_FIELDS][FIELD_MAX];
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
	if (ev->held)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_HELD=%s", ev->held);
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

/* USER N (N1 KIND1, N2 KIND2) of the I-th user held back into TEXT, and USER:KIND1:N1
 * USER:KIND2:N2 into FIELD (each of HELD_USER_MAX bytes, cut if need be). */
static void held_user(size_t i, char *text, char *field)
{
	unsigned long n[_EVENT_MAX] = {0};
	size_t kt, kf = 0;
	const char *sep = " (";

	for (size_t k = held[i].kinds; k; k = held_kinds[k - 1].next)
		n[held_kinds[k - 1].kind] = held_kinds[k - 1].n;
	kt = (size_t)snprintf(text, HELD_USER_MAX, "%s %lu", held[i].user, held[i].n);
	*field = 0;
	for (size_t e = 0; e < _EVENT_MAX; e++) {
		if (!n[e])
			continue;
		if (kt < HELD_USER_MAX)
			kt += (size_t)snprintf(text + kt, HELD_USER_MAX - kt, "%s%lu %s", sep, n[e],
					       names[e]);
		if (kf < HELD_USER_MAX)
			kf += (size_t)snprintf(field + kf, HELD_USER_MAX - kf, "%s%s:%s:%lu",
					       kf ? " " : "", held[i].user, names[e], n[e]);
		sep = ", ";
	}
	if (kt < HELD_USER_MAX)
		snprintf(text + kt, HELD_USER_MAX - kt, ")");
}

/*
 * The count of what was held back, from its I-th user on, as one entry of PARTS (0: not yet
 * known, and not told): as many users as fit in one. The I of the next entry, or N_HELD.
 */
static size_t held_part(size_t i, unsigned part, unsigned parts)
{
	static char list[HELD_PART_MAX], field[HELD_PART_MAX], msg[HELD_PART_MAX + 256];
	char text[HELD_USER_MAX], fld[HELD_USER_MAX];
	size_t kl = 0, kf = 0;
	unsigned long n = 0;
	struct event s = {
	    .kind = EVENT_SUPPRESSED, .priority = LOG_WARNING, .message = msg, .sshd_refused = -1};

	list[0] = field[0] = 0;
	for (; i < n_held; i++) {
		held_user(i, text, fld);
		/* Room kept for the last: how many were named for no user. */
		if (kl && (kl + strlen(text) + 64 >= sizeof(list) ||
			   kf + strlen(fld) + 1 >= sizeof(field)))
			break;
		kl +=
		    (size_t)snprintf(list + kl, sizeof(list) - kl, "%s%s", kl ? ", " : ": ", text);
		kf += (size_t)snprintf(field + kf, sizeof(field) - kf, "%s%s", kf ? " " : "", fld);
		kl = kl < sizeof(list) ? kl : sizeof(list) - 1;
		kf = kf < sizeof(field) ? kf : sizeof(field) - 1;
		n += held[i].n;
	}
	if (!parts)
		return i;
	if (i == n_held && held_unnamed) {
		n += held_unnamed;
		if (kl)
			snprintf(list + kl, sizeof(list) - kl, ", and %lu that count for no user",
				 held_unnamed);
	}
	s.count = n;
	s.held = kf ? field : NULL;
	if (parts == 1)
		snprintf(msg, sizeof(msg), "%lu %s held back by the rate limit%s", n,
			 n == 1 ? "entry was" : "entries were", list);
	else
		snprintf(msg, sizeof(msg),
			 "%lu of %lu entries held back by the rate limit (%u of %u)%s", n,
			 suppressed, part, parts, list);
	in_window++;
	emit(&s);
	return i;
}

void journal_flush(void)
{
	unsigned parts = 0;

	/* Told now: its timer has nothing left to wake the loop for. */
	flush_timer = sd_event_source_disable_unref(flush_timer);
	if (!suppressed)
		return;
	for (size_t i = 0; !parts || i < n_held; parts++)
		i = held_part(i, 0, 0);
	for (size_t i = 0, part = 1; part <= parts; part++)
		i = held_part(i, (unsigned)part, parts);
	held_forget();
}

unsigned long long journal_window_end(void)
{
	return window_start ? window_start + interval : now_usec();
}

static void arm_flush(void);

/* Room for one more in *ARRAY (*CAP of SIZE bytes each, N used): 0, or -ENOMEM. */
static int grow(void **array, size_t *cap, size_t n, size_t size)
{
	size_t c = *cap ? *cap * 2 : 64;
	void *p;

	if (n < *cap)
		return 0;
	p = reallocarray(*array, c, size);
	if (!p)
		return -ENOMEM;
	*array = p;
	*cap = c;
	return 0;
}

/* SH's user (USER) in the count of what was held back, added if need be: its place, or -1. A
 * place from an earlier count may be another user's now: the name tells. */
static ssize_t held_find(struct journal_share *sh, const char *user)
{
	size_t i = (size_t)sh->held - 1;

	if (sh->held && i < n_held && !strcmp(held[i].user, user))
		return (ssize_t)i;
	if (n_held >= UINT32_MAX - 1 || grow((void **)&held, &cap_held, n_held, sizeof(*held)) < 0)
		return -1;
	held[n_held] = (struct held_user){.user = strdup(user)};
	if (!held[n_held].user)
		return -1;
	sh->held = (uint32_t)++n_held;
	return (ssize_t)n_held - 1;
}

/* EV is held back: counted, for its user and kind. */
static void hold(const struct event *ev)
{
	ssize_t i;
	size_t k;

	suppressed++;
	arm_flush();
	if (!ev->share || !ev->user || (i = held_find(ev->share, ev->user)) < 0) {
		held_unnamed++;
		return;
	}
	for (k = held[i].kinds; k && held_kinds[k - 1].kind != ev->kind; k = held_kinds[k - 1].next)
		;
	if (!k) {
		if (grow((void **)&held_kinds, &cap_held_kinds, n_held_kinds, sizeof(*held_kinds)) <
		    0) {
			held_unnamed++;
			return;
		}
		held_kinds[n_held_kinds] =
		    (struct held_kind){.next = held[i].kinds, .kind = ev->kind};
		k = held[i].kinds = ++n_held_kinds;
	}
	held[i].n++;
	held_kinds[k - 1].n++;
}

/* What an operator must see at once: a user's first of these about each element in a window
 * is told up to the ceiling. */
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
		*sh = (struct journal_share){.window = window_start, .held = sh->held};
	/* A user's first entry of a kind in the window, or first alert about an element, is told
	 * up to the ceiling; any other within the window's budget: in its first half, whoever's
	 * it is; in the second, kept for others, only within that user's share. */
	first = first_in_window(sh, ev, h);
	room = first ? in_window < ceiling || in_window < burst
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
