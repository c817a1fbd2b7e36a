/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "engine.h"
#include "events.h"
#include "sshdconn.h"

/*
 * A refused connection, as sshd logged it, diagnosed on the model of `sshmend why`: its cause
 * (why's causes, plus no-key-offered and unknown where the log does not say), what to do, and
 * how loud: warning for this system's state, notice for the client's side, info for the rest.
 */

/* The causes the log alone gives besides why's. */
#define DIAGNOSE_NO_KEY_OFFERED "no-key-offered"
#define DIAGNOSE_UNKNOWN "unknown"

/* What the daemon did last to the chain of an attempt's user, for a StrictModes refusal. */
struct chain_note {
	bool looked_after; /* one of the daemon's users */
	uint64_t usec;	   /* the last repair or refusal to repair (CLOCK_REALTIME), 0: none */
	bool refused;
	const char *what; /* the path, and its change or the reason */
};

struct diagnosis {
	enum tell row; /* TELL_LOGIN_SYSTEM, _OPERATOR or _POLICY */
	const char *cause;
	const char *what; /* the cause for a person */
	char *hint;	  /* NULL when there is nothing to add */
	char fingerprints[SSHDCONN_KEYS_MAX * (SSHDLOG_FP_MAX + 1)]; /* space-separated */
};

/*
 * Diagnose attempt A against engine E (its users, keys files, cloud-init); without WITH_HINT
 * the cause alone, which reads no file. NOTE (NULL: not known) is what the daemon did last to
 * the user's chain, which a StrictModes refusal's hint tells. 0 or -ENOMEM.
 */
int diagnose_attempt(const struct engine *e, const struct sshdconn_attempt *a, bool with_hint,
		     const struct chain_note *note, struct diagnosis *ret);
void diagnosis_done(struct diagnosis *d);

/* Diagnose A (NOTE as above) and tell it as one login-refused entry. */
int diagnose_tell(const struct engine *e, const struct sshdconn_attempt *a,
		  const struct chain_note *note);
