/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include "engine.h"
#include "policy.h"
#include "verdict.h"

/*
 * One user's run: what the walk of the chains (repair.c) and the key sync (keysync.c) share,
 * and the report both write their findings to.
 */
struct strindex;

struct run {
	const struct engine *e;
	const struct user *u;
	enum engine_mode mode;
	struct user_report *rep;
	struct verdict_input vin;
	struct policy_input pin;
	struct stat *seen; /* inodes already judged for this user */
	size_t n_seen;
	engine_visit_fn visit;
	void *userdata;
	char *target;	   /* the keys file approved keys go to, or NULL */
	int target_block;  /* does it hold an approved block: 1, 0, or -1 not known */
	const char *carry; /* lines written to a replaced keys file, to append */
	size_t carry_len;
	bool carried;		/* the key sync wrote the keys file, CARRY in it */
	const char *odd_home;	/* why the home is never repaired, or NULL */
	bool exclusive_applies; /* Exclusive= for this user, who has an approved key to log in */
	char **kept;		/* lines already handed to the quarantine by this run */
	size_t n_kept;
	struct strindex *kept_index; /* ... by their text */
	bool odd_told;		     /* lines kept that are no keys: one finding */
	bool quarantine_failed;	     /* it could not be written: the keys stay */
};

/* A run of U's chains in MODE, reporting to REP (made empty); its keys file is the caller's. */
struct run run_new(const struct engine *e, const struct user *u, enum engine_mode mode,
		   struct user_report *rep);
/* Free what the run holds; its report is the caller's. */
void run_done(struct run *r);

/* A new finding of problem P about PATH in the run's report, or NULL (out of memory). */
struct finding *run_finding(struct run *r, const char *path, enum problem p);

/* A PROBLEM_KEYS finding about PATH with action A and REASON. */
int run_keys_finding(struct run *r, const char *path, enum action a, const char *reason);

/* A keys file over KEYS_FILE_MAX: said once, by whoever meets it first (its walk, the sync). */
int run_too_large_finding(struct run *r, const char *path);

/* The last component of PATH. */
static inline const char *path_base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}
