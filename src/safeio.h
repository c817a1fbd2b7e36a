/* SPDX-License-Identifier: Apache-2.0 */
#pragma once
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * File operations for a root process working in directories that users own: every
 * call takes a descriptor, resolves at most one name, and never follows a symlink
 * unless the caller asked for resolution confined to a root.
 */

/*
 * The /proc/self/fd/N name of FD in BUF: the magic link names the inode itself, whatever
 * became of its path. Returns BUF.
 */
#define SAFE_PROC_FD_MAX 32
const char *safe_proc_fd(int fd, char buf[static SAFE_PROC_FD_MAX]);

/* Open DIR (NULL: "/") as an O_PATH directory descriptor. */
int safe_open_root(const char *dir, int *ret_fd);

/*
 * Open one name (no '/') below DIRFD without following a symlink; O_PATH. A mount point is
 * crossed, except into a FUSE file system a user mounted: -EXDEV.
 */
int safe_open_component(int dirfd, const char *name, int *ret_fd);

/*
 * Make the directory NAME in DIRFD with MODE unless it exists, then open it as
 * safe_open_component() does; *st is its fstat(), for the caller to judge who made it.
 */
int safe_make_component(int dirfd, const char *name, mode_t mode, int *ret_fd, struct stat *st);

/*
 * The stat of NAME in DIRFD, not following it, asking nothing of the file system
 * (AT_STATX_DONT_SYNC): a user may have mounted FUSE on the name. -1 and errno on failure.
 */
int safe_stat_nosync(int dirfd, const char *name, struct stat *st);

/* Open PATH for reading, resolved as if ROOTFD were "/" (symlinks stay inside). */
int safe_open_in_root(int rootfd, const char *path, int flags, int *ret_fd);

/*
 * Open NAME below DIRFD for reading only if it is a regular file (never a symlink, a
 * FIFO or a device: those are looked at, not opened). *st is its stat.
 * -EBADFD for another type.
 */
int safe_open_regular(int dirfd, const char *name, int *ret_fd, struct stat *st);

/*
 * mkdir -p PATH resolved as if ROOTFD were "/": the parents made 0755, PATH itself MODE, all
 * root's; *ret_fd is PATH opened O_PATH.
 */
int safe_mkdir_in_root(int rootfd, const char *path, mode_t mode, int *ret_fd);

/* Open for reading the inode behind PATHFD (O_PATH) if ST, its stat, is a regular file's. */
int safe_reopen_regular(int pathfd, const struct stat *st, int *ret_fd);

/* Read the target of the symlink open as O_PATH in FD into a new string. */
int safe_readlink(int fd, char **ret);

/*
 * Is the inode behind FD still the one EXPECT describes, fit to be changed: never a symlink
 * (-ELOOP), the same inode and type (-ESTALE), a regular file with one link only (-EMLINK)?
 */
int safe_check_unchanged(int fd, const struct stat *expect);

/*
 * Give the inode behind FD (O_PATH, never a symlink) owner UID:GID and MODE in the
 * order that leaves no window with more access than before or after: chmod to
 * old & new, chown (which clears set-id bits), chmod to the final mode.
 * A regular file that gained a second link since EXPECT was taken is refused.
 */
int safe_set_owner_mode(int fd, const struct stat *expect, uid_t uid, gid_t gid, mode_t mode);

/*
 * Replace NAME in the directory DIRFD (O_PATH) with DATA: a new file under a random
 * name (O_CREAT|O_EXCL|O_NOFOLLOW, never a planted one), owner and mode set on its
 * descriptor, written, fsync'ed, renamed over NAME, and the directory fsync'ed. EXPECT
 * is NAME as it was read (NULL: it must not exist); if NAME changed since, -EAGAIN and
 * nothing is replaced. Errors leave NAME untouched. DURABLE: fsync the file and the
 * directory (keys files); state that can be rebuilt skips it.
 */
/* Its temporary file: "." NAME SAFE_TEMP_INFIX, then 16 hex digits. */
#define SAFE_TEMP_INFIX ".sshmend-"
#define SAFE_TEMP_HEX 16

int safe_replace_file(int dirfd, const char *name, const struct stat *expect, const char *data,
		      size_t len, uid_t uid, gid_t gid, mode_t mode, bool durable);

/* What safe_remove_leftovers() removed: NAME in its directory. < 0 stops it. */
typedef int (*safe_leftover_fn)(void *userdata, const char *name);

/*
 * Remove what a safe_replace_file() of NAME in DIRFD (O_PATH) left when its process was killed:
 * the entries of DIRFD named as its temporary files are (SAFE_TEMP_INFIX and 16 hex digits;
 * NAME NULL: of any name),
 * each a regular file of one link owned by root or UID, unlinked by name in DIRFD (a symlink,
 * a FIFO or a hard link under such a name is left alone, and nothing is opened or followed).
 * FN is told each one. The number removed, or < 0.
 */
int safe_remove_leftovers(int dirfd, const char *name, uid_t uid, safe_leftover_fn fn,
			  void *userdata);

/* Read the whole regular file open in FD (at most MAX bytes) into a NUL-terminated buffer. */
int safe_read_all(int fd, size_t max, char **ret, size_t *ret_len);
