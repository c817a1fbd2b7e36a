/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include "engine.h"
#include "whymodel.h"

/* The most names a hint lists. */
#define WHY_HINT_USERS 8

/*
 * What `sshmend why` looks up besides sshd's decision: the shadow entry, the users a key is
 * authorized for, the image's default login user, where else the key stands (another user's
 * drop-in directory, the quarantine, the audit's remembered keys).
 */

#define CLOUD_COMBINED_CONFIG "/run/cloud-init/combined-cloud-config.json"
#define CLOUD_CFG "/etc/cloud/cloud.cfg"
#define CLOUD_CFG_DIR "/etc/cloud/cloud.cfg.d"

/* Read PATH inside ROOTFD whole, at most MAX bytes. */
int why_read_file(int rootfd, const char *path, size_t max, char **ret, size_t *len);

/* USER's shadow entry inside ROOTFD (/etc/shadow; on the running system NSS as well). */
int why_shadow_load(int rootfd, bool live, const char *user, struct why_shadow *ret, char *err,
		    size_t errlen);
void why_shadow_done(struct why_shadow *s);

/*
 * Read the keys file PATH (inside ROOTFD) and call FN for each line that holds a key, with the
 * parsed line (a line sshd refuses for an option, e.g. principals= on a plain key, is passed
 * with REFUSED set). FN returns 0 to go on, 1 to stop, or a negative errno. -ENOENT when the
 * file is missing.
 */
typedef int (*why_line_fn)(void *userdata, const struct key_line *k, unsigned lineno, bool refused);
int why_scan_text(const char *text, size_t len, why_line_fn fn, void *userdata);
int why_scan_file(int rootfd, const char *path, why_line_fn fn, void *userdata);

/*
 * A line of a keys file that holds its key for the question "whose keys files hold this key?":
 * one sshd does not refuse for its options, and not a certificate. The daemon's index of keys
 * (keyindex.c) counts the same lines.
 */
static inline bool why_line_counts(const struct key_line *k, bool refused)
{
	return !refused && !k->certificate;
}

/* Is U one whose keys files are looked through (not EXCEPT, a home that is a path)? */
static inline bool why_user_looked_at(const struct user *u, const char *except)
{
	return !(except && strcmp(u->name, except) == 0) && u->home[0] == '/';
}

/*
 * What another source (the daemon's index of keys, whyask.c) says of some users: IN[i] is true for
 * user i of the database when it answers for that user, HOLDERS are the names of those that hold
 * the key.
 */
struct why_known {
	const bool *in;
	char *const *holders;
};

/*
 * The users other than EXCEPT whose keys files (PATTERNS expanded for each) hold KEY, or, with
 * KEY NULL, that hold any key; at most MAX names, in the order of the user database. A KEY with no
 * blob is looked for by its fingerprint alone. The users KNOWN (may be NULL) answers for are
 * taken from it; the others' keys files are read.
 */
int why_users_with_key(const struct engine *e, char *const *patterns, const char *except,
		       const struct key_line *key, size_t max, const struct why_known *known,
		       char ***ret);

/* The image's default login user from cloud-init's configuration, or NULL. */
char *why_cloud_default_user(int rootfd);

/*
 * Where else FP stands: another user's drop-in directory, USER's quarantine (with the time it
 * was taken), or a key of USER the audit remembers that is gone from the keys files. A
 * sentence for the hint in *ret, or NULL.
 */
int why_key_elsewhere(const struct engine *e, const char *user, const char *fp, char **ret);
/*
 * When the key audit saw FP removed from USER's keys files, and how (by sshmend's key sync or
 * not): 1 with a sentence for the hint in *hint and one for the step's detail in *detail; 0
 * when nothing is recorded.
 */
int why_key_gone(const struct engine *e, const char *user, const char *fp, char **hint,
		 char **detail);

/* Who holds KEY, as why_users_with_key() says without KNOWN (whyask_users_with_key(): the
 * daemon's answer first). */
typedef int (*why_holders_fn)(const struct engine *e, char *const *patterns, const char *except,
			      const struct key_line *key, size_t max, char ***ret);

/*
 * The hint for USER, a name passwd does not know: the users the key is authorized for
 * (AUTHORIZED_FOR), else the image's default login user, else the users with any key, as
 * HOLDERS says (NULL: every keys file read).
 */
int why_unknown_hint(const struct engine *e, const char *user, char *const *authorized_for,
		     why_holders_fn holders, char **ret);

/* NAMES joined with ", " (NULL when there is none). */
int why_join_names(char *const *names, char **ret);
