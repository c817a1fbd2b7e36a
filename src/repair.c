/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "chain.h"
#include "dropin.h"
#include "keys.h"
#include "macro.h"
#include "policy.h"
#include "relabel.h"
#include "repair.h"
#include "safeio.h"
#include "strv.h"
#include "verdict.h"

/* Tell the caller which names in which checked directories this chain depends on. */
static int visit_chain(struct run *r, const struct chain *c)
{
	const struct chain_elem *last = chain_last(c);
	int q = 0;

	if (!r->visit)
		return 0;
	q = r->visit(r->userdata, c->elems[0].fd, &c->elems[0].st, "");
	for (size_t i = 0; q >= 0 && i + 1 < c->n_elems; i++)
		if (!c->elems[i + 1].tainted)
			q = r->visit(r->userdata, c->elems[i].fd, &c->elems[i].st,
				     path_base_name(c->elems[i + 1].path));
	if (q >= 0 && c->status != CHAIN_OK && !last->tainted && S_ISDIR(last->st.st_mode) &&
	    c->stopped_at && strcmp(c->stopped_at, last->path) != 0)
		q = r->visit(r->userdata, last->fd, &last->st, path_base_name(c->stopped_at));
	for (size_t i = 0; q >= 0 && i < c->n_links; i++)
		if (!c->links[i].tainted)
			q = r->visit(r->userdata, c->links[i].dir_fd, NULL,
				     path_base_name(c->links[i].path));
	return q;
}

static bool seen_before(struct run *r, const struct stat *st)
{
	struct stat *n;

	for (size_t i = 0; i < r->n_seen; i++)
		if (r->seen[i].st_ino == st->st_ino && r->seen[i].st_dev == st->st_dev)
			return true;
	n = realloc(r->seen, (r->n_seen + 1) * sizeof(*n));
	if (n) {
		r->seen = n;
		r->seen[r->n_seen++] = *st;
	}
	return false;
}

static enum problem classify(const struct stat *st, const struct expect *x, bool is_file)
{
	mode_t cur = st->st_mode & 07777;

	if (x->uid != st->st_uid || x->gid != st->st_gid)
		return PROBLEM_OWNER;
	/* Only access bits added, of whichever class: the user could not get in. */
	if ((x->mode & cur) == cur &&
	    (x->mode & ~cur & (is_file ? 0444 : 0111)) == (x->mode & ~cur))
		return PROBLEM_UNREADABLE;
	return PROBLEM_MODE;
}

int repair_gate(const struct run *r, struct finding *f)
{
	if (r->odd_home) {
		f->action = ACTION_REFUSED;
		return finding_set_text(&f->reason, r->odd_home) < 0 ? -ENOMEM : 1;
	}
	if (r->mode != ENGINE_FIX) {
		f->action = ACTION_WOULD_FIX;
		return 1;
	}
	return 0;
}

int repair_refused(struct finding *f, int q)
{
	if (q != -ESTALE && q != -ELOOP && q != -EMLINK)
		return 0;
	f->action = ACTION_REFUSED;
	return finding_set_text(&f->reason, q == -EMLINK ? "gained a second hard link"
							 : "replaced while being repaired") < 0
		   ? -ENOMEM
		   : 1;
}

static int repair(struct run *r, const struct chain_elem *el, bool is_file, struct finding *f)
{
	struct stat after;
	int q, g = repair_gate(r, f);

	if (g != 0)
		return g < 0 ? g : 0;
	q = safe_set_owner_mode(el->fd, &el->st, f->exp_uid, f->exp_gid, f->exp_mode);
	if ((g = repair_refused(f, q)) != 0)
		return g < 0 ? g : 0;
	if (fstat(el->fd, &after) == 0) {
		f->has_final = true;
		f->final_uid = after.st_uid;
		f->final_mode = after.st_mode & 07777;
	}
	if (q < 0) {
		f->action = ACTION_FAILED;
		r->rep->retry |= error_may_pass(q);
		return finding_set_text(&f->reason, strerror(-q));
	}
	/* Fixed means the user now gets in, as the kernel decides, not that a chmod ran. */
	if (f->has_final && !verdict_user_may_fd(r->u, el->fd, &after, is_file ? R_OK : X_OK)) {
		f->action = ACTION_FAILED;
		return finding_set_text(
		    &f->reason, is_file ? "the user still cannot read it after the repair"
					: "the user still cannot search it after the repair");
	}
	f->action = ACTION_FIXED;
	return 0;
}

