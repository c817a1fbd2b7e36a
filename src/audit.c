/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "audit.h"
#include "dropin.h"
#include "keys.h"
#include "macro.h"
#include "safeio.h"
#include "strindex.h"
#include "strv.h"

#define MACHINE_ID_PATH "/etc/machine-id"
/* In the state directory: the machine its state belongs to. */
#define STATE_MACHINE_ID "machine-id"
#define MACHINE_ID_LEN 32
/* A quarantine file's entry: these header lines, then the key line. */
#define QUARANTINE_FROM "# from "
#define QUARANTINE_TAKEN "# taken "

static const char *const status_names[] = {
    [KEY_APPROVED] = "approved",
    [KEY_USER] = "user",
    [KEY_UNAPPROVED] = "unapproved",
    [KEY_INVALID] = "invalid",
};

const char *key_status_to_string(enum key_status s)
{
	return status_names[s];
}

/* A new entry of L for line LINENO of FILE. */
static struct key_entry *entry_add(struct key_list *l, const char *file, unsigned lineno)
{
	struct key_entry *e;

	if (array_room(&l->e, l->n, sizeof(*l->e)) < 0)
		return NULL;
	e = &l->e[l->n++];
	*e = (struct key_entry){.lineno = lineno, .file = strdup(file)};
	return e;
}

int audit_scan_unread(const char *file, const char *why, struct key_list *l)
{
	struct key_entry *e = entry_add(l, file, 0);

	if (!e)
		return -ENOMEM;
	e->status = KEY_INVALID;
	e->why = strdup(why);
	return 0;
}

int audit_scan(const char *file, const char *text, size_t len, struct key_list *l)
{
	unsigned lineno = 0;
	bool in_block = false;

	for (size_t off = 0; off < len;) {
		const char *line = text + off;
		const char *nl = memchr(line, '\n', len - off);
		size_t n = nl ? (size_t)(nl - line) : len - off;
		struct key_line k = {0};
		struct key_entry *e;
		char why[256] = "";
		int r;

		off += n + (nl ? 1 : 0);
		lineno++;
		if (dropin_is_marker(line, n, DROPIN_BEGIN) ||
		    dropin_is_marker(line, n, DROPIN_END)) {
			in_block = dropin_is_marker(line, n, DROPIN_BEGIN);
			continue;
		}
		r = key_parse_line(line, n, KEY_RSA_MIN_BITS, &k, why, sizeof(why));
		if (r == 1)
			continue;
		if (r == -ENOMEM || !(e = entry_add(l, file, lineno))) {
			key_line_done(&k);
			return -ENOMEM;
		}
		e->in_block = in_block;
		if (r == 0) {
			e->fingerprint = strdup(k.fingerprint);
			e->type = strdup(k.type);
			e->comment = k.comment ? strdup(k.comment) : NULL;
			e->certificate = k.certificate;
		} else {
			e->status = KEY_INVALID;
			e->why = strdup(why);
		}
		key_line_done(&k);
	}
	return 0;
}

void key_list_done(struct key_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->e[i].file);
		free(l->e[i].fingerprint);
		free(l->e[i].type);
		free(l->e[i].comment);
		free(l->e[i].why);
	}
	free(l->e);
	*l = (struct key_list){0};
}

static int state_file(const char *user, const char *kind, char *buf, size_t len)
{
	if (!*user || strchr(user, '/') || user[0] == '.')
		return -EINVAL;
	snprintf(buf, len, "%s.%s", kind, user);
	return 0;
}

int audit_quarantine_path(const char *user, char *buf, size_t len)
{
	char name[512];
	int r = state_file(user, "quarantine", name, sizeof(name));

	if (r >= 0)
		snprintf(buf, len, "%s/%s", AUDIT_STATE_DIR, name);
	return r;
}

