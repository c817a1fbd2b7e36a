/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "finding.h"

static const char *const problem_names[] = {
    [PROBLEM_MODE] = "mode",
    [PROBLEM_OWNER] = "owner",
    [PROBLEM_SYMLINK] = "symlink",
    [PROBLEM_HARDLINK] = "hardlink",
    [PROBLEM_TYPE] = "type",
    [PROBLEM_MISSING] = "missing",
    [PROBLEM_UNREADABLE] = "unreadable",
    [PROBLEM_FOREIGN_OWNER] = "foreign-owner",
    [PROBLEM_KEYS] = "keys",
    [PROBLEM_UNAPPROVED_KEY] = "unapproved-key",
    [PROBLEM_DROPIN] = "dropin",
    [PROBLEM_LABEL] = "label",
    [PROBLEM_LEFTOVER] = "leftover",
};

static const char *const action_names[] = {
    [ACTION_NONE] = "none",	  [ACTION_WOULD_FIX] = "would-fix", [ACTION_FIXED] = "fixed",
    [ACTION_REFUSED] = "refused", [ACTION_FAILED] = "failed",
};

const char *problem_to_string(enum problem p)
{
	return problem_names[p];
}

const char *action_to_string(enum action a)
{
	return action_names[a];
}

void user_report_done(struct user_report *r)
{
	for (size_t i = 0; i < r->n_findings; i++) {
		free(r->findings[i].path);
		free(r->findings[i].sshd_message);
		free(r->findings[i].reason);
		free(r->findings[i].fingerprint);
		free(r->findings[i].comment);
		free(r->findings[i].cur_label);
		free(r->findings[i].exp_label);
	}
	free(r->findings);
	free(r->keys_file);
	dropin_tails_done(&r->tails);
	*r = (struct user_report){0};
}

bool user_report_has_drift(const struct user_report *r)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].action != ACTION_NONE)
			return true;
	return !r->sshd_accepts;
}

bool user_report_has_unresolved(const struct user_report *r)
{
	for (size_t i = 0; i < r->n_findings; i++)
		if (r->findings[i].action == ACTION_REFUSED ||
		    r->findings[i].action == ACTION_FAILED ||
		    r->findings[i].action == ACTION_WOULD_FIX)
			return true;
	return false;
}

int finding_set_text(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
	return !s || *dst ? 0 : -ENOMEM;
}
