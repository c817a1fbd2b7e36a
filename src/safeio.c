/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <linux/openat2.h>
#include "label.h"
#include "macro.h"
#include "mounts.h"
#include "safeio.h"

#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

static int openat2_raw(int dirfd, const char *path, int flags, unsigned long long resolve)
{
	struct open_how how = {.flags = (unsigned)flags, .resolve = resolve};

	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

int safe_open_root(const char *dir, int *ret_fd)
{
	int fd = open(dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

/* The id of the mount FD is on, asking nothing of its file system; 0 if not known. */
static uint64_t mount_id(int fd)
{
	struct statx sx;

	if (statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &sx) < 0 ||
	    !(sx.stx_mask & STATX_MNT_ID))
		return 0;
	return sx.stx_mnt_id;
}

/* Open NAME as safe_open_component() does; *RET_CROSSED: it is a mount point. */
static int safe_open_step(int dirfd, const char *name, int *ret_fd, bool *ret_crossed)
{
	int fd;

	*ret_crossed = false;
	if (strchr(name, '/') || strcmp(name, "..") == 0 || !*name)
		return -EINVAL;
	/*
	 * One component with O_NOFOLLOW cannot pass a symlink; openat2() adds the
	 * refusal of magic links. Mount points are crossed on purpose (/home is often
	 * a file system of its own), but the caller is told: RESOLVE_NO_XDEV stops
	 * there first, before anything is asked of the file system mounted.
	 */
	fd = openat2_raw(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC,
			 RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
	if (fd < 0 && errno == EXDEV) {
		*ret_crossed = true;
		fd = openat2_raw(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC,
				 RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
	}
	if (fd < 0 && (errno == ENOSYS || errno == EPERM)) {
		/* No openat2() (or a filter refuses it): the mount ids tell a crossing. */
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0)
			*ret_crossed = mount_id(fd) != mount_id(dirfd);
	}
	if (fd < 0 && errno == ELOOP) {
		/* RESOLVE_NO_SYMLINKS refuses a trailing symlink; the caller wants to see it. */
		fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

int safe_open_component(int dirfd, const char *name, int *ret_fd)
{
	bool crossed;
	int r = safe_open_step(dirfd, name, ret_fd, &crossed);

	if (r >= 0 && crossed && mounts_is_users(*ret_fd, &(uid_t){0}) > 0) {
		close(*ret_fd);
		*ret_fd = -1;
		return -EXDEV; /* a user's FUSE file system: its server may never answer */
	}
	return r;
}

/* Local file systems are always in sync: the stat is what is there. */
int safe_stat_nosync(int dirfd, const char *name, struct stat *st)
{
	struct statx sx;

	if (statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &sx) <
	    0)
		return -1;
	*st = (struct stat){
	    .st_dev = makedev(sx.stx_dev_major, sx.stx_dev_minor),
	    .st_ino = sx.stx_ino,
	    .st_mode = sx.stx_mode,
	    .st_nlink = sx.stx_nlink,
	    .st_uid = sx.stx_uid,
	    .st_gid = sx.stx_gid,
	    .st_size = (off_t)sx.stx_size,
	    .st_mtim = {sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec},
	    .st_ctim = {sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec},
	};
	return 0;
}

int safe_open_in_root(int rootfd, const char *path, int flags, int *ret_fd)
{
	int fd;

	while (*path == '/')
		path++;
	if (!*path)
		path = ".";
	fd = openat2_raw(rootfd, path, flags | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	if (fd < 0 && errno == ENOSYS) {
		/* Without openat2() only the real root can be resolved safely by the kernel. */
		struct stat a, b;

		if (fstat(rootfd, &a) < 0 || stat("/", &b) < 0)
			return negative_errno();
		if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
			return -ENOSYS;
		fd = openat(rootfd, path, flags | O_CLOEXEC);
	}
	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

const char *safe_proc_fd(int fd, char buf[static SAFE_PROC_FD_MAX])
{
	snprintf(buf, SAFE_PROC_FD_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

int safe_reopen_regular(int pathfd, const struct stat *st, int *ret_fd)
{
	char proc[SAFE_PROC_FD_MAX];
	int fd;

	if (!S_ISREG(st->st_mode))
		return -EBADFD;
	/* The magic link reopens the very inode we looked at. */
	safe_proc_fd(pathfd, proc);
	fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	*ret_fd = fd;
	return 0;
}

int safe_open_regular(int dirfd, const char *name, int *ret_fd, struct stat *st)
{
	_cleanup_close_ int pfd = -1;
	int r;

	r = safe_open_component(dirfd, name, &pfd);
	if (r < 0)
		return r;
	if (fstat(pfd, st) < 0)
		return negative_errno();
	return safe_reopen_regular(pfd, st, ret_fd);
}

int safe_readlink(int fd, char **ret)
{
	char buf[PATH_MAX];
	ssize_t n = readlinkat(fd, "", buf, sizeof(buf));
	char *s;

	if (n < 0)
		return negative_errno();
	if ((size_t)n >= sizeof(buf))
		return -ENAMETOOLONG;
	s = strndup(buf, (size_t)n);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

static int fd_chmod(int fd, mode_t mode)
{
	char proc[SAFE_PROC_FD_MAX];

	if (syscall(SYS_fchmodat2, fd, "", mode, AT_EMPTY_PATH) == 0)
		return 0;
	/* EPERM too: a seccomp filter older than the syscall answers with it. A real EPERM
	 * comes back from chmod() below as well. */
	if (errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP && errno != EPERM)
		return negative_errno();
	/* Before Linux 6.6: the /proc link names the inode itself, never a path. */
	safe_proc_fd(fd, proc);
	if (chmod(proc, mode) < 0)
		return errno == ENOENT ? -ENOSYS : negative_errno();
	return 0;
}

/* ST: FD's fstat(), for the caller. */
static int check_unchanged(int fd, const struct stat *expect, struct stat *st)
{
	if (fstat(fd, st) < 0)
		return negative_errno();
	if (S_ISLNK(st->st_mode))
		return -ELOOP;
	if (st->st_ino != expect->st_ino || st->st_dev != expect->st_dev ||
	    ((st->st_mode ^ expect->st_mode) & S_IFMT))
		return -ESTALE;
	if (S_ISREG(st->st_mode) && st->st_nlink > 1)
		return -EMLINK;
	return 0;
}

int safe_check_unchanged(int fd, const struct stat *expect)
{
	struct stat st;

	return check_unchanged(fd, expect, &st);
}

int safe_set_owner_mode(int fd, const struct stat *expect, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;
	int r;

	r = check_unchanged(fd, expect, &st);
	if (r < 0)
		return r;

	if (st.st_uid != uid || st.st_gid != gid) {
		mode_t narrow = (st.st_mode & 07777) & mode;

		if (narrow != (st.st_mode & 07777)) {
			r = fd_chmod(fd, narrow);
			if (r < 0)
				return r;
		}
		if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
			return negative_errno();
		if (fstat(fd, &st) < 0)
			return negative_errno();
	}
	if ((st.st_mode & 07777) != mode)
		return fd_chmod(fd, mode);
	return 0;
}

int safe_read_all(int fd, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;

	/* One buffer of the file's size (and one byte past it, which tells a file that grew, or
	 * one too big): a buffer doubled as it fills leaves its smaller copies behind in the
	 * heap, and a keys file of a few hundred kB is read whole at each sync. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max + 1;
		buf = malloc(cap + 1);
		if (!buf)
			return -ENOMEM;
	}
	for (;;) {
		ssize_t n;

		/* Full: grown, to one byte past MAX at most. */
		if (len == cap) {
			char *nb;

			cap = cap ? cap * 2 : 8192;
			if (cap > max + 1)
				cap = max + 1;
			nb = realloc(buf, cap + 1);
			if (!nb)
				return -ENOMEM;
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return -EFBIG;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = 0;
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static bool same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

#define SWAP_BACK_TRIES 8

/*
 * Put the new file TMP (open as FD) in NAME's place if NAME is still EXPECT (NULL: absent),
 * else -EAGAIN, with nothing lost. A check followed by a rename would overwrite a file the
 * user renamed over NAME between the two (an editor's or a tool's atomic save). So the two
 * are exchanged in one step, and what came out is looked at: not the file that was read,
 * the exchange is undone. If the user saved again meanwhile, the newest of their files is
 * what ends at NAME, as it would have without us. On success TMP is gone.
 */
static int swap_in(int dfd, const char *tmp, const char *name, const struct stat *expect, int fd)
{
	struct stat now, out, ours;

	if (!expect) {
		if (renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EINVAL && errno != ENOSYS)
			return errno == EEXIST ? -EAGAIN : negative_errno();
		/* A file system without rename flags (NFS): a link fails if NAME exists. */
		if (linkat(dfd, tmp, dfd, name, 0) < 0)
			return errno == EEXIST ? -EAGAIN : negative_errno();
		(void)unlinkat(dfd, tmp, 0);
		return 0;
	}
	/* Still the file that was read? A user may have appended meanwhile. */
	if (safe_stat_nosync(dfd, name, &now) < 0)
		return errno == ENOENT ? -EAGAIN : negative_errno();
	if (!same_file(&now, expect))
		return -EAGAIN;
	if (renameat2(dfd, tmp, dfd, name, RENAME_EXCHANGE) < 0) {
		if (errno != EINVAL && errno != ENOSYS)
			return errno == ENOENT ? -EAGAIN : negative_errno();
		/* A file system without exchange: the rename right after the check. */
		return renameat(dfd, tmp, dfd, name) < 0 ? negative_errno() : 0;
	}
	/* The file that was read came out (an append since lands in it and is the caller's
	 * to carry over, as after a rename): done. */
	if (safe_stat_nosync(dfd, tmp, &out) == 0 && same_inode(&out, expect)) {
		(void)unlinkat(dfd, tmp, 0);
		return 0;
	}
	/* Someone else's file came out: give it its place back. */
	if (fstat(fd, &ours) < 0)
		return negative_errno();
	for (int i = 0; i < SWAP_BACK_TRIES; i++) {
		if (renameat2(dfd, tmp, dfd, name, RENAME_EXCHANGE) < 0)
			return negative_errno();
		/* Ours came back: done. Else the user saved again over ours, which is gone;
		 * what came out is their older file, superseded by the one now at NAME. */
		if (safe_stat_nosync(dfd, tmp, &out) == 0 && same_inode(&out, &ours))
			return -EAGAIN; /* the caller unlinks TMP, ours */
		if (renameat2(dfd, tmp, dfd, name, RENAME_EXCHANGE) < 0)
			return negative_errno();
		if (safe_stat_nosync(dfd, tmp, &out) < 0 || !same_inode(&out, &ours)) {
			/* Theirs at NAME, the older one of theirs at TMP. */
			(void)unlinkat(dfd, tmp, 0);
			return -EAGAIN;
		}
	}
	return -EAGAIN;
}

/* Remove TMP if it is still the file open as FD: after an exchange it may not be. */
static void unlink_ours(int dfd, const char *tmp, int fd)
{
	struct stat a, b;

	if (fstat(fd, &a) == 0 && safe_stat_nosync(dfd, tmp, &b) == 0 && same_inode(&a, &b))
		(void)unlinkat(dfd, tmp, 0);
}

static int create_temp(int dirfd, const char *name, char *tmp, size_t tmplen)
{
	for (int attempt = 0; attempt < 16; attempt++) {
		unsigned long long rnd;
		int fd;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			return negative_errno();
		snprintf(tmp, tmplen, ".%s" SAFE_TEMP_INFIX "%0*llx", name, SAFE_TEMP_HEX, rnd);
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return negative_errno();
	}
	return -EEXIST;
}

int safe_replace_file(int dirfd, const char *name, const struct stat *expect, const char *data,
		      size_t len, uid_t uid, gid_t gid, mode_t mode, bool durable)
{
	_cleanup_close_ int fd = -1, dfd = -1;
	char tmp[512];
	size_t off = 0;
	int r;

	if (strchr(name, '/'))
		return -EINVAL;
	/* A real descriptor of the same directory, for fsync(). */
	dfd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return negative_errno();
	fd = create_temp(dfd, name, tmp, sizeof(tmp));
	if (fd < 0)
		return fd;
	/* The policy's label for NAME, before it is renamed there. One the kernel refuses us
	 * (no CAP_SYS_ADMIN without SELinux) does not hold back the write, which may be a
	 * revocation: the next walk judges the label like any other. */
	r = label_new_file(dfd, name, fd);
	if (r < 0 && r != -EPERM && r != -EACCES)
		goto fail;
	if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0) {
		r = negative_errno();
		goto fail;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = negative_errno();
			goto fail;
		}
		off += (size_t)n;
	}
	if (durable && fsync(fd) < 0) {
		r = negative_errno();
		goto fail;
	}
	r = swap_in(dfd, tmp, name, expect, fd);
	if (r < 0)
		goto fail;
	if (durable)
		(void)fsync(dfd);
	return 0;
fail:
	unlink_ours(dfd, tmp, fd);
	return r;
}

/* Is ENT a temporary name of safe_replace_file() for NAME? */
static bool is_temp_name(const char *ent, const char *name)
{
	size_t n = strlen(ent), k = strlen(SAFE_TEMP_INFIX) + SAFE_TEMP_HEX;

	/* "." NAME, at least one byte of it, then the infix and the digits. */
	if (ent[0] != '.' || n < 2 + k ||
	    (name && (strlen(name) != n - 1 - k || strncmp(ent + 1, name, n - 1 - k) != 0)))
		return false;
	ent += n - k;
	if (strncmp(ent, SAFE_TEMP_INFIX, strlen(SAFE_TEMP_INFIX)) != 0)
		return false;
	ent += strlen(SAFE_TEMP_INFIX);
	if (strlen(ent) != SAFE_TEMP_HEX)
		return false;
	for (; *ent; ent++)
		if (!((*ent >= '0' && *ent <= '9') || (*ent >= 'a' && *ent <= 'f')))
			return false;
	return true;
}

int safe_remove_leftovers(int dirfd, const char *name, uid_t uid, safe_leftover_fn fn,
			  void *userdata)
{
	struct dirent *de;
	DIR *dir;
	int fd, r = 0, n = 0;

	if (name && strchr(name, '/'))
		return -EINVAL;
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	dir = fdopendir(fd);
	if (!dir) {
		r = negative_errno();
		close(fd);
		return r;
	}
	while (r >= 0 && (errno = 0, de = readdir(dir))) {
		struct stat st;

		if (!is_temp_name(de->d_name, name) || safe_stat_nosync(fd, de->d_name, &st) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_nlink != 1 ||
		    (st.st_uid != 0 && st.st_uid != uid))
			continue;
		/* By name in this directory: whatever stands there now, a link is not followed. */
		if (unlinkat(fd, de->d_name, 0) < 0)
			continue;
		n++;
		if (fn)
			r = fn(userdata, de->d_name);
	}
	if (r >= 0 && errno)
		r = negative_errno();
	closedir(dir);
	return r < 0 ? r : n;
}

int safe_mkdir_in_root(int rootfd, const char *path, mode_t mode, int *ret_fd)
{
	_cleanup_free_ char *copy = strdup(path);
	size_t n;
	int r;

	if (!copy)
		return -ENOMEM;
	n = strlen(copy);
	while (n > 1 && copy[n - 1] == '/')
		copy[--n] = 0;
	if (copy[0] != '/' || n < 2)
		return -EINVAL;
	/* One component at a time, each made in its parent as resolved inside the root. */
	for (char *p = copy + 1;; p++) {
		bool last = !*p;

		if (*p == '/' || last) {
			_cleanup_close_ int parent = -1;
			char *slash, saved = *p;

			*p = 0;
			slash = strrchr(copy, '/');
			*slash = 0;
			r = safe_open_in_root(rootfd, *copy ? copy : "/", O_PATH | O_DIRECTORY,
					      &parent);
			*slash = '/';
			if (r >= 0 && slash[1] &&
			    mkdirat(parent, slash + 1, last ? mode : 0755) < 0 && errno != EEXIST)
				r = negative_errno();
			*p = saved;
			if (r < 0)
				return r;
		}
		if (last)
			break;
	}
	return safe_open_in_root(rootfd, copy, O_PATH | O_DIRECTORY, ret_fd);
}

int safe_make_component(int dirfd, const char *name, mode_t mode, int *ret_fd, struct stat *st)
{
	_cleanup_close_ int fd = -1;
	int r;

	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return negative_errno();
	r = safe_open_component(dirfd, name, &fd);
	if (r < 0)
		return r;
	if (fstat(fd, st) < 0)
		return negative_errno();
	*ret_fd = TAKE_FD(fd);
	return 0;
}
