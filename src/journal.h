#pragma once
#include <stdbool.h>
#include <sys/types.h>
#include "catalog-ids.h"

/*
 * The one logging sink of the daemon: structured journal entries with a MESSAGE_ID and
 * SSHMEND_* fields where the journal socket exists, one readable line on stderr
 * otherwise. Entries are rate-limited; what the limit held back is counted later.
 */
struct event {
	enum event_kind kind;
	int priority; /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO */
	const char *message;
	const char *user;
	const char *path;
	bool has_modes;
	mode_t old_mode, new_mode;
	const char *old_owner, *new_owner;
	int sshd_refused; /* 1 or 0; -1: not applicable */
	const char *problem;
	const char *reason;
	unsigned long count; /* SSHMEND_COUNT, for summaries */
	const char *fingerprint;
	const char *comment;
	const char *fingerprints_added, *fingerprints_removed; /* space-separated, keys-synced */
};

const char *event_name(enum event_kind k);
const char *event_message_id(enum event_kind k);

void journal_log(const struct event *ev);

/* Tell now how many entries the rate limit held back, if any. */
void journal_flush(void);

/* Where entries go: auto (journal if its socket exists), or forced for tests. */
enum journal_target {
	JOURNAL_AUTO,
	JOURNAL_STDERR,
};
void journal_set_target(enum journal_target t);

/* A test hook: every entry that passes the rate limit is also handed to FN. */
void journal_set_capture(void (*fn)(const struct event *ev, void *userdata), void *userdata);

/* Rate limit: at most BURST entries per INTERVAL_USEC (the defaults suit a daemon). */
void journal_set_ratelimit(unsigned burst, unsigned long long interval_usec);
