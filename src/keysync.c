/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "audit.h"
#include "chain.h"
#include "dropin.h"
#include "keys.h"
#include "keysync.h"
#include "macro.h"
#include "pass.h"
#include "safeio.h"
#include "strindex.h"
#include "label.h"
#include "strv.h"

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
	/* Its label while it is still root's alone, before the user gets it. */
	q = label_new_file(home_fd, name, fd);
	if (q < 0)
		return q;
	q = safe_set_owner_mode(fd, &st, r->u->uid, r->u->gid, 0700);
	if (q < 0)
		return q;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

/* The user's entry in the drop-in directory, and its own entries when PRESENT. */
static void visit_dropin_dir(const struct engine *e, const struct user *u, bool present,
			     engine_visit_fn visit, void *userdata)
{
	_cleanup_close_ int udir = -1;
	int top = e->dropin_fd;

	if (!visit || top < 0 || visit(userdata, top, &e->dropin_st, u->name) < 0)
		return;
	if (present && safe_open_component(top, u->name, &udir) >= 0)
		(void)visit(userdata, udir, NULL, "*");
}

static void visit_dropin(struct run *r, bool present)
{
	visit_dropin_dir(r->e, r->u, present, r->visit, r->userdata);
}

void keysync_visit_dropin(const struct engine *e, const struct user *u, engine_visit_fn visit,
			  void *userdata)
{
	visit_dropin_dir(e, u, true, visit, userdata);
}

int keysync_load(const struct engine *e, const struct user *u, struct dropin_set *set)
{
	if (e->dropin_error < 0)
		return e->dropin_error;
	return dropin_load(e->dropin_fd, pass_dropin_st(e->pass, e->dropin_fd), e->cfg.dropin_dir,
			   u->name, e->cfg.min_rsa_bits, set);
}

uint64_t keysync_approved_sig(const struct dropin_set *set)
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
	f = run_finding(r, r->rep->keys_file, PROBLEM_UNAPPROVED_KEY);
	if (!f)
		q = -ENOMEM;
	else {
		f->action = a;
		q = finding_set_text(&f->reason, reason);
		if (q >= 0)
			q = finding_set_text(&f->fingerprint, k.fingerprint);
		if (q >= 0)
			q = finding_set_text(&f->comment, k.comment);
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
	return run_keys_finding(r, r->rep->keys_file, ACTION_REFUSED, reason);
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
		r->rep->retry |= error_may_pass(d);
		snprintf(reason, sizeof(reason),
			 "cannot be written (%s): %zu key%s outside the approved set stay",
			 strerror(-d), fresh, fresh == 1 ? "" : "s");
		d = run_keys_finding(r, path, ACTION_FAILED, reason);
		return d < 0 ? d : 0;
	}
	if (d > 0) {
		snprintf(reason, sizeof(reason),
			 "full: its %d oldest entr%s went to make room for %zu new", d,
			 d == 1 ? "y" : "ies", fresh);
		d = run_keys_finding(r, path, ACTION_FAILED, reason);
	}
	return d < 0 ? d : 1;
}

/* What one sync hands to the quarantine: told as moved once the keys file is replaced. */
struct sync_keep {
	struct run *r;
	char **moved; /* in the quarantine now, out of the keys file once it is replaced */
	size_t n_moved;
};

/*
 * Exclusive=: LINES, the key lines outside the approved set (NULL when none), each a finding.
 * Taken out (with WRITE, into the quarantine first) only when the user has an approved key to
 * log in with: quarantine never leaves anyone without a key. ODD: the lines that stay. Those
 * moved are told by sync_moved(), once the keys file is replaced.
 */
static int keep_quarantined(void *userdata, char *const *lines, const struct dropin_odd *odd,
			    bool write)
{
	struct sync_keep *k = userdata;
	struct run *r = k->r;
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
	if (write && take) {
		for (size_t i = 0; q >= 0 && i < n_fresh; i++)
			q = strv_append(&k->moved, &k->n_moved, fresh[i], strlen(fresh[i]));
		return q < 0 ? q : 1;
	}
	for (size_t i = 0; q >= 0 && i < n_fresh; i++)
		q = unapproved_finding(r, fresh[i],
				       !r->exclusive_applies ? ACTION_REFUSED
				       : !take		     ? ACTION_FAILED
							     : ACTION_WOULD_FIX,
				       !r->exclusive_applies ? EXCLUSIVE_NOT_APPLIED
				       : !take		     ? "the quarantine cannot be written"
							     : "would be moved to the quarantine");
	return q < 0 ? q : take;
}

