/* SPDX-License-Identifier: Apache-2.0 */
/* The key audit's state directory: the keys remembered for each user, and for which machine. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "audit.h"
#include "lastuse.h"
#include "macro.h"
#include "safeio.h"
#include "strindex.h"
#include "strv.h"

#define MACHINE_ID_PATH "/etc/machine-id"
/* In the state directory: the machine its state belongs to. */
#define STATE_MACHINE_ID "machine-id"
#define MACHINE_ID_LEN 32

int audit_state_file(const char *user, const char *kind, char *buf, size_t len)
{
	if (!*user || strchr(user, '/') || user[0] == '.')
		return -EINVAL;
	snprintf(buf, len, "%s.%s", kind, user);
	return 0;
}

int audit_state_dir(int rootfd, bool create, int *ret)
{
	int r = safe_open_in_root(rootfd, AUDIT_STATE_DIR, O_PATH | O_DIRECTORY, ret);

	if (r != -ENOENT || !create)
		return r;
	return safe_mkdir_in_root(rootfd, AUDIT_STATE_DIR, 0700, ret);
}

struct sweep {
	int (*fn)(void *userdata, const char *path);
	void *userdata;
};

static int swept(void *userdata, const char *name)
{
	struct sweep *s = userdata;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", AUDIT_STATE_DIR, name);
	return s->fn ? s->fn(s->userdata, path) : 0;
}

int audit_state_sweep(int rootfd, int (*fn)(void *userdata, const char *path), void *userdata)
{
	_cleanup_close_ int dfd = -1;
	struct sweep s = {fn, userdata};
	int r = audit_state_dir(rootfd, false, &dfd);

	if (r == -ENOENT)
		return 0;
	/* Only root writes there: any name of the writer's is its own. */
	return r < 0 ? r : safe_remove_leftovers(dfd, NULL, 0, swept, &s);
}

int audit_state_opendir(int dfd, DIR **ret)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (fd < 0)
		return negative_errno();
	*ret = fdopendir(fd);
	if (!*ret) {
		r = negative_errno();
		close(fd);
		return r;
	}
	return 0;
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

/*
 * Remove the remembered keys, their last use and the record of those removed (not the
 * quarantine: nothing of it is ever deleted).
 */
static int drop_baseline(int dfd)
{
	DIR *d;
	struct dirent *de;
	int r = audit_state_opendir(dfd, &d);

	if (r < 0)
		return r;
	while ((de = readdir(d)))
		if ((strncmp(de->d_name, "keys.", 5) == 0 ||
		     strncmp(de->d_name, "removed.", 8) == 0 ||
		     strncmp(de->d_name, LASTUSE_KIND ".", strlen(LASTUSE_KIND) + 1) == 0) &&
		    unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
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
	r = audit_state_dir(rootfd, adopt, &dfd);
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

int audit_state_read_file(int rootfd, const char *user, const char *kind, bool create, int *dfd,
			  char *name, size_t namelen, char **buf, size_t *len, bool *exists,
			  struct stat *st)
{
	_cleanup_close_ int fd = -1;
	int r;

	*buf = NULL;
	*len = 0;
	*exists = false;
	r = audit_state_file(user, kind, name, namelen);
	if (r < 0)
		return r;
	r = audit_state_dir(rootfd, create, dfd);
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
		r = audit_state_read(fd, true, buf, len);
		return r < 0 ? r : 0;
	}
	*buf = strdup("");
	return *buf ? 0 : -ENOMEM;
}

static int state_name(const char *user, char *buf, size_t len)
{
	return audit_state_file(user, "keys", buf, len);
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
		if (status_is(state[i] + state_fp_len(state[i]) + 1, key_status_to_string(s)))
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

int audit_state_read(int fd, bool from_end, char **ret, size_t *ret_len)
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
	r = audit_state_dir(rootfd, false, &dfd);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : negative_errno();
	truncated = audit_state_read(fd, false, &buf, &len);
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
	r = audit_state_dir(rootfd, true, &dfd);
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
		n = strlen(e->fingerprint) + strlen(key_status_to_string(e->status)) + 2 +
		    (e->comment ? strlen(e->comment) + 1 : 0);
		if (r > 0 && (size_t)ftello(f) + n > AUDIT_STATE_MAX)
			full = true;
		else if (r > 0)
			fprintf(f, "%s %s%s%s\n", e->fingerprint, key_status_to_string(e->status),
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
