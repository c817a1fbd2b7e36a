/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>
#include "catalog-ids.h"

/*
 * The one logging sink of the daemon: structured journal entries with a MESSAGE_ID and
 * SSHMEND_* fields where the journal socket exists, one readable line on stderr
 * otherwise. Entries are rate-limited; what the limit held back is counted later, with
 * the users it was about.
 *
 * The limit is shared by all users, so that no user can spend it for everyone: the second
 * half of each window is kept for users who have had less than a share of it, and a user's
 * first entry of each kind, and first drift, refusal, failure or flapping of each element, is
 * told even when the rest of the window is spent, up to a ceiling that keeps journald's own
 * limit, and its CPU time, within bounds. Past the ceiling nothing but the entries that frame
 * the others is told by itself: what is held back is counted for each user and kind, and the
 * count names every user held back, with how many of each kind, over as many entries as it
 * takes.
 */

/* What one user has had of the current window: kept by the caller, one per user, zeroed at
 * first, and handed with each of that user's entries (struct event's share). */
#define JOURNAL_SHARE_ELEMENTS 8
struct journal_share {
	unsigned long long window; /* the window counted in */
	unsigned n;		   /* entries told in it */
	unsigned kinds;		   /* 1 << kind for each kind told in it */
	/* The elements (kind and path) of the drifts, refusals, failures and flapping told in
	 * it: each element's first is told up to the ceiling. */
	uint32_t elements[JOURNAL_SHARE_ELEMENTS];
	unsigned n_elements;
	/* Where the count of what was held back may have this user: its place there, +1 (0: none),
	 * taken only when the name there is this user's. */
	uint32_t held;
};

struct event {
	enum event_kind kind;
	int priority; /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO */
	const char *message;
	const char *user;
	const char *path;
	bool has_modes;
	mode_t old_mode, new_mode;
	const char *old_owner, *new_owner;
	const char *old_label, *new_label; /* SELinux labels, for a repair of one */
	int sshd_refused;		   /* 1 or 0; -1: not applicable */
	const char *problem;
	const char *reason;
	unsigned long count; /* SSHMEND_COUNT, for summaries */
	const char *fingerprint;
	const char *comment;
	const char *fingerprints_added, *fingerprints_removed; /* space-separated, keys-synced */
	const char *remote_addr, *cause, *hint; /* login-refused: the client, why, what to do */
	struct journal_share *share;		/* USER's, NULL: the entry counts for no user */
	const char *held; /* SSHMEND_HELD, for summaries: "USER:KIND:COUNT ..." */
};

const char *event_name(enum event_kind k);
const char *event_message_id(enum event_kind k);

/*
 * Log EV: 0 when told, -EAGAIN when the rate limit held it back (counted, and told as a
 * number later): an entry that is told once must then not be taken as told.
 */
int journal_log(const struct event *ev);

/* Tell now how many entries the rate limit held back, if any, and for whom. */
void journal_flush(void);

/* When the current window of the rate limit ends (CLOCK_MONOTONIC, microseconds). */
unsigned long long journal_window_end(void);

/* Where entries go: auto (journal if its socket exists), or forced for tests. */
enum journal_target {
	JOURNAL_AUTO,
	JOURNAL_STDERR,
};
void journal_set_target(enum journal_target t);

/* A test hook: every entry that passes the rate limit is also handed to FN. */
void journal_set_capture(void (*fn)(const struct event *ev, void *userdata), void *userdata);

/* The rate limit's defaults: entries per window, the most of a window's second half one user's
 * entries take, the most a window holds with users' first entries (past it, they are counted:
 * journald's time on a storm over thousands of homes stays bounded), the window. */
#define JOURNAL_RATELIMIT_BURST 200
#define JOURNAL_RATELIMIT_USER_BURST 20
#define JOURNAL_RATELIMIT_CEILING 1000
#define JOURNAL_RATELIMIT_INTERVAL_USEC (10ull * 1000000ull)

/* The limits sshmend.conf sets ([Daemon] LogRateLimit*), the current window's counts kept. */
void journal_set_limits(unsigned burst, unsigned user_burst, unsigned ceiling,
			unsigned long long interval_usec);

/*
 * Rate limit: at most BURST entries per INTERVAL_USEC; past BURST / 2, only for a user who
 * has had fewer than USER_BURST; a user's first entry of a kind, or first alert about an
 * element, passes up to CEILING entries per INTERVAL_USEC; counted afresh.
 */
void journal_set_ratelimit(unsigned burst, unsigned user_burst, unsigned ceiling,
			   unsigned long long interval_usec);

/*
 * Send entries from E's loop without ever blocking it, and after its work of a higher priority
 * than PRIORITY: each entry waits in a bounded queue until the loop is idle, or while journald
 * does not take it (it is stopped, or its queue is full); past the bound, the oldest are sent
 * at once, and only what journald does not take then is dropped, its number told once the
 * queue has drained. Without it (the command line), entries are sent as libsystemd sends them.
 */
int journal_attach(sd_event *e, int64_t priority);
/* Send what still waits (a short while at most), then forget the loop. */
void journal_detach(void);
