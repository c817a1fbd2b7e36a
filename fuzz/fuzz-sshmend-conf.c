/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sshmend.conf and its drop-ins (config_load()): the input, cut at its NUL bytes, is
 * etc/sshmend/sshmend.conf and up to three files of etc/sshmend/sshmend.conf.d, in a scratch
 * root.
 */
#include <errno.h>
#include <string.h>
#include "config.h"
#include "fuzz.h"

#define N_FILES 4

static const char *const files[N_FILES] = {
    "etc/sshmend/sshmend.conf", "etc/sshmend/sshmend.conf.d/10-a.conf",
    "etc/sshmend/sshmend.conf.d/20-b.conf", "etc/sshmend/sshmend.conf.d/30-c.conf"};

void fuzz_one(const uint8_t *data, size_t size)
{
	struct config c = {0};
	char err[512] = "";
	int r;

	fuzz_write_parts(data, size, files, N_FILES);
	r = config_load(fuzz_rootfd, NULL, &c, err, sizeof(err));
	FUZZ_ASSERT(r == 0 || r == -EINVAL || r == -E2BIG);
	if (r < 0) {
		FUZZ_ASSERT(err[0]);
		return;
	}
	FUZZ_ASSERT(c.flap_backoff_usec <= c.flap_backoff_max_usec || !c.flap_backoff_max_usec);
	config_done(&c);
}
