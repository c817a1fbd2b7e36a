/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct user {
	char *name;
	uid_t uid;
	gid_t gid;
	char *home;
	char *shell;
	gid_t *groups; /* supplementary groups from the group database */
	size_t n_groups;
	bool home_shared; /* another name's passwd entry gives the same home */
};

struct group_entry {
	char *name;
	gid_t gid;
	char **members;
};

struct userdb {
	struct user *users; /* in database order */
	size_t n_users;
	struct group_entry *groups;
	size_t n_groups;
	size_t *by_name; /* indexes into users, sorted by name */
	size_t *by_uid;	 /* sorted by uid; the first entry of a uid wins, as getpwuid() does */
	size_t *by_gid;	 /* indexes into groups, sorted by gid */
	char **warnings; /* malformed lines skipped, "FILE:LINE: ..." */
	uid_t uid_min;	 /* UID_MIN from login.defs, 1000 when absent */
};

/*
 * Load users and groups. ROOTFD < 0: from NSS (getpwent/getgrent), so LDAP and SSSD
 * users count. Otherwise from etc/passwd, etc/group and etc/login.defs below ROOTFD.
 */
int userdb_load(int rootfd, struct userdb **ret);
void userdb_free(struct userdb *db);

const struct user *userdb_by_name(const struct userdb *db, const char *name);
const struct user *userdb_by_uid(const struct userdb *db, uid_t uid);
const struct group_entry *userdb_group(const struct userdb *db, gid_t gid);

/* Is U a member of GID, by primary or supplementary group? */
bool user_in_group(const struct user *u, gid_t gid);

/* A login user by default: a login shell, not nologin or false. */
bool user_has_login_shell(const struct user *u);
