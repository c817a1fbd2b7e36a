/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdint.h>
#include "engine.h"

/*
 * After a one-shot fix: the keys files it replaced, followed while another process still
 * holds one open for writing (cat >>~/.ssh/authorized_keys, a key being pasted), so that
 * what it writes there is carried into the new file, as the daemon does for as long as it
 * runs. Without a writer, nothing is waited for.
 */
/* How long sshmend fix waits for a writer that still holds a file it replaced. */
#define FOLLOW_FIX_USEC (10 * 1000000ULL)

struct follow;

int follow_new(struct follow **ret);
void follow_free(struct follow *f);

/* Take over the replaced files REP holds for U (REP keeps none). */
int follow_take(struct follow *f, const struct user *u, struct user_report *rep);

/*
 * Carry what is written to them while any is held open for writing, for at most
 * TIMEOUT_USEC. Returns 1 if one was still held when it gave up, 0 if none was, or a
 * negative errno.
 */
int follow_wait(struct follow *f, const struct engine *e, uint64_t timeout_usec);