/* Was a directory above element I of C, as found, the user's, or writable by the user? */
static bool above_is_users(const struct run *r, const struct chain *c, size_t i)
{
	for (size_t j = 0; j < i; j++)
		if (c->elems[j].st.st_uid == r->u->uid ||
		    verdict_user_may_fd(r->u, c->elems[j].fd, &c->elems[j].st, W_OK))
			return true;
	return false;
}

/* Does the regular file EL hold key lines alone (and sshmend's markers)? */
static bool holds_only_keys(const struct chain_elem *el)
{
	static const char *const markers[] = {DROPIN_BEGIN, DROPIN_END, NULL};
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (el->st.st_nlink != 1 || safe_reopen_regular(el->fd, &el->st, &fd) < 0 ||
	    safe_read_all(fd, KEYS_FILE_MAX, &buf, &len) < 0)
		return false;
	return keys_text_is_keys(buf, len, markers);
}

/* What a .ssh holds; nothing of it is a secret of anyone but its user. */
static bool ssh_file_name(const char *name)
{
	static const char *const names[] = {
	    "authorized_keys", "authorized_keys2", "known_hosts", "known_hosts.old",
	    "config",	       "environment",	   "rc",	  NULL};
	size_t n = strlen(name);

	return strv_contains((char *const *)names, name) ||
	       (n > 4 && strcmp(name + n - 4, ".pub") == 0);
}

#define DIR_LOOK_MAX 1024

/*
 * Would search on the directory EL give the user nothing to steal? Whatever in it the user
 * could then read or search is theirs, a symlink (its target keeps its own ancestors), the
 * keys path's next component NEXT (judged on its own), or a file a .ssh holds. Root chose
 * those names: the user cannot rename in a directory they cannot write.
 */
static bool holds_only_ssh_files(const struct user *u, const struct chain_elem *el,
				 const char *next)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	size_t seen = 0;
	int fd;

	if (!S_ISDIR(el->st.st_mode))
		return false;
	fd = openat(el->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return false;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return false;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (++seen > DIR_LOOK_MAX || safe_stat_nosync(dirfd(d), de->d_name, &st) < 0)
			return false;
		if (st.st_uid == u->uid || S_ISLNK(st.st_mode) ||
		    (next && !strcmp(de->d_name, next)))
			continue;
		if (!verdict_user_may(u, &st, R_OK) &&
		    !(S_ISDIR(st.st_mode) && verdict_user_may(u, &st, X_OK)))
			continue;
		if (!S_ISREG(st.st_mode) || !ssh_file_name(de->d_name))
			return false;
	}
	return true;
}

/* Element EL is not what it must be (a directory, or the keys file a regular file). */
static int judge_type(struct run *r, const struct chain_elem *el, bool is_file,
		      const char *complaint)
{
	const char *what = is_file ? "not a regular file" : "not a directory";
	struct finding *f = run_finding(r, el->path, PROBLEM_TYPE);

	if (!f)
		return -ENOMEM;
	f->found = el->st;
	f->action = ACTION_REFUSED;
	f->sshd_rejects = true;
	return finding_set_text(&f->sshd_message, complaint ? complaint : what) < 0 ||
		       finding_set_text(&f->reason, what) < 0
		   ? -ENOMEM
		   : 0;
}

/* The mode bits of EL grant the user what the kernel denies: nothing sshmend changes. */
static int judge_denied(struct run *r, const struct chain_elem *el, bool is_file,
			const char *complaint)
{
	bool acl = verdict_acl_denies(r->u, el->fd, &el->st, is_file ? R_OK : X_OK);
	struct finding *f = run_finding(r, el->path, PROBLEM_UNREADABLE);

	if (!f)
		return -ENOMEM;
	f->found = el->st;
	f->action = ACTION_REFUSED;
	f->sshd_rejects = complaint != NULL;
	if (finding_set_text(&f->sshd_message, complaint) < 0)
		return -ENOMEM;
	return finding_set_text(
	    &f->reason, acl ? "a POSIX ACL entry denies the user; sshmend does not edit ACLs"
			    : "the kernel denies the user what the mode bits grant");
}

