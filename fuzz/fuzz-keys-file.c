/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A whole keys file with the managed block, and the merge of drop-in keys into it: the input,
 * cut at its first NUL, is the keys file and then a drop-in file. Whatever they hold, the
 * user's lines (every line outside a begin and end marker) come out byte for byte, in order,
 * around the one block; a merged file merges to itself; dropin_apply() writes exactly what
 * dropin_merge() makes. With Exclusive=, each of the user's lines is either still in the file,
 * in order, or was handed over to be kept before it left.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include "dropin.h"
#include "fuzz.h"
#include "macro.h"
#include "safeio.h"
#include "strv.h"

#define DIR_SHOWN "/etc/sshmend/keys.d"
#define KEYS_PATH "home/alice/.ssh/authorized_keys"

/* The user's lines of OLD, found without dropin_merge(); -EBADMSG for a block never ended. */
static int user_lines(const char *old, size_t len, char **ret, size_t *ret_len)
{
	char *out = malloc(len + 1);
	size_t n = 0;
	bool in_block = false;

	FUZZ_ASSERT(out);
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(old + off, '\n', len - off);
		size_t whole = nl ? (size_t)(nl - old - off) + 1 : len - off;
		size_t body = whole - (nl ? 1 : 0);

		if (in_block)
			in_block = !dropin_is_marker(old + off, body, DROPIN_END);
		else if (dropin_is_marker(old + off, body, DROPIN_BEGIN))
			in_block = true;
		else {
			memcpy(out + n, old + off, whole);
			n += whole;
		}
		off += whole;
	}
	if (in_block) {
		free(out);
		return -EBADMSG;
	}
	*ret = out;
	*ret_len = n;
	return 0;
}

/* The block SET makes, as the file holds it. */
static char *block_text(const struct dropin_set *set, size_t *len)
{
	char *b = NULL;
	FILE *f = open_memstream(&b, len);

	FUZZ_ASSERT(f);
	fputs(DROPIN_BEGIN "\n", f);
	for (size_t i = 0; i < set->n; i++)
		fprintf(f, "%s\n", set->keys[i].line);
	fputs(DROPIN_END "\n", f);
	FUZZ_ASSERT(fclose(f) == 0);
	return b;
}

/* The offset of the line of OUT that is the begin marker; LEN when there is none. */
static size_t find_block(const char *out, size_t len)
{
	for (size_t off = 0; off < len;) {
		const char *nl = memchr(out + off, '\n', len - off);
		size_t body = nl ? (size_t)(nl - out - off) : len - off;

		if (dropin_is_marker(out + off, body, DROPIN_BEGIN))
			return off;
		off += body + 1;
	}
	return len;
}

static void check_merge(const char *old, size_t len, const struct dropin_set *set, const char *out,
			size_t out_len)
{
	char *user, *block, *again;
	size_t user_len, block_len, at, again_len;
	bool changed;

	FUZZ_ASSERT(user_lines(old, len, &user, &user_len) == 0);
	if (!set->n) {
		FUZZ_ASSERT(out_len == user_len && memcmp(out, user, user_len) == 0);
	} else {
		block = block_text(set, &block_len);
		at = find_block(out, out_len);
		FUZZ_ASSERT(at + block_len <= out_len);
		FUZZ_ASSERT(memcmp(out + at, block, block_len) == 0);
		if (at == user_len + 1 && at + block_len == out_len && user_len &&
		    user[user_len - 1] != '\n') {
			/* Appended to a file whose last line had no newline: it gets one. */
			FUZZ_ASSERT(memcmp(out, user, user_len) == 0 && out[user_len] == '\n');
		} else {
			FUZZ_ASSERT(out_len - block_len == user_len);
			FUZZ_ASSERT(memcmp(out, user, at) == 0);
			FUZZ_ASSERT(memcmp(out + at + block_len, user + at, user_len - at) == 0);
		}
		free(block);
	}
	free(user);
	/* What was merged merges to itself. */
	FUZZ_ASSERT(dropin_merge(out, out_len, set, &again, &again_len, &changed) == 0);
	FUZZ_ASSERT(!changed && again_len == out_len && memcmp(again, out, out_len) == 0);
	free(again);
}

/* dropin_apply() on the file: it holds what dropin_merge() made, or OLD when that failed. */
static void check_apply(const char *old, size_t len, const struct dropin_set *set, int merged,
			const char *out, size_t out_len)
{
	_cleanup_close_ int dirfd = -1, fd = -1;
	_cleanup_free_ char *now = NULL;
	size_t now_len;
	bool changed, replaced;
	int r;

	fuzz_write(KEYS_PATH, old, len, 0600);
	dirfd = openat(fuzz_rootfd, "home/alice/.ssh", O_PATH | O_DIRECTORY | O_CLOEXEC);
	FUZZ_ASSERT(dirfd >= 0);
	r = dropin_apply(dirfd, "authorized_keys", set, 0, 0, 0600, true, NULL, NULL, NULL, 0, NULL,
			 &changed, &replaced);
	FUZZ_ASSERT(r == (merged < 0 ? merged : 0));
	fd = openat(dirfd, "authorized_keys", O_RDONLY | O_CLOEXEC);
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(safe_read_all(fd, 1u << 24, &now, &now_len) >= 0);
	if (merged < 0 || !changed)
		FUZZ_ASSERT(now_len == len && memcmp(now, old, len) == 0);
	else
		FUZZ_ASSERT(now_len == out_len && memcmp(now, out, out_len) == 0);
}

