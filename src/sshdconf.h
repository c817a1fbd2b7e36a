/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
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

/* Split a line as sshd does: blanks separate, quotes group, '#' starts a comment. */
int sshd_split_args(const char *line, char ***ret);

/*
 * Expand one AuthorizedKeysFile entry for U: %% %h %u %U, and a relative result
 * is relative to the home directory. -EINVAL on an unknown token.
 */
int sshd_expand_authorized_keys(const char *pattern, const struct user *u, char **ret);
