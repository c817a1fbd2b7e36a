#include <unistd.h>
#include "chain.h"
#include "policy.h"
#include "verdict.h"

#define STRICT_HOME_PARENT_MODE 0755
#define STRICT_DIR_MODE 0700
#define STRICT_FILE_MODE 0600

static void add_access(const struct user *u, bool is_file, struct expect *e)
{
	struct stat probe = {.st_uid = e->uid, .st_gid = e->gid, .st_mode = e->mode};

	if (u->uid == 0 || verdict_user_may(u, &probe, is_file ? R_OK : X_OK))
		return;
	/* The user's own element gets u+x / u+r; a root-owned one o+x / o+r. */
	if (e->uid == u->uid)
		e->mode |= is_file ? 0400 : 0100;
	else
		e->mode |= is_file ? 0004 : 0001;
}

enum policy_result policy_expect(const struct policy_input *in, const struct policy_element *el,
				 struct expect *ret)
{
	const struct user *u = in->user;
	const struct stat *st = el->st, *parent = el->parent;
	enum zone zone = el->zone;
	bool is_file = el->is_file;
	struct expect e = {.uid = st->st_uid, .gid = st->st_gid, .mode = st->st_mode & 07777};
	bool strict = in->mode == POLICY_STRICT;

	switch (zone) {
	case ZONE_OUTSIDE:
	case ZONE_HOME_PARENT:
		if (is_file ? (e.uid != 0 && e.uid != u->uid) : e.uid != 0)
			e.uid = 0, e.gid = 0;
		if (strict && zone == ZONE_HOME_PARENT)
			e = (struct expect){0, 0, STRICT_HOME_PARENT_MODE};
		break;
	case ZONE_HOME:
	case ZONE_INSIDE:
		if (strict)
			e = (struct expect){u->uid, u->gid, is_file ? STRICT_FILE_MODE : STRICT_DIR_MODE};
		else if (e.uid != 0 && e.uid != u->uid)
			e.uid = u->uid, e.gid = u->gid;
		break;
	}
	/* Group and other write go everywhere, whatever sshd's flavour: images move. Except a
	 * sticky directory above the home (/tmp, /var/tmp): sshd only passes through it, and
	 * shared by design it must stay writable. */
	if (!(zone != ZONE_HOME && zone != ZONE_INSIDE && !is_file && (st->st_mode & S_ISVTX)))
		e.mode &= ~(mode_t)022;
	/* Access an ACL already grants is left alone, as long as the owner stays. */
	if (!(el->user_has_access && e.uid == st->st_uid && e.gid == st->st_gid))
		add_access(u, is_file, &e);
	*ret = e;

	if (e.uid == st->st_uid && e.gid == st->st_gid && e.mode == (st->st_mode & 07777))
		return POLICY_MATCHES;
	if (e.uid != st->st_uid && st->st_uid != 0 && parent && !chain_dir_is_root_only(parent) &&
	    userdb_by_uid(in->db, st->st_uid))
		/* In a directory others can write, an existing user's element may have been
		 * moved in to be taken over: report it, never chown it. */
		return POLICY_FOREIGN;
	return POLICY_CHANGE;
}
