/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One authorized_keys line as sshd reads it (key_parse_line(): options, key blob, certificate),
 * the check of what sshmend writes (key_line_check()), a whole text of key lines
 * (keys_text_is_keys()), and a raw key blob (key_fingerprint()).
 */
#include <errno.h>
#include <string.h>
#include "fuzz.h"
#include "keys.h"

static const char *const comments[] = {"# a comment", NULL};

void fuzz_one(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data;
	struct key_line k = {0};
	char why[256] = "", fp[64];
	int r;

	r = key_parse_line(line, size, 2048, &k, why, sizeof(why));
	FUZZ_ASSERT(r == 0 || r == 1 || r == -EINVAL || r == -EKEYREJECTED);
	if (r == 0) {
		FUZZ_ASSERT(k.type && key_type_known(k.type));
		FUZZ_ASSERT(k.blob && k.blob_len > 0);
		FUZZ_ASSERT(strncmp(k.fingerprint, "SHA256:", 7) == 0);
		if (!k.certificate) {
			FUZZ_ASSERT(key_fingerprint(k.blob, k.blob_len, fp) == 0);
			FUZZ_ASSERT(strcmp(fp, k.fingerprint) == 0);
		}
	} else {
		FUZZ_ASSERT(!k.type && !k.blob && !k.options && !k.comment);
		FUZZ_ASSERT(r == 1 || why[0]);
	}
	key_line_done(&k);

	r = key_line_check(line, size, false, why, sizeof(why));
	FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -E2BIG);
	r = key_line_check(line, size, true, why, sizeof(why));
	FUZZ_ASSERT(r == 0 || r == -EBADMSG || r == -E2BIG);
	(void)keys_text_is_keys(line, size, comments);

	r = key_fingerprint(data, size, fp);
	FUZZ_ASSERT(r == 0 || r == -EINVAL);
	if (r == 0)
		FUZZ_ASSERT(strncmp(fp, "SHA256:", 7) == 0 && strlen(fp) < sizeof(fp));
}
