/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The drop-in directory's side of approved keys: its files loaded and validated, a key
 * approved into it. dropinmerge.c writes the approved block into a keys file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include "dropin.h"
#include "keys.h"
#include "macro.h"
#include "safeio.h"
#include "strv.h"

#define DROPIN_FILE_MAX (1u << 20)
/*
 * The bad lines of one file told one by one; the rest are told as one, with their count: a file
 * of a thousand bad lines would otherwise cost a thousand findings, and nobody reads past the
 * first few.
 */
#define DROPIN_REJECT_LINES 32

static bool root_only(const struct stat *st)
{
	return st->st_uid == 0 && !(st->st_mode & 022);
}

static int reject(struct dropin_set *s, const char *path, unsigned lineno, const char *why)
{
	struct dropin_reject *n;

	if (array_room(&s->rejected, s->n_rejected, sizeof(*s->rejected)) < 0)
		return -ENOMEM;
	n = &s->rejected[s->n_rejected];
	*n = (struct dropin_reject){.path = strdup(path), .lineno = lineno, .why = strdup(why)};
	if (!n->path || !n->why) {
		free(n->path);
		free(n->why);
		return -ENOMEM;
	}
	s->n_rejected++;
	return 0;
}

/* The first bad line past DROPIN_REJECT_LINES, at LINENO, for WHY, and the count of the rest. */
static int reject_rest(struct dropin_set *s, const char *path, unsigned lineno, const char *why,
		       unsigned more)
{
	char all[320];

	if (more == 0)
		return reject(s, path, lineno, why);
	snprintf(all, sizeof(all), "%s; and %u more lines after it are not used", why, more);
	return reject(s, path, lineno, all);
}

