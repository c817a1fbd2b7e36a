/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A user's drop-in directory of approved keys (dropin_load()): the input, cut at its NUL
 * bytes, is up to three *.pub files. Every key kept must be one sshd reads, named once.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "dropin.h"
#include "fuzz.h"
#include "keys.h"
#include "macro.h"

#define DIR_SHOWN "/etc/sshmend/keys.d"

static const char *const files[] = {"keys.d/alice/10-a.pub", "keys.d/alice/20-b.pub",
				    "keys.d/alice/30-c.pub"};

void fuzz_one(const uint8_t *data, size_t size)
{
	struct dropin_set set = {0};
	int top, r;

	fuzz_write_parts(data, size, files, ELEMENTSOF(files));
	top = openat(fuzz_rootfd, "keys.d", O_PATH | O_DIRECTORY | O_CLOEXEC);
	FUZZ_ASSERT(top >= 0);
	r = dropin_load(top, NULL, DIR_SHOWN, "alice", 2048, &set);
	close(top);
	FUZZ_ASSERT(r == 0);
	FUZZ_ASSERT(set.present);
	for (size_t i = 0; i < set.n; i++) {
		const struct approved_key *a = &set.keys[i];
		struct key_line k = {0};
		char why[256];

		FUZZ_ASSERT(!strchr(a->line, '\n'));
		FUZZ_ASSERT(key_line_check(a->line, strlen(a->line), false, why, sizeof(why)) == 0);
		FUZZ_ASSERT(key_parse_line(a->line, strlen(a->line), 2048, &k, why, sizeof(why)) ==
			    0);
		FUZZ_ASSERT(strcmp(k.fingerprint, a->fingerprint) == 0);
		FUZZ_ASSERT(k.certificate == a->certificate);
		key_line_done(&k);
		for (size_t j = 0; j < i; j++)
			FUZZ_ASSERT(set.keys[j].certificate != a->certificate ||
				    strcmp(set.keys[j].fingerprint, a->fingerprint) != 0);
	}
	for (size_t i = 0; i < set.n_rejected; i++)
		FUZZ_ASSERT(set.rejected[i].lineno > 0 && set.rejected[i].why[0]);
	dropin_set_done(&set);
}
