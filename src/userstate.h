/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>
#include "audit.h"
#include "engine.h"
#include "journal.h"

/* What the chain's last repair or refusal says: a path, its change or the reason. */
#define USTATE_CHAIN_WHAT_MAX 512

/*
 * What the daemon keeps of each user between heals: what it was told (each refusal, failure
 * and drop-in rejection once), its share of the journal's rate limit, the back-off of a chain
 * that keeps drifting back, and where its key audit stands. The entries themselves are worded
 * by events.c; the timers are the daemon's.
 */
struct ustate {
	/* The fields by size, largest first, so that none is padded: there is one per user. */
	/* The key audit: the keys files as they were at the last one, and what the queued is of. */
	uint64_t audited_sig;
	uint64_t audit_sig;
	/* The back-off of a chain that keeps drifting back. */
	uint64_t last_repair;
	uint64_t flap_window_start;
	uint64_t backoff_until;
	uint64_t backoff_len;
	uint64_t approved_sig; /* the approved set at the last heal, if APPROVED_KNOWN */
	/* The chain's last repair, or refusal to repair (CHAIN_REFUSED): when (CLOCK_REALTIME,
	 * 0: none since the start), and what (allocated at the first, NULL until then: most users'
	 * chains are never repaired), for the diagnosis of sshd's refusals. */
	uint64_t chain_usec;
	char *chain_what;
	sd_event_source *backoff_timer;
	char *logged; /* refused/failed findings already told, to tell each once */
	/* For the metrics: refusals told; the keys by status at the last audit; SSHD_REFUSES: the
	 * last heal left a chain sshd refuses. */
	unsigned long refused_told;
	unsigned keys[KEY_INVALID + 1];
	struct journal_share share; /* what this user's entries had of the rate limit */
	int audit_state_told;	    /* the audit's state at a limit, as told */
	unsigned flap_count;
	bool queued;  /* in the queue of a full pass */
	bool touched; /* in the queue of users an event touched */
	bool audited;
	bool audit_queued;
	bool flapping;	     /* told once per episode */
	bool retell;	     /* the rate limit held back something told once */
	bool approved_known; /* APPROVED_SIG is the approved set at the last heal */
	bool retry;	     /* its last heal failed for a cause that passes: tried again soon */
	bool chain_refused;
	bool sshd_refuses;
};

/* The users the daemon has seen for the first time since they were last counted. */
struct baseline {
	unsigned long users, keys;
};

/* Tell the findings of REP, a heal of S's user, with engine E: a refusal, a failure or a
 * drop-in rejection once, not at every heal. S->retell when the rate limit held one back. */
void ustate_tell_findings(struct ustate *s, const struct engine *e, const struct user_report *rep);
/* Keep what REP's heal, now, repaired of the chain, or refused or failed to: its last such
 * finding. */
void ustate_note_chain(struct ustate *s, const struct userdb *db, const struct user_report *rep);
/* Tell the keys REP's heal moved to the quarantine. */
void ustate_tell_quarantined(struct ustate *s, const struct user_report *rep);

/*
 * Lines DATA (LEN bytes) written to U's keys file after the key sync replaced it: carried into
 * the new one (engine_carry_keys()), told. 1 when they could not all be, 0 when they were (REP
 * filled either way: what the sync replaced in turn, for the caller to follow), or < 0.
 */
int ustate_carry_lines(struct ustate *s, const struct engine *e, const struct user *u,
		       const char *data, size_t len, struct user_report *rep);

/*
 * The key audit of U (SIG: its keys files' signature at its last run), unless they are as at
 * the last audit: what changed is told, a first sight counted in B. S->retell as above.
 */
void ustate_audit(struct ustate *s, const struct engine *e, const struct user *u, uint64_t sig,
		  struct baseline *b);

/*
 * A user whose chain keeps drifting back after each repair (REP, at NOW): true when it is to
 * be left alone until S->backoff_until, longer each time; told once per episode.
 */
bool ustate_flap(struct ustate *s, const struct config *c, const struct user_report *rep,
		 uint64_t now);

/* In back-off: has the drop-in directory changed U's approved keys since the last heal?
 * Asked on the events of U's drop-in directory alone: the daemon does not watch the chain of
 * a user in back-off, so that a fight costs nothing. */
bool ustate_approved_changed(struct ustate *s, const struct engine *e, const struct user *u);

/*
 * What a user's state carries from FROM into TO over a reload: what was told and what is still
 * to tell, its share of the rate limit, its key sync's last approved set, and a back-off,
 * which rewriting /etc/passwd (chfn) must not end.
 */
void ustate_carry(struct ustate *to, struct ustate *from);
void ustate_done(struct ustate *s);
