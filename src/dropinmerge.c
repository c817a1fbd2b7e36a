/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The keys file's side of approved keys: the block merged into the user's text, what
 * Exclusive= takes out, and the new file written in place of the old, carrying what was
 * appended to the old one meanwhile. dropin.c loads and approves the drop-in files.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include "dropin.h"
#include "keys.h"
#include "macro.h"
#include "safeio.h"
#include "strv.h"

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
