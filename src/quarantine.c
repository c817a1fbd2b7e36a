/* SPDX-License-Identifier: Apache-2.0 */
/* The quarantine: the key lines Exclusive= took out of a user's keys files, kept, never deleted. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "audit.h"
#include "keys.h"
#include "macro.h"
#include "safeio.h"

/* A quarantine file's entry: these header lines, then the key line. */
#define QUARANTINE_FROM "# from "
#define QUARANTINE_TAKEN "# taken "

int audit_quarantine_path(const char *user, char *buf, size_t len)
{
	char name[512];
	int r = audit_state_file(user, "quarantine", name, sizeof(name));

	if (r >= 0)
		snprintf(buf, len, "%s/%s", AUDIT_STATE_DIR, name);
	return r;
}

/* USER's quarantine file, read (audit_state_read_file()). */
#define quarantine_read(rootfd, user, create, ...)                                                 \
	audit_state_read_file(rootfd, user, "quarantine", create, __VA_ARGS__)

/*
 * Call FN for each entry of the quarantine text BUF: its header lines (from HEAD, HEAD_LEN
 * bytes: "# from", "# taken", written before it) and its key line.
 */
typedef int (*quarantine_entry_fn)(void *userdata, const char *head, size_t head_len,
				   const char *line, size_t len);

static int quarantine_each(const char *buf, size_t len, quarantine_entry_fn fn, void *userdata)
{
	const char *head = buf;
	int r = 0;

	for (size_t off = 0; off < len && r >= 0;) {
		const char *line = buf + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;

		off += n + (nl ? 1 : 0);
		if (n == 0 || line[0] == '#')
			continue;
		r = fn(userdata, head, (size_t)(line - head), line, n);
		head = buf + off;
	}
	return r;
}

/* How much of the front of a quarantine text to cut: its oldest entries, till it fits. */
struct cut {
	const char *buf;
	size_t len, at, dropped;
};

static int cut_oldest(void *userdata, _unused_ const char *head, _unused_ size_t head_len,
		      const char *line, size_t len)
{
	struct cut *c = userdata;
	size_t end = (size_t)(line - c->buf) + len + 1;

	if (c->len - c->at > AUDIT_STATE_MAX) {
		c->at = end < c->len ? end : c->len;
		c->dropped++;
	}
	return 0;
}

