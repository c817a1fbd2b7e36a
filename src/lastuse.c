/* SPDX-License-Identifier: Apache-2.0 */
/* The last use of each key, in the state directory: one file per user. */
#include "lastuse.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "audit.h"
#include "macro.h"
#include "safeio.h"

/* The prefix of a user's file in the state directory: "lastuse." */
#define FILE_PREFIX LASTUSE_KIND "."

void lastuse_list_done(struct lastuse_list *l)
{
	free(l->e);
	*l = (struct lastuse_list){0};
}

/* A token that stands in a line: not empty, shorter than MAX, no blank or control byte. */
static bool token_ok(const char *s, size_t len, size_t max)
{
	if (len == 0 || len >= max)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	return true;
}

/* One line "FP SECONDS ADDR" (LINE, NUL-terminated) into *E; false when it is not one. */
static bool parse_line(const char *line, struct lastuse *e)
{
	const char *sp1 = strchr(line, ' '), *sp2;
	char *end;
	long long when;

	if (!sp1 || !token_ok(line, (size_t)(sp1 - line), sizeof(e->fingerprint)))
		return false;
	sp2 = strchr(sp1 + 1, ' ');
	if (!sp2 || sp2 == sp1 + 1 || !token_ok(sp2 + 1, strlen(sp2 + 1), sizeof(e->addr)))
		return false;
	errno = 0;
	when = strtoll(sp1 + 1, &end, 10);
	if (end != sp2 || errno || when < 0)
		return false;
	memcpy(e->fingerprint, line, (size_t)(sp1 - line));
	e->fingerprint[sp1 - line] = '\0';
	strcpy(e->addr, sp2 + 1);
	e->when = when;
	return true;
}

/* The whole lines of the first LASTUSE_FILE_MAX bytes of the file open in FD. */
static int read_bounded(int fd, char **ret)
{
	_cleanup_free_ char *buf = malloc(LASTUSE_FILE_MAX + 1);
	struct stat st;
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || st.st_uid != 0)
		return -EPERM;
	n = pread(fd, buf, LASTUSE_FILE_MAX, 0);
	if (n < 0)
		return negative_errno();
	if (st.st_size > (off_t)LASTUSE_FILE_MAX)
		while (n > 0 && buf[n - 1] != '\n')
			n--;
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

/* The file NAME of the state directory DFD into *RET (empty when there is none). */
static int load_at(int dfd, const char *name, struct lastuse_list *ret)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct lastuse_list l = {0};
	int r;

	*ret = (struct lastuse_list){0};
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno();
	r = read_bounded(fd, &buf);
	if (r < 0)
		return r;
	l.e = calloc(LASTUSE_KEYS_MAX, sizeof(*l.e));
	if (!l.e)
		return -ENOMEM;
	for (char *p = buf, *nl; *p && l.n < LASTUSE_KEYS_MAX; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break; /* a line cut short is no line */
		*nl = '\0';
		if (parse_line(p, &l.e[l.n]) && !lastuse_find(&l, l.e[l.n].fingerprint))
			l.n++;
	}
	*ret = l;
	return 0;
}

int lastuse_load(int rootfd, const char *user, struct lastuse_list *ret)
{
	_cleanup_close_ int dfd = -1;
	char name[512];
	int r;

	*ret = (struct lastuse_list){0};
	r = audit_state_file(user, LASTUSE_KIND, name, sizeof(name));
	if (r < 0)
		return r;
	r = audit_state_dir(rootfd, false, &dfd);
	if (r == -ENOENT)
		return 0;
	return r < 0 ? r : load_at(dfd, name, ret);
}

const struct lastuse *lastuse_find(const struct lastuse_list *l, const char *fp)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->e[i].fingerprint, fp) == 0)
			return &l->e[i];
	return NULL;
}

