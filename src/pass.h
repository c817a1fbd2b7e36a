/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <sys/stat.h>
#include "chain.h"
#include "finding.h"

/*
 * A pass over many users, run in one go: each user's walk starts from the directories above
 * the home the previous user's walk reached (`/`, `/home`), as they were found then, instead
 * of opening them again; the drop-in directory is looked at once. A change to them while the
 * pass runs is seen by the next one (the daemon watches them); a repair of one ends the reuse.
 */
struct engine_pass;

int pass_new(struct engine_pass **ret);
void pass_free(struct engine_pass *p);

/* Start a pass (ending the one before), or end it: nothing is kept between passes. */
void pass_begin(struct engine_pass *p);
void pass_end(struct engine_pass *p);

/* The chain the next home's walk may start from, or NULL outside a pass. */
const struct chain *pass_base(const struct engine_pass *p);

/*
 * Keep what lay above HOME for the next user's walk, unless REP says an element of it was
 * found drifted: its stat as walked is no longer what is there.
 */
void pass_keep(struct engine_pass *p, struct chain *home, const struct user_report *rep);

/* The fstat() of the drop-in directory DROPIN_FD, taken once a pass; NULL outside one. */
const struct stat *pass_dropin_st(struct engine_pass *p, int dropin_fd);

/* The drop-in directory was opened again: its stat is taken afresh. */
void pass_forget_dropin(struct engine_pass *p);
