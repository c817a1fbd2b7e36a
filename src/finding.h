/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include "dropin.h"
#include "users.h"

/* What one user's run found, element by element, and what it did about each. */

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
	PROBLEM_LEFTOVER,	/* a temporary file of a key sync that was cut short (kill -9) */
};

/* Findings about keys rather than modes and owners: syncs follow the operator's drop-ins. */
static inline bool problem_is_keys(enum problem p)
{
	return p == PROBLEM_KEYS || p == PROBLEM_UNAPPROVED_KEY || p == PROBLEM_DROPIN ||
	       p == PROBLEM_LEFTOVER;
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
	bool retry; /* a repair or sync failed for a cause that passes (error_may_pass()) */
};

/* Why a PROBLEM_LEFTOVER was removed. */
#define LEFTOVER_REASON "the temporary file of a write cut short"

/* An error that time alone may lift (room freed, descriptors closed): worth trying again soon,
 * unlike a read-only file system or a refused chown, which wait for someone to act. */
static inline bool error_may_pass(int err)
{
	err = err < 0 ? -err : err;
	return err == ENOSPC || err == EDQUOT || err == EMFILE || err == ENFILE || err == ENOMEM;
}

/* Set the text field *DST of a finding to a copy of S (NULL: none). 0 or -ENOMEM. */
int finding_set_text(char **dst, const char *s);

void user_report_done(struct user_report *r);

/* Does the report hold drift (check) or anything not fixed (fix)? */
bool user_report_has_drift(const struct user_report *r);
bool user_report_has_unresolved(const struct user_report *r);

const char *problem_to_string(enum problem p);
const char *action_to_string(enum action a);
