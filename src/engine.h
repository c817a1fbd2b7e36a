/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include "config.h"
#include "dropin.h"
#include "sshdconf.h"
#include "users.h"

/* The check and repair engine: one user's chains, judged as sshd would, repaired to policy. */

enum engine_mode {
	ENGINE_CHECK,	/* change nothing */
	ENGINE_DRY_RUN, /* change nothing, say what fix would do */
	ENGINE_FIX,
};

enum problem {
	PROBLEM_MODE,
	PROBLEM_OWNER,
	PROBLEM_SYMLINK,
	PROBLEM_HARDLINK,
	PROBLEM_TYPE,
	PROBLEM_MISSING,
	PROBLEM_UNREADABLE,
	PROBLEM_FOREIGN_OWNER,
	PROBLEM_KEYS,		/* the approved keys block differs from the drop-in directory */
	PROBLEM_UNAPPROVED_KEY, /* Exclusive=: a key line outside the approved set */
	PROBLEM_DROPIN,		/* a drop-in line, file or directory that is not used */
	PROBLEM_LABEL,		/* the SELinux label's type is not the policy's for the path */
};

/* Findings about keys rather than modes and owners: syncs follow the operator's drop-ins. */
static inline bool problem_is_keys(enum problem p)
{
	return p == PROBLEM_KEYS || p == PROBLEM_UNAPPROVED_KEY || p == PROBLEM_DROPIN;
}

enum action {
	ACTION_NONE,
	ACTION_WOULD_FIX,
	ACTION_FIXED,
	ACTION_REFUSED,
	ACTION_FAILED,
};

struct finding {
	char *path;
	enum problem problem;
	bool has_state;	   /* the four fields below mean something */
	struct stat found; /* as found */
	uid_t exp_uid;
	gid_t exp_gid;
	mode_t exp_mode;
	bool has_final; /* after a repair attempt */
	uid_t final_uid;
	mode_t final_mode;
	bool sshd_rejects;  /* this element is a reason sshd refuses the keys */
	char *sshd_message; /* sshd's words, when it does */
	enum action action;
	char *reason;	   /* why refused or failed */
	unsigned lineno;   /* PROBLEM_DROPIN: the line of PATH, 0 for the whole file */
	char *fingerprint; /* PROBLEM_UNAPPROVED_KEY: the key's */
	char *comment;	   /* ... and its comment, NULL when none */
	char *cur_label;   /* PROBLEM_LABEL: as found, NULL when none */
	char *exp_label;   /* ... and as restored */
};

struct user_report {
	const struct user *user;
	bool sshd_accepts; /* as found, before any repair */
	struct finding *findings;
	size_t n_findings;
	size_t n_approved;     /* approved keys in the drop-in directory */
	uint64_t approved_sig; /* of their lines: changes when the approved set does */
	char *keys_file;       /* where approved keys go, when there is such a file */
	uint64_t keys_sig; /* identity and times of the keys files found: changes when they do */
	struct dropin_tails tails; /* keys files the sync replaced, for whoever holds them open */
};

struct key_list;

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
void user_report_done(struct user_report *r);

/*
 * Append DATA (whole lines written to a keys file of U after sshmend replaced it) to U's
 * keys file, outside the approved block, as the key sync writes it. With no DATA, the key
 * sync alone.
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
 * Every key line in U's keys files, with its status: approved (in the drop-in
 * directory), user (known since the recorded baseline, or no baseline yet), unapproved,
 * invalid. STATE is what audit_state_load() gave (may be NULL).
 */
int engine_list_keys(const struct engine *e, const struct user *u, char *const *state,
		     struct key_list *ret);

/*
 * The signature of U's approved keys in the drop-in directory, as a key sync's report gives
 * it (struct user_report's approved_sig): without walking the chain or reading keys files.
 */
int engine_approved_sig(const struct engine *e, const struct user *u, uint64_t *ret);

/* The user's first keys file under the home, where approved keys go (malloc'd), or NULL. */
char *engine_keys_file(const struct engine *e, const struct user *u);

/* Does the report hold drift (check) or anything not fixed (fix)? */
bool user_report_has_drift(const struct user_report *r);
bool user_report_has_unresolved(const struct user_report *r);

const char *problem_to_string(enum problem p);
const char *action_to_string(enum action a);
