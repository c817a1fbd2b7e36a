/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>
#include "label.h"
#include "macro.h"
#include "safeio.h"
#if HAVE_SELINUX
#include <selinux/label.h>
#include <selinux/selinux.h>
#endif

#define SELINUX_CONFIG "/etc/selinux/config"
#define SELINUX_CONFIG_MAX (64u << 10)
#define LABEL_MAX 4096

/* What label_new_file() labels by: label_use(). */
static const struct label_policy *use_policy;
static const char *use_root;

struct label_policy {
#if HAVE_SELINUX
	struct selabel_handle *hnd;
#endif
	bool enforcing;
};

/*
 * The types sshd (sshd_t) may use for the elements of a chain on an enforcing system: a keys
 * file it reads, a directory it searches on the way. Taken from the unconditional allow rules
 * of sshd_t in the reference policy (Debian 12's selinux-policy-default, refpolicy 20221101),
 * kept to the types file contexts give the places a keys file and its directories stand:
 * ssh_home_t and its variants (HOME_DIR/.ssh(/.*)?, /root/.ssh(/.*)?), and under /etc, /usr
 * and /var/lib. Directories add / (root_t), /home (home_root_t), the homes (user_home_dir_t;
 * Fedora's policy labels /root admin_home_t, which its sshd_t searches) and /var, /tmp.
 * Any other type is denied ("Permission denied (publickey)", an AVC denial, and before
 * OpenSSH 9.1 no word in sshd's log): user_home_t, admin_home_t or user_tmp_t on a keys file.
 */
static const char *const sshd_file_types[] = {
    "ssh_home_t",
    "nx_server_ssh_home_t",
    "virsh_ssh_home_t",
    "xm_ssh_home_t",
    "sshd_key_t",
    "etc_t",
    "usr_t",
    "var_lib_t",
};

static const char *const sshd_dir_types[] = {
    "ssh_home_t",
    "nx_server_ssh_home_t",
    "virsh_ssh_home_t",
    "xm_ssh_home_t",
    "root_t",
    "home_root_t",
    "user_home_dir_t",
    "admin_home_t",
    "etc_t",
    "usr_t",
    "var_t",
    "var_lib_t",
    "tmp_t",
};

bool label_type(const char *label, char *buf, size_t len)
{
	const char *t, *end;

	/* user:role:type[:level], the level itself holding colons ("s0-s0:c0.c1023"). */
	if (!label || !(t = strchr(label, ':')) || !(t = strchr(t + 1, ':')))
		return false;
	t++;
	end = strchrnul(t, ':');
	if (end == t || (size_t)(end - t) >= len)
		return false;
	memcpy(buf, t, (size_t)(end - t));
	buf[end - t] = 0;
	return true;
}

bool label_same_type(const char *current, const char *expected)
{
	char a[256], b[256];

	if (!label_type(current, a, sizeof(a)) || !label_type(expected, b, sizeof(b)))
		return false;
	return strcmp(a, b) == 0;
}

int label_restored(const char *current, const char *expected, char **ret)
{
	char t[256];
	const char *ct, *cend;
	char *s;

	if (!label_type(expected, t, sizeof(t)))
		return -EINVAL;
	/* restorecon without -F writes the whole label only where there is none, and
	 * otherwise changes the type alone: the user, role and level stay. */
	if (!current || !(ct = strchr(current, ':')) || !(ct = strchr(ct + 1, ':'))) {
		s = strdup(expected);
		if (!s)
			return -ENOMEM;
		*ret = s;
		return 0;
	}
	ct++;
	cend = strchrnul(ct, ':');
	if (asprintf(&s, "%.*s%s%s", (int)(ct - current), current, t, cend) < 0)
		return -ENOMEM;
	*ret = s;
	return 0;
}

bool label_sshd_can_use(const char *label, mode_t mode)
{
	const char *const *types = S_ISDIR(mode) ? sshd_dir_types : sshd_file_types;
	size_t n = S_ISDIR(mode) ? ELEMENTSOF(sshd_dir_types) : ELEMENTSOF(sshd_file_types);
	char t[256];

	if (!label_type(label, t, sizeof(t)))
		return false;
	for (size_t i = 0; i < n; i++)
		if (strcmp(types[i], t) == 0)
			return true;
	return false;
}

static void proc_fd(char *buf, size_t len, int fd)
{
	snprintf(buf, len, "/proc/self/fd/%d", fd);
}

