/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image's default login user for `sshmend why`'s hint on an unknown user, read from
 * cloud-init's configuration: the combined JSON it writes at boot, else cloud.cfg and
 * cloud.cfg.d in name order.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "macro.h"
#include "safeio.h"
#include "strv.h"
#include "whyscan.h"

/* The largest cloud-init file read for its default user. */
#define CLOUD_FILE_MAX (4u << 20)

/* The value of "name" in the first object after "default_user" in cloud-init's JSON. */
static char *json_default_user(const char *text)
{
	const char *p = strstr(text, "\"default_user\"");
	const char *end;

	if (!p)
		return NULL;
	p = strchr(p, '{');
	end = p ? strchr(p, '}') : NULL;
	if (!end)
		return NULL;
	for (const char *q = strstr(p, "\"name\""); q && q < end; q = strstr(q + 1, "\"name\"")) {
		q += strlen("\"name\"");
		q += strspn(q, " \t\r\n");
		if (*q != ':')
			continue;
		q++;
		q += strspn(q, " \t\r\n");
		if (*q != '"')
			return NULL;
		q++;
		return strndup(q, strcspn(q, "\"\\"));
	}
	return NULL;
}

/* name: under default_user: in cloud.cfg's YAML (system_info.default_user.name). */
static char *yaml_default_user(const char *text)
{
	const char *p = strstr(text, "default_user:");
	size_t indent;

	if (!p)
		return NULL;
	for (indent = 0; p - indent > text && p[-(ptrdiff_t)indent - 1] == ' '; indent++)
		;
	for (p = strchr(p, '\n'); p; p = strchr(p, '\n')) {
		size_t in;

		p++;
		in = strspn(p, " ");
		if (p[in] == '\n' || p[in] == '#')
			continue;
		if (in <= indent)
			return NULL;
		if (strncmp(p + in, "name:", 5) == 0) {
			const char *v = p + in + 5;
			size_t l;

			v += strspn(v, " \t\"'");
			l = strcspn(v, " \t\"'\r\n#");
			return l ? strndup(v, l) : NULL;
		}
	}
	return NULL;
}

static char *cloud_file_user(int rootfd, const char *path, bool json)
{
	_cleanup_free_ char *text = NULL;
	size_t len;

	if (why_read_file(rootfd, path, CLOUD_FILE_MAX, &text, &len) < 0)
		return NULL;
	return json ? json_default_user(text) : yaml_default_user(text);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *why_cloud_default_user(int rootfd)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_(closedirp) DIR *d = NULL;
	_cleanup_(strv_freep) char **names = NULL;
	char *user = cloud_file_user(rootfd, CLOUD_COMBINED_CONFIG, true);
	struct dirent *de;

	if (user)
		return user;
	/* cloud.cfg, then cloud.cfg.d/\*.cfg in name order: the last that says wins. */
	user = cloud_file_user(rootfd, CLOUD_CFG, false);
	if (safe_open_in_root(rootfd, CLOUD_CFG_DIR, O_RDONLY | O_DIRECTORY, &dfd) < 0 ||
	    !(d = fdopendir(dfd)))
		return user;
	dfd = -1;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l > 4 && strcmp(de->d_name + l - 4, ".cfg") == 0 && de->d_name[0] != '.')
			(void)strv_push(&names, de->d_name);
	}
	if (names)
		qsort(names, strv_length(names), sizeof(char *), compare_names);
	for (size_t i = 0; names && names[i]; i++) {
		char path[512];
		char *u;

		snprintf(path, sizeof(path), "%s/%s", CLOUD_CFG_DIR, names[i]);
		u = cloud_file_user(rootfd, path, false);
		if (u) {
			free(user);
			user = u;
		}
	}
	return user;
}