int audit_quarantine(int rootfd, const char *user, const char *from, char *const *lines)
{
	char taken[32];
	struct tm tm;
	time_t now = time(NULL);

	strftime(taken, sizeof(taken), "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
	for (int attempt = 0; attempt < 4; attempt++) {
		_cleanup_close_ int dfd = -1;
		_cleanup_free_ char *old = NULL, *out = NULL;
		size_t old_len, len = 0;
		char name[512];
		struct stat st;
		struct cut cut = {0};
		bool exists;
		FILE *f;
		int r;

		r = quarantine_read(rootfd, user, true, &dfd, name, sizeof(name), &old, &old_len,
				    &exists, &st);
		if (r < 0)
			return r;
		f = open_memstream(&out, &len);
		if (!f)
			return -ENOMEM;
		fwrite(old, 1, old_len, f);
		for (size_t i = 0; lines && lines[i]; i++)
			fprintf(f, QUARANTINE_FROM "%s\n" QUARANTINE_TAKEN "%s\n%s\n", from, taken,
				lines[i]);
		if (fclose(f) != 0)
			return -ENOMEM;
		/* No larger than it is read back: the oldest entries make room. */
		cut = (struct cut){.buf = out, .len = len};
		if (len > AUDIT_STATE_MAX)
			(void)quarantine_each(out, len, cut_oldest, &cut);
		r = safe_replace_file(dfd, name, exists ? &st : NULL, out + cut.at, len - cut.at, 0,
				      0, 0600, true);
		if (r != -EAGAIN)
			return r < 0 ? r : (int)cut.dropped;
	}
	return -EAGAIN;
}

/* The value of the header line starting with KEY in HEAD, or NULL. */
static char *head_value(const char *head, size_t head_len, const char *key)
{
	size_t kl = strlen(key);

	for (size_t off = 0; off < head_len;) {
		const char *line = head + off;
		const char *nl = memchr(line, '\n', head_len - off);
		size_t n = nl ? (size_t)(nl - line) : head_len - off;

		off += n + 1;
		if (n > kl && strncmp(line, key, kl) == 0)
			return strndup(line + kl, n - kl);
	}
	return NULL;
}

static int add_quarantined(void *userdata, const char *head, size_t head_len, const char *line,
			   size_t len)
{
	struct quarantine_list *l = userdata;
	struct quarantined_key *q;
	struct key_line k = {0};
	char why[256];
	int r = 0;

	if (key_parse_line(line, len, KEY_RSA_MIN_BITS, &k, why, sizeof(why)) != 0)
		return 0; /* only key lines are ever quarantined */
	/* A full quarantine holds some 100,000 entries. */
	if (array_room(&l->q, l->n, sizeof(*l->q)) < 0) {
		key_line_done(&k);
		return -ENOMEM;
	}
	q = &l->q[l->n++];
	*q = (struct quarantined_key){
	    .line = strndup(line, len),
	    .fingerprint = strdup(k.fingerprint),
	    .type = strdup(k.type),
	    .comment = k.comment ? strdup(k.comment) : NULL,
	    .from = head_value(head, head_len, QUARANTINE_FROM),
	    .taken = head_value(head, head_len, QUARANTINE_TAKEN),
	};
	if (!q->line || !q->fingerprint || !q->type || (k.comment && !q->comment))
		r = -ENOMEM;
	key_line_done(&k);
	return r;
}

int audit_quarantine_load(int rootfd, const char *user, struct quarantine_list *ret)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *buf = NULL;
	struct quarantine_list l = {0};
	char name[512];
	struct stat st;
	bool exists;
	size_t len;
	int r;

	r = quarantine_read(rootfd, user, false, &dfd, name, sizeof(name), &buf, &len, &exists,
			    &st);
	if (r == -ENOENT) {
		*ret = l;
		return 0;
	}
	if (r >= 0)
		r = quarantine_each(buf, len, add_quarantined, &l);
	if (r < 0) {
		quarantine_list_done(&l);
		return r;
	}
	*ret = l;
	return 0;
}

void quarantine_list_done(struct quarantine_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->q[i].line);
		free(l->q[i].fingerprint);
		free(l->q[i].type);
		free(l->q[i].comment);
		free(l->q[i].from);
		free(l->q[i].taken);
	}
	free(l->q);
	*l = (struct quarantine_list){0};
}

struct drop {
	const char *fingerprint;
	const char *line; /* only this line of the key, or every line of it when NULL */
	FILE *out;
};

static int keep_other(void *userdata, const char *head, size_t head_len, const char *line,
		      size_t len)
{
	struct drop *d = userdata;
	struct key_line k = {0};
	char why[256];
	bool same = key_parse_line(line, len, KEY_RSA_MIN_BITS, &k, why, sizeof(why)) == 0 &&
		    strcmp(k.fingerprint, d->fingerprint) == 0 &&
		    (!d->line || (strlen(d->line) == len && memcmp(d->line, line, len) == 0));

	key_line_done(&k);
	if (!same) {
		fwrite(head, 1, head_len, d->out);
		fwrite(line, 1, len, d->out);
		fputc('\n', d->out);
	}
	return 0;
}

/* What is left of the quarantine text BUF (LEN bytes) into *OUT, for quarantine_rewrite(). */
typedef int (*quarantine_filter_fn)(void *userdata, const char *buf, size_t len, char **out,
				    size_t *out_len);

