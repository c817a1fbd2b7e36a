/* SPDX-License-Identifier: Apache-2.0 */
/*
 * passwd, group and login.defs under a root directory (userdb_load()): the input, cut at its NUL
 * bytes, is etc/passwd, etc/group and etc/login.defs in a scratch root. Every user loaded is
 * found again by name and by uid, the indexes agree with the lists, and an AuthorizedKeysFile
 * pattern expands for each (whatever the home and name hold).
 */
#include <errno.h>
#include <string.h>
#include "fuzz.h"
#include "sshdconf.h"
#include "users.h"

#define N_FILES 3

static const char *const files[N_FILES] = {"etc/passwd", "etc/group", "etc/login.defs"};

void fuzz_one(const uint8_t *data, size_t size)
{
	struct userdb *db = NULL;
	int r;

	fuzz_write_parts(data, size, files, N_FILES);
	r = userdb_load(fuzz_rootfd, &db);
	FUZZ_ASSERT(r == 0 || r == -E2BIG);
	if (r < 0)
		return;
	for (size_t i = 0; i < db->n_users; i++) {
		const struct user *u = &db->users[i], *by_name = userdb_by_name(db, u->name);
		const struct user *by_uid = userdb_by_uid(db, u->uid);

		FUZZ_ASSERT(by_name && strcmp(by_name->name, u->name) == 0);
		FUZZ_ASSERT(by_uid && by_uid->uid == u->uid);
		FUZZ_ASSERT(u->home && u->shell);
		FUZZ_ASSERT(user_in_group(u, u->gid));
		for (size_t g = 0; g < u->n_groups; g++)
			FUZZ_ASSERT(userdb_group(db, u->groups[g]));
		(void)user_has_login_shell(u);
		{
			char *path = NULL;

			FUZZ_ASSERT(sshd_expand_authorized_keys("%h/.ssh/%u.%U%%", u, &path) == 0);
			FUZZ_ASSERT(strstr(path, u->name));
			free(path);
			FUZZ_ASSERT(sshd_expand_authorized_keys(".ssh/k", u, &path) == 0);
			free(path);
		}
	}
	for (size_t i = 0; i < db->n_groups; i++)
		FUZZ_ASSERT(userdb_group(db, db->groups[i].gid));
	userdb_free(db);
}