/*
 * The lines K moved to the quarantine: GONE, they left the keys file (each a finding, once);
 * else the file was never replaced and they are still in it: out of the quarantine again,
 * so that the next sync, which takes them out, keeps and tells them once.
 */
static int sync_moved(struct sync_keep *k, bool gone)
{
	struct run *r = k->r;
	int q = 0;

	if (!gone && k->n_moved)
		(void)audit_quarantine_undo(r->e->rootfd, r->u->name, r->rep->keys_file, k->moved);
	for (size_t i = 0; q >= 0 && i < k->n_moved; i++)
		q = unapproved_finding(r, k->moved[i], gone ? ACTION_FIXED : ACTION_FAILED,
				       gone ? "moved to the quarantine"
					    : "the keys file could not be replaced: it stays");
	strv_free(k->moved);
	return q;
}

bool keysync_is_exclusive(const struct engine *e, const struct user *u)
{
	return e->cfg.exclusive || strv_contains(e->cfg.exclusive_users, u->name);
}

/* Say what the drop-in directory holds for the run's user, rejected lines as findings. */
static int sync_report(struct run *r, const struct dropin_set *set)
{
	int q = 0;

	visit_dropin(r, set->present);
	r->rep->n_approved = set->n;
	r->rep->approved_sig = keysync_approved_sig(set);
	r->exclusive_applies = dropin_has_login_key(set);
	for (size_t i = 0; q >= 0 && i < set->n_rejected; i++) {
		struct finding *f = run_finding(r, set->rejected[i].path, PROBLEM_DROPIN);

		if (!f)
			return -ENOMEM;
		f->action = ACTION_REFUSED;
		f->lineno = set->rejected[i].lineno;
		q = finding_set_text(&f->reason, set->rejected[i].why);
	}
	if (q >= 0 && r->target && !(r->rep->keys_file = strdup(r->target)))
		q = -ENOMEM;
	return q;
}

/* A refusal to write approved keys, when there are any to write; 0 (stop) or -ENOMEM. */
static int sync_refuse(struct run *r, const struct dropin_set *set, const char *path,
		       const char *why)
{
	return set->n ? run_keys_finding(r, path, ACTION_REFUSED, why) : 0;
}

/* Is there anything to write, and somewhere to write it? 1 yes, 0 no (a finding says why). */
static int sync_wanted(struct run *r, const struct dropin_set *set)
{
	/* No drop-in directory and no block to take out: nothing to write, nothing to read. */
	if (!set->present && r->target_block == 0 && !keysync_is_exclusive(r->e, r->u) &&
	    !r->carry_len)
		return 0;
	if (r->odd_home)
		return sync_refuse(r, set, r->u->home, r->odd_home);
	if (!r->target)
		return sync_refuse(r, set, r->u->home,
				   "no AuthorizedKeysFile under the home to hold approved keys");
	return 1;
}

/*
 * The directory of the keys file, C its chain: *DIR, its last directory reached. 1 to write
 * there (or make .ssh there), 0 not to (a finding says why).
 */
static int sync_where(struct run *r, const struct dropin_set *set, const struct chain *c,
		      const struct chain_elem **dir)
{
	if (c->n_links || (c->status != CHAIN_OK && c->status != CHAIN_MISSING))
		/* The chain findings already say why; nothing is written through it. */
		return sync_refuse(r, set, r->target, "the keys file's chain is unsafe");
	if (c->status == CHAIN_OK &&
	    (!S_ISREG(chain_last(c)->st.st_mode) || chain_last(c)->st.st_nlink > 1))
		return 0; /* the chain's own finding (type, hardlink) says why; never opened */
	*dir = c->status == CHAIN_OK ? &c->elems[c->n_elems - 2] : chain_last(c);
	return 1;
}

/*
 * The keys file's directory is missing below DIR, where C stopped: only .ssh itself may be,
 * right below the home. Made, into *MADE, when fixing. 1 to go on, 0 not to.
 */
