/* SPDX-License-Identifier: Apache-2.0 */
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

bool dropin_is_marker(const char *p, size_t len, const char *marker)
{
	return keys_line_is(p, len, marker);
}

bool dropin_has_block(const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		const char *line = buf + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;

		if (dropin_is_marker(line, n, DROPIN_BEGIN))
			return true;
		off += n + 1;
	}
	return false;
}

int dropin_merge(const char *old, size_t old_len, const struct dropin_set *set, char **ret,
		 size_t *ret_len, bool *changed)
{
	_cleanup_free_ char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	bool in_block = false, placed = false;
	size_t off = 0;

	if (!f)
		return -ENOMEM;
	while (off < old_len) {
		const char *line = old + off;
		const char *nl = memchr(line, '\n', old_len - off);
		size_t n = nl ? (size_t)(nl - line) : old_len - off;
		size_t whole = n + (nl ? 1 : 0);

		off += whole;
		if (!in_block && dropin_is_marker(line, n, DROPIN_BEGIN)) {
			in_block = true;
			continue;
		}
		if (in_block) {
			if (!dropin_is_marker(line, n, DROPIN_END))
				continue;
			in_block = false;
			/* The block goes back where it stood. */
			if (!placed && set->n) {
				fputs(DROPIN_BEGIN "\n", f);
				for (size_t i = 0; i < set->n; i++)
					fprintf(f, "%s\n", set->keys[i].line);
				fputs(DROPIN_END "\n", f);
			}
			placed = true;
			continue;
		}
		fwrite(line, 1, whole, f);
	}
	/* A begin marker without its end: what followed it is the user's; keep it. */
	if (in_block) {
		fclose(f);
		return -EBADMSG;
	}
	if (!placed && set->n) {
		if (old_len && old[old_len - 1] != '\n')
			fputc('\n', f);
		fputs(DROPIN_BEGIN "\n", f);
		for (size_t i = 0; i < set->n; i++)
			fprintf(f, "%s\n", set->keys[i].line);
		fputs(DROPIN_END "\n", f);
	}
	if (fclose(f) != 0)
		return -ENOMEM;
	*changed = out_len != old_len || memcmp(out, old, old_len) != 0;
	*ret_len = out_len;
	*ret = TAKE_PTR(out);
	return 0;
}

/*
 * For Exclusive=: OLD without the key lines that are not approved, in the block or out;
 * the lines taken out are added to *removed (*n_removed of them). Comments stay, and so do
 * lines that are no key sshd would use, counted in ODD.
 */
static int dropin_strip_unapproved(const char *old, size_t old_len, const struct dropin_set *set,
				   char **ret, size_t *ret_len, char ***removed, size_t *n_removed,
				   struct dropin_odd *odd)
{
	_cleanup_free_ char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	bool in_block = false;
	unsigned lineno = 0;
	int r = 0;

	if (!f)
		return -ENOMEM;
	for (size_t off = 0; off < old_len && r >= 0;) {
		const char *line = old + off;
		const char *nl = memchr(line, '\n', old_len - off);
		size_t n = nl ? (size_t)(nl - line) : old_len - off;
		size_t whole = n + (nl ? 1 : 0);
		struct key_line k = {0};
		char why[256];
		int p;

		off += whole;
		lineno++;
		if (dropin_is_marker(line, n, DROPIN_BEGIN) ||
		    dropin_is_marker(line, n, DROPIN_END)) {
			in_block = dropin_is_marker(line, n, DROPIN_BEGIN);
		} else {
			bool take;

			/* Inside the block too: a key the user put there would go with the
			 * block's rewrite, never to the quarantine. */
			p = key_parse_line(line, n, KEY_RSA_MIN_BITS, &k, why, sizeof(why));
			take = p == 0 && !dropin_contains(set, k.fingerprint, k.certificate);
			key_line_done(&k);
			/* Kept as sshd reads it: up to a NUL. */
			if (take) {
				r = strv_append(removed, n_removed, line, n);
				continue;
			}
			if (p == -ENOMEM)
				r = p;
			else if (p < 0 && !in_block && odd->n++ == 0) {
				odd->first_lineno = lineno;
				snprintf(odd->first_why, sizeof(odd->first_why), "%s", why);
			}
		}
		fwrite(line, 1, whole, f);
	}
	if (fclose(f) != 0 || r < 0)
		return r < 0 ? r : -ENOMEM;
	*ret_len = out_len;
	*ret = TAKE_PTR(out);
	return 0;
}

#define DROPIN_RETRIES 8

/* Read NAME (a regular file with one link) into *buf; *st as read. -ENOENT if missing. */
static int read_keys_file(int dirfd, const char *name, int *ret_fd, char **buf, size_t *len,
			  struct stat *st)
{
	_cleanup_close_ int fd = -1;
	int r;

	r = safe_open_regular(dirfd, name, &fd, st);
	if (r < 0)
		return r;
	if (st->st_nlink > 1)
		return -EMLINK;
	r = safe_read_all(fd, KEYS_FILE_MAX, buf, len);
	if (r < 0)
		return r;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

static int tails_push(struct dropin_tails *t, int fd, off_t offset)
{
	struct dropin_tail *n = realloc(t->t, (t->n + 1) * sizeof(*n));
	int dup_fd;

	if (!n)
		return -ENOMEM;
	t->t = n;
	dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dup_fd < 0)
		return negative_errno();
	t->t[t->n++] = (struct dropin_tail){.fd = dup_fd, .offset = offset};
	return 0;
}

void dropin_tails_done(struct dropin_tails *t)
{
	for (size_t i = 0; i < t->n; i++)
		close(t->t[i].fd);
	free(t->t);
	*t = (struct dropin_tails){0};
}

