/* SPDX-License-Identifier: Apache-2.0 */
#include <unistd.h>
#include "policy.h"
#include "verdict.h"

#define STRICT_HOME_PARENT_MODE 0755
#define STRICT_DIR_MODE 0700
#define STRICT_FILE_MODE 0600

/* The search (directory) or read (file) bit of the class that applies to U for E. */
static mode_t access_bit(const struct user *u, const struct expect *e, bool is_file)
{
	mode_t bit = is_file ? 04 : 01;

	if (e->uid == u->uid)
		return bit << 6;
	if (user_in_group(u, e->gid))
		return bit << 3;
	return bit;
}

static bool user_may(const struct user *u, const struct expect *e, bool is_file)
{
	struct stat probe = {.st_uid = e->uid, .st_gid = e->gid, .st_mode = e->mode};

	return u->uid == 0 || verdict_user_may(u, &probe, is_file ? R_OK : X_OK);
}

enum policy_result policy_expect(const struct policy_input *in, const struct policy_element *el,
				 struct expect *ret)
{
	const struct user *u = in->user;
	const struct stat *st = el->st;
	enum zone zone = el->zone;
	bool is_file = el->is_file;
	struct expect e = {.uid = st->st_uid, .gid = st->st_gid, .mode = st->st_mode & 07777};
	bool strict = in->mode == POLICY_STRICT;
	bool theirs = st->st_uid != u->uid && u->uid != 0;
	bool inside = zone == ZONE_HOME || zone == ZONE_INSIDE;
	/* What it holds may go to the user: it could not have been planted, or there is
	 * nothing in it to steal (keys alone; what a .ssh holds), or the user reads the
	 * file already. */
	bool givable =
	    !theirs || !el->plantable || el->nothing_to_steal || (is_file && el->user_has_access);

	if (theirs && el->plantable && st->st_uid != 0 && userdb_by_uid(in->db, st->st_uid)) {
		/* Another user's element that the user may have moved in: giving it away is the
		 * attack, whatever it holds. */
		*ret = (struct expect){u->uid, u->gid, e.mode};
		return POLICY_FOREIGN;
	}
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
		if (strict && givable)
			e = (struct expect){u->uid, u->gid,
					    is_file ? STRICT_FILE_MODE : STRICT_DIR_MODE};
		else if (strict) /* root's, kept root's: no more than the strict modes */
			e.mode &= is_file ? STRICT_FILE_MODE : STRICT_DIR_MODE;
		else if (e.uid != 0 && e.uid != u->uid)
			e.uid = u->uid, e.gid = u->gid;
		break;
	}
	/* Group and other write go everywhere, whatever sshd's flavour: images move. Except a
	 * sticky directory above the home (/tmp, /var/tmp): sshd only passes through it, and
	 * shared by design it must stay writable. */
	if (!(!inside && !is_file && (st->st_mode & S_ISVTX)))
		e.mode &= ~(mode_t)022;
	/* Access an ACL grants, not the mode bits, is left alone, as long as the owner stays. */
	if (!user_may(u, &e, is_file) &&
	    !(el->user_has_access && e.uid == st->st_uid && e.gid == st->st_gid &&
	      !verdict_user_may(u, st, is_file ? R_OK : X_OK))) {
		e.mode |= access_bit(u, &e, is_file);
		/* Reading a file the user could not read, or searching a directory they could
		 * not, owned by someone else where the user may have planted it, is what a thief
		 * wants: only what holds nothing to steal is opened up. */
		if (e.uid != u->uid && !givable && !el->user_has_access) {
			*ret = e;
			return POLICY_PLANTED;
		}
	}
	*ret = e;

	if (e.uid == st->st_uid && e.gid == st->st_gid && e.mode == (st->st_mode & 07777))
		return POLICY_MATCHES;
	if (e.uid == u->uid && theirs && !givable)
		return POLICY_PLANTED; /* an unknown uid's: never handed over */
	return POLICY_CHANGE;
}
