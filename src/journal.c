#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>
#include "journal.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"
#define RATELIMIT_BURST 200
#define RATELIMIT_INTERVAL_USEC (10ull * 1000000ull)
#define MAX_FIELDS 20

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
static unsigned burst = RATELIMIT_BURST;
static unsigned long long interval = RATELIMIT_INTERVAL_USEC;
static unsigned long long window_start;
static unsigned in_window;
static unsigned long suppressed;

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

void journal_set_ratelimit(unsigned b, unsigned long long i)
{
	burst = b;
	interval = i;
	window_start = 0;
	in_window = 0;
	suppressed = 0;
}

static unsigned long long now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

static int add(struct iovec *iov, int n, char *store, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

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

static void emit(const struct event *ev)
{
	static char f[MAX_FIELDS][4352];
	struct iovec iov[MAX_FIELDS];
	int n = 0;
	bool journal = target == JOURNAL_AUTO && access(JOURNAL_SOCKET, W_OK) == 0;

	if (capture)
		capture(ev, capture_data);
	if (!journal) {
		fprintf(stderr, "sshmend: %s [event=%s", ev->message, names[ev->kind]);
		if (ev->has_modes)
			fprintf(stderr, " old=%04o,%s new=%04o,%s", (unsigned)ev->old_mode,
				ev->old_owner, (unsigned)ev->new_mode, ev->new_owner);
		if (ev->sshd_refused >= 0)
			fprintf(stderr, " sshd_refused=%d", ev->sshd_refused);
		if (ev->count)
			fprintf(stderr, " count=%lu", ev->count);
		if (ev->fingerprint)
			fprintf(stderr, " fingerprint=%s", ev->fingerprint);
		fputs("]\n", stderr);
		return;
	}
	n = add(iov, n, f[n], sizeof(f[n]), "MESSAGE=%s", ev->message);
	n = add(iov, n, f[n], sizeof(f[n]), "MESSAGE_ID=%s", ids[ev->kind]);
	n = add(iov, n, f[n], sizeof(f[n]), "PRIORITY=%d", ev->priority);
	n = add(iov, n, f[n], sizeof(f[n]), "SYSLOG_IDENTIFIER=sshmend");
	n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_EVENT=%s", names[ev->kind]);
	if (ev->user)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_USER=%s", ev->user);
	if (ev->path)
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_PATH=%s", ev->path);
	if (ev->has_modes) {
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_OLD_MODE=%04o", (unsigned)ev->old_mode);
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_NEW_MODE=%04o", (unsigned)ev->new_mode);
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_OLD_OWNER=%s", ev->old_owner);
		n = add(iov, n, f[n], sizeof(f[n]), "SSHMEND_NEW_OWNER=%s", ev->new_owner);
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
	sd_journal_sendv(iov, n);
}

void journal_flush(void)
{
	unsigned long held = suppressed;
	char msg[128];
	struct event s = {.kind = EVENT_SUPPRESSED, .priority = LOG_WARNING, .message = msg,
			  .sshd_refused = -1, .count = held};

	suppressed = 0;
	if (!held)
		return;
	snprintf(msg, sizeof(msg), "%lu %s held back by the rate limit", held,
		 held == 1 ? "entry was" : "entries were");
	in_window++;
	emit(&s);
}

void journal_log(const struct event *ev)
{
	unsigned long long now = now_usec();
	/* These frame everything else, or say that something was missed: always told. */
	bool always = ev->kind == EVENT_STARTED || ev->kind == EVENT_STOPPING ||
		      ev->kind == EVENT_RELOADED || ev->kind == EVENT_RESCAN ||
		      ev->kind == EVENT_WATCH_LIMIT || ev->kind == EVENT_KEYS_BASELINE;

	if (window_start == 0 || now - window_start >= interval) {
		window_start = now;
		in_window = 0;
		journal_flush();
	}
	if (ev->kind == EVENT_STOPPING)
		journal_flush();
	if (in_window >= burst && !always) {
		suppressed++;
		return;
	}
	in_window++;
	emit(ev);
}