/* Lines appended to the file we replaced, after we had read it: CARRY, after *BUF. */
static int append_carry(char **buf, size_t *len, const char *carry, size_t carry_len)
{
	char *n = realloc(*buf, *len + carry_len + 2);

	if (!n)
		return -ENOMEM;
	*buf = n;
	if (*len && n[*len - 1] != '\n' && carry[0] != '\n')
		n[(*len)++] = '\n';
	memcpy(n + *len, carry, carry_len);
	*len += carry_len;
	n[*len] = 0;
	return 0;
}

/*
 * Exclusive=: the lines of *BUF outside the approved set handed to KEEP, and taken out of
 * *BUF when it keeps them (*STRIPPED: those lines, NULL when they stay).
 */
static int strip_kept(char **buf, size_t *len, const struct dropin_set *set, dropin_keep_fn keep,
		      void *userdata, bool write, char ***stripped)
{
	_cleanup_free_ char *s2 = NULL;
	struct dropin_odd odd = {0};
	size_t s2_len, n_stripped = 0;
	int r;

	r = dropin_strip_unapproved(*buf, *len, set, &s2, &s2_len, stripped, &n_stripped, &odd);
	/* Kept before they leave the file: nothing is ever deleted outright. */
	if (r >= 0 && (*stripped || odd.n))
		r = keep(userdata, *stripped, &odd, write);
	if (r < 0)
		return r;
	if (r == 0) {
		strv_free(*stripped);
		*stripped = NULL;
	} else {
		free(*buf);
		*buf = TAKE_PTR(s2);
		*len = s2_len;
	}
	return 0;
}

/*
 * An append that opened the old file FD (stat ST when read) before the rename lands in the
 * old inode: 1 with what it wrote in *CARRY, 0 when none did. Its tail starts where *CARRY
 * does, until *CARRY is written (*CARRY_END, where the tail goes on then): should no later
 * replace succeed, the tail offers it again.
 */
static int late_appends(int fd, const struct stat *st, struct dropin_tails *tails, char **carry,
			size_t *carry_len, off_t *carry_end)
{
	struct stat after;
	int r;

	if (fstat(fd, &after) < 0 || after.st_size <= st->st_size)
		return 0;
	*carry_len = (size_t)(after.st_size - st->st_size);
	*carry = malloc(*carry_len + 1);
	if (!*carry)
		return -ENOMEM;
	if (pread(fd, *carry, *carry_len, st->st_size) != (ssize_t)*carry_len)
		return -EIO;
	if (tails && (r = tails_push(tails, fd, st->st_size)) < 0)
		return r;
	*carry_end = after.st_size;
	return 1;
}

int dropin_apply(int dirfd, const char *name, const struct dropin_set *set, uid_t uid, gid_t gid,
		 mode_t mode, bool write, dropin_keep_fn keep, void *userdata, const char *carry_in,
		 size_t carry_in_len, struct dropin_tails *tails, bool *changed, bool *replaced)
{
	_cleanup_free_ char *carry = NULL;
	size_t carry_len = 0;
	off_t carry_end = 0; /* where the last tail goes on once CARRY is written */

	*changed = *replaced = false;
	if (carry_in_len) {
		carry = malloc(carry_in_len + 1);
		if (!carry)
			return -ENOMEM;
		memcpy(carry, carry_in, carry_in_len);
		carry_len = carry_in_len;
	}
	/* With carried lines pending, giving up would lose them: keep going, within reason. */
	for (int attempt = 0;
	     attempt < DROPIN_RETRIES || (carry_len && attempt < 16 * DROPIN_RETRIES); attempt++) {
		_cleanup_free_ char *buf = NULL, *out = NULL;
		_cleanup_(strv_freep) char **stripped = NULL;
		_cleanup_close_ int fd = -1;
		size_t len = 0, out_len;
		struct stat st;
		bool differs, exists;
		int r;

		r = read_keys_file(dirfd, name, &fd, &buf, &len, &st);
		exists = r >= 0;
		if (r == -ENOENT) {
			buf = strdup("");
			if (!buf)
				return -ENOMEM;
		} else if (r < 0)
			return r;
		if (carry_len && (r = append_carry(&buf, &len, carry, carry_len)) < 0)
			return r;
		if (keep && (r = strip_kept(&buf, &len, set, keep, userdata, write, &stripped)) < 0)
			return r;
		r = dropin_merge(buf, len, set, &out, &out_len, &differs);
		if (r < 0)
			return r;
		/* Lines carried over from the replaced file must be written even when the
		 * block itself is already right. */
		if (!differs && !stripped && !carry_len)
			return 0;
		*changed = *changed || differs || carry_len;
		if (!write)
			return 0;
		r = safe_replace_file(dirfd, name, exists ? &st : NULL, out, out_len,
				      exists ? st.st_uid : uid, exists ? st.st_gid : gid,
				      exists ? st.st_mode & 07777 : mode, true);
		if (r == -EAGAIN)
			continue;
		if (r < 0)
			return r;
		*replaced = true;
		/* What late_appends() carried is in the file now: its tail goes on after it. */
		if (carry_end && tails && tails->n)
			tails->t[tails->n - 1].offset = carry_end;
		carry_end = 0;
		free(carry);
		carry = NULL;
		carry_len = 0;
		r = exists ? late_appends(fd, &st, tails, &carry, &carry_len, &carry_end) : 0;
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		/* Whoever still holds the replaced file open may write more to it. */
		if (exists && tails && (r = tails_push(tails, fd, st.st_size)) < 0)
			return r;
		return 0;
	}
	return -EAGAIN;
}
