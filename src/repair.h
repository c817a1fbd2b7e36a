/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "chain.h"
#include "run.h"

/*
 * Judge and repair one keys file's chain: each element as sshd sees it (verdict.c) and as
 * policy wants it (policy.c), repaired on its descriptor in ENGINE_FIX mode, each a finding
 * in the run's report; every directory it depends on handed to the run's visit callback.
 */

/*
 * The keys file PATH of the run's user, its home's chain HOME. PREV is the chain the previous
 * keys file of the user left (empty at first): only what it did not reach is walked; it is
 * replaced by this one's.
 */
int repair_keys_file(struct run *r, const char *path, const struct chain *home, struct chain *prev);

/*
 * Why U's home is one sshmend never repairs, or NULL: none or a relative one, a directory
 * of the system, or one passwd gives to another user too (both would be given it in turn).
 * HOME is its chain; the path it resolved to is what counts.
 */
const char *repair_odd_home(const struct user *u, const struct chain *home);
