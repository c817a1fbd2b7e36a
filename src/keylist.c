/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include "audit.h"
#include "chain.h"
#include "dropin.h"
#include "keylist.h"
#include "keys.h"
#include "keysync.h"
#include "lastuse.h"
#include "macro.h"
#include "safeio.h"
#include "strindex.h"

/* Read one keys file for the audit, through a checked chain; unsafe ones are skipped. */
static int scan_keys_file(const struct engine *e, const char *path, const struct chain *home,
			  struct key_list *l)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	const struct chain_elem *last;
	struct chain c;
	struct stat st;
	size_t len;
	int q;

	q = chain_resolve(e->rootfd, path, home, &c);
	if (q < 0)
		return q;
	last = chain_last(&c);
	if (c.status != CHAIN_OK || c.n_links || !S_ISREG(last->st.st_mode) || c.n_elems < 2) {
		chain_done(&c);
		return 0;
	}
	q = safe_open_regular(c.elems[c.n_elems - 2].fd, strrchr(last->path, '/') + 1, &fd, &st);
	chain_done(&c);
	if (q < 0)
		return 0;
	q = safe_read_all(fd, KEYS_FILE_MAX, &buf, &len);
	if (q == -EFBIG)
		return audit_scan_unread(path, KEYS_FILE_TOO_LARGE, l);
	if (q < 0)
		return 0;
	return audit_scan(path, buf, len, l);
}

int engine_list_keys(const struct engine *e, const struct user *u, char *const *state,
		     struct key_list *ret)
{
	struct key_list l = {0};
	struct dropin_set set = {0};
	struct strindex *index = NULL;
	bool exclusive = keysync_is_exclusive(e, u);
	struct chain home;
	int q;

	q = keysync_load(e, u, &set);
	if (q < 0 && q != -EINVAL)
		return q;
	q = chain_resolve(e->rootfd, u->home, NULL, &home);
	if (q < 0) {
		dropin_set_done(&set);
		return q;
	}
	for (size_t i = 0; q >= 0 && e->keys_files && e->keys_files[i]; i++) {
		_cleanup_free_ char *path = NULL;

		if (sshd_expand_authorized_keys(e->keys_files[i], u, &path) < 0)
			continue;
		q = scan_keys_file(e, path, home.status == CHAIN_OK ? &home : NULL, &l);
	}
	chain_done(&home);
	if (q >= 0)
		q = audit_state_index(state, &index);
	for (size_t i = 0; q >= 0 && i < l.n; i++) {
		struct key_entry *k = &l.e[i];
		int was;

		if (!k->fingerprint)
			continue;
		was = audit_state_status(state, index, k->fingerprint, NULL);
		if (dropin_contains(&set, k->fingerprint, k->certificate))
			k->status = KEY_APPROVED;
		else if (exclusive)
			k->status = KEY_UNAPPROVED; /* Exclusive= approves no other */
		else if (!state || was == KEY_USER)
			k->status = KEY_USER;
		else
			k->status = KEY_UNAPPROVED;
	}
	strindex_free(index);
	dropin_set_done(&set);
	if (q < 0) {
		key_list_done(&l);
		return q;
	}
	*ret = l;
	return 0;
}

int engine_list_last_use(const struct engine *e, const struct user *u, struct key_list *l)
{
	struct lastuse_list used;
	int r = lastuse_load(e->rootfd, u->name, &used);

	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n; i++) {
		const struct lastuse *k =
		    l->e[i].fingerprint ? lastuse_find(&used, l->e[i].fingerprint) : NULL;

		if (!k)
			continue;
		l->e[i].last_from = strdup(k->addr);
		if (!l->e[i].last_from) {
			lastuse_list_done(&used);
			return -ENOMEM;
		}
		l->e[i].last_used = k->when;
	}
	lastuse_list_done(&used);
	return 0;
}
