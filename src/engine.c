/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "audit.h"
#include "chain.h"
#include "dropin.h"
#include "engine.h"
#include "keys.h"
#include "macro.h"
#include "policy.h"
#include "safeio.h"
#include "strindex.h"
#include "strv.h"
#include "verdict.h"

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

static enum sshd_flavor detect_flavor(int rootfd)
{
	/* Debian and Ubuntu carry the user-group-modes patch. */
	return faccessat(rootfd, "etc/debian_version", F_OK, AT_SYMLINK_NOFOLLOW) == 0
		   ? FLAVOR_DEBIAN
		   : FLAVOR_UPSTREAM;
}

struct engine_pass {
	bool on;
	struct chain base;     /* what lay above the last home walked without a repair there */
	struct stat dropin_st; /* the drop-in directory, as the pass found it */
	bool has_dropin_st;
};

void engine_open_dropin(struct engine *e)
{
	int r;

	if (e->dropin_fd >= 0)
		close(e->dropin_fd);
	e->dropin_fd = -1;
	e->pass->has_dropin_st = false;
	r = safe_open_in_root(e->rootfd, e->cfg.dropin_dir, O_PATH | O_DIRECTORY, &e->dropin_fd);
	if (r >= 0 && fstat(e->dropin_fd, &e->dropin_st) < 0) {
		r = negative_errno();
		close(e->dropin_fd);
		e->dropin_fd = -1;
	}
	e->dropin_error = r < 0 && r != -ENOENT && r != -ENOTDIR ? r : 0;
}

void engine_pass_begin(const struct engine *e)
{
	engine_pass_end(e);
	e->pass->on = true;
}

void engine_pass_end(const struct engine *e)
{
	chain_done(&e->pass->base);
	e->pass->on = false;
	e->pass->has_dropin_st = false;
}

/*
 * Keep what lay above HOME for the next user's walk, unless REP says an element of it was
 * found drifted: its stat as walked is no longer what is there.
 */
static void pass_keep(const struct engine *e, struct chain *home, const struct user_report *rep)
{
	size_t keep;

	if (!e->pass->on || home->status != CHAIN_OK || home->n_links > 0 || home->n_elems < 2)
		return;
	keep = home->n_elems - 1; /* the home itself is walked afresh */
	for (size_t k = 0; k < rep->n_findings; k++) {
		const struct finding *f = &rep->findings[k];
		int i = f->has_state ? chain_find(home, &f->found) : -1;

		if (i >= 0 && (size_t)i < keep) {
			chain_done(&e->pass->base);
			return;
		}
	}
	chain_rebase(&e->pass->base, home, keep);
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
	e->pass = calloc(1, sizeof(*e->pass));
	if (!e->pass) {
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
	if (e->pass)
		engine_pass_end(e);
	free(e->pass);
	if (e->rootfd >= 0)
		close(e->rootfd);
	if (e->dropin_fd >= 0)
		close(e->dropin_fd);
	free(e->root);
	userdb_free(e->db);
	sshd_config_done(&e->sshd);
	config_done(&e->cfg);
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

/* --- one user --- */

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
	const char *odd_home;	/* why the home is never repaired, or NULL */
	bool exclusive_applies; /* Exclusive= for this user, who has an approved key to log in */
	char **kept;		/* lines already handed to the quarantine by this run */
	size_t n_kept;
	struct strindex *kept_index; /* ... by their text */
	bool odd_told;		     /* lines kept that are no keys: one finding */
	bool quarantine_failed;	     /* it could not be written: the keys stay */
};

static const char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

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
				     base_name(c->elems[i + 1].path));
	if (q >= 0 && c->status != CHAIN_OK && !last->tainted && S_ISDIR(last->st.st_mode) &&
	    c->stopped_at && strcmp(c->stopped_at, last->path) != 0)
		q = r->visit(r->userdata, last->fd, &last->st, base_name(c->stopped_at));
	for (size_t i = 0; q >= 0 && i < c->n_links; i++)
		if (!c->links[i].tainted)
			q = r->visit(r->userdata, c->links[i].dir_fd, NULL,
				     base_name(c->links[i].path));
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

