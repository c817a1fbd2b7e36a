/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include "config.h"
#include "dropin.h"
#include "finding.h"
#include "keylist.h"
#include "sshdconf.h"
#include "users.h"

/* The check and repair engine: one user's chains, judged as sshd would, repaired to policy. */

enum engine_mode {
	ENGINE_CHECK,	/* change nothing */
	ENGINE_DRY_RUN, /* change nothing, say what fix would do */
	ENGINE_FIX,
};

struct engine {
	int rootfd;
	char *root; /* host path of the root, NULL for "/" */
	struct userdb *db;
	struct sshd_config sshd;
	struct config cfg;
	enum sshd_flavor flavor;     /* resolved: never FLAVOR_AUTO */
	char **keys_files;	     /* AuthorizedKeysFile patterns in force */
	int dropin_fd;		     /* cfg.dropin_dir, held open (O_PATH); -1 when there is none */
	int dropin_error;	     /* why it could not be opened, when not simply missing */
	struct stat dropin_st;	     /* its fstat() when opened: its identity, for watches */
	struct label_policy *labels; /* NULL: SELinux labels are not judged */
	struct engine_pass *pass;    /* between engine_pass_begin() and engine_pass_end() */
	bool sweep_leftovers;	     /* a start (fix, the daemon's first pass): a fix removes the
					key sync's temporary files left beside each keys file */
};

/* Load users, sshd's and our configuration for ROOT (NULL: the running system). */
int engine_open(const char *root, const char *config_path, struct engine **ret, char *err,
		size_t errlen);
void engine_free(struct engine *e);

/*
 * (Re)open the drop-in directory by its path, as the engine holds it for every user's
 * key sync: engine_open() does, and a long-running caller again when the directory may
 * have been replaced.
 */
void engine_open_dropin(struct engine *e);

/*
 * A pass over many users, run in one go: until engine_pass_end(), each user's walk starts
 * from the directories above the home the previous user's walk reached (`/`, `/home`), as
 * they were found then, instead of opening them again. A change to them while the pass runs
 * is seen by the next one (the daemon watches them); a repair of one ends the reuse.
 */
void engine_pass_begin(const struct engine *e);
void engine_pass_end(const struct engine *e);

/*
 * The users to check: NAMES if given (an unknown one is -ENOENT with its name in
 * ERR), else login users by policy. *ret holds pointers into the user database.
 */
int engine_select_users(const struct engine *e, char *const *names, const struct user ***ret,
			size_t *n, char *err, size_t errlen);

/*
 * Called for every (directory, name) whose change could change the user's chains:
 * each directory of a chain with the name of the next element, the name where a
 * walk stopped, and the directory of each symlink met. NAME is "" for the root itself.
 * DIRFD is a descriptor the walk checked; ST, its fstat() (NULL when not at hand).
 */
typedef int (*engine_visit_fn)(void *userdata, int dirfd, const struct stat *st, const char *name);

/*
 * Check (and with ENGINE_FIX repair) every chain of U, then bring the approved keys
 * block of U's first keys file under home in line with the drop-in directory; VISIT
 * may be NULL.
 */
int engine_run_user(const struct engine *e, const struct user *u, enum engine_mode mode,
		    engine_visit_fn visit, void *userdata, struct user_report *ret);

/*
 * Append DATA (whole lines written to a keys file of U after sshmend replaced it) to U's
 * keys file, outside the approved block, as the key sync writes it. With no DATA, the key
 * sync alone. 1 when DATA could not be written (the keys file or its directory is refused,
 * missing or failed: *RET's findings say why, when there is a finding to make): the caller
 * keeps it, to offer again.
 */
int engine_carry_keys(const struct engine *e, const struct user *u, const char *data, size_t len,
		      struct user_report *ret);

/*
 * Approve LINE for U: write it to NAME in U's directory of the drop-in directory (see
 * dropin_approve(); WHY says why a line is not approved), made when missing, then bring U's
 * approved block in line at once, as engine_carry_keys() does.
 */
int engine_approve_key(struct engine *e, const struct user *u, const char *name, const char *line,
		       char *why, size_t whylen, struct user_report *ret);

/*
 * The signature of U's approved keys in the drop-in directory, as a key sync's report gives
 * it (struct user_report's approved_sig): without walking the chain or reading keys files.
 */
int engine_approved_sig(const struct engine *e, const struct user *u, uint64_t *ret);

/* The user's first keys file under the home, where approved keys go (malloc'd), or NULL. */
char *engine_keys_file(const struct engine *e, const struct user *u);