int label_get(int fd, char **ret)
{
	char proc[64], buf[LABEL_MAX];
	struct stat st;
	ssize_t n;
	char *s;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	n = fgetxattr(fd, LABEL_XATTR, buf, sizeof(buf) - 1);
	if (n < 0 && errno == EBADF) {
		/* An O_PATH descriptor: its /proc link names the inode itself, never a path. */
		proc_fd(proc, sizeof(proc), fd);
		n = getxattr(proc, LABEL_XATTR, buf, sizeof(buf) - 1);
	}
	if (n < 0) {
		if (errno == ENODATA) {
			*ret = NULL;
			return 0;
		}
		/* ENOTSUP: a file system that keeps no labels (vfat, NFS without labels). */
		return negative_errno();
	}
	/* The kernel keeps the terminating NUL the setter wrote. */
	while (n > 0 && buf[n - 1] == 0)
		n--;
	buf[n] = 0;
	s = strdup(buf);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int label_set(int fd, const struct stat *expect, const char *label)
{
	char proc[64];
	size_t len = strlen(label) + 1;
	int r = safe_check_unchanged(fd, expect);

	if (r < 0)
		return r;
	if (fsetxattr(fd, LABEL_XATTR, label, len, 0) == 0)
		return 0;
	if (errno != EBADF)
		return negative_errno();
	proc_fd(proc, sizeof(proc), fd);
	if (setxattr(proc, LABEL_XATTR, label, len, 0) < 0)
		return negative_errno();
	return 0;
}

#if HAVE_SELINUX
/* VALUE of KEY= in the text of an selinux/config file, into BUF; false when not set. */
static bool config_value(const char *text, const char *key, char *buf, size_t len)
{
	size_t klen = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		const char *v, *end;

		p += strspn(p, " \t");
		if (strncmp(p, key, klen) != 0 || p[klen] != '=')
			continue;
		v = p + klen + 1;
		end = v + strcspn(v, " \t\r\n#");
		if (end == v || (size_t)(end - v) >= len)
			return false;
		memcpy(buf, v, (size_t)(end - v));
		buf[end - v] = 0;
		return true;
	}
	return false;
}

/* The root's selinux/config: its policy's file contexts and whether it enforces. */
static int root_policy(int rootfd, const char *root, char *path, size_t pathlen, bool *enforcing,
		       char *err, size_t errlen)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *text = NULL;
	char type[NAME_MAX + 1], state[32];
	int r;

	r = safe_open_in_root(rootfd, SELINUX_CONFIG, O_RDONLY, &fd);
	if (r >= 0)
		r = safe_read_all(fd, SELINUX_CONFIG_MAX, &text, NULL);
	if (r < 0) {
		snprintf(err, errlen, "%s%s: %s", root, SELINUX_CONFIG, strerror(-r));
		return r;
	}
	if (!config_value(text, "SELINUXTYPE", type, sizeof(type)) || strchr(type, '/') ||
	    type[0] == '.') {
		snprintf(err, errlen, "%s%s: no valid SELINUXTYPE=", root, SELINUX_CONFIG);
		return -ENOENT;
	}
	*enforcing =
	    config_value(text, "SELINUX", state, sizeof(state)) && strcmp(state, "enforcing") == 0;
	snprintf(path, pathlen, "%s/etc/selinux/%s/contexts/files/file_contexts", root, type);
	return 0;
}

int label_policy_open(enum selinux_mode mode, int rootfd, const char *root,
		      struct label_policy **ret, char *err, size_t errlen)
{
	_cleanup_free_ struct label_policy *p = NULL;
	char path[PATH_MAX];
	struct selinux_opt opt = {SELABEL_OPT_PATH, path};
	bool live = is_selinux_enabled() > 0;
	int r;

	*ret = NULL;
	if (mode == SELINUX_NO || (mode == SELINUX_AUTO && !live))
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (root) {
		r = root_policy(rootfd, root, path, sizeof(path), &p->enforcing, err, errlen);
		/* auto: a root without a policy of its own (another distribution's) is not
		 * judged by the running system's. */
		if (r < 0 && mode == SELINUX_AUTO) {
			*err = 0;
			return 0;
		}
		if (r < 0)
			return r;
		p->hnd = selabel_open(SELABEL_CTX_FILE, &opt, 1);
	} else {
		p->enforcing = live && security_getenforce() == 1;
		snprintf(path, sizeof(path), "%s", selinux_file_context_path());
		p->hnd = selabel_open(SELABEL_CTX_FILE, NULL, 0);
	}
	if (!p->hnd) {
		r = negative_errno();
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r == -ENOENT || mode == SELINUX_YES ? -ENOENT : r;
	}
	*ret = TAKE_PTR(p);
	return 0;
}