/* What policy says element I of C (of ZONE) should be, in *X; *ACCESS: may the user in? */
static enum policy_result judge_expect(struct run *r, const struct chain *c, size_t i,
				       enum zone zone, bool is_file, struct expect *x, bool *access)
{
	const struct chain_elem *el = &c->elems[i];
	bool last = i == c->n_elems - 1;
	struct policy_element pe = {
	    .st = &el->st,
	    .zone = zone,
	    .is_file = is_file,
	    .user_has_access = verdict_user_may_fd(r->u, el->fd, &el->st, is_file ? R_OK : X_OK),
	    /* Asked only where it matters: of an element not the user's. */
	    .plantable = r->u->uid != 0 && el->st.st_uid != r->u->uid && above_is_users(r, c, i),
	};

	/* Only looked into where it decides: what would otherwise never be opened up. */
	if (pe.plantable && !(is_file && pe.user_has_access))
		pe.nothing_to_steal =
		    is_file ? holds_only_keys(el)
			    : holds_only_ssh_files(
				  r->u, el, last ? NULL : path_base_name(c->elems[i + 1].path));
	*access = pe.user_has_access;
	return policy_expect(&r->pin, &pe, x);
}

static int judge_element(struct run *r, const struct chain *c, size_t i, enum zone zone,
			 const char *complaint)
{
	const struct chain_elem *el = &c->elems[i];
	bool is_file = i == c->n_elems - 1 && c->status == CHAIN_OK;
	bool hardlink = is_file && el->st.st_nlink > 1, access;
	struct finding *f;
	struct expect x;
	enum policy_result pr;
	int q;

	if (el->tainted || seen_before(r, &el->st))
		return 0;
	if ((is_file && !S_ISREG(el->st.st_mode)) || (!is_file && !S_ISDIR(el->st.st_mode)))
		return judge_type(r, el, is_file, complaint);
	if ((q = relabel_judge(r, el)) < 0)
		return q;
	pr = judge_expect(r, c, i, zone, is_file, &x, &access);
	if (pr == POLICY_MATCHES && !access && r->u->uid != 0)
		return judge_denied(r, el, is_file, complaint);
	if (pr == POLICY_MATCHES && !hardlink)
		return 0;

	f = run_finding(r, el->path,
			hardlink ? PROBLEM_HARDLINK
			: pr == POLICY_FOREIGN || pr == POLICY_PLANTED
			    ? PROBLEM_FOREIGN_OWNER
			    : classify(&el->st, &x, is_file));
	if (!f)
		return -ENOMEM;
	f->has_state = true;
	f->found = el->st;
	f->exp_uid = x.uid;
	f->exp_gid = x.gid;
	f->exp_mode = x.mode;
	f->sshd_rejects = complaint != NULL;
	if (finding_set_text(&f->sshd_message, complaint) < 0)
		return -ENOMEM;

	switch (f->problem) {
	case PROBLEM_HARDLINK:
		f->action = ACTION_REFUSED;
		return finding_set_text(&f->reason,
					"hard link: the same file stands elsewhere too");
	case PROBLEM_FOREIGN_OWNER:
		f->action = ACTION_REFUSED;
		return finding_set_text(
		    &f->reason, pr == POLICY_FOREIGN
				    ? "owned by someone else below a directory the user could "
				      "write: it may have been moved in, and is not given away"
				    : "owned by someone else below a directory the user could "
				      "write, and not a keys file: it may have been moved in, "
				      "and is not opened up to the user");
	default:
		return repair(r, el, is_file, f);
	}
}

static int judge_link(struct run *r, const struct chain_link *l, const struct verdict *v)
{
	struct finding *f;

	if (l->trusted || l->tainted || seen_before(r, &l->st))
		return 0;
	f = run_finding(r, l->path, PROBLEM_SYMLINK);
	if (!f)
		return -ENOMEM;
	f->found = l->st;
	f->action = ACTION_REFUSED;
	f->sshd_rejects = !v->accepts;
	if (finding_set_text(&f->sshd_message, v->accepts ? NULL : v->message) < 0)
		return -ENOMEM;
	return finding_set_text(&f->reason,
				"symlink in a directory the user can write; not followed");
}

