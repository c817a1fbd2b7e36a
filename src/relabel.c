/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "label.h"
#include "macro.h"
#include "relabel.h"
#include "repair.h"

/* Restore F's label on EL's descriptor, as repair() does its owner and mode. */
static int relabel(struct run *r, const struct chain_elem *el, struct finding *f)
{
	int q, g = repair_gate(r, f);

	if (g != 0)
		return g < 0 ? g : 0;
	q = label_set(el->fd, &el->st, f->exp_label);
	if ((g = repair_refused(f, q)) != 0)
		return g < 0 ? g : 0;
	if (q < 0) {
		f->action = ACTION_FAILED;
		return finding_set_text(&f->reason, strerror(-q));
	}
	f->action = ACTION_FIXED;
	return 0;
}

int relabel_judge(struct run *r, const struct chain_elem *el)
{
	const struct label_policy *lp = r->e->labels;
	_cleanup_free_ char *cur = NULL, *want = NULL;
	struct finding *f;
	int q;

	q = label_mismatch(lp, el->path, el->fd, el->st.st_mode, &cur, &want);
	if (q <= 0)
		return q;
	f = run_finding(r, el->path, PROBLEM_LABEL);
	if (!f)
		return -ENOMEM;
	/* Owner and mode as found, and kept. */
	f->has_state = true;
	f->found = el->st;
	f->exp_uid = el->st.st_uid;
	f->exp_gid = el->st.st_gid;
	f->exp_mode = el->st.st_mode & 07777;
	f->sshd_rejects = label_policy_enforcing(lp) && !label_sshd_can_use(cur, el->st.st_mode);
	if (f->sshd_rejects)
		r->rep->sshd_accepts = false;
	q = label_restored(cur, want, &f->exp_label);
	if (q < 0)
		return q;
	f->cur_label = TAKE_PTR(cur);
	return relabel(r, el, f);
}

int relabel_denied(const struct label_policy *p, const struct chain *c, char **path, char **detail)
{
	if (!label_policy_enforcing(p))
		return 0;
	for (size_t i = 0; i < c->n_elems; i++) {
		const struct chain_elem *el = &c->elems[i];
		_cleanup_free_ char *cur = NULL, *want = NULL;
		int q;

		if (el->tainted)
			continue;
		q = label_mismatch(p, el->path, el->fd, el->st.st_mode, &cur, &want);
		if (q < 0)
			return q;
		if (q == 0 || label_sshd_can_use(cur, el->st.st_mode))
			continue;
		if (asprintf(detail, "%s: labelled %s, the policy gives %s", el->path,
			     cur ? cur : "(none)", want) < 0)
			return -ENOMEM;
		if (!(*path = strdup(el->path))) {
			free(TAKE_PTR(*detail));
			return -ENOMEM;
		}
		return 1;
	}
	return 0;
}
