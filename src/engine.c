/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "chain.h"
#include "dropin.h"
#include "engine.h"
#include "label.h"
#include "keysync.h"
#include "macro.h"
#include "pass.h"
#include "repair.h"
#include "run.h"
#include "safeio.h"
#include "strv.h"

static enum sshd_flavor detect_flavor(int rootfd)
{
	/* Debian and Ubuntu carry the user-group-modes patch. */
	return faccessat(rootfd, "etc/debian_version", F_OK, AT_SYMLINK_NOFOLLOW) == 0
		   ? FLAVOR_DEBIAN
		   : FLAVOR_UPSTREAM;
}

void engine_open_dropin(struct engine *e)
{
	int r;

	if (e->dropin_fd >= 0)
		close(e->dropin_fd);
	e->dropin_fd = -1;
	pass_forget_dropin(e->pass);
	r = safe_open_in_root(e->rootfd, e->cfg.dropin_dir, O_PATH | O_DIRECTORY, &e->dropin_fd);
	if (r >= 0 && fstat(e->dropin_fd, &e->dropin_st) < 0) {
		r = negative_errno();
		close(e->dropin_fd);
		e->dropin_fd = -1;
	}
	e->dropin_error = r < 0 && r != -ENOENT && r != -ENOTDIR ? r : 0;
}

int engine_open(const char *root, const char *config_path, struct engine **ret, char *err,
		size_t errlen)
{
	struct engine *e = calloc(1, sizeof(*e));
	_cleanup_free_ char *prefix = NULL;
	int r;

	if (!e)
		return -ENOMEM;
	e->rootfd = -1;
	e->dropin_fd = -1;
	if (pass_new(&e->pass) < 0) {
		free(e);
		return -ENOMEM;
	}
	*err = 0;
	if (root) {
		prefix = realpath(root, NULL);
		if (!prefix) {
			r = negative_errno();
			snprintf(err, errlen, "%s: %s", root, strerror(-r));
			goto fail;
		}
		if (strcmp(prefix, "/") == 0)
			prefix[0] = 0;
	}
	r = safe_open_root(prefix && *prefix ? prefix : "/", &e->rootfd);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", root ? root : "/", strerror(-r));
		goto fail;
	}
	if (prefix && *prefix)
		e->root = TAKE_PTR(prefix);
	r = userdb_load(e->root ? e->rootfd : -1, &e->db);
	if (r < 0) {
		snprintf(err, errlen, "%s: %s", e->root ? "/etc/passwd" : "user database",
			 strerror(-r));
		goto fail;
	}
	r = sshd_config_load(e->rootfd, e->root, NULL, &e->sshd, err, errlen);
	if (r < 0)
		goto fail;
	r = config_load(e->rootfd, config_path, &e->cfg, err, errlen);
	if (r < 0)
		goto fail;
	e->flavor = e->cfg.flavor != FLAVOR_AUTO ? e->cfg.flavor : detect_flavor(e->rootfd);
	e->keys_files = e->cfg.authorized_keys ? e->cfg.authorized_keys : e->sshd.authorized_keys;
	r = label_policy_open(e->cfg.selinux, e->rootfd, e->root, &e->labels, err, errlen);
	if (r < 0)
		goto fail;
	label_use(e->labels, e->root);
	engine_open_dropin(e);
	*ret = e;
	return 0;
fail:
	engine_free(e);
	return r;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	pass_free(e->pass);
	if (e->rootfd >= 0)
		close(e->rootfd);
	if (e->dropin_fd >= 0)
		close(e->dropin_fd);
	free(e->root);
	userdb_free(e->db);
	sshd_config_done(&e->sshd);
	config_done(&e->cfg);
	label_policy_free(e->labels);
	free(e);
}

static bool is_login_user(const struct engine *e, const struct user *u)
{
	uid_t min = e->cfg.min_uid_set ? e->cfg.min_uid : e->db->uid_min;

	if (strv_contains(e->cfg.exclude_users, u->name))
		return false;
	if (strv_contains(e->cfg.include_users, u->name))
		return true;
	if (u->uid != 0 && u->uid < min)
		return false;
	return user_has_login_shell(u);
}

int engine_select_users(const struct engine *e, char *const *names, const struct user ***ret,
			size_t *n, char *err, size_t errlen)
{
	const struct user **l = calloc(e->db->n_users + strv_length(names) + 1, sizeof(*l));
	size_t k = 0;

	if (!l)
		return -ENOMEM;
	if (names && names[0]) {
		for (size_t i = 0; names[i]; i++) {
			const struct user *u = userdb_by_name(e->db, names[i]);

			if (!u) {
				snprintf(err, errlen, "unknown user '%s'", names[i]);
				free(l);
				return -ENOENT;
			}
			l[k++] = u;
		}
	} else {
		for (size_t i = 0; i < e->db->n_users; i++) {
			const struct user *u = &e->db->users[i];

			/* The first passwd entry of a name wins, as getpwnam() does. */
			if (is_login_user(e, u) && userdb_by_name(e->db, u->name) == u)
				l[k++] = u;
		}
	}
	*ret = l;
	*n = k;
	return 0;
}