/*
 * Read the keys file the walk reached: does it hold an approved block? -1 if not known.
 * One read of a byte more than the size the walk saw: a short read is the whole file.
 */
static int scan_for_block(const struct chain_elem *el)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	size_t want;
	ssize_t n;

	if (el->st.st_nlink != 1 || el->st.st_size < 0 || el->st.st_size >= KEYS_FILE_MAX)
		return -1;
	want = (size_t)el->st.st_size + 1;
	if (safe_reopen_regular(el->fd, &el->st, &fd) < 0 || !(buf = malloc(want)))
		return -1;
	do
		n = read(fd, buf, want);
	while (n < 0 && errno == EINTR);
	if (n < 0 || (size_t)n == want)
		return -1; /* unreadable, or grown since: the sync reads it as a whole */
	return dropin_has_block(buf, (size_t)n);
}

/* Where element I of a chain stands, the home being element HOME_IDX (-1: not in it). */
static enum zone zone_of(size_t i, int home_idx)
{
	return home_idx < 0		? ZONE_OUTSIDE
	       : (int)i < home_idx - 1	? ZONE_OUTSIDE
	       : (int)i == home_idx - 1 ? ZONE_HOME_PARENT
	       : (int)i == home_idx	? ZONE_HOME
					: ZONE_INSIDE;
}

/* The index of HOME's directory in C, or -1. */
static int home_index(const struct chain *c, const struct chain *home)
{
	return home->status == CHAIN_OK ? chain_find(c, &chain_last(home)->st) : -1;
}

/* The identity and times of the keys file C reached enter the report's signature. */
static void keys_sig_add(struct user_report *rep, const struct chain *c)
{
	const struct stat *st = &chain_last(c)->st;
	uint64_t parts[] = {st->st_dev,
			    st->st_ino,
			    (uint64_t)st->st_size,
			    (uint64_t)st->st_mtim.tv_sec,
			    (uint64_t)st->st_mtim.tv_nsec,
			    (uint64_t)st->st_ctim.tv_nsec};

	for (size_t k = 0; k < ELEMENTSOF(parts); k++)
		rep->keys_sig = (rep->keys_sig ^ parts[k]) * 0x100000001b3ull;
}

/* What stood before a symlink that led elsewhere is still the user's chain. */
static int judge_prefix(struct run *r, const char *path, const struct chain *c,
			const struct chain *home)
{
	struct chain pre = {.elems = c->prefix, .n_elems = c->n_prefix, .status = CHAIN_MISSING};
	int hidx = home_index(&pre, home), q = 0;

	for (size_t i = 0; i < c->n_prefix && q >= 0; i++) {
		char buf[VERDICT_MESSAGE_MAX];

		q = judge_element(
		    r, &pre, i, zone_of(i, hidx),
		    verdict_search_element(&r->vin, path, &c->prefix[i], buf, sizeof(buf)));
	}
	if (q >= 0 && r->visit)
		for (size_t i = 0; i + 1 < c->n_prefix && q >= 0; i++)
			q = r->visit(r->userdata, c->prefix[i].fd, &c->prefix[i].st,
				     path_base_name(c->prefix[i + 1].path));
	return q;
}

/* The walk of C stopped on an error or a loop, judged V. */
static int judge_stop(struct run *r, const struct chain *c, const struct verdict *v)
{
	struct finding *f = run_finding(r, c->stopped_at, PROBLEM_UNREADABLE);
	int q;

	if (!f)
		return -ENOMEM;
	f->action = ACTION_FAILED;
	f->sshd_rejects = !v->accepts;
	q = finding_set_text(&f->reason, c->error == EXDEV
					     ? "a FUSE file system a user mounted stands "
					       "here: not entered, its server may never answer"
					     : strerror(c->error));
	if (q >= 0)
		q = finding_set_text(&f->sshd_message,
				     v->accepts || !*v->message ? NULL : v->message);
	return q;
}

