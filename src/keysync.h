/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "chain.h"
#include "dropin.h"
#include "run.h"

/*
 * The key sync of one user's run: the approved keys of the drop-in directory merged into the
 * user's keys file (run->target) with a safe replace, lines written to a replaced keys file
 * carried over (run->carry), and with Exclusive= the unapproved keys moved to the quarantine.
 * Each change or refusal is a finding in the run's report.
 */

/* Sync the run's user's keys; HOME is the home's chain. */
int keysync_run(struct run *r, const struct chain *home);

/* U's approved keys, from the drop-in directory the engine holds open. -EINVAL: none. */
int keysync_load(const struct engine *e, const struct user *u, struct dropin_set *set);

/* The signature of SET's approved lines: changes when the approved set does. */
uint64_t keysync_approved_sig(const struct dropin_set *set);

/*
 * Hand VISIT U's places in the drop-in directory the engine holds open (its entry for U, and
 * what is in U's directory, when there is one): where a change of U's approved keys shows.
 */
void keysync_visit_dropin(const struct engine *e, const struct user *u, engine_visit_fn visit,
			  void *userdata);

/* Does Exclusive= apply to U: no key but the approved ones? */
bool keysync_is_exclusive(const struct engine *e, const struct user *u);