static struct finding *add_finding(struct run *r, const char *path, enum problem p)
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

static int set_text(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
	return !s || *dst ? 0 : -ENOMEM;
}

/* sshd's complaint about element I of C, or NULL; only for a file sshd would open. */
static const char *element_complaint(const struct run *r, const struct chain *c, size_t i,
				     const char *keys_path, int safe_from, char *buf, size_t len)
{
	const struct chain_elem *el = &c->elems[i];
	bool last = i == c->n_elems - 1;

	if (c->status != CHAIN_OK)
		return NULL;
	if (!last) {
		for (size_t s = 0; s < c->n_searched; s++)
			if (c->searched[s].st_ino == el->st.st_ino &&
			    c->searched[s].st_dev == el->st.st_dev &&
			    !verdict_user_may_fd(r->u, el->fd, &el->st, X_OK)) {
				snprintf(buf, len,
					 "Could not open user '%s' authorized keys '%s': %s",
					 r->u->name, keys_path, "Permission denied");
				return buf;
			}
	} else if (!verdict_user_may_fd(r->u, el->fd, &el->st, R_OK)) {
		snprintf(buf, len, "Could not open user '%s' authorized keys '%s': %s", r->u->name,
			 keys_path, "Permission denied");
		return buf;
	}
	if (r->vin.strict_modes && (int)i >= safe_from && !verdict_secure(&r->vin, &el->st)) {
		snprintf(buf, len, "Authentication refused: bad ownership or modes for %s %s",
			 last ? "file" : "directory", el->path);
		return buf;
	}
	return NULL;
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

static int repair(struct run *r, const struct chain_elem *el, bool is_file, struct finding *f)
{
	struct stat after;
	int q;

	if (r->odd_home) {
		f->action = ACTION_REFUSED;
		return set_text(&f->reason, r->odd_home);
	}
	if (r->mode != ENGINE_FIX) {
		f->action = ACTION_WOULD_FIX;
		return 0;
	}
	q = safe_set_owner_mode(el->fd, &el->st, f->exp_uid, f->exp_gid, f->exp_mode);
	if (q == -ESTALE || q == -ELOOP || q == -EMLINK) {
		f->action = ACTION_REFUSED;
		return set_text(&f->reason, q == -EMLINK ? "gained a second hard link"
							 : "replaced while being repaired");
	}
	if (fstat(el->fd, &after) == 0) {
		f->has_final = true;
		f->final_uid = after.st_uid;
		f->final_mode = after.st_mode & 07777;
	}
	if (q < 0) {
		f->action = ACTION_FAILED;
		return set_text(&f->reason, strerror(-q));
	}
	/* Fixed means the user now gets in, as the kernel decides, not that a chmod ran. */
	if (f->has_final && !verdict_user_may_fd(r->u, el->fd, &after, is_file ? R_OK : X_OK)) {
		f->action = ACTION_FAILED;
		return set_text(&f->reason,
				is_file ? "the user still cannot read it after the repair"
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

static int judge_element(struct run *r, const struct chain *c, size_t i, enum zone zone,
			 const char *complaint)
{
	const struct chain_elem *el = &c->elems[i];
	bool last = i == c->n_elems - 1;
	bool is_file = last && c->status == CHAIN_OK;
	struct finding *f;
	struct expect x;
	enum policy_result pr;

	if (el->tainted || seen_before(r, &el->st))
		return 0;

	if ((is_file && !S_ISREG(el->st.st_mode)) || (!is_file && !S_ISDIR(el->st.st_mode))) {
		f = add_finding(r, el->path, PROBLEM_TYPE);
		if (!f)
			return -ENOMEM;
		f->found = el->st;
		f->action = ACTION_REFUSED;
		f->sshd_rejects = true;
		if (!complaint)
			complaint = is_file ? "not a regular file" : "not a directory";
		return set_text(&f->sshd_message, complaint) < 0 ||
			       set_text(&f->reason,
					is_file ? "not a regular file" : "not a directory") < 0
			   ? -ENOMEM
			   : 0;
	}

	{
		struct policy_element pe = {
		    .st = &el->st,
		    .zone = zone,
		    .is_file = is_file,
		    .user_has_access =
			verdict_user_may_fd(r->u, el->fd, &el->st, is_file ? R_OK : X_OK),
		    /* Asked only where it matters: of an element not the user's. */
		    .plantable =
			r->u->uid != 0 && el->st.st_uid != r->u->uid && above_is_users(r, c, i),
		};

		/* Only looked into where it decides: what would otherwise never be opened up. */
		if (pe.plantable && !(is_file && pe.user_has_access))
			pe.nothing_to_steal =
			    is_file ? holds_only_keys(el)
				    : holds_only_ssh_files(
					  r->u, el, last ? NULL : base_name(c->elems[i + 1].path));
		pr = policy_expect(&r->pin, &pe, &x);
		if (pr == POLICY_MATCHES && !pe.user_has_access && r->u->uid != 0) {
			/* Mode bits grant it, yet the user is denied. */
			bool acl = verdict_acl_denies(r->u, el->fd, &el->st, is_file ? R_OK : X_OK);

			f = add_finding(r, el->path, PROBLEM_UNREADABLE);
			if (!f)
				return -ENOMEM;
			f->found = el->st;
			f->action = ACTION_REFUSED;
			f->sshd_rejects = complaint != NULL;
			if (set_text(&f->sshd_message, complaint) < 0)
				return -ENOMEM;
			return set_text(
			    &f->reason,
			    acl ? "a POSIX ACL entry denies the user; sshmend does not edit ACLs"
				: "the kernel denies the user what the mode bits grant");
		}
	}
	if (pr == POLICY_MATCHES && !(is_file && el->st.st_nlink > 1))
		return 0;

	f = add_finding(r, el->path,
			is_file && el->st.st_nlink > 1 ? PROBLEM_HARDLINK
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
	if (set_text(&f->sshd_message, complaint) < 0)
		return -ENOMEM;

	switch (f->problem) {
	case PROBLEM_HARDLINK:
		f->action = ACTION_REFUSED;
		return set_text(&f->reason, "hard link: the same file stands elsewhere too");
	case PROBLEM_FOREIGN_OWNER:
		f->action = ACTION_REFUSED;
		return set_text(&f->reason,
				pr == POLICY_FOREIGN
				    ? "owned by someone else below a directory the user could "
				      "write: it may have been moved in, and is not given away"
				    : "owned by someone else below a directory the user could "
				      "write, and not a keys file: it may have been moved in, and "
				      "is not opened up to the user");
	default:
		return repair(r, el, is_file, f);
	}
}

static int judge_link(struct run *r, const struct chain_link *l, const struct verdict *v)
{
	struct finding *f;

	if (l->trusted || l->tainted || seen_before(r, &l->st))
		return 0;
	f = add_finding(r, l->path, PROBLEM_SYMLINK);
	if (!f)
		return -ENOMEM;
	f->found = l->st;
	f->action = ACTION_REFUSED;
	f->sshd_rejects = !v->accepts;
	if (set_text(&f->sshd_message, v->accepts ? NULL : v->message) < 0)
		return -ENOMEM;
	return set_text(&f->reason, "symlink in a directory the user can write; not followed");
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

static int keys_finding(struct run *r, const char *path, enum action a, const char *reason)
{
	struct finding *f = add_finding(r, path, PROBLEM_KEYS);

	if (!f)
		return -ENOMEM;
	f->action = a;
	return set_text(&f->reason, reason);
}

/* A keys file over KEYS_FILE_MAX: said once, by whoever meets it first (its walk, the sync). */
static int too_large_finding(struct run *r, const char *path)
{
	for (size_t i = 0; i < r->rep->n_findings; i++)
		if (r->rep->findings[i].problem == PROBLEM_KEYS &&
		    strcmp(r->rep->findings[i].path, path) == 0 && r->rep->findings[i].reason &&
		    strcmp(r->rep->findings[i].reason, KEYS_FILE_TOO_LARGE) == 0)
			return 0;
	return keys_finding(r, path, ACTION_REFUSED, KEYS_FILE_TOO_LARGE);
}

static int run_keys_file(struct run *r, const char *path, const struct chain *home,
			 struct chain *prev)
{
	struct chain c;
	struct verdict v;
	int home_idx = -1, safe_from = 0, q;

	/* Walk only what the previous keys file (or the home) did not already reach. */
	q = chain_resolve(r->e->rootfd, path, prev->n_elems ? prev : home, &c);
	if (q < 0)
		return q;
	verdict_keys_file(&r->vin, path, &c, &v);
	if (!v.accepts)
		r->rep->sshd_accepts = false;
	if (c.status == CHAIN_OK) {
		const struct stat *st = &chain_last(&c)->st;
		uint64_t parts[] = {st->st_dev,
				    st->st_ino,
				    (uint64_t)st->st_size,
				    (uint64_t)st->st_mtim.tv_sec,
				    (uint64_t)st->st_mtim.tv_nsec,
				    (uint64_t)st->st_ctim.tv_nsec};

		for (size_t k = 0; k < ELEMENTSOF(parts); k++)
			r->rep->keys_sig = (r->rep->keys_sig ^ parts[k]) * 0x100000001b3ull;
	}

	if (home->status == CHAIN_OK)
		home_idx = chain_find(&c, &chain_last(home)->st);
	/* safe_path() stops at the directory whose path equals realpath(home). */
	for (size_t i = c.n_elems; r->vin.home_realpath && i-- > 0;)
		if (strcmp(c.elems[i].path, r->vin.home_realpath) == 0) {
			safe_from = (int)i;
			break;
		}

	for (size_t i = 0; i < c.n_elems && q >= 0; i++) {
		enum zone z = home_idx < 0	       ? ZONE_OUTSIDE
			      : (int)i < home_idx - 1  ? ZONE_OUTSIDE
			      : (int)i == home_idx - 1 ? ZONE_HOME_PARENT
			      : (int)i == home_idx     ? ZONE_HOME
						       : ZONE_INSIDE;
		char buf[4200];
		const char *complaint =
		    element_complaint(r, &c, i, path, safe_from, buf, sizeof(buf));

		if (!complaint && !v.accepts && strcmp(v.blamed, c.elems[i].path) == 0)
			complaint = v.message;
		q = judge_element(r, &c, i, z, complaint);
	}
	/* What stood before a symlink that led elsewhere is still the user's chain. */
	if (c.n_prefix) {
		struct chain pre = {
		    .elems = c.prefix, .n_elems = c.n_prefix, .status = CHAIN_MISSING};
		int hidx = home->status == CHAIN_OK ? chain_find(&pre, &chain_last(home)->st) : -1;

		for (size_t i = 0; i < c.n_prefix && q >= 0; i++) {
			enum zone z = hidx < 0		   ? ZONE_OUTSIDE
				      : (int)i < hidx - 1  ? ZONE_OUTSIDE
				      : (int)i == hidx - 1 ? ZONE_HOME_PARENT
				      : (int)i == hidx	   ? ZONE_HOME
							   : ZONE_INSIDE;
			char buf[4200];
			const char *complaint = NULL;

			if (!verdict_user_may_fd(r->u, c.prefix[i].fd, &c.prefix[i].st, X_OK)) {
				snprintf(buf, sizeof(buf),
					 "Could not open user '%s' authorized keys '%s': %s",
					 r->u->name, path, "Permission denied");
				complaint = buf;
			}
			q = judge_element(r, &pre, i, z, complaint);
		}
		if (q >= 0 && r->visit)
			for (size_t i = 0; i + 1 < c.n_prefix && q >= 0; i++)
				q = r->visit(r->userdata, c.prefix[i].fd, &c.prefix[i].st,
					     base_name(c.prefix[i + 1].path));
	}
	for (size_t i = 0; i < c.n_links && q >= 0; i++)
		q = judge_link(r, &c.links[i], &v);
	if (q >= 0 && (c.status == CHAIN_ERROR || c.status == CHAIN_LOOP)) {
		struct finding *f = add_finding(r, c.stopped_at, PROBLEM_UNREADABLE);

		if (!f)
			q = -ENOMEM;
		else {
			f->action = ACTION_FAILED;
			f->sshd_rejects = !v.accepts;
			q = set_text(&f->reason,
				     c.error == EXDEV
					 ? "a FUSE file system a user mounted stands "
					   "here: not entered, its server may never answer"
					 : strerror(c.error));
			if (q >= 0)
				q = set_text(&f->sshd_message,
					     v.accepts || !*v.message ? NULL : v.message);
		}
	}
	/* sshd reads a keys file of any size; sshmend no more than KEYS_FILE_MAX. */
	if (q >= 0 && c.status == CHAIN_OK && S_ISREG(chain_last(&c)->st.st_mode) &&
	    chain_last(&c)->st.st_size > (off_t)KEYS_FILE_MAX)
		q = too_large_finding(r, path);
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

/* Create the missing .ssh in the home HOME_FD for U, policy's modes, on descriptors. */
static int make_ssh_dir(const struct run *r, int home_fd, const char *name, int *ret_fd)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int q;

	q = safe_make_component(home_fd, name, 0700, &fd, &st);
	if (q < 0)
		return q;
	/* Ours only if it is the directory we just made: root's, empty, not replaced. */
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 || st.st_nlink != 2)
		return -EEXIST;
	q = safe_set_owner_mode(fd, &st, r->u->uid, r->u->gid, 0700);
	if (q < 0)
		return q;
	*ret_fd = TAKE_FD(fd);
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

/* The user's entry in the drop-in directory, and its own entries when PRESENT. */
static void visit_dropin(struct run *r, bool present)
{
	_cleanup_close_ int udir = -1;
	int top = r->e->dropin_fd;

	if (!r->visit || top < 0 || r->visit(r->userdata, top, &r->e->dropin_st, r->u->name) < 0)
		return;
	if (present && safe_open_component(top, r->u->name, &udir) >= 0)
		(void)r->visit(r->userdata, udir, NULL, "*");
}

/* U's approved keys, from the drop-in directory the engine holds open. */
static int load_dropin(const struct engine *e, const struct user *u, struct dropin_set *set)
{
	struct engine_pass *p = e->pass;

	if (e->dropin_error < 0)
		return e->dropin_error;
	if (p->on && !p->has_dropin_st && e->dropin_fd >= 0)
		p->has_dropin_st = fstat(e->dropin_fd, &p->dropin_st) == 0;
	return dropin_load(e->dropin_fd, p->has_dropin_st ? &p->dropin_st : NULL, e->cfg.dropin_dir,
			   u->name, e->cfg.min_rsa_bits, set);
}

/* The signature of SET's approved lines: changes when the approved set does. */
static uint64_t approved_sig(const struct dropin_set *set)
{
	uint64_t sig = 0;

	for (size_t i = 0; i < set->n; i++)
		for (const char *p = set->keys[i].line;; p++) {
			sig = (sig ^ (unsigned char)*p) * 0x100000001b3ull;
			if (!*p)
				break;
		}
	return sig;
}

int engine_approved_sig(const struct engine *e, const struct user *u, uint64_t *ret)
{
	struct dropin_set set = {0};
	int q = load_dropin(e, u, &set);

	if (q >= 0)
		*ret = approved_sig(&set);
	dropin_set_done(&set);
	return q < 0 ? q : 0;
}

#define EXCLUSIVE_NOT_APPLIED                                                                      \
	"Exclusive= not applied: no approved key to log in with in the drop-in directory"

/* A finding for the unapproved key LINE in the keys file, with ACTION and REASON. */
static int unapproved_finding(struct run *r, const char *line, enum action a, const char *reason)
{
	struct key_line k = {0};
	struct finding *f;
	char why[256];
	int q = 0;

	if (key_parse_line(line, strlen(line), KEY_RSA_MIN_BITS, &k, why, sizeof(why)) != 0)
		return 0; /* only valid key lines are ever taken out */
	f = add_finding(r, r->rep->keys_file, PROBLEM_UNAPPROVED_KEY);
	if (!f)
		q = -ENOMEM;
	else {
		f->action = a;
		q = set_text(&f->reason, reason);
		if (q >= 0)
			q = set_text(&f->fingerprint, k.fingerprint);
		if (q >= 0)
			q = set_text(&f->comment, k.comment);
	}
	key_line_done(&k);
	return q;
}

/* Remember LINE as handed to the quarantine by this run: 1 if it is new, 0 if it was not. */
static int kept_add(struct run *r, const char *line)
{
	size_t len = strlen(line);
	int q;

	if (!r->kept_index && (q = strindex_new(&r->kept_index)) < 0)
		return q;
	if (strindex_find(r->kept_index, line, len) >= 0)
		return 0;
	q = strv_append(&r->kept, &r->n_kept, line, len);
	if (q >= 0)
		q = strindex_add(r->kept_index, r->kept[r->n_kept - 1], len, r->n_kept - 1);
	return q;
}

/* Exclusive= keeps lines that are no key sshd would use: harmless if sshmend reads as sshd. */
static int odd_finding(struct run *r, const struct dropin_odd *odd)
{
	char reason[512];

	if (!odd->n || r->odd_told)
		return 0;
	r->odd_told = true;
	snprintf(reason, sizeof(reason),
		 "Exclusive= keeps %zu line%s that %s no key sshd would use (line %u: %s)", odd->n,
		 odd->n == 1 ? "" : "s", odd->n == 1 ? "is" : "are", odd->first_lineno,
		 odd->first_why);
	return keys_finding(r, r->rep->keys_file, ACTION_REFUSED, reason);
}

/*
 * Into the quarantine with LINES (FRESH of them). Returns 1 when they are kept there, 0 when
 * they must stay in the keys file: it could not be written, which a finding says, as it says
 * that the oldest entries had to make room.
 */
static int quarantine_lines(struct run *r, char *const *lines, size_t fresh)
{
	char path[512], reason[512];
	int d = audit_quarantine(r->e->rootfd, r->u->name, r->rep->keys_file, lines);

	if (audit_quarantine_path(r->u->name, path, sizeof(path)) < 0)
		return -EINVAL;
	if (d == -ENOMEM)
		return d;
	if (d < 0) {
		r->quarantine_failed = true;
		snprintf(reason, sizeof(reason),
			 "cannot be written (%s): %zu key%s outside the approved set stay",
			 strerror(-d), fresh, fresh == 1 ? "" : "s");
		d = keys_finding(r, path, ACTION_FAILED, reason);
		return d < 0 ? d : 0;
	}
	if (d > 0) {
		snprintf(reason, sizeof(reason),
			 "full: its %d oldest entr%s went to make room for %zu new", d,
			 d == 1 ? "y" : "ies", fresh);
		d = keys_finding(r, path, ACTION_FAILED, reason);
	}
	return d < 0 ? d : 1;
}

/*
 * Exclusive=: LINES, the key lines outside the approved set (NULL when none), each a finding.
 * Taken out (with WRITE, into the quarantine first) only when the user has an approved key to
 * log in with: quarantine never leaves anyone without a key. ODD: the lines that stay.
 */
static int keep_quarantined(void *userdata, char *const *lines, const struct dropin_odd *odd,
			    bool write)
{
	struct run *r = userdata;
	_cleanup_free_ char **fresh = calloc(strv_length(lines) + 1, sizeof(char *));
	size_t n_fresh = 0;
	bool take = r->exclusive_applies && !r->quarantine_failed;
	int q = odd_finding(r, odd);

	if (!fresh)
		return -ENOMEM;
	/* A retry reads the file again: each line is told, and kept, once. */
	for (size_t i = 0; q >= 0 && lines && lines[i]; i++)
		if ((q = kept_add(r, lines[i])) > 0)
			fresh[n_fresh++] = lines[i];
	if (q >= 0 && n_fresh && write && take)
		q = quarantine_lines(r, fresh, n_fresh);
	if (q < 0)
		return q;
	take = take && !r->quarantine_failed;
	for (size_t i = 0; q >= 0 && i < n_fresh; i++)
		q = unapproved_finding(r, fresh[i],
				       !r->exclusive_applies ? ACTION_REFUSED
				       : !take		     ? ACTION_FAILED
				       : write		     ? ACTION_FIXED
							     : ACTION_WOULD_FIX,
				       !r->exclusive_applies ? EXCLUSIVE_NOT_APPLIED
				       : !take		     ? "the quarantine cannot be written"
				       : write		     ? "moved to the quarantine"
							     : "would be moved to the quarantine");
	return q < 0 ? q : take;
}

static bool is_exclusive(const struct engine *e, const struct user *u)
{
	return e->cfg.exclusive || strv_contains(e->cfg.exclusive_users, u->name);
}

static int sync_keys(struct run *r, const struct chain *home)
{
	const char *target = r->target;
	_cleanup_close_ int made = -1;
	struct dropin_set set = {0};
	struct chain c = {0};
	const struct chain_elem *dir;
	bool changed = false;
	int q, dirfd;

	q = load_dropin(r->e, r->u, &set);
	if (q < 0)
		return q == -EINVAL ? 0 : q;
	visit_dropin(r, set.present);
	r->rep->n_approved = set.n;
	r->rep->approved_sig = approved_sig(&set);
	r->exclusive_applies = dropin_has_login_key(&set);
	for (size_t i = 0; q >= 0 && i < set.n_rejected; i++) {
		struct finding *f = add_finding(r, set.rejected[i].path, PROBLEM_DROPIN);

		if (!f)
			q = -ENOMEM;
		else {
			f->action = ACTION_REFUSED;
			f->lineno = set.rejected[i].lineno;
			q = set_text(&f->reason, set.rejected[i].why);
		}
	}
	if (q < 0)
		goto out;
	if (target && !(r->rep->keys_file = strdup(target))) {
		q = -ENOMEM;
		goto out;
	}
	/* No drop-in directory and no block to take out: nothing to write, nothing to read. */
	if (!set.present && r->target_block == 0 && !is_exclusive(r->e, r->u) && !r->carry_len) {
		q = 0;
		goto out;
	}
	if (r->odd_home) {
		q = set.n ? keys_finding(r, r->u->home, ACTION_REFUSED, r->odd_home) : 0;
		goto out;
	}
	if (!target) {
		q = set.n
			? keys_finding(r, r->u->home, ACTION_REFUSED,
				       "no AuthorizedKeysFile under the home to hold approved keys")
			: 0;
		goto out;
	}
	q = chain_resolve(r->e->rootfd, target, home, &c);
	if (q < 0)
		goto out;
	if (c.n_links || (c.status != CHAIN_OK && c.status != CHAIN_MISSING)) {
		/* The chain findings already say why; nothing is written through it. */
		q = set.n
			? keys_finding(r, target, ACTION_REFUSED, "the keys file's chain is unsafe")
			: 0;
		goto out;
	}
	if (c.status == CHAIN_OK &&
	    (!S_ISREG(chain_last(&c)->st.st_mode) || chain_last(&c)->st.st_nlink > 1)) {
		/* The chain's own finding (type, hardlink) says why; it is never opened. */
		q = 0;
		goto out;
	}
	dir = c.status == CHAIN_OK ? &c.elems[c.n_elems - 2] : chain_last(&c);
	if (c.status == CHAIN_MISSING && strcmp(c.stopped_at, target) != 0) {
		/* Only .ssh itself may be missing, right below the home. */
		bool below_home =
		    r->vin.home_realpath && strcmp(dir->path, r->vin.home_realpath) == 0;

		if (!set.n) {
			q = 0;
			goto out;
		}
		size_t sl = strlen(c.stopped_at);
		bool is_parent = strncmp(target, c.stopped_at, sl) == 0 && target[sl] == '/' &&
				 !strchr(target + sl + 1, '/');

		if (!below_home || !is_parent) {
			q = keys_finding(r, target, ACTION_REFUSED, "its directory is missing");
			goto out;
		}
		if (r->mode != ENGINE_FIX) {
			q = keys_finding(r, target, ACTION_WOULD_FIX, "approved keys to write");
			goto out;
		}
		q = make_ssh_dir(r, dir->fd, strrchr(c.stopped_at, '/') + 1, &made);
		if (q < 0) {
			q = keys_finding(r, target, ACTION_FAILED, strerror(-q));
			goto out;
		}
	}
	dirfd = made >= 0 ? made : dir->fd;
	if (made < 0 &&
	    (!S_ISDIR(dir->st.st_mode) || (dir->st.st_uid != 0 && dir->st.st_uid != r->u->uid) ||
	     (dir->st.st_mode & 022))) {
		q = set.n ? keys_finding(
				r, target, ACTION_REFUSED,
				"its directory is writable by others or owned by someone else")
			  : 0;
		goto out;
	}
	q = dropin_apply(dirfd, strrchr(target, '/') + 1, &set, r->u->uid, r->u->gid, 0600,
			 r->mode == ENGINE_FIX, is_exclusive(r->e, r->u) ? keep_quarantined : NULL,
			 r, r->carry, r->carry_len, &r->rep->tails, &changed);
	if (q == -EFBIG)
		q = too_large_finding(r, target);
	else if (q < 0)
		q = keys_finding(r, target, ACTION_FAILED,
				 q == -EBADMSG	? "approved keys block has no end marker"
				 : q == -EMLINK ? "hard link: the same file stands elsewhere too"
				 : q == -EBADFD ? "not a regular file"
						: strerror(-q));
	else if (changed)
		q = keys_finding(r, target, r->mode == ENGINE_FIX ? ACTION_FIXED : ACTION_WOULD_FIX,
				 "approved keys block out of date");
out:
	chain_done(&c);
	dropin_set_done(&set);
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

/*
 * Why U's home is one sshmend never repairs, or NULL: none or a relative one, a directory
 * of the system, or one passwd gives to another user too (both would be given it in turn).
 * HOME is its chain; the path it resolved to is what counts.
 */
static const char *odd_home(const struct user *u, const struct chain *home)
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

/* A run of U's chains in MODE, reporting to REP; its keys file is found by the caller. */
static struct run run_new(const struct engine *e, const struct user *u, enum engine_mode mode,
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
		    add_finding(&r, u->home[0] ? u->home : "(no home)", PROBLEM_MISSING);

		free(r.target);
		if (!f || set_text(&f->reason, odd_home(u, &(struct chain){0})) < 0) {
			user_report_done(&rep);
			return -ENOMEM;
		}
		f->action = ACTION_REFUSED;
		*ret = rep;
		return 0;
	}
	q = chain_resolve(e->rootfd, u->home, e->pass->on ? &e->pass->base : NULL, &home);
	if (q < 0) {
		free(r.target);
		return q;
	}
	r.odd_home = odd_home(u, &home);
	if (home.status == CHAIN_OK && S_ISDIR(chain_last(&home)->st.st_mode))
		r.vin.home_realpath = chain_last(&home)->path;
	else if (home.status == CHAIN_MISSING) {
		struct finding *f = add_finding(&r, u->home, PROBLEM_MISSING);

		q = f ? set_text(&f->reason, "home directory does not exist") : -ENOMEM;
	}
	for (size_t i = 0; q >= 0 && e->keys_files && e->keys_files[i]; i++) {
		_cleanup_free_ char *path = NULL;

		q = sshd_expand_authorized_keys(e->keys_files[i], u, &path);
		if (q == -EINVAL)
			continue; /* sshd refuses to start with such a token; nothing to judge */
		if (q >= 0)
			q = run_keys_file(&r, path, &home, &prev);
	}
	chain_done(&prev);
	if (q >= 0)
		q = sync_keys(&r, &home);
	if (q >= 0)
		pass_keep(e, &home, &rep);
	chain_done(&home);
	free(r.seen);
	free(r.target);
	strv_free(r.kept);
	strindex_free(r.kept_index);
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
		q = sync_keys(&r, &home);
		chain_done(&home);
	}
	free(r.target);
	strv_free(r.kept);
	strindex_free(r.kept_index);
	if (q < 0) {
		user_report_done(&rep);
		return q;
	}
	*ret = rep;
	return 0;
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

void user_report_done(struct user_report *r)
{
	for (size_t i = 0; i < r->n_findings; i++) {
		free(r->findings[i].path);
		free(r->findings[i].sshd_message);
		free(r->findings[i].reason);
		free(r->findings[i].fingerprint);
		free(r->findings[i].comment);
	}
	free(r->findings);
	free(r->keys_file);
	dropin_tails_done(&r->tails);
	*r = (struct user_report){0};
}

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
	bool exclusive = is_exclusive(e, u);
	struct chain home;
	int q;

	q = load_dropin(e, u, &set);
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
