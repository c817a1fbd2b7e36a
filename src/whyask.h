/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include "whyscan.h"

/*
 * why_users_with_key(), asked of the running daemon first (whyquery.h): on the running system
 * (no --root), as root, with the daemon's socket there. The daemon answers for the users it looks
 * after, the users of the same configuration and user database, whose keys files it has read
 * since they last changed; why reads the keys files of the others itself (users sshmend.conf
 * leaves out, system users, the users the daemon names as unknown) and merges both in passwd's
 * order, so that the answer is the one the scan gives. No daemon, a daemon that refuses, is busy
 * or slower than WHYQUERY_TIMEOUT_MSEC, a reply that is malformed or of another user set: the
 * scan alone, as without a daemon.
 */
int whyask_users_with_key(const struct engine *e, char *const *patterns, const char *except,
			  const struct key_line *key, size_t max, char ***ret);
