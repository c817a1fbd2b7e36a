#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "audit.h"
#include "dropin.h"
#include "keys.h"
#include "macro.h"
#include "safeio.h"
#include "strv.h"

#define STATE_FILE_MAX (4u << 20)

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

static bool is_marker(const char *p, size_t n, const char *m)
{
	return n == strlen(m) && memcmp(p, m, n) == 0;
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
		struct key_entry *e, *ne;
		char why[256] = "";
		int r;

		off += n + (nl ? 1 : 0);
		lineno++;
		if (is_marker(line, n, DROPIN_BEGIN) || is_marker(line, n, DROPIN_END)) {
			in_block = is_marker(line, n, DROPIN_BEGIN);
			continue;
		}
		r = key_parse_line(line, n, 1024, &k, why, sizeof(why));
		if (r == 1)
			continue;
		if (r == -ENOMEM)
			return r;
		ne = realloc(l->e, (l->n + 1) * sizeof(*ne));
		if (!ne) {
			key_line_done(&k);
			return -ENOMEM;
		}
		l->e = ne;
		e = &ne[l->n++];
		*e = (struct key_entry){.lineno = lineno, .in_block = in_block};
		e->file = strdup(file);
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

static int state_dir(int rootfd, bool create, int *ret)
{
	_cleanup_free_ char *path = strdup(AUDIT_STATE_DIR);
	int r = safe_open_in_root(rootfd, AUDIT_STATE_DIR, O_PATH | O_DIRECTORY, ret);

	if (r != -ENOENT || !create)
		return r;
	if (!path)
		return -ENOMEM;
	/* mkdir -p inside the root: parents 0755, the state directory itself 0700. */
	for (char *p = path + 1;; p++) {
		bool last = !*p;

		if (*p == '/' || last) {
			_cleanup_close_ int parent = -1;
			char *slash, saved = *p;

			*p = 0;
			slash = strrchr(path, '/');
			*slash = 0;
			r = safe_open_in_root(rootfd, *path ? path : "/", O_PATH | O_DIRECTORY, &parent);
			*slash = '/';
			if (r >= 0 && mkdirat(parent, slash + 1, last ? 0700 : 0755) < 0 && errno != EEXIST)
				r = negative_errno();
			*p = saved;
			if (r < 0)
				return r;
		}
		if (last)
			break;
	}
	return safe_open_in_root(rootfd, AUDIT_STATE_DIR, O_PATH | O_DIRECTORY, ret);
}

int audit_state_dir(int rootfd, bool create, int *ret)
{
	return state_dir(rootfd, create, ret);
}

static int state_name(const char *user, char *buf, size_t len)
{
	return state_file(user, "keys", buf, len);
}

/* FP's state line "FP STATUS[ COMMENT]", from the status on; NULL when there is none. */
static const char *state_line(char *const *state, const char *fp)
{
	size_t n = strlen(fp);

	for (size_t i = 0; state && state[i]; i++)
		if (strncmp(state[i], fp, n) == 0 && state[i][n] == ' ')
			return state[i] + n + 1;
	return NULL;
}

int audit_state_status(char *const *state, const char *fp)
{
	const char *l = state_line(state, fp);
	size_t n = l ? strcspn(l, " ") : 0;

	for (int s = 0; l && s <= KEY_INVALID; s++)
		if (strlen(status_names[s]) == n && strncmp(l, status_names[s], n) == 0)
			return s;
	return -1;
}

const char *audit_state_comment(char *const *state, const char *fp)
{
	const char *l = state_line(state, fp);

	l = l ? strchr(l, ' ') : NULL;
	return l && l[1] ? l + 1 : NULL;
}

int audit_state_load(int rootfd, const char *user, char ***ret)
{
	_cleanup_close_ int dfd = -1, fd = -1;
	_cleanup_free_ char *buf = NULL;
	char name[512];
	char **l = NULL;
	size_t len;
	struct stat st;
	int r;

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
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || st.st_uid != 0)
		return -EPERM;
	r = safe_read_all(fd, STATE_FILE_MAX, &buf, &len);
	if (r < 0)
		return r;
	l = calloc(1, sizeof(char *));
	if (!l)
		return -ENOMEM;
	for (char *p = buf, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		if (*p && (r = strv_push(&l, p)) < 0) {
			strv_free(l);
			return r;
		}
		if (!nl)
			break;
	}
	*ret = l;
	return 0;
}

int audit_state_save(int rootfd, const char *user, const struct key_list *l)
{
	_cleanup_close_ int dfd = -1;
	_cleanup_free_ char *out = NULL;
	size_t len = 0;
	char name[512];
	struct stat st;
	FILE *f;
	int r;

	r = state_name(user, name, sizeof(name));
	if (r < 0)
		return r;
	r = state_dir(rootfd, true, &dfd);
	if (r < 0)
		return r;
	f = open_memstream(&out, &len);
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		if (l->e[i].fingerprint)
			fprintf(f, "%s %s%s%s\n", l->e[i].fingerprint, status_names[l->e[i].status],
				l->e[i].comment ? " " : "", l->e[i].comment ? l->e[i].comment : "");
	if (fclose(f) != 0)
		return -ENOMEM;
	r = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
	if (r < 0 && r != -ENOENT)
		return r;
	for (int attempt = 0; attempt < 4; attempt++) {
		r = safe_replace_file(dfd, name, r == 0 ? &st : NULL, out, len, 0, 0, 0600, false);
		if (r != -EAGAIN)
			return r;
		if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			r = -errno;
		else
			r = 0;
	}
	return -EAGAIN;
}

int audit_quarantine(int rootfd, const char *user, const char *from, char *const *lines)
{
	_cleanup_close_ int dfd = -1;
	char name[512];
	int r;

	r = state_file(user, "quarantine", name, sizeof(name));
	if (r < 0)
		return r;
	r = state_dir(rootfd, true, &dfd);
	if (r < 0)
		return r;
	for (int attempt = 0; attempt < 4; attempt++) {
		_cleanup_close_ int fd = -1;
		_cleanup_free_ char *old = NULL, *out = NULL;
		size_t old_len = 0, len = 0;
		struct stat st;
		bool exists;
		FILE *f;

		fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		exists = fd >= 0;
		if (!exists && errno != ENOENT)
			return negative_errno();
		if (exists && (fstat(fd, &st) < 0 || (r = safe_read_all(fd, STATE_FILE_MAX, &old,
								      &old_len)) < 0))
			return r < 0 ? r : negative_errno();
		f = open_memstream(&out, &len);
		if (!f)
			return -ENOMEM;
		if (old_len)
			fwrite(old, 1, old_len, f);
		for (size_t i = 0; lines && lines[i]; i++)
			fprintf(f, "# from %s\n%s\n", from, lines[i]);
		if (fclose(f) != 0)
			return -ENOMEM;
		r = safe_replace_file(dfd, name, exists ? &st : NULL, out, len, 0, 0, 0600, true);
		if (r != -EAGAIN)
			return r;
	}
	return -EAGAIN;
}