/* USER's quarantine, if there is one, replaced by what FN leaves of it. */
static int quarantine_rewrite(int rootfd, const char *user, quarantine_filter_fn fn, void *userdata)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		_cleanup_close_ int dfd = -1;
		_cleanup_free_ char *buf = NULL, *out = NULL;
		size_t len, out_len = 0;
		char name[512];
		struct stat st;
		bool exists;
		int r;

		r = quarantine_read(rootfd, user, false, &dfd, name, sizeof(name), &buf, &len,
				    &exists, &st);
		if (r == -ENOENT || (r >= 0 && !exists))
			return 0;
		if (r >= 0)
			r = fn(userdata, buf, len, &out, &out_len);
		if (r < 0)
			return r;
		r = safe_replace_file(dfd, name, &st, out, out_len, 0, 0, 0600, true);
		if (r != -EAGAIN)
			return r;
	}
	return -EAGAIN;
}

static int drop_filter(void *userdata, const char *buf, size_t len, char **out, size_t *out_len)
{
	struct drop *d = userdata;
	int r;

	d->out = open_memstream(out, out_len);
	if (!d->out)
		return -ENOMEM;
	r = quarantine_each(buf, len, keep_other, d);
	if (fclose(d->out) != 0 || r < 0)
		return r < 0 ? r : -ENOMEM;
	return 0;
}

int audit_quarantine_drop(int rootfd, const char *user, const char *fingerprint, const char *line)
{
	struct drop d = {.fingerprint = fingerprint, .line = line};

	return quarantine_rewrite(rootfd, user, drop_filter, &d);
}

/* An entry of a quarantine text, for audit_quarantine_undo(). */
struct undo_entry {
	size_t start, end; /* its header lines to its key line's newline */
	const char *line;
	size_t len;
	bool from_match, drop;
};

struct undo {
	const char *buf;
	const char *from;
	char *const *lines;
	struct undo_entry *e;
	size_t n;
};

static int undo_collect(void *userdata, const char *head, size_t head_len, const char *line,
			size_t len)
{
	struct undo *u = userdata;
	_cleanup_free_ char *from = head_value(head, head_len, QUARANTINE_FROM);

	if (array_room(&u->e, u->n, sizeof(*u->e)) < 0)
		return -ENOMEM;
	u->e[u->n++] = (struct undo_entry){
	    .start = (size_t)(head - u->buf),
	    .end = (size_t)(line - u->buf) + len + 1,
	    .line = line,
	    .len = len,
	    .from_match = from && strcmp(from, u->from) == 0,
	};
	return 0;
}

/* BUF without the newest entry of each of U->lines from U->from, into *OUT. */
static int undo_filter(void *userdata, const char *buf, size_t len, char **out, size_t *out_len)
{
	struct undo *u = userdata;
	size_t at = 0;
	FILE *f;
	int r;

	u->buf = buf;
	u->n = 0;
	r = quarantine_each(buf, len, undo_collect, u);
	if (r < 0)
		return r;
	for (size_t i = 0; u->lines[i]; i++)
		for (size_t j = u->n; j-- > 0;) {
			struct undo_entry *e = &u->e[j];

			if (!e->drop && e->from_match && e->len == strlen(u->lines[i]) &&
			    memcmp(e->line, u->lines[i], e->len) == 0) {
				e->drop = true;
				break;
			}
		}
	f = open_memstream(out, out_len);
	if (!f)
		return -ENOMEM;
	for (size_t j = 0; j < u->n; j++) {
		if (!u->e[j].drop)
			continue;
		fwrite(buf + at, 1, u->e[j].start - at, f);
		at = u->e[j].end < len ? u->e[j].end : len;
	}
	fwrite(buf + at, 1, len - at, f);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}

int audit_quarantine_undo(int rootfd, const char *user, const char *from, char *const *lines)
{
	struct undo u = {.from = from, .lines = lines};
	int r = quarantine_rewrite(rootfd, user, undo_filter, &u);

	free(u.e);
	return r;
}
