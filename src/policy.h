#pragma once
#include <stdbool.h>
#include <sys/stat.h>
#include "config.h"
#include "users.h"

/* Where an element stands relative to the user's home. */
enum zone {
	ZONE_OUTSIDE,     /* "/", or a directory of a keys path outside home */
	ZONE_HOME_PARENT, /* the directory holding the home (/home) */
	ZONE_HOME,        /* the home directory itself */
	ZONE_INSIDE,      /* below home: .ssh, the keys file */
};

struct expect {
	uid_t uid;
	gid_t gid;
	mode_t mode; /* permission bits, 07777 */
};

enum policy_result {
	POLICY_MATCHES, /* nothing to change */
	POLICY_CHANGE,  /* change to the expected state */
	POLICY_FOREIGN, /* the owner would change, but the element may have been planted */
};

struct policy_input {
	enum policy_mode mode;
	const struct user *user;
	const struct userdb *db;
};

/* What the engine knows of an element beyond its stat. */
struct policy_element {
	const struct stat *st;
	const struct stat *parent; /* the directory holding it as found; NULL for the root */
	enum zone zone;
	bool is_file;
	bool user_has_access; /* the user may search or read it now, ACLs included */
};

/* What should the element be? */
enum policy_result policy_expect(const struct policy_input *in, const struct policy_element *el,
				 struct expect *ret);