static int state_dir(int rootfd, bool create, int *ret)
{
	int r = safe_open_in_root(rootfd, AUDIT_STATE_DIR, O_PATH | O_DIRECTORY, ret);

	if (r != -ENOENT || !create)
		return r;
	return safe_mkdir_in_root(rootfd, AUDIT_STATE_DIR, 0700, ret);
}

/* A machine id in FD: 32 hex digits and a newline (machine-id(5)); -ENODATA for anything else. */
static int read_machine_id(int fd, char id[MACHINE_ID_LEN + 1])
{
	char buf[MACHINE_ID_LEN + 2];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode))
		return -ENODATA;
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return negative_errno();
	if (n < MACHINE_ID_LEN || (n > MACHINE_ID_LEN && buf[MACHINE_ID_LEN] != '\n') ||
	    n == (ssize_t)sizeof(buf))
		return -ENODATA;
	for (size_t i = 0; i < MACHINE_ID_LEN; i++)
		if (!strchr("0123456789abcdef", buf[i]) || !buf[i])
			return -ENODATA;
	memcpy(id, buf, MACHINE_ID_LEN);
	id[MACHINE_ID_LEN] = 0;
	return 0;
}

/* Remove the remembered keys (not the quarantine: nothing of it is ever deleted). */
static int drop_baseline(int dfd)
{
	DIR *d;
	struct dirent *de;
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return negative_errno();
	d = fdopendir(fd);
	if (!d) {
		r = negative_errno();
		close(fd);
		return r;
	}
	while ((de = readdir(d)))
		if (strncmp(de->d_name, "keys.", 5) == 0 && unlinkat(dirfd(d), de->d_name, 0) < 0 &&
		    errno != ENOENT)
			r = negative_errno();
	closedir(d);
	return r;
}

