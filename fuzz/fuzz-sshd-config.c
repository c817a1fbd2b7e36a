/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sshd_config with Include and Match (sshd_config_load()), and the expansion of every
 * AuthorizedKeysFile it yields: the input, cut at its NUL bytes, is etc/ssh/sshd_config and up
 * to three files of etc/ssh/sshd_config.d that it may Include, in a scratch root.
 */
#include <errno.h>
#include <string.h>
#include "fuzz.h"
#include "sshdconf.h"
#include "strv.h"

#define N_FILES 4

static const char *const files[N_FILES] = {"etc/ssh/sshd_config", "etc/ssh/sshd_config.d/10-a.conf",
					   "etc/ssh/sshd_config.d/20-b.conf",
					   "etc/ssh/sshd_config.d/30-c"};

void fuzz_one(const uint8_t *data, size_t size)
{
	struct user u = {.name = "alice", .uid = 1000, .gid = 1000, .home = "/home/alice"};
	struct sshd_config c = {0};
	char err[512] = "";
	int r;

	fuzz_write_parts(data, size, files, N_FILES);
	r = sshd_config_load(fuzz_rootfd, fuzz_root, NULL, &c, err, sizeof(err));
	/* Any error names the file (and the line): a file that is not there is no error. */
	FUZZ_ASSERT(r != -ENOMEM && r != -ENOENT);
	if (r < 0) {
		FUZZ_ASSERT(err[0] == '/');
		return;
	}
	FUZZ_ASSERT(c.files && c.files[0]);
	for (char **k = c.authorized_keys; k && *k; k++) {
		char *path = NULL;

		r = sshd_expand_authorized_keys(*k, &u, &path);
		FUZZ_ASSERT(r == 0 || r == -EINVAL);
		if (r == 0)
			FUZZ_ASSERT(path[0] == '/');
		free(path);
	}
	sshd_config_done(&c);
}