/* Judge every element, link and stop of C, the chain of the keys file PATH, judged V. */
static int judge_chain(struct run *r, const char *path, const struct chain *c,
		       const struct chain *home, const struct verdict *v)
{
	int home_idx = home_index(c, home), q = 0;

	for (size_t i = 0; i < c->n_elems && q >= 0; i++) {
		char buf[VERDICT_MESSAGE_MAX];

		q = judge_element(r, c, i, zone_of(i, home_idx),
				  verdict_element(&r->vin, path, c, i, v, buf, sizeof(buf)));
	}
	if (q >= 0 && c->n_prefix)
		q = judge_prefix(r, path, c, home);
	for (size_t i = 0; i < c->n_links && q >= 0; i++)
		q = judge_link(r, &c->links[i], v);
	if (q >= 0 && (c->status == CHAIN_ERROR || c->status == CHAIN_LOOP))
		q = judge_stop(r, c, v);
	/* sshd reads a keys file of any size; sshmend no more than KEYS_FILE_MAX. */
	if (q >= 0 && c->status == CHAIN_OK && S_ISREG(chain_last(c)->st.st_mode) &&
	    chain_last(c)->st.st_size > (off_t)KEYS_FILE_MAX)
		q = run_too_large_finding(r, path);
	return q;
}

int repair_keys_file(struct run *r, const char *path, const struct chain *home, struct chain *prev)
{
	struct chain c;
	struct verdict v;
	int q;

	/* Walk only what the previous keys file (or the home) did not already reach. */
	q = chain_resolve(r->e->rootfd, path, prev->n_elems ? prev : home, &c);
	if (q < 0)
		return q;
	verdict_keys_file(&r->vin, path, &c, &v);
	if (!v.accepts)
		r->rep->sshd_accepts = false;
	if (c.status == CHAIN_OK)
		keys_sig_add(r->rep, &c);
	q = judge_chain(r, path, &c, home, &v);
	if (q >= 0)
		q = visit_chain(r, &c);
	/* After the repairs, which must not wait for it: is there an approved block to keep
	 * in line? */
	if (q >= 0 && c.status == CHAIN_OK && c.n_links == 0 && r->target &&
	    strcmp(path, r->target) == 0)
		r->target_block = scan_for_block(chain_last(&c));
	/* Keep what this walk opened for the next keys file; drop the older one. */
	if (q >= 0 && c.n_links == 0 && c.n_elems > 0)
		chain_rebase(prev, &c, c.n_elems);
	else
		chain_done(&c);
	return q;
}

/*
 * Directories of the system that passwd may name as a home (daemons' accounts, mistakes) and
 * that sshmend never repairs: their owners and modes are the system's, not a user's.
 */
static const char *const system_dirs[] = {
    "/",	 "/home",      "/media",   "/mnt",	 "/opt",     "/root",
    "/srv",	 "/tmp",       "/var",	   "/var/cache", "/var/lib", "/var/log",
    "/var/mail", "/var/spool", "/var/tmp", "/usr/local", NULL,
};

/* Trees of the system as a whole: no home below them is a user's own. */
static const char *const system_trees[] = {
    "/bin",    "/boot", "/dev", "/etc",	 "/lib", "/lib32", "/lib64",
    "/libx32", "/proc", "/run", "/sbin", "/sys", "/usr",   NULL,
};

static bool in_system_tree(const char *path)
{
	for (size_t i = 0; system_trees[i]; i++) {
		size_t n = strlen(system_trees[i]);

		if (strncmp(path, system_trees[i], n) == 0 && (path[n] == '/' || path[n] == 0) &&
		    strncmp(path, "/usr/local/", 11) != 0)
			return true;
	}
	return false;
}

const char *repair_odd_home(const struct user *u, const struct chain *home)
{
	const char *path = home->n_elems ? chain_last(home)->path : u->home;

	if (u->home[0] != '/')
		return "passwd gives no absolute home; it is never repaired";
	if (u->home_shared)
		return "passwd gives this home to another user too; it is never repaired";
	if (home->status == CHAIN_OK &&
	    (strv_contains((char *const *)system_dirs, path) || in_system_tree(path)) &&
	    !(u->uid == 0 && strcmp(path, "/root") == 0))
		return "the home is a directory of the system; it is never repaired";
	return NULL;
}
