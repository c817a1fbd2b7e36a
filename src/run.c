/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include "keys.h"
#include "macro.h"
#include "run.h"
#include "strindex.h"
#include "strv.h"

struct run run_new(const struct engine *e, const struct user *u, enum engine_mode mode,
		   struct user_report *rep)
{
	*rep = (struct user_report){.user = u, .sshd_accepts = true};
	return (struct run){
	    .e = e,
	    .u = u,
	    .mode = mode,
	    .rep = rep,
	    .vin = {.db = e->db,
		    .user = u,
		    .strict_modes = e->sshd.strict_modes,
		    .flavor = e->flavor},
	    .pin = {.mode = e->cfg.mode, .user = u, .db = e->db},
	    .target_block = -1,
	};
}

struct finding *run_finding(struct run *r, const char *path, enum problem p)
{
	struct finding *n;

	/* Exclusive= can find a key on each of 100,000 lines. */
	if (array_room(&r->rep->findings, r->rep->n_findings, sizeof(*n)) < 0)
		return NULL;
	n = &r->rep->findings[r->rep->n_findings];
	*n = (struct finding){.problem = p, .path = strdup(path)};
	if (!n->path)
		return NULL;
	r->rep->n_findings++;
	return n;
}

int run_keys_finding(struct run *r, const char *path, enum action a, const char *reason)
{
	struct finding *f = run_finding(r, path, PROBLEM_KEYS);

	if (!f)
		return -ENOMEM;
	f->action = a;
	return finding_set_text(&f->reason, reason);
}

int run_too_large_finding(struct run *r, const char *path)
{
	for (size_t i = 0; i < r->rep->n_findings; i++)
		if (r->rep->findings[i].problem == PROBLEM_KEYS &&
		    strcmp(r->rep->findings[i].path, path) == 0 && r->rep->findings[i].reason &&
		    strcmp(r->rep->findings[i].reason, KEYS_FILE_TOO_LARGE) == 0)
			return 0;
	return run_keys_finding(r, path, ACTION_REFUSED, KEYS_FILE_TOO_LARGE);
}

void run_done(struct run *r)
{
	free(r->seen);
	free(r->target);
	strv_free(r->kept);
	strindex_free(r->kept_index);
}