static int sync_make_dir(struct run *r, const struct dropin_set *set, const struct chain *c,
			 const struct chain_elem *dir, int *made)
{
	const char *target = r->target;
	bool below_home = r->vin.home_realpath && strcmp(dir->path, r->vin.home_realpath) == 0;
	size_t sl = strlen(c->stopped_at);
	bool is_parent = strncmp(target, c->stopped_at, sl) == 0 && target[sl] == '/' &&
			 !strchr(target + sl + 1, '/');
	int q;

	if (!set->n)
		return 0;
	if (!below_home || !is_parent)
		return sync_refuse(r, set, target, "its directory is missing");
	if (r->mode != ENGINE_FIX) {
		q = run_keys_finding(r, target, ACTION_WOULD_FIX, "approved keys to write");
		return q < 0 ? q : 0;
	}
	q = make_ssh_dir(r, dir->fd, strrchr(c->stopped_at, '/') + 1, made);
	if (q < 0) {
		r->rep->retry |= error_may_pass(q);
		q = run_keys_finding(r, target, ACTION_FAILED, strerror(-q));
		return q < 0 ? q : 0;
	}
	return 1;
}

/* A temporary file NAME of a key sync cut short, removed from the keys file's directory. */
static int leftover_removed(void *userdata, const char *name)
{
	struct run *r = userdata;
	const char *target = r->target;
	char path[PATH_MAX];
	struct finding *f;

	snprintf(path, sizeof(path), "%.*s/%s", (int)(path_base_name(target) - 1 - target), target,
		 name);
	f = run_finding(r, path, PROBLEM_LEFTOVER);
	if (!f)
		return -ENOMEM;
	f->action = ACTION_FIXED;
	return finding_set_text(&f->reason, LEFTOVER_REASON);
}

/* At a start, before the sync writes: what a killed one left beside the keys file goes. */
static int sync_sweep(struct run *r, int dirfd)
{
	int q;

	if (!r->e->sweep_leftovers || r->mode != ENGINE_FIX)
		return 1;
	q = safe_remove_leftovers(dirfd, path_base_name(r->target), r->u->uid, leftover_removed, r);
	/* Whatever else stops it, the sync goes on: the next start looks again. */
	return q == -ENOMEM ? q : 1;
}

/* Write the approved block (and what is carried) into the keys file in DIRFD. */
static int sync_write(struct run *r, const struct dropin_set *set, int dirfd)
{
	const char *target = r->target;
	struct sync_keep k = {.r = r};
	bool changed = false, replaced = false;
	int q, m;

	q = dropin_apply(dirfd, strrchr(target, '/') + 1, set, r->u->uid, r->u->gid, 0600,
			 r->mode == ENGINE_FIX,
			 keysync_is_exclusive(r->e, r->u) ? keep_quarantined : NULL, &k, r->carry,
			 r->carry_len, &r->rep->tails, &changed, &replaced);
	m = sync_moved(&k, replaced);
	if (m < 0)
		return m;
	if (q == -EFBIG)
		return run_too_large_finding(r, target);
	r->rep->retry |= q < 0 && error_may_pass(q);
	r->carried = q >= 0;
	if (q < 0)
		return run_keys_finding(r, target, ACTION_FAILED,
					q == -EBADMSG ? "approved keys block has no end marker"
					: q == -EMLINK
					    ? "hard link: the same file stands elsewhere too"
					: q == -EBADFD ? "not a regular file"
						       : strerror(-q));
	if (changed)
		return run_keys_finding(r, target,
					r->mode == ENGINE_FIX ? ACTION_FIXED : ACTION_WOULD_FIX,
					"approved keys block out of date");
	return 0;
}

int keysync_run(struct run *r, const struct chain *home)
{
	_cleanup_close_ int made = -1;
	struct dropin_set set = {0};
	struct chain c = {0};
	const struct chain_elem *dir = NULL;
	int q;

	q = keysync_load(r->e, r->u, &set);
	if (q < 0)
		return q == -EINVAL ? 0 : q;
	q = sync_report(r, &set);
	if (q >= 0)
		q = sync_wanted(r, &set);
	if (q > 0 && (q = chain_resolve(r->e->rootfd, r->target, home, &c)) >= 0)
		q = sync_where(r, &set, &c, &dir);
	if (q > 0 && c.status == CHAIN_MISSING && strcmp(c.stopped_at, r->target) != 0)
		q = sync_make_dir(r, &set, &c, dir, &made);
	if (q > 0 && made < 0 &&
	    (!S_ISDIR(dir->st.st_mode) || (dir->st.st_uid != 0 && dir->st.st_uid != r->u->uid) ||
	     (dir->st.st_mode & 022)))
		q = sync_refuse(r, &set, r->target,
				"its directory is writable by others or owned by someone else");
	if (q > 0)
		q = sync_sweep(r, made >= 0 ? made : dir->fd);
	if (q > 0)
		q = sync_write(r, &set, made >= 0 ? made : dir->fd);
	chain_done(&c);
	dropin_set_done(&set);
	return q < 0 ? q : 0;
}