int audit_state_bind(int rootfd, bool adopt)
{
	_cleanup_close_ int fd = -1, dfd = -1;
	char id[MACHINE_ID_LEN + 1], recorded[MACHINE_ID_LEN + 1];
	struct stat st;
	bool exists;
	int r = safe_open_in_root(rootfd, MACHINE_ID_PATH, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd);

	if (r >= 0)
		r = read_machine_id(fd, id);
	if (r == -ENOENT || r == -ENODATA)
		return 0; /* a state tied to no machine would travel in the image */
	if (r < 0)
		return r;
	r = state_dir(rootfd, adopt, &dfd);
	if (r == -ENOENT && !adopt)
		return 1; /* nothing recorded yet */
	if (r < 0)
		return r;
	closep(&fd);
	fd = openat(dfd, STATE_MACHINE_ID, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	r = fd < 0 ? negative_errno() : read_machine_id(fd, recorded);
	if (r >= 0 && strcmp(recorded, id) == 0)
		return 1;
	/* None recorded: a state from before ids were, this machine's. */
	if (r != -ENOENT) {
		if (!adopt)
			return 0;
		r = drop_baseline(dfd);
		if (r < 0)
			return r;
	}
	if (!adopt)
		return 1;
	id[MACHINE_ID_LEN] = '\n';
	exists = fstatat(dfd, STATE_MACHINE_ID, &st, AT_SYMLINK_NOFOLLOW) == 0;
	r = safe_replace_file(dfd, STATE_MACHINE_ID, exists ? &st : NULL, id, MACHINE_ID_LEN + 1, 0,
			      0, 0600, true);
	return r < 0 ? r : 1;
}

int audit_state_dir(int rootfd, bool create, int *ret)
{
	return state_dir(rootfd, create, ret);
}

static int state_name(const char *user, char *buf, size_t len)
{
	return state_file(user, "keys", buf, len);
}

/* The fingerprint of a state line: up to its blank. */
static size_t state_fp_len(const char *line)
{
	return strcspn(line, " ");
}

/* Does the status token at S (up to a blank or the end) read NAME? */
static bool status_is(const char *s, const char *name)
{
	size_t n = strcspn(s, " ");

	return strlen(name) == n && strncmp(s, name, n) == 0;
}

int audit_state_index(char *const *state, struct strindex **ret)
{
	struct strindex *x = NULL;
	int r = strindex_new(&x);

	for (size_t i = 0; r >= 0 && state && state[i]; i++)
		r = strindex_add(x, state[i], state_fp_len(state[i]), i);
	if (r < 0) {
		strindex_free(x);
		return r;
	}
	*ret = x;
	return 0;
}

int audit_state_status(char *const *state, const struct strindex *index, const char *fp,
		       ssize_t *line)
{
	ssize_t i = strindex_find(index, fp, strlen(fp));

	if (line)
		*line = i;
	if (i < 0 || !state[i][state_fp_len(state[i])])
		return -1;
	for (int s = 0; s <= KEY_INVALID; s++)
		if (status_is(state[i] + state_fp_len(state[i]) + 1, status_names[s]))
			return s;
	return -1;
}

const char *audit_state_comment(char *const *state, const struct strindex *index, const char *fp)
{
	ssize_t i = strindex_find(index, fp, strlen(fp));
	const char *l;

	if (i < 0 || !state[i][state_fp_len(state[i])])
		return NULL;
	/* "FP STATUS COMMENT": past the status. */
	l = strchr(state[i] + state_fp_len(state[i]) + 1, ' ');
	return l && l[1] ? l + 1 : NULL;
}

/*
 * Read the state file open in FD, of at most AUDIT_STATE_MAX bytes: sshmend writes no more. Of a
 * larger one (a limit lowered since it was written) only whole lines of the part at the start,
 * or with FROM_END at the end, are read, and 1 returned.
 */
static int state_read(int fd, bool from_end, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	size_t len = AUDIT_STATE_MAX, skip = 0;
	off_t at;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || st.st_uid != 0)
		return -EPERM;
	if (st.st_size <= (off_t)AUDIT_STATE_MAX)
		return safe_read_all(fd, AUDIT_STATE_MAX, ret, ret_len);
	at = from_end ? st.st_size - (off_t)AUDIT_STATE_MAX : 0;
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	n = pread(fd, buf, len, at);
	if (n < 0)
		return negative_errno();
	len = (size_t)n;
	if (from_end) {
		const char *nl = memchr(buf, '\n', len);

		skip = nl ? (size_t)(nl - buf) + 1 : len;
		memmove(buf, buf + skip, len - skip);
		len -= skip;
	} else {
		while (len > 0 && buf[len - 1] != '\n')
			len--;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 1;
}

int audit_state_load(int rootfd, const char *user, char ***ret)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *buf = NULL;
	char name[512];
	char **l = NULL;
	size_t len, n = 0, k = 0;
	int r, truncated;

	*ret = NULL;
	r = state_name(user, name, sizeof(name));
	if (r < 0)
		return r;
	r = state_dir(rootfd, false, &dfd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno();
	truncated = state_read(fd, false, &buf, &len);
	if (truncated < 0)
		return truncated;
	/* One allocation for the list: a line at a time would copy it for each line. */
	for (size_t i = 0; i < len; i++)
		n += buf[i] == '\n';
	l = calloc(n + 2, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (char *p = buf, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (*p && !(l[k++] = strdup(p))) {
			strv_free(l);
			return -ENOMEM;
		}
		if (!nl)
			break;
	}
	*ret = l;
	return truncated;
}

int audit_state_save(int rootfd, const char *user, const struct key_list *l)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *out = NULL;
	struct strindex *saved = NULL;
	size_t len = 0;
	char name[512];
	struct stat st;
	bool full = false;
	FILE *f;
	int r;

	r = state_name(user, name, sizeof(name));
	if (r < 0)
		return r;
	r = state_dir(rootfd, true, &dfd);
	if (r < 0)
		return r;
	r = strindex_new(&saved);
	if (r < 0)
		return r;
	f = open_memstream(&out, &len);
	if (!f) {
		strindex_free(saved);
		return -ENOMEM;
	}
	/* Each key once, and no more than is read back. */
	for (size_t i = 0; r >= 0 && i < l->n; i++) {
		const struct key_entry *e = &l->e[i];
		size_t n;

		if (!e->fingerprint)
			continue;
		r = strindex_add(saved, e->fingerprint, strlen(e->fingerprint), i);
		/* The comment too, for the entry of a key that goes. */
		n = strlen(e->fingerprint) + strlen(status_names[e->status]) + 2 +
		    (e->comment ? strlen(e->comment) + 1 : 0);
		if (r > 0 && (size_t)ftello(f) + n > AUDIT_STATE_MAX)
			full = true;
		else if (r > 0)
			fprintf(f, "%s %s%s%s\n", e->fingerprint, status_names[e->status],
				e->comment ? " " : "", e->comment ? e->comment : "");
	}
	strindex_free(saved);
	if (fclose(f) != 0 || r < 0)
		return r < 0 ? r : -ENOMEM;
	r = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	if (r < 0 && r != -ENOENT)
		return r;
	for (int attempt = 0; attempt < 4; attempt++) {
		r = safe_replace_file(dfd, name, r == 0 ? &st : NULL, out, len, 0, 0, 0600, false);
		if (r != -EAGAIN)
			return r < 0 ? r : full;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		else
			r = 0;
	}
	return -EAGAIN;
}

/*
 * USER's quarantine file, read: *dfd the state directory (made with CREATE), *buf its text
 * ("" when there is none), *exists and *st as read, for safe_replace_file().
 */
static int quarantine_read(int rootfd, const char *user, bool create, int *dfd, char *name,
			   size_t namelen, char **buf, size_t *len, bool *exists, struct stat *st)
{
	_cleanup_close_ int fd = -1;
	int r;

	*buf = NULL;
	*len = 0;
	*exists = false;
	r = state_file(user, "quarantine", name, namelen);
	if (r < 0)
		return r;
	r = state_dir(rootfd, create, dfd);
	if (r < 0)
		return r;
	fd = openat(*dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno != ENOENT)
		return negative_errno();
	if (fd >= 0) {
		*exists = true;
		if (fstat(fd, st) < 0)
			return negative_errno();
		/* Of one grown past the limit (an older version's), the newest entries. */
		r = state_read(fd, true, buf, len);
		return r < 0 ? r : 0;
	}
	*buf = strdup("");
	return *buf ? 0 : -ENOMEM;
}

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

static int cut_oldest(void *userdata, const char *head, size_t head_len, const char *line,
		      size_t len)
{
	struct cut *c = userdata;
	size_t end = (size_t)(line - c->buf) + len + 1;

	(void)head;
	(void)head_len;
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

int audit_quarantine_drop(int rootfd, const char *user, const char *fingerprint, const char *line)
{
	for (int attempt = 0; attempt < 4; attempt++) {
		_cleanup_close_ int dfd = -1;
		_cleanup_free_ char *buf = NULL, *out = NULL;
		size_t len, out_len = 0;
		char name[512];
		struct stat st;
		bool exists;
		struct drop d = {.fingerprint = fingerprint, .line = line};
		int r;

		r = quarantine_read(rootfd, user, false, &dfd, name, sizeof(name), &buf, &len,
				    &exists, &st);
		if (r == -ENOENT || (r >= 0 && !exists))
			return 0;
		if (r < 0)
			return r;
		d.out = open_memstream(&out, &out_len);
		if (!d.out)
			return -ENOMEM;
		r = quarantine_each(buf, len, keep_other, &d);
		if (fclose(d.out) != 0 || r < 0)
			return r < 0 ? r : -ENOMEM;
		r = safe_replace_file(dfd, name, &st, out, out_len, 0, 0, 0600, true);
		if (r != -EAGAIN)
			return r;
	}
	return -EAGAIN;
}