void label_policy_free(struct label_policy *p)
{
	if (!p)
		return;
	if (use_policy == p)
		label_use(NULL, NULL);
	selabel_close(p->hnd);
	free(p);
}

int label_expected(const struct label_policy *p, const char *path, mode_t mode, char **ret)
{
	char *con = NULL, *s;

	if (selabel_lookup_raw(p->hnd, &con, path, (int)(mode & S_IFMT)) < 0)
		return errno == ENOENT ? -ENOENT : negative_errno();
	/* The file contexts' "<<none>>": leave the element as it is. */
	if (strcmp(con, "<<none>>") == 0) {
		freecon(con);
		return -ENOENT;
	}
	s = strdup(con);
	freecon(con);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}
#else
int label_policy_open(enum selinux_mode mode, _unused_ int rootfd, _unused_ const char *root,
		      struct label_policy **ret, char *err, size_t errlen)
{
	*ret = NULL;
	if (mode != SELINUX_YES)
		return 0;
	snprintf(err, errlen, "SELinux=yes: built without SELinux support");
	return -EOPNOTSUPP;
}

void label_policy_free(_unused_ struct label_policy *p)
{
}

int label_expected(_unused_ const struct label_policy *p, _unused_ const char *path,
		   _unused_ mode_t mode, _unused_ char **ret)
{
	return -EOPNOTSUPP;
}
#endif

bool label_policy_enforcing(const struct label_policy *p)
{
	return p && p->enforcing;
}

int label_mismatch(const struct label_policy *p, const char *path, int fd, mode_t mode, char **cur,
		   char **want)
{
	_cleanup_free_ char *c = NULL, *w = NULL;
	int q;

	if (!p)
		return 0;
	q = label_expected(p, path, mode, &w);
	if (q < 0)
		return q == -ENOMEM
			   ? q
			   : 0; /* the policy gives the path no label: restorecon leaves it */
	q = label_get(fd, &c);
	if (q < 0)
		return q == -ENOMEM ? q : 0; /* a file system that keeps no labels, or one unread */
	if (label_same_type(c, w))
		return 0;
	*cur = TAKE_PTR(c);
	*want = TAKE_PTR(w);
	return 1;
}

void label_use(const struct label_policy *p, const char *root)
{
	use_policy = p;
	use_root = root;
}

/* The path of the directory DIRFD inside the root in force, into BUF. */
static int dir_path(int dirfd, char *buf, size_t len)
{
	char proc[64];
	size_t rlen = use_root ? strlen(use_root) : 0;
	ssize_t n;

	proc_fd(proc, sizeof(proc), dirfd);
	n = readlink(proc, buf, len - 1);
	if (n < 0)
		return negative_errno();
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	if (buf[0] != '/')
		return -ENOENT; /* not a directory of the tree, or removed */
	if (rlen && rlen > 1) {
		if (strncmp(buf, use_root, rlen) != 0 || (buf[rlen] && buf[rlen] != '/'))
			return -EXDEV;
		memmove(buf, buf + rlen, (size_t)n - rlen + 1);
		if (!buf[0])
			strcpy(buf, "/");
	}
	return 0;
}

int label_new_file(int dirfd, const char *name, int fd)
{
	_cleanup_free_ char *want = NULL, *cur = NULL, *set = NULL;
	char dir[PATH_MAX], path[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	int r;

	if (!use_policy)
		return 0;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	r = dir_path(dirfd, dir, sizeof(dir));
	if (r == -EXDEV || r == -ENOENT)
		return 0; /* not in the root judged (a state directory outside it), or removed */
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name);
	r = label_expected(use_policy, path, st.st_mode, &want);
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	r = label_get(fd, &cur);
	if (r == -EOPNOTSUPP)
		return 0;
	if (r < 0)
		return r;
	if (label_same_type(cur, want))
		return 0;
	r = label_restored(cur, want, &set);
	if (r < 0)
		return r;
	return label_set(fd, &st, set);
}
