/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include "pass.h"

struct engine_pass {
	bool on;
	struct chain base;     /* what lay above the last home walked without a repair there */
	struct stat dropin_st; /* the drop-in directory, as the pass found it */
	bool has_dropin_st;
};

int pass_new(struct engine_pass **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void pass_free(struct engine_pass *p)
{
	if (!p)
		return;
	pass_end(p);
	free(p);
}

void pass_begin(struct engine_pass *p)
{
	pass_end(p);
	p->on = true;
}

void pass_end(struct engine_pass *p)
{
	chain_done(&p->base);
	p->on = false;
	p->has_dropin_st = false;
}

const struct chain *pass_base(const struct engine_pass *p)
{
	return p->on ? &p->base : NULL;
}

void pass_keep(struct engine_pass *p, struct chain *home, const struct user_report *rep)
{
	size_t keep;

	if (!p->on || home->status != CHAIN_OK || home->n_links > 0 || home->n_elems < 2)
		return;
	keep = home->n_elems - 1; /* the home itself is walked afresh */
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *f = &rep->findings[k];
		int i = f->has_state ? chain_find(home, &f->found) : -1;

		if (i >= 0 && (size_t)i < keep) {
			chain_done(&p->base);
			return;
		}
	}
	chain_rebase(&p->base, home, keep);
}

const struct stat *pass_dropin_st(struct engine_pass *p, int dropin_fd)
{
	if (p->on && !p->has_dropin_st && dropin_fd >= 0)
		p->has_dropin_st = fstat(dropin_fd, &p->dropin_st) == 0;
	return p->has_dropin_st ? &p->dropin_st : NULL;
}

void pass_forget_dropin(struct engine_pass *p)
{
	p->has_dropin_st = false;
}
