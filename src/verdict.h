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
#define VERDICT_MESSAGE_MAX 4200

struct verdict {
	bool accepts;
	char message[VERDICT_MESSAGE_MAX]; /* what sshd would log, empty when it accepts */
	char blamed[4096];		   /* the element sshd's message names */
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

/*
 * sshd's decision on U's keys file PATH (IN without home_realpath: it is found here) as the file
 * system under ROOTFD stands: the home and PATH resolved as sshd would walk them, judged by
 * verdict_keys_file(). 0, or a negative errno when they cannot be walked at all.
 */
int verdict_path(int rootfd, const struct verdict_input *in, const char *path, struct verdict *v);

/* sshd's MESSAGE without the "Authentication refused: " it puts before safe_path()'s words. */
const char *verdict_message_body(const char *message);

/*
 * What sshd blames element I of C for, C being the chain of the keys file PATH that
 * verdict_keys_file() judged V: NULL when nothing, else its words (in BUF, or V's message).
 * Each element is judged on its own, as if what comes before it passed: the search sshd needs
 * on a directory, the read on the file, safe_path() on the elements it checks; and the
 * element V blames, for what stopped the walk.
 */
const char *verdict_element(const struct verdict_input *in, const char *path, const struct chain *c,
			    size_t i, const struct verdict *v, char *buf, size_t len);

/*
 * The same for the directory EL, walked on the way to the keys file PATH before a symlink
 * led elsewhere: sshd must search it. NULL, or its words in BUF.
 */
const char *verdict_search_element(const struct verdict_input *in, const char *path,
				   const struct chain_elem *el, char *buf, size_t len);

/* Does the owner and mode of ST pass safe_path() for this user and flavour? */
bool verdict_secure(const struct verdict_input *in, const struct stat *st);

/* Could the user search (X_OK), read (R_OK) or write (W_OK) an inode with this stat? Mode bits
 * only. */
bool verdict_user_may(const struct user *u, const struct stat *st, int what);

/* The same, with the inode's POSIX ACL evaluated as the kernel does (FD: O_PATH, or -1). */
bool verdict_user_may_fd(const struct user *u, int fd, const struct stat *st, int what);

/* Does a POSIX ACL on the inode (FD: O_PATH) deny the user what its mode bits would grant? */
bool verdict_acl_denies(const struct user *u, int fd, const struct stat *st, int what);
