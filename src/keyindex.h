/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "engine.h"
#include "sha256.h"

/*
 * The daemon's index of keys: for each fingerprint, which of its users' keys files hold it, read
 * as `sshmend why` reads them (whyscan.c: the same files, the same lines), so that the daemon can
 * answer why's question "whose keys files hold this key?" (whyquery.c) without reading 10,000
 * users' files. A user's keys are read again at each heal of the user, which every change of its
 * keys files brings; what the daemon cannot vouch for is "unknown", and why reads it itself.
 */

struct keyindex;

int keyindex_new(struct keyindex **ret);
void keyindex_free(struct keyindex *x);
/* The calls that change the index take a NULL one (a daemon under --root keeps none): no-ops. */

/*
 * The digest of the user set E selects (USERS, N of them, in order) and the AuthorizedKeysFile
 * patterns: the daemon's and why's are equal when both read the same configuration and user
 * database, and only then is the daemon's answer why's.
 */
int keyindex_digest(const struct engine *e, const struct user *const *users, size_t n,
		    uint8_t out[SHA256_LEN]);

/* Forget everything (a start, a reload): USERS (N, borrowed until the next reset) of E, none
 * known yet. */
int keyindex_reset(struct keyindex *x, const struct engine *e, const struct user *const *users,
		   size_t n);
/*
 * Read user I's keys files (E: the engine of the last reset), as why would: known afterwards,
 * unless one of them is reached through a symlink, is not a regular file, or has another name (why
 * reads those itself). < 0 only when memory is short (then the user is unknown).
 */
int keyindex_read_user(struct keyindex *x, const struct engine *e, size_t i);
/*
 * User I was healed: its keys files are to be read again (keyindex_refresh()), in idle time, not
 * in the heal, which a storm of heals would slow. Not known until then (keyindex_known()).
 */
void keyindex_stale(struct keyindex *x, size_t i);
/*
 * Read again up to MAX stale users' keys files; how many are stale still.
 */
size_t keyindex_refresh(struct keyindex *x, size_t max);
/* User I's keys are not known now (a heal that failed, a user backed off and unwatched). */
void keyindex_forget(struct keyindex *x, size_t i);
/* No user's keys are known now (events were lost: each is read again at its next heal). */
void keyindex_forget_all(struct keyindex *x);
/* Nothing can be vouched for (the watch limit reached: changes may go unseen), or again. */
void keyindex_set_blind(struct keyindex *x, bool blind);

/* The state a question is answered from. */
bool keyindex_blind(const struct keyindex *x);
const uint8_t *keyindex_get_digest(const struct keyindex *x);
size_t keyindex_n_users(const struct keyindex *x);
const struct user *keyindex_user(const struct keyindex *x, size_t i);
bool keyindex_known(const struct keyindex *x, size_t i);
/*
 * The known users other than EXCEPT whose keys files hold FP (any key when NULL), in the order of
 * the user set, at most MAX: their numbers in RET. Returns how many.
 */
size_t keyindex_holders(const struct keyindex *x, const char *fp, const char *except, size_t max,
			size_t *ret);