char *engine_keys_file(const struct engine *e, const struct user *u)
{
	size_t hl = strlen(u->home);

	while (hl > 1 && u->home[hl - 1] == '/')
		hl--;
	for (size_t i = 0; e->keys_files && e->keys_files[i]; i++) {
		char *p = NULL;

		if (sshd_expand_authorized_keys(e->keys_files[i], u, &p) < 0)
			continue;
		if (strncmp(p, u->home, hl) == 0 && p[hl] == '/' && !strstr(p, "/../"))
			return p;
		free(p);
	}
	return NULL;
}

int engine_run_user(const struct engine *e, const struct user *u, enum engine_mode mode,
		    engine_visit_fn visit, void *userdata, struct user_report *ret)
{
	struct user_report rep;
	struct run r = run_new(e, u, mode, &rep);
	struct chain home, prev = {0};
	int q;

	r.visit = visit;
	r.userdata = userdata;
	r.target = engine_keys_file(e, u);
	if (u->home[0] != '/') {
		/* Nothing to walk: say so, and repair nothing. */
		struct finding *f =
		    run_finding(&r, u->home[0] ? u->home : "(no home)", PROBLEM_MISSING);

		run_done(&r);
		if (!f ||
		    finding_set_text(&f->reason, repair_odd_home(u, &(struct chain){0})) < 0) {
			user_report_done(&rep);
			return -ENOMEM;
		}
		f->action = ACTION_REFUSED;
		*ret = rep;
		return 0;
	}
	q = chain_resolve(e->rootfd, u->home, pass_base(e->pass), &home);
	if (q < 0) {
		run_done(&r);
		return q;
	}
	r.odd_home = repair_odd_home(u, &home);
	if (home.status == CHAIN_OK && S_ISDIR(chain_last(&home)->st.st_mode))
		r.vin.home_realpath = chain_last(&home)->path;
	else if (home.status == CHAIN_MISSING) {
		struct finding *f = run_finding(&r, u->home, PROBLEM_MISSING);

		q = f ? finding_set_text(&f->reason, "home directory does not exist") : -ENOMEM;
	}
	for (size_t i = 0; q >= 0 && e->keys_files && e->keys_files[i]; i++) {
		_cleanup_free_ char *path = NULL;

		q = sshd_expand_authorized_keys(e->keys_files[i], u, &path);
		if (q == -EINVAL)
			continue; /* sshd refuses to start with such a token; nothing to judge */
		if (q >= 0)
			q = repair_keys_file(&r, path, &home, &prev);
	}
	chain_done(&prev);
	if (q >= 0)
		q = keysync_run(&r, &home);
	if (q >= 0)
		pass_keep(e->pass, &home, &rep);
	chain_done(&home);
	run_done(&r);
	if (q < 0) {
		user_report_done(&rep);
		return q;
	}
	*ret = rep;
	return 0;
}

int engine_carry_keys(const struct engine *e, const struct user *u, const char *data, size_t len,
		      struct user_report *ret)
{
	struct user_report rep;
	struct run r = run_new(e, u, ENGINE_FIX, &rep);
	struct chain home;
	int q;

	r.carry = data;
	r.carry_len = len;
	r.target = engine_keys_file(e, u);
	q = chain_resolve(e->rootfd, u->home, NULL, &home);
	if (q >= 0) {
		if (home.status == CHAIN_OK && S_ISDIR(chain_last(&home)->st.st_mode))
			r.vin.home_realpath = chain_last(&home)->path;
		q = keysync_run(&r, &home);
		chain_done(&home);
	}
	run_done(&r);
	if (q < 0) {
		user_report_done(&rep);
		return q;
	}
	*ret = rep;
	return len && !r.carried;
}

int engine_approve_key(struct engine *e, const struct user *u, const char *name, const char *line,
		       char *why, size_t whylen, struct user_report *ret)
{
	_cleanup_close_ int top = -1;
	int q;

	if (e->dropin_error < 0)
		return e->dropin_error;
	q = safe_mkdir_in_root(e->rootfd, e->cfg.dropin_dir, 0755, &top);
	if (q >= 0)
		q = dropin_approve(top, u->name, name, line, e->cfg.min_rsa_bits, why, whylen);
	if (q < 0)
		return q;
	engine_open_dropin(e);
	return engine_carry_keys(e, u, NULL, 0, ret);
}

int engine_approved_sig(const struct engine *e, const struct user *u, uint64_t *ret)
{
	struct dropin_set set = {0};
	int q = keysync_load(e, u, &set);

	if (q >= 0)
		*ret = keysync_approved_sig(&set);
	dropin_set_done(&set);
	return q < 0 ? q : 0;
}

void engine_pass_begin(const struct engine *e)
{
	pass_begin(e->pass);
}

void engine_pass_end(const struct engine *e)
{
	pass_end(e->pass);
}