/* L as the file's text, with NEW first and L's other keys after it, within the bound. */
static char *format_list(const struct lastuse *new, const struct lastuse_list *l, size_t *len)
{
	char *out = NULL;
	size_t kept = 1;
	FILE *f = open_memstream(&out, len);

	if (!f)
		return NULL;
	fprintf(f, "%s %lld %s\n", new->fingerprint, (long long)new->when, new->addr);
	for (size_t i = 0; i < l->n && kept < LASTUSE_KEYS_MAX; i++)
		if (strcmp(l->e[i].fingerprint, new->fingerprint) != 0) {
			fprintf(f, "%s %lld %s\n", l->e[i].fingerprint, (long long)l->e[i].when,
				l->e[i].addr);
			kept++;
		}
	if (fclose(f) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int lastuse_record(int rootfd, const char *user, const char *fp, const char *addr, int64_t when)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *out = NULL;
	struct lastuse new = {.when = when};
	struct lastuse_list l = {0};
	struct stat st;
	char name[512];
	size_t len = 0;
	int r;

	if (!token_ok(fp, strlen(fp), sizeof(new.fingerprint)) ||
	    !token_ok(addr, strlen(addr), sizeof(new.addr)) || when < 0)
		return -EINVAL;
	strcpy(new.fingerprint, fp);
	strcpy(new.addr, addr);
	r = audit_state_file(user, LASTUSE_KIND, name, sizeof(name));
	if (r >= 0)
		r = audit_state_dir(rootfd, true, &dfd);
	if (r >= 0)
		r = load_at(dfd, name, &l);
	if (r < 0 && r != -EPERM) /* a file sshmend did not write is replaced */
		return r;
	out = format_list(&new, &l, &len);
	lastuse_list_done(&l);
	if (!out)
		return -ENOMEM;
	for (int attempt = 0; attempt < 4; attempt++) {
		bool exists = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
		r = safe_replace_file(dfd, name, exists ? &st : NULL, out, len, 0, 0, 0600, false);
		if (r != -EAGAIN)
			return r < 0 ? r : 0;
	}
	return -EAGAIN;
}

static const char *format_time(int64_t when, const char *fmt, char buf[static LASTUSE_TIME_MAX])
{
	time_t t = (time_t)when;
	struct tm tm;

	if (!gmtime_r(&t, &tm) || strftime(buf, LASTUSE_TIME_MAX, fmt, &tm) == 0)
		snprintf(buf, LASTUSE_TIME_MAX, "@%lld", (long long)when);
	return buf;
}

const char *lastuse_iso(int64_t when, char buf[static LASTUSE_TIME_MAX])
{
	return format_time(when, "%Y-%m-%dT%H:%M:%SZ", buf);
}

const char *lastuse_human(int64_t when, char buf[static LASTUSE_TIME_MAX])
{
	return format_time(when, "%Y-%m-%d %H:%M UTC", buf);
}

/* Call FN for each user's file in the state directory: the user, and its list. */
static int each_file(int rootfd, int (*fn)(void *userdata, const char *user, struct lastuse_list *),
		     void *userdata)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int r = audit_state_dir(rootfd, false, &dfd);

	if (r == -ENOENT)
		return 0;
	if (r >= 0)
		r = audit_state_opendir(dfd, &d);
	if (r < 0)
		return r;
	while ((de = readdir(d))) {
		struct lastuse_list l;

		if (strncmp(de->d_name, FILE_PREFIX, strlen(FILE_PREFIX)) != 0 ||
		    !de->d_name[strlen(FILE_PREFIX)])
			continue;
		if (load_at(dfd, de->d_name, &l) < 0)
			continue; /* one unreadable file hides no other */
		r = fn(userdata, de->d_name + strlen(FILE_PREFIX), &l);
		lastuse_list_done(&l);
		if (r < 0)
			return r;
	}
	return 0;
}

struct logins_from {
	const char *addr;
	struct lastuse_login *out;
	size_t max, n;
};

/* Put USER, last from the address at WHEN, in its place in the list, latest first. */
static int add_login(void *userdata, const char *user, struct lastuse_list *l)
{
	struct logins_from *c = userdata;
	int64_t when = -1;
	size_t at;
	char *name;

	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->e[i].addr, c->addr) == 0 && l->e[i].when > when)
			when = l->e[i].when;
	if (when < 0)
		return 0;
	for (at = 0; at < c->n && c->out[at].when >= when; at++)
		;
	if (at == c->max)
		return 0;
	name = strdup(user);
	if (!name)
		return -ENOMEM;
	if (c->n == c->max)
		free(c->out[--c->n].user);
	memmove(&c->out[at + 1], &c->out[at], (c->n - at) * sizeof(*c->out));
	c->out[at] = (struct lastuse_login){.user = name, .when = when};
	c->n++;
	return 0;
}

int lastuse_logins_from(int rootfd, const char *addr, struct lastuse_login *out, size_t max)
{
	struct logins_from c = {.addr = addr, .out = out, .max = max};
	int r = max ? each_file(rootfd, add_login, &c) : 0;

	if (r < 0) {
		lastuse_logins_done(out, c.n);
		return r;
	}
	return (int)c.n;
}

void lastuse_logins_done(struct lastuse_login *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(l[i].user);
}

struct each_addr {
	void (*fn)(void *userdata, const char *addr);
	void *userdata;
};

static int call_addrs(void *userdata, _unused_ const char *user, struct lastuse_list *l)
{
	struct each_addr *c = userdata;

	for (size_t i = 0; i < l->n; i++)
		c->fn(c->userdata, l->e[i].addr);
	return 0;
}

int lastuse_each_addr(int rootfd, void (*fn)(void *userdata, const char *addr), void *userdata)
{
	struct each_addr c = {.fn = fn, .userdata = userdata};

	return each_file(rootfd, call_addrs, &c);
}

int lastuse_accepted(int rootfd, const struct sshdlog_line *l, uint64_t usec)
{
	if (l->kind != SSHDLOG_ACCEPTED || strcmp(l->method, "publickey") != 0 ||
	    !*l->fingerprint || !*l->user || !*l->addr)
		return 0;
	return lastuse_record(rootfd, l->user, l->fingerprint, l->addr, (int64_t)(usec / 1000000));
}

int lastuse_hint(int rootfd, const char *addr, char **ret)
{
	struct lastuse_login in[LASTUSE_HINT_USERS];
	char when[LASTUSE_TIME_MAX];
	size_t len = 0;
	FILE *f;
	int n;

	*ret = NULL;
	n = lastuse_logins_from(rootfd, addr, in, ELEMENTSOF(in));
	if (n <= 0)
		return n;
	f = open_memstream(ret, &len);
	if (f) {
		fprintf(f, "%s logged in as", addr);
		for (int i = 0; i < n; i++)
			fprintf(f, "%s %s %s", i ? "," : "", in[i].user,
				lastuse_human(in[i].when, when));
		fprintf(f, ": log in as %s", in[0].user);
	}
	lastuse_logins_done(in, (size_t)n);
	if (!f || fclose(f) != 0) {
		free(*ret);
		*ret = NULL;
		return -ENOMEM;
	}
	return 0;
}
