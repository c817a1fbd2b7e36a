/* SPDX-License-Identifier: Apache-2.0 */
/* The keys the audit found gone from a user's keys files, and when: "removed.USER". */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "audit.h"
#include "macro.h"
#include "safeio.h"

/* USER's record, read (audit_state_read_file()). */
#define gone_read(rootfd, user, create, ...)                                                       \
	audit_state_read_file(rootfd, user, "removed", create, __VA_ARGS__)

/* BUF grown to N bytes, or NULL with BUF freed. */
static char *realloc_take(char *buf, size_t n)
{
	char *p = realloc(buf, n);

	if (!p)
		free(buf);
	return p;
}

/* The bytes at the front of TEXT (LEN) to leave out so that it fits AUDIT_GONE_MAX: whole lines. */
static size_t gone_cut(const char *text, size_t len)
{
	size_t at = 0;

	while (len - at > AUDIT_GONE_MAX) {
		const char *nl = memchr(text + at, '\n', len - at);

		if (!nl)
			return len;
		at = (size_t)(nl - text) + 1;
	}
	return at;
}

/* GONE's lines "FP STATUS[ COMMENT]" as "FP WHEN STATUS[ COMMENT]", one text (malloc'd). */
static int gone_lines(char *const *gone, const char *when, char **ret, size_t *len)
{
	FILE *f = open_memstream(ret, len);

	if (!f)
		return -ENOMEM;
	for (size_t i = 0; gone[i]; i++) {
		size_t n = strcspn(gone[i], " ");

		fprintf(f, "%.*s %s%s\n", (int)n, gone[i], when, gone[i] + n);
	}
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

int audit_gone_record(int rootfd, const char *user, char *const *gone)
{
	_cleanup_free_ char *add = NULL;
	char when[AUDIT_TIME_LEN];
	size_t add_len = 0;
	struct tm tm;
	time_t now = time(NULL);
	int r;

	if (!gone || !*gone)
		return 0;
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	if ((r = gone_lines(gone, when, &add, &add_len)) < 0)
		return r;
	for (int attempt = 0; attempt < 4 && r >= 0; attempt++) {
		_cleanup_close_ int dfd = -1;
		_cleanup_free_ char *text = NULL;
		size_t text_len, cut;
		char name[512];
		struct stat st;
		bool exists;

		r = gone_read(rootfd, user, true, &dfd, name, sizeof(name), &text, &text_len,
			      &exists, &st);
		if (r >= 0 && !(text = realloc_take(text, text_len + add_len + 1)))
			r = -ENOMEM;
		if (r < 0)
			break;
		memcpy(text + text_len, add, add_len);
		text_len += add_len;
		cut = gone_cut(text, text_len);
		r = safe_replace_file(dfd, name, exists ? &st : NULL, text + cut, text_len - cut, 0,
				      0, 0600, false);
		if (r != -EAGAIN)
			return r;
		r = 0;
	}
	return r < 0 ? r : -EAGAIN;
}

/* The line of TEXT for FP that comes last, or NULL; its length in *n. */
static const char *gone_last(const char *text, size_t len, const char *fp, size_t *n)
{
	const char *found = NULL;
	size_t fl = strlen(fp);

	for (size_t at = 0; at < len;) {
		const char *line = text + at, *nl = memchr(line, '\n', len - at);
		size_t l = nl ? (size_t)(nl - line) : len - at;

		at += l + 1;
		if (l > fl && memcmp(line, fp, fl) == 0 && line[fl] == ' ') {
			found = line;
			*n = l;
		}
	}
	return found;
}

int audit_gone_find(int rootfd, const char *user, const char *fp, struct audit_gone *ret)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *text = NULL;
	const char *line, *when, *status;
	size_t len, n = 0, wl;
	char name[512];
	struct stat st;
	bool exists;
	int r;

	*ret = (struct audit_gone){.was = -1};
	r = gone_read(rootfd, user, false, &dfd, name, sizeof(name), &text, &len, &exists, &st);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	line = gone_last(text, len, fp, &n);
	if (!line)
		return 0;
	when = line + strlen(fp) + 1;
	wl = strcspn(when, " \n");
	if (wl == 0 || wl >= sizeof(ret->when))
		return 0; /* not a line this version writes */
	memcpy(ret->when, when, wl);
	ret->when[wl] = 0;
	status = when + wl;
	if (*status == ' ') {
		status++;
		for (int s = 0; s <= KEY_INVALID; s++) {
			const char *name_s = key_status_to_string(s);
			size_t sl = strlen(name_s);

			if (strncmp(status, name_s, sl) == 0 &&
			    (!status[sl] || strchr(" \n", status[sl])))
				ret->was = s;
		}
	}
	return 1;
}