/* Exclusive=: the key lines taken out, as the last call handed them over. */
static int keep_all(void *userdata, char *const *lines, const struct dropin_odd *odd, bool write)
{
	char ***kept = userdata;

	(void)odd;
	(void)write;
	strv_free(*kept);
	*kept = NULL;
	for (size_t i = 0; lines && lines[i]; i++)
		FUZZ_ASSERT(strv_push(kept, lines[i]) == 0);
	return 1;
}

/* The next line of TEXT at *OFF, without its newline, in *LINE and *LEN; false at the end. */
static bool next_line(const char *text, size_t len, size_t *off, const char **line, size_t *n)
{
	const char *nl;

	if (*off >= len)
		return false;
	*line = text + *off;
	nl = memchr(*line, '\n', len - *off);
	*n = nl ? (size_t)(nl - *line) : len - *off;
	*off += *n + (nl ? 1 : 0);
	return true;
}

/* Is KEPT (what Exclusive= took out of a line) the line U of N bytes, as sshd reads it: to a NUL?
 */
static bool is_taken(const char *kept, const char *u, size_t n)
{
	return kept && strlen(kept) == strnlen(u, n) && memcmp(kept, u, strlen(kept)) == 0;
}

/*
 * With Exclusive=: each user line of OLD is in the file's user lines, in order, or was kept; a
 * key line inside a block may have been kept too.
 */
static void check_exclusive(const char *old, size_t len, const struct dropin_set *set)
{
	_cleanup_close_ int dirfd = -1, fd = -1;
	_cleanup_free_ char *now = NULL, *left = NULL;
	_cleanup_(strv_freep) char **kept = NULL;
	size_t now_len, left_len, uo = 0, lo = 0, k = 0, un, ln = 0;
	const char *u, *l = NULL;
	bool changed, replaced, have_left, in_block = false;

	fuzz_write(KEYS_PATH, old, len, 0600);
	dirfd = openat(fuzz_rootfd, "home/alice/.ssh", O_PATH | O_DIRECTORY | O_CLOEXEC);
	FUZZ_ASSERT(dirfd >= 0);
	if (dropin_apply(dirfd, "authorized_keys", set, 0, 0, 0600, true, keep_all, &kept, NULL, 0,
			 NULL, &changed, &replaced) == -EBADMSG)
		return; /* a block never ended, as without Exclusive= */
	fd = openat(dirfd, "authorized_keys", O_RDONLY | O_CLOEXEC);
	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(safe_read_all(fd, 1u << 24, &now, &now_len) >= 0);
	FUZZ_ASSERT(user_lines(now, now_len, &left, &left_len) == 0);
	have_left = next_line(left, left_len, &lo, &l, &ln);
	while (next_line(old, len, &uo, &u, &un)) {
		if (in_block || dropin_is_marker(u, un, DROPIN_BEGIN)) {
			if (in_block && !dropin_is_marker(u, un, DROPIN_END) && kept &&
			    is_taken(kept[k], u, un))
				k++;
			in_block = !(in_block && dropin_is_marker(u, un, DROPIN_END));
			continue;
		}
		if (have_left && ln == un && memcmp(l, u, un) == 0) {
			have_left = next_line(left, left_len, &lo, &l, &ln);
			continue;
		}
		FUZZ_ASSERT(kept && is_taken(kept[k], u, un));
		k++;
	}
	FUZZ_ASSERT(!have_left);
	FUZZ_ASSERT(!kept || !kept[k]);
}

void fuzz_one(const uint8_t *data, size_t size)
{
	const uint8_t *parts[2];
	size_t lens[2], n = fuzz_split(data, size, parts, lens, 2);
	const char *old = (const char *)parts[0];
	struct dropin_set set = {0}, none = {0};
	char *out = NULL;
	size_t out_len = 0;
	bool changed;
	int top, r;

	fuzz_write("keys.d/alice/10-a.pub", n > 1 ? parts[1] : NULL, n > 1 ? lens[1] : 0, 0644);
	top = openat(fuzz_rootfd, "keys.d", O_PATH | O_DIRECTORY | O_CLOEXEC);
	FUZZ_ASSERT(top >= 0);
	FUZZ_ASSERT(dropin_load(top, NULL, DIR_SHOWN, "alice", 2048, &set) == 0);
	close(top);

	(void)dropin_has_block(old, lens[0]);
	r = dropin_merge(old, lens[0], &set, &out, &out_len, &changed);
	if (r == -EBADMSG) {
		char *u;
		size_t ul;

		FUZZ_ASSERT(user_lines(old, lens[0], &u, &ul) == -EBADMSG);
	} else {
		FUZZ_ASSERT(r == 0);
		FUZZ_ASSERT(changed == (out_len != lens[0] || memcmp(out, old, lens[0]) != 0));
		check_merge(old, lens[0], &set, out, out_len);
	}
	check_apply(old, lens[0], &set, r, out, out_len);
	check_exclusive(old, lens[0], &set);
	free(out);
	out = NULL;
	/* No approved keys: the block goes, the user's lines stay. */
	if (dropin_merge(old, lens[0], &none, &out, &out_len, &changed) == 0)
		check_merge(old, lens[0], &none, out, out_len);
	free(out);
	dropin_set_done(&set);
}
