/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The `keys` command's list: every key line of a user's keys files, with its status. */
struct engine;
struct key_list;
struct user;

/*
 * Every key line in U's keys files, with its status: approved (in the drop-in
 * directory), user (known since the recorded baseline, or no baseline yet), unapproved,
 * invalid. STATE is what audit_state_load() gave (may be NULL).
 */
int engine_list_keys(const struct engine *e, const struct user *u, char *const *state,
		     struct key_list *ret);

/*
 * The last use of each key of L (U's, from engine_list_keys()): when and from where sshd last
 * accepted a login with it, as the daemon recorded in the state directory.
 */
int engine_list_last_use(const struct engine *e, const struct user *u, struct key_list *l);
