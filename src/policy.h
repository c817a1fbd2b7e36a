/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <sys/stat.h>
#include "config.h"
#include "users.h"

/* Where an element stands relative to the user's home. */
enum zone {
	ZONE_OUTSIDE,	  /* "/", or a directory of a keys path outside home */
	ZONE_HOME_PARENT, /* the directory holding the home (/home) */
	ZONE_HOME,	  /* the home directory itself */
	ZONE_INSIDE,	  /* below home: .ssh, the keys file */
};

struct expect {
	uid_t uid;
	gid_t gid;
	mode_t mode; /* permission bits, 07777 */
};

enum policy_result {
	POLICY_MATCHES, /* nothing to change */
	POLICY_CHANGE,	/* change to the expected state */
	POLICY_FOREIGN, /* another user's element that may have been planted: never given */
	POLICY_PLANTED, /* root's or an unknown uid's that may have been planted: never opened up */
};

struct policy_input {
	enum policy_mode mode;
	const struct user *user;
	const struct userdb *db;
};

/*
 * What the engine knows of an element beyond its stat.
 *
 * Could the user have put the element where it stands? Only if a directory above it, as
 * found, was the user's or writable by the user: then an element the user does not own may
 * have been moved in to be taken over (a root 0600 file renamed to authorized_keys, another
 * user's file), and is neither given to the user nor opened up to them. Where no directory
 * above it was the user's (a home found owned by someone else after a mistaken chown -R, a
 * .ssh left root's by an image bake inside it), it is the same mistake as its directory and
 * is repaired with it.
 */
struct policy_element {
	const struct stat *st;
	enum zone zone;
	bool is_file;
	bool user_has_access; /* the user may search or read it now, ACLs included */
	bool plantable;	      /* a directory above it, as found, was the user's to write */
	/* Nothing in it to steal: a file of key lines alone, a directory of nothing but what a
	 * .ssh holds (as far as the user could read it once searchable). */
	bool nothing_to_steal;
};

/*
 * What should the element be? Access the user lacks is added to the permission class the
 * kernel applies to the user: the owner's bits if the user owns it, else the group's if the
 * user is in its group, else the others'.
 */
enum policy_result policy_expect(const struct policy_input *in, const struct policy_element *el,
				 struct expect *ret);
