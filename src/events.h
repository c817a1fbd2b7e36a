/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdint.h>
#include "engine.h"
#include "journal.h"
#include "macro.h"

/*
 * The words of the journal: every entry the daemon writes is worded here, and one table says
 * which event each is (SSHMEND_EVENT and MESSAGE_ID, from catalog-ids.h) and at which
 * priority. A finding's row is found by its problem and what was done about it (its action);
 * the rows of what the daemon tells of itself are about no finding.
 */

/* Every kind of entry, one row of the table each; a finding takes the first row it matches. */
enum tell {
	TELL_CARRIED,	     /* lines written to a replaced keys file, carried over */
	TELL_NOT_CARRIED,    /* ... that could not be */
	TELL_SYNCED,	     /* the approved keys written into a keys file */
	TELL_QUARANTINED,    /* Exclusive=: a key moved to the quarantine */
	TELL_NOT_APPLIED,    /* Exclusive= cannot apply: the keys outside the approved set stay */
	TELL_KEY_REJECTED,   /* a drop-in line that is not written */
	TELL_DROPIN_IGNORED, /* a drop-in file or directory that is not used */
	TELL_REPAIRED,	     /* a chain element repaired, in a state sshd accepted */
	TELL_UNLOCKED,	     /* ... in a state sshd refused: the user was locked out */
	TELL_LEFTOVER,	     /* a temporary file of a key sync cut short, removed */
	TELL_REFUSED,	     /* a repair sshmend will not make */
	TELL_FAILED,	     /* a repair that failed */
	TELL_UNAPPROVED,     /* the key audit: a key outside the approved set appeared */
	TELL_REMOVED,	     /* the key audit: a key is gone */
	TELL_BASELINE,	     /* the key audit: the users' keys first recorded */
	TELL_FLAPPING,	     /* a user's chain keeps drifting back: a back-off */
	TELL_STARTED,
	TELL_RELOADED,
	TELL_STOPPING,
	TELL_RESCAN,	     /* the inotify queue overflowed */
	TELL_WATCH_LIMIT,    /* no more inotify watches */
	TELL_CONFIG_ERROR,   /* a reload's configuration cannot be used */
	TELL_CONFIG_WARNING, /* a part of the configuration is ignored */
	TELL_INTERNAL_ERROR, /* sshmend itself failed at something */
	TELL_LOGIN_SYSTEM,   /* sshd refused a login for this system's state (chain, account) */
	TELL_LOGIN_OPERATOR, /* ... for the client's side: the name, the key */
	TELL_LOGIN_POLICY, /* ... for sshd's configuration, or for a reason the log does not say */
	TELL_LOGIN_NOISE,  /* the refused logins that got no entry of their own, counted */
	_TELL_MAX,
};

/* The finding's own (problem, action) is enough to choose its row, but for these. */
enum tell_when {
	WHEN_ANY,
	WHEN_CARRY,	   /* lines carried into a replaced keys file */
	WHEN_SSHD_ACCEPTS, /* sshd accepted the user's keys as found */
	WHEN_SSHD_REFUSES,
	WHEN_LINE, /* a drop-in finding of one line */
	WHEN_FILE, /* ... of a whole file or directory */
};

struct tell_row {
	int problem; /* enum problem; TELL_ANY_CHAIN, TELL_ANY_PROBLEM, or TELL_NO_FINDING */
	int action;  /* enum action; TELL_UNDONE: refused or failed; TELL_NO_FINDING */
	enum tell_when when;
	enum event_kind kind;
	int priority;
};

#define TELL_NO_FINDING (-1)
#define TELL_ANY_CHAIN (-2)   /* any problem of a chain element: not a keys problem */
#define TELL_ANY_PROBLEM (-3) /* any problem */
#define TELL_UNDONE (-2)      /* ACTION_REFUSED or ACTION_FAILED */

/* The row of T. */
const struct tell_row *events_row(enum tell t);

/* The row finding FI of REP takes (CARRY: it is of lines carried into a replaced keys file);
 * -1 for a finding that is not told (nothing was done, or would be). */
int events_finding_row(const struct user_report *rep, const struct finding *fi, bool carry);

/* What the wording of a finding takes besides it. */
struct tell_extra {
	const struct userdb *db;     /* the owners' names of a repair */
	const char *added, *removed; /* TELL_SYNCED: the fingerprints (space-separated), or NULL */
	size_t carried;		     /* TELL_CARRIED: how many bytes */
	struct journal_share *share; /* the user's share of the rate limit */
};

/*
 * Tell finding FI of REP (CARRY as for events_finding_row()): journal_log()'s result (0, or
 * -EAGAIN when the rate limit held it back); 1 when it is not told by itself: a key left
 * outside the approved set (events_not_applied()), one quarantined (events_key()).
 */
int events_finding(const struct user_report *rep, const struct finding *fi, bool carry,
		   const struct tell_extra *x);

/* Exclusive= cannot apply for USER (WHY): N_KEPT keys stay in KEYS_FILE. */
int events_not_applied(const char *user, const char *keys_file, const char *why, size_t n_kept,
		       struct journal_share *share);

/* T (TELL_UNAPPROVED, TELL_REMOVED, TELL_QUARANTINED) of USER's key FP, with COMMENT, in PATH. */
int events_key(enum tell t, const char *user, const char *path, const char *fp, const char *comment,
	       struct journal_share *share);

/* The keys of USERS users, KEYS keys in all, recorded as the baseline. */
void events_baseline(unsigned long users, unsigned long keys);

/* USER's PATH drifted back (KEYS: its approved keys block was undone) more than THRESHOLD
 * times in WINDOW_USEC: a back-off of BACKOFF_USEC at first. */
void events_flapping(const char *user, const char *path, bool keys, unsigned threshold,
		     uint64_t window_usec, uint64_t backoff_usec, struct journal_share *share);

void events_started(size_t users, size_t paths, unsigned long repairs);
void events_reloaded(const char *why, size_t users);
void events_stopping(unsigned signo, unsigned long repairs);
void events_rescan(void);
/* NO_INSTANCE: not a watch was to be had, for want of an inotify instance. */
void events_watch_limit(uint64_t every_usec, bool no_instance);
/* PATH, a temporary file of a write cut short outside any user's chain, removed. */
void events_leftover(const char *path);
/* A reload that failed for WHY: the old configuration stays. */
void events_config_error(const char *why);
void events_config_warning(const char *warning);
/* What sshmend itself failed at, about USER (NULL: about none). */
void events_internal_error(const char *user, const char *fmt, ...) _printf_(2, 3);

/* A login sshd refused, as sshmend diagnosed it from sshd's journal lines. */
struct login_refusal {
	const char *user;	  /* as the client typed it */
	const char *addr;	  /* the client's address */
	int port;		  /* -1 when sshd named none */
	const char *cause;	  /* the cause's name (`sshmend why`'s, no-key-offered, unknown) */
	const char *what;	  /* the cause, for a person */
	const char *fingerprints; /* the keys offered, space-separated, or NULL */
	const char *hint;	  /* what to do, or NULL */
};

/* Tell login refusal R in row T (a TELL_LOGIN_* row): journal_log()'s result. */
int events_login_refused(enum tell t, const struct login_refusal *r);

/* TOTAL refused logins that got no entry of their own in the last PERIOD_USEC: SUMMARY. */
void events_login_noise(unsigned long total, uint64_t period_usec, const char *summary);
