/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include "chain.h"
#include "config.h"
#include "users.h"

/*
 * Would sshd read this keys file? A model of user_key_allowed() and safe_path():
 * opened as the user (search on every directory looked up, read on the file), a
 * regular file, and with StrictModes the owner and 022 rule on the file and every
 * directory of its realpath up to the user's home (up to "/" outside it).
 */
struct verdict {
	bool accepts;
	char message[4200]; /* what sshd would log, empty when it accepts */
	char blamed[4096];  /* the element sshd's message names */
};

struct verdict_input {
	const struct userdb *db;
	const struct user *user;
	bool strict_modes;
	enum sshd_flavor flavor;   /* FLAVOR_UPSTREAM or FLAVOR_DEBIAN */
	const char *home_realpath; /* NULL when the home cannot be resolved */
};

void verdict_keys_file(const struct verdict_input *in, const char *path, const struct chain *c,
		       struct verdict *v);

/* Does the owner and mode of ST pass safe_path() for this user and flavour? */
bool verdict_secure(const struct verdict_input *in, const struct stat *st);

/* Could the user search (X_OK), read (R_OK) or write (W_OK) an inode with this stat? Mode bits
 * only. */
bool verdict_user_may(const struct user *u, const struct stat *st, int what);

/* The same, with the inode's POSIX ACL evaluated as the kernel does (FD: O_PATH, or -1). */
bool verdict_user_may_fd(const struct user *u, int fd, const struct stat *st, int what);

/* Does a POSIX ACL on the inode (FD: O_PATH) deny the user what its mode bits would grant? */
bool verdict_acl_denies(const struct user *u, int fd, const struct stat *st, int what);
