/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
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

	if (!lp)
		return 0;
	q = label_expected(lp, el->path, el->st.st_mode, &want);
	if (q == -ENOMEM)
		return q;
	if (q < 0)
		return 0; /* the policy gives the path no label: restorecon leaves it */
	q = label_get(el->fd, &cur);
	if (q == -ENOMEM)
		return q;
	if (q < 0 || label_same_type(cur, want))
		return 0; /* a file system that keeps no labels, or one sshmend cannot read */
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