/* A file or directory ignored for its owner, mode or type. */
static int alert(struct dropin_set *s, const char *path, const char *why)
{
	return reject(s, path, 0, why);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_key(struct dropin_set *s, const struct key_line *k, const char *line, size_t len,
		   const char *source, unsigned lineno)
{
	struct approved_key *n, *a;

	if (dropin_contains(s, k->fingerprint, k->certificate))
		return 0; /* the first file that names a key wins */
	n = realloc(s->keys, (s->n + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->keys = n;
	a = &n[s->n];
	*a = (struct approved_key){.lineno = lineno};
	a->line = strndup(line, len);
	a->fingerprint = strdup(k->fingerprint);
	a->type = strdup(k->type);
	a->comment = k->comment ? strdup(k->comment) : NULL;
	a->source = strdup(source);
	a->certificate = k->certificate;
	if (!a->line || !a->fingerprint || !a->type || (k->comment && !a->comment) || !a->source) {
		free(a->line);
		free(a->fingerprint);
		free(a->type);
		free(a->comment);
		free(a->source);
		return -ENOMEM;
	}
	s->n++;
	return 0;
}

static int load_file(struct dropin_set *s, int dfd, const char *dir, const char *name,
		     unsigned min_rsa_bits)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL, *path = NULL;
	size_t len;
	struct stat st;
	unsigned lineno = 0, n_bad = 0, first_untold = 0;
	char untold[256] = "";
	int r;

	if (asprintf(&path, "%s/%s", dir, name) < 0)
		return -ENOMEM;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : alert(s, path, strerror(errno));
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return alert(s, path, "not a regular file");
	if (!root_only(&st))
		return alert(s, path, "not owned by root or writable by group or others");
	r = safe_read_all(fd, DROPIN_FILE_MAX, &buf, &len);
	if (r < 0)
		return alert(s, path, strerror(-r));
	for (size_t off = 0; off < len;) {
		const char *line = buf + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		struct key_line k = {0};
		char why[256] = "";

		off += n + (nl ? 1 : 0);
		lineno++;
		r = key_line_check(line, n, false, why, sizeof(why));
		if (r >= 0)
			r = key_parse_line(line, n, min_rsa_bits, &k, why, sizeof(why));
		if (r == 1)
			continue;
		if (r < 0 && ++n_bad > DROPIN_REJECT_LINES) {
			if (!first_untold) {
				first_untold = lineno;
				snprintf(untold, sizeof(untold), "%s", why);
			}
			r = 0;
		} else if (r < 0)
			r = reject(s, path, lineno, why);
		else
			r = add_key(s, &k, line + strspn(line, " \t"), n - strspn(line, " \t"),
				    name, lineno);
		key_line_done(&k);
		if (r < 0)
			return r;
	}
	return n_bad > DROPIN_REJECT_LINES
		   ? reject_rest(s, path, first_untold, untold, n_bad - DROPIN_REJECT_LINES - 1)
		   : 0;
}

int dropin_load(int top, const struct stat *top_st, const char *dir, const char *user,
		unsigned min_rsa_bits, struct dropin_set *ret)
{
	struct dropin_set s = {0};
	_cleanup_free_ char *udir = NULL;
	_cleanup_close_ int dfd = -1;
	char **names = NULL;
	struct stat st;
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (strchr(user, '/') || user[0] == '.')
		return -EINVAL;
	if (top < 0) {
		*ret = s;
		return 0;
	}
	if (asprintf(&udir, "%s/%s", dir, user) < 0)
		return -ENOMEM;
	if (top_st)
		st = *top_st;
	else if (fstat(top, &st) < 0)
		return negative_errno();
	if (!root_only(&st)) {
		r = alert(&s, dir, "not owned by root or writable by group or others");
		goto done;
	}
	dfd = openat(top, user, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		r = errno == ENOENT ? 0 : alert(&s, udir, strerror(errno));
		goto done;
	}
	s.present = true;
	if (fstat(dfd, &st) < 0) {
		r = negative_errno();
		goto done;
	}
	if (!root_only(&st)) {
		r = alert(&s, udir, "not owned by root or writable by group or others");
		goto done;
	}
	d = fdopendir(TAKE_FD(dfd));
	if (!d) {
		r = negative_errno();
		goto done;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (de->d_name[0] == '.' || n < 5 || strcmp(de->d_name + n - 4, ".pub") != 0)
			continue;
		if ((r = strv_push(&names, de->d_name)) < 0)
			break;
	}
	if (names)
		qsort(names, strv_length(names), sizeof(char *), name_cmp);
	for (size_t i = 0; r >= 0 && names && names[i]; i++)
		r = load_file(&s, dirfd(d), udir, names[i], min_rsa_bits);
	closedir(d);
	strv_free(names);
done:
	if (r < 0) {
		dropin_set_done(&s);
		return r;
	}
	*ret = s;
	return 0;
}

int dropin_approve(int top, const char *user, const char *name, const char *line,
		   unsigned min_rsa_bits, char *why, size_t whylen)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int udir = -1;
	struct key_line k = {0};
	struct stat st;
	size_t len;
	bool exists;
	int r;

	if (!*user || strchr(user, '/') || user[0] == '.' || strchr(name, '/'))
		return -EINVAL;
	/* A key that stood in a CRLF file comes back without its CR. */
	len = strlen(line);
	if (len > 0 && line[len - 1] == '\r')
		len--;
	r = key_line_check(line, len, false, why, whylen);
	if (r >= 0)
		r = key_parse_line(line, len, min_rsa_bits, &k, why, whylen);
	key_line_done(&k);
	if (r != 0)
		return r == -ENOMEM ? r : -EKEYREJECTED;
	if (asprintf(&text, "%.*s\n", (int)len, line) < 0)
		return -ENOMEM;
	r = safe_make_component(top, user, 0755, &udir, &st);
	if (r < 0)
		return r;
	if (!S_ISDIR(st.st_mode) || !root_only(&st))
		return -EPERM;
	for (int attempt = 0; attempt < 4; attempt++) {
		exists = fstatat(udir, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		r = safe_replace_file(udir, name, exists ? &st : NULL, text, strlen(text), 0, 0,
				      0644, true);
		if (r != -EAGAIN)
			return r;
	}
	return -EAGAIN;
}

void dropin_set_done(struct dropin_set *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->keys[i].line);
		free(s->keys[i].fingerprint);
		free(s->keys[i].type);
		free(s->keys[i].comment);
		free(s->keys[i].source);
	}
	free(s->keys);
	for (size_t i = 0; i < s->n_rejected; i++) {
		free(s->rejected[i].path);
		free(s->rejected[i].why);
	}
	free(s->rejected);
	*s = (struct dropin_set){0};
}

bool dropin_contains(const struct dropin_set *s, const char *fingerprint, bool certificate)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->keys[i].certificate == certificate &&
		    strcmp(s->keys[i].fingerprint, fingerprint) == 0)
			return true;
	return false;
}

bool dropin_has_login_key(const struct dropin_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (!s->keys[i].certificate)
			return true;
	return false;
}
