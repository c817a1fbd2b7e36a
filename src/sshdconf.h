/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include "sshdlines.h"
#include "users.h"

#define SSHD_CONFIG_PATH "/etc/ssh/sshd_config"
#define SSHD_DEFAULT_AUTHORIZED_KEYS ".ssh/authorized_keys .ssh/authorized_keys2"

/* What sshmend needs of sshd's configuration. */
struct sshd_config {
	char **authorized_keys; /* global value (or sshd's default), then every Match block's */
	bool strict_modes;
	char **files;	     /* every configuration file read, for the watcher */
	char **include_dirs; /* directories of Include globs */
};

/*
 * Read sshd_config at PATH (inside ROOTFD; NULL: the default), following Include.
 * A missing main file means sshd's defaults. On a syntax error returns -EINVAL and
 * writes "FILE:LINE: why" to ERR.
 */
int sshd_config_load(int rootfd, const char *root_prefix, const char *path, struct sshd_config *ret,
		     char *err, size_t errlen);
void sshd_config_done(struct sshd_config *c);

/*
 * One line of sshd's configuration, as sshd_config_walk() hands it over. LINE 0 says that FILE
 * begins (ARGS NULL): *STATE then holds the state of the line that includes it (0 for the main
 * file), for the caller to derive this file's from. ARGS are split as sshd splits them (ARGS[0] the
 * keyword); REST is the text after the keyword as written (AuthorizedKeysCommand takes it whole).
 */
struct sshd_line {
	const char *file;
	unsigned line;
	unsigned depth; /* 0 for the main file */
	char **args;
	const char *rest;
	unsigned *state; /* the caller's, one per file: an included file starts with a copy */
};

/* Return 0 to go on, or a negative errno (after writing "FILE:LINE: why" to ERR for -EINVAL). */
typedef int (*sshd_line_fn)(void *userdata, const struct sshd_line *l);

/*
 * Walk sshd_config at PATH (inside ROOTFD; NULL: the default) in the order sshd reads it:
 * every line to FN, the files an Include names (globs, relative to /etc/ssh) walked where the
 * Include stands, each after FN saw the Include line. A missing main file walks nothing.
 * FILES and INCLUDE_DIRS (either may be NULL) collect what was read.
 */
int sshd_config_walk(int rootfd, const char *root_prefix, const char *path, sshd_line_fn fn,
		     void *userdata, char ***files, char ***include_dirs, char *err, size_t errlen);

/*
 * Expand one AuthorizedKeysFile entry for U: %% %h %u %U, and a relative result
 * is relative to the home directory. -EINVAL on an unknown token.
 */
int sshd_expand_authorized_keys(const char *pattern, const struct user *u, char **ret);
